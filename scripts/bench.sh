#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make bench`: instructions per system call with agent namespaces, counted
# by QEMU's -icount (the guest clock advances one nanosecond per executed
# instruction, so the numbers are exact and repeatable on a noisy host).
. "$(dirname "$0")/common.sh"

bash "$AGENTNS_ROOT/scripts/setup.sh"
bash "$AGENTNS_ROOT/scripts/build.sh"
bash "$AGENTNS_ROOT/scripts/userprogs.sh"
export AGENTNS_ACCEL=tcg AGENTNS_QEMU_ARGS="-icount shift=0,sleep=off"
exec bash "$AGENTNS_ROOT/scripts/vm.sh" -x "$CACHE/guest/$(basename "$BUILD")" -- \
	"echo 'guest instructions per getppid():'; /extra/agentns-bench ${BENCH_N:-100000}"
