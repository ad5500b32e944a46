// SPDX-License-Identifier: GPL-2.0
//! `agentns show [PID]`: one process's session.

use std::collections::BTreeMap;

use agentns::procfs::{self, Pid};
use agentns::{Budget, Counter, Counters, NsFile, SessionId, session};
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

/// What the session's budgets and the reaper did, from AGENT_NS_GET_INFO.
#[derive(Serialize, Debug, Default)]
struct State {
    /// The limits of its own budget whose action fired.
    fired: Vec<Counter>,
    /// A SIGTERM or SIGKILL action of its own budget fired: its tasks are being signalled.
    budget_acted: bool,
    /// ... of the budget of a session above it.
    budget_above_acted: bool,
    /// It (or a session above it) outlived kernel.agent_ns.max_lifetime: the reaper kills its
    /// tasks.
    reaped: bool,
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
    /// Ancestors visible from the caller's session, parent first: up to the initial session
    /// from the initial session, else up to the caller's own session at most.
    parents: Vec<Ancestor>,
    /// Whether the sessions above the last of `parents` (above this session, when `parents`
    /// is empty) exist but are not visible from the caller's session: NS_GET_PARENT hands out
    /// only the caller's own session and the sessions below it.
    parents_hidden: bool,
    /// 0 for the initial session (AGENT_NS_GET_INFO; from the parent chain on a kernel
    /// without it, where it is unknown when the parents are hidden).
    depth: Option<usize>,
    /// Unknown when /proc/PID/agent_intent is not readable (another user's process).
    intent: Option<String>,
    counters: Option<Counters>,
    /// Budget limits (AGENT_NS_GET_BUDGET through the namespace file).
    budget: Option<Budget>,
    /// What the kernel did to the session (AGENT_NS_GET_INFO): unknown on a kernel without
    /// the ioctl.
    state: Option<State>,
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
    let mut budget = if own { Some(session::budget()?) } else { None };
    let mut state = None;
    let mut info_parent = None;
    let ns = match p {
        Pid::Current => NsFile::of_self(),
        Pid::Pid(n) => NsFile::of_pid(n),
    };
    let (mut inode, mut ns_id, mut parents, mut depth) = (None, None, Vec::new(), None);
    let mut parents_hidden = false;
    match ns {
        Ok(f) => {
            inode = f.inode().ok();
            ns_id = f.ns_id().ok();
            if let Ok(i) = f.info() {
                depth = Some(i.depth as usize);
                info_parent = Some(i.parent_id);
                state = Some(State {
                    fired: i.fired,
                    budget_acted: i.acted,
                    budget_above_acted: i.acted_above,
                    reaped: i.reaped,
                });
            }
            if budget.is_none() {
                budget = f.budget().ok();
            }
            match f.ancestors() {
                Ok(anc) => {
                    let ids = if anc.chain.is_empty() {
                        BTreeMap::new()
                    } else {
                        ids_by_inode()
                    };
                    depth = depth.or(anc.depth());
                    parents_hidden = !anc.complete;
                    for a in anc.chain {
                        let ino = a.inode().unwrap_or(0);
                        let id = if ino == agentns::nsfs::INITIAL_INODE {
                            Some(SessionId::INITIAL)
                        } else {
                            // A session without a process is read through its file.
                            ids.get(&ino).copied().or(a.info().ok().map(|i| i.id))
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
    } else if info_parent.is_some() {
        info_parent
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
        parents_hidden,
        depth,
        intent,
        counters,
        budget,
        state,
        notes,
    })
}

/// A parent that NS_GET_PARENT does not hand out: one above the caller's own session.
const HIDDEN: &str = "not visible from the caller's session";

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
    match s.depth {
        Some(d) => o += &format!("depth        {d}\n"),
        None if s.parents_hidden => o += "depth        unknown\n",
        None => {}
    }
    if !s.initial {
        let mut chain: Vec<String> = s
            .parents
            .iter()
            .map(|a| match a.id {
                Some(id) if id.is_initial() => format!("{id} (initial)"),
                Some(id) => id.to_string(),
                None => format!("agent:[{}] (no visible process)", a.inode),
            })
            .collect();
        if chain.is_empty() {
            match (s.parent_id, s.parents_hidden) {
                (Some(p), false) => o += &format!("parent       {p}\n"),
                (Some(p), true) => o += &format!("parent       {p} (id only: {HIDDEN})\n"),
                (None, true) => o += &format!("parent       {HIDDEN}\n"),
                (None, false) => {}
            }
        } else {
            if s.parents_hidden {
                chain.push(format!("({HIDDEN})"));
            }
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
    if let Some(st) = &s.state {
        if st.reaped {
            o += "state        reaped: outlived kernel.agent_ns.max_lifetime, its tasks are killed\n";
        } else if st.budget_acted {
            o += "state        its budget's action fired: its tasks are being signalled\n";
        } else if st.budget_above_acted {
            o += "state        the budget of a session above it fired its action\n";
        }
        if !st.fired.is_empty() {
            let fired: Vec<&str> = st.fired.iter().map(|c| c.name()).collect();
            o += &format!("reached      {}\n", fired.join(", "));
        }
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
        c.set(Counter::Syscalls, 5);
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
            parents_hidden: false,
            depth: Some(2),
            intent: Some("job".into()),
            counters: Some(c),
            budget: None,
            state: Some(State {
                fired: vec![Counter::Syscalls],
                reaped: true,
                ..State::default()
            }),
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
        assert!(
            h.contains(
                "state        reaped: outlived kernel.agent_ns.max_lifetime, its tasks are \
                 killed\nreached      syscalls\n"
            ),
            "{h}"
        );
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["id"], "01010101010101010101010101010101");
        assert_eq!(v["depth"], 2);
        assert_eq!(v["parents"][1]["ns_id"], 9);
        assert_eq!(v["counters"]["syscalls"], 5);
        assert!(v["budget"].is_null());
        assert_eq!(v["parents_hidden"], false);
        assert_eq!(v["state"]["reaped"], true);
        assert_eq!(v["state"]["fired"][0], "syscalls");
        assert!(v.get("notes").is_none());
    }

    fn hidden(parent_id: Option<SessionId>, parents: Vec<Ancestor>) -> Shown {
        Shown {
            pid: 7,
            comm: "agent".into(),
            id: SessionId([3; 16]),
            initial: false,
            inode: Some(4026532003),
            ns_id: Some(13),
            parent_id,
            parents,
            parents_hidden: true,
            depth: None,
            intent: None,
            counters: None,
            budget: None,
            state: None,
            notes: vec![],
        }
    }

    #[test]
    fn parents_above_the_callers_session() {
        // The caller's own session, inside a session: the id from PR_GET_AGENT_PARENT_ID only.
        let own = hidden(Some(SessionId::INITIAL), vec![]);
        let h = human(&own);
        assert!(h.contains("depth        unknown\n"), "{h}");
        assert!(
            h.contains(
                "parent       00000000000000000000000000000000 (id only: not visible from the \
                 caller's session)\n"
            ),
            "{h}"
        );
        let v = serde_json::to_value(&own).unwrap();
        assert!(v["depth"].is_null());
        assert_eq!(v["parents_hidden"], true);
        assert_eq!(v["parents"], serde_json::json!([]));
        // A session outside the caller's subtree: nothing above it is visible.
        let h = human(&hidden(None, vec![]));
        assert!(
            h.contains("parent       not visible from the caller's session\n"),
            "{h}"
        );
        // A session below the caller's: the chain up to the caller's session, then nothing.
        let mut below = hidden(
            Some(SessionId([2; 16])),
            vec![Ancestor {
                id: Some(SessionId([2; 16])),
                inode: 4026532002,
                ns_id: Some(12),
            }],
        );
        below.notes.push("intent: EACCES".into());
        let h = human(&below);
        assert!(
            h.contains(
                "parents      02020202020202020202020202020202\n          <- (not visible from \
                 the caller's session)\n"
            ),
            "{h}"
        );
        // An intent that could not be read is left out, with the reason in a note.
        assert!(!h.contains("intent     "), "{h}");
        assert!(h.ends_with("note: intent: EACCES\n"), "{h}");
        assert!(serde_json::to_value(&below).unwrap()["intent"].is_null());
    }
}
