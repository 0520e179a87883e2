//! The bank half's use cases: linking through Open Banking OAuth, incremental idempotent sync,
//! and categorisation (the dictionary plus the customer's rules).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use async_trait::async_trait;
use chrono::{Duration, NaiveDate, Utc};
use ginkgo_domain::time::{kst, today_kst};
use ginkgo_insight::categorize::{Categorizer, DictionaryMatcher, Rule, RuleKind, Source};
use ginkgo_insight::category::Category;
use ginkgo_insight::dictionary::Dictionary;
use ginkgo_insight::normalize::normalize;
use ginkgo_insight::txn::{Direction, Txn};
use ginkgo_openbanking::client::{AuthorizeOptions, PageVerdict, PageWalk, TransactionQuery};
use ginkgo_openbanking::{BankError, BankTranId, OpenBankingApi, TranIdError, TranIdSource};
use ginkgo_store::{
    BalanceDates, BankAccountInfo, BankLink, BankTxn, CategoryChange, NewBankLink, NewBankTxn,
    RuleRow, Store, StoreError, SyncRecord, UserId,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// `bank_tran_id`s from the database's per-day counter: unique across replicas; the
/// installation prefix (`bank.tran_id_prefix`) keeps installations sharing the institution code
/// apart.
pub struct StoreTranIds {
    pub store: Arc<dyn Store>,
    pub institution_code: String,
    pub prefix: String,
}

#[async_trait]
impl TranIdSource for StoreTranIds {
    async fn next_tran_id(&self) -> Result<BankTranId, TranIdError> {
        let day = Utc::now().with_timezone(&kst()).date_naive();
        let n = self
            .store
            .next_tran_id_sequence(day)
            .await
            .map_err(|e| TranIdError::Unavailable(e.to_string()))?;
        BankTranId::from_prefixed_sequence(&self.institution_code, &self.prefix, n)
    }
}

/// The built-in dictionary's matcher, built once per process and shared by every categoriser.
fn dictionary_matcher() -> Result<Arc<DictionaryMatcher>, ApiError> {
    static MATCHER: OnceLock<Option<Arc<DictionaryMatcher>>> = OnceLock::new();
    MATCHER
        .get_or_init(|| {
            DictionaryMatcher::new(&Dictionary::builtin())
                .map(Arc::new)
                .map_err(|e| tracing::error!(error = %e, "cannot build the keyword dictionary"))
                .ok()
        })
        .clone()
        .ok_or_else(ApiError::internal)
}

pub fn to_rule(r: &RuleRow) -> Option<Rule> {
    Some(Rule {
        id: r.id,
        kind: if r.kind == "equals" {
            RuleKind::Equals
        } else {
            RuleKind::Contains
        },
        pattern: r.pattern.clone(),
        category: Category::from_code(&r.category)?,
        position: r.position,
    })
}

/// A categoriser for `rules` (the shared dictionary matcher plus a rule automaton built now).
pub fn categorizer(rules: &[RuleRow]) -> Result<Categorizer, ApiError> {
    let rules: Vec<Rule> = rules.iter().filter_map(to_rule).collect();
    Categorizer::with_dictionary(dictionary_matcher()?, &rules)
        .map_err(|e| ApiError::validation(e.to_string()))
}

/// A fingerprint of a rule set: every field that changes how it files a memo. Two replicas
/// reading the same rules compute the same value, so a cached categoriser is never stale.
fn rules_version(rules: &[RuleRow]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        h = (h ^ 0xff).wrapping_mul(0x0100_0000_01b3);
    };
    for r in rules {
        eat(&r.id.to_le_bytes());
        eat(r.kind.as_bytes());
        eat(r.pattern.as_bytes());
        eat(r.category.as_bytes());
        eat(&r.position.to_le_bytes());
    }
    h
}

/// Categorisers per login, keyed by the version of the login's rule set: built once per rule
/// set (sync, recompute and preview reuse it), rebuilt when the rules change.
#[derive(Default)]
pub struct CategorizerCache {
    entries: Mutex<HashMap<UserId, (u64, Arc<Categorizer>)>>,
}

impl CategorizerCache {
    /// The categoriser for `rules` of `user_id`, building it only when the rule set changed.
    pub fn get(&self, user_id: UserId, rules: &[RuleRow]) -> Result<Arc<Categorizer>, ApiError> {
        let version = rules_version(rules);
        if let Some((v, c)) = self.lock().get(&user_id)
            && *v == version
        {
            return Ok(c.clone());
        }
        let built = Arc::new(categorizer(rules)?);
        let mut entries = self.lock();
        // Bounded: a busy server keeps the categorisers of its most recent logins only.
        if entries.len() >= 10_000 {
            entries.clear();
        }
        entries.insert(user_id, (version, built.clone()));
        Ok(built)
    }

    /// Forgets a login's categoriser (after a rule change on this replica).
    pub fn invalidate(&self, user_id: UserId) {
        self.lock().remove(&user_id);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<UserId, (u64, Arc<Categorizer>)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The login's categoriser, from the cache.
pub async fn categorizer_of(
    state: &AppState,
    user_id: UserId,
) -> Result<Arc<Categorizer>, ApiError> {
    let rules = state.store().rules(user_id).await?;
    state.categorizers().get(user_id, &rules)
}

pub fn source_parts(source: &Source) -> (&'static str, Option<i64>) {
    match source {
        Source::Manual => ("manual", None),
        Source::Rule { id } => ("rule", Some(*id)),
        Source::Dictionary { .. } => ("dictionary", None),
        Source::Default => ("default", None),
    }
}

pub fn to_txn(t: &BankTxn) -> Txn {
    Txn {
        id: t.id,
        account_id: t.account_id,
        date: t.date,
        time: chrono::NaiveTime::parse_from_str(&t.time, "%H%M%S").ok(),
        direction: if t.direction == "in" {
            Direction::In
        } else {
            Direction::Out
        },
        amount: t.amount,
        balance_after: t.balance_after,
        memo: t.memo.clone(),
        tran_type: t.tran_type.clone(),
        category: Category::from_code(&t.category),
        category_manual: t.manual,
    }
}

fn bank_error(e: BankError) -> ApiError {
    if e.needs_relink() {
        ApiError::conflict(
            "relink_needed",
            "the bank link has expired; link the bank again",
        )
    } else if e.is_transient() {
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "bank_unavailable",
            "the bank is not answering; try again later",
        )
    } else {
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "bank_error",
            format!("the bank refused: {}", e.code().unwrap_or("unknown")),
        )
    }
}

