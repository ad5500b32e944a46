// SPDX-License-Identifier: GPL-2.0
// The generator behind build.rs, also compiled into the library's tests (src/uapi.rs), which
// feed it altered headers to check that it refuses them.
//
// It parses include/uapi/linux/agent_namespaces.h and returns the Rust source of the
// constants and structures, or an error when the header changed shape:
//
// - a constant the library needs is missing, or a fixed ABI number (the prctl options, the
//   namespace type, the actions, the version sizes) has another value;
// - a structure is missing, has a field that is not a plain __u8..__u64/__s8..__s64, has
//   implicit padding, or its known fields changed name, type or place;
// - a structure's size is not its newest *_SIZE_VER<N> define, or a *_SIZE_VER<N> does not
//   end on a field boundary.
//
// Appending a field with a new *_SIZE_VER<N> is the one change that still generates: the new
// field appears in the structure, and a warning says the library does not know it yet.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Constants the library uses, with the value the ABI fixes.
pub const REQUIRED_DEFINES: &[(&str, u64)] = &[
    ("AGENT_NS_ID_BYTES", 16),
    ("AGENT_NS_INTENT_MAX", 63),
    ("AGENT_NS_TYPE", 0x40),
    ("PR_AGENT_BASE", 0x4154_4E53),
    ("PR_GET_AGENT_SESSION_ID", 0x4154_4E53 + 1),
    ("PR_SET_AGENT_INTENT_TAG", 0x4154_4E53 + 2),
    ("PR_GET_AGENT_INTENT_TAG", 0x4154_4E53 + 3),
    ("PR_SET_AGENT_BUDGET_LIMITS", 0x4154_4E53 + 4),
    ("PR_GET_AGENT_COUNTERS", 0x4154_4E53 + 5),
    ("PR_GET_AGENT_PARENT_ID", 0x4154_4E53 + 6),
    ("PR_SET_AGENT_NS", 0x4154_4E53 + 7),
    ("PR_GET_AGENT_BUDGET_LIMITS", 0x4154_4E53 + 8),
    ("AGENT_NS_COUNTERS_SIZE_VER0", 56),
    ("AGENT_NS_COUNTERS_SIZE_VER1", 72),
    ("AGENT_NS_ACTION_LOG", 0),
    ("AGENT_NS_ACTION_SIGTERM", 1),
    ("AGENT_NS_ACTION_SIGKILL", 2),
    ("AGENT_NS_ACTION_DENY", 3),
    ("AGENT_NS_BUDGET_SIZE_VER0", 32),
    ("AGENT_NS_BUDGET_SIZE_VER1", 80),
    ("AGENT_NS_INFO_SIZE_VER0", 48),
];

/// The ioctls the library uses: (name, number, structure); all `_IOR(NSIO, nr, struct ...)`.
pub const REQUIRED_IOCTLS: &[(&str, u64, &str)] = &[
    ("AGENT_NS_GET_INFO", 0x40, "agent_ns_info"),
    ("AGENT_NS_GET_COUNTERS", 0x41, "agent_ns_counters"),
    ("AGENT_NS_GET_BUDGET", 0x42, "agent_ns_budget"),
];

/// A field: (C type, name); an array's type has its length, as in `__u8[16]`.
pub type KnownField = (&'static str, &'static str);

/// The structures (C name, size-define prefix) with the fields the library knows, in order.
pub const STRUCTS: &[(&str, &str, &[KnownField])] = &[
    (
        "agent_ns_counters",
        "AGENT_NS_COUNTERS",
        &[
            ("__u64", "total_syscalls"),
            ("__u64", "openat_count"),
            ("__u64", "write_bytes"),
            ("__u64", "connect_count"),
            ("__u64", "unlink_count"),
            ("__u64", "fork_count"),
            ("__u64", "elapsed_ns"),
            ("__u64", "read_bytes"),
            ("__u64", "exec_count"),
        ],
    ),
    (
        "agent_ns_budget",
        "AGENT_NS_BUDGET",
        &[
            ("__u64", "max_syscalls"),
            ("__u64", "max_write_bytes"),
            ("__u64", "max_elapsed_ns"),
            ("__u32", "action"),
            ("__u32", "reserved"),
            ("__u64", "max_openat"),
            ("__u64", "max_read_bytes"),
            ("__u64", "max_connect"),
            ("__u64", "max_unlink"),
            ("__u64", "max_fork"),
            ("__u64", "max_exec"),
        ],
    ),
    (
        "agent_ns_info",
        "AGENT_NS_INFO",
        &[
            ("__u8[16]", "id"),
            ("__u8[16]", "parent_id"),
            ("__u32", "level"),
            ("__u32", "flags"),
            ("__u32", "fired"),
            ("__u32", "reserved"),
        ],
    ),
];

