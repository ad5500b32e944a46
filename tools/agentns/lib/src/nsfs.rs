// SPDX-License-Identifier: GPL-2.0
//! Session namespace files (`/proc/PID/ns/agent`): the nsfs ioctls, setns(2), listns(2)
//! and open_by_handle_at(2).

use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use rustix::fs::{Mode, OFlags};
use serde::Serialize;

use crate::error::{Error, Op, Result};
use crate::session::{Budget, Counter, Counters, SessionId};
use crate::uapi::{self, AgentNsBudget, AgentNsCounters, AgentNsInfo, Opcode};

/// The nsfs inode number of the initial session's namespace file (`AGENT_NS_INIT_INO`): what
/// [`NsFile::inode`] is for it, and `stat /proc/PID/ns/agent` for a process outside sessions.
pub const INITIAL_INODE: u64 = uapi::AGENT_NS_INIT_INO;

/// What `AGENT_NS_GET_INFO` tells about a session, also after its last task has exited.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// The session's id.
    pub id: SessionId,
    /// Its parent's id (zeros for the initial session).
    pub parent_id: SessionId,
    /// Its depth: 0 for the initial session.
    pub depth: u32,
    /// A SIGTERM or SIGKILL action of the session's own budget has fired.
    pub acted: bool,
    /// A SIGTERM or SIGKILL action of a budget above it has fired.
    pub acted_above: bool,
    /// The reaper killed its tasks: it, or a session above it, outlived
    /// `kernel.agent_ns.max_lifetime`.
    pub reaped: bool,
    /// The limits of its own budget whose action fired since they were set, in the counters'
    /// order (serialized by name: `syscalls`, `write_bytes`, `elapsed_ns`, ...).
    pub fired: Vec<Counter>,
}

impl SessionInfo {
    fn from_uapi(i: &AgentNsInfo) -> Self {
        let has = |flag: u64| u64::from(i.flags) & flag != 0;
        SessionInfo {
            id: SessionId(i.id),
            parent_id: SessionId(i.parent_id),
            depth: i.level,
            acted: has(uapi::AGENT_NS_INFO_ACTED),
            acted_above: has(uapi::AGENT_NS_INFO_ACTED_ABOVE),
            reaped: has(uapi::AGENT_NS_INFO_REAPED),
            // Bit N is the limit of the N-th field of `struct agent_ns_counters`.
            fired: Counter::ALL
                .iter()
                .enumerate()
                .filter(|(n, _)| i.fired & (1 << n) != 0)
                .map(|(_, &c)| c)
                .collect(),
        }
    }
}

/// An open namespace file of an agent session. Holding it keeps the session alive.
#[derive(Debug)]
pub struct NsFile {
    fd: OwnedFd,
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

impl NsFile {
    /// Opens `/proc/PID/ns/agent`.
    pub fn of_pid(pid: i32) -> Result<Self> {
        if pid <= 0 || !Path::new(&format!("/proc/{pid}")).exists() {
            return Err(Error::sys(
                Op::OpenNsFile,
                libc::ESRCH,
                Some(format!("pid {pid}")),
            ));
        }
        Self::open(format!("/proc/{pid}/ns/agent"))
    }

    /// Opens the caller's own `/proc/self/ns/agent`.
    pub fn of_self() -> Result<Self> {
        Self::open("/proc/self/ns/agent")
    }

