// SPDX-License-Identifier: GPL-2.0

//! A session's namespace file: who may `setns(2)` where, and whose parent `NS_GET_PARENT` hands
//! out.
//!
//! The operations table (`agentns_operations`) is C, because `struct proc_ns_operations` is
//! `__randomize_layout`; its `install` asks [`agent_ns_may_enter`] before switching sessions.
//!
//! Entering needs what entering any namespace needs: `CAP_SYS_ADMIN` over the target session's
//! owner and in the caller's own user namespace. Leaving needs more, because a session must not
//! be escapable: a task that moves anywhere but into its session's own subtree leaves every
//! session between its current one and the closest common ancestor of the two, and needs
//! `CAP_SYS_ADMIN` over the owner of each of them, the privilege that loosening their budgets
//! would take. Without it, a task of a session created under `no_new_privs` could create a user
//! namespace, become root in it and `setns` into a session that user namespace owns, outside
//! every budget it was put under.

use super::AgentNamespace;
use crate::{bindings, ffi::c_int, prelude::*, sync::aref::ARef};

/// Whether the current task has `CAP_SYS_ADMIN` in `user_ns`.
fn capable_in(user_ns: *mut bindings::user_namespace) -> bool {
    // SAFETY: `user_ns` is a valid user namespace (the callers hold references).
    unsafe { bindings::ns_capable(user_ns, bindings::CAP_SYS_ADMIN as c_int) }
}

/// Checks that the current task may leave `ns`.
fn may_leave(ns: &AgentNamespace) -> Result {
    if capable_in(ns.user_ns()) {
        Ok(())
    } else {
        Err(EPERM)
    }
}

/// Checks the sessions `from` leaves to move to `to`: those on the path from `from` up to,
/// excluding, the closest common ancestor of the two.
fn may_move(from: &AgentNamespace, to: &AgentNamespace) -> Result {
    let (mut a, mut b) = (from, to);
    while a.level() > b.level() {
        may_leave(a)?;
        a = a.parent().ok_or(EINVAL)?;
    }
    while b.level() > a.level() {
        b = b.parent().ok_or(EINVAL)?;
    }
    while a.as_ptr() != b.as_ptr() {
        may_leave(a)?;
        a = a.parent().ok_or(EINVAL)?;
        b = b.parent().ok_or(EINVAL)?;
    }
    Ok(())
}

fn may_enter(target: &AgentNamespace, cred_ns: *mut bindings::user_namespace) -> Result {
    // A session covers whole processes: a thread cannot leave its siblings behind.
    let current = crate::current!();
    // SAFETY: `current` is a valid task.
    if !unsafe { bindings::thread_group_empty(current.as_ptr()) } {
        return Err(EINVAL);
    }
    if !capable_in(target.user_ns()) || !capable_in(cred_ns) {
        return Err(EPERM);
    }
    may_move(&AgentNamespace::current(), target)
}

/// Decides whether the current task may `setns(2)` into `ns`: 0, `-EPERM` or `-EINVAL` (the
/// caller has other threads).
///
/// # Safety
///
/// `ns` must be a valid session and `cred_ns` a valid user namespace: the one the caller's
/// credentials will have after `setns(2)`.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_may_enter(
    ns: *mut bindings::agent_namespace,
    cred_ns: *mut bindings::user_namespace,
) -> c_int {
    // SAFETY: The caller guarantees `ns` is valid for the duration of the call.
    let target = unsafe { AgentNamespace::from_ptr(ns) };
    match may_enter(target, cred_ns) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

/// Returns the parent of `ns` for `NS_GET_PARENT`, with a reference the caller owns, or null
/// (`EPERM`) when the caller may not see it.
///
/// The rule is the pid namespaces' (`pidns_get_parent()`): the parent is handed out only when it
/// is the caller's own session or below it. A task in a session gets no descriptor of a session
/// above its own (which would keep it alive and name it to `setns(2)`; the parent's id it may
/// read, with `PR_GET_AGENT_PARENT_ID`); from the initial session every chain can be walked up
/// to the top.
///
/// # Safety
///
/// `ns` must be a valid session for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_get_parent(
    ns: *mut bindings::agent_namespace,
) -> *mut bindings::agent_namespace {
    // SAFETY: The caller guarantees that `ns` is valid.
    let Some(parent) = (unsafe { AgentNamespace::from_ptr(ns) }).parent() else {
        return core::ptr::null_mut();
    };
    let me = AgentNamespace::current();
    let mut p = Some(parent);
    while let Some(s) = p {
        if s.level() < me.level() {
            break;
        }
        if s.as_ptr() == me.as_ptr() {
            return ARef::into_raw(ARef::from(parent)).as_ptr().cast();
        }
        p = s.parent();
    }
    core::ptr::null_mut()
}
