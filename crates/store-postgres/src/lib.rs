//! Ginkgo's PostgreSQL store: the scale path, for several stateless replicas on one database.
//!
//! Exactly-once and one-at-a-time guarantees are enforced in the database (row locks,
//! conditional updates, advisory locks), never only in a replica's memory.

mod auth;
mod bank;
mod invest;
mod migrate;
pub mod tls;

use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use ginkgo_store::{Store, StoreError, StoreResult};

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
}

/// Advisory-lock key shared by snapshot loads (exclusive) and deposit confirmations (shared).
pub(crate) const HOLDINGS_LOCK: i64 = 0x6769_6e6b_6f01;
/// Held for a whole snapshot load, so that loads run one at a time.
pub(crate) const LOAD_LOCK: i64 = 0x6769_6e6b_6f02;

impl PostgresStore {
    /// Connects to `postgres://…` and applies pending migrations.
    pub async fn connect(url: &str) -> StoreResult<PostgresStore> {
        let tls = tls::split_url(url)?;
        let config: tokio_postgres::Config = tls
            .url
            .parse()
            .map_err(|e| StoreError::Config(format!("invalid PostgreSQL URL: {e}")))?;
        let mut config = config;
        config.connect_timeout(Duration::from_secs(5));
        config.application_name("ginkgo");
        config.ssl_mode(tls.postgres_mode());
        let manager = Manager::from_config(
            config,
            tls.connector()?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(16)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| StoreError::Config(format!("cannot build the connection pool: {e}")))?;
        let store = PostgresStore { pool };
        {
            let mut client = store.client().await?;
            migrate::run(&mut client).await?;
        }
        Ok(store)
    }

    /// A pooled connection; the wait is recorded as `ginkgo_store_wait_seconds`, and the
    /// pool's size and idle connections as gauges.
    pub(crate) async fn client(&self) -> StoreResult<deadpool_postgres::Object> {
        let started = std::time::Instant::now();
        let client = self
            .pool
            .get()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()));
        metrics::histogram!("ginkgo_store_wait_seconds", "backend" => "postgres", "gate" => "pool")
            .record(started.elapsed().as_secs_f64());
        let status = self.pool.status();
        metrics::gauge!("ginkgo_store_pool_connections").set(status.size as f64);
        metrics::gauge!("ginkgo_store_pool_idle").set(status.available as f64);
        client
    }

    /// Whether this store's connections to the server are encrypted (from `pg_stat_ssl`).
    pub async fn connection_encrypted(&self) -> StoreResult<bool> {
        let c = self.client().await?;
        let row = c
            .query_one(
                "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
                &[],
            )
            .await
            .map_err(map_err)?;
        Ok(row.get(0))
    }

    pub async fn applied_migrations(&self) -> StoreResult<Vec<String>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT version FROM schema_migrations ORDER BY version",
                &[],
            )
            .await
            .map_err(map_err)?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

pub(crate) fn map_err(e: tokio_postgres::Error) -> StoreError {
    use tokio_postgres::error::SqlState;
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::Conflict(
            e.as_db_error()
                .map(|d| d.message().to_string())
                .unwrap_or_default(),
        ),
        Some(c)
            if *c == SqlState::LOCK_NOT_AVAILABLE
                || *c == SqlState::T_R_SERIALIZATION_FAILURE
                || *c == SqlState::T_R_DEADLOCK_DETECTED
                || *c == SqlState::QUERY_CANCELED =>
        {
            StoreError::Busy("the database is busy; retry shortly".into())
        }
        Some(c) if c.code().starts_with("08") || c.code().starts_with("57") => {
            StoreError::Unavailable(e.to_string())
        }
        Some(_) => StoreError::Internal(match e.as_db_error() {
            Some(d) => format!("{}: {}", d.code().code(), d.message()),
            None => e.to_string(),
        }),
        None if e.is_closed() => StoreError::Unavailable(e.to_string()),
        None => StoreError::Unavailable(e.to_string()),
    }
}

#[async_trait]
impl Store for PostgresStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    async fn health(&self) -> StoreResult<()> {
        let c = self.client().await?;
        match migrate::missing(&c).await?.first() {
            None => Ok(()),
            Some(v) => Err(StoreError::Unavailable(format!(
                "migration {v} is not applied (run `ginkgo migrate`)"
            ))),
        }
    }
}
