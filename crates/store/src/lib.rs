//! Ginkgo's storage contract.
//!
//! The rest of Ginkgo talks to the database only through [`Store`], whose methods are whole use
//! cases (`load_snapshot`, `confirm_deposit`, …). Each backend crate implements it and owns its
//! SQL, migrations and transactions; the backend is chosen once, from the database URL.
//!
//! [`conformance`] is the one story every backend must pass: the SQLite and PostgreSQL crates run
//! it in their own tests.

pub mod bank;
pub mod conformance;
pub mod error;
pub mod load;
pub mod models;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use ginkgo_domain::Signature;

pub use bank::*;
pub use error::{CUSTOMER_HAS_LOGIN, EMAIL_TAKEN, StoreError, StoreResult};
pub use models::*;

/// Accounts, logins and sessions.
#[async_trait]
pub trait AuthStore: Send + Sync {
    async fn create_customer(&self, name: &str) -> StoreResult<Customer>;
    async fn customer_by_name(&self, name: &str) -> StoreResult<Option<Customer>>;
    /// Creates a login. `Conflict` when the email is taken or the customer already has a login.
    async fn create_user(&self, new: NewUser) -> StoreResult<User>;
    async fn user_by_id(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn credentials_by_email(&self, email: &str) -> StoreResult<Option<Credentials>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Replaces the password hash and revokes every refresh token of the login.
    async fn set_password_hash(&self, user_id: UserId, hash: &str) -> StoreResult<()>;
    /// Links a login to the customer that owns `account_number` and is called `customer_name`.
    /// `NotFound` when no such customer/account pair exists; `Conflict` when the customer already
    /// has a login or the user is already linked.
    async fn claim_customer(
        &self,
        user_id: UserId,
        customer_name: &str,
        account_number: &str,
    ) -> StoreResult<User>;
    /// Links a login to a customer by id (operator CLI).
    async fn link_customer(&self, user_id: UserId, customer_id: i64) -> StoreResult<User>;

    async fn insert_refresh_token(
        &self,
        user_id: UserId,
        token_hash: &[u8],
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Atomically retires a live refresh token and stores its successor. `None` when the old
    /// token is unknown, expired or revoked (then nothing changes).
    async fn rotate_refresh_token(
        &self,
        old_hash: &[u8],
        new_hash: &[u8],
        new_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>>;
    async fn revoke_refresh_token(&self, token_hash: &[u8], now: DateTime<Utc>) -> StoreResult<()>;

    /// Counts failures for `subject` (e.g. `email:…`, `ip:…`) at or after `since`.
    async fn count_login_failures(&self, subject: &str, since: DateTime<Utc>) -> StoreResult<u32>;
    async fn record_login_failure(&self, subjects: &[String], at: DateTime<Utc>)
    -> StoreResult<()>;
    /// Counts an attempt against each subject's limit, atomically: when every subject has fewer
    /// failures than its limit at or after `since`, records one provisional failure per subject
    /// at `at` and answers `true`; otherwise records nothing and answers `false`. Concurrent
    /// attempts see each other's provisional failures, so at most `limit` attempts are ever
    /// checked, however many arrive at once.
    async fn reserve_login_attempt(
        &self,
        subjects: &[(String, u32)],
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> StoreResult<bool>;
    /// Takes back the provisional failures of a reserved attempt that succeeded.
    async fn forgive_login_attempt(
        &self,
        subjects: &[String],
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Creates a customer's login and links it to the customer called `customer_name` who holds
    /// `account_number`, in one step: `NotFound` (and no login) when no such customer/account
    /// pair exists, `Conflict` when the email is taken or the customer already has a login.
    async fn create_user_claiming(
        &self,
        new: NewUser,
        customer_name: &str,
        account_number: &str,
    ) -> StoreResult<User>;
}

/// The investment half: reads, the daily snapshot load, and deposits.
#[async_trait]
pub trait InvestmentStore: Send + Sync {
    async fn accounts(&self, scope: Scope) -> StoreResult<Vec<AccountSummary>>;
    /// `NotFound` when the account does not exist or is outside the scope.
    async fn account(&self, scope: Scope, account_id: AccountId) -> StoreResult<AccountSummary>;
    async fn holdings(
        &self,
        scope: Scope,
        account_id: AccountId,
        include_zero: bool,
    ) -> StoreResult<Vec<HoldingLine>>;
    /// Total assets per day; `account_id = None` sums every account in scope.
    async fn history(
        &self,
        scope: Scope,
        account_id: Option<AccountId>,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<HistoryPoint>>;

    /// Makes a day's snapshot current in one transaction and records the run. A reader abort
    /// rolls back and records nothing (call [`InvestmentStore::record_failed_run`]).
    async fn load_snapshot(&self, load: SnapshotLoad) -> StoreResult<RunRecord>;
    async fn record_failed_run(&self, run: FailedRun) -> StoreResult<RunRecord>;
    /// Current accounts whose figures are partial (some of the day's rows were rejected), by
    /// account number, each with its lines carried from an earlier day (operators).
    async fn stale_accounts(&self, limit: u32) -> StoreResult<Vec<StaleAccount>>;
    async fn runs(&self, limit: u32) -> StoreResult<Vec<RunRecord>>;
    async fn run(&self, id: RunId) -> StoreResult<RunRecord>;
    async fn run_findings(&self, id: RunId) -> StoreResult<RunFindings>;

    /// Phase 1: records the attempt; `Err(Rejected)` never — refusals come back as `Err(refusal)`.
    async fn create_deposit(&self, new: NewDeposit)
    -> StoreResult<Result<Deposit, DepositRefusal>>;
    /// Phase 2: verifies the signature against the stored phase-1 data in constant time and, at
    /// most once per identifier, adds the amount to the cash line and the principal.
    async fn confirm_deposit(
        &self,
        user_id: UserId,
        scope: Scope,
        identifier: &str,
        signature: Option<&Signature>,
        now: DateTime<Utc>,
    ) -> StoreResult<ConfirmOutcome>;
    async fn deposits(&self, scope: Scope, limit: u32) -> StoreResult<Vec<Deposit>>;
    /// Records an attempt refused before it reached a deposit (malformed input, a login that may
    /// not deposit): the audit trail holds every attempt, whatever its outcome.
    async fn record_deposit_attempt(
        &self,
        user_id: UserId,
        phase: u8,
        identifier: Option<&str>,
        outcome: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The audit trail, newest first: one login's attempts, or everyone's (`None`).
    async fn deposit_attempts(
        &self,
        user_id: Option<UserId>,
        limit: u32,
    ) -> StoreResult<Vec<DepositAttempt>>;
}

/// Jobs that exactly one replica may run at a time.
#[async_trait]
pub trait JobStore: Send + Sync {
    /// Takes (or renews) the named lease until `until` when it is free, expired or already ours.
    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> StoreResult<bool>;
    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()>;
}

/// The bank half: Open Banking links, synced accounts and transactions, category rules.
/// Every read and write is scoped to one login (`user_id`); another login's ids answer `NotFound`.
#[async_trait]
pub trait BankStore: Send + Sync {
    async fn create_oauth_state(
        &self,
        state: &str,
        user_id: UserId,
        expires_at: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Spends a state: the login it was issued to, or `None` when unknown, used or expired.
    async fn take_oauth_state(
        &self,
        state: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<Option<UserId>>;
    /// Creates or replaces the login's link (linking: the link becomes `active`).
    async fn save_bank_link(&self, link: NewBankLink) -> StoreResult<BankLink>;
    /// Stores refreshed tokens on the link `link_id` of `tokens.user_id`, only if that link
    /// still exists (a sync must not re-create a link its owner removed meanwhile). Answers
    /// whether it did.
    async fn update_bank_tokens(&self, link_id: i64, tokens: NewBankLink) -> StoreResult<bool>;
    async fn bank_link(&self, user_id: UserId) -> StoreResult<Option<BankLink>>;
    async fn active_bank_links(&self) -> StoreResult<Vec<BankLink>>;
    /// Every link (whatever its status) of the bank identity `user_seq_no`.
    async fn bank_links_with_identity(&self, user_seq_no: &str) -> StoreResult<Vec<BankLink>>;
    async fn set_bank_link_status(
        &self,
        user_id: UserId,
        status: &str,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// Forgets the link and its tokens; the accounts are hidden (kept for a later re-link).
    async fn delete_bank_link(&self, user_id: UserId) -> StoreResult<()>;

    /// Records the accounts the bank reports for the link `link_id` (`NotFound` when that link
    /// no longer exists: nothing changes). Reported accounts are created or updated and shown;
    /// accounts the bank no longer reports stay visible with their history, marked
    /// `disconnected` (they are not synced until the bank reports them again). Answers the
    /// reported accounts.
    async fn upsert_bank_accounts(
        &self,
        user_id: UserId,
        link_id: i64,
        accounts: Vec<BankAccountInfo>,
    ) -> StoreResult<Vec<BankAccount>>;
    async fn bank_accounts(&self, user_id: UserId) -> StoreResult<Vec<BankAccount>>;
    async fn bank_account(&self, user_id: UserId, id: BankAccountId) -> StoreResult<BankAccount>;
    async fn record_balance(
        &self,
        account_id: BankAccountId,
        balance: ginkgo_domain::Won,
        available: ginkgo_domain::Won,
        product_name: &str,
        dates: BalanceDates,
    ) -> StoreResult<()>;
    /// The balance after the last stored transaction of the account dated before `date`.
    async fn bank_balance_before(
        &self,
        account_id: BankAccountId,
        date: NaiveDate,
    ) -> StoreResult<Option<ginkgo_domain::Won>>;
    /// Stores rows not seen before (by identity); answers how many were new.
    async fn insert_bank_transactions(
        &self,
        account_id: BankAccountId,
        rows: Vec<NewBankTxn>,
    ) -> StoreResult<u64>;
    /// Records the end of an account's sync at `now`: a success gives `synced_through` (and
    /// becomes `last_synced_at`); a failure (`None`) keeps the last success's time and date.
    /// `warning` replaces the previous one.
    async fn finish_account_sync(
        &self,
        account_id: BankAccountId,
        synced_through: Option<NaiveDate>,
        status: &str,
        warning: Option<&str>,
        now: DateTime<Utc>,
    ) -> StoreResult<()>;
    /// The customer unlinks one account: it is hidden and never synced again (its history and
    /// the login's rules are kept) until a new link completes. `NotFound` for another login's.
    async fn unlink_bank_account(&self, user_id: UserId, id: BankAccountId) -> StoreResult<()>;
    /// Records a sync that starts now (`running`, no `finished_at`). Called by the holder of the
    /// login's sync lease, so any other `running` record of the login belongs to a sync whose
    /// process died: those are closed as `interrupted` first.
    async fn begin_sync(
        &self,
        user_id: UserId,
        started_at: DateTime<Utc>,
    ) -> StoreResult<SyncRecord>;
    /// Stores the outcome of the sync `record.id` of the login.
    async fn finish_sync(&self, user_id: UserId, record: SyncRecord) -> StoreResult<()>;
    /// Newest first.
    async fn syncs(&self, user_id: UserId, limit: u32) -> StoreResult<Vec<SyncRecord>>;
    /// One sync of the login; `NotFound` for another login's.
    async fn sync_record(&self, user_id: UserId, id: i64) -> StoreResult<SyncRecord>;

    async fn bank_transactions(
        &self,
        user_id: UserId,
        account_id: BankAccountId,
        filter: TxnFilter,
    ) -> StoreResult<TxnPage>;
    async fn bank_transaction(&self, user_id: UserId, txn_id: i64) -> StoreResult<BankTxn>;
    /// Every transaction of the login's active accounts in the range, oldest first.
    async fn all_bank_transactions(
        &self,
        user_id: UserId,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
    ) -> StoreResult<Vec<BankTxn>>;
    /// Transactions whose normalised memo contains any of `patterns`, or whose category came
    /// from one of `rule_ids`: what a rule change can touch.
    async fn bank_transactions_touched(
        &self,
        user_id: UserId,
        patterns: Vec<String>,
        rule_ids: Vec<i64>,
    ) -> StoreResult<Vec<BankTxn>>;
    async fn apply_category_changes(
        &self,
        user_id: UserId,
        changes: Vec<CategoryChange>,
    ) -> StoreResult<u64>;
    async fn set_manual_category(
        &self,
        user_id: UserId,
        txn_id: i64,
        category: &str,
    ) -> StoreResult<BankTxn>;

    async fn rules(&self, user_id: UserId) -> StoreResult<Vec<RuleRow>>;
    /// Puts a rule at the front (position 0, the others move down): a new one, or the rule with
    /// the same kind and pattern, whose category is updated (a re-filing wins over older rules).
    async fn upsert_rule(
        &self,
        user_id: UserId,
        kind: &str,
        pattern: &str,
        category: &str,
    ) -> StoreResult<RuleRow>;
    async fn update_rule(
        &self,
        user_id: UserId,
        id: i64,
        kind: &str,
        pattern: &str,
        category: &str,
    ) -> StoreResult<RuleRow>;
    async fn delete_rule(&self, user_id: UserId, id: i64) -> StoreResult<()>;
    /// `ids` must be exactly the login's rule ids, in the new order.
    async fn reorder_rules(&self, user_id: UserId, ids: Vec<i64>) -> StoreResult<Vec<RuleRow>>;

    /// The login's insight overrides, by (kind, subject).
    async fn insight_overrides(&self, user_id: UserId) -> StoreResult<Vec<InsightOverride>>;
    /// Adds an override or replaces its `data`.
    async fn put_insight_override(
        &self,
        user_id: UserId,
        kind: &str,
        subject: &str,
        data: &str,
    ) -> StoreResult<()>;
    /// Removes an override; `false` when there was none.
    async fn delete_insight_override(
        &self,
        user_id: UserId,
        kind: &str,
        subject: &str,
    ) -> StoreResult<bool>;
    /// Sets `memo_norm` of the login's transactions `(id, memo_norm)`; answers how many
    /// changed.
    async fn set_memo_norms(
        &self,
        user_id: UserId,
        changes: Vec<(i64, String)>,
    ) -> StoreResult<u64>;
    /// Whether the one-off task `name` (recorded by a migration) is still to do.
    async fn pending_task(&self, name: &str) -> StoreResult<bool>;
    /// Marks the one-off task `name` done.
    async fn finish_pending_task(&self, name: &str) -> StoreResult<()>;

    /// The next `bank_tran_id` sequence number for a KST day; never repeats across replicas.
    async fn next_tran_id_sequence(&self, day: NaiveDate) -> StoreResult<u64>;
}

/// Everything Ginkgo stores.
#[async_trait]
pub trait Store:
    AuthStore + InvestmentStore + JobStore + BankStore + Send + Sync + 'static
{
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Answers `Ok` when the database can be queried now and every migration this build
    /// knows is applied (what `/readyz` reports).
    async fn health(&self) -> StoreResult<()>;
}
