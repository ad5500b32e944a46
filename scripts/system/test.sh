#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The test of one boot of `make system` (scripts/system.sh), run by
# agentns-system-test.service once multi-user.target is reached.  TAP on
# standard output.  agentns.phase= on the kernel command line says which
# boot this is:
#
#   wintermute  our kernel, installed with dpkg: systemd, the units, the
#               tools, a budget kill; then our kernel is removed with apt
#   rollback    Debian's own kernel after that: the system boots, our
#               kernel is gone, the tools say the kernel lacks the feature
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
note() { sed 's/^/# /'; }
# check DESCRIPTION COMMAND...: ok when COMMAND succeeds; its output as notes when not.
check() {
	local desc=$1 out
	shift
	if out=$("$@" 2>&1); then
		ok "$desc"
	else
		not_ok "$desc"
		printf '%s\n' "$out" | tail -n 20 | note
	fi
}
zeros=00000000000000000000000000000000
is_id() { [[ $1 =~ ^[0-9a-f]{32}$ ]] && [ "$1" != $zeros ]; }
# exits_saying WANT RC OUTPUT: RC is WANT, and OUTPUT is one line that
# says the kernel lacks the feature (no panic, no backtrace).
exits_saying() {
	[ "$1" = "$2" ] && [ "$(printf '%s\n' "$3" | wc -l)" = 1 ] &&
		printf '%s\n' "$3" | grep -q 'no agent namespace support'
}
# failed_units [UNIT...]: the units that failed in this boot are exactly
# the UNITs given.
failed_units() {
	local units want
	units=$(systemctl --failed --plain --no-legend | awk '{print $1}' | sort | xargs)
	want=$(printf '%s\n' "$@" | sort | xargs)
	if [ "$units" = "$want" ]; then
		ok "failed units: ${want:-none}"
	else
		not_ok "failed units: ${units:-none}, expected ${want:-none}"
		for u in $units; do systemctl status --no-pager -n 5 "$u" 2>&1 | note; done
	fi
}
# wait_inactive UNIT SECONDS: until UNIT is neither activating nor active.
wait_inactive() {
	local i state
	for ((i = 0; i < $2 * 10; i++)); do
		state=$(systemctl show -P ActiveState "$1")
		case $state in active | activating | deactivating | reloading) sleep 0.1 ;; *) return 0 ;; esac
	done
	return 1
}

phase=$(sed -n 's/.*agentns\.phase=\([a-z]*\).*/\1/p' /proc/cmdline)
rel=$(uname -r)
echo "# phase $phase, kernel $rel, systemd $(systemctl --version | head -n1)"
mu=$(systemctl show -P ActiveEnterTimestampMonotonic multi-user.target)
echo "# multi-user.target reached $((mu / 1000000)).$(printf '%06d' $((mu % 1000000)) | cut -c1-2) s after the kernel started"

if [ "$phase" = wintermute ]; then
	check "running the packaged kernel ($rel)" test "${rel%-wintermute}" != "$rel"
	check "dpkg installed linux-image-$rel" \
		sh -c "dpkg-query -W -f '\${Status}' linux-image-$rel | grep -qx 'install ok installed'"
	for f in "vmlinuz-$rel" "initrd.img-$rel" "System.map-$rel" "config-$rel"; do
		check "/boot/$f installed by the package's maintainer scripts" test -s "/boot/$f"
	done
	check "linux-libc-dev installed the uapi header" \
		grep -q '#define PR_SET_AGENT_NS' /usr/include/linux/agent_namespaces.h
	check "systemd is PID 1" sh -c 'readlink /proc/1/exe | grep -q "/systemd$"'
	check "multi-user.target reached" systemctl is-active -q multi-user.target
	failed_units
	pid1=$(cat /proc/1/agent_session)
	check "PID 1 is in the initial session ($pid1)" test "$pid1" = $zeros

	# A service started at boot, in its own session.
	check "agentns-demo.service is active" systemctl is-active -q agentns-demo.service
	demo=$(systemctl show -P MainPID agentns-demo.service)
	demo_id=$(cat "/proc/$demo/agent_session" 2>/dev/null)
	check "agentns-demo.service's main process $demo is in a session ($demo_id)" is_id "$demo_id"
	systemctl status --no-pager -n 0 agentns-demo.service | note
	check "agentns ls lists it with its intent" \
		sh -c "agentns ls --full-id | grep '$demo_id' | grep -q demo-service"
	agentns ls | note
	check "agentns top -n 1 lists it" sh -c "agentns top -n 1 | grep -q demo-service"
	agentns top -n 1 | note

	# Fleets: the exporter's text passes promtool, and Prometheus scrapes it.
	check "promtool check metrics accepts agentns export --once" \
		sh -c 'agentns export --once | promtool check metrics'
	check "Prometheus scraped agentns-export.service: PromQL gives agentns-demo's syscall rate" \
		python3 - "$demo_id" <<'EOF'
import json, sys, time, urllib.parse, urllib.request
query = ('rate(agentns_session_syscalls_total[10s]) * on(session) group_left(intent) '
         'agentns_session_info{intent="demo-service"}')
url = 'http://127.0.0.1:9090/api/v1/query?' + urllib.parse.urlencode({'query': query})
last = None
for _ in range(120):
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            last = json.load(r)
        for s in last['data']['result']:
            if s['metric'].get('session') == sys.argv[1] and float(s['value'][1]) > 0:
                print(query, '->', s['metric'], s['value'][1], 'syscalls/s')
                sys.exit(0)
    except OSError as e:
        last = e
    time.sleep(1)
