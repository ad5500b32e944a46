# SPDX-License-Identifier: GPL-2.0
"""The typed values and the errno-to-exception mapping."""

import ast
import ctypes
import errno
import json
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
        self.assertEqual(got.syscalls, 1)
        self.assertEqual(got.elapsed_ns, 7)
        self.assertEqual(got.exec, 9)
        self.assertEqual(got.version, 1)

    def test_version_0_counters_are_unknown_past_elapsed_ns(self):
        c = abi.agent_ns_counters(*range(1, 10))
        got = Counters.from_struct(c, version=0)
        self.assertEqual(got.elapsed_ns, 7)
        self.assertIsNone(got.read_bytes)
        self.assertIsNone(got.exec)
        self.assertEqual(got.version, 0)
        d = got - Counters(syscalls=1)
        self.assertEqual(d.syscalls, 0)
        self.assertIsNone(d.exec)
        with self.assertRaises(ValueError):
            Counters(syscalls=None)

    def test_counter_deltas_wrap_like_u64(self):
        a = Counters(syscalls=5, openat=100)
        b = Counters(syscalls=2**64 - 3, openat=90)
        d = a - b
        self.assertEqual(d.syscalls, 8)
        self.assertEqual(d.openat, 10)

    def test_counter_names_are_the_proc_and_json_names(self):
        c = Counters(syscalls=1, openat=2, write_bytes=3, connect=4, unlink=5, fork=6,
                     elapsed_ns=7, read_bytes=8, exec=9)
        # agentns run --report --json / agentns ls --json: the structure's order.
        self.assertEqual(list(c.as_dict()), ["syscalls", "openat", "write_bytes", "connect",
                                             "unlink", "fork", "elapsed_ns", "read_bytes",
                                             "exec"])
        self.assertEqual(list(c.as_dict().values()), list(range(1, 10)))
        # /proc/PID/agent_counters: elapsed_ns last.
        self.assertEqual([n for n, _ in c.proc_items()], list(abi.PROC_COUNTER_ORDER))
        self.assertEqual(c.get("exec"), 9)
        with self.assertRaises(KeyError):
            c.get("exec_count")

    def test_old_counter_names_are_deprecated_aliases(self):
        c = Counters(syscalls=3, openat=4, exec=5)
        with self.assertWarns(DeprecationWarning):
            self.assertEqual(c.total_syscalls, 3)
        with self.assertWarns(DeprecationWarning):
            self.assertEqual(c.openat_count, 4)
        with self.assertWarns(DeprecationWarning):
            self.assertEqual(c.exec_count, 5)
        with self.assertWarns(DeprecationWarning):
            self.assertEqual(Budget(fork=2).max_fork, 2)
        with self.assertRaises(TypeError):
            Counters(total_syscalls=1)  # renamed, not kept for construction

    def test_budget_struct_round_trip(self):
        b = Budget(syscalls=1, write_bytes=2, elapsed_ns=3, action=Action.kill,
                   openat=4, read_bytes=5, connect=6, unlink=7, fork=8, exec=2**64 - 1)
        s = b.to_struct()
        self.assertEqual(s.reserved, 0)
        self.assertEqual(s.action, 2)
        self.assertEqual(s.max_openat, 4)
        raw = bytes(s)
        self.assertEqual(len(raw), abi.AGENT_NS_BUDGET_SIZE_VER1)
        self.assertEqual(raw[24:28], (2).to_bytes(4, "little"))
        self.assertEqual(raw[72:80], b"\xff" * 8)
        self.assertEqual(Budget.from_struct(s), b)
        self.assertIs(Budget.from_struct(s).action, Action.kill)

    def test_budget_json_is_the_clis(self):
        b = Budget(syscalls=100, action=Action.kill)
        # agentns run --report --json's "budget": the action's name, then
        # every limit in the structure's order.
        self.assertEqual(b.as_dict(), {
            "action": "kill", "syscalls": 100, "write_bytes": 0, "elapsed_ns": 0,
            "openat": 0, "read_bytes": 0, "connect": 0, "unlink": 0, "fork": 0, "exec": 0,
        })
        self.assertEqual(list(b.as_dict())[:2], ["action", "syscalls"])
        self.assertEqual(json.loads(json.dumps(b.as_dict()))["action"], "kill")
        self.assertEqual(Budget(action=4).as_dict()["action"], 4)
        self.assertEqual(list(b.limits()), [n for n, _ in abi.BUDGET_LIMIT_FIELDS])

    def test_version_0_budgets(self):
        b = Budget.from_struct(Budget(syscalls=1, openat=5).to_struct(), version=0)
        self.assertEqual(b.version, 0)
        self.assertEqual(b.syscalls, 1)
        self.assertIsNone(b.openat)
        self.assertIsNone(b.exec)
        self.assertEqual(bytes(b.to_struct())[32:], bytes(48))
        self.assertEqual(Budget().version, 1)
        v0 = {n: None for n in ("openat", "read_bytes", "connect", "unlink", "fork", "exec")}
        self.assertEqual(Budget(syscalls=3, **v0).version, 0)
        with self.assertRaises(ValueError):
            Budget(openat=None)  # all version-1 limits None, or none
        with self.assertRaises(ValueError):
            Budget(syscalls=None, **v0)  # the version-0 limits are always known

    def test_budget_values(self):
        self.assertTrue(Budget().unlimited)
        self.assertTrue(Budget().is_empty)
        self.assertFalse(Budget(fork=1).unlimited)
        self.assertEqual(Budget(fork=1).replace(fork=0), Budget())
        self.assertIs(Budget(action=1).action, Action.term)
        self.assertIs(Budget(action=3).action, Action.deny)
        self.assertEqual(Budget(action=7).action, 7)  # the kernel will say EINVAL
        self.assertNotIsInstance(Budget(action=4).action, Action)
        for bad in ({"syscalls": -1}, {"exec": 2**64}, {"action": -1},
                    {"action": 2**32}, {"openat": 1.5}, {"fork": True}):
            with self.assertRaises(ValueError, msg=bad):
                Budget(**bad)


