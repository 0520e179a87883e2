use std::time::Duration;

use ginkgo_openbanking::{AuthorizeOptions, BankError, OpenBankingApi};
use ginkgo_sandbox::Faults;

use super::helpers::*;

/// Links user 0 through the client's authorize URL, the consent form and `exchange_code`.
async fn linked_client(ts: &TestSandbox) -> (ginkgo_openbanking::HttpClient, String) {
    let client = ts.client(Duration::from_secs(5));
    let state = "abcdefghijklmnopqrstuvwxyz012345";
    let url = client.authorize_url(state, &AuthorizeOptions::default());
    let page = ts.http.get(&url).send().await.expect("consent page");
    assert_eq!(page.status(), 200);
    let location = ts.approve(0, &ts.fins(0), "login inquiry", state).await;
    assert_eq!(query_param(&location, "state").as_deref(), Some(state));
    let code = query_param(&location, "code").expect("code");
    let token = client.exchange_code(&code).await.expect("token");
    assert_eq!(
        token.user_seq_no.as_deref(),
        Some(ts.user_seq_no(0).as_str())
    );
    assert_eq!(token.expires_in, 7_775_999);
    assert_eq!(token.scopes, vec!["inquiry", "login"]);
    (client, token.access_token.expose().to_string())
}

#[tokio::test]
async fn the_client_links_and_reads_everything_the_sandbox_holds() {
    let ts = spawn(config()).await;
    let (client, access) = linked_client(&ts).await;
    let user = ts.user_seq_no(0);
    let me = client.user_me(&access, &user).await.expect("user/me");
    assert_eq!(me.accounts.len(), ts.fins(0).len());
    let list = client
        .account_list(&access, &user)
        .await
        .expect("account/list");
    assert_eq!(list.accounts.len(), me.accounts.len());
    for fin in ts.fins(0) {
        let truth = ts.handle.account(&fin).expect("account");
        let balance = client.balance(&access, &fin).await.expect("balance");
        assert_eq!(balance.balance, truth.balance());
        let history = client
            .transactions(&access, &fin, truth.rows[0].date, end_date())
            .await
            .expect("transactions");
        assert_eq!(history.rows, ts.handle.transactions(&fin).expect("rows"));
        assert_eq!(history.pages, truth.rows.len().div_ceil(25));
        assert_eq!(history.balance, truth.balance());
    }
}

#[tokio::test]
async fn refresh_and_client_credentials_work_through_the_client() {
    let ts = spawn(config()).await;
    let client = ts.client(Duration::from_secs(5));
    let location = ts.approve(0, &ts.fins(0), "login inquiry", "s").await;
    let token = client
        .exchange_code(&query_param(&location, "code").expect("code"))
        .await
        .expect("token");
    let again = client
        .exchange_code(&query_param(&location, "code").expect("code"))
        .await;
    assert!(
        matches!(again, Err(BankError::InvalidGrant { .. })),
        "{again:?}"
    );
    let refresh = token.refresh_token.expect("refresh token");
    let renewed = client
        .refresh_token(refresh.expose(), "inquiry login")
        .await
        .expect("renewed");
    assert_ne!(renewed.access_token, token.access_token);
    assert!(
        client
            .user_me(renewed.access_token.expose(), &ts.user_seq_no(0))
            .await
            .is_ok()
    );
    let bad = client
        .refresh_token("nonsense", "login")
        .await
        .expect_err("rejected");
    assert!(bad.needs_relink(), "{bad:?}");
    let oob = client.client_credentials().await.expect("oob");
    assert_eq!(oob.client_use_code.as_deref(), Some("M202600001"));
    assert_eq!(oob.scopes, vec!["oob"]);
}

#[tokio::test]
async fn http_errors_are_retried_with_backoff_and_then_succeed() {
    let ts = spawn(config()).await;
    let (client, access) = linked_client(&ts).await;
    let fin = ts.fins(0)[0].clone();
    ts.handle.set_faults(Faults {
        http_error_next: 2,
        http_error_status: 500,
        ..Faults::default()
    });
    let before = ts.handle.requests_received();
    let balance = client
        .balance(&access, &fin)
        .await
        .expect("third attempt succeeds");
    assert_eq!(
        balance.balance,
        ts.handle.account(&fin).expect("account").balance()
    );
    assert_eq!(ts.handle.requests_received() - before, 3);
}

#[tokio::test]
async fn persistent_failures_end_as_retry_later_after_bounded_attempts() {
    let ts = spawn(config()).await;
    let (client, access) = linked_client(&ts).await;
    let fin = ts.fins(0)[0].clone();
    ts.handle.set_faults(Faults {
        http_error_per_mille: 1000,
        ..Faults::default()
    });
    let before = ts.handle.requests_received();
    let err = client.balance(&access, &fin).await.expect_err("always 503");
    assert!(
        matches!(err, BankError::RetryLater { .. }) && err.is_transient(),
        "{err:?}"
    );
    assert_eq!(
        ts.handle.requests_received() - before,
        3,
        "one attempt + max_retries (2)"
    );
}

