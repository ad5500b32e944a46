# SPDX-License-Identifier: GPL-2.0
"""The package's constants and ctypes structures against the uapi header.

The header is parsed here (every #define with a value, every struct with
its fields and the "version 1" marker, the _IOR ioctl numbers encoded for
this machine), the C layout is computed with the x86-64 alignment rules
and compared with ctypes'.  When gcc is there, a
compiled probe checks the parser itself against the C compiler.
"""

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import _paths  # noqa: F401  (sys.path)
from agentns import abi, types
from agentns._ioctl import ioc

_TYPES = {"__u8": 1, "__u16": 2, "__u32": 4, "__u64": 8,
          "__s8": 1, "__s16": 2, "__s32": 4, "__s64": 8}


def _strip_comments(text):
    return re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)


def _eval(expr, known):
    """Evaluates a #define value: integers (with U and L suffixes), known
    names, + - | << and parentheses only."""
    tokens = re.findall(r"0[xX][0-9a-fA-F]+[uUlL]*|\d+[uUlL]*|[A-Za-z_]\w*|<<|[-+|()]|\S",
                        expr)
    out = []
    for t in tokens:
        if re.fullmatch(r"(0[xX][0-9a-fA-F]+|\d+)[uUlL]*", t):
            out.append(str(int(t.rstrip("uUlL"), 0)))
        elif re.fullmatch(r"[A-Za-z_]\w*", t):
            if t not in known:
                raise ValueError("unknown name %s in %r" % (t, expr))
            out.append(str(known[t]))
        elif t in ("+", "-", "|", "<<", "(", ")"):
            out.append(t)
        else:
            raise ValueError("unexpected %r in %r" % (t, expr))
    return eval(" ".join(out), {"__builtins__": {}})  # only digits and operators


# What the header takes from <linux/nsfs.h>, which it includes.
_NSFS_DEFINES = {"NSIO": 0xB7}
_IOCTL_RE = re.compile(r"_IO(R?)\(\s*(\w+)\s*,\s*(\w+)\s*(?:,\s*struct\s+(\w+)\s*)?\)")


def _ioctl_number(expr, known, structs):
    """An _IO(type, nr) or _IOR(type, nr, struct NAME) #define, encoded for
    this machine."""
    m = _IOCTL_RE.fullmatch(expr.strip())
    if not m:
        raise ValueError("cannot parse ioctl %r" % (expr,))
    type_ = _eval(m.group(2), dict(known, **_NSFS_DEFINES))
    nr = _eval(m.group(3), known)
    if not m.group(1):
        return ioc("none", type_, nr, 0)
    if m.group(4) not in structs:
        raise ValueError("ioctl %r on an unknown structure" % (expr,))
    return ioc("read", type_, nr, c_layout(structs[m.group(4)])[1])


def parse_header(path):
    """{name: value} of the valued #defines (integers, plain strings) and
    {struct: [(field, type, version, count)]} of the structures of a uapi
    header (count is None for a scalar, the length for an array)."""
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    defines, ioctls = {}, []
    for line in _strip_comments(raw).splitlines():
        m = re.match(r"\s*#\s*define\s+([A-Za-z_]\w*)\s+(.+?)\s*$", line)
        if m:
            if m.group(2).startswith("_IO"):
                ioctls.append((m.group(1), m.group(2)))
            elif re.fullmatch(r'"[^"\\]*"', m.group(2)):
                defines[m.group(1)] = m.group(2)[1:-1]
            else:
                defines[m.group(1)] = _eval(m.group(2), defines)
    structs = {}
    for m in re.finditer(r"struct\s+(\w+)\s*\{(.*?)\};", raw, flags=re.S):
        fields, version = [], 0
        for line in m.group(2).splitlines():
            v = re.search(r"/\*\s*version\s+(\d+)\s*\*/", line)
            if v:
                version = int(v.group(1))
            code = _strip_comments(line).strip()
            if not code:
                continue
            fm = re.fullmatch(r"(__[us]\d+)\s+(\w+)\s*(?:\[\s*(\w+)\s*\])?\s*;", code)
            if not fm:
                raise ValueError("cannot parse field %r of struct %s" % (code, m.group(1)))
            count = None if fm.group(3) is None else _eval(fm.group(3), defines)
            fields.append((fm.group(2), fm.group(1), version, count))
        structs[m.group(1)] = fields
    for name, expr in ioctls:
        defines[name] = _ioctl_number(expr, defines, structs)
    return defines, structs


def c_layout(fields):
    """[(field, offset, size)] and the size of a struct of fixed-size
    integer fields and arrays of them, with natural alignment."""
    offset, align, out = 0, 1, []
    for name, ctype, _, count in fields:
        elem = _TYPES[ctype]
        size = elem * (1 if count is None else count)
        offset = (offset + elem - 1) // elem * elem
        out.append((name, offset, size))
        offset += size
        align = max(align, elem)
    return out, (offset + align - 1) // align * align


