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
for p in agentns-demo agentns-bench agentns-run; do
	"${CC[@]}" -o "$OUT/$p" "$AGENTNS_ROOT/samples/agentns/$p.c"
done
"${CC[@]}" -nostdlib -o "$OUT/agentns-noop" "$AGENTNS_ROOT/samples/agentns/agentns-noop.c"
make -s -C "$TREE/tools/testing/selftests/agentns" OUTPUT="$OUT/selftests" \
	KHDR_INCLUDES="-isystem $HDR" CC=gcc >/dev/null
# The kernel's own selftests of the neighbouring interfaces.
bash "$AGENTNS_ROOT/scripts/upstream-selftests.sh" build "$OUT"
# The agentns CLI (tools/agentns), static, with its guest test.
bash "$AGENTNS_ROOT/scripts/build-cli.sh" "$OUT"
# Shell and Python tests run in the guest like the kselftests: TAP output.
install -m 0755 "$AGENTNS_ROOT/samples/agentns/run_test.sh" "$OUT/selftests/run_test.sh"
install -m 0755 "$AGENTNS_ROOT/tools/agentns/python/tests/guest_test.sh" "$OUT/selftests/python_test.sh"
stage "userprogs: built in $OUT"
