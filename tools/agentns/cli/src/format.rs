// SPDX-License-Identifier: GPL-2.0
//! Human output: counter tables and session trees.

use agentns::listing::TreeNode;
use agentns::units::{format_count, format_duration_ns, format_size};
use agentns::{Budget, Counters};

/// A counter's value for people: bytes as sizes, `elapsed_ns` as a duration.
pub fn counter_value(name: &str, v: u64) -> String {
    if name.ends_with("_bytes") {
        if v < 1024 {
            format!("{v} B")
        } else {
            format!("{} ({})", format_size(v), format_count(v))
        }
    } else if name.ends_with("_ns") {
        format_duration_ns(v)
    } else {
        format_count(v)
    }
}

/// `name  value` lines, names padded, each line prefixed with `indent`.
pub fn counters_table(c: &Counters, indent: &str) -> String {
    let e = c.entries();
    let w = e.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    e.iter()
        .map(|(k, v)| format!("{indent}{k:<w$}  {}\n", counter_value(k, *v)))
        .collect()
}

/// The budget's set limits and action in one line: `action=kill syscalls=1,000`.
pub fn budget_line(b: &Budget) -> String {
    let mut s = format!(
        "action={}",
        b.action()
            .map_or_else(|| b.0.action.to_string(), |a| a.to_string())
    );
    let mut any = false;
    for (k, v) in b.limits() {
        if v != 0 {
            any = true;
            s += &format!(" {k}={}", counter_value(k, v).replace(' ', ""));
        }
    }
    if !any {
        s = "none".into();
    }
    s
}

fn cell(c: Option<u64>, f: impl Fn(u64) -> String) -> String {
    c.map_or_else(|| "-".into(), f)
}

fn session_label(n: &TreeNode) -> String {
    let s = &n.session;
    let mut l = match s.id {
        Some(id) => id.to_string(),
        None => format!("agent:[{}]", s.inode),
    };
    if s.initial {
        l += " (initial)";
    }
    if let Some(t) = s.intent.as_deref().filter(|t| !t.is_empty()) {
        l += &format!(" {t:?}");
    }
    if s.id.is_none() && s.pids.is_empty() {
        l += " (no process)";
    }
    if !s.initial && s.parent_inode.is_none() {
        l += " (parent not visible)";
    }
    l
}

