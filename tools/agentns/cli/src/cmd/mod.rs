// SPDX-License-Identifier: GPL-2.0
//! The subcommands.

pub mod doc;
pub mod exec;
pub mod export;
pub mod kill;
pub mod ls;
pub mod provenance;
pub mod run;
pub mod show;
pub mod status;
pub mod trace;

use std::ffi::OsString;
use std::io::ErrorKind;
use std::os::unix::process::CommandExt;

/// What a subcommand returns: its exit status, or an error to print.
pub type Result = std::result::Result<u8, Box<dyn std::error::Error>>;

/// Replaces the process with `argv` (searching PATH); returns only on failure, with the exit
/// status to use (126 or 127, as the shell does) after printing why.
pub fn exec_command(argv: &[OsString]) -> u8 {
    let err = std::process::Command::new(&argv[0]).args(&argv[1..]).exec();
    let why = if err.raw_os_error() == Some(libc::EDQUOT) {
        " (a deny budget refused the exec: the session's exec or system call limit is used up)"
    } else {
        ""
    };
    eprintln!("agentns: {}: {err}{why}", argv[0].to_string_lossy());
    if err.kind() == ErrorKind::NotFound {
        crate::EXIT_NOT_FOUND
    } else {
        crate::EXIT_CANNOT_EXEC
    }
}

/// Prints JSON to stdout followed by a newline.
pub fn print_json(v: &impl serde::Serialize) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, v)?;
    writeln!(out)
}
