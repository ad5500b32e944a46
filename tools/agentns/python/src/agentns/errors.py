# SPDX-License-Identifier: GPL-2.0
"""Exceptions of the agentns package.

Every error the kernel returns is raised as an :class:`AgentNSError`, an
:class:`OSError` whose ``errno`` is the kernel's, so ``except OSError``
keeps working.  The subclasses say what happened; those that match a
built-in exception (:class:`PermissionError`, :class:`ValueError`, ...)
derive from it too.
"""

import errno as _errno
import os
from typing import Dict, Optional, Type


class AgentNSError(OSError):
    """A call of the agent namespace ABI failed."""

    def __init__(self, err: int, message: str, operation: str = "") -> None:
        super().__init__(err, message)
        #: What was being done, e.g. ``"prctl(PR_SET_AGENT_NS)"``.
        self.operation = operation

    def __str__(self) -> str:
        err = self.errno or 0
        # ENOTSUP and EOPNOTSUPP are one number; the ABI says EOPNOTSUPP.
        name = _NAMES.get(err) or _errno.errorcode.get(err, str(err))
        where = self.operation + ": " if self.operation else ""
        return "%s%s (%s)" % (where, self.strerror, name)


class NotSupportedError(AgentNSError):
    """The running kernel has no agent namespaces at all (``EINVAL`` for
    every ``PR_*AGENT*`` option, no ``/proc/PID/agent_session``)."""


class DisabledError(AgentNSError):
    """Agent namespaces are turned off (``EOPNOTSUPP``):
    ``kernel.agent_ns.enabled`` is 0 or the kernel was booted with
    ``agent_ns=off``."""


class InvalidArgumentError(AgentNSError, ValueError):
    """The kernel refused an argument (``EINVAL``): a bad intent tag, an
    unknown budget action, a multi-threaded caller, a budget in the
    initial session, a file that is not an agent namespace, ..."""


class AgentNSPermissionError(AgentNSError, PermissionError):
    """Not allowed (``EPERM``, ``EACCES``): creating a session without
    ``CAP_SYS_ADMIN`` or ``no_new_privs``, loosening a budget, leaving a
    session, reading another user's intent or counters."""


class LimitError(AgentNSError):
    """No more sessions (``ENOSPC``): past the nesting depth of 32 or past
    ``user.max_agent_namespaces``."""


class SizeError(AgentNSError):
    """The kernel refused a structure size or trailing bytes (``E2BIG``)."""


class NoSuchTaskError(AgentNSError, ProcessLookupError):
    """The process does not exist or has exited (``ESRCH``, ``ENOENT``
    under ``/proc``)."""


NO_SUPPORT_HINT = (
    "this kernel has no agent namespace support; "
    "boot a linux-wintermute kernel (CONFIG_AGENT_NS=y)"
)
DISABLED_HINT = (
    "agent namespaces are disabled on this kernel "
    "(kernel.agent_ns.enabled=0 or agent_ns=off on the command line)"
)

_NAMES = {_errno.EOPNOTSUPP: "EOPNOTSUPP"}

_BY_ERRNO: Dict[int, Type[AgentNSError]] = {
    _errno.EOPNOTSUPP: DisabledError,
    _errno.EINVAL: InvalidArgumentError,
    _errno.EPERM: AgentNSPermissionError,
    _errno.EACCES: AgentNSPermissionError,
    _errno.ENOSPC: LimitError,
    _errno.E2BIG: SizeError,
    _errno.ESRCH: NoSuchTaskError,
}

_HINTS = {
    _errno.EOPNOTSUPP: DISABLED_HINT,
    _errno.ENOSPC: "no more agent sessions: nesting depth 32 or "
    "user.max_agent_namespaces reached",
    _errno.EPERM: "operation not permitted",
    _errno.EDQUOT: "refused by a budget with the deny action: a limit of "
    "this session or of one above it is used up",
}


def from_errno(
    err: int, operation: str, hint: Optional[str] = None
) -> AgentNSError:
    """The exception for ``err`` from ``operation``: its subclass by errno,
    with ``hint`` or the usual explanation as its message."""
    cls = _BY_ERRNO.get(err, AgentNSError)
    message = hint or _HINTS.get(err) or os.strerror(err)
    return cls(err, message, operation)


def not_supported(operation: str) -> NotSupportedError:
    """The exception for a kernel without agent namespaces."""
    return NotSupportedError(_errno.EINVAL, NO_SUPPORT_HINT, operation)
