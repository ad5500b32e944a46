# SPDX-License-Identifier: GPL-2.0
# agentns: the two commands of README.md, and a few helpers.
#
#   make run [CMD='...']   build the kernel, boot it, show a session (or run CMD)
#   make check             every test; ends with "N passed, N failed, N skipped"
#   make package           linux-wintermute .deb and Arch packages (KCONFIG=)
#   make system            boot it as a Debian system's kernel (dpkg, systemd)
#
# Variables: KVER (7.3), AGENT_NS (y|n), KCONFIG (a full .config to start
# from), AGENTNS_CACHE (~/.cache/agentns), JOBS.

export KVER AGENT_NS KCONFIG CMD AGENTNS_CACHE JOBS

.PHONY: run check bench build package system setup series clean-cache

run:
	@bash scripts/run.sh

check:
	@bash scripts/check.sh

bench:
	@bash scripts/bench.sh

build:
	@bash scripts/setup.sh && bash scripts/build.sh

package:
	@bash scripts/package.sh

system:
	@bash scripts/system.sh

setup:
	@bash scripts/setup.sh

series:
	@bash scripts/export-series.sh

clean-cache:
	rm -rf "$${AGENTNS_CACHE:-$$HOME/.cache/agentns}"
