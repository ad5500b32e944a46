# SPDX-License-Identifier: GPL-2.0
"""The package's names against the Rust library's, the agentns command's
JSON and the /proc file's documentation, read from the repository."""

import os
import re
import unittest

import _paths
from agentns import abi
from agentns.types import Action, Budget, Counters

LIB = os.path.join(_paths.REPO, "tools", "agentns", "lib", "src")
ADMIN_GUIDE = os.path.join(_paths.REPO, "Documentation", "admin-guide", "agent-namespaces.rst")


def _read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


@unittest.skipUnless(os.path.isdir(LIB), "no Rust library next to the package")
class RustLibrary(unittest.TestCase):
    def setUp(self):
        self.session_rs = _read(os.path.join(LIB, "session.rs"))

    def test_action_names(self):
        # Action::name(): `Action::Kill => "kill",` ...
        arms = dict(re.findall(r'Action::(\w+) => "(\w+)"', self.session_rs))
        self.assertEqual(set(arms.values()), {a.name for a in Action}, arms)
        # and the same uapi value behind each name: `Action::Kill => uapi::AGENT_NS_ACTION_SIGKILL`
        raw = dict(re.findall(r"Action::(\w+) => uapi::(AGENT_NS_ACTION_\w+)", self.session_rs))
        self.assertEqual({arms[v]: c for v, c in raw.items()},
                         {a.name: a.uapi_name for a in Action})

    def test_counter_names(self):
        # The Rust test that pins the short names, in the structure's order.
        m = re.search(r"fn counters_are_the_headers_fields_in_order\(\).*?assert_eq!\(\s*names,\s*\[(.*?)\]",
                      self.session_rs, re.S)
        self.assertIsNotNone(m, "session.rs has no counters_are_the_headers_fields_in_order test")
        names = re.findall(r'"(\w+)"', m.group(1))
        self.assertEqual(names, [n for n, _ in abi.COUNTER_FIELDS])
        self.assertEqual(list(Counters().as_dict()), names)

    def test_short_name_rule(self):
        # fn short_name(): strip total_, max_ and _count.
        for field, name in (("total_syscalls", "syscalls"), ("openat_count", "openat"),
                            ("max_write_bytes", "write_bytes"), ("max_exec", "exec"),
                            ("elapsed_ns", "elapsed_ns"), ("max_elapsed_ns", "elapsed_ns")):
            self.assertEqual(abi.short_name(field), name)
        self.assertEqual(list(Budget().limits()),
                         [abi.short_name(f) for f, _ in abi.agent_ns_budget._fields_
                          if f.startswith("max_")])


@unittest.skipUnless(os.path.isfile(ADMIN_GUIDE), "no admin guide")
class ProcDocumentation(unittest.TestCase):
    def test_agent_counters_order(self):
        text = " ".join(_read(ADMIN_GUIDE).split())
        m = re.search(r"``/proc/PID/agent_counters`` shows them one ``name value`` per line"
                      r".*?\((``\w+``(?:, ``\w+``)*)\)", text)
        self.assertIsNotNone(m, "the admin guide no longer lists the agent_counters lines")
        self.assertEqual(tuple(re.findall(r"``(\w+)``", m.group(1))), abi.PROC_COUNTER_ORDER)


if __name__ == "__main__":
    unittest.main()
