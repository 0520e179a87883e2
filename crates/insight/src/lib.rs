//! Ginkgo's spending insight: pure functions and types, no IO, no database.
//!
//! - [`normalize`]: memo normalisation used for matching and for grouping recurring series.
//! - [`Category`]: the spending/income categories with stable codes and labels.
//! - [`dictionary`]: the built-in Korean keyword dictionary.
//! - [`Categorizer`]: customer rules first, then the dictionary, both as Aho-Corasick automata.
//! - [`recurring`]: recurring (fixed) payment and income detection.
//! - [`matching`]: own transfers (linked accounts, Ginkgo deposits, self-named) and card
//!   cancellations netted against their purchase.
//! - [`charts`]: series for the spending insight screen.
//! - [`bench`]: the timed workloads behind `examples/bench.rs` (and a `ginkgo bench` command).
//!
//! The store keeps transactions and rules; this crate decides categories, recurring series and
//! chart series.

pub mod bench;
pub mod categorize;
pub mod category;
pub mod charts;
pub mod dictionary;
pub mod matching;
pub mod normalize;
pub mod recurring;
pub mod txn;

pub use categorize::{
    BuildError, Categorized, Categorizer, Change, DictionaryMatcher, MemoGroup, MemoGroups,
    Preview, Rule, RuleKind, Source, preview, preview_rules, recompute_for_rule_change,
};
pub use category::Category;
pub use dictionary::{Dictionary, Keyword, KeywordDirection};
pub use matching::{Adjustments, DepositRef, MatchContext, OwnTransfer, TransferKind, Treatment};
pub use normalize::{group_key, merchant_stem, normalize};
pub use recurring::{
    FixedMonthly, Period, RecurringConfig, RecurringSeries, SeriesStatus, ShiftRule,
    detect_recurring, detect_recurring_except, fixed_monthly, manual_series,
};
pub use txn::{Direction, Txn};
