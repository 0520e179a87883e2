//! Typed values parsed from wire rows ("parse, don't validate").

use std::fmt;

use chrono::{NaiveDate, NaiveTime};
use ginkgo_domain::Won;
use serde::{Deserialize, Serialize};

use crate::wire::{BalanceResponse, RegisteredAccount, TokenResponse, TransactionRow};

/// A wire value that could not be parsed. Never carries memos, names or account numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {reason}")]
pub struct WireError {
    pub field: &'static str,
    pub reason: String,
}

impl WireError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        WireError {
            field,
            reason: reason.into(),
        }
    }
}

/// `inout_type` of a transaction row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Direction {
    /// `입금` — money in.
    Deposit,
    /// `출금` — money out.
    Withdrawal,
    /// `지급` — money paid out (some banks' wording for a withdrawal).
    Payment,
    /// `기타` — anything else; the sign of the balance change tells the direction.
    Other,
}

impl Direction {
    pub fn parse(text: &str) -> Result<Direction, WireError> {
        match text.trim() {
            "입금" => Ok(Direction::Deposit),
            "출금" => Ok(Direction::Withdrawal),
            "지급" => Ok(Direction::Payment),
            "기타" => Ok(Direction::Other),
            other => Err(WireError::new(
                "inout_type",
                format!("unknown value '{other}'"),
            )),
        }
    }

    /// The Korean wire text.
    pub fn as_wire(self) -> &'static str {
        match self {
            Direction::Deposit => "입금",
            Direction::Withdrawal => "출금",
            Direction::Payment => "지급",
            Direction::Other => "기타",
        }
    }

    /// True for money coming in (`입금`).
    pub fn is_incoming(self) -> bool {
        self == Direction::Deposit
    }

    /// True for money going out (`출금`, `지급`).
    pub fn is_outgoing(self) -> bool {
        matches!(self, Direction::Withdrawal | Direction::Payment)
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_wire())
    }
}

/// Parses `yyyyMMdd`.
pub fn parse_wire_date(field: &'static str, text: &str) -> Result<NaiveDate, WireError> {
    let t = text.trim();
    if t.len() != 8 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WireError::new(
            field,
            format!("'{t}' is not a yyyyMMdd date"),
        ));
    }
    NaiveDate::parse_from_str(t, "%Y%m%d")
        .map_err(|_| WireError::new(field, format!("'{t}' is not a valid date")))
}

/// Parses `HHmmss`.
pub fn parse_wire_time(field: &'static str, text: &str) -> Result<NaiveTime, WireError> {
    let t = text.trim();
    if t.len() != 6 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(WireError::new(
            field,
            format!("'{t}' is not an HHmmss time"),
        ));
    }
    NaiveTime::parse_from_str(t, "%H%M%S")
        .map_err(|_| WireError::new(field, format!("'{t}' is not a valid time")))
}

/// Parses a wire amount (`"15000"`, `"-985000"`).
pub fn parse_wire_amount(field: &'static str, text: &str) -> Result<Won, WireError> {
    Won::parse(text).map_err(|e| WireError::new(field, e.to_string()))
}

/// Formats a date as `yyyyMMdd`.
pub fn wire_date(date: NaiveDate) -> String {
    date.format("%Y%m%d").to_string()
}

/// Formats a time as `HHmmss`.
pub fn wire_time(time: NaiveTime) -> String {
    time.format("%H%M%S").to_string()
}

/// One bank transaction, parsed.
///
/// The API gives transactions no identifier; see the crate documentation for the identity a
/// client can build ([`Transaction::identity_key`] plus an ordinal among exact duplicates).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    pub date: NaiveDate,
    pub time: NaiveTime,
    pub direction: Direction,
    /// Free text from the bank (`대체`, `체크카드`, `현금` …).
    pub tran_type: String,
    /// The passbook memo (`print_content`). Personal data: do not log.
    pub memo: String,
    /// Always positive; the direction says which way.
    pub amount: Won,
    /// Balance after this row; may be negative.
    pub after_balance: Won,
    pub branch_name: String,
}

