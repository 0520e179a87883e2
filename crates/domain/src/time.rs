//! Business dates are Asia/Seoul dates; timestamps are stored in UTC.
//!
//! Korea has used UTC+9 without daylight saving since 1988, so a fixed offset is exact for every
//! date Ginkgo handles and saves shipping a time-zone database.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

pub fn kst() -> FixedOffset {
    FixedOffset::east_opt(9 * 3600)
        .unwrap_or_else(|| FixedOffset::east_opt(0).expect("zero offset"))
}

/// Today's business date in Seoul.
pub fn today_kst() -> NaiveDate {
    Utc::now().with_timezone(&kst()).date_naive()
}

pub fn to_kst(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&kst())
}

/// Parses `YYYY-MM-DD` or `YYYYMMDD`, exactly: four-digit year, two-digit month and day.
/// (chrono alone also accepts `2023022` or `2024-1-5`, which are ambiguous or not what was
/// asked for.)
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    let b = t.as_bytes();
    let digits_except = |dashes: &[usize]| {
        b.iter().enumerate().all(|(i, c)| {
            if dashes.contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_digit()
            }
        })
    };
    let format = match b.len() {
        10 if digits_except(&[4, 7]) => "%Y-%m-%d",
        8 if digits_except(&[]) => "%Y%m%d",
        _ => return None,
    };
    NaiveDate::parse_from_str(t, format).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_shapes() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 20);
        assert_eq!(parse_date("2026-11-20"), d);
        assert_eq!(parse_date(" 20261120 "), d);
        assert_eq!(
            parse_date("2024-02-29"),
            NaiveDate::from_ymd_opt(2024, 2, 29)
        );
        assert_eq!(parse_date("20230229"), None);
    }

    /// Found by the `domain_parsers` fuzz target: `2023022` was read as 2023-02-02.
    #[test]
    fn rejects_other_shapes() {
        for text in [
            "2023022",
            "2024-1-5",
            "2024-01-5",
            "+2024-01-05",
            "202401055",
            "2024/01/05",
            "2024-0105",
            "",
            "２０２４０１０５",
        ] {
            assert_eq!(parse_date(text), None, "{text:?}");
        }
    }
}
