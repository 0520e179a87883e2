//! The two-phase, SHA-512-verified deposit (and the original `/api/transfers…` aliases).
//!
//! Phase 1 records what will be deposited and answers an unguessable identifier; phase 2 presents
//! `sha512_hex(account_number + user_name + amount)` for it. The store applies a confirmation at
//! most once, enforced in the database.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use ginkgo_domain::{Signature, Won};
use ginkgo_store::{
    ConfirmOutcome, Deposit, DepositAttempt, DepositRefusal, DepositStatus, NewDeposit, Role,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/deposits", post(create).get(list))
        .route("/api/v1/deposits/attempts", get(attempts))
        .route("/api/v1/deposits/{id}/confirm", post(confirm))
        .route("/api/transfers-verifications", post(legacy_create))
        .route("/api/transfers", post(legacy_confirm))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DepositRequest {
    #[schema(example = "5736692368320")]
    pub account_number: String,
    /// The account holder's name, as the customer typed it.
    #[schema(example = "류영길")]
    pub user_name: String,
    /// A positive whole number of won.
    #[schema(value_type = i64, example = 1000, minimum = 1)]
    pub transfer_amount: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct DepositCreated {
    /// Opaque and unguessable; present it in phase 2.
    #[schema(example = "6f1c0a4e9b5d4c7f8e2a1b3c4d5e6f70")]
    pub transfer_identifier: String,
    /// Phase 2 must come before this instant.
    #[schema(example = "2026-11-20T09:10:00Z")]
    pub expires_at: DateTime<Utc>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmRequest {
    /// `sha512_hex(account_number + user_name + amount)`, 128 lowercase hex characters.
    #[schema(
        example = "7e2ab3b8f8a84c6af56b964bf1c8b715ae0edbffa09b2817f39ca5a9a5b0634733181131a89e5c4f1d29b374827a3a236fc454b8ddeb87f73516026d312e833f"
    )]
    pub signature: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegacyConfirmRequest {
    /// `sha512_hex(account_number + user_name + amount)`, 128 lowercase hex characters.
    #[schema(
        example = "7e2ab3b8f8a84c6af56b964bf1c8b715ae0edbffa09b2817f39ca5a9a5b0634733181131a89e5c4f1d29b374827a3a236fc454b8ddeb87f73516026d312e833f"
    )]
    pub signature: String,
    /// The number phase 1 answered (text is accepted too).
    #[schema(value_type = i64, example = 4_503_599_627_370_495_i64)]
    pub transfer_identifier: serde_json::Value,
}

#[derive(Serialize, ToSchema)]
pub struct ConfirmResponse {
    #[schema(example = true)]
    pub status: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deposit: Option<DepositView>,
}

#[derive(Serialize, ToSchema)]
pub struct DepositView {
    #[schema(example = "6f1c0a4e9b5d4c7f8e2a1b3c4d5e6f70")]
    pub transfer_identifier: String,
    #[schema(example = 17)]
    pub account_id: i64,
    #[schema(example = "5736692368320")]
    pub account_number: String,
    #[schema(example = 1000)]
    pub amount: i64,
    pub status: DepositStatus,
    #[schema(example = "2026-11-20T09:00:00Z")]
    pub created_at: DateTime<Utc>,
    #[schema(example = "2026-11-20T09:10:00Z")]
    pub expires_at: DateTime<Utc>,
    #[schema(example = "2026-11-20T09:00:42Z")]
    pub confirmed_at: Option<DateTime<Utc>>,
}

impl From<Deposit> for DepositView {
    fn from(d: Deposit) -> Self {
        DepositView {
            transfer_identifier: d.identifier,
            account_id: d.account_id,
            account_number: d.account_number,
            amount: d.amount.get(),
            status: d.status,
            created_at: d.created_at,
            expires_at: d.expires_at,
            confirmed_at: d.confirmed_at,
        }
    }
}

/// A positive whole number of won within the configured maximum; JSON numbers only.
pub fn parse_amount(v: &serde_json::Value, max: i64) -> ApiResult<Won> {
    let n = match v {
        serde_json::Value::Number(n) => n,
        serde_json::Value::Null => return Err(ApiError::validation("transfer_amount is required")),
        _ => {
            return Err(ApiError::validation(
                "transfer_amount must be a number of won",
            ));
        }
    };
    let amount = if let Some(i) = n.as_i64() {
        i
    } else if n.as_u64().is_some() {
        return Err(ApiError::validation(format!(
            "transfer_amount must be at most {max} won"
        )));
    } else {
        return Err(ApiError::validation(
            "transfer_amount must be a whole number of won",
        ));
    };
    if amount <= 0 {
        return Err(ApiError::validation("transfer_amount must be positive"));
    }
    if amount > max {
        return Err(ApiError::validation(format!(
            "transfer_amount must be at most {max} won"
        )));
    }
    Ok(Won::new(amount))
}

