// SPDX-License-Identifier: GPL-2.0

//! Whom a budget's action signals, with whose authority.
//!
//! A budget acts with no more authority than the tasks that set it: its signal reaches a task
//! only if both the task that set the crossed limit and the task that set the action could have
//! signalled it with kill(2): by their credentials, through their pid namespaces and as the
//! LSMs allow. The reaper acts with the kernel's own authority, which the
//! administrator gave it by setting `kernel.agent_ns.max_lifetime`.
//!
//! The walk over the task list is C (`agent_ns_signal_picked()`, as 7.3 has no Rust abstraction
//! of it); it asks [`pick_subtree`] or [`pick_expired`] about every thread.

use super::namespace::{AgentNamespace, Session};
use crate::{
    bindings,
    cred::Credential,
    ffi::{c_int, c_void},
    pid_namespace::PidNamespace,
    sync::{aref::ARef, atomic::Relaxed, rcu},
    task::{Kuid, Task},
};
use core::{iter::successors, ptr};

/// The task that set a budget's limit or action, as far as the kill(2) rule its signal follows
/// needs it: its credentials, and the pid namespace through which it names tasks.
#[derive(Clone)]
pub(crate) struct Setter {
    cred: ARef<Credential>,
    pid_ns: ARef<PidNamespace>,
}

impl Setter {
    /// The current task as a setter; `None` once it has left its pid namespace (exiting).
    pub(crate) fn current() -> Option<Self> {
        let pid_ns = ARef::from(crate::current!().active_pid_ns()?);
        // SAFETY: The current task's credentials are valid while it runs; `ARef::from` takes a
        // reference of its own on them.
        let cred = ARef::from(unsafe { Credential::from_ptr(bindings::agent_ns_current_cred()) });
        Some(Setter { cred, pid_ns })
    }
}

/// Returns whether `setter` could send `sig` to `t` with kill(2): `t` has a pid in the setter's
/// pid namespace (kill(2) cannot name it otherwise); the same rule as `kill_ok_by_cred()`, the
/// real or effective uid of one equal to the real or saved uid of the other, or `CAP_KILL` over
/// `t`'s user namespace; and the LSMs allow it. A pid namespace's init ignores the signals of
/// its own namespace and is signalled only with `CAP_KILL` over the owner of that namespace.
///
/// # Safety
///
/// `t` must be a valid task and the caller inside an RCU read-side critical section.
unsafe fn may_signal(setter: &Setter, sig: c_int, t: *mut bindings::task_struct) -> bool {
    let cred = &setter.cred;
    let capable = |ns| {
        // SAFETY: `cred` is valid for the call, `ns` is a valid user namespace under RCU.
        unsafe { bindings::agent_ns_capable_kill(cred.as_ptr(), ns) }
    };
    // SAFETY: `t` is valid (caller guarantee) and the pid namespace is held by `setter`.
    if unsafe { bindings::task_tgid_nr_ns(t, setter.pid_ns.as_ptr()) } == 0 {
        return false;
    }
    // SAFETY: The caller guarantees that `t` is valid and that we are under RCU.
    let owner = unsafe { bindings::agent_ns_unkillable_owner(t) };
    let by_cred = if !owner.is_null() {
        capable(owner)
    } else {
        // SAFETY: `cred` is valid, and so are `t`'s credentials under RCU; both are only read.
        let (c, tc) = unsafe { (&*cred.as_ptr(), &*bindings::agent_ns_task_cred(t)) };
        let (euid, uid) = (Kuid::from_raw(c.euid), Kuid::from_raw(c.uid));
        let (tuid, tsuid) = (Kuid::from_raw(tc.uid), Kuid::from_raw(tc.suid));
        euid == tsuid || euid == tuid || uid == tsuid || uid == tuid || capable(tc.user_ns)
    };
    // SAFETY: `t` is valid and we are under RCU; `cred` is valid for the call.
    by_cred && unsafe { bindings::agent_ns_lsm_may_kill(t, sig, cred.as_ptr()) }
}