sys.exit('no rate for the session after 120 s; last answer: %s' % (last,))
EOF

	# A unit whose budget fires: systemd sees the kernel's SIGKILL.
	systemctl start agentns-budget.service
	check "agentns-budget.service ended within 60 s" wait_inactive agentns-budget.service 60
	code=$(systemctl show -P ExecMainCode agentns-budget.service)
	status=$(systemctl show -P ExecMainStatus agentns-budget.service)
	result=$(systemctl show -P Result agentns-budget.service)
	check "its main process was killed by SIGKILL (code=$code status=$status result=$result)" \
		test "$code/$status/$result" = 2/9/signal
	systemctl status --no-pager -n 0 agentns-budget.service | note
	check "systemctl status reports status=9/KILL" \
		sh -c 'systemctl status --no-pager agentns-budget.service | grep -q "status=9/KILL"'
	budget_id=$(journalctl -b -u agentns-budget.service -o cat | grep -Em1 '^[0-9a-f]{32}$')
	check "it printed its session id ($budget_id)" is_id "$budget_id"
	line=$(journalctl -b -k -o cat | grep "agent_ns: session $budget_id exceeded its syscalls budget")
	check "the journal has the kernel's budget line" test -n "$line"
	echo "$line" | note
	if command -v ausearch >/dev/null; then
		check "ausearch finds the AUDIT_AGENT_NS budget record" \
			sh -c "ausearch --input-logs --raw -m 1390 | grep 'op=budget' | grep -q 'agent_session=$budget_id'"
		ausearch --input-logs --raw -m 1390 2>&1 | tail -n 3 | note
	fi

	# No root, no new privileges: its own session all the same.
	check "agentns-nobody.service (User=nobody, NoNewPrivileges=yes) succeeded" \
		systemctl start agentns-nobody.service
	nobody_id=$(journalctl -b -u agentns-nobody.service -o cat | grep -Em1 '^[0-9a-f]{32}$')
	check "it ran in a session of its own ($nobody_id)" is_id "$nobody_id"

	# A login shell of an unprivileged user.
	su_id=$(su nobody -s /bin/sh -c 'agentns run --no-new-privs --intent su-shell -- cat /proc/self/agent_session' 2>&1)
	check "su nobody: agentns run --no-new-privs gives a session ($su_id)" is_id "$su_id"
	out=$(su nobody -s /bin/sh -c 'agentns run --intent su-shell -- true' 2>&1)
	rc=$?
	echo "$out" | note
	check "su nobody: without --no-new-privs it is refused (exit $rc), and says why" \
		sh -c "[ $rc = 125 ] && echo \"\$1\" | grep -q 'EPERM.*no_new_privs'" sh "$out"
	check "every session id is different" \
		test "$(printf '%s\n' "$demo_id" "$budget_id" "$nobody_id" "$su_id" |
			grep -Ex '[0-9a-f]{32}' | sort -u | wc -l)" = 4

	# Python, from the installed package.
	check "python3-agentns: create_session() puts the caller in a new session" python3 -c '
import agentns
before = agentns.session_id()
new = agentns.create_session()
agentns.set_intent("python")
assert str(new) == open("/proc/self/agent_session").read().strip(), new
assert new != before and agentns.get_intent() == "python"
print(new)'

	# Roll back: remove our kernel the way a user does.
	check "apt-get remove linux-image-$rel" \
		env DEBIAN_FRONTEND=noninteractive apt-get remove -y -q "linux-image-$rel" "linux-headers-$rel"
	check "its vmlinuz and initrd are gone from /boot" \
		sh -c "! ls /boot/vmlinuz-$rel /boot/initrd.img-$rel 2>/dev/null"
elif [ "$phase" = rollback ]; then
	check "running Debian's kernel ($rel)" test "${rel%-wintermute}" = "$rel"
	check "multi-user.target reached" systemctl is-active -q multi-user.target
	# The agentns units cannot start on a kernel without the feature:
	# they fail, and say why.
	failed_units agentns-demo.service agentns-export.service
	for u in agentns-demo.service agentns-export.service; do
		st=$(systemctl show -P ExecMainStatus "$u")
		check "$u failed (exit $st), its journal says the kernel lacks the feature" \
			sh -c "journalctl -b -u $u -o cat | grep -q 'no agent namespace support'"
	done
	check "linux-image-*-wintermute is not installed" \
		sh -c "! dpkg-query -W -f '\${Status}\n' 'linux-image-*-wintermute' 2>/dev/null | grep -q 'install ok installed'"
	check "/proc/self/agent_session does not exist" test ! -e /proc/self/agent_session
	out=$(agentns ls 2>&1)
	rc=$?
	echo "$out" | note
	check "agentns ls: exit 1, says the kernel lacks the feature (exit $rc)" \
		exits_saying 1 "$rc" "$out"
	out=$(agentns run -- touch /run/agentns-ran 2>&1)
	rc=$?
	echo "$out" | note
	check "agentns run: exit 125, says so, the command not run (exit $rc)" \
		exits_saying 125 "$rc" "$out"
	check "the command did not run" test ! -e /run/agentns-ran
	check "python3-agentns: is_supported() is False, create_session() raises NotSupportedError" python3 -c '
import agentns
assert not agentns.is_supported()
try:
    agentns.create_session()
except agentns.NotSupportedError as e:
    print(e)
else:
    raise SystemExit("no error")'
else
	not_ok "agentns.phase= on the kernel command line: '$phase'"
fi
echo "1..$n"
echo "# $failed of $n failed"
exit 0
