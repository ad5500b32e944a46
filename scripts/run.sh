#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make run`: build the kernel and boot it.  With CMD, run CMD in the guest
# and exit with its status; without CMD, a root shell when on a terminal,
# else the session demo.
. "$(dirname "$0")/common.sh"

bash "$AGENTNS_ROOT/scripts/setup.sh"
bash "$AGENTNS_ROOT/scripts/build.sh"
bash "$AGENTNS_ROOT/scripts/userprogs.sh"
guest=$CACHE/guest/$(basename "$BUILD")

if [ -n "${CMD:-}" ]; then
	exec bash "$AGENTNS_ROOT/scripts/vm.sh" -x "$guest" -- "$CMD"
elif [ -t 0 ] && [ -t 1 ]; then
	exec bash "$AGENTNS_ROOT/scripts/vm.sh" -i -x "$guest"
else
	exec bash "$AGENTNS_ROOT/scripts/vm.sh" -x "$guest" -- /extra/agentns-demo
fi
