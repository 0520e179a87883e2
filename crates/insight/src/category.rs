//! Spending and income categories.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::txn::Direction;

/// A spending (or income) category. `code()` is stable and is what the API and the database
/// store; the labels are for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(into = "&'static str", try_from = "String")]
pub enum Category {
    Food,
    Cafe,
    Convenience,
    Delivery,
    Transport,
    Telecom,
    Housing,
    Utilities,
    Subscription,
    Shopping,
    Medical,
    Education,
    Leisure,
    Salary,
    Transfer,
    Cash,
    Refund,
    OtherIncome,
    Other,
}

impl Category {
    /// Every category, in display order.
    pub const ALL: [Category; 19] = [
        Category::Food,
        Category::Cafe,
        Category::Convenience,
        Category::Delivery,
        Category::Transport,
        Category::Telecom,
        Category::Housing,
        Category::Utilities,
        Category::Subscription,
        Category::Shopping,
        Category::Medical,
        Category::Education,
        Category::Leisure,
        Category::Salary,
        Category::Transfer,
        Category::Cash,
        Category::Refund,
        Category::OtherIncome,
        Category::Other,
    ];

    /// Stable code for the API and the database.
    pub fn code(self) -> &'static str {
        match self {
            Category::Food => "food",
            Category::Cafe => "cafe",
            Category::Convenience => "convenience",
            Category::Delivery => "delivery",
            Category::Transport => "transport",
            Category::Telecom => "telecom",
            Category::Housing => "housing",
            Category::Utilities => "utilities",
            Category::Subscription => "subscription",
            Category::Shopping => "shopping",
            Category::Medical => "medical",
            Category::Education => "education",
            Category::Leisure => "leisure",
            Category::Salary => "salary",
            Category::Transfer => "transfer",
            Category::Cash => "cash",
            Category::Refund => "refund",
            Category::OtherIncome => "other_income",
            Category::Other => "other",
        }
    }

    pub fn from_code(code: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.code() == code)
    }

    pub fn label_ko(self) -> &'static str {
        match self {
            Category::Food => "식비",
            Category::Cafe => "카페",
            Category::Convenience => "편의점",
            Category::Delivery => "배달",
            Category::Transport => "교통",
            Category::Telecom => "통신",
            Category::Housing => "주거·관리비",
            Category::Utilities => "공과금",
            Category::Subscription => "구독",
            Category::Shopping => "쇼핑",
            Category::Medical => "의료",
            Category::Education => "교육",
            Category::Leisure => "여가",
            Category::Salary => "급여",
            Category::Transfer => "이체",
            Category::Cash => "현금",
            Category::Refund => "환불",
            Category::OtherIncome => "기타수입",
            Category::Other => "기타",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Category::Food => "Food & groceries",
            Category::Cafe => "Cafés",
            Category::Convenience => "Convenience stores",
            Category::Delivery => "Food delivery",
            Category::Transport => "Transport",
            Category::Telecom => "Phone & internet",
            Category::Housing => "Housing & maintenance",
            Category::Utilities => "Utilities",
            Category::Subscription => "Subscriptions",
            Category::Shopping => "Shopping",
            Category::Medical => "Medical",
            Category::Education => "Education",
            Category::Leisure => "Leisure",
            Category::Salary => "Salary",
            Category::Transfer => "Transfers",
            Category::Cash => "Cash",
            Category::Refund => "Refunds",
            Category::OtherIncome => "Other income",
            Category::Other => "Other",
        }
    }

    /// What a memo nothing matched is filed under: incoming money is not "other spending".
    pub fn default_for(direction: Direction) -> Category {
        match direction {
            Direction::In => Category::OtherIncome,
            Direction::Out => Category::Other,
        }
    }

    /// Tie-break between dictionary keywords of equal length: lower wins. Specific,
    /// direction-bound meanings (refund, salary) beat merchant categories, which beat the
    /// generic money-movement words (transfer, cash).
    pub fn priority(self) -> u8 {
        match self {
            Category::Refund => 0,
            Category::Salary => 1,
            Category::Housing => 2,
            Category::Utilities => 3,
            Category::Telecom => 4,
            Category::Subscription => 5,
            Category::Delivery => 6,
            Category::Convenience => 7,
            Category::Cafe => 8,
            Category::Medical => 9,
            Category::Education => 10,
            Category::Transport => 11,
            Category::Leisure => 12,
            Category::Food => 13,
            Category::Shopping => 14,
            Category::OtherIncome => 15,
            Category::Cash => 16,
            Category::Transfer => 17,
            Category::Other => 18,
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl From<Category> for &'static str {
    fn from(c: Category) -> &'static str {
        c.code()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown category code '{0}'")]
pub struct UnknownCategory(pub String);

impl TryFrom<String> for Category {
    type Error = UnknownCategory;
    fn try_from(code: String) -> Result<Category, UnknownCategory> {
        Category::from_code(&code).ok_or(UnknownCategory(code))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut codes = std::collections::HashSet::new();
        let mut prios = std::collections::HashSet::new();
        for c in Category::ALL {
            assert_eq!(Category::from_code(c.code()), Some(c));
            assert!(codes.insert(c.code()));
            assert!(prios.insert(c.priority()));
        }
        assert_eq!(Category::from_code("nope"), None);
    }

    #[test]
    fn serializes_as_code() {
        assert_eq!(
            serde_json::to_string(&Category::Housing).ok().as_deref(),
            Some("\"housing\"")
        );
        let back: Result<Category, _> = serde_json::from_str("\"other_income\"");
        assert_eq!(back.ok(), Some(Category::OtherIncome));
        let bad: Result<Category, _> = serde_json::from_str("\"x\"");
        assert!(bad.is_err());
    }
}
