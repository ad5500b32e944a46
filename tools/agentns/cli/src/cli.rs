// SPDX-License-Identifier: GPL-2.0
//! The command line, declared with clap (also the source of the completions and man page).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use agentns::{Action, Budget, Counter, units};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::format::{self, Column};

// The help texts, as macros so that concat! can put them together.

/// How counts, sizes and durations are written.
macro_rules! units_help {
    () => {
        "\
Counts (--max-syscalls, --max-opens, ...): 1000000, 1_000_000, 1.5k, 1M; the multipliers k (or K),
M, G, T, P are powers of 1000.

Sizes (--max-write-bytes, --max-read-bytes): 4096, 4k, 10MiB, 1G; K, M, G, T, P (any case, alone or
with iB) are powers of 1024, as in head -c 1M; kB (or KB), MB, GB, TB, PB are powers of 1000; B or
nothing is bytes.

Durations, as in systemd.time(7): 500ms, 10s, 2min, 1h30min, 2hours, '1 hour', 1d, 1w. The units
are ns, us, ms, s (sec, seconds), m (min, minutes), h (hr, hours), d (days), w (weeks), M (months
of 30.44 days) and y (years of 365.25 days); a number without a unit is seconds and must stand
alone.

Numbers may have a fraction (1.5k) and group digits with underscores (1_000). A limit of 0 or
infinity is no limit."
    };
}

/// Where the documentation is.
macro_rules! docs_help {
    () => {
        "\
Documentation: Documentation/admin-guide/agent-namespaces.rst and
Documentation/userspace-api/agent_namespaces.rst in the linux-wintermute tree."
    };
}

/// `run`'s and `exec`'s exit status (125-127 as env(1), timeout(1) and chroot(1) use them)
/// and where the command starts.
macro_rules! command_help {
    () => {
        "\
Options of agentns come first: the first argument that is not an option of agentns, or every
argument after --, starts the command. `agentns run ls -l` passes -l to ls; a mistyped option
(`agentns run --max-sycalls 10 make`) is refused, not run as the command.

Exit status:
  125  agentns itself failed (the session could not be created or entered, the intent or the
       budget was refused), or the command line is wrong (an unknown option, a bad value, no
       command); the command was not run
  126  the command was found but could not be executed (also when a deny budget refuses the
       exec)
  127  the command was not found
  else the command's exit status (with run --report, 128+N when signal N killed it)"
    };
}

