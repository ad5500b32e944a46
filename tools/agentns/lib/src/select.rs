// SPDX-License-Identifier: GPL-2.0
//! Naming a session on the command line, and the processes of a session and its descendants.
//!
//! A `SESSION` argument is a process id (all digits, not starting with 0, and `/proc/PID`
//! exists): the session that process is in; or a session id, whole (32 hexadecimal digits) or
//! a prefix of at least [`MIN_PREFIX`] digits that only one live session's id starts with, as
//! container ids are abbreviated. Digits that name no live process (or start with 0) are taken
//! as an id prefix. Ids are resolved against a [`Snapshot`], so only sessions the caller can
//! see are found.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use crate::error::{Error, Result};
use crate::listing::{SessionInfo, Snapshot};
use crate::nsfs::NsFile;
use crate::procfs::{self, Pid};
use crate::session::SessionId;

/// The fewest hexadecimal digits a session id prefix may have.
pub const MIN_PREFIX: usize = 4;

/// What a `SESSION` argument says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Selector {
    /// A live process: its session.
    Pid(i32),
    /// A session id or a prefix of one (lowercase); `digits` when it was all digits, so also
    /// meant as a pid that turned out not to exist.
    Prefix {
        /// The lowercase hexadecimal digits.
        prefix: String,
        /// The argument was all decimal digits.
        digits: bool,
    },
}

/// Whether `/proc/PID` exists.
pub fn pid_is_live(pid: i32) -> bool {
    pid > 0 && Path::new(&format!("/proc/{pid}")).exists()
}

/// Checks the form of a `SESSION` argument without looking at the system: digits (a pid), or
/// [`MIN_PREFIX`] to 32 hexadecimal digits. For command line parsers.
pub fn check_arg(arg: &str) -> std::result::Result<(), String> {
    let all = |f: fn(&u8) -> bool| !arg.is_empty() && arg.as_bytes().iter().all(f);
    if all(u8::is_ascii_digit) && arg.len() <= 32 {
        return Ok(());
    }
    if all(u8::is_ascii_hexdigit) && (MIN_PREFIX..=32).contains(&arg.len()) {
        return Ok(());
    }
    Err(format!(
        "{arg:?} is neither a pid nor a session id (or a prefix of one, at least {MIN_PREFIX} of \
         its 32 hexadecimal digits)"
    ))
}

/// Parses a `SESSION` argument; `live` says whether a pid names a live process.
pub fn parse(arg: &str, live: impl Fn(i32) -> bool) -> Result<Selector> {
    check_arg(arg).map_err(Error::Invalid)?;
    let digits = arg.bytes().all(|c| c.is_ascii_digit());
    if digits {
        // A pid is written without leading zeros; "0012ab..." is an id.
        if let Ok(pid) = arg.parse::<i32>() {
            if !arg.starts_with('0') && live(pid) {
                return Ok(Selector::Pid(pid));
            }
        }
        if arg.len() < MIN_PREFIX {
            return Err(no_such_process(arg));
        }
    }
    Ok(Selector::Prefix {
        prefix: arg.to_ascii_lowercase(),
        digits,
    })
}

fn no_such_process(arg: &str) -> Error {
    Error::Invalid(format!(
        "no such process {arg}, and no session id starts with {arg:?}"
    ))
}

/// The thread group a thread id belongs to (`Tgid:` in `/proc/TID/status`), for a pid that
/// is a thread rather than a process.
fn tgid(pid: i32) -> Option<i32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find_map(|l| l.strip_prefix("Tgid:"))?
        .trim()
        .parse()
        .ok()
}

/// The session a `SESSION` argument names (see the module documentation).
pub fn resolve<'a>(snap: &'a Snapshot, arg: &str) -> Result<&'a SessionInfo> {
    resolve_with(snap, arg, pid_is_live)
}

/// [`resolve`], with `live` saying whether a pid is a live process.
pub fn resolve_with<'a>(
    snap: &'a Snapshot,
    arg: &str,
    live: impl Fn(i32) -> bool,
) -> Result<&'a SessionInfo> {
    match parse(arg, live)? {
        Selector::Pid(pid) => snap
            .of_pid(pid)
            .or_else(|| tgid(pid).and_then(|t| snap.of_pid(t)))
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "process {pid} is in no session found (it may have exited, or its session \
                     id cannot be read)"
                ))
            }),
        Selector::Prefix { prefix, digits } => by_prefix(snap, &prefix, digits, arg),
    }
}

