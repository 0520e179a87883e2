//! Passwords (Argon2id), access tokens (HS256 JWT), refresh tokens (random, stored hashed) and
//! the authenticated-user extractor (bearer header, or session cookie + CSRF header).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use ginkgo_store::{Role, Scope, UserId};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::state::AppState;

pub const ACCESS_COOKIE: &str = "ginkgo_access";
pub const REFRESH_COOKIE: &str = "ginkgo_refresh";
pub const CSRF_COOKIE: &str = "ginkgo_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|_| ApiError::internal())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A valid Argon2id hash of a random password, verified against when the email is unknown so
/// that unknown emails and wrong passwords take the same time.
pub fn decoy_hash() -> String {
    hash_password(&random_token()).unwrap_or_default()
}

/// 32 random bytes, URL-safe base64.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Refresh tokens are stored as SHA-256 digests: a leaked table gives no usable token.
pub fn token_digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    pub sub: UserId,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cid: Option<i64>,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

type HmacSha256 = Hmac<Sha256>;

/// The only header Ginkgo issues or accepts: anything else (`alg: none`, RS256…) is refused.
const JWT_HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

pub fn sign_jwt(claims: &Claims, key: &[u8]) -> String {
    let header = URL_SAFE_NO_PAD.encode(JWT_HEADER);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let mut mac = HmacSha256::new_from_slice(key).unwrap_or_else(|_| {
        HmacSha256::new_from_slice(b"unreachable: HMAC accepts any key length").expect("hmac")
    });
    mac.update(signing_input.as_bytes());
    let sig = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    format!("{signing_input}.{sig}")
}

#[derive(Debug, PartialEq, Eq)]
pub enum JwtError {
    Malformed,
    BadHeader,
    BadSignature,
    Expired,
}

pub fn verify_jwt(token: &str, key: &[u8], now: DateTime<Utc>) -> Result<Claims, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed);
    };
    let header = URL_SAFE_NO_PAD.decode(h).map_err(|_| JwtError::Malformed)?;
    let header: serde_json::Value =
        serde_json::from_slice(&header).map_err(|_| JwtError::Malformed)?;
    if header.get("alg").and_then(|v| v.as_str()) != Some("HS256") {
        return Err(JwtError::BadHeader);
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| JwtError::Malformed)?;
    let mut mac = HmacSha256::new_from_slice(key).map_err(|_| JwtError::BadSignature)?;
    mac.update(h.as_bytes());
    mac.update(b".");
    mac.update(p.as_bytes());
    // verify_slice compares in constant time.
    mac.verify_slice(&sig).map_err(|_| JwtError::BadSignature)?;
    let payload = URL_SAFE_NO_PAD.decode(p).map_err(|_| JwtError::Malformed)?;
    let claims: Claims = serde_json::from_slice(&payload).map_err(|_| JwtError::Malformed)?;
    if claims.exp <= now.timestamp() {
        return Err(JwtError::Expired);
    }
    Ok(claims)
}

/// The logged-in user of a request.
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub user_id: UserId,
    pub role: Role,
    pub customer_id: Option<i64>,
}

impl AuthUser {
    /// Whose data this user may read: an operator reads everything; a customer without a claimed
    /// customer record reads nothing (scope of a customer id that cannot exist).
    pub fn scope(&self) -> Scope {
        match self.role {
            Role::Operator => Scope::Operator,
            Role::Customer => Scope::Customer(self.customer_id.unwrap_or(-1)),
        }
    }

    pub fn require_operator(&self) -> Result<(), ApiError> {
        if self.role == Role::Operator {
            Ok(())
        } else {
            Err(ApiError::forbidden("this route is for operators"))
        }
    }
}

pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A request that rides on the session cookies must echo the CSRF cookie in the `X-CSRF-Token`
/// header (double submit): a page on another site can make the browser send the cookies, but
/// cannot read them.
pub fn check_csrf(headers: &HeaderMap) -> Result<(), ApiError> {
    let sent = headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok());
    let expected = cookie(headers, CSRF_COOKIE);
    let ok = match (sent, expected) {
        (Some(a), Some(b)) if !b.is_empty() => bool::from(a.as_bytes().ct_eq(b.as_bytes())),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::forbidden("missing or wrong CSRF token"))
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let bearer = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.strip_prefix("Bearer ").ok_or(()));
        let token = match bearer {
            Some(Ok(t)) => t.trim().to_string(),
            Some(Err(())) => {
                return Err(ApiError::unauthorized(
                    "expected 'Authorization: Bearer <token>'",
                ));
            }
            None => {
                let Some(t) = cookie(&parts.headers, ACCESS_COOKIE) else {
                    return Err(ApiError::unauthorized("log in first"));
                };
                // Cookie sessions: every state-changing request must prove it came from our page.
                if !matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS) {
                    check_csrf(&parts.headers)?;
                }
                t.to_string()
            }
        };
        let claims = verify_jwt(&token, state.jwt_key(), Utc::now()).map_err(|e| match e {
            JwtError::Expired => ApiError::unauthorized("the access token has expired; refresh it"),
            _ => ApiError::unauthorized("invalid access token"),
        })?;
        Ok(AuthUser {
            user_id: claims.sub,
            role: claims.role,
            customer_id: claims.cid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: 7,
            role: Role::Customer,
            cid: Some(3),
            iat: 0,
            exp,
            jti: "j".into(),
        }
    }

    #[test]
    fn jwt_round_trip_and_tampering() {
        let key = b"0123456789abcdef0123456789abcdef";
        let now = Utc::now();
        let token = sign_jwt(&claims(now.timestamp() + 60), key);
        assert_eq!(
            verify_jwt(&token, key, now),
            Ok(claims(now.timestamp() + 60))
        );
        assert_eq!(
            verify_jwt(&token, b"another key another key another k", now),
            Err(JwtError::BadSignature)
        );
        let expired = sign_jwt(&claims(now.timestamp() - 1), key);
        assert_eq!(verify_jwt(&expired, key, now), Err(JwtError::Expired));
        // Swap the payload for an operator's: the signature no longer matches.
        let parts: Vec<&str> = token.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Claims {
                role: Role::Operator,
                ..claims(now.timestamp() + 60)
            })
            .expect("json"),
        );
        let forged = format!("{}.{}.{}", parts[0], forged_payload, parts[2]);
        assert_eq!(verify_jwt(&forged, key, now), Err(JwtError::BadSignature));
        // alg: none is refused whatever the signature.
        let none_header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let none = format!("{none_header}.{}.", parts[1]);
        assert_eq!(verify_jwt(&none, key, now), Err(JwtError::BadHeader));
        assert_eq!(verify_jwt("a.b", key, now), Err(JwtError::Malformed));
        assert_eq!(verify_jwt("", key, now), Err(JwtError::Malformed));
    }

    #[test]
    fn passwords_hash_with_argon2id() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
