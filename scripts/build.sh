#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Configure and build the linux-wintermute kernel in $BUILD (incremental).
#
#   AGENT_NS=n      build with CONFIG_AGENT_NS off
#   KCONFIG=FILE    start from a full configuration (a distro's) instead of
#                   tinyconfig + scripts/vm.config + scripts/system.config;
#                   scripts/distro.config
#                   is merged on top of it
#   DEBUG=1         the debug guest: scripts/debug.config on top (KASAN,
#                   lockdep, kmemleak, UBSAN, ...), in its own $BUILD
#   CONFIG_ONLY=1   write $BUILD/.config and stop
. "$(dirname "$0")/common.sh"

bash "$AGENTNS_ROOT/scripts/apply.sh"
mkdir -p "$BUILD"

# Generate the configuration into a scratch directory and install it only
# when it changed, so that an unchanged configuration rebuilds nothing.
CFG=$(mktemp -d)
trap 'rm -rf "$CFG"' EXIT
frag=$CFG/agentns.config
if [ "$AGENT_NS" = y ]; then
	cat "$AGENTNS_ROOT/tools/testing/selftests/agentns/config" >"$frag"
else
	grep -v '^CONFIG_\(SECURITY_\)\?AGENT_NS=' "$AGENTNS_ROOT/tools/testing/selftests/agentns/config" >"$frag"
	echo "# CONFIG_AGENT_NS is not set" >>"$frag"
fi
# Every build is linux-wintermute: uname -r and the packages say so.
printf 'CONFIG_LOCALVERSION="-wintermute"\n# CONFIG_LOCALVERSION_AUTO is not set\n' >>"$frag"
[ -z "$DEBUG" ] || cat "$AGENTNS_ROOT/scripts/debug.config" >>"$frag"
if [ -n "${KCONFIG:-}" ]; then
	cp "$KCONFIG" "$CFG/.config"
	# A distribution's LSM order does not name ours: append it.
	sed -i '/^CONFIG_LSM="/{/agentns/!s/"$/,agentns"/}' "$CFG/.config"
	# No KUnit in a kernel for real machines: its tests run at boot.
	sed -i '/^CONFIG_KUNIT=/d' "$frag"
	set -- "$AGENTNS_ROOT/scripts/distro.config" "$frag"
	required=("$frag")
else
	"${KMAKE[@]}" -s O="$CFG" tinyconfig >/dev/null
	set -- "$AGENTNS_ROOT/scripts/vm.config"
	# The guest kernel also boots a Debian system (scripts/system.sh);
	# the debug kernel only runs the kselftests, and builds without it.
	[ -n "$DEBUG" ] || set -- "$@" "$AGENTNS_ROOT/scripts/system.config"
	set -- "$@" "$frag"
	required=("$@")
fi
(cd "$CFG" && KCONFIG_CONFIG=.config "$TREE/scripts/kconfig/merge_config.sh" -m .config "$@" >/dev/null)
"${KMAKE[@]}" -s O="$CFG" olddefconfig >/dev/null
# Every option we asked for must have survived olddefconfig.
want=$(grep -h '^CONFIG_' "${required[@]}" | sort -u)
miss=$(comm -23 <(echo "$want") <(grep '^CONFIG_' "$CFG/.config" | sort -u))
[ -z "$miss" ] || die "configuration lost options (missing dependencies?):
$miss"
cmp -s "$CFG/.config" "$BUILD/.config" || cp "$CFG/.config" "$BUILD/.config"
if [ -n "${CONFIG_ONLY:-}" ]; then
	stage "build: configuration written to $BUILD/.config"
	exit 0
fi

log=$LOGDIR/build-$(basename "$BUILD").log
# The debug kernel's Rust is compiled by clippy-driver (the kernel's
# CLIPPY=1, same code generation): a lint in our code fails the build.
clippy=()
[ -z "$DEBUG" ] || clippy=(CLIPPY=1 CLIPPY_DRIVER=/usr/bin/clippy-driver)
stage "build: bzImage (AGENT_NS=$AGENT_NS${DEBUG:+, debug, clippy}, -j$JOBS, log $log)"
t=$(date +%s)
if ! "${KMAKE[@]}" "${clippy[@]}" bzImage >"$log" 2>&1; then
	grep -E 'error:|Error [0-9]' "$log" | head -40 >&2
	tail -n 30 "$log" >&2
	die "kernel build failed (full log: $log)"
fi
# Warnings in our code fail the build; its objects are removed so that
# the next build compiles them, and warns, again.
ours='(rust/kernel/agent_ns/|rust/kernel/percpu\.rs|rust/helpers/(agent_ns|percpu)\.c|kernel/agent_namespaces\.c|include/linux/agent_namespaces\.h)'
if grep -A3 -E '^(warning|error)' "$log" | grep -qE "$ours" ||
	grep -E "$ours.*warning:" "$log" | grep -q .; then
	grep -B2 -A8 -E "$ours" "$log" | head -60 >&2
	rm -f "$BUILD/arch/x86/boot/bzImage" "$BUILD/rust/kernel.o" "$BUILD/kernel/agent_namespaces.o"
	die "compiler or clippy warnings in agent_ns code (full log: $log)"
fi
stage "build: done in $(( $(date +%s) - t ))s: $BUILD/arch/x86/boot/bzImage"
