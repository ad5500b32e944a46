// SPDX-License-Identifier: GPL-2.0

//! The session tree lock.
//!
//! One spinlock protects the links between sessions (each session's list of live children) and
//! the counts that exited sessions leave to their parents. It is taken when a session is created
//! below another non-initial session, when one is freed, and when counters are read; never on
//! the counting path.

use crate::bindings;
use core::marker::PhantomData;

/// Proof that the tree lock (`agent_ns_tree_lock`) is held; dropping it unlocks.
pub(crate) struct TreeGuard {
    _not_send: PhantomData<*mut ()>,
}

impl TreeGuard {
    /// Takes the tree lock.
    pub(crate) fn lock() -> Self {
        // SAFETY: `agent_ns_tree_lock` is a statically initialised spinlock.
        unsafe { bindings::spin_lock(&raw mut bindings::agent_ns_tree_lock) };
        TreeGuard {
            _not_send: PhantomData,
        }
    }
}

impl Drop for TreeGuard {
    fn drop(&mut self) {
        // SAFETY: The guard exists, so this thread holds the lock.
        unsafe { bindings::spin_unlock(&raw mut bindings::agent_ns_tree_lock) };
    }
}
