// SPDX-License-Identifier: GPL-2.0
//! The calling process's session: the `PR_*AGENT*` prctl(2) options.

use std::ffi::CString;
use std::fmt;
use std::io;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::{Error, Op, Result};
use crate::uapi::{self, AgentNsBudget, AgentNsCounters};

/// A session id: 128 opaque bits, all zeros for the initial session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub [u8; uapi::ID_BYTES]);

impl SessionId {
    /// The initial session's id.
    pub const INITIAL: SessionId = SessionId([0; uapi::ID_BYTES]);

    /// Whether this is the initial session (no supervisor put the task in a session).
    pub fn is_initial(&self) -> bool {
        *self == Self::INITIAL
    }
}

impl fmt::Display for SessionId {
    /// 32 lowercase hex digits, most significant byte first, as `/proc/PID/agent_session`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for SessionId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let s = s.trim_end_matches('\n');
        if s.len() != 2 * uapi::ID_BYTES || !s.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(Error::Invalid(format!(
                "{s:?} is not a session id (32 hexadecimal digits)"
            )));
        }
        let mut id = [0u8; uapi::ID_BYTES];
        for (i, b) in id.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).expect("checked hex");
        }
        Ok(SessionId(id))
    }
}

impl Serialize for SessionId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// A counter of a session, and the budget limit on it: one for each field of
/// `struct agent_ns_counters`, in the header's order (bit N of `AGENT_NS_FIRED_*` is the N-th).
///
/// Its [name](Counter::name) is the one `/proc/PID/agent_counters`, the tracepoints and the
/// audit records use; [`FromStr`] parses it. Every counter covers the session and the sessions
/// below it, and so does the budget limit on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Counter {
    /// `syscalls`: system calls entered, and io_uring submissions.
    Syscalls,
    /// `openat`: files opened.
    Openat,
    /// `write_bytes`: bytes written, through any interface.
    WriteBytes,
    /// `connect`: connects.
    Connect,
    /// `unlink`: files and directories removed.
    Unlink,
    /// `fork`: tasks created, processes and threads.
    Fork,
    /// `elapsed_ns`: the session's age in nanoseconds (`CLOCK_BOOTTIME` since its creation);
    /// its limit is in nanoseconds too.
    ElapsedNs,
    /// `read_bytes`: bytes read, through any interface (counters version 1).
    ReadBytes,
    /// `exec`: programs executed (counters version 1).
    Exec,
}

impl Counter {
    /// Every counter, in the header's order.
    pub const ALL: &'static [Counter] = &[
        Counter::Syscalls,
        Counter::Openat,
        Counter::WriteBytes,
        Counter::Connect,
        Counter::Unlink,
        Counter::Fork,
        Counter::ElapsedNs,
        Counter::ReadBytes,
        Counter::Exec,
    ];

    /// The limits in the order of `struct agent_ns_budget`'s fields (how budgets print).
    const LIMIT_ORDER: &'static [Counter] = &[
        Counter::Syscalls,
        Counter::WriteBytes,
        Counter::ElapsedNs,
        Counter::Openat,
        Counter::ReadBytes,
        Counter::Connect,
        Counter::Unlink,
        Counter::Fork,
        Counter::Exec,
    ];

    /// The name `/proc/PID/agent_counters` and the tracepoints use: `syscalls`, `openat`,
    /// `write_bytes`, `connect`, `unlink`, `fork`, `elapsed_ns`, `read_bytes`, `exec`.
    pub const fn name(self) -> &'static str {
        match self {
            Counter::Syscalls => "syscalls",
            Counter::Openat => "openat",
            Counter::WriteBytes => "write_bytes",
            Counter::Connect => "connect",
            Counter::Unlink => "unlink",
            Counter::Fork => "fork",
            Counter::ElapsedNs => "elapsed_ns",
            Counter::ReadBytes => "read_bytes",
            Counter::Exec => "exec",
        }
    }

    /// Its field of `struct agent_ns_counters`.
    const fn counters_field(self) -> &'static str {
        match self {
            Counter::Syscalls => "total_syscalls",
            Counter::Openat => "openat_count",
            Counter::WriteBytes => "write_bytes",
            Counter::Connect => "connect_count",
            Counter::Unlink => "unlink_count",
            Counter::Fork => "fork_count",
            Counter::ElapsedNs => "elapsed_ns",
            Counter::ReadBytes => "read_bytes",
            Counter::Exec => "exec_count",
        }
    }

    /// The version of `struct agent_ns_counters` that added it: 0 for the first seven, 1 for
    /// `read_bytes` and `exec` (see [`Counters::SIZE_VERSIONS`]).
    pub fn version(self) -> usize {
        let f = AgentNsCounters::LAYOUT
            .iter()
            .find(|f| f.name == self.counters_field())
            .expect("every counter is a field of the header's structure");
        AgentNsCounters::SIZE_VERSIONS
            .iter()
            .position(|&size| f.offset + f.size <= size)
            .expect("the newest version has every field")
    }
}

