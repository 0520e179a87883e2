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
