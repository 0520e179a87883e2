//! A day's snapshot: open (locate, checksum, read instruments and principals), then stream the
//! holdings to the loader in chunks, validating each row and collecting the run report.

use std::cell::Cell;
use std::collections::HashMap;
use std::convert::Infallible;
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use chrono::NaiveDate;
use ginkgo_domain::snapshot::{
    HoldingRecord, InstrumentRecord, PrincipalRecord, RejectRecord, SnapshotFile, WarningRecord,
};
use ginkgo_domain::{AccountNumber, Isin, Won};
use sha2::{Digest, Sha256};

use crate::error::{FatalError, StreamError};
use crate::locate::{ALL_FILES, DayFiles, Format, LocatedFile, file_name, locate};
use crate::source::{RawRow, ReadStop, read_rows};
use crate::validate::{self, column_name, hcol, reject};

/// What was read from one input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileInfo {
    pub file: SnapshotFile,
    /// The file name, without the folder.
    pub name: String,
    pub path: PathBuf,
    pub format: Format,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
    pub bytes: u64,
}

/// Row counts of one file. `read` counts non-blank data rows (not the header);
/// `loaded + rejected = read`; `warnings` counts the warnings about this file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileCounts {
    pub file: SnapshotFile,
    pub read: u64,
    pub loaded: u64,
    pub rejected: u64,
    pub warnings: u64,
}

/// The outcome of a day's validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunReport {
    /// Instruments, holdings, principals — in that order.
    pub counts: [FileCounts; 3],
    /// Every rejected row, in file order (instruments, principals, then holdings).
    pub rejects: Vec<RejectRecord>,
    /// Every warning: row warnings in file order, then the day-wide ones.
    pub warnings: Vec<WarningRecord>,
}

impl RunReport {
    pub fn counts_for(&self, file: SnapshotFile) -> FileCounts {
        let i = ALL_FILES.iter().position(|f| *f == file).unwrap_or(0);
        self.counts[i]
    }

    pub fn total_rejected(&self) -> u64 {
        self.counts.iter().map(|c| c.rejected).sum()
    }

    /// Writes the reject list as CSV, for download (see [`rejects_csv`]).
    pub fn write_rejects_csv<W: std::io::Write>(&self, mut out: W) -> std::io::Result<()> {
        out.write_all(rejects_csv(&self.rejects).as_bytes())?;
        out.flush()
    }
}

/// Rejects as CSV for a spreadsheet: `file,line,account_number,isin,column,value,reason`, RFC
/// 4180 quoting, CRLF line ends, UTF-8 with a byte-order mark (so Korean Excel reads it as
/// UTF-8, not CP949). A value that a spreadsheet could evaluate — a leading `=`, `+`, `-`, `@`,
/// TAB or CR, except a plain signed number — is prefixed with `'`.
pub fn rejects_csv(rejects: &[RejectRecord]) -> String {
    let mut out = String::from("\u{feff}file,line,account_number,isin,column,value,reason\r\n");
    for r in rejects {
        let line = r.line.to_string();
        let fields = [
            r.file.base_name(),
            line.as_str(),
            r.account_number.as_deref().unwrap_or(""),
            r.isin.as_deref().unwrap_or(""),
            r.column.as_deref().unwrap_or(""),
            r.value.as_deref().unwrap_or(""),
            r.reason.as_str(),
        ];
        let cells: Vec<String> = fields.iter().map(|v| csv_field(v)).collect();
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One CSV cell: defused (see [`rejects_csv`]) and quoted when needed.
pub fn csv_field(v: &str) -> String {
    // A plain signed number (`-3`, `-1,234.5`) is not a formula; keep it as the provider sent it.
    let number = v.strip_prefix(['-', '+']).is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_digit())
            && rest
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    });
    let v = if v.starts_with(['=', '+', '-', '@', '\t', '\r']) && !number {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

/// How far the holdings stream has read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    pub bytes_read: u64,
    pub bytes_total: u64,
    pub rows_read: u64,
}

