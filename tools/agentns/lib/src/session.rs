// SPDX-License-Identifier: GPL-2.0
//! The calling process's session: the `PR_*AGENT*` prctl(2) options.

use std::ffi::CString;
use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::{Error, Op, Result};
use crate::uapi::{self, AgentNsBudget, AgentNsCounters, pr};

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

/// The name users see for a structure field: the counter or limit it is about, as
/// `/proc/PID/agent_counters` and the tracepoints name it (`total_syscalls` -> `syscalls`,
/// `openat_count` -> `openat`, `max_write_bytes` -> `write_bytes`).
pub fn short_name(field: &str) -> &str {
    let f = field.strip_prefix("total_").unwrap_or(field);
    let f = f.strip_prefix("max_").unwrap_or(f);
    f.strip_suffix("_count").unwrap_or(f)
}

/// A session's counters (subtree included), the newest `struct agent_ns_counters`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters(pub AgentNsCounters);

impl Counters {
    /// Every counter as (name, value), in the header's order; `elapsed_ns` included.
    pub fn entries(&self) -> Vec<(&'static str, u64)> {
        AgentNsCounters::LAYOUT
            .iter()
            .map(|f| (short_name(f.name), self.0.get(f.name).unwrap_or(0)))
            .collect()
    }

    /// One counter by its short name (`syscalls`, `openat`, ...).
    pub fn get(&self, name: &str) -> Option<u64> {
        AgentNsCounters::LAYOUT
            .iter()
            .find(|f| short_name(f.name) == name)
            .and_then(|f| self.0.get(f.name))
    }

    /// Sets one counter by its short name; false for a name the header does not have.
    pub fn set(&mut self, name: &str, value: u64) -> bool {
        match AgentNsCounters::LAYOUT
            .iter()
            .find(|f| short_name(f.name) == name)
        {
            Some(f) => self.0.set(f.name, value),
            None => false,
        }
    }
}

impl Serialize for Counters {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let e = self.entries();
        let mut m = s.serialize_map(Some(e.len()))?;
        for (k, v) in e {
            m.serialize_entry(k, &v)?;
        }
        m.end()
    }
}

/// What happens when a budget is exceeded.
///
/// The order (`Ord`) is the kernel's severity, `Log < Deny < Term < Kill`: any task of a
/// session may raise its action, lowering it needs `CAP_SYS_ADMIN` over the session's owner.
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
    /// Every action, by severity.
    pub const ALL: [Action; 4] = [Action::Log, Action::Deny, Action::Term, Action::Kill];

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

/// Budget limits: the newest `struct agent_ns_budget`. A limit of 0 means none.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Budget(pub AgentNsBudget);

impl Budget {
    /// No limits, action `log`.
    pub fn new() -> Self {
        Self::default()
    }

    /// The action.
    pub fn action(&self) -> Option<Action> {
        Action::from_raw(self.0.action)
    }

    /// Sets the action.
    pub fn set_action(&mut self, a: Action) -> &mut Self {
        self.0.action = a.raw();
        self
    }

    /// The limit fields (every `max_*`) as (counter name, limit), in the header's order.
    pub fn limits(&self) -> Vec<(&'static str, u64)> {
        AgentNsBudget::LAYOUT
            .iter()
            .filter(|f| f.name.starts_with("max_"))
            .map(|f| (short_name(f.name), self.0.get(f.name).unwrap_or(0)))
            .collect()
    }

    /// Sets the limit on a counter by its short name (`syscalls`, `write_bytes`,
    /// `elapsed_ns`, `openat`, ...); an error for a counter this header has no limit for.
    pub fn set_limit(&mut self, counter: &str, limit: u64) -> Result<&mut Self> {
        let field = format!("max_{counter}");
        if AgentNsBudget::LAYOUT.iter().any(|f| f.name == field) && self.0.set(&field, limit) {
            Ok(self)
        } else {
            Err(Error::Invalid(format!(
                "no budget limit for counter {counter:?}"
            )))
        }
    }

    /// Whether any limit is set.
    pub fn is_empty(&self) -> bool {
        self.limits().iter().all(|(_, v)| *v == 0)
    }
}

