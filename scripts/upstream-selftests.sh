#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel's own namespace-related selftests, run in the guest against
# our patched kernel.
#
#   scripts/upstream-selftests.sh build OUTDIR
#	Build the selftests of $TARGETS from the patched tree, static, into
#	OUTDIR/upstream/<target>/ with the guest runner OUTDIR/upstream/run.sh
#	(busybox sh).  In the guest, /extra/upstream/run.sh runs every test
#	binary with a per-test timeout (UPSTREAM_TIMEOUT, default 60 s) and
#	prints TAP lines:
#	    ok - upstream: <target>/<binary>
#	    ok - upstream: <target>/<binary>: <subtest>
#	    not ok - upstream: <target>/<binary>: <subtest>
#	    ok - upstream: <target>/<binary> # SKIP <reason>
#	one line for each binary (its exit status, a timeout, a crash, a
#	short TAP plan), and one for each TAP result the binary printed
#	itself.  A binary whose failures are all in its subtest lines gets an
#	"ok" binary line, so that each failure is counted once.  The run
#	ends with the line "# upstream: done".
#
#   scripts/upstream-selftests.sh compare RESULTS [KNOWN]
#	Read the runner's lines from RESULTS (the guest's output; other
#	lines are ignored) and print one TAP line "ok - ..." / "not ok - ..."
#	for each, judged against KNOWN (default scripts/upstream-selftests.known):
#	a failure listed there is "ok - NAME # known: REASON", a listed test
#	that passes is "ok - NAME # known failure now passes" (or, where
#	REASON starts with "flaky", "# known flaky, passed this time"), any
#	other failure is "not ok".  A run that produced no results, or did
#	not get to its end, is one "not ok" more.  Exits 0 whenever it could
#	read RESULTS: the verdict is in the TAP.
#
# The key of a test in KNOWN is its name without "upstream: ", with the
# ": " before the subtest written ":" and every other space "_"; the
# "not ok" lines of compare print it.
. "$(dirname "$0")/common.sh"

TARGETS=(namespaces filesystems/nsfs clone3 pidfd proc prctl)
KNOWN_DEFAULT=$AGENTNS_ROOT/scripts/upstream-selftests.known

# Per-binary settings for the guest (QEMU/TCG, 2 vCPUs), "TIMEOUT [ARGS]",
# TIMEOUT in seconds or "-" for UPSTREAM_TIMEOUT:
declare -A RUNAS=(
	# Its last subtest (signal a recycled pid) forks up to 33,000
	# processes in a pid namespace whose pid_max is 4M: minutes under
	# TCG (7.5 ms a fork).  Its 7 other results come within 15 s; the
	# timeout is in the known list.
	[pidfd/pidfd_test]="25"
	# 10,000 fork/kill/poll rounds by default: 90 s under TCG; the
	# test takes the count as its argument, 1,000 take 9 s.
	[pidfd/pidfd_poll_test]="- 1000"
)

usage() {
	die "usage: $0 build OUTDIR | compare RESULTS [KNOWN]"
}

# build OUTDIR
build() {
	local out=$1/upstream hdr=${UPSTREAM_KHDR:-$BUILD/usr/include}
	local st=$TREE/tools/testing/selftests log=$LOGDIR/upstream-selftests-build.log
	local t b list mk bins stamp=$1/upstream/.built

	[ -d "$st" ] || die "no selftests in $TREE: run scripts/apply.sh"
	[ -f "$hdr/linux/agent_namespaces.h" ] ||
		die "no exported headers at $hdr: run make headers for $BUILD"
	# Nothing newer than the last build (the selftests, the headers,
	# this script): keep it.
	if [ -f "$stamp" ] && [ -z "$(find "$st" "$hdr" "${BASH_SOURCE[0]}" \
		-newer "$stamp" -print -quit)" ]; then
		stage "upstream-selftests: up to date in $out"
		return 0
	fi
	rm -rf "$out"
	mkdir -p "$out"
	: >"$log"
	# TEST_GEN_PROGS link libcap into namespaces and clone3: static, it is
	# libcap.a of libcap-dev.
	mk=(make -C "$st/TARGET" KHDR_INCLUDES="-isystem $hdr" USERLDFLAGS=-static CC=gcc)
	: >"$out/tests.list"
	: >"$out/not-built.list"
	for t in "${TARGETS[@]}"; do
		mkdir -p "$out/$t"
		# The binaries the target's run_tests would run.
		list=$("${mk[@]/TARGET/$t}" -s OUTPUT="$out/$t" COLLECTION="$t" emit_tests |
			sed -n "s|^$t:||p")
		[ -n "$list" ] || die "no tests listed by $st/$t/Makefile"
		if [ "$t" = prctl ]; then
			# Its "all" builds TEST_PROGS next to the sources, in the
			# tree: name the binaries under OUTPUT instead (lib.mk's
			# rule, the same flags).
			bins=()
			for b in $list; do
				bins+=("$out/$t/$b")
			done
			"${mk[@]/TARGET/$t}" -k OUTPUT="$out/$t" "${bins[@]}" >>"$log" 2>&1 || true
		else
			# -k: one binary that fails to build does not hold up the
			# others; those missing are reported below.
			"${mk[@]/TARGET/$t}" -k -j"$JOBS" OUTPUT="$out/$t" all >>"$log" 2>&1 || true
		fi
		for b in $list; do
			if [ -x "$out/$t/$b" ]; then
				echo "$t $b ${RUNAS[$t/$b]:--}" >>"$out/tests.list"
			else
				echo "$t $b" >>"$out/not-built.list"
			fi
		done
	done
	# Only static binaries run in the guest: no program interpreter.
	while read -r t b _; do
		if readelf -lW "$out/$t/$b" | grep -q 'program interpreter'; then
			die "$out/$t/$b is not static"
		fi
	done <"$out/tests.list"
	if [ -s "$out/not-built.list" ]; then
		echo "upstream-selftests: not built (they fail in the guest; log $log):" >&2
		sed 's/^/  /' "$out/not-built.list" >&2
		grep -E 'error|Error' "$log" | head -n 20 >&2
	fi
	write_runner "$out/run.sh"
	: >"$stamp"
	stage "upstream-selftests: $(wc -l <"$out/tests.list") binaries of ${TARGETS[*]} in $out"
}

