//! Operator reads of the daily snapshot runs and their findings.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
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
        .route("/api/v1/batch/runs/{id}/release", post(release))
        .route("/api/v1/batch/stale-accounts", get(stale_accounts))
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
    /// Good rows of the instruments file.
    #[schema(example = 24)]
    pub instruments_loaded: u64,
    /// Good rows of the holdings file.
    #[schema(example = 690)]
    pub holdings_loaded: u64,
    /// Good rows of the principals file.
    #[schema(example = 49)]
    pub principals_loaded: u64,
}

/// A held run: the previous committed run's good rows, to set beside this run's.
#[derive(Serialize, ToSchema)]
pub struct PreviousCountsView {
    #[schema(example = 50)]
    pub accounts: u64,
    #[schema(example = 691)]
    pub holdings: u64,
    #[schema(example = 24)]
    pub instruments: u64,
    #[schema(example = 50)]
    pub principals: u64,
}

/// A delivery for a date already loaded: what changed compared with the run it replaced.
#[derive(Serialize, ToSchema)]
pub struct ReplacedView {
    #[schema(example = 11)]
    pub replaced_run: i64,
    #[schema(example = 0)]
    pub accounts_added: u64,
    /// Accounts in the replaced delivery and not in this one: no longer current for the date.
    #[schema(example = 1)]
    pub accounts_removed: u64,
    /// Accounts in both whose total assets or principal differ.
    #[schema(example = 3)]
    pub accounts_changed: u64,
}

/// A snapshot run: committed (its data is current), failed (nothing changed) or held
/// (implausible next to the previous run: nothing changed until an operator releases it).
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
    /// Why a failed run failed, or why a held run is held; `null` for a committed run.
    #[schema(example = json!(null))]
    pub error: Option<String>,
    /// A held run: the previous committed run's good rows (this run's are in `counts` and
    /// `accounts_loaded`).
    pub previous: Option<PreviousCountsView>,
    /// A held run: the run that released it; `null` while it is held.
    #[schema(example = json!(null))]
    pub released_by: Option<i64>,
    /// A release: the held run it released.
    #[schema(example = json!(null))]
    pub releases: Option<i64>,
    /// A delivery for a date already loaded: what changed compared with the replaced run.
    pub replaced: Option<ReplacedView>,
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
            instruments_loaded: c.instruments_loaded,
            holdings_loaded: c.holdings_loaded,
            principals_loaded: c.principals_loaded,
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
            previous: r.previous.map(|p| PreviousCountsView {
                accounts: p.accounts,
                holdings: p.holdings,
                instruments: p.instruments,
                principals: p.principals,
            }),
            released_by: r.released_by,
            releases: r.releases,
            replaced: r.replaced.map(|d| ReplacedView {
                replaced_run: d.replaced_run,
                accounts_added: d.accounts_added,
                accounts_removed: d.accounts_removed,
                accounts_changed: d.accounts_changed,
            }),
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
    /// The account the row is about, when its account number could be read.
    #[schema(example = "5736692368320")]
    pub account_number: Option<String>,
    /// The instrument the row is about, when its ISIN could be read.
    #[schema(example = "KR7360750004")]
    pub isin: Option<String>,
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
            account_number: r.account_number.map(String::from),
            isin: r.isin.map(String::from),
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
    responses((status = 200, content_type = "text/csv", description = "UTF-8 with a BOM: file,line,account_number,isin,column,value,reason"),
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

/// The rejects as CSV for a spreadsheet (UTF-8 with a BOM, formulas defused): see
/// [`ginkgo_batch::rejects_csv`].
pub fn rejects_to_csv(f: &RunFindings) -> String {
    ginkgo_batch::rejects_csv(&f.rejects)
}

#[cfg(test)]
mod tests {
    use ginkgo_batch::csv_field;

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
        assert_eq!(csv_field("\t=1+2"), "'\t=1+2");
        assert_eq!(csv_field("\r=1+2"), "\"'\r=1+2\"");
        assert_eq!(csv_field("1\t2"), "1\t2");
    }
}

/// Where a release stands when the answer is sent.
#[derive(Serialize, ToSchema)]
pub struct ReleaseView {
    /// `true`: the release committed (`run` is the new run); `false`: it is still loading
    /// (`run` is the held run: poll it until `released_by` is set or a failed run appears).
    #[schema(example = true)]
    pub done: bool,
    pub run: RunView,
}

/// How long a release request waits before answering 202 (the release goes on).
const RELEASE_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Releases a held run (operators only): loads its files, unchanged since it was held, without
/// the plausibility check, and marks it released, in one transaction.
#[utoipa::path(post, path = "/api/v1/batch/runs/{id}/release", tag = "batch", security(("bearer" = [])),
    params(("id" = i64, Path, description = "The held run")),
    responses((status = 200, body = ReleaseView, description = "Released: the new run"),
              (status = 202, body = ReleaseView, description = "Still loading"),
              (status = 403, body = crate::error::ErrorBody),
              (status = 404, body = crate::error::ErrorBody),
              (status = 409, body = crate::error::ErrorBody, description = "Not held, already released, superseded, or its files changed")))]
