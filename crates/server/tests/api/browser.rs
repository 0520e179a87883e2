//! The web app in a real headless Chromium, driven over WebDriver: login, the asset summary,
//! an account's holdings, a deposit done by the page, markup in data shown as text, the
//! language switch, the 375 px layout, the operator pages. Screenshots of every screen go to
//! `target/screenshots/`.

use ginkgo_store::Role;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser_support::{Browser, browser_available};
use crate::helpers::{TestApp, day};

const DESKTOP: (u32, u32) = (1280, 900);
const PHONE: (u32, u32) = (375, 812);

/// `1234567` → `1,234,567원`, as the page writes amounts.
fn won(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}{out}원", if n < 0 { "-" } else { "" })
}

async fn app_with_data() -> (TestApp, crate::helpers::Logins) {
    let app = TestApp::spawn().await;
    app.load_generated(50, day(2026, 11, 16), 5, 0.0).await;
    let logins = app.standard_logins().await;
    (app, logins)
}

async fn api_get(app: &TestApp, token: &str, path: &str) -> Value {
    let (status, body) = app.get(path, token).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

fn cash_of(holdings: &Value) -> i64 {
    holdings
        .as_array()
        .expect("holdings")
        .iter()
        .filter(|h| h["isin"] == "CASH")
        .map(|h| h["valuation"].as_i64().expect("valuation"))
        .sum()
}

#[test]
fn won_formatting_matches_the_page() {
    assert_eq!(won(0), "0원");
    assert_eq!(won(999), "999원");
    assert_eq!(won(1000), "1,000원");
    assert_eq!(won(1_234_567), "1,234,567원");
    assert_eq!(won(-12_345), "-12,345원");
}

#[tokio::test]
async fn a_customer_logs_in_and_sees_every_account_and_the_right_total() {
    if !browser_available("summary") {
        return;
    }
    let (app, logins) = app_with_data().await;
    let accounts = api_get(&app, &logins.a, "/api/v1/accounts").await;
    let accounts = accounts.as_array().expect("accounts");
    let total: i64 = accounts
        .iter()
        .map(|a| a["total_assets"].as_i64().expect("total"))
        .sum();

    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.goto(&app.url("/")).await;
    // Not logged in: the login screen, with its own title.
    b.wait_title("로그인").await;
    b.login(&app, "a@test.kr").await;
    let shown = b.wait_text("[data-testid=grand-total]").await;
    assert_eq!(shown, won(total));
    assert_eq!(b.wait_text("[data-testid=invest-total]").await, won(total));
    let names = b
        .texts("[data-testid=investment-accounts] .account-name")
        .await;
    assert_eq!(names.len(), accounts.len());
    for a in accounts {
        assert!(
            names
                .iter()
                .any(|n| n == a["account_name"].as_str().expect("name")),
            "{a} not listed in {names:?}"
        );
    }
    assert!(b.title().await.contains("내 자산"));
    // Keyboard: the first Tab reaches the skip link, which moves focus into the content.
    b.goto(&app.url("/")).await;
    b.wait_text("[data-testid=grand-total]").await;
    b.press("\u{E004}").await;
    let focused = b.exec("return document.activeElement.id", json!([])).await;
    assert_eq!(focused, "skip-link");
    assert_eq!(
        b.exec("return document.activeElement.textContent", json!([]))
            .await,
        "본문으로 건너뛰기"
    );
    b.press("\u{E007}").await;
    b.wait_js(
        "focus in main",
        "return document.activeElement && document.activeElement.closest('main') !== null;",
        json!([]),
    )
    .await;
    b.press("\u{E004}").await;
    let next = b.exec("return document.activeElement.closest('main') !== null && document.activeElement.tagName", json!([])).await;
    assert!(
        next.is_string(),
        "Tab after the skip link stays in the content: {next}"
    );
    // The history chart is drawn (one line per series) and answers the keyboard with a tooltip.
    b.wait_js(
        "history chart",
        "return document.querySelectorAll('.chart-svg polyline').length >= 2;",
        json!([]),
    )
    .await;
    b.exec("document.querySelector('.chart-svg').focus();", json!([]))
        .await;
    let tip = b.wait_text(".chart-tip").await;
    // The last point is today: the total over time ends at the grand total.
    assert!(tip.contains(&won(total)), "{tip}");
    b.exec("document.activeElement.blur();", json!([])).await;
    // The value axis never labels two ticks alike, however narrow the range.
    let ticks = b
        .exec(
            "return Array.from(document.querySelectorAll('.chart-svg text.axis[text-anchor=end]'), (e) => e.textContent);",
            json!([]),
        )
        .await;
    let ticks: Vec<&str> = ticks
        .as_array()
        .expect("ticks")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let distinct: std::collections::HashSet<&&str> = ticks.iter().collect();
    assert!(
        ticks.len() >= 2 && distinct.len() == ticks.len(),
        "{ticks:?}"
    );
    // The pointer shows the values under it: the right end is today, the left end another day.
    let width = b
        .exec(
            "return Math.round(document.querySelector('.chart-svg').getBoundingClientRect().width);",
            json!([]),
        )
        .await
        .as_i64()
        .expect("width");
    b.hover(".chart-svg", width / 2 - 14).await;
    let right = b.wait_text(".chart-tip").await;
    assert!(right.contains(&won(total)), "{right}");
    b.hover(".chart-svg", -(width / 2) + 60).await;
    let left = b
        .wait_text_where(".chart-tip", "another day's values", |t| t != right)
        .await;
    assert!(left.contains('원'), "{left}");
    b.screenshot("summary-desktop").await;
    b.quit().await;
}

#[tokio::test]
async fn an_investment_account_shows_each_holding_and_its_figures() {
    if !browser_available("account") {
        return;
    }
    let (app, logins) = app_with_data().await;
    let id = logins.a_account.id;
    let detail = api_get(&app, &logins.a, &format!("/api/v1/accounts/{id}")).await;
    let holdings = api_get(&app, &logins.a, &format!("/api/v1/accounts/{id}/holdings")).await;

    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.login(&app, "a@test.kr").await;
    b.click(&format!("a[href='/accounts/{id}']")).await;
    b.wait_text("[data-testid=holdings]").await;
    assert_eq!(
        b.wait_text("[data-testid=principal]").await,
        won(detail["principal"].as_i64().expect("principal"))
    );
    assert_eq!(
        b.wait_text("[data-testid=total-assets]").await,
        won(detail["total_assets"].as_i64().expect("total"))
    );
    let rows = b.texts("[data-testid=holdings] tbody tr").await;
    let holdings = holdings.as_array().expect("holdings");
    assert_eq!(rows.len(), holdings.len());
    for h in holdings {
        let isin = h["isin"].as_str().expect("isin");
        let valuation = won(h["valuation"].as_i64().expect("valuation"));
        let row = rows
            .iter()
            .find(|r| r.contains(isin))
            .unwrap_or_else(|| panic!("{isin} missing from {rows:?}"));
        assert!(row.contains(&valuation), "{row} lacks {valuation}");
        if isin != "CASH" {
            assert!(
                row.contains(h["instrument_name"].as_str().expect("name")),
                "{row}"
            );
        }
    }
    assert_eq!(
        b.title().await,
        format!(
            "{} · Ginkgo",
            detail["account_name"].as_str().expect("name")
        )
    );
    b.wait_js(
        "allocation donut",
        "return document.querySelectorAll('.donut .seg').length > 0;",
        json!([]),
    )
    .await;
    b.screenshot("account-desktop").await;
    b.quit().await;
}

#[tokio::test]
async fn a_deposit_made_through_the_page_grows_cash_and_principal_exactly_once() {
    if !browser_available("deposit") {
        return;
    }
    let (app, logins) = app_with_data().await;
    let id = logins.a_account.id;
    let before = api_get(&app, &logins.a, &format!("/api/v1/accounts/{id}")).await;
    let cash_before =
        cash_of(&api_get(&app, &logins.a, &format!("/api/v1/accounts/{id}/holdings")).await);
    let principal_before = before["principal"].as_i64().expect("principal");

    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.login(&app, "a@test.kr").await;
    b.goto(&app.url(&format!("/accounts/{id}"))).await;
    b.click("[data-testid=deposit-link]").await;
    // The holder's name is filled in from the session; a wrong name is refused with a clear
    // message and changes nothing.
    let name = b
        .wait_js(
            "prefilled name",
            "const e = document.querySelector('[data-testid=deposit-name]'); return e && e.value;",
            json!([]),
        )
        .await;
    assert_eq!(name.as_str(), Some(logins.a_account.customer_name.as_str()));
    b.fill("[data-testid=deposit-name]", "남의이름").await;
    b.fill("[data-testid=deposit-amount]", "12,345").await;
    b.click("[data-testid=deposit-submit]").await;
    let err = b
        .wait_text("[data-testid=deposit-status] .notice-error")
        .await;
    assert!(err.contains("예금주 이름"), "{err}");

    b.fill(
        "[data-testid=deposit-name]",
        &logins.a_account.customer_name,
    )
    .await;
    // Amounts: not a number is caught by the page; over the limit, by the server.
    b.fill("[data-testid=deposit-amount]", "abc").await;
    b.click("[data-testid=deposit-submit]").await;
    let err = b
        .wait_text_where("[data-testid=deposit-status]", "amount error", |t| {
            t.contains("정수")
        })
        .await;
    assert!(err.contains("1원 이상"), "{err}");
    b.fill("[data-testid=deposit-amount]", "20,000,000").await;
    b.click("[data-testid=deposit-submit]").await;
    let err = b
        .wait_text_where("[data-testid=deposit-status]", "limit error", |t| {
            t.contains("최대")
        })
        .await;
    assert!(err.contains("10,000,000원"), "{err}");
    b.fill("[data-testid=deposit-amount]", "12,345").await;
    b.click("[data-testid=deposit-submit]").await;
    let cash = b.wait_text("[data-testid=deposit-cash]").await;
    assert_eq!(cash, won(cash_before + 12_345));
    assert_eq!(
        b.wait_text("[data-testid=deposit-principal]").await,
        won(principal_before + 12_345)
    );
    assert!(
        b.wait_text("[data-testid=deposit-status] .notice-success")
            .await
            .contains("12,345원")
    );
    let recent = b.texts("[data-testid=recent-deposits] li").await;
    assert_eq!(
        recent.iter().filter(|r| r.contains("+12,345원")).count(),
        1,
        "{recent:?}"
    );
    b.screenshot("deposit-done-desktop").await;

    // The server agrees, and the deposit happened once.
    let after = api_get(&app, &logins.a, &format!("/api/v1/accounts/{id}")).await;
    assert_eq!(after["principal"].as_i64(), Some(principal_before + 12_345));
    assert_eq!(
        cash_of(&api_get(&app, &logins.a, &format!("/api/v1/accounts/{id}/holdings")).await),
        cash_before + 12_345
    );
    let deposits = api_get(&app, &logins.a, "/api/v1/deposits").await;
    let confirmed: Vec<&Value> = deposits
        .as_array()
        .expect("list")
        .iter()
        .filter(|d| d["status"] == "confirmed")
        .collect();
    assert_eq!(confirmed.len(), 1, "{deposits}");
    assert_eq!(confirmed[0]["amount"], 12_345);
    b.quit().await;
}

#[tokio::test]
async fn the_pure_javascript_sha512_matches_webcrypto_in_the_browser() {
    if !browser_available("sha512") {
        return;
    }
    let app = TestApp::spawn().await;
    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.goto(&app.url("/login")).await;
    b.wait_title("Ginkgo").await;
    let v = b
        .exec_async(
            "const done = arguments[arguments.length - 1];
             const src = document.querySelector('script[type=module]').src.replace('app.js', 'sha512.js');
             import(src).then(async (m) => {
               const out = [];
               for (const t of ['', 'abc', '5736692368320류영길1000', 'x'.repeat(111), 'y'.repeat(112), 'z'.repeat(1000)]) {
                 const bytes = new TextEncoder().encode(t);
                 const web = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-512', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
                 out.push([web, m.sha512HexFallback(bytes), await m.sha512Hex(t)]);
               }
               done(out);
             }).catch((e) => done(String(e)));",
            json!([]),
        )
        .await;
    let rows = v.as_array().unwrap_or_else(|| panic!("{v}"));
    assert_eq!(rows.len(), 6);
    for r in rows {
        assert_eq!(r[0], r[1], "fallback differs from WebCrypto");
        assert_eq!(r[0], r[2]);
        assert_eq!(r[0].as_str().map(str::len), Some(128));
    }
    // The known answer for "abc" (FIPS 180-2).
    assert!(
        rows[1][1]
            .as_str()
            .is_some_and(|s| s.starts_with("ddaf35a193617aba"))
    );
    b.quit().await;
}

/// A day whose customer name and account name are markup, as a provider file might carry.
fn write_markup_day(dir: &std::path::Path) {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::write(
        dir.join("asset_group_info_set.csv"),
        "종목명,ISIN,자산그룹\n미국S&P500,KR7360750004,미국 주식\n단기채권,KR7153130000,채권 / 현금\n현금,CASH,채권 / 현금\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("account_asset_info_set.csv"),
        "고객이름,증권사,계좌번호,계좌명,ISIN,현재가,보유수량\n\
         <b>홍길동</b>,디셈버증권,1234567890123,<script>window.__xss=1</script><img src=x onerror=window.__xss=2>,KR7360750004,8585,21\n\
         <b>홍길동</b>,디셈버증권,1234567890123,<script>window.__xss=1</script><img src=x onerror=window.__xss=2>,KR7153130000,102000,3\n\
         <b>홍길동</b>,디셈버증권,1234567890123,<script>window.__xss=1</script><img src=x onerror=window.__xss=2>,CASH,24269,1\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("account_basic_info_set.csv"),
        "계좌번호,투자원금\n1234567890123,500000\n",
    )
    .expect("write");
}

#[tokio::test]
async fn names_containing_markup_show_as_text_and_never_run() {
    if !browser_available("markup") {
        return;
    }
    let app = TestApp::spawn().await;
    let dir = app.dir.join("markup-day");
    write_markup_day(&dir);
    app.load_dir(&dir, day(2026, 11, 20)).await;
    app.create_user("x@test.kr", Role::Customer, Some("<b>홍길동</b>"))
        .await;

    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.login(&app, "x@test.kr").await;
    let name = b
        .wait_text("[data-testid=investment-accounts] .account-name")
        .await;
    assert_eq!(
        name,
        "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>"
    );
    assert!(
        b.wait_text("[data-testid=greeting]")
            .await
            .contains("<b>홍길동</b>")
    );
    b.click("[data-testid=investment-accounts] a").await;
    b.wait_text("[data-testid=holdings]").await;
    let h1 = b.wait_text("main h1").await;
    assert!(h1.starts_with("<script>"), "{h1}");
    let injected = b
        .exec(
            "return {xss: window.__xss === undefined ? null : window.__xss, \
                     scripts: document.querySelectorAll('main script, header script').length, \
                     imgs: document.querySelectorAll('main img').length, \
                     bold: document.querySelectorAll('main b').length};",
            json!([]),
        )
        .await;
    assert_eq!(
        injected,
        json!({"xss": null, "scripts": 0, "imgs": 0, "bold": 0})
    );
    // The deposit form carries the name as a value, and the page signs exactly that.
    b.click("[data-testid=deposit-link]").await;
    let v = b
        .wait_js(
            "name",
            "const e = document.querySelector('[data-testid=deposit-name]'); return e && e.value;",
            json!([]),
        )
        .await;
    assert_eq!(v, json!("<b>홍길동</b>"));
    b.fill("[data-testid=deposit-amount]", "1000").await;
    b.click("[data-testid=deposit-submit]").await;
    assert_eq!(
        b.wait_text("[data-testid=deposit-principal]").await,
        won(501_000)
    );
    b.quit().await;
}

#[tokio::test]
async fn the_english_switch_is_remembered_after_a_reload() {
    if !browser_available("language") {
        return;
    }
    let (app, _logins) = app_with_data().await;
    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.login(&app, "a@test.kr").await;
    assert_eq!(b.wait_text("main h1").await, "내 자산");
    assert_eq!(
        b.exec("return document.documentElement.lang", json!([]))
            .await,
        "ko"
    );
    b.click("[data-testid=lang-toggle]").await;
    b.wait_text_where("main h1", "English", |t| t == "My assets")
        .await;
    assert_eq!(
        b.exec("return document.documentElement.lang", json!([]))
            .await,
        "en"
    );
    b.goto(&app.url("/")).await;
    b.wait_text_where("main h1", "English after reload", |t| t == "My assets")
        .await;
    assert!(b.title().await.starts_with("My assets"));
    assert!(b.wait_text(".site-nav").await.contains("Deposit"));
    b.screenshot("summary-desktop-en").await;
    b.click("[data-testid=lang-toggle]").await;
    b.wait_text_where("main h1", "Korean", |t| t == "내 자산")
        .await;
    b.goto(&app.url("/")).await;
    b.wait_text_where("main h1", "Korean after reload", |t| t == "내 자산")
        .await;
    assert!(b.wait_text(".site-nav").await.contains("입금"));
    b.quit().await;
}

#[tokio::test]
async fn signing_up_with_a_claim_shows_that_customers_accounts() {
    if !browser_available("signup") {
        return;
    }
    let app = TestApp::spawn().await;
    app.load_generated(50, day(2026, 11, 16), 1, 0.0).await;
    let (_, accounts) = {
        let op = app.create_user("op@test.kr", Role::Operator, None).await;
        let token = app.token("op@test.kr").await;
        (op, api_get(&app, &token, "/api/v1/accounts").await)
    };
    let first = &accounts.as_array().expect("accounts")[0];
    let name = first["account_name"].as_str().expect("name").to_string();
    let number = first["account_number"]
        .as_str()
        .expect("number")
        .to_string();
    let customer = app
        .store
        .accounts(ginkgo_store::Scope::Operator)
        .await
        .expect("accounts")
        .into_iter()
        .find(|a| a.account_number == number)
        .expect("account")
        .customer_name;

    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.goto(&app.url("/signup")).await;
    b.wait_title("회원가입").await;
    let inputs = ["main input[type=email]", "main input[type=password]"];
    b.fill(inputs[0], "new@test.kr").await;
    b.fill(inputs[1], crate::helpers::PASSWORD).await;
    b.fill("main fieldset input[autocomplete=name]", &customer)
        .await;
    b.fill("main fieldset input[inputmode=numeric]", "0000000000000")
        .await;
    b.click("main button[type=submit]").await;
    // A wrong account number: a precise message, no account created yet… but the email is now
    // taken only if the server created the user first; sign-up claims in the same request.
    let err = b.wait_text("main .notice-error").await;
    assert!(!err.is_empty());
    b.fill("main input[type=email]", "new2@test.kr").await;
    b.fill("main fieldset input[inputmode=numeric]", &number)
        .await;
    b.click("main button[type=submit]").await;
    b.wait_text("[data-testid=grand-total]").await;
    let names = b
        .texts("[data-testid=investment-accounts] .account-name")
        .await;
    assert!(names.contains(&name), "{names:?}");
    b.quit().await;
}

#[tokio::test]
async fn an_operator_sees_the_runs_and_a_runs_findings() {
    if !browser_available("operator") {
        return;
    }
    let app = TestApp::spawn().await;
    app.load_generated(50, day(2026, 11, 16), 2, 0.05).await;
    app.create_user("op@test.kr", Role::Operator, None).await;
    let token = app.token("op@test.kr").await;
    let runs = api_get(&app, &token, "/api/v1/batch/runs").await;
    let newest = &runs.as_array().expect("runs")[0];
    let id = newest["id"].as_i64().expect("id");
    let rejected = newest["counts"]["rows_rejected"]
        .as_u64()
        .expect("rejected");
    assert!(rejected > 0, "the generator was asked for errors");

    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.login(&app, "op@test.kr").await;
    b.click("a[href='/operator/runs']").await;
    let rows = b.wait_text("[data-testid=runs] tbody").await;
    assert!(rows.contains(&format!("#{id}")), "{rows}");
    b.screenshot("operator-runs-desktop").await;
    b.click(&format!("a[href='/operator/runs/{id}']")).await;
    let heading = b
        .wait_text_where("main h1", "the run's heading", |t| {
            t.contains(&format!("#{id}"))
        })
        .await;
    assert!(heading.contains("배치 실행"));
    let reject_rows = b.wait_js("reject rows", "return document.querySelectorAll('main table')[0]?.querySelectorAll('tbody tr').length;", json!([])).await;
    assert_eq!(reject_rows.as_u64(), Some(rejected));
    let href = b
        .exec(
            "return document.querySelector('a[download]').getAttribute('href')",
            json!([]),
        )
        .await;
    assert_eq!(href, json!(format!("/api/v1/batch/runs/{id}/rejects.csv")));
    b.screenshot("operator-run-desktop").await;
    b.quit().await;
}

/// Every screen, at 375 px and on a desktop: it renders a heading and a title, shows no error,
/// and nothing scrolls sideways. Screenshots of each go to `target/screenshots/`.
#[tokio::test]
async fn every_screen_fits_375px_and_a_desktop_without_horizontal_scroll() {
    if !browser_available("layout") {
        return;
    }
    let app = TestApp::spawn().await;
    app.load_generated(50, day(2026, 11, 16), 5, 0.02).await;
    let logins = app.standard_logins().await;
    let token = logins.operator.clone();
    let runs = api_get(&app, &token, "/api/v1/batch/runs").await;
    let run_id = runs[0]["id"].as_i64().expect("run id");
    let account = logins.a_account.id;
    let customer_screens = [
        ("summary", "/".to_string()),
        ("account", format!("/accounts/{account}")),
        ("deposit", "/deposit".to_string()),
        ("bank", "/bank".to_string()),
        ("insight", "/insight".to_string()),
        ("link", "/link".to_string()),
    ];
    let operator_screens = [
        ("operator-runs", "/operator/runs".to_string()),
        ("operator-run", format!("/operator/runs/{run_id}")),
    ];
    for (label, (w, h)) in [("375", PHONE), ("desktop", DESKTOP)] {
        let b = Browser::start(w, h).await;
        assert_eq!(
            b.exec("return window.innerWidth", json!([])).await.as_u64(),
            Some(u64::from(w))
        );
        b.goto(&app.url("/login")).await;
        b.wait_text("main h1").await;
        assert!(
            b.horizontal_overflow().await <= 0,
            "login overflows at {label}"
        );
        b.screenshot(&format!("login-{label}")).await;
        b.goto(&app.url("/signup")).await;
        b.wait_title("회원가입").await;
        b.screenshot(&format!("signup-{label}")).await;
        for (who, screens) in [
            ("a@test.kr", &customer_screens[..]),
            ("op@test.kr", &operator_screens[..]),
        ] {
            b.login(&app, who).await;
            for (name, path) in screens {
                b.goto(&app.url(path)).await;
                b.wait_js(
                    name,
                    "return document.querySelector('main h1') && !document.querySelector('main[aria-busy]') && document.title !== 'Ginkgo';",
                    json!([]),
                )
                .await;
                let errors = b.texts("main .notice-error").await;
                assert!(errors.is_empty(), "{name} at {label}: {errors:?}");
                // Every control has a label, every button a name.
                let unlabelled = b
                    .exec(
                        "return Array.from(document.querySelectorAll('input, select, textarea, button, a[href]'))
                           .filter((e) => e.type !== 'hidden')
                           .filter((e) => !((e.labels && e.labels.length) || e.getAttribute('aria-label') || e.textContent.trim() || e.querySelector('img[alt]:not([alt=\"\"])')))
                           .map((e) => e.outerHTML.slice(0, 80));",
                        json!([]),
                    )
                    .await;
                assert_eq!(unlabelled, json!([]), "{name} at {label}");
                let overflow = b.horizontal_overflow().await;
                b.screenshot(&format!("{name}-{label}")).await;
                assert!(
                    overflow <= 0,
                    "{name} scrolls sideways by {overflow}px at {label}"
                );
            }
            b.exec("document.cookie = 'x=1'", json!([])).await;
            b.click(".header-actions button:last-child").await;
            b.wait_title("로그인").await;
        }
        b.quit().await;
    }
}

/// Linking through the sandbox's consent page, syncing, reading transactions, and re-filing one:
/// the rule appears and the spending chart changes.
#[tokio::test]
async fn a_customer_links_a_bank_in_the_sandbox_and_refiles_a_transaction() {
    if !browser_available("bank") {
        return;
    }
    let bank = crate::bank::start_sandbox(120).await;
    // The sync answers 202 at once: the page follows the sync's record to its end.
    let app = crate::bank::app_with_bank_tweaked(&bank, |c| c.bank.sync_wait_seconds = 0).await;
    app.load_generated(50, day(2026, 11, 16), 1, 0.0).await;
    let logins = app.standard_logins().await;

    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.login(&app, "a@test.kr").await;
    b.goto(&app.url("/bank")).await;
    b.click("[data-testid=link-bank]").await;
    // The sandbox's consent page (another origin): pick the first user's accounts and agree.
    b.wait_js(
        "the consent page",
        "return document.querySelector('button[value=approve]') !== null;",
        json!([]),
    )
    .await;
    b.exec(
        "document.querySelectorAll('fieldset')[0].querySelectorAll('input[type=checkbox]').forEach((c) => { if (!c.checked) c.click(); });",
        json!([]),
    )
    .await;
    b.click("button[value=approve]").await;
    let linked = b.wait_text("main .notice-success").await;
    assert!(linked.contains("연결되었습니다"), "{linked}");
    assert_eq!(
        b.exec("return location.pathname + location.search", json!([]))
            .await,
        "/bank?linked=1"
    );

    b.click("[data-testid=bank-sync]").await;
    b.wait_js("synced", "return location.search.startsWith('?synced=') && !document.querySelector('main[aria-busy]');", json!([])).await;
    let search = b.exec("return location.search", json!([])).await;
    let synced: u64 = search
        .as_str()
        .and_then(|s| s.strip_prefix("?synced="))
        .and_then(|n| n.parse().ok())
        .expect("a count");
    let syncs = api_get(&app, &logins.a, "/api/v1/bank/syncs").await;
    assert_eq!(syncs[0]["status"], "ok", "{syncs}");
    assert_eq!(
        syncs[0]["added"].as_u64(),
        Some(synced),
        "the page shows the record's count"
    );
    assert!(synced > 0);
    let accounts = api_get(&app, &logins.a, "/api/v1/bank/accounts").await;
    let first = &accounts.as_array().expect("bank accounts")[0];
    let bank_id = first["id"].as_i64().expect("id");
    let balance = first["balance"].as_i64().expect("balance after sync");
    b.screenshot("bank-linked-desktop").await;

    // The summary counts the bank balances in the grand total.
    let invest: i64 = api_get(&app, &logins.a, "/api/v1/accounts")
        .await
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["total_assets"].as_i64().expect("total"))
        .sum();
    let banks: i64 = accounts
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| a["balance"].as_i64().unwrap_or(0))
        .sum();
    b.goto(&app.url("/")).await;
    assert_eq!(
        b.wait_text("[data-testid=grand-total]").await,
        won(invest + banks)
    );
    assert_eq!(b.wait_text("[data-testid=bank-total]").await, won(banks));

    b.click(&format!("a[href='/bank/{bank_id}']")).await;
    b.wait_text("[data-testid=transactions]").await;
    assert!(b.wait_text("main .lead").await.contains(&won(balance)));
    b.screenshot("bank-transactions-desktop").await;

    // Pick a spending transaction and a category it is not in.
    let cats = api_get(&app, &logins.a, "/api/v1/insight/categories").await;
    let picked = b
        .exec(
            "const rows = Array.from(document.querySelectorAll('[data-testid=transactions] tbody tr'));
             const row = rows.find((r) => r.querySelector('td.out'));
             return row ? {memo: row.dataset.memo, category: row.querySelector('select').value} : null;",
            json!([]),
        )
        .await;
    let memo = picked["memo"]
        .as_str()
        .expect("a spending transaction on the first page")
        .to_string();
    let current = picked["category"].as_str().expect("category").to_string();
    let spending_before = api_get(&app, &logins.a, "/api/v1/insight/spending").await;
    let target = cats
        .as_array()
        .expect("categories")
        .iter()
        .map(|c| c["code"].as_str().expect("code").to_string())
        .find(|c| *c != current && !spending_before.to_string().contains(&format!("\"{c}\"")))
        .or_else(|| {
            cats.as_array().and_then(|a| {
                a.iter()
                    .filter_map(|c| c["code"].as_str())
                    .find(|c| *c != current)
                    .map(str::to_string)
            })
        })
        .expect("another category");
    let target_ko = cats
        .as_array()
        .expect("cats")
        .iter()
        .find(|c| c["code"] == target.as_str())
        .expect("cat")["ko"]
        .as_str()
        .expect("ko")
        .to_string();

    b.goto(&app.url("/insight")).await;
    let chart_before = b.wait_text("[data-testid=spending-chart]").await;
    b.goto(&app.url(&format!("/bank/{bank_id}"))).await;
    b.wait_text("[data-testid=transactions]").await;
    b.exec(
        "const row = Array.from(document.querySelectorAll('[data-testid=transactions] tbody tr')).find((r) => r.dataset.memo === arguments[0]);
         const sel = row.querySelector('select');
         sel.value = arguments[1];
         sel.dispatchEvent(new Event('change', {bubbles: true}));",
        json!([memo, target]),
    )
    .await;
    let done = b
        .wait_text("[data-testid=refile-status] .notice-success")
        .await;
    assert!(done.contains(&memo) && done.contains(&target_ko), "{done}");
    // Every row with that memo now shows the new category.
    let cats_of_memo = b
        .exec(
            "return Array.from(document.querySelectorAll('[data-testid=transactions] tbody tr'))
               .filter((r) => r.dataset.memo === arguments[0]).map((r) => r.querySelector('select').value);",
            json!([memo]),
        )
        .await;
    assert!(
        cats_of_memo
            .as_array()
            .is_some_and(|a| !a.is_empty() && a.iter().all(|c| c == target.as_str())),
        "{cats_of_memo}"
    );
    let rules = api_get(&app, &logins.a, "/api/v1/rules").await;
    assert!(
        rules
            .as_array()
            .expect("rules")
            .iter()
            .any(|r| r["pattern"] == memo.as_str() && r["category"] == target.as_str()),
        "{rules}"
    );

    b.goto(&app.url("/insight")).await;
    let rules_text = b.wait_text("[data-testid=rules]").await;
    assert!(
        rules_text.contains(&memo) && rules_text.contains(&target_ko),
        "{rules_text}"
    );
    let chart_after = b.wait_text("[data-testid=spending-chart]").await;
    assert_ne!(
        chart_before, chart_after,
        "the spending chart did not change"
    );
    assert!(chart_after.contains(&target_ko), "{chart_after}");
    // Weekly balance against spending: bars for money out and in, a line for the balance, and
    // the values of a week under the keyboard.
    b.wait_js(
        "weekly chart",
        "const c = document.querySelector('[data-testid=weekly-chart] .chart-svg');
         return c && c.querySelectorAll('rect.bar').length > 0 && c.querySelectorAll('polyline').length > 0;",
        json!([]),
    )
    .await;
    b.exec(
        "document.querySelector('[data-testid=weekly-chart] .chart-svg').focus();",
        json!([]),
    )
    .await;
    let week = b.wait_text("[data-testid=weekly-chart] .chart-tip").await;
    assert!(
        week.contains("지출") && week.contains("잔액") && week.contains('원'),
        "{week}"
    );
    // Recurring payments with their next dates, as the Korean locale writes dates.
    let recurring = api_get(&app, &logins.a, "/api/v1/insight/recurring").await;
    let active: Vec<&Value> = recurring
        .as_array()
        .expect("recurring")
        .iter()
        .filter(|r| r["status"] == "active")
        .collect();
    assert!(!active.is_empty(), "{recurring}");
    let table = b.wait_text("[data-testid=recurring]").await;
    for r in &active {
        let next =
            chrono::NaiveDate::parse_from_str(r["next_date"].as_str().expect("next"), "%Y-%m-%d")
                .expect("date");
        let korean = format!(
            "{}. {}. {}.",
            chrono::Datelike::year(&next),
            chrono::Datelike::month(&next),
            chrono::Datelike::day(&next)
        );
        assert!(
            table.contains(r["memo"].as_str().expect("memo")) && table.contains(&korean),
            "{} next {korean} not in {table}",
            r["memo"]
        );
    }
    // The month and week so far, the monthly fixed costs, and the transactions behind the
    // figures, each with how it counts.
    let sofar = b.wait_text("[data-testid=sofar-month]").await;
    assert!(
        sofar.contains("이번 달") && (sofar.contains("진행 중") || sofar.contains("완료")),
        "{sofar}"
    );
    let fixed = b.wait_text("[data-testid=fixed-costs]").await;
    assert!(
        fixed.contains("고정 지출") && fixed.contains('원'),
        "{fixed}"
    );
    let summary = b.wait_text("[data-testid=search-summary]").await;
    assert!(
        summary.contains("건") && summary.contains("지출 반영"),
        "{summary}"
    );
    b.screenshot("insight-linked-desktop").await;

    // The filter form: dates and a category, submitted as a person would.
    b.goto(&app.url(&format!("/bank/{bank_id}"))).await;
    b.wait_text("[data-testid=transactions]").await;
    b.exec(
        "const f = document.querySelector('form.filters');
         f.querySelector('[name=from]').value = '2000-01-01';
         f.querySelector('[name=to]').value = '2100-12-31';
         f.querySelector('[name=category]').value = arguments[0];",
        json!([target]),
    )
    .await;
    b.click("form.filters button[type=submit]").await;
    b.wait_js(
        "the filtered list",
        "return location.search.includes('category=' + arguments[0]) && !document.querySelector('main[aria-busy]') && document.querySelector('[data-testid=transactions]') !== null;",
        json!([target]),
    )
    .await;
    let filtered = b
        .exec(
            "return Array.from(document.querySelectorAll('[data-testid=transactions] tbody select'), (s) => s.value);",
            json!([]),
        )
        .await;
    let filtered = filtered.as_array().expect("categories").clone();
    assert!(
        !filtered.is_empty() && filtered.iter().all(|c| c == target.as_str()),
        "{filtered:?}"
    );
    // Dates in the list are written the Korean way (2026. 11. 28.).
    let first_date = b.wait_text("[data-testid=transactions] tbody tr td").await;
    let korean_date = regex_like_korean_date(&first_date);
    assert!(korean_date, "{first_date}");

    // Filtering by category shows only that category; paging walks the whole range.
    b.goto(&app.url(&format!(
        "/bank/{bank_id}?from=2000-01-01&to=2100-12-31&category={target}"
    )))
    .await;
    b.wait_text("[data-testid=transactions]").await;
    let shown = b
        .exec(
            "return Array.from(document.querySelectorAll('[data-testid=transactions] tbody select'), (s) => s.value);",
            json!([]),
        )
        .await;
    let shown = shown.as_array().expect("categories").clone();
    assert!(
        !shown.is_empty() && shown.iter().all(|c| c == target.as_str()),
        "{shown:?}"
    );
    let all = api_get(
        &app,
        &logins.a,
        &format!(
            "/api/v1/bank/accounts/{bank_id}/transactions?from=2000-01-01&to=2100-12-31&per_page=50"
        ),
    )
    .await;
    let total = all["total"].as_u64().expect("total");
    b.goto(&app.url(&format!("/bank/{bank_id}?from=2000-01-01&to=2100-12-31")))
        .await;
    b.wait_text("[data-testid=transactions]").await;
    assert!(
        b.wait_text(".pager")
            .await
            .contains(&format!("전체 {total}건"))
    );
    if total > 50 {
        b.click(".pager a").await;
        b.wait_text_where(".pager", "page 2", |t| t.contains("2 /"))
            .await;
        let rows = b.texts("[data-testid=transactions] tbody tr").await.len() as u64;
        assert_eq!(rows, (total - 50).min(50));
    }

    // The same screens at 375 px: nothing scrolls sideways.
    let phone = Browser::start(PHONE.0, PHONE.1).await;
    phone.login(&app, "a@test.kr").await;
    for (name, path) in [
        ("summary-linked", "/".to_string()),
        ("bank-linked", "/bank".to_string()),
        ("bank-transactions", format!("/bank/{bank_id}")),
        ("insight-linked", "/insight".to_string()),
    ] {
        phone.goto(&app.url(&path)).await;
        phone.wait_js(name, "return document.querySelector('main h1') && !document.querySelector('main[aria-busy]') && document.title !== 'Ginkgo';", json!([])).await;
        let overflow = phone.horizontal_overflow().await;
        phone.screenshot(&format!("{name}-375")).await;
        assert!(
            overflow <= 0,
            "{name} scrolls sideways by {overflow}px at 375 px"
        );
    }
    phone.quit().await;

    // Unlinking answers to the empty state again.
    b.goto(&app.url("/bank")).await;
    b.exec("window.confirm = () => true;", json!([])).await;
    b.click("[data-testid=bank-unlink]").await;
    b.wait_js("unlinked", "return document.querySelector('[data-testid=link-bank]') && !document.querySelector('[data-testid=bank-unlink]');", json!([])).await;
    b.quit().await;
}

