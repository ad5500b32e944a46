// SPDX-License-Identifier: GPL-2.0

//! Agent namespaces.
//!
//! An agent namespace is a session: every task belongs to exactly one, identified by an opaque
//! 128-bit id. A task enters a fresh child session of its current one with
//! `prctl(PR_SET_AGENT_NS)`; its children inherit the session through `nsproxy`.
//!
//! The C side ([`include/linux/agent_namespaces.h`](srctree/include/linux/agent_namespaces.h),
//! `kernel/agent_namespaces.c` and the hooks in nsproxy, prctl and procfs) is thin glue; the
//! objects are created, freed and interpreted here:
//!
//! - [`id`]: the session id,
//! - [`namespace`]: the reference-counted namespace object and its lifecycle,
//! - [`counters`]: the event counters and their roll-up into ancestors,
//! - [`budget`]: limits on the counters, enforced at the crossing event,
//! - [`elapsed`]: the elapsed-time limit's timer and the work that acts on it,
//! - [`signal`]: whom a budget's action signals, with whose authority,
//! - [`reaper`]: the lifetime reaper (`kernel.agent_ns.max_lifetime`),
//! - [`tree`]: the lock over the links between sessions,
//! - [`intent`]: the intent tag,
//! - [`nsfs`]: the operations of `/proc/$PID/ns/agent`: who may enter a session through it,
//! - [`ioctl`]: the `AGENT_NS_GET_*` ioctls of that file,
//! - [`prctl`]: the `PR_*AGENT*` prctl options,
//! - [`proc`]: the `/proc/$PID/agent_*` files,
//! - [`provenance`]: the labels the `agentns` LSM puts on files created in a session,
//! - [`trace`]: the `agent_ns:*` tracepoints.
//!
//! See `Documentation/admin-guide/agent-namespaces.rst`.

pub mod budget;
pub mod counters;
pub mod elapsed;
pub mod id;
pub mod intent;
pub mod ioctl;
pub mod namespace;
pub mod nsfs;
pub mod prctl;
pub mod proc;
pub mod provenance;
pub mod reaper;
mod signal;
mod trace;
mod tree;

pub use id::SessionId;
pub use namespace::AgentNamespace;
