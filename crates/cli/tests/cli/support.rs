//! Helpers: the `ginkgo` binary, its server as a child process that can be killed, logins and
//! bank links made directly in the database, a fresh PostgreSQL schema, and a TCP proxy that can
//! cut the way to the database.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ginkgo_store::{InvestmentStore, Scope, Store};
use serde_json::{Value, json};

pub const JWT_SECRET: &str = "Cs7Nq2Wx9Lb4Rt1Vk8Hm3Jd6Pz5Gf0Ua";
pub const TOKEN_KEY: &str = "Ct3Kw8Qz1Lm5Rx9Vb2Hn7Jd4Ps6Gf0Ye";
pub const PASSWORD: &str = "correct horse battery";

pub fn ginkgo() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ginkgo"));
    c.env("GINKGO_LOG", "warn");
    c
}

pub fn temp(label: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "ginkgo-cli-{label}-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&d).expect("dir");
    d
}

pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().expect("run ginkgo");
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

pub fn generate(dir: &Path, accounts: u64, seed: u64, errors: f64) {
    run_ok(
        ginkgo()
            .args([
                "generate",
                "provider",
                "--accounts",
                &accounts.to_string(),
                "--date",
                "2026-11-20",
                "--seed",
                &seed.to_string(),
                "--errors",
                &errors.to_string(),
            ])
            .arg(dir),
    );
}

/// (accounts, Σ total assets, committed runs) as the database holds them.
pub async fn state(db: &str) -> (usize, i64, usize) {
    let store = ginkgo_store_sqlite::SqliteStore::connect(db)
        .await
        .expect("open");
    let accounts = store.accounts(Scope::Operator).await.expect("accounts");
    let runs = store.runs(100).await.expect("runs");
    (
        accounts.len(),
        accounts.iter().map(|a| a.total_assets.get()).sum(),
        runs.iter()
            .filter(|r| r.status == ginkgo_store::RunStatus::Committed)
            .count(),
    )
}

/// The PostgreSQL URL for tests; under CI it must be set.
pub fn postgres_url() -> Option<String> {
    match std::env::var("GINKGO_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but GINKGO_TEST_POSTGRES_URL is not"
            );
            eprintln!("GINKGO_TEST_POSTGRES_URL is not set: this PostgreSQL test did not run");
            None
        }
    }
}

/// A fresh schema in the test database: (base URL, schema name).
pub async fn fresh_postgres_schema() -> Option<(String, String)> {
    let url = postgres_url()?;
    let schema = format!("t_{}", uuid::Uuid::new_v4().simple());
    let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("GINKGO_TEST_POSTGRES_URL is set but unreachable: {e:?}"));
    tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .await
        .expect("schema");
    Some((url, schema))
}

