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

/// Reads until the server closes the connection; `None` if it is still open after `limit`
/// (a bound on the test, generous against the configured timeout, not a timing assertion).
async fn closed_within(
    stream: &mut tokio::net::TcpStream,
    limit: std::time::Duration,
) -> Option<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(limit, read_all).await.ok()?;
    Some(got)
}

#[tokio::test]
async fn a_client_that_drips_its_headers_is_disconnected_and_an_idle_one_too() {
    use tokio::io::AsyncWriteExt;
    let dir = temp_dir("slow-headers");
    let url = format!("sqlite://{}/ginkgo.db", dir.display());
    let app = TestApp::spawn_with(url, dir, |c, _| c.limits.header_read_timeout_seconds = 1).await;
    let addr = app.base.trim_start_matches("http://").to_string();

    // A slowloris: a byte of header every 200 ms, never the blank line.
    let mut slow = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    slow.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let drip = async {
        for _ in 0..100 {
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            if slow.write_all(b"X").await.is_err() {
                return true;
            }
        }
        false
    };
    let cut = tokio::time::timeout(std::time::Duration::from_secs(15), drip)
        .await
        .unwrap_or(false);
    assert!(cut, "the server kept a dripping client connected");

    // A kept-alive connection that sends nothing more is closed too.
    let mut idle = tokio::net::TcpStream::connect(&addr)
        .await
        .expect("connect");
    idle.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answered = closed_within(&mut idle, std::time::Duration::from_secs(15))
        .await
        .expect("the idle connection was closed");
    let text = String::from_utf8_lossy(&answered);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");

    // Other clients are served all along.
    let (status, _) = get(&app, "/livez").await;
    assert_eq!(status, StatusCode::OK);
}

/// Reads from `stream` until an HTTP status line has arrived, or `limit` passes.
async fn answered_within(stream: &mut tokio::net::TcpStream, limit: std::time::Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let read = async {
        while !got.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return false,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
        got.starts_with(b"HTTP/1.1 200")
    };
    tokio::time::timeout(limit, read).await.unwrap_or(false)
}

/// The connection cap: past `limits.max_connections` open connections a new client waits (in
/// the kernel's backlog, unanswered) and is served as soon as another connection closes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_connection_cap_a_client_waits_until_another_connection_closes() {
    use tokio::io::AsyncWriteExt;
    const CAP: usize = 2;
    let dir = temp_dir("connection-cap");
    let url = format!("sqlite://{}/ginkgo.db", dir.display());
    let app = TestApp::spawn_with(url, dir, |c, _| c.limits.max_connections = CAP).await;
    let addr = app.base.trim_start_matches("http://").to_string();
    // Kept-alive connections, each answered once, until one is not answered: a pooled
    // connection of the test's own client may hold a place too, so fewer than CAP may be.
    let mut open = Vec::new();
    let mut waiting = None;
    for _ in 0..CAP + 3 {
        let mut c = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        c.write_all(b"GET /livez HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .expect("write");
        if answered_within(&mut c, std::time::Duration::from_secs(2)).await {
            open.push(c);
        } else {
            waiting = Some(c);
            break;
        }
    }
    assert!(
        open.len() <= CAP,
        "{} connections served past a cap of {CAP}",
        open.len()
    );
    let mut waiting = waiting.expect("a client past the cap waits");
    // Closing the served connections frees their places: the waiting client is answered.
    drop(open);
    assert!(
        answered_within(&mut waiting, std::time::Duration::from_secs(20)).await,
        "the waiting client was served once places were free"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_from_one_address_is_shed_with_429_while_other_routes_answer() {
    let dir = temp_dir("flood");
    let url = format!("sqlite://{}/ginkgo.db", dir.display());
    let app = TestApp::spawn_with(url, dir, |c, _| c.limits.auth_requests_per_minute = 5).await;
    let logins: Vec<_> = (0..40)
        .map(|i| {
            let req = app
                .http
                .post(app.url("/api/v1/auth/login"))
                .json(&serde_json::json!({"email": format!("nobody{i}@flood.test"), "password": "wrong password 1"}));
            tokio::spawn(req.send())
        })
        .collect();
    let (status, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::OK, "readiness during the flood: {body}");
    let (status, _) = get(&app, "/api/openapi.json").await;
    assert_eq!(
        status,
        StatusCode::OK,
        "other routes answer during the flood"
    );
    let mut limited = 0;
    let mut reached = 0;
    for t in logins {
        let r = t.await.expect("task").expect("an answer");
        match r.status() {
            StatusCode::TOO_MANY_REQUESTS => {
                assert!(
                    r.headers().contains_key("retry-after"),
                    "429 says when to retry"
                );
                let body: Value = r.json().await.expect("json");
                assert_eq!(body["error"]["code"], "too_many_attempts", "{body}");
                assert!(body["error"]["request_id"].is_string(), "{body}");
                limited += 1;
            }
            StatusCode::UNAUTHORIZED => reached += 1,
            other => panic!("a login in the flood answered {other}"),
        }
    }
    assert!(reached <= 5, "{reached} logins got past a budget of 5");
    assert_eq!(limited + reached, 40);
    // Sign-up shares the budget: it is refused before any hash or write.
    let (status, body) = app
        .post(
            "/api/v1/auth/signup",
            None,
            serde_json::json!({"email": "new@flood.test", "password": "long enough password"}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        app.store.list_users().await.expect("query").is_empty(),
        "a refused sign-up writes nothing"
    );
}

/// The Prometheus text format: `# HELP`/`# TYPE` comments and `name{labels} value` samples.
/// Answers each sample's value by its `name{labels}` key, or panics on a malformed line.
fn parse_prometheus(text: &str) -> std::collections::HashMap<String, f64> {
    let mut samples = std::collections::HashMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        if let Some(comment) = line.strip_prefix('#') {
            let words: Vec<&str> = comment.split_whitespace().collect();
            assert!(
                matches!(words.first(), Some(&"HELP") | Some(&"TYPE")) && words.len() >= 3,
                "bad comment line: {line}"
            );
            continue;
        }
        let (key, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("no value: {line}"));
        let name_end = key.find('{').unwrap_or(key.len());
        let name = &key[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':'),
            "bad metric name: {line}"
        );
        if name_end < key.len() {
            assert!(key.ends_with('}'), "unclosed labels: {line}");
        }
        let v: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("bad value: {line}"));
        samples.insert(key.to_string(), v);
    }
    samples
}