fn client(state: &AppState) -> Result<&Arc<dyn OpenBankingApi>, ApiError> {
    state.bank().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "bank_not_configured",
            "bank linking is not configured on this server",
        )
    })
}

/// A fresh OAuth `state` bound to the login; answers the consent page's URL.
/// The cookie that ties a link request to the browser that started it.
pub const LINK_COOKIE: &str = "ginkgo_bank_link";

/// The value of [`LINK_COOKIE`] for a link request: an HMAC of its `state`, so that only the
/// browser that started linking can finish it (RFC 6749 §10.12) and nothing needs storing.
pub fn link_binding(state: &AppState, oauth_state: &str) -> Result<String, ApiError> {
    use hmac::{Hmac, Mac};
    let mut mac =
        Hmac::<sha2::Sha256>::new_from_slice(state.config().auth.jwt_secret.expose().as_bytes())
            .map_err(|_| ApiError::internal())?;
    mac.update(b"ginkgo bank link\0");
    mac.update(oauth_state.as_bytes());
    Ok(hex::encode(mac.finalize().into_bytes()))
}

/// A link started: where to send the browser, and the value of its [`LINK_COOKIE`].
pub struct LinkRequest {
    pub authorize_url: String,
    pub binding: String,
}

pub async fn start_link(state: &AppState, user_id: UserId) -> Result<LinkRequest, ApiError> {
    let api = client(state)?;
    let nonce: String = {
        use rand::Rng;
        let mut rng = rand::rngs::OsRng;
        (0..32)
            .map(|_| {
                char::from(
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                        [rng.gen_range(0..62)],
                )
            })
            .collect()
    };
    state
        .store()
        .create_oauth_state(&nonce, user_id, Utc::now() + Duration::minutes(10))
        .await?;
    Ok(LinkRequest {
        authorize_url: api.authorize_url(&nonce, &AuthorizeOptions::default()),
        binding: link_binding(state, &nonce)?,
    })
}

/// The OAuth callback: spends the state, exchanges the code at once, stores the tokens encrypted,
/// and reads the accounts. Answers the login the link belongs to.
pub async fn finish_link(
    state: &AppState,
    oauth_state: &str,
    code: &str,
    binding: Option<&str>,
) -> Result<UserId, ApiError> {
    let api = client(state)?;
    // Another browser (someone who learned the state) cannot finish this link; the state stays
    // usable by its own browser.
    let expected = link_binding(state, oauth_state)?;
    let same_browser = binding.is_some_and(|b| {
        use subtle::ConstantTimeEq;
        bool::from(b.as_bytes().ct_eq(expected.as_bytes()))
    });
    if !same_browser {
        return Err(ApiError::bad_request(
            "state_mismatch",
            "the link was started in another browser",
        ));
    }
    let user_id = state
        .store()
        .take_oauth_state(oauth_state, Utc::now())
        .await?
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid_state",
                "the link request is unknown, expired or already used",
            )
        })?;
    let tokens = api.exchange_code(code).await.map_err(|e| match e {
        BankError::InvalidGrant { .. } => {
            ApiError::bad_request("invalid_code", "the bank refused the authorization code")
        }
        other => bank_error(other),
    })?;
    let user_seq_no = tokens.user_seq_no.clone().ok_or_else(|| {
        ApiError::new(
            axum::http::StatusCode::BAD_GATEWAY,
            "bank_error",
            "the bank answered no user number",
        )
    })?;
    // A bank identity belongs to one login: an authorization code of someone who already linked
    // their bank (say, intercepted before their own browser spent it) links nothing here.
    // Every link counts, whatever its status: one waiting for a relink still belongs to its login.
    let taken = state
        .store()
        .bank_links_with_identity(&user_seq_no)
        .await?
        .iter()
        .any(|l| l.user_id != user_id);
    if taken {
        return Err(ApiError::conflict(
            "bank_user_linked_elsewhere",
            "this bank identity is already linked to another login",
        ));
    }
    let cipher = state.cipher().ok_or_else(ApiError::internal)?;
    let link = state
        .store()
        .save_bank_link(NewBankLink {
            user_id,
            user_seq_no: user_seq_no.clone(),
            access_token_enc: cipher.encrypt(tokens.access_token.expose()),
            refresh_token_enc: tokens
                .refresh_token
                .as_ref()
                .map(|t| cipher.encrypt(t.expose())),
            scope: tokens.scopes.join(" "),
            access_expires_at: Utc::now() + Duration::seconds(tokens.expires_in),
            now: Utc::now(),
        })
        .await?;
    let me = api
        .user_me(tokens.access_token.expose(), &user_seq_no)
        .await
        .map_err(bank_error)?;
    state
        .store()
        .upsert_bank_accounts(user_id, link.id, account_infos(&me.accounts))
        .await?;
    crate::insight::remember_own_name(state, user_id, &me.user_name).await?;
    tracing::info!(user_id, accounts = me.accounts.len(), "bank linked");
    // The first sync starts now, on its own: the bank page follows its record. One already
    // running (a relink during a sync) is left to finish.
    if state.config().bank.sync_on_link {
        match start_sync(state, user_id).await {
            Ok(started) => {
                tracing::info!(user_id, sync_id = started.record.id, "first sync started")
            }
            Err(e) => tracing::warn!(user_id, code = e.code, "first sync not started"),
        }
    }
    Ok(user_id)
}

