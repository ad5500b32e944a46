# SPDX-License-Identifier: GPL-2.0
"""agentns.provenance on the host: an unlabelled file, a missing one, and
labels set by hand as user.* stand-ins are not read (only security.*)."""

import errno
import os
import tempfile
import unittest
from unittest import mock

import _paths  # noqa: F401
from agentns import abi, provenance
from agentns.types import SessionId


class Provenance(unittest.TestCase):
    def test_unlabelled_file(self):
        with tempfile.NamedTemporaryFile() as f:
            self.assertIsNone(provenance.label(f.name))

    def test_missing_file(self):
        with self.assertRaises(OSError) as cm:
            provenance.label("/nonexistent/agentns")
        self.assertEqual(cm.exception.errno, errno.ENOENT)

    def _fake(self, values):
        def getxattr(path, name, follow_symlinks=True):
            self.assertFalse(follow_symlinks)
            if name in values:
                return values[name]
            raise OSError(errno.ENODATA, "no data")
        return mock.patch.object(os, "getxattr", getxattr)

    def test_label_with_and_without_intent(self):
        sid = bytes(range(16))
        with self._fake({abi.XATTR_NAME_AGENT_SESSION: sid,
                         abi.XATTR_NAME_AGENT_INTENT: b"build"}):
            lab = provenance.label("x")
        self.assertEqual(lab, provenance.Label(SessionId(sid), "build"))
        self.assertEqual(lab.as_dict(),
                         {"session": "000102030405060708090a0b0c0d0e0f", "intent": "build"})
        with self._fake({abi.XATTR_NAME_AGENT_SESSION: sid}):
            self.assertEqual(provenance.label("x").intent, None)

    def test_bad_size_is_an_error(self):
        with self._fake({abi.XATTR_NAME_AGENT_SESSION: b"short"}):
            with self.assertRaises(ValueError):
                provenance.label("x")


if __name__ == "__main__":
    unittest.main()
