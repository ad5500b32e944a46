# SPDX-License-Identifier: GPL-2.0
"""The typed values and the errno-to-exception mapping."""

import ast
import ctypes
import errno
import os
import unittest

import _paths
import agentns
from agentns import abi, errors
from agentns.types import Action, Budget, Counters, SessionId


class SessionIds(unittest.TestCase):
    def test_hex_round_trip(self):
        raw = bytes(range(16))
        sid = SessionId(raw)
        self.assertEqual(str(sid), "000102030405060708090a0b0c0d0e0f")
        self.assertEqual(SessionId.from_hex(sid.hex), sid)
        self.assertEqual(hash(SessionId.from_hex(sid.hex)), hash(sid))
        self.assertFalse(sid.is_initial)
        self.assertTrue(SessionId(bytes(16)).is_initial)

    def test_bad_ids(self):
        for raw in (b"", bytes(15), bytes(17), "0" * 16):
            with self.assertRaises(ValueError):
                SessionId(raw)
        for text in ("", "0" * 31, "0" * 33, "A" * 32, "0x" + "0" * 30):
            with self.assertRaises(ValueError):
                SessionId.from_hex(text)


class CountersAndBudgets(unittest.TestCase):
    def test_counters_from_struct(self):
        c = abi.agent_ns_counters(*range(1, 10))
        got = Counters.from_struct(c)
        self.assertEqual(got.total_syscalls, 1)
        self.assertEqual(got.elapsed_ns, 7)
        self.assertEqual(got.exec_count, 9)

    def test_counter_deltas_wrap_like_u64(self):
        a = Counters(total_syscalls=5, openat_count=100)
        b = Counters(total_syscalls=2**64 - 3, openat_count=90)
        d = a - b
        self.assertEqual(d.total_syscalls, 8)
        self.assertEqual(d.openat_count, 10)

    def test_budget_struct_round_trip(self):
        b = Budget(max_syscalls=1, max_write_bytes=2, max_elapsed_ns=3, action=Action.SIGKILL,
                   max_openat=4, max_read_bytes=5, max_connect=6, max_unlink=7,
                   max_fork=8, max_exec=2**64 - 1)
        s = b.to_struct()
        self.assertEqual(s.reserved, 0)
        self.assertEqual(s.action, 2)
        raw = bytes(s)
        self.assertEqual(len(raw), abi.AGENT_NS_BUDGET_SIZE_VER1)
        self.assertEqual(raw[24:28], (2).to_bytes(4, "little"))
        self.assertEqual(raw[72:80], b"\xff" * 8)
        self.assertEqual(Budget.from_struct(s), b)
        self.assertIs(Budget.from_struct(s).action, Action.SIGKILL)

    def test_budget_values(self):
        self.assertTrue(Budget().unlimited)
        self.assertFalse(Budget(max_fork=1).unlimited)
        self.assertIs(Budget(action=1).action, Action.SIGTERM)
        self.assertIs(Budget(action=3).action, Action.DENY)
        self.assertEqual(Budget(action=7).action, 7)  # the kernel will say EINVAL
        self.assertNotIsInstance(Budget(action=4).action, Action)
        for bad in ({"max_syscalls": -1}, {"max_exec": 2**64}, {"action": -1},
                    {"action": 2**32}, {"max_openat": 1.5}):
            with self.assertRaises(ValueError, msg=bad):
                Budget(**bad)


