// SPDX-License-Identifier: GPL-2.0

//! The `AGENT_NS_GET_*` ioctls of a session's namespace file: what a descriptor of
//! `/proc/$PID/ns/agent` reads of the session.
//!
//! See `Documentation/userspace-api/agent_namespaces.rst`.

use super::{prctl, AgentNamespace};
use crate::{
    bindings,
    ffi::{c_long, c_uint, c_ulong, c_void},
    prelude::*,
};

/// Copies what `AGENT_NS_GET_INFO` reads about `ns` to a user `struct agent_ns_info` of `size`
/// bytes.
fn get_info(ns: &AgentNamespace, addr: c_ulong, size: c_ulong) -> Result {
    let mut flags = 0;
    if ns.session().is_some_and(|s| s.budget.acted()) {
        flags |= bindings::AGENT_NS_INFO_ACTED;
    }
    let mut above = ns.parent();
    while let Some(a) = above {
        if a.session().is_some_and(|s| s.budget.acted()) {
            flags |= bindings::AGENT_NS_INFO_ACTED_ABOVE;
            break;
        }
        above = a.parent();
    }
    if ns.reaped() {
        flags |= bindings::AGENT_NS_INFO_REAPED;
    }
    let info = bindings::agent_ns_info {
        id: ns.id().0,
        parent_id: ns.parent().map_or(super::SessionId::ZERO, |p| p.id()).0,
        level: ns.level(),
        flags,
        fired: ns.session().map_or(0, |s| s.budget.fired_mask()),
        reserved: 0,
    };
    // SAFETY: `agent_ns_info` is two byte arrays and four `u32`s, without padding.
    let bytes = unsafe { prctl::as_bytes(&info) };
    prctl::put_struct(
        addr,
        size,
        bytes,
        bindings::AGENT_NS_INFO_SIZE_VER0 as usize,
    )
}

/// Handles the `AGENT_NS_GET_*` ioctl number `nr` on the namespace file of `ns`, for a user
/// structure of `size` bytes at `arg`: 0 or a negative errno.
///
/// The descriptor is the permission, as for the other nsfs ioctls: opening `/proc/PID/ns/agent`
/// took ptrace read access to a member, `NS_GET_PARENT` hands out only the caller's own session
/// and those below it, and `open_by_handle_at(2)` needs `CAP_SYS_ADMIN` for a session other
/// than the caller's own. nsfs has checked that `size` is at least version 0's.
///
/// # Safety
///
/// `ns` must be a valid session for the duration of the call.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_ioctl(
    ns: *mut bindings::agent_namespace,
    nr: c_uint,
    arg: *mut c_void,
    size: usize,
) -> c_long {
    // SAFETY: The caller guarantees that `ns` is valid.
    let ns = unsafe { AgentNamespace::from_ptr(ns) };
    let (addr, size) = (arg as c_ulong, size as c_ulong);
    let r = match nr {
        bindings::agent_ns_ioctl_nr_AGENT_NS_IOC_INFO => get_info(ns, addr, size),
        bindings::agent_ns_ioctl_nr_AGENT_NS_IOC_COUNTERS => prctl::get_counters(ns, addr, size),
        bindings::agent_ns_ioctl_nr_AGENT_NS_IOC_BUDGET => prctl::get_budget(ns, addr, size),
        _ => Err(ENOTTY),
    };
    match r {
        Ok(()) => 0,
        Err(e) => e.to_errno() as c_long,
    }
}
