//! Sign-up, login, token refresh, logout, claiming a customer record, and `me`.

use std::net::SocketAddr;

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Duration, Utc};
use ginkgo_domain::CustomerName;
use ginkgo_store::{EMAIL_TAKEN, NewUser, Role, StoreError, User};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{
    ACCESS_COOKIE, AuthUser, CSRF_COOKIE, Claims, REFRESH_COOKIE, check_csrf, cookie,
    hash_password, random_token, sign_jwt, token_digest, verify_password,
};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/signup", post(signup))
        .route("/api/v1/auth/login", post(login))
        .route("/api/v1/auth/refresh", post(refresh))
        .route("/api/v1/auth/logout", post(logout))
        .route("/api/v1/auth/claim", post(claim))
        .route("/api/v1/me", get(me))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    #[schema(example = "ryu@example.com")]
    pub email: String,
    /// 10 to 128 characters.
    #[schema(
        example = "correct horse battery staple",
        min_length = 10,
        max_length = 128
    )]
    pub password: String,
    /// Optionally claim a customer record at once (name + one of their account numbers).
    #[schema(example = "류영길")]
    pub customer_name: Option<String>,
    #[schema(example = "5736692368320")]
    pub account_number: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    #[schema(example = "ryu@example.com")]
    pub email: String,
    #[schema(example = "correct horse battery staple")]
    pub password: String,
}

#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token; may be omitted when it travels in the session cookie.
    #[schema(example = "h3Vq0cYtN2a9Lw5mR8xPzK1bJ4dF7gS6")]
    pub refresh_token: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    #[schema(example = "류영길")]
    pub customer_name: String,
    #[schema(example = "5736692368320")]
    pub account_number: String,
}

#[derive(Serialize, ToSchema)]
pub struct Session {
    /// Short-lived HS256 JWT for `Authorization: Bearer`.
    #[schema(
        example = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOjMsInJvbGUiOiJjdXN0b21lciIsImNpZCI6MTcsImlhdCI6MTc5NTY4MDAwMCwiZXhwIjoxNzk1NjgwOTAwLCJqdGkiOiJhIn0.c2lnbmF0dXJl"
    )]
    pub access_token: String,
    #[schema(example = "Bearer")]
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    #[schema(example = 900)]
    pub expires_in: i64,
    /// Long-lived, single-use, revocable.
    #[schema(example = "h3Vq0cYtN2a9Lw5mR8xPzK1bJ4dF7gS6")]
    pub refresh_token: String,
    pub user: Me,
}

#[derive(Serialize, ToSchema)]
pub struct Me {
    #[schema(example = 3)]
    pub id: i64,
    #[schema(example = "ryu@example.com")]
    pub email: String,
    pub role: Role,
    #[schema(example = 12)]
    pub customer_id: Option<i64>,
    #[schema(example = "류영길")]
    pub customer_name: Option<String>,
}

impl From<User> for Me {
    fn from(u: User) -> Self {
        Me {
            id: u.id,
            email: u.email,
            role: u.role,
            customer_id: u.customer_id,
            customer_name: u.customer_name,
        }
    }
}

/// The refresh token from an optional JSON body (`{}` or no body at all is fine: the cookie may
/// carry it).
fn optional_refresh(body: &[u8]) -> ApiResult<Option<String>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let req: RefreshRequest = serde_json::from_slice(body).map_err(|e| {
        ApiError::bad_request("malformed_json", format!("invalid request body: {e}"))
    })?;
    Ok(req.refresh_token)
}

/// The refresh token of a request: from the JSON body (API clients), or from the session cookie
/// (the web app), which then needs the CSRF header like every other cookie request.
fn refresh_token_of(headers: &HeaderMap, body: &[u8]) -> ApiResult<Option<String>> {
    if let Some(token) = optional_refresh(body)? {
        return Ok(Some(token));
    }
    match cookie(headers, REFRESH_COOKIE) {
        Some(token) => {
            check_csrf(headers)?;
            Ok(Some(token.to_string()))
        }
        None => Ok(None),
    }
}

pub fn normalize_email(email: &str) -> Result<String, ApiError> {
    let e = email.trim().to_lowercase();
    let valid = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !e.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(e)
    } else {
        Err(ApiError::validation("email is not a valid address"))
    }
}

