// SPDX-License-Identifier: GPL-2.0

//! Session budgets: limits on the counters, enforced where they are crossed.
//!
//! A limit on a session covers its whole subtree. A session whose own or an ancestor's budget
//! limits counter `c` has bit `c` set in its `budget_mask`; for such a session the C hook calls
//! [`agent_ns_charge`] before its per-CPU add (both in `agent_ns_charge_count()`, or
//! `agent_ns_charge_syscall()` for the system call entry), which walks up
//! the session's ancestors and charges every budget that limits `c`: one atomic add each. The
//! event that takes a budget past its limit fires the action once: a tracepoint and a log line,
//! and for `SIGTERM`/`SIGKILL` the signal to every process of the budget's subtree, sent before
//! the crossing task returns to user space.
//! Under a fired `SIGKILL` budget, a later event of a task that has no SIGKILL pending yet (it
//! entered the kernel before the signal landed) is a straggler: a system call is not counted and
//! not run, its process ends at system call entry; any other event (which has already happened)
//! queues a SIGKILL on its own process. So the crossing event is the only one counted past a
//! syscall limit, and no thread gets further than one event past any other limit. The
//! elapsed-time limit is a per-session hrtimer.

use super::{
    counters::{Counter, NR_COUNTERS},
    namespace::{AgentNamespace, Session},
    trace,
    tree::TreeGuard,
};
use crate::{
    bindings,
    ffi::c_int,
    prelude::*,
    sync::atomic::{Atomic, Relaxed},
};

/// What happens when a budget is exceeded (`AGENT_NS_ACTION_*`), in increasing severity.
pub(crate) const ACTION_LOG: u32 = bindings::AGENT_NS_ACTION_LOG;
pub(crate) const ACTION_SIGKILL: u32 = bindings::AGENT_NS_ACTION_SIGKILL;

/// Index of the elapsed-time limit in [`Limits::max`] and [`Budget::fired`].
const ELAPSED: usize = NR_COUNTERS;

/// The limits of a session as userspace sets them; 0 means no limit.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub(crate) struct Limits {
    /// Limits of the event counters, indexed by [`Counter`], then the elapsed-time limit.
    pub(crate) max: [u64; NR_COUNTERS + 1],
    /// The action, `AGENT_NS_ACTION_*`.
    pub(crate) action: u32,
}

