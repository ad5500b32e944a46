// SPDX-License-Identifier: GPL-2.0
//! Human output: counter tables, session ids, and the tables of `ls` and `top`.

use std::collections::{BTreeMap, HashMap};

use agentns::listing::{SessionInfo, TreeNode};
use agentns::units::{format_count, format_duration_ns, format_size};
use agentns::{Budget, Counter, Counters, SessionId};

/// A counter's value for people: bytes as sizes, `elapsed_ns` as a duration.
pub fn counter_value(name: &str, v: u64) -> String {
    if name.ends_with("_bytes") {
        if v < 1024 {
            format!("{v} B")
        } else {
            format!("{} ({})", format_size(v), format_count(v))
        }
    } else if name.ends_with("_ns") {
        format_duration_ns(v)
    } else {
        format_count(v)
    }
}

/// `name  value` lines, names padded, each line prefixed with `indent`.
pub fn counters_table(c: &Counters, indent: &str) -> String {
    let e = c.entries();
    let w = e.iter().map(|(k, _)| k.name().len()).max().unwrap_or(0);
    e.iter()
        .map(|(k, v)| {
            let k = k.name();
            format!("{indent}{k:<w$}  {}\n", counter_value(k, *v))
        })
        .collect()
}

/// The budget's set limits and action in one line: `action=kill syscalls=1,000`.
pub fn budget_line(b: &Budget) -> String {
    let mut s = format!(
        "action={}",
        b.action()
            .map_or_else(|| b.raw_action().to_string(), |a| a.to_string())
    );
    let mut any = false;
    for (k, v) in b.limits() {
        if v != 0 {
            any = true;
            let k = k.name();
            s += &format!(" {k}={}", counter_value(k, v).replace(' ', ""));
        }
    }
    if !any {
        s = "none".into();
    }
    s
}

/// How many hexadecimal digits of a session id tables show by default, as container ids are
/// shortened: 48 bits, so that two live sessions share a short id with a chance of about
/// n²/2^49 (one in 10^6 for 16,000 sessions).
pub const SHORT_ID_DIGITS: usize = 12;

/// A session id for a table: its first [`SHORT_ID_DIGITS`] digits, or all 32 with `full`.
pub fn session_id(id: &SessionId, full: bool) -> String {
    let mut s = id.to_string();
    if !full {
        s.truncate(SHORT_ID_DIGITS);
    }
    s
}

/// Whether the locale's character set is UTF-8, from the values of `LC_ALL`, `LC_CTYPE` and
/// `LANG`: the first that is set and not empty decides (POSIX's precedence), and it is UTF-8
/// when it names `UTF-8` or `utf8`, in any case (`en_US.UTF-8`, `C.utf8`).
pub fn is_utf8_locale(lc_all: Option<&str>, lc_ctype: Option<&str>, lang: Option<&str>) -> bool {
    [lc_all, lc_ctype, lang]
        .into_iter()
        .flatten()
        .find(|v| !v.is_empty())
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

/// [`is_utf8_locale`] of the environment.
pub fn utf8_locale() -> bool {
    let var = |k: &str| std::env::var(k).ok();
    is_utf8_locale(
        var("LC_ALL").as_deref(),
        var("LC_CTYPE").as_deref(),
        var("LANG").as_deref(),
    )
}

/// The pieces a tree is drawn with: a child with siblings after it, the last child, the
/// continuation of a parent's line past a child, and nothing.
struct TreeGlyphs {
    branch: &'static str,
    last: &'static str,
    vertical: &'static str,
    blank: &'static str,
}

const UTF8_TREE: TreeGlyphs = TreeGlyphs {
    branch: "├─ ",
    last: "└─ ",
    vertical: "│  ",
    blank: "   ",
};

/// As lsblk(8) and findmnt(8) draw without UTF-8.
const ASCII_TREE: TreeGlyphs = TreeGlyphs {
    branch: "|- ",
    last: "`- ",
    vertical: "|  ",
    blank: "   ",
};

/// `s` for a table cell: control characters (a command name may hold any byte) as `?`.
fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// `s` for raw output, as util-linux writes it: spaces, backslashes, control characters and
/// everything past ASCII as `\xHH` (each byte of its UTF-8), so that a value is one word.
fn raw_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_graphic() && b != b'\\' {
            out.push(char::from(b));
        } else {
            out += &format!("\\x{b:02x}");
        }
    }
    out
}

