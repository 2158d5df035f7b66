//! chart.svg, drawn by hand: pages grown after each step of the growth patterns (one line per
//! allocator), then wall-clock speed bars on random-actions with their ratios to talc and std.

use crate::Row;
use crate::allocators::{ALLOCATORS, Role, STD, TALC};
use crate::context::Context;
use crate::targets::row;
use crate::workloads::{WORKLOADS, Workload};
use std::fmt::Write;

const WIDTH: f64 = 1260.0;
const PANEL_WIDTH: f64 = 400.0;
const PANEL_HEIGHT: f64 = 260.0;
/// Growth panels side by side: the four patterns make a square.
const PANELS_PER_ROW: usize = 2;
const MARGIN: f64 = 50.0;
const BAR_HEIGHT: f64 = 18.0;
const COLORS: &[&str] = &[
    "#d62728", "#ff9896", "#1f77b4", "#aec7e8", "#2ca02c", "#98df8a", "#9467bd", "#ff7f0e", "#ffbb78",
    "#8c564b", "#7f7f7f", "#17becf",
];

fn peers() -> impl Iterator<Item = (usize, &'static crate::allocators::Allocator)> {
    ALLOCATORS.iter().filter(|allocator| matches!(allocator.role, Role::Peer | Role::Floor)).enumerate()
}

fn color(index: usize) -> &'static str {
    COLORS[index % COLORS.len()]
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn text(out: &mut String, x: f64, y: f64, size: u32, anchor: &str, content: &str) {
    let _ = writeln!(
        out,
        r#"<text x="{x:.1}" y="{y:.1}" font-size="{size}" text-anchor="{anchor}">{}</text>"#,
        escape(content)
    );
}