    /// Opens a namespace file by path (`/proc/PID/ns/agent` or a bind mount of one) and checks
    /// that it is an agent session's.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if path.as_os_str().as_bytes().contains(&0) {
            return Err(Error::Invalid(format!("{}: NUL in path", path.display())));
        }
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty());
        let fd = fd.map_err(|e| {
            let e = e.raw_os_error();
            if e == libc::ENOENT
                && Path::new("/proc/self/ns").exists()
                && !Path::new("/proc/self/ns/agent").exists()
                && !crate::session::supported()
            {
                Error::NotSupported
            } else {
                Error::sys(Op::OpenNsFile, e, Some(path.display().to_string()))
            }
        })?;
        let f = NsFile { fd };
        f.check_type(&path.display().to_string())?;
        Ok(f)
    }

    /// Takes an already open file descriptor, checking that it is an agent session's.
    pub fn from_fd(fd: OwnedFd) -> Result<Self> {
        let f = NsFile { fd };
        f.check_type("file descriptor")?;
        Ok(f)
    }

    fn check_type(&self, what: &str) -> Result<()> {
        let t = self.ioctl(uapi::NS_GET_NSTYPE)?;
        if t as u64 != uapi::AGENT_NS_TYPE {
            return Err(Error::Invalid(format!(
                "{what} is a namespace of type {t:#x}, not an agent session ({:#x})",
                uapi::AGENT_NS_TYPE
            )));
        }
        Ok(())
    }

    /// An argument-less nsfs ioctl (`_IO`), whose result is an integer or a new descriptor
    /// (rustix's `NoArg` drops the result).
    fn ioctl(&self, req: Opcode) -> Result<libc::c_int> {
        // SAFETY: The argument-less nsfs ioctls take no pointer.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), req as _) };
        if r < 0 {
            return Err(Error::last(Op::NsIoctl));
        }
        Ok(r)
    }

    /// The namespace id (`NS_GET_ID`), unique among all namespaces since boot.
    pub fn ns_id(&self) -> Result<u64> {
        self.read_struct::<u64>(uapi::NS_GET_ID)
    }

    /// Reads a `T` with the `_IOR` ioctl `req`, which is sized for it.
    ///
    /// This is `libc::ioctl` on a zeroed `T`: rustix's `Getter` is as unsafe (an `unsafe fn`
    /// for which the command and the type must agree) and reads a `MaybeUninit<T>` back.
    fn read_struct<T: Default>(&self, req: Opcode) -> Result<T> {
        let mut v = T::default();
        // SAFETY: `req` is `NS_GET_ID` or an `AGENT_NS_GET_*` command whose size is
        // `size_of::<T>()`: the kernel writes at most that many bytes to the pointer.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), req as _, &mut v as *mut T) };
        if r < 0 {
            return Err(Error::last(Op::NsIoctl));
        }
        Ok(v)
    }

    /// The session's id, parent, depth and what its budgets and the reaper did
    /// (`AGENT_NS_GET_INFO`). Fails with `ENOTTY` on a kernel older than the ioctl.
    pub fn info(&self) -> Result<SessionInfo> {
        let i: AgentNsInfo = self.read_struct(uapi::AGENT_NS_GET_INFO)?;
        Ok(SessionInfo::from_uapi(&i))
    }

    /// The session's counters, subtree included (`AGENT_NS_GET_COUNTERS`): readable as long as
    /// the descriptor is open, also after the session's last task has exited.
    pub fn counters(&self) -> Result<Counters> {
        Ok(Counters(self.read_struct::<AgentNsCounters>(
            uapi::AGENT_NS_GET_COUNTERS,
        )?))
    }

    /// The session's own budget limits (`AGENT_NS_GET_BUDGET`).
    pub fn budget(&self) -> Result<Budget> {
        Ok(Budget(
            self.read_struct::<AgentNsBudget>(uapi::AGENT_NS_GET_BUDGET)?,
        ))
    }

    /// The nsfs inode number: what `readlink /proc/PID/ns/agent` shows as `agent:[INUM]`.
    pub fn inode(&self) -> Result<u64> {
        let st = rustix::fs::fstat(&self.fd)
            .map_err(|e| Error::sys(Op::NsIoctl, e.raw_os_error(), None))?;
        Ok(st.st_ino)
    }

    /// Whether this is the initial session.
    pub fn is_initial(&self) -> Result<bool> {
        Ok(self.inode()? == INITIAL_INODE)
    }

    /// The parent session (`NS_GET_PARENT`), or `None` at the top of what the caller may see.
    ///
    /// The kernel follows the pid namespaces' rule: it hands out the parent only when that is
    /// the caller's own current session or a descendant of it, and answers `EPERM` otherwise,
    /// as it does for the initial session, which has no parent. So from the initial session
    /// every chain leads up to the initial session, while from inside a session a chain stops
    /// at the caller's own session, and a session outside the caller's subtree shows no parent
    /// at all. `None` with [`is_initial`](Self::is_initial) false means the parent exists but
    /// is not visible from the caller's session.
    pub fn parent(&self) -> Result<Option<NsFile>> {
        // SAFETY: NS_GET_PARENT takes no argument and returns a new file descriptor.
        let r = unsafe { libc::ioctl(self.fd.as_raw_fd(), uapi::NS_GET_PARENT as _) };
        if r < 0 {
            let e = errno();
            if parent_not_visible(e) {
                return Ok(None);
            }
            return Err(Error::sys(Op::NsIoctl, e, Some("NS_GET_PARENT".into())));
        }
        // SAFETY: `r` is a new file descriptor owned by nobody else.
        Ok(Some(NsFile {
            fd: unsafe { OwnedFd::from_raw_fd(r) },
        }))
    }

    /// The chain of ancestors the caller may see, parent first (see [`parent`](Self::parent)).
    ///
    /// From the initial session it ends with the initial session and its length is the
    /// session's depth (0 for the initial session). From inside a session it ends with the
    /// caller's own session (for a session below it) or is empty (for the caller's own session
    /// and every session outside its subtree); [`Ancestors::complete`] tells the cases apart.
    pub fn ancestors(&self) -> Result<Ancestors> {
        let mut chain: Vec<NsFile> = Vec::new();
        let mut cur = self.parent()?;
        while let Some(p) = cur {
            cur = p.parent()?;
            chain.push(p);
            if chain.len() > 64 {
                return Err(Error::Invalid("session chain deeper than 64".into()));
            }
        }
        let top = match chain.last() {
            Some(p) => p.is_initial()?,
            None => self.is_initial()?,
        };
        Ok(Ancestors {
            chain,
            complete: top,
        })
    }

    /// Moves the calling process into this session (`setns(fd, AGENT_NS_TYPE)`). The caller
    /// must be single-threaded.
    pub fn enter(&self) -> Result<()> {
        enter_fd(self.fd.as_fd())
    }

    /// Opens a session by its namespace id (open_by_handle_at(2) on `FD_NSFS_ROOT`), which
    /// needs `CAP_SYS_ADMIN` over it.
    pub fn by_ns_id(ns_id: u64) -> Result<Self> {
        #[repr(C)]
        struct Handle {
            handle_bytes: u32,
            handle_type: i32,
            fh: uapi::NsfsFileHandle,
        }
        // The kernel takes ns_type and ns_inum together or neither: leave both out and check
        // the type of what opened instead.
        let mut h = Handle {
            handle_bytes: std::mem::size_of::<uapi::NsfsFileHandle>() as u32,
            handle_type: uapi::FILEID_NSFS,
            fh: uapi::NsfsFileHandle {
                ns_id,
                ns_type: 0,
                ns_inum: 0,
            },
        };
        // SAFETY: `h` is laid out as `struct file_handle` followed by its 16 handle bytes.
        let fd = unsafe {
            libc::open_by_handle_at(
                uapi::FD_NSFS_ROOT,
                &mut h as *mut Handle as *mut libc::file_handle,
                libc::O_RDONLY | libc::O_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(Error::sys(
                Op::OpenById,
                errno(),
                Some(format!("ns id {ns_id}")),
            ));
        }
        // SAFETY: `fd` is new and owned by nobody else.
        NsFile::from_fd(unsafe { OwnedFd::from_raw_fd(fd) })
    }
}

