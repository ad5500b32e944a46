#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make system`: linux-wintermute as a Debian system's kernel.
#
# 1. A Debian bookworm root file system built from packages by mmdebstrap
#    (systemd, udev, dbus, apt, python3, initramfs-tools, auditd,
#    prometheus and Debian's own kernel), from the mirror of this machine's
#    apt sources.
#    Cached in $CACHE/system/base-KEY; KEY hashes its inputs (the suite,
#    the mirror, the package list, the mmdebstrap command), so that it is
#    rebuilt only when one changes.
# 2. A copy of it in which dpkg -i installs the guest kernel's
#    linux-image and linux-headers packages (their maintainer scripts run:
#    initramfs-tools makes the initrd), its linux-libc-dev (the uapi
#    header) and the agentns and python3-agentns packages, and the test's units and script (scripts/system/) go to
#    /etc/systemd/system and /usr/local/lib/agentns-system (with a
#    prometheus.yml that scrapes the agentns exporter).  mke2fs -d
#    writes it into an ext4 disk image.
# 3. Boot "wintermute": the vmlinuz and initrd that dpkg put in the disk
#    image's /boot (read with debugfs, not taken from the build tree), root
#    on a virtio disk, systemd as PID 1.  Once multi-user.target is reached
#    agentns-system-test.service runs scripts/system/test.sh: the units,
#    the tools, a budget kill as systemd reports it; then it removes our
#    kernel with apt and powers off.
# 4. Boot "rollback": Debian's kernel from the same disk: the system boots
#    without ours, and the tools say the kernel lacks the feature.
#
# Each boot's TAP (from the guest's second serial port) goes to
# $CACHE/system/run/BOOT.tap, its console to BOOT.console; this script
# prints them as "ok - system: BOOT: ..." lines and exits 0 when all
# passed.  make check records them (scripts/check.sh).
#
#   SYSTEM_DEBS=DIR   take the kernel packages from DIR instead of running
#                     `PACKAGE_CONFIG=guest scripts/package.sh` (make check
#                     has just built them)
#   SYSTEM_TIMEOUT=S  seconds a boot may take (default 600)
. "$(dirname "$0")/common.sh"

SYSTEM_SUITE=bookworm
SYSTEM_TIMEOUT=${SYSTEM_TIMEOUT:-600}
PACKAGES=(systemd systemd-sysv udev dbus apt python3 initramfs-tools zstd
	  e2fsprogs kmod procps auditd prometheus linux-image-amd64)
SYS=$CACHE/system
RUN=$SYS/run
t_start=$(date +%s)

bash "$AGENTNS_ROOT/scripts/setup.sh"

# The packages to install: the guest kernel's .deb files and the tools'.
rel=$("${KMAKE[@]}" -s kernelrelease 2>/dev/null || true)
if [ -z "${SYSTEM_DEBS:-}" ]; then
	PACKAGE_CONFIG=guest PKG=deb bash "$AGENTNS_ROOT/scripts/package.sh"
	rel=$("${KMAKE[@]}" -s kernelrelease)
	SYSTEM_DEBS=$CACHE/packages/$KVER
fi
[ -n "$rel" ] || die "no kernel release: build the kernel first"
debs=()
for p in "linux-image-$rel" "linux-headers-$rel" linux-libc-dev; do
	d=$(ls "$SYSTEM_DEBS/${p}_"*.deb 2>/dev/null | sort -V | tail -n1 || true)
	[ -n "$d" ] || [ "$p" != "linux-image-$rel" ] || die "no ${p}_*.deb in $SYSTEM_DEBS"
	[ -z "$d" ] || debs+=("$d")
done
rm -rf "$SYS/tools"
bash "$AGENTNS_ROOT/scripts/package-tools.sh" "$SYS/tools" >"$LOGDIR/system-tools.log" 2>&1 ||
	{ tail -n 20 "$LOGDIR/system-tools.log"; die "scripts/package-tools.sh failed"; }
