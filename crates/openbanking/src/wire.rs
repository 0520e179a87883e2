//! Wire types of the Open Banking subset, exactly as they travel.
//!
//! Every scalar is a JSON string on the wire (`"tran_amt":"15000"`), except the token
//! response's `expires_in`, which is a number. Deserialisation is lenient: numeric fields accept a
//! string or a number, `null` is accepted where the testbed sends it, and a missing field becomes
//! an empty string, so a gateway error body (`{"rsp_code":"O0002","rsp_message":"…"}`) parses into
//! any response type and is then classified by [`crate::error::check_api`]. Serialisation emits
//! strings exactly as the real API does (the sandbox uses these types to answer).

use serde::{Deserialize, Serialize};

/// Lenient scalar deserialisers used by the wire types.
pub mod lenient {
    use serde::{Deserialize, Deserializer, de::Error};
    use serde_json::Value;

    fn scalar<E: Error>(value: Value) -> Result<Option<String>, E> {
        match value {
            Value::Null => Ok(None),
            Value::String(s) => Ok(Some(s)),
            Value::Number(n) => Ok(Some(n.to_string())),
            Value::Bool(b) => Ok(Some(if b { "Y" } else { "N" }.to_string())),
            Value::Array(_) | Value::Object(_) => {
                Err(E::custom("expected a scalar (string or number)"))
            }
        }
    }

    /// A string, number or `null` (→ empty string).
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        Ok(scalar(Value::deserialize(d)?)?.unwrap_or_default())
    }

    /// A string, number or `null` (→ `None`).
    pub fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        scalar(Value::deserialize(d)?)
    }

    /// A number or a numeric string (or `null` → `None`).
    pub fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(None),
            Value::Number(n) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| D::Error::custom("expected an integer")),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => s
                .trim()
                .parse::<i64>()
                .map(Some)
                .map_err(|_| D::Error::custom("expected an integer")),
            _ => Err(D::Error::custom("expected an integer")),
        }
    }

    /// A list, or `null` (→ empty).
    pub fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
    where
        D: Deserializer<'de>,
        T: Deserialize<'de>,
    {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }
}

// ---------------------------------------------------------------------------------------------
// OAuth

/// Query of `GET /oauth/2.0/authorize`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeQuery {
    #[serde(default)]
    pub response_type: String,
    #[serde(default)]
    pub client_id: String,
    #[serde(default)]
    pub redirect_uri: String,
    /// Space-separated scopes, e.g. `login inquiry`.
    #[serde(default)]
    pub scope: String,
    #[serde(default)]
    pub state: String,
    /// `0` first authentication, `1` re-authentication, `2` skip authentication.
    #[serde(default)]
    pub auth_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// Query of the redirect back to the app's `redirect_uri`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeCallback {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Space-separated, alphabetical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// Form body of `POST /oauth/2.0/token` for all three grants.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRequest {
    /// `authorization_code`, `refresh_token` or `client_credentials`.
    pub grant_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

/// Body of a token response. Success has no `rsp_code` and an `access_token`; an error has
/// `rsp_code`/`rsp_message` only. `expires_in` is a JSON number on the wire.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub access_token: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub token_type: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_i64"
    )]
    pub expires_in: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub refresh_token: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub scope: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub user_seq_no: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub client_use_code: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub rsp_code: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub rsp_message: Option<String>,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field(
                "access_token",
                &self.access_token.as_ref().map(|_| "<redacted>"),
            )
            .field("expires_in", &self.expires_in)
            .field("scope", &self.scope)
            .field("rsp_code", &self.rsp_code)
            .field("rsp_message", &self.rsp_message)
            .finish_non_exhaustive()
    }
}

/// The gateway's error body (O-codes): only these two fields.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GatewayError {
    #[serde(default, deserialize_with = "lenient::string")]
    pub rsp_code: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub rsp_message: String,
}

// ---------------------------------------------------------------------------------------------
// /v2.0 envelope and bank block

/// Common envelope of every `/v2.0` response.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(default, deserialize_with = "lenient::string")]
    pub api_tran_id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub api_tran_dtm: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub rsp_code: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub rsp_message: String,
}

/// Block added by APIs that reach a participating bank.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankBlock {
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_tran_id: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_tran_date: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_code_tran: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_rsp_code: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_rsp_message: String,
}

// ---------------------------------------------------------------------------------------------
// user/me and account/list

/// Query of `GET /v2.0/user/me`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMeRequest {
    #[serde(default)]
    pub user_seq_no: String,
}

/// One registered account in `user/me` and `account/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredAccount {
    #[serde(default, deserialize_with = "lenient::string")]
    pub fintech_use_num: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_alias: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_code_std: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_code_sub: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub savings_bank_name: String,
    /// `null` on the testbed (only institutions allowed to see it get the real number).
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub account_num: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_num_masked: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_seq: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_holder_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_holder_type: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_type: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub inquiry_agree_yn: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub inquiry_agree_dtime: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub transfer_agree_yn: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub transfer_agree_dtime: String,
    /// Only in `account/list`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub account_state: Option<String>,
    /// Only in `user/me`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub payer_num: Option<String>,
}

