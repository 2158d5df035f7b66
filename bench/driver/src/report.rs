//! results.md: the targets, then one table per question (speed, memory, growth, grow step,
//! module size), with the machine and toolchain they were measured on.

use crate::Row;
use crate::allocators::{ALLOCATORS, Allocator, EXPORT, GROWHEAP, Role, STD, TALC};
use crate::context::{self, Context};
use crate::first_run;
use crate::measure::Repeats;
use crate::paired;
use crate::seeds;
use crate::targets::{self, footprint, node_speed, own_cost, row};
use crate::workloads::{WORKLOADS, Workload};
use std::fmt::Write;

pub(crate) fn ratio(mine: Option<f64>, theirs: Option<f64>) -> String {
    match (mine, theirs) {
        (Some(mine), Some(theirs)) if theirs != 0.0 => format!("{:.2}×", mine / theirs),
        _ => "–".into(),
    }
}

fn optional(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "–".into(), |value| format!("{value:.decimals$}"))
}

pub(crate) fn header(out: &mut String, columns: &[&str]) {
    let _ = writeln!(out, "| {} |", columns.join(" | "));
    let _ = writeln!(out, "|{}", "---|".repeat(columns.len()));
}

pub(crate) fn line(out: &mut String, cells: &[String]) {
    let _ = writeln!(out, "| {} |", cells.join(" | "));
}

/// The mark of a row whose allocator refused requests: it gave up, or went on with another
/// stretch of the sequence after each refusal.
pub(crate) fn refusal_mark(m: &crate::measure::Measurement) -> String {
    match (m.complete, m.failed_requests) {
        (false, _) => " (gave up: out of memory)".into(),
        (true, 0) => String::new(),
        (true, failed) => format!(" ({failed} requests refused)"),
    }
}

fn label(row: &Row) -> String {
    let mark = refusal_mark(&row.measurement);
    let name = if row.allocator.name == GROWHEAP {
        format!("**{}**", row.allocator.label)
    } else {
        row.allocator.label.to_string()
    };
    format!("{name}{mark}")
}

fn speed_table(out: &mut String, rows: &[Row], context: &Context, workload: Workload) {
    let _ = writeln!(out, "\n### {}\n", workload.title());
    header(
        out,
        &[
            "allocator",
            "fuel/action",
            "own cost (− floor)",
            "cost ÷ talc",
            "cost ÷ std",
            "actions/µs median (min–max)",
            "÷ talc",
            "÷ std",
            "Node actions/µs (min–max)",
            "Node ÷ talc",
            "Node ÷ std",
        ],
    );
    let speed = |name: &str| row(rows, name, workload).map(|row| row.measurement.speed.median);
    let node = |name: &str| node_speed(context, name, workload);
    for row in rows
        .iter()
        .filter(|row| row.workload == workload && matches!(row.allocator.role, Role::Peer | Role::Floor))
    {
        let name = row.allocator.name;
        let cost = own_cost(rows, name, workload);
        let spread = row.measurement.speed;
        let node_cell = node_spread(context, &format!("{name}\t{}", workload.key()));
        line(
            out,
            &[
                label(row),
                format!("{:.1}", row.measurement.fuel_per_action),
                optional(cost, 1),
                ratio(cost, own_cost(rows, TALC, workload)),
                ratio(cost, own_cost(rows, STD, workload)),
                format!("{:.2} ({:.2}–{:.2})", spread.median, spread.min, spread.max),
                ratio(Some(spread.median), speed(TALC)),
                ratio(Some(spread.median), speed(STD)),
                node_cell,
                ratio(node(name), node(TALC)),
                ratio(node(name), node(STD)),
            ],
        );
    }
}

/// A Node row as "median (min–max)", or "–".
pub(crate) fn node_spread(context: &Context, key: &str) -> String {
    context
        .node
        .get(key)
        .filter(|values| values.len() >= 3)
        .map_or_else(|| "–".into(), |values| format!("{} ({}–{})", values[0], values[1], values[2]))
}

