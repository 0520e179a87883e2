//! The testbed profile: answers shaped like the ones other teams logged from the real KFTC
//! testbed (OPENBANKING.md §8.1). The real testbed holds no balances or histories: an
//! institution registers one canned answer per API in the portal and the simulator echoes it,
//! whatever the request asks.

use axum::response::Response;
use ginkgo_openbanking::Transaction;
use ginkgo_openbanking::wire::{BalanceResponse, TransactionListResponse, TransactionRow};
use serde_json::Value;

use crate::config::TestbedPaging;
use crate::generator::TestAccount;

/// The canned `balance_amt` (as in the logged answers).
pub const CANNED_BALANCE: i64 = 50_000_000;
/// The canned `available_amt`, different from the balance (as logged).
pub const CANNED_AVAILABLE: i64 = 10_000_000;
/// The key the `constant_key` paging answers every time.
pub const CONSTANT_KEY: &str = "20190101000000000001";

/// The canned rows, in the order the simulator answers them: 25 rows, all dated
/// `20190101 010101`, `after_balance_amt` never moving — 18 identical deposits, 5 identical
/// withdrawals and 2 identical `기타` rows.
pub fn canned_rows() -> Vec<TransactionRow> {
    let row = |inout: &str, tran_type: &str, memo: &str, amount: &str| TransactionRow {
        tran_date: "20190101".into(),
        tran_time: "010101".into(),
        inout_type: inout.into(),
        tran_type: tran_type.into(),
        print_content: memo.into(),
        tran_amt: amount.into(),
        after_balance_amt: CANNED_BALANCE.to_string(),
        branch_name: "분당점".into(),
    };
    let mut rows = Vec::with_capacity(25);
    rows.extend((0..18).map(|_| row("입금", "현금", "통장인자내용", "450000")));
    rows.extend((0..5).map(|_| row("출금", "대체", "통장인자내용", "10000")));
    rows.extend((0..2).map(|_| row("기타", "대체", "이자", "1")));
    rows
}

/// The canned rows as the client parses them.
pub fn canned_transactions() -> Vec<Transaction> {
    canned_rows()
        .iter()
        .filter_map(|r| Transaction::try_from(r).ok())
        .collect()
}

/// Replaces the string at `key` of a JSON object by the number it holds (the hand-copied log
/// had `balance_amt`, `page_record_cnt` and `tran_amt` unquoted).
fn unquote(v: &mut Value, key: &str) {
    if let Some(slot) = v.get_mut(key)
        && let Some(n) = slot.as_str().and_then(|s| s.parse::<i64>().ok())
    {
        *slot = Value::from(n);
    }
}

fn json_value(v: &Value) -> Response {
    crate::api::json(v)
}

/// The canned balance answer for a seeded account.
pub(crate) fn balance(
    account: &TestAccount,
    envelope: ginkgo_openbanking::wire::Envelope,
    bank: ginkgo_openbanking::wire::BankBlock,
) -> Response {
    let body = BalanceResponse {
        envelope,
        bank,
        bank_name: account.bank_name.into(),
        savings_bank_name: String::new(),
        fintech_use_num: account.fintech_use_num.clone(),
        balance_amt: CANNED_BALANCE.to_string(),
        available_amt: CANNED_AVAILABLE.to_string(),
        account_type: "1".into(),
        product_name: "알뜰자유적립".into(),
        account_issue_date: "00000000".into(),
        maturity_date: "00000000".into(),
        last_tran_date: "00000000".into(),
    };
    let mut v = serde_json::to_value(&body).unwrap_or(Value::Null);
    unquote(&mut v, "balance_amt");
    json_value(&v)
}

/// The canned transaction list: the same 25 rows whatever the period or key, `Y` always.
pub(crate) fn transaction_list(
    account: &TestAccount,
    paging: TestbedPaging,
    envelope: ginkgo_openbanking::wire::Envelope,
    bank: ginkgo_openbanking::wire::BankBlock,
) -> Response {
    let res_list = canned_rows();
    let body = TransactionListResponse {
        envelope,
        bank,
        bank_name: account.bank_name.into(),
        savings_bank_name: String::new(),
        fintech_use_num: account.fintech_use_num.clone(),
        balance_amt: CANNED_BALANCE.to_string(),
        page_record_cnt: res_list.len().to_string(),
        next_page_yn: "Y".into(),
        befor_inquiry_trace_info: match paging {
            TestbedPaging::EmptyKey => String::new(),
            TestbedPaging::ConstantKey => CONSTANT_KEY.into(),
        },
        res_list,
    };
    let mut v = serde_json::to_value(&body).unwrap_or(Value::Null);
    unquote(&mut v, "balance_amt");
    unquote(&mut v, "page_record_cnt");
    if let Some(rows) = v.get_mut("res_list").and_then(Value::as_array_mut) {
        // Unquoted in some rows only, as in the hand-copied log.
        for row in rows.iter_mut().step_by(2) {
            unquote(row, "tran_amt");
        }
    }
    json_value(&v)
}
