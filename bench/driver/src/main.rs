//! growheap-bench: runs the benchmark guests under wasmtime and writes `results.md` and
//! `chart.svg`. `scripts/bench` builds the guests, measures module sizes and the Node run, then
//! calls this. See `bench/README.md`.
//!
//! ```text
//! growheap-bench list
//! growheap-bench run --wasm DIR --out DIR [--only A,B] [--workloads W,W] [--runs N]
//!                    [--instances N] [--cap-pages N] [--sizes FILE] [--node FILE]
//!                    [--slow A,B] [--seeds N] [--date DATE] [--command TEXT]
//! growheap-bench loop --wasm FILE --workload W [--runs N] [--instances N]
//! growheap-bench layouts --wasm DIR --pads N,N [--only A,B] [--workloads W,W] [--runs N]
//!                        [--seeds N] [--out FILE] [--date DATE] [--command TEXT]
//! growheap-bench meter --wasm DIR [--only A,B] [--workloads W,W] [--runs N]
//! growheap-bench native-costs --callgrind FILE [--map FILE] [--top N]
//! ```
//!
//! `loop` runs only the timed runs of one guest, for `perf` (see `hot_loop.rs`). `layouts`
//! measures guests built with their static data padded, for the noise of a module's layout
//! (see `layouts.rs`; `scripts/layouts` builds them). `meter` counts the fuel spent inside the
//! allocator's calls in guests built to report them (see `meter.rs`; `scripts/meter` builds
//! them). `native-costs` reads a callgrind profile of `loop` and sums its native instructions,
//! mispredicted branches and cache misses by guest function (see `native_costs.rs`).
//!
//! With `GROWHEAP_PERFMAP` set in the environment, the engine that runs the timed runs writes
//! `/tmp/perf-PID.map`, so that `perf report` names the guests' functions (see "Profiling the
//! wasm" in `bench/README.md`).

mod allocators;
mod chart;
mod context;
mod first_run;
mod host;
mod hot_loop;
mod layouts;
mod measure;
mod meter;
mod native_costs;
mod paired;
mod report;
mod seeds;
mod targets;
mod workloads;

use allocators::{ALLOCATORS, Allocator, Role};
use measure::{Measurement, Repeats};
use std::path::PathBuf;
use std::process::ExitCode;
use workloads::{WORKLOADS, Workload};

/// One allocator on one workload.
pub struct Row {
    pub allocator: &'static Allocator,
    pub workload: Workload,
    pub measurement: Measurement,
    pub peak_live_bytes: u64,
}

struct Options {
    wasm_dir: PathBuf,
    out_dir: PathBuf,
    allocators: Vec<&'static Allocator>,
    workloads: Vec<Workload>,
    repeats: Repeats,
    /// Allocators too slow for the full repeats: 1 instance, 1 timed run.
    slow: Vec<&'static Allocator>,
    cap_pages: u64,
    /// Seeds of the random-actions sweep; 0 for none.
    seeds: u32,
    context: context::Context,
}

fn parse_list<T>(text: &str, find: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    text.split(',').map(|name| find(name.trim()).ok_or_else(|| format!("unknown name {name:?}"))).collect()
}

fn parse_options(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        wasm_dir: PathBuf::new(),
        out_dir: PathBuf::from("bench/results"),
        allocators: ALLOCATORS.iter().collect(),
        workloads: WORKLOADS.to_vec(),
        repeats: Repeats { timed_runs: 5, instances: 5 },
        slow: Vec::new(),
        cap_pages: host::DEFAULT_CAP_PAGES,
        seeds: 100,
        context: context::Context::default(),
    };
    let mut pairs = args.chunks(2);
    for pair in &mut pairs {
        let [flag, value] = pair else { return Err(format!("{} needs a value", pair[0])) };
        let number = || value.parse::<u32>().map_err(|_| format!("{flag}: not a number: {value}"));
        match flag.as_str() {
            "--wasm" => options.wasm_dir = PathBuf::from(value),
            "--out" => options.out_dir = PathBuf::from(value),
            "--only" => options.allocators = parse_list(value, allocators::find)?,
            "--workloads" => options.workloads = parse_list(value, workloads::find)?,
            "--slow" => options.slow = parse_list(value, allocators::find)?,
            "--runs" => options.repeats.timed_runs = number()?,
            "--instances" => options.repeats.instances = number()?,
            "--cap-pages" => options.cap_pages = u64::from(number()?),
            "--seeds" => options.seeds = number()?,
            "--sizes" => options.context.sizes = context::read_tsv(value, 1)?,
            "--node" => options.context.node = context::read_tsv(value, 2)?,
            "--date" => options.context.date = value.clone(),
            "--command" => options.context.command = value.clone(),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if options.repeats.instances == 0 || options.repeats.timed_runs == 0 {
        return Err("--runs and --instances must be at least 1".into());
    }
    Ok(options)
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Peer => "peer",
        Role::Floor => "floor",
        Role::Null => "null",
        Role::Census => "census",
        Role::Step(_) => "step",
        Role::Export => "export",
        Role::Apart => "apart",
    }
}

