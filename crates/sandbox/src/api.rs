//! The `/v2.0` inquiry APIs, the fault layer and the admin endpoints.

// Handlers return early with a finished `Response`; boxing it would only add noise.
#![allow(clippy::result_large_err)]

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use ginkgo_domain::Won;
use ginkgo_openbanking::model::{parse_wire_amount, parse_wire_date, parse_wire_time};
use ginkgo_openbanking::wire::{
    AccountListRequest, AccountListResponse, BalanceRequest, BalanceResponse, BankBlock, Envelope,
    GatewayError, RegisteredAccount, TransactionListRequest, TransactionListResponse,
    TransactionRow, UserMeRequest, UserMeResponse, WithdrawRequest, WithdrawResponse,
};
use ginkgo_openbanking::{BankTranId, Direction};
use serde::{Deserialize, Serialize};

use crate::config::Faults;
use crate::generator::{GeneratedRow, TestAccount};
use crate::jwt::{self, Claims, ISSUER};
use crate::{AccountViews, Inner, ListQueryLog, SandboxError};

type Shared = Arc<Inner>;

/// Rows per page, fixed by the center.
pub const PAGE_SIZE: usize = 25;

pub(crate) fn routes() -> Router<Shared> {
    Router::new()
        .route("/v2.0/user/me", get(user_me).fallback(method_not_allowed))
        .route(
            "/v2.0/account/list",
            get(account_list).fallback(method_not_allowed),
        )
        .route(
            "/v2.0/account/balance/fin_num",
            get(balance).fallback(method_not_allowed),
        )
        .route(
            "/v2.0/account/transaction_list/fin_num",
            get(transaction_list).fallback(method_not_allowed),
        )
        .route(
            "/v2.0/transfer/withdraw/fin_num",
            post(withdraw).fallback(method_not_allowed),
        )
        .route(
            "/v2.0/bank/status",
            get(bank_status).fallback(method_not_allowed),
        )
}

pub(crate) fn admin_routes() -> Router<Shared> {
    Router::new()
        .route("/_sandbox/faults", get(get_faults).post(set_faults))
        .route("/_sandbox/revoke", post(revoke))
        .route("/_sandbox/accounts/{fin}/rows", post(append))
        .route("/_sandbox/profile", get(get_profile).post(set_profile))
        .route("/_sandbox/health", get(|| async { "ok" }))
}

#[derive(Serialize, Deserialize)]
struct ProfileBody {
    profile: crate::config::Profile,
    #[serde(default)]
    testbed_paging: crate::config::TestbedPaging,
}

async fn get_profile(State(inner): State<Shared>) -> Response {
    let m = inner.lock();
    Json(ProfileBody {
        profile: m.profile,
        testbed_paging: m.testbed_paging,
    })
    .into_response()
}

async fn set_profile(State(inner): State<Shared>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<ProfileBody>(&body) {
        Ok(b) => {
            let mut m = inner.lock();
            m.profile = b.profile;
            m.testbed_paging = b.testbed_paging;
            Json(b).into_response()
        }
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("expected {{\"profile\": \"realistic\"|\"testbed\", \"testbed_paging\": \"empty_key\"|\"constant_key\"}}: {e}"),
        )
            .into_response(),
    }
}

// ---------------------------------------------------------------------------------------------
// Bodies

pub(crate) fn json<T: Serialize>(body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = (StatusCode::OK, bytes).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    r
}

/// Gateway shape: only `rsp_code` + `rsp_message`, HTTP 200.
pub(crate) fn gateway_error(code: &str, message: &str) -> Response {
    json(&GatewayError {
        rsp_code: code.to_string(),
        rsp_message: message.to_string(),
    })
}

pub(crate) async fn method_not_allowed() -> Response {
    gateway_error("O0010", "허용되지 않은 HTTP Method 입니다.")
}

pub(crate) async fn unknown_api() -> Response {
    gateway_error("O0005", "존재하지 않는 API 입니다.")
}

fn envelope(inner: &Inner, code: &str, message: &str) -> Envelope {
    let now = inner.now().with_timezone(&ginkgo_domain::time::kst());
    Envelope {
        api_tran_id: uuid::Uuid::new_v4().to_string(),
        api_tran_dtm: now.format("%Y%m%d%H%M%S%3f").to_string(),
        rsp_code: code.to_string(),
        rsp_message: message.to_string(),
    }
}

/// Center rejection shape: the envelope only.
fn center_error(inner: &Inner, code: &str, message: &str) -> Response {
    json(&envelope(inner, code, message))
}

fn format_error(inner: &Inner, detail: &str) -> Response {
    center_error(inner, "A0004", &format!("요청전문 포맷 에러 [{detail}]"))
}

fn today_kst(inner: &Inner) -> NaiveDate {
    inner
        .now()
        .with_timezone(&ginkgo_domain::time::kst())
        .date_naive()
}

