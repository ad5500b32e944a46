// SPDX-License-Identifier: GPL-2.0

//! The session tree lock.
//!
//! One mutex protects the links between sessions (each session's list of live children), the
//! counts that exited sessions leave to their parents and the limits. It is taken when a session
//! is created or freed, when counters are read, when limits are set, and by the reaper; never on
//! the counting path, which may run in atomic context. Walks under it reschedule between
//! sessions, so that reading the counters of a session with ten thousand sub-sessions (which
//! any member may do) neither spins other cpus nor keeps its own from scheduling.

use crate::bindings;
use core::marker::PhantomData;

/// Proof that the tree lock (`agent_ns_tree_lock`) is held; dropping it unlocks.
pub(crate) struct TreeGuard {
    _not_send: PhantomData<*mut ()>,
}

impl TreeGuard {
    /// Takes the tree lock; may sleep.
    pub(crate) fn lock() -> Self {
        // SAFETY: `agent_ns_tree_lock` is a statically initialised mutex.
        unsafe { bindings::mutex_lock(&raw mut bindings::agent_ns_tree_lock) };
        TreeGuard {
            _not_send: PhantomData,
        }
    }
}

impl Drop for TreeGuard {
    fn drop(&mut self) {
        // SAFETY: The guard exists, so this thread holds the lock.
        unsafe { bindings::mutex_unlock(&raw mut bindings::agent_ns_tree_lock) };
    }
}
