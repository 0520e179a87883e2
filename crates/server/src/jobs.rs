//! The daily snapshot job: read and validate a day's files (`ginkgo-batch`) while the store loads
//! them in one transaction, and the scheduler that runs it once a day on exactly one replica.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use ginkgo_batch::{FatalError, Progress, Snapshot, StreamError};
use ginkgo_domain::snapshot::SnapshotFile;
use ginkgo_store::{
    FailedRun, LoadMessage, RunCounts, RunFile, RunRecord, RunStatus, SnapshotLoad, Store,
    StoreError,
};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("{0}")]
    Input(#[from] FatalError),
    #[error("no business date: name the folder or the files with a date, or pass --date")]
    NoDate,
    #[error("the load failed and nothing changed: {0}")]
    Load(StoreError),
    #[error("the run cannot be released: {0}")]
    Release(String),
    #[error("internal error: {0}")]
    Internal(String),
}

/// The outcome of a run that failed; recorded, nothing changed.
#[derive(Debug)]
pub struct FailedJob {
    pub error: JobError,
    pub run: Option<RunRecord>,
}

fn run_files(s: &Snapshot) -> Vec<RunFile> {
    s.files()
        .iter()
        .map(|f| RunFile {
            kind: f.file,
            name: f.name.clone(),
            sha256: f.sha256.clone(),
            bytes: f.bytes,
        })
        .collect()
}

/// The default plausibility threshold: a delivery whose good accounts, holdings, instruments or
/// principals are fewer than this percentage of the previous committed run's is held.
pub const DEFAULT_HOLD_BELOW_PERCENT: u32 = 50;

/// How a day is loaded.
#[derive(Debug, Clone, Copy)]
pub struct LoadOptions {
    /// Overrides the date found in the folder or file names.
    pub date: Option<NaiveDate>,
    /// Hold an implausible delivery (see [`DEFAULT_HOLD_BELOW_PERCENT`]); `None`: load it
    /// whatever its size. `Some(0)` never holds either.
    pub hold_below_percent: Option<u32>,
    /// The held run this load releases.
    pub release_of: Option<ginkgo_store::RunId>,
}

impl LoadOptions {
    pub fn new(date: Option<NaiveDate>, hold_below_percent: u32) -> Self {
        LoadOptions {
            date,
            hold_below_percent: (hold_below_percent > 0).then_some(hold_below_percent),
            release_of: None,
        }
    }
}

/// Loads the day in `dir` with the default plausibility check. `date` overrides the date found
/// in the folder or file names. A failure is recorded as a failed run (when the store is
/// reachable) and leaves the data as it was; an implausible delivery comes back as a held run.
pub async fn load_day(
    store: Arc<dyn Store>,
    dir: &Path,
    date: Option<NaiveDate>,
    progress: Option<Box<dyn FnMut(Progress) + Send>>,
) -> Result<RunRecord, FailedJob> {
    load_day_with(
        store,
        dir,
        LoadOptions::new(date, DEFAULT_HOLD_BELOW_PERCENT),
        progress,
    )
    .await
}