pub fn check_password_policy(password: &str) -> Result<(), ApiError> {
    let n = password.chars().count();
    if n < 10 {
        return Err(ApiError::validation(
            "password must be at least 10 characters",
        ));
    }
    if n > 128 {
        return Err(ApiError::validation(
            "password must be at most 128 characters",
        ));
    }
    Ok(())
}

/// The client's address for rate limits. Behind a trusted reverse proxy
/// (`trust_forwarded_for`), that is the address the proxy appended last to `X-Forwarded-For`:
/// entries to its left came from the client and can say anything.
pub(crate) fn client_address(state: &AppState, headers: &HeaderMap, peer: SocketAddr) -> String {
    if state.config().trust_forwarded_for
        && let Some(last) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|v| !v.is_empty())
    {
        return last.to_string();
    }
    peer.ip().to_string()
}

/// Issues an access token and a fresh refresh token, as JSON and as HttpOnly cookies.
pub async fn issue_session(
    state: &AppState,
    user: User,
    status: StatusCode,
) -> ApiResult<Response> {
    let (access, refresh, expires_in) = new_tokens(state, &user).await?;
    let body = Session {
        access_token: access.clone(),
        token_type: "Bearer",
        expires_in,
        refresh_token: refresh.clone(),
        user: user.into(),
    };
    let mut response = (status, Json(body)).into_response();
    set_session_cookies(state, response.headers_mut(), &access, &refresh, expires_in);
    Ok(response)
}

async fn new_tokens(state: &AppState, user: &User) -> ApiResult<(String, String, i64)> {
    let refresh = random_token();
    let days = state.config().auth.refresh_token_days;
    state
        .store()
        .insert_refresh_token(
            user.id,
            &token_digest(&refresh),
            Utc::now() + Duration::days(days),
        )
        .await?;
    let (access, expires_in) = access_token(state, user);
    Ok((access, refresh, expires_in))
}

fn access_token(state: &AppState, user: &User) -> (String, i64) {
    let now = Utc::now();
    let ttl = state.config().auth.access_token_minutes * 60;
    let claims = Claims {
        sub: user.id,
        role: user.role,
        cid: user.customer_id,
        iat: now.timestamp(),
        exp: now.timestamp() + ttl,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    (sign_jwt(&claims, state.jwt_key()), ttl)
}

pub fn set_session_cookies(
    state: &AppState,
    headers: &mut HeaderMap,
    access: &str,
    refresh: &str,
    ttl: i64,
) {
    let secure = if state.config().auth.secure_cookies {
        "; Secure"
    } else {
        ""
    };
    let days = state.config().auth.refresh_token_days * 86_400;
    let csrf = random_token();
    for c in [
        format!(
            "{ACCESS_COOKIE}={access}; Path=/; HttpOnly; SameSite=Strict; Max-Age={ttl}{secure}"
        ),
        format!(
            "{REFRESH_COOKIE}={refresh}; Path=/api/v1/auth; HttpOnly; SameSite=Strict; Max-Age={days}{secure}"
        ),
        // Readable by the page's script, which echoes it in the X-CSRF-Token header.
        format!("{CSRF_COOKIE}={csrf}; Path=/; SameSite=Strict; Max-Age={days}{secure}"),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            headers.append(header::SET_COOKIE, v);
        }
    }
}

fn clear_session_cookies(headers: &mut HeaderMap) {
    for (name, path) in [
        (ACCESS_COOKIE, "/"),
        (REFRESH_COOKIE, "/api/v1/auth"),
        (CSRF_COOKIE, "/"),
    ] {
        if let Ok(v) =
            HeaderValue::from_str(&format!("{name}=; Path={path}; Max-Age=0; SameSite=Strict"))
        {
            headers.append(header::SET_COOKIE, v);
        }
    }
}

/// Create a login; optionally claim a customer record in the same step.
#[utoipa::path(post, path = "/api/v1/auth/signup", tag = "auth", request_body = SignupRequest,
    responses((status = 201, body = Session),
              (status = 404, description = "No customer with this name holds this account number", body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody),
              (status = 422, body = crate::error::ErrorBody)))]
