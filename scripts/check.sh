#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make check`: every test of the project.  Builds the kernel, runs the
# host-side checks, boots the guest, runs the kselftests and the KUnit
# suites there, and ends with "N passed, N failed[, N skipped]".
. "$(dirname "$0")/common.sh"

RESULTS=$CACHE/check
rm -rf "$RESULTS"
mkdir -p "$RESULTS"
TAP=$RESULTS/results.tap
: >"$TAP"

# record NAME STATUS [DETAIL] - one result line (ok / not ok / skip).
record() {
	case $2 in
	ok) echo "ok - $1" ;;
	skip) echo "ok - $1 # SKIP ${3:-}" ;;
	*) echo "not ok - $1${3:+ # $3}" ;;
	esac >>"$TAP"
}

finish() {
	local pass fail skip
	pass=$(grep -c '^ok ' "$TAP" | tr -d '\n'; true)
	skip=$(grep -c '^ok .*# SKIP' "$TAP"; true)
	fail=$(grep -c '^not ok ' "$TAP"; true)
	pass=$((pass - skip))
	if [ "$fail" -gt 0 ]; then
		echo "Failed:"
		grep '^not ok ' "$TAP" | sed 's/^not ok - /  /'
	fi
	echo "results: $TAP"
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
}
trap 'echo "check: aborted in a stage above"; record "check pipeline" fail "aborted"; finish' ERR

bash "$AGENTNS_ROOT/scripts/setup.sh"
bash "$AGENTNS_ROOT/scripts/build.sh"
bash "$AGENTNS_ROOT/scripts/userprogs.sh"
guest=$CACHE/guest/$(basename "$BUILD")
trap - ERR

# Host-side checks.
stage "check: host-side tests"
for t in "$AGENTNS_ROOT"/scripts/tests/*.sh; do
	name=$(basename "$t" .sh)
	if bash "$t" >"$RESULTS/$name.log" 2>&1; then
		record "host: $name" ok
	else
		record "host: $name" fail "see $RESULTS/$name.log"
		tail -n 20 "$RESULTS/$name.log"
	fi
done

# guest_tests LABEL OUT [VM.SH ARGS...]: boot a guest that runs every
# kselftest binary, then records their TAP results, the KUnit suites of
# the boot, and whether the kernel log is clean, each named "LABEL: ...".
# A debug guest also scans for leaks (kmemleak) before it powers off.  Its
# automatic scan (every 10 minutes, the second one about 700 s after boot,
# when the stress test runs) is turned off while the tests run: under TCG a
# scan takes tens of seconds, and the allocations of the other cpu wait on
# its lock meanwhile.  (It was suspected, wrongly, of the stress test's
# slow-dying processes: one showed up with the scan off.)  The two scans at
# the end still find every leak of the run.
selftests='for t in /extra/selftests/*; do echo "agentns-selftest: $t"; "$t"; echo "agentns-selftest-exit: $?"; done'
kmemleak_off='mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null; [ ! -e /sys/kernel/debug/kmemleak ] || echo scan=off >/sys/kernel/debug/kmemleak'
kmemleak_scan='mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null; if [ -e /sys/kernel/debug/kmemleak ]; then sleep 6; echo scan >/sys/kernel/debug/kmemleak; sleep 6; echo scan >/sys/kernel/debug/kmemleak; echo agentns-kmemleak-begin; cat /sys/kernel/debug/kmemleak; echo agentns-kmemleak-end; else echo "agentns-kmemleak: no /sys/kernel/debug/kmemleak"; fi'
guest_tests() {
	local label=$1 out=$2 vmrc bad
	shift 2
	set +e
	: >"$out.console"
	AGENTNS_CONSOLE=$out.console bash "$AGENTNS_ROOT/scripts/vm.sh" "$@" >"$out"
	vmrc=$?
	set -e
	sed '/^agentns-kmemleak-begin/,/^agentns-kmemleak-end/d' "$out"
	if [ "$vmrc" = 125 ]; then
		record "$label: boot and run the kselftests" fail "guest hung or crashed; see $out.console"
		return
	fi
	# kselftest_harness TAP: "ok N name", "ok N name # SKIP why", "not ok N name".
	awk -v label="$label" '
	/^agentns-selftest: / { bin = $2; sub(".*/", "", bin); seen = 0; next }
	/^agentns-selftest-exit: / {
		if (!seen) print "not ok - " label ": " bin ": exited " $2 " without TAP results"
		next
	}
	/^(not )?ok [0-9]+ / {
		seen = 1
		line = $0
		status = (line ~ /^not ok/) ? "not ok" : "ok"
		sub(/^(not )?ok [0-9]+ /, "", line)
		print status " - " label ": " bin ": " line
	}' "$out" >>"$TAP"

	# KUnit suites (run at boot): count each test case.
	sed 's/^\[[^]]*\] //' "$out.console" | awk -v label="$label" '
	/^    # Subtest: / { suite = $3 }
	/^    (not )?ok [0-9]+ / {
		line = $0; sub(/^    /, "", line)
		status = (line ~ /^not ok/) ? "not ok" : "ok"
		sub(/^(not )?ok [0-9]+ /, "", line)
		print status " - " label ": kunit: " suite "." line
	}' >>"$TAP"
	grep -q " - $label: kunit: " "$TAP" ||
		record "$label: kunit: the Rust KUnit suites ran" fail "no KUnit results in $out.console"

	# The kernel log must be clean, and kmemleak must have found nothing.
	# (lockdep, RCU and debug-objects reports are WARNINGs; KASAN's are BUGs.)
	bad=$(grep -E 'WARNING:|BUG:|Oops|Kernel panic|rust_panic|panicked at|UBSAN:|kmemleak: [0-9]+ new suspected|general protection|ODEBUG:' \
		"$out.console" || true)
	bad+=$(sed -n '/^agentns-kmemleak-begin/,/^agentns-kmemleak-end/p' "$out" | grep -v '^agentns-kmemleak-' || true)
	if [ -z "$bad" ]; then
		record "$label: kernel log has no WARN, BUG, Oops, Rust panic or sanitizer report" ok
	else
		record "$label: kernel log has no WARN, BUG, Oops, Rust panic or sanitizer report" fail
		echo "$bad" | head -n 60
	fi
}

