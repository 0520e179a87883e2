//! Records of the bank half: links, accounts, transactions, syncs and category rules.

use chrono::{DateTime, NaiveDate, Utc};
use ginkgo_domain::Won;
use serde::Serialize;

use crate::UserId;

pub type BankAccountId = i64;

#[derive(Clone)]
pub struct NewBankLink {
    pub user_id: UserId,
    pub user_seq_no: String,
    /// Encrypted by the caller; the store never sees a token in clear.
    pub access_token_enc: Vec<u8>,
    pub refresh_token_enc: Option<Vec<u8>>,
    pub scope: String,
    pub access_expires_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

#[derive(Clone)]
pub struct BankLink {
    pub id: i64,
    pub user_id: UserId,
    pub user_seq_no: String,
    pub access_token_enc: Vec<u8>,
    pub refresh_token_enc: Option<Vec<u8>>,
    pub scope: String,
    pub access_expires_at: DateTime<Utc>,
    /// `active` or `relink_needed`.
    pub status: String,
    pub updated_at: DateTime<Utc>,
}

impl std::fmt::Debug for BankLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BankLink")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("status", &self.status)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct BankAccountInfo {
    pub fintech_use_num: String,
    pub bank_name: String,
    pub bank_code: String,
    pub account_alias: String,
    pub account_num_masked: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankAccount {
    pub id: BankAccountId,
    pub user_id: UserId,
    pub fintech_use_num: String,
    pub bank_name: String,
    pub bank_code: String,
    pub account_alias: String,
    pub account_num_masked: String,
    pub balance: Option<Won>,
    pub available: Option<Won>,
    pub product_name: String,
    /// When the account last synced successfully.
    pub last_synced_at: Option<DateTime<Utc>>,
    pub synced_through: Option<NaiveDate>,
    /// `never`, `ok`, `pending`, `disconnected` (the bank no longer reports it),
    /// `maintenance` (its bank was under maintenance at the last sync) or an error code.
    pub sync_status: String,
    /// When a sync last tried the account (successfully or not).
    pub sync_attempted_at: Option<DateTime<Utc>>,
    /// What the last sync of the account warned about (a code such as `paging_empty_key`).
    pub sync_warning: Option<String>,
    /// Dates of the last balance answer; `None` when the bank gave none (`"00000000"`).
    pub dates: BalanceDates,
}

/// Dates a balance answer may carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BalanceDates {
    pub account_issue_date: Option<NaiveDate>,
    pub maturity_date: Option<NaiveDate>,
    pub last_tran_date: Option<NaiveDate>,
}

/// A transaction ready to store (already categorised).
#[derive(Debug, Clone)]
pub struct NewBankTxn {
    pub date: NaiveDate,
    /// `HHMMSS`.
    pub time: String,
    /// `in` or `out`.
    pub direction: String,
    pub tran_type: String,
    pub memo: String,
    pub memo_norm: String,
    pub amount: Won,
    pub balance_after: Won,
    pub branch_name: String,
    pub ordinal: u32,
    pub category: String,
    pub category_source: String,
    pub rule_id: Option<i64>,
    /// Dated outside the period the sync asked for (stored, but flagged).
    pub out_of_period: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BankTxn {
    pub id: i64,
    pub account_id: BankAccountId,
    pub date: NaiveDate,
    pub time: String,
    pub direction: String,
    pub tran_type: String,
    pub memo: String,
    pub memo_norm: String,
    pub amount: Won,
    pub balance_after: Won,
    pub branch_name: String,
    pub category: String,
    /// `rule`, `dictionary`, `manual` or `default`.
    pub category_source: String,
    pub rule_id: Option<i64>,
    pub manual: bool,
    /// Dated outside the period the sync that stored it asked for.
    pub out_of_period: bool,
}

#[derive(Debug, Clone, Default)]
pub struct TxnFilter {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub category: Option<String>,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct TxnPage {
    pub items: Vec<BankTxn>,
    pub total: u64,
    pub page: u32,
    pub per_page: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncRecord {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    /// `None` while running.
    pub finished_at: Option<DateTime<Utc>>,
    /// `running`, then `ok`, `warning` (synced, but the bank no longer reports some accounts),
    /// `partial`, `failed`, `relink_needed`, `unlinked` or `interrupted`.
    pub status: String,
    pub accounts: u32,
    pub added: u64,
    pub error: Option<String>,
    /// Codes of what the sync warned about (e.g. `paging_empty_key`, `out_of_period`,
    /// `bank_maintenance`, `disconnected`), each once.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleRow {
    pub id: i64,
    /// `contains` or `equals`.
    pub kind: String,
    pub pattern: String,
    pub category: String,
    pub position: i32,
}

/// A new category for one transaction, from a recomputation.
#[derive(Debug, Clone)]
pub struct CategoryChange {
    pub txn_id: i64,
    pub category: String,
    pub source: String,
    pub rule_id: Option<i64>,
}

/// Something the customer told Ginkgo about the insight figures (see migration 0007).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InsightOverride {
    /// `unpair`, `series_dismiss`, `series_add` or `own_name`.
    pub kind: String,
    pub subject: String,
    pub data: String,
}
