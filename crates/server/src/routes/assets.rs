//! Total assets over time: the investment accounts (from the daily snapshots) and the linked
//! bank accounts (from their transactions), day by day.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::NaiveDate;
use ginkgo_domain::Won;
use ginkgo_domain::time::today_kst;
use ginkgo_insight::charts::daily_balances;
use ginkgo_store::Role;
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::routes::insight::{RangeQuery, range, txns};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/assets/history", get(history))
}

#[derive(Serialize, ToSchema)]
pub struct AssetDayView {
    #[schema(example = "2026-11-20")]
    pub date: NaiveDate,
    /// Won: the investment accounts' total assets from the latest snapshot on or before this
    /// day (today: the live figure, deposits included); `null` before the first snapshot.
    #[schema(example = 1_911_386)]
    pub investments: Option<i64>,
    /// Won: the bank accounts' end-of-day balance; `null` before the first transaction.
    #[schema(example = 2_480_000)]
    pub bank: Option<i64>,
    /// Won: investments + bank.
    #[schema(example = 4_391_386)]
    pub total: i64,
    /// Set when the investments figure of the day is incomplete (some provider rows were
    /// rejected; earlier values stand in where they exist).
    pub partial: Option<crate::routes::investments::PartialView>,
}

/// The partial markers of several accounts as one: rows added, the oldest date.
fn merge(
    a: Option<ginkgo_store::Partial>,
    b: Option<ginkgo_store::Partial>,
) -> Option<ginkgo_store::Partial> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(a), Some(b)) => Some(ginkgo_store::Partial {
            rows: a.rows.saturating_add(b.rows),
            since: match (a.since, b.since) {
                (Some(x), Some(y)) => Some(x.min(y)),
                (x, y) => x.or(y),
            },
        }),
    }
}

fn overflow() -> ApiError {
    tracing::error!("total assets overflow");
    ApiError::internal()
}

fn sum(values: impl IntoIterator<Item = Won>) -> ApiResult<Won> {
    values
        .into_iter()
        .try_fold(Won::ZERO, |a, b| a.checked_add(b))
        .map_err(|_| overflow())
}

/// Total assets per day — investment accounts and bank accounts — for the summary chart. The
/// last day, when it is today, carries the live figures, so it equals the summary's grand total.
#[utoipa::path(get, path = "/api/v1/assets/history", tag = "investments", security(("bearer" = [])),
    params(RangeQuery), responses((status = 200, body = Vec<AssetDayView>)))]
pub async fn history(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Vec<AssetDayView>>> {
    let r = range(&q)?;
    let store = state.store();
    // Every snapshot up to the end of the range: earlier ones carry into its first days.
    let snapshots = store
        .history(user.scope(), None, None, Some(r.to()))
        .await?;
    let (bank_days, live_bank) = if user.role == Role::Customer {
        let rows = txns(&state, &user, None, Some(r.to())).await?;
        let days = daily_balances(&rows, r).map_err(|_| overflow())?;
        let accounts = store.bank_accounts(user.user_id).await?;
        let balances: Vec<Won> = accounts.iter().filter_map(|a| a.balance).collect();
        let live = if balances.is_empty() {
            None
        } else {
            Some(sum(balances)?)
        };
        (Some(days), live)
    } else {
        (None, None)
    };
    let today = today_kst();
    let (live_investments, live_partial) = if r.to() >= today {
        let accounts = store.accounts(user.scope()).await?;
        if accounts.is_empty() {
            (None, None)
        } else {
            (
                Some(sum(accounts.iter().map(|a| a.total_assets))?),
                accounts.iter().fold(None, |acc, a| merge(acc, a.partial)),
            )
        }
    } else {
        (None, None)
    };

    let mut out = Vec::new();
    let mut next = 0usize;
    let mut investments: Option<Won> = None;
    let mut investments_partial: Option<ginkgo_store::Partial> = None;
    let mut day = r.from();
    let mut i = 0usize;
    loop {
        while let Some(p) = snapshots.get(next) {
            if p.date > day {
                break;
            }
            investments = Some(p.total_assets);
            investments_partial = p.partial;
            next += 1;
        }
        let mut inv = investments;
        let mut partial = investments_partial;
        let mut bank = bank_days
            .as_ref()
            .and_then(|d| d.get(i))
            .and_then(|d| d.balance);
        if day == today {
            if live_investments.is_some() {
                partial = live_partial;
            }
            inv = live_investments.or(inv);
            bank = live_bank.or(bank);
        }
        let total = sum(inv.into_iter().chain(bank))?;
        out.push(AssetDayView {
            date: day,
            investments: inv.map(Won::get),
            bank: bank.map(Won::get),
            total: total.get(),
            partial: partial.map(Into::into),
        });
        match day.succ_opt() {
            Some(d) if d <= r.to() => day = d,
            _ => break,
        }
        i += 1;
    }
    Ok(Json(out))
}
