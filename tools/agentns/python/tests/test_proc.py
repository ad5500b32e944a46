# SPDX-License-Identifier: GPL-2.0
"""The /proc/PID/agent_* parsers and readers, on fixture files."""

import errno
import os
import tempfile
import unittest

import _paths  # noqa: F401  (sys.path)
import fixtures
import agentns
from agentns import proc
from agentns.types import Counters, SessionId


class Parsers(unittest.TestCase):
    def test_session(self):
        sid = proc.parse_session(fixtures.TASK_SESSION)
        self.assertEqual(sid.hex, fixtures.TASK_SESSION.strip())
        self.assertEqual(sid.raw[0], 0x9F)
        self.assertEqual(sid.raw[-1], 0x34)
        self.assertFalse(sid.is_initial)
        self.assertTrue(proc.parse_session(fixtures.INIT_SESSION).is_initial)

    def test_session_rejects_malformed(self):
        for bad in ("", "\n", "9f3c\n", fixtures.TASK_SESSION.upper(),
                    fixtures.TASK_SESSION.strip(), fixtures.TASK_SESSION + "\n",
                    "g" * 32 + "\n", "0" * 33 + "\n", " " + "0" * 31 + "\n"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                proc.parse_session(bad)

    def test_intent(self):
        self.assertEqual(proc.parse_intent(fixtures.TASK_INTENT), "refactor-auth ticket #4711")
        self.assertEqual(proc.parse_intent(fixtures.INIT_INTENT), "")
        self.assertEqual(proc.parse_intent("~" * 63 + "\n"), "~" * 63)

    def test_intent_rejects_malformed(self):
        for bad in ("", "tag", "a" * 64 + "\n", "tab\there\n", "two\nlines\n", "\x7f\n"):
            with self.assertRaises(ValueError, msg=repr(bad)):
                proc.parse_intent(bad)

    def test_counters(self):
        c = proc.parse_counters(fixtures.TASK_COUNTERS)
        self.assertEqual(c, Counters(syscalls=2**64 - 1, openat=112, write_bytes=4316,
                                     connect=5, unlink=13, fork=7, elapsed_ns=100482311,
                                     read_bytes=1056, exec=1))
        init = proc.parse_counters(fixtures.INIT_COUNTERS)
        self.assertEqual(init.syscalls, 0)
        self.assertEqual(init.elapsed_ns, 73120455612)

    def test_counter_names_are_the_files(self):
        d = proc.parse_counters_dict(fixtures.TASK_COUNTERS)
        c = proc.parse_counters(fixtures.TASK_COUNTERS)
        self.assertEqual(list(d), list(agentns.abi.PROC_COUNTER_ORDER))
        self.assertEqual(dict(c.proc_items()), d)
        self.assertEqual(list(c.proc_items()), list(d.items()))
        for name, value in d.items():
            self.assertEqual(getattr(c, name), value, name)

    def test_counters_keep_the_files_order_and_new_names(self):
        d = proc.parse_counters_dict(fixtures.TASK_COUNTERS + "mmap 3\n")
        self.assertEqual(list(d)[:9], [n for n, _ in agentns.abi.PROC_COUNTER_FIELDS])
        self.assertEqual(d["mmap"], 3)
        self.assertEqual(proc.parse_counters(fixtures.TASK_COUNTERS + "mmap 3\n").exec, 1)

    def test_version_0_file(self):
        # A kernel of the first ABI shows no read_bytes and exec lines.
        text = "".join(line for line in fixtures.TASK_COUNTERS.splitlines(True)
                       if not line.startswith(("read_bytes ", "exec ")))
        c = proc.parse_counters(text)
        self.assertEqual(c.openat, 112)
        self.assertIsNone(c.read_bytes)
        self.assertIsNone(c.exec)
        self.assertEqual(c.version, 0)

    def test_counters_reject_malformed(self):
        lines = fixtures.TASK_COUNTERS.splitlines(True)
        for bad in (
            "".join(lines[:-1]),                       # elapsed_ns missing
            "".join(lines[1:]),                        # syscalls missing
            fixtures.TASK_COUNTERS + "openat 1\n",     # twice
            fixtures.TASK_COUNTERS.replace("openat 112", "openat -1"),
            fixtures.TASK_COUNTERS.replace("openat 112", "openat"),
            fixtures.TASK_COUNTERS.replace("openat 112", "openat 0x70"),
            fixtures.TASK_COUNTERS.replace("exec 1", "exec 18446744073709551616"),
        ):
            with self.assertRaises(ValueError, msg=repr(bad)):
                proc.parse_counters(bad)

    def test_ns_link(self):
        self.assertEqual(proc.parse_ns_link(fixtures.INIT_NS_LINK), 0xEFFFFFF6)
        for bad in ("uts:[4026531838]", "agent:[]", "agent:[12]x"):
            with self.assertRaises(ValueError):
                proc.parse_ns_link(bad)


class Readers(unittest.TestCase):
    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.root = fixtures.make_proc(self._dir.name)

    def tearDown(self):
        self._dir.cleanup()

    def test_read_by_pid_and_self(self):
        for who in (fixtures.TASK_PID, str(fixtures.TASK_PID), "self"):
            self.assertEqual(str(proc.read_session(who, self.root)),
                             fixtures.TASK_SESSION.strip())
            self.assertEqual(proc.read_intent(who, self.root), "refactor-auth ticket #4711")
            self.assertEqual(proc.read_counters(who, self.root).openat, 112)
            self.assertEqual(proc.read_ns_link(who, self.root), fixtures.TASK_NS_LINK)
            self.assertEqual(proc.read_ns_inode(who, self.root), 4026532301)
        self.assertEqual(proc.read_session(1, self.root), SessionId(bytes(16)))
        self.assertEqual(proc.read_ns_inode(1, self.root), 4026531830)

    def test_pids_and_comm(self):
        self.assertEqual(proc.pids(self.root), [1, fixtures.TASK_PID])
        with open(os.path.join(self.root, "1", "comm"), "w", encoding="ascii") as f:
            f.write("init\n")
        self.assertEqual(proc.comm(1, self.root), "init")
        self.assertEqual(proc.comm(fixtures.EXITED_PID, self.root), "")

    def test_missing_pid_is_no_such_task(self):
        with self.assertRaises(agentns.NoSuchTaskError) as cm:
            proc.read_session(fixtures.EXITED_PID, self.root)
        self.assertEqual(cm.exception.errno, errno.ESRCH)
        self.assertIsInstance(cm.exception, ProcessLookupError)
        with self.assertRaises(agentns.NoSuchTaskError):
            proc.read_ns_link(fixtures.EXITED_PID, self.root)

    def test_kernel_without_the_files_is_not_supported(self):
        with tempfile.TemporaryDirectory() as d:
            root = fixtures.make_proc(d, with_agent_ns=False)
            for read in (proc.read_session, proc.read_intent, proc.read_counters,
                         proc.read_ns_link):
                with self.assertRaises(agentns.NotSupportedError) as cm:
                    read(1, root)
                self.assertIn("no agent namespace support", str(cm.exception))
                self.assertIn("linux-wintermute", str(cm.exception))

    def test_unreadable_is_a_permission_error(self):
        import os

        if os.geteuid() == 0:
            self.skipTest("root reads mode-000 files")
        os.chmod(os.path.join(self.root, "1", "agent_counters"), 0)
        with self.assertRaises(agentns.AgentNSPermissionError):
            proc.read_counters(1, self.root)

    def test_unreadable_intent_is_a_permission_error(self):
        # agent_intent is mode 0400 and needs ptrace read access, like agent_counters:
        # another user's process gives EACCES.
        import os

        if os.geteuid() == 0:
            self.skipTest("root reads mode-000 files")
        os.chmod(os.path.join(self.root, "1", "agent_intent"), 0)
        with self.assertRaises(agentns.AgentNSPermissionError) as cm:
            proc.read_intent(1, self.root)
        self.assertEqual(cm.exception.errno, errno.EACCES)
        self.assertIsInstance(cm.exception, PermissionError)
        # The id stays readable.
        self.assertTrue(proc.read_session(1, self.root).is_initial)

    def test_eacces_from_the_kernel_is_a_permission_error(self):
        # Whoever runs the tests (root too): the errno open(2) gives, mapped as the
        # kernel's EACCES on /proc/PID/agent_intent and agent_counters is.
        from unittest import mock

        for read, name in ((proc.read_intent, "agent_intent"),
                           (proc.read_counters, "agent_counters")):
            denied = PermissionError(errno.EACCES, "Permission denied")
            with mock.patch("builtins.open", side_effect=denied):
                with self.assertRaises(agentns.AgentNSPermissionError) as cm:
                    read(1, self.root)
            self.assertEqual(cm.exception.errno, errno.EACCES)
            self.assertIn(name, str(cm.exception))


if __name__ == "__main__":
    unittest.main()