#[tokio::test]
async fn slow_answers_time_out_and_are_retried() {
    let ts = spawn(config()).await;
    let (_, access) = linked_client(&ts).await;
    let client = ts.client(Duration::from_millis(100));
    let fin = ts.fins(0)[0].clone();
    ts.handle.set_faults(Faults {
        delay_ms: 400,
        ..Faults::default()
    });
    let before = ts.handle.requests_received();
    let err = client.balance(&access, &fin).await.expect_err("times out");
    assert!(
        matches!(&err, BankError::RetryLater { reason, .. } if reason.contains("timed out")),
        "{err:?}"
    );
    assert_eq!(ts.handle.requests_received() - before, 3);
    ts.handle.set_faults(Faults::default());
    assert!(client.balance(&access, &fin).await.is_ok());
}

#[tokio::test]
async fn an_expired_token_means_relink_and_is_not_retried() {
    let ts = spawn(config()).await;
    let (client, access) = linked_client(&ts).await;
    ts.handle.set_faults(Faults {
        expired_token_next: 1,
        ..Faults::default()
    });
    let before = ts.handle.requests_received();
    let err = client
        .user_me(&access, &ts.user_seq_no(0))
        .await
        .expect_err("expired");
    assert!(err.needs_relink() && !err.is_transient(), "{err:?}");
    assert_eq!(err.code(), Some("O0003"));
    assert_eq!(ts.handle.requests_received() - before, 1);
}

#[tokio::test]
async fn duplicate_ids_are_retried_with_fresh_ids_while_paging() {
    let ts = spawn(config()).await;
    let (client, access) = linked_client(&ts).await;
    let fin = ts.fins(0)[0].clone();
    let truth = ts.handle.transactions(&fin).expect("rows");
    ts.handle.set_faults(Faults {
        duplicate_tran_id_next: 2,
        ..Faults::default()
    });
    let before = ts.handle.requests_received();
    let history = client
        .transactions(&access, &fin, truth[0].date, end_date())
        .await
        .expect("history");
    assert_eq!(history.rows, truth);
    assert_eq!(
        ts.handle.requests_received() - before,
        history.pages as u64 + 2
    );
    // More duplicates than the client tolerates surface as DuplicateTranId.
    ts.handle.set_faults(Faults {
        duplicate_tran_id_next: 10,
        ..Faults::default()
    });
    let err = client
        .balance(&access, &fin)
        .await
        .expect_err("too many duplicates");
    assert!(matches!(err, BankError::DuplicateTranId { .. }), "{err:?}");
}

#[tokio::test]
async fn unregistered_accounts_and_unseeded_testbed_accounts_map_to_typed_errors() {
    let ts = spawn(ginkgo_sandbox::SandboxConfig {
        testbed_mode: true,
        ..config()
    })
    .await;
    let (client, access) = linked_client(&ts).await;
    let other = ts.fins(1)[0].clone();
    let err = client
        .balance(&access, &other)
        .await
        .expect_err("not registered");
    assert!(matches!(err, BankError::UnknownAccount { .. }), "{err:?}");
    let user = ts.user_seq_no(1);
    let unseeded = ts.handle.users()[1]
        .accounts
        .iter()
        .find(|a| !a.seeded)
        .expect("unseeded")
        .fintech_use_num
        .clone();
    ts.handle
        .register_accounts(&user, &[&unseeded])
        .expect("register");
    let token = ts
        .handle
        .issue_user_token(&user, &["inquiry", "login"])
        .expect("token");
    let err = client
        .balance(token.access_token.as_deref().expect("access"), &unseeded)
        .await
        .expect_err("no data");
    assert!(
        matches!(&err, BankError::Bank { bank_rsp_code, .. } if bank_rsp_code == "818"),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_code_exchange_that_may_have_reached_the_bank_is_not_sent_again() {
    let ts = spawn(config()).await;
    let client = ts.client(Duration::from_millis(100));
    let state = "abcdefghijklmnopqrstuvwxyz012345";
    let location = ts.approve(0, &ts.fins(0), "login inquiry", state).await;
    let code = query_param(&location, "code").expect("code");
    // Slower than the client's timeout: the bank may have spent the code by the time we give up.
    ts.handle.set_faults(Faults {
        delay_ms: 400,
        ..Faults::default()
    });
    let before = ts.handle.requests_received();
    let err = client.exchange_code(&code).await.expect_err("times out");
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(
        ts.handle.requests_received() - before,
        1,
        "a single-use code is sent once"
    );
    // A 5xx after the request arrived: not repeated either.
    ts.handle.set_faults(Faults {
        http_error_next: 1,
        ..Faults::default()
    });
    let before = ts.handle.requests_received();
    let err = client
        .refresh_token("whatever", "login")
        .await
        .expect_err("503");
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(ts.handle.requests_received() - before, 1);
    // Inquiries and the institution grant are still retried through the same 503.
    ts.handle.set_faults(Faults {
        http_error_next: 1,
        ..Faults::default()
    });
    let before = ts.handle.requests_received();
    client
        .client_credentials()
        .await
        .expect("retried, then granted");
    assert_eq!(ts.handle.requests_received() - before, 2);
}
