//! A checking session: call a guest's exports one by one, check its page counts after each.

use crate::checks::{self, HostCounts};
use crate::guest::{Guest, GuestOptions};
use crate::host_pages::{HostPages, SENTINEL};
use crate::recorder::{GrowRequest, Grower, PAGE_BYTES};
use growheap::Stats;
use std::fmt;
use std::path::Path;
use wasmtime::{Val, bail};

/// A check that failed, naming the guest and the call after which it failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckFailure {
    /// The guest's file name.
    pub guest: String,
    /// The export that had just run.
    pub call: String,
    /// What disagreed, with both figures.
    pub problem: String,
}

impl fmt::Display for CheckFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "guest `{}`, after call `{}`: {}", self.guest, self.call, self.problem)
    }
}

/// What one call did and what the checks found.
#[derive(Debug)]
pub struct CallReport {
    /// The export called.
    pub call: String,
    /// Memory pages before the call.
    pub pages_before: u64,
    /// Memory pages after the call.
    pub pages_after: u64,
    /// The guest's `memory.grow` requests during the call.
    pub guest_grows: Vec<GrowRequest>,
    /// The call's results, if it returned.
    pub results: Vec<Val>,
    /// The heap's statistics before the call.
    pub stats_before: Stats,
    /// The heap's statistics after the call.
    pub stats: Stats,
    /// The host's own counts after the call.
    pub host: HostCounts,
    /// Every failed check; empty when all passed.
    pub failures: Vec<CheckFailure>,
}

impl CallReport {
    /// The first result as an `i32`, for workloads that return a count.
    #[must_use]
    pub fn result_i32(&self) -> Option<i32> {
        self.results.first().and_then(Val::i32)
    }

    /// The guest's `memory.grow` requests that the host refused during the call.
    #[must_use]
    pub fn guest_refused(&self) -> u64 {
        self.guest_grows.iter().filter(|request| !request.granted).count() as u64
    }

    /// Panic unless the host refused at least one of the guest's `memory.grow` requests during
    /// the call and `failed_grows` rose by exactly as many (for tests). That holds for a heap
    /// without a cap of its own whose every request fits in the address space: each refusal it
    /// counts is then a `memory.grow` that returned -1, which the host logged. A heap that says it
    /// was refused when the host refused nothing, or counts more refusals than the host made,
    /// fails here; one that counts fewer fails the refusal check of every call.
    ///
    /// # Panics
    /// When the host refused nothing, or the rise in `failed_grows` is another number.
    pub fn assert_refused_by_host(&self) {
        let refused = self.guest_refused();
        let rise = self.stats.failed_grows.saturating_sub(self.stats_before.failed_grows);
        assert!(
            refused > 0,
            "call `{}`: the host refused no memory.grow, but failed_grows rose by {rise}",
            self.call
        );
        assert_eq!(
            rise, refused,
            "call `{}`: failed_grows rose by {rise}, but the host refused {refused} memory.grow calls",
            self.call
        );
    }

    /// Panic with every failure if any check failed (for tests).
    ///
    /// # Panics
    /// When a check failed.
    pub fn assert_passed(&self) {
        let lines: Vec<String> = self.failures.iter().map(ToString::to_string).collect();
        assert!(lines.is_empty(), "checks failed:\n{}", lines.join("\n"));
    }
}

/// A guest under check, with the pages the host grew in it.
pub struct Session {
    /// The guest.
    pub guest: Guest,
    /// Runs of pages the host grew, each filled with [`SENTINEL`].
    pub host_runs: Vec<HostPages>,
}

impl Session {
    /// Load the guest at `path`.
    ///
    /// # Errors
    /// As [`Guest::load`].
    pub fn load(path: &Path, options: &GuestOptions) -> wasmtime::Result<Session> {
        Ok(Session { guest: Guest::load(path, options)?, host_runs: Vec::new() })
    }

    /// Call the export `name` and check the page counts afterwards. A trap, or a WASI exit with a
    /// code other than 0, is reported as a failed check, not as an error.
    ///
    /// # Errors
    /// When the export is missing or takes parameters, or the statistics cannot be read.
    pub fn call(&mut self, name: &str) -> wasmtime::Result<CallReport> {
        match self.guest.parameter_count(name) {
            None => bail!("{} exports no function `{name}`", self.guest.name()),
            Some(0) => {}
            Some(count) => {
                bail!("`{name}` takes {count} parameters; only functions without any can be called")
            }
        }
        let stats_before = self.guest.read_stats()?;
        let pages_before = self.guest.pages();
        let log_start = self.guest.store.data().recorder.requests.len();
        let outcome = self.guest.call(name);
        let mut failures = Vec::new();
        let results = match outcome {
            Ok(results) => results,
            Err(error) => {
                let problem = match error.downcast_ref::<wasmtime_wasi::I32Exit>() {
                    Some(exit) => format!("exited with code {}", exit.0),
                    None => format!("trapped: {error:#}"),
                };
                failures.push(self.failure(name, problem));
                Vec::new()
            }
        };
        let stats = self.guest.read_stats()?;
        let requests = &self.guest.store.data().recorder.requests;
        let guest_grows = requests[log_start..].iter().filter(|r| r.by == Grower::Guest).copied().collect();
        let host = HostCounts::tally(self.guest.initial_pages, self.guest.pages(), requests);
        let problems = checks::compare(&host, &stats)
            .into_iter()
            .chain(checks::consistency(&stats_before, &stats, self.guest.claimable_bytes))
            .chain(self.trampled_host_pages());
        for problem in problems {
            failures.push(self.failure(name, problem));
        }
        let pages_after = host.pages;
        Ok(CallReport {
            call: name.into(),
            pages_before,
            pages_after,
            guest_grows,
            results,
            stats_before,
            stats,
            host,
            failures,
        })
    }

    /// Grow memory by `pages` from the host and fill the new pages with [`SENTINEL`].
    ///
    /// # Errors
    /// When the growth is refused.
    pub fn grow_from_host(&mut self, pages: u64) -> wasmtime::Result<HostPages> {
        let first_page = self.guest.grow_from_host(pages)?;
        let run = HostPages { first_page, pages };
        run.fill(self.guest.memory_bytes_mut());
        self.host_runs.push(run.clone());
        Ok(run)
    }

    /// A description of each host run whose sentinel the guest overwrote.
    fn trampled_host_pages(&self) -> Vec<String> {
        let memory = self.guest.memory_bytes();
        let describe = |run: &HostPages| {
            let trampled = run.first_trampled(memory)?;
            Some(format!(
                "the guest wrote into host-grown pages {}..{}: byte {} (page {}) is {:#04x}, not the sentinel {SENTINEL:#04x}",
                run.first_page,
                run.first_page + run.pages,
                trampled.offset,
                trampled.offset / PAGE_BYTES,
                trampled.found
            ))
        };
        self.host_runs.iter().filter_map(describe).collect()
    }

    fn failure(&self, call: &str, problem: String) -> CheckFailure {
        CheckFailure { guest: self.guest.name(), call: call.into(), problem }
    }
}
