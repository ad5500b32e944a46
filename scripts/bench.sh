#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: what agent namespaces cost, in guest instructions counted by
# QEMU's -icount (the guest clock advances one nanosecond per executed
# instruction, so the numbers are exact and repeatable on a noisy host).
#
# Builds the CONFIG_AGENT_NS=y and =n kernels from the same tree and
# configuration, boots each, runs samples/agentns/agentns-bench in it and
# writes the side-by-side report (text, Markdown, PNG) to bench/results/.
#
#   BENCH_N=N          loop scale (default 100000 getppid calls)
#   BENCH_SESSIONS=S   live sessions of the scale test (default 10000)
#   BENCH_SMOKE=1      one short pass on the =y kernel only, report in the
#                      cache (what `make check` runs so the bench cannot rot)
. "$(dirname "$0")/common.sh"

n=${BENCH_N:-100000} sessions=${BENCH_SESSIONS:-10000} out=$AGENTNS_ROOT/bench/results
kernels="n y"
if [ -n "${BENCH_SMOKE:-}" ]; then
	n=${BENCH_N:-2000} sessions=${BENCH_SESSIONS:-50} out=$CACHE/bench-smoke kernels=y
fi

bash "$AGENTNS_ROOT/scripts/setup.sh"
for k in $kernels; do
	AGENT_NS=$k bash "$AGENTNS_ROOT/scripts/build.sh"
done
AGENT_NS=y bash "$AGENTNS_ROOT/scripts/userprogs.sh"
guest=$CACHE/guest/linux-$KVER-agentns-y

raw=$CACHE/bench-raw
mkdir -p "$raw" "$out"
# A fresh ext4 file system on a virtio disk for the second file-creation
# row (256-byte inodes: the security xattr fits in the inode).
ext4=$raw/ext4.img
rm -f "$ext4"
mke2fs -q -F -t ext4 -I 256 "$ext4" 64M
export AGENTNS_ACCEL=tcg
export AGENTNS_QEMU_ARGS="-icount shift=0,sleep=off -drive file=$ext4,if=virtio,format=raw"
for k in $kernels; do
	stage "bench: CONFIG_AGENT_NS=$k kernel (-n $n, $sessions sessions)"
	AGENT_NS=$k bash "$AGENTNS_ROOT/scripts/vm.sh" -t 1200 -x "$guest" -- \
		"mkdir -p /mnt/ext4 && mount -t ext4 /dev/vda /mnt/ext4 &&
		/extra/agentns-bench -n $n -s $sessions -x /extra/agentns-noop -d /mnt/ext4" |
		tr -d '\r' | tee "$raw/$k.txt"
	[ "${PIPESTATUS[0]}" = 0 ] || die "the benchmark failed on the =$k kernel"
done

args=(--y "$raw/y.txt" --out "$out")
[ -f "$raw/n.txt" ] && [ -z "${BENCH_SMOKE:-}" ] && args+=(--n "$raw/n.txt")
commit=$(git -C "$AGENTNS_ROOT" describe --always --dirty 2>/dev/null || echo unknown)
python3 "$AGENTNS_ROOT/scripts/bench-report.py" "${args[@]}" \
	--title "agentns $commit, Linux $KVER, QEMU TCG -icount, $(nproc)-core host"
if [ -z "${BENCH_SMOKE:-}" ]; then
	cp "$raw/y.txt" "$out/raw-y.txt"
	cp "$raw/n.txt" "$out/raw-n.txt"
	{
		echo "commit: $commit"
		echo "kernel: Linux $KVER + patches/, tinyconfig + scripts/vm.config"
		echo "guest: QEMU $(qemu-system-x86_64 --version | head -n1 | awk '{print $4}')," \
			"TCG, -icount shift=0,sleep=off, 2 vCPUs, 1 GiB"
		echo "host: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
		echo "date: $(date -u +%Y-%m-%d)"
	} >"$out/machine.txt"
fi
stage "bench: report in $out (bench.txt, bench.md, bench.png)"
