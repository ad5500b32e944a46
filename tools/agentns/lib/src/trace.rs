// SPDX-License-Identifier: GPL-2.0
//! The `agent_ns:*` tracepoints: a private tracefs instance to read them from, filters in the
//! kernel and in user space, lost-event accounting, and parsing `trace_pipe` lines.
//!
//! Formats (`include/trace/events/agent_ns.h`):
//!
//! ```text
//! agent_session_start: id=ID parent=ID depth=N pid=N uid=N
//! agent_session_end: id=ID syscalls=N openat=N write_bytes=N read_bytes=N connect=N unlink=N fork=N exec=N lifetime_ns=N reason=exit|budget|reaped
//! agent_intent_set: id=ID old="TAG" new="TAG"
//! agent_budget_exceeded: id=ID counter=NAME value=N limit=N action=N
//! ```
//!
//! Every event carries the session id as `u8 id[16]`, an array that ftrace filters cannot
//! compare: a session filter is applied in user space ([`Filter`]). The intent is a field of
//! `agent_intent_set` only (`old` and `new`, strings): an intent filter is written to that
//! event's `filter` file in the kernel ([`IntentMatch::kernel_filter`]); the other events are
//! matched in user space against the intent their session has at the time, as the
//! `agent_intent_set` events (and the sessions visible at the start) tell it.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::ErrorKind;
use std::os::fd::OwnedFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Op, Result};
use crate::session::{Action, SessionId};

/// The events of the `agent_ns` system.
pub const EVENTS: &[&str] = &[
    "agent_session_start",
    "agent_session_end",
    "agent_intent_set",
    "agent_budget_exceeded",
];

/// The prefix of the names of the instances `agentns trace` creates: `agentns-PID`.
pub const INSTANCE_PREFIX: &str = "agentns-";

