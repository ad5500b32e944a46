// SPDX-License-Identifier: GPL-2.0
//! `agentns run`: a command in a new session, with an intent and a budget.

use std::ffi::OsString;
use std::io::Read;
use std::os::fd::{FromRawFd, OwnedFd};

use agentns::{Budget, Counters, SessionId, session};
use serde::Serialize;

use super::Result;
use crate::cli::RunArgs;
use crate::format;

/// Creates a session and sets its intent and budget.
fn enter_new_session(intent: Option<&str>, budget: Option<&Budget>) -> agentns::Result<()> {
    session::create()?;
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
    let budget = a.budget.to_budget()?;
    if a.no_new_privs {
        session::set_no_new_privs()?;
    }
    if !a.report {
        enter_new_session(a.intent.as_deref(), budget.as_ref())?;
        return Ok(super::exec_command(&a.command));
    }
    report(&a, budget.as_ref())
}

/// The `--report` record.
#[derive(Serialize)]
struct Report<'a> {
    command: Vec<String>,
    /// The command's session (below the one agentns waits in).
    session: Option<SessionId>,
    /// The session agentns created and waited in; `counters` are its totals.
    outer_session: SessionId,
    intent: Option<&'a str>,
    exit_code: u8,
    /// The signal that killed the command, if one did.
    signal: Option<i32>,
    signal_name: Option<String>,
    budget: Option<&'a Budget>,
    counters: Counters,
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

/// In the child: the command's own session (intent, budget), its id to the parent, exec.
fn child(a: &RunArgs, budget: Option<&Budget>, tx: OwnedFd) -> ! {
    use std::io::Write;
    // SAFETY: restoring default dispositions in the single-threaded child.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_DFL);
        libc::signal(libc::SIGQUIT, libc::SIG_DFL);
    }
    let code =
        match enter_new_session(a.intent.as_deref(), budget).and_then(|()| session::session_id()) {
            Ok(id) => {
                let mut f = std::fs::File::from(tx);
                let _ = f.write_all(&id.0);
                // The pipe is close-on-exec: the parent sees EOF once the command runs.
                std::mem::forget(f);
                super::exec_command(&a.command)
            }
            Err(e) => {
                eprintln!("agentns: {e}");
                crate::EXIT_SETUP
            }
        };
    // SAFETY: leaving the forked child without running the parent's destructors.
    unsafe { libc::_exit(i32::from(code)) }
}

fn report(a: &RunArgs, budget: Option<&Budget>) -> Result {
    // The session agentns waits in; the command gets a child session of it that carries the
    // budget, so that a kill budget kills the command and not the reporter.
    session::create()?;
    if let Some(t) = &a.intent {
        session::set_intent(t)?;
    }
    let outer = session::session_id()?;
    let (rx, tx) = pipe()?;
    // SAFETY: agentns is single-threaded, so the child may run arbitrary code after fork.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    if pid == 0 {
        drop(rx);
        child(a, budget, tx);
    }
    drop(tx);
    // Like system(3): the terminal's SIGINT and SIGQUIT are for the command.
    // SAFETY: plain disposition changes.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGQUIT, libc::SIG_IGN);
    }
    let mut idbuf = Vec::new();
    let _ = std::fs::File::from(rx).read_to_end(&mut idbuf);
    let inner = <[u8; 16]>::try_from(idbuf.as_slice()).ok().map(SessionId);
    let mut status = 0;
    loop {
        // SAFETY: `status` is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut status, 0) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e.into());
        }
    }
    let counters = session::counters()?;
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
        outer_session: outer,
        intent: a.intent.as_deref(),
        exit_code,
        signal,
        signal_name: signal.map(signal_name),
        budget,
        counters,
    };
    if a.json {
        eprintln!("{}", serde_json::to_string(&r)?);
    } else {
        eprint!("{}", human(&r));
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
    if let Some(b) = r.budget {
        s += &format!("  budget       {}\n", format::budget_line(b));
    }
    s += &format::counters_table(&r.counters, "  ");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentns::Action;

    fn sample() -> (Budget, Counters) {
        let mut b = Budget::new();
        b.set_limit("syscalls", 100).unwrap();
        b.set_action(Action::Kill);
        let mut c = Counters::default();
        c.set("syscalls", 101);
        c.set("exec", 1);
        (b, c)
    }

    #[test]
    fn report_json_shape() {
        let (b, c) = sample();
        let r = Report {
            command: vec!["sh".into(), "-c".into(), "x".into()],
            session: Some(SessionId([0xab; 16])),
            outer_session: SessionId([0xcd; 16]),
            intent: Some("test"),
            exit_code: 137,
            signal: Some(9),
            signal_name: Some("Killed".into()),
            budget: Some(&b),
            counters: c,
        };
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["command"][0], "sh");
        assert_eq!(v["session"], "abababababababababababababababab");
        assert_eq!(v["outer_session"], "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
        assert_eq!(v["intent"], "test");
        assert_eq!(v["exit_code"], 137);
        assert_eq!(v["signal"], 9);
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
            outer_session: SessionId::INITIAL,
            intent: None,
            exit_code: 0,
            signal: None,
            signal_name: None,
            budget: None,
            counters: c,
        };
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert!(v["signal"].is_null());
        assert!(v["budget"].is_null());
        assert!(v["session"].is_null());
        assert!(human(&r).contains("(not created): exit status 0\n"));
    }
}
