//! Operator commands, and a load killed with SIGKILL at arbitrary points, then rerun.

use std::process::Stdio;
use std::time::Duration;

use crate::support::{generate, ginkgo, run_ok, state, temp};

#[test]
fn an_operator_loads_a_day_lists_runs_and_exports_rejects() {
    let dir = temp("ops");
    let day = dir.join("day");
    generate(&day, 40, 3, 0.05);
    let db = format!("sqlite://{}/g.db", dir.display());
    let out = run_ok(
        ginkgo()
            .args([
                "--database-url",
                &db,
                "batch",
                "load",
                "--date",
                "2026-11-20",
            ])
            .arg(&day),
    );
    assert!(out.contains("committed for 2026-11-20"), "{out}");
    let runs = run_ok(ginkgo().args(["--database-url", &db, "batch", "runs"]));
    assert!(runs.contains("committed"), "{runs}");
    let csv = run_ok(ginkgo().args(["--database-url", &db, "batch", "rejects", "1"]));
    assert!(
        csv.starts_with("\u{feff}file,line,account_number,isin,column,value,reason\r\n"),
        "UTF-8 with a BOM, for Korean Excel: {csv}"
    );
    assert!(csv.lines().count() > 1, "5% broken rows are listed: {csv}");
    // A day that cannot be read fails with a clear message and exit code 1.
    std::fs::remove_file(day.join("account_asset_info_set.csv")).expect("remove");
    let out = ginkgo()
        .args([
            "--database-url",
            &db,
            "batch",
            "load",
            "--date",
            "2026-11-21",
        ])
        .arg(&day)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("account_asset_info_set"));
    let out = run_ok(ginkgo().args([
        "--database-url",
        &db,
        "user",
        "create",
        "--email",
        "op@ginkgo.kr",
        "--role",
        "operator",
    ]));
    assert!(
        out.contains("password: "),
        "a generated password is printed once: {out}"
    );
    assert!(
        run_ok(ginkgo().args(["--database-url", &db, "user", "list"])).contains("op@ginkgo.kr")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_load_killed_at_any_point_leaves_the_previous_day_and_a_rerun_finishes_it() {
    let dir = temp("kill");
    let small = dir.join("small");
    let big = dir.join("big");
    generate(&small, 20, 1, 0.0);
    generate(&big, 20_000, 2, 0.0);
    let db = format!("sqlite://{}/g.db", dir.display());
    run_ok(
        ginkgo()
            .args([
                "--database-url",
                &db,
                "batch",
                "load",
                "--date",
                "2026-11-19",
            ])
            .arg(&small),
    );
    let before = state(&db).await;
    assert_eq!(before.0, 20);

    let mut outcomes = Vec::new();
    for delay_ms in [150u64, 600, 1500] {
        let mut child = ginkgo()
            .args([
                "--database-url",
                &db,
                "batch",
                "load",
                "--date",
                "2026-11-20",
            ])
            .arg(&big)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().expect("wait").is_some();
        // Child::kill sends SIGKILL on Unix.
        let _ = child.kill();
        let _ = child.wait();
        let now = state(&db).await;
        if finished || now.2 > before.2 {
            // The kill came after the commit: the new day is whole.
            assert_eq!(now.0, 20_000, "a committed load is complete");
            assert_eq!(now.2, before.2 + 1, "committed exactly once");
            outcomes.push("after");
            break;
        }
        assert_eq!(
            now, before,
            "killed after {delay_ms} ms: the previous day must be intact"
        );
        outcomes.push("before");
    }
    // The rerun finishes the job (or repeats a finished one), once.
    let before_rerun = state(&db).await;
    run_ok(
        ginkgo()
            .args([
                "--database-url",
                &db,
                "batch",
                "load",
                "--date",
                "2026-11-20",
            ])
            .arg(&big),
    );
    let after = state(&db).await;
    assert_eq!(
        after.0, 20_000,
        "every account of the new day, no duplicates"
    );
    assert_eq!(
        after.2,
        before_rerun.2 + 1,
        "one more committed run ({outcomes:?})"
    );
    run_ok(
        ginkgo()
            .args([
                "--database-url",
                &db,
                "batch",
                "load",
                "--date",
                "2026-11-20",
            ])
            .arg(&big),
    );
    let again = state(&db).await;
    assert_eq!(
        (again.0, again.1),
        (after.0, after.1),
        "loading the same day twice changes nothing"
    );
}

/// Whether run `id` has been released, as the database holds it.
async fn released(db: &str, id: i64) -> bool {
    let store = ginkgo_store_sqlite::SqliteStore::connect(db)
        .await
        .expect("open");
    use ginkgo_store::InvestmentStore;
    store.run(id).await.expect("run").released_by.is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_killed_at_any_point_leaves_before_or_after_and_a_rerun_finishes_it() {
    let dir = temp("release-kill");
    let first = dir.join("first");
    let shrunk = dir.join("shrunk");
    generate(&first, 20_000, 1, 0.0);
    generate(&shrunk, 15_000, 2, 0.0);
    let db = format!("sqlite://{}/g.db", dir.display());
    let load = |day: &std::path::Path, date: &str| {
        let mut c = ginkgo();
        c.args(["--database-url", &db, "batch", "load", "--date", date])
            .arg(day)
            .env("GINKGO_BATCH_HOLD_BELOW_PERCENT", "90");
        c
    };
    run_ok(&mut load(&first, "2026-11-19"));
    let before = state(&db).await;
    assert_eq!(before.0, 20_000);
    // 15,000 accounts after 20,000 is below 90 %: held, exit code 3, nothing changed.
    let out = load(&shrunk, "2026-11-20").output().expect("run");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("HELD"), "{text}");
    assert!(text.contains("ginkgo batch release 2"), "{text}");
    assert_eq!(state(&db).await, before);
    let held = 2;

    let mut outcomes = Vec::new();
    for delay_ms in [150u64, 500, 1200] {
        let mut child = ginkgo()
            .args(["--database-url", &db, "batch", "release", &held.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let finished = child.try_wait().expect("wait").is_some();
        // Child::kill sends SIGKILL on Unix.
        let _ = child.kill();
        let _ = child.wait();
        let now = state(&db).await;
        if finished || now.2 > before.2 {
            assert_eq!(now.0, 15_000, "a committed release is complete");
            assert_eq!(now.2, before.2 + 1, "committed exactly once");
            assert!(released(&db, held).await, "and the held run says so");
            outcomes.push("after");
            break;
        }
        assert_eq!(
            now, before,
            "killed after {delay_ms} ms: the previous day must be intact"
        );
        assert!(!released(&db, held).await, "still held");
        outcomes.push("before");
    }
    eprintln!("release kills: {outcomes:?}");
    if outcomes.last() != Some(&"after") {
        let out = run_ok(ginkgo().args(["--database-url", &db, "batch", "release", "2"]));
        assert!(out.contains("released held run 2"), "{out}");
    }
    let after = state(&db).await;
    assert_eq!(after.0, 15_000, "{outcomes:?}");
    assert_eq!(
        after.2,
        before.2 + 1,
        "one release committed ({outcomes:?})"
    );
    assert!(released(&db, held).await);
    // A second release is refused and changes nothing.
    let out = ginkgo()
        .args(["--database-url", &db, "batch", "release", "2"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("already released"));
    assert_eq!(state(&db).await, after);
}
