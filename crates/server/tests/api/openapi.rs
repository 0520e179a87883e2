use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// The document is generated from the code; an accidental change shows up here. After an
/// intended change run `UPDATE_SNAPSHOTS=1 cargo test -p ginkgo-server --test api openapi`.
#[tokio::test]
async fn the_openapi_document_matches_its_snapshot() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let doc: Value = r.json().await.expect("json");
    let pretty = serde_json::to_string_pretty(&doc).expect("pretty") + "\n";
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/openapi.json");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&path, &pretty).expect("write snapshot");
    }
    let expected =
        std::fs::read_to_string(&path).expect("snapshot exists (run with UPDATE_SNAPSHOTS=1)");
    assert!(
        expected == pretty,
        "the OpenAPI document changed; review and update the snapshot"
    );
}

#[tokio::test]
async fn every_route_is_documented() {
    let doc = serde_json::to_value(ginkgo_server::openapi::document()).expect("json");
    let paths = doc["paths"].as_object().expect("paths");
    for p in [
        "/healthz",
        "/api/openapi.json",
        "/api/v1/auth/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/claim",
        "/api/v1/me",
        "/api/v1/accounts",
        "/api/v1/accounts/{id}",
        "/api/v1/accounts/{id}/holdings",
        "/api/v1/accounts/{id}/allocation",
        "/api/v1/accounts/{id}/history",
        "/api/v1/allocation",
        "/api/v1/history",
        "/api/investments",
        "/api/investments/holdings",
        "/api/v1/deposits",
        "/api/v1/deposits/{id}/confirm",
        "/api/transfers-verifications",
        "/api/transfers",
        "/api/v1/batch/runs",
        "/api/v1/batch/runs/{id}",
        "/api/v1/batch/runs/{id}/findings",
        "/api/v1/batch/runs/{id}/rejects.csv",
        "/api/v1/bank/link",
        "/api/v1/bank/callback",
        "/api/v1/bank/sync",
        "/api/v1/bank/syncs",
        "/api/v1/bank/syncs/{id}",
        "/api/v1/bank/accounts",
        "/api/v1/bank/accounts/{id}/transactions",
        "/api/v1/bank/transactions/{id}/category",
        "/api/v1/insight/categories",
        "/api/v1/insight/spending",
        "/api/v1/insight/weekly",
        "/api/v1/insight/monthly",
        "/api/v1/insight/recurring",
        "/api/v1/insight/upcoming",
        "/api/v1/rules",
        "/api/v1/rules/{id}",
        "/api/v1/rules/reorder",
        "/api/v1/rules/preview",
    ] {
        assert!(paths.contains_key(p), "{p} is not documented");
    }
}
