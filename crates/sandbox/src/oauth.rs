//! `/oauth/2.0/authorize` (consent page) and `/oauth/2.0/token`.

// Handlers return early with a finished `Response`; boxing it would only add noise.
#![allow(clippy::result_large_err)]

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use ginkgo_openbanking::wire::{AuthorizeQuery, TokenResponse};
use subtle::ConstantTimeEq;

use crate::api::{gateway_error, method_not_allowed};
use crate::jwt::{self, Claims, ISSUER, JwtError};
use crate::{
    ACCESS_TOKEN_SECONDS, CODE_SECONDS, Inner, PendingCode, REFRESH_EXTRA_SECONDS, SandboxError,
};

type Shared = Arc<Inner>;

const USER_SCOPES: &[&str] = &["inquiry", "login", "transfer"];

pub(crate) fn authorize_routes() -> Router<Shared> {
    Router::new().route(
        "/oauth/2.0/authorize",
        get(consent_page)
            .post(consent_submit)
            .fallback(method_not_allowed),
    )
}

pub(crate) fn token_routes() -> Router<Shared> {
    Router::new().route("/oauth/2.0/token", post(token).fallback(method_not_allowed))
}

fn o0001(detail: &str) -> Response {
    gateway_error("O0001", &format!("인증 파라미터 오류([{detail}])"))
}

/// Validates an authorize request; returns the sorted, de-duplicated scopes.
fn validate_authorize(inner: &Inner, q: &AuthorizeQuery) -> Result<Vec<String>, Response> {
    if [
        &q.response_type,
        &q.client_id,
        &q.redirect_uri,
        &q.scope,
        &q.state,
    ]
    .iter()
    .any(|v| v.trim().is_empty())
    {
        return Err(o0001("3000103"));
    }
    if !bool::from(
        q.client_id
            .as_bytes()
            .ct_eq(inner.config.client_id.as_bytes()),
    ) {
        return Err(o0001("3000201"));
    }
    if !inner.config.redirect_allowed(&q.redirect_uri) {
        return Err(o0001("3000114"));
    }
    if q.response_type != "code" {
        return Err(o0001("3000116"));
    }
    // The documented `state` is 32 characters; the testbed profile holds clients to it.
    if inner.profile() == crate::config::Profile::Testbed && q.state.chars().count() != 32 {
        return Err(o0001("3000103"));
    }
    if !q.auth_type.is_empty() && !matches!(q.auth_type.as_str(), "0" | "1" | "2") {
        return Err(o0001("3000103"));
    }
    let scopes: BTreeSet<String> = q.scope.split_whitespace().map(str::to_string).collect();
    if scopes.is_empty() || scopes.iter().any(|s| !USER_SCOPES.contains(&s.as_str())) {
        return Err(o0001("3000115"));
    }
    Ok(scopes.into_iter().collect())
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        r#"<input type="hidden" name="{}" value="{}">"#,
        escape(name),
        escape(value)
    )
}

fn consent_html(
    inner: &Inner,
    q: &AuthorizeQuery,
    scopes: &[String],
    problem: Option<&str>,
) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"ko\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>오픈뱅킹 샌드박스 - 계좌 등록 동의</title></head><body>\n\
         <h1>오픈뱅킹 샌드박스</h1>\n<p>로컬 테스트용 모의 인증 화면입니다. 실제 금융기관과 연결되지 않습니다.</p>\n",
    );
    html.push_str(&format!(
        "<p>요청 권한(scope): {}</p>\n",
        escape(&scopes.join(" "))
    ));
    if let Some(problem) = problem {
        html.push_str(&format!(
            "<p role=\"alert\"><strong>{}</strong></p>\n",
            escape(problem)
        ));
    }
    html.push_str("<form method=\"post\" action=\"/oauth/2.0/authorize\">\n");
    html.push_str(&hidden("response_type", &q.response_type));
    html.push_str(&hidden("client_id", &q.client_id));
    html.push_str(&hidden("redirect_uri", &q.redirect_uri));
    html.push_str(&hidden("scope", &q.scope));
    html.push_str(&hidden("state", &q.state));
    html.push_str(&hidden("auth_type", &q.auth_type));
    html.push_str(&hidden(
        "client_info",
        q.client_info.as_deref().unwrap_or(""),
    ));
    html.push('\n');
    for (i, user) in inner.users.iter().enumerate() {
        html.push_str("<fieldset>\n");
        html.push_str(&format!(
            "<legend><label><input type=\"radio\" name=\"user_seq_no\" value=\"{}\"{}> {} (사용자일련번호 {})</label></legend>\n",
            escape(&user.user_seq_no),
            if i == 0 { " checked" } else { "" },
            escape(&user.name),
            escape(&user.user_seq_no)
        ));
        for account in &user.accounts {
            html.push_str(&format!(
                "<div><label><input type=\"checkbox\" name=\"fintech_use_num\" value=\"{}\"> {} {} ({})</label></div>\n",
                escape(&account.fintech_use_num),
                escape(account.bank_name),
                escape(&account.account_num_masked),
                escape(&account.alias)
            ));
        }
        html.push_str("</fieldset>\n");
    }
    html.push_str(
        "<p>선택한 사용자의 계좌만 등록됩니다.</p>\n\
         <button type=\"submit\" name=\"action\" value=\"approve\">동의하고 계좌 등록</button>\n\
         <button type=\"submit\" name=\"action\" value=\"cancel\">취소</button>\n</form>\n</body></html>\n",
    );
    html
}

