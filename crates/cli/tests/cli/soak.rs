//! The quick soak: the same `ginkgo soak` as the long run, for a few seconds, on each backend.

use crate::support::{fresh_postgres_schema, ginkgo, temp, with_schema};

fn soak(database_url: Option<String>) {
    let dir = temp("soak");
    let mut cmd = ginkgo();
    if let Some(url) = &database_url {
        cmd.args(["--database-url", url]);
    }
    let out = cmd
        .args([
            "soak",
            "--duration",
            "12",
            "--workers",
            "6",
            "--logins",
            "3",
            "--accounts",
            "1000",
            "--dir",
        ])
        .arg(dir.join("run"))
        .output()
        .expect("run ginkgo soak");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "All invariants held.",
        "0 answered 5xx",
        "by a separate process: committed",
        "each stored exactly once",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
    println!("{stdout}");
}

#[test]
fn a_short_soak_holds_every_invariant_on_sqlite() {
    soak(None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_soak_holds_every_invariant_on_postgres() {
    let Some((url, schema)) = fresh_postgres_schema().await else {
        return;
    };
    let url = with_schema(&url, &schema);
    tokio::task::spawn_blocking(move || soak(Some(url)))
        .await
        .expect("soak");
}