/// Transfer identifiers are at most this long; a longer one is refused before any lookup.
const MAX_IDENTIFIER_LEN: usize = 64;

/// How a phase-1 identifier is made: 128 random bits as hex (the v1 API), or — for the original
/// route, whose contract answers a JSON number — a random 16-digit number (52 random bits,
/// exact in every JSON implementation). Both are unguessable, and phase 2 only accepts an
/// identifier from the login that requested it.
#[derive(Clone, Copy)]
enum IdentifierKind {
    Opaque,
    Numeric,
}

impl IdentifierKind {
    fn generate(self) -> String {
        let random = uuid::Uuid::new_v4().as_u128();
        match self {
            IdentifierKind::Opaque => format!("{random:032x}"),
            IdentifierKind::Numeric => {
                const LOW: u128 = 1_000_000_000_000_000; // 16 digits
                const HIGH: u128 = (1 << 53) - 1; // the largest integer a double holds exactly
                (LOW + random % (HIGH - LOW)).to_string()
            }
        }
    }
}

/// Records an attempt refused at the edge (the store records the others itself) and answers
/// the refusal.
async fn refused(
    state: &AppState,
    user: &AuthUser,
    phase: u8,
    identifier: Option<&str>,
    outcome: &str,
    error: ApiError,
) -> ApiError {
    let identifier = identifier.map(|id| {
        let end = id
            .char_indices()
            .nth(MAX_IDENTIFIER_LEN)
            .map_or(id.len(), |(i, _)| i);
        &id[..end]
    });
    match state
        .store()
        .record_deposit_attempt(user.user_id, phase, identifier, outcome, Utc::now())
        .await
    {
        Ok(()) => error,
        Err(e) => e.into(),
    }
}

/// Deposits are made by the customer who holds the account: an operator reads every account but
/// deposits into none.
fn may_deposit(user: &AuthUser) -> ApiResult<()> {
    if user.role == Role::Customer {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "deposits are made by the account holder's own login",
        ))
    }
}

async fn phase_one(
    state: &AppState,
    user: &AuthUser,
    body: Result<ApiJson<DepositRequest>, ApiError>,
    kind: IdentifierKind,
) -> ApiResult<DepositCreated> {
    let checked = match (may_deposit(user), body) {
        (Err(e), _) => Err(("forbidden", e)),
        (Ok(()), Err(e)) => Err(("malformed", e)),
        (Ok(()), Ok(ApiJson(req))) => check_request(state, req).map_err(|e| ("invalid", e)),
    };
    let (account_number, user_name, amount) = match checked {
        Ok(c) => c,
        Err((outcome, e)) => return Err(refused(state, user, 1, None, outcome, e).await),
    };
    let now = Utc::now();
    let created = state
        .store()
        .create_deposit(NewDeposit {
            identifier: kind.generate(),
            user_id: user.user_id,
            scope: user.scope(),
            account_number,
            user_name,
            amount,
            now,
            expires_at: now + Duration::minutes(state.config().deposit.expiry_minutes),
        })
        .await?;
    match created {
        Ok(d) => {
            tracing::info!(
                user_id = user.user_id,
                account_id = d.account_id,
                "deposit requested"
            );
            Ok(DepositCreated {
                transfer_identifier: d.identifier,
                expires_at: d.expires_at,
            })
        }
        Err(DepositRefusal::AccountNotFound) => Err(ApiError::not_found("no such account")),
        Err(DepositRefusal::NameMismatch) => Err(ApiError::validation(
            "user_name is not the account holder's name",
        )),
        Err(DepositRefusal::AccountInactive) => Err(account_inactive()),
    }
}

fn check_request(state: &AppState, req: DepositRequest) -> ApiResult<(String, String, Won)> {
    let amount = parse_amount(&req.transfer_amount, state.config().deposit.max_amount)?;
    if req.account_number.trim().is_empty() {
        return Err(ApiError::validation("account_number is required"));
    }
    if req.user_name.trim().is_empty() {
        return Err(ApiError::validation("user_name is required"));
    }
    Ok((req.account_number.trim().to_string(), req.user_name, amount))
}

fn account_inactive() -> ApiError {
    ApiError::conflict(
        "account_inactive",
        "the account is not in the provider's latest snapshot and takes no deposits",
    )
}

