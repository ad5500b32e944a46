# SPDX-License-Identifier: GPL-2.0
"""spawn(): the Popen side and the trampoline protocol, with a trampoline
whose kernel only pretends (fake_trampoline.py), so that they run on any
host.  The real trampoline on this host's kernel is in
test_host_kernel.py, on a kernel with agent namespaces in guest_tests.py."""

import errno
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import unittest
from unittest import mock

import _paths
import agentns
from agentns import _core, _trampoline
from agentns.types import Action, Budget

FAKE = os.path.join(_paths.TESTS, "fake_trampoline.py")
SIGPIPE_BIT = 1 << (signal.SIGPIPE - 1)

# A command that prints what the trampoline left it, as JSON.
PROBE = r"""
import json, os, sys
status = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
fds = {}
for fd in os.listdir("/proc/self/fd"):
    try:
        fds[fd] = os.readlink("/proc/self/fd/" + fd)
    except OSError:
        pass
print(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(), "env": os.environ.get("PROBE"),
                  "nnp": status["NoNewPrivs"].strip(), "fds": fds}))
"""


class Spawn(unittest.TestCase):
    def setUp(self):
        self._dir = tempfile.TemporaryDirectory()
        self.dir = self._dir.name
        self.log = os.path.join(self.dir, "calls")
        self.fake = {"log": self.log}
        p = mock.patch.object(_core, "_TRAMPOLINE", FAKE)
        p.start()
        self.addCleanup(p.stop)

    def tearDown(self):
        self._dir.cleanup()

    def env(self, **extra):
        env = dict(os.environ, AGENTNS_FAKE_KERNEL=json.dumps(self.fake))
        env.update(extra)
        return env

    def calls(self):
        if not os.path.exists(self.log):
            return []
        with open(self.log, encoding="utf-8") as f:
            return [json.loads(line) for line in f]

    def probe(self, **kw):
        out = os.path.join(self.dir, "out")
        with open(out, "w+b") as f:
            p = agentns.spawn([sys.executable, "-c", PROBE, "a b", "c"], stdout=f,
                              stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              env=kw.pop("env", self.env()), **kw)
            self.assertEqual(p.wait(timeout=60), 0)
            f.seek(0)
            return p, json.loads(f.read().decode())

    def test_the_setup_in_order_then_the_command(self):
        budget = Budget(syscalls=1000, exec=2, action=Action.kill)
        p, got = self.probe(intent="job #1", budget=budget, no_new_privs=True)
        self.assertEqual(self.calls(), [
            ["set_no_new_privs"], ["create_session"], ["set_intent", "job #1"],
            ["set_budget", dict(budget.limits(), action=2)],
        ])
        self.assertEqual(str(p.session_id), "0102030405060708090a0b0c0d0e0f10")
        self.assertEqual(got["argv"], ["a b", "c"])
        self.assertEqual(got["nnp"], "1")

    def test_only_what_is_asked(self):
        p, got = self.probe()
        self.assertEqual(self.calls(), [["create_session"]])
        self.assertEqual(got["nnp"], "0")
        self.assertIsNotNone(p.session_id)

    def test_the_command_gets_no_descriptor_of_the_setup(self):
        _, got = self.probe(intent="x", budget=Budget(fork=1))
        leaked = {fd: t for fd, t in got["fds"].items() if t.startswith("pipe:")}
        self.assertEqual(leaked, {})

    def test_pass_fds_still_pass(self):
        r, w = os.pipe()
        try:
            _, got = self.probe(pass_fds=(w,))
            self.assertIn(str(w), got["fds"])
        finally:
            os.close(r)
            os.close(w)

    def sigign(self, **kw):
        # cat: a command that changes no disposition (a Python one would).
        p = agentns.spawn(["cat", "/proc/self/status"], stdout=subprocess.PIPE,
                          env=self.env(), **kw)
        out = p.communicate(timeout=60)[0].decode()
        return int([l for l in out.splitlines() if l.startswith("SigIgn:")][0].split()[1], 16)

    def test_signals_as_popen_leaves_them(self):
        self.assertFalse(self.sigign() & SIGPIPE_BIT, "SIGPIPE is not ignored")
        self.assertTrue(self.sigign(restore_signals=False) & SIGPIPE_BIT,
                        "SIGPIPE stays ignored")

    def test_popen_arguments(self):
        _, got = self.probe(cwd=self.dir, env=self.env(PROBE="here"))
        self.assertEqual(os.path.realpath(got["cwd"]), os.path.realpath(self.dir))
        self.assertEqual(got["env"], "here")
        p = agentns.spawn("echo $0-$1", shell=True, stdout=subprocess.PIPE, env=self.env())
        self.assertEqual(p.communicate(timeout=60)[0], b"/bin/sh-\n")
        p = agentns.spawn(["echo x"], shell=True, stdout=subprocess.PIPE, env=self.env(),
                          executable="/bin/sh")
        self.assertEqual(p.communicate(timeout=60)[0], b"x\n")
        p = agentns.spawn(["argv0", "-c", "import sys; print(sys.argv[0] == '-c')"],
                          executable=sys.executable, stdout=subprocess.PIPE, env=self.env())
        self.assertEqual(p.communicate(timeout=60)[0], b"True\n")
        p = agentns.spawn(["printf", "%s", "path"], stdout=subprocess.PIPE, env=self.env(),
                          text=True)
        self.assertEqual(p.communicate(timeout=60)[0], "path")

    def test_the_intent_is_not_on_a_command_line(self):
        with mock.patch.object(_core.subprocess, "Popen", wraps=subprocess.Popen) as popen:
            p = agentns.spawn(["true"], intent="secret-intent", env=self.env())
            p.wait(timeout=60)
        argv = popen.call_args[0][0]
        self.assertNotIn("secret-intent", " ".join(map(str, argv)))
        self.assertEqual(argv[1:4], ["-I", "-S", "-B"])
        self.assertEqual(self.calls()[1], ["set_intent", "secret-intent"])

    def test_setup_errors_are_raised_here(self):
        for call, err, cls in (("create_session", errno.EPERM, agentns.AgentNSPermissionError),
                               ("set_intent", errno.EINVAL, agentns.InvalidArgumentError),
                               ("set_budget", errno.EPERM, agentns.AgentNSPermissionError),
                               ("set_no_new_privs", errno.EINVAL,
                                agentns.InvalidArgumentError)):
            self.fake.update(fail=call, errno=err)
            with self.assertRaises(cls, msg=call) as cm:
                agentns.spawn(["true"], intent="x", budget=Budget(fork=1), no_new_privs=True,
                              env=self.env(), stdout=subprocess.PIPE)
            self.assertEqual(cm.exception.errno, err)
            self.assertEqual(cm.exception.operation, "fake(%s)" % call)

    def test_exec_errors_are_popens(self):
        with self.assertRaises(FileNotFoundError) as cm:
            agentns.spawn(["/nonexistent/agentns-cmd"], env=self.env())
        self.assertEqual(cm.exception.filename, "/nonexistent/agentns-cmd")
        with self.assertRaises(FileNotFoundError):
            agentns.spawn(["agentns-no-such-command"], env=self.env(PATH=self.dir))
        script = os.path.join(self.dir, "not-executable")
        with open(script, "w", encoding="ascii") as f:
            f.write("#!/bin/sh\n")
        with self.assertRaises(PermissionError):
            agentns.spawn([script], env=self.env())

    def test_killed_before_the_session(self):
        self.fake["die"] = "create_session"
        with self.assertRaises(agentns.AgentNSError) as cm:
            agentns.spawn(["true"], env=self.env())
        self.assertIn("killed by signal %d" % signal.SIGKILL, str(cm.exception))

    def test_killed_by_its_budget_before_the_exec(self):
        # A kill budget already passed: the kernel kills it in set_budget.
        self.fake["die"] = "set_budget"
        p = agentns.spawn(["true"], budget=Budget(syscalls=1, action=Action.kill),
                          env=self.env())
        self.assertEqual(p.wait(timeout=60), -signal.SIGKILL)
        self.assertIsNotNone(p.session_id)

    def test_refused_before_starting(self):
        for kw in ({"intent": "x" * 64}, {"intent": "caf\u00e9"}, {"intent": "tab\there"}):
            with self.assertRaises(agentns.InvalidArgumentError):
                agentns.spawn(["true"], env=self.env(), **kw)
        with self.assertRaises(TypeError):
            agentns.spawn(["true"], env=self.env(), close_fds=False)
        with self.assertRaises(TypeError):
            agentns.spawn(["true"], env=self.env(), budget={"fork": 1})
        with self.assertRaises(ValueError):
            agentns.spawn([], env=self.env())
        self.assertEqual(self.calls(), [])

    def test_from_many_threads(self):
        results, errors = [], []

        def run():
            try:
                p = agentns.spawn(["true"], intent="t", env=self.env())
                results.append(p.wait(timeout=60))
            except Exception as e:  # noqa: BLE001
                errors.append(e)

        threads = [threading.Thread(target=run) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(results, [0] * 8)


class Protocol(unittest.TestCase):
    def test_parse_status(self):
        sid, exc = _core._parse_status(b"S " + b"ab" * 16 + b"\n", "cmd")
        self.assertEqual(str(sid), "ab" * 16)
        self.assertIsNone(exc)
        e = json.dumps({"class": "LimitError", "errno": errno.ENOSPC, "message": "m",
                        "operation": "prctl(PR_SET_AGENT_NS)"})
        sid, exc = _core._parse_status(("E %s\n" % e).encode(), "cmd")
        self.assertIsNone(sid)
        self.assertIsInstance(exc, agentns.LimitError)
        self.assertEqual(exc.operation, "prctl(PR_SET_AGENT_NS)")
        # a class that is not an AgentNSError is not instantiated
        e = json.dumps({"class": "os", "errno": 1, "message": "m", "operation": "o"})
        self.assertIs(type(_core._parse_status(("E %s" % e).encode(), "cmd")[1]),
                      agentns.AgentNSError)
        sid, exc = _core._parse_status(b'X {"errno": 2, "note": ""}\n', b"cmd")
        self.assertIsInstance(exc, FileNotFoundError)
        self.assertEqual(exc.filename, "cmd")
        sid, exc = _core._parse_status(b"garbage\n", "cmd")
        self.assertIsNone(exc)
        sid, exc = _core._parse_status(b"E {not json\n", "cmd")
        self.assertEqual(exc.errno, errno.EPROTO)

    def test_trampoline_reports_a_bad_start(self):
        r, w = os.pipe()
        try:
            self.assertEqual(_trampoline.main(["not-a-fd", str(w), "true"]), 125)
            self.assertEqual(_trampoline.main(["99999", str(w), "true"]), 125)
            os.close(w)
            w = -1
            data = os.read(r, 65536).decode()
        finally:
            os.close(r)
            if w >= 0:
                os.close(w)
        lines = data.splitlines()
        self.assertEqual(len(lines), 1)  # no status descriptor in the first call
        self.assertTrue(lines[0].startswith("E "))
        self.assertIn("session setup failed", json.loads(lines[0][2:])["message"])


if __name__ == "__main__":
    unittest.main()
