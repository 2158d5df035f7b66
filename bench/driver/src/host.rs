//! The wasmtime side: two engines (one counting fuel, one running free for wall-clock time), a
//! limiter that counts `memory.grow` calls and caps memory, and typed access to a guest.

use std::time::Instant;
use wasmtime::{Config, Engine, Instance, Linker, Memory, Module, ResourceLimiter, Store};

pub const PAGE_BYTES: u64 = 65536;
/// Pages every instance may grow to unless `--cap-pages` says otherwise (256 MiB).
pub const DEFAULT_CAP_PAGES: u64 = 4096;
/// Fuel the metered store starts with: far more than any workload burns.
const FUEL_BUDGET: u64 = u64::MAX / 2;

/// Counts growths of linear memory after instantiation and refuses growth past a cap.
pub struct GrowCounter {
    cap_bytes: usize,
    armed: bool,
    pub grow_calls: u64,
    pub refused: u64,
}

impl ResourceLimiter for GrowCounter {
    fn memory_growing(&mut self, current: usize, desired: usize, _: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.cap_bytes {
            self.refused += 1;
            return Ok(false);
        }
        if self.armed && desired > current {
            self.grow_calls += 1;
        }
        Ok(true)
    }

    fn table_growing(&mut self, _: usize, _: usize, _: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}

/// Time of one growth of memory by one page, in µs: median, mean and max.
pub struct GrowTimes {
    pub median: f64,
    pub mean: f64,
    pub max: f64,
}

/// Time `Memory::grow` by one page from the host on the unmetered engine, as the Node script
/// times `WebAssembly.Memory.prototype.grow`: 20 fresh instances of a module that holds only a
/// memory of the guests' kind (no maximum), each grown from 1 page to 128.
pub fn grow_times(engine: &Engine) -> wasmtime::Result<GrowTimes> {
    let module = Module::new(engine, r#"(module (memory (export "memory") 1))"#)?;
    let mut times = Vec::new();
    for _ in 0..20 {
        let mut store = Store::new(engine, ());
        let instance = Instance::new(&mut store, &module, &[])?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| wasmtime::format_err!("the module exports no memory"))?;
        for _ in 1..128 {
            let start = Instant::now();
            memory.grow(&mut store, 1)?;
            times.push(start.elapsed().as_secs_f64() * 1e6);
        }
    }
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    let spread = crate::measure::Spread::of(times);
    Ok(GrowTimes { median: spread.median, mean, max: spread.max })
}

/// One guest compiled for both engines.
pub struct Modules {
    pub metered: Module,
    pub free: Module,
}

/// The two engines and the memory cap every instance gets.
pub struct Engines {
    pub metered: Engine,
    pub free: Engine,
    pub cap_pages: u64,
}

impl Engines {
    pub fn new(cap_pages: u64) -> wasmtime::Result<Self> {
        let mut metered = Config::new();
        metered.consume_fuel(true);
        let mut free = Config::new();
        // For `perf`: a map from the compiled code's addresses to the guests' function names.
        if std::env::var_os("GROWHEAP_PERFMAP").is_some() {
            free.profiler(wasmtime::ProfilingStrategy::PerfMap);
        }
        Ok(Engines { metered: Engine::new(&metered)?, free: Engine::new(&free)?, cap_pages })
    }

    pub fn compile(&self, path: &std::path::Path) -> wasmtime::Result<Modules> {
        let bytes =
            std::fs::read(path).map_err(|error| wasmtime::format_err!("{}: {error}", path.display()))?;
        Ok(Modules { metered: Module::new(&self.metered, &bytes)?, free: Module::new(&self.free, &bytes)? })
    }

    pub fn metered_guest(&self, modules: &Modules) -> wasmtime::Result<Guest> {
        Guest::new(&self.metered, &modules.metered, true, self.cap_pages)
    }