impl fmt::Debug for Transaction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transaction")
            .field("date", &self.date)
            .field("time", &self.time)
            .field("direction", &self.direction)
            .field("amount", &self.amount)
            .field("memo", &"<redacted>")
            .finish_non_exhaustive()
    }
}

impl Transaction {
    /// The content part of a transaction's identity: every field the API returns that does
    /// not change between two reads. Two rows with equal keys are told apart by their ordinal
    /// (0, 1, …) in the order they appear within one account's history.
    pub fn identity_key(&self) -> (NaiveDate, NaiveTime, Direction, Won, Won, &str, &str) {
        (
            self.date,
            self.time,
            self.direction,
            self.amount,
            self.after_balance,
            self.memo.as_str(),
            self.tran_type.as_str(),
        )
    }

    /// The wire row for this transaction (the sandbox's output).
    pub fn to_wire(&self) -> TransactionRow {
        TransactionRow {
            tran_date: wire_date(self.date),
            tran_time: wire_time(self.time),
            inout_type: self.direction.as_wire().to_string(),
            tran_type: self.tran_type.clone(),
            print_content: self.memo.clone(),
            tran_amt: self.amount.get().to_string(),
            after_balance_amt: self.after_balance.get().to_string(),
            branch_name: self.branch_name.clone(),
        }
    }
}

impl TryFrom<&TransactionRow> for Transaction {
    type Error = WireError;

    fn try_from(row: &TransactionRow) -> Result<Self, WireError> {
        let amount = parse_wire_amount("tran_amt", &row.tran_amt)?;
        if amount.is_negative() {
            return Err(WireError::new(
                "tran_amt",
                "amount is negative; the direction is in inout_type",
            ));
        }
        Ok(Transaction {
            date: parse_wire_date("tran_date", &row.tran_date)?,
            time: parse_wire_time("tran_time", &row.tran_time)?,
            direction: Direction::parse(&row.inout_type)?,
            tran_type: row.tran_type.trim().to_string(),
            memo: row.print_content.trim().to_string(),
            amount,
            after_balance: parse_wire_amount("after_balance_amt", &row.after_balance_amt)?,
            branch_name: row.branch_name.trim().to_string(),
        })
    }
}

/// The ordinal of each row among the rows before it with an equal [`Transaction::identity_key`]
/// (0 for the first occurrence, 1 for the next identical row, …). Feed it one account's rows in
/// API order, whole days at a time; `(account, identity_key, ordinal)` is then a stable identity.
pub fn identity_ordinals(rows: &[Transaction]) -> Vec<u32> {
    let mut seen: std::collections::HashMap<_, u32> =
        std::collections::HashMap::with_capacity(rows.len());
    rows.iter()
        .map(|row| {
            let n = seen.entry(row.identity_key()).or_insert(0);
            let ordinal = *n;
            *n += 1;
            ordinal
        })
        .collect()
}

/// A string that never shows itself in `Debug` output (tokens, secrets).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret value; only for putting it on the wire or encrypting it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}

/// A successful token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSet {
    pub access_token: Secret,
    /// Absent for `client_credentials`.
    pub refresh_token: Option<Secret>,
    pub token_type: String,
    /// Seconds (7775999 on the testbed).
    pub expires_in: i64,
    /// Granted scopes, in the server's (alphabetical) order.
    pub scopes: Vec<String>,
    /// Present for user tokens.
    pub user_seq_no: Option<String>,
    /// Present for `client_credentials` (the institution code).
    pub client_use_code: Option<String>,
}