/// Finds tracefs: `/sys/kernel/tracing`, else the old debugfs place.
pub fn tracefs() -> Result<PathBuf> {
    for p in ["/sys/kernel/tracing", "/sys/kernel/debug/tracing"] {
        match fs::metadata(Path::new(p).join("trace_pipe")) {
            Ok(_) => return Ok(PathBuf::from(p)),
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
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

fn tracefs_error(path: &Path, e: std::io::Error) -> Error {
    match e.raw_os_error() {
        Some(errno) => Error::sys(Op::Tracefs, errno, Some(path.display().to_string())),
        None => Error::io(path, e),
    }
}

fn write(path: &Path, v: &str) -> Result<()> {
    fs::write(path, v).map_err(|e| tracefs_error(path, e))
}

/// The options a private instance is given so that `trace_pipe` prints the lines
/// [`parse_line`] reads: an instance starts with the global instance's options (`trace-cmd`
/// may have left `raw` or `hex` on). Each is written only when it differs, and only when the
/// kernel has it. `record-tgid` is left alone: turning it off in any instance clears
/// tgid recording on the enabled events of every instance, the global one included, so
/// [`parse_line`] reads lines with and without the `(TGID)` column instead.
pub const INSTANCE_OPTIONS: &[(&str, &str)] = &[
    ("context-info", "1"),
    ("raw", "0"),
    ("hex", "0"),
    ("bin", "0"),
    ("fields", "0"),
    ("latency-format", "0"),
    ("verbose", "0"),
    ("stacktrace", "0"),
    ("userstacktrace", "0"),
    ("block", "0"),
];

/// A private tracefs instance (`instances/agentns-PID`): its own ring buffer, event switches,
/// filters and options, so that tracing there neither takes events from other readers of the
/// global `trace_pipe` nor changes anything they set up. Dropping it (or [`Instance::remove`])
/// disables its events and removes it; close its `trace_pipe` first (an open file keeps an
/// instance busy).
#[derive(Debug)]
pub struct Instance {
    dir: PathBuf,
    removed: bool,
}

impl Instance {
    /// Creates `instances/agentns-PID` for the calling process. One left by an earlier process
    /// with the same pid is removed first.
    pub fn create(tracefs: &Path) -> Result<Instance> {
        let name = format!("{INSTANCE_PREFIX}{}", std::process::id());
        let dir = tracefs.join("instances").join(name);
        if let Err(e) = fs::create_dir(&dir) {
            if e.kind() != ErrorKind::AlreadyExists {
                return Err(tracefs_error(&dir, e));
            }
            // Not ours (we have not made it yet): left by a dead process that had our pid.
            remove_instance_dir(&dir)?;
            fs::create_dir(&dir).map_err(|e| tracefs_error(&dir, e))?;
        }
        Ok(Instance {
            dir,
            removed: false,
        })
    }

    /// The instance's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Sets [`INSTANCE_OPTIONS`], as far as the kernel has them; returns the options that
    /// could not be set.
    pub fn set_options(&self) -> Vec<String> {
        let mut failed = Vec::new();
        for (name, want) in INSTANCE_OPTIONS {
            let p = self.dir.join("options").join(name);
            let Ok(now) = fs::read_to_string(&p) else {
                continue; // this kernel has no such option
            };
            if now.trim() != *want && fs::write(&p, want).is_err() {
                failed.push(format!("{name}={want}"));
            }
        }
        failed
    }

    /// Writes `buffer_size_kb`: the size of each CPU's ring buffer, in KiB (the kernel rounds
    /// it up to whole pages, two at least).
    pub fn set_buffer_size_kb(&self, kb: u64) -> Result<()> {
        write(&self.dir.join("buffer_size_kb"), &kb.to_string())
    }

    /// Writes `events/agent_ns/EVENT/filter`.
    pub fn set_filter(&self, event: &str, filter: &str) -> Result<()> {
        write(
            &self.dir.join("events/agent_ns").join(event).join("filter"),
            filter,
        )
    }

    /// Enables `events` (all of `agent_ns` when empty) in the instance.
    pub fn enable(&self, events: &[&str]) -> Result<()> {
        let dir = self.dir.join("events/agent_ns");
        if !dir.is_dir() {
            return Err(Error::sys(
                Op::Tracefs,
                libc::ENOENT,
                Some(dir.display().to_string()),
            ));
        }
        let events = if events.is_empty() { EVENTS } else { events };
        for e in events {
            write(&dir.join(e).join("enable"), "1")?;
        }
        Ok(())
    }

    /// Opens the instance's `trace_pipe`, non-blocking.
    pub fn open_pipe(&self) -> Result<OwnedFd> {
        let p = self.dir.join("trace_pipe");
        let f = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(&p)
            .map_err(|e| tracefs_error(&p, e))?;
        Ok(f.into())
    }

    /// The ring buffer's loss counters of each CPU (`per_cpu/cpuN/stats`).
    pub fn cpu_stats(&self) -> Vec<CpuStats> {
        let mut out = Vec::new();
        let Ok(entries) = fs::read_dir(self.dir.join("per_cpu")) else {
            return out;
        };
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(cpu) = name
                .to_str()
                .and_then(|n| n.strip_prefix("cpu"))
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            if let Ok(s) = fs::read_to_string(e.path().join("stats")) {
                out.push(parse_stats(cpu, &s));
            }
        }
        out.sort_by_key(|s| s.cpu);
        out
    }

    /// Disables the instance's events and removes it. Waits up to a second for files of it
    /// that others have open.
    pub fn remove(mut self) -> Result<()> {
        self.remove_now()
    }

    fn remove_now(&mut self) -> Result<()> {
        if self.removed {
            return Ok(());
        }
        self.removed = true;
        disable(&self.dir);
        let mut tries = 0;
        loop {
            match fs::remove_dir(&self.dir) {
                Ok(()) => return Ok(()),
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                Err(e) if e.raw_os_error() == Some(libc::EBUSY) && tries < 50 => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => {
                    return Err(Error::Invalid(format!(
                        "could not remove the tracefs instance {}: {e}; its events are \
                         disabled (rmdir it once nothing holds it open)",
                        self.dir.display()
                    )));
                }
            }
        }
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.remove_now();
    }
}

/// Stops an instance from recording: its events off, its buffer off.
fn disable(dir: &Path) {
    let _ = fs::write(dir.join("events/enable"), "0");
    let _ = fs::write(dir.join("tracing_on"), "0");
}

/// Whether a process the caller can see has a file under `dir` open.
fn held_open(dir: &Path) -> bool {
    let Some(name) = dir.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let needle = format!("/instances/{name}/");
    let Ok(procs) = fs::read_dir("/proc") else {
        return false;
    };
    for p in procs.flatten() {
        let Ok(fds) = fs::read_dir(p.path().join("fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            if fs::read_link(fd.path()).is_ok_and(|l| l.to_string_lossy().contains(&needle)) {
                return true;
            }
        }
    }
    false
}

/// Removes an instance whose owner is gone: rmdir (which disables its events); when the kernel
/// says it is busy and no process the caller can see holds a file of it open, its events are
/// disabled and rmdir is tried again. An instance that is still held open is left alone.
fn remove_instance_dir(dir: &Path) -> Result<()> {
    match fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
        Err(e) if e.raw_os_error() != Some(libc::EBUSY) || held_open(dir) => {
            return Err(tracefs_error(dir, e));
        }
        Err(_) => {}
    }
    disable(dir);
    match fs::remove_dir(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(tracefs_error(dir, e)),
    }
}

/// The pid in an instance name `agentns-PID`.
pub fn instance_pid(name: &str) -> Option<i32> {
    let pid: i32 = name.strip_prefix(INSTANCE_PREFIX)?.parse().ok()?;
    (pid > 0 && name.len() == INSTANCE_PREFIX.len() + pid.to_string().len()).then_some(pid)
}

fn pid_alive(pid: i32) -> bool {
    let Some(pid) = rustix::process::Pid::from_raw(pid) else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e == rustix::io::Errno::PERM,
    }
}

