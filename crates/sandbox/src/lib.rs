//! A faithful local imitation of the KFTC Open Banking testbed (OPENBANKING.md §10), with a
//! deterministic data generator.
//!
//! * [`Sandbox::new`] generates the world (users, accounts, histories) from a [`SandboxConfig`];
//!   [`Sandbox::router`] is the axum app; [`serve`] / [`Sandbox::serve`] run it on a listener
//!   until a shutdown future resolves.
//! * [`SandboxHandle`] is the in-process view used by tests and `ginkgo demo`: the sandbox's
//!   truth (users, accounts, every row), fault switches, a movable clock, and shortcuts that
//!   register accounts or issue tokens without the consent page.
//!
//! # Endpoints
//!
//! | Method & path | What |
//! |---|---|
//! | `GET /oauth/2.0/authorize` | Consent page (Korean HTML form): pick a test user and accounts. |
//! | `POST /oauth/2.0/authorize` | The form's submission: form fields `response_type`, `client_id`, `redirect_uri`, `scope`, `state`, `auth_type`, `client_info`, `user_seq_no`, `fintech_use_num` (repeated), `action=approve\|cancel`; answers `302` to `redirect_uri?code=…&scope=…&client_info=…&state=…` (or `error=access_denied`). |
//! | `POST /oauth/2.0/token` | Form-encoded grants `authorization_code`, `refresh_token`, `client_credentials`. |
//! | `GET /v2.0/user/me`, `/v2.0/account/list`, `/v2.0/account/balance/fin_num`, `/v2.0/account/transaction_list/fin_num` | The inquiry APIs. |
//! | `POST /v2.0/transfer/withdraw/fin_num` | Withdraw transfer (§9.1), testbed mode only: validates the request, the contracted account (A0322) and the day's limit, and answers the live `wd_limit_remain_amt`. |
//! | `GET/POST /_sandbox/faults` | Read / replace the [`Faults`] (JSON). Local admin, unauthenticated: bind the sandbox to loopback. |
//! | `POST /_sandbox/revoke` | `{"user_seq_no": "…"}`: revokes every token issued to the user so far (the user withdrew consent at the center); API calls then answer O0002 and refreshes O0014. |
//! | `POST /_sandbox/accounts/{fintech_use_num}/rows` | "The bank got new transactions": appends rows (a JSON list of transaction-list rows; `after_balance_amt` is computed, except for `기타` rows, whose given balance tells the direction) after the account's last row. |
//! | `GET /v2.0/bank/status` | The participating banks' availability (`res_cnt`, `res_list[]` of `bank_name`, `bank_code_std`, `bank_status` `Y`/`N`, the fields public testbed clients read), `N` for `Faults::maintenance_banks`. |
//! | `GET/POST /_sandbox/profile` | Read / switch the profile: `{"profile": "realistic"\|"testbed", "testbed_paging": "empty_key"\|"constant_key"}`. |
//! | `GET /_sandbox/health` | `ok`. |
//!
//! # Profiles and the testbed fidelity checklist
//!
//! `realistic` (default) is the generator. `testbed` (`ginkgo sandbox --profile testbed`,
//! [`SandboxConfig::profile`], [`SandboxHandle::set_profile`]) answers the shapes logged from the
//! real KFTC testbed in 2022–2023 (OPENBANKING.md §8.1; a logged balance answer with
//! `balance_amt "50000000"`, `available_amt "10000000"` and three `"00000000"` dates was found
//! again in public code while writing this). One test per shape, in `tests/sandbox/testbed.rs`:
//!
//! | shape | test |
//! |---|---|
//! | balance dates `"00000000"`, `available_amt` ≠ `balance_amt`, `bank_tran_date` `20190101`, `bank_code_tran` `097` | `balance_dates_are_eight_zeros_and_available_differs_from_balance` |
//! | some numbers unquoted (`balance_amt`, `page_record_cnt`, `tran_amt`) | `some_numbers_come_unquoted_and_are_accepted` |
//! | `next_page_yn "Y"` with an empty key | `the_list_says_more_with_an_empty_key_and_the_client_stops_there` |
//! | canned rows echoed whatever `from_date`/`to_date`, identical rows, `after_balance_amt` still | `canned_rows_are_echoed_whatever_the_period_identical_and_with_a_still_balance` |
//! | a key that never changes (same page every time) | `a_constant_key_is_answered_with_the_same_page_and_the_client_ends` |
//! | nothing registered: `A0002` / `818` | `nothing_registered_answers_a0002_with_818` |
//! | `bank/status` | `bank_status_lists_the_banks_and_those_under_maintenance` |
//! | refresh without `scope` refused (`O0001`; the real rule is unconfirmed, the profile is strict) | `a_refresh_without_scope_is_refused_and_the_client_always_sends_it` |
//! | `state` of exactly 32 characters (documented; the profile enforces it) | `the_state_must_be_32_characters` |
//!
//! Ginkgo's side of each shape is tested over HTTP in the server's `tests/api/bank_testbed.rs`.
//!
//! # Redirect URIs
//!
//! A `redirect_uri` is accepted when it equals one of `redirect_uris`, starts with one of
//! `redirect_uri_prefixes`, or — when `allow_loopback_redirects` is true (the default, for
//! `ginkgo demo` on a random port) — is any `http://localhost[:port]/…` or
//! `http://127.0.0.1[:port]/…` URL.
//!
//! # State
//!
//! Users, accounts and rows are generated once at start-up; rows appended through the admin
//! endpoint (or [`SandboxHandle::append_rows`]) follow them. Codes, registrations (which
//! accounts a user consented to), refresh tokens (single use: each refresh answers a new one and
//! spends the old), revocations, appended rows, the day's `bank_tran_id`s and withdraw limits
//! live in memory and are lost on restart; tokens are HS256 JWTs signed with
//! `token_signing_key` and stay verifiable across restarts (refresh tokens do not: the sandbox no
//! longer knows them).