impl Serialize for Budget {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let l = self.limits();
        let mut m = s.serialize_map(Some(l.len() + 1))?;
        match self.action() {
            Some(a) => m.serialize_entry("action", &a)?,
            None => m.serialize_entry("action", &self.0.action)?,
        }
        for (k, v) in l {
            m.serialize_entry(k, &v)?;
        }
        m.end()
    }
}

/// prctl(2) with four arguments.
fn prctl(op: libc::c_int, a2: libc::c_ulong, a3: libc::c_ulong) -> libc::c_int {
    // SAFETY: Every agent option takes at most a pointer and a size; callers pass pointers to
    // live buffers of at least the size they pass (or the size the option documents).
    unsafe { libc::prctl(op, a2, a3, 0 as libc::c_ulong, 0 as libc::c_ulong) }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

/// Whether the running kernel has agent namespaces: `PR_GET_AGENT_SESSION_ID` never fails
/// with `EINVAL` on a kernel that has them.
pub fn supported() -> bool {
    let mut id = [0u8; uapi::ID_BYTES];
    prctl(pr::GET_SESSION_ID, id.as_mut_ptr() as libc::c_ulong, 0) == 0 || errno() != libc::EINVAL
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

/// Turns a failed prctl's errno into an error: an `EINVAL` on a kernel without the feature is
/// [`Error::NotSupported`], `EOPNOTSUPP` is [`Error::Disabled`].
fn fail(op: Op) -> Error {
    let e = errno();
    if e == libc::EINVAL && !supported() {
        return Error::NotSupported;
    }
    if e == libc::EOPNOTSUPP {
        return Error::Disabled(disabled_reason());
    }
    Error::sys(op, e, None)
}

fn get_id(op: Op, option: libc::c_int) -> Result<SessionId> {
    let mut id = [0u8; uapi::ID_BYTES];
    if prctl(option, id.as_mut_ptr() as libc::c_ulong, 0) != 0 {
        return Err(fail(op));
    }
    Ok(SessionId(id))
}

/// The caller's session id (`PR_GET_AGENT_SESSION_ID`).
pub fn session_id() -> Result<SessionId> {
    get_id(Op::GetSessionId, pr::GET_SESSION_ID)
}

/// The id of the caller's session's parent, all zeros in the initial session
/// (`PR_GET_AGENT_PARENT_ID`).
pub fn parent_id() -> Result<SessionId> {
    get_id(Op::GetParentId, pr::GET_PARENT_ID)
}

/// The caller's session's intent tag, empty when there is none (`PR_GET_AGENT_INTENT_TAG`).
pub fn intent() -> Result<String> {
    let mut buf = [0u8; uapi::INTENT_MAX + 1];
    if prctl(pr::GET_INTENT_TAG, buf.as_mut_ptr() as libc::c_ulong, 0) != 0 {
        return Err(fail(Op::GetIntent));
    }
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

/// Sets the caller's session's intent tag; the empty string clears it
/// (`PR_SET_AGENT_INTENT_TAG`).
pub fn set_intent(tag: &str) -> Result<()> {
    check_intent(tag)?;
    let c = CString::new(tag).expect("checked: no NUL");
    if prctl(pr::SET_INTENT_TAG, c.as_ptr() as libc::c_ulong, 0) != 0 {
        return Err(fail(Op::SetIntent));
    }
    Ok(())
}

/// The caller's session's counters, subtree included (`PR_GET_AGENT_COUNTERS`, newest size).
pub fn counters() -> Result<Counters> {
    let mut c = AgentNsCounters::default();
    let size = std::mem::size_of::<AgentNsCounters>();
    if prctl(
        pr::GET_COUNTERS,
        &mut c as *mut AgentNsCounters as libc::c_ulong,
        size as libc::c_ulong,
    ) != 0
    {
        return Err(fail(Op::GetCounters));
    }
    Ok(Counters(c))
}

/// The caller's session's own budget limits (`PR_GET_AGENT_BUDGET_LIMITS`, newest size).
pub fn budget() -> Result<Budget> {
    let mut b = AgentNsBudget::default();
    let size = std::mem::size_of::<AgentNsBudget>();
    if prctl(
        pr::GET_BUDGET_LIMITS,
        &mut b as *mut AgentNsBudget as libc::c_ulong,
        size as libc::c_ulong,
    ) != 0
    {
        return Err(fail(Op::GetBudget));
    }
    Ok(Budget(b))
}

/// Sets the caller's session's budget limits (`PR_SET_AGENT_BUDGET_LIMITS`, newest size).
pub fn set_budget(budget: &Budget) -> Result<()> {
    let size = std::mem::size_of::<AgentNsBudget>();
    if prctl(
        pr::SET_BUDGET_LIMITS,
        &budget.0 as *const AgentNsBudget as libc::c_ulong,
        size as libc::c_ulong,
    ) != 0
    {
        return Err(fail(Op::SetBudget));
    }
    Ok(())
}

/// Creates a child session of the caller's and moves the caller into it (`PR_SET_AGENT_NS`).
/// The caller must be single-threaded and have `CAP_SYS_ADMIN` or `no_new_privs`.
pub fn create() -> Result<()> {
    if prctl(pr::SET_NS, 0, 0) != 0 {
        return Err(fail(Op::CreateSession));
    }
    Ok(())
}

/// Sets `no_new_privs`, which lets an unprivileged process create sessions.
pub fn set_no_new_privs() -> Result<()> {
    // SAFETY: PR_SET_NO_NEW_PRIVS takes plain integers.
    if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1 as libc::c_ulong, 0, 0, 0) } != 0 {
        return Err(Error::last(Op::NoNewPrivs));
    }
    Ok(())
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
    fn short_names_match_proc_and_trace() {
        let names: Vec<_> = AgentNsCounters::LAYOUT
            .iter()
            .map(|f| short_name(f.name))
            .collect();
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
    }

    #[test]
    fn counters_json_has_every_counter() {
        let mut c = Counters::default();
        assert!(c.set("syscalls", 42));
        assert!(c.set("exec", 2));
        assert!(!c.set("bogus", 1));
        assert_eq!(c.0.total_syscalls, 42);
        assert_eq!(c.get("exec"), Some(2));
        let v: serde_json::Value = serde_json::to_value(c).unwrap();
        assert_eq!(v["syscalls"], 42);
        assert_eq!(v["exec"], 2);
        assert_eq!(v.as_object().unwrap().len(), AgentNsCounters::LAYOUT.len());
    }

    #[test]
    fn budget_limits_by_name() {
        let mut b = Budget::new();
        b.set_limit("syscalls", 100).unwrap();
        b.set_limit("write_bytes", 4096).unwrap();
        b.set_limit("elapsed_ns", 5).unwrap();
        b.set_limit("openat", 7).unwrap();
        b.set_limit("exec", 1).unwrap();
        b.set_action(Action::Kill);
        assert!(b.set_limit("reserved", 1).is_err());
        assert!(b.set_limit("action", 1).is_err());
        assert_eq!(b.0.max_syscalls, 100);
        assert_eq!(b.0.max_write_bytes, 4096);
        assert_eq!(b.0.max_elapsed_ns, 5);
        assert_eq!(b.0.max_openat, 7);
        assert_eq!(b.0.max_exec, 1);
        assert_eq!(b.0.action, 2);
        assert_eq!(b.0.reserved, 0);
        let v: serde_json::Value = serde_json::to_value(b).unwrap();
        assert_eq!(v["action"], "kill");
        assert_eq!(v["syscalls"], 100);
        assert_eq!(v["fork"], 0);
        assert!(!b.is_empty());
        assert!(Budget::new().is_empty());
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
    fn actions_are_ordered_by_severity() {
        // The kernel's rule: log < deny < SIGTERM < SIGKILL.
        assert!(Action::Log < Action::Deny);
        assert!(Action::Deny < Action::Term);
        assert!(Action::Term < Action::Kill);
        let mut sorted = Action::ALL;
        sorted.sort();
        assert_eq!(sorted, Action::ALL);
    }

    #[test]
    fn a_deny_budget() {
        let mut b = Budget::new();
        b.set_limit("openat", 3).unwrap();
        b.set_action(Action::Deny);
        assert_eq!(b.0.action, 3);
        assert_eq!(b.action(), Some(Action::Deny));
        let v: serde_json::Value = serde_json::to_value(b).unwrap();
        assert_eq!(v["action"], "deny");
        assert_eq!(v["openat"], 3);
        // An action this library does not know serializes as its number.
        b.0.action = 4;
        assert_eq!(b.action(), None);
        let v: serde_json::Value = serde_json::to_value(b).unwrap();
        assert_eq!(v["action"], 4);
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
