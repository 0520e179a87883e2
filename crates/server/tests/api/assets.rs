//! Total assets over time: investment snapshots and bank balances, day by day.

use std::collections::BTreeMap;

use chrono::Duration;
use ginkgo_domain::time::today_kst;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::bank::{app_with_bank, consent, follow_callback, start_sandbox};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn total_assets_per_day_add_investments_and_bank_balances() {
    let bank = start_sandbox(60).await;
    let app = app_with_bank(&bank).await;
    let today = today_kst();
    let first = today - Duration::days(4);
    app.load_generated(6, first, 3, 0.0).await;
    let l = app.standard_logins().await;
    let callback = consent(&app, &bank, &l.a, 0).await;
    assert_eq!(follow_callback(&app, &callback).await, "/bank?linked=1");
    let (s, outcome) = app.post("/api/v1/bank/sync", Some(&l.a), json!({})).await;
    assert_eq!(s, StatusCode::OK, "{outcome}");

    // By hand: each bank account's balance after its last row on or before each day.
    let (_, banks) = app.get("/api/v1/bank/accounts", &l.a).await;
    let mut rows: Vec<(String, String, i64, i64)> = Vec::new();
    for b in banks.as_array().expect("accounts") {
        let id = b["id"].as_i64().expect("id");
        for page in 1.. {
            let (_, body) = app
                .get(
                    &format!("/api/v1/bank/accounts/{id}/transactions?per_page=500&page={page}"),
                    &l.a,
                )
                .await;
            let items = body["items"].as_array().expect("items").clone();
            if items.is_empty() {
                break;
            }
            for t in items {
                rows.push((
                    t["date"].as_str().expect("date").to_string(),
                    t["time"].as_str().unwrap_or("").to_string(),
                    id,
                    t["balance_after"].as_i64().expect("balance"),
                ));
            }
        }
    }
    rows.sort();
    let bank_on = |day: &str| -> Option<i64> {
        let mut last: BTreeMap<i64, i64> = BTreeMap::new();
        for (date, _, account, balance) in &rows {
            if date.as_str() <= day {
                last.insert(*account, *balance);
            }
        }
        (!last.is_empty()).then(|| last.values().sum())
    };
    let (_, history) = app.get("/api/v1/history", &l.a).await;
    let snapshots: Vec<(String, i64)> = history
        .as_array()
        .expect("history")
        .iter()
        .map(|p| {
            (
                p["date"].as_str().expect("date").to_string(),
                p["total_assets"].as_i64().expect("total"),
            )
        })
        .collect();
    assert_eq!(snapshots.len(), 3);

    let from = today - Duration::days(6);
    let (s, days) = app
        .get(
            &format!("/api/v1/assets/history?from={from}&to={today}"),
            &l.a,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{days}");
    let days = days.as_array().expect("days").clone();
    assert_eq!(days.len(), 7, "one point per day, both ends included");
    for d in &days[..days.len() - 1] {
        let date = d["date"].as_str().expect("date");
        let investments = snapshots
            .iter()
            .rfind(|(s, _)| s.as_str() <= date)
            .map(|(_, t)| *t);
        assert_eq!(d["investments"].as_i64(), investments, "{date}");
        assert_eq!(d["bank"].as_i64(), bank_on(date), "{date}");
        assert_eq!(
            d["total"].as_i64(),
            Some(investments.unwrap_or(0) + bank_on(date).unwrap_or(0)),
            "{date}"
        );
    }
    assert!(
        days[0]["investments"].is_null(),
        "before the first snapshot"
    );
    // Today is the live figure: the summary's grand total.
    let (_, accounts) = app.get("/api/v1/accounts", &l.a).await;
    let invest_now: i64 = accounts
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["total_assets"].as_i64().expect("total"))
        .sum();
    let bank_now: i64 = banks
        .as_array()
        .expect("accounts")
        .iter()
        .map(|b| b["balance"].as_i64().expect("synced"))
        .sum();
    let last: &Value = days.last().expect("today");
    assert_eq!(last["date"], today.to_string());
    assert_eq!(last["investments"].as_i64(), Some(invest_now));
    assert_eq!(last["bank"].as_i64(), Some(bank_now));
    assert_eq!(last["total"].as_i64(), Some(invest_now + bank_now));

    // Another customer's bank never shows; an operator sees investments only.
    let (_, theirs) = app
        .get(
            &format!("/api/v1/assets/history?from={today}&to={today}"),
            &l.b,
        )
        .await;
    assert!(theirs[0]["bank"].is_null(), "{theirs}");
    let (s, bad) = app
        .get("/api/v1/assets/history?from=2026-02-01&to=2026-01-01", &l.a)
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
}