# A scratch disk (/dev/vda in the guest, with a poll queue) for the tests
# that need a block device: io_uring IOPOLL reads with O_DIRECT.  The debug
# kernel has no block layer (scripts/debug.config is not merged with
# scripts/system.config), so those tests skip in the debug guest.
scratch=$RESULTS/scratch.img
rm -f "$scratch"
truncate -s 8M "$scratch"
disk="-drive file=$scratch,if=virtio,format=raw"

stage "check: kselftests in the guest"
AGENTNS_QEMU_ARGS=$disk guest_tests guest "$RESULTS/guest.out" -t "${VM_TIMEOUT:-900}" -x "$guest" \
	-a "kunit.filter_glob=rust_* virtio_blk.poll_queues=1" -- "$selftests; /extra/upstream/run.sh"
cp "$RESULTS/guest.out.console" "$RESULTS/console.log"
# The kernel's own selftests (namespaces, nsfs, clone3, pidfd, proc,
# prctl): a failure not in scripts/upstream-selftests.known fails.
bash "$AGENTNS_ROOT/scripts/upstream-selftests.sh" compare "$RESULTS/guest.out" >>"$TAP"

# The same tests on the debug kernel (scripts/debug.config: KASAN, lockdep,
# kmemleak, UBSAN, debug objects, Rust debug assertions).  acpi=noirq: this
# kernel under TCG runs the AML of QEMU's \_SB.PCI0._PRT (a While loop over
# 128 entries) past ACPICA's 30 s loop timeout, the PCI devices get no INTx
# routing, and the first 9p mount waits forever for its interrupt; the PIIX
# IRQ router of the BIOS's $PIR table routes them instead.
stage "check: kselftests in the debug guest"
DEBUG=1 bash "$AGENTNS_ROOT/scripts/build.sh"
AGENTNS_KERNEL=$CACHE/build/linux-$KVER-agentns-y-debug/arch/x86/boot/bzImage \
	guest_tests debug "$RESULTS/debug.out" -t "${VM_TIMEOUT:-1500}" -x "$guest" \
	-a "acpi=noirq kunit.filter_glob=rust_* kasan.fault=report" -- \
	"$kmemleak_off; $selftests; $kmemleak_scan"

# make bench cannot rot: one short pass of it on the =y kernel.
stage "check: make bench smoke"
if BENCH_SMOKE=1 bash "$AGENTNS_ROOT/scripts/bench.sh" >"$RESULTS/bench-smoke.log" 2>&1 &&
	grep -q '^B getppid depth-1 ' "$CACHE/bench-raw/y.txt" && [ -s "$CACHE/bench-smoke/bench.md" ]; then
	record "bench: make bench smoke pass and report" ok
