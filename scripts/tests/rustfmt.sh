#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The Rust sources are formatted with the kernel's rustfmt configuration.
. "$(dirname "$0")/../common.sh"

bash "$AGENTNS_ROOT/scripts/fetch.sh"
command -v rustfmt >/dev/null || die "rustfmt not found"
cd "$AGENTNS_ROOT"
files=$(find rust -name '*.rs' | sort)
rustfmt --check --config-path "$SRC/.rustfmt.toml" --edition 2021 $files
echo "rustfmt: $(echo "$files" | wc -w) files clean"
