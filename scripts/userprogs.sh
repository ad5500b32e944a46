#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the static guest programs (selftests, demo) on the host into
# $CACHE/guest/, against the kernel's exported headers.
. "$(dirname "$0")/common.sh"

OUT=$CACHE/guest/$(basename "$BUILD")
HDR=$BUILD/usr/include
mkdir -p "$OUT/selftests"
"${KMAKE[@]}" -s headers >/dev/null
CC=(gcc -static -O2 -g -Wall -Werror -isystem "$HDR")
for p in agentns-demo agentns-bench; do
	"${CC[@]}" -o "$OUT/$p" "$AGENTNS_ROOT/samples/agentns/$p.c"
done
make -s -C "$TREE/tools/testing/selftests/agentns" OUTPUT="$OUT/selftests" \
	KHDR_INCLUDES="-isystem $HDR" CC=gcc >/dev/null
stage "userprogs: built in $OUT"
