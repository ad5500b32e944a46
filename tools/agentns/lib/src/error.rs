// SPDX-License-Identifier: GPL-2.0
//! Errors that say what happened, with the errno lists of
//! `Documentation/userspace-api/agent_namespaces.rst` and
//! `Documentation/admin-guide/agent-namespaces.rst` turned into sentences.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// What the library was doing when the kernel said no.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `PR_GET_AGENT_SESSION_ID`.
    GetSessionId,
    /// `PR_GET_AGENT_PARENT_ID`.
    GetParentId,
    /// `PR_GET_AGENT_INTENT_TAG`.
    GetIntent,
    /// `PR_SET_AGENT_INTENT_TAG`.
    SetIntent,
    /// `PR_GET_AGENT_COUNTERS`.
    GetCounters,
    /// `PR_GET_AGENT_BUDGET_LIMITS`.
    GetBudget,
    /// `PR_SET_AGENT_BUDGET_LIMITS`.
    SetBudget,
    /// `PR_SET_AGENT_NS`.
    CreateSession,
    /// `PR_SET_NO_NEW_PRIVS`.
    NoNewPrivs,
    /// Opening a `/proc/PID/ns/agent` (or another namespace file).
    OpenNsFile,
    /// An nsfs ioctl on a namespace file.
    NsIoctl,
    /// setns(2) into a session.
    Enter,
    /// listns(2).
    ListNs,
    /// open_by_handle_at(2) of a namespace id.
    OpenById,
    /// Reading a `/proc/PID/agent_*` file.
    ReadProc,
    /// Writing to tracefs.
    Tracefs,
}

impl Op {
    /// The call, as a user would look it up.
    pub fn call(self) -> &'static str {
        match self {
            Op::GetSessionId => "prctl(PR_GET_AGENT_SESSION_ID)",
            Op::GetParentId => "prctl(PR_GET_AGENT_PARENT_ID)",
            Op::GetIntent => "prctl(PR_GET_AGENT_INTENT_TAG)",
            Op::SetIntent => "prctl(PR_SET_AGENT_INTENT_TAG)",
            Op::GetCounters => "prctl(PR_GET_AGENT_COUNTERS)",
            Op::GetBudget => "prctl(PR_GET_AGENT_BUDGET_LIMITS)",
            Op::SetBudget => "prctl(PR_SET_AGENT_BUDGET_LIMITS)",
            Op::CreateSession => "prctl(PR_SET_AGENT_NS)",
            Op::NoNewPrivs => "prctl(PR_SET_NO_NEW_PRIVS)",
            Op::OpenNsFile => "open(namespace file)",
            Op::NsIoctl => "ioctl(namespace file)",
            Op::Enter => "setns(AGENT_NS_TYPE)",
            Op::ListNs => "listns(AGENT_NS)",
            Op::OpenById => "open_by_handle_at(FD_NSFS_ROOT)",
            Op::ReadProc => "read",
            Op::Tracefs => "tracefs",
        }
    }
}

/// An agentns error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// `PR_GET_AGENT_SESSION_ID` answered `EINVAL`: the kernel does not know the option.
    #[error(
        "this kernel has no agent namespace support; boot a linux-wintermute kernel (see README)"
    )]
    NotSupported,
    /// The feature is compiled in but switched off.
    #[error(
        "agent namespaces are disabled on this kernel ({0}): new sessions cannot be created \
         and nothing is counted"
    )]
    Disabled(String),
    /// A system call failed.
    #[error("{}", sys_message(*.op, *.errno, .target.as_deref()))]
    Sys {
        /// What was being done.
        op: Op,
        /// The errno.
        errno: i32,
        /// What it was done to (a path, a pid), when there is one.
        target: Option<String>,
    },
    /// Reading or writing a file failed in a way the kernel's errno says nothing special about.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: io::Error,
    },
    /// A `/proc` or tracefs file did not have the documented format.
    #[error("{}: unexpected contents: {detail}", .path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// An argument the kernel would refuse, caught before asking it.
    #[error("{0}")]
    Invalid(String),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The errno behind the error, if there is one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            Error::NotSupported => Some(libc::EINVAL),
            Error::Disabled(_) => Some(libc::EOPNOTSUPP),
            Error::Sys { errno, .. } => Some(*errno),
            Error::Io { source, .. } => source.raw_os_error(),
            Error::Format { .. } | Error::Invalid(_) => None,
        }
    }

    /// A system-call error for `op` from the current `errno`.
    pub(crate) fn last(op: Op) -> Self {
        Self::sys(
            op,
            io::Error::last_os_error().raw_os_error().unwrap_or(0),
            None,
        )
    }

    /// A system-call error for `op` with an explicit errno and target.
    pub fn sys(op: Op, errno: i32, target: Option<String>) -> Self {
        Error::Sys { op, errno, target }
    }

    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