async fn scrape(app: &TestApp, token: &str) -> std::collections::HashMap<String, f64> {
    let r = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .expect("scrape");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("type")
            .starts_with("text/plain"),
    );
    parse_prometheus(&r.text().await.expect("text"))
}

fn sample(samples: &std::collections::HashMap<String, f64>, key: &str) -> f64 {
    samples.get(key).copied().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_behind_their_token_parse_as_prometheus_text_and_move_with_requests_loads_and_syncs()
 {
    const TOKEN: &str = "Mt5Rq8Wz1Lx4Vb7Hn2Jc9Pd3Gf6Ks0Ya";
    let bank = crate::bank::start_sandbox(30).await;
    let app = crate::bank::app_with_bank_tweaked(&bank, |c| {
        c.metrics_token = ginkgo_server::config::Secret::new(TOKEN)
    })
    .await;
    let r = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "no token, no metrics");
    let r = app
        .http
        .get(app.url("/metrics"))
        .bearer_auth("Mt5Rq8Wz1Lx4Vb7Hn2Jc9Pd3Gf6Ks0Yb")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "a wrong token");

    let before = scrape(&app, TOKEN).await;
    for _ in 0..3 {
        assert_eq!(get(&app, "/livez").await.0, StatusCode::OK);
    }
    let (s, _) = app.login("nobody@metrics.test", "wrong password 1").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    app.load_generated(5, crate::helpers::day(2026, 11, 20), 1, 0.0)
        .await;
    app.create_user("m@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let token = app.token("m@test.kr").await;
    let callback = crate::bank::consent(&app, &bank, &token, 0).await;
    assert_eq!(
        crate::bank::follow_callback(&app, &callback).await,
        "/bank?linked=1"
    );
    let (s, outcome) = app
        .post("/api/v1/bank/sync", Some(&token), serde_json::json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{outcome}");
    let after = scrape(&app, TOKEN).await;

    let moved = |key: &str| sample(&after, key) - sample(&before, key);
    assert!(
        moved(r#"ginkgo_http_requests_total{route="/livez",method="GET",status="200"}"#) >= 3.0,
        "requests by route, method and status"
    );
    assert!(
        moved(r#"ginkgo_http_request_duration_seconds_count{route="/livez",method="GET"}"#) >= 3.0,
        "a latency histogram"
    );
    assert!(
        after
            .keys()
            .any(|k| k.starts_with("ginkgo_http_request_duration_seconds_bucket{")),
        "with buckets"
    );
    assert!(moved(r#"ginkgo_login_refusals_total{reason="wrong_credentials"}"#) >= 1.0);
    assert!(moved(r#"ginkgo_batch_runs_total{outcome="loaded"}"#) >= 1.0);
    assert!(moved(r#"ginkgo_batch_rows_total{kind="loaded"}"#) >= 5.0);
    assert!(moved(r#"ginkgo_bank_syncs_total{status="ok"}"#) >= 1.0);
    // Account syncs by status and bank: the sandbox's bank codes of the linked accounts.
    let banks: std::collections::BTreeSet<String> = bank.handle.users()[0]
        .accounts
        .iter()
        .map(|a| a.bank_code_std.to_string())
        .collect();
    let by_bank: f64 = banks
        .iter()
        .map(|b| {
            moved(&format!(
                r#"ginkgo_bank_account_syncs_total{{status="ok",bank="{b}"}}"#
            ))
        })
        .sum();
    assert!(by_bank >= 1.0, "account syncs by bank: {banks:?}");
    assert!(
        moved(r#"ginkgo_store_wait_seconds_count{backend="sqlite",gate="read"}"#) >= 1.0,
        "database gate waits"
    );
    assert!(
        after.contains_key("ginkgo_password_hash_waiting"),
        "the Argon2 queue depth"
    );
    assert!(
        !after.keys().any(|k| k.contains("nobody@metrics.test")),
        "no personal data in labels"
    );
}

#[tokio::test]
async fn metrics_are_off_without_a_token() {
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}
