//! Sandbox configuration (serde, every field defaulted) and fault switches.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// Configuration of the sandbox. Deserialisable from TOML/JSON; every field has a default, so
/// `SandboxConfig::default()` is a working sandbox.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SandboxConfig {
    /// The app key the sandbox accepts.
    pub client_id: String,
    pub client_secret: String,
    /// Registered callback URLs; `redirect_uri` must match one exactly …
    pub redirect_uris: Vec<String>,
    /// … or start with one of these prefixes …
    pub redirect_uri_prefixes: Vec<String>,
    /// … or, when true, be any `http://localhost:<port>/…` or `http://127.0.0.1:<port>/…` URL
    /// (for `ginkgo demo`, whose port is chosen at run time). Default true.
    pub allow_loopback_redirects: bool,
    /// The institution code (`client_use_code`), 10 upper-case letters/digits.
    pub client_use_code: String,
    /// Seed of the data generator: same seed (and end date) ⇒ same users, accounts and rows.
    pub seed: u64,
    /// Number of test users.
    pub users: usize,
    /// Days of history per account, ending at `end_date`.
    pub history_days: u32,
    /// Last day of the histories; `None` = today in KST when the sandbox starts.
    pub end_date: Option<NaiveDate>,
    /// When > 0, an extra user `대용량` with one account of this many rows (benchmarks).
    pub large_account_rows: u64,
    /// HS256 key of the tokens.
    pub token_signing_key: String,
    /// Testbed mode (OPENBANKING.md §10.7): unseeded accounts answer A0002/818 and successes
    /// echo `testbed_bank_tran_date` with `bank_code_tran` 097.
    pub testbed_mode: bool,
    pub testbed_bank_tran_date: String,
    /// The institution's contracted (약정) deposit accounts a withdraw may pay into; others
    /// answer A0322 (testbed mode).
    pub contracted_accounts: Vec<String>,
    /// A user's withdraw limit per account and KST day, in won; `wd_limit_remain_amt` counts
    /// down from it (testbed mode).
    pub daily_withdraw_limit: i64,
    /// `realistic` (default): the deterministic generator, paged and filtered by date.
    /// `testbed`: answers as the real KFTC testbed does (OPENBANKING.md §8.1, see
    /// [`Profile::Testbed`]). Changeable at run time (`SandboxHandle::set_profile`).
    pub profile: Profile,
    /// How the testbed profile pages its canned transaction list.
    pub testbed_paging: TestbedPaging,
    /// Faults active from start-up (they can be changed at run time).
    pub faults: Faults,
}

/// Which simulator the sandbox is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// The realistic generator (a year of Korean personal finances, filtered by date, paged
    /// with an opaque key).
    #[default]
    Realistic,
    /// The real testbed's shapes, as other teams logged them: every seeded account answers the
    /// same registered (canned) balance and rows whatever the period asked — balance
    /// 50,000,000 with 10,000,000 available, `"00000000"` for every "no date", 25 rows all dated
    /// `20190101 010101`, many identical, `after_balance_amt` not moving, `next_page_yn "Y"`
    /// (see [`TestbedPaging`]), some numbers unquoted; unseeded accounts answer `A0002`/`818`
    /// (testbed mode); and a refresh without `scope` is refused with `O0001 [3000103]`.
    Testbed,
}

impl std::str::FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "realistic" => Ok(Profile::Realistic),
            "testbed" => Ok(Profile::Testbed),
            other => Err(format!(
                "unknown profile '{other}' (expected realistic or testbed)"
            )),
        }
    }
}

/// Continuation keys of the testbed profile's canned transaction list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TestbedPaging {
    /// `next_page_yn "Y"` with an empty `befor_inquiry_trace_info`, every time (observed in
    /// two of two logs).
    #[default]
    EmptyKey,
    /// `next_page_yn "Y"` with one key that never changes, answering the same page for it:
    /// a client that trusts `Y` never ends.
    ConstantKey,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            client_id: "ginkgo-sandbox-client".into(),
            client_secret: "ginkgo-sandbox-secret".into(),
            redirect_uris: vec!["http://localhost:8080/openbanking/callback".into()],
            redirect_uri_prefixes: Vec::new(),
            allow_loopback_redirects: true,
            client_use_code: "M202600001".into(),
            seed: 20_260_101,
            users: 3,
            history_days: 400,
            end_date: None,
            large_account_rows: 0,
            token_signing_key: "ginkgo-sandbox-hs256-key-not-a-secret".into(),
            testbed_mode: false,
            testbed_bank_tran_date: "20190101".into(),
            contracted_accounts: vec!["23062003999".into()],
            daily_withdraw_limit: 10_000_000,
            profile: Profile::Realistic,
            testbed_paging: TestbedPaging::EmptyKey,
            faults: Faults::default(),
        }
    }
}

