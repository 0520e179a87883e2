//! `TestApp`: the real server on 127.0.0.1:0 with a fresh database, driven over HTTP.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use ginkgo_server::config::Secret;
use ginkgo_server::{AppState, Config};
use ginkgo_store::{NewUser, Role, Scope, Store};
use reqwest::StatusCode;
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery";
pub const JWT_SECRET: &str = "Ts4Jq9Wn2Lx7Rb1Vm8Hk3Cd6Pz5Gf0Ye";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub store: Arc<dyn Store>,
    pub dir: PathBuf,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    serving: Option<tokio::task::JoinHandle<()>>,
}

pub fn temp_dir(label: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ginkgo-{label}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

pub fn postgres_url() -> Option<String> {
    match std::env::var("GINKGO_TEST_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but GINKGO_TEST_POSTGRES_URL is not"
            );
            None
        }
    }
}

/// A fresh schema in the test PostgreSQL database, as a URL.
pub async fn fresh_postgres() -> Option<String> {
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
    let sep = if url.contains('?') { '&' } else { '?' };
    Some(format!("{url}{sep}options=-csearch_path%3D{schema}"))
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        let dir = temp_dir("app");
        let url = format!("sqlite://{}/ginkgo.db", dir.display());
        Self::spawn_with(url, dir, |_, _| {}).await
    }

    pub async fn spawn_postgres() -> Option<TestApp> {
        let url = fresh_postgres().await?;
        Some(Self::spawn_with(url, temp_dir("app-pg"), |_, _| {}).await)
    }

    /// `tweak` gets the configuration and this server's base URL (`http://127.0.0.1:PORT`).
    pub async fn spawn_with(
        url: String,
        dir: PathBuf,
        tweak: impl FnOnce(&mut Config, &str),
    ) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let mut config = Config {
            database_url: url.clone(),
            ..Config::default()
        };
        config.auth.jwt_secret = Secret::new(JWT_SECRET);
        config.deposit.max_amount = 10_000_000;
        tweak(&mut config, &base);
        config.validate().expect("valid test config");
        let store = ginkgo_server::open_store(&url).await.expect("open store");
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let state = AppState::new(store.clone(), config);
        let serving = tokio::spawn(async move {
            ginkgo_server::serve(listener, state, async move {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            base,
            http,
            store,
            dir,
            shutdown: Some(tx),
            serving: Some(serving),
        }
    }

    /// Asks the server to shut down gracefully (what SIGTERM does to `ginkgo serve`).
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits until the serve loop has returned.
    pub async fn stopped(&mut self) {
        if let Some(serving) = self.serving.take() {
            serving.await.expect("the serve loop ends cleanly");
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .expect("send");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        let mut req = self.http.post(self.url(path)).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let r = req.send().await.expect("send");
        let status = r.status();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn login(&self, email: &str, password: &str) -> (StatusCode, Value) {
        self.post(
            "/api/v1/auth/login",
            None,
            json!({"email": email, "password": password}),
        )
        .await
    }

    pub async fn token(&self, email: &str) -> String {
        let (s, body) = self.login(email, PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "{body}");
        body["access_token"].as_str().expect("token").to_string()
    }

    /// Generates and loads `days` provider days (50 accounts) into this app's database.
    pub async fn load_generated(
        &self,
        accounts: u64,
        first: NaiveDate,
        days: u32,
        error_rate: f64,
    ) {
        let opts = ginkgo_batch::generate::GenerateOptions {
            accounts,
            date: first,
            error_rate,
            seed: 7,
            ..Default::default()
        };
        let inbox = self.dir.join("inbox");
        let manifests =
            ginkgo_batch::generate::generate_days(&inbox, &opts, days).expect("generate");
        for m in manifests {
            ginkgo_server::jobs::load_day(self.store.clone(), &m.dir, Some(m.date), None)
                .await
                .unwrap_or_else(|f| panic!("load failed: {}", f.error));
        }
    }

    pub async fn load_dir(&self, dir: &Path, date: NaiveDate) -> ginkgo_store::RunRecord {
        ginkgo_server::jobs::load_day(self.store.clone(), dir, Some(date), None)
            .await
            .unwrap_or_else(|f| panic!("load failed: {}", f.error))
    }

    pub async fn create_user(&self, email: &str, role: Role, customer: Option<&str>) {
        let customer_id = match customer {
            Some(name) => Some(
                self.store
                    .customer_by_name(name)
                    .await
                    .expect("q")
                    .expect("customer")
                    .id,
            ),
            None => None,
        };
        let hash = ginkgo_server::auth::hash_password(PASSWORD).expect("hash");
        self.store
            .create_user(NewUser {
                email: email.into(),
                password_hash: hash,
                role,
                customer_id,
            })
            .await
            .expect("create user");
    }

    /// Logins for an operator and for the customers of the first two accounts, as tokens.
    pub async fn standard_logins(&self) -> Logins {
        self.create_user("op@test.kr", Role::Operator, None).await;
        let accounts = self
            .store
            .accounts(Scope::Operator)
            .await
            .expect("accounts");
        let first = accounts[0].clone();
        let second = accounts
            .iter()
            .find(|a| a.customer_id != first.customer_id)
            .expect("another customer")
            .clone();
        self.create_user("a@test.kr", Role::Customer, Some(&first.customer_name))
            .await;
        self.create_user("b@test.kr", Role::Customer, Some(&second.customer_name))
            .await;
        Logins {
            operator: self.token("op@test.kr").await,
            a: self.token("a@test.kr").await,
            b: self.token("b@test.kr").await,
            a_account: first,
            b_account: second,
        }
    }
}

pub struct Logins {
    pub operator: String,
    pub a: String,
    pub b: String,
    pub a_account: ginkgo_store::AccountSummary,
    pub b_account: ginkgo_store::AccountSummary,
}

pub fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}
