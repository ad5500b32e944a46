// SPDX-License-Identifier: GPL-2.0
//! `agentns kill [-s SIGNAL] SESSION...`: signal every process of sessions and of the sessions
//! below them, as `systemctl kill` does for a unit's processes.

use std::collections::BTreeSet;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use agentns::listing::Snapshot;
use agentns::procfs::{self, Pid};
use agentns::select::{self, Subtree};

use super::Result;
use crate::cli::KillArgs;

/// The signals by name, without the SIG prefix (kill -l's names, with the usual aliases).
const SIGNALS: &[(&str, i32)] = &[
    ("HUP", libc::SIGHUP),
    ("INT", libc::SIGINT),
    ("QUIT", libc::SIGQUIT),
    ("ILL", libc::SIGILL),
    ("TRAP", libc::SIGTRAP),
    ("ABRT", libc::SIGABRT),
    ("IOT", libc::SIGIOT),
    ("BUS", libc::SIGBUS),
    ("FPE", libc::SIGFPE),
    ("KILL", libc::SIGKILL),
    ("USR1", libc::SIGUSR1),
    ("SEGV", libc::SIGSEGV),
    ("USR2", libc::SIGUSR2),
    ("PIPE", libc::SIGPIPE),
    ("ALRM", libc::SIGALRM),
    ("TERM", libc::SIGTERM),
    ("STKFLT", libc::SIGSTKFLT),
    ("CHLD", libc::SIGCHLD),
    ("CONT", libc::SIGCONT),
    ("STOP", libc::SIGSTOP),
    ("TSTP", libc::SIGTSTP),
    ("TTIN", libc::SIGTTIN),
    ("TTOU", libc::SIGTTOU),
    ("URG", libc::SIGURG),
    ("XCPU", libc::SIGXCPU),
    ("XFSZ", libc::SIGXFSZ),
    ("VTALRM", libc::SIGVTALRM),
    ("PROF", libc::SIGPROF),
    ("WINCH", libc::SIGWINCH),
    ("IO", libc::SIGIO),
    ("POLL", libc::SIGPOLL),
    ("PWR", libc::SIGPWR),
    ("SYS", libc::SIGSYS),
];

/// The highest signal number the kernel takes (`_NSIG - 1`).
const MAX_SIGNAL: i32 = 64;

/// Parses a signal: a name with or without `SIG`, in any case (`TERM`, `SIGTERM`, `term`), or
/// a number from 0 (no signal: only the permission check, as kill -0) to 64.
pub fn parse_signal(s: &str) -> std::result::Result<i32, String> {
    if let Ok(n) = s.parse::<i32>() {
        return if (0..=MAX_SIGNAL).contains(&n) {
            Ok(n)
        } else {
            Err(format!(
                "signal number {n} is not between 0 and {MAX_SIGNAL}"
            ))
        };
    }
    let up = s.to_ascii_uppercase();
    let name = up.strip_prefix("SIG").unwrap_or(&up);
    SIGNALS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| *v)
        .ok_or_else(|| {
            format!(
                "unknown signal {s:?}; give a number or one of {}",
                SIGNALS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
}

/// `SIGTERM` for 15, the number for a signal without a name.
pub fn signal_name(sig: i32) -> String {
    match SIGNALS.iter().find(|(_, v)| *v == sig) {
        Some((n, _)) => format!("SIG{n}"),
        None => sig.to_string(),
    }
}

/// How many times /proc is walked: again while a walk finds processes the ones before did
/// not (forked while they were being signalled), at most this often.
const MAX_PASSES: usize = 10;

/// What became of one signal.
enum Sent {
    /// Delivered (or, for signal 0, allowed).
    Yes,
    /// The process was gone, or no longer in the sessions (its pid reused), by then.
    Gone,
}

/// Sends `sig` to `pid` if it is still in `tree`: through a pidfd (pidfd_open(2), then the
/// check, then pidfd_send_signal(2)), so that a pid reused between the walk and the signal is
/// never hit; with kill(2) on a kernel without pidfds. kill(2)'s permission rules apply.
fn send(pid: i32, sig: i32, tree: &mut Subtree) -> io::Result<Sent> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new file descriptor.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ESRCH) => Ok(Sent::Gone),
            Some(libc::ENOSYS) => {
                // SAFETY: kill takes a pid and a signal number.
                if unsafe { libc::kill(pid, sig) } == 0 {
                    Ok(Sent::Yes)
                } else {
                    gone_or(io::Error::last_os_error())
                }
            }
            _ => Err(e),
        };
    }
    // SAFETY: `fd` is a new file descriptor owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    // The pidfd pins the process: if /proc/PID is (still) in the sessions now, it is the
    // process the pidfd refers to, or that process has exited and the signal finds nothing.
    if !tree.contains_pid(pid) {
        return Ok(Sent::Gone);
    }
    // SAFETY: pidfd_send_signal takes a pidfd, a signal, an optional siginfo (none) and flags.
    let r = unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            std::ptr::null::<libc::siginfo_t>(),
            0u32,
        )
    };
    if r == 0 {
        Ok(Sent::Yes)
    } else {
        gone_or(io::Error::last_os_error())
    }
}

