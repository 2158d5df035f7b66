//! A guest module instantiated in its own store: plain module, wasip1 command or wasip1 reactor.

use crate::recorder::{Grower, GrowthRecorder, PAGE_BYTES};
use crate::snapshot;
use growheap::Stats;
use std::path::{Path, PathBuf};
use wasmtime::{Engine, Instance, Linker, Memory, Module, Store, Val, ValType, bail};
use wasmtime_wasi::WasiCtxBuilder;
use wasmtime_wasi::p1::{self, WasiP1Ctx};

/// What the store holds for the host.
pub struct HostState {
    wasi: WasiP1Ctx,
    /// The growth log and memory cap.
    pub recorder: GrowthRecorder,
}

/// How to instantiate a guest.
#[derive(Clone, Debug, Default)]
pub struct GuestOptions {
    /// Cap on growth beyond the initial memory, in pages: past it `memory.grow` returns -1.
    pub grow_limit: Option<u64>,
    /// Let the guest write to the host's stdout and stderr.
    pub inherit_stdio: bool,
}

/// An instantiated guest and its memory 0.
pub struct Guest {
    /// Where it was loaded from, for messages.
    pub path: PathBuf,
    /// The store; its data holds the growth log.
    pub store: Store<HostState>,
    instance: Instance,
    memory: Memory,
    /// Pages the module declares for its memory: what it has before any of its code runs. A
    /// growth during instantiation (by a start function) is logged as the guest's.
    pub initial_pages: u64,
    /// Bytes of the initial memory that a heap may claim: from the module's `__heap_base`, if it
    /// exports one, to the end of the initial pages; all of them if it does not.
    pub claimable_bytes: u64,
}

impl Guest {
    /// Compile and instantiate the guest at `path`. WASI p1 imports are provided; other imports
    /// trap if called. A reactor's `_initialize` runs here, after `initial_pages` is taken.
    ///
    /// # Errors
    /// When the file does not compile or instantiate, or exports no memory.
    pub fn load(path: &Path, options: &GuestOptions) -> wasmtime::Result<Guest> {
        let engine = Engine::default();
        let module = Module::from_file(&engine, path)?;
        let declared_pages = exported_memory_minimum(&module)?;
        let mut linker: Linker<HostState> = Linker::new(&engine);
        p1::add_to_linker_sync(&mut linker, |state: &mut HostState| &mut state.wasi)?;
        linker.define_unknown_imports_as_traps(&module)?;
        let mut wasi = WasiCtxBuilder::new();
        wasi.args(&[path.display().to_string()]);
        if options.inherit_stdio {
            wasi.inherit_stdio();
        }
        let max_pages = options.grow_limit.map(|limit| declared_pages.saturating_add(limit));
        let state = HostState { wasi: wasi.build_p1(), recorder: GrowthRecorder::new(max_pages) };
        let mut store = Store::new(&engine, state);
        store.limiter(|state| &mut state.recorder);
        let instance = linker.instantiate(&mut store, &module)?;
        let Some(memory) = instance.get_memory(&mut store, "memory") else {
            bail!("{}: exports no memory named `memory`", path.display());
        };
        // The memory's creation is not a growth; anything grown after it, by a start function, is.
        let requests = &mut store.data_mut().recorder.requests;
        if requests.first().is_some_and(|first| first.current == 0 && first.desired == declared_pages) {
            requests.remove(0);
        }
        let initial_pages = declared_pages;
        let initial_bytes = initial_pages.saturating_mul(PAGE_BYTES as u64);
        let claimable_bytes = match heap_base(&instance, &mut store) {
            Some(base) => initial_bytes.saturating_sub(base),
            None => initial_bytes,
        };
        let mut guest =
            Guest { path: path.to_owned(), store, instance, memory, initial_pages, claimable_bytes };
        if guest.exports("_initialize") {
            guest.call("_initialize")?;
        }
        Ok(guest)
    }

    /// The file name, for messages.
    #[must_use]
    pub fn name(&self) -> String {
        self.path.file_name().unwrap_or(self.path.as_os_str()).to_string_lossy().into_owned()
    }

    /// Whether the guest exports a function called `name`.
    pub fn exports(&mut self, name: &str) -> bool {
        self.instance.get_func(&mut self.store, name).is_some()
    }

    /// How many parameters the exported function `name` takes, if the guest exports it.
    pub fn parameter_count(&mut self, name: &str) -> Option<usize> {
        let func = self.instance.get_func(&mut self.store, name)?;
        Some(func.ty(&self.store).params().len())
    }

