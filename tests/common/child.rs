//! Tests of what must end the program (a panic that may not unwind out of the allocator): the
//! test runs its own binary again as a child process, which does the deed, and reads what the
//! child printed.

use std::process::{Command, ExitStatus};

/// Whether this process is the child that `run_as_child` started for the test `test`.
pub fn is_child(test: &str) -> bool {
    std::env::var_os(VARIABLE).is_some_and(|name| name == test)
}

/// Run only the test `test` of this binary in a child process, with the environment variable
/// `variable` set if given; its exit status and what it printed to standard error.
pub fn run_as_child(test: &str, variable: Option<(&str, &str)>) -> (ExitStatus, String) {
    let mut command = Command::new(std::env::current_exe().expect("the test binary's path"));
    command.args([test, "--exact", "--nocapture", "--test-threads=1"]).env(VARIABLE, test);
    if let Some((name, value)) = variable {
        command.env(name, value);
    }
    let child = command.output().expect("the test binary runs again");
    (child.status, String::from_utf8_lossy(&child.stderr).into_owned())
}

/// Names the test a child process is for.
const VARIABLE: &str = "GROWHEAP_TEST_CHILD";
