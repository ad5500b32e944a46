// SPDX-License-Identifier: GPL-2.0
//! `agentns export`: the sessions' counters, limits, depth, intent and age as Prometheus
//! metrics (the text exposition format, version 0.0.4), served over HTTP, written to a file
//! for node_exporter's textfile collector, or printed once.
//!
//! Every series has a `session` label: the session id whole, 32 lowercase hexadecimal digits,
//! which is exactly the size and the form of an OpenTelemetry (W3C Trace Context) trace-id,
//! so that a trace whose trace-id is the session id joins with the session's metrics. The
//! initial session (id all zeros, which is also an invalid trace-id) is left out.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use agentns::listing::{SessionInfo, Snapshot};
use agentns::{Budget, Counter, Counters, SessionId, select};

use super::Result;
use crate::cli::ExportArgs;

/// The content type of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The counters exported as `agentns_session_<NAME>_total`, with their help texts.
const COUNTERS: &[(Counter, &str)] = &[
    (
        Counter::Syscalls,
        "System calls entered (and io_uring submissions) by the session and the sessions below it.",
    ),
    (
        Counter::Openat,
        "Files opened by the session and the sessions below it.",
    ),
    (
        Counter::WriteBytes,
        "Bytes written, through any interface, by the session and the sessions below it.",
    ),
    (
        Counter::ReadBytes,
        "Bytes read, through any interface, by the session and the sessions below it.",
    ),
    (
        Counter::Connect,
        "Connects by the session and the sessions below it.",
    ),
    (
        Counter::Unlink,
        "Files removed by the session and the sessions below it.",
    ),
    (
        Counter::Fork,
        "Tasks (processes and threads) created by the session and the sessions below it.",
    ),
    (
        Counter::Exec,
        "Programs executed by the session and the sessions below it.",
    ),
];

/// The `counter` label of the elapsed-time limit: it compares with
/// `agentns_session_age_seconds`, and is in seconds like it.
const AGE_LIMIT: &str = "age_seconds";

/// What is exported of one session.
#[derive(Clone, Debug, Default)]
pub struct Sample {
    /// The session id.
    pub id: SessionId,
    /// The parent's id, when visible and not the initial session.
    pub parent: Option<SessionId>,
    /// The intent tag, when readable.
    pub intent: Option<String>,
    /// Its depth, when known.
    pub depth: Option<u32>,
    /// Processes in the session itself.
    pub processes: usize,
    /// Its counters (subtree included), when readable.
    pub counters: Option<Counters>,
    /// Its own budget, when readable.
    pub budget: Option<Budget>,
}

/// What one scrape found: the sessions exported, and how many more there were.
#[derive(Clone, Debug, Default)]
pub struct Scrape {
    /// The sessions exported.
    pub samples: Vec<Sample>,
    /// The sessions left out past `--max-sessions`.
    pub dropped: usize,
}

/// A label value escaped for the text format: backslash, double quote and newline.
pub fn escape_label(v: &str) -> String {
    let mut s = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => s.push_str("\\\\"),
            '"' => s.push_str("\\\""),
            '\n' => s.push_str("\\n"),
            c => s.push(c),
        }
    }
    s
}

/// A HELP text escaped for the text format: backslash and newline.
fn escape_help(v: &str) -> String {
    v.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Seconds from nanoseconds, as the text format writes a float.
fn seconds(ns: u64) -> String {
    let s = ns / 1_000_000_000;
    let frac = ns % 1_000_000_000;
    if frac == 0 {
        s.to_string()
    } else {
        format!("{s}.{frac:09}").trim_end_matches('0').to_string()
    }
}

/// Writes the text exposition format: a HELP and a TYPE line for every family, then its
/// samples, families one after the other.
struct Writer {
    out: String,
}

impl Writer {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP {name} {}", escape_help(help));
        let _ = writeln!(self.out, "# TYPE {name} {kind}");
    }

    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: &str) {
        self.out.push_str(name);
        if !labels.is_empty() {
            self.out.push('{');
            for (i, (k, v)) in labels.iter().enumerate() {
                if i > 0 {
                    self.out.push(',');
                }
                let _ = write!(self.out, "{k}=\"{}\"", escape_label(v));
            }
            self.out.push('}');
        }
        let _ = writeln!(self.out, " {value}");
    }
}

