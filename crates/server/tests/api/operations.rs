//! What an operator and a load balancer rely on: liveness, readiness, draining on shutdown.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::{TestApp, temp_dir};

async fn get(app: &TestApp, path: &str) -> (StatusCode, Value) {
    let r = app.http.get(app.url(path)).send().await.expect("send");
    let status = r.status();
    (status, r.json().await.expect("json"))
}

#[tokio::test]
async fn livez_readyz_and_the_healthz_alias_answer_ok_on_a_current_database() {
    let app = TestApp::spawn().await;
    let (status, body) = get(&app, "/livez").await;
    assert_eq!(
        (status, body["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    for path in ["/readyz", "/healthz"] {
        let (status, body) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert_eq!(body["database"], "sqlite", "{path}: {body}");
    }
}

#[tokio::test]
async fn readyz_answers_503_while_draining_and_livez_keeps_answering() {
    let dir = temp_dir("drain");
    let url = format!("sqlite://{}/ginkgo.db", dir.display());
    let mut app = TestApp::spawn_with(url, dir, |c, _| c.shutdown_drain_seconds = 3).await;
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);
    app.begin_shutdown();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let (status, body) = loop {
        let (status, body) = get(&app, "/readyz").await;
        if status != StatusCode::OK || std::time::Instant::now() > deadline {
            break (status, body);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "shutting_down", "{body}");
    assert!(body["error"]["request_id"].is_string(), "{body}");
    let (status, body) = get(&app, "/healthz").await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            &Value::from("shutting_down")
        )
    );
    let (status, _) = get(&app, "/livez").await;
    assert_eq!(status, StatusCode::OK, "alive while draining");
    app.stopped().await;
    assert!(
        app.http.get(app.url("/livez")).send().await.is_err(),
        "the listener is closed after the drain"
    );
}
