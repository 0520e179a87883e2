//! Faults injected into a real `ginkgo serve` process: SIGKILL in the middle of deposit
//! confirmations and of a bank sync, and the PostgreSQL server going away and coming back.
//! (A batch load killed mid-way is in `batch.rs`.)

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ginkgo_domain::rng::SplitMix64;
use ginkgo_store::{DepositStatus, Scope, Store};
use serde_json::{Value, json};
use sha2::{Digest, Sha512};

use crate::support::{
    Customer, Server, TcpProxy, bank_env, customer_login, fresh_postgres_schema, generate, ginkgo,
    link_bank, login, run_ok, temp, with_schema,
};

fn signature(c: &Customer, amount: i64) -> String {
    hex::encode(Sha512::digest(
        format!("{}{}{amount}", c.account_number, c.holder).as_bytes(),
    ))
}

/// (total assets, principal) of the customer's account, from the database.
async fn figures(store: &Arc<dyn Store>, c: &Customer) -> (i64, i64) {
    let a = store
        .account(Scope::Operator, c.account_id)
        .await
        .expect("account");
    (a.total_assets.get(), a.principal.map_or(0, |p| p.get()))
}

/// Σ amounts of the confirmed deposits among `ids`, as the database holds them.
async fn confirmed_sum(store: &Arc<dyn Store>, ids: &HashMap<String, i64>) -> (i64, usize) {
    let deposits = store
        .deposits(Scope::Operator, 10_000)
        .await
        .expect("deposits");
    let confirmed: Vec<_> = deposits
        .iter()
        .filter(|d| d.status == DepositStatus::Confirmed && ids.contains_key(&d.identifier))
        .collect();
    for d in &confirmed {
        assert_eq!(
            Some(&d.amount.get()),
            ids.get(&d.identifier),
            "a deposit's amount is the phase-1 amount"
        );
    }
    (
        confirmed.iter().map(|d| d.amount.get()).sum(),
        confirmed.len(),
    )
}

