#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The exported series applies with `git apply` to pristine linux-$KVER
# files and yields exactly the tree the build uses.
. "$(dirname "$0")/../common.sh"

S=$(mktemp -d)
trap 'rm -rf "$S"' EXIT
bash "$AGENTNS_ROOT/scripts/export-series.sh" "$S/series"
mkdir "$S/tree"
for f in $(sed -n 's|^+++ b/||p' "$AGENTNS_ROOT"/patches/*.patch | sort -u); do
	mkdir -p "$S/tree/$(dirname "$f")"
	cp "$SRC/$f" "$S/tree/$f"
done
for p in "$S"/series/*.patch; do
	(cd "$S/tree" && git apply --whitespace=error-all "$p") ||
		{ echo "FAIL: $(basename "$p") does not apply"; exit 1; }
	echo "applied $(basename "$p")"
done
bad=0
while read -r f; do
	# What the kernel build does not read is compared with this
	# repository; the index pages the series patches are not in it.
	case $f in
	Documentation/*|samples/*|tools/agentns/*)
		[ -f "$AGENTNS_ROOT/$f" ] || continue
		cmp -s "$S/tree/$f" "$AGENTNS_ROOT/$f" ||
			{ echo "FAIL: $f differs from the repository"; bad=1; }
		continue ;;
	esac
	cmp -s "$S/tree/$f" "$TREE/$f" || { echo "FAIL: $f differs from the build tree"; bad=1; }
done < <(cd "$S/tree" && find . -type f | sed 's|^\./||')
[ $bad = 0 ] && echo "series applies to pristine linux-$KVER and matches the build tree and the repository"
exit $bad
