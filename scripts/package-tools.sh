#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The userspace tools as Debian packages, for `dpkg -i` on Debian bookworm or later:
#
#   scripts/package-tools.sh OUTDIR
#
# OUTDIR/agentns_VERSION_amd64.deb        the agentns command (tools/agentns/cli, static,
#                                         built by scripts/build-cli.sh), its manual page
#                                         (tools/agentns/man/agentns.1) and bash completion;
#                                         VERSION is the crate's
# OUTDIR/python3-agentns_VERSION_all.deb  the pure-Python package tools/agentns/python/src/agentns
#                                         in /usr/lib/python3/dist-packages; VERSION is
#                                         pyproject.toml's
#
# Each is a staged tree built with `dpkg-deb --build --root-owner-group` (no debhelper): files
# owned by root, modes 0644 and 0755, timestamps from SOURCE_DATE_EPOCH (default: the last
# commit's).  A warning from dpkg-deb is an error.  scripts/tests/package-tools.sh checks them.
. "$(dirname "$0")/common.sh"

[ $# = 1 ] || die "usage: $0 OUTDIR"
[ "$(uname -m)" = x86_64 ] || die "the packages are amd64: build them on an x86_64 machine (this is $(uname -m))"
for t in dpkg-deb gzip; do
	command -v "$t" >/dev/null || die "$t not found"
done
mkdir -p "$1"
out=$(cd "$1" && pwd)
CARGO=${CARGO:-$(command -v cargo || echo "$CARGO_HOME/bin/cargo")}
[ -x "$CARGO" ] || die "cargo not found (install rustup, or set CARGO)"
export CARGO
WS=$AGENTNS_ROOT/tools/agentns
PY=$WS/python
MAINTAINER='agentns <agentns@localhost>'
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$AGENTNS_ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}
export SOURCE_DATE_EPOCH
umask 022

work=$(mktemp -d "${TMPDIR:-/tmp}/package-tools.XXXXXX")
trap 'rm -rf "$work"' EXIT

# installed_size ROOT: Installed-Size as dpkg-gencontrol counts it, in KiB: each regular
# file rounded up to a KiB, 1 for every other entry (directories, links); DEBIAN/ left out.
installed_size() {
	find "$1" -mindepth 1 -path "$1/DEBIAN" -prune -o -type f -printf '%s\n' -o -printf '1024\n' |
		awk '{ kb += int(($1 + 1023) / 1024) } END { print kb + 0 }'
}

# build_deb ROOT DEB: fixed timestamps, then dpkg-deb, whose warnings fail the build.
build_deb() {
	local root=$1 deb=$2 err
	find "$root" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +
	err=$work/dpkg-deb.err
	dpkg-deb --build --root-owner-group "$root" "$deb" >&2 2>"$err" ||
		{ cat "$err" >&2; die "dpkg-deb --build failed for $deb"; }
	if [ -s "$err" ]; then
		cat "$err" >&2
		die "dpkg-deb warned while building $deb"
	fi
}

# The copyright file's GPL-2.0 part, for both packages.
gpl2_notice() {
	cat <<-EOF
	Copyright: the agentns authors
	License: GPL-2.0-only

	 This program is free software; you can redistribute it and/or modify it
	 under the terms of the GNU General Public License version 2 as published
	 by the Free Software Foundation.

	 This program is distributed in the hope that it will be useful, but
	 WITHOUT ANY WARRANTY; without even the implied warranty of
	 MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the GNU
	 General Public License for more details.

	 On Debian systems, the complete text of the GNU General Public License
	 version 2 can be found in /usr/share/common-licenses/GPL-2.
	EOF
}

############################################################################
# agentns: the command.

bash "$AGENTNS_ROOT/scripts/build-cli.sh" --no-tests "$work/cli"
bin=$work/cli/agentns
stage "package-tools: agentns"
version=$("$CARGO" metadata --manifest-path "$WS/Cargo.toml" --locked --no-deps --format-version 1 |
	grep -o '"name":"agentns-cli","version":"[^"]*"' | sed 's/.*"version":"\([^"]*\)"/\1/')
[ -n "$version" ] || die "no version for agentns-cli in cargo metadata"
[ "$("$bin" --version)" = "agentns $version" ] ||
	die "$bin --version says \"$("$bin" --version)\", the crate is $version"

root=$work/agentns
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/man/man1" \
	"$root/usr/share/bash-completion/completions" "$root/usr/share/doc/agentns"
install -m 0755 "$bin" "$root/usr/bin/agentns"

# The manual page, with the crate's version in its footer.
man=$WS/man/agentns.1
sed -E "s/^(\.TH AGENTNS 1 [^ ]+ )\"agentns [^\"]*\"/\1\"agentns $version\"/" "$man" >"$work/agentns.1"
grep -q "^\.TH AGENTNS 1 [^ ]* \"agentns $version\" " "$work/agentns.1" ||
	die "$man: no '.TH AGENTNS 1 DATE \"agentns VERSION\" ...' line to put the version in"
