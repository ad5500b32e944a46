// SPDX-License-Identifier: GPL-2.0
//! Every live session and how they nest.
//!
//! Sessions are found two ways: by scanning `/proc/*/ns/agent` (every session that has a
//! process the caller can see, with its id, intent and counters from `/proc/PID/agent_*`) and
//! by listns(2), which also lists sessions that have no process left but are kept alive by a
//! descendant session or an open namespace file. Parents come from `NS_GET_PARENT`, which
//! hands out a parent only when it is the caller's own session or below it: from inside a
//! session, the caller's own session and every session outside its subtree have no visible
//! parent and are roots of the trees. A session without a visible process has no readable id,
//! intent or counters: the kernel exposes those through its tasks only. The intent and the
//! counters also need ptrace read access to one of those processes (another user's are
//! unreadable, `None`); the id does not.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::error::Result;
use crate::nsfs::{self, NsFile};
use crate::procfs::{self, Pid};
use crate::session::{Counters, SessionId};

/// One session.
#[derive(Clone, Debug, Serialize)]
pub struct SessionInfo {
    /// The session id, when a process of the session is visible or its namespace file could
    /// be opened (`AGENT_NS_GET_INFO`).
    pub id: Option<SessionId>,
    /// The nsfs inode number (`agent:[INUM]`); 0 when the caller may not open the
    /// namespace file of any of its processes.
    pub inode: u64,
    /// The namespace id (`NS_GET_ID`), as listns(2) reports it.
    pub ns_id: Option<u64>,
    /// Whether this is the initial session.
    pub initial: bool,
    /// Nesting depth: 0 for the initial session; `None` when the chain up to the initial
    /// session is not visible (from inside a session, the sessions above the caller's).
    pub depth: Option<u32>,
    /// The parent's inode number; `None` for the initial session, and for a session whose
    /// parent is not visible from the caller's session (`NS_GET_PARENT` answers `EPERM`
    /// above it) or whose namespace file the caller may not open.
    pub parent_inode: Option<u64>,
    /// The intent tag, when a process of the session is visible and readable
    /// (`/proc/PID/agent_intent` needs ptrace read access, like the counters).
    pub intent: Option<String>,
    /// The processes in the session (not in its descendants).
    pub pids: Vec<i32>,
    /// The counters (subtree included), when a process of the session is visible and readable,
    /// or its namespace file could be opened (`AGENT_NS_GET_COUNTERS`).
    pub counters: Option<Counters>,
}

/// How the sessions were found.
#[derive(Clone, Debug, Serialize)]
pub struct Sources {
    /// Whether listns(2) worked.
    pub listns: bool,
    /// Why listns(2) did not work, if it did not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listns_error: Option<String>,
    /// Namespace ids listns(2) listed that could be neither opened by handle nor found
    /// through an open file or a bind mount the caller can see.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unresolved_ns_ids: Vec<u64>,
}

