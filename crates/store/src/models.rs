//! Records the store hands to the rest of Ginkgo.

use chrono::{DateTime, NaiveDate, Utc};
use ginkgo_domain::Won;
use ginkgo_domain::snapshot::{
    HoldingRecord, InstrumentRecord, PrincipalRecord, RejectRecord, SnapshotFile, WarningRecord,
};
use serde::{Deserialize, Serialize};

pub type CustomerId = i64;
pub type UserId = i64;
pub type AccountId = i64;
pub type RunId = i64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Operator,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Operator => "operator",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "customer" => Some(Role::Customer),
            "operator" => Some(Role::Operator),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Customer {
    pub id: CustomerId,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub role: Role,
    pub customer_id: Option<CustomerId>,
    pub customer_name: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A user with the password hash, for the login path only.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub user: User,
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub customer_id: Option<CustomerId>,
}

/// Whose data a read may see: a customer sees their own; an operator sees everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    Customer(CustomerId),
    Operator,
}

impl Scope {
    pub fn customer_id(self) -> Option<CustomerId> {
        match self {
            Scope::Customer(id) => Some(id),
            Scope::Operator => None,
        }
    }
}

/// One investment account as the summary screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AccountSummary {
    pub id: AccountId,
    pub account_number: String,
    pub account_name: String,
    pub broker: String,
    pub customer_id: CustomerId,
    pub customer_name: String,
    pub total_assets: Won,
    /// `None` when unknown: today's principal row was rejected and there is no earlier value.
    pub principal: Option<Won>,
    /// The date of the principal shown when today's row was rejected (last known good);
    /// `None` when it is today's.
    pub principal_since: Option<NaiveDate>,
    pub as_of: Option<NaiveDate>,
    /// Set when some of the day's rows for this account were rejected.
    pub partial: Option<Partial>,
}

/// An account (or a sum of accounts) whose figures are incomplete: some of the day's rows were
/// rejected. Values carried from an earlier day (last known good) stand in for them where one
/// exists; `since` is the oldest date of such a value (`None` when none could be carried).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Partial {
    pub rows: u64,
    pub since: Option<NaiveDate>,
}