type R<T> = Result<T, String>;

/// Removes comments (keeping line breaks) and joins continued lines.
fn strip_comments(src: &str) -> R<String> {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    loop {
        let block = rest.find("/*");
        let line = rest.find("//");
        match (block, line) {
            (Some(b), l) if l.is_none_or(|l| b < l) => {
                out.push_str(&rest[..b]);
                let end = rest[b + 2..]
                    .find("*/")
                    .ok_or("unterminated comment")?;
                let comment = &rest[b..b + 2 + end + 2];
                out.push(' ');
                out.extend(comment.chars().filter(|&c| c == '\n'));
                rest = &rest[b + 2 + end + 2..];
            }
            (_, Some(l)) => {
                out.push_str(&rest[..l]);
                rest = &rest[l..];
                rest = rest.find('\n').map_or("", |n| &rest[n..]);
            }
            _ => {
                out.push_str(rest);
                break;
            }
        }
    }
    Ok(out.replace("\\\n", " "))
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(u64),
    Ident(String),
    Op(char),
    Shl,
}

fn tokenize(expr: &str) -> R<Vec<Tok>> {
    let b = expr.as_bytes();
    let mut i = 0;
    let mut toks = Vec::new();
    while i < b.len() {
        let c = b[i] as char;
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i] as char).is_ascii_alphanumeric() {
                i += 1;
            }
            let lit = expr[start..i].trim_end_matches(['u', 'U', 'l', 'L']);
            let v = if let Some(h) = lit.strip_prefix("0x").or(lit.strip_prefix("0X")) {
                u64::from_str_radix(h, 16)
            } else {
                lit.parse()
            };
            toks.push(Tok::Num(
                v.map_err(|_| format!("bad number {:?}", &expr[start..i]))?,
            ));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            toks.push(Tok::Ident(expr[start..i].to_string()));
        } else if expr[i..].starts_with("<<") {
            toks.push(Tok::Shl);
            i += 2;
        } else if "+-|()".contains(c) {
            toks.push(Tok::Op(c));
            i += 1;
        } else {
            return Err(format!("unsupported character {c:?} in {expr:?}"));
        }
    }
    Ok(toks)
}

/// Evaluates numbers, earlier defines, `+ - | <<` and parentheses (`<<` binds tighter than
/// `+ -`, `|` loosest, all left-associative).
struct Eval<'a> {
    toks: Vec<Tok>,
    pos: usize,
    defs: &'a BTreeMap<String, u64>,
    src: &'a str,
}

impl Eval<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }
    fn next(&mut self) -> Option<Tok> {
        self.pos += 1;
        self.toks.get(self.pos - 1).cloned()
    }
    fn or(&mut self) -> R<u64> {
        let mut v = self.add()?;
        while self.peek() == Some(&Tok::Op('|')) {
            self.next();
            v |= self.add()?;
        }
        Ok(v)
    }
    fn add(&mut self) -> R<u64> {
        let mut v = self.shift()?;
        loop {
            match self.peek() {
                Some(Tok::Op('+')) => {
                    self.next();
                    v = v.wrapping_add(self.shift()?);
                }
                Some(Tok::Op('-')) => {
                    self.next();
                    v = v.wrapping_sub(self.shift()?);
                }
                _ => return Ok(v),
            }
        }
    }
    fn shift(&mut self) -> R<u64> {
        let mut v = self.atom()?;
        while self.peek() == Some(&Tok::Shl) {
            self.next();
            v <<= self.atom()?;
        }
        Ok(v)
    }
    fn atom(&mut self) -> R<u64> {
        match self.next() {
            Some(Tok::Num(n)) => Ok(n),
            Some(Tok::Ident(id)) => self
                .defs
                .get(&id)
                .copied()
                .ok_or_else(|| format!("{:?} uses unknown name {id}", self.src)),
            Some(Tok::Op('(')) => {
                let v = self.or()?;
                if self.next() != Some(Tok::Op(')')) {
                    return Err(format!("unbalanced parentheses in {:?}", self.src));
                }
                Ok(v)
            }
            t => Err(format!("unexpected {t:?} in {:?}", self.src)),
        }
    }
}

