//! Generates a provider snapshot in the provider's format: the three files with Korean headers,
//! realistic names, the real data set's brokers and 14 instruments, and optionally a chosen
//! fraction of rows broken the way real files break. Deterministic for a seed
//! ([`SplitMix64`]); CSV is written streaming.
//!
//! The returned [`Manifest`] lists every injected error (file, line, kind, column) so tests can
//! check each is reported exactly once.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use encoding_rs::EUC_KR;
use ginkgo_domain::Isin;
use ginkgo_domain::rng::SplitMix64;
use ginkgo_domain::snapshot::SnapshotFile;

use crate::locate::{Format, inbox_dir};
use crate::source::{HOLDING_COLUMNS, INSTRUMENT_COLUMNS, PRINCIPAL_COLUMNS, TextEncoding};

/// The 14 instruments of the real data set: name, ISIN, asset group. The last is the cash line.
pub const INSTRUMENTS: [(&str, &str, &str); 14] = [
    ("미국S&P500", "KR7360750004", "미국 주식"),
    ("미국나스닥100", "KR7133690008", "미국 주식"),
    ("미국나스닥바이오", "KR7203780002", "미국섹터 주식"),
    ("미국S&P IT(합성)", "KR7200020006", "미국섹터 주식"),
    ("선진국MSCI World", "KR7251350005", "선진국 주식"),
    ("일본니케이225", "KR7241180009", "선진국 주식"),
    ("베트남VN30", "KR7245710009", "신흥국 주식"),
    ("신흥국MSCI", "KR7195980008", "신흥국 주식"),
    ("전세계MSCI", "KR7195980002", "전세계 주식"),
    ("WTI원유선물", "KR7261220008", "부동산 / 원자재"),
    ("S&P글로벌인프라", "KR7130680002", "부동산 / 원자재"),
    ("단기채권", "KR7153130000", "채권 / 현금"),
    ("미국장기우량회사채", "KR7332620004", "채권 / 현금"),
    ("현금", "CASH", "채권 / 현금"),
];

/// The brokers of the real data set.
pub const BROKERS: [&str; 3] = ["디셈버증권", "핀트투자증권", "베스트투자"];

const SURNAMES: [&str; 30] = [
    "김", "이", "박", "최", "정", "강", "조", "윤", "장", "임", "한", "오", "서", "신", "권", "황",
    "안", "송", "류", "전", "홍", "고", "문", "양", "손", "배", "백", "허", "남", "노",
];
const GIVEN: [&str; 40] = [
    "민", "서", "지", "현", "영", "수", "준", "우", "하", "은", "도", "윤", "예", "진", "성", "경",
    "상", "호", "길", "숙", "희", "연", "재", "훈", "아", "원", "태", "석", "혜", "정", "유", "빈",
    "주", "채", "승", "동", "미", "선", "철", "용",
];

/// Rows per sheet an XLSX file can hold, header included.
pub const XLSX_MAX_ROWS: u64 = 1_048_576;

#[derive(Debug, Clone, PartialEq)]
pub struct GenerateOptions {
    pub accounts: u64,
    pub date: NaiveDate,
    /// Fraction (0.0..=1.0) of data rows to break; the same fraction of good rows gets
    /// harmless noise (thousands separators, `.0`, stray spaces).
    pub error_rate: f64,
    pub format: Format,
    /// CSV only; XLSX is always Unicode.
    pub encoding: TextEncoding,
    pub seed: u64,
    /// CSV: quote every field (as the provider does) instead of only where needed.
    pub quote_all: bool,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            accounts: 50,
            date: NaiveDate::from_ymd_opt(2026, 1, 2).unwrap_or_default(),
            error_rate: 0.0,
            format: Format::Csv,
            encoding: TextEncoding::Utf8,
            seed: 1,
            quote_all: true,
        }
    }
}