/// The wall-clock instances of one row: the row, its compiled guest, how many instances.
struct Timing {
    row: usize,
    modules: usize,
    repeats: Repeats,
}

fn run(options: &Options) -> wasmtime::Result<()> {
    let engines = host::Engines::new(options.cap_pages)?;
    let wasm = |allocator: &Allocator| options.wasm_dir.join(format!("{}.wasm", allocator.name));
    let census = engines.compile(&wasm(allocators::find("census").expect("census is listed")))?;
    let mut rows = Vec::new();
    let mut compiled = Vec::new();
    let mut timings = Vec::new();
    for &allocator in &options.allocators {
        let workloads: Vec<Workload> =
            options.workloads.iter().copied().filter(|workload| workload.runs_on(allocator.role)).collect();
        if workloads.is_empty() || allocator.role == Role::Census {
            continue;
        }
        compiled.push(engines.compile(&wasm(allocator))?);
        let modules = compiled.len() - 1;
        let slow = options.slow.iter().any(|slow| slow.name == allocator.name);
        let repeats = if slow { Repeats::ONCE } else { options.repeats };
        for workload in workloads {
            eprint!("bench: {:<16} {:<24} ", allocator.name, workload.key());
            let started = std::time::Instant::now();
            let measurement = measure::measure_counts(&engines, &compiled[modules], workload, repeats)
                .map_err(|error| error.context(format!("{} on {}", allocator.name, workload.key())))?;
            let peak_live_bytes = measure::peak_live_bytes(&engines, &census, workload, repeats)?;
            eprintln!(
                "{:>8.1} fuel/action {:>5} pages{} ({:.1}s)",
                measurement.fuel_per_action,
                measurement.pages_grown,
                if measurement.complete { "" } else { "  INCOMPLETE" },
                started.elapsed().as_secs_f64()
            );
            timings.push(Timing { row: rows.len(), modules, repeats });
            rows.push(Row { allocator, workload, measurement, peak_live_bytes });
        }
    }
    time_in_rounds(&engines, &compiled, &timings, &mut rows)?;
    let grow = host::grow_times(&engines.free)?;
    eprintln!("bench: Memory::grow of one page: median {:.2} us, mean {:.2} us", grow.median, grow.mean);
    let first_runs =
        first_run::FirstRuns { wasmtime_grow: grow, apart: take_apart(options, &engines, &rows)? };
    let sweeps = sweep_seeds(options, &engines, &census)?;
    std::fs::create_dir_all(&options.out_dir)?;
    let markdown = report::markdown(
        &rows,
        &sweeps,
        &first_runs,
        &options.context,
        options.repeats,
        &options.slow,
        options.cap_pages,
    );
    std::fs::write(options.out_dir.join("results.md"), markdown)?;
    std::fs::write(options.out_dir.join("chart.svg"), chart::svg(&rows, &options.context))?;
    eprintln!("bench: wrote {}/results.md and chart.svg", options.out_dir.display());
    Ok(())
}

/// Wall clock, side by side: round `k` runs the `k`-th fresh instance of every allocator and
/// workload, each round starting one further along the list. A slow spell of the machine then
/// falls on all allocators alike instead of on the one that happened to be running.
fn time_in_rounds(
    engines: &host::Engines,
    compiled: &[host::Modules],
    timings: &[Timing],
    rows: &mut [Row],
) -> wasmtime::Result<()> {
    let rounds = timings.iter().map(|timing| timing.repeats.instances).max().unwrap_or(0);
    let mut samples: Vec<Vec<measure::SpeedSample>> = (0..timings.len()).map(|_| Vec::new()).collect();
    for round in 0..rounds {
        eprint!("bench: wall clock, round {} of {rounds}: every allocator and workload ", round + 1);
        let started = std::time::Instant::now();
        for offset in 0..timings.len() {
            let index = (offset + round as usize) % timings.len();
            let timing = &timings[index];
            if round < timing.repeats.instances {
                let row = &rows[timing.row];
                let sample = measure::speed_sample(
                    engines,
                    &compiled[timing.modules],
                    row.workload,
                    timing.repeats,
                    &|_| Ok(()),
                )
                .map_err(|error| {
                    error.context(format!("{} on {}, wall clock", row.allocator.name, row.workload.key()))
                })?;
                samples[index].push(sample);
            }
        }
        eprintln!("({:.1}s)", started.elapsed().as_secs_f64());
    }
    for (timing, sample) in timings.iter().zip(samples) {
        let row = &mut rows[timing.row];
        let first_runs: Option<Vec<f64>> = sample.iter().map(|speeds| speeds.first_run).collect();
        row.measurement.first_run = first_runs.map(measure::Spread::of);
        row.measurement.speed_by_round = sample.iter().map(|speeds| speeds.timed).collect();
        row.measurement.speed = measure::Spread::of(row.measurement.speed_by_round.clone());
        eprintln!(
            "bench: {:<16} {:<24} {:>7.2} actions/us (median of {})",
            row.allocator.name,
            row.workload.key(),
            row.measurement.speed.median,
            timing.repeats.instances
        );
    }
    Ok(())
}