/// The metrics of a scrape in the text exposition format.
pub fn render(scrape: &Scrape) -> String {
    let mut w = Writer { out: String::new() };
    let ids: Vec<String> = scrape.samples.iter().map(|s| s.id.to_string()).collect();
    let each = |w: &mut Writer, name: &str, f: &dyn Fn(&Sample) -> Option<String>| {
        for (s, id) in scrape.samples.iter().zip(&ids) {
            if let Some(v) = f(s) {
                w.sample(name, &[("session", id)], &v);
            }
        }
    };

    w.family(
        "agentns_sessions",
        "gauge",
        "Live sessions found, the initial session not counted, exported or not.",
    );
    w.sample(
        "agentns_sessions",
        &[],
        &(scrape.samples.len() + scrape.dropped).to_string(),
    );
    w.family(
        "agentns_sessions_dropped",
        "gauge",
        "Sessions left out of this scrape past --max-sessions (the deepest and newest).",
    );
    w.sample("agentns_sessions_dropped", &[], &scrape.dropped.to_string());

    w.family(
        "agentns_session_info",
        "gauge",
        "1 for each live session, with its intent tag and its parent's id as labels.",
    );
    for (s, id) in scrape.samples.iter().zip(&ids) {
        let parent = s.parent.map(|p| p.to_string());
        let mut labels = vec![("session", id.as_str())];
        if let Some(i) = &s.intent {
            labels.push(("intent", i));
        }
        if let Some(p) = &parent {
            labels.push(("parent", p));
        }
        w.sample("agentns_session_info", &labels, "1");
    }

    w.family(
        "agentns_session_depth",
        "gauge",
        "Nesting depth of the session: 1 for a session created in the initial session.",
    );
    each(&mut w, "agentns_session_depth", &|s| {
        s.depth.map(|d| d.to_string())
    });
    w.family(
        "agentns_session_processes",
        "gauge",
        "Processes in the session itself (not in the sessions below it).",
    );
    each(&mut w, "agentns_session_processes", &|s| {
        Some(s.processes.to_string())
    });
    w.family(
        "agentns_session_age_seconds",
        "gauge",
        "Time since the session was created (CLOCK_BOOTTIME).",
    );
    each(&mut w, "agentns_session_age_seconds", &|s| {
        s.counters.map(|c| c.get(Counter::ElapsedNs)).map(seconds)
    });

    for &(counter, help) in COUNTERS {
        let name = format!("agentns_session_{}_total", counter.name());
        w.family(&name, "counter", help);
        each(&mut w, &name, &|s| {
            s.counters.map(|c| c.get(counter).to_string())
        });
    }

    w.family(
        "agentns_session_limit",
        "gauge",
        "The session's own budget limits, by the counter they limit (agentns_session_<counter>_total; \
         age_seconds, in seconds, for the elapsed-time limit); limits not set are left out.",
    );
    for (s, id) in scrape.samples.iter().zip(&ids) {
        let Some(b) = &s.budget else { continue };
        for (name, v) in b.limits() {
            if v == 0 {
                continue;
            }
            let (label, value) = if name == Counter::ElapsedNs {
                (AGE_LIMIT, seconds(v))
            } else {
                (name.name(), v.to_string())
            };
            w.sample(
                "agentns_session_limit",
                &[("session", id), ("counter", label)],
                &value,
            );
        }
    }
    w.out
}

