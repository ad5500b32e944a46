#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# The agentns library's unit tests against the real kernel, as root in the
# busybox guest: on the host (no agent namespaces) they take only the
# failure paths; here they create sessions, spawn commands into them
# (CommandExt) and read them back.  Installed by scripts/build-cli.sh as
# /extra/selftests/lib_test.sh next to /extra/agentns-lib-test (the libtest
# binary).  Prints kselftest TAP; exits 4 (skip) on a kernel without agent
# namespaces.

B=${AGENTNS_LIB_TEST:-/extra/agentns-lib-test}
if [ ! -e /proc/self/agent_session ]; then
	echo "1..1"
	echo "ok 1 lib_test # SKIP no /proc/self/agent_session: kernel without agent namespaces"
	exit 4
fi
out=$(mktemp /tmp/lib_test.XXXXXX) || exit 1
cd /tmp || exit 1
"$B" --test-threads=1 >"$out" 2>&1
rc=$?
# libtest: "test NAME ... ok|FAILED|ignored"; a failure's output follows
# under "---- NAME stdout ----".
awk -v rc="$rc" '
/^test .* \.\.\. (ok|FAILED|ignored)$/ {
	name = $2; res = $NF
	n++
	line[n] = (res == "FAILED" ? "not ok " : "ok ") n " " name (res == "ignored" ? " # SKIP ignored" : "")
	next
}
/^---- .* stdout ----$/ { cur = $2; next }
cur != "" && /^$/ { cur = ""; next }
cur != "" { notes[cur] = notes[cur] "# " $0 "\n" }
END {
	if (n == 0) {
		print "1..1"
		print "not ok 1 lib_test: the test binary ran no test (exit " rc ")"
		exit 1
	}
	print "1.." n
	for (i = 1; i <= n; i++) {
		print line[i]
		split(line[i], w, " ")
		nm = (w[1] == "not") ? w[4] : w[3]
		if (w[1] == "not" && nm in notes)
			printf "%s", notes[nm]
	}
	exit rc != 0
}' "$out"
st=$?
rm -f "$out"
exit $st
