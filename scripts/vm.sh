#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot the built kernel under QEMU with a busybox initramfs and run a
# command line in it as root.
#
#   scripts/vm.sh [-t SECONDS] [-i] [-n] [-a APPEND] [-x DIR] [--] [CMD]
#
#   CMD      shell command line run by /bin/sh in the guest; its output is
#            printed and its exit status is ours
#   -i       interactive: a root shell on the terminal instead of CMD
#   -t       kill the guest after SECONDS (default 300) and fail
#   -a       extra kernel command line
#   -x DIR   put DIR's files into the initramfs under /extra
#   -n       no 9p shares (neither the repository nor /host)
#
# The repository is shared read-only at its own absolute path (9p), so a
# static binary built on the host runs in the guest by its host path.  The
# host's root file system is shared read-only at /host, with the guest's
# /proc, /sys, /dev and /tmp mounted over its own, so that host programs
# run in the guest with `chroot /host PROG` (e.g. the host's python3).
# The console log and the command's output are kept under $CACHE/runs/;
# AGENTNS_CONSOLE=FILE also copies the console log to FILE when the guest
# stops (runs/latest is only the newest run, which may be another's).
. "$(dirname "$0")/common.sh"

timeout_s=300 interactive=0 append= extra= shares=1
while getopts "t:ia:x:n" o; do
	case $o in
	t) timeout_s=$OPTARG ;;
	i) interactive=1 ;;
	a) append=$OPTARG ;;
	x) extra=$OPTARG ;;
	n) shares=0 ;;
	*) die "usage: $0 [-t SECONDS] [-i] [-n] [-a APPEND] [-x DIR] [--] [CMD]" ;;
	esac
done
shift $((OPTIND - 1))
cmd=${*:-true}

# AGENTNS_KERNEL: boot another image (e.g. the vmlinuz of a built package).
KERNEL=${AGENTNS_KERNEL:-$BUILD/arch/x86/boot/bzImage}
[ -f "$KERNEL" ] || die "no kernel at $KERNEL: run scripts/build.sh"
BUSYBOX=$(command -v busybox || echo /bin/busybox)
file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$BUSYBOX" 2>&1 | grep -q 'not a dynamic' ||
	die "$BUSYBOX is not static: install busybox-static"

RUN=$CACHE/runs/$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$RUN/initramfs"/{bin,dev,proc,sys,tmp,run,extra}
ln -sfn "$RUN" "$CACHE/runs/latest"
cp "$BUSYBOX" "$RUN/initramfs/bin/busybox"
[ -z "$extra" ] || cp -a "$extra"/. "$RUN/initramfs/extra/"
printf '%s\n' "$cmd" >"$RUN/initramfs/payload"
cat >"$RUN/initramfs/init" <<INIT
#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=\${TERM:-linux}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p '$AGENTNS_ROOT' /host
if [ $shares = 1 ]; then
mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 agentns '$AGENTNS_ROOT' ||
	echo 'agentns: could not mount the repository' >/dev/ttyS0
if mount -t 9p -o trans=virtio,version=9p2000.L,ro,msize=262144 hostroot /host; then
	mount -t proc proc /host/proc && mount -t sysfs sysfs /host/sys &&
		mount -o bind /dev /host/dev && mount -o bind /tmp /host/tmp ||
		echo 'agentns: warning: /host lacks proc, sys, dev or tmp' >/dev/ttyS0
else
	echo 'agentns: warning: could not mount the host root at /host' >/dev/ttyS0
fi
fi
cd '$AGENTNS_ROOT'
if [ $interactive = 1 ]; then
	echo 'agentns: root shell in the guest; exit or Ctrl-D powers it off'
	setsid cttyhack sh -l
else
	sh /payload >/dev/ttyS1 2>&1 </dev/null
	echo "agentns-exit-status: \$?" >/dev/ttyS1
fi
sync
reboot -f
INIT
chmod +x "$RUN/initramfs/init"
(cd "$RUN/initramfs" && find . | cpio -o -H newc --quiet | gzip -1 >"$RUN/initrd.gz")

# KVM where it actually works: a short boot probe decides, once per host.
accel=tcg
if [ -w /dev/kvm ] && [ "${AGENTNS_ACCEL:-}" != tcg ]; then
	probe=$CACHE/kvm-probe
	if [ ! -f "$probe" ]; then
		stage "vm: probing KVM (a 20 s boot test, cached in $probe)"
		if timeout -k 2 20 qemu-system-x86_64 -enable-kvm -cpu host -m 256 -display none \
			-monitor none -serial stdio -no-reboot -kernel "$KERNEL" \
			-append "console=ttyS0 panic=-1 rdinit=/bin/nonexistent" 2>/dev/null |
			grep -q 'Linux version'; then
			echo kvm >"$probe"
		else
			echo tcg >"$probe"
		fi
	fi
	accel=$(cat "$probe")
fi
[ "${AGENTNS_ACCEL:-}" = kvm ] && accel=kvm
if [ "$accel" = kvm ]; then
	ACCEL=(-enable-kvm -cpu host)
else
	# One host thread for all vcpus (round-robin TCG).  With a thread per
	# vcpu the guest oopsed once in the int3 handler while a static key
	# was being switched ("Oops: int3" in do_syscall_64), most likely a
	# vcpu still running a translated block that held the int3 of a
	# finished text_poke_bp(); round-robin sees every code write at once.
	ACCEL=(-accel tcg,thread=single -cpu max)
fi

QEMU=(qemu-system-x86_64 "${ACCEL[@]}" -smp 2 -m 1024 -no-reboot -display none
      -kernel "$KERNEL" -initrd "$RUN/initrd.gz"
      -append "console=ttyS0 panic=-1 oops=panic ${AGENTNS_APPEND:-} $append"
      ${AGENTNS_QEMU_ARGS:-})
[ $shares = 0 ] || QEMU+=(
      -fsdev "local,id=repo,path=$AGENTNS_ROOT,security_model=none,readonly=on"
      -device virtio-9p-pci,fsdev=repo,mount_tag=agentns
      -fsdev "local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap"
      -device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot)
stage "vm: booting $(basename "$BUILD") under QEMU/$accel (console log: $RUN/console.log)"
if [ $interactive = 1 ]; then
	"${QEMU[@]}" -monitor none -serial mon:stdio -serial "file:$RUN/output"
	exit 0
fi

t=$(date +%s)
: >"$RUN/output"
timeout -k 5 "$timeout_s" "${QEMU[@]}" -monitor none -serial "file:$RUN/console.log" \
	-serial "file:$RUN/output" </dev/null &
qpid=$!
tail -n +1 -f --pid=$qpid "$RUN/output" | grep --line-buffered -v '^agentns-exit-status: ' || true
wait $qpid && qrc=0 || qrc=$?
[ -z "${AGENTNS_CONSOLE:-}" ] || cp "$RUN/console.log" "$AGENTNS_CONSOLE"
elapsed=$(( $(date +%s) - t ))
status=$(sed -n 's/^agentns-exit-status: \([0-9]*\).*/\1/p' "$RUN/output" | tail -n1)
if [ -z "$status" ]; then
	if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
		echo "vm: the guest hung and was killed after ${timeout_s}s; console tail:" >&2
	else
		echo "vm: the guest stopped (qemu status $qrc) before the command finished; console tail:" >&2
	fi
	tail -n 40 "$RUN/console.log" >&2
	echo "vm: full console log: $RUN/console.log" >&2
	exit 125
fi
stage "vm: guest done in ${elapsed}s, command exit status $status (console log: $RUN/console.log)"
exit "$status"
