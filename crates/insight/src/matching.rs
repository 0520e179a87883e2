//! What a transaction really is for the spending figures: an own transfer, a card
//! cancellation, or ordinary spending / income.
//!
//! [`Adjustments::analyse`] runs over one customer's transactions (all of them belong to the
//! customer's linked accounts, so nothing can pair across customers) and decides,
//! deterministically:
//!
//! 1. **Own transfers between linked accounts**: an outflow filed as 이체/기타 on one account and
//!    an inflow filed as 이체/기타수입 on a *different* account for the same amount, the inflow on
//!    the outflow's date or by the next business day (a transfer sent on Friday evening or at the
//!    weekend may arrive on Monday; 23:50 → 00:10 is the next day). When both sides have a time,
//!    the inflow may not precede the outflow by more than ten minutes (clocks differ). Candidate
//!    pairs are taken closest first (gap in minutes; a missing time counts as noon), then by
//!    outflow id, then inflow id, one-to-one.
//! 2. **Funding a Ginkgo deposit**: a remaining outflow (이체/기타) of exactly a confirmed Ginkgo
//!    deposit's amount, the deposit confirmed on the outflow's date or by the next business day;
//!    closest first, one-to-one.
//! 3. **Self-named transfers**: a remaining 이체/기타/기타수입 transaction whose normalised memo
//!    contains the customer's own name (at least two characters): money between the customer's
//!    own accounts even when the other side is not linked.
//! 4. **Cancellations**: an inflow whose memo carries a cancellation word
//!    ([`crate::normalize::CANCEL_MARKERS`]) or whose bank transaction type does
//!    (`체크카드취소`) is matched with the latest earlier outflow with the
//!    same [`merchant_stem`] within `cancel_window_days` whose not yet cancelled amount is at
//!    least the cancellation's: an exact (full) match first, else the latest that covers it
//!    (a partial cancellation); several partial cancellations may reduce one purchase. A matched
//!    cancellation reduces that purchase (and so the purchase's category, on the purchase's
//!    date); an unmatched one is reported as such. Neither counts as income.
//!
//! Own transfers (both sides) are neither spending nor income. A transaction id in
//! [`MatchContext::unpaired`] (the customer undid a pairing) is never paired or treated as an
//! own transfer again.

use std::collections::{HashMap, HashSet};

use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use ginkgo_domain::Won;
use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::normalize::{is_cancellation_memo, merchant_stem, normalize, normalize_into};
use crate::txn::{Direction, Txn};

/// A confirmed Ginkgo investment deposit (the date in Asia/Seoul).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositRef {
    pub id: i64,
    pub date: NaiveDate,
    pub amount: Won,
}

/// What the matcher knows besides the transactions.
#[derive(Debug, Clone, Default)]
pub struct MatchContext {
    /// The customer's own name(s) as memos would carry them (`홍길동`).
    pub own_names: Vec<String>,
    /// The customer's confirmed Ginkgo deposits.
    pub deposits: Vec<DepositRef>,
    /// Transactions the customer un-paired: never treated as own transfers.
    pub unpaired: HashSet<i64>,
    /// How long after a purchase a cancellation is still matched with it (days); 0 means the
    /// default, 90.
    pub cancel_window_days: i64,
}

/// Why a transaction is an own transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// Paired with the opposite side on another linked account.
    LinkedAccounts,
    /// Funded a confirmed Ginkgo deposit.
    GinkgoDeposit,
    /// The memo names the customer; the other side is not linked.
    OwnName,
}

impl TransferKind {
    pub fn code(self) -> &'static str {
        match self {
            TransferKind::LinkedAccounts => "linked_accounts",
            TransferKind::GinkgoDeposit => "ginkgo_deposit",
            TransferKind::OwnName => "own_name",
        }
    }
}

/// One side of an own transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnTransfer {
    pub kind: TransferKind,
    /// The other side (`LinkedAccounts`).
    pub counterpart: Option<i64>,
    /// The deposit it funded (`GinkgoDeposit`).
    pub deposit_id: Option<i64>,
}

/// What one transaction counts as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Treatment {
    /// Ordinary spending or income at its full amount.
    Normal,
    /// A purchase reduced by matched cancellations: spending of `net` (may be zero).
    Cancelled {
        refunded: Won,
        net: Won,
    },
    OwnTransfer(OwnTransfer),
    /// A cancellation matched with purchase `purchase_id`.
    Cancellation {
        purchase_id: i64,
    },
    /// A cancellation no purchase was found for.
    UnmatchedCancellation,
}

