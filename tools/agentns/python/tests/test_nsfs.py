# SPDX-License-Identifier: GPL-2.0
"""Namespace files: the ioctl encoding per architecture, listns(2)'s
number, the parent walk's EPERM rule, and the ioctls on this host's own
namespace files (any kernel has those)."""

import ctypes
import errno
import os
import shutil
import subprocess
import tempfile
import unittest
from unittest import mock

import _paths  # noqa: F401  (sys.path)
import agentns
from agentns import _ioctl, abi, nsfs

HAS_FEATURE = agentns.is_supported()

# What gcc makes of _IO(NSIO, 1), _IO(NSIO, 2), _IO(NSIO, 3), _IOR(NSIO, 13,
# __u64) and _IOW(NSIO, 13, __u64) with each architecture's
# arch/*/include/uapi/asm/ioctl.h (Linux 7.3; generic: asm-generic/ioctl.h).
REFERENCE = {
    "x86_64": (0xB701, 0xB702, 0xB703, 0x8008B70D, 0x4008B70D),
    "aarch64": (0xB701, 0xB702, 0xB703, 0x8008B70D, 0x4008B70D),
    "riscv64": (0xB701, 0xB702, 0xB703, 0x8008B70D, 0x4008B70D),
    "s390x": (0xB701, 0xB702, 0xB703, 0x8008B70D, 0x4008B70D),
    "armv7l": (0xB701, 0xB702, 0xB703, 0x8008B70D, 0x4008B70D),
    "i686": (0xB701, 0xB702, 0xB703, 0x8008B70D, 0x4008B70D),
    "loongarch64": (0xB701, 0xB702, 0xB703, 0x8008B70D, 0x4008B70D),
    "ppc64le": (0x2000B701, 0x2000B702, 0x2000B703, 0x4008B70D, 0x8008B70D),
    "ppc": (0x2000B701, 0x2000B702, 0x2000B703, 0x4008B70D, 0x8008B70D),
    "mips64": (0x2000B701, 0x2000B702, 0x2000B703, 0x4008B70D, 0x8008B70D),
    "mipsel": (0x2000B701, 0x2000B702, 0x2000B703, 0x4008B70D, 0x8008B70D),
    "sparc64": (0x2000B701, 0x2000B702, 0x2000B703, 0x4008B70D, 0x8008B70D),
    "alpha": (0x2000B701, 0x2000B702, 0x2000B703, 0x4008B70D, 0x8008B70D),
    "parisc": (0xB701, 0xB702, 0xB703, 0x4008B70D, 0x8008B70D),
    "parisc64": (0xB701, 0xB702, 0xB703, 0x4008B70D, 0x8008B70D),
}


class IoctlEncoding(unittest.TestCase):
    def test_every_architecture(self):
        for machine, want in REFERENCE.items():
            got = (_ioctl.io(0xB7, 1, machine), _ioctl.io(0xB7, 2, machine),
                   _ioctl.io(0xB7, 3, machine), _ioctl.ior(0xB7, 13, 8, machine),
                   _ioctl.ioc("write", 0xB7, 13, 8, machine))
            self.assertEqual(got, want, machine)

    def test_the_agent_ioctls_on_x86_64(self):
        # The numbers the Rust library pins for x86-64 and arm64.
        for machine in ("x86_64", "aarch64"):
            self.assertEqual(_ioctl.ior(0xB7, 0x40, ctypes.sizeof(abi.agent_ns_info), machine),
                             0x8030B740)
            self.assertEqual(_ioctl.ior(0xB7, 0x41, ctypes.sizeof(abi.agent_ns_counters),
                                        machine), 0x8048B741)
            self.assertEqual(_ioctl.ior(0xB7, 0x42, ctypes.sizeof(abi.agent_ns_budget),
                                        machine), 0x8050B742)

    def test_this_machine(self):
        layout = _ioctl.ioc_layout()
        self.assertEqual(nsfs.NS_GET_PARENT, (layout.none << layout.dir_shift) | 0xB702)
        self.assertEqual(abi.AGENT_NS_GET_COUNTERS,
                         _ioctl.ior(0xB7, 0x41, abi.AGENT_NS_COUNTERS_SIZE_VER1))

    @unittest.skipUnless(shutil.which("gcc") and os.path.isfile("/usr/include/linux/nsfs.h"),
                         "no gcc or no <linux/nsfs.h>")
    def test_this_machine_against_the_c_headers(self):
        names = ["NS_GET_USERNS", "NS_GET_PARENT", "NS_GET_NSTYPE"]
        with open("/usr/include/linux/nsfs.h", encoding="utf-8") as f:
            if "NS_GET_ID" in f.read():
                names.append("NS_GET_ID")
        src = "#include <stdio.h>\n#include <linux/nsfs.h>\nint main(void)\n{\n%s\nreturn 0;\n}\n" % (
            "\n".join('printf("%s %%lu\\n", (unsigned long)%s);' % (n, n) for n in names))
        with tempfile.TemporaryDirectory() as d:
            c, exe = os.path.join(d, "probe.c"), os.path.join(d, "probe")
            with open(c, "w", encoding="utf-8") as f:
                f.write(src)
            subprocess.run(["gcc", "-Wall", "-Werror", "-o", exe, c], check=True)
            out = subprocess.run([exe], check=True, stdout=subprocess.PIPE,
                                 universal_newlines=True).stdout
        got = dict((n, int(v)) for n, v in (line.split() for line in out.splitlines()))
        for n in names:
            self.assertEqual(got[n], getattr(nsfs, n), n)


