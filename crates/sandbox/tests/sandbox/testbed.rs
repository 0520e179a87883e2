//! The testbed profile, one test per shape the real KFTC testbed was logged answering
//! (OPENBANKING.md §8.1), and the client surviving each of them.

use std::time::Duration;

use ginkgo_openbanking::client::TransactionQuery;
use ginkgo_openbanking::{BankError, OpenBankingApi, PagingStop};
use ginkgo_sandbox::testbed::{
    CANNED_AVAILABLE, CANNED_BALANCE, CONSTANT_KEY, canned_transactions,
};
use ginkgo_sandbox::{Faults, Profile, SandboxConfig, TestbedPaging};
use serde_json::Value;

use super::helpers::*;

fn testbed() -> SandboxConfig {
    SandboxConfig {
        profile: Profile::Testbed,
        ..config()
    }
}

fn tran_id(n: u32) -> String {
    format!("M202600001U{n:09}")
}

async fn balance_body(ts: &TestSandbox, token: &str, fin: &str, n: u32) -> Value {
    ts.get_json(
        "/v2.0/account/balance/fin_num",
        Some(token),
        &[
            ("bank_tran_id", &tran_id(n)),
            ("fintech_use_num", fin),
            ("tran_dtime", "20261120101010"),
        ],
    )
    .await
}

async fn list_body(
    ts: &TestSandbox,
    token: &str,
    fin: &str,
    n: u32,
    from: &str,
    to: &str,
    trace: &str,
) -> Value {
    ts.get_json(
        "/v2.0/account/transaction_list/fin_num",
        Some(token),
        &[
            ("bank_tran_id", &tran_id(n)),
            ("fintech_use_num", fin),
            ("inquiry_type", "A"),
            ("inquiry_base", "D"),
            ("from_date", from),
            ("to_date", to),
            ("sort_order", "A"),
            ("tran_dtime", "20261120101010"),
            ("befor_inquiry_trace_info", trace),
        ],
    )
    .await
}

