// SPDX-License-Identifier: GPL-2.0

//! The reaper: `kernel.agent_ns.max_lifetime`.
//!
//! Every `kernel.agent_ns.reap_interval` seconds a tick marks the sessions that have outlived
//! the lifetime, unmarks those a raised lifetime covers again, and SIGKILLs the tasks of the
//! marked ones and of the sessions below them. The lifetime is off (0) by default: a supervisor
//! that wants its session to end sets `max_elapsed_ns`, and a machine-wide lifetime is the
//! administrator's choice. The reaper does nothing while the feature is disabled.
//!
//! The work that ticks is a static delayed work in C (`kernel/agent_namespaces.c`): the
//! `reap_interval` sysctl reschedules it with `mod_delayed_work()`, which 7.3's
//! `kernel::workqueue::DelayedWork` does not offer, and it is declared statically next to the
//! sysctls that start and stop it.

use super::{namespace::Session, signal, tree::TreeGuard};
use crate::{
    bindings,
    sync::atomic::{Atomic, Relaxed},
    time::NSEC_PER_SEC,
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
#[no_mangle]
pub extern "C" fn agent_ns_reap_tick(max_lifetime_s: u32) {
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
