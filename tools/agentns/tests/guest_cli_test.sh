#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The agentns command against the real kernel, in the busybox guest, as root.
# Installed by scripts/build-cli.sh as /extra/selftests/cli_test.sh next to /extra/agentns.
# Prints kselftest TAP; exits 4 (skip) on a kernel without agent namespaces.

A=${AGENTNS:-/extra/agentns}
T=$(mktemp -d /tmp/cli_test.XXXXXX) || exit 1
PLAN=52
n=0
failed=0
ZERO=00000000000000000000000000000000

if [ ! -e /proc/self/agent_session ]; then
	echo "1..1"
	echo "ok 1 cli_test # SKIP no /proc/self/agent_session: kernel without agent namespaces"
	exit 4
fi
echo "1..$PLAN"
if [ ! -x "$A" ]; then
	echo "not ok 1 agentns binary at $A"
	exit 1
fi

# check NAME CMD...: one TAP line from CMD's status; its output goes to the log on failure.
check() {
	name=$1
	shift
	n=$((n + 1))
	if "$@" >"$T/check.out" 2>&1; then
		echo "ok $n $name"
	else
		echo "not ok $n $name"
		sed 's/^/# /' "$T/check.out"
		failed=$((failed + 1))
	fi
}

# The value of "key":NUMBER or "key":"string" in compact or pretty JSON (first match).
jnum() { tr -d ' \n' <"$2" | grep -o "\"$1\":[0-9]*" | head -n1 | cut -d: -f2; }
jstr() { tr -d '\n' <"$2" | sed 's/": "/":"/g' | grep -o "\"$1\":\"[^\"]*\"" | head -n1 | cut -d'"' -f4; }

say() { echo "$*"; }
fail() { echo "$*"; return 1; }

# ls draws its tree with box-drawing characters in a UTF-8 locale and as lsblk does in ASCII
# otherwise; this turns the first into the second, so that columns count the same in any awk.
ascii_tree() { sed 's/├─ /|- /g; s/└─ /`- /g; s/│  /|  /g' "$@"; }
# The object of "key":{...} (no nested objects) in JSON, compacted.
jobj() { tr -d ' \n' <"$2" | sed -n 's/.*"'"$1"'":{\([^}]*\)}.*/\1/p'; }