debs+=("$SYS"/tools/*.deb)

# 1. The base system, cached.  The hooks: a root file system on /dev/vda,
# a host name, root without a password on the console (for a person
# debugging a boot), and initrds with the modules a virtio guest needs
# (Debian's default, MODULES=most, puts most of its modules in the initrd).
make_base() {
	mmdebstrap --mode=root --variant=apt --include="$(IFS=,; echo "${PACKAGES[*]}")" \
		--setup-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"' \
		--setup-hook='echo MODULES=list >"$1/etc/initramfs-tools/conf.d/agentns.conf"' \
		--setup-hook='printf "%s\n" virtio_pci virtio_blk ext4 >"$1/usr/share/initramfs-tools/modules.d/agentns"' \
		--customize-hook='echo "/dev/vda / ext4 rw,errors=remount-ro 0 1" >"$1/etc/fstab"' \
		--customize-hook='echo wintermute >"$1/etc/hostname"' \
		--customize-hook='chroot "$1" passwd -d root' \
		"$SYSTEM_SUITE" "$1" \
		"deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $SYSTEM_SUITE main"
}
mirror=$(debian_mirror)
key=$( { echo "$SYSTEM_SUITE $mirror ${PACKAGES[*]}"; declare -f make_base; } | sha256sum | cut -c1-16)
base=$SYS/base-$key
if [ ! -f "$base/.agentns-complete" ]; then
	stage "system: Debian $SYSTEM_SUITE with mmdebstrap (${PACKAGES[*]})"
	rm -rf "$SYS"/base-*
	mkdir -p "$SYS"
	t=$(date +%s)
	make_base "$base.tmp" >"$LOGDIR/system-mmdebstrap.log" 2>&1 ||
		{ tail -n 30 "$LOGDIR/system-mmdebstrap.log"; rm -rf "$base.tmp"
		  die "mmdebstrap failed (log: $LOGDIR/system-mmdebstrap.log)"; }
	touch "$base.tmp/.agentns-complete"
	mv "$base.tmp" "$base"
	stage "system: base system in $(( $(date +%s) - t ))s, $(du -sh "$base" | cut -f1)"
fi

# in_root DIR COMMAND...: COMMAND chrooted into DIR with /proc, /sys and
# /dev mounted, in a mount namespace of its own (nothing to unmount).
in_root() {
	unshare --mount --propagation private -- sh -ec '
		r=$1; shift
		mount -t proc proc "$r/proc"
		mount -t sysfs sysfs "$r/sys"
		mount --rbind /dev "$r/dev"
		exec chroot "$r" "$@"' sh "$@"
}

# 2. This run's system: the base, our packages, the test.
stage "system: installing $(printf '%s ' "${debs[@]##*/}")with dpkg -i"
t=$(date +%s)
rm -rf "$RUN"
mkdir -p "$RUN"
root=$RUN/root
cp -a "$base" "$root"
mkdir -p "$root/root/debs"
cp "${debs[@]}" "$root/root/debs/"
in_root "$root" sh -c 'dpkg -i /root/debs/*.deb' >"$RUN/dpkg.log" 2>&1 ||
	{ tail -n 30 "$RUN/dpkg.log"; die "dpkg -i failed in the image (log: $RUN/dpkg.log)"; }