impl fmt::Display for Counter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Counter {
    type Err = Error;

    /// A counter by its [name](Counter::name).
    fn from_str(s: &str) -> Result<Self> {
        Counter::ALL
            .iter()
            .copied()
            .find(|c| c.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
                Error::Invalid(format!(
                    "no counter {s:?}; the counters are {}",
                    names.join(", ")
                ))
            })
    }
}

impl Serialize for Counter {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A session's counters (subtree included).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters(pub(crate) AgentNsCounters);

impl Counters {
    /// The sizes of the versions of `struct agent_ns_counters` in bytes, oldest first
    /// (`AGENT_NS_COUNTERS_SIZE_VER<N>`); [`Counter::version`] says which has a counter.
    pub const SIZE_VERSIONS: &'static [usize] = AgentNsCounters::SIZE_VERSIONS;

    /// One counter.
    pub fn get(&self, counter: Counter) -> u64 {
        let c = &self.0;
        match counter {
            Counter::Syscalls => c.total_syscalls,
            Counter::Openat => c.openat_count,
            Counter::WriteBytes => c.write_bytes,
            Counter::Connect => c.connect_count,
            Counter::Unlink => c.unlink_count,
            Counter::Fork => c.fork_count,
            Counter::ElapsedNs => c.elapsed_ns,
            Counter::ReadBytes => c.read_bytes,
            Counter::Exec => c.exec_count,
        }
    }

    /// Sets one counter (for tests and for counters read from elsewhere).
    pub fn set(&mut self, counter: Counter, value: u64) -> &mut Self {
        let c = &mut self.0;
        *match counter {
            Counter::Syscalls => &mut c.total_syscalls,
            Counter::Openat => &mut c.openat_count,
            Counter::WriteBytes => &mut c.write_bytes,
            Counter::Connect => &mut c.connect_count,
            Counter::Unlink => &mut c.unlink_count,
            Counter::Fork => &mut c.fork_count,
            Counter::ElapsedNs => &mut c.elapsed_ns,
            Counter::ReadBytes => &mut c.read_bytes,
            Counter::Exec => &mut c.exec_count,
        } = value;
        self
    }

    /// Every counter with its value, in the header's order; `elapsed_ns` included.
    pub fn entries(&self) -> Vec<(Counter, u64)> {
        Counter::ALL.iter().map(|&c| (c, self.get(c))).collect()
    }
}

impl Serialize for Counters {
    /// A map from each counter's name to its value, in the header's order.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let e = self.entries();
        let mut m = s.serialize_map(Some(e.len()))?;
        for (k, v) in e {
            m.serialize_entry(k.name(), &v)?;
        }
        m.end()
    }
}

/// What happens when a budget is exceeded.
///
/// Any task of a session may change its action to one that binds at least as much
/// ([`Action::binds_as_much_as`]); any other change needs `CAP_SYS_ADMIN` over the session's
/// owner. The order (`Ord`, `Log < Deny < Term < Kill`) is for sorting only: deny and term do
/// not replace each other.
/// Under every action but `Log`, a byte limit also cuts a transfer to what is left of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// `AGENT_NS_ACTION_LOG`: a tracepoint and a kernel log line.
    #[default]
    Log,
    /// `AGENT_NS_ACTION_DENY`: no signal; an operation past a count limit fails with `EDQUOT`
    /// before it has any effect, a transfer is cut at a byte limit and later ones fail with
    /// `EDQUOT`, and past `max_syscalls` every system call but exit fails with `EDQUOT`.
    Deny,
    /// `AGENT_NS_ACTION_SIGTERM` to every process of the session and below.
    Term,
    /// `AGENT_NS_ACTION_SIGKILL` to every process of the session and below.
    Kill,
}

impl Action {
    /// Every action.
    pub const ALL: [Action; 4] = [Action::Log, Action::Deny, Action::Term, Action::Kill];