fn memory_table(out: &mut String, rows: &[Row], workload: Workload) {
    let _ = writeln!(out, "\n### {}\n", workload.title());
    header(
        out,
        &[
            "allocator",
            "pages grown",
            "memory.grow calls",
            "peak live bytes",
            "footprint",
            "physical floor (pages)",
            "fuel/action",
            "actions/µs median",
        ],
    );
    for row in rows.iter().filter(|row| row.workload == workload && row.allocator.role == Role::Peer) {
        let m = &row.measurement;
        let refused =
            if m.refused_grows > 0 { format!(" ({} refused)", m.refused_grows) } else { String::new() };
        line(
            out,
            &[
                label(row),
                m.pages_grown.to_string(),
                format!("{}{refused}", m.grow_calls),
                row.peak_live_bytes.to_string(),
                format!("{:.3}", footprint(row)),
                row.peak_live_bytes.div_ceil(crate::host::PAGE_BYTES).to_string(),
                format!("{:.1}", m.fuel_per_action),
                format!("{:.2}", m.speed.median),
            ],
        );
    }
}

fn growth_table(out: &mut String, rows: &[Row]) {
    let growth: Vec<Workload> = WORKLOADS.iter().copied().filter(|workload| workload.is_growth()).collect();
    let mut columns = vec!["allocator".to_string()];
    columns.extend(growth.iter().map(|workload| format!("{}: after step 1 → end", workload.key())));
    header(out, &columns.iter().map(String::as_str).collect::<Vec<_>>());
    for allocator in ALLOCATORS.iter().filter(|allocator| allocator.role == Role::Peer) {
        let mut cells = vec![allocator.label.to_string()];
        for &workload in &growth {
            cells.push(row(rows, allocator.name, workload).map_or_else(
                || "–".into(),
                |row| {
                    format!(
                        "{} → {}{}",
                        row.measurement.pages_by_step.first().copied().unwrap_or(0),
                        row.measurement.pages_grown,
                        refusal_mark(&row.measurement)
                    )
                },
            ));
        }
        if cells.len() > 1 && cells[1..].iter().any(|cell| cell != "–") {
            line(out, &cells);
        }
    }
}

fn step_table(out: &mut String, rows: &[Row]) {
    header(
        out,
        &[
            "workload",
            "min_grow_pages",
            "memory.grow calls",
            "pages grown",
            "fuel/action",
            "actions/µs median",
        ],
    );
    for &workload in WORKLOADS {
        for allocator in ALLOCATORS
            .iter()
            .filter(|allocator| matches!(allocator.role, Role::Step(_)) || allocator.name == GROWHEAP)
        {
            let Some(row) = row(rows, allocator.name, workload) else { continue };
            let step = if let Role::Step(pages) = allocator.role { pages } else { 1 };
            let m = &row.measurement;
            line(
                out,
                &[
                    format!("{}{}", workload.key(), refusal_mark(m)),
                    step.to_string(),
                    m.grow_calls.to_string(),
                    m.pages_grown.to_string(),
                    format!("{:.1}", m.fuel_per_action),
                    format!("{:.2}", m.speed.median),
                ],
            );
        }
    }
}

fn export_table(out: &mut String, rows: &[Row]) {
    header(
        out,
        &[
            "workload",
            "fuel/action",
            "with host-export",
            "difference",
            "actions/µs median",
            "with host-export",
        ],
    );
    for &workload in WORKLOADS {
        let (Some(plain), Some(export)) = (row(rows, GROWHEAP, workload), row(rows, EXPORT, workload)) else {
            continue;
        };
        let (plain, export) = (&plain.measurement, &export.measurement);
        line(
            out,
            &[
                format!("{}{}{}", workload.key(), refusal_mark(plain), refusal_mark(export)),
                format!("{:.1}", plain.fuel_per_action),
                format!("{:.1}", export.fuel_per_action),
                format!("{:+.1}", export.fuel_per_action - plain.fuel_per_action),
                format!("{:.2}", plain.speed.median),
                format!("{:.2}", export.speed.median),
            ],
        );
    }
}

