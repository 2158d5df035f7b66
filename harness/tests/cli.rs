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

#[test]
fn run_passes_args_and_the_exit_code_through() {
    let guest = guest_path(GuestKind::WorkloadsCommand, "debug");
    let output = harness(&["run", guest.to_str().unwrap(), "ignored-arg"]);
    assert!(output.status.success());
    assert!(stdout(&output).contains("release_retained: 1"));

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
    assert!(String::from_utf8_lossy(&output.stderr).contains("--grow-limit leaves too few"));
}