impl TokenSet {
    /// Builds a token set from a response already known to be a success.
    pub fn from_wire(resp: TokenResponse) -> Result<TokenSet, WireError> {
        let access_token = resp
            .access_token
            .filter(|t| !t.is_empty())
            .ok_or_else(|| WireError::new("access_token", "missing"))?;
        let expires_in = resp
            .expires_in
            .ok_or_else(|| WireError::new("expires_in", "missing"))?;
        Ok(TokenSet {
            access_token: Secret(access_token),
            refresh_token: resp.refresh_token.filter(|t| !t.is_empty()).map(Secret),
            token_type: resp.token_type.unwrap_or_else(|| "Bearer".to_string()),
            expires_in,
            scopes: resp
                .scope
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            user_seq_no: resp.user_seq_no.filter(|s| !s.is_empty()),
            client_use_code: resp.client_use_code.filter(|s| !s.is_empty()),
        })
    }
}

/// A user and their registered accounts (`user/me` or `account/list`).
#[derive(Clone, PartialEq, Eq)]
pub struct UserAccounts {
    pub user_seq_no: String,
    /// Personal data: do not log.
    pub user_name: String,
    pub accounts: Vec<RegisteredAccount>,
}

impl fmt::Debug for UserAccounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserAccounts")
            .field("user_seq_no", &self.user_seq_no)
            .field("accounts", &self.accounts.len())
            .finish_non_exhaustive()
    }
}

/// A parsed balance answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub fintech_use_num: String,
    pub bank_name: String,
    pub balance: Won,
    pub available: Won,
    /// `1` demand deposit, `2` savings, `6` fund, `T` integrated.
    pub account_type: String,
    pub product_name: String,
    pub account_issue_date: Option<NaiveDate>,
    pub maturity_date: Option<NaiveDate>,
    pub last_tran_date: Option<NaiveDate>,
}

/// A date that may be absent: blank, or `"00000000"` as the testbed sends for "no date"
/// (OPENBANKING.md §8.1), reads as `None`.
pub fn optional_date(field: &'static str, text: &str) -> Result<Option<NaiveDate>, WireError> {
    let t = text.trim();
    if t.is_empty() || (t.len() == 8 && t.bytes().all(|b| b == b'0')) {
        Ok(None)
    } else {
        parse_wire_date(field, text).map(Some)
    }
}

impl TryFrom<&BalanceResponse> for Balance {
    type Error = WireError;