/// A column of `agentns ls`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// The session id.
    Session,
    /// The parent's id.
    Parent,
    /// The nesting depth.
    Depth,
    /// The number of processes.
    Nprocs,
    /// The lowest pid.
    Pid,
    /// The user of the lowest pid.
    User,
    /// The command name of the lowest pid.
    Command,
    /// Time since the session's creation.
    Age,
    /// The intent tag.
    Intent,
    /// The `syscalls` counter.
    Syscalls,
    /// The `openat` counter.
    Opens,
    /// The `write_bytes` counter.
    Wbytes,
    /// The `read_bytes` counter.
    Rbytes,
    /// The `connect` counter.
    Connects,
    /// The `unlink` counter.
    Unlinks,
    /// The `fork` counter.
    Forks,
    /// The `exec` counter.
    Execs,
    /// The nsfs inode number.
    Inode,
    /// The namespace id.
    Nsid,
}

impl Column {
    /// Every column, in the order `--help` lists them.
    pub const ALL: [Column; 19] = [
        Column::Session,
        Column::Parent,
        Column::Depth,
        Column::Nprocs,
        Column::Pid,
        Column::User,
        Column::Command,
        Column::Age,
        Column::Intent,
        Column::Syscalls,
        Column::Opens,
        Column::Wbytes,
        Column::Rbytes,
        Column::Connects,
        Column::Unlinks,
        Column::Forks,
        Column::Execs,
        Column::Inode,
        Column::Nsid,
    ];

    /// What `ls` prints without `-o`.
    pub const LS_DEFAULT: [Column; 13] = [
        Column::Session,
        Column::Nprocs,
        Column::Pid,
        Column::User,
        Column::Command,
        Column::Age,
        Column::Syscalls,
        Column::Opens,
        Column::Wbytes,
        Column::Rbytes,
        Column::Forks,
        Column::Execs,
        Column::Intent,
    ];

    /// The name, as `-o` takes it and the header shows it.
    pub fn name(self) -> &'static str {
        match self {
            Column::Session => "SESSION",
            Column::Parent => "PARENT",
            Column::Depth => "DEPTH",
            Column::Nprocs => "NPROCS",
            Column::Pid => "PID",
            Column::User => "USER",
            Column::Command => "COMMAND",
            Column::Age => "AGE",
            Column::Intent => "INTENT",
            Column::Syscalls => "SYSCALLS",
            Column::Opens => "OPENS",
            Column::Wbytes => "WBYTES",
            Column::Rbytes => "RBYTES",
            Column::Connects => "CONNECTS",
            Column::Unlinks => "UNLINKS",
            Column::Forks => "FORKS",
            Column::Execs => "EXECS",
            Column::Inode => "INODE",
            Column::Nsid => "NSID",
        }
    }

    /// The column called `name`, in any case.
    pub fn from_name(name: &str) -> Option<Column> {
        Column::ALL
            .into_iter()
            .find(|c| c.name().eq_ignore_ascii_case(name))
    }

    /// What the column shows, for `--help`.
    pub fn help(self) -> &'static str {
        match self {
            Column::Session => {
                "the session id, 12 hex digits (32 with --full-id), or agent:[INODE] without a \
                 visible process; a tree with notes unless --raw"
            }
            Column::Parent => "the parent session's id; - when it is not visible",
            Column::Depth => "the nesting depth, 0 for the initial session; - when unknown",
            Column::Nprocs => "processes in the session (not in the sessions below it)",
            Column::Pid => "the session's lowest pid",
            Column::User => "the effective user of that process (its uid if /etc/passwd lacks it)",
            Column::Command => "the command name of that process (/proc/PID/comm)",
            Column::Age => "time since the session was created",
            Column::Intent => "the intent tag; - when it cannot be read",
            Column::Syscalls => "system calls",
            Column::Opens => "files opened",
            Column::Wbytes => "bytes written",
            Column::Rbytes => "bytes read",
            Column::Connects => "connects",
            Column::Unlinks => "files and directories removed",
            Column::Forks => "tasks created",
            Column::Execs => "programs executed",
            Column::Inode => "the inode number of the namespace file (agent:[INODE])",
            Column::Nsid => "the namespace id (NS_GET_ID; what listns(2) lists)",
        }
    }

    /// The counter the column shows.
    fn counter(self) -> Option<Counter> {
        Some(match self {
            Column::Syscalls => Counter::Syscalls,
            Column::Opens => Counter::Openat,
            Column::Wbytes => Counter::WriteBytes,
            Column::Rbytes => Counter::ReadBytes,
            Column::Connects => Counter::Connect,
            Column::Unlinks => Counter::Unlink,
            Column::Forks => Counter::Fork,
            Column::Execs => Counter::Exec,
            _ => return None,
        })
    }

    /// Whether the column holds numbers, aligned to the right.
    fn numeric(self) -> bool {
        !matches!(
            self,
            Column::Session | Column::Parent | Column::User | Column::Command | Column::Intent
        )
    }
}

