//! Korean won as exact integers with checked arithmetic.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An amount of Korean won. Always an integer; every arithmetic step is checked.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Won(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount is empty")]
    Empty,
    #[error("'{0}' is not a whole number of won")]
    NotANumber(String),
    #[error("'{0}' has a fractional part; amounts are whole won")]
    Fractional(String),
    #[error("'{0}' is too large")]
    TooLarge(String),
    #[error("arithmetic overflow")]
    Overflow,
}

impl Won {
    pub const ZERO: Won = Won(0);

    pub const fn new(won: i64) -> Self {
        Won(won)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Won) -> Result<Won, MoneyError> {
        self.0
            .checked_add(other.0)
            .map(Won)
            .ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Won) -> Result<Won, MoneyError> {
        self.0
            .checked_sub(other.0)
            .map(Won)
            .ok_or(MoneyError::Overflow)
    }

    /// `self × quantity`, e.g. a price times a number of shares.
    pub fn checked_mul(self, quantity: i64) -> Result<Won, MoneyError> {
        self.0
            .checked_mul(quantity)
            .map(Won)
            .ok_or(MoneyError::Overflow)
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    /// Parses an amount as providers and people write it: surrounding whitespace, thousands
    /// separators (`1,234`), a leading sign, and an integral decimal (`8585.0`, as spreadsheets
    /// export integers) are accepted; a real fraction (`10.5`) is rejected.
    pub fn parse(text: &str) -> Result<Won, MoneyError> {
        parse_integer(text).map(Won)
    }

    /// Formats as Korean UIs do: `1,234,567원`.
    pub fn to_korean(self) -> String {
        format!("{}원", group_thousands(self.0))
    }
}

impl fmt::Display for Won {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_korean())
    }
}

/// `1234567` → `1,234,567`; negative numbers keep their sign.
pub fn group_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Parses a whole number written by a person or a spreadsheet (see [`Won::parse`]).
pub fn parse_integer(text: &str) -> Result<i64, MoneyError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(MoneyError::Empty);
    }
    let not_a_number = || MoneyError::NotANumber(trimmed.to_string());
    let (negative, body) = match trimmed.as_bytes()[0] {
        b'-' => (true, &trimmed[1..]),
        b'+' => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let (int_part, frac_part) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    if let Some(frac) = frac_part {
        if frac.is_empty() || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return Err(not_a_number());
        }
        if frac.bytes().any(|b| b != b'0') {
            return Err(MoneyError::Fractional(trimmed.to_string()));
        }
    }
    if int_part.is_empty() {
        return Err(not_a_number());
    }
    // Thousands separators must group digits in threes: `1,234` yes, `12,34` no.
    let groups: Vec<&str> = int_part.split(',').collect();
    if groups.len() > 1 {
        let first_ok = (1..=3).contains(&groups[0].len());
        let rest_ok = groups[1..].iter().all(|g| g.len() == 3);
        if !first_ok || !rest_ok {
            return Err(not_a_number());
        }
    }
    // The magnitude is accumulated unsigned so that `i64::MIN` (one more than `i64::MAX` in
    // magnitude) parses like every other i64.
    let too_large = || MoneyError::TooLarge(trimmed.to_string());
    let mut magnitude: u64 = 0;
    for group in groups {
        for b in group.bytes() {
            if !b.is_ascii_digit() {
                return Err(not_a_number());
            }
            magnitude = magnitude
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(b - b'0')))
                .ok_or_else(too_large)?;
        }
    }
    if negative {
        0i64.checked_sub_unsigned(magnitude).ok_or_else(too_large)
    } else {
        i64::try_from(magnitude).map_err(|_| too_large())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_what_providers_write() {
        assert_eq!(Won::parse("8585"), Ok(Won(8585)));
        assert_eq!(Won::parse(" 8585 "), Ok(Won(8585)));
        assert_eq!(Won::parse("8585.0"), Ok(Won(8585)));
        assert_eq!(Won::parse("1,234,567"), Ok(Won(1_234_567)));
        assert_eq!(Won::parse("-42"), Ok(Won(-42)));
        assert_eq!(Won::parse("+42"), Ok(Won(42)));
    }

    #[test]
    fn rejects_what_is_not_a_whole_amount() {
        assert_eq!(Won::parse(""), Err(MoneyError::Empty));
        assert!(matches!(Won::parse("10.5"), Err(MoneyError::Fractional(_))));
        assert!(matches!(
            Won::parse("12,34"),
            Err(MoneyError::NotANumber(_))
        ));
        assert!(matches!(Won::parse("1e3"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Won::parse("abc"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Won::parse("-"), Err(MoneyError::NotANumber(_))));
        assert!(matches!(Won::parse("1."), Err(MoneyError::NotANumber(_))));
        assert!(matches!(
            Won::parse("99999999999999999999"),
            Err(MoneyError::TooLarge(_))
        ));
    }

    /// `i64::MIN` has no positive counterpart: it used to be reported as too large.
    #[test]
    fn parses_the_whole_i64_range() {
        assert_eq!(parse_integer("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(parse_integer("-9,223,372,036,854,775,808"), Ok(i64::MIN));
        assert_eq!(parse_integer("9223372036854775807"), Ok(i64::MAX));
        assert!(matches!(
            parse_integer("9223372036854775808"),
            Err(MoneyError::TooLarge(_))
        ));
        assert!(matches!(
            parse_integer("-9223372036854775809"),
            Err(MoneyError::TooLarge(_))
        ));
    }

    #[test]
    fn formats_in_korean() {
        assert_eq!(Won(1_234_567).to_korean(), "1,234,567원");
        assert_eq!(Won(0).to_korean(), "0원");
        assert_eq!(Won(-1000).to_korean(), "-1,000원");
        assert_eq!(Won(999).to_korean(), "999원");
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Won(i64::MAX).checked_add(Won(1)), Err(MoneyError::Overflow));
        assert_eq!(Won(i64::MAX).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(Won(3).checked_mul(4), Ok(Won(12)));
    }

    proptest! {
        #[test]
        fn grouped_display_parses_back(v in any::<i64>()) {
            prop_assert_eq!(parse_integer(&group_thousands(v)), Ok(v));
        }

        #[test]
        fn parse_never_panics(s in "\\PC*") {
            let _ = Won::parse(&s);
        }
    }
}
