// SPDX-License-Identifier: GPL-2.0
//! `agentns ls` (the session tree) and `agentns top` (sessions by system call rate).

use std::collections::{BTreeMap, HashMap};
use std::io::{IsTerminal, Write};
use std::time::Instant;

use agentns::listing::{SessionInfo, Snapshot, Sources, TreeNode};
use agentns::procfs::{self, Pid};
use agentns::units::{format_count, format_duration_ns, format_size};
use agentns::{Counter, Counters, SessionId, session};
use serde::Serialize;

use super::Result;
use crate::cli::{LsArgs, TopArgs, TopSort};
use crate::format::{self, Column, LsOptions, ProcInfo, Table};

/// `ls --json`: the listing's keys as they always were, then the new ones.
#[derive(Serialize)]
struct Listing<'a> {
    sources: &'a Sources,
    sessions: Vec<JsonNode<'a>>,
}

/// A session of `ls --json`: [`TreeNode`]'s keys, then the lowest pid's user and command.
#[derive(Serialize)]
struct JsonNode<'a> {
    #[serde(flatten)]
    session: &'a SessionInfo,
    children: Vec<JsonNode<'a>>,
    /// The effective uid of the session's lowest pid.
    uid: Option<u32>,
    /// Its user name, from /etc/passwd.
    user: Option<&'a str>,
    /// Its command name (/proc/PID/comm).
    command: Option<&'a str>,
}

fn json_node<'a>(n: &'a TreeNode, procs: &'a HashMap<i32, ProcInfo>) -> JsonNode<'a> {
    let p = n.session.pids.iter().min().and_then(|pid| procs.get(pid));
    JsonNode {
        session: &n.session,
        children: n.children.iter().map(|c| json_node(c, procs)).collect(),
        uid: p.and_then(|p| p.uid),
        user: p.and_then(|p| p.user.as_deref()),
        command: p.and_then(|p| p.command.as_deref()),
    }
}

/// User names by uid, from `/etc/passwd` (read directly rather than through NSS, which a
/// static binary cannot load); empty when it cannot be read.
fn passwd() -> HashMap<u32, String> {
    parse_passwd(&std::fs::read_to_string("/etc/passwd").unwrap_or_default())
}

fn parse_passwd(text: &str) -> HashMap<u32, String> {
    let mut users = HashMap::new();
    for line in text.lines() {
        let mut f = line.split(':');
        if let (Some(name), Some(_), Some(Ok(uid))) =
            (f.next(), f.next(), f.next().map(str::parse::<u32>))
        {
            // The first entry for a uid wins, as getpwuid(3) finds it.
            users.entry(uid).or_insert_with(|| name.to_string());
        }
    }
    users
}

/// The effective uid in a `/proc/PID/status` text (the second `Uid:` field).
fn status_euid(status: &str) -> Option<u32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// The user and command of process `pid`; what cannot be read (the process is gone) is
/// `None`.
fn proc_info(pid: i32, users: &HashMap<u32, String>) -> ProcInfo {
    let uid = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| status_euid(&s));
    let command = Some(procfs::comm(Pid::Pid(pid))).filter(|c| !c.is_empty());
    ProcInfo {
        uid,
        user: uid.and_then(|u| users.get(&u).cloned()),
        command,
    }
}

/// [`proc_info`] of every session's lowest pid.
fn procs_of(snap: &Snapshot) -> HashMap<i32, ProcInfo> {
    let users = passwd();
    snap.sessions
        .values()
        .filter_map(|s| s.pids.iter().min().copied())
        .map(|pid| (pid, proc_info(pid, &users)))
        .collect()
}

