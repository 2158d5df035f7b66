//! One allocator on one workload: fuel per action on a metered instance, pages and
//! `memory.grow` calls, pages after each growth step, and the wall-clock speed of a fresh
//! instance (`main.rs` runs those in rounds over every allocator).

use crate::host::{Engines, Guest, Modules};
use crate::workloads::{Run, Workload};
use std::time::Instant;

/// Median, min and max of a sample.
#[derive(Clone, Copy)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(mut sample: Vec<f64>) -> Spread {
        sample.sort_by(f64::total_cmp);
        let middle = sample.len() / 2;
        let median =
            if sample.len() % 2 == 1 { sample[middle] } else { (sample[middle - 1] + sample[middle]) / 2.0 };
        Spread { median, min: sample[0], max: sample[sample.len() - 1] }
    }
}

pub struct Measurement {
    pub fuel_per_action: f64,
    /// Actions per microsecond, wall clock, over the timed runs.
    pub speed: Spread,
    /// The same, one value per round of fresh instances, in round order (see `main.rs`), so
    /// that allocators can be compared round by round (`paired.rs`).
    pub speed_by_round: Vec<f64>,
    /// Actions per microsecond over the warm-up run, the one in which memory grows (workloads
    /// that warm up only).
    pub first_run: Option<Spread>,
    pub pages_grown: u64,
    pub grow_calls: u64,
    /// Pages grown and `memory.grow` calls made by the warm-up run, from a fresh instance.
    pub first_run_pages: u64,
    pub first_run_grow_calls: u64,
    pub refused_grows: u64,
    /// Every run did all its actions.
    pub complete: bool,
    /// Requests that got null over the warm-up and the timed runs (random-actions draws another
    /// action after each, so the allocator's sequence then differs from the others').
    pub failed_requests: u64,
    /// Pages grown after each step (growth patterns only).
    pub pages_by_step: Vec<u64>,
}

/// How many runs and instances.
#[derive(Clone, Copy)]
pub struct Repeats {
    pub timed_runs: u32,
    pub instances: u32,
}

impl Repeats {
    /// For allocators too slow for more: one instance, one timed run (after the warm-up).
    pub const ONCE: Repeats = Repeats { timed_runs: 1, instances: 1 };

    pub fn timed_runs(self, workload: Workload) -> u32 {
        if workload.warms_up() { self.timed_runs } else { 1 }
    }
}

/// The timed runs, added up: actions, whether all completed, and requests that got null.
pub fn timed_runs(
    guest: &mut Guest,
    workload: Workload,
    runs: u32,
    after_step: &mut dyn FnMut(u64),
) -> wasmtime::Result<Run> {
    let mut total = Run { actions: 0, complete: true, failures: 0 };
    for _ in 0..runs {
        let run = workload.run(guest, after_step)?;
        total.actions += run.actions;
        total.complete &= run.complete;
        total.failures += run.failures;
    }
    Ok(total)
}

/// One run that counts for nothing, if the workload warms up.
pub fn warm_up(guest: &mut Guest, workload: Workload) -> wasmtime::Result<Run> {
    if workload.warms_up() {
        workload.run(guest, &mut |_| {})
    } else {
        Ok(Run { actions: 0, complete: true, failures: 0 })
    }
}

/// The deterministic figures of one allocator on one workload, from one metered instance: fuel
/// per action, pages and growth calls. The speed is left empty: [`speed_sample`] fills it in
/// rounds over all allocators.
pub fn measure_counts(
    engines: &Engines,
    modules: &Modules,
    workload: Workload,
    repeats: Repeats,
) -> wasmtime::Result<Measurement> {
    let runs = repeats.timed_runs(workload);
    let mut guest = engines.metered_guest(modules)?;
    let warm = warm_up(&mut guest, workload)?;
    let (first_run_pages, first_run_grow_calls) = (guest.pages_grown(), guest.store.data().grow_calls);
    let fuel_before = guest.fuel_left()?;
    let mut pages_by_step = Vec::new();
    let timed = timed_runs(&mut guest, workload, runs, &mut |pages| pages_by_step.push(pages))?;
    let fuel_per_action = (fuel_before - guest.fuel_left()?) as f64 / timed.actions.max(1) as f64;
    let counter = guest.store.data();
    let (grow_calls, refused_grows) = (counter.grow_calls, counter.refused);
    let pages_grown = guest.pages_grown();
    Ok(Measurement {
        fuel_per_action,
        speed: Spread { median: f64::NAN, min: f64::NAN, max: f64::NAN },
        speed_by_round: Vec::new(),
        first_run: None,
        pages_grown,
        grow_calls,
        first_run_pages,
        first_run_grow_calls,
        refused_grows,
        complete: warm.complete && timed.complete,
        failed_requests: warm.failures + timed.failures,
        pages_by_step,
    })
}

/// Wall-clock speeds of one fresh, unmetered instance, in actions per microsecond.
pub struct SpeedSample {
    /// The warm-up run, which grows memory; `None` for workloads that do not warm up.
    pub first_run: Option<f64>,
    /// Pages grown during the warm-up run.
    pub first_run_pages: u64,
    /// The timed runs after it.
    pub timed: f64,
}

fn per_microsecond(actions: u64, start: Instant) -> f64 {
    actions as f64 / start.elapsed().as_secs_f64() / 1e6
}

/// The warm-up, then the timed runs, of one fresh, unmetered instance, after `prepare` has had
/// the instance (a no-op but for `first_run::take_apart`).
pub fn speed_sample(
    engines: &Engines,
    modules: &Modules,
    workload: Workload,
    repeats: Repeats,
    prepare: &dyn Fn(&mut Guest) -> wasmtime::Result<()>,
) -> wasmtime::Result<SpeedSample> {
    let mut guest = engines.free_guest(modules)?;
    prepare(&mut guest)?;
    let pages_before = guest.pages_grown();
    let first_run = if workload.warms_up() {
        let start = Instant::now();
        let run = workload.run(&mut guest, &mut |_| {})?;
        Some(per_microsecond(run.actions, start))
    } else {
        None
    };
    let first_run_pages = guest.pages_grown() - pages_before;
    let start = Instant::now();
    let timed = timed_runs(&mut guest, workload, repeats.timed_runs(workload), &mut |_| {})?;
    Ok(SpeedSample { first_run, first_run_pages, timed: per_microsecond(timed.actions, start) })
}

/// Peak live bytes of the workload, from the census build: the same warm-up and runs, counted.
pub fn peak_live_bytes(
    engines: &Engines,
    census: &Modules,
    workload: Workload,
    repeats: Repeats,
) -> wasmtime::Result<u64> {
    let mut guest = engines.metered_guest(census)?;
    guest.call_unit("census_reset")?;
    warm_up(&mut guest, workload)?;
    timed_runs(&mut guest, workload, repeats.timed_runs(workload), &mut |_| {})?;
    guest.call_u64("census_peak")
}