impl Partial {
    /// `rows` and `since` as stored (0 rows = complete).
    pub fn from_parts(rows: i64, since: Option<NaiveDate>) -> Option<Partial> {
        (rows > 0).then_some(Partial {
            rows: rows as u64,
            since,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldingLine {
    pub isin: String,
    pub instrument_name: String,
    pub asset_group: String,
    pub price: Won,
    pub quantity: i64,
    pub valuation: Won,
    /// The date this line is from when today's row for it was rejected (last known good);
    /// `None` when it is today's.
    pub stale_since: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryPoint {
    pub date: NaiveDate,
    pub total_assets: Won,
    /// `None` when the principal of an account in the sum was unknown that day.
    pub principal: Option<Won>,
    /// Rejected rows behind the day's figures (summed over the accounts), if any.
    pub partial: Option<Partial>,
}

/// An account whose figures are partial, with the lines shown from an earlier day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StaleAccount {
    pub account: AccountSummary,
    /// Only the lines carried from an earlier day (`stale_since` set).
    pub holdings: Vec<HoldingLine>,
}

// ---- batch -------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunFile {
    pub kind: SnapshotFile,
    pub name: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    pub rows_read: u64,
    pub rows_loaded: u64,
    pub rows_rejected: u64,
    pub warnings: u64,
    /// Good rows per file (the plausibility check compares them with the previous run's).
    #[serde(default)]
    pub instruments_loaded: u64,
    #[serde(default)]
    pub holdings_loaded: u64,
    #[serde(default)]
    pub principals_loaded: u64,
}

/// What the readers send the loader while a holdings file streams.
#[derive(Debug)]
pub enum LoadMessage {
    Holdings(Vec<HoldingRecord>),
    /// The stream ended; these are the run's findings.
    Finished {
        /// The day's principals, handed over at the end (they are not needed earlier).
        principals: Vec<PrincipalRecord>,
        counts: RunCounts,
        rejects: Vec<RejectRecord>,
        warnings: Vec<WarningRecord>,
    },
    /// The readers failed (unreadable file…): the load rolls back.
    Aborted(String),
}

/// A day's snapshot, ready to load. Holdings arrive through `holdings`.
pub struct SnapshotLoad {
    pub business_date: NaiveDate,
    pub files: Vec<RunFile>,
    pub instruments: Vec<InstrumentRecord>,
    pub holdings: tokio::sync::mpsc::Receiver<LoadMessage>,
    pub started_at: DateTime<Utc>,
    /// Hold the delivery (load nothing) when its good accounts, holdings, instruments or
    /// principals are fewer than this percentage of the last committed run's; `None`: no check
    /// (a release). The first run ever is never held.
    pub hold_below_percent: Option<u32>,
    /// Where the files were read from, so that a held run can be released later.
    pub source_dir: Option<String>,
    /// This load releases that held run (marked released in the same transaction).
    pub release_of: Option<RunId>,
}

/// The good rows of a run, side by side with the previous run's when it was held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoodCounts {
    pub accounts: u64,
    pub holdings: u64,
    pub instruments: u64,
    pub principals: u64,
}

impl GoodCounts {
    /// Why `self` is implausible next to `previous` (each dimension below `percent` % of the
    /// previous, when the previous is known, i.e. above 0), or `None`.
    pub fn implausible(&self, previous: &GoodCounts, percent: u32) -> Option<String> {
        let mut why = Vec::new();
        for (what, now, before) in [
            ("accounts", self.accounts, previous.accounts),
            ("holdings", self.holdings, previous.holdings),
            ("instruments", self.instruments, previous.instruments),
            ("principals", self.principals, previous.principals),
        ] {
            if before > 0 && u128::from(now) * 100 < u128::from(before) * u128::from(percent) {
                why.push(format!("{what} {now} (previous run {before})"));
            }
        }
        (!why.is_empty()).then(|| {
            format!(
                "held: fewer than {percent} % of the previous run's good rows: {}",
                why.join(", ")
            )
        })
    }
}

/// What a load for an already loaded date changed compared with the run it replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ReplaceDiff {
    pub replaced_run: RunId,
    /// Accounts in this delivery and not in the replaced one.
    pub accounts_added: u64,
    /// Accounts in the replaced delivery and not in this one (no longer current for the date).
    pub accounts_removed: u64,
    /// Accounts in both whose total assets or principal differ.
    pub accounts_changed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Committed,
    Failed,
    /// Implausible next to the previous run: nothing loaded until an operator releases it.
    Held,
}

impl RunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Committed => "committed",
            RunStatus::Failed => "failed",
            RunStatus::Held => "held",
        }
    }

    pub fn parse(s: &str) -> RunStatus {
        match s {
            "committed" => RunStatus::Committed,
            "held" => RunStatus::Held,
            _ => RunStatus::Failed,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunRecord {
    pub id: RunId,
    pub business_date: NaiveDate,
    pub status: RunStatus,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
    pub files: Vec<RunFile>,
    pub counts: RunCounts,
    pub accounts_loaded: u64,
    pub accounts_deactivated: u64,
    /// Why a run failed, or why it was held.
    pub error: Option<String>,
    /// A held run: the previous committed run's good rows, next to this run's (`counts`,
    /// `accounts_loaded`).
    pub previous: Option<GoodCounts>,
    /// A held run: the run that released it.
    pub released_by: Option<RunId>,
    /// A release: the held run it released.
    pub releases: Option<RunId>,
    /// Where the files were read from (when known).
    pub source_dir: Option<String>,
    /// A load for a date already loaded: what changed compared with the replaced run.
    pub replaced: Option<ReplaceDiff>,
}

/// A failed run, recorded without touching the current data.
#[derive(Debug, Clone)]
pub struct FailedRun {
    pub business_date: NaiveDate,
    pub files: Vec<RunFile>,
    pub started_at: DateTime<Utc>,
    pub error: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RunFindings {
    pub rejects: Vec<RejectRecord>,
    pub warnings: Vec<WarningRecord>,
}

// ---- deposits ----------------------------------------------------------------------------

#[derive(Debug, Clone)]
pub struct NewDeposit {
    pub identifier: String,
    pub user_id: UserId,
    pub scope: Scope,
    pub account_number: String,
    pub user_name: String,
    pub amount: Won,
    pub now: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DepositStatus {
    Pending,
    Confirmed,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Deposit {
    pub identifier: String,
    pub account_id: AccountId,
    pub account_number: String,
    pub amount: Won,
    pub status: DepositStatus,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
}

/// Why phase 1 refused (each recorded as an attempt).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DepositRefusal {
    /// The account does not exist or is not the caller's (the same answer for both).
    AccountNotFound,
    NameMismatch,
    AccountInactive,
}

impl DepositRefusal {
    /// The outcome recorded in the deposit audit trail.
    pub fn audit_label(&self) -> &'static str {
        match self {
            DepositRefusal::AccountNotFound => "account_not_found",
            DepositRefusal::NameMismatch => "name_mismatch",
            DepositRefusal::AccountInactive => "account_inactive",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfirmOutcome {
    Confirmed(Deposit),
    /// Unknown identifier, or someone else's.
    NotFound,
    Expired,
    AlreadyConfirmed,
    BadSignature,
    /// The account left the provider's snapshot after phase 1; it takes no deposits.
    AccountInactive,
}

impl ConfirmOutcome {
    /// The outcome recorded in the deposit audit trail.
    pub fn audit_label(&self) -> &'static str {
        match self {
            ConfirmOutcome::Confirmed(_) => "confirmed",
            ConfirmOutcome::NotFound => "not_found",
            ConfirmOutcome::Expired => "expired",
            ConfirmOutcome::AlreadyConfirmed => "already_confirmed",
            ConfirmOutcome::BadSignature => "bad_signature",
            ConfirmOutcome::AccountInactive => "account_inactive",
        }
    }
}

/// One phase-1 or phase-2 attempt in the deposit audit trail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DepositAttempt {
    pub id: i64,
    pub user_id: UserId,
    /// 1: the request (phase 1); 2: the confirmation (phase 2).
    pub phase: u8,
    pub identifier: Option<String>,
    pub outcome: String,
    pub at: DateTime<Utc>,
}

/// How both backends store a business date: `YYYY-MM-DD` text, which sorts as dates do.
pub fn date_key(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}
