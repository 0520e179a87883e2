//! Replays the kept corpus of the `domain_parsers` fuzz target through the same function the
//! target calls, and the inputs that once failed it.

use std::path::PathBuf;

use ginkgo_domain::fuzzing::domain_parsers;

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn the_domain_parsers_corpus_replays_cleanly() {
    let dir = corpus_dir("domain_parsers");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()));
    let mut replayed = 0;
    for entry in entries {
        let path = entry.expect("corpus entry").path();
        if path.is_file() {
            let data = std::fs::read(&path).expect("read corpus file");
            domain_parsers(&data);
            replayed += 1;
        }
    }
    assert!(replayed > 0, "corpus {} is empty", dir.display());
}