const AFTER_HELP: &str = concat!(
    "Exit status: 125 for a usage error (an unknown option, a bad value); otherwise as each\n",
    "command's --help says.\n\n",
    docs_help!()
);
const RUN_AFTER_HELP: &str = concat!(command_help!(), "\n\n", units_help!(), "\n\n", docs_help!());
const EXEC_AFTER_HELP: &str = concat!(command_help!(), "\n\n", docs_help!());

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
    /// command in it; the exit status is the command's. With --report, agentns stays, outside
    /// the command's session, as its parent, waits for it, reports how it ended and the
    /// session's final counters (to stderr, or to the file of -o) and exits with the command's
    /// status, or 128+N when signal N killed it.
    #[command(after_help = RUN_AFTER_HELP)]
    Run(RunArgs),
    /// Show a process's session: id, parents, depth, intent, counters and budget.
    ///
    /// Without PID, the caller's own session (through the prctls). For another process,
    /// /proc/PID/agent_session, and agent_intent and agent_counters (which need ptrace read
    /// access: another user's are shown as unknown, with a note). The parent chain comes from
    /// NS_GET_PARENT on /proc/PID/ns/agent, which hands out only the caller's own session and
    /// the sessions below it: from inside a session the chain stops at the caller's session
    /// and the sessions above it are not visible. The depth, the parent's id, the budget and
    /// what the kernel did (which limits fired, a budget action, the reaper) come from the
    /// AGENT_NS_GET_INFO and AGENT_NS_GET_BUDGET ioctls on that file.
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
    ///
    /// Session ids are shortened to their first 12 hexadecimal digits (--full-id for all 32;
    /// --json always has them whole). The tree is drawn with box-drawing characters when the
    /// locale (LC_ALL, else LC_CTYPE, else LANG) is UTF-8, with ASCII otherwise.
    #[command(after_help = format::ls_columns_help())]
    Ls(LsArgs),
    /// A refreshing view of the sessions, busiest (system calls per second) first.
    ///
    /// Only sessions whose counters the caller may read (ptrace read access to a process of
    /// the session) are shown; an intent that cannot be read is "-". The table fits the
    /// terminal's width (the COLUMNS variable, else 80, when the output is not a terminal):
    /// the least important columns are left out and the intent is cut.
    Top(TopArgs),
    /// Run a command in another session (setns through its namespace file).
    ///
    /// The session is named by a process in it (--session PID, /proc/PID/ns/agent), by its
    /// id or a unique prefix of at least 4 hexadecimal digits of it (--session ID: through a
    /// process of the session, or by its namespace id with open_by_handle_at(2) for a session
    /// without a process), or by a namespace file (--ns-file). Entering needs CAP_SYS_ADMIN
    /// over the session's owner; leaving one's own session for one outside its subtree needs
    /// CAP_SYS_ADMIN over every session left.
    #[command(after_help = EXEC_AFTER_HELP)]
    Exec(ExecArgs),
    /// Send a signal to every process of sessions and of the sessions below them.
    ///
    /// Like systemctl kill: each SESSION is a pid (the session that process is in) or a session
    /// id, whole or a unique prefix of at least 4 hexadecimal digits (`agentns ls` shows the
    /// first 12). Every process in /proc whose session (/proc/PID/ns/agent) is one of them or
    /// below one of them is signalled, default SIGTERM; /proc is walked again while a walk
    /// finds processes the ones before did not (forked meanwhile), up to 10 times. Signals go
    /// through pidfds, so a pid reused meanwhile is never hit, and kill(2)'s permission rules
    /// apply: a process that may not be signalled (EPERM) is reported and the others are still
    /// signalled. agentns itself is never signalled; the initial session is refused.
    ///
    /// Exit status: 0 when every process was signalled (or there was none), 1 when one could
    /// not be, or a SESSION names no session (then nothing is signalled); 125 for a usage error.
    Kill(KillArgs),
    /// Export the sessions' counters, limits, depth, intent and age as Prometheus metrics.
    ///
    /// The text exposition format (text/plain; version=0.0.4): over HTTP (--listen, GET
    /// /metrics), into a file for node_exporter's textfile collector (--textfile, replaced
    /// atomically), or once to standard output (--once). Every series is labelled
    /// session="ID", the session id whole: 32 lowercase hexadecimal digits, the size and form
    /// of an OpenTelemetry trace-id, so that traces whose trace-id is the session id join with
    /// the metrics. The initial session is left out. Counters cover the session and every
    /// session below it. Intent and counters need ptrace read access to a process of the
    /// session (run as root to see every session).
    ///
    /// Metrics: agentns_session_COUNTER_total for the counters syscalls, openat, write_bytes,
    /// read_bytes, connect, unlink, fork and exec; agentns_session_limit{counter=...} (the
    /// session's own budget limits; unset ones left out; counter="age_seconds" for the
    /// elapsed-time limit, in seconds); agentns_session_depth, agentns_session_age_seconds,
    /// agentns_session_processes, agentns_session_info{intent=...,parent=...} (always 1);
    /// agentns_sessions and agentns_sessions_dropped.
    ///
    /// Exit status: 0, or 1 when the metrics could not be collected or written, or the address
    /// could not be listened on; 125 for a usage error.
    Export(ExportArgs),
    /// Stream the agent_ns tracepoints (session start and end, intent changes, budget
    /// crossings) from tracefs.
    ///
    /// Enables events/agent_ns/* in a private tracefs instance (instances/agentns-PID), prints
    /// each event from its trace_pipe, reports lost events, and removes the instance on exit;
    /// other tracers and the global buffer are not touched. Needs root.
    Trace(TraceArgs),
    /// Whether this kernel has agent namespaces, and how they are set up.
    ///
    /// Reports whether the kernel has the feature (/proc/self/agent_session) and whether it is
    /// enabled (kernel.agent_ns.enabled), every sysctl under /proc/sys/kernel/agent_ns/ and
    /// user.max_agent_namespaces, what kernel.agent_ns.max_lifetime makes the reaper do,
    /// whether listns(2) works, whether the agent_ns tracepoints are in tracefs, the caller's
    /// own session, and the newest counters and budget structures the kernel accepts.
    ///
    /// Exit status: 0 when the kernel has agent namespaces and they are enabled; 1 when it has
    /// none, they are disabled, or the state could not be read; 125 for a usage error.
    Status(StatusArgs),
    /// Which session created a file: its id, intent, and whether it is still live.
    ///
    /// Reads the security.agent_session and security.agent_intent extended attributes the
    /// kernel's agentns LSM sets on every file a task in a session creates (getfattr -e hex -n
    /// security.agent_session shows the same id). A file no session created, or one on a file
    /// system without security xattrs, shows "-". "live" means a session with that id still
    /// exists (has a process, or is held open) as far as the caller can see.
    ///
    /// Exit status: 0, or 1 when a file could not be read; 125 for a usage error.
    Provenance(ProvenanceArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), or write one page per command to a directory.
    Man(ManArgs),
}

/// What happens when a budget limit is crossed.
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

fn count_limit(s: &str) -> Result<u64, String> {
    units::parse_limit(s, units::parse_count).map_err(|e| e.to_string())
}

fn size_limit(s: &str) -> Result<u64, String> {
    units::parse_limit(s, units::parse_size).map_err(|e| e.to_string())
}

fn duration_limit_ns(s: &str) -> Result<u64, String> {
    units::parse_limit(s, units::parse_duration_ns).map_err(|e| e.to_string())
}

fn duration(s: &str) -> Result<Duration, String> {
    units::parse_duration(s).map_err(|e| e.to_string())
}

fn positive_duration(s: &str) -> Result<Duration, String> {
    match duration(s)? {
        d if d.is_zero() => Err("the interval must be longer than 0".into()),
        d => Ok(d),
    }
}

/// A SESSION argument: a pid, or a session id or a prefix of one (checked against the system
/// when the command runs).
fn session_arg(s: &str) -> Result<String, String> {
    agentns::select::check_arg(s).map(|()| s.to_string())
}

fn event(s: &str) -> Result<&'static str, String> {
    agentns::trace::event_name(s).ok_or_else(|| {
        format!(
            "unknown event {s:?}; the events are {}",
            agentns::trace::EVENTS.join(", ")
        )
    })
}

