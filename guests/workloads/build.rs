//! A wasm command exports only `_start` and its memory; the host also needs the statistics.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        for symbol in ["growheap_stats", "growheap_epoch"] {
            println!("cargo:rustc-link-arg-bins=--export={symbol}");
        }
    }
}
