//! Entry point for the `domain_parsers` fuzz target and for the corpus replay in this crate's
//! tests. Not part of the stable API.
//!
//! Each parser gets the same text; where a parse succeeds, the value's round trips and
//! invariants are asserted, so a fuzzer finds logic errors as well as panics.

use crate::deposit::{Signature, deposit_signature};
use crate::ids::{AccountNumber, CustomerName, Isin, parse_name};
use crate::money::{MoneyError, Won, group_thousands, parse_integer};
use crate::time::parse_date;

/// The ISIN check digit computed independently of [`Isin::check_digit_ok`]: letters become
/// their two-digit values (A = 10 … Z = 35), then the Luhn check digit of that digit string.
pub fn reference_isin_check_digit(body: &str) -> Option<u32> {
    let mut expanded = String::new();
    for c in body.chars() {
        if c.is_ascii_digit() {
            expanded.push(c);
        } else if c.is_ascii_uppercase() {
            expanded.push_str(&(u32::from(c) - u32::from('A') + 10).to_string());
        } else {
            return None;
        }
    }
    // Luhn: double every second digit from the right, starting with the rightmost.
    let mut sum = 0;
    for (i, c) in expanded.chars().rev().enumerate() {
        let d = c.to_digit(10)?;
        let v = if i % 2 == 0 { d * 2 } else { d };
        sum += v / 10 + v % 10;
    }
    Some((10 - sum % 10) % 10)
}

