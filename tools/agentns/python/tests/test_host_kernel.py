# SPDX-License-Identifier: GPL-2.0
"""The real calls on the host's kernel, which normally has no agent
namespaces: every call must say so with NotSupportedError, and the guest
test program must skip (exit 4).  On a linux-wintermute host these checks
are skipped (the guest tests cover that kernel)."""

import errno
import os
import subprocess
import sys
import threading
import unittest

import _paths
import agentns

HAS_FEATURE = agentns.is_supported()


@unittest.skipIf(HAS_FEATURE, "this host runs a kernel with agent namespaces")
class KernelWithoutAgentNamespaces(unittest.TestCase):
    def test_every_call_is_not_supported(self):
        calls = [
            agentns.session_id, agentns.parent_id, agentns.create_session,
            agentns.get_intent, lambda: agentns.set_intent("x"), agentns.counters,
            agentns.get_budget, lambda: agentns.set_budget(agentns.Budget(fork=1)),
            agentns.structure_version, agentns.list_sessions, agentns.NsFile.of_self,
            agentns.read_session, agentns.read_intent, agentns.read_counters,
            agentns.open_ns, lambda: agentns.enter_pid(os.getpid()),
        ]
        for call in calls:
            with self.assertRaises(agentns.NotSupportedError) as cm:
                call()
            self.assertEqual(cm.exception.errno, errno.EINVAL)
            self.assertIn("no agent namespace support", str(cm.exception))

    def test_another_namespace_file_is_einval_not_unsupported(self):
        # setns(uts fd, AGENT_NS_TYPE) on this kernel: EINVAL too, and the
        # probe says it is the kernel, not the argument.
        fd = os.open("/proc/self/ns/uts", os.O_RDONLY)
        try:
            with self.assertRaises(agentns.NotSupportedError):
                agentns.enter_fd(fd)
        finally:
            os.close(fd)

    def test_spawn_reports_the_childs_error(self):
        # The real trampoline: it sets no_new_privs (which this kernel has),
        # then PR_SET_AGENT_NS fails, and that comes back as the exception.
        for kw in ({}, {"no_new_privs": True}, {"budget": agentns.Budget(fork=1)}):
            with self.assertRaises(agentns.NotSupportedError) as cm:
                agentns.spawn(["true"], intent="x", stdout=subprocess.PIPE, **kw)
            self.assertIn("PR_SET_AGENT_NS", str(cm.exception))
            self.assertEqual(cm.exception.errno, errno.EINVAL)

    def test_spawn_from_a_threaded_program(self):
        # No preexec_fn: a program with threads gets the trampoline's error,
        # not a refusal to fork.
        stop = threading.Event()
        t = threading.Thread(target=stop.wait)
        t.start()
        try:
            with self.assertRaises(agentns.NotSupportedError):
                agentns.spawn(["true"])
        finally:
            stop.set()
            t.join()

    def test_spawn_writes_no_bytecode(self):
        # The trampoline runs with -B: nothing lands in the package's tree.
        cache = os.path.join(_paths.SRC, "agentns", "__pycache__")

        def cached():
            return set(os.listdir(cache)) if os.path.isdir(cache) else set()

        before = cached()
        with self.assertRaises(agentns.NotSupportedError):
            agentns.spawn(["true"])
        self.assertEqual(cached(), before)

    def test_guest_tests_skip_with_exit_4(self):
        r = subprocess.run([sys.executable, os.path.join(_paths.TESTS, "guest_tests.py")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=60)
        self.assertEqual(r.returncode, 4, r.stdout)
        self.assertRegex(r.stdout, r"(?m)^ok 1 [^\n]* # SKIP [^\n]*linux-wintermute")
        self.assertNotIn("not ok", r.stdout)


if __name__ == "__main__":
    unittest.main()
