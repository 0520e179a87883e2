//! Reading rules on small hand-written files: header by name, any column order, extra columns,
//! blank lines, BOM, whitespace, physical line numbers, and each row judged on its own.

use ginkgo_batch::generate::{GenerateOptions, generate};
use ginkgo_batch::{Snapshot, parse_only};
use ginkgo_domain::snapshot::SnapshotFile;

use crate::{INSTRUMENTS_CSV, load, temp_dir, write_day};

#[test]
fn columns_in_any_order_with_extras_blank_lines_and_bom() {
    let dir = temp_dir("order");
    let holdings = "\u{feff}\"비고\",\"보유수량\",\"ISIN\",\"현재가\",\"계좌명\",\"계좌번호\",\"증권사\",\"고객명\"\n\
        x, 21 ,KR7360750004,\"8,585\",계좌1,5736692368320,디셈버증권, 류영길 \n\
        \n\
        \x20\x20\n\
        y,3,CASH,24269.0,계좌1,5736692368320,디셈버증권,류영길\n";
    let principals = "투자원금,계좌번호\n1911386,5736692368320\n";
    write_day(&dir, INSTRUMENTS_CSV, holdings, principals);
    let (_, holdings, report) = load(&dir);
    assert!(report.rejects.is_empty(), "{:?}", report.rejects);
    assert_eq!(holdings.len(), 2);
    assert_eq!(holdings[0].customer_name.as_str(), "류영길");
    assert_eq!(holdings[0].price.get(), 8585);
    assert_eq!(holdings[0].quantity, 21);
    assert_eq!(holdings[1].price.get(), 24269);
    assert!(holdings[1].isin.is_cash());
}

#[test]
fn rejects_carry_physical_lines_columns_values_and_reasons() {
    let dir = temp_dir("lines");
    let holdings = "고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\n\
        류영길,디셈버증권,5736692368320,계좌1,KR7360750004,8585,21\n\
        \n\
        류영길,디셈버증권,5736692368320,계좌1,KR7195980002,abc,1\n\
        김철수,디셈버증권,5736692368320,계좌1,CASH,100,1\n\
        류영길,핀트투자증권,5736692368320,계좌1,CASH,100,1\n\
        류영길,디셈버증권,5736692368320,계좌1,KR7360750004,8585,2\n\
        류영길,디셈버증권,5736692368320,계좌1,KR7195980002,10,0\n\
        류영길,디셈버증권,5736692368320,계좌1,CASH,100\n\
        권상호,핀트투자증권,1573538006848,계좌2,KR7133690008,9024,15\n\
        권상호,핀트투자증권,1573538006848,계좌2,CASH,9223372036854775807,2\n";
    let principals = "계좌번호,투자원금\n5736692368320,1911386\n5736692368320,5\n9999999999,10\n";
    write_day(&dir, crate::INSTRUMENTS_CSV, holdings, principals);
    let (snapshot, loaded, report) = load(&dir);
    type Line<'a> = (SnapshotFile, u64, Option<&'a str>, Option<&'a str>, &'a str);
    let got: Vec<Line<'_>> = report
        .rejects
        .iter()
        .map(|r| {
            (
                r.file,
                r.line,
                r.column.as_deref(),
                r.value.as_deref(),
                r.reason.as_str(),
            )
        })
        .collect();
    use SnapshotFile::{Holdings as H, Principals as P};
    assert_eq!(
        got,
        vec![
            (
                P,
                3,
                Some("계좌번호"),
                Some("5736692368320"),
                "duplicate principal row for this account (first at line 2)"
            ),
            (H, 4, Some("현재가"), Some("abc"), "price is not a number"),
            (
                H,
                5,
                Some("고객이름"),
                Some("김철수"),
                "customer name differs from the account's first row (line 2): expected '류영길'"
            ),
            (
                H,
                6,
                Some("증권사"),
                Some("핀트투자증권"),
                "broker differs from the account's first row (line 2): expected '디셈버증권'"
            ),
            (
                H,
                7,
                Some("ISIN"),
                Some("KR7360750004"),
                "duplicate row: the account already has a row for this ISIN"
            ),
            (
                H,
                9,
                Some("보유수량"),
                None,
                "the row ends before column 보유수량"
            ),
            (
                H,
                10,
                Some("ISIN"),
                Some("KR7133690008"),
                "ISIN is not in the day's instrument file (asset_group_info_set)"
            ),
            (
                H,
                11,
                Some("보유수량"),
                Some("2"),
                "price × quantity is too large to be an amount of won"
            ),
        ]
    );
    assert_eq!(loaded.len(), 2, "lines 2 and 8");
    assert_eq!(loaded[1].quantity, 0);
    let warnings: Vec<(SnapshotFile, Option<u64>, &str)> = report
        .warnings
        .iter()
        .map(|w| (w.file, w.line, w.message.as_str()))
        .collect();
    assert_eq!(
        warnings,
        vec![
            (
                SnapshotFile::Instruments,
                Some(3),
                "ISIN check digit does not verify; loaded as written"
            ),
            (H, Some(8), "quantity is 0"),
            (P, Some(4), "principal row for an account with no holdings"),
        ]
    );
    assert_eq!(snapshot.principals().len(), 2);
    let h = report.counts_for(H);
    assert_eq!((h.read, h.loaded, h.rejected, h.warnings), (9, 2, 7, 1));
    let p = report.counts_for(P);
    assert_eq!((p.read, p.loaded, p.rejected, p.warnings), (3, 2, 1, 1));

    let mut csv = Vec::new();
    report.write_rejects_csv(&mut csv).expect("csv");
    let csv = String::from_utf8(csv).expect("utf8");
    assert!(csv.starts_with("\u{feff}file,line,account_number,isin,column,value,reason\r\n"));
    assert!(
        csv.contains(",현재가,abc,price is not a number\r\n"),
        "{csv}"
    );
    // Every holdings reject of this day names its account (the numbers are all readable).
    for line in csv
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("account_asset_info_set,"))
    {
        let account = line.split(',').nth(2).unwrap_or("");
        assert!(!account.is_empty(), "{line}");
    }
}

