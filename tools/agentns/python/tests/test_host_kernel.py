# SPDX-License-Identifier: GPL-2.0
"""The real calls on the host's kernel, which normally has no agent
namespaces: every call must say so with NotSupportedError, and the guest
test program must skip (exit 4).  On a linux-wintermute host these checks
are skipped (the guest tests cover that kernel)."""

import errno
import os
import subprocess
import sys
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
            agentns.get_budget, lambda: agentns.set_budget(agentns.Budget(max_fork=1)),
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
        with self.assertRaises(agentns.NotSupportedError) as cm:
            agentns.spawn(["true"], intent="x")
        self.assertIn("PR_SET_AGENT_NS", str(cm.exception))

    def test_guest_tests_skip_with_exit_4(self):
        r = subprocess.run([sys.executable, os.path.join(_paths.TESTS, "guest_tests.py")],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=60)
        self.assertEqual(r.returncode, 4, r.stdout)
        self.assertRegex(r.stdout, r"(?m)^ok 1 [^\n]* # SKIP [^\n]*linux-wintermute")
        self.assertNotIn("not ok", r.stdout)


if __name__ == "__main__":
    unittest.main()