fn by_prefix<'a>(
    snap: &'a Snapshot,
    prefix: &str,
    digits: bool,
    arg: &str,
) -> Result<&'a SessionInfo> {
    // One entry per id: a session found by inode wins over one found by id only.
    let mut found: Vec<(SessionId, &SessionInfo)> = Vec::new();
    for s in snap.sessions.values() {
        let Some(id) = s.id else { continue };
        if !id.to_string().starts_with(prefix) {
            continue;
        }
        match found.iter_mut().find(|(i, _)| *i == id) {
            Some(e) if e.1.inode == 0 && s.inode != 0 => e.1 = s,
            Some(_) => {}
            None => found.push((id, s)),
        }
    }
    match found.len() {
        1 => Ok(found[0].1),
        0 if digits => Err(no_such_process(arg)),
        0 => Err(Error::Invalid(format!(
            "no session id starts with {prefix:?} (among the sessions the caller can see)"
        ))),
        n => {
            found.sort_by_key(|(id, _)| *id);
            let list: Vec<String> = found
                .iter()
                .map(|(id, s)| {
                    let mut line = format!("  {id}");
                    if let Some(p) = s.pids.first() {
                        line += &format!(" pid {p}");
                    }
                    if let Some(i) = &s.intent {
                        line += &format!(" intent {i:?}");
                    }
                    line
                })
                .collect();
            Err(Error::Invalid(format!(
                "session id prefix {prefix:?} is ambiguous: {n} sessions match; give more \
                 digits:\n{}",
                list.join("\n")
            )))
        }
    }
}

