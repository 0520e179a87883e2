use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use ginkgo_openbanking::{ClientConfig, HttpClient, InMemoryTranIdSource};
use ginkgo_sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use serde_json::Value;
use tokio::sync::oneshot;

pub const REDIRECT: &str = "http://localhost:8080/openbanking/callback";

pub fn end_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 20).expect("date")
}

/// A small, fast world: 3 users, 120 days ending 2026-11-20.
pub fn config() -> SandboxConfig {
    SandboxConfig {
        end_date: Some(end_date()),
        history_days: 120,
        ..SandboxConfig::default()
    }
}

pub struct TestSandbox {
    pub base: String,
    pub handle: SandboxHandle,
    pub http: reqwest::Client,
    _shutdown: oneshot::Sender<()>,
}

pub async fn spawn(config: SandboxConfig) -> TestSandbox {
    let sandbox = Sandbox::new(config).expect("valid sandbox config");
    let handle = sandbox.handle();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(sandbox.serve(listener, async {
        let _ = rx.await;
    }));
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("http client");
    TestSandbox {
        base: format!("http://{addr}"),
        handle,
        http,
        _shutdown: tx,
    }
}

impl TestSandbox {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn user_seq_no(&self, index: usize) -> String {
        self.handle.users()[index].user_seq_no.clone()
    }

    pub fn fins(&self, index: usize) -> Vec<String> {
        self.handle.users()[index]
            .accounts
            .iter()
            .map(|a| a.fintech_use_num.clone())
            .collect()
    }

    /// GET with a bearer token, returning the JSON body (asserting HTTP 200).
    pub async fn get_json(&self, path: &str, token: Option<&str>, query: &[(&str, &str)]) -> Value {
        let mut req = self.http.get(self.url(path)).query(query);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.expect("request");
        assert_eq!(resp.status(), 200, "{path}");
        resp.json().await.expect("json body")
    }

    pub async fn post_token(&self, form: &[(&str, &str)]) -> Value {
        let resp = self
            .http
            .post(self.url("/oauth/2.0/token"))
            .form(form)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 200);
        resp.json().await.expect("json body")
    }

    /// Submits the consent form; returns the redirect Location.
    pub async fn approve(&self, user: usize, fins: &[String], scope: &str, state: &str) -> String {
        let user_seq_no = self.user_seq_no(user);
        let mut form: Vec<(&str, &str)> = vec![
            ("response_type", "code"),
            ("client_id", "ginkgo-sandbox-client"),
            ("redirect_uri", REDIRECT),
            ("scope", scope),
            ("state", state),
            ("auth_type", "0"),
            ("client_info", "ginkgo test"),
            ("user_seq_no", &user_seq_no),
            ("action", "approve"),
        ];
        for f in fins {
            form.push(("fintech_use_num", f));
        }
        let resp = self
            .http
            .post(self.url("/oauth/2.0/authorize"))
            .form(&form)
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), 302);
        resp.headers()
            .get("location")
            .expect("location")
            .to_str()
            .expect("ascii")
            .to_string()
    }

    /// Links all of a user's accounts through the consent form and the token endpoint.
    pub async fn link(&self, user: usize) -> (String, Value) {
        let fins = self.fins(user);
        let location = self
            .approve(user, &fins, "login inquiry", &"s".repeat(32))
            .await;
        let code = query_param(&location, "code").expect("code");
        let token = self
            .post_token(&[
                ("code", &code),
                ("client_id", "ginkgo-sandbox-client"),
                ("client_secret", "ginkgo-sandbox-secret"),
                ("redirect_uri", REDIRECT),
                ("grant_type", "authorization_code"),
            ])
            .await;
        let access = token["access_token"]
            .as_str()
            .expect("access token")
            .to_string();
        (access, token)
    }

    pub fn client(&self, timeout: Duration) -> HttpClient {
        let mut cfg = ClientConfig::new(
            &self.base,
            "ginkgo-sandbox-client",
            "ginkgo-sandbox-secret",
            REDIRECT,
            "M202600001",
        );
        cfg.timeout = timeout;
        cfg.max_retries = 2;
        cfg.backoff_base = Duration::from_millis(5);
        cfg.backoff_max = Duration::from_millis(20);
        let ids = Arc::new(InMemoryTranIdSource::new("M202600001").expect("ids"));
        HttpClient::new(cfg, ids).expect("client")
    }
}

pub fn query_param(url: &str, name: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// A fresh valid bank_tran_id for the default institution.
pub fn tran_id(n: u64) -> String {
    ginkgo_openbanking::BankTranId::from_sequence("M202600001", n)
        .expect("id")
        .to_string()
}

pub const TRAN_DTIME: &str = "20261120120000";

/// Asserts that every scalar in a JSON value is a string (or null).
pub fn assert_all_scalars_are_strings(v: &Value, path: &str) {
    match v {
        Value::Object(m) => m
            .iter()
            .for_each(|(k, v)| assert_all_scalars_are_strings(v, &format!("{path}.{k}"))),
        Value::Array(a) => a
            .iter()
            .for_each(|v| assert_all_scalars_are_strings(v, path)),
        Value::String(_) | Value::Null => {}
        other => panic!("{path} is not a string: {other}"),
    }
}

/// Decodes a JWT's payload.
pub fn jwt_payload(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("payload");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64");
    serde_json::from_slice(&bytes).expect("json")
}
