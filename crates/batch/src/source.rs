//! Reading rows from CSV (streaming; UTF-8 with or without BOM, or CP949) and XLSX (first sheet),
//! with the header located by name. No validation happens here.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::Path;
use std::rc::Rc;

use calamine::{DataRef, Reader, Xlsx};
use encoding_rs::EUC_KR;
use ginkgo_domain::snapshot::SnapshotFile;

use crate::error::FatalError;
use crate::locate::{Format, LocatedFile};

/// A required column: its canonical header name and other names providers use for it.
pub(crate) struct ColumnSpec {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
}

const fn col(name: &'static str, aliases: &'static [&'static str]) -> ColumnSpec {
    ColumnSpec { name, aliases }
}

pub(crate) const INSTRUMENT_COLUMNS: [ColumnSpec; 3] = [
    col("종목명", &[]),
    col("ISIN", &[]),
    col("자산그룹", &["자산군"]),
];
pub(crate) const HOLDING_COLUMNS: [ColumnSpec; 7] = [
    col("고객이름", &["고객명"]),
    col("증권사", &[]),
    col("계좌번호", &[]),
    col("계좌명", &[]),
    col("ISIN", &[]),
    col("현재가", &[]),
    col("보유수량", &[]),
];
pub(crate) const PRINCIPAL_COLUMNS: [ColumnSpec; 2] = [col("계좌번호", &[]), col("투자원금", &[])];

pub(crate) fn columns(file: SnapshotFile) -> &'static [ColumnSpec] {
    match file {
        SnapshotFile::Instruments => &INSTRUMENT_COLUMNS,
        SnapshotFile::Holdings => &HOLDING_COLUMNS,
        SnapshotFile::Principals => &PRINCIPAL_COLUMNS,
    }
}

/// The header names of a file's required columns, in canonical order.
pub fn required_columns(file: SnapshotFile) -> Vec<&'static str> {
    columns(file).iter().map(|c| c.name).collect()
}

/// Header cells compare without surrounding or inner whitespace, without a BOM, ASCII
/// case-insensitively (`isin` = `ISIN`, `자산 그룹` = `자산그룹`).
fn normalise_header(text: &str) -> String {
    text.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Maps each required column to its position in the file's header row.
fn map_header(
    path: &Path,
    file: SnapshotFile,
    header: &[String],
) -> Result<Vec<usize>, FatalError> {
    let normalised: Vec<String> = header.iter().map(|h| normalise_header(h)).collect();
    let mut map = Vec::new();
    let mut missing = Vec::new();
    for spec in columns(file) {
        let wanted: Vec<String> = std::iter::once(spec.name)
            .chain(spec.aliases.iter().copied())
            .map(normalise_header)
            .collect();
        let positions: Vec<usize> = normalised
            .iter()
            .enumerate()
            .filter(|(_, h)| wanted.contains(h))
            .map(|(i, _)| i)
            .collect();
        match positions.as_slice() {
            [] => missing.push(spec.name.to_string()),
            [one] => map.push(*one),
            _ => {
                return Err(FatalError::DuplicateColumn {
                    path: path.to_path_buf(),
                    column: spec.name.to_string(),
                });
            }
        }
    }
    if !missing.is_empty() {
        return Err(FatalError::MissingColumns {
            path: path.to_path_buf(),
            missing,
            found: header
                .iter()
                .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
                .filter(|h| !h.is_empty())
                .collect(),
        });
    }
    Ok(map)
}

/// Rows a provider may put above the header (a title, the date of the export) and that are
/// skipped while looking for it.
const MAX_ROWS_BEFORE_HEADER: usize = 5;

/// Finds the header among the first non-blank rows: the first that names every required column.
/// When none does, the error is the one of the row that came closest.
struct HeaderSearch {
    tried: usize,
    closest: Option<(usize, FatalError)>,
}

impl HeaderSearch {
    fn new() -> Self {
        HeaderSearch {
            tried: 0,
            closest: None,
        }
    }

    /// `Ok(Some(map))` when `row` is the header, `Ok(None)` to look at the next row.
    fn offer(
        &mut self,
        path: &Path,
        file: SnapshotFile,
        row: &[String],
    ) -> Result<Option<Vec<usize>>, FatalError> {
        let e = match map_header(path, file, row) {
            Ok(map) => return Ok(Some(map)),
            Err(e) => e,
        };
        // Only a row lacking columns may be a title; anything else (a duplicate column) is fatal.
        let FatalError::MissingColumns { missing, .. } = &e else {
            return Err(e);
        };
        let missing = missing.len();
        if self.closest.as_ref().is_none_or(|(m, _)| missing < *m) {
            self.closest = Some((missing, e));
        }
        self.tried += 1;
        if self.tried > MAX_ROWS_BEFORE_HEADER {
            Err(self.give_up(path))
        } else {
            Ok(None)
        }
    }

    /// No header was found: the closest row's missing columns, or no header at all.
    fn give_up(&mut self, path: &Path) -> FatalError {
        match self.closest.take() {
            Some((_, e)) => e,
            None => FatalError::NoHeader {
                path: path.to_path_buf(),
            },
        }
    }
}

/// The text encoding of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Cp949,
}