/// Body of `GET /v2.0/user/me`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMeResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_seq_no: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_ci: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_name: String,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_info: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_gender: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_cell_no: Option<String>,
    #[serde(default, deserialize_with = "lenient::opt_string")]
    pub user_email: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub res_cnt: String,
    #[serde(default, deserialize_with = "lenient::list")]
    pub res_list: Vec<RegisteredAccount>,
}

/// Query of `GET /v2.0/account/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountListRequest {
    #[serde(default)]
    pub user_seq_no: String,
    /// `Y`/`N`, optional (sandbox default `N`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_cancel_yn: Option<String>,
    /// `D`/`A`, optional (sandbox default `D`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<String>,
}

/// Body of `GET /v2.0/account/list`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountListResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(default, deserialize_with = "lenient::string")]
    pub user_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub res_cnt: String,
    #[serde(default, deserialize_with = "lenient::list")]
    pub res_list: Vec<RegisteredAccount>,
}

// ---------------------------------------------------------------------------------------------
// balance

/// Query of `GET /v2.0/account/balance/fin_num`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceRequest {
    #[serde(default)]
    pub bank_tran_id: String,
    #[serde(default)]
    pub fintech_use_num: String,
    /// `yyyyMMddHHmmss`, KST.
    #[serde(default)]
    pub tran_dtime: String,
}

/// Body of `GET /v2.0/account/balance/fin_num`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalanceResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub bank: BankBlock,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub savings_bank_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub fintech_use_num: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub balance_amt: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub available_amt: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_type: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub product_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_issue_date: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub maturity_date: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub last_tran_date: String,
}

// ---------------------------------------------------------------------------------------------
// transaction list

/// Query of `GET /v2.0/account/transaction_list/fin_num`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionListRequest {
    #[serde(default)]
    pub bank_tran_id: String,
    #[serde(default)]
    pub fintech_use_num: String,
    /// `A` all, `I` deposits, `O` withdrawals.
    #[serde(default)]
    pub inquiry_type: String,
    /// `D` by date, `T` by date and time.
    #[serde(default)]
    pub inquiry_base: String,
    #[serde(default)]
    pub from_date: String,
    #[serde(default)]
    pub from_time: String,
    #[serde(default)]
    pub to_date: String,
    #[serde(default)]
    pub to_time: String,
    /// `D` newest first, `A` oldest first.
    #[serde(default)]
    pub sort_order: String,
    #[serde(default)]
    pub tran_dtime: String,
    /// Continuation key (KFTC's spelling). Empty or unknown ⇒ first page.
    #[serde(default)]
    pub befor_inquiry_trace_info: String,
}

/// One row of a transaction list page.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionRow {
    #[serde(default, deserialize_with = "lenient::string")]
    pub tran_date: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub tran_time: String,
    /// Korean text: `입금`, `출금`, `지급`, `기타`.
    #[serde(default, deserialize_with = "lenient::string")]
    pub inout_type: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub tran_type: String,
    /// 통장인자내용 (passbook memo); `printed_content` is accepted as a legacy alias.
    #[serde(
        default,
        alias = "printed_content",
        deserialize_with = "lenient::string"
    )]
    pub print_content: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub tran_amt: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub after_balance_amt: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub branch_name: String,
}

/// Body of `GET /v2.0/account/transaction_list/fin_num`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionListResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(flatten)]
    pub bank: BankBlock,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub savings_bank_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub fintech_use_num: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub balance_amt: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub page_record_cnt: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub next_page_yn: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub befor_inquiry_trace_info: String,
    #[serde(default, deserialize_with = "lenient::list")]
    pub res_list: Vec<TransactionRow>,
}

// ---------------------------------------------------------------------------------------------
// bank status

/// Query of `GET /v2.0/bank/status` (public clients send none, only the bearer token).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankStatusRequest {}

/// One participating bank in `bank/status`, with the fields public testbed clients read
/// (`res_cnt`, then `res_list[]` of `bank_name`, `bank_code_std`, `bank_status`): `bank_status` `Y`
/// means available, `N` unavailable (maintenance or failure); any other value is read as
/// available, so an unexpected answer never stops a sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankStatusRow {
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_code_std: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_status: String,
}

/// Body of `GET /v2.0/bank/status`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankStatusResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(default, deserialize_with = "lenient::string")]
    pub res_cnt: String,
    #[serde(default, deserialize_with = "lenient::list")]
    pub res_list: Vec<BankStatusRow>,
}

impl ApiResponse for BankStatusResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

// ---------------------------------------------------------------------------------------------
// withdraw transfer (OPENBANKING.md §9.1; the sandbox's testbed mode answers it)