/// A day's provider snapshot, opened and partly validated.
///
/// `open` locates the three files, takes their SHA-256, reads and validates the instruments
/// and principals (small) and checks the holdings header, so every fatal problem with the
/// day's input surfaces before anything is loaded. Holdings are then streamed with
/// [`Snapshot::stream_holdings`].
#[derive(Debug)]
pub struct Snapshot {
    day: DayFiles,
    infos: Vec<FileInfo>,
    instruments: Vec<InstrumentRecord>,
    principals: Vec<PrincipalRecord>,
    /// Line of each principal, parallel to `principals`.
    principal_lines: Vec<u64>,
    instrument_index: HashMap<String, u32, BuildHasherDefault<KeyHasher>>,
    early_rejects: Vec<RejectRecord>,
    early_warnings: Vec<WarningRecord>,
    instrument_counts: FileCounts,
    principal_counts: FileCounts,
    /// The three files' bytes (instruments, holdings, principals) when the snapshot was opened
    /// from memory; `None` when they are read from `day`'s paths.
    memory: Option<[Vec<u8>; 3]>,
}

/// One of the day's files held in memory (an upload, a test's or a fuzzer's input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryFile {
    pub format: Format,
    pub bytes: Vec<u8>,
}

impl MemoryFile {
    pub fn new(format: Format, bytes: impl Into<Vec<u8>>) -> Self {
        MemoryFile {
            format,
            bytes: bytes.into(),
        }
    }
}

fn sha256_file(path: &Path) -> Result<(String, u64), FatalError> {
    let mut file = File::open(path).map_err(|e| FatalError::io(path, e))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(|e| FatalError::io(path, e))?;
    Ok((hex::encode(hasher.finalize()), bytes))
}

/// The SHA-256 of each of the day's three files in `dir` (instruments, holdings, principals),
/// as [`Snapshot::open`] takes them: to tell whether a folder still holds the same delivery.
pub fn file_hashes(dir: &Path) -> Result<Vec<(SnapshotFile, String)>, FatalError> {
    let day = locate(dir)?;
    ALL_FILES
        .into_iter()
        .map(|file| Ok((file, sha256_file(&day.get(file).path)?.0)))
        .collect()
}

fn fatal_only(stop: ReadStop<Infallible>) -> FatalError {
    match stop {
        ReadStop::Fatal(e) => e,
        ReadStop::Stop(never) => match never {},
    }
}

/// Reads every row of a small file through `on_row`.
fn read_small(
    file: &LocatedFile,
    memory: Option<&[u8]>,
    mut on_row: impl FnMut(&RawRow<'_>),
) -> Result<(), FatalError> {
    let bytes = Cell::new(0);
    read_rows::<Infallible>(file, memory, &bytes, false, |row| {
        on_row(row);
        Ok(())
    })
    .map_err(fatal_only)
}

/// An account number as a compact map key: digits as a number plus the length (leading
/// zeros are significant).
/// Two `u64`s rather than a `u128`, so that map entries are 8-byte aligned (smaller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct AccountKey {
    hi: u64,
    lo: u64,
}

fn account_key(account: &AccountNumber) -> AccountKey {
    let [hi, lo] = account.packed();
    AccountKey { hi, lo }
}

fn account_from_key(key: AccountKey) -> String {
    let key = (u128::from(key.hi) << 64) | u128::from(key.lo);
    let width = (key >> 100) as usize;
    let value = key & ((1u128 << 100) - 1);
    format!("{value:0width$}")
}

impl Snapshot {
    /// Locates the day's files in `dir` and opens them (see [`Snapshot::from_files`]).
    pub fn open(dir: &Path) -> Result<Snapshot, FatalError> {
        Snapshot::from_files(locate(dir)?)
    }

    /// Opens already located files.
    pub fn from_files(day: DayFiles) -> Result<Snapshot, FatalError> {
        Snapshot::build(day, None)
    }

    /// Opens a day whose three files are held in memory; everything else is as for files on
    /// disk. The files are named `<base name>.<extension>` in messages and in [`FileInfo`].
    pub fn from_memory(
        instruments: MemoryFile,
        holdings: MemoryFile,
        principals: MemoryFile,
    ) -> Result<Snapshot, FatalError> {
        let located = |file: SnapshotFile, memory: &MemoryFile| LocatedFile {
            file,
            path: PathBuf::from(format!(
                "{}.{}",
                file.base_name(),
                memory.format.extension()
            )),
            format: memory.format,
            date: None,
        };
        let day = DayFiles {
            dir: PathBuf::new(),
            instruments: located(SnapshotFile::Instruments, &instruments),
            holdings: located(SnapshotFile::Holdings, &holdings),
            principals: located(SnapshotFile::Principals, &principals),
        };
        Snapshot::build(
            day,
            Some([instruments.bytes, holdings.bytes, principals.bytes]),
        )
    }

