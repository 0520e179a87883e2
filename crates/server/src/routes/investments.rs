//! The investment reads: accounts (summary), account detail, holdings, allocation, history, and
//! the original service's routes kept as documented aliases.

use std::collections::BTreeMap;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use ginkgo_domain::{ReturnRate, Valuation, Won};
use ginkgo_store::{AccountSummary, HistoryPoint, HoldingLine};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/accounts", get(list_accounts))
        .route("/api/v1/accounts/{id}", get(account_detail))
        .route("/api/v1/accounts/{id}/holdings", get(account_holdings))
        .route("/api/v1/accounts/{id}/allocation", get(account_allocation))
        .route("/api/v1/accounts/{id}/history", get(account_history))
        .route("/api/v1/allocation", get(total_allocation))
        .route("/api/v1/history", get(total_history))
        .route("/api/investments", get(legacy_investments))
        .route("/api/investments/holdings", get(legacy_holdings))
}

#[derive(Serialize, ToSchema)]
pub struct AccountView {
    #[schema(example = 17)]
    pub id: i64,
    #[schema(example = "계좌1")]
    pub account_name: String,
    #[schema(example = "디셈버증권")]
    pub broker: String,
    #[schema(example = "5736692368320")]
    pub account_number: String,
    /// Won, cash included.
    #[schema(example = 1_911_386)]
    pub total_assets: i64,
    /// The business date of the snapshot these figures come from.
    #[schema(example = "2026-11-20")]
    pub as_of: Option<NaiveDate>,
    /// Set when some of the day's provider rows for this account were rejected: the figures are
    /// incomplete. `null` when complete.
    pub partial: Option<PartialView>,
}

/// Incomplete figures: `rows` of the day's provider rows were rejected; values from an earlier
/// day (last known good, each marked with its date) stand in for them where one exists.
#[derive(Serialize, ToSchema)]
pub struct PartialView {
    #[schema(example = 1)]
    pub rows: u64,
    /// The oldest date of a value shown in place of a rejected row; `null` when none could be
    /// carried (the figures are then the sum of what loaded).
    #[schema(example = "2026-11-19")]
    pub since: Option<NaiveDate>,
}

impl From<ginkgo_store::Partial> for PartialView {
    fn from(p: ginkgo_store::Partial) -> Self {
        PartialView {
            rows: p.rows,
            since: p.since,
        }
    }
}

/// Why the principal (and so profit and return) is `null`.
pub const PRINCIPAL_UNKNOWN: &str = "principal_rejected_no_earlier_value";

