//! Integration tests of `ginkgo-batch`: one binary, one module per concern.

mod batch {
    pub mod fatal;
    pub mod fuzz_corpus;
    pub mod generated;
    pub mod props;
    pub mod reading;
    pub mod seed;
}

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use ginkgo_batch::{RunReport, Snapshot};
use ginkgo_domain::snapshot::HoldingRecord;

/// A fresh, empty folder under the system temp dir, unique per test.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir()
        .join("ginkgo-batch-tests")
        .join(format!("{name}-{}-{n}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir).expect("remove old test dir");
    }
    std::fs::create_dir_all(&dir).expect("create test dir");
    dir
}

/// Opens and reads a whole day.
pub fn load(dir: &Path) -> (Snapshot, Vec<HoldingRecord>, RunReport) {
    let snapshot = Snapshot::open(dir).unwrap_or_else(|e| panic!("open {}: {e}", dir.display()));
    let (holdings, report) = snapshot.read_all().expect("read holdings");
    (snapshot, holdings, report)
}

/// Writes the three files from text (UTF-8) into `dir`.
pub fn write_day(dir: &Path, instruments: &str, holdings: &str, principals: &str) {
    std::fs::write(dir.join("asset_group_info_set.csv"), instruments).expect("write");
    std::fs::write(dir.join("account_asset_info_set.csv"), holdings).expect("write");
    std::fs::write(dir.join("account_basic_info_set.csv"), principals).expect("write");
}

pub const INSTRUMENTS_CSV: &str = "종목명,ISIN,자산그룹\n미국S&P500,KR7360750004,미국 주식\n\
    전세계MSCI,KR7195980002,전세계 주식\n현금,CASH,채권 / 현금\n";