class ListnsNumber(unittest.TestCase):
    def test_numbers(self):
        n = nsfs.listns_syscall_number
        self.assertEqual(n("x86_64", "x86_64-linux-gnu", 64), 470)
        self.assertEqual(n("x86_64", "i386-linux-gnu", 32), 470)
        self.assertEqual(n("x86_64", "x86_64-linux-gnux32", 32), 0x40000000 | 470)
        self.assertEqual(n("aarch64", "aarch64-linux-gnu", 64), 470)
        self.assertEqual(n("ppc64le", "powerpc64le-linux-gnu", 64), 470)
        self.assertEqual(n("alpha", "alpha-linux-gnu", 64), 580)
        self.assertEqual(n("mips", "mipsel-linux-gnu", 32), 4470)
        self.assertEqual(n("mips64", "mips64el-linux-gnuabi64", 64), 5470)
        self.assertEqual(n("mips64", "mips64el-linux-gnuabin32", 32), 6470)
        self.assertEqual(n("mips64", "mipsel-linux-gnu", 32), 4470)

    def test_request_layout(self):
        self.assertEqual(ctypes.sizeof(nsfs._NsIdReq), nsfs.NS_ID_REQ_SIZE_VER0)
        self.assertEqual(nsfs._NsIdReq.ns_type.offset, 16)
        self.assertEqual(nsfs._NsfsHandle.ns_id.offset, 8)
        self.assertEqual(ctypes.sizeof(nsfs._NsfsHandle), 24)


class _FakeSessions:
    """NS_GET_PARENT and fstat over /dev/null descriptors standing for
    sessions: level N has a parent at N-1 while N > top; at the top the
    kernel says EPERM.  The top is the initial session when top == 0."""

    def __init__(self, top, error_at=None):
        self.levels = {}
        self.top = top
        self.error_at = error_at

    def open(self, level):
        fd = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        self.levels[fd] = level
        return fd

    def ioctl(self, fd, request, arg=None):
        self.assert_request(request)
        level = self.levels[fd]
        if self.error_at is not None and level == self.error_at:
            return -errno.ENOTTY
        if level <= self.top:
            return -errno.EPERM
        return self.open(level - 1)

    @staticmethod
    def assert_request(request):
        assert request == nsfs.NS_GET_PARENT, hex(request)

    def inode(self, f):
        level = self.levels[f.fileno()]
        return nsfs.AGENT_NS_INIT_INO if level == 0 else 1000 + level


class ParentWalk(unittest.TestCase):
    def walk(self, sessions, level):
        f = nsfs.NsFile(sessions.open(level))
        with mock.patch.object(nsfs._sys, "ioctl", sessions.ioctl), \
                mock.patch.object(nsfs.NsFile, "inode", lambda f: sessions.inode(f)):
            try:
                anc = f.ancestors()
                return anc, [sessions.inode(a) for a in anc.chain]
            finally:
                f.close()

    def test_from_the_initial_session_to_the_top(self):
        s = _FakeSessions(top=0)
        anc, inodes = self.walk(s, 3)
        self.assertEqual(inodes, [1002, 1001, nsfs.AGENT_NS_INIT_INO])
        self.assertTrue(anc.complete)
        self.assertEqual(anc.depth, 3)
        anc.close()
        self.assertTrue(all(a.closed for a in anc.chain))

    def test_the_initial_session_itself(self):
        anc, inodes = self.walk(_FakeSessions(top=0), 0)
        self.assertEqual(inodes, [])
        self.assertTrue(anc.complete)
        self.assertEqual(anc.depth, 0)

    def test_eperm_above_the_callers_session_is_the_top(self):
        # A caller in the session at level 2: its sub-sessions' chains stop there.
        anc, inodes = self.walk(_FakeSessions(top=2), 4)
        self.assertEqual(inodes, [1003, 1002])
        self.assertFalse(anc.complete)
        self.assertIsNone(anc.depth)
        anc.close()
        # and its own session shows no parent at all
        anc, inodes = self.walk(_FakeSessions(top=2), 2)
        self.assertEqual(inodes, [])
        self.assertFalse(anc.complete)

    def test_other_errors_are_errors(self):
        s = _FakeSessions(top=0, error_at=1)
        with self.assertRaises(agentns.AgentNSError) as cm:
            self.walk(s, 3)
        self.assertEqual(cm.exception.errno, errno.ENOTTY)
        self.assertIn("NS_GET_PARENT", str(cm.exception))
        self.assertTrue(nsfs.parent_not_visible(errno.EPERM))
        for e in (errno.ENOTTY, errno.EBADF, errno.EINVAL, errno.ENOMEM):
            self.assertFalse(nsfs.parent_not_visible(e), e)


