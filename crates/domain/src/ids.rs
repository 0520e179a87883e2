//! Identifiers that arrive as text: account numbers, ISINs and customer names.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{what} is empty")]
    Empty { what: &'static str },
    #[error("account number '{0}' must be 6 to 20 digits")]
    AccountNumber(String),
    #[error("ISIN '{0}' must be 2 letters, 9 letters or digits and a check digit (or CASH)")]
    Isin(String),
    #[error("{what} is longer than {max} characters")]
    TooLong { what: &'static str, max: usize },
    #[error("{what} contains control characters")]
    ControlCharacters { what: &'static str },
}

/// A brokerage account number: digits only, kept as text so leading zeros survive.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountNumber(String);

impl AccountNumber {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let t = text.trim();
        if t.is_empty() {
            return Err(ParseError::Empty {
                what: "account number",
            });
        }
        if !(6..=20).contains(&t.len()) || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::AccountNumber(t.to_string()));
        }
        Ok(AccountNumber(t.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as two words — its digits' value and their count, so `007123` and `7123`
    /// differ — for maps over millions of accounts that should not hold a string per key.
    pub fn packed(&self) -> [u64; 2] {
        let value = self
            .0
            .bytes()
            .fold(0u128, |v, b| v * 10 + u128::from(b.wrapping_sub(b'0') % 10));
        let key = value | ((self.0.len() as u128) << 100);
        [(key >> 64) as u64, key as u64]
    }

    /// `5736692368320` → `573669****320`, for places that show a number to someone who does
    /// not need all of it (logs never get more than this). At most half the digits are shown
    /// at the front and at most half of the rest at the end, so even a 6-digit number keeps
    /// some hidden (`123**6`).
    pub fn masked(&self) -> String {
        let n = self.0.len();
        let keep_head = n.min(6).min(n / 2);
        let keep_tail = 3.min((n - keep_head) / 2);
        let stars = n - keep_head - keep_tail;
        format!(
            "{}{}{}",
            &self.0[..keep_head],
            "*".repeat(stars),
            &self.0[n - keep_tail..]
        )
    }
}

impl TryFrom<String> for AccountNumber {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        AccountNumber::parse(&value)
    }
}

impl From<AccountNumber> for String {
    fn from(value: AccountNumber) -> Self {
        value.0
    }
}

impl fmt::Display for AccountNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An ISIN (`KR7360750004`) or `CASH`, the cash line of an account.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Isin(String);

impl Isin {
    pub const CASH: &'static str = "CASH";

    pub fn cash() -> Self {
        Isin(Self::CASH.to_string())
    }

    /// Accepts the ISIN shape (upper-cased): 2 letters, 9 letters or digits, 1 digit; or `CASH`.
    /// The check digit is not enforced here: see [`Isin::check_digit_ok`] (a wrong one is a
    /// warning, not a reject, because providers do ship such codes).
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let t = text.trim().to_ascii_uppercase();
        if t.is_empty() {
            return Err(ParseError::Empty { what: "ISIN" });
        }
        if t == Self::CASH {
            return Ok(Isin(t));
        }
        let b = t.as_bytes();
        let ok = b.len() == 12
            && b[..2].iter().all(u8::is_ascii_uppercase)
            && b[2..11].iter().all(u8::is_ascii_alphanumeric)
            && b[11].is_ascii_digit();
        if ok {
            Ok(Isin(t))
        } else {
            Err(ParseError::Isin(t))
        }
    }

    pub fn is_cash(&self) -> bool {
        self.0 == Self::CASH
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Verifies the ISIN check digit (ISO 6166, Luhn over the letters-as-numbers expansion).
    /// `CASH` has no check digit and counts as valid.
    pub fn check_digit_ok(&self) -> bool {
        if self.is_cash() {
            return true;
        }
        let (body, check) = self.0.split_at(11);
        let mut digits: Vec<u32> = Vec::with_capacity(22);
        for c in body.chars() {
            match c.to_digit(36) {
                Some(v) if v >= 10 => {
                    digits.push(v / 10);
                    digits.push(v % 10);
                }
                Some(v) => digits.push(v),
                None => return false,
            }
        }
        let mut sum = 0;
        for (i, d) in digits.iter().rev().enumerate() {
            let v = if i % 2 == 0 { d * 2 } else { *d };
            sum += v / 10 + v % 10;
        }
        let expected = (10 - sum % 10) % 10;
        check.parse::<u32>().ok() == Some(expected)
    }
}

impl TryFrom<String> for Isin {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Isin::parse(&value)
    }
}

