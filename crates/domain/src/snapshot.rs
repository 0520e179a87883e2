//! The validated records of a provider's daily snapshot, as the batch readers hand them to the
//! store. Reading and validating files lives in `ginkgo-batch`; loading lives in the store.

use serde::{Deserialize, Serialize};

use crate::{AccountNumber, CustomerName, Isin, Won};

/// One row of `asset_group_info_set`: an instrument and its asset group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstrumentRecord {
    pub isin: Isin,
    pub name: String,
    pub asset_group: String,
}

/// One row of `account_asset_info_set`: a holding of an account.
/// For the cash line (`isin` = CASH) the provider writes the cash amount as the price and 1 as
/// the quantity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldingRecord {
    pub customer_name: CustomerName,
    pub broker: String,
    pub account_number: AccountNumber,
    pub account_name: String,
    pub isin: Isin,
    pub price: Won,
    pub quantity: i64,
}

/// One row of `account_basic_info_set`: an account's principal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrincipalRecord {
    pub account_number: AccountNumber,
    pub principal: Won,
}

/// Which of the three files a report line is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotFile {
    Instruments,
    Holdings,
    Principals,
}

impl SnapshotFile {
    /// The provider's base file name (without extension).
    pub fn base_name(self) -> &'static str {
        match self {
            SnapshotFile::Instruments => "asset_group_info_set",
            SnapshotFile::Holdings => "account_asset_info_set",
            SnapshotFile::Principals => "account_basic_info_set",
        }
    }

    /// The inverse of [`SnapshotFile::as_str`].
    pub fn parse(s: &str) -> Option<SnapshotFile> {
        [
            SnapshotFile::Instruments,
            SnapshotFile::Holdings,
            SnapshotFile::Principals,
        ]
        .into_iter()
        .find(|f| f.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotFile::Instruments => "instruments",
            SnapshotFile::Holdings => "holdings",
            SnapshotFile::Principals => "principals",
        }
    }
}

/// A row that was not loaded, and why. `line` is the 1-based physical line (header = line 1);
/// `column` is the header name of the offending field, when one field is to blame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RejectRecord {
    pub file: SnapshotFile,
    pub line: u64,
    pub column: Option<String>,
    pub value: Option<String>,
    pub reason: String,
    /// The account the row is about, when its account number could be read: what a customer
    /// sees as stale or partial because of this reject.
    /// (Boxed text keeps a reject small: validation returns it on every `Err`.)
    #[serde(default)]
    pub account_number: Option<Box<str>>,
    /// The instrument the row is about (holdings), when its ISIN could be read.
    #[serde(default)]
    pub isin: Option<Box<str>>,
}

/// Something suspicious that was loaded anyway. `line` is `None` for file-wide findings (e.g.
/// one ISIN priced differently across accounts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarningRecord {
    pub file: SnapshotFile,
    pub line: Option<u64>,
    pub column: Option<String>,
    pub value: Option<String>,
    pub message: String,
}
