// SPDX-License-Identifier: GPL-2.0

//! Session budgets: limits on the counters, enforced where they are crossed.
//!
//! A limit on a session covers its whole subtree. A session whose own or an ancestor's budget
//! limits counter `c` has bit `c` set in its `budget_mask`; for such a session the C hook calls
//! [`agent_ns_charge`] before its per-CPU add (both in `agent_ns_charge_count()`, or
//! `agent_ns_charge_syscall()` for the system call entry), which walks up
//! the session's ancestors and charges every budget that limits `c`: one atomic add each. The
//! event that takes a budget past its limit fires the action once: a tracepoint and a log line,
//! and for `SIGTERM`/`SIGKILL` the signal to every process of the budget's subtree, sent there
//! and then, from the context of the crossing event: whatever the crossing task does next (block
//! in the very call that crossed, or never return), the signal is already queued on every task.
//! Under a fired `SIGKILL` budget, a later event of a task that has no SIGKILL pending yet (it
//! entered the kernel before the signal landed) is a straggler: a system call is not run, its
//! process ends at system call entry; any other event (which has already happened) sends a
//! SIGKILL to its own process. The elapsed-time limit is a per-session timer (`elapsed.rs`).
//!
//! Enforcement before the event: under the `DENY` action, an event that would take a count limit
//! past it fails with `EDQUOT` before it happens ([`agent_ns_check`], from the hooks'
//! `agent_ns_may()`), and a system call past `max_syscalls` is not run. Under any action but
//! `LOG`, a transfer that would take a byte limit past it is cut short to what is left
//! ([`agent_ns_bytes_left`], from `agent_ns_clamp()`); the request that asks for more than is
//! left is the crossing event, and once nothing is left a transfer fails with `EDQUOT`.

use super::{
    counters::{Counter, NR_COUNTERS},
    namespace::{AgentNamespace, Session},
    signal::{self, Setter},
    trace,
    tree::TreeGuard,
};
use crate::{
    bindings,
    ffi::c_int,
    new_spinlock,
    prelude::*,
    sync::{
        atomic::{Acquire, Atomic, Relaxed, Release},
        SpinLock,
    },
};

/// What happens when a budget is exceeded: `AGENT_NS_ACTION_*`.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(crate) enum Action {
    /// A tracepoint, a log line and an audit record; nothing else.
    #[default]
    Log = bindings::AGENT_NS_ACTION_LOG,
    /// `SIGTERM` to the subtree's processes.
    Term = bindings::AGENT_NS_ACTION_SIGTERM,
    /// `SIGKILL` to the subtree's processes.
    Kill = bindings::AGENT_NS_ACTION_SIGKILL,
    /// The event fails with `EDQUOT` (a transfer is cut).
    Deny = bindings::AGENT_NS_ACTION_DENY,
}

impl Action {
    /// The action of a uapi value, `None` for an unknown one.
    pub(crate) fn from_uapi(v: u32) -> Option<Self> {
        Some(match v {
            bindings::AGENT_NS_ACTION_LOG => Action::Log,
            bindings::AGENT_NS_ACTION_SIGTERM => Action::Term,
            bindings::AGENT_NS_ACTION_SIGKILL => Action::Kill,
            bindings::AGENT_NS_ACTION_DENY => Action::Deny,
            _ => return None,
        })
    }

    /// Returns whether a budget under `self` binds at least as much as one under `old`, for
    /// the rule that only a privileged task may loosen a budget. Any action binds more than
    /// log, and `SIGKILL` more than any other. Deny and `SIGTERM` are not comparable: a task
    /// that ignores `SIGTERM` goes on past the limit, which deny stops, and a task under deny
    /// is never told to end. So a member may change log to anything, and deny or `SIGTERM` to
    /// `SIGKILL`, but not deny to `SIGTERM` or back.
    fn binds_as_much_as(self, old: Action) -> bool {
        self == old || old == Action::Log || self == Action::Kill
    }

