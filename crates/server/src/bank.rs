//! The bank half's use cases: linking through Open Banking OAuth, incremental idempotent sync,
//! and categorisation (the dictionary plus the customer's rules).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use chrono::{Duration, NaiveDate, Utc};
use ginkgo_domain::time::{kst, today_kst};
use ginkgo_insight::categorize::{Categorizer, Rule, RuleKind, Source};
use ginkgo_insight::category::Category;
use ginkgo_insight::dictionary::Dictionary;
use ginkgo_insight::normalize::normalize;
use ginkgo_insight::txn::{Direction, Txn};
use ginkgo_openbanking::client::{AuthorizeOptions, TransactionQuery};
use ginkgo_openbanking::{BankError, BankTranId, OpenBankingApi, TranIdError, TranIdSource};
use ginkgo_store::{
    BankAccountInfo, BankTxn, CategoryChange, NewBankLink, NewBankTxn, RuleRow, Store, StoreError,
    SyncRecord, UserId,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// `bank_tran_id`s from the database's per-day counter: unique across replicas.
pub struct StoreTranIds {
    pub store: Arc<dyn Store>,
    pub institution_code: String,
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
        BankTranId::from_sequence(&self.institution_code, n)
    }
}

fn dictionary() -> &'static Dictionary {
    static DICT: OnceLock<Dictionary> = OnceLock::new();
    DICT.get_or_init(Dictionary::builtin)
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

