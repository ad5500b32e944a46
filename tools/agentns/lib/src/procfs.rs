// SPDX-License-Identifier: GPL-2.0
//! The `/proc/PID/agent_*` files of any process (formats in
//! `Documentation/admin-guide/agent-namespaces.rst`).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::error::{Error, Op, Result};
use crate::session::{Counter, Counters, SessionId};

/// Which process: a pid or the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pid {
    /// `/proc/self`.
    Current,
    /// `/proc/PID`.
    Pid(i32),
}

impl Pid {
    fn dir(self) -> PathBuf {
        match self {
            Pid::Current => PathBuf::from("/proc/self"),
            Pid::Pid(p) => PathBuf::from(format!("/proc/{p}")),
        }
    }
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).map_err(|e| match e.raw_os_error() {
        Some(errno @ (libc::EACCES | libc::ESRCH | libc::EPERM)) => {
            Error::sys(Op::ReadProc, errno, Some(path.display().to_string()))
        }
        Some(libc::ENOENT) => {
            // No /proc/PID at all is a process that is gone; a missing agent file on a live
            // process is a kernel without the feature.
            let proc_dir = path.parent().map(Path::exists).unwrap_or(false);
            if proc_dir && !crate::session::supported() {
                Error::NotSupported
            } else {
                Error::sys(Op::ReadProc, libc::ENOENT, Some(path.display().to_string()))
            }
        }
        _ => Error::io(path, e),
    })
}

/// Parses `/proc/PID/agent_session`: 32 lowercase hex digits and a newline.
pub fn parse_session(text: &str) -> Option<SessionId> {
    let t = text.strip_suffix('\n')?;
    if t.len() != 32 || !t.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    t.parse().ok()
}

/// Reads a process's session id from `/proc/PID/agent_session`.
pub fn session_id(pid: Pid) -> Result<SessionId> {
    let path = pid.dir().join("agent_session");
    let text = read(&path)?;
    parse_session(&text).ok_or_else(|| Error::Format {
        path,
        detail: format!("{text:?} is not 32 lowercase hex digits and a newline"),
    })
}

/// Reads a process's session's intent tag from `/proc/PID/agent_intent` (empty if none).
///
/// The file is mode 0400 and needs ptrace read access to the process, like
/// `/proc/PID/agent_counters`: another user's process gives [`Error::Sys`] with
/// [`Op::ReadProc`] and `EACCES`, which callers show as an unknown intent.
pub fn intent(pid: Pid) -> Result<String> {
    let path = pid.dir().join("agent_intent");
    let text = read(&path)?;
    match text.strip_suffix('\n') {
        Some(t) => Ok(t.to_string()),
        None => Err(Error::Format {
            path,
            detail: "no trailing newline".into(),
        }),
    }
}

/// Parses `/proc/PID/agent_counters`: one `name value` per line. Names this library does not
/// know (a newer kernel) are ignored; every line must be well-formed and `syscalls` present.
pub fn parse_counters(text: &str) -> std::result::Result<Counters, String> {
    let mut c = Counters::default();
    let mut seen_syscalls = false;
    for line in text.lines() {
        let mut it = line.split_whitespace();
        let (Some(name), Some(value), None) = (it.next(), it.next(), it.next()) else {
            return Err(format!("bad line {line:?}"));
        };
        let v: u64 = value
            .parse()
            .map_err(|_| format!("bad value in line {line:?}"))?;
        seen_syscalls |= name == "syscalls";
        if let Ok(counter) = name.parse::<Counter>() {
            c.set(counter, v);
        }
    }
    if !seen_syscalls {
        return Err("no syscalls line".into());
    }
    Ok(c)
}

/// Reads a process's session's counters from `/proc/PID/agent_counters` (mode 0400: needs
/// ptrace read access to the process).
pub fn counters(pid: Pid) -> Result<Counters> {
    let path = pid.dir().join("agent_counters");
    let text = read(&path)?;
    parse_counters(&text).map_err(|detail| Error::Format { path, detail })
}

/// The nsfs inode number of a process's session (stat of `/proc/PID/ns/agent`).
pub fn ns_inode(pid: Pid) -> io::Result<u64> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(pid.dir().join("ns/agent")).map(|m| m.ino())
}

/// A process's command name (`/proc/PID/comm`), or an empty string.
pub fn comm(pid: Pid) -> String {
    fs::read_to_string(pid.dir().join("comm"))
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

/// Every pid in `/proc`, ascending.
pub fn pids() -> Result<Vec<i32>> {
    let mut out: Vec<i32> = fs::read_dir("/proc")
        .map_err(|e| Error::io("/proc", e))?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    out.sort_unstable();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_file_format() {
        let id = parse_session("0123456789abcdef0123456789abcdef\n").unwrap();
        assert_eq!(id.to_string(), "0123456789abcdef0123456789abcdef");
        assert!(parse_session("0123456789abcdef0123456789abcdef").is_none());
        assert!(parse_session("0123456789ABCDEF0123456789abcdef\n").is_none());
        assert!(parse_session("0123\n").is_none());
    }

    #[test]
    fn counters_file_format() {
        let text = "syscalls 120\nopenat 3\nwrite_bytes 4096\nconnect 0\nunlink 1\nfork 2\n\
                    read_bytes 800\nexec 1\nelapsed_ns 123456789\n";
        let c = parse_counters(text).unwrap();
        assert_eq!(c.0.total_syscalls, 120);
        assert_eq!(c.0.openat_count, 3);
        assert_eq!(c.0.write_bytes, 4096);
        assert_eq!(c.0.unlink_count, 1);
        assert_eq!(c.0.fork_count, 2);
        assert_eq!(c.0.read_bytes, 800);
        assert_eq!(c.0.exec_count, 1);
        assert_eq!(c.0.elapsed_ns, 123456789);
        // A newer kernel's counter is ignored.
        assert!(parse_counters("syscalls 1\nfuture_thing 9\n").is_ok());
        assert!(parse_counters("syscalls x\n").is_err());
        assert!(parse_counters("syscalls 1 2\n").is_err());
        assert!(parse_counters("openat 1\n").is_err());
    }
}
