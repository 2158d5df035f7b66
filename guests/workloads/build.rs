//! A wasm command exports only `_start` and its memory; the host also needs the statistics. And
//! the initial memory of the module, when a feature asks for one (see Cargo.toml): a link
//! argument of this package alone, where `RUSTFLAGS` would reach every crate of the build.

use std::env;

fn main() {
    // The linker exports `__heap_base` from a wasm32 cdylib but not from a memory64 one, and the
    // host holds the heap's claim on the initial memory to the bytes above it.
    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm64") {
        println!("cargo:rustc-link-arg-cdylib=--export=__heap_base");
    }
    if env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        for symbol in ["growheap_stats", "growheap_epoch"] {
            println!("cargo:rustc-link-arg-bins=--export={symbol}");
        }
        for (feature, pages) in [("INITIAL_65536_PAGES", 65_536u64), ("INITIAL_65535_PAGES", 65_535)] {
            if env::var_os(format!("CARGO_FEATURE_{feature}")).is_some() {
                println!("cargo:rustc-link-arg-cdylib=--initial-memory={}", pages * 65_536);
            }
        }
    }
}