    /// A guest for the metered engine alone, compiled once.
    pub fn compile_metered(&self, path: &std::path::Path) -> wasmtime::Result<Module> {
        Module::from_file(&self.metered, path)
    }

    /// A metered instance of `module` (from [`compile_metered`](Self::compile_metered)) whose
    /// imports `linker` defines.
    pub fn metered_guest_linked(
        &self,
        module: &Module,
        linker: &Linker<GrowCounter>,
    ) -> wasmtime::Result<Guest> {
        Guest::linked(linker, module, true, self.cap_pages)
    }

    pub fn free_guest(&self, modules: &Modules) -> wasmtime::Result<Guest> {
        Guest::new(&self.free, &modules.free, false, self.cap_pages)
    }
}

/// One fresh instance of a guest.
pub struct Guest {
    pub store: Store<GrowCounter>,
    instance: Instance,
    memory: Memory,
    initial_pages: u64,
}

impl Guest {
    /// Instantiate `module`, which imports nothing; `metered` must say whether `engine` counts
    /// fuel.
    pub fn new(engine: &Engine, module: &Module, metered: bool, cap_pages: u64) -> wasmtime::Result<Self> {
        Self::linked(&Linker::new(engine), module, metered, cap_pages)
    }

    /// Instantiate `module` with the imports `linker` defines; `metered` must say whether the
    /// linker's engine counts fuel.
    pub fn linked(
        linker: &Linker<GrowCounter>,
        module: &Module,
        metered: bool,
        cap_pages: u64,
    ) -> wasmtime::Result<Self> {
        let limiter = GrowCounter {
            cap_bytes: usize::try_from(cap_pages * PAGE_BYTES)?,
            armed: false,
            grow_calls: 0,
            refused: 0,
        };
        let mut store = Store::new(linker.engine(), limiter);
        store.limiter(|counter| counter);
        if metered {
            store.set_fuel(FUEL_BUDGET)?;
        }
        let instance = linker.instantiate(&mut store, module)?;
        let memory = instance
            .get_memory(&mut store, "memory")
            .ok_or_else(|| wasmtime::format_err!("guest exports no memory"))?;
        let initial_pages = memory.size(&store);
        store.data_mut().armed = true;
        Ok(Guest { store, instance, memory, initial_pages })
    }

    /// The value of an exported `i32` global, such as the linker's `__heap_base`.
    pub fn global_u32(&mut self, name: &str) -> Option<u32> {
        let global = self.instance.get_global(&mut self.store, name)?;
        global.get(&mut self.store).i32().map(|value| value as u32)
    }

    pub fn pages_grown(&self) -> u64 {
        self.memory.size(&self.store) - self.initial_pages
    }

    pub fn fuel_left(&self) -> wasmtime::Result<u64> {
        self.store.get_fuel()
    }

    pub fn call0(&mut self, name: &str) -> wasmtime::Result<u32> {
        let function = self.instance.get_typed_func::<(), u32>(&mut self.store, name)?;
        function.call(&mut self.store, ())
    }

    pub fn call1(&mut self, name: &str, argument: u32) -> wasmtime::Result<u32> {
        let function = self.instance.get_typed_func::<u32, u32>(&mut self.store, name)?;
        function.call(&mut self.store, argument)
    }

    pub fn call2(&mut self, name: &str, first: u32, second: u32) -> wasmtime::Result<u32> {
        let function = self.instance.get_typed_func::<(u32, u32), u32>(&mut self.store, name)?;
        function.call(&mut self.store, (first, second))
    }

    pub fn call_unit(&mut self, name: &str) -> wasmtime::Result<()> {
        let function = self.instance.get_typed_func::<(), ()>(&mut self.store, name)?;
        function.call(&mut self.store, ())
    }

    pub fn call_u64(&mut self, name: &str) -> wasmtime::Result<u64> {
        let function = self.instance.get_typed_func::<(), u64>(&mut self.store, name)?;
        function.call(&mut self.store, ())
    }
}
