// SPDX-License-Identifier: GPL-2.0
//! `agentns`: run, inspect and trace agent namespace sessions of linux-wintermute.

mod cli;
mod cmd;
mod format;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

/// agentns's own failure in `run` and `exec`, as env(1) and timeout(1) use it.
pub const EXIT_SETUP: u8 = 125;
/// The command was found but could not be executed.
pub const EXIT_CANNOT_EXEC: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if !matches!(cli.command, Command::Trace(_)) {
        // Die of SIGPIPE like other tools when the reader goes away (`agentns ls | head`);
        // trace keeps ignoring it so that it can put the tracefs switches back.
        // SAFETY: a plain disposition change before anything else runs.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let (result, fail_code) = match cli.command {
        Command::Run(a) => (cmd::run::run(a), EXIT_SETUP),
        Command::Exec(a) => (cmd::exec::exec(a), EXIT_SETUP),
        Command::Show(a) => (cmd::show::show(a), 1),
        Command::Ls(a) => (cmd::ls::ls(a), 1),
        Command::Top(a) => (cmd::ls::top(a), 1),
        Command::Trace(a) => (cmd::trace::trace(a), 1),
        Command::Completions { shell } => (cmd::doc::completions(shell), 1),
        Command::Man(a) => (cmd::doc::man(a), 1),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("agentns: {e}");
            ExitCode::from(fail_code)
        }
    }
}