write_runner() {
	cat >"$1" <<'RUNNER'
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Written by scripts/upstream-selftests.sh: run the upstream selftests
# listed in tests.list ("TARGET BINARY TIMEOUT|- [ARGS]") beside this
# script, each in its own directory and session, killed after its
# TIMEOUT or UPSTREAM_TIMEOUT seconds; print TAP lines
# "ok - upstream: TARGET/BINARY[: SUBTEST]" (busybox sh and awk).
# No job control: setsid must not find the test a process group leader.
set +m
here=$(cd "$(dirname "$0")" && pwd)
limit=${UPSTREAM_TIMEOUT:-60}
tmp=$(mktemp -d /tmp/upstream.XXXXXX)
start=$(date +%s)

while read -r t b; do
	echo "# upstream: $t/$b: not built on the host (see the build log)"
	echo "not ok - upstream: $t/$b # not built"
done <"$here/not-built.list"

while read -r t b T args; do
	case $T in '' | -) T=$limit ;; esac
	rm -f "$tmp/timed-out" "$tmp/pid"
	t0=$(date +%s)
	# The watchdog: a session of its own, so that killing it kills its
	# sleep; at the timeout it kills the test's session.
	setsid sh -c 'sleep "$1"; : >"$2"; read -r p <"$3" && kill -KILL -"$p"' \
		watchdog "$T" "$tmp/timed-out" "$tmp/pid" >/dev/null 2>&1 </dev/null &
	wd=$!
	# The test in the foreground: busybox ash's "wait PID" for a
	# background job can miss its exit and block until another child
	# (the watchdog) exits.  setsid: the test and its children are one
	# process group, PID recorded for the watchdog.
	# shellcheck disable=SC2016,SC2086 # $$ of sh -c; ARGS are words
	(cd "$here/$t" && exec sh -c 'echo $$ >"$1"; shift; exec setsid "$@"' \
		test "$tmp/pid" "./$b" $args) >"$tmp/out" 2>&1 </dev/null
	rc=$?
	kill -KILL -"$wd" 2>/dev/null
	# Whatever the test left running in its process group.
	read -r pid <"$tmp/pid" && kill -KILL -"$pid" 2>/dev/null
	to=0
	[ -e "$tmp/timed-out" ] && to=1
	[ -z "$args" ] || echo "# upstream: $t/$b: run as ./$b $args"
	tr -d '\r' <"$tmp/out" | awk -v name="upstream: $t/$b" -v rc="$rc" \
		-v to="$to" -v limit="$T" -v secs="$(( $(date +%s) - t0 ))" '
	function result(status, n, directive) {
		gsub(/[\t ]+/, " ", n)
		sub(/ $/, "", n)
		print status " - " n (directive == "" ? "" : " # " directive)
	}
	{ lines[NR] = $0 }
	# The prctl disable-tsc stress tests report a failure only so.
	/^FATAL ERROR/ && !fatal { fatal = $0 }
	/^1\.\.[0-9]+/ && !plan { plan = substr($1, 4) + 0 }
	/^(not )?ok [0-9]+/ {
		fail = ($0 ~ /^not ok/)
		desc = $0
		sub(/^(not )?ok [0-9]+[ ]*(- )?/, "", desc)
		# "ok 3 name # SKIP why", or "ok 3 # SKIP why" with no name.
		desc = " " desc
		directive = ""
		if ((i = index(desc, " # ")) > 0) {
			directive = substr(desc, i + 3)
			desc = substr(desc, 1, i - 1)
		}
		sub(/^ +/, "", desc)
		nsub++
		if (desc == "")
			desc = "test " (nsub)
		if (directive ~ /^(SKIP|skip)/)
			directive = "SKIP" substr(directive, 5)
		else if (directive !~ /^(TODO|XFAIL)/)
			directive = ""
		if (fail && directive !~ /^TODO/)
			nfail++
		result(fail ? "not ok" : "ok", name ": " desc, directive)
	}
	END {
		why = ""
		if (to)
			why = "timed out after " limit " s"
		else if (rc > 128)
			why = "killed by signal " (rc - 128)
		else if (nsub == 0 && rc != 0 && rc != 4)
			why = "exit status " rc
		else if (plan && nsub < plan)
			why = "exit status " rc " after " nsub " of the " plan " planned results"
		else if (nsub > 0 && rc != 0 && rc != 4 && nfail == 0)
			why = "exit status " rc " and no failed subtest"
		else if (fatal != "")
			why = "exit status " rc " but it printed: " fatal
		# A binary whose failures are in its subtest lines counts once.
		if (why != "") {
			result("not ok", name, why)
		} else if (nsub == 0 && rc == 4) {
			reason = ""
			for (i = NR; i > 0 && reason == ""; i--)
				if (lines[i] !~ /^[ \t]*$/)
					reason = lines[i]
			gsub(/#/, "", reason)
			result("ok", name, "SKIP exit 4: " reason)
		} else {
			result("ok", name, "")
		}
		print "# " name ": exit " rc " in " secs " s"
		# On a failure, its diagnostics (at most 40 lines), and the
		# last 10 lines of its output.
		if (why != "" || nfail > 0) {
			last = NR > 10 ? NR - 9 : 1
			for (i = 1; i < last && shown < 40; i++)
				if (lines[i] ~ /not ok|FAIL|Expected|[Ee]rror|FATAL|[Tt]imeout|[Tt]imed out/ &&
				    lines[i] != lines[i - 1]) {
					print "#   " lines[i]
					shown++
				}
			if (shown)
				print "#   ..."
			for (i = last; i <= NR; i++)
				print "#   " lines[i]
		}
	}'
done <"$here/tests.list"
rm -rf "$tmp"
echo "# upstream: done in $(( $(date +%s) - start )) s"
RUNNER
	chmod +x "$1"
}