/// Opens a session's namespace file: through one of its processes, or by its namespace id
/// (open_by_handle_at(2), `CAP_SYS_ADMIN`) for a session without a process of its own.
pub fn open(s: &SessionInfo) -> Result<NsFile> {
    let mut first_err = None;
    for &pid in &s.pids {
        match NsFile::of_pid(pid) {
            // A pid that exited and was reused in between opens another session.
            Ok(f) if s.inode == 0 || f.inode().ok() == Some(s.inode) => return Ok(f),
            Ok(_) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    if let Some(ns_id) = s.ns_id {
        match NsFile::by_ns_id(ns_id) {
            Ok(f) => return Ok(f),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| {
        let name = s.id.map(|i| i.to_string()).unwrap_or_else(|| "?".into());
        Error::Invalid(format!(
            "session {name} has no process left and no namespace id to open it by"
        ))
    }))
}

/// Sessions and every session below them, from a [`Snapshot`], to tell which processes
/// belong to them.
#[derive(Clone, Debug, Default)]
pub struct Subtree {
    /// The nsfs inode numbers of the sessions (0 left out).
    pub inodes: BTreeSet<u64>,
    /// Their ids, where known: for processes whose namespace file the caller may not stat.
    pub ids: BTreeSet<SessionId>,
    /// Inodes found not to be in the subtree (sessions outside it, cached).
    outside: HashSet<u64>,
}

impl Subtree {
    /// `roots` and every session below them in `snap`.
    pub fn new(snap: &Snapshot, roots: &[&SessionInfo]) -> Subtree {
        let mut t = Subtree::default();
        let mut stack: Vec<&SessionInfo> = roots.to_vec();
        let mut seen: HashSet<(u64, Option<SessionId>)> = HashSet::new();
        while let Some(s) = stack.pop() {
            if !seen.insert((s.inode, s.id)) {
                continue;
            }
            if s.inode != 0 {
                t.inodes.insert(s.inode);
            }
            if let Some(id) = s.id {
                t.ids.insert(id);
            }
            if s.inode != 0 {
                stack.extend(snap.children(s.inode));
            }
        }
        t
    }

    /// Whether the session with nsfs inode `ino` is in the subtree, asking the kernel about
    /// sessions the snapshot did not have (created since): `ancestors` gives the inodes of
    /// its ancestors, parent first, as far as the caller may see them.
    pub fn contains_inode(&mut self, ino: u64, ancestors: impl FnOnce() -> Vec<u64>) -> bool {
        if self.inodes.contains(&ino) {
            return true;
        }
        if self.outside.contains(&ino) {
            return false;
        }
        let mut chain = vec![ino];
        let mut inside = false;
        for p in ancestors() {
            if self.inodes.contains(&p) {
                inside = true;
                break;
            }
            if self.outside.contains(&p) {
                break;
            }
            chain.push(p);
        }
        for i in chain {
            if inside {
                self.inodes.insert(i);
            } else {
                self.outside.insert(i);
            }
        }
        inside
    }

    /// Whether live process `pid` is in the subtree: its `/proc/PID/ns/agent` inode is one of
    /// the sessions or below them; when the caller may not stat that file (another user's
    /// process), its session id (`/proc/PID/agent_session`, readable by all) is one of theirs.
    /// `false` for a process gone, or one that has left its namespaces (a zombie).
    pub fn contains_pid(&mut self, pid: i32) -> bool {
        match procfs::ns_inode(Pid::Pid(pid)) {
            Ok(ino) => self.contains_inode(ino, || ancestor_inodes(pid, ino)),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
                procfs::session_id(Pid::Pid(pid)).is_ok_and(|id| self.ids.contains(&id))
            }
            Err(_) => false,
        }
    }

    /// Every live process in the subtree, ascending, but the caller itself.
    pub fn pids(&mut self) -> Result<Vec<i32>> {
        let me = std::process::id() as i32;
        let mut out = Vec::new();
        for pid in procfs::pids()? {
            if pid != me && self.contains_pid(pid) {
                out.push(pid);
            }
        }
        Ok(out)
    }
}

/// The inodes of the ancestors of process `pid`'s session `ino`, parent first, as far as the
/// caller may see them (`NS_GET_PARENT` from `/proc/PID/ns/agent`).
fn ancestor_inodes(pid: i32, ino: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let Ok(f) = NsFile::of_pid(pid) else {
        return out;
    };
    if f.inode().ok() != Some(ino) {
        return out; // the process changed sessions, or the pid was reused
    }
    let mut cur = f;
    while let Ok(Some(p)) = cur.parent() {
        let Ok(pino) = p.inode() else { break };
        out.push(pino);
        if out.len() > 64 {
            break;
        }
        cur = p;
    }
    out
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::listing::Sources;

    fn id(hex: &str) -> SessionId {
        hex.parse().unwrap()
    }

    fn info(inode: u64, hex: Option<&str>, parent: Option<u64>, pids: &[i32]) -> SessionInfo {
        SessionInfo {
            id: hex.map(id),
            inode,
            ns_id: Some(inode + 100),
            initial: inode == crate::uapi::AGENT_NS_INIT_INO,
            depth: None,
            parent_inode: parent,
            intent: Some(format!("s{inode}")),
            pids: pids.to_vec(),
            counters: None,
        }
    }

    const INIT: u64 = crate::uapi::AGENT_NS_INIT_INO;
    const A: &str = "abcd0123456789abcdef0123456789ab";
    const B: &str = "abce0123456789abcdef0123456789ab";
    const C: &str = "12345678000000000000000000000000";
    const D: &str = "ffff0000000000000000000000000001";
    const Z: &str = "00000000000000000000000000000000";

    fn snap() -> Snapshot {
        let mut sessions = BTreeMap::new();
        for s in [
            info(INIT, Some(Z), None, &[1, 2]),
            info(10, Some(A), Some(INIT), &[100]),
            info(11, Some(B), Some(10), &[110, 111]),
            info(12, Some(C), Some(11), &[]),
            info(13, Some(D), Some(INIT), &[130]),
            info(14, None, Some(10), &[]),
            // found by id only (another user's process): no inode, no parent
            info(0, Some(D), None, &[131]),
        ] {
            sessions.insert(if s.inode == 0 { u64::MAX } else { s.inode }, s);
        }
        Snapshot {
            sessions,
            sources: Sources {
                listns: true,
                listns_error: None,
                unresolved_ns_ids: vec![],
            },
        }
    }

    fn live(p: i32) -> bool {
        [1, 2, 100, 110, 111, 130, 131, 2_000_000_000].contains(&p)
    }

    #[test]
    fn argument_forms() {
        for ok in ["1", "4242", "abcd", "ABCD", A, "0000"] {
            assert!(check_arg(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "abc",
            "-1",
            "12ab!",
            "xyz1",
            &format!("{A}0"),
            "self",
            " 12",
        ] {
            assert!(check_arg(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse("100", live).unwrap(), Selector::Pid(100));
        assert_eq!(
            parse("ABCD", live).unwrap(),
            Selector::Prefix {
                prefix: "abcd".into(),
                digits: false
            }
        );
        // Digits that are no live process are a prefix, when long enough.
        assert_eq!(
            parse("1234", live).unwrap(),
            Selector::Prefix {
                prefix: "1234".into(),
                digits: true
            }
        );
        // With a leading zero, digits are an id prefix.
        assert_eq!(
            parse("0100", live).unwrap(),
            Selector::Prefix {
                prefix: "0100".into(),
                digits: true
            }
        );
        let e = parse("999", live).unwrap_err().to_string();
        assert!(e.contains("no such process 999"), "{e}");
    }

    #[test]
    fn by_pid_and_by_prefix() {
        let s = snap();
        let r = |a: &str| resolve_with(&s, a, live);
        assert_eq!(r("100").unwrap().inode, 10);
        assert_eq!(r("111").unwrap().inode, 11);
        assert_eq!(r("abcd").unwrap().inode, 10);
        assert_eq!(r("ABCE01").unwrap().inode, 11);
        assert_eq!(r(A).unwrap().inode, 10);
        // A pid-like number that is no live process: the id that starts with it.
        assert_eq!(r("12345").unwrap().inode, 12);
        // The same id found twice: the entry with an inode wins.
        assert_eq!(r("ffff").unwrap().inode, 13);
        assert_eq!(r("131").unwrap().inode, 0);
        // The initial session's id is all zeros.
        assert!(r("0000").unwrap().initial);
        assert!(r("1").unwrap().initial);
    }

    #[test]
    fn ambiguous_and_unknown() {
        let s = snap();
        let r = |a: &str| resolve_with(&s, a, live).unwrap_err().to_string();
        let e = r("abc0");
        assert!(e.contains("no session id starts with \"abc0\""), "{e}");
        let e = r("abc").to_string();
        assert!(e.contains("neither a pid nor a session id"), "{e}");
        let e = resolve_with(&s, "abc", live).unwrap_err();
        assert!(matches!(e, Error::Invalid(_)));
        // "abcd" and "abce" share "abc", which is too short; add an ambiguous pair.
        let mut s2 = snap();
        s2.sessions.insert(
            20,
            info(20, Some("abcd9999999999999999999999999999"), None, &[]),
        );
        let e = resolve_with(&s2, "abcd", live).unwrap_err().to_string();
        assert!(e.contains("ambiguous: 2 sessions match"), "{e}");
        assert!(e.contains(&format!("  {A} pid 100 intent \"s10\"")), "{e}");
        assert!(
            e.contains("  abcd9999999999999999999999999999 intent \"s20\""),
            "{e}"
        );
        assert_eq!(resolve_with(&s2, "abcd0", live).unwrap().inode, 10);
        // Digits: neither a process nor an id.
        let e = r("99999");
        assert!(e.contains("no such process 99999"), "{e}");
        // A live process not in the snapshot (started since).
        let e = r("2000000000");
        assert!(
            e.contains("process 2000000000 is in no session found"),
            "{e}"
        );
    }

    #[test]
    fn subtrees() {
        let s = snap();
        let a = &s.sessions[&10];
        let t = Subtree::new(&s, &[a]);
        assert_eq!(t.inodes, BTreeSet::from([10, 11, 12, 14]));
        assert_eq!(t.ids, BTreeSet::from([id(A), id(B), id(C)]));
        let d = &s.sessions[&13];
        let by_id = &s.sessions[&u64::MAX];
        let t = Subtree::new(&s, &[d, by_id, d]);
        assert_eq!(t.inodes, BTreeSet::from([13]));
        assert_eq!(t.ids, BTreeSet::from([id(D)]));
        let t = Subtree::new(&s, &[&s.sessions[&INIT]]);
        assert_eq!(t.inodes.len(), 6);
    }

    #[test]
    fn sessions_created_since_the_snapshot() {
        let s = snap();
        let mut t = Subtree::new(&s, &[&s.sessions[&11]]);
        // 50 is a new child of 12, 51 one of 50; 60 a new child of 13 (outside); 61 one of 60.
        assert!(t.contains_inode(51, || vec![50, 12, 11, 10, INIT]));
        assert!(t.inodes.contains(&50) && t.inodes.contains(&51));
        assert!(!t.contains_inode(60, || vec![13, INIT]));
        assert!(t.outside.contains(&13) && t.outside.contains(&INIT));
        assert!(!t.contains_inode(61, || vec![60, 13]));
        // Parents not visible from the caller's session: outside.
        assert!(!t.contains_inode(70, Vec::new));
        // Known now: no more asking.
        assert!(!t.contains_inode(60, || panic!("asked again")));
        assert!(t.contains_inode(50, || panic!("asked again")));
        assert!(t.contains_inode(11, || panic!("asked again")));
    }
}
