//! Attacks on the HTTP API: another customer's ids in every route, SQL metacharacters in every
//! text field, someone else's Open Banking authorization code, and secrets or personal data in
//! the logs. (Token forgery, rate limits, CSRF, forged states and markup in names have their own
//! tests in `auth.rs`, `bank.rs`, `investments.rs` and `browser.rs`.)

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

use ginkgo_store::{AccountSummary, Role, Scope};
use reqwest::{Method, StatusCode};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use crate::bank::{Bank, app_with_bank, app_with_bank_at, consent, follow_callback, start_sandbox};
use crate::helpers::*;

fn sign(number: &str, name: &str, amount: i64) -> String {
    hex::encode(Sha512::digest(format!("{number}{name}{amount}").as_bytes()))
}

/// Sends `method path` with an optional JSON body as `token`; answers status, raw text, JSON.
async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> (StatusCode, String, Value) {
    let mut req = app.http.request(method, app.url(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(b);
    }
    let r = req.send().await.expect("send");
    let status = r.status();
    let text = r.text().await.expect("body");
    let value = serde_json::from_str(&text).unwrap_or(Value::Null);
    (status, text, value)
}

fn assert_error_shape(what: &str, body: &Value) {
    let e = &body["error"];
    assert!(
        e["code"].as_str().is_some_and(|c| !c.is_empty())
            && e["message"].is_string()
            && e["request_id"].is_string(),
        "{what}: not the error shape: {body}"
    );
}

/// Percent-encodes everything but unreserved characters, for query values and path segments.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One customer with an investment account, a linked and synced bank, a rule and a pending
/// deposit.
struct Party {
    token: String,
    account: AccountSummary,
    bank_account: i64,
    txn: i64,
    rule: i64,
    deposit: String,
    sync: i64,
}

async fn first_bank_account_and_txn(app: &TestApp, token: &str) -> (i64, i64) {
    let (s, accounts) = app.get("/api/v1/bank/accounts", token).await;
    assert_eq!(s, StatusCode::OK, "{accounts}");
    let bank_account = accounts[0]["id"].as_i64().expect("bank account id");
    let (s, page) = app
        .get(
            &format!("/api/v1/bank/accounts/{bank_account}/transactions?per_page=5"),
            token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let txn = page["items"][0]["id"].as_i64().expect("a transaction");
    (bank_account, txn)
}

async fn set_up_party(
    app: &TestApp,
    bank: &Bank,
    token: String,
    account: AccountSummary,
    bank_user: usize,
) -> Party {
    let callback = consent(app, bank, &token, bank_user).await;
    assert_eq!(follow_callback(app, &callback).await, "/bank?linked=1");
    let (s, body) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (bank_account, txn) = first_bank_account_and_txn(app, &token).await;
    let (s, rule) = app
        .post(
            "/api/v1/rules",
            Some(&token),
            json!({"kind": "contains", "pattern": "편의점", "category": "food"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rule}");
    let (s, created) = app
        .post(
            "/api/v1/deposits",
            Some(&token),
            json!({"account_number": account.account_number, "user_name": account.customer_name,
                   "transfer_amount": 7_000}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    Party {
        token,
        account,
        bank_account,
        txn,
        rule: rule["rule"]["id"].as_i64().expect("rule id"),
        sync: body["sync_id"].as_i64().expect("sync id"),
        deposit: created["transfer_identifier"]
            .as_str()
            .expect("identifier")
            .to_string(),
    }
}

/// Two customers, each with every kind of data, on the database at `url` (SQLite when `None`).
async fn two_customers(bank: &Bank, url: Option<String>) -> (TestApp, Party, Party, String) {
    let app = match url {
        Some(url) => app_with_bank_at(bank, url, temp_dir("attacks-pg")).await,
        None => app_with_bank(bank).await,
    };
    app.load_generated(6, day(2026, 11, 20), 1, 0.0).await;
    let l = app.standard_logins().await;
    let a = set_up_party(&app, bank, l.a, l.a_account, 0).await;
    let b = set_up_party(&app, bank, l.b, l.b_account, 1).await;
    (app, a, b, l.operator)
}

/// Everything a customer can read about themselves, to compare before and after an attack.
async fn everything_of(app: &TestApp, p: &Party) -> Value {
    let mut out = Map::new();
    for path in [
        "/api/v1/me".to_string(),
        "/api/v1/accounts".to_string(),
        format!("/api/v1/accounts/{}", p.account.id),
        format!(
            "/api/v1/accounts/{}/holdings?include_zero=true",
            p.account.id
        ),
        format!("/api/v1/accounts/{}/history", p.account.id),
        "/api/v1/deposits".to_string(),
        "/api/v1/rules".to_string(),
        "/api/v1/bank/accounts".to_string(),
        format!(
            "/api/v1/bank/accounts/{}/transactions?per_page=500",
            p.bank_account
        ),
        "/api/v1/insight/spending?from=2025-01-01".to_string(),
    ] {
        let (s, body) = app.get(&path, &p.token).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
        out.insert(path, body);
    }
    Value::Object(out)
}

/// Every operation of the live OpenAPI document: (method, path template, operation).
async fn operations(app: &TestApp) -> (Value, Vec<(Method, String, Value)>) {
    let r = app
        .http
        .get(app.url("/api/openapi.json"))
        .send()
        .await
        .expect("send");
    let doc: Value = r.json().await.expect("document");
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (name, method) in [
            ("get", Method::GET),
            ("put", Method::PUT),
            ("post", Method::POST),
            ("delete", Method::DELETE),
            ("patch", Method::PATCH),
        ] {
            if let Some(op) = item.get(name) {
                ops.push((method, path.clone(), op.clone()));
            }
        }
    }
    (doc, ops)
}

/// The request body schema's properties (resolving one `$ref`).
fn body_properties(doc: &Value, op: &Value) -> Option<Map<String, Value>> {
    let schema = &op["requestBody"]["content"]["application/json"]["schema"];
    let schema = match schema["$ref"].as_str() {
        Some(r) => {
            let name = r.rsplit('/').next().expect("ref name");
            &doc["components"]["schemas"][name]
        }
        None => schema,
    };
    schema["properties"].as_object().cloned()
}

/// Properties of a request body that name something owned by a customer.
const ID_PROPERTIES: [&str; 4] = [
    "account_number",
    "transfer_identifier",
    "ids",
    "transaction_id",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_customers_ids_in_every_route_answer_404_and_change_nothing() {
    let bank = start_sandbox(30).await;
    let (app, a, b, _operator) = two_customers(&bank, None).await;
    let (doc, ops) = operations(&app).await;
    let b_before = everything_of(&app, &b).await;
    let a_before = everything_of(&app, &a).await;
    let b_signature = sign(&b.account.account_number, &b.account.customer_name, 7_000);
    let secrets_of_b = [
        b.account.account_number.clone(),
        b.account.customer_name.clone(),
        b.deposit.clone(),
    ];

    let mut tried = Vec::new();
    for (method, template, op) in &ops {
        // Claiming a record takes a name and an account number as proof of who one is, not as
        // an id; `claim_with_another_customers_number_...` below covers it.
        if template == "/api/v1/auth/claim" || template == "/api/v1/auth/signup" {
            continue;
        }
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        let path_params: Vec<&str> = params
            .iter()
            .filter(|p| p["in"] == "path")
            .filter_map(|p| p["name"].as_str())
            .collect();
        let query_ids: Vec<&str> = params
            .iter()
            .filter(|p| p["in"] == "query")
            .filter_map(|p| p["name"].as_str())
            .filter(|n| *n == "account_number" || *n == "id" || n.ends_with("_id"))
            .collect();
        let props = body_properties(&doc, op);
        let body_ids = props
            .as_ref()
            .is_some_and(|p| ID_PROPERTIES.iter().any(|k| p.contains_key(*k)));
        if path_params.is_empty() && query_ids.is_empty() && !body_ids {
            continue;
        }
        // Each kind of id: B's.
        let mut path = template.clone();
        if !path_params.is_empty() {
            assert_eq!(path_params, ["id"], "{template}: which ids does it take?");
            let id = if template.starts_with("/api/v1/accounts/{id}") {
                b.account.id.to_string()
            } else if template.starts_with("/api/v1/bank/accounts/{id}") {
                b.bank_account.to_string()
            } else if template.starts_with("/api/v1/bank/transactions/{id}")
                || template.starts_with("/api/v1/insight/transactions/{id}")
            {
                b.txn.to_string()
            } else if template.starts_with("/api/v1/rules/{id}") {
                b.rule.to_string()
            } else if template.starts_with("/api/v1/bank/syncs/{id}") {
                b.sync.to_string()
            } else if template.starts_with("/api/v1/deposits/{id}") {
                b.deposit.clone()
            } else if template.starts_with("/api/v1/batch/runs/{id}") {
                // Runs belong to no customer; the first one exists.
                "1".to_string()
            } else {
                panic!("{method} {template} takes an id this test does not know: add it here");
            };
            path = path.replace("{id}", &id);
        }
        for q in &query_ids {
            let value = match *q {
                "account_number" => enc(&b.account.account_number),
                "transaction_id" => b.txn.to_string(),
                other => panic!("{template}: unknown id parameter {other}"),
            };
            let sep = if path.contains('?') { '&' } else { '?' };
            path = format!("{path}{sep}{q}={value}");
        }
        let body = props.map(|props| {
            let mut body = Map::new();
            for name in props.keys() {
                let v = match name.as_str() {
                    "account_number" => json!(b.account.account_number),
                    "user_name" | "customer_name" => json!(b.account.customer_name),
                    "transfer_amount" => json!(7_000),
                    "signature" => json!(b_signature),
                    "transfer_identifier" => json!(b.deposit),
                    "ids" => json!([b.rule]),
                    "category" => json!("cafe"),
                    "apply_to" => json!("memo"),
                    "kind" => json!("contains"),
                    "pattern" => json!("편의점"),
                    "transaction_id" => json!(b.txn),
                    "period" => json!("monthly"),
                    other => panic!("{method} {template}: no value for body property {other}"),
                };
                body.insert(name.clone(), v);
            }
            Value::Object(body)
        });
        let (status, text, value) =
            call(&app, method.clone(), &path, Some(&a.token), body.as_ref()).await;
        let what = format!("{method} {path}");
        if template.starts_with("/api/v1/batch/") {
            // Operator-only routes refuse customers before looking at the id.
            assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {text}");
        } else {
            assert_eq!(status, StatusCode::NOT_FOUND, "{what}: {text}");
        }
        assert_error_shape(&what, &value);
        for secret in &secrets_of_b {
            assert!(
                !text.contains(secret.as_str()),
                "{what} answered B's data: {text}"
            );
        }
        tried.push(format!("{what} → {}", status.as_u16()));
    }
    eprintln!("another customer's ids, as A:\n{}", tried.join("\n"));
    // The walk reached every kind of id (so a document without them would fail here).
    for must in [
        "/api/v1/accounts/",
        "/api/v1/bank/accounts/",
        "/api/v1/bank/transactions/",
        "/api/v1/insight/transactions/",
        "transaction_id=",
        "/api/v1/rules/",
        "/api/v1/deposits/",
        "account_number=",
        "/api/transfers",
        "/api/transfers-verifications",
        "/api/v1/deposits",
    ] {
        assert!(
            tried.iter().any(|t| t.contains(must)),
            "no route with {must} was tried: {tried:?}"
        );
    }
    assert!(tried.len() >= 15, "{tried:?}");
    assert_eq!(everything_of(&app, &b).await, b_before, "B's data changed");
    assert_eq!(everything_of(&app, &a).await, a_before, "A's data changed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_with_another_customers_number_and_a_wrong_name_answers_404_and_links_nothing() {
    let app = TestApp::spawn().await;
    app.load_generated(6, day(2026, 11, 20), 1, 0.0).await;
    let l = app.standard_logins().await;
    app.create_user("new@test.kr", Role::Customer, None).await;
    let token = app.token("new@test.kr").await;
    for name in ["홍길동", &l.a_account.customer_name] {
        let (s, body) = app
            .post(
                "/api/v1/auth/claim",
                Some(&token),
                json!({"customer_name": name, "account_number": l.b_account.account_number}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
        assert_error_shape("claim", &body);
    }
    let (_, me) = app.get("/api/v1/me", &token).await;
    assert_eq!(me["customer_id"], Value::Null, "{me}");
    let (_, accounts) = app.get("/api/v1/accounts", &token).await;
    assert_eq!(accounts, json!([]));
}

/// SQL metacharacters, NUL, very long strings and Unicode.
fn nasty() -> Vec<String> {
    vec![
        "' OR 1=1 --".into(),
        "\"; DROP TABLE customers; --".into(),
        "\\".into(),
        "%".into(),
        "_".into(),
        "a\0b".into(),
        // Long, yet a request with it twice stays under the 64 KiB body limit.
        "x".repeat(30_000),
        "류영길 🌱 e\u{301} ﷽ \u{202e}".into(),
        "'); DELETE FROM users; SELECT ('".into(),
    ]
}

/// A closed list refuses anything else (422), unless the body is over the size limit (413).
fn invalid_or_too_large(s: StatusCode) -> bool {
    s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::PAYLOAD_TOO_LARGE
}

fn is_precise_4xx(s: StatusCode) -> bool {
    matches!(s.as_u16(), 400 | 401 | 404 | 409 | 413 | 414 | 422)
}

/// Every text field with every nasty string: a precise 4xx, or the text stored verbatim and read
/// back identically; nobody else's data changes.
async fn sql_metacharacters(app: &TestApp, a: &Party, b: &Party, operator: &str) {
    let b_before = everything_of(app, b).await;
    let (_, customers_before) = app.get("/api/v1/accounts", operator).await;
    let (_, runs_before) = app.get("/api/v1/batch/runs", operator).await;
    let (_, txns) = app
        .get(
            &format!(
                "/api/v1/bank/accounts/{}/transactions?per_page=500",
                a.bank_account
            ),
            &a.token,
        )
        .await;
    let memos: Vec<String> = txns["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["memo"].as_str().expect("memo").to_string())
        .collect();
    let short = |p: &str| p.chars().take(40).collect::<String>();
    // How many fields took a nasty string and gave it back verbatim.
    let mut verbatim = 0usize;

    for (i, p) in nasty().iter().enumerate() {
        let tag = format!("#{i} {:?}", short(p));
        // URLs are at most 64 KiB long (longer ones cannot even be sent): 8,000 characters there.
        let in_url = enc(&p.chars().take(8_000).collect::<String>());
        let expect_4xx_or = |what: &str, s: StatusCode, ok: StatusCode, text: &str| {
            assert!(
                s == ok || is_precise_4xx(s),
                "{tag} {what}: {s} {}",
                short(text)
            );
        };

        // Sign-up: e-mail and password.
        let email = format!("{p}{i}@attack.test");
        let (s, body) = app
            .post(
                "/api/v1/auth/signup",
                None,
                json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        expect_4xx_or("signup email", s, StatusCode::CREATED, &body.to_string());
        if s == StatusCode::CREATED {
            let (s, session) = app.login(&email, "correct horse battery").await;
            assert_eq!(s, StatusCode::OK, "{tag}: {session}");
            assert_eq!(
                session["user"]["email"].as_str().map(str::to_lowercase),
                Some(email.to_lowercase()),
                "{tag}: the e-mail reads back"
            );
            verbatim += 1;
        } else {
            assert_error_shape(&tag, &body);
        }
        let password = format!("pw-{p}-pw-{i}");
        let email = format!("pw{i}@attack.test");
        let (s, body) = app
            .post(
                "/api/v1/auth/signup",
                None,
                json!({"email": email, "password": password}),
            )
            .await;
        expect_4xx_or("signup password", s, StatusCode::CREATED, &body.to_string());
        if s == StatusCode::CREATED {
            let (s, _) = app.login(&email, &password).await;
            assert_eq!(s, StatusCode::OK, "{tag}: the password works verbatim");
            verbatim += 1;
            let (s, _) = app.login(&email, &format!("{password}x")).await;
            assert_eq!(s, StatusCode::UNAUTHORIZED, "{tag}");
        }
        // Login never lets anyone in.
        let (s, body) = app.login(p, p).await;
        assert!(
            s == StatusCode::UNAUTHORIZED || is_precise_4xx(s),
            "{tag} login: {s} {body}"
        );

        // Claim: name and account number, alone and with a real other half.
        for (name, number) in [
            (p.as_str(), p.as_str()),
            (b.account.customer_name.as_str(), p.as_str()),
            (p.as_str(), b.account.account_number.as_str()),
        ] {
            let (s, body) = app
                .post(
                    "/api/v1/auth/claim",
                    Some(&a.token),
                    json!({"customer_name": name, "account_number": number}),
                )
                .await;
            assert!(
                is_precise_4xx(s),
                "{tag} claim: {s} {}",
                short(&body.to_string())
            );
            assert_error_shape(&tag, &body);
        }

        // Deposits: user_name and account_number.
        for (name, number) in [
            (p.as_str(), p.as_str()),
            (p.as_str(), a.account.account_number.as_str()),
            (a.account.customer_name.as_str(), p.as_str()),
        ] {
            for route in ["/api/v1/deposits", "/api/transfers-verifications"] {
                let (s, body) = app
                    .post(
                        route,
                        Some(&a.token),
                        json!({"account_number": number, "user_name": name, "transfer_amount": 1000}),
                    )
                    .await;
                assert!(
                    is_precise_4xx(s),
                    "{tag} {route}: {s} {}",
                    short(&body.to_string())
                );
                assert_error_shape(&tag, &body);
            }
        }
        let (s, body) = app
            .post(
                &format!("/api/v1/deposits/{in_url}/confirm"),
                Some(&a.token),
                json!({ "signature": p }),
            )
            .await;
        assert!(is_precise_4xx(s), "{tag} confirm: {s} {body}");
        let (s, body) = app
            .post(
                "/api/transfers",
                Some(&a.token),
                json!({ "transfer_identifier": p, "signature": p }),
            )
            .await;
        assert!(is_precise_4xx(s), "{tag} legacy confirm: {s} {body}");

        // Rules: the pattern is stored verbatim; kind and category are closed lists.
        let (s, created) = app
            .post(
                "/api/v1/rules",
                Some(&a.token),
                json!({"kind": "equals", "pattern": p, "category": "food"}),
            )
            .await;
        expect_4xx_or("rule pattern", s, StatusCode::CREATED, &created.to_string());
        if s == StatusCode::CREATED {
            assert_eq!(
                created["rule"]["pattern"].as_str(),
                Some(p.as_str()),
                "{tag}"
            );
            let id = created["rule"]["id"].as_i64().expect("id");
            let (_, rules) = app.get("/api/v1/rules", &a.token).await;
            let stored = rules
                .as_array()
                .expect("rules")
                .iter()
                .find(|r| r["id"] == id)
                .expect("the rule is listed")
                .clone();
            assert_eq!(stored["pattern"].as_str(), Some(p.as_str()), "{tag}");
            verbatim += 1;
            // Matching is literal: no memo equals the string, so nothing was re-filed.
            let literal = memos.iter().filter(|m| m.as_str() == p.as_str()).count();
            assert_eq!(
                created["changed"].as_u64(),
                Some(literal as u64),
                "{tag}: {created}"
            );
            let r = app
                .http
                .put(app.url(&format!("/api/v1/rules/{id}")))
                .bearer_auth(&a.token)
                .json(&json!({"kind": "contains", "pattern": p, "category": "cafe"}))
                .send()
                .await
                .expect("send");
            assert_eq!(r.status(), StatusCode::OK, "{tag}");
            let r = app
                .http
                .delete(app.url(&format!("/api/v1/rules/{id}")))
                .bearer_auth(&a.token)
                .send()
                .await
                .expect("send");
            assert_eq!(r.status(), StatusCode::NO_CONTENT, "{tag}");
        } else {
            assert_error_shape(&tag, &created);
        }
        let (s, preview) = app
            .post(
                "/api/v1/rules/preview",
                Some(&a.token),
                json!({"kind": "contains", "pattern": p, "category": "transfer"}),
            )
            .await;
        expect_4xx_or("preview", s, StatusCode::OK, &preview.to_string());
        if s == StatusCode::OK && (p == "%" || p == "_") {
            // A LIKE wildcard would match every memo.
            let literal = memos.iter().filter(|m| m.contains(p.as_str())).count();
            assert!(
                preview["changes"]
                    .as_u64()
                    .is_some_and(|c| c as usize <= literal),
                "{tag}: {preview}"
            );
        }
        for body in [
            json!({"kind": p, "pattern": "편의점", "category": "food"}),
            json!({"kind": "contains", "pattern": "편의점", "category": p}),
        ] {
            let (s, r) = app.post("/api/v1/rules", Some(&a.token), body).await;
            assert!(
                invalid_or_too_large(s),
                "{tag}: {s} {}",
                short(&r.to_string())
            );
        }

        // Re-filing a bank transaction: the category and the scope are closed lists.
        for body in [
            json!({"category": p}),
            json!({"category": "food", "apply_to": p}),
        ] {
            let r = app
                .http
                .put(app.url(&format!("/api/v1/bank/transactions/{}/category", a.txn)))
                .bearer_auth(&a.token)
                .json(&body)
                .send()
                .await
                .expect("send");
            assert!(invalid_or_too_large(r.status()), "{tag}: {}", r.status());
        }

        // Query strings and path segments.
        let q = &in_url;
        let queries = [
            format!("/api/v1/history?from={q}"),
            format!("/api/v1/accounts/{}/history?to={q}", a.account.id),
            format!("/api/v1/insight/spending?from={q}&to={q}"),
            format!("/api/v1/insight/weekly?from={q}"),
            format!("/api/v1/insight/monthly?to={q}"),
            format!("/api/v1/insight/upcoming?days={q}"),
            format!("/api/investments?is_simple={q}"),
            format!("/api/investments/holdings?account_number={q}"),
            format!(
                "/api/v1/bank/accounts/{}/transactions?category={q}",
                a.bank_account
            ),
            format!(
                "/api/v1/bank/accounts/{}/transactions?from={q}",
                a.bank_account
            ),
            format!("/api/v1/accounts/{q}"),
            format!("/api/v1/accounts/{q}/holdings"),
            format!("/api/v1/bank/accounts/{q}/transactions"),
        ];
        for path in &queries {
            let (s, text, value) = call(app, Method::GET, path, Some(&a.token), None).await;
            let what = format!("{tag} GET {}", short(path));
            if s == StatusCode::OK {
                // A filter that matches nothing is a fine answer; it must not match everything.
                if path.contains("category=") {
                    assert_eq!(value["total"], 0, "{what}: {}", short(&text));
                } else {
                    panic!("{what}: accepted: {}", short(&text));
                }
            } else {
                assert!(is_precise_4xx(s), "{what}: {s} {}", short(&text));
                if s != StatusCode::URI_TOO_LONG {
                    assert_error_shape(&what, &value);
                }
            }
        }
        let (s, text, _) = call(
            app,
            Method::DELETE,
            &format!("/api/v1/rules/{q}"),
            Some(&a.token),
            None,
        )
        .await;
        assert!(is_precise_4xx(s), "{tag} DELETE rule: {s} {text}");
        let (s, text, _) = call(
            app,
            Method::GET,
            &format!("/api/v1/batch/runs?limit={q}"),
            Some(operator),
            None,
        )
        .await;
        assert!(is_precise_4xx(s), "{tag} runs: {s} {text}");
    }

    // Re-filing by memo: memos as a bank might send them (the rows go in through the storage
    // contract the sync uses; a NUL cannot be stored, see the extractor). The rule made of the
    // memo re-files exactly the rows with that memo: no wildcard, no quote breaks out.
    let today = chrono::Utc::now().date_naive();
    let txns_path = format!(
        "/api/v1/bank/accounts/{}/transactions?per_page=500&from=2000-01-01",
        a.bank_account
    );
    for (i, memo) in nasty()
        .iter()
        .enumerate()
        .filter(|(_, m)| !m.contains('\0'))
    {
        let tag = format!("memo #{i} {:?}", short(memo));
        let rows = (0..2)
            .map(|ordinal| ginkgo_store::NewBankTxn {
                date: today,
                time: format!("{:02}0000", i % 24),
                direction: "out".into(),
                tran_type: "출금".into(),
                memo: memo.clone(),
                memo_norm: ginkgo_insight::normalize::normalize(memo),
                amount: ginkgo_domain::Won::new(1_000),
                balance_after: ginkgo_domain::Won::new(50_000),
                branch_name: String::new(),
                ordinal,
                category: "cafe".into(),
                category_source: "dictionary".into(),
                rule_id: None,
                out_of_period: false,
            })
            .collect();
        let added = app
            .store
            .insert_bank_transactions(a.bank_account, rows)
            .await
            .expect("insert");
        assert_eq!(added, 2, "{tag}");
        let (_, before) = app.get(&txns_path, &a.token).await;
        let before = before["items"].as_array().expect("items").clone();
        let mine: Vec<i64> = before
            .iter()
            .filter(|t| t["memo"].as_str() == Some(memo.as_str()))
            .map(|t| t["id"].as_i64().expect("id"))
            .collect();
        assert_eq!(mine.len(), 2, "{tag}: the memo reads back verbatim");
        let r = app
            .http
            .put(app.url(&format!("/api/v1/bank/transactions/{}/category", mine[0])))
            .bearer_auth(&a.token)
            .json(&json!({"category": "food", "apply_to": "memo"}))
            .send()
            .await
            .expect("send");
        if memo.trim().chars().count() > 100 {
            // Longer than any rule may be: refused, and nothing changed.
            assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{tag}");
            let (_, after) = app.get(&txns_path, &a.token).await;
            assert_eq!(after["items"].as_array(), Some(&before), "{tag}");
            continue;
        }
        assert_eq!(r.status(), StatusCode::OK, "{tag}");
        let refiled: Value = r.json().await.expect("json");
        assert_eq!(
            refiled["changed"],
            2,
            "{tag}: {}",
            short(&refiled.to_string())
        );
        let rule = refiled["rule_id"].as_i64().expect("a rule");
        let (_, rules) = app.get("/api/v1/rules", &a.token).await;
        let pattern = rules
            .as_array()
            .expect("rules")
            .iter()
            .find(|r| r["id"] == rule)
            .expect("the rule")["pattern"]
            .clone();
        assert_eq!(pattern.as_str(), Some(memo.trim()), "{tag}");
        let (_, after) = app.get(&txns_path, &a.token).await;
        for (x, y) in before.iter().zip(after["items"].as_array().expect("items")) {
            assert_eq!(x["id"], y["id"]);
            if mine.contains(&x["id"].as_i64().expect("id")) {
                assert_eq!(y["category"], "food", "{tag}");
            } else {
                assert_eq!(x["category"], y["category"], "{tag}: another row changed");
            }
        }
        let r = app
            .http
            .delete(app.url(&format!("/api/v1/rules/{rule}")))
            .bearer_auth(&a.token)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status(), StatusCode::NO_CONTENT, "{tag}");
        verbatim += 1;
    }

    assert!(
        verbatim >= 12,
        "only {verbatim} nasty strings were stored and read back"
    );
    assert_eq!(everything_of(app, b).await, b_before, "B's data changed");
    let (_, customers_after) = app.get("/api/v1/accounts", operator).await;
    assert_eq!(customers_after, customers_before, "accounts changed");
    let (_, runs_after) = app.get("/api/v1/batch/runs", operator).await;
    assert_eq!(runs_after, runs_before);
    // A's own data: still all there (the test's rules were deleted again).
    let (s, _) = app
        .get(&format!("/api/v1/accounts/{}", a.account.id), &a.token)
        .await;
    assert_eq!(s, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_metacharacters_in_every_text_field_are_refused_or_stored_verbatim_on_sqlite() {
    let bank = start_sandbox(30).await;
    let (app, a, b, operator) = two_customers(&bank, None).await;
    sql_metacharacters(&app, &a, &b, &operator).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_metacharacters_in_every_text_field_are_refused_or_stored_verbatim_on_postgres() {
    let Some(url) = fresh_postgres().await else {
        eprintln!("skipped: GINKGO_TEST_POSTGRES_URL is not set");
        return;
    };
    let bank = start_sandbox(30).await;
    let (app, a, b, operator) = two_customers(&bank, Some(url)).await;
    sql_metacharacters(&app, &a, &b, &operator).await;
}

/// The pieces of a callback URL.
fn callback_parts(url: &str) -> Vec<(String, String)> {
    reqwest::Url::parse(url)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect()
}

fn with_query(app: &TestApp, pairs: &[(String, String)]) -> String {
    let mut u = reqwest::Url::parse(&app.url("/api/v1/bank/callback")).expect("url");
    u.query_pairs_mut().extend_pairs(pairs);
    u.to_string()
}

fn replace(pairs: &[(String, String)], key: &str, value: &str) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| {
            if k == key {
                (k.clone(), value.to_string())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn someone_elses_or_a_spent_authorization_code_links_nothing() {
    let bank = start_sandbox(30).await;
    let app = app_with_bank(&bank).await;
    app.create_user("a@test.kr", Role::Customer, None).await;
    app.create_user("b@test.kr", Role::Customer, None).await;
    let a = app.token("a@test.kr").await;
    let b = app.token("b@test.kr").await;
    let linked = |token: String| {
        let app = &app;
        async move {
            let (s, accounts) = app.get("/api/v1/bank/accounts", &token).await;
            assert_eq!(s, StatusCode::OK);
            accounts.as_array().expect("accounts").len()
        }
    };

    // B's consent ends in a callback carrying B's code; A's consent in one carrying A's state.
    let b_callback = callback_parts(&consent(&app, &bank, &b, 1).await);
    let a_callback = callback_parts(&consent(&app, &bank, &a, 0).await);
    let b_code = b_callback
        .iter()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .clone();

    // B spends their own code; the same code with A's state is then refused by the bank.
    assert_eq!(
        follow_callback(&app, &with_query(&app, &b_callback)).await,
        "/bank?linked=1"
    );
    let b_accounts = linked(b.clone()).await;
    assert!(b_accounts > 0);
    let spent_with_a_state = replace(&a_callback, "code", &b_code);
    assert_eq!(
        follow_callback(&app, &with_query(&app, &spent_with_a_state)).await,
        "/bank?error=invalid_code"
    );
    assert_eq!(linked(a.clone()).await, 0, "A got nothing");
    assert_eq!(linked(b.clone()).await, b_accounts, "B's link is unchanged");
    // The state was spent by that attempt too: A's genuine code cannot use it any more.
    assert_eq!(
        follow_callback(&app, &with_query(&app, &a_callback)).await,
        "/bank?error=invalid_state"
    );
    assert_eq!(linked(a.clone()).await, 0);

    // A fresh, unspent code of B presented with a fresh state of A (B's browser never had
    // A's state): only the login the state belongs to can be linked, so B's code with A's state
    // must not give A B's bank.
    let b_again = callback_parts(&consent(&app, &bank, &b, 1).await);
    let a_again = callback_parts(&consent(&app, &bank, &a, 0).await);
    let b_fresh_code = b_again
        .iter()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1
        .clone();
    let crossed = replace(&a_again, "code", &b_fresh_code);
    assert_eq!(
        follow_callback(&app, &with_query(&app, &crossed)).await,
        "/bank?error=bank_user_linked_elsewhere"
    );
    assert_eq!(linked(a.clone()).await, 0, "A got nothing");
    assert_eq!(linked(b.clone()).await, b_accounts, "B's link is unchanged");
    // And a code that was never issued is refused with its own code.
    let a_third = callback_parts(&consent(&app, &bank, &a, 0).await);
    let made_up = replace(&a_third, "code", "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123");
    assert_eq!(
        follow_callback(&app, &with_query(&app, &made_up)).await,
        "/bank?error=invalid_code"
    );
    assert_eq!(linked(a.clone()).await, 0);

    // A's own, untouched callback presented by another browser (without the cookie that starting
    // the link gave A's browser): refused, and the state survives for A's browser.
    let a_own = consent(&app, &bank, &a, 0).await;
    let r = app.http.get(&a_own).send().await.expect("callback");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/bank?error=state_mismatch");
    assert_eq!(linked(a.clone()).await, 0);
    assert_eq!(follow_callback(&app, &a_own).await, "/bank?linked=1");
    assert!(linked(a).await > 0, "A's browser links A's own bank");
    assert_eq!(linked(b).await, b_accounts, "B's link is unchanged");
}

/// Every log line of the test binary from the moment `capture_logs` is first called: ginkgo's
/// crates at TRACE, the HTTP layers at DEBUG.
fn capture_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let sink = buffer.clone();
        let filter = tracing_subscriber::EnvFilter::new(
            "off,ginkgo_server=trace,ginkgo_store=trace,ginkgo_store_sqlite=trace,\
             ginkgo_store_postgres=trace,ginkgo_openbanking=trace,ginkgo_batch=trace,\
             ginkgo_insight=trace,ginkgo_domain=trace,tower_http=trace,axum=trace",
        );
        let subscriber = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(false)
            .with_writer(move || SharedWriter(sink.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber)
            .expect("the log capture is the only global subscriber");
        buffer
    })
    .clone()
}

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The Open Banking tokens stored (encrypted) for the login of `token`.
async fn bank_tokens(app: &TestApp, token: &str) -> (String, String) {
    let me = app.get("/api/v1/me", token).await.1;
    let user_id = me["id"].as_i64().expect("id");
    let link = app
        .store
        .bank_link(user_id)
        .await
        .expect("query")
        .expect("linked");
    let cipher = ginkgo_server::crypto::TokenCipher::new("Bk4Tq8Wz2Lm6Rx1Vn9Hc3Jd7Ps5Gf0Ya");
    let access = cipher.decrypt(&link.access_token_enc).expect("decrypt");
    let refresh = cipher
        .decrypt(link.refresh_token_enc.as_deref().expect("refresh token"))
        .expect("decrypt");
    (access, refresh)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_and_personal_data_never_reach_the_logs() {
    let logs = capture_logs();
    let bank = start_sandbox(30).await;
    let app = app_with_bank(&bank).await;
    app.load_generated(6, day(2026, 11, 20), 1, 0.0).await;
    let account = app.store.accounts(Scope::Operator).await.expect("accounts")[0].clone();

    let email = "secret.person@logs.test";
    let password = "my very secret password 9f3a";
    let (s, signed_up) = app
        .post(
            "/api/v1/auth/signup",
            None,
            json!({"email": email, "password": password}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{signed_up}");
    let (s, logged_in) = app.login(email, password).await;
    assert_eq!(s, StatusCode::OK);
    // A failed login with a near miss of the password, too.
    let (s, _) = app.login(email, &format!("{password}!")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let (s, refreshed) = app
        .post(
            "/api/v1/auth/refresh",
            None,
            json!({"refresh_token": logged_in["refresh_token"]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{refreshed}");
    let token = refreshed["access_token"]
        .as_str()
        .expect("token")
        .to_string();
    let (s, claimed) = app
        .post(
            "/api/v1/auth/claim",
            Some(&token),
            json!({"customer_name": account.customer_name, "account_number": account.account_number}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{claimed}");
    let token = claimed["access_token"].as_str().expect("token").to_string();
    let (s, created) = app
        .post(
            "/api/v1/deposits",
            Some(&token),
            json!({"account_number": account.account_number, "user_name": account.customer_name,
                   "transfer_amount": 12_345}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let signature = sign(&account.account_number, &account.customer_name, 12_345);
    let id = created["transfer_identifier"].as_str().expect("id");
    let (s, wrong) = app
        .post(
            &format!("/api/v1/deposits/{id}/confirm"),
            Some(&token),
            json!({"signature": sign(&account.account_number, &account.customer_name, 1)}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{wrong}");
    let (s, confirmed) = app
        .post(
            &format!("/api/v1/deposits/{id}/confirm"),
            Some(&token),
            json!({ "signature": signature }),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{confirmed}");
    let callback = consent(&app, &bank, &token, 0).await;
    let code = callback_parts(&callback)
        .into_iter()
        .find(|(k, _)| k == "code")
        .expect("code")
        .1;
    assert_eq!(follow_callback(&app, &callback).await, "/bank?linked=1");
    let (first_access, first_refresh) = bank_tokens(&app, &token).await;
    // The spent callback again, to log the refusal.
    follow_callback(&app, &callback).await;
    let (s, synced) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{synced}");
    // The error paths log too: the bank failing, then refusing the tokens.
    let mut faults = bank.handle.faults();
    faults.http_error_next = 1_000;
    bank.handle.set_faults(faults.clone());
    let (s, failed) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{failed}");
    faults.http_error_next = 0;
    faults.expired_token_next = 100;
    bank.handle.set_faults(faults);
    let (s, expired) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{expired}");
    let (s, _) = app
        .post(
            "/api/v1/auth/logout",
            None,
            json!({"refresh_token": refreshed["refresh_token"]}),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    let (bank_access, bank_refresh) = bank_tokens(&app, &token).await;
    let bank_user = &bank.handle.users()[0];

    let mut secrets: Vec<(&str, String)> = vec![
        ("password", password.to_string()),
        ("e-mail", email.to_string()),
        ("customer name", account.customer_name.clone()),
        ("account number", account.account_number.clone()),
        ("deposit signature", signature),
        ("authorization code", code),
        ("bank access token", bank_access),
        ("bank refresh token", bank_refresh),
        ("bank access token at linking", first_access),
        ("bank refresh token at linking", first_refresh),
        ("bank user's name", bank_user.name.clone()),
    ];
    for (what, session) in [
        ("sign-up", &signed_up),
        ("login", &logged_in),
        ("refresh", &refreshed),
        ("claim", &claimed),
    ] {
        let access = session["access_token"]
            .as_str()
            .expect("access")
            .to_string();
        // The signature part alone identifies a JWT.
        let jwt_signature = access.rsplit('.').next().expect("jwt").to_string();
        secrets.push((what, access));
        secrets.push((what, jwt_signature));
        secrets.push((
            what,
            session["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_string(),
        ));
    }
    for a in &bank_user.accounts {
        secrets.push(("bank account number", a.account_num.clone()));
    }
    // Let the last spans close.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let text = String::from_utf8_lossy(&logs.lock().unwrap_or_else(|e| e.into_inner())).to_string();
    // The capture works: the scenario's own events are there.
    for expected in [
        "login",
        "bank linked",
        "bank sync finished",
        "retrying Open Banking call",
        "route=",
        // The access line: route template and status, never the raw path.
        "route=\"/api/v1/deposits/{id}/confirm\" request_id=",
        "answered status=200",
    ] {
        assert!(
            text.contains(expected),
            "the log capture misses {expected:?}; captured {} bytes",
            text.len()
        );
    }
    let mut leaks = Vec::new();
    for (what, secret) in &secrets {
        assert!(secret.len() >= 6, "{what} is too short to search for");
        for line in text.lines().filter(|l| l.contains(secret.as_str())) {
            leaks.push(format!("{what}: {line}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "secrets in the logs:\n{}",
        leaks.join("\n")
    );
}
