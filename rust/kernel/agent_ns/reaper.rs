// SPDX-License-Identifier: GPL-2.0

//! The reaper: `kernel.agent_ns.max_lifetime`.
//!
//! Every `kernel.agent_ns.reap_interval` seconds a tick marks the sessions that have outlived
//! the lifetime, unmarks those a raised lifetime covers again, and SIGKILLs the tasks of the
//! marked ones and of the sessions below them. The lifetime is off (0) by default: a supervisor
//! that wants its session to end sets `max_elapsed_ns`, and a machine-wide lifetime is the
//! administrator's choice. The reaper does nothing while the feature is disabled.
//!
//! The ticks are a [`DelayedWork`] on `system_dfl_wq` that queues itself again one
//! `reap_interval` later; the sysctl's handler reschedules it at once ([`Queue::mod_delayed`]),
//! so a shorter interval does not wait for the end of the longer one. The sysctls themselves
//! are C's (`kernel/agent_namespaces.c`), as is the decision to start the reaper at boot (not
//! with `agent_ns=off`).
//!
//! [`Queue::mod_delayed`]: crate::workqueue::Queue::mod_delayed

use super::{budget::enabled, namespace::Session, signal, tree::TreeGuard};
use crate::{
    alloc::flags::GFP_KERNEL,
    bindings,
    prelude::*,
    sync::{
        atomic::{Atomic, Relaxed},
        Arc, SetOnce,
    },
    time::{msecs_to_jiffies, Jiffies, NSEC_PER_SEC},
    workqueue::{self, impl_has_delayed_work, new_delayed_work, DelayedWork, WorkItem},
};

/// How many sessions the last tick left marked. Only the reaper's work, which never runs twice
/// at once, touches it.
static MARKED: Atomic<u32> = Atomic::new(0);

/// Marks every session older than `max_lifetime_ns` as expired, clears the mark of every other
/// one, and returns how many are marked. A newly marked session is logged and flagged `reaped`.
fn mark_expired(max_lifetime_ns: u64) -> u32 {
    fn visit(s: &Session, tree: &TreeGuard, max: u64, n: &mut u32) {
        let expired = s.elapsed_ns() > max;
        // `expired` and `reaped` are written only here, under the tree lock.
        let was = s.ns().expired_flag().xchg(expired, Relaxed);
        if expired {
            if !was {
                // The tick signals the marked sessions' tasks right after this walk.
                s.ns().reaped_flag().store(true, Relaxed);
                // SAFETY: The session is live: the tree lock keeps it listed.
                unsafe { bindings::agent_ns_log_reaped(s.ns().as_ptr()) };
            }
            *n += 1;
        }
        s.for_each_child(tree, |c| visit(c, tree, max, n));
    }
    let tree = TreeGuard::lock();
    let mut n = 0;
    Session::for_each_root(&tree, |s| visit(s, &tree, max_lifetime_ns, &mut n));
    n
}

/// One tick of the reaper, with `kernel.agent_ns.max_lifetime` in seconds (0: none, also while
/// the feature is disabled). Called by the reaper's work with no lock held.
fn tick(max_lifetime_s: u32) {
    let lifetime = match max_lifetime_s {
        0 => u64::MAX,
        s => u64::from(s) * NSEC_PER_SEC as u64,
    };
    // With no lifetime, a tick walks once more to unmark what the last one marked, then not.
    if lifetime != u64::MAX || MARKED.load(Relaxed) != 0 {
        MARKED.store(mark_expired(lifetime), Relaxed);
    }
    if MARKED.load(Relaxed) != 0 {
        signal::kill_expired();
    }
}

/// Reads one of the reaper's sysctls, which their handlers write at any time.
///
/// # Safety
///
/// `v` must be `agent_ns_max_lifetime` or `agent_ns_reap_interval`.
unsafe fn sysctl(v: *mut u32) -> u32 {
    // SAFETY: The caller passes a C static, valid forever and aligned. Its other accesses are
    // the handler's store of a whole `unsigned int` and `READ_ONCE()`, as for any sysctl.
    unsafe { Atomic::from_ptr(v) }.load(Relaxed)
}

/// `kernel.agent_ns.reap_interval` in jiffies (1 to 3600 s: the sysctl's bounds).
fn interval() -> Jiffies {
    // SAFETY: One of the reaper's sysctls.
    let secs = unsafe { sysctl(&raw mut bindings::agent_ns_reap_interval) };
    msecs_to_jiffies(secs.saturating_mul(1000))
}