    /// The signal the action sends, if any.
    fn signal(self) -> Option<c_int> {
        match self {
            Action::Kill => Some(bindings::SIGKILL as c_int),
            Action::Term => Some(bindings::SIGTERM as c_int),
            Action::Log | Action::Deny => None,
        }
    }
}

/// Index of the elapsed-time limit in [`Limits::max`] and [`Budget::fired`].
pub(super) const ELAPSED: usize = NR_COUNTERS;
/// Index of the action's setter in [`Budget::setter`].
const ACTION: usize = NR_COUNTERS + 1;

/// The limits of a session as userspace sets them; 0 means no limit.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Limits {
    /// Limits of the event counters, indexed by [`Counter`], then the elapsed-time limit.
    pub(crate) max: [u64; NR_COUNTERS + 1],
    /// The action.
    pub(crate) action: Action,
}

impl Limits {
    /// Converts from the uapi layout, rejecting bad actions and reserved bits (`EINVAL`).
    pub(crate) fn from_uapi(b: &bindings::agent_ns_budget) -> Result<Self> {
        let action = Action::from_uapi(b.action).ok_or(EINVAL)?;
        if b.reserved != 0 {
            return Err(EINVAL);
        }
        let mut max = [0; NR_COUNTERS + 1];
        max[Counter::Syscalls as usize] = b.max_syscalls;
        max[Counter::WriteBytes as usize] = b.max_write_bytes;
        max[Counter::Openat as usize] = b.max_openat;
        max[Counter::ReadBytes as usize] = b.max_read_bytes;
        max[Counter::Connect as usize] = b.max_connect;
        max[Counter::Unlink as usize] = b.max_unlink;
        max[Counter::Fork as usize] = b.max_fork;
        max[Counter::Exec as usize] = b.max_exec;
        max[ELAPSED] = b.max_elapsed_ns;
        Ok(Limits { max, action })
    }

    /// Converts to the uapi layout.
    pub(crate) fn to_uapi(self) -> bindings::agent_ns_budget {
        let m = |c: Counter| self.max[c as usize];
        bindings::agent_ns_budget {
            max_syscalls: m(Counter::Syscalls),
            max_write_bytes: m(Counter::WriteBytes),
            max_elapsed_ns: self.max[ELAPSED],
            action: self.action as u32,
            reserved: 0,
            max_openat: m(Counter::Openat),
            max_read_bytes: m(Counter::ReadBytes),
            max_connect: m(Counter::Connect),
            max_unlink: m(Counter::Unlink),
            max_fork: m(Counter::Fork),
            max_exec: m(Counter::Exec),
        }
    }

    /// Returns whether going from `self` to `new` loosens anything: raises or removes a limit,
    /// or changes the action to one that binds less ([`Action::binds_as_much_as`]).
    pub(crate) fn loosened_by(&self, new: &Limits) -> bool {
        !new.action.binds_as_much_as(self.action)
            || self
                .max
                .iter()
                .zip(new.max.iter())
                .any(|(&old, &new)| old != 0 && (new == 0 || new > old))
    }

    /// Which limits a user structure of `size` bytes carries (index as in [`Limits::max`]): a
    /// field counts when all of it is within `size`. The action is always carried.
    pub(crate) fn known(size: usize) -> [bool; NR_COUNTERS + 1] {
        use core::mem::offset_of;
        type B = bindings::agent_ns_budget;
        let has = |off: usize| off + size_of::<u64>() <= size;
        let mut known = [false; NR_COUNTERS + 1];
        known[Counter::Syscalls as usize] = has(offset_of!(B, max_syscalls));
        known[Counter::WriteBytes as usize] = has(offset_of!(B, max_write_bytes));
        known[ELAPSED] = has(offset_of!(B, max_elapsed_ns));
        known[Counter::Openat as usize] = has(offset_of!(B, max_openat));
        known[Counter::ReadBytes as usize] = has(offset_of!(B, max_read_bytes));
        known[Counter::Connect as usize] = has(offset_of!(B, max_connect));
        known[Counter::Unlink as usize] = has(offset_of!(B, max_unlink));
        known[Counter::Fork as usize] = has(offset_of!(B, max_fork));
        known[Counter::Exec as usize] = has(offset_of!(B, max_exec));
        known
    }

