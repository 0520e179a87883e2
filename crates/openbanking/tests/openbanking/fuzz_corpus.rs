//! Replays the kept corpus of the `openbanking_json` fuzz target through the same function
//! the target calls.

use std::path::PathBuf;

use ginkgo_openbanking::fuzzing::openbanking_json;

#[test]
fn the_openbanking_json_corpus_replays_cleanly() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/openbanking_json");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()));
    let mut replayed = 0;
    for entry in entries {
        let path = entry.expect("corpus entry").path();
        if path.is_file() {
            let data = std::fs::read(&path).expect("read corpus file");
            openbanking_json(&data);
            replayed += 1;
        }
    }
    assert!(replayed > 0, "corpus {} is empty", dir.display());
}
