#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# `make package`: installable linux-wintermute kernel packages, built with
# the kernel's own targets from a full distribution-style configuration:
# Debian/Ubuntu .deb (bindeb-pkg: image, and headers when the kernel has
# modules) and Arch .pkg.tar.zst (pacman-pkg: kernel and headers).
#
#   KCONFIG=FILE   the configuration to start from; default: Debian's
#                  amd64 configuration from linux-config-$KVER, else
#                  x86_64 defconfig
#   PKG=deb|pacman|all (default all)
#   PACKAGE_CONFIG=guest  package the small guest kernel of `make check`
#                  instead (tinyconfig + scripts/vm.config)
#   CONFIG_ONLY=1  stop after writing the configuration
#
# The release is $KVER-wintermute, CONFIG_AGENT_NS=y.  A distribution
# configuration builds for hours on 2 cores; `make check` proves the
# packaging on the small guest configuration instead (scripts/check.sh).
. "$(dirname "$0")/common.sh"

PKG=${PKG:-all}
bash "$AGENTNS_ROOT/scripts/setup.sh"
bash "$AGENTNS_ROOT/scripts/fetch.sh"

if [ "$PKG" != deb ] && ! command -v makepkg >/dev/null; then
	stage "package: apt-get install makepkg"
	SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		makepkg pacman-package-manager libarchive-tools >"$LOGDIR/apt-makepkg.log" 2>&1 ||
		{ tail -n 20 "$LOGDIR/apt-makepkg.log"; die "could not install makepkg"; }
fi

# The configuration: the guest's, KCONFIG, or the distribution's.
if [ "${PACKAGE_CONFIG:-}" = guest ]; then
	unset KCONFIG
elif [ -z "${KCONFIG:-}" ]; then
	A=$CACHE/apt/$SUITE
	O=(-o Dir::Etc::SourceList="$A/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null
	   -o Dir::State::Lists="$A/lists" -o Dir::Cache="$A/cache"
	   -o Dir::State::status=/dev/null -o APT::Sandbox::User=root)
	KCONFIG=$CACHE/distro/config-$KVER
	if [ ! -s "$KCONFIG" ]; then
		# linux-config-X.Y carries the configurations Debian builds
		# its linux-image packages from.
		stage "package: configuration of Debian's linux-image-$KVER (linux-config-$KVER)"
		mkdir -p "$CACHE/distro"
		(cd "$CACHE/distro" && apt-get "${O[@]}" -qq download "linux-config-$KVER" 2>/dev/null) || true
		deb=$(ls "$CACHE"/distro/linux-config-"$KVER"_*.deb 2>/dev/null | tail -n1 || true)
		if [ -n "$deb" ]; then
			dpkg-deb --fsys-tarfile "$deb" |
				tar -xO "./usr/src/linux-config-$KVER/config.amd64_none_amd64.xz" |
				xz -d >"$KCONFIG.tmp" && mv "$KCONFIG.tmp" "$KCONFIG"
		fi
	fi
	if [ ! -s "$KCONFIG" ]; then
		stage "package: no Debian linux-image for $KVER; starting from defconfig"
		make -s -C "$SRC" O="$CACHE/distro/defconfig" LLVM=-19 defconfig
		KCONFIG=$CACHE/distro/defconfig/.config
	fi
fi
if [ -n "${KCONFIG:-}" ]; then
	export KCONFIG
	# common.sh picks the build directory from KCONFIG.
	BUILD=$CACHE/build/linux-$KVER-agentns-$AGENT_NS-custom
	KMAKE=(make -C "$TREE" O="$BUILD" LLVM=-19 RUSTC=/usr/bin/rustc
	       BINDGEN="$CARGO_HOME/bin/bindgen" -j"$JOBS")
	stage "package: configuration from $KCONFIG"
fi
bash "$AGENTNS_ROOT/scripts/build.sh"
[ -z "${CONFIG_ONLY:-}" ] || exit 0

out=$CACHE/packages/$KVER
mkdir -p "$out"
if [ "$PKG" = deb ] || [ "$PKG" = all ]; then
	stage "package: bindeb-pkg"
	rm -f "$(dirname "$BUILD")"/linux-libc-dev_*.deb
	# -d: of the build dependencies dpkg would check, the kernel's
	# debian/rules uses debhelper's dh_listpackages and rsync, which
	# setup.sh installs; libdw-dev is for a configuration with BTF.
	"${KMAKE[@]}" KDEB_SOURCENAME=linux-wintermute DPKG_FLAGS=-d bindeb-pkg \
		>"$LOGDIR/package-deb.log" 2>&1 ||
		{ tail -n 30 "$LOGDIR/package-deb.log"; die "bindeb-pkg failed"; }
	rm -f "$out"/*.deb
	# linux-libc-dev: the uapi headers, include/linux/agent_namespaces.h
	# among them (it replaces the distribution's own package).
	mv "$(dirname "$BUILD")"/linux-*wintermute*.deb "$(dirname "$BUILD")"/linux-libc-dev_*.deb "$out"/
fi
if { [ "$PKG" = pacman ] || [ "$PKG" = all ]; } && [ "$(id -u)" = 0 ]; then
	# makepkg exits at once for root ("can cause permanent, catastrophic
	# damage to your system"), and has no option to allow it.
	[ "$PKG" = pacman ] && die "makepkg refuses to run as root: run make package as a normal user"
	stage "package: pacman-pkg skipped: makepkg refuses to run as root (run make package as a normal user)"
elif [ "$PKG" = pacman ] || [ "$PKG" = all ]; then
	stage "package: pacman-pkg"
	# --nodeps: makepkg would ask pacman for the build dependencies, which
	# are Debian packages here.
	# PKGEXT: Debian's makepkg.conf makes .pkg.tar.gz; Arch uses zstd.
	PKGEXT=.pkg.tar.zst "${KMAKE[@]}" PACMAN_PKGBASE=linux-wintermute \
		PACMAN_EXTRAPACKAGES=headers MAKEPKGOPTS="--nodeps --skipinteg" pacman-pkg >"$LOGDIR/package-pacman.log" 2>&1 ||
		{ tail -n 30 "$LOGDIR/package-pacman.log"; die "pacman-pkg failed"; }
	rm -f "$out"/*.pkg.tar.zst
	mv "$BUILD"/linux-wintermute*.pkg.tar.zst "$out"/
fi
stage "package: $(ls "$out" | tr '\n' ' ')in $out"