/// `2026. 11. 28.` (what `Intl.DateTimeFormat('ko-KR')` writes), possibly followed by a time.
fn regex_like_korean_date(text: &str) -> bool {
    let parts: Vec<&str> = text.trim().splitn(4, ". ").collect();
    parts.len() >= 3
        && parts[0].len() == 4
        && parts[0].chars().all(|c| c.is_ascii_digit())
        && parts[1].chars().all(|c| c.is_ascii_digit())
        && parts[2]
            .trim_end_matches(|c: char| !c.is_ascii_digit())
            .chars()
            .take_while(char::is_ascii_digit)
            .count()
            > 0
}

/// The rules on the insight screen: preview, add, reorder, edit, delete, all through the page.
#[tokio::test]
async fn a_customer_previews_adds_reorders_edits_and_deletes_rules() {
    if !browser_available("rules") {
        return;
    }
    let bank = crate::bank::start_sandbox(90).await;
    let app = crate::bank::app_with_bank(&bank).await;
    app.load_generated(50, day(2026, 11, 16), 1, 0.0).await;
    let logins = app.standard_logins().await;
    let callback = crate::bank::consent(&app, &bank, &logins.a, 0).await;
    crate::bank::follow_callback(&app, &callback).await;
    let (status, body) = app
        .post("/api/v1/bank/sync", Some(&logins.a), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // A memo that occurs in the history, to preview a rule on.
    let accounts = api_get(&app, &logins.a, "/api/v1/bank/accounts").await;
    let id = accounts[0]["id"].as_i64().expect("id");
    let page = api_get(
        &app,
        &logins.a,
        &format!("/api/v1/bank/accounts/{id}/transactions?from=2000-01-01&to=2100-01-01"),
    )
    .await;
    let memo = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|t| t["direction"] == "out")
        .expect("a spending transaction")["memo"]
        .as_str()
        .expect("memo")
        .to_string();

    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.login(&app, "a@test.kr").await;
    b.goto(&app.url("/insight")).await;
    b.wait_text("main .rule-form").await;
    b.exec("window.confirm = () => true;", json!([])).await;
    b.fill("[data-testid=rule-pattern]", &memo).await;
    b.exec(
        "const s = document.querySelector('[data-testid=rule-category]'); s.value = 'medical'; \
         if (s.value !== 'medical') s.selectedIndex = s.options.length - 1;",
        json!([]),
    )
    .await;
    b.click("[data-testid=rule-preview]").await;
    let preview = b.wait_text("main .rule-form .notice-info").await;
    assert!(preview.contains("건"), "{preview}");
    b.click("main .rule-form button[type=submit]").await;
    b.wait_js(
        "the first rule",
        "return document.querySelectorAll('[data-testid=rules] tbody tr').length === 1;",
        json!([]),
    )
    .await;
    b.fill("[data-testid=rule-pattern]", "두번째규칙").await;
    b.click("main .rule-form button[type=submit]").await;
    b.wait_js(
        "two rules",
        "return document.querySelectorAll('[data-testid=rules] tbody tr').length === 2;",
        json!([]),
    )
    .await;
    let order = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("rules")
            .iter()
            .map(|r| r["pattern"].as_str().expect("p").to_string())
            .collect()
    };
    let before = order(&api_get(&app, &logins.a, "/api/v1/rules").await);
    assert_eq!(before.len(), 2);
    // Move the second rule up.
    b.click("[data-testid=rules] tbody tr:nth-child(2) button[aria-label$='위로']")
        .await;
    b.wait_text_where(
        "[data-testid=rules] tbody tr:first-child",
        "reordered",
        |t| t.contains(&before[1]),
    )
    .await;
    assert_eq!(
        order(&api_get(&app, &logins.a, "/api/v1/rules").await),
        vec![before[1].clone(), before[0].clone()]
    );
    // Edit the first rule's pattern.
    b.click("[data-testid=rules] tbody tr:first-child button:nth-child(3)")
        .await;
    b.fill("tr.editor [data-testid=rule-pattern]", "고친규칙")
        .await;
    b.click("tr.editor button[type=submit]").await;
    b.wait_text_where("[data-testid=rules] tbody tr:first-child", "edited", |t| {
        t.contains("고친규칙")
    })
    .await;
    b.screenshot("insight-rules-desktop").await;
    // Delete it.
    b.click("[data-testid=rules] tbody tr:first-child .btn-danger")
        .await;
    b.wait_js(
        "one rule left",
        "return document.querySelectorAll('[data-testid=rules] tbody tr').length === 1;",
        json!([]),
    )
    .await;
    let after = order(&api_get(&app, &logins.a, "/api/v1/rules").await);
    assert_eq!(after, vec![before[0].clone()]);
    b.quit().await;
}

