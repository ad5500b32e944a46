// SPDX-License-Identifier: GPL-2.0

//! The `/proc/$PID/agent_*` files.

use super::{counters::Counter, AgentNamespace};
use crate::{bindings, ffi::c_int, prelude::*, seq_file::SeqFile, seq_print, str::BStr};

/// Calls `f` with the seq_file and `task`'s session; `-ESRCH` once `task` has dropped its
/// namespaces.
///
/// # Safety
///
/// `m` and `task` must be valid for the duration of the call, as procfs passes them.
unsafe fn show(
    m: *mut bindings::seq_file,
    task: *mut bindings::task_struct,
    f: impl FnOnce(&SeqFile, &AgentNamespace),
) -> c_int {
    // SAFETY: `task` is valid (caller guarantee).
    let Some(ns) = (unsafe { AgentNamespace::of_task(task) }) else {
        return ESRCH.to_errno();
    };
    // SAFETY: `m` is a valid seq_file that outlives this call (caller guarantee).
    f(unsafe { SeqFile::from_raw(m) }, &ns);
    0
}

/// [`show`] for the files that follow `/proc/$PID/io`'s access rule (mode 0400): the reader needs
/// `PTRACE_MODE_READ_FSCREDS` access to `task`, checked under its `exec_update_lock` (`-EACCES`
/// without it).
///
/// # Safety
///
/// As for [`show`].
unsafe fn show_private(
    m: *mut bindings::seq_file,
    task: *mut bindings::task_struct,
    f: impl FnOnce(&SeqFile, &AgentNamespace),
) -> c_int {
    // SAFETY: procfs passes a valid task (caller guarantee).
    let err = unsafe { bindings::agent_ns_proc_lock(task) };
    if err != 0 {
        return err;
    }
    // SAFETY: As above; the lock was taken.
    let ret = unsafe { show(m, task, f) };
    // SAFETY: `agent_ns_proc_lock()` succeeded on this task.
    unsafe { bindings::agent_ns_proc_unlock(task) };
    ret
}

/// Shows `/proc/$PID/agent_session`: the session id as 32 lowercase hex digits and a newline.
///
/// # Safety
///
/// Called by procfs with a valid `seq_file` and task.
#[no_mangle]
pub unsafe extern "C" fn proc_agent_session_show(
    m: *mut bindings::seq_file,
    _ns: *mut bindings::pid_namespace,
    _pid: *mut bindings::pid,
    task: *mut bindings::task_struct,
) -> c_int {
    // SAFETY: procfs passes a valid seq_file and task (caller guarantee).
    unsafe { show(m, task, |m, ns| seq_print!(m, "{}\n", ns.id())) }
}

/// Shows `/proc/$PID/agent_intent`: the intent tag of the task's session and a newline.
///
/// Any member of a session sets its tag, so the file is private like `/proc/$PID/io`: a member
/// cannot publish text to every user of the machine.
///
/// # Safety
///
/// Called by procfs with a valid `seq_file` and task.
#[no_mangle]
pub unsafe extern "C" fn proc_agent_intent_show(
    m: *mut bindings::seq_file,
    _ns: *mut bindings::pid_namespace,
    _pid: *mut bindings::pid,
    task: *mut bindings::task_struct,
) -> c_int {
    // SAFETY: procfs passes a valid seq_file and task (caller guarantee).
    unsafe {
        show_private(m, task, |m, ns| {
            seq_print!(m, "{}\n", BStr::from_bytes(ns.intent().as_bytes()))
        })
    }
}

/// Shows `/proc/$PID/agent_counters`: one `name value` line per counter, descendants included,
/// like `/proc/$PID/io`, and with its access rule.
///
/// # Safety
///
/// Called by procfs with a valid `seq_file` and task.
#[no_mangle]
pub unsafe extern "C" fn proc_agent_counters_show(
    m: *mut bindings::seq_file,
    _ns: *mut bindings::pid_namespace,
    _pid: *mut bindings::pid,
    task: *mut bindings::task_struct,
) -> c_int {
    // SAFETY: procfs passes a valid seq_file and task (caller guarantee).
    unsafe {
        show_private(m, task, |m, ns| {
            let c = ns.counters();
            for k in Counter::ALL {
                seq_print!(m, "{} {}\n", k.name(), c.get(k));
            }
            seq_print!(m, "elapsed_ns {}\n", c.elapsed_ns);
        })
    }
}
