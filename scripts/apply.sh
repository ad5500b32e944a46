#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Lay our series onto the kernel tree in $TREE: copy the new files of this
# repository in and apply patches/*.patch in order to pristine copies of
# the files they touch.  Only files whose content changed are written, so
# an unchanged series rebuilds nothing.
. "$(dirname "$0")/common.sh"

bash "$AGENTNS_ROOT/scripts/fetch.sh"
if [ ! -f "$TREE/.agentns-tree" ]; then
	stage "apply: copying the pristine tree to $TREE"
	rm -rf "$TREE" "$TREE.tmp"
	mkdir -p "$(dirname "$TREE")"
	cp -a "$SRC" "$TREE.tmp"
	touch "$TREE.tmp/.agentns-tree"
	mv "$TREE.tmp" "$TREE"
fi

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT

# Pristine copies of every file a patch touches, then the patches.
for f in $(sed -n 's|^+++ b/||p' "$AGENTNS_ROOT"/patches/*.patch | sort -u); do
	[ -f "$SRC/$f" ] || die "patches touch $f, which linux-$KVER does not have"
	mkdir -p "$STAGE/$(dirname "$f")"
	cp "$SRC/$f" "$STAGE/$f"
done
for p in "$AGENTNS_ROOT"/patches/*.patch; do
	out=$(patch -p1 -d "$STAGE" --fuzz=0 --no-backup-if-mismatch -r - <"$p" 2>&1) ||
		die "$(basename "$p") does not apply to linux-$KVER:
$out"
done

# The new files of the series.
(cd "$AGENTNS_ROOT" && find include kernel rust security tools/testing/selftests/agentns \
	-type f ! -name '*.o' -print0) |
	(cd "$AGENTNS_ROOT" && cpio -p0dmu --quiet "$STAGE")

# Install what changed; restore files a previous series touched but this
# one does not.
(cd "$STAGE" && find . -type f | sed 's|^\./||' | sort) >"$STAGE.manifest"
changed=0
while read -r f; do
	if ! cmp -s "$STAGE/$f" "$TREE/$f"; then
		mkdir -p "$TREE/$(dirname "$f")"
		cp "$STAGE/$f" "$TREE/$f"
		changed=$((changed + 1))
	fi
done <"$STAGE.manifest"
if [ -f "$TREE/.agentns-manifest" ]; then
	comm -23 "$TREE/.agentns-manifest" "$STAGE.manifest" | while read -r f; do
		if [ -f "$SRC/$f" ]; then cp -p "$SRC/$f" "$TREE/$f"; else rm -f "$TREE/$f"; fi
	done
fi
mv "$STAGE.manifest" "$TREE/.agentns-manifest"
stage "apply: $(ls "$AGENTNS_ROOT"/patches/*.patch | wc -l) patches and the new files on linux-$KVER ($changed files changed)"