/// The `ls` table: counters first, then the session tree (like `ps f`).
pub fn tree_table(trees: &[TreeNode]) -> String {
    let mut rows: Vec<[String; 8]> = vec![[
        "PROCS".into(),
        "SYSCALLS".into(),
        "OPENAT".into(),
        "WRITE".into(),
        "READ".into(),
        "FORK".into(),
        "EXEC".into(),
        "SESSION".into(),
    ]];
    fn walk(n: &TreeNode, prefix: &str, branch: &str, rows: &mut Vec<[String; 8]>) {
        let c = n.session.counters;
        let get = |k: &str| c.as_ref().and_then(|c| c.get(k));
        rows.push([
            n.session.pids.len().to_string(),
            cell(get("syscalls"), format_count),
            cell(get("openat"), format_count),
            cell(get("write_bytes"), format_size),
            cell(get("read_bytes"), format_size),
            cell(get("fork"), format_count),
            cell(get("exec"), format_count),
            format!("{prefix}{branch}{}", session_label(n)),
        ]);
        let child_prefix = format!(
            "{prefix}{}",
            match branch {
                "├─ " => "│  ",
                "└─ " => "   ",
                _ => "",
            }
        );
        for (i, ch) in n.children.iter().enumerate() {
            let last = i + 1 == n.children.len();
            walk(ch, &child_prefix, if last { "└─ " } else { "├─ " }, rows);
        }
    }
    for t in trees {
        walk(t, "", "", &mut rows);
    }
    let mut widths = [0usize; 7];
    for r in &rows {
        for (i, w) in widths.iter_mut().enumerate() {
            *w = (*w).max(r[i].chars().count());
        }
    }
    let mut out = String::new();
    for r in &rows {
        for (i, w) in widths.iter().enumerate() {
            out += &format!("{:>w$}  ", r[i]);
        }
        out += &r[7];
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentns::listing::SessionInfo;
    use agentns::{Action, SessionId};

    fn node(id: u8, intent: &str, pids: Vec<i32>, children: Vec<TreeNode>) -> TreeNode {
        let mut c = Counters::default();
        c.set("syscalls", 1000 * u64::from(id));
        c.set("write_bytes", 4096);
        TreeNode {
            session: SessionInfo {
                id: Some(SessionId([id; 16])),
                inode: 100 + u64::from(id),
                ns_id: Some(u64::from(id)),
                initial: id == 0,
                depth: None,
                parent_inode: (id != 0).then_some(1),
                intent: Some(intent.into()),
                pids,
                counters: Some(c),
            },
            children,
        }
    }

    #[test]
    fn tree_layout() {
        let t = node(
            0,
            "",
            vec![1, 2],
            vec![node(
                1,
                "parent",
                vec![10],
                vec![
                    node(2, "a", vec![11], vec![]),
                    node(3, "b", vec![12], vec![]),
                ],
            )],
        );
        let s = tree_table(&[t]);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 5, "{s}");
        assert!(lines[0].starts_with("PROCS  SYSCALLS"), "{s}");
        assert!(
            lines[1].ends_with("00000000000000000000000000000000 (initial)"),
            "{s}"
        );
        assert!(
            lines[2].ends_with("└─ 01010101010101010101010101010101 \"parent\""),
            "{s}"
        );
        assert!(
            lines[3].ends_with("   ├─ 02020202020202020202020202020202 \"a\""),
            "{s}"
        );
        assert!(
            lines[4].ends_with("   └─ 03030303030303030303030303030303 \"b\""),
            "{s}"
        );
        assert!(lines[2].contains("1,000"), "{s}");
        assert!(lines[2].contains("4.0 KiB"), "{s}");
    }

    #[test]
    fn hidden_parent_and_unreadable_intent() {
        // From inside session 1: its parent is not visible, so it is a root; session 4 is
        // another user's, so neither its intent nor its counters can be read.
        let mut own = node(1, "own", vec![10], vec![node(2, "child", vec![11], vec![])]);
        own.session.parent_inode = None;
        let mut other = node(4, "secret", vec![20], vec![]);
        other.session.parent_inode = None;
        other.session.intent = None;
        other.session.counters = None;
        let s = tree_table(&[own, other]);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines.len(), 4, "{s}");
        assert!(
            lines[1].ends_with("  01010101010101010101010101010101 \"own\" (parent not visible)"),
            "{s}"
        );
        assert!(
            lines[2].ends_with("└─ 02020202020202020202020202020202 \"child\""),
            "{s}"
        );
        assert!(
            lines[3].ends_with("  04040404040404040404040404040404 (parent not visible)"),
            "{s}"
        );
        let cells: Vec<&str> = lines[3].split_whitespace().take(7).collect();
        assert_eq!(cells, ["1", "-", "-", "-", "-", "-", "-"], "{s}");
    }

    #[test]
    fn counters_and_budget_lines() {
        let mut c = Counters::default();
        c.set("syscalls", 1234);
        c.set("write_bytes", 10 << 20);
        c.set("elapsed_ns", 1_500_000_000);
        let t = counters_table(&c, "  ");
        assert!(t.contains("  syscalls     1,234\n"), "{t}");
        assert!(t.contains("  write_bytes  10.0 MiB (10,485,760)\n"), "{t}");
        assert!(t.contains("  elapsed_ns   1.500s\n"), "{t}");
        let mut b = Budget::new();
        assert_eq!(budget_line(&b), "none");
        b.set_limit("syscalls", 1000).unwrap();
        b.set_limit("write_bytes", 4096).unwrap();
        b.set_action(Action::Kill);
        assert_eq!(
            budget_line(&b),
            "action=kill syscalls=1,000 write_bytes=4.0KiB(4,096)"
        );
        b.set_action(Action::Deny);
        assert_eq!(
            budget_line(&b),
            "action=deny syscalls=1,000 write_bytes=4.0KiB(4,096)"
        );
    }
}