    /// Returns `new` with the limits it does not carry (`!known[i]`) taken from `self`, and
    /// whether going from `self` to that loosens anything.
    pub(crate) fn merged(&self, new: &Limits, known: &[bool; NR_COUNTERS + 1]) -> (Limits, bool) {
        let mut m = *new;
        for (i, k) in known.iter().enumerate() {
            if !k {
                m.max[i] = self.max[i];
            }
        }
        (m, self.loosened_by(&m))
    }

    /// Bit `c` set for every event counter with a limit.
    fn mask(&self) -> usize {
        (0..NR_COUNTERS)
            .filter(|&c| self.max[c] != 0)
            .fold(0, |m, c| m | 1 << c)
    }
}

/// The budget state of a session.
///
/// # Invariants
///
/// `max` and `action` change only under the tree lock, and `action` always holds an
/// [`Action`]'s value; `used[c]` counts the subtree's events of
/// counter `c` since its limit was last set (it starts from the subtree's total then); `fired[i]`
/// is 1 once limit `i`'s action has fired since the limit (or the action) was last set, and
/// while a setter replaces an event counter's limit and count; `acted` is 1 once any
/// `SIGTERM` or `SIGKILL` action has fired, for good. `above` is null or points to the nearest
/// strict ancestor whose budget limits an event counter; it changes only under the tree lock,
/// and every value it ever holds is an ancestor, which outlives the session. `setter` changes
/// only under the tree lock too (and its own lock, which the counting path takes to read it).
#[pin_data]
pub(crate) struct Budget {
    /// The credentials of the task that set each limit (indexed as `max`), then of the task
    /// that set the action: a crossing signals only the tasks that both the limit's and the
    /// action's setter could signal with kill(2).
    #[pin]
    setter: SpinLock<[Option<Setter>; NR_COUNTERS + 2]>,
    max: [Atomic<u64>; NR_COUNTERS + 1],
    action: Atomic<u32>,
    used: [Atomic<u64>; NR_COUNTERS],
    fired: [Atomic<u32>; NR_COUNTERS + 1],
    acted: Atomic<u32>,
    above: Atomic<*const Session>,
}

