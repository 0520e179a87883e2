//! The Open Banking client: an async trait and its reqwest implementation.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{NaiveDate, Utc};
use ginkgo_domain::Won;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{BankError, check_api, check_token};
use crate::model::{
    Balance, Secret, TokenSet, Transaction, UserAccounts, parse_wire_amount, wire_date,
};
use crate::tran_id::{TranIdSource, validate_institution_code};
use crate::wire::{
    AccountListRequest, AccountListResponse, ApiResponse, AuthorizeQuery, BalanceRequest,
    BalanceResponse, BankStatusRequest, BankStatusResponse, TokenRequest, TokenResponse,
    TransactionListRequest, TransactionListResponse, UserMeRequest, UserMeResponse,
};

/// Rows per transaction-list page, fixed by the center.
pub const PAGE_SIZE: usize = 25;

/// `auth_type` of the authorize call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthType {
    /// `0`: first authentication.
    #[default]
    First,
    /// `1`: re-authentication.
    Again,
    /// `2`: skip authentication (needs the `Kftc-Bfop-*` headers; WebView only).
    Skip,
}

impl AuthType {
    pub fn as_wire(self) -> &'static str {
        match self {
            AuthType::First => "0",
            AuthType::Again => "1",
            AuthType::Skip => "2",
        }
    }
}

/// Options of [`OpenBankingApi::authorize_url`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeOptions {
    /// Space-separated scopes.
    pub scope: String,
    pub auth_type: AuthType,
    pub client_info: Option<String>,
}

impl Default for AuthorizeOptions {
    fn default() -> Self {
        AuthorizeOptions {
            scope: "login inquiry".to_string(),
            auth_type: AuthType::First,
            client_info: None,
        }
    }
}

/// `inquiry_type` of the transaction list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InquiryType {
    #[default]
    All,
    Deposits,
    Withdrawals,
}

impl InquiryType {
    pub fn as_wire(self) -> &'static str {
        match self {
            InquiryType::All => "A",
            InquiryType::Deposits => "I",
            InquiryType::Withdrawals => "O",
        }
    }
}

/// `sort_order` of the transaction list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortOrder {
    /// `A`: oldest first.
    #[default]
    Ascending,
    /// `D`: newest first.
    Descending,
}

impl SortOrder {
    pub fn as_wire(self) -> &'static str {
        match self {
            SortOrder::Ascending => "A",
            SortOrder::Descending => "D",
        }
    }
}

/// One transaction-list query (by date, `inquiry_base=D`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionQuery {
    pub fintech_use_num: String,
    pub inquiry_type: InquiryType,
    pub from_date: NaiveDate,
    pub to_date: NaiveDate,
    pub sort_order: SortOrder,
}

impl TransactionQuery {
    /// All rows between two dates (inclusive), oldest first.
    pub fn all(fintech_use_num: &str, from_date: NaiveDate, to_date: NaiveDate) -> Self {
        TransactionQuery {
            fintech_use_num: fintech_use_num.to_string(),
            inquiry_type: InquiryType::All,
            from_date,
            to_date,
            sort_order: SortOrder::Ascending,
        }
    }
}

/// One page of a transaction list, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionPage {
    pub balance: Won,
    pub rows: Vec<Transaction>,
    /// `Some(trace)` when `next_page_yn == "Y"` with a non-empty key.
    pub next_trace: Option<String>,
    /// `next_page_yn == "Y"` but `befor_inquiry_trace_info` empty, as the real testbed answers
    /// (OPENBANKING.md §8.1): there is no key to follow, so this is the last page.
    pub more_without_key: bool,
}

/// Why a walk over transaction-list pages stopped before the center said `next_page_yn = N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PagingStop {
    /// `Y` with an empty continuation key.
    EmptyKey,
    /// `Y` with the very key that was just sent.
    UnchangedKey,
    /// `Y` with a key already followed in this walk (a cycle).
    RepeatedKey,
    /// A page whose rows are exactly those of the previous page (it is not stored).
    RepeatedPage,
    /// The walk reached its page cap.
    PageCap,
}

impl PagingStop {
    /// A stable code (API, records, UI strings).
    pub fn code(self) -> &'static str {
        match self {
            PagingStop::EmptyKey => "paging_empty_key",
            PagingStop::UnchangedKey => "paging_unchanged_key",
            PagingStop::RepeatedKey => "paging_repeated_key",
            PagingStop::RepeatedPage => "paging_repeated_page",
            PagingStop::PageCap => "paging_page_cap",
        }
    }
}

