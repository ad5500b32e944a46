# SPDX-License-Identifier: GPL-2.0
# Shared settings for the agentns scripts.  Source, do not run.

set -euo pipefail

AGENTNS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KVER=${KVER:-7.3}
CACHE=${AGENTNS_CACHE:-$HOME/.cache/agentns}
AGENT_NS=${AGENT_NS:-y}
JOBS=${JOBS:-$(( $(nproc) + 1 ))}
BINDGEN_VERSION=0.73.2
CARGO_HOME=${CARGO_HOME:-$HOME/.cargo}

# Debian suite that carries linux-source-$KVER.
case "$KVER" in
7.2) SUITE=${SUITE:-sid} ;;
*) SUITE=${SUITE:-trixie-backports} ;;
esac

SRC=$CACHE/src/linux-$KVER            # pristine extracted tree (never modified)
TREE=$CACHE/tree/linux-$KVER           # pristine + our overlay + patches
DEBUG=${DEBUG:-}                       # 1: the debug guest (scripts/debug.config)
BUILD=$CACHE/build/linux-$KVER-agentns-$AGENT_NS${KCONFIG:+-custom}${DEBUG:+-debug}
LOGDIR=$CACHE/logs
KMAKE=(make -C "$TREE" O="$BUILD" LLVM=-19 RUSTC=/usr/bin/rustc
       BINDGEN="$CARGO_HOME/bin/bindgen" -j"$JOBS")

mkdir -p "$CACHE" "$LOGDIR"

T0=${T0:-$(date +%s)}
export T0
stage() {
	printf '==> [%4ds] %s\n' "$(( $(date +%s) - T0 ))" "$*" >&2
}
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# The Debian mirror this machine's apt already uses, from its sources
# (one-line .list and deb822 .sources files): the scripts' private apt
# configurations and the system image fetch from it, never from a host
# named here.
debian_mirror() {
	local uri
	uri=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources |
			sed 's/^URIs:[[:space:]]*//' | tr ' ' '\n'
		grep -hs '^deb[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/*.list |
			sed -E 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+).*/\2/'
	} | grep -E '^https?://.*/debian/?$' | head -n1 || true)
	[ -n "$uri" ] || die "no Debian mirror in this machine's apt sources (/etc/apt/sources.list*)"
	echo "${uri%/}"
}
