// SPDX-License-Identifier: GPL-2.0

//! The elapsed-time budget: a timer at the deadline and a work item that acts on it.
//!
//! Each session has a `CLOCK_BOOTTIME` [`HrTimer`] armed for `max_elapsed_ns` after the session's
//! creation. It fires in hard-irq context, where a budget cannot act (an action logs and walks
//! the task list), so it queues the session's [`Work`] on `system_highpri_wq`, which applies the
//! action in process context.
//!
//! Lifetime, by construction rather than by flags:
//!
//! - The work is queued as an [`ARef`]: it holds a reference on the session from the moment it
//!   is queued until it has run, so a session is never freed with its work queued or running
//!   (a work that drops the last reference frees the session itself, in process context).
//! - The timer holds no reference: a session with a deadline hours away is still freed when its
//!   last task exits. Its callback takes a reference only while the count is not zero, and never
//!   drops the last one (the free sleeps).
//! - The timer is armed only under the tree lock, for a session still linked into the tree: by a
//!   setter and by the work, which hold references, and by [`agent_ns_resume`]. The free unlinks
//!   the session under the tree lock and only then cancels the timer, waiting for a running
//!   callback. After that nothing can arm it, and the work, which would hold a reference, is not
//!   queued.
//! - Arming under the tree lock with the limit read there also orders concurrent setters and the
//!   work: the timer always ends armed for the limit the last of them saw. The work also marks
//!   the limit fired under the lock, so that a setter that replaces the limit meanwhile resets
//!   the mark for the new one. A work that has marked it still acts after a setter that removes
//!   the limit returns: the old limit was exceeded.

use super::{
    budget::{enabled, fire, ELAPSED},
    namespace::Session,
    tree::TreeGuard,
};
use crate::{
    bindings, impl_has_hr_timer, impl_has_work,
    sync::aref::ARef,
    time::{
        hrtimer::{
            AbsoluteMode, HasHrTimer, HrTimer, HrTimerCallback, HrTimerCallbackContext,
            HrTimerRestart,
        },
        BootTime, Instant,
    },
    workqueue::{self, WorkItem},
};
use core::{pin::Pin, ptr::NonNull};

impl_has_hr_timer! {
    impl HasHrTimer<Self> for Session {
        mode: AbsoluteMode<BootTime>,
        field: self.elapsed_timer,
    }
}

impl_has_work! {
    impl HasWork<Self> for Session { self.elapsed_work }
}

impl HrTimerCallback for Session {
    type Pointer<'a> = Pin<&'a Session>;

    fn run(this: Pin<&Session>, _ctx: HrTimerCallbackContext<'_, Self>) -> HrTimerRestart {
        // A count at zero: the session is being freed, and its free waits for this callback.
        if let Some(s) = this.get_ref().try_get() {
            queue(s);
        }
        HrTimerRestart::NoRestart
    }
}

/// Queues the session's work with the reference `s`, from the timer's callback.
fn queue(mut s: ARef<Session>) {
    while let Err(back) = workqueue::system_highpri().enqueue(s) {
        // Already queued: that work holds a reference of its own and checks the deadline, so
        // ours is dropped. Unless the work ran meanwhile and ours is now the last reference:
        // a session is not freed from hard-irq context, so the work is queued with it instead.
        // SAFETY: `back` owns a reference, so the count is valid and not below one.
        if unsafe { bindings::refcount_dec_not_one(back.ns().refcount_ptr()) } {
            core::mem::forget(back);
            return;
        }
        s = back;
    }
}

impl WorkItem for Session {
    type Pointer = ARef<Session>;

    fn run(s: ARef<Session>) {
        // Disabled, a deadline is not acted on: `agent_ns_resume()` re-arms the timer when the
        // feature is enabled again.
        if !enabled() {
            return;
        }
        let (elapsed, limit) = {
            let tree = TreeGuard::lock();
            let limit = s.budget.max_elapsed();
            let elapsed = s.elapsed_ns();
            // No limit any more, or a later one that a setter put in place since the timer was
            // armed: arm the timer for what is there now (a racing setter has done the same).
            if limit == 0 || elapsed < limit {
                // SAFETY: Our reference keeps the session linked: only its free unlinks it.
                unsafe { s.set_elapsed_timer(&tree) };
                return;
            }
            if !s.budget.fire_elapsed_once() {
                return;
            }
            (elapsed, limit)
        };
        fire(&s, ELAPSED, elapsed, limit);
    }
}

