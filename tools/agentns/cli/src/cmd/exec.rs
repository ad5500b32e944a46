// SPDX-License-Identifier: GPL-2.0
//! `agentns exec --session PID -- CMD`: enter a process's session and execute a command.

use agentns::NsFile;

use super::Result;
use crate::cli::ExecArgs;

/// Runs `agentns exec`.
pub fn exec(a: ExecArgs) -> Result {
    agentns::session::ensure_supported()?;
    let (ns, what) = match (&a.session, &a.ns_file) {
        (Some(pid), _) => (NsFile::of_pid(*pid)?, format!("/proc/{pid}/ns/agent")),
        (None, Some(p)) => (NsFile::open(p)?, p.display().to_string()),
        (None, None) => unreachable!("clap requires one"),
    };
    ns.enter().map_err(|e| match e {
        agentns::Error::Sys { op, errno, .. } => agentns::Error::Sys {
            op,
            errno,
            target: Some(what),
        },
        e => e,
    })?;
    drop(ns);
    Ok(super::exec_command(&a.command))
}
