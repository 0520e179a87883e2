//! Row-by-row validation into the domain records. Each function checks one row on its own;
//! checks across rows (duplicates, contradictions, unknown instruments) live in
//! [`crate::snapshot`].

use ginkgo_domain::ids::{ParseError, parse_name};
use ginkgo_domain::money::{MoneyError, parse_integer};
use ginkgo_domain::snapshot::{
    HoldingRecord, InstrumentRecord, PrincipalRecord, RejectRecord, SnapshotFile,
};
use ginkgo_domain::{AccountNumber, CustomerName, Isin, Won};

use crate::source::{Field, HOLDING_COLUMNS, INSTRUMENT_COLUMNS, PRINCIPAL_COLUMNS, RawRow};

/// Longest broker, account and instrument names accepted.
pub const MAX_NAME_CHARS: usize = 100;

pub(crate) fn reject(
    file: SnapshotFile,
    line: u64,
    column: &str,
    value: Option<&str>,
    reason: impl Into<String>,
) -> RejectRecord {
    RejectRecord {
        file,
        line,
        column: Some(column.to_string()),
        value: value.map(str::to_string),
        reason: reason.into(),
        account_number: None,
        isin: None,
    }
}

/// Names the account (and instrument) a rejected row is about, when the row's own fields can be
/// read as such, whatever else was wrong with it.
pub(crate) fn attribute(
    mut r: RejectRecord,
    row: &RawRow<'_>,
    account_col: usize,
    isin_col: Option<usize>,
) -> RejectRecord {
    if let Field::Text(t) = row.get(account_col) {
        r.account_number = AccountNumber::parse(&t).ok().map(|a| a.as_str().into());
    }
    if let Some(col) = isin_col
        && let Field::Text(t) = row.get(col)
    {
        r.isin = Isin::parse(&t).ok().map(|i| i.as_str().into());
    }
    r
}

/// One row being validated: the file, the row and the column list, with helpers that turn a
/// field into a value or a reject naming the column.
struct Ctx<'r, 'a> {
    file: SnapshotFile,
    row: &'r RawRow<'a>,
    names: &'static [&'static str],
}

impl<'a> Ctx<'_, 'a> {
    fn text(&self, col: usize) -> Result<std::borrow::Cow<'a, str>, RejectRecord> {
        let name = self.names[col];
        match self.row.get(col) {
            Field::Text(t) => Ok(t),
            Field::Missing => Err(reject(
                self.file,
                self.row.line,
                name,
                None,
                format!("the row ends before column {name}"),
            )),
            Field::Undecodable => Err(reject(
                self.file,
                self.row.line,
                name,
                None,
                "the value is neither UTF-8 nor CP949 text",
            )),
        }
    }

    fn fail(&self, col: usize, value: &str, reason: impl Into<String>) -> RejectRecord {
        reject(
            self.file,
            self.row.line,
            self.names[col],
            Some(value),
            reason,
        )
    }

    fn name(&self, col: usize, what: &'static str) -> Result<String, RejectRecord> {
        let t = self.text(col)?;
        parse_name(&t, what, MAX_NAME_CHARS).map_err(|e| self.fail(col, &t, e.to_string()))
    }

    fn customer(&self, col: usize) -> Result<CustomerName, RejectRecord> {
        let t = self.text(col)?;
        CustomerName::parse(&t).map_err(|e| self.fail(col, &t, e.to_string()))
    }

    fn account(&self, col: usize) -> Result<AccountNumber, RejectRecord> {
        let t = self.text(col)?;
        AccountNumber::parse(&t).map_err(|e| {
            let reason = match e {
                ParseError::Empty { .. } => "account number is empty".to_string(),
                _ => "account number must be 6 to 20 digits".to_string(),
            };
            self.fail(col, &t, reason)
        })
    }

    fn isin(&self, col: usize) -> Result<Isin, RejectRecord> {
        let t = self.text(col)?;
        Isin::parse(&t).map_err(|e| {
            let reason = match e {
                ParseError::Empty { .. } => "ISIN is empty".to_string(),
                _ => "ISIN must be 2 letters, 9 letters or digits and a check digit (or CASH)"
                    .to_string(),
            };
            self.fail(col, &t, reason)
        })
    }

    /// A whole, non-negative number (`what` names it in the reason).
    fn amount(&self, col: usize, what: &str) -> Result<i64, RejectRecord> {
        let t = self.text(col)?;
        if let Some(value) = plain_digits(&t) {
            return Ok(value);
        }
        let value = parse_integer(&t).map_err(|e| {
            let reason = match e {
                MoneyError::Empty => format!("{what} is empty"),
                MoneyError::NotANumber(_) => format!("{what} is not a number"),
                MoneyError::Fractional(_) => format!("{what} is not a whole number"),
                MoneyError::TooLarge(_) | MoneyError::Overflow => format!("{what} is too large"),
            };
            self.fail(col, &t, reason)
        })?;
        if value < 0 {
            return Err(self.fail(col, &t, format!("{what} is negative")));
        }
        Ok(value)
    }
}

