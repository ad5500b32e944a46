// SPDX-License-Identifier: GPL-2.0
//! [`std::process::Command`] in an agent session: the child creates its session, or enters an
//! existing one, between fork and exec, so that the command runs in it from its first
//! instruction, as `agentns run` and `agentns exec` do.
//!
//! ```no_run
//! use std::process::Command;
//!
//! use agentns::{Action, Budget, CommandExt, Counter, NewSession};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Say why the command would fail before spawning it: the errno spawn() returns is bare.
//! agentns::session::ensure_supported()?;
//! let budget = Budget::new()
//!     .with_limit(Counter::Syscalls, 1_000_000)
//!     .with_limit(Counter::WriteBytes, 100 << 20)
//!     .with_action(Action::Deny);
//! let session = NewSession::new()
//!     .intent("ticket-4711")?
//!     .budget(budget)
//!     .no_new_privs();
//! let status = Command::new("make")
//!     .arg("test")
//!     .new_session(session)
//!     .status()?;
//! println!("make test: {status}");
//! # Ok(())
//! # }
//! ```
//!
//! # Errors
//!
//! A step that fails in the child makes [`spawn`](Command::spawn) (and
//! [`status`](Command::status), [`output`](Command::output)) return its errno as an
//! [`io::Error`], and the command does not run; std reaps the child. From
//! [`CommandExt::new_session`]:
//!
//! - `EINVAL`: a kernel without agent namespaces (check first with
//!   [`session::ensure_supported`]), or a budget whose
//!   action the kernel does not know ([`Action::Deny`](crate::Action::Deny) on a kernel older
//!   than it);
//! - `EOPNOTSUPP`: agent namespaces are disabled (`kernel.agent_ns.enabled=0`, or
//!   `agent_ns=off` on the kernel command line);
//! - `EPERM`: neither `CAP_SYS_ADMIN` nor `no_new_privs` ([`NewSession::no_new_privs`]);
//! - `ENOSPC`: 32 nested sessions, or `user.max_agent_namespaces` reached;
//! - `E2BIG`: the budget has a limit this kernel does not know (leave it at 0);
//! - `EDQUOT`: a deny budget of the caller's session, or of one above it, is used up.
//!
//! From [`CommandExt::enter_session`]: `EPERM` without `CAP_SYS_ADMIN` over the session's
//! owner (and over the owner of every session left, when leaving the caller's subtree).
//! [`Error::sys`](crate::Error::sys) turns an errno into the library's sentence for the step
//! ([`Op::CreateSession`](crate::Op::CreateSession), [`Op::SetBudget`](crate::Op::SetBudget),
//! [`Op::Enter`](crate::Op::Enter), ...).

use std::ffi::CString;
use std::io;
use std::os::fd::AsFd;
use std::os::unix::process::CommandExt as _;
use std::process::Command;

use crate::error::Result;
use crate::nsfs::{self, NsFile};
use crate::session::{self, Budget, raw};

/// What the child of a [`Command`] does to create its session: the session itself, then its
/// intent and its budget. Everything is checked and laid out here, before the spawn, so that
/// the child only makes system calls.
#[derive(Clone, Debug, Default)]
pub struct NewSession {
    intent: Option<CString>,
    budget: Option<Budget>,
    no_new_privs: bool,
}

impl NewSession {
    /// A new session without intent or budget.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the new session's intent tag (`PR_SET_AGENT_INTENT_TAG`); an error for a tag the
    /// kernel would refuse (more than 63 bytes, or not printable ASCII), see
    /// [`session::check_intent`].
    pub fn intent(mut self, tag: &str) -> Result<Self> {
        self.intent = Some(session::intent_cstring(tag)?);
        Ok(self)
    }

    /// Sets the new session's budget (`PR_SET_AGENT_BUDGET_LIMITS`).
    pub fn budget(mut self, budget: Budget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Sets `no_new_privs` in the child first (`PR_SET_NO_NEW_PRIVS`), which lets a process
    /// without `CAP_SYS_ADMIN` create a session. It stays set for the command and everything
    /// it runs: set-user-ID and file capabilities no longer raise privileges.
    pub fn no_new_privs(mut self) -> Self {
        self.no_new_privs = true;
        self
    }

    /// The steps, in the child: raw system calls on what `self` holds, nothing else.
    fn run_in_child(&self) -> io::Result<()> {
        if self.no_new_privs {
            rustix::thread::set_no_new_privs(true)?;
        }
        raw::create()?;
        if let Some(tag) = &self.intent {
            raw::set_intent(tag)?;
        }
        if let Some(b) = &self.budget {
            raw::set_budget(&b.0)?;
        }
        Ok(())
    }
}

/// Runs a [`Command`] in an agent session (see the [module documentation](self)).
///
/// Each call adds a step that the child runs after fork and before exec, in the order of the
/// calls, as [`std::os::unix::process::CommandExt::pre_exec`] does (and after the
/// `pre_exec` closures added before it): [`enter_session`](Self::enter_session) then
/// [`new_session`](Self::new_session) creates the new session below the entered one.
///
/// # Async-signal-safety
///
/// The child of a multi-threaded process may only make async-signal-safe calls between fork
/// and exec: another thread may have held the allocator's lock, or any other, at the fork. The
/// steps added here allocate nothing and take no lock: [`NewSession`] checks the intent and
/// lays out the intent string and the budget structure before the spawn, an entered session's
/// descriptor is opened before it, and the child only makes the `prctl(2)` and `setns(2)` calls
/// on them, returning their errno.
pub trait CommandExt {
    /// Creates a new session, a child of the one the child process is in, and moves the child
    /// into it (`PR_SET_AGENT_NS`), after setting `no_new_privs` when asked; then sets the new
    /// session's intent and budget. The child process is single-threaded, as the kernel
    /// requires.
    fn new_session(&mut self, session: NewSession) -> &mut Self;

