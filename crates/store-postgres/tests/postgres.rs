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
    let scoped = fresh_url().await?;
    Some(Arc::new(
        PostgresStore::connect(&scoped)
            .await
            .expect("connect to the test schema"),
    ))
}

/// The test database's URL, scoped to a fresh schema.
async fn fresh_url() -> Option<String> {
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
    Some(format!("{url}{sep}options=-csearch_path%3D{schema}"))
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

/// TLS to the local server (Debian's PostgreSQL has `ssl = on` with its snakeoil certificate,
/// issued to `localhost`): `disable` stays in clear, `require` encrypts, `verify-ca` and
/// `verify-full` check the chain against `sslrootcert`, and a wrong root or a host name the
/// certificate does not name refuses to connect.
#[tokio::test]
async fn tls_follows_sslmode_and_sslrootcert() {
    let Some(url) = fresh_url().await else { return };
    let snakeoil = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
    assert!(
        std::path::Path::new(snakeoil).exists(),
        "the test server's certificate {snakeoil} is missing"
    );
    let wrong_root = std::fs::read_dir("/etc/ssl/certs")
        .expect("system certificates")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.extension().is_some_and(|x| x == "pem")
                && !p.to_string_lossy().contains("snakeoil")
                && std::fs::read_to_string(p).is_ok_and(|t| t.contains("BEGIN CERTIFICATE"))
        })
        .expect("a CA certificate that did not issue the server's");
    let with = |url: &str, extra: &str| {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}{extra}")
    };
    let encrypted = |u: String| async move {
        let store = PostgresStore::connect(&u)
            .await
            .map_err(|e| e.to_string())?;
        store
            .connection_encrypted()
            .await
            .map_err(|e| e.to_string())
    };
    assert_eq!(encrypted(with(&url, "sslmode=disable")).await, Ok(false));
    assert_eq!(encrypted(with(&url, "sslmode=require")).await, Ok(true));
    assert_eq!(encrypted(with(&url, "sslmode=prefer")).await, Ok(true));
    let root = format!("sslrootcert={snakeoil}");
    assert_eq!(
        encrypted(with(&url, &format!("sslmode=verify-ca&{root}"))).await,
        Ok(true)
    );
    let by_name = url.replacen("@127.0.0.1", "@localhost", 1);
    if by_name != url {
        assert_eq!(
            encrypted(with(&by_name, &format!("sslmode=verify-full&{root}"))).await,
            Ok(true),
            "verify-full against the host name the certificate names"
        );
        let refused = encrypted(with(&url, &format!("sslmode=verify-full&{root}"))).await;
        assert!(
            refused.is_err(),
            "127.0.0.1 is not the certificate's name: {refused:?}"
        );
    }
    for mode in ["verify-full", "verify-ca"] {
        let refused = encrypted(with(
            &by_name,
            &format!("sslmode={mode}&sslrootcert={}", wrong_root.display()),
        ))
        .await;
        assert!(refused.is_err(), "{mode} with a wrong root connected");
    }
    let refused = encrypted(with(
        &url,
        "sslmode=verify-full&sslrootcert=/nonexistent.pem",
    ))
    .await;
    assert!(
        refused.as_ref().is_err_and(|e| e.contains("sslrootcert")),
        "{refused:?}"
    );
}
