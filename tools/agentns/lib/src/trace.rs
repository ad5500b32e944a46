// SPDX-License-Identifier: GPL-2.0
//! The `agent_ns:*` tracepoints: enabling them in tracefs and parsing `trace_pipe` lines.
//!
//! Formats (`include/trace/events/agent_ns.h`):
//!
//! ```text
//! agent_session_start: id=ID parent=ID depth=N pid=N uid=N
//! agent_session_end: id=ID syscalls=N openat=N write_bytes=N read_bytes=N connect=N unlink=N fork=N exec=N lifetime_ns=N reason=exit|budget|reaped
//! agent_intent_set: id=ID old="TAG" new="TAG"
//! agent_budget_exceeded: id=ID counter=NAME value=N limit=N action=N
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Op, Result};
use crate::session::Action;

/// The events of the `agent_ns` system.
pub const EVENTS: &[&str] = &[
    "agent_session_start",
    "agent_session_end",
    "agent_intent_set",
    "agent_budget_exceeded",
];

/// Finds tracefs: `/sys/kernel/tracing`, else the old debugfs place.
pub fn tracefs() -> Result<PathBuf> {
    for p in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        match fs::metadata(Path::new(p).join("trace_pipe")) {
            Ok(_) => return Ok(PathBuf::from(p)),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(Error::sys(Op::Tracefs, libc::EACCES, Some(p.into())));
            }
            Err(_) => {}
        }
    }
    Err(Error::sys(
        Op::Tracefs,
        libc::ENOENT,
        Some("/sys/kernel/tracing".into()),
    ))
}

/// Accepts `budget_exceeded` as well as `agent_budget_exceeded`.
pub fn event_name(name: &str) -> Option<&'static str> {
    EVENTS
        .iter()
        .copied()
        .find(|e| *e == name || e.strip_prefix("agent_") == Some(name))
}

fn write(path: &Path, v: &str) -> Result<()> {
    fs::write(path, v).map_err(|e| match e.raw_os_error() {
        Some(errno) => Error::sys(Op::Tracefs, errno, Some(path.display().to_string())),
        None => Error::io(path, e),
    })
}

/// Enables events in tracefs and puts back what was there when dropped.
#[derive(Debug)]
pub struct Enabled {
    saved: Vec<(PathBuf, String)>,
}

impl Enabled {
    /// Enables `events` (all of `agent_ns` when empty).
    pub fn new(tracefs: &Path, events: &[&str]) -> Result<Enabled> {
        let dir = tracefs.join("events/agent_ns");
        if !dir.is_dir() {
            return Err(Error::sys(
                Op::Tracefs,
                libc::ENOENT,
                Some(dir.display().to_string()),
            ));
        }
        let events: Vec<&str> = if events.is_empty() {
            EVENTS.to_vec()
        } else {
            events.to_vec()
        };
        let mut en = Enabled { saved: Vec::new() };
        for e in events {
            let p = dir.join(e).join("enable");
            let old = fs::read_to_string(&p).map_err(|err| match err.raw_os_error() {
                Some(errno) => Error::sys(Op::Tracefs, errno, Some(p.display().to_string())),
                None => Error::io(&p, err),
            })?;
            write(&p, "1")?;
            en.saved.push((p, old.trim().to_string()));
        }
        Ok(en)
    }
}

impl Drop for Enabled {
    fn drop(&mut self) {
        for (p, old) in &self.saved {
            if old == "0" {
                let _ = fs::write(p, "0");
            }
        }
    }
}

/// One `agent_ns` event from `trace_pipe`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Event {
    /// The event name (`agent_budget_exceeded`, ...).
    pub event: String,
    /// The command name of the task that fired it.
    pub comm: String,
    /// Its pid (as seen from the initial pid namespace).
    pub pid: i32,
    /// The cpu.
    pub cpu: u32,
    /// The trace clock timestamp, in seconds.
    pub timestamp: f64,
    /// The fields: numbers as numbers, ids and names as strings.
    pub fields: Map<String, Value>,
}

