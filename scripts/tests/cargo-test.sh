#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The agentns Rust workspace (tools/agentns): formatting, clippy with warnings as errors,
# and the unit and integration tests (including the uapi layout check against the header).
. "$(dirname "$0")/../common.sh"

CARGO=${CARGO:-$(command -v cargo || echo "$CARGO_HOME/bin/cargo")}
[ -x "$CARGO" ] || die "cargo not found (install rustup, or set CARGO)"
export PATH=$(dirname "$CARGO"):$PATH
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CACHE/cargo-target}
# This checkout's uapi header.  The library's build script bakes the
# header's path into its tests and reruns when this variable changes: with
# the target directory shared by every checkout, a test binary built from
# another checkout would otherwise read that checkout's header (or none).
export AGENTNS_UAPI_HEADER=${AGENTNS_UAPI_HEADER:-$AGENTNS_ROOT/include/uapi/linux/agent_namespaces.h}
cd "$AGENTNS_ROOT/tools/agentns"

# rustup's minimal profile has neither; add them where rustup can.
for c in rustfmt clippy; do
	sub=${c/rustfmt/fmt}
	if ! "$CARGO" "$sub" --version >/dev/null 2>&1 && command -v rustup >/dev/null; then
		rustup component add "$c"
	fi
done

stage "cargo-test: cargo fmt --check"
"$CARGO" fmt --all --check
stage "cargo-test: cargo clippy --all-targets -- -D warnings"
"$CARGO" clippy --locked --all-targets -- -D warnings
stage "cargo-test: cargo test"
"$CARGO" test --locked
echo "cargo-test: fmt, clippy and tests of tools/agentns passed"
