//! Spending insight (categories, weekly and monthly series, recurring payments) and the
//! customer's own category rules.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use chrono::{Duration, NaiveDate};
use ginkgo_domain::time::today_kst;
use ginkgo_insight::categorize::preview;
use ginkgo_insight::category::Category;
use ginkgo_insight::charts::{
    DateRange, PeriodKind, SoFar, monthly_totals_with, so_far, spending_by_category_with, upcoming,
    weekly_series_with,
};
use ginkgo_insight::normalize::normalize;
use ginkgo_insight::recurring::RecurringConfig;
use ginkgo_insight::recurring::{Period, RecurringSeries, fixed_monthly};
use ginkgo_insight::txn::Direction;
use ginkgo_insight::txn::Txn;
use ginkgo_store::RuleRow;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::bank::{self, to_txn};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::insight::{self as ctx, Loaded};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/insight/categories", get(categories))
        .route("/api/v1/insight/spending", get(spending))
        .route("/api/v1/insight/weekly", get(weekly))
        .route("/api/v1/insight/monthly", get(monthly))
        .route("/api/v1/insight/recurring", get(recurring))
        .route("/api/v1/insight/upcoming", get(upcoming_payments))
        .route("/api/v1/insight/so-far", get(so_far_view))
        .route("/api/v1/insight/fixed-costs", get(fixed_costs))
        .route("/api/v1/insight/recurring/dismiss", post(dismiss_series))
        .route("/api/v1/insight/recurring/restore", post(restore_series))
        .route("/api/v1/insight/recurring/add", post(add_series))
        .route("/api/v1/rules/suggest", get(suggest_rule))
        .route("/api/v1/rules", get(list_rules).post(create_rule))
        .route("/api/v1/rules/{id}", put(update_rule).delete(delete_rule))
        .route("/api/v1/rules/reorder", post(reorder_rules))
        .route("/api/v1/rules/preview", post(preview_rule))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RangeQuery {
    /// Default: 90 days before `to`.
    pub from: Option<NaiveDate>,
    /// Default: today (Asia/Seoul).
    pub to: Option<NaiveDate>,
}

pub(crate) fn range(q: &RangeQuery) -> ApiResult<DateRange> {
    let to = q.to.unwrap_or_else(today_kst);
    let from = q.from.unwrap_or(to - Duration::days(90));
    if (to - from).num_days() > 366 * 5 {
        return Err(ApiError::validation(
            "the range may span at most five years",
        ));
    }
    DateRange::new(from, to).map_err(|e| ApiError::validation(e.to_string()))
}

pub(crate) async fn txns(
    state: &AppState,
    user: &AuthUser,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
) -> ApiResult<Vec<Txn>> {
    let rows = state
        .store()
        .all_bank_transactions(user.user_id, from, to)
        .await?;
    Ok(rows.iter().map(to_txn).collect())
}

/// The detector's settings, with the configured threshold (`insight.recurring_max_std_days`).
pub(crate) fn recurring_config(state: &AppState) -> RecurringConfig {
    RecurringConfig {
        max_std_days: state.config().insight.recurring_max_std_days,
        ..RecurringConfig::default()
    }
}

fn money_error(e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "insight arithmetic");
    ApiError::internal()
}

#[derive(Serialize, ToSchema)]
pub struct CategoryView {
    #[schema(example = "cafe")]
    pub code: &'static str,
    #[schema(example = "카페")]
    pub ko: &'static str,
    #[schema(example = "Café")]
    pub en: &'static str,
}

/// Every category with its Korean and English label.
#[utoipa::path(get, path = "/api/v1/insight/categories", tag = "insight",
    responses((status = 200, body = Vec<CategoryView>)))]
pub async fn categories() -> Json<Vec<CategoryView>> {
    Json(
        Category::ALL
            .iter()
            .map(|c| CategoryView {
                code: c.code(),
                ko: c.label_ko(),
                en: c.label_en(),
            })
            .collect(),
    )
}

#[derive(Serialize, ToSchema)]
pub struct SpendingView {
    #[schema(example = "cafe")]
    pub category: &'static str,
    #[schema(example = 86_400)]
    pub amount: i64,
    #[schema(example = 17)]
    pub count: usize,
}