impl Session {
    /// Returns a new reference, or `None` once the last one is gone (the session is being
    /// freed).
    fn try_get(&self) -> Option<ARef<Session>> {
        // SAFETY: The count is in the valid object `self`.
        let got = unsafe { bindings::refcount_inc_not_zero(self.ns().refcount_ptr()) };
        // SAFETY: We now own the reference that was taken.
        got.then(|| unsafe { ARef::from_raw(NonNull::from(self)) })
    }

    /// Arms the timer for the current elapsed-time limit, or stops it when there is none or it
    /// has fired.
    ///
    /// `_tree` orders this with the other armers and with the free (see the module's
    /// documentation).
    ///
    /// # Safety
    ///
    /// `self` must be linked into the session tree: its free has not unlinked it yet.
    pub(crate) unsafe fn set_elapsed_timer(&self, _tree: &TreeGuard) {
        let limit = self.budget.max_elapsed();
        if limit == 0 || self.budget.elapsed_fired() {
            self.stop_elapsed();
            return;
        }
        // Past KTIME_MAX the deadline would wrap to the past: clamp it (it never fires).
        let deadline = self.start_ns().saturating_add(limit).min(i64::MAX as u64);
        // SAFETY: `deadline` is in `0..=KTIME_MAX`; `self` is linked into the tree (caller
        // guarantee) and the tree lock is held, so the free, which cancels the timer after
        // unlinking it under that lock, comes after this start.
        unsafe {
            <Self as HasHrTimer<Self>>::start(self, Instant::from_ktime(deadline as i64));
        }
    }

    /// Stops the timer, waiting for a running callback; may sleep.
    pub(crate) fn stop_elapsed(&self) {
        // SAFETY: `self` is valid and its timer initialised.
        unsafe { HrTimer::raw_cancel(<Self as HasHrTimer<Self>>::raw_get_timer(self)) };
    }
}

/// Re-arms the elapsed-time budgets that have not fired, when the feature is enabled again: a
/// deadline that passed while it was disabled acts at once.
#[no_mangle]
pub extern "C" fn agent_ns_resume() {
    fn visit(s: &Session, tree: &TreeGuard) {
        // SAFETY: The walk under the tree lock sees linked sessions only.
        unsafe { s.set_elapsed_timer(tree) };
        s.for_each_child(tree, |c| visit(c, tree));
    }
    let tree = TreeGuard::lock();
    Session::for_each_root(&tree, |s| visit(s, &tree));
}

#[macros::kunit_tests(rust_agent_ns_elapsed)]
mod tests {
    use super::super::{
        budget::{enabled, Limits, ELAPSED},
        counters::NR_COUNTERS,
        namespace::Session,
        AgentNamespace,
    };
    use crate::{
        prelude::*,
        time::{delay::fsleep, Delta},
    };

    fn limit_elapsed(s: &Session, ns: u64) -> Result {
        let mut l = Limits::default();
        l.max[ELAPSED] = ns;
        s.set_limits(l, &[true; NR_COUNTERS + 1], true)
    }

    /// Waits up to `ms` milliseconds for the elapsed-time limit of `s` to fire.
    fn fired_within(s: &Session, ms: u32) -> bool {
        for _ in 0..ms {
            if s.budget.elapsed_fired() {
                return true;
            }
            fsleep(Delta::from_millis(1));
        }
        s.budget.elapsed_fired()
    }

    /// A deadline that passes fires the limit from the work, in a session no task is in; a new
    /// limit starts unfired and is armed again. (Booted with the feature disabled, nothing
    /// fires: the test has nothing to check.)
    #[test]
    fn a_passed_deadline_fires_from_the_work() -> Result {
        if !enabled() {
            return Ok(());
        }
        let a = AgentNamespace::init_ns().new_child()?;
        let s = a.session().ok_or(EINVAL)?;
        limit_elapsed(s, 1_000_000)?;
        assert!(fired_within(s, 2000));
        limit_elapsed(s, 3600 * 1_000_000_000)?;
        assert!(!s.budget.elapsed_fired());
        assert!(!fired_within(s, 20));
        Ok(())
    }

    /// A limit removed before its deadline never fires.
    #[test]
    fn a_removed_limit_does_not_fire() -> Result {
        let a = AgentNamespace::init_ns().new_child()?;
        let s = a.session().ok_or(EINVAL)?;
        limit_elapsed(s, 250_000_000)?;
        limit_elapsed(s, 0)?;
        assert!(!fired_within(s, 350));
        Ok(())
    }
}
