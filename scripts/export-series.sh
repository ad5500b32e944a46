#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Emit the whole series - new files and patches/ - as one `git format-patch`
# series that `git am` applies to a clean linux-$KVER tree.
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

# commit_new SUBJECT BODY PATH... - one commit adding new files.
commit_new() {
	local subject=$1 body=$2
	shift 2
	for p in "$@"; do
		(cd "$AGENTNS_ROOT" && find "$p" -type f) | while read -r f; do
			mkdir -p "$W/$(dirname "$f")"
			cp "$AGENTNS_ROOT/$f" "$W/$f"
		done
		"${G[@]}" add "$p"
	done
	"${G[@]}" commit -q -s -m "$subject" -m "$body"
}

commit_new "uapi: add <linux/agent_namespaces.h>" \
	"The userspace ABI of agent namespaces: the PR_*AGENT* prctl options
and the counter and budget layouts." include/uapi/linux/agent_namespaces.h
# The agent_ns= boot parameter is documented in the commit that adds it,
# as checkpatch asks.
params=$(ls "$AGENTNS_ROOT"/patches/*-kernel-parameters-*.patch)
"${G[@]}" apply "$params"
"${G[@]}" add Documentation/admin-guide/kernel-parameters.txt
commit_new "agent_ns: add the in-kernel interface and the C glue" \
	"struct agent_namespace, the statically initialised initial session,
the nsfs operations, the trace events, the Kconfig option, the
agent_ns= boot parameter and the C helpers the Rust side needs." \
	include/linux/agent_namespaces.h include/trace/events/agent_ns.h \
	kernel/agent_namespaces.c kernel/gen_agent_ns_type_guard.sh \
	kernel/Kconfig.agent_ns rust/helpers/agent_ns.c
commit_new "rust: add a per-cpu abstraction" \
	"PerCpu<T>: one zeroed T per possible CPU from alloc_percpu(), owned
by one value that drops every CPU's T; for [u64; N] on 64-bit machines,
this_cpu_add() without disabling preemption and sums over the possible
CPUs.  Built whatever the configuration, with its own KUnit suite.

Mitchell Levy's \"rust: Add Per-CPU Variable API\" series (RFC v2 to v5,
2025-2026) goes further: static per-CPU variables, a CpuGuard, and
closure-based access to the current CPU's value.  Its dynamic allocation
is Arc-shared and leaves the values' drop to its user; this one is the
owning, allocation-only part, and would give way to that series." \
	rust/kernel/percpu.rs rust/helpers/percpu.c
commit_new "rust: agent_ns: add the agent namespace implementation" \
	"Session ids, the reference-counted namespace object, the per-cpu
counters and their roll-up into ancestors, the prctl options and the
/proc files, in Rust." rust/kernel/agent_ns
commit_new "security: agentns: add the provenance LSM's hook table" \
	"The LSM that labels files created in a session with its id and intent
tag and keeps sessions from changing the labels; the policy is in
rust/kernel/agent_ns/provenance.rs.  Built once patch 30 hooks it into
security/Kconfig and security/Makefile." security/agentns
# The toctree entries go in after the pages they name.
docindex=$(ls "$AGENTNS_ROOT"/patches/*-Documentation-index-the-agent-namespace-*.patch)
for p in "$AGENTNS_ROOT"/patches/*.patch; do
	[ "$p" = "$params" ] && continue
	[ "$p" = "$docindex" ] && continue
	"${G[@]}" am -q --whitespace=nowarn "$p" ||
		die "$(basename "$p") does not apply on top of the new files"
done
commit_new "selftests: agentns: add agent namespace tests" \
	"kselftests for session creation, inheritance and the prctl argument
rules; they SKIP on a kernel without CONFIG_AGENT_NS." tools/testing/selftests/agentns
commit_new "samples: agentns: add a session demo" \
	"A static program that creates a session and prints its id." samples/agentns
commit_new "Documentation: add agent namespaces" \
	"Admin guide and userspace API." Documentation
"${G[@]}" am -q --whitespace=nowarn "$docindex" ||
	die "$(basename "$docindex") does not apply on top of the documentation"

rm -rf "$OUT"
mkdir -p "$OUT"
"${G[@]}" format-patch -q --no-signature --zero-commit -o "$OUT" "$base"..HEAD
stage "series: $(ls "$OUT" | wc -l) patches for linux-$KVER in $OUT"