/// Outgoing money per category in a date range, largest first: own transfers (between linked
/// accounts, to a Ginkgo deposit, or naming the customer) left out, card cancellations netted
/// against their purchase's category.
#[utoipa::path(get, path = "/api/v1/insight/spending", tag = "insight", security(("bearer" = [])),
    params(RangeQuery), responses((status = 200, body = Vec<SpendingView>)))]
pub async fn spending(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Vec<SpendingView>>> {
    let r = range(&q)?;
    let l = ctx::load(&state, &user, Some(r.from()), Some(r.to())).await?;
    let totals = spending_by_category_with(&l.txns, r, &l.adj).map_err(money_error)?;
    Ok(Json(
        totals
            .into_iter()
            .map(|c| SpendingView {
                category: c.category.code(),
                amount: c.total.get(),
                count: c.count,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct WeekView {
    #[schema(example = "2026-11-16")]
    pub week_start: NaiveDate,
    #[schema(example = "2026-11-22")]
    pub week_end: NaiveDate,
    /// End-of-week balance over all accounts; `null` before the first transaction.
    #[schema(example = 2_480_000)]
    pub balance: Option<i64>,
    #[schema(example = 312_500)]
    pub spending: i64,
    #[schema(example = 0)]
    pub income: i64,
    /// The week is not complete (it ends after today or after the range): figures "so far".
    #[schema(example = false)]
    pub partial: bool,
}

/// The last day a period's figures can cover: the range's end or today, whichever is first.
fn covered_through(r: DateRange) -> NaiveDate {
    r.to().min(today_kst())
}

/// Weekly (Monday–Sunday) balance against spending and income (own transfers left out,
/// cancellations netted); a week not yet complete is marked `partial`.
#[utoipa::path(get, path = "/api/v1/insight/weekly", tag = "insight", security(("bearer" = [])),
    params(RangeQuery), responses((status = 200, body = Vec<WeekView>)))]
pub async fn weekly(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Vec<WeekView>>> {
    let r = range(&q)?;
    // Earlier rows set the opening balance.
    let l = ctx::load(&state, &user, None, Some(r.to())).await?;
    let weeks = weekly_series_with(&l.txns, r, &l.adj).map_err(money_error)?;
    let through = covered_through(r);
    Ok(Json(
        weeks
            .into_iter()
            .map(|w| WeekView {
                week_start: w.week_start,
                week_end: w.week_end,
                balance: w.balance.map(|b| b.get()),
                spending: w.spending.get(),
                income: w.income.get(),
                partial: w.week_end > through,
            })
            .collect(),
    ))
}

#[derive(Serialize, ToSchema)]
pub struct MonthView {
    #[schema(example = "2026-11")]
    pub month: String,
    #[schema(example = 3_200_000)]
    pub income: i64,
    #[schema(example = 2_410_700)]
    pub spending: i64,
    #[schema(example = 789_300)]
    pub net: i64,
    /// The month is not complete (it ends after today or after the range): figures "so far",
    /// through `through`.
    #[schema(example = false)]
    pub partial: bool,
    #[schema(example = "2026-11-30")]
    pub through: NaiveDate,
}

/// Income, spending and net per calendar month (own transfers left out, cancellations netted);
/// a month not yet complete is marked `partial`.
#[utoipa::path(get, path = "/api/v1/insight/monthly", tag = "insight", security(("bearer" = [])),
    params(RangeQuery), responses((status = 200, body = Vec<MonthView>)))]
pub async fn monthly(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Json<Vec<MonthView>>> {
    let r = range(&q)?;
    let l = ctx::load(&state, &user, Some(r.from()), Some(r.to())).await?;
    let months = monthly_totals_with(&l.txns, r, &l.adj).map_err(money_error)?;
    let through = covered_through(r);
    Ok(Json(
        months
            .into_iter()
            .map(|m| {
                let end = month_end(m.year, m.month).unwrap_or(through);
                MonthView {
                    month: format!("{:04}-{:02}", m.year, m.month),
                    income: m.income.get(),
                    spending: m.spending.get(),
                    net: m.net.get(),
                    partial: end > through,
                    through: end.min(through),
                }
            })
            .collect(),
    ))
}

fn month_end(year: i32, month: u32) -> Option<NaiveDate> {
    let (y, m) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    NaiveDate::from_ymd_opt(y, m, 1)?.pred_opt()
}

#[derive(Serialize, ToSchema)]
pub struct RecurringView {
    /// The series' key (its normalised memo): with `direction`, what dismiss/restore name.
    #[schema(example = "(주)한빛소프트급여")]
    pub key: String,
    /// `detected`, or `added` by the customer.
    #[schema(example = "detected")]
    pub source: &'static str,
    /// The typical amount per average month (for the fixed-cost total).
    #[schema(example = 3_200_000)]
    pub monthly_amount: i64,
    #[schema(example = "(주)한빛소프트 급여")]
    pub memo: String,
    /// `in` or `out`.
    #[schema(example = "in")]
    pub direction: &'static str,
    /// `weekly`, `biweekly`, `monthly`, `bimonthly`, `quarterly`, `semiannual`, `yearly`, or
    /// `every_{n}_days` / `every_{n}_weeks` / `every_{n}_months`.
    #[schema(example = "monthly")]
    pub period: String,
    /// `days`, `weeks` or `months`: the period is every `period_count` of these.
    #[schema(example = "months")]
    pub period_unit: &'static str,
    #[schema(example = 1)]
    pub period_count: u32,
    #[schema(example = 3_200_000)]
    pub typical_amount: i64,
    #[schema(example = 3_200_000)]
    pub min_amount: i64,
    #[schema(example = 3_200_000)]
    pub max_amount: i64,
    #[schema(example = "2026-11-25")]
    pub last_date: NaiveDate,
    #[schema(example = "2026-12-24")]
    pub next_date: NaiveDate,
    /// `active` or `stopped`.
    #[schema(example = "active")]
    pub status: String,
    #[schema(example = 12)]
    pub occurrences: usize,
}

fn lower_json<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_lowercase))
        .unwrap_or_default()
}

fn recurring_view(s: &RecurringSeries, added: bool) -> RecurringView {
    RecurringView {
        key: s.key.clone(),
        source: if added { "added" } else { "detected" },
        monthly_amount: s.monthly_equivalent().map_or(0, |w| w.get()),
        memo: s.memo.clone(),
        direction: s.direction.code(),
        period: s.period.code(),
        period_unit: s.period.unit_and_count().0,
        period_count: s.period.unit_and_count().1,
        typical_amount: s.typical_amount.get(),
        min_amount: s.min_amount.get(),
        max_amount: s.max_amount.get(),
        last_date: s.last_date,
        next_date: s.next_expected,
        status: lower_json(&s.status),
        occurrences: s.occurrences,
    }
}

/// The customer's series after their overrides (dismissed ones left out, added ones in).
async fn series_of(state: &AppState, user: &AuthUser) -> ApiResult<Vec<(RecurringSeries, bool)>> {
    let l: Loaded = ctx::load(state, user, None, None).await?;
    Ok(ctx::series_with_overrides(
        &l,
        &recurring_config(state),
        today_kst(),
    ))
}

/// Recurring payments and income found in the customer's history (every cycle: every N days,
/// weeks or months), less the ones the customer dismissed, plus the ones they added.
#[utoipa::path(get, path = "/api/v1/insight/recurring", tag = "insight", security(("bearer" = [])),
    responses((status = 200, body = Vec<RecurringView>)))]