impl Budget {
    /// An empty budget: no limits.
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Budget {
            setter <- new_spinlock!([const { None }; NR_COUNTERS + 2], "agent_ns_budget_setter"),
            max: [const { Atomic::new(0) }; NR_COUNTERS + 1],
            action: Atomic::new(Action::Log as u32),
            used: [const { Atomic::new(0) }; NR_COUNTERS],
            fired: [const { Atomic::new(0) }; NR_COUNTERS + 1],
            acted: Atomic::new(0),
            above: Atomic::new(core::ptr::null()),
        })
    }

    /// Marks limit `c` fired for a crossing of `limit`, the value the caller read from `max`.
    /// Returns whether this is the crossing, the first since `limit` was set.
    ///
    /// A setter replacing the limit holds `fired` at 1 while it stores the new limit and count,
    /// and releases it at 0 after them. So a caller that takes the 0 and still finds `limit`
    /// in `max` crosses the current limit; one that finds another value read a limit that was
    /// replaced meanwhile, and leaves the new one unfired: otherwise the old limit's crossing
    /// would use up the new one's.
    fn cross(&self, c: usize, limit: u64) -> bool {
        if self.fired[c].xchg(1, Acquire) != 0 {
            return false;
        }
        if self.max[c].load(Relaxed) == limit {
            return true;
        }
        self.fired[c].store(0, Relaxed);
        false
    }

    /// Returns whether a `SIGTERM` or `SIGKILL` action of this budget has ever fired.
    pub(crate) fn acted(&self) -> bool {
        self.acted.load(Relaxed) != 0
    }

    /// Returns the limits whose action fired since they were last set, as `AGENT_NS_FIRED_*`
    /// bits: bit N for the limit of the N-th field of `struct agent_ns_counters`.
    pub(crate) fn fired_mask(&self) -> u32 {
        let bit = |i: usize| match i {
            ELAPSED => bindings::AGENT_NS_FIRED_ELAPSED,
            _ => match Counter::ALL[i] {
                Counter::Syscalls => bindings::AGENT_NS_FIRED_SYSCALLS,
                Counter::Openat => bindings::AGENT_NS_FIRED_OPENAT,
                Counter::WriteBytes => bindings::AGENT_NS_FIRED_WRITE_BYTES,
                Counter::Connect => bindings::AGENT_NS_FIRED_CONNECT,
                Counter::Unlink => bindings::AGENT_NS_FIRED_UNLINK,
                Counter::Fork => bindings::AGENT_NS_FIRED_FORK,
                Counter::ReadBytes => bindings::AGENT_NS_FIRED_READ_BYTES,
                Counter::Exec => bindings::AGENT_NS_FIRED_EXEC,
            },
        };
        (0..=ELAPSED)
            .filter(|&i| self.fired[i].load(Relaxed) != 0)
            .fold(0, |m, i| m | bit(i))
    }

    /// Returns the elapsed-time limit in nanoseconds, 0 for none.
    pub(super) fn max_elapsed(&self) -> u64 {
        self.max[ELAPSED].load(Relaxed)
    }

    /// Returns whether the elapsed-time limit has fired since it was set.
    pub(super) fn elapsed_fired(&self) -> bool {
        self.fired[ELAPSED].load(Relaxed) != 0
    }

    /// Marks the elapsed-time limit fired; returns whether this was the first time.
    pub(super) fn fire_elapsed_once(&self) -> bool {
        self.fired[ELAPSED].xchg(1, Relaxed) == 0
    }

    /// Returns the current limits.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max: core::array::from_fn(|i| self.max[i].load(Relaxed)),
            action: self.action(),
        }
    }

    /// Returns the action.
    fn action(&self) -> Action {
        // Every value stored is an `Action`'s (type invariant).
        Action::from_uapi(self.action.load(Relaxed)).unwrap_or_default()
    }

    fn own_mask(&self) -> usize {
        self.limits().mask()
    }

    /// Returns whether this budget can refuse or cut an event: it limits a counter under an
    /// action other than log. The sessions for which this holds are counted for the
    /// `agent_ns_enforcing` key, which turns on `agent_ns_may()` and `agent_ns_clamp()`.
    pub(crate) fn enforcing(&self) -> bool {
        self.action() != Action::Log && self.own_mask() != 0
    }

    /// Returns the tasks that set limit `i` and the action, if both are set.
    fn setters(&self, i: usize) -> Option<(Setter, Setter)> {
        let setter = self.setter.lock();
        Some((setter[i].clone()?, setter[ACTION].clone()?))
    }

    /// Returns whether the action of limit `i` reaches the current task: whether both the
    /// limit's and the action's setter could signal it.
    fn reaches_current(&self, i: usize) -> bool {
        self.setters(i)
            .is_some_and(|(l, a)| signal::may_kill_current([&l, &a]))
    }
}

pub(crate) fn counter_name(i: usize) -> &'static CStr {
    if i == ELAPSED {
        return c"elapsed_ns";
    }
    Counter::ALL[i].c_name()
}

/// Fires `s`'s action for limit `i`: reports it, and for `SIGTERM` and `SIGKILL` signals every
/// process of the subtree at once.
///
/// Runs in process context with no spinlock held (every counting hook does).
pub(super) fn fire(s: &Session, i: usize, value: u64, limit: u64) {
    let ns = s.ns().as_ptr();
    let action = s.budget.action();
    trace::budget_exceeded(s.ns(), i, value, limit, action as u32);
    // SAFETY: `ns` is a valid session; the name is a static C string.
    unsafe {
        bindings::agent_ns_log_budget_exceeded(
            ns,
            counter_name(i).as_char_ptr(),
            value,
            limit,
            action as u32,
        )
    };
    let Some(sig) = action.signal() else {
        return;
    };
    // A limit and an action that have been set have setters.
    let Some((limit_setter, action_setter)) = s.budget.setters(i) else {
        return;
    };
    s.budget.acted.store(1, Relaxed);
    signal::signal_subtree(s, sig, [&limit_setter, &action_setter]);
}

