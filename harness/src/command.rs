//! `run`: the cargo runner for `wasm32-wasip1`, a WASI p1 command with stdio, args and env.

use wasmtime::{Engine, Linker, Module, Store};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::{self, WasiP1Ctx};

/// Run the command at `path` with `args` after its own path, inheriting stdio and the
/// environment; its exit code.
///
/// # Errors
/// When the module does not load, or traps.
pub fn run_command(path: &str, args: &[String]) -> wasmtime::Result<i32> {
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