fn bank_block(inner: &Inner, account: &TestAccount, bank_tran_id: &str) -> BankBlock {
    let (date, code) = if inner.testbed() {
        (
            inner.config.testbed_bank_tran_date.clone(),
            "097".to_string(),
        )
    } else {
        (
            today_kst(inner).format("%Y%m%d").to_string(),
            account.bank_code_std.to_string(),
        )
    };
    BankBlock {
        bank_tran_id: bank_tran_id.to_string(),
        bank_tran_date: date,
        bank_code_tran: code,
        bank_rsp_code: "000".into(),
        bank_rsp_message: String::new(),
    }
}

/// Testbed mode, account without seeded data: the simulator-missing error (§8.1).
fn simulator_missing<T: Default + Serialize>(
    inner: &Inner,
    bank_tran_id: &str,
    build: impl FnOnce(Envelope, BankBlock) -> T,
) -> Response {
    let env = envelope(
        inner,
        "A0002",
        "참가기관 에러 [API업무처리시스템 - 시뮬레이터 응답전문 존재하지 않음]",
    );
    let bank = BankBlock {
        bank_tran_id: bank_tran_id.to_string(),
        bank_tran_date: inner.config.testbed_bank_tran_date.clone(),
        bank_code_tran: "098".into(),
        bank_rsp_code: "818".into(),
        bank_rsp_message: "시뮬레이터\u{3000}응답전문\u{3000}조회에\u{3000}실패하였습니다".into(),
    };
    json(&build(env, bank))
}

// ---------------------------------------------------------------------------------------------
// Faults

pub(crate) async fn fault_layer(
    State(inner): State<Shared>,
    request: Request,
    next: Next,
) -> Response {
    inner.requests.fetch_add(1, Ordering::Relaxed);
    let (delay, fail) = {
        let mut m = inner.lock();
        let delay = m.faults.delay_ms;
        let mut fail = None;
        let status = if m.faults.http_error_status == 500 {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        if m.faults.http_error_next > 0 {
            m.faults.http_error_next -= 1;
            fail = Some(status);
        } else if m.faults.http_error_per_mille > 0 {
            let roll = m.fault_rng.below(1000);
            if roll < u64::from(m.faults.http_error_per_mille) {
                fail = Some(status);
            }
        }
        (delay, fail)
    };
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    if let Some(status) = fail {
        return (status, Body::empty()).into_response();
    }
    next.run(request).await
}

async fn get_faults(State(inner): State<Shared>) -> Json<Faults> {
    Json(inner.lock().faults.clone())
}

async fn set_faults(State(inner): State<Shared>, body: axum::body::Bytes) -> Response {
    match serde_json::from_slice::<Faults>(&body) {
        Ok(f) if f.http_error_per_mille <= 1000 => {
            inner.lock().faults = f.clone();
            Json(f).into_response()
        }
        Ok(_) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            "http_error_per_mille must be at most 1000",
        )
            .into_response(),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("invalid faults: {e}"),
        )
            .into_response(),
    }
}

#[derive(Deserialize)]
struct RevokeRequest {
    user_seq_no: String,
}

async fn revoke(State(inner): State<Shared>, body: axum::body::Bytes) -> Response {
    let Ok(r) = serde_json::from_slice::<RevokeRequest>(&body) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "expected {\"user_seq_no\": \"…\"}",
        )
            .into_response();
    };
    let handle = crate::SandboxHandle { inner };
    match handle.revoke_tokens(&r.user_seq_no) {
        Ok(n) => Json(serde_json::json!({ "revoked": n })).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    }
}

async fn append(
    State(inner): State<Shared>,
    Path(fin): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let rows = match serde_json::from_slice::<Vec<TransactionRow>>(&body) {
        Ok(rows) => rows,
        Err(e) => {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("invalid rows: {e}"),
            )
                .into_response();
        }
    };
    match append_rows(&inner, &fin, &rows) {
        Ok(stored) => {
            Json(stored.iter().map(GeneratedRow::to_wire).collect::<Vec<_>>()).into_response()
        }
        Err(e @ SandboxError::UnknownAccount) => {
            (StatusCode::NOT_FOUND, e.to_string()).into_response()
        }
        Err(e) => (StatusCode::UNPROCESSABLE_ENTITY, e.to_string()).into_response(),
    }
}

/// Transaction types an appended row may carry (the generator's own vocabulary).
const TRAN_TYPES: &[&str] = &[
    "대체",
    "체크카드",
    "체크카드취소",
    "자동이체",
    "현금",
    "급여",
];

