#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Emit the whole series - new files and patches/ - as one `git format-patch`
# series that `git am` applies to a clean linux-$KVER tree, in an order in
# which every commit builds and boots with the ones before it
# (scripts/bisect-check.sh proves it): the pieces that compile away
# without CONFIG_AGENT_NS first, then the option with the session's types,
# the core the C glue and the Rust side need of each other, and then one
# hook, /proc file or interface per commit.  A new file arrives with the
# commit that first builds it; a patch whose parts are needed at different
# points is applied in parts (git apply --include/--exclude).
#
#   scripts/export-series.sh [OUTDIR]     (default $CACHE/series)
. "$(dirname "$0")/common.sh"

OUT=${1:-$CACHE/series}
bash "$AGENTNS_ROOT/scripts/fetch.sh"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
G=(git -C "$W" -c user.name="agentns" -c user.email="agentns@localhost"
   -c commit.gpgsign=false)

# A repository holding only the pristine files the patches touch: the
# blobs and diffs are the same as in a full tree.
"${G[@]}" init -q
for f in $(sed -n 's|^+++ b/||p' "$AGENTNS_ROOT"/patches/*.patch | sort -u); do
	mkdir -p "$W/$(dirname "$f")"
	cp "$SRC/$f" "$W/$f"
done
"${G[@]}" add -A
"${G[@]}" commit -q -m "linux-$KVER (pristine files the series touches)"
base=$("${G[@]}" rev-parse HEAD)

used=()
patch_of() {
	local p
	p=$(ls "$AGENTNS_ROOT"/patches/"$1"*.patch 2>/dev/null) ||
		die "no patch patches/$1*"
	[ "$(echo "$p" | wc -l)" = 1 ] || die "patches/$1* names several patches"
	echo "$p"
}

# new PATH... - stage new files (directories whole).
new() {
	local p f
	for p in "$@"; do
		(cd "$AGENTNS_ROOT" && find "$p" -type f) | while read -r f; do
			mkdir -p "$W/$(dirname "$f")"
			cp "$AGENTNS_ROOT/$f" "$W/$f"
		done
		"${G[@]}" add "$p"
	done
}

# rust_mod - stage rust/kernel/agent_ns/mod.rs declaring only the modules
# staged so far.
rust_mod() {
	local m mod=rust/kernel/agent_ns/mod.rs
	mkdir -p "$W/${mod%/*}"
	cp "$AGENTNS_ROOT/$mod" "$W/$mod"
	for m in $(sed -n 's/^\(pub \)\?mod \([a-z_]*\);$/\2/p' "$W/$mod"); do
		[ -f "$W/rust/kernel/agent_ns/$m.rs" ] && continue
		sed -i -e "/^\(pub \)\?mod $m;\$/d" -e "/^pub use $m::/d" \
			-e "/^\/\/! - \[\`$m\`\]/d" "$W/$mod"
	done
	"${G[@]}" add "$mod"
}

# part PATCH [GIT-APPLY-ARGS] - apply (part of) patches/PATCH*.patch.
part() {
	local p
	p=$(patch_of "$1")
	shift
	"${G[@]}" apply --index --whitespace=nowarn "$@" "$p" ||
		die "$(basename "$p") $* does not apply"
	used+=("$p")
}

# commit SUBJECT BODY - commit what is staged.
commit() {
	"${G[@]}" commit -q -s -m "$1" -m "$2"
}

# commit_as PATCH - commit what is staged with PATCH's message.
commit_as() {
	local p msg
	p=$(patch_of "$1")
	msg=$(mktemp)
	git mailinfo "$msg.body" /dev/null <"$p" | sed -n 's/^Subject: //p' >"$msg"
	{ echo; cat "$msg.body"; } >>"$msg"
	"${G[@]}" commit -q -F "$msg"
	rm -f "$msg" "$msg.body"
}

# pick PATCH [NEW-PATH...] - new files and a whole patch, as one commit.
pick() {
	local p=$1
	shift
	[ $# = 0 ] || new "$@"
	part "$p"
	commit_as "$p"
}

AN=rust/kernel/agent_ns

# The pieces that compile away while CONFIG_AGENT_NS does not exist yet.
new include/uapi/linux/agent_namespaces.h
commit "uapi: add <linux/agent_namespaces.h>" \
	"The userspace ABI of agent namespaces: the PR_*AGENT* prctl options,
the counter and budget layouts, AGENT_NS_TYPE and the nsfs ioctls."
pick 0001-thread_info
pick 0016-ucount
pick 0017-nstree
part 0031-audit --include=include/uapi/linux/audit.h
commit "audit: add AUDIT_AGENT_NS" \
	"The record type of agent namespace events: a budget's action and the
lifetime reaper's kill.  1390, in a range, 1390-1399, left far from the
next upstream numbers."
pick 0033-security
pick 0003-rust-add-a-per-cpu rust/kernel/percpu.rs rust/helpers/percpu.c
pick 0034-rust-workqueue-add-system_dfl
pick 0035-rust-workqueue-add-Queue-mod_delayed

# The option, and the types the rest is written in.
part 0002-agent_ns --include=init/Kconfig --include=Kbuild
part 0004-nsproxy --include=include/linux/nsproxy.h
part 0003-rust-agent_ns
new kernel/Kconfig.agent_ns kernel/agent_ns_offsets.c include/linux/agent_namespaces.h \
	include/trace/events/agent_ns.h rust/helpers/agent_ns.c \
	$AN/id.rs $AN/counters.rs $AN/intent.rs
rust_mod
commit "agent_ns: add CONFIG_AGENT_NS and the session's types" \
	"The agent namespace is a session every task belongs to: an opaque
128-bit id, an optional intent tag and per-CPU event counters.  Add the
option, struct agent_namespace and the inline hooks of
<linux/agent_namespaces.h>, the agent_ns trace events, the nsproxy
member, and the Rust module with the types it is written in: the
session id, the counters and the intent tag.  kbuild generates the C
compiler's layout of struct agent_namespace into
<generated/agent-ns-offsets.h>, for the Rust side to check bindgen's
view against at build time.  Nothing creates a session yet."

# The core: the session object and its budgets, which the C glue and the
# Rust side need of each other.
part 0002-agent_ns --include=kernel/Makefile
part 0020-agent_ns
part 0004-nsproxy --exclude=include/linux/nsproxy.h
part 0018-nsfs --include=include/linux/proc_ns.h
part 0021-Documentation-kernel-parameters
new kernel/agent_namespaces.c kernel/gen_agent_ns_type_guard.sh \
	$AN/namespace.rs $AN/budget.rs $AN/elapsed.rs $AN/signal.rs \
	$AN/trace.rs $AN/tree.rs $AN/reaper.rs $AN/nsfs.rs
rust_mod
commit "agent_ns: add the session object, budgets and the nsfs operations" \
	"Every task's nsproxy names its session; the initial session is
statically initialised and counts nothing.  The C glue holds what C
must: the static keys, the sysctls and agent_ns= (documented here), the
proc_ns_operations, the trace points and the task-list walk that sends
a budget's signal.  The Rust side holds the policy: creating and freeing
sessions, rolling counters up into ancestors, budgets and their actions,
the elapsed-time timer and its work (kernel::time::hrtimer,
kernel::workqueue), whom an action may signal, the reaper's work
(a DelayedWork) and its choice, and the nsfs operations with setns(2)'s
permission.  Nothing can create a session until the next commit hooks
the prctl options into prctl(2).  A generated header
checks at build time that AGENT_NS_TYPE shares no bit with a CLONE_*
flag.  No event is counted yet."

# One hook, /proc file or interface per commit.
new $AN/prctl.rs
rust_mod
pick 0005-prctl
new $AN/proc.rs
rust_mod
pick 0006-proc
for p in 0008 0009 0010 0011 0012 0013 0014 0015; do pick $p; done
part 0018-nsfs --exclude=include/linux/proc_ns.h
commit_as 0018-nsfs
for p in 0019 0022 0023 0024 0025 0026 0027 0028; do pick $p; done
new $AN/ioctl.rs
rust_mod
pick 0029-nsfs
new security/agentns $AN/provenance.rs
rust_mod
pick 0030-security
part 0031-audit --exclude=include/uapi/linux/audit.h
commit "audit: carry the agent session in records about a task" \
	"Records about a task that is in an agent session name it next to ses=:
agent_session=<32 hex digits>, in the SYSCALL record and every record
that logs the task through audit_log_task_info(), audit_log_task(),
audit_log_session_info() or the login and event-listener records; tasks
in the initial session log exactly what they did before."

# Tests, tools and documentation.
new tools/testing/selftests/agentns
commit "selftests: agentns: add agent namespace tests" \
	"kselftests for sessions, counters on every interface, budgets and
their actions, the permission rules, /proc, nsfs, the LSM's labels and
audit; they SKIP on a kernel without CONFIG_AGENT_NS."
new samples/agentns
commit "samples: agentns: add a session demo" \
	"Static programs that create a session and print its id, run a command
under a budget, and measure the hooks' cost."
new tools/agentns
commit "tools: agentns: add the agentns command and Python package" \
	"agentns(1) runs a program in a session under budgets, lists and shows
sessions, traces their events, kills them and names the session that
created a file; the Python package offers the same to programs."
new Documentation/admin-guide/agent-namespaces.rst \
	Documentation/dev-tools/agent-namespaces.rst \
	Documentation/userspace-api/agent_namespaces.rst
part 0032-Documentation
commit "Documentation: add agent namespaces" \
	"The admin guide (design, configuration, budgets, permissions, the
sysctls and the boot parameter), the userspace API (the prctl options,
the /proc files, the nsfs ioctls and the file labels) and the test and
benchmark page, each indexed in its book; the sysctls are also listed
in sysctl/kernel.rst and sysctl/user.rst."
pick 0007-MAINTAINERS

# Every patch of patches/ is in the series (whole or in parts).
for p in "$AGENTNS_ROOT"/patches/*.patch; do
	printf '%s\n' "${used[@]}" | grep -qxF "$p" ||
		die "$(basename "$p") is not in the series"
done

rm -rf "$OUT"
mkdir -p "$OUT"
"${G[@]}" format-patch -q --no-signature --zero-commit -o "$OUT" "$base"..HEAD
stage "series: $(ls "$OUT" | wc -l) patches for linux-$KVER in $OUT"