/// growheap's first run of random-actions taken apart (see `first_run.rs`), if both ran.
fn take_apart(
    options: &Options,
    engines: &host::Engines,
    rows: &[Row],
) -> wasmtime::Result<Vec<first_run::Apart>> {
    let workloads: Vec<(Workload, u64)> = rows
        .iter()
        .filter(|row| row.allocator.name == allocators::GROWHEAP)
        .filter(|row| matches!(row.workload, Workload::RandomActions { .. }))
        .map(|row| (row.workload, row.measurement.first_run_pages))
        .collect();
    if workloads.is_empty() {
        return Ok(Vec::new());
    }
    eprint!("bench: growheap's first run, taken apart ");
    let started = std::time::Instant::now();
    let modules = engines.compile(&options.wasm_dir.join(format!("{}.wasm", allocators::APART)))?;
    let apart = first_run::take_apart(engines, &modules, &workloads, options.repeats)?;
    eprintln!("({:.1}s)", started.elapsed().as_secs_f64());
    Ok(apart)
}

/// random-actions over `--seeds` other sequences, for every real allocator but the slow ones.
fn sweep_seeds(
    options: &Options,
    engines: &host::Engines,
    census: &host::Modules,
) -> wasmtime::Result<report::Sweeps> {
    let mut sweeps = report::Sweeps { count: options.seeds, runs: Vec::new(), peaks: Vec::new() };
    if options.seeds == 0 {
        return Ok(sweeps);
    }
    let modes = options.workloads.iter().filter_map(|workload| match workload {
        Workload::RandomActions { realloc } => Some(*realloc),
        _ => None,
    });
    for realloc in modes {
        let mode = Workload::RandomActions { realloc }.key();
        eprint!("bench: seeds {:<16} {mode:<24} ", "census");
        sweeps.peaks.push((realloc, seeds::peaks(engines, census, realloc, options.seeds)?));
        eprintln!("{} seeds", options.seeds);
        for &allocator in &options.allocators {
            let slow = options.slow.iter().any(|slow| slow.name == allocator.name);
            if allocator.role != Role::Peer || slow {
                continue;
            }
            eprint!("bench: seeds {:<16} {mode:<24} ", allocator.name);
            let started = std::time::Instant::now();
            let modules = engines.compile(&options.wasm_dir.join(format!("{}.wasm", allocator.name)))?;
            let sweep = seeds::sweep(engines, &modules, allocator, realloc, options.seeds)?;
            let mean = sweep.pages.iter().sum::<u64>() as f64 / sweep.pages.len().max(1) as f64;
            eprintln!("mean {mean:>6.2} pages ({:.1}s)", started.elapsed().as_secs_f64());
            sweeps.runs.push(sweep);
        }
    }
    Ok(sweeps)
}

/// Run a command on its parsed options: exit code 2 for bad options, 1 for a run that failed.
fn finish<O>(options: Result<O, String>, run: impl FnOnce(&O) -> wasmtime::Result<()>) -> ExitCode {
    let options = match options {
        Ok(options) => options,
        Err(message) => {
            eprintln!("growheap-bench: {message}");
            return ExitCode::from(2);
        }
    };
    match run(&options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("growheap-bench: {error:?}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((command, [])) if command == "list" => {
            for allocator in ALLOCATORS {
                println!("{}\t{}", allocator.name, role_name(allocator.role));
            }
            ExitCode::SUCCESS
        }
        Some((command, rest)) if command == "run" => finish(parse_options(rest), run),
        Some((command, rest)) if command == "loop" => finish(hot_loop::parse(rest), hot_loop::run),
        Some((command, rest)) if command == "layouts" => finish(layouts::parse(rest), layouts::run),
        Some((command, rest)) if command == "meter" => finish(meter::parse(rest), meter::run),
        Some((command, rest)) if command == "native-costs" => finish(native_costs::parse(rest), |options| {
            native_costs::run(options).map_err(|message| wasmtime::format_err!("{message}"))
        }),
        _ => {
            eprintln!(
                "usage: growheap-bench list | growheap-bench run --wasm DIR [options] | growheap-bench loop --wasm FILE --workload W [options] | growheap-bench layouts --wasm DIR --pads N,N [options] | growheap-bench meter --wasm DIR [options] | growheap-bench native-costs --callgrind FILE [options] (see bench/README.md)"
            );
            ExitCode::from(2)
        }
    }
}