/// The column list of `ls --help`.
pub fn ls_columns_help() -> String {
    // Wrapped here, with the descriptions indented, to fit 80 columns.
    const WIDTH: usize = 80;
    const INDENT: usize = 12;
    let mut s = String::from("Columns (-o; names in any case):\n");
    for c in Column::ALL {
        let mut line = format!("  {:<9} ", c.name());
        for word in c.help().split(' ') {
            if line.chars().count() + word.chars().count() > WIDTH {
                s += line.trim_end();
                s.push('\n');
                line = " ".repeat(INDENT);
            }
            line += word;
            line.push(' ');
        }
        s += line.trim_end();
        s.push('\n');
    }
    s += "The counters cover the session and every session below it. They, AGE and the\n\
          intent are - for another user's session (they need ptrace read access).\n";
    s += &format!(
        "Default: {}",
        Column::LS_DEFAULT.map(Column::name).join(",")
    );
    s
}

/// A table: a header and rows of cells, printed aligned or raw.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Each column's header and whether it is aligned to the right.
    pub columns: Vec<(String, bool)>,
    /// The rows, a cell per column.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// Each column's width in characters, the header's included when `headings`.
    pub fn widths(&self, headings: bool) -> Vec<usize> {
        let mut w: Vec<usize> = self
            .columns
            .iter()
            .map(|(h, _)| if headings { h.chars().count() } else { 0 })
            .collect();
        for r in &self.rows {
            for (w, c) in w.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        w
    }

    /// Leaves out column `i`.
    pub fn remove_column(&mut self, i: usize) {
        self.columns.remove(i);
        for r in &mut self.rows {
            r.remove(i);
        }
    }

    /// The table as text, one space between columns: aligned (numbers to the right, the
    /// last column not padded), or raw (cells as they are).
    pub fn render(&self, headings: bool, raw: bool) -> String {
        let header: Vec<String> = self.columns.iter().map(|(h, _)| h.clone()).collect();
        let lines = headings.then_some(&header).into_iter().chain(&self.rows);
        let mut out = String::new();
        if raw {
            for r in lines {
                out += &r.join(" ");
                out.push('\n');
            }
            return out;
        }
        let widths = self.widths(headings);
        for r in lines {
            let mut line = String::new();
            for (i, (cell, w)) in r.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push(' ');
                }
                let pad = w.saturating_sub(cell.chars().count());
                if self.columns[i].1 {
                    line.extend(std::iter::repeat_n(' ', pad));
                    line += cell;
                } else {
                    line += cell;
                    if i + 1 < r.len() {
                        line.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            out += line.trim_end();
            out.push('\n');
        }
        out
    }
}

/// What `ls` shows about a process: the lowest pid's user and command.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProcInfo {
    /// The effective uid.
    pub uid: Option<u32>,
    /// Its name.
    pub user: Option<String>,
    /// The command name.
    pub command: Option<String>,
}

/// How `ls` prints.
#[derive(Clone, Debug)]
pub struct LsOptions {
    /// The columns.
    pub columns: Vec<Column>,
    /// A header line.
    pub headings: bool,
    /// Raw output (no tree, no alignment, escaped cells).
    pub raw: bool,
    /// Whole session ids.
    pub full_id: bool,
    /// Draw the tree with box-drawing characters rather than ASCII.
    pub utf8: bool,
}