/// An expired (here: missing) access cookie is renewed with the refresh cookie once, and the
/// screen still loads; after logging out, the app asks for a login again.
#[tokio::test]
async fn a_lost_access_token_is_refreshed_once_and_logout_ends_the_session() {
    if !browser_available("refresh") {
        return;
    }
    let (app, logins) = app_with_data().await;
    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.login(&app, "a@test.kr").await;
    assert!(
        b.cookie_names()
            .await
            .contains(&"ginkgo_access".to_string())
    );
    b.delete_cookie("ginkgo_access").await;
    assert!(
        !b.cookie_names()
            .await
            .contains(&"ginkgo_access".to_string())
    );
    b.click(&format!("a[href='/accounts/{}']", logins.a_account.id))
        .await;
    b.wait_text("[data-testid=holdings]").await;
    assert!(
        b.cookie_names()
            .await
            .contains(&"ginkgo_access".to_string()),
        "the page refreshed its session"
    );
    b.click(".header-actions button:last-child").await;
    b.wait_title("로그인").await;
    b.goto(&app.url("/deposit")).await;
    b.wait_title("로그인").await;
    assert_eq!(
        b.exec("return location.pathname + location.search", json!([]))
            .await,
        "/login?next=%2Fdeposit"
    );
    b.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_account_names_and_memos_containing_markup_show_as_text_and_never_run() {
    if !browser_available("bank-markup") {
        return;
    }
    let bank = crate::bank::start_sandbox(30).await;
    let app = crate::bank::app_with_bank(&bank).await;
    app.create_user("x@test.kr", Role::Customer, None).await;
    let token = app.token("x@test.kr").await;
    let callback = crate::bank::consent(&app, &bank, &token, 0).await;
    assert_eq!(
        crate::bank::follow_callback(&app, &callback).await,
        "/bank?linked=1"
    );
    let user_id = api_get(&app, &token, "/api/v1/me").await["id"]
        .as_i64()
        .expect("id");
    // What a bank could send: markup in the account's alias, the bank's name and a memo. The
    // sandbox generates clean Korean data, so the rows go in through the storage contract the
    // sync itself uses.
    let alias = "<script>window.__xss=1</script><img src=x onerror=window.__xss=2>";
    let bank_name = "<img src=x onerror=window.__xss=3>은행";
    let memo = "<img src=x onerror=window.__xss=4><b>카페</b>";
    let link_id = app
        .store
        .bank_link(user_id)
        .await
        .expect("link")
        .expect("linked")
        .id;
    let stored = app
        .store
        .upsert_bank_accounts(
            user_id,
            link_id,
            vec![ginkgo_store::BankAccountInfo {
                fintech_use_num: "199003328000000000000001".into(),
                bank_name: bank_name.into(),
                bank_code: "097".into(),
                account_alias: alias.into(),
                account_num_masked: "123-****-<b>9</b>".into(),
            }],
        )
        .await
        .expect("accounts");
    let account = stored
        .iter()
        .find(|a| a.account_alias == alias)
        .expect("the markup account")
        .id;
    let today = chrono::Utc::now().date_naive();
    let added = app
        .store
        .insert_bank_transactions(
            account,
            vec![ginkgo_store::NewBankTxn {
                date: today,
                time: "101500".into(),
                direction: "out".into(),
                tran_type: "<i>출금</i>".into(),
                memo: memo.into(),
                memo_norm: memo.to_lowercase(),
                amount: ginkgo_domain::Won::new(4_500),
                balance_after: ginkgo_domain::Won::new(95_500),
                branch_name: "<b>지점</b>".into(),
                ordinal: 0,
                category: "cafe".into(),
                category_source: "dictionary".into(),
                rule_id: None,
                out_of_period: false,
            }],
        )
        .await
        .expect("transactions");
    assert_eq!(added, 1);

    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.login(&app, "x@test.kr").await;
    b.goto(&app.url("/bank")).await;
    b.wait_text("[data-testid=bank-accounts]").await;
    let names = b.texts("[data-testid=bank-accounts] .account-name").await;
    assert!(names.iter().any(|n| n == alias), "{names:?}");
    let subs = b.texts("[data-testid=bank-accounts] .account-sub").await;
    assert!(
        subs.iter()
            .any(|s| s.contains(bank_name) && s.contains("123-****-<b>9</b>")),
        "{subs:?}"
    );
    let check = "return {xss: window.__xss === undefined ? null : window.__xss, \
                 scripts: document.querySelectorAll('main script').length, \
                 imgs: document.querySelectorAll('main img').length, \
                 bold: document.querySelectorAll('main b, main i').length};";
    assert_eq!(
        b.exec(check, json!([])).await,
        json!({"xss": null, "scripts": 0, "imgs": 0, "bold": 0})
    );
    b.goto(&app.url(&format!("/bank/{account}"))).await;
    b.wait_text("[data-testid=transactions]").await;
    assert_eq!(b.wait_text("main h1").await, alias);
    let memos = b.texts("[data-testid=transactions] .memo").await;
    assert_eq!(memos, vec![memo.to_string()]);
    assert_eq!(
        b.exec(check, json!([])).await,
        json!({"xss": null, "scripts": 0, "imgs": 0, "bold": 0})
    );
    b.screenshot("bank-markup").await;
    // Re-filing shows the memo in a notice, and makes a rule whose pattern is the memo.
    b.exec(
        "const sel = document.querySelector('[data-testid=transactions] tbody tr select');
         sel.value = 'food';
         sel.dispatchEvent(new Event('change', {bubbles: true}));",
        json!([]),
    )
    .await;
    let done = b
        .wait_text("[data-testid=refile-status] .notice-success")
        .await;
    assert!(done.contains(memo), "{done}");
    assert_eq!(
        b.exec(check, json!([])).await,
        json!({"xss": null, "scripts": 0, "imgs": 0, "bold": 0})
    );
    let rules = api_get(&app, &token, "/api/v1/rules").await;
    assert_eq!(rules[0]["pattern"], memo, "{rules}");
    b.goto(&app.url("/insight")).await;
    b.wait_js(
        "the rule list",
        "return document.querySelector('main') && document.querySelector('main').textContent.includes(arguments[0]);",
        json!([memo]),
    )
    .await;
    let on_rules = b.exec(check, json!([])).await;
    assert_eq!(on_rules["xss"], Value::Null, "{on_rules}");
    assert_eq!(on_rules["scripts"], 0, "{on_rules}");
    assert_eq!(on_rules["imgs"], 0, "{on_rules}");
    b.quit().await;
}

/// Every status an account can show, in Korean and English: synced, syncing (followed to its
/// end), failed with its reason and time, under maintenance, relink needed with a reconnect
/// button (never beside "synced"), and the unlink dialog saying what happens to the history.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bank_statuses_never_lie_in_korean_and_english() {
    if !browser_available("bank statuses") {
        return;
    }
    let bank = crate::bank::start_sandbox_with(ginkgo_sandbox::SandboxConfig {
        users: 2,
        history_days: 30,
        seed: 424_242,
        profile: ginkgo_sandbox::Profile::Testbed,
        ..ginkgo_sandbox::SandboxConfig::default()
    })
    .await;
    let app = crate::bank::app_with_bank_tweaked(&bank, |c| {
        c.bank.sync_on_link = true;
        c.bank.sync_wait_seconds = 0;
    })
    .await;
    app.create_user("s@test.kr", Role::Customer, None).await;
    let token = app.token("s@test.kr").await;
    // User 1 of the sandbox: two accounts with canned answers, one without (A0002/818).
    let callback = crate::bank::consent(&app, &bank, &token, 1).await;
    assert_eq!(
        crate::bank::follow_callback(&app, &callback).await,
        "/bank?linked=1"
    );
    let b = Browser::start(PHONE.0, PHONE.1).await;
    b.login(&app, "s@test.kr").await;
    b.goto(&app.url("/bank?linked=1")).await;
    // The first sync started by itself; the page follows it and shows the outcome.
    b.wait_js(
        "the first sync's outcome",
        "return Array.from(document.querySelectorAll('[data-testid=account-state]')).some((e) => e.textContent === '동기화 실패');",
        json!([]),
    )
    .await;
    let states = b.texts("[data-testid=account-state]").await;
    assert_eq!(
        states.iter().filter(|s| *s == "동기화됨").count(),
        2,
        "{states:?}"
    );
    let lines = b.texts("[data-testid=account-state-line]").await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("은행(참가기관)이 이 계좌의 정보를 주지 않았습니다")),
        "the reason, in Korean: {lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("최근 동기화:")),
        "{lines:?}"
    );
    assert!(b.horizontal_overflow().await <= 0, "comfortable at 375 px");
    b.screenshot("bank-statuses-phone").await;

    // A bank under maintenance, and a sync slow enough to be seen running.
    let accounts = api_get(&app, &token, "/api/v1/bank/accounts").await;
    let down = bank.handle.users()[1].accounts[0].bank_code_std.to_string();
    bank.handle.set_faults(ginkgo_sandbox::Faults {
        maintenance_banks: vec![down],
        delay_ms: 400,
        ..ginkgo_sandbox::Faults::default()
    });
    let (s, _) = app.post("/api/v1/bank/sync", Some(&token), json!({})).await;
    assert_eq!(s, StatusCode::ACCEPTED);
    b.goto(&app.url("/bank")).await;
    b.wait_text_where("[data-testid=account-state]", "syncing", |t| {
        t == "동기화 중"
    })
    .await;
    b.wait_js(
        "the sync followed to its end",
        "return Array.from(document.querySelectorAll('[data-testid=account-state]')).some((e) => e.textContent === '은행 점검 중');",
        json!([]),
    )
    .await;
    assert!(
        !b.texts("[data-testid=account-state]")
            .await
            .iter()
            .any(|s| s == "동기화 중")
    );
    bank.handle.set_faults(ginkgo_sandbox::Faults::default());

    // English: every status in words.
    b.click("[data-testid=lang-toggle]").await;
    b.wait_text_where("main h1", "English", |t| t == "Bank accounts")
        .await;
    let states = b.texts("[data-testid=account-state]").await;
    assert!(
        states.iter().any(|s| s == "Bank under maintenance"),
        "{states:?}"
    );
    assert!(states.iter().any(|s| s == "Sync failed"), "{states:?}");
    let lines = b.texts("[data-testid=account-state-line]").await;
    assert!(
        lines
            .iter()
            .any(|l| l.contains("The bank gave no information for this account")),
        "{lines:?}"
    );

    // Consent withdrawn: every account says "relink needed" — and nothing else — with a
    // reconnect button.
    let me = api_get(&app, &token, "/api/v1/me").await;
    app.store
        .set_bank_link_status(
            me["id"].as_i64().expect("id"),
            "relink_needed",
            chrono::Utc::now(),
        )
        .await
        .expect("status");
    b.goto(&app.url("/bank")).await;
    b.wait_text("[data-testid=reconnect]").await;
    let states = b.texts("[data-testid=account-state]").await;
    assert_eq!(states.len(), accounts.as_array().expect("a").len());
    assert!(states.iter().all(|s| s == "Re-link needed"), "{states:?}");
    assert!(
        b.wait_text("[data-testid=relink-notice]")
            .await
            .contains("keeps your transaction history")
    );
    b.click("[data-testid=lang-toggle]").await;
    b.wait_text_where("main h1", "Korean", |t| t == "은행 계좌")
        .await;
    let states = b.texts("[data-testid=account-state]").await;
    assert!(states.iter().all(|s| s == "재연결 필요"), "{states:?}");
    assert!(!states.iter().any(|s| s == "동기화됨" || s == "정상"));
    assert_eq!(
        b.wait_text("[data-testid=reconnect]").await,
        "다시 연결하기"
    );
    b.screenshot("bank-relink-phone").await;

    // Unlinking one account: the dialog says what happens to the history and the rules.
    b.click("[data-testid=unlink-account]").await;
    let dialog = b.wait_text("[data-testid=unlink-dialog]").await;
    assert!(
        dialog.contains("거래내역은 지우지 않고 보관합니다"),
        "{dialog}"
    );
    assert!(dialog.contains("분류 규칙은 그대로 남아"), "{dialog}");
    b.screenshot("bank-unlink-dialog-phone").await;
    b.click("[data-testid=unlink-confirm]").await;
    b.wait_text_where("[data-testid=bank-status]", "unlinked", |t| {
        t.contains("계좌 연결을 해제했습니다")
    })
    .await;
    assert_eq!(
        b.texts("[data-testid=account-state]").await.len(),
        accounts.as_array().expect("a").len() - 1
    );
    b.quit().await;
}

