//! Prometheus metrics through the `metrics` facade: the recorder is installed once per process
//! and rendered in Prometheus' text format on `GET /metrics`, behind `metrics_token` (off, 404,
//! while no token is configured).
//!
//! | name | labels | what |
//! | --- | --- | --- |
//! | `ginkgo_http_requests_total` | route (template), method, status | answers |
//! | `ginkgo_http_request_duration_seconds` | route, method | latency histogram |
//! | `ginkgo_http_shed_total` | reason (`overloaded`, `auth_limit`) | requests refused unprocessed |
//! | `ginkgo_login_refusals_total` | reason | refused logins |
//! | `ginkgo_password_hash_waiting` | | Argon2 jobs waiting for a slot (queue depth) |
//! | `ginkgo_batch_runs_total` | outcome | snapshot loads |
//! | `ginkgo_batch_rows_total` | kind (`loaded`, `rejected`, `warning`) | rows of those loads |
//! | `ginkgo_bank_syncs_total` | status | bank syncs |
//! | `ginkgo_bank_account_syncs_total` | status | accounts within them |
//! | `ginkgo_store_wait_seconds` | backend, gate (`read`, `write`, `pool`) | waits for a database slot |
//! | `ginkgo_store_pool_connections`, `ginkgo_store_pool_idle` | | the PostgreSQL pool |

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::ApiError;
use crate::state::AppState;

/// Latency buckets, in seconds: from a cached read to the request time limit.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use (`None` when another recorder was installed
/// first, e.g. by an embedding program).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(h) => Some(h),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Counts every answer by route template, method and status, with its latency.
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::histogram!("ginkgo_http_request_duration_seconds",
        "route" => route.clone(), "method" => method.clone())
    .record(started.elapsed().as_secs_f64());
    metrics::counter!("ginkgo_http_requests_total",
        "route" => route, "method" => method, "status" => status)
    .increment(1);
    response
}

/// `GET /metrics`: the text exposition, for a bearer of `metrics_token`.
pub async fn render(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let token = state.config().metrics_token.expose();
    if token.is_empty() {
        return ApiError::not_found("metrics are off (set metrics_token)").into_response();
    }
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let ok =
        subtle::ConstantTimeEq::ct_eq(ginkgo_sha(given).as_slice(), ginkgo_sha(token).as_slice());
    if !bool::from(ok) {
        return ApiError::unauthorized("a valid metrics token is required").into_response();
    }
    match handle() {
        Some(h) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            h.render(),
        )
            .into_response(),
        None => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "metrics are not being recorded in this process",
        )
        .into_response(),
    }
}

/// Equal-length digests, so the comparison's time says nothing about the token's length.
fn ginkgo_sha(s: &str) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(s.as_bytes()).to_vec()
}

pub fn shed(reason: &'static str) {
    metrics::counter!("ginkgo_http_shed_total", "reason" => reason).increment(1);
}

pub fn login_refused(reason: &'static str) {
    metrics::counter!("ginkgo_login_refusals_total", "reason" => reason).increment(1);
}

pub fn password_waiting(delta: f64) {
    metrics::gauge!("ginkgo_password_hash_waiting").increment(delta);
}

pub fn batch_run(run: &Result<ginkgo_store::RunRecord, crate::jobs::FailedJob>) {
    match run {
        Ok(r) => {
            // A held run loaded nothing: its good rows are counted as held.
            let (outcome, good) = match r.status {
                ginkgo_store::RunStatus::Held => ("held", "held"),
                _ => ("loaded", "loaded"),
            };
            metrics::counter!("ginkgo_batch_runs_total", "outcome" => outcome).increment(1);
            let c = &r.counts;
            for (kind, n) in [
                (good, c.rows_loaded),
                ("rejected", c.rows_rejected),
                ("warning", c.warnings),
            ] {
                metrics::counter!("ginkgo_batch_rows_total", "kind" => kind).increment(n);
            }
        }
        Err(_) => metrics::counter!("ginkgo_batch_runs_total", "outcome" => "failed").increment(1),
    }
}

pub fn bank_sync(outcome: &crate::bank::SyncOutcome) {
    metrics::counter!("ginkgo_bank_syncs_total", "status" => outcome.status.clone()).increment(1);
    for a in &outcome.accounts {
        metrics::counter!(
            "ginkgo_bank_account_syncs_total",
            "status" => a.status.clone(),
            "bank" => a.bank_code.clone()
        )
        .increment(1);
    }
}
