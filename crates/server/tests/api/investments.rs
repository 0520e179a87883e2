use std::collections::HashMap;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

/// A deliberately independent reading of the provider files (no ginkgo-batch): quote-aware
/// split, BOM stripped, header names located by position of the Korean names.
fn read_table(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).expect("read file");
    let text = text.trim_start_matches('\u{feff}');
    let split = |line: &str| -> Vec<String> {
        let mut out = vec![String::new()];
        let mut quoted = false;
        for ch in line.chars() {
            match ch {
                '"' => quoted = !quoted,
                ',' if !quoted => out.push(String::new()),
                _ => out.last_mut().expect("field").push(ch),
            }
        }
        out.into_iter().map(|f| f.trim().to_string()).collect()
    };
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = split(lines.next().expect("header"));
    lines
        .map(|l| header.iter().cloned().zip(split(l)).collect())
        .collect()
}

/// account number → (total assets, principal), computed by hand from the files.
pub fn hand_totals(dir: &Path) -> HashMap<String, (i64, i64)> {
    let mut totals: HashMap<String, (i64, i64)> = HashMap::new();
    for row in read_table(&dir.join("account_asset_info_set.csv")) {
        let price: i64 = row["현재가"]
            .replace(',', "")
            .trim_end_matches(".0")
            .parse()
            .expect("price");
        let qty: i64 = row["보유수량"]
            .replace(',', "")
            .trim_end_matches(".0")
            .parse()
            .expect("qty");
        totals.entry(row["계좌번호"].clone()).or_default().0 += price * qty;
    }
    for row in read_table(&dir.join("account_basic_info_set.csv")) {
        let p: i64 = row["투자원금"]
            .replace(',', "")
            .trim_end_matches(".0")
            .parse()
            .expect("principal");
        if let Some(t) = totals.get_mut(&row["계좌번호"]) {
            t.1 = p;
        }
    }
    totals
}

fn number(text: &str) -> i64 {
    text.replace(',', "")
        .trim_end_matches(".0")
        .parse()
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// One holding as the files describe it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct HandHolding {
    isin: String,
    instrument_name: String,
    asset_group: String,
    price: i64,
    quantity: i64,
    valuation: i64,
}

/// account number → (customer, broker, account name, holdings), by hand from the files.
fn hand_accounts(dir: &Path) -> HashMap<String, (String, String, String, Vec<HandHolding>)> {
    let instruments: HashMap<String, (String, String)> =
        read_table(&dir.join("asset_group_info_set.csv"))
            .into_iter()
            .map(|r| {
                (
                    r["ISIN"].clone(),
                    (r["종목명"].clone(), r["자산그룹"].clone()),
                )
            })
            .collect();
    let mut out: HashMap<String, (String, String, String, Vec<HandHolding>)> = HashMap::new();
    for row in read_table(&dir.join("account_asset_info_set.csv")) {
        let (price, quantity) = (number(&row["현재가"]), number(&row["보유수량"]));
        let (name, group) = instruments[&row["ISIN"]].clone();
        let entry = out.entry(row["계좌번호"].clone()).or_insert_with(|| {
            (
                row["고객이름"].clone(),
                row["증권사"].clone(),
                row["계좌명"].clone(),
                Vec::new(),
            )
        });
        entry.3.push(HandHolding {
            isin: row["ISIN"].clone(),
            instrument_name: name,
            asset_group: group,
            price,
            quantity,
            valuation: price * quantity,
        });
    }
    out
}

fn served_holdings(list: &Value) -> Vec<HandHolding> {
    let mut out: Vec<HandHolding> = list
        .as_array()
        .expect("holdings")
        .iter()
        .map(|h| HandHolding {
            isin: h["isin"].as_str().expect("isin").into(),
            instrument_name: h["instrument_name"].as_str().expect("name").into(),
            asset_group: h["asset_group"].as_str().expect("group").into(),
            price: h["price"].as_i64().expect("price"),
            quantity: h["quantity"].as_i64().expect("quantity"),
            valuation: h["valuation"].as_i64().expect("valuation"),
        })
        .collect();
    out.sort();
    out
}

fn return_rate(profit: i64, principal: i64) -> Option<f64> {
    if principal == 0 {
        return None;
    }
    // Half away from zero at 2 decimals, in integers.
    let num = i128::from(profit) * 10_000;
    let den = i128::from(principal);
    let (q, r) = (num / den, num % den);
    let h = if 2 * r.abs() >= den.abs() {
        q + num.signum() * den.signum()
    } else {
        q
    };
    Some(h as f64 / 100.0)
}

