//! growheap's wall-clock speed against talc and std's dlmalloc, round by round.
//!
//! Each round runs one fresh instance of every allocator within a second or two (`main.rs`, and
//! the same in the Node script). A ratio of two instances of one round therefore shares that
//! round's state of the machine, while a ratio of two medians may pair a quiet round of one
//! allocator with a slow round of the other. The targets table keeps the ratio of the medians,
//! as the benchmark issue defines it; this table shows how far the machine moved it.

use crate::Row;
use crate::allocators::{GROWHEAP, STD, TALC};
use crate::context::Context;
use crate::measure::Spread;
use crate::report::{header, line};
use crate::targets::{SPEED_GOAL_VS_STD, SPEED_GOAL_VS_TALC, row};
use crate::workloads::Workload;

const MODES: [Workload; 2] =
    [Workload::RandomActions { realloc: false }, Workload::RandomActions { realloc: true }];

/// One allocator's timed speed per round under wasmtime; `None` where it has no row.
fn wasmtime_rounds(rows: &[Row], allocator: &str, workload: Workload) -> Option<Vec<Option<f64>>> {
    Some(row(rows, allocator, workload)?.measurement.speed_by_round.iter().copied().map(Some).collect())
}

/// The same under Node, from the script's "NAME\tWORKLOAD rounds" line ("-" for a round whose
/// instance ran out of memory).
fn node_rounds(context: &Context, allocator: &str, workload: Workload) -> Option<Vec<Option<f64>>> {
    let values = context.node.get(&format!("{allocator}\t{} rounds", workload.key()))?;
    Some(values.iter().map(|value| value.parse().ok()).collect())
}

/// `mine ÷ theirs` for every round both have.
fn ratios(mine: &[Option<f64>], theirs: &[Option<f64>]) -> Vec<f64> {
    mine.iter()
        .zip(theirs)
        .filter_map(|(&mine, &theirs)| Some(mine? / theirs.filter(|&value| value > 0.0)?))
        .collect()
}

/// "median× (min–max); k of n ≥ goal", or "–" with no pair.
fn cell(ratios: Vec<f64>, goal: f64) -> String {
    if ratios.is_empty() {
        return "–".into();
    }
    let (rounds, met) = (ratios.len(), ratios.iter().filter(|&&ratio| ratio >= goal).count());
    let spread = Spread::of(ratios);
    format!("{:.2}× ({:.2}–{:.2}); {met} of {rounds} ≥ {goal}", spread.median, spread.min, spread.max)
}

/// The section, under "Speed: random-actions".
pub fn table(out: &mut String, rows: &[Row], context: &Context) {
    out.push_str(
        "\n### growheap's speed round by round\n\nEach ratio pairs growheap's instance with the other allocator's instance of the same round; a cell gives the median of those ratios over the rounds (min–max) and how many rounds reach the target's goal. The targets above divide the medians instead, as the issue asks.\n\n",
    );
    let mut columns = vec!["growheap ÷".to_string()];
    for host in ["wasmtime", "Node"] {
        columns.extend(MODES.iter().map(|workload| format!("{host}, {}", workload.key())));
    }
    header(out, &columns.iter().map(String::as_str).collect::<Vec<_>>());
    let wasmtime = |name: &str, workload| wasmtime_rounds(rows, name, workload);
    let node = |name: &str, workload| node_rounds(context, name, workload);
    for (name, label, goal) in
        [(TALC, "talc 5 (WasmGrowAndExtend)", SPEED_GOAL_VS_TALC), (STD, "std dlmalloc", SPEED_GOAL_VS_STD)]
    {
        let mut cells = vec![label.to_string()];
        for rounds in [&wasmtime as &dyn Fn(&str, Workload) -> Option<Vec<Option<f64>>>, &node] {
            for workload in MODES {
                let pairs = rounds(GROWHEAP, workload).zip(rounds(name, workload));
                cells.push(
                    pairs.map_or_else(|| "–".into(), |(mine, theirs)| cell(ratios(&mine, &theirs), goal)),
                );
            }
        }
        line(out, &cells);
    }
}