/// The result of [`Adjustments::analyse`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Adjustments {
    pub transfers: HashMap<i64, OwnTransfer>,
    /// Cancellation id → the purchase it reduces (`None`: unmatched).
    pub cancellations: HashMap<i64, Option<i64>>,
    /// Purchase id → total cancelled amount.
    pub refunded: HashMap<i64, Won>,
}

/// The last date an own transfer sent on `date` may arrive: the next business day.
fn next_business_day(date: NaiveDate) -> NaiveDate {
    let days = match date.weekday() {
        Weekday::Fri => 3,
        Weekday::Sat => 2,
        _ => 1,
    };
    date.checked_add_signed(Duration::days(days))
        .unwrap_or(date)
}

fn minutes(t: &Txn) -> i64 {
    let time = t
        .time
        .unwrap_or(NaiveTime::from_hms_opt(12, 0, 0).unwrap_or_default());
    i64::from(t.date.num_days_from_ce()) * 1440
        + i64::from(chrono::Timelike::hour(&time)) * 60
        + i64::from(chrono::Timelike::minute(&time))
}

fn transfer_like_out(t: &Txn) -> bool {
    matches!(
        t.category_or_default(),
        Category::Transfer | Category::Other
    )
}

fn transfer_like_in(t: &Txn) -> bool {
    matches!(
        t.category_or_default(),
        Category::Transfer | Category::OtherIncome
    )
}