async fn check_every_account_against_hand_computation(
    app: &TestApp,
    dir: &Path,
    token: &str,
) -> usize {
    let expected = hand_totals(dir);
    let hand = hand_accounts(dir);
    let (s, list) = app.get("/api/investments", token).await;
    assert_eq!(s, StatusCode::OK);
    let list = list.as_array().expect("array").clone();
    assert_eq!(list.len(), expected.len(), "every account is listed");
    for a in &list {
        let number = a["account_number"].as_str().expect("number");
        let (total, principal) = expected[number];
        assert_eq!(a["total_assets"], total, "{number}");
        assert_eq!(a["principal"], principal, "{number}");
        assert_eq!(a["total_profit"], total - principal, "{number}");
        match return_rate(total - principal, principal) {
            Some(r) => assert_eq!(a["return_rate"].as_f64(), Some(r), "{number}"),
            None => assert!(a["return_rate"].is_null()),
        }
        // Every holding as the files say: instrument name, asset group, price, quantity,
        // valuation = quantity × price; zero quantities only when asked for.
        let (_, broker, account_name, mut want) = hand[number].clone();
        want.sort();
        assert_eq!(a["broker"], broker.as_str(), "{number}");
        assert_eq!(a["account_name"], account_name.as_str(), "{number}");
        let id = a["id"].as_i64().expect("id");
        let (_, all) = app
            .get(
                &format!("/api/v1/accounts/{id}/holdings?include_zero=true"),
                token,
            )
            .await;
        assert_eq!(served_holdings(&all), want, "{number}");
        assert_eq!(
            want.iter().map(|h| h.valuation).sum::<i64>(),
            total,
            "{number}: the holdings add up to the total, cash included"
        );
        let (_, shown) = app
            .get(&format!("/api/v1/accounts/{id}/holdings"), token)
            .await;
        let nonzero: Vec<HandHolding> = want.iter().filter(|h| h.quantity != 0).cloned().collect();
        assert_eq!(served_holdings(&shown), nonzero, "{number}");
        // Allocation: valuations summed by asset group; shares add up to 100 %.
        let mut groups: HashMap<String, i64> = HashMap::new();
        for h in &want {
            *groups.entry(h.asset_group.clone()).or_default() += h.valuation;
        }
        groups.retain(|_, v| *v != 0);
        let (_, allocation) = app
            .get(&format!("/api/v1/accounts/{id}/allocation"), token)
            .await;
        assert_eq!(allocation["total"], total, "{number}");
        let served: HashMap<String, i64> = allocation["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .filter(|g| g["valuation"].as_i64() != Some(0))
            .map(|g| {
                (
                    g["asset_group"].as_str().expect("group").to_string(),
                    g["valuation"].as_i64().expect("valuation"),
                )
            })
            .collect();
        assert_eq!(served, groups, "{number}");
        let shares: i64 = allocation["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| g["share_bp"].as_i64().expect("share"))
            .sum();
        assert_eq!(shares, 10_000, "{number}");
    }
    list.len()
}

fn seed_dataset() -> Option<std::path::PathBuf> {
    let Some(dir) = std::env::var_os("GINKGO_SEED_DATASET") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must set GINKGO_SEED_DATASET"
        );
        eprintln!("skipped: GINKGO_SEED_DATASET is not set");
        return None;
    };
    Some(std::path::PathBuf::from(dir))
}

#[tokio::test]
async fn the_real_provider_files_load_with_no_rejects_and_match_a_hand_computation() {
    let Some(dir) = seed_dataset() else { return };
    real_files_match_a_hand_computation(TestApp::spawn().await, &dir).await;
}

#[tokio::test]
async fn the_real_provider_files_match_a_hand_computation_on_postgres() {
    let Some(dir) = seed_dataset() else { return };
    let Some(app) = TestApp::spawn_postgres().await else {
        eprintln!("skipped: GINKGO_TEST_POSTGRES_URL is not set");
        return;
    };
    real_files_match_a_hand_computation(app, &dir).await;
}

async fn real_files_match_a_hand_computation(app: TestApp, dir: &Path) {
    let dir = dir.to_path_buf();
    let run = app.load_dir(&dir, day(2026, 11, 20)).await;
    assert_eq!(run.counts.rows_rejected, 0, "every real row loads");
    assert_eq!(run.accounts_loaded, 50);
    assert!(run.counts.rows_loaded >= 700 + 50 + 14, "{:?}", run.counts);
    app.create_user("op@test.kr", ginkgo_store::Role::Operator, None)
        .await;
    let op = app.token("op@test.kr").await;
    assert_eq!(
        check_every_account_against_hand_computation(&app, &dir, &op).await,
        50
    );
    let (_, instruments) = app
        .get(&format!("/api/v1/batch/runs/{}/findings", run.id), &op)
        .await;
    assert_eq!(instruments["rejects"].as_array().map(Vec::len), Some(0));
}