/// The fields of each event, in order.
const EVENT_FIELDS: &[(&str, &[&str])] = &[
    (
        "agent_session_start",
        &["id", "parent", "depth", "pid", "uid"],
    ),
    (
        "agent_session_end",
        &[
            "id",
            "syscalls",
            "openat",
            "write_bytes",
            "read_bytes",
            "connect",
            "unlink",
            "fork",
            "exec",
            "lifetime_ns",
            "reason",
        ],
    ),
    ("agent_intent_set", &["id", "old", "new"]),
    (
        "agent_budget_exceeded",
        &["id", "counter", "value", "limit", "action"],
    ),
];

/// Splits `key=value key="quoted value" ...`. A quoted value (an intent tag, which may hold
/// spaces and quotes) ends at the first `"` that is followed by the end of the line or by
/// ` key=` for a key that may still come: one of `keys` after the current one, or when `keys`
/// is empty, any name.
pub fn parse_fields(s: &str, keys: &[&str]) -> Option<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut rest = s.trim();
    while !rest.is_empty() {
        let eq = rest.find('=')?;
        let key = &rest[..eq];
        if key.is_empty() || !key.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_') {
            return None;
        }
        let later: &[&str] = match keys.iter().position(|k| *k == key) {
            Some(i) => &keys[i + 1..],
            None => &[],
        };
        let after = &rest[eq + 1..];
        let (value, next) = if let Some(q) = after.strip_prefix('"') {
            let mut end = None;
            for (i, _) in q.match_indices('"') {
                let tail = &q[i + 1..];
                if tail.is_empty() || next_is_key(tail, later, keys.is_empty()) {
                    end = Some(i);
                    break;
                }
            }
            let i = end?;
            (q[..i].to_string(), q[i + 1..].trim_start())
        } else {
            let i = after.find(' ').unwrap_or(after.len());
            (after[..i].to_string(), after[i..].trim_start())
        };
        out.push((key.to_string(), value));
        rest = next;
    }
    Some(out)
}

fn next_is_key(tail: &str, later: &[&str], any: bool) -> bool {
    let Some(t) = tail.strip_prefix(' ') else {
        return false;
    };
    let t = t.trim_start();
    match t.find('=') {
        Some(i) if i > 0 => {
            let k = &t[..i];
            if any {
                k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_')
            } else {
                later.contains(&k)
            }
        }
        _ => false,
    }
}

/// Parses one `trace_pipe` line; `None` for a line that is not an `agent_ns` event.
///
/// ```text
///            <...>-123     [001] d..1.    12.345678: agent_budget_exceeded: id=... counter=syscalls value=11 limit=10 action=2
/// ```
pub fn parse_line(line: &str) -> Option<Event> {
    let (name, at) = EVENTS
        .iter()
        .filter_map(|e| line.find(&format!(": {e}: ")).map(|i| (*e, i)))
        .min_by_key(|(_, i)| *i)?;
    let head = &line[..at];
    let body = &line[at + 2 + name.len() + 2..];
    let open = head.rfind('[')?;
    let close = head[open..].find(']')? + open;
    let cpu: u32 = head[open + 1..close].trim().parse().ok()?;
    let task = head[..open].trim();
    let (comm, pid) = task.rsplit_once('-')?;
    let pid: i32 = pid.parse().ok()?;
    let timestamp: f64 = head[close + 1..].split_whitespace().last()?.parse().ok()?;
    let mut fields = Map::new();
    let keys = EVENT_FIELDS
        .iter()
        .find(|(e, _)| *e == name)
        .map_or(&[][..], |(_, k)| *k);
    for (k, v) in parse_fields(body, keys)? {
        let val = match k.as_str() {
            "id" | "parent" | "old" | "new" | "counter" | "reason" => Value::String(v),
            _ => v
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or(Value::String(v)),
        };
        fields.insert(k, val);
    }
    if name == "agent_budget_exceeded" {
        if let Some(a) = fields
            .get("action")
            .and_then(Value::as_u64)
            .and_then(|a| Action::from_raw(a as u32))
        {
            fields.insert("action_name".into(), Value::String(a.name().into()));
        }
    }
    Some(Event {
        event: name.to_string(),
        comm: comm.to_string(),
        pid,
        cpu,
        timestamp,
        fields,
    })
}

