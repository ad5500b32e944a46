#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The series applies to linux-7.3 (trixie-backports) with any offset or
# fuzz reported, AGENT_NS_TYPE is clear of the tree's CLONE_* flags and
# the nsfs ids we claim are free: scripts/rebase-check.sh, whose report is
# this test's log.  (7.2 is no longer a target: the system call entry
# hook needs 7.3's syscall_enter_from_user_mode_work().)
. "$(dirname "$0")/../common.sh"

bash "$AGENTNS_ROOT/scripts/rebase-check.sh" 7.3
