//! Ginkgo against the sandbox's testbed profile, over HTTP: the shapes the real KFTC testbed
//! answers (OPENBANKING.md §8.1). Link, the first sync starting by itself, balances with
//! `"00000000"` dates, canned rows stored once, keys that never end, refusals, maintenance,
//! reconnecting and unlinking one account.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ginkgo_sandbox::testbed::{CANNED_AVAILABLE, CANNED_BALANCE, canned_transactions};
use ginkgo_sandbox::{Faults, Profile, SandboxConfig, TestbedPaging};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::bank::*;
use crate::helpers::*;

async fn testbed(paging: TestbedPaging) -> Bank {
    start_sandbox_with(SandboxConfig {
        users: 2,
        history_days: 30,
        seed: 424_242,
        profile: Profile::Testbed,
        testbed_paging: paging,
        ..SandboxConfig::default()
    })
    .await
}

/// A server on `bank` that starts the first sync when a link completes.
async fn app(bank: &Bank) -> TestApp {
    app_with_bank_tweaked(bank, |c| {
        c.bank.sync_on_link = true;
        c.bank.sync_wait_seconds = 5;
    })
    .await
}

/// Links user `index` of the bank for a new login; answers its token.
async fn link(app: &TestApp, bank: &Bank, email: &str, index: usize) -> String {
    app.create_user(email, ginkgo_store::Role::Customer, None)
        .await;
    let token = app.token(email).await;
    relink(app, bank, &token, index).await;
    token
}

async fn relink(app: &TestApp, bank: &Bank, token: &str, index: usize) {
    let callback = consent(app, bank, token, index).await;
    assert_eq!(follow_callback(app, &callback).await, "/bank?linked=1");
}

/// The login's newest sync once it is no longer running (bounded); `None` when there is none.
async fn last_sync(app: &TestApp, token: &str) -> Option<Value> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (s, list) = app.get("/api/v1/bank/syncs", token).await;
        assert_eq!(s, StatusCode::OK, "{list}");
        match list.as_array().and_then(|l| l.first()) {
            None => return None,
            Some(r) if r["status"] != "running" => return Some(r.clone()),
            Some(_) => {}
        }
        assert!(Instant::now() < deadline, "the sync never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn sync_now(app: &TestApp, token: &str) -> (StatusCode, Value) {
    app.post("/api/v1/bank/sync", Some(token), json!({})).await
}

async fn accounts(app: &TestApp, token: &str) -> Vec<Value> {
    let (s, list) = app.get("/api/v1/bank/accounts", token).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array().expect("accounts").clone()
}

/// The canned rows by identity, with multiplicity.
fn canned() -> BTreeMap<Key, usize> {
    let mut out = BTreeMap::new();
    let mut previous: Option<i64> = None;
    for t in canned_transactions() {
        use ginkgo_openbanking::Direction as D;
        let dir = match t.direction {
            D::Deposit => "in",
            D::Withdrawal | D::Payment => "out",
            D::Other if previous.is_some_and(|p| t.after_balance.get() > p) => "in",
            D::Other => "out",
        };
        previous = Some(t.after_balance.get());
        let k = (
            t.date.format("%Y%m%d").to_string(),
            t.time.format("%H%M%S").to_string(),
            dir.to_string(),
            t.amount.get(),
            t.after_balance.get(),
            t.memo.clone(),
        );
        *out.entry(k).or_default() += 1;
    }
    out
}

async fn stored_of(app: &TestApp, token: &str, account: i64) -> (BTreeMap<Key, usize>, Vec<Value>) {
    let rows = all_transactions(app, token, account).await;
    let mut out = BTreeMap::new();
    for t in &rows {
        *out.entry(key_of(t)).or_default() += 1;
    }
    (out, rows)
}

