// SPDX-License-Identifier: GPL-2.0
//! `agentns status`: whether this kernel has agent namespaces, and how they are set up.

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::Path;

use agentns::{Budget, Counter, Counters, nsfs, procfs, session};
use serde::Serialize;
use serde_json::Value;

use super::Result;
use crate::cli::StatusArgs;

/// Where the kernel's own sysctls are; `user.max_agent_namespaces` is with the other ucounts.
const SYSCTL_DIR: &str = "/proc/sys/kernel/agent_ns";
const USER_MAX: &str = "/proc/sys/user/max_agent_namespaces";
/// Where the tracepoints are, with tracefs mounted in either of its usual places.
const TRACEFS_EVENTS: [&str; 2] = [
    "/sys/kernel/tracing/events/agent_ns",
    "/sys/kernel/debug/tracing/events/agent_ns",
];

/// What `status` found.
#[derive(Serialize, Debug)]
struct Status {
    /// The kernel release (`/proc/sys/kernel/osrelease`).
    kernel: Option<String>,
    /// Whether the kernel has agent namespaces: `/proc/self/agent_session` exists, or
    /// `PR_GET_AGENT_SESSION_ID` is known.
    supported: bool,
    /// Whether `kernel.agent_ns.enabled` is 1; `None` when it cannot be read.
    enabled: Option<bool>,
    /// Why it is off, when it is.
    disabled_reason: Option<String>,
    /// Every sysctl of the feature by its sysctl(8) name, a number where it reads as one.
    sysctls: BTreeMap<String, Value>,
    /// What `kernel.agent_ns.max_lifetime` makes the reaper do.
    reaper: Option<String>,
    listns: Listns,
    tracepoints: Tracepoints,
    /// The caller's own session.
    session: Option<Own>,
    /// The newest structures the kernel takes.
    abi: Option<Abi>,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
struct Listns {
    /// Whether the kernel has listns(2) (it does not answer `ENOSYS`).
    available: bool,
    /// How many agent sessions it lists to the caller, when it worked.
    sessions: Option<usize>,
    /// Why it did not work.
    error: Option<String>,
}

#[derive(Serialize, Debug)]
struct Tracepoints {
    /// The `events/agent_ns` directory, when found.
    dir: Option<String>,
    /// The events in it.
    events: Vec<String>,
    /// Why it could not be looked at, when it could not.
    error: Option<String>,
}

#[derive(Serialize, Debug)]
struct Own {
    id: String,
    initial: bool,
}

#[derive(Serialize, Debug)]
struct Abi {
    counters: Option<StructVersion>,
    budget: Option<StructVersion>,
}

/// The newest version of a uapi structure the kernel takes.
#[derive(Serialize, Debug, PartialEq, Eq)]
struct StructVersion {
    /// The `*_SIZE_VER<N>` this agentns knows that the kernel matches, at least.
    version: usize,
    /// Its size in bytes.
    size: usize,
    /// Whether the kernel's structure is larger still than the newest this agentns knows.
    newer: bool,
}

impl StructVersion {
    fn describe(&self) -> String {
        format!(
            "v{} ({} bytes){}",
            self.version,
            self.size,
            if self.newer {
                ", and newer fields than this agentns knows"
            } else {
                ""
            }
        )
    }
}

/// The names of the counters of `struct agent_ns_counters` version `version` and below.
fn counters_of(version: usize) -> Vec<&'static str> {
    Counter::ALL
        .iter()
        .filter(|c| c.version() <= version)
        .map(|c| c.name())
        .collect()
}

/// The counters version from the names `/proc/PID/agent_counters` lists, which are the
/// kernel's `struct agent_ns_counters` fields: the newest version whose every field is there.
/// (`PR_GET_AGENT_COUNTERS` cannot tell: it zero-fills past the kernel's structure.)
fn counters_version(kernel: &[&str]) -> Option<StructVersion> {
    let sizes = Counters::SIZE_VERSIONS;
    let version = (0..sizes.len())
        .rev()
        .find(|v| counters_of(*v).iter().all(|f| kernel.contains(f)))?;
    Some(StructVersion {
        version,
        size: sizes[version],
        newer: kernel.iter().any(|k| k.parse::<Counter>().is_err()),
    })
}