/// What to do with a page just received (see [`PageWalk::accept`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageVerdict {
    /// Keep its rows and ask for the next page with [`PageWalk::trace`].
    More,
    /// Keep its rows; it was the last page (`next_page_yn = N`).
    Last,
    /// Keep its rows, then stop: the center said more, but following it would loop.
    LastWithWarning(PagingStop),
    /// Do not keep its rows (they repeat the previous page) and stop.
    Discard(PagingStop),
}

/// Follows transaction-list pages so that a walk always ends and never counts a page twice:
/// an empty, unchanged or already-seen continuation key ends it, a page identical to the
/// previous one is dropped and ends it, and at most `max_pages` pages are read.
#[derive(Debug)]
pub struct PageWalk {
    max_pages: usize,
    pages: usize,
    trace: Option<String>,
    seen: std::collections::HashSet<String>,
    previous: Option<u64>,
}

impl PageWalk {
    pub fn new(max_pages: usize) -> PageWalk {
        PageWalk {
            max_pages: max_pages.max(1),
            pages: 0,
            trace: None,
            seen: std::collections::HashSet::new(),
            previous: None,
        }
    }

    /// The key to send for the next page (`None` for the first).
    pub fn trace(&self) -> Option<&str> {
        self.trace.as_deref()
    }

    /// Pages accepted so far (a discarded page counts: it was a call).
    pub fn pages(&self) -> usize {
        self.pages
    }

    fn digest(rows: &[Transaction]) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        rows.len().hash(&mut h);
        for r in rows {
            r.identity_key().hash(&mut h);
            r.branch_name.hash(&mut h);
        }
        h.finish()
    }

    /// Judges the page just received for the key [`PageWalk::trace`] was.
    pub fn accept(&mut self, page: &TransactionPage) -> PageVerdict {
        self.pages += 1;
        let digest = Self::digest(&page.rows);
        if self.previous == Some(digest) {
            return PageVerdict::Discard(PagingStop::RepeatedPage);
        }
        self.previous = Some(digest);
        if page.more_without_key {
            return PageVerdict::LastWithWarning(PagingStop::EmptyKey);
        }
        let Some(next) = &page.next_trace else {
            return PageVerdict::Last;
        };
        if self.trace.as_deref() == Some(next.as_str()) {
            return PageVerdict::LastWithWarning(PagingStop::UnchangedKey);
        }
        if !self.seen.insert(next.clone()) {
            return PageVerdict::LastWithWarning(PagingStop::RepeatedKey);
        }
        if self.pages >= self.max_pages {
            return PageVerdict::LastWithWarning(PagingStop::PageCap);
        }
        self.trace = Some(next.clone());
        PageVerdict::More
    }
}

/// A whole transaction history, all pages followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionHistory {
    pub fintech_use_num: String,
    /// The current balance reported with the last page.
    pub balance: Won,
    /// In the query's sort order (oldest first for [`OpenBankingApi::transactions`]).
    pub rows: Vec<Transaction>,
    pub pages: usize,
    /// Set when the walk stopped before `next_page_yn = N` (see [`PageWalk`]).
    pub stopped: Option<PagingStop>,
}

/// One participating bank's availability (`GET /v2.0/bank/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BankAvailability {
    pub bank_code_std: String,
    pub bank_name: String,
    /// False when the center reports the bank unavailable (maintenance or failure).
    pub available: bool,
}

/// The Open Banking API as Ginkgo uses it. Tokens are passed per call because one server
/// talks for many users.
#[async_trait]
pub trait OpenBankingApi: Send + Sync {
    /// The URL to send the user's browser to. `state` is the caller's CSRF nonce (32 chars).
    fn authorize_url(&self, state: &str, options: &AuthorizeOptions) -> String;
    /// `grant_type=authorization_code`. The code is single-use: a request that may have reached
    /// the bank is never sent again (only a connection that was never made is retried).
    async fn exchange_code(&self, code: &str) -> Result<TokenSet, BankError>;
    /// `grant_type=refresh_token` with `scope` (the link's granted scopes; whether the center
    /// requires it is unconfirmed, so it is always sent). Retried like
    /// [`OpenBankingApi::exchange_code`]: the center may rotate refresh tokens, so a possibly
    /// received request is not repeated. Any refusal of the grant (O0001/O0014/O0015 …) answers
    /// [`BankError::RelinkNeeded`]: the link cannot be renewed without the customer.
    async fn refresh_token(&self, refresh_token: &str, scope: &str) -> Result<TokenSet, BankError>;
    /// `grant_type=client_credentials`, `scope=oob` (institution token).
    async fn client_credentials(&self) -> Result<TokenSet, BankError>;
    /// `GET /v2.0/user/me`.
    async fn user_me(
        &self,
        access_token: &str,
        user_seq_no: &str,
    ) -> Result<UserAccounts, BankError>;
    /// `GET /v2.0/account/list`.
    async fn account_list(
        &self,
        access_token: &str,
        user_seq_no: &str,
    ) -> Result<UserAccounts, BankError>;
    /// `GET /v2.0/account/balance/fin_num`.
    async fn balance(
        &self,
        access_token: &str,
        fintech_use_num: &str,
    ) -> Result<Balance, BankError>;
    /// `GET /v2.0/bank/status`: the participating banks' availability.
    async fn bank_status(&self, access_token: &str) -> Result<Vec<BankAvailability>, BankError>;
    /// One page of `GET /v2.0/account/transaction_list/fin_num`; `trace` is the previous
    /// page's `befor_inquiry_trace_info` (None for the first page).
    async fn transaction_page(
        &self,
        access_token: &str,
        query: &TransactionQuery,
        trace: Option<&str>,
    ) -> Result<TransactionPage, BankError>;

