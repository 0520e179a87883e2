//! Linking and syncing a bank end to end, over HTTP only: Ginkgo ↔ the local Open Banking sandbox.

use std::collections::BTreeMap;

use ginkgo_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

pub struct Bank {
    pub base: String,
    pub handle: SandboxHandle,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn start_sandbox(history_days: u32) -> Bank {
    start_sandbox_with(SandboxConfig {
        users: 2,
        history_days,
        seed: 424_242,
        ..SandboxConfig::default()
    })
    .await
}

/// A sandbox of `config` on a free port.
pub async fn start_sandbox_with(config: SandboxConfig) -> Bank {
    let sandbox = tokio::task::spawn_blocking(move || Sandbox::new(config))
        .await
        .expect("task")
        .expect("sandbox");
    let handle = sandbox.handle();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = sandbox
            .serve(listener, async move {
                let _ = rx.await;
            })
            .await;
    });
    Bank {
        base,
        handle,
        _stop: tx,
    }
}

/// A Ginkgo server configured to use `bank` as its Open Banking center.
pub async fn app_with_bank(bank: &Bank) -> TestApp {
    let dir = temp_dir("bank");
    let url = format!("sqlite://{}/ginkgo.db", dir.display());
    app_with_bank_at(bank, url, dir).await
}

/// A Ginkgo server on the database at `url` configured to use `bank` as its Open Banking center.
pub async fn app_with_bank_at(bank: &Bank, url: String, dir: std::path::PathBuf) -> TestApp {
    app_with_bank_config(bank, url, dir, |_| {}).await
}

/// Points `c` at `bank` (this server's base URL is `base`).
pub fn configure_bank(c: &mut ginkgo_server::Config, bank_base: &str, base: &str) {
    let defaults = SandboxConfig::default();
    c.bank.base_url = Some(bank_base.to_string());
    c.bank.client_id = defaults.client_id.clone();
    c.bank.client_secret = ginkgo_server::config::Secret::new(defaults.client_secret.clone());
    c.bank.redirect_uri = format!("{base}/api/v1/bank/callback");
    c.bank.institution_code = defaults.client_use_code.clone();
    c.bank.token_key = ginkgo_server::config::Secret::new("Bk4Tq8Wz2Lm6Rx1Vn9Hc3Jd7Ps5Gf0Ya");
    // Tests of the first sync on link turn it back on; the others sync when they say so.
    c.bank.sync_on_link = false;
}

/// [`app_with_bank_at`] with a last word on the configuration.
pub async fn app_with_bank_config(
    bank: &Bank,
    url: String,
    dir: std::path::PathBuf,
    tweak: impl FnOnce(&mut ginkgo_server::Config) + Send + 'static,
) -> TestApp {
    let sandbox_url = bank.base.clone();
    TestApp::spawn_with(url, dir, move |c, base| {
        configure_bank(c, &sandbox_url, base);
        tweak(c);
    })
    .await
}

/// A Ginkgo server on a fresh SQLite database using `bank`, with a tweak of the configuration.
pub async fn app_with_bank_tweaked(
    bank: &Bank,
    tweak: impl FnOnce(&mut ginkgo_server::Config) + Send + 'static,
) -> TestApp {
    let dir = temp_dir("bank");
    let url = format!("sqlite://{}/ginkgo.db", dir.display());
    app_with_bank_config(bank, url, dir, tweak).await
}

/// Walks the consent flow as a browser would; answers the callback URL the bank redirects to.
pub async fn consent(app: &TestApp, bank: &Bank, token: &str, user_index: usize) -> String {
    let r = app
        .http
        .get(app.url("/api/v1/bank/link"))
        .bearer_auth(token)
        .header("accept", "application/json")
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let binding = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("ginkgo_bank_link="))
        .and_then(|c| c.split(';').next())
        .expect("the link cookie")
        .to_string();
    let start: Value = r.json().await.expect("json");
    let authorize = start["authorize_url"].as_str().expect("url").to_string();
    let state = query_value(&authorize, "state").expect("state");
    link_cookies()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(state, binding);
    assert!(authorize.starts_with(&bank.base));
    let page = app.http.get(&authorize).send().await.expect("consent page");
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.expect("html").contains("<form"));
    let query: Vec<(String, String)> = reqwest::Url::parse(&authorize)
        .expect("url")
        .query_pairs()
        .into_owned()
        .collect();
    let user = &bank.handle.users()[user_index];
    let mut form: Vec<(String, String)> = query;
    form.push(("user_seq_no".into(), user.user_seq_no.clone()));
    for a in &user.accounts {
        form.push(("fintech_use_num".into(), a.fintech_use_num.clone()));
    }
    form.push(("action".into(), "approve".into()));
    let r = app
        .http
        .post(format!("{}/oauth/2.0/authorize", bank.base))
        .form(&form)
        .send()
        .await
        .expect("submit");
    assert_eq!(
        r.status(),
        StatusCode::FOUND,
        "{}",
        r.text().await.unwrap_or_default()
    );
    r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