fn account_infos(accounts: &[ginkgo_openbanking::wire::RegisteredAccount]) -> Vec<BankAccountInfo> {
    accounts
        .iter()
        .map(|a| BankAccountInfo {
            fintech_use_num: a.fintech_use_num.clone(),
            bank_name: a.bank_name.clone(),
            bank_code: a.bank_code_std.clone(),
            account_alias: a.account_alias.clone(),
            account_num_masked: a.account_num_masked.clone(),
        })
        .collect()
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SyncOutcome {
    /// The sync's record (see `GET /api/v1/bank/syncs/{id}`).
    #[schema(example = 41)]
    pub sync_id: i64,
    /// `ok`; `warning` when something is worth knowing though every reachable account synced
    /// (see `warnings`: the bank no longer reports some linked accounts, a bank under
    /// maintenance was skipped, the center's paging had to be cut short, rows dated outside the
    /// asked period); `partial` or `failed` when accounts could not be synced.
    #[schema(example = "ok")]
    pub status: String,
    #[schema(example = 57)]
    pub added: u64,
    pub accounts: Vec<AccountSyncOutcome>,
    /// Warning codes, each once: `disconnected`, `bank_maintenance`, `out_of_period`,
    /// `paging_empty_key`, `paging_unchanged_key`, `paging_repeated_key`,
    /// `paging_repeated_page`, `paging_page_cap`.
    #[schema(example = json!([]))]
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AccountSyncOutcome {
    #[schema(example = 7)]
    pub account_id: i64,
    #[schema(example = 19)]
    pub added: u64,
    /// `ok`, `disconnected`, `maintenance` (its bank was under maintenance: skipped), or an
    /// error code.
    #[schema(example = "ok")]
    pub status: String,
    /// What this account's sync warned about (a code of `warnings`).
    #[schema(example = json!(null))]
    pub warning: Option<String>,
    /// The account's bank (`bank_code_std`), for the metrics; not part of the answer.
    #[serde(skip)]
    pub bank_code: String,
}

fn relink_needed() -> ApiError {
    ApiError::conflict(
        "relink_needed",
        "the bank link has expired; link the bank again",
    )
}

fn unlinked() -> ApiError {
    ApiError::conflict("unlinked", "the bank was unlinked while the sync ran")
}

/// A usable access token of one link.
struct Auth {
    token: String,
    user_seq_no: String,
    link_id: i64,
    /// Whether this sync already refreshed the token (it refreshes at most once).
    refreshed: bool,
}

/// A usable access token, refreshed first when it expires within a day.
async fn access_token(
    state: &AppState,
    api: &Arc<dyn OpenBankingApi>,
    user_id: UserId,
) -> Result<Auth, ApiError> {
    let link = state
        .store()
        .bank_link(user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no bank is linked; link one first"))?;
    if link.status != "active" {
        return Err(relink_needed());
    }
    let cipher = state.cipher().ok_or_else(ApiError::internal)?;
    let access = cipher
        .decrypt(&link.access_token_enc)
        .map_err(|_| ApiError::internal())?;
    if link.access_expires_at > Utc::now() + Duration::days(1) {
        return Ok(Auth {
            token: access,
            user_seq_no: link.user_seq_no,
            link_id: link.id,
            refreshed: false,
        });
    }
    refresh(state, api, &link).await
}

/// Exchanges the link's refresh token (single use: the answer's successor is stored) and stores
/// the new tokens, on the link only if it still exists. A refused refresh marks the link
/// `relink_needed`.
async fn refresh(
    state: &AppState,
    api: &Arc<dyn OpenBankingApi>,
    link: &BankLink,
) -> Result<Auth, ApiError> {
    let user_id = link.user_id;
    let cipher = state.cipher().ok_or_else(ApiError::internal)?;
    let Some(refresh_enc) = &link.refresh_token_enc else {
        state
            .store()
            .set_bank_link_status(user_id, "relink_needed", Utc::now())
            .await?;
        return Err(relink_needed());
    };
    let refresh = cipher
        .decrypt(refresh_enc)
        .map_err(|_| ApiError::internal())?;
    match api.refresh_token(&refresh, &link.scope).await {
        Ok(tokens) => {
            let stored = state
                .store()
                .update_bank_tokens(
                    link.id,
                    NewBankLink {
                        user_id,
                        user_seq_no: link.user_seq_no.clone(),
                        access_token_enc: cipher.encrypt(tokens.access_token.expose()),
                        refresh_token_enc: Some(
                            cipher.encrypt(
                                tokens
                                    .refresh_token
                                    .as_ref()
                                    .map(|t| t.expose())
                                    .unwrap_or(&refresh),
                            ),
                        ),
                        scope: tokens.scopes.join(" "),
                        access_expires_at: Utc::now() + Duration::seconds(tokens.expires_in),
                        now: Utc::now(),
                    },
                )
                .await?;
            if !stored {
                return Err(unlinked());
            }
            tracing::info!(user_id, "bank token refreshed");
            Ok(Auth {
                token: tokens.access_token.expose().to_string(),
                user_seq_no: link.user_seq_no.clone(),
                link_id: link.id,
                refreshed: true,
            })
        }
        Err(e) if e.needs_relink() || matches!(e, BankError::InvalidGrant { .. }) => {
            state
                .store()
                .set_bank_link_status(user_id, "relink_needed", Utc::now())
                .await?;
            Err(relink_needed())
        }
        Err(e) => Err(bank_error(e)),
    }
}

/// After an O0003 (access token expired) from an API: refresh once, and let the caller retry.
/// `None` when the token was already refreshed in this sync (or the error is another one).
async fn refresh_after_expiry(
    state: &AppState,
    api: &Arc<dyn OpenBankingApi>,
    user_id: UserId,
    auth: &Auth,
    error: &BankError,
) -> Result<Option<Auth>, ApiError> {
    if auth.refreshed || error.code() != Some("O0003") {
        return Ok(None);
    }
    let link = state
        .store()
        .bank_link(user_id)
        .await?
        .filter(|l| l.id == auth.link_id)
        .ok_or_else(unlinked)?;
    refresh(state, api, &link).await.map(Some)
}

/// `in` or `out` for a row. `기타` (other) has no direction of its own: the sign of the balance
/// change decides (`previous` is the balance before the row, when known); without a previous
/// balance, or when it does not move, it counts as money out.
fn direction_code(
    d: ginkgo_openbanking::model::Direction,
    previous: Option<ginkgo_domain::Won>,
    after: ginkgo_domain::Won,
) -> &'static str {
    use ginkgo_openbanking::model::Direction as D;
    match d {
        D::Deposit => "in",
        D::Withdrawal | D::Payment => "out",
        D::Other => match previous {
            Some(p) if after > p => "in",
            _ => "out",
        },
    }
}

/// The login's sync lease, renewed every third of its time-to-live while held. Dropping it —
/// however the sync ends, a panic included — stops the renewal and gives the lease back; a
/// renewal that finds the lease taken by someone else raises `lost`, and the sync stops.
struct SyncLease {
    store: Arc<dyn Store>,
    name: String,
    holder: String,
    renewal: tokio::task::JoinHandle<()>,
    lost: Arc<AtomicBool>,
    released: bool,
}

impl SyncLease {
    async fn acquire(
        store: Arc<dyn Store>,
        name: String,
        ttl: Duration,
    ) -> Result<Option<SyncLease>, StoreError> {
        let holder = uuid::Uuid::new_v4().to_string();
        if !store
            .try_lease(&name, &holder, Utc::now(), Utc::now() + ttl)
            .await?
        {
            return Ok(None);
        }
        let lost = Arc::new(AtomicBool::new(false));
        let renewal = {
            let (store, name, holder, lost) =
                (store.clone(), name.clone(), holder.clone(), lost.clone());
            let every = (ttl / 3)
                .to_std()
                .unwrap_or(std::time::Duration::from_secs(1));
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    match store
                        .try_lease(&name, &holder, Utc::now(), Utc::now() + ttl)
                        .await
                    {
                        Ok(true) => {}
                        Ok(false) => {
                            tracing::warn!(lease = %name, "bank sync lease lost; stopping the sync");
                            lost.store(true, Ordering::SeqCst);
                            return;
                        }
                        // The database may be back before the lease runs out.
                        Err(e) => tracing::warn!(error = %e, "could not renew the bank sync lease"),
                    }
                }
            })
        };
        Ok(Some(SyncLease {
            store,
            name,
            holder,
            renewal,
            lost,
            released: false,
        }))
    }

    async fn release(mut self) {
        self.renewal.abort();
        self.released = true;
        if let Err(e) = self.store.release_lease(&self.name, &self.holder).await {
            tracing::warn!(error = %e, "could not release the bank sync lease");
        }
    }
}