/// The `ls` table: one row per session, in tree order (parents before their children), the
/// SESSION column drawn as a tree unless raw. `procs` has the user and command of each
/// session's lowest pid.
pub fn ls_table(trees: &[TreeNode], procs: &HashMap<i32, ProcInfo>, o: &LsOptions) -> String {
    // Parents by inode, for the PARENT column.
    let mut ids: BTreeMap<u64, Option<SessionId>> = BTreeMap::new();
    fn index(n: &TreeNode, ids: &mut BTreeMap<u64, Option<SessionId>>) {
        ids.insert(n.session.inode, n.session.id);
        n.children.iter().for_each(|c| index(c, ids));
    }
    trees.iter().for_each(|t| index(t, &mut ids));
    let glyphs = if o.utf8 { &UTF8_TREE } else { &ASCII_TREE };
    let ctx = Ctx {
        o,
        procs,
        ids: &ids,
        glyphs,
    };
    let mut table = Table {
        columns: o
            .columns
            .iter()
            .map(|c| (c.name().to_string(), c.numeric()))
            .collect(),
        rows: Vec::new(),
    };
    for t in trees {
        ctx.walk(t, "", None, &mut table.rows);
    }
    table.render(o.headings, o.raw)
}

struct Ctx<'a> {
    o: &'a LsOptions,
    procs: &'a HashMap<i32, ProcInfo>,
    ids: &'a BTreeMap<u64, Option<SessionId>>,
    glyphs: &'a TreeGlyphs,
}

impl Ctx<'_> {
    /// Adds `n`'s row and its children's; `last` is whether `n` is its parent's last child
    /// (`None` for a root).
    fn walk(&self, n: &TreeNode, prefix: &str, last: Option<bool>, rows: &mut Vec<Vec<String>>) {
        let g = self.glyphs;
        let branch = match last {
            None => "",
            Some(false) => g.branch,
            Some(true) => g.last,
        };
        rows.push(
            self.o
                .columns
                .iter()
                .map(|&c| self.cell(c, n, &format!("{prefix}{branch}")))
                .collect(),
        );
        let child_prefix = match last {
            None => String::new(),
            Some(false) => format!("{prefix}{}", g.vertical),
            Some(true) => format!("{prefix}{}", g.blank),
        };
        for (i, ch) in n.children.iter().enumerate() {
            self.walk(ch, &child_prefix, Some(i + 1 == n.children.len()), rows);
        }
    }

    fn id_or_inode(&self, id: Option<SessionId>, inode: u64) -> String {
        match id {
            Some(id) => session_id(&id, self.o.full_id),
            None => format!("agent:[{inode}]"),
        }
    }

    fn cell(&self, c: Column, n: &TreeNode, tree: &str) -> String {
        let s = &n.session;
        let raw = self.o.raw;
        let dash = || "-".to_string();
        let lowest = s.pids.iter().min().copied();
        let proc = lowest.and_then(|p| self.procs.get(&p));
        let text = |v: Option<&str>| match v {
            None => dash(),
            Some(v) if raw => raw_escape(v),
            Some(v) => printable(v),
        };
        match c {
            Column::Session if raw => self.id_or_inode(s.id, s.inode),
            Column::Session => format!("{tree}{}", session_label(s, self.o.full_id)),
            Column::Parent => s.parent_inode.map_or_else(dash, |p| {
                self.id_or_inode(self.ids.get(&p).copied().flatten(), p)
            }),
            Column::Depth => s.depth.map_or_else(dash, |d| d.to_string()),
            Column::Nprocs => s.pids.len().to_string(),
            Column::Pid => lowest.map_or_else(dash, |p| p.to_string()),
            Column::User => match proc {
                Some(ProcInfo { user: Some(u), .. }) => text(Some(u)),
                Some(ProcInfo { uid: Some(u), .. }) => u.to_string(),
                _ => dash(),
            },
            Column::Command => text(proc.and_then(|p| p.command.as_deref())),
            Column::Age => match s.counters.map(|c| c.get(Counter::ElapsedNs)) {
                None => dash(),
                Some(ns) if raw => (ns / 1_000_000_000).to_string(),
                Some(ns) => format_duration_ns(ns),
            },
            Column::Intent => match s.intent.as_deref() {
                None => dash(),
                Some("") => String::new(),
                // A tag "-" must not read as unknown.
                Some("-") if raw => "\\x2d".into(),
                Some(t) if raw => raw_escape(t),
                Some(t) => format!("{t:?}"),
            },
            Column::Inode => match s.inode {
                0 => dash(),
                i => i.to_string(),
            },
            Column::Nsid => s.ns_id.map_or_else(dash, |i| i.to_string()),
            counter => {
                let counter = counter.counter().expect("every other column is a counter");
                match s.counters.map(|c| c.get(counter)) {
                    None => dash(),
                    Some(v) if raw => v.to_string(),
                    Some(v) if matches!(counter, Counter::WriteBytes | Counter::ReadBytes) => {
                        format_size(v)
                    }
                    Some(v) => format_count(v),
                }
            }
        }
    }
}

