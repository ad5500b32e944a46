// SPDX-License-Identifier: GPL-2.0
//! Checks the generated uapi against what a C compiler makes of the header: every constant's
//! value, every field's offset and size, and each structure's size. Skipped (with a message)
//! where no C compiler is installed.

use std::process::Command;

use agentns::uapi::{self, AgentNsBudget, AgentNsCounters, FieldLayout};

fn c_program() -> String {
    let mut p = format!(
        "#include <stdio.h>\n#include <stddef.h>\n#include \"{}\"\nint main(void)\n{{\n",
        uapi::HEADER_PATH
    );
    for (name, _) in uapi::DEFINES {
        p += &format!("\tprintf(\"define {name} %llu\\n\", (unsigned long long)({name}));\n");
    }
    let structs: [(&str, &[FieldLayout]); 2] = [
        (AgentNsCounters::C_NAME, AgentNsCounters::LAYOUT),
        (AgentNsBudget::C_NAME, AgentNsBudget::LAYOUT),
    ];
    for (s, layout) in structs {
        p += &format!("\tprintf(\"sizeof {s} %zu\\n\", sizeof(struct {s}));\n");
        for f in layout {
            p += &format!(
                "\tprintf(\"field {s}.{0} %zu %zu\\n\", offsetof(struct {s}, {0}), \
                 sizeof(((struct {s} *)0)->{0}));\n",
                f.name
            );
        }
    }
    p + "\treturn 0;\n}\n"
}

fn expected() -> String {
    let mut e = String::new();
    for (name, v) in uapi::DEFINES {
        e += &format!("define {name} {v}\n");
    }
    let structs: [(&str, &[FieldLayout], usize); 2] = [
        (
            AgentNsCounters::C_NAME,
            AgentNsCounters::LAYOUT,
            std::mem::size_of::<AgentNsCounters>(),
        ),
        (
            AgentNsBudget::C_NAME,
            AgentNsBudget::LAYOUT,
            std::mem::size_of::<AgentNsBudget>(),
        ),
    ];
    for (s, layout, size) in structs {
        e += &format!("sizeof {s} {size}\n");
        for f in layout {
            e += &format!("field {s}.{} {} {}\n", f.name, f.offset, f.size);
        }
    }
    e
}

#[test]
fn layout_matches_the_c_compiler() {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let dir = std::env::temp_dir().join(format!("agentns-layout-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("layout.c");
    let bin = dir.join("layout");
    std::fs::write(&src, c_program()).unwrap();
    let out = match Command::new(&cc).arg("-o").arg(&bin).arg(&src).output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIP: no C compiler ({cc}: {e})");
            return;
        }
    };
    assert!(
        out.status.success(),
        "{cc} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = Command::new(&bin).output().unwrap();
    assert!(run.status.success());
    let got = String::from_utf8(run.stdout).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(got, expected());
}

#[test]
fn rust_layout_matches_generated_table() {
    for f in AgentNsCounters::LAYOUT {
        assert_eq!(f.size, 8, "{}", f.name);
    }
    let last = AgentNsBudget::LAYOUT.last().unwrap();
    assert_eq!(
        last.offset + last.size,
        std::mem::size_of::<AgentNsBudget>()
    );
    assert_eq!(
        *AgentNsBudget::SIZE_VERSIONS.last().unwrap(),
        std::mem::size_of::<AgentNsBudget>()
    );
    assert_eq!(
        *AgentNsCounters::SIZE_VERSIONS.last().unwrap(),
        std::mem::size_of::<AgentNsCounters>()
    );
}