/// True when `t` is `[+-]?[0-9]+`.
fn is_plain_integer(t: &str) -> bool {
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn check_amount(text: &str) {
    let parsed = parse_integer(text);
    assert_eq!(
        Won::parse(text),
        parsed.clone().map(Won::new),
        "Won::parse and parse_integer disagree on {text:?}"
    );
    let trimmed = text.trim();
    // Plain integers parse exactly as Rust parses an i64.
    if is_plain_integer(trimmed) {
        match trimmed.parse::<i64>() {
            Ok(v) => assert_eq!(parsed, Ok(v), "plain integer {trimmed:?}"),
            Err(_) => assert!(
                matches!(parsed, Err(MoneyError::TooLarge(_))),
                "out-of-range integer {trimmed:?} gave {parsed:?}"
            ),
        }
    }
    let Ok(v) = parsed else { return };
    let won = Won::new(v);
    // Every way Ginkgo writes an amount reads back as the same amount.
    assert_eq!(parse_integer(&v.to_string()), Ok(v), "plain {v}");
    assert_eq!(parse_integer(&group_thousands(v)), Ok(v), "grouped {v}");
    assert_eq!(parse_integer(&format!("{v}.0")), Ok(v), "{v}.0");
    assert_eq!(parse_integer(&format!("{v}.000")), Ok(v), "{v}.000");
    assert_eq!(parse_integer(&format!(" {v}\t")), Ok(v), "padded {v}");
    let korean = won.to_korean();
    let number = korean.strip_suffix('원').unwrap_or(&korean);
    assert_eq!(Won::parse(number), Ok(won), "Korean format {korean}");
    // A whole number followed by a real fraction is rejected, not rounded.
    assert!(
        matches!(
            parse_integer(&format!("{v}.5")),
            Err(MoneyError::Fractional(_))
        ),
        "{v}.5 must be fractional"
    );
    // Any text with a fractional part other than zeros never parses.
    if let Some((_, frac)) = trimmed.split_once('.') {
        assert!(
            frac.bytes().all(|b| b == b'0'),
            "fraction accepted in {text:?}"
        );
    }
}

fn check_account_number(text: &str) {
    let Ok(account) = AccountNumber::parse(text) else {
        return;
    };
    let s = account.as_str();
    assert!((6..=20).contains(&s.len()), "account length {s:?}");
    assert!(
        s.bytes().all(|b| b.is_ascii_digit()),
        "account digits {s:?}"
    );
    assert_eq!(s, text.trim());
    assert_eq!(AccountNumber::parse(s).as_ref(), Ok(&account));
    // Masking keeps the length and the shown digits, and hides a contiguous run of at least
    // a quarter of them.
    let masked = account.masked();
    assert_eq!(masked.len(), s.len(), "masked length");
    assert!(
        masked
            .bytes()
            .zip(s.bytes())
            .all(|(m, d)| m == b'*' || m == d),
        "masking changed a digit: {masked}"
    );
    let stars = masked.bytes().filter(|b| *b == b'*').count();
    assert!(
        stars >= s.len().div_ceil(4),
        "masking hides too little: {masked}"
    );
    assert_eq!(
        masked.trim_matches(|c: char| c.is_ascii_digit()).len(),
        stars,
        "masked digits are not contiguous: {masked}"
    );
}

fn check_isin(text: &str) {
    let Ok(isin) = Isin::parse(text) else {
        return;
    };
    assert_eq!(Isin::parse(isin.as_str()).as_ref(), Ok(&isin), "idempotent");
    assert_eq!(isin.as_str(), text.trim().to_ascii_uppercase());
    if isin.is_cash() {
        assert_eq!(isin.as_str(), Isin::CASH);
        assert!(isin.check_digit_ok());
        return;
    }
    let s = isin.as_str();
    assert_eq!(s.len(), 12, "ISIN length {s:?}");
    let (body, check) = s.split_at(11);
    let expected = reference_isin_check_digit(body).expect("an ISIN body is A-Z0-9");
    let written = check
        .parse::<u32>()
        .expect("the check character is a digit");
    assert_eq!(
        isin.check_digit_ok(),
        expected == written,
        "check digit of {s}"
    );
    // Exactly one final digit verifies.
    let verifying = (0..10)
        .filter(|d| {
            Isin::parse(&format!("{body}{d}"))
                .map(|i| i.check_digit_ok())
                .unwrap_or(false)
        })
        .count();
    assert_eq!(verifying, 1, "check digits of {body}");
}

fn check_name(text: &str) {
    let name = CustomerName::parse(text);
    assert_eq!(
        name.clone().map(String::from),
        parse_name(text, "customer name", CustomerName::MAX_CHARS),
        "CustomerName and parse_name disagree"
    );
    let Ok(name) = name else { return };
    let s = name.as_str();
    assert_eq!(s, s.trim(), "name not trimmed");
    assert!(!s.is_empty());
    assert!(s.chars().count() <= CustomerName::MAX_CHARS);
    assert!(!s.chars().any(char::is_control));
    assert_eq!(CustomerName::parse(s).as_ref(), Ok(&name), "idempotent");
}

fn check_date(text: &str) {
    let Some(date) = parse_date(text) else {
        return;
    };
    let dashed = date.format("%Y-%m-%d").to_string();
    let compact = date.format("%Y%m%d").to_string();
    assert_eq!(parse_date(&dashed), Some(date), "{dashed}");
    assert_eq!(parse_date(&compact), Some(date), "{compact}");
    // Only the two documented shapes are accepted.
    let t = text.trim();
    assert!(
        t == dashed || t == compact,
        "{t:?} parsed as {date} but is neither YYYY-MM-DD nor YYYYMMDD"
    );
}

fn check_signature(text: &str, amount: i64) {
    if Signature::parse(text).is_some() {
        // Only 128 hex digits parse.
        let t = text.trim();
        assert_eq!(t.len(), 128);
        assert!(t.bytes().all(|b| b.is_ascii_hexdigit()));
    }
    let Ok(account) = AccountNumber::parse("5736692368320") else {
        return;
    };
    let won = Won::new(amount);
    let expected = deposit_signature(&account, text, won);
    assert_eq!(expected.len(), 128);
    assert!(
        expected
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    );
    let parsed = Signature::parse(&expected).expect("a computed signature parses");
    assert!(parsed.matches(&account, text, won));
    assert!(
        Signature::parse(&expected.to_ascii_uppercase()).is_some_and(|s| s == parsed),
        "upper case"
    );
    assert!(!parsed.matches(&account, text, Won::new(amount.wrapping_add(1))));
    assert!(!parsed.matches(&account, &format!("{text}x"), won));
    if let Some(sig) = Signature::parse(text) {
        assert_eq!(sig == parsed, text.trim().eq_ignore_ascii_case(&expected));
    }
}

/// The `domain_parsers` fuzz target: every parser on the input as text.
pub fn domain_parsers(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let text = text.as_ref();
    let amount = data
        .iter()
        .take(8)
        .fold(0i64, |acc, b| acc.wrapping_shl(8) | i64::from(*b));
    check_amount(text);
    check_account_number(text);
    check_isin(text);
    check_name(text);
    check_date(text);
    check_signature(text, amount);
    // Each line on its own too, so one input exercises several values.
    for line in text.lines().take(16) {
        check_amount(line);
        check_account_number(line);
        check_isin(line);
        check_date(line);
    }
}
