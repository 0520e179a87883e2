use reqwest::StatusCode;

use crate::helpers::*;

#[tokio::test]
async fn operators_read_runs_findings_and_rejects_as_csv() {
    let app = TestApp::spawn().await;
    app.load_generated(40, day(2026, 11, 20), 1, 0.05).await;
    app.create_user("op@test.kr", ginkgo_store::Role::Operator, None)
        .await;
    let op = app.token("op@test.kr").await;
    let (s, runs) = app.get("/api/v1/batch/runs", &op).await;
    assert_eq!(s, StatusCode::OK);
    let run = &runs.as_array().expect("runs")[0];
    assert_eq!(run["status"], "committed");
    let rejected = run["counts"]["rows_rejected"].as_u64().expect("count");
    assert!(rejected > 0, "5% broken rows: {run}");
    assert_eq!(run["files"].as_array().map(Vec::len), Some(3));
    assert_eq!(run["files"][0]["sha256"].as_str().map(str::len), Some(64));
    let id = run["id"].as_i64().expect("id");
    let (_, findings) = app
        .get(&format!("/api/v1/batch/runs/{id}/findings"), &op)
        .await;
    assert_eq!(
        findings["rejects"].as_array().map(|r| r.len() as u64),
        Some(rejected)
    );
    let r = app
        .http
        .get(app.url(&format!("/api/v1/batch/runs/{id}/rejects.csv")))
        .bearer_auth(&op)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/csv")
    );
    let csv = r.text().await.expect("text");
    assert_eq!(csv.lines().count() as u64, rejected + 1);
    assert!(csv.starts_with("\u{feff}file,line,account_number,isin,column,value,reason\r\n"));
    let (s, _) = app.get("/api/v1/batch/runs/999999", &op).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_day_with_a_missing_file_fails_without_touching_the_current_data() {
    let app = TestApp::spawn().await;
    app.load_generated(5, day(2026, 11, 20), 1, 0.0).await;
    let before = app
        .store
        .accounts(ginkgo_store::Scope::Operator)
        .await
        .expect("a");
    let dir = app.dir.join("broken");
    ginkgo_batch::generate::generate(
        &dir,
        &ginkgo_batch::generate::GenerateOptions {
            accounts: 5,
            seed: 99,
            ..Default::default()
        },
    )
    .expect("generate");
    std::fs::remove_file(dir.join("account_basic_info_set.csv")).expect("remove");
    let failed =
        ginkgo_server::jobs::load_day(app.store.clone(), &dir, Some(day(2026, 11, 21)), None)
            .await
            .expect_err("must fail");
    assert!(
        failed.error.to_string().contains("account_basic_info_set"),
        "{}",
        failed.error
    );
    let run = failed.run.expect("recorded");
    assert_eq!(run.status, ginkgo_store::RunStatus::Failed);
    assert_eq!(
        app.store
            .accounts(ginkgo_store::Scope::Operator)
            .await
            .expect("a"),
        before
    );
}

/// Accounts and every holding, as the database holds them after loading `dir`.
async fn database_state(
    dir: &std::path::Path,
) -> Vec<(ginkgo_store::AccountSummary, Vec<ginkgo_store::HoldingLine>)> {
    let app = TestApp::spawn().await;
    app.load_dir(dir, day(2026, 11, 20)).await;
    let mut out = Vec::new();
    for mut a in app
        .store
        .accounts(ginkgo_store::Scope::Operator)
        .await
        .expect("accounts")
    {
        let lines = app
            .store
            .holdings(ginkgo_store::Scope::Operator, a.id, true)
            .await
            .expect("holdings");
        a.id = 0;
        a.customer_id = 0;
        out.push((a, lines));
    }
    out
}

#[tokio::test]
async fn csv_utf8_csv_cp949_and_xlsx_give_identical_database_state() {
    use ginkgo_batch::generate::{GenerateOptions, generate};
    use ginkgo_batch::{Format, TextEncoding};
    let root = temp_dir("formats");
    let base = GenerateOptions {
        accounts: 60,
        seed: 77,
        error_rate: 0.05,
        ..Default::default()
    };
    let variants = [
        ("utf8", GenerateOptions { ..base.clone() }),
        (
            "cp949",
            GenerateOptions {
                encoding: TextEncoding::Cp949,
                quote_all: false,
                ..base.clone()
            },
        ),
        (
            "xlsx",
            GenerateOptions {
                format: Format::Xlsx,
                ..base.clone()
            },
        ),
    ];
    let mut states = Vec::new();
    for (name, opts) in variants {
        let dir = root.join(name);
        generate(&dir, &opts).expect("generate");
        states.push((name, database_state(&dir).await));
    }
    assert!(states[0].1.len() >= 55, "most accounts load");
    for (name, s) in &states[1..] {
        assert!(*s == states[0].1, "{name} differs from CSV UTF-8");
    }
}