/// The sessions whose budgets an event of `ns`'s task charges: `ns`, then the budgeted
/// ancestors (through `above`).
///
/// # Safety
///
/// `ns` must be the current task's session.
unsafe fn budgets<'a>(ns: *mut bindings::agent_namespace) -> impl Iterator<Item = &'a Session> {
    // SAFETY: The current task's session is valid while it runs, and so are its ancestors.
    let first = unsafe { AgentNamespace::from_ptr(ns) }.session();
    // SAFETY: `above` is null or an ancestor of `s`, which outlives it (type invariant of
    // `Budget`); every value it held was one, so a racing update cannot make it dangle.
    core::iter::successors(first, |s| unsafe { s.budget.above.load(Relaxed).as_ref() })
}

/// Charges `val` events of counter `c` to every budget of `ns` and its ancestors that limits `c`.
///
/// Called by the C hooks (`agent_ns_count()`, `agent_ns_count_syscall()`, `agent_ns_count_sqe()`),
/// through `agent_ns_charge_count()`, `agent_ns_charge_syscall()` or `agent_ns_charge_sqe()` and
/// before the per-CPU add, when bit `c` of `ns->budget_mask` is set. It visits `ns` and then only
/// the ancestors with a budget (through `above`), so its cost grows with the number of budgets
/// on the chain, not with the nesting depth.
///
/// Returns 0; for a system call, `-EDQUOT` when a deny budget refuses it, or
/// `AGENT_NS_STRAGGLER` when a fired `SIGKILL` budget means its process must end before it runs.
///
/// # Safety
///
/// `ns` must be the current task's session and `c` a valid counter.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_charge(
    ns: *mut bindings::agent_namespace,
    c: u32,
    val: u64,
) -> c_int {
    let c = c as usize;
    let syscall = c == Counter::Syscalls as usize;
    let mut ret = 0;
    // SAFETY: The caller guarantees `ns` is the current task's session.
    for s in unsafe { budgets(ns) } {
        let b = &s.budget;
        let limit = b.max[c].load(Relaxed);
        if limit == 0 {
            continue;
        }
        let used = b.used[c].fetch_add(val, Relaxed).wrapping_add(val);
        if used <= limit {
            continue;
        }
        let crossing = b.cross(c, limit);
        if crossing {
            fire(s, c, used, limit);
        }
        match b.action() {
            Action::Deny if syscall => ret = EDQUOT.to_errno(),
            // Only a task the budget's signal is meant to reach can be a straggler: one its
            // setters could not signal carries on, as the crossing's walk passed it over.
            Action::Kill if !crossing && !b.reaches_current(c) => {}
            // A straggler, which entered the kernel before the SIGKILL landed: its system call
            // must not run.
            Action::Kill if syscall && !crossing => return bindings::AGENT_NS_STRAGGLER as c_int,
            // A straggler's other event has happened: make sure its own process gets the
            // signal.
            Action::Kill if !crossing => {
                // SAFETY: Every counting hook runs in process context.
                unsafe { bindings::agent_ns_signal_current(bindings::SIGKILL as c_int) }
            }
            _ => {}
        }
    }
    ret
}

/// Returns whether one more event of counter `c` is allowed: 0, or `-EDQUOT` when a deny budget
/// of `ns` or an ancestor would be taken past its limit (the budget fires on the first refusal).
///
/// # Safety
///
/// `ns` must be the current task's session and `c` a valid counter.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_check(ns: *mut bindings::agent_namespace, c: u32) -> c_int {
    let c = c as usize;
    // SAFETY: The caller guarantees `ns` is the current task's session.
    for s in unsafe { budgets(ns) } {
        let b = &s.budget;
        let limit = b.max[c].load(Relaxed);
        if limit == 0 || b.action() != Action::Deny {
            continue;
        }
        let used = b.used[c].load(Relaxed);
        if used >= limit {
            if b.cross(c, limit) {
                fire(s, c, used.saturating_add(1), limit);
            }
            return EDQUOT.to_errno();
        }
    }
    0
}

