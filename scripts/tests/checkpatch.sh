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
	if ! (cd "$SRC" && perl scripts/checkpatch.pl --strict --quiet --no-summary \
		--ignore FILE_PATH_CHANGES "$p"); then
		echo "FAIL: $(basename "$p")"
		bad=1
	fi
done
[ $bad = 0 ] && echo "checkpatch --strict: $(ls "$S"/*.patch | wc -l) patches clean"
exit $bad