/// JSON body of `POST /v2.0/transfer/withdraw/fin_num`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawRequest {
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_tran_id: String,
    /// `N` account, `C` ledger.
    #[serde(default, deserialize_with = "lenient::string")]
    pub cntr_account_type: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub cntr_account_num: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub dps_print_content: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub fintech_use_num: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub wd_print_content: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub tran_amt: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub tran_dtime: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub req_client_name: String,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub req_client_fintech_use_num: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub req_client_bank_code: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient::opt_string"
    )]
    pub req_client_account_num: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub req_client_num: String,
    /// `TR` remittance, `ST` payment, `RC` charge.
    #[serde(default, deserialize_with = "lenient::string")]
    pub transfer_purpose: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub recv_client_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub recv_client_bank_code: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub recv_client_account_num: String,
}

/// Body of `POST /v2.0/transfer/withdraw/fin_num`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawResponse {
    #[serde(flatten)]
    pub envelope: Envelope,
    #[serde(default, deserialize_with = "lenient::string")]
    pub dps_bank_code_std: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub dps_bank_code_sub: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub dps_bank_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub dps_account_num_masked: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub dps_print_content: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub dps_account_holder_name: String,
    #[serde(flatten)]
    pub bank: BankBlock,
    #[serde(default, deserialize_with = "lenient::string")]
    pub fintech_use_num: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_alias: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_code_std: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_code_sub: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub bank_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub savings_bank_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_num_masked: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub print_content: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub account_holder_name: String,
    #[serde(default, deserialize_with = "lenient::string")]
    pub tran_amt: String,
    /// The user's remaining withdraw limit of the day, after this transfer.
    #[serde(default, deserialize_with = "lenient::string")]
    pub wd_limit_remain_amt: String,
}

impl ApiResponse for WithdrawResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn bank(&self) -> Option<&BankBlock> {
        Some(&self.bank)
    }
}

/// Access to the envelope (and bank block) of any `/v2.0` response, for classification.
pub trait ApiResponse {
    fn envelope(&self) -> &Envelope;
    fn bank(&self) -> Option<&BankBlock> {
        None
    }
}

impl ApiResponse for UserMeResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

impl ApiResponse for AccountListResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
}

impl ApiResponse for BalanceResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn bank(&self) -> Option<&BankBlock> {
        Some(&self.bank)
    }
}

impl ApiResponse for TransactionListResponse {
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }
    fn bank(&self) -> Option<&BankBlock> {
        Some(&self.bank)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_accept_numbers_nulls_and_the_legacy_memo_name() {
        let json = r#"{"tran_date":20240124,"tran_time":"123015","inout_type":"출금","tran_type":null,
            "printed_content":"편의점","tran_amt":15000,"after_balance_amt":"-985000"}"#;
        let row: TransactionRow = serde_json::from_str(json).expect("lenient row");
        assert_eq!(row.tran_date, "20240124");
        assert_eq!(row.tran_type, "");
        assert_eq!(row.print_content, "편의점");
        assert_eq!(row.tran_amt, "15000");
        assert_eq!(row.after_balance_amt, "-985000");
        assert_eq!(row.branch_name, "");
    }

    #[test]
    fn serialisation_emits_strings_and_a_numeric_expires_in() {
        let row = TransactionRow {
            tran_amt: "5000".into(),
            ..Default::default()
        };
        let v = serde_json::to_value(&row).expect("json");
        assert_eq!(v["tran_amt"], serde_json::json!("5000"));
        let tok = TokenResponse {
            access_token: Some("x".into()),
            expires_in: Some(7_775_999),
            ..Default::default()
        };
        let v = serde_json::to_value(&tok).expect("json");
        assert_eq!(v["expires_in"], serde_json::json!(7_775_999));
        assert!(v.get("rsp_code").is_none());
    }

    #[test]
    fn a_gateway_error_parses_into_any_response() {
        let json = r#"{"rsp_code":"O0002","rsp_message":"Access Token 거부"}"#;
        let r: TransactionListResponse = serde_json::from_str(json).expect("parse");
        assert_eq!(r.envelope.rsp_code, "O0002");
        assert!(r.res_list.is_empty());
        let me: UserMeResponse = serde_json::from_str(
            r#"{"rsp_code":"A0000","res_cnt":1,"user_info":null,"res_list":[{"account_num":null,"fintech_use_num":"1"}]}"#,
        )
        .expect("parse");
        assert_eq!(me.res_cnt, "1");
        assert_eq!(me.res_list[0].account_num, None);
        let me_json = serde_json::to_value(&me).expect("json");
        assert!(me_json["user_info"].is_null());
        assert!(me_json["res_list"][0]["account_num"].is_null());
    }

    #[test]
    fn objects_are_rejected_where_a_scalar_is_expected() {
        let json = r#"{"tran_amt":{"x":1}}"#;
        assert!(serde_json::from_str::<TransactionRow>(json).is_err());
    }

    #[test]
    fn token_debug_output_redacts_secrets() {
        let tok = TokenResponse {
            access_token: Some("secret-token".into()),
            ..Default::default()
        };
        assert!(!format!("{tok:?}").contains("secret-token"));
        let req = TokenRequest {
            client_secret: Some("s3cr3t".into()),
            ..Default::default()
        };
        assert!(!format!("{req:?}").contains("s3cr3t"));
    }
}