fn strerror(errno: i32) -> String {
    let s = io::Error::from_raw_os_error(errno).to_string();
    // "Operation not permitted (os error 1)" -> "Operation not permitted"
    match s.rfind(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn errno_name(errno: i32) -> &'static str {
    match errno {
        libc::EPERM => "EPERM",
        libc::ENOENT => "ENOENT",
        libc::ESRCH => "ESRCH",
        libc::EBADF => "EBADF",
        libc::ENOMEM => "ENOMEM",
        libc::EACCES => "EACCES",
        libc::EFAULT => "EFAULT",
        libc::EINVAL => "EINVAL",
        libc::ENOSPC => "ENOSPC",
        libc::ENOSYS => "ENOSYS",
        libc::ENOTTY => "ENOTTY",
        libc::E2BIG => "E2BIG",
        libc::EUSERS => "EUSERS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        libc::EBUSY => "EBUSY",
        libc::ESTALE => "ESTALE",
        libc::EDQUOT => "EDQUOT",
        _ => "",
    }
}

/// One sentence per documented errno of each operation.
fn explain(op: Op, errno: i32) -> Option<&'static str> {
    use libc::*;
    Some(match (op, errno) {
        (Op::CreateSession, EPERM) => {
            "creating a session needs CAP_SYS_ADMIN in your user namespace, or no_new_privs \
             (agentns run --no-new-privs sets it)"
        }
        (Op::CreateSession, EINVAL) => {
            "the caller is multi-threaded; a session covers whole processes, so only a \
             single-threaded process may create one"
        }
        (Op::CreateSession, ENOSPC) => {
            "sessions nest at most 32 deep, or you reached user.max_agent_namespaces (the \
             number of live sessions one user may own)"
        }
        (Op::CreateSession, EUSERS) | (Op::Enter, EUSERS) => {
            "too many nested namespaces or users for the kernel's limits"
        }
        (Op::CreateSession, ENOMEM) => "the kernel is out of memory",
        (Op::SetIntent, EINVAL) => {
            "an intent tag is at most 63 printable ASCII bytes (0x20-0x7e), and the initial \
             session (outside any agentns session) has no tag"
        }
        (Op::SetBudget, EINVAL) => {
            "the budget was refused: an unknown action (a kernel older than the deny action \
             refuses it), a non-zero reserved field or a short structure, or the caller is in \
             the initial session, which has no budget"
        }
        (Op::SetBudget, E2BIG) => {
            "this kernel does not know some of the limits given (non-zero bytes past its \
             struct agent_ns_budget); leave the newer limits at 0"
        }
        (Op::SetBudget, EPERM) => {
            "loosening a budget (raising or removing a limit, or changing the action other \
             than from log or to kill) needs CAP_SYS_ADMIN in the user namespace that owns the \
             session; tightening is always allowed"
        }
        (Op::GetCounters | Op::GetBudget, EINVAL) => "the structure size was refused",
        (Op::GetCounters | Op::GetBudget, E2BIG) => "the structure size is above a page",
        (_, EDQUOT) => {
            "a budget with the deny action refused it: a limit of this session or of a session \
             above it is used up (max_syscalls, or the counter of this operation)"
        }
        (_, EFAULT) => "the kernel could not access a buffer (a bug in agentns)",
        (Op::Enter, EPERM) => {
            "entering a session needs CAP_SYS_ADMIN over its owner, and leaving your session \
             for one outside its subtree needs CAP_SYS_ADMIN over the owner of every session \
             left"
        }
        (Op::Enter, EINVAL) => {
            "not an agent namespace file, or the caller is multi-threaded (a session covers \
             whole processes)"
        }
        (Op::Enter, EBADF) => "not an open namespace file",
        (Op::OpenNsFile, ENOENT) => {
            "no such process, or this kernel has no agent namespaces (/proc/PID/ns/agent is \
             missing)"
        }
        (Op::OpenNsFile, ESRCH) => "there is no process with that pid",
        (Op::ReadProc, ESRCH) => "the process has exited",
        (Op::OpenNsFile, EACCES) | (Op::OpenNsFile, EPERM) => {
            "opening another process's namespace file needs ptrace access to it (same user, \
             or CAP_SYS_PTRACE)"
        }
        (Op::ReadProc, EACCES) => {
            "reading another process's counters or intent needs ptrace read access to it \
             (same user, or CAP_SYS_PTRACE)"
        }
        (Op::ReadProc, ENOENT) => "no such process",
        (Op::NsIoctl, ENOTTY) => "not a namespace file, or the kernel lacks this nsfs ioctl",
        (Op::NsIoctl, EPERM) => {
            "the namespace is outside what the caller may see (NS_GET_PARENT hands out only \
             the caller's own session and the sessions below it)"
        }
        (Op::ListNs, ENOSYS) => "this kernel has no listns(2) (Linux 6.19 or later has it)",
        (Op::ListNs, EPERM) => "listing needs CAP_SYS_ADMIN in the initial namespaces",
        (Op::ListNs, EINVAL) => "this kernel's listns(2) does not know agent namespaces",
        (Op::OpenById, EPERM) | (Op::OpenById, EACCES) => {
            "opening a namespace by its id needs CAP_SYS_ADMIN over it"
        }
        (Op::OpenById, ESTALE) => "the namespace no longer exists",
        (Op::NoNewPrivs, _) => "the kernel refused to set no_new_privs",
        (Op::Tracefs, ENOENT) => {
            "tracefs is not mounted at /sys/kernel/tracing, or the kernel has no agent_ns \
             events"
        }
        (Op::Tracefs, EACCES) | (Op::Tracefs, EPERM) => "tracing needs root",
        (Op::Tracefs, EBUSY) => "another process is reading trace_pipe",
        _ => return None,
    })
}