impl std::fmt::Debug for SandboxConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("redirect_uris", &self.redirect_uris)
            .field("redirect_uri_prefixes", &self.redirect_uri_prefixes)
            .field("allow_loopback_redirects", &self.allow_loopback_redirects)
            .field("client_use_code", &self.client_use_code)
            .field("seed", &self.seed)
            .field("users", &self.users)
            .field("history_days", &self.history_days)
            .field("end_date", &self.end_date)
            .field("large_account_rows", &self.large_account_rows)
            .field("token_signing_key", &"<redacted>")
            .field("testbed_mode", &self.testbed_mode)
            .field("testbed_bank_tran_date", &self.testbed_bank_tran_date)
            .field("contracted_accounts", &self.contracted_accounts)
            .field("daily_withdraw_limit", &self.daily_withdraw_limit)
            .field("profile", &self.profile)
            .field("testbed_paging", &self.testbed_paging)
            .field("faults", &self.faults)
            .finish()
    }
}

impl SandboxConfig {
    /// True when `uri` is an acceptable `redirect_uri` (see the three fields above).
    pub fn redirect_allowed(&self, uri: &str) -> bool {
        if uri.is_empty() || uri.contains(['#', ' ', '\n', '\r']) {
            return false;
        }
        if self.redirect_uris.iter().any(|r| r == uri) {
            return true;
        }
        if self
            .redirect_uri_prefixes
            .iter()
            .any(|p| !p.is_empty() && uri.starts_with(p.as_str()))
        {
            return true;
        }
        self.allow_loopback_redirects && is_loopback_http(uri)
    }
}

fn is_loopback_http(uri: &str) -> bool {
    let Some(rest) = uri.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    port_ok && matches!(host, "localhost" | "127.0.0.1" | "[::1]")
}

/// Fault switches. Counters ("next N calls") decrease as they fire. They apply to the token
/// endpoint and the `/v2.0` APIs, never to the consent page or the admin endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Delay every answer by this many milliseconds.
    pub delay_ms: u64,
    /// Answer the next N calls with an HTTP error (`http_error_status`, default 503) and no body.
    pub http_error_next: u32,
    /// Also answer this fraction of calls, in thousandths (0–1000), with the HTTP error.
    /// Deterministic for a seed.
    pub http_error_per_mille: u16,
    /// 500 or 503 (anything else is treated as 503).
    pub http_error_status: u16,
    /// Answer O0003 (expired access token) to the next N `/v2.0` calls.
    pub expired_token_next: u32,
    /// Answer A0326 (duplicate `bank_tran_id`) to the next N balance/transaction-list calls.
    pub duplicate_tran_id_next: u32,
    /// Refuse the next N refresh grants with `O0001` (the center refusing a refresh request).
    pub refuse_refresh_next: u32,
    /// Standard codes of banks `/v2.0/bank/status` reports unavailable (maintenance); their
    /// accounts' balance and transaction list answer A0007 meanwhile.
    pub maintenance_banks: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_rules() {
        let mut c = SandboxConfig {
            allow_loopback_redirects: false,
            ..Default::default()
        };
        assert!(c.redirect_allowed("http://localhost:8080/openbanking/callback"));
        assert!(!c.redirect_allowed("http://localhost:9999/cb"));
        c.redirect_uri_prefixes = vec!["https://ginkgo.example/".into()];
        assert!(c.redirect_allowed("https://ginkgo.example/cb"));
        c.allow_loopback_redirects = true;
        assert!(c.redirect_allowed("http://127.0.0.1:41234/openbanking/callback"));
        assert!(c.redirect_allowed("http://localhost:1/x?y=1"));
        assert!(!c.redirect_allowed("http://localhost.evil.com/x"));
        assert!(!c.redirect_allowed("http://evil.com/?next=http://localhost:1/"));
        assert!(!c.redirect_allowed("https://localhost:1/x"));
        assert!(!c.redirect_allowed(""));
    }

    #[test]
    fn config_deserialises_with_defaults() {
        let c: SandboxConfig =
            serde_json::from_str(r#"{"seed":7,"faults":{"delay_ms":5}}"#).expect("config");
        assert_eq!(c.seed, 7);
        assert_eq!(c.users, 3);
        assert_eq!(c.faults.delay_ms, 5);
        assert!(serde_json::from_str::<SandboxConfig>(r#"{"sead":7}"#).is_err());
        assert!(!format!("{c:?}").contains("ginkgo-sandbox-secret"));
    }
}