impl Drop for SyncLease {
    fn drop(&mut self) {
        self.renewal.abort();
        if !self.released
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let (store, name, holder) =
                (self.store.clone(), self.name.clone(), self.holder.clone());
            rt.spawn(async move {
                let _ = store.release_lease(&name, &holder).await;
            });
        }
    }
}

/// A sync running in its own task.
pub struct StartedSync {
    /// Its record, `running` until the task finishes it.
    pub record: SyncRecord,
    /// The outcome. Dropping the handle does not stop the sync.
    pub done: tokio::task::JoinHandle<Result<SyncOutcome, ApiError>>,
}

/// Starts a sync of the login's accounts in a task of its own, independent of the caller: a
/// request that times out or a client that goes away does not cut it short. The sync holds the
/// login's lease (`sync_running` when another sync has it) and is recorded as `running` at once,
/// then finished with its outcome however it ends.
pub async fn start_sync(state: &AppState, user_id: UserId) -> Result<StartedSync, ApiError> {
    let api = client(state)?.clone();
    if state.store().bank_link(user_id).await?.is_none() {
        return Err(ApiError::not_found("no bank is linked; link one first"));
    }
    let store = state.store_arc();
    // A short lease, renewed while the sync runs: if this process dies, the next sync may
    // start as soon as the lease runs out.
    let ttl = Duration::seconds(
        i64::try_from(state.config().bank.sync_lease_seconds.max(3)).unwrap_or(60),
    );
    let Some(lease) =
        SyncLease::acquire(store.clone(), format!("bank-sync:{user_id}"), ttl).await?
    else {
        return Err(ApiError::conflict(
            "sync_running",
            "a sync of this bank link is already running",
        ));
    };
    let record = match store.begin_sync(user_id, Utc::now()).await {
        Ok(r) => r,
        Err(e) => {
            lease.release().await;
            return Err(e.into());
        }
    };
    let task_state = state.clone();
    let task_record = record.clone();
    let done =
        tokio::spawn(async move {
            let result = sync_inner(&task_state, &api, user_id, task_record.id, &lease.lost).await;
            let (status, added, accounts, error, warnings) = match &result {
            Ok(o) => (
                o.status.clone(),
                o.added,
                u32::try_from(o.accounts.len()).unwrap_or(u32::MAX),
                o.accounts
                    .iter()
                    .any(|a| a.status == "disconnected")
                    .then(|| {
                        "the bank no longer reports some linked accounts; link again to resume them"
                            .to_string()
                    }),
                o.warnings.clone(),
            ),
            Err(e) if matches!(e.code, "relink_needed" | "unlinked" | "sync_lease_lost") => {
                let status = if e.code == "sync_lease_lost" {
                    "interrupted"
                } else {
                    e.code
                };
                (status.to_string(), 0, 0, Some(e.message.clone()), Vec::new())
            }
            Err(e) => ("failed".to_string(), 0, 0, Some(e.message.clone()), Vec::new()),
        };
            let finished = SyncRecord {
                finished_at: Some(Utc::now()),
                status,
                accounts,
                added,
                error,
                warnings,
                ..task_record
            };
            if let Err(e) = task_state.store().finish_sync(user_id, finished).await {
                tracing::error!(user_id, error = %e, "could not record the end of a bank sync");
            }
            lease.release().await;
            result
        });
    Ok(StartedSync { record, done })
}

