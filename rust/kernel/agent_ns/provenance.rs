// SPDX-License-Identifier: GPL-2.0

//! Provenance: which session created a file.
//!
//! The `agentns` LSM (`security/agentns/lsm.c`, the hook table) labels every inode a task in a
//! session creates with two security xattrs, set atomically at creation through
//! `inode_init_security` like other LSMs' labels: `security.agent_session`, the 16 bytes of the
//! session id, and `security.agent_intent`, the intent tag the session had then (left out when
//! it had none). Tasks in the initial session label nothing.
//!
//! A label is only worth something if a session cannot forge it: a task in a session may not
//! set or remove either xattr, whatever its capabilities in any user namespace, and a task in
//! the initial session needs `CAP_SYS_ADMIN` in the initial user namespace (on top of the
//! `CAP_SYS_ADMIN` over the file system's user namespace that every `security.*` name needs).

use super::AgentNamespace;
use crate::{bindings, ffi::c_char, ffi::c_int, prelude::*, str::CStr};

/// Returns whether `name` is one of the xattrs of a label.
fn is_label(name: &CStr) -> bool {
    let n = name.to_bytes();
    n == &bindings::XATTR_NAME_AGENT_SESSION[..bindings::XATTR_NAME_AGENT_SESSION.len() - 1]
        || n == &bindings::XATTR_NAME_AGENT_INTENT[..bindings::XATTR_NAME_AGENT_INTENT.len() - 1]
}

/// Fills `label` with the current task's session id and intent tag for a file it creates, and
/// returns true; returns false in the initial session, which labels nothing.
///
/// # Safety
///
/// `label` must be valid for writes.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_file_label(label: *mut bindings::agent_ns_label) -> bool {
    // SAFETY: Only the current task changes its own nsproxy, so its session stays valid for the
    // duration of this call.
    let ns = unsafe { AgentNamespace::from_ptr(bindings::current_agent_ns()) };
    let Some(s) = ns.session() else {
        return false;
    };
    let tag = s.intent();
    let bytes = tag.as_bytes();
    // SAFETY: The caller guarantees that `label` is valid for writes; `intent` has room for
    // `MAX_LEN` bytes, the longest tag.
    unsafe {
        (*label).id = ns.id().0;
        (*label).intent_len = bytes.len() as u8;
        core::ptr::copy_nonoverlapping(
            bytes.as_ptr(),
            (*label).intent.as_mut_ptr().cast::<u8>(),
            bytes.len(),
        );
    }
    true
}

/// Returns whether the xattr `name` is one of a label's.
///
/// # Safety
///
/// `name` must be a valid NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_is_label(name: *const c_char) -> bool {
    // SAFETY: The caller guarantees that `name` is a valid C string.
    is_label(unsafe { CStr::from_char_ptr(name) })
}

/// Decides whether the current task may set or remove the xattr `name`: 0, or `-EPERM` for a
/// label's xattr and a task in a session, or one without `CAP_SYS_ADMIN` in the initial user
/// namespace.
///
/// # Safety
///
/// `name` must be a valid NUL-terminated string.
#[no_mangle]
pub unsafe extern "C" fn agent_ns_may_change_label(name: *const c_char) -> c_int {
    // SAFETY: The caller guarantees that `name` is a valid C string.
    if !is_label(unsafe { CStr::from_char_ptr(name) }) {
        return 0;
    }
    // SAFETY: As in `agent_ns_file_label`.
    let ns = unsafe { AgentNamespace::from_ptr(bindings::current_agent_ns()) };
    // SAFETY: No requirements.
    if ns.session().is_some() || !unsafe { bindings::capable(bindings::CAP_SYS_ADMIN as c_int) } {
        return EPERM.to_errno();
    }
    0
}
