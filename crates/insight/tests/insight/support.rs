use chrono::NaiveDate;
use ginkgo_domain::Won;
use ginkgo_insight::{Direction, Txn};

pub fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

pub fn out(id: i64, date: NaiveDate, amount: i64, memo: &str) -> Txn {
    Txn::new(id, date, Direction::Out, Won::new(amount), memo)
}

pub fn inc(id: i64, date: NaiveDate, amount: i64, memo: &str) -> Txn {
    Txn::new(id, date, Direction::In, Won::new(amount), memo)
}
