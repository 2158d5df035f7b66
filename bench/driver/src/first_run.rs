//! The first run of each fresh instance, the one in which memory grows. The speed tables time
//! the runs after it, so this is where growth shows: for every allocator, the first run beside
//! the timed runs of the same instances, and for growheap, the first run taken apart.
//!
//! Taken apart, growheap's fresh instances start in one of three ways ([`Start`]) before their
//! first run of random-actions, so that the `memory.grow` calls and the first writes to the
//! grown pages are timed apart: as is (the run grows memory); with memory grown beforehand by
//! the guest's `prepare_heap` (`GrowHeap::reserve`), so that the run grows nothing but is the
//! first to write to those pages; or grown and written once every 4 KiB beforehand, so that the
//! host has backed every page before the run. They run the `growheap-apart` build, which has
//! `prepare_heap`; the `growheap` build the other tables measure does not.

use crate::Row;
use crate::allocators::{ALLOCATORS, GROWHEAP, Role};
use crate::context::Context;
use crate::host::{Engines, GrowTimes, Guest, Modules, PAGE_BYTES};
use crate::measure::{self, Repeats, Spread};
use crate::report::{header, line, node_spread, ratio, refusal_mark};
use crate::targets::{node_speed, row};
use crate::workloads::Workload;
use std::fmt::Write;

/// How a fresh growheap instance starts before its first run.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Start {
    AsIs,
    Grown,
    Touched,
}

impl Start {
    const ALL: [Start; 3] = [Start::AsIs, Start::Grown, Start::Touched];

    /// The word in Node's TSV rows; `bench/node/random-actions.mjs` writes the same.
    fn key(self) -> &'static str {
        match self {
            Start::AsIs => "as is",
            Start::Grown => "grown",
            Start::Touched => "grown and touched",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Start::AsIs => "as is: the first run grows memory",
            Start::Grown => "memory grown beforehand (`reserve`)",
            Start::Touched => "memory grown and written beforehand",
        }
    }

    /// The `touch` argument of the guest's `prepare_heap`, or `None` to call nothing.
    fn touch(self) -> Option<u32> {
        match self {
            Start::AsIs => None,
            Start::Grown => Some(0),
            Start::Touched => Some(1),
        }
    }
}

/// growheap's first run from one start, on one workload, under wasmtime.
pub struct Apart {
    workload: Workload,
    start: Start,
    /// First-run speed ÷ timed speed, one per instance.
    ratio: Spread,
    /// The most pages an instance grew during its first run.
    pages_grown: u64,
}

/// What the section shows besides the rows.
pub struct FirstRuns {
    /// One growth by one page, timed from the host.
    pub wasmtime_grow: GrowTimes,
    /// growheap's first run taken apart; empty when growheap or random-actions did not run.
    pub apart: Vec<Apart>,
}

/// growheap's first run from every start, for each workload given with the pages its first run
/// grows from a fresh start: fresh instances in rounds, as `main.rs` times the rows.
pub fn take_apart(
    engines: &Engines,
    modules: &Modules,
    workloads: &[(Workload, u64)],
    repeats: Repeats,
) -> wasmtime::Result<Vec<Apart>> {
    let entries: Vec<(Workload, u64, Start)> = workloads
        .iter()
        .flat_map(|&(workload, pages)| Start::ALL.map(|start| (workload, pages, start)))
        .collect();
    let mut samples: Vec<Vec<measure::SpeedSample>> = entries.iter().map(|_| Vec::new()).collect();
    for round in 0..repeats.instances as usize {
        for offset in 0..entries.len() {
            let index = (offset + round) % entries.len();
            let (workload, pages, start) = entries[index];
            let bytes = u32::try_from(pages * PAGE_BYTES)?;
            let prepare = |guest: &mut Guest| match start.touch() {
                None => Ok(()),
                Some(touch) if guest.call2("prepare_heap", bytes, touch)? == 1 => Ok(()),
                Some(_) => Err(wasmtime::format_err!("prepare_heap({bytes}) could not grow memory")),
            };
            samples[index].push(measure::speed_sample(engines, modules, workload, repeats, &prepare)?);
        }
    }
    Ok(entries
        .into_iter()
        .zip(samples)
        .map(|((workload, _, start), sample)| Apart {
            workload,
            start,
            ratio: Spread::of(
                sample.iter().filter_map(|speeds| Some(speeds.first_run? / speeds.timed)).collect(),
            ),
            pages_grown: sample.iter().map(|speeds| speeds.first_run_pages).max().unwrap_or(0),
        })
        .collect())
}

