# SPDX-License-Identifier: GPL-2.0
"""The agent namespace calls: prctl(2) and setns(2) through ctypes."""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import subprocess
from typing import Any, Optional, Sequence, Union

from . import abi, errors, proc
from .errors import AgentNSError
from .types import Budget, Counters, SessionId

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
    return libc


_libc = _load_libc()
_ulong = ctypes.c_ulong


def _prctl(option: int, a2: int = 0, a3: int = 0, a4: int = 0, a5: int = 0) -> int:
    """prctl(2): 0 or more, or -errno."""
    ret = _libc.prctl(ctypes.c_int(option), _ulong(a2), _ulong(a3), _ulong(a4), _ulong(a5))
    return -ctypes.get_errno() if ret < 0 else ret


def _setns(fd: int, nstype: int) -> int:
    """setns(2): 0 or -errno."""
    if hasattr(_libc, "setns"):
        ret = _libc.setns(ctypes.c_int(fd), ctypes.c_int(nstype))
    else:  # pragma: no cover - every libc this runs on has setns()
        ret = _libc.syscall(_ulong(_SYS_SETNS_X86_64), _ulong(fd), _ulong(nstype))
    return -ctypes.get_errno() if ret < 0 else 0


def _addr(obj: Any) -> int:
    return ctypes.addressof(obj)


def is_supported() -> bool:
    """True when the running kernel has agent namespaces (enabled or not).

    ``PR_GET_AGENT_SESSION_ID`` never fails with ``EINVAL`` on a kernel that
    has them, and always does on one that has not.
    """
    buf = (ctypes.c_uint8 * abi.AGENT_NS_ID_BYTES)()
    return _prctl(abi.PR_GET_AGENT_SESSION_ID, _addr(buf)) != -errno.EINVAL


def _error(ret: int, operation: str, einval: Optional[str] = None) -> AgentNSError:
    err = -ret
    if err == errno.EINVAL:
        if not is_supported():
            return errors.not_supported(operation)
        return errors.from_errno(err, operation, einval)
    return errors.from_errno(err, operation)


def _threads() -> int:
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


def _get_id(option: int, name: str) -> SessionId:
    buf = (ctypes.c_uint8 * abi.AGENT_NS_ID_BYTES)()
    ret = _prctl(option, _addr(buf))
    if ret < 0:
        raise _error(ret, "prctl(%s)" % name)
    return SessionId(bytes(buf))


def session_id() -> SessionId:
    """The caller's session id (``PR_GET_AGENT_SESSION_ID``)."""
    return _get_id(abi.PR_GET_AGENT_SESSION_ID, "PR_GET_AGENT_SESSION_ID")


def parent_id() -> SessionId:
    """The id of the caller's session's parent (``PR_GET_AGENT_PARENT_ID``);
    all zeros in the initial session."""
    return _get_id(abi.PR_GET_AGENT_PARENT_ID, "PR_GET_AGENT_PARENT_ID")


def create_session() -> SessionId:
    """Creates a child session of the caller's and moves the caller into it
    (``PR_SET_AGENT_NS``); returns the new session's id.

    Needs ``CAP_SYS_ADMIN`` or ``no_new_privs`` and a single-threaded
    process: a Python program that has started threads cannot.
    """
    ret = _prctl(abi.PR_SET_AGENT_NS)
    if ret < 0:
        hint = None
        if _threads() > 1:
            hint = "the caller is multi-threaded; create the session before starting threads"
        if ret == -errno.EPERM:
            raise errors.from_errno(
                errno.EPERM,
                "prctl(PR_SET_AGENT_NS)",
                "creating a session needs CAP_SYS_ADMIN or no_new_privs",
            )
        raise _error(ret, "prctl(PR_SET_AGENT_NS)", hint)
    return session_id()


def get_intent() -> str:
    """The caller's session's intent tag (``""`` when it has none)."""
    buf = ctypes.create_string_buffer(abi.AGENT_NS_INTENT_MAX + 1)
    ret = _prctl(abi.PR_GET_AGENT_INTENT_TAG, _addr(buf))
    if ret < 0:
        raise _error(ret, "prctl(PR_GET_AGENT_INTENT_TAG)")
    return buf.value.decode("ascii", "replace")


def set_intent(tag: Union[str, bytes]) -> None:
    """Sets the caller's session's intent tag; ``""`` clears it.

    The kernel takes at most 63 printable ASCII bytes and refuses the
    initial session: :class:`InvalidArgumentError` (a ``ValueError`` with
    ``errno`` ``EINVAL``) otherwise.
    """
    raw = tag.encode("utf-8") if isinstance(tag, str) else bytes(tag)
    if b"\0" in raw:
        raise errors.InvalidArgumentError(
            errno.EINVAL, "an intent tag cannot contain a NUL byte", "set_intent"
        )
    buf = ctypes.create_string_buffer(raw)
    ret = _prctl(abi.PR_SET_AGENT_INTENT_TAG, _addr(buf))
    if ret < 0:
        raise _error(
            ret,
            "prctl(PR_SET_AGENT_INTENT_TAG)",
            "an intent tag is at most %d printable ASCII bytes (0x20-0x7e), "
            "and the initial session has none" % abi.AGENT_NS_INTENT_MAX,
        )