    /// Whether an unprivileged task may change a budget's action from `old` to `self`: from
    /// log to any, from any to kill. Deny and term do not replace each other: a task that
    /// ignores SIGTERM would go on past a deny limit, and a task under deny is never told to
    /// end.
    pub fn binds_as_much_as(self, old: Action) -> bool {
        self == old || old == Action::Log || self == Action::Kill
    }

    /// The uapi value.
    pub fn raw(self) -> u32 {
        (match self {
            Action::Log => uapi::AGENT_NS_ACTION_LOG,
            Action::Deny => uapi::AGENT_NS_ACTION_DENY,
            Action::Term => uapi::AGENT_NS_ACTION_SIGTERM,
            Action::Kill => uapi::AGENT_NS_ACTION_SIGKILL,
        }) as u32
    }

    /// From the uapi value.
    pub fn from_raw(v: u32) -> Option<Action> {
        Action::ALL.into_iter().find(|a| a.raw() == v)
    }

    /// `log`, `deny`, `term` or `kill`.
    pub fn name(self) -> &'static str {
        match self {
            Action::Log => "log",
            Action::Deny => "deny",
            Action::Term => "term",
            Action::Kill => "kill",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// Budget limits and the action: what the kernel's `struct agent_ns_budget` holds. A limit of
/// 0 means none.
///
/// ```
/// use agentns::{Action, Budget, Counter};
///
/// let b = Budget::new()
///     .with_limit(Counter::Syscalls, 1_000_000)
///     .with_limit(Counter::WriteBytes, 100 << 20)
///     .with_action(Action::Deny);
/// assert_eq!(b.limit(Counter::Syscalls), 1_000_000);
/// assert_eq!(b.limit(Counter::Exec), 0);
/// assert_eq!(b.action(), Some(Action::Deny));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget(pub(crate) AgentNsBudget);

impl Budget {
    /// The sizes of the versions of `struct agent_ns_budget` in bytes, oldest first
    /// (`AGENT_NS_BUDGET_SIZE_VER<N>`): version 0 has limits on `syscalls`, `write_bytes` and
    /// `elapsed_ns`, version 1 on every counter.
    pub const SIZE_VERSIONS: &'static [usize] = AgentNsBudget::SIZE_VERSIONS;

    /// No limits, action `log`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The action; `None` for one this library does not know (read back from a newer kernel).
    pub fn action(&self) -> Option<Action> {
        Action::from_raw(self.0.action)
    }

    /// The action as the kernel stores it (`AGENT_NS_ACTION_*`), known to this library or not.
    pub fn raw_action(&self) -> u32 {
        self.0.action
    }

    /// Sets the action.
    pub fn set_action(&mut self, a: Action) -> &mut Self {
        self.0.action = a.raw();
        self
    }

    /// The budget with this action.
    pub fn with_action(mut self, a: Action) -> Self {
        self.set_action(a);
        self
    }

    /// The limit on a counter; 0 is none.
    pub fn limit(&self, counter: Counter) -> u64 {
        let b = &self.0;
        match counter {
            Counter::Syscalls => b.max_syscalls,
            Counter::Openat => b.max_openat,
            Counter::WriteBytes => b.max_write_bytes,
            Counter::Connect => b.max_connect,
            Counter::Unlink => b.max_unlink,
            Counter::Fork => b.max_fork,
            Counter::ElapsedNs => b.max_elapsed_ns,
            Counter::ReadBytes => b.max_read_bytes,
            Counter::Exec => b.max_exec,
        }
    }

    /// Sets the limit on a counter (in bytes for the byte counters, nanoseconds for
    /// [`Counter::ElapsedNs`]); 0 removes it.
    pub fn set_limit(&mut self, counter: Counter, limit: u64) -> &mut Self {
        let b = &mut self.0;
        *match counter {
            Counter::Syscalls => &mut b.max_syscalls,
            Counter::Openat => &mut b.max_openat,
            Counter::WriteBytes => &mut b.max_write_bytes,
            Counter::Connect => &mut b.max_connect,
            Counter::Unlink => &mut b.max_unlink,
            Counter::Fork => &mut b.max_fork,
            Counter::ElapsedNs => &mut b.max_elapsed_ns,
            Counter::ReadBytes => &mut b.max_read_bytes,
            Counter::Exec => &mut b.max_exec,
        } = limit;
        self
    }

    /// The budget with this limit (see [`set_limit`](Self::set_limit)).
    pub fn with_limit(mut self, counter: Counter, limit: u64) -> Self {
        self.set_limit(counter, limit);
        self
    }

    /// Every limit, set or not (0), in the order of the header's `struct agent_ns_budget`.
    pub fn limits(&self) -> Vec<(Counter, u64)> {
        Counter::LIMIT_ORDER
            .iter()
            .map(|&c| (c, self.limit(c)))
            .collect()
    }

    /// Whether no limit is set.
    pub fn is_empty(&self) -> bool {
        Counter::ALL.iter().all(|&c| self.limit(c) == 0)
    }
}

impl Serialize for Budget {
    /// A map: `action` (its name, or its number when this library does not know it), then
    /// each limit by its counter's name, in the order of [`limits`](Budget::limits).
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let l = self.limits();
        let mut m = s.serialize_map(Some(l.len() + 1))?;
        match self.action() {
            Some(a) => m.serialize_entry("action", &a)?,
            None => m.serialize_entry("action", &self.0.action)?,
        }
        for (k, v) in l {
            m.serialize_entry(k.name(), &v)?;
        }
        m.end()
    }
}

/// The `PR_*AGENT*` prctl(2) calls themselves, typed by what each reads or writes: no
/// allocation, no lock, the errno as an [`io::Error`], so that a child may make them between
/// fork and exec (see [`crate::command`]).
pub(crate) mod raw {
    use std::ffi::CStr;
    use std::io;