/// The section "The first run, in which memory grows".
pub fn section(out: &mut String, rows: &[Row], context: &Context, first_runs: &FirstRuns) {
    let node_grow = context.node.get("node\tgrow-us").filter(|values| values.len() >= 3).map_or_else(
        || "Node did not run".to_string(),
        |grow| {
            format!(
                "`WebAssembly.Memory.prototype.grow` called from JS took {} µs under Node (mean {} µs, max {} µs)",
                grow[0], grow[1], grow[2]
            )
        },
    );
    let grow = format!(
        "Growing memory by one page, over 20 fresh memories grown from 1 to 128 pages: `Memory::grow` called from the host took {:.2} µs under wasmtime (median; mean {:.2} µs, max {:.2} µs); {node_grow}.",
        first_runs.wasmtime_grow.median, first_runs.wasmtime_grow.mean, first_runs.wasmtime_grow.max
    );
    let _ = writeln!(
        out,
        "\n## The first run, in which memory grows\n\nThe speed tables time the runs after a warm-up run, in which memory grows from nothing; timed runs that set a new peak of live bytes grow it further (the first column counts the `memory.grow` calls of both). Here is the warm-up itself: each instance's first run, next to the timed runs of the same instances. Under Node, each module first runs once on a throwaway instance, so that V8 has optimized its code. {grow}"
    );
    for realloc in [false, true] {
        table(out, rows, context, Workload::RandomActions { realloc });
    }
    if !first_runs.apart.is_empty() {
        apart_table(out, context, &first_runs.apart);
    }
}

/// Each instance's first run (the warm-up, in which memory grows) against its timed runs, under
/// wasmtime and under Node, for the peers and growheap's growth steps.
fn table(out: &mut String, rows: &[Row], context: &Context, workload: Workload) {
    let _ = writeln!(out, "\n### {}\n", workload.title());
    header(
        out,
        &[
            "allocator",
            "memory.grow calls: first run / all runs",
            "wasmtime: first run, actions/µs median (min–max)",
            "first ÷ timed",
            "Node: first run, actions/µs median (min–max)",
            "first ÷ timed",
        ],
    );
    for allocator in
        ALLOCATORS.iter().filter(|allocator| matches!(allocator.role, Role::Peer | Role::Step(_)))
    {
        let Some(row) = row(rows, allocator.name, workload) else { continue };
        let m = &row.measurement;
        let Some(first) = m.first_run else { continue };
        let node_key = format!("{}\t{} first run", allocator.name, workload.key());
        let node_first = context.node.get(&node_key).and_then(|values| values.first()?.parse().ok());
        let name = if allocator.name == GROWHEAP {
            format!("**{}**", allocator.label)
        } else {
            allocator.label.to_string()
        };
        line(
            out,
            &[
                format!("{name}{}", refusal_mark(m)),
                format!("{} / {}", m.first_run_grow_calls, m.grow_calls),
                format!("{:.2} ({:.2}–{:.2})", first.median, first.min, first.max),
                ratio(Some(first.median), Some(m.speed.median)),
                node_spread(context, &node_key),
                ratio(node_first, node_speed(context, allocator.name, workload)),
            ],
        );
    }
}

fn apart_table(out: &mut String, context: &Context, apart: &[Apart]) {
    out.push_str("\n### growheap's first run, taken apart\n\nFresh growheap instances start in one of three ways before their first run: as in the tables above; with memory grown beforehand by the pages the first run grows (`GrowHeap::reserve`), so that the run grows nothing but is the first to write to those pages; or grown and written once every 4 KiB beforehand, so that the host has already backed every page. Each ratio is taken per instance (its first run ÷ its timed runs); median and range over the instances.\n\n");
    header(
        out,
        &[
            "workload",
            "start",
            "pages grown in the first run (wasmtime / Node)",
            "wasmtime: first ÷ timed, median (min–max)",
            "Node: first ÷ timed, median (min–max)",
        ],
    );
    for part in apart {
        let node_key = format!("{GROWHEAP}\t{} first run, {}", part.workload.key(), part.start.key());
        let node_pages = context.node.get(&node_key).and_then(|values| values.get(3).cloned());
        line(
            out,
            &[
                part.workload.key().into(),
                part.start.describe().into(),
                format!("{} / {}", part.pages_grown, node_pages.unwrap_or_else(|| "–".into())),
                format!("{:.2} ({:.2}–{:.2})", part.ratio.median, part.ratio.min, part.ratio.max),
                node_spread(context, &node_key),
            ],
        );
    }
}