/// The link cookies browsers got when starting a link, by state (`consent` fills it).
fn link_cookies() -> &'static std::sync::Mutex<std::collections::HashMap<String, String>> {
    static COOKIES: std::sync::OnceLock<
        std::sync::Mutex<std::collections::HashMap<String, String>>,
    > = std::sync::OnceLock::new();
    COOKIES.get_or_init(Default::default)
}

pub fn query_value(url: &str, key: &str) -> Option<String> {
    reqwest::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Follows the bank's redirect as the browser that started the link would: with the link
/// cookie of the callback's state (none for a state no browser started).
pub async fn follow_callback(app: &TestApp, callback: &str) -> String {
    let binding = query_value(callback, "state").and_then(|s| {
        link_cookies()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&s)
            .cloned()
    });
    let mut req = app.http.get(callback);
    if let Some(b) = binding {
        req = req.header("cookie", format!("ginkgo_bank_link={b}"));
    }
    let r = req.send().await.expect("callback");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    r.headers()["location"]
        .to_str()
        .expect("location")
        .to_string()
}

pub async fn all_transactions(app: &TestApp, token: &str, account: i64) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let (s, body) = app
            .get(
                &format!("/api/v1/bank/accounts/{account}/transactions?per_page=500&page={page}"),
                token,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let items = body["items"].as_array().expect("items").clone();
        if items.is_empty() {
            break;
        }
        out.extend(items);
    }
    out
}

pub type Key = (String, String, String, i64, i64, String);

