//! Degrading gracefully: a cap on requests in flight (load shedding with 503 and
//! `Retry-After`), and an in-memory per-address limiter in front of the authentication routes
//! (429), so that a flood is refused before it reaches Argon2 or the database. The connection
//! cap and the header-read timeout live in the serve loop (`app::serve`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::error::ApiError;
use crate::state::AppState;

/// Seconds a shed or limited client is told to wait.
const RETRY_AFTER_SECONDS: u64 = 1;

/// At most `max` requests run at once; the next is answered 503 at once instead of queueing.
#[derive(Clone)]
pub struct InFlight {
    slots: Arc<Semaphore>,
}

impl InFlight {
    pub fn new(max: usize) -> Self {
        InFlight {
            slots: Arc::new(Semaphore::new(max.max(1))),
        }
    }
}

fn with_retry_after(error: ApiError, seconds: u64) -> Response {
    let mut response = error.into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from_str(&seconds.to_string()).unwrap_or(HeaderValue::from_static("1")),
    );
    response
}

/// Sheds load: a request that finds every slot taken answers 503 `overloaded` with
/// `Retry-After`. `/livez` is never shed (a busy process is alive).
pub async fn shed_load(State(limit): State<InFlight>, request: Request, next: Next) -> Response {
    if request.uri().path() == "/livez" {
        return next.run(request).await;
    }
    match limit.slots.clone().try_acquire_owned() {
        Ok(_slot) => next.run(request).await,
        Err(_) => {
            tracing::warn!("shedding load: every request slot is taken");
            crate::metrics::shed("overloaded");
            with_retry_after(
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "overloaded",
                    "the server is busy; retry shortly",
                ),
                RETRY_AFTER_SECONDS,
            )
        }
    }
}

/// A token bucket per client address: `per_minute` requests, refilled evenly.
pub struct AddressLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Above this many addresses remembered, full buckets are forgotten.
const MAX_REMEMBERED: usize = 100_000;

impl AddressLimiter {
    pub fn new(per_minute: u32) -> Self {
        AddressLimiter {
            per_minute: per_minute.max(1),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `address`: `Err(seconds to wait)` when it has none.
    pub fn take(&self, address: &str, now: Instant) -> Result<(), u64> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_REMEMBERED {
            buckets.retain(|_, b| {
                b.tokens + now.duration_since(b.at).as_secs_f64() * per_second < capacity
            });
        }
        let bucket = buckets.entry(address.to_string()).or_insert(Bucket {
            tokens: capacity,
            at: now,
        });
        let refilled = bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = refilled.min(capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - bucket.tokens) / per_second).ceil();
            Err((wait as u64).max(1))
        }
    }
}

/// In front of `/api/v1/auth/*` (sign-up, login, refresh, logout, claim): a client address
/// over its budget answers 429 `too_many_attempts` with `Retry-After`, before any password
/// hash or database write.
pub async fn limit_auth(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/v1/auth/") {
        return next.run(request).await;
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0)
        .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], 0)));
    let address = crate::routes::auth::client_address(&state, request.headers(), peer);
    match state.auth_limiter().take(&address, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            crate::metrics::shed("auth_limit");
            with_retry_after(
                ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_attempts",
                    "too many requests from this address; retry shortly",
                ),
                wait,
            )
        }
    }
}

/// How long a connection may take to send a request's headers; for HTTP/1.1 the timer also
/// runs while a kept-alive connection waits for its next request, so it is the idle limit too.
pub fn header_read_timeout(state: &AppState) -> Duration {
    Duration::from_secs(state.config().limits.header_read_timeout_seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_allows_its_budget_then_refills_evenly() {
        let limiter = AddressLimiter::new(60);
        let t0 = Instant::now();
        for _ in 0..60 {
            limiter.take("10.0.0.1", t0).expect("within the budget");
        }
        assert_eq!(limiter.take("10.0.0.1", t0), Err(1));
        limiter
            .take("10.0.0.2", t0)
            .expect("another address has its own budget");
        limiter
            .take("10.0.0.1", t0 + Duration::from_millis(1_100))
            .expect("one token back after a second");
        assert!(
            limiter
                .take("10.0.0.1", t0 + Duration::from_millis(1_100))
                .is_err()
        );
    }
}
