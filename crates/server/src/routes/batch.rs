//! Operator reads of the daily snapshot runs and their findings.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, NaiveDate, Utc};
use ginkgo_domain::snapshot::{RejectRecord, SnapshotFile, WarningRecord};
use ginkgo_store::{RunCounts, RunFile, RunFindings, RunRecord, RunStatus};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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

/// Which provider file a line is about.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    Instruments,
    Holdings,
    Principals,
}

impl From<SnapshotFile> for FileKind {
    fn from(f: SnapshotFile) -> Self {
        match f {
            SnapshotFile::Instruments => FileKind::Instruments,
            SnapshotFile::Holdings => FileKind::Holdings,
            SnapshotFile::Principals => FileKind::Principals,
        }
    }
}

/// One file a run read, as it was on disk.
#[derive(Serialize, ToSchema)]
pub struct RunFileView {
    pub kind: FileKind,
    #[schema(example = "account_asset_info_set.csv")]
    pub name: String,
    /// SHA-256 of the file's bytes, lowercase hex.
    #[schema(example = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")]
    pub sha256: String,
    #[schema(example = 52_341)]
    pub bytes: u64,
}

/// Rows of all three files: read, loaded, rejected, and warnings raised.
#[derive(Serialize, ToSchema)]
pub struct RunCountsView {
    #[schema(example = 765)]
    pub rows_read: u64,
    #[schema(example = 763)]
    pub rows_loaded: u64,
    #[schema(example = 2)]
    pub rows_rejected: u64,
    #[schema(example = 5)]
    pub warnings: u64,
}

/// A snapshot run: committed (its data is current) or failed (nothing changed).
#[derive(Serialize, ToSchema)]
pub struct RunView {
    #[schema(example = 12)]
    pub id: i64,
    #[schema(example = "2026-11-20")]
    pub business_date: NaiveDate,
    pub status: RunStatus,
    #[schema(example = "2026-11-20T00:00:03Z")]
    pub started_at: DateTime<Utc>,
    #[schema(example = 412)]
    pub duration_ms: i64,
    pub files: Vec<RunFileView>,
    pub counts: RunCountsView,
    /// Accounts present in the day's holdings file.
    #[schema(example = 50)]
    pub accounts_loaded: u64,
    /// Accounts loaded before but missing from this day's file (kept, marked inactive).
    #[schema(example = 0)]
    pub accounts_deactivated: u64,
    /// Why a failed run failed; `null` for a committed run.
    #[schema(example = json!(null))]
    pub error: Option<String>,
}

impl From<RunFile> for RunFileView {
    fn from(f: RunFile) -> Self {
        RunFileView {
            kind: f.kind.into(),
            name: f.name,
            sha256: f.sha256,
            bytes: f.bytes,
        }
    }
}

impl From<RunCounts> for RunCountsView {
    fn from(c: RunCounts) -> Self {
        RunCountsView {
            rows_read: c.rows_read,
            rows_loaded: c.rows_loaded,
            rows_rejected: c.rows_rejected,
            warnings: c.warnings,
        }
    }
}

impl From<RunRecord> for RunView {
    fn from(r: RunRecord) -> Self {
        RunView {
            id: r.id,
            business_date: r.business_date,
            status: r.status,
            started_at: r.started_at,
            duration_ms: r.duration_ms,
            files: r.files.into_iter().map(Into::into).collect(),
            counts: r.counts.into(),
            accounts_loaded: r.accounts_loaded,
            accounts_deactivated: r.accounts_deactivated,
            error: r.error,
        }
    }
}

/// A rejected row: where it is, what it held, and why it was not loaded.
#[derive(Serialize, ToSchema)]
pub struct RejectView {
    pub file: FileKind,
    /// Physical line in the file (the header is line 1).
    #[schema(example = 118)]
    pub line: u64,
    #[schema(example = "보유수량")]
    pub column: Option<String>,
    #[schema(example = "-3")]
    pub value: Option<String>,
    #[schema(example = "quantity is negative")]
    pub reason: String,
}

