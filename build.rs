//! Two jobs:
//! - the crate docs: the README without its images, which point into the repository (the
//!   benchmark chart in `bench/results/`), a folder the package leaves out;
//! - whether the heap may skip its lock: only where no second thread can exist.

use std::{env, fs, path::Path, process::Command};

/// wasm targets that have no threads unless atomics are enabled by flags.
const SINGLE_THREADED_TARGETS: [&str; 5] =
    ["wasm32-unknown-unknown", "wasm32-wasip1", "wasm32-wasip2", "wasm32v1-none", "wasm64-unknown-unknown"];

fn main() {
    write_crate_docs();
    decide_lock();
}

/// Write `$OUT_DIR/crate-docs.md`, which `src/lib.rs` includes: the README without the lines
/// that show an image. In rustdoc (and on docs.rs) a relative image path would be broken.
fn write_crate_docs() {
    println!("cargo::rerun-if-changed=README.md");
    let readme = fs::read_to_string("README.md").expect("README.md is in the package");
    let docs: String =
        readme.lines().filter(|line| !line.starts_with("![")).flat_map(|line| [line, "\n"]).collect();
    let out = env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    fs::write(Path::new(&out).join("crate-docs.md"), docs).expect("OUT_DIR is writable");
}

/// Set `cfg(growheap_single_thread)` where the heap may use a plain busy flag instead of a lock.
///
/// `cfg(target_feature = "atomics")` cannot decide it: on stable rustc that feature is unstable
/// and hidden from `cfg`, even on `wasm32-wasip1-threads`, whose cfg set equals
/// `wasm32-wasip1`'s. So the plain flag is allowed only for the single-threaded wasm targets
/// named here, built without anything in the flags that could turn on atomics, and for which
/// rustc itself, asked with those flags, does not list the feature. Everything else gets the
/// spin lock. Flags that never reach a build script (`[profile] rustflags`, `cargo rustc --`, a
/// `RUSTC_WRAPPER`) cannot be seen here; on nightly, which shows `target_feature = "atomics"` in
/// `cfg`, the code checks that too (`src/lock.rs`).
fn decide_lock() {
    println!("cargo::rustc-check-cfg=cfg(growheap_single_thread)");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let target = env::var("TARGET").unwrap_or_default();
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    // rustc takes `-C target_cpu` as `-C target-cpu`, and reads more flags from `@file`.
    let may_have_threads = features.split(',').any(|f| f == "atomics")
        || flags.contains("atomics")
        || flags.contains("target-cpu")
        || flags.contains("target_cpu")
        || flags.contains("shared-memory")
        || flags.split('\x1f').any(|flag| flag.starts_with('@'));
    if SINGLE_THREADED_TARGETS.contains(&target.as_str())
        && !may_have_threads
        && !rustc_lists_atomics(&target, &flags)
    {
        println!("cargo::rustc-cfg=growheap_single_thread");
    }
}

/// Whether rustc, given the build's flags, lists the `atomics` target feature: `--print cfg`
/// shows unstable features only when it may use them, so this one query runs with
/// `RUSTC_BOOTSTRAP=1`. A query that fails counts as a yes.
fn rustc_lists_atomics(target: &str, flags: &str) -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output = Command::new(rustc)
        .env("RUSTC_BOOTSTRAP", "1")
        .args(["--print", "cfg", "--target", target])
        .args(flags.split('\x1f').filter(|flag| !flag.is_empty()))
        .output();
    match output {
        Ok(output) if output.status.success() => {
            String::from_utf8_lossy(&output.stdout).lines().any(|line| line == r#"target_feature="atomics""#)
        }
        _ => true,
    }
}