pub async fn release(
    State(state): State<AppState>,
    user: AuthUser,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<Response> {
    user.require_operator()?;
    let held = state.store().run(id).await.map_err(no_run)?;
    if held.status != RunStatus::Held {
        return Err(ApiError::conflict("run_not_held", "this run is not held"));
    }
    if held.released_by.is_some() {
        return Err(ApiError::conflict(
            "run_already_released",
            "this run was already released",
        ));
    }
    // In a task of its own, so that a client that leaves or the request timeout does not cut
    // the load short.
    let store = state.store_arc();
    let cache = state.clone();
    let task = tokio::spawn(async move {
        let result = crate::jobs::release_run(store, id, None).await;
        if result.is_ok() {
            cache.cache().invalidate();
        }
        result
    });
    match tokio::time::timeout(RELEASE_WAIT, task).await {
        Ok(Ok(Ok(run))) => Ok(Json(ReleaseView {
            done: true,
            run: run.into(),
        })
        .into_response()),
        Ok(Ok(Err(failed))) => Err(match failed.error {
            crate::jobs::JobError::Release(m) => ApiError::conflict("release_refused", m),
            crate::jobs::JobError::Load(ginkgo_store::StoreError::Conflict(m)) => {
                ApiError::conflict("release_refused", m)
            }
            other => {
                tracing::error!(run_id = id, error = %other, "release failed");
                ApiError::internal()
            }
        }),
        Ok(Err(_)) => Err(ApiError::internal()),
        Err(_) => Ok((
            axum::http::StatusCode::ACCEPTED,
            Json(ReleaseView {
                done: false,
                run: held.into(),
            }),
        )
            .into_response()),
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct StaleQuery {
    /// At most this many accounts (default 200, at most 1000).
    pub limit: Option<u32>,
}

/// A line shown from an earlier day because the day's row for it was rejected.
#[derive(Serialize, ToSchema)]
pub struct StaleLineView {
    #[schema(example = "KR7360750004")]
    pub isin: String,
    #[schema(example = "미국S&P500")]
    pub instrument_name: String,
    /// The business date the line is from.
    #[schema(example = "2026-11-19")]
    pub since: Option<NaiveDate>,
}

/// An account whose figures are partial, and what is stale in it.
#[derive(Serialize, ToSchema)]
pub struct StaleAccountView {
    #[schema(example = 17)]
    pub id: i64,
    #[schema(example = "5736692368320")]
    pub account_number: String,
    #[schema(example = "계좌5")]
    pub account_name: String,
    #[schema(example = "류영길")]
    pub customer_name: String,
    #[schema(example = "2026-11-20")]
    pub as_of: Option<NaiveDate>,
    /// The day's rejected rows that name this account.
    #[schema(example = 1)]
    pub rejected_rows: u64,
    /// The oldest date of a value shown in place of a rejected row.
    #[schema(example = "2026-11-19")]
    pub since: Option<NaiveDate>,
    /// `carried` (from `principal_since`), `unknown`, or `current`.
    #[schema(example = "current")]
    pub principal: String,
    #[schema(example = json!(null))]
    pub principal_since: Option<NaiveDate>,
    pub stale_lines: Vec<StaleLineView>,
}

/// Current accounts whose figures are partial, by account number, with what is stale in each
/// (operators only).
#[utoipa::path(get, path = "/api/v1/batch/stale-accounts", tag = "batch", security(("bearer" = [])),
    params(StaleQuery),
    responses((status = 200, body = Vec<StaleAccountView>), (status = 403, body = crate::error::ErrorBody)))]
pub async fn stale_accounts(
    State(state): State<AppState>,
    user: AuthUser,
    ApiQuery(q): ApiQuery<StaleQuery>,
) -> ApiResult<Json<Vec<StaleAccountView>>> {
    user.require_operator()?;
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let accounts = state.store().stale_accounts(limit).await?;
    Ok(Json(
        accounts
            .into_iter()
            .map(|s| {
                let a = s.account;
                StaleAccountView {
                    id: a.id,
                    account_number: a.account_number,
                    account_name: a.account_name,
                    customer_name: a.customer_name,
                    as_of: a.as_of,
                    rejected_rows: a.partial.map_or(0, |p| p.rows),
                    since: a.partial.and_then(|p| p.since),
                    principal: match (a.principal, a.principal_since) {
                        (None, _) => "unknown",
                        (Some(_), Some(_)) => "carried",
                        (Some(_), None) => "current",
                    }
                    .to_string(),
                    principal_since: a.principal_since,
                    stale_lines: s
                        .holdings
                        .into_iter()
                        .map(|h| StaleLineView {
                            isin: h.isin,
                            instrument_name: h.instrument_name,
                            since: h.stale_since,
                        })
                        .collect(),
                }
            })
            .collect(),
    ))
}