# compare RESULTS KNOWN (key(): the known-list key of a name, see the top)
compare() {
	local results=$1 known=$2
	[ -r "$results" ] || die "cannot read $results"
	[ -r "$known" ] || die "cannot read $known"
	tr -d '\r' <"$results" | awk -v knownfile="$known" -v results="$results" '
	function key(n,    k) {
		k = n
		sub(/^upstream: /, "", k)
		sub(/: /, ":", k)
		gsub(/[ \t]+/, "_", k)
		return k
	}
	BEGIN {
		while ((getline line <knownfile) > 0) {
			if (line ~ /^[ \t]*(#|$)/)
				continue
			k = line
			sub(/[ \t].*/, "", k)
			r = line
			sub(/^[^ \t]+[ \t]*/, "", r)
			if (r == "")
				r = "(no reason given)"
			known[k] = r
		}
		close(knownfile)
	}
	/^# upstream: done/ { done = 1 }
	/^(not )?ok - upstream: / {
		fail = ($0 ~ /^not ok/)
		line = $0
		sub(/^(not )?ok - /, "", line)
		name = line
		directive = ""
		if ((i = index(line, " # ")) > 0) {
			name = substr(line, 1, i - 1)
			directive = substr(line, i + 3)
		}
		k = key(name)
		n++
		seen[k] = 1
		if (!fail && directive ~ /^SKIP/)
			print "ok - " name " # " directive
		else if (!fail && (k in known) && known[k] ~ /^flaky/)
			print "ok - " name " # known flaky, passed this time (" known[k] ")"
		else if (!fail && (k in known))
			print "ok - " name " # known failure now passes (known: " known[k] ")"
		else if (!fail)
			print "ok - " name
		else if (k in known)
			print "ok - " name " # known: " known[k]
		else
			print "not ok - " name " # " (directive == "" ? "" : directive "; ") \
				"not in the known list as " k
	}
	END {
		if (n == 0)
			print "not ok - upstream: the guest runner printed results # none in " results
		else if (!done)
			print "not ok - upstream: the guest runner ran to its end # no \"# upstream: done\" line"
		for (k in known)
			if (!(k in seen))
				printf "upstream-selftests: known entry %s has no result\n", k >"/dev/stderr"
	}'
}

case ${1:-} in
build)
	[ $# = 2 ] || usage
	build "$2"
	;;
compare)
	[ $# = 2 ] || [ $# = 3 ] || usage
	compare "$2" "${3:-$KNOWN_DEFAULT}"
	;;
*)
	usage
	;;
esac
