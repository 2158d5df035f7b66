//! Decides whether the heap may skip its lock: only where no second thread can exist.
//!
//! `cfg(target_feature = "atomics")` cannot decide it: on stable rustc that feature is unstable
//! and hidden from `cfg`, even on `wasm32-wasip1-threads`, whose cfg set equals
//! `wasm32-wasip1`'s. So the plain cell is allowed only for single-threaded wasm targets named
//! here, built without anything in the flags that could turn on atomics. Everything else gets
//! the spin lock.

use std::env;

/// wasm targets that have no threads unless atomics are enabled by flags.
const SINGLE_THREADED_TARGETS: [&str; 4] =
    ["wasm32-unknown-unknown", "wasm32-wasip1", "wasm32-wasip2", "wasm32v1-none"];

fn main() {
    println!("cargo::rustc-check-cfg=cfg(growheap_single_thread)");
    println!("cargo::rerun-if-env-changed=CARGO_ENCODED_RUSTFLAGS");
    let target = env::var("TARGET").unwrap_or_default();
    let features = env::var("CARGO_CFG_TARGET_FEATURE").unwrap_or_default();
    let flags = env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    let may_have_threads = features.split(',').any(|f| f == "atomics")
        || flags.contains("atomics")
        || flags.contains("target-cpu")
        || flags.contains("shared-memory");
    if SINGLE_THREADED_TARGETS.contains(&target.as_str()) && !may_have_threads {
        println!("cargo::rustc-cfg=growheap_single_thread");
    }
}
