//! Entry point for the `openbanking_json` fuzz target and for the corpus replay in this
//! crate's tests. Not part of the stable API.
//!
//! The input is decoded as each wire response the client reads, through the client's own
//! decoding ([`decode_response`]), success rules ([`check_api`], [`check_token`]) and typed
//! conversions; the invariants of each step are asserted.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::client::{decode_response, transaction_page_from_wire};
use crate::error::{BankError, check_api, check_token, classify};
use crate::model::{Balance, TokenSet, Transaction, identity_ordinals};
use crate::wire::{
    AccountListResponse, ApiResponse, BalanceResponse, GatewayError, TokenResponse,
    TransactionListResponse, TransactionRow, UserMeResponse,
};

/// HTTP statuses the client may see; the selector byte picks one.
const STATUSES: [u16; 8] = [200, 200, 200, 400, 401, 404, 429, 503];

/// Serialising a decoded value and decoding it again gives the same value: the lenient
/// decoding loses nothing that the strict encoding writes.
fn round_trips<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: &T) {
    let json = serde_json::to_vec(value).expect("a wire value serialises");
    let again: T = serde_json::from_slice(&json).expect("a serialised wire value decodes");
    assert_eq!(&again, value, "JSON round trip");
}

/// Invariants of any classified error.
fn check_error(error: &BankError) {
    assert!(
        !(error.is_transient() && error.needs_relink()),
        "an error is both transient and a relink: {error:?}"
    );
    let _ = error.to_string();
}

/// The classification of an `rsp_code`, checked against the success rule (§7.2).
fn check_classified<R: ApiResponse>(response: &R) -> bool {
    let env = response.envelope();
    let result = check_api(response);
    assert_eq!(
        result.is_ok(),
        env.rsp_code.trim() == "A0000",
        "success rule for rsp_code {:?}",
        env.rsp_code
    );
    assert_eq!(
        result,
        classify(&env.rsp_code, &env.rsp_message, response.bank()),
        "check_api and classify disagree"
    );
    if let Err(e) = &result {
        check_error(e);
        match e {
            BankError::Bank { bank_rsp_code, .. } => {
                let bank = response.bank().cloned().unwrap_or_default();
                assert_eq!(bank_rsp_code, &bank.bank_rsp_code);
                assert_eq!(env.rsp_code.trim(), "A0002");
            }
            BankError::RelinkNeeded { code, .. } => {
                assert!(
                    code.starts_with(env.rsp_code.trim()),
                    "relink code {code} for rsp_code {}",
                    env.rsp_code
                );
            }
            BankError::InvalidResponse(_) => assert!(env.rsp_code.trim().is_empty()),
            _ => {}
        }
    }
    result.is_ok()
}

fn check_transaction(row: &TransactionRow) -> Option<Transaction> {
    let t = Transaction::try_from(row).ok()?;
    assert!(!t.amount.is_negative(), "negative tran_amt accepted");
    let wire = t.to_wire();
    assert_eq!(
        Transaction::try_from(&wire).as_ref(),
        Ok(&t),
        "transaction wire round trip"
    );
    assert_eq!(t.memo, t.memo.trim());
    Some(t)
}

fn token(body: &[u8], status: u16) {
    let Ok(response) = decode_response::<TokenResponse>("/oauth/2.0/token", status, body) else {
        return;
    };
    round_trips(&response);
    match check_token(&response) {
        Ok(()) => {
            assert!(
                response
                    .rsp_code
                    .as_deref()
                    .is_none_or(|c| c.is_empty() || c.trim() == "A0000"),
                "token success with rsp_code {:?}",
                response.rsp_code
            );
            assert!(
                response
                    .access_token
                    .as_deref()
                    .is_some_and(|t| !t.is_empty())
            );
            if let Ok(set) = TokenSet::from_wire(response.clone()) {
                assert_eq!(
                    Some(set.access_token.expose()),
                    response.access_token.as_deref()
                );
                assert!(
                    set.scopes
                        .iter()
                        .all(|s| !s.is_empty() && !s.contains(char::is_whitespace))
                );
            }
        }
        Err(e) => check_error(&e),
    }
}

