// SPDX-License-Identifier: GPL-2.0
//! The uapi of agent namespaces, generated at build time from
//! `include/uapi/linux/agent_namespaces.h` (see `build.rs`), plus the few nsfs and syscall
//! numbers the library needs from `<linux/nsfs.h>` and `<linux/fcntl.h>`.
//!
//! Private to the library: its public types ([`Counters`](crate::Counters),
//! [`Budget`](crate::Budget), [`SessionInfo`](crate::nsfs::SessionInfo), ...) are its own and
//! convert from and to these structures inside it. The whole header is generated, so not every
//! constant is used.

#![allow(missing_docs, dead_code)]

/// Where a structure's field lies, as the header declares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldLayout {
    /// The field's C name.
    pub name: &'static str,
    /// Its C type (`__u64`, `__u32`, ...).
    pub ctype: &'static str,
    /// Its offset in bytes.
    pub offset: usize,
    /// Its size in bytes.
    pub size: usize,
}

include!(concat!(env!("OUT_DIR"), "/uapi_generated.rs"));

/// Path of the header the constants were generated from (for the layout test).
pub const HEADER_PATH: &str = env!("AGENTNS_UAPI_HEADER_PATH");

/// An ioctl command number, as the target's `ioctl(2)` takes it.
pub type Opcode = rustix::ioctl::Opcode;

/// `_IO(NSIO, nr)`, encoded for the target architecture by rustix (`<asm/ioctl.h>`: Alpha,
/// MIPS, PowerPC and SPARC have a 13-bit size and a 3-bit direction in which "none" is 1).
pub const fn io(nr: u8) -> Opcode {
    rustix::ioctl::opcode::none(NSIO, nr)
}

/// `_IOR(NSIO, nr, T)`, encoded for the target architecture by rustix.
pub const fn ior<T>(nr: u8) -> Opcode {
    rustix::ioctl::opcode::read::<T>(NSIO, nr)
}

/// `NSIO` of `<linux/nsfs.h>`.
pub const NSIO: u8 = 0xb7;
/// `NS_GET_USERNS`: `_IO(NSIO, 0x1)`.
pub const NS_GET_USERNS: Opcode = io(0x1);
/// `NS_GET_PARENT`: `_IO(NSIO, 0x2)`.
pub const NS_GET_PARENT: Opcode = io(0x2);
/// `NS_GET_NSTYPE`: `_IO(NSIO, 0x3)`.
pub const NS_GET_NSTYPE: Opcode = io(0x3);
/// `NS_GET_ID`: `_IOR(NSIO, 13, __u64)`.
pub const NS_GET_ID: Opcode = ior::<u64>(13);
/// `AGENT_NS_INIT_ID` of `<linux/nsfs.h>`: the initial session's namespace id.
pub const AGENT_NS_INIT_ID: u64 = 9;
/// `AGENT_NS_INIT_INO` of `<linux/nsfs.h>`: the initial session's nsfs inode number.
pub const AGENT_NS_INIT_INO: u64 = 0xEFFF_FFF6;
/// `FD_NSFS_ROOT` of `<linux/fcntl.h>`: open_by_handle_at(2) on the nsfs root.
pub const FD_NSFS_ROOT: i32 = -10003;
/// `FILEID_NSFS` of `<linux/exportfs.h>`: the handle type of nsfs file handles.
pub const FILEID_NSFS: i32 = 0xf1;
/// `NS_ID_REQ_SIZE_VER0` of `<linux/nsfs.h>`.
pub const NS_ID_REQ_SIZE_VER0: u32 = 32;
/// listns(2); new system calls have one number on every architecture since 424.
pub const SYS_LISTNS: i64 = 470;

/// `struct ns_id_req` of `<linux/nsfs.h>` (version 0), the listns(2) request.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NsIdReq {
    pub size: u32,
    pub spare: u32,
    pub ns_id: u64,
    pub ns_type: u32,
    pub spare2: u32,
    pub user_ns_id: u64,
}
const _: () = assert!(core::mem::size_of::<NsIdReq>() == NS_ID_REQ_SIZE_VER0 as usize);

/// `struct nsfs_file_handle` of `<linux/nsfs.h>`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct NsfsFileHandle {
    pub ns_id: u64,
    pub ns_type: u32,
    pub ns_inum: u32,
}

