# SPDX-License-Identifier: GPL-2.0
"""The agent namespace ABI of ``<linux/agent_namespaces.h>``, in ctypes.

Every value and layout here is checked against
``include/uapi/linux/agent_namespaces.h`` by ``tests/test_abi.py``.
"""

import ctypes

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


# Every constant above that the header defines, by its C name: what the
# layout test compares.
CONSTANTS = {
    name: value
    for name, value in globals().items()
    if name.isupper() and isinstance(value, int)
}

# /proc/PID/agent_counters line names, in the kernel's order, and the
# struct agent_ns_counters field each one is.
PROC_COUNTER_FIELDS = (
    ("syscalls", "total_syscalls"),
    ("openat", "openat_count"),
    ("write_bytes", "write_bytes"),
    ("connect", "connect_count"),
    ("unlink", "unlink_count"),
    ("fork", "fork_count"),
    ("read_bytes", "read_bytes"),
    ("exec", "exec_count"),
    ("elapsed_ns", "elapsed_ns"),
)