fn eval(expr: &str, defs: &BTreeMap<String, u64>) -> R<u64> {
    let mut e = Eval {
        toks: tokenize(expr)?,
        pos: 0,
        defs,
        src: expr,
    };
    let v = e.or()?;
    if e.pos != e.toks.len() {
        return Err(format!("trailing tokens in {expr:?}"));
    }
    Ok(v)
}

struct Field {
    /// The C type, with the length for an array (`__u8[16]`).
    ctype: String,
    /// The element type.
    base: String,
    /// The array length, or `None` for a scalar.
    len: Option<usize>,
    name: String,
    size: usize,
    offset: usize,
}

fn ctype_size(t: &str) -> Option<(usize, &'static str)> {
    Some(match t {
        "__u8" => (1, "u8"),
        "__u16" => (2, "u16"),
        "__u32" => (4, "u32"),
        "__u64" => (8, "u64"),
        "__s8" => (1, "i8"),
        "__s16" => (2, "i16"),
        "__s32" => (4, "i32"),
        "__s64" => (8, "i64"),
        _ => return None,
    })
}

fn parse_struct(src: &str, name: &str, defs: &BTreeMap<String, u64>) -> R<(Vec<Field>, usize)> {
    let open = format!("struct {name} {{");
    let norm: String = src.split_whitespace().collect::<Vec<_>>().join(" ");
    let start = norm
        .find(&open)
        .ok_or_else(|| format!("no struct {name}"))?;
    let body_start = start + open.len();
    let len = norm[body_start..]
        .find('}')
        .ok_or_else(|| format!("struct {name} is not closed"))?;
    let body = &norm[body_start..body_start + len];
    if body.contains('{') {
        return Err(format!("struct {name} has a nested aggregate"));
    }
    let mut fields = Vec::new();
    let mut off = 0usize;
    let mut align = 1usize;
    for decl in body.split(';').map(str::trim).filter(|d| !d.is_empty()) {
        let toks: Vec<&str> = decl.split(' ').collect();
        let [ctype, fname] = toks[..] else {
            return Err(format!("struct {name}: unsupported declaration {decl:?}"));
        };
        let (elem, _) = ctype_size(ctype)
            .ok_or_else(|| format!("struct {name}: unsupported type in {decl:?}"))?;
        // A one-dimensional array of a length the header defines is the one declarator
        // besides a plain name.
        let (fname, len) = match fname.split_once('[') {
            Some((n, l)) => {
                let l = l
                    .strip_suffix(']')
                    .ok_or_else(|| format!("struct {name}: unsupported declarator in {decl:?}"))?;
                (n, Some(eval(l, defs)? as usize))
            }
            None => (fname, None),
        };
        let size = elem * len.unwrap_or(1);
        if !fname.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            return Err(format!(
                "struct {name}: unsupported declarator in {decl:?} (arrays, bitfields)"
            ));
        }
        if off % elem != 0 {
            return Err(format!("struct {name}: implicit padding before {fname}"));
        }
        align = align.max(elem);
        fields.push(Field {
            ctype: len.map_or_else(|| ctype.to_string(), |l| format!("{ctype}[{l}]")),
            base: ctype.to_string(),
            len,
            name: fname.to_string(),
            size,
            offset: off,
        });
        off += size;
    }
    if off % align != 0 {
        return Err(format!("struct {name}: implicit tail padding"));
    }
    Ok((fields, off))
}

