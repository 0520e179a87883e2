//! Generated days: every format gives the same records, every injected error is reported once
//! with the right reason, every good row comes through.

use std::collections::{BTreeMap, HashMap};

use ginkgo_batch::generate::{ErrorKind, GenerateOptions, generate, generate_days};
use ginkgo_batch::{Format, Snapshot, StreamError, TextEncoding, inbox_days};
use ginkgo_domain::snapshot::SnapshotFile;

use crate::{load, temp_dir};

fn options(accounts: u64, error_rate: f64, seed: u64) -> GenerateOptions {
    GenerateOptions {
        accounts,
        error_rate,
        seed,
        ..GenerateOptions::default()
    }
}

/// What a reject for each injected kind must say (checked as a prefix of the reason).
fn expected_reason(kind: ErrorKind, column: &str) -> String {
    match kind {
        ErrorKind::NonNumericPrice => "price is not a number".into(),
        ErrorKind::NegativePrice => "price is negative".into(),
        ErrorKind::NegativeQuantity => "quantity is negative".into(),
        ErrorKind::FractionalQuantity => "quantity is not a whole number".into(),
        ErrorKind::TooLargeQuantity => "quantity is too large".into(),
        ErrorKind::ValuationOverflow => "price × quantity is too large".into(),
        ErrorKind::BadInstrumentIsin => "ISIN must be 2 letters".into(),
        ErrorKind::BadIsin => "ISIN must be 2 letters".into(),
        ErrorKind::UnknownIsin => "ISIN is not in the day's instrument file".into(),
        ErrorKind::LettersInAccountNumber => "account number must be 6 to 20 digits".into(),
        ErrorKind::MissingField => {
            let what = match column {
                "고객이름" => "customer name",
                "증권사" => "broker",
                "계좌번호" => "account number",
                "계좌명" => "account name",
                "ISIN" => "ISIN",
                "현재가" => "price",
                "보유수량" => "quantity",
                "투자원금" => "principal",
                other => panic!("unexpected column {other}"),
            };
            format!("{what} is empty")
        }
        ErrorKind::NameContradiction => "customer name differs from the account's first row".into(),
        ErrorKind::BrokerContradiction => "broker differs from the account's first row".into(),
        ErrorKind::DuplicateRow => "duplicate row".into(),
        ErrorKind::NonNumericPrincipal => "principal is not a number".into(),
        ErrorKind::NegativePrincipal => "principal is negative".into(),
        ErrorKind::DuplicatePrincipal => "duplicate principal row".into(),
    }
}

/// Every kind the generator can inject; `expected_reason` must know each.
const ALL_KINDS: [ErrorKind; 17] = [
    ErrorKind::NonNumericPrice,
    ErrorKind::NegativePrice,
    ErrorKind::NegativeQuantity,
    ErrorKind::FractionalQuantity,
    ErrorKind::TooLargeQuantity,
    ErrorKind::ValuationOverflow,
    ErrorKind::BadIsin,
    ErrorKind::UnknownIsin,
    ErrorKind::LettersInAccountNumber,
    ErrorKind::MissingField,
    ErrorKind::NameContradiction,
    ErrorKind::BrokerContradiction,
    ErrorKind::DuplicateRow,
    ErrorKind::NonNumericPrincipal,
    ErrorKind::NegativePrincipal,
    ErrorKind::DuplicatePrincipal,
    ErrorKind::BadInstrumentIsin,
];

/// Per account: (holding rows, total assets), from what a load keeps.
fn per_account(
    holdings: &[ginkgo_domain::snapshot::HoldingRecord],
) -> BTreeMap<String, (usize, i64)> {
    let mut out: BTreeMap<String, (usize, i64)> = BTreeMap::new();
    for h in holdings {
        let value = h.price.checked_mul(h.quantity).expect("fits").get();
        let entry = out.entry(h.account_number.to_string()).or_default();
        entry.0 += 1;
        entry.1 = entry.1.checked_add(value).expect("fits");
    }
    out
}

