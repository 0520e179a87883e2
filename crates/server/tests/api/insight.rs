//! Spending that tells the truth, over HTTP on both backends: own transfers, cancellations,
//! every billing cycle, overrides that survive syncs, merchant rules, search and export.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use ginkgo_openbanking::wire::TransactionRow;
use reqwest::StatusCode;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::bank::*;
use crate::helpers::*;

fn row(date: &str, time: &str, inout: &str, memo: &str, amount: i64) -> TransactionRow {
    TransactionRow {
        tran_date: date.into(),
        tran_time: time.into(),
        inout_type: inout.into(),
        print_content: memo.into(),
        tran_amt: amount.to_string(),
        ..Default::default()
    }
}

async fn linked(app: &TestApp, bank: &Bank, email: &str, index: usize) -> String {
    app.create_user(email, ginkgo_store::Role::Customer, None)
        .await;
    let token = app.token(email).await;
    let callback = consent(app, bank, &token, index).await;
    follow_callback(app, &callback).await;
    sync(app, &token).await;
    token
}

async fn sync(app: &TestApp, token: &str) {
    let (s, body) = app.post("/api/v1/bank/sync", Some(token), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{body}");
}

/// Every matching transaction over all pages, and the page's figures.
async fn search(app: &TestApp, token: &str, query: &str) -> (Vec<Value>, i64, i64) {
    let mut items = Vec::new();
    let (mut spending, mut income) = (0, 0);
    for page in 1.. {
        let (s, body) = app
            .get(
                &format!("/api/v1/insight/transactions?{query}&per_page=500&page={page}"),
                token,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        spending = body["spending"].as_i64().expect("spending");
        income = body["income"].as_i64().expect("income");
        let got = body["items"].as_array().expect("items").clone();
        if got.is_empty() {
            break;
        }
        items.extend(got);
    }
    (items, spending, income)
}

fn sum(v: &Value, field: &str) -> i64 {
    v.as_array()
        .expect("list")
        .iter()
        .map(|x| x[field].as_i64().expect("number"))
        .sum()
}

fn next_business_day(mut d: NaiveDate) -> NaiveDate {
    while matches!(d.weekday(), Weekday::Sat | Weekday::Sun) {
        d = d.succ_opt().expect("date");
    }
    d
}

async fn run(app: TestApp, bank: Bank) {
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    let other = linked(&app, &bank, "d@test.kr", 1).await;
    let today = ginkgo_domain::time::today_kst();
    let from = today - Duration::days(200);
    let range = format!("from={from}&to={today}");

    // 1. The figures equal the listed transactions under the same rules.
    let (items, spending, income) = search(&app, &token, &range).await;
    assert!(items.len() > 200, "{}", items.len());
    let counted = |dir: &str| -> i64 {
        items
            .iter()
            .filter(|t| t["direction"] == dir)
            .map(|t| t["treatment"]["counted"].as_i64().expect("counted"))
            .sum()
    };
    assert_eq!(counted("out"), spending);
    assert_eq!(counted("in"), income);
    let (_, by_cat) = app
        .get(&format!("/api/v1/insight/spending?{range}"), &token)
        .await;
    assert_eq!(sum(&by_cat, "amount"), spending);
    let (_, months) = app
        .get(&format!("/api/v1/insight/monthly?{range}"), &token)
        .await;
    assert_eq!(sum(&months, "spending"), spending);
    assert_eq!(sum(&months, "income"), income);
    let (_, weeks) = app
        .get(&format!("/api/v1/insight/weekly?{range}"), &token)
        .await;
    assert_eq!(sum(&weeks, "spending"), spending);
    assert_eq!(sum(&weeks, "income"), income);
    // The current month and week are marked partial, earlier ones are not.
    let months = months.as_array().expect("months");
    let last = months.last().expect("a month");
    assert_eq!(
        last["partial"],
        today.succ_opt().expect("d").month() == today.month()
    );
    assert_eq!(last["through"], today.to_string());
    assert!(
        months[..months.len() - 1]
            .iter()
            .all(|m| m["partial"] == false)
    );
    assert_eq!(
        weeks.as_array().expect("w").last().expect("w")["partial"],
        today.weekday() != Weekday::Sun
    );
    let (s, so_far) = app.get("/api/v1/insight/so-far", &token).await;
    assert_eq!(s, StatusCode::OK, "{so_far}");
    assert_eq!(so_far["month"]["to"], today.to_string());
    let first = today.with_day(1).expect("d");
    let prev_first = (first - Duration::days(1)).with_day(1).expect("d");
    let prev_to = (1..=today.day())
        .rev()
        .find_map(|d| prev_first.with_day(d))
        .expect("d");
    assert_eq!(so_far["month"]["previous_from"], prev_first.to_string());
    assert_eq!(so_far["month"]["previous_to"], prev_to.to_string());
    assert_eq!(
        so_far["month"]["complete"],
        today.succ_opt().expect("d").month() != today.month()
    );
    let (month_items, month_spending, _) = search(
        &app,
        &token,
        &format!("from={}&to={today}", today.with_day(1).expect("d")),
    )
    .await;
    assert_eq!(
        so_far["month"]["spending"].as_i64(),
        Some(month_spending),
        "{}",
        month_items.len()
    );

    // 2. Own transfers: 23:50 → 00:10 between the two linked accounts, paired and shown with the
    // counterpart; the side account's self-named deposits are own transfers too.
    let toss: Vec<&Value> = items
        .iter()
        .filter(|t| t["memo"] == "토스 이체" && t["amount"] == 250_000 && t["direction"] == "out")
        .collect();
    assert!(toss.len() >= 5, "{}", toss.len());
    for t in &toss {
        assert_eq!(t["treatment"]["kind"], "own_transfer", "{t}");
        assert_eq!(t["treatment"]["transfer"], "linked_accounts");
        assert_eq!(t["treatment"]["counted"], 0);
        assert_eq!(t["category"], "transfer", "filed as a transfer");
        let cp = &t["treatment"]["counterpart"];
        let sent =
            NaiveDate::parse_from_str(t["date"].as_str().expect("d"), "%Y-%m-%d").expect("d");
        assert_eq!(cp["date"], sent.succ_opt().expect("d").to_string());
        assert_ne!(cp["account_id"], t["account_id"]);
    }
    let weekend: Vec<&Value> = items
        .iter()
        .filter(|t| t["memo"] == "계좌이체" && t["amount"] == 400_000)
        .collect();
    assert!(!weekend.is_empty());
    assert!(
        weekend
            .iter()
            .all(|t| t["treatment"]["kind"] == "own_transfer")
    );
    let self_named: Vec<&Value> = items
        .iter()
        .filter(|t| {
            t["memo"].as_str().is_some_and(|m| m.starts_with("이체 ")) && t["amount"] == 300_000
        })
        .collect();
    assert!(!self_named.is_empty());
    assert!(
        self_named
            .iter()
            .all(|t| t["treatment"]["transfer"] == "own_name"),
        "{self_named:?}"
    );

    // 3. Cancellations are never income and reduce their purchase.
    let cancels: Vec<&Value> = items
        .iter()
        .filter(|t| {
            t["direction"] == "in"
                && t["treatment"]["kind"]
                    .as_str()
                    .is_some_and(|k| k.contains("cancellation"))
        })
        .collect();
    assert!(!cancels.is_empty());
    assert!(cancels.iter().all(|t| t["treatment"]["counted"] == 0));
    let partial = items
        .iter()
        .find(|t| t["memo"] == "쿠팡 부분취소" && t["treatment"]["kind"] == "cancellation");
    if let Some(p) = partial {
        assert_eq!(p["treatment"]["purchase"]["memo"], "쿠팡");
        let pid = p["treatment"]["purchase"]["id"].as_i64().expect("id");
        if let Some(purchase) = items.iter().find(|t| t["id"] == pid) {
            assert_eq!(purchase["treatment"]["kind"], "cancelled");
            assert!(purchase["treatment"]["counted"].as_i64().expect("c") > 0);
        }
    }

    // 4. Every cycle: the bimonthly water bill with its next date, the semi-annual insurance.
    let (_, recurring) = app.get("/api/v1/insight/recurring", &token).await;
    let find = |r: &Value, memo: &str| {
        r.as_array()
            .expect("list")
            .iter()
            .find(|s| s["memo"] == memo)
            .cloned()
    };
    let water = find(&recurring, "수도요금").expect("water found");
    assert_eq!(water["period"], "bimonthly", "{water}");
    let last =
        NaiveDate::parse_from_str(water["last_date"].as_str().expect("d"), "%Y-%m-%d").expect("d");
    let (y, m) = if last.month() >= 11 {
        (last.year() + 1, last.month() + 2 - 12)
    } else {
        (last.year(), last.month() + 2)
    };
    let expected = next_business_day(NaiveDate::from_ymd_opt(y, m, 15).expect("d"));
    assert_eq!(water["next_date"], expected.to_string());
    let insurance = find(&recurring, "KB손해보험 자동차보험").expect("insurance found");
    assert_eq!(insurance["period"], "semiannual");

    // 5. Fixed costs: the active series per month; dismissing survives a sync.
    let (_, fixed) = app.get("/api/v1/insight/fixed-costs", &token).await;
    let active_out: i64 = recurring
        .as_array()
        .expect("l")
        .iter()
        .filter(|s| s["direction"] == "out" && s["status"] == "active")
        .map(|s| s["monthly_amount"].as_i64().expect("m"))
        .sum();
    assert_eq!(fixed["outgoings"].as_i64(), Some(active_out));
    assert_eq!(
        water["monthly_amount"].as_i64(),
        Some(
            water["typical_amount"].as_i64().expect("t").div_euclid(2)
                + water["typical_amount"].as_i64().expect("t") % 2
        )
    );
    let series = json!({"direction": "out", "key": water["key"]});
    let (s, _) = app
        .post(
            "/api/v1/insight/recurring/dismiss",
            Some(&token),
            series.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    sync(&app, &token).await;
    let (_, after) = app.get("/api/v1/insight/recurring", &token).await;
    assert!(find(&after, "수도요금").is_none());
    let (_, fixed2) = app.get("/api/v1/insight/fixed-costs", &token).await;
    assert_eq!(
        fixed2["outgoings"].as_i64(),
        Some(active_out - water["monthly_amount"].as_i64().expect("m"))
    );
    // Another login's dismissal is not this one's.
    let (_, theirs) = app.get("/api/v1/insight/recurring", &other).await;
    assert!(find(&theirs, "수도요금").is_some());
    let (s, _) = app
        .post(
            "/api/v1/insight/recurring/restore",
            Some(&token),
            series.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = app
        .post("/api/v1/insight/recurring/restore", Some(&token), series)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, back) = app.get("/api/v1/insight/recurring", &token).await;
    assert!(find(&back, "수도요금").is_some());
    // A series added by hand, from one of its transactions.
    let shop = items
        .iter()
        .find(|t| t["memo"] == "다이소" && t["direction"] == "out");
    if let Some(shop) = shop {
        let (s, added) = app
            .post(
                "/api/v1/insight/recurring/add",
                Some(&token),
                json!({"transaction_id": shop["id"], "period": "every_3_weeks"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{added}");
        assert_eq!(added["source"], "added");
        assert_eq!(added["period_unit"], "weeks");
        sync(&app, &token).await;
        let (_, l) = app.get("/api/v1/insight/recurring", &token).await;
        assert_eq!(find(&l, "다이소").expect("kept")["source"], "added");
        let (s, _) = app
            .post(
                "/api/v1/insight/recurring/add",
                Some(&other),
                json!({"transaction_id": shop["id"], "period": "monthly"}),
            )
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "another login's transaction");
    }
    let (s, bad) = app
        .post(
            "/api/v1/insight/recurring/add",
            Some(&token),
            json!({"transaction_id": toss[0]["id"], "period": "every_0_days"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");

    // 6. Undoing a pairing: both sides count again, and stay so after a sync.
    let t = toss[0];
    let id = t["id"].as_i64().expect("id");
    let (s, _) = app
        .post(
            &format!("/api/v1/insight/transactions/{id}/unpair"),
            Some(&other),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, undone) = app
        .post(
            &format!("/api/v1/insight/transactions/{id}/unpair"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{undone}");
    assert_eq!(undone["ids"].as_array().map(Vec::len), Some(2));
    sync(&app, &token).await;
    let (_, spending2, income2) = search(&app, &token, &range).await;
    assert_eq!(spending2, spending + 250_000);
    assert_eq!(income2, income + 250_000);
    let (s, _) = app
        .post(
            &format!("/api/v1/insight/transactions/{id}/unpair"),
            Some(&token),
            json!({}),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    let r = app
        .http
        .delete(app.url(&format!("/api/v1/insight/transactions/{id}/unpair")))
        .bearer_auth(&token)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, spending3, _) = search(&app, &token, &range).await;
    assert_eq!(spending3, spending);

    // 7. "This merchant": a contains-rule on the stem, with its preview count, files the other
    // branch and a later synced branch; NFD memos are matched.
    let gs = items
        .iter()
        .find(|t| t["memo"] == "GS25 역삼점")
        .expect("a GS25 purchase");
    let (s, suggestion) = app
        .get(
            &format!(
                "/api/v1/rules/suggest?transaction_id={}&category=shopping",
                gs["id"]
            ),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{suggestion}");
    assert_eq!(suggestion["merchant"]["pattern"], "gs25");
    assert_eq!(suggestion["exact"]["pattern"], "GS25 역삼점");
    let (all_items, _, _) = search(
        &app,
        &token,
        &format!("from={}&to={today}", today - Duration::days(1_000)),
    )
    .await;
    let gs_all = all_items
        .iter()
        .filter(|t| t["memo"].as_str().is_some_and(|m| m.starts_with("GS25")))
        .count();
    let gs_here = all_items
        .iter()
        .filter(|t| t["memo"] == "GS25 역삼점")
        .count();
    assert_eq!(
        suggestion["merchant"]["changes"].as_u64(),
        Some(gs_all as u64)
    );
    assert_eq!(
        suggestion["exact"]["changes"].as_u64(),
        Some(gs_here as u64)
    );
    assert!(gs_all > gs_here);
    let (s, saved) = app
        .post(
            "/api/v1/rules",
            Some(&token),
            json!({"kind": "contains", "pattern": "gs25", "category": "shopping"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{saved}");
    assert_eq!(saved["changed"].as_u64(), Some(gs_all as u64));
    let fin = bank.handle.users()[0].accounts[0].fintech_use_num.clone();
    let d = today.format("%Y%m%d").to_string();
    let nfd: String = "이디야커피 선릉점".nfd().collect();
    bank.handle
        .append_rows(
            &fin,
            &[
                row(&d, "235958", "출금", "GS25 선릉점", 3_300),
                row(&d, "235959", "출금", &nfd, 4_100),
            ],
        )
        .expect("append");
    sync(&app, &token).await;
    let (new_rows, _, _) = search(&app, &token, &format!("from={today}&to={today}&q=선릉")).await;
    assert_eq!(new_rows.len(), 2, "{new_rows:?}");
    let gs_new = new_rows
        .iter()
        .find(|t| t["amount"] == 3_300)
        .expect("gs25");
    assert_eq!(gs_new["category"], "shopping");
    let ediya = new_rows
        .iter()
        .find(|t| t["amount"] == 4_100)
        .expect("ediya");
    assert_eq!(ediya["category"], "cafe", "NFD Hangul meets the dictionary");

    // 8. Search by memo, amount range and category; export CSV and XLSX.
    let (hits, _, _) = search(
        &app,
        &token,
        &format!("{range}&q=스타벅스&min_amount=3000&max_amount=6000&category=cafe"),
    )
    .await;
    assert!(!hits.is_empty());
    assert!(hits.iter().all(
        |t| t["memo"].as_str().is_some_and(|m| m.contains("스타벅스"))
            && (3_000..=6_000).contains(&t["amount"].as_i64().expect("a"))
            && t["category"] == "cafe"
    ));
    let (s, e) = app
        .get(
            &format!("/api/v1/insight/transactions?{range}&min_amount=5&max_amount=4"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert!(e["error"]["request_id"].is_string());
    let export = |fmt: &str| {
        let url = app.url(&format!(
            "/api/v1/insight/transactions/export?{range}&q=스타벅스&format={fmt}"
        ));
        let http = app.http.clone();
        let token = token.clone();
        async move {
            let r = http
                .get(url)
                .bearer_auth(&token)
                .send()
                .await
                .expect("send");
            assert_eq!(r.status(), StatusCode::OK);
            let ct = r.headers()["content-type"]
                .to_str()
                .expect("ct")
                .to_string();
            (ct, r.bytes().await.expect("body").to_vec())
        }
    };
    let (ct, csv) = export("csv").await;
    assert!(ct.starts_with("text/csv"));
    assert!(csv.starts_with(&[0xEF, 0xBB, 0xBF]), "UTF-8 BOM");
    let text = String::from_utf8(csv).expect("utf-8");
    let lines: Vec<&str> = text.trim_end().split("\r\n").collect();
    assert!(lines[0].contains("날짜") && lines[0].contains("메모"));
    let (all_star, _, _) = search(&app, &token, &format!("{range}&q=스타벅스")).await;
    assert_eq!(lines.len(), all_star.len() + 1);
    let (ct, xlsx) = export("xlsx").await;
    assert!(ct.contains("spreadsheetml"));
    use calamine::Reader;
    let mut wb: calamine::Xlsx<_> = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).expect("xlsx");
    let sheet = wb.worksheet_range_at(0).expect("a sheet").expect("range");
    assert_eq!(sheet.height(), all_star.len() + 1);
    let (s, _) = app
        .get(
            &format!("/api/v1/insight/transactions/export?{range}&format=pdf"),
            &token,
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insight_tells_the_truth_on_sqlite() {
    let bank = start_sandbox(800).await;
    // Two years: a semi-annual bill needs three occurrences.
    let app = app_with_bank_tweaked(&bank, |c| c.bank.first_sync_days = 800).await;
    run(app, bank).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn insight_tells_the_truth_on_postgres() {
    let Some(url) = fresh_postgres().await else {
        eprintln!("skipped: GINKGO_TEST_POSTGRES_URL not set");
        return;
    };
    let bank = start_sandbox(800).await;
    let app = app_with_bank_config(&bank, url, temp_dir("insight-pg"), |c| {
        c.bank.first_sync_days = 800;
    })
    .await;
    run(app, bank).await;
}

/// What the code before NFKC made of a memo: full-width ASCII folded, lower case, no spaces.
fn old_normalize(memo: &str) -> String {
    memo.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

async fn nfkc_refile(app: TestApp, bank: Bank) {
    let token = linked(&app, &bank, "c@test.kr", 0).await;
    let fin = bank.handle.users()[0].accounts[0].fintech_use_num.clone();
    let today = ginkgo_domain::time::today_kst();
    let d = today.format("%Y%m%d").to_string();
    let nfd: String = "스타벅스 역삼점".nfd().collect();
    let nfd2: String = "이디야커피".nfd().collect();
    bank.handle
        .append_rows(
            &fin,
            &[
                row(&d, "235957", "출금", &nfd, 4_500),
                row(&d, "235958", "출금", &nfd2, 3_000),
                row(&d, "235959", "출금", "GS25 역삼점", 1_000),
            ],
        )
        .expect("append");
    sync(&app, &token).await;
    let uid = app.get("/api/v1/me", &token).await.1["id"]
        .as_i64()
        .expect("id");
    let rows = app
        .store
        .all_bank_transactions(uid, Some(today), Some(today))
        .await
        .expect("rows");
    let star = rows.iter().find(|r| r.memo == nfd).expect("synced").clone();
    let ediya = rows
        .iter()
        .find(|r| r.memo == nfd2)
        .expect("synced")
        .clone();
    assert_eq!(star.category, "cafe");
    assert_eq!(star.memo_norm, "스타벅스역삼점");
    // The state before migration 0007: old normal forms, filed by the direction's default; the
    // customer filed one of them by hand.
    app.store
        .set_memo_norms(
            uid,
            vec![
                (star.id, old_normalize(&nfd)),
                (ediya.id, old_normalize(&nfd2)),
            ],
        )
        .await
        .expect("set");
    app.store
        .apply_category_changes(
            uid,
            vec![ginkgo_store::CategoryChange {
                txn_id: star.id,
                category: "other".into(),
                source: "default".into(),
                rule_id: None,
            }],
        )
        .await
        .expect("apply");
    app.store
        .set_manual_category(uid, ediya.id, "food")
        .await
        .expect("manual");
    let state = ginkgo_server::AppState::new(app.store.clone(), ginkgo_server::Config::default());
    let refiled = ginkgo_server::insight::refile_nfkc(&state, uid)
        .await
        .expect("refile");
    assert_eq!(refiled, 1, "the hand-filed row keeps its category");
    let after = app.store.bank_transaction(uid, star.id).await.expect("row");
    assert_eq!(after.category, "cafe");
    assert_eq!(after.category_source, "dictionary");
    assert_eq!(after.memo_norm, "스타벅스역삼점");
    let kept = app
        .store
        .bank_transaction(uid, ediya.id)
        .await
        .expect("row");
    assert_eq!(kept.category, "food");
    assert_eq!(kept.memo_norm, "이디야커피");
    // Idempotent.
    assert_eq!(
        ginkgo_server::insight::refile_nfkc(&state, uid)
            .await
            .expect("refile"),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nfkc_refile_fixes_old_normal_forms_on_sqlite() {
    let bank = start_sandbox(30).await;
    let app = app_with_bank(&bank).await;
    nfkc_refile(app, bank).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_nfkc_refile_fixes_old_normal_forms_on_postgres() {
    let Some(url) = fresh_postgres().await else {
        eprintln!("skipped: GINKGO_TEST_POSTGRES_URL not set");
        return;
    };
    let bank = start_sandbox(30).await;
    let app = app_with_bank_at(&bank, url, temp_dir("nfkc-pg")).await;
    nfkc_refile(app, bank).await;
}