    /// Every row between two dates (inclusive), oldest first, following the pages until
    /// `next_page_yn = N` under a [`PageWalk`] of at most `MAX_PAGES` pages (an empty,
    /// unchanged or repeated key, or a repeated page, ends it: see `stopped`). Each page gets a
    /// fresh `bank_tran_id`; a page answered with A0326 is retried with a new id. A0018 (no
    /// history) is an empty history.
    async fn transactions(
        &self,
        access_token: &str,
        fintech_use_num: &str,
        from_date: NaiveDate,
        to_date: NaiveDate,
    ) -> Result<TransactionHistory, BankError> {
        let query = TransactionQuery::all(fintech_use_num, from_date, to_date);
        let mut rows = Vec::new();
        let mut walk = PageWalk::new(MAX_PAGES);
        let mut balance = Won::ZERO;
        loop {
            let page = match self
                .transaction_page(access_token, &query, walk.trace())
                .await
            {
                Ok(page) => page,
                Err(BankError::Unexpected { code, .. }) if code == "A0018" && walk.pages() == 0 => {
                    return Ok(TransactionHistory {
                        fintech_use_num: fintech_use_num.to_string(),
                        balance: Won::ZERO,
                        rows,
                        pages: 1,
                        stopped: None,
                    });
                }
                Err(e) => return Err(e),
            };
            let verdict = walk.accept(&page);
            let stopped = match verdict {
                PageVerdict::Discard(stop) => Some(stop),
                PageVerdict::More | PageVerdict::Last | PageVerdict::LastWithWarning(_) => {
                    balance = page.balance;
                    rows.extend(page.rows);
                    match verdict {
                        PageVerdict::More => continue,
                        PageVerdict::LastWithWarning(stop) => Some(stop),
                        _ => None,
                    }
                }
            };
            return Ok(TransactionHistory {
                fintech_use_num: fintech_use_num.to_string(),
                balance,
                rows,
                pages: walk.pages(),
                stopped,
            });
        }
    }
}

/// Page cap of [`OpenBankingApi::transactions`] (10 million rows).
const MAX_PAGES: usize = 400_000;

/// Configuration of [`HttpClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `https://testapi.openbanking.or.kr` or the sandbox's `http://127.0.0.1:PORT`.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: Secret,
    /// The callback URL registered for the app.
    pub redirect_uri: String,
    /// The 10-character institution code (`client_use_code`).
    pub institution_code: String,
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after the first attempt, for transient failures only.
    pub max_retries: u32,
    /// First backoff delay; doubles every retry, plus up to the same again of jitter.
    pub backoff_base: Duration,
    /// Cap of one backoff delay.
    pub backoff_max: Duration,
    /// Immediate retries with a new `bank_tran_id` after A0326.
    pub max_duplicate_retries: u32,
}

impl ClientConfig {
    pub fn new(
        base_url: &str,
        client_id: &str,
        client_secret: &str,
        redirect_uri: &str,
        institution_code: &str,
    ) -> ClientConfig {
        ClientConfig {
            base_url: base_url.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
            client_secret: Secret::new(client_secret),
            redirect_uri: redirect_uri.to_string(),
            institution_code: institution_code.to_string(),
            timeout: Duration::from_secs(10),
            max_retries: 3,
            backoff_base: Duration::from_millis(200),
            backoff_max: Duration::from_secs(5),
            max_duplicate_retries: 3,
        }
    }

    /// The delay before retry number `attempt` (0-based): `base × 2^attempt`, capped, plus
    /// uniform jitter in `0..=that`, capped again.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = self.backoff_base.as_millis().min(u128::from(u32::MAX)) as u64;
        let cap = self.backoff_max.as_millis().min(u128::from(u32::MAX)) as u64;
        let exp = base.saturating_mul(1u64 << attempt.min(20)).min(cap);
        let jitter = if exp == 0 {
            0
        } else {
            rand::random::<u64>() % (exp + 1)
        };
        Duration::from_millis(exp.saturating_add(jitter).min(cap))
    }
}

