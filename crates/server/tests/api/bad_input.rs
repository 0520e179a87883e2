use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

async fn raw(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = app.http.request(method, app.url(path)).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let r = req.send().await.expect("send");
    let s = r.status();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        ct.starts_with("application/json"),
        "{path}: content-type {ct}"
    );
    (s, r.json().await.expect("json error body"))
}

fn assert_error_shape(body: &Value) {
    assert!(body["error"]["code"].is_string(), "{body}");
    assert!(body["error"]["message"].is_string(), "{body}");
    assert!(body["error"]["request_id"].is_string(), "{body}");
}

#[tokio::test]
async fn malformed_requests_get_precise_4xx_in_one_shape() {
    let app = TestApp::spawn().await;
    let login = "/api/v1/auth/login";
    let json = Some("application/json");
    type Case<'a> = (&'a str, Option<&'a str>, Vec<u8>, StatusCode, &'a str);
    let cases: Vec<Case> = vec![
        (
            login,
            json,
            b"{not json".to_vec(),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
        (
            login,
            json,
            br#"{"email": "a@b.kr"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            login,
            json,
            br#"{"email": 5, "password": "x"}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            login,
            json,
            br#"{"email": "a@b.kr", "password": "x", "admin": true}"#.to_vec(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            login,
            Some("text/plain"),
            br#"{"email": "a@b.kr", "password": "x"}"#.to_vec(),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            login,
            None,
            vec![],
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
        ),
        (
            login,
            json,
            vec![b' '; 70 * 1024],
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
        ),
    ];
    for (path, ct, body, status, code) in cases {
        let (s, b) = raw(&app, reqwest::Method::POST, path, ct, body).await;
        assert_eq!(s, status, "{b}");
        assert_eq!(b["error"]["code"], code, "{b}");
        assert_error_shape(&b);
    }
    let (s, b) = raw(
        &app,
        reqwest::Method::GET,
        "/api/v1/nothing-here",
        None,
        vec![],
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_error_shape(&b);
    let (s, b) = raw(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/auth/login",
        None,
        vec![],
    )
    .await;
    assert_eq!(s, StatusCode::METHOD_NOT_ALLOWED);
    assert_error_shape(&b);
}

#[tokio::test]
async fn path_and_query_parameters_of_the_wrong_type_are_4xx() {
    let app = TestApp::spawn().await;
    app.create_user("op@test.kr", ginkgo_store::Role::Operator, None)
        .await;
    let token = app.token("op@test.kr").await;
    let (s, b) = app.get("/api/v1/accounts/not-a-number", &token).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{b}");
    let (s, b) = app
        .get("/api/v1/accounts/1/holdings?include_zero=maybe", &token)
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, b) = app.get("/api/v1/history?from=yesterday", &token).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{b}");
    let (s, _) = app
        .get("/api/v1/accounts/99999999999999999999", &token)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn health_answers_with_the_backend() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get("x-request-id").is_some());
    let b: Value = r.json().await.expect("json");
    assert_eq!(b["database"], "sqlite");
}