fn size_table(out: &mut String, context: &Context) {
    header(out, &["allocator", "bytes after wasm-opt -Oz", "over null"]);
    let bytes = |name: &str| context.sizes.get(name).and_then(|values| values.first()?.parse::<i64>().ok());
    let null = bytes("null");
    // growheap's two builds first, then the others in their usual order.
    let ours = |allocator: &&Allocator| allocator.name == GROWHEAP || allocator.name == EXPORT;
    for allocator in ALLOCATORS.iter().filter(ours).chain(ALLOCATORS.iter().filter(|a| !ours(a))) {
        let Some(size) = bytes(allocator.name) else { continue };
        let delta = null.map_or_else(|| "–".into(), |null| (size - null).to_string());
        let label = match allocator.name {
            GROWHEAP => {
                format!("**{}** (default features; the module exports a copy of `stats()`)", allocator.label)
            }
            EXPORT => format!("{} (`growheap_stats` and `growheap_epoch`)", allocator.label),
            _ => allocator.label.into(),
        };
        line(out, &[label, size.to_string(), delta]);
    }
}

/// The random-actions sweep over many seeds (see `seeds.rs`).
pub struct Sweeps {
    pub count: u32,
    pub runs: Vec<seeds::Sweep>,
    /// Peak live bytes by seed, for each mode swept.
    pub peaks: Vec<(bool, Vec<u64>)>,
}

fn seeds_table(out: &mut String, sweeps: &Sweeps, realloc: bool) {
    let Some((_, peaks)) = sweeps.peaks.iter().find(|(mode, _)| *mode == realloc) else { return };
    let runs: Vec<&seeds::Sweep> = sweeps.runs.iter().filter(|sweep| sweep.realloc == realloc).collect();
    let growheap = runs.iter().find(|sweep| sweep.allocator.name == GROWHEAP);
    let _ = writeln!(out, "\n### {}\n", Workload::RandomActions { realloc }.title());
    header(
        out,
        &[
            "allocator",
            "mean pages grown",
            "mean footprint",
            "seeds with footprint ≤ 1.07",
            "seeds where it grows more / as many / fewer pages than growheap",
        ],
    );
    let n = peaks.len().max(1) as f64;
    for sweep in &runs {
        let mean_pages = sweep.pages.iter().sum::<u64>() as f64 / n;
        let footprints: Vec<f64> = sweep
            .pages
            .iter()
            .zip(peaks)
            .map(|(&pages, &peak)| (pages * crate::host::PAGE_BYTES) as f64 / peak.max(1) as f64)
            .collect();
        let mean_footprint = footprints.iter().sum::<f64>() / n;
        let tight = footprints.iter().filter(|&&f| f <= targets::FOOTPRINT_GOAL).count();
        let against = match growheap {
            Some(growheap) if sweep.allocator.name != GROWHEAP => {
                let pairs = || sweep.pages.iter().zip(&growheap.pages);
                format!(
                    "{} / {} / {}",
                    pairs().filter(|(theirs, ours)| theirs > ours).count(),
                    pairs().filter(|(theirs, ours)| theirs == ours).count(),
                    pairs().filter(|(theirs, ours)| theirs < ours).count()
                )
            }
            _ => "–".into(),
        };
        let mark = if sweep.complete { "" } else { " (out of memory on some seeds: requests refused)" };
        let name = if sweep.allocator.name == GROWHEAP {
            format!("**{}**", sweep.allocator.label)
        } else {
            sweep.allocator.label.to_string()
        };
        line(
            out,
            &[
                format!("{name}{mark}"),
                format!("{mean_pages:.2}"),
                format!("{mean_footprint:.3}"),
                format!("{tight} of {}", peaks.len()),
                against,
            ],
        );
    }
}

fn targets_table(out: &mut String, rows: &[Row], context: &Context) {
    header(out, &["target", "goal", "growheap", "met"]);
    for target in targets::check(rows, context) {
        let met = match target.met {
            Some(true) => "yes",
            Some(false) => "**no**",
            None => "–",
        };
        line(out, &[target.what, target.goal, target.measured, met.into()]);
    }
}

