//! growheap-harness: runs wasm guests under wasmtime.
//!
//! `growheap-harness run GUEST.wasm [ARGS...]` runs a `wasm32-wasip1` command with stdio, args and
//! environment, and exits with its exit code: the cargo runner for `wasm32-wasip1`.

use std::process::ExitCode;
use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::{self, WasiP1Ctx};

fn run_command(path: &str, args: &[String]) -> wasmtime::Result<i32> {
    let engine = Engine::default();
    let module = Module::from_file(&engine, path)?;
    let mut linker: Linker<WasiP1Ctx> = Linker::new(&engine);
    p1::add_to_linker_sync(&mut linker, |ctx| ctx)?;
    let mut argv = vec![path.to_string()];
    argv.extend_from_slice(args);
    let wasi = WasiCtxBuilder::new().inherit_stdio().inherit_env().args(&argv).build_p1();
    let mut store = Store::new(&engine, wasi);
    let instance = linker.instantiate(&mut store, &module)?;
    let start = instance.get_typed_func::<(), ()>(&mut store, "_start")?;
    match start.call(&mut store, ()) {
        Ok(()) => Ok(0),
        Err(error) => match error.downcast_ref::<wasmtime_wasi::I32Exit>() {
            Some(exit) => Ok(exit.0),
            None => Err(error),
        },
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((command, rest)) if command == "run" && !rest.is_empty() => match run_command(&rest[0], &rest[1..]) {
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(error) => {
                eprintln!("growheap-harness: {}: {error:?}", rest[0]);
                ExitCode::from(101)
            }
        },
        _ => {
            eprintln!("usage: growheap-harness run GUEST.wasm [ARGS...]");
            ExitCode::from(2)
        }
    }
}