    use libc::{c_int, c_ulong};

    use crate::uapi::{self, AgentNsBudget, AgentNsCounters, pr};

    /// `prctl(option, ptr, size, 0, 0)`.
    ///
    /// # Safety
    ///
    /// `ptr` must be null or valid for what `option` does with it: the reads or writes of
    /// `size` bytes (or of the size the option documents).
    unsafe fn prctl(option: c_int, ptr: *const u8, size: usize) -> io::Result<()> {
        // SAFETY: the caller's contract; the unused arguments are zero, as the options want.
        let r = unsafe { libc::prctl(option, ptr as c_ulong, size as c_ulong, 0 as c_ulong, 0) };
        if r == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// `PR_GET_AGENT_SESSION_ID`.
    pub fn session_id(id: &mut [u8; uapi::ID_BYTES]) -> io::Result<()> {
        // SAFETY: the option writes `AGENT_NS_ID_BYTES` bytes to arg2.
        unsafe { prctl(pr::GET_SESSION_ID, id.as_mut_ptr(), 0) }
    }

    /// `PR_GET_AGENT_PARENT_ID`.
    pub fn parent_id(id: &mut [u8; uapi::ID_BYTES]) -> io::Result<()> {
        // SAFETY: the option writes `AGENT_NS_ID_BYTES` bytes to arg2.
        unsafe { prctl(pr::GET_PARENT_ID, id.as_mut_ptr(), 0) }
    }

    /// `PR_GET_AGENT_INTENT_TAG`.
    pub fn intent(buf: &mut [u8; uapi::INTENT_MAX + 1]) -> io::Result<()> {
        // SAFETY: the option writes at most `AGENT_NS_INTENT_MAX + 1` bytes to arg2.
        unsafe { prctl(pr::GET_INTENT_TAG, buf.as_mut_ptr(), 0) }
    }

    /// `PR_SET_AGENT_INTENT_TAG`.
    pub fn set_intent(tag: &CStr) -> io::Result<()> {
        // SAFETY: the option reads a NUL-terminated string from arg2, and `tag` is one.
        unsafe { prctl(pr::SET_INTENT_TAG, tag.as_ptr().cast(), 0) }
    }

    /// `PR_GET_AGENT_COUNTERS`, the newest size.
    pub fn counters(c: &mut AgentNsCounters) -> io::Result<()> {
        let size = size_of::<AgentNsCounters>();
        // SAFETY: the option writes at most `size` bytes to arg2, the size of `*c`.
        unsafe { prctl(pr::GET_COUNTERS, (c as *mut AgentNsCounters).cast(), size) }
    }

    /// `PR_GET_AGENT_BUDGET_LIMITS`, the newest size.
    pub fn budget(b: &mut AgentNsBudget) -> io::Result<()> {
        let size = size_of::<AgentNsBudget>();
        // SAFETY: the option writes at most `size` bytes to arg2, the size of `*b`.
        unsafe {
            prctl(
                pr::GET_BUDGET_LIMITS,
                (b as *mut AgentNsBudget).cast(),
                size,
            )
        }
    }

    /// `PR_SET_AGENT_BUDGET_LIMITS`, the newest size.
    pub fn set_budget(b: &AgentNsBudget) -> io::Result<()> {
        let size = size_of::<AgentNsBudget>();
        // SAFETY: the option reads at most `size` bytes from arg2, the size of `*b`.
        unsafe {
            prctl(
                pr::SET_BUDGET_LIMITS,
                (b as *const AgentNsBudget).cast(),
                size,
            )
        }
    }

    /// `PR_SET_AGENT_BUDGET_LIMITS` with a structure of `bytes.len()` bytes.
    pub fn set_budget_bytes(bytes: &[u8]) -> io::Result<()> {
        // SAFETY: the option reads at most `bytes.len()` bytes from arg2.
        unsafe { prctl(pr::SET_BUDGET_LIMITS, bytes.as_ptr(), bytes.len()) }
    }

    /// `PR_SET_AGENT_NS`.
    pub fn create() -> io::Result<()> {
        // SAFETY: the option takes no argument.
        unsafe { prctl(pr::SET_NS, std::ptr::null(), 0) }
    }
}

/// Whether the running kernel has agent namespaces: `PR_GET_AGENT_SESSION_ID` never fails
/// with `EINVAL` on a kernel that has them.
pub fn supported() -> bool {
    let mut id = [0u8; uapi::ID_BYTES];
    match raw::session_id(&mut id) {
        Ok(()) => true,
        Err(e) => e.raw_os_error() != Some(libc::EINVAL),
    }
}

/// Checks that the kernel has agent namespaces.
pub fn ensure_supported() -> Result<()> {
    if supported() {
        Ok(())
    } else {
        Err(Error::NotSupported)
    }
}

/// Why the feature is off, for [`Error::Disabled`]: the boot parameter or the sysctl.
pub fn disabled_reason() -> String {
    let cmdline = std::fs::read_to_string("/proc/cmdline").unwrap_or_default();
    if cmdline.split_whitespace().any(|w| w == "agent_ns=off") {
        "booted with agent_ns=off; it stays off until a reboot without it".into()
    } else {
        "kernel.agent_ns.enabled=0; `sysctl -w kernel.agent_ns.enabled=1` turns it back on".into()
    }
}

/// Turns a failed prctl's error into the library's: an `EINVAL` on a kernel without the
/// feature is [`Error::NotSupported`], `EOPNOTSUPP` is [`Error::Disabled`].
pub(crate) fn fail(op: Op, e: &io::Error) -> Error {
    let e = e.raw_os_error().unwrap_or(0);
    if e == libc::EINVAL && !supported() {
        return Error::NotSupported;
    }
    if e == libc::EOPNOTSUPP {
        return Error::Disabled(disabled_reason());
    }
    Error::sys(op, e, None)
}

/// The caller's session id (`PR_GET_AGENT_SESSION_ID`).
pub fn session_id() -> Result<SessionId> {
    let mut id = [0u8; uapi::ID_BYTES];
    raw::session_id(&mut id).map_err(|e| fail(Op::GetSessionId, &e))?;
    Ok(SessionId(id))
}

/// The id of the caller's session's parent, all zeros in the initial session
/// (`PR_GET_AGENT_PARENT_ID`).
pub fn parent_id() -> Result<SessionId> {
    let mut id = [0u8; uapi::ID_BYTES];
    raw::parent_id(&mut id).map_err(|e| fail(Op::GetParentId, &e))?;
    Ok(SessionId(id))
}

/// The caller's session's intent tag, empty when there is none (`PR_GET_AGENT_INTENT_TAG`).
pub fn intent() -> Result<String> {
    let mut buf = [0u8; uapi::INTENT_MAX + 1];
    raw::intent(&mut buf).map_err(|e| fail(Op::GetIntent, &e))?;
    let n = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Checks an intent tag as the kernel will: at most 63 bytes of printable ASCII.
pub fn check_intent(tag: &str) -> Result<()> {
    if tag.len() > uapi::INTENT_MAX {
        return Err(Error::Invalid(format!(
            "intent tag {tag:?} is {} bytes; the limit is {}",
            tag.len(),
            uapi::INTENT_MAX
        )));
    }
    if let Some(c) = tag.chars().find(|c| !(' '..='~').contains(c)) {
        return Err(Error::Invalid(format!(
            "intent tag {tag:?} contains {c:?}; only printable ASCII (0x20-0x7e) is allowed"
        )));
    }
    Ok(())
}

/// An intent tag as the C string `PR_SET_AGENT_INTENT_TAG` takes, checked.
pub(crate) fn intent_cstring(tag: &str) -> Result<CString> {
    check_intent(tag)?;
    Ok(CString::new(tag).expect("checked: no NUL"))
}

/// Sets the caller's session's intent tag; the empty string clears it
/// (`PR_SET_AGENT_INTENT_TAG`).
pub fn set_intent(tag: &str) -> Result<()> {
    let c = intent_cstring(tag)?;
    raw::set_intent(&c).map_err(|e| fail(Op::SetIntent, &e))
}

/// The caller's session's counters, subtree included (`PR_GET_AGENT_COUNTERS`, newest size).
pub fn counters() -> Result<Counters> {
    let mut c = AgentNsCounters::default();
    raw::counters(&mut c).map_err(|e| fail(Op::GetCounters, &e))?;
    Ok(Counters(c))
}

/// The caller's session's own budget limits (`PR_GET_AGENT_BUDGET_LIMITS`, newest size).
pub fn budget() -> Result<Budget> {
    let mut b = AgentNsBudget::default();
    raw::budget(&mut b).map_err(|e| fail(Op::GetBudget, &e))?;
    Ok(Budget(b))
}

/// Sets the caller's session's budget limits (`PR_SET_AGENT_BUDGET_LIMITS`, newest size).
pub fn set_budget(budget: &Budget) -> Result<()> {
    raw::set_budget(&budget.0).map_err(|e| fail(Op::SetBudget, &e))
}

/// Asks `PR_SET_AGENT_BUDGET_LIMITS` whether the kernel's `struct agent_ns_budget` has at
/// least `size` bytes, without setting anything: the structure it passes has a byte that is
/// not zero at its end, an unknown action and a non-zero `reserved`. The kernel reads the
/// structure first and answers `E2BIG` when a byte past its own structure is not zero; a
/// structure it reads whole fails with `EINVAL` for the action before anything is stored (and
/// a kernel without agent namespaces answers `EINVAL` to the option). Returns the errno.
///
/// # Panics
///
/// When `size` is below version 0's (`Budget::SIZE_VERSIONS[0]`).
pub fn probe_budget_size(size: usize) -> i32 {
    let field = |name: &str| {
        AgentNsBudget::LAYOUT
            .iter()
            .find(|f| f.name == name)
            .expect("the header has it")
    };
    assert!(
        size >= AgentNsBudget::SIZE_VERSIONS[0],
        "{size} bytes is below version 0"
    );
    let mut buf = vec![0u8; size];
    let action = field("action");
    buf[action.offset..action.offset + action.size].fill(0xff);
    let reserved = field("reserved");
    buf[reserved.offset] = 1;
    buf[size - 1] = 1;
    match raw::set_budget_bytes(&buf) {
        Ok(()) => 0,
        Err(e) => e.raw_os_error().unwrap_or(0),
    }
}

/// Creates a child session of the caller's and moves the caller into it (`PR_SET_AGENT_NS`).
/// The caller must be single-threaded and have `CAP_SYS_ADMIN` or `no_new_privs`. To run a
/// command in a new session, see [`CommandExt`](crate::CommandExt).
pub fn create() -> Result<()> {
    raw::create().map_err(|e| fail(Op::CreateSession, &e))
}

/// Sets `no_new_privs`, which lets an unprivileged process create sessions.
pub fn set_no_new_privs() -> Result<()> {
    rustix::thread::set_no_new_privs(true)
        .map_err(|e| Error::sys(Op::NoNewPrivs, e.raw_os_error(), None))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_round_trips() {
        let s = "0123456789abcdef0011223344556677";
        let id: SessionId = s.parse().unwrap();
        assert_eq!(id.0[0], 0x01);
        assert_eq!(id.0[15], 0x77);
        assert_eq!(id.to_string(), s);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{s}\""));
        assert!(SessionId::INITIAL.is_initial());
        assert_eq!(
            "00000000000000000000000000000000\n"
                .parse::<SessionId>()
                .unwrap(),
            SessionId::INITIAL
        );
        assert!("0123".parse::<SessionId>().is_err());
        assert!(
            "0123456789abcdef001122334455667g"
                .parse::<SessionId>()
                .is_err()
        );
    }