    fn try_from(r: &BalanceResponse) -> Result<Self, WireError> {
        let balance = parse_wire_amount("balance_amt", &r.balance_amt)?;
        let available = if r.available_amt.trim().is_empty() {
            balance
        } else {
            parse_wire_amount("available_amt", &r.available_amt)?
        };
        Ok(Balance {
            fintech_use_num: r.fintech_use_num.clone(),
            bank_name: r.bank_name.clone(),
            balance,
            available,
            account_type: r.account_type.clone(),
            product_name: r.product_name.clone(),
            account_issue_date: optional_date("account_issue_date", &r.account_issue_date)?,
            maturity_date: optional_date("maturity_date", &r.maturity_date)?,
            last_tran_date: optional_date("last_tran_date", &r.last_tran_date)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> TransactionRow {
        TransactionRow {
            tran_date: "20240124".into(),
            tran_time: "123015".into(),
            inout_type: "출금".into(),
            tran_type: "체크카드".into(),
            print_content: "GS25 역삼점".into(),
            tran_amt: "15000".into(),
            after_balance_amt: "-985000".into(),
            branch_name: "".into(),
        }
    }

    #[test]
    fn a_wire_row_parses_into_a_typed_transaction_and_back() {
        let t = Transaction::try_from(&row()).expect("valid row");
        assert_eq!(t.date, NaiveDate::from_ymd_opt(2024, 1, 24).expect("date"));
        assert_eq!(t.direction, Direction::Withdrawal);
        assert_eq!(t.amount, Won::new(15_000));
        assert_eq!(t.after_balance, Won::new(-985_000));
        assert_eq!(t.to_wire(), row());
    }

    #[test]
    fn bad_rows_give_precise_errors() {
        let mut r = row();
        r.tran_date = "2024-01-24".into();
        assert_eq!(
            Transaction::try_from(&r).map_err(|e| e.field),
            Err("tran_date")
        );
        let mut r = row();
        r.tran_time = "246000".into();
        assert_eq!(
            Transaction::try_from(&r).map_err(|e| e.field),
            Err("tran_time")
        );
        let mut r = row();
        r.inout_type = "IN".into();
        assert_eq!(
            Transaction::try_from(&r).map_err(|e| e.field),
            Err("inout_type")
        );
        let mut r = row();
        r.tran_amt = "10.5".into();
        assert_eq!(
            Transaction::try_from(&r).map_err(|e| e.field),
            Err("tran_amt")
        );
        let mut r = row();
        r.tran_amt = "-1".into();
        assert_eq!(
            Transaction::try_from(&r).map_err(|e| e.field),
            Err("tran_amt")
        );
        let mut r = row();
        r.after_balance_amt = "".into();
        assert_eq!(
            Transaction::try_from(&r).map_err(|e| e.field),
            Err("after_balance_amt")
        );
    }

    #[test]
    fn identical_rows_get_increasing_ordinals() {
        let a = Transaction::try_from(&row()).expect("valid");
        let mut b = a.clone();
        b.after_balance = Won::new(-980_500);
        let ordinals = identity_ordinals(&[a.clone(), b.clone(), a.clone(), a, b]);
        assert_eq!(ordinals, vec![0, 0, 1, 2, 1]);
        assert!(identity_ordinals(&[]).is_empty());
    }

    #[test]
    fn all_four_directions_round_trip() {
        for d in [
            Direction::Deposit,
            Direction::Withdrawal,
            Direction::Payment,
            Direction::Other,
        ] {
            assert_eq!(Direction::parse(d.as_wire()), Ok(d));
        }
        assert!(Direction::Payment.is_outgoing());
        assert!(!Direction::Other.is_incoming());
    }

    #[test]
    fn debug_output_hides_memos_and_secrets() {
        let t = Transaction::try_from(&row()).expect("valid");
        assert!(!format!("{t:?}").contains("GS25"));
        assert_eq!(format!("{:?}", Secret::new("abc")), "<redacted>");
    }

    #[test]
    fn zero_and_blank_balance_dates_read_as_no_date() {
        // As logged from the real testbed: every "no date" is eight zeros.
        let r = BalanceResponse {
            balance_amt: "50000000".into(),
            available_amt: "10000000".into(),
            account_issue_date: "00000000".into(),
            maturity_date: "00000000".into(),
            last_tran_date: " ".into(),
            ..Default::default()
        };
        let b = Balance::try_from(&r).expect("a testbed balance parses");
        assert_eq!(b.balance, Won::new(50_000_000));
        assert_eq!(b.available, Won::new(10_000_000));
        assert_eq!(
            (b.account_issue_date, b.maturity_date, b.last_tran_date),
            (None, None, None)
        );
        let r = BalanceResponse {
            balance_amt: "1".into(),
            account_issue_date: "20200102".into(),
            maturity_date: "2020010".into(),
            ..Default::default()
        };
        assert_eq!(
            Balance::try_from(&r).map_err(|e| e.field),
            Err("maturity_date")
        );
        assert_eq!(
            optional_date("d", "20200102"),
            Ok(NaiveDate::from_ymd_opt(2020, 1, 2))
        );
    }

    #[test]
    fn token_success_needs_an_access_token() {
        assert!(TokenSet::from_wire(TokenResponse::default()).is_err());
        let t = TokenSet::from_wire(TokenResponse {
            access_token: Some("a".into()),
            expires_in: Some(7_775_999),
            scope: Some("inquiry login".into()),
            user_seq_no: Some("1100000001".into()),
            ..Default::default()
        })
        .expect("token");
        assert_eq!(t.scopes, vec!["inquiry", "login"]);
        assert_eq!(t.token_type, "Bearer");
    }
}