/// The budget limits `run` takes. A limit covers the session and every session below it; 0,
/// infinity or absent means no limit.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Budget")]
pub struct BudgetArgs {
    /// Limit on system calls (a count).
    ///
    /// Every system call entered, whatever its result, and every io_uring submission queue
    /// entry submitted.
    #[arg(long, value_name = "N", value_parser = count_limit)]
    pub max_syscalls: Option<u64>,
    /// Limit on bytes written, through any interface (a size).
    ///
    /// The bytes each transfer returns, whatever the file descriptor (file, pipe, socket,
    /// terminal): write, pwrite64, writev, pwritev, pwritev2; send, sendto, sendmsg, sendmmsg;
    /// vmsplice into a pipe; AIO (IOCB_CMD_PWRITE, IOCB_CMD_PWRITEV); io_uring WRITE, WRITEV,
    /// WRITE_FIXED, WRITEV_FIXED, SEND, SENDMSG, SEND_ZC and SENDMSG_ZC. sendfile, splice,
    /// tee, copy_file_range and io_uring SPLICE and TEE count what they move both as read and
    /// as written. A page (PAGE_SIZE bytes) for each write fault that dirties a page of a
    /// shared file mapping, counted at the fault. Not counted: what the kernel writes on the
    /// session's behalf (core dumps, swap, writeback of pages already counted), stores to a
    /// mapped page that is already dirty, shared anonymous and SysV shared memory, io_uring
    /// IOPOLL requests. Under deny, term and kill a transfer that would pass the limit is cut
    /// to what is left (pages dirtied through a mapping are counted, not cut).
    #[arg(long, value_name = "SIZE", value_parser = size_limit)]
    pub max_write_bytes: Option<u64>,
    /// Limit on bytes read, through any interface (a size).
    ///
    /// The bytes each transfer returns, whatever the file descriptor (file, pipe, socket,
    /// terminal): read, pread64, readv, preadv, preadv2; recv, recvfrom, recvmsg, recvmmsg;
    /// vmsplice out of a pipe; AIO (IOCB_CMD_PREAD, IOCB_CMD_PREADV); io_uring READ, READV,
    /// READ_FIXED, READV_FIXED, READ_MULTISHOT, RECV and RECVMSG (each completion). sendfile,
    /// splice, tee, copy_file_range and io_uring SPLICE and TEE count what they move both as
    /// read and as written. Not counted: what the kernel reads on the session's behalf (exec
    /// reading the binary, swap, readahead), io_uring IOPOLL requests. Under deny, term and
    /// kill a transfer that would pass the limit is cut to what is left (io_uring multishot
    /// RECVMSG is counted, not cut).
    #[arg(long, value_name = "SIZE", value_parser = size_limit)]
    pub max_read_bytes: Option<u64>,
    /// Limit on the session's age (a duration, CLOCK_BOOTTIME from its creation).
    #[arg(long, value_name = "DURATION", value_parser = duration_limit_ns)]
    pub max_elapsed: Option<u64>,
    /// Limit on files opened (a count).
    ///
    /// open, openat, openat2, creat and open_by_handle_at calls that return a file
    /// descriptor, and io_uring OPENAT and OPENAT2 requests that succeed.
    #[arg(long, visible_alias = "max-openat", value_name = "N", value_parser = count_limit)]
    pub max_opens: Option<u64>,
    /// Limit on connects (a count): connect calls and io_uring CONNECT requests, whatever
    /// their result.
    #[arg(long, visible_alias = "max-connect", value_name = "N", value_parser = count_limit)]
    pub max_connects: Option<u64>,
    /// Limit on removals (a count): unlink, unlinkat and rmdir calls and io_uring UNLINKAT
    /// requests that succeed.
    #[arg(long, visible_alias = "max-unlink", value_name = "N", value_parser = count_limit)]
    pub max_unlinks: Option<u64>,
    /// Limit on tasks created, processes and threads (a count).
    #[arg(long, visible_alias = "max-fork", value_name = "N", value_parser = count_limit)]
    pub max_forks: Option<u64>,
    /// Limit on execve and execveat calls that succeed (a count).
    #[arg(long, visible_alias = "max-exec", value_name = "N", value_parser = count_limit)]
    pub max_execs: Option<u64>,
    /// What a crossed limit does to the session.
    #[arg(long, value_enum, value_name = "ACTION", default_value_t = OnExceed::Log)]
    pub on_exceed: OnExceed,
}