/// The reqwest implementation of [`OpenBankingApi`].
///
/// Logs only paths, attempts, response codes and timings — never tokens, secrets, names,
/// account numbers or memos.
#[derive(Clone)]
pub struct HttpClient {
    config: ClientConfig,
    http: reqwest::Client,
    tran_ids: Arc<dyn TranIdSource>,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient")
            .field("base_url", &self.config.base_url)
            .finish_non_exhaustive()
    }
}

/// KST request timestamp `yyyyMMddHHmmss`.
pub fn tran_dtime_now() -> String {
    Utc::now()
        .with_timezone(&ginkgo_domain::time::kst())
        .format("%Y%m%d%H%M%S")
        .to_string()
}

enum Outcome<T> {
    Done(T),
    Failed(BankError),
    /// The request certainly did not reach the server (the connection was never made): safe to
    /// send again whatever it was.
    NotSent(BankError),
}

/// Which failures [`HttpClient::with_retries`] may send a request again after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RetryPolicy {
    /// Inquiries and the client-credentials grant: repeating them changes nothing at the bank,
    /// so every transient failure is retried.
    Idempotent,
    /// Single-use grants (an authorization code, a rotating refresh token): a request that may
    /// have reached the bank — a timeout, a dropped connection, a 5xx — may have spent the
    /// grant, and sending it again would only be refused (or, worse, hide which answer counted).
    /// Only requests that were certainly never sent are retried.
    SingleUse,
}

impl HttpClient {
    pub fn new(
        config: ClientConfig,
        tran_ids: Arc<dyn TranIdSource>,
    ) -> Result<HttpClient, BankError> {
        validate_institution_code(&config.institution_code)
            .map_err(|e| BankError::Config(format!("institution_code: {e}")))?;
        if !(config.base_url.starts_with("http://") || config.base_url.starts_with("https://")) {
            return Err(BankError::Config(
                "base_url must start with http:// or https://".into(),
            ));
        }
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| BankError::Config(format!("cannot build HTTP client: {e}")))?;
        Ok(HttpClient {
            config,
            http,
            tran_ids,
        })
    }

    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    fn url(&self, path: &str) -> String {
        format!("{}{}", self.config.base_url, path)
    }

    /// Reads a response: 2xx or a non-2xx whose body still parses with an `rsp_code` are
    /// answers; 5xx without one, and anything unparsable after a non-2xx, are transport errors.
    async fn read<T: DeserializeOwned>(
        path: &str,
        response: reqwest::Response,
    ) -> Result<T, BankError> {
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(path, &e))?;
        decode_response(path, status.as_u16(), &body)
    }

    async fn sleep_before_retry(&self, path: &str, attempt: u32, error: &BankError) {
        let delay = self.config.backoff(attempt);
        tracing::warn!(path, attempt, delay_ms = delay.as_millis() as u64, error = %error_kind(error), "retrying Open Banking call");
        tokio::time::sleep(delay).await;
    }

    /// Runs `once` with bounded retries: transient failures back off (for single-use grants only
    /// those of requests that never left, see [`RetryPolicy`]); A0326 retries at once (the
    /// closure allocates a new `bank_tran_id` every time it runs).
    async fn with_retries<T, F, Fut>(
        &self,
        path: &str,
        policy: RetryPolicy,
        mut once: F,
    ) -> Result<T, BankError>
    where
        F: FnMut() -> Fut + Send,
        Fut: std::future::Future<Output = Outcome<T>> + Send,
        T: Send,
    {
        let mut attempt = 0u32;
        let mut duplicates = 0u32;
        loop {
            match once().await {
                Outcome::Done(value) => return Ok(value),
                Outcome::Failed(BankError::DuplicateTranId { .. })
                    if duplicates < self.config.max_duplicate_retries =>
                {
                    duplicates += 1;
                    tracing::warn!(
                        path,
                        duplicates,
                        "bank_tran_id rejected as duplicate; retrying with a new id"
                    );
                }
                Outcome::NotSent(e) if attempt < self.config.max_retries => {
                    self.sleep_before_retry(path, attempt, &e).await;
                    attempt += 1;
                }
                Outcome::Failed(e @ BankError::RetryLater { .. })
                    if attempt < self.config.max_retries && policy == RetryPolicy::Idempotent =>
                {
                    self.sleep_before_retry(path, attempt, &e).await;
                    attempt += 1;
                }
                Outcome::Failed(e) | Outcome::NotSent(e) => {
                    tracing::debug!(path, error = %error_kind(&e), "Open Banking call failed");
                    return Err(e);
                }
            }
        }
    }

    async fn token(
        &self,
        request: TokenRequest,
        policy: RetryPolicy,
    ) -> Result<TokenSet, BankError> {
        let path = "/oauth/2.0/token";
        let url = self.url(path);
        let response = self
            .with_retries(path, policy, || {
                let request = &request;
                let url = &url;
                async move {
                    let sent = self
                        .http
                        .post(url.as_str())
                        .header(
                            "Content-Type",
                            "application/x-www-form-urlencoded; charset=UTF-8",
                        )
                        .form(request)
                        .send()
                        .await;
                    let result = match sent {
                        Ok(resp) => Self::read::<TokenResponse>(path, resp).await,
                        Err(e) if e.is_connect() => {
                            return Outcome::NotSent(transport_error(path, &e));
                        }
                        Err(e) => Err(transport_error(path, &e)),
                    };
                    match result.and_then(|r| check_token(&r).map(|()| r)) {
                        Ok(r) => Outcome::Done(r),
                        Err(e) => Outcome::Failed(e),
                    }
                }
            })
            .await?;
        TokenSet::from_wire(response).map_err(|e| BankError::InvalidResponse(e.to_string()))
    }

    /// A `/v2.0` GET with a bearer token; `query(tran_id)` builds the query for one attempt.
    async fn api_get<Q, R>(
        &self,
        path: &'static str,
        access_token: &str,
        needs_tran_id: bool,
        query: impl Fn(String) -> Q + Send + Sync,
    ) -> Result<R, BankError>
    where
        Q: Serialize + Send + Sync,
        R: DeserializeOwned + ApiResponse + Send,
    {
        let url = self.url(path);
        self.with_retries(path, RetryPolicy::Idempotent, || {
            let url = &url;
            let query = &query;
            async move {
                let tran_id = if needs_tran_id {
                    match self.tran_ids.next_tran_id().await {
                        Ok(id) => id.to_string(),
                        Err(e) => return Outcome::Failed(BankError::TranId(e)),
                    }
                } else {
                    String::new()
                };
                let q = query(tran_id);
                let sent = self
                    .http
                    .get(url.as_str())
                    .bearer_auth(access_token)
                    .query(&q)
                    .send()
                    .await;
                let result = match sent {
                    Ok(resp) => Self::read::<R>(path, resp).await,
                    Err(e) => Err(transport_error(path, &e)),
                };
                match result.and_then(|r| check_api(&r).map(|()| r)) {
                    Ok(r) => {
                        tracing::debug!(path, "Open Banking call succeeded");
                        Outcome::Done(r)
                    }
                    Err(e) => Outcome::Failed(e),
                }
            }
        })
        .await
    }
}