    fn build(day: DayFiles, memory: Option<[Vec<u8>; 3]>) -> Result<Snapshot, FatalError> {
        let bytes_of = |i: usize| memory.as_ref().and_then(|m| m.get(i)).map(Vec::as_slice);
        let mut infos = Vec::with_capacity(3);
        for (i, file) in ALL_FILES.into_iter().enumerate() {
            let located = day.get(file);
            let (sha256, bytes) = match bytes_of(i) {
                Some(data) => (hex::encode(Sha256::digest(data)), data.len() as u64),
                None => sha256_file(&located.path)?,
            };
            infos.push(FileInfo {
                file,
                name: file_name(&located.path),
                path: located.path.clone(),
                format: located.format,
                sha256,
                bytes,
            });
        }

        let mut rejects = Vec::new();
        let mut warnings = Vec::new();

        // Instruments.
        let mut instruments = Vec::new();
        let mut instrument_index: HashMap<String, u32, BuildHasherDefault<KeyHasher>> =
            HashMap::default();
        let mut instrument_lines: Vec<u64> = Vec::new();
        let mut ic = counts(SnapshotFile::Instruments);
        read_small(&day.instruments, bytes_of(0), |row| {
            ic.read += 1;
            let record = match validate::instrument(row) {
                Ok(r) => r,
                Err(r) => {
                    rejects.push(r);
                    return;
                }
            };
            if let Some(&first) = instrument_index.get(record.isin.as_str()) {
                let first_line = instrument_lines.get(first as usize).copied().unwrap_or(0);
                rejects.push(reject(
                    SnapshotFile::Instruments,
                    row.line,
                    "ISIN",
                    Some(record.isin.as_str()),
                    format!("duplicate ISIN: already listed at line {first_line}"),
                ));
                return;
            }
            if !record.isin.check_digit_ok() {
                warnings.push(WarningRecord {
                    file: SnapshotFile::Instruments,
                    line: Some(row.line),
                    column: Some("ISIN".to_string()),
                    value: Some(record.isin.to_string()),
                    message: "ISIN check digit does not verify; loaded as written".to_string(),
                });
                ic.warnings += 1;
            }
            let index = u32::try_from(instruments.len()).unwrap_or(u32::MAX);
            instrument_index.insert(record.isin.to_string(), index);
            instrument_lines.push(row.line);
            instruments.push(record);
        })?;
        ic.rejected = rejects.len() as u64;
        ic.loaded = ic.read - ic.rejected;

        // Principals.
        let mut principals = Vec::new();
        let mut principal_lines = Vec::new();
        let mut seen: HashMap<AccountKey, u64, BuildHasherDefault<KeyHasher>> = HashMap::default();
        let mut pc = counts(SnapshotFile::Principals);
        let rejects_before = rejects.len();
        read_small(&day.principals, bytes_of(2), |row| {
            pc.read += 1;
            let record = match validate::principal(row) {
                Ok(r) => r,
                Err(r) => {
                    rejects.push(validate::attribute(r, row, 0, None));
                    return;
                }
            };
            let key = account_key(&record.account_number);
            if let Some(first) = seen.get(&key) {
                let mut r = reject(
                    SnapshotFile::Principals,
                    row.line,
                    column_name(SnapshotFile::Principals, 0),
                    Some(record.account_number.as_str()),
                    format!("duplicate principal row for this account (first at line {first})"),
                );
                r.account_number = Some(record.account_number.as_str().into());
                rejects.push(r);
                return;
            }
            seen.insert(key, row.line);
            principal_lines.push(row.line);
            principals.push(record);
        })?;
        pc.rejected = (rejects.len() - rejects_before) as u64;
        pc.loaded = pc.read - pc.rejected;

        // The holdings header, so a bad holdings file fails before anything is loaded.
        let bytes = Cell::new(0);
        read_rows::<Infallible>(&day.holdings, bytes_of(1), &bytes, true, |_| Ok(()))
            .map_err(fatal_only)?;

        Ok(Snapshot {
            day,
            infos,
            instruments,
            principals,
            principal_lines,
            instrument_index,
            early_rejects: rejects,
            early_warnings: warnings,
            instrument_counts: ic,
            principal_counts: pc,
            memory,
        })
    }

