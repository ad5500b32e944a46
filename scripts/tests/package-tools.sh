#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# scripts/package-tools.sh builds the agentns and python3-agentns Debian packages: their
# control fields, their files (owned by root, modes 0644 and 0755, no byte code), the
# packaged command runs, its manual page renders without warnings and documents every
# subcommand and long option of its --help, the bash completion parses, and the Python
# package imports from the extracted dist-packages.  Fast when cargo's build is cached.
. "$(dirname "$0")/../common.sh"

PY=${PYTHON:-python3}
for t in dpkg-deb groff man "$PY"; do
	command -v "$t" >/dev/null || die "$t not found (groff-base, man-db, dpkg, python3)"
done
CARGO=${CARGO:-$(command -v cargo || echo "$CARGO_HOME/bin/cargo")}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT

bash "$AGENTNS_ROOT/scripts/package-tools.sh" "$W/out" >"$W/log" 2>&1 ||
	{ tail -n 30 "$W/log"; die "scripts/package-tools.sh failed"; }
grep '^dpkg-deb: warning' "$W/log" && die "dpkg-deb warned"

version=$("$CARGO" metadata --manifest-path "$AGENTNS_ROOT/tools/agentns/Cargo.toml" --locked \
	--no-deps --format-version 1 |
	grep -o '"name":"agentns-cli","version":"[^"]*"' | sed 's/.*"version":"\([^"]*\)"/\1/')
pyproject=$AGENTNS_ROOT/tools/agentns/python/pyproject.toml
pyversion=$(sed -n '/^\[project\]/,/^\[/s/^version *= *"\(.*\)"$/\1/p' "$pyproject")
requires=$(sed -n '/^\[project\]/,/^\[/s/^requires-python *= *">=\(.*\)"$/\1/p' "$pyproject")
[ -n "$version" ] && [ -n "$pyversion" ] && [ -n "$requires" ] ||
	die "no versions: agentns-cli '$version', pyproject '$pyversion', requires-python '$requires'"
deb=$W/out/agentns_${version}_amd64.deb
pydeb=$W/out/python3-agentns_${pyversion}_all.deb
[ -f "$deb" ] || die "no $(basename "$deb"): $(ls "$W/out")"
[ -f "$pydeb" ] || die "no $(basename "$pydeb"): $(ls "$W/out")"
[ "$(ls "$W/out" | wc -l)" = 2 ] || die "not two packages: $(ls "$W/out")"

# field DEB NAME VALUE: the control field NAME of DEB is VALUE.
field() {
	local v
	v=$(dpkg-deb -f "$1" "$2")
	[ "$v" = "$3" ] || die "$(basename "$1"): $2 is '$v', not '$3'"
}
# common DEB: what both packages have.
common() {
	local d=$1 size files
	field "$d" Maintainer 'agentns <agentns@localhost>'
	field "$d" Priority optional
	[ -z "$(dpkg-deb -f "$d" Homepage)" ] || die "$(basename "$d") has a Homepage"
	[ "$(dpkg-deb -f "$d" Description | wc -l)" -ge 3 ] ||
		die "$(basename "$d"): no long description"
	size=$(dpkg-deb -f "$d" Installed-Size)
	files=$(dpkg-deb -c "$d" | awk '$1 ~ /^-/ { s += $3 } END { print int(s / 1024) }')
	[[ $size =~ ^[0-9]+$ ]] && [ "$size" -ge "$files" ] ||
		die "$(basename "$d"): Installed-Size '$size' for $files KiB of files"
	dpkg-deb -c "$d" >"$W/contents"
	awk '$2 != "root/root"' "$W/contents" | grep . && die "$(basename "$d"): not owned by root"
	awk '$1 !~ /^(drwxr-xr-x|-rw-r--r--|-rwxr-xr-x)$/' "$W/contents" | grep . &&
		die "$(basename "$d"): modes other than 0644 and 0755"
	grep -E '\.py[co]$|__pycache__' "$W/contents" && die "$(basename "$d"): byte code"
	return 0
}
# has FILE...: the last listed package has these files.
has() {
	local f
	for f; do
		grep -q " \./${f#/}\$" "$W/contents" || die "no $f in the package"
	done
}

# agentns.
field "$deb" Package agentns
field "$deb" Version "$version"
field "$deb" Architecture amd64
field "$deb" Section admin
common "$deb"
has /usr/bin/agentns /usr/share/man/man1/agentns.1.gz \
	/usr/share/bash-completion/completions/agentns /usr/share/doc/agentns/copyright