impl BudgetArgs {
    /// The budget to set, or `None` when no limit was given.
    pub fn to_budget(&self) -> Option<Budget> {
        let mut b = Budget::new();
        let limits = [
            (Counter::Syscalls, self.max_syscalls),
            (Counter::WriteBytes, self.max_write_bytes),
            (Counter::ReadBytes, self.max_read_bytes),
            (Counter::ElapsedNs, self.max_elapsed),
            (Counter::Openat, self.max_opens),
            (Counter::Connect, self.max_connects),
            (Counter::Unlink, self.max_unlinks),
            (Counter::Fork, self.max_forks),
            (Counter::Exec, self.max_execs),
        ];
        for (counter, v) in limits {
            if let Some(v) = v {
                b.set_limit(counter, v);
            }
        }
        b.set_action(self.on_exceed.into());
        (!b.is_empty()).then_some(b)
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
    /// Wait for the command and report how it ended and its session's final counters.
    ///
    /// agentns stays in its own session as the command's parent, holds the command's session
    /// open and reads it through its namespace file after the command has exited: the
    /// counters (the command's whole subtree, plus the few system calls agentns makes in the
    /// child before exec), which limits fired, and why the command ended: its exit status, a
    /// budget action (which limits), the kernel's lifetime reaper, or a signal from outside.
    /// SIGTERM, SIGHUP, and SIGINT and SIGQUIT sent with kill(1), are passed on to the command
    /// (terminal ones reach it directly), as timeout(1) does. The report goes to stderr, or to
    /// the file of --output.
    #[arg(long)]
    pub report: bool,
    /// Print the report as JSON.
    #[arg(long, requires = "report")]
    pub json: bool,
    /// Write the report to FILE (truncated) instead of stderr, as time(1) -o does.
    #[arg(short = 'o', long = "output", value_name = "FILE", requires = "report")]
    pub output: Option<std::path::PathBuf>,
    /// The budget.
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// The command and its arguments: the first argument that is not an option of agentns,
    /// or everything after --.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
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

/// `ls -o`'s columns: a list, or `+LIST` for the default columns and LIST after them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnList(pub Vec<Column>);

fn columns(s: &str) -> Result<ColumnList, String> {
    let (base, list) = match s.strip_prefix('+') {
        Some(rest) => (Column::LS_DEFAULT.to_vec(), rest),
        None => (Vec::new(), s),
    };
    let mut cols = base;
    for name in list.split(',') {
        cols.push(Column::from_name(name.trim()).ok_or_else(|| {
            format!(
                "unknown column {name:?}; the columns are {}",
                Column::ALL.map(Column::name).join(", ")
            )
        })?);
    }
    Ok(ColumnList(cols))
}

/// `agentns ls`.
#[derive(Args, Debug)]
pub struct LsArgs {
    /// Print JSON: the whole tree, session ids in full (-o, -n and -r do not apply).
    #[arg(long, conflicts_with_all = ["output", "noheadings", "raw"])]
    pub json: bool,
    /// The columns to print, comma-separated (see below); +LIST appends LIST to the default
    /// columns.
    #[arg(long, short = 'o', value_name = "LIST", value_parser = columns)]
    pub output: Option<ColumnList>,
    /// Print no header line.
    #[arg(long, short = 'n')]
    pub noheadings: bool,
    /// Raw output: no tree drawing, no alignment and no notes, one space between columns;
    /// numbers unformatted (bytes in bytes, AGE in seconds), spaces, backslashes and
    /// unprintable bytes written as \xHH, an empty value as nothing.
    #[arg(long, short = 'r')]
    pub raw: bool,
    /// Print session ids whole (32 hexadecimal digits) instead of their first 12.
    #[arg(long)]
    pub full_id: bool,
    /// Instead of the sessions, the files below DIR grouped by the session that created each
    /// (see `agentns provenance`); unlabelled files last.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["output", "raw"])]
    pub files: Option<std::path::PathBuf>,
}

/// What `top` sorts by: any of its columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TopSort {
    /// System calls per second (SYSCALLS/S), the default.
    #[value(alias = "syscalls/s")]
    Rate,
    /// System calls.
    Syscalls,
    /// Files opened.
    Opens,
    /// Bytes written.
    Wbytes,
    /// Bytes read.
    Rbytes,
    /// Connects.
    Connects,
    /// Removals.
    Unlinks,
    /// Tasks created.
    Forks,
    /// Programs executed.
    Execs,
    /// Processes in the session.
    Nprocs,
    /// The session's age.
    Age,
    /// The session id, in order.
    Session,
    /// The intent tag, in order.
    Intent,
}

/// `agentns top`.
#[derive(Args, Debug)]
pub struct TopArgs {
    /// Time between refreshes (a duration: 500ms, 2s, 1min; a number alone is seconds).
    #[arg(long, short = 'd', value_name = "DURATION", default_value = "1s",
          value_parser = positive_duration)]
    pub interval: Duration,
    /// Stop after N refreshes (default: until interrupted).
    #[arg(long, short = 'n', value_name = "N")]
    pub iterations: Option<u64>,
    /// Print one JSON object per refresh instead of a table (sorted and filtered alike).
    #[arg(long)]
    pub json: bool,
    /// Sort by this column: the biggest numbers first, ids and intents in order.
    #[arg(long, short = 's', value_enum, value_name = "COLUMN", default_value_t = TopSort::Rate,
          ignore_case = true)]
    pub sort: TopSort,
    /// Show only the sessions whose intent matches this pattern (*, ?, [...], [!...], as the
    /// kernel's glob_match() and trace --intent take it); an intent that cannot be read matches
    /// nothing.
    #[arg(long, value_name = "GLOB")]
    pub intent: Option<String>,
    /// Show only the sessions whose id (all 32 digits) or intent contains TEXT.
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Print session ids whole (32 hexadecimal digits) instead of their first 12.
    #[arg(long)]
    pub full_id: bool,
}

/// `agentns provenance`.
#[derive(Args, Debug)]
pub struct ProvenanceArgs {
    /// Walk directories: every file below each PATH (symlinks not followed).
    #[arg(short = 'r', long)]
    pub recursive: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Print session ids in full (32 hex digits) instead of their first 12.
    #[arg(long)]
    pub full_id: bool,
    /// The files.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<std::path::PathBuf>,
}