/// The sessions to export from a snapshot: one entry per id (the initial session and sessions
/// without a readable id left out), processes merged, the shallowest and oldest first; at most
/// `max`, and how many more there were.
pub fn choose(snap: &Snapshot, max: usize) -> (Vec<SessionInfo>, usize) {
    let mut by_id: BTreeMap<SessionId, SessionInfo> = BTreeMap::new();
    for s in snap.sessions.values() {
        let Some(id) = s.id else { continue };
        if s.initial || id.is_initial() {
            continue;
        }
        match by_id.get_mut(&id) {
            None => {
                by_id.insert(id, s.clone());
            }
            Some(e) => {
                // The entry found by inode carries the tree; one found by id only, processes.
                let mut pids = e.pids.clone();
                pids.extend(&s.pids);
                if e.inode == 0 && s.inode != 0 {
                    *e = s.clone();
                }
                pids.sort_unstable();
                pids.dedup();
                e.pids = pids;
                if e.intent.is_none() {
                    e.intent = s.intent.clone();
                }
                if e.counters.is_none() {
                    e.counters = s.counters;
                }
            }
        }
    }
    let mut v: Vec<SessionInfo> = by_id.into_values().collect();
    v.sort_by_key(|s| {
        (
            s.depth.unwrap_or(u32::MAX),
            s.ns_id.unwrap_or(u64::MAX),
            s.id,
        )
    });
    let dropped = v.len().saturating_sub(max);
    v.truncate(max);
    (v, dropped)
}

/// Looks at every live session now.
fn scrape(max: usize) -> agentns::Result<Scrape> {
    let snap = Snapshot::collect()?;
    let (chosen, dropped) = choose(&snap, max);
    let samples = chosen
        .iter()
        .map(|s| {
            let file = select::open(s).ok();
            let info = file.as_ref().and_then(|f| f.info().ok());
            let parent = s
                .parent_inode
                .and_then(|p| snap.sessions.get(&p))
                .and_then(|p| p.id)
                .or(info.as_ref().map(|i| i.parent_id))
                .filter(|p| !p.is_initial());
            Sample {
                id: s.id.unwrap_or_default(),
                parent,
                intent: s.intent.clone(),
                depth: s.depth.or(info.as_ref().map(|i| i.depth)),
                processes: s.pids.len(),
                counters: s
                    .counters
                    .or_else(|| file.as_ref().and_then(|f| f.counters().ok())),
                budget: file.as_ref().and_then(|f| f.budget().ok()),
            }
        })
        .collect();
    Ok(Scrape { samples, dropped })
}

/// Writes `text` to `path` atomically: to a temporary file in the same directory (whose name
/// does not end in `.prom`, so node_exporter skips it), then renamed over `path`.
pub fn write_atomic(path: &Path, text: &str) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = path.with_file_name(tmp_name);
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// An HTTP response: status line, content type and body.
#[derive(Debug, PartialEq, Eq)]
pub struct Response {
    /// `200 OK`, `404 Not Found`, ...
    pub status: &'static str,
    /// The Content-Type.
    pub content_type: &'static str,
    /// The body (left out for HEAD).
    pub body: String,
    /// Whether the body is sent (not for HEAD).
    pub send_body: bool,
}

fn plain(status: &'static str, body: &str) -> Response {
    Response {
        status,
        content_type: "text/plain; charset=utf-8",
        body: format!("{body}\n"),
        send_body: true,
    }
}

/// Answers a request line (`GET /metrics HTTP/1.1`): the metrics for GET or HEAD of
/// `/metrics` (any query string), 404 for other paths, 405 for other methods.
pub fn respond(request_line: &str, metrics: impl FnOnce() -> agentns::Result<String>) -> Response {
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return plain("400 Bad Request", "bad request");
    };
    let path = target.split(['?', '#']).next().unwrap_or("");
    if path != "/metrics" {
        return plain("404 Not Found", "not found: the metrics are at /metrics");
    }
    if method != "GET" && method != "HEAD" {
        return plain("405 Method Not Allowed", "only GET and HEAD");
    }
    let mut r = match metrics() {
        Ok(body) => Response {
            status: "200 OK",
            content_type: CONTENT_TYPE,
            body,
            send_body: true,
        },
        Err(e) => plain("500 Internal Server Error", &format!("agentns: {e}")),
    };
    r.send_body = method == "GET";
    r
}

