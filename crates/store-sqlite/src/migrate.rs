//! Embedded, ordered migrations, each applied once in its own transaction.

use ginkgo_store::StoreResult;
use rusqlite::Connection;

use crate::conn::map_err;

const MIGRATIONS: &[(&str, &str)] = &[
    (
        "0001_foundation",
        include_str!("../migrations/0001_foundation.sql"),
    ),
    (
        "0002_investments",
        include_str!("../migrations/0002_investments.sql"),
    ),
    ("0003_bank", include_str!("../migrations/0003_bank.sql")),
    (
        "0004_bank_sync_runs",
        include_str!("../migrations/0004_bank_sync_runs.sql"),
    ),
    (
        "0005_bank_status",
        include_str!("../migrations/0005_bank_status.sql"),
    ),
    (
        "0006_last_known_good",
        include_str!("../migrations/0006_last_known_good.sql"),
    ),
    (
        "0007_insight_overrides",
        include_str!("../migrations/0007_insight_overrides.sql"),
    ),
];

/// The migrations this build knows, in order.
pub fn versions() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|(v, _)| *v).collect()
}

/// The migrations of this build not applied to the database (empty when it is current).
pub fn missing(conn: &Connection) -> rusqlite::Result<Vec<&'static str>> {
    let mut st = conn.prepare("SELECT version FROM schema_migrations")?;
    let applied = st
        .query_map([], |r| r.get::<_, String>(0))?
        .collect::<rusqlite::Result<std::collections::HashSet<String>>>()?;
    Ok(MIGRATIONS
        .iter()
        .map(|(v, _)| *v)
        .filter(|v| !applied.contains(*v))
        .collect())
}

pub fn run(conn: &mut Connection) -> StoreResult<()> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version TEXT PRIMARY KEY,
             applied_at INTEGER NOT NULL
         )",
    )
    .map_err(map_err)?;
    for (version, sql) in MIGRATIONS {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(map_err)?;
        let done: bool = tx
            .query_row(
                "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = ?1)",
                [version],
                |r| r.get(0),
            )
            .map_err(map_err)?;
        if !done {
            tracing::info!(version, "applying migration");
            tx.execute_batch(sql).map_err(map_err)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                rusqlite::params![version, chrono::Utc::now().timestamp_millis()],
            )
            .map_err(map_err)?;
        }
        tx.commit().map_err(map_err)?;
    }
    Ok(())
}
