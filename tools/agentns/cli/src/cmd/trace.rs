// SPDX-License-Identifier: GPL-2.0
//! `agentns trace`: the agent_ns tracepoints as lines or JSON lines, from a private tracefs
//! instance.

use std::io::Write;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use agentns::listing::Snapshot;
use agentns::trace::{self, Filter, Instance, IntentMatch, Losses};

use super::Result;
use crate::cli::TraceArgs;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Stops on SIGINT, SIGTERM, SIGHUP and SIGPIPE (so that the instance is removed), without
/// SA_RESTART so that poll(2) returns.
fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
        // SAFETY: an all-zero sigaction is valid; the handler only stores an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// How often the per-cpu loss counters are read.
const STATS_EVERY: Duration = Duration::from_secs(1);

/// Where the events go, and the lost-event reports with them.
struct Output {
    json: bool,
    out: std::io::StdoutLock<'static>,
    losses: Losses,
}

impl Output {
    /// Writes a line; `false` when the reader went away.
    fn line(&mut self, s: &str) -> bool {
        writeln!(self.out, "{s}")
            .and_then(|()| self.out.flush())
            .is_ok()
    }

    /// Reports the events lost since the last report; `false` when the reader went away.
    fn report_losses(&mut self) -> bool {
        let n = self.losses.take_new();
        if n == 0 {
            return true;
        }
        eprintln!("agentns: lost {n} events (buffer overrun)");
        !self.json || self.line(&serde_json::json!({ "lost": n }).to_string())
    }
}

/// Runs `agentns trace`.
pub fn trace(a: TraceArgs) -> Result {
    let fs = trace::tracefs()?;
    catch_signals();
    for note in trace::remove_stale_instances(&fs) {
        eprintln!("agentns: {note}");
    }
    // A session prefix is resolved before anything is set up: when the events are enabled,
    // the filter is complete.
    let session = match &a.session {
        None => None,
        Some(arg) if arg.len() == 32 => Some(trace::resolve_session(arg, &[])?),
        Some(arg) => {
            let snap = Snapshot::collect()?;
            let ids: Vec<_> = snap.sessions.values().filter_map(|s| s.id).collect();
            Some(trace::resolve_session(arg, &ids)?)
        }
    };
    let intent = a.intent.as_deref().map(IntentMatch::new);
    let mut filter = Filter::new(&a.events, session, intent.clone());

    let inst = Instance::create(&fs)?;
    let failed = inst.set_options();
    if !failed.is_empty() {
        eprintln!(
            "agentns: could not set {} in {}; events may not be read",
            failed.join(", "),
            inst.dir().join("options").display()
        );
    }
    if let Some(kb) = a.buffer_size {
        inst.set_buffer_size_kb(kb)?;
    }
    let enabled = filter.enabled_events();
    for (event, f) in filter.kernel_filters() {
        if let Err(e) = inst.set_filter(event, &f) {
            eprintln!("agentns: the kernel refused the filter {f:?} ({e}); filtering {event} here");
        }
    }
    if let Some(m) = &intent {
        if m.kernel_filter().is_none() {
            eprintln!(
                "agentns: the kernel cannot filter on this intent; filtering agent_intent_set here"
            );
        }
    }
    inst.enable(&enabled)?;
    // Events are recorded in the instance from here on: the pipe may be opened, and the
    // sessions looked at, afterwards without losing any.
    let pipe = inst.open_pipe()?;

    if intent.is_some() {
        // The intents the sessions have now; the intent_set events recorded since the
        // events were enabled follow, and correct what changed in between.
        let snap = Snapshot::collect()?;
        for s in snap.sessions.values() {
            if let (Some(id), Some(intent)) = (s.id, &s.intent) {
                filter.learn_intent(id, intent);
            }
        }
    }

    let mut out = Output {
        json: a.json,
        out: std::io::stdout().lock(),
        losses: Losses::default(),
    };
    read_events(&a, &inst, &pipe, &mut filter, &mut out)?;
    for st in inst.cpu_stats() {
        out.losses.stats(st);
    }
    out.report_losses();
    let lost = out.losses.total();
    if lost > 0 {
        eprintln!(
            "agentns: lost {lost} events in all (buffer overrun); --buffer-size gives each CPU a \
             larger buffer"
        );
    }
    // The pipe first: an open file keeps the instance busy.
    drop(pipe);
    if let Err(e) = inst.remove() {
        eprintln!("agentns: {e}");
    }
    Ok(0)
}

