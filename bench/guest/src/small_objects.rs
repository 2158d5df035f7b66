//! small objects: `String`s and boxed byte slices of 8 to 256 bytes in two ordered maps, removed
//! in random order, then built again and dropped.

use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// Objects of each kind (strings, boxes).
const OBJECTS_PER_KIND: u32 = 5000;
const SIZES: core::ops::RangeInclusive<usize> = 8..=256;
/// Build, free, build again, free: each object is allocated twice and freed twice.
const OPERATIONS_PER_OBJECT: u32 = 4;

struct Maps {
    strings: BTreeMap<u32, String>,
    boxes: BTreeMap<u32, Box<[u8]>>,
}

fn build(rng: &mut fastrand::Rng) -> Maps {
    let mut maps = Maps { strings: BTreeMap::new(), boxes: BTreeMap::new() };
    for key in 0..OBJECTS_PER_KIND {
        let letter = char::from(b'a' + (key % 26) as u8);
        let text: String = core::iter::repeat_n(letter, rng.usize(SIZES)).collect();
        maps.strings.insert(key, text);
        let bytes: Box<[u8]> = alloc::vec![key as u8; rng.usize(SIZES)].into_boxed_slice();
        maps.boxes.insert(key, bytes);
    }
    maps
}

fn drop_in_random_order(maps: &mut Maps, rng: &mut fastrand::Rng) {
    let mut keys: Vec<u32> = (0..OBJECTS_PER_KIND).collect();
    rng.shuffle(&mut keys);
    for key in keys {
        maps.strings.remove(&key);
        maps.boxes.remove(&key);
    }
}

/// Objects allocated or freed in one run, for the host.
#[unsafe(no_mangle)]
pub extern "C" fn small_objects_per_run() -> u32 {
    2 * OBJECTS_PER_KIND * OPERATIONS_PER_OBJECT
}

/// One run: build, drop in random order, build again, drop. Returns the object operations.
#[unsafe(no_mangle)]
pub extern "C" fn small_objects() -> u32 {
    let mut rng = crate::seeded_rng();
    let mut maps = build(&mut rng);
    drop_in_random_order(&mut maps, &mut rng);
    let rebuilt = build(&mut rng);
    drop(rebuilt);
    small_objects_per_run()
}
