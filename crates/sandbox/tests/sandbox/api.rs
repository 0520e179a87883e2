use chrono::Duration;
use ginkgo_openbanking::Direction;
use ginkgo_sandbox::SandboxConfig;
use serde_json::Value;

use super::helpers::*;

const LIST: &str = "/v2.0/account/transaction_list/fin_num";
const BALANCE: &str = "/v2.0/account/balance/fin_num";

fn assert_gateway_error(v: &Value, code: &str) {
    assert_eq!(v["rsp_code"], code);
    let keys: Vec<&String> = v.as_object().expect("object").keys().collect();
    assert_eq!(
        keys.len(),
        2,
        "gateway errors carry only rsp_code and rsp_message: {v}"
    );
}

fn assert_envelope(v: &Value) {
    let id = v["api_tran_id"].as_str().expect("api_tran_id");
    assert!(
        uuid::Uuid::parse_str(id).is_ok_and(|u| u.get_version_num() == 4),
        "{id}"
    );
    let dtm = v["api_tran_dtm"].as_str().expect("api_tran_dtm");
    assert!(
        dtm.len() == 17 && dtm.bytes().all(|b| b.is_ascii_digit()),
        "{dtm}"
    );
}

#[tokio::test]
async fn auth_errors_are_http_200_gateway_bodies() {
    let ts = spawn(config()).await;
    let (access, token) = ts.link(0).await;
    let user = ts.user_seq_no(0);
    let q = [("user_seq_no", user.as_str())];
    assert_gateway_error(&ts.get_json("/v2.0/user/me", None, &q).await, "O0001");
    assert_eq!(
        ts.get_json("/v2.0/user/me", None, &q).await["rsp_message"],
        "인증 파라미터 오류([992])"
    );
    assert_gateway_error(
        &ts.get_json("/v2.0/user/me", Some("garbled"), &q).await,
        "O0002",
    );
    let tampered = format!("{access}x");
    assert_gateway_error(
        &ts.get_json("/v2.0/user/me", Some(&tampered), &q).await,
        "O0002",
    );
    let refresh = token["refresh_token"].as_str().expect("refresh");
    assert_gateway_error(
        &ts.get_json("/v2.0/user/me", Some(refresh), &q).await,
        "O0002",
    );
    // A token without the inquiry scope cannot read balances.
    let login_only = ts
        .handle
        .issue_user_token(&user, &["login"])
        .expect("token");
    let login_only = login_only.access_token.expect("access");
    let v = ts
        .get_json(
            BALANCE,
            Some(&login_only),
            &[
                ("bank_tran_id", &tran_id(1)),
                ("fintech_use_num", &ts.fins(0)[0]),
                ("tran_dtime", TRAN_DTIME),
            ],
        )
        .await;
    assert_gateway_error(&v, "O0011");
    ts.handle.advance_clock(Duration::days(91));
    assert_gateway_error(
        &ts.get_json("/v2.0/user/me", Some(&access), &q).await,
        "O0003",
    );
}

#[tokio::test]
async fn wrong_methods_and_unknown_paths_get_o_codes() {
    let ts = spawn(config()).await;
    let v: Value = ts
        .http
        .post(ts.url("/v2.0/user/me"))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_gateway_error(&v, "O0010");
    let v = ts.get_json("/v2.0/nothing/here", None, &[]).await;
    assert_gateway_error(&v, "O0005");
}

