// SPDX-License-Identifier: GPL-2.0
//! A safe API over the agent namespaces of linux-wintermute
//! (`include/uapi/linux/agent_namespaces.h`; see
//! `Documentation/userspace-api/agent_namespaces.rst` and
//! `Documentation/admin-guide/agent-namespaces.rst`).
//!
//! - [`session`]: the caller's session through prctl(2): create one, read its id, parent,
//!   intent, counters and budget, set the intent and the budget;
//! - [`procfs`]: any process's session through `/proc/PID/agent_*`;
//! - [`nsfs`]: session namespace files: enter a session (setns(2)) by pid or file, walk to
//!   the parent (up to the caller's own session from inside one), list sessions with
//!   listns(2);
//! - [`listing`]: every live session as a tree;
//! - [`trace`]: the `agent_ns:*` tracepoints;
//! - [`units`]: sizes and durations with units.
//!
//! The uapi numbers and structures in [`uapi`] are generated from the header at build time.

#![deny(missing_docs)]

pub mod error;
pub mod listing;
pub mod nsfs;
pub mod procfs;
pub mod provenance;
pub mod select;
pub mod session;
pub mod trace;
pub mod uapi;
pub mod units;

pub use error::{Error, Op, Result};
pub use nsfs::NsFile;
pub use session::{Action, Budget, Counters, SessionId};
