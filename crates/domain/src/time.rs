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

/// Parses `YYYY-MM-DD` or `YYYYMMDD`.
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(t, "%Y%m%d"))
        .ok()
}