fn gone_or(e: io::Error) -> io::Result<Sent> {
    if e.raw_os_error() == Some(libc::ESRCH) {
        Ok(Sent::Gone)
    } else {
        Err(e)
    }
}

/// Why a signal was refused, in a sentence.
fn why(e: &io::Error) -> String {
    let s = e.to_string();
    let s = s.split(" (os error").next().unwrap_or(&s).to_string();
    match e.raw_os_error() {
        Some(libc::EPERM) => format!(
            "{s} (EPERM): signalling another user's process needs CAP_KILL, as kill(2) says"
        ),
        _ => s,
    }
}

/// Runs `agentns kill`.
pub fn kill(a: KillArgs) -> Result {
    agentns::session::ensure_supported()?;
    let snap = Snapshot::collect()?;
    let mut roots = Vec::new();
    for arg in &a.sessions {
        let s = select::resolve(&snap, arg)?;
        if s.initial {
            return Err(format!(
                "{arg}: refusing to signal the initial session: it holds every process that is \
                 in no session, and every session is below it"
            )
            .into());
        }
        roots.push(s);
    }
    let mut tree = Subtree::new(&snap, &roots);
    let mut seen = BTreeSet::new();
    let mut failed = 0usize;
    for _ in 0..MAX_PASSES {
        let new: Vec<i32> = tree
            .pids()?
            .into_iter()
            .filter(|p| !seen.contains(p))
            .collect();
        if new.is_empty() {
            break;
        }
        for pid in new {
            seen.insert(pid);
            let p = Pid::Pid(pid);
            if a.dry_run {
                let id = procfs::session_id(p)
                    .map(|i| i.to_string())
                    .unwrap_or_else(|_| "-".into());
                println!("{pid} {id} {}", procfs::comm(p));
                continue;
            }
            match send(pid, a.signal, &mut tree) {
                Ok(Sent::Yes | Sent::Gone) => {}
                Err(e) => {
                    eprintln!(
                        "agentns: {} to {pid} ({}): {}",
                        signal_name(a.signal),
                        procfs::comm(p),
                        why(&e)
                    );
                    failed += 1;
                }
            }
        }
        if a.dry_run {
            break;
        }
    }
    Ok(u8::from(failed > 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signals_by_name_and_number() {
        for (s, want) in [
            ("KILL", libc::SIGKILL),
            ("9", 9),
            ("SIGKILL", libc::SIGKILL),
            ("kill", libc::SIGKILL),
            ("sigterm", libc::SIGTERM),
            ("TERM", 15),
            ("HUP", 1),
            ("usr1", libc::SIGUSR1),
            ("0", 0),
            ("64", 64),
            ("Cont", libc::SIGCONT),
        ] {
            assert_eq!(parse_signal(s), Ok(want), "{s}");
        }
        for bad in ["", "SIG", "65", "-1", "FOO", "SIGFOO", "9x", "SIG9"] {
            assert!(parse_signal(bad).is_err(), "{bad:?}");
        }
        assert!(parse_signal("FOO").unwrap_err().contains("TERM"));
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(signal_name(40), "40");
    }

    #[test]
    fn eperm_is_explained() {
        let e = io::Error::from_raw_os_error(libc::EPERM);
        let s = why(&e);
        assert!(s.starts_with("Operation not permitted (EPERM)"), "{s}");
        assert!(s.contains("CAP_KILL"), "{s}");
        assert!(!s.contains("os error"), "{s}");
    }
}
