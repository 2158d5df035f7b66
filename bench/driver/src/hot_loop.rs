//! `growheap-bench loop`: the timed runs of one guest on one workload and nothing else, for
//! `perf`. `run` also counts fuel, builds the census and takes growheap's first run apart, and a
//! profile of it mixes those in; this runs fresh unmetered instances only, as the speed columns
//! do, and prints their median speed.

use crate::host::{DEFAULT_CAP_PAGES, Engines, Guest};
use crate::measure::{Repeats, Spread, speed_sample};
use crate::workloads::{self, Workload};
use std::path::PathBuf;

/// What to run.
pub struct LoopOptions {
    wasm: PathBuf,
    workload: Workload,
    repeats: Repeats,
}

/// `--wasm FILE --workload W [--runs N] [--instances N]`.
pub fn parse(args: &[String]) -> Result<LoopOptions, String> {
    let (mut wasm, mut workload) = (None, None);
    let mut repeats = Repeats { timed_runs: 20, instances: 3 };
    for pair in args.chunks(2) {
        let [flag, value] = pair else { return Err(format!("{} needs a value", pair[0])) };
        let number = || match value.parse::<u32>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{flag}: not a positive number: {value}")),
        };
        match flag.as_str() {
            "--wasm" => wasm = Some(PathBuf::from(value)),
            "--workload" => {
                workload = Some(workloads::find(value).ok_or(format!("unknown workload {value:?}"))?)
            }
            "--runs" => repeats.timed_runs = number()?,
            "--instances" => repeats.instances = number()?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    match (wasm, workload) {
        (Some(wasm), Some(workload)) if workload.warms_up() => Ok(LoopOptions { wasm, workload, repeats }),
        (Some(_), Some(workload)) => {
            Err(format!("{} runs once per instance: nothing to loop", workload.key()))
        }
        _ => Err("loop needs --wasm FILE and --workload W".into()),
    }
}

/// Run the instances one after the other and print their median speed, with min and max.
pub fn run(options: &LoopOptions) -> wasmtime::Result<()> {
    let engines = Engines::new(DEFAULT_CAP_PAGES)?;
    let modules = engines.compile(&options.wasm)?;
    let no_preparation = |_: &mut Guest| Ok(());
    let mut speeds = Vec::new();
    for _ in 0..options.repeats.instances {
        speeds.push(
            speed_sample(&engines, &modules, options.workload, options.repeats, &no_preparation)?.timed,
        );
    }
    let speed = Spread::of(speeds);
    println!(
        "{} on {}: {:.2} actions/us, median of {} instances of {} timed runs ({:.2}-{:.2})",
        options.wasm.display(),
        options.workload.key(),
        speed.median,
        options.repeats.instances,
        options.repeats.timed_runs,
        speed.min,
        speed.max
    );
    Ok(())
}
