//! `ginkgo demo` as a newcomer runs it: it starts the whole product, prints where it runs and
//! the logins, and every half answers — investment data with history, the web app, the bank
//! sandbox to link through.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::*;

struct Demo {
    child: Child,
    printed: Vec<String>,
}

impl Drop for Demo {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Demo {
    /// Starts the demo on free ports and reads what it prints up to "Press Ctrl-C to stop."
    fn start(dir: &std::path::Path) -> Demo {
        let mut child = ginkgo()
            .args([
                "demo",
                "--listen",
                "127.0.0.1:0",
                "--sandbox-listen",
                "127.0.0.1:0",
                "--days",
                "3",
                "--accounts",
                "12",
                "--dir",
            ])
            .arg(dir)
            .env_remove("GINKGO_DATABASE_URL")
            .env_remove("GINKGO_CONFIG")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ginkgo demo");
        // From here on, dropping `demo` (also on a panic) kills and reaps the process.
        let stdout = child.stdout.take().expect("stdout");
        let mut demo = Demo {
            child,
            printed: Vec::new(),
        };
        for line in BufReader::new(stdout).lines() {
            let line = line.expect("line");
            let done = line.starts_with("Press Ctrl-C");
            demo.printed.push(line);
            if done {
                return demo;
            }
        }
        panic!(
            "ginkgo demo stopped before it was ready:\n{}",
            demo.printed.join("\n")
        );
    }

    fn url_after(&self, prefix: &str) -> String {
        let line = self
            .printed
            .iter()
            .find_map(|l| l.trim_start().strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no '{prefix}' line in:\n{}", self.printed.join("\n")));
        line.split_whitespace()
            .next()
            .expect("a URL")
            .trim_end_matches('/')
            .to_string()
    }
}

#[tokio::test]
async fn the_demo_runs_the_whole_product_from_one_command() {
    let dir = temp("demo").join("demo");
    let demo = Demo::start(&dir);
    let base = demo.url_after("Ginkgo demo is running:");
    let sandbox = demo.url_after("Bank sandbox:");
    let text = demo.printed.join("\n");
    assert!(text.contains("customer1@ginkgo.demo"), "{text}");
    assert!(text.contains("operator@ginkgo.demo"), "{text}");
    assert!(text.contains("ginkgo-demo-2026"), "{text}");

    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // The web app, Korean first.
    let page = http.get(format!("{base}/")).send().await.expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("lang=\"ko\""), "{html}");

    // A printed login sees its investment accounts and three days of history.
    let login: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "customer1@ginkgo.demo", "password": "ginkgo-demo-2026"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let token = login["access_token"]
        .as_str()
        .expect("a session")
        .to_string();
    let accounts: Value = http
        .get(format!("{base}/api/v1/accounts"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("accounts")
        .json()
        .await
        .expect("json");
    let accounts = accounts.as_array().expect("list");
    assert!(!accounts.is_empty(), "the demo customer has accounts");
    assert!(
        accounts
            .iter()
            .all(|a| a["total_assets"].as_i64().unwrap_or(0) > 0)
    );
    let history: Value = http
        .get(format!("{base}/api/v1/history"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("history")
        .json()
        .await
        .expect("json");
    assert_eq!(history.as_array().map(Vec::len), Some(3), "{history}");

    // Linking a bank starts at the sandbox's consent page, which answers.
    let link = http
        .get(format!("{base}/api/v1/bank/link"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("link");
    assert!(link.status().is_redirection(), "{}", link.status());
    let consent = link
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("a redirect")
        .to_string();
    assert!(
        consent.starts_with(&format!("{sandbox}/oauth/2.0/authorize")),
        "{consent}"
    );
    let page = http.get(&consent).send().await.expect("consent page");
    assert_eq!(page.status(), StatusCode::OK);

    // The operator sees the three committed days.
    let operator: Value = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": "operator@ginkgo.demo", "password": "ginkgo-demo-2026"}))
        .send()
        .await
        .expect("login")
        .json()
        .await
        .expect("json");
    let runs: Value = http
        .get(format!("{base}/api/v1/batch/runs"))
        .bearer_auth(operator["access_token"].as_str().expect("token"))
        .send()
        .await
        .expect("runs")
        .json()
        .await
        .expect("json");
    let committed = runs
        .as_array()
        .expect("list")
        .iter()
        .filter(|r| r["status"] == "committed")
        .count();
    assert_eq!(committed, 3, "{runs}");
}

#[test]
fn the_demo_refuses_to_empty_a_folder_it_did_not_make() {
    let dir = temp("not-a-demo");
    std::fs::write(dir.join("thesis.txt"), "precious").expect("write");
    let out = ginkgo()
        .args([
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--sandbox-listen",
            "127.0.0.1:0",
            "--dir",
        ])
        .arg(&dir)
        .env_remove("GINKGO_DATABASE_URL")
        .output()
        .expect("run");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("was not made by `ginkgo demo`"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(dir.join("thesis.txt")).expect("still there"),
        "precious"
    );
}

#[tokio::test]
async fn a_second_demo_never_empties_the_folder_of_a_running_one() {
    let dir = temp("demo-twice").join("demo");
    let demo = Demo::start(&dir);
    let base = demo.url_after("Ginkgo demo is running:");
    let port = base.rsplit(':').next().expect("port").to_string();
    let db = dir.join("ginkgo.db");
    let size = std::fs::metadata(&db)
        .expect("the running demo's database")
        .len();
    // The same folder on other ports: the lock refuses it. The same port on another folder:
    // the port refuses it, before that folder is touched.
    let other = temp("demo-twice-other").join("demo");
    std::fs::create_dir_all(&other).expect("mkdir");
    std::fs::write(other.join(".ginkgo-demo"), "made by `ginkgo demo`\n").expect("marker");
    std::fs::write(other.join("keep.txt"), "data").expect("write");
    for (folder, listen, why) in [
        (
            &dir,
            "127.0.0.1:0".to_string(),
            "another `ginkgo demo` is running",
        ),
        (&other, format!("127.0.0.1:{port}"), "cannot listen on"),
    ] {
        let out = ginkgo()
            .args([
                "demo",
                "--listen",
                &listen,
                "--sandbox-listen",
                "127.0.0.1:0",
                "--days",
                "1",
                "--dir",
            ])
            .arg(folder)
            .env_remove("GINKGO_DATABASE_URL")
            .env_remove("GINKGO_CONFIG")
            .output()
            .expect("run");
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(why), "{err}");
    }
    assert!(std::fs::metadata(&db).expect("still there").len() >= size);
    assert!(
        other.join("keep.txt").is_file(),
        "the other folder was not emptied"
    );
    let health = reqwest::get(format!("{base}/healthz"))
        .await
        .expect("healthz");
    assert_eq!(
        health.status(),
        StatusCode::OK,
        "the first demo still serves"
    );
}
