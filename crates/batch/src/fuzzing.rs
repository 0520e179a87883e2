//! Entry points for the fuzz targets in `fuzz/` and for the corpus replay in this crate's
//! tests: one function per target, taking the raw input bytes. Not part of the stable API.
//!
//! Every function asserts the invariants the reading and validation path promises, so a fuzzer
//! finds logic errors as well as panics.

use std::collections::HashSet;

use encoding_rs::EUC_KR;
use ginkgo_domain::snapshot::{RejectRecord, SnapshotFile};
use rust_xlsxwriter::Workbook;

use crate::locate::{ALL_FILES, Format};
use crate::snapshot::{MemoryFile, RunReport, Snapshot};

/// A valid instrument file, used when another file is under test.
pub const INSTRUMENTS_CSV: &str = "종목명,ISIN,자산그룹\n\
    미국S&P500,KR7360750004,미국 주식\n\
    전세계MSCI,KR7195980002,전세계 주식\n\
    현금,CASH,채권 / 현금\n";

/// A valid holdings file, used when another file is under test.
pub const HOLDINGS_CSV: &str = "고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\n\
    류영길,미래에셋증권,5736692368320,연금저축,KR7360750004,8585,10\n\
    류영길,미래에셋증권,5736692368320,연금저축,CASH,1,250000\n\
    김하늘,키움증권,0012345678,ISA,KR7195980002,\"12,340\",3\n";

/// A valid principal file, used when another file is under test.
pub const PRINCIPALS_CSV: &str =
    "계좌번호,투자원금\n5736692368320,1000000\n0012345678,\"50,000\"\n";

/// How the file under test is stored, chosen by the first input byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// The input bytes as a CSV file, unchanged.
    Utf8,
    /// The input bytes as a CSV file, after a UTF-8 byte order mark.
    Utf8Bom,
    /// The input read as UTF-8 text (lossily) and written as a CP949 CSV file.
    Cp949,
    /// The input bytes as an XLSX file, unchanged.
    XlsxBytes,
    /// The input read as CSV text and written as a real workbook (numbers as number cells).
    XlsxCells,
}

const ENCODINGS: [Encoding; 5] = [
    Encoding::Utf8,
    Encoding::Utf8Bom,
    Encoding::Cp949,
    Encoding::XlsxBytes,
    Encoding::XlsxCells,
];

/// The selector byte for `file` stored as `encoding` (the inverse of [`split_input`]).
pub fn selector(file: SnapshotFile, encoding: Encoding) -> u8 {
    let f = ALL_FILES.iter().position(|x| *x == file).unwrap_or(0);
    let e = ENCODINGS.iter().position(|x| *x == encoding).unwrap_or(0);
    (e * 3 + f) as u8
}

/// Splits a fuzz input into the file under test, its storage and its content.
pub fn split_input(data: &[u8]) -> Option<(SnapshotFile, Encoding, &[u8])> {
    let (&first, rest) = data.split_first()?;
    let file = ALL_FILES[usize::from(first % 3)];
    let encoding = ENCODINGS[usize::from(first / 3) % ENCODINGS.len()];
    Some((file, encoding, rest))
}

/// Largest workbook built from CSV text: keeps one run of the target fast.
const MAX_XLSX_ROWS: usize = 200;
const MAX_XLSX_COLS: usize = 32;

/// Writes CSV text as the first sheet of a workbook: fields that read as numbers become number
/// cells, as a spreadsheet export has them.
pub fn csv_to_xlsx(content: &[u8]) -> Option<Vec<u8>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(content);
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    let mut record = csv::StringRecord::new();
    let mut row: u32 = 0;
    while (row as usize) < MAX_XLSX_ROWS {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) | Err(_) => break,
        }
        for (col, field) in record.iter().take(MAX_XLSX_COLS).enumerate() {
            let col = col as u16;
            // Cells a workbook cannot hold (too long text, non-finite numbers) stay empty.
            let _ = match field.trim().parse::<f64>() {
                Ok(number) if number.is_finite() && !field.trim().is_empty() => {
                    sheet.write_number(row, col, number).map(|_| ())
                }
                _ => sheet.write_string(row, col, field).map(|_| ()),
            };
        }
        row += 1;
    }
    workbook.save_to_buffer().ok()
}

/// The file under test as stored, or `None` when the input cannot be stored that way.
pub fn build_file(encoding: Encoding, content: &[u8]) -> Option<MemoryFile> {
    Some(match encoding {
        Encoding::Utf8 => MemoryFile::new(Format::Csv, content),
        Encoding::Utf8Bom => {
            let mut bytes = b"\xEF\xBB\xBF".to_vec();
            bytes.extend_from_slice(content);
            MemoryFile::new(Format::Csv, bytes)
        }
        Encoding::Cp949 => {
            let text = String::from_utf8_lossy(content);
            let (encoded, _, _) = EUC_KR.encode(&text);
            MemoryFile::new(Format::Csv, encoded.into_owned())
        }
        Encoding::XlsxBytes => MemoryFile::new(Format::Xlsx, content),
        Encoding::XlsxCells => MemoryFile::new(Format::Xlsx, csv_to_xlsx(content)?),
    })
}

/// Everything a day produced: the records and the report.
#[derive(Debug, PartialEq, Eq)]
pub struct DayOutcome {
    pub instruments: usize,
    pub principals: usize,
    pub holdings: Vec<ginkgo_domain::snapshot::HoldingRecord>,
    pub report: RunReport,
}