mod api;
pub mod config;
pub mod generator;
pub mod jwt;
mod oauth;
pub mod testbed;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ginkgo_domain::Won;
use ginkgo_domain::rng::SplitMix64;
use ginkgo_openbanking::Transaction;
use ginkgo_openbanking::wire::{TokenResponse, TransactionRow};

pub use config::{Faults, Profile, SandboxConfig, TestbedPaging};
pub use generator::{GeneratedRow, TestAccount, TestUser};

/// Lifetime of an access token (90 days minus one second, as observed).
pub const ACCESS_TOKEN_SECONDS: i64 = 7_775_999;
/// A refresh token expires this long after its access token.
pub const REFRESH_EXTRA_SECONDS: i64 = 864_000;
/// Lifetime of an authorization code.
pub const CODE_SECONDS: i64 = 600;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("invalid sandbox configuration: {0}")]
    Config(String),
    #[error("unknown user {0}")]
    UnknownUser(String),
    #[error("account does not belong to the user")]
    UnknownAccount,
    #[error("invalid row: {0}")]
    InvalidRow(String),
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

struct PendingCode {
    client_id: String,
    redirect_uri: String,
    user_seq_no: String,
    scopes: Vec<String>,
    issued_at: DateTime<Utc>,
}

/// Precomputed positions of deposits and withdrawals, so pages never re-filter the rows.
struct AccountViews {
    incoming: Vec<u32>,
    outgoing: Vec<u32>,
}

impl AccountViews {
    fn of(rows: &[GeneratedRow]) -> AccountViews {
        let mut incoming = Vec::new();
        let mut outgoing = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            if row.direction.is_incoming() {
                incoming.push(i);
            } else if row.direction.is_outgoing() {
                outgoing.push(i);
            }
        }
        AccountViews { incoming, outgoing }
    }
}

struct Mutable {
    codes: HashMap<String, PendingCode>,
    /// user_seq_no → fintech_use_num → consent time (KST).
    registrations: HashMap<String, BTreeMap<String, NaiveDateTime>>,
    /// Every refresh token ever issued (never accepted as an access token) …
    refresh_jtis: HashSet<String>,
    /// … and those already exchanged once (refresh tokens are single use).
    spent_refresh_jtis: HashSet<String>,
    /// Every token id issued to a user, for revocation.
    user_jtis: HashMap<String, Vec<String>>,
    revoked_jtis: HashSet<String>,
    /// Rows appended after the generated history, per fintech number, oldest first.
    appended: HashMap<String, Vec<GeneratedRow>>,
    /// Every transaction-list query received, in order (for tests of incremental syncs).
    list_queries: Vec<ListQueryLog>,
    /// Withdraw limit left per fintech number for a KST day.
    withdraw_left: HashMap<String, (NaiveDate, i64)>,
    tran_id_day: Option<NaiveDate>,
    tran_ids: HashSet<String>,
    faults: Faults,
    fault_rng: SplitMix64,
    profile: config::Profile,
    testbed_paging: config::TestbedPaging,
}