class HeaderChecks:
    """The checks, for one header file (the repository's, the exported one)."""

    header = None
    # Whether the package must have exactly the header's defines, or may
    # have more (a build exported before the repository's header grew).
    exact = True

    @classmethod
    def setUpClass(cls):
        cls.defines, cls.structs = parse_header(cls.header)

    def test_every_define_matches_the_package(self):
        header = {k: v for k, v in self.defines.items() if not k.startswith("_")}
        self.assertGreaterEqual(len(header), 19)  # the parser found them all
        if self.exact:
            self.assertEqual(header, abi.CONSTANTS)
        else:
            self.assertEqual(header, {k: v for k, v in abi.CONSTANTS.items() if k in header})

    def test_prctl_options_are_base_plus_one_to_eight(self):
        names = ["PR_GET_AGENT_SESSION_ID", "PR_SET_AGENT_INTENT_TAG",
                 "PR_GET_AGENT_INTENT_TAG", "PR_SET_AGENT_BUDGET_LIMITS",
                 "PR_GET_AGENT_COUNTERS", "PR_GET_AGENT_PARENT_ID",
                 "PR_SET_AGENT_NS", "PR_GET_AGENT_BUDGET_LIMITS"]
        self.assertEqual(self.defines["PR_AGENT_BASE"], 0x41544E53)
        for i, name in enumerate(names, 1):
            self.assertEqual(self.defines[name], 0x41544E53 + i, name)
            self.assertEqual(getattr(abi, name), self.defines[name], name)

    def _check_struct(self, cname, cls, ver0, ver1):
        fields = self.structs[cname]
        layout, size = c_layout(fields)
        self.assertEqual([f[0] for f in cls._fields_], [f[0] for f in fields])
        for (name, offset, fsize), (_, ctype) in zip(layout, cls._fields_):
            self.assertEqual(getattr(cls, name).offset, offset, name)
            self.assertEqual(getattr(cls, name).size, fsize, name)
            self.assertEqual(ctypes.sizeof(ctype), fsize, name)
        self.assertEqual(ctypes.sizeof(cls), size)
        self.assertEqual(size, self.defines[ver1])
        first_v1 = [f[0] for f in fields if f[2] == 1][0]
        self.assertEqual(getattr(cls, first_v1).offset, self.defines[ver0])
        return fields

    def test_counters_layout(self):
        self._check_struct("agent_ns_counters", abi.agent_ns_counters,
                           "AGENT_NS_COUNTERS_SIZE_VER0", "AGENT_NS_COUNTERS_SIZE_VER1")
        self.assertEqual(ctypes.sizeof(abi.agent_ns_counters), 72)

    def test_budget_layout(self):
        self._check_struct("agent_ns_budget", abi.agent_ns_budget,
                           "AGENT_NS_BUDGET_SIZE_VER0", "AGENT_NS_BUDGET_SIZE_VER1")
        self.assertEqual(ctypes.sizeof(abi.agent_ns_budget), 80)

    def test_dataclasses_cover_every_field(self):
        import dataclasses

        counters = [abi.short_name(f[0]) for f in self.structs["agent_ns_counters"]]
        self.assertEqual([f.name for f in dataclasses.fields(types.Counters)], counters)
        self.assertEqual([n for n, _ in abi.COUNTER_FIELDS], counters)
        # The action first, as agentns JSON has it, then the limits in the
        # header's order.
        limits = [abi.short_name(f[0]) for f in self.structs["agent_ns_budget"]
                  if f[0].startswith("max_")]
        self.assertEqual([f.name for f in dataclasses.fields(types.Budget)],
                         ["action"] + limits)
        self.assertEqual([n for n, _ in abi.BUDGET_LIMIT_FIELDS], limits)
        self.assertEqual({f[0] for f in self.structs["agent_ns_budget"]},
                         {f for _, f in abi.BUDGET_LIMIT_FIELDS} | {"action", "reserved"})

    def test_info_layout(self):
        if "agent_ns_info" not in self.structs:
            self.skipTest("a header without struct agent_ns_info")
        fields = self.structs["agent_ns_info"]
        layout, size = c_layout(fields)
        self.assertEqual([f[0] for f in abi.agent_ns_info._fields_], [f[0] for f in fields])
        for name, offset, fsize in layout:
            self.assertEqual(getattr(abi.agent_ns_info, name).offset, offset, name)
            self.assertEqual(getattr(abi.agent_ns_info, name).size, fsize, name)
        self.assertEqual(ctypes.sizeof(abi.agent_ns_info), size)
        self.assertEqual(size, self.defines["AGENT_NS_INFO_SIZE_VER0"])

    def test_fired_bits_are_the_counters_order(self):
        names = [abi.short_name(f[0]) for f in self.structs["agent_ns_counters"]]
        fired = {k[len("AGENT_NS_FIRED_"):].lower(): v for k, v in self.defines.items()
                 if k.startswith("AGENT_NS_FIRED_")}
        if not fired:
            self.skipTest("a header without AGENT_NS_FIRED_*")
        for bit, name in enumerate(names):
            key = "elapsed" if name == "elapsed_ns" else name
            self.assertEqual(fired[key], 1 << bit, name)

    def test_version_1_fields(self):
        for cname, v1 in (("agent_ns_counters", abi.COUNTERS_V1_FIELDS),
                          ("agent_ns_budget", abi.BUDGET_V1_FIELDS)):
            self.assertEqual(tuple(f[0] for f in self.structs[cname] if f[2] == 1), v1, cname)

    def test_actions_match(self):
        for a in types.Action:
            self.assertEqual(int(a), self.defines[a.uapi_name])
        # and every action of the header is an Action
        header = {k: v for k, v in self.defines.items() if k.startswith("AGENT_NS_ACTION_")}
        self.assertEqual(header, {a.uapi_name: int(a) for a in types.Action})

    def test_proc_names_cover_every_counter(self):
        counters = {f[0] for f in self.structs["agent_ns_counters"]}
        self.assertEqual({f for _, f in abi.PROC_COUNTER_FIELDS}, counters)
        self.assertEqual(sorted(abi.PROC_COUNTER_ORDER),
                         sorted(abi.short_name(f) for f in counters))