#[test]
fn accounts_no_error_touched_load_exactly_as_in_a_clean_day() {
    let broken_dir = temp_dir("untouched-broken");
    let clean_dir = temp_dir("untouched-clean");
    let manifest = generate(&broken_dir, &options(400, 0.03, 11)).expect("generate");
    generate(&clean_dir, &options(400, 0.0, 11)).expect("generate");
    let (broken_snapshot, broken, _) = load(&broken_dir);
    let (clean_snapshot, clean, clean_report) = load(&clean_dir);
    assert!(clean_report.rejects.is_empty());

    let touched: std::collections::HashSet<&str> = manifest
        .errors
        .iter()
        .map(|e| e.account.as_str())
        .chain(
            manifest
                .accounts_without_principal
                .iter()
                .map(String::as_str),
        )
        .collect();
    let broken_totals = per_account(&broken);
    let clean_totals = per_account(&clean);
    let mut compared = 0;
    for (account, clean_total) in &clean_totals {
        if touched.contains(account.as_str()) {
            continue;
        }
        assert_eq!(
            broken_totals.get(account),
            Some(clean_total),
            "account {account}"
        );
        compared += 1;
    }
    assert!(compared > 150, "many accounts are untouched: {compared}");
    assert!(
        touched.len() > 50,
        "and many are touched: {}",
        touched.len()
    );

    let principals = |s: &ginkgo_batch::Snapshot| -> BTreeMap<String, i64> {
        s.principals()
            .iter()
            .map(|p| (p.account_number.to_string(), p.principal.get()))
            .collect()
    };
    let broken_principals = principals(&broken_snapshot);
    for (account, principal) in principals(&clean_snapshot) {
        if !touched.contains(account.as_str()) {
            assert_eq!(
                broken_principals.get(&account),
                Some(&principal),
                "{account}"
            );
        }
    }
}

#[test]
fn the_same_day_in_every_format_gives_identical_records() {
    let variants = [
        (Format::Csv, TextEncoding::Utf8, true),
        (Format::Csv, TextEncoding::Utf8, false),
        (Format::Csv, TextEncoding::Cp949, true),
        (Format::Csv, TextEncoding::Cp949, false),
        (Format::Xlsx, TextEncoding::Utf8, false),
    ];
    let mut results = Vec::new();
    for (format, encoding, quote_all) in variants {
        let dir = temp_dir("formats");
        let opts = GenerateOptions {
            format,
            encoding,
            quote_all,
            ..options(80, 0.05, 42)
        };
        let manifest = generate(&dir, &opts).expect("generate");
        if encoding == TextEncoding::Cp949 {
            let bytes = std::fs::read(&manifest.files[1]).expect("read");
            assert!(std::str::from_utf8(&bytes).is_err(), "really CP949");
        }
        let (snapshot, holdings, report) = load(&dir);
        results.push((
            manifest.errors,
            snapshot.instruments().to_vec(),
            snapshot.principals().to_vec(),
            holdings,
            report,
        ));
    }
    let first = &results[0];
    assert!(first.3.len() > 1000, "a real amount of data");
    assert!(!first.4.rejects.is_empty(), "errors were injected");
    for (i, other) in results.iter().enumerate().skip(1) {
        assert_eq!(first.0, other.0, "variant {i}: manifest");
        assert_eq!(first.1, other.1, "variant {i}: instruments");
        assert_eq!(first.2, other.2, "variant {i}: principals");
        assert_eq!(first.3, other.3, "variant {i}: holdings");
        assert_eq!(first.4, other.4, "variant {i}: report");
    }
}