/// The budget version from [`session::probe_budget_size`]s (`probe(size)` is the errno): the
/// newest version whose size the kernel reads whole, and whether it reads 8 bytes more.
fn budget_version(probe: impl Fn(usize) -> i32) -> Option<StructVersion> {
    let sizes = Budget::SIZE_VERSIONS;
    // EINVAL: read whole, refused for the action; E2BIG: longer than the kernel's.
    let takes = |size: usize| probe(size) == libc::EINVAL;
    // Version 0 is what every kernel with the feature takes; a probe of it only checks that
    // the probe itself works.
    if !takes(sizes[0]) {
        return None;
    }
    let version = sizes[1..].iter().take_while(|s| takes(**s)).count();
    let size = sizes[version];
    Some(StructVersion {
        version,
        size,
        newer: version + 1 == sizes.len() && takes(size + 8),
    })
}

/// What the reaper does, from `kernel.agent_ns.max_lifetime` and `reap_interval`.
fn reaper_text(max_lifetime: Option<u64>, reap_interval: Option<u64>, enabled: bool) -> String {
    let every = reap_interval.map_or_else(|| "?".into(), |i| i.to_string());
    let mut s = match max_lifetime {
        None => return "unknown (kernel.agent_ns.max_lifetime cannot be read)".into(),
        Some(0) => "off: the reaper kills nothing (kernel.agent_ns.max_lifetime = 0)".to_string(),
        Some(n) => format!(
            "the tasks of sessions older than {n} s are killed (SIGKILL), checked every {every} s"
        ),
    };
    if !enabled && max_lifetime != Some(0) {
        s += "; not while agent namespaces are disabled";
    }
    s
}

/// A sysctl's text as JSON: a number where it is one.
fn sysctl_value(text: &str) -> Value {
    let t = text.trim();
    t.parse::<u64>()
        .map_or_else(|_| Value::String(t.into()), Value::from)
}

/// Every sysctl of the feature, by sysctl(8) name (`kernel.agent_ns.enabled`).
fn sysctls() -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let mut files: Vec<(String, std::path::PathBuf)> = std::fs::read_dir(SYSCTL_DIR)
        .map(|d| {
            d.flatten()
                .map(|e| {
                    let name = format!("kernel.agent_ns.{}", e.file_name().to_string_lossy());
                    (name, e.path())
                })
                .collect()
        })
        .unwrap_or_default();
    files.push(("user.max_agent_namespaces".into(), USER_MAX.into()));
    for (name, path) in files {
        match std::fs::read_to_string(&path) {
            Ok(t) => {
                out.insert(name, sysctl_value(&t));
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                out.insert(name, Value::String(format!("unreadable: {e}")));
            }
        }
    }
    out
}

fn listns_state() -> Listns {
    match nsfs::listns() {
        Ok(ids) => Listns {
            available: true,
            sessions: Some(ids.len()),
            error: None,
        },
        Err(e) => Listns {
            available: e.errno() != Some(libc::ENOSYS),
            sessions: None,
            error: Some(e.to_string()),
        },
    }
}

fn tracepoints() -> Tracepoints {
    let mut error = None;
    for dir in TRACEFS_EVENTS {
        match std::fs::read_dir(dir) {
            Ok(d) => {
                let mut events: Vec<String> = d
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect();
                events.sort();
                return Tracepoints {
                    dir: Some(dir.into()),
                    events,
                    error: None,
                };
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                error.get_or_insert_with(|| format!("{dir}: {e}"));
            }
        }
    }
    Tracepoints {
        dir: None,
        events: Vec::new(),
        error: Some(error.unwrap_or_else(|| {
            format!(
                "neither {} nor {} exists (tracefs not mounted, or a kernel without them)",
                TRACEFS_EVENTS[0], TRACEFS_EVENTS[1]
            )
        })),
    }
}

fn collect() -> Status {
    let supported = Path::new("/proc/self/agent_session").exists() || session::supported();
    let sysctls = if supported {
        sysctls()
    } else {
        BTreeMap::new()
    };
    let num = |k: &str| sysctls.get(k).and_then(Value::as_u64);
    let enabled = supported
        .then(|| num("kernel.agent_ns.enabled").map(|v| v == 1))
        .flatten();
    let counters = std::fs::read_to_string("/proc/self/agent_counters")
        .ok()
        .and_then(|t| {
            let names: Vec<&str> = t.lines().filter_map(|l| l.split(' ').next()).collect();
            counters_version(&names)
        });
    Status {
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .ok()
            .map(|s| s.trim().to_string()),
        supported,
        enabled,
        disabled_reason: (enabled == Some(false)).then(session::disabled_reason),
        reaper: supported.then(|| {
            reaper_text(
                num("kernel.agent_ns.max_lifetime"),
                num("kernel.agent_ns.reap_interval"),
                enabled != Some(false),
            )
        }),
        sysctls,
        listns: listns_state(),
        tracepoints: tracepoints(),
        session: supported
            .then(|| {
                session::session_id()
                    .or_else(|_| procfs::session_id(procfs::Pid::Current))
                    .ok()
            })
            .flatten()
            .map(|id| Own {
                id: id.to_string(),
                initial: id.is_initial(),
            }),
        abi: supported.then(|| Abi {
            counters,
            budget: budget_version(session::probe_budget_size),
        }),
    }
}