/// Removes the `agentns-PID` instances whose process is gone (an `agentns trace` killed with
/// SIGKILL cannot remove its own). Pids are those of the caller's pid namespace: an instance
/// of an `agentns trace` running in a pid namespace the caller cannot see looks stale, and is
/// left alone only while that process holds its `trace_pipe` open. Returns what could not
/// be removed, and why.
pub fn remove_stale_instances(tracefs: &Path) -> Vec<String> {
    let mut notes = Vec::new();
    let Ok(entries) = fs::read_dir(tracefs.join("instances")) else {
        return notes;
    };
    let me = std::process::id() as i32;
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name.to_str().and_then(instance_pid) else {
            continue;
        };
        if pid == me || pid_alive(pid) {
            continue;
        }
        if let Err(err) = remove_instance_dir(&e.path()) {
            notes.push(format!(
                "left the stale tracefs instance {} of process {pid} alone: {err}",
                e.path().display()
            ));
        }
    }
    notes
}

/// The loss counters of one CPU's ring buffer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuStats {
    /// The CPU.
    pub cpu: u32,
    /// Events overwritten before they were read (`overrun:`; overwrite mode, the default).
    pub overrun: u64,
    /// Events not recorded because the buffer was full (`dropped events:`; overwrite off).
    pub dropped: u64,
}

/// Parses a `per_cpu/cpuN/stats` file.
pub fn parse_stats(cpu: u32, s: &str) -> CpuStats {
    let mut st = CpuStats {
        cpu,
        ..CpuStats::default()
    };
    for line in s.lines() {
        if let Some((k, v)) = line.split_once(':') {
            let v = v.trim().parse().unwrap_or(0);
            match k {
                "overrun" => st.overrun = v,
                "dropped events" => st.dropped = v,
                _ => {}
            }
        }
    }
    st
}

/// A `CPU:N [LOST M EVENTS]` line of `trace_pipe`: the CPU and M (`None` for
/// `CPU:N [LOST EVENTS]`, a loss of unknown size).
pub fn parse_lost_line(line: &str) -> Option<(u32, Option<u64>)> {
    let rest = line.trim().strip_prefix("CPU:")?;
    let (cpu, rest) = rest.split_once(' ')?;
    let cpu = cpu.parse().ok()?;
    let n = rest
        .trim()
        .strip_prefix("[LOST")?
        .strip_suffix("EVENTS]")?
        .trim();
    if n.is_empty() {
        Some((cpu, None))
    } else {
        Some((cpu, Some(n.parse().ok()?)))
    }
}

/// Counts lost events from both sources without counting one twice: the `[LOST N EVENTS]`
/// lines of `trace_pipe` and the `overrun` counters report the same overwritten events, so a
/// CPU's loss is the larger of the two, plus the `dropped events` (which the pipe does not
/// report).
#[derive(Clone, Debug, Default)]
pub struct Losses {
    cpus: BTreeMap<u32, (u64, CpuStats)>,
    reported: u64,
}

impl Losses {
    /// A `[LOST N EVENTS]` line; one of unknown size counts as one.
    pub fn pipe_lost(&mut self, cpu: u32, n: Option<u64>) {
        self.cpus.entry(cpu).or_default().0 += n.unwrap_or(1);
    }

