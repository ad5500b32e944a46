# SPDX-License-Identifier: GPL-2.0
"""agentns/_trampoline.py with a kernel that only pretends, for the host
tests of spawn() (test_spawn.py).  What it does is in the environment
variable AGENTNS_FAKE_KERNEL (JSON): "log", a file it appends each call
to as a JSON line; "fail", the call that fails, with "errno"; "die", the
call at which it kills itself with SIGKILL (as a kill budget would).
no_new_privs is set for real (it is harmless in the child)."""

import json
import os
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "src"))

from agentns import _trampoline, errors, set_no_new_privs  # noqa: E402
from agentns.types import Budget, SessionId  # noqa: E402

CONFIG = json.loads(os.environ.get("AGENTNS_FAKE_KERNEL", "{}"))
SESSION = SessionId(bytes(range(1, 17)))


class FakeKernel:
    def _call(self, name, *args):
        if CONFIG.get("log"):
            with open(CONFIG["log"], "a", encoding="utf-8") as f:
                f.write(json.dumps([name] + list(args)) + "\n")
        if CONFIG.get("die") == name:
            os.kill(os.getpid(), signal.SIGKILL)
        if CONFIG.get("fail") == name:
            raise errors.from_errno(int(CONFIG["errno"]), "fake(%s)" % name)

    def set_no_new_privs(self):
        self._call("set_no_new_privs")
        set_no_new_privs()

    def create_session(self):
        self._call("create_session")
        return SESSION

    def set_intent(self, tag):
        self._call("set_intent", tag)

    def set_budget(self, fields):
        Budget(**fields)  # what the real one makes of them
        self._call("set_budget", fields)


if __name__ == "__main__":
    sys.exit(_trampoline.main(sys.argv[1:], FakeKernel))