/// Opens and reads a day with `file` replaced by `under_test`, checking the report's invariants.
/// `Err` carries the fatal error's message (which must name the file).
pub fn read_day(file: SnapshotFile, under_test: MemoryFile) -> Result<DayOutcome, String> {
    let mut files = [
        MemoryFile::new(Format::Csv, INSTRUMENTS_CSV),
        MemoryFile::new(Format::Csv, HOLDINGS_CSV),
        MemoryFile::new(Format::Csv, PRINCIPALS_CSV),
    ];
    let slot = ALL_FILES.iter().position(|f| *f == file).unwrap_or(0);
    files[slot] = under_test;
    let [instruments, holdings, principals] = files;
    let opened = Snapshot::from_memory(instruments, holdings, principals).and_then(|snapshot| {
        let (holdings, report) = snapshot.read_all()?;
        Ok((snapshot, holdings, report))
    });
    let (snapshot, holdings, report) = match opened {
        Ok(day) => day,
        Err(e) => {
            let message = e.to_string();
            assert!(
                message.contains(file.base_name()),
                "a fatal error does not name the file under test: {message}"
            );
            return Err(message);
        }
    };
    check_report(&snapshot, &holdings, &report);
    Ok(DayOutcome {
        instruments: snapshot.instruments().len(),
        principals: snapshot.principals().len(),
        holdings,
        report,
    })
}

/// A file's rejects come in file order, one per row at most.
fn lines_in_order(file: SnapshotFile, rejects: &[RejectRecord]) {
    let reject_lines: Vec<u64> = rejects
        .iter()
        .filter(|r| r.file == file)
        .map(|r| r.line)
        .collect();
    assert!(
        reject_lines.windows(2).all(|w| w[0] <= w[1]),
        "{file:?} rejects are not in line order: {reject_lines:?}"
    );
    assert!(
        reject_lines.iter().all(|l| *l >= 1),
        "{file:?} reject on line 0"
    );
}

/// The invariants of a successful run.
pub fn check_report(
    snapshot: &Snapshot,
    holdings: &[ginkgo_domain::snapshot::HoldingRecord],
    report: &RunReport,
) {
    let ic = report.counts_for(SnapshotFile::Instruments);
    let hc = report.counts_for(SnapshotFile::Holdings);
    let pc = report.counts_for(SnapshotFile::Principals);
    for c in [ic, hc, pc] {
        assert_eq!(c.loaded + c.rejected, c.read, "counts of {:?}", c.file);
    }
    assert_eq!(ic.loaded, snapshot.instruments().len() as u64);
    assert_eq!(pc.loaded, snapshot.principals().len() as u64);
    assert_eq!(hc.loaded, holdings.len() as u64);
    assert_eq!(report.total_rejected(), report.rejects.len() as u64);
    for file in ALL_FILES {
        let rejected = report.rejects.iter().filter(|r| r.file == file).count() as u64;
        assert_eq!(rejected, report.counts_for(file).rejected, "{file:?}");
        let warned = report.warnings.iter().filter(|w| w.file == file).count() as u64;
        assert_eq!(warned, report.counts_for(file).warnings, "{file:?}");
    }
    lines_in_order(SnapshotFile::Instruments, &report.rejects);
    lines_in_order(SnapshotFile::Principals, &report.rejects);
    lines_in_order(SnapshotFile::Holdings, &report.rejects);

    let isins: HashSet<&str> = snapshot
        .instruments()
        .iter()
        .map(|i| i.isin.as_str())
        .collect();
    assert_eq!(
        isins.len(),
        snapshot.instruments().len(),
        "duplicate ISIN loaded"
    );
    let accounts: HashSet<&str> = snapshot
        .principals()
        .iter()
        .map(|p| p.account_number.as_str())
        .collect();
    assert_eq!(
        accounts.len(),
        snapshot.principals().len(),
        "duplicate principal loaded"
    );
    for p in snapshot.principals() {
        assert!(!p.principal.is_negative(), "negative principal loaded");
    }
    let mut held = HashSet::new();
    for h in holdings {
        assert!(
            h.isin.is_cash() || isins.contains(h.isin.as_str()),
            "holding of an unknown ISIN loaded"
        );
        assert!(h.quantity >= 0, "negative quantity loaded");
        assert!(!h.price.is_negative(), "negative price loaded");
        assert!(
            held.insert((h.account_number.as_str(), h.isin.as_str())),
            "two holdings of one ISIN in one account loaded"
        );
    }
    let mut csv = Vec::new();
    assert!(report.write_rejects_csv(&mut csv).is_ok());
}

/// The `provider_files` fuzz target: the first byte picks the file and its storage, the rest
/// is the file's content; the other two files of the day are valid.
pub fn provider_files(data: &[u8]) {
    let Some((file, encoding, content)) = split_input(data) else {
        return;
    };
    let Some(under_test) = build_file(encoding, content) else {
        return;
    };
    let outcome = read_day(file, under_test);
    // A byte order mark changes nothing about a UTF-8 file.
    if encoding == Encoding::Utf8
        && std::str::from_utf8(content).is_ok()
        && !content.starts_with(b"\xEF\xBB\xBF")
        && let Some(with_bom) = build_file(Encoding::Utf8Bom, content)
    {
        let bom_outcome = read_day(file, with_bom);
        match (&outcome, &bom_outcome) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "a BOM changed the outcome"),
            (Err(_), Err(_)) => {}
            _ => panic!("a BOM changed the outcome: {outcome:?} vs {bom_outcome:?}"),
        }
    }
}