# --- run ---------------------------------------------------------------------
t_run_exec() {
	"$A" run --intent cli-run -- sh -c "cat /proc/self/agent_session /proc/self/agent_intent" \
		>"$T/run.out" || return 1
	id=$(sed -n 1p "$T/run.out")
	intent=$(sed -n 2p "$T/run.out")
	mine=$(cat /proc/self/agent_session)
	say "session=$id intent=$intent outer=$mine"
	[ ${#id} = 32 ] && [ "$id" != "$mine" ] && [ "$id" != $ZERO ] && [ "$intent" = cli-run ]
}
check "run: the command runs in a new session with the intent" t_run_exec

t_run_report() {
	"$A" run --report --json --intent cli-report -- sh -c 'echo hello >/dev/null; cat /proc/self/agent_session; :' \
		>"$T/rep.stdout" 2>"$T/rep.json" || return 1
	cat "$T/rep.json"
	# the counters object only
	sed -n 's/.*"counters":{\([^}]*\)}.*/\1/p' "$T/rep.json" >"$T/rep.counters"
	sys=$(jnum syscalls "$T/rep.counters")
	ex=$(jnum exec "$T/rep.counters")
	fk=$(jnum fork "$T/rep.counters")
	wb=$(jnum write_bytes "$T/rep.counters")
	say "syscalls=$sys exec=$ex fork=$fk write_bytes=$wb"
	[ "$(jnum exit_code "$T/rep.json")" = 0 ] || fail "exit_code" || return 1
	[ "$(jstr intent "$T/rep.json")" = cli-report ] || fail "intent" || return 1
	[ "$(jstr ended_by "$T/rep.json")" = exit ] || fail "ended_by" || return 1
	! grep -q outer_session "$T/rep.json" || fail "an outer session" || return 1
	[ "$(jstr session "$T/rep.json")" = "$(cat "$T/rep.stdout")" ] || fail "session id" || return 1
	# sh and cat: at least two execs and one fork; hello\n and the id line written
	[ "$sys" -gt 10 ] && [ "$ex" -ge 2 ] && [ "$fk" -ge 1 ] && [ "$wb" -ge 39 ]
}
check "run --report --json: final counters of the session" t_run_report

t_exit_code() {
	"$A" run -- sh -c 'exit 7'
	a=$?
	"$A" run --report -- sh -c 'exit 3' 2>"$T/ec.err"
	b=$?
	say "exec mode: $a, report mode: $b"
	cat "$T/ec.err"
	[ $a = 7 ] && [ $b = 3 ] && grep -q 'exit status 3' "$T/ec.err"
}
check "run: exit code is the command's" t_exit_code

t_exit_signal() {
	"$A" run -- sh -c 'kill -USR1 $$'
	a=$?
	"$A" run --report --json -- sh -c 'kill -TERM $$' 2>"$T/sig.json"
	b=$?
	say "exec mode: $a, report mode: $b"
	cat "$T/sig.json"
	[ $a = 138 ] && [ $b = 143 ] && [ "$(jnum signal "$T/sig.json")" = 15 ]
}
check "run: killed by a signal gives 128+signal" t_exit_signal

t_not_found() {
	"$A" run -- /nonexistent/cmd 2>"$T/nf.err"
	a=$?
	cat "$T/nf.err"
	[ $a = 127 ] && grep -q 'agentns: /nonexistent/cmd' "$T/nf.err"
}
check "run: a missing command gives 127" t_not_found

t_bad_intent() {
	"$A" run --intent "$(printf 'tab\there')" -- true 2>"$T/bi.err"
	a=$?
	cat "$T/bi.err"
	[ $a = 125 ] && grep -q 'printable ASCII' "$T/bi.err"
}
check "run: a bad intent is refused with a reason (125)" t_bad_intent

t_usage() {
	# Options of agentns come before the command: a mistyped one is a usage error (125), and
	# nothing runs; after the command, everything is the command's.
	"$A" run --max-sycalls 10 -- touch "$T/ran" 2>"$T/u1.err"
	a=$?
	"$A" exec --bogus --session 1 -- touch "$T/ran" 2>"$T/u2.err"
	b=$?
	"$A" ls --bogus 2>/dev/null
	c=$?
	"$A" top --sort nope -n 1 2>/dev/null
	d=$?
	"$A" run --max-syscalls 10x -- true 2>/dev/null
	e=$?
	"$A" run --help >"$T/u.help" 2>"$T/u.help.err"
	f=$?
	out=$("$A" run --intent x sh -c 'echo "$1 $2"' sh --bogus -l)
	g=$?
	cat "$T/u1.err" "$T/u2.err"
	say "usage errors: $a $b $c $d $e; --help: $f; command: $g \"$out\""
	[ $a = 125 ] && [ $b = 125 ] && [ $c = 125 ] && [ $d = 125 ] && [ $e = 125 ] &&
		[ ! -e "$T/ran" ] || fail "usage errors" || return 1
	grep -q "unexpected argument '--max-sycalls'" "$T/u1.err" || fail "no reason" || return 1
	[ $f = 0 ] && grep -q '^Usage: agentns run' "$T/u.help" && [ ! -s "$T/u.help.err" ] ||
		fail "--help" || return 1
	[ $g = 0 ] && [ "$out" = "--bogus -l" ]
}
check "run, exec, ls, top: unknown options and bad values exit 125, run nothing" t_usage

t_units() {
	# Counts take SI multipliers, sizes K/M/G (1024) and KB/MB (1000), durations systemd's
	# units; infinity is no limit.
	"$A" run --max-syscalls 1M --max-write-bytes 1MiB --max-read-bytes 1MB --max-elapsed 2hours \
		--max-opens 1k --max-connects 1_000 --max-forks 1.5k --max-execs infinity -- \
		"$A" show --json >"$T/units.json" || return 1
	jobj budget "$T/units.json" >"$T/units.budget"
	cat "$T/units.budget"
	echo
	[ "$(jnum syscalls "$T/units.budget")" = 1000000 ] &&
		[ "$(jnum write_bytes "$T/units.budget")" = 1048576 ] &&
		[ "$(jnum read_bytes "$T/units.budget")" = 1000000 ] &&
		[ "$(jnum elapsed_ns "$T/units.budget")" = 7200000000000 ] &&
		[ "$(jnum openat "$T/units.budget")" = 1000 ] &&
		[ "$(jnum connect "$T/units.budget")" = 1000 ] &&
		[ "$(jnum fork "$T/units.budget")" = 1500 ] &&
		[ "$(jnum exec "$T/units.budget")" = 0 ]
}
check "run: limits with units (1M, 1MiB, 1MB, 2hours, 1k, 1_000, 1.5k, infinity)" t_units

t_disabled() {
	en=/proc/sys/kernel/agent_ns/enabled
	[ "$(cat $en)" = 1 ] || { say "$en is not 1"; return 1; }
	echo 0 >$en
	"$A" run -- true 2>"$T/dis.err"
	a=$?
	echo 1 >$en
	cat "$T/dis.err"
	[ $a = 125 ] && grep -q 'agent namespaces are disabled on this kernel (kernel.agent_ns.enabled=0' "$T/dis.err" &&
		[ "$(cat $en)" = 1 ]
}
check "run with kernel.agent_ns.enabled=0: says the feature is disabled" t_disabled

t_status() {
	"$A" status >"$T/st.txt"
	a=$?
	"$A" status --json >"$T/st.json"
	b=$?
	ml=$(cat /proc/sys/kernel/agent_ns/max_lifetime)
	ri=$(cat /proc/sys/kernel/agent_ns/reap_interval)
	cat "$T/st.txt" "$T/st.json"
	[ $a = 0 ] && [ $b = 0 ] || fail "exit status $a, --json $b" || return 1
	grep -q '^agent namespaces yes$' "$T/st.txt" && grep -q '^enabled  *yes$' "$T/st.txt" ||
		fail "not there and enabled" || return 1
	grep -q 'kernel.agent_ns.enabled = 1$' "$T/st.txt" &&
		grep -q "kernel.agent_ns.max_lifetime = $ml\$" "$T/st.txt" &&
		grep -q "kernel.agent_ns.reap_interval = $ri\$" "$T/st.txt" &&
		grep -q 'user.max_agent_namespaces = [0-9]*$' "$T/st.txt" || fail "sysctls" || return 1
	if [ "$ml" = 0 ]; then
		grep -q '^reaper  *off: the reaper kills nothing' "$T/st.txt"
	else
		grep -q "^reaper  *the tasks of sessions older than $ml s are killed (SIGKILL), checked every $ri s\$" "$T/st.txt"
	fi || fail "reaper" || return 1
	grep -q '^listns(2)  *yes (' "$T/st.txt" || fail "listns" || return 1
	grep -q '^tracepoints  */sys/kernel/tracing/events/agent_ns: .*agent_budget_exceeded' "$T/st.txt" ||
		fail "tracepoints" || return 1
	grep -q "^session  *$(cat /proc/self/agent_session) (the initial session)\$" "$T/st.txt" ||
		fail "session" || return 1
	grep -q '^abi  *counters v1 (72 bytes), budget v1 (80 bytes)$' "$T/st.txt" || fail "abi" || return 1
	tr -d ' \n' <"$T/st.json" | grep -q '"supported":true,"enabled":true' || fail "json" || return 1
	# The budget probe sets nothing: in a session, the budget stays what run set.
	"$A" run --max-execs 50 --on-exceed term -- sh -c "$A status >/dev/null && $A show --json" \
		>"$T/st.show" || fail "status in a session" || return 1
	jobj budget "$T/st.show" >"$T/st.budget"
	cat "$T/st.budget"
	echo
	grep -q '"action":"term"' "$T/st.budget" && [ "$(jnum exec "$T/st.budget")" = 50 ] &&
		[ "$(jnum syscalls "$T/st.budget")" = 0 ] || fail "the probe changed the budget" || return 1
	# Disabled: exit status 1, and why.
	en=/proc/sys/kernel/agent_ns/enabled
	echo 0 >$en
	"$A" status >"$T/st.off"
	c=$?
	echo 1 >$en
	cat "$T/st.off"
	[ $c = 1 ] && grep -q '^enabled  *no: kernel.agent_ns.enabled=0' "$T/st.off" && [ "$(cat $en)" = 1 ]
}
check "status: present, enabled, sysctls, reaper, listns, tracepoints, session, abi (0; 1 disabled)" t_status

# --- show ----------------------------------------------------------------------
t_show_self() {
	"$A" run --intent cli-show -- sh -c "$A show --json >$T/show.json; cat /proc/self/agent_session" \
		>"$T/show.id" || return 1
	cat "$T/show.json"
	[ "$(jstr id "$T/show.json")" = "$(cat "$T/show.id")" ] || fail "id" || return 1
	[ "$(jstr intent "$T/show.json")" = cli-show ] || fail "intent" || return 1
	[ "$(jstr parent_id "$T/show.json")" = "$(cat /proc/self/agent_session)" ] || fail "parent" || return 1
	# NS_GET_PARENT hands out nothing above the caller's own session; the depth comes from
	# AGENT_NS_GET_INFO
	tr -d ' \n' <"$T/show.json" | grep -q '"parents":\[\],"parents_hidden":true,"depth":1,' ||
		fail "parents not hidden" || return 1
	tr -d ' \n' <"$T/show.json" | grep -q '"budget":{"action":"log","syscalls":0' || fail budget || return 1
	[ "$(jnum syscalls "$T/show.json")" -gt 0 ]
}
check "show: the own session (id, parent, hidden parents, intent, counters, budget)" t_show_self

# A background session to look at: sleep in a session with an intent.
"$A" run --intent cli-bg -- sleep 60 &
BG=$!
i=0
while [ "$(cat /proc/$BG/agent_intent 2>/dev/null)" != cli-bg ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done

t_show_pid() {
	"$A" show $BG --json >"$T/showpid.json" || return 1
	"$A" show $BG >"$T/showpid.txt" || return 1
	cat "$T/showpid.json" "$T/showpid.txt"
	[ "$(jstr id "$T/showpid.json")" = "$(cat /proc/$BG/agent_session)" ] || fail "id" || return 1
	[ "$(jstr intent "$T/showpid.json")" = cli-bg ] || fail "intent" || return 1
	[ "$(jnum pid "$T/showpid.json")" = $BG ] || fail "pid" || return 1
	[ "$(jnum depth "$T/showpid.json")" = 1 ] || fail "depth" || return 1
	[ "$(jnum exec "$T/showpid.json")" -ge 1 ] || fail "exec counter" || return 1
	grep -q '^intent       "cli-bg"$' "$T/showpid.txt"
}
check "show PID: another process's session" t_show_pid

t_inside() {
	# From inside a session: a child session below it and BG, a session outside it.
	cat >"$T/inside.sh" <<-'EOF'
		"$A" run --intent inside-child -- sleep 30 &
		c=$!
		i=0
		while [ "$(cat /proc/$c/agent_intent 2>/dev/null)" != inside-child ] && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		cat /proc/self/agent_session >"$T/in.id"
		cat /proc/$c/agent_session >"$T/in.child"
		"$A" ls --full-id -o SESSION,INTENT >"$T/in.ls"
		a=$?
		"$A" show $c --json >"$T/in.child.json"
		b=$?
		"$A" show $BG >"$T/in.bg.txt"
		d=$?
		kill $c
		exit $((a + b + d))
	EOF
	A="$A" T="$T" BG=$BG "$A" run --intent inside -- sh "$T/inside.sh" || return 1
	cat "$T/in.ls" "$T/in.child.json" "$T/in.bg.txt"
	me=$(cat "$T/in.id")
	child=$(cat "$T/in.child")
	ascii_tree "$T/in.ls" >"$T/in.ascii"
	# ls: the caller's session is a root with its child below it; BG is a root too
	awk -v m="$me (parent not visible)" -v c="\`- $child" '
		index($0, m) { ml = NR; mc = index($0, m); mi = $0 ~ /"inside"$/ }
		index($0, c) { cl = NR; cc = index($0, c); ci = $0 ~ /"inside-child"$/ }
		END { exit !(ml && cl == ml + 1 && cc == mc && mi && ci) }' "$T/in.ascii" || fail "own session not a root over its child" || return 1
	grep -q "^$(cat /proc/$BG/agent_session) (parent not visible)  *\"cli-bg\"$" "$T/in.ls" ||
		fail "BG not a root" || return 1
	# show of the child: the chain stops at the caller's session
	tr -d ' \n' <"$T/in.child.json" |
		grep -q '"parents":\[{"id":"'"$me"'","inode":[0-9]*,"ns_id":[0-9]*}\],"parents_hidden":true,"depth":2,' ||
		fail "child's parents" || return 1
	# show of BG: nothing above it is visible but its parent's id and its depth
	grep -q "^parent       $ZERO (id only: not visible from the caller's session)$" "$T/in.bg.txt" &&
		grep -q '^depth        1$' "$T/in.bg.txt" && grep -q '^intent       "cli-bg"$' "$T/in.bg.txt"
}
check "ls and show inside a session: nothing above the caller's session is visible" t_inside

t_exec_session() {
	"$A" exec --session $BG -- cat /proc/self/agent_session /proc/self/agent_intent >"$T/exec.out" || return 1
	cat "$T/exec.out"
	[ "$(sed -n 1p "$T/exec.out")" = "$(cat /proc/$BG/agent_session)" ] &&
		[ "$(sed -n 2p "$T/exec.out")" = cli-bg ]
}
check "exec --session PID: the command runs in PID's session" t_exec_session

t_exec_missing() {
	"$A" exec --session 999999 -- true 2>"$T/em.err"
	a=$?
	cat "$T/em.err"
	[ $a = 125 ] && grep -qi 'no such process' "$T/em.err"
}
check "exec --session of a missing pid fails with a reason (125)" t_exec_missing

# --- unprivileged ----------------------------------------------------------------------
# As nobody (an /etc/passwd entry is added to the throwaway guest if there is none).
grep -q '^nobody:' /etc/passwd 2>/dev/null ||
	{ mkdir -p /etc && echo 'nobody:x:65534:65534:nobody:/:/bin/sh' >>/etc/passwd; }
asnobody() { su -s /bin/sh nobody -c "$*"; }
if [ "$(asnobody 'id -u' 2>/dev/null)" = 65534 ]; then
	t_unpriv_run() {
		asnobody "$A run -- true" 2>"$T/up.err"
		a=$?
		cat "$T/up.err"
		out=$(asnobody "$A run --no-new-privs --intent unpriv -- cat /proc/self/agent_intent")
		b=$?
		say "without --no-new-privs: $a; with: $b, intent $out"
		[ $a = 125 ] && grep -q 'EPERM.*CAP_SYS_ADMIN.*no_new_privs' "$T/up.err" &&
			[ $b = 0 ] && [ "$out" = unpriv ]
	}
	check "run as nobody: EPERM with a reason, --no-new-privs works" t_unpriv_run

	t_unpriv_exec() {
		# root's process: its namespace file needs ptrace access
		asnobody "$A exec --session $BG -- true" 2>"$T/ue.err"
		a=$?
		# nobody's own session: open works, entering needs CAP_SYS_ADMIN over its owner
		asnobody "$A run --no-new-privs --intent nb -- sleep 30 & p=\$!; sleep 1; $A exec --session \$p -- true; rc=\$?; kill \$p; exit \$rc" 2>"$T/ue2.err"
		b=$?
		cat "$T/ue.err" "$T/ue2.err"
		say "root's session: $a, nobody's session: $b"
		[ $a = 125 ] && grep -q "on /proc/$BG/ns/agent failed.*EACCES.*ptrace access" "$T/ue.err" &&
			[ $b = 125 ] && grep -q 'setns(AGENT_NS_TYPE) on /proc/[0-9]*/ns/agent failed.*EPERM.*CAP_SYS_ADMIN' "$T/ue2.err"
	}
	check "exec --session as nobody: EACCES/EPERM with reasons" t_unpriv_exec

	t_unpriv_ls() {
		asnobody "$A ls" >"$T/ul.txt" || return 1
		asnobody "$A ls --raw --full-id -o SESSION,PARENT,SYSCALLS,INTENT" >"$T/ul.raw" || return 1
		cat "$T/ul.txt" "$T/ul.raw"
		# root's agent_intent, like its agent_counters, needs ptrace access: no tag, no counters
		grep -q "^$(cat /proc/$BG/agent_session | cut -c1-12) (parent not visible) .* -$" "$T/ul.txt" &&
			grep -qx "$(cat /proc/$BG/agent_session) - - -" "$T/ul.raw"
	}
	check "ls as nobody: root's session found by its world-readable id, intent unknown" t_unpriv_ls
else
	n=$((n + 1))
	echo "ok $n run as nobody # SKIP su to nobody does not work here"
	n=$((n + 1))
	echo "ok $n exec as nobody # SKIP su to nobody does not work here"
	n=$((n + 1))
	echo "ok $n ls as nobody # SKIP su to nobody does not work here"
fi

# --- ls: a parent session with two child sessions --------------------------------
"$A" run --intent tree-parent -- sh -c \
	"$A run --intent tree-a -- sleep 60 & $A run --intent tree-b -- sleep 60 & wait" &
TREE=$!
i=0
while [ $i -lt 100 ]; do
	na=$(grep -l '^tree-[ab]$' /proc/[0-9]*/agent_intent 2>/dev/null | wc -l)
	[ "$na" -ge 2 ] && break
	sleep 0.1
	i=$((i + 1))
done

t_ls_tree() {
	"$A" ls --full-id -o SESSION,INTENT >"$T/ls.txt" || return 1
	cat "$T/ls.txt"
	pid_a=$(grep -l '^tree-a$' /proc/[0-9]*/agent_intent | head -n1 | cut -d/ -f3)
	pid_b=$(grep -l '^tree-b$' /proc/[0-9]*/agent_intent | head -n1 | cut -d/ -f3)
	id_a=$(cat /proc/$pid_a/agent_session)
	id_b=$(cat /proc/$pid_b/agent_session)
	id_p=$(cat /proc/$TREE/agent_session)
	ascii_tree "$T/ls.txt" >"$T/ls.ascii"
	# The parent's line, then its two children (in either order) one level deeper.
	awk -v p="$id_p" -v a="$id_a" -v b="$id_b" '
		index($0, p) && /"tree-parent"$/ { pl = NR; pc = index($0, p) }
		index($0, a) && /"tree-a"$/ { al = NR; ac = index($0, a); at = substr($0, ac - 3, 3) }
		index($0, b) && /"tree-b"$/ { bl = NR; bc = index($0, b); bt = substr($0, bc - 3, 3) }
		END {
			first = al < bl ? at : bt
			last = al < bl ? bt : at
			ok = pl && al + bl == 2 * pl + 3 && (al == pl + 1 || bl == pl + 1) &&
				ac == pc + 3 && bc == pc + 3 && first == "|- " && last == "`- "
			if (!ok) {
				print "parent line " pl " col " pc "; a line " al " col " ac " \"" at "\"; b line " bl " col " bc " \"" bt "\""
				exit 1
			}
		}' "$T/ls.ascii"
}
check "ls: a parent with two child sessions appears as a tree" t_ls_tree

t_ls_json() {
	"$A" ls --json >"$T/ls.json" || return 1
	# nesting: tree-a and tree-b are inside tree-parent's children array
	tr -d '\n' <"$T/ls.json" | sed 's/  */ /g' >"$T/ls.flat"
	grep -q '"listns": true' "$T/ls.flat" || fail "listns not used" || return 1
	grep -o '"intent": "tree-parent".*' "$T/ls.flat" >"$T/ls.sub"
	grep -q '^"intent": "tree-parent", "pids": \[[^]]*\], "counters": {[^}]*}, "children": \[ {' "$T/ls.sub" &&
		grep -q '"intent": "tree-a"' "$T/ls.sub" && grep -q '"intent": "tree-b"' "$T/ls.sub" ||
		fail "not nested" || return 1
	[ "$(grep -c '"processes"\|"pids"' "$T/ls.json")" -ge 3 ]
}
check "ls --json: the same tree, found with listns(2)" t_ls_json

t_ls_columns() {
	pid_a=$(grep -l '^tree-a$' /proc/[0-9]*/agent_intent | head -n1 | cut -d/ -f3)
	id_a=$(cat /proc/$pid_a/agent_session)
	id_p=$(cat /proc/$TREE/agent_session)
	short=$(echo "$id_a" | cut -c1-12)
	# uid 0's name, as ls looks it up (the guest's /etc/passwd may not have one)
	ru=$(awk -F: '$3 == 0 { print $1; exit }' /etc/passwd 2>/dev/null)
	[ -n "$ru" ] || ru=0
	# -o (any case), -r, -n, --full-id
	"$A" ls -r -n --full-id -o session,PARENT,Depth,NPROCS,PID,USER,COMMAND,INTENT >"$T/lsr.txt" ||
		return 1
	cat "$T/lsr.txt"
	grep -qx "$id_a $id_p 2 1 $pid_a $ru sleep tree-a" "$T/lsr.txt" || fail "raw row of tree-a" ||
		return 1
	# every counter, AGE, INODE and NSID: numbers in raw output
	"$A" ls -r -n -o SESSION,SYSCALLS,OPENS,WBYTES,RBYTES,CONNECTS,UNLINKS,FORKS,EXECS,AGE,INODE,NSID \
		>"$T/lsn.txt" || return 1
	cat "$T/lsn.txt"
	ino=$(stat -L -c %i /proc/$pid_a/ns/agent)
	awk -v s="$short" -v i="$ino" '
		$1 == s {
			found = 1
			for (f = 2; f <= NF; f++) if ($f !~ /^[0-9]+$/) bad = 1
			if (NF != 12 || $11 != i) bad = 1
		}
		END { exit !(found && !bad) }' "$T/lsn.txt" || fail "counter columns" || return 1
	# the default: short ids, owner, command and age columns, a header
	"$A" ls >"$T/lsd.txt" || return 1
	cat "$T/lsd.txt"
	[ "$(head -n1 "$T/lsd.txt" | tr -s ' ')" = \
		"SESSION NPROCS PID USER COMMAND AGE SYSCALLS OPENS WBYTES RBYTES FORKS EXECS INTENT" ] ||
		fail "header" || return 1
	grep -q "$short .* $ru  *sleep .*\"tree-a\"$" "$T/lsd.txt" && ! grep -q "$id_a" "$T/lsd.txt" ||
		fail "short id, user, command" || return 1
	"$A" ls -n | head -n1 | grep -q SESSION && { fail "-n printed a header"; return 1; }
	# the tree: ASCII unless the locale is UTF-8 (LC_ALL, then LC_CTYPE, then LANG)
	LC_ALL=C LANG=en_US.UTF-8 "$A" ls -o SESSION >"$T/ls.c" || return 1
	LC_ALL= LC_CTYPE= LANG=C.UTF-8 "$A" ls -o SESSION >"$T/ls.u" || return 1
	cat "$T/ls.c" "$T/ls.u"
	# tree-a is a child of tree-parent, a child of the initial session
	grep -q '^[ |]  [|`]- '"$short"'$' "$T/ls.c" && ! grep -q '─' "$T/ls.c" || fail "ASCII tree" || return 1
	grep -qE '^(   |│  )(├|└)─ '"$short"'$' "$T/ls.u" || fail "UTF-8 tree" || return 1
	"$A" ls -o SESSION,BOGUS 2>"$T/lsb.err"
	rc=$?
	cat "$T/lsb.err"
	[ $rc = 125 ] && grep -q 'unknown column' "$T/lsb.err"
}
check "ls -o/-r/-n/--full-id, default columns, ASCII and UTF-8 trees" t_ls_columns

t_ls_no_process() {
	# a session whose only process moved into a child session ...
	"$A" run --intent hollow -- "$A" run --intent inner -- sleep 60 &
	hp=$!
	# ... and one held only by an open namespace file
	"$A" run --intent held -- sleep 60 &
	fp=$!
	i=0
	while { [ "$(cat /proc/$hp/agent_intent 2>/dev/null)" != inner ] ||
		[ "$(cat /proc/$fp/agent_intent 2>/dev/null)" != held ]; } && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	exec 7</proc/$fp/ns/agent
	held=$(cat /proc/$fp/agent_session)
	kill $fp
	wait $fp
	"$A" ls --full-id -o SESSION >"$T/ls2.txt"
	rc=$?
	"$A" show $hp --json >"$T/inner.json"
	exec 7<&-
	kill $hp
	wait $hp
	cat "$T/ls2.txt"
	[ $rc = 0 ] || return 1
	# their ids are read through their namespace files (AGENT_NS_GET_INFO)
	hollow=$(jstr parent_id "$T/inner.json")
	inner=$(jstr id "$T/inner.json")
	say "held $held, hollow $hollow"
	ascii_tree "$T/ls2.txt" >"$T/ls2.ascii"
	grep -q "[-] $held (no process)$" "$T/ls2.ascii" || fail "held session not listed" || return 1
	tr -d ' \n' <"$T/inner.json" | grep -q '"parents":\[{"id":"'"$hollow"'",' ||
		fail "hollow id not in show's chain" || return 1
	awk -v h="$hollow (no process)" -v c="$inner" '
		index($0, h) { hl = NR; hc = index($0, h) }
		index($0, c) { cl = NR; cc = index($0, c) }
		END { exit !(hl && cl == hl + 1 && cc == hc + 3) }' "$T/ls2.ascii" || fail "hollow session not above inner" || return 1
}
check "ls: sessions without a process (a parent, one held by a file) are listed" t_ls_no_process

t_top() {
	"$A" top --interval 200ms --iterations 2 >"$T/top.txt" || return 1
	cat "$T/top.txt"
	[ "$(grep -c '^agentns top:' "$T/top.txt")" = 2 ] && grep -q 'cli-bg$' "$T/top.txt" &&
		grep -q 'tree-a$' "$T/top.txt"
}
check "top --iterations 2: two frames with the sessions" t_top

t_top_json() {
	"$A" top --json --interval 100ms --iterations 2 >"$T/top.json" || return 1
	[ "$(wc -l <"$T/top.json")" = 2 ] && grep -q '"syscall_rate":' "$T/top.json"
}
check "top --json: one object per frame" t_top_json

t_top_options() {
	pid_a=$(grep -l '^tree-a$' /proc/[0-9]*/agent_intent | head -n1 | cut -d/ -f3)
	short=$(cut -c1-12 /proc/$pid_a/agent_session)
	COLUMNS=60 "$A" top -n 1 --intent 'tree-*' --sort intent >"$T/topo.txt" || return 1
	cat "$T/topo.txt"
	awk 'length($0) > 60 { exit 1 }' "$T/topo.txt" || fail "wider than COLUMNS=60" || return 1
	# the rows (from line 4), by intent
	[ "$(sed -n '4,$p' "$T/topo.txt" | awk '{ print $NF }' | tr '\n' ' ')" = "tree-a tree-b tree-parent " ] ||
		fail "--intent or --sort" || return 1
	COLUMNS=200 "$A" top -n 1 --filter "$short" --sort FORKS >"$T/topf.txt" || return 1
	cat "$T/topf.txt"
	[ "$(sed -n '4,$p' "$T/topf.txt" | wc -l)" = 1 ] && grep -q " $short .*tree-a$" "$T/topf.txt"
}
check "top --intent, --filter, --sort, COLUMNS" t_top_options

# --- budgets -------------------------------------------------------------------------
t_budget_kill() {
	"$A" run --on-exceed kill --max-syscalls 200 -- sh -c 'while :; do cat /proc/self/agent_session >/dev/null; done'
	a=$?
	say "exit status $a"
	[ $a = 137 ]
}
check "run --on-exceed kill --max-syscalls: the command dies with SIGKILL (137)" t_budget_kill

t_budget_kill_report() {
	"$A" run --report --json --on-exceed kill --max-syscalls 200 -- \
		sh -c 'while :; do cat /proc/self/agent_session >/dev/null; done' 2>"$T/bk.json"
	a=$?
	cat "$T/bk.json"
	sed -n 's/.*"counters":{\([^}]*\)}.*/\1/p' "$T/bk.json" >"$T/bk.counters"
	sys=$(jnum syscalls "$T/bk.counters")
	# the reporter survives, the command does not; the totals passed the limit
	[ $a = 137 ] && [ "$(jnum signal "$T/bk.json")" = 9 ] && [ "$sys" -gt 200 ] &&
		[ "$(jstr ended_by "$T/bk.json")" = budget ] &&
		tr -d ' \n' <"$T/bk.json" | grep -q '"fired":\["syscalls"\]'
}
check "run --report with a kill budget: the command dies, the report shows why" t_budget_kill_report

t_report_output_file() {
	# -o: the report goes to the file, the command's stderr stays its own
	"$A" run --report -o "$T/out.rep" -- sh -c 'echo to-stderr >&2; exit 4' 2>"$T/out.err"
	a=$?
	cat "$T/out.err" "$T/out.rep"
	[ $a = 4 ] && [ "$(cat "$T/out.err")" = to-stderr ] &&
		grep -q 'exit status 4' "$T/out.rep" && ! grep -q agentns "$T/out.err"
}
check "run --report -o FILE: the report in the file, stderr untouched" t_report_output_file

t_report_forwards_sigterm() {
	# SIGTERM to agentns reaches the command (which exits 7 on it) and the report says so
	"$A" run --report --json -o "$T/fw.json" -- \
		sh -c 'trap "exit 7" TERM; echo up >'"$T/fw.up"'; while :; do sleep 0.05; done' &
	pid=$!
	i=0
	while [ ! -s "$T/fw.up" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	kill -TERM $pid
	wait $pid
	a=$?
	cat "$T/fw.json"
	[ $a = 7 ] && tr -d ' \n' <"$T/fw.json" | grep -q '"forwarded":\[15\]' &&
		[ "$(jstr ended_by "$T/fw.json")" = exit ]
}
check "run --report: SIGTERM to agentns is passed on to the command" t_report_forwards_sigterm

t_report_reaped() {
	# the reaper ends the command; agentns, outside its session, survives and says why
	ol=$(cat /proc/sys/kernel/agent_ns/max_lifetime)
	oi=$(cat /proc/sys/kernel/agent_ns/reap_interval)
	echo 1 >/proc/sys/kernel/agent_ns/reap_interval
	echo 1 >/proc/sys/kernel/agent_ns/max_lifetime
	"$A" run --report --json -o "$T/rp.json" -- sleep 30
	a=$?
	echo "$ol" >/proc/sys/kernel/agent_ns/max_lifetime
	echo "$oi" >/proc/sys/kernel/agent_ns/reap_interval
	cat "$T/rp.json"
	[ $a = 137 ] && [ "$(jstr ended_by "$T/rp.json")" = reaped ]
}
check "run --report: a kill by the lifetime reaper is reported as reaped" t_report_reaped

t_show_state() {
	# a log budget that fired shows in show's state, read through the namespace file
	"$A" run --max-syscalls 5 -- sh -c \
		'for i in 1 2 3 4 5 6 7 8 9 10; do cat /proc/self/agent_session >/dev/null; done
		"$1" show --json >"$2"; "$1" show >"$3"' sh "$A" "$T/st.json" "$T/st.txt"
	cat "$T/st.json" "$T/st.txt"
	tr -d ' \n' <"$T/st.json" | grep -q '"fired":\["syscalls"\]' &&
		tr -d ' \n' <"$T/st.json" | grep -q '"budget_acted":false' &&
		grep -q '^reached      syscalls$' "$T/st.txt" &&
		grep -q '^budget       action=log syscalls=5$' "$T/st.txt"
}
check "show: the limits that fired, from AGENT_NS_GET_INFO" t_show_state

t_provenance() {
	# a file made in a session names the session and its intent, after the session ended
	rm -f "$T/prov.x"
	"$A" run --report --json -o "$T/prov.json" --intent build -- touch "$T/prov.x" || return 1
	id=$(jstr session "$T/prov.json")
	"$A" provenance --json --full-id "$T/prov.x" >"$T/prov.out" || return 1
	"$A" provenance --full-id "$T/prov.x" >"$T/prov.txt" || return 1
	cat "$T/prov.out" "$T/prov.txt"
	touch "$T/prov.init"
	"$A" provenance "$T/prov.init" >"$T/prov.init.txt" || return 1
	[ ${#id} = 32 ] && [ "$(jstr session "$T/prov.out")" = "$id" ] &&
		[ "$(jstr intent "$T/prov.out")" = build ] &&
		tr -d ' \n' <"$T/prov.out" | grep -q '"live":false' &&
		[ "$(cat "$T/prov.txt")" = "$T/prov.x	$id \"build\" (ended)" ] &&
		[ "$(cat "$T/prov.init.txt")" = "$T/prov.init	-" ] || return 1
	# the host's getfattr, through /host (the guest's /tmp is bound there), reads the same
	if [ -x /host/usr/bin/getfattr ]; then
		chroot /host getfattr --absolute-names -e hex -n security.agent_session "$T/prov.x" \
			>"$T/prov.gf" || return 1
		cat "$T/prov.gf"
		grep -qx "security.agent_session=0x$id" "$T/prov.gf"
	fi
}
check "provenance: run --intent build -- touch x names its session and intent" t_provenance

t_ls_files() {
	# ls --files: the files of a directory grouped by creating session, unlabelled last
	d="$T/lsf"
	rm -rf "$d"
	mkdir "$d" && touch "$d/plain" || return 1
	"$A" run --report --json -o "$T/lsf.json" --intent one -- sh -c "touch $d/a $d/b" || return 1
	id=$(jstr session "$T/lsf.json")
	"$A" ls --files "$d" --full-id >"$T/lsf.txt" || return 1
	cat "$T/lsf.txt"
	printf '%s "one" (ended): 2 files\n  %s\n  %s\nnot created in a session: 2 files\n  %s\n  %s\n' \
		"$id" "$d/a" "$d/b" "$d" "$d/plain" >"$T/lsf.want"
	cmp "$T/lsf.txt" "$T/lsf.want"
}
check "ls --files DIR: files grouped by the session that created them" t_ls_files

t_budget_term() {
	"$A" run --on-exceed term --max-execs 3 -- sh -c 'while :; do /bin/true; done'
	a=$?
	say "exit status $a"
	[ $a = 143 ]
}
check "run --on-exceed term --max-execs: SIGTERM (143)" t_budget_term

t_budget_write() {
	"$A" run --on-exceed kill --max-write-bytes 4k -- sh -c 'while :; do echo 0123456789abcdef; done >/dev/null'
	a=$?
	say "exit status $a"
	[ $a = 137 ]
}
check "run --max-write-bytes 4k: killed past 4 KiB written" t_budget_write

t_budget_elapsed() {
	s=$(cut -d' ' -f1 /proc/uptime)
	"$A" run --on-exceed kill --max-elapsed 500ms -- sleep 10
	a=$?
	e=$(cut -d' ' -f1 /proc/uptime)
	say "exit status $a after $s -> $e"
	[ $a = 137 ] && awk -v s="$s" -v e="$e" 'BEGIN { exit !(e - s < 5) }'
}
check "run --max-elapsed 500ms: killed after half a second" t_budget_elapsed

t_budget_deny() {
	# deny: no signal; the 16-byte write is cut to the 10 bytes left, the rest fails (EDQUOT)
	"$A" run --on-exceed deny --max-write-bytes 10 -- sh -c "printf 0123456789abcdef >$T/deny.out"
	a=$?
	say "exit status $a, wrote $(wc -c <"$T/deny.out") bytes: $(cat "$T/deny.out")"
	[ $a -lt 128 ] && [ "$(cat "$T/deny.out")" = 0123456789 ]
}
check "run --on-exceed deny --max-write-bytes 10: cut at 10 bytes, not killed" t_budget_deny

# --- trace -------------------------------------------------------------------------
# agentns trace reads a private tracefs instance, instances/agentns-PID: the global
# instance's switches and options are never touched.
TR=/sys/kernel/tracing
EV=$TR/events/agent_ns/agent_budget_exceeded/enable
# wait_trace PID EVENT: until agentns trace PID has EVENT enabled in its instance (its
# filters are written by then, and events are recorded from then on).
wait_trace() {
	i=0
	while [ "$(cat "$TR/instances/agentns-$1/events/agent_ns/$2/enable" 2>/dev/null)" != 1 ]; do
		[ $i -lt 100 ] || { say "agentns trace $1 did not enable $2 in its instance"; return 1; }
		sleep 0.1
		i=$((i + 1))
	done
}
# The global instance's agent_ns enable switches, in one word.
global_enable() { cat $TR/events/agent_ns/*/enable | tr -d '\n'; }

t_trace() {
	[ -e $EV ] || { say "no $EV"; return 1; }
	before=$(global_enable)
	"$A" trace --json --event budget_exceeded --count 1 --timeout 30s >"$T/trace.json" 2>"$T/trace.err" &
	tp=$!
	wait_trace $tp agent_budget_exceeded || { kill $tp; wait $tp; return 1; }
	"$A" run --max-syscalls 100 --on-exceed log -- \
		sh -c "cat /proc/self/agent_session >$T/trace.id; i=0; while [ \$i -lt 20 ]; do cat /dev/null; i=\$((i+1)); done"
	rc=$?
	wait $tp
	trc=$?
	cat "$T/trace.json" "$T/trace.err"
	say "run: $rc, trace: $trc, global enable switches: $before before, $(global_enable) after"
	[ $rc = 0 ] && [ $trc = 0 ] || return 1
	grep -q '"event":"agent_budget_exceeded"' "$T/trace.json" || fail "no event" || return 1
	[ "$(jstr id "$T/trace.json")" = "$(cat "$T/trace.id")" ] || fail "session id" || return 1
	[ "$(jstr counter "$T/trace.json")" = syscalls ] || fail "counter" || return 1
	[ "$(jnum limit "$T/trace.json")" = 100 ] || fail "limit" || return 1
	[ "$(jnum value "$T/trace.json")" = 101 ] || fail "value" || return 1
	[ "$(jstr action_name "$T/trace.json")" = log ] || fail "action" || return 1
	# the global instance untouched, the private one gone
	[ "$(global_enable)" = "$before" ] || fail "global enable switches changed" || return 1
	[ ! -d $TR/instances/agentns-$tp ] || fail "instance agentns-$tp left behind"
}
check "trace --json: a budget event shows up with its session and fields" t_trace

t_trace_human() {
	"$A" trace --event intent_set --count 1 --timeout 30s >"$T/trace.txt" &
	tp=$!
	wait_trace $tp agent_intent_set || { kill $tp; wait $tp; return 1; }
	"$A" run --intent 'say "hi" there' -- true
	wait $tp
	cat "$T/trace.txt"
	grep -q '^[0-9.]* intent_set id=[0-9a-f]\{32\} old="" new="say \\"hi\\" there" \[.* [0-9]*\]$' "$T/trace.txt"
}
check "trace: human lines (intent change with quotes)" t_trace_human

t_trace_tgid() {
	# trace-cmd and perfetto turn record-tgid on; an instance starts with the global options,
	# so the lines come with a "(TGID)" column.
	tg=$(cat $TR/options/record-tgid) || return 1
	echo 1 >$TR/options/record-tgid
	"$A" trace --json -e intent_set --intent trace-tgid --count 1 --timeout 30s \
		>"$T/tgid.json" 2>"$T/tgid.err" &
	tp=$!
	wait_trace $tp agent_intent_set
	w=$?
	itg=$(cat $TR/instances/agentns-$tp/options/record-tgid 2>/dev/null)
	if [ $w = 0 ]; then
		"$A" run --intent trace-tgid -- sh -c "cat /proc/self/agent_session >$T/tgid.id"
	else
		kill $tp
	fi
	wait $tp
	trc=$?
	echo "$tg" >$TR/options/record-tgid
	cat "$T/tgid.json" "$T/tgid.err"
	say "global record-tgid: $tg (1 during the test), the instance's: $itg; trace: $trc"
	[ $w = 0 ] && [ $trc = 0 ] && [ "$itg" = 1 ] || return 1
	[ "$(jstr new "$T/tgid.json")" = trace-tgid ] || fail "no event" || return 1
	[ "$(jstr id "$T/tgid.json")" = "$(cat "$T/tgid.id")" ] || fail "session id" || return 1
	[ "$(cat $TR/options/record-tgid)" = "$tg" ]
}
check "trace: events are read with record-tgid on globally (and it is put back)" t_trace_tgid

t_trace_two() {
	# Each reads its own instance: both see the event (one global trace_pipe would give it
	# to one of them). The intent filters are written to the kernel's filter files.
	"$A" trace --json -e intent_set --intent 'trace-two*' --count 1 --timeout 30s \
		>"$T/two1.json" 2>"$T/two1.err" &
	t1=$!
	"$A" trace --json -e intent_set --intent trace-two-x --count 1 --timeout 30s \
		>"$T/two2.json" 2>"$T/two2.err" &
	t2=$!
	wait_trace $t1 agent_intent_set && wait_trace $t2 agent_intent_set
	w=$?
	f1=$(cat $TR/instances/agentns-$t1/events/agent_ns/agent_intent_set/filter 2>/dev/null)
	f2=$(cat $TR/instances/agentns-$t2/events/agent_ns/agent_intent_set/filter 2>/dev/null)
	if [ $w = 0 ]; then
		"$A" run --intent trace-two-x -- sh -c "cat /proc/self/agent_session >$T/two.id"
	else
		kill $t1 $t2
	fi
	wait $t1
	r1=$?
	wait $t2
	r2=$?
	cat "$T/two1.json" "$T/two1.err" "$T/two2.json" "$T/two2.err"
	say "filters: [$f1] [$f2]; traces: $r1 $r2"
	[ $w = 0 ] && [ $r1 = 0 ] && [ $r2 = 0 ] || return 1
	id=$(cat "$T/two.id")
	[ "$(jstr id "$T/two1.json")" = "$id" ] && [ "$(jstr id "$T/two2.json")" = "$id" ] ||
		fail "not seen by both" || return 1
	echo "$f1" | grep -q 'new ~ "trace-two\*"' && echo "$f2" | grep -q 'new == "trace-two-x"'
}
check "trace: two at once both see the same event; --intent filters in the kernel" t_trace_two

t_trace_killed() {
	before=$(global_enable)
	"$A" trace --timeout 60s >/dev/null 2>&1 &
	tp=$!
	wait_trace $tp agent_session_end || { kill $tp; wait $tp; return 1; }
	kill -KILL $tp
	wait $tp
	after=$(global_enable)
	left=no
	[ -d $TR/instances/agentns-$tp ] && left=yes
	# the next one removes the instance of the dead one
	"$A" trace --timeout 1s >/dev/null 2>"$T/tk.err"
	rc=$?
	cat "$T/tk.err"
	say "global enable switches: $before before, $after after SIGKILL; agentns-$tp left: $left;"
	say "next trace: $rc; instances now: $(ls $TR/instances | tr '\n' ' ')"
	[ "$after" = "$before" ] && [ $left = yes ] && [ $rc = 0 ] && [ ! -d $TR/instances/agentns-$tp ]
}
check "trace: SIGKILL leaves the global events alone; the next trace removes its instance" t_trace_killed

t_trace_session() {
	"$A" run --intent trace-s1 -- sleep 60 &
	s1=$!
	"$A" run --intent trace-s2 -- sleep 60 &
	s2=$!
	i=0
	while [ "$(cat /proc/$s1/agent_intent /proc/$s2/agent_intent 2>/dev/null | tr '\n' ' ')" != \
		"trace-s1 trace-s2 " ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	id1=$(cat /proc/$s1/agent_session)
	id2=$(cat /proc/$s2/agent_session)
	# a prefix of the id, resolved against the live sessions
	"$A" trace --json --session "$(echo "$id1" | cut -c1-12)" -e session_end --count 1 \
		--timeout 30s >"$T/ts.json" 2>"$T/ts.err" &
	tp=$!
	wait_trace $tp agent_session_end
	w=$?
	# the other session ends first: its event is not shown
	kill $s2
	wait $s2
	sleep 0.5
	kill $s1
	wait $s1
	[ $w = 0 ] || kill $tp
	wait $tp
	trc=$?
	cat "$T/ts.json" "$T/ts.err"
	say "session 1: $id1, session 2: $id2; trace: $trc"
	[ $w = 0 ] && [ $trc = 0 ] && [ -n "$id1" ] && [ -n "$id2" ] || return 1
	[ "$(jstr id "$T/ts.json")" = "$id1" ] && ! grep -q "$id2" "$T/ts.json" &&
		[ "$(wc -l <"$T/ts.json")" = 1 ]
}
check "trace --session PREFIX: only that session's events" t_trace_session

t_trace_lost() {
	# A stopped reader, the smallest buffer, and a burst of events: an overrun, reported.
	"$A" trace --json --buffer-size 4 --timeout 120s >"$T/tl.json" 2>"$T/tl.err" &
	tp=$!
	wait_trace $tp agent_intent_set || { kill $tp; wait $tp; return 1; }
	bs=$(cat $TR/instances/agentns-$tp/buffer_size_kb)
	kill -STOP $tp
	# 63 characters, the longest intent: big events
	long=lost-0123456789012345678901234567890123456789012345678901234567
	i=0
	while [ $i -lt 150 ]; do
		"$A" run --intent $long -- true
		i=$((i + 1))
	done
	kill -CONT $tp
	sleep 2
	kill -TERM $tp
	wait $tp
	trc=$?
	tail -n 2 "$T/tl.json"
	cat "$T/tl.err"
	say "buffer_size_kb: $bs; trace: $trc; $(wc -l <"$T/tl.json") lines out"
	[ $trc = 0 ] && [ "$bs" -lt 100 ] || return 1
	grep -q '^agentns: lost [1-9][0-9]* events (buffer overrun)$' "$T/tl.err" ||
		fail "no loss on stderr" || return 1
	grep -q '^{"lost":[1-9][0-9]*}$' "$T/tl.json" || fail "no {\"lost\":N} in the output" || return 1
	grep -q '^agentns: lost [1-9][0-9]* events in all' "$T/tl.err" || fail "no summary" || return 1
	# SIGTERM: the instance is removed
	[ ! -d $TR/instances/agentns-$tp ]
}
check "trace --buffer-size: an overrun is reported (stderr, {\"lost\":N}, summary)" t_trace_lost

# --- completions, man, help ------------------------------------------------------------
t_completions() {
	"$A" completions bash >"$T/c.bash" && "$A" completions zsh >"$T/c.zsh" &&
		"$A" completions fish >"$T/c.fish" || return 1
	grep -q '_agentns' "$T/c.bash" && grep -q '#compdef agentns' "$T/c.zsh" &&
		grep -q 'complete -c agentns' "$T/c.fish"
}
check "completions bash/zsh/fish produce scripts" t_completions

t_man() {
	"$A" man >"$T/agentns.1" || return 1
	"$A" man --out-dir "$T/man" 2>/dev/null || return 1
	head -n 3 "$T/agentns.1"
	grep -q '^\.TH agentns 1' "$T/agentns.1" && [ -s "$T/man/agentns-run.1" ]
}
check "man: a man page (and one per subcommand)" t_man

t_help() {
	for s in run show ls top exec trace status completions man; do
		"$A" $s --help >"$T/h" 2>&1 || { say "$s --help failed"; return 1; }
		grep -q '^Usage: agentns '"$s" "$T/h" || { cat "$T/h"; return 1; }
	done
}
check "every subcommand has --help" t_help

# --- session ids, kill, export --------------------------------------------------------
# A session of its own to look at (BG may have ended by now).
"$A" run --intent cli-export -- sleep 120 &
EX=$!
i=0
while [ "$(cat /proc/$EX/agent_intent 2>/dev/null)" != cli-export ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
EXID=$(cat /proc/$EX/agent_session 2>/dev/null)
# The first 12 digits, as ls shows them (never taken for a pid: too big, or a leading 0).
EXSHORT=$(echo "$EXID" | cut -c1-12)

t_exec_by_id() {
	"$A" exec --session "$EXSHORT" -- cat /proc/self/agent_session /proc/self/agent_intent \
		>"$T/eid.out" || return 1
	"$A" exec --session "$EXID" -- cat /proc/self/agent_session >"$T/eid2.out" || return 1
	"$A" exec --session ffffffffffffffffffffffffffffffff -- true 2>"$T/eid.err"
	a=$?
	cat "$T/eid.out" "$T/eid2.out" "$T/eid.err"
	[ "$(sed -n 1p "$T/eid.out")" = "$EXID" ] && [ "$(sed -n 2p "$T/eid.out")" = cli-export ] &&
		[ "$(cat "$T/eid2.out")" = "$EXID" ] || fail "not in the session" || return 1
	[ $a = 125 ] && grep -q 'no session id starts with' "$T/eid.err"
}
check "exec --session ID and --session PREFIX: the command runs in that session" t_exec_by_id

t_kill() {
	# Two nested sessions with sleepers, and a sleeper outside them.
	"$A" run --intent kill-outer -- sh -c \
		"sleep 60 & $A run --intent kill-inner -- sh -c 'sleep 60 & sleep 60; :' & wait" &
	outer=$!
	sleep 60 &
	outside=$!
	i=0
	while [ $i -lt 100 ]; do
		no=$(grep -lx kill-outer /proc/[0-9]*/agent_intent 2>/dev/null | wc -l)
		ni=$(grep -lx kill-inner /proc/[0-9]*/agent_intent 2>/dev/null | wc -l)
		[ "$no" -ge 2 ] && [ "$ni" -ge 3 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	id=$(cat /proc/$outer/agent_session)
	inner=$(grep -lx kill-inner /proc/[0-9]*/agent_intent | head -n1 | cut -d/ -f3)
	"$A" kill --dry-run "$(echo "$id" | cut -c1-12)" >"$T/kill.dry"
	d=$?
	"$A" kill "$(echo "$id" | cut -c1-12)" 2>"$T/kill.err"
	k=$?
	i=0
	while [ $i -lt 50 ]; do
		# processes of the two sessions that are not zombies (yet to be reaped)
		left=0
		for f in $(grep -lx -e kill-outer -e kill-inner /proc/[0-9]*/agent_intent 2>/dev/null); do
			grep -q '^State:.*Z' "${f%/agent_intent}/status" 2>/dev/null || left=$((left + 1))
		done
		[ "$left" = 0 ] && break
		sleep 0.1
		i=$((i + 1))
	done
	wait $outer
	o=$?
	alive=no
	kill -0 $outside 2>/dev/null && alive=yes
	kill $outside
	wait $outside 2>/dev/null
	cat "$T/kill.dry" "$T/kill.err"
	say "outer=$no inner=$ni dry-run: $d, kill: $k, outer's status $o, left: $left, outside alive: $alive"
	[ $d = 0 ] && [ "$(wc -l <"$T/kill.dry")" -ge 5 ] && grep -q "^$outer $id " "$T/kill.dry" &&
		grep -q "^$inner [0-9a-f]\{32\} " "$T/kill.dry" && ! grep -q "^$outside " "$T/kill.dry" ||
		fail "dry run" || return 1
	[ $k = 0 ] && [ "$left" = 0 ] && [ $o = 143 ] && [ $alive = yes ]
}
check "kill SESSION: every process of a session and of the session below it, nothing else" t_kill

if [ "$(asnobody 'id -u' 2>/dev/null)" = 65534 ]; then
	t_kill_eperm() {
		asnobody "$A kill -s KILL $EXSHORT" 2>"$T/ke.err"
		a=$?
		cat "$T/ke.err"
		[ $a = 1 ] && grep -q "SIGKILL to $EX (sleep): .*EPERM" "$T/ke.err" && kill -0 $EX
	}
	check "kill as nobody of root's session: EPERM per process, exit 1, nothing killed" t_kill_eperm
else
	n=$((n + 1))
	echo "ok $n kill as nobody # SKIP su to nobody does not work here"
fi

t_export_once() {
	"$A" export --once >"$T/export.txt" || return 1
	"$A" export --textfile "$T/agentns.prom" || return 1
	grep "$EXID" "$T/export.txt"
	grep -q '^# TYPE agentns_session_syscalls_total counter$' "$T/export.txt" &&
		grep -q "^agentns_session_syscalls_total{session=\"$EXID\"} [1-9][0-9]*$" "$T/export.txt" &&
		grep -q "^agentns_session_info{session=\"$EXID\",intent=\"cli-export\"} 1$" "$T/export.txt" &&
		grep -q "^agentns_session_depth{session=\"$EXID\"} 1$" "$T/export.txt" &&
		grep -q "^agentns_session_processes{session=\"$EXID\"} 1$" "$T/export.txt" ||
		fail "export --once" || return 1
	grep -q "^agentns_session_syscalls_total{session=\"$EXID\"} [1-9]" "$T/agentns.prom" &&
		! ls "$T" | grep -q 'agentns\.prom\..*tmp'
}
check "export --once, --textfile: the session's counters labelled with its id" t_export_once

t_export_listen() {
	ip link set lo up 2>/dev/null || ifconfig lo 127.0.0.1 up 2>/dev/null
	port=19555
	"$A" export --listen 127.0.0.1:$port 2>"$T/listen.err" &
	srv=$!
	i=0
	while ! wget -q -O "$T/metrics.txt" http://127.0.0.1:$port/metrics 2>/dev/null &&
		[ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	wget -q -O "$T/other.txt" http://127.0.0.1:$port/other 2>"$T/other.err"
	nf=$?
	kill $srv
	wait $srv 2>/dev/null
	cat "$T/listen.err" "$T/other.err"
	grep "$EXID" "$T/metrics.txt"
	grep -q "^agentns_session_syscalls_total{session=\"$EXID\"} [1-9][0-9]*$" "$T/metrics.txt" &&
		[ $nf != 0 ] && grep -q 404 "$T/other.err"
}
check "export --listen: GET /metrics over HTTP (404 elsewhere)" t_export_listen
kill $EX 2>/dev/null

# --- cleanup -------------------------------------------------------------------------
kill $BG 2>/dev/null
pkill_tree() {
	for p in $(grep -l '^tree-' /proc/[0-9]*/agent_intent 2>/dev/null | cut -d/ -f3); do
		kill "$p" 2>/dev/null
	done
}
pkill_tree
wait 2>/dev/null
rm -rf "$T"
if [ $n != $PLAN ]; then
	echo "# ran $n tests, planned $PLAN"
	exit 1
fi
[ $failed = 0 ]
