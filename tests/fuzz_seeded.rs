//! The fuzz body (`tests/common/actions.rs`, also run by `fuzz/`) on seeded random inputs, so
//! that plain `cargo test` exercises it.

mod common;

#[test]
fn fuzz_body_on_seeded_inputs() {
    let (inputs, length) = if cfg!(miri) { (3, 120) } else { (300, 3000) };
    let mut rng = fastrand::Rng::with_seed(0x9e3779b97f4a7c15);
    for _ in 0..inputs {
        let data: Vec<u8> = (0..rng.usize(1..=length)).map(|_| rng.u8(..)).collect();
        common::actions::run(&data);
    }
}

#[test]
#[cfg_attr(miri, ignore = "multi-page blocks are too slow under Miri; the seeded inputs cover it")]
#[cfg_attr(target_arch = "wasm32", ignore = "the wasm runner gives the guest no file system")]
fn fuzz_body_on_the_committed_corpus() {
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/heap_actions");
    let Ok(entries) = std::fs::read_dir(&corpus) else {
        panic!("the corpus {} is missing", corpus.display());
    };
    let mut ran = 0;
    for entry in entries {
        common::actions::run(&std::fs::read(entry.unwrap().path()).unwrap());
        ran += 1;
    }
    assert!(ran > 0, "empty corpus");
}