    /// The date in the file names, if they carry one.
    pub fn date(&self) -> Option<NaiveDate> {
        self.day.date()
    }

    pub fn day_files(&self) -> &DayFiles {
        &self.day
    }

    /// The three files (instruments, holdings, principals) with checksum and size.
    pub fn files(&self) -> &[FileInfo] {
        &self.infos
    }

    /// The valid instruments, in file order.
    pub fn instruments(&self) -> &[InstrumentRecord] {
        &self.instruments
    }

    /// The valid principals, in file order (one per account).
    /// Gives up the principals (after streaming), without copying them.
    pub fn into_principals(self) -> Vec<PrincipalRecord> {
        self.principals
    }

    pub fn principals(&self) -> &[PrincipalRecord] {
        &self.principals
    }

    /// Streams the valid holdings to `sink` in chunks of `chunk_size` records (the last may be
    /// smaller; an empty day calls `sink` never). An error from `sink` stops the stream and is
    /// returned as [`StreamError::Sink`].
    pub fn stream_holdings<E, F>(
        &self,
        chunk_size: usize,
        sink: F,
    ) -> Result<RunReport, StreamError<E>>
    where
        F: FnMut(Vec<HoldingRecord>) -> Result<(), E>,
    {
        self.stream_holdings_with_progress(chunk_size, |_| {}, sink)
    }

    /// [`Snapshot::stream_holdings`], calling `progress` after each chunk and once at the end.
    pub fn stream_holdings_with_progress<E, F, P>(
        &self,
        chunk_size: usize,
        mut progress: P,
        mut sink: F,
    ) -> Result<RunReport, StreamError<E>>
    where
        F: FnMut(Vec<HoldingRecord>) -> Result<(), E>,
        P: FnMut(Progress),
    {
        let chunk_size = chunk_size.max(1);
        let bytes_total = self.infos.get(1).map_or(0, |info| info.bytes);
        let bytes = Cell::new(0);
        let mut state = HoldingsState::new(self);
        let mut chunk = Vec::with_capacity(chunk_size);
        let holdings_memory = self
            .memory
            .as_ref()
            .and_then(|m| m.get(1))
            .map(Vec::as_slice);
        let result = read_rows(&self.day.holdings, holdings_memory, &bytes, false, |row| {
            state.read += 1;
            match state.check(row) {
                Ok(record) => {
                    chunk.push(record);
                    if chunk.len() >= chunk_size {
                        let full = std::mem::replace(&mut chunk, Vec::with_capacity(chunk_size));
                        sink(full)?;
                        progress(Progress {
                            bytes_read: bytes.get().min(bytes_total),
                            bytes_total,
                            rows_read: state.read,
                        });
                    }
                }
                Err(r) => {
                    state
                        .rejects
                        .push(validate::attribute(r, row, hcol::ACCOUNT, Some(hcol::ISIN)))
                }
            }
            Ok(())
        });
        match result {
            Ok(()) => {}
            Err(ReadStop::Fatal(e)) => return Err(StreamError::Fatal(e)),
            Err(ReadStop::Stop(e)) => return Err(StreamError::Sink(e)),
        }
        // A CSV file is read once, front to back: a different size means it changed since
        // `open` took its checksum (typically: still being uploaded).
        if self.day.holdings.format == Format::Csv && bytes.get() != bytes_total {
            return Err(StreamError::Fatal(FatalError::ChangedDuringRun {
                path: self.day.holdings.path.clone(),
                expected: bytes_total,
                actual: bytes.get(),
            }));
        }
        if !chunk.is_empty() {
            sink(chunk).map_err(StreamError::Sink)?;
        }
        progress(Progress {
            bytes_read: bytes_total,
            bytes_total,
            rows_read: state.read,
        });
        Ok(state.finish())
    }

    /// Reads and validates everything into memory: for tests and small days.
    pub fn read_all(&self) -> Result<(Vec<HoldingRecord>, RunReport), FatalError> {
        let mut holdings = Vec::new();
        let report = self
            .stream_holdings::<Infallible, _>(65_536, |chunk| {
                holdings.extend(chunk);
                Ok(())
            })
            .map_err(|e| match e {
                StreamError::Fatal(f) => f,
                StreamError::Sink(never) => match never {},
            })?;
        Ok((holdings, report))
    }
}

fn counts(file: SnapshotFile) -> FileCounts {
    FileCounts {
        file,
        read: 0,
        loaded: 0,
        rejected: 0,
        warnings: 0,
    }
}