/// The prctl(2) option numbers as the `c_int` prctl takes.
pub mod pr {
    use super::*;
    use libc::c_int;

    const fn opt(v: u64) -> c_int {
        assert!(v <= c_int::MAX as u64);
        v as c_int
    }
    pub const GET_SESSION_ID: c_int = opt(PR_GET_AGENT_SESSION_ID);
    pub const SET_INTENT_TAG: c_int = opt(PR_SET_AGENT_INTENT_TAG);
    pub const GET_INTENT_TAG: c_int = opt(PR_GET_AGENT_INTENT_TAG);
    pub const SET_BUDGET_LIMITS: c_int = opt(PR_SET_AGENT_BUDGET_LIMITS);
    pub const GET_COUNTERS: c_int = opt(PR_GET_AGENT_COUNTERS);
    pub const GET_PARENT_ID: c_int = opt(PR_GET_AGENT_PARENT_ID);
    pub const SET_NS: c_int = opt(PR_SET_AGENT_NS);
    pub const GET_BUDGET_LIMITS: c_int = opt(PR_GET_AGENT_BUDGET_LIMITS);
}

/// `AGENT_NS_ID_BYTES` as a length.
pub const ID_BYTES: usize = AGENT_NS_ID_BYTES as usize;
/// `AGENT_NS_INTENT_MAX` as a length.
pub const INTENT_MAX: usize = AGENT_NS_INTENT_MAX as usize;

#[cfg(test)]
mod tests {
    #[allow(dead_code)]
    mod uapi_gen {
        include!("../uapi_gen.rs");
    }

    fn header() -> String {
        std::fs::read_to_string(super::HEADER_PATH).expect("the header is readable")
    }

    fn generate(src: &str) -> Result<Vec<String>, String> {
        uapi_gen::generate(src, "test").map(|(_, w)| w)
    }

    #[test]
    fn the_header_generates_cleanly() {
        assert_eq!(generate(&header()), Ok(vec![]));
    }