gzip -9n <"$work/agentns.1" >"$root/usr/share/man/man1/agentns.1.gz"

# The bash completion, from the command's clap definition.
"$bin" completions bash >"$root/usr/share/bash-completion/completions/agentns"
grep -q '^[[:space:]]*complete .* agentns$' "$root/usr/share/bash-completion/completions/agentns" ||
	die "agentns completions bash printed no 'complete ... agentns' line"

# The copyright file: agentns, then what is statically linked into it.
target=x86_64-unknown-linux-gnu
crates=$(cd "$WS" && "$CARGO" tree --locked -p agentns-cli -e normal,no-proc-macro \
	--target "$target" --prefix none --format '{p}|{l}' | sed 's/ (\*)$//' |
	grep -v '^agentns\(-cli\)\? ' | sort -u)
[ -n "$crates" ] || die "cargo tree listed no crates for agentns-cli"
rustc=$(dirname "$CARGO")/rustc
[ -x "$rustc" ] || rustc=rustc
rustc_version=$("$rustc" --version 2>/dev/null | awk '{print $2}' || true)
# The static C library is libc6-dev's, which Built-Using names (its LGPL asks for the source).
glibc=$(dpkg-query -W -f='${source:Version}' libc6-dev 2>/dev/null || true)
{
	echo "agentns: the command of the agentns userspace tools for the agent"
	echo "namespaces of linux-wintermute kernels (tools/agentns in its tree)."
	echo
	gpl2_notice
	echo
	echo "/usr/bin/agentns is statically linked.  It also contains:"
	echo
	echo " - the Rust standard library${rustc_version:+ (rustc $rustc_version)}: MIT OR Apache-2.0"
	echo " - the GNU C Library${glibc:+ $glibc}: LGPL-2.1-or-later; on Debian systems in"
	echo "   /usr/share/common-licenses/LGPL-2.1"
	echo "$crates" | awk -F'|' '{ printf " - the Rust crate %s: %s\n", $1, $2 }'
	cat <<-'EOF'

	 Those under Apache-2.0 (alone or as one choice) are used under it: on
	 Debian systems in /usr/share/common-licenses/Apache-2.0; those that may
	 be used under the Unlicense are used under it.  The license files of
	 the others, and NOTICE files, follow.
	EOF
	echo "$crates" | while IFS='|' read -r p lic; do
		name=${p% v*} ver=${p##* v}
		dir=$(ls -d "$CARGO_HOME"/registry/src/*/"$name-$ver" 2>/dev/null | head -n1 || true)
		files=()
		if [ -n "$dir" ]; then
			for f in "$dir"/NOTICE*; do [ -f "$f" ] && files+=("$f"); done
		fi
		case " OR $lic OR " in
		*" OR Apache-2.0 OR "* | *" OR Unlicense OR "*) ;;
		*)
			if [ -n "$dir" ]; then
				for f in "$dir"/LICENSE* "$dir"/LICENCE* "$dir"/COPYING*; do
					case $f in *APACHE* | *Apache* | *apache*) continue ;; esac
					[ -f "$f" ] && files+=("$f")
				done
			fi
			[ ${#files[@]} -gt 0 ] || files+=(none)
			;;
		esac
		for f in "${files[@]}"; do
			echo
			echo "-- $name $ver ($lic): ${f##*/}"
			echo
			if [ "$f" = none ]; then
				echo "   (no license file in the crate's sources; see the crate)"
			else
				awk '{ sub(/[[:space:]]+$/, ""); print (length ? "   " $0 : "") }' "$f"
			fi
		done
	done
} >"$root/usr/share/doc/agentns/copyright"

cat >"$root/DEBIAN/control" <<EOF
Package: agentns
Version: $version
Architecture: amd64
Maintainer: $MAINTAINER
Installed-Size: $(installed_size "$root")
${glibc:+Built-Using: glibc (= $glibc)
}Section: admin
Priority: optional
Description: run, inspect and trace agent namespace sessions
 agentns is the command of agent namespaces, the sessions of
 linux-wintermute kernels: a session groups the processes that a
 supervisor started for one job (an AI agent and everything it spawns,
 say), and the kernel identifies, accounts and limits them as a whole.
 .
 agentns runs a command in a new session with an intent tag and a budget
 (limits on system calls, files opened, bytes written and read, connects,
 removals, forks, executions and age, with an action: log, deny, SIGTERM
 or SIGKILL), enters existing sessions, shows, lists and watches them (ls,
 top), signals every process of a session, exports their counters as
 Prometheus metrics, streams the agent_ns tracepoints, and tells which
 session created a file.
 .
 It needs a kernel with agent namespaces (CONFIG_AGENT_NS); on any other
 kernel "agentns status" says what is missing.  The binary is statically
 linked.
EOF
deb=$out/agentns_${version}_amd64.deb
build_deb "$root" "$deb"

############################################################################
# python3-agentns: the Python package.

stage "package-tools: python3-agentns"
pyproject=$PY/pyproject.toml
# pyfield KEY: a string of pyproject.toml's [project] table.
pyfield() {
	sed -n '/^\[project\]/,/^\[/s/^'"$1"' *= *"\(.*\)"$/\1/p' "$pyproject"
}
pyversion=$(pyfield version)
[ -n "$pyversion" ] || die "$pyproject: no version in [project]"
grep -qx "__version__ = \"$pyversion\"" "$PY/src/agentns/__init__.py" ||
	die "$PY/src/agentns/__init__.py: __version__ is not $pyversion as in $pyproject"
requires=$(pyfield requires-python)
case $requires in
">="[0-9]*.[0-9]*) pydep="python3 (>= ${requires#>=})" ;;
*) die "$pyproject: requires-python \"$requires\" is not >=X.Y" ;;
esac
# Pure Python: a compiled module would need an architecture and python3 ABI dependencies.
grep -q '^dependencies = \[\]' "$pyproject" ||
	die "$pyproject: the package has dependencies; put them into Depends"
