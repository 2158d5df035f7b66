//! `growheap-bench meter`: the fuel spent inside the allocator's calls, apart from the workload's
//! own, for guests built with the `metered` feature (`scripts/meter` builds them).
//!
//! Such a guest calls the host when an allocator call begins (`meter.enter(kind, size)`) and when
//! it ends (`meter.leave()`), and the host reads the fuel left at both. What lies between is the
//! allocator's work, exactly and on every workload, small objects too, where the floor cannot
//! stand in (its blocks overlap). The rest is the workload's, which the compiler builds anew
//! around each allocator: the same source can cost more around one allocator than around another.
//! Each call costs about one instruction more inside (the call to `leave`), and the wrapper
//! moves what the compiler inlines, so a metered build's total fuel differs a little from the
//! plain build's that `run` measures: the table gives both figures of the metered build.

use crate::allocators::{self, Allocator, Role};
use crate::context;
use crate::host::{DEFAULT_CAP_PAGES, Engines, GrowCounter};
use crate::measure::{Repeats, timed_runs, warm_up};
use crate::workloads::{self, Workload};
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use wasmtime::{Caller, Linker};

/// The allocators metered when `--only` is not given.
const DEFAULT_ALLOCATORS: &str = "growheap,talc,std-dlmalloc,rlsf,floor";

/// Call kinds, in the order of the guest's `meter::Call`.
const KINDS: [&str; 4] = ["alloc", "alloc_zeroed", "dealloc", "realloc"];
/// Size bands of a call, by its size (the new size for a realloc): growheap's small tier serves
/// up to 128 bytes, and small objects ask for 8 to 256.
const BANDS: [&str; 3] = ["≤ 128 B", "129–256 B", "> 256 B"];

fn band_of(size: u32) -> usize {
    match size {
        0..=128 => 0,
        129..=256 => 1,
        _ => 2,
    }
}

/// What to meter.
pub struct MeterOptions {
    wasm_dir: PathBuf,
    allocators: Vec<&'static Allocator>,
    workloads: Vec<Workload>,
    runs: u32,
    /// The Markdown file to write; standard output if empty.
    out: PathBuf,
    date: String,
    command: String,
}