    #[test]
    fn generated_matches_documented_abi() {
        use super::*;
        assert_eq!(PR_AGENT_BASE, 0x4154_4E53);
        assert_eq!(PR_GET_AGENT_SESSION_ID, PR_AGENT_BASE + 1);
        assert_eq!(PR_GET_AGENT_BUDGET_LIMITS, PR_AGENT_BASE + 8);
        assert_eq!(AGENT_NS_TYPE, 0x40);
        assert_eq!(AGENT_NS_ACTION_LOG, 0);
        assert_eq!(AGENT_NS_ACTION_SIGTERM, 1);
        assert_eq!(AGENT_NS_ACTION_SIGKILL, 2);
        assert_eq!(AGENT_NS_ACTION_DENY, 3);
        assert_eq!(std::mem::size_of::<AgentNsCounters>(), 72);
        assert_eq!(std::mem::size_of::<AgentNsBudget>(), 80);
        assert_eq!(AgentNsCounters::SIZE_VERSIONS, &[56, 72]);
        assert_eq!(AgentNsBudget::SIZE_VERSIONS, &[32, 80]);
        assert_eq!(std::mem::offset_of!(AgentNsBudget, action), 24);
        assert_eq!(std::mem::offset_of!(AgentNsBudget, max_openat), 32);
        assert_eq!(std::mem::offset_of!(AgentNsCounters, read_bytes), 56);
        assert_eq!(std::mem::size_of::<AgentNsInfo>(), 48);
        assert_eq!(AgentNsInfo::SIZE_VERSIONS, &[48]);
        assert_eq!(XATTR_NAME_AGENT_SESSION, "security.agent_session");
        assert_eq!(XATTR_NAME_AGENT_INTENT, "security.agent_intent");
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
    fn ioctl_numbers_match_the_c_macros() {
        use super::*;
        // What <linux/nsfs.h> and <linux/agent_namespaces.h> expand to on x86-64 and arm64.
        assert_eq!(NS_GET_PARENT, 0xb702);
        assert_eq!(NS_GET_ID, 0x8008_b70d);
        assert_eq!(AGENT_NS_GET_INFO, 0x8030_b740);
        assert_eq!(AGENT_NS_GET_COUNTERS, 0x8048_b741);
        assert_eq!(AGENT_NS_GET_BUDGET, 0x8050_b742);
    }

    fn must_fail(src: String, why: &str) {
        match generate(&src) {
            Err(e) => assert!(e.contains(why), "error {e:?} does not mention {why:?}"),
            Ok(_) => panic!("a header with {why} was accepted"),
        }
    }

    #[test]
    fn a_changed_abi_number_fails() {
        must_fail(
            header().replace("0x41544E53", "0x41544E54"),
            "PR_AGENT_BASE",
        );
        must_fail(
            header().replace("(PR_AGENT_BASE + 7)", "(PR_AGENT_BASE + 9)"),
            "PR_SET_AGENT_NS",
        );
        must_fail(
            header().replace("#define AGENT_NS_TYPE", "#define AGENT_NS_TYPE_OLD"),
            "AGENT_NS_TYPE is missing",
        );
        must_fail(
            header().replace(
                "#define AGENT_NS_ACTION_DENY\t\t3",
                "#define AGENT_NS_ACTION_DENY\t\t4",
            ),
            "AGENT_NS_ACTION_DENY",
        );
        must_fail(
            header().replace(
                "#define AGENT_NS_ACTION_DENY",
                "#define AGENT_NS_ACTION_REFUSE",
            ),
            "AGENT_NS_ACTION_DENY is missing",
        );
    }

    #[test]
    fn a_changed_field_fails() {
        must_fail(
            header().replace("__u64 read_bytes;", "__u64 bytes_read;"),
            "expected `__u64 read_bytes`",
        );
        must_fail(
            header().replace("__u64 exec_count;", "__u32 exec_count;"),
            "struct agent_ns_counters",
        );
        must_fail(
            header().replace(
                "__u64 openat_count;\n\t__u64 write_bytes;",
                "__u64 write_bytes;\n\t__u64 openat_count;",
            ),
            "field 1",
        );
        must_fail(
            header().replace("__u64 max_exec;", "__u64 max_exec:3;"),
            "unsupported",
        );
        must_fail(
            header().replace("__u64 max_exec;", "__u64 max_exec[2];"),
            "struct agent_ns_budget",
        );
        must_fail(
            header().replace("__u32 reserved;", ""),
            "struct agent_ns_budget",
        );
    }

    #[test]
    fn a_changed_ioctl_fails() {
        must_fail(
            header().replace("_IOR(NSIO, 0x40,", "_IOR(NSIO, 0x43,"),
            "AGENT_NS_GET_INFO",
        );
        must_fail(
            header().replace(
                "_IOR(NSIO, 0x41, struct agent_ns_counters)",
                "_IOR(NSIO, 0x41, struct agent_ns_budget)",
            ),
            "AGENT_NS_GET_COUNTERS",
        );
        must_fail(
            header().replace("_IOR(NSIO, 0x42,", "_IOW(NSIO, 0x42,"),
            "only _IOR",
        );
    }

    #[test]
    fn a_size_that_does_not_match_fails() {
        must_fail(
            header().replace("__u64 exec_count;", "__u64 exec_count;\n\t__u64 more;"),
            "newest size define",
        );
    }

    #[test]
    fn an_appended_version_generates_with_a_warning() {
        let h = header()
            .replace(
                "__u64 exec_count;",
                "__u64 exec_count;\n\t__u64 mmap_count;",
            )
            .replace(
                "#define AGENT_NS_COUNTERS_SIZE_VER1\t72",
                "#define AGENT_NS_COUNTERS_SIZE_VER1\t72\n#define AGENT_NS_COUNTERS_SIZE_VER2\t80",
            );
        let w = generate(&h).expect("an appended field is compatible");
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("mmap_count"));
    }

    /// Checks the generated uapi against what a C compiler makes of the header: every
    /// constant's value, every field's offset and size, and each structure's size. Skipped
    /// (with a message) where no C compiler is installed.
    mod layout {
        use super::super::{self as uapi, AgentNsBudget, AgentNsCounters, FieldLayout};
        use std::process::Command;

        fn c_program() -> String {
            let mut p = format!(
                "#include <stdio.h>\n#include <stddef.h>\n#include \"{}\"\nint main(void)\n{{\n",
                uapi::HEADER_PATH
            );
            for (name, _) in uapi::DEFINES {
                p += &format!(
                    "\tprintf(\"define {name} %llu\\n\", (unsigned long long)({name}));\n"
                );
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
    }
}
