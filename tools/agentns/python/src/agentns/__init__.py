# SPDX-License-Identifier: GPL-2.0
"""agentns: Python bindings for linux-wintermute agent namespaces.

Pure Python (ctypes on the C library's ``prctl`` and ``setns``)::

    import agentns

    new = agentns.create_session()          # PR_SET_AGENT_NS
    agentns.set_intent("refactor-auth")
    agentns.set_budget(agentns.Budget(max_syscalls=10**6,
                                      action=agentns.Action.SIGKILL))
    print(new, agentns.parent_id(), agentns.counters().openat_count)

On a kernel without agent namespaces every call raises
:class:`NotSupportedError`.  See
Documentation/userspace-api/agent_namespaces.rst for the ABI.
"""

from . import abi, proc
from ._core import (
    counters,
    create_session,
    enter_fd,
    enter_pid,
    get_budget,
    get_intent,
    is_supported,
    open_ns,
    parent_id,
    session_id,
    set_budget,
    set_intent,
    spawn,
)
from .errors import (
    AgentNSError,
    AgentNSPermissionError,
    DisabledError,
    InvalidArgumentError,
    LimitError,
    NoSuchTaskError,
    NotSupportedError,
    SizeError,
)
from .proc import read_counters, read_intent, read_ns_inode, read_ns_link, read_session
from .types import Action, Budget, Counters, SessionId

__version__ = "0.1.0"

__all__ = [
    "Action",
    "AgentNSError",
    "AgentNSPermissionError",
    "Budget",
    "Counters",
    "DisabledError",
    "InvalidArgumentError",
    "LimitError",
    "NoSuchTaskError",
    "NotSupportedError",
    "SessionId",
    "SizeError",
    "abi",
    "counters",
    "create_session",
    "enter_fd",
    "enter_pid",
    "get_budget",
    "get_intent",
    "is_supported",
    "open_ns",
    "parent_id",
    "proc",
    "read_counters",
    "read_intent",
    "read_ns_inode",
    "read_ns_link",
    "read_session",
    "session_id",
    "set_budget",
    "set_intent",
    "spawn",
]
