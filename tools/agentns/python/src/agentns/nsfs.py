# SPDX-License-Identifier: GPL-2.0
"""Session namespace files (``/proc/PID/ns/agent``): the nsfs ioctls, the
walk to the parent session, setns(2), listns(2) and open_by_handle_at(2).

The ioctl numbers are encoded for the machine this runs on
(:mod:`agentns._ioctl`: not every architecture has the asm-generic
``_IOC`` layout), and so is listns(2)'s system call number
(:func:`listns_syscall_number`: alpha, mips and x32 number system calls
differently).
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import sysconfig
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

from . import _ioctl, _sys, abi, errors
from ._ioctl import IOC_GENERIC, IOC_LAYOUTS, IocLayout, io, ioc, ioc_layout, ior  # noqa: F401
from .errors import AgentNSError
from .types import Budget, Counters, SessionId

# <linux/nsfs.h>
NSIO = _ioctl.NSIO
AGENT_NS_INIT_INO = 0xEFFFFFF6
AGENT_NS_INIT_ID = 9
NS_ID_REQ_SIZE_VER0 = 32
# <linux/fcntl.h>, <linux/exportfs.h>
FD_NSFS_ROOT = -10003
FILEID_NSFS = 0xF1
# listns(2): one number on every architecture since 424, but for the
# offsets of alpha, mips and x32.
SYS_LISTNS = 470

NS_GET_USERNS = io(NSIO, 0x1)
NS_GET_PARENT = io(NSIO, 0x2)
NS_GET_NSTYPE = io(NSIO, 0x3)
NS_GET_ID = ior(NSIO, 13, 8)


def listns_syscall_number(machine: Optional[str] = None,
                          multiarch: Optional[str] = None,
                          pointer_bits: Optional[int] = None) -> int:
    """listns(2)'s number for this process: 470, but 580 on alpha,
    4470/5470/6470 for the mips o32/n64/n32 ABIs and ``0x40000000 | 470``
    for x32 (the ABI from ``sysconfig``'s ``MULTIARCH``)."""
    m = (platform.machine() if machine is None else machine).lower()
    if multiarch is None:
        multiarch = str(sysconfig.get_config_var("MULTIARCH") or "")
    if pointer_bits is None:
        pointer_bits = ctypes.sizeof(ctypes.c_void_p) * 8
    if m.startswith("alpha"):
        return SYS_LISTNS + 110
    if m.startswith("mips"):
        if "abin32" in multiarch:
            return SYS_LISTNS + 6000
        if "abi64" in multiarch or pointer_bits == 64:
            return SYS_LISTNS + 5000
        return SYS_LISTNS + 4000
    if m in ("x86_64", "amd64") and multiarch.endswith("x32"):
        return SYS_LISTNS | 0x40000000
    return SYS_LISTNS


class _NsIdReq(ctypes.Structure):
    """``struct ns_id_req`` of ``<linux/nsfs.h>``, version 0."""

    _fields_ = [
        ("size", ctypes.c_uint32),
        ("spare", ctypes.c_uint32),
        ("ns_id", ctypes.c_uint64),
        ("ns_type", ctypes.c_uint32),
        ("spare2", ctypes.c_uint32),
        ("user_ns_id", ctypes.c_uint64),
    ]


class _NsfsHandle(ctypes.Structure):
    """``struct file_handle`` with a ``struct nsfs_file_handle`` in it."""

    _fields_ = [
        ("handle_bytes", ctypes.c_uint32),
        ("handle_type", ctypes.c_int32),
        ("ns_id", ctypes.c_uint64),
        ("ns_type", ctypes.c_uint32),
        ("ns_inum", ctypes.c_uint32),
    ]


_HINTS = {
    ("ioctl", errno.ENOTTY): "not a namespace file, or the kernel lacks this nsfs ioctl",
    ("ioctl", errno.EPERM): "the namespace is outside what the caller may see "
    "(NS_GET_PARENT hands out only the caller's own session and the sessions below it)",
    ("listns", errno.ENOSYS): "this kernel has no listns(2) (Linux 6.19 or later has it)",
    ("listns", errno.EPERM): "listing needs CAP_SYS_ADMIN in the initial namespaces",
    ("listns", errno.EINVAL): "this kernel's listns(2) does not know agent namespaces",
    ("handle", errno.EPERM): "opening a namespace by its id needs CAP_SYS_ADMIN over it",
    ("handle", errno.EACCES): "opening a namespace by its id needs CAP_SYS_ADMIN over it",
    ("handle", errno.ESTALE): "the namespace no longer exists, or the caller may not "
    "open it (CAP_SYS_ADMIN in the initial user and pid namespaces)",
    ("open", errno.EACCES): "opening another process's namespace file needs ptrace access "
    "to it (same user, or CAP_SYS_PTRACE)",
    ("open", errno.EPERM): "opening another process's namespace file needs ptrace access "
    "to it (same user, or CAP_SYS_PTRACE)",
}


def _fail(kind: str, err: int, operation: str) -> AgentNSError:
    return errors.from_errno(err, operation, _HINTS.get((kind, err)))


def parent_not_visible(err: int) -> bool:
    """Whether an ``NS_GET_PARENT`` failure with ``err`` is the top of what
    the caller may see (the initial session, or a parent above the caller's
    own session) rather than an error: ``EPERM``."""
    return err == errno.EPERM


FdLike = Union[int, "NsFile", Any]


def _fileno(fd: FdLike) -> int:
    return fd if isinstance(fd, int) else int(fd.fileno())


class NsFile:
    """An open namespace file of an agent session; holding it keeps the
    session alive.  Close it with :meth:`close` or a ``with`` block."""

    def __init__(self, fd: int) -> None:
        """Takes ``fd`` over (without checking it: :meth:`from_fd` does)."""
        self._fd = fd

    # --- opening ---------------------------------------------------------

    @classmethod
    def of_pid(cls, pid: int, proc_root: str = "/proc") -> NsFile:
        """Opens ``/proc/PID/ns/agent``."""
        if not isinstance(pid, int) or pid <= 0 or not os.path.exists(
                os.path.join(proc_root, str(pid))):
            raise errors.from_errno(errno.ESRCH, "open(/proc/%s/ns/agent)" % (pid,),
                                    "there is no process with that pid")
        return cls.open(os.path.join(proc_root, str(pid), "ns", "agent"), proc_root)

    @classmethod
    def of_self(cls, proc_root: str = "/proc") -> NsFile:
        """Opens the caller's own ``/proc/self/ns/agent``."""
        return cls.open(os.path.join(proc_root, "self", "ns", "agent"), proc_root)

    @classmethod
    def open(cls, path: Union[str, "os.PathLike[str]"], proc_root: str = "/proc") -> NsFile:
        """Opens a namespace file by path (``/proc/PID/ns/agent`` or a bind
        mount of one) and checks that it is an agent session's."""
        path = os.fspath(path)
        op = "open(%s)" % path
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            if (os.path.exists(os.path.join(proc_root, "self", "ns"))
                    and not os.path.exists(os.path.join(proc_root, "self", "ns", "agent"))
                    and not _sys.is_supported()):
                raise errors.not_supported(op) from None
            raise errors.from_errno(errno.ESRCH, op, "no such process") from None
        except OSError as e:
            raise _fail("open", e.errno or errno.EIO, op) from None
        f = cls(fd)
        try:
            f._check_type(path)
        except BaseException:
            f.close()
            raise
        return f

    @classmethod
    def from_fd(cls, fd: int) -> NsFile:
        """Takes an open file descriptor over, checking that it is an agent
        session's namespace file (and closing it when it is not)."""
        f = cls(fd)
        try:
            f._check_type("file descriptor %d" % fd)
        except BaseException:
            f.close()
            raise
        return f

    @classmethod
    def by_ns_id(cls, ns_id: int) -> NsFile:
        """Opens a session by its namespace id (open_by_handle_at(2) on
        ``FD_NSFS_ROOT``), which needs ``CAP_SYS_ADMIN`` over it."""
        op = "open_by_handle_at(FD_NSFS_ROOT, ns id %d)" % ns_id
        if not hasattr(_sys.libc, "open_by_handle_at"):  # pragma: no cover
            raise errors.from_errno(errno.ENOSYS, op)
        # The kernel takes ns_type and ns_inum together or neither: leave
        # both out and check the type of what opened instead.
        h = _NsfsHandle(handle_bytes=16, handle_type=FILEID_NSFS, ns_id=ns_id)
        fd = _sys.libc.open_by_handle_at(ctypes.c_int(FD_NSFS_ROOT), ctypes.byref(h),
                                         ctypes.c_int(os.O_RDONLY | os.O_CLOEXEC))
        if fd < 0:
            raise _fail("handle", ctypes.get_errno(), op)
        f = cls(fd)
        try:
            f._check_type("ns id %d" % ns_id)
        except BaseException:
            f.close()
            raise
        return f

    def _check_type(self, what: str) -> None:
        t = self.ns_type()
        if t != abi.AGENT_NS_TYPE:
            raise errors.InvalidArgumentError(
                errno.EINVAL,
                "%s is a namespace of type %#x, not an agent session (%#x)"
                % (what, t, abi.AGENT_NS_TYPE),
                "ioctl(NS_GET_NSTYPE)",
            )

    # --- the file --------------------------------------------------------

    def fileno(self) -> int:
        if self._fd < 0:
            raise ValueError("I/O operation on a closed namespace file")
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self) -> None:
        if self._fd >= 0:
            fd, self._fd = self._fd, -1
            os.close(fd)

    def __enter__(self) -> NsFile:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - at interpreter exit
            pass

    def __repr__(self) -> str:
        return "<agentns.NsFile fd=%d>" % self._fd

    def _ioctl(self, name: str, request: int) -> int:
        ret = _sys.ioctl(self.fileno(), request)
        if ret < 0:
            raise _fail("ioctl", -ret, "ioctl(%s)" % name)
        return ret

    def ns_type(self) -> int:
        """``NS_GET_NSTYPE``: ``AGENT_NS_TYPE`` for an agent session."""
        return self._ioctl("NS_GET_NSTYPE", NS_GET_NSTYPE)

    def ns_id(self) -> int:
        """The namespace id (``NS_GET_ID``), unique among all namespaces
        since boot: what listns(2) lists."""
        v = ctypes.c_uint64()
        ret = _sys.ioctl(self.fileno(), NS_GET_ID, ctypes.byref(v))
        if ret < 0:
            raise _fail("ioctl", -ret, "ioctl(NS_GET_ID)")
        return int(v.value)

    def _read_struct(self, name: str, request: int, buf: ctypes.Structure) -> None:
        ret = _sys.ioctl(self.fileno(), request, ctypes.byref(buf))
        if ret < 0:
            raise _fail("ioctl", -ret, "ioctl(%s)" % name)

    def info(self) -> SessionInfo:
        """The session's id, parent, depth and what its budgets and the
        reaper did (``AGENT_NS_GET_INFO``), also after its last task has
        exited.  ``ENOTTY`` on a kernel older than the ioctl."""
        i = abi.agent_ns_info()
        self._read_struct("AGENT_NS_GET_INFO", abi.AGENT_NS_GET_INFO, i)
        return SessionInfo.from_struct(i)

    def counters(self) -> Counters:
        """The session's counters, its sub-sessions' included
        (``AGENT_NS_GET_COUNTERS``): readable as long as the descriptor is
        open, also after the session's last task has exited."""
        c = abi.agent_ns_counters()
        self._read_struct("AGENT_NS_GET_COUNTERS", abi.AGENT_NS_GET_COUNTERS, c)
        return Counters.from_struct(c)

    def budget(self) -> Budget:
        """The session's own budget limits (``AGENT_NS_GET_BUDGET``)."""
        b = abi.agent_ns_budget()
        self._read_struct("AGENT_NS_GET_BUDGET", abi.AGENT_NS_GET_BUDGET, b)
        return Budget.from_struct(b)

    def inode(self) -> int:
        """The nsfs inode number: what ``readlink /proc/PID/ns/agent``
        shows as ``agent:[INUM]``."""
        return os.fstat(self.fileno()).st_ino

    def is_initial(self) -> bool:
        """Whether this is the initial session."""
        return self.inode() == AGENT_NS_INIT_INO

    def parent(self) -> Optional[NsFile]:
        """The parent session (``NS_GET_PARENT``), or ``None`` at the top of
        what the caller may see.

        The kernel follows the pid namespaces' rule: it hands out the parent
        only when that is the caller's own current session or below it, and
        answers ``EPERM`` otherwise, as it does for the initial session,
        which has no parent.  So from the initial session every chain leads
        up to the initial session, while from inside a session a chain
        stops at the caller's own session, and a session outside the
        caller's subtree shows no parent at all.  ``None`` while
        :meth:`is_initial` is false means the parent exists but is not
        visible from the caller's session.
        """
        ret = _sys.ioctl(self.fileno(), NS_GET_PARENT)
        if ret < 0:
            if parent_not_visible(-ret):
                return None
            raise _fail("ioctl", -ret, "ioctl(NS_GET_PARENT)")
        return NsFile(ret)

    def ancestors(self) -> Ancestors:
        """The chain of ancestors the caller may see, parent first (see
        :meth:`parent`).

        From the initial session it ends with the initial session and its
        length is the session's depth (0 for the initial session).  From
        inside a session it ends with the caller's own session (for a
        session below it) or is empty (for the caller's own session and
        every session outside its subtree); :attr:`Ancestors.complete`
        tells the cases apart.
        """
        chain: List[NsFile] = []
        try:
            cur = self.parent()
            while cur is not None:
                chain.append(cur)
                if len(chain) > 64:
                    raise errors.InvalidArgumentError(
                        errno.ELOOP, "session chain deeper than 64", "ioctl(NS_GET_PARENT)")
                cur = cur.parent()
            top = chain[-1] if chain else self
            return Ancestors(chain, top.is_initial())
        except BaseException:
            for f in chain:
                f.close()
            raise

    def enter(self) -> None:
        """Moves the calling process into this session
        (``setns(fd, AGENT_NS_TYPE)``); the caller must be single-threaded."""
        enter_fd(self)


