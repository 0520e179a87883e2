//! Properties of the wire decoding: lenient scalars, typed errors, never panicking.

use proptest::prelude::*;
use serde_json::json;

use ginkgo_openbanking::client::{decode_response, transaction_page_from_wire};
use ginkgo_openbanking::fuzzing::{openbanking_json, selector};
use ginkgo_openbanking::wire::{BalanceResponse, TransactionListResponse, TransactionRow};
use ginkgo_openbanking::{BankError, Transaction, classify};

const CODES: [&str; 12] = [
    "A0000", "A0002", "A0003", "A0004", "A0326", "A0304", "O0001", "O0002", "O0007", "O0010",
    "X9999", "",
];

fn scalar() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<i64>().prop_map(|n| json!(n)),
        any::<i64>().prop_map(|n| json!(n.to_string())),
        "[가-힣A-Za-z0-9 ]{0,8}".prop_map(|s| json!(s)),
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(|b| json!(b)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        openbanking_json(&bytes);
    }

    #[test]
    fn arbitrary_json_objects_of_every_type_keep_the_invariants(
        kind in 0u8..6,
        status in 0u8..8,
        fields in proptest::collection::btree_map(
            prop_oneof![
                Just("rsp_code"), Just("rsp_message"), Just("bank_rsp_code"), Just("access_token"),
                Just("expires_in"), Just("balance_amt"), Just("available_amt"), Just("next_page_yn"),
                Just("befor_inquiry_trace_info"), Just("res_cnt"), Just("user_name"), Just("scope"),
            ],
            scalar(),
            0..8,
        ),
        code in proptest::sample::select(CODES.to_vec()),
    ) {
        let mut object: serde_json::Map<String, serde_json::Value> =
            fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        object.insert("rsp_code".into(), json!(code));
        let body = serde_json::to_vec(&object).expect("json");
        let mut data = vec![selector(kind) | (status << 5)];
        data.extend_from_slice(&body);
        openbanking_json(&data);
    }

    #[test]
    fn numbers_and_numeric_strings_decode_alike(n in any::<i64>()) {
        let as_number: BalanceResponse = serde_json::from_value(json!({"balance_amt": n})).expect("number");
        let as_string: BalanceResponse = serde_json::from_value(json!({"balance_amt": n.to_string()})).expect("string");
        prop_assert_eq!(&as_number.balance_amt, &n.to_string());
        prop_assert_eq!(as_number, as_string);
    }

    #[test]
    fn rows_round_trip_through_the_typed_transaction(
        amount in 0i64..10_000_000_000,
        balance in any::<i64>(),
        date in 0u32..3650,
        secs in 0u32..86_400,
        direction in proptest::sample::select(vec!["입금", "출금", "지급", "기타"]),
        memo in "[가-힣A-Za-z0-9 ]{0,12}",
    ) {
        let day = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("date") + chrono::Duration::days(i64::from(date));
        let time = chrono::NaiveTime::from_num_seconds_from_midnight_opt(secs, 0).expect("time");
        let row: TransactionRow = serde_json::from_value(json!({
            "tran_date": day.format("%Y%m%d").to_string().parse::<i64>().expect("digits"),
            "tran_time": time.format("%H%M%S").to_string(),
            "inout_type": direction,
            "print_content": memo,
            "tran_amt": amount,
            "after_balance_amt": balance.to_string(),
        })).expect("row");
        let t = Transaction::try_from(&row).expect("valid row");
        prop_assert_eq!(t.amount.get(), amount);
        prop_assert_eq!(t.after_balance.get(), balance);
        prop_assert_eq!(Transaction::try_from(&t.to_wire()), Ok(t));
    }

    #[test]
    fn only_a0000_is_a_success(code in "[AO][0-9]{4}|[ -~]{0,6}", message in "[ -~]{0,20}") {
        let result = classify(&code, &message, None);
        prop_assert_eq!(result.is_ok(), code.trim() == "A0000");
        if let Err(e) = result {
            prop_assert!(!(e.is_transient() && e.needs_relink()));
        }
    }
}

#[test]
fn server_errors_are_transient_and_client_errors_without_a_code_invalid() {
    let r = decode_response::<BalanceResponse>("/p", 503, b"<html>busy</html>");
    assert!(matches!(r, Err(BankError::RetryLater { .. })), "{r:?}");
    let r = decode_response::<BalanceResponse>("/p", 429, b"");
    assert!(matches!(r, Err(BankError::RetryLater { .. })), "{r:?}");
    let r = decode_response::<BalanceResponse>("/p", 404, b"not json");
    assert!(matches!(r, Err(BankError::InvalidResponse(_))), "{r:?}");
    let r =
        decode_response::<BalanceResponse>("/p", 401, br#"{"rsp_code":"O0002","rsp_message":"x"}"#)
            .expect("an error envelope is an answer");
    assert_eq!(r.envelope.rsp_code, "O0002");
}

#[test]
fn a_page_that_promises_more_without_a_trace_is_the_last_page() {
    // The real testbed's canned answer (OPENBANKING.md §8.1): accepted, nothing to follow.
    let r: TransactionListResponse = serde_json::from_value(json!({
        "rsp_code": "A0000", "next_page_yn": "Y", "befor_inquiry_trace_info": " ", "res_list": null
    }))
    .expect("parse");
    let page = transaction_page_from_wire(&r).expect("a last page, not an error");
    assert_eq!(page.next_trace, None);
    assert!(page.more_without_key);
    assert!(page.rows.is_empty());
}