pub fn categorizer(rules: &[RuleRow]) -> Result<Categorizer, ApiError> {
    let rules: Vec<Rule> = rules.iter().filter_map(to_rule).collect();
    Categorizer::new(dictionary(), &rules).map_err(|e| ApiError::validation(e.to_string()))
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
    let taken = state
        .store()
        .active_bank_links()
        .await?
        .iter()
        .any(|l| l.user_seq_no == user_seq_no && l.user_id != user_id);
    if taken {
        return Err(ApiError::conflict(
            "bank_user_linked_elsewhere",
            "this bank identity is already linked to another login",
        ));
    }
    let cipher = state.cipher().ok_or_else(ApiError::internal)?;
    state
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
        .upsert_bank_accounts(user_id, account_infos(&me.accounts))
        .await?;
    tracing::info!(user_id, accounts = me.accounts.len(), "bank linked");
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

#[derive(Debug, Serialize, ToSchema)]
pub struct SyncOutcome {
    /// `ok`, `partial`, `failed` or `relink_needed`.
    pub status: String,
    pub added: u64,
    pub accounts: Vec<AccountSyncOutcome>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountSyncOutcome {
    pub account_id: i64,
    pub added: u64,
    /// `ok` or an error code.
    pub status: String,
}

/// A usable access token, refreshed first when it expires within a day.
async fn access_token(
    state: &AppState,
    api: &Arc<dyn OpenBankingApi>,
    user_id: UserId,
) -> Result<(String, String), ApiError> {
    let link = state
        .store()
        .bank_link(user_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no bank is linked; link one first"))?;
    if link.status != "active" {
        return Err(ApiError::conflict(
            "relink_needed",
            "the bank link has expired; link the bank again",
        ));
    }
    let cipher = state.cipher().ok_or_else(ApiError::internal)?;
    let access = cipher
        .decrypt(&link.access_token_enc)
        .map_err(|_| ApiError::internal())?;
    if link.access_expires_at > Utc::now() + Duration::days(1) {
        return Ok((access, link.user_seq_no));
    }
    let Some(refresh_enc) = &link.refresh_token_enc else {
        state
            .store()
            .set_bank_link_status(user_id, "relink_needed", Utc::now())
            .await?;
        return Err(ApiError::conflict(
            "relink_needed",
            "the bank link has expired; link the bank again",
        ));
    };
    let refresh = cipher
        .decrypt(refresh_enc)
        .map_err(|_| ApiError::internal())?;
    match api.refresh_token(&refresh).await {
        Ok(tokens) => {
            state
                .store()
                .save_bank_link(NewBankLink {
                    user_id,
                    user_seq_no: tokens
                        .user_seq_no
                        .clone()
                        .unwrap_or(link.user_seq_no.clone()),
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
                })
                .await?;
            Ok((tokens.access_token.expose().to_string(), link.user_seq_no))
        }
        Err(e) if e.needs_relink() || matches!(e, BankError::InvalidGrant { .. }) => {
            state
                .store()
                .set_bank_link_status(user_id, "relink_needed", Utc::now())
                .await?;
            Err(ApiError::conflict(
                "relink_needed",
                "the bank link has expired; link the bank again",
            ))
        }
        Err(e) => Err(bank_error(e)),
    }
}

fn direction_code(d: ginkgo_openbanking::model::Direction) -> &'static str {
    use ginkgo_openbanking::model::Direction as D;
    match d {
        D::Deposit => "in",
        D::Withdrawal | D::Payment | D::Other => "out",
    }
}

/// Syncs balances and transactions of every linked account: from the last synced date minus an
/// overlap (or the configured first window), page by page; rows seen before are ignored by
/// identity, so a repeated sync stores nothing twice.
pub async fn sync_user(state: &AppState, user_id: UserId) -> Result<SyncOutcome, ApiError> {
    let api = client(state)?.clone();
    let store = state.store_arc();
    let lease = format!("bank-sync:{user_id}");
    let holder = uuid::Uuid::new_v4().to_string();
    // A short lease, renewed while the sync runs: if this process dies, the next sync may
    // start as soon as the lease runs out.
    let ttl = Duration::seconds(
        i64::try_from(state.config().bank.sync_lease_seconds.max(3)).unwrap_or(60),
    );
    if !store
        .try_lease(&lease, &holder, Utc::now(), Utc::now() + ttl)
        .await?
    {
        return Err(ApiError::conflict(
            "sync_running",
            "a sync of this bank link is already running",
        ));
    }
    let renewal = {
        let (store, lease, holder) = (store.clone(), lease.clone(), holder.clone());
        let every = (ttl / 3)
            .to_std()
            .unwrap_or(std::time::Duration::from_secs(1));
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if let Err(e) = store
                    .try_lease(&lease, &holder, Utc::now(), Utc::now() + ttl)
                    .await
                {
                    tracing::warn!(error = %e, "could not renew the bank sync lease");
                }
            }
        })
    };
    let started_at = Utc::now();
    let result = sync_inner(state, &api, user_id).await;
    renewal.abort();
    let _ = store.release_lease(&lease, &holder).await;
    let (status, added, accounts, error) = match &result {
        Ok(o) => (o.status.clone(), o.added, o.accounts.len() as u32, None),
        Err(e) if e.code == "relink_needed" => {
            ("relink_needed".to_string(), 0, 0, Some(e.message.clone()))
        }
        Err(e) => ("failed".to_string(), 0, 0, Some(e.message.clone())),
    };
    store
        .record_sync(
            user_id,
            SyncRecord {
                id: 0,
                started_at,
                finished_at: Utc::now(),
                status,
                accounts,
                added,
                error,
            },
        )
        .await?;
    result
}

