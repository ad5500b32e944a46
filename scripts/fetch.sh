#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Fetch linux-source-$KVER from Debian under a private apt configuration
# (the machine's own apt sources are never touched; the mirror is the one
# they name) and extract it once into $CACHE/src/linux-$KVER.
. "$(dirname "$0")/common.sh"

[ -f "$SRC/Makefile" ] && [ -f "$SRC/.agentns-extracted" ] && exit 0

A=$CACHE/apt/$SUITE
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$A/etc" "$CACHE/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $(debian_mirror) $SUITE main" \
	>"$A/etc/sources.list"
O=(-o Dir::Etc::SourceList="$A/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null
   -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache"
   -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)

deb=$(ls "$CACHE"/debs/linux-source-"${KVER}"_*_all.deb 2>/dev/null | tail -n1 || true)
if [ -z "$deb" ]; then
	stage "fetch: linux-source-$KVER from Debian $SUITE"
	apt-get "${O[@]}" -qq update
	(cd "$CACHE/debs" && apt-get "${O[@]}" -qq download "linux-source-$KVER")
	deb=$(ls "$CACHE"/debs/linux-source-"${KVER}"_*_all.deb | tail -n1)
fi

stage "fetch: extracting $(basename "$deb")"
rm -rf "$SRC" "$SRC.tmp"
mkdir -p "$SRC.tmp"
dpkg-deb --fsys-tarfile "$deb" |
	tar -xO "./usr/src/linux-source-$KVER.tar.xz" |
	tar -xJ -C "$SRC.tmp" --strip-components=1
touch "$SRC.tmp/.agentns-extracted"
mv "$SRC.tmp" "$SRC"
stage "fetch: $(make -s -C "$SRC" kernelversion) in $SRC"
