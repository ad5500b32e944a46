// SPDX-License-Identifier: GPL-2.0

//! The `PR_*AGENT*` options of prctl(2).
//!
//! `kernel/sys.c` hands every option in `PR_GET_AGENT_SESSION_ID..=PR_GET_AGENT_BUDGET_LIMITS`
//! to [`agent_ns_prctl`]. Arguments an option does not use must be zero (`EINVAL` otherwise).

use super::{budget::Limits, id::ID_BYTES, intent::IntentTag, AgentNamespace};
use crate::{
    bindings,
    error::to_result,
    ffi::{c_int, c_long, c_ulong},
    page::PAGE_SIZE,
    prelude::*,
    uaccess::{UserPtr, UserSlice},
};

/// Creates a child session of the caller's and moves the calling task into it.
///
/// Open to `CAP_SYS_ADMIN` in the caller's user namespace, which owns the new session, and to
/// any task with `no_new_privs`: as with seccomp filters and Landlock rulesets, a session only
/// adds accounting and limits, and every charge rolls up into the caller's current session, so
/// entering one gains nothing.
fn set_agent_ns() -> Result {
    // SAFETY: No requirements.
    if !unsafe { bindings::agent_ns_enabled() } {
        return Err(EOPNOTSUPP);
    }
    let current = crate::current!();
    // SAFETY: `current` and `current_user_ns()` are valid for the current task.
    let allowed = unsafe {
        bindings::task_no_new_privs(current.as_ptr())
            || bindings::ns_capable(
                bindings::current_user_ns(),
                bindings::CAP_SYS_ADMIN as c_int,
            )
    };
    if !allowed {
        return Err(EPERM);
    }
    // A session covers whole processes: a thread cannot leave its siblings behind.
    // SAFETY: `current` is a valid task.
    if !unsafe { bindings::thread_group_empty(current.as_ptr()) } {
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
    UserSlice::new(UserPtr::from_addr(addr), ID_BYTES)
        .writer()
        .write_slice(&id.0)
}

/// Checks the size userspace gives for a versioned structure: 0 means version 0 (`ver0`
/// bytes), a size below `ver0` is `EINVAL` and one above a page `E2BIG`.
fn struct_size(size: c_ulong, ver0: usize) -> Result<usize> {
    match size {
        0 => Ok(ver0),
        n if n < ver0 => Err(EINVAL),
        n if n > PAGE_SIZE => Err(E2BIG),
        n => Ok(n),
    }
}

/// Copies `src` to a user structure of `size` bytes, as `copy_struct_to_user()` does: a
/// smaller user structure gets the prefix it knows, a larger one gets zeros past the kernel's.
pub(super) fn put_struct(addr: c_ulong, size: c_ulong, src: &[u8], ver0: usize) -> Result {
    let size = struct_size(size, ver0)?;
    let n = size.min(src.len());
    let mut w = UserSlice::new(UserPtr::from_addr(addr), size).writer();
    w.write_slice(&src[..n])?;
    let zeros = [0u8; 64];
    let mut left = size - n;
    while left > 0 {
        let k = left.min(zeros.len());
        w.write_slice(&zeros[..k])?;
        left -= k;
    }
    Ok(())
}

/// Returns the bytes of a uapi structure.
///
/// # Safety
///
/// `T` must have no padding.
pub(super) unsafe fn as_bytes<T>(v: &T) -> &[u8] {
    // SAFETY: `v` is valid for `size_of::<T>()` bytes, all initialised (no padding).
    unsafe { core::slice::from_raw_parts(core::ptr::from_ref(v).cast(), core::mem::size_of::<T>()) }
}

/// Copies the counters of `ns` to a user `struct agent_ns_counters` of `size` bytes.
pub(super) fn get_counters(ns: &AgentNamespace, addr: c_ulong, size: c_ulong) -> Result {
    let c = ns.counters().to_uapi();
    // SAFETY: `agent_ns_counters` is nine `u64`s, without padding.
    let bytes = unsafe { as_bytes(&c) };
    put_struct(
        addr,
        size,
        bytes,
        bindings::AGENT_NS_COUNTERS_SIZE_VER0 as usize,
    )
}

/// Copies the limits of `ns` to a user `struct agent_ns_budget` of `size` bytes.
pub(super) fn get_budget(ns: &AgentNamespace, addr: c_ulong, size: c_ulong) -> Result {
    let b = ns
        .session()
        .map(|s| s.budget.limits())
        .unwrap_or_default()
        .to_uapi();
    // SAFETY: `agent_ns_budget` is u64s and two u32s in a row, without padding.
    let bytes = unsafe { as_bytes(&b) };
    put_struct(
        addr,
        size,
        bytes,
        bindings::AGENT_NS_BUDGET_SIZE_VER0 as usize,
    )
}

/// Reads a `struct agent_ns_budget` of `size` bytes as `copy_struct_from_user()` does: a
/// smaller structure leaves the newer fields zero, a larger one must be zero past the kernel's
/// (`E2BIG`). `size` 0 means version 0; below version 0 is `EINVAL`, above a page `E2BIG`.
fn read_budget(addr: c_ulong, size: c_ulong) -> Result<bindings::agent_ns_budget> {
    let size = struct_size(size, bindings::AGENT_NS_BUDGET_SIZE_VER0 as usize)?;
    let mut b = bindings::agent_ns_budget::default();
    let ksize = core::mem::size_of_val(&b);
    let n = size.min(ksize);
    // SAFETY: `agent_ns_budget` has no padding and every bit pattern is a valid value.
    let bytes =
        unsafe { core::slice::from_raw_parts_mut(core::ptr::from_mut(&mut b).cast::<u8>(), ksize) };
    UserSlice::new(UserPtr::from_addr(addr), n)
        .reader()
        .read_slice(&mut bytes[..n])?;
    if size > ksize {
        // SAFETY: `check_zeroed_user()` only reads user memory through the uaccess routines.
        let zeroed =
            unsafe { bindings::check_zeroed_user((addr + ksize) as *const _, size - ksize) };
        match zeroed {
            0 => return Err(E2BIG),
            e if e < 0 => return Err(Error::from_errno(e)),
            _ => {}
        }
    }
    Ok(b)
}

fn set_budget(addr: c_ulong, size: c_ulong) -> Result {
    let new = Limits::from_uapi(&read_budget(addr, size)?)?;
    // The fields a smaller (older) structure does not have are not the caller's to change.
    let known = Limits::known(struct_size(
        size,
        bindings::AGENT_NS_BUDGET_SIZE_VER0 as usize,
    )?);
    let ns = AgentNamespace::current();
    // The initial session has no budget: it would cover every task.
    let s = ns.session().ok_or(EINVAL)?;
    // Tightening is open to every task of the session; loosening needs CAP_SYS_ADMIN over the
    // session's owner. `set_limits()` decides under the tree lock, against the limits as they
    // are then, so that a concurrent setter's tightening cannot be undone by an unprivileged
    // one; the capability is asked for (and audited) when the change looks like loosening now,
    // and only looked at otherwise.
    // SAFETY: `user_ns` is valid while the session lives.
    let owner = unsafe { (*ns.as_ptr()).user_ns };
    let cap = bindings::CAP_SYS_ADMIN as c_int;
    let privileged = if s.budget.limits().merged(&new, &known).1 {
        // SAFETY: `owner` is a valid user namespace.
        unsafe { bindings::ns_capable(owner, cap) }
    } else {
        let current = crate::current!();
        // SAFETY: `current` and `owner` are valid.
        unsafe { bindings::has_ns_capability_noaudit(current.as_ptr(), owner, cap) }
    };
    s.set_limits(new, &known, privileged)
}

/// Sets the intent tag of the caller's session; the initial session has none (`EINVAL`).
fn set_intent(addr: c_ulong) -> Result {
    let tag = IntentTag::from_user(addr)?;
    AgentNamespace::current()
        .session()
        .ok_or(EINVAL)?
        .set_intent(tag);
    Ok(())
}

/// Copies the intent tag of the caller's session, NUL-padded to `AGENT_NS_INTENT_MAX + 1` bytes.
fn get_intent(addr: c_ulong) -> Result {
    let tag = AgentNamespace::current().intent();
    let buf = tag.padded();
    UserSlice::new(UserPtr::from_addr(addr), buf.len())
        .writer()
        .write_slice(buf)
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
            // The initial session has no parent: its parent id reads as zeros.
            let ns = AgentNamespace::current();
            put_id(arg2, ns.parent().map_or(super::SessionId::ZERO, |p| p.id()))
        }
        bindings::PR_GET_AGENT_COUNTERS => {
            if arg4 != 0 || arg5 != 0 {
                return Err(EINVAL);
            }
            get_counters(&AgentNamespace::current(), arg2, arg3)
        }
        bindings::PR_SET_AGENT_BUDGET_LIMITS => {
            if arg4 != 0 || arg5 != 0 {
                return Err(EINVAL);
            }
            set_budget(arg2, arg3)
        }
        bindings::PR_GET_AGENT_BUDGET_LIMITS => {
            if arg4 != 0 || arg5 != 0 {
                return Err(EINVAL);
            }
            get_budget(&AgentNamespace::current(), arg2, arg3)
        }
        bindings::PR_SET_AGENT_INTENT_TAG => {
            if arg3 != 0 || arg4 != 0 || arg5 != 0 {
                return Err(EINVAL);
            }
            set_intent(arg2)
        }
        bindings::PR_GET_AGENT_INTENT_TAG => {
            if arg3 != 0 || arg4 != 0 || arg5 != 0 {
                return Err(EINVAL);
            }
            get_intent(arg2)
        }
        _ => Err(EINVAL),
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