    /// The counters read from `per_cpu/cpuN/stats`.
    pub fn stats(&mut self, st: CpuStats) {
        let e = &mut self.cpus.entry(st.cpu).or_default().1;
        e.cpu = st.cpu;
        e.overrun = e.overrun.max(st.overrun);
        e.dropped = e.dropped.max(st.dropped);
    }

    /// Every event lost so far.
    pub fn total(&self) -> u64 {
        self.cpus
            .values()
            .map(|(pipe, st)| (*pipe).max(st.overrun) + st.dropped)
            .sum()
    }

    /// The events lost since the last call.
    pub fn take_new(&mut self) -> u64 {
        let t = self.total();
        let new = t.saturating_sub(self.reported);
        self.reported = self.reported.max(t);
        new
    }
}

/// Shell-style matching as the kernel's glob_match() (lib/glob.c), which ftrace filters use
/// for `~`: `*`, `?`, `[abc]`, `[a-z]`, `[!a-z]`, `\` quotes the next character; an unclosed
/// `[` is a literal. Unlike fnmatch(3), `[^a]` is not a complement.
pub fn glob_match(pat: &str, s: &str) -> bool {
    let (p, s) = (pat.as_bytes(), s.as_bytes());
    let at = |v: &[u8], i: usize| v.get(i).copied().unwrap_or(0);
    let (mut pi, mut si) = (0usize, 0usize);
    // After the last `*`: where the pattern goes on, and where in `s` that is tried.
    let mut back: Option<(usize, usize)> = None;
    loop {
        // 0 stands for the end, as the NUL in the kernel's loop.
        let c = at(s, si);
        let mut d = at(p, pi);
        pi += 1;
        si += 1;
        let ok = match d {
            b'?' => c != 0,
            b'*' => {
                if at(p, pi) == 0 {
                    return true;
                }
                si -= 1;
                back = Some((pi, si));
                continue;
            }
            b'[' if c == 0 => return false,
            b'[' => match glob_class(p, pi, c) {
                Some((true, end)) => {
                    pi = end;
                    true
                }
                Some((false, _)) => false,
                None => c == b'[', // unclosed: a literal
            },
            _ => {
                if d == b'\\' {
                    d = at(p, pi);
                    pi += 1;
                }
                if c == d && d == 0 {
                    return true;
                }
                c == d
            }
        };
        if ok {
            continue;
        }
        match back {
            Some((bp, bs)) if c != 0 => {
                pi = bp;
                si = bs + 1;
                back = Some((bp, bs + 1));
            }
            _ => return false,
        }
    }
}

/// The class `[...]` whose first byte after `[` is at `pi`: whether `c` is in it and where
/// the pattern goes on, or `None` when it is not closed.
fn glob_class(p: &[u8], pi: usize, c: u8) -> Option<(bool, usize)> {
    let at = |i: usize| p.get(i).copied().unwrap_or(0);
    let inverted = at(pi) == b'!';
    let mut i = if inverted { pi + 1 } else { pi };
    let mut a = at(i);
    i += 1;
    let mut hit = false;
    loop {
        let mut b = a;
        if a == 0 {
            return None;
        }
        if at(i) == b'-' && at(i + 1) != b']' {
            b = at(i + 1);
            if b == 0 {
                return None;
            }
            i += 2;
        }
        hit |= a <= c && c <= b;
        a = at(i);
        i += 1;
        if a == b']' {
            return Some((hit != inverted, i));
        }
    }
}

/// An `--intent` argument: a tag, or a glob when it has `*`, `?`, `[` or `\`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IntentMatch {
    pattern: String,
    glob: bool,
}

impl IntentMatch {
    /// The match for `pattern`.
    pub fn new(pattern: &str) -> IntentMatch {
        IntentMatch {
            pattern: pattern.to_string(),
            glob: pattern.contains(['*', '?', '[', '\\']),
        }
    }

    /// Whether `intent` matches.
    pub fn matches(&self, intent: &str) -> bool {
        if self.glob {
            glob_match(&self.pattern, intent)
        } else {
            self.pattern == intent
        }
    }