# The flag bits of struct agent_ns_info's "fired": bit N is the limit of
# the N-th counter.
_FIRED_NAMES = tuple(n for n, _ in abi.COUNTER_FIELDS)


@dataclass(frozen=True)
class SessionInfo:
    """What ``AGENT_NS_GET_INFO`` tells about a session (:meth:`NsFile.info`),
    under the names of the Rust library's ``nsfs::SessionInfo``."""

    #: The session's id.
    id: SessionId
    #: Its parent's id (zeros for the initial session).
    parent_id: SessionId
    #: Its depth: 0 for the initial session.
    depth: int
    #: A ``term`` or ``kill`` action of the session's own budget has fired.
    acted: bool
    #: A ``term`` or ``kill`` action of a budget above it has fired.
    acted_above: bool
    #: The reaper killed its tasks: it, or a session above it, outlived
    #: ``kernel.agent_ns.max_lifetime``.
    reaped: bool
    #: The limits of its own budget whose action fired since they were set,
    #: by counter name (``syscalls``, ``write_bytes``, ...), in the
    #: counters' order.
    fired: Tuple[str, ...]

    @classmethod
    def from_struct(cls, i: abi.agent_ns_info) -> SessionInfo:
        return cls(
            id=SessionId(bytes(i.id)),
            parent_id=SessionId(bytes(i.parent_id)),
            depth=int(i.level),
            acted=bool(i.flags & abi.AGENT_NS_INFO_ACTED),
            acted_above=bool(i.flags & abi.AGENT_NS_INFO_ACTED_ABOVE),
            reaped=bool(i.flags & abi.AGENT_NS_INFO_REAPED),
            fired=tuple(n for bit, n in enumerate(_FIRED_NAMES) if i.fired & (1 << bit)),
        )

    def as_dict(self) -> Dict[str, Any]:
        return {"id": str(self.id), "parent_id": str(self.parent_id), "depth": self.depth,
                "acted": self.acted, "acted_above": self.acted_above, "reaped": self.reaped,
                "fired": list(self.fired)}


