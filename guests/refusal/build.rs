//! The linker exports `__heap_base` from a wasm32 cdylib but not from a memory64 one, and the host
//! holds the heap's claim on the initial memory to the bytes above it.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm64") {
        println!("cargo:rustc-link-arg-cdylib=--export=__heap_base");
    }
}