/// A row loaded despite something suspicious; `line` is `null` for a file-wide finding.
#[derive(Serialize, ToSchema)]
pub struct WarningView {
    pub file: FileKind,
    #[schema(example = 31)]
    pub line: Option<u64>,
    #[schema(example = "보유수량")]
    pub column: Option<String>,
    #[schema(example = "0")]
    pub value: Option<String>,
    #[schema(example = "quantity is 0")]
    pub message: String,
}

/// A run's rejects and warnings.
#[derive(Serialize, ToSchema)]
pub struct FindingsView {
    pub rejects: Vec<RejectView>,
    pub warnings: Vec<WarningView>,
}

impl From<RejectRecord> for RejectView {
    fn from(r: RejectRecord) -> Self {
        RejectView {
            file: r.file.into(),
            line: r.line,
            column: r.column,
            value: r.value,
            reason: r.reason,
        }
    }
}

impl From<WarningRecord> for WarningView {
    fn from(w: WarningRecord) -> Self {
        WarningView {
            file: w.file.into(),
            line: w.line,
            column: w.column,
            value: w.value,
            message: w.message,
        }
    }
}

impl From<RunFindings> for FindingsView {
    fn from(f: RunFindings) -> Self {
        FindingsView {
            rejects: f.rejects.into_iter().map(Into::into).collect(),
            warnings: f.warnings.into_iter().map(Into::into).collect(),
        }
    }
}

/// Recent snapshot runs (operators only).
#[utoipa::path(get, path = "/api/v1/batch/runs", tag = "batch", security(("bearer" = [])),
    params(RunsQuery),
    responses((status = 200, body = Vec<RunView>, description = "Runs, newest first"), (status = 403, body = crate::error::ErrorBody)))]
pub async fn runs(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<RunsQuery>,
) -> ApiResult<Json<Vec<RunView>>> {
    user.require_operator()?;
    let limit = q.limit.unwrap_or(50).clamp(1, 500);
    let runs = state.store().runs(limit).await?;
    Ok(Json(runs.into_iter().map(Into::into).collect()))
}

/// One run (operators only).
#[utoipa::path(get, path = "/api/v1/batch/runs/{id}", tag = "batch", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, body = RunView, description = "The run"), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn run(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<RunView>> {
    user.require_operator()?;
    Ok(Json(state.store().run(id).await.map_err(no_run)?.into()))
}

/// A run's rejected rows and warnings (operators only).
#[utoipa::path(get, path = "/api/v1/batch/runs/{id}/findings", tag = "batch", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Run id")),
    responses((status = 200, body = FindingsView, description = "Rejects and warnings"), (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody)))]
pub async fn findings(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Json<FindingsView>> {
    user.require_operator()?;
    Ok(Json(
        state.store().run_findings(id).await.map_err(no_run)?.into(),
    ))
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
    // A plain signed number (`-3`, `-1,234.5`) is not a formula; keep it as the provider sent it.
    let number = v.strip_prefix(['-', '+']).is_some_and(|rest| {
        rest.starts_with(|c: char| c.is_ascii_digit())
            && rest
                .chars()
                .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    });
    let v = if v.starts_with(['=', '+', '-', '@']) && !number {
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

#[cfg(test)]
mod tests {
    use super::csv_field;

    #[test]
    fn formulas_are_defused_and_numbers_are_kept() {
        assert_eq!(csv_field("-3"), "-3");
        assert_eq!(csv_field("-1,234"), "\"-1,234\"");
        assert_eq!(csv_field("+82"), "+82");
        assert_eq!(csv_field("=1+2"), "'=1+2");
        assert_eq!(csv_field("-2+3"), "'-2+3");
        assert_eq!(csv_field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_field("-"), "'-");
        assert_eq!(csv_field("가-3"), "가-3");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
