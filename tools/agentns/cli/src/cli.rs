// SPDX-License-Identifier: GPL-2.0
//! The command line, declared with clap (also the source of the completions and man page).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use agentns::{Action, Budget, units};
use clap::{Args, Parser, Subcommand, ValueEnum};

const AFTER_HELP: &str = "\
Sizes take units: 4096, 4k, 10MiB, 1G (K/M/G/T are powers of 1024; kB/MB/GB powers of 1000).
Durations take units: 500ms, 30s, 2m, 1h, 1h30m (a bare number is seconds).

Documentation: Documentation/admin-guide/agent-namespaces.rst and
Documentation/userspace-api/agent_namespaces.rst in the linux-wintermute tree.";

/// Run, inspect and trace agent namespace sessions (linux-wintermute).
///
/// An agent session groups the processes one job started; the kernel counts what they do
/// (system calls, opens, bytes written and read, connects, unlinks, forks, execs) and
/// enforces budgets on those counters.
#[derive(Parser, Debug)]
#[command(name = "agentns", version, after_help = AFTER_HELP, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run a command in a new session, with an intent tag and a budget.
    ///
    /// Creates a session (PR_SET_AGENT_NS), sets the intent and the budget, and executes the
    /// command in it; the exit status is the command's. With --report, agentns stays as the
    /// command's parent, waits for it, prints the session's final counters to stderr and
    /// exits with the command's status, or 128+N when signal N killed it.
    #[command(after_help = AFTER_HELP)]
    Run(RunArgs),
    /// Show a process's session: id, parents, depth, intent, counters and budget.
    ///
    /// Without PID, the caller's own session (through the prctls). For another process,
    /// /proc/PID/agent_session, and agent_intent and agent_counters (which need ptrace read
    /// access: another user's are shown as unknown, with a note). The parent chain comes from
    /// NS_GET_PARENT on /proc/PID/ns/agent, which hands out only the caller's own session and
    /// the sessions below it: from inside a session the chain stops at the caller's session,
    /// the sessions above it are not visible and the depth is unknown (the own session's
    /// parent id still comes from its prctl). Budgets are readable for the own session only.
    Show(ShowArgs),
    /// List every live session as a tree, with process counts and counters.
    ///
    /// Sessions come from /proc/*/ns/agent and listns(2) (which also finds sessions kept
    /// alive without a process of their own); a session without a visible process shows no
    /// id, intent or counters, and one whose processes belong to another user no intent and
    /// "-" for its counters (both need ptrace read access). Parents come from NS_GET_PARENT,
    /// which hands out only the caller's own session and those below it, so from inside a
    /// session the caller's own session and every session outside its subtree are shown as
    /// roots ("parent not visible").
    Ls(LsArgs),
    /// A refreshing view of the sessions, busiest (system calls per second) first.
    ///
    /// Only sessions whose counters the caller may read (ptrace read access to a process of
    /// the session) are shown; an intent that cannot be read is "-".
    Top(TopArgs),
    /// Run a command in another process's session (setns through /proc/PID/ns/agent).
    ///
    /// Entering needs CAP_SYS_ADMIN over the session's owner; leaving one's own session for
    /// one outside its subtree needs CAP_SYS_ADMIN over every session left.
    Exec(ExecArgs),
    /// Stream the agent_ns tracepoints (session start and end, intent changes, budget
    /// crossings) from tracefs.
    ///
    /// Enables events/agent_ns/* in /sys/kernel/tracing, prints each event from trace_pipe,
    /// and puts the enable switches back as they were on exit. Needs root.
    Trace(TraceArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command to a directory.
    Man(ManArgs),
}

/// What happens when a budget limit is crossed, in order of severity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OnExceed {
    /// A tracepoint and a kernel log line only.
    Log,
    /// No signal: operations past a limit fail with EDQUOT, transfers are cut to fit.
    Deny,
    /// SIGTERM to every process of the session.
    Term,
    /// SIGKILL to every process of the session.
    Kill,
}

impl From<OnExceed> for Action {
    fn from(o: OnExceed) -> Action {
        match o {
            OnExceed::Log => Action::Log,
            OnExceed::Deny => Action::Deny,
            OnExceed::Term => Action::Term,
            OnExceed::Kill => Action::Kill,
        }
    }
}

fn size(s: &str) -> Result<u64, String> {
    units::parse_size(s).map_err(|e| e.to_string())
}