struct Inner {
    config: SandboxConfig,
    users: Vec<TestUser>,
    user_index: HashMap<String, usize>,
    account_index: HashMap<String, (usize, usize)>,
    views: HashMap<String, AccountViews>,
    mutable: Mutex<Mutable>,
    clock_offset_seconds: AtomicI64,
    requests: AtomicU64,
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, Mutable> {
        self.mutable
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The profile in force (see [`config::Profile`]).
    fn profile(&self) -> config::Profile {
        self.lock().profile
    }

    /// Testbed behaviour (unseeded accounts answer A0002/818, `bank_tran_date` is the seeded
    /// date): testbed mode, or the testbed profile.
    fn testbed(&self) -> bool {
        self.config.testbed_mode || self.profile() == config::Profile::Testbed
    }

    fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::seconds(self.clock_offset_seconds.load(Ordering::Relaxed))
    }

    fn account(&self, fin: &str) -> Option<&TestAccount> {
        let &(u, a) = self.account_index.get(fin)?;
        self.users.get(u)?.accounts.get(a)
    }

    /// The rows appended to an account (a copy; usually none).
    fn appended(&self, fin: &str) -> Vec<GeneratedRow> {
        self.lock().appended.get(fin).cloned().unwrap_or_default()
    }

    /// The account's current balance, appended rows included.
    fn balance(&self, account: &TestAccount) -> Won {
        self.lock()
            .appended
            .get(&account.fintech_use_num)
            .and_then(|rows| rows.last())
            .map(|r| r.after_balance)
            .unwrap_or_else(|| account.balance())
    }
}

/// One transaction-list query as the sandbox received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQueryLog {
    pub fintech_use_num: String,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    /// The `befor_inquiry_trace_info` sent (empty for a first page).
    pub trace: String,
}

/// A generated sandbox, ready to serve.
pub struct Sandbox {
    inner: Arc<Inner>,
}

/// In-process access to a running sandbox (cheap to clone).
#[derive(Clone)]
pub struct SandboxHandle {
    inner: Arc<Inner>,
}

impl Sandbox {
    /// Validates the configuration and generates the world. CPU-bound (a million-row account
    /// takes a moment): call it from `spawn_blocking` inside a busy runtime.
    pub fn new(config: SandboxConfig) -> Result<Sandbox, SandboxError> {
        ginkgo_openbanking::tran_id::validate_institution_code(&config.client_use_code)
            .map_err(|e| SandboxError::Config(format!("client_use_code: {e}")))?;
        if config.client_id.is_empty() || config.client_secret.is_empty() {
            return Err(SandboxError::Config(
                "client_id and client_secret must not be empty".into(),
            ));
        }
        if config.token_signing_key.len() < 16 {
            return Err(SandboxError::Config(
                "token_signing_key must be at least 16 bytes".into(),
            ));
        }
        if config.users > 10_000 {
            return Err(SandboxError::Config("at most 10000 users".into()));
        }
        if !(1..=3_700).contains(&config.history_days) {
            return Err(SandboxError::Config(
                "history_days must be between 1 and 3700".into(),
            ));
        }
        if config.faults.http_error_per_mille > 1000 {
            return Err(SandboxError::Config(
                "faults.http_error_per_mille must be at most 1000".into(),
            ));
        }
        let spec = generator::WorldSpec {
            seed: config.seed,
            institution_code: config.client_use_code.clone(),
            users: config.users,
            end_date: config
                .end_date
                .unwrap_or_else(ginkgo_domain::time::today_kst),
            history_days: config.history_days,
            large_account_rows: config.large_account_rows,
        };
        let users = generator::generate_world(&spec);
        let mut user_index = HashMap::new();
        let mut account_index = HashMap::new();
        let mut views = HashMap::new();
        for (u, user) in users.iter().enumerate() {
            user_index.insert(user.user_seq_no.clone(), u);
            for (a, account) in user.accounts.iter().enumerate() {
                account_index.insert(account.fintech_use_num.clone(), (u, a));
                views.insert(
                    account.fintech_use_num.clone(),
                    AccountViews::of(&account.rows),
                );
            }
        }
        let mutable = Mutable {
            codes: HashMap::new(),
            registrations: HashMap::new(),
            refresh_jtis: HashSet::new(),
            spent_refresh_jtis: HashSet::new(),
            user_jtis: HashMap::new(),
            revoked_jtis: HashSet::new(),
            appended: HashMap::new(),
            list_queries: Vec::new(),
            withdraw_left: HashMap::new(),
            tran_id_day: None,
            tran_ids: HashSet::new(),
            faults: config.faults.clone(),
            fault_rng: SplitMix64::derive(config.seed, 0xFA17),
            profile: config.profile,
            testbed_paging: config.testbed_paging,
        };
        Ok(Sandbox {
            inner: Arc::new(Inner {
                config,
                users,
                user_index,
                account_index,
                views,
                mutable: Mutex::new(mutable),
                clock_offset_seconds: AtomicI64::new(0),
                requests: AtomicU64::new(0),
            }),
        })
    }

