//! Series for the spending insight charts. All money is [`Won`] with checked arithmetic.
//!
//! Date ranges are inclusive on both ends. Spending is the sum of outgoing transactions and
//! income the sum of incoming ones, both **excluding own transfers** and with **card
//! cancellations netted** against their purchase, as decided by [`Adjustments`] (see
//! [`crate::matching`]): each `*_with` function takes the adjustments, the plain one computes
//! them with no context (linked accounts only). A purchase counts its amount less its matched
//! cancellations, on the purchase's date and in the purchase's category; cancellations are
//! never income. Transfers to other people and cash withdrawals are spending (they left the
//! customer's accounts).

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate};
use ginkgo_domain::{MoneyError, Won};
use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::matching::{Adjustments, MatchContext};
use crate::recurring::{Period, RecurringSeries, SeriesStatus};
use crate::txn::{Direction, Txn};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChartError {
    #[error("date range starts ({from}) after it ends ({to})")]
    InvalidRange { from: NaiveDate, to: NaiveDate },
    #[error("amount overflow while summing")]
    Overflow,
}

impl From<MoneyError> for ChartError {
    fn from(_: MoneyError) -> Self {
        ChartError::Overflow
    }
}

/// An inclusive date range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DateRange {
    from: NaiveDate,
    to: NaiveDate,
}

impl DateRange {
    pub fn new(from: NaiveDate, to: NaiveDate) -> Result<DateRange, ChartError> {
        if from > to {
            return Err(ChartError::InvalidRange { from, to });
        }
        Ok(DateRange { from, to })
    }

    pub fn from(self) -> NaiveDate {
        self.from
    }

    pub fn to(self) -> NaiveDate {
        self.to
    }

    pub fn contains(self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// Transfers between the customer's own accounts as [`Adjustments::analyse`] finds them with
/// no further context (linked accounts only): the ids of both sides.
pub fn self_transfer_ids(txns: &[Txn]) -> HashSet<i64> {
    Adjustments::analyse(txns, &MatchContext::default())
        .transfers
        .into_keys()
        .collect()
}

/// Spending in one category.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CategoryTotal {
    pub category: Category,
    pub total: Won,
    pub count: usize,
}

/// Outgoing money per category within `range`, largest first (ties in [`Category::ALL`]
/// order). Uses each transaction's stored category ([`Txn::category_or_default`]).
pub fn spending_by_category(
    txns: &[Txn],
    range: DateRange,
) -> Result<Vec<CategoryTotal>, ChartError> {
    spending_by_category_with(
        txns,
        range,
        &Adjustments::analyse(txns, &MatchContext::default()),
    )
}

/// [`spending_by_category`] with given adjustments. A purchase fully cancelled adds nothing
/// and is not counted.
pub fn spending_by_category_with(
    txns: &[Txn],
    range: DateRange,
    adj: &Adjustments,
) -> Result<Vec<CategoryTotal>, ChartError> {
    let mut totals: HashMap<Category, (Won, usize)> = HashMap::new();
    for t in txns {
        if !range.contains(t.date) {
            continue;
        }
        let Some(amount) = adj.spending(t) else {
            continue;
        };
        if amount == Won::ZERO {
            continue;
        }
        let e = totals
            .entry(t.category_or_default())
            .or_insert((Won::ZERO, 0));
        e.0 = e.0.checked_add(amount)?;
        e.1 += 1;
    }
    let mut out: Vec<CategoryTotal> = totals
        .into_iter()
        .map(|(category, (total, count))| CategoryTotal {
            category,
            total,
            count,
        })
        .collect();
    out.sort_by(|a, b| b.total.cmp(&a.total).then(a.category.cmp(&b.category)));
    Ok(out)
}

/// One ISO week (Monday to Sunday).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeekPoint {
    pub week_start: NaiveDate,
    pub week_end: NaiveDate,
    /// Sum over accounts of each account's balance after its last transaction on or before the
    /// week's end (transactions before the range count); `None` before any transaction.
    pub balance: Option<Won>,
    /// Outgoing money in the week (within the range).
    pub spending: Won,
    /// Incoming money in the week (within the range).
    pub income: Won,
}

/// The Monday of `date`'s ISO week.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    let back = Duration::days(i64::from(date.weekday().num_days_from_monday()));
    date.checked_sub_signed(back).unwrap_or(date)
}

/// Weekly end-of-week balance against weekly spending and income, for every ISO week that
/// overlaps `range`. Spending and income only count dates inside `range` (the first and last
/// weeks may be partial); the balance is always the end-of-week balance.
pub fn weekly_series(txns: &[Txn], range: DateRange) -> Result<Vec<WeekPoint>, ChartError> {
    weekly_series_with(
        txns,
        range,
        &Adjustments::analyse(txns, &MatchContext::default()),
    )
}