    /// Moves the child into the session of `ns` (`setns(2)` with `AGENT_NS_TYPE`), which
    /// needs `CAP_SYS_ADMIN` over the session's owner. `ns` is closed in the parent once the
    /// command is dropped, and in the child at exec (it is close-on-exec).
    fn enter_session(&mut self, ns: NsFile) -> &mut Self;
}

impl CommandExt for Command {
    fn new_session(&mut self, session: NewSession) -> &mut Self {
        // SAFETY: The closure is async-signal-safe (see the trait's documentation): it reads
        // what `session` holds, makes prctl(2) calls and builds an `io::Error` from an errno,
        // none of which allocates or locks.
        unsafe { self.pre_exec(move || session.run_in_child()) }
    }

    fn enter_session(&mut self, ns: NsFile) -> &mut Self {
        // SAFETY: The closure is async-signal-safe: one setns(2) on a descriptor opened
        // before the spawn, and an `io::Error` from its errno.
        unsafe { self.pre_exec(move || nsfs::setns(ns.as_fd())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Action, Counter};

    /// A file that the command creates if it runs.
    fn marker(name: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!("agentns-command-{}-{name}", std::process::id()))
    }

    #[test]
    fn a_bad_intent_fails_before_the_spawn() {
        assert!(NewSession::new().intent(&"x".repeat(64)).is_err());
        assert!(NewSession::new().intent("tab\there").is_err());
        assert!(NewSession::new().intent("nul\0").is_err());
        let s = NewSession::new().intent("ticket-4711").unwrap();
        assert_eq!(s.intent.as_deref(), Some(c"ticket-4711"));
    }

    #[test]
    fn the_child_gets_everything_laid_out() {
        let b = Budget::new()
            .with_limit(Counter::Syscalls, 10)
            .with_action(Action::Deny);
        let s = NewSession::new()
            .intent("")
            .unwrap()
            .budget(b)
            .no_new_privs();
        assert_eq!(s.intent.as_deref(), Some(c""));
        assert_eq!(s.budget, Some(b));
        assert!(s.no_new_privs);
        let plain = NewSession::new();
        assert!(plain.intent.is_none() && plain.budget.is_none() && !plain.no_new_privs);
    }

    #[test]
    fn spawn_runs_the_command_only_in_a_new_session() {
        let m = marker("new");
        let _ = std::fs::remove_file(&m);
        let r = Command::new("sh")
            .arg("-c")
            .arg("cat /proc/self/agent_session > \"$1\"")
            .arg("sh")
            .arg(&m)
            .new_session(
                NewSession::new()
                    .intent("agentns-unit-test")
                    .unwrap()
                    .no_new_privs(),
            )
            .status();
        if session::supported() {
            // A kernel with the feature: the command ran in a session of its own.
            let status = r.expect("spawn in a new session");
            let enabled = std::fs::read_to_string("/proc/sys/kernel/agent_ns/enabled")
                .is_ok_and(|v| v.trim() == "1");
            if enabled {
                assert!(status.success());
                let id = std::fs::read_to_string(&m).unwrap();
                let _ = std::fs::remove_file(&m);
                assert_ne!(id.trim().parse().ok(), session::session_id().ok());
            }
            return;
        }
        // A kernel without agent namespaces: PR_SET_AGENT_NS is an unknown option.
        let e = r.expect_err("no session on a kernel without agent namespaces");
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL), "{e}");
        assert!(!m.exists(), "the command ran");
    }

    #[test]
    fn the_steps_run_in_the_child_only() {
        // The parent's session and no_new_privs are untouched, whatever the child did.
        let nnp = || {
            std::fs::read_to_string("/proc/self/status")
                .unwrap()
                .lines()
                .find_map(|l| l.strip_prefix("NoNewPrivs:").map(|v| v.trim().to_string()))
        };
        let before = (nnp(), session::session_id().ok());
        let _ = Command::new("true")
            .new_session(NewSession::new().no_new_privs())
            .status();
        assert_eq!((nnp(), session::session_id().ok()), before);
    }

    #[test]
    fn enter_session_of_the_callers_own_session() {
        // Without agent namespaces there is no namespace file to enter (nothing to test);
        // with them, entering the caller's own session keeps the child where it was, or fails
        // without CAP_SYS_ADMIN and runs nothing.
        let Ok(own) = NsFile::of_self() else {
            return;
        };
        let m = marker("enter");
        let _ = std::fs::remove_file(&m);
        let r = Command::new("sh")
            .arg("-c")
            .arg("cat /proc/self/agent_session > \"$1\"")
            .arg("sh")
            .arg(&m)
            .enter_session(own)
            .status();
        match r {
            Ok(s) => {
                assert!(s.success());
                let id = std::fs::read_to_string(&m).unwrap();
                assert_eq!(id.trim().parse().ok(), session::session_id().ok());
            }
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EPERM), "{e}");
                assert!(!m.exists(), "the command ran");
            }
        }
        let _ = std::fs::remove_file(&m);
    }
}