#[tokio::test]
async fn the_daily_schedule_loads_todays_inbox_folder_once_after_its_time() {
    use ginkgo_server::jobs::{Due, run_if_due};
    let app = TestApp::spawn().await;
    let inbox = app.dir.join("inbox");
    let today = day(2026, 11, 23);
    let at = chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("time");
    let morning = today.and_hms_opt(8, 59, 0).expect("t");
    let later = today.and_hms_opt(9, 1, 0).expect("t");
    assert!(matches!(
        run_if_due(app.store.clone(), &inbox, at, morning, "a").await,
        Due::NotYet
    ));
    assert!(
        matches!(run_if_due(app.store.clone(), &inbox, at, later, "a").await, Due::Missing(d) if d == today)
    );
    ginkgo_batch::generate::generate(
        &ginkgo_batch::inbox_dir(&inbox, today),
        &ginkgo_batch::generate::GenerateOptions {
            accounts: 5,
            date: today,
            ..Default::default()
        },
    )
    .expect("generate");
    // Another replica holds the lease: this one does not run.
    let now = chrono::Utc::now();
    assert!(
        app.store
            .try_lease(
                "daily-snapshot",
                "b",
                now,
                now + chrono::Duration::minutes(5)
            )
            .await
            .expect("lease")
    );
    assert!(matches!(
        run_if_due(app.store.clone(), &inbox, at, later, "a").await,
        Due::Busy
    ));
    app.store
        .release_lease("daily-snapshot", "b")
        .await
        .expect("release");
    match run_if_due(app.store.clone(), &inbox, at, later, "a").await {
        Due::Ran(Ok(run)) => assert_eq!(run.business_date, today),
        other => panic!("expected a run, got {other:?}"),
    }
    assert!(matches!(
        run_if_due(app.store.clone(), &inbox, at, later, "b").await,
        Due::Done
    ));
    assert_eq!(
        app.store.runs(10).await.expect("runs").len(),
        1,
        "loaded exactly once"
    );
}

#[tokio::test]
async fn a_broken_delivery_is_recorded_once_and_retried_later_not_every_minute() {
    use ginkgo_server::jobs::{Due, run_if_due};
    let app = TestApp::spawn().await;
    let inbox = app.dir.join("inbox");
    let today = day(2026, 11, 24);
    let at = chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("time");
    let later = today.and_hms_opt(9, 1, 0).expect("t");
    let dir = ginkgo_batch::inbox_dir(&inbox, today);
    ginkgo_batch::generate::generate(
        &dir,
        &ginkgo_batch::generate::GenerateOptions {
            accounts: 5,
            date: today,
            ..Default::default()
        },
    )
    .expect("generate");
    std::fs::remove_file(dir.join("account_basic_info_set.csv")).expect("rm");
    match run_if_due(app.store.clone(), &inbox, at, later, "a").await {
        Due::Ran(Err(e)) => assert!(e.contains("account_basic_info_set"), "{e}"),
        other => panic!("expected a failed run, got {other:?}"),
    }
    for holder in ["a", "b"] {
        assert!(matches!(
            run_if_due(app.store.clone(), &inbox, at, later, holder).await,
            Due::RetryLater
        ));
    }
    let runs = app.store.runs(10).await.expect("runs");
    assert_eq!(runs.len(), 1, "one failed run recorded: {runs:?}");
    assert_eq!(runs[0].status, ginkgo_store::RunStatus::Failed);
    assert!(
        app.store
            .accounts(ginkgo_store::Scope::Operator)
            .await
            .expect("accounts")
            .is_empty()
    );
}

#[tokio::test]
async fn a_folder_without_a_date_is_recorded_as_a_failed_run() {
    let app = TestApp::spawn().await;
    let dir = app.dir.join("undated");
    ginkgo_batch::generate::generate(
        &dir,
        &ginkgo_batch::generate::GenerateOptions {
            accounts: 3,
            ..Default::default()
        },
    )
    .expect("generate");
    let failed = ginkgo_server::jobs::load_day(app.store.clone(), &dir, None, None)
        .await
        .expect_err("no date");
    assert!(
        failed.error.to_string().contains("no business date"),
        "{}",
        failed.error
    );
    let run = failed.run.expect("recorded");
    assert_eq!(run.status, ginkgo_store::RunStatus::Failed);
    assert_eq!(run.files.len(), 3, "the files it found are named");
    assert!(
        app.store
            .accounts(ginkgo_store::Scope::Operator)
            .await
            .expect("accounts")
            .is_empty()
    );
}