/// The nsfs inode number in a `agent:[INUM]` link or mount root.
fn agent_link_inode(link: &str) -> Option<u64> {
    link.strip_prefix("agent:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// A path field of `/proc/PID/mountinfo` as a path: the kernel writes space, tab, newline
/// and backslash as `\ooo` octal escapes (`\040`, `\011`, `\012`, `\134`), and any other
/// byte as it is.
fn unescape_mountinfo(field: &str) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStringExt;
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let octal = b
            .get(i + 1..i + 4)
            .filter(|d| b[i] == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .map(|d| d.iter().fold(0u32, |v, c| v * 8 + u32::from(c - b'0')))
            .and_then(|v| u8::try_from(v).ok());
        match octal {
            Some(v) => {
                out.push(v);
                i += 4;
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    std::ffi::OsString::from_vec(out).into()
}

/// Opens the sessions not yet in `snap` that open file descriptors (`/proc/*/fd/*`) and bind
/// mounts (`/proc/self/mountinfo`) refer to.
fn held_files(snap: &Snapshot) -> Vec<NsFile> {
    let mut seen: Vec<u64> = snap.sessions.keys().copied().collect();
    let mut out = Vec::new();
    let mut try_open = |ino: u64, path: std::path::PathBuf, out: &mut Vec<NsFile>| {
        if seen.contains(&ino) {
            return;
        }
        if let Ok(f) = NsFile::open(&path) {
            if f.inode().ok() == Some(ino) {
                seen.push(ino);
                out.push(f);
            }
        }
    };
    for pid in procfs::pids().unwrap_or_default() {
        let dir = std::path::PathBuf::from(format!("/proc/{pid}/fd"));
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let Ok(link) = std::fs::read_link(e.path()) else {
                continue;
            };
            if let Some(ino) = link.to_str().and_then(agent_link_inode) {
                try_open(ino, e.path(), &mut out);
            }
        }
    }
    // mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTIONS
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    for line in mi.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        if f.len() < 5 || !line.contains(" - nsfs ") {
            continue;
        }
        if let Some(ino) = agent_link_inode(f[3]) {
            try_open(ino, unescape_mountinfo(f[4]), &mut out);
        }
    }
    out
}

/// Every session found, by inode number.
#[derive(Clone, Debug)]
pub struct Snapshot {
    /// The sessions.
    pub sessions: BTreeMap<u64, SessionInfo>,
    /// How they were found.
    pub sources: Sources,
}

/// A session and its children, for printing.
#[derive(Clone, Debug, Serialize)]
pub struct TreeNode {
    /// The session.
    #[serde(flatten)]
    pub session: SessionInfo,
    /// Its child sessions.
    pub children: Vec<TreeNode>,
}

impl Snapshot {
    /// Scans `/proc` and listns(2).
    pub fn collect() -> Result<Snapshot> {
        let mut groups: BTreeMap<u64, Vec<i32>> = BTreeMap::new();
        let mut id_only = Vec::new();
        for pid in procfs::pids()? {
            match procfs::ns_inode(Pid::Pid(pid)) {
                Ok(ino) => groups.entry(ino).or_default().push(pid),
                // Another user's process: its namespace file needs ptrace access, but its
                // agent_session (mode 0444) is readable.
                Err(_) => id_only.push(pid),
            }
        }
        let mut snap = Snapshot {
            sessions: BTreeMap::new(),
            sources: Sources {
                listns: false,
                listns_error: None,
                unresolved_ns_ids: Vec::new(),
            },
        };
        let mut files: Vec<NsFile> = Vec::new();
        for (ino, pids) in groups {
            let mut info = SessionInfo {
                id: None,
                inode: ino,
                ns_id: None,
                initial: ino == crate::uapi::AGENT_NS_INIT_INO,
                depth: None,
                parent_inode: None,
                intent: None,
                pids: pids.clone(),
                counters: None,
            };
            // Any process of the session will do; processes exit under us, so try them in
            // turn.
            for &pid in &pids {
                let p = Pid::Pid(pid);
                if info.id.is_none() {
                    info.id = procfs::session_id(p).ok();
                }
                if info.intent.is_none() {
                    info.intent = procfs::intent(p).ok();
                }
                if info.counters.is_none() {
                    info.counters = procfs::counters(p).ok();
                }
                if info.ns_id.is_none() {
                    if let Ok(f) = NsFile::of_pid(pid) {
                        if f.inode().ok() == Some(ino) {
                            info.ns_id = f.ns_id().ok();
                            files.push(f);
                        }
                    }
                }
                if info.id.is_some() && info.intent.is_some() && info.counters.is_some() {
                    break;
                }
            }
            snap.sessions.insert(ino, info);
        }
        snap.add_by_id(&id_only);
        for f in files.drain(..) {
            snap.add_with_ancestors(f);
        }
        // Sessions without a process of their own: listns(2) names them, open_by_handle_at(2)
        // opens them where the kernel has CONFIG_FHANDLE; else look for the open namespace
        // files and bind mounts that keep them alive.
        let mut unresolved = Vec::new();
        let listed = match nsfs::listns() {
            Ok(ids) => {
                snap.sources.listns = true;
                ids
            }
            Err(e) => {
                snap.sources.listns_error = Some(e.to_string());
                Vec::new()
            }
        };
        for id in listed {
            if snap.sessions.values().any(|s| s.ns_id == Some(id)) {
                continue;
            }
            match NsFile::by_ns_id(id) {
                Ok(f) => snap.add_with_ancestors(f),
                Err(_) => unresolved.push(id),
            }
        }
        if !unresolved.is_empty() || !snap.sources.listns {
            for f in held_files(&snap) {
                snap.add_with_ancestors(f);
            }
            unresolved.retain(|id| !snap.sessions.values().any(|s| s.ns_id == Some(*id)));
        }
        snap.sources.unresolved_ns_ids = unresolved;
        snap.compute_depths();
        Ok(snap)
    }

    /// Adds processes whose namespace file the caller may not open, by their session id: to
    /// a session already found with that id, else as a session of its own whose inode (0) and
    /// parent are unknown, under a key above every inode number.
    fn add_by_id(&mut self, pids: &[i32]) {
        let mut next_key = u64::MAX;
        for &pid in pids {
            let p = Pid::Pid(pid);
            let Ok(id) = procfs::session_id(p) else {
                continue; // gone
            };
            if let Some(s) = self.sessions.values_mut().find(|s| s.id == Some(id)) {
                s.pids.push(pid);
                s.pids.sort_unstable();
                continue;
            }
            self.sessions.insert(
                next_key,
                SessionInfo {
                    id: Some(id),
                    inode: 0,
                    ns_id: None,
                    initial: id.is_initial(),
                    depth: id.is_initial().then_some(0),
                    parent_inode: None,
                    intent: procfs::intent(p).ok(),
                    pids: vec![pid],
                    counters: procfs::counters(p).ok(),
                },
            );
            next_key -= 1;
        }
    }

    /// Records `f`'s session (if new) and its ancestors, with the parent links.
    fn add_with_ancestors(&mut self, f: NsFile) {
        let mut cur = f;
        loop {
            let Ok(ino) = cur.inode() else { return };
            let entry = self.sessions.entry(ino).or_insert_with(|| SessionInfo {
                id: None,
                inode: ino,
                ns_id: None,
                initial: ino == crate::uapi::AGENT_NS_INIT_INO,
                depth: None,
                parent_inode: None,
                intent: None,
                pids: Vec::new(),
                counters: None,
            });
            if entry.ns_id.is_none() {
                entry.ns_id = cur.ns_id().ok();
            }
            // The namespace file reads the session whether or not a process is in it (on a
            // kernel with AGENT_NS_GET_INFO).
            if entry.id.is_none() || entry.depth.is_none() {
                if let Ok(i) = cur.info() {
                    entry.id.get_or_insert(i.id);
                    entry.depth.get_or_insert(i.depth);
                }
            }
            if entry.counters.is_none() {
                entry.counters = cur.counters().ok();
            }
            if entry.initial {
                entry.id = Some(SessionId::INITIAL);
                return;
            }
            if entry.parent_inode.is_some() {
                return; // this chain is known from here up
            }
            let Ok(Some(parent)) = cur.parent() else {
                return;
            };
            let Ok(pino) = parent.inode() else { return };
            if let Some(e) = self.sessions.get_mut(&ino) {
                e.parent_inode = Some(pino);
            }
            cur = parent;
        }
    }

    fn compute_depths(&mut self) {
        let inodes: Vec<u64> = self.sessions.keys().copied().collect();
        for ino in inodes {
            let mut d = 0u32;
            let mut cur = ino;
            let depth = loop {
                let Some(s) = self.sessions.get(&cur) else {
                    break None;
                };
                if s.initial {
                    break Some(d);
                }
                match s.parent_inode {
                    Some(p) if d < 64 => {
                        d += 1;
                        cur = p;
                    }
                    _ => break None,
                }
            };
            if let Some(s) = self.sessions.get_mut(&ino) {
                s.depth = depth.or(s.depth);
            }
        }
    }

    /// The session a process is in.
    pub fn of_pid(&self, pid: i32) -> Option<&SessionInfo> {
        self.sessions.values().find(|s| s.pids.contains(&pid))
    }

    /// A session's children, oldest first.
    pub fn children(&self, inode: u64) -> Vec<&SessionInfo> {
        let mut v: Vec<&SessionInfo> = self
            .sessions
            .values()
            .filter(|s| s.parent_inode == Some(inode) && s.inode != inode)
            .collect();
        v.sort_by_key(|s| (s.ns_id.unwrap_or(u64::MAX), s.inode));
        v
    }

    /// The sessions as trees: the initial session (and any session whose parent is not
    /// visible from the caller's session or could not be found) at the top.
    pub fn trees(&self) -> Vec<TreeNode> {
        fn build(s: &Snapshot, info: &SessionInfo, depth: u32) -> TreeNode {
            TreeNode {
                session: info.clone(),
                children: if depth > 64 {
                    Vec::new()
                } else {
                    s.children(info.inode)
                        .into_iter()
                        .map(|c| build(s, c, depth + 1))
                        .collect()
                },
            }
        }
        let mut roots: Vec<&SessionInfo> = self
            .sessions
            .values()
            .filter(|s| {
                s.parent_inode
                    .is_none_or(|p| !self.sessions.contains_key(&p))
            })
            .collect();
        roots.sort_by_key(|s| (!s.initial, s.ns_id.unwrap_or(u64::MAX), s.inode));
        roots.into_iter().map(|r| build(self, r, 0)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_paths_are_unescaped() {
        let p = |s| unescape_mountinfo(s).into_os_string().into_encoded_bytes();
        assert_eq!(p("/run/agent ns"), b"/run/agent ns");
        assert_eq!(p("/run/a\\040b\\011c"), b"/run/a b\tc");
        assert_eq!(p("/run/new\\012line"), b"/run/new\nline");
        assert_eq!(p("/run/back\\134slash\\134040"), b"/run/back\\slash\\040");
        // Not an escape: kept as it is.
        assert_eq!(p("/run/x\\09"), b"/run/x\\09");
        assert_eq!(p("/run/x\\"), b"/run/x\\");
        assert_eq!(p("/run/\\777"), b"/run/\\777");
        assert_eq!(p("/run/caf\u{e9}"), "/run/caf\u{e9}".as_bytes());
    }

    fn info(inode: u64, ns_id: u64, parent: Option<u64>) -> SessionInfo {
        SessionInfo {
            id: None,
            inode,
            ns_id: Some(ns_id),
            initial: inode == crate::uapi::AGENT_NS_INIT_INO,
            depth: None,
            parent_inode: parent,
            intent: None,
            pids: vec![],
            counters: None,
        }
    }

    #[test]
    fn trees_and_depths() {
        let init = crate::uapi::AGENT_NS_INIT_INO;
        let mut snap = Snapshot {
            sessions: BTreeMap::new(),
            sources: Sources {
                listns: true,
                listns_error: None,
                unresolved_ns_ids: vec![],
            },
        };
        for s in [
            info(init, 9, None),
            info(2, 20, Some(init)),
            info(4, 41, Some(2)), // created after 3: listed after it
            info(3, 40, Some(2)),
            info(5, 50, Some(99)), // parent not found: a root of its own
        ] {
            snap.sessions.insert(s.inode, s);
        }
        snap.compute_depths();
        let d = |i: u64| snap.sessions[&i].depth;
        assert_eq!(
            [d(init), d(2), d(3), d(4), d(5)],
            [Some(0), Some(1), Some(2), Some(2), None]
        );
        let t = snap.trees();
        assert_eq!(t.len(), 2);
        assert!(t[0].session.initial);
        assert_eq!(t[1].session.inode, 5);
        assert_eq!(t[0].children.len(), 1);
        let a = &t[0].children[0];
        assert_eq!(a.session.inode, 2);
        let kids: Vec<u64> = a.children.iter().map(|c| c.session.inode).collect();
        assert_eq!(kids, [3, 4]);
        let j = serde_json::to_value(&t[0]).unwrap();
        assert_eq!(j["children"][0]["children"][1]["inode"], 4);
        assert_eq!(j["children"][0]["depth"], 1);
    }

    #[test]
    fn parents_above_the_callers_session_are_not_visible() {
        // What a caller in session 2 sees: NS_GET_PARENT answers EPERM for its own session,
        // for its sibling 6 and for the initial session, and hands out 2 as the parent of 3
        // and 3 as the parent of 4.
        let init = crate::uapi::AGENT_NS_INIT_INO;
        let mut snap = Snapshot {
            sessions: BTreeMap::new(),
            sources: Sources {
                listns: true,
                listns_error: None,
                unresolved_ns_ids: vec![],
            },
        };
        for s in [
            info(init, 9, None),
            info(2, 20, None),
            info(3, 30, Some(2)),
            info(4, 40, Some(3)),
            info(6, 60, None),
        ] {
            snap.sessions.insert(s.inode, s);
        }
        snap.compute_depths();
        let d = |i: u64| snap.sessions[&i].depth;
        assert_eq!(
            [d(init), d(2), d(3), d(4), d(6)],
            [Some(0), None, None, None, None]
        );
        let t = snap.trees();
        let roots: Vec<u64> = t.iter().map(|n| n.session.inode).collect();
        assert_eq!(roots, [init, 2, 6]);
        assert!(t[0].children.is_empty());
        assert_eq!(t[1].children[0].session.inode, 3);
        assert_eq!(t[1].children[0].children[0].session.inode, 4);
        let j = serde_json::to_value(&t[1]).unwrap();
        assert!(j["parent_inode"].is_null());
        assert!(j["depth"].is_null());
    }

    #[test]
    fn agent_links() {
        assert_eq!(agent_link_inode("agent:[4026531830]"), Some(4026531830));
        assert_eq!(agent_link_inode("pid:[4026531836]"), None);
        assert_eq!(agent_link_inode("agent:[x]"), None);
        assert_eq!(agent_link_inode("/dev/null"), None);
    }
}
