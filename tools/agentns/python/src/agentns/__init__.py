# SPDX-License-Identifier: GPL-2.0
"""agentns: Python bindings for linux-wintermute agent namespaces.

Pure Python (ctypes on the C library's ``prctl``, ``setns`` and
``ioctl``)::

    import agentns

    new = agentns.create_session()          # PR_SET_AGENT_NS
    agentns.set_intent("refactor-auth")
    agentns.set_budget(agentns.Budget(syscalls=10**6, action=agentns.Action.kill))
    print(new, agentns.parent_id(), agentns.counters().openat)

    p = agentns.spawn(["make"], intent="build", no_new_privs=True,
                      budget=agentns.Budget(exec=500, action=agentns.Action.deny))

Counters, limits and actions have the names of ``/proc/PID/agent_counters``
and of the ``agentns`` command's JSON (``syscalls``, ``openat``, ...;
``log``, ``deny``, ``term``, ``kill``).  On a kernel without agent
namespaces every call raises :class:`NotSupportedError`.  See
Documentation/userspace-api/agent_namespaces.rst for the ABI.
"""

from . import abi, listing, nsfs, proc, provenance
from ._core import (
    check_intent,
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
    set_no_new_privs,
    spawn,
    structure_version,
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
from .listing import SessionInfo, Snapshot, Sources, TreeNode
from .nsfs import Ancestors, NsFile, listns
from .proc import read_counters, read_intent, read_ns_inode, read_ns_link, read_session
from .types import Action, Budget, Counters, SessionId

__version__ = "0.2.0"

__all__ = [
    "Action",
    "AgentNSError",
    "AgentNSPermissionError",
    "Ancestors",
    "Budget",
    "Counters",
    "DisabledError",
    "InvalidArgumentError",
    "LimitError",
    "NoSuchTaskError",
    "NotSupportedError",
    "NsFile",
    "SessionId",
    "SessionInfo",
    "SizeError",
    "Snapshot",
    "Sources",
    "TreeNode",
    "abi",
    "check_intent",
    "counters",
    "create_session",
    "enter_fd",
    "enter_pid",
    "get_budget",
    "get_intent",
    "is_supported",
    "list_sessions",
    "listing",
    "listns",
    "nsfs",
    "open_ns",
    "parent_id",
    "proc",
    "provenance",
    "read_counters",
    "read_intent",
    "read_ns_inode",
    "read_ns_link",
    "read_session",
    "session_id",
    "set_budget",
    "set_intent",
    "set_no_new_privs",
    "spawn",
    "structure_version",
]


def list_sessions() -> Snapshot:
    """Every live session the caller can find, with how they nest
    (``agentns ls``): :meth:`Snapshot.collect`."""
    return Snapshot.collect()
