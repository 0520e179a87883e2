//! What an operator sees of a running `ginkgo serve`: its logs.

use serde_json::Value;

use crate::support::{Server, temp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_chosen_by_the_environment_and_carry_one_access_line_per_request() {
    let dir = temp("json-logs");
    let url = format!("sqlite://{}/g.db", dir.display());
    let server = Server::start(
        &url,
        &dir,
        &[
            ("GINKGO_LOG", "info".to_string()),
            ("GINKGO_LOG_FORMAT", "json".to_string()),
        ],
    )
    .await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!(
            "{}/api/v1/accounts/98765431/holdings?secret=abc",
            server.base
        ))
        .send()
        .await
        .expect("get");
    assert_eq!(r.status(), 401);
    let request_id = r.headers()["x-request-id"]
        .to_str()
        .expect("id")
        .to_string();
    drop(server);
    let text = std::fs::read_to_string(dir.join("server.log")).expect("log");
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access = lines
        .iter()
        .find(|l| l["span"]["request_id"] == request_id.as_str())
        .unwrap_or_else(|| panic!("no access line for {request_id} in:\n{text}"));
    assert_eq!(access["level"], "INFO", "{access}");
    assert_eq!(access["target"], "ginkgo_server::access", "{access}");
    assert_eq!(access["fields"]["status"], 401, "{access}");
    assert!(access["fields"]["latency_ms"].is_string(), "{access}");
    assert_eq!(
        access["span"]["route"], "/api/v1/accounts/{id}/holdings",
        "the route template, not the path: {access}"
    );
    assert!(
        !text.contains("98765431") && !text.contains("secret=abc"),
        "neither the raw path nor the query reaches the logs"
    );
}

#[test]
fn the_example_configuration_refuses_to_start_and_says_how_to_make_a_key() {
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ginkgo.example.toml");
    let dir = temp("example");
    let out = crate::support::ginkgo()
        .arg("--config")
        .arg(&example)
        .args([
            "--database-url",
            &format!("sqlite://{}/g.db", dir.display()),
        ])
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("GINKGO_JWT_SECRET")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "the example's key must not start a server: {stderr}"
    );
    assert!(stderr.contains("auth.jwt_secret"), "{stderr}");
    assert!(stderr.contains("ginkgo secret generate"), "{stderr}");
    assert!(
        !dir.join("g.db").exists(),
        "refused before the database is touched"
    );

    let generate = || {
        crate::support::run_ok(crate::support::ginkgo().args(["secret", "generate"]))
            .trim()
            .to_string()
    };
    let (a, b) = (generate(), generate());
    assert_ne!(a, b, "each key is new");
    assert_eq!(ginkgo_server::config::weak_secret(&a), None, "{a}");
    // A generated key, given in a file, is read; a 0600 file is not warned of.
    let key = dir.join("jwt.key");
    std::fs::write(&key, format!("{a}\n")).expect("key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
    let out = crate::support::ginkgo()
        .args([
            "--database-url",
            &format!("sqlite://{}/g.db", dir.display()),
        ])
        .args(["migrate"])
        .env("GINKGO_JWT_SECRET_FILE", &key)
        .output()
        .expect("run");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "a 0600 key file is not warned of"
    );
}