/// [`weekly_series`] with given adjustments.
pub fn weekly_series_with(
    txns: &[Txn],
    range: DateRange,
    adj: &Adjustments,
) -> Result<Vec<WeekPoint>, ChartError> {
    let mut order: Vec<&Txn> = txns.iter().collect();
    order.sort_by_key(|t| (t.date, t.time, t.id));
    let mut balances: HashMap<i64, Won> = HashMap::new();
    let mut next = 0usize;
    let mut out = Vec::new();
    let mut start = week_start(range.from);
    while start <= range.to {
        let Some(end) = start.checked_add_signed(Duration::days(6)) else {
            break;
        };
        let mut spending = Won::ZERO;
        let mut income = Won::ZERO;
        while let Some(t) = order.get(next) {
            if t.date > end {
                break;
            }
            balances.insert(t.account_id, t.balance_after);
            if range.contains(t.date) && t.date >= start {
                if let Some(a) = adj.spending(t) {
                    spending = spending.checked_add(a)?;
                }
                if let Some(a) = adj.income(t) {
                    income = income.checked_add(a)?;
                }
            }
            next += 1;
        }
        let balance = if balances.is_empty() {
            None
        } else {
            let mut sum = Won::ZERO;
            for b in balances.values() {
                sum = sum.checked_add(*b)?;
            }
            Some(sum)
        };
        out.push(WeekPoint {
            week_start: start,
            week_end: end,
            balance,
            spending,
            income,
        });
        let Some(next_start) = end.succ_opt() else {
            break;
        };
        start = next_start;
    }
    Ok(out)
}

/// One calendar month's totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonthTotals {
    pub year: i32,
    pub month: u32,
    pub income: Won,
    pub spending: Won,
    /// `income − spending`.
    pub net: Won,
}

/// Income, spending and net per calendar month overlapping `range` (dates inside `range` only).
pub fn monthly_totals(txns: &[Txn], range: DateRange) -> Result<Vec<MonthTotals>, ChartError> {
    monthly_totals_with(
        txns,
        range,
        &Adjustments::analyse(txns, &MatchContext::default()),
    )
}

/// [`monthly_totals`] with given adjustments.
pub fn monthly_totals_with(
    txns: &[Txn],
    range: DateRange,
    adj: &Adjustments,
) -> Result<Vec<MonthTotals>, ChartError> {
    let mut out: Vec<MonthTotals> = Vec::new();
    let (mut y, mut m) = (range.from.year(), range.from.month());
    let mut index: HashMap<(i32, u32), usize> = HashMap::new();
    while (y, m) <= (range.to.year(), range.to.month()) {
        index.insert((y, m), out.len());
        out.push(MonthTotals {
            year: y,
            month: m,
            income: Won::ZERO,
            spending: Won::ZERO,
            net: Won::ZERO,
        });
        (y, m) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    }
    for t in txns {
        if !range.contains(t.date) {
            continue;
        }
        let Some(&i) = index.get(&(t.date.year(), t.date.month())) else {
            continue;
        };
        let row = &mut out[i];
        if let Some(a) = adj.income(t) {
            row.income = row.income.checked_add(a)?;
        }
        if let Some(a) = adj.spending(t) {
            row.spending = row.spending.checked_add(a)?;
        }
    }
    for row in &mut out {
        row.net = row.income.checked_sub(row.spending)?;
    }
    Ok(out)
}

/// One expected recurring payment (or income).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpcomingPayment {
    pub date: NaiveDate,
    pub key: String,
    pub memo: String,
    pub direction: Direction,
    pub period: Period,
    /// The series' typical amount.
    pub amount: Won,
}

/// Expected occurrences of **active** series from `as_of` to `as_of + days` (inclusive), by
/// date then key. Weekly series can appear several times.
pub fn upcoming(series: &[RecurringSeries], as_of: NaiveDate, days: u32) -> Vec<UpcomingPayment> {
    let until = as_of
        .checked_add_signed(Duration::days(i64::from(days)))
        .unwrap_or(NaiveDate::MAX);
    let mut out: Vec<UpcomingPayment> = series
        .iter()
        .filter(|s| s.status == SeriesStatus::Active)
        .flat_map(|s| {
            s.expected_between(as_of, until)
                .into_iter()
                .map(move |date| UpcomingPayment {
                    date,
                    key: s.key.clone(),
                    memo: s.memo.clone(),
                    direction: s.direction,
                    period: s.period,
                    amount: s.typical_amount,
                })
        })
        .collect();
    out.sort_by(|a, b| (a.date, &a.key, a.direction).cmp(&(b.date, &b.key, b.direction)));
    out
}