fn user_me(body: &[u8], status: u16) {
    let Ok(r) = decode_response::<UserMeResponse>("/v2.0/user/me", status, body) else {
        return;
    };
    round_trips(&r);
    check_classified(&r);
}

fn account_list(body: &[u8], status: u16) {
    let Ok(r) = decode_response::<AccountListResponse>("/v2.0/account/list", status, body) else {
        return;
    };
    round_trips(&r);
    check_classified(&r);
}

fn balance(body: &[u8], status: u16) {
    let path = "/v2.0/account/balance/fin_num";
    let Ok(r) = decode_response::<BalanceResponse>(path, status, body) else {
        return;
    };
    round_trips(&r);
    if !check_classified(&r) {
        return;
    }
    if let Ok(b) = Balance::try_from(&r) {
        assert_eq!(
            Some(b.balance),
            ginkgo_domain::Won::parse(&r.balance_amt).ok()
        );
        if r.available_amt.trim().is_empty() {
            assert_eq!(b.available, b.balance);
        }
    }
}

fn transaction_list(body: &[u8], status: u16) {
    let path = "/v2.0/account/transaction_list/fin_num";
    let Ok(r) = decode_response::<TransactionListResponse>(path, status, body) else {
        return;
    };
    round_trips(&r);
    let parsed: Vec<Option<Transaction>> = r.res_list.iter().map(check_transaction).collect();
    if !check_classified(&r) {
        return;
    }
    match transaction_page_from_wire(&r) {
        Ok(page) => {
            let rows: Vec<Transaction> = parsed.into_iter().flatten().collect();
            assert_eq!(page.rows, rows, "the page holds every row, in order");
            assert_eq!(page.rows.len(), r.res_list.len());
            // `Y` gives a key to follow, or — with an empty key — says this is the last page.
            assert_eq!(
                page.next_trace.is_some() || page.more_without_key,
                r.next_page_yn.trim() == "Y"
            );
            assert!(!(page.next_trace.is_some() && page.more_without_key));
            if let Some(trace) = &page.next_trace {
                assert!(!trace.trim().is_empty());
            }
            let ordinals = identity_ordinals(&page.rows);
            assert_eq!(ordinals.len(), page.rows.len());
            for (i, (row, ordinal)) in page.rows.iter().zip(&ordinals).enumerate() {
                let before = page.rows[..i]
                    .iter()
                    .filter(|r| r.identity_key() == row.identity_key())
                    .count();
                assert_eq!(*ordinal as usize, before, "ordinal of row {i}");
            }
        }
        Err(e) => {
            assert!(matches!(e, BankError::InvalidResponse(_)), "{e:?}");
            assert!(
                parsed.iter().any(Option::is_none) || !r.balance_amt.trim().is_empty(),
                "a page with valid rows was refused: {e:?}"
            );
        }
    }
}

fn gateway_error(body: &[u8], status: u16) {
    let Ok(err) = decode_response::<GatewayError>("/v2.0/user/me", status, body) else {
        return;
    };
    round_trips(&err);
    // A gateway error parses into every response type, which then carries its code.
    if !err.rsp_code.is_empty()
        && let Ok(me) = serde_json::from_slice::<UserMeResponse>(body)
    {
        assert_eq!(me.envelope.rsp_code, err.rsp_code);
        assert_eq!(me.envelope.rsp_message, err.rsp_message);
    }
    if let Err(e) = classify(&err.rsp_code, &err.rsp_message, None) {
        check_error(&e);
    }
}

/// The `openbanking_json` fuzz target: the first byte picks the response type (low five bits,
/// modulo 6) and the HTTP status (top three bits), the rest is the body.
pub fn openbanking_json(data: &[u8]) {
    let Some((&first, body)) = data.split_first() else {
        return;
    };
    let status = STATUSES[usize::from(first >> 5)];
    match (first & 0x1f) % 6 {
        0 => token(body, status),
        1 => user_me(body, status),
        2 => account_list(body, status),
        3 => balance(body, status),
        4 => transaction_list(body, status),
        _ => gateway_error(body, status),
    }
}

/// The selector byte for response type `kind` (0 token, 1 user/me, 2 account list,
/// 3 balance, 4 transaction list, 5 gateway error) received with HTTP 200.
pub fn selector(kind: u8) -> u8 {
    kind % 6
}
