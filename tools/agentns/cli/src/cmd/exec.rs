// SPDX-License-Identifier: GPL-2.0
//! `agentns exec --session PID|ID -- CMD`: enter a session and execute a command.

use agentns::listing::Snapshot;
use agentns::select::{self, Selector};
use agentns::{NsFile, SessionId};

use super::Result;
use crate::cli::ExecArgs;

/// Opens the namespace file of the session `--session` names: a live pid's
/// `/proc/PID/ns/agent`, or, for a session id (prefix), the file of one of the session's
/// processes, or by its namespace id for a session without a process. Also says what it
/// opened, for errors.
fn open_session(arg: &str) -> agentns::Result<(NsFile, String)> {
    match select::parse(arg, select::pid_is_live)? {
        Selector::Pid(pid) => Ok((NsFile::of_pid(pid)?, format!("/proc/{pid}/ns/agent"))),
        Selector::Prefix { .. } => {
            let snap = Snapshot::collect()?;
            let s = select::resolve(&snap, arg)?;
            let id = s.id.unwrap_or(SessionId::INITIAL);
            let f = select::open(s)?;
            Ok((f, format!("session {id}")))
        }
    }
}

/// Runs `agentns exec`.
pub fn exec(a: ExecArgs) -> Result {
    agentns::session::ensure_supported()?;
    let (ns, what) = match (&a.session, &a.ns_file) {
        (Some(arg), _) => open_session(arg)?,
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