fn transport_error(path: &str, e: &reqwest::Error) -> BankError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "transport error"
    };
    BankError::RetryLater {
        code: None,
        reason: format!("{path}: {what}"),
    }
}

/// A log-safe label of an error (no messages, which may echo input).
fn error_kind(e: &BankError) -> String {
    match e.code() {
        Some(code) => code.to_string(),
        None => match e {
            BankError::RetryLater { reason, .. } => reason.clone(),
            BankError::InvalidResponse(_) => "invalid response".into(),
            BankError::TranId(_) => "tran id".into(),
            _ => "error".into(),
        },
    }
}

/// Decodes a response body received with HTTP `status`: 2xx, or a non-2xx other than 5xx whose
/// body still parses with an `rsp_code`, are answers (to be classified by the caller); 5xx
/// and 429 without one are temporary failures; anything else is an invalid response.
pub fn decode_response<T: DeserializeOwned>(
    path: &str,
    status: u16,
    body: &[u8],
) -> Result<T, BankError> {
    let success = (200..300).contains(&status);
    let server_error = (500..600).contains(&status);
    if !success {
        if let Ok(err) = serde_json::from_slice::<crate::wire::GatewayError>(body)
            && !err.rsp_code.is_empty()
            && !server_error
        {
            return serde_json::from_slice::<T>(body)
                .map_err(|e| BankError::InvalidResponse(format!("{path}: {e}")));
        }
        let reason = format!("{path}: HTTP {status}");
        return Err(if server_error || status == 429 {
            BankError::RetryLater { code: None, reason }
        } else {
            BankError::InvalidResponse(reason)
        });
    }
    serde_json::from_slice::<T>(body)
        .map_err(|e| BankError::InvalidResponse(format!("{path}: {e}")))
}

