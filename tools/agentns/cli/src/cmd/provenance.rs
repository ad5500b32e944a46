// SPDX-License-Identifier: GPL-2.0
//! `agentns provenance PATH...`: which session created a file.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use agentns::SessionId;
use agentns::listing::Snapshot;
use agentns::provenance::{self, Label};
use serde::Serialize;

use super::Result;
use crate::cli::ProvenanceArgs;
use crate::format;

/// One file's provenance.
#[derive(Serialize, Debug)]
struct Entry {
    path: PathBuf,
    /// The creating session and its intent then; `None` for a file no session created.
    label: Option<Label>,
    /// Whether that session still exists (has a task or is held open), as far as the caller
    /// can see; `None` for an unlabelled file.
    live: Option<bool>,
    /// Why the file could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Every path under `root` (itself first, then depth first in name order), not following
/// symlinks.
fn walk(root: &Path, out: &mut Vec<PathBuf>) {
    out.push(root.to_path_buf());
    let Ok(meta) = std::fs::symlink_metadata(root) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let Ok(rd) = std::fs::read_dir(root) else {
        return;
    };
    let mut names: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    names.sort();
    for p in names {
        walk(&p, out);
    }
}

/// The ids of the sessions the caller can see now.
fn live_ids() -> BTreeSet<SessionId> {
    Snapshot::collect()
        .map(|s| s.sessions.values().filter_map(|i| i.id).collect())
        .unwrap_or_default()
}

fn human(entries: &[Entry], full: bool) -> String {
    let mut o = String::new();
    for e in entries {
        let what = match (&e.label, &e.error) {
            (_, Some(err)) => format!("error: {err}"),
            (None, None) => "-".to_string(),
            (Some(l), None) => {
                let mut s = format::session_id(&l.session, full);
                if let Some(t) = &l.intent {
                    s += &format!(" {t:?}");
                }
                s += match e.live {
                    Some(true) => " (live)",
                    _ => " (ended)",
                };
                s
            }
        };
        o += &format!("{}\t{what}\n", e.path.display());
    }
    o
}

/// The files of one session, for `ls --files`.
#[derive(Serialize, Debug)]
struct Group {
    /// `None` for the files no session created.
    label: Option<Label>,
    live: Option<bool>,
    files: Vec<PathBuf>,
}

/// Groups `entries` by label, sessions in id order, the unlabelled (and unreadable) last.
fn group(entries: Vec<Entry>) -> Vec<Group> {
    let mut groups: Vec<Group> = Vec::new();
    for e in entries {
        let key = e.label.as_ref().map(|l| (l.session, l.intent.clone()));
        match groups
            .iter_mut()
            .find(|g| g.label.as_ref().map(|l| (l.session, l.intent.clone())) == key)
        {
            Some(g) => g.files.push(e.path),
            None => groups.push(Group {
                label: e.label,
                live: e.live,
                files: vec![e.path],
            }),
        }
    }
    groups.sort_by_key(|g| (g.label.is_none(), g.label.as_ref().map(|l| l.session)));
    groups
}

fn human_groups(groups: &[Group], full: bool) -> String {
    let mut o = String::new();
    for g in groups {
        let n = g.files.len();
        let files = if n == 1 { "file" } else { "files" };
        o += &match &g.label {
            Some(l) => format!(
                "{}{} ({}): {n} {files}\n",
                format::session_id(&l.session, full),
                l.intent
                    .as_ref()
                    .map_or_else(String::new, |t| format!(" {t:?}")),
                if g.live == Some(true) {
                    "live"
                } else {
                    "ended"
                },
            ),
            None => format!("not created in a session: {n} {files}\n"),
        };
        for f in &g.files {
            o += &format!("  {}\n", f.display());
        }
    }
    o
}

/// Reads the labels of `paths`, with whether each session is live; true when one failed.
fn read(paths: Vec<PathBuf>) -> (Vec<Entry>, bool) {
    let live = live_ids();
    let mut failed = false;
    let entries = paths
        .into_iter()
        .map(|path| match provenance::label(&path) {
            Ok(label) => Entry {
                live: label.as_ref().map(|l| live.contains(&l.session)),
                label,
                path,
                error: None,
            },
            Err(e) => {
                failed = true;
                Entry {
                    path,
                    label: None,
                    live: None,
                    error: Some(e.to_string()),
                }
            }
        })
        .collect();
    (entries, failed)
}

/// Runs `agentns ls --files DIR`.
pub fn by_session(dir: &Path, json: bool, full: bool) -> Result {
    let mut paths = Vec::new();
    walk(dir, &mut paths);
    let (entries, failed) = read(paths);
    let groups = group(entries);
    if json {
        super::print_json(&groups)?;
    } else {
        print!("{}", human_groups(&groups, full));
    }
    Ok(u8::from(failed))
}

/// Runs `agentns provenance`.
pub fn provenance(a: ProvenanceArgs) -> Result {
    let mut paths = Vec::new();
    for p in &a.paths {
        if a.recursive {
            walk(p, &mut paths);
        } else {
            paths.push(p.clone());
        }
    }
    let (entries, failed) = read(paths);
    if a.json {
        super::print_json(&entries)?;
    } else {
        print!("{}", human(&entries, a.full_id));
    }
    Ok(u8::from(failed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_lines() {
        let e = vec![
            Entry {
                path: "a".into(),
                label: Some(Label {
                    session: SessionId([0xab; 16]),
                    intent: Some("build".into()),
                }),
                live: Some(false),
                error: None,
            },
            Entry {
                path: "b".into(),
                label: None,
                live: None,
                error: None,
            },
        ];
        let h = human(&e, true);
        assert_eq!(
            h,
            "a\tabababababababababababababababab \"build\" (ended)\nb\t-\n"
        );
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v[0]["label"]["session"], "abababababababababababababababab");
        assert_eq!(v[0]["label"]["intent"], "build");
        assert_eq!(v[0]["live"], false);
        assert!(v[1]["label"].is_null());
        assert!(v[1].get("error").is_none());
    }

    #[test]
    fn groups_by_session_unlabelled_last() {
        let l = |b: u8| {
            Some(Label {
                session: SessionId([b; 16]),
                intent: None,
            })
        };
        let e = |p: &str, label: Option<Label>| Entry {
            path: p.into(),
            live: label.as_ref().map(|_| true),
            label,
            error: None,
        };
        let g = group(vec![
            e("u", None),
            e("b1", l(2)),
            e("a1", l(1)),
            e("b2", l(2)),
        ]);
        assert_eq!(g.len(), 3);
        assert_eq!(g[0].files, vec![PathBuf::from("a1")]);
        assert_eq!(g[1].files, vec![PathBuf::from("b1"), PathBuf::from("b2")]);
        assert!(g[2].label.is_none());
        let h = human_groups(&g, false);
        assert_eq!(
            h,
            "010101010101 (live): 1 file\n  a1\n020202020202 (live): 2 files\n  b1\n  b2\n\
             not created in a session: 1 file\n  u\n"
        );
    }
}