/// The exit status: 0 when the feature is there and on.
fn exit_status(s: &Status) -> u8 {
    if s.supported && s.enabled == Some(true) {
        0
    } else {
        1
    }
}

fn human(s: &Status) -> String {
    let mut o = String::new();
    let mut line = |k: &str, v: &str| o += &format!("{k:<17}{v}\n");
    line("kernel", s.kernel.as_deref().unwrap_or("unknown"));
    if !s.supported {
        line(
            "agent namespaces",
            &format!("no: {}", agentns::Error::NotSupported),
        );
    } else {
        line("agent namespaces", "yes");
        line(
            "enabled",
            &match (s.enabled, &s.disabled_reason) {
                (Some(true), _) => "yes".to_string(),
                (Some(false), Some(why)) => format!("no: {why}"),
                (Some(false), None) => "no".to_string(),
                (None, _) => format!("unknown ({SYSCTL_DIR}/enabled cannot be read)"),
            },
        );
        let mut first = true;
        for (k, v) in &s.sysctls {
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            line(if first { "sysctls" } else { "" }, &format!("{k} = {v}"));
            first = false;
        }
        if first {
            line("sysctls", &format!("none found in {SYSCTL_DIR}"));
        }
        if let Some(r) = &s.reaper {
            line("reaper", r);
        }
    }
    line(
        "listns(2)",
        &match &s.listns {
            Listns {
                sessions: Some(n), ..
            } => format!("yes ({n} agent sessions visible to the caller)"),
            Listns {
                available: false, ..
            } => "no (ENOSYS): ls finds a session without a process of its own only through \
                  the open files and bind mounts it can see"
                .into(),
            Listns { error, .. } => format!(
                "present, but it failed: {}",
                error.as_deref().unwrap_or("unknown error")
            ),
        },
    );
    line(
        "tracepoints",
        &match &s.tracepoints {
            Tracepoints {
                dir: Some(d),
                events,
                ..
            } => format!("{d}: {}", events.join(", ")),
            Tracepoints { error, .. } => {
                format!("not found: {}", error.as_deref().unwrap_or("unknown"))
            }
        },
    );
    if let Some(own) = &s.session {
        line(
            "session",
            &format!(
                "{}{}",
                own.id,
                if own.initial {
                    " (the initial session)"
                } else {
                    ""
                }
            ),
        );
    }
    if let Some(abi) = &s.abi {
        let d = |v: &Option<StructVersion>| {
            v.as_ref()
                .map_or_else(|| "unknown".into(), StructVersion::describe)
        };
        line(
            "abi",
            &format!("counters {}, budget {}", d(&abi.counters), d(&abi.budget)),
        );
    }
    o
}