    /// The ftrace filter for `agent_intent_set` that keeps the changes into or out of a
    /// matching intent: `old == "TAG" || new == "TAG"` (`~` for a glob). `None` when the
    /// kernel cannot say it: a pattern with both kinds of quotes (a filter string has no
    /// escapes), one of 256 characters or more, or a glob that starts with `!` (the kernel
    /// negates it) or with a digit (the kernel compares it as a plain string).
    pub fn kernel_filter(&self) -> Option<String> {
        let p = &self.pattern;
        let q = if !p.contains('"') {
            '"'
        } else if !p.contains('\'') {
            '\''
        } else {
            return None;
        };
        if p.len() >= 256 {
            return None;
        }
        let op = if self.glob {
            if p.starts_with('!') || p.starts_with(|c: char| c.is_ascii_digit()) {
                return None;
            }
            "~"
        } else {
            "=="
        };
        Some(format!("old {op} {q}{p}{q} || new {op} {q}{p}{q}"))
    }
}

/// Checks a `--session` argument: a session id (32 hexadecimal digits) or the start of one
/// (4 digits at least); returns it in lower case.
pub fn session_arg(s: &str) -> Result<String> {
    if (4..=32).contains(&s.len()) && s.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(s.to_ascii_lowercase())
    } else {
        Err(Error::Invalid(format!(
            "{s:?} is neither a session id (32 hexadecimal digits) nor the start of one (4 \
             digits at least)"
        )))
    }
}