/// `url` with its search path set to `schema`.
pub fn with_schema(url: &str, schema: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-csearch_path%3D{schema}")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// `ginkgo serve` as a child process, restartable on the same port with the same settings.
pub struct Server {
    pub base: String,
    port: u16,
    env: Vec<(String, String)>,
    log: PathBuf,
    child: Option<Child>,
}

impl Server {
    pub async fn start(database_url: &str, dir: &Path, extra: &[(&str, String)]) -> Server {
        let port = free_port();
        let mut env = vec![
            ("GINKGO_DATABASE_URL".to_string(), database_url.to_string()),
            ("GINKGO_JWT_SECRET".to_string(), JWT_SECRET.to_string()),
            ("GINKGO_SECURE_COOKIES".to_string(), "false".to_string()),
            ("GINKGO_BATCH_ENABLED".to_string(), "false".to_string()),
            ("GINKGO_READ_CACHE_MS".to_string(), "0".to_string()),
            ("GINKGO_LOG".to_string(), "warn".to_string()),
        ];
        env.extend(extra.iter().map(|(k, v)| (k.to_string(), v.clone())));
        let mut server = Server {
            base: format!("http://127.0.0.1:{port}"),
            port,
            env,
            log: dir.join("server.log"),
            child: None,
        };
        server.restart().await;
        server
    }

    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "the server is still running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ginkgo"));
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .env_remove("GINKGO_CONFIG")
            .stdout(Stdio::null())
            .stderr(log);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("spawn ginkgo serve"));
        let http = reqwest::Client::new();
        for _ in 0..600 {
            if let Some(Some(status)) = self.child.as_mut().map(|c| c.try_wait().expect("wait")) {
                panic!(
                    "ginkgo serve exited ({status}):\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            if let Ok(r) = http.get(format!("{}/healthz", self.base)).send().await
                && r.status().is_success()
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("ginkgo serve did not become ready in 30 s");
    }

    /// SIGKILL: no shutdown, no flush, no cleanup.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn is_running(&mut self) -> bool {
        matches!(self.child.as_mut().map(|c| c.try_wait()), Some(Ok(None)))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Environment for a server that links banks at `sandbox_url`.
pub fn bank_env(
    sandbox: &ginkgo_sandbox::SandboxHandle,
    sandbox_url: &str,
) -> Vec<(&'static str, String)> {
    let c = sandbox.config();
    vec![
        ("GINKGO_BANK_BASE_URL", sandbox_url.to_string()),
        ("GINKGO_BANK_CLIENT_ID", c.client_id.clone()),
        ("GINKGO_BANK_CLIENT_SECRET", c.client_secret.clone()),
        (
            "GINKGO_BANK_REDIRECT_URI",
            "http://127.0.0.1:1/api/v1/bank/callback".to_string(),
        ),
        ("GINKGO_BANK_INSTITUTION_CODE", c.client_use_code.clone()),
        ("GINKGO_BANK_TOKEN_KEY", TOKEN_KEY.to_string()),
        ("GINKGO_BANK_SYNC_INTERVAL_MINUTES", "0".to_string()),
    ]
}

pub struct Customer {
    pub email: String,
    pub holder: String,
    pub account_id: i64,
    pub account_number: String,
}

/// A customer login for the first customer of the loaded day.
pub async fn customer_login(store: &Arc<dyn Store>, email: &str) -> Customer {
    let account = store
        .accounts(Scope::Operator)
        .await
        .expect("accounts")
        .into_iter()
        .min_by_key(|a| a.id)
        .expect("a loaded day");
    store
        .create_user(ginkgo_store::NewUser {
            email: email.to_string(),
            password_hash: ginkgo_server::auth::hash_password(PASSWORD).expect("hash"),
            role: ginkgo_store::Role::Customer,
            customer_id: Some(account.customer_id),
        })
        .await
        .expect("user");
    Customer {
        email: email.to_string(),
        holder: account.customer_name,
        account_id: account.id,
        account_number: account.account_number,
    }
}

/// Links `user_id` to a sandbox user as the OAuth callback would: registered accounts and an
/// encrypted token, with the server's token key.
pub async fn link_bank(
    store: &Arc<dyn Store>,
    sandbox: &ginkgo_sandbox::SandboxHandle,
    user_id: i64,
    user_seq_no: &str,
    fins: &[&str],
) {
    sandbox
        .register_accounts(user_seq_no, fins)
        .expect("register");
    let tokens = sandbox
        .issue_user_token(user_seq_no, &["inquiry", "login"])
        .expect("token");
    let cipher = ginkgo_server::crypto::TokenCipher::new(TOKEN_KEY);
    store
        .save_bank_link(ginkgo_store::NewBankLink {
            user_id,
            user_seq_no: user_seq_no.to_string(),
            access_token_enc: cipher.encrypt(tokens.access_token.as_deref().expect("token")),
            refresh_token_enc: None,
            scope: "inquiry login".into(),
            access_expires_at: chrono::Utc::now() + chrono::Duration::days(80),
            now: chrono::Utc::now(),
        })
        .await
        .expect("link");
}

pub async fn login(http: &reqwest::Client, base: &str, email: &str) -> String {
    let r = http
        .post(format!("{base}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200, "login");
    let body: Value = r.json().await.expect("json");
    body["access_token"].as_str().expect("token").to_string()
}

/// A TCP proxy in front of a server that a test can cut (live connections dropped, new ones
/// refused, as when the server is stopped) and restore on the same port.
pub struct TcpProxy {
    pub port: u16,
    target: String,
    inner: Arc<Mutex<ProxyInner>>,
}

#[derive(Default)]
struct ProxyInner {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl TcpProxy {
    pub async fn start(target: &str) -> TcpProxy {
        let proxy = TcpProxy {
            port: free_port(),
            target: target.to_string(),
            inner: Arc::new(Mutex::new(ProxyInner::default())),
        };
        proxy.restore().await;
        proxy
    }

    /// Accepts again on the same port.
    pub async fn restore(&self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("proxy bind");
        let target = self.target.clone();
        let inner = self.inner.clone();
        let acceptor = tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    continue;
                };
                let target = target.clone();
                let pipe = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                if let Ok(mut g) = inner.lock() {
                    g.tasks.push(pipe);
                }
            }
        });
        if let Ok(mut g) = self.inner.lock() {
            g.tasks.push(acceptor);
        }
    }

    /// Closes the listener and every live connection.
    pub async fn cut(&self) {
        let tasks = std::mem::take(&mut self.inner.lock().expect("proxy").tasks);
        for t in &tasks {
            t.abort();
        }
        for t in tasks {
            let _ = t.await;
        }
    }
}
