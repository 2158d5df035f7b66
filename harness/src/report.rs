//! The readable report of the `check` command.

use crate::session::CallReport;
use std::fmt;

impl fmt::Display for CallReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let results: Vec<String> = self.results.iter().map(|value| format!("{value:?}")).collect();
        writeln!(f, "call {}  -> [{}]", self.call, results.join(", "))?;
        let grown: u64 = self.guest_grows.iter().filter(|r| r.granted).map(|r| r.delta()).sum();
        let refused = self.guest_refused();
        writeln!(
            f,
            "  pages {} -> {}  (guest memory.grow: {} granted, +{grown} pages; {refused} refused)",
            self.pages_before,
            self.pages_after,
            self.guest_grows.len() as u64 - refused,
        )?;
        let host = &self.host;
        let rows = [
            ("grow_calls", self.stats.grow_calls, host.guest_grow_calls, "memory.grow calls granted"),
            ("pages_grown", self.stats.pages_grown as u64, host.guest_pages_grown, "pages they added"),
            (
                "failed_grows",
                self.stats.failed_grows,
                host.guest_refused,
                "memory.grow calls refused (the heap's own cap refuses more)",
            ),
            (
                "foreign_pages",
                self.stats.foreign_pages as u64,
                host.host_pages_before_last_guest_grow,
                "host pages before the guest's last growth",
            ),
        ];
        writeln!(f, "  {:<14} {:>8} {:>8}", "stat", "guest", "host")?;
        for (name, guest, host, meaning) in rows {
            writeln!(f, "  {name:<14} {guest:>8} {host:>8}   {meaning}")?;
        }
        writeln!(
            f,
            "  pages: memory {} vs initial {} + pages_grown {} + host-grown {} = {}",
            host.pages,
            host.initial_pages,
            self.stats.pages_grown,
            host.host_pages,
            host.expected_pages(&self.stats)
        )?;
        let s = &self.stats;
        writeln!(
            f,
            "  heap: {} bytes, {} live (peak {}), {} allocs, {} frees, {} reallocs",
            s.heap_bytes, s.live_bytes, s.peak_live_bytes, s.allocations, s.deallocations, s.reallocations
        )?;
        if self.failures.is_empty() {
            writeln!(f, "  ok")
        } else {
            self.failures.iter().try_for_each(|failure| writeln!(f, "  FAILED: {failure}"))
        }
    }
}