/// The ways a row is broken on purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    NonNumericPrice,
    NegativePrice,
    NegativeQuantity,
    FractionalQuantity,
    /// A quantity with more digits than an amount can hold.
    TooLargeQuantity,
    /// A price and a quantity that each fit but whose product (the valuation) does not.
    ValuationOverflow,
    BadIsin,
    UnknownIsin,
    LettersInAccountNumber,
    /// The field named by [`InjectedError::column`] is left empty.
    MissingField,
    /// A customer name that contradicts the account's first row.
    NameContradiction,
    /// A broker that contradicts the account's first row.
    BrokerContradiction,
    /// An extra copy of the row before it (the copy is the error).
    DuplicateRow,
    NonNumericPrincipal,
    NegativePrincipal,
    /// An extra copy of the principal row before it (the copy is the error).
    DuplicatePrincipal,
    /// An extra instrument row whose ISIN has the wrong shape (no holding refers to it).
    BadInstrumentIsin,
}

/// Broken rows take their kind from these lists in turn, so that every kind appears as soon as
/// there are as many broken rows as kinds.
const HOLDING_ERRORS: [ErrorKind; 13] = [
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
];
const PRINCIPAL_ERRORS: [ErrorKind; 5] = [
    ErrorKind::NonNumericPrincipal,
    ErrorKind::NegativePrincipal,
    ErrorKind::LettersInAccountNumber,
    ErrorKind::MissingField,
    ErrorKind::DuplicatePrincipal,
];

/// One broken row: where it is and how it is broken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectedError {
    pub file: SnapshotFile,
    /// The account the broken row belongs to (empty for an instrument row).
    pub account: String,
    /// 1-based physical line (header = 1).
    pub line: u64,
    pub kind: ErrorKind,
    /// The header name of the broken field.
    pub column: &'static str,
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub dir: PathBuf,
    pub date: NaiveDate,
    /// Instruments, holdings, principals.
    pub files: Vec<PathBuf>,
    pub accounts: u64,
    /// Data rows written (header excluded, injected rows included).
    pub instrument_rows: u64,
    pub holding_rows: u64,
    pub principal_rows: u64,
    /// Good rows that carry harmless noise (must load).
    pub noisy_rows: u64,
    pub errors: Vec<InjectedError>,
    /// Accounts whose principal row was left out or broken (they load with a warning).
    pub accounts_without_principal: Vec<String>,
    /// Principal rows written for accounts that have no holdings (warnings).
    pub principals_without_holdings: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error("{path}: cannot write: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Csv { path: PathBuf, message: String },
    #[error("{path}: cannot write the workbook: {message}")]
    Xlsx { path: PathBuf, message: String },
    #[error("{rows} holding rows do not fit in one XLSX sheet (at most {max} rows)", max = XLSX_MAX_ROWS - 1)]
    TooManyRowsForXlsx { rows: u64 },
    #[error("invalid option: {0}")]
    InvalidOptions(String),
}

/// A cell as generated; rendered to CSV text or to an XLSX cell.
#[derive(Debug, Clone)]
enum Value<'a> {
    Text(Cow<'a, str>),
    Int(i64),
    /// An integer written the spreadsheet way: `8585.0` in CSV, a number cell in XLSX.
    IntAsFloat(i64),
    /// A real fraction: `3.5`.
    Decimal(i64, u8),
    Empty,
}

impl Value<'_> {
    fn csv_text(&self) -> Cow<'_, str> {
        match self {
            Value::Text(t) => Cow::Borrowed(t),
            Value::Int(i) => Cow::Owned(i.to_string()),
            Value::IntAsFloat(i) => Cow::Owned(format!("{i}.0")),
            Value::Decimal(i, tenths) => Cow::Owned(format!("{i}.{tenths}")),
            Value::Empty => Cow::Borrowed(""),
        }
    }
}

/// One account's facts, the same on every day for a seed.
struct Account {
    customer: String,
    broker: &'static str,
    number: String,
    name: String,
    /// Quantities of the 13 instruments (cash excluded).
    quantities: [i64; 13],
    cash: i64,
    principal: i64,
}

fn account_number(index: u64, rng: &mut SplitMix64) -> String {
    // A bijection of 0..10^12 (the multiplier is coprime to 10), so numbers never collide.
    let body = (u128::from(index) * 7_919_133_337 + 123_456_789_011) % 1_000_000_000_000;
    if rng.chance(0.5) {
        format!("{}{body:012}", 1 + rng.below(9))
    } else {
        format!("{body:012}")
    }
}

fn korean_name(rng: &mut SplitMix64) -> String {
    let mut name = String::with_capacity(9);
    name.push_str(rng.pick::<&str>(&SURNAMES));
    name.push_str(rng.pick::<&str>(&GIVEN));
    name.push_str(rng.pick::<&str>(&GIVEN));
    name
}

