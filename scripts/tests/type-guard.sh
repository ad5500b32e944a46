#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The build-time guard of AGENT_NS_TYPE (kernel/gen_agent_ns_type_guard.sh)
# accepts our type tag against linux-$KVER's <uapi/linux/sched.h> and
# rejects a tag that collides with a CLONE_* flag, low or high.
. "$(dirname "$0")/../common.sh"

bash "$AGENTNS_ROOT/scripts/fetch.sh"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
sched=$SRC/include/uapi/linux/sched.h
sh "$AGENTNS_ROOT/kernel/gen_agent_ns_type_guard.sh" "$sched" >"$W/guard.h"
n=$(grep -c 'collides with' "$W/guard.h")
for f in CLONE_NEWTIME CLONE_NEWNET CLONE_IO CLONE_AUTOREAP; do
	grep -q "collides with $f\"" "$W/guard.h" || die "the guard does not check $f"
done

# compile TYPE: does the guard accept AGENT_NS_TYPE=TYPE?
compile() {
	printf '#include "%s"\n#undef AGENT_NS_TYPE\n#define AGENT_NS_TYPE %s\n#include "%s"\n' \
		"$sched" "$1" "$W/guard.h" >"$W/t.c"
	gcc -std=gnu11 -fsyntax-only -I "$AGENTNS_ROOT/include/uapi" "$W/t.c" 2>"$W/err"
}

ours=$(sed -n 's/^#define AGENT_NS_TYPE[[:space:]]*\(0x[0-9a-fA-F]*\).*/\1/p' \
	"$AGENTNS_ROOT/include/uapi/linux/agent_namespaces.h")
[ -n "$ours" ] || die "no AGENT_NS_TYPE in include/uapi/linux/agent_namespaces.h"
compile "$ours" || die "the guard rejects AGENT_NS_TYPE=$ours: $(cat "$W/err")"
for bad in 0x80:CLONE_NEWTIME 0x1000:CLONE_PIDFD 0x40000000:CLONE_NEWNET; do
	if compile "${bad%%:*}"; then
		die "the guard accepts AGENT_NS_TYPE=${bad%%:*}, which is ${bad#*:}"
	fi
	grep -q "collides with ${bad#*:}" "$W/err" ||
		die "AGENT_NS_TYPE=${bad%%:*} refused without naming ${bad#*:}: $(cat "$W/err")"
done
if compile 0x60; then
	die "the guard accepts AGENT_NS_TYPE=0x60, which is two bits"
fi
echo "type-guard: AGENT_NS_TYPE=$ours clear of $n CLONE_* flags of linux-$KVER; colliding values refused"
