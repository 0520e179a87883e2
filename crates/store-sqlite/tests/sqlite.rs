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
            "0004_bank_sync_runs",
            "0005_bank_status",
            "0006_last_known_good",
            "0007_insight_overrides"
        ]
    );
    drop(first);
    let again = SqliteStore::connect(&url).await.expect("reopen");
    assert_eq!(again.applied_migrations().await.expect("list"), applied);
}

/// Readiness: a database that lacks a migration of this build is not ready, and says which.
#[tokio::test]
async fn health_answers_unavailable_while_a_migration_is_missing() {
    use ginkgo_store::{Store, StoreError};
    let dir = std::env::temp_dir().join(format!("ginkgo-test-{}", uuid::Uuid::new_v4()));
    let path = dir.join("ginkgo.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    store.health().await.expect("current after connect");
    let other = rusqlite::Connection::open(&path).expect("second connection");
    other
        .execute(
            "DELETE FROM schema_migrations WHERE version = '0002_investments'",
            [],
        )
        .expect("forget one");
    match store.health().await {
        Err(StoreError::Unavailable(m)) => assert!(m.contains("0002_investments"), "{m}"),
        other => panic!("health with a migration missing: {other:?}"),
    }
}

/// Another process (a `ginkgo batch load`, a second server) writing to the same file while a
/// read-then-write use case runs must make it wait, not fail: a deferred transaction whose
/// snapshot went stale would answer BUSY at once, whatever the busy timeout.
#[tokio::test]
async fn a_write_waits_for_another_process_instead_of_failing_busy() {
    use ginkgo_store::{AuthStore, NewUser, Role};
    let dir = std::env::temp_dir().join(format!("ginkgo-test-{}", uuid::Uuid::new_v4()));
    let path = dir.join("ginkgo.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    let customer = store.create_customer("김하나").await.expect("customer");
    let user = store
        .create_user(NewUser {
            email: "hana@example.com".into(),
            password_hash: "x".into(),
            role: Role::Customer,
            customer_id: None,
        })
        .await
        .expect("user");

    // The other process takes the write lock, writes, and commits a little later.
    let other = rusqlite::Connection::open(&path).expect("second connection");
    other
        .execute_batch(
            "BEGIN IMMEDIATE; INSERT INTO customers (name, created_at) VALUES ('박둘', 0);",
        )
        .expect("other process writes");
    let committer = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        other
            .execute_batch("COMMIT")
            .expect("other process commits");
    });

    let linked = store.link_customer(user.id, customer.id).await;
    committer.join().expect("committer");
    let linked = linked.expect("the write waited for the other process and succeeded");
    assert_eq!(linked.customer_id, Some(customer.id));
}

/// Customer data at rest is this user's alone: a new database's folder is 0700 and the
/// database, its WAL and its shared-memory file 0600, whatever the umask.
#[cfg(unix)]
#[tokio::test]
async fn a_new_database_is_private_to_its_user() {
    use ginkgo_store::{AuthStore, Store};
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir()
        .join(format!("ginkgo-test-{}", uuid::Uuid::new_v4()))
        .join("state");
    let path = dir.join("ginkgo.db");
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .expect("open");
    store.create_customer("김하나").await.expect("a write");
    store.health().await.expect("health");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&dir), 0o700, "the folder");
    for name in ["ginkgo.db", "ginkgo.db-wal", "ginkgo.db-shm"] {
        assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
    }
}
