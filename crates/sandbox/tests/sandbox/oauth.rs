use chrono::Duration;
use ginkgo_sandbox::SandboxConfig;

use super::helpers::*;

fn authorize_query<'a>(redirect: &'a str, state: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", "ginkgo-sandbox-client"),
        ("redirect_uri", redirect),
        ("scope", "login inquiry"),
        ("state", state),
        ("auth_type", "0"),
    ]
}

#[tokio::test]
async fn the_consent_page_is_escaped_korean_html_listing_every_user_and_account() {
    let ts = spawn(config()).await;
    let state = "<script>alert(1)</script>";
    let resp = ts
        .http
        .get(ts.url("/oauth/2.0/authorize"))
        .query(&authorize_query(REDIRECT, state))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("text/html")
    );
    let html = resp.text().await.expect("body");
    assert!(html.contains("계좌 등록 동의"));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("<script>"));
    for user in ts.handle.users() {
        assert!(html.contains(&user.name));
        for account in &user.accounts {
            assert!(html.contains(&account.fintech_use_num));
            assert!(
                !html.contains(&account.account_num),
                "the real account number must not be shown"
            );
        }
    }
}

#[tokio::test]
async fn authorize_rejects_bad_clients_redirects_and_missing_parameters() {
    let ts = spawn(SandboxConfig {
        allow_loopback_redirects: false,
        ..config()
    })
    .await;
    let state = "s".repeat(32);
    let check = |query: Vec<(&'static str, String)>, detail: &'static str| {
        let ts = &ts;
        async move {
            let v: serde_json::Value = ts
                .http
                .get(ts.url("/oauth/2.0/authorize"))
                .query(&query)
                .send()
                .await
                .expect("get")
                .json()
                .await
                .expect("json");
            assert_eq!(v["rsp_code"], "O0001");
            assert_eq!(v["rsp_message"], format!("인증 파라미터 오류([{detail}])"));
        }
    };
    let base = |redirect: &str, client: &str| -> Vec<(&'static str, String)> {
        vec![
            ("response_type", "code".into()),
            ("client_id", client.into()),
            ("redirect_uri", redirect.into()),
            ("scope", "login inquiry".into()),
            ("state", state.clone()),
        ]
    };
    check(
        base("http://localhost:9999/other", "ginkgo-sandbox-client"),
        "3000114",
    )
    .await;
    check(base(REDIRECT, "someone-else"), "3000201").await;
    let mut missing = base(REDIRECT, "ginkgo-sandbox-client");
    missing.retain(|(k, _)| *k != "state");
    check(missing, "3000103").await;
    let mut bad_scope = base(REDIRECT, "ginkgo-sandbox-client");
    bad_scope[3].1 = "login oob".into();
    check(bad_scope, "3000115").await;
}

#[tokio::test]
async fn approving_redirects_with_a_single_use_code_sorted_scope_client_info_and_state() {
    let ts = spawn(config()).await;
    let fins = ts.fins(0);
    let state = "0123456789abcdef0123456789abcdef";
    let location = ts
        .approve(0, &fins[..1], "transfer login inquiry", state)
        .await;
    assert!(location.starts_with(REDIRECT));
    assert!(
        location.contains("scope=inquiry%20login%20transfer"),
        "{location}"
    );
    let code = query_param(&location, "code").expect("code");
    assert_eq!(code.len(), 30);
    assert!(code.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(query_param(&location, "state").as_deref(), Some(state));
    assert_eq!(
        query_param(&location, "client_info").as_deref(),
        Some("ginkgo test")
    );
    assert_eq!(
        ts.handle.registered_accounts(&ts.user_seq_no(0)),
        vec![fins[0].clone()]
    );
}

#[tokio::test]
async fn cancelling_or_choosing_another_users_account_does_not_issue_a_code() {
    let ts = spawn(config()).await;
    let state = "s".repeat(32);
    let mut form = authorize_query(REDIRECT, &state);
    form.push(("action", "cancel"));
    let resp = ts
        .http
        .post(ts.url("/oauth/2.0/authorize"))
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 302);
    let location = resp.headers()["location"]
        .to_str()
        .expect("ascii")
        .to_string();
    assert_eq!(
        query_param(&location, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query_param(&location, "state").as_deref(),
        Some(state.as_str())
    );
    assert!(query_param(&location, "code").is_none());

    let other = ts.fins(1)[0].clone();
    let user0 = ts.user_seq_no(0);
    let mut form = authorize_query(REDIRECT, &state);
    form.extend([
        ("action", "approve"),
        ("user_seq_no", user0.as_str()),
        ("fintech_use_num", other.as_str()),
    ]);
    let resp = ts
        .http
        .post(ts.url("/oauth/2.0/authorize"))
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status(), 400);
    assert!(
        resp.text()
            .await
            .expect("body")
            .contains("계좌를 하나 이상 선택하세요")
    );
    assert!(ts.handle.registered_accounts(&user0).is_empty());
}

#[tokio::test]
async fn the_token_endpoint_is_form_only_and_reports_o_codes() {
    let ts = spawn(config()).await;
    let get: serde_json::Value = ts
        .http
        .get(ts.url("/oauth/2.0/token"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(get["rsp_code"], "O0010");
    let bad = ts
        .post_token(&[
            ("client_id", "ginkgo-sandbox-client"),
            ("client_secret", "wrong"),
            ("scope", "oob"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(bad["rsp_code"], "O0001");
    assert_eq!(bad["rsp_message"], "인증 파라미터 오류([3000201])");
    assert!(bad.get("access_token").is_none());
    let missing = ts
        .post_token(&[
            ("client_id", "ginkgo-sandbox-client"),
            ("grant_type", "client_credentials"),
        ])
        .await;
    assert_eq!(missing["rsp_message"], "인증 파라미터 오류([3000103])");
    let json: serde_json::Value = ts
        .http
        .post(ts.url("/oauth/2.0/token"))
        .json(&serde_json::json!({"grant_type":"client_credentials","client_id":"ginkgo-sandbox-client","client_secret":"ginkgo-sandbox-secret","scope":"oob"}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(json["rsp_code"], "O0001", "JSON bodies are not accepted");
}

#[tokio::test]
async fn a_code_becomes_hs256_tokens_with_the_real_claims_and_lifetimes() {
    let ts = spawn(config()).await;
    let resp = ts
        .http
        .get(ts.url("/oauth/2.0/token"))
        .send()
        .await
        .expect("get");
    assert_eq!(resp.status(), 200);
    let (access, token) = ts.link(0).await;
    assert!(token.get("rsp_code").is_none(), "success has no rsp_code");
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], serde_json::json!(7_775_999));
    assert_eq!(token["scope"], "inquiry login");
    assert_eq!(token["user_seq_no"], ts.user_seq_no(0).as_str());
    assert!(access.starts_with("eyJhbGciOiJIUzI1NiIs"));
    let a = jwt_payload(&access);
    let r = jwt_payload(token["refresh_token"].as_str().expect("refresh"));
    assert_eq!(a["aud"], ts.user_seq_no(0).as_str());
    assert_eq!(a["scope"], serde_json::json!(["inquiry", "login"]));
    assert_eq!(a["iss"], "https://www.openbanking.or.kr");
    assert_eq!(a["jti"].as_str().map(str::len), Some(36));
    let now = ts.handle.now().timestamp();
    let exp = a["exp"].as_i64().expect("exp");
    assert!((exp - now - 7_775_999).abs() <= 5);
    assert_eq!(r["exp"].as_i64(), Some(exp + 864_000));
}

#[tokio::test]
async fn used_expired_or_misdirected_codes_yield_no_access_token() {
    let ts = spawn(config()).await;
    let fins = ts.fins(0);
    let exchange = |code: String, redirect: &'static str| {
        let ts = &ts;
        async move {
            ts.post_token(&[
                ("code", &code),
                ("client_id", "ginkgo-sandbox-client"),
                ("client_secret", "ginkgo-sandbox-secret"),
                ("redirect_uri", redirect),
                ("grant_type", "authorization_code"),
            ])
            .await
        }
    };
    let code = query_param(&ts.approve(0, &fins, "inquiry", "a").await, "code").expect("code");
    assert!(
        exchange(code.clone(), REDIRECT)
            .await
            .get("access_token")
            .is_some()
    );
    let again = exchange(code, REDIRECT).await;
    assert!(again.get("access_token").is_none());
    assert_eq!(again["rsp_message"], "인증 파라미터 오류([3002110])");

    let code = query_param(&ts.approve(0, &fins, "inquiry", "b").await, "code").expect("code");
    ts.handle.advance_clock(Duration::minutes(11));
    assert!(exchange(code, REDIRECT).await.get("access_token").is_none());

    let code = query_param(&ts.approve(0, &fins, "inquiry", "c").await, "code").expect("code");
    let wrong = exchange(code, "http://localhost:8080/elsewhere").await;
    assert_eq!(wrong["rsp_message"], "인증 파라미터 오류([3000114])");
}

#[tokio::test]
async fn refresh_grants_new_tokens_until_ten_days_after_access_expiry() {
    let ts = spawn(config()).await;
    let (_, token) = ts.link(0).await;
    let refresh = token["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let form = |r: &str| {
        vec![
            ("client_id", "ginkgo-sandbox-client".to_string()),
            ("client_secret", "ginkgo-sandbox-secret".to_string()),
            ("refresh_token", r.to_string()),
            ("grant_type", "refresh_token".to_string()),
        ]
    };
    let post = |f: Vec<(&'static str, String)>| {
        let ts = &ts;
        async move {
            ts.http
                .post(ts.url("/oauth/2.0/token"))
                .form(&f)
                .send()
                .await
                .expect("post")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        }
    };
    let renewed = post(form(&refresh)).await;
    assert!(renewed.get("rsp_code").is_none());
    assert_eq!(renewed["scope"], "inquiry login");
    let access = renewed["access_token"].as_str().expect("access");
    let me = ts
        .get_json(
            "/v2.0/user/me",
            Some(access),
            &[("user_seq_no", &ts.user_seq_no(0))],
        )
        .await;
    assert_eq!(me["rsp_code"], "A0000");

    assert_eq!(post(form("garbage")).await["rsp_code"], "O0014");
    let (access_token, _) = ts.link(1).await;
    assert_eq!(
        post(form(&access_token)).await["rsp_code"],
        "O0014",
        "an access token is not a refresh token"
    );
    // Refresh tokens are single use: the spent one is refused, its successor works once.
    assert_eq!(post(form(&refresh)).await["rsp_code"], "O0014");
    let next = renewed["refresh_token"]
        .as_str()
        .expect("a new refresh token");
    assert_ne!(next, refresh);
    let again = post(form(next)).await;
    assert!(again.get("rsp_code").is_none(), "{again}");
    assert_eq!(post(form(next)).await["rsp_code"], "O0014", "a replay");
    let last = again["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    ts.handle.advance_clock(Duration::days(101));
    assert_eq!(post(form(&last)).await["rsp_code"], "O0015");
}

#[tokio::test]
async fn revoked_tokens_are_refused_and_a_new_consent_works_again() {
    let ts = spawn(config()).await;
    let (access, token) = ts.link(0).await;
    let refresh = token["refresh_token"]
        .as_str()
        .expect("refresh")
        .to_string();
    let user = ts.user_seq_no(0);
    let me = |t: String| {
        let ts = &ts;
        let user = user.clone();
        async move {
            ts.get_json("/v2.0/user/me", Some(&t), &[("user_seq_no", &user)])
                .await
        }
    };
    assert_eq!(me(access.clone()).await["rsp_code"], "A0000");
    let r = ts
        .http
        .post(ts.url("/_sandbox/revoke"))
        .json(&serde_json::json!({ "user_seq_no": user }))
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), 200);
    let refused = me(access).await;
    assert_eq!(refused["rsp_code"], "O0002");
    assert!(refused.get("api_tran_id").is_none(), "a gateway body");
    let renewed = ts
        .post_token(&[
            ("client_id", "ginkgo-sandbox-client"),
            ("client_secret", "ginkgo-sandbox-secret"),
            ("refresh_token", &refresh),
            ("grant_type", "refresh_token"),
        ])
        .await;
    assert_eq!(renewed["rsp_code"], "O0014");
    let r = ts
        .http
        .post(ts.url("/_sandbox/revoke"))
        .json(&serde_json::json!({ "user_seq_no": "9999999999" }))
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), 404);
    let (fresh, _) = ts.link(0).await;
    assert_eq!(me(fresh).await["rsp_code"], "A0000");
}

#[tokio::test]
async fn client_credentials_give_an_oob_token_that_user_apis_refuse() {
    let ts = spawn(config()).await;
    let form = |scope: &'static str| {
        [
            ("client_id", "ginkgo-sandbox-client"),
            ("client_secret", "ginkgo-sandbox-secret"),
            ("scope", scope),
            ("grant_type", "client_credentials"),
        ]
    };
    let oob = ts.post_token(&form("oob")).await;
    assert_eq!(oob["scope"], "oob");
    assert_eq!(oob["client_use_code"], "M202600001");
    assert_eq!(oob["expires_in"], serde_json::json!(7_775_999));
    assert!(oob.get("refresh_token").is_none() && oob.get("user_seq_no").is_none());
    assert_eq!(
        ts.post_token(&form("inquiry")).await["rsp_message"],
        "인증 파라미터 오류([3000103])"
    );
    assert_eq!(ts.post_token(&form("sa")).await["rsp_code"], "O0011");
    let token = oob["access_token"].as_str().expect("token");
    let v = ts
        .get_json(
            "/v2.0/account/balance/fin_num",
            Some(token),
            &[
                ("bank_tran_id", &tran_id(1)),
                ("fintech_use_num", &ts.fins(0)[0]),
                ("tran_dtime", TRAN_DTIME),
            ],
        )
        .await;
    assert_eq!(v["rsp_code"], "O0011");
}