#[derive(Serialize, ToSchema)]
pub struct AccountDetailView {
    #[serde(flatten)]
    pub account: AccountView,
    /// Won; `null` when unknown (see `principal_unknown_reason`).
    #[schema(example = 1_800_000)]
    pub principal: Option<i64>,
    /// The date of the principal shown when today's principal row was rejected (last known
    /// good); `null` when it is today's.
    #[schema(example = json!(null))]
    pub principal_since: Option<NaiveDate>,
    /// total_assets − principal, won; `null` when the principal is unknown.
    #[schema(example = 111_386)]
    pub total_profit: Option<i64>,
    /// profit / principal × 100, rounded once to 2 decimals; `null` when the principal is 0 or
    /// unknown.
    #[schema(example = 6.19, value_type = Option<f64>)]
    pub return_rate: Option<ReturnRate>,
    /// `principal_rejected_no_earlier_value` when the principal is unknown: the provider's
    /// principal row was rejected and there is no earlier value. `null` otherwise.
    #[schema(example = json!(null))]
    pub principal_unknown_reason: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct HoldingView {
    #[schema(example = "미국S&P500")]
    pub instrument_name: String,
    #[schema(example = "미국 주식")]
    pub asset_group: String,
    /// quantity × current price, won.
    #[schema(example = 180_285)]
    pub valuation: i64,
    #[schema(example = "KR7360750004")]
    pub isin: String,
    #[schema(example = 8585)]
    pub price: i64,
    #[schema(example = 21)]
    pub quantity: i64,
    /// The business date this line is from when the day's row for it was rejected (last known
    /// good); `null` when it is the day's.
    #[schema(example = json!(null))]
    pub stale_since: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct AllocationView {
    /// Sum of valuations, won.
    #[schema(example = 1_911_386)]
    pub total: i64,
    pub groups: Vec<AllocationGroup>,
    /// The oldest date of a holding line in the sum that is shown in place of a rejected row
    /// (last known good); `null` when every line is the day's.
    #[schema(example = json!(null))]
    pub stale_since: Option<NaiveDate>,
}

#[derive(Serialize, ToSchema)]
pub struct AllocationGroup {
    #[schema(example = "미국 주식")]
    pub asset_group: String,
    /// Won.
    #[schema(example = 484_355)]
    pub valuation: i64,
    /// Share of the total in hundredths of a percent (`2534` = 25.34 %); the shares of all groups
    /// add up to exactly 10,000 (largest remainder rounding).
    #[schema(example = 2534)]
    pub share_bp: i64,
}

#[derive(Serialize, ToSchema)]
pub struct HistoryView {
    /// The business date of the snapshot.
    #[schema(example = "2026-11-20")]
    pub date: NaiveDate,
    /// Won, cash included.
    #[schema(example = 1_911_386)]
    pub total_assets: i64,
    /// Won; `null` when the principal of an account in the sum was unknown that day.
    #[schema(example = 1_800_000)]
    pub principal: Option<i64>,
    /// Set when some of that day's provider rows were rejected.
    pub partial: Option<PartialView>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HoldingsQuery {
    /// Include holdings whose quantity is 0.
    #[serde(default)]
    pub include_zero: bool,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LegacyQuery {
    /// `true`: the summary shape (no principal, profit or return).
    #[serde(default)]
    pub is_simple: bool,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LegacyHoldingsQuery {
    /// Only this account's holdings (all of the customer's accounts when omitted).
    pub account_number: Option<String>,
}

/// Serves `key` from the read cache, or computes, serialises and caches it.
async fn cached<T: Serialize>(
    state: &AppState,
    key: String,
    compute: impl std::future::Future<Output = ApiResult<T>>,
) -> ApiResult<Response> {
    if let Some(body) = state.cache().get(&key) {
        return Ok(json_bytes(body));
    }
    let generation = state.cache().generation();
    let value = compute.await?;
    let body = bytes::Bytes::from(serde_json::to_vec(&value).map_err(|_| ApiError::internal())?);
    state.cache().put(key, body.clone(), generation);
    Ok(json_bytes(body))
}

fn json_bytes(body: bytes::Bytes) -> Response {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response()
}

fn view(a: &AccountSummary) -> AccountView {
    AccountView {
        id: a.id,
        account_name: a.account_name.clone(),
        broker: a.broker.clone(),
        account_number: a.account_number.clone(),
        total_assets: a.total_assets.get(),
        as_of: a.as_of,
        partial: a.partial.map(Into::into),
    }
}

fn detail(a: &AccountSummary) -> ApiResult<AccountDetailView> {
    let Some(principal) = a.principal else {
        return Ok(AccountDetailView {
            account: view(a),
            principal: None,
            principal_since: None,
            total_profit: None,
            return_rate: None,
            principal_unknown_reason: Some(PRINCIPAL_UNKNOWN.to_string()),
        });
    };
    let v = Valuation::from_total(a.total_assets, principal).map_err(|_| ApiError::internal())?;
    Ok(AccountDetailView {
        account: view(a),
        principal: Some(v.principal.get()),
        principal_since: a.principal_since,
        total_profit: Some(v.profit.get()),
        return_rate: v.return_rate,
        principal_unknown_reason: None,
    })
}

fn holding_view(h: HoldingLine) -> HoldingView {
    HoldingView {
        instrument_name: h.instrument_name,
        asset_group: h.asset_group,
        valuation: h.valuation.get(),
        isin: h.isin,
        price: h.price.get(),
        quantity: h.quantity,
        stale_since: h.stale_since,
    }
}

fn allocation(lines: impl IntoIterator<Item = HoldingLine>) -> ApiResult<AllocationView> {
    let mut groups: BTreeMap<String, Won> = BTreeMap::new();
    let mut total = Won::ZERO;
    let mut stale_since: Option<NaiveDate> = None;
    for l in lines {
        if let Some(d) = l.stale_since {
            stale_since = Some(stale_since.map_or(d, |s| s.min(d)));
        }
        let g = groups.entry(l.asset_group).or_insert(Won::ZERO);
        *g = g
            .checked_add(l.valuation)
            .map_err(|_| ApiError::internal())?;
        total = total
            .checked_add(l.valuation)
            .map_err(|_| ApiError::internal())?;
    }
    let shares = shares_bp(
        &groups.values().map(|v| v.get()).collect::<Vec<_>>(),
        total.get(),
    );
    let mut groups: Vec<AllocationGroup> = groups
        .into_iter()
        .zip(shares)
        .map(|((asset_group, v), share_bp)| AllocationGroup {
            asset_group,
            valuation: v.get(),
            share_bp,
        })
        .collect();
    groups.sort_by(|a, b| {
        b.valuation
            .cmp(&a.valuation)
            .then(a.asset_group.cmp(&b.asset_group))
    });
    Ok(AllocationView {
        total: total.get(),
        groups,
        stale_since,
    })
}

/// Shares of `total` in hundredths of a percent that add up to exactly 10,000 (largest
/// remainder: each share is rounded down, and the units left go to the largest remainders,
/// ties to the earlier group). All zero when the total is not positive.
fn shares_bp(values: &[i64], total: i64) -> Vec<i64> {
    if total <= 0 || values.iter().any(|v| *v < 0) {
        return vec![0; values.len()];
    }
    let total = i128::from(total);
    let exact: Vec<(i64, i128)> = values
        .iter()
        .map(|v| {
            let scaled = i128::from(*v) * 10_000;
            (i64::try_from(scaled / total).unwrap_or(0), scaled % total)
        })
        .collect();
    let mut shares: Vec<i64> = exact.iter().map(|(q, _)| *q).collect();
    let left = 10_000 - shares.iter().sum::<i64>();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| exact[*b].1.cmp(&exact[*a].1).then(a.cmp(b)));
    for i in order
        .into_iter()
        .take(usize::try_from(left.max(0)).unwrap_or(0))
    {
        shares[i] += 1;
    }
    shares
}

fn history_view(points: Vec<HistoryPoint>) -> Vec<HistoryView> {
    points
        .into_iter()
        .map(|p| HistoryView {
            date: p.date,
            total_assets: p.total_assets.get(),
            principal: p.principal.map(Won::get),
            partial: p.partial.map(Into::into),
        })
        .collect()
}

/// The logged-in customer's investment accounts (summary).
#[utoipa::path(get, path = "/api/v1/accounts", tag = "investments", security(("bearer" = [])),
    responses((status = 200, body = Vec<AccountView>), (status = 401, body = crate::error::ErrorBody)))]
pub async fn list_accounts(State(state): State<AppState>, user: AuthUser) -> ApiResult<Response> {
    let scope = user.scope();
    cached(&state, format!("{scope:?}|accounts"), async {
        let accounts = state.store().accounts(scope).await?;
        Ok(accounts.iter().map(view).collect::<Vec<_>>())
    })
    .await
}

/// One account with principal, profit and return.
#[utoipa::path(get, path = "/api/v1/accounts/{id}", tag = "investments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = AccountDetailView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn account_detail(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    let scope = user.scope();
    cached(&state, format!("{scope:?}|account|{id}"), async {
        let a = state.store().account(scope, id).await.map_err(not_found)?;
        detail(&a)
    })
    .await
}

fn not_found(e: ginkgo_store::StoreError) -> ApiError {
    match e {
        ginkgo_store::StoreError::NotFound => ApiError::not_found("no such account"),
        other => other.into(),
    }
}

/// The holdings of an account: instrument, asset group, valuation, ISIN.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/holdings", tag = "investments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id"), HoldingsQuery),
    responses((status = 200, body = Vec<HoldingView>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn account_holdings(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<HoldingsQuery>,
) -> ApiResult<Response> {
    let scope = user.scope();
    cached(
        &state,
        format!("{scope:?}|holdings|{id}|{}", q.include_zero),
        async {
            let lines = state
                .store()
                .holdings(scope, id, q.include_zero)
                .await
                .map_err(not_found)?;
            Ok(lines.into_iter().map(holding_view).collect::<Vec<_>>())
        },
    )
    .await
}

/// An account's valuation by asset group.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/allocation", tag = "investments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id")),
    responses((status = 200, body = AllocationView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn account_allocation(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<AllocationView>> {
    let lines = state
        .store()
        .holdings(user.scope(), id, false)
        .await
        .map_err(not_found)?;
    Ok(Json(allocation(lines)?))
}

/// Valuation by asset group across all of the customer's accounts.
#[utoipa::path(get, path = "/api/v1/allocation", tag = "investments", security(("bearer" = [])),
    responses((status = 200, body = AllocationView)))]
pub async fn total_allocation(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<AllocationView>> {
    let mut all = Vec::new();
    for a in state.store().accounts(user.scope()).await? {
        all.extend(state.store().holdings(user.scope(), a.id, false).await?);
    }
    Ok(Json(allocation(all)?))
}

/// An account's total assets per business date, from the daily loads.
#[utoipa::path(get, path = "/api/v1/accounts/{id}/history", tag = "investments", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Account id"), HistoryQuery),
    responses((status = 200, body = Vec<HistoryView>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn account_history(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Vec<HistoryView>>> {
    let points = state
        .store()
        .history(user.scope(), Some(id), q.from, q.to)
        .await
        .map_err(not_found)?;
    Ok(Json(history_view(points)))
}

/// Total assets of all the customer's accounts per business date.
#[utoipa::path(get, path = "/api/v1/history", tag = "investments", security(("bearer" = [])),
    params(HistoryQuery), responses((status = 200, body = Vec<HistoryView>)))]
pub async fn total_history(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<HistoryQuery>,
) -> ApiResult<Json<Vec<HistoryView>>> {
    let points = state
        .store()
        .history(user.scope(), None, q.from, q.to)
        .await?;
    Ok(Json(history_view(points)))
}

/// The body of `GET /api/investments`: `AccountDetailView[]`, or `AccountView[]` with
/// `is_simple=true`.
pub struct LegacyInvestments;

impl utoipa::PartialSchema for LegacyInvestments {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::Ref;
        use utoipa::openapi::schema::{AnyOfBuilder, ArrayBuilder};
        AnyOfBuilder::new()
            .item(ArrayBuilder::new().items(Ref::from_schema_name("AccountDetailView")))
            .item(ArrayBuilder::new().items(Ref::from_schema_name("AccountView")))
            .into()
    }
}

impl ToSchema for LegacyInvestments {
    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        use utoipa::PartialSchema;
        schemas.push(("AccountDetailView".into(), AccountDetailView::schema()));
        schemas.push(("AccountView".into(), AccountView::schema()));
    }
}

/// Original route (alias): every account with principal, profit and return; with
/// `is_simple=true`, the summary (name, broker, number, total assets) only.
#[utoipa::path(get, path = "/api/investments", tag = "original", security(("bearer" = [])),
    params(LegacyQuery),
    responses((status = 200, description = "`is_simple=true`: `AccountView[]`; otherwise `AccountDetailView[]`",
        body = inline(LegacyInvestments))))]
pub async fn legacy_investments(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<LegacyQuery>,
) -> ApiResult<Json<serde_json::Value>> {
    let accounts = state.store().accounts(user.scope()).await?;
    let value = if q.is_simple {
        serde_json::to_value(accounts.iter().map(view).collect::<Vec<_>>())
    } else {
        serde_json::to_value(accounts.iter().map(detail).collect::<ApiResult<Vec<_>>>()?)
    };
    value.map(Json).map_err(|_| ApiError::internal())
}

#[derive(Serialize, ToSchema)]
pub struct LegacyHolding {
    #[schema(example = "5736692368320")]
    pub account_number: String,
    #[serde(flatten)]
    pub holding: HoldingView,
}

/// Original route (alias): holdings of all the customer's accounts (or of one, by number).
#[utoipa::path(get, path = "/api/investments/holdings", tag = "original", security(("bearer" = [])),
    params(LegacyHoldingsQuery),
    responses((status = 200, body = Vec<LegacyHolding>), (status = 404, body = crate::error::ErrorBody)))]