/// Loads a held run's files (from the folder it recorded, unchanged since: same SHA-256) without
/// the plausibility check, and marks the held run released in the same transaction: a crash
/// leaves either the day before or the released day, never a mix.
pub async fn release_run(
    store: Arc<dyn Store>,
    run_id: ginkgo_store::RunId,
    progress: Option<Box<dyn FnMut(Progress) + Send>>,
) -> Result<RunRecord, FailedJob> {
    let refuse = |message: String| FailedJob {
        error: JobError::Release(message),
        run: None,
    };
    let held = match store.run(run_id).await {
        Ok(r) => r,
        Err(StoreError::NotFound) => return Err(refuse(format!("no run {run_id}"))),
        Err(e) => return Err(refuse(e.to_string())),
    };
    if held.status != RunStatus::Held {
        return Err(refuse(format!("run {run_id} is not held")));
    }
    if let Some(by) = held.released_by {
        return Err(refuse(format!(
            "run {run_id} was already released (run {by})"
        )));
    }
    let Some(dir) = held.source_dir.clone() else {
        return Err(refuse(format!(
            "run {run_id} does not say where its files were"
        )));
    };
    let dir = PathBuf::from(dir);
    let expected: Vec<(ginkgo_domain::snapshot::SnapshotFile, String)> = held
        .files
        .iter()
        .map(|f| (f.kind, f.sha256.clone()))
        .collect();
    let check_dir = dir.clone();
    let current = tokio::task::spawn_blocking(move || ginkgo_batch::file_hashes(&check_dir))
        .await
        .map_err(|e| refuse(e.to_string()))?
        .map_err(|e| refuse(format!("the held files cannot be read: {e}")))?;
    if current != expected {
        return Err(refuse(format!(
            "the files in {} changed since run {run_id} was held; load them as a new delivery",
            dir.display()
        )));
    }
    load_day_with(
        store,
        &dir,
        LoadOptions {
            date: Some(held.business_date),
            hold_below_percent: None,
            release_of: Some(run_id),
        },
        progress,
    )
    .await
}

/// Loads the day in `dir` as `options` say (see [`load_day`]).
pub async fn load_day_with(
    store: Arc<dyn Store>,
    dir: &Path,
    options: LoadOptions,
    progress: Option<Box<dyn FnMut(Progress) + Send>>,
) -> Result<RunRecord, FailedJob> {
    let result = load_day_unmetered(store, dir, options, progress).await;
    crate::metrics::batch_run(&result);
    result
}

async fn load_day_unmetered(
    store: Arc<dyn Store>,
    dir: &Path,
    options: LoadOptions,
    progress: Option<Box<dyn FnMut(Progress) + Send>>,
) -> Result<RunRecord, FailedJob> {
    let date = options.date;
    let started_at = Utc::now();
    let dir_owned: PathBuf = dir.to_path_buf();
    let opened = tokio::task::spawn_blocking(move || Snapshot::open(&dir_owned))
        .await
        .map_err(|e| FailedJob {
            error: JobError::Internal(e.to_string()),
            run: None,
        })?;
    let fallback_date = date
        .or_else(|| folder_date(dir))
        .unwrap_or_else(ginkgo_domain::time::today_kst);
    let snapshot = match opened {
        Ok(s) => s,
        Err(e) => return Err(failed(&*store, fallback_date, vec![], started_at, e.into()).await),
    };
    let Some(business_date) = date
        .or_else(|| snapshot.date())
        .or_else(|| folder_date(dir))
    else {
        // Recorded like any failed run (under today's date), so an operator sees it was tried.
        let files = run_files(&snapshot);
        return Err(failed(&*store, fallback_date, files, started_at, JobError::NoDate).await);
    };
    let files = run_files(&snapshot);
    let instruments = snapshot.instruments().to_vec();
    // Small chunks keep the validator and the loader working side by side with little memory.
    let (tx, rx) = tokio::sync::mpsc::channel::<LoadMessage>(16);
    let reader = tokio::task::spawn_blocking(move || {
        let mut progress = progress;
        let sink_tx = tx.clone();
        let result = snapshot.stream_holdings_with_progress(
            2_000,
            |p| {
                if let Some(f) = progress.as_mut() {
                    f(p)
                }
            },
            |chunk| {
                sink_tx
                    .blocking_send(LoadMessage::Holdings(chunk))
                    .map_err(|_| "the loader stopped")
            },
        );
        let message = match result {
            Ok(report) => {
                let per_file = |f| report.counts_for(f).loaded;
                let instruments_loaded = per_file(SnapshotFile::Instruments);
                let holdings_loaded = per_file(SnapshotFile::Holdings);
                let principals_loaded = per_file(SnapshotFile::Principals);
                let read: u64 = report.counts.iter().map(|c| c.read).sum();
                let loaded: u64 = report.counts.iter().map(|c| c.loaded).sum();
                let rejected: u64 = report.counts.iter().map(|c| c.rejected).sum();
                LoadMessage::Finished {
                    // Moved out, not copied: the reader no longer needs them.
                    principals: snapshot.into_principals(),
                    counts: RunCounts {
                        rows_read: read,
                        rows_loaded: loaded,
                        rows_rejected: rejected,
                        warnings: report.warnings.len() as u64,
                        instruments_loaded,
                        holdings_loaded,
                        principals_loaded,
                    },
                    rejects: report.rejects,
                    warnings: report.warnings,
                }
            }
            Err(StreamError::Fatal(e)) => LoadMessage::Aborted(e.to_string()),
            Err(StreamError::Sink(e)) => LoadMessage::Aborted(e.to_string()),
        };

        let _ = tx.blocking_send(message);
    });
    let loaded = store
        .load_snapshot(SnapshotLoad {
            business_date,
            files: files.clone(),
            instruments,
            holdings: rx,
            started_at,
            hold_below_percent: options.hold_below_percent,
            source_dir: Some(
                std::path::absolute(dir)
                    .unwrap_or_else(|_| dir.to_path_buf())
                    .display()
                    .to_string(),
            ),
            release_of: options.release_of,
        })
        .await;
    let _ = reader.await;
    match loaded {
        Ok(run) if run.status == RunStatus::Held => {
            tracing::warn!(run_id = run.id, date = %business_date, reason = run.error.as_deref().unwrap_or(""), "snapshot held: implausible next to the previous run; nothing changed");
            Ok(run)
        }
        Ok(run) => {
            tracing::info!(run_id = run.id, date = %business_date, rows = run.counts.rows_loaded, rejected = run.counts.rows_rejected, "snapshot loaded");
            Ok(run)
        }
        Err(e) => {
            tracing::error!(date = %business_date, error = %e, "snapshot load failed");
            Err(failed(&*store, business_date, files, started_at, JobError::Load(e)).await)
        }
    }
}

