//! Pages the host grows between guest calls, filled with a sentinel the guest must not touch.

use crate::recorder::PAGE_BYTES;
use std::ops::Range;

/// The byte written over every host-grown page.
pub const SENTINEL: u8 = 0xA5;

/// A run of pages grown by the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPages {
    /// First page of the run.
    pub first_page: u64,
    /// Pages in the run.
    pub pages: u64,
}

/// A byte of host pages the guest changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trampled {
    /// Byte offset in linear memory.
    pub offset: usize,
    /// What is there now.
    pub found: u8,
}

impl HostPages {
    /// The run's bytes in linear memory.
    #[must_use]
    pub fn byte_range(&self) -> Range<usize> {
        let start = self.first_page as usize * PAGE_BYTES;
        start..start + self.pages as usize * PAGE_BYTES
    }

    /// Write the sentinel over the whole run.
    pub fn fill(&self, memory: &mut [u8]) {
        memory[self.byte_range()].fill(SENTINEL);
    }

    /// The first byte of the run that no longer holds the sentinel.
    #[must_use]
    pub fn first_trampled(&self, memory: &[u8]) -> Option<Trampled> {
        let range = self.byte_range();
        let start = range.start;
        let bytes = memory.get(range).unwrap_or_default();
        let position = bytes.iter().position(|&byte| byte != SENTINEL)?;
        Some(Trampled { offset: start + position, found: bytes[position] })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_byte_is_found_at_its_offset() {
        let run = HostPages { first_page: 1, pages: 2 };
        let mut memory = vec![0; 4 * PAGE_BYTES];
        run.fill(&mut memory);
        assert_eq!(run.first_trampled(&memory), None);
        let offset = 2 * PAGE_BYTES + 77;
        memory[offset] = 0;
        assert_eq!(run.first_trampled(&memory), Some(Trampled { offset, found: 0 }));
        assert_eq!(memory[0], 0, "fill stays inside the run");
    }
}
