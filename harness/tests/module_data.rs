//! A heap with the default settings is all zeros, so its `static` lies in `.bss`: the linker
//! writes none of it into the module's data segments. Otherwise every module would carry the
//! heap's bytes (5,816 of them for `GrowHeap` on wasm32), which only a `wasm-opt` pass takes out
//! again.

mod common;

use common::{GuestKind, PROFILES, guest_path, session};
use std::ops::Range;

/// A module's bytes, read in order.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        self.at += 1;
        self.bytes[self.at - 1]
    }

    /// A LEB128 number, signed or not; a signed one is not sign-extended, which is enough for
    /// the non-negative offsets of data segments.
    fn leb128(&mut self) -> u64 {
        let (mut value, mut shift) = (0, 0);
        loop {
            let byte = self.byte();
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return value;
            }
            shift += 7;
        }
    }

    fn size(&mut self) -> usize {
        usize::try_from(self.leb128()).unwrap()
    }
}

/// The memory each active data segment of the module `bytes` writes at instantiation.
fn data_segments(bytes: &[u8]) -> Vec<Range<u64>> {
    assert_eq!(bytes.get(..8), Some(&b"\0asm\x01\0\0\0"[..]), "not a wasm module");
    let mut reader = Reader { bytes, at: 8 };
    let mut segments = Vec::new();
    while reader.at < bytes.len() {
        let (id, length) = (reader.byte(), reader.size());
        if id != 11 {
            reader.at += length;
            continue;
        }
        for _ in 0..reader.size() {
            let flags = reader.leb128();
            if flags == 1 {
                // Passive: written only by `memory.init`.
                let length = reader.size();
                reader.at += length;
                continue;
            }
            if flags == 2 {
                reader.leb128(); // the memory's index
            }
            // The offset: `i32.const` (0x41) or `i64.const` (0x42), then `end` (0x0b).
            let opcode = reader.byte();
            assert!(opcode == 0x41 || opcode == 0x42, "an offset that is not a constant: {opcode:#x}");
            let start = reader.leb128();
            assert_eq!(reader.byte(), 0x0b, "an offset expression longer than one constant");
            let length = reader.size();
            reader.at += length;
            segments.push(start..start + length as u64);
        }
    }
    segments
}

#[test]
fn no_data_segment_holds_the_default_heap() {
    for kind in [GuestKind::Workloads, GuestKind::WorkloadsCompact] {
        for profile in PROFILES {
            let what = format!("{kind:?} ({profile})");
            let segments = data_segments(&std::fs::read(guest_path(kind, profile)).unwrap());
            assert!(!segments.is_empty(), "{what}: no data segment at all");
            let mut session = session(kind, profile);
            let mut call = |name| u64::from(session.call(name).unwrap().result_i32().unwrap() as u32);
            let start = call("heap_static_address");
            let heap = start..start + call("heap_static_bytes");
            assert!(heap.end - heap.start > 64, "{what}: a heap of {heap:?}");
            for segment in &segments {
                assert!(
                    segment.end <= heap.start || heap.end <= segment.start,
                    "{what}: the data segment {segment:x?} holds part of the heap, {heap:x?}"
                );
            }
        }
    }
}
