//! The real data set of the original assignment: it must load with 0 rejects and exactly the
//! warnings it deserves. Path from `GINKGO_SEED_DATASET`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use ginkgo_batch::{Format, Snapshot};
use ginkgo_domain::snapshot::SnapshotFile;
use sha2::{Digest, Sha256};

use crate::{load, temp_dir};

fn seed_dir() -> Option<PathBuf> {
    match std::env::var_os("GINKGO_SEED_DATASET") {
        Some(dir) => Some(PathBuf::from(dir)),
        None => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but GINKGO_SEED_DATASET is not: the real data set must be tested in CI"
            );
            eprintln!("note: GINKGO_SEED_DATASET is not set; skipping the real data set test");
            None
        }
    }
}

/// The holdings file parsed the simplest possible way (every field quoted, no commas inside):
/// (account, isin, price, quantity) per data row, with its line.
fn naive_holdings(dir: &std::path::Path) -> Vec<(u64, String, String, i64, i64)> {
    let text = std::fs::read_to_string(dir.join("account_asset_info_set.csv")).expect("read");
    text.lines()
        .enumerate()
        .skip(1)
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            let f: Vec<&str> = l.trim().trim_matches('"').split("\",\"").collect();
            assert_eq!(f.len(), 7, "line {}", i + 1);
            (
                i as u64 + 1,
                f[2].to_string(),
                f[4].to_string(),
                f[5].parse().expect("price"),
                f[6].parse().expect("quantity"),
            )
        })
        .collect()
}

#[test]
fn the_real_data_set_loads_with_zero_rejects() {
    let Some(dir) = seed_dir() else { return };
    let (snapshot, holdings, report) = load(&dir);
    assert_eq!(
        report.rejects,
        vec![],
        "the real data set must not reject anything"
    );
    assert_eq!(snapshot.instruments().len(), 14);
    assert_eq!(snapshot.principals().len(), 50);
    assert_eq!(holdings.len(), 700);
    let h = report.counts_for(SnapshotFile::Holdings);
    assert_eq!((h.read, h.loaded, h.rejected), (700, 700, 0));
    let p = report.counts_for(SnapshotFile::Principals);
    assert_eq!((p.read, p.loaded, p.rejected, p.warnings), (50, 50, 0, 0));
}

#[test]
fn the_real_data_set_has_exactly_the_expected_warnings() {
    let Some(dir) = seed_dir() else { return };
    let (_, _, report) = load(&dir);
    let naive = naive_holdings(&dir);

    // The one ISIN whose check digit is wrong, on line 10 of the instrument file.
    let check: Vec<_> = report
        .warnings
        .iter()
        .filter(|w| w.message.contains("check digit"))
        .collect();
    assert_eq!(check.len(), 1);
    assert_eq!(check[0].file, SnapshotFile::Instruments);
    assert_eq!(check[0].line, Some(10));
    assert_eq!(check[0].value.as_deref(), Some("KR7195980002"));

    // A warning per zero quantity, on the right lines.
    let mut zero_lines: Vec<u64> = report
        .warnings
        .iter()
        .filter(|w| w.message == "quantity is 0")
        .filter_map(|w| w.line)
        .collect();
    zero_lines.sort_unstable();
    let expected_zero: Vec<u64> = naive.iter().filter(|r| r.4 == 0).map(|r| r.0).collect();
    assert_eq!(zero_lines, expected_zero);
    assert_eq!(zero_lines.len(), 21);

    // One price-spread summary per non-cash ISIN, with the independent min..max.
    let mut spread: BTreeMap<&str, (i64, i64, u64)> = BTreeMap::new();
    for (_, _, isin, price, _) in &naive {
        if isin == "CASH" {
            continue;
        }
        let e = spread.entry(isin.as_str()).or_insert((*price, *price, 0));
        e.0 = e.0.min(*price);
        e.1 = e.1.max(*price);
        e.2 += 1;
    }
    let spread_warnings: Vec<_> = report
        .warnings
        .iter()
        .filter(|w| w.message.starts_with("priced differently"))
        .collect();
    assert_eq!(spread_warnings.len(), 13);
    for w in spread_warnings {
        let isin = w.value.as_deref().expect("isin");
        let (min, max, rows) = spread[isin];
        let expected = format!(
            "priced differently across {rows} rows: {}..{}",
            ginkgo_domain::Won::new(min).to_korean(),
            ginkgo_domain::Won::new(max).to_korean()
        );
        assert_eq!(w.message, expected);
        assert_eq!(w.line, None);
    }
    assert_eq!(report.warnings.len(), 1 + 21 + 13);
}

#[test]
fn real_total_assets_match_an_independent_sum() {
    let Some(dir) = seed_dir() else { return };
    let (snapshot, holdings, _) = load(&dir);
    let mut ours: HashMap<String, i64> = HashMap::new();
    for h in &holdings {
        let v = h.price.checked_mul(h.quantity).expect("fits").get();
        *ours.entry(h.account_number.to_string()).or_default() += v;
    }
    let mut theirs: HashMap<String, i64> = HashMap::new();
    for (_, account, _, price, quantity) in naive_holdings(&dir) {
        *theirs.entry(account).or_default() += price * quantity;
    }
    assert_eq!(ours, theirs);
    // Worked by hand from the file: 류영길's account 5736692368320.
    assert_eq!(ours["5736692368320"], 1_929_245);
    let principal = snapshot
        .principals()
        .iter()
        .find(|p| p.account_number.as_str() == "5736692368320")
        .expect("principal");
    assert_eq!(principal.principal.get(), 1_911_386);
}

#[test]
fn file_infos_carry_the_real_checksums() {
    let Some(dir) = seed_dir() else { return };
    let snapshot = Snapshot::open(&dir).expect("open");
    let files = snapshot.files();
    assert_eq!(files.len(), 3);
    for info in files {
        let bytes = std::fs::read(&info.path).expect("read");
        assert_eq!(info.bytes, bytes.len() as u64);
        assert_eq!(info.sha256, hex::encode(Sha256::digest(&bytes)));
        assert_eq!(info.format, Format::Csv);
        assert!(info.name.starts_with(info.file.base_name()));
    }
}

#[test]
fn the_real_data_set_re_encoded_as_cp949_loads_identically() {
    let Some(dir) = seed_dir() else { return };
    let (snapshot, holdings, report) = load(&dir);
    let copy = temp_dir("seed-cp949");
    for name in [
        "asset_group_info_set.csv",
        "account_asset_info_set.csv",
        "account_basic_info_set.csv",
    ] {
        let text = std::fs::read_to_string(dir.join(name)).expect("read");
        let text = text.trim_start_matches('\u{feff}').replace('\n', "\r\n");
        let (bytes, _, unmappable) = encoding_rs::EUC_KR.encode(&text);
        assert!(!unmappable);
        assert!(std::str::from_utf8(&bytes).is_err(), "really CP949");
        std::fs::write(copy.join(name), &bytes).expect("write");
    }
    let (snapshot2, holdings2, report2) = load(&copy);
    assert_eq!(snapshot.instruments(), snapshot2.instruments());
    assert_eq!(snapshot.principals(), snapshot2.principals());
    assert_eq!(holdings, holdings2);
    assert_eq!(report, report2);
}
