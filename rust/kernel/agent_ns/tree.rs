// SPDX-License-Identifier: GPL-2.0

//! The session tree lock.
//!
//! One mutex protects the links between sessions (each session's list of live children), the
//! counts that exited sessions leave to their parents and the limits. It is taken when a session
//! is created or freed, when counters are read, when limits are set, and by the reaper; never on
//! the counting path, which may run in atomic context. Walks under it reschedule between
//! sessions, so that reading the counters of a session with ten thousand sub-sessions (which
//! any member may do) neither spins other cpus nor keeps its own from scheduling. The C side
//! never takes it.

use crate::{global_lock, sync::lock::GlobalGuard};
use core::pin::Pin;

global_lock! {
    // SAFETY: `agent_ns_tree_init()` initialises the lock, from `agent_ns_init()`, before any
    // session can exist, so before its first use; `TREE_LOCK` backs no other lock.
    unsafe(uninit) static TREE_LOCK: Mutex<()> = ();
}

/// Proof that the tree lock is held; dropping it unlocks.
pub(crate) struct TreeGuard {
    _guard: GlobalGuard<TREE_LOCK>,
}

impl TreeGuard {
    /// Takes the tree lock; may sleep.
    pub(crate) fn lock() -> Self {
        TreeGuard {
            _guard: TREE_LOCK.lock(),
        }
    }
}

/// Initialises the tree lock; called once, by the initcall `agent_ns_init()`.
#[no_mangle]
extern "C" fn agent_ns_tree_init() {
    // SAFETY: The initcall runs once, before user space can create a session (and with it the
    // lock's first user).
    unsafe { TREE_LOCK.init() };
}
