use chrono::Utc;
use ginkgo_server::auth::{Claims, sign_jwt};
use ginkgo_store::Role;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_person_signs_up_claims_logs_in_refreshes_and_logs_out() {
    let app = TestApp::spawn().await;
    app.load_generated(5, day(2026, 11, 20), 1, 0.0).await;
    let accounts = app
        .store
        .accounts(ginkgo_store::Scope::Operator)
        .await
        .expect("accounts");
    let target = &accounts[0];

    let (s, body) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "New@Example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["email"], "new@example.com");
    assert_eq!(body["user"]["customer_id"], serde_json::Value::Null);
    let token = body["access_token"].as_str().expect("token").to_string();
    // Before claiming, the login sees no accounts.
    let (s, list) = app.get("/api/v1/accounts", &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(0));

    // A wrong pair is refused; the right one links the customer.
    let (s, _) = app
        .post(
            "/api/v1/auth/claim",
            Some(&token),
            json!({"customer_name": target.customer_name, "account_number": "999999999"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, claimed) = app
        .post(
            "/api/v1/auth/claim",
            Some(&token),
            json!({"customer_name": target.customer_name, "account_number": target.account_number}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{claimed}");
    assert_eq!(
        claimed["user"]["customer_name"],
        target.customer_name.as_str()
    );
    let token = claimed["access_token"].as_str().expect("token");
    let (_, list) = app.get("/api/v1/accounts", token).await;
    assert!(
        list.as_array()
            .expect("list")
            .iter()
            .any(|a| a["account_number"] == target.account_number.as_str())
    );
    let (s, me) = app.get("/api/v1/me", token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(me["email"], "new@example.com");

    // Log in, refresh (rotation), log out (revocation).
    let (s, session) = app.login("new@example.com", PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
    let refresh = session["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let (s, renewed) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{renewed}");
    let renewed_refresh = renewed["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let (s, _) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a spent refresh token is refused"
    );
    let (s, _) = app
        .post(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": renewed_refresh}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, body) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": renewed_refresh}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "a revoked refresh token is refused: {body}"
    );
}

#[tokio::test]
async fn signup_validates_and_refuses_a_taken_email() {
    let app = TestApp::spawn().await;
    let (s, body) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "x@example.com", "password": "short"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("msg")
            .contains("at least 10")
    );
    let (s, _) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "not-an-email", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "x@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, body) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "X@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "email_taken");
}

#[tokio::test]
async fn unknown_email_and_wrong_password_get_the_same_answer() {
    let app = TestApp::spawn().await;
    app.create_user("known@test.kr", Role::Customer, None).await;
    let (s1, b1) = app.login("known@test.kr", "wrong password!!").await;
    let (s2, b2) = app.login("unknown@test.kr", "wrong password!!").await;
    assert_eq!(s1, StatusCode::UNAUTHORIZED);
    assert_eq!(s2, StatusCode::UNAUTHORIZED);
    assert_eq!(b1["error"]["code"], b2["error"]["code"]);
    assert_eq!(b1["error"]["message"], b2["error"]["message"]);
}

#[tokio::test]
async fn the_eleventh_wrong_password_in_a_minute_is_refused_without_checking() {
    let app = TestApp::spawn().await;
    app.create_user("victim@test.kr", Role::Customer, None)
        .await;
    for i in 0..10 {
        let (s, _) = app
            .login("victim@test.kr", &format!("guess number {i}"))
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Even the right password is refused now: it is not checked at all.
    let (s, body) = app.login("victim@test.kr", PASSWORD).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["error"]["code"], "too_many_attempts");
    // Another account is not affected by this one's limit.
    app.create_user("other@test.kr", Role::Customer, None).await;
    let (s, _) = app.login("other@test.kr", PASSWORD).await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test]
async fn expired_tampered_unsigned_and_wrong_key_tokens_answer_401() {
    let app = TestApp::spawn().await;
    app.create_user("c@test.kr", Role::Customer, None).await;
    let good = app.token("c@test.kr").await;
    let (s, _) = app.get("/api/v1/me", &good).await;
    assert_eq!(s, StatusCode::OK);
    let now = Utc::now().timestamp();
    let claims = Claims {
        sub: 1,
        role: Role::Operator,
        cid: None,
        iat: now - 100,
        exp: now - 10,
        jti: "x".into(),
    };
    let expired = sign_jwt(&claims, JWT_SECRET.as_bytes());
    let (s, body) = app.get("/api/v1/me", &expired).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert!(
        body["error"]["message"]
            .as_str()
            .expect("m")
            .contains("expired")
    );
    let wrong_key = sign_jwt(
        &Claims {
            exp: now + 600,
            ..claims.clone()
        },
        b"some-other-key-some-other-key-1234",
    );
    assert_eq!(
        app.get("/api/v1/me", &wrong_key).await.0,
        StatusCode::UNAUTHORIZED
    );
    let parts: Vec<&str> = good.split('.').collect();
    let mut payload = parts[1].to_string();
    payload.replace_range(0..1, if payload.starts_with('e') { "f" } else { "e" });
    let tampered = format!("{}.{}.{}", parts[0], payload, parts[2]);
    assert_eq!(
        app.get("/api/v1/me", &tampered).await.0,
        StatusCode::UNAUTHORIZED
    );
    use base64::Engine;
    let none = format!(
        "{}.{}.",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        parts[1]
    );
    assert_eq!(
        app.get("/api/v1/me", &none).await.0,
        StatusCode::UNAUTHORIZED
    );
    let r = app
        .http
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn cookie_sessions_are_http_only_and_need_the_csrf_token_to_change_things() {
    let app = TestApp::spawn().await;
    app.create_user("c@test.kr", Role::Customer, None).await;
    let r = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": "c@test.kr", "password": PASSWORD}))
        .send()
        .await
        .expect("send");
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().expect("ascii").to_string())
        .collect();
    let access = cookies
        .iter()
        .find(|c| c.starts_with("ginkgo_access="))
        .expect("access cookie");
    assert!(
        access.contains("HttpOnly")
            && access.contains("SameSite=Strict")
            && access.contains("Secure")
    );
    let csrf_cookie = cookies
        .iter()
        .find(|c| c.starts_with("ginkgo_csrf="))
        .expect("csrf cookie");
    assert!(
        !csrf_cookie.contains("HttpOnly"),
        "the page must be able to read it"
    );
    let value = |c: &str| c.split(';').next().expect("pair").to_string();
    let jar = format!("{}; {}", value(access), value(csrf_cookie));
    let csrf = value(csrf_cookie)
        .trim_start_matches("ginkgo_csrf=")
        .to_string();
    // Reads work with the cookie alone.
    let r = app
        .http
        .get(app.url("/api/v1/me"))
        .header("cookie", &jar)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    // A state-changing request without the CSRF header is refused.
    let claim = json!({"customer_name": "홍길동", "account_number": "1234567890"});
    let r = app
        .http
        .post(app.url("/api/v1/auth/claim"))
        .header("cookie", &jar)
        .json(&claim)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .http
        .post(app.url("/api/v1/auth/claim"))
        .header("cookie", &jar)
        .header("x-csrf-token", "forged")
        .json(&claim)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = app
        .http
        .post(app.url("/api/v1/auth/claim"))
        .header("cookie", &jar)
        .header("x-csrf-token", &csrf)
        .json(&claim)
        .send()
        .await
        .expect("send");
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "passes CSRF, then finds no such customer"
    );
}

#[tokio::test]
async fn concurrent_guesses_check_no_more_passwords_than_the_limit() {
    let app = TestApp::spawn().await;
    app.create_user("victim@test.kr", Role::Customer, None)
        .await;
    let guesses: Vec<_> = (0..25)
        .map(|i| {
            let http = app.http.clone();
            let url = app.url("/api/v1/auth/login");
            tokio::spawn(async move {
                http.post(url)
                    .json(&json!({"email": "victim@test.kr", "password": format!("guess {i:02} !!!")}))
                    .send()
                    .await
                    .expect("send")
                    .status()
            })
        })
        .collect();
    let mut checked = 0;
    let mut refused = 0;
    for g in guesses {
        match g.await.expect("task") {
            StatusCode::UNAUTHORIZED => checked += 1,
            StatusCode::TOO_MANY_REQUESTS => refused += 1,
            other => panic!("unexpected answer {other}"),
        }
    }
    assert_eq!(
        (checked, refused),
        (10, 15),
        "ten passwords checked, the rest refused unchecked"
    );
}

#[tokio::test]
async fn one_address_guessing_many_accounts_is_refused_after_its_limit() {
    let app = TestApp::spawn_with(
        format!("sqlite://{}/ginkgo.db", temp_dir("addr").display()),
        temp_dir("addr-files"),
        |c, _| {
            c.auth.max_failures_per_address = 5;
        },
    )
    .await;
    app.create_user("real@test.kr", Role::Customer, None).await;
    for i in 0..5 {
        let (s, _) = app
            .login(&format!("nobody{i}@test.kr"), "not the password")
            .await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    // Another account, the right password, the same address: refused unchecked.
    let (s, body) = app.login("real@test.kr", PASSWORD).await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[tokio::test]
async fn behind_a_proxy_the_address_is_the_one_the_proxy_added() {
    let app = TestApp::spawn_with(
        format!("sqlite://{}/ginkgo.db", temp_dir("xff").display()),
        temp_dir("xff-files"),
        |c, _| {
            c.trust_forwarded_for = true;
            c.auth.max_failures_per_address = 3;
        },
    )
    .await;
    // The client writes whatever it likes on the left; the proxy appends the real address.
    for i in 0..3 {
        let r = app
            .http
            .post(app.url("/api/v1/auth/login"))
            .header("x-forwarded-for", format!("198.51.100.{i}, 203.0.113.7"))
            .json(&json!({"email": format!("n{i}@test.kr"), "password": "not the password"}))
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let spoofed = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "192.0.2.99, 203.0.113.7")
        .json(&json!({"email": "n9@test.kr", "password": "not the password"}))
        .send()
        .await
        .expect("send");
    assert_eq!(spoofed.status(), StatusCode::TOO_MANY_REQUESTS);
    let other_client = app
        .http
        .post(app.url("/api/v1/auth/login"))
        .header("x-forwarded-for", "203.0.113.8")
        .json(&json!({"email": "n9@test.kr", "password": "not the password"}))
        .send()
        .await
        .expect("send");
    assert_eq!(other_client.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_refused_claim_at_sign_up_creates_no_login_and_can_be_retried() {
    let app = TestApp::spawn().await;
    app.load_generated(3, day(2026, 11, 20), 1, 0.0).await;
    let accounts = app
        .store
        .accounts(ginkgo_store::Scope::Operator)
        .await
        .expect("accounts");
    let target = &accounts[0];
    for (name, number, status) in [
        (
            target.customer_name.as_str(),
            "1234567890123",
            StatusCode::NOT_FOUND,
        ),
        (
            "",
            target.account_number.as_str(),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            target.customer_name.as_str(),
            "12-34",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
    ] {
        let (s, body) = app
            .post(
                "/api/v1/auth/signup",
                None,
                json!({"email": "claimer@example.com", "password": PASSWORD,
                       "customer_name": name, "account_number": number}),
            )
            .await;
        assert_eq!(s, status, "{name}/{number}: {body}");
        let (s, _) = app.login("claimer@example.com", PASSWORD).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "no login was created");
    }
    let (s, body) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "claimer@example.com", "password": PASSWORD,
                   "customer_name": target.customer_name, "account_number": target.account_number}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["customer_name"], target.customer_name.as_str());
    let (s, body) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "second@example.com", "password": PASSWORD,
                   "customer_name": target.customer_name, "account_number": target.account_number}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "already_claimed");
    let (s, body) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "claimer@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "email_taken");
}

#[tokio::test]
async fn guessing_a_customers_account_number_is_limited_across_logins() {
    let app = TestApp::spawn().await;
    app.load_generated(3, day(2026, 11, 20), 1, 0.0).await;
    let accounts = app
        .store
        .accounts(ginkgo_store::Scope::Operator)
        .await
        .expect("accounts");
    let target = &accounts[0];
    for i in 0..10 {
        let (s, _) = app
            .post(
                "/api/v1/auth/signup",
                None,
                json!({"email": format!("guesser{i}@example.com"), "password": PASSWORD,
                       "customer_name": target.customer_name, "account_number": format!("99999999{i:04}")}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "guess {i}");
    }
    // The right number is not even checked now, from a fresh login.
    let (s, body) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": "late@example.com", "password": PASSWORD,
                   "customer_name": target.customer_name, "account_number": target.account_number}),
        )
        .await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_hashing_runs_a_bounded_number_at_a_time() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = temp_dir("password-slots");
    let url = format!("sqlite://{}", dir.join("g.db").display());
    let store = ginkgo_server::open_store(&url).await.expect("store");
    let mut config = ginkgo_server::Config {
        database_url: url,
        ..Default::default()
    };
    config.auth.jwt_secret = ginkgo_server::config::Secret::new(JWT_SECRET);
    let state = ginkgo_server::AppState::new(store, config);
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut jobs = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (state, running, peak) = (state.clone(), running.clone(), peak.clone());
        jobs.spawn(async move {
            state
                .password_work(move || {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(30));
                    running.fetch_sub(1, Ordering::SeqCst);
                })
                .await
                .expect("work");
        });
    }
    while let Some(done) = jobs.join_next().await {
        done.expect("job");
    }
    let slots = std::thread::available_parallelism()
        .map_or(2, usize::from)
        .max(2);
    let peak = peak.load(Ordering::SeqCst);
    assert!(
        peak <= slots,
        "{peak} hashes ran at once, at most {slots} may"
    );
    assert!(peak >= 1);
}