ext=$(find "$PY/src/agentns" -name __pycache__ -prune -o -type f \
	\( -name '*.so' -o -name '*.c' -o -name '*.pyx' -o -name '*.pyd' \) -print)
[ -z "$ext" ] || die "compiled parts in the Python package, which is packaged as pure Python: $ext"

root=$work/python3-agentns
site=$root/usr/lib/python3/dist-packages
install -d "$root/DEBIAN" "$site" "$root/usr/share/doc/python3-agentns"
# The sources only: no __pycache__ (postinst compiles them, prerm removes what it made).
(cd "$PY/src" && find agentns -name __pycache__ -prune -o -type f \( -name '*.py' -o -name py.typed \) -print) |
	sort | while read -r f; do
		install -D -m 0644 "$PY/src/$f" "$site/$f"
	done
[ -f "$site/agentns/__init__.py" ] || die "no agentns/__init__.py staged"
# The distribution's metadata, for importlib.metadata and pip.
dist=$site/agentns-$pyversion.dist-info
install -d "$dist"
{
	echo "Metadata-Version: 2.1"
	echo "Name: $(pyfield name)"
	echo "Version: $pyversion"
	echo "Summary: $(pyfield description)"
	echo "License: $(pyfield license)"
	sed -n '/^classifiers = \[/,/^\]/s/^ *"\(.*\)",\?$/Classifier: \1/p' "$pyproject"
	echo "Requires-Python: $requires"
} >"$dist/METADATA"
echo agentns >"$dist/top_level.txt"
chmod 0644 "$dist"/*

{
	echo "python3-agentns: Python bindings for the agent namespaces of"
	echo "linux-wintermute kernels (tools/agentns/python in its tree)."
	echo
	gpl2_notice
} >"$root/usr/share/doc/python3-agentns/copyright"

# As dh_python3 does: byte-compile after installing, remove the byte code before removal.
cat >"$root/DEBIAN/postinst" <<'EOF'
#!/bin/sh
set -e
if command -v py3compile >/dev/null 2>&1; then
	py3compile -p python3-agentns
fi
EOF
cat >"$root/DEBIAN/prerm" <<'EOF'
#!/bin/sh
set -e
if command -v py3clean >/dev/null 2>&1; then
	py3clean -p python3-agentns
else
	rm -rf /usr/lib/python3/dist-packages/agentns/__pycache__
fi
EOF
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm"

cat >"$root/DEBIAN/control" <<EOF
Package: python3-agentns
Version: $pyversion
Architecture: all
Maintainer: $MAINTAINER
Installed-Size: $(installed_size "$root")
Depends: $pydep
Section: python
Priority: optional
Description: Python bindings for agent namespaces (linux-wintermute)
 Pure-Python bindings (ctypes, no compiled extension) for the agent
 namespaces of linux-wintermute kernels: the PR_*AGENT* prctl(2) options,
 setns(2) into a session, the nsfs ioctls and listns(2) on
 /proc/PID/ns/agent, and the /proc/PID/agent_* files; spawn() runs a
 command in a session of its own, with an intent tag and a budget.
 .
 This package provides the agentns module for Python 3.  The agentns
 package has the command-line tool.
EOF
pydeb=$out/python3-agentns_${pyversion}_all.deb
build_deb "$root" "$pydeb"

stage "package-tools: $deb ($(du -h "$deb" | cut -f1)), $pydeb ($(du -h "$pydeb" | cut -f1))"