fn camel(name: &str) -> String {
    name.split('_')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// An `_IOR(NSIO, nr, struct name)` define: (name, nr, struct name).
type Ioctl = (String, u64, String);

/// Parses the body of an `_IOR(NSIO, nr, struct name)` define.
fn parse_ioctl(name: &str, body: &str, defs: &BTreeMap<String, u64>) -> R<Ioctl> {
    let bad = || format!("{name}: only _IOR(NSIO, nr, struct name) is supported, not {body:?}");
    let args = body
        .strip_prefix("_IOR(")
        .and_then(|b| b.strip_suffix(')'))
        .ok_or_else(bad)?;
    let [ty, nr, st] = args.split(',').map(str::trim).collect::<Vec<_>>()[..] else {
        return Err(bad());
    };
    let st = st.strip_prefix("struct ").ok_or_else(bad)?.trim();
    if ty != "NSIO" {
        return Err(bad());
    }
    Ok((name.to_string(), eval(nr, defs)?, st.to_string()))
}

/// The header's object-like #defines that have a value, their names in order, its ioctls and
/// its string constants.
type Defines = (
    BTreeMap<String, u64>,
    Vec<String>,
    Vec<Ioctl>,
    Vec<(String, String)>,
);

/// Parses the header's #defines.
fn parse_defines(src: &str) -> R<Defines> {
    let mut defs = BTreeMap::new();
    let mut order = Vec::new();
    let mut ioctls = Vec::new();
    let mut strings = Vec::new();
    for line in src.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix('#') else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix("define") else {
            continue;
        };
        let rest = rest.trim_start();
        let name_end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        let (name, body) = rest.split_at(name_end);
        if body.starts_with('(') {
            return Err(format!("function-like macro {name} is not supported"));
        }
        let body = body.trim();
        if body.is_empty() {
            continue; // the include guard
        }
        if let Some(lit) = body.strip_prefix('"') {
            let lit = lit
                .strip_suffix('"')
                .filter(|l| !l.contains(['"', '\\']))
                .ok_or_else(|| format!("{name}: only a plain string literal is supported"))?;
            strings.push((name.to_string(), lit.to_string()));
            continue;
        }
        if body.starts_with("_IO") {
            ioctls.push(parse_ioctl(name, body, &defs)?);
            continue;
        }
        let v = eval(body, &defs)?;
        if defs.insert(name.to_string(), v).is_some() {
            return Err(format!("{name} is defined twice"));
        }
        order.push(name.to_string());
    }
    for (name, want) in REQUIRED_DEFINES {
        match defs.get(*name) {
            None => return Err(format!("{name} is missing")),
            Some(v) if v != want => {
                return Err(format!(
                    "{name} is {v:#x}, but the fixed ABI value is {want:#x}"
                ));
            }
            _ => {}
        }
    }
    for (name, nr, st) in REQUIRED_IOCTLS {
        match ioctls.iter().find(|i| i.0 == *name) {
            None => return Err(format!("{name} is missing")),
            Some((_, n, s)) if n != nr || s != st => {
                return Err(format!(
                    "{name} is _IOR(NSIO, {n:#x}, struct {s}), but the fixed ABI is \
                     _IOR(NSIO, {nr:#x}, struct {st})"
                ));
            }
            _ => {}
        }
    }
    Ok((defs, order, ioctls, strings))
}

