//! Syncing under stress, over HTTP: long syncs, lost leases, slow and failing banks, expired,
//! refreshed and revoked tokens, unlinking, a center that forgot its registrations, incremental
//! windows, and rules applied to new rows.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ginkgo_openbanking::wire::TransactionRow;
use ginkgo_sandbox::Faults;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::bank::*;
use crate::helpers::*;

/// A login with user `index` of `bank` linked through the consent flow.
async fn linked(app: &TestApp, bank: &Bank, email: &str, index: usize) -> String {
    app.create_user(email, ginkgo_store::Role::Customer, None)
        .await;
    let token = app.token(email).await;
    let callback = consent(app, bank, &token, index).await;
    assert_eq!(follow_callback(app, &callback).await, "/bank?linked=1");
    token
}

async fn user_id(app: &TestApp, token: &str) -> i64 {
    app.get("/api/v1/me", token).await.1["id"]
        .as_i64()
        .expect("id")
}

/// Follows a sync's record until it is no longer running (bounded).
async fn until_finished(app: &TestApp, token: &str, id: i64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (s, record) = app.get(&format!("/api/v1/bank/syncs/{id}"), token).await;
        assert_eq!(s, StatusCode::OK, "{record}");
        if record["status"] != "running" {
            return record;
        }
        assert!(
            Instant::now() < deadline,
            "the sync never finished: {record}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every stored transaction of the login, by identity, with multiplicity.
async fn stored(app: &TestApp, token: &str) -> BTreeMap<Key, usize> {
    let (_, accounts) = app.get("/api/v1/bank/accounts", token).await;
    let mut out = BTreeMap::new();
    for a in accounts.as_array().expect("accounts") {
        for t in all_transactions(app, token, a["id"].as_i64().expect("id")).await {
            *out.entry(key_of(&t)).or_default() += 1;
        }
    }
    out
}

/// The sandbox's rows of user `index`, by the same identity.
fn truth(bank: &Bank, index: usize) -> BTreeMap<Key, usize> {
    let mut out = BTreeMap::new();
    use ginkgo_openbanking::Direction as D;
    for a in &bank.handle.users()[index].accounts {
        let mut previous: Option<i64> = None;
        for t in bank.handle.transactions(&a.fintech_use_num).expect("rows") {
            let dir = match t.direction {
                D::Deposit => "in",
                D::Withdrawal | D::Payment => "out",
                // `기타`: the sign of the balance change.
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
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_outliving_its_request_answers_202_finishes_on_its_own_and_frees_the_lease() {
    let bank = start_sandbox(60).await;
    let app = app_with_bank_tweaked(&bank, |c| c.bank.sync_wait_seconds = 0).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    bank.handle.set_faults(Faults {
        delay_ms: 100,
        ..Faults::default()
    });
    let r = app
        .http
        .post(app.url("/api/v1/bank/sync"))
        .bearer_auth(&token)
        .json(&json!({}))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::ACCEPTED);
    let location = r.headers()["location"].to_str().expect("ascii").to_string();
    let accepted: Value = r.json().await.expect("json");
    assert_eq!(accepted["status"], "running");
    let id = accepted["sync_id"].as_i64().expect("id");
    assert_eq!(location, format!("/api/v1/bank/syncs/{id}"));
    // While it runs: visible as running, and a second sync is refused.
    let (_, list) = app.get("/api/v1/bank/syncs", &token).await;
    assert_eq!(list[0]["id"], id);
    let (s, busy) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{busy}");
    assert_eq!(busy["error"]["code"], "sync_running");
    let done = until_finished(&app, &token, id).await;
    assert_eq!(done["status"], "ok", "{done}");
    assert!(done["finished_at"].is_string());
    assert_eq!(stored(&app, &token).await, truth(&bank, 0));
    // The lease went with the sync: the next one runs (and adds nothing).
    bank.handle.set_faults(Faults::default());
    let (s, next) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    let next = if s == StatusCode::ACCEPTED {
        until_finished(&app, &token, next["sync_id"].as_i64().expect("id")).await
    } else {
        assert_eq!(s, StatusCode::OK, "{next}");
        next
    };
    assert_eq!(next["added"], 0, "{next}");
    // Another login cannot read the record.
    app.create_user("d@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let other = app.token("d@test.kr").await;
    let (s, _) = app.get(&format!("/api/v1/bank/syncs/{id}"), &other).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_that_loses_its_lease_stops_and_says_so() {
    let bank = start_sandbox(120).await;
    let app = app_with_bank_tweaked(&bank, |c| {
        c.bank.sync_wait_seconds = 0;
        c.bank.sync_lease_seconds = 3;
    })
    .await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    let uid = user_id(&app, &token).await;
    bank.handle.set_faults(Faults {
        delay_ms: 400,
        ..Faults::default()
    });
    let (s, accepted) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{accepted}");
    // Another process takes the lease (as if this one had stalled past its expiry).
    let lease = format!("bank-sync:{uid}");
    let later = chrono::Utc::now() + chrono::Duration::seconds(120);
    assert!(
        app.store
            .try_lease(
                &lease,
                "thief",
                later,
                later + chrono::Duration::seconds(60)
            )
            .await
            .expect("lease")
    );
    let done = until_finished(&app, &token, accepted["sync_id"].as_i64().expect("id")).await;
    assert_eq!(done["status"], "interrupted", "{done}");
    // Once the other holder is done, a sync completes the job, storing every row once.
    app.store
        .release_lease(&lease, "thief")
        .await
        .expect("release");
    bank.handle.set_faults(Faults::default());
    let (s, ok) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    let ok = if s == StatusCode::ACCEPTED {
        until_finished(&app, &token, ok["sync_id"].as_i64().expect("id")).await
    } else {
        ok
    };
    assert_eq!(ok["status"], "ok", "{ok}");
    assert_eq!(stored(&app, &token).await, truth(&bank, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_is_refreshed_once_and_the_sync_goes_on() {
    let bank = start_sandbox(30).await;
    let app = app_with_bank(&bank).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    let uid = user_id(&app, &token).await;
    let before = app.store.bank_link(uid).await.expect("q").expect("link");
    // The bank says the token expired although the stored expiry is 90 days away.
    bank.handle.set_faults(Faults {
        expired_token_next: 1,
        ..Faults::default()
    });
    let (s, outcome) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["status"], "ok");
    let after = app.store.bank_link(uid).await.expect("q").expect("link");
    assert_eq!(after.status, "active");
    assert_ne!(
        after.access_token_enc, before.access_token_enc,
        "new tokens stored"
    );
    assert_ne!(
        after.refresh_token_enc, before.refresh_token_enc,
        "the rotated refresh token"
    );
    assert_eq!(stored(&app, &token).await, truth(&bank, 0));
    // The refreshed tokens work, and the refresh token stored is the live one.
    let (s, again) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{again}");
    assert_eq!(again["added"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_near_its_expiry_is_refreshed_before_the_sync_and_a_revoked_one_needs_a_relink() {
    let bank = start_sandbox(30).await;
    let app = app_with_bank(&bank).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    let uid = user_id(&app, &token).await;
    let (s, _) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let rows = stored(&app, &token).await;
    // The stored access token expires within the hour.
    let link = app.store.bank_link(uid).await.expect("q").expect("link");
    let soon = chrono::Utc::now() + chrono::Duration::hours(1);
    assert!(
        app.store
            .update_bank_tokens(
                link.id,
                ginkgo_store::NewBankLink {
                    user_id: uid,
                    user_seq_no: link.user_seq_no.clone(),
                    access_token_enc: link.access_token_enc.clone(),
                    refresh_token_enc: link.refresh_token_enc.clone(),
                    scope: link.scope.clone(),
                    access_expires_at: soon,
                    now: chrono::Utc::now(),
                },
            )
            .await
            .expect("update")
    );
    let (s, outcome) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{outcome}");
    let refreshed = app.store.bank_link(uid).await.expect("q").expect("link");
    assert!(
        refreshed.access_expires_at > chrono::Utc::now() + chrono::Duration::days(80),
        "refreshed before it expired"
    );
    assert_ne!(refreshed.access_token_enc, link.access_token_enc);

    // The customer withdraws consent at the center: every token of theirs is revoked.
    let seq = bank.handle.users()[0].user_seq_no.clone();
    assert!(bank.handle.revoke_tokens(&seq).expect("revoke") > 0);
    let (s, body) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "relink_needed");
    let (_, accounts) = app.get("/api/v1/bank/accounts", &token).await;
    assert!(
        accounts
            .as_array()
            .expect("a")
            .iter()
            .all(|a| a["link_status"] == "relink_needed")
    );
    let (_, syncs) = app.get("/api/v1/bank/syncs", &token).await;
    assert_eq!(syncs[0]["status"], "relink_needed");
    assert_eq!(
        stored(&app, &token).await,
        rows,
        "nothing stored twice, nothing lost"
    );
    // Linking again (a new consent) brings it back.
    let callback = consent(&app, &bank, &token, 0).await;
    assert_eq!(follow_callback(&app, &callback).await, "/bank?linked=1");
    let (s, back) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{back}");
    assert_eq!(back["added"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_bank_times_out_as_unavailable_and_duplicate_ids_are_retried() {
    let bank = start_sandbox(30).await;
    let app = app_with_bank_tweaked(&bank, |c| c.bank.request_timeout_seconds = 1).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    bank.handle.set_faults(Faults {
        delay_ms: 1_500,
        ..Faults::default()
    });
    let (s, body) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"]["code"], "bank_unavailable");
    let (_, syncs) = app.get("/api/v1/bank/syncs", &token).await;
    assert_eq!(syncs[0]["status"], "failed");
    assert!(stored(&app, &token).await.is_empty());
    // The center rejects bank_tran_ids as duplicates a few times: new ids, same result.
    bank.handle.set_faults(Faults {
        duplicate_tran_id_next: 3,
        ..Faults::default()
    });
    let (s, ok) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{ok}");
    assert_eq!(ok["status"], "ok");
    assert_eq!(
        bank.handle.faults().duplicate_tran_id_next,
        0,
        "the fault fired"
    );
    assert_eq!(stored(&app, &token).await, truth(&bank, 0));
}

fn row(date: &str, time: &str, inout: &str, memo: &str, amount: i64) -> TransactionRow {
    TransactionRow {
        tran_date: date.into(),
        tran_time: time.into(),
        inout_type: inout.into(),
        print_content: memo.into(),
        tran_amt: amount.to_string(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_sync_reads_only_the_overlap_stores_exactly_the_new_rows_and_files_them_by_rule() {
    let bank = start_sandbox(60).await;
    let app = app_with_bank(&bank).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    let (s, first) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    // A rule made now must file rows that arrive later.
    let (s, rule) = app
        .post(
            "/api/v1/rules",
            Some(&token),
            json!({"kind": "contains", "pattern": "성수 신규매장", "category": "shopping"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{rule}");
    let rule_id = rule["rule"]["id"].as_i64().expect("id");
    // The bank gets new transactions today.
    let fin = bank.handle.users()[0].accounts[0].fintech_use_num.clone();
    let today = ginkgo_domain::time::today_kst();
    let d = today.format("%Y%m%d").to_string();
    let added = bank
        .handle
        .append_rows(
            &fin,
            &[
                row(&d, "235959", "출금", "성수 신규매장 오픈", 12_000),
                row(&d, "235959", "입금", "토스 이체", 30_000),
            ],
        )
        .expect("append");
    assert_eq!(added.len(), 2);
    // A `기타` row whose balance went up (interest) and one whose balance went down (a fee).
    let now_balance = bank.handle.balance(&fin).expect("balance").get();
    bank.handle
        .append_rows(
            &fin,
            &[TransactionRow {
                after_balance_amt: (now_balance + 1_234).to_string(),
                ..row(&d, "235959", "기타", "예금이자", 1_234)
            }],
        )
        .expect("append");
    bank.handle
        .append_rows(
            &fin,
            &[TransactionRow {
                after_balance_amt: (now_balance + 1_234 - 500).to_string(),
                ..row(&d, "235959", "기타", "수수료", 500)
            }],
        )
        .expect("append");
    let synced_through = {
        let uid = user_id(&app, &token).await;
        app.store.bank_accounts(uid).await.expect("accounts")[0]
            .synced_through
            .expect("synced")
    };
    let asked_before = bank.handle.list_queries().len();
    let (s, second) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{second}");
    assert_eq!(second["added"], 4, "exactly the new rows: {second}");
    let queries = &bank.handle.list_queries()[asked_before..];
    assert!(!queries.is_empty());
    let overlap = chrono::Duration::days(3);
    assert!(
        queries
            .iter()
            .all(|q| q.from_date == synced_through - overlap && q.to_date == today),
        "only from the last synced date minus the overlap: {queries:?}"
    );
    let pages = queries.iter().filter(|q| q.fintech_use_num == fin).count();
    let window_rows = bank
        .handle
        .transactions(&fin)
        .expect("rows")
        .iter()
        .filter(|t| t.date >= synced_through - overlap)
        .count();
    assert_eq!(
        pages,
        window_rows.div_ceil(25).max(1),
        "the overlap's pages, no more"
    );
    assert_eq!(stored(&app, &token).await, truth(&bank, 0));
    // The new rows: the rule filed the shop; `기타` took the sign of the balance change.
    let (_, accounts) = app.get("/api/v1/bank/accounts", &token).await;
    let main = accounts
        .as_array()
        .expect("a")
        .iter()
        .find(|a| {
            a["account_num_masked"]
                == bank.handle.users()[0].accounts[0]
                    .account_num_masked
                    .as_str()
        })
        .expect("main")["id"]
        .as_i64()
        .expect("id");
    let rows = all_transactions(&app, &token, main).await;
    let by_memo = |m: &str| rows.iter().find(|t| t["memo"] == m).cloned().expect(m);
    let shop = by_memo("성수 신규매장 오픈");
    assert_eq!(shop["category"], "shopping");
    assert_eq!(shop["category_source"], "rule");
    assert_eq!(shop["rule_id"], rule_id);
    assert_eq!(by_memo("예금이자")["direction"], "in");
    assert_eq!(by_memo("수수료")["direction"], "out");
    let (_, third) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(third["added"], 0, "and again nothing twice");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unlinking_over_http_stops_a_running_sync_from_bringing_the_link_back() {
    let bank = start_sandbox(30).await;
    let app = app_with_bank_tweaked(&bank, |c| c.bank.sync_wait_seconds = 0).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    let uid = user_id(&app, &token).await;
    // The bank answers slowly and says the token expired: the sync will refresh it after the
    // customer unlinked.
    bank.handle.set_faults(Faults {
        delay_ms: 1_000,
        expired_token_next: 1,
        ..Faults::default()
    });
    let (s, accepted) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED, "{accepted}");
    let r = app
        .http
        .delete(app.url("/api/v1/bank/link"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("unlink");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let done = until_finished(&app, &token, accepted["sync_id"].as_i64().expect("id")).await;
    assert_ne!(done["status"], "ok", "{done}");
    assert!(
        app.store.bank_link(uid).await.expect("q").is_none(),
        "not re-created"
    );
    let (_, accounts) = app.get("/api/v1/bank/accounts", &token).await;
    assert_eq!(accounts.as_array().map(Vec::len), Some(0), "{accounts}");
    let (s, _) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let r = app
        .http
        .delete(app.url("/api/v1/bank/link"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("unlink");
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_identity_waiting_for_a_relink_cannot_be_linked_by_another_login() {
    let bank = start_sandbox(30).await;
    let app = app_with_bank(&bank).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    bank.handle.set_faults(Faults {
        expired_token_next: 100,
        ..Faults::default()
    });
    let (s, _) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::CONFLICT);
    bank.handle.set_faults(Faults::default());
    let uid = user_id(&app, &token).await;
    assert_eq!(
        app.store
            .bank_link(uid)
            .await
            .expect("q")
            .expect("link")
            .status,
        "relink_needed"
    );
    app.create_user("d@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let other = app.token("d@test.kr").await;
    let callback = consent(&app, &bank, &other, 0).await;
    assert_eq!(
        follow_callback(&app, &callback).await,
        "/bank?error=bank_user_linked_elsewhere"
    );
    let (_, theirs) = app.get("/api/v1/bank/accounts", &other).await;
    assert_eq!(theirs.as_array().map(Vec::len), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_the_center_forgets_its_registrations_the_history_stays_and_the_sync_warns() {
    let bank = start_sandbox(30).await;
    let app = app_with_bank(&bank).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    let (s, _) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let rows = stored(&app, &token).await;
    let spending_since = format!(
        "/api/v1/insight/spending?from={}",
        ginkgo_domain::time::today_kst() - chrono::Duration::days(365)
    );
    let (_, spending_before) = app.get(&spending_since, &token).await;
    bank.handle.simulate_restart();
    let (s, outcome) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["status"], "warning", "{outcome}");
    assert!(
        outcome["accounts"]
            .as_array()
            .expect("a")
            .iter()
            .all(|a| a["status"] == "disconnected")
    );
    let (_, accounts) = app.get("/api/v1/bank/accounts", &token).await;
    let accounts = accounts.as_array().expect("a").clone();
    assert_eq!(
        accounts.len(),
        bank.handle.users()[0].accounts.len(),
        "still shown"
    );
    assert!(accounts.iter().all(|a| a["sync_status"] == "disconnected"));
    assert_eq!(
        stored(&app, &token).await,
        rows,
        "the history stays readable"
    );
    let (_, spending_after) = app.get(&spending_since, &token).await;
    assert_eq!(spending_after, spending_before, "and counted in insight");
    let (_, syncs) = app.get("/api/v1/bank/syncs", &token).await;
    assert_eq!(syncs[0]["status"], "warning");
    assert!(
        syncs[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("link again"))
    );
    // Linking again resumes them.
    let callback = consent(&app, &bank, &token, 0).await;
    assert_eq!(follow_callback(&app, &callback).await, "/bank?linked=1");
    let (_, again) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(again["status"], "ok", "{again}");
    assert_eq!(again["added"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_schedule_syncs_on_the_replica_holding_its_lease_only() {
    let bank = start_sandbox(30).await;
    let app = app_with_bank(&bank).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    let mut config = ginkgo_server::Config {
        database_url: "sqlite://unused".into(),
        ..ginkgo_server::Config::default()
    };
    config.auth.jwt_secret = ginkgo_server::config::Secret::new(JWT_SECRET);
    configure_bank(&mut config, &bank.base, &app.base);
    let replica = ginkgo_server::AppState::try_new(app.store.clone(), config).expect("state");
    let every = Duration::from_secs(60);
    // Another replica holds the schedule's lease: this one syncs nothing.
    assert!(
        app.store
            .try_lease(
                "bank-sync-schedule",
                "replica-other",
                chrono::Utc::now(),
                chrono::Utc::now() + chrono::Duration::seconds(60)
            )
            .await
            .expect("lease")
    );
    assert_eq!(
        ginkgo_server::bank::scheduled_round(&replica, "replica-me", every).await,
        None
    );
    let (_, syncs) = app.get("/api/v1/bank/syncs", &token).await;
    assert_eq!(syncs.as_array().map(Vec::len), Some(0));
    app.store
        .release_lease("bank-sync-schedule", "replica-other")
        .await
        .expect("release");
    assert_eq!(
        ginkgo_server::bank::scheduled_round(&replica, "replica-me", every).await,
        Some(1)
    );
    let (_, syncs) = app.get("/api/v1/bank/syncs", &token).await;
    assert_eq!(syncs[0]["status"], "ok", "{syncs}");
    assert_eq!(stored(&app, &token).await, truth(&bank, 0));
    // The lease is this replica's for the interval: the other one now stands aside.
    assert!(
        !app.store
            .try_lease(
                "bank-sync-schedule",
                "replica-other",
                chrono::Utc::now(),
                chrono::Utc::now() + chrono::Duration::seconds(60)
            )
            .await
            .expect("lease")
    );
}

async fn put(app: &TestApp, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    let r = app
        .http
        .put(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .expect("send");
    let s = r.status();
    (s, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_re_filed_rule_moves_first_preview_says_what_saving_does_and_rules_edit_and_reorder() {
    let bank = start_sandbox(120).await;
    let app = app_with_bank(&bank).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    let (s, _) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::OK);
    let rule = |kind: &str, pattern: &str, category: &str| json!({"kind": kind, "pattern": pattern, "category": category});
    // Two rules that both match "스타벅스 강남R점": the newer one (스타벅스 → food) wins.
    let (s, older) = app
        .post(
            "/api/v1/rules",
            Some(&token),
            rule("contains", "강남", "shopping"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{older}");
    let (s, newer) = app
        .post(
            "/api/v1/rules",
            Some(&token),
            rule("contains", "스타벅스", "food"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{newer}");
    // Saving "강남" again, with a near-duplicate spelling, re-files under transport: it moves
    // first, so the 스타벅스 강남R점 rows change too — and the preview says so beforehand.
    let again = rule("contains", "  강남 ", "transport");
    let (_, preview) = app
        .post("/api/v1/rules/preview", Some(&token), again.clone())
        .await;
    let (s, saved) = app.post("/api/v1/rules", Some(&token), again).await;
    assert_eq!(s, StatusCode::CREATED, "{saved}");
    assert_eq!(
        saved["rule"]["id"], older["rule"]["id"],
        "updated, not duplicated"
    );
    assert_eq!(saved["rule"]["position"], 0);
    assert_eq!(preview["changes"], saved["changed"], "{preview} vs {saved}");
    assert!(saved["changed"].as_u64().expect("n") > 0);
    let (_, rules) = app.get("/api/v1/rules", &token).await;
    let rules = rules.as_array().expect("rules").clone();
    assert_eq!(rules.len(), 2);
    assert_eq!(rules[0]["id"], older["rule"]["id"]);
    assert_eq!(rules[1]["id"], newer["rule"]["id"]);
    let rows = stored_rows(&app, &token).await;
    let gangnam: Vec<&Value> = rows
        .iter()
        .filter(|t| t["memo"].as_str().is_some_and(|m| m.contains("강남")))
        .collect();
    assert!(!gangnam.is_empty());
    assert!(
        gangnam
            .iter()
            .all(|t| t["category"] == "transport" && t["rule_id"] == older["rule"]["id"])
    );

    // Reorder: 스타벅스 first again; 스타벅스 강남R점 goes back to food at once.
    let ids = json!({"ids": [newer["rule"]["id"], older["rule"]["id"]]});
    let (s, reordered) = app.post("/api/v1/rules/reorder", Some(&token), ids).await;
    assert_eq!(s, StatusCode::OK, "{reordered}");
    assert_eq!(reordered[0]["id"], newer["rule"]["id"]);
    let rows = stored_rows(&app, &token).await;
    assert!(
        rows.iter()
            .filter(|t| t["memo"]
                .as_str()
                .is_some_and(|m| m.contains("스타벅스 강남")))
            .all(|t| t["category"] == "food")
    );
    // Edit: 스타벅스 → cafe; what it filed follows, what it never matched does not change.
    let id = newer["rule"]["id"].as_i64().expect("id");
    let (s, edited) = put(
        &app,
        &format!("/api/v1/rules/{id}"),
        &token,
        rule("contains", "스타벅스", "cafe"),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{edited}");
    assert_eq!(edited["rule"]["category"], "cafe");
    let rows = stored_rows(&app, &token).await;
    assert!(
        rows.iter()
            .filter(|t| t["memo"].as_str().is_some_and(|m| m.contains("스타벅스")))
            .all(|t| t["category"] == "cafe" && t["rule_id"] == id)
    );
    // Another login's rule ids are not found; a reorder must list each rule once.
    app.create_user("d@test.kr", ginkgo_store::Role::Customer, None)
        .await;
    let other = app.token("d@test.kr").await;
    let (s, _) = put(
        &app,
        &format!("/api/v1/rules/{id}"),
        &other,
        rule("contains", "x", "cafe"),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = app
        .post("/api/v1/rules/reorder", Some(&token), json!({"ids": [id]}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn stored_rows(app: &TestApp, token: &str) -> Vec<Value> {
    let (_, accounts) = app.get("/api/v1/bank/accounts", token).await;
    let mut out = Vec::new();
    for a in accounts.as_array().expect("accounts") {
        out.extend(all_transactions(app, token, a["id"].as_i64().expect("id")).await);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configured_recurring_threshold_is_the_one_the_server_uses() {
    // Two servers, each with its own bank holding the same generated data (one institution code
    // may not share a day's bank_tran_ids between two deployments).
    let (bank_a, bank_b) = (start_sandbox(400).await, start_sandbox(400).await);
    let strict = app_with_bank_tweaked(&bank_a, |c| c.insight.recurring_max_std_days = 0.2).await;
    let loose = app_with_bank(&bank_b).await;
    let mut found = Vec::new();
    for (app, bank, email) in [
        (&strict, &bank_a, "s@test.kr"),
        (&loose, &bank_b, "l@test.kr"),
    ] {
        app.create_user(email, ginkgo_store::Role::Customer, None)
            .await;
        let token = app.token(email).await;
        let callback = consent(app, bank, &token, 0).await;
        assert_eq!(follow_callback(app, &callback).await, "/bank?linked=1");
        let (s, outcome) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(outcome["status"], "ok", "{outcome}");
        let (_, recurring) = app.get("/api/v1/insight/recurring", &token).await;
        found.push(recurring.as_array().expect("list").clone());
    }
    let has = |list: &[Value], memo: &str| list.iter().any(|r| r["memo"] == memo);
    // 관리비 is paid around the 10th (10th–12th): regular, but not within 0.2 days.
    assert!(has(&found[1], "아파트관리비"), "{:?}", found[1]);
    assert!(!has(&found[0], "아파트관리비"), "{:?}", found[0]);
    // Exactly scheduled series pass both.
    for list in &found {
        assert!(
            list.iter()
                .any(|r| r["memo"].as_str().is_some_and(|m| m.ends_with("급여")))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graceful_shutdown_finishes_the_requests_in_flight() {
    let bank = start_sandbox(60).await;
    let mut app = app_with_bank(&bank).await;
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    // Every bank answer takes a while: the sync request is still in flight at shutdown.
    bank.handle.set_faults(Faults {
        delay_ms: 150,
        ..Faults::default()
    });
    let (http, url, t) = (
        app.http.clone(),
        app.url("/api/v1/bank/sync"),
        token.clone(),
    );
    let in_flight = tokio::spawn(async move {
        let r = http
            .post(url)
            .bearer_auth(&t)
            .json(&json!({}))
            .send()
            .await
            .expect("the request in flight is answered");
        let status = r.status();
        (status, r.json::<Value>().await.expect("json"))
    });
    // Shut down once the sync is observably under way.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, list) = app.get("/api/v1/bank/syncs", &token).await;
        if list[0]["status"] == "running" {
            break;
        }
        assert!(Instant::now() < deadline, "the sync never started: {list}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    app.begin_shutdown();
    let (status, outcome) = in_flight.await.expect("task");
    assert_eq!(status, StatusCode::OK, "{outcome}");
    assert_eq!(outcome["status"], "ok", "{outcome}");
    app.stopped().await;
    // Gone afterwards: a new request finds no server.
    assert!(
        app.http.get(app.url("/healthz")).send().await.is_err(),
        "the server stopped listening"
    );
}