pub(crate) fn append_rows(
    inner: &Inner,
    fin: &str,
    rows: &[TransactionRow],
) -> Result<Vec<GeneratedRow>, SandboxError> {
    let account = inner.account(fin).ok_or(SandboxError::UnknownAccount)?;
    let bad = |e: ginkgo_openbanking::WireError| SandboxError::InvalidRow(e.to_string());
    let mut m = inner.lock();
    let existing = m.appended.get(fin).cloned().unwrap_or_default();
    let mut last = existing
        .last()
        .or(account.rows.last())
        .map(|r| (r.date, r.time));
    let mut balance = existing
        .last()
        .map(|r| r.after_balance)
        .unwrap_or_else(|| account.balance());
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let date = parse_wire_date("tran_date", &row.tran_date).map_err(bad)?;
        let time = parse_wire_time("tran_time", &row.tran_time).map_err(bad)?;
        let direction = Direction::parse(&row.inout_type).map_err(bad)?;
        let amount = parse_wire_amount("tran_amt", &row.tran_amt).map_err(bad)?;
        if amount <= Won::ZERO {
            return Err(SandboxError::InvalidRow("tran_amt must be positive".into()));
        }
        if last.is_some_and(|l| (date, time) < l) {
            return Err(SandboxError::InvalidRow(
                "rows must come after the account's last row".into(),
            ));
        }
        balance = match direction {
            Direction::Deposit => balance.checked_add(amount),
            Direction::Withdrawal | Direction::Payment => balance.checked_sub(amount),
            // `기타` has no direction of its own: the row's after_balance_amt says which way the
            // money went, and must be the balance plus or minus the amount.
            Direction::Other => {
                let after =
                    parse_wire_amount("after_balance_amt", &row.after_balance_amt).map_err(bad)?;
                let up = balance.checked_add(amount).ok();
                let down = balance.checked_sub(amount).ok();
                if up == Some(after) || down == Some(after) {
                    Ok(after)
                } else {
                    return Err(SandboxError::InvalidRow(
                        "a 기타 row needs after_balance_amt = balance ± tran_amt".into(),
                    ));
                }
            }
        }
        .map_err(|e| SandboxError::InvalidRow(e.to_string()))?;
        let memo: String = row.print_content.chars().take(20).collect();
        let tran_type = TRAN_TYPES
            .iter()
            .find(|t| **t == row.tran_type)
            .copied()
            .unwrap_or(if direction.is_incoming() {
                "대체"
            } else {
                "체크카드"
            });
        out.push(GeneratedRow {
            date,
            time,
            direction,
            tran_type,
            memo: std::borrow::Cow::Owned(memo),
            amount,
            after_balance: balance,
            branch_name: "",
        });
        last = Some((date, time));
    }
    m.appended
        .entry(fin.to_string())
        .or_default()
        .extend(out.iter().cloned());
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Authentication

/// The scope an API needs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Needs {
    /// Any user scope (user/me, account list).
    User,
    Inquiry,
    Transfer,
}

fn authenticate(inner: &Inner, headers: &HeaderMap, needs: Needs) -> Result<Claims, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = bearer else {
        return Err(gateway_error("O0001", "인증 파라미터 오류([992])"));
    };
    {
        let mut m = inner.lock();
        if m.faults.expired_token_next > 0 {
            m.faults.expired_token_next -= 1;
            return Err(gateway_error("O0003", "Access Token 기간 만료"));
        }
    }
    let claims = match jwt::verify(inner.config.token_signing_key.as_bytes(), token) {
        Ok(c)
            if c.iss == ISSUER && {
                let m = inner.lock();
                !m.refresh_jtis.contains(&c.jti) && !m.revoked_jtis.contains(&c.jti)
            } =>
        {
            c
        }
        _ => return Err(gateway_error("O0002", "Access Token 거부")),
    };
    if claims.exp < inner.now().timestamp() {
        return Err(gateway_error("O0003", "Access Token 기간 만료"));
    }
    let allowed = match needs {
        Needs::Inquiry => claims.scope.iter().any(|s| s == "inquiry"),
        Needs::Transfer => claims.scope.iter().any(|s| s == "transfer"),
        Needs::User => claims
            .scope
            .iter()
            .any(|s| matches!(s.as_str(), "login" | "inquiry" | "transfer")),
    };
    if !allowed {
        return Err(gateway_error("O0011", "허용되지 않은 Scope 입니다."));
    }
    Ok(claims)
}

fn parse_query<T: serde::de::DeserializeOwned>(
    inner: &Inner,
    raw: Option<&str>,
) -> Result<T, Response> {
    serde_urlencoded::from_str::<T>(raw.unwrap_or(""))
        .map_err(|_| format_error(inner, "요청 파라미터 형식 오류"))
}

fn check_tran_dtime(inner: &Inner, value: &str) -> Result<(), Response> {
    if value.len() == 14 && NaiveDateTime::parse_from_str(value, "%Y%m%d%H%M%S").is_ok() {
        Ok(())
    } else {
        Err(format_error(inner, "요청일시(tran_dtime) 형식 오류"))
    }
}