pub async fn signup(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<SignupRequest>,
) -> ApiResult<Response> {
    let email = normalize_email(&req.email)?;
    check_password_policy(&req.password)?;
    // Every input is checked before anything is written: a refused claim creates no login.
    let claim = match (&req.customer_name, &req.account_number) {
        (Some(n), Some(a)) => Some(parse_claim(n, a)?),
        (None, None) => None,
        _ => {
            return Err(ApiError::validation(
                "give both customer_name and account_number, or neither",
            ));
        }
    };
    let password = req.password;
    let hash = state
        .password_work(move || hash_password(&password))
        .await??;
    let new = NewUser {
        email,
        password_hash: hash,
        role: Role::Customer,
        customer_id: None,
    };
    let user = match claim {
        None => state
            .store()
            .create_user(new)
            .await
            .map_err(signup_conflict)?,
        Some((name, number)) => {
            let address = client_address(&state, &headers, peer);
            let limiter = ClaimLimiter::new(&state, &name, None, &address);
            limiter.reserve().await?;
            match state
                .store()
                .create_user_claiming(new, name.as_str(), number.as_str())
                .await
            {
                Ok(user) => {
                    limiter.forgive().await?;
                    user
                }
                Err(StoreError::NotFound) => return Err(no_such_customer()),
                Err(e) => return Err(signup_conflict(e)),
            }
        }
    };
    issue_session(&state, user, StatusCode::CREATED).await
}

fn signup_conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(m) if m == EMAIL_TAKEN => {
            ApiError::conflict("email_taken", "an account with this email already exists")
        }
        StoreError::Conflict(m) => ApiError::conflict("already_claimed", m),
        other => other.into(),
    }
}

fn no_such_customer() -> ApiError {
    ApiError::not_found("no customer with this name holds this account number")
}

fn parse_claim(
    name: &str,
    number: &str,
) -> ApiResult<(CustomerName, ginkgo_domain::AccountNumber)> {
    let name = CustomerName::parse(name).map_err(|e| ApiError::validation(e.to_string()))?;
    let number = ginkgo_domain::AccountNumber::parse(number)
        .map_err(|e| ApiError::validation(e.to_string()))?;
    Ok((name, number))
}

/// Claims prove who a person is by a name and an account number, so they are limited like
/// passwords: per login, per customer name (one customer's numbers cannot be guessed from many
/// logins) and per client address. Every attempt counts until it succeeds.
struct ClaimLimiter<'a> {
    state: &'a AppState,
    subjects: Vec<(String, u32)>,
    at: chrono::DateTime<Utc>,
}

impl<'a> ClaimLimiter<'a> {
    fn new(state: &'a AppState, name: &CustomerName, user: Option<i64>, address: &str) -> Self {
        let limits = &state.config().auth;
        let mut subjects = vec![
            (
                format!("claim-name:{}", name.as_str()),
                limits.max_failures_per_account,
            ),
            (
                format!("claim-ip:{address}"),
                limits.max_failures_per_address,
            ),
        ];
        if let Some(user) = user {
            subjects.push((format!("claim:{user}"), limits.max_failures_per_account));
        }
        ClaimLimiter {
            state,
            subjects,
            at: Utc::now(),
        }
    }

    async fn reserve(&self) -> ApiResult<()> {
        let since = self.at - Duration::minutes(1);
        if self
            .state
            .store()
            .reserve_login_attempt(&self.subjects, since, self.at)
            .await?
        {
            Ok(())
        } else {
            Err(too_many("too many failed attempts; wait a minute"))
        }
    }

    async fn forgive(&self) -> ApiResult<()> {
        let names: Vec<String> = self.subjects.iter().map(|(s, _)| s.clone()).collect();
        Ok(self
            .state
            .store()
            .forgive_login_attempt(&names, self.at)
            .await?)
    }
}

fn too_many(message: &str) -> ApiError {
    ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_attempts", message)
}

async fn claim_for(
    state: &AppState,
    user_id: i64,
    address: &str,
    name: &str,
    number: &str,
) -> ApiResult<User> {
    let (name, number) = parse_claim(name, number)?;
    let limiter = ClaimLimiter::new(state, &name, Some(user_id), address);
    limiter.reserve().await?;
    match state
        .store()
        .claim_customer(user_id, name.as_str(), number.as_str())
        .await
    {
        Ok(u) => {
            limiter.forgive().await?;
            Ok(u)
        }
        Err(StoreError::NotFound) => Err(no_such_customer()),
        Err(StoreError::Conflict(m)) => Err(ApiError::conflict("already_claimed", m)),
        Err(e) => Err(e.into()),
    }
}

/// Log in with email and password. Ten failures a minute per account (and fifty per client
/// address) are allowed; further attempts are refused without checking the password.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Session), (status = 401, body = crate::error::ErrorBody),
              (status = 429, body = crate::error::ErrorBody)))]