fn html_page(status: StatusCode, body: String) -> Response {
    let mut r = (status, Html(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert("X-Frame-Options", HeaderValue::from_static("DENY"));
    r
}

async fn consent_page(State(inner): State<Shared>, RawQuery(query): RawQuery) -> Response {
    let Ok(q) = serde_urlencoded::from_str::<AuthorizeQuery>(query.as_deref().unwrap_or("")) else {
        return o0001("3000103");
    };
    match validate_authorize(&inner, &q) {
        Ok(scopes) => html_page(StatusCode::OK, consent_html(&inner, &q, &scopes, None)),
        Err(resp) => resp,
    }
}

/// `uri?k=v&…` (or `&` when `uri` already has a query); spaces as `%20`.
pub(crate) fn redirect_with(uri: &str, pairs: &[(&str, &str)]) -> String {
    let q = serde_urlencoded::to_string(pairs)
        .unwrap_or_default()
        .replace('+', "%20");
    let sep = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{sep}{q}")
}

fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => {
            let mut r = StatusCode::FOUND.into_response();
            r.headers_mut().insert(header::LOCATION, v);
            r.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(_) => o0001("3000114"),
    }
}

fn random_code() -> String {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = uuid::Uuid::new_v4().as_bytes().to_vec();
    bytes.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    bytes
        .iter()
        .take(30)
        .map(|b| ALNUM[usize::from(*b) % ALNUM.len()] as char)
        .collect()
}

pub(crate) fn register(
    inner: &Inner,
    user_seq_no: &str,
    fins: &[&str],
) -> Result<(), SandboxError> {
    let user = inner
        .user_index
        .get(user_seq_no)
        .and_then(|&i| inner.users.get(i))
        .ok_or_else(|| SandboxError::UnknownUser(user_seq_no.to_string()))?;
    if fins.is_empty()
        || fins
            .iter()
            .any(|f| !user.accounts.iter().any(|a| a.fintech_use_num == *f))
    {
        return Err(SandboxError::UnknownAccount);
    }
    let at = inner
        .now()
        .with_timezone(&ginkgo_domain::time::kst())
        .naive_local();
    let mut m = inner.lock();
    let entry = m.registrations.entry(user_seq_no.to_string()).or_default();
    for f in fins {
        entry.entry((*f).to_string()).or_insert(at);
    }
    Ok(())
}

async fn consent_submit(State(inner): State<Shared>, body: Bytes) -> Response {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return o0001("3000103");
    };
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let client_info = get("client_info");
    let q = AuthorizeQuery {
        response_type: get("response_type"),
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        scope: get("scope"),
        state: get("state"),
        auth_type: get("auth_type"),
        client_info: Some(client_info.clone()),
        lang: None,
    };
    let scopes = match validate_authorize(&inner, &q) {
        Ok(s) => s,
        Err(resp) => return resp,
    };
    if get("action") == "cancel" {
        return found(&redirect_with(
            &q.redirect_uri,
            &[
                ("error", "access_denied"),
                ("error_description", "사용자가 인증을 취소하였습니다"),
                ("state", &q.state),
            ],
        ));
    }
    let user_seq_no = get("user_seq_no");
    let fins: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "fintech_use_num")
        .map(|(_, v)| v.as_str())
        .collect();
    if let Err(e) = register(&inner, &user_seq_no, &fins) {
        let problem = match e {
            SandboxError::UnknownUser(_) => "사용자를 선택하세요.",
            _ => "선택한 사용자의 계좌를 하나 이상 선택하세요.",
        };
        return html_page(
            StatusCode::BAD_REQUEST,
            consent_html(&inner, &q, &scopes, Some(problem)),
        );
    }
    let code = random_code();
    {
        let now = inner.now();
        let mut m = inner.lock();
        m.codes
            .retain(|_, c| (now - c.issued_at).num_seconds() <= CODE_SECONDS);
        m.codes.insert(
            code.clone(),
            PendingCode {
                client_id: q.client_id.clone(),
                redirect_uri: q.redirect_uri.clone(),
                user_seq_no,
                scopes: scopes.clone(),
                issued_at: now,
            },
        );
    }
    let scope = scopes.join(" ");
    found(&redirect_with(
        &q.redirect_uri,
        &[
            ("code", &code),
            ("scope", &scope),
            ("client_info", &client_info),
            ("state", &q.state),
        ],
    ))
}