/// Runs a sync to its end (the schedule, `ginkgo bench sync`).
pub async fn sync_user(state: &AppState, user_id: UserId) -> Result<SyncOutcome, ApiError> {
    let started = start_sync(state, user_id).await?;
    match started.done.await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(user_id, error = %e, "bank sync task failed");
            Err(ApiError::internal())
        }
    }
}

fn check_lease(lost: &AtomicBool) -> Result<(), ApiError> {
    if lost.load(Ordering::SeqCst) {
        Err(ApiError::conflict(
            "sync_lease_lost",
            "the sync lost its lease (another process took over); it stopped",
        ))
    } else {
        Ok(())
    }
}

async fn sync_inner(
    state: &AppState,
    api: &Arc<dyn OpenBankingApi>,
    user_id: UserId,
    sync_id: i64,
    lost: &AtomicBool,
) -> Result<SyncOutcome, ApiError> {
    let store = state.store();
    let mut auth = access_token(state, api, user_id).await?;
    let me = match api.user_me(&auth.token, &auth.user_seq_no).await {
        Ok(me) => me,
        Err(e) => match refresh_after_expiry(state, api, user_id, &auth, &e).await? {
            // The stored expiry said the token was good, the bank said it expired: refreshed
            // once, asked again.
            Some(renewed) => {
                auth = renewed;
                match api.user_me(&auth.token, &auth.user_seq_no).await {
                    Ok(me) => me,
                    Err(e) => return Err(link_failure(state, user_id, e).await?),
                }
            }
            None => return Err(link_failure(state, user_id, e).await?),
        },
    };
    check_lease(lost)?;
    let known = store.bank_accounts(user_id).await?;
    let accounts = match store
        .upsert_bank_accounts(user_id, auth.link_id, account_infos(&me.accounts))
        .await
    {
        Ok(a) => a,
        Err(StoreError::NotFound) => return Err(unlinked()),
        Err(e) => return Err(e.into()),
    };
    let cat = categorizer_of(state, user_id).await?;
    let today = today_kst();
    let cfg = &state.config().bank;
    let mut outcome = SyncOutcome {
        sync_id,
        status: "ok".into(),
        added: 0,
        accounts: Vec::new(),
        warnings: Vec::new(),
    };
    let mut warnings = std::collections::BTreeSet::new();
    // Banks the center reports unavailable are skipped (and say so). The check is advisory:
    // when it fails, every account is tried as usual.
    let down: Vec<String> = match api.bank_status(&auth.token).await {
        Ok(banks) => banks
            .into_iter()
            .filter(|b| !b.available)
            .map(|b| b.bank_code_std)
            .collect(),
        Err(e) => {
            tracing::debug!(
                user_id,
                code = e.code().unwrap_or("none"),
                "bank/status not available"
            );
            Vec::new()
        }
    };
    // Accounts the bank stopped reporting (for instance after the center lost its
    // registrations): their history stays visible, the sync says so.
    for gone in known
        .iter()
        .filter(|k| !accounts.iter().any(|a| a.id == k.id))
    {
        warnings.insert("disconnected".to_string());
        outcome.accounts.push(AccountSyncOutcome {
            account_id: gone.id,
            added: 0,
            status: "disconnected".into(),
            warning: Some("disconnected".into()),
            bank_code: gone.bank_code.clone(),
        });
    }
    for account in accounts {
        check_lease(lost)?;
        // Unlinked meanwhile (perhaps on another replica): stop writing.
        if store
            .bank_link(user_id)
            .await?
            .is_none_or(|l| l.id != auth.link_id)
        {
            return Err(unlinked());
        }
        if down.contains(&account.bank_code) {
            store
                .finish_account_sync(
                    account.id,
                    None,
                    "maintenance",
                    Some("bank_maintenance"),
                    Utc::now(),
                )
                .await?;
            warnings.insert("bank_maintenance".to_string());
            outcome.accounts.push(AccountSyncOutcome {
                account_id: account.id,
                added: 0,
                status: "maintenance".into(),
                warning: Some("bank_maintenance".into()),
                bank_code: account.bank_code.clone(),
            });
            continue;
        }
        let from = match account.synced_through {
            Some(d) => d - Duration::days(i64::from(cfg.overlap_days)),
            None => today - Duration::days(i64::from(cfg.first_sync_days)),
        };
        let window = Window {
            from,
            to: today,
            previous: account.synced_through,
        };
        let mut result = sync_account(
            state,
            api,
            &auth.token,
            &cat,
            account.id,
            &account.fintech_use_num,
            window,
            lost,
        )
        .await;
        if let Err(e) = &result
            && let Some(renewed) = refresh_after_expiry(state, api, user_id, &auth, e).await?
        {
            auth = renewed;
            result = sync_account(
                state,
                api,
                &auth.token,
                &cat,
                account.id,
                &account.fintech_use_num,
                window,
                lost,
            )
            .await;
        }
        check_lease(lost)?;
        match result {
            Ok(done) => {
                // One warning per account is kept on it (the first, by code order); the sync
                // lists them all.
                let warning = done.warnings.iter().next().map(|w| w.to_string());
                warnings.extend(done.warnings.iter().map(|w| w.to_string()));
                store
                    .finish_account_sync(
                        account.id,
                        Some(done.synced_through),
                        "ok",
                        warning.as_deref(),
                        Utc::now(),
                    )
                    .await?;
                outcome.added += done.added;
                outcome.accounts.push(AccountSyncOutcome {
                    account_id: account.id,
                    added: done.added,
                    status: "ok".into(),
                    warning,
                    bank_code: account.bank_code.clone(),
                });
            }
            Err(e) => {
                let code = if e.needs_relink() {
                    "relink_needed"
                } else {
                    e.code().unwrap_or("bank_error")
                };
                tracing::warn!(
                    user_id,
                    account_id = account.id,
                    code,
                    "account sync failed"
                );
                store
                    .finish_account_sync(account.id, None, code, None, Utc::now())
                    .await?;
                if e.needs_relink() {
                    store
                        .set_bank_link_status(user_id, "relink_needed", Utc::now())
                        .await?;
                }
                outcome.status = "partial".into();
                outcome.accounts.push(AccountSyncOutcome {
                    account_id: account.id,
                    added: 0,
                    status: code.to_string(),
                    warning: None,
                    bank_code: account.bank_code.clone(),
                });
            }
        }
    }
    let synced = outcome
        .accounts
        .iter()
        .filter(|a| !matches!(a.status.as_str(), "disconnected" | "maintenance"))
        .collect::<Vec<_>>();
    outcome.warnings = warnings.into_iter().collect();
    if !synced.is_empty() && synced.iter().all(|a| a.status != "ok") {
        outcome.status = "failed".into();
    } else if outcome.status == "ok" && !outcome.warnings.is_empty() {
        outcome.status = "warning".into();
    }
    crate::metrics::bank_sync(&outcome);
    tracing::info!(user_id, added = outcome.added, status = %outcome.status, "bank sync finished");
    Ok(outcome)
}