    #[test]
    fn counters_are_the_headers_fields_in_order() {
        let fields: Vec<_> = AgentNsCounters::LAYOUT.iter().map(|f| f.name).collect();
        let ours: Vec<_> = Counter::ALL.iter().map(|c| c.counters_field()).collect();
        assert_eq!(ours, fields);
        let names: Vec<_> = Counter::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(
            names,
            [
                "syscalls",
                "openat",
                "write_bytes",
                "connect",
                "unlink",
                "fork",
                "elapsed_ns",
                "read_bytes",
                "exec"
            ]
        );
        // Each counter's own field, as get and set reach it (the derived Debug names the
        // fields).
        for (i, &c) in Counter::ALL.iter().enumerate() {
            let mut v = Counters::default();
            v.set(c, 1 + i as u64);
            let debug = format!("{:?}", v.0).replace(" }", ", }");
            assert!(
                debug.contains(&format!(" {}: {},", c.counters_field(), 1 + i)),
                "{c}: {debug}"
            );
            assert_eq!(
                debug.matches(": 0").count(),
                Counter::ALL.len() - 1,
                "{debug}"
            );
            assert_eq!(v.get(c), 1 + i as u64, "{c}");
        }
    }

    #[test]
    fn every_counter_has_a_limit_in_the_headers_order() {
        let fields: Vec<String> = AgentNsBudget::LAYOUT
            .iter()
            .filter(|f| f.name.starts_with("max_"))
            .map(|f| f.name.to_string())
            .collect();
        let ours: Vec<String> = Counter::LIMIT_ORDER
            .iter()
            .map(|c| {
                // The limit fields are the counters' names (`max_openat`), elapsed_ns's too.
                format!("max_{}", c.name())
            })
            .collect();
        assert_eq!(ours, fields);
        let mut sorted = Counter::LIMIT_ORDER.to_vec();
        sorted.sort();
        assert_eq!(sorted, Counter::ALL);
        for (i, &c) in Counter::LIMIT_ORDER.iter().enumerate() {
            let b = Budget::new().with_limit(c, 7 + i as u64);
            let debug = format!("{:?}", b.0).replace(" }", ", }");
            assert!(
                debug.contains(&format!(" {}: {},", fields[i], 7 + i)),
                "{c}: {debug}"
            );
            // Every other field (action and reserved included) is still 0.
            assert_eq!(debug.matches(": 0").count(), fields.len() + 1, "{debug}");
            assert_eq!(b.limit(c), 7 + i as u64, "{c}");
        }
    }