/// Interns repeated text (customer names, brokers) as small ids.
#[derive(Default)]
struct Interner {
    ids: HashMap<Rc<str>, u32>,
    texts: Vec<Rc<str>>,
}

impl Interner {
    fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = u32::try_from(self.texts.len()).unwrap_or(u32::MAX);
        let rc: Rc<str> = Rc::from(text);
        self.ids.insert(rc.clone(), id);
        self.texts.push(rc);
        id
    }

    fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", |t| t)
    }
}

/// A fast hasher for keys read from the day's files (account numbers, ISINs). They
/// come from the provider, not from the public, so hash flooding is not a concern here.
#[derive(Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        // A final avalanche (from SplitMix64) so that low bits depend on every input bit.
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x517C_C1B7_2722_0A95);
    }
}

const NO_MORE: u32 = u32::MAX;

/// What is remembered per account while streaming (about 32 bytes plus the map entry).
struct AccountState {
    first_line: u64,
    /// Instruments already held, as a bit set over instrument indexes 0..64 ...
    seen: u64,
    /// ... and, for the (rare) indexes above, a list in `HoldingsState::seen_more`
    /// (`NO_MORE` when there is none).
    seen_more: u32,
    customer: u32,
    broker: u32,
}

impl AccountState {
    /// Marks `index` as held; false if it already was. `more` holds the lists of indexes
    /// of 64 and above.
    fn insert(&mut self, index: u32, more: &mut Vec<Vec<u32>>) -> bool {
        if index < 64 {
            let bit = 1u64 << index;
            let fresh = self.seen & bit == 0;
            self.seen |= bit;
            return fresh;
        }
        if self.seen_more == NO_MORE {
            self.seen_more = u32::try_from(more.len()).unwrap_or(NO_MORE);
            more.push(Vec::new());
        }
        match more.get_mut(self.seen_more as usize) {
            Some(list) if list.contains(&index) => false,
            Some(list) => {
                list.push(index);
                true
            }
            None => true,
        }
    }
}

#[derive(Clone, Copy)]
struct PriceStats {
    rows: u64,
    min: Won,
    max: Won,
}

struct HoldingsState<'s> {
    snapshot: &'s Snapshot,
    /// The index used for CASH when the instrument file does not list it.
    cash_index: u32,
    accounts: HashMap<AccountKey, AccountState, BuildHasherDefault<KeyHasher>>,
    seen_more: Vec<Vec<u32>>,
    customers: Interner,
    brokers: Interner,
    prices: Vec<Option<PriceStats>>,
    read: u64,
    rejects: Vec<RejectRecord>,
    warnings: Vec<WarningRecord>,
    /// Rows with quantity 0; only the first [`LISTED_ZERO_QUANTITIES`] get a warning of their own.
    zero_quantities: u64,
}

/// Zero quantities are common (about 3 % of rows in real files): a day of a million accounts
/// would otherwise carry ~400,000 identical warnings. The first ones are listed with their line,
/// the rest are counted in one summary warning.
pub const LISTED_ZERO_QUANTITIES: u64 = 1_000;

impl<'s> HoldingsState<'s> {
    fn new(snapshot: &'s Snapshot) -> Self {
        let n = u32::try_from(snapshot.instruments.len()).unwrap_or(u32::MAX);
        HoldingsState {
            snapshot,
            cash_index: snapshot
                .instrument_index
                .get(Isin::CASH)
                .copied()
                .unwrap_or(n),
            accounts: HashMap::default(),
            seen_more: Vec::new(),
            customers: Interner::default(),
            brokers: Interner::default(),
            prices: vec![None; snapshot.instruments.len()],
            read: 0,
            // Start from the instrument and principal findings, so the report is built in
            // place (the lists can be large: no copy at the end).
            rejects: snapshot.early_rejects.clone(),
            warnings: snapshot.early_warnings.clone(),
            zero_quantities: 0,
        }
    }