/// A transaction list answer (already classified as a success) as a typed page.
pub fn transaction_page_from_wire(
    r: &TransactionListResponse,
) -> Result<TransactionPage, BankError> {
    let rows = r
        .res_list
        .iter()
        .map(Transaction::try_from)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| BankError::InvalidResponse(e.to_string()))?;
    let balance = if r.balance_amt.trim().is_empty() {
        rows.last().map(|t| t.after_balance).unwrap_or(Won::ZERO)
    } else {
        parse_wire_amount("balance_amt", &r.balance_amt)
            .map_err(|e| BankError::InvalidResponse(e.to_string()))?
    };
    let more = r.next_page_yn.trim() == "Y";
    // `Y` with an empty key (the real testbed's canned answer): following an empty key would
    // restart at the first page forever, so this page is the last.
    let more_without_key = more && r.befor_inquiry_trace_info.trim().is_empty();
    let next_trace = (more && !more_without_key).then(|| r.befor_inquiry_trace_info.clone());
    Ok(TransactionPage {
        balance,
        rows,
        next_trace,
        more_without_key,
    })
}

/// A refresh the token endpoint refused as a request (O0001 and friends) cannot succeed by
/// retrying it later: only the customer can renew the link. Transport failures stay transient.
fn refused_refresh(e: BankError) -> BankError {
    match e {
        BankError::BadRequest { code, message, .. }
        | BankError::InvalidGrant {
            code: Some(code),
            message,
        } => BankError::RelinkNeeded { code, message },
        BankError::InvalidGrant {
            code: None,
            message,
        } => BankError::RelinkNeeded {
            code: "refresh_refused".into(),
            message,
        },
        other => other,
    }
}

fn user_accounts(
    user_seq_no: &str,
    user_name: String,
    accounts: Vec<crate::wire::RegisteredAccount>,
) -> UserAccounts {
    UserAccounts {
        user_seq_no: user_seq_no.to_string(),
        user_name,
        accounts,
    }
}

#[async_trait]
impl OpenBankingApi for HttpClient {
    fn authorize_url(&self, state: &str, options: &AuthorizeOptions) -> String {
        let query = AuthorizeQuery {
            response_type: "code".into(),
            client_id: self.config.client_id.clone(),
            redirect_uri: self.config.redirect_uri.clone(),
            scope: options.scope.clone(),
            state: state.to_string(),
            auth_type: options.auth_type.as_wire().into(),
            client_info: options.client_info.clone(),
            lang: Some("kor".into()),
        };
        let encoded = serde_urlencoded::to_string(&query).unwrap_or_default();
        format!(
            "{}/oauth/2.0/authorize?{}",
            self.config.base_url,
            encoded.replace('+', "%20")
        )
    }

    async fn exchange_code(&self, code: &str) -> Result<TokenSet, BankError> {
        self.token(
            TokenRequest {
                grant_type: "authorization_code".into(),
                code: Some(code.to_string()),
                client_id: Some(self.config.client_id.clone()),
                client_secret: Some(self.config.client_secret.expose().to_string()),
                redirect_uri: Some(self.config.redirect_uri.clone()),
                ..Default::default()
            },
            RetryPolicy::SingleUse,
        )
        .await
    }

    async fn refresh_token(&self, refresh_token: &str, scope: &str) -> Result<TokenSet, BankError> {
        self.token(
            TokenRequest {
                grant_type: "refresh_token".into(),
                client_id: Some(self.config.client_id.clone()),
                client_secret: Some(self.config.client_secret.expose().to_string()),
                refresh_token: Some(refresh_token.to_string()),
                scope: Some(scope.trim().to_string()).filter(|s| !s.is_empty()),
                ..Default::default()
            },
            RetryPolicy::SingleUse,
        )
        .await
        .map_err(refused_refresh)
    }

    async fn bank_status(&self, access_token: &str) -> Result<Vec<BankAvailability>, BankError> {
        let r: BankStatusResponse = self
            .api_get("/v2.0/bank/status", access_token, false, |_| {
                BankStatusRequest::default()
            })
            .await?;
        Ok(r.res_list
            .into_iter()
            .map(|b| BankAvailability {
                available: b.bank_status.trim() != "N",
                bank_code_std: b.bank_code_std,
                bank_name: b.bank_name,
            })
            .collect())
    }

    async fn client_credentials(&self) -> Result<TokenSet, BankError> {
        self.token(
            TokenRequest {
                grant_type: "client_credentials".into(),
                client_id: Some(self.config.client_id.clone()),
                client_secret: Some(self.config.client_secret.expose().to_string()),
                scope: Some("oob".into()),
                ..Default::default()
            },
            RetryPolicy::Idempotent,
        )
        .await
    }