    #[test]
    fn counter_names_parse() {
        for &c in Counter::ALL {
            assert_eq!(c.name().parse::<Counter>().unwrap(), c);
            assert_eq!(c.to_string(), c.name());
            assert_eq!(serde_json::to_value(c).unwrap(), c.name());
        }
        let e = "opens".parse::<Counter>().unwrap_err().to_string();
        assert!(
            e.starts_with("no counter \"opens\"; the counters are syscalls, openat,"),
            "{e}"
        );
        assert!("total_syscalls".parse::<Counter>().is_err());
        assert!("max_exec".parse::<Counter>().is_err());
    }

    #[test]
    fn counter_versions() {
        assert_eq!(Counters::SIZE_VERSIONS, &[56, 72]);
        assert_eq!(Budget::SIZE_VERSIONS, &[32, 80]);
        for &c in Counter::ALL {
            let want = usize::from(matches!(c, Counter::ReadBytes | Counter::Exec));
            assert_eq!(c.version(), want, "{c}");
        }
    }

    #[test]
    fn counters_json_has_every_counter() {
        let mut c = Counters::default();
        c.set(Counter::Syscalls, 42).set(Counter::Exec, 2);
        assert_eq!(c.0.total_syscalls, 42);
        assert_eq!(c.get(Counter::Exec), 2);
        assert_eq!(c.get(Counter::Fork), 0);
        let v: serde_json::Value = serde_json::to_value(c).unwrap();
        assert_eq!(v["syscalls"], 42);
        assert_eq!(v["exec"], 2);
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        let names: Vec<&str> = Counter::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(keys, names);
        assert_eq!(c.entries()[0], (Counter::Syscalls, 42));
    }