#[tokio::test]
async fn generated_files_match_a_hand_computation() {
    let app = TestApp::spawn().await;
    let dir = app.dir.join("day");
    ginkgo_batch::generate::generate(
        &dir,
        &ginkgo_batch::generate::GenerateOptions {
            accounts: 30,
            seed: 11,
            ..Default::default()
        },
    )
    .expect("generate");
    app.load_dir(&dir, day(2026, 11, 20)).await;
    app.create_user("op@test.kr", ginkgo_store::Role::Operator, None)
        .await;
    let op = app.token("op@test.kr").await;
    assert_eq!(
        check_every_account_against_hand_computation(&app, &dir, &op).await,
        30
    );
}

#[tokio::test]
async fn customers_read_only_their_own_accounts_and_others_answer_404() {
    let app = TestApp::spawn().await;
    app.load_generated(10, day(2026, 11, 18), 3, 0.0).await;
    let l = app.standard_logins().await;
    let (s, mine) = app.get("/api/v1/accounts", &l.a).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        mine.as_array()
            .expect("a")
            .iter()
            .all(|a| a["id"] != l.b_account.id)
    );
    let theirs = l.b_account.id;
    for path in [
        format!("/api/v1/accounts/{theirs}"),
        format!("/api/v1/accounts/{theirs}/holdings"),
        format!("/api/v1/accounts/{theirs}/allocation"),
        format!("/api/v1/accounts/{theirs}/history"),
        format!(
            "/api/investments/holdings?account_number={}",
            l.b_account.account_number
        ),
    ] {
        let (s, body) = app.get(&path, &l.a).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}: {body}");
        assert!(body.get("account_number").is_none());
        let (s, _) = app.get(&path, &l.b).await;
        assert_eq!(s, StatusCode::OK, "the owner reads {path}");
        let (s, _) = app.get(&path, &l.operator).await;
        assert_eq!(s, StatusCode::OK, "an operator reads {path}");
    }
    let (s, _) = app.get("/api/v1/batch/runs", &l.a).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "batch runs are for operators");
}

#[tokio::test]
async fn detail_holdings_allocation_history_and_aliases_agree() {
    let app = TestApp::spawn().await;
    app.load_generated(10, day(2026, 11, 18), 3, 0.0).await;
    let l = app.standard_logins().await;
    let id = l.a_account.id;
    let (_, detail) = app.get(&format!("/api/v1/accounts/{id}"), &l.a).await;
    let total = detail["total_assets"].as_i64().expect("total");
    assert_eq!(
        detail["total_profit"].as_i64().expect("p"),
        total - detail["principal"].as_i64().expect("pr")
    );
    let (_, holdings) = app
        .get(&format!("/api/v1/accounts/{id}/holdings"), &l.a)
        .await;
    let holdings = holdings.as_array().expect("h");
    assert!(holdings.iter().all(|h| h["instrument_name"].is_string()
        && h["asset_group"].is_string()
        && h["isin"].is_string()));
    assert!(
        holdings.iter().all(|h| h["quantity"].as_i64() != Some(0)),
        "zero lines hidden by default"
    );
    let (_, alloc) = app
        .get(&format!("/api/v1/accounts/{id}/allocation"), &l.a)
        .await;
    assert_eq!(alloc["total"].as_i64(), Some(total));
    let group_sum: i64 = alloc["groups"]
        .as_array()
        .expect("g")
        .iter()
        .map(|g| g["valuation"].as_i64().expect("v"))
        .sum();
    assert_eq!(group_sum, total);
    let (_, history) = app
        .get(&format!("/api/v1/accounts/{id}/history"), &l.a)
        .await;
    let history = history.as_array().expect("history");
    assert_eq!(history.len(), 3, "three loaded days");
    assert_eq!(
        history.last().map(|h| h["total_assets"].clone()),
        Some(Value::from(total))
    );
    let (_, ranged) = app
        .get(
            &format!("/api/v1/accounts/{id}/history?from=2026-11-19&to=2026-11-19"),
            &l.a,
        )
        .await;
    assert_eq!(ranged.as_array().map(Vec::len), Some(1));
    // The original routes.
    let (_, simple) = app.get("/api/investments?is_simple=true", &l.a).await;
    let first = &simple.as_array().expect("list")[0];
    assert!(first.get("principal").is_none() && first["total_assets"].is_i64());
    let (_, full) = app.get("/api/investments", &l.a).await;
    assert!(
        full.as_array().expect("list")[0]
            .get("return_rate")
            .is_some()
    );
    let (_, legacy) = app.get("/api/investments/holdings", &l.a).await;
    assert!(legacy.as_array().expect("list").len() >= holdings.len());
}