pub fn key_of(v: &Value) -> Key {
    (
        v["date"].as_str().expect("date").replace('-', ""),
        v["time"].as_str().expect("time").to_string(),
        v["direction"].as_str().expect("dir").to_string(),
        v["amount"].as_i64().expect("amount"),
        v["balance_after"].as_i64().expect("balance"),
        v["memo"].as_str().expect("memo").to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_consent_sync_and_a_second_sync_adds_nothing() {
    let bank = start_sandbox(120).await;
    let app = app_with_bank(&bank).await;
    app.create_user("c@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let token = app.token("c@test.kr").await;
    let (s, before) = app.get("/api/v1/bank/accounts", &token).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(before.as_array().map(Vec::len), Some(0));

    let callback = consent(&app, &bank, &token, 0).await;
    assert!(
        callback.contains("/api/v1/bank/callback?code="),
        "{callback}"
    );
    assert_eq!(follow_callback(&app, &callback).await, "/bank?linked=1");
    // The same callback again: the state and the code are spent.
    assert_eq!(
        follow_callback(&app, &callback).await,
        "/bank?error=invalid_state"
    );

    let (s, outcome) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["status"], "ok");
    let added = outcome["added"].as_u64().expect("added");
    assert!(added > 100, "a year of history: {outcome}");

    let (_, accounts) = app.get("/api/v1/bank/accounts", &token).await;
    let accounts = accounts.as_array().expect("accounts").clone();
    let user = &bank.handle.users()[0];
    assert_eq!(accounts.len(), user.accounts.len());
    let mut stored_total = 0;
    for a in &accounts {
        let id = a["id"].as_i64().expect("id");
        let truth_account = user
            .accounts
            .iter()
            .find(|t| t.account_num_masked == a["account_num_masked"].as_str().expect("masked"))
            .expect("the sandbox's account");
        let truth = bank
            .handle
            .transactions(&truth_account.fintech_use_num)
            .expect("rows");
        let stored = all_transactions(&app, &token, id).await;
        stored_total += stored.len();
        let mut want: BTreeMap<Key, usize> = BTreeMap::new();
        for t in &truth {
            let dir = match t.direction {
                ginkgo_openbanking::model::Direction::Deposit => "in",
                _ => "out",
            };
            let k = (
                t.date.format("%Y%m%d").to_string(),
                t.time.format("%H%M%S").to_string(),
                dir.to_string(),
                t.amount.get(),
                t.after_balance.get(),
                t.memo.clone(),
            );
            *want.entry(k).or_default() += 1;
        }
        let mut got: BTreeMap<Key, usize> = BTreeMap::new();
        for v in &stored {
            *got.entry(key_of(v)).or_default() += 1;
        }
        assert_eq!(got, want, "the stored transactions equal the sandbox's");
        assert_eq!(
            a["balance"].as_i64(),
            truth.last().map(|t| t.after_balance.get()),
            "balance equals the last row's"
        );
        assert!(stored.iter().all(|t| t["category"].is_string()));
    }
    assert_eq!(stored_total as u64, added);

    let (s, again) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(again["added"], 0, "a second sync adds nothing: {again}");
    let (_, syncs) = app.get("/api/v1/bank/syncs", &token).await;
    assert_eq!(syncs.as_array().map(Vec::len), Some(2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_states_and_refused_consent_link_nothing() {
    let bank = start_sandbox(30).await;
    let app = app_with_bank(&bank).await;
    app.create_user("c@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let token = app.token("c@test.kr").await;
    let callback = consent(&app, &bank, &token, 0).await;
    // A state no browser started has no link cookie.
    let forged = callback.replace("state=", "state=X");
    assert_eq!(
        follow_callback(&app, &forged).await,
        "/bank?error=state_mismatch"
    );
    let no_code = app.url("/api/v1/bank/callback?state=abc");
    assert_eq!(
        follow_callback(&app, &no_code).await,
        "/bank?error=invalid_callback"
    );
    let refused = app.url("/api/v1/bank/callback?error=access_denied&state=abc");
    assert_eq!(
        follow_callback(&app, &refused).await,
        "/bank?error=consent_refused"
    );
    let (_, accounts) = app.get("/api/v1/bank/accounts", &token).await;
    assert_eq!(accounts.as_array().map(Vec::len), Some(0));
    // The genuine callback still works once.
    assert_eq!(follow_callback(&app, &callback).await, "/bank?linked=1");
    // Linking and syncing need a login; another login sees none of it.
    app.create_user("d@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let other = app.token("d@test.kr").await;
    let (_, theirs) = app.get("/api/v1/bank/accounts", &other).await;
    assert_eq!(theirs.as_array().map(Vec::len), Some(0));
    let (s, _) = app.post("/api/v1/bank/sync", Some(&other), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_failing_or_expiring_tokens_is_reported_and_nothing_is_half_stored() {
    let bank = start_sandbox(60).await;
    let app = app_with_bank(&bank).await;
    app.create_user("c@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let token = app.token("c@test.kr").await;
    let callback = consent(&app, &bank, &token, 0).await;
    follow_callback(&app, &callback).await;
    let mut faults = bank.handle.faults();
    faults.http_error_next = 1_000;
    bank.handle.set_faults(faults.clone());
    let (s, body) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["code"], "bank_unavailable");
    faults.http_error_next = 0;
    bank.handle.set_faults(faults.clone());
    let (s, ok) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ok}");
    let added = ok["added"].as_u64().expect("added");
    let (_, again) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(
        again["added"], 0,
        "after the failure, one clean sync stored everything once ({added})"
    );
    faults.expired_token_next = 100;
    bank.handle.set_faults(faults);
    let (s, body) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "relink_needed");
    let (_, accounts) = app.get("/api/v1/bank/accounts", &token).await;
    assert_eq!(accounts[0]["link_status"], "relink_needed");
    let (_, syncs) = app.get("/api/v1/bank/syncs", &token).await;
    assert_eq!(syncs[0]["status"], "relink_needed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refiling_makes_a_rule_that_survives_resync_and_recurring_items_are_found() {
    let bank = start_sandbox(400).await;
    let app = app_with_bank(&bank).await;
    app.create_user("c@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    app.create_user("d@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let token = app.token("c@test.kr").await;
    let callback = consent(&app, &bank, &token, 0).await;
    follow_callback(&app, &callback).await;
    let (s, _) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK);

    // Recurring: salary and rent found monthly; café spending is not recurring.
    let (_, recurring) = app.get("/api/v1/insight/recurring", &token).await;
    let recurring = recurring.as_array().expect("list").clone();
    let salary = recurring
        .iter()
        .find(|r| r["memo"].as_str().is_some_and(|m| m.contains("급여")))
        .expect("salary found");
    assert_eq!(salary["period"], "monthly");
    assert_eq!(salary["direction"], "in");
    let rent = recurring
        .iter()
        .find(|r| r["memo"].as_str().is_some_and(|m| m.contains("월세")))
        .expect("rent found");
    assert_eq!(rent["period"], "monthly");
    // No café, no convenience store.
    let daily = [
        "스타벅스",
        "투썸",
        "이디야",
        "메가MGC",
        "빽다방",
        "GS25",
        "CU ",
        "세븐일레븐",
        "이마트24",
    ];
    assert!(
        !recurring.iter().any(|r| r["memo"]
            .as_str()
            .is_some_and(|m| daily.iter().any(|d| m.contains(d)))),
        "{recurring:?}"
    );
    let dates = |r: &Value| -> (chrono::NaiveDate, chrono::NaiveDate) {
        (
            r["last_date"]
                .as_str()
                .expect("last")
                .parse()
                .expect("date"),
            r["next_date"]
                .as_str()
                .expect("next")
                .parse()
                .expect("date"),
        )
    };
    // Rent: the 1st, or the next business day.
    let (rent_last, rent_next) = dates(rent);
    assert!(rent_next > rent_last);
    assert_eq!(
        Some(rent_next),
        ginkgo_sandbox::generator::rent_day(
            chrono::Datelike::year(&rent_next),
            chrono::Datelike::month(&rent_next)
        ),
        "{rent}"
    );
    assert!(
        (rent_next - rent_last).num_days() <= 34,
        "the month after: {rent}"
    );
    let salary_next: chrono::NaiveDate = salary["next_date"]
        .as_str()
        .expect("next")
        .parse()
        .expect("date");
    let salary_last: chrono::NaiveDate = salary["last_date"]
        .as_str()
        .expect("last")
        .parse()
        .expect("date");
    assert!(
        salary_next > salary_last && (23..=25).contains(&chrono::Datelike::day(&salary_next)),
        "salary next on the 25th or the business day before: {salary}"
    );
    let phone = recurring
        .iter()
        .find(|r| {
            r["memo"].as_str().is_some_and(|m| {
                ["통신요금", "휴대폰요금", "인터넷"]
                    .iter()
                    .any(|p| m.contains(p))
            })
        })
        .expect("the phone bill is recurring");
    assert_eq!(phone["period"], "monthly");
    assert_eq!(phone["direction"], "out");
    // The phone bill is debited on the 20th, weekends included.
    let (phone_last, phone_next) = dates(phone);
    assert_eq!(chrono::Datelike::day(&phone_next), 20, "{phone}");
    assert!(phone_next > phone_last && (phone_next - phone_last).num_days() <= 31);
    let subscription = recurring
        .iter()
        .find(|r| {
            r["memo"].as_str().is_some_and(|m| {
                ["NETFLIX", "유튜브프리미엄", "멜론", "쿠팡와우"]
                    .iter()
                    .any(|p| m.contains(p))
            })
        })
        .expect("a subscription is recurring");
    assert_eq!(subscription["period"], "monthly");
    // Subscriptions come back on the same day of the next month.
    for sub in recurring.iter().filter(|r| {
        r["memo"].as_str().is_some_and(|m| {
            ["NETFLIX", "유튜브프리미엄", "멜론", "쿠팡와우"]
                .iter()
                .any(|p| m.contains(p))
        })
    }) {
        let (last, next) = dates(sub);
        assert_eq!(sub["period"], "monthly", "{sub}");
        assert!((28..=31).contains(&(next - last).num_days()), "{sub}");
        assert!(
            chrono::Datelike::day(&next) == chrono::Datelike::day(&last)
                || chrono::Datelike::day(&next) < chrono::Datelike::day(&last),
            "the same day, or the month's last when shorter: {sub}"
        );
    }
    assert!(
        recurring
            .iter()
            .all(|r| r["status"] == "active" || r["status"] == "stopped")
    );
    let (_, upcoming) = app.get("/api/v1/insight/upcoming?days=31", &token).await;
    assert!(
        upcoming
            .as_array()
            .expect("upcoming")
            .iter()
            .any(|u| u["memo"].as_str().is_some_and(|m| m.contains("급여")))
    );

    // Re-file one café transaction: a rule for its memo re-files the others at once.
    let (_, accounts) = app.get("/api/v1/bank/accounts", &token).await;
    let account = accounts[0]["id"].as_i64().expect("id");
    let mut txns = Vec::new();
    for a in accounts.as_array().expect("accounts") {
        txns.extend(all_transactions(&app, &token, a["id"].as_i64().expect("id")).await);
    }
    let cafe = txns
        .iter()
        .find(|t| t["category"] == "cafe")
        .expect("a café transaction")
        .clone();
    let memo = cafe["memo"].as_str().expect("memo").to_string();
    let same_memo = txns.iter().filter(|t| t["memo"] == memo.as_str()).count();
    let (_, spending_before) = app
        .get("/api/v1/insight/spending?from=2025-01-01", &token)
        .await;
    let (_, preview) = app
        .post(
            "/api/v1/rules/preview",
            Some(&token),
            json!({"kind": "equals", "pattern": memo, "category": "food"}),
        )
        .await;
    assert_eq!(
        preview["changes"].as_u64(),
        Some(same_memo as u64),
        "{preview}"
    );
    let r = app
        .http
        .put(app.url(&format!(
            "/api/v1/bank/transactions/{}/category",
            cafe["id"]
        )))
        .bearer_auth(&token)
        .json(&json!({"category": "food"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    let refiled: Value = r.json().await.expect("json");
    assert_eq!(refiled["changed"].as_u64(), Some(same_memo as u64));
    assert_eq!(refiled["transaction"]["category_source"], "rule");
    let (_, rules) = app.get("/api/v1/rules", &token).await;
    assert_eq!(rules[0]["pattern"], memo.as_str());
    let (_, spending_after) = app
        .get("/api/v1/insight/spending?from=2025-01-01", &token)
        .await;
    let amount_of = |v: &Value, c: &str| {
        v.as_array()
            .expect("a")
            .iter()
            .find(|x| x["category"] == c)
            .and_then(|x| x["amount"].as_i64())
            .unwrap_or(0)
    };
    // Card cancellations of the memo (체크카드취소) net against its purchases: the chart moves
    // the purchases less their cancellations.
    let signed = |t: &Value| {
        let a = t["amount"].as_i64().expect("a");
        if t["direction"] == "out" { a } else { -a }
    };
    let moved: i64 = txns
        .iter()
        .filter(|t| t["memo"] == memo.as_str())
        .filter(|t| t["direction"] == "out" || t["tran_type"] == "체크카드취소")
        .map(signed)
        .sum();
    assert_eq!(
        amount_of(&spending_before, "cafe") - amount_of(&spending_after, "cafe"),
        moved,
        "the chart changes"
    );
    assert_eq!(
        amount_of(&spending_after, "food") - amount_of(&spending_before, "food"),
        moved
    );

    // The rule survives a re-sync, and touches no one else's data.
    app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    let after = all_transactions(&app, &token, account).await;
    assert!(
        after.iter().any(|t| t["memo"] == memo.as_str())
            || txns.iter().all(|t| t["memo"] != memo.as_str())
    );
    assert!(
        after
            .iter()
            .filter(|t| t["memo"] == memo.as_str())
            .all(|t| t["category"] == "food")
    );
    let other = app.token("d@test.kr").await;
    let (_, their_rules) = app.get("/api/v1/rules", &other).await;
    assert_eq!(their_rules.as_array().map(Vec::len), Some(0));
    let r = app
        .http
        .put(app.url(&format!(
            "/api/v1/bank/transactions/{}/category",
            cafe["id"]
        )))
        .bearer_auth(&other)
        .json(&json!({"category": "cafe"}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Deleting the rule files them back under the dictionary's category.
    let rule_id = rules[0]["id"].as_i64().expect("id");
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/rules/{rule_id}")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let back = all_transactions(&app, &token, account).await;
    assert!(
        back.iter()
            .filter(|t| t["memo"] == memo.as_str())
            .all(|t| t["category"] == "cafe")
    );
}