fn warnings(v: &Value) -> Vec<String> {
    v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| w.as_str().expect("code").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_sync_starts_by_itself_stores_canned_rows_once_and_a_second_adds_nothing() {
    let bank = testbed(TestbedPaging::EmptyKey).await;
    let app = app(&bank).await;
    let token = link(&app, &bank, "c@test.kr", 0).await;
    // Nobody asked for a sync: the link started it.
    let first = last_sync(&app, &token)
        .await
        .expect("the first sync started by itself");
    assert_eq!(first["status"], "warning", "{first}");
    let w = warnings(&first);
    assert!(w.contains(&"paging_empty_key".to_string()), "{w:?}");
    assert!(w.contains(&"out_of_period".to_string()), "{w:?}");
    let fins = bank.handle.users()[0].accounts.len();
    assert_eq!(
        bank.handle.list_queries().len(),
        fins,
        "a Y with an empty key is one call per account"
    );
    let list = accounts(&app, &token).await;
    assert_eq!(list.len(), fins);
    for a in &list {
        // The balance parsed in spite of its "00000000" dates, which are stored as none.
        assert_eq!(a["balance"], CANNED_BALANCE, "{a}");
        assert_eq!(a["available"], CANNED_AVAILABLE, "{a}");
        for field in ["account_issue_date", "maturity_date", "last_tran_date"] {
            assert!(a[field].is_null(), "{field}: {a}");
        }
        assert_eq!(a["status"], "synced", "{a}");
        assert!(a["last_synced_at"].is_string());
        assert_eq!(a["sync_warning"], "out_of_period", "{a}");
        let (rows, raw) = stored_of(&app, &token, a["id"].as_i64().expect("id")).await;
        assert_eq!(rows, canned(), "each canned row once, repeated ones kept");
        assert!(
            raw.iter().all(|t| t["out_of_period"] == true),
            "rows dated 2019-01-01 are flagged"
        );
    }
    let (s, second) = sync_now(&app, &token).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    assert_eq!(second["added"], 0, "{second}");
    for a in accounts(&app, &token).await {
        let (rows, _) = stored_of(&app, &token, a["id"].as_i64().expect("id")).await;
        assert_eq!(rows, canned(), "nothing stored twice");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_continuation_key_that_never_changes_ends_in_bounded_calls_with_a_warning() {
    let bank = testbed(TestbedPaging::ConstantKey).await;
    let app = app(&bank).await;
    let token = link(&app, &bank, "c@test.kr", 0).await;
    let first = last_sync(&app, &token).await.expect("first sync");
    assert_eq!(first["status"], "warning", "{first}");
    assert!(
        warnings(&first).contains(&"paging_repeated_page".to_string()),
        "{first}"
    );
    let fins = bank.handle.users()[0].accounts.len();
    assert_eq!(
        bank.handle.list_queries().len(),
        2 * fins,
        "the first page, then the repeated one: no more"
    );
    for a in accounts(&app, &token).await {
        let (rows, _) = stored_of(&app, &token, a["id"].as_i64().expect("id")).await;
        assert_eq!(rows, canned(), "the repeated page is not stored");
    }
    let (s, again) = sync_now(&app, &token).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["added"], 0);
    assert_eq!(bank.handle.list_queries().len(), 4 * fins);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_account_without_canned_data_fails_with_its_reason_and_the_others_sync() {
    let bank = testbed(TestbedPaging::EmptyKey).await;
    let app = app(&bank).await;
    // User 1's last account has no canned answers: A0002 / 818.
    let token = link(&app, &bank, "c@test.kr", 1).await;
    let first = last_sync(&app, &token).await.expect("first sync");
    assert_eq!(first["status"], "partial", "{first}");
    let list = accounts(&app, &token).await;
    let failed: Vec<&Value> = list.iter().filter(|a| a["status"] == "failed").collect();
    assert_eq!(failed.len(), 1, "{list:?}");
    assert_eq!(failed[0]["failure"], "A0002");
    assert!(failed[0]["sync_attempted_at"].is_string());
    assert!(failed[0]["last_synced_at"].is_null(), "it never synced");
    assert!(
        failed[0]["balance"].is_null(),
        "no figure the data does not support"
    );
    assert!(
        list.iter()
            .filter(|a| a["status"] != "failed")
            .all(|a| a["status"] == "synced")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_refresh_needs_a_relink_and_reconnecting_keeps_the_history() {
    let bank = testbed(TestbedPaging::EmptyKey).await;
    let app = app(&bank).await;
    let token = link(&app, &bank, "c@test.kr", 0).await;
    last_sync(&app, &token).await.expect("first sync");
    let before = accounts(&app, &token).await;
    // The center says the token expired: one refresh, which the testbed profile accepts only
    // with `scope` — Ginkgo sends it.
    bank.handle.set_faults(Faults {
        expired_token_next: 1,
        ..Faults::default()
    });
    let (s, ok) = sync_now(&app, &token).await;
    assert_eq!(s, StatusCode::OK, "a refresh with scope works: {ok}");
    // Now the center refuses the refresh (O0001): the link says so, not "active".
    bank.handle.set_faults(Faults {
        expired_token_next: 1,
        refuse_refresh_next: 1,
        ..Faults::default()
    });
    let (s, body) = sync_now(&app, &token).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "relink_needed");
    let list = accounts(&app, &token).await;
    assert!(list.iter().all(|a| a["link_status"] == "relink_needed"));
    assert!(
        list.iter().all(|a| a["status"] == "relink_needed"),
        "{list:?}"
    );
    // Every later sync says so too, without calling the center.
    let (s, body) = sync_now(&app, &token).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(body["error"]["code"], "relink_needed");
    // Reconnect: the same accounts, their history kept, nothing stored twice.
    relink(&app, &bank, &token, 0).await;
    let after_sync = last_sync(&app, &token).await.expect("the reconnect synced");
    assert_ne!(after_sync["status"], "relink_needed");
    let after = accounts(&app, &token).await;
    assert_eq!(
        after.iter().map(|a| a["id"].clone()).collect::<Vec<_>>(),
        before.iter().map(|a| a["id"].clone()).collect::<Vec<_>>()
    );
    for a in &after {
        assert_eq!(a["link_status"], "active");
        assert_eq!(a["status"], "synced");
        let (rows, _) = stored_of(&app, &token, a["id"].as_i64().expect("id")).await;
        assert_eq!(rows, canned());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_under_maintenance_is_skipped_and_says_so() {
    let bank = testbed(TestbedPaging::EmptyKey).await;
    let app = app_with_bank(&bank).await;
    app.create_user("c@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let token = app.token("c@test.kr").await;
    relink(&app, &bank, &token, 0).await;
    let down = bank.handle.users()[0].accounts[0].bank_code_std.to_string();
    bank.handle.set_faults(Faults {
        maintenance_banks: vec![down.clone()],
        ..Faults::default()
    });
    let (s, outcome) = sync_now(&app, &token).await;
    assert_eq!(s, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["status"], "warning");
    assert!(warnings(&outcome).contains(&"bank_maintenance".to_string()));
    let fin_of_down: Vec<String> = bank.handle.users()[0]
        .accounts
        .iter()
        .filter(|a| a.bank_code_std == down)
        .map(|a| a.fintech_use_num.clone())
        .collect();
    assert!(
        bank.handle
            .list_queries()
            .iter()
            .all(|q| !fin_of_down.contains(&q.fintech_use_num)),
        "the bank under maintenance was not asked"
    );
    let list = accounts(&app, &token).await;
    let skipped: Vec<&Value> = list
        .iter()
        .filter(|a| a["status"] == "maintenance")
        .collect();
    assert_eq!(skipped.len(), fin_of_down.len(), "{list:?}");
    assert!(skipped.iter().all(|a| a["balance"].is_null()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_account_can_be_unlinked_and_is_no_longer_synced() {
    let bank = testbed(TestbedPaging::EmptyKey).await;
    let app = app_with_bank(&bank).await;
    app.create_user("c@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let token = app.token("c@test.kr").await;
    relink(&app, &bank, &token, 0).await;
    let (s, _) = sync_now(&app, &token).await;
    assert_eq!(s, StatusCode::OK);
    let list = accounts(&app, &token).await;
    let gone = list[0]["id"].as_i64().expect("id");
    // Another login cannot.
    app.create_user("d@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let other = app.token("d@test.kr").await;
    let del = |t: String| {
        app.http
            .delete(app.url(&format!("/api/v1/bank/accounts/{gone}")))
            .bearer_auth(t)
            .send()
    };
    assert_eq!(
        del(other).await.expect("send").status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        del(token.clone()).await.expect("send").status(),
        StatusCode::NO_CONTENT
    );
    let left = accounts(&app, &token).await;
    assert_eq!(left.len(), list.len() - 1);
    assert!(left.iter().all(|a| a["id"] != gone));
    let queries = bank.handle.list_queries().len();
    let (s, outcome) = sync_now(&app, &token).await;
    assert_eq!(s, StatusCode::OK, "{outcome}");
    assert_eq!(bank.handle.list_queries().len() - queries, left.len());
    let (s, _) = app
        .get(
            &format!("/api/v1/bank/accounts/{gone}/transactions"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND, "hidden with its account");
    // Linking again brings it back with its history.
    relink(&app, &bank, &token, 0).await;
    let back = accounts(&app, &token).await;
    assert!(back.iter().any(|a| a["id"] == gone));
    let (rows, _) = stored_of(&app, &token, gone).await;
    assert_eq!(rows, canned());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_tran_ids_carry_the_installation_prefix() {
    let bank = testbed(TestbedPaging::EmptyKey).await;
    let staging = app_with_bank_tweaked(&bank, |c| c.bank.tran_id_prefix = "S".into()).await;
    let token = link(&staging, &bank, "c@test.kr", 0).await;
    let (s, outcome) = sync_now(&staging, &token).await;
    assert_eq!(s, StatusCode::OK, "{outcome}");
    let ids = bank.handle.tran_ids_today();
    assert!(!ids.is_empty());
    assert!(
        ids.iter().all(|id| id.starts_with("M202600001US")),
        "{ids:?}"
    );
    // Production, on its own database with the same institution code, counts from the same
    // numbers but can never send the same id.
    let production = app_with_bank_tweaked(&bank, |c| c.bank.tran_id_prefix = "P".into()).await;
    let token = link(&production, &bank, "d@test.kr", 1).await;
    let before = ids.len();
    let (s, _) = sync_now(&production, &token).await;
    assert_eq!(s, StatusCode::OK);
    let ids = bank.handle.tran_ids_today();
    assert_eq!(
        ids.iter()
            .filter(|id| id.starts_with("M202600001UP"))
            .count(),
        ids.len() - before,
        "every id of the second installation was accepted as new"
    );
    // The control: a third installation sharing staging's prefix repeats its ids, and the
    // center refuses them as duplicates (A0326).
    let twin = app_with_bank_tweaked(&bank, |c| c.bank.tran_id_prefix = "S".into()).await;
    let token = link(&twin, &bank, "e@test.kr", 0).await;
    let (_, outcome) = sync_now(&twin, &token).await;
    assert!(
        outcome["accounts"]
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x["status"] == "A0326")),
        "{outcome}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_that_cannot_reach_the_bank_never_leaves_an_account_saying_synced() {
    let bank = testbed(TestbedPaging::EmptyKey).await;
    let app = app(&bank).await;
    let token = link(&app, &bank, "c@test.kr", 0).await;
    last_sync(&app, &token).await.expect("first sync");
    let synced = accounts(&app, &token).await;
    assert!(synced.iter().all(|a| a["status"] == "synced"));
    // The center answers nothing but 503, retries included.
    bank.handle.set_faults(Faults {
        http_error_next: 100,
        ..Faults::default()
    });
    let (s, body) = sync_now(&app, &token).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{body}");
    bank.handle.set_faults(Faults::default());
    for (a, before) in accounts(&app, &token).await.iter().zip(&synced) {
        assert_eq!(a["status"], "failed", "{a}");
        assert_eq!(a["failure"], "bank_unavailable", "{a}");
        assert_eq!(
            a["last_synced_at"], before["last_synced_at"],
            "the last success stays"
        );
        assert_ne!(a["sync_attempted_at"], before["sync_attempted_at"]);
        assert_eq!(
            a["balance"], before["balance"],
            "the last known balance stays"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_cap_bounds_a_sync_and_the_next_syncs_go_on_without_losing_a_row() {
    // The realistic profile, a cap of 3 pages (75 rows) per account and sync.
    let bank = start_sandbox(60).await;
    let app = app_with_bank_tweaked(&bank, |c| c.bank.max_pages_per_account = 3).await;
    let token = link(&app, &bank, "c@test.kr", 0).await;
    let user = &bank.handle.users()[0];
    let expected: usize = user
        .accounts
        .iter()
        .map(|a| {
            bank.handle
                .transactions(&a.fintech_use_num)
                .expect("rows")
                .len()
        })
        .sum();
    assert!(expected > 75, "the cap must bite: {expected} rows");
    let mut capped = 0;
    for _ in 0..40 {
        let calls = bank.handle.list_queries().len();
        let (s, outcome) = sync_now(&app, &token).await;
        assert_eq!(s, StatusCode::OK, "{outcome}");
        assert!(
            bank.handle.list_queries().len() - calls <= 3 * user.accounts.len(),
            "at most the cap per account"
        );
        if !warnings(&outcome).contains(&"paging_page_cap".to_string()) {
            break;
        }
        capped += 1;
    }
    assert!(capped > 0, "the cap was reached at least once");
    let mut stored = 0;
    for a in accounts(&app, &token).await {
        stored += all_transactions(&app, &token, a["id"].as_i64().expect("id"))
            .await
            .len();
    }
    assert_eq!(stored, expected, "every row, once, over several syncs");
    let (_, again) = sync_now(&app, &token).await;
    assert_eq!(again["added"], 0);
}