pub fn markdown(
    rows: &[Row],
    sweeps: &Sweeps,
    first_runs: &first_run::FirstRuns,
    context: &Context,
    repeats: Repeats,
    slow: &[&Allocator],
    cap_pages: u64,
) -> String {
    let mut out = String::from("# growheap benchmark results\n\n");
    out += &context::provenance(&context.command, &context.date);
    let _ = writeln!(
        out,
        "- {}; Node {}",
        context::toolchain(),
        context
            .node
            .get("node\tversion")
            .and_then(|values| values.first().cloned())
            .unwrap_or_else(|| "not run".into())
    );
    let _ = writeln!(
        out,
        "- speed: 1 warm-up run, then {} timed runs per instance; wall clock is the median of {} fresh instances (min–max), run in rounds over every allocator and workload (under Node, each module first runs once on a throwaway instance); growth patterns run once, cold",
        repeats.timed_runs, repeats.instances
    );
    if !slow.is_empty() {
        let names: Vec<&str> = slow.iter().map(|allocator| allocator.name).collect();
        let _ = writeln!(
            out,
            "- too slow for that (seconds per run): {} get 1 instance of 1 warm-up + 1 timed run, under wasmtime and Node",
            names.join(", ")
        );
    }
    let node_cap = context.node.get("node\tmax-pages").and_then(|values| values.first().cloned());
    let _ = writeln!(
        out,
        "- every instance may grow to {cap_pages} pages ({} MiB); past that `memory.grow` fails under wasmtime{}",
        (cap_pages * crate::host::PAGE_BYTES) >> 20,
        node_cap.map_or_else(String::new, |pages| format!(", and under Node, where the guests' memories have no maximum, a run that ends past {pages} pages counts as out of memory"))
    );
    out.push_str("\n## growheap against the issue's targets\n\n");
    targets_table(&mut out, rows, context);
    out.push_str("\n## Speed: random-actions\n\nFuel is wasmtime's deterministic instruction count; own cost subtracts the workload floor (the same workload over an allocator that does nothing).\n");
    for realloc in [false, true] {
        speed_table(&mut out, rows, context, Workload::RandomActions { realloc });
    }
    paired::table(&mut out, rows, context);
    out.push_str("\n## Memory\n\nFootprint = pages grown × 65536 ÷ peak live bytes; the physical floor is ceil(peak live ÷ 65536). Peak live bytes are counted by the workload (the census build, which refuses nothing) over as many runs as the allocator ran: the same for every allocator run the full number of times, and for an allocator run fewer times (the slow ones above) the peak of its runs. An allocator marked with refused requests drew other actions after each refusal, so its own peak differs.\n");
    for &workload in WORKLOADS {
        memory_table(&mut out, rows, workload);
    }
    if !sweeps.runs.is_empty() {
        let _ = writeln!(
            out,
            "\n## Memory: random-actions over {} other seeds\n\nThe tables above run the benchmark's one fixed sequence. Here each allocator runs the sequences of fastrand seeds 1 to {}, each once on a fresh instance (no warm-up); footprint is taken per seed and averaged.{}",
            sweeps.count,
            sweeps.count,
            if slow.is_empty() {
                String::new()
            } else {
                let names: Vec<&str> = slow.iter().map(|allocator| allocator.name).collect();
                format!(" Left out, too slow for this: {}.", names.join(", "))
            }
        );
        for realloc in [false, true] {
            seeds_table(&mut out, sweeps, realloc);
        }
    }
    out.push_str("\n## Growth patterns: pages grown after the first step and at the end\n\n");
    growth_table(&mut out, rows);
    out.push_str("\n## growheap's `min_grow_pages`: fewer `memory.grow` calls, at what cost in pages\n\n");
    step_table(&mut out, rows);
    first_run::section(&mut out, rows, context, first_runs);
    out.push_str("\n## growheap's `host-export`: what the snapshot for hosts costs\n\nWith the feature, every call rewrites the snapshot words it changed (all of them after a growth, a failure, or a call served by another heap than the call before).\n\n");
    export_table(&mut out, rows);
    let wasm_opt = context
        .sizes
        .get("wasm-opt")
        .and_then(|values| values.first().cloned())
        .unwrap_or_else(|| "version not recorded".into());
    let _ = write!(
        out,
        "\n## Module size (talc's method)\n\nA `no_std` cdylib exporting `alloc`, `dealloc`, `realloc` (align 8), built as `bench/README.md` says, then `wasm-opt -Oz` ({wasm_opt}). The totals include the `producers` and `target_features` sections that wasm-opt keeps, whose size depends on its version; the deltas over null hardly do.\n\n"
    );
    size_table(&mut out, context);
    out.push_str("\n![pages over time and speed](chart.svg)\n");
    out
}