#[test]
fn an_account_without_principal_warns_that_it_counts_as_zero() {
    let dir = temp_dir("no-principal");
    let holdings = "고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\n\
        류영길,디셈버증권,5736692368320,계좌1,CASH,100,1\n\
        권상호,핀트투자증권,0015735380068,계좌2,CASH,100,1\n";
    write_day(
        &dir,
        INSTRUMENTS_CSV,
        holdings,
        "계좌번호,투자원금\n5736692368320,1\n",
    );
    let (_, _, report) = load(&dir);
    assert!(report.rejects.is_empty());
    let principal_warnings: Vec<_> = report
        .warnings
        .iter()
        .filter(|w| w.message.contains("principal"))
        .collect();
    assert_eq!(principal_warnings.len(), 1);
    let w = principal_warnings[0];
    assert_eq!(w.line, Some(3));
    assert_eq!(
        w.value.as_deref(),
        Some("0015735380068"),
        "leading zeros kept"
    );
    assert!(w.message.contains("counts as 0"));
}

#[test]
fn bad_instrument_rows_are_rejected_and_unknown_to_holdings() {
    let dir = temp_dir("instruments");
    let instruments = "ISIN,자산 그룹,종목명\nKR7360750004,미국 주식,미국S&P500\nKR736075000,미국 주식,짧은코드\n\
        KR7360750004,미국 주식,중복\nKR7133690008,,그룹없음\n";
    let holdings = "고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\n\
        류영길,디셈버증권,5736692368320,계좌1,CASH,100,1\n";
    write_day(
        &dir,
        instruments,
        holdings,
        "계좌번호,투자원금\n5736692368320,1\n",
    );
    let (snapshot, _, report) = load(&dir);
    assert_eq!(snapshot.instruments().len(), 1);
    let reasons: Vec<(u64, &str)> = report
        .rejects
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (
                3,
                "ISIN must be 2 letters, 9 letters or digits and a check digit (or CASH)"
            ),
            (4, "duplicate ISIN: already listed at line 2"),
            (5, "asset group is empty"),
        ]
    );
    // CASH is known even though this instrument file does not list it.
    assert_eq!(report.counts_for(SnapshotFile::Holdings).loaded, 1);
}

#[test]
fn parse_only_counts_rows_without_validating() {
    let dir = temp_dir("parse-only");
    let manifest = generate(
        &dir,
        &GenerateOptions {
            accounts: 25,
            error_rate: 0.2,
            ..Default::default()
        },
    )
    .expect("generate");
    let counts = parse_only(&dir).expect("parse");
    assert_eq!(counts.instruments, manifest.instrument_rows);
    assert_eq!(counts.holdings, manifest.holding_rows);
    assert_eq!(counts.principals, manifest.principal_rows);
    let total: u64 = Snapshot::open(&dir)
        .expect("open")
        .files()
        .iter()
        .map(|f| f.bytes)
        .sum();
    assert_eq!(counts.bytes, total);
}

#[test]
fn line_numbers_survive_crlf_blank_lines_and_quoted_newlines() {
    let dir = temp_dir("crlf");
    let holdings = "고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\r\n\
        \r\n\
        류영길,디셈버증권,5736692368320,\"계좌\r\n1\",CASH,1,1\r\n\
        \r\n\
        \r\n\
        류영길,디셈버증권,5736692368320,계좌1,CASH,x,1\r\n\
        류영길,디셈버증권,5736692368320,계좌1,CASH,y,1";
    write_day(
        &dir,
        INSTRUMENTS_CSV,
        holdings,
        "계좌번호,투자원금\r\n5736692368320,1\r\n",
    );
    let (_, _, report) = load(&dir);
    let lines: Vec<(u64, &str)> = report
        .rejects
        .iter()
        .map(|r| (r.line, r.reason.as_str()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (3, "account name contains control characters"),
            (7, "price is not a number"),
            (8, "price is not a number"),
        ]
    );
}

