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

# Guest: every kselftest binary, TAP on the output.
stage "check: kselftests in the guest"
payload='for t in /extra/selftests/*; do echo "agentns-selftest: $t"; "$t"; echo "agentns-selftest-exit: $?"; done; dmesg >/tmp/dmesg; echo agentns-dmesg-begin; cat /tmp/dmesg; echo agentns-dmesg-end'
set +e
bash "$AGENTNS_ROOT/scripts/vm.sh" -t "${VM_TIMEOUT:-600}" -x "$guest" \
	-a "kunit.filter_glob=rust_agent_ns*" -- "$payload" >"$RESULTS/guest.out"
vmrc=$?
set -e
console=$CACHE/runs/latest/console.log
cp "$console" "$RESULTS/console.log" 2>/dev/null || true
sed '/^agentns-dmesg-begin/,/^agentns-dmesg-end/d' "$RESULTS/guest.out"

if [ "$vmrc" = 125 ]; then
	record "guest: boot and run the kselftests" fail "guest hung or crashed; see $RESULTS/console.log"
else
	# kselftest_harness TAP: "ok N name", "ok N name # SKIP why", "not ok N name".
	awk '
	/^agentns-selftest: / { bin = $2; sub(".*/", "", bin); seen = 0; next }
	/^agentns-selftest-exit: / {
		if (!seen) print "not ok - " bin ": exited " $2 " without TAP results"
		next
	}
	/^(not )?ok [0-9]+ / {
		seen = 1
		line = $0
		status = (line ~ /^not ok/) ? "not ok" : "ok"
		sub(/^(not )?ok [0-9]+ /, "", line)
		print status " - " bin ": " line
	}' "$RESULTS/guest.out" >>"$TAP"

	# KUnit suites (run at boot): count each test case.
	sed 's/^\[[^]]*\] //' "$RESULTS/console.log" | awk '
	/^    # Subtest: / { suite = $3 }
	/^        (not )?ok [0-9]+ / || /^    (not )?ok [0-9]+ / {
		if ($0 ~ /^        /) next
		line = $0; sub(/^    /, "", line)
		status = (line ~ /^not ok/) ? "not ok" : "ok"
		sub(/^(not )?ok [0-9]+ /, "", line)
		print status " - kunit: " suite "." line
	}' >>"$TAP"
	grep -q ' - kunit: ' "$TAP" || record "kunit: rust_agent_ns suites ran" fail "no KUnit results in the console log"

	# The kernel log must be clean.
	bad=$(grep -E 'WARNING:|BUG:|Oops|Kernel panic|rust_panic|panicked at|UBSAN|KASAN|kmemleak|lockdep|general protection' \
		"$RESULTS/console.log" || true)
	if [ -z "$bad" ]; then
		record "guest: kernel log has no WARN, BUG, Oops or Rust panic" ok
	else
		record "guest: kernel log has no WARN, BUG, Oops or Rust panic" fail
		echo "$bad" | head -n 20
	fi
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