pub async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> ApiResult<Response> {
    let email = req.email.trim().to_lowercase();
    let limits = &state.config().auth;
    let subjects = vec![
        (format!("email:{email}"), limits.max_failures_per_account),
        (
            format!("ip:{}", client_address(&state, &headers, peer)),
            limits.max_failures_per_address,
        ),
    ];
    let store = state.store();
    // The attempt counts as a failure before the password is checked, atomically with the
    // limit check: however many guesses arrive at once, no more than the limit are verified.
    let at = Utc::now();
    if !store
        .reserve_login_attempt(&subjects, at - Duration::minutes(1), at)
        .await?
    {
        crate::metrics::login_refused("too_many_failures");
        return Err(too_many(
            "too many failed logins; wait a minute and try again",
        ));
    }
    let creds = store.credentials_by_email(&email).await?;
    let hash = creds
        .as_ref()
        .map(|c| c.password_hash.clone())
        .unwrap_or_else(|| state.decoy_hash().to_string());
    let password = req.password;
    let ok = state
        .password_work(move || verify_password(&password, &hash))
        .await?;
    match creds {
        Some(c) if ok => {
            let names: Vec<String> = subjects.into_iter().map(|(s, _)| s).collect();
            store.forgive_login_attempt(&names, at).await?;
            tracing::info!(user_id = c.user.id, "login");
            issue_session(&state, c.user, StatusCode::OK).await
        }
        _ => {
            crate::metrics::login_refused("wrong_credentials");
            Err(ApiError::unauthorized("wrong email or password"))
        }
    }
}

/// Exchange a refresh token for a new access token and a new refresh token (the old one is spent).
#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = Session), (status = 401, body = crate::error::ErrorBody)))]
pub async fn refresh(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let token = refresh_token_of(&headers, &body)?
        .ok_or_else(|| ApiError::unauthorized("no refresh token given"))?;
    let new_refresh = random_token();
    let now = Utc::now();
    let days = state.config().auth.refresh_token_days;
    let user_id = state
        .store()
        .rotate_refresh_token(
            &token_digest(&token),
            &token_digest(&new_refresh),
            now + Duration::days(days),
            now,
        )
        .await?
        .ok_or_else(|| {
            ApiError::unauthorized("the refresh token is invalid, expired or revoked; log in again")
        })?;
    let user = state
        .store()
        .user_by_id(user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("no such user"))?;
    let (access, expires_in) = access_token(&state, &user);
    let body = Session {
        access_token: access.clone(),
        token_type: "Bearer",
        expires_in,
        refresh_token: new_refresh.clone(),
        user: user.into(),
    };
    let mut response = Json(body).into_response();
    set_session_cookies(
        &state,
        response.headers_mut(),
        &access,
        &new_refresh,
        expires_in,
    );
    Ok(response)
}

/// Revoke a refresh token (and clear the session cookies).
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", request_body = RefreshRequest,
    responses((status = 204, description = "Logged out")))]
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let token = refresh_token_of(&headers, &body)?;
    if let Some(token) = token {
        state
            .store()
            .revoke_refresh_token(&token_digest(&token), Utc::now())
            .await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    clear_session_cookies(response.headers_mut());
    Ok(response)
}

/// Claim the customer record you are: the customer's name and one of their account numbers.
#[utoipa::path(post, path = "/api/v1/auth/claim", tag = "auth", request_body = ClaimRequest,
    security(("bearer" = [])),
    responses((status = 200, body = Session), (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody)))]
pub async fn claim(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    user: AuthUser,
    ApiJson(req): ApiJson<ClaimRequest>,
) -> ApiResult<Response> {
    let address = client_address(&state, &headers, peer);
    let updated = claim_for(
        &state,
        user.user_id,
        &address,
        &req.customer_name,
        &req.account_number,
    )
    .await?;
    // The access token carries the customer id: issue a new session.
    issue_session(&state, updated, StatusCode::OK).await
}

/// The logged-in user.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = crate::error::ErrorBody)))]
pub async fn me(State(state): State<AppState>, user: AuthUser) -> ApiResult<Json<Me>> {
    let u = state
        .store()
        .user_by_id(user.user_id)
        .await?
        .ok_or_else(|| ApiError::unauthorized("no such user"))?;
    Ok(Json(u.into()))
}