/// Reads, filters and prints events until a signal, the count, the timeout, or the reader
/// going away.
fn read_events(
    a: &TraceArgs,
    inst: &Instance,
    pipe: &std::os::fd::OwnedFd,
    filter: &mut Filter,
    out: &mut Output,
) -> std::result::Result<(), Box<dyn std::error::Error>> {
    let deadline = a.timeout.map(|t| Instant::now() + t);
    let mut seen = 0u64;
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut stats_at = Instant::now();
    while !STOP.load(Ordering::Relaxed) {
        if a.count.is_some_and(|n| seen >= n) {
            return Ok(());
        }
        if stats_at.elapsed() >= STATS_EVERY {
            stats_at = Instant::now();
            for st in inst.cpu_stats() {
                out.losses.stats(st);
            }
            if !out.report_losses() {
                return Ok(());
            }
        }
        let mut wait_ms: i32 = 200;
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            wait_ms = wait_ms.min(left.as_millis().max(1) as i32);
        }
        // The pipe, and standard output for its reader going away (POLLERR on a pipe whose
        // reading end is closed) while no events come.
        let mut pfd = [
            libc::pollfd {
                fd: pipe.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: libc::STDOUT_FILENO,
                events: 0,
                revents: 0,
            },
        ];
        // SAFETY: two valid pollfds.
        let r = unsafe { libc::poll(pfd.as_mut_ptr(), 2, wait_ms) };
        if r <= 0 {
            continue; // timeout, or EINTR: check STOP and the deadline
        }
        if pfd[1].revents & (libc::POLLERR | libc::POLLHUP) != 0 {
            return Ok(());
        }
        if pfd[0].revents == 0 {
            continue;
        }
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::read(pipe.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            continue;
        }
        pending.extend_from_slice(&buf[..n as usize]);
        while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line[..line.len() - 1]);
            if let Some((cpu, n)) = trace::parse_lost_line(&line) {
                out.losses.pipe_lost(cpu, n);
                for st in inst.cpu_stats() {
                    out.losses.stats(st);
                }
                if !out.report_losses() {
                    return Ok(());
                }
                continue;
            }
            let Some(ev) = trace::parse_line(&line) else {
                continue;
            };
            if !filter.accept(&ev) {
                continue;
            }
            let text = if a.json {
                serde_json::to_string(&ev)?
            } else {
                ev.human()
            };
            if !out.line(&text) {
                return Ok(()); // the reader went away
            }
            seen += 1;
            if a.count.is_some_and(|c| seen >= c) {
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    fn trace_args(args: &[&str]) -> Result<crate::cli::TraceArgs, clap::Error> {
        let cli = Cli::try_parse_from(["agentns", "trace"].iter().chain(args))?;
        match cli.command {
            Command::Trace(t) => Ok(t),
            _ => panic!("not trace"),
        }
    }

    #[test]
    fn options() {
        let t = trace_args(&[
            "--session",
            "ABCD1234",
            "--intent",
            "ticket-*",
            "--buffer-size",
            "4096",
        ])
        .unwrap();
        assert_eq!(t.session.as_deref(), Some("abcd1234"));
        assert_eq!(t.intent.as_deref(), Some("ticket-*"));
        assert_eq!(t.buffer_size, Some(4096));
        let t = trace_args(&[]).unwrap();
        assert!(t.session.is_none() && t.intent.is_none() && t.buffer_size.is_none());
        assert!(trace_args(&["--session", "abc"]).is_err());
        assert!(trace_args(&["--session", "xyz1"]).is_err());
        assert!(trace_args(&["--buffer-size", "0"]).is_err());
        assert!(trace_args(&["--buffer-size", "1k"]).is_err());
    }

    #[test]
    fn help_says_where_filters_run() {
        let e = trace_args(&["--help"]).unwrap_err();
        let help = e.to_string();
        assert!(help.contains("--session <ID>"), "{help}");
        assert!(help.contains("--buffer-size <KB>"), "{help}");
        assert!(help.contains("ftrace filters cannot compare"), "{help}");
        assert!(help.contains("agent_intent_set/filter"), "{help}");
        assert!(help.contains("instances/agentns-PID"), "{help}");
    }
}