    /// Call the exported function `name`, which takes no parameters, and return its results.
    /// A WASI `proc_exit(0)` counts as a normal return.
    ///
    /// # Errors
    /// When there is no such export, it takes parameters, it traps, or it exits non-zero.
    pub fn call(&mut self, name: &str) -> wasmtime::Result<Vec<Val>> {
        let Some(func) = self.instance.get_func(&mut self.store, name) else {
            bail!("{} exports no function `{name}`", self.name());
        };
        let ty = func.ty(&self.store);
        if ty.params().len() != 0 {
            bail!("`{name}` takes parameters; the harness calls only functions without any");
        }
        let mut results: Vec<Val> = ty.results().map(|result| default_value(&result)).collect();
        match func.call(&mut self.store, &[], &mut results) {
            Ok(()) => Ok(results),
            Err(error) => match error.downcast_ref::<wasmtime_wasi::I32Exit>() {
                Some(exit) if exit.0 == 0 => Ok(results),
                _ => Err(error),
            },
        }
    }

    /// Memory size in pages, as the engine sees it.
    pub fn pages(&self) -> u64 {
        self.memory.size(&self.store)
    }

    /// The maximum in pages that the module declares for its memory, if any.
    pub fn maximum_pages(&self) -> Option<u64> {
        self.memory.ty(&self.store).maximum()
    }

    /// The guest's linear memory.
    pub fn memory_bytes(&self) -> &[u8] {
        self.memory.data(&self.store)
    }

    /// The guest's linear memory, writable.
    pub fn memory_bytes_mut(&mut self) -> &mut [u8] {
        self.memory.data_mut(&mut self.store)
    }

    /// Grow memory by `pages` from the host; the old size in pages.
    ///
    /// # Errors
    /// When the growth is refused.
    pub fn grow_from_host(&mut self, pages: u64) -> wasmtime::Result<u64> {
        self.store.data_mut().recorder.grower = Grower::Host;
        let old = self.memory.grow(&mut self.store, pages);
        self.store.data_mut().recorder.grower = Grower::Guest;
        old
    }

    /// Read the heap's statistics through the `growheap_stats` export, which returns an `i32`
    /// address in a wasm32 guest and an `i64` one in a wasm64 (memory64) guest.
    ///
    /// # Errors
    /// When the guest does not export it (build it with the `host-export` feature), or the
    /// snapshot is malformed.
    pub fn read_stats(&mut self) -> wasmtime::Result<Stats> {
        let Some(growheap_stats) = self.instance.get_func(&mut self.store, "growheap_stats") else {
            bail!(
                "{}: no `growheap_stats` export; build it with growheap's `host-export` feature",
                self.name()
            );
        };
        let address = if let Ok(wasm32) = growheap_stats.typed::<(), u32>(&self.store) {
            u64::from(wasm32.call(&mut self.store, ())?)
        } else if let Ok(wasm64) = growheap_stats.typed::<(), u64>(&self.store) {
            wasm64.call(&mut self.store, ())?
        } else {
            bail!("{}: `growheap_stats` must take nothing and return one i32 or i64", self.name());
        };
        let bytes = usize::try_from(address).ok().and_then(|at| self.memory_bytes().get(at..));
        snapshot::decode(bytes.unwrap_or_default())
    }
}

/// The declared minimum pages of the exported memory `memory`.
fn exported_memory_minimum(module: &Module) -> wasmtime::Result<u64> {
    let memory = module.exports().find_map(|export| match export.ty() {
        wasmtime::ExternType::Memory(memory) if export.name() == "memory" => Some(memory),
        _ => None,
    });
    match memory {
        Some(memory) => Ok(memory.minimum()),
        None => bail!("the module exports no memory named `memory`"),
    }
}

/// The module's exported `__heap_base` global (i32 or i64), where the linker put the end of its
/// static data, if it exports one.
fn heap_base(instance: &Instance, store: &mut Store<HostState>) -> Option<u64> {
    match instance.get_global(&mut *store, "__heap_base")?.get(&mut *store) {
        Val::I32(base) => Some(u64::from(base.cast_unsigned())),
        Val::I64(base) => Some(base.cast_unsigned()),
        _ => None,
    }
}

/// A placeholder for a result slot before the call fills it.
fn default_value(ty: &ValType) -> Val {
    Val::default_for_ty(ty).unwrap_or(Val::I32(0))
}