pub async fn legacy_holdings(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<LegacyHoldingsQuery>,
) -> ApiResult<Json<Vec<LegacyHolding>>> {
    let accounts = state.store().accounts(user.scope()).await?;
    let wanted: Vec<&AccountSummary> = match &q.account_number {
        Some(n) => {
            let found: Vec<_> = accounts
                .iter()
                .filter(|a| a.account_number == n.trim())
                .collect();
            if found.is_empty() {
                return Err(ApiError::not_found("no such account"));
            }
            found
        }
        None => accounts.iter().collect(),
    };
    let mut out = Vec::new();
    for a in wanted {
        for h in state.store().holdings(user.scope(), a.id, false).await? {
            out.push(LegacyHolding {
                account_number: a.account_number.clone(),
                holding: holding_view(h),
            });
        }
    }
    Ok(Json(out))
}

#[cfg(test)]
mod tests {
    use super::shares_bp;

    #[test]
    fn shares_add_up_to_exactly_one_hundred_percent() {
        assert_eq!(shares_bp(&[1, 1, 1], 3), vec![3334, 3333, 3333]);
        assert_eq!(shares_bp(&[2, 1], 3), vec![6667, 3333]);
        assert_eq!(shares_bp(&[5, 0, 5], 10), vec![5000, 0, 5000]);
        assert_eq!(shares_bp(&[0, 0], 0), vec![0, 0]);
        for values in [vec![1_929_245, 17_859, 3, 999_999_999], vec![7; 13]] {
            let total = values.iter().sum();
            let shares = shares_bp(&values, total);
            assert_eq!(
                shares.iter().sum::<i64>(),
                10_000,
                "{values:?} → {shares:?}"
            );
        }
    }
}
