//! Link-time layout of the release binary, for less resident memory at every start: packed
//! relative relocations (DT_RELR: the loader touches ~300 KiB less) and the functions
//! of the offline commands (`perf/symbol-order.txt`, written by `scripts/symbol-order.sh`)
//! placed next to each other (the kernel maps text in 64 KiB windows around each page
//! fault). Together they keep `claude --auth-status` well under 4 MiB.
//!
//! Release builds only, and only where LLD is certain to do the link: x86_64 or aarch64
//! GNU/Linux with the toolchain's own LLD (rustup ships it) and no other linker chosen in
//! RUSTFLAGS or the cargo configuration. The link arguments name that LLD explicitly, so GNU
//! ld never sees an option it may not know. Everything else (`cargo build`, `cargo test`,
//! other targets, a custom linker) links the default way with whatever linker is installed.
//! The examples (the bench's bare clap baseline) get DT_RELR too, never the function order.
//!
//! Off switches: `CLAUDE_SYMBOL_ORDER=0` (the function order) and `CLAUDE_RELR=0` (DT_RELR,
//! for a binary that must run on glibc older than 2.36). Names the linker does not find are
//! skipped: a stale list costs memory, never a failed build.

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The first glibc that loads DT_RELR binaries; older ones refuse to start them.
const RELR_GLIBC: (u32, u32) = (2, 36);

fn main() {
    println!("cargo:rerun-if-changed=perf/symbol-order.txt");
    for var in [
        "CLAUDE_SYMBOL_ORDER",
        "CLAUDE_RELR",
        "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER",
        "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let Some(lld_dir) = bundled_lld_dir() else {
        return;
    };
    let off = |name: &str| env::var(name).as_deref() == Ok("0");
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let list = Path::new(&manifest_dir).join("perf/symbol-order.txt");
    let order = !off("CLAUDE_SYMBOL_ORDER") && list.is_file();
    let relr = !off("CLAUDE_RELR") && host_glibc_loads_relr();
    if !order && !relr {
        return;
    }
    let lld = [
        "-fuse-ld=lld".to_string(),
        format!("-B{}", lld_dir.display()),
    ];
    let relr_arg = "-Wl,-z,pack-relative-relocs".to_string();
    let mut bins = lld.to_vec();
    if order {
        bins.push(format!("-Wl,--symbol-ordering-file={}", list.display()));
        bins.push("-Wl,--no-warn-symbol-ordering".to_string());
    }
    if relr {
        bins.push(relr_arg.clone());
        // scripts/bench.sh measures `claude` against the bare clap example: the same
        // relocation format on both sides keeps that comparison like for like.
        for arg in lld.iter().chain([&relr_arg]) {
            println!("cargo:rustc-link-arg-examples={arg}");
        }
    }
    for arg in bins {
        println!("cargo:rustc-link-arg-bins={arg}");
    }
}

/// The directory holding the toolchain's own `ld.lld` driver, when this is a release build
/// for x86_64 or aarch64 GNU/Linux with no linker chosen in RUSTFLAGS or the configuration.
fn bundled_lld_dir() -> Option<PathBuf> {
    let var = |name: &str| env::var(name).unwrap_or_default();
    let flags = var("CARGO_ENCODED_RUSTFLAGS");
    let target = var("TARGET");
    // `PROFILE` is `release` for every profile that inherits from release (bench, dist…).
    if !matches!(
        target.as_str(),
        "x86_64-unknown-linux-gnu" | "aarch64-unknown-linux-gnu"
    ) || var("PROFILE") != "release"
        || flags.contains("linker")
        || flags.contains("fuse-ld")
        // Cargo sets RUSTC_LINKER from `target.<triple>.linker` and CARGO_TARGET_…_LINKER.
        || env::var_os("RUSTC_LINKER").is_some()
    {
        return None;
    }
    let output = Command::new(env::var_os("RUSTC")?)
        .args(["--print", "sysroot"])
        .output()
        .ok()?;
    let sysroot = String::from_utf8(output.stdout).ok()?;
    // Only the host's own rustlib has `bin/`: a cross build finds nothing and stands aside.
    let dir = Path::new(sysroot.trim()).join(format!("lib/rustlib/{target}/bin/gcc-ld"));
    dir.join("ld.lld").is_file().then_some(dir)
}

/// False when the binary is built for this very machine and its glibc is older than 2.36:
/// a DT_RELR binary would not even start where it was built. A cross build cannot see the
/// target's glibc and keeps DT_RELR (`CLAUDE_RELR=0` turns it off).
fn host_glibc_loads_relr() -> bool {
    if env::var("HOST") != env::var("TARGET") {
        return true;
    }
    let Ok(output) = Command::new("getconf").arg("GNU_LIBC_VERSION").output() else {
        return true;
    };
    // "glibc 2.36"
    let text = String::from_utf8_lossy(&output.stdout);
    let Some(version) = text.trim().strip_prefix("glibc ") else {
        return true;
    };
    let mut numbers = version.split('.').map(|n| n.parse::<u32>().unwrap_or(0));
    let found = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    if found < RELR_GLIBC {
        println!(
            "cargo:warning=glibc {version} here predates DT_RELR (2.36): \
             the release binary is linked without packed relocations"
        );
        return false;
    }
    true
}