fn check_injected_errors(format: Format, encoding: TextEncoding, quote_all: bool) {
    let dir = temp_dir("injected");
    let opts = GenerateOptions {
        format,
        encoding,
        quote_all,
        ..options(300, 0.04, 7)
    };
    let manifest = generate(&dir, &opts).expect("generate");
    assert!(
        manifest.errors.len() > 50,
        "enough errors: {}",
        manifest.errors.len()
    );
    assert!(
        manifest.noisy_rows > 50,
        "enough noise: {}",
        manifest.noisy_rows
    );
    let (snapshot, holdings, report) = load(&dir);

    // Every reject is an injected error and every injected error is rejected once.
    let mut rejects: HashMap<(SnapshotFile, u64), Vec<_>> = HashMap::new();
    for r in &report.rejects {
        rejects.entry((r.file, r.line)).or_default().push(r);
    }
    assert_eq!(report.rejects.len(), manifest.errors.len());
    for e in &manifest.errors {
        let found = rejects
            .get(&(e.file, e.line))
            .unwrap_or_else(|| panic!("not reported: {e:?}"));
        assert_eq!(found.len(), 1, "reported once: {e:?}");
        let r = found[0];
        assert_eq!(r.column.as_deref(), Some(e.column), "{e:?} -> {r:?}");
        let want = expected_reason(e.kind, e.column);
        assert!(
            r.reason.starts_with(&want),
            "{e:?}: '{}' should start with '{want}'",
            r.reason
        );
    }
    let kinds: std::collections::HashSet<_> = manifest.errors.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds.len(),
        ALL_KINDS.len(),
        "every kind was injected: {kinds:?}"
    );

    // Every good row came through.
    let count = |file| manifest.errors.iter().filter(|e| e.file == file).count() as u64;
    let h = report.counts_for(SnapshotFile::Holdings);
    assert_eq!(h.read, manifest.holding_rows);
    assert_eq!(h.rejected, count(SnapshotFile::Holdings));
    assert_eq!(
        holdings.len() as u64,
        manifest.holding_rows - count(SnapshotFile::Holdings)
    );
    assert_eq!(h.loaded, holdings.len() as u64);
    let p = report.counts_for(SnapshotFile::Principals);
    assert_eq!(p.read, manifest.principal_rows);
    assert_eq!(
        snapshot.principals().len() as u64,
        manifest.principal_rows - count(SnapshotFile::Principals)
    );
    assert_eq!(snapshot.instruments().len(), 14);

    // Principal warnings match what the generator did.
    let mut without: Vec<String> = report
        .warnings
        .iter()
        .filter(|w| w.message.contains("no principal row"))
        .filter_map(|w| w.value.clone())
        .collect();
    without.sort();
    let mut expected = manifest.accounts_without_principal.clone();
    expected.sort();
    assert_eq!(without, expected);
    let mut unheld: Vec<String> = report
        .warnings
        .iter()
        .filter(|w| w.message.contains("no holdings"))
        .filter_map(|w| w.value.clone())
        .collect();
    unheld.sort();
    let mut expected = manifest.principals_without_holdings.clone();
    expected.sort();
    assert_eq!(unheld, expected);

    // Generated prices are one per ISIN per day: no spread warnings; zero quantities warn.
    assert!(
        report
            .warnings
            .iter()
            .all(|w| !w.message.starts_with("priced differently"))
    );
    let zero = holdings.iter().filter(|h| h.quantity == 0).count();
    let zero_warnings = report
        .warnings
        .iter()
        .filter(|w| w.message == "quantity is 0")
        .count();
    assert_eq!(zero, zero_warnings);
    assert!(zero > 0);
}

#[test]
fn every_injected_error_is_reported_once_csv_utf8() {
    check_injected_errors(Format::Csv, TextEncoding::Utf8, true);
}

#[test]
fn every_injected_error_is_reported_once_csv_cp949_unquoted() {
    check_injected_errors(Format::Csv, TextEncoding::Cp949, false);
}

#[test]
fn every_injected_error_is_reported_once_xlsx() {
    check_injected_errors(Format::Xlsx, TextEncoding::Utf8, false);
}

#[test]
fn total_assets_per_account_match_an_independent_computation() {
    let dir = temp_dir("totals");
    let opts = GenerateOptions {
        quote_all: false,
        ..options(120, 0.0, 99)
    };
    let manifest = generate(&dir, &opts).expect("generate");
    assert!(manifest.errors.is_empty());
    let (snapshot, holdings, report) = load(&dir);
    assert!(report.rejects.is_empty());

    let mut ours: BTreeMap<String, i64> = BTreeMap::new();
    for h in &holdings {
        let value = h.price.checked_mul(h.quantity).expect("fits");
        let total = ours.entry(h.account_number.to_string()).or_default();
        *total = total.checked_add(value.get()).expect("fits");
    }
    // Independent: split the plain file by hand.
    let text = std::fs::read_to_string(&manifest.files[1]).expect("read");
    let mut theirs: BTreeMap<String, i64> = BTreeMap::new();
    let mut rows = 0;
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        assert_eq!(f.len(), 7, "{line}");
        let value: i64 = f[5].parse::<i64>().expect("price") * f[6].parse::<i64>().expect("qty");
        *theirs.entry(f[2].to_string()).or_default() += value;
        rows += 1;
    }
    assert_eq!(rows, 120 * 14);
    assert_eq!(ours, theirs);
    assert_eq!(ours.len(), 120);

    // 14 rows per account, the last is CASH with quantity 1.
    for chunk in holdings.chunks(14) {
        assert!(
            chunk
                .iter()
                .all(|h| h.account_number == chunk[0].account_number)
        );
        assert!(chunk[13].isin.is_cash());
        assert_eq!(chunk[13].quantity, 1);
    }
    // Principals are within 85 %..120 % of the day's total (prices start at the base).
    for p in snapshot.principals() {
        let total = ours[p.account_number.as_str()];
        let principal = p.principal.get();
        assert!(principal * 1000 >= total * 850 - 1000 && principal * 1000 <= total * 1200);
    }
}

