//! The conformance story on a throwaway SQLite file per test.

use std::sync::Arc;

use ginkgo_store_sqlite::SqliteStore;

async fn fresh() -> Option<Arc<SqliteStore>> {
    let dir = std::env::temp_dir().join(format!("ginkgo-test-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/ginkgo.db", dir.display());
    Some(Arc::new(
        SqliteStore::connect(&url).await.expect("open sqlite"),
    ))
}

ginkgo_store::conformance_tests!(fresh);

#[tokio::test]
async fn migrations_apply_once_and_reopen_cleanly() {
    let dir = std::env::temp_dir().join(format!("ginkgo-test-{}", uuid::Uuid::new_v4()));
    let url = format!("sqlite://{}/ginkgo.db", dir.display());
    let first = SqliteStore::connect(&url).await.expect("open");
    let applied = first.applied_migrations().await.expect("list");
    assert_eq!(
        applied,
        vec![
            "0001_foundation",
            "0002_investments",
            "0003_bank",
            "0004_bank_sync_runs"
        ]
    );
    drop(first);
    let again = SqliteStore::connect(&url).await.expect("reopen");
    assert_eq!(again.applied_migrations().await.expect("list"), applied);
}
