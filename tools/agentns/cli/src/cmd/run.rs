// SPDX-License-Identifier: GPL-2.0
//! `agentns run`: a command in a new session, with an intent and a budget.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicU64, Ordering};

use agentns::nsfs::SessionInfo;
use agentns::{Budget, Counter, Counters, NsFile, SessionId, session};
use serde::Serialize;

use super::Result;
use crate::cli::RunArgs;
use crate::format;

/// Sets the intent and the budget of the caller's session.
fn configure(intent: Option<&str>, budget: Option<&Budget>) -> agentns::Result<()> {
    if let Some(t) = intent {
        session::set_intent(t)?;
    }
    if let Some(b) = budget {
        session::set_budget(b)?;
    }
    Ok(())
}

/// Runs `agentns run`.
pub fn run(a: RunArgs) -> Result {
    session::ensure_supported()?;
    if let Some(t) = &a.intent {
        session::check_intent(t)?;
    }
    let budget = a.budget.to_budget();
    if a.no_new_privs {
        session::set_no_new_privs()?;
    }
    if !a.report {
        session::create()?;
        configure(a.intent.as_deref(), budget.as_ref())?;
        return Ok(super::exec_command(&a.command));
    }
    report(&a, budget.as_ref())
}

/// Why the command ended, as far as the kernel can tell.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
enum EndedBy {
    /// It exited, with whatever status.
    Exit,
    /// A SIGTERM or SIGKILL action of the session's own budget fired.
    Budget,
    /// A budget of a session above the command's fired.
    BudgetAbove,
    /// The reaper killed it: it outlived `kernel.agent_ns.max_lifetime`.
    Reaped,
    /// A signal killed it, and no budget or reaper of the kernel acted.
    Signal,
}

impl EndedBy {
    fn of(info: Option<&SessionInfo>, signal: Option<i32>) -> Self {
        match (info, signal) {
            (Some(i), _) if i.reaped => EndedBy::Reaped,
            (Some(i), Some(_)) if i.acted => EndedBy::Budget,
            (Some(i), Some(_)) if i.acted_above => EndedBy::BudgetAbove,
            (_, Some(_)) => EndedBy::Signal,
            (_, None) => EndedBy::Exit,
        }
    }
}

/// The `--report` record.
#[derive(Serialize)]
struct Report<'a> {
    command: Vec<String>,
    /// The command's session.
    session: Option<SessionId>,
    intent: Option<&'a str>,
    exit_code: u8,
    /// The signal that killed the command, if one did.
    signal: Option<i32>,
    signal_name: Option<String>,
    /// Why the command ended.
    ended_by: EndedBy,
    /// The limits whose action fired (each fired once: a log or deny limit too).
    fired: Vec<Counter>,
    /// Signals agentns passed on to the command.
    forwarded: Vec<i32>,
    budget: Option<&'a Budget>,
    /// The session's final counters: the command's whole subtree.
    counters: Option<Counters>,
}

fn signal_name(sig: i32) -> String {
    // SAFETY: strsignal returns a pointer to a static or thread-local string.
    let p = unsafe { libc::strsignal(sig) };
    if p.is_null() {
        return format!("signal {sig}");
    }
    // SAFETY: non-null strsignal results are NUL-terminated strings.
    unsafe { std::ffi::CStr::from_ptr(p) }
        .to_string_lossy()
        .into_owned()
}

fn pipe() -> std::io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both descriptors are new and owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// The signals `--report` passes on to the command.
const FORWARDED: [i32; 4] = [libc::SIGTERM, libc::SIGHUP, libc::SIGINT, libc::SIGQUIT];

/// A bit per signal received and not yet passed on (set by [`on_signal`]).
static PENDING: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_signal(sig: libc::c_int, info: *mut libc::siginfo_t, _: *mut libc::c_void) {
    // A terminal's SIGINT and SIGQUIT (si_code SI_KERNEL) reach the command's process group
    // directly: passing them on would deliver them twice.
    // SAFETY: the kernel hands a valid siginfo to an SA_SIGINFO handler.
    let code = unsafe { (*info).si_code };
    if (sig == libc::SIGINT || sig == libc::SIGQUIT) && code == libc::SI_KERNEL {
        return;
    }
    PENDING.fetch_or(1 << sig, Ordering::Relaxed);
}

