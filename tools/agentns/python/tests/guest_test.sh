#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# kselftest TAP wrapper for the busybox guest: runs the agentns Python
# package's guest tests (guest_tests.py) with the host's python3, through
# chroot into the host's root file system that scripts/vm.sh shares
# read-only at /host.  Exits 4 (skip) when there is no python3 there.
#
# The package is found at $AGENTNS_PYTHON_DIR, next to this script (run
# from the repository), at /extra/python (copied by userprogs.sh), or at
# tools/agentns/python under the current directory (the guest starts in
# the repository).  It is copied to the guest's /tmp, which the guest's
# init binds at /host/tmp, so the chroot sees it wherever it came from.

HOST=${AGENTNS_HOST_ROOT:-/host}
name=agentns_python

skip() {
	echo "TAP version 13"
	echo "1..1"
	echo "ok 1 $name # SKIP $1"
	exit 4
}

py=
for p in /usr/bin/python3 /usr/local/bin/python3; do
	if [ -x "$HOST$p" ]; then
		py=$p
		break
	fi
done
[ -n "$py" ] || skip "no python3 under $HOST (is the host root shared? see scripts/vm.sh)"
[ -r "$HOST/proc/self/stat" ] || skip "no /proc under $HOST"

here=$(cd "$(dirname "$0")" 2>/dev/null && pwd)
src=
for d in "${AGENTNS_PYTHON_DIR:-}" "$here/.." /extra/python "$PWD/tools/agentns/python"; do
	if [ -n "$d" ] && [ -f "$d/src/agentns/__init__.py" ] &&
		[ -f "$d/tests/guest_tests.py" ]; then
		src=$d
		break
	fi
done
[ -n "$src" ] || skip "cannot find the agentns Python package"

work=$(mktemp -d /tmp/agentns-python.XXXXXX) || skip "mktemp failed"
cp -r "$src/src" "$src/tests" "$work/" || skip "cannot copy $src"
# A test drops to nobody and spawns: its trampoline runs from here too.
chmod -R 755 "$work"
if [ ! -d "$HOST$work" ]; then
	rm -rf "$work"
	skip "the guest's /tmp is not bound at $HOST/tmp"
fi

chroot "$HOST" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
	PYTHONPATH="$work/src" PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
	"$py" "$work/tests/guest_tests.py" "$@"
rc=$?
rm -rf "$work"
exit $rc
