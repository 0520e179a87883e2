use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::helpers::*;

fn sign(number: &str, name: &str, amount: i64) -> String {
    hex::encode(Sha512::digest(format!("{number}{name}{amount}").as_bytes()))
}

async fn cash_and_principal(app: &TestApp, token: &str, id: i64) -> (i64, i64, i64) {
    let (_, d) = app.get(&format!("/api/v1/accounts/{id}"), token).await;
    let (_, h) = app
        .get(&format!("/api/v1/accounts/{id}/holdings"), token)
        .await;
    let cash = h
        .as_array()
        .expect("h")
        .iter()
        .find(|l| l["isin"] == "CASH")
        .map(|l| l["valuation"].as_i64().expect("v"))
        .unwrap_or(0);
    (
        cash,
        d["principal"].as_i64().expect("p"),
        d["total_assets"].as_i64().expect("t"),
    )
}

#[tokio::test]
async fn a_deposit_in_two_phases_grows_cash_and_principal_once() {
    let app = TestApp::spawn().await;
    app.load_generated(6, day(2026, 11, 20), 1, 0.0).await;
    let l = app.standard_logins().await;
    let a = &l.a_account;
    let before = cash_and_principal(&app, &l.a, a.id).await;
    let (s, created) = app
        .post("/api/v1/deposits", Some(&l.a), json!({"account_number": a.account_number, "user_name": a.customer_name, "transfer_amount": 50_000}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let id = created["transfer_identifier"]
        .as_str()
        .expect("id")
        .to_string();
    assert!(id.len() >= 32, "identifiers are long and random");
    // Wrong signature: nothing changes.
    let (s, body) = app
        .post(
            &format!("/api/v1/deposits/{id}/confirm"),
            Some(&l.a),
            json!({"signature": sign(&a.account_number, &a.customer_name, 50_001)}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "signature_mismatch");
    assert_eq!(cash_and_principal(&app, &l.a, a.id).await, before);
    let good = sign(&a.account_number, &a.customer_name, 50_000);
    let (s, body) = app
        .post(
            &format!("/api/v1/deposits/{id}/confirm"),
            Some(&l.a),
            json!({"signature": good}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], true);
    let after = cash_and_principal(&app, &l.a, a.id).await;
    assert_eq!(
        after,
        (before.0 + 50_000, before.1 + 50_000, before.2 + 50_000)
    );
    // A replay is refused and changes nothing.
    let (s, body) = app
        .post(
            &format!("/api/v1/deposits/{id}/confirm"),
            Some(&l.a),
            json!({"signature": good}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "already_completed");
    assert_eq!(cash_and_principal(&app, &l.a, a.id).await, after);
    let (_, list) = app.get("/api/v1/deposits", &l.a).await;
    assert_eq!(list[0]["status"], "confirmed");
    assert_eq!(list[0]["amount"], 50_000);
    // Someone else cannot confirm or even see it.
    let (s, _) = app
        .post(
            &format!("/api/v1/deposits/{id}/confirm"),
            Some(&l.b),
            json!({"signature": good}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, theirs) = app.get("/api/v1/deposits", &l.b).await;
    assert_eq!(theirs.as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn the_original_transfer_routes_keep_their_shapes() {
    let app = TestApp::spawn().await;
    app.load_generated(6, day(2026, 11, 20), 1, 0.0).await;
    let l = app.standard_logins().await;
    let a = &l.a_account;
    let (s, created) = app
        .post("/api/transfers-verifications", Some(&l.a), json!({"account_number": a.account_number, "user_name": a.customer_name, "transfer_amount": 1000}))
        .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let id = created["transfer_identifier"].clone();
    assert_eq!(created.as_object().map(|o| o.len()), Some(1));
    let (s, body) = app
        .post("/api/transfers", Some(&l.a), json!({"signature": sign(&a.account_number, &a.customer_name, 999), "transfer_identifier": id}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["status"], false);
    let (s, body) = app
        .post("/api/transfers", Some(&l.a), json!({"signature": sign(&a.account_number, &a.customer_name, 1000), "transfer_identifier": id}))
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, json!({"status": true}));
}

#[tokio::test]
async fn bad_deposit_requests_answer_precise_4xx_and_change_nothing() {
    let app = TestApp::spawn().await;
    app.load_generated(6, day(2026, 11, 20), 1, 0.0).await;
    let l = app.standard_logins().await;
    let a = &l.a_account;
    let before = cash_and_principal(&app, &l.a, a.id).await;
    let body = |amount: Value| json!({"account_number": a.account_number, "user_name": a.customer_name, "transfer_amount": amount});
    for (req, status) in [
        (body(json!(-1000)), StatusCode::UNPROCESSABLE_ENTITY),
        (body(json!(0)), StatusCode::UNPROCESSABLE_ENTITY),
        (body(json!(10.5)), StatusCode::UNPROCESSABLE_ENTITY),
        (body(json!("1000")), StatusCode::UNPROCESSABLE_ENTITY),
        (body(json!(10_000_001)), StatusCode::UNPROCESSABLE_ENTITY),
        (body(json!(1e30)), StatusCode::UNPROCESSABLE_ENTITY),
        (
            body(json!(18_446_744_073_709_551_615u64)),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"account_number": a.account_number, "user_name": "아무개", "transfer_amount": 10}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"account_number": l.b_account.account_number, "user_name": l.b_account.customer_name, "transfer_amount": 10}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"account_number": "no-such", "user_name": a.customer_name, "transfer_amount": 10}),
            StatusCode::NOT_FOUND,
        ),
        (
            json!({"account_number": a.account_number, "transfer_amount": 10}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({"account_number": a.account_number, "user_name": a.customer_name, "transfer_amount": 10, "x": 1}),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (s, b) = app.post("/api/v1/deposits", Some(&l.a), req.clone()).await;
        assert_eq!(s, status, "{req} → {b}");
        assert!(b["error"]["message"].is_string(), "{b}");
    }
    let (s, _) = app
        .post(
            "/api/v1/deposits/unknown/confirm",
            Some(&l.a),
            json!({"signature": "ab"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, created) = app
        .post("/api/v1/deposits", Some(&l.a), body(json!(10)))
        .await;
    let id = created["transfer_identifier"].as_str().expect("id");
    let (s, b) = app
        .post(
            &format!("/api/v1/deposits/{id}/confirm"),
            Some(&l.a),
            json!({"signature": "not hex"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(b["error"]["code"], "malformed_signature");
    assert_eq!(cash_and_principal(&app, &l.a, a.id).await, before);
}

#[tokio::test]
async fn an_expired_identifier_is_refused() {
    let dir = temp_dir("expiry");
    let url = format!("sqlite://{}/ginkgo.db", dir.display());
    let app = TestApp::spawn_with(url, dir, |c, _| c.deposit.expiry_minutes = 1).await;
    app.load_generated(4, day(2026, 11, 20), 1, 0.0).await;
    let l = app.standard_logins().await;
    let a = &l.a_account;
    let (_, created) = app
        .post("/api/v1/deposits", Some(&l.a), json!({"account_number": a.account_number, "user_name": a.customer_name, "transfer_amount": 10}))
        .await;
    let expires: chrono::DateTime<chrono::Utc> = created["expires_at"]
        .as_str()
        .expect("t")
        .parse()
        .expect("time");
    let minutes = (expires - chrono::Utc::now()).num_seconds();
    assert!(
        (50..=60).contains(&minutes),
        "expires in about a minute ({minutes}s)"
    );
    // A deposit whose time has run out (created as phase 1 does, with a past expiry) is refused
    // over HTTP with 410, even with the right signature, and changes nothing.
    let user = app
        .store
        .credentials_by_email("a@test.kr")
        .await
        .expect("q")
        .expect("login")
        .user;
    let now = chrono::Utc::now();
    app.store
        .create_deposit(ginkgo_store::NewDeposit {
            identifier: "expired-deposit".into(),
            user_id: user.id,
            scope: ginkgo_store::Scope::Customer(a.customer_id),
            account_number: a.account_number.clone(),
            user_name: a.customer_name.clone(),
            amount: ginkgo_domain::Won::new(10),
            now: now - chrono::Duration::minutes(2),
            expires_at: now - chrono::Duration::minutes(1),
        })
        .await
        .expect("store")
        .expect("created");
    let before = cash_and_principal(&app, &l.a, a.id).await;
    let (s, body) = app
        .post(
            "/api/v1/deposits/expired-deposit/confirm",
            Some(&l.a),
            json!({"signature": sign(&a.account_number, &a.customer_name, 10)}),
        )
        .await;
    assert_eq!(s, StatusCode::GONE, "{body}");
    assert_eq!(body["error"]["code"], "expired");
    assert_eq!(cash_and_principal(&app, &l.a, a.id).await, before);
}

/// 100 identical confirmations at once, spread over `replicas` servers on one database: exactly
/// one applies the deposit, the other 99 answer "already completed", the cash line grows once.
async fn hundred_concurrent_confirmations(replicas: Vec<TestApp>) {
    let app = &replicas[0];
    app.load_generated(4, day(2026, 11, 20), 1, 0.0).await;
    let l = app.standard_logins().await;
    let a = l.a_account.clone();
    let before = cash_and_principal(app, &l.a, a.id).await;
    let (_, created) = app
        .post("/api/v1/deposits", Some(&l.a), json!({"account_number": a.account_number, "user_name": a.customer_name, "transfer_amount": 7_777}))
        .await;
    let id = created["transfer_identifier"]
        .as_str()
        .expect("id")
        .to_string();
    let signature = sign(&a.account_number, &a.customer_name, 7_777);
    let replicas: Vec<std::sync::Arc<TestApp>> =
        replicas.into_iter().map(std::sync::Arc::new).collect();
    let mut tasks = Vec::new();
    for i in 0..100 {
        let replica = replicas[i % replicas.len()].clone();
        let (id, token, signature) = (id.clone(), l.a.clone(), signature.clone());
        tasks.push(tokio::spawn(async move {
            replica
                .post(
                    &format!("/api/v1/deposits/{id}/confirm"),
                    Some(&token),
                    json!({"signature": signature}),
                )
                .await
        }));
    }
    let (mut ok, mut completed) = (0, 0);
    for t in tasks {
        match t.await.expect("task") {
            (StatusCode::OK, _) => ok += 1,
            (StatusCode::CONFLICT, body) => {
                assert_eq!(body["error"]["code"], "already_completed", "{body}");
                completed += 1;
            }
            (other, body) => panic!("unexpected answer {other}: {body}"),
        }
    }
    assert_eq!(
        (ok, completed),
        (1, 99),
        "exactly one confirmation succeeds"
    );
    let after = cash_and_principal(&replicas[0], &l.a, a.id).await;
    assert_eq!(
        after,
        (before.0 + 7_777, before.1 + 7_777, before.2 + 7_777),
        "the cash line grew once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_confirmations_apply_once_on_sqlite() {
    hundred_concurrent_confirmations(vec![TestApp::spawn().await]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_confirmations_apply_once_on_postgres() {
    let Some(app) = TestApp::spawn_postgres().await else {
        eprintln!("skipped: GINKGO_TEST_POSTGRES_URL is not set");
        return;
    };
    hundred_concurrent_confirmations(vec![app]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_confirmations_across_two_replicas_apply_once_on_postgres() {
    let Some(url) = fresh_postgres().await else {
        eprintln!("skipped: GINKGO_TEST_POSTGRES_URL is not set");
        return;
    };
    // A replica's read cache may hold the figures for up to a second after another replica
    // confirmed (documented); the figures are read through the first replica, so without it.
    let no_cache = |c: &mut ginkgo_server::Config, _: &str| c.read_cache_ms = 0;
    let first = TestApp::spawn_with(url.clone(), temp_dir("replica-1"), no_cache).await;
    let second = TestApp::spawn_with(url, temp_dir("replica-2"), no_cache).await;
    hundred_concurrent_confirmations(vec![first, second]).await;
}

#[tokio::test]
async fn the_original_routes_answer_a_numeric_identifier_and_status_false() {
    let app = TestApp::spawn().await;
    app.load_generated(4, day(2026, 11, 20), 1, 0.0).await;
    let l = app.standard_logins().await;
    let a = &l.a_account;
    let before = cash_and_principal(&app, &l.a, a.id).await;
    let (s, created) = app
        .post("/api/transfers-verifications", Some(&l.a), json!({"account_number": a.account_number, "user_name": a.customer_name, "transfer_amount": 1000}))
        .await;
    assert_eq!(s, StatusCode::OK, "{created}");
    let id = created["transfer_identifier"]
        .as_i64()
        .expect("the original contract answers a number");
    assert!(
        (1_000_000_000_000_000..1 << 53).contains(&id),
        "16 random digits, exact as a JSON number: {id}"
    );
    // Unauthenticated, malformed and wrong: each a failure with `status: false`, nothing changed.
    let r = app
        .http
        .post(app.url("/api/transfers"))
        .json(&json!({"signature": sign(&a.account_number, &a.customer_name, 1000), "transfer_identifier": id}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = r.json().await.expect("json");
    assert_eq!(body["status"], false, "{body}");
    for bad in [
        json!({"signature": "abc", "transfer_identifier": id, "extra": 1}),
        json!({"signature": sign(&a.account_number, &a.customer_name, 1000), "transfer_identifier": [id]}),
        json!({"signature": sign(&a.account_number, &a.customer_name, 1001), "transfer_identifier": id}),
    ] {
        let (s, body) = app.post("/api/transfers", Some(&l.a), bad.clone()).await;
        assert!(s.is_client_error(), "{bad}: {s}");
        assert_eq!(body["status"], false, "{bad}: {body}");
    }
    assert_eq!(cash_and_principal(&app, &l.a, a.id).await, before);
    let (s, body) = app
        .post("/api/transfers", Some(&l.a), json!({"signature": sign(&a.account_number, &a.customer_name, 1000), "transfer_identifier": id}))
        .await;
    assert_eq!(
        (s, body.clone()),
        (StatusCode::OK, json!({"status": true})),
        "{body}"
    );
    let after = cash_and_principal(&app, &l.a, a.id).await;
    assert_eq!(after.1, before.1 + 1000);
}

#[tokio::test]
async fn every_attempt_is_in_the_audit_trail_and_operators_deposit_nowhere() {
    let app = TestApp::spawn().await;
    app.load_generated(4, day(2026, 11, 20), 1, 0.0).await;
    let l = app.standard_logins().await;
    let a = &l.a_account;
    let operator = l.operator.clone();
    // Refused at the edge: bad amount, malformed body, an operator, an absurd identifier.
    let (s, _) = app
        .post("/api/v1/deposits", Some(&l.a), json!({"account_number": a.account_number, "user_name": a.customer_name, "transfer_amount": -5}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .post(
            "/api/v1/deposits",
            Some(&l.a),
            json!({"account_number": a.account_number}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, body) = app
        .post("/api/v1/deposits", Some(&operator), json!({"account_number": a.account_number, "user_name": a.customer_name, "transfer_amount": 5}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
    let long = "x".repeat(5000);
    let (s, _) = app
        .post(
            &format!("/api/v1/deposits/{long}/confirm"),
            Some(&l.a),
            json!({"signature": "0"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // Reaching the store: created, a wrong signature, confirmed, replayed.
    let (_, created) = app
        .post("/api/v1/deposits", Some(&l.a), json!({"account_number": a.account_number, "user_name": a.customer_name, "transfer_amount": 300}))
        .await;
    let id = created["transfer_identifier"]
        .as_str()
        .expect("id")
        .to_string();
    for amount in [301, 300, 300] {
        app.post(
            &format!("/api/v1/deposits/{id}/confirm"),
            Some(&l.a),
            json!({"signature": sign(&a.account_number, &a.customer_name, amount)}),
        )
        .await;
    }
    let (s, trail) = app.get("/api/v1/deposits/attempts", &l.a).await;
    assert_eq!(s, StatusCode::OK, "{trail}");
    let outcomes: Vec<(i64, String)> = trail
        .as_array()
        .expect("list")
        .iter()
        .rev()
        .map(|t| {
            (
                t["phase"].as_i64().expect("phase"),
                t["outcome"].as_str().expect("o").to_string(),
            )
        })
        .collect();
    let expected: Vec<(i64, String)> = [
        (1, "invalid"),
        (1, "malformed"),
        (2, "not_found"),
        (1, "created"),
        (2, "bad_signature"),
        (2, "confirmed"),
        (2, "already_confirmed"),
    ]
    .into_iter()
    .map(|(p, o)| (p, o.to_string()))
    .collect();
    assert_eq!(outcomes, expected);
    let stored_long = trail[4]["transfer_identifier"]
        .as_str()
        .expect("kept, shortened");
    assert_eq!(stored_long.len(), 64);
    // The operator's refused attempt is theirs; operators read everyone's trail.
    let (_, all) = app
        .get("/api/v1/deposits/attempts?limit=1000", &operator)
        .await;
    let all = all.as_array().expect("list");
    assert_eq!(all.len(), expected.len() + 1);
    assert!(
        all.iter()
            .any(|t| t["outcome"] == "forbidden" && t["user_id"] != trail[0]["user_id"])
    );
    let (s, _) = app.get("/api/v1/deposits/attempts?limit=0", &l.a).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}
