//! Input that cannot be read at all fails the run, before anything is loaded, with a message
//! naming the file and the problem.

use ginkgo_batch::{FatalError, Snapshot, locate, parse_only};
use ginkgo_domain::snapshot::SnapshotFile;

use crate::{INSTRUMENTS_CSV, temp_dir, write_day};

const HOLDINGS: &str = "고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\n\
    류영길,디셈버증권,5736692368320,계좌1,KR7360750004,8585,21\n";
const PRINCIPALS: &str = "계좌번호,투자원금\n5736692368320,1911386\n";

#[test]
fn a_missing_file_is_fatal_and_named() {
    let dir = temp_dir("missing");
    write_day(&dir, INSTRUMENTS_CSV, HOLDINGS, PRINCIPALS);
    std::fs::remove_file(dir.join("account_basic_info_set.csv")).expect("rm");
    let err = Snapshot::open(&dir).expect_err("fatal");
    assert!(matches!(
        err,
        FatalError::MissingFile {
            file: SnapshotFile::Principals,
            ..
        }
    ));
    assert!(err.to_string().contains("account_basic_info_set"), "{err}");
}

#[test]
fn two_candidates_for_one_file_are_fatal() {
    let dir = temp_dir("ambiguous");
    write_day(&dir, INSTRUMENTS_CSV, HOLDINGS, PRINCIPALS);
    std::fs::write(dir.join("account_asset_info_set_20261120.csv"), HOLDINGS).expect("write");
    let err = locate(&dir).expect_err("fatal");
    match &err {
        FatalError::AmbiguousFile {
            file, candidates, ..
        } => {
            assert_eq!(*file, SnapshotFile::Holdings);
            assert_eq!(
                candidates,
                &vec![
                    "account_asset_info_set.csv".to_string(),
                    "account_asset_info_set_20261120.csv".to_string()
                ]
            );
        }
        other => panic!("{other}"),
    }
}

#[test]
fn dated_names_are_found_and_must_agree() {
    let dir = temp_dir("dated");
    std::fs::write(
        dir.join("asset_group_info_set_2026-11-20.csv"),
        INSTRUMENTS_CSV,
    )
    .expect("w");
    std::fs::write(dir.join("account_asset_info_set_20261120.csv"), HOLDINGS).expect("w");
    std::fs::write(dir.join("account_basic_info_set.csv"), PRINCIPALS).expect("w");
    std::fs::write(dir.join("notes.txt"), "ignored").expect("w");
    let day = locate(&dir).expect("located");
    assert_eq!(day.date(), chrono::NaiveDate::from_ymd_opt(2026, 11, 20));
    std::fs::rename(
        dir.join("account_basic_info_set.csv"),
        dir.join("account_basic_info_set_20261121.csv"),
    )
    .expect("mv");
    assert!(matches!(locate(&dir), Err(FatalError::MixedDates { .. })));
}

#[test]
fn missing_columns_are_fatal_and_listed() {
    let dir = temp_dir("columns");
    let holdings =
        "고객이름,증권사,계좌,ISIN,현재가\n류영길,디셈버증권,5736692368320,KR7360750004,8585\n";
    write_day(&dir, INSTRUMENTS_CSV, holdings, PRINCIPALS);
    let err = Snapshot::open(&dir).expect_err("fatal");
    match &err {
        FatalError::MissingColumns { path, missing, .. } => {
            assert!(path.ends_with("account_asset_info_set.csv"));
            assert_eq!(missing, &vec!["계좌번호", "계좌명", "보유수량"]);
        }
        other => panic!("{other}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("account_asset_info_set.csv") && text.contains("보유수량"),
        "{text}"
    );
}

#[test]
fn an_empty_file_or_blank_lines_only_has_no_header() {
    for content in ["", "\n\n  \n", "\u{feff}"] {
        let dir = temp_dir("empty");
        write_day(&dir, INSTRUMENTS_CSV, HOLDINGS, content);
        let err = Snapshot::open(&dir).expect_err("fatal");
        assert!(
            matches!(err, FatalError::NoHeader { .. }),
            "{content:?}: {err}"
        );
        assert!(err.to_string().contains("account_basic_info_set.csv"));
    }
}

#[test]
fn a_header_of_data_is_missing_columns() {
    // A file whose first row is data (the header was lost) names every missing column.
    let dir = temp_dir("headerless");
    write_day(&dir, INSTRUMENTS_CSV, HOLDINGS, "5736692368320,1911386\n");
    let err = Snapshot::open(&dir).expect_err("fatal");
    match err {
        FatalError::MissingColumns { missing, found, .. } => {
            assert_eq!(missing, vec!["계좌번호", "투자원금"]);
            assert_eq!(found, vec!["5736692368320", "1911386"]);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn an_unreadable_workbook_is_fatal() {
    let dir = temp_dir("bad-xlsx");
    write_day(&dir, INSTRUMENTS_CSV, HOLDINGS, PRINCIPALS);
    std::fs::remove_file(dir.join("asset_group_info_set.csv")).expect("rm");
    std::fs::write(
        dir.join("asset_group_info_set.xlsx"),
        b"this is not a zip file",
    )
    .expect("w");
    let err = Snapshot::open(&dir).expect_err("fatal");
    assert!(matches!(err, FatalError::Xlsx { .. }), "{err}");
    assert!(err.to_string().contains("asset_group_info_set.xlsx"));
    assert!(parse_only(&dir).is_err());
}

#[test]
fn a_folder_that_does_not_exist_is_fatal() {
    let dir = temp_dir("gone").join("nope");
    let err = Snapshot::open(&dir).expect_err("fatal");
    assert!(matches!(err, FatalError::Io { .. }));
}

#[test]
fn a_holdings_file_that_grows_after_open_fails_the_stream() {
    let dir = temp_dir("growing");
    write_day(&dir, INSTRUMENTS_CSV, HOLDINGS, PRINCIPALS);
    let snapshot = Snapshot::open(&dir).expect("open");
    let mut more = HOLDINGS.to_string();
    more.push_str("류영길,디셈버증권,5736692368320,계좌1,CASH,100,1\n");
    std::fs::write(dir.join("account_asset_info_set.csv"), more).expect("write");
    let err = snapshot
        .stream_holdings(10, |_| -> Result<(), String> { Ok(()) })
        .expect_err("changed");
    assert!(
        matches!(
            err,
            ginkgo_batch::StreamError::Fatal(FatalError::ChangedDuringRun { .. })
        ),
        "{err}"
    );
}

#[test]
fn snapshots_can_move_to_a_blocking_thread() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Snapshot>();
    assert_send_sync::<ginkgo_batch::RunReport>();
    assert_send_sync::<FatalError>();
}
