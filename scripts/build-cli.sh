#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the agentns command (tools/agentns) as a static binary for the guest and install
# its guest test:
#
#   scripts/build-cli.sh [--no-tests] OUTDIR
#
# OUTDIR/agentns                 the static x86_64 binary (runs in the busybox guest)
# OUTDIR/selftests/cli_test.sh   tools/agentns/tests/guest_cli_test.sh, TAP output
# OUTDIR/agentns-lib-test        the library's unit tests (libtest), static
# OUTDIR/selftests/lib_test.sh   tools/agentns/tests/guest_lib_test.sh: runs them, TAP
#
# --no-tests: the binary only (scripts/package-tools.sh).
#
# Then: scripts/vm.sh -x OUTDIR -- /extra/selftests/cli_test.sh
. "$(dirname "$0")/common.sh"

tests=1
[ "${1:-}" = --no-tests ] && { tests=0; shift; }
[ $# = 1 ] || die "usage: $0 [--no-tests] OUTDIR"
out=$1
CARGO=${CARGO:-$(command -v cargo || echo "$CARGO_HOME/bin/cargo")}
[ -x "$CARGO" ] || die "cargo not found (install rustup, or set CARGO)"
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$CACHE/cargo-target}
# This checkout's uapi header.  The library's build script bakes the
# header's path into its tests and reruns when this variable changes: with
# the target directory shared by every checkout, a test binary built from
# another checkout would otherwise read that checkout's header (or none).
export AGENTNS_UAPI_HEADER=${AGENTNS_UAPI_HEADER:-$AGENTNS_ROOT/include/uapi/linux/agent_namespaces.h}
target=x86_64-unknown-linux-gnu

stage "build-cli: static release build of tools/agentns ($target)"
# RUSTFLAGS reach only the target's crates with --target (not build scripts or proc-macros).
RUSTFLAGS='-C target-feature=+crt-static' "$CARGO" build --release --locked \
	--manifest-path "$AGENTNS_ROOT/tools/agentns/Cargo.toml" -p agentns-cli --target "$target"
bin=$CARGO_TARGET_DIR/$target/release/agentns
file -L "$bin" | grep -Eq 'statically linked|static-pie linked' || die "$bin is not statically linked: $(file -L "$bin")"

mkdir -p "$out"
install -m 0755 "$bin" "$out/agentns"
if [ "$tests" = 1 ]; then
	# The library's unit tests, to run against the real kernel in the guest.
	libtest=$(RUSTFLAGS='-C target-feature=+crt-static' "$CARGO" test --release --locked --no-run \
		--manifest-path "$AGENTNS_ROOT/tools/agentns/Cargo.toml" -p agentns --lib \
		--target "$target" --message-format=json-render-diagnostics |
		python3 -c 'import json, sys
for m in map(json.loads, sys.stdin):
    if m.get("reason") == "compiler-artifact" and m["profile"]["test"] and m.get("executable"):
        print(m["executable"])' | tail -n1)
	[ -x "$libtest" ] || die "no test executable of the agentns library"
	mkdir -p "$out/selftests"
	install -m 0755 "$libtest" "$out/agentns-lib-test"
	install -m 0755 "$AGENTNS_ROOT/tools/agentns/tests/guest_cli_test.sh" "$out/selftests/cli_test.sh"
	install -m 0755 "$AGENTNS_ROOT/tools/agentns/tests/guest_lib_test.sh" "$out/selftests/lib_test.sh"
fi
stage "build-cli: $out/agentns ($(du -h "$out/agentns" | cut -f1))"