impl AsFd for NsFile {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

/// Whether an `NS_GET_PARENT` failure with `errno` is the top of what the caller may see (the
/// initial session, or a parent above the caller's own session) rather than an error.
fn parent_not_visible(errno: i32) -> bool {
    errno == libc::EPERM
}

/// A session's ancestors as far as the caller may see them ([`NsFile::ancestors`]).
#[derive(Debug)]
pub struct Ancestors {
    /// The visible ancestors, parent first.
    pub chain: Vec<NsFile>,
    /// Whether the chain reaches the top: it ends with the initial session, or the session is
    /// the initial session. When false the sessions above the last one (above the session
    /// itself, when the chain is empty) are not visible from the caller's session.
    pub complete: bool,
}

impl Ancestors {
    /// The session's depth (0 for the initial session), when the chain is complete.
    pub fn depth(&self) -> Option<usize> {
        self.complete.then_some(self.chain.len())
    }
}

/// `setns(fd, AGENT_NS_TYPE)`: no allocation, no lock, so that a child may call it between
/// fork and exec.
///
/// rustix's setns wrappers take a closed set of namespace types (`LinkNameSpaceType`), without
/// this one: it would have to be 0 (any type), which lets the kernel enter whatever namespace
/// `fd` is, or the pidfd flags of `move_into_thread_name_spaces`, which is not what `fd` is.
pub(crate) fn setns(fd: BorrowedFd<'_>) -> std::io::Result<()> {
    // SAFETY: setns takes a file descriptor and a namespace type, and no pointer.
    if unsafe { libc::setns(fd.as_raw_fd(), uapi::AGENT_NS_TYPE as libc::c_int) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Moves the calling process into the session of namespace file `fd`.
pub fn enter_fd(fd: BorrowedFd<'_>) -> Result<()> {
    setns(fd).map_err(|e| Error::sys(Op::Enter, e.raw_os_error().unwrap_or(0), None))
}

/// Moves the calling process into the session of process `pid`.
pub fn enter_pid(pid: i32) -> Result<()> {
    let f = NsFile::of_pid(pid)?;
    f.enter().map_err(|e| match e {
        Error::Sys { op, errno, .. } => {
            Error::sys(op, errno, Some(format!("/proc/{pid}/ns/agent")))
        }
        e => e,
    })
}

/// The namespace ids of every live agent session the caller may see (listns(2) with
/// `ns_type = AGENT_NS`). Without `CAP_SYS_ADMIN` in the initial namespaces the kernel lists
/// only the caller's own session.
pub fn listns() -> Result<Vec<u64>> {
    let mut ids: Vec<u64> = Vec::new();
    let mut last = 0u64;
    loop {
        let req = uapi::NsIdReq {
            size: uapi::NS_ID_REQ_SIZE_VER0,
            ns_id: last,
            ns_type: uapi::AGENT_NS_TYPE as u32,
            ..Default::default()
        };
        let mut buf = [0u64; 256];
        // SAFETY: `req` is a valid ns_id_req, `buf` has room for `buf.len()` ids.
        let n = unsafe {
            libc::syscall(
                uapi::SYS_LISTNS as libc::c_long,
                &req as *const uapi::NsIdReq,
                buf.as_mut_ptr(),
                buf.len(),
                0u32,
            )
        };
        if n < 0 {
            return Err(Error::last(Op::ListNs));
        }
        let n = n as usize;
        ids.extend_from_slice(&buf[..n]);
        if n < buf.len() {
            return Ok(ids);
        }
        last = buf[n - 1];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eperm_from_ns_get_parent_is_the_top() {
        // EPERM: the initial session, or a parent outside the caller's subtree.
        assert!(parent_not_visible(libc::EPERM));
        for e in [libc::ENOTTY, libc::EBADF, libc::EINVAL, libc::ENOMEM] {
            assert!(!parent_not_visible(e), "{e}");
        }
    }

    #[test]
    fn depth_only_for_a_complete_chain() {
        let top = Ancestors {
            chain: Vec::new(),
            complete: true,
        };
        assert_eq!(top.depth(), Some(0));
        let hidden = Ancestors {
            chain: Vec::new(),
            complete: false,
        };
        assert_eq!(hidden.depth(), None);
    }
}