fn token_json(body: &TokenResponse) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let mut r = (StatusCode::OK, bytes).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    h.insert(
        "X-Content-Type-Options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "X-XSS-Protection",
        HeaderValue::from_static("1; mode=block"),
    );
    h.insert("X-Frame-Options", HeaderValue::from_static("DENY"));
    r
}

fn token_error(code: &str, message: &str) -> Response {
    token_json(&TokenResponse {
        rsp_code: Some(code.to_string()),
        rsp_message: Some(message.to_string()),
        ..Default::default()
    })
}

fn token_o0001(detail: &str) -> Response {
    token_error("O0001", &format!("인증 파라미터 오류([{detail}])"))
}

fn new_jti() -> String {
    uuid::Uuid::new_v4().to_string()
}

pub(crate) fn issue_user_tokens(
    inner: &Inner,
    user_seq_no: &str,
    scopes: &[String],
) -> Result<TokenResponse, JwtError> {
    let mut scopes = scopes.to_vec();
    scopes.sort();
    scopes.dedup();
    let key = inner.config.token_signing_key.as_bytes();
    let exp = inner.now().timestamp() + ACCESS_TOKEN_SECONDS;
    let access = Claims {
        aud: user_seq_no.to_string(),
        scope: scopes.clone(),
        iss: ISSUER.into(),
        exp,
        jti: new_jti(),
    };
    let refresh = Claims {
        exp: exp + REFRESH_EXTRA_SECONDS,
        jti: new_jti(),
        ..access.clone()
    };
    let access_token = jwt::sign(key, &access)?;
    let refresh_token = jwt::sign(key, &refresh)?;
    let mut m = inner.lock();
    m.user_jtis
        .entry(user_seq_no.to_string())
        .or_default()
        .extend([access.jti.clone(), refresh.jti.clone()]);
    m.refresh_jtis.insert(refresh.jti);
    drop(m);
    Ok(TokenResponse {
        access_token: Some(access_token),
        token_type: Some("Bearer".into()),
        expires_in: Some(ACCESS_TOKEN_SECONDS),
        refresh_token: Some(refresh_token),
        scope: Some(scopes.join(" ")),
        user_seq_no: Some(user_seq_no.to_string()),
        ..Default::default()
    })
}

fn issued(result: Result<TokenResponse, JwtError>) -> Response {
    match result {
        Ok(t) => token_json(&t),
        Err(_) => token_error("O0007", "요청을 처리할 수 없습니다"),
    }
}

