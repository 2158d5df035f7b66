//! growheap-harness: runs wasm guests under wasmtime.
//!
//! - `growheap-harness run GUEST.wasm [ARGS...]` runs a `wasm32-wasip1` command with stdio, args
//!   and environment, and exits with its exit code: the cargo runner for `wasm32-wasip1`.
//! - `growheap-harness check GUEST.wasm [--call NAME]... [--host-grow PAGES] [--grow-limit PAGES]`
//!   calls each export in turn (`_start` without `--call`), checks the heap's page counts after
//!   each, prints a report, and exits with 1 when a check failed, 2 on bad usage and 101 when the
//!   guest cannot be loaded or lacks an export that `--call` names.

use growheap_harness::command::run_command;
use growheap_harness::{GuestOptions, Session};
use std::path::PathBuf;
use std::process::ExitCode;
use wasmtime::bail;

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

/// `check`'s arguments, in any order; `None` for `--help`.
fn parse_check(args: &[String]) -> Result<Option<CheckArgs>, String> {
    let mut guest = None;
    let (mut calls, mut host_grow) = (Vec::new(), 0);
    let mut options = GuestOptions { inherit_stdio: true, ..GuestOptions::default() };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if !arg.starts_with('-') {
            if let Some(first) = guest.replace(PathBuf::from(arg)) {
                return Err(format!("check takes one GUEST.wasm, not {} and {arg}", first.display()));
            }
            continue;
        }
        let mut value = || {
            args.next().filter(|value| !value.starts_with("--")).ok_or_else(|| format!("{arg} needs a value"))
        };
        let pages = |value: &String| {
            value.parse::<u64>().map_err(|_| format!("{arg} takes a page count, not {value:?}"))
        };
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--call" => calls.push(value()?.clone()),
            "--host-grow" => host_grow = pages(value()?)?,
            "--grow-limit" => options.grow_limit = Some(pages(value()?)?),
            _ => return Err(format!("unknown option {arg}")),
        }
    }
    let guest = guest.ok_or("check needs a GUEST.wasm")?;
    if calls.is_empty() {
        calls.push("_start".into());
    }
    Ok(Some(CheckArgs { guest, calls, host_grow, options }))
}

/// Run the checks and print the report; whether every check passed, or `None` on bad usage found
/// once the guest is loaded: a `--call` of a function that takes parameters, or a `--host-grow`
/// that the host cannot make (past `--grow-limit` or the memory's maximum).
fn check(args: &CheckArgs) -> wasmtime::Result<Option<bool>> {
    let mut session = Session::load(&args.guest, &args.options)?;
    for call in &args.calls {
        match session.guest.parameter_count(call) {
            None => bail!("exports no function `{call}` to call"),
            Some(0) => {}
            Some(count) => {
                eprintln!(
                    "growheap-harness: `{call}` takes {count} parameters; --call takes only functions without any"
                );
                return Ok(None);
            }
        }
    }
    println!(
        "guest {}: {} pages declared, {} after instantiation",
        args.guest.display(),
        session.guest.initial_pages,
        session.guest.pages()
    );
    let mut failures = 0;
    for (index, call) in args.calls.iter().enumerate() {
        if index > 0 && args.host_grow > 0 {
            let pages_before = session.guest.pages();
            let run = match session.grow_from_host(args.host_grow) {
                Ok(run) => run,
                Err(error) => {
                    let wanted = pages_before.saturating_add(args.host_grow);
                    let cap = args
                        .options
                        .grow_limit
                        .map(|limit| session.guest.initial_pages.saturating_add(limit));
                    let reason = match (cap, session.guest.maximum_pages()) {
                        (Some(cap), _) if wanted > cap => {
                            format!("--grow-limit leaves too few ({pages_before} of {cap} pages used)")
                        }
                        (_, Some(maximum)) if wanted > maximum => format!(
                            "past the memory's declared maximum of {maximum} pages ({pages_before} used; {error:#})"
                        ),
                        _ => format!("{error:#}"),
                    };
                    eprintln!(
                        "growheap-harness: the host could not grow {} pages before call `{call}`: {reason}",
                        args.host_grow
                    );
                    return Ok(None);
                }
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
        Some((command, _)) if ["-h", "--help", "help"].contains(&command.as_str()) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some((command, rest)) if command == "check" => match parse_check(rest) {
            Ok(None) => {
                println!("{USAGE}");
                ExitCode::SUCCESS
            }
            Ok(Some(parsed)) => match check(&parsed) {
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
