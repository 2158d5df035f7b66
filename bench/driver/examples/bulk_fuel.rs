//! What one `memory.copy` and one `memory.fill` cost in wasmtime fuel, by length: run with
//! `cargo run --release -p growheap-bench --example bulk_fuel`.
//!
//! Wasmtime 48 charges bulk-memory operations by the byte. So in random-actions with realloc,
//! the bytes an allocator copies when it moves a block count in its fuel next to its own work,
//! and `alloc_zeroed` pays for every byte it fills.

use wasmtime::{Config, Engine, Instance, Module, Store};

const BULK: &str = r#"(module
  (memory 2)
  (func (export "copy") (param $len i32)
    local.get $len
    i32.const 0
    local.get $len
    memory.copy)
  (func (export "fill") (param $len i32)
    i32.const 0
    i32.const 0
    local.get $len
    memory.fill))"#;

fn main() -> wasmtime::Result<()> {
    let mut config = Config::new();
    config.consume_fuel(true);
    let engine = Engine::new(&config)?;
    let module = Module::new(&engine, BULK)?;
    for operation in ["copy", "fill"] {
        for len in [0, 16, 1000, 10_000, 60_000] {
            let mut store = Store::new(&engine, ());
            store.set_fuel(u64::MAX)?;
            let instance = Instance::new(&mut store, &module, &[])?;
            let bulk = instance.get_typed_func::<i32, ()>(&mut store, operation)?;
            let before = store.get_fuel()?;
            bulk.call(&mut store, len)?;
            println!("memory.{operation} of {len:6} bytes: {:6} fuel", before - store.get_fuel()?);
        }
    }
    Ok(())
}