/// Backups while the server takes deposits: each copy is one consistent moment (every
/// confirmed deposit in it is in the account's figures, exactly once), and a restore puts it
/// in place after its checks, keeping the database it replaces.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_load_restores_to_a_consistent_database() {
    use ginkgo_store::{DepositStatus, Scope};
    use serde_json::json;
    use sha2::{Digest, Sha512};

    use crate::support::{customer_login, generate, ginkgo, login, run_ok};

    let dir = temp("backup");
    let db = dir.join("live/g.db");
    let url = format!("sqlite://{}", db.display());
    generate(&dir.join("day"), 30, 3, 0.0);
    run_ok(
        ginkgo()
            .args([
                "--database-url",
                &url,
                "batch",
                "load",
                "--date",
                "2026-11-20",
            ])
            .arg(dir.join("day")),
    );
    let store = ginkgo_server::open_store(&url).await.expect("store");
    let c = customer_login(&store, "backup@ginkgo.test").await;
    let start = store
        .account(Scope::Operator, c.account_id)
        .await
        .expect("account");
    let server = Server::start(&url, &dir, &[]).await;
    let http = reqwest::Client::new();
    let token = login(&http, &server.base, &c.email).await;

    let load = {
        let (http, base, token) = (http.clone(), server.base.clone(), token.clone());
        let (number, holder) = (c.account_number.clone(), c.holder.clone());
        tokio::spawn(async move {
            for i in 1..=200i64 {
                let amount = 1_000 * i;
                let r = http
                    .post(format!("{base}/api/v1/deposits"))
                    .bearer_auth(&token)
                    .json(&json!({"account_number": number, "user_name": holder, "transfer_amount": amount}))
                    .send()
                    .await
                    .expect("phase 1");
                assert_eq!(r.status(), 201);
                let body: Value = r.json().await.expect("json");
                let id = body["transfer_identifier"]
                    .as_str()
                    .expect("id")
                    .to_string();
                let signature = hex::encode(Sha512::digest(
                    format!("{number}{holder}{amount}").as_bytes(),
                ));
                let r = http
                    .post(format!("{base}/api/v1/deposits/{id}/confirm"))
                    .bearer_auth(&token)
                    .json(&json!({ "signature": signature }))
                    .send()
                    .await
                    .expect("confirm");
                assert_eq!(r.status(), 200);
            }
        })
    };
    // Copies while the deposits run (at least one, at most five).
    let mut copies = Vec::new();
    while copies.is_empty() || (!load.is_finished() && copies.len() < 5) {
        let n = copies.len();
        let dest = dir.join(format!("backups/{n}.db"));
        let out = ginkgo()
            .args(["--database-url", &url, "backup"])
            .arg(&dest)
            .output()
            .expect("backup");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&dest).expect("copy").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "a backup holds customer data");
        }
        copies.push(dest);
    }
    load.await.expect("the deposits ran");
    let again = ginkgo()
        .args(["--database-url", &url, "backup"])
        .arg(&copies[0])
        .output()
        .expect("backup");
    assert!(!again.status.success(), "a backup never overwrites a file");
    drop(server);

    // Each copy, restored, is consistent: the figures grew by exactly its confirmed deposits.
    let mut confirmed_counts = Vec::new();
    for (n, copy) in copies.iter().enumerate() {
        let restored = dir.join(format!("restored/{n}.db"));
        let restored_url = format!("sqlite://{}", restored.display());
        let refused = ginkgo()
            .args(["--database-url", &restored_url, "restore"])
            .arg(copy)
            .output()
            .expect("restore");
        assert!(
            !refused.status.success(),
            "a restore without --server-stopped"
        );
        run_ok(
            ginkgo()
                .args([
                    "--database-url",
                    &restored_url,
                    "restore",
                    "--server-stopped",
                ])
                .arg(copy),
        );
        let s = ginkgo_server::open_store(&restored_url)
            .await
            .expect("restored store");
        s.health().await.expect("the restored database is ready");
        let deposits = s.deposits(Scope::Operator, 10_000).await.expect("deposits");
        let confirmed: i64 = deposits
            .iter()
            .filter(|d| d.status == DepositStatus::Confirmed)
            .map(|d| d.amount.get())
            .sum();
        let a = s
            .account(Scope::Operator, c.account_id)
            .await
            .expect("account");
        assert_eq!(
            (
                a.total_assets.get() - start.total_assets.get(),
                a.principal.expect("a known principal").get()
                    - start.principal.expect("a known principal").get()
            ),
            (confirmed, confirmed),
            "copy {n}: the figures and the confirmed deposits agree"
        );
        confirmed_counts.push(
            deposits
                .iter()
                .filter(|d| d.status == DepositStatus::Confirmed)
                .count(),
        );
    }
    println!("confirmed deposits in the copies (of 200): {confirmed_counts:?}");

    // Restoring over a database keeps the one it replaces; a file that is no database is refused.
    let out = run_ok(
        ginkgo()
            .args(["--database-url", &url, "restore", "--server-stopped"])
            .arg(&copies[0]),
    );
    assert!(out.contains("kept as"), "{out}");
    let junk = dir.join("junk.db");
    std::fs::write(&junk, "not a database at all, just text").expect("junk");
    let refused = ginkgo()
        .args(["--database-url", &url, "restore", "--server-stopped"])
        .arg(&junk)
        .output()
        .expect("restore");
    assert!(!refused.status.success(), "junk restored");
    let s = ginkgo_server::open_store(&url).await.expect("store");
    s.health()
        .await
        .expect("the database is still sound after a refused restore");
}