class Actions(unittest.TestCase):
    def test_values_are_the_abi_numbers(self):
        self.assertEqual(int(Action.log), 0)
        self.assertEqual(int(Action.term), 1)
        self.assertEqual(int(Action.kill), 2)
        self.assertEqual(int(Action.deny), 3)
        self.assertEqual(int(Action.deny), abi.AGENT_NS_ACTION_DENY)
        self.assertIs(Action(3), Action.deny)
        self.assertIs(agentns.Action.deny, Action.deny)
        with self.assertRaises(ValueError):
            Action(4)

    def test_names_are_the_clis(self):
        self.assertEqual([a.name for a in Action], ["log", "term", "kill", "deny"])
        self.assertEqual(str(Action.kill), "kill")
        self.assertEqual("%s/%s" % (Action.term, Action.deny), "term/deny")
        self.assertEqual("{}".format(Action.log), "log")
        self.assertIs(Action["kill"], Action.kill)
        for text, a in (("kill", Action.kill), ("SIGKILL", Action.kill), ("term", Action.term),
                        ("sigterm", Action.term), ("Deny", Action.deny), ("log", Action.log),
                        ("AGENT_NS_ACTION_DENY", Action.deny)):
            self.assertIs(Action.parse(text), a, text)
        with self.assertRaises(ValueError):
            Action.parse("stop")
        self.assertEqual(Action.kill.uapi_name, "AGENT_NS_ACTION_SIGKILL")

    def test_old_names_are_aliases(self):
        self.assertIs(Action.SIGKILL, Action.kill)
        self.assertIs(Action.SIGTERM, Action.term)
        self.assertIs(Action.LOG, Action.log)
        self.assertIs(Action.DENY, Action.deny)
        self.assertEqual(len(list(Action)), 4)

    def test_deny_and_term_do_not_replace_each_other(self):
        order = [Action.log, Action.deny, Action.term, Action.kill]
        # from the row's action to the column's
        may = [
            [True, True, True, True],
            [False, True, False, True],
            [False, False, True, True],
            [False, False, False, True],
        ]
        for i, old in enumerate(order):
            for j, new in enumerate(order):
                self.assertEqual(new.binds_as_much_as(old), may[i][j], (old, new))

    def test_deny_budget_round_trip(self):
        b = Budget(openat=10, write_bytes=4096, action=Action.deny)
        s = b.to_struct()
        self.assertEqual(s.action, 3)
        self.assertEqual(bytes(s)[24:28], (3).to_bytes(4, "little"))
        got = Budget.from_struct(s)
        self.assertEqual(got, b)
        self.assertIs(got.action, Action.deny)


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
        self.assertIn("deny action", str(e))
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
