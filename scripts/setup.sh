#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Install the toolchain the build and the VM need.  Idempotent: every step
# is skipped when its result is already present.
. "$(dirname "$0")/common.sh"

PKGS=(rustc-web rust-web-src rust-web-clippy clang-19 lld-19 llvm-19 libclang-19-dev
      qemu-system-x86 busybox-static flex bison libelf-dev libssl-dev bc cpio
      gcc libc6-dev make python3 perl kmod dpkg-dev debhelper rsync gnuplot-nox
      file libcap-dev attr mmdebstrap e2fsprogs)

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	stage "setup: apt-get install ${missing[*]}"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	# One retry: a dpkg run interrupted by a concurrent apt user is the
	# usual transient failure on a fresh machine.
	for try in 1 2; do
		DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >"$LOGDIR/apt.log" 2>&1 &&
			break
		[ "$try" = 2 ] && { tail -n 30 "$LOGDIR/apt.log"; die "apt-get install failed"; }
		sleep 5
	done
fi

if ! "$CARGO_HOME/bin/bindgen" --version 2>/dev/null | grep -q "$BINDGEN_VERSION"; then
	stage "setup: cargo install bindgen-cli $BINDGEN_VERSION"
	cargo install --quiet --locked --version "$BINDGEN_VERSION" bindgen-cli
fi
stage "setup: toolchain ready ($(/usr/bin/rustc --version), clang-19, bindgen $BINDGEN_VERSION)"