/// `agentns status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `agentns exec`.
#[derive(Args, Debug)]
pub struct ExecArgs {
    /// Enter the session of this process, or the session with this id (32 hexadecimal
    /// digits, or a prefix of at least 4 that only one session's id starts with). Digits
    /// that name a live process (and do not start with 0) are a pid.
    #[arg(long, value_name = "PID|ID", required_unless_present = "ns_file",
          value_parser = session_arg)]
    pub session: Option<String>,
    /// Enter the session of this namespace file (e.g. a bind mount of /proc/PID/ns/agent).
    #[arg(long, value_name = "PATH", conflicts_with = "session")]
    pub ns_file: Option<PathBuf>,
    /// The command and its arguments: the first argument that is not an option of agentns,
    /// or everything after --.
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

/// `agentns kill`.
#[derive(Args, Debug)]
pub struct KillArgs {
    /// The signal: a name, with or without SIG, in any case (TERM, SIGKILL, hup), or a number
    /// (9; 0 only checks that the processes exist and may be signalled).
    #[arg(long, short = 's', value_name = "SIGNAL", default_value = "TERM",
          value_parser = crate::cmd::kill::parse_signal)]
    pub signal: i32,
    /// Signal nothing; print the processes that would be signalled, one per line: pid,
    /// session id and command.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
    /// The sessions: pids (the sessions they are in), or session ids or unique prefixes of at
    /// least 4 hexadecimal digits.
    #[arg(required = true, value_name = "SESSION", value_parser = session_arg)]
    pub sessions: Vec<String>,
}

/// `agentns export`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["listen", "textfile", "once"])))]
pub struct ExportArgs {
    /// Serve the metrics over HTTP on this address (an IP address and a port:
    /// 127.0.0.1:9555, [::]:9555): GET /metrics, 404 for any other path; one request at a
    /// time, until killed.
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<std::net::SocketAddr>,
    /// Write the metrics to this file, atomically (a temporary file in the same directory,
    /// renamed over it), for node_exporter's textfile collector (name it *.prom); once, or
    /// every --interval.
    #[arg(long, value_name = "PATH")]
    pub textfile: Option<PathBuf>,
    /// Print the metrics once to standard output.
    #[arg(long)]
    pub once: bool,
    /// With --textfile: write the file again every DURATION (10s, 1min) until killed.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["listen", "once"],
          value_parser = positive_duration)]
    pub interval: Option<Duration>,
    /// Export at most N sessions, the shallowest and oldest first, to bound the number of
    /// series (12 to 21 per session); the others are counted in agentns_sessions_dropped.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_sessions: usize,
}

/// `agentns trace`.
#[derive(Args, Debug)]
#[command(after_help = "\
Where the filters run: every event carries the session id as a byte array (u8 id[16]), which
ftrace filters cannot compare, so --session is applied by agentns to each event read, for all
four events. The intent is a field of agent_intent_set only (old, new): --intent is written to
events/agent_ns/agent_intent_set/filter of the instance (old == \"TAG\" || new == \"TAG\",
or ~ for a glob) and that event is filtered in the kernel; agent_session_start,
agent_session_end and agent_budget_exceeded have no intent field and are filtered by agentns,
by the intent their session has when the event happens (known from the sessions visible at
the start and from agent_intent_set events, enabled for this even when not shown). A tag the
kernel cannot take (both kinds of quotes, a glob that starts with ! or a digit) is filtered by
agentns for agent_intent_set too.

Events come from a private tracefs instance, instances/agentns-PID, whose ring buffer, event
switches, filters and options are its own: the global trace_pipe, its readers and its options
(record-tgid, which trace-cmd and perfetto set) are left alone. The instance is removed on
exit (also on SIGINT, SIGTERM, SIGHUP and when the reader of the output goes away); one left
by an agentns trace killed with SIGKILL is removed by the next one.

