// SPDX-License-Identifier: GPL-2.0

//! The `PR_*AGENT*` options of prctl(2).
//!
//! `kernel/sys.c` hands every option in `PR_GET_AGENT_SESSION_ID..=PR_GET_AGENT_BUDGET_LIMITS`
//! to [`agent_ns_prctl`]. Arguments an option does not use must be zero (`EINVAL` otherwise).

use super::{id::ID_BYTES, AgentNamespace};
use crate::{
    bindings,
    error::to_result,
    ffi::{c_int, c_long, c_ulong},
    prelude::*,
    uaccess::{UserPtr, UserSlice},
};

/// Creates a child session of the caller's and moves the calling task into it.
fn set_agent_ns() -> Result {
    // SAFETY: `current_user_ns()` is valid for the current task; `ns_capable` has no other
    // requirements.
    if !unsafe { bindings::ns_capable(bindings::current_user_ns(), bindings::CAP_SYS_ADMIN as _) }
    {
        return Err(EPERM);
    }
    // A session covers whole processes: a thread cannot leave its siblings behind.
    // SAFETY: `current` is a valid task.
    if !unsafe { bindings::thread_group_empty(bindings::get_current()) } {
        return Err(EINVAL);
    }
    let child = AgentNamespace::current().new_child()?;
    // SAFETY: `switch_agent_namespace()` takes over the reference `child` owns on success.
    let ret = unsafe { bindings::switch_agent_namespace(child.as_ptr()) };
    if ret == 0 {
        core::mem::forget(child);
    }
    to_result(ret)
}

/// Copies a session id to the user buffer at `addr`.
fn put_id(addr: c_ulong, id: super::SessionId) -> Result {
    UserSlice::new(UserPtr::from_addr(addr as usize), ID_BYTES)
        .writer()
        .write_slice(&id.0)
}

fn dispatch(option: u32, arg2: c_ulong, arg3: c_ulong, arg4: c_ulong, arg5: c_ulong) -> Result {
    match option {
        bindings::PR_SET_AGENT_NS => {
            if arg2 != 0 || arg3 != 0 || arg4 != 0 || arg5 != 0 {
                return Err(EINVAL);
            }
            set_agent_ns()
        }
        bindings::PR_GET_AGENT_SESSION_ID => {
            if arg3 != 0 || arg4 != 0 || arg5 != 0 {
                return Err(EINVAL);
            }
            put_id(arg2, AgentNamespace::current().id())
        }
        bindings::PR_GET_AGENT_PARENT_ID => {
            if arg3 != 0 || arg4 != 0 || arg5 != 0 {
                return Err(EINVAL);
            }
            let ns = AgentNamespace::current();
            put_id(arg2, ns.parent().ok_or(ENOENT)?.id())
        }
        // Defined in the ABI, not implemented yet.
        _ => Err(EOPNOTSUPP),
    }
}

/// Entry point from `prctl(2)` for the agent namespace options.
#[no_mangle]
pub extern "C" fn agent_ns_prctl(
    option: c_int,
    arg2: c_ulong,
    arg3: c_ulong,
    arg4: c_ulong,
    arg5: c_ulong,
) -> c_long {
    match dispatch(option as u32, arg2, arg3, arg4, arg5) {
        Ok(()) => 0,
        Err(e) => e.to_errno() as c_long,
    }
}