@dataclass
class Ancestors:
    """A session's ancestors as far as the caller may see them
    (:meth:`NsFile.ancestors`).  Close them with :meth:`close` or ``with``."""

    #: The visible ancestors, parent first.
    chain: List[NsFile] = field(default_factory=list)
    #: Whether the chain reaches the top: it ends with the initial session,
    #: or the session is the initial session.  When false the sessions above
    #: the last one (above the session itself, when the chain is empty) are
    #: not visible from the caller's session.
    complete: bool = False

    @property
    def depth(self) -> Optional[int]:
        """The session's depth (0 for the initial session), when the chain
        is complete."""
        return len(self.chain) if self.complete else None

    def close(self) -> None:
        for f in self.chain:
            f.close()

    def __enter__(self) -> Ancestors:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_ns(pid: Union[int, str] = "self", proc_root: str = "/proc") -> int:
    """Opens ``/proc/PID/ns/agent``: a file descriptor (close-on-exec) that
    keeps the session alive and can be passed to :func:`enter_fd`
    (:class:`NsFile` is the same as an object)."""
    if pid == "self":
        f = NsFile.of_self(proc_root)
    else:
        f = NsFile.of_pid(int(pid), proc_root)
    fd, f._fd = f._fd, -1
    return fd


def enter_fd(fd: FdLike) -> None:
    """Moves the caller into the session of an agent namespace file
    descriptor (an int, an :class:`NsFile` or anything with ``fileno()``):
    ``setns(fd, AGENT_NS_TYPE)``."""
    ret = _sys.setns(_fileno(fd), abi.AGENT_NS_TYPE)
    if ret < 0:
        if ret == -errno.EPERM:
            raise errors.from_errno(
                errno.EPERM,
                "setns(AGENT_NS_TYPE)",
                "entering needs CAP_SYS_ADMIN over the target's owner, and "
                "leaving a session over the owner of each session left",
            )
        hint = "not an agent namespace file"
        if _sys.threads() > 1:
            hint = "the caller is multi-threaded"
        raise _sys.error(ret, "setns(AGENT_NS_TYPE)", hint)


def enter_pid(pid: int) -> None:
    """Moves the caller into the session of process ``pid``."""
    with NsFile.of_pid(pid) as f:
        f.enter()


def listns() -> List[int]:
    """The namespace ids of every live agent session the caller may see
    (listns(2) with ``ns_type = AGENT_NS``).  Without ``CAP_SYS_ADMIN`` in
    the initial namespaces the kernel lists only the caller's own session."""
    nr = listns_syscall_number()
    ids: List[int] = []
    last = 0
    n_max = 256
    buf = (ctypes.c_uint64 * n_max)()
    while True:
        req = _NsIdReq(size=NS_ID_REQ_SIZE_VER0, ns_id=last, ns_type=abi.AGENT_NS_TYPE)
        n = _sys.libc.syscall(ctypes.c_long(nr), ctypes.byref(req), buf,
                              ctypes.c_size_t(n_max), ctypes.c_uint(0))
        if n < 0:
            raise _fail("listns", ctypes.get_errno(), "listns(AGENT_NS)")
        ids.extend(int(buf[i]) for i in range(n))
        if n < n_max:
            return ids
        last = int(buf[n - 1])
