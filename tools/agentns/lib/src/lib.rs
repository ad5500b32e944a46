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
//! - [`command`]: [`std::process::Command`] in a new session, or in an existing one;
//! - [`listing`]: every live session as a tree;
//! - [`trace`]: the `agent_ns:*` tracepoints;
//! - [`units`]: sizes and durations with units.
//!
//! The uapi numbers and structures are generated from the header at build time and stay
//! inside the library: its types ([`Counters`], [`Budget`], [`nsfs::SessionInfo`], ...) are its
//! own, and limits and counters are named by [`Counter`].

#![deny(missing_docs)]

pub mod command;
pub mod error;
pub mod listing;
pub mod nsfs;
pub mod procfs;
pub mod provenance;
pub mod select;
pub mod session;
pub mod trace;
mod uapi;
pub mod units;

pub use command::{CommandExt, NewSession};
pub use error::{Error, Op, Result};
pub use nsfs::NsFile;
pub use session::{Action, Budget, Counter, Counters, SessionId};
