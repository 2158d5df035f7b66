//! The command line: `check` prints a report and fails on a failed check; `run` is the runner.

mod common;

use common::{GuestKind, guest_path, write_module};
use std::process::{Command, Output};

fn harness(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_growheap-harness")).args(args).output().expect("the harness runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn check_reports_each_call_and_passes() {
    let guest = guest_path(GuestKind::Workloads, "release");
    let args = ["check", guest.to_str().unwrap(), "--call", "vec_doubling", "--call", "retain_megabyte"];
    let output = harness(&[&args[..], &["--call", "retain_megabyte", "--host-grow", "2"]].concat());
    let report = stdout(&output);
    assert!(output.status.success(), "{report}");
    for expected in
        ["call vec_doubling", "  pages ", "host grew pages", "grow_calls", "all checks passed after 3 calls"]
    {
        assert!(report.contains(expected), "{expected:?} not in\n{report}");
    }
}

#[test]
fn check_exits_non_zero_when_a_check_fails() {
    let guest = guest_path(GuestKind::Rogue, "debug");
    let output = harness(&["check", guest.to_str().unwrap(), "--call", "grow_behind_heap"]);
    let report = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{report}");
    assert!(
        report.contains("FAILED: guest `growheap_guest_rogue.wasm`, after call `grow_behind_heap`"),
        "{report}"
    );
}

#[test]
fn check_without_calls_runs_start() {
    let guest = guest_path(GuestKind::WorkloadsCommand, "debug");
    let output = harness(&["check", guest.to_str().unwrap()]);
    let report = stdout(&output);
    assert!(output.status.success(), "{report}");
    assert!(report.contains("call _start"), "{report}");
    assert!(report.contains("vec_doubling: "), "the guest's own output is shown:\n{report}");
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A plain module with a one-page memory that may grow to two, a `growheap_stats` export whose
/// snapshot says nothing grew, and the function `body`.
fn module_with_stats(name: &str, body: &str) -> String {
    let path = write_module(
        name,
        &format!(
            r#"(module
                (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
                (memory (export "memory") 1 2)
                (data (i32.const 0) "\01")
                (func (export "growheap_stats") (result i32) i32.const 0)
                {body})"#
        ),
    );
    path.to_str().unwrap().to_owned()
}

#[test]
fn run_passes_args_and_the_exit_code_through() {
    let guest = guest_path(GuestKind::WorkloadsCommand, "debug");
    let output = harness(&["run", guest.to_str().unwrap()]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("release_retained: 1"));

    // Exits with its argument count: its own path and the two passed.
    let count_args = r#"(module
        (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
        (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
        (memory (export "memory") 1)
        (func (export "_start")
            (drop (call $sizes (i32.const 0) (i32.const 4)))
            (call $exit (i32.load (i32.const 0)))))"#;
    let path = write_module("count_args.wat", count_args);
    assert_eq!(harness(&["run", path.to_str().unwrap(), "one", "--two"]).status.code(), Some(3));

    let exit_code = 3;
    let command = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") i32.const {exit_code} call $exit))"#
    );
    let path = write_module("exit.wat", &command);
    assert_eq!(harness(&["run", path.to_str().unwrap()]).status.code(), Some(exit_code));
}

#[test]
fn bad_usage_exits_with_two() {
    assert_eq!(harness(&["check"]).status.code(), Some(2));
    assert_eq!(harness(&["check", "x.wasm", "--grow-limit", "many"]).status.code(), Some(2));
    assert_eq!(harness(&[]).status.code(), Some(2));
    // A host growth that the host's own cap refuses: the options contradict each other.
    let guest = guest_path(GuestKind::Workloads, "release");
    let args = ["--call", "retain_megabyte", "--call", "retain_megabyte", "--host-grow", "3"];
    let output = harness(&[&["check", guest.to_str().unwrap(), "--grow-limit", "2"][..], &args].concat());
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(stderr(&output).contains("--grow-limit leaves too few"));
}

#[test]
fn each_kind_of_bad_usage_says_what_is_wrong() {
    let guest = guest_path(GuestKind::Workloads, "release");
    let guest = guest.to_str().unwrap();
    for (args, expected) in [
        (&["check", guest, "--bogus", "1"][..], "unknown option --bogus"),
        (&["check", guest, "--call"], "--call needs a value"),
        (&["check", guest, "--call", "--host-grow", "2"], "--call needs a value"),
        (&["check", "--call", "vec_doubling"], "check needs a GUEST.wasm"),
        (&["check", guest, "other.wasm"], "check takes one GUEST.wasm"),
        (&["check", guest, "--host-grow", "-1"], "--host-grow takes a page count"),
    ] {
        let output = harness(args);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {}", stderr(&output));
        assert!(stderr(&output).contains(expected), "{args:?}: {expected:?} not in {}", stderr(&output));
    }
    // Options may come before the guest.
    let output = harness(&["check", "--call", "vec_doubling", guest]);
    assert!(output.status.success(), "{}", stdout(&output));
    for args in [&["--help"][..], &["check", "--help"]] {
        let output = harness(args);
        assert!(output.status.success() && stdout(&output).starts_with("usage:"), "{args:?}");
    }
}

#[test]
fn a_call_with_parameters_is_bad_usage_and_nothing_runs() {
    let guest = module_with_stats("params.wat", r#"(func (export "takes_one") (param i32) unreachable)"#);
    let output = harness(&["check", &guest, "--call", "takes_one"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    assert!(stderr(&output).contains("`takes_one` takes 1 parameters"), "{}", stderr(&output));
    assert!(!stdout(&output).contains("call takes_one"), "{}", stdout(&output));
}

#[test]
fn a_host_growth_past_the_memory_maximum_is_bad_usage_that_names_the_engine_refusal() {
    let guest = module_with_stats("max.wat", r#"(func (export "nothing"))"#);
    let output = harness(&["check", &guest, "--call", "nothing", "--call", "nothing", "--host-grow", "2"]);
    assert_eq!(output.status.code(), Some(2), "{}", stdout(&output));
    let message = stderr(&output);
    assert!(message.contains("the host could not grow 2 pages before call `nothing`"), "{message}");
    assert!(message.contains("past the memory's declared maximum of 2 pages"), "{message}");
    assert!(!message.contains("--grow-limit"), "no --grow-limit was given: {message}");
}

#[test]
fn a_guest_that_exits_non_zero_fails_its_check() {
    let guest = module_with_stats("exit.wat", r#"(func (export "quit") i32.const 7 call $exit)"#);
    let output = harness(&["check", &guest, "--call", "quit"]);
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    assert!(stdout(&output).contains("after call `quit`: exited with code 7"), "{}", stdout(&output));
}

#[test]
fn a_guest_that_cannot_be_loaded_or_lacks_a_call_exits_with_101() {
    let not_wasm = write_module("not_wasm.wasm", "this is not a module");
    let output = harness(&["check", not_wasm.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(101), "{}", stderr(&output));
    assert!(stderr(&output).contains("not_wasm.wasm"), "{}", stderr(&output));
    let guest = module_with_stats("lacks.wat", r#"(func (export "nothing"))"#);
    let output = harness(&["check", &guest, "--call", "nothing", "--call", "missing"]);
    assert_eq!(output.status.code(), Some(101), "{}", stderr(&output));
    assert!(stderr(&output).contains("exports no function `missing`"), "{}", stderr(&output));
    assert!(!stdout(&output).contains("call nothing"), "nothing runs: {}", stdout(&output));
}