/// Copies the day in `from` to `to`, passing each holdings data line through `edit` (`None`
/// drops it).
fn copy_day_editing(
    from: &std::path::Path,
    to: &std::path::Path,
    edit: impl Fn(&str) -> Option<String>,
) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        if name == "account_asset_info_set.csv" {
            let text = std::fs::read_to_string(&path).expect("read");
            let mut lines = text.lines();
            let mut out = format!("{}\n", lines.next().expect("header"));
            for line in lines.filter_map(&edit) {
                out.push_str(&line);
                out.push('\n');
            }
            std::fs::write(to.join(&name), out).expect("write");
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

#[tokio::test]
async fn partial_data_is_marked_on_summary_detail_and_history_in_korean_and_english() {
    if !browser_available("partial") {
        return;
    }
    let app = TestApp::spawn().await;
    let first = app.dir.join("d1");
    ginkgo_batch::generate::generate(
        &first,
        &ginkgo_batch::generate::GenerateOptions {
            accounts: 12,
            seed: 5,
            date: day(2026, 11, 20),
            quote_all: false,
            ..Default::default()
        },
    )
    .expect("generate");
    app.load_dir(&first, day(2026, 11, 20)).await;
    let field = |l: &str, i: usize| l.split(',').nth(i).unwrap_or("").to_string();
    let text = std::fs::read_to_string(first.join("account_asset_info_set.csv")).expect("read");
    let target = text
        .lines()
        .skip(1)
        .find(|l| field(l, 4) != "CASH" && field(l, 6) != "0")
        .expect("a holding")
        .to_string();
    let second = app.dir.join("d2");
    copy_day_editing(&first, &second, |l| {
        Some(if l == target {
            let mut f: Vec<&str> = l.split(',').collect();
            f[5] = "12a45";
            f.join(",")
        } else {
            l.to_string()
        })
    });
    app.load_dir(&second, day(2026, 11, 21)).await;
    app.create_user("c@test.kr", Role::Customer, Some(&field(&target, 0)))
        .await;
    app.create_user("op@test.kr", Role::Operator, None).await;
    let token = app.token("c@test.kr").await;
    let accounts = api_get(&app, &token, "/api/v1/accounts").await;
    let id = accounts
        .as_array()
        .expect("accounts")
        .iter()
        .find(|a| a["account_number"] == field(&target, 2).as_str())
        .and_then(|a| a["id"].as_i64())
        .expect("the account");

    let b = Browser::start(PHONE.0, PHONE.1).await;
    b.login(&app, "c@test.kr").await;
    for (lang, since, day2, stale) in [
        ("ko", "2026. 11. 20.", "11. 21.", "2026. 11. 20. 값"),
        ("en", "Nov 20, 2026", "Nov 21", "value of Nov 20, 2026"),
    ] {
        if lang == "en" {
            b.goto(&app.url("/")).await;
            b.wait_text_where("main h1", "Korean", |t| t == "내 자산")
                .await;
            b.click("[data-testid=lang-toggle]").await;
            b.wait_text_where("main h1", "English", |t| t == "My assets")
                .await;
        }
        b.goto(&app.url("/")).await;
        let notice = b.wait_text("[data-testid=partial-notice]").await;
        assert!(notice.contains(since), "{lang} summary: {notice}");
        let badge = b.wait_text("[data-testid=partial-badge]").await;
        assert!(badge.contains(since), "{lang} badge: {badge}");
        let days = b.wait_text("[data-testid=history-partial]").await;
        assert!(days.contains(day2), "{lang} summary history: {days}");
        assert!(b.horizontal_overflow().await <= 0, "summary at 375 px");
        b.screenshot(&format!("partial-summary-375-{lang}")).await;
        b.goto(&app.url(&format!("/accounts/{id}"))).await;
        let notice = b.wait_text("[data-testid=partial-notice]").await;
        assert!(notice.contains(since), "{lang} detail: {notice}");
        assert_eq!(b.wait_text("[data-testid=stale-since]").await, stale);
        let days = b.wait_text("[data-testid=history-partial]").await;
        assert!(days.contains(day2), "{lang} detail history: {days}");
        assert!(b.horizontal_overflow().await <= 0, "detail at 375 px");
        b.screenshot(&format!("partial-account-375-{lang}")).await;
    }
    b.click("[data-testid=lang-toggle]").await;
    b.quit().await;

    // The operator: the stale list names the account; a header-only delivery is held, and the
    // run page's button releases it.
    let third = app.dir.join("d3");
    copy_day_editing(&first, &third, |_| None);
    let held =
        ginkgo_server::jobs::load_day(app.store.clone(), &third, Some(day(2026, 11, 22)), None)
            .await
            .expect("held");
    assert_eq!(held.status, ginkgo_store::RunStatus::Held);
    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.login(&app, "op@test.kr").await;
    b.goto(&app.url("/operator/runs")).await;
    let stale = b.wait_text("[data-testid=stale-accounts]").await;
    assert!(stale.contains(&field(&target, 2)), "{stale}");
    let runs = b.wait_text("[data-testid=runs] tbody").await;
    assert!(runs.contains("보류"), "{runs}");
    b.goto(&app.url(&format!("/operator/runs/{}", held.id)))
        .await;
    let counts = b.wait_text("[data-testid=held-counts]").await;
    assert!(
        counts.contains("12"),
        "the previous run's 12 accounts: {counts}"
    );
    b.screenshot("operator-held-run-desktop").await;
    b.click("[data-testid=release]").await;
    let heading = b
        .wait_text_where("main h1", "the release's run", |t| {
            t.contains(&format!("#{}", held.id + 1))
        })
        .await;
    assert!(heading.contains("배치 실행"));
    assert_eq!(
        app.store.run(held.id).await.expect("run").released_by,
        Some(held.id + 1)
    );
    b.quit().await;
}

/// The API explorer, vendored and offline: it renders this server's operations under its own
/// Content-Security-Policy without a violation, and fetches nothing from another origin.
#[tokio::test]
async fn the_api_explorer_renders_this_servers_operations_offline() {
    if !browser_available("api explorer") {
        return;
    }
    let app = TestApp::spawn().await;
    let r = app
        .http
        .get(app.url("/api/docs"))
        .send()
        .await
        .expect("docs");
    assert_eq!(r.status(), StatusCode::OK);
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .expect("csp")
        .to_string();
    assert!(
        csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
        "{csp}"
    );
    let b = Browser::start(DESKTOP.0, DESKTOP.1).await;
    b.goto(&app.url("/api/docs")).await;
    let count = b
        .wait_js(
            "the operations",
            "const n = document.querySelectorAll('.opblock').length; return n > 20 ? n : null;",
            json!([]),
        )
        .await;
    let summaries = b.texts(".opblock-summary-path").await;
    assert!(
        summaries.iter().any(|s| s.contains("/api/v1/auth/login")),
        "{summaries:?}"
    );
    let foreign = b
        .exec(
            "return performance.getEntriesByType('resource').map(e => e.name).filter(u => !u.startsWith(location.origin));",
            json!([]),
        )
        .await;
    assert_eq!(foreign, json!([]), "nothing fetched from elsewhere");
    let log = b.log().await;
    assert!(
        !log.contains("Content Security Policy") && !log.contains("Refused"),
        "CSP violations: {log}"
    );
    println!("the explorer lists {count} operations");
    b.quit().await;
}