/// A failure of the link as a whole (`user/me`): a relink is recorded when it is needed;
/// otherwise every account records the failed attempt (its last success stays), so that no
/// account keeps saying "synced" after a sync that could not reach it.
async fn link_failure(
    state: &AppState,
    user_id: UserId,
    e: BankError,
) -> Result<ApiError, ApiError> {
    let store = state.store();
    if e.needs_relink() {
        store
            .set_bank_link_status(user_id, "relink_needed", Utc::now())
            .await?;
    } else {
        let code = e.code().unwrap_or(if e.is_transient() {
            "bank_unavailable"
        } else {
            "bank_error"
        });
        for account in store.bank_accounts(user_id).await? {
            if account.sync_status == "disconnected" {
                continue;
            }
            store
                .finish_account_sync(account.id, None, code, None, Utc::now())
                .await?;
        }
    }
    Ok(bank_error(e))
}

/// A transaction's identity within one day (date, time, direction, amount, balance, memo,
/// type); identical rows are told apart by their ordinal.
type IdentityKey = (
    NaiveDate,
    chrono::NaiveTime,
    String,
    i64,
    i64,
    String,
    String,
);

/// The period one account's sync asks for, and the date it had synced through before.
#[derive(Debug, Clone, Copy)]
struct Window {
    from: NaiveDate,
    to: NaiveDate,
    previous: Option<NaiveDate>,
}

/// One account's sync that ended: rows added, the date it is synced through, its warnings.
struct AccountSync {
    added: u64,
    synced_through: NaiveDate,
    warnings: std::collections::BTreeSet<&'static str>,
}