/// The SESSION cell of the tree: the id (or `agent:[INODE]`) and what is special about it.
fn session_label(s: &SessionInfo, full_id: bool) -> String {
    let mut l = match s.id {
        Some(id) => session_id(&id, full_id),
        None => format!("agent:[{}]", s.inode),
    };
    if s.initial {
        l += " (initial)";
    }
    if !s.initial && s.pids.is_empty() {
        l += " (no process)";
    }
    if !s.initial && s.parent_inode.is_none() {
        l += " (parent not visible)";
    }
    l
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentns::Action;

    fn node(id: u8, intent: &str, pids: Vec<i32>, children: Vec<TreeNode>) -> TreeNode {
        let mut c = Counters::default();
        c.set(Counter::Syscalls, 1000 * u64::from(id));
        c.set(Counter::WriteBytes, 4096);
        c.set(Counter::ElapsedNs, 61_000_000_000);
        TreeNode {
            session: SessionInfo {
                id: Some(SessionId([id; 16])),
                inode: 100 + u64::from(id),
                ns_id: Some(u64::from(id)),
                initial: id == 0,
                depth: None,
                parent_inode: None,
                intent: Some(intent.into()),
                pids,
                counters: Some(c),
            },
            children: children
                .into_iter()
                .map(|mut c| {
                    c.session.parent_inode = Some(100 + u64::from(id));
                    c
                })
                .collect(),
        }
    }

    /// The initial session with one child "parent" that has the children "a" and "b".
    fn tree() -> TreeNode {
        node(
            0,
            "",
            vec![1, 2],
            vec![node(
                1,
                "parent",
                vec![10],
                vec![
                    node(2, "a", vec![12, 11], vec![]),
                    node(3, "b", vec![13], vec![]),
                ],
            )],
        )
    }

    fn procs() -> HashMap<i32, ProcInfo> {
        let p = |uid: u32, user: Option<&str>, cmd: &str| ProcInfo {
            uid: Some(uid),
            user: user.map(str::to_string),
            command: Some(cmd.into()),
        };
        [
            (1, p(0, Some("root"), "init")),
            (10, p(0, Some("root"), "make")),
            (11, p(1000, None, "cc\x1b[2J")),
            (13, p(1000, Some("alice"), "Web Content")),
        ]
        .into_iter()
        .collect()
    }

    fn opts(columns: &[Column]) -> LsOptions {
        LsOptions {
            columns: columns.to_vec(),
            headings: true,
            raw: false,
            full_id: false,
            utf8: true,
        }
    }

    #[test]
    fn short_ids() {
        let id = SessionId([0xab; 16]);
        assert_eq!(session_id(&id, false), "abababababab");
        assert_eq!(session_id(&id, true), "ab".repeat(16));
    }

    #[test]
    fn utf8_locale_precedence() {
        assert!(is_utf8_locale(None, None, Some("en_US.UTF-8")));
        assert!(is_utf8_locale(None, None, Some("C.utf8")));
        assert!(is_utf8_locale(None, Some("de_DE.Utf-8@euro"), Some("C")));
        // LC_ALL overrides LC_CTYPE, which overrides LANG; empty means unset.
        assert!(!is_utf8_locale(Some("C"), Some("C.UTF-8"), Some("C.UTF-8")));
        assert!(is_utf8_locale(Some(""), Some("C.UTF-8"), Some("C")));
        assert!(!is_utf8_locale(None, Some("POSIX"), Some("en_US.UTF-8")));
        assert!(!is_utf8_locale(None, None, Some("en_US.ISO-8859-1")));
        assert!(!is_utf8_locale(None, None, Some("en_US.utf16")));
        assert!(!is_utf8_locale(None, None, None));
    }

    #[test]
    fn column_names() {
        for c in Column::ALL {
            assert_eq!(Column::from_name(c.name()), Some(c));
            assert_eq!(Column::from_name(&c.name().to_lowercase()), Some(c));
        }
        assert_eq!(Column::from_name("NOPE"), None);
        let h = ls_columns_help();
        for c in Column::ALL {
            assert!(h.contains(&format!("\n  {:<9} ", c.name())), "{h}");
        }
        assert!(h.lines().all(|l| l.chars().count() <= 100), "{h}");
        assert!(
            h.contains("\n            without a visible process; a tree with notes unless --raw\n"),
            "{h}"
        );
        assert!(h.ends_with("Default: SESSION,NPROCS,PID,USER,COMMAND,AGE,SYSCALLS,OPENS,WBYTES,RBYTES,FORKS,EXECS,INTENT"), "{h}");
    }

    #[test]
    fn tree_layout() {
        let s = ls_table(&[tree()], &procs(), &opts(&Column::LS_DEFAULT));
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 5, "{s}");
        assert_eq!(
            lines[0],
            "SESSION                NPROCS PID USER  COMMAND       AGE SYSCALLS OPENS  WBYTES RBYTES \
             FORKS EXECS INTENT",
            "{s}"
        );
        assert_eq!(
            lines[1],
            "000000000000 (initial)      2   1 root  init        1m01s        0     0 4.0 KiB    0 B     \
             0     0",
            "{s}"
        );
        assert_eq!(
            lines[2],
            "└─ 010101010101             1  10 root  make        1m01s    1,000     0 4.0 KiB    0 B     \
             0     0 \"parent\"",
            "{s}"
        );
        // The lowest pid's user (a number when /etc/passwd has no name), a command with a
        // control character made harmless.
        assert!(
            lines[3].starts_with("   ├─ 020202020202          2  11 1000  cc?[2J "),
            "{s}"
        );
        assert!(lines[3].ends_with(" \"a\""), "{s}");
        assert!(
            lines[4].starts_with("   └─ 030303030303          1  13 alice Web Content "),
            "{s}"
        );
        // Without UTF-8: ASCII as lsblk draws it, the same widths.
        let mut o = opts(&Column::LS_DEFAULT);
        o.utf8 = false;
        let a = ls_table(&[tree()], &procs(), &o);
        let al: Vec<&str> = a.lines().collect();
        assert!(al[2].starts_with("`- 010101010101 "), "{a}");
        assert!(al[3].starts_with("   |- 020202020202 "), "{a}");
        assert!(al[4].starts_with("   `- 030303030303 "), "{a}");
        assert_eq!(
            a.replace("|- ", "├─ ").replace("`- ", "└─ "),
            s,
            "same layout"
        );
    }

    #[test]
    fn vertical_lines_continue_past_children() {
        let t = node(
            0,
            "",
            vec![1],
            vec![
                node(1, "x", vec![2], vec![node(3, "y", vec![4], vec![])]),
                node(2, "z", vec![3], vec![]),
            ],
        );
        let s = ls_table(&[t], &HashMap::new(), &opts(&[Column::Session]));
        assert_eq!(
            s,
            "SESSION\n000000000000 (initial)\n├─ 010101010101\n│  └─ 030303030303\n└─ 020202020202\n"
        );
    }

    #[test]
    fn chosen_columns_full_ids_no_headings() {
        let mut o = opts(&[
            Column::Session,
            Column::Parent,
            Column::Depth,
            Column::Inode,
            Column::Nsid,
            Column::Connects,
            Column::Unlinks,
        ]);
        o.full_id = true;
        o.headings = false;
        let mut t = tree();
        t.session.depth = Some(0);
        let s = ls_table(&[t], &procs(), &o);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 4, "{s}");
        let row = |session: String, parent: &str, rest: &str| {
            format!("{session:<42} {parent:<32} {rest}")
        };
        let id = |b: &str| b.repeat(16);
        assert_eq!(
            lines[0],
            row(format!("{} (initial)", id("00")), "-", "0 100 0 0 0"),
            "{s}"
        );
        assert_eq!(
            lines[1],
            row(format!("└─ {}", id("01")), &id("00"), "- 101 1 0 0"),
            "{s}"
        );
        assert_eq!(
            lines[3],
            row(format!("   └─ {}", id("03")), &id("01"), "- 103 3 0 0"),
            "{s}"
        );
    }

    #[test]
    fn raw_output() {
        let mut o = opts(&[
            Column::Session,
            Column::Parent,
            Column::Pid,
            Column::User,
            Column::Command,
            Column::Age,
            Column::Wbytes,
            Column::Syscalls,
            Column::Intent,
        ]);
        o.raw = true;
        let mut t = tree();
        t.children[0].children[1].session.intent = Some("say \"hi\" \\ there".into());
        t.children[0].children[0].session.intent = Some("-".into());
        let s = ls_table(&[t], &procs(), &o);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(
            lines,
            [
                "SESSION PARENT PID USER COMMAND AGE WBYTES SYSCALLS INTENT",
                "000000000000 - 1 root init 61 4096 0 ",
                "010101010101 000000000000 10 root make 61 4096 1000 parent",
                "020202020202 010101010101 11 1000 cc\\x1b[2J 61 4096 2000 \\x2d",
                "030303030303 010101010101 13 alice Web\\x20Content 61 4096 3000 \
                 say\\x20\"hi\"\\x20\\x5c\\x20there",
            ],
            "{s}"
        );
        // Every row has as many words as the header.
        for l in &lines[1..] {
            assert_eq!(l.split(' ').count(), 9, "{l}");
        }
    }

    #[test]
    fn hidden_parent_and_unreadable_session() {
        // From inside session 1: its parent is not visible, so it is a root; session 4 is
        // another user's, so neither its intent nor its counters can be read; session 5 has
        // no process left.
        let mut own = node(1, "own", vec![10], vec![node(2, "child", vec![11], vec![])]);
        own.session.parent_inode = None;
        let mut other = node(4, "secret", vec![20], vec![]);
        other.session.parent_inode = None;
        other.session.intent = None;
        other.session.counters = None;
        let mut hollow = node(5, "", vec![], vec![]);
        hollow.session.parent_inode = None;
        hollow.session.id = None;
        hollow.session.intent = None;
        hollow.session.counters = None;
        let s = ls_table(
            &[own, other, hollow],
            &HashMap::new(),
            &opts(&Column::LS_DEFAULT),
        );
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 5, "{s}");
        assert!(
            lines[1].starts_with("010101010101 (parent not visible) "),
            "{s}"
        );
        assert!(lines[2].starts_with("└─ 020202020202 "), "{s}");
        let cells: Vec<&str> = lines[3].split_whitespace().collect();
        let mut want = vec!["040404040404", "(parent", "not", "visible)", "1", "20"];
        want.extend(["-"; 10]);
        assert_eq!(cells, want, "{s}");
        assert!(
            lines[4].starts_with("agent:[105] (no process) (parent not visible)      0   - -"),
            "{s}"
        );
    }

    #[test]
    fn table_render() {
        let t = Table {
            columns: vec![
                ("A".into(), true),
                ("NAME".into(), false),
                ("B".into(), false),
            ],
            rows: vec![
                vec!["1".into(), "x".into(), "".into()],
                vec!["100".into(), "long name".into(), "z".into()],
            ],
        };
        assert_eq!(
            t.render(true, false),
            "  A NAME      B\n  1 x\n100 long name z\n"
        );
        assert_eq!(t.widths(true), [3, 9, 1]);
        assert_eq!(t.render(false, true), "1 x \n100 long name z\n");
        let mut t = t;
        t.remove_column(1);
        assert_eq!(t.render(true, false), "  A B\n  1\n100 z\n");
    }

    #[test]
    fn counters_and_budget_lines() {
        let mut c = Counters::default();
        c.set(Counter::Syscalls, 1234);
        c.set(Counter::WriteBytes, 10 << 20);
        c.set(Counter::ElapsedNs, 1_500_000_000);
        let t = counters_table(&c, "  ");
        assert!(t.contains("  syscalls     1,234\n"), "{t}");
        assert!(t.contains("  write_bytes  10.0 MiB (10,485,760)\n"), "{t}");
        assert!(t.contains("  elapsed_ns   1.500s\n"), "{t}");
        let mut b = Budget::new();
        assert_eq!(budget_line(&b), "none");
        b.set_limit(Counter::Syscalls, 1000);
        b.set_limit(Counter::WriteBytes, 4096);
        b.set_action(Action::Kill);
        assert_eq!(
            budget_line(&b),
            "action=kill syscalls=1,000 write_bytes=4.0KiB(4,096)"
        );
        b.set_action(Action::Deny);
        assert_eq!(
            budget_line(&b),
            "action=deny syscalls=1,000 write_bytes=4.0KiB(4,096)"
        );
    }
}
