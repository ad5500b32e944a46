// SPDX-License-Identifier: GPL-2.0
//! `agentns ls` (the session tree) and `agentns top` (sessions by system call rate).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::time::Instant;

use agentns::listing::{SessionInfo, Snapshot};
use agentns::units::{format_count, format_duration_ns, format_size};
use agentns::{Counters, SessionId, session};
use serde::Serialize;

use super::Result;
use crate::cli::{LsArgs, TopArgs};
use crate::format;

#[derive(Serialize)]
struct Listing {
    sources: agentns::listing::Sources,
    sessions: Vec<agentns::listing::TreeNode>,
}

/// Runs `agentns ls`.
pub fn ls(a: LsArgs) -> Result {
    session::ensure_supported()?;
    let snap = Snapshot::collect()?;
    let trees = snap.trees();
    if a.json {
        super::print_json(&Listing {
            sources: snap.sources.clone(),
            sessions: trees,
        })?;
    } else {
        print!("{}", format::tree_table(&trees));
        if let Some(e) = &snap.sources.listns_error {
            eprintln!(
                "agentns: listns(2) failed, so sessions held only by a file descriptor or \
                 bind mount the caller cannot see are missing: {e}"
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

/// Rows for every session with counters, busiest first.
fn rows(
    sessions: &BTreeMap<u64, SessionInfo>,
    prev: &BTreeMap<u64, u64>,
    elapsed_s: f64,
) -> Vec<Row> {
    let mut out: Vec<Row> = sessions
        .values()
        .filter(|s| !s.initial)
        .filter_map(|s| {
            let c = s.counters?;
            let now = c.get("syscalls").unwrap_or(0);
            let rate = match prev.get(&s.inode) {
                Some(before) if elapsed_s > 0.0 => now.wrapping_sub(*before) as f64 / elapsed_s,
                _ => {
                    let age = c.get("elapsed_ns").unwrap_or(0) as f64 / 1e9;
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
        .collect();
    out.sort_by(|a, b| {
        b.syscall_rate
            .total_cmp(&a.syscall_rate)
            .then(a.inode.cmp(&b.inode))
    });
    out
}

fn table(f: &Frame, total: usize) -> String {
    let mut s = format!(
        "agentns top: {} sessions with counters, {} in all, refresh {:.1}s, iteration {}\n\n",
        f.sessions.len(),
        total,
        f.interval_s,
        f.iteration
    );
    s += &format!(
        "{:>10} {:>12} {:>8} {:>10} {:>10} {:>6} {:>5} {:>8}  {:<32}  INTENT\n",
        "SYSCALLS/S", "SYSCALLS", "OPENAT", "WRITE", "READ", "FORKS", "PROCS", "AGE", "SESSION"
    );
    for r in &f.sessions {
        let c = &r.counters;
        let g = |k: &str| c.get(k).unwrap_or(0);
        s += &format!(
            "{:>10.0} {:>12} {:>8} {:>10} {:>10} {:>6} {:>5} {:>8}  {:<32}  {}\n",
            r.syscall_rate,
            format_count(g("syscalls")),
            format_count(g("openat")),
            format_size(g("write_bytes")),
            format_size(g("read_bytes")),
            format_count(g("fork")),
            r.processes,
            format_duration_ns(g("elapsed_ns")),
            r.id.map_or_else(|| format!("agent:[{}]", r.inode), |i| i.to_string()),
            // Unknown (not readable: another user's process) is "-"; no tag is empty.
            r.intent.as_deref().unwrap_or("-")
        );
    }
    s
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
        let frame = Frame {
            iteration: i,
            interval_s: a.interval.as_secs_f64(),
            sessions: rows(&snap.sessions, &prev, elapsed),
        };
        prev = snap
            .sessions
            .values()
            .filter_map(|s| Some((s.inode, s.counters?.get("syscalls")?)))
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
            write!(out, "{}", table(&frame, snap.sessions.len()))?;
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
        c.set("syscalls", syscalls);
        c.set("elapsed_ns", elapsed_ns);
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

    #[test]
    fn sorted_by_rate() {
        let mut m = BTreeMap::new();
        m.insert(0, info(0, 0, 1));
        m.insert(1, info(1, 1000, 1_000_000_000));
        m.insert(2, info(2, 5000, 1_000_000_000));
        m.insert(3, info(3, 100, 10_000_000_000));
        // First frame: averages since creation; the initial session is left out.
        let r = rows(&m, &BTreeMap::new(), 0.0);
        let order: Vec<u64> = r.iter().map(|r| r.inode).collect();
        assert_eq!(order, [2, 1, 3]);
        assert_eq!(r[0].syscall_rate, 5000.0);
        assert_eq!(r[2].syscall_rate, 10.0);
        // Later frames: deltas over the interval.
        let prev: BTreeMap<u64, u64> = [(1, 0), (2, 4990), (3, 0)].into_iter().collect();
        let r = rows(&m, &prev, 2.0);
        let order: Vec<u64> = r.iter().map(|r| r.inode).collect();
        assert_eq!(order, [1, 3, 2]);
        assert_eq!(r[0].syscall_rate, 500.0);
        let f = Frame {
            iteration: 2,
            interval_s: 2.0,
            sessions: r,
        };
        let t = table(&f, 4);
        assert!(
            t.starts_with("agentns top: 3 sessions with counters, 4 in all"),
            "{t}"
        );
        assert!(
            t.lines().nth(3).unwrap().trim_start().starts_with("500 "),
            "{t}"
        );
        let v = serde_json::to_value(&f).unwrap();
        assert_eq!(v["sessions"][0]["syscall_rate"], 500.0);
        assert_eq!(v["sessions"][0]["counters"]["syscalls"], 1000);
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
            sessions: rows(&m, &BTreeMap::new(), 0.0),
        };
        let t = table(&f, 2);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[3].ends_with("01010101010101010101010101010101  -"),
            "{t}"
        );
        assert!(
            lines[4].ends_with("02020202020202020202020202020202  "),
            "{t}"
        );
        let v = serde_json::to_value(&f).unwrap();
        assert!(v["sessions"][0]["intent"].is_null());
        assert_eq!(v["sessions"][1]["intent"], "");
    }
}