/// Decides from the first bytes of a file: valid UTF-8 (a sequence cut at the end of the sample
/// does not count) means UTF-8, anything else CP949.
fn sniff(prefix: &[u8]) -> TextEncoding {
    match std::str::from_utf8(prefix) {
        Ok(_) => TextEncoding::Utf8,
        Err(e) if e.error_len().is_none() => TextEncoding::Utf8,
        Err(_) => TextEncoding::Cp949,
    }
}

/// Decodes one field. In a UTF-8 file a field that is not UTF-8 is tried as CP949 (files
/// pasted together from two exports exist); `None` when the bytes are neither.
fn decode(bytes: &[u8], encoding: TextEncoding) -> Option<Cow<'_, str>> {
    match encoding {
        TextEncoding::Utf8 => match std::str::from_utf8(bytes) {
            Ok(s) => Some(Cow::Borrowed(s)),
            Err(_) => EUC_KR.decode_without_bom_handling_and_without_replacement(bytes),
        },
        TextEncoding::Cp949 => EUC_KR.decode_without_bom_handling_and_without_replacement(bytes),
    }
}

/// One value of a row, for one required column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Field<'a> {
    Text(Cow<'a, str>),
    /// The row ended before this column (CSV rows shorter than the header).
    Missing,
    /// The bytes are neither UTF-8 nor CP949.
    Undecodable,
}

enum RowData<'a> {
    Csv(&'a csv::ByteRecord, TextEncoding),
    Cells(&'a [String]),
}

/// A data row: its 1-based physical line and access to the required columns.
pub(crate) struct RawRow<'a> {
    pub line: u64,
    data: RowData<'a>,
    map: &'a [usize],
}

impl<'a> RawRow<'a> {
    /// The value of required column `col` (index into the file's column list).
    pub fn get(&self, col: usize) -> Field<'a> {
        let Some(&pos) = self.map.get(col) else {
            return Field::Missing;
        };
        match self.data {
            RowData::Csv(record, encoding) => match record.get(pos) {
                None => Field::Missing,
                Some(bytes) => match decode(bytes, encoding) {
                    Some(text) => Field::Text(text),
                    None => Field::Undecodable,
                },
            },
            RowData::Cells(cells) => Field::Text(Cow::Borrowed(
                cells.get(pos).map(String::as_str).unwrap_or(""),
            )),
        }
    }
}

/// A reader that counts the bytes it hands out (for progress reporting).
pub(crate) struct Counting<'c, R> {
    inner: R,
    count: &'c Cell<u64>,
}

