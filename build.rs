//! Link-time layout of the release binary: asks the linker to place the functions of the
//! offline commands (`perf/symbol-order.txt`, written by `scripts/symbol-order.sh`) next to
//! each other. The kernel maps text in 64 KiB windows around each page fault, so the same
//! code packed together keeps `claude --auth-status` well under 4 MiB of resident memory.
//!
//! Only where LLD is certain to do the link: x86_64 GNU/Linux release builds whose toolchain
//! ships its own LLD (rustup's, which links with it by default from Rust 1.90 on), when no
//! other linker is configured. The link arguments name that LLD explicitly, so GNU ld never
//! sees an option it does not know. `CLAUDE_SYMBOL_ORDER=0` turns it off. Names the linker
//! does not find are skipped: a stale list costs memory, never a failed build.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=perf/symbol-order.txt");
    println!("cargo:rerun-if-env-changed=CLAUDE_SYMBOL_ORDER");
    if env::var("CLAUDE_SYMBOL_ORDER").as_deref() == Ok("0") {
        return;
    }
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let list = Path::new(&manifest_dir).join("perf/symbol-order.txt");
    if let (Some(lld_dir), true) = (bundled_lld_dir(), list.is_file()) {
        for arg in [
            "-fuse-ld=lld".to_string(),
            format!("-B{}", lld_dir.display()),
            format!("-Wl,--symbol-ordering-file={}", list.display()),
            "-Wl,--no-warn-symbol-ordering".to_string(),
        ] {
            println!("cargo:rustc-link-arg-bin=claude={arg}");
        }
    }
}

/// The directory holding the toolchain's own `ld.lld` driver, when this is a release build
/// for x86_64 GNU/Linux with no linker chosen in RUSTFLAGS or the environment.
fn bundled_lld_dir() -> Option<PathBuf> {
    let var = |name: &str| env::var(name).unwrap_or_default();
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let target = var("TARGET");
    if target != "x86_64-unknown-linux-gnu"
        || var("PROFILE") != "release"
        || flags.contains("linker")
        || flags.contains("fuse-ld")
        || env::var_os("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER").is_some()
    {
        return None;
    }
    let output = Command::new(env::var_os("RUSTC")?)
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let sysroot = String::from_utf8(output.stdout).ok()?;
    let dir = Path::new(sysroot.trim()).join(format!("lib/rustlib/{target}/bin/gcc-ld"));
    dir.join("ld.lld").is_file().then_some(dir)
}