Lost events (a ring buffer overrun, from [LOST N EVENTS] in trace_pipe and the overrun and
dropped events counters of per_cpu/cpuN/stats) are reported on standard error as \"agentns:
lost N events (buffer overrun)\", and with --json also as {\"lost\":N} on standard output in
the stream of events; on exit a total is printed if any were lost.")]
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
    /// Stop after this long (a duration: 30s, 5min, 1h).
    #[arg(long, value_name = "DURATION", value_parser = duration)]
    pub timeout: Option<Duration>,
    /// Only the events of this session: its id (32 hexadecimal digits), or the start of the id
    /// of a session the caller can see (4 digits at least, naming one session). Filtered by
    /// agentns, not in the kernel; the events of sessions below it are not shown.
    #[arg(long, value_name = "ID", value_parser = agentns::trace::session_arg)]
    pub session: Option<String>,
    /// Only the events of sessions whose intent is TAG when the event happens (a glob as the
    /// kernel's when TAG has *, ?, [...] or \: [!a-z] complements, [^a-z] does not), and the
    /// intent changes into or out of it. Filtered in the kernel for intent_set, by agentns for
    /// the other events.
    #[arg(long, value_name = "TAG")]
    pub intent: Option<String>,
    /// The size of each CPU's ring buffer of the private instance, in KiB (buffer_size_kb;
    /// rounded up to whole pages, two at least). Larger loses fewer events in bursts.
    #[arg(long, value_name = "KB", value_parser = clap::value_parser!(u64).range(1..))]
    pub buffer_size: Option<u64>,
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
        let b = r.budget.to_budget().unwrap();
        assert_eq!(b.limit(Counter::Syscalls), 1000);
        assert_eq!(b.limit(Counter::WriteBytes), 10 << 20);
        assert_eq!(b.limit(Counter::ElapsedNs), 30_000_000_000);
        assert_eq!(b.limit(Counter::Openat), 5);
        assert_eq!(b.limit(Counter::ReadBytes), 4096);
        assert_eq!(b.limit(Counter::Fork), 3);
        assert_eq!(b.limit(Counter::Connect), 0);
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
        assert!(r.budget.to_budget().is_none());
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
            let b = r.budget.to_budget().unwrap();
            assert_eq!(b.action(), Some(action), "{name}");
            assert_eq!(b.raw_action(), action.raw(), "{name}");
            assert_eq!(b.limit(Counter::Openat), 2, "{name}");
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
        let b = r.budget.to_budget().unwrap();
        assert_eq!(b.raw_action(), 3);
        assert_eq!(b.limit(Counter::ReadBytes), 1024);
        // The default stays log.
        let Command::Run(r) = parse(&["run", "--max-opens", "2", "true"]).unwrap().command else {
            panic!("not run")
        };
        assert_eq!(r.budget.to_budget().unwrap().action(), Some(Action::Log));
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
            Command::Ls(LsArgs {
                json: true,
                output: None,
                noheadings: false,
                raw: false,
                full_id: false,
                files: None,
            })
        ));
        assert!(matches!(
            parse(&["ls", "--files", "/tmp"]).unwrap().command,
            Command::Ls(LsArgs { files: Some(_), .. })
        ));
        assert!(parse(&["ls", "--files", "/tmp", "-r"]).is_err());
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

    fn run_args(args: &[&str]) -> RunArgs {
        match parse(args).unwrap().command {
            Command::Run(r) => r,
            c => panic!("not run: {c:?}"),
        }
    }

    #[test]
    fn options_come_before_the_command() {
        // A mistyped option is refused, not run as the command.
        let e = parse(&["run", "--max-sycalls", "10", "--", "make"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
        let e = parse(&["run", "--bogus", "ls"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
        assert!(parse(&["run", "-x", "ls"]).is_err());
        // The first argument that is not an option starts the command; what follows is its.
        assert_eq!(
            run_args(&["run", "ls", "--bogus"]).command,
            ["ls", "--bogus"]
        );
        assert_eq!(run_args(&["run", "ls", "-l"]).command, ["ls", "-l"]);
        assert_eq!(run_args(&["run", "--", "ls", "-l"]).command, ["ls", "-l"]);
        let r = run_args(&["run", "--intent", "x", "ls", "-l", "--intent", "y"]);
        assert_eq!(r.intent.as_deref(), Some("x"));
        assert_eq!(r.command, ["ls", "-l", "--intent", "y"]);
        // Once the command started, "--" is its argument too.
        assert_eq!(
            run_args(&["run", "sh", "-c", "echo $0", "--", "x"]).command,
            ["sh", "-c", "echo $0", "--", "x"]
        );
        // After "--", a command may start with a dash.
        assert_eq!(run_args(&["run", "--", "-weird"]).command, ["-weird"]);
        // The same for exec.
        assert!(parse(&["exec", "--session", "1", "--bogus", "ls"]).is_err());
        assert!(parse(&["exec", "--sesion", "1", "ls"]).is_err());
        let Command::Exec(e) = parse(&["exec", "--session", "1", "ls", "--bogus", "-l"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert_eq!(e.command, ["ls", "--bogus", "-l"]);
    }

    #[test]
    fn limits_take_units_and_infinity() {
        let b = |args: &[&str]| {
            let mut v = vec!["run"];
            v.extend_from_slice(args);
            v.push("true");
            run_args(&v).budget
        };
        let x = b(&[
            "--max-syscalls",
            "1M",
            "--max-opens",
            "1k",
            "--max-forks",
            "1_000",
            "--max-write-bytes",
            "1M",
            "--max-read-bytes",
            "1MB",
            "--max-elapsed",
            "1h30min",
            "--max-execs",
            "infinity",
        ]);
        assert_eq!(x.max_syscalls, Some(1_000_000));
        assert_eq!(x.max_opens, Some(1000));
        assert_eq!(x.max_forks, Some(1000));
        assert_eq!(x.max_write_bytes, Some(1 << 20));
        assert_eq!(x.max_read_bytes, Some(1_000_000));
        assert_eq!(x.max_elapsed, Some(5_400_000_000_000));
        assert_eq!(x.max_execs, Some(0));
        assert_eq!(
            b(&["--max-elapsed", "2hours"]).max_elapsed,
            Some(7_200_000_000_000)
        );
        assert_eq!(
            b(&["--max-elapsed", "1 hour"]).max_elapsed,
            Some(3_600_000_000_000)
        );
        assert_eq!(
            b(&["--max-elapsed", "1w"]).max_elapsed,
            Some(604_800_000_000_000)
        );
        assert_eq!(
            b(&["--max-elapsed", "10"]).max_elapsed,
            Some(10_000_000_000)
        );
        assert_eq!(b(&["--max-elapsed", "infinity"]).max_elapsed, Some(0));
        assert_eq!(
            b(&["--max-write-bytes", "infinity"]).max_write_bytes,
            Some(0)
        );
        // infinity and 0 set no limit.
        let r = run_args(&[
            "run",
            "--max-syscalls",
            "infinity",
            "--max-opens",
            "0",
            "true",
        ]);
        assert!(r.budget.to_budget().is_none());
        for bad in [
            &["--max-syscalls", "1MiB"][..],
            &["--max-syscalls", "1.5"],
            &["--max-opens", "1m"],
            &["--max-elapsed", "1h30"],
            &["--max-elapsed", "forever"],
            &["--max-write-bytes", "1_"],
        ] {
            let mut v = vec!["run"];
            v.extend_from_slice(bad);
            v.push("true");
            assert!(parse(&v).is_err(), "{bad:?}");
        }
        // Durations that are not limits take no infinity, and an interval is not 0.
        assert!(parse(&["top", "-d", "infinity"]).is_err());
        assert!(parse(&["top", "-d", "0"]).is_err());
        assert!(parse(&["trace", "--timeout", "infinity"]).is_err());
        assert!(parse(&["trace", "--timeout", "1 min"]).is_ok());
    }

    #[test]
    fn help_says_what_is_counted_and_the_exit_status() {
        let mut cmd = Cli::command();
        let run = cmd.find_subcommand_mut("run").unwrap();
        // Words only: clap wraps the lines where the terminal (or 100 columns) ends.
        let words = |h: String| h.split_whitespace().collect::<Vec<_>>().join(" ");
        let help = words(run.render_long_help().to_string());
        for want in [
            "125",
            "126",
            "127",
            "systemd.time(7)",
            "infinity",
            "powers of 1000",
            "powers of 1024",
            "sendfile",
            "splice",
            "vmsplice",
            "io_uring",
            "AIO",
            "sendmmsg",
            "recvmmsg",
            "shared file mapping",
            "a mistyped option",
        ] {
            assert!(help.contains(want), "{want:?} not in\n{help}");
        }
        let exec = cmd.find_subcommand_mut("exec").unwrap();
        let help = words(exec.render_long_help().to_string());
        assert!(help.contains("125") && help.contains("127"), "{help}");
        let ls = cmd.find_subcommand_mut("ls").unwrap();
        let help = words(ls.render_long_help().to_string());
        assert!(help.contains("Default: SESSION,"), "{help}");
        let top = words(Cli::command().render_long_help().to_string());
        assert!(top.contains("Exit status: 125"), "{top}");
    }

    #[test]
    fn ls_options() {
        let ls = |args: &[&str]| match parse(args).unwrap().command {
            Command::Ls(l) => l,
            c => panic!("not ls: {c:?}"),
        };
        let l = ls(&["ls", "-o", "session,PID,User", "-n", "-r", "--full-id"]);
        assert_eq!(
            l.output,
            Some(ColumnList(vec![Column::Session, Column::Pid, Column::User]))
        );
        assert!(l.noheadings && l.raw && l.full_id && !l.json);
        let l = ls(&["ls", "--output", "+PARENT,DEPTH"]);
        let mut want = Column::LS_DEFAULT.to_vec();
        want.extend([Column::Parent, Column::Depth]);
        assert_eq!(l.output, Some(ColumnList(want)));
        let l = ls(&["ls", "-o", "CONNECTS,UNLINKS,INODE,NSID,INTENT,AGE,COMMAND"]);
        assert_eq!(l.output.unwrap().0.len(), 7);
        let e = parse(&["ls", "-o", "SESSION,BOGUS"]).unwrap_err();
        assert!(e.to_string().contains("unknown column \"BOGUS\""), "{e}");
        assert!(parse(&["ls", "-o", ""]).is_err());
        assert!(parse(&["ls", "--json", "-o", "PID"]).is_err());
        assert!(parse(&["ls", "--json", "--raw"]).is_err());
        assert!(parse(&["ls", "--json", "--full-id"]).is_ok());
        assert!(parse(&["ls", "--bogus"]).is_err());
    }

    #[test]
    fn top_options() {
        let top = |args: &[&str]| match parse(args).unwrap().command {
            Command::Top(t) => t,
            c => panic!("not top: {c:?}"),
        };
        let t = top(&["top"]);
        assert_eq!(t.sort, TopSort::Rate);
        assert!(t.intent.is_none() && t.filter.is_none() && !t.full_id);
        for (name, key) in [
            ("rate", TopSort::Rate),
            ("SYSCALLS/S", TopSort::Rate),
            ("syscalls", TopSort::Syscalls),
            ("OPENS", TopSort::Opens),
            ("wbytes", TopSort::Wbytes),
            ("rbytes", TopSort::Rbytes),
            ("connects", TopSort::Connects),
            ("unlinks", TopSort::Unlinks),
            ("forks", TopSort::Forks),
            ("execs", TopSort::Execs),
            ("nprocs", TopSort::Nprocs),
            ("Age", TopSort::Age),
            ("session", TopSort::Session),
            ("intent", TopSort::Intent),
        ] {
            assert_eq!(top(&["top", "--sort", name]).sort, key, "{name}");
        }
        let t = top(&[
            "top",
            "-s",
            "age",
            "--intent",
            "ticket-*",
            "--filter",
            "ab12",
            "--full-id",
        ]);
        assert_eq!(t.sort, TopSort::Age);
        assert_eq!(t.intent.as_deref(), Some("ticket-*"));
        assert_eq!(t.filter.as_deref(), Some("ab12"));
        assert!(t.full_id);
        assert!(parse(&["top", "--sort", "bogus"]).is_err());
        assert!(parse(&["top", "--bogus"]).is_err());
        assert!(parse(&["top", "extra"]).is_err());
    }

    #[test]
    fn status() {
        assert!(matches!(
            parse(&["status"]).unwrap().command,
            Command::Status(StatusArgs { json: false })
        ));
        assert!(matches!(
            parse(&["status", "--json"]).unwrap().command,
            Command::Status(StatusArgs { json: true })
        ));
        assert!(parse(&["status", "--bogus"]).is_err());
    }

    #[test]
    fn exec_needs_a_session() {
        let Command::Exec(e) = parse(&["exec", "--session", "7", "--", "id", "-u"])
            .unwrap()
            .command
        else {
            panic!()
        };
        assert_eq!(e.session.as_deref(), Some("7"));
        assert_eq!(e.command, ["id", "-u"]);
        assert!(parse(&["exec", "--", "id"]).is_err());
        assert!(parse(&["exec", "--session", "7"]).is_err());
        assert!(parse(&["exec", "--session", "7", "--ns-file", "/x", "id"]).is_err());
        assert!(parse(&["exec", "--ns-file", "/x", "id"]).is_ok());
    }

    #[test]
    fn sessions_by_pid_or_id_prefix() {
        let session = |args: &[&str]| match parse(args).unwrap().command {
            Command::Exec(e) => e.session.unwrap(),
            c => panic!("not exec: {c:?}"),
        };
        assert_eq!(session(&["exec", "--session", "ab12", "id"]), "ab12");
        let full = "0123456789abcdefABCDEF0123456789";
        assert_eq!(session(&["exec", "--session", full, "id"]), full);
        for bad in ["abc", "xyz12", "", "0123456789abcdef0123456789abcdef0"] {
            let e = parse(&["exec", "--session", bad, "id"]).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::ValueValidation, "{bad:?}");
        }
        assert!(parse(&["exec", "--session", "-1", "id"]).is_err());
    }

    #[test]
    fn kill_options() {
        let kill = |args: &[&str]| match parse(args).unwrap().command {
            Command::Kill(k) => k,
            c => panic!("not kill: {c:?}"),
        };
        let k = kill(&["kill", "1234"]);
        assert_eq!((k.signal, k.dry_run), (libc::SIGTERM, false));
        assert_eq!(k.sessions, ["1234"]);
        for sig in ["KILL", "9", "SIGKILL", "kill"] {
            assert_eq!(
                kill(&["kill", "-s", sig, "ab12"]).signal,
                libc::SIGKILL,
                "{sig}"
            );
        }
        let k = kill(&[
            "kill",
            "--signal",
            "hup",
            "--dry-run",
            "ab12",
            "77",
            "ab12cd",
        ]);
        assert_eq!(k.signal, libc::SIGHUP);
        assert!(k.dry_run);
        assert_eq!(k.sessions, ["ab12", "77", "ab12cd"]);
        assert!(parse(&["kill"]).is_err());
        assert!(parse(&["kill", "-s", "BOGUS", "1"]).is_err());
        assert!(parse(&["kill", "-s", "65", "1"]).is_err());
        assert!(parse(&["kill", "abc"]).is_err());
    }

    #[test]
    fn export_options() {
        let export = |args: &[&str]| match parse(args).unwrap().command {
            Command::Export(e) => e,
            c => panic!("not export: {c:?}"),
        };
        let e = export(&["export", "--once"]);
        assert!(e.once && e.listen.is_none() && e.textfile.is_none());
        assert_eq!(e.max_sessions, 1000);
        let e = export(&[
            "export",
            "--listen",
            "127.0.0.1:9555",
            "--max-sessions",
            "5",
        ]);
        assert_eq!(e.listen, Some("127.0.0.1:9555".parse().unwrap()));
        assert_eq!(e.max_sessions, 5);
        assert!(
            export(&["export", "--listen", "[::]:9555"])
                .listen
                .is_some()
        );
        let e = export(&[
            "export",
            "--textfile",
            "/x/agentns.prom",
            "--interval",
            "10s",
        ]);
        assert_eq!(e.textfile, Some(PathBuf::from("/x/agentns.prom")));
        assert_eq!(e.interval, Some(Duration::from_secs(10)));
        // Exactly one target.
        assert!(parse(&["export"]).is_err());
        assert!(parse(&["export", "--once", "--textfile", "/x"]).is_err());
        assert!(parse(&["export", "--once", "--listen", "127.0.0.1:1"]).is_err());
        assert!(parse(&["export", "--listen", "localhost"]).is_err());
        assert!(parse(&["export", "--once", "--interval", "1s"]).is_err());
        assert!(parse(&["export", "--interval", "1s"]).is_err());
        assert!(parse(&["export", "--textfile", "/x", "--interval", "0"]).is_err());
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
            "kill",
            "export",
            "trace",
            "status",
            "completions",
            "man",
        ] {
            let e = parse(&[sub, "--help"]).unwrap_err();
            assert_eq!(e.kind(), clap::error::ErrorKind::DisplayHelp, "{sub}");
        }
    }
}