async fn sync_inner(
    state: &AppState,
    api: &Arc<dyn OpenBankingApi>,
    user_id: UserId,
) -> Result<SyncOutcome, ApiError> {
    let store = state.store();
    let (token, user_seq_no) = access_token(state, api, user_id).await?;
    let me = match api.user_me(&token, &user_seq_no).await {
        Ok(me) => me,
        Err(e) => {
            if e.needs_relink() {
                store
                    .set_bank_link_status(user_id, "relink_needed", Utc::now())
                    .await?;
            }
            return Err(bank_error(e));
        }
    };
    let accounts = store
        .upsert_bank_accounts(user_id, account_infos(&me.accounts))
        .await?;
    let rules = store.rules(user_id).await?;
    let cat = categorizer(&rules)?;
    let today = today_kst();
    let cfg = &state.config().bank;
    let mut outcome = SyncOutcome {
        status: "ok".into(),
        added: 0,
        accounts: Vec::new(),
    };
    for account in accounts {
        let from = match account.synced_through {
            Some(d) => d - Duration::days(i64::from(cfg.overlap_days)),
            None => today - Duration::days(i64::from(cfg.first_sync_days)),
        };
        match sync_account(
            state,
            api,
            &token,
            &cat,
            account.id,
            &account.fintech_use_num,
            from,
            today,
        )
        .await
        {
            Ok(added) => {
                store
                    .finish_account_sync(account.id, Some(today), "ok", Utc::now())
                    .await?;
                outcome.added += added;
                outcome.accounts.push(AccountSyncOutcome {
                    account_id: account.id,
                    added,
                    status: "ok".into(),
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
                    .finish_account_sync(account.id, None, code, Utc::now())
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
                });
            }
        }
    }
    if !outcome.accounts.is_empty() && outcome.accounts.iter().all(|a| a.status != "ok") {
        outcome.status = "failed".into();
    }
    tracing::info!(user_id, added = outcome.added, status = %outcome.status, "bank sync finished");
    Ok(outcome)
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

#[allow(clippy::too_many_arguments)]
async fn sync_account(
    state: &AppState,
    api: &Arc<dyn OpenBankingApi>,
    token: &str,
    cat: &Categorizer,
    account_id: i64,
    fin: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<u64, BankError> {
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
        )
        .await
        .map_err(store_err)?;
    let query = TransactionQuery::all(fin, from, to);
    let mut trace: Option<String> = None;
    let mut ordinals: HashMap<IdentityKey, u32> = HashMap::new();
    let mut current_day: Option<NaiveDate> = None;
    let mut buffer: Vec<NewBankTxn> = Vec::new();
    let mut added = 0u64;
    let mut pages = 0usize;
    loop {
        let page = match api.transaction_page(token, &query, trace.as_deref()).await {
            Ok(p) => p,
            Err(BankError::Unexpected { code, .. }) if code == "A0018" && pages == 0 => break,
            Err(e) => return Err(e),
        };
        pages += 1;
        for t in page.rows {
            if current_day != Some(t.date) {
                ordinals.clear();
                current_day = Some(t.date);
            }
            let direction = direction_code(t.direction);
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
            });
        }
        if buffer.len() >= 5_000 {
            added += store
                .insert_bank_transactions(account_id, std::mem::take(&mut buffer))
                .await
                .map_err(store_err)?;
        }
        match page.next_trace {
            Some(next) => trace = Some(next),
            None => break,
        }
    }
    if !buffer.is_empty() {
        added += store
            .insert_bank_transactions(account_id, buffer)
            .await
            .map_err(store_err)?;
    }
    Ok(added)
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
    let cat = categorizer(&store.rules(user_id).await?)?;
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
    Ok(store.apply_category_changes(user_id, changes).await?)
}

/// Syncs every active link every `interval`, on the replica that holds the lease.
pub async fn schedule_sync(state: AppState, interval: std::time::Duration) {
    let holder = format!("replica-{}", uuid::Uuid::new_v4().simple());
    loop {
        tokio::time::sleep(interval).await;
        let store = state.store_arc();
        let until = Utc::now() + Duration::seconds(interval.as_secs() as i64);
        if !matches!(
            store
                .try_lease("bank-sync-schedule", &holder, Utc::now(), until)
                .await,
            Ok(true)
        ) {
            continue;
        }
        if let Ok(links) = store.active_bank_links().await {
            for link in links {
                if let Err(e) = sync_user(&state, link.user_id).await {
                    tracing::warn!(
                        user_id = link.user_id,
                        code = e.code,
                        "scheduled sync failed"
                    );
                }
            }
        }
    }
}
