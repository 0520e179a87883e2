use ginkgo_store::StoreResult;

use crate::map_err;

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

/// The migrations of this build not applied to the database (empty when it is current).
pub async fn missing(client: &deadpool_postgres::Object) -> StoreResult<Vec<&'static str>> {
    let applied: std::collections::HashSet<String> = client
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(map_err)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(MIGRATIONS
        .iter()
        .map(|(v, _)| *v)
        .filter(|v| !applied.contains(*v))
        .collect())
}

/// Applies pending migrations, each in its own transaction, under an advisory lock so that
/// replicas starting together do not race.
pub async fn run(client: &mut deadpool_postgres::Object) -> StoreResult<()> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                 version TEXT PRIMARY KEY,
                 applied_at BIGINT NOT NULL
             )",
        )
        .await
        .or_else(|e| {
            // Two replicas creating the table at once: the loser sees a unique violation.
            if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
                Ok(())
            } else {
                Err(e)
            }
        })
        .map_err(map_err)?;
    for (version, sql) in MIGRATIONS {
        let tx = client.transaction().await.map_err(map_err)?;
        tx.execute("SELECT pg_advisory_xact_lock(7365321)", &[])
            .await
            .map_err(map_err)?;
        let done: bool = tx
            .query_one(
                "SELECT EXISTS(SELECT 1 FROM schema_migrations WHERE version = $1)",
                &[version],
            )
            .await
            .map_err(map_err)?
            .get(0);
        if !done {
            tracing::info!(version, "applying migration");
            tx.batch_execute(sql).await.map_err(map_err)?;
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &chrono::Utc::now().timestamp_millis()],
            )
            .await
            .map_err(map_err)?;
        }
        tx.commit().await.map_err(map_err)?;
    }
    Ok(())
}
