//! Operator reads of the daily snapshot runs and their findings.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use ginkgo_store::{RunFindings, RunRecord};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult};
use crate::extract::{ApiPath, ApiQuery};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/batch/runs", get(runs))
        .route("/api/v1/batch/runs/{id}", get(run))
        .route("/api/v1/batch/runs/{id}/findings", get(findings))
        .route("/api/v1/batch/runs/{id}/rejects.csv", get(rejects_csv))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct RunsQuery {
    /// At most this many runs, newest first (default 50, at most 500).
    pub limit: Option<u32>,
}

/// Recent snapshot runs (operators only).
#[utoipa::path(get, path = "/api/v1/batch/runs", tag = "batch", security(("bearer" = [])),
    params(RunsQuery),
    responses((status = 200, description = "Runs, newest first"), (status = 403, body = crate::error::ErrorBody)))]
pub async fn runs(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<RunsQuery>,
) -> ApiResult<Json<Vec<RunRecord>>> {
    user.require_operator()?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    Ok(Json(state.store().runs(limit).await?))
}

/// One run (operators only).
#[utoipa::path(get, path = "/api/v1/batch/runs/{id}", tag = "batch", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, description = "The run"), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn run(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RunRecord>> {
    user.require_operator()?;
    Ok(Json(state.store().run(id).await.map_err(no_run)?))
}

/// A run's rejected rows and warnings (operators only).
#[utoipa::path(get, path = "/api/v1/batch/runs/{id}/findings", tag = "batch", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, description = "Rejects and warnings"), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn findings(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RunFindings>> {
    user.require_operator()?;
    Ok(Json(state.store().run_findings(id).await.map_err(no_run)?))
}

/// A run's rejected rows as CSV (operators only).
#[utoipa::path(get, path = "/api/v1/batch/runs/{id}/rejects.csv", tag = "batch", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, content_type = "text/csv", description = "file,line,column,value,reason"),
              (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn rejects_csv(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    user.require_operator()?;
    let f = state.store().run_findings(id).await.map_err(no_run)?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"run-{id}-rejects.csv\""),
            ),
        ],
        rejects_to_csv(&f),
    )
        .into_response())
}

fn no_run(e: ginkgo_store::StoreError) -> ApiError {
    match e {
        ginkgo_store::StoreError::NotFound => ApiError::not_found("no such run"),
        other => other.into(),
    }
}

/// `file,line,column,value,reason` with RFC 4180 quoting; a leading `=+-@` is prefixed with `'`
/// so that a spreadsheet never evaluates a provider's value as a formula.
pub fn rejects_to_csv(f: &RunFindings) -> String {
    let mut out = String::from("file,line,column,value,reason\n");
    for r in &f.rejects {
        let fields = [
            r.file.as_str().to_string(),
            r.line.to_string(),
            r.column.clone().unwrap_or_default(),
            r.value.clone().unwrap_or_default(),
            r.reason.clone(),
        ];
        let line: Vec<String> = fields.iter().map(|v| csv_field(v)).collect();
        out.push_str(&line.join(","));
        out.push('\n');
    }
    out
}

fn csv_field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}
