//! The conformance story on PostgreSQL, when `GINKGO_TEST_POSTGRES_URL` names a database.
//!
//! Each test gets its own fresh schema in that database. When the variable is set but the server
//! is unreachable, the tests fail: they never skip silently in CI. When it is unset, they say so
//! and check nothing — unless `CI` is set, where an unset URL is itself a failure.

use std::sync::Arc;

use ginkgo_store_postgres::PostgresStore;

fn base_url() -> Option<String> {
    match std::env::var("GINKGO_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but GINKGO_TEST_POSTGRES_URL is not: the PostgreSQL tests must run in CI"
            );
            None
        }
    }
}

async fn fresh() -> Option<Arc<PostgresStore>> {
    let url = base_url()?;
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("GINKGO_TEST_POSTGRES_URL is set but unreachable: {e:?}"));
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("create schema");
    let sep = if url.contains('?') { '&' } else { '?' };
    let scoped = format!("{url}{sep}options=-csearch_path%3D{schema}");
    Some(Arc::new(
        PostgresStore::connect(&scoped)
            .await
            .expect("connect to the test schema"),
    ))
}

ginkgo_store::conformance_tests!(fresh);

#[tokio::test]
async fn a_deposit_confirms_while_a_load_is_still_reading() {
    let Some(store) = fresh().await else { return };
    ginkgo_store::conformance::a_deposit_confirms_while_a_load_is_still_reading(store).await;
}

#[tokio::test]
async fn migrations_apply_once() {
    let Some(store) = fresh().await else { return };
    let applied = store.applied_migrations().await.expect("list");
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
}
