//! Decoding the `growheap_stats` snapshot: eleven little-endian `u64` in guest memory.

use growheap::{SNAPSHOT_VERSION as LAYOUT_VERSION, SNAPSHOT_WORDS, Stats};
use wasmtime::bail;

/// Bytes of the snapshot in guest memory.
pub const SNAPSHOT_BYTES: usize = SNAPSHOT_WORDS * 8;

/// The statistics in a snapshot, after checking its layout version.
///
/// # Errors
/// When the version word is not [`LAYOUT_VERSION`] or the slice is short.
pub fn decode(bytes: &[u8]) -> wasmtime::Result<Stats> {
    let Some(bytes) = bytes.get(..SNAPSHOT_BYTES) else {
        bail!("stats snapshot runs past the end of memory");
    };
    let mut words = [0u64; SNAPSHOT_WORDS];
    for (word, chunk) in words.iter_mut().zip(bytes.chunks_exact(8)) {
        *word = u64::from_le_bytes(chunk.try_into().expect("chunks_exact gives 8 bytes"));
    }
    match Stats::from_snapshot(&words) {
        Some(stats) => Ok(stats),
        None => bail!(
            "stats snapshot has layout version {}, this harness reads version {LAYOUT_VERSION}",
            words[0]
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(words: &[u64]) -> Vec<u8> {
        words.iter().flat_map(|word| word.to_le_bytes()).collect()
    }

    #[test]
    fn fields_follow_the_version_in_declaration_order() {
        let mut words = vec![LAYOUT_VERSION];
        words.extend(1..SNAPSHOT_WORDS as u64);
        let stats = decode(&encode(&words)).unwrap();
        assert_eq!((stats.grow_calls, stats.failed_grows, stats.pages_grown), (1, 2, 3));
        assert_eq!((stats.foreign_pages, stats.heap_bytes, stats.live_bytes), (4, 5, 6));
        assert_eq!((stats.peak_live_bytes, stats.allocations, stats.deallocations), (7, 8, 9));
        assert_eq!(stats.reallocations, 10);
    }

    #[test]
    fn another_layout_version_is_refused() {
        let words = [LAYOUT_VERSION + 1; SNAPSHOT_WORDS];
        let error = decode(&encode(&words)).unwrap_err().to_string();
        assert!(error.contains("layout version"), "{error}");
    }

    #[test]
    fn a_short_snapshot_is_refused() {
        assert!(decode(&encode(&[LAYOUT_VERSION])).is_err());
    }
}