/// The session that `arg` (from [`session_arg`]) names: itself when it is a whole id, else
/// the one session among `ids` whose id starts with it.
pub fn resolve_session(arg: &str, ids: &[SessionId]) -> Result<SessionId> {
    if arg.len() == 32 {
        return arg.parse();
    }
    let mut found: Vec<SessionId> = ids
        .iter()
        .filter(|id| id.to_string().starts_with(arg))
        .copied()
        .collect();
    found.sort_by_key(|id| id.0);
    found.dedup();
    match found.as_slice() {
        [id] => Ok(*id),
        [] => Err(Error::Invalid(format!(
            "no session the caller can see has an id starting with {arg} (a session without \
             a visible process needs its whole id)"
        ))),
        many => Err(Error::Invalid(format!(
            "{arg} starts the ids of {} sessions ({}); give more digits",
            many.len(),
            many.iter()
                .map(|id| id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// What `agentns trace` shows: some events, of one session, of sessions with some intent.
/// The kernel filters what it can ([`Filter::kernel_filters`]); [`Filter::accept`] applies
/// everything to each event read.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    events: Vec<&'static str>,
    session: Option<String>,
    intent: Option<IntentMatch>,
    /// The intent of each session, as far as known: from the sessions visible at the start
    /// ([`Filter::learn_intent`]) and the `agent_intent_set` events.
    intents: HashMap<String, String>,
}

impl Filter {
    /// Shows `events` (every event when empty), of the session `session` (a whole id) only,
    /// of sessions whose intent matches `intent` only.
    pub fn new(
        events: &[&'static str],
        session: Option<SessionId>,
        intent: Option<IntentMatch>,
    ) -> Filter {
        Filter {
            events: events.to_vec(),
            session: session.map(|s| s.to_string()),
            intent,
            intents: HashMap::new(),
        }
    }

    /// The events to enable: those shown, and `agent_intent_set` under an intent filter
    /// (to follow which sessions have a matching intent).
    pub fn enabled_events(&self) -> Vec<&'static str> {
        let mut v = if self.events.is_empty() {
            EVENTS.to_vec()
        } else {
            self.events.clone()
        };
        if self.intent.is_some() && !v.contains(&"agent_intent_set") {
            v.push("agent_intent_set");
        }
        v
    }

    /// The filters to write to `events/agent_ns/EVENT/filter`: the intent filter of
    /// `agent_intent_set`, the only event with the intent among its fields. Nothing for the
    /// session: every event has the id as a byte array, which ftrace filters cannot compare.
    pub fn kernel_filters(&self) -> Vec<(&'static str, String)> {
        self.intent
            .as_ref()
            .and_then(IntentMatch::kernel_filter)
            .map(|f| ("agent_intent_set", f))
            .into_iter()
            .collect()
    }

    /// Records the intent of a session seen outside the events.
    pub fn learn_intent(&mut self, id: SessionId, intent: &str) {
        if self.intent.is_some() {
            self.intents.insert(id.to_string(), intent.to_string());
        }
    }

    /// Whether to show `ev`; follows intent changes.
    pub fn accept(&mut self, ev: &Event) -> bool {
        let id = ev.fields.get("id").and_then(Value::as_str).unwrap_or("");
        let intent_ok = match &self.intent {
            None => true,
            Some(m) if ev.event == "agent_intent_set" => {
                let s = |k: &str| ev.fields.get(k).and_then(Value::as_str).unwrap_or("");
                let ok = m.matches(s("old")) || m.matches(s("new"));
                self.intents.insert(id.to_string(), s("new").to_string());
                ok
            }
            // A session not known has had no intent change since the start: a new one
            // (intents start empty), or one that was not visible then.
            Some(m) => m.matches(self.intents.get(id).map_or("", String::as_str)),
        };
        if ev.event == "agent_session_end" {
            self.intents.remove(id);
        }
        intent_ok
            && self.session.as_ref().is_none_or(|s| s == id)
            && (self.events.is_empty() || self.events.contains(&ev.event.as_str()))
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

/// `COMM-PID` without the `(TGID)` column that `options/record-tgid` adds (`(  123)`, or
/// `(-------)` when the tgid is not known).
fn strip_tgid(task: &str) -> &str {
    let t = task.trim_end();
    if let Some(inner) = t.strip_suffix(')') {
        if let Some(open) = inner.rfind('(') {
            let tgid = inner[open + 1..].trim();
            let before = &inner[..open];
            if !tgid.is_empty()
                && (tgid.bytes().all(|c| c.is_ascii_digit()) || tgid.bytes().all(|c| c == b'-'))
                && before.ends_with(' ')
            {
                return before.trim_end();
            }
        }
    }
    t
}

/// Parses one `trace_pipe` line; `None` for a line that is not an `agent_ns` event. Lines
/// with and without the `irq-info` flags and the `record-tgid` column are read.
///
/// ```text
///            <...>-123     [001] d..1.    12.345678: agent_budget_exceeded: id=... counter=syscalls value=11 limit=10 action=2
///               sh-123     (    123) [001] .....    12.345678: agent_intent_set: id=... old="" new="x"
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
    let task = strip_tgid(&head[..open]).trim();
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
    fn tgid_column() {
        let line = format!(
            "              sh-123     (    120) [001] d..1.    12.345678: agent_intent_set: \
             id={ID} old=\"\" new=\"x\""
        );
        let e = parse_line(&line).unwrap();
        assert_eq!((e.comm.as_str(), e.pid, e.cpu), ("sh", 123, 1));
        assert_eq!(e.fields["new"], "x");
        let line = format!(
            "<...>-9 (-------) [000] 3.5: agent_session_end: id={ID} syscalls=1 openat=0 \
             write_bytes=0 read_bytes=0 connect=0 unlink=0 fork=0 exec=0 lifetime_ns=5 reason=exit"
        );
        let e = parse_line(&line).unwrap();
        assert_eq!((e.comm.as_str(), e.pid, e.cpu), ("<...>", 9, 0));
        // no irq-info, tgid on; a comm with parentheses of its own
        let line = format!(
            "my (job)-77 (     77) [002]   5.0: agent_session_start: id={ID} parent={ID} \
             depth=1 pid=77 uid=0"
        );
        let e = parse_line(&line).unwrap();
        assert_eq!((e.comm.as_str(), e.pid, e.cpu), ("my (job)", 77, 2));
        assert_eq!(strip_tgid("a(1)-5"), "a(1)-5");
        assert_eq!(strip_tgid("a-5 (x)"), "a-5 (x)");
    }

    #[test]
    fn lost_lines_and_stats() {
        assert_eq!(
            parse_lost_line("CPU:1 [LOST 12 EVENTS]"),
            Some((1, Some(12)))
        );
        assert_eq!(parse_lost_line("CPU:0 [LOST EVENTS]"), Some((0, None)));
        assert_eq!(parse_lost_line("CPU:x [LOST 1 EVENTS]"), None);
        assert_eq!(
            parse_lost_line(&format!("sh-1 [000] 1.0: agent_intent_set: id={ID}")),
            None
        );
        let st = parse_stats(
            3,
            "entries: 5\noverrun: 7\ncommit overrun: 100\nbytes: 1\noldest event ts: 1.0\n\
             now ts: 2.0\ndropped events: 2\nread events: 9\n",
        );
        assert_eq!(
            st,
            CpuStats {
                cpu: 3,
                overrun: 7,
                dropped: 2
            }
        );
        let mut l = Losses::default();
        assert_eq!(l.take_new(), 0);
        l.pipe_lost(0, Some(5));
        assert_eq!(l.take_new(), 5);
        // the same overwritten events, counted by the ring buffer: not twice
        l.stats(CpuStats {
            cpu: 0,
            overrun: 5,
            dropped: 0,
        });
        assert_eq!(l.take_new(), 0);
        l.stats(CpuStats {
            cpu: 0,
            overrun: 8,
            dropped: 1,
        });
        l.stats(CpuStats {
            cpu: 1,
            overrun: 2,
            dropped: 0,
        });
        assert_eq!(l.take_new(), 6);
        l.pipe_lost(1, None);
        assert_eq!(l.take_new(), 0);
        assert_eq!(l.total(), 11);
    }

    #[test]
    fn kernel_globs() {
        for (p, t) in [
            ("*", ""),
            ("*", "abc"),
            ("a*c", "abbbc"),
            ("a*c", "ac"),
            ("a?c", "abc"),
            ("*-*-*", "a-b-c"),
            ("[ab]x", "bx"),
            ("[a-c]x", "cx"),
            ("[!a-c]x", "dx"),
            ("[]]", "]"),
            ("[!]]", "a"),
            ("x[", "x["),
            ("a\\*", "a*"),
            ("ticket-[0-9][0-9]*", "ticket-4711"),
            ("*a*b*", "xxaxxbxx"),
            ("[^a]x", "^x"),
            ("", ""),
        ] {
            assert!(glob_match(p, t), "{p:?} should match {t:?}");
        }
        for (p, t) in [
            ("", "a"),
            ("a", ""),
            ("a*c", "abd"),
            ("a?c", "ac"),
            ("[ab]x", "cx"),
            ("[!a-c]x", "bx"),
            ("a\\*", "ab"),
            ("*a*b", "xxbxxa"),
            ("[^a]x", "bx"),
            ("?", ""),
        ] {
            assert!(!glob_match(p, t), "{p:?} should not match {t:?}");
        }
    }

    #[test]
    fn intent_filters() {
        let m = IntentMatch::new("ticket-1");
        assert!(m.matches("ticket-1") && !m.matches("ticket-12"));
        assert_eq!(
            m.kernel_filter().unwrap(),
            r#"old == "ticket-1" || new == "ticket-1""#
        );
        let g = IntentMatch::new("ticket-*");
        assert!(g.matches("ticket-12") && !g.matches("other"));
        assert_eq!(
            g.kernel_filter().unwrap(),
            r#"old ~ "ticket-*" || new ~ "ticket-*""#
        );
        assert_eq!(
            IntentMatch::new(r#"say "hi""#).kernel_filter().unwrap(),
            r#"old == 'say "hi"' || new == 'say "hi"'"#
        );
        assert_eq!(IntentMatch::new(r#"it's "x""#).kernel_filter(), None);
        assert_eq!(IntentMatch::new("!x*").kernel_filter(), None);
        assert_eq!(IntentMatch::new("1*").kernel_filter(), None);
        assert!(IntentMatch::new("1x").kernel_filter().is_some());
    }

    #[test]
    fn session_args() {
        assert_eq!(session_arg("ABCD").unwrap(), "abcd");
        assert!(session_arg("abc").is_err());
        assert!(session_arg("abcg").is_err());
        assert!(session_arg(&format!("{ID}0")).is_err());
        let a: SessionId = ID.parse().unwrap();
        let b: SessionId = "0123ffff0000000000000000000000ff".parse().unwrap();
        assert_eq!(resolve_session("01234567", &[a, b, a]).unwrap(), a);
        assert_eq!(resolve_session(ID, &[]).unwrap(), a);
        let e = resolve_session("0123", &[a, b]).unwrap_err().to_string();
        assert!(e.contains("2 sessions"), "{e}");
        assert!(resolve_session("ffff", &[a, b]).is_err());
    }

    fn ev(event: &str, id: &str, extra: &[(&str, &str)]) -> Event {
        let mut fields = Map::new();
        fields.insert("id".into(), Value::String(id.into()));
        for (k, v) in extra {
            fields.insert((*k).into(), Value::String((*v).into()));
        }
        Event {
            event: event.into(),
            comm: "sh".into(),
            pid: 1,
            cpu: 0,
            timestamp: 1.0,
            fields,
        }
    }

    #[test]
    fn user_space_filters() {
        let a: SessionId = ID.parse().unwrap();
        let other = "ffffffffffffffffffffffffffffffff";
        let mut f = Filter::new(&["agent_budget_exceeded"], None, None);
        assert_eq!(f.enabled_events(), ["agent_budget_exceeded"]);
        assert!(f.kernel_filters().is_empty());
        assert!(f.accept(&ev("agent_budget_exceeded", ID, &[])));
        assert!(!f.accept(&ev("agent_session_end", ID, &[])));

        let mut f = Filter::new(&[], Some(a), None);
        assert_eq!(f.enabled_events(), EVENTS);
        assert!(f.accept(&ev("agent_session_end", ID, &[])));
        assert!(!f.accept(&ev("agent_session_end", other, &[])));

        let mut f = Filter::new(
            &["agent_budget_exceeded"],
            None,
            Some(IntentMatch::new("job-*")),
        );
        assert_eq!(
            f.enabled_events(),
            ["agent_budget_exceeded", "agent_intent_set"]
        );
        assert_eq!(f.kernel_filters()[0].0, "agent_intent_set");
        f.learn_intent(a, "job-1");
        assert!(f.accept(&ev("agent_budget_exceeded", ID, &[])));
        assert!(!f.accept(&ev("agent_budget_exceeded", other, &[])));
        // other's intent changes to a matching one: the change is not shown (not asked for)
        assert!(!f.accept(&ev(
            "agent_intent_set",
            other,
            &[("old", ""), ("new", "job-2")]
        )));
        assert!(f.accept(&ev("agent_budget_exceeded", other, &[])));
        // and away from it
        f.accept(&ev(
            "agent_intent_set",
            other,
            &[("old", "job-2"), ("new", "x")],
        ));
        assert!(!f.accept(&ev("agent_budget_exceeded", other, &[])));

        let mut f = Filter::new(&[], None, Some(IntentMatch::new("x")));
        assert!(f.accept(&ev(
            "agent_intent_set",
            other,
            &[("old", "x"), ("new", "y")]
        )));
        assert!(!f.accept(&ev("agent_session_start", ID, &[])));
    }

    #[test]
    fn instance_names() {
        assert_eq!(instance_pid("agentns-123"), Some(123));
        assert_eq!(instance_pid("agentns-0"), None);
        assert_eq!(instance_pid("agentns-0123"), None);
        assert_eq!(instance_pid("agentns-12x"), None);
        assert_eq!(instance_pid("foo-12"), None);
    }

    /// A scratch directory laid out as tracefs.
    fn fake_tracefs(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("agentns-trace-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(d.join("instances")).unwrap();
        d
    }

    #[test]
    fn stale_instances_are_removed() {
        let fs_dir = fake_tracefs("stale");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let me = std::process::id();
        for n in [
            format!("agentns-{dead}"),
            format!("agentns-{me}"),
            "agentns-1".into(),
            "other".into(),
        ] {
            fs::create_dir(fs_dir.join("instances").join(n)).unwrap();
        }
        assert!(remove_stale_instances(&fs_dir).is_empty());
        let mut left: Vec<String> = fs::read_dir(fs_dir.join("instances"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        let mut want = vec![format!("agentns-{me}"), "agentns-1".into(), "other".into()];
        want.sort();
        assert_eq!(left, want);
        // Our own name, left by an earlier process with our pid: made anew.
        let inst = Instance::create(&fs_dir).unwrap();
        assert_eq!(
            inst.dir(),
            fs_dir.join("instances").join(format!("agentns-{me}"))
        );
        assert!(inst.enable(&[]).is_err()); // no events/agent_ns here
        assert!(inst.set_options().is_empty()); // no options here
        fs::create_dir_all(inst.dir().join("per_cpu/cpu1")).unwrap();
        fs::create_dir_all(inst.dir().join("per_cpu/cpu0")).unwrap();
        fs::write(inst.dir().join("per_cpu/cpu1/stats"), "overrun: 4\n").unwrap();
        fs::write(inst.dir().join("per_cpu/cpu0/stats"), "dropped events: 2\n").unwrap();
        let st = inst.cpu_stats();
        assert_eq!(st.len(), 2);
        assert_eq!(
            (st[0].cpu, st[0].dropped, st[1].cpu, st[1].overrun),
            (0, 2, 1, 4)
        );
        // Dropping it tries to remove it (here not empty: disable() wrote tracing_on).
        let dir = inst.dir().to_path_buf();
        drop(inst);
        assert!(dir.join("tracing_on").exists());
        fs::remove_dir_all(&fs_dir).unwrap();
    }

    #[test]
    fn event_names() {
        assert_eq!(event_name("budget_exceeded"), Some("agent_budget_exceeded"));
        assert_eq!(event_name("agent_session_end"), Some("agent_session_end"));
        assert_eq!(event_name("nope"), None);
    }
}
