//! The targets for growheap, checked against the measured rows.

use crate::Row;
use crate::allocators::{GROWHEAP, STD, TALC};
use crate::context::Context;
use crate::workloads::{Pattern, Workload};

/// Most pages × 64 KiB per peak live byte on random-actions (dlmalloc's 1.07 in the issue).
pub const FOOTPRINT_GOAL: f64 = 1.07;

/// Least wall-clock speed, as a multiple of talc's and of std's dlmalloc's.
pub const SPEED_GOAL_VS_TALC: f64 = 1.15;
pub const SPEED_GOAL_VS_STD: f64 = 1.4;

/// RLSF small's total in talc's published size table, the figure to beat.
const RLSF_SMALL_PUBLISHED_BYTES: f64 = 1345.0;

pub struct Target {
    pub what: String,
    pub goal: String,
    pub measured: String,
    pub met: Option<bool>,
}

pub fn row<'a>(rows: &'a [Row], allocator: &str, workload: Workload) -> Option<&'a Row> {
    rows.iter().find(|row| row.allocator.name == allocator && row.workload == workload)
}

/// Fuel per action minus the workload floor's: the allocator's own cost.
pub fn own_cost(rows: &[Row], allocator: &str, workload: Workload) -> Option<f64> {
    let floor = row(rows, "floor", workload)?.measurement.fuel_per_action;
    Some(row(rows, allocator, workload)?.measurement.fuel_per_action - floor)
}

/// Node's median actions/µs for an allocator on a workload.
pub fn node_speed(context: &Context, allocator: &str, workload: Workload) -> Option<f64> {
    context.node.get(&format!("{allocator}\t{}", workload.key()))?.first()?.parse().ok()
}

pub fn footprint(row: &Row) -> f64 {
    (row.measurement.pages_grown * crate::host::PAGE_BYTES) as f64 / row.peak_live_bytes.max(1) as f64
}

fn ratio_target(
    what: String,
    goal: f64,
    at_most: bool,
    mine: Option<f64>,
    theirs: Option<f64>,
) -> Option<Target> {
    let ratio = mine? / theirs?;
    let met = if at_most { ratio <= goal } else { ratio >= goal };
    let sign = if at_most { "≤" } else { "≥" };
    // A ratio that rounds to the goal gets a third decimal, so that a miss never reads as the goal.
    let measured = if format!("{ratio:.2}") == format!("{goal:.2}") {
        format!("{ratio:.3}×")
    } else {
        format!("{ratio:.2}×")
    };
    Some(Target { what, goal: format!("{sign} {goal}×"), measured, met: Some(met) })
}

fn bound_target(what: &str, goal: String, measured: String, met: bool) -> Target {
    Target { what: what.into(), goal, measured, met: Some(met) }
}

