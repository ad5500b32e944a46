// SPDX-License-Identifier: GPL-2.0

//! A session's namespace file: the operations of `/proc/$PID/ns/agent` (who may `setns(2)`
//! where, and whose parent `NS_GET_PARENT` hands out).
//!
//! The operations table (`agentns_operations`) is C, because `struct proc_ns_operations` is
//! `__randomize_layout`; its entries are the functions below.
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
use core::ptr::{self, NonNull};

// `install` writes `nsset->nsproxy->agent_ns` and reads `nsset->cred`: bindgen's view of those
// fields must be the C compiler's (`<generated/agent-ns-offsets.h>`, as in `namespace.rs`).
const _: () = {
    use core::mem::offset_of;

    assert!(
        offset_of!(bindings::nsproxy, agent_ns) == bindings::AGENT_NS_C_NSPROXY_AGENT_NS as usize
    );
    assert!(offset_of!(bindings::nsset, nsproxy) == bindings::AGENT_NS_C_NSSET_NSPROXY as usize);
    assert!(offset_of!(bindings::nsset, cred) == bindings::AGENT_NS_C_NSSET_CRED as usize);
};

/// Returns the session whose namespace core `ns` is.
///
/// # Safety
///
/// `ns` must be the `ns` field of a valid session that stays valid for `'a`.
unsafe fn from_common<'a>(ns: *mut bindings::ns_common) -> &'a AgentNamespace {
    // SAFETY: `ns` is the `ns` field of a `struct agent_namespace` (caller guarantee).
    let ns = unsafe { crate::container_of!(ns, bindings::agent_namespace, ns) };
    // SAFETY: The caller guarantees that the session is valid for `'a`.
    unsafe { AgentNamespace::from_ptr(ns) }
}

/// Hands a reference the caller owns to C, as the namespace core nsfs works with.
fn into_common(ns: ARef<AgentNamespace>) -> *mut bindings::ns_common {
    let ns = ARef::into_raw(ns)
        .as_ptr()
        .cast::<bindings::agent_namespace>();
    // SAFETY: `ns` is valid (we hold the reference we hand over); no reference is created.
    unsafe { &raw mut (*ns).ns }
}

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

/// The `get` operation: the session of `task`, with a reference the caller owns, or null once
/// `task` has dropped its namespaces.
///
/// # Safety
///
/// `task` must be a valid task for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn agentns_get(task: *mut bindings::task_struct) -> *mut bindings::ns_common {
    // SAFETY: The caller guarantees that `task` is valid.
    unsafe { AgentNamespace::of_task(task) }.map_or(ptr::null_mut(), into_common)
}

/// The `put` operation: drops a reference that `get`, `get_parent` or nsfs took.
///
/// # Safety
///
/// `ns` must be the namespace core of a session on which the caller owns a reference.
#[no_mangle]
pub unsafe extern "C" fn agentns_put(ns: *mut bindings::ns_common) {
    // SAFETY: The caller owns a reference on the session, which it hands to us.
    let ns = unsafe { NonNull::from(from_common(ns)) };
    // SAFETY: See above.
    drop(unsafe { ARef::from_raw(ns) });
}

/// The `install` operation of `setns(2)`: 0 after switching `nsset`'s nsproxy to `ns`, or
/// `-EPERM`, or `-EINVAL` (the caller has other threads).
///
/// # Safety
///
/// `nsset` must be a valid `struct nsset` being prepared by the current task, with a private
/// nsproxy and the credentials the task will have after `setns(2)`; `ns` must be the namespace
/// core of a valid session.
#[no_mangle]
pub unsafe extern "C" fn agentns_install(
    nsset: *mut bindings::nsset,
    ns: *mut bindings::ns_common,
) -> c_int {
    // SAFETY: The caller guarantees that `ns` is valid for the duration of the call.
    let target = unsafe { from_common(ns) };
    // SAFETY: `nsset` and its credentials are valid (caller guarantee).
    let cred_ns = unsafe { (*(*nsset).cred).user_ns };
    if let Err(e) = may_enter(target, cred_ns) {
        return e.to_errno();
    }
    let new = ARef::into_raw(ARef::from(target)).as_ptr().cast();
    // SAFETY: The nsproxy is the caller's private copy (caller guarantee), whose `agent_ns` holds
    // a reference: we replace it with the one just taken and own the old one.
    let old = unsafe { ptr::replace(&raw mut (*(*nsset).nsproxy).agent_ns, new) };
    // SAFETY: `old` is a valid session whose reference we now own.
    drop(unsafe { ARef::from_raw(NonNull::from(AgentNamespace::from_ptr(old))) });
    0
}

/// The `owner` operation: the user namespace that owns `ns`.
///
/// # Safety
///
/// `ns` must be the namespace core of a valid session.
#[no_mangle]
pub unsafe extern "C" fn agentns_owner(
    ns: *mut bindings::ns_common,
) -> *mut bindings::user_namespace {
    // SAFETY: The caller guarantees that `ns` is valid.
    unsafe { from_common(ns) }.user_ns()
}

/// The `get_parent` operation of `NS_GET_PARENT`: the parent of `ns`, with a reference the
/// caller owns, or `ERR_PTR(-EPERM)` when the caller may not see it.
///
/// The rule is the pid namespaces' (`pidns_get_parent()`): the parent is handed out only when it
/// is the caller's own session or below it. A task in a session gets no descriptor of a session
/// above its own (which would keep it alive and name it to `setns(2)`; the parent's id it may
/// read, with `PR_GET_AGENT_PARENT_ID`); from the initial session every chain can be walked up
/// to the top.
///
/// # Safety
///
/// `ns` must be the namespace core of a valid session for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn agentns_get_parent(
    ns: *mut bindings::ns_common,
) -> *mut bindings::ns_common {
    // SAFETY: The caller guarantees that `ns` is valid.
    let Some(parent) = unsafe { from_common(ns) }.parent() else {
        return EPERM.to_ptr();
    };
    let me = AgentNamespace::current();
    let mut p = Some(parent);
    while let Some(s) = p {
        if s.level() < me.level() {
            break;
        }
        if s.as_ptr() == me.as_ptr() {
            return into_common(ARef::from(parent));
        }
        p = s.parent();
    }
    EPERM.to_ptr()
}
