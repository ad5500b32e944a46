// SPDX-License-Identifier: GPL-2.0
//! `agentns show [PID]`: one process's session.

use std::collections::BTreeMap;

use agentns::procfs::{self, Pid};
use agentns::{Budget, Counters, NsFile, SessionId, session};
use serde::Serialize;

use super::Result;
use crate::cli::ShowArgs;
use crate::format;

/// An ancestor session.
#[derive(Serialize, Debug)]
struct Ancestor {
    /// Its id, when some visible process is in it (the initial session's is all zeros).
    id: Option<SessionId>,
    inode: u64,
    ns_id: Option<u64>,
}

/// What `show` prints.
#[derive(Serialize, Debug)]
struct Shown {
    pid: i32,
    comm: String,
    id: SessionId,
    initial: bool,
    inode: Option<u64>,
    ns_id: Option<u64>,
    /// The parent session's id (PR_GET_AGENT_PARENT_ID for the own session, else from the
    /// chain), all zeros for the initial session.
    parent_id: Option<SessionId>,
    /// Ancestors, parent first, ending with the initial session.
    parents: Vec<Ancestor>,
    /// 0 for the initial session.
    depth: Option<usize>,
    intent: Option<String>,
    counters: Option<Counters>,
    /// Budget limits: readable for the own session only.
    budget: Option<Budget>,
    /// Why something could not be read.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

/// Session ids by nsfs inode, from one pass over /proc.
fn ids_by_inode() -> BTreeMap<u64, SessionId> {
    let mut m = BTreeMap::new();
    for pid in procfs::pids().unwrap_or_default() {
        let p = Pid::Pid(pid);
        if let Ok(ino) = procfs::ns_inode(p) {
            if let std::collections::btree_map::Entry::Vacant(e) = m.entry(ino) {
                if let Ok(id) = procfs::session_id(p) {
                    e.insert(id);
                }
            }
        }
    }
    m
}

fn collect(pid: Option<i32>) -> agentns::Result<Shown> {
    let own = pid.is_none() || pid == Some(std::process::id() as i32);
    let mypid = std::process::id() as i32;
    let p = match pid {
        Some(p) if !own => Pid::Pid(p),
        _ => Pid::Current,
    };
    let mut notes = Vec::new();
    let id = if own {
        session::session_id()?
    } else {
        procfs::session_id(p)?
    };
    let intent = if own {
        Some(session::intent()?)
    } else {
        procfs::intent(p)
            .map_err(|e| notes.push(format!("intent: {e}")))
            .ok()
    };
    let counters = if own {
        Some(session::counters()?)
    } else {
        procfs::counters(p)
            .map_err(|e| notes.push(format!("counters: {e}")))
            .ok()
    };
    let budget = if own { Some(session::budget()?) } else { None };
    let ns = match p {
        Pid::Current => NsFile::of_self(),
        Pid::Pid(n) => NsFile::of_pid(n),
    };
    let (mut inode, mut ns_id, mut parents, mut depth) = (None, None, Vec::new(), None);
    match ns {
        Ok(f) => {
            inode = f.inode().ok();
            ns_id = f.ns_id().ok();
            match f.ancestors() {
                Ok(chain) => {
                    let ids = if chain.is_empty() {
                        BTreeMap::new()
                    } else {
                        ids_by_inode()
                    };
                    depth = Some(chain.len());
                    for a in chain {
                        let ino = a.inode().unwrap_or(0);
                        let id = if ino == agentns::uapi::AGENT_NS_INIT_INO {
                            Some(SessionId::INITIAL)
                        } else {
                            ids.get(&ino).copied()
                        };
                        parents.push(Ancestor {
                            id,
                            inode: ino,
                            ns_id: a.ns_id().ok(),
                        });
                    }
                }
                Err(e) => notes.push(format!("parents: {e}")),
            }
        }
        Err(e) => notes.push(format!("namespace file: {e}")),
    }
    let parent_id = if own {
        Some(session::parent_id()?)
    } else if id.is_initial() {
        Some(SessionId::INITIAL)
    } else {
        parents.first().and_then(|a| a.id)
    };
    Ok(Shown {
        pid: if own { mypid } else { pid.unwrap_or(mypid) },
        comm: procfs::comm(p),
        initial: id.is_initial(),
        id,
        inode,
        ns_id,
        parent_id,
        parents,
        depth,
        intent,
        counters,
        budget,
        notes,
    })
}

fn human(s: &Shown) -> String {
    let mut o = format!("pid          {} ({})\n", s.pid, s.comm);
    o += &format!(
        "session      {}{}\n",
        s.id,
        if s.initial { " (initial)" } else { "" }
    );
    if let Some(i) = s.inode {
        o += &format!(
            "namespace    agent:[{i}]{}\n",
            s.ns_id.map_or_else(String::new, |n| format!(" ns_id {n}"))
        );
    }
    if let Some(d) = s.depth {
        o += &format!("depth        {d}\n");
    }
    if !s.initial {
        let chain: Vec<String> = s
            .parents
            .iter()
            .map(|a| match a.id {
                Some(id) if id.is_initial() => format!("{id} (initial)"),
                Some(id) => id.to_string(),
                None => format!("agent:[{}] (no visible process)", a.inode),
            })
            .collect();
        if chain.is_empty() {
            if let Some(p) = s.parent_id {
                o += &format!("parent       {p}\n");
            }
        } else {
            o += &format!("parents      {}\n", chain.join("\n          <- "));
        }
    }
    if let Some(t) = &s.intent {
        o += &format!(
            "intent       {}\n",
            if t.is_empty() {
                "(none)".into()
            } else {
                format!("{t:?}")
            }
        );
    }
    if let Some(b) = &s.budget {
        o += &format!("budget       {}\n", format::budget_line(b));
    }
    if let Some(c) = &s.counters {
        o += "counters\n";
        o += &format::counters_table(c, "  ");
    }
    for n in &s.notes {
        o += &format!("note: {n}\n");
    }
    o
}

/// Runs `agentns show`.
pub fn show(a: ShowArgs) -> Result {
    session::ensure_supported()?;
    let s = collect(a.pid)?;
    if a.json {
        super::print_json(&s)?;
    } else {
        print!("{}", human(&s));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_and_json() {
        let mut c = Counters::default();
        c.set("syscalls", 5);
        let s = Shown {
            pid: 42,
            comm: "sh".into(),
            id: SessionId([1; 16]),
            initial: false,
            inode: Some(4026532000),
            ns_id: Some(12),
            parent_id: Some(SessionId([2; 16])),
            parents: vec![
                Ancestor {
                    id: Some(SessionId([2; 16])),
                    inode: 4026532001,
                    ns_id: Some(11),
                },
                Ancestor {
                    id: Some(SessionId::INITIAL),
                    inode: 4026531830,
                    ns_id: Some(9),
                },
            ],
            depth: Some(2),
            intent: Some("job".into()),
            counters: Some(c),
            budget: None,
            notes: vec![],
        };
        let h = human(&s);
        assert!(h.contains("pid          42 (sh)\n"), "{h}");
        assert!(h.contains("depth        2\n"), "{h}");
        assert!(h.contains(
            "parents      02020202020202020202020202020202\n          <- \
             00000000000000000000000000000000 (initial)\n"
        ));
        assert!(h.contains("intent       \"job\"\n"), "{h}");
        assert!(h.contains("  syscalls     5\n"), "{h}");
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["id"], "01010101010101010101010101010101");
        assert_eq!(v["depth"], 2);
        assert_eq!(v["parents"][1]["ns_id"], 9);
        assert_eq!(v["counters"]["syscalls"], 5);
        assert!(v["budget"].is_null());
        assert!(v.get("notes").is_none());
    }
}