async fn phase_two(
    state: &AppState,
    user: &AuthUser,
    identifier: &str,
    signature: &str,
) -> ApiResult<DepositView> {
    let identifier = identifier.trim();
    if let Err(e) = may_deposit(user) {
        return Err(refused(state, user, 2, Some(identifier), "forbidden", e).await);
    }
    if identifier.is_empty() || identifier.len() > MAX_IDENTIFIER_LEN {
        let e = ApiError::not_found("no such transfer identifier");
        return Err(refused(state, user, 2, Some(identifier), "not_found", e).await);
    }
    let parsed = Signature::parse(signature);
    let outcome = state
        .store()
        .confirm_deposit(
            user.user_id,
            user.scope(),
            identifier,
            parsed.as_ref(),
            Utc::now(),
        )
        .await?;
    match outcome {
        ConfirmOutcome::Confirmed(d) => {
            state.cache().invalidate();
            tracing::info!(
                user_id = user.user_id,
                account_id = d.account_id,
                "deposit confirmed"
            );
            Ok(d.into())
        }
        ConfirmOutcome::NotFound => Err(ApiError::not_found("no such transfer identifier")),
        ConfirmOutcome::Expired => Err(ApiError::new(
            StatusCode::GONE,
            "expired",
            "this transfer identifier has expired; start the deposit again",
        )),
        ConfirmOutcome::AlreadyConfirmed => Err(ApiError::conflict(
            "already_completed",
            "this deposit has already been completed",
        )),
        ConfirmOutcome::BadSignature if parsed.is_none() => Err(ApiError::bad_request(
            "malformed_signature",
            "signature must be 128 hexadecimal characters (SHA-512)",
        )),
        ConfirmOutcome::BadSignature => Err(ApiError::validation(
            "the signature does not match the deposit; nothing was changed",
        )
        .with_code("signature_mismatch")),
        ConfirmOutcome::AccountInactive => Err(account_inactive()),
    }
}

impl ApiError {
    fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }
}

/// Phase 1: check the account, holder name and amount; answer a transfer identifier.
#[utoipa::path(post, path = "/api/v1/deposits", tag = "deposits", security(("bearer" = [])),
    request_body = DepositRequest,
    responses((status = 201, body = DepositCreated), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    body: Result<ApiJson<DepositRequest>, ApiError>,
) -> ApiResult<Response> {
    let created = phase_one(&state, &user, body, IdentifierKind::Opaque).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

/// Phase 2: present the SHA-512 signature; the deposit is applied exactly once.
#[utoipa::path(post, path = "/api/v1/deposits/{id}/confirm", tag = "deposits", security(("bearer" = [])),
    params(("id" = String, Path, description = "The transfer identifier from phase 1")),
    request_body = ConfirmRequest,
    responses((status = 200, body = ConfirmResponse), (status = 404, body = crate::error::ErrorBody),
              (status = 409, description = "Already completed", body = crate::error::ErrorBody),
              (status = 410, description = "Expired", body = crate::error::ErrorBody),
              (status = 422, description = "Signature mismatch", body = crate::error::ErrorBody)))]
pub async fn confirm(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<String>,
    body: Result<ApiJson<ConfirmRequest>, ApiError>,
) -> ApiResult<Json<ConfirmResponse>> {
    let req = match body {
        Ok(ApiJson(req)) => req,
        Err(e) => return Err(refused(&state, &user, 2, Some(&id), "malformed", e).await),
    };
    let d = phase_two(&state, &user, &id, &req.signature).await?;
    Ok(Json(ConfirmResponse {
        status: true,
        deposit: Some(d),
    }))
}

/// The customer's deposits, newest first.
#[utoipa::path(get, path = "/api/v1/deposits", tag = "deposits", security(("bearer" = [])),
    responses((status = 200, body = Vec<DepositView>)))]
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
) -> ApiResult<Json<Vec<DepositView>>> {
    let list = state.store().deposits(user.scope(), 200).await?;
    Ok(Json(list.into_iter().map(DepositView::from).collect()))
}