impl Limits {
    /// Converts from the uapi layout, rejecting bad actions and reserved bits (`EINVAL`).
    pub(crate) fn from_uapi(b: &bindings::agent_ns_budget) -> Result<Self> {
        if b.action > ACTION_SIGKILL || b.reserved != 0 {
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
        Ok(Limits {
            max,
            action: b.action,
        })
    }

    /// Converts to the uapi layout.
    pub(crate) fn to_uapi(self) -> bindings::agent_ns_budget {
        let m = |c: Counter| self.max[c as usize];
        bindings::agent_ns_budget {
            max_syscalls: m(Counter::Syscalls),
            max_write_bytes: m(Counter::WriteBytes),
            max_elapsed_ns: self.max[ELAPSED],
            action: self.action,
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
    /// or lowers the action's severity.
    pub(crate) fn loosened_by(&self, new: &Limits) -> bool {
        new.action < self.action
            || self
                .max
                .iter()
                .zip(new.max.iter())
                .any(|(&old, &new)| old != 0 && (new == 0 || new > old))
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
/// `max` and `action` change only under the tree lock; `used[c]` counts the subtree's events of
/// counter `c` since its limit was last set (it starts from the subtree's total then); `fired[i]`
/// is 1 once limit `i`'s action has fired since the limit was last set; `acted` is 1 once any
/// `SIGTERM` or `SIGKILL` action has fired, for good. `above` is null or points to the nearest
/// strict ancestor whose budget limits an event counter; it changes only under the tree lock,
/// and every value it ever holds is an ancestor, which outlives the session.
pub(crate) struct Budget {
    max: [Atomic<u64>; NR_COUNTERS + 1],
    action: Atomic<u32>,
    used: [Atomic<u64>; NR_COUNTERS],
    fired: [Atomic<u32>; NR_COUNTERS + 1],
    acted: Atomic<u32>,
    above: Atomic<*const Session>,
}

impl Budget {
    /// An empty budget: no limits.
    pub(crate) fn new() -> Self {
        Budget {
            max: [const { Atomic::new(0) }; NR_COUNTERS + 1],
            action: Atomic::new(ACTION_LOG),
            used: [const { Atomic::new(0) }; NR_COUNTERS],
            fired: [const { Atomic::new(0) }; NR_COUNTERS + 1],
            acted: Atomic::new(0),
            above: Atomic::new(core::ptr::null()),
        }
    }

    /// Returns whether a `SIGTERM` or `SIGKILL` action of this budget has ever fired.
    pub(crate) fn acted(&self) -> bool {
        self.acted.load(Relaxed) != 0
    }

    /// Returns the current limits.
    pub(crate) fn limits(&self) -> Limits {
        Limits {
            max: core::array::from_fn(|i| self.max[i].load(Relaxed)),
            action: self.action.load(Relaxed),
        }
    }

    fn own_mask(&self) -> usize {
        self.limits().mask()
    }
}

fn signal(action: u32) -> c_int {
    match action {
        ACTION_SIGKILL => bindings::SIGKILL as c_int,
        _ => bindings::SIGTERM as c_int,
    }
}

pub(crate) fn counter_name(i: usize) -> &'static CStr {
    if i == ELAPSED {
        return c"elapsed_ns";
    }
    Counter::ALL[i].c_name()
}

/// Fires `s`'s action for limit `i`: reports it, and signals the subtree either before the
/// current task returns to user space (`deferred`) or right away.
fn fire(s: &Session, i: usize, value: u64, limit: u64, deferred: bool) {
    let ns = s.ns().as_ptr();
    let action = s.budget.action.load(Relaxed);
    trace::budget_exceeded(s.ns(), i, value, limit, action);
    // SAFETY: `ns` is a valid session; the name is a static C string.
    unsafe {
        bindings::agent_ns_log_budget_exceeded(
            ns,
            counter_name(i).as_char_ptr(),
            value,
            limit,
            action,
        )
    };
    if action == ACTION_LOG {
        return;
    }
    s.budget.acted.store(1, Relaxed);
    if deferred {
        // SAFETY: `ns` is valid; the call takes its own reference.
        if unsafe { bindings::agent_ns_kill_before_return(ns, signal(action)) } != 0 {
            // Could not queue the kill: let the next event try again.
            s.budget.fired[i].store(0, Relaxed);
        }
    } else {
        // SAFETY: `ns` is valid and we are in process context without locks held.
        unsafe { bindings::agent_ns_signal_subtree(ns, signal(action)) };
    }
}

/// Charges `val` events of counter `c` to every budget of `ns` and its ancestors that limits `c`.
///
/// Called by the C hooks (`agent_ns_count()`, `agent_ns_count_syscall()`), through
/// `agent_ns_charge_count()` or `agent_ns_charge_syscall()` and before the per-CPU add, when
/// bit `c` of `ns->budget_mask` is set. It visits `ns` and then only the ancestors with a
/// budget (through `above`), so its cost grows with the number of budgets on the chain, not
/// with the nesting depth.
///
/// # Safety
///
/// `ns` must be the current task's session and `c` a valid counter.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_charge(ns: *mut bindings::agent_namespace, c: u32, val: u64) {
    let c = c as usize;
    // SAFETY: The current task's session is valid while it runs, and so are its ancestors.
    let mut cur = unsafe { AgentNamespace::from_ptr(ns) }.session();
    while let Some(s) = cur {
        let b = &s.budget;
        let limit = b.max[c].load(Relaxed);
        if limit != 0 {
            let used = b.used[c].fetch_add(val, Relaxed).wrapping_add(val);
            if used > limit {
                if b.fired[c].xchg(1, Relaxed) == 0 {
                    fire(s, c, used, limit, true);
                } else if b.action.load(Relaxed) == ACTION_SIGKILL {
                    // A straggler past a fired kill budget, which entered the kernel before
                    // its SIGKILL was pending. A system call has not run yet (the hook charges
                    // before it counts): end the process before it does. Any other event has
                    // happened: make sure the process gets its SIGKILL before it returns.
                    if c == Counter::Syscalls as usize {
                        // SAFETY: Only the system call entry hook counts system calls, in the
                        // context where seccomp ends a process too.
                        unsafe { bindings::agent_ns_exit_straggler() };
                    }
                    // SAFETY: A null session means the current process only.
                    unsafe {
                        bindings::agent_ns_kill_before_return(
                            core::ptr::null_mut(),
                            bindings::SIGKILL as c_int,
                        )
                    };
                }
            }
        }
        // SAFETY: `above` is null or an ancestor of `s`, which outlives it (type invariant of
        // `Budget`); every value it held was one, so a racing update cannot make it dangle.
        cur = unsafe { s.budget.above.load(Relaxed).as_ref() };
    }
}

/// Applies the elapsed-time budget of `ns`; called from the session's timer work.
///
/// # Safety
///
/// `ns` must be a live session (its free cancels the work before freeing it).
#[no_mangle]
pub unsafe extern "C" fn agent_ns_elapsed_expired(ns: *mut bindings::agent_namespace) {
    // SAFETY: The caller guarantees `ns` is valid.
    let Some(s) = (unsafe { AgentNamespace::from_ptr(ns) }).session() else {
        return;
    };
    let limit = s.budget.max[ELAPSED].load(Relaxed);
    if limit == 0 {
        return;
    }
    // A timer armed for an older, shorter limit that a racing `set_limits()` replaced: wait for
    // the current one.
    if s.elapsed_ns() < limit {
        s.arm_elapsed(limit);
        return;
    }
    if s.budget.fired[ELAPSED].xchg(1, Relaxed) == 0 {
        fire(s, ELAPSED, s.elapsed_ns(), limit, false);
    }
}

impl Session {
    /// Sets this session's limits; the caller has checked the permission to loosen.
    ///
    /// Limits that change start counting from the subtree's current totals, and one already
    /// exceeded fires at once, before the caller returns to user space; a limit set again to its
    /// value keeps its count and its fired action.
    pub(crate) fn set_limits(&self, new: Limits) {
        let b = &self.budget;
        let mut crossed = [None; NR_COUNTERS];
        {
            let tree = TreeGuard::lock();
            let mut totals = [0; NR_COUNTERS];
            self.add_subtree(&tree, &mut totals);
            b.action.store(new.action, Relaxed);
            // A limit set again to its value keeps its state: re-submitting the same limits
            // must not re-arm an action that already fired.
            for c in 0..NR_COUNTERS {
                if b.max[c].load(Relaxed) == new.max[c] {
                    continue;
                }
                b.used[c].store(totals[c], Relaxed);
                b.fired[c].store(0, Relaxed);
                b.max[c].store(new.max[c], Relaxed);
                if new.max[c] != 0 && totals[c] > new.max[c] {
                    crossed[c] = Some(totals[c]);
                }
            }
            if b.max[ELAPSED].load(Relaxed) != new.max[ELAPSED] {
                b.fired[ELAPSED].store(0, Relaxed);
                b.max[ELAPSED].store(new.max[ELAPSED], Relaxed);
            }
            let (mask, above) = self.inherited();
            self.update_masks(&tree, mask, above);
        }
        // SAFETY: `self.ns()` is a valid session; the cancel may sleep and no lock is held.
        unsafe { bindings::agent_ns_timer_cancel(self.ns().as_ptr()) };
        if new.max[ELAPSED] != 0 {
            self.arm_elapsed(new.max[ELAPSED]);
        }
        for (c, used) in crossed.iter().enumerate() {
            if let Some(used) = *used {
                if b.fired[c].xchg(1, Relaxed) == 0 {
                    fire(self, c, used, new.max[c], true);
                }
            }
        }
    }

    /// Arms the elapsed-time timer for `limit` nanoseconds after the session's creation.
    fn arm_elapsed(&self, limit: u64) {
        // Past KTIME_MAX the timer would wrap to the past: clamp (never fires).
        let deadline = self.start_ns().saturating_add(limit).min(i64::MAX as u64);
        // SAFETY: `self.ns()` is a valid session whose timer is initialised.
        unsafe { bindings::agent_ns_timer_arm(self.ns().as_ptr(), deadline) };
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
        // SAFETY: `budget_mask` is written only under the tree lock, which `tree` proves held;
        // the hooks read it with `READ_ONCE()`.
        unsafe { core::ptr::write_volatile(&raw mut (*self.ns().as_ptr()).budget_mask, mask) };
        self.budget.above.store(above, Relaxed);
        let link = self.budget_link();
        self.for_each_child(tree, |child| child.update_masks(tree, mask, link));
    }
}

#[macros::kunit_tests(rust_agent_ns_budget)]
mod tests {
    use super::{Limits, Relaxed, Session};
    use crate::{agent_ns::counters::Counter, agent_ns::AgentNamespace, prelude::*};
    use core::ptr;

    fn limit_syscalls(s: &Session, max: u64) {
        let mut l = Limits::default();
        l.max[Counter::Syscalls as usize] = max;
        s.set_limits(l);
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
        limit_syscalls(sa, 1 << 40);
        assert!(above(sa).is_null());
        assert_eq!(above(sb), ptr::from_ref(sa));
        assert_eq!(above(sc), ptr::from_ref(sa));
        limit_syscalls(sb, 1 << 30);
        assert_eq!(above(sb), ptr::from_ref(sa));
        assert_eq!(above(sc), ptr::from_ref(sb));
        let d = c.new_child()?;
        assert_eq!(above(d.session().ok_or(EINVAL)?), ptr::from_ref(sb));
        limit_syscalls(sa, 0);
        assert!(above(sb).is_null());
        assert_eq!(above(sc), ptr::from_ref(sb));
        Ok(())
    }
}