/// Cuts the transfer of `*len` bytes of counter `c` to what every enforcing budget of `ns` and
/// its ancestors has left; a budget that `*len` would take past its limit fires.
///
/// Returns 0, or `-EDQUOT` when such a budget has nothing left and `*len` is not 0.
///
/// # Safety
///
/// `ns` must be the current task's session, `c` a valid counter and `len` valid for writes.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_bytes_left(
    ns: *mut bindings::agent_namespace,
    c: u32,
    len: *mut usize,
) -> c_int {
    let c = c as usize;
    // SAFETY: The caller guarantees that `len` is valid.
    let want = unsafe { *len } as u64;
    let mut allowed = want;
    // SAFETY: The caller guarantees `ns` is the current task's session.
    for s in unsafe { budgets(ns) } {
        let b = &s.budget;
        let limit = b.max[c].load(Relaxed);
        if limit == 0 || b.action() == Action::Log {
            continue;
        }
        let used = b.used[c].load(Relaxed);
        let left = limit.saturating_sub(used);
        if want > left {
            allowed = allowed.min(left);
            if b.cross(c, limit) {
                fire(s, c, used.saturating_add(want), limit);
            }
        }
    }
    if allowed == 0 && want != 0 {
        return EDQUOT.to_errno();
    }
    // SAFETY: As above; `allowed <= *len`, so it fits.
    unsafe { *len = allowed as usize };
    0
}

/// Returns whether the feature is enabled (`kernel.agent_ns.enabled`): disabled, no budget acts.
pub(super) fn enabled() -> bool {
    // SAFETY: No requirements.
    unsafe { bindings::agent_ns_enabled() }
}

impl Session {
    /// Sets this session's limits to `new`, keeping those `new` does not carry (`known`).
    ///
    /// Returns `EPERM`, changing nothing, when that loosens a limit and the caller is not
    /// `privileged`: the check and the store are made together under the tree lock.
    ///
    /// Limits that change start counting from the subtree's current totals, and one already
    /// exceeded fires at once; a limit set again to its value keeps its count and its fired
    /// action, unless the action changes: then every limit starts again, and one already
    /// exceeded fires at once with the new action.
    pub(crate) fn set_limits(
        &self,
        new: Limits,
        known: &[bool; NR_COUNTERS + 1],
        privileged: bool,
    ) -> Result {
        let b = &self.budget;
        let me = Setter::current().ok_or(ESRCH)?;
        let mut crossed = [None; NR_COUNTERS];
        let (new, was_enforcing, enforcing) = {
            let tree = TreeGuard::lock();
            let (new, loosens) = b.limits().merged(&new, known);
            if loosens && !privileged {
                return Err(EPERM);
            }
            let was_enforcing = b.enforcing();
            {
                // A replaced setter's references are dropped under the spinlock: `put_cred()`
                // frees through RCU and `put_pid_ns()` through a work item; neither sleeps.
                let mut setter = b.setter.lock();
                for (i, slot) in setter[..=NR_COUNTERS].iter_mut().enumerate() {
                    if b.max[i].load(Relaxed) != new.max[i] {
                        *slot = Some(me.clone());
                    }
                }
                if b.action() != new.action {
                    setter[ACTION] = Some(me);
                }
            }
            let mut totals = [0; NR_COUNTERS];
            self.add_subtree(&tree, &mut totals);
            // A new action starts every limit again, so that one exceeded under the old action
            // acts under the new one (a log limit raised to SIGTERM sends it).
            let rearm = b.action() != new.action;
            b.action.store(new.action as u32, Relaxed);
            // A limit set again to its value keeps its state: re-submitting the same limits
            // must not re-arm an action that already fired. `fired` is held at 1 while the
            // limit and its count change ([`Budget::cross`]).
            for c in 0..NR_COUNTERS {
                if b.max[c].load(Relaxed) == new.max[c] && !rearm {
                    continue;
                }
                b.fired[c].store(1, Relaxed);
                b.max[c].store(new.max[c], Relaxed);
                b.used[c].store(totals[c], Relaxed);
                b.fired[c].store(0, Release);
                if new.max[c] != 0 && totals[c] > new.max[c] {
                    crossed[c] = Some(totals[c]);
                }
            }
            if b.max[ELAPSED].load(Relaxed) != new.max[ELAPSED] || rearm {
                b.fired[ELAPSED].store(0, Relaxed);
                b.max[ELAPSED].store(new.max[ELAPSED], Relaxed);
            }
            // SAFETY: The caller's reference keeps the session linked: only its free unlinks it.
            unsafe { self.set_elapsed_timer(&tree) };
            let (mask, above) = self.inherited();
            self.update_masks(&tree, mask, above);
            let enforcing = b.enforcing();
            if enforcing != was_enforcing {
                // SAFETY: No requirements; called under the tree lock, as it must be.
                unsafe { bindings::agent_ns_enforcing_add(if enforcing { 1 } else { -1 }) };
            }
            (new, was_enforcing, enforcing)
        };
        // The enforcement hooks are on before the setter returns, and go off lazily.
        if enforcing && !was_enforcing {
            // SAFETY: No requirements; no lock is held (it may sleep).
            unsafe { bindings::agent_ns_update_keys() };
        } else if was_enforcing && !enforcing {
            // SAFETY: No requirements.
            unsafe { bindings::agent_ns_update_keys_later() };
        }
        // Disabled, a limit set below the count acts at the first event counted once the feature
        // is enabled again.
        if !enabled() {
            return Ok(());
        }
        for (c, used) in crossed.iter().enumerate() {
            if let Some(used) = *used {
                if b.cross(c, new.max[c]) {
                    fire(self, c, used, new.max[c]);
                }
            }
        }
        Ok(())
    }