    async fn user_me(
        &self,
        access_token: &str,
        user_seq_no: &str,
    ) -> Result<UserAccounts, BankError> {
        let r: UserMeResponse = self
            .api_get("/v2.0/user/me", access_token, false, |_| UserMeRequest {
                user_seq_no: user_seq_no.to_string(),
            })
            .await?;
        Ok(user_accounts(user_seq_no, r.user_name, r.res_list))
    }

    async fn account_list(
        &self,
        access_token: &str,
        user_seq_no: &str,
    ) -> Result<UserAccounts, BankError> {
        let r: AccountListResponse = self
            .api_get("/v2.0/account/list", access_token, false, |_| {
                AccountListRequest {
                    user_seq_no: user_seq_no.to_string(),
                    include_cancel_yn: Some("N".into()),
                    sort_order: Some("D".into()),
                }
            })
            .await?;
        Ok(user_accounts(user_seq_no, r.user_name, r.res_list))
    }

    async fn balance(
        &self,
        access_token: &str,
        fintech_use_num: &str,
    ) -> Result<Balance, BankError> {
        let r: BalanceResponse = self
            .api_get(
                "/v2.0/account/balance/fin_num",
                access_token,
                true,
                |bank_tran_id| BalanceRequest {
                    bank_tran_id,
                    fintech_use_num: fintech_use_num.to_string(),
                    tran_dtime: tran_dtime_now(),
                },
            )
            .await?;
        Balance::try_from(&r).map_err(|e| BankError::InvalidResponse(e.to_string()))
    }

