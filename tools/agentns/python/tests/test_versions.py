# SPDX-License-Identifier: GPL-2.0
"""Versioned structures against emulated kernels: one that knows version
1, and two of the first published ABI (version 0), one that wants the
size argument 0 and one that wants the version-0 size spelt out."""

import ctypes
import errno
import struct
import unittest
from unittest import mock

import _paths  # noqa: F401  (sys.path)
import agentns
from agentns import _core, _sys, abi
from agentns.types import Action, Budget

COUNTERS = struct.pack("<9Q", *range(1, 10))


class FakeKernel:
    """prctl(2) of a kernel with agent namespaces; ``kind`` is "v1",
    "v0-zero" (arg3 must be 0, as for an option without a size) or
    "v0-exact" (arg3 must be the version-0 size)."""

    def __init__(self, kind):
        self.kind = kind
        self.calls = []
        self.budget = bytearray(abi.AGENT_NS_BUDGET_SIZE_VER1)

    def size(self, arg3, v0, v1):
        if self.kind == "v1":
            if arg3 == 0:
                return v0
            return None if arg3 < v0 else min(arg3, v1)
        if self.kind == "v0-zero":
            return v0 if arg3 == 0 else None
        return v0 if arg3 == v0 else None

    def __call__(self, option, a2=0, a3=0, a4=0, a5=0):
        self.calls.append((option, a3))
        if option == abi.PR_GET_AGENT_SESSION_ID:
            ctypes.memset(a2, 0x11, abi.AGENT_NS_ID_BYTES)
            return 0
        if option == abi.PR_GET_AGENT_COUNTERS:
            n = self.size(a3, abi.AGENT_NS_COUNTERS_SIZE_VER0, abi.AGENT_NS_COUNTERS_SIZE_VER1)
            if n is None:
                return -errno.EINVAL
            ctypes.memmove(a2, COUNTERS, n)
            return 0
        if option == abi.PR_GET_AGENT_BUDGET_LIMITS:
            n = self.size(a3, abi.AGENT_NS_BUDGET_SIZE_VER0, abi.AGENT_NS_BUDGET_SIZE_VER1)
            if n is None:
                return -errno.EINVAL
            ctypes.memmove(a2, bytes(self.budget), n)
            return 0
        if option == abi.PR_SET_AGENT_BUDGET_LIMITS:
            n = self.size(a3, abi.AGENT_NS_BUDGET_SIZE_VER0, abi.AGENT_NS_BUDGET_SIZE_VER1)
            if n is None:
                return -errno.EINVAL
            data = ctypes.string_at(a2, n)
            if struct.unpack_from("<I", data, 24)[0] > abi.AGENT_NS_ACTION_DENY:
                return -errno.EINVAL
            self.budget[:n] = data
            return 0
        return -errno.EINVAL

    def sizes(self, option):
        return [a3 for o, a3 in self.calls if o == option]