impl Event {
    /// A line for people: `12.345678 budget_exceeded id=... counter=syscalls ... [sh 123]`.
    pub fn human(&self) -> String {
        let mut s = format!(
            "{:.6} {}",
            self.timestamp,
            self.event.strip_prefix("agent_").unwrap_or(&self.event)
        );
        for (k, v) in &self.fields {
            if k == "action_name" {
                continue;
            }
            match (k.as_str(), v) {
                ("action", _) if self.fields.contains_key("action_name") => {
                    s += &format!(
                        " action={}",
                        self.fields["action_name"].as_str().unwrap_or("?")
                    )
                }
                ("old" | "new", Value::String(t)) => s += &format!(" {k}={t:?}"),
                (_, Value::String(t)) => s += &format!(" {k}={t}"),
                (_, v) => s += &format!(" {k}={v}"),
            }
        }
        s + &format!(" [{} {}]", self.comm, self.pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn budget_exceeded_line() {
        let line = format!(
            "              sh-123     [001] d..1.    12.345678: agent_budget_exceeded: id={ID} \
             counter=syscalls value=11 limit=10 action=2"
        );
        let e = parse_line(&line).unwrap();
        assert_eq!(e.event, "agent_budget_exceeded");
        assert_eq!(e.comm, "sh");
        assert_eq!(e.pid, 123);
        assert_eq!(e.cpu, 1);
        assert!((e.timestamp - 12.345678).abs() < 1e-9);
        assert_eq!(e.fields["id"], ID);
        assert_eq!(e.fields["counter"], "syscalls");
        assert_eq!(e.fields["value"], 11);
        assert_eq!(e.fields["limit"], 10);
        assert_eq!(e.fields["action"], 2);
        assert_eq!(e.fields["action_name"], "kill");
        let j = serde_json::to_value(&e).unwrap();
        assert_eq!(j["event"], "agent_budget_exceeded");
        assert_eq!(j["fields"]["value"], 11);
        assert!(e.human().contains("budget_exceeded"));
        assert!(e.human().contains("action=kill"));
        let deny = parse_line(&line.replace("action=2", "action=3")).unwrap();
        assert_eq!(deny.fields["action"], 3);
        assert_eq!(deny.fields["action_name"], "deny");
        assert!(deny.human().contains("action=deny"));
    }

    #[test]
    fn comm_with_dash_and_space_and_no_flags() {
        let line = format!(
            "  kworker/0:1-my job-77 [000]   5.000001: agent_session_start: id={ID} \
             parent=00000000000000000000000000000000 depth=1 pid=77 uid=0"
        );
        let e = parse_line(&line).unwrap();
        assert_eq!(e.comm, "kworker/0:1-my job");
        assert_eq!(e.pid, 77);
        assert_eq!(e.fields["parent"], "00000000000000000000000000000000");
        assert_eq!(e.fields["depth"], 1);
    }

    #[test]
    fn intent_with_quotes_and_spaces() {
        let line = format!(
            "agentns-9 [000] ..... 1.5: agent_intent_set: id={ID} old=\"\" new=\"say \"hi\" x=1\""
        );
        let e = parse_line(&line).unwrap();
        assert_eq!(e.fields["old"], "");
        assert_eq!(e.fields["new"], "say \"hi\" x=1");
    }

    #[test]
    fn session_end_line() {
        let line = format!(
            "<...>-5 [001] ..... 9.0: agent_session_end: id={ID} syscalls=100 openat=2 \
             write_bytes=10 read_bytes=20 connect=0 unlink=0 fork=1 exec=1 lifetime_ns=999 \
             reason=budget"
        );
        let e = parse_line(&line).unwrap();
        assert_eq!(e.comm, "<...>");
        assert_eq!(e.fields["syscalls"], 100);
        assert_eq!(e.fields["reason"], "budget");
        assert_eq!(e.fields.len(), 11);
    }

    #[test]
    fn other_lines_are_not_events() {
        assert!(parse_line("sh-1 [000] ..... 1.0: sys_enter: NR 1").is_none());
        assert!(parse_line("").is_none());
        assert!(parse_line("CPU:1 [LOST 12 EVENTS]").is_none());
    }

    #[test]
    fn event_names() {
        assert_eq!(event_name("budget_exceeded"), Some("agent_budget_exceeded"));
        assert_eq!(event_name("agent_session_end"), Some("agent_session_end"));
        assert_eq!(event_name("nope"), None);
    }
}
