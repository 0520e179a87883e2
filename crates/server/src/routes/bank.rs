//! Linking a bank through Open Banking, syncing, and reading bank accounts and transactions.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{delete, get, post, put};
use chrono::{DateTime, NaiveDate, Utc};
use ginkgo_insight::category::Category;
use ginkgo_store::{BankAccount, BankTxn, SyncRecord, TxnFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::AuthUser;
use crate::bank::{self, SyncOutcome};
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/bank/link", get(link).delete(unlink))
        .route("/api/v1/bank/callback", get(callback))
        .route("/api/v1/bank/sync", post(sync))
        .route("/api/v1/bank/syncs", get(syncs))
        .route("/api/v1/bank/syncs/{id}", get(sync_record))
        .route("/api/v1/bank/accounts", get(accounts))
        .route("/api/v1/bank/accounts/{id}", delete(unlink_account))
        .route("/api/v1/bank/accounts/{id}/transactions", get(transactions))
        .route("/api/v1/bank/transactions/{id}/category", put(refile))
}

#[derive(Serialize, ToSchema)]
pub struct LinkStart {
    /// Where to send the browser: the bank's consent page.
    #[schema(
        example = "http://127.0.0.1:9090/oauth/2.0/authorize?response_type=code&client_id=…&state=…"
    )]
    pub authorize_url: String,
}

/// Start linking: a fresh `state` bound to this login, and by an HttpOnly cookie to this browser.
/// Browsers get a 303 to the bank's consent page; `Accept: application/json` gets the URL.
#[utoipa::path(get, path = "/api/v1/bank/link", tag = "bank", security(("bearer" = [])),
    responses((status = 303, description = "Redirect to the consent page"), (status = 200, body = LinkStart),
              (status = 503, body = crate::error::ErrorBody)))]
pub async fn link(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let started = bank::start_link(&state, user.user_id).await?;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let mut response = if wants_json {
        Json(LinkStart {
            authorize_url: started.authorize_url,
        })
        .into_response()
    } else {
        Redirect::to(&started.authorize_url).into_response()
    };
    // Lax, not Strict: the bank's redirect back is a cross-site top-level navigation.
    let secure = if state.config().auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!(
        "{}={}; Path=/api/v1/bank/callback; HttpOnly; SameSite=Lax; Max-Age=600{secure}",
        bank::LINK_COOKIE,
        started.binding
    );
    if let Ok(v) = header::HeaderValue::from_str(&cookie) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(response)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    pub code: Option<String>,
    pub state: Option<String>,
    pub scope: Option<String>,
    pub client_info: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
}

/// The bank's redirect back. Authenticated by the single-use `state` and by the HttpOnly
/// `ginkgo_bank_link` cookie that starting the link gave this browser (not by the session, which
/// a cross-site redirect does not carry). Ends on the web app's bank page.
#[utoipa::path(get, path = "/api/v1/bank/callback", tag = "bank", params(CallbackQuery),
    responses((status = 303, description = "To `/bank?linked=1` or `/bank?error=<code>`")))]
pub async fn callback(
    State(state): State<AppState>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<CallbackQuery>,
) -> Response {
    let binding = crate::auth::cookie(&headers, bank::LINK_COOKIE);
    let result = match (&q.error, &q.state, &q.code) {
        (Some(_), _, _) => Err("consent_refused".to_string()),
        (None, Some(s), Some(c)) => bank::finish_link(&state, s, c, binding)
            .await
            .map_err(|e| e.code.to_string()),
        _ => Err("invalid_callback".to_string()),
    };
    match result {
        Ok(_) => Redirect::to("/bank?linked=1").into_response(),
        Err(code) => {
            tracing::warn!(code, "bank link callback refused");
            Redirect::to(&format!("/bank?error={code}")).into_response()
        }
    }
}