/// `--wasm DIR [--only A,B] [--workloads W,W] [--runs N] [--out FILE] [--date DATE]
/// [--command TEXT]`.
pub fn parse(args: &[String]) -> Result<MeterOptions, String> {
    let find_all = |text: &str| -> Result<Vec<&'static Allocator>, String> {
        text.split(',')
            .map(|name| allocators::find(name.trim()).ok_or_else(|| format!("unknown allocator {name:?}")))
            .collect()
    };
    let mut options = MeterOptions {
        wasm_dir: PathBuf::new(),
        allocators: find_all(DEFAULT_ALLOCATORS)?,
        workloads: ["random-actions", "random-actions-realloc", "small-objects"]
            .into_iter()
            .filter_map(workloads::find)
            .collect(),
        runs: 5,
        out: PathBuf::new(),
        date: String::from("not given"),
        command: String::from("growheap-bench meter"),
    };
    for pair in args.chunks(2) {
        let [flag, value] = pair else { return Err(format!("{} needs a value", pair[0])) };
        match flag.as_str() {
            "--wasm" => options.wasm_dir = PathBuf::from(value),
            "--only" => options.allocators = find_all(value)?,
            "--workloads" => {
                options.workloads = value
                    .split(',')
                    .map(|key| workloads::find(key.trim()).ok_or_else(|| format!("unknown workload {key:?}")))
                    .collect::<Result<_, _>>()?
            }
            "--out" => options.out = PathBuf::from(value),
            "--date" => options.date = value.clone(),
            "--command" => options.command = value.clone(),
            "--runs" => match value.parse::<u32>() {
                Ok(runs) if runs > 0 => options.runs = runs,
                _ => return Err(format!("--runs: not a positive number: {value}")),
            },
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if options.wasm_dir.as_os_str().is_empty() {
        return Err("meter needs --wasm DIR".into());
    }
    if let Some(allocator) = options.allocators.iter().find(|allocator| !can_meter(allocator.role)) {
        return Err(format!("{} has no metered build", allocator.name));
    }
    Ok(options)
}

/// Builds whose allocator the guest can wrap: not the census, whose wrapper counts for another
/// purpose, nor the build that exports `prepare_heap`, nor null, which serves nothing.
fn can_meter(role: Role) -> bool {
    !matches!(role, Role::Census | Role::Apart | Role::Null)
}

/// Calls and fuel of one kind of call in one size band.
#[derive(Clone, Copy, Default)]
struct Cell {
    calls: u64,
    fuel: u64,
}

/// What the host saw of one guest's calls.
#[derive(Default)]
struct Tally {
    /// Fuel left when the open call began, its kind and band; `None` between calls.
    open: Option<(u64, usize, usize)>,
    cells: [[Cell; BANDS.len()]; KINDS.len()],
}

impl Tally {
    fn inside(&self) -> Cell {
        self.cells.iter().flatten().fold(Cell::default(), |sum, cell| Cell {
            calls: sum.calls + cell.calls,
            fuel: sum.fuel + cell.fuel,
        })
    }
}

/// The `meter` imports, counting into `tally`.
fn meter_linker(engines: &Engines, tally: &Arc<Mutex<Tally>>) -> wasmtime::Result<Linker<GrowCounter>> {
    let mut linker = Linker::new(&engines.metered);
    let on_enter = Arc::clone(tally);
    linker.func_wrap(
        "meter",
        "enter",
        move |caller: Caller<'_, GrowCounter>, kind: u32, size: u32| -> wasmtime::Result<()> {
            let fuel = caller.get_fuel()?;
            let mut tally = on_enter.lock().expect("the meter's lock is never poisoned");
            let kind = usize::try_from(kind).ok().filter(|&kind| kind < KINDS.len());
            match (kind, tally.open) {
                (Some(kind), None) => tally.open = Some((fuel, kind, band_of(size))),
                (None, _) => wasmtime::bail!("meter.enter: unknown call kind"),
                (_, Some(_)) => wasmtime::bail!("meter.enter: a call began inside another"),
            }
            Ok(())
        },
    )?;
    let on_leave = Arc::clone(tally);
    linker.func_wrap("meter", "leave", move |caller: Caller<'_, GrowCounter>| -> wasmtime::Result<()> {
        let fuel = caller.get_fuel()?;
        let mut tally = on_leave.lock().expect("the meter's lock is never poisoned");
        let Some((entered, kind, band)) = tally.open.take() else {
            wasmtime::bail!("meter.leave: no call had begun");
        };
        let cell = &mut tally.cells[kind][band];
        cell.calls += 1;
        cell.fuel += entered - fuel;
        Ok(())
    })?;
    Ok(linker)
}

/// One allocator on one workload: fuel of the counted runs, in all and inside the allocator.
struct Metered {
    allocator: &'static Allocator,
    workload: Workload,
    actions: u64,
    total_fuel: u64,
    tally: Tally,
}

fn meter_one(
    engines: &Engines,
    module: &wasmtime::Module,
    allocator: &'static Allocator,
    workload: Workload,
    runs: u32,
) -> wasmtime::Result<Metered> {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let mut guest = engines.metered_guest_linked(module, &meter_linker(engines, &tally)?)?;
    let warm = warm_up(&mut guest, workload)?;
    *tally.lock().expect("the meter's lock is never poisoned") = Tally::default();
    let fuel_before = guest.fuel_left()?;
    let runs = Repeats { timed_runs: runs, instances: 1 }.timed_runs(workload);
    let timed = timed_runs(&mut guest, workload, runs, &mut |_| {})?;
    if !(warm.complete && timed.complete) || warm.failures + timed.failures > 0 {
        wasmtime::bail!("{} refused a request of {}", allocator.name, workload.key());
    }
    let actions = timed.actions;
    let total_fuel = fuel_before - guest.fuel_left()?;
    drop(guest);
    let tally = std::mem::take(&mut *tally.lock().expect("the meter's lock is never poisoned"));
    if tally.inside().calls == 0 || tally.open.is_some() {
        wasmtime::bail!("{} on {}: the meter saw no complete allocator call", allocator.name, workload.key());
    }
    Ok(Metered { allocator, workload, actions, total_fuel, tally })
}

