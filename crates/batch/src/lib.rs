//! The provider's daily snapshot: finding the day's files, reading them (CSV or XLSX, UTF-8 or
//! CP949), validating every row into `ginkgo_domain::snapshot` records with a reject and
//! warning report, and generating realistic test data.
//!
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use ginkgo_batch::Snapshot;
//! let day = Snapshot::open(std::path::Path::new("inbox/2026-11-20"))?;
//! let instruments = day.instruments();
//! let report = day.stream_holdings(10_000, |chunk| -> Result<(), std::io::Error> {
//!     // insert `chunk` into the store
//!     Ok(())
//! })?;
//! println!("{} rejected", report.total_rejected());
//! # Ok(()) }
//! ```

pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod generate;
pub mod locate;
mod snapshot;
mod source;
mod validate;

pub use error::{FatalError, StreamError};
pub use locate::{
    ALL_FILES, DayFiles, Format, InboxDay, LocatedFile, inbox_days, inbox_dir, locate,
};
pub use snapshot::{
    FileCounts, FileInfo, MemoryFile, ParseCounts, Progress, RunReport, Snapshot, csv_field,
    file_hashes, parse_only, rejects_csv,
};
pub use source::{TextEncoding, required_columns};
pub use validate::MAX_NAME_CHARS;