/// Format, institution prefix (A0004) and same-KST-day duplicates (A0326).
fn check_tran_id(inner: &Inner, value: &str) -> Result<(), Response> {
    {
        let mut m = inner.lock();
        if m.faults.duplicate_tran_id_next > 0 {
            m.faults.duplicate_tran_id_next -= 1;
            return Err(center_error(inner, "A0326", "거래고유번호(참가기관) 중복"));
        }
    }
    let Ok(id) = BankTranId::parse(value) else {
        return Err(format_error(
            inner,
            "은행거래고유번호(bank_tran_id) 형식 오류",
        ));
    };
    if id.institution_code() != inner.config.client_use_code {
        return Err(format_error(
            inner,
            "은행거래고유번호의 이용기관코드가 일치하지 않습니다",
        ));
    }
    let today = today_kst(inner);
    let mut m = inner.lock();
    if m.tran_id_day != Some(today) {
        m.tran_id_day = Some(today);
        m.tran_ids.clear();
    }
    if !m.tran_ids.insert(id.to_string()) {
        drop(m);
        return Err(center_error(inner, "A0326", "거래고유번호(참가기관) 중복"));
    }
    Ok(())
}

/// The account, if registered by the token's user.
fn registered_account<'a>(
    inner: &'a Inner,
    claims: &Claims,
    fin: &str,
) -> Result<&'a TestAccount, Response> {
    if fin.is_empty() {
        return Err(format_error(inner, "핀테크이용번호(fintech_use_num) 누락"));
    }
    let registered = inner
        .lock()
        .registrations
        .get(&claims.aud)
        .is_some_and(|m| m.contains_key(fin));
    match inner.account(fin) {
        Some(a) if registered => Ok(a),
        _ => Err(center_error(inner, "A0304", "핀테크이용번호 정보 불일치")),
    }
}

fn registered_list(inner: &Inner, user_seq_no: &str, for_list: bool) -> Vec<RegisteredAccount> {
    let registrations = inner
        .lock()
        .registrations
        .get(user_seq_no)
        .cloned()
        .unwrap_or_default();
    let mut out = Vec::with_capacity(registrations.len());
    for (fin, at) in registrations {
        let Some(a) = inner.account(&fin) else {
            continue;
        };
        let at = at.format("%Y%m%d%H%M%S").to_string();
        out.push(RegisteredAccount {
            fintech_use_num: a.fintech_use_num.clone(),
            account_alias: a.alias.clone(),
            bank_code_std: a.bank_code_std.into(),
            bank_code_sub: a.bank_code_sub.into(),
            bank_name: a.bank_name.into(),
            savings_bank_name: String::new(),
            account_num: None,
            account_num_masked: a.account_num_masked.clone(),
            account_seq: String::new(),
            account_holder_name: a.holder_name.clone(),
            account_holder_type: "P".into(),
            account_type: a.account_type.into(),
            inquiry_agree_yn: "Y".into(),
            inquiry_agree_dtime: at.clone(),
            transfer_agree_yn: "Y".into(),
            transfer_agree_dtime: at,
            account_state: for_list.then(|| "01".to_string()),
            payer_num: None,
        });
    }
    out
}