    fn check(&mut self, row: &RawRow<'_>) -> Result<HoldingRecord, RejectRecord> {
        let record = validate::holding(row)?;
        let col = |c| column_name(SnapshotFile::Holdings, c);
        let line = row.line;
        let index = if record.isin.is_cash() {
            self.cash_index
        } else {
            match self.snapshot.instrument_index.get(record.isin.as_str()) {
                Some(&i) => i,
                None => {
                    return Err(reject(
                        SnapshotFile::Holdings,
                        line,
                        col(hcol::ISIN),
                        Some(record.isin.as_str()),
                        "ISIN is not in the day's instrument file (asset_group_info_set)",
                    ));
                }
            }
        };
        let key = account_key(&record.account_number);
        match self.accounts.get_mut(&key) {
            Some(account) => {
                if self.customers.text(account.customer) != record.customer_name.as_str() {
                    return Err(reject(
                        SnapshotFile::Holdings,
                        line,
                        col(hcol::CUSTOMER),
                        Some(record.customer_name.as_str()),
                        format!(
                            "customer name differs from the account's first row (line {}): expected '{}'",
                            account.first_line,
                            self.customers.text(account.customer)
                        ),
                    ));
                }
                if self.brokers.text(account.broker) != record.broker {
                    return Err(reject(
                        SnapshotFile::Holdings,
                        line,
                        col(hcol::BROKER),
                        Some(&record.broker),
                        format!(
                            "broker differs from the account's first row (line {}): expected '{}'",
                            account.first_line,
                            self.brokers.text(account.broker)
                        ),
                    ));
                }
                if !account.insert(index, &mut self.seen_more) {
                    return Err(reject(
                        SnapshotFile::Holdings,
                        line,
                        col(hcol::ISIN),
                        Some(record.isin.as_str()),
                        "duplicate row: the account already has a row for this ISIN",
                    ));
                }
            }
            None => {
                let mut account = AccountState {
                    first_line: line,
                    seen: 0,
                    seen_more: NO_MORE,
                    customer: self.customers.intern(record.customer_name.as_str()),
                    broker: self.brokers.intern(&record.broker),
                };
                account.insert(index, &mut self.seen_more);
                self.accounts.insert(key, account);
            }
        }
        if record.quantity == 0 {
            self.zero_quantities += 1;
        }
        if record.quantity == 0 && self.zero_quantities <= LISTED_ZERO_QUANTITIES {
            self.warnings.push(WarningRecord {
                file: SnapshotFile::Holdings,
                line: Some(line),
                column: Some(col(hcol::QUANTITY).to_string()),
                value: Some("0".to_string()),
                message: "quantity is 0".to_string(),
            });
        }
        if !record.isin.is_cash()
            && let Some(slot) = self.prices.get_mut(index as usize)
        {
            let stats = slot.get_or_insert(PriceStats {
                rows: 0,
                min: record.price,
                max: record.price,
            });
            stats.rows += 1;
            stats.min = stats.min.min(record.price);
            stats.max = stats.max.max(record.price);
        }
        Ok(record)
    }

