//! The transaction as this crate sees it: cheap to build from one database row.

use chrono::{NaiveDate, NaiveTime};
use ginkgo_domain::Won;
use serde::{Deserialize, Serialize};

use crate::category::Category;

/// Money in (입금) or out (출금) of the customer's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    /// Stable code for the API and the database: `in` / `out`.
    pub fn code(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }

    pub fn from_code(code: &str) -> Option<Direction> {
        match code {
            "in" => Some(Direction::In),
            "out" => Some(Direction::Out),
            _ => None,
        }
    }
}

/// One bank transaction.
///
/// `amount` is the (non-negative) transaction amount; the sign is carried by `direction`.
/// `category` is what the store currently has for the row (`None` when never categorised);
/// `category_manual` is true when the customer filed this one transaction by hand, in which case
/// the categorizer keeps `category` whatever the rules and the dictionary say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Txn {
    pub id: i64,
    pub account_id: i64,
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
    pub direction: Direction,
    pub amount: Won,
    pub balance_after: Won,
    /// The passbook memo (`print_content`) as received.
    pub memo: String,
    /// The bank's transaction type (`tran_type`: `체크카드`, `체크카드취소`, `대체`, …); empty
    /// when unknown. A type containing `취소` marks a cancellation whatever the memo says.
    #[serde(default)]
    pub tran_type: String,
    pub category: Option<Category>,
    pub category_manual: bool,
}

impl Txn {
    /// A transaction without category information (convenient for tests and generators).
    pub fn new(
        id: i64,
        date: NaiveDate,
        direction: Direction,
        amount: Won,
        memo: impl Into<String>,
    ) -> Txn {
        Txn {
            id,
            account_id: 0,
            date,
            time: None,
            direction,
            amount,
            balance_after: Won::ZERO,
            memo: memo.into(),
            tran_type: String::new(),
            category: None,
            category_manual: false,
        }
    }

    /// The category charts use: the stored one, or the direction's default when never
    /// categorised.
    pub fn category_or_default(&self) -> Category {
        self.category
            .unwrap_or_else(|| Category::default_for(self.direction))
    }
}