/// Runs `agentns ls`.
pub fn ls(a: LsArgs) -> Result {
    if let Some(dir) = &a.files {
        return super::provenance::by_session(dir, a.json, a.full_id);
    }
    session::ensure_supported()?;
    let snap = Snapshot::collect()?;
    let trees = snap.trees();
    let procs = procs_of(&snap);
    if a.json {
        super::print_json(&Listing {
            sources: &snap.sources,
            sessions: trees.iter().map(|t| json_node(t, &procs)).collect(),
        })?;
        return Ok(0);
    }
    let opts = LsOptions {
        columns: a
            .output
            .map_or_else(|| Column::LS_DEFAULT.to_vec(), |c| c.0),
        headings: !a.noheadings,
        raw: a.raw,
        full_id: a.full_id,
        utf8: format::utf8_locale(),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(format::ls_table(&trees, &procs, &opts).as_bytes())?;
    out.flush()?;
    if let Some(e) = &snap.sources.listns_error {
        eprintln!(
            "agentns: listns(2) failed, so sessions held only by a file descriptor or bind mount \
             the caller cannot see are missing: {e}"
        );
    }
    if !snap.sources.unresolved_ns_ids.is_empty() {
        let ids: Vec<String> = snap
            .sources
            .unresolved_ns_ids
            .iter()
            .map(u64::to_string)
            .collect();
        eprintln!(
            "agentns: listns(2) also lists sessions with namespace ids {} that could not be \
             opened (no process, file or bind mount visible to the caller)",
            ids.join(", ")
        );
    }
    Ok(0)
}

/// One session in a `top` frame.
#[derive(Serialize, Clone, Debug)]
struct Row {
    id: Option<SessionId>,
    inode: u64,
    /// `None` when /proc/PID/agent_intent is not readable (another user's process).
    intent: Option<String>,
    processes: usize,
    /// System calls per second since the previous frame (the first frame: since the
    /// session's creation).
    syscall_rate: f64,
    counters: Counters,
}

#[derive(Serialize)]
struct Frame {
    iteration: u64,
    interval_s: f64,
    sessions: Vec<Row>,
}

/// Rows for every session with counters, in inode order.
fn rows(
    sessions: &BTreeMap<u64, SessionInfo>,
    prev: &BTreeMap<u64, u64>,
    elapsed_s: f64,
) -> Vec<Row> {
    sessions
        .values()
        .filter(|s| !s.initial)
        .filter_map(|s| {
            let c = s.counters?;
            let now = c.get(Counter::Syscalls);
            let rate = match prev.get(&s.inode) {
                Some(before) if elapsed_s > 0.0 => now.wrapping_sub(*before) as f64 / elapsed_s,
                _ => {
                    let age = c.get(Counter::ElapsedNs) as f64 / 1e9;
                    if age > 0.0 { now as f64 / age } else { 0.0 }
                }
            };
            Some(Row {
                id: s.id,
                inode: s.inode,
                intent: s.intent.clone(),
                processes: s.pids.len(),
                syscall_rate: rate,
                counters: c,
            })
        })
        .collect()
}

/// Sorts `rows` by `key`: numbers biggest first, ids and intents in order (unknown last);
/// ties by inode number.
fn sort_rows(rows: &mut [Row], key: TopSort) {
    use std::cmp::Ordering;
    fn none_last<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
        match (a, b) {
            (Some(a), Some(b)) => a.cmp(&b),
            (a, b) => a.is_none().cmp(&b.is_none()),
        }
    }
    rows.sort_by(|a, b| {
        let by = |c: Counter| b.counters.get(c).cmp(&a.counters.get(c));
        match key {
            TopSort::Rate => b.syscall_rate.total_cmp(&a.syscall_rate),
            TopSort::Syscalls => by(Counter::Syscalls),
            TopSort::Opens => by(Counter::Openat),
            TopSort::Wbytes => by(Counter::WriteBytes),
            TopSort::Rbytes => by(Counter::ReadBytes),
            TopSort::Connects => by(Counter::Connect),
            TopSort::Unlinks => by(Counter::Unlink),
            TopSort::Forks => by(Counter::Fork),
            TopSort::Execs => by(Counter::Exec),
            TopSort::Age => by(Counter::ElapsedNs),
            TopSort::Nprocs => b.processes.cmp(&a.processes),
            // Ids in the order of their hexadecimal form, which is their bytes' order.
            TopSort::Session => none_last(a.id, b.id),
            TopSort::Intent => none_last(a.intent.as_deref(), b.intent.as_deref()),
        }
        .then(a.inode.cmp(&b.inode))
    });
}

/// Whether a row passes `top`'s filters: `--intent` (a glob over the intent; an unknown
/// intent matches nothing) and `--filter` (a substring of the id or the intent).
fn row_matches(r: &Row, intent_glob: Option<&str>, filter: Option<&str>) -> bool {
    let intent = r.intent.as_deref();
    intent_glob.is_none_or(|g| intent.is_some_and(|i| agentns::trace::glob_match(g, i)))
        && filter.is_none_or(|f| {
            r.id.is_some_and(|id| id.to_string().contains(&f.to_ascii_lowercase()))
                || intent.is_some_and(|i| i.contains(f))
        })
}

