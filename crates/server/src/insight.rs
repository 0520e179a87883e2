//! What the insight routes need besides the transactions: the matching context (the customer's
//! own names, confirmed Ginkgo deposits, un-paired transfers), the customer's series overrides,
//! and the one-off NFKC re-file migration 0007 asks for.

use std::collections::HashSet;

use chrono::{Duration, NaiveDate};
use ginkgo_domain::time::to_kst;
use ginkgo_insight::matching::{Adjustments, DepositRef, MatchContext};
use ginkgo_insight::normalize::normalize;
use ginkgo_insight::recurring::{
    Period, RecurringConfig, RecurringSeries, detect_recurring_except, manual_series,
};
use ginkgo_insight::txn::{Direction, Txn};
use ginkgo_store::{CategoryChange, DepositStatus, InsightOverride, UserId};

use crate::auth::AuthUser;
use crate::bank::{categorizer_of, source_parts, to_txn};
use crate::error::ApiError;
use crate::state::AppState;

pub const UNPAIR: &str = "unpair";
pub const SERIES_DISMISS: &str = "series_dismiss";
pub const SERIES_ADD: &str = "series_add";
pub const OWN_NAME: &str = "own_name";
pub const NFKC_REFILE: &str = "nfkc_refile";

/// Own transfers cross a range's edges by a few days (a Friday-night transfer arrives on
/// Monday), and a cancellation comes up to 90 days after its purchase: the figures of a range
/// are decided over the range widened by these margins, and only the range's dates count.
const BEFORE: i64 = 7;
const AFTER: i64 = 91;

/// One customer's transactions around a range, with their treatment.
pub struct Loaded {
    pub txns: Vec<Txn>,
    pub adj: Adjustments,
    pub overrides: Vec<InsightOverride>,
}

/// The subject of a series override: `direction:key`.
pub fn series_subject(direction: Direction, key: &str) -> String {
    format!("{}:{key}", direction.code())
}

/// Remembers the account holder's name the bank gave when linking (personal data: never
/// logged), so that a transfer naming the customer is recognised as their own.
pub async fn remember_own_name(
    state: &AppState,
    user_id: UserId,
    name: &str,
) -> Result<(), ApiError> {
    let name = name.trim();
    if name.chars().count() < 2 || name.chars().count() > 40 {
        return Ok(());
    }
    state
        .store()
        .put_insight_override(user_id, OWN_NAME, name, "")
        .await?;
    Ok(())
}