class Info(unittest.TestCase):
    def test_from_struct(self):
        i = abi.agent_ns_info()
        i.id[0] = 0xAB
        i.parent_id[15] = 0x01
        i.level = 2
        i.flags = abi.AGENT_NS_INFO_ACTED_ABOVE
        i.fired = abi.AGENT_NS_FIRED_SYSCALLS | abi.AGENT_NS_FIRED_ELAPSED | abi.AGENT_NS_FIRED_EXEC
        got = nsfs.SessionInfo.from_struct(i)
        self.assertEqual(str(got.id), "ab" + "00" * 15)
        self.assertEqual(str(got.parent_id), "00" * 15 + "01")
        self.assertEqual(got.depth, 2)
        self.assertEqual((got.acted, got.acted_above, got.reaped), (False, True, False))
        self.assertEqual(got.fired, ("syscalls", "elapsed_ns", "exec"))
        self.assertEqual(list(got.as_dict()),
                         ["id", "parent_id", "depth", "acted", "acted_above", "reaped", "fired"])


class HostNamespaceFiles(unittest.TestCase):
    """The ioctls for real, on namespace files every kernel has."""

    def test_another_type_is_refused_by_ns_get_nstype(self):
        fd = os.open("/proc/self/ns/uts", os.O_RDONLY | os.O_CLOEXEC)
        with self.assertRaises(agentns.InvalidArgumentError) as cm:
            nsfs.NsFile.from_fd(fd)
        with self.assertRaises(OSError):
            os.fstat(fd)  # closed: from_fd took it over
        # 0x4000000 is CLONE_NEWUTS: NS_GET_NSTYPE worked
        self.assertIn("type 0x4000000, not an agent session", str(cm.exception))

    def test_ns_get_parent_of_the_own_pid_namespace_is_the_top(self):
        f = nsfs.NsFile(os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC))
        with f:
            self.assertIsNone(f.parent())
            self.assertEqual(f.inode(), os.stat("/proc/self/ns/pid").st_ino)
            anc = f.ancestors()
            self.assertEqual(anc.chain, [])
            self.assertFalse(anc.complete)  # not the initial agent session
        self.assertTrue(f.closed)
        with self.assertRaises(ValueError):
            f.fileno()

    def test_ns_get_id(self):
        f = nsfs.NsFile(os.open("/proc/self/ns/uts", os.O_RDONLY | os.O_CLOEXEC))
        with f:
            try:
                ns_id = f.ns_id()
            except agentns.AgentNSError as e:
                if e.errno == errno.ENOTTY:
                    self.skipTest("a kernel before NS_GET_ID")
                raise
        self.assertGreater(ns_id, 0)

    def test_no_such_process(self):
        for pid in (0, -1, 0x3FFFFFFF):
            with self.assertRaises(agentns.NoSuchTaskError):
                nsfs.NsFile.of_pid(pid)

    @unittest.skipIf(HAS_FEATURE, "this host runs a kernel with agent namespaces")
    def test_without_the_feature(self):
        for call in (nsfs.NsFile.of_self, lambda: nsfs.NsFile.of_pid(os.getpid()),
                     agentns.list_sessions):
            with self.assertRaises(agentns.NotSupportedError):
                call()
        # listns(2) says what this kernel's says: ENOSYS before 6.19, else
        # EINVAL for a type it does not know.
        with self.assertRaises(agentns.AgentNSError) as cm:
            agentns.listns()
        self.assertIn(cm.exception.errno, (errno.ENOSYS, errno.EINVAL, errno.EPERM))


if __name__ == "__main__":
    unittest.main()
