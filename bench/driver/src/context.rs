//! What the driver does not measure itself: module sizes and the Node run (TSV files written by
//! `scripts/bench`), and the machine, toolchain and date the results belong to.

use std::collections::BTreeMap;

/// Rows of a TSV file keyed by their first column (or first two, joined by a tab).
pub type Table = BTreeMap<String, Vec<String>>;

#[derive(Default)]
pub struct Context {
    /// allocator -> [bytes]
    pub sizes: Table,
    /// "allocator\tworkload" -> [median, min, max] actions/µs
    pub node: Table,
    pub date: String,
    pub command: String,
}

/// Read a TSV file: each row is keyed by its first `key_columns` fields joined by a tab, and
/// holds the rest. Lines starting with `#` are comments.
pub fn read_tsv(path: &str, key_columns: usize) -> Result<Table, String> {
    let text = std::fs::read_to_string(path).map_err(|error| format!("{path}: {error}"))?;
    let mut table = Table::new();
    for line in text.lines().filter(|line| !line.trim().is_empty() && !line.starts_with('#')) {
        let fields: Vec<&str> = line.split('\t').collect();
        let split = key_columns.min(fields.len());
        table.insert(
            fields[..split].join("\t"),
            fields[split..].iter().map(|field| field.to_string()).collect(),
        );
    }
    Ok(table)
}

/// The first lines of a results file in Markdown: the command that wrote it, the date and the
/// machine.
pub fn provenance(command: &str, date: &str) -> String {
    format!("- command: `{command}`\n- date: {date}\n- machine: {} cores, {}\n", cores(), cpu_model())
}

/// The compiler and the engine: `rustc --version` and this driver's wasmtime.
pub fn toolchain() -> String {
    format!("{}; wasmtime {} (Cranelift)", rustc_version(), wasmtime_version())
}

/// The CPU model from /proc/cpuinfo.
fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|line| line.starts_with("model name"))
                .and_then(|line| line.split(':').nth(1))
                .map(|model| model.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn cores() -> usize {
    std::thread::available_parallelism().map(usize::from).unwrap_or(1)
}

/// `rustc --version`.
fn rustc_version() -> String {
    std::process::Command::new("rustc")
        .arg("--version")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .map(|text| text.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The wasmtime version this driver was built with, from the workspace's Cargo.lock as it was at
/// build time. Read when the driver is compiled, not when it runs: the binary in the shared cache
/// may have been built from a clone elsewhere, which need not exist any more.
fn wasmtime_version() -> String {
    let lock = include_str!("../../../Cargo.lock");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == "name = \"wasmtime\""
            && let Some(version) = lines.next().and_then(|line| line.strip_prefix("version = "))
        {
            return version.trim_matches('"').to_string();
        }
    }
    "unknown".into()
}