impl Adjustments {
    /// Decides every transaction's treatment (see the module notes).
    pub fn analyse<'a>(txns: &'a [Txn], ctx: &MatchContext) -> Adjustments {
        let mut adj = Adjustments::default();
        let free = |t: &Txn| !ctx.unpaired.contains(&t.id);

        // 1. Linked accounts.
        let mut ins: HashMap<Won, Vec<&Txn>> = HashMap::new();
        for t in txns {
            if t.direction == Direction::In && transfer_like_in(t) && free(t) {
                ins.entry(t.amount).or_default().push(t);
            }
        }
        let mut edges: Vec<(i64, i64, i64)> = Vec::new();
        for o in txns {
            if o.direction != Direction::Out || !transfer_like_out(o) || !free(o) {
                continue;
            }
            let Some(list) = ins.get(&o.amount) else {
                continue;
            };
            let last = next_business_day(o.date);
            for i in list {
                if i.account_id == o.account_id || i.date < o.date || i.date > last {
                    continue;
                }
                let gap = minutes(i) - minutes(o);
                if o.time.is_some() && i.time.is_some() && gap < -10 {
                    continue;
                }
                edges.push((gap.abs(), o.id, i.id));
            }
        }
        edges.sort_unstable();
        for (_, oid, iid) in edges {
            if adj.transfers.contains_key(&oid) || adj.transfers.contains_key(&iid) {
                continue;
            }
            adj.transfers.insert(
                oid,
                OwnTransfer {
                    kind: TransferKind::LinkedAccounts,
                    counterpart: Some(iid),
                    deposit_id: None,
                },
            );
            adj.transfers.insert(
                iid,
                OwnTransfer {
                    kind: TransferKind::LinkedAccounts,
                    counterpart: Some(oid),
                    deposit_id: None,
                },
            );
        }

        // 2. Ginkgo deposits.
        let mut edges: Vec<(i64, i64, i64)> = Vec::new();
        for o in txns {
            if o.direction != Direction::Out
                || !transfer_like_out(o)
                || !free(o)
                || adj.transfers.contains_key(&o.id)
            {
                continue;
            }
            let last = next_business_day(o.date);
            for d in &ctx.deposits {
                if d.amount == o.amount && d.date >= o.date && d.date <= last {
                    edges.push(((d.date - o.date).num_days(), o.id, d.id));
                }
            }
        }
        edges.sort_unstable();
        let mut used_deposits: HashSet<i64> = HashSet::new();
        for (_, oid, did) in edges {
            if adj.transfers.contains_key(&oid) || used_deposits.contains(&did) {
                continue;
            }
            used_deposits.insert(did);
            adj.transfers.insert(
                oid,
                OwnTransfer {
                    kind: TransferKind::GinkgoDeposit,
                    counterpart: None,
                    deposit_id: Some(did),
                },
            );
        }

        // 3. Self-named transfers.
        let names: Vec<String> = ctx
            .own_names
            .iter()
            .map(|n| normalize(n))
            .filter(|n| n.chars().count() >= 2)
            .collect();
        let mut buf = String::new();
        if !names.is_empty() {
            for t in txns {
                let like = match t.direction {
                    Direction::Out => transfer_like_out(t),
                    Direction::In => transfer_like_in(t),
                };
                if !like || !free(t) || adj.transfers.contains_key(&t.id) {
                    continue;
                }
                normalize_into(&t.memo, &mut buf);
                if names.iter().any(|n| buf.contains(n.as_str())) {
                    adj.transfers.insert(
                        t.id,
                        OwnTransfer {
                            kind: TransferKind::OwnName,
                            counterpart: None,
                            deposit_id: None,
                        },
                    );
                }
            }
        }

        // 4. Cancellations.
        let window = if ctx.cancel_window_days > 0 {
            ctx.cancel_window_days
        } else {
            90
        };
        let mut cancels: Vec<&Txn> = Vec::new();
        for t in txns {
            if t.direction == Direction::In && !adj.transfers.contains_key(&t.id) {
                normalize_into(&t.memo, &mut buf);
                if is_cancellation_memo(&buf) || t.tran_type.contains("취소") {
                    cancels.push(t);
                }
            }
        }
        if !cancels.is_empty() {
            // Memos repeat a lot: each distinct memo's stem is computed once, and stems are
            // small numbers from then on.
            let mut stem_of: HashMap<&str, usize> = HashMap::new();
            let mut ids: HashMap<String, usize> = HashMap::new();
            let mut stem = |memo: &'a str| -> usize {
                if let Some(i) = stem_of.get(memo) {
                    return *i;
                }
                let s = merchant_stem(memo);
                let next = ids.len();
                let i = *ids.entry(s).or_insert(next);
                stem_of.insert(memo, i);
                i
            };
            let stems: HashSet<usize> = cancels.iter().map(|c| stem(&c.memo)).collect();
            // Purchases by stem, only for stems some cancellation has.
            let mut purchases: HashMap<usize, Vec<&Txn>> = HashMap::new();
            for t in txns {
                if t.direction != Direction::Out || adj.transfers.contains_key(&t.id) {
                    continue;
                }
                let s = stem(&t.memo);
                if stems.contains(&s) {
                    purchases.entry(s).or_default().push(t);
                }
            }
            for list in purchases.values_mut() {
                list.sort_by_key(|t| (t.date, t.time, t.id));
            }
            cancels.sort_by_key(|t| (t.date, t.time, t.id));
            for c in cancels {
                let key = stem(&c.memo);
                let found = purchases.get(&key).and_then(|list| {
                    let remaining = |p: &Txn| {
                        p.amount
                            .checked_sub(adj.refunded.get(&p.id).copied().unwrap_or(Won::ZERO))
                            .unwrap_or(Won::ZERO)
                    };
                    let eligible = |p: &&&Txn| {
                        p.date <= c.date
                            && (c.date - p.date).num_days() <= window
                            && (p.date, p.time, p.id) <= (c.date, c.time, c.id)
                    };
                    list.iter()
                        .rev()
                        .filter(eligible)
                        .find(|p| remaining(p) == c.amount)
                        .or_else(|| {
                            list.iter()
                                .rev()
                                .filter(eligible)
                                .find(|p| remaining(p) > c.amount)
                        })
                        .map(|p| p.id)
                });
                if let Some(pid) = found {
                    let e = adj.refunded.entry(pid).or_insert(Won::ZERO);
                    *e = e.checked_add(c.amount).unwrap_or(*e);
                }
                adj.cancellations.insert(c.id, found);
            }
        }
        adj
    }

    /// How `t` counts.
    pub fn treatment(&self, t: &Txn) -> Treatment {
        if let Some(o) = self.transfers.get(&t.id) {
            return Treatment::OwnTransfer(*o);
        }
        if let Some(c) = self.cancellations.get(&t.id) {
            return match c {
                Some(purchase_id) => Treatment::Cancellation {
                    purchase_id: *purchase_id,
                },
                None => Treatment::UnmatchedCancellation,
            };
        }
        if t.direction == Direction::Out
            && let Some(r) = self.refunded.get(&t.id)
        {
            let net = t.amount.checked_sub(*r).unwrap_or(Won::ZERO);
            return Treatment::Cancelled {
                refunded: *r,
                net: net.max(Won::ZERO),
            };
        }
        Treatment::Normal
    }

    /// The amount `t` adds to spending (outgoing, after cancellations), if any.
    pub fn spending(&self, t: &Txn) -> Option<Won> {
        if t.direction != Direction::Out {
            return None;
        }
        match self.treatment(t) {
            Treatment::Normal => Some(t.amount),
            Treatment::Cancelled { net, .. } => Some(net),
            _ => None,
        }
    }

    /// The amount `t` adds to income, if any.
    pub fn income(&self, t: &Txn) -> Option<Won> {
        if t.direction != Direction::In {
            return None;
        }
        match self.treatment(t) {
            Treatment::Normal => Some(t.amount),
            _ => None,
        }
    }
}
