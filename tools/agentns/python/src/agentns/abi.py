# SPDX-License-Identifier: GPL-2.0
"""The agent namespace ABI of ``<linux/agent_namespaces.h>``, in ctypes.

Every value and layout here is checked against
``include/uapi/linux/agent_namespaces.h`` by ``tests/test_abi.py``.
"""

import ctypes
from typing import Tuple

from . import _ioctl

AGENT_NS_ID_BYTES = 16
AGENT_NS_INTENT_MAX = 63
AGENT_NS_TYPE = 0x00000040

PR_AGENT_BASE = 0x41544E53  # "ATNS"
PR_GET_AGENT_SESSION_ID = PR_AGENT_BASE + 1
PR_SET_AGENT_INTENT_TAG = PR_AGENT_BASE + 2
PR_GET_AGENT_INTENT_TAG = PR_AGENT_BASE + 3
PR_SET_AGENT_BUDGET_LIMITS = PR_AGENT_BASE + 4
PR_GET_AGENT_COUNTERS = PR_AGENT_BASE + 5
PR_GET_AGENT_PARENT_ID = PR_AGENT_BASE + 6
PR_SET_AGENT_NS = PR_AGENT_BASE + 7
PR_GET_AGENT_BUDGET_LIMITS = PR_AGENT_BASE + 8

AGENT_NS_COUNTERS_SIZE_VER0 = 56
AGENT_NS_COUNTERS_SIZE_VER1 = 72

AGENT_NS_ACTION_LOG = 0
AGENT_NS_ACTION_SIGTERM = 1
AGENT_NS_ACTION_SIGKILL = 2
AGENT_NS_ACTION_DENY = 3

AGENT_NS_BUDGET_SIZE_VER0 = 32
AGENT_NS_BUDGET_SIZE_VER1 = 80


class agent_ns_counters(ctypes.Structure):
    """``struct agent_ns_counters``, version 1."""

    _fields_ = [
        ("total_syscalls", ctypes.c_uint64),
        ("openat_count", ctypes.c_uint64),
        ("write_bytes", ctypes.c_uint64),
        ("connect_count", ctypes.c_uint64),
        ("unlink_count", ctypes.c_uint64),
        ("fork_count", ctypes.c_uint64),
        ("elapsed_ns", ctypes.c_uint64),
        # version 1
        ("read_bytes", ctypes.c_uint64),
        ("exec_count", ctypes.c_uint64),
    ]


