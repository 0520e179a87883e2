use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/livez", get(livez))
        .route("/readyz", get(readyz))
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi))
        .route("/metrics", get(metrics))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "sqlite")]
    pub database: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct Alive {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Liveness: the process answers HTTP. Never touches the database, so an outage of the
/// database does not get replicas restarted; restart only when this stops answering.
#[utoipa::path(get, path = "/livez", tag = "system",
    responses((status = 200, body = Alive)))]
pub async fn livez() -> Json<Alive> {
    Json(Alive { status: "ok" })
}

/// Readiness: 200 when the database answers and every migration of this build is applied;
/// 503 (in the common error shape) while it does not, and from the moment shutdown begins,
/// so that a load balancer stops sending new requests here.
#[utoipa::path(get, path = "/readyz", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = crate::error::ErrorBody)))]
pub async fn readyz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    if state.is_shutting_down() {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "this server is shutting down; send requests to another replica",
        ));
    }
    match state.store().health().await {
        Ok(()) => Ok((
            StatusCode::OK,
            Json(Health {
                status: "ok",
                database: state.store().backend(),
            }),
        )),
        Err(e) => Err(ApiError::from(match e {
            ginkgo_store::StoreError::Unavailable(m) | ginkgo_store::StoreError::Internal(m) => {
                ginkgo_store::StoreError::Unavailable(m)
            }
            other => other,
        })),
    }
}

/// The older name of `/readyz`, kept for existing probes: the same answer.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = crate::error::ErrorBody)))]
pub async fn healthz(state: State<AppState>) -> Result<impl IntoResponse, ApiError> {
    readyz(state).await
}

/// Prometheus metrics in the text exposition format, for a bearer of `metrics_token` (see
/// `docs/RELIABILITY.md` for the series); 404 while no token is configured.
#[utoipa::path(get, path = "/metrics", tag = "system", security(("bearer" = [])),
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain"),
              (status = 401, body = crate::error::ErrorBody),
              (status = 404, description = "Metrics are off (no metrics_token)", body = crate::error::ErrorBody)))]
pub async fn metrics(
    state: State<AppState>,
    headers: axum::http::HeaderMap,
) -> axum::response::Response {
    crate::metrics::render(state, headers).await
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API")))]
pub async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::document())
}
