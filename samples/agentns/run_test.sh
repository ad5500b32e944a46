#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kselftest TAP test of samples/agentns/agentns-run.c, for the busybox
# guest: runs /extra/agentns-run (or $AGENTNS_RUN) as root.  Exits 4
# (skip) on a kernel without agent namespaces.

RUN=${AGENTNS_RUN:-/extra/agentns-run}
ZERO=00000000000000000000000000000000
n=0
failed=0

echo "TAP version 13"
if [ ! -e /proc/self/agent_session ]; then
	echo "1..1"
	echo "ok 1 agentns_run # SKIP this kernel has no agent namespaces"
	exit 4
fi
if [ "$(cat /proc/sys/kernel/agent_ns/enabled 2>/dev/null)" = 0 ]; then
	echo "1..1"
	echo "ok 1 agentns_run # SKIP agent namespaces are disabled (kernel.agent_ns.enabled=0)"
	exit 4
fi
if [ ! -x "$RUN" ]; then
	echo "1..1"
	echo "ok 1 agentns_run # SKIP no $RUN"
	exit 4
fi
echo "1..8"

# result NAME CONDITION-STATUS [DIAGNOSTIC]
result() {
	n=$((n + 1))
	if [ "$2" = 0 ]; then
		echo "ok $n $1"
	else
		[ -n "$3" ] && echo "# $3"
		echo "not ok $n $1"
		failed=$((failed + 1))
	fi
}

is_id() {
	case $1 in
	*[!0-9a-f]*) return 1 ;;
	esac
	[ ${#1} = 32 ]
}

# 1. The command runs in a new session: a non-zero id that differs from
#    the caller's, and the same as seen through /proc/PID (its own pid).
before=$(cat /proc/self/agent_session)
out=$("$RUN" -- sh -c 'cat /proc/self/agent_session; cat /proc/$$/agent_session')
rc=$?
inner=$(echo "$out" | sed -n 1p)
viapid=$(echo "$out" | sed -n 2p)
is_id "$before" && is_id "$inner" && [ "$inner" != "$ZERO" ] &&
	[ "$inner" != "$before" ] && [ "$inner" = "$viapid" ] && [ $rc = 0 ]
result "new_session_has_a_new_nonzero_id" $? \
	"before=$before inside=$inner via-pid=$viapid rc=$rc"

# 2. The caller's own session is unchanged, and two runs get two sessions.
after=$(cat /proc/self/agent_session)
second=$("$RUN" -- cat /proc/self/agent_session)
[ "$after" = "$before" ] && is_id "$second" && [ "$second" != "$inner" ] &&
	[ "$second" != "$before" ]
result "caller_unchanged_and_each_run_is_a_new_session" $? \
	"before=$before after=$after first=$inner second=$second"

# 3. The intent is set, as /proc/PID/agent_intent shows it.
intent=$("$RUN" -i "agentns-run tap test #3" -- sh -c 'cat /proc/$$/agent_intent')
[ "$intent" = "agentns-run tap test #3" ]
result "intent_is_set" $? "agent_intent=[$intent]"

# 4. A bad intent is refused before the command runs (EINVAL, exit 125).
out=$("$RUN" -i "$(printf 'bad\001tag')" -- echo ran 2>&1)
rc=$?
[ $rc = 125 ] && ! echo "$out" | grep -q '^ran$' &&
	echo "$out" | grep -q 'prctl(PR_SET_AGENT_INTENT_TAG): Invalid argument'
result "bad_intent_is_refused" $? "rc=$rc out=$out"

# 5. -k: a system call budget kills a syscall-heavy command (SIGKILL: 137).
#    timeout (outside the session) ends a run the budget missed with 143.
#    stderr is off meanwhile: this shell reports the kill ("Killed") there.
exec 3>&2 2>/dev/null
timeout 120 "$RUN" -s 2000 -k -- sh -c 'while :; do cat /dev/null; done'
rc=$?
exec 2>&3 3>&-
[ $rc = 137 ]
result "kill_budget_kills_a_syscall_heavy_command" $? "exit status $rc, expected 137"

# 6. Without -k the budget only logs: the command runs to its end.
loop='i=0; while [ $i -lt 100 ]; do cat /dev/null; i=$((i + 1)); done; echo done'
out=$("$RUN" -s 200 -- sh -c "$loop")
rc=$?
[ $rc = 0 ] && [ "$out" = done ]
result "log_budget_kills_nothing" $? "rc=$rc out=$out"

# 7. The command's exit status comes back; a missing command is 127.
"$RUN" -- sh -c 'exit 7'
rc1=$?
"$RUN" -- /nonexistent/agentns 2>/dev/null
rc2=$?
[ $rc1 = 7 ] && [ $rc2 = 127 ]
result "exit_status_is_the_commands" $? "rc=$rc1 (want 7), missing=$rc2 (want 127)"

# 8. Bad usage is 125 and runs nothing.
"$RUN" -s 12x -- echo ran >/dev/null 2>&1
rc1=$?
"$RUN" -k -- echo ran >/dev/null 2>&1
rc2=$?
"$RUN" >/dev/null 2>&1
rc3=$?
[ $rc1 = 125 ] && [ $rc2 = 125 ] && [ $rc3 = 125 ]
result "bad_usage_is_125" $? "rcs: $rc1 $rc2 $rc3"

echo "# Totals: pass:$((n - failed)) fail:$failed skip:0"
[ $failed = 0 ]