    /// Returns what this session inherits from its parent: the parent's `budget_mask`, and the
    /// nearest session at or above the parent whose budget limits an event counter.
    pub(crate) fn inherited(&self) -> (usize, *const Session) {
        let above = self
            .ns()
            .parent()
            .and_then(|p| p.session())
            .map_or(core::ptr::null(), |p| p.budget_link());
        (self.parent_mask(), above)
    }

    /// Returns where a child's charges go after the child's own budget: this session if its
    /// budget limits an event counter, else where its own go.
    fn budget_link(&self) -> *const Session {
        if self.budget.own_mask() != 0 {
            core::ptr::from_ref(self)
        } else {
            self.budget.above.load(Relaxed)
        }
    }

    /// Sets `budget_mask` and `above` of this session and its descendants from their budgets
    /// and what this session inherits (`parent_mask`, `above`; see [`Session::inherited`]).
    pub(crate) fn update_masks(&self, tree: &TreeGuard, parent_mask: usize, above: *const Session) {
        let mask = parent_mask | self.budget.own_mask();
        // Written only under the tree lock, which `tree` proves held.
        self.ns().budget_mask().store(mask, Relaxed);
        self.budget.above.store(above, Relaxed);
        let link = self.budget_link();
        self.for_each_child(tree, |child| child.update_masks(tree, mask, link));
    }
}

#[macros::kunit_tests(rust_agent_ns_budget)]
mod tests {
    use super::{Action, Limits, Relaxed, Session, ELAPSED, NR_COUNTERS};
    use crate::bindings;
    use crate::{agent_ns::counters::Counter, agent_ns::AgentNamespace, prelude::*};
    use core::ptr;

    fn limit_syscalls(s: &Session, max: u64) -> Result {
        let mut l = Limits::default();
        l.max[Counter::Syscalls as usize] = max;
        s.set_limits(l, &[true; NR_COUNTERS + 1], true)
    }

    fn above(s: &Session) -> *const Session {
        s.budget.above.load(Relaxed)
    }