/// Syncs one account: its balance, then every page of its transactions in the window under a
/// [`PageWalk`] (an empty, unchanged or repeated key, a repeated page or the page cap ends it
/// with a warning; a repeated page is not stored). Rows dated outside the window are stored,
/// flagged. Identical rows keep their ordinals (they are real repeated transactions).
#[allow(clippy::too_many_arguments)]
async fn sync_account(
    state: &AppState,
    api: &Arc<dyn OpenBankingApi>,
    token: &str,
    cat: &Categorizer,
    account_id: i64,
    fin: &str,
    window: Window,
    lost: &AtomicBool,
) -> Result<AccountSync, BankError> {
    let Window { from, to, .. } = window;
    let store = state.store();
    let store_err = |e: StoreError| BankError::RetryLater {
        code: None,
        reason: format!("storage: {e}"),
    };
    let balance = api.balance(token, fin).await?;
    store
        .record_balance(
            account_id,
            balance.balance,
            balance.available,
            &balance.product_name,
            BalanceDates {
                account_issue_date: balance.account_issue_date,
                maturity_date: balance.maturity_date,
                last_tran_date: balance.last_tran_date,
            },
        )
        .await
        .map_err(store_err)?;
    let query = TransactionQuery::all(fin, from, to);
    let max_pages =
        usize::try_from(state.config().bank.max_pages_per_account).unwrap_or(usize::MAX);
    let mut walk = PageWalk::new(max_pages);
    let mut warnings = std::collections::BTreeSet::new();
    let mut ordinals: HashMap<IdentityKey, u32> = HashMap::new();
    let mut current_day: Option<NaiveDate> = None;
    let mut buffer: Vec<NewBankTxn> = Vec::new();
    let mut added = 0u64;
    let mut last_in_period: Option<NaiveDate> = None;
    let mut capped = false;
    // The balance before the window's first row, for rows whose direction is `기타`.
    let mut previous = store
        .bank_balance_before(account_id, from)
        .await
        .map_err(store_err)?;
    loop {
        if lost.load(Ordering::SeqCst) {
            return Err(BankError::RetryLater {
                code: None,
                reason: "the sync lease was lost".into(),
            });
        }
        let page = match api.transaction_page(token, &query, walk.trace()).await {
            Ok(p) => p,
            Err(BankError::Unexpected { code, .. }) if code == "A0018" && walk.pages() == 0 => {
                break;
            }
            Err(e) => return Err(e),
        };
        let verdict = walk.accept(&page);
        if let PageVerdict::Discard(stop) = verdict {
            tracing::warn!(
                account_id,
                code = stop.code(),
                "transaction paging cut short"
            );
            warnings.insert(stop.code());
            break;
        }
        for t in page.rows {
            if current_day != Some(t.date) {
                ordinals.clear();
                current_day = Some(t.date);
            }
            let out_of_period = t.date < from || t.date > to;
            if out_of_period {
                warnings.insert("out_of_period");
            } else {
                last_in_period = Some(t.date);
            }
            let direction = direction_code(t.direction, previous, t.after_balance);
            previous = Some(t.after_balance);
            let key = (
                t.date,
                t.time,
                direction.to_string(),
                t.amount.get(),
                t.after_balance.get(),
                t.memo.clone(),
                t.tran_type.clone(),
            );
            let n = ordinals.entry(key).or_insert(0);
            let ordinal = *n;
            *n += 1;
            let memo_norm = normalize(&t.memo);
            let dir = if direction == "in" {
                Direction::In
            } else {
                Direction::Out
            };
            let c = cat.categorize(&memo_norm, dir);
            let (source, rule_id) = source_parts(&c.source);
            buffer.push(NewBankTxn {
                date: t.date,
                time: t.time.format("%H%M%S").to_string(),
                direction: direction.to_string(),
                tran_type: t.tran_type,
                memo: t.memo,
                memo_norm,
                amount: t.amount,
                balance_after: t.after_balance,
                branch_name: t.branch_name,
                ordinal,
                category: c.category.code().to_string(),
                category_source: source.to_string(),
                rule_id,
                out_of_period,
            });
        }
        if buffer.len() >= 5_000 {
            added += store
                .insert_bank_transactions(account_id, std::mem::take(&mut buffer))
                .await
                .map_err(store_err)?;
        }
        match verdict {
            PageVerdict::More => {}
            PageVerdict::Last => break,
            PageVerdict::LastWithWarning(stop) | PageVerdict::Discard(stop) => {
                tracing::warn!(
                    account_id,
                    code = stop.code(),
                    "transaction paging cut short"
                );
                warnings.insert(stop.code());
                capped = stop == ginkgo_openbanking::PagingStop::PageCap;
                break;
            }
        }
    }
    if !buffer.is_empty() {
        added += store
            .insert_bank_transactions(account_id, buffer)
            .await
            .map_err(store_err)?;
    }
    // Cut at the page cap, the account is synced only through the last day read (the next
    // sync goes on from there, minus the overlap), never backwards.
    let synced_through = if capped {
        last_in_period.max(window.previous).unwrap_or(from).min(to)
    } else {
        to
    };
    Ok(AccountSync {
        added,
        synced_through,
        warnings,
    })
}

/// Re-files what a rule change can touch: transactions whose memo contains one of `patterns`
/// (normalised) or whose category came from one of `rule_ids`. Hand-filed ones never change.
pub async fn recompute(
    state: &AppState,
    user_id: UserId,
    patterns: &[String],
    rule_ids: &[i64],
) -> Result<u64, ApiError> {
    let store = state.store();
    let patterns: Vec<String> = patterns
        .iter()
        .map(|p| normalize(p))
        .filter(|p| !p.is_empty())
        .collect();
    let touched = store
        .bank_transactions_touched(user_id, patterns, rule_ids.to_vec())
        .await?;
    if touched.is_empty() {
        return Ok(0);
    }
    let cat = categorizer_of(state, user_id).await?;
    let mut refiled = 0u64;
    let changes: Vec<CategoryChange> = touched
        .iter()
        .filter(|t| !t.manual)
        .filter_map(|t| {
            let c = cat.categorize(
                &t.memo_norm,
                if t.direction == "in" {
                    Direction::In
                } else {
                    Direction::Out
                },
            );
            let (source, rule_id) = source_parts(&c.source);
            let code = c.category.code();
            if code != t.category {
                refiled += 1;
            }
            (code != t.category || source != t.category_source || rule_id != t.rule_id).then(|| {
                CategoryChange {
                    txn_id: t.id,
                    category: code.to_string(),
                    source: source.to_string(),
                    rule_id,
                }
            })
        })
        .collect();
    // Every change is written (a row filed by another rule now says so); the answer counts the
    // rows whose category changed, as a preview does.
    store.apply_category_changes(user_id, changes).await?;
    Ok(refiled)
}

/// The rule a save of (`kind`, `pattern`) would update: the one of the same kind whose pattern
/// normalises to the same text (so that "스타벅스  강남R점" and "스타벅스 강남r점" are one rule).
pub fn same_rule<'a>(rules: &'a [RuleRow], kind: &str, pattern: &str) -> Option<&'a RuleRow> {
    let wanted = normalize(pattern);
    rules
        .iter()
        .find(|r| r.kind == kind && normalize(&r.pattern) == wanted)
}

