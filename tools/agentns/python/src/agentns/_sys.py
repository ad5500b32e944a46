# SPDX-License-Identifier: GPL-2.0
"""The C library through ctypes: prctl(2), setns(2), ioctl(2), syscall(2),
and the errno-to-exception step every call shares."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
from typing import Any, Optional

from . import abi, errors
from .errors import AgentNSError

_SYS_SETNS_X86_64 = 308


def _load_libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "prctl"):  # a statically linked interpreter
        name = ctypes.util.find_library("c")
        if not name:
            raise ImportError("agentns: cannot find the C library for prctl(2)")
        libc = ctypes.CDLL(name, use_errno=True)
    libc.prctl.restype = ctypes.c_int
    libc.syscall.restype = ctypes.c_long
    libc.ioctl.restype = ctypes.c_int
    return libc


libc = _load_libc()
_ulong = ctypes.c_ulong


def prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> int:
    """prctl(2): 0 or more, or -errno."""
    ret = libc.prctl(ctypes.c_int(option), _ulong(a2), _ulong(a3), _ulong(a4), _ulong(a5))
    return -ctypes.get_errno() if ret < 0 else ret


def setns(fd: int, nstype: int) -> int:
    """setns(2): 0 or -errno."""
    if hasattr(libc, "setns"):
        ret = libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype))
    else:  # pragma: no cover - every libc this runs on has setns()
        ret = libc.syscall(_ulong(_SYS_SETNS_X86_64), _ulong(fd), _ulong(nstype))
    return -ctypes.get_errno() if ret < 0 else 0


def ioctl(fd: int, request: int, arg: Any = None) -> int:
    """ioctl(2) with no argument or a ctypes pointer: 0 or more, or -errno."""
    if arg is None:
        ret = libc.ioctl(ctypes.c_int(fd), _ulong(request), _ulong(0))
    else:
        ret = libc.ioctl(ctypes.c_int(fd), _ulong(request), arg)
    return -ctypes.get_errno() if ret < 0 else ret


def addr(obj: Any) -> int:
    return ctypes.addressof(obj)


def is_supported() -> bool:
    """True when the running kernel has agent namespaces (enabled or not).

    ``PR_GET_AGENT_SESSION_ID`` never fails with ``EINVAL`` on a kernel that
    has them, and always does on one that has not.
    """
    buf = (ctypes.c_uint8 * abi.AGENT_NS_ID_BYTES)()
    return prctl(abi.PR_GET_AGENT_SESSION_ID, addr(buf)) != -errno.EINVAL


def error(ret: int, operation: str, einval: Optional[str] = None) -> AgentNSError:
    """The exception for a failed agent namespace call: ``EINVAL`` on a
    kernel without the feature is :class:`NotSupportedError`."""
    err = -ret
    if err == errno.EINVAL:
        if not is_supported():
            return errors.not_supported(operation)
        return errors.from_errno(err, operation, einval)
    return errors.from_errno(err, operation)


def threads() -> int:
    """The number of threads of this process."""
    # Binary: a text-mode open() may import a codec, which can fail (e.g.
    # after dropping privileges) and would hide the error being reported.
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Threads:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 1