/// Records a failed run (when the store is reachable); the current data is left as it was.
async fn failed(
    store: &dyn Store,
    business_date: NaiveDate,
    files: Vec<RunFile>,
    started_at: chrono::DateTime<Utc>,
    error: JobError,
) -> FailedJob {
    let run = store
        .record_failed_run(FailedRun {
            business_date,
            files,
            started_at,
            error: error.to_string(),
        })
        .await
        .ok();
    FailedJob { error, run }
}

fn folder_date(dir: &Path) -> Option<NaiveDate> {
    dir.file_name()
        .and_then(|n| n.to_str())
        .and_then(ginkgo_domain::time::parse_date)
}

/// After a failed run, today's folder is tried again only this much later (on any replica), so
/// that a broken delivery is not recorded as a failed run every minute.
pub const RETRY_FAILED_AFTER: Duration = Duration::from_secs(15 * 60);

/// Runs the day's load once a day at `daily_at` (Asia/Seoul) from `inbox/YYYY-MM-DD/`, on the
/// replica that holds the `daily-snapshot` lease. Checks every minute; catches up after a restart.
/// A committed load drops this replica's read cache so the new day shows at once.
pub async fn schedule_daily(
    state: crate::state::AppState,
    inbox: PathBuf,
    daily_at: chrono::NaiveTime,
) {
    let holder = format!("replica-{}", uuid::Uuid::new_v4().simple());
    let mut warned_for: Option<NaiveDate> = None;
    loop {
        let now = ginkgo_domain::time::to_kst(Utc::now());
        let store = state.store_arc();
        let hold = state.config().batch.hold_below_percent;
        match run_if_due_with(store, &inbox, daily_at, now.naive_local(), &holder, hold).await {
            Due::Missing(day) if warned_for != Some(day) => {
                tracing::warn!(date = %day, "today's snapshot folder has not arrived yet");
                warned_for = Some(day);
            }
            Due::Ran(Ok(run)) if run.status == RunStatus::Held => {}
            Due::Ran(Ok(_)) => state.cache().invalidate(),
            Due::Ran(Err(e)) => tracing::error!(
                error = %e,
                retry_in_minutes = RETRY_FAILED_AFTER.as_secs() / 60,
                "the scheduled snapshot load failed"
            ),
            _ => {}
        }
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
}

/// What one check of the daily schedule did.
// One value a minute: a boxed run record would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Due {
    /// Before today's run time.
    NotYet,
    /// Today's run already committed (here or on another replica).
    Done,
    /// Today's folder is not in the inbox yet.
    Missing(NaiveDate),
    /// Another replica holds the lease.
    Busy,
    /// Today's last run failed less than [`RETRY_FAILED_AFTER`] ago.
    RetryLater,
    /// Today's delivery is held (that run) and today's folder still holds the same files: it
    /// waits for an operator's release or a corrected delivery.
    Held(ginkgo_store::RunId),
    /// This check ran the load (committed or failed; failures are recorded as runs).
    Ran(Result<RunRecord, String>),
}

