# SPDX-License-Identifier: GPL-2.0
"""The session tree: depths, roots and JSON, on made-up snapshots (the
Rust library's listing tests), and the parent links a walk records."""

import errno
import json
import os
import unittest
from unittest import mock

import _paths  # noqa: F401  (sys.path)
from agentns import listing, nsfs
from agentns.listing import SessionInfo, Snapshot, Sources
from agentns.types import Counters, SessionId

INIT = nsfs.AGENT_NS_INIT_INO


def info(inode, ns_id, parent):
    return SessionInfo(inode=inode, ns_id=ns_id, initial=inode == INIT, parent_inode=parent)


def snapshot(*sessions):
    snap = Snapshot(sources=Sources(listns=True))
    for s in sessions:
        snap.sessions[s.inode] = s
    snap.compute_depths()
    return snap


class Trees(unittest.TestCase):
    def test_trees_and_depths(self):
        snap = snapshot(
            info(INIT, 9, None),
            info(2, 20, INIT),
            info(4, 41, 2),  # created after 3: listed after it
            info(3, 40, 2),
            info(5, 50, 99),  # parent not found: a root of its own
        )
        d = [snap.sessions[i].depth for i in (INIT, 2, 3, 4, 5)]
        self.assertEqual(d, [0, 1, 2, 2, None])
        t = snap.trees()
        self.assertEqual(len(t), 2)
        self.assertTrue(t[0].session.initial)
        self.assertEqual(t[1].session.inode, 5)
        self.assertEqual([c.session.inode for c in t[0].children], [2])
        self.assertEqual([c.session.inode for c in t[0].children[0].children], [3, 4])
        j = t[0].as_dict()
        self.assertEqual(j["children"][0]["children"][1]["inode"], 4)
        self.assertEqual(j["children"][0]["depth"], 1)

    def test_parents_above_the_callers_session_are_not_visible(self):
        # What a caller in session 2 sees: NS_GET_PARENT answers EPERM for
        # its own session, for its sibling 6 and for the initial session.
        snap = snapshot(
            info(INIT, 9, None),
            info(2, 20, None),
            info(3, 30, 2),
            info(4, 40, 3),
            info(6, 60, None),
        )
        d = [snap.sessions[i].depth for i in (INIT, 2, 3, 4, 6)]
        self.assertEqual(d, [0, None, None, None, None])
        t = snap.trees()
        self.assertEqual([n.session.inode for n in t], [INIT, 2, 6])
        self.assertEqual(t[0].children, [])
        self.assertEqual(t[1].children[0].session.inode, 3)
        self.assertEqual(t[1].children[0].children[0].session.inode, 4)
        j = t[1].as_dict()
        self.assertIsNone(j["parent_inode"])
        self.assertIsNone(j["depth"])

    def test_json_is_the_clis(self):
        s = SessionInfo(id=SessionId(bytes([0xAB] * 16)), inode=7, ns_id=70,
                        parent_inode=INIT, intent="job", pids=[10, 11],
                        counters=Counters(syscalls=5))
        snap = snapshot(info(INIT, 9, None), s)
        snap.sources.unresolved_ns_ids = [80]
        d = json.loads(json.dumps(snap.as_dict()))
        self.assertEqual(list(d), ["sources", "sessions"])
        self.assertEqual(d["sources"], {"listns": True, "unresolved_ns_ids": [80]})
        child = d["sessions"][0]["children"][0]
        # agentns ls --json: the keys of listing::SessionInfo, then children.
        self.assertEqual(list(child)[:10], ["id", "inode", "ns_id", "initial", "depth",
                                            "parent_inode", "intent", "pids", "counters",
                                            "children"])
        self.assertEqual(child["id"], "ab" * 16)
        self.assertEqual(child["depth"], 1)
        self.assertEqual(child["counters"]["syscalls"], 5)
        self.assertEqual(list(child["counters"])[-1], "exec")
        self.assertIsNone(d["sessions"][0]["id"])
        self.assertEqual(Sources(listns_error="x").as_dict(),
                         {"listns": False, "listns_error": "x"})

    def test_of_pid_and_children(self):
        a = info(2, 20, INIT)
        a.pids = [5, 6]
        snap = snapshot(info(INIT, 9, None), a, info(3, None, INIT))
        self.assertIs(snap.of_pid(6), a)
        self.assertIsNone(snap.of_pid(7))
        # a session without a namespace id sorts after those with one
        self.assertEqual([s.inode for s in snap.children(INIT)], [2, 3])

    def test_agent_links(self):
        self.assertEqual(listing.agent_link_inode("agent:[4026531830]"), 4026531830)
        self.assertIsNone(listing.agent_link_inode("pid:[4026531836]"))
        self.assertIsNone(listing.agent_link_inode("agent:[x]"))
        self.assertIsNone(listing.agent_link_inode("/dev/null"))


class _Chain:
    """Namespace files of a chain of sessions, by inode: each parent() is
    the next one, EPERM (None) past the last."""

    def __init__(self, inodes, fail_ns_id=False):
        self.inodes = inodes
        self.fail_ns_id = fail_ns_id

    def file(self, i):
        chain = self

        class F:
            closed = False

            def inode(self):
                return chain.inodes[i]

            def ns_id(self):
                if chain.fail_ns_id:
                    raise OSError(errno.ENOTTY, "no NS_GET_ID")
                return 100 + i

            def parent(self):
                return chain.file(i + 1) if i + 1 < len(chain.inodes) else None

            def close(self):
                self.closed = True

        return F()


class AddWithAncestors(unittest.TestCase):
    def test_records_the_chain_to_the_initial_session(self):
        snap = Snapshot()
        snap._add_with_ancestors(_Chain([30, 20, INIT]).file(0))
        snap.compute_depths()
        self.assertEqual(snap.sessions[30].parent_inode, 20)
        self.assertEqual(snap.sessions[20].parent_inode, INIT)
        self.assertEqual(snap.sessions[INIT].id, SessionId.initial())
        self.assertEqual([snap.sessions[i].depth for i in (30, 20, INIT)], [2, 1, 0])
        self.assertEqual(snap.sessions[30].ns_id, 100)

    def test_a_hidden_top_leaves_depths_unknown(self):
        snap = Snapshot()
        snap._add_with_ancestors(_Chain([30, 20], fail_ns_id=True).file(0))
        snap.compute_depths()
        self.assertEqual(snap.sessions[30].parent_inode, 20)
        self.assertIsNone(snap.sessions[20].parent_inode)
        self.assertIsNone(snap.sessions[30].depth)
        self.assertIsNone(snap.sessions[30].ns_id)
        self.assertEqual([n.session.inode for n in snap.trees()], [20])


class Collect(unittest.TestCase):
    def test_not_supported_first(self):
        with mock.patch.object(listing._sys, "is_supported", return_value=False):
            with self.assertRaises(Exception) as cm:
                Snapshot.collect()
        self.assertEqual(type(cm.exception).__name__, "NotSupportedError")

    def test_a_kernel_with_the_feature_lists_this_process(self):
        if not listing._sys.is_supported():
            self.skipTest("no agent namespaces on this host")
        snap = Snapshot.collect()
        self.assertIsNotNone(snap.of_pid(os.getpid()))


if __name__ == "__main__":
    unittest.main()