#[test]
fn a_cp949_row_after_the_sniffed_utf8_start_still_decodes() {
    let dir = temp_dir("late-cp949");
    let mut holdings = "고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\n"
        .as_bytes()
        .to_vec();
    // More than the 64 KiB the encoding is decided from, all UTF-8.
    let mut accounts = 0;
    while holdings.len() < 70 * 1024 {
        accounts += 1;
        let row = format!(
            "류영길,디셈버증권,{:010},계좌1,CASH,100,1\n",
            1_000_000 + accounts
        );
        holdings.extend_from_slice(row.as_bytes());
    }
    let (late, _, _) =
        encoding_rs::EUC_KR.encode("권상호,핀트투자증권,1573538006848,계좌2,CASH,5,1\n");
    holdings.extend_from_slice(&late);
    holdings.extend_from_slice(b"\xFF\xFE,x,1573538006849,y,CASH,5,1\n");
    write_day(&dir, INSTRUMENTS_CSV, "", "계좌번호,투자원금\n");
    std::fs::write(dir.join("account_asset_info_set.csv"), &holdings).expect("write");
    let (_, loaded, report) = load(&dir);
    let last = loaded.last().expect("rows");
    assert_eq!(loaded.len(), accounts + 1);
    assert_eq!(last.customer_name.as_str(), "권상호");
    assert_eq!(last.broker, "핀트투자증권");
    assert_eq!(report.rejects.len(), 1);
    assert_eq!(report.rejects[0].line, accounts as u64 + 3);
    assert_eq!(
        report.rejects[0].reason,
        "the value is neither UTF-8 nor CP949 text"
    );
}

#[test]
fn a_title_row_above_the_header_is_skipped_in_csv_and_xlsx() {
    // CSV: a title and an export date above the header, as some provider exports carry.
    let dir = temp_dir("title-csv");
    let holdings = "계좌자산 현황\n기준일: 2026-11-20\n\n\
        고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\n\
        류영길,디셈버증권,5736692368320,계좌1,KR7360750004,8585,21\n\
        류영길,디셈버증권,5736692368320,계좌1,CASH,-1,1\n";
    write_day(
        &dir,
        INSTRUMENTS_CSV,
        holdings,
        "계좌번호,투자원금\n5736692368320,1911386\n",
    );
    let (_, loaded, report) = load(&dir);
    assert_eq!(loaded.len(), 1);
    assert_eq!(report.rejects.len(), 1);
    assert_eq!(
        report.rejects[0].line, 6,
        "physical lines still count the title"
    );

    // XLSX: the same layout in a workbook.
    let dir = temp_dir("title-xlsx");
    write_day(
        &dir,
        INSTRUMENTS_CSV,
        "",
        "계좌번호,투자원금\n5736692368320,1911386\n",
    );
    std::fs::remove_file(dir.join("account_asset_info_set.csv")).expect("rm");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "계좌자산 현황").expect("w");
    let header = [
        "고객이름",
        "증권사",
        "계좌번호",
        "계좌명",
        "ISIN",
        "현재가",
        "보유수량",
    ];
    for (c, h) in header.iter().enumerate() {
        sheet.write_string(2, c as u16, *h).expect("w");
    }
    let row = [
        "류영길",
        "디셈버증권",
        "5736692368320",
        "계좌1",
        "KR7360750004",
    ];
    for (c, v) in row.iter().enumerate() {
        sheet.write_string(3, c as u16, *v).expect("w");
    }
    sheet.write_number(3, 5, 8585.0).expect("w");
    sheet.write_number(3, 6, 21.0).expect("w");
    book.save(dir.join("account_asset_info_set.xlsx"))
        .expect("save");
    let (_, from_xlsx, report) = load(&dir);
    assert!(report.rejects.is_empty(), "{:?}", report.rejects);
    assert_eq!(from_xlsx, loaded);
}

#[test]
fn a_file_with_no_header_in_its_first_rows_names_the_closest_row() {
    let dir = temp_dir("no-header");
    let holdings = "제목\n고객이름,증권사,계좌번호,계좌명,ISIN,현재가\n1\n2\n3\n4\n5\n6\n\
        고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\n";
    write_day(
        &dir,
        INSTRUMENTS_CSV,
        holdings,
        "계좌번호,투자원금\n5736692368320,1911386\n",
    );
    let err = Snapshot::open(&dir).expect_err("fatal");
    match err {
        ginkgo_batch::FatalError::MissingColumns { missing, .. } => {
            assert_eq!(missing, vec!["보유수량"]);
        }
        other => panic!("{other}"),
    }
}