pub async fn recurring(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<RecurringView>>> {
    let series = series_of(&state, &user).await?;
    Ok(Json(
        series
            .iter()
            .map(|(s, added)| recurring_view(s, *added))
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UpcomingQuery {
    /// Days ahead (default 30, at most 366).
    #[param(maximum = 366)]
    pub days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct UpcomingView {
    #[schema(example = "SKT 통신요금")]
    pub memo: String,
    #[schema(example = "2026-12-20")]
    pub date: NaiveDate,
    #[schema(example = 59_000)]
    pub amount: i64,
    #[schema(example = "out")]
    pub direction: &'static str,
}

/// Expected recurring payments and income in the next days.
#[utoipa::path(get, path = "/api/v1/insight/upcoming", tag = "insight", security(("bearer" = [])),
    params(UpcomingQuery), responses((status = 200, body = Vec<UpcomingView>)))]
pub async fn upcoming_payments(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<UpcomingQuery>,
) -> ApiResult<Json<Vec<UpcomingView>>> {
    let days = q.days.unwrap_or(30);
    if days > 366 {
        return Err(ApiError::validation("days must be at most 366"));
    }
    let today = today_kst();
    let series: Vec<RecurringSeries> = series_of(&state, &user)
        .await?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    Ok(Json(
        upcoming(&series, today, days)
            .into_iter()
            .map(|u| UpcomingView {
                memo: u.memo,
                date: u.date,
                amount: u.amount.get(),
                direction: u.direction.code(),
            })
            .collect(),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleRequest {
    /// `contains` or `equals` (compared after normalising spaces, case and full-width characters).
    #[schema(example = "contains")]
    pub kind: String,
    /// At most 100 characters, not only spaces.
    #[schema(example = "스타벅스", min_length = 1, max_length = 100)]
    pub pattern: String,
    #[schema(example = "cafe")]
    pub category: String,
}

#[derive(Serialize, ToSchema)]
pub struct RuleView {
    #[schema(example = 12)]
    pub id: i64,
    #[schema(example = "equals")]
    pub kind: String,
    #[schema(example = "스타벅스 강남R점")]
    pub pattern: String,
    #[schema(example = "cafe")]
    pub category: String,
    /// Lower positions are tried first.
    #[schema(example = 0)]
    pub position: i32,
}

impl From<RuleRow> for RuleView {
    fn from(r: RuleRow) -> Self {
        RuleView {
            id: r.id,
            kind: r.kind,
            pattern: r.pattern,
            category: r.category,
            position: r.position,
        }
    }
}

fn validate_rule(r: &RuleRequest) -> ApiResult<()> {
    if r.kind != "contains" && r.kind != "equals" {
        return Err(ApiError::validation("kind must be 'contains' or 'equals'"));
    }
    if normalize(&r.pattern).is_empty() {
        return Err(ApiError::validation(
            "pattern must contain more than spaces",
        ));
    }
    if r.pattern.chars().count() > 100 {
        return Err(ApiError::validation(
            "pattern must be at most 100 characters",
        ));
    }
    Category::from_code(&r.category)
        .ok_or_else(|| ApiError::validation(format!("unknown category '{}'", r.category)))?;
    Ok(())
}

#[derive(Serialize, ToSchema)]
pub struct RuleChange {
    pub rule: RuleView,
    /// Transactions re-filed at once.
    #[schema(example = 14)]
    pub changed: u64,
}

/// The customer's rules, in the order they are tried.
#[utoipa::path(get, path = "/api/v1/rules", tag = "rules", security(("bearer" = [])),
    responses((status = 200, body = Vec<RuleView>)))]
pub async fn list_rules(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<RuleView>>> {
    Ok(Json(
        state
            .store()
            .rules(user.user_id)
            .await?
            .into_iter()
            .map(RuleView::from)
            .collect(),
    ))
}

/// Add a rule, tried first; a rule of the same kind whose pattern is the same once normalised is
/// updated and moved first instead. Past transactions are re-filed at once.
#[utoipa::path(post, path = "/api/v1/rules", tag = "rules", security(("bearer" = [])), request_body = RuleRequest,
    responses((status = 201, body = RuleChange), (status = 422, body = crate::error::ErrorBody)))]
pub async fn create_rule(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<RuleRequest>,
) -> ApiResult<(StatusCode, Json<RuleChange>)> {
    validate_rule(&req)?;
    let rule =
        bank::save_rule(&state, user.user_id, &req.kind, &req.pattern, &req.category).await?;
    let changed = bank::recompute(
        &state,
        user.user_id,
        std::slice::from_ref(&req.pattern),
        &[rule.id],
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(RuleChange {
            rule: rule.into(),
            changed,
        }),
    ))
}

/// Change a rule; what it used to match and what it matches now are re-filed.
#[utoipa::path(put, path = "/api/v1/rules/{id}", tag = "rules", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Rule id")), request_body = RuleRequest,
    responses((status = 200, body = RuleChange), (status = 404, body = crate::error::ErrorBody)))]
