#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The series applies to linux-7.2 (Debian sid) and linux-7.3
# (trixie-backports), and AGENT_NS_TYPE is clear of both trees' CLONE_*
# flags: scripts/rebase-check.sh, whose report is this test's log.
. "$(dirname "$0")/../common.sh"

bash "$AGENTNS_ROOT/scripts/rebase-check.sh" 7.2 7.3