/// Returns whether both `setters` could send `SIGKILL` to the current task (a straggler of a
/// budget that has fired).
pub(crate) fn may_kill_current(setters: [&Setter; 2]) -> bool {
    let _rcu = rcu::read_lock();
    // SAFETY: The current task is valid; `_rcu` holds the RCU read lock.
    setters
        .iter()
        .all(|s| unsafe { may_signal(s, bindings::SIGKILL as c_int, Task::current_raw()) })
}

/// Returns the sessions from `ns` up to the initial session.
///
/// # Safety
///
/// `ns` must be null or a session that stays valid for `'a`.
unsafe fn chain<'a>(
    ns: *const bindings::agent_namespace,
) -> impl Iterator<Item = &'a AgentNamespace> {
    // SAFETY: The caller guarantees `ns` is valid for `'a`; a session keeps its parent alive.
    let first = (!ns.is_null()).then(|| unsafe { AgentNamespace::from_ptr(ns) });
    successors(first, |n| n.parent())
}

/// What [`pick_subtree`] looks for.
struct Subtree<'a> {
    ns: *const bindings::agent_namespace,
    sig: c_int,
    setters: [&'a Setter; 2],
}

/// Picks a thread in the session or below it that both setters could signal.
///
/// # Safety
///
/// `arg` must point to a [`Subtree`], `t` must be a valid task, and `ns` null or `t`'s session,
/// read under `task_lock(t)`, which the caller still holds, and under RCU.
unsafe extern "C" fn pick_subtree(
    t: *mut bindings::task_struct,
    ns: *mut bindings::agent_namespace,
    arg: *const c_void,
) -> bool {
    // SAFETY: The caller passes the `Subtree` that `signal_subtree()` handed to the walk.
    let target = unsafe { &*arg.cast::<Subtree<'_>>() };
    // SAFETY: `task_lock(t)` keeps `t`'s session, and with it its ancestors, alive.
    let mut sessions = unsafe { chain(ns) };
    if !sessions.any(|n| ptr::eq(n.as_ptr(), target.ns)) {
        return false;
    }
    // SAFETY: `t` is valid and the walk holds the RCU read lock.
    target
        .setters
        .iter()
        .all(|s| unsafe { may_signal(s, target.sig, t) })
}

/// Sends `sig` to every process with a thread in `s` or below it that both the task that set the
/// crossed limit and the task that set the action could signal: neither can make the budget
/// reach further than it could itself.
///
/// Must be called in process context without spinlocks held.
pub(crate) fn signal_subtree(s: &Session, sig: c_int, setters: [&Setter; 2]) {
    let target = Subtree {
        ns: s.ns().as_ptr(),
        sig,
        setters,
    };
    // SAFETY: `pick_subtree` accepts a pointer to a `Subtree`, and `target` outlives the walk.
    unsafe {
        bindings::agent_ns_signal_picked(
            sig,
            Some(pick_subtree),
            ptr::from_ref(&target).cast::<c_void>(),
        )
    };
}

/// Picks a thread whose session, or an ancestor of it, the reaper has marked expired.
///
/// # Safety
///
/// As for [`pick_subtree`], but `arg` is unused.
unsafe extern "C" fn pick_expired(
    _t: *mut bindings::task_struct,
    ns: *mut bindings::agent_namespace,
    _arg: *const c_void,
) -> bool {
    // SAFETY: `task_lock(t)` keeps `t`'s session, and with it its ancestors, alive.
    let mut sessions = unsafe { chain(ns) };
    sessions.any(|n| n.expired_flag().load(Relaxed))
}

/// SIGKILLs every process with a thread in a session the reaper has marked expired, or below
/// one, with the kernel's authority.
///
/// Must be called in process context without spinlocks held.
pub(crate) fn kill_expired() {
    // SAFETY: `pick_expired` ignores its argument.
    unsafe {
        bindings::agent_ns_signal_picked(
            bindings::SIGKILL as c_int,
            Some(pick_expired),
            ptr::null(),
        )
    };
}