#[tokio::test]
async fn user_me_and_account_list_show_only_registered_accounts_as_strings() {
    let ts = spawn(config()).await;
    let user = ts.user_seq_no(1);
    let fins = ts.fins(1);
    assert!(fins.len() >= 2);
    let location = ts.approve(1, &fins[..2], "inquiry login", "x").await;
    let code = query_param(&location, "code").expect("code");
    let token = ts
        .post_token(&[
            ("code", &code),
            ("client_id", "ginkgo-sandbox-client"),
            ("client_secret", "ginkgo-sandbox-secret"),
            ("redirect_uri", REDIRECT),
            ("grant_type", "authorization_code"),
        ])
        .await;
    let access = token["access_token"].as_str().expect("access");
    let me = ts
        .get_json("/v2.0/user/me", Some(access), &[("user_seq_no", &user)])
        .await;
    assert_eq!(me["rsp_code"], "A0000");
    assert_eq!(me["rsp_message"], "");
    assert_envelope(&me);
    assert_all_scalars_are_strings(&me, "user/me");
    assert_eq!(me["res_cnt"], "2");
    assert!(me["user_info"].is_null() && me["user_email"].is_null());
    assert_eq!(me["user_ci"].as_str().map(str::len), Some(88));
    let listed: Vec<&str> = me["res_list"]
        .as_array()
        .expect("list")
        .iter()
        .map(|a| a["fintech_use_num"].as_str().expect("fin"))
        .collect();
    assert_eq!(listed.len(), 2);
    for item in me["res_list"].as_array().expect("list") {
        assert!(item["account_num"].is_null());
        assert!(
            item["account_num_masked"]
                .as_str()
                .expect("masked")
                .ends_with("***")
        );
        assert_eq!(item["inquiry_agree_yn"], "Y");
        assert_eq!(item["inquiry_agree_dtime"].as_str().map(str::len), Some(14));
        assert!(item.get("account_state").is_none());
    }
    let list = ts
        .get_json(
            "/v2.0/account/list",
            Some(access),
            &[
                ("user_seq_no", &user),
                ("include_cancel_yn", "N"),
                ("sort_order", "D"),
            ],
        )
        .await;
    assert_eq!(list["rsp_code"], "A0000");
    assert_all_scalars_are_strings(&list, "account/list");
    assert_eq!(list["res_cnt"], "2");
    assert_eq!(list["user_name"], ts.handle.users()[1].name.as_str());
    assert!(list["res_list"][0]["account_state"].is_string());
    // Another user's number is refused.
    let other = ts.user_seq_no(0);
    assert_eq!(
        ts.get_json("/v2.0/user/me", Some(access), &[("user_seq_no", &other)])
            .await["rsp_code"],
        "A0313"
    );
}

#[tokio::test]
async fn bank_tran_ids_are_validated_and_unique_per_kst_day() {
    let ts = spawn(config()).await;
    let (access, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let call = |id: String, dtime: &'static str| {
        let ts = &ts;
        let access = access.clone();
        let fin = fin.clone();
        async move {
            ts.get_json(
                BALANCE,
                Some(&access),
                &[
                    ("bank_tran_id", &id),
                    ("fintech_use_num", &fin),
                    ("tran_dtime", dtime),
                ],
            )
            .await
        }
    };
    let ok = call(tran_id(7), TRAN_DTIME).await;
    assert_eq!(ok["rsp_code"], "A0000");
    assert_eq!(ok["bank_tran_id"], tran_id(7).as_str());
    let dup = call(tran_id(7), TRAN_DTIME).await;
    assert_eq!(dup["rsp_code"], "A0326");
    assert_envelope(&dup);
    let bad = call("M202600001U12345678a".into(), TRAN_DTIME).await;
    assert_eq!(bad["rsp_code"], "A0004");
    assert!(bad["rsp_message"].as_str().expect("msg").contains('['));
    let foreign = call(
        ginkgo_openbanking::BankTranId::from_sequence("T991234567", 1)
            .expect("id")
            .to_string(),
        TRAN_DTIME,
    )
    .await;
    assert_eq!(foreign["rsp_code"], "A0004");
    assert!(
        foreign["rsp_message"]
            .as_str()
            .expect("msg")
            .contains("이용기관코드")
    );
    assert_eq!(call(tran_id(8), "2026112012").await["rsp_code"], "A0004");
    // The next KST day accepts the same id again.
    ts.handle.advance_clock(Duration::days(1));
    assert_eq!(call(tran_id(7), TRAN_DTIME).await["rsp_code"], "A0000");
}