#[tokio::test]
async fn balance_dates_are_eight_zeros_and_available_differs_from_balance() {
    let ts = spawn(testbed()).await;
    let (token, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let body = balance_body(&ts, &token, &fin, 1).await;
    assert_eq!(body["rsp_code"], "A0000");
    for field in ["account_issue_date", "maturity_date", "last_tran_date"] {
        assert_eq!(body[field], "00000000", "{field}");
    }
    assert_eq!(body["available_amt"], CANNED_AVAILABLE.to_string());
    assert_ne!(CANNED_AVAILABLE, CANNED_BALANCE);
    // As logged: the registered bank date and the test bank's code.
    assert_eq!(body["bank_tran_date"], "20190101");
    assert_eq!(body["bank_code_tran"], "097");
    // The client reads it: no dates, the two amounts apart.
    let b = ts
        .client(Duration::from_secs(5))
        .balance(&token, &fin)
        .await
        .expect("a testbed balance parses");
    assert_eq!(b.balance.get(), CANNED_BALANCE);
    assert_eq!(b.available.get(), CANNED_AVAILABLE);
    assert_eq!(
        (b.account_issue_date, b.maturity_date, b.last_tran_date),
        (None, None, None)
    );
}

#[tokio::test]
async fn some_numbers_come_unquoted_and_are_accepted() {
    let ts = spawn(testbed()).await;
    let (token, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let balance = balance_body(&ts, &token, &fin, 1).await;
    assert_eq!(balance["balance_amt"], Value::from(CANNED_BALANCE));
    let list = list_body(&ts, &token, &fin, 2, "20261101", "20261120", "").await;
    assert_eq!(list["page_record_cnt"], Value::from(25));
    let rows = list["res_list"].as_array().expect("rows");
    assert!(rows.iter().any(|r| r["tran_amt"].is_number()));
    assert!(rows.iter().any(|r| r["tran_amt"].is_string()));
    let page = ts
        .client(Duration::from_secs(5))
        .transaction_page(
            &token,
            &TransactionQuery::all(&fin, end_date(), end_date()),
            None,
        )
        .await
        .expect("unquoted numbers parse");
    assert_eq!(page.rows, canned_transactions());
}

#[tokio::test]
async fn the_list_says_more_with_an_empty_key_and_the_client_stops_there() {
    let ts = spawn(testbed()).await;
    let (token, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let list = list_body(&ts, &token, &fin, 1, "20261101", "20261120", "").await;
    assert_eq!(list["next_page_yn"], "Y");
    assert_eq!(list["befor_inquiry_trace_info"], "");
    let before = ts.handle.list_queries().len();
    let history = ts
        .client(Duration::from_secs(5))
        .transactions(&token, &fin, end_date(), end_date())
        .await
        .expect("a Y with an empty key is the last page, not an error");
    assert_eq!(ts.handle.list_queries().len() - before, 1, "one call");
    assert_eq!(history.stopped, Some(PagingStop::EmptyKey));
    assert_eq!(history.rows.len(), 25);
}

#[tokio::test]
async fn canned_rows_are_echoed_whatever_the_period_identical_and_with_a_still_balance() {
    let ts = spawn(testbed()).await;
    let (token, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let a = list_body(&ts, &token, &fin, 1, "20261101", "20261120", "").await;
    let b = list_body(&ts, &token, &fin, 2, "20200101", "20200102", "").await;
    assert_eq!(a["res_list"], b["res_list"], "the period changes nothing");
    let rows = a["res_list"].as_array().expect("rows");
    assert!(
        rows.iter()
            .all(|r| r["tran_date"] == "20190101" && r["tran_time"] == "010101")
    );
    let still = CANNED_BALANCE.to_string();
    assert!(
        rows.iter()
            .all(|r| r["after_balance_amt"] == still.as_str()),
        "after_balance_amt never moves"
    );
    let first = &rows[0];
    assert!(
        rows.iter().filter(|r| *r == first).count() > 1,
        "repeated identical rows"
    );
}

#[tokio::test]
async fn a_constant_key_is_answered_with_the_same_page_and_the_client_ends() {
    let ts = spawn(SandboxConfig {
        testbed_paging: TestbedPaging::ConstantKey,
        ..testbed()
    })
    .await;
    let (token, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let first = list_body(&ts, &token, &fin, 1, "20261101", "20261120", "").await;
    let again = list_body(&ts, &token, &fin, 2, "20261101", "20261120", CONSTANT_KEY).await;
    assert_eq!(first["befor_inquiry_trace_info"], CONSTANT_KEY);
    assert_eq!(again["befor_inquiry_trace_info"], CONSTANT_KEY);
    assert_eq!(again["next_page_yn"], "Y");
    assert_eq!(first["res_list"], again["res_list"]);
    let before = ts.handle.list_queries().len();
    let history = ts
        .client(Duration::from_secs(5))
        .transactions(&token, &fin, end_date(), end_date())
        .await
        .expect("ends");
    assert_eq!(ts.handle.list_queries().len() - before, 2, "bounded calls");
    assert_eq!(history.stopped, Some(PagingStop::RepeatedPage));
    assert_eq!(
        history.rows.len(),
        25,
        "the repeated page is not counted twice"
    );
}

#[tokio::test]
async fn nothing_registered_answers_a0002_with_818() {
    let ts = spawn(testbed()).await;
    let (token, _) = ts.link(1).await;
    let unseeded = ts.handle.users()[1]
        .accounts
        .iter()
        .find(|a| !a.seeded)
        .expect("user 1 has an unseeded account")
        .fintech_use_num
        .clone();
    let body = balance_body(&ts, &token, &unseeded, 1).await;
    assert_eq!(body["rsp_code"], "A0002");
    assert_eq!(body["bank_rsp_code"], "818");
    let err = ts
        .client(Duration::from_secs(5))
        .balance(&token, &unseeded)
        .await
        .expect_err("no canned answer");
    assert!(
        matches!(&err, BankError::Bank { bank_rsp_code, .. } if bank_rsp_code == "818"),
        "{err:?}"
    );
}

#[tokio::test]
async fn bank_status_lists_the_banks_and_those_under_maintenance() {
    let ts = spawn(testbed()).await;
    let (token, _) = ts.link(0).await;
    let code = ts.handle.users()[0].accounts[0].bank_code_std.to_string();
    let client = ts.client(Duration::from_secs(5));
    let banks = client
        .bank_status(&token)
        .await
        .expect("bank/status answers");
    assert!(banks.iter().any(|b| b.bank_code_std == code && b.available));
    ts.handle.set_faults(Faults {
        maintenance_banks: vec![code.clone()],
        ..Faults::default()
    });
    let banks = client
        .bank_status(&token)
        .await
        .expect("bank/status answers");
    assert!(
        banks
            .iter()
            .any(|b| b.bank_code_std == code && !b.available)
    );
    assert!(banks.iter().any(|b| b.bank_code_std != code && b.available));
    // Without a token: the gateway's O0001.
    let body = ts.get_json("/v2.0/bank/status", None, &[]).await;
    assert_eq!(body["rsp_code"], "O0001");
}

#[tokio::test]
async fn a_refresh_without_scope_is_refused_and_the_client_always_sends_it() {
    let ts = spawn(testbed()).await;
    let (_, token) = ts.link(0).await;
    let refresh = token["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let refused = ts
        .post_token(&[
            ("grant_type", "refresh_token"),
            ("client_id", "ginkgo-sandbox-client"),
            ("client_secret", "ginkgo-sandbox-secret"),
            ("refresh_token", &refresh),
        ])
        .await;
    assert_eq!(refused["rsp_code"], "O0001");
    // Refused, not spent: the client's refresh (with scope) succeeds.
    let renewed = ts
        .client(Duration::from_secs(5))
        .refresh_token(&refresh, "inquiry login")
        .await
        .expect("a refresh with scope is accepted");
    assert!(renewed.refresh_token.is_some());
    // A refusal of the refresh is "relink needed", not a bad request.
    ts.handle.set_faults(Faults {
        refuse_refresh_next: 1,
        ..Faults::default()
    });
    let next = renewed.refresh_token.expect("successor");
    let err = ts
        .client(Duration::from_secs(5))
        .refresh_token(next.expose(), "inquiry login")
        .await
        .expect_err("refused");
    assert!(err.needs_relink(), "{err:?}");
}

#[tokio::test]
async fn the_profile_switches_at_run_time_and_the_default_stays_realistic() {
    let ts = spawn(config()).await;
    assert_eq!(ts.handle.profile(), Profile::Realistic);
    let (token, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let realistic = balance_body(&ts, &token, &fin, 1).await;
    assert_ne!(realistic["account_issue_date"], "00000000");
    ts.handle.set_profile(Profile::Testbed);
    let canned = balance_body(&ts, &token, &fin, 2).await;
    assert_eq!(canned["account_issue_date"], "00000000");
    // …and over HTTP, as the CLI's sandbox is driven.
    let r = ts
        .http
        .post(ts.url("/_sandbox/profile"))
        .body(r#"{"profile":"realistic"}"#)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), 200);
    assert_eq!(ts.handle.profile(), Profile::Realistic);
}

#[tokio::test]
async fn the_state_must_be_32_characters() {
    let ts = spawn(testbed()).await;
    let authorize = |state: String| {
        let url = ts.url("/oauth/2.0/authorize");
        let http = ts.http.clone();
        async move {
            http.get(url)
                .query(&[
                    ("response_type", "code"),
                    ("client_id", "ginkgo-sandbox-client"),
                    ("redirect_uri", REDIRECT),
                    ("scope", "login inquiry"),
                    ("state", state.as_str()),
                    ("auth_type", "0"),
                ])
                .send()
                .await
                .expect("send")
                .text()
                .await
                .expect("body")
        }
    };
    let short = authorize("s".repeat(31)).await;
    assert!(short.contains("O0001"), "{short}");
    let ok = authorize("s".repeat(32)).await;
    assert!(ok.contains("<form"), "{ok}");
}
