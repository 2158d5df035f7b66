//! growheap-harness: runs wasm guests under wasmtime.
//!
//! - `growheap-harness run GUEST.wasm [ARGS...]` runs a `wasm32-wasip1` command with stdio, args
//!   and environment, and exits with its exit code: the cargo runner for `wasm32-wasip1`.
//! - `growheap-harness check GUEST.wasm [--call NAME]... [--host-grow PAGES] [--grow-limit PAGES]`
//!   calls each export in turn (`_start` without `--call`), checks the heap's page counts after
//!   each, prints a report, and exits with 1 when a check failed.

use growheap_harness::command::run_command;
use growheap_harness::{GuestOptions, Session};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  growheap-harness run GUEST.wasm [ARGS...]
  growheap-harness check GUEST.wasm [--call NAME]... [--host-grow PAGES] [--grow-limit PAGES]

check options:
  --call NAME         export to call, no parameters; repeat for several (default: _start)
  --host-grow PAGES   grow PAGES pages from the host before every call but the first
  --grow-limit PAGES  refuse memory.grow past PAGES pages above the initial memory";

/// The arguments of `check`.
struct CheckArgs {
    guest: PathBuf,
    calls: Vec<String>,
    host_grow: u64,
    options: GuestOptions,
}

fn parse_check(args: &[String]) -> Result<CheckArgs, String> {
    let mut args = args.iter();
    let guest = args.next().ok_or("check needs a GUEST.wasm")?.into();
    let mut parsed = CheckArgs { guest, calls: Vec::new(), host_grow: 0, options: GuestOptions::default() };
    parsed.options.inherit_stdio = true;
    while let Some(flag) = args.next() {
        let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let pages = || value.parse::<u64>().map_err(|_| format!("{flag} takes a page count, not {value:?}"));
        match flag.as_str() {
            "--call" => parsed.calls.push(value.clone()),
            "--host-grow" => parsed.host_grow = pages()?,
            "--grow-limit" => parsed.options.grow_limit = Some(pages()?),
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if parsed.calls.is_empty() {
        parsed.calls.push("_start".into());
    }
    Ok(parsed)
}

/// Run the checks and print the report; whether every check passed, or `None` when the host's
/// own growth (`--host-grow`) was refused, which only `--grow-limit` can do: bad usage.
fn check(args: &CheckArgs) -> wasmtime::Result<Option<bool>> {
    let mut session = Session::load(&args.guest, &args.options)?;
    println!(
        "guest {}: {} pages declared, {} after instantiation",
        args.guest.display(),
        session.guest.initial_pages,
        session.guest.pages()
    );
    let mut failures = 0;
    for (index, call) in args.calls.iter().enumerate() {
        if index > 0 && args.host_grow > 0 {
            let Ok(run) = session.grow_from_host(args.host_grow) else {
                eprintln!(
                    "growheap-harness: the host could not grow {} pages before call `{call}`: \
                     --grow-limit leaves too few",
                    args.host_grow
                );
                return Ok(None);
            };
            println!(
                "host grew pages {}..{}, filled with the sentinel",
                run.first_page,
                run.first_page + run.pages
            );
        }
        let report = session.call(call)?;
        print!("{report}");
        failures += report.failures.len();
    }
    if failures == 0 {
        println!("all checks passed after {} calls", args.calls.len());
    } else {
        println!("{failures} checks FAILED");
    }
    Ok(Some(failures == 0))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.split_first() {
        Some((command, rest)) if command == "run" && !rest.is_empty() => {
            match run_command(&rest[0], &rest[1..]) {
                Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
                Err(error) => {
                    eprintln!("growheap-harness: {}: {error:?}", rest[0]);
                    ExitCode::from(101)
                }
            }
        }
        Some((command, rest)) if command == "check" => match parse_check(rest) {
            Ok(parsed) => match check(&parsed) {
                Ok(Some(true)) => ExitCode::SUCCESS,
                Ok(Some(false)) => ExitCode::FAILURE,
                Ok(None) => ExitCode::from(2),
                Err(error) => {
                    eprintln!("growheap-harness: {}: {error:?}", parsed.guest.display());
                    ExitCode::from(101)
                }
            },
            Err(message) => {
                eprintln!("growheap-harness: {message}\n{USAGE}");
                ExitCode::from(2)
            }
        },
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}