/// Generates the Rust source for the header text `raw`; also returns warnings.
pub fn generate(raw: &str, origin: &str) -> R<(String, Vec<String>)> {
    let src = strip_comments(raw)?;
    let (defs, order, ioctls, strings) = parse_defines(&src)?;
    let mut warnings = Vec::new();
    let mut out = String::new();
    let w = |e: std::fmt::Error| e.to_string();
    writeln!(out, "// Generated by build.rs from {origin}. Do not edit.\n").map_err(w)?;
    for name in &order {
        writeln!(
            out,
            "/// `{name}` from `<linux/agent_namespaces.h>`.\npub const {name}: u64 = {:#x};",
            defs[name]
        )
        .map_err(w)?;
    }
    writeln!(
        out,
        "\n/// Every constant of the header, in order.\npub const DEFINES: &[(&str, u64)] = &["
    )
    .map_err(w)?;
    for name in &order {
        writeln!(out, "    (\"{name}\", {name}),").map_err(w)?;
    }
    writeln!(out, "];").map_err(w)?;
    for (name, v) in &strings {
        writeln!(
            out,
            "/// `{name}` from `<linux/agent_namespaces.h>`.\npub const {name}: &str = \"{v}\";"
        )
        .map_err(w)?;
    }

    for (cname, prefix, known) in STRUCTS {
        let (fields, size) = parse_struct(&src, cname, &defs)?;
        let ver_prefix = format!("{prefix}_SIZE_VER");
        let mut versions: Vec<(u64, usize)> = defs
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(&ver_prefix)?.parse().ok()?;
                Some((n, *v as usize))
            })
            .collect();
        versions.sort();
        for (n, s) in &versions {
            if !fields.iter().any(|f| f.offset + f.size == *s) {
                return Err(format!(
                    "{ver_prefix}{n} = {s} does not end on a field of struct {cname}"
                ));
            }
        }
        if versions.windows(2).any(|v| v[0].1 >= v[1].1) {
            return Err(format!("{ver_prefix}<N> sizes must grow with N"));
        }
        let latest = versions
            .last()
            .ok_or_else(|| format!("no {ver_prefix}<N> for struct {cname}"))?;
        if latest.1 != size {
            return Err(format!(
                "struct {cname} is {size} bytes, but its newest size define {ver_prefix}{} is {}",
                latest.0, latest.1
            ));
        }
        for (i, (t, n)) in known.iter().enumerate() {
            match fields.get(i) {
                Some(f) if f.name == *n && f.ctype == *t => {}
                Some(f) => {
                    return Err(format!(
                        "struct {cname} field {i} is `{} {}`, expected `{t} {n}`",
                        f.ctype, f.name
                    ));
                }
                None => return Err(format!("struct {cname} lost field `{t} {n}`")),
            }
        }
        for f in &fields[known.len()..] {
            warnings.push(format!(
                "struct {cname} has a new field {} that agentns does not know yet",
                f.name
            ));
        }

        let rname = camel(cname);
        writeln!(
            out,
            "\n/// `struct {cname}` from `<linux/agent_namespaces.h>`, newest version.\n\
             #[repr(C)]\n#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]\n\
             pub struct {rname} {{"
        )
        .map_err(w)?;
        for f in &fields {
            let elem = ctype_size(&f.base).map(|t| t.1).unwrap_or("u64");
            let rty = f
                .len
                .map_or_else(|| elem.to_string(), |l| format!("[{elem}; {l}]"));
            writeln!(out, "    /// `{} {}`\n    pub {}: {rty},", f.ctype, f.name, f.name)
                .map_err(w)?;
        }
        writeln!(out, "}}\n\nimpl {rname} {{").map_err(w)?;
        writeln!(
            out,
            "    /// The C name of the structure.\n    pub const C_NAME: &'static str = \"{cname}\";"
        )
        .map_err(w)?;
        let sizes: Vec<String> = versions.iter().map(|v| v.1.to_string()).collect();
        writeln!(
            out,
            "    /// The sizes of its versions, oldest first (`{ver_prefix}<N>`).\n    \
             pub const SIZE_VERSIONS: &'static [usize] = &[{}];",
            sizes.join(", ")
        )
        .map_err(w)?;
        writeln!(
            out,
            "    /// Each field as the header declares it.\n    \
             pub const LAYOUT: &'static [crate::uapi::FieldLayout] = &["
        )
        .map_err(w)?;
        for f in &fields {
            writeln!(
                out,
                "        crate::uapi::FieldLayout {{ name: \"{}\", ctype: \"{}\", offset: {}, \
                 size: {} }},",
                f.name, f.ctype, f.offset, f.size
            )
            .map_err(w)?;
        }
        writeln!(out, "    ];").map_err(w)?;
        writeln!(out, "}}").map_err(w)?;
        writeln!(
            out,
            "const _: () = assert!(core::mem::size_of::<{rname}>() == {size});"
        )
        .map_err(w)?;
        for f in &fields {
            writeln!(
                out,
                "const _: () = assert!(core::mem::offset_of!({rname}, {}) == {});",
                f.name, f.offset
            )
            .map_err(w)?;
        }
    }
    for (name, nr, st) in &ioctls {
        if !STRUCTS.iter().any(|s| s.0 == st) {
            return Err(format!("{name} reads struct {st}, which agentns does not know"));
        }
        writeln!(
            out,
            "\n/// `{name}` from `<linux/agent_namespaces.h>`: `_IOR(NSIO, {nr:#x}, struct {st})`.\n\
             pub const {name}: crate::uapi::Opcode = crate::uapi::ior::<{}>({nr:#x});",
            camel(st)
        )
        .map_err(w)?;
    }
    Ok((out, warnings))
}