fn duration_ns(s: &str) -> Result<u64, String> {
    units::parse_duration_ns(s).map_err(|e| e.to_string())
}

fn duration(s: &str) -> Result<Duration, String> {
    units::parse_duration(s).map_err(|e| e.to_string())
}

fn event(s: &str) -> Result<&'static str, String> {
    agentns::trace::event_name(s).ok_or_else(|| {
        format!(
            "unknown event {s:?}; the events are {}",
            agentns::trace::EVENTS.join(", ")
        )
    })
}

/// The budget limits `run` takes. 0 or absent means no limit.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Budget")]
pub struct BudgetArgs {
    /// Limit on system calls.
    #[arg(long, value_name = "N")]
    pub max_syscalls: Option<u64>,
    /// Limit on bytes written, through any interface.
    ///
    /// The write and send families, sendfile, splice, tee, copy_file_range, AIO, io_uring,
    /// and pages dirtied through shared file mappings. Under deny, term and kill a transfer
    /// is cut at the limit.
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_write_bytes: Option<u64>,
    /// Limit on bytes read, through any interface.
    ///
    /// The read and recv families, sendfile, splice, tee, copy_file_range, AIO and io_uring.
    /// Under deny, term and kill a transfer is cut at the limit.
    #[arg(long, value_name = "SIZE", value_parser = size)]
    pub max_read_bytes: Option<u64>,
    /// Limit on the session's age.
    #[arg(long, value_name = "DURATION", value_parser = duration_ns)]
    pub max_elapsed: Option<u64>,
    /// Limit on files opened (open, openat, openat2, creat).
    #[arg(long, visible_alias = "max-openat", value_name = "N")]
    pub max_opens: Option<u64>,
    /// Limit on connect(2) calls.
    #[arg(long, visible_alias = "max-connect", value_name = "N")]
    pub max_connects: Option<u64>,
    /// Limit on successful unlink, unlinkat and rmdir calls.
    #[arg(long, visible_alias = "max-unlink", value_name = "N")]
    pub max_unlinks: Option<u64>,
    /// Limit on tasks created (processes and threads).
    #[arg(long, visible_alias = "max-fork", value_name = "N")]
    pub max_forks: Option<u64>,
    /// Limit on successful execve and execveat calls.
    #[arg(long, visible_alias = "max-exec", value_name = "N")]
    pub max_execs: Option<u64>,
    /// What a crossed limit does to the session.
    #[arg(long, value_enum, value_name = "ACTION", default_value_t = OnExceed::Log)]
    pub on_exceed: OnExceed,
}

impl BudgetArgs {
    /// The budget to set, or `None` when no limit was given.
    pub fn to_budget(&self) -> agentns::Result<Option<Budget>> {
        let mut b = Budget::new();
        let limits = [
            ("syscalls", self.max_syscalls),
            ("write_bytes", self.max_write_bytes),
            ("read_bytes", self.max_read_bytes),
            ("elapsed_ns", self.max_elapsed),
            ("openat", self.max_opens),
            ("connect", self.max_connects),
            ("unlink", self.max_unlinks),
            ("fork", self.max_forks),
            ("exec", self.max_execs),
        ];
        for (name, v) in limits {
            if let Some(v) = v {
                b.set_limit(name, v)?;
            }
        }
        b.set_action(self.on_exceed.into());
        Ok(if b.is_empty() { None } else { Some(b) })
    }
}

/// `agentns run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Intent tag of the session: up to 63 printable ASCII characters.
    #[arg(long, value_name = "TAG")]
    pub intent: Option<String>,
    /// Set no_new_privs first, which lets an unprivileged user create the session.
    #[arg(long)]
    pub no_new_privs: bool,
    /// Wait for the command and print the session's final counters to stderr.
    ///
    /// The command then runs in a session of its own (which carries the budget) below the
    /// session agentns creates and waits in; the report is that outer session's totals, so it
    /// includes agentns's own fork and wait (a few system calls).
    #[arg(long)]
    pub report: bool,
    /// Print the report as JSON.
    #[arg(long, requires = "report")]
    pub json: bool,
    /// The budget.
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// The command and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