else
	record "bench: make bench smoke pass and report" fail "see $RESULTS/bench-smoke.log"
	tail -n 20 "$RESULTS/bench-smoke.log"
fi

# The .deb is real: package the guest kernel with bindeb-pkg, extract the
# package and boot the vmlinuz it installs.
stage "check: linux-wintermute .deb of the guest kernel"
name="package: bindeb-pkg .deb boots and passes agentns_test"
rel=$("${KMAKE[@]}" -s kernelrelease)
if PACKAGE_CONFIG=guest PKG=deb bash "$AGENTNS_ROOT/scripts/package.sh" \
	>"$RESULTS/package.log" 2>&1; then
	deb=$(ls "$CACHE/packages/$KVER/linux-image-${rel}_"*.deb | sort -V | tail -n1)
	rm -rf "$RESULTS/deb"
	dpkg-deb -x "$deb" "$RESULTS/deb"
	set +e
	AGENTNS_KERNEL=$RESULTS/deb/boot/vmlinuz-$rel bash "$AGENTNS_ROOT/scripts/vm.sh" \
		-t 300 -x "$guest" -- 'uname -r; /extra/selftests/agentns_test' 2>&1 |
		tr -d '\r' >"$RESULTS/deb-boot.out"
	vmrc=${PIPESTATUS[0]}
	set -e
	if [ "$vmrc" = 0 ] && grep -qx "$rel" "$RESULTS/deb-boot.out" &&
		grep -q '^# PASSED: .* tests passed' "$RESULTS/deb-boot.out" &&
		! grep -q '^not ok' "$RESULTS/deb-boot.out"; then
		record "$name" ok
	else
		record "$name" fail "see $RESULTS/deb-boot.out"
		tail -n 20 "$RESULTS/deb-boot.out"
	fi
else
	record "$name" fail "see $RESULTS/package.log"
	tail -n 20 "$RESULTS/package.log"
fi

# linux-wintermute as a Debian system's kernel (make system): the packages
# just built, installed with dpkg in a Debian image and booted with
# systemd, then rolled back to Debian's kernel.
stage "check: Debian system with the packaged kernel (make system)"
system_rc=0
SYSTEM_DEBS=$CACHE/packages/$KVER bash "$AGENTNS_ROOT/scripts/system.sh" \
	>"$RESULTS/system.out" 2>"$RESULTS/system.log" || system_rc=$?
grep -E '^(not )?ok - system: ' "$RESULTS/system.out" >>"$TAP" || true
# It exits non-zero when a check failed (recorded above) and when it died
# before the end (no rollback boot, say), leaving checks unrun: a failure
# of its own when no check says why.
if ! grep -q '^ok - system: ' "$RESULTS/system.out" ||
	{ [ "$system_rc" != 0 ] && ! grep -q '^not ok - system: ' "$RESULTS/system.out"; }; then
	record "system: make system builds, boots and rolls back the image" fail \
		"exit status $system_rc; see $RESULTS/system.log"
fi
grep '^not ok' "$RESULTS/system.out" && tail -n 20 "$RESULTS/system.log" || true

# The feature off from boot, by the kernel parameter or by the sysctl on
# the command line: the kernel comes up with it inert.  Only agent_ns=off
# refuses to be turned back on.
payload='echo "enabled=$(cat /proc/sys/kernel/agent_ns/enabled)"; /extra/agentns-demo; echo "demo-exit=$?"; if echo 1 >/proc/sys/kernel/agent_ns/enabled 2>/dev/null; then echo sysctl-on=accepted; else echo sysctl-on=refused; fi'
for boot in "agent_ns=off refused" "sysctl.kernel.agent_ns.enabled=0 accepted"; do
	param=${boot% *} expect=${boot#* }
	name="guest: booted with $param, the feature is inert"
	stage "check: boot with $param"
	out=$RESULTS/boot-${param%%=*}.out
	set +e
	bash "$AGENTNS_ROOT/scripts/vm.sh" -t 300 -x "$guest" -a "$param" -- "$payload" 2>&1 |
		tr -d '\r' >"$out"
	vmrc=${PIPESTATUS[0]}
	set -e
	if [ "$vmrc" = 0 ] && grep -qx 'enabled=0' "$out" &&
		grep -q 'PR_SET_AGENT_NS.*Operation not supported' "$out" &&
		grep -qx "sysctl-on=$expect" "$out"; then
		record "$name" ok
	else
		record "$name" fail "see $out"
		cat "$out"
	fi
done

finish
