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
    pub principal: Won,
    pub as_of: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HoldingLine {
    pub isin: String,
    pub instrument_name: String,
    pub asset_group: String,
    pub price: Won,
    pub quantity: i64,
    pub valuation: Won,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryPoint {
    pub date: NaiveDate,
    pub total_assets: Won,
    pub principal: Won,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Committed,
    Failed,
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
    pub error: Option<String>,
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