/// Runs `agentns status`.
pub fn status(a: StatusArgs) -> Result {
    let s = collect();
    if a.json {
        super::print_json(&s)?;
    } else {
        print!("{}", human(&s));
    }
    Ok(exit_status(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_version_from_proc_names() {
        let v0 = [
            "syscalls",
            "openat",
            "write_bytes",
            "connect",
            "unlink",
            "fork",
            "elapsed_ns",
        ];
        let v1: Vec<&str> = v0.iter().copied().chain(["read_bytes", "exec"]).collect();
        assert_eq!(
            counters_version(&v0),
            Some(StructVersion {
                version: 0,
                size: 56,
                newer: false
            })
        );
        assert_eq!(
            counters_version(&v1),
            Some(StructVersion {
                version: 1,
                size: 72,
                newer: false
            })
        );
        let mut v2 = v1.clone();
        v2.push("mmap");
        assert_eq!(
            counters_version(&v2),
            Some(StructVersion {
                version: 1,
                size: 72,
                newer: true
            })
        );
        assert_eq!(counters_version(&["syscalls"]), None);
        assert_eq!(counters_version(&v1).unwrap().describe(), "v1 (72 bytes)");
    }

    /// A kernel whose budget structure is `ksize` bytes, as `PR_SET_AGENT_BUDGET_LIMITS`
    /// answers the probe.
    fn kernel(ksize: usize) -> impl Fn(usize) -> i32 {
        move |size| {
            if size > ksize {
                libc::E2BIG
            } else {
                libc::EINVAL
            }
        }
    }

    #[test]
    fn budget_version_from_probes() {
        let v = |ksize| budget_version(kernel(ksize));
        assert_eq!(
            v(32),
            Some(StructVersion {
                version: 0,
                size: 32,
                newer: false
            })
        );
        assert_eq!(
            v(80),
            Some(StructVersion {
                version: 1,
                size: 80,
                newer: false
            })
        );
        assert_eq!(
            v(96),
            Some(StructVersion {
                version: 1,
                size: 80,
                newer: true
            })
        );
        // A kernel without the feature (or a probe that does not work) says nothing.
        assert_eq!(budget_version(|_| libc::ENOSYS), None);
    }

    #[test]
    fn reaper() {
        assert_eq!(
            reaper_text(Some(0), Some(60), true),
            "off: the reaper kills nothing (kernel.agent_ns.max_lifetime = 0)"
        );
        assert_eq!(
            reaper_text(Some(3600), Some(60), true),
            "the tasks of sessions older than 3600 s are killed (SIGKILL), checked every 60 s"
        );
        assert!(
            reaper_text(Some(3600), Some(60), false)
                .ends_with("; not while agent namespaces are disabled")
        );
        assert!(reaper_text(None, Some(60), true).starts_with("unknown"));
    }

    #[test]
    fn sysctl_values() {
        assert_eq!(sysctl_value("1\n"), Value::from(1u64));
        assert_eq!(sysctl_value("60"), Value::from(60u64));
        assert_eq!(sysctl_value("a b\n"), Value::from("a b"));
    }

    fn sample(supported: bool, enabled: Option<bool>) -> Status {
        Status {
            kernel: Some("7.3.4-wintermute".into()),
            supported,
            enabled,
            disabled_reason: (enabled == Some(false)).then(|| "booted with agent_ns=off".into()),
            sysctls: [
                ("kernel.agent_ns.enabled", 1u64),
                ("kernel.agent_ns.max_lifetime", 0),
                ("kernel.agent_ns.reap_interval", 60),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect(),
            reaper: Some(reaper_text(Some(0), Some(60), true)),
            listns: Listns {
                available: true,
                sessions: Some(3),
                error: None,
            },
            tracepoints: Tracepoints {
                dir: Some(TRACEFS_EVENTS[0].into()),
                events: vec!["agent_budget_exceeded".into(), "agent_session_end".into()],
                error: None,
            },
            session: Some(Own {
                id: "0".repeat(32),
                initial: true,
            }),
            abi: Some(Abi {
                counters: counters_version(&counters_of(usize::MAX)),
                budget: budget_version(kernel(80)),
            }),
        }
    }

    #[test]
    fn human_json_and_exit_status() {
        let s = sample(true, Some(true));
        assert_eq!(exit_status(&s), 0);
        let h = human(&s);
        for want in [
            "kernel           7.3.4-wintermute\n",
            "agent namespaces yes\n",
            "enabled          yes\n",
            "sysctls          kernel.agent_ns.enabled = 1\n",
            "                 kernel.agent_ns.max_lifetime = 0\n",
            "reaper           off: the reaper kills nothing",
            "listns(2)        yes (3 agent sessions visible to the caller)\n",
            "tracepoints      /sys/kernel/tracing/events/agent_ns: agent_budget_exceeded, \
             agent_session_end\n",
            "session          00000000000000000000000000000000 (the initial session)\n",
            "abi              counters v1 (72 bytes), budget v1 (80 bytes)\n",
        ] {
            assert!(h.contains(want), "{want:?} not in\n{h}");
        }
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["supported"], true);
        assert_eq!(v["enabled"], true);
        assert_eq!(v["sysctls"]["kernel.agent_ns.reap_interval"], 60);
        assert_eq!(v["listns"]["available"], true);
        assert_eq!(v["abi"]["counters"]["version"], 1);
        assert_eq!(v["abi"]["budget"]["size"], 80);
        assert_eq!(v["session"]["initial"], true);

        let off = sample(true, Some(false));
        assert_eq!(exit_status(&off), 1);
        assert!(human(&off).contains("enabled          no: booted with agent_ns=off\n"));
        let unknown = sample(true, None);
        assert_eq!(exit_status(&unknown), 1);

        let mut none = sample(false, None);
        none.listns = Listns {
            available: false,
            sessions: None,
            error: Some("ENOSYS".into()),
        };
        assert_eq!(exit_status(&none), 1);
        let h = human(&none);
        assert!(
            h.contains("agent namespaces no: this kernel has no agent namespace support"),
            "{h}"
        );
        assert!(h.contains("listns(2)        no (ENOSYS)"), "{h}");
        assert!(!h.contains("enabled"), "{h}");
    }
}