fn check_user(inner: &Inner, claims: &Claims, user_seq_no: &str) -> Result<(), Response> {
    if user_seq_no.is_empty() {
        return Err(format_error(inner, "사용자일련번호(user_seq_no) 누락"));
    }
    if user_seq_no != claims.aud || !inner.user_index.contains_key(user_seq_no) {
        return Err(center_error(inner, "A0313", "사용자 정보 불일치"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn user_me(
    State(inner): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let claims = match authenticate(&inner, &headers, Needs::User) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let q: UserMeRequest = match parse_query(&inner, raw.as_deref()) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if let Err(r) = check_user(&inner, &claims, &q.user_seq_no) {
        return r;
    }
    let Some(user) = inner
        .user_index
        .get(&q.user_seq_no)
        .and_then(|&i| inner.users.get(i))
    else {
        return center_error(&inner, "A0313", "사용자 정보 불일치");
    };
    let res_list = registered_list(&inner, &q.user_seq_no, false);
    json(&UserMeResponse {
        envelope: envelope(&inner, "A0000", ""),
        user_seq_no: user.user_seq_no.clone(),
        user_ci: user.user_ci.clone(),
        user_name: user.name.clone(),
        user_info: None,
        user_gender: None,
        user_cell_no: None,
        user_email: None,
        res_cnt: res_list.len().to_string(),
        res_list,
    })
}

async fn account_list(
    State(inner): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let claims = match authenticate(&inner, &headers, Needs::User) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let q: AccountListRequest = match parse_query(&inner, raw.as_deref()) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if let Err(r) = check_user(&inner, &claims, &q.user_seq_no) {
        return r;
    }
    let include_cancel = q.include_cancel_yn.as_deref().unwrap_or("N");
    let sort = q.sort_order.as_deref().unwrap_or("D");
    if !matches!(include_cancel, "Y" | "N") || !matches!(sort, "A" | "D") {
        return format_error(&inner, "include_cancel_yn/sort_order 값 오류");
    }
    let Some(user) = inner
        .user_index
        .get(&q.user_seq_no)
        .and_then(|&i| inner.users.get(i))
    else {
        return center_error(&inner, "A0313", "사용자 정보 불일치");
    };
    let mut res_list = registered_list(&inner, &q.user_seq_no, true);
    // Newest registration first for `D`; ties keep the fintech-number order.
    res_list.sort_by(|a, b| a.inquiry_agree_dtime.cmp(&b.inquiry_agree_dtime));
    if sort == "D" {
        res_list.reverse();
    }
    json(&AccountListResponse {
        envelope: envelope(&inner, "A0000", ""),
        user_name: user.name.clone(),
        res_cnt: res_list.len().to_string(),
        res_list,
    })
}

async fn balance(
    State(inner): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let claims = match authenticate(&inner, &headers, Needs::Inquiry) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let q: BalanceRequest = match parse_query(&inner, raw.as_deref()) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if let Err(r) = check_tran_id(&inner, &q.bank_tran_id)
        .and_then(|()| check_tran_dtime(&inner, &q.tran_dtime))
    {
        return r;
    }
    let account = match registered_account(&inner, &claims, &q.fintech_use_num) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if let Some(r) = under_maintenance(&inner, account) {
        return r;
    }
    if inner.testbed() && !account.seeded {
        return simulator_missing(&inner, &q.bank_tran_id, |envelope, bank| BalanceResponse {
            envelope,
            bank,
            ..Default::default()
        });
    }
    if inner.profile() == crate::config::Profile::Testbed {
        return crate::testbed::balance(
            account,
            envelope(&inner, "A0000", ""),
            bank_block(&inner, account, &q.bank_tran_id),
        );
    }
    let balance = inner.balance(account).get().to_string();
    json(&BalanceResponse {
        envelope: envelope(&inner, "A0000", ""),
        bank: bank_block(&inner, account, &q.bank_tran_id),
        bank_name: account.bank_name.into(),
        savings_bank_name: String::new(),
        fintech_use_num: account.fintech_use_num.clone(),
        available_amt: balance.clone(),
        balance_amt: balance,
        account_type: account.account_type.into(),
        product_name: account.product_name.into(),
        account_issue_date: account.issue_date.format("%Y%m%d").to_string(),
        maturity_date: String::new(),
        last_tran_date: inner
            .appended(&account.fintech_use_num)
            .last()
            .or(account.rows.last())
            .map(|r| r.date.format("%Y%m%d").to_string())
            .unwrap_or_default(),
    })
}

/// A validated transaction-list query.
struct ListQuery {
    inquiry_type: char,
    from: (NaiveDate, NaiveTime),
    to: (NaiveDate, NaiveTime),
    descending: bool,
    digest: u64,
}

fn parse_list_query(inner: &Inner, q: &TransactionListRequest) -> Result<ListQuery, Response> {
    let inquiry_type = match q.inquiry_type.as_str() {
        "A" => 'A',
        "I" => 'I',
        "O" => 'O',
        _ => return Err(format_error(inner, "조회구분(inquiry_type) 값 오류")),
    };
    let by_time = match q.inquiry_base.as_str() {
        "D" => false,
        "T" => true,
        _ => return Err(format_error(inner, "조회기준(inquiry_base) 값 오류")),
    };
    let date = |v: &str, what: &str| {
        if v.len() == 8 {
            NaiveDate::parse_from_str(v, "%Y%m%d").map_err(|_| format_error(inner, what))
        } else {
            Err(format_error(inner, what))
        }
    };
    let time = |v: &str, what: &str, default: NaiveTime| {
        if !by_time {
            return Ok(default);
        }
        if v.len() == 6 {
            NaiveTime::parse_from_str(v, "%H%M%S").map_err(|_| format_error(inner, what))
        } else {
            Err(format_error(inner, what))
        }
    };
    let end_of_day = NaiveTime::from_hms_opt(23, 59, 59).unwrap_or(NaiveTime::MIN);
    let from = (
        date(&q.from_date, "조회시작일자(from_date) 형식 오류")?,
        time(
            &q.from_time,
            "조회시작시간(from_time) 형식 오류",
            NaiveTime::MIN,
        )?,
    );
    let to = (
        date(&q.to_date, "조회종료일자(to_date) 형식 오류")?,
        time(&q.to_time, "조회종료시간(to_time) 형식 오류", end_of_day)?,
    );
    if from > to {
        return Err(format_error(inner, "조회기간 오류"));
    }
    let descending = match q.sort_order.as_str() {
        "D" => true,
        "A" => false,
        _ => return Err(format_error(inner, "정렬순서(sort_order) 값 오류")),
    };
    let canonical = format!(
        "{}|{}|{}|{}|{}|{}|{}|{}",
        q.fintech_use_num,
        q.inquiry_type,
        q.inquiry_base,
        q.from_date,
        q.from_time,
        q.to_date,
        q.to_time,
        q.sort_order
    );
    Ok(ListQuery {
        inquiry_type,
        from,
        to,
        descending,
        digest: fnv1a(canonical.as_bytes()),
    })
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

const B36: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

fn base36(mut n: u64, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = B36[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8(out).unwrap_or_default()
}

fn from_base36(s: &str) -> Option<u64> {
    s.bytes().try_fold(0u64, |acc, c| {
        let d = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            _ => return None,
        };
        acc.checked_mul(36)?.checked_add(u64::from(d))
    })
}

/// Opaque trace: 7 characters of query digest + the offset in base 36 (≤ 20 characters).
fn encode_trace(digest: u64, offset: usize) -> String {
    format!(
        "{}{}",
        base36(digest % 78_364_164_096, 7),
        base36(offset as u64, 6)
    )
}

/// The offset encoded in `trace` if it belongs to this query; otherwise 0 (first page).
fn decode_trace(trace: &str, digest: u64, total: usize) -> usize {
    if trace.len() != 13 {
        return 0;
    }
    let (d, o) = trace.split_at(7);
    match (from_base36(d), from_base36(o)) {
        (Some(d), Some(o)) if d == digest % 78_364_164_096 && (o as usize) < total => o as usize,
        _ => 0,
    }
}

/// Positions in `rows` matching the query, as an index range over a view (no re-filtering).
enum View<'a> {
    All(&'a [GeneratedRow]),
    Some(&'a [GeneratedRow], &'a [u32]),
}

impl View<'_> {
    fn len(&self) -> usize {
        match self {
            View::All(r) => r.len(),
            View::Some(_, idx) => idx.len(),
        }
    }
    fn row(&self, i: usize) -> Option<&GeneratedRow> {
        match self {
            View::All(r) => r.get(i),
            View::Some(r, idx) => idx.get(i).and_then(|&p| r.get(p as usize)),
        }
    }
    fn key(&self, i: usize) -> (NaiveDate, NaiveTime) {
        self.row(i)
            .map(|r| (r.date, r.time))
            .unwrap_or((NaiveDate::MIN, NaiveTime::MIN))
    }
    /// First position whose key is not `< bound` (`strict = false`) or not `<= bound`.
    fn partition(&self, bound: (NaiveDate, NaiveTime), inclusive: bool) -> usize {
        let (mut lo, mut hi) = (0usize, self.len());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let k = self.key(mid);
            let before = if inclusive { k <= bound } else { k < bound };
            if before { lo = mid + 1 } else { hi = mid }
        }
        lo
    }
}

async fn transaction_list(
    State(inner): State<Shared>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let claims = match authenticate(&inner, &headers, Needs::Inquiry) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let q: TransactionListRequest = match parse_query(&inner, raw.as_deref()) {
        Ok(q) => q,
        Err(r) => return r,
    };
    if let Err(r) = check_tran_id(&inner, &q.bank_tran_id)
        .and_then(|()| check_tran_dtime(&inner, &q.tran_dtime))
    {
        return r;
    }
    let account = match registered_account(&inner, &claims, &q.fintech_use_num) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let lq = match parse_list_query(&inner, &q) {
        Ok(lq) => lq,
        Err(r) => return r,
    };
    if let Some(r) = under_maintenance(&inner, account) {
        return r;
    }
    if inner.testbed() && !account.seeded {
        return simulator_missing(&inner, &q.bank_tran_id, |envelope, bank| {
            TransactionListResponse {
                envelope,
                bank,
                ..Default::default()
            }
        });
    }
    let paging = {
        let mut m = inner.lock();
        m.list_queries.push(ListQueryLog {
            fintech_use_num: account.fintech_use_num.clone(),
            from_date: lq.from.0,
            to_date: lq.to.0,
            trace: q.befor_inquiry_trace_info.clone(),
        });
        (m.profile == crate::config::Profile::Testbed).then_some(m.testbed_paging)
    };
    if let Some(paging) = paging {
        return crate::testbed::transaction_list(
            account,
            paging,
            envelope(&inner, "A0000", ""),
            bank_block(&inner, account, &q.bank_tran_id),
        );
    }
    let empty = AccountViews {
        incoming: Vec::new(),
        outgoing: Vec::new(),
    };
    // Rows appended after the generated history (rare; tests) make a combined copy.
    let appended = inner.appended(&account.fintech_use_num);
    let combined: Vec<GeneratedRow>;
    let combined_views: AccountViews;
    let (rows, views): (&[GeneratedRow], &AccountViews) = if appended.is_empty() {
        (
            &account.rows,
            inner.views.get(&account.fintech_use_num).unwrap_or(&empty),
        )
    } else {
        combined = account.rows.iter().cloned().chain(appended).collect();
        combined_views = AccountViews::of(&combined);
        (&combined, &combined_views)
    };
    let view = match lq.inquiry_type {
        'I' => View::Some(rows, &views.incoming),
        'O' => View::Some(rows, &views.outgoing),
        _ => View::All(rows),
    };
    let lo = view.partition(lq.from, false);
    let hi = view.partition(lq.to, true).max(lo);
    let total = hi - lo;
    let offset = decode_trace(&q.befor_inquiry_trace_info, lq.digest, total);
    let end = (offset + PAGE_SIZE).min(total);
    let res_list: Vec<_> = (offset..end)
        .filter_map(|k| {
            let i = if lq.descending { hi - 1 - k } else { lo + k };
            view.row(i).map(GeneratedRow::to_wire)
        })
        .collect();
    let more = end < total;
    json(&TransactionListResponse {
        envelope: envelope(&inner, "A0000", ""),
        bank: bank_block(&inner, account, &q.bank_tran_id),
        bank_name: account.bank_name.into(),
        savings_bank_name: String::new(),
        fintech_use_num: account.fintech_use_num.clone(),
        balance_amt: inner.balance(account).get().to_string(),
        page_record_cnt: res_list.len().to_string(),
        next_page_yn: if more { "Y" } else { "N" }.into(),
        befor_inquiry_trace_info: if more {
            encode_trace(lq.digest, end)
        } else {
            String::new()
        },
        res_list,
    })
}

/// A0007 while the account's bank is under maintenance (`Faults::maintenance_banks`).
fn under_maintenance(inner: &Inner, account: &TestAccount) -> Option<Response> {
    let down = inner
        .lock()
        .faults
        .maintenance_banks
        .iter()
        .any(|b| b == account.bank_code_std);
    down.then(|| {
        center_error(
            inner,
            "A0007",
            "참가기관 시스템 점검 중입니다 [업무처리시간 외 거래]",
        )
    })
}

/// `GET /v2.0/bank/status`: every bank of the generated world, `Y` unless listed in
/// `Faults::maintenance_banks`. Any valid user or institution token may call it.
async fn bank_status(State(inner): State<Shared>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let Some(token) = bearer else {
        return gateway_error("O0001", "인증 파라미터 오류([992])");
    };
    let valid = match jwt::verify(inner.config.token_signing_key.as_bytes(), token) {
        Ok(c) if c.iss == ISSUER && c.exp >= inner.now().timestamp() => {
            let m = inner.lock();
            !m.refresh_jtis.contains(&c.jti) && !m.revoked_jtis.contains(&c.jti)
        }
        _ => false,
    };
    if !valid {
        return gateway_error("O0002", "Access Token 거부");
    }
    let down = inner.lock().faults.maintenance_banks.clone();
    let mut banks: std::collections::BTreeMap<&str, &str> = std::collections::BTreeMap::new();
    for user in &inner.users {
        for a in &user.accounts {
            banks.insert(a.bank_code_std, a.bank_name);
        }
    }
    let res_list: Vec<ginkgo_openbanking::wire::BankStatusRow> = banks
        .into_iter()
        .map(|(code, name)| ginkgo_openbanking::wire::BankStatusRow {
            bank_code_std: code.into(),
            bank_name: name.into(),
            bank_status: if down.iter().any(|d| d == code) {
                "N"
            } else {
                "Y"
            }
            .into(),
        })
        .collect();
    json(&ginkgo_openbanking::wire::BankStatusResponse {
        envelope: envelope(&inner, "A0000", ""),
        res_cnt: res_list.len().to_string(),
        res_list,
    })
}

// ---------------------------------------------------------------------------------------------
// Withdraw transfer (§9.1), testbed mode

fn masked_number(n: &str) -> String {
    let keep = n.chars().count().saturating_sub(3);
    format!("{}***", n.chars().take(keep).collect::<String>())
}

/// The fields a withdraw must carry (A0004 with the field named otherwise), and the one-of rule
/// for the requesting customer's account.
fn check_withdraw_fields(inner: &Inner, q: &WithdrawRequest) -> Result<Won, Response> {
    let required = [
        ("cntr_account_type", &q.cntr_account_type),
        ("cntr_account_num", &q.cntr_account_num),
        ("dps_print_content", &q.dps_print_content),
        ("fintech_use_num", &q.fintech_use_num),
        ("tran_amt", &q.tran_amt),
        ("req_client_name", &q.req_client_name),
        ("req_client_num", &q.req_client_num),
        ("transfer_purpose", &q.transfer_purpose),
    ];
    if let Some((name, _)) = required.iter().find(|(_, v)| v.trim().is_empty()) {
        return Err(format_error(inner, &format!("{name} 누락")));
    }
    if !matches!(q.cntr_account_type.as_str(), "N" | "C") {
        return Err(format_error(
            inner,
            "약정계좌/계정 구분(cntr_account_type) 값 오류",
        ));
    }
    if !matches!(q.transfer_purpose.as_str(), "TR" | "ST" | "RC") {
        return Err(format_error(inner, "이체용도(transfer_purpose) 값 오류"));
    }
    if [
        &q.recv_client_name,
        &q.recv_client_bank_code,
        &q.recv_client_account_num,
    ]
    .iter()
    .any(|v| v.trim().is_empty())
    {
        return Err(format_error(
            inner,
            "최종수취고객정보가 입력되지 않았습니다.",
        ));
    }
    let by_fin = q
        .req_client_fintech_use_num
        .as_deref()
        .is_some_and(|v| !v.trim().is_empty());
    let by_account = q
        .req_client_bank_code
        .as_deref()
        .is_some_and(|v| !v.trim().is_empty())
        && q.req_client_account_num
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty());
    if by_fin == by_account {
        return Err(format_error(
            inner,
            "요청고객 핀테크이용번호 또는 요청고객 계좌정보 중 하나만 입력하세요",
        ));
    }
    let amount = q.tran_amt.trim();
    match amount.parse::<i64>() {
        Ok(n) if n > 0 && amount.bytes().all(|b| b.is_ascii_digit()) && amount.len() <= 12 => {
            Ok(Won::new(n))
        }
        _ => Err(format_error(inner, "거래금액(tran_amt) 형식 오류")),
    }
}

async fn withdraw(
    State(inner): State<Shared>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let claims = match authenticate(&inner, &headers, Needs::Transfer) {
        Ok(c) => c,
        Err(r) => return r,
    };
    if !inner.testbed() {
        return center_error(
            &inner,
            "A0011",
            "이용기관 API 권한 없음 [출금이체는 테스트베드 모드에서만 제공됩니다]",
        );
    }
    let Ok(q) = serde_json::from_slice::<WithdrawRequest>(&body) else {
        return format_error(&inner, "요청전문 JSON 형식 오류");
    };
    if let Err(r) = check_tran_id(&inner, &q.bank_tran_id)
        .and_then(|()| check_tran_dtime(&inner, &q.tran_dtime))
    {
        return r;
    }
    let amount = match check_withdraw_fields(&inner, &q) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let account = match registered_account(&inner, &claims, &q.fintech_use_num) {
        Ok(a) => a,
        Err(r) => return r,
    };
    if !inner
        .config
        .contracted_accounts
        .contains(&q.cntr_account_num)
    {
        return center_error(
            &inner,
            "A0322",
            &format!(
                "미등록된 이용기관 약정 계좌/계정 [입력 정보({})]",
                q.cntr_account_num
            ),
        );
    }
    if !account.seeded {
        return simulator_missing(&inner, &q.bank_tran_id, |envelope, bank| WithdrawResponse {
            envelope,
            bank,
            ..Default::default()
        });
    }
    // The live counter of §8.3: what is left of the day's limit, after this transfer.
    let today = today_kst(&inner);
    let left = {
        let mut m = inner.lock();
        let entry = m
            .withdraw_left
            .entry(account.fintech_use_num.clone())
            .or_insert((today, inner.config.daily_withdraw_limit));
        if entry.0 != today {
            *entry = (today, inner.config.daily_withdraw_limit);
        }
        match entry.1.checked_sub(amount.get()) {
            Some(left) if left >= 0 => {
                entry.1 = left;
                left
            }
            _ => {
                drop(m);
                return center_error(&inner, "A0112", "사용자 출금한도 초과 [일 출금한도]");
            }
        }
    };
    json(&WithdrawResponse {
        envelope: envelope(&inner, "A0000", ""),
        dps_bank_code_std: "097".into(),
        dps_bank_code_sub: "0000000".into(),
        dps_bank_name: "오픈은행".into(),
        dps_account_num_masked: masked_number(&q.cntr_account_num),
        dps_print_content: q.dps_print_content.clone(),
        dps_account_holder_name: "이용기관명".into(),
        bank: bank_block(&inner, account, &q.bank_tran_id),
        fintech_use_num: account.fintech_use_num.clone(),
        account_alias: account.alias.clone(),
        bank_code_std: account.bank_code_std.into(),
        bank_code_sub: account.bank_code_sub.into(),
        bank_name: account.bank_name.into(),
        savings_bank_name: String::new(),
        account_num_masked: account.account_num_masked.clone(),
        print_content: q
            .wd_print_content
            .clone()
            .filter(|p| !p.trim().is_empty())
            .unwrap_or_else(|| "오픈뱅킹출금".into()),
        account_holder_name: account.holder_name.clone(),
        tran_amt: amount.get().to_string(),
        wd_limit_remain_amt: left.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traces_round_trip_and_reject_other_queries() {
        let t = encode_trace(123_456_789, 50);
        assert!(t.len() <= 20);
        assert_eq!(decode_trace(&t, 123_456_789, 100), 50);
        assert_eq!(decode_trace(&t, 987, 100), 0);
        assert_eq!(decode_trace(&t, 123_456_789, 40), 0);
        assert_eq!(decode_trace("123", 123_456_789, 100), 0);
        assert_eq!(decode_trace("", 1, 100), 0);
        assert_eq!(decode_trace("zzzzzzzzzzzzz", 1, 100), 0);
    }
}
