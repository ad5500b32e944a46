#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Does every commit of the exported series build and boot?  Apply the
# series (scripts/export-series.sh) one patch at a time to a pristine
# linux-$KVER, and after each one build the guest kernel incrementally
# with the final guest configuration (tinyconfig + scripts/vm.config +
# scripts/system.config + the agentns options; an option a commit does
# not have yet is dropped by olddefconfig), then boot it, run the Rust
# KUnit suites it has, and look at /proc.  Pristine linux-$KVER is built
# first; a build warning in a file the series adds or touches is a
# failure.  It takes long (the commits that touch a widely included
# header rebuild most of the kernel), so `make check` does not run it.
#
#   scripts/bisect-check.sh [FIRST]     go on from patch number FIRST (the
#                                       tree and build of the run before
#                                       are at FIRST-1, or FIRST applied)
#
# Results: one line per commit, "ok NN subject (build Ns, boot Ns)" or
# "not ok ...", in $CACHE/bisect/result, and a last line with the total.
. "$(dirname "$0")/common.sh"

B=$CACHE/bisect
first=${1:-0}
T0=$(date +%s)
if [ "$first" = 0 ]; then
	rm -rf "$B"
	mkdir -p "$B"
	bash "$AGENTNS_ROOT/scripts/export-series.sh" "$B/series"
	AGENT_NS=y CONFIG_ONLY=1 bash "$AGENTNS_ROOT/scripts/build.sh"
	cp "$CACHE/build/linux-$KVER-agentns-y/.config" "$B/final.config"
	stage "bisect: copying pristine linux-$KVER"
	cp -a "$SRC" "$B/linux"
	: >"$B/result"
fi
K=(make -C "$B/linux" O="$B/build" LLVM=-19 RUSTC=/usr/bin/rustc
   BINDGEN="$CARGO_HOME/bin/bindgen" -j"$JOBS")
mkdir -p "$B/build" "$B/logs"
files=$(sed -n 's|^+++ b/||p' "$B"/series/*.patch | sort -u | sed 's/[.[\*^$]/\\&/g' | paste -sd'|')
# A failed KUnit test ("[    2.7] not ok 3 ...") or a kernel complaint.
bad='(^|\] )\s*not ok [0-9]|BUG:|WARNING:|Oops|Kernel panic|UBSAN|KASAN'

# step N NAME - build and boot what is applied now.
step() {
	local n=$1 name=$2 log=$B/logs/$1.log t b status=ok why=
	t=$(date +%s)
	cp "$B/final.config" "$B/build/.config"
	if ! { "${K[@]}" olddefconfig && "${K[@]}" bzImage; } >"$log" 2>&1; then
		status="not ok" why="build failed: $(grep -m1 -E 'error:|Error [0-9]' "$log")"
	fi
	b=$(($(date +%s) - t))
	# Warnings in the files the series adds or touches.
	if [ "$status" = ok ] && grep -E "warning:" "$log" | grep -qE "($files)"; then
		status="not ok" why="warning: $(grep -E 'warning:' "$log" | grep -m1 -E "($files)")"
	fi
	t=$(date +%s)
	if [ "$status" = ok ]; then
		: >"$B/logs/$n.console"
		if ! AGENTNS_KERNEL=$B/build/arch/x86/boot/bzImage AGENTNS_CONSOLE=$B/logs/$n.console \
			bash "$AGENTNS_ROOT/scripts/vm.sh" -n -t 600 -a "kunit.filter_glob=rust_*" -- \
			'uname -r; ls /proc/self/ns; cat /proc/self/agent_session 2>/dev/null; true' \
			>"$B/logs/$n.boot" 2>&1; then
			status="not ok" why="boot failed"
		fi
		if grep -qE "$bad" "$B/logs/$n.console"; then
			status="not ok" why="console: $(grep -m1 -E "$bad" "$B/logs/$n.console")"
		fi
	fi
	printf '%s %02d %s (build %ss, boot %ss)%s\n' "$status" "$n" "$name" "$b" \
		"$(($(date +%s) - t))" "${why:+: $why}" | tee -a "$B/result"
}

[ "$first" != 0 ] || step 0 "linux-$KVER"
for p in "$B"/series/*.patch; do
	n=$((10#$(basename "$p" | cut -c1-4)))
	[ "$n" -ge "$first" ] || continue
	if [ "$n" = "$first" ] && (cd "$B/linux" && git apply -R --check "$p" 2>/dev/null); then
		: # a resumed run: FIRST was applied before the run stopped
	else
		(cd "$B/linux" && git apply --whitespace=nowarn "$p") ||
			die "$(basename "$p") does not apply"
	fi
	step "$n" "$(sed -n 's/^Subject: \[PATCH [0-9]*\/[0-9]*\] //p' "$p")"
done
fails=$(grep -c '^not ok' "$B/result" || true)
echo "$(grep -c '^ok' "$B/result") built and booted, $fails failed, in $(($(date +%s) - T0)) s" |
	tee -a "$B/result"
[ "$fails" = 0 ]