    fn finish(mut self) -> RunReport {
        let snapshot = self.snapshot;
        let holdings_col = |c| column_name(SnapshotFile::Holdings, c).to_string();

        if self.zero_quantities > LISTED_ZERO_QUANTITIES {
            self.warnings.push(WarningRecord {
                file: SnapshotFile::Holdings,
                line: None,
                column: Some(holdings_col(hcol::QUANTITY)),
                value: Some("0".to_string()),
                message: format!(
                    "{} more rows have quantity 0 (the first {LISTED_ZERO_QUANTITIES} are listed by line)",
                    self.zero_quantities - LISTED_ZERO_QUANTITIES
                ),
            });
        }

        // One summary per ISIN priced differently across rows.
        for (i, stats) in self.prices.iter().enumerate() {
            let Some(stats) = stats else { continue };
            if stats.min != stats.max {
                let isin = snapshot
                    .instruments
                    .get(i)
                    .map(|r| r.isin.to_string())
                    .unwrap_or_default();
                self.warnings.push(WarningRecord {
                    file: SnapshotFile::Holdings,
                    line: None,
                    column: Some(holdings_col(hcol::PRICE)),
                    value: Some(isin),
                    message: format!(
                        "priced differently across {} rows: {}..{}",
                        stats.rows,
                        stats.min.to_korean(),
                        stats.max.to_korean()
                    ),
                });
            }
        }

        // Accounts with holdings and no principal, in file order.
        let mut principal_keys: Vec<AccountKey> = snapshot
            .principals
            .iter()
            .map(|p| account_key(&p.account_number))
            .collect();
        principal_keys.sort_unstable();
        let mut orphans: Vec<(u64, AccountKey)> = self
            .accounts
            .iter()
            .filter(|(key, _)| principal_keys.binary_search(key).is_err())
            .map(|(key, account)| (account.first_line, *key))
            .collect();
        orphans.sort_unstable();
        for (line, key) in orphans {
            self.warnings.push(WarningRecord {
                file: SnapshotFile::Holdings,
                line: Some(line),
                column: Some(holdings_col(hcol::ACCOUNT)),
                value: Some(account_from_key(key)),
                message: "account has holdings but no principal row; its principal counts as 0"
                    .to_string(),
            });
        }

        // Principals of accounts without holdings.
        let mut principal_warnings = 0u64;
        let mut unheld = Vec::new();
        for (i, p) in snapshot.principals.iter().enumerate() {
            if !self.accounts.contains_key(&account_key(&p.account_number)) {
                unheld.push(WarningRecord {
                    file: SnapshotFile::Principals,
                    line: snapshot.principal_lines.get(i).copied(),
                    column: Some(column_name(SnapshotFile::Principals, 0).to_string()),
                    value: Some(p.account_number.to_string()),
                    message: "principal row for an account with no holdings".to_string(),
                });
                principal_warnings += 1;
            }
        }

        let holding_rejected = (self.rejects.len() - snapshot.early_rejects.len()) as u64;
        let holding_warnings = (self.warnings.len() - snapshot.early_warnings.len()) as u64;
        let mut warnings = self.warnings;
        warnings.append(&mut unheld);
        let rejects = self.rejects;

        let mut principal_counts = snapshot.principal_counts;
        principal_counts.warnings += principal_warnings;
        RunReport {
            counts: [
                snapshot.instrument_counts,
                FileCounts {
                    file: SnapshotFile::Holdings,
                    read: self.read,
                    loaded: self.read - holding_rejected,
                    rejected: holding_rejected,
                    warnings: holding_warnings,
                },
                principal_counts,
            ],
            rejects,
            warnings,
        }
    }
}

/// Row counts from parsing alone (no validation), for the parsing benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ParseCounts {
    pub instruments: u64,
    pub holdings: u64,
    pub principals: u64,
    /// Bytes of the three files together.
    pub bytes: u64,
}

/// Locates and parses the day's files (decoding every required field) without validating.
pub fn parse_only(dir: &Path) -> Result<ParseCounts, FatalError> {
    let day = locate(dir)?;
    let mut out = ParseCounts::default();
    for file in ALL_FILES {
        let located = day.get(file);
        let bytes = Cell::new(0);
        let width = crate::source::columns(file).len();
        let mut rows = 0u64;
        let mut decoded = 0u64;
        read_rows::<Infallible>(located, None, &bytes, false, |row| {
            rows += 1;
            for c in 0..width {
                if let crate::source::Field::Text(t) = row.get(c) {
                    decoded += t.len() as u64;
                }
            }
            Ok(())
        })
        .map_err(fatal_only)?;
        std::hint::black_box(decoded);
        match file {
            SnapshotFile::Instruments => out.instruments = rows,
            SnapshotFile::Holdings => out.holdings = rows,
            SnapshotFile::Principals => out.principals = rows,
        }
        out.bytes += std::fs::metadata(&located.path)
            .map_err(|e| FatalError::io(&located.path, e))?
            .len();
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_keys_keep_leading_zeros() {
        for text in [
            "0012345678",
            "12345678",
            "5736692368320",
            "00000000000000000000",
            "99999999999999999999",
        ] {
            let a = AccountNumber::parse(text).expect("valid");
            assert_eq!(account_from_key(account_key(&a)), text);
        }
        let a = AccountNumber::parse("0012345678").expect("valid");
        let b = AccountNumber::parse("012345678").expect("valid");
        assert_ne!(account_key(&a), account_key(&b));
    }

    #[test]
    fn account_state_detects_repeats_above_64() {
        let mut s = AccountState {
            first_line: 2,
            seen: 0,
            seen_more: NO_MORE,
            customer: 0,
            broker: 0,
        };
        let mut more = Vec::new();
        assert!(s.insert(3, &mut more));
        assert!(!s.insert(3, &mut more));
        assert!(s.insert(70, &mut more));
        assert!(!s.insert(70, &mut more));
        assert!(s.insert(71, &mut more));
        assert!(s.insert(63, &mut more));
        assert_eq!(more, vec![vec![70, 71]]);
    }
}