class Actions(unittest.TestCase):
    def test_values_are_the_abi_numbers(self):
        self.assertEqual(int(Action.LOG), 0)
        self.assertEqual(int(Action.SIGTERM), 1)
        self.assertEqual(int(Action.SIGKILL), 2)
        self.assertEqual(int(Action.DENY), 3)
        self.assertEqual(int(Action.DENY), abi.AGENT_NS_ACTION_DENY)
        self.assertIs(Action(3), Action.DENY)
        self.assertIs(agentns.Action.DENY, Action.DENY)
        with self.assertRaises(ValueError):
            Action(4)

    def test_severity_is_log_deny_sigterm_sigkill(self):
        by_severity = sorted(Action, key=lambda a: a.severity)
        self.assertEqual(by_severity, [Action.LOG, Action.DENY, Action.SIGTERM, Action.SIGKILL])
        self.assertEqual([a.severity for a in by_severity], [0, 1, 2, 3])
        # not the numeric order: DENY is 3 but milder than SIGTERM (1)
        self.assertGreater(Action.DENY, Action.SIGTERM)
        self.assertLess(Action.DENY.severity, Action.SIGTERM.severity)

    def test_deny_budget_round_trip(self):
        b = Budget(max_openat=10, max_write_bytes=4096, action=Action.DENY)
        s = b.to_struct()
        self.assertEqual(s.action, 3)
        self.assertEqual(bytes(s)[24:28], (3).to_bytes(4, "little"))
        got = Budget.from_struct(s)
        self.assertEqual(got, b)
        self.assertIs(got.action, Action.DENY)


class Errors(unittest.TestCase):
    def test_classes_by_errno(self):
        cases = {
            errno.EOPNOTSUPP: (agentns.DisabledError, OSError),
            errno.EINVAL: (agentns.InvalidArgumentError, ValueError),
            errno.EPERM: (agentns.AgentNSPermissionError, PermissionError),
            errno.EACCES: (agentns.AgentNSPermissionError, PermissionError),
            errno.ENOSPC: (agentns.LimitError, OSError),
            errno.E2BIG: (agentns.SizeError, OSError),
            errno.ESRCH: (agentns.NoSuchTaskError, ProcessLookupError),
            errno.EFAULT: (agentns.AgentNSError, OSError),
        }
        for err, (cls, builtin) in cases.items():
            e = errors.from_errno(err, "prctl(X)")
            self.assertIs(type(e), cls)
            self.assertIsInstance(e, builtin)
            self.assertIsInstance(e, OSError)
            self.assertEqual(e.errno, err)
            self.assertIn("prctl(X)", str(e))
            name = "EOPNOTSUPP" if err == errno.EOPNOTSUPP else errno.errorcode[err]
            self.assertIn("(%s)" % name, str(e))

    def test_messages_say_what_happened(self):
        self.assertIn("disabled", str(errors.from_errno(errno.EOPNOTSUPP, "x")))
        self.assertIn("kernel.agent_ns.enabled", str(errors.from_errno(errno.EOPNOTSUPP, "x")))
        self.assertIn("depth", str(errors.from_errno(errno.ENOSPC, "x")))
        e = errors.from_errno(errno.EDQUOT, "prctl(PR_GET_AGENT_COUNTERS)")
        self.assertIs(type(e), agentns.AgentNSError)
        self.assertEqual(e.errno, errno.EDQUOT)
        self.assertIn("DENY", str(e))
        self.assertIn("(EDQUOT)", str(e))
        e = errors.not_supported("prctl(PR_SET_AGENT_NS)")
        self.assertIsInstance(e, agentns.NotSupportedError)
        self.assertNotIsInstance(e, ValueError)
        self.assertEqual(e.errno, errno.EINVAL)
        self.assertIn("boot a linux-wintermute kernel", str(e))


class Python39(unittest.TestCase):
    """The package parses as Python 3.9 (no match, no X | Y at run time)."""

    def test_sources_parse_as_3_9(self):
        src = os.path.join(_paths.SRC, "agentns")
        names = [n for n in os.listdir(src) if n.endswith(".py")]
        self.assertIn("__init__.py", names)
        for name in names:
            with open(os.path.join(src, name), encoding="utf-8") as f:
                ast.parse(f.read(), name, feature_version=(3, 9))

    def test_ctypes_sizes(self):
        self.assertEqual(ctypes.sizeof(ctypes.c_ulong), 8, "an LP64 target")


if __name__ == "__main__":
    unittest.main()