    /// Charges skip the ancestors without a budget: `above` always names the nearest budgeted
    /// strict ancestor, through budgets set, tightened and removed, and for sessions created
    /// under a budget.
    #[test]
    fn above_links_the_budgeted_ancestors() -> Result {
        let a = AgentNamespace::init_ns().new_child()?;
        let b = a.new_child()?;
        let c = b.new_child()?;
        let (sa, sb, sc) = (
            a.session().ok_or(EINVAL)?,
            b.session().ok_or(EINVAL)?,
            c.session().ok_or(EINVAL)?,
        );
        assert!(above(sc).is_null() && above(sb).is_null() && above(sa).is_null());
        limit_syscalls(sa, 1 << 40)?;
        assert!(above(sa).is_null());
        assert_eq!(above(sb), ptr::from_ref(sa));
        assert_eq!(above(sc), ptr::from_ref(sa));
        limit_syscalls(sb, 1 << 30)?;
        assert_eq!(above(sb), ptr::from_ref(sa));
        assert_eq!(above(sc), ptr::from_ref(sb));
        let d = c.new_child()?;
        assert_eq!(above(d.session().ok_or(EINVAL)?), ptr::from_ref(sb));
        limit_syscalls(sa, 0)?;
        assert!(above(sb).is_null());
        assert_eq!(above(sc), ptr::from_ref(sb));
        Ok(())
    }

    /// A crossing of a limit that a setter has replaced since it was read does not mark the
    /// new limit fired, so the new one still acts when it is crossed; a crossing of the
    /// current limit does, once.
    #[test]
    fn a_replaced_limit_is_not_crossed_for_the_new_one() -> Result {
        let a = AgentNamespace::init_ns().new_child()?;
        let s = a.session().ok_or(EINVAL)?;
        let c = Counter::Syscalls as usize;
        limit_syscalls(s, 1 << 40)?;
        limit_syscalls(s, 1 << 41)?;
        assert!(!s.budget.cross(c, 1 << 40));
        assert_eq!(s.budget.fired[c].load(Relaxed), 0);
        assert!(s.budget.cross(c, 1 << 41));
        assert!(!s.budget.cross(c, 1 << 41));
        Ok(())
    }

    /// A smaller (older) structure leaves the limits it has no field for as they are, so an old
    /// binary neither removes a newer limit nor is refused for "loosening" one.
    #[test]
    fn smaller_structures_keep_the_newer_limits() {
        let v0 = Limits::known(bindings::AGENT_NS_BUDGET_SIZE_VER0 as usize);
        assert!(v0[Counter::Syscalls as usize] && v0[Counter::WriteBytes as usize] && v0[ELAPSED]);
        assert!(!v0[Counter::Openat as usize] && !v0[Counter::Exec as usize]);
        let mut cur = Limits::default();
        cur.max[Counter::Openat as usize] = 10;
        let mut new = Limits::default();
        new.max[Counter::Syscalls as usize] = 5;
        let (m, loosens) = cur.merged(&new, &v0);
        assert_eq!(m.max[Counter::Openat as usize], 10);
        assert_eq!(m.max[Counter::Syscalls as usize], 5);
        assert!(!loosens);
        let all = Limits::known(bindings::AGENT_NS_BUDGET_SIZE_VER1 as usize);
        assert!(all.iter().all(|&k| k));
        assert!(cur.merged(&new, &all).1);
    }

    /// For the loosening rule, every action binds more than log and less than `SIGKILL`, and
    /// deny and `SIGTERM` do not replace each other.
    #[test]
    fn deny_and_sigterm_do_not_replace_each_other() {
        use Action::*;
        let with = |action| Limits {
            action,
            ..Limits::default()
        };
        // Whether a change from the row's action to the column's loosens.
        let all = [Log, Deny, Term, Kill];
        let loosens = [
            // log    deny   term   kill
            [false, false, false, false], // from log
            [true, false, true, false],   // from deny
            [true, true, false, false],   // from term
            [true, true, true, false],    // from kill
        ];
        for (i, old) in all.into_iter().enumerate() {
            for (j, new) in all.into_iter().enumerate() {
                assert_eq!(with(old).loosened_by(&with(new)), loosens[i][j]);
            }
        }
    }
}