    #[test]
    fn budget_limits_typed() {
        let mut b = Budget::new();
        b.set_limit(Counter::Syscalls, 100)
            .set_limit(Counter::WriteBytes, 4096)
            .set_limit(Counter::ElapsedNs, 5)
            .set_limit(Counter::Openat, 7)
            .set_limit(Counter::Exec, 1)
            .set_action(Action::Kill);
        assert_eq!(b.0.max_syscalls, 100);
        assert_eq!(b.0.max_write_bytes, 4096);
        assert_eq!(b.0.max_elapsed_ns, 5);
        assert_eq!(b.0.max_openat, 7);
        assert_eq!(b.0.max_exec, 1);
        assert_eq!(b.0.action, 2);
        assert_eq!(b.raw_action(), 2);
        assert_eq!(b.0.reserved, 0);
        let v: serde_json::Value = serde_json::to_value(b).unwrap();
        assert_eq!(v["action"], "kill");
        assert_eq!(v["syscalls"], 100);
        assert_eq!(v["fork"], 0);
        // The header's order: version 0's three limits, the action, then version 1's.
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            [
                "action",
                "syscalls",
                "write_bytes",
                "elapsed_ns",
                "openat",
                "read_bytes",
                "connect",
                "unlink",
                "fork",
                "exec"
            ]
        );
        assert!(!b.is_empty());
        assert!(Budget::new().is_empty());
        assert_eq!(
            Budget::new()
                .with_limit(Counter::Fork, 3)
                .with_action(Action::Deny),
            *Budget::new()
                .set_limit(Counter::Fork, 3)
                .set_action(Action::Deny)
        );
        b.set_limit(Counter::Syscalls, 0);
        assert_eq!(b.limit(Counter::Syscalls), 0);
    }