    async fn transaction_page(
        &self,
        access_token: &str,
        query: &TransactionQuery,
        trace: Option<&str>,
    ) -> Result<TransactionPage, BankError> {
        let r: TransactionListResponse = self
            .api_get(
                "/v2.0/account/transaction_list/fin_num",
                access_token,
                true,
                |bank_tran_id| TransactionListRequest {
                    bank_tran_id,
                    fintech_use_num: query.fintech_use_num.clone(),
                    inquiry_type: query.inquiry_type.as_wire().into(),
                    inquiry_base: "D".into(),
                    from_date: wire_date(query.from_date),
                    from_time: String::new(),
                    to_date: wire_date(query.to_date),
                    to_time: String::new(),
                    sort_order: query.sort_order.as_wire().into(),
                    tran_dtime: tran_dtime_now(),
                    befor_inquiry_trace_info: trace.unwrap_or("").to_string(),
                },
            )
            .await?;
        transaction_page_from_wire(&r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tran_id::InMemoryTranIdSource;

    fn client() -> HttpClient {
        let cfg = ClientConfig::new(
            "http://127.0.0.1:1/",
            "id",
            "secret",
            "http://localhost:8080/cb",
            "M202600001",
        );
        let ids = Arc::new(InMemoryTranIdSource::starting_at("M202600001", 0).expect("ids"));
        HttpClient::new(cfg, ids).expect("client")
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut cfg = ClientConfig::new("http://x", "id", "s", "http://cb", "M202600001");
        cfg.backoff_base = Duration::from_millis(100);
        cfg.backoff_max = Duration::from_millis(1000);
        for _ in 0..50 {
            let d0 = cfg.backoff(0);
            assert!(
                d0 >= Duration::from_millis(100) && d0 <= Duration::from_millis(200),
                "{d0:?}"
            );
            let d2 = cfg.backoff(2);
            assert!(
                d2 >= Duration::from_millis(400) && d2 <= Duration::from_millis(800),
                "{d2:?}"
            );
            assert!(cfg.backoff(30) <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn the_authorize_url_carries_every_required_parameter() {
        let url = client().authorize_url("s".repeat(32).as_str(), &AuthorizeOptions::default());
        assert!(
            url.starts_with(
                "http://127.0.0.1:1/oauth/2.0/authorize?response_type=code&client_id=id"
            )
        );
        assert!(url.contains("scope=login%20inquiry"));
        assert!(url.contains("redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fcb"));
        assert!(url.contains("auth_type=0"));
        assert!(url.contains(&format!("state={}", "s".repeat(32))));
    }

    #[test]
    fn bad_configuration_is_rejected() {
        let ids = Arc::new(InMemoryTranIdSource::starting_at("M202600001", 0).expect("ids"));
        let cfg = ClientConfig::new("ftp://x", "id", "s", "http://cb", "M202600001");
        assert!(matches!(
            HttpClient::new(cfg, ids.clone()),
            Err(BankError::Config(_))
        ));
        let cfg = ClientConfig::new("http://x", "id", "s", "http://cb", "short");
        assert!(matches!(
            HttpClient::new(cfg, ids),
            Err(BankError::Config(_))
        ));
    }

    fn page(rows: &[(&str, i64)], next: Option<&str>, more_without_key: bool) -> TransactionPage {
        TransactionPage {
            balance: Won::new(1),
            rows: rows
                .iter()
                .map(|(memo, amt)| {
                    Transaction::try_from(&crate::wire::TransactionRow {
                        tran_date: "20190101".into(),
                        tran_time: "010101".into(),
                        inout_type: "입금".into(),
                        print_content: (*memo).into(),
                        tran_amt: amt.to_string(),
                        after_balance_amt: "1000".into(),
                        ..Default::default()
                    })
                    .expect("row")
                })
                .collect(),
            next_trace: next.map(str::to_string),
            more_without_key,
        }
    }

    #[test]
    fn a_y_with_an_empty_key_is_the_last_page() {
        let r = TransactionListResponse {
            next_page_yn: "Y".into(),
            befor_inquiry_trace_info: " ".into(),
            balance_amt: "5".into(),
            ..Default::default()
        };
        let p = transaction_page_from_wire(&r).expect("accepted, not rejected");
        assert_eq!(p.next_trace, None);
        assert!(p.more_without_key);
        let mut walk = PageWalk::new(10);
        assert_eq!(
            walk.accept(&p),
            PageVerdict::LastWithWarning(PagingStop::EmptyKey)
        );
        let r = TransactionListResponse {
            next_page_yn: "N".into(),
            ..Default::default()
        };
        assert!(
            !transaction_page_from_wire(&r)
                .expect("page")
                .more_without_key
        );
    }

    #[test]
    fn a_walk_ends_on_unchanged_or_cycling_keys_repeated_pages_and_its_cap() {
        // A key that never changes: the second page is new rows, then the walk stops.
        let mut walk = PageWalk::new(100);
        assert_eq!(
            walk.accept(&page(&[("a", 1)], Some("K"), false)),
            PageVerdict::More
        );
        assert_eq!(walk.trace(), Some("K"));
        assert_eq!(
            walk.accept(&page(&[("b", 1)], Some("K"), false)),
            PageVerdict::LastWithWarning(PagingStop::UnchangedKey)
        );
        // A cycle A → B → A.
        let mut walk = PageWalk::new(100);
        assert_eq!(
            walk.accept(&page(&[("a", 1)], Some("A"), false)),
            PageVerdict::More
        );
        assert_eq!(
            walk.accept(&page(&[("b", 1)], Some("B"), false)),
            PageVerdict::More
        );
        assert_eq!(
            walk.accept(&page(&[("c", 1)], Some("A"), false)),
            PageVerdict::LastWithWarning(PagingStop::RepeatedKey)
        );
        // A page repeating the previous one is dropped, whatever its key says.
        let mut walk = PageWalk::new(100);
        let same = [("x", 5), ("x", 5)];
        assert_eq!(
            walk.accept(&page(&same, Some("1"), false)),
            PageVerdict::More
        );
        assert_eq!(
            walk.accept(&page(&same, Some("2"), false)),
            PageVerdict::Discard(PagingStop::RepeatedPage)
        );
        // The cap.
        let mut walk = PageWalk::new(3);
        assert_eq!(
            walk.accept(&page(&[("a", 1)], Some("1"), false)),
            PageVerdict::More
        );
        assert_eq!(
            walk.accept(&page(&[("a", 2)], Some("2"), false)),
            PageVerdict::More
        );
        assert_eq!(
            walk.accept(&page(&[("a", 3)], Some("3"), false)),
            PageVerdict::LastWithWarning(PagingStop::PageCap)
        );
        assert_eq!(walk.pages(), 3);
        // A normal end.
        let mut walk = PageWalk::new(3);
        assert_eq!(walk.accept(&page(&[], None, false)), PageVerdict::Last);
    }

    #[test]
    fn a_refused_refresh_needs_a_relink() {
        let e = refused_refresh(BankError::BadRequest {
            code: "O0001".into(),
            message: "인증 파라미터 오류([3000103])".into(),
            detail: Some("3000103".into()),
        });
        assert!(e.needs_relink(), "{e:?}");
        assert_eq!(e.code(), Some("O0001"));
        let e = refused_refresh(BankError::RetryLater {
            code: None,
            reason: "timed out".into(),
        });
        assert!(e.is_transient());
    }

    #[tokio::test]
    async fn a_refused_connection_is_transient_after_bounded_retries() {
        let mut c = client();
        c.config.max_retries = 2;
        c.config.backoff_base = Duration::from_millis(1);
        c.config.backoff_max = Duration::from_millis(2);
        let err = c
            .balance("token", "1")
            .await
            .expect_err("nothing listens on port 1");
        assert!(err.is_transient(), "{err:?}");
    }
}