#[test]
fn generation_is_deterministic_for_a_seed() {
    let a = temp_dir("det-a");
    let b = temp_dir("det-b");
    let c = temp_dir("det-c");
    let ma = generate(&a, &options(40, 0.1, 5)).expect("a");
    let mb = generate(&b, &options(40, 0.1, 5)).expect("b");
    let mc = generate(&c, &options(40, 0.1, 6)).expect("c");
    assert_eq!(ma.errors, mb.errors);
    for i in 0..3 {
        let fa = std::fs::read(&ma.files[i]).expect("read");
        let fb = std::fs::read(&mb.files[i]).expect("read");
        assert_eq!(fa, fb, "file {i}");
    }
    let ha = std::fs::read(&ma.files[1]).expect("read");
    let hc = std::fs::read(&mc.files[1]).expect("read");
    assert_ne!(ha, hc);
}

#[test]
fn several_days_keep_accounts_and_drift_prices() {
    let inbox = temp_dir("days");
    let opts = options(20, 0.0, 11);
    let manifests = generate_days(&inbox, &opts, 3).expect("days");
    let days = inbox_days(&inbox).expect("inbox");
    assert_eq!(days.len(), 3);
    assert_eq!(days[0].date, opts.date);
    assert_eq!(days[2].date, opts.date + chrono::Days::new(2));
    assert_eq!(manifests[1].dir, days[1].dir);

    let mut per_day = Vec::new();
    for day in &days {
        let (_, holdings, report) = load(&day.dir);
        assert!(report.rejects.is_empty());
        per_day.push(holdings);
    }
    let key = |h: &ginkgo_domain::snapshot::HoldingRecord| {
        (
            h.account_number.clone(),
            h.isin.clone(),
            h.quantity,
            h.customer_name.clone(),
        )
    };
    let k0: Vec<_> = per_day[0].iter().map(key).collect();
    let k1: Vec<_> = per_day[1].iter().map(key).collect();
    assert_eq!(k0, k1, "same accounts and quantities every day");
    let prices = |d: usize| -> Vec<i64> {
        per_day[d]
            .iter()
            .filter(|h| !h.isin.is_cash())
            .map(|h| h.price.get())
            .collect()
    };
    assert_ne!(prices(0), prices(1));
    for (a, b) in prices(0).iter().zip(prices(1)) {
        assert!((b - a).abs() * 100 <= a * 3 + 100, "{a} -> {b}");
    }
}

#[test]
fn chunks_progress_and_a_failing_sink() {
    let dir = temp_dir("chunks");
    let manifest = generate(&dir, &options(30, 0.0, 3)).expect("generate");
    let snapshot = Snapshot::open(&dir).expect("open");

    let mut sizes = Vec::new();
    let mut progress = Vec::new();
    let report = snapshot
        .stream_holdings_with_progress(
            100,
            |p| progress.push(p),
            |chunk| -> Result<(), String> {
                sizes.push(chunk.len());
                Ok(())
            },
        )
        .expect("stream");
    assert_eq!(sizes.iter().sum::<usize>() as u64, manifest.holding_rows);
    assert_eq!(sizes, vec![100, 100, 100, 100, 20]);
    assert_eq!(report.counts_for(SnapshotFile::Holdings).loaded, 420);
    let total = snapshot.files()[1].bytes;
    assert!(
        progress
            .windows(2)
            .all(|w| w[0].bytes_read <= w[1].bytes_read)
    );
    let last = progress.last().expect("final progress");
    assert_eq!(
        (last.bytes_read, last.bytes_total, last.rows_read),
        (total, total, 420)
    );

    let mut calls = 0;
    let result = snapshot.stream_holdings(100, |_| {
        calls += 1;
        if calls == 2 { Err("disk full") } else { Ok(()) }
    });
    assert!(matches!(result, Err(StreamError::Sink("disk full"))));
    assert_eq!(calls, 2, "the stream stops at the first error");
}

#[test]
fn xlsx_refuses_more_rows_than_a_sheet_holds() {
    let dir = temp_dir("xlsx-big");
    let opts = GenerateOptions {
        format: Format::Xlsx,
        ..options(80_000, 0.0, 1)
    };
    let err = generate(&dir, &opts).expect_err("too many rows");
    assert!(
        err.to_string().contains("do not fit in one XLSX sheet"),
        "{err}"
    );
}