/// One growth pattern: pages after each step, one polyline per allocator.
fn growth_panel(out: &mut String, rows: &[Row], workload: Workload, left: f64, top: f64) {
    let series: Vec<(usize, &Vec<u64>)> = peers()
        .filter_map(|(index, allocator)| {
            row(rows, allocator.name, workload).map(|row| (index, &row.measurement.pages_by_step))
        })
        .filter(|(_, pages)| !pages.is_empty())
        .collect();
    let steps = series.iter().map(|(_, pages)| pages.len()).max().unwrap_or(1).max(2);
    let top_pages = series.iter().flat_map(|(_, pages)| pages.iter().copied()).max().unwrap_or(1).max(1);
    let (plot_left, plot_top, plot_width, plot_height) =
        (left + MARGIN, top + 30.0, PANEL_WIDTH - MARGIN - 10.0, PANEL_HEIGHT - 70.0);
    text(out, left + PANEL_WIDTH / 2.0, top + 15.0, 13, "middle", workload.title());
    let _ = writeln!(
        out,
        r##"<rect x="{plot_left}" y="{plot_top}" width="{plot_width}" height="{plot_height}" fill="none" stroke="#999"/>"##
    );
    text(out, plot_left - 4.0, plot_top + 4.0, 10, "end", &top_pages.to_string());
    text(out, plot_left - 4.0, plot_top + plot_height, 10, "end", "0");
    text(out, plot_left + plot_width, plot_top + plot_height + 14.0, 10, "end", &format!("step {steps}"));
    text(out, plot_left, plot_top + plot_height + 14.0, 10, "start", "step 1");
    text(out, left + 12.0, plot_top + plot_height / 2.0, 10, "middle", "pages");
    for (index, pages) in series {
        let points: Vec<String> = pages
            .iter()
            .enumerate()
            .map(|(step, &count)| {
                let x = plot_left + plot_width * step as f64 / (steps - 1) as f64;
                let y = plot_top + plot_height * (1.0 - count as f64 / top_pages as f64);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="1.5" points="{}"/>"#,
            color(index),
            points.join(" ")
        );
    }
}

/// Wall-clock speed bars for one random-actions mode, with ratios to talc and std.
fn speed_panel(
    out: &mut String,
    rows: &[Row],
    context: &Context,
    workload: Workload,
    left: f64,
    top: f64,
) -> f64 {
    let bars: Vec<(usize, &Row)> = peers()
        .filter_map(|(index, allocator)| row(rows, allocator.name, workload).map(|row| (index, row)))
        .collect();
    let fastest = bars.iter().map(|(_, row)| row.measurement.speed.max).fold(1e-9, f64::max);
    let reference = |name| row(rows, name, workload).map(|row| row.measurement.speed.median);
    text(
        out,
        left,
        top + 15.0,
        13,
        "start",
        &format!("{} — wall-clock actions/µs under wasmtime (median, min–max)", workload.title()),
    );
    let (label_width, bar_space) = (230.0, 420.0);
    for (slot, (index, row)) in bars.iter().enumerate() {
        let y = top + 30.0 + slot as f64 * (BAR_HEIGHT + 6.0);
        let spread = row.measurement.speed;
        let width = bar_space * spread.median / fastest;
        text(out, left + label_width - 6.0, y + 13.0, 11, "end", row.allocator.label);
        let _ = writeln!(
            out,
            r#"<rect x="{:.1}" y="{y:.1}" width="{width:.1}" height="{BAR_HEIGHT}" fill="{}"/>"#,
            left + label_width,
            color(*index)
        );
        let (low, high) = (
            left + label_width + bar_space * spread.min / fastest,
            left + label_width + bar_space * spread.max / fastest,
        );
        let _ = writeln!(
            out,
            r#"<line x1="{low:.1}" x2="{high:.1}" y1="{:.1}" y2="{:.1}" stroke="black"/>"#,
            y + BAR_HEIGHT / 2.0,
            y + BAR_HEIGHT / 2.0
        );
        let versus =
            |name| reference(name).map_or_else(String::new, |base| format!("{:.2}×", spread.median / base));
        let node = crate::targets::node_speed(context, row.allocator.name, workload)
            .map_or_else(String::new, |speed| format!(", Node {speed:.2}"));
        let note = format!("{:.2}  (÷talc {}, ÷std {}{node})", spread.median, versus(TALC), versus(STD));
        text(out, left + label_width + bar_space + 8.0, y + 13.0, 11, "start", &note);
    }
    30.0 + bars.len() as f64 * (BAR_HEIGHT + 6.0) + 20.0
}

fn legend(out: &mut String, top: f64) {
    for (slot, (index, allocator)) in peers().enumerate() {
        let (x, y) = (20.0 + (slot % 4) as f64 * 310.0, top + (slot / 4) as f64 * 18.0);
        let _ = writeln!(out, r#"<rect x="{x}" y="{y}" width="12" height="12" fill="{}"/>"#, color(index));
        text(out, x + 18.0, y + 10.0, 11, "start", allocator.label);
    }
}

pub fn svg(rows: &[Row], context: &Context) -> String {
    let mut body = String::new();
    let growth: Vec<Workload> = WORKLOADS.iter().copied().filter(|workload| workload.is_growth()).collect();
    for (slot, &workload) in growth.iter().enumerate() {
        let (column, row) = ((slot % PANELS_PER_ROW) as f64, (slot / PANELS_PER_ROW) as f64);
        growth_panel(
            &mut body,
            rows,
            workload,
            20.0 + column * (PANEL_WIDTH + 20.0),
            10.0 + row * PANEL_HEIGHT,
        );
    }
    let panels_bottom = growth.len().div_ceil(PANELS_PER_ROW) as f64 * PANEL_HEIGHT;
    legend(&mut body, panels_bottom + 10.0);
    let mut top = panels_bottom + 70.0;
    for realloc in [false, true] {
        top += speed_panel(&mut body, rows, context, Workload::RandomActions { realloc }, 20.0, top);
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{top:.0}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n{body}</svg>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_allocator_in_the_chart_has_a_colour_of_its_own() {
        assert!(peers().count() <= COLORS.len());
    }
}
