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
        .route("/healthz", get(healthz))
        .route("/api/openapi.json", get(openapi))
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    #[schema(example = "ok")]
    pub status: &'static str,
    #[schema(example = "sqlite")]
    pub database: &'static str,
}

/// Liveness and readiness: answers 200 only when the database answers.
#[utoipa::path(get, path = "/healthz", tag = "system",
    responses((status = 200, body = Health), (status = 503, body = crate::error::ErrorBody)))]
pub async fn healthz(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
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

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "system",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API")))]
pub async fn openapi() -> impl IntoResponse {
    Json(crate::openapi::document())
}