impl<'c, R> Counting<'c, R> {
    pub fn new(inner: R, count: &'c Cell<u64>) -> Self {
        Counting { inner, count }
    }
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

/// Why reading stopped early.
pub(crate) enum ReadStop<E> {
    Fatal(FatalError),
    Stop(E),
}

impl<E> From<FatalError> for ReadStop<E> {
    fn from(e: FatalError) -> Self {
        ReadStop::Fatal(e)
    }
}

/// Remembers where the newlines are in the bytes handed to the CSV parser, so each record's
/// physical line can be computed from its byte offset (the parser's own line count does not
/// count skipped blank lines or CRLF the way a person does). Only the newlines of the parser's
/// read-ahead window are held at any time.
struct LineTracker<R> {
    inner: R,
    offset: u64,
    newlines: Rc<RefCell<VecDeque<u64>>>,
}

impl<R: Read> Read for LineTracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut newlines = self.newlines.borrow_mut();
        push_newlines(buf.get(..n).unwrap_or_default(), self.offset, &mut newlines);
        self.offset += n as u64;
        Ok(n)
    }
}

/// Appends the offsets of the `\n` bytes of `buf` (which starts at `base`), skipping eight
/// bytes at a time where there is none.
fn push_newlines(buf: &[u8], base: u64, out: &mut VecDeque<u64>) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NEWLINES: u64 = ONES * b'\n' as u64;
    let mut words = buf.chunks_exact(8);
    let mut at = base;
    for word in words.by_ref() {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let x = u64::from_le_bytes(bytes) ^ NEWLINES;
        if x.wrapping_sub(ONES) & !x & HIGHS != 0 {
            for (i, b) in word.iter().enumerate() {
                if *b == b'\n' {
                    out.push_back(at + i as u64);
                }
            }
        }
        at += 8;
    }
    for (i, b) in words.remainder().iter().enumerate() {
        if *b == b'\n' {
            out.push_back(at + i as u64);
        }
    }
}

/// Physical line numbers from byte offsets, fed by a [`LineTracker`].
struct LineCounter {
    newlines: Rc<RefCell<VecDeque<u64>>>,
    passed: u64,
}