class agent_ns_budget(ctypes.Structure):
    """``struct agent_ns_budget``, version 1."""

    _fields_ = [
        ("max_syscalls", ctypes.c_uint64),
        ("max_write_bytes", ctypes.c_uint64),
        ("max_elapsed_ns", ctypes.c_uint64),
        ("action", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
        # version 1
        ("max_openat", ctypes.c_uint64),
        ("max_read_bytes", ctypes.c_uint64),
        ("max_connect", ctypes.c_uint64),
        ("max_unlink", ctypes.c_uint64),
        ("max_fork", ctypes.c_uint64),
        ("max_exec", ctypes.c_uint64),
    ]


class agent_ns_info(ctypes.Structure):
    """``struct agent_ns_info``, version 0: what ``AGENT_NS_GET_INFO``
    reads about a session."""

    _fields_ = [
        ("id", ctypes.c_uint8 * AGENT_NS_ID_BYTES),
        ("parent_id", ctypes.c_uint8 * AGENT_NS_ID_BYTES),
        ("level", ctypes.c_uint32),
        ("flags", ctypes.c_uint32),
        ("fired", ctypes.c_uint32),
        ("reserved", ctypes.c_uint32),
    ]


AGENT_NS_INFO_SIZE_VER0 = 48

AGENT_NS_INFO_ACTED = 1 << 0
AGENT_NS_INFO_ACTED_ABOVE = 1 << 1
AGENT_NS_INFO_REAPED = 1 << 2

# Bit N: the limit of the N-th field of struct agent_ns_counters fired.
AGENT_NS_FIRED_SYSCALLS = 1 << 0
AGENT_NS_FIRED_OPENAT = 1 << 1
AGENT_NS_FIRED_WRITE_BYTES = 1 << 2
AGENT_NS_FIRED_CONNECT = 1 << 3
AGENT_NS_FIRED_UNLINK = 1 << 4
AGENT_NS_FIRED_FORK = 1 << 5
AGENT_NS_FIRED_ELAPSED = 1 << 6
AGENT_NS_FIRED_READ_BYTES = 1 << 7
AGENT_NS_FIRED_EXEC = 1 << 8

# The ioctls on a session's namespace file, _IOR(NSIO, nr, struct ...),
# encoded for this machine (agentns._ioctl).
AGENT_NS_GET_INFO = _ioctl.ior(_ioctl.NSIO, 0x40, ctypes.sizeof(agent_ns_info))
AGENT_NS_GET_COUNTERS = _ioctl.ior(_ioctl.NSIO, 0x41, ctypes.sizeof(agent_ns_counters))
AGENT_NS_GET_BUDGET = _ioctl.ior(_ioctl.NSIO, 0x42, ctypes.sizeof(agent_ns_budget))

# The extended attributes the agentns LSM (CONFIG_SECURITY_AGENT_NS) sets
# on every file a task in a session creates: the session id (16 bytes) and
# the session's intent tag then (its bytes, no NUL; absent when empty).
XATTR_AGENT_SESSION_SUFFIX = "agent_session"
XATTR_NAME_AGENT_SESSION = "security.agent_session"
XATTR_AGENT_INTENT_SUFFIX = "agent_intent"
XATTR_NAME_AGENT_INTENT = "security.agent_intent"

# Every constant above that the header defines, by its C name: what the
# layout test compares.
CONSTANTS = {
    name: value
    for name, value in globals().items()
    if name.isupper() and isinstance(value, (int, str))
}


def short_name(field: str) -> str:
    """The name users see for a structure field: the counter or limit it is
    about, as ``/proc/PID/agent_counters``, the tracepoints and the
    ``agentns`` command name it (``total_syscalls`` -> ``syscalls``,
    ``openat_count`` -> ``openat``, ``max_write_bytes`` -> ``write_bytes``)."""
    if field.startswith("total_"):
        field = field[len("total_"):]
    if field.startswith("max_"):
        field = field[len("max_"):]
    if field.endswith("_count"):
        field = field[: -len("_count")]
    return field


def _names(struct: "type[ctypes.Structure]") -> Tuple[str, ...]:
    return tuple(f[0] for f in struct._fields_)


def _since_v1(struct: "type[ctypes.Structure]", ver0_size: int) -> Tuple[str, ...]:
    return tuple(name for name in _names(struct) if getattr(struct, name).offset >= ver0_size)


# (name, struct agent_ns_counters field), in the structure's order.
COUNTER_FIELDS: Tuple[Tuple[str, str], ...] = tuple(
    (short_name(name), name) for name in _names(agent_ns_counters)
)
# The fields of struct agent_ns_counters that version 0 lacks.
COUNTERS_V1_FIELDS = _since_v1(agent_ns_counters, AGENT_NS_COUNTERS_SIZE_VER0)

# (name, struct agent_ns_budget field) of every limit, in the structure's order.
BUDGET_LIMIT_FIELDS: Tuple[Tuple[str, str], ...] = tuple(
    (short_name(name), name) for name in _names(agent_ns_budget) if name.startswith("max_")
)
# The fields of struct agent_ns_budget that version 0 lacks.
BUDGET_V1_FIELDS = _since_v1(agent_ns_budget, AGENT_NS_BUDGET_SIZE_VER0)

# The order of the lines of /proc/PID/agent_counters
# (Documentation/admin-guide/agent-namespaces.rst): the structure's, but
# elapsed_ns last.
PROC_COUNTER_ORDER = (
    "syscalls", "openat", "write_bytes", "connect", "unlink", "fork",
    "read_bytes", "exec", "elapsed_ns",
)

# (/proc name, struct agent_ns_counters field), in the /proc file's order.
PROC_COUNTER_FIELDS: Tuple[Tuple[str, str], ...] = tuple(
    (n, dict(COUNTER_FIELDS)[n]) for n in PROC_COUNTER_ORDER
)