    pub fn handle(&self) -> SandboxHandle {
        SandboxHandle {
            inner: self.inner.clone(),
        }
    }

    /// The axum app.
    pub fn router(&self) -> Router {
        let faulty = Router::new()
            .merge(oauth::token_routes())
            .merge(api::routes())
            .layer(axum::middleware::from_fn_with_state(
                self.inner.clone(),
                api::fault_layer,
            ));
        Router::new()
            .merge(oauth::authorize_routes())
            .merge(faulty)
            .merge(api::admin_routes())
            .fallback(api::unknown_api)
            .with_state(self.inner.clone())
    }

    /// Serves until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), SandboxError> {
        let app = self.router();
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await?;
        Ok(())
    }
}

/// Generates a sandbox from `config` and serves it on `listener` until `shutdown` resolves.
pub async fn serve(
    config: SandboxConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), SandboxError> {
    let sandbox = tokio::task::spawn_blocking(move || Sandbox::new(config))
        .await
        .map_err(|e| SandboxError::Config(format!("generator task failed: {e}")))??;
    tracing::info!(addr = ?listener.local_addr().ok(), "Open Banking sandbox listening");
    sandbox.serve(listener, shutdown).await
}

impl SandboxHandle {
    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }

    /// Every test user with their accounts and rows (the sandbox's truth).
    pub fn users(&self) -> &[TestUser] {
        &self.inner.users
    }

    pub fn user(&self, user_seq_no: &str) -> Option<&TestUser> {
        self.inner
            .user_index
            .get(user_seq_no)
            .and_then(|&i| self.inner.users.get(i))
    }

    pub fn account(&self, fintech_use_num: &str) -> Option<&TestAccount> {
        self.inner.account(fintech_use_num)
    }

    /// The generated rows of an account, oldest first (rows appended later are not included:
    /// see [`SandboxHandle::transactions`]).
    pub fn rows(&self, fintech_use_num: &str) -> Option<&[GeneratedRow]> {
        self.account(fintech_use_num).map(|a| a.rows.as_slice())
    }

    /// All rows of an account as the client would parse them, oldest first (appended rows
    /// included).
    pub fn transactions(&self, fintech_use_num: &str) -> Option<Vec<Transaction>> {
        let mut out: Vec<Transaction> = self
            .rows(fintech_use_num)?
            .iter()
            .map(GeneratedRow::to_transaction)
            .collect();
        out.extend(
            self.inner
                .appended(fintech_use_num)
                .iter()
                .map(GeneratedRow::to_transaction),
        );
        Some(out)
    }

    /// The account's current balance (the last row's, appended rows included).
    pub fn balance(&self, fintech_use_num: &str) -> Option<Won> {
        self.account(fintech_use_num).map(|a| self.inner.balance(a))
    }

    /// "The bank got new transactions": appends rows after the account's last one. Each row
    /// gives `tran_date`, `tran_time`, `inout_type` (`입금` or `출금`), `print_content`,
    /// `tran_amt` and optionally `tran_type`; `after_balance_amt` is computed (a `기타` row gives
    /// it, as the balance plus or minus the amount).
    /// Answers the rows as stored.
    pub fn append_rows(
        &self,
        fintech_use_num: &str,
        rows: &[TransactionRow],
    ) -> Result<Vec<GeneratedRow>, SandboxError> {
        api::append_rows(&self.inner, fintech_use_num, rows)
    }

    /// Forgets everything a restart of the sandbox process loses (codes, registrations,
    /// refresh tokens, revocations, appended rows, the day's `bank_tran_id`s, withdraw limits),
    /// keeping the generated world and the signing key: access tokens still verify, but the
    /// user has no registered accounts any more.
    pub fn simulate_restart(&self) {
        let mut m = self.inner.lock();
        m.codes.clear();
        m.registrations.clear();
        m.refresh_jtis.clear();
        m.spent_refresh_jtis.clear();
        m.user_jtis.clear();
        m.revoked_jtis.clear();
        m.appended.clear();
        m.list_queries.clear();
        m.withdraw_left.clear();
        m.tran_id_day = None;
        m.tran_ids.clear();
    }

    /// The `bank_tran_id`s accepted so far today (KST), in no order.
    pub fn tran_ids_today(&self) -> Vec<String> {
        self.inner.lock().tran_ids.iter().cloned().collect()
    }

    /// Every transaction-list query received so far, oldest first.
    pub fn list_queries(&self) -> Vec<ListQueryLog> {
        self.inner.lock().list_queries.clone()
    }

    /// Revokes every token issued to the user so far, as when the user withdraws consent at
    /// the center: API calls with them answer O0002, refreshes O0014. Tokens issued afterwards
    /// (a new consent) work.
    pub fn revoke_tokens(&self, user_seq_no: &str) -> Result<usize, SandboxError> {
        if self.user(user_seq_no).is_none() {
            return Err(SandboxError::UnknownUser(user_seq_no.to_string()));
        }
        let mut m = self.inner.lock();
        let jtis = m.user_jtis.remove(user_seq_no).unwrap_or_default();
        let n = jtis.len();
        m.revoked_jtis.extend(jtis);
        Ok(n)
    }

    pub fn faults(&self) -> Faults {
        self.inner.lock().faults.clone()
    }

    pub fn set_faults(&self, faults: Faults) {
        self.inner.lock().faults = faults;
    }

    /// The profile in force.
    pub fn profile(&self) -> Profile {
        self.inner.profile()
    }

    /// Switches the simulator (tests: the same world answering as the real testbed does).
    pub fn set_profile(&self, profile: Profile) {
        self.inner.lock().profile = profile;
    }

    /// How the testbed profile pages its canned transaction list.
    pub fn set_testbed_paging(&self, paging: TestbedPaging) {
        self.inner.lock().testbed_paging = paging;
    }

    /// Number of token and `/v2.0` requests received so far (including faulted ones).
    pub fn requests_received(&self) -> u64 {
        self.inner.requests.load(Ordering::Relaxed)
    }

    /// Moves the sandbox's clock (code and token expiry, `api_tran_dtm`, the `bank_tran_id`
    /// day) forward or backward.
    pub fn advance_clock(&self, by: chrono::Duration) {
        self.inner
            .clock_offset_seconds
            .fetch_add(by.num_seconds(), Ordering::Relaxed);
    }

    /// The sandbox's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.inner.now()
    }

    /// Registers accounts for a user as the consent page does.
    pub fn register_accounts(
        &self,
        user_seq_no: &str,
        fintech_use_nums: &[&str],
    ) -> Result<(), SandboxError> {
        oauth::register(&self.inner, user_seq_no, fintech_use_nums)
    }

    /// The fintech numbers a user has registered.
    pub fn registered_accounts(&self, user_seq_no: &str) -> Vec<String> {
        self.inner
            .lock()
            .registrations
            .get(user_seq_no)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Issues a user token as the token endpoint would after consent (no code involved).
    pub fn issue_user_token(
        &self,
        user_seq_no: &str,
        scopes: &[&str],
    ) -> Result<TokenResponse, SandboxError> {
        if self.user(user_seq_no).is_none() {
            return Err(SandboxError::UnknownUser(user_seq_no.to_string()));
        }
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        oauth::issue_user_tokens(&self.inner, user_seq_no, &scopes)
            .map_err(|e| SandboxError::Config(e.to_string()))
    }
}
