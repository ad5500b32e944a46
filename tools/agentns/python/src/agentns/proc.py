# SPDX-License-Identifier: GPL-2.0
"""The agent namespace files under /proc: parsing and reading.

``/proc/PID/agent_session``
    the session id: 32 lowercase hex digits and a newline
``/proc/PID/agent_intent``
    the intent tag and a newline (mode 0400, ptrace access)
``/proc/PID/agent_counters``
    one ``name value`` line per counter (mode 0400, ptrace access), in
    :data:`agentns.abi.PROC_COUNTER_ORDER`: ``syscalls``, ``openat``,
    ``write_bytes``, ``connect``, ``unlink``, ``fork``, ``read_bytes``,
    ``exec``, ``elapsed_ns`` (the names of :class:`agentns.Counters`)
``/proc/PID/ns/agent``
    the namespace file, a link that reads ``agent:[INUM]``

The files marked "ptrace access" need ``PTRACE_MODE_READ`` access to the
process, as ``/proc/PID/io`` does: another user's process (without
``CAP_SYS_PTRACE``) gives :class:`AgentNSPermissionError` with ``EACCES``.
The session id is readable for every process.

Every reader takes ``proc``, the procfs mount point, so that tests can
point it at fixture files.
"""

from __future__ import annotations

import errno
import os
import re
from typing import Dict, List, Union

from . import abi
from .errors import AgentNSError, from_errno, not_supported
from .types import Counters, SessionId

Pid = Union[int, str]

_INTENT_RE = re.compile(r"[\x20-\x7e]{0,%d}" % abi.AGENT_NS_INTENT_MAX)
_NS_LINK_RE = re.compile(r"agent:\[([0-9]+)\]")
_COUNTER_RE = re.compile(r"([a-z_]+)[ \t]+([0-9]+)")


def parse_session(text: str) -> SessionId:
    """Parses the contents of ``/proc/PID/agent_session``."""
    if not text.endswith("\n") or "\n" in text[:-1]:
        raise ValueError("agent_session is not one line: %r" % (text,))
    return SessionId.from_hex(text[:-1])


def parse_intent(text: str) -> str:
    """Parses the contents of ``/proc/PID/agent_intent`` (``""`` for none)."""
    if not text.endswith("\n") or not _INTENT_RE.fullmatch(text[:-1]):
        raise ValueError("not an agent_intent line: %r" % (text,))
    return text[:-1]


def parse_counters_dict(text: str) -> Dict[str, int]:
    """Parses ``/proc/PID/agent_counters`` into ``{name: value}``, in the
    file's order; names a newer kernel adds are kept."""
    values: Dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        m = _COUNTER_RE.fullmatch(line)
        if not m:
            raise ValueError("agent_counters line %d is not 'name value': %r" % (n, line))
        name, value = m.group(1), int(m.group(2))
        if name in values:
            raise ValueError("agent_counters names %r twice" % (name,))
        if value >= 1 << 64:
            raise ValueError("agent_counters %s is not a u64: %d" % (name, value))
        values[name] = value
    return values


def parse_counters(text: str) -> Counters:
    """Parses ``/proc/PID/agent_counters`` into :class:`Counters` (a
    version-0 kernel's file has no ``read_bytes`` and ``exec`` lines: they
    are ``None``)."""
    return Counters.from_proc_dict(parse_counters_dict(text))


def parse_ns_link(link: str) -> int:
    """The inode number of an ``agent:[INUM]`` namespace link."""
    m = _NS_LINK_RE.fullmatch(link)
    if not m:
        raise ValueError("not an agent namespace link: %r" % (link,))
    return int(m.group(1))


def _path(pid: Pid, name: str, proc: str) -> str:
    return os.path.join(proc, str(pid), name)


def _raise(e: OSError, path: str, proc: str) -> AgentNSError:
    err = e.errno or errno.EIO
    if err == errno.ENOENT:
        if not os.path.exists(os.path.join(proc, "self", "agent_session")):
            return not_supported("open(%s)" % path)
        return from_errno(errno.ESRCH, "open(%s)" % path, "no such process")
    return from_errno(err, "read(%s)" % path)


def read_file(pid: Pid, name: str, proc: str = "/proc") -> str:
    """The text of ``/proc/PID/NAME``; errors as :class:`AgentNSError`."""
    path = _path(pid, name, proc)
    try:
        # Binary, then decode: no codec import, so exactly one openat(2).
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise _raise(e, path, proc) from None
    try:
        return raw.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError("%s is not ASCII: %r" % (path, raw)) from None


def read_session(pid: Pid = "self", proc: str = "/proc") -> SessionId:
    """The session id of a process, from ``/proc/PID/agent_session``."""
    return parse_session(read_file(pid, "agent_session", proc))


def read_intent(pid: Pid = "self", proc: str = "/proc") -> str:
    """The intent tag of a process's session, from ``/proc/PID/agent_intent``
    (``""`` for none; needs ptrace read access to the process, like
    :func:`read_counters`: :class:`AgentNSPermissionError` otherwise, which
    callers that list other users' processes show as an unknown intent)."""
    return parse_intent(read_file(pid, "agent_intent", proc))


def read_counters(pid: Pid = "self", proc: str = "/proc") -> Counters:
    """The counters of a process's session, from ``/proc/PID/agent_counters``
    (needs ptrace read access to the process: :class:`AgentNSPermissionError`
    with ``EACCES`` otherwise)."""
    return parse_counters(read_file(pid, "agent_counters", proc))


def ns_path(pid: Pid = "self", proc: str = "/proc") -> str:
    """The path of a process's agent namespace file."""
    return _path(pid, "ns/agent", proc)


def read_ns_link(pid: Pid = "self", proc: str = "/proc") -> str:
    """``agent:[INUM]``: two processes are in the same session exactly when
    their links match."""
    path = ns_path(pid, proc)
    try:
        return os.readlink(path)
    except OSError as e:
        raise _raise(e, path, proc) from None


def read_ns_inode(pid: Pid = "self", proc: str = "/proc") -> int:
    """The inode number of a process's agent namespace."""
    return parse_ns_link(read_ns_link(pid, proc))


def pids(proc: str = "/proc") -> List[int]:
    """Every pid in ``/proc``, ascending."""
    try:
        names = os.listdir(proc)
    except OSError as e:
        raise from_errno(e.errno or errno.EIO, "listdir(%s)" % proc) from None
    return sorted(int(n) for n in names if n.isdigit())


def comm(pid: Pid = "self", proc: str = "/proc") -> str:
    """A process's command name (``/proc/PID/comm``), or ``""``."""
    try:
        with open(_path(pid, "comm", proc), "rb") as f:
            return f.read().decode("utf-8", "replace").rstrip("\n")
    except OSError:
        return ""
