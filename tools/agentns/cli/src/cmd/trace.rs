// SPDX-License-Identifier: GPL-2.0
//! `agentns trace`: the agent_ns tracepoints as lines or JSON lines.

use std::io::Write;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use agentns::trace::{self, Enabled};

use super::Result;
use crate::cli::TraceArgs;

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::Relaxed);
}

/// Stops on SIGINT, SIGTERM and SIGHUP (so the enable switches are put back), without
/// SA_RESTART so that poll(2) returns.
fn catch_signals() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: an all-zero sigaction is valid; the handler only stores an atomic.
        unsafe {
            let mut sa: libc::sigaction = std::mem::zeroed();
            sa.sa_sigaction = on_signal as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut sa.sa_mask);
            libc::sigaction(sig, &sa, std::ptr::null_mut());
        }
    }
}

/// Runs `agentns trace`.
pub fn trace(a: TraceArgs) -> Result {
    let fs = trace::tracefs()?;
    let pipe_path = fs.join("trace_pipe");
    catch_signals();
    let _enabled = Enabled::new(&fs, &a.events)?;
    let c = std::ffi::CString::new(pipe_path.to_string_lossy().as_bytes())?;
    // SAFETY: `c` is a valid path.
    let fd = unsafe {
        libc::open(
            c.as_ptr(),
            libc::O_RDONLY | libc::O_NONBLOCK | libc::O_CLOEXEC,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
        return Err(agentns::Error::sys(
            agentns::Op::Tracefs,
            e,
            Some(pipe_path.display().to_string()),
        )
        .into());
    }
    // SAFETY: `fd` is new and owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let deadline = a.timeout.map(|t| Instant::now() + t);
    let mut seen = 0u64;
    let mut pending: Vec<u8> = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut out = std::io::stdout().lock();
    while !STOP.load(Ordering::Relaxed) {
        if a.count.is_some_and(|n| seen >= n) {
            break;
        }
        let mut wait_ms: i32 = 200;
        if let Some(d) = deadline {
            let left = d.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            wait_ms = wait_ms.min(left.as_millis().max(1) as i32);
        }
        let mut pfd = libc::pollfd {
            fd: fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let r = unsafe { libc::poll(&mut pfd, 1, wait_ms) };
        if r <= 0 {
            continue; // timeout, or EINTR: check STOP and the deadline
        }
        // SAFETY: `buf` is valid for its length.
        let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        if n <= 0 {
            continue;
        }
        pending.extend_from_slice(&buf[..n as usize]);
        while let Some(nl) = pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = pending.drain(..=nl).collect();
            let line = String::from_utf8_lossy(&line[..line.len() - 1]);
            let Some(ev) = trace::parse_line(&line) else {
                continue;
            };
            if !a.events.is_empty() && !a.events.contains(&ev.event.as_str()) {
                continue;
            }
            let res = if a.json {
                writeln!(out, "{}", serde_json::to_string(&ev)?)
            } else {
                writeln!(out, "{}", ev.human())
            };
            if res.and_then(|()| out.flush()).is_err() {
                return Ok(0); // the reader went away
            }
            seen += 1;
            if a.count.is_some_and(|c| seen >= c) {
                break;
            }
        }
    }
    Ok(0)
}
