// SPDX-License-Identifier: GPL-2.0
//! `agentns`: run, inspect and trace agent namespace sessions of linux-wintermute.

mod cli;
mod cmd;
mod format;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use cli::{Cli, Command};

/// agentns's own failure in `run` and `exec`, as env(1) and timeout(1) use it.
pub const EXIT_SETUP: u8 = 125;
/// A usage error (an unknown option, a bad value, a missing argument), in every subcommand:
/// 125 like `run`'s and `exec`'s own failures, so that a wrapped command's 1 or 2 is never
/// mistaken for agentns's.
pub const EXIT_USAGE: u8 = EXIT_SETUP;
/// The command was found but could not be executed.
pub const EXIT_CANNOT_EXEC: u8 = 126;
/// The command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;

/// What a clap error exits with: 0 for `--help` and `--version` (printed to standard
/// output), [`EXIT_USAGE`] for everything else (printed to standard error).
fn parse_error_status(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => 0,
        _ => EXIT_USAGE,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap sends help and version to stdout, errors to stderr.
            let _ = e.print();
            return ExitCode::from(parse_error_status(e.kind()));
        }
    };
    if !matches!(cli.command, Command::Trace(_)) {
        // Die of SIGPIPE like other tools when the reader goes away (`agentns ls | head`);
        // trace keeps ignoring it so that it can put the tracefs switches back.
        // SAFETY: a plain disposition change before anything else runs.
        unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    }
    let (result, fail_code) = match cli.command {
        Command::Run(a) => (cmd::run::run(a), EXIT_SETUP),
        Command::Exec(a) => (cmd::exec::exec(a), EXIT_SETUP),
        Command::Kill(a) => (cmd::kill::kill(a), 1),
        Command::Export(a) => (cmd::export::export(a), 1),
        Command::Show(a) => (cmd::show::show(a), 1),
        Command::Ls(a) => (cmd::ls::ls(a), 1),
        Command::Top(a) => (cmd::ls::top(a), 1),
        Command::Trace(a) => (cmd::trace::trace(a), 1),
        Command::Status(a) => (cmd::status::status(a), 1),
        Command::Provenance(a) => (cmd::provenance::provenance(a), 1),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(args: &[&str]) -> u8 {
        match Cli::try_parse_from(std::iter::once("agentns").chain(args.iter().copied())) {
            Ok(_) => 255,
            Err(e) => parse_error_status(e.kind()),
        }
    }

    #[test]
    fn usage_errors_exit_125_help_and_version_0() {
        assert_eq!(EXIT_USAGE, 125);
        for bad in [
            &["run", "--max-sycalls", "10", "--", "make"][..],
            &["run", "--bogus", "ls"],
            &["run"],
            &["run", "--max-write-bytes", "10XB", "true"],
            &["exec", "--bogus", "--session", "1", "true"],
            &["exec", "--session", "1"],
            &["ls", "-o", "NOPE"],
            &["top", "--bogus"],
            &["top", "--sort", "nope"],
            &["status", "extra"],
            &["frobnicate"],
            &[],
        ] {
            assert_eq!(status_of(bad), 125, "{bad:?}");
        }
        for ok in [
            &["--help"][..],
            &["--version"],
            &["run", "--help"],
            &["exec", "-h"],
            &["status", "--help"],
            &["ls", "--version"],
        ] {
            assert_eq!(status_of(ok), 0, "{ok:?}");
        }
        // A parse that works is no error at all.
        assert_eq!(status_of(&["run", "ls", "--bogus"]), 255);
    }

    #[test]
    fn help_goes_to_stdout_errors_to_stderr() {
        let help = Cli::try_parse_from(["agentns", "run", "--help"]).unwrap_err();
        assert!(!help.use_stderr());
        let bad = Cli::try_parse_from(["agentns", "run", "--bogus", "ls"]).unwrap_err();
        assert!(bad.use_stderr());
        assert_eq!(bad.kind(), ErrorKind::UnknownArgument);
    }
}