/// Meter every allocator on every workload it runs, and print the tables as Markdown.
pub fn run(options: &MeterOptions) -> wasmtime::Result<()> {
    let engines = Engines::new(DEFAULT_CAP_PAGES)?;
    let mut rows = Vec::new();
    for &allocator in &options.allocators {
        let path = options.wasm_dir.join(format!("{}.wasm", allocator.name));
        let module = engines.compile_metered(&path)?;
        if !module.imports().any(|import| import.module() == "meter") {
            wasmtime::bail!(
                "{} is not a metered build (cargo build -p growheap-bench-guest --features {},metered; \
                 scripts/meter builds it)",
                path.display(),
                allocator.name
            );
        }
        for &workload in options.workloads.iter().filter(|workload| workload.runs_on(allocator.role)) {
            eprintln!("meter: {:<16} {}", allocator.name, workload.key());
            rows.push(meter_one(&engines, &module, allocator, workload, options.runs)?);
        }
    }
    let markdown = markdown(&rows, options);
    if options.out.as_os_str().is_empty() {
        print!("{markdown}");
    } else {
        std::fs::write(&options.out, markdown)?;
        eprintln!("meter: wrote {}", options.out.display());
    }
    Ok(())
}

fn markdown(rows: &[Metered], options: &MeterOptions) -> String {
    let mut out = String::from("# Fuel inside the allocator and outside it\n\n");
    out += &context::provenance(&options.command, &options.date);
    let _ = writeln!(out, "- {}", context::toolchain());
    out += "- each guest is built with the `metered` feature: its allocator calls the host as each call \
            begins and ends, and the host reads wasmtime's fuel at both (see `bench/README.md`, \
            \"Inside the allocator\")\n";
    let runs = options.runs;
    for workload in &options.workloads {
        let rows: Vec<&Metered> = rows.iter().filter(|row| row.workload == *workload).collect();
        if rows.is_empty() {
            continue;
        }
        out += &format!("\n### {}\n\n", workload.title());
        out += &format!(
            "Fuel of {} counted run{} (after a warm-up run where the workload has one), per action \
             (per object on small objects) and per allocator call.\n\n",
            if workload.warms_up() { runs } else { 1 },
            if workload.warms_up() && runs > 1 { "s" } else { "" }
        );
        out += "| allocator | fuel per action | inside the allocator | outside it | calls per action | inside, per call |\n";
        out += "|---|---|---|---|---|---|\n";
        for row in &rows {
            let inside = row.tally.inside();
            let actions = row.actions.max(1) as f64;
            out += &format!(
                "| {} | {:.1} | {:.1} | {:.1} | {:.3} | {:.1} |\n",
                row.allocator.label,
                row.total_fuel as f64 / actions,
                inside.fuel as f64 / actions,
                (row.total_fuel - inside.fuel) as f64 / actions,
                inside.calls as f64 / actions,
                inside.fuel as f64 / inside.calls.max(1) as f64,
            );
        }
        // Only the kinds and bands some allocator was called with.
        let columns: Vec<(usize, usize)> = (0..KINDS.len())
            .flat_map(|kind| (0..BANDS.len()).map(move |band| (kind, band)))
            .filter(|&(kind, band)| rows.iter().any(|row| row.tally.cells[kind][band].calls > 0))
            .collect();
        out += "\nInside the allocator, fuel per call by kind and size (calls per run):\n\n| allocator |";
        for &(kind, band) in &columns {
            out += &format!(" {} {} |", KINDS[kind], BANDS[band]);
        }
        out += "\n|---|";
        out += &"---|".repeat(columns.len());
        out += "\n";
        let counted_runs = u64::from(if workload.warms_up() { runs } else { 1 });
        for row in &rows {
            out += &format!("| {} |", row.allocator.label);
            for &(kind, band) in &columns {
                let cell = row.tally.cells[kind][band];
                if cell.calls == 0 {
                    out += " – |";
                } else {
                    out += &format!(
                        " {:.1} ({}) |",
                        cell.fuel as f64 / cell.calls as f64,
                        cell.calls / counted_runs
                    );
                }
            }
            out += "\n";
        }
    }
    out
}