/// Loads the customer's transactions over `from..=to` widened by the matching margins (`None`:
/// unbounded) and decides their treatment.
pub async fn load(
    state: &AppState,
    user: &AuthUser,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> Result<Loaded, ApiError> {
    let store = state.store();
    let lo = from.and_then(|f| f.checked_sub_signed(Duration::days(BEFORE)));
    let hi = to.and_then(|t| t.checked_add_signed(Duration::days(AFTER)));
    let rows = store.all_bank_transactions(user.user_id, lo, hi).await?;
    let txns: Vec<Txn> = rows.iter().map(to_txn).collect();
    let overrides = store.insight_overrides(user.user_id).await?;
    let ctx = context(state, user, &overrides).await?;
    let adj = Adjustments::analyse(&txns, &ctx);
    Ok(Loaded {
        txns,
        adj,
        overrides,
    })
}

async fn context(
    state: &AppState,
    user: &AuthUser,
    overrides: &[InsightOverride],
) -> Result<MatchContext, ApiError> {
    let mut own_names: Vec<String> = overrides
        .iter()
        .filter(|o| o.kind == OWN_NAME)
        .map(|o| o.subject.clone())
        .collect();
    if let Some(u) = state.store().user_by_id(user.user_id).await?
        && let Some(name) = u.customer_name
    {
        own_names.push(name);
    }
    let unpaired: HashSet<i64> = overrides
        .iter()
        .filter(|o| o.kind == UNPAIR)
        .filter_map(|o| o.subject.parse().ok())
        .collect();
    // Deposits only for a login that may see some (a customer's own; an operator's are all
    // customers' and say nothing about this login's bank).
    let deposits = match user.scope() {
        ginkgo_store::Scope::Customer(_) => state
            .store()
            .deposits(user.scope(), 500)
            .await?
            .into_iter()
            .filter(|d| d.status == DepositStatus::Confirmed)
            .filter_map(|d| Some((to_kst(d.confirmed_at?).date_naive(), d.amount)))
            .enumerate()
            .map(|(i, (date, amount))| DepositRef {
                id: i as i64,
                date,
                amount,
            })
            .collect(),
        ginkgo_store::Scope::Operator => Vec::new(),
    };
    Ok(MatchContext {
        own_names,
        deposits,
        unpaired,
        cancel_window_days: 0,
    })
}

/// The customer's recurring series after their overrides: detected ones not dismissed, plus the
/// ones they added (each marked `true`). Own transfers are left out of the detection: moving
/// money between one's own accounts is no fixed cost.
pub fn series_with_overrides(
    loaded: &Loaded,
    config: &RecurringConfig,
    as_of: NaiveDate,
) -> Vec<(RecurringSeries, bool)> {
    let txns = &loaded.txns[..];
    let overrides = &loaded.overrides[..];
    let dismissed: HashSet<&str> = overrides
        .iter()
        .filter(|o| o.kind == SERIES_DISMISS)
        .map(|o| o.subject.as_str())
        .collect();
    let mut out: Vec<(RecurringSeries, bool)> = Vec::new();
    let mut added_subjects: HashSet<String> = HashSet::new();
    for o in overrides.iter().filter(|o| o.kind == SERIES_ADD) {
        let Some((dir, key)) = o.subject.split_once(':') else {
            continue;
        };
        let (Some(direction), Some(period)) =
            (Direction::from_code(dir), Period::from_code(&o.data))
        else {
            continue;
        };
        if dismissed.contains(o.subject.as_str()) {
            continue;
        }
        if let Some(s) = manual_series(txns, key, direction, period, config, as_of) {
            added_subjects.insert(o.subject.clone());
            out.push((s, true));
        }
    }
    let own = &loaded.adj.transfers;
    for s in detect_recurring_except(txns, config, as_of, |t| own.contains_key(&t.id)) {
        let subject = series_subject(s.direction, &s.key);
        if dismissed.contains(subject.as_str()) || added_subjects.contains(&subject) {
            continue;
        }
        out.push((s, false));
    }
    out.sort_by(|(a, _), (b, _)| {
        (a.direction, a.next_expected, &a.key).cmp(&(b.direction, b.next_expected, &b.key))
    });
    out
}

/// One login's share of the NFKC re-file (see [`run_pending_tasks`]): answers how many rows
/// changed category.
pub async fn refile_nfkc(state: &AppState, user_id: UserId) -> Result<u64, ApiError> {
    let store = state.store();
    let rows = store.all_bank_transactions(user_id, None, None).await?;
    let changed: Vec<(i64, String, &ginkgo_store::BankTxn)> = rows
        .iter()
        .filter_map(|r| {
            let n = normalize(&r.memo);
            (n != r.memo_norm).then_some((r.id, n, r))
        })
        .collect();
    if changed.is_empty() {
        return Ok(0);
    }
    store
        .set_memo_norms(
            user_id,
            changed.iter().map(|(id, n, _)| (*id, n.clone())).collect(),
        )
        .await?;
    let cat = categorizer_of(state, user_id).await?;
    let changes: Vec<CategoryChange> = changed
        .iter()
        .filter(|(_, _, r)| !r.manual)
        .filter_map(|(id, norm, r)| {
            let dir = if r.direction == "in" {
                Direction::In
            } else {
                Direction::Out
            };
            let c = cat.categorize(norm, dir);
            let (source, rule_id) = source_parts(&c.source);
            let code = c.category.code();
            (code != r.category || source != r.category_source || rule_id != r.rule_id).then(|| {
                CategoryChange {
                    txn_id: *id,
                    category: code.to_string(),
                    source: source.to_string(),
                    rule_id,
                }
            })
        })
        .collect();
    Ok(store.apply_category_changes(user_id, changes).await?)
}

/// Migration 0007's one-off task: memos are now normalised with NFKC. Recomputes every stored
/// `memo_norm` and re-files (with each login's rules) the rows whose normalised memo changed and
/// whose category changes with it; rows filed by hand keep their category. Safe to run twice
/// (a second run finds nothing to change); the task is marked done only when every login is done.
/// Answers how many rows were re-filed.
pub async fn run_pending_tasks(state: &AppState) -> Result<u64, ApiError> {
    let store = state.store();
    if !store.pending_task(NFKC_REFILE).await? {
        return Ok(0);
    }
    let mut refiled = 0u64;
    for user in store.list_users().await? {
        refiled += refile_nfkc(state, user.id).await?;
    }
    store.finish_pending_task(NFKC_REFILE).await?;
    tracing::info!(refiled, "NFKC re-file done");
    Ok(refiled)
}