fn base_prices(seed: u64) -> [i64; 13] {
    let mut rng = SplitMix64::derive(seed, 0x5052_4943_4553);
    let mut prices = [0i64; 13];
    for p in &mut prices {
        *p = rng.range_i64(2_000, 15_000);
    }
    prices
}

/// Prices on the `day`-th day: a small random walk from the base prices (±3 % a day).
fn prices_on(seed: u64, day: u64) -> [i64; 13] {
    let mut prices = base_prices(seed);
    for d in 1..=day {
        let mut rng = SplitMix64::derive(seed, 0x4452_4946_5400 ^ d);
        for p in &mut prices {
            let step = rng.range_i64(-30, 30);
            *p = (*p * (1000 + step) / 1000).max(100);
        }
    }
    prices
}

fn make_account(seed: u64, index: u64, prices: &[i64; 13]) -> Account {
    let mut rng = SplitMix64::derive(seed, index.wrapping_add(1));
    let customer = korean_name(&mut rng);
    let broker = *rng.pick(&BROKERS);
    let number = account_number(index, &mut rng);
    let mut quantities = [0i64; 13];
    for q in &mut quantities {
        *q = if rng.chance(0.03) {
            0
        } else {
            rng.range_i64(1, 25)
        };
    }
    let cash = rng.range_i64(0, 50_000);
    let total: i64 = quantities
        .iter()
        .zip(prices)
        .map(|(q, p)| q * p)
        .sum::<i64>()
        + cash;
    let principal = total * rng.range_i64(850, 1200) / 1000;
    Account {
        customer,
        broker,
        number,
        name: format!("계좌{}", index + 1),
        quantities,
        cash,
        principal,
    }
}

/// Writes rows of [`Value`]s as CSV or XLSX.
enum Sink {
    Csv {
        writer: Box<csv::Writer<BufWriter<File>>>,
        encoding: TextEncoding,
        record: csv::ByteRecord,
    },
    Xlsx {
        workbook: Box<rust_xlsxwriter::Workbook>,
        next_row: u32,
    },
}

impl Sink {
    fn create(path: &Path, opts: &GenerateOptions, bom: bool) -> Result<Sink, GenerateError> {
        match opts.format {
            Format::Csv => {
                let file = File::create(path).map_err(|e| io_error(path, e))?;
                let mut out = BufWriter::with_capacity(1 << 20, file);
                if bom && opts.encoding == TextEncoding::Utf8 {
                    out.write_all(b"\xEF\xBB\xBF")
                        .map_err(|e| io_error(path, e))?;
                }
                let mut builder = csv::WriterBuilder::new();
                builder.quote_style(if opts.quote_all {
                    csv::QuoteStyle::Always
                } else {
                    csv::QuoteStyle::Necessary
                });
                if opts.encoding == TextEncoding::Cp949 {
                    // Korean Excel exports end lines with CRLF.
                    builder.terminator(csv::Terminator::CRLF);
                }
                Ok(Sink::Csv {
                    writer: Box::new(builder.from_writer(out)),
                    encoding: opts.encoding,
                    record: csv::ByteRecord::new(),
                })
            }
            Format::Xlsx => {
                let mut workbook = Box::new(rust_xlsxwriter::Workbook::new());
                workbook.add_worksheet();
                Ok(Sink::Xlsx {
                    workbook,
                    next_row: 0,
                })
            }
        }
    }