fn sys_message(op: Op, errno: i32, target: Option<&str>) -> String {
    let mut s = String::new();
    use fmt::Write as _;
    let _ = write!(s, "{}", op.call());
    if let Some(t) = target {
        let _ = write!(s, " on {t}");
    }
    let name = errno_name(errno);
    let _ = write!(s, " failed: {}", strerror(errno));
    if !name.is_empty() {
        let _ = write!(s, " ({name})");
    }
    if let Some(why) = explain(op, errno) {
        let _ = write!(s, ": {why}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_supported_says_what_to_do() {
        assert_eq!(
            Error::NotSupported.to_string(),
            "this kernel has no agent namespace support; boot a linux-wintermute kernel (see \
             README)"
        );
    }

    #[test]
    fn every_documented_errno_has_a_sentence() {
        let documented: &[(Op, i32)] = &[
            (Op::CreateSession, libc::EPERM),
            (Op::CreateSession, libc::EINVAL),
            (Op::CreateSession, libc::ENOSPC),
            (Op::CreateSession, libc::ENOMEM),
            (Op::CreateSession, libc::EUSERS),
            (Op::SetIntent, libc::EINVAL),
            (Op::SetIntent, libc::EFAULT),
            (Op::SetBudget, libc::EINVAL),
            (Op::SetBudget, libc::E2BIG),
            (Op::SetBudget, libc::EPERM),
            (Op::GetCounters, libc::EINVAL),
            (Op::GetCounters, libc::E2BIG),
            (Op::GetBudget, libc::EINVAL),
            (Op::Enter, libc::EPERM),
            (Op::Enter, libc::EINVAL),
            (Op::ReadProc, libc::EACCES),
            (Op::ReadProc, libc::ESRCH),
            (Op::GetCounters, libc::EDQUOT),
            (Op::OpenNsFile, libc::EDQUOT),
        ];
        for (op, e) in documented {
            assert!(explain(*op, *e).is_some(), "{op:?} {e}");
        }
    }

    #[test]
    fn sys_message_names_call_target_and_errno() {
        let e = Error::sys(Op::Enter, libc::EPERM, Some("/proc/42/ns/agent".into()));
        let s = e.to_string();
        assert!(
            s.starts_with("setns(AGENT_NS_TYPE) on /proc/42/ns/agent failed: "),
            "{s}"
        );
        assert!(
            s.contains("(EPERM): entering a session needs CAP_SYS_ADMIN"),
            "{s}"
        );
        assert_eq!(e.errno(), Some(libc::EPERM));
    }

    #[test]
    fn unreadable_proc_file_names_ptrace_access() {
        let e = Error::sys(
            Op::ReadProc,
            libc::EACCES,
            Some("/proc/1/agent_intent".into()),
        );
        let s = e.to_string();
        assert!(
            s.starts_with("read on /proc/1/agent_intent failed: "),
            "{s}"
        );
        assert!(
            s.contains("(EACCES): reading another process's counters or intent needs ptrace"),
            "{s}"
        );
    }

    #[test]
    fn edquot_is_a_deny_budget() {
        let s = Error::sys(Op::NoNewPrivs, libc::EDQUOT, None).to_string();
        assert!(s.contains("(EDQUOT): a budget with the deny action"), "{s}");
    }
}
