// SPDX-License-Identifier: GPL-2.0

//! The `agent_ns:*` tracepoints.
//!
//! The events are defined in C ([`include/trace/events/agent_ns.h`]
//! (srctree/include/trace/events/agent_ns.h)); this file fires them. A disabled tracepoint costs
//! a patched-out branch; the wrappers compute their arguments first, which only matters on the
//! rare paths they sit on (session creation and end, intent changes, budget crossings).

use super::{budget::counter_name, counters::NR_COUNTERS, AgentNamespace};
use crate::{
    bindings, ffi::c_char, pid_namespace::PidNamespace, prelude::*, tracepoint::declare_trace,
};

declare_trace! {
    /// # Safety
    ///
    /// `id` and `parent_id` point to `AGENT_NS_ID_BYTES` bytes.
    unsafe fn agent_session_start(id: *const u8, parent_id: *const u8, depth: u32,
                                  pid: bindings::pid_t, uid: u32);
    /// # Safety
    ///
    /// `id` points to `AGENT_NS_ID_BYTES` bytes and `counts` to `AGENT_NS_NR_COUNTERS` `u64`s.
    unsafe fn agent_session_end(id: *const u8, counts: *const u64, lifetime_ns: u64, reason: u32);
    /// # Safety
    ///
    /// `id` points to `AGENT_NS_ID_BYTES` bytes; `old` and `new` are NUL-terminated strings.
    unsafe fn agent_intent_set(id: *const u8, old: *const c_char, new: *const c_char);
    /// # Safety
    ///
    /// `id` points to `AGENT_NS_ID_BYTES` bytes; `counter` is a NUL-terminated string.
    unsafe fn agent_budget_exceeded(id: *const u8, counter: *const c_char, value: u64, limit: u64,
                                    action: u32);
}

/// Why a session ended (`enum agent_ns_end_reason`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u32)]
pub(crate) enum EndReason {
    /// Its last task exited.
    Exit = bindings::agent_ns_end_reason_AGENT_NS_END_EXIT,
    /// A `SIGTERM` or `SIGKILL` budget action was taken against it.
    Budget = bindings::agent_ns_end_reason_AGENT_NS_END_BUDGET,
    /// The reaper killed it for outliving `kernel.agent_ns.max_lifetime`.
    Reaped = bindings::agent_ns_end_reason_AGENT_NS_END_REAPED,
}

/// `agent_ns:agent_session_start`: `ns` was just created by the current task.
pub(crate) fn session_start(ns: &AgentNamespace, parent: &AgentNamespace) {
    let (id, parent_id) = (ns.id(), parent.id());
    let current = crate::current!();
    // SAFETY: `init_pid_ns` is a static object that is never freed.
    let init_pid_ns = unsafe { PidNamespace::from_ptr(&raw const bindings::init_pid_ns) };
    let pid = current.tgid_nr_ns(Some(init_pid_ns));
    // SAFETY: `init_user_ns` is a static object that `from_kuid()` only reads.
    let uid =
        unsafe { bindings::from_kuid(&raw mut bindings::init_user_ns, current.uid().into_raw()) };
    // SAFETY: Both ids are `AGENT_NS_ID_BYTES` long.
    unsafe { agent_session_start(id.0.as_ptr(), parent_id.0.as_ptr(), ns.level(), pid, uid) };
}

/// `agent_ns:agent_session_end`: the session with `id` ended after `lifetime_ns`, with `counts`
/// its subtree's final totals.
pub(crate) fn session_end(
    ns: &AgentNamespace,
    counts: &[u64; NR_COUNTERS],
    lifetime_ns: u64,
    reason: EndReason,
) {
    // SAFETY: The id and the counts have the lengths the event reads.
    unsafe {
        agent_session_end(
            ns.id().0.as_ptr(),
            counts.as_ptr(),
            lifetime_ns,
            reason as u32,
        )
    };
}

/// `agent_ns:agent_intent_set`: the session's intent tag changed from `old` to `new`.
pub(crate) fn intent_set(ns: &AgentNamespace, old: &CStr, new: &CStr) {
    // SAFETY: The id is `AGENT_NS_ID_BYTES` long; both tags are NUL-terminated.
    unsafe { agent_intent_set(ns.id().0.as_ptr(), old.as_char_ptr(), new.as_char_ptr()) };
}

/// `agent_ns:agent_budget_exceeded`: counter `i` of `ns`'s budget reached `value`, past `limit`.
pub(crate) fn budget_exceeded(ns: &AgentNamespace, i: usize, value: u64, limit: u64, action: u32) {
    // SAFETY: The id is `AGENT_NS_ID_BYTES` long; counter names are static C strings.
    unsafe {
        agent_budget_exceeded(
            ns.id().0.as_ptr(),
            counter_name(i).as_char_ptr(),
            value,
            limit,
            action,
        )
    };
}