async fn token(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !is_form {
        return token_o0001("3000103");
    }
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return token_o0001("3000103");
    };
    let mut seen = BTreeSet::new();
    if pairs.iter().any(|(k, _)| !seen.insert(k.as_str())) {
        return token_o0001("3000103");
    }
    let field = |k: &str| {
        pairs
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    let (Some(grant_type), Some(client_id), Some(client_secret)) = (
        field("grant_type"),
        field("client_id"),
        field("client_secret"),
    ) else {
        return token_o0001("3000103");
    };
    let id_ok = client_id
        .as_bytes()
        .ct_eq(inner.config.client_id.as_bytes());
    let secret_ok = client_secret
        .as_bytes()
        .ct_eq(inner.config.client_secret.as_bytes());
    if !bool::from(id_ok & secret_ok) {
        return token_o0001("3000201");
    }
    match grant_type {
        "authorization_code" => {
            let (Some(code), Some(redirect_uri)) = (field("code"), field("redirect_uri")) else {
                return token_o0001("3000103");
            };
            let pending = inner.lock().codes.remove(code);
            let Some(pending) = pending else {
                return token_o0001("3002110");
            };
            if (inner.now() - pending.issued_at).num_seconds() > CODE_SECONDS
                || pending.client_id != client_id
            {
                return token_o0001("3002110");
            }
            if pending.redirect_uri != redirect_uri {
                return token_o0001("3000114");
            }
            issued(issue_user_tokens(
                &inner,
                &pending.user_seq_no,
                &pending.scopes,
            ))
        }
        "refresh_token" => {
            let Some(refresh) = field("refresh_token") else {
                return token_o0001("3000103");
            };
            {
                let mut m = inner.lock();
                if m.faults.refuse_refresh_next > 0 {
                    m.faults.refuse_refresh_next -= 1;
                    return token_o0001("3000103");
                }
                // The testbed profile is strict where the real center's rule is unconfirmed:
                // a refresh without `scope` is refused.
                if m.profile == crate::config::Profile::Testbed && field("scope").is_none() {
                    return token_o0001("3000103");
                }
            }
            let claims = match jwt::verify(inner.config.token_signing_key.as_bytes(), refresh) {
                Ok(c) if c.iss == ISSUER => c,
                _ => return token_error("O0014", "Refresh Token 거부"),
            };
            let scopes = {
                // Single use: the first refresh spends the token (its successor comes back in
                // the answer); a replay, an unknown or a revoked one is refused.
                let mut m = inner.lock();
                let usable = m.refresh_jtis.contains(&claims.jti)
                    && !m.spent_refresh_jtis.contains(&claims.jti)
                    && !m.revoked_jtis.contains(&claims.jti);
                if !usable {
                    return token_error("O0014", "Refresh Token 거부");
                }
                if claims.exp < inner.now().timestamp() {
                    return token_error("O0015", "Refresh Token 기간 만료");
                }
                let scopes = match field("scope") {
                    Some(requested) => {
                        let requested: Vec<String> =
                            requested.split_whitespace().map(str::to_string).collect();
                        if requested.iter().any(|s| !claims.scope.contains(s)) {
                            return token_o0001("3000115");
                        }
                        requested
                    }
                    None => claims.scope.clone(),
                };
                m.spent_refresh_jtis.insert(claims.jti.clone());
                scopes
            };
            issued(issue_user_tokens(&inner, &claims.aud, &scopes))
        }
        "client_credentials" => match field("scope") {
            Some("oob") => {
                let claims = Claims {
                    aud: inner.config.client_use_code.clone(),
                    scope: vec!["oob".into()],
                    iss: ISSUER.into(),
                    exp: inner.now().timestamp() + ACCESS_TOKEN_SECONDS,
                    jti: new_jti(),
                };
                match jwt::sign(inner.config.token_signing_key.as_bytes(), &claims) {
                    Ok(access_token) => token_json(&TokenResponse {
                        access_token: Some(access_token),
                        token_type: Some("Bearer".into()),
                        expires_in: Some(ACCESS_TOKEN_SECONDS),
                        scope: Some("oob".into()),
                        client_use_code: Some(inner.config.client_use_code.clone()),
                        ..Default::default()
                    }),
                    Err(_) => token_error("O0007", "요청을 처리할 수 없습니다"),
                }
            }
            Some("sa") => token_error("O0011", "허용되지 않은 Scope 입니다."),
            _ => token_o0001("3000103"),
        },
        _ => token_o0001("3000103"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            escape(r#"<script>"x"&'y'</script>"#),
            "&lt;script&gt;&quot;x&quot;&amp;&#39;y&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn redirects_append_a_query() {
        assert_eq!(
            redirect_with("http://a/cb", &[("scope", "inquiry login")]),
            "http://a/cb?scope=inquiry%20login"
        );
        assert_eq!(
            redirect_with("http://a/cb?x=1", &[("state", "s&t")]),
            "http://a/cb?x=1&state=s%26t"
        );
    }

    #[test]
    fn codes_are_thirty_alphanumerics() {
        let c = random_code();
        assert_eq!(c.len(), 30);
        assert!(c.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(c, random_code());
    }
}
