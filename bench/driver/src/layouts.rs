//! `growheap-bench layouts`: the deterministic figures of each allocator's guest built several
//! times with more or less static data, which moves `__heap_base` and with it where the blocks of
//! every run fall relative to page boundaries. The allocator's code is the same in every build,
//! so the spread is how far a figure of `results.md` can move with nothing but the module's
//! layout: the noise a change of one page or a few fuel per action has to rise above.
//! `scripts/layouts` builds the guests (`GROWHEAP_BENCH_PAD`) and calls this.

use crate::allocators::{self, Allocator, Role};
use crate::context;
use crate::host::{DEFAULT_CAP_PAGES, Engines};
use crate::measure::{Repeats, measure_counts};
use crate::report::{header, line};
use crate::seeds;
use crate::workloads::{self, Workload};
use std::fmt::Write;
use std::path::PathBuf;

/// What to build the table from.
pub struct LayoutOptions {
    wasm_dir: PathBuf,
    out: PathBuf,
    allocators: Vec<&'static Allocator>,
    pads: Vec<u32>,
    workloads: Vec<Workload>,
    runs: u32,
    seeds: u32,
    date: String,
    command: String,
}

/// `--wasm DIR --pads N,N [--only A,B] [--workloads W,W] [--runs N] [--seeds N] [--out FILE]
/// [--date D] [--command C]`; the guests are `DIR/NAME.padN.wasm`.
pub fn parse(args: &[String]) -> Result<LayoutOptions, String> {
    let mut options = LayoutOptions {
        wasm_dir: PathBuf::new(),
        out: PathBuf::from("bench/results/layouts.md"),
        allocators: allocators::ALLOCATORS.iter().filter(|allocator| allocator.role == Role::Peer).collect(),
        pads: Vec::new(),
        workloads: workloads::WORKLOADS.to_vec(),
        runs: 5,
        seeds: 20,
        date: String::new(),
        command: String::new(),
    };
    for pair in args.chunks(2) {
        let [flag, value] = pair else { return Err(format!("{} needs a value", pair[0])) };
        let number =
            |text: &str| text.trim().parse::<u32>().map_err(|_| format!("{flag}: not a number: {text}"));
        match flag.as_str() {
            "--wasm" => options.wasm_dir = PathBuf::from(value),
            "--out" => options.out = PathBuf::from(value),
            "--only" => options.allocators = crate::parse_list(value, allocators::find)?,
            "--workloads" => options.workloads = crate::parse_list(value, workloads::find)?,
            "--pads" => options.pads = value.split(',').map(number).collect::<Result<_, _>>()?,
            "--runs" => options.runs = number(value)?.max(1),
            "--seeds" => options.seeds = number(value)?,
            "--date" => options.date = value.clone(),
            "--command" => options.command = value.clone(),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if let Some(other) = options.allocators.iter().find(|allocator| allocator.role != Role::Peer) {
        return Err(format!("{}: layouts compares real allocators only", other.name));
    }
    if options.pads.is_empty() || options.wasm_dir.as_os_str().is_empty() {
        return Err("layouts needs --wasm DIR and --pads N,N".into());
    }
    Ok(options)
}

/// One workload on one build.
struct Figures {
    fuel_per_action: f64,
    pages: u64,
    /// Mean pages over the seeds of the sweep (random-actions with `--seeds` above 0).
    mean_pages: Option<f64>,
    /// Every run, and every seed, did all its actions.
    complete: bool,
}

/// One build of one allocator.
struct Build {
    pad: u32,
    heap_base: Option<u32>,
    /// By workload, in the order of the options.
    figures: Vec<Figures>,
}

/// Measure every build and write the table.
pub fn run(options: &LayoutOptions) -> wasmtime::Result<()> {
    let engines = Engines::new(DEFAULT_CAP_PAGES)?;
    let repeats = Repeats { timed_runs: options.runs, instances: 1 };
    let mut measured = Vec::new();
    for &allocator in &options.allocators {
        let mut builds = Vec::new();
        for &pad in &options.pads {
            let path = options.wasm_dir.join(format!("{}.pad{pad}.wasm", allocator.name));
            let modules = engines.compile(&path)?;
            let heap_base = engines.free_guest(&modules)?.global_u32("__heap_base");
            let mut figures = Vec::new();
            for &workload in &options.workloads {
                let counts = measure_counts(&engines, &modules, workload, repeats)?;
                let (mean_pages, seeds_complete) = match workload {
                    Workload::RandomActions { realloc } if options.seeds > 0 => {
                        let sweep = seeds::sweep(&engines, &modules, allocator, realloc, options.seeds)?;
                        let mean = sweep.pages.iter().sum::<u64>() as f64 / sweep.pages.len() as f64;
                        (Some(mean), sweep.complete)
                    }
                    _ => (None, true),
                };
                figures.push(Figures {
                    fuel_per_action: counts.fuel_per_action,
                    pages: counts.pages_grown,
                    mean_pages,
                    complete: counts.complete && seeds_complete,
                });
            }
            eprintln!(
                "layouts: {:<12} pad {pad:>4}: {}",
                allocator.name,
                figures
                    .iter()
                    .map(|f| format!("{:.1}/{}", f.fuel_per_action, f.pages))
                    .collect::<Vec<_>>()
                    .join(" ")
            );
            builds.push(Build { pad, heap_base, figures });
        }
        measured.push((allocator, builds));
    }
    std::fs::write(&options.out, markdown(options, &measured))?;
    eprintln!("layouts: wrote {}", options.out.display());
    Ok(())
}

/// `min–max` of some figures, or one figure when they agree.
fn spread(values: impl Iterator<Item = f64>, decimals: usize) -> String {
    let (low, high) =
        values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| (low.min(v), high.max(v)));
    if low > high {
        "–".into()
    } else if low == high {
        format!("{low:.decimals$}")
    } else {
        format!("{low:.decimals$}–{high:.decimals$}")
    }
}

fn markdown(options: &LayoutOptions, measured: &[(&Allocator, Vec<Build>)]) -> String {
    let mut out = String::from("# The same allocators at other heap bases\n\n");
    out += &context::provenance(&options.command, &options.date);
    let _ = writeln!(out, "- {}", context::toolchain());
    let pads: Vec<String> = options.pads.iter().map(u32::to_string).collect();
    let _ = writeln!(
        out,
        "- each allocator's guest built {} times, its static data padded by {} bytes (`GROWHEAP_BENCH_PAD`); the allocator's code is the same in every build, only `__heap_base` moves",
        options.pads.len(),
        pads.join(", ")
    );
    let seeds = if options.seeds == 0 {
        String::from("no seeds")
    } else {
        format!("mean pages over seeds 1 to {} of random-actions, one fresh instance each", options.seeds)
    };
    let _ = writeln!(
        out,
        "- figures as in `results.md`: fuel per action over {} timed runs after a warm-up, pages grown by then (growth patterns: one cold run); {seeds}",
        options.runs
    );
    out.push_str("\n## Spread over the layouts\n\n");
    header(&mut out, &["allocator", "workload", "fuel/action", "pages grown", "mean pages over the seeds"]);
    for (allocator, builds) in measured {
        for (index, workload) in options.workloads.iter().enumerate() {
            let figures = || builds.iter().map(move |build| &build.figures[index]);
            let gave_up = figures().any(|f| !f.complete);
            line(
                &mut out,
                &[
                    allocator.label.to_string(),
                    format!("{}{}", workload.key(), if gave_up { " (gave up: out of memory)" } else { "" }),
                    spread(figures().map(|f| f.fuel_per_action), 1),
                    spread(figures().map(|f| f.pages as f64), 0),
                    spread(figures().filter_map(|f| f.mean_pages), 2),
                ],
            );
        }
    }
    out.push_str("\n## By layout\n\nEach cell: fuel per action / pages grown.\n");
    for (allocator, builds) in measured {
        let _ = writeln!(out, "\n### {}\n", allocator.label);
        if builds.windows(2).all(|pair| same_figures(&pair[0], &pair[1])) {
            let bases = builds.iter().filter_map(|build| build.heap_base.map(f64::from));
            let _ = writeln!(
                out,
                "Every figure is the same at every layout (`__heap_base` {}).",
                spread(bases, 0)
            );
            continue;
        }
        let mut columns = vec!["pad (bytes)".to_string(), "`__heap_base`".to_string()];
        columns.extend(options.workloads.iter().map(|workload| workload.key().to_string()));
        header(&mut out, &columns.iter().map(String::as_str).collect::<Vec<_>>());
        for build in builds {
            let mut cells =
                vec![build.pad.to_string(), build.heap_base.map_or("–".into(), |base| base.to_string())];
            cells.extend(build.figures.iter().map(|f| {
                let mark = if f.complete { "" } else { " (gave up: out of memory)" };
                format!("{:.1} / {}{mark}", f.fuel_per_action, f.pages)
            }));
            line(&mut out, &cells);
        }
    }
    out
}

/// Whether two builds gave the same fuel, pages and mean pages on every workload.
fn same_figures(one: &Build, other: &Build) -> bool {
    one.figures.iter().zip(&other.figures).all(|(a, b)| {
        a.fuel_per_action == b.fuel_per_action
            && a.pages == b.pages
            && a.mean_pages == b.mean_pages
            && a.complete == b.complete
    })
}
