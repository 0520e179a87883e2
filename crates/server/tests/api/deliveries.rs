//! Provider deliveries that go wrong: a rejected row shows yesterday's value, marked; an
//! implausible delivery is held until an operator releases it.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const HOLDINGS: &str = "account_asset_info_set.csv";

/// Copies the day in `from` to `to`, passing each holdings data line through `edit` (`None`
/// drops it).
fn copy_day(from: &std::path::Path, to: &std::path::Path, edit: impl Fn(&str) -> Option<String>) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        if name == HOLDINGS {
            let text = std::fs::read_to_string(&path).expect("read");
            let mut lines = text.lines();
            let mut out = format!("{}\n", lines.next().expect("header"));
            for line in lines {
                if let Some(l) = edit(line) {
                    out.push_str(&l);
                    out.push('\n');
                }
            }
            std::fs::write(to.join(&name), out).expect("write");
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

fn field(line: &str, i: usize) -> String {
    line.split(',')
        .nth(i)
        .unwrap_or("")
        .trim_matches('"')
        .to_string()
}

fn generated_day(app: &TestApp, label: &str) -> std::path::PathBuf {
    let dir = app.dir.join(label);
    ginkgo_batch::generate::generate(
        &dir,
        &ginkgo_batch::generate::GenerateOptions {
            accounts: 12,
            seed: 5,
            date: day(2026, 11, 20),
            quote_all: false,
            ..Default::default()
        },
    )
    .expect("generate");
    dir
}

#[tokio::test]
async fn a_rejected_row_shows_the_last_known_value_marked_partial() {
    let app = TestApp::spawn().await;
    let first = generated_day(&app, "d1");
    app.load_dir(&first, day(2026, 11, 20)).await;
    let text = std::fs::read_to_string(first.join(HOLDINGS)).expect("read");
    // The first non-cash line with a quantity: its price becomes `12a45` the next day.
    let target = text
        .lines()
        .skip(1)
        .find(|l| field(l, 4) != "CASH" && field(l, 6) != "0")
        .expect("a holding")
        .to_string();
    let (number, isin) = (field(&target, 2), field(&target, 4));
    let customer = field(&target, 0);
    let second = app.dir.join("d2");
    copy_day(&first, &second, |l| {
        Some(if l == target {
            let mut f: Vec<&str> = l.split(',').collect();
            f[5] = "12a45";
            f.join(",")
        } else {
            l.to_string()
        })
    });
    app.load_dir(&second, day(2026, 11, 21)).await;
    app.create_user("c@test.kr", ginkgo_store::Role::Customer, Some(&customer))
        .await;
    app.create_user("op@test.kr", ginkgo_store::Role::Operator, None)
        .await;
    let c = app.token("c@test.kr").await;
    let op = app.token("op@test.kr").await;

    let (s, accounts) = app.get("/api/v1/accounts", &c).await;
    assert_eq!(s, StatusCode::OK);
    let account = accounts
        .as_array()
        .expect("list")
        .iter()
        .find(|a| a["account_number"] == number.as_str())
        .expect("the account")
        .clone();
    assert_eq!(
        account["partial"],
        json!({"rows": 1, "since": "2026-11-20"})
    );
    let id = account["id"].as_i64().expect("id");
    let (_, lines) = app
        .get(&format!("/api/v1/accounts/{id}/holdings"), &c)
        .await;
    let lines = lines.as_array().expect("lines").clone();
    let line = lines
        .iter()
        .find(|l| l["isin"] == isin.as_str())
        .expect("carried line");
    assert_eq!(line["stale_since"], "2026-11-20");
    assert_eq!(line["price"].as_i64(), field(&target, 5).parse().ok());
    let sum: i64 = lines.iter().filter_map(|l| l["valuation"].as_i64()).sum();
    assert_eq!(Some(sum), account["total_assets"].as_i64());
    // The allocation includes the carried line and says so; another account's is current.
    let (_, allocation) = app
        .get(&format!("/api/v1/accounts/{id}/allocation"), &c)
        .await;
    assert_eq!(allocation["stale_since"], "2026-11-20", "{allocation}");
    assert_eq!(allocation["total"], account["total_assets"]);
    let (_, all) = app.get("/api/v1/allocation", &c).await;
    assert_eq!(all["stale_since"], "2026-11-20", "{all}");
    let (_, history) = app.get(&format!("/api/v1/accounts/{id}/history"), &c).await;
    let history = history.as_array().expect("history").clone();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["partial"], Value::Null);
    assert_eq!(history[1]["partial"]["rows"], 1);
    let (_, total) = app.get("/api/v1/history", &c).await;
    assert_eq!(total[1]["partial"]["since"], "2026-11-20");

    // The operator: the reject names the account and instrument; the stale list has it.
    let (_, runs) = app.get("/api/v1/batch/runs", &op).await;
    let run = runs[0]["id"].as_i64().expect("run");
    let (_, findings) = app
        .get(&format!("/api/v1/batch/runs/{run}/findings"), &op)
        .await;
    assert_eq!(findings["rejects"][0]["account_number"], number.as_str());
    assert_eq!(findings["rejects"][0]["isin"], isin.as_str());
    let (s, stale) = app.get("/api/v1/batch/stale-accounts", &op).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(stale.as_array().map(Vec::len), Some(1), "{stale}");
    assert_eq!(stale[0]["account_number"], number.as_str());
    assert_eq!(stale[0]["stale_lines"][0]["isin"], isin.as_str());
    assert_eq!(stale[0]["stale_lines"][0]["since"], "2026-11-20");
    let (s, _) = app.get("/api/v1/batch/stale-accounts", &c).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_header_only_delivery_is_held_until_an_operator_releases_it() {
    let app = TestApp::spawn().await;
    let first = generated_day(&app, "d1");
    app.load_dir(&first, day(2026, 11, 20)).await;
    let second = app.dir.join("d2");
    copy_day(&first, &second, |_| None);
    let before = app
        .store
        .accounts(ginkgo_store::Scope::Operator)
        .await
        .expect("accounts");
    let held =
        ginkgo_server::jobs::load_day(app.store.clone(), &second, Some(day(2026, 11, 21)), None)
            .await
            .expect("held is not a failure");
    assert_eq!(held.status, ginkgo_store::RunStatus::Held);
    assert_eq!(
        app.store
            .accounts(ginkgo_store::Scope::Operator)
            .await
            .expect("accounts"),
        before,
        "nothing changed"
    );
    app.create_user("op@test.kr", ginkgo_store::Role::Operator, None)
        .await;
    let op = app.token("op@test.kr").await;
    let (_, run) = app
        .get(&format!("/api/v1/batch/runs/{}", held.id), &op)
        .await;
    assert_eq!(run["status"], "held");
    assert_eq!(run["accounts_loaded"], 0);
    assert_eq!(
        run["previous"]["accounts"].as_u64(),
        Some(before.len() as u64)
    );
    assert!(
        run["error"]
            .as_str()
            .is_some_and(|e| e.contains("accounts"))
    );
    // A customer may not release.
    app.create_user(
        "c@test.kr",
        ginkgo_store::Role::Customer,
        Some(&before[0].customer_name),
    )
    .await;
    let c = app.token("c@test.kr").await;
    let (s, _) = app
        .post(
            &format!("/api/v1/batch/runs/{}/release", held.id),
            Some(&c),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, released) = app
        .post(
            &format!("/api/v1/batch/runs/{}/release", held.id),
            Some(&op),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{released}");
    assert_eq!(released["done"], true);
    assert_eq!(released["run"]["status"], "committed");
    assert_eq!(released["run"]["releases"].as_i64(), Some(held.id));
    assert!(
        app.store
            .accounts(ginkgo_store::Scope::Operator)
            .await
            .expect("accounts")
            .is_empty(),
        "the released (empty) delivery is current"
    );
    let (s, body) = app
        .post(
            &format!("/api/v1/batch/runs/{}/release", held.id),
            Some(&op),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["request_id"].is_string());
}

/// The demo's provider history (its generator settings: 50 accounts, 30 days, 0.5 % broken
/// rows) shows no one-day drop of more than 10 % in any account: rejected rows no longer
/// become losses.
#[tokio::test]
async fn the_demo_history_has_no_cliffs_from_rejected_rows() {
    let app = TestApp::spawn().await;
    let opts = ginkgo_batch::generate::GenerateOptions {
        accounts: 50,
        date: day(2026, 11, 1),
        error_rate: 0.005,
        seed: 2026,
        quote_all: true,
        ..Default::default()
    };
    let inbox = app.dir.join("inbox");
    let manifests = ginkgo_batch::generate::generate_days(&inbox, &opts, 30).expect("generate");
    let mut rejected = 0;
    for m in manifests {
        let run = app.load_dir(&m.dir, m.date).await;
        assert_eq!(run.status, ginkgo_store::RunStatus::Committed);
        rejected += run.counts.rows_rejected;
    }
    assert!(rejected > 0, "the demo's files have broken rows");
    let mut cliffs = Vec::new();
    let mut partial_days = 0;
    for a in app
        .store
        .accounts(ginkgo_store::Scope::Operator)
        .await
        .expect("accounts")
    {
        let h = app
            .store
            .history(ginkgo_store::Scope::Operator, Some(a.id), None, None)
            .await
            .expect("history");
        partial_days += h.iter().filter(|p| p.partial.is_some()).count();
        for w in h.windows(2) {
            let (before, after) = (w[0].total_assets.get(), w[1].total_assets.get());
            if before > 0 && (before - after) * 10 > before {
                cliffs.push((a.account_name.clone(), w[1].date, before, after));
            }
        }
    }
    assert!(partial_days > 0, "the days with rejected rows are marked");
    assert!(cliffs.is_empty(), "one-day drops over 10 %: {cliffs:?}");
}

#[tokio::test]
async fn the_schedule_waits_on_a_held_day_until_its_files_change() {
    use ginkgo_server::jobs::{Due, run_if_due};
    let app = TestApp::spawn().await;
    let first = generated_day(&app, "d1");
    app.load_dir(&first, day(2026, 11, 22)).await;
    let inbox = app.dir.join("inbox");
    let today = day(2026, 11, 23);
    let folder = ginkgo_batch::inbox_dir(&inbox, today);
    copy_day(&first, &folder, |_| None);
    let at = chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("time");
    let later = today.and_hms_opt(9, 1, 0).expect("t");
    let held = match run_if_due(app.store.clone(), &inbox, at, later, "a").await {
        Due::Ran(Ok(run)) => run,
        other => panic!("expected a run, got {other:?}"),
    };
    assert_eq!(held.status, ginkgo_store::RunStatus::Held);
    // The same files: not loaded (or recorded) again.
    assert!(matches!(
        run_if_due(app.store.clone(), &inbox, at, later, "a").await,
        Due::Held(id) if id == held.id
    ));
    assert_eq!(app.store.runs(10).await.expect("runs").len(), 2);
    // A corrected delivery arrives in the folder: it loads.
    std::fs::remove_dir_all(&folder).expect("rm");
    copy_day(&first, &folder, |l| Some(l.to_string()));
    match run_if_due(app.store.clone(), &inbox, at, later, "a").await {
        Due::Ran(Ok(run)) => assert_eq!(run.status, ginkgo_store::RunStatus::Committed),
        other => panic!("expected the corrected delivery to load, got {other:?}"),
    }
}
