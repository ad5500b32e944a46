# SPDX-License-Identifier: GPL-2.0
"""Puts the package's src/ first on sys.path and names the repository's
files the host tests read."""

import os
import sys

TESTS = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(TESTS)
SRC = os.path.join(PKG_ROOT, "src")
REPO = os.path.abspath(os.path.join(PKG_ROOT, "..", "..", ".."))
UAPI_HEADER = os.environ.get(
    "AGENTNS_UAPI_HEADER",
    os.path.join(REPO, "include", "uapi", "linux", "agent_namespaces.h"),
)

if SRC not in sys.path:
    sys.path.insert(0, SRC)


def exported_header():
    """The header as `make headers` exported it into the kernel build
    directory, or None when there is no build."""
    cache = os.environ.get("AGENTNS_CACHE", os.path.expanduser("~/.cache/agentns"))
    kver = os.environ.get("KVER", "7.3")
    path = os.path.join(
        cache, "build", "linux-%s-agentns-y" % kver, "usr", "include", "linux",
        "agent_namespaces.h",
    )
    return path if os.path.isfile(path) else None
