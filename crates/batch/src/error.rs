//! Errors that stop a run before anything is loaded.

use std::path::PathBuf;

use ginkgo_domain::snapshot::SnapshotFile;

/// A problem with the day's input as a whole: the run fails and nothing is loaded.
///
/// Messages name the file (or folder) and say what is wrong; they never contain row data.
#[derive(Debug, thiserror::Error)]
pub enum FatalError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{dir}: no {} file (expected {}.csv or {}.xlsx, optionally with a _YYYYMMDD or _YYYY-MM-DD suffix)", file.base_name(), file.base_name(), file.base_name())]
    MissingFile { dir: PathBuf, file: SnapshotFile },
    #[error("{dir}: more than one {} file: {}; keep exactly one", file.base_name(), candidates.join(", "))]
    AmbiguousFile {
        dir: PathBuf,
        file: SnapshotFile,
        candidates: Vec<String>,
    },
    #[error("{dir}: the files are dated differently: {}", dates.join(", "))]
    MixedDates { dir: PathBuf, dates: Vec<String> },
    #[error("{path}: the file is empty or has no header row")]
    NoHeader { path: PathBuf },
    #[error("{path}: missing required column(s): {} (found: {})", missing.join(", "), found.join(", "))]
    MissingColumns {
        path: PathBuf,
        missing: Vec<String>,
        found: Vec<String>,
    },
    #[error("{path}: the header names column '{column}' more than once")]
    DuplicateColumn { path: PathBuf, column: String },
    #[error("{path}: the header row is neither UTF-8 nor CP949 text")]
    UndecodableHeader { path: PathBuf },
    #[error("{path}: not a readable CSV file: {message}")]
    Csv { path: PathBuf, message: String },
    #[error("{path}: not a readable XLSX workbook: {message}")]
    Xlsx { path: PathBuf, message: String },
    #[error(
        "{path}: the file changed while it was being read ({expected} bytes when the run started, {actual} read); is it still being delivered?"
    )]
    ChangedDuringRun {
        path: PathBuf,
        expected: u64,
        actual: u64,
    },
}

impl FatalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FatalError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Why [`crate::Snapshot::stream_holdings`] stopped: the input failed, or the caller's sink did.
#[derive(Debug, thiserror::Error)]
pub enum StreamError<E> {
    #[error(transparent)]
    Fatal(#[from] FatalError),
    #[error("the loader stopped the stream: {0}")]
    Sink(E),
}