    #[test]
    fn actions() {
        assert_eq!(Action::Log.raw(), 0);
        assert_eq!(Action::Term.raw(), 1);
        assert_eq!(Action::Kill.raw(), 2);
        assert_eq!(Action::Deny.raw(), 3);
        assert_eq!(Action::from_raw(2), Some(Action::Kill));
        assert_eq!(Action::from_raw(3), Some(Action::Deny));
        assert_eq!(Action::from_raw(4), None);
        for a in Action::ALL {
            assert_eq!(Action::from_raw(a.raw()), Some(a));
        }
        assert_eq!(Action::Deny.name(), "deny");
        assert_eq!(Action::Deny.to_string(), "deny");
        assert_eq!(serde_json::to_value(Action::Deny).unwrap(), "deny");
    }

    #[test]
    fn deny_and_term_do_not_replace_each_other() {
        use Action::*;
        // From the row's action to the column's: log, deny, term, kill.
        let may = [
            [true, true, true, true],
            [false, true, false, true],
            [false, false, true, true],
            [false, false, false, true],
        ];
        for (i, old) in Action::ALL.into_iter().enumerate() {
            for (j, new) in Action::ALL.into_iter().enumerate() {
                assert_eq!(new.binds_as_much_as(old), may[i][j], "{old} to {new}");
            }
        }
        assert_eq!(Action::ALL, [Log, Deny, Term, Kill]);
    }

    #[test]
    fn a_deny_budget() {
        let mut b = Budget::new().with_limit(Counter::Openat, 3);
        b.set_action(Action::Deny);
        assert_eq!(b.0.action, 3);
        assert_eq!(b.action(), Some(Action::Deny));
        let v: serde_json::Value = serde_json::to_value(b).unwrap();
        assert_eq!(v["action"], "deny");
        assert_eq!(v["openat"], 3);
        // An action this library does not know serializes as its number.
        b.0.action = 4;
        assert_eq!(b.action(), None);
        assert_eq!(b.raw_action(), 4);
        let v: serde_json::Value = serde_json::to_value(b).unwrap();
        assert_eq!(v["action"], 4);
    }

    #[test]
    fn probe_buffer_is_refused_and_sets_nothing() {
        // On any kernel: the unknown action makes a kernel with the feature refuse it
        // (EINVAL or E2BIG), a kernel without it refuses the option (EINVAL).
        for size in Budget::SIZE_VERSIONS {
            let e = probe_budget_size(*size);
            assert!(e == libc::EINVAL || e == libc::E2BIG, "{size}: {e}");
        }
    }

    #[test]
    fn intent_checks() {
        assert!(check_intent("refactor-auth").is_ok());
        assert!(check_intent("").is_ok());
        assert!(check_intent(&"x".repeat(63)).is_ok());
        assert!(check_intent(&"x".repeat(64)).is_err());
        assert!(check_intent("tab\there").is_err());
        assert!(check_intent("naïve").is_err());
    }
}
