# SPDX-License-Identifier: GPL-2.0
"""The caller's session: the ``PR_*AGENT*`` prctl(2) options, and
:func:`spawn`, a command in a new session of its own."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import subprocess
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import abi, errors
from ._sys import addr as _addr
from ._sys import error as _error
from ._sys import is_supported
from ._sys import prctl as _prctl
from ._sys import threads as _threads
from .errors import AgentNSError
from .nsfs import enter_fd, enter_pid, open_ns
from .types import Budget, Counters, Intent, SessionId

__all__ = [
    "check_intent",
    "counters",
    "create_session",
    "enter_fd",
    "enter_pid",
    "get_budget",
    "get_intent",
    "is_supported",
    "open_ns",
    "parent_id",
    "session_id",
    "set_budget",
    "set_intent",
    "set_no_new_privs",
    "spawn",
    "structure_version",
]

PR_SET_NO_NEW_PRIVS = 38  # <linux/prctl.h>

# What this kernel takes for struct agent_ns_counters and agent_ns_budget,
# found out by the first call that needed to know: "version" 1 (the size
# of version 1 is taken) or 0 (EINVAL for it: a kernel of the first
# published ABI), and "v0_exact", how to ask for version 0 there: 0 with
# the size argument 0, which the ABI defines as version 0; 1 with the
# version-0 size itself, for a kernel that wants it spelt out.
_structs: Dict[str, Optional[int]] = {"version": None, "v0_exact": None}


def _reset_structure_version() -> None:
    """Forgets what :func:`structure_version` found (for tests)."""
    _structs["version"] = None
    _structs["v0_exact"] = None


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


def set_no_new_privs() -> None:
    """Sets ``no_new_privs`` (``PR_SET_NO_NEW_PRIVS``), which lets a process
    without ``CAP_SYS_ADMIN`` create sessions.  It cannot be unset, and it
    is inherited by every child."""
    ret = _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if ret < 0:
        raise errors.from_errno(-ret, "prctl(PR_SET_NO_NEW_PRIVS)",
                                "the kernel refused to set no_new_privs")


def create_session() -> SessionId:
    """Creates a child session of the caller's and moves the caller into it
    (``PR_SET_AGENT_NS``); returns the new session's id.

    Needs ``CAP_SYS_ADMIN`` or ``no_new_privs`` (:func:`set_no_new_privs`)
    and a single-threaded process: a Python program that has started
    threads cannot (:func:`spawn` can: its child is a new process).
    """
    ret = _prctl(abi.PR_SET_AGENT_NS)
    if ret < 0:
        hint = None
        if _threads() > 1:
            hint = ("the caller is multi-threaded; create the session before starting "
                    "threads, or use spawn()")
        if ret == -errno.EPERM:
            raise errors.from_errno(
                errno.EPERM,
                "prctl(PR_SET_AGENT_NS)",
                "creating a session needs CAP_SYS_ADMIN or no_new_privs "
                "(set_no_new_privs(), spawn(no_new_privs=True))",
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


_INTENT_HINT = (
    "an intent tag is at most %d printable ASCII bytes (0x20-0x7e), "
    "and the initial session has none" % abi.AGENT_NS_INTENT_MAX
)


def _intent_bytes(tag: Intent) -> bytes:
    raw = tag.encode("utf-8") if isinstance(tag, str) else bytes(tag)
    if b"\0" in raw:
        raise errors.InvalidArgumentError(
            errno.EINVAL, "an intent tag cannot contain a NUL byte", "set_intent"
        )
    return raw


def check_intent(tag: Intent) -> None:
    """Checks an intent tag as the kernel will (at most 63 bytes of
    printable ASCII): :class:`InvalidArgumentError` otherwise."""
    raw = _intent_bytes(tag)
    if len(raw) > abi.AGENT_NS_INTENT_MAX or any(not 0x20 <= b <= 0x7E for b in raw):
        raise errors.InvalidArgumentError(
            errno.EINVAL, "%r: %s" % (tag, _INTENT_HINT.split(",")[0]), "check_intent"
        )


def set_intent(tag: Intent) -> None:
    """Sets the caller's session's intent tag; ``""`` clears it.

    The kernel takes at most 63 printable ASCII bytes and refuses the
    initial session: :class:`InvalidArgumentError` (a ``ValueError`` with
    ``errno`` ``EINVAL``) otherwise.
    """
    buf = ctypes.create_string_buffer(_intent_bytes(tag))
    ret = _prctl(abi.PR_SET_AGENT_INTENT_TAG, _addr(buf))
    if ret < 0:
        raise _error(ret, "prctl(PR_SET_AGENT_INTENT_TAG)", _INTENT_HINT)


def _get_v0(option: int, buf: ctypes.Structure, ver0_size: int) -> int:
    """``option`` into ``buf`` as version 0: with the size the kernel took
    before, else 0 and then ``ver0_size``.  0 or -errno (of the first try)."""
    sizes = [0, ver0_size]
    if _structs["v0_exact"] is not None:
        sizes = [ver0_size if _structs["v0_exact"] else 0]
    first = 0
    for size in sizes:
        ret = _prctl(option, _addr(buf), size)
        if ret >= 0:
            _structs["v0_exact"] = int(size != 0)
            return ret
        first = first or ret
        if ret != -errno.EINVAL:
            break
    return first


def _read_struct(option: int, name: str, buf: ctypes.Structure, ver0_size: int) -> int:
    """Reads a versioned structure: the version it got (1 or 0)."""
    op = "prctl(%s)" % name
    if _structs["version"] != 0:
        ret = _prctl(option, _addr(buf), ctypes.sizeof(buf))
        if ret >= 0:
            _structs["version"] = 1
            return 1
        if ret != -errno.EINVAL or _structs["version"] == 1:
            raise _error(ret, op, "the structure size was refused")
        if not is_supported():
            raise errors.not_supported(op)
    # EINVAL for the version-1 size from a kernel that has agent
    # namespaces: one of the first published ABI, which knows version 0.
    ret = _get_v0(option, buf, ver0_size)
    if ret < 0:
        raise _error(ret, op, "the structure size was refused (sizes %d, 0 and %d)"
                     % (ctypes.sizeof(buf), ver0_size))
    _structs["version"] = 0
    return 0


def structure_version() -> int:
    """The version of ``struct agent_ns_counters`` and ``struct
    agent_ns_budget`` the running kernel knows: 1, or 0 for a kernel of the
    first published ABI, which has neither ``read_bytes`` and ``exec``
    counters nor limits past ``elapsed_ns``.  Found out once, by
    ``PR_GET_AGENT_COUNTERS``."""
    if _structs["version"] is None:
        counters()
    return int(_structs["version"] or 0)


def counters() -> Counters:
    """The caller's session's counters, its sub-sessions' included
    (``PR_GET_AGENT_COUNTERS``, version 1).  On a kernel that knows only
    version 0, ``read_bytes`` and ``exec`` are ``None``."""
    c = abi.agent_ns_counters()
    version = _read_struct(abi.PR_GET_AGENT_COUNTERS, "PR_GET_AGENT_COUNTERS", c,
                           abi.AGENT_NS_COUNTERS_SIZE_VER0)
    return Counters.from_struct(c, version)


def get_budget() -> Budget:
    """The caller's session's own budget (all zeros in the initial
    session).  On a kernel that knows only version 0 the version-1 limits
    are ``None``."""
    b = abi.agent_ns_budget()
    version = _read_struct(abi.PR_GET_AGENT_BUDGET_LIMITS, "PR_GET_AGENT_BUDGET_LIMITS", b,
                           abi.AGENT_NS_BUDGET_SIZE_VER0)
    return Budget.from_struct(b, version)


def _v1_limits_set(budget: Budget) -> List[str]:
    v0 = {n for n, f in abi.BUDGET_LIMIT_FIELDS if f not in abi.BUDGET_V1_FIELDS}
    return [n for n, v in budget.limits().items() if n not in v0 and v]


def set_budget(budget: Budget) -> None:
    """Sets the caller's session's budget.

    Limits count from now.  Tightening (a lower or new limit, a more severe
    action: ``log`` < ``deny`` < ``term`` < ``kill``) is always allowed;
    loosening needs ``CAP_SYS_ADMIN`` over the session's owner.  With a
    ``kill`` or ``term`` action and a limit already passed, the caller is
    signalled before this returns.  With ``deny`` no signal is sent: an
    operation that would pass a count limit fails with ``EDQUOT`` before it
    has any effect, a transfer is cut to what is left of a byte limit and
    later ones fail with ``EDQUOT``, and past the ``syscalls`` limit every
    system call but exit, exit_group, rt_sigreturn and restart_syscall
    fails with ``EDQUOT``.  Under every action but ``log`` a byte limit cuts
    the transfer that would pass it.

    A version-0 budget (its version-1 limits ``None``) is passed as version
    0, which leaves the session's version-1 limits as they are.  On a kernel
    that knows only version 0, a budget with a version-1 limit set raises
    :class:`SizeError` (``E2BIG``, as a newer kernel answers for limits it
    does not know); one without is set as version 0.
    """
    op = "prctl(PR_SET_AGENT_BUDGET_LIMITS)"
    b = budget.to_struct()
    if budget.version == 1 and _structs["version"] != 0:
        ret = _prctl(abi.PR_SET_AGENT_BUDGET_LIMITS, _addr(b), ctypes.sizeof(b))
        if ret >= 0:
            _structs["version"] = 1
            return
        # EINVAL: a bad argument, or a kernel that knows version 0 only.
        if (ret != -errno.EINVAL or _structs["version"] == 1 or not is_supported()
                or _probe_structure_version() != 0):
            _raise_set_budget(ret, budget)
    # Version 0: the budget has no version-1 limits, or the kernel does not.
    v1 = _v1_limits_set(budget)
    if v1:
        raise errors.SizeError(
            errno.E2BIG,
            "this kernel knows version-0 budgets only (syscalls, write_bytes, elapsed_ns): "
            "it has no %s limit; leave those at 0" % ", ".join(v1),
            op,
        )
    ret = _get_v0(abi.PR_SET_AGENT_BUDGET_LIMITS, b, abi.AGENT_NS_BUDGET_SIZE_VER0)
    if ret < 0:
        _raise_set_budget(ret, budget)


def _probe_structure_version() -> int:
    try:
        return structure_version()
    except AgentNSError:
        return 1


def _raise_set_budget(ret: int, budget: Budget) -> None:
    op = "prctl(PR_SET_AGENT_BUDGET_LIMITS)"
    if ret == -errno.EPERM:
        raise errors.from_errno(
            errno.EPERM, op,
            "loosening a budget (raising or removing a limit, or changing the action "
            "other than from log or to kill) needs CAP_SYS_ADMIN over the session's owner",
        )
    raise _error(
        ret, op,
        "unknown action %s (a kernel older than the deny action refuses deny), "
        "or a budget for the initial session" % (budget.action,),
    )


# --- spawn -------------------------------------------------------------------

_TRAMPOLINE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_trampoline.py")
# The trampoline's exit status when it could not set the session up (the
# agentns command's EXIT_SETUP).
EXIT_SETUP = 125

StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def _command(args: Union[StrPath, Sequence[StrPath]], shell: bool,
             executable: Optional[StrPath]) -> Tuple[StrPath, List[StrPath]]:
    """(program, argv) as subprocess.Popen would run them."""
    if isinstance(args, (str, bytes, os.PathLike)):
        argv: List[StrPath] = [args]
    else:
        argv = list(args)
    if shell:
        argv = ["/bin/sh", "-c"] + argv
        if executable is not None:
            argv[0] = executable
    if not argv:
        raise ValueError("spawn() needs a command")
    return (executable if executable is not None else argv[0]), argv


def spawn(
    args: Union[StrPath, Sequence[StrPath]],
    *,
    intent: Optional[Intent] = None,
    budget: Optional[Budget] = None,
    no_new_privs: bool = False,
    **popen_kwargs: Any,
) -> "subprocess.Popen[Any]":
    """Starts ``args`` in a new session of its own, with an intent tag and
    a budget, and returns its :class:`subprocess.Popen` (whose keyword
    arguments it takes: ``stdout``, ``env``, ``cwd``, ``shell``,
    ``executable``, ``pass_fds``, ...).  The Popen has a ``session_id``
    attribute, the new session's :class:`SessionId`.

    ``no_new_privs=True`` sets ``no_new_privs`` first, which lets a process
    without ``CAP_SYS_ADMIN`` create the session (the command keeps it).

    The session is set up by a small Python program that the command then
    replaces (``agentns/_trampoline.py``, run with ``sys.executable``): no
    ``preexec_fn``, which is not safe in a program with threads, and the
    caller may have threads.  The budget is set last, just before the exec,
    so its limits count the exec and what follows.  Like Popen, this
    returns once the command runs; a failure to set the session up raises
    its :class:`AgentNSError` here (the program exits with status 125), and
    a command that cannot be executed the :class:`OSError` Popen would
    raise (``FileNotFoundError``, ...).
    """
    if popen_kwargs.get("close_fds") is False:
        raise TypeError("spawn() passes descriptors with pass_fds and needs close_fds=True; "
                        "name the descriptors the command needs in pass_fds")
    if intent is not None:
        check_intent(intent)
    if budget is not None and not isinstance(budget, Budget):
        raise TypeError("budget must be an agentns.Budget, not %r" % (budget,))
    program, argv = _command(args, bool(popen_kwargs.pop("shell", False)),
                             popen_kwargs.pop("executable", None))
    if not sys.executable:
        raise RuntimeError("spawn() runs the session setup with sys.executable, "
                           "which this interpreter does not know")
    config: Dict[str, Any] = {
        "intent": None if intent is None else _intent_bytes(intent).decode("ascii"),
        "budget": None if budget is None else dict(budget.limits(), action=int(budget.action)),
        "no_new_privs": bool(no_new_privs),
        "restore_signals": bool(popen_kwargs.get("restore_signals", True)),
    }
    blob = json.dumps(config).encode("ascii")
    config_r, config_w = os.pipe()
    status_r, status_w = os.pipe()
    try:
        # A few hundred bytes: the pipe takes them all before anyone reads.
        os.write(config_w, blob)
        os.close(config_w)
        config_w = -1
        pass_fds = tuple(popen_kwargs.pop("pass_fds", ())) + (config_r, status_w)
        cmd = [os.path.abspath(sys.executable), "-I", "-S", "-B", _TRAMPOLINE,
               str(config_r), str(status_w), program] + argv
        p = subprocess.Popen(cmd, pass_fds=pass_fds, **popen_kwargs)
        os.close(config_r)
        config_r = -1
        os.close(status_w)
        status_w = -1
        try:
            status = _read_all(status_r)
        except BaseException:
            p.kill()
            _reap(p)
            raise
    finally:
        for fd in (config_r, config_w, status_w, status_r):
            if fd >= 0:
                os.close(fd)
    sid, failure = _parse_status(status, program)
    if failure is not None or sid is None:
        _reap(p)
        if failure is None:
            failure = AgentNSError(
                errno.ECHILD,
                "the session setup (%s) ended before it created the session, %s"
                % (_TRAMPOLINE, _describe_status(p.returncode)),
                "spawn",
            )
        raise failure
    p.session_id = sid  # type: ignore[attr-defined]
    return p


def _read_all(fd: int) -> bytes:
    chunks: List[bytes] = []
    while True:
        b = os.read(fd, 4096)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def _reap(p: "subprocess.Popen[Any]") -> None:
    for f in (p.stdin, p.stdout, p.stderr):
        if f is not None:
            try:
                f.close()
            except OSError:
                pass
    p.wait()


def _describe_status(returncode: Optional[int]) -> str:
    if returncode is None:
        return "status unknown"
    if returncode < 0:
        return "killed by signal %d" % -returncode
    return "exit status %d" % returncode


def _parse_status(data: bytes, program: Any) -> Tuple[Optional[SessionId], Optional[BaseException]]:
    """What the trampoline reported: the session id (``S HEX``), and the
    exception of a failure to set up (``E JSON``) or to execute (``X JSON``)."""
    sid: Optional[SessionId] = None
    for line in data.decode("utf-8", "replace").splitlines():
        kind, _, rest = line.partition(" ")
        try:
            if kind == "S":
                sid = SessionId.from_hex(rest)
            elif kind == "E":
                e = json.loads(rest)
                cls = getattr(errors, str(e.get("class")), None)
                if not (isinstance(cls, type) and issubclass(cls, AgentNSError)):
                    cls = AgentNSError
                return sid, cls(int(e["errno"]), str(e["message"]), str(e["operation"]))
            elif kind == "X":
                e = json.loads(rest)
                err = int(e["errno"])
                exc = OSError(err, os.strerror(err), os.fsdecode(program))
                note = str(e.get("note") or "")
                if note:
                    exc.strerror = "%s (%s)" % (exc.strerror, note)
                return sid, exc
        except (ValueError, KeyError, TypeError):
            return sid, AgentNSError(errno.EPROTO, "unexpected report from the session "
                                     "setup: %r" % (line,), "spawn")
    return sid, None