/// One day's total bank balance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayBalance {
    pub date: NaiveDate,
    /// The sum over the accounts that have a transaction on or before this day; `None` before
    /// the first transaction of any account.
    pub balance: Option<Won>,
}

/// The end-of-day total balance of the customer's bank accounts, for every day of `range`:
/// per account, the balance after its last transaction on or before the day (rows before the
/// range set the opening balance), summed over the accounts.
pub fn daily_balances(txns: &[Txn], range: DateRange) -> Result<Vec<DayBalance>, ChartError> {
    let mut order: Vec<&Txn> = txns.iter().filter(|t| t.date <= range.to).collect();
    order.sort_by_key(|t| (t.date, t.time, t.id));
    let mut balances: HashMap<i64, Won> = HashMap::new();
    let mut next = 0usize;
    let mut out = Vec::new();
    let mut day = range.from;
    loop {
        while let Some(t) = order.get(next) {
            if t.date > day {
                break;
            }
            balances.insert(t.account_id, t.balance_after);
            next += 1;
        }
        let balance = if balances.is_empty() {
            None
        } else {
            let mut sum = Won::ZERO;
            for b in balances.values() {
                sum = sum.checked_add(*b)?;
            }
            Some(sum)
        };
        out.push(DayBalance { date: day, balance });
        match day.succ_opt() {
            Some(d) if d <= range.to => day = d,
            _ => break,
        }
    }
    Ok(out)
}

/// Which kind of period [`so_far`] compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    Month,
    Week,
}

/// The current (partial) period up to and including `as_of`, against the same days of the
/// previous period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SoFar {
    pub kind: PeriodKind,
    /// First day of the current period.
    pub from: NaiveDate,
    /// `as_of`: the figures cover `from..=to` only.
    pub to: NaiveDate,
    /// The period's last day (`to < period_end` means the period is not complete).
    pub period_end: NaiveDate,
    pub complete: bool,
    pub spending: Won,
    pub income: Won,
    /// The same days of the previous period: `previous_from..=previous_to` (for a month, day 1
    /// to the same day number, clamped to the previous month's length).
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    pub previous_spending: Won,
    pub previous_income: Won,
}

fn add_months(date: NaiveDate, months: i32) -> Option<NaiveDate> {
    let idx = date.year() * 12 + date.month0() as i32 + months;
    let (y, m) = (idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1);
    let mut d = date.day();
    loop {
        if let Some(x) = NaiveDate::from_ymd_opt(y, m, d) {
            return Some(x);
        }
        d = d.checked_sub(1)?;
    }
}

fn sums(
    txns: &[Txn],
    adj: &Adjustments,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<(Won, Won), ChartError> {
    let (mut spending, mut income) = (Won::ZERO, Won::ZERO);
    for t in txns {
        if t.date < from || t.date > to {
            continue;
        }
        if let Some(a) = adj.spending(t) {
            spending = spending.checked_add(a)?;
        }
        if let Some(a) = adj.income(t) {
            income = income.checked_add(a)?;
        }
    }
    Ok((spending, income))
}

/// The month or ISO week containing `as_of`, marked partial ("so far") when `as_of` is not its
/// last day, with the same days of the previous month or week for comparison. Uses the same
/// treatment as every other figure ([`Adjustments`]).
pub fn so_far(
    txns: &[Txn],
    adj: &Adjustments,
    as_of: NaiveDate,
    kind: PeriodKind,
) -> Result<SoFar, ChartError> {
    let overflow = || ChartError::Overflow;
    let (from, period_end, previous_from, previous_to) = match kind {
        PeriodKind::Month => {
            let from = as_of.with_day(1).ok_or_else(overflow)?;
            let next = add_months(from, 1).ok_or_else(overflow)?;
            let end = next.pred_opt().ok_or_else(overflow)?;
            let pfrom = add_months(from, -1).ok_or_else(overflow)?;
            // The same day number, clamped to the previous month's length.
            let pto = add_months(as_of, -1).ok_or_else(overflow)?;
            (from, end, pfrom, pto)
        }
        PeriodKind::Week => {
            let from = week_start(as_of);
            let end = from
                .checked_add_signed(Duration::days(6))
                .ok_or_else(overflow)?;
            let week = Duration::days(7);
            (
                from,
                end,
                from.checked_sub_signed(week).ok_or_else(overflow)?,
                as_of.checked_sub_signed(week).ok_or_else(overflow)?,
            )
        }
    };
    let (spending, income) = sums(txns, adj, from, as_of)?;
    let (previous_spending, previous_income) = sums(txns, adj, previous_from, previous_to)?;
    Ok(SoFar {
        kind,
        from,
        to: as_of,
        period_end,
        complete: as_of >= period_end,
        spending,
        income,
        previous_from,
        previous_to,
        previous_spending,
        previous_income,
    })
}