async fn deposits_survive_sigkill(database_url: String) {
    let dir = temp("deposit-kill");
    let day = dir.join("day");
    generate(&day, 40, 5, 0.0);
    run_ok(
        ginkgo()
            .args([
                "--database-url",
                &database_url,
                "batch",
                "load",
                "--date",
                "2026-11-20",
            ])
            .arg(&day),
    );
    let store = ginkgo_server::open_store(&database_url)
        .await
        .expect("store");
    let c = customer_login(&store, "kill@ginkgo.test").await;
    let start = figures(&store, &c).await;
    let mut server = Server::start(&database_url, &dir, &[]).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");
    let mut rng = SplitMix64::new(20_261_122);
    let mut all: HashMap<String, i64> = HashMap::new();
    let (mut applied_before_kill, mut applied_by_retry) = (0usize, 0usize);
    for round in 0..4i64 {
        let token = login(&http, &server.base, &c.email).await;
        let mut round_ids = Vec::new();
        for i in 0..20 {
            let amount = 1_000 * (round * 20 + i + 1) + round;
            let r = http
                .post(format!("{}/api/v1/deposits", server.base))
                .bearer_auth(&token)
                .json(&json!({"account_number": c.account_number, "user_name": c.holder, "transfer_amount": amount}))
                .send()
                .await
                .expect("phase 1");
            assert_eq!(r.status(), 201, "phase 1");
            let body: Value = r.json().await.expect("json");
            let id = body["transfer_identifier"]
                .as_str()
                .expect("id")
                .to_string();
            round_ids.push((id.clone(), amount));
            all.insert(id, amount);
        }
        // Every confirmation twice at once; the process dies somewhere in the middle.
        let mut tasks = Vec::new();
        for (id, amount) in &round_ids {
            for copy in 0..2 {
                let req = if copy == 0 {
                    http.post(format!("{}/api/v1/deposits/{id}/confirm", server.base))
                        .json(&json!({"signature": signature(&c, *amount)}))
                } else {
                    http.post(format!("{}/api/transfers", server.base)).json(
                        &json!({"signature": signature(&c, *amount), "transfer_identifier": id}),
                    )
                };
                tasks.push(tokio::spawn(req.bearer_auth(&token).send()));
            }
        }
        // Later each round, so that some kills land before any commit and some after.
        tokio::time::sleep(Duration::from_millis(rng.below(20 + 80 * round as u64))).await;
        server.kill9();
        for t in tasks {
            let _ = t.await;
        }
        // Before or after, never in between: the figures grew by exactly the deposits that
        // the database says are confirmed.
        let (sum, n) = confirmed_sum(&store, &all).await;
        let now = figures(&store, &c).await;
        assert_eq!(
            (now.0 - start.0, now.1 - start.1),
            (sum, sum),
            "round {round}: after the kill, total assets and principal grew by the confirmed deposits"
        );
        applied_before_kill += n.saturating_sub(all.len() - round_ids.len());

        // The retry completes every one of them, once.
        server.restart().await;
        let token = login(&http, &server.base, &c.email).await;
        for (id, amount) in &round_ids {
            let r = http
                .post(format!("{}/api/v1/deposits/{id}/confirm", server.base))
                .bearer_auth(&token)
                .json(&json!({"signature": signature(&c, *amount)}))
                .send()
                .await
                .expect("retry");
            let status = r.status().as_u16();
            let body: Value = r.json().await.unwrap_or(Value::Null);
            match status {
                200 => applied_by_retry += 1,
                409 => assert_eq!(body["error"]["code"], "already_completed", "{body}"),
                other => panic!("the retry answered {other} {body}"),
            }
        }
        let (sum, n) = confirmed_sum(&store, &all).await;
        assert_eq!(n, all.len(), "every deposit is confirmed after the retries");
        assert_eq!(sum, all.values().sum::<i64>());
        let now = figures(&store, &c).await;
        assert_eq!(
            (now.0 - start.0, now.1 - start.1),
            (sum, sum),
            "round {round}: each deposit applied exactly once"
        );
    }
    println!(
        "{} deposits, 4 kills: {applied_before_kill} applied before a kill, {applied_by_retry} by the retry",
        all.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_confirmed_while_the_server_is_killed_apply_exactly_once_on_sqlite() {
    let dir = temp("deposit-kill-db");
    deposits_survive_sigkill(format!("sqlite://{}/g.db", dir.display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deposits_confirmed_while_the_server_is_killed_apply_exactly_once_on_postgres() {
    let Some((url, schema)) = fresh_postgres_schema().await else {
        return;
    };
    deposits_survive_sigkill(with_schema(&url, &schema)).await;
}

type RowKey = (chrono::NaiveDate, String, i64, i64, String);

/// Every stored row of the login, by bank account's fintech number.
async fn stored_rows(
    store: &Arc<dyn Store>,
    user_id: i64,
) -> HashMap<String, (Vec<RowKey>, Option<chrono::NaiveDate>)> {
    let accounts = store.bank_accounts(user_id).await.expect("accounts");
    let txns = store
        .all_bank_transactions(user_id, None, None)
        .await
        .expect("txns");
    accounts
        .iter()
        .map(|a| {
            let mut rows: Vec<RowKey> = txns
                .iter()
                .filter(|t| t.account_id == a.id)
                .map(|t| {
                    (
                        t.date,
                        t.time.clone(),
                        t.amount.get(),
                        t.balance_after.get(),
                        t.memo.clone(),
                    )
                })
                .collect();
            rows.sort();
            (a.fintech_use_num.clone(), (rows, a.synced_through))
        })
        .collect()
}

/// Whether every element of `part` (sorted) is in `whole` (sorted), counting repeats.
fn is_sub_multiset(part: &[RowKey], whole: &[RowKey]) -> bool {
    let mut it = whole.iter();
    part.iter().all(|p| it.by_ref().any(|w| w == p))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bank_sync_killed_mid_way_leaves_whole_rows_and_a_retry_completes_it() {
    let dir = temp("sync-kill");
    let sandbox = ginkgo_sandbox::Sandbox::new(ginkgo_sandbox::SandboxConfig {
        users: 1,
        large_account_rows: 30_000,
        ..Default::default()
    })
    .expect("sandbox");
    let handle = sandbox.handle();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let sandbox_url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { sandbox.serve(listener, std::future::pending()).await });
    let database_url = format!("sqlite://{}/g.db", dir.display());
    let store = ginkgo_server::open_store(&database_url)
        .await
        .expect("store");
    let user = store
        .create_user(ginkgo_store::NewUser {
            email: "bank@ginkgo.test".into(),
            password_hash: ginkgo_server::auth::hash_password(crate::support::PASSWORD)
                .expect("hash"),
            role: ginkgo_store::Role::Customer,
            customer_id: None,
        })
        .await
        .expect("user");
    // The extra user with one large account: its sync takes long enough to be killed mid-way.
    let test_user = handle.users().last().expect("users").clone();
    let fins: Vec<&str> = test_user
        .accounts
        .iter()
        .map(|a| a.fintech_use_num.as_str())
        .collect();
    link_bank(&store, &handle, user.id, &test_user.user_seq_no, &fins).await;
    let expected: HashMap<String, Vec<RowKey>> = fins
        .iter()
        .map(|fin| {
            let mut rows: Vec<RowKey> = handle
                .transactions(fin)
                .expect("rows")
                .into_iter()
                .map(|t| {
                    (
                        t.date,
                        t.time.format("%H%M%S").to_string(),
                        t.amount.get(),
                        t.after_balance.get(),
                        t.memo,
                    )
                })
                .collect();
            rows.sort();
            (fin.to_string(), rows)
        })
        .collect();
    let total: usize = expected.values().map(Vec::len).sum();

    let mut env = bank_env(&handle, &sandbox_url);
    env.push(("GINKGO_BANK_SYNC_LEASE_SECONDS", "3".into()));
    let mut server = Server::start(&database_url, &dir, &env).await;
    let http = reqwest::Client::new();
    let mut rng = SplitMix64::new(7);
    let mut partial_kills = 0;
    let mut stored_at_kill = Vec::new();
    for round in 0..4 {
        let token = login(&http, &server.base, "bank@ginkgo.test").await;
        let request = http
            .post(format!("{}/api/v1/bank/sync", server.base))
            .bearer_auth(&token)
            .send();
        let sync = tokio::spawn(request);
        tokio::time::sleep(Duration::from_millis(150 + rng.below(1_500))).await;
        server.kill9();
        let _ = sync.await;
        let stored = stored_rows(&store, user.id).await;
        let mut complete = true;
        for (fin, (rows, synced_through)) in &stored {
            let want = &expected[fin];
            assert!(
                is_sub_multiset(rows, want),
                "round {round}: every stored row is a whole bank row, stored once"
            );
            if rows.len() < want.len() {
                complete = false;
                assert!(
                    synced_through.is_none(),
                    "round {round}: an account whose rows are incomplete is not marked synced"
                );
            }
        }
        if !complete {
            partial_kills += 1;
        }
        stored_at_kill.push(stored.values().map(|(rows, _)| rows.len()).sum::<usize>());
        server.restart().await;
    }
    // The retry, once the dead process's lease has run out.
    let token = login(&http, &server.base, "bank@ginkgo.test").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let outcome = loop {
        let r = http
            .post(format!("{}/api/v1/bank/sync", server.base))
            .bearer_auth(&token)
            .send()
            .await
            .expect("sync");
        let status = r.status().as_u16();
        let body: Value = r.json().await.expect("json");
        if status == 409 && body["error"]["code"] == "sync_running" && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        }
        assert_eq!(status, 200, "{body}");
        break body;
    };
    assert_eq!(outcome["status"], "ok", "{outcome}");
    let stored = stored_rows(&store, user.id).await;
    for (fin, (rows, synced_through)) in &stored {
        assert_eq!(rows, &expected[fin], "every bank row exactly once");
        assert!(synced_through.is_some());
    }
    println!(
        "{total} bank rows; {partial_kills} of 4 kills landed mid-sync (rows stored at each kill: {stored_at_kill:?}); the retry completed all"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_going_away_answers_503_and_the_server_recovers_without_a_restart() {
    let Some((url, schema)) = fresh_postgres_schema().await else {
        return;
    };
    let pg: tokio_postgres::Config = url.parse().expect("url");
    let host = match pg.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_string(),
    };
    let port = pg.get_ports().first().copied().unwrap_or(5432);
    let proxy = TcpProxy::start(&format!("{host}:{port}")).await;
    let direct = with_schema(&url, &schema);
    let proxied = with_schema(
        &format!(
            "postgres://{}@127.0.0.1:{}/{}",
            pg.get_user().unwrap_or("postgres"),
            proxy.port,
            pg.get_dbname().unwrap_or("postgres")
        ),
        &schema,
    );
    let dir = temp("pg-away");
    let day = dir.join("day");
    generate(&day, 20, 9, 0.0);
    run_ok(
        ginkgo()
            .args([
                "--database-url",
                &direct,
                "batch",
                "load",
                "--date",
                "2026-11-20",
            ])
            .arg(&day),
    );
    let store = ginkgo_server::open_store(&direct).await.expect("store");
    let c = customer_login(&store, "away@ginkgo.test").await;
    let mut server = Server::start(&proxied, &dir, &[]).await;
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(40))
        .build()
        .expect("client");
    let token = login(&http, &server.base, &c.email).await;
    let accounts = format!("{}/api/v1/accounts", server.base);
    let r = http
        .get(&accounts)
        .bearer_auth(&token)
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 200);

    proxy.cut().await;
    let requests = [
        ("GET /api/v1/accounts", http.get(&accounts).bearer_auth(&token)),
        ("GET /healthz", http.get(format!("{}/healthz", server.base))),
        ("GET /readyz", http.get(format!("{}/readyz", server.base))),
        (
            "POST /api/v1/deposits",
            http.post(format!("{}/api/v1/deposits", server.base))
                .bearer_auth(&token)
                .json(&json!({"account_number": c.account_number, "user_name": c.holder, "transfer_amount": 1000})),
        ),
        (
            "POST /api/v1/auth/login",
            http.post(format!("{}/api/v1/auth/login", server.base))
                .json(&json!({"email": c.email, "password": crate::support::PASSWORD})),
        ),
    ];
    for (what, req) in requests {
        let t = Instant::now();
        let r = req.send().await.expect("an answer, not a hang");
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 503, "{what} with the database away: {body}");
        assert!(
            body["error"]["code"].is_string() && body["error"]["message"].is_string(),
            "{what}: the error body: {body}"
        );
        println!(
            "{what}: 503 {} in {} ms",
            body["error"]["code"],
            t.elapsed().as_millis()
        );
    }
    assert!(server.is_running(), "the server stays up");
    let r = http
        .get(format!("{}/livez", server.base))
        .send()
        .await
        .expect("livez");
    assert_eq!(
        r.status(),
        200,
        "alive with the database away: no restart wanted"
    );

    proxy.restore().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = http
            .get(&accounts)
            .bearer_auth(&token)
            .send()
            .await
            .expect("get");
        if r.status() == 200 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not recover within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let r = http
        .get(format!("{}/readyz", server.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), 200, "ready again once the database is back");
    // Writes work again, through the same process.
    let r = http
        .post(format!("{}/api/v1/deposits", server.base))
        .bearer_auth(&token)
        .json(&json!({"account_number": c.account_number, "user_name": c.holder, "transfer_amount": 1000}))
        .send()
        .await
        .expect("deposit");
    assert_eq!(r.status(), 201);
    let body: Value = r.json().await.expect("json");
    let id = body["transfer_identifier"].as_str().expect("id");
    let r = http
        .post(format!("{}/api/v1/deposits/{id}/confirm", server.base))
        .bearer_auth(&token)
        .json(&json!({"signature": signature(&c, 1000)}))
        .send()
        .await
        .expect("confirm");
    assert_eq!(r.status(), 200);
    assert!(server.is_running());
}