pub async fn update_rule(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RuleRequest>,
) -> ApiResult<Json<RuleChange>> {
    validate_rule(&req)?;
    let old = state
        .store()
        .rules(user.user_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("no such rule"))?;
    let rule = state
        .store()
        .update_rule(
            user.user_id,
            id,
            &req.kind,
            req.pattern.trim(),
            &req.category,
        )
        .await?;
    state.categorizers().invalidate(user.user_id);
    let changed = bank::recompute(&state, user.user_id, &[old.pattern, req.pattern], &[id]).await?;
    Ok(Json(RuleChange {
        rule: rule.into(),
        changed,
    }))
}

/// Delete a rule; the transactions it filed fall back to the other rules and the dictionary.
#[utoipa::path(delete, path = "/api/v1/rules/{id}", tag = "rules", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Rule id")),
    responses((status = 204, description = "Deleted"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn delete_rule(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    let old = state
        .store()
        .rules(user.user_id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::not_found("no such rule"))?;
    state.store().delete_rule(user.user_id, id).await?;
    state.categorizers().invalidate(user.user_id);
    bank::recompute(&state, user.user_id, &[old.pattern], &[id]).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderRequest {
    /// Every rule id, in the new order.
    #[schema(example = json!([12, 9, 4]))]
    pub ids: Vec<i64>,
}

/// Put the rules in a new order (first match wins).
#[utoipa::path(post, path = "/api/v1/rules/reorder", tag = "rules", security(("bearer" = [])), request_body = ReorderRequest,
    responses((status = 200, body = Vec<RuleView>),
              (status = 404, description = "An id that is not one of the caller's rules", body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn reorder_rules(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<ReorderRequest>,
) -> ApiResult<Json<Vec<RuleView>>> {
    // An id that is not one of the caller's rules names nothing they can see: 404, like every
    // other route given someone else's id. (A list that misses or repeats one is a 422.)
    let own = state.store().rules(user.user_id).await?;
    if let Some(stranger) = req.ids.iter().find(|id| !own.iter().any(|r| r.id == **id)) {
        return Err(ApiError::not_found(format!("no such rule: {stranger}")));
    }
    let rules = state.store().reorder_rules(user.user_id, req.ids).await?;
    state.categorizers().invalidate(user.user_id);
    let patterns: Vec<String> = rules.iter().map(|r| r.pattern.clone()).collect();
    let ids: Vec<i64> = rules.iter().map(|r| r.id).collect();
    bank::recompute(&state, user.user_id, &patterns, &ids).await?;
    Ok(Json(rules.into_iter().map(RuleView::from).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct PreviewView {
    /// How many transactions the rule would re-file.
    #[schema(example = 14)]
    pub changes: usize,
    pub sample: Vec<PreviewItem>,
}

#[derive(Serialize, ToSchema)]
pub struct PreviewItem {
    #[schema(example = 1024)]
    pub id: i64,
    #[schema(example = "스타벅스 강남R점")]
    pub memo: String,
    #[schema(example = "2026-11-19")]
    pub date: NaiveDate,
    #[schema(example = "food")]
    pub from: Option<&'static str>,
    #[schema(example = "cafe")]
    pub to: &'static str,
}

/// What saving a rule (`POST /api/v1/rules` with the same body) would change, without changing
/// anything: the same count that saving answers as `changed`.
#[utoipa::path(post, path = "/api/v1/rules/preview", tag = "rules", security(("bearer" = [])), request_body = RuleRequest,
    responses((status = 200, body = PreviewView), (status = 422, body = crate::error::ErrorBody)))]
pub async fn preview_rule(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<RuleRequest>,
) -> ApiResult<Json<PreviewView>> {
    validate_rule(&req)?;
    // Exactly what saving would do: the rule (or the one it would update) first, the others
    // after it in their order, over every transaction the pattern can touch.
    let current = state.store().rules(user.user_id).await?;
    let existing = bank::same_rule(&current, &req.kind, &req.pattern).map(|r| r.id);
    let rules = bank::rules_after_save(&current, &req.kind, &req.pattern, &req.category);
    let cat = bank::categorizer(&rules)?;
    let touched = state
        .store()
        .bank_transactions_touched(
            user.user_id,
            vec![normalize(&req.pattern)],
            existing.into_iter().collect(),
        )
        .await?;
    let txns: Vec<Txn> = touched.iter().map(to_txn).collect();
    let p = preview(&txns, &cat);
    let by_id: std::collections::HashMap<i64, &Txn> = txns.iter().map(|t| (t.id, t)).collect();
    let sample = p
        .changes
        .iter()
        .take(20)
        .filter_map(|c| {
            by_id.get(&c.id).map(|t| PreviewItem {
                id: c.id,
                memo: t.memo.clone(),
                date: t.date,
                from: c.from.map(|f| f.code()),
                to: c.to.code(),
            })
        })
        .collect();
    Ok(Json(PreviewView {
        changes: p.count,
        sample,
    }))
}

#[derive(Serialize, ToSchema)]
pub struct SoFarView {
    /// `month` or `week`.
    #[schema(example = "month")]
    pub period: &'static str,
    #[schema(example = "2026-12-01")]
    pub from: NaiveDate,
    /// Today: the figures cover `from..=to`.
    #[schema(example = "2026-12-04")]
    pub to: NaiveDate,
    #[schema(example = "2026-12-31")]
    pub period_end: NaiveDate,
    /// `false` while the period is running ("so far").
    #[schema(example = false)]
    pub complete: bool,
    #[schema(example = 766_280)]
    pub spending: i64,
    #[schema(example = 0)]
    pub income: i64,
    /// The same days of the previous period.
    #[schema(example = "2026-11-01")]
    pub previous_from: NaiveDate,
    #[schema(example = "2026-11-04")]
    pub previous_to: NaiveDate,
    #[schema(example = 512_000)]
    pub previous_spending: i64,
    #[schema(example = 0)]
    pub previous_income: i64,
}

#[derive(Serialize, ToSchema)]
pub struct SoFarPair {
    pub month: SoFarView,
    pub week: SoFarView,
}

fn so_far_json(s: SoFar) -> SoFarView {
    SoFarView {
        period: match s.kind {
            PeriodKind::Month => "month",
            PeriodKind::Week => "week",
        },
        from: s.from,
        to: s.to,
        period_end: s.period_end,
        complete: s.complete,
        spending: s.spending.get(),
        income: s.income.get(),
        previous_from: s.previous_from,
        previous_to: s.previous_to,
        previous_spending: s.previous_spending.get(),
        previous_income: s.previous_income.get(),
    }
}

/// The current month and week so far (through today), each against the same days of the
/// previous month / week, under the same rules as every other figure.
#[utoipa::path(get, path = "/api/v1/insight/so-far", tag = "insight", security(("bearer" = [])),
    responses((status = 200, body = SoFarPair)))]
pub async fn so_far_view(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<SoFarPair>> {
    let today = today_kst();
    let from = today - Duration::days(40);
    let l = ctx::load(&state, &user, Some(from), Some(today)).await?;
    let month = so_far(&l.txns, &l.adj, today, PeriodKind::Month).map_err(money_error)?;
    let week = so_far(&l.txns, &l.adj, today, PeriodKind::Week).map_err(money_error)?;
    Ok(Json(SoFarPair {
        month: so_far_json(month),
        week: so_far_json(week),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct FixedCostsView {
    /// Fixed income per average month (active incoming series).
    #[schema(example = 3_200_000)]
    pub income: i64,
    /// Fixed outgoings per average month (active outgoing series).
    #[schema(example = 1_128_400)]
    pub outgoings: i64,
    #[schema(example = 1)]
    pub income_series: usize,
    #[schema(example = 9)]
    pub outgoing_series: usize,
}

/// The monthly fixed-cost total: every active series (after the customer's dismissals and
/// additions) as its amount per average month (a bimonthly 60,000 is 30,000), per direction.
#[utoipa::path(get, path = "/api/v1/insight/fixed-costs", tag = "insight", security(("bearer" = [])),
    responses((status = 200, body = FixedCostsView)))]
pub async fn fixed_costs(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<FixedCostsView>> {
    let series: Vec<RecurringSeries> = series_of(&state, &user)
        .await?
        .into_iter()
        .map(|(s, _)| s)
        .collect();
    let f = fixed_monthly(&series).ok_or_else(|| money_error("fixed-cost overflow"))?;
    Ok(Json(FixedCostsView {
        income: f.income.get(),
        outgoings: f.outgoings.get(),
        income_series: f.income_series,
        outgoing_series: f.outgoing_series,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SeriesRef {
    /// `in` or `out`.
    #[schema(example = "out")]
    pub direction: String,
    /// The series' `key` from `/api/v1/insight/recurring`.
    #[schema(example = "멜론")]
    pub key: String,
}

fn series_ref(r: &SeriesRef) -> ApiResult<String> {
    let d = Direction::from_code(&r.direction)
        .ok_or_else(|| ApiError::validation("direction must be 'in' or 'out'"))?;
    if r.key.is_empty() || r.key.chars().count() > 200 {
        return Err(ApiError::validation("key must be 1 to 200 characters"));
    }
    Ok(ctx::series_subject(d, &r.key))
}

/// Dismiss a series: it is no longer listed, predicted or counted in fixed costs, whatever
/// later syncs bring (until restored).
#[utoipa::path(post, path = "/api/v1/insight/recurring/dismiss", tag = "insight", security(("bearer" = [])),
    request_body = SeriesRef,
    responses((status = 204, description = "Dismissed"), (status = 422, body = crate::error::ErrorBody)))]
pub async fn dismiss_series(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<SeriesRef>,
) -> ApiResult<StatusCode> {
    let subject = series_ref(&req)?;
    state
        .store()
        .put_insight_override(user.user_id, ctx::SERIES_DISMISS, &subject, "")
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Undo a dismissal or a series added by hand.
#[utoipa::path(post, path = "/api/v1/insight/recurring/restore", tag = "insight", security(("bearer" = [])),
    request_body = SeriesRef,
    responses((status = 204, description = "Restored"), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn restore_series(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<SeriesRef>,
) -> ApiResult<StatusCode> {
    let subject = series_ref(&req)?;
    let store = state.store();
    let a = store
        .delete_insight_override(user.user_id, ctx::SERIES_DISMISS, &subject)
        .await?;
    let b = store
        .delete_insight_override(user.user_id, ctx::SERIES_ADD, &subject)
        .await?;
    if a || b {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("no such dismissed or added series"))
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddSeriesRequest {
    /// A transaction of the series: every transaction with the same memo key and direction
    /// belongs to it.
    #[schema(example = 1024)]
    pub transaction_id: i64,
    /// `weekly`, `biweekly`, `monthly`, `bimonthly`, `quarterly`, `semiannual`, `yearly` or
    /// `every_{n}_days` (1–400) / `every_{n}_weeks` (1–52) / `every_{n}_months` (1–24).
    #[schema(example = "bimonthly")]
    pub period: String,
}

/// Add a series the detector missed, from one of its transactions; it survives later syncs.
#[utoipa::path(post, path = "/api/v1/insight/recurring/add", tag = "insight", security(("bearer" = [])),
    request_body = AddSeriesRequest,
    responses((status = 201, body = RecurringView), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn add_series(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(req): ApiJson<AddSeriesRequest>,
) -> ApiResult<(StatusCode, Json<RecurringView>)> {
    let period = Period::from_code(&req.period)
        .ok_or_else(|| ApiError::validation(format!("unknown period '{}'", req.period)))?;
    let txn = state
        .store()
        .bank_transaction(user.user_id, req.transaction_id)
        .await
        .map_err(|e| match e {
            ginkgo_store::StoreError::NotFound => ApiError::not_found("no such transaction"),
            other => other.into(),
        })?;
    let t = to_txn(&txn);
    let norm = normalize(&t.memo);
    let key = ginkgo_insight::normalize::group_key(&norm).to_string();
    let subject = ctx::series_subject(t.direction, &key);
    let store = state.store();
    store
        .delete_insight_override(user.user_id, ctx::SERIES_DISMISS, &subject)
        .await?;
    store
        .put_insight_override(user.user_id, ctx::SERIES_ADD, &subject, &period.code())
        .await?;
    let series = series_of(&state, &user).await?;
    let (s, added) = series
        .iter()
        .find(|(s, _)| s.direction == t.direction && s.key == key)
        .ok_or_else(ApiError::internal)?;
    Ok((StatusCode::CREATED, Json(recurring_view(s, *added))))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SuggestQuery {
    pub transaction_id: i64,
    /// The category the customer wants (for the preview counts); default: the transaction's.
    pub category: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RuleOption {
    /// `contains` ("this merchant") or `equals` ("exactly this memo").
    #[schema(example = "contains")]
    pub kind: &'static str,
    /// Proposed by Ginkgo; the customer may edit it before saving.
    #[schema(example = "이디야커피")]
    pub pattern: String,
    /// How many past transactions saving it would move (as `POST /api/v1/rules/preview`).
    #[schema(example = 14)]
    pub changes: usize,
}

#[derive(Serialize, ToSchema)]
pub struct RuleSuggestion {
    #[schema(example = "이디야커피 역삼점")]
    pub memo: String,
    /// "This merchant": a contains-rule on the memo's stable stem.
    pub merchant: RuleOption,
    /// "Exactly this memo".
    pub exact: RuleOption,
}

async fn preview_count(
    state: &AppState,
    user: &AuthUser,
    kind: &str,
    pattern: &str,
    category: &str,
) -> ApiResult<usize> {
    let current = state.store().rules(user.user_id).await?;
    let existing = bank::same_rule(&current, kind, pattern).map(|r| r.id);
    let rules = bank::rules_after_save(&current, kind, pattern, category);
    let cat = bank::categorizer(&rules)?;
    let touched = state
        .store()
        .bank_transactions_touched(
            user.user_id,
            vec![normalize(pattern)],
            existing.into_iter().collect(),
        )
        .await?;
    let txns: Vec<Txn> = touched.iter().map(to_txn).collect();
    Ok(preview(&txns, &cat).count)
}

/// The two ways to re-file a transaction's memo, with how many past transactions each moves:
/// "this merchant" (a contains-rule on the memo's merchant stem: `이디야커피 역삼점` →
/// `이디야커피`, which also catches `이디야커피 강남점`) and "exactly this memo".
#[utoipa::path(get, path = "/api/v1/rules/suggest", tag = "rules", security(("bearer" = [])),
    params(SuggestQuery),
    responses((status = 200, body = RuleSuggestion), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn suggest_rule(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<SuggestQuery>,
) -> ApiResult<Json<RuleSuggestion>> {
    if let Some(c) = &q.category {
        Category::from_code(c)
            .ok_or_else(|| ApiError::validation(format!("unknown category '{c}'")))?;
    }
    let txn = state
        .store()
        .bank_transaction(user.user_id, q.transaction_id)
        .await
        .map_err(|e| match e {
            ginkgo_store::StoreError::NotFound => ApiError::not_found("no such transaction"),
            other => other.into(),
        })?;
    let stem: String = ginkgo_insight::merchant_stem(&txn.memo)
        .chars()
        .take(100)
        .collect();
    let exact: String = txn.memo.trim().chars().take(100).collect();
    let category = q.category.unwrap_or_else(|| txn.category.clone());
    let merchant_changes = preview_count(&state, &user, "contains", &stem, &category).await?;
    let exact_changes = preview_count(&state, &user, "equals", &exact, &category).await?;
    Ok(Json(RuleSuggestion {
        memo: txn.memo,
        merchant: RuleOption {
            kind: "contains",
            pattern: stem,
            changes: merchant_changes,
        },
        exact: RuleOption {
            kind: "equals",
            pattern: exact,
            changes: exact_changes,
        },
    }))
}
