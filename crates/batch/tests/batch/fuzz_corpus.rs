//! The `provider_files` fuzz target's function, on its kept corpus and on generated inputs,
//! plus the reading-from-memory entry point it relies on.

use std::path::PathBuf;

use proptest::prelude::*;

use ginkgo_batch::fuzzing::{
    Encoding, HOLDINGS_CSV, INSTRUMENTS_CSV, PRINCIPALS_CSV, build_file, provider_files, read_day,
    selector,
};
use ginkgo_batch::{Format, MemoryFile, Snapshot};
use ginkgo_domain::snapshot::SnapshotFile;

use crate::{load, temp_dir, write_day};

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

#[test]
fn the_provider_files_corpus_replays_cleanly() {
    let dir = corpus_dir("provider_files");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus {} is missing: {e}", dir.display()));
    let mut replayed = 0;
    for entry in entries {
        let path = entry.expect("corpus entry").path();
        if path.is_file() {
            let data = std::fs::read(&path).expect("read corpus file");
            provider_files(&data);
            replayed += 1;
        }
    }
    assert!(replayed > 0, "corpus {} is empty", dir.display());
}

#[test]
fn a_day_in_memory_reads_like_the_same_day_on_disk() {
    let dir = temp_dir("memory-vs-disk");
    write_day(&dir, INSTRUMENTS_CSV, HOLDINGS_CSV, PRINCIPALS_CSV);
    let (disk, disk_holdings, disk_report) = load(&dir);
    let memory = Snapshot::from_memory(
        MemoryFile::new(Format::Csv, INSTRUMENTS_CSV),
        MemoryFile::new(Format::Csv, HOLDINGS_CSV),
        MemoryFile::new(Format::Csv, PRINCIPALS_CSV),
    )
    .expect("open from memory");
    let (holdings, report) = memory.read_all().expect("read from memory");
    assert_eq!(holdings, disk_holdings);
    assert_eq!(report, disk_report);
    assert_eq!(holdings.len(), 3);
    assert_eq!(memory.instruments(), disk.instruments());
    assert_eq!(memory.principals(), disk.principals());
    let sums = |s: &Snapshot| {
        s.files()
            .iter()
            .map(|f| (f.sha256.clone(), f.bytes))
            .collect::<Vec<_>>()
    };
    assert_eq!(sums(&memory), sums(&disk));
    assert_eq!(memory.files()[1].name, "account_asset_info_set.csv");
}

#[test]
fn each_storage_of_a_valid_file_loads_every_row() {
    for encoding in [
        Encoding::Utf8,
        Encoding::Utf8Bom,
        Encoding::Cp949,
        Encoding::XlsxCells,
    ] {
        let file = build_file(encoding, HOLDINGS_CSV.as_bytes()).expect("storable");
        let day =
            read_day(SnapshotFile::Holdings, file).unwrap_or_else(|e| panic!("{encoding:?}: {e}"));
        assert_eq!(day.holdings.len(), 3, "{encoding:?}");
        assert_eq!(day.report.total_rejected(), 0, "{encoding:?}");
        assert_eq!(day.instruments, 3);
        assert_eq!(day.principals, 2);
    }
}

#[test]
fn a_fatal_error_in_memory_names_the_file() {
    let err = read_day(
        SnapshotFile::Principals,
        MemoryFile::new(Format::Csv, "계좌번호\n123456\n"),
    )
    .expect_err("missing column");
    assert!(err.contains("account_basic_info_set.csv"), "{err}");
    assert!(err.contains("투자원금"), "{err}");
}

fn row_strategy() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            "[0-9]{1,14}",
            "[0-9]{1,3}(,[0-9]{3}){0,3}(\\.0{1,2})?",
            "KR7[0-9]{9}|CASH|cash",
            "[가-힣]{1,6}",
            "[ A-Za-z0-9.,\"\\-]{0,12}",
        ],
        0..9,
    )
    .prop_map(|fields| fields.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_in_any_file_and_storage_keep_the_invariants(
        sel in any::<u8>(),
        bytes in proptest::collection::vec(any::<u8>(), 0..1024),
    ) {
        let mut data = vec![sel];
        data.extend_from_slice(&bytes);
        provider_files(&data);
    }

    #[test]
    fn csv_like_rows_in_any_file_and_storage_keep_the_invariants(
        file in prop_oneof![Just(SnapshotFile::Instruments), Just(SnapshotFile::Holdings), Just(SnapshotFile::Principals)],
        encoding in prop_oneof![Just(Encoding::Utf8), Just(Encoding::Cp949), Just(Encoding::XlsxCells)],
        header in prop_oneof![
            Just("종목명,ISIN,자산그룹"),
            Just("고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량"),
            Just("계좌번호,투자원금"),
        ],
        rows in proptest::collection::vec(row_strategy(), 0..12),
    ) {
        let mut content = format!("{header}\n");
        for row in rows {
            content.push_str(&row);
            content.push('\n');
        }
        let mut data = vec![selector(file, encoding)];
        data.extend_from_slice(content.as_bytes());
        provider_files(&data);
    }
}