impl From<Isin> for String {
    fn from(value: Isin) -> Self {
        value.0
    }
}

impl fmt::Display for Isin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Parses free text that names something (a person, an account, a broker, an instrument):
/// trimmed, non-empty, bounded, no control characters.
pub fn parse_name(text: &str, what: &'static str, max: usize) -> Result<String, ParseError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(ParseError::Empty { what });
    }
    if t.chars().count() > max {
        return Err(ParseError::TooLong { what, max });
    }
    if t.chars().any(char::is_control) {
        return Err(ParseError::ControlCharacters { what });
    }
    Ok(t.to_string())
}

/// A customer's name as the provider writes it (the data set identifies customers by name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CustomerName(String);

impl CustomerName {
    pub const MAX_CHARS: usize = 50;

    pub fn parse(text: &str) -> Result<Self, ParseError> {
        parse_name(text, "customer name", Self::MAX_CHARS).map(CustomerName)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CustomerName {
    type Error = ParseError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CustomerName::parse(&value)
    }
}

impl From<CustomerName> for String {
    fn from(value: CustomerName) -> Self {
        value.0
    }
}

impl fmt::Display for CustomerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn packed_numbers_differ_exactly_when_the_numbers_do() {
        let p = |t: &str| AccountNumber::parse(t).expect("valid").packed();
        assert_eq!(p("5736692368320"), p(" 5736692368320 "));
        assert_ne!(p("007123"), p("0007123"));
        assert_ne!(p("123456"), p("123457"));
        assert_ne!(p("99999999999999999999"), p("09999999999999999999"));
        assert_eq!(
            p("99999999999999999999")[1],
            99999999999999999999u128 as u64
        );
    }

    #[test]
    fn account_numbers_are_digits() {
        assert!(AccountNumber::parse("5736692368320").is_ok());
        assert!(AccountNumber::parse(" 0012345678 ").is_ok());
        assert_eq!(
            AccountNumber::parse("0012345678").map(|a| a.0),
            Ok("0012345678".into())
        );
        assert!(AccountNumber::parse("57366-9236").is_err());
        assert!(AccountNumber::parse("").is_err());
        assert!(AccountNumber::parse("12345").is_err());
    }

    #[test]
    fn masks_account_numbers() {
        let a = AccountNumber::parse("5736692368320").expect("valid");
        assert_eq!(a.masked(), "573669****320");
    }

    /// Found by the `domain_parsers` fuzz target: short numbers were shown whole (6 digits)
    /// or nearly whole (10 digits: `00123**678`).
    #[test]
    fn masking_hides_part_of_short_numbers() {
        let masked = |s: &str| AccountNumber::parse(s).expect("valid").masked();
        assert_eq!(masked("123456"), "123**6");
        assert_eq!(masked("0012345678"), "00123***78");
        assert_eq!(masked("12345678901234567890"), "123456***********890");
    }

    #[test]
    fn isin_shape_and_check_digit() {
        let ok = Isin::parse("KR7360750004").expect("valid shape");
        assert!(ok.check_digit_ok());
        assert!(Isin::parse("US0378331005").expect("apple").check_digit_ok());
        let bad_check = Isin::parse("KR7195980002").expect("valid shape");
        assert!(!bad_check.check_digit_ok());
        assert!(Isin::parse("cash").expect("cash").is_cash());
        assert!(Isin::parse("KR736075000").is_err());
        assert!(Isin::parse("1R7360750004").is_err());
        assert!(Isin::parse("KR736075000X").is_err());
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            CustomerName::parse(" 류영길 ").map(String::from),
            Ok("류영길".into())
        );
        assert!(CustomerName::parse("   ").is_err());
        assert!(CustomerName::parse("a\u{0}b").is_err());
        assert!(CustomerName::parse(&"가".repeat(51)).is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC*") {
            let _ = AccountNumber::parse(&s);
            let _ = Isin::parse(&s).map(|i| i.check_digit_ok());
            let _ = CustomerName::parse(&s);
        }

        #[test]
        fn masking_keeps_length(s in "[0-9]{6,20}") {
            let a = AccountNumber::parse(&s).expect("digits");
            prop_assert_eq!(a.masked().len(), s.len());
        }
    }
}
