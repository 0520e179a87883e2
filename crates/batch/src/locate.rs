//! Finding a day's three files in a folder, and the days waiting in a scheduled inbox.

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use ginkgo_domain::snapshot::SnapshotFile;
use ginkgo_domain::time::parse_date;

use crate::error::FatalError;

/// The three files of a day, in the order they are read.
pub const ALL_FILES: [SnapshotFile; 3] = [
    SnapshotFile::Instruments,
    SnapshotFile::Holdings,
    SnapshotFile::Principals,
];

/// How a file is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }
}

/// One located input file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedFile {
    pub file: SnapshotFile,
    pub path: PathBuf,
    pub format: Format,
    /// The date in the file name (`_YYYYMMDD` / `_YYYY-MM-DD`), if any.
    pub date: Option<NaiveDate>,
}

/// The day's three files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayFiles {
    pub dir: PathBuf,
    pub instruments: LocatedFile,
    pub holdings: LocatedFile,
    pub principals: LocatedFile,
}

impl DayFiles {
    pub fn get(&self, file: SnapshotFile) -> &LocatedFile {
        match file {
            SnapshotFile::Instruments => &self.instruments,
            SnapshotFile::Holdings => &self.holdings,
            SnapshotFile::Principals => &self.principals,
        }
    }

    /// The date written in the file names, when they carry one (they then all agree).
    pub fn date(&self) -> Option<NaiveDate> {
        self.instruments
            .date
            .or(self.holdings.date)
            .or(self.principals.date)
    }
}

/// Recognises `base.ext`, `base_YYYYMMDD.ext` and `base_YYYY-MM-DD.ext` (extension
/// case-insensitive). Returns the format and the date suffix.
fn match_name(name: &str, base: &str) -> Option<(Format, Option<NaiveDate>)> {
    let (stem, ext) = name.rsplit_once('.')?;
    let format = if ext.eq_ignore_ascii_case("csv") {
        Format::Csv
    } else if ext.eq_ignore_ascii_case("xlsx") {
        Format::Xlsx
    } else {
        return None;
    };
    let rest = stem.strip_prefix(base)?;
    if rest.is_empty() {
        return Some((format, None));
    }
    let suffix = rest.strip_prefix('_')?;
    let shaped = (suffix.len() == 8 && suffix.bytes().all(|b| b.is_ascii_digit()))
        || (suffix.len() == 10
            && suffix.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            }));
    if !shaped {
        return None;
    }
    parse_date(suffix).map(|d| (format, Some(d)))
}

/// Locates the day's three files in `dir`. Missing files, two candidates for one file, or
/// files whose date suffixes disagree are fatal.
pub fn locate(dir: &Path) -> Result<DayFiles, FatalError> {
    let entries = std::fs::read_dir(dir).map_err(|e| FatalError::io(dir, e))?;
    let mut found: [Vec<LocatedFile>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for entry in entries {
        let entry = entry.map_err(|e| FatalError::io(dir, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        for (slot, file) in ALL_FILES.iter().enumerate() {
            if let Some((format, date)) = match_name(&name, file.base_name()) {
                let path = entry.path();
                if path.is_file() {
                    found[slot].push(LocatedFile {
                        file: *file,
                        path,
                        format,
                        date,
                    });
                }
            }
        }
    }
    let mut picked = Vec::with_capacity(3);
    for (slot, mut candidates) in found.into_iter().enumerate() {
        let file = ALL_FILES[slot];
        match candidates.len() {
            0 => {
                return Err(FatalError::MissingFile {
                    dir: dir.to_path_buf(),
                    file,
                });
            }
            1 => picked.extend(candidates.pop()),
            _ => {
                let mut names: Vec<String> =
                    candidates.iter().map(|c| file_name(&c.path)).collect();
                names.sort();
                return Err(FatalError::AmbiguousFile {
                    dir: dir.to_path_buf(),
                    file,
                    candidates: names,
                });
            }
        }
    }
    let mut dates: Vec<NaiveDate> = picked.iter().filter_map(|f| f.date).collect();
    dates.sort();
    dates.dedup();
    if dates.len() > 1 {
        return Err(FatalError::MixedDates {
            dir: dir.to_path_buf(),
            dates: dates.iter().map(|d| d.to_string()).collect(),
        });
    }
    let mut it = picked.into_iter();
    match (it.next(), it.next(), it.next()) {
        (Some(instruments), Some(holdings), Some(principals)) => Ok(DayFiles {
            dir: dir.to_path_buf(),
            instruments,
            holdings,
            principals,
        }),
        _ => Err(FatalError::MissingFile {
            dir: dir.to_path_buf(),
            file: SnapshotFile::Instruments,
        }),
    }
}

pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// A day waiting in the scheduled inbox: `inbox/YYYY-MM-DD/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxDay {
    pub date: NaiveDate,
    pub dir: PathBuf,
}

/// Lists the `YYYY-MM-DD` sub-folders of `inbox`, oldest first. Other entries are ignored.
pub fn inbox_days(inbox: &Path) -> Result<Vec<InboxDay>, FatalError> {
    let entries = std::fs::read_dir(inbox).map_err(|e| FatalError::io(inbox, e))?;
    let mut days = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| FatalError::io(inbox, e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let dashed = name.len() == 10 && name.as_bytes().get(4) == Some(&b'-');
        if !dashed {
            continue;
        }
        let Ok(date) = NaiveDate::parse_from_str(&name, "%Y-%m-%d") else {
            continue;
        };
        let dir = entry.path();
        if dir.is_dir() {
            days.push(InboxDay { date, dir });
        }
    }
    days.sort_by_key(|d| d.date);
    Ok(days)
}

/// The inbox folder for `date`: `inbox/YYYY-MM-DD`.
pub fn inbox_dir(inbox: &Path, date: NaiveDate) -> PathBuf {
    inbox.join(date.format("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_names_with_and_without_dates() {
        let base = "account_asset_info_set";
        assert_eq!(
            match_name("account_asset_info_set.csv", base),
            Some((Format::Csv, None))
        );
        assert_eq!(
            match_name("account_asset_info_set.XLSX", base),
            Some((Format::Xlsx, None))
        );
        let d = NaiveDate::from_ymd_opt(2026, 11, 20);
        assert_eq!(
            match_name("account_asset_info_set_20261120.csv", base),
            Some((Format::Csv, d))
        );
        assert_eq!(
            match_name("account_asset_info_set_2026-11-20.xlsx", base),
            Some((Format::Xlsx, d))
        );
        assert_eq!(
            match_name("account_asset_info_set_20261320.csv", base),
            None
        );
        assert_eq!(match_name("account_asset_info_set_copy.csv", base), None);
        assert_eq!(match_name("account_asset_info_set.csv.bak", base), None);
        assert_eq!(match_name("account_asset_info_set2.csv", base), None);
        assert_eq!(match_name("account_asset_info_set_2026112.csv", base), None);
    }
}
