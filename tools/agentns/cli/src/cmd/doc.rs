// SPDX-License-Identifier: GPL-2.0
//! `agentns completions SHELL` and `agentns man`.

use clap::CommandFactory;

use super::Result;
use crate::cli::{Cli, ManArgs};

/// Prints the completion script for `shell`.
pub fn completions(shell: clap_complete::Shell) -> Result {
    let mut cmd = Cli::command();
    clap_complete::generate(shell, &mut cmd, "agentns", &mut std::io::stdout());
    Ok(0)
}

/// Prints the man page, or writes every page to a directory.
pub fn man(a: ManArgs) -> Result {
    let cmd = Cli::command();
    match a.out_dir {
        Some(dir) => {
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(cmd, &dir)?;
            eprintln!("agentns: man pages written to {}", dir.display());
        }
        None => clap_mangen::Man::new(cmd).render(&mut std::io::stdout())?,
    }
    Ok(0)
}