#[tokio::test]
async fn balance_is_the_last_rows_balance_and_unregistered_accounts_are_refused() {
    let ts = spawn(config()).await;
    let (access, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let v = ts
        .get_json(
            BALANCE,
            Some(&access),
            &[
                ("bank_tran_id", &tran_id(1)),
                ("fintech_use_num", &fin),
                ("tran_dtime", TRAN_DTIME),
            ],
        )
        .await;
    assert_eq!(v["rsp_code"], "A0000");
    assert_envelope(&v);
    assert_all_scalars_are_strings(&v, "balance");
    assert_eq!(v["bank_rsp_code"], "000");
    let account = ts.handle.account(&fin).expect("account");
    let last = account.rows.last().expect("rows");
    assert_eq!(
        v["balance_amt"],
        last.after_balance.get().to_string().as_str()
    );
    assert_eq!(
        v["last_tran_date"],
        last.date.format("%Y%m%d").to_string().as_str()
    );
    let other = ts.fins(1)[0].clone();
    let refused = ts
        .get_json(
            BALANCE,
            Some(&access),
            &[
                ("bank_tran_id", &tran_id(2)),
                ("fintech_use_num", &other),
                ("tran_dtime", TRAN_DTIME),
            ],
        )
        .await;
    assert_eq!(refused["rsp_code"], "A0304");
}

async fn all_pages(
    ts: &TestSandbox,
    access: &str,
    base: &[(&str, &str)],
    first_trace: &str,
    start_id: u64,
) -> (Vec<Value>, usize) {
    let mut rows = Vec::new();
    let mut trace = first_trace.to_string();
    let mut pages = 0;
    loop {
        let id = tran_id(start_id + pages as u64);
        let mut q: Vec<(&str, &str)> = base.to_vec();
        q.push(("bank_tran_id", &id));
        q.push(("befor_inquiry_trace_info", &trace));
        let v = ts.get_json(LIST, Some(access), &q).await;
        assert_eq!(v["rsp_code"], "A0000", "{v}");
        assert!(v.get("res_cnt").is_none());
        let page = v["res_list"].as_array().expect("list").clone();
        assert_eq!(v["page_record_cnt"], page.len().to_string().as_str());
        assert!(page.len() <= 25);
        pages += 1;
        rows.extend(page);
        if v["next_page_yn"] == "N" {
            return (rows, pages);
        }
        assert_eq!(v["next_page_yn"], "Y");
        assert!(rows.len() % 25 == 0);
        trace = v["befor_inquiry_trace_info"]
            .as_str()
            .expect("trace")
            .to_string();
        assert!(!trace.is_empty() && trace.len() <= 20);
    }
}

#[tokio::test]
async fn transaction_pages_hold_25_rows_and_concatenate_to_the_sandbox_truth() {
    let ts = spawn(config()).await;
    let (access, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let truth = ts.handle.rows(&fin).expect("rows").to_vec();
    assert!(truth.len() > 100);
    let from = "20260901";
    let to = "20261031";
    let base = [
        ("fintech_use_num", fin.as_str()),
        ("inquiry_type", "A"),
        ("inquiry_base", "D"),
        ("from_date", from),
        ("from_time", ""),
        ("to_date", to),
        ("to_time", ""),
        ("sort_order", "A"),
        ("tran_dtime", TRAN_DTIME),
    ];
    // The KFTC sample's literal first trace "123" means "first page".
    let (rows, pages) = all_pages(&ts, &access, &base, "123", 100).await;
    let expected: Vec<_> = truth
        .iter()
        .filter(|r| {
            r.date.format("%Y%m%d").to_string().as_str() >= from
                && r.date.format("%Y%m%d").to_string().as_str() <= to
        })
        .map(|r| serde_json::to_value(r.to_wire()).expect("json"))
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(pages, expected.len().div_ceil(25));
    assert_all_scalars_are_strings(&Value::Array(rows.clone()), "rows");

    let mut desc = base;
    desc[7] = ("sort_order", "D");
    let (rows_desc, _) = all_pages(&ts, &access, &desc, "", 200).await;
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(rows_desc, reversed);

    let mut incoming = base;
    incoming[1] = ("inquiry_type", "I");
    let (rows_in, _) = all_pages(&ts, &access, &incoming, "", 300).await;
    assert!(!rows_in.is_empty());
    assert!(
        rows_in
            .iter()
            .all(|r| r["inout_type"] == Direction::Deposit.as_wire())
    );
    let mut outgoing = base;
    outgoing[1] = ("inquiry_type", "O");
    let (rows_out, _) = all_pages(&ts, &access, &outgoing, "", 400).await;
    assert_eq!(rows_in.len() + rows_out.len(), expected.len());
}

#[tokio::test]
async fn a_trace_from_another_query_restarts_at_the_first_page() {
    let ts = spawn(config()).await;
    let (access, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let q = |sort: &'static str, id: String, trace: String| {
        vec![
            ("fintech_use_num", fin.clone()),
            ("inquiry_type", "A".to_string()),
            ("inquiry_base", "D".to_string()),
            ("from_date", "20260801".to_string()),
            ("to_date", "20261120".to_string()),
            ("sort_order", sort.to_string()),
            ("tran_dtime", TRAN_DTIME.to_string()),
            ("bank_tran_id", id),
            ("befor_inquiry_trace_info", trace),
        ]
    };
    let get = |query: Vec<(&'static str, String)>| {
        let ts = &ts;
        let access = access.clone();
        async move {
            let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
            ts.get_json(LIST, Some(&access), &q).await
        }
    };
    let first = get(q("A", tran_id(1), String::new())).await;
    let trace = first["befor_inquiry_trace_info"]
        .as_str()
        .expect("trace")
        .to_string();
    let second = get(q("A", tran_id(2), trace.clone())).await;
    assert_ne!(second["res_list"][0], first["res_list"][0]);
    let first_desc = get(q("D", tran_id(3), String::new())).await;
    let mixed = get(q("D", tran_id(4), trace)).await;
    assert_eq!(mixed["res_list"], first_desc["res_list"]);
    let garbage = get(q("A", tran_id(5), "ZZZZZZZZZZZZZ".into())).await;
    assert_eq!(garbage["res_list"], first["res_list"]);
}

#[tokio::test]
async fn bad_list_parameters_are_a0004() {
    let ts = spawn(config()).await;
    let (access, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    for (i, (key, value)) in [
        ("inquiry_type", "X"),
        ("sort_order", "Z"),
        ("from_date", "2026-09-01"),
        ("inquiry_base", "Q"),
        ("to_date", "20250101"),
    ]
    .iter()
    .enumerate()
    {
        let mut q = vec![
            ("fintech_use_num", fin.as_str()),
            ("inquiry_type", "A"),
            ("inquiry_base", "D"),
            ("from_date", "20260901"),
            ("to_date", "20261001"),
            ("sort_order", "D"),
            ("tran_dtime", TRAN_DTIME),
        ];
        for pair in q.iter_mut() {
            if pair.0 == *key {
                pair.1 = value;
            }
        }
        let id = tran_id(50 + i as u64);
        q.push(("bank_tran_id", &id));
        let v = ts.get_json(LIST, Some(&access), &q).await;
        assert_eq!(v["rsp_code"], "A0004", "{key}={value}");
    }
}

#[tokio::test]
async fn inquiry_by_time_bounds_rows_by_date_and_time() {
    let ts = spawn(config()).await;
    let (access, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let q = [
        ("fintech_use_num", fin.as_str()),
        ("inquiry_type", "A"),
        ("inquiry_base", "T"),
        ("from_date", "20261001"),
        ("from_time", "120000"),
        ("to_date", "20261003"),
        ("to_time", "115959"),
        ("sort_order", "A"),
        ("tran_dtime", TRAN_DTIME),
    ];
    let (rows, _) = all_pages(&ts, &access, &q, "", 10).await;
    let expected = ts
        .handle
        .rows(&fin)
        .expect("rows")
        .iter()
        .filter(|r| {
            let key = format!("{}{}", r.date.format("%Y%m%d"), r.time.format("%H%M%S"));
            key.as_str() >= "20261001120000" && key.as_str() <= "20261003115959"
        })
        .count();
    assert_eq!(rows.len(), expected);
}

#[tokio::test]
async fn testbed_mode_answers_simulator_missing_for_unseeded_accounts() {
    let ts = spawn(SandboxConfig {
        testbed_mode: true,
        ..config()
    })
    .await;
    let user = &ts.handle.users()[1];
    let unseeded = user
        .accounts
        .iter()
        .find(|a| !a.seeded)
        .expect("an unseeded account")
        .fintech_use_num
        .clone();
    let seeded = user
        .accounts
        .iter()
        .find(|a| a.seeded)
        .expect("a seeded account")
        .fintech_use_num
        .clone();
    let (access, _) = ts.link(1).await;
    let v = ts
        .get_json(
            BALANCE,
            Some(&access),
            &[
                ("bank_tran_id", &tran_id(1)),
                ("fintech_use_num", &unseeded),
                ("tran_dtime", TRAN_DTIME),
            ],
        )
        .await;
    assert_eq!(v["rsp_code"], "A0002");
    assert_eq!(v["bank_code_tran"], "098");
    assert_eq!(v["bank_rsp_code"], "818");
    let ok = ts
        .get_json(
            BALANCE,
            Some(&access),
            &[
                ("bank_tran_id", &tran_id(2)),
                ("fintech_use_num", &seeded),
                ("tran_dtime", TRAN_DTIME),
            ],
        )
        .await;
    assert_eq!(ok["rsp_code"], "A0000");
    assert_eq!(ok["bank_tran_date"], "20190101");
    assert_eq!(ok["bank_code_tran"], "097");
}

#[tokio::test]
async fn the_admin_endpoint_reads_and_replaces_faults() {
    let ts = spawn(config()).await;
    let set: Value = ts
        .http
        .post(ts.url("/_sandbox/faults"))
        .json(&serde_json::json!({"expired_token_next": 1}))
        .send()
        .await
        .expect("post")
        .json()
        .await
        .expect("json");
    assert_eq!(set["expired_token_next"], 1);
    assert_eq!(ts.handle.faults().expired_token_next, 1);
    let (access, _) = ts.link(0).await;
    let user = ts.user_seq_no(0);
    assert_eq!(
        ts.get_json("/v2.0/user/me", Some(&access), &[("user_seq_no", &user)])
            .await["rsp_code"],
        "O0003"
    );
    assert_eq!(
        ts.get_json("/v2.0/user/me", Some(&access), &[("user_seq_no", &user)])
            .await["rsp_code"],
        "A0000"
    );
    let bad = ts
        .http
        .post(ts.url("/_sandbox/faults"))
        .json(&serde_json::json!({"nope": 1}))
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), 422);
    let get: Value = ts
        .http
        .get(ts.url("/_sandbox/faults"))
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(get["expired_token_next"], 0);
}

#[tokio::test]
async fn serve_runs_from_a_config_until_shutdown() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(ginkgo_sandbox::serve(config(), listener, async {
        let _ = rx.await;
    }));
    let body = reqwest::get(format!("{base}/_sandbox/health"))
        .await
        .expect("get")
        .text()
        .await
        .expect("body");
    assert_eq!(body, "ok");
    let _ = tx.send(());
    server.await.expect("join").expect("clean shutdown");
}

#[tokio::test]
async fn an_invalid_config_is_refused_at_start() {
    let bad = SandboxConfig {
        client_use_code: "short".into(),
        ..config()
    };
    assert!(ginkgo_sandbox::Sandbox::new(bad).is_err());
    let bad = SandboxConfig {
        token_signing_key: "tiny".into(),
        ..config()
    };
    assert!(ginkgo_sandbox::Sandbox::new(bad).is_err());
}

#[tokio::test]
async fn rows_appended_by_the_admin_endpoint_follow_the_history_with_consistent_balances() {
    let ts = spawn(config()).await;
    let (access, _) = ts.link(0).await;
    let fin = ts.fins(0)[0].clone();
    let before = ts.handle.balance(&fin).expect("balance");
    let rows = serde_json::json!([
        {"tran_date": "20261120", "tran_time": "235000", "inout_type": "출금",
         "print_content": "스타벅스 성수점", "tran_amt": "5600"},
        {"tran_date": "20261120", "tran_time": "235900", "inout_type": "입금",
         "print_content": "토스 이체", "tran_amt": "20000", "tran_type": "대체"}
    ]);
    let r = ts
        .http
        .post(ts.url(&format!("/_sandbox/accounts/{fin}/rows")))
        .json(&rows)
        .send()
        .await
        .expect("append");
    assert_eq!(r.status(), 200);
    let stored: Value = r.json().await.expect("json");
    let expected_after = before.get() - 5_600 + 20_000;
    assert_eq!(
        stored[1]["after_balance_amt"],
        expected_after.to_string().as_str()
    );
    assert_eq!(
        ts.handle.balance(&fin).map(|b| b.get()),
        Some(expected_after)
    );
    // Rows before the last one, unknown accounts and nonsense are refused.
    let late = serde_json::json!([{"tran_date": "20261001", "tran_time": "000000",
        "inout_type": "출금", "print_content": "x", "tran_amt": "1"}]);
    let r = ts
        .http
        .post(ts.url(&format!("/_sandbox/accounts/{fin}/rows")))
        .json(&late)
        .send()
        .await
        .expect("append");
    assert_eq!(r.status(), 422);
    let r = ts
        .http
        .post(ts.url("/_sandbox/accounts/123/rows"))
        .json(&rows)
        .send()
        .await
        .expect("append");
    assert_eq!(r.status(), 404);

    // The list and the balance show them; the log records each query's dates.
    let base = [
        ("fintech_use_num", fin.as_str()),
        ("inquiry_type", "A"),
        ("inquiry_base", "D"),
        ("from_date", "20261119"),
        ("to_date", "20261120"),
        ("sort_order", "A"),
        ("tran_dtime", TRAN_DTIME),
    ];
    let (listed, _) = all_pages(&ts, &access, &base, "", 900).await;
    let last = listed.last().expect("rows");
    assert_eq!(last["print_content"], "토스 이체");
    assert_eq!(
        last["after_balance_amt"],
        expected_after.to_string().as_str()
    );
    let truth = ts.handle.transactions(&fin).expect("rows");
    assert_eq!(truth.last().map(|t| t.memo.as_str()), Some("토스 이체"));
    let log = ts.handle.list_queries();
    assert!(!log.is_empty());
    assert!(log.iter().all(|q| q.fintech_use_num == fin
        && q.from_date == end_date() - Duration::days(1)
        && q.to_date == end_date()));
    let bal = ts
        .get_json(
            BALANCE,
            Some(&access),
            &[
                ("bank_tran_id", &tran_id(990)),
                ("fintech_use_num", &fin),
                ("tran_dtime", TRAN_DTIME),
            ],
        )
        .await;
    assert_eq!(bal["balance_amt"], expected_after.to_string().as_str());
}

const WITHDRAW: &str = "/v2.0/transfer/withdraw/fin_num";

fn withdraw_body(fin: &str, id: &str, amount: &str, contracted: &str) -> Value {
    serde_json::json!({
        "bank_tran_id": id, "cntr_account_type": "N", "cntr_account_num": contracted,
        "dps_print_content": "쇼핑몰환불", "fintech_use_num": fin, "wd_print_content": "오픈뱅킹출금",
        "tran_amt": amount, "tran_dtime": TRAN_DTIME, "req_client_name": "홍길동",
        "req_client_fintech_use_num": fin, "req_client_num": "HONGGILDONG1234",
        "transfer_purpose": "TR", "recv_client_name": "홍길동", "recv_client_bank_code": "097",
        "recv_client_account_num": "1234567890"
    })
}

/// A token of user 0 with the `transfer` scope, through the consent form.
async fn transfer_token(ts: &TestSandbox) -> String {
    let location = ts
        .approve(0, &ts.fins(0), "login inquiry transfer", &"t".repeat(32))
        .await;
    let code = query_param(&location, "code").expect("code");
    let token = ts
        .post_token(&[
            ("code", &code),
            ("client_id", "ginkgo-sandbox-client"),
            ("client_secret", "ginkgo-sandbox-secret"),
            ("redirect_uri", REDIRECT),
            ("grant_type", "authorization_code"),
        ])
        .await;
    token["access_token"].as_str().expect("access").to_string()
}

#[tokio::test]
async fn testbed_withdrawals_count_the_days_limit_down() {
    let ts = spawn(SandboxConfig {
        testbed_mode: true,
        ..config()
    })
    .await;
    let fins = ts.fins(0);
    let access = transfer_token(&ts).await;
    let post = |body: Value, token: String| {
        let ts = &ts;
        async move {
            let r = ts
                .http
                .post(ts.url(WITHDRAW))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("withdraw");
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.expect("json")
        }
    };
    let fin = fins[0].clone();
    let first = post(
        withdraw_body(&fin, &tran_id(1), "15000", "23062003999"),
        access.clone(),
    )
    .await;
    assert_eq!(first["rsp_code"], "A0000", "{first}");
    assert_envelope(&first);
    assert_eq!(first["wd_limit_remain_amt"], "9985000");
    assert_eq!(first["tran_amt"], "15000");
    assert_eq!(first["bank_tran_date"], "20190101");
    assert_eq!(first["bank_rsp_code"], "000");
    assert_eq!(first["fintech_use_num"], fin.as_str());
    let second = post(
        withdraw_body(&fin, &tran_id(2), "15000", "23062003999"),
        access.clone(),
    )
    .await;
    assert_eq!(
        second["wd_limit_remain_amt"], "9970000",
        "the counter is live"
    );
    // The same bank_tran_id again; an unregistered contracted account; a missing recipient.
    let dup = post(
        withdraw_body(&fin, &tran_id(2), "15000", "23062003999"),
        access.clone(),
    )
    .await;
    assert_eq!(dup["rsp_code"], "A0326");
    let stranger = post(
        withdraw_body(&fin, &tran_id(3), "15000", "11112222333"),
        access.clone(),
    )
    .await;
    assert_eq!(stranger["rsp_code"], "A0322");
    let mut no_recipient = withdraw_body(&fin, &tran_id(4), "15000", "23062003999");
    no_recipient["recv_client_name"] = Value::String(String::new());
    let refused = post(no_recipient, access.clone()).await;
    assert_eq!(refused["rsp_code"], "A0004");
    // Over the day's limit.
    let big = post(
        withdraw_body(&fin, &tran_id(5), "9970001", "23062003999"),
        access.clone(),
    )
    .await;
    assert_eq!(big["rsp_code"], "A0112");
    // Without the transfer scope: O0011.
    let (inquiry_only, _) = ts.link(0).await;
    let scope = post(
        withdraw_body(&fin, &tran_id(6), "1000", "23062003999"),
        inquiry_only,
    )
    .await;
    assert_gateway_error(&scope, "O0011");
    let third = post(
        withdraw_body(&fin, &tran_id(7), "1000", "23062003999"),
        access,
    )
    .await;
    assert_eq!(third["wd_limit_remain_amt"], "9969000");
}

#[tokio::test]
async fn withdrawals_are_a_testbed_mode_feature() {
    let ts = spawn(config()).await;
    let access = transfer_token(&ts).await;
    let fin = ts.fins(0)[0].clone();
    let r = ts
        .http
        .post(ts.url(WITHDRAW))
        .bearer_auth(&access)
        .json(&withdraw_body(&fin, &tran_id(1), "1000", "23062003999"))
        .send()
        .await
        .expect("withdraw");
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["rsp_code"], "A0011", "{v}");
    assert_envelope(&v);
    // GET is the wrong method.
    let r = ts
        .http
        .get(ts.url(WITHDRAW))
        .bearer_auth(&access)
        .send()
        .await
        .expect("get");
    assert_gateway_error(&r.json::<Value>().await.expect("json"), "O0010");
}
