use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ginkgo_store::{StoreError, StoreResult};
use rusqlite::{Connection, ErrorCode, OpenFlags};

/// Writes allowed onto blocking threads at once (one runs, the others wait on its mutex).
const WRITERS_WAITING: usize = 4;

/// How long a statement waits for the single writer before giving up with `Busy`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Pools {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Requests queue here, as tasks, for a connection: a blocking thread is only taken once a
    /// connection is free. Without these, every queued write held a blocking thread waiting on
    /// the writer's mutex, and a burst grew the pool to hundreds of threads (and their memory).
    write_gate: Arc<tokio::sync::Semaphore>,
    read_gate: Arc<tokio::sync::Semaphore>,
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL: readers never block the writer. synchronous=NORMAL is durable against a killed
    // process (the WAL is replayed); only a power cut can lose the last commits.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl Pools {
    pub fn open(path: &Path, readers: usize) -> StoreResult<Pools> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let open = || -> StoreResult<Connection> {
            let c = Connection::open_with_flags(path, flags).map_err(|e| {
                StoreError::Config(format!(
                    "cannot open SQLite database {}: {e}",
                    path.display()
                ))
            })?;
            configure(&c).map_err(map_err)?;
            Ok(c)
        };
        let mut writer = open()?;
        // Every write transaction takes the write lock when it begins. A deferred transaction
        // that reads first and writes later cannot wait for the lock: when another process
        // (a `ginkgo batch load`, another server) committed in between, SQLite answers BUSY at
        // once instead of applying the busy timeout.
        writer.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
        let readers = (0..readers.max(1))
            .map(|_| open().map(Mutex::new))
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Pools {
            writer: Mutex::new(writer),
            read_gate: Arc::new(tokio::sync::Semaphore::new(readers.len())),
            readers,
            next_reader: AtomicUsize::new(0),
            // A few writes wait on the writer's mutex itself, so the next starts the moment
            // one commits; the rest wait as tasks.
            write_gate: Arc::new(tokio::sync::Semaphore::new(WRITERS_WAITING)),
        })
    }

    /// Runs `f` on the writer connection, on the current (blocking) thread.
    pub fn with_writer<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> StoreResult<T>,
    ) -> StoreResult<T> {
        let mut guard = self
            .writer
            .lock()
            .map_err(|_| StoreError::Internal("writer connection poisoned".into()))?;
        f(&mut guard)
    }

    fn with_reader<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> StoreResult<T> {
        let n = self.readers.len();
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed) % n;
        // Take the first free reader; wait on the round-robin one when all are busy.
        for i in 0..n {
            if let Ok(guard) = self.readers[(start + i) % n].try_lock() {
                return f(&guard).map_err(map_err);
            }
        }
        let guard = self.readers[start]
            .lock()
            .map_err(|_| StoreError::Internal("reader connection poisoned".into()))?;
        f(&guard).map_err(map_err)
    }

    pub async fn read<T, F>(self: &std::sync::Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let pools = self.clone();
        let slot = gate(&self.read_gate, "read").await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            pools.with_reader(f)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("read task failed: {e}")))?
    }

    pub async fn write<T, F>(self: &std::sync::Arc<Self>, f: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let pools = self.clone();
        let slot = gate(&self.write_gate, "write").await?;
        tokio::task::spawn_blocking(move || {
            let _slot = slot;
            pools.with_writer(f)
        })
        .await
        .map_err(|e| StoreError::Internal(format!("write task failed: {e}")))?
    }
}

/// A turn at a connection. The permit moves into the blocking task, so a request that gives up
/// (a timeout) does not let another in while its statement still runs.
/// Waits for a slot of `gate`; the wait is recorded as `ginkgo_store_wait_seconds`.
async fn gate(
    gate: &Arc<tokio::sync::Semaphore>,
    name: &'static str,
) -> StoreResult<tokio::sync::OwnedSemaphorePermit> {
    let started = std::time::Instant::now();
    let permit = gate
        .clone()
        .acquire_owned()
        .await
        .map_err(|_| StoreError::Internal("connection gate closed".into()));
    metrics::histogram!("ginkgo_store_wait_seconds", "backend" => "sqlite", "gate" => name)
        .record(started.elapsed().as_secs_f64());
    permit
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn threads() -> usize {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Threads:").map(|n| n.trim().parse().ok()))
                    .flatten()
            })
            .unwrap_or(0)
    }

    #[test]
    fn a_burst_of_writes_waits_as_tasks_not_as_blocking_threads() {
        let dir = std::env::temp_dir().join(format!("ginkgo-gate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let pools = Arc::new(Pools::open(&dir.join("g.db"), 4).expect("open"));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let before = threads();
        let peak = runtime.block_on(async {
            let mut jobs = tokio::task::JoinSet::new();
            for _ in 0..200 {
                let writer = pools.clone();
                jobs.spawn(async move {
                    writer
                        .write(|c| {
                            std::thread::sleep(Duration::from_millis(2));
                            c.execute_batch("SELECT 1").map_err(map_err)
                        })
                        .await
                });
                let reader = pools.clone();
                jobs.spawn(async move {
                    reader
                        .read(|c| {
                            c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0))
                                .map(|_| ())
                        })
                        .await
                });
            }
            let mut peak = 0;
            while let Some(done) = jobs.join_next().await {
                done.expect("join").expect("query");
                peak = peak.max(threads());
            }
            peak
        });
        let grew = peak.saturating_sub(before);
        // A blocking thread finishing its turn is not idle yet when the next turn starts, so
        // the pool grows past the connections' turns, but boundedly (about 26 here); without the
        // gates the same burst took 338 threads.
        assert!(grew <= 64, "the burst took {grew} more threads");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

pub fn map_err(e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::QueryReturnedNoRows => StoreError::NotFound,
        rusqlite::Error::SqliteFailure(f, msg) => match f.code {
            ErrorCode::ConstraintViolation => {
                StoreError::Conflict(msg.clone().unwrap_or_else(|| "constraint violated".into()))
            }
            ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                StoreError::Busy("the database is busy; retry shortly".into())
            }
            ErrorCode::CannotOpen | ErrorCode::NotADatabase | ErrorCode::DiskFull => {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Internal(e.to_string()),
        },
        _ => StoreError::Internal(e.to_string()),
    }
}