def counters() -> Counters:
    """The caller's session's counters (``PR_GET_AGENT_COUNTERS``, version 1;
    a version-0 kernel leaves the newer ones at 0)."""
    c = abi.agent_ns_counters()
    ret = _prctl(abi.PR_GET_AGENT_COUNTERS, _addr(c), ctypes.sizeof(c))
    if ret < 0:
        raise _error(ret, "prctl(PR_GET_AGENT_COUNTERS)")
    return Counters.from_struct(c)


def get_budget() -> Budget:
    """The caller's session's budget (all zeros in the initial session)."""
    b = abi.agent_ns_budget()
    ret = _prctl(abi.PR_GET_AGENT_BUDGET_LIMITS, _addr(b), ctypes.sizeof(b))
    if ret < 0:
        raise _error(ret, "prctl(PR_GET_AGENT_BUDGET_LIMITS)")
    return Budget.from_struct(b)


def set_budget(budget: Budget) -> None:
    """Sets the caller's session's budget (the version-1 structure).

    Limits count from now.  Tightening (a lower or new limit, a more severe
    action: ``LOG`` < ``DENY`` < ``SIGTERM`` < ``SIGKILL``) is always
    allowed; loosening needs ``CAP_SYS_ADMIN`` over the session's owner.
    With a ``SIGKILL`` or ``SIGTERM`` action and a limit already passed, the
    caller is signalled before this returns.  With ``DENY`` no signal is
    sent: an operation that would pass a count limit fails with ``EDQUOT``
    before it has any effect, a transfer is cut to what is left of a byte
    limit and later ones fail with ``EDQUOT``, and past ``max_syscalls``
    every system call but exit, exit_group, rt_sigreturn and restart_syscall
    fails with ``EDQUOT``.  Under every action but ``LOG`` a byte limit cuts
    the transfer that would pass it.
    """
    b = budget.to_struct()
    ret = _prctl(abi.PR_SET_AGENT_BUDGET_LIMITS, _addr(b), ctypes.sizeof(b))
    if ret < 0:
        if ret == -errno.EPERM:
            raise errors.from_errno(
                errno.EPERM,
                "prctl(PR_SET_AGENT_BUDGET_LIMITS)",
                "loosening a budget needs CAP_SYS_ADMIN over the session's owner",
            )
        raise _error(
            ret,
            "prctl(PR_SET_AGENT_BUDGET_LIMITS)",
            "unknown action %d (a kernel older than the DENY action refuses DENY), "
            "or a budget for the initial session" % int(budget.action),
        )


def open_ns(pid: proc.Pid = "self", proc_root: str = "/proc") -> int:
    """Opens ``/proc/PID/ns/agent``: a file descriptor (close-on-exec) that
    keeps the session alive and can be passed to :func:`enter_fd`."""
    path = proc.ns_path(pid, proc_root)
    try:
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        if not os.path.exists(proc.ns_path("self", proc_root)):
            raise errors.not_supported("open(%s)" % path) from None
        raise errors.from_errno(errno.ESRCH, "open(%s)" % path, "no such process") from None
    except OSError as e:
        raise errors.from_errno(e.errno or errno.EIO, "open(%s)" % path) from None


def enter_fd(fd: int) -> None:
    """Moves the caller into the session of an agent namespace file
    descriptor: ``setns(fd, AGENT_NS_TYPE)``."""
    ret = _setns(fd, abi.AGENT_NS_TYPE)
    if ret < 0:
        if ret == -errno.EPERM:
            raise errors.from_errno(
                errno.EPERM,
                "setns(AGENT_NS_TYPE)",
                "entering needs CAP_SYS_ADMIN over the target's owner, and "
                "leaving a session over the owner of each session left",
            )
        hint = "not an agent namespace file"
        if _threads() > 1:
            hint = "the caller is multi-threaded"
        raise _error(ret, "setns(AGENT_NS_TYPE)", hint)


def enter_pid(pid: int) -> None:
    """Moves the caller into the session of process ``pid``."""
    fd = open_ns(pid)
    try:
        enter_fd(fd)
    finally:
        os.close(fd)


def spawn(
    args: Sequence[str],
    *,
    intent: Optional[str] = None,
    budget: Optional[Budget] = None,
    **popen_kwargs: Any,
) -> subprocess.Popen[Any]:
    """Starts ``args`` in a new session of its own, with an intent tag and
    a budget, as :class:`subprocess.Popen` (whose keyword arguments it
    takes).  The budget is set last, just before the exec, so its limits
    count the exec and what follows.  A failure to set the session up
    raises its :class:`AgentNSError` here.
    """
    if "preexec_fn" in popen_kwargs:
        raise TypeError("spawn() sets preexec_fn itself")
    rfd, wfd = os.pipe()

    def setup() -> None:
        try:
            create_session()
            if intent is not None:
                set_intent(intent)
            if budget is not None:
                set_budget(budget)
        except AgentNSError as e:
            msg = "%s\0%d\0%s\0%s" % (type(e).__name__, e.errno or 0, e.operation, e.strerror)
            os.write(wfd, msg.encode("utf-8", "replace"))
            raise

    try:
        try:
            return subprocess.Popen(args, preexec_fn=setup, **popen_kwargs)
        except subprocess.SubprocessError:
            os.close(wfd)
            wfd = -1
            data = os.read(rfd, 4096).decode("utf-8", "replace")
            if not data:
                raise
            name, err, operation, message = data.split("\0", 3)
            cls = getattr(errors, name, AgentNSError)
            raise cls(int(err), message, operation) from None
    finally:
        if wfd >= 0:
            os.close(wfd)
        os.close(rfd)