/// Catches the [`FORWARDED`] signals, without `SA_RESTART` so that `waitpid` returns.
fn catch_signals() -> std::io::Result<()> {
    for sig in FORWARDED {
        // SAFETY: an all-zero sigaction is valid; the handler only touches an atomic.
        let mut sa: libc::sigaction = unsafe { std::mem::zeroed() };
        sa.sa_sigaction = on_signal as *const () as usize;
        sa.sa_flags = libc::SA_SIGINFO;
        // SAFETY: `sa` is initialised and `sig` a catchable signal.
        if unsafe { libc::sigaction(sig, &sa, std::ptr::null_mut()) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Puts the [`FORWARDED`] signals back to their defaults (in the child).
fn default_signals() {
    for sig in FORWARDED {
        // SAFETY: a plain disposition change.
        unsafe { libc::signal(sig, libc::SIG_DFL) };
    }
}

/// In the child: the command's own session, its id to the parent, then, once the parent has
/// opened the session's namespace file, the intent, the budget and exec.
fn child(a: &RunArgs, budget: Option<&Budget>, tx: OwnedFd, go: OwnedFd) -> ! {
    use std::io::Write;
    default_signals();
    let code = match session::create().and_then(|()| session::session_id()) {
        Ok(id) => {
            let mut f = std::fs::File::from(tx);
            let _ = f.write_all(&id.0);
            drop(f);
            // EOF once the parent holds the session (or is gone).
            let _ = std::fs::File::from(go).read(&mut [0u8; 1]);
            match configure(a.intent.as_deref(), budget) {
                Ok(()) => super::exec_command(&a.command),
                Err(e) => {
                    eprintln!("agentns: {e}");
                    crate::EXIT_SETUP
                }
            }
        }
        Err(e) => {
            eprintln!("agentns: {e}");
            crate::EXIT_SETUP
        }
    };
    // SAFETY: leaving the forked child without running the parent's destructors.
    unsafe { libc::_exit(i32::from(code)) }
}

/// Waits for `pid`, passing on the signals agentns receives meanwhile; returns the wait
/// status and the signals passed on.
fn wait_forwarding(pid: libc::pid_t) -> std::io::Result<(i32, Vec<i32>)> {
    let mut status = 0;
    let mut forwarded = Vec::new();
    loop {
        let pending = PENDING.swap(0, Ordering::Relaxed);
        for sig in FORWARDED {
            if pending & (1 << sig) != 0 {
                // SAFETY: `pid` is our child, not yet waited for.
                unsafe { libc::kill(pid, sig) };
                forwarded.push(sig);
            }
        }
        // SAFETY: `status` is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            return Ok((status, forwarded));
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

fn report(a: &RunArgs, budget: Option<&Budget>) -> Result {
    // Open the report file first: a bad path fails before the command runs.
    let mut out: Box<dyn std::io::Write> = match &a.output {
        Some(p) => Box::new(
            std::fs::File::create(p)
                .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", p.display())))?,
        ),
        None => Box::new(std::io::stderr()),
    };
    let (rx, tx) = pipe()?;
    let (go_rx, go_tx) = pipe()?;
    // Caught before the fork, so that a signal in between is not lost; the child puts the
    // defaults back before exec.
    catch_signals()?;
    // SAFETY: agentns is single-threaded, so the child may run arbitrary code after fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if pid == 0 {
        drop(rx);
        drop(go_tx);
        child(a, budget, tx, go_rx);
    }
    drop(tx);
    drop(go_rx);
    let mut idbuf = [0u8; 16];
    let inner = std::fs::File::from(rx)
        .read_exact(&mut idbuf)
        .ok()
        .map(|()| SessionId(idbuf));
    // The child waits in its new session until we hold it: its namespace file keeps the
    // session readable after the command's last task has exited.
    let ns = inner.and_then(|_| NsFile::of_pid(pid).ok());
    drop(go_tx);
    let (status, forwarded) = wait_forwarding(pid)?;
    let info = ns.as_ref().and_then(|n| n.info().ok());
    let counters = ns.as_ref().and_then(|n| n.counters().ok());
    let (exit_code, signal) = if libc::WIFSIGNALED(status) {
        let s = libc::WTERMSIG(status);
        ((128 + s).clamp(0, 255) as u8, Some(s))
    } else {
        (libc::WEXITSTATUS(status) as u8, None)
    };
    let r = Report {
        command: a
            .command
            .iter()
            .map(|s: &OsString| s.to_string_lossy().into_owned())
            .collect(),
        session: inner,
        intent: a.intent.as_deref(),
        exit_code,
        signal,
        signal_name: signal.map(signal_name),
        ended_by: EndedBy::of(info.as_ref(), signal),
        fired: info.map(|i| i.fired).unwrap_or_default(),
        forwarded,
        budget,
        counters,
    };
    if a.json {
        writeln!(out, "{}", serde_json::to_string(&r)?)?;
    } else {
        write!(out, "{}", human(&r))?;
    }
    Ok(exit_code)
}

fn human(r: &Report<'_>) -> String {
    let mut s = format!(
        "agentns: {} in session {}",
        r.command.join(" "),
        r.session
            .map_or_else(|| "(not created)".to_string(), |i| i.to_string())
    );
    if let Some(t) = r.intent {
        s += &format!(" ({t:?})");
    }
    s += &match r.signal {
        Some(sig) => format!(
            ": killed by signal {sig} ({}), exit status {}\n",
            r.signal_name.as_deref().unwrap_or("?"),
            r.exit_code
        ),
        None => format!(": exit status {}\n", r.exit_code),
    };
    let fired: Vec<&str> = r.fired.iter().map(|c| c.name()).collect();
    let fired = fired.join(", ");
    let why = match r.ended_by {
        EndedBy::Exit => None,
        EndedBy::Budget => Some(format!("its budget's action (limits reached: {fired})")),
        EndedBy::BudgetAbove => Some("the budget of a session above it".to_string()),
        EndedBy::Reaped => Some("the reaper: it outlived kernel.agent_ns.max_lifetime".to_string()),
        EndedBy::Signal => Some("a signal from outside (no budget or reaper acted)".to_string()),
    };
    if let Some(w) = why {
        s += &format!("  ended by     {w}\n");
    } else if !r.fired.is_empty() {
        s += &format!("  reached      {fired}\n");
    }
    if !r.forwarded.is_empty() {
        let names: Vec<String> = r.forwarded.iter().map(|&g| signal_name(g)).collect();
        s += &format!("  passed on    {}\n", names.join(", "));
    }
    if let Some(b) = r.budget {
        s += &format!("  budget       {}\n", format::budget_line(b));
    }
    if let Some(c) = &r.counters {
        s += &format::counters_table(c, "  ");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentns::Action;

    fn sample() -> (Budget, Counters) {
        let b = Budget::new()
            .with_limit(Counter::Syscalls, 100)
            .with_action(Action::Kill);
        let mut c = Counters::default();
        c.set(Counter::Syscalls, 101).set(Counter::Exec, 1);
        (b, c)
    }

    fn info(acted: bool, acted_above: bool, reaped: bool) -> SessionInfo {
        SessionInfo {
            id: SessionId([0xab; 16]),
            parent_id: SessionId::INITIAL,
            depth: 1,
            acted,
            acted_above,
            reaped,
            fired: vec![],
        }
    }

    #[test]
    fn ended_by_prefers_the_kernels_reason_over_the_signal() {
        let kill = Some(libc::SIGKILL);
        assert_eq!(EndedBy::of(None, None), EndedBy::Exit);
        assert_eq!(EndedBy::of(None, kill), EndedBy::Signal);
        assert_eq!(
            EndedBy::of(Some(&info(false, false, false)), kill),
            EndedBy::Signal
        );
        assert_eq!(
            EndedBy::of(Some(&info(true, false, false)), kill),
            EndedBy::Budget
        );
        assert_eq!(
            EndedBy::of(Some(&info(false, true, false)), kill),
            EndedBy::BudgetAbove
        );
        assert_eq!(
            EndedBy::of(Some(&info(true, true, true)), kill),
            EndedBy::Reaped
        );
        // A budget that fired but whose command still exited on its own did not end it.
        assert_eq!(
            EndedBy::of(Some(&info(true, false, false)), None),
            EndedBy::Exit
        );
    }

    #[test]
    fn report_json_shape() {
        let (b, c) = sample();
        let r = Report {
            command: vec!["sh".into(), "-c".into(), "x".into()],
            session: Some(SessionId([0xab; 16])),
            intent: Some("test"),
            exit_code: 137,
            signal: Some(9),
            signal_name: Some("Killed".into()),
            ended_by: EndedBy::Budget,
            fired: vec![Counter::Syscalls],
            forwarded: vec![],
            budget: Some(&b),
            counters: Some(c),
        };
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["command"][0], "sh");
        assert_eq!(v["session"], "abababababababababababababababab");
        assert_eq!(v["intent"], "test");
        assert_eq!(v["exit_code"], 137);
        assert_eq!(v["signal"], 9);
        assert_eq!(v["ended_by"], "budget");
        assert_eq!(v["fired"][0], "syscalls");
        assert_eq!(v["budget"]["action"], "kill");
        assert_eq!(v["budget"]["syscalls"], 100);
        assert_eq!(v["counters"]["syscalls"], 101);
        assert_eq!(v["counters"]["exec"], 1);
        assert!(v["counters"]["elapsed_ns"].is_u64());
        let h = human(&r);
        assert!(h.starts_with(
            "agentns: sh -c x in session abababababababababababababababab (\"test\"): killed by \
             signal 9 (Killed), exit status 137\n"
        ));
        assert!(
            h.contains("  ended by     its budget's action (limits reached: syscalls)\n"),
            "{h}"
        );
        assert!(
            h.contains("  budget       action=kill syscalls=100\n"),
            "{h}"
        );
        assert!(h.contains("  syscalls     101\n"), "{h}");
    }

    #[test]
    fn report_json_without_signal() {
        let (_, c) = sample();
        let r = Report {
            command: vec!["true".into()],
            session: None,
            intent: None,
            exit_code: 0,
            signal: None,
            signal_name: None,
            ended_by: EndedBy::Exit,
            fired: vec![],
            forwarded: vec![libc::SIGTERM],
            budget: None,
            counters: Some(c),
        };
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert!(v["signal"].is_null());
        assert!(v["budget"].is_null());
        assert!(v["session"].is_null());
        assert_eq!(v["ended_by"], "exit");
        assert_eq!(v["forwarded"][0], libc::SIGTERM);
        let h = human(&r);
        assert!(h.contains("(not created): exit status 0\n"), "{h}");
        assert!(!h.contains("ended by"), "{h}");
        assert!(h.contains("  passed on    "), "{h}");
    }
}