[ "$(grep -c '^-' "$W/contents")" = 4 ] || die "agentns: other files: $(grep '^-' "$W/contents")"
grep -q '^-rwxr-xr-x .* \./usr/bin/agentns$' "$W/contents" || die "/usr/bin/agentns is not 0755"
[ "$(grep -c '^-rwx' "$W/contents")" = 1 ] || die "agentns: executables besides /usr/bin/agentns"
x=$W/agentns
dpkg-deb -x "$deb" "$x"
bin=$x/usr/bin/agentns
[ "$("$bin" --version)" = "agentns $version" ] || die "agentns --version: $("$bin" --version)"
"$bin" --help >/dev/null || die "agentns --help failed"
grep -q 'GPL-2' "$x/usr/share/doc/agentns/copyright" || die "agentns: copyright without GPL-2"

# The manual page: no warnings, this version, every subcommand and long option.
page=$x/usr/share/man/man1/agentns.1.gz
zcat "$page" >"$W/agentns.1"
warn=$(groff -man -Tutf8 -ww -z "$W/agentns.1" 2>&1)
[ -z "$warn" ] || die "groff -ww warns about agentns.1: $warn"
warn=$(MANWIDTH=80 man -l "$page" 2>&1 >/dev/null)
[ -z "$warn" ] || die "man -l warns about agentns.1: $warn"
MANWIDTH=80 man -l "$page" 2>/dev/null | tail -n 1 | grep -q "agentns $version" ||
	die "the manual page's footer does not say agentns $version"
for s in NAME SYNOPSIS DESCRIPTION COMMANDS 'EXIT STATUS' ENVIRONMENT FILES EXAMPLES 'SEE ALSO'; do
	grep -q "^\.SH \"\?$s\"\?\$" "$W/agentns.1" || die "agentns.1 has no $s section"
done
for s in unshare nsenter systemd-run prlimit proc namespaces; do
	grep -q "^\.BR ${s//-/\\\\-} (" "$W/agentns.1" || die "agentns.1: SEE ALSO has no $s"
done
subs=$("$bin" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' | grep -vx help)
[ -n "$subs" ] || die "no subcommands in agentns --help"
missing=
for s in $subs; do
	grep -q "^\.SS \"agentns $s[ \"]" "$W/agentns.1" || missing+=" $s"
	# Long options where --help defines them: "  -x, --name <V>", "      --name", "[alias: --name]".
	for o in $("$bin" "$s" --help | grep -oE '^ *(-[a-zA-Z], )?--[a-z][a-z-]*|\[alias(es)?: [^]]*\]' |
		grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		grep -qF -- "${o//-/\\-}" "$W/agentns.1" || missing+=" $s:$o"
	done
done
[ -z "$missing" ] || die "agentns.1 does not document:$missing (tools/agentns/man/agentns.1)"

# The bash completion.
comp=$x/usr/share/bash-completion/completions/agentns
bash -n "$comp" || die "bash -n refuses the completion"
bash -c '. "$1" && complete -p agentns' _ "$comp" >/dev/null || die "the completion completes nothing"

# python3-agentns.
field "$pydeb" Package python3-agentns
field "$pydeb" Version "$pyversion"
field "$pydeb" Architecture all
field "$pydeb" Section python
field "$pydeb" Depends "python3 (>= $requires)"
common "$pydeb"
site=usr/lib/python3/dist-packages
has /usr/share/doc/python3-agentns/copyright "/$site/agentns-$pyversion.dist-info/METADATA"
for f in $(cd "$AGENTNS_ROOT/tools/agentns/python/src" &&
	find agentns -name __pycache__ -prune -o -type f \( -name '*.py' -o -name py.typed \) -print); do
	has "/$site/$f"
done
grep -q '^-rwx' "$W/contents" && die "python3-agentns: executable files"
dpkg-deb --ctrl-tarfile "$pydeb" | tar -t | grep -qx './postinst' || die "python3-agentns: no postinst"
x=$W/python3-agentns
dpkg-deb -x "$pydeb" "$x"
dpkg-deb -e "$pydeb" "$x/DEBIAN"
for s in postinst prerm; do
	sh -n "$x/DEBIAN/$s" || die "python3-agentns: sh -n refuses $s"
done
grep -q 'GPL-2' "$x/usr/share/doc/python3-agentns/copyright" || die "python3-agentns: copyright without GPL-2"
got=$(PYTHONPATH=$x/$site "$PY" -B -c '
import importlib.metadata, sys
import agentns
assert agentns.__file__.startswith(sys.argv[1]), agentns.__file__
print(agentns.__version__, importlib.metadata.version("agentns"))' "$x/$site") ||
	die "python3-agentns: import agentns failed"
[ "$got" = "$pyversion $pyversion" ] || die "python3-agentns: versions '$got', not $pyversion"

echo "package-tools: agentns_${version}_amd64.deb and python3-agentns_${pyversion}_all.deb" \
	"have their fields and files; agentns runs, its manual page renders, the completion" \
	"parses, the Python package imports"