/// One check of the daily schedule at `now` (Asia/Seoul wall time): loads `inbox/YYYY-MM-DD/`
/// once the run time has passed, unless today's run is already committed, under the
/// `daily-snapshot` lease so that exactly one replica runs it.
pub async fn run_if_due(
    store: Arc<dyn Store>,
    inbox: &Path,
    daily_at: chrono::NaiveTime,
    now: chrono::NaiveDateTime,
    holder: &str,
) -> Due {
    run_if_due_with(
        store,
        inbox,
        daily_at,
        now,
        holder,
        DEFAULT_HOLD_BELOW_PERCENT,
    )
    .await
}

/// [`run_if_due`] with the plausibility threshold `hold_below_percent` (0: no check).
pub async fn run_if_due_with(
    store: Arc<dyn Store>,
    inbox: &Path,
    daily_at: chrono::NaiveTime,
    now: chrono::NaiveDateTime,
    holder: &str,
    hold_below_percent: u32,
) -> Due {
    let today = now.date();
    if now.time() < daily_at {
        return Due::NotYet;
    }
    let Ok(runs) = store.runs(20).await else {
        // The database is away; the next check tries again.
        return Due::Busy;
    };
    let todays = || runs.iter().filter(|r| r.business_date == today);
    if todays().any(|r| r.status == RunStatus::Committed) {
        return Due::Done;
    }
    let retry_after = chrono::Duration::from_std(RETRY_FAILED_AFTER).unwrap_or_default();
    if todays().any(|r| r.status == RunStatus::Failed && Utc::now() - r.started_at < retry_after) {
        return Due::RetryLater;
    }
    let dir = ginkgo_batch::inbox_dir(inbox, today);
    if !dir.is_dir() {
        return Due::Missing(today);
    }
    // The newest run of the day (runs come newest first).
    if let Some(held) = todays().next().filter(|r| r.status == RunStatus::Held) {
        let expected: Vec<(SnapshotFile, String)> = held
            .files
            .iter()
            .map(|f| (f.kind, f.sha256.clone()))
            .collect();
        let check = dir.clone();
        let same = tokio::task::spawn_blocking(move || ginkgo_batch::file_hashes(&check))
            .await
            .ok()
            .and_then(Result::ok)
            .is_some_and(|current| current == expected);
        if same {
            return Due::Held(held.id);
        }
    }
    let until = Utc::now() + chrono::Duration::hours(2);
    if !matches!(
        store
            .try_lease("daily-snapshot", holder, Utc::now(), until)
            .await,
        Ok(true)
    ) {
        return Due::Busy;
    }
    let options = LoadOptions::new(Some(today), hold_below_percent);
    let result = load_day_with(store.clone(), &dir, options, None)
        .await
        .map_err(|f| f.error.to_string());
    let _ = store.release_lease("daily-snapshot", holder).await;
    Due::Ran(result)
}
