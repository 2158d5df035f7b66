//! The workloads as a wasip1 command: `_start` runs each once and prints what it did.

use growheap_guest_workloads::{
    alignment_mix, free_and_reuse, realloc_ladder, release_retained, retain_megabyte, small_strings,
    vec_doubling,
};

fn main() {
    let workloads: [(&str, extern "C" fn() -> i32); 7] = [
        ("vec_doubling", vec_doubling),
        ("small_strings", small_strings),
        ("realloc_ladder", realloc_ladder),
        ("free_and_reuse", free_and_reuse),
        ("alignment_mix", alignment_mix),
        ("retain_megabyte", retain_megabyte),
        ("release_retained", release_retained),
    ];
    for (name, workload) in workloads {
        println!("{name}: {}", workload());
    }
}