/// The terminal's width: the window size of standard output (`TIOCGWINSZ`), else `COLUMNS`,
/// else 80.
fn terminal_width() -> usize {
    // SAFETY: An all-zero `winsize` is valid; the ioctl fills it or fails.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` to the pointer.
    let tty = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    width_from(
        tty.then_some(ws.ws_col),
        std::env::var("COLUMNS").ok().as_deref(),
    )
}

fn width_from(winsize_cols: Option<u16>, columns_env: Option<&str>) -> usize {
    winsize_cols
        .filter(|&c| c > 0)
        .map(usize::from)
        .or_else(|| columns_env?.trim().parse().ok().filter(|&c: &usize| c > 0))
        .unwrap_or(80)
}

/// `top`'s columns: header, numeric, the sort key it shows, and its rank when the table must
/// shrink (the lowest goes first; `None` is never left out).
const TOP_COLUMNS: [(&str, bool, TopSort, Option<u8>); 13] = [
    ("SYSCALLS/S", true, TopSort::Rate, None),
    ("SYSCALLS", true, TopSort::Syscalls, Some(10)),
    ("OPENS", true, TopSort::Opens, Some(5)),
    ("WBYTES", true, TopSort::Wbytes, Some(7)),
    ("RBYTES", true, TopSort::Rbytes, Some(6)),
    ("CONNECTS", true, TopSort::Connects, Some(2)),
    ("UNLINKS", true, TopSort::Unlinks, Some(1)),
    ("FORKS", true, TopSort::Forks, Some(4)),
    ("EXECS", true, TopSort::Execs, Some(3)),
    ("NPROCS", true, TopSort::Nprocs, Some(9)),
    ("AGE", true, TopSort::Age, Some(8)),
    ("SESSION", false, TopSort::Session, None),
    ("INTENT", false, TopSort::Intent, None),
];

/// How many characters of the intent (the last column) `top` keeps room for before it
/// leaves columns out.
const TOP_INTENT_ROOM: usize = 20;

fn top_cells(r: &Row, full_id: bool) -> Vec<String> {
    let g = |c: Counter| r.counters.get(c);
    vec![
        format!("{:.0}", r.syscall_rate),
        format_count(g(Counter::Syscalls)),
        format_count(g(Counter::Openat)),
        format_size(g(Counter::WriteBytes)),
        format_size(g(Counter::ReadBytes)),
        format_count(g(Counter::Connect)),
        format_count(g(Counter::Unlink)),
        format_count(g(Counter::Fork)),
        format_count(g(Counter::Exec)),
        r.processes.to_string(),
        format_duration_ns(g(Counter::ElapsedNs)),
        r.id.map_or_else(
            || format!("agent:[{}]", r.inode),
            |i| format::session_id(&i, full_id),
        ),
        // Unknown (not readable: another user's process) is "-"; no tag is empty.
        r.intent
            .as_deref()
            .map_or_else(|| "-".into(), |i| i.replace(|c: char| c.is_control(), "?")),
    ]
}

/// How `top` prints a frame.
struct TopView {
    width: usize,
    sort: TopSort,
    full_id: bool,
    filtered: bool,
}

fn table(f: &Frame, total: usize, v: &TopView) -> String {
    let mut s = format!(
        "agentns top: {} {}sessions with counters, {} in all, refresh {:.1}s, iteration {}\n\n",
        f.sessions.len(),
        if v.filtered { "matching " } else { "" },
        total,
        f.interval_s,
        f.iteration
    );
    let mut t = Table {
        columns: TOP_COLUMNS
            .iter()
            .map(|(h, num, _, _)| (h.to_string(), *num))
            .collect(),
        rows: f.sessions.iter().map(|r| top_cells(r, v.full_id)).collect(),
    };
    // Leave out the least important columns (never the sorted one) until the rest and a
    // reasonable share of the intent fit.
    let mut ranks: Vec<Option<u8>> = TOP_COLUMNS
        .iter()
        .map(|(_, _, key, rank)| rank.filter(|_| *key != v.sort))
        .collect();
    loop {
        let w = t.widths(true);
        let (intent, rest) = w.split_last().expect("top has columns");
        let need = rest.iter().sum::<usize>() + rest.len() + (*intent).min(TOP_INTENT_ROOM);
        if need <= v.width {
            break;
        }
        let Some(i) = (0..ranks.len())
            .filter(|&i| ranks[i].is_some())
            .min_by_key(|&i| ranks[i])
        else {
            break;
        };
        t.remove_column(i);
        ranks.remove(i);
    }
    s += &t.render(true, false);
    // Cut what is still too wide (the intent, or everything on a very narrow terminal).
    s.lines()
        .map(|l| l.chars().take(v.width).collect::<String>() + "\n")
        .collect()
}