static INSTRUMENT_NAMES: [&str; 3] = [
    INSTRUMENT_COLUMNS[0].name,
    INSTRUMENT_COLUMNS[1].name,
    INSTRUMENT_COLUMNS[2].name,
];
static HOLDING_NAMES: [&str; 7] = [
    HOLDING_COLUMNS[0].name,
    HOLDING_COLUMNS[1].name,
    HOLDING_COLUMNS[2].name,
    HOLDING_COLUMNS[3].name,
    HOLDING_COLUMNS[4].name,
    HOLDING_COLUMNS[5].name,
    HOLDING_COLUMNS[6].name,
];
static PRINCIPAL_NAMES: [&str; 2] = [PRINCIPAL_COLUMNS[0].name, PRINCIPAL_COLUMNS[1].name];

/// Column indexes of the holdings file, in [`HOLDING_COLUMNS`] order.
pub(crate) mod hcol {
    pub const CUSTOMER: usize = 0;
    pub const BROKER: usize = 1;
    pub const ACCOUNT: usize = 2;
    pub const ACCOUNT_NAME: usize = 3;
    pub const ISIN: usize = 4;
    pub const PRICE: usize = 5;
    pub const QUANTITY: usize = 6;
}

pub(crate) fn column_name(file: SnapshotFile, col: usize) -> &'static str {
    let list: &[&str] = match file {
        SnapshotFile::Instruments => &INSTRUMENT_NAMES,
        SnapshotFile::Holdings => &HOLDING_NAMES,
        SnapshotFile::Principals => &PRINCIPAL_NAMES,
    };
    list.get(col).copied().unwrap_or("")
}

/// The common case, without allocating: 1 to 18 ASCII digits (so it fits in i64), nothing
/// else. Anything else goes through `parse_integer`, which knows the other spellings.
fn plain_digits(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 18 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(b.iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0')))
}

pub(crate) fn instrument(row: &RawRow<'_>) -> Result<InstrumentRecord, RejectRecord> {
    let c = Ctx {
        file: SnapshotFile::Instruments,
        row,
        names: &INSTRUMENT_NAMES,
    };
    Ok(InstrumentRecord {
        name: c.name(0, "instrument name")?,
        isin: c.isin(1)?,
        asset_group: c.name(2, "asset group")?,
    })
}

pub(crate) fn principal(row: &RawRow<'_>) -> Result<PrincipalRecord, RejectRecord> {
    let c = Ctx {
        file: SnapshotFile::Principals,
        row,
        names: &PRINCIPAL_NAMES,
    };
    Ok(PrincipalRecord {
        account_number: c.account(0)?,
        principal: Won::new(c.amount(1, "principal")?),
    })
}

/// The row-local checks of a holding; also rejects a valuation (price × quantity) that does not
/// fit in won.
pub(crate) fn holding(row: &RawRow<'_>) -> Result<HoldingRecord, RejectRecord> {
    let c = Ctx {
        file: SnapshotFile::Holdings,
        row,
        names: &HOLDING_NAMES,
    };
    let record = HoldingRecord {
        customer_name: c.customer(hcol::CUSTOMER)?,
        broker: c.name(hcol::BROKER, "broker")?,
        account_number: c.account(hcol::ACCOUNT)?,
        account_name: c.name(hcol::ACCOUNT_NAME, "account name")?,
        isin: c.isin(hcol::ISIN)?,
        price: Won::new(c.amount(hcol::PRICE, "price")?),
        quantity: c.amount(hcol::QUANTITY, "quantity")?,
    };
    if record.price.checked_mul(record.quantity).is_err() {
        let t = c.text(hcol::QUANTITY)?;
        return Err(c.fail(
            hcol::QUANTITY,
            &t,
            "price × quantity is too large to be an amount of won",
        ));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn plain_digits_is_only_the_plain_case() {
        assert_eq!(plain_digits("8585"), Some(8585));
        assert_eq!(plain_digits("007"), Some(7));
        assert_eq!(
            plain_digits("999999999999999999"),
            Some(999_999_999_999_999_999)
        );
        assert_eq!(plain_digits("9999999999999999999"), None);
        for other in ["", " 1", "1,234", "8585.0", "-1", "+1", "1e3", "١٢"] {
            assert_eq!(plain_digits(other), None, "{other}");
        }
    }

    proptest! {
        #[test]
        fn plain_digits_agrees_with_parse_integer(s in "[0-9]{1,18}|\\PC{0,20}") {
            if let Some(v) = plain_digits(&s) {
                prop_assert_eq!(parse_integer(&s), Ok(v));
            }
        }
    }
}