/// The reaper's work: one for the system, allocated when the reaper starts at boot. [`REAPER`]
/// keeps a reference for good; the queue holds another while the work is pending.
#[pin_data]
struct Reaper {
    #[pin]
    work: DelayedWork<Reaper>,
}

impl_has_delayed_work! {
    impl HasDelayedWork<Self> for Reaper { self.work }
}

static REAPER: SetOnce<Arc<Reaper>> = SetOnce::new();

impl WorkItem for Reaper {
    type Pointer = Arc<Reaper>;

    fn run(this: Arc<Reaper>) {
        // SAFETY: One of the reaper's sysctls.
        let lifetime = unsafe { sysctl(&raw mut bindings::agent_ns_max_lifetime) };
        tick(if enabled() { lifetime } else { 0 });
        // An `Err` means that the sysctl's handler queued the work again while it ran, for one
        // new interval from then: that stands, and this reference is dropped.
        let _ = workqueue::system_dfl().enqueue_delayed(this, interval());
    }
}

/// Starts the reaper: its first tick one `reap_interval` from now. Called once, at boot.
#[no_mangle]
pub extern "C" fn agent_ns_reaper_start() -> c_int {
    let reaper = match Arc::pin_init(
        pin_init!(Reaper { work <- new_delayed_work!("agent_ns_reaper") }),
        GFP_KERNEL,
    ) {
        Ok(reaper) => reaper,
        Err(e) => return e.to_errno(),
    };
    if !REAPER.populate(reaper.clone()) {
        return EBUSY.to_errno();
    }
    // It was never queued: this cannot fail.
    let _ = workqueue::system_dfl().enqueue_delayed(reaper, interval());
    0
}

/// `kernel.agent_ns.reap_interval` was written: the next tick is one (new) interval from now.
#[no_mangle]
pub extern "C" fn agent_ns_reaper_reschedule() {
    if let Some(reaper) = REAPER.as_ref() {
        // An `Err` means it was pending: only its delay changed, and the queue keeps the
        // reference it had.
        let _ = workqueue::system_dfl().mod_delayed(reaper.clone(), interval());
    }
}

#[macros::kunit_tests(rust_agent_ns_reaper)]
mod tests {
    use crate::{
        alloc::flags::GFP_KERNEL,
        prelude::*,
        sync::{
            atomic::{Atomic, Relaxed},
            Arc,
        },
        time::{delay::fsleep, msecs_to_jiffies, Delta},
        workqueue::{self, impl_has_delayed_work, new_delayed_work, DelayedWork, WorkItem},
    };

    /// A delayed work that counts its runs, rescheduled as the reaper's is.
    #[pin_data]
    struct Tick {
        #[pin]
        work: DelayedWork<Tick>,
        runs: Atomic<u32>,
    }

    impl_has_delayed_work! {
        impl HasDelayedWork<Self> for Tick { self.work }
    }

    impl WorkItem for Tick {
        type Pointer = Arc<Tick>;

        fn run(this: Arc<Tick>) {
            this.runs.add(1, Relaxed);
        }
    }

    /// Waits up to `ms` milliseconds for `t` to have run `n` times.
    fn ran_within(t: &Tick, n: u32, ms: u32) -> bool {
        for _ in 0..ms {
            if t.runs.load(Relaxed) >= n {
                break;
            }
            fsleep(Delta::from_millis(1));
        }
        t.runs.load(Relaxed) == n
    }

    /// A pending work an hour away runs within a second of a reschedule to 10 ms, which hands
    /// back the reference passed in (the queue keeps its own); an idle work is queued with it.
    #[test]
    fn a_reschedule_brings_a_pending_work_forward() -> Result {
        let t = Arc::pin_init(
            pin_init!(Tick {
                work <- new_delayed_work!("agent_ns_test_tick"),
                runs: Atomic::new(0),
            }),
            GFP_KERNEL,
        )?;
        let q = workqueue::system_dfl();
        assert!(q
            .enqueue_delayed(t.clone(), msecs_to_jiffies(3_600_000))
            .is_ok());
        assert!(q.mod_delayed(t.clone(), msecs_to_jiffies(10)).is_err());
        assert!(ran_within(&t, 1, 1000));
        assert!(q.mod_delayed(t.clone(), 0).is_ok());
        assert!(ran_within(&t, 2, 1000));
        Ok(())
    }
}