impl LineCounter {
    /// The 1-based line of the byte at `offset` (a byte that is not itself a newline); offsets
    /// must not decrease between calls.
    fn line_at(&mut self, offset: u64) -> u64 {
        let mut newlines = self.newlines.borrow_mut();
        while newlines.front().is_some_and(|&nl| nl < offset) {
            newlines.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

const SNIFF_BYTES: u64 = 64 * 1024;
const CSV_BUFFER: usize = 256 * 1024;

fn is_blank_record(record: &csv::ByteRecord) -> bool {
    record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// Reads `file`'s rows, calling `on_row` for every non-blank data row. Only the header row is
/// validated here (present, required columns found). The bytes come from `memory` when it is
/// given (the file's path then only names it in messages), from the file at `file.path`
/// otherwise. `bytes` counts the bytes read so far. With `header_only`, stops after checking
/// the header.
pub(crate) fn read_rows<E>(
    file: &LocatedFile,
    memory: Option<&[u8]>,
    bytes: &Cell<u64>,
    header_only: bool,
    on_row: impl FnMut(&RawRow<'_>) -> Result<(), E>,
) -> Result<(), ReadStop<E>> {
    let open = || File::open(&file.path).map_err(|e| FatalError::io(&file.path, e));
    match (file.format, memory) {
        (Format::Csv, Some(data)) => read_csv(file, data, bytes, header_only, on_row),
        (Format::Csv, None) => read_csv(file, open()?, bytes, header_only, on_row),
        (Format::Xlsx, Some(data)) => {
            read_xlsx(file, Cursor::new(data), bytes, header_only, on_row)
        }
        (Format::Xlsx, None) => read_xlsx(file, open()?, bytes, header_only, on_row),
    }
}

fn read_csv<E>(
    file: &LocatedFile,
    input: impl Read,
    bytes: &Cell<u64>,
    header_only: bool,
    mut on_row: impl FnMut(&RawRow<'_>) -> Result<(), E>,
) -> Result<(), ReadStop<E>> {
    let path = &file.path;
    let mut counting = Counting::new(input, bytes);
    let mut prefix = Vec::with_capacity(SNIFF_BYTES as usize);
    (&mut counting)
        .take(SNIFF_BYTES)
        .read_to_end(&mut prefix)
        .map_err(|e| FatalError::io(path, e))?;
    let encoding = sniff(&prefix);
    let start = if prefix.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let mut head = Cursor::new(prefix);
    head.set_position(start);
    let newlines = Rc::new(RefCell::new(VecDeque::new()));
    let mut lines = LineCounter {
        newlines: newlines.clone(),
        passed: 0,
    };
    let tracked = LineTracker {
        inner: head.chain(counting),
        offset: start,
        newlines,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(CSV_BUFFER)
        .from_reader(tracked);
    let csv_error = |e: csv::Error| match e.into_kind() {
        csv::ErrorKind::Io(io) => FatalError::io(path, io),
        other => FatalError::Csv {
            path: path.to_path_buf(),
            message: format!("{other:?}"),
        },
    };
    let mut record = csv::ByteRecord::new();
    let mut search = HeaderSearch::new();
    let map = loop {
        if !reader.read_byte_record(&mut record).map_err(csv_error)? {
            return Err(search.give_up(path).into());
        }
        if !is_blank_record(&record) {
            let mut header = Vec::with_capacity(record.len());
            for field in record.iter() {
                match decode(field, encoding) {
                    Some(text) => header.push(text.into_owned()),
                    None => {
                        return Err(FatalError::UndecodableHeader {
                            path: path.to_path_buf(),
                        }
                        .into());
                    }
                }
            }
            if let Some(map) = search.offer(path, file.file, &header)? {
                break map;
            }
        }
    };
    if header_only {
        return Ok(());
    }
    while reader.read_byte_record(&mut record).map_err(csv_error)? {
        if is_blank_record(&record) {
            continue;
        }
        // The parser's record start may point at the previous record's terminator, so the
        // line is counted back from the record's last byte instead.
        let last_byte = (reader.position().byte() + start).saturating_sub(1);
        let inside = if record.as_slice().contains(&b'\n') {
            record.as_slice().iter().filter(|b| **b == b'\n').count() as u64
        } else {
            0
        };
        let line = lines.line_at(last_byte).saturating_sub(inside).max(1);
        let row = RawRow {
            line,
            data: RowData::Csv(&record, encoding),
            map: &map,
        };
        on_row(&row).map_err(ReadStop::Stop)?;
    }
    Ok(())
}

/// An XLSX cell as the text a CSV export would hold: integral floats without `.0`, other
/// floats as written, dates and errors as text that no number parser accepts.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 9.0e18 {
                (*f as i64).to_string()
            } else {
                f.to_string()
            }
        }
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => (*s).to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => format!("date {d}"),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => format!("#{e:?}"),
        DataRef::Empty => String::new(),
    }
}

fn read_xlsx<E>(
    file: &LocatedFile,
    input: impl Read + Seek,
    bytes: &Cell<u64>,
    header_only: bool,
    mut on_row: impl FnMut(&RawRow<'_>) -> Result<(), E>,
) -> Result<(), ReadStop<E>> {
    let path = &file.path;
    let xlsx_error = |message: String| FatalError::Xlsx {
        path: path.to_path_buf(),
        message,
    };
    let mut workbook: Xlsx<_> = Xlsx::new(BufReader::new(Counting::new(input, bytes)))
        .map_err(|e| xlsx_error(e.to_string()))?;
    let Some(sheet) = workbook.sheet_names().first().cloned() else {
        return Err(xlsx_error("the workbook has no sheet".to_string()).into());
    };
    let mut cells = workbook
        .worksheet_cells_reader(&sheet)
        .map_err(|e| xlsx_error(e.to_string()))?;

    let mut map: Option<Vec<usize>> = None;
    let mut current: Vec<String> = Vec::new();
    let mut current_row: Option<u32> = None;
    let mut search = HeaderSearch::new();
    // Emits a finished row: the header first (see `HeaderSearch`), then the data.
    let mut finish = |row_index: u32,
                      values: &mut Vec<String>,
                      map: &mut Option<Vec<usize>>|
     -> Result<bool, ReadStop<E>> {
        if values.iter().all(|v| v.trim().is_empty()) {
            values.clear();
            return Ok(true);
        }
        match map {
            None => {
                let found = search.offer(path, file.file, values)?;
                values.clear();
                match found {
                    Some(m) => {
                        *map = Some(m);
                        Ok(!header_only)
                    }
                    None => Ok(true),
                }
            }
            Some(m) => {
                let row = RawRow {
                    line: u64::from(row_index) + 1,
                    data: RowData::Cells(values),
                    map: m,
                };
                on_row(&row).map_err(ReadStop::Stop)?;
                values.clear();
                Ok(true)
            }
        }
    };
    loop {
        let next = cells.next_cell().map_err(|e| xlsx_error(e.to_string()))?;
        let Some(cell) = next else { break };
        let (row, col) = cell.get_position();
        if current_row != Some(row) {
            if let Some(previous) = current_row
                && !finish(previous, &mut current, &mut map)?
            {
                return Ok(());
            }
            current_row = Some(row);
        }
        let col = col as usize;
        // Providers write at most a few dozen columns; a cell far to the right is ignored
        // rather than allocating for it.
        if col < 1024 {
            if current.len() <= col {
                current.resize(col + 1, String::new());
            }
            current[col] = cell_text(cell.get_value());
        }
    }
    if let Some(previous) = current_row
        && !finish(previous, &mut current, &mut map)?
    {
        return Ok(());
    }
    if map.is_none() {
        return Err(search.give_up(path).into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_utf8_and_cp949() {
        assert_eq!(sniff("고객이름,ISIN".as_bytes()), TextEncoding::Utf8);
        let (cp949, _, _) = EUC_KR.encode("고객이름,ISIN");
        assert_eq!(sniff(&cp949), TextEncoding::Cp949);
        // A UTF-8 sequence cut by the sample boundary is still UTF-8.
        let bytes = "가".as_bytes();
        assert_eq!(sniff(&bytes[..2]), TextEncoding::Utf8);
    }

    #[test]
    fn decodes_fields_in_either_encoding() {
        let (cp949, _, _) = EUC_KR.encode("류영길");
        assert_eq!(
            decode(&cp949, TextEncoding::Cp949).as_deref(),
            Some("류영길")
        );
        assert_eq!(
            decode(&cp949, TextEncoding::Utf8).as_deref(),
            Some("류영길")
        );
        assert_eq!(decode(b"\xFF\xFF", TextEncoding::Cp949), None);
    }

    #[test]
    fn finds_every_newline() {
        let text = b"ab\ncdefghij\n\n0123456789abcdef\nxyz\n\n";
        let mut found = VecDeque::new();
        push_newlines(text, 100, &mut found);
        let expected: Vec<u64> = text
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'\n')
            .map(|(i, _)| 100 + i as u64)
            .collect();
        assert_eq!(Vec::from(found), expected);
    }

    #[test]
    fn header_names_are_normalised() {
        assert_eq!(normalise_header("\u{feff} 자산 그룹 "), "자산그룹");
        assert_eq!(normalise_header("isin"), "ISIN");
    }

    #[test]
    fn xlsx_numbers_become_integer_text_when_integral() {
        assert_eq!(cell_text(&DataRef::Float(8585.0)), "8585");
        assert_eq!(cell_text(&DataRef::Float(8585.5)), "8585.5");
        assert_eq!(cell_text(&DataRef::Float(-3.0)), "-3");
        assert_eq!(cell_text(&DataRef::Float(1e20)), "100000000000000000000");
        assert_eq!(cell_text(&DataRef::Int(7)), "7");
    }
}