pub fn check(rows: &[Row], context: &Context) -> Vec<Target> {
    let mut targets = Vec::new();
    for realloc in [false, true] {
        let workload = Workload::RandomActions { realloc };
        let first_of_mode = targets.len();
        let mode = workload.key();
        let cost = |name| own_cost(rows, name, workload);
        let speed = |name| row(rows, name, workload).map(|row| row.measurement.speed.median);
        let node = |name| node_speed(context, name, workload);
        targets.extend(ratio_target(
            format!("{mode}: own cost (fuel − floor) vs talc"),
            0.5,
            true,
            cost(GROWHEAP),
            cost(TALC),
        ));
        targets.extend(ratio_target(
            format!("{mode}: own cost vs std dlmalloc"),
            0.25,
            true,
            cost(GROWHEAP),
            cost(STD),
        ));
        targets.extend(ratio_target(
            format!("{mode}: wasmtime speed vs talc"),
            SPEED_GOAL_VS_TALC,
            false,
            speed(GROWHEAP),
            speed(TALC),
        ));
        targets.extend(ratio_target(
            format!("{mode}: wasmtime speed vs std dlmalloc"),
            SPEED_GOAL_VS_STD,
            false,
            speed(GROWHEAP),
            speed(STD),
        ));
        targets.extend(ratio_target(
            format!("{mode}: Node speed vs talc"),
            SPEED_GOAL_VS_TALC,
            false,
            node(GROWHEAP),
            node(TALC),
        ));
        targets.extend(ratio_target(
            format!("{mode}: Node speed vs std dlmalloc"),
            SPEED_GOAL_VS_STD,
            false,
            node(GROWHEAP),
            node(STD),
        ));
        if let Some(growheap) = row(rows, GROWHEAP, workload) {
            let footprint = footprint(growheap);
            targets.push(bound_target(
                &format!("{mode}: footprint (pages × 64 KiB ÷ peak live)"),
                format!("≤ {FOOTPRINT_GOAL}"),
                format!("{footprint:.3}"),
                footprint <= FOOTPRINT_GOAL,
            ));
        }
        if let Some(growheap) = row(rows, GROWHEAP, workload) {
            refused(&mut targets[first_of_mode..], &growheap.measurement);
        }
    }
    if let Some(bytes) = context.sizes.get(GROWHEAP).and_then(|values| values.first()?.parse::<f64>().ok()) {
        targets.push(bound_target(
            "module size with stats (talc's method)",
            format!("< {RLSF_SMALL_PUBLISHED_BYTES} B (RLSF small, talc's table)"),
            format!("{bytes} B"),
            bytes < RLSF_SMALL_PUBLISHED_BYTES,
        ));
    }
    let pages = |pattern| row(rows, GROWHEAP, Workload::Growth(pattern)).map(|row| &row.measurement);
    if let Some(ratchet) = pages(Pattern::Ratchet) {
        targets.push(bound_target(
            "ratchet pages grown",
            "≤ 171".into(),
            ratchet.pages_grown.to_string(),
            ratchet.pages_grown <= 171,
        ));
        let last = targets.len() - 1;
        refused(&mut targets[last..], ratchet);
    }
    if let Some(churn) = pages(Pattern::PageChurn) {
        targets.push(bound_target(
            "page churn pages grown",
            "≤ 3".into(),
            churn.pages_grown.to_string(),
            churn.pages_grown <= 3,
        ));
        let last = targets.len() - 1;
        refused(&mut targets[last..], churn);
    }
    if let Some(wee) = pages(Pattern::WeeAlloc106) {
        let first = wee.pages_by_step.first().copied().unwrap_or(0);
        targets.push(bound_target(
            "wee_alloc #106 loop: no growth after the first round",
            format!("= {first} pages (after round 1)"),
            format!("{} pages after {} rounds", wee.pages_grown, wee.pages_by_step.len()),
            wee.pages_grown == first,
        ));
        let last = targets.len() - 1;
        refused(&mut targets[last..], wee);
    }
    targets
}

/// A target measured on a run in which growheap refused requests is not met, whatever the figure.
fn refused(targets: &mut [Target], measurement: &crate::measure::Measurement) {
    let mark = crate::report::refusal_mark(measurement);
    if mark.is_empty() {
        return;
    }
    for target in targets {
        target.measured.push_str(&mark);
        target.met = Some(false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn measured(mine: f64, goal: f64) -> (String, Option<bool>) {
        let target = ratio_target("speed".into(), goal, false, Some(mine), Some(1.0)).unwrap();
        (target.measured, target.met)
    }

    #[test]
    fn a_ratio_that_rounds_to_the_goal_shows_a_third_decimal() {
        assert_eq!(measured(1.1452, 1.15), ("1.145×".into(), Some(false)));
        assert_eq!(measured(1.1504, 1.15), ("1.150×".into(), Some(true)));
        assert_eq!(measured(1.27, 1.15), ("1.27×".into(), Some(true)));
        assert_eq!(measured(0.81, 1.15), ("0.81×".into(), Some(false)));
    }
}