    fn row(&mut self, path: &Path, values: &[Value<'_>]) -> Result<(), GenerateError> {
        match self {
            Sink::Csv {
                writer,
                encoding,
                record,
            } => {
                record.clear();
                for v in values {
                    let text = v.csv_text();
                    match encoding {
                        TextEncoding::Utf8 => record.push_field(text.as_bytes()),
                        TextEncoding::Cp949 => record.push_field(&EUC_KR.encode(&text).0),
                    }
                }
                writer
                    .write_byte_record(record)
                    .map_err(|e| GenerateError::Csv {
                        path: path.to_path_buf(),
                        message: e.to_string(),
                    })
            }
            Sink::Xlsx { workbook, next_row } => {
                let xlsx = |e: rust_xlsxwriter::XlsxError| GenerateError::Xlsx {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                };
                let row = *next_row;
                let sheet = workbook.worksheet_from_index(0).map_err(xlsx)?;
                for (col, v) in values.iter().enumerate() {
                    let col = u16::try_from(col).unwrap_or(u16::MAX);
                    match v {
                        Value::Text(t) => {
                            sheet.write_string(row, col, t.as_ref()).map_err(xlsx)?;
                        }
                        Value::Int(i) | Value::IntAsFloat(i) => {
                            sheet.write_number(row, col, *i as f64).map_err(xlsx)?;
                        }
                        Value::Decimal(i, tenths) => {
                            let n = *i as f64 + f64::from(*tenths) / 10.0;
                            sheet.write_number(row, col, n).map_err(xlsx)?;
                        }
                        Value::Empty => {}
                    }
                }
                *next_row += 1;
                Ok(())
            }
        }
    }

    fn finish(self, path: &Path) -> Result<(), GenerateError> {
        match self {
            Sink::Csv { writer, .. } => {
                let out = writer.into_inner().map_err(|e| GenerateError::Csv {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })?;
                let file = out
                    .into_inner()
                    .map_err(|e| io_error(path, e.into_error()))?;
                file.sync_all().map_err(|e| io_error(path, e))
            }
            Sink::Xlsx { mut workbook, .. } => {
                workbook.save(path).map_err(|e| GenerateError::Xlsx {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                })
            }
        }
    }
}

fn io_error(path: &Path, source: std::io::Error) -> GenerateError {
    GenerateError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn header(columns: &[crate::source::ColumnSpec]) -> Vec<Value<'static>> {
    columns
        .iter()
        .map(|c| Value::Text(Cow::Borrowed(c.name)))
        .collect()
}

/// An ISIN of the right shape and check digit that is not one of [`INSTRUMENTS`].
fn unknown_isin(rng: &mut SplitMix64) -> String {
    loop {
        let body = format!("KR7{:08}", rng.below(100_000_000));
        for check in 0..10 {
            let candidate = format!("{body}{check}");
            let known = INSTRUMENTS.iter().any(|(_, isin, _)| *isin == candidate);
            if !known
                && Isin::parse(&candidate)
                    .map(|i| i.check_digit_ok())
                    .unwrap_or(false)
            {
                return candidate;
            }
        }
    }
}

/// Replaces one digit of an account number with a letter.
fn with_letter(number: &str, rng: &mut SplitMix64) -> String {
    let mut chars: Vec<char> = number.chars().collect();
    let at = rng.below(chars.len() as u64) as usize;
    if let Some(c) = chars.get_mut(at) {
        *c = *rng.pick(&['A', 'O', 'l', 'x']);
    }
    chars.into_iter().collect()
}

/// `12345` → `12,345`.
fn grouped(value: i64) -> String {
    ginkgo_domain::money::group_thousands(value)
}

fn check_options(opts: &GenerateOptions) -> Result<(), GenerateError> {
    if !(0.0..=1.0).contains(&opts.error_rate) {
        return Err(GenerateError::InvalidOptions(format!(
            "error_rate must be between 0 and 1, not {}",
            opts.error_rate
        )));
    }
    if opts.format == Format::Xlsx {
        // 14 rows per account, plus injected duplicates (at most one per row).
        let worst = opts
            .accounts
            .saturating_mul(if opts.error_rate > 0.0 { 28 } else { 14 });
        if worst >= XLSX_MAX_ROWS {
            return Err(GenerateError::TooManyRowsForXlsx { rows: worst });
        }
    }
    Ok(())
}

/// Writes one day (day 0 of the price walk) into `dir` (created if needed).
pub fn generate(dir: &Path, opts: &GenerateOptions) -> Result<Manifest, GenerateError> {
    generate_day(dir, opts, 0)
}

/// Writes `days` consecutive days into `inbox/YYYY-MM-DD/`, starting at `opts.date`: the same
/// accounts and quantities every day, prices drifting by up to ±3 % a day, errors injected
/// afresh each day.
pub fn generate_days(
    inbox: &Path,
    opts: &GenerateOptions,
    days: u32,
) -> Result<Vec<Manifest>, GenerateError> {
    let mut out = Vec::with_capacity(days as usize);
    for day in 0..days {
        let date = opts
            .date
            .checked_add_days(chrono::Days::new(u64::from(day)))
            .ok_or_else(|| GenerateError::InvalidOptions("date out of range".to_string()))?;
        let day_opts = GenerateOptions {
            date,
            ..opts.clone()
        };
        out.push(generate_day(
            &inbox_dir(inbox, date),
            &day_opts,
            u64::from(day),
        )?);
    }
    Ok(out)
}

fn generate_day(dir: &Path, opts: &GenerateOptions, day: u64) -> Result<Manifest, GenerateError> {
    check_options(opts)?;
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let ext = opts.format.extension();
    let path_of = |file: SnapshotFile| dir.join(format!("{}.{ext}", file.base_name()));
    let mut manifest = Manifest {
        dir: dir.to_path_buf(),
        date: opts.date,
        files: vec![
            path_of(SnapshotFile::Instruments),
            path_of(SnapshotFile::Holdings),
            path_of(SnapshotFile::Principals),
        ],
        accounts: opts.accounts,
        instrument_rows: 0,
        holding_rows: 0,
        principal_rows: 0,
        noisy_rows: 0,
        errors: Vec::new(),
        accounts_without_principal: Vec::new(),
        principals_without_holdings: Vec::new(),
    };

    // Instruments: clean, plus (with errors on) one extra row with a malformed ISIN that no
    // holding refers to, so the day's instruments stay complete.
    let path = path_of(SnapshotFile::Instruments);
    let mut sink = Sink::create(&path, opts, false)?;
    sink.row(&path, &header(&INSTRUMENT_COLUMNS))?;
    for (name, isin, group) in INSTRUMENTS {
        sink.row(
            &path,
            &[
                Value::Text(name.into()),
                Value::Text(isin.into()),
                Value::Text(group.into()),
            ],
        )?;
        manifest.instrument_rows += 1;
    }
    if opts.error_rate > 0.0 {
        sink.row(
            &path,
            &[
                Value::Text("폐지종목".into()),
                Value::Text("KR71234".into()),
                Value::Text("기타".into()),
            ],
        )?;
        manifest.instrument_rows += 1;
        manifest.errors.push(InjectedError {
            file: SnapshotFile::Instruments,
            account: String::new(),
            line: manifest.instrument_rows + 1,
            kind: ErrorKind::BadInstrumentIsin,
            column: "ISIN",
        });
    }
    sink.finish(&path)?;

    let prices = prices_on(opts.seed, day);
    let base = base_prices(opts.seed);
    let mut errors_rng = SplitMix64::derive(opts.seed, 0x4552_5253_0000 ^ day);
    let rate = opts.error_rate;
    let mut holding_kinds = HOLDING_ERRORS.iter().copied().cycle();
    let mut principal_kinds = PRINCIPAL_ERRORS.iter().copied().cycle();

    // Holdings: 14 rows per account; the first row of an account is never broken, so it
    // always defines the account's customer and broker.
    let path = path_of(SnapshotFile::Holdings);
    let mut sink = Sink::create(&path, opts, false)?;
    sink.row(&path, &header(&HOLDING_COLUMNS))?;
    let mut line = 1u64;
    for index in 0..opts.accounts {
        let account = make_account(opts.seed, index, &base);
        for (slot, (_, isin, _)) in INSTRUMENTS.iter().enumerate() {
            let (price, quantity) = match (prices.get(slot), account.quantities.get(slot)) {
                (Some(p), Some(q)) => (*p, *q),
                _ => (account.cash, 1),
            };
            let mut row: [Value<'_>; 7] = [
                Value::Text(Cow::Borrowed(&account.customer)),
                Value::Text(Cow::Borrowed(account.broker)),
                Value::Text(Cow::Borrowed(&account.number)),
                Value::Text(Cow::Borrowed(&account.name)),
                Value::Text(Cow::Borrowed(isin)),
                Value::Int(price),
                Value::Int(quantity),
            ];
            let broken = slot > 0 && rate > 0.0 && errors_rng.chance(rate);
            let kind = if broken { holding_kinds.next() } else { None };
            let mut column = "";
            match kind {
                Some(ErrorKind::NonNumericPrice) => {
                    let junk = *errors_rng.pick(&["N/A", "가격없음", "12a45", "-", "#VALUE!"]);
                    row[5] = Value::Text(junk.into());
                    column = "현재가";
                }
                Some(ErrorKind::NegativePrice) => {
                    row[5] = Value::Int(-price.max(1));
                    column = "현재가";
                }
                Some(ErrorKind::NegativeQuantity) => {
                    row[6] = Value::Int(-quantity.max(1));
                    column = "보유수량";
                }
                Some(ErrorKind::TooLargeQuantity) => {
                    row[6] = Value::Text("99999999999999999999".into());
                    column = "보유수량";
                }
                Some(ErrorKind::ValuationOverflow) => {
                    row[5] = Value::Int(1_000_000_000_000_000);
                    row[6] = Value::Int(10_000);
                    column = "보유수량";
                }
                Some(ErrorKind::FractionalQuantity) => {
                    row[6] = Value::Decimal(quantity, 5);
                    column = "보유수량";
                }
                Some(ErrorKind::BadIsin) => {
                    let bad = format!("{}X", &isin[..isin.len() - 1]);
                    row[4] = Value::Text(bad.into());
                    column = "ISIN";
                }
                Some(ErrorKind::UnknownIsin) => {
                    row[4] = Value::Text(unknown_isin(&mut errors_rng).into());
                    column = "ISIN";
                }
                Some(ErrorKind::LettersInAccountNumber) => {
                    row[2] = Value::Text(with_letter(&account.number, &mut errors_rng).into());
                    column = "계좌번호";
                }
                Some(ErrorKind::MissingField) => {
                    let at = errors_rng.below(7) as usize;
                    row[at] = Value::Empty;
                    column = HOLDING_COLUMNS[at].name;
                }
                Some(ErrorKind::NameContradiction) => {
                    let mut other = korean_name(&mut errors_rng);
                    while other == account.customer {
                        other = korean_name(&mut errors_rng);
                    }
                    row[0] = Value::Text(other.into());
                    column = "고객이름";
                }
                Some(ErrorKind::BrokerContradiction) => {
                    let other = BROKERS
                        .iter()
                        .find(|b| **b != account.broker)
                        .copied()
                        .unwrap_or("기타증권");
                    row[1] = Value::Text(other.into());
                    column = "증권사";
                }
                _ => {}
            }
            if kind.is_none() && rate > 0.0 && errors_rng.chance(rate) {
                add_noise(&mut row, &mut errors_rng);
                manifest.noisy_rows += 1;
            }
            sink.row(&path, &row)?;
            line += 1;
            manifest.holding_rows += 1;
            if let Some(kind) = kind {
                if kind == ErrorKind::DuplicateRow {
                    sink.row(&path, &row)?;
                    line += 1;
                    manifest.holding_rows += 1;
                    column = "ISIN";
                }
                manifest.errors.push(InjectedError {
                    file: SnapshotFile::Holdings,
                    account: account.number.clone(),
                    line,
                    kind,
                    column,
                });
            }
        }
        if opts.format == Format::Xlsx && line >= XLSX_MAX_ROWS {
            return Err(GenerateError::TooManyRowsForXlsx { rows: line });
        }
    }
    sink.finish(&path)?;

    // Principals: one per account; with errors on, some are left out, some broken, and a few
    // belong to accounts without holdings.
    let path = path_of(SnapshotFile::Principals);
    let mut sink = Sink::create(&path, opts, true)?;
    sink.row(&path, &header(&PRINCIPAL_COLUMNS))?;
    let mut line = 1u64;
    let mut extra_index = opts.accounts;
    for index in 0..opts.accounts {
        let account = make_account(opts.seed, index, &base);
        if rate > 0.0 && errors_rng.chance(rate / 2.0) {
            manifest
                .accounts_without_principal
                .push(account.number.clone());
            continue;
        }
        let mut row: [Value<'_>; 2] = [
            Value::Text(Cow::Borrowed(&account.number)),
            Value::Int(account.principal),
        ];
        let broken = rate > 0.0 && errors_rng.chance(rate);
        let kind = if broken { principal_kinds.next() } else { None };
        let mut column = "";
        match kind {
            Some(ErrorKind::NonNumericPrincipal) => {
                row[1] = Value::Text((*errors_rng.pick(&["미정", "N/A", "1.2.3"])).into());
                column = "투자원금";
            }
            Some(ErrorKind::NegativePrincipal) => {
                row[1] = Value::Int(-account.principal.max(1));
                column = "투자원금";
            }
            Some(ErrorKind::LettersInAccountNumber) => {
                row[0] = Value::Text(with_letter(&account.number, &mut errors_rng).into());
                column = "계좌번호";
            }
            Some(ErrorKind::MissingField) => {
                let at = errors_rng.below(2) as usize;
                row[at] = Value::Empty;
                column = PRINCIPAL_COLUMNS[at].name;
            }
            _ => {}
        }
        if kind.is_none() && rate > 0.0 && errors_rng.chance(rate) {
            if errors_rng.chance(0.5) {
                row[1] = Value::Text(grouped(account.principal).into());
            } else {
                row[0] = Value::Text(format!(" {} ", account.number).into());
            }
            manifest.noisy_rows += 1;
        }
        sink.row(&path, &row)?;
        line += 1;
        manifest.principal_rows += 1;
        match kind {
            Some(ErrorKind::DuplicatePrincipal) => {
                sink.row(&path, &row)?;
                line += 1;
                manifest.principal_rows += 1;
                column = "계좌번호";
            }
            Some(_) => manifest
                .accounts_without_principal
                .push(account.number.clone()),
            None => {}
        }
        if let Some(kind) = kind {
            manifest.errors.push(InjectedError {
                file: SnapshotFile::Principals,
                account: account.number.clone(),
                line,
                kind,
                column,
            });
        }
        if rate > 0.0 && errors_rng.chance(rate / 2.0) {
            // A principal for an account the holdings file does not have.
            let mut rng = SplitMix64::derive(opts.seed, extra_index.wrapping_add(1));
            let number = account_number(extra_index, &mut rng);
            extra_index += 1;
            let amount = rng.range_i64(100_000, 2_000_000);
            sink.row(
                &path,
                &[Value::Text(Cow::Borrowed(&number)), Value::Int(amount)],
            )?;
            line += 1;
            manifest.principal_rows += 1;
            manifest.principals_without_holdings.push(number);
        }
    }
    sink.finish(&path)?;
    Ok(manifest)
}

/// Harmless noise that must load: thousands separators, `.0` floats, stray whitespace.
fn add_noise(row: &mut [Value<'_>; 7], rng: &mut SplitMix64) {
    match rng.below(4) {
        0 => {
            if let Value::Int(p) = row[5] {
                row[5] = Value::Text(grouped(p).into());
            }
        }
        1 => {
            if let Value::Int(p) = row[5] {
                row[5] = Value::IntAsFloat(p);
            }
        }
        2 => {
            if let Value::Int(q) = row[6] {
                row[6] = Value::IntAsFloat(q);
            }
        }
        _ => {
            let at = rng.below(5) as usize;
            if let Value::Text(t) = &row[at] {
                let padded = format!("  {t} ");
                row[at] = Value::Text(padded.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_numbers_are_unique_digits() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..20_000 {
            let mut rng = SplitMix64::derive(9, i + 1);
            let n = account_number(i, &mut rng);
            assert!(n.len() == 12 || n.len() == 13, "{n}");
            assert!(n.bytes().all(|b| b.is_ascii_digit()));
            assert!(seen.insert(n));
        }
    }

    #[test]
    fn unknown_isins_are_well_formed_and_unknown() {
        let mut rng = SplitMix64::new(3);
        for _ in 0..100 {
            let s = unknown_isin(&mut rng);
            let isin = Isin::parse(&s).expect("shape");
            assert!(isin.check_digit_ok());
            assert!(INSTRUMENTS.iter().all(|(_, known, _)| *known != s));
        }
    }

    #[test]
    fn prices_drift_a_little_each_day() {
        let d0 = prices_on(5, 0);
        let d1 = prices_on(5, 1);
        assert_eq!(d0, base_prices(5));
        for (a, b) in d0.iter().zip(d1.iter()) {
            assert!((b - a).abs() * 1000 <= a * 30 + 1000, "{a} -> {b}");
        }
    }

    #[test]
    fn names_are_three_hangul_syllables() {
        let mut rng = SplitMix64::new(1);
        for _ in 0..100 {
            assert_eq!(korean_name(&mut rng).chars().count(), 3);
        }
    }
}