rm -rf "$root/root/debs"
install -D -m 0755 "$AGENTNS_ROOT/scripts/system/test.sh" "$root/usr/local/lib/agentns-system/test.sh"
install -m 0644 "$AGENTNS_ROOT"/scripts/system/*.service "$AGENTNS_ROOT"/scripts/system/*.target \
	"$root/etc/systemd/system/"
install -m 0644 "$AGENTNS_ROOT/scripts/system/prometheus.yml" "$root/etc/prometheus/prometheus.yml"
in_root "$root" systemctl enable agentns-demo.service agentns-export.service >>"$RUN/dpkg.log" 2>&1
size=$(( $(du -sm "$root" | cut -f1) + 768 ))
disk=$RUN/disk.img
rm -f "$disk"
mke2fs -q -t ext4 -L root -d "$root" "$disk" "${size}M"
rm -rf "$root"
stage "system: disk image ${size} MiB ready in $(( $(date +%s) - t ))s"

# boot NAME KERNEL_RELEASE: boot the disk with the vmlinuz and initrd of
# that release from the disk's own /boot; the test writes NAME.tap.
boot() {
	local name=$1 krel=$2 t vmrc f bad
	for f in "vmlinuz-$krel" "initrd.img-$krel"; do
		debugfs -R "dump /boot/$f $RUN/$f" "$disk" >/dev/null 2>&1
		[ -s "$RUN/$f" ] || die "no /boot/$f in the disk image"
	done
	stage "system: boot $name ($krel from the image's /boot; console $RUN/$name.console)"
	t=$(date +%s)
	set +e
	# TCG round-robin (thread=single), as scripts/vm.sh: with a host
	# thread per vcpu, a boot of this image oopsed on an int3 at a static
	# key site in do_sys_openat2 while udev ran, the key's patching done
	# (a vcpu running a stale translated block).
	timeout -k 5 "$SYSTEM_TIMEOUT" qemu-system-x86_64 -accel tcg,thread=single -cpu max -smp 2 -m 2048 \
		-no-reboot -display none -monitor none -nic none \
		-serial "file:$RUN/$name.console" -serial "file:$RUN/$name.raw" \
		-kernel "$RUN/vmlinuz-$krel" -initrd "$RUN/initrd.img-$krel" \
		-drive "file=$disk,format=raw,if=virtio,cache=unsafe" \
		-append "root=/dev/vda rw console=ttyS0 panic=-1 systemd.unit=agentns-system-test.target agentns.phase=$name"
	vmrc=$?
	set -e
	tr -d '\r' <"$RUN/$name.raw" >"$RUN/$name.tap"
	stage "system: boot $name done in $(( $(date +%s) - t ))s (qemu exit $vmrc)"
	if [ "$vmrc" != 0 ] || ! grep -q '^1\.\.[0-9]' "$RUN/$name.tap"; then
		echo "not ok - system: $name: boots and runs the test # qemu exit $vmrc, see $RUN/$name.console"
		tail -n 30 "$RUN/$name.console" | tr -d '\r' | sed 's/^/# /'
		return
	fi
	echo "ok - system: $name: boots and runs the test"
	sed -n -E "s/^(not )?ok [0-9]+ - /\1ok - system: $name: /p" "$RUN/$name.tap"
	[ "$name" = wintermute ] || return 0
	# Our kernel's log, under systemd and its services, must be clean.
	bad=$(tr -d '\r' <"$RUN/$name.console" |
		grep -E 'WARNING:|BUG:|Oops|Kernel panic|rust_panic|panicked at|UBSAN:|general protection' || true)
	if [ -z "$bad" ]; then
		echo "ok - system: $name: kernel log has no WARN, BUG, Oops or Rust panic"
	else
		echo "not ok - system: $name: kernel log has no WARN, BUG, Oops or Rust panic"
		echo "$bad" | head -n 20 | sed 's/^/# /'
	fi
}

debian_rel=$(ls "$base/boot" | sed -n 's/^vmlinuz-//p' | sort -V | tail -n1)
[ -n "$debian_rel" ] || die "no Debian kernel in the base system"
boot wintermute "$rel" | tee "$RUN/results.tap"
boot rollback "$debian_rel" | tee -a "$RUN/results.tap"
grep -h '^#' "$RUN"/wintermute.tap "$RUN"/rollback.tap >"$RUN/notes.txt" || true
stage "system: done in $(( $(date +%s) - t_start ))s; TAP in $RUN/results.tap, notes in $RUN/notes.txt"
! grep -q '^not ok' "$RUN/results.tap"