class Versions(unittest.TestCase):
    def kernel(self, kind):
        k = FakeKernel(kind)
        for target, name in ((_core, "_prctl"), (_sys, "prctl")):
            p = mock.patch.object(target, name, k)
            p.start()
            self.addCleanup(p.stop)
        _core._reset_structure_version()
        self.addCleanup(_core._reset_structure_version)
        return k

    def test_v1_kernel(self):
        k = self.kernel("v1")
        c = agentns.counters()
        self.assertEqual((c.syscalls, c.elapsed_ns, c.read_bytes, c.exec), (1, 7, 8, 9))
        self.assertEqual(agentns.structure_version(), 1)
        self.assertEqual(k.sizes(abi.PR_GET_AGENT_COUNTERS), [72])
        agentns.set_budget(Budget(syscalls=5, openat=6, action=Action.kill))
        self.assertEqual(k.sizes(abi.PR_SET_AGENT_BUDGET_LIMITS), [80])
        b = agentns.get_budget()
        self.assertEqual((b.syscalls, b.openat, b.action), (5, 6, Action.kill))
        self.assertEqual(b.version, 1)

    def test_v1_kernel_keeps_the_newer_limits_of_a_version_0_budget(self):
        k = self.kernel("v1")
        agentns.set_budget(Budget(syscalls=5, openat=6))
        v0 = agentns.get_budget().replace(syscalls=4, openat=None, read_bytes=None,
                                          connect=None, unlink=None, fork=None, exec=None)
        self.assertEqual(v0.version, 0)
        agentns.set_budget(v0)
        self.assertEqual(k.sizes(abi.PR_SET_AGENT_BUDGET_LIMITS), [80, 0])
        b = agentns.get_budget()
        self.assertEqual((b.syscalls, b.openat), (4, 6))

    def test_v1_kernel_einval_is_the_arguments(self):
        k = self.kernel("v1")
        with self.assertRaises(agentns.InvalidArgumentError) as cm:
            agentns.set_budget(Budget(action=7, openat=3))
        self.assertIn("unknown action 7", str(cm.exception))
        # probed once with the counters, not retried as version 0
        self.assertEqual(k.sizes(abi.PR_SET_AGENT_BUDGET_LIMITS), [80])
        self.assertEqual(k.sizes(abi.PR_GET_AGENT_COUNTERS), [72])
        with self.assertRaises(agentns.InvalidArgumentError):
            agentns.set_budget(Budget(action=7))
        self.assertEqual(k.sizes(abi.PR_SET_AGENT_BUDGET_LIMITS), [80, 80])

    def check_v0_kernel(self, kind, v0_sizes, budget_size):
        k = self.kernel(kind)
        c = agentns.counters()
        self.assertEqual((c.syscalls, c.elapsed_ns), (1, 7))
        self.assertIsNone(c.read_bytes)
        self.assertIsNone(c.exec)
        self.assertEqual(k.sizes(abi.PR_GET_AGENT_COUNTERS), [72] + v0_sizes)
        self.assertEqual(agentns.structure_version(), 0)
        # Known from now on: straight to version 0.
        agentns.counters()
        self.assertEqual(k.sizes(abi.PR_GET_AGENT_COUNTERS), [72] + v0_sizes + v0_sizes[-1:])
        agentns.set_budget(Budget(syscalls=9, action=Action.deny))
        self.assertEqual(k.sizes(abi.PR_SET_AGENT_BUDGET_LIMITS), [budget_size])
        b = agentns.get_budget()
        self.assertEqual((b.syscalls, b.action, b.openat, b.version), (9, Action.deny, None, 0))
        self.assertEqual(k.sizes(abi.PR_GET_AGENT_BUDGET_LIMITS), [budget_size])
        with self.assertRaises(agentns.SizeError) as cm:
            agentns.set_budget(Budget(syscalls=9, openat=1, fork=2))
        self.assertEqual(cm.exception.errno, errno.E2BIG)
        self.assertIn("no openat, fork limit", str(cm.exception))
        self.assertEqual(len(k.sizes(abi.PR_SET_AGENT_BUDGET_LIMITS)), 1)

    def test_v0_kernel_with_size_0(self):
        self.check_v0_kernel("v0-zero", [0], 0)

    def test_v0_kernel_with_the_version_0_size(self):
        self.check_v0_kernel("v0-exact", [0, 56], 32)

    def test_v0_kernel_found_by_set_budget(self):
        k = self.kernel("v0-zero")
        agentns.set_budget(Budget(write_bytes=10))
        self.assertEqual(k.sizes(abi.PR_SET_AGENT_BUDGET_LIMITS), [80, 0])
        self.assertEqual(k.sizes(abi.PR_GET_AGENT_COUNTERS), [72, 0])
        self.assertEqual(struct.unpack_from("<Q", k.budget, 8)[0], 10)

    def test_v0_kernel_found_by_get_budget(self):
        k = self.kernel("v0-exact")
        b = agentns.get_budget()
        self.assertEqual(b.version, 0)
        self.assertEqual(k.sizes(abi.PR_GET_AGENT_BUDGET_LIMITS), [80, 0, 32])


if __name__ == "__main__":
    unittest.main()