/// Runs `agentns top`.
pub fn top(a: TopArgs) -> Result {
    session::ensure_supported()?;
    let clear = !a.json && std::io::stdout().is_terminal();
    let mut prev: BTreeMap<u64, u64> = BTreeMap::new();
    let mut last = Instant::now();
    let mut i = 0u64;
    loop {
        i += 1;
        let snap = Snapshot::collect()?;
        let now = Instant::now();
        let elapsed = if prev.is_empty() {
            0.0
        } else {
            now.duration_since(last).as_secs_f64()
        };
        let mut sessions: Vec<Row> = rows(&snap.sessions, &prev, elapsed)
            .into_iter()
            .filter(|r| row_matches(r, a.intent.as_deref(), a.filter.as_deref()))
            .collect();
        sort_rows(&mut sessions, a.sort);
        let frame = Frame {
            iteration: i,
            interval_s: a.interval.as_secs_f64(),
            sessions,
        };
        prev = snap
            .sessions
            .values()
            .filter_map(|s| Some((s.inode, s.counters?.get(Counter::Syscalls))))
            .collect();
        last = now;
        let mut out = std::io::stdout().lock();
        if a.json {
            writeln!(out, "{}", serde_json::to_string(&frame)?)?;
        } else {
            if clear {
                write!(out, "\x1b[H\x1b[2J")?;
            } else if i > 1 {
                writeln!(out)?;
            }
            let view = TopView {
                width: terminal_width(),
                sort: a.sort,
                full_id: a.full_id,
                filtered: a.intent.is_some() || a.filter.is_some(),
            };
            write!(out, "{}", table(&frame, snap.sessions.len(), &view))?;
        }
        out.flush()?;
        drop(out);
        if a.iterations.is_some_and(|n| i >= n) {
            return Ok(0);
        }
        std::thread::sleep(a.interval);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(inode: u64, syscalls: u64, elapsed_ns: u64) -> SessionInfo {
        let mut c = Counters::default();
        c.set(Counter::Syscalls, syscalls);
        c.set(Counter::ElapsedNs, elapsed_ns);
        SessionInfo {
            id: Some(SessionId([inode as u8; 16])),
            inode,
            ns_id: None,
            initial: inode == 0,
            depth: None,
            parent_inode: None,
            intent: Some(format!("s{inode}")),
            pids: vec![1],
            counters: Some(c),
        }
    }

    fn view(width: usize) -> TopView {
        TopView {
            width,
            sort: TopSort::Rate,
            full_id: false,
            filtered: false,
        }
    }

    fn sorted(
        m: &BTreeMap<u64, SessionInfo>,
        prev: &BTreeMap<u64, u64>,
        elapsed: f64,
        key: TopSort,
    ) -> Vec<Row> {
        let mut r = rows(m, prev, elapsed);
        sort_rows(&mut r, key);
        r
    }

    #[test]
    fn sorted_by_rate() {
        let mut m = BTreeMap::new();
        m.insert(0, info(0, 0, 1));
        m.insert(1, info(1, 1000, 1_000_000_000));
        m.insert(2, info(2, 5000, 1_000_000_000));
        m.insert(3, info(3, 100, 10_000_000_000));
        // First frame: averages since creation; the initial session is left out.
        let r = sorted(&m, &BTreeMap::new(), 0.0, TopSort::Rate);
        let order: Vec<u64> = r.iter().map(|r| r.inode).collect();
        assert_eq!(order, [2, 1, 3]);
        assert_eq!(r[0].syscall_rate, 5000.0);
        assert_eq!(r[2].syscall_rate, 10.0);
        // Later frames: deltas over the interval.
        let prev: BTreeMap<u64, u64> = [(1, 0), (2, 4990), (3, 0)].into_iter().collect();
        let r = sorted(&m, &prev, 2.0, TopSort::Rate);
        let order: Vec<u64> = r.iter().map(|r| r.inode).collect();
        assert_eq!(order, [1, 3, 2]);
        assert_eq!(r[0].syscall_rate, 500.0);
        let f = Frame {
            iteration: 2,
            interval_s: 2.0,
            sessions: r,
        };
        let t = table(&f, 4, &view(200));
        assert!(
            t.starts_with("agentns top: 3 sessions with counters, 4 in all"),
            "{t}"
        );
        assert_eq!(
            t.lines().nth(2).unwrap(),
            "SYSCALLS/S SYSCALLS OPENS WBYTES RBYTES CONNECTS UNLINKS FORKS EXECS NPROCS     AGE \
             SESSION      INTENT",
            "{t}"
        );
        assert!(
            t.lines().nth(3).unwrap().trim_start().starts_with("500 "),
            "{t}"
        );
        assert!(
            t.lines().nth(3).unwrap().ends_with(" 010101010101 s1"),
            "{t}"
        );
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["sessions"][0]["syscall_rate"], 500.0);
        assert_eq!(v["sessions"][0]["counters"]["syscalls"], 1000);
        assert_eq!(
            v["sessions"][0]["id"], "01010101010101010101010101010101",
            "JSON ids stay whole"
        );
    }

    #[test]
    fn sort_by_any_column() {
        let mut m = BTreeMap::new();
        for (ino, opens, procs, intent) in
            [(1, 5, 3, Some("b")), (2, 50, 1, None), (3, 7, 2, Some("a"))]
        {
            let mut s = info(ino, 10 * ino, 1_000_000_000 * ino);
            s.counters.as_mut().unwrap().set(Counter::Openat, opens);
            s.pids = (0..procs).collect();
            s.intent = intent.map(str::to_string);
            m.insert(ino, s);
        }
        let order = |key| {
            sorted(&m, &BTreeMap::new(), 0.0, key)
                .iter()
                .map(|r| r.inode)
                .collect::<Vec<_>>()
        };
        assert_eq!(order(TopSort::Opens), [2, 3, 1]);
        assert_eq!(order(TopSort::Syscalls), [3, 2, 1]);
        assert_eq!(order(TopSort::Age), [3, 2, 1]);
        assert_eq!(order(TopSort::Nprocs), [1, 3, 2]);
        assert_eq!(order(TopSort::Session), [1, 2, 3]);
        // Unknown intents last.
        assert_eq!(order(TopSort::Intent), [3, 1, 2]);
        // Equal keys: by inode.
        assert_eq!(order(TopSort::Connects), [1, 2, 3]);
    }

    #[test]
    fn unreadable_intent_is_a_dash() {
        let mut m = BTreeMap::new();
        m.insert(1, info(1, 1000, 1_000_000_000));
        m.insert(2, info(2, 500, 1_000_000_000));
        m.get_mut(&1).unwrap().intent = None;
        m.get_mut(&2).unwrap().intent = Some(String::new());
        let f = Frame {
            iteration: 1,
            interval_s: 1.0,
            sessions: sorted(&m, &BTreeMap::new(), 0.0, TopSort::Rate),
        };
        let t = table(&f, 2, &view(200));
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[3].ends_with(" 010101010101 -"), "{t}");
        assert!(lines[4].ends_with(" 020202020202"), "{t}");
        let v = serde_json::to_value(&f).unwrap();
        assert!(v["sessions"][0]["intent"].is_null());
        assert_eq!(v["sessions"][1]["intent"], "");
    }

    #[test]
    fn fits_the_width() {
        let mut m = BTreeMap::new();
        let mut s = info(1, 123_456_789, 3_600_000_000_000);
        s.intent = Some("a rather long intent tag that goes on and on".into());
        m.insert(1, s);
        let f = Frame {
            iteration: 1,
            interval_s: 1.0,
            sessions: sorted(&m, &BTreeMap::new(), 0.0, TopSort::Rate),
        };
        let wide = table(&f, 1, &view(500));
        assert!(wide.contains("UNLINKS"), "{wide}");
        assert!(wide.contains("on and on"), "{wide}");
        for width in [80, 60, 40, 10] {
            let t = table(&f, 1, &view(width));
            for l in t.lines() {
                assert!(l.chars().count() <= width, "{width}: {l:?}\n{t}");
            }
            let header = t.lines().nth(2).unwrap();
            assert!(header.starts_with("SYSCALLS/S"), "{t}");
            if width >= 40 {
                assert!(header.contains("SESSION"), "{t}");
                assert!(header.ends_with("INTENT"), "{t}");
            }
        }
        let t = table(&f, 1, &view(80));
        let header = t.lines().nth(2).unwrap();
        assert!(
            !header.contains("UNLINKS") && header.contains("SYSCALLS "),
            "{t}"
        );
        // The sorted column stays.
        let mut v = view(60);
        v.sort = TopSort::Unlinks;
        let t = table(&f, 1, &v);
        assert!(t.lines().nth(2).unwrap().contains("UNLINKS"), "{t}");
        assert_eq!(width_from(Some(132), Some("100")), 132);
        assert_eq!(width_from(Some(0), Some("100")), 100);
        assert_eq!(width_from(None, Some("100")), 100);
        assert_eq!(width_from(None, Some("wide")), 80);
        assert_eq!(width_from(None, Some("0")), 80);
        assert_eq!(width_from(None, None), 80);
    }

    #[test]
    fn filters() {
        let mut r = rows(
            &[(1, info(1, 1, 1))].into_iter().collect(),
            &BTreeMap::new(),
            0.0,
        )
        .remove(0);
        r.id = Some("0123456789abcdef0123456789abcdef".parse().unwrap());
        r.intent = Some("refactor-auth".into());
        assert!(row_matches(&r, None, None));
        assert!(row_matches(&r, Some("refactor-*"), None));
        assert!(row_matches(&r, Some("*auth"), None));
        assert!(!row_matches(&r, Some("refactor"), None));
        assert!(row_matches(&r, None, Some("tor-a")));
        assert!(row_matches(&r, None, Some("89ABcd")));
        assert!(!row_matches(&r, None, Some("xyz")));
        assert!(!row_matches(&r, Some("refactor-*"), Some("xyz")));
        r.intent = None;
        assert!(!row_matches(&r, Some("*"), None));
        assert!(row_matches(&r, None, Some("0123")));
    }

    #[test]
    fn user_and_command_sources() {
        let users = parse_passwd(
            "root:x:0:0:root:/root:/bin/sh\nbroken\nnobody:x:65534:65534::/:/sbin/nologin\n\
             toor:x:0:0::/:/bin/sh\n",
        );
        assert_eq!(users.get(&0).map(String::as_str), Some("root"));
        assert_eq!(users.get(&65534).map(String::as_str), Some("nobody"));
        assert_eq!(users.len(), 2);
        let status = "Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nUid:\t1000\t0\t0\t0\n";
        assert_eq!(status_euid(status), Some(0));
        assert_eq!(status_euid("Name:\tx\n"), None);
        // This process.
        let me = proc_info(std::process::id() as i32, &users);
        // SAFETY: geteuid cannot fail.
        assert_eq!(me.uid, Some(unsafe { libc::geteuid() }));
        assert!(me.command.is_some());
    }

    #[test]
    fn ls_json_keeps_the_tree_keys() {
        let n = TreeNode {
            session: info(1, 5, 5),
            children: vec![TreeNode {
                session: info(2, 5, 5),
                children: vec![],
            }],
        };
        let procs: HashMap<i32, ProcInfo> = [(
            1,
            ProcInfo {
                uid: Some(0),
                user: Some("root".into()),
                command: Some("sh".into()),
            },
        )]
        .into_iter()
        .collect();
        let old = serde_json::to_value(&n).unwrap();
        let new = serde_json::to_value(json_node(&n, &procs)).unwrap();
        let (old, new) = (old.as_object().unwrap(), new.as_object().unwrap());
        let old_keys: Vec<&String> = old.keys().collect();
        let new_keys: Vec<&String> = new.keys().collect();
        assert_eq!(
            new_keys[..old_keys.len()],
            old_keys[..],
            "old keys first, same order"
        );
        assert_eq!(&new_keys[old_keys.len()..], ["uid", "user", "command"]);
        for k in old.keys().filter(|k| *k != "children") {
            assert_eq!(old[k], new[k], "{k}");
        }
        assert_eq!(new["user"], "root");
        assert_eq!(new["children"][0]["command"], "sh");
        assert_eq!(new["children"][0]["id"], old["children"][0]["id"]);
    }
}
