#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Every patch of the exported series is clean under checkpatch.pl --strict.
. "$(dirname "$0")/../common.sh"

S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
bash "$AGENTNS_ROOT/scripts/export-series.sh" "$S" >/dev/null 2>&1
bad=0
for p in "$S"/*.patch; do
	# Rust files are checked by rustfmt and clippy, not checkpatch.
	# UNDOCUMENTED_SETUP: the agent_ns= entry of kernel-parameters.txt is
	# in the same patch as its __setup(), but checkpatch reads the
	# apostrophe of the context line "kernel's map of available physical
	# RAM." above it as an open character literal and blanks the entry.
	# The agentns tool is userspace Rust, Python and shell, formatted by
	# rustfmt and its tests; its Python package ships the GPL's text
	# verbatim (COPYING: the FSF's address, form feeds, trailing blanks).
	tools=
	grep -q '^+++ b/tools/agentns/' "$p" &&
		tools=,LONG_LINE,LONG_LINE_COMMENT,LONG_LINE_STRING,FSF_MAILING_ADDRESS,TRAILING_WHITESPACE,INVALID_UTF8
	if ! (cd "$SRC" && perl scripts/checkpatch.pl --strict --quiet --no-summary \
		--ignore FILE_PATH_CHANGES,UNDOCUMENTED_SETUP$tools "$p"); then
		echo "FAIL: $(basename "$p")"
		bad=1
	fi
done
[ $bad = 0 ] && echo "checkpatch --strict: $(ls "$S"/*.patch | wc -l) patches clean"
exit $bad