/// Forget the bank link and its tokens.
#[utoipa::path(delete, path = "/api/v1/bank/link", tag = "bank", security(("bearer" = [])),
    responses((status = 204, description = "Unlinked"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn unlink(State(state): State<AppState>, user: AuthUser) -> ApiResult<StatusCode> {
    state
        .store()
        .delete_bank_link(user.user_id)
        .await
        .map_err(|e| match e {
            ginkgo_store::StoreError::NotFound => ApiError::not_found("no bank is linked"),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub struct SyncAccepted {
    /// The sync's record: poll `GET /api/v1/bank/syncs/{id}` until its status is no longer
    /// `running`.
    #[schema(example = 41)]
    pub sync_id: i64,
    /// `running`.
    #[schema(example = "running")]
    pub status: String,
}

/// Sync balances and transactions now. The sync runs on its own, whatever happens to this
/// request: the answer is its outcome when it ends within `bank.sync_wait_seconds`, otherwise
/// `202` with the record to poll.
#[utoipa::path(post, path = "/api/v1/bank/sync", tag = "bank", security(("bearer" = [])),
    responses((status = 200, description = "The sync ended", body = SyncOutcome),
              (status = 202, description = "Still running: poll the record", body = SyncAccepted),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "Re-link needed, unlinked meanwhile, or a sync is running", body = crate::error::ErrorBody),
              (status = 502, body = crate::error::ErrorBody)))]
pub async fn sync(State(state): State<AppState>, user: AuthUser) -> ApiResult<Response> {
    let started = bank::start_sync(&state, user.user_id).await?;
    let wait = std::time::Duration::from_secs(state.config().bank.sync_wait_seconds);
    let mut done = started.done;
    match tokio::time::timeout(wait, &mut done).await {
        Ok(Ok(result)) => Ok(Json(result?).into_response()),
        Ok(Err(e)) => {
            tracing::error!(error = %e, "bank sync task failed");
            Err(ApiError::internal())
        }
        // Dropping the handle leaves the sync running.
        Err(_) => {
            let id = started.record.id;
            let mut response = (
                StatusCode::ACCEPTED,
                Json(SyncAccepted {
                    sync_id: id,
                    status: "running".into(),
                }),
            )
                .into_response();
            if let Ok(v) = header::HeaderValue::from_str(&format!("/api/v1/bank/syncs/{id}")) {
                response.headers_mut().insert(header::LOCATION, v);
            }
            Ok(response)
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SyncView {
    #[schema(example = 41)]
    pub id: i64,
    #[schema(example = "2026-11-20T00:05:00Z")]
    pub started_at: DateTime<Utc>,
    /// `null` while running.
    #[schema(example = "2026-11-20T00:05:03Z")]
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, `ok`, `warning`, `partial`, `failed`, `relink_needed`, `unlinked` or
    /// `interrupted`.
    #[schema(example = "ok")]
    pub status: String,
    #[schema(example = 3)]
    pub accounts: u32,
    #[schema(example = 57)]
    pub added: u64,
    #[schema(example = json!(null))]
    pub error: Option<String>,
    /// Warning codes (see `SyncOutcome.warnings`).
    #[schema(example = json!(["paging_empty_key"]))]
    pub warnings: Vec<String>,
}

impl From<SyncRecord> for SyncView {
    fn from(s: SyncRecord) -> Self {
        SyncView {
            id: s.id,
            started_at: s.started_at,
            finished_at: s.finished_at,
            status: s.status,
            accounts: s.accounts,
            added: s.added,
            error: s.error,
            warnings: s.warnings,
        }
    }
}

/// One sync (poll a running one here).
#[utoipa::path(get, path = "/api/v1/bank/syncs/{id}", tag = "bank", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Sync id")),
    responses((status = 200, body = SyncView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn sync_record(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<SyncView>> {
    let record = state
        .store()
        .sync_record(user.user_id, id)
        .await
        .map_err(|e| match e {
            ginkgo_store::StoreError::NotFound => ApiError::not_found("no such sync"),
            other => other.into(),
        })?;
    Ok(Json(record.into()))
}

/// Recent syncs and their outcomes.
#[utoipa::path(get, path = "/api/v1/bank/syncs", tag = "bank", security(("bearer" = [])),
    responses((status = 200, body = Vec<SyncView>)))]
pub async fn syncs(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<SyncView>>> {
    let list = state.store().syncs(user.user_id, 50).await?;
    Ok(Json(list.into_iter().map(SyncView::from).collect()))
}

#[derive(Serialize, ToSchema)]
pub struct BankAccountView {
    #[schema(example = 7)]
    pub id: i64,
    #[schema(example = "오픈은행")]
    pub bank_name: String,
    #[schema(example = "생활비통장")]
    pub account_alias: String,
    #[schema(example = "1234567***")]
    pub account_num_masked: String,
    /// Won; `null` before the first sync.
    #[schema(example = 2_480_000)]
    pub balance: Option<i64>,
    #[schema(example = 2_480_000)]
    pub available: Option<i64>,
    /// The last successful sync of the account.
    #[schema(example = "2026-11-20T00:05:03Z")]
    pub last_synced_at: Option<DateTime<Utc>>,
    /// The last sync attempt (successful or not).
    #[schema(example = "2026-11-20T00:05:03Z")]
    pub sync_attempted_at: Option<DateTime<Utc>>,
    /// `never`, `ok`, `pending`, `disconnected` (the bank no longer reports the account: its
    /// history stays, it is not synced until linked again), `maintenance`, or an error code.
    #[schema(example = "ok")]
    pub sync_status: String,
    /// `active` or `relink_needed`.
    #[schema(example = "active")]
    pub link_status: String,
    /// What to show, every case told apart: `syncing` (a sync of the link is running), `synced`
    /// (see `last_synced_at`), `failed` (see `failure` and `sync_attempted_at`),
    /// `relink_needed` (the link must be renewed: reconnect), `maintenance` (the bank was
    /// under maintenance: skipped), `disconnected`, or `pending` (never synced yet).
    #[schema(example = "synced")]
    pub status: String,
    /// The error code of a failed last sync.
    #[schema(example = json!(null))]
    pub failure: Option<String>,
    /// What the last sync warned about (a code of `SyncOutcome.warnings`).
    #[schema(example = json!(null))]
    pub sync_warning: Option<String>,
    /// Dates of the last balance answer; `null` when the bank gave none.
    #[schema(example = json!(null))]
    pub account_issue_date: Option<NaiveDate>,
    #[schema(example = json!(null))]
    pub maturity_date: Option<NaiveDate>,
    #[schema(example = json!(null))]
    pub last_tran_date: Option<NaiveDate>,
}

/// The one status an account shows (see [`BankAccountView::status`]).
fn account_status(
    a: &BankAccount,
    link_status: &str,
    syncing: bool,
) -> (&'static str, Option<String>) {
    if link_status == "relink_needed" {
        return ("relink_needed", None);
    }
    if syncing {
        return ("syncing", None);
    }
    match a.sync_status.as_str() {
        "ok" => ("synced", None),
        "never" | "pending" => ("pending", None),
        "disconnected" => ("disconnected", None),
        "maintenance" => ("maintenance", None),
        "relink_needed" => ("relink_needed", None),
        other => ("failed", Some(other.to_string())),
    }
}

fn account_view(a: BankAccount, link_status: &str, syncing: bool) -> BankAccountView {
    let (status, failure) = account_status(&a, link_status, syncing);
    BankAccountView {
        id: a.id,
        bank_name: a.bank_name,
        account_alias: a.account_alias,
        account_num_masked: a.account_num_masked,
        balance: a.balance.map(|b| b.get()),
        available: a.available.map(|b| b.get()),
        last_synced_at: a.last_synced_at,
        sync_attempted_at: a.sync_attempted_at,
        sync_status: a.sync_status,
        link_status: link_status.to_string(),
        status: status.to_string(),
        failure,
        sync_warning: a.sync_warning,
        account_issue_date: a.dates.account_issue_date,
        maturity_date: a.dates.maturity_date,
        last_tran_date: a.dates.last_tran_date,
    }
}

/// The login's linked bank accounts.
#[utoipa::path(get, path = "/api/v1/bank/accounts", tag = "bank", security(("bearer" = [])),
    responses((status = 200, body = Vec<BankAccountView>)))]
pub async fn accounts(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<BankAccountView>>> {
    let link = state.store().bank_link(user.user_id).await?;
    let status = link.map(|l| l.status).unwrap_or_else(|| "unlinked".into());
    let list = state.store().bank_accounts(user.user_id).await?;
    let syncing = state
        .store()
        .syncs(user.user_id, 1)
        .await?
        .first()
        .is_some_and(|s| s.status == "running");
    Ok(Json(
        list.into_iter()
            .map(|a| account_view(a, &status, syncing))
            .collect(),
    ))
}

/// Unlink one account: it disappears from the list and is no longer synced. Its stored
/// transactions and the login's category rules are kept (hidden with it); linking the bank
/// again and choosing the account brings it back with its history.
#[utoipa::path(delete, path = "/api/v1/bank/accounts/{id}", tag = "bank", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Bank account id")),
    responses((status = 204, description = "Unlinked"), (status = 404, body = crate::error::ErrorBody)))]
pub async fn unlink_account(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<StatusCode> {
    state
        .store()
        .unlink_bank_account(user.user_id, id)
        .await
        .map_err(|e| match e {
            ginkgo_store::StoreError::NotFound => ApiError::not_found("no such bank account"),
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TxnQuery {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    /// A category code (see `/api/v1/insight/categories`).
    pub category: Option<String>,
    /// 1-based.
    #[param(minimum = 1)]
    pub page: Option<u32>,
    /// At most 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub per_page: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct TxnView {
    #[schema(example = 1024)]
    pub id: i64,
    #[schema(example = "2026-11-19")]
    pub date: NaiveDate,
    /// `HHMMSS`.
    #[schema(example = "123015")]
    pub time: String,
    /// `in` or `out`.
    #[schema(example = "out")]
    pub direction: String,
    #[schema(example = 5_700)]
    pub amount: i64,
    #[schema(example = 2_480_000)]
    pub balance_after: i64,
    #[schema(example = "스타벅스 강남R점")]
    pub memo: String,
    #[schema(example = "체크카드")]
    pub tran_type: String,
    #[schema(example = "cafe")]
    pub category: String,
    /// `rule`, `dictionary`, `manual` or `default`.
    #[schema(example = "dictionary")]
    pub category_source: String,
    /// The rule that set the category, when one did.
    #[schema(example = json!(null))]
    pub rule_id: Option<i64>,
    /// Dated outside the period the sync that stored it asked for (the testbed echoes canned
    /// rows whatever the period): shown, but flagged.
    #[schema(example = false)]
    pub out_of_period: bool,
}

#[derive(Serialize, ToSchema)]
pub struct TxnPageView {
    pub items: Vec<TxnView>,
    #[schema(example = 356)]
    pub total: u64,
    #[schema(example = 1)]
    pub page: u32,
    #[schema(example = 50)]
    pub per_page: u32,
}

pub fn txn_view(t: BankTxn) -> TxnView {
    TxnView {
        id: t.id,
        date: t.date,
        time: t.time,
        direction: t.direction,
        amount: t.amount.get(),
        balance_after: t.balance_after.get(),
        memo: t.memo,
        tran_type: t.tran_type,
        category: t.category,
        category_source: t.category_source,
        rule_id: t.rule_id,
        out_of_period: t.out_of_period,
    }
}

fn check_category(code: &str) -> ApiResult<()> {
    Category::from_code(code)
        .map(|_| ())
        .ok_or_else(|| ApiError::validation(format!("unknown category '{code}'")))
}

/// Transactions of one account, newest first, with date and category filters and paging.
#[utoipa::path(get, path = "/api/v1/bank/accounts/{id}/transactions", tag = "bank", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Bank account id"), TxnQuery),
    responses((status = 200, body = TxnPageView), (status = 404, body = crate::error::ErrorBody)))]
pub async fn transactions(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<TxnQuery>,
) -> ApiResult<Json<TxnPageView>> {
    if let Some(c) = &q.category {
        check_category(c)?;
    }
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f > t
    {
        return Err(ApiError::validation("from must not be after to"));
    }
    let filter = TxnFilter {
        from: q.from,
        to: q.to,
        category: q.category,
        page: q.page.unwrap_or(1),
        per_page: q.per_page.unwrap_or(50),
    };
    let page = state
        .store()
        .bank_transactions(user.user_id, id, filter)
        .await
        .map_err(|e| match e {
            ginkgo_store::StoreError::NotFound => ApiError::not_found("no such bank account"),
            other => other.into(),
        })?;
    Ok(Json(TxnPageView {
        items: page.items.into_iter().map(txn_view).collect(),
        total: page.total,
        page: page.page,
        per_page: page.per_page,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefileRequest {
    #[schema(example = "cafe")]
    pub category: String,
    /// `memo` (default): a rule "memo equals this memo → category" for this and every other
    /// transaction with the memo, past and future; `this`: only this transaction, by hand.
    #[schema(example = "memo")]
    pub apply_to: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct RefileResponse {
    pub transaction: TxnView,
    /// The rule created or updated (for `apply_to = memo`).
    #[schema(example = 12)]
    pub rule_id: Option<i64>,
    /// How many transactions changed category.
    #[schema(example = 14)]
    pub changed: u64,
}

/// File a transaction under another category.
#[utoipa::path(put, path = "/api/v1/bank/transactions/{id}/category", tag = "bank", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Transaction id")), request_body = RefileRequest,
    responses((status = 200, body = RefileResponse), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn refile(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
    ApiJson(req): ApiJson<RefileRequest>,
) -> ApiResult<Json<RefileResponse>> {
    check_category(&req.category)?;
    let store = state.store();
    let txn = store
        .bank_transaction(user.user_id, id)
        .await
        .map_err(|e| match e {
            ginkgo_store::StoreError::NotFound => ApiError::not_found("no such transaction"),
            other => other.into(),
        })?;
    match req.apply_to.as_deref().unwrap_or("memo") {
        "this" => {
            let t = store
                .set_manual_category(user.user_id, id, &req.category)
                .await?;
            Ok(Json(RefileResponse {
                transaction: txn_view(t),
                rule_id: None,
                changed: 1,
            }))
        }
        "memo" => {
            if txn.memo_norm.is_empty() {
                return Err(ApiError::validation(
                    "this transaction has no memo to make a rule of; use apply_to = this",
                ));
            }
            // The same limit as a rule made by hand: a pathological memo from a bank must not
            // become a pattern that every later match has to carry.
            if txn.memo.trim().chars().count() > 100 {
                return Err(ApiError::validation(
                    "this memo is too long to make a rule of (at most 100 characters); use apply_to = this",
                ));
            }
            let rule = bank::save_rule(
                &state,
                user.user_id,
                "equals",
                txn.memo.trim(),
                &req.category,
            )
            .await?;
            let changed = bank::recompute(
                &state,
                user.user_id,
                std::slice::from_ref(&txn.memo),
                &[rule.id],
            )
            .await?;
            let t = store.bank_transaction(user.user_id, id).await?;
            Ok(Json(RefileResponse {
                transaction: txn_view(t),
                rule_id: Some(rule.id),
                changed,
            }))
        }
        other => Err(ApiError::validation(format!(
            "apply_to must be 'memo' or 'this' (got '{other}')"
        ))),
    }
}