class RepositoryHeader(HeaderChecks, unittest.TestCase):
    header = _paths.UAPI_HEADER


@unittest.skipUnless(_paths.exported_header(), "no kernel build with exported headers")
class ExportedHeader(HeaderChecks, unittest.TestCase):
    header = _paths.exported_header()
    exact = False


class ParserSelfTest(unittest.TestCase):
    """The parser sees what it must, and refuses what it does not know."""

    def test_a_changed_header_is_noticed(self):
        with open(_paths.UAPI_HEADER, encoding="utf-8") as f:
            text = f.read()
        self.assertIn("PR_AGENT_BASE + 7)", text)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "h.h")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text.replace("PR_AGENT_BASE + 7)", "PR_AGENT_BASE + 9)")
                        .replace("__u64 exec_count;", "__u32 exec_count;"))
            defines, structs = parse_header(path)
        self.assertNotEqual({k: v for k, v in defines.items() if not k.startswith("_")},
                            abi.CONSTANTS)
        layout, size = c_layout(structs["agent_ns_counters"])
        self.assertEqual(layout[-1], ("exec_count", 64, 4))
        self.assertEqual(size, 72)  # padded: the size alone would not tell

    def test_unknown_syntax_is_refused(self):
        with self.assertRaises(ValueError):
            _eval("sizeof(int)", {})
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "h.h")
            with open(path, "w", encoding="utf-8") as f:
                f.write("struct x {\n\tchar name[4];\n};\n")
            with self.assertRaises(ValueError):
                parse_header(path)


@unittest.skipUnless(shutil.which("gcc"), "no gcc")
class CompilerAgrees(unittest.TestCase):
    """The C compiler's sizeof/offsetof equal the ctypes layout."""

    def test_offsets_from_gcc(self):
        with open(_paths.UAPI_HEADER, encoding="utf-8") as f:
            header = f.read()
        structs = [(c, cls) for c, cls in (("agent_ns_counters", abi.agent_ns_counters),
                                           ("agent_ns_budget", abi.agent_ns_budget),
                                           ("agent_ns_info", abi.agent_ns_info))
                   if "struct %s {" % c in header]
        ioctls = [n for n in ("AGENT_NS_GET_INFO", "AGENT_NS_GET_COUNTERS", "AGENT_NS_GET_BUDGET")
                  if "#define " + n in header]
        lines = []
        for cname, cls in structs:
            lines.append('printf("%s sizeof %%zu\\n", sizeof(struct %s));' % (cname, cname))
            for name, _ in cls._fields_:
                lines.append('printf("%s %s %%zu\\n", offsetof(struct %s, %s));'
                             % (cname, name, cname, name))
        for name in ioctls:
            lines.append('printf("ioctl %s %%lu\\n", (unsigned long)%s);' % (name, name))
        src = ('#include <stdio.h>\n#include <stddef.h>\n#include "%s"\n'
               "int main(void)\n{\n%s\nreturn 0;\n}\n" % (_paths.UAPI_HEADER, "\n".join(lines)))
        with tempfile.TemporaryDirectory() as d:
            c, exe = os.path.join(d, "probe.c"), os.path.join(d, "probe")
            with open(c, "w", encoding="utf-8") as f:
                f.write(src)
            subprocess.run(["gcc", "-Wall", "-Werror", "-o", exe, c], check=True)
            out = subprocess.run([exe], check=True, stdout=subprocess.PIPE,
                                 universal_newlines=True).stdout
        got = {}
        for line in out.splitlines():
            s, field, value = line.split()
            got[(s, field)] = int(value)
        for cname, cls in structs:
            self.assertEqual(got[(cname, "sizeof")], ctypes.sizeof(cls))
            for name, _ in cls._fields_:
                self.assertEqual(got[(cname, name)], getattr(cls, name).offset, name)
        # The ioctl numbers as this machine's <asm/ioctl.h> encodes them.
        for name in ioctls:
            self.assertEqual(got[("ioctl", name)], getattr(abi, name), name)


if __name__ == "__main__":
    unittest.main()