/// Creates or updates the rule (`kind`, `pattern`) → `category` and puts it first: a re-filing
/// wins over every older rule. A rule whose pattern is the same once normalised is updated
/// rather than duplicated.
pub async fn save_rule(
    state: &AppState,
    user_id: UserId,
    kind: &str,
    pattern: &str,
    category: &str,
) -> Result<RuleRow, ApiError> {
    let rules = state.store().rules(user_id).await?;
    let pattern = same_rule(&rules, kind, pattern)
        .map(|r| r.pattern.clone())
        .unwrap_or_else(|| pattern.trim().to_string());
    let rule = state
        .store()
        .upsert_rule(user_id, kind, &pattern, category)
        .await?;
    state.categorizers().invalidate(user_id);
    Ok(rule)
}

/// The rule set [`save_rule`] would leave: the saved rule first (with the id it would keep,
/// `-1` for a new one), then every other rule in its current order.
pub fn rules_after_save(
    rules: &[RuleRow],
    kind: &str,
    pattern: &str,
    category: &str,
) -> Vec<RuleRow> {
    let existing = same_rule(rules, kind, pattern);
    let saved = RuleRow {
        id: existing.map_or(-1, |r| r.id),
        kind: kind.to_string(),
        pattern: existing.map_or_else(|| pattern.trim().to_string(), |r| r.pattern.clone()),
        category: category.to_string(),
        position: 0,
    };
    let mut out = vec![saved];
    out.extend(
        rules
            .iter()
            .filter(|r| Some(r.id) != existing.map(|e| e.id))
            .enumerate()
            .map(|(i, r)| RuleRow {
                position: i32::try_from(i + 1).unwrap_or(i32::MAX),
                ..r.clone()
            }),
    );
    out
}

/// Syncs every active link every `interval`, on the replica that holds the lease.
pub async fn schedule_sync(state: AppState, interval: std::time::Duration) {
    let holder = format!("replica-{}", uuid::Uuid::new_v4().simple());
    loop {
        tokio::time::sleep(interval).await;
        scheduled_round(&state, &holder, interval).await;
    }
}

/// One round of the schedule: when this replica (`holder`) takes the `bank-sync-schedule`
/// lease, syncs every active link one after the other. Answers how many links it synced, or
/// `None` when another replica holds the lease.
pub async fn scheduled_round(
    state: &AppState,
    holder: &str,
    interval: std::time::Duration,
) -> Option<usize> {
    let store = state.store_arc();
    let until = Utc::now() + Duration::from_std(interval).unwrap_or(Duration::minutes(1));
    if !matches!(
        store
            .try_lease("bank-sync-schedule", holder, Utc::now(), until)
            .await,
        Ok(true)
    ) {
        return None;
    }
    let links = match store.active_bank_links().await {
        Ok(links) => links,
        Err(e) => {
            tracing::warn!(error = %e, "scheduled sync could not list the links");
            return Some(0);
        }
    };
    let mut synced = 0;
    for link in links {
        match sync_user(state, link.user_id).await {
            Ok(_) => synced += 1,
            Err(e) => tracing::warn!(
                user_id = link.user_id,
                code = e.code,
                "scheduled sync failed"
            ),
        }
    }
    Some(synced)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ginkgo_domain::Won;
    use ginkgo_openbanking::model::Direction as D;

    fn rule(id: i64, pattern: &str, position: i32) -> RuleRow {
        RuleRow {
            id,
            kind: "contains".into(),
            pattern: pattern.into(),
            category: "cafe".into(),
            position,
        }
    }

    #[test]
    fn a_rule_set_is_built_once_and_rebuilt_when_it_changes() {
        let cache = CategorizerCache::default();
        let rules = vec![rule(1, "스타벅스", 0), rule(2, "이디야", 1)];
        let a = cache.get(7, &rules).expect("build");
        let b = cache.get(7, &rules).expect("cached");
        assert!(Arc::ptr_eq(&a, &b), "the same rule set is not rebuilt");
        let other_user = cache.get(8, &rules).expect("build");
        assert!(!Arc::ptr_eq(&a, &other_user), "one entry per login");
        let mut moved = rules.clone();
        moved[0].position = 2;
        let c = cache.get(7, &moved).expect("rebuild");
        assert!(
            !Arc::ptr_eq(&a, &c),
            "a reordered rule set is a new version"
        );
        let mut edited = moved.clone();
        edited[1].category = "food".into();
        let d = cache.get(7, &edited).expect("rebuild");
        assert!(!Arc::ptr_eq(&c, &d), "a new category is a new version");
        cache.invalidate(7);
        let e = cache.get(7, &edited).expect("rebuild");
        assert!(!Arc::ptr_eq(&d, &e), "invalidated");
        assert_ne!(
            rules_version(&[rule(1, "ab", 0), rule(2, "c", 0)]),
            rules_version(&[rule(1, "a", 0), rule(2, "bc", 0)])
        );
    }

    #[test]
    fn other_rows_take_the_direction_of_the_balance_change() {
        let w = Won::new;
        assert_eq!(direction_code(D::Other, Some(w(1_000)), w(1_500)), "in");
        assert_eq!(direction_code(D::Other, Some(w(1_000)), w(400)), "out");
        assert_eq!(direction_code(D::Other, None, w(400)), "out");
        assert_eq!(direction_code(D::Deposit, Some(w(1_000)), w(400)), "in");
        assert_eq!(direction_code(D::Payment, Some(w(1_000)), w(1_400)), "out");
    }
}
