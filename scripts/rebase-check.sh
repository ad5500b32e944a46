#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Does the series still fit a kernel release?  For each KVER (default:
# 7.3) fetch linux-source-KVER from Debian, apply patches/ in order to
# pristine copies of the files they touch, and report per patch: clean,
# applied with offset or fuzz (shown), or failed (with the rejected
# hunks); then run the AGENT_NS_TYPE guard against that tree's
# <uapi/linux/sched.h> and look for the vendor ids of <linux/nsfs.h>.
# Exits non-zero if a patch fails or the guard refuses.
#
#   scripts/rebase-check.sh [KVER...]
. "$(dirname "$0")/common.sh"

[ $# -gt 0 ] || set -- 7.3
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
bad=0

for v in "$@"; do
	KVER=$v SUITE= bash "$AGENTNS_ROOT/scripts/fetch.sh"
	src=$CACHE/src/linux-$v
	t=$W/$v
	mkdir -p "$t"
	echo "linux-$v ($(make -s -C "$src" kernelversion)):"
	for f in $(sed -n 's|^+++ b/||p' "$AGENTNS_ROOT"/patches/*.patch | sort -u); do
		if [ -f "$src/$f" ]; then
			mkdir -p "$t/$(dirname "$f")"
			cp "$src/$f" "$t/$f"
		fi
	done
	for p in "$AGENTNS_ROOT"/patches/*.patch; do
		name=$(basename "$p")
		rej=$W/$v-$name.rej
		if out=$(patch -p1 -d "$t" --fuzz=2 --no-backup-if-mismatch \
			-r "$rej" <"$p" 2>&1); then
			if grep -q 'with fuzz' <<<"$out"; then
				echo "  fuzz    $name"
				grep 'Hunk' <<<"$out" | sed 's/^/            /'
			elif grep -q 'offset' <<<"$out"; then
				echo "  offset  $name"
				grep 'Hunk' <<<"$out" | sed 's/^/            /'
			else
				echo "  clean   $name"
			fi
		else
			echo "  FAILED  $name"
			sed 's/^/            /' <<<"$out"
			[ -s "$rej" ] && sed 's/^/            | /' "$rej"
			bad=1
		fi
	done

	# The type tag against every CLONE_* flag of this tree.
	sched=$src/include/uapi/linux/sched.h
	sh "$AGENTNS_ROOT/kernel/gen_agent_ns_type_guard.sh" "$sched" >"$t/guard.h"
	printf '#include "%s"\n#include "%s"\n' "$sched" "$t/guard.h" >"$t/guard.c"
	if gcc -std=gnu11 -fsyntax-only -I "$AGENTNS_ROOT/include/uapi" \
		-include linux/agent_namespaces.h "$t/guard.c" 2>"$t/guard.err"; then
		echo "  guard   AGENT_NS_TYPE clear of $(grep -c 'collides with' "$t/guard.h") CLONE_* flags"
	else
		echo "  GUARD   AGENT_NS_TYPE collides:"
		grep -o 'collides with [A-Z0-9_]*' "$t/guard.err" | sed 's/^/            /'
		bad=1
	fi
	# Our vendor values in <linux/nsfs.h> must still be free.
	nsfs=$src/include/uapi/linux/nsfs.h
	if grep -Eq '= 9ULL|1ULL << 6\)|0xEFFFFFF6U' "$nsfs"; then
		echo "  NSFS    linux-$v uses an id, type bit or inode AGENT_NS_* claims:"
		grep -En '= 9ULL|1ULL << 6\)|0xEFFFFFF6U' "$nsfs" | sed 's/^/            /'
		bad=1
	fi
done
exit $bad