/// The original contract's phase-1 answer: the identifier is a JSON number.
#[derive(Serialize, ToSchema)]
pub struct LegacyCreated {
    #[schema(example = 4_503_599_627_370_495_i64)]
    pub transfer_identifier: i64,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AttemptsQuery {
    /// At most this many, newest first (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct AttemptView {
    #[schema(example = 120)]
    pub id: i64,
    /// The login that made the attempt.
    #[schema(example = 3)]
    pub user_id: i64,
    /// 1: request (phase 1); 2: confirmation (phase 2).
    #[schema(example = 2)]
    pub phase: u8,
    #[schema(example = "6f1c0a4e9b5d4c7f8e2a1b3c4d5e6f70")]
    pub transfer_identifier: Option<String>,
    /// `created`, `confirmed`, `bad_signature`, `already_confirmed`, `expired`, `not_found`,
    /// `account_not_found`, `name_mismatch`, `account_inactive`, `invalid`, `malformed`,
    /// `forbidden`.
    #[schema(example = "confirmed")]
    pub outcome: String,
    #[schema(example = "2026-11-20T09:00:42Z")]
    pub at: DateTime<Utc>,
}

impl From<DepositAttempt> for AttemptView {
    fn from(a: DepositAttempt) -> Self {
        AttemptView {
            id: a.id,
            user_id: a.user_id,
            phase: a.phase,
            transfer_identifier: a.identifier,
            outcome: a.outcome,
            at: a.at,
        }
    }
}

/// The deposit audit trail: every phase-1 and phase-2 attempt with its outcome, newest first.
/// A customer sees their own login's attempts; an operator sees everyone's.
#[utoipa::path(get, path = "/api/v1/deposits/attempts", tag = "deposits", security(("bearer" = [])),
    params(AttemptsQuery),
    responses((status = 200, body = Vec<AttemptView>), (status = 422, body = crate::error::ErrorBody)))]
pub async fn attempts(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<AttemptsQuery>,
) -> ApiResult<Json<Vec<AttemptView>>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::validation("limit must be between 1 and 1000"));
    }
    let who = match user.role {
        Role::Operator => None,
        Role::Customer => Some(user.user_id),
    };
    let list = state.store().deposit_attempts(who, limit).await?;
    Ok(Json(list.into_iter().map(AttemptView::from).collect()))
}

/// Original route (alias of `POST /api/v1/deposits`).
#[utoipa::path(post, path = "/api/transfers-verifications", tag = "original", security(("bearer" = [])),
    request_body = DepositRequest,
    responses((status = 200, body = LegacyCreated), (status = 404, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn legacy_create(
    State(state): State<AppState>,
    user: AuthUser,
    body: Result<ApiJson<DepositRequest>, ApiError>,
) -> ApiResult<Json<LegacyCreated>> {
    let created = phase_one(&state, &user, body, IdentifierKind::Numeric).await?;
    let transfer_identifier = created
        .transfer_identifier
        .parse()
        .map_err(|_| ApiError::internal())?;
    Ok(Json(LegacyCreated {
        transfer_identifier,
    }))
}

/// Original route (alias of phase 2): `{"status": true}`, or an error with `"status": false`.
#[utoipa::path(post, path = "/api/transfers", tag = "original", security(("bearer" = [])),
    request_body = LegacyConfirmRequest,
    responses((status = 200, body = ConfirmResponse),
              (status = 404, description = "`status: false`: no such transfer identifier for this login", body = crate::error::ErrorBody),
              (status = 409, description = "`status: false`: already completed", body = crate::error::ErrorBody),
              (status = 410, description = "`status: false`: the identifier expired", body = crate::error::ErrorBody),
              (status = 422, description = "`status: false` plus the error", body = crate::error::ErrorBody)))]
pub async fn legacy_confirm(
    State(state): State<AppState>,
    user: Result<AuthUser, ApiError>,
    body: Result<ApiJson<LegacyConfirmRequest>, ApiError>,
) -> Response {
    let result = async {
        let user = user?;
        let req = match body {
            Ok(ApiJson(req)) => req,
            Err(e) => return Err(refused(&state, &user, 2, None, "malformed", e).await),
        };
        let id = match &req.transfer_identifier {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => {
                let e = ApiError::validation(
                    "transfer_identifier must be the number (or text) phase 1 answered",
                );
                return Err(refused(&state, &user, 2, None, "malformed", e).await);
            }
        };
        phase_two(&state, &user, &id, &req.signature).await
    }
    .await;
    match result {
        Ok(_) => Json(ConfirmResponse {
            status: true,
            deposit: None,
        })
        .into_response(),
        Err(e) => e.with_alias_status().into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn amounts_are_positive_whole_won_within_the_limit() {
        assert_eq!(
            parse_amount(&json!(1000), 10_000).ok(),
            Some(Won::new(1000))
        );
        for bad in [
            json!(0),
            json!(-5),
            json!(10.5),
            json!(1e3),
            json!("1000"),
            json!(null),
            json!(10_001),
            json!(u64::MAX),
        ] {
            assert!(parse_amount(&bad, 10_000).is_err(), "{bad}");
        }
    }
}