/// `agentns show`.
#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The process (default: agentns itself, i.e. the caller's session).
    pub pid: Option<i32>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `agentns ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `agentns top`.
#[derive(Args, Debug)]
pub struct TopArgs {
    /// Time between refreshes (seconds, or with a unit).
    #[arg(long, short = 'd', value_name = "SECS", default_value = "1s", value_parser = duration)]
    pub interval: Duration,
    /// Stop after N refreshes (default: until interrupted).
    #[arg(long, short = 'n', value_name = "N")]
    pub iterations: Option<u64>,
    /// Print one JSON object per refresh instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `agentns exec`.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Enter the session of this process.
    #[arg(long, value_name = "PID", required_unless_present = "ns_file")]
    pub session: Option<i32>,
    /// Enter the session of this namespace file (e.g. a bind mount of /proc/PID/ns/agent).
    #[arg(long, value_name = "PATH", conflicts_with = "session")]
    pub ns_file: Option<PathBuf>,
    /// The command and its arguments.
    #[arg(
        required = true,
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CMD"
    )]
    pub command: Vec<OsString>,
}

/// `agentns trace`.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Print one JSON object per event.
    #[arg(long)]
    pub json: bool,
    /// Trace only this event (repeatable): session_start, session_end, intent_set,
    /// budget_exceeded (with or without the agent_ prefix).
    #[arg(long = "event", short = 'e', value_name = "NAME", value_parser = event)]
    pub events: Vec<&'static str>,
    /// Stop after N events.
    #[arg(long, short = 'c', value_name = "N")]
    pub count: Option<u64>,
    /// Stop after this long.
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub timeout: Option<Duration>,
}

/// `agentns man`.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write agentns.1 and agentns-SUBCOMMAND.1 into this directory instead.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("agentns").chain(args.iter().copied()))
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn run_with_everything() {
        let cli = parse(&[
            "run",
            "--intent",
            "refactor-auth",
            "--max-syscalls",
            "1000",
            "--max-write-bytes",
            "10MiB",
            "--max-elapsed",
            "30s",
            "--max-opens",
            "5",
            "--max-read-bytes",
            "4k",
            "--max-forks",
            "3",
            "--on-exceed",
            "kill",
            "--report",
            "--json",
            "--",
            "sh",
            "-c",
            "exit 3",
        ])
        .unwrap();
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert_eq!(r.intent.as_deref(), Some("refactor-auth"));
        assert!(r.report && r.json);
        assert_eq!(r.command, ["sh", "-c", "exit 3"]);
        let b = r.budget.to_budget().unwrap().unwrap();
        assert_eq!(b.0.max_syscalls, 1000);
        assert_eq!(b.0.max_write_bytes, 10 << 20);
        assert_eq!(b.0.max_elapsed_ns, 30_000_000_000);
        assert_eq!(b.0.max_openat, 5);
        assert_eq!(b.0.max_read_bytes, 4096);
        assert_eq!(b.0.max_fork, 3);
        assert_eq!(b.0.max_connect, 0);
        assert_eq!(b.action(), Some(Action::Kill));
    }

    #[test]
    fn run_takes_the_command_without_dashes_and_keeps_its_flags() {
        let cli = parse(&["run", "ls", "-l", "--json"]).unwrap();
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert_eq!(r.command, ["ls", "-l", "--json"]);
        assert!(!r.json && !r.report);
        assert!(r.budget.to_budget().unwrap().is_none());
    }

    #[test]
    fn run_rejects_bad_values() {
        assert!(parse(&["run"]).is_err());
        assert!(parse(&["run", "--max-write-bytes", "10XB", "true"]).is_err());
        assert!(parse(&["run", "--max-elapsed", "soon", "true"]).is_err());
        assert!(parse(&["run", "--max-syscalls", "-1", "true"]).is_err());
        assert!(parse(&["run", "--on-exceed", "explode", "true"]).is_err());
        assert!(parse(&["run", "--on-exceed", "3", "true"]).is_err());
        // --json is about the report.
        assert!(parse(&["run", "--json", "true"]).is_err());
    }

    #[test]
    fn run_on_exceed_every_action() {
        for (name, action) in [
            ("log", Action::Log),
            ("deny", Action::Deny),
            ("term", Action::Term),
            ("kill", Action::Kill),
        ] {
            let cli = parse(&["run", "--max-opens", "2", "--on-exceed", name, "true"]).unwrap();
            let Command::Run(r) = cli.command else {
                panic!("not run")
            };
            let b = r.budget.to_budget().unwrap().unwrap();
            assert_eq!(b.action(), Some(action), "{name}");
            assert_eq!(b.0.action, action.raw(), "{name}");
            assert_eq!(b.0.max_openat, 2, "{name}");
        }
        let cli = parse(&[
            "run",
            "--max-read-bytes",
            "1k",
            "--on-exceed",
            "deny",
            "true",
        ])
        .unwrap();
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        let b = r.budget.to_budget().unwrap().unwrap();
        assert_eq!(b.0.action, 3);
        assert_eq!(b.0.max_read_bytes, 1024);
        // The default stays log.
        let Command::Run(r) = parse(&["run", "--max-opens", "2", "true"]).unwrap().command else {
            panic!("not run")
        };
        assert_eq!(
            r.budget.to_budget().unwrap().unwrap().action(),
            Some(Action::Log)
        );
    }

    #[test]
    fn run_help_says_what_deny_does() {
        let mut cmd = Cli::command();
        let run = cmd.find_subcommand_mut("run").unwrap();
        let help = run.render_long_help().to_string();
        assert!(help.contains("deny"), "{help}");
        assert!(help.contains("EDQUOT"), "{help}");
        assert!(help.contains("copy_file_range"), "{help}");
    }

    #[test]
    fn aliases() {
        let cli = parse(&["run", "--max-openat", "2", "--max-exec", "1", "true"]).unwrap();
        let Command::Run(r) = cli.command else {
            panic!("not run")
        };
        assert_eq!(r.budget.max_opens, Some(2));
        assert_eq!(r.budget.max_execs, Some(1));
    }

    #[test]
    fn show_ls_top() {
        let Command::Show(s) = parse(&["show", "42", "--json"]).unwrap().command else {
            panic!()
        };
        assert_eq!((s.pid, s.json), (Some(42), true));
        let Command::Show(s) = parse(&["show"]).unwrap().command else {
            panic!()
        };
        assert_eq!((s.pid, s.json), (None, false));
        assert!(parse(&["show", "self"]).is_err());
        assert!(matches!(
            parse(&["ls", "--json"]).unwrap().command,
            Command::Ls(LsArgs { json: true })
        ));
        let Command::Top(t) = parse(&["top", "--interval", "0.5", "--iterations", "3"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert_eq!(t.interval, Duration::from_millis(500));
        assert_eq!(t.iterations, Some(3));
        let Command::Top(t) = parse(&["top"]).unwrap().command else {
            panic!()
        };
        assert_eq!(t.interval, Duration::from_secs(1));
        assert_eq!(t.iterations, None);
    }

    #[test]
    fn exec_needs_a_session() {
        let Command::Exec(e) = parse(&["exec", "--session", "7", "--", "id", "-u"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert_eq!(e.session, Some(7));
        assert_eq!(e.command, ["id", "-u"]);
        assert!(parse(&["exec", "--", "id"]).is_err());
        assert!(parse(&["exec", "--session", "7"]).is_err());
        assert!(parse(&["exec", "--session", "7", "--ns-file", "/x", "id"]).is_err());
        assert!(parse(&["exec", "--ns-file", "/x", "id"]).is_ok());
    }

    #[test]
    fn trace_events() {
        let Command::Trace(t) = parse(&[
            "trace",
            "--json",
            "-e",
            "budget_exceeded",
            "--event",
            "agent_session_end",
            "--count",
            "2",
            "--timeout",
            "5s",
        ])
        .unwrap()
        .command
        else {
            panic!()
        };
        assert_eq!(t.events, ["agent_budget_exceeded", "agent_session_end"]);
        assert_eq!(t.count, Some(2));
        assert_eq!(t.timeout, Some(Duration::from_secs(5)));
        assert!(parse(&["trace", "--event", "sched_switch"]).is_err());
    }

    #[test]
    fn completions_and_man() {
        assert!(matches!(
            parse(&["completions", "bash"]).unwrap().command,
            Command::Completions {
                shell: clap_complete::Shell::Bash
            }
        ));
        assert!(parse(&["completions", "tcsh"]).is_err());
        assert!(matches!(
            parse(&["man"]).unwrap().command,
            Command::Man(ManArgs { out_dir: None })
        ));
    }

    #[test]
    fn every_subcommand_has_help() {
        for sub in [
            "run",
            "show",
            "ls",
            "top",
            "exec",
            "trace",
            "completions",
            "man",
        ] {
            let e = parse(&[sub, "--help"]).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp, "{sub}");
        }
    }
}