/// Reads one request from `stream` and answers it; the connection is closed after.
pub fn handle(
    stream: TcpStream,
    metrics: impl FnOnce() -> agentns::Result<String>,
) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(&stream).take(16 * 1024);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // The headers, up to the empty line (ignored).
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 || line.trim_end().is_empty() {
            break;
        }
    }
    let r = respond(request_line.trim_end(), metrics);
    let mut out = &stream;
    write!(
        out,
        "HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        r.status,
        r.content_type,
        r.body.len()
    )?;
    if r.send_body {
        out.write_all(r.body.as_bytes())?;
    }
    out.flush()
}

/// Runs `agentns export`.
pub fn export(a: ExportArgs) -> Result {
    agentns::session::ensure_supported()?;
    let max = a.max_sessions;
    let text = || scrape(max).map(|s| render(&s));
    if let Some(addr) = a.listen {
        // A client that goes away mid-answer must not kill the server.
        // SAFETY: a plain disposition change, before any thread is started.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_IGN) };
        let l = TcpListener::bind(addr).map_err(|e| format!("listen on {addr}: {e}"))?;
        eprintln!(
            "agentns: serving the metrics on http://{}/metrics",
            l.local_addr()?
        );
        for conn in l.incoming() {
            match conn {
                Ok(s) => {
                    let peer = s.peer_addr().ok();
                    if let Err(e) = handle(s, text) {
                        eprintln!("agentns: answering {peer:?}: {e}");
                    }
                }
                Err(e) => eprintln!("agentns: accept: {e}"),
            }
        }
        return Ok(0);
    }
    if let Some(path) = &a.textfile {
        loop {
            let res = text().map_err(|e| e.to_string()).and_then(|t| {
                write_atomic(path, &t).map_err(|e| format!("{}: {e}", path.display()))
            });
            match (res, a.interval) {
                (Ok(()), None) => return Ok(0),
                (Err(e), None) => return Err(e.into()),
                (Err(e), Some(_)) => eprintln!("agentns: {e}"),
                (Ok(()), Some(_)) => {}
            }
            std::thread::sleep(a.interval.unwrap_or_default());
        }
    }
    let t = text()?;
    let mut out = io::stdout().lock();
    out.write_all(t.as_bytes())?;
    out.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use agentns::listing::Sources;

    use super::*;

    /// Checks text against the exposition format's rules (version 0.0.4): metric and label
    /// names, label syntax and escapes, values, a TYPE line (at most one, before the samples)
    /// for every family, families contiguous, no series twice, counters named `_total`.
    fn validate(text: &str) -> std::result::Result<(), String> {
        fn metric_name(s: &str) -> bool {
            let mut c = s.chars();
            c.next()
                .is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == ':')
                && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
        }
        fn label_name(s: &str) -> bool {
            let mut c = s.chars();
            c.next()
                .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
                && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !s.starts_with("__")
        }
        fn value(s: &str) -> bool {
            matches!(s, "NaN" | "+Inf" | "-Inf") || s.parse::<f64>().is_ok()
        }
        /// `{a="x",b="y"}` -> sorted (name, raw value); the rest of the line after it.
        type Labels = Vec<(String, String)>;
        fn labels(s: &str) -> std::result::Result<(Labels, &str), String> {
            let mut out = Vec::new();
            let b = s.as_bytes();
            let mut i = 1; // after '{'
            loop {
                if b.get(i) == Some(&b'}') {
                    i += 1;
                    break;
                }
                let eq = s[i..].find('=').ok_or("no = in a label")? + i;
                let name = &s[i..eq];
                if !label_name(name) {
                    return Err(format!("bad label name {name:?}"));
                }
                if b.get(eq + 1) != Some(&b'"') {
                    return Err(format!("label {name} value not quoted"));
                }
                let mut j = eq + 2;
                let mut v = String::new();
                loop {
                    match b.get(j) {
                        None => return Err("unterminated label value".into()),
                        Some(b'"') => break,
                        Some(b'\\') => {
                            match b.get(j + 1) {
                                Some(b'\\') => v.push('\\'),
                                Some(b'"') => v.push('"'),
                                Some(b'n') => v.push('\n'),
                                other => return Err(format!("bad escape \\{other:?}")),
                            }
                            j += 2;
                        }
                        Some(b'\n') => return Err("raw newline in a label value".into()),
                        Some(_) => {
                            let c = s[j..].chars().next().unwrap();
                            v.push(c);
                            j += c.len_utf8();
                        }
                    }
                }
                if out.iter().any(|(n, _)| n == name) {
                    return Err(format!("label {name} twice"));
                }
                out.push((name.to_string(), v));
                i = j + 1;
                match b.get(i) {
                    Some(b',') => i += 1,
                    Some(b'}') => {}
                    _ => return Err("expected , or } after a label".into()),
                }
            }
            out.sort();
            Ok((out, &s[i..]))
        }

        if !text.ends_with('\n') {
            return Err("no newline at the end".into());
        }
        let mut types: BTreeMap<String, String> = BTreeMap::new();
        let mut helps: HashSet<String> = HashSet::new();
        let mut sampled: HashSet<String> = HashSet::new();
        let mut finished: HashSet<String> = HashSet::new();
        let mut current: Option<String> = None;
        let mut series = HashSet::new();
        let mut switch =
            |name: &str, current: &mut Option<String>| -> std::result::Result<(), String> {
                if current.as_deref() != Some(name) {
                    if finished.contains(name) {
                        return Err(format!("family {name} is not contiguous"));
                    }
                    if let Some(c) = current.take() {
                        finished.insert(c);
                    }
                    *current = Some(name.to_string());
                }
                Ok(())
            };
        for (n, line) in text.lines().enumerate() {
            let err = |e: String| format!("line {}: {e}: {line:?}", n + 1);
            if let Some(rest) = line.strip_prefix('#') {
                let mut f = rest.trim_start().splitn(3, ' ');
                let (kw, name) = (f.next().unwrap_or(""), f.next().unwrap_or(""));
                match kw {
                    "HELP" | "TYPE" => {
                        if !metric_name(name) {
                            return Err(err(format!("bad metric name {name:?}")));
                        }
                        switch(name, &mut current).map_err(err)?;
                        if sampled.contains(name) {
                            return Err(err(format!("{kw} after samples of {name}")));
                        }
                    }
                    _ => continue,
                }
                if kw == "HELP" {
                    if !helps.insert(name.to_string()) {
                        return Err(err(format!("second HELP for {name}")));
                    }
                    let h = f.next().unwrap_or("");
                    if h.replace("\\\\", "").replace("\\n", "").contains('\\') {
                        return Err(err("bad escape in HELP".into()));
                    }
                } else {
                    let t = f.next().unwrap_or("");
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&t) {
                        return Err(err(format!("bad type {t:?}")));
                    }
                    if types.insert(name.to_string(), t.to_string()).is_some() {
                        return Err(err(format!("second TYPE for {name}")));
                    }
                }
                continue;
            }
            if line.is_empty() {
                return Err(err("empty line".into()));
            }
            let end = line
                .find(['{', ' '])
                .ok_or_else(|| err("no value".into()))?;
            let name = &line[..end];
            if !metric_name(name) {
                return Err(err(format!("bad metric name {name:?}")));
            }
            let (ls, rest) = if line[end..].starts_with('{') {
                labels(&line[end..]).map_err(err)?
            } else {
                (Vec::new(), &line[end..])
            };
            let mut f = rest
                .strip_prefix(' ')
                .ok_or_else(|| err("no space before the value".into()))?
                .split(' ');
            let v = f.next().unwrap_or("");
            if !value(v) {
                return Err(err(format!("bad value {v:?}")));
            }
            if let Some(ts) = f.next() {
                ts.parse::<i64>()
                    .map_err(|_| err(format!("bad timestamp {ts:?}")))?;
            }
            if f.next().is_some() {
                return Err(err("text after the timestamp".into()));
            }
            let Some(t) = types.get(name) else {
                return Err(err(format!("no TYPE line before the samples of {name}")));
            };
            if t == "counter" && (!name.ends_with("_total") || v.starts_with('-')) {
                return Err(err(format!("counter {name}: not _total, or negative")));
            }
            switch(name, &mut current).map_err(err)?;
            sampled.insert(name.to_string());
            if !series.insert((name.to_string(), ls)) {
                return Err(err("the same series twice".into()));
            }
        }
        Ok(())
    }

    fn id(n: u8) -> SessionId {
        let mut b = [0u8; 16];
        b[0] = 0xab;
        b[15] = n;
        SessionId(b)
    }

    fn scrape() -> Scrape {
        let mut c = Counters::default();
        for (i, (counter, _)) in COUNTERS.iter().enumerate() {
            c.set(*counter, 100 + i as u64);
        }
        c.set(Counter::ElapsedNs, 1_500_000_000);
        let mut b = Budget::new();
        b.set_limit(Counter::Syscalls, 1_000_000);
        b.set_limit(Counter::ElapsedNs, 30_000_000_000);
        b.set_limit(Counter::WriteBytes, 4096);
        Scrape {
            samples: vec![
                Sample {
                    id: id(1),
                    parent: None,
                    intent: Some("refactor \"auth\" \\ now\nplease".into()),
                    depth: Some(1),
                    processes: 3,
                    counters: Some(c),
                    budget: Some(b),
                },
                // Another user's session: nothing but the id and the processes.
                Sample {
                    id: id(2),
                    parent: Some(id(1)),
                    processes: 1,
                    ..Default::default()
                },
                Sample {
                    id: id(3),
                    parent: Some(id(1)),
                    intent: Some(String::new()),
                    depth: Some(2),
                    processes: 0,
                    counters: Some(Counters::default()),
                    budget: Some(Budget::new()),
                },
            ],
            dropped: 2,
        }
    }

    #[test]
    fn the_exposition_is_well_formed() {
        let text = render(&scrape());
        validate(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let empty = render(&Scrape::default());
        validate(&empty).unwrap_or_else(|e| panic!("{e}\n{empty}"));
        assert!(empty.contains("\nagentns_sessions 0\n"), "{empty}");
    }

    #[test]
    fn the_series() {
        let text = render(&scrape());
        let one = "ab000000000000000000000000000001";
        let two = "ab000000000000000000000000000002";
        for want in [
            "agentns_sessions 5",
            "agentns_sessions_dropped 2",
            &format!(
                "agentns_session_info{{session=\"{one}\",intent=\"refactor \\\"auth\\\" \\\\ now\\nplease\"}} 1"
            ),
            &format!("agentns_session_info{{session=\"{two}\",parent=\"{one}\"}} 1"),
            &format!("agentns_session_depth{{session=\"{one}\"}} 1"),
            &format!("agentns_session_processes{{session=\"{one}\"}} 3"),
            &format!("agentns_session_processes{{session=\"{two}\"}} 1"),
            &format!("agentns_session_age_seconds{{session=\"{one}\"}} 1.5"),
            &format!("agentns_session_syscalls_total{{session=\"{one}\"}} 100"),
            &format!("agentns_session_openat_total{{session=\"{one}\"}} 101"),
            &format!("agentns_session_write_bytes_total{{session=\"{one}\"}} 102"),
            &format!("agentns_session_read_bytes_total{{session=\"{one}\"}} 103"),
            &format!("agentns_session_connect_total{{session=\"{one}\"}} 104"),
            &format!("agentns_session_unlink_total{{session=\"{one}\"}} 105"),
            &format!("agentns_session_fork_total{{session=\"{one}\"}} 106"),
            &format!("agentns_session_exec_total{{session=\"{one}\"}} 107"),
            &format!("agentns_session_limit{{session=\"{one}\",counter=\"syscalls\"}} 1000000"),
            &format!("agentns_session_limit{{session=\"{one}\",counter=\"write_bytes\"}} 4096"),
            &format!("agentns_session_limit{{session=\"{one}\",counter=\"age_seconds\"}} 30"),
            "# TYPE agentns_session_syscalls_total counter",
            "# TYPE agentns_session_limit gauge",
            "# TYPE agentns_session_info gauge",
        ] {
            assert!(text.lines().any(|l| l == want), "{want:?} not in\n{text}");
        }
        // Unset limits and unreadable values are left out, not 0.
        assert_eq!(text.matches("agentns_session_limit{").count(), 3, "{text}");
        assert!(
            !text.contains(&format!("_total{{session=\"{two}\"}}")),
            "{text}"
        );
        assert!(
            !text.contains(&format!("depth{{session=\"{two}\"}}")),
            "{text}"
        );
        // Every family has HELP and TYPE.
        assert_eq!(text.matches("# HELP ").count(), 15, "{text}");
        assert_eq!(text.matches("# TYPE ").count(), 15, "{text}");
    }

    #[test]
    fn session_labels_are_trace_ids() {
        // 32 lowercase hexadecimal digits, not all zeros: a valid W3C trace-id.
        let text = render(&scrape());
        for l in text.lines().filter(|l| l.contains("session=\"")) {
            let v = l.split("session=\"").nth(1).unwrap();
            let v = &v[..v.find('"').unwrap()];
            assert_eq!(v.len(), 32, "{l}");
            assert!(
                v.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')),
                "{l}"
            );
            assert!(v.bytes().any(|c| c != b'0'), "{l}");
        }
    }

    #[test]
    fn the_validator_catches_mistakes() {
        let ok = "# HELP a_total x\n# TYPE a_total counter\na_total{s=\"1\"} 1\n";
        validate(ok).unwrap();
        for bad in [
            "a_total 1\n",                                                      // no TYPE
            "# TYPE a_total counter\na_total 1", // no newline at the end
            "# TYPE a_total counter\na_total{s=\"1\"} 1\na_total{s=\"1\"} 2\n", // twice
            "# TYPE a_total counter\n# TYPE a_total counter\na_total 1\n",
            "# TYPE a counter\na 1\n", // counter without _total
            "# TYPE a_total counter\na_total{s=\"1} 1\n", // unterminated
            "# TYPE a_total counter\na_total{s=\"\\x\"} 1\n", // bad escape
            "# TYPE a_total counter\na_total{1s=\"a\"} 1\n", // label name
            "# TYPE a_total counter\na_total{s=a} 1\n", // unquoted
            "# TYPE a_total counter\na_total{s=\"a\",s=\"b\"} 1\n", // label twice
            "# TYPE a_total counter\na_total x\n", // value
            "# TYPE 1a gauge\n",       // metric name
            "# TYPE a gauge\n# TYPE b gauge\na 1\n", // not contiguous
            "# TYPE a gauge\na 1\n# HELP a late\n", // HELP after samples
            "# TYPE a gauge\na 1 2 3\n",
            "# TYPE a gauge\nweird\n",
            "# TYPE a gauge\n\na 1\n",
        ] {
            assert!(validate(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn promtool_accepts_it_if_installed() {
        let text = render(&scrape());
        let child = std::process::Command::new("promtool")
            .args(["check", "metrics"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn();
        let Ok(mut child) = child else {
            eprintln!("promtool not on PATH: skipped");
            return;
        };
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "promtool: {}{}\n{text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn escapes() {
        assert_eq!(escape_label("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape_label("plain text-1"), "plain text-1");
        assert_eq!(escape_help("a\\b\nc\"d"), "a\\\\b\\nc\"d");
        assert_eq!(seconds(0), "0");
        assert_eq!(seconds(1_500_000_000), "1.5");
        assert_eq!(seconds(30_000_000_000), "30");
        assert_eq!(seconds(1), "0.000000001");
    }

    fn info(inode: u64, n: u8, depth: Option<u32>, ns_id: u64, pids: &[i32]) -> SessionInfo {
        SessionInfo {
            id: Some(id(n)),
            inode,
            ns_id: Some(ns_id),
            initial: false,
            depth,
            parent_inode: None,
            intent: None,
            pids: pids.to_vec(),
            counters: None,
        }
    }

    #[test]
    fn at_most_max_sessions_the_shallowest_and_oldest() {
        let init = agentns::nsfs::INITIAL_INODE;
        let mut sessions = BTreeMap::new();
        let mut initial = info(init, 0, Some(0), 9, &[1]);
        initial.id = Some(SessionId::INITIAL);
        initial.initial = true;
        sessions.insert(init, initial);
        sessions.insert(10, info(10, 1, Some(1), 30, &[100]));
        sessions.insert(11, info(11, 2, Some(1), 20, &[110]));
        sessions.insert(12, info(12, 3, Some(2), 10, &[]));
        sessions.insert(13, info(13, 4, None, 5, &[130]));
        let mut no_id = info(14, 5, Some(1), 1, &[]);
        no_id.id = None;
        sessions.insert(14, no_id);
        // Session 1 again, found by id only (another user's process).
        let mut dup = info(0, 1, None, 0, &[101]);
        dup.ns_id = None;
        dup.intent = Some("x".into());
        sessions.insert(u64::MAX, dup);
        let snap = Snapshot {
            sessions,
            sources: Sources {
                listns: true,
                listns_error: None,
                unresolved_ns_ids: vec![],
            },
        };
        let (all, dropped) = choose(&snap, 1000);
        let order: Vec<u64> = all.iter().map(|s| s.inode).collect();
        assert_eq!(order, [11, 10, 12, 13]);
        assert_eq!(dropped, 0);
        let one = &all[1];
        assert_eq!(one.pids, [100, 101]);
        assert_eq!(one.intent.as_deref(), Some("x"));
        let (two, dropped) = choose(&snap, 2);
        assert_eq!(two.len(), 2);
        assert_eq!(dropped, 2);
        let (none, dropped) = choose(&snap, 0);
        assert!(none.is_empty());
        assert_eq!(dropped, 4);
    }

    #[test]
    fn http_routes() {
        let m = || Ok("m 1\n".to_string());
        let r = respond("GET /metrics HTTP/1.1", m);
        assert_eq!(
            (r.status, r.content_type, r.body.as_str()),
            ("200 OK", CONTENT_TYPE, "m 1\n")
        );
        assert!(r.send_body);
        assert_eq!(respond("GET /metrics?x=1 HTTP/1.0", m).status, "200 OK");
        let head = respond("HEAD /metrics HTTP/1.1", m);
        assert_eq!(head.status, "200 OK");
        assert!(!head.send_body);
        assert_eq!(respond("GET / HTTP/1.1", m).status, "404 Not Found");
        assert_eq!(respond("GET /metricsx HTTP/1.1", m).status, "404 Not Found");
        assert_eq!(
            respond("POST /metrics HTTP/1.1", m).status,
            "405 Method Not Allowed"
        );
        assert_eq!(respond("", m).status, "400 Bad Request");
        let e = respond("GET /metrics HTTP/1.1", || {
            Err(agentns::Error::Invalid("boom".into()))
        });
        assert_eq!(e.status, "500 Internal Server Error");
        assert!(e.body.contains("boom"));
    }

    fn fetch(path: &str) -> String {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let server = std::thread::spawn(move || {
            let (s, _) = l.accept().unwrap();
            handle(s, || Ok(render(&scrape()))).unwrap();
        });
        let mut c = TcpStream::connect(addr).unwrap();
        write!(c, "GET {path} HTTP/1.1\r\nHost: x\r\nAccept: */*\r\n\r\n").unwrap();
        let mut resp = String::new();
        c.read_to_string(&mut resp).unwrap();
        server.join().unwrap();
        resp
    }

    #[test]
    fn http_over_a_socket() {
        let resp = fetch("/metrics");
        let (head, body) = resp.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        assert!(
            head.contains("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
            "{head}"
        );
        assert!(
            head.contains(&format!("\r\nContent-Length: {}\r\n", body.len())),
            "{head}"
        );
        assert_eq!(body, render(&scrape()));
        validate(body).unwrap();
        let resp = fetch("/other");
        assert!(resp.starts_with("HTTP/1.1 404 Not Found\r\n"), "{resp}");
    }

    #[test]
    fn textfile_is_replaced_atomically() {
        let dir = std::env::temp_dir().join(format!("agentns-export-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("agentns.prom");
        write_atomic(&path, "a 1\n").unwrap();
        write_atomic(&path, "b 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "b 2\n");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["agentns.prom"]);
        assert!(write_atomic(&dir.join("missing/x.prom"), "c\n").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
