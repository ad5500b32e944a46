// SPDX-License-Identifier: GPL-2.0
//! Generates the uapi constants and structures of `src/uapi.rs` from
//! `include/uapi/linux/agent_namespaces.h`, so that they cannot drift from the header, and
//! fails the build when the header changed shape (see `uapi_gen.rs` for what is checked).
//!
//! `AGENTNS_UAPI_HEADER` overrides the header's path.

use std::env;
use std::fs;
use std::path::PathBuf;

#[allow(dead_code)]
mod uapi_gen {
    include!("uapi_gen.rs");
}

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    println!("cargo:rerun-if-changed=uapi_gen.rs");
    println!("cargo:rerun-if-env-changed=AGENTNS_UAPI_HEADER");
    let header = env::var_os("AGENTNS_UAPI_HEADER")
        .map(PathBuf::from)
        .unwrap_or_else(|| manifest.join("../../../include/uapi/linux/agent_namespaces.h"));
    println!("cargo:rerun-if-changed={}", header.display());
    let header = match header.canonicalize() {
        Ok(h) => h,
        Err(e) => panic!(
            "cannot find the uapi header {} ({e}); set AGENTNS_UAPI_HEADER",
            header.display()
        ),
    };
    println!(
        "cargo:rustc-env=AGENTNS_UAPI_HEADER_PATH={}",
        header.display()
    );
    let raw = fs::read_to_string(&header)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", header.display()));
    let (code, warnings) =
        uapi_gen::generate(&raw, &header.display().to_string()).unwrap_or_else(|e| {
            panic!(
                "{} changed shape: {e}\nUpdate tools/agentns/lib/uapi_gen.rs (and the library) \
                 to the new ABI.",
                header.display()
            )
        });
    for w in warnings {
        println!("cargo:warning={w}");
    }
    let dest = PathBuf::from(env::var("OUT_DIR").expect("cargo sets it")).join("uapi_generated.rs");
    fs::write(&dest, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", dest.display()));
}
