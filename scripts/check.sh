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

# agent_ns=off on the command line: the kernel boots with the feature inert.
stage "check: boot with agent_ns=off"
payload='echo "enabled=$(cat /proc/sys/kernel/agent_ns/enabled)"; if echo 1 >/proc/sys/kernel/agent_ns/enabled 2>/dev/null; then echo sysctl-on=accepted; else echo sysctl-on=refused; fi; /extra/agentns-demo; echo "demo-exit=$?"'
set +e
bash "$AGENTNS_ROOT/scripts/vm.sh" -t 300 -x "$guest" -a "agent_ns=off" -- "$payload" 2>&1 |
	tr -d '\r' >"$RESULTS/boot-off.out"
vmrc=${PIPESTATUS[0]}
set -e
cp "$CACHE/runs/latest/console.log" "$RESULTS/boot-off-console.log" 2>/dev/null || true
if [ "$vmrc" = 0 ] && grep -qx 'enabled=0' "$RESULTS/boot-off.out" &&
	grep -qx 'sysctl-on=refused' "$RESULTS/boot-off.out" &&
	grep -q 'PR_SET_AGENT_NS.*Operation not supported' "$RESULTS/boot-off.out" &&
	grep -q 'agent_ns: off (agent_ns=off' "$RESULTS/boot-off-console.log"; then
	record "guest: agent_ns=off boots with the feature inert" ok
else
	record "guest: agent_ns=off boots with the feature inert" fail "see $RESULTS/boot-off.out"
	cat "$RESULTS/boot-off.out"
fi

finish
