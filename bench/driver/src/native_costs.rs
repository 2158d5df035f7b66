//! `growheap-bench native-costs`: what the compiled guest code cost natively, function by
//! function, from a callgrind profile of `growheap-bench loop` and the map of the compiled code
//! that `GROWHEAP_PERFMAP` makes the engine write (see "Profiling the wasm" in
//! `bench/README.md`).
//!
//! Fuel counts wasm instructions. The wall clock also pays for how Cranelift compiled them, for
//! branches the processor guessed wrong and for cache misses; callgrind counts all three (the
//! last two simulated), per native instruction. This sums its counts over the address range of
//! each guest function, and over the functions of the allocator.

use std::collections::BTreeMap;

/// What to read.
pub struct CostsOptions {
    callgrind: String,
    map: Option<String>,
    top: usize,
}

/// `--callgrind FILE [--map FILE] [--top N]`.
pub fn parse(args: &[String]) -> Result<CostsOptions, String> {
    let mut options = CostsOptions { callgrind: String::new(), map: None, top: 15 };
    for pair in args.chunks(2) {
        let [flag, value] = pair else { return Err(format!("{} needs a value", pair[0])) };
        match flag.as_str() {
            "--callgrind" => options.callgrind = value.clone(),
            "--map" => options.map = Some(value.clone()),
            "--top" => options.top = value.parse().map_err(|_| format!("--top: not a number: {value}"))?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if options.callgrind.is_empty() {
        return Err("native-costs needs --callgrind FILE".into());
    }
    Ok(options)
}

/// Print the table: the whole compiled guest, the allocator's functions, then the `top`
/// functions by instructions.
pub fn run(options: &CostsOptions) -> Result<(), String> {
    let read = |path: &str| std::fs::read_to_string(path).map_err(|error| format!("{path}: {error}"));
    let profile = Profile::parse(&read(&options.callgrind)?)?;
    let map_path = match (&options.map, profile.pid) {
        (Some(path), _) => path.clone(),
        (None, Some(pid)) => format!("/tmp/perf-{pid}.map"),
        (None, None) => return Err("the profile names no pid: give --map FILE".into()),
    };
    let functions = parse_map(&read(&map_path)?)?;
    let shown = ["Ir", "D1mr", "D1mw", "Bcm"];
    let columns: Vec<usize> =
        shown.iter().filter_map(|event| profile.events.iter().position(|e| e == event)).collect();
    let by_function = profile.by_function(&functions);
    let sum = |keep: &dyn Fn(&str) -> bool| {
        let mut total = vec![0; profile.events.len()];
        for (name, costs) in &by_function {
            if keep(name) {
                total.iter_mut().zip(costs).for_each(|(t, c)| *t += c);
            }
        }
        total
    };
    let header: Vec<&str> = columns.iter().map(|&i| profile.events[i].as_str()).collect();
    println!("| function | {} |", header.join(" | "));
    println!("|---|{}", "---:|".repeat(columns.len()));
    let row = |name: &str, costs: &[u64]| {
        let cells: Vec<String> = columns.iter().map(|&i| thousands(costs[i])).collect();
        println!("| {name} | {} |", cells.join(" | "));
    };
    row("**all compiled guest code**", &sum(&|_| true));
    row("**the allocator's functions**", &sum(&|name| is_allocator(name)));
    let mut ranked: Vec<_> = by_function.iter().collect();
    ranked.sort_by_key(|(_, costs)| std::cmp::Reverse(costs.first().copied().unwrap_or(0)));
    for (name, costs) in ranked.into_iter().take(options.top) {
        row(name, costs);
    }
    Ok(())
}

/// Whether a (demangled) function belongs to an allocator: its crate, or the shims through which
/// the standard library calls the global allocator.
fn is_allocator(name: &str) -> bool {
    const CRATES: [&str; 6] = ["growheap::", "talc::", "dlmalloc::", "rlsf::", "lol_alloc::", "wee_alloc::"];
    CRATES.iter().any(|c| name.starts_with(c) || name.contains(&format!("<{c}")))
        || name.contains("__rust_alloc")
        || name.contains("__rust_dealloc")
        || name.contains("__rust_realloc")
}

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// A guest function in the map: where its code starts, how many bytes, its demangled name.
struct Function {
    start: u64,
    len: u64,
    name: String,
}

/// Lines `START SIZE NAME`, both numbers in hex, as `perf` reads them.
fn parse_map(text: &str) -> Result<Vec<Function>, String> {
    let hex = |word: &str| u64::from_str_radix(word.trim_start_matches("0x"), 16);
    let mut functions = Vec::new();
    for line in text.lines().filter(|line| !line.trim().is_empty()) {
        let mut words = line.splitn(3, ' ');
        let (Some(start), Some(len), Some(name)) = (words.next(), words.next(), words.next()) else {
            return Err(format!("map line {line:?}: not START SIZE NAME"));
        };
        let (Ok(start), Ok(len)) = (hex(start), hex(len)) else {
            return Err(format!("map line {line:?}: START and SIZE must be hex"));
        };
        let name = shorten(&format!("{:#}", rustc_demangle::demangle(name.trim())));
        functions.push(Function { start, len, name });
    }
    functions.sort_by_key(|f| f.start);
    Ok(functions)
}

/// A name of at most 80 characters: long ones keep their end, where the function's own name is.
fn shorten(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    match chars.len().checked_sub(79) {
        Some(cut) if cut > 0 => std::iter::once('…').chain(chars[cut..].iter().copied()).collect(),
        _ => name.to_string(),
    }
}

/// A callgrind profile written with `--dump-instr=yes`: each event's self cost per instruction
/// address.
struct Profile {
    pid: Option<u32>,
    events: Vec<String>,
    by_address: BTreeMap<u64, Vec<u64>>,
}

impl Profile {
    /// Read the format of callgrind's manual ("Callgrind Format Specification"): position lines
    /// carry an address (absolute, `+n`, `-n` or `*` for the one before), the other positions,
    /// then costs; the line after `calls=` is the inclusive cost of a call, which is not the
    /// caller's own.
    fn parse(text: &str) -> Result<Profile, String> {
        let mut profile = Profile { pid: None, events: Vec::new(), by_address: BTreeMap::new() };
        let mut positions = 0;
        let (mut address, mut after_calls) = (0u64, false);
        for line in text.lines() {
            let first = line.bytes().next().unwrap_or(b' ');
            if let Some(rest) = line.strip_prefix("positions:") {
                positions = rest.split_whitespace().count();
                if rest.split_whitespace().next() != Some("instr") {
                    return Err(
                        "the profile has no instruction addresses: run callgrind with --dump-instr=yes"
                            .into(),
                    );
                }
            } else if let Some(rest) = line.strip_prefix("events:") {
                profile.events = rest.split_whitespace().map(String::from).collect();
            } else if let Some(rest) = line.strip_prefix("pid:") {
                profile.pid = rest.trim().parse().ok();
            } else if line.starts_with("calls=") {
                after_calls = true;
            } else if first.is_ascii_digit() || first == b'+' || first == b'-' || first == b'*' {
                let mut words = line.split_whitespace();
                let word = words.next().unwrap_or("*");
                address = subposition(word, address).ok_or_else(|| format!("bad position in {line:?}"))?;
                if std::mem::take(&mut after_calls) {
                    continue;
                }
                let costs =
                    profile.by_address.entry(address).or_insert_with(|| vec![0; profile.events.len()]);
                for (total, word) in costs.iter_mut().zip(words.skip(positions.saturating_sub(1))) {
                    *total += word.parse::<u64>().map_err(|_| format!("bad cost in {line:?}"))?;
                }
            }
        }
        if positions == 0 || profile.events.is_empty() {
            return Err("not a callgrind profile: no positions: or events: line".into());
        }
        Ok(profile)
    }

    /// The costs summed over each function's address range; addresses outside every function
    /// (the engine, the compiler, libc) are left out.
    fn by_function(&self, functions: &[Function]) -> BTreeMap<String, Vec<u64>> {
        let mut sums: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for function in functions {
            let range = function.start..function.start.saturating_add(function.len);
            for costs in self.by_address.range(range).map(|(_, costs)| costs) {
                let sum = sums.entry(function.name.clone()).or_insert_with(|| vec![0; costs.len()]);
                sum.iter_mut().zip(costs).for_each(|(s, c)| *s += c);
            }
        }
        sums
    }
}

/// An address in callgrind's compressed form, given the one before.
fn subposition(word: &str, before: u64) -> Option<u64> {
    match word.as_bytes().first()? {
        b'*' => Some(before),
        b'+' => before.checked_add(number(&word[1..])?),
        b'-' => before.checked_sub(number(&word[1..])?),
        _ => number(word),
    }
}

fn number(word: &str) -> Option<u64> {
    match word.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => word.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two functions, a call whose inclusive cost must not count, and compressed addresses.
    const PROFILE: &str = "version: 1\npid: 42\npositions: instr line\nevents: Ir Bcm\n\
        fl=(1) ???\nfn=(1) 0x1000\n0x1000 0 5 1\n+4 0 2\ncfn=(2) other\ncalls=1 0x2000 0\n\
        * 0 1000 7\n+2 * 3\nfn=(3) 0x2000\n0x2000 0 10 2\n-4096 0 1\n";
    const MAP: &str = "0x1000 10 _ZN8growheap3raw7RawHeap5alloc17h0123456789abcdefE\n\
        2000 8 _ZN20growheap_bench_guest5build17h0123456789abcdefE\n";

    #[test]
    fn costs_add_up_by_function_without_the_calls_inclusive_cost() {
        let profile = Profile::parse(PROFILE).unwrap();
        assert_eq!(profile.pid, Some(42));
        let functions = parse_map(MAP).unwrap();
        let sums = profile.by_function(&functions);
        // 0x1000: 5 + 1 (the second line at 0x1000 after `-4096`); 0x1004: 2; 0x1006: 3.
        assert_eq!(sums["growheap::raw::RawHeap::alloc"], vec![11, 1]);
        assert_eq!(sums["growheap_bench_guest::build"], vec![10, 2]);
        assert!(is_allocator("growheap::raw::RawHeap::alloc"));
        assert!(!is_allocator("growheap_bench_guest::build"));
        assert!(is_allocator("<talc::wasm::WasmBinning as talc::base::binning::Binning>::size_to_bin"));
        assert_eq!(thousands(1_234_567), "1,234,567");
        let long = format!("{}::end", "a".repeat(100));
        assert_eq!(shorten(&long).chars().count(), 80);
        assert!(shorten(&long).starts_with('…') && shorten(&long).ends_with("::end"));
    }

    #[test]
    fn a_profile_without_addresses_is_refused() {
        let error = Profile::parse("positions: line\nevents: Ir\n1 5\n").err().unwrap();
        assert!(error.contains("--dump-instr=yes"), "{error}");
    }
}
