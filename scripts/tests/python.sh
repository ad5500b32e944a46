#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The agentns Python package's host-side unit tests: its constants and
# ctypes layouts against include/uapi/linux/agent_namespaces.h, the /proc
# parsers on fixtures, and its errors on this (host) kernel.  Uses the
# python3 on PATH; fails when it is missing or older than 3.9.
. "$(dirname "$0")/../common.sh"

PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || die "no $PY on PATH"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 9))' ||
	die "$("$PY" --version 2>&1) is older than 3.9"
cd "$AGENTNS_ROOT/tools/agentns/python/tests"
echo "python: $(command -v "$PY") ($("$PY" --version 2>&1))"
# -B: no __pycache__ in the source tree.
"$PY" -B -m unittest discover -v -s . -p 'test_*.py' -t . 2>&1
