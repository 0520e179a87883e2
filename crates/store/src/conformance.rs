//! The conformance story every backend must pass.
//!
//! Backends call [`conformance_tests!`] in their test binary with an async factory that returns a
//! fresh, empty, migrated store; each function below becomes one test there.

use std::sync::Arc;

use chrono::{Duration, NaiveDate, Utc};
use ginkgo_domain::snapshot::{
    HoldingRecord, InstrumentRecord, PrincipalRecord, RejectRecord, SnapshotFile, WarningRecord,
};
use ginkgo_domain::{AccountNumber, CustomerName, Isin, Signature, Won, deposit_signature};

use crate::*;

/// Generates one `#[tokio::test]` per conformance check, each on a fresh store from `$factory`
/// (an async fn returning `Option<Arc<S>>` for some `S: Store`; `None` means this backend is not
/// configured in this environment, and the test says so and passes without checking anything —
/// the caller decides when that is allowed).
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::conformance_tests!(@each $factory,
            signup_and_duplicate_email,
            claim_needs_name_and_account,
            refresh_tokens_rotate_and_revoke,
            login_failures_are_counted_per_subject,
            concurrent_login_attempts_never_pass_the_limit,
            signing_up_with_a_claim_is_one_step,
            a_new_password_revokes_every_session,
            snapshot_load_makes_a_day_current,
            reloading_a_day_gives_the_same_state,
            an_account_missing_from_a_day_is_deactivated,
            aborted_load_changes_nothing,
            runs_record_findings,
            reads_are_scoped_to_the_customer,
            deposit_applies_once_with_the_right_signature,
            concurrent_confirmations_apply_once,
            expired_and_foreign_deposits_are_refused,
            deposits_survive_a_reload_of_the_same_day,
            a_rejected_holding_keeps_its_last_known_good_value,
            a_rejected_holding_without_an_earlier_value_leaves_what_loaded,
            a_rejected_principal_keeps_its_last_known_good_or_is_unknown,
            an_account_whose_every_row_is_rejected_keeps_its_lines,
            a_carried_principal_does_not_count_a_later_deposit_twice,
            implausible_deliveries_are_held_until_released,
            a_corrected_delivery_replaces_the_day,
            stale_accounts_list_what_is_stale,
            leases_have_one_holder,
            oauth_states_are_single_use,
            bank_links_accounts_and_scoping,
            syncs_are_recorded_when_they_start_and_finish,
            bank_transactions_are_stored_once,
            account_sync_status_flags_and_unlinking,
            category_changes_keep_manual_filings,
            rules_keep_an_order,
            tran_id_sequences_never_repeat,
            insight_overrides_are_kept_and_scoped,
            memo_norms_are_rewritten_for_the_login_only,
        );
    };
    (@each $factory:path, $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let Some(store) = $factory().await else {
                    eprintln!("skipped: backend not configured");
                    return;
                };
                $crate::conformance::$name(store).await;
            }
        )*
    };
}

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).expect("valid date")
}

fn holding(name: &str, number: &str, isin: &str, price: i64, qty: i64) -> HoldingRecord {
    HoldingRecord {
        customer_name: CustomerName::parse(name).expect("name"),
        broker: "디셈버증권".into(),
        account_number: AccountNumber::parse(number).expect("number"),
        account_name: "계좌1".into(),
        isin: Isin::parse(isin).expect("isin"),
        price: Won::new(price),
        quantity: qty,
    }
}

fn instruments() -> Vec<InstrumentRecord> {
    [
        ("미국S&P500", "KR7360750004", "미국 주식"),
        ("단기채권", "KR7153130000", "채권 / 현금"),
        ("현금", "CASH", "채권 / 현금"),
    ]
    .into_iter()
    .map(|(n, i, g)| InstrumentRecord {
        isin: Isin::parse(i).expect("isin"),
        name: n.into(),
        asset_group: g.into(),
    })
    .collect()
}

/// The standard two-customer day: 류영길 (one account) and 권상호 (one account).
fn standard_day(date: NaiveDate, price_bump: i64) -> (Vec<HoldingRecord>, Vec<PrincipalRecord>) {
    let holdings = vec![
        holding(
            "류영길",
            "5736692368320",
            "KR7360750004",
            8585 + price_bump,
            21,
        ),
        holding("류영길", "5736692368320", "KR7153130000", 10_000, 0),
        holding("류영길", "5736692368320", "CASH", 24_269, 1),
        holding(
            "권상호",
            "1573538006848",
            "KR7360750004",
            8600 + price_bump,
            10,
        ),
        holding("권상호", "1573538006848", "CASH", 21_297, 1),
    ];
    let _ = date;
    let principals = vec![
        PrincipalRecord {
            account_number: AccountNumber::parse("5736692368320").expect("n"),
            principal: Won::new(200_000),
        },
        PrincipalRecord {
            account_number: AccountNumber::parse("1573538006848").expect("n"),
            principal: Won::new(0),
        },
    ];
    (holdings, principals)
}

/// Loads records as the batch would: through the channel, in chunks.
pub async fn load<S: Store>(
    store: &S,
    date: NaiveDate,
    holdings: Vec<HoldingRecord>,
    principals: Vec<PrincipalRecord>,
    rejects: Vec<RejectRecord>,
    warnings: Vec<WarningRecord>,
) -> StoreResult<RunRecord> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let counts = RunCounts {
        rows_read: (holdings.len() + rejects.len()) as u64,
        rows_loaded: holdings.len() as u64,
        rows_rejected: rejects.len() as u64,
        warnings: warnings.len() as u64,
        instruments_loaded: instruments().len() as u64,
        holdings_loaded: holdings.len() as u64,
        principals_loaded: principals.len() as u64,
    };
    let feeder = tokio::spawn(async move {
        for chunk in holdings.chunks(2) {
            if tx
                .send(LoadMessage::Holdings(chunk.to_vec()))
                .await
                .is_err()
            {
                return;
            }
        }
        let _ = tx
            .send(LoadMessage::Finished {
                principals,
                counts,
                rejects,
                warnings,
            })
            .await;
    });
    let result = store
        .load_snapshot(SnapshotLoad {
            business_date: date,
            files: vec![RunFile {
                kind: SnapshotFile::Holdings,
                name: "account_asset_info_set.csv".into(),
                sha256: "0".repeat(64),
                bytes: 1,
            }],
            instruments: instruments(),
            holdings: rx,
            started_at: Utc::now(),
            hold_below_percent: None,
            source_dir: None,
            release_of: None,
        })
        .await;
    let _ = feeder.await;
    result
}

async fn load_standard<S: Store>(store: &S, date: NaiveDate, bump: i64) -> RunRecord {
    let (h, p) = standard_day(date, bump);
    load(store, date, h, p, vec![], vec![]).await.expect("load")
}

async fn customer_scope<S: Store>(store: &S, name: &str) -> Scope {
    let c = store
        .customer_by_name(name)
        .await
        .expect("query")
        .expect("customer exists");
    Scope::Customer(c.id)
}

async fn login_for<S: Store>(store: &S, email: &str, name: &str) -> User {
    let c = store
        .customer_by_name(name)
        .await
        .expect("query")
        .expect("customer");
    store
        .create_user(NewUser {
            email: email.into(),
            password_hash: "hash".into(),
            role: Role::Customer,
            customer_id: Some(c.id),
        })
        .await
        .expect("create user")
}

pub async fn signup_and_duplicate_email<S: Store>(store: Arc<S>) {
    let u = store
        .create_user(NewUser {
            email: "a@example.com".into(),
            password_hash: "$argon2id$fake".into(),
            role: Role::Customer,
            customer_id: None,
        })
        .await
        .expect("create");
    assert_eq!(u.email, "a@example.com");
    assert_eq!(u.customer_id, None);
    let again = store
        .create_user(NewUser {
            email: "a@example.com".into(),
            password_hash: "x".into(),
            role: Role::Operator,
            customer_id: None,
        })
        .await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let creds = store
        .credentials_by_email("a@example.com")
        .await
        .expect("q")
        .expect("found");
    assert_eq!(creds.password_hash, "$argon2id$fake");
    assert!(
        store
            .credentials_by_email("b@example.com")
            .await
            .expect("q")
            .is_none()
    );
    assert_eq!(store.list_users().await.expect("list").len(), 1);
}

pub async fn claim_needs_name_and_account<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let u = store
        .create_user(NewUser {
            email: "ryu@example.com".into(),
            password_hash: "h".into(),
            role: Role::Customer,
            customer_id: None,
        })
        .await
        .expect("create");
    let wrong = store.claim_customer(u.id, "류영길", "1573538006848").await;
    assert!(matches!(wrong, Err(StoreError::NotFound)), "{wrong:?}");
    let claimed = store
        .claim_customer(u.id, "류영길", "5736692368320")
        .await
        .expect("claim");
    assert_eq!(claimed.customer_name.as_deref(), Some("류영길"));
    let other = store
        .create_user(NewUser {
            email: "imposter@example.com".into(),
            password_hash: "h".into(),
            role: Role::Customer,
            customer_id: None,
        })
        .await
        .expect("create");
    let twice = store
        .claim_customer(other.id, "류영길", "5736692368320")
        .await;
    assert!(matches!(twice, Err(StoreError::Conflict(_))), "{twice:?}");
}

pub async fn refresh_tokens_rotate_and_revoke<S: Store>(store: Arc<S>) {
    let u = store
        .create_user(NewUser {
            email: "t@example.com".into(),
            password_hash: "h".into(),
            role: Role::Customer,
            customer_id: None,
        })
        .await
        .expect("create");
    let now = Utc::now();
    store
        .insert_refresh_token(u.id, b"old", now + Duration::days(1))
        .await
        .expect("insert");
    let rotated = store
        .rotate_refresh_token(b"old", b"new", now + Duration::days(1), now)
        .await
        .expect("rotate");
    assert_eq!(rotated, Some(u.id));
    // The old token is spent.
    let replay = store
        .rotate_refresh_token(b"old", b"x", now + Duration::days(1), now)
        .await;
    assert_eq!(replay.expect("query"), None);
    store
        .revoke_refresh_token(b"new", now)
        .await
        .expect("revoke");
    let revoked = store
        .rotate_refresh_token(b"new", b"y", now + Duration::days(1), now)
        .await;
    assert_eq!(revoked.expect("query"), None);
    store
        .insert_refresh_token(u.id, b"short", now - Duration::seconds(1))
        .await
        .expect("insert");
    let expired = store.rotate_refresh_token(b"short", b"z", now, now).await;
    assert_eq!(expired.expect("query"), None);
}

pub async fn login_failures_are_counted_per_subject<S: Store>(store: Arc<S>) {
    let now = Utc::now();
    for i in 0..3 {
        store
            .record_login_failure(
                &["email:a@x".to_string(), "ip:127.0.0.1".to_string()],
                now - Duration::seconds(i * 30),
            )
            .await
            .expect("record");
    }
    let since = now - Duration::seconds(60);
    assert_eq!(
        store
            .count_login_failures("email:a@x", since)
            .await
            .expect("count"),
        3
    );
    assert_eq!(
        store
            .count_login_failures("email:a@x", now - Duration::seconds(45))
            .await
            .expect("c"),
        2
    );
    assert_eq!(
        store
            .count_login_failures("email:b@x", since)
            .await
            .expect("count"),
        0
    );
}

pub async fn concurrent_login_attempts_never_pass_the_limit<S: Store>(store: Arc<S>) {
    let now = Utc::now();
    let since = now - Duration::minutes(1);
    let subjects = vec![
        ("email:a@x".to_string(), 10),
        ("ip:10.0.0.1".to_string(), 50),
    ];
    let tasks: Vec<_> = (0..30)
        .map(|i| {
            let store = store.clone();
            let subjects = subjects.clone();
            tokio::spawn(async move {
                store
                    .reserve_login_attempt(&subjects, since, now + Duration::milliseconds(i))
                    .await
            })
        })
        .collect();
    let mut granted = Vec::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if t.await.expect("task").expect("reserve") {
            granted.push(i);
        }
    }
    assert_eq!(
        granted.len(),
        10,
        "exactly the limit is granted: {granted:?}"
    );
    assert_eq!(
        store
            .count_login_failures("email:a@x", since)
            .await
            .expect("count"),
        10
    );
    // A refused attempt records nothing; a forgiven one gives its place back.
    assert_eq!(
        store
            .count_login_failures("ip:10.0.0.1", since)
            .await
            .expect("count"),
        10
    );
    let names: Vec<String> = subjects.iter().map(|(s, _)| s.clone()).collect();
    let first = i64::try_from(granted[0]).expect("small");
    store
        .forgive_login_attempt(&names, now + Duration::milliseconds(first))
        .await
        .expect("forgive");
    assert_eq!(
        store
            .count_login_failures("email:a@x", since)
            .await
            .expect("count"),
        9
    );
    assert!(
        store
            .reserve_login_attempt(&subjects, since, now + Duration::seconds(1))
            .await
            .expect("reserve")
    );
    assert!(
        !store
            .reserve_login_attempt(&subjects, since, now + Duration::seconds(2))
            .await
            .expect("reserve")
    );
}

pub async fn signing_up_with_a_claim_is_one_step<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let new = |email: &str| NewUser {
        email: email.into(),
        password_hash: "h".into(),
        role: Role::Customer,
        customer_id: None,
    };
    let wrong = store
        .create_user_claiming(new("ryu@example.com"), "류영길", "1573538006848")
        .await;
    assert!(matches!(wrong, Err(StoreError::NotFound)), "{wrong:?}");
    assert!(
        store
            .credentials_by_email("ryu@example.com")
            .await
            .expect("query")
            .is_none(),
        "a refused claim leaves no login behind"
    );
    let user = store
        .create_user_claiming(new("ryu@example.com"), "류영길", "5736692368320")
        .await
        .expect("claim at sign-up");
    assert_eq!(user.customer_name.as_deref(), Some("류영길"));
    assert!(user.customer_id.is_some());
    let twice = store
        .create_user_claiming(new("other@example.com"), "류영길", "5736692368320")
        .await;
    assert!(
        matches!(&twice, Err(StoreError::Conflict(m)) if m == CUSTOMER_HAS_LOGIN),
        "{twice:?}"
    );
    assert!(
        store
            .credentials_by_email("other@example.com")
            .await
            .expect("query")
            .is_none()
    );
    let taken = store.create_user(new("ryu@example.com")).await;
    assert!(
        matches!(&taken, Err(StoreError::Conflict(m)) if m == EMAIL_TAKEN),
        "{taken:?}"
    );
}

pub async fn a_new_password_revokes_every_session<S: Store>(store: Arc<S>) {
    let u = store
        .create_user(NewUser {
            email: "p@example.com".into(),
            password_hash: "old".into(),
            role: Role::Customer,
            customer_id: None,
        })
        .await
        .expect("create");
    let now = Utc::now();
    for token in [b"one".as_slice(), b"two".as_slice()] {
        store
            .insert_refresh_token(u.id, token, now + Duration::days(1))
            .await
            .expect("insert");
    }
    store.set_password_hash(u.id, "new").await.expect("set");
    for token in [b"one".as_slice(), b"two".as_slice()] {
        let rotated = store
            .rotate_refresh_token(token, b"next", now + Duration::days(1), now)
            .await
            .expect("query");
        assert_eq!(rotated, None, "sessions of the old password are revoked");
    }
    let missing = store.set_password_hash(u.id + 1000, "x").await;
    assert!(matches!(missing, Err(StoreError::NotFound)), "{missing:?}");
}

pub async fn snapshot_load_makes_a_day_current<S: Store>(store: Arc<S>) {
    let run = load_standard(&*store, day(20), 0).await;
    assert_eq!(run.status, RunStatus::Committed);
    assert_eq!(run.accounts_loaded, 2);
    let accounts = store.accounts(Scope::Operator).await.expect("accounts");
    assert_eq!(accounts.len(), 2);
    let ryu = accounts
        .iter()
        .find(|a| a.account_number == "5736692368320")
        .expect("ryu");
    assert_eq!(ryu.total_assets, Won::new(8585 * 21 + 24_269));
    assert_eq!(ryu.principal, Some(Won::new(200_000)));
    assert_eq!(ryu.broker, "디셈버증권");
    assert_eq!(ryu.as_of, Some(day(20)));
    let lines = store
        .holdings(Scope::Operator, ryu.id, false)
        .await
        .expect("holdings");
    assert_eq!(lines.len(), 2, "zero-quantity line hidden: {lines:?}");
    assert_eq!(lines[0].isin, "KR7360750004");
    assert_eq!(lines[0].valuation, Won::new(8585 * 21));
    assert_eq!(lines[0].asset_group, "미국 주식");
    assert_eq!(lines[1].isin, "CASH");
    let all = store
        .holdings(Scope::Operator, ryu.id, true)
        .await
        .expect("holdings");
    assert_eq!(all.len(), 3);
    let history = store
        .history(Scope::Operator, Some(ryu.id), None, None)
        .await
        .expect("h");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0].total_assets, ryu.total_assets);
}

pub async fn reloading_a_day_gives_the_same_state<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let first = store.accounts(Scope::Operator).await.expect("accounts");
    let ids: Vec<_> = first.iter().map(|a| a.id).collect();
    let first_holdings = store
        .holdings(Scope::Operator, ids[0], true)
        .await
        .expect("h");
    load_standard(&*store, day(20), 0).await;
    let second = store.accounts(Scope::Operator).await.expect("accounts");
    assert_eq!(first, second);
    assert_eq!(
        first_holdings,
        store
            .holdings(Scope::Operator, ids[0], true)
            .await
            .expect("h")
    );
    // The next day moves prices; history keeps both days.
    load_standard(&*store, day(21), 100).await;
    let h = store
        .history(Scope::Operator, None, None, None)
        .await
        .expect("history");
    assert_eq!(h.len(), 2);
    assert_eq!(
        h[1].total_assets.get() - h[0].total_assets.get(),
        100 * 21 + 100 * 10,
        "the second day's total reflects the price move"
    );
    let ranged = store
        .history(Scope::Operator, None, Some(day(21)), None)
        .await
        .expect("h");
    assert_eq!(ranged.len(), 1);
}

pub async fn an_account_missing_from_a_day_is_deactivated<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let (mut h, p) = standard_day(day(21), 0);
    h.retain(|r| r.account_number.as_str() != "1573538006848");
    let run = load(&*store, day(21), h, p, vec![], vec![])
        .await
        .expect("load");
    assert_eq!(run.accounts_deactivated, 1);
    let accounts = store.accounts(Scope::Operator).await.expect("accounts");
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].account_number, "5736692368320");
}

pub async fn aborted_load_changes_nothing<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let before = store.accounts(Scope::Operator).await.expect("accounts");
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let (h, _p) = standard_day(day(21), 500);
    let feeder = tokio::spawn(async move {
        let _ = tx.send(LoadMessage::Holdings(h)).await;
        let _ = tx
            .send(LoadMessage::Aborted("disk read error".into()))
            .await;
    });
    let result = store
        .load_snapshot(SnapshotLoad {
            business_date: day(21),
            files: vec![],
            instruments: instruments(),
            holdings: rx,
            started_at: Utc::now(),
            hold_below_percent: None,
            source_dir: None,
            release_of: None,
        })
        .await;
    let _ = feeder.await;
    assert!(matches!(result, Err(StoreError::Rejected(_))), "{result:?}");
    assert_eq!(
        before,
        store.accounts(Scope::Operator).await.expect("accounts")
    );
    assert_eq!(store.runs(10).await.expect("runs").len(), 1);
    let failed = store
        .record_failed_run(FailedRun {
            business_date: day(21),
            files: vec![],
            started_at: Utc::now(),
            error: "disk read error".into(),
        })
        .await
        .expect("record");
    assert_eq!(failed.status, RunStatus::Failed);
    assert_eq!(failed.error.as_deref(), Some("disk read error"));
}

pub async fn runs_record_findings<S: Store>(store: Arc<S>) {
    let (h, p) = standard_day(day(20), 0);
    let rejects = vec![RejectRecord {
        file: SnapshotFile::Holdings,
        line: 7,
        column: Some("보유수량".into()),
        value: Some("-3".into()),
        reason: "quantity is negative".into(),
        account_number: Some("5736692368320".into()),
        isin: Some("KR7153130000".into()),
    }];
    let warnings = vec![WarningRecord {
        file: SnapshotFile::Instruments,
        line: Some(3),
        column: Some("ISIN".into()),
        value: Some("KR7195980002".into()),
        message: "check digit does not verify".into(),
    }];
    let run = load(&*store, day(20), h, p, rejects.clone(), warnings.clone())
        .await
        .expect("load");
    assert_eq!(run.counts.rows_rejected, 1);
    assert_eq!(run.counts.warnings, 1);
    assert_eq!(run.files.len(), 1);
    let findings = store.run_findings(run.id).await.expect("findings");
    assert_eq!(findings.rejects, rejects);
    assert_eq!(findings.warnings, warnings);
    assert_eq!(store.run(run.id).await.expect("run"), run);
    assert!(matches!(
        store.run(run.id + 100).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.run_findings(run.id + 100).await,
        Err(StoreError::NotFound)
    ));
}

pub async fn reads_are_scoped_to_the_customer<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let ryu = customer_scope(&*store, "류영길").await;
    let kwon = customer_scope(&*store, "권상호").await;
    let mine = store.accounts(ryu).await.expect("accounts");
    assert_eq!(mine.len(), 1);
    let theirs = store.accounts(kwon).await.expect("accounts");
    assert_eq!(theirs.len(), 1);
    let their_id = theirs[0].id;
    assert!(matches!(
        store.account(ryu, their_id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.holdings(ryu, their_id, true).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.history(ryu, Some(their_id), None, None).await,
        Err(StoreError::NotFound)
    ));
    assert!(store.account(kwon, their_id).await.is_ok());
    let h = store.history(ryu, None, None, None).await.expect("history");
    assert_eq!(h[0].total_assets, mine[0].total_assets);
}

async fn new_deposit<S: Store>(
    store: &S,
    user: &User,
    scope: Scope,
    number: &str,
    name: &str,
    amount: i64,
    id: &str,
) -> Result<Deposit, DepositRefusal> {
    store
        .create_deposit(NewDeposit {
            identifier: id.into(),
            user_id: user.id,
            scope,
            account_number: number.into(),
            user_name: name.into(),
            amount: Won::new(amount),
            now: Utc::now(),
            expires_at: Utc::now() + Duration::minutes(10),
        })
        .await
        .expect("store")
}

fn sig(number: &str, name: &str, amount: i64) -> Signature {
    let n = AccountNumber::parse(number).expect("number");
    Signature::parse(&deposit_signature(&n, name, Won::new(amount))).expect("sig")
}

pub async fn deposit_applies_once_with_the_right_signature<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let user = login_for(&*store, "ryu@example.com", "류영길").await;
    let scope = customer_scope(&*store, "류영길").await;
    let number = "5736692368320";
    let before = store.accounts(scope).await.expect("a")[0].clone();
    let d = new_deposit(&*store, &user, scope, number, "류영길", 1000, "dep-1")
        .await
        .expect("ok");
    assert_eq!(d.status, DepositStatus::Pending);
    let bad = store
        .confirm_deposit(
            user.id,
            scope,
            "dep-1",
            Some(&sig(number, "류영길", 1001)),
            Utc::now(),
        )
        .await
        .expect("store");
    assert_eq!(bad, ConfirmOutcome::BadSignature);
    assert_eq!(
        store.accounts(scope).await.expect("a")[0],
        before,
        "nothing changed"
    );
    let ok = store
        .confirm_deposit(
            user.id,
            scope,
            "dep-1",
            Some(&sig(number, "류영길", 1000)),
            Utc::now(),
        )
        .await
        .expect("store");
    assert!(matches!(ok, ConfirmOutcome::Confirmed(_)), "{ok:?}");
    let after = store.accounts(scope).await.expect("a")[0].clone();
    assert_eq!(after.total_assets.get(), before.total_assets.get() + 1000);
    assert_eq!(
        after.principal.map(|p| p.get()).unwrap_or(-1),
        before.principal.map(|p| p.get()).unwrap_or(-1) + 1000
    );
    let cash = store.holdings(scope, after.id, false).await.expect("h");
    let cash = cash.iter().find(|l| l.isin == "CASH").expect("cash line");
    assert_eq!(cash.valuation, Won::new(24_269 + 1000));
    let again = store
        .confirm_deposit(
            user.id,
            scope,
            "dep-1",
            Some(&sig(number, "류영길", 1000)),
            Utc::now(),
        )
        .await
        .expect("store");
    assert_eq!(again, ConfirmOutcome::AlreadyConfirmed);
    let list = store.deposits(scope, 10).await.expect("list");
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].status, DepositStatus::Confirmed);
    // A name that is not the holder's, or someone else's account, is refused.
    let wrong_name = new_deposit(&*store, &user, scope, number, "권상호", 5, "dep-2").await;
    assert_eq!(wrong_name, Err(DepositRefusal::NameMismatch));
    let foreign = new_deposit(&*store, &user, scope, "1573538006848", "권상호", 5, "dep-3").await;
    assert_eq!(foreign, Err(DepositRefusal::AccountNotFound));
    let unknown = new_deposit(&*store, &user, scope, "999999999", "류영길", 5, "dep-4").await;
    assert_eq!(unknown, Err(DepositRefusal::AccountNotFound));
}

pub async fn concurrent_confirmations_apply_once<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let user = login_for(&*store, "ryu@example.com", "류영길").await;
    let scope = customer_scope(&*store, "류영길").await;
    let number = "5736692368320";
    let before = store.accounts(scope).await.expect("a")[0].total_assets;
    new_deposit(&*store, &user, scope, number, "류영길", 7000, "dep-c")
        .await
        .expect("ok");
    let signature = sig(number, "류영길", 7000);
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let (store, signature) = (store.clone(), signature.clone());
        let uid = user.id;
        tasks.push(tokio::spawn(async move {
            store
                .confirm_deposit(uid, scope, "dep-c", Some(&signature), Utc::now())
                .await
        }));
    }
    let mut confirmed = 0;
    for t in tasks {
        match t.await.expect("task") {
            Ok(ConfirmOutcome::Confirmed(_)) => confirmed += 1,
            Ok(ConfirmOutcome::AlreadyConfirmed) => {}
            // A backend may shed load under contention; that must not apply anything.
            Err(StoreError::Busy(_)) => {}
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(confirmed, 1);
    let after = store.accounts(scope).await.expect("a")[0].total_assets;
    assert_eq!(after.get() - before.get(), 7000);
}

pub async fn expired_and_foreign_deposits_are_refused<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let ryu = login_for(&*store, "ryu@example.com", "류영길").await;
    let kwon = login_for(&*store, "kwon@example.com", "권상호").await;
    let ryu_scope = customer_scope(&*store, "류영길").await;
    let kwon_scope = customer_scope(&*store, "권상호").await;
    let number = "5736692368320";
    store
        .create_deposit(NewDeposit {
            identifier: "dep-old".into(),
            user_id: ryu.id,
            scope: ryu_scope,
            account_number: number.into(),
            user_name: "류영길".into(),
            amount: Won::new(10),
            now: Utc::now() - Duration::minutes(11),
            expires_at: Utc::now() - Duration::minutes(1),
        })
        .await
        .expect("store")
        .expect("created");
    let expired = store
        .confirm_deposit(
            ryu.id,
            ryu_scope,
            "dep-old",
            Some(&sig(number, "류영길", 10)),
            Utc::now(),
        )
        .await
        .expect("store");
    assert_eq!(expired, ConfirmOutcome::Expired);
    new_deposit(&*store, &ryu, ryu_scope, number, "류영길", 10, "dep-mine")
        .await
        .expect("ok");
    let foreign = store
        .confirm_deposit(
            kwon.id,
            kwon_scope,
            "dep-mine",
            Some(&sig(number, "류영길", 10)),
            Utc::now(),
        )
        .await
        .expect("store");
    assert_eq!(foreign, ConfirmOutcome::NotFound);
    let unknown = store
        .confirm_deposit(
            ryu.id,
            ryu_scope,
            "nope",
            Some(&sig(number, "류영길", 10)),
            Utc::now(),
        )
        .await
        .expect("store");
    assert_eq!(unknown, ConfirmOutcome::NotFound);
    assert!(
        store
            .deposits(kwon_scope, 10)
            .await
            .expect("list")
            .is_empty()
    );
}

/// Not in [`conformance_tests!`]: for backends whose snapshot load lets other writers work while
/// it reads the day (PostgreSQL; SQLite has one writer). A deposit confirmed while a load is
/// still receiving rows is applied at once, not held until the load ends, and the day the load
/// then commits still contains it.
pub async fn a_deposit_confirms_while_a_load_is_still_reading<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let user = login_for(&*store, "ryu@example.com", "류영길").await;
    let scope = customer_scope(&*store, "류영길").await;
    let number = "5736692368320";
    new_deposit(&*store, &user, scope, number, "류영길", 1000, "dep-live")
        .await
        .expect("created");

    let (holdings, principals) = standard_day(day(21), 5);
    let provider_total: i64 = holdings
        .iter()
        .filter(|h| h.account_number.as_str() == number)
        .map(|h| h.price.get() * h.quantity)
        .sum();
    // Capacity 1: when the third send returns, the load has taken two messages and is inside
    // its transaction, waiting for more.
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let loading = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .load_snapshot(SnapshotLoad {
                    business_date: day(21),
                    files: vec![],
                    instruments: instruments(),
                    holdings: rx,
                    started_at: Utc::now(),
                    hold_below_percent: None,
                    source_dir: None,
                    release_of: None,
                })
                .await
        })
    };
    for h in &holdings[..3] {
        tx.send(LoadMessage::Holdings(vec![h.clone()]))
            .await
            .expect("the load is reading");
    }
    let confirmed = store
        .confirm_deposit(
            user.id,
            scope,
            "dep-live",
            Some(&sig(number, "류영길", 1000)),
            Utc::now(),
        )
        .await
        .expect("a deposit is not held up by a load that is still reading");
    assert!(
        matches!(confirmed, ConfirmOutcome::Confirmed(_)),
        "{confirmed:?}"
    );

    for h in &holdings[3..] {
        tx.send(LoadMessage::Holdings(vec![h.clone()]))
            .await
            .expect("send");
    }
    tx.send(LoadMessage::Finished {
        principals,
        counts: RunCounts::default(),
        rejects: vec![],
        warnings: vec![],
    })
    .await
    .expect("send");
    let run = loading.await.expect("join").expect("load");
    assert_eq!(run.business_date, day(21));
    let account = store
        .accounts(scope)
        .await
        .expect("accounts")
        .into_iter()
        .find(|a| a.account_number.as_str() == number)
        .expect("account");
    assert_eq!(
        account.principal.map(|p| p.get()).unwrap_or(-1),
        200_000 + 1000,
        "the deposit is in the new day"
    );
    assert_eq!(account.total_assets.get(), provider_total + 1000);
}

pub async fn deposits_survive_a_reload_of_the_same_day<S: Store>(store: Arc<S>) {
    let today = ginkgo_domain::time::today_kst();
    load_standard(&*store, today, 0).await;
    let user = login_for(&*store, "ryu@example.com", "류영길").await;
    let scope = customer_scope(&*store, "류영길").await;
    let number = "5736692368320";
    let before = store.accounts(scope).await.expect("a")[0].clone();
    new_deposit(&*store, &user, scope, number, "류영길", 3000, "dep-r")
        .await
        .expect("ok");
    let ok = store
        .confirm_deposit(
            user.id,
            scope,
            "dep-r",
            Some(&sig(number, "류영길", 3000)),
            Utc::now(),
        )
        .await
        .expect("store");
    assert!(matches!(ok, ConfirmOutcome::Confirmed(_)));
    // Reloading today's provider file (which predates the deposit) keeps the deposit applied.
    load_standard(&*store, today, 0).await;
    let after = store.accounts(scope).await.expect("a")[0].clone();
    assert_eq!(after.total_assets.get(), before.total_assets.get() + 3000);
    assert_eq!(
        after.principal.map(|p| p.get()).unwrap_or(-1),
        before.principal.map(|p| p.get()).unwrap_or(-1) + 3000
    );
}

// ---- deliveries that go wrong (last known good, held runs, same-date replacement) ----------

fn holding_reject(number: &str, isin: &str, line: u64) -> RejectRecord {
    RejectRecord {
        file: SnapshotFile::Holdings,
        line,
        column: Some("현재가".into()),
        value: Some("12a45".into()),
        reason: "price is not a number".into(),
        account_number: Some(number.into()),
        isin: Some(isin.into()),
    }
}

fn principal_reject(number: Option<&str>, line: u64) -> RejectRecord {
    RejectRecord {
        file: SnapshotFile::Principals,
        line,
        column: Some("투자원금".into()),
        value: Some("-1".into()),
        reason: "principal is negative".into(),
        account_number: number.map(Into::into),
        isin: None,
    }
}

/// [`load`] with the plausibility check and the release of a held run.
pub async fn load_checked<S: Store>(
    store: &S,
    date: NaiveDate,
    holdings: Vec<HoldingRecord>,
    principals: Vec<PrincipalRecord>,
    hold_below_percent: Option<u32>,
    release_of: Option<RunId>,
) -> StoreResult<RunRecord> {
    let (tx, rx) = tokio::sync::mpsc::channel(4);
    let counts = RunCounts {
        rows_read: holdings.len() as u64,
        rows_loaded: holdings.len() as u64,
        instruments_loaded: instruments().len() as u64,
        holdings_loaded: holdings.len() as u64,
        principals_loaded: principals.len() as u64,
        ..RunCounts::default()
    };
    let feeder = tokio::spawn(async move {
        for chunk in holdings.chunks(2) {
            if tx
                .send(LoadMessage::Holdings(chunk.to_vec()))
                .await
                .is_err()
            {
                return;
            }
        }
        let _ = tx
            .send(LoadMessage::Finished {
                principals,
                counts,
                rejects: vec![],
                warnings: vec![],
            })
            .await;
    });
    let result = store
        .load_snapshot(SnapshotLoad {
            business_date: date,
            files: vec![],
            instruments: instruments(),
            holdings: rx,
            started_at: Utc::now(),
            hold_below_percent,
            source_dir: Some("/inbox/day".into()),
            release_of,
        })
        .await;
    let _ = feeder.await;
    result
}

async fn account_by_number<S: Store>(store: &S, number: &str) -> AccountSummary {
    store
        .accounts(Scope::Operator)
        .await
        .expect("accounts")
        .into_iter()
        .find(|a| a.account_number == number)
        .expect("the account is current")
}

const RYU: &str = "5736692368320";
const KWON: &str = "1573538006848";
const SP500: &str = "KR7360750004";

pub async fn a_rejected_holding_keeps_its_last_known_good_value<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    // Day 21: prices up 500; 류영길's S&P500 row is rejected; 권상호's is simply not delivered.
    let (mut h, p) = standard_day(day(21), 500);
    h.retain(|r| r.isin.as_str() != SP500);
    let run = load(
        &*store,
        day(21),
        h.clone(),
        p.clone(),
        vec![holding_reject(RYU, SP500, 2)],
        vec![],
    )
    .await
    .expect("load");
    assert_eq!(run.status, RunStatus::Committed);
    let ryu = account_by_number(&*store, RYU).await;
    assert_eq!(
        ryu.total_assets,
        Won::new(8585 * 21 + 24_269),
        "yesterday's line stands in for the rejected one"
    );
    assert_eq!(
        ryu.partial,
        Some(Partial {
            rows: 1,
            since: Some(day(20))
        })
    );
    assert_eq!(ryu.principal, Some(Won::new(200_000)));
    assert_eq!(ryu.principal_since, None, "the principal is today's");
    let lines = store
        .holdings(Scope::Operator, ryu.id, true)
        .await
        .expect("holdings");
    let sp = lines.iter().find(|l| l.isin == SP500).expect("carried");
    assert_eq!((sp.price, sp.quantity), (Won::new(8585), 21));
    assert_eq!(sp.stale_since, Some(day(20)));
    assert!(
        lines
            .iter()
            .filter(|l| l.isin != SP500)
            .all(|l| l.stale_since.is_none())
    );
    let sum: i64 = lines.iter().map(|l| l.valuation.get()).sum();
    assert_eq!(
        sum,
        ryu.total_assets.get(),
        "the total is the sum of its lines"
    );
    // Absent, not rejected: gone, and the account is complete.
    let kwon = account_by_number(&*store, KWON).await;
    assert_eq!(kwon.total_assets, Won::new(21_297));
    assert_eq!(kwon.partial, None);
    assert!(
        store
            .holdings(Scope::Operator, kwon.id, true)
            .await
            .expect("h")
            .iter()
            .all(|l| l.isin != SP500)
    );
    let history = store
        .history(Scope::Operator, Some(ryu.id), None, None)
        .await
        .expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].partial, None);
    assert_eq!(history[1].total_assets, ryu.total_assets, "no cliff");
    assert_eq!(history[1].partial, ryu.partial);

    // Rejected again the next day: still the value of day 20, marked as such.
    load(
        &*store,
        day(22),
        h,
        p,
        vec![holding_reject(RYU, SP500, 2)],
        vec![],
    )
    .await
    .expect("load");
    let ryu = account_by_number(&*store, RYU).await;
    assert_eq!(ryu.partial.and_then(|p| p.since), Some(day(20)));
    // Delivered again: today's value, complete.
    load_standard(&*store, day(23), 900).await;
    let ryu = account_by_number(&*store, RYU).await;
    assert_eq!(ryu.partial, None);
    assert_eq!(ryu.total_assets, Won::new((8585 + 900) * 21 + 24_269));
    assert!(
        store
            .holdings(Scope::Operator, ryu.id, true)
            .await
            .expect("h")
            .iter()
            .all(|l| l.stale_since.is_none())
    );
}

pub async fn a_rejected_holding_without_an_earlier_value_leaves_what_loaded<S: Store>(
    store: Arc<S>,
) {
    let (mut h, p) = standard_day(day(20), 0);
    h.retain(|r| !(r.account_number.as_str() == RYU && r.isin.as_str() == SP500));
    load(
        &*store,
        day(20),
        h,
        p,
        vec![holding_reject(RYU, SP500, 2)],
        vec![],
    )
    .await
    .expect("load");
    let ryu = account_by_number(&*store, RYU).await;
    assert_eq!(ryu.total_assets, Won::new(24_269), "the sum of what loaded");
    assert_eq!(
        ryu.partial,
        Some(Partial {
            rows: 1,
            since: None
        })
    );
}

pub async fn an_account_whose_every_row_is_rejected_keeps_its_lines<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let (mut h, mut p) = standard_day(day(21), 500);
    h.retain(|r| r.account_number.as_str() != KWON);
    for r in &mut p {
        if r.account_number.as_str() == KWON {
            r.principal = Won::new(5_000);
        }
    }
    load(
        &*store,
        day(21),
        h,
        p,
        vec![
            holding_reject(KWON, SP500, 5),
            holding_reject(KWON, "CASH", 6),
        ],
        vec![],
    )
    .await
    .expect("load");
    let kwon = account_by_number(&*store, KWON).await;
    assert_eq!(
        kwon.total_assets,
        Won::new(8600 * 10 + 21_297),
        "day 20's lines"
    );
    assert_eq!(
        kwon.principal,
        Some(Won::new(5_000)),
        "today's principal row"
    );
    assert_eq!(kwon.principal_since, None);
    assert_eq!(
        kwon.partial,
        Some(Partial {
            rows: 2,
            since: Some(day(20))
        })
    );
    assert_eq!(kwon.as_of, Some(day(21)));
}

pub async fn a_rejected_principal_keeps_its_last_known_good_or_is_unknown<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let (mut h, mut p) = standard_day(day(21), 0);
    p.retain(|r| r.account_number.as_str() != RYU);
    // A new account whose principal row is rejected on its first day: unknown, never 0.
    h.push(holding("권상호", "2000000000001", "CASH", 5_000, 1));
    load(
        &*store,
        day(21),
        h.clone(),
        p.clone(),
        vec![
            principal_reject(Some(RYU), 2),
            principal_reject(Some("2000000000001"), 4),
        ],
        vec![],
    )
    .await
    .expect("load");
    let ryu = account_by_number(&*store, RYU).await;
    assert_eq!(
        ryu.principal,
        Some(Won::new(200_000)),
        "yesterday's principal"
    );
    assert_eq!(ryu.principal_since, Some(day(20)));
    assert_eq!(
        ryu.partial,
        Some(Partial {
            rows: 1,
            since: Some(day(20))
        })
    );
    let new = account_by_number(&*store, "2000000000001").await;
    assert_eq!(new.principal, None, "no earlier value: unknown");
    assert_eq!(new.principal_since, None);
    assert_eq!(new.total_assets, Won::new(5_000));
    assert_eq!(new.partial.map(|p| p.rows), Some(1));
    let kwon_scope = customer_scope(&*store, "권상호").await;
    let history = store
        .history(kwon_scope, None, None, None)
        .await
        .expect("h");
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].principal, Some(Won::new(0)));
    assert_eq!(
        history[1].principal, None,
        "a sum with an unknown part is unknown"
    );
    assert!(history[1].partial.is_some());
    // Still rejected the next day: still unknown (not yesterday's 0 placeholder).
    load(
        &*store,
        day(22),
        h.clone(),
        p.clone(),
        vec![
            principal_reject(Some(RYU), 2),
            principal_reject(Some("2000000000001"), 4),
        ],
        vec![],
    )
    .await
    .expect("load");
    assert_eq!(
        account_by_number(&*store, "2000000000001").await.principal,
        None
    );
    // A principal rejected without a readable account number: no account without a row
    // counts as 0 that day.
    let (h2, mut p2) = standard_day(day(23), 0);
    p2.retain(|r| r.account_number.as_str() != RYU);
    load(
        &*store,
        day(23),
        h2,
        p2,
        vec![principal_reject(None, 3)],
        vec![],
    )
    .await
    .expect("load");
    let ryu = account_by_number(&*store, RYU).await;
    assert_eq!(ryu.principal, Some(Won::new(200_000)));
    assert_eq!(ryu.principal_since, Some(day(20)));
    assert_eq!(ryu.partial.map(|p| p.rows), Some(1));
}

pub async fn a_carried_principal_does_not_count_a_later_deposit_twice<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let user = login_for(&*store, "ryu@example.com", "류영길").await;
    let scope = customer_scope(&*store, "류영길").await;
    new_deposit(&*store, &user, scope, RYU, "류영길", 1000, "dep-c")
        .await
        .expect("ok");
    let ok = store
        .confirm_deposit(
            user.id,
            scope,
            "dep-c",
            Some(&sig(RYU, "류영길", 1000)),
            Utc::now(),
        )
        .await
        .expect("store");
    assert!(matches!(ok, ConfirmOutcome::Confirmed(_)));
    // Day 21 (before the deposit's date): principal row and cash row rejected.
    let (mut h, mut p) = standard_day(day(21), 0);
    p.retain(|r| r.account_number.as_str() != RYU);
    h.retain(|r| !(r.account_number.as_str() == RYU && r.isin.is_cash()));
    load(
        &*store,
        day(21),
        h,
        p,
        vec![
            principal_reject(Some(RYU), 2),
            holding_reject(RYU, "CASH", 4),
        ],
        vec![],
    )
    .await
    .expect("load");
    let ryu = account_by_number(&*store, RYU).await;
    assert_eq!(ryu.principal, Some(Won::new(200_000 + 1000)));
    assert_eq!(ryu.total_assets, Won::new(8585 * 21 + 24_269 + 1000));
    let cash = store.holdings(scope, ryu.id, false).await.expect("h");
    let cash = cash.iter().find(|l| l.isin == "CASH").expect("cash");
    assert_eq!(cash.valuation, Won::new(24_269 + 1000));
}

pub async fn implausible_deliveries_are_held_until_released<S: Store>(store: Arc<S>) {
    // The first day ever is never held for being new, even empty.
    let first = load_checked(&*store, day(19), vec![], vec![], Some(50), None)
        .await
        .expect("load");
    assert_eq!(first.status, RunStatus::Committed);
    let (h, p) = standard_day(day(20), 0);
    let run = load_checked(&*store, day(20), h, p, Some(50), None)
        .await
        .expect("load");
    assert_eq!(run.status, RunStatus::Committed);
    let before = store.accounts(Scope::Operator).await.expect("accounts");
    let history_before = store
        .history(Scope::Operator, None, None, None)
        .await
        .expect("h");
    // A header-only holdings file.
    let (_, p) = standard_day(day(21), 0);
    let held = load_checked(&*store, day(21), vec![], p.clone(), Some(50), None)
        .await
        .expect("held, not failed");
    assert_eq!(held.status, RunStatus::Held);
    assert!(
        held.error
            .as_deref()
            .is_some_and(|e| e.contains("accounts")),
        "{:?}",
        held.error
    );
    let previous = held.previous.expect("the previous run's counts");
    assert_eq!((previous.accounts, previous.holdings), (2, 5));
    assert_eq!((held.accounts_loaded, held.counts.holdings_loaded), (0, 0));
    assert_eq!(held.source_dir.as_deref(), Some("/inbox/day"));
    // Shrunken: one account of two, and a principals file without rows.
    let (mut h, _) = standard_day(day(21), 0);
    h.retain(|r| r.account_number.as_str() == RYU);
    let shrunk = load_checked(&*store, day(21), h.clone(), vec![], Some(50), None)
        .await
        .expect("held");
    assert_eq!(shrunk.status, RunStatus::Held);
    assert!(
        shrunk
            .error
            .as_deref()
            .is_some_and(|e| e.contains("principals"))
    );
    // Nothing changed.
    assert_eq!(
        before,
        store.accounts(Scope::Operator).await.expect("accounts")
    );
    assert_eq!(
        history_before,
        store
            .history(Scope::Operator, None, None, None)
            .await
            .expect("h")
    );
    // A check that allows it (here: none) and the release of the held run.
    let released = load_checked(&*store, day(21), h, vec![], None, Some(shrunk.id))
        .await
        .expect("released");
    assert_eq!(released.status, RunStatus::Committed);
    assert_eq!(released.releases, Some(shrunk.id));
    assert_eq!(
        store.run(shrunk.id).await.expect("run").released_by,
        Some(released.id)
    );
    assert_eq!(
        store.accounts(Scope::Operator).await.expect("a").len(),
        1,
        "the released delivery is current"
    );
    let again = load_checked(&*store, day(21), vec![], vec![], None, Some(shrunk.id)).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    // The older held run of the same date is superseded by the later committed one.
    let stale = load_checked(&*store, day(21), vec![], vec![], None, Some(held.id)).await;
    assert!(matches!(stale, Err(StoreError::Conflict(_))), "{stale:?}");
    let not_held = load_checked(&*store, day(21), vec![], vec![], None, Some(released.id)).await;
    assert!(
        matches!(not_held, Err(StoreError::Conflict(_))),
        "{not_held:?}"
    );
}

pub async fn a_corrected_delivery_replaces_the_day<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let first = load_standard(&*store, day(21), 100).await;
    assert_eq!(first.replaced, None);
    // The corrected files for day 21: 권상호's account is not in them, 류영길's price differs.
    let (mut h, p) = standard_day(day(21), 300);
    h.retain(|r| r.account_number.as_str() == RYU);
    let run = load(&*store, day(21), h, p, vec![], vec![])
        .await
        .expect("load");
    assert_eq!(run.accounts_deactivated, 1);
    assert_eq!(
        run.replaced,
        Some(ReplaceDiff {
            replaced_run: first.id,
            accounts_added: 0,
            accounts_removed: 1,
            accounts_changed: 1,
        })
    );
    let accounts = store.accounts(Scope::Operator).await.expect("accounts");
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].account_number, RYU);
    let history = store
        .history(Scope::Operator, None, Some(day(21)), None)
        .await
        .expect("h");
    assert_eq!(history.len(), 1);
    assert_eq!(
        history[0].total_assets, accounts[0].total_assets,
        "the day holds only the corrected delivery"
    );
    // The same files again: nothing changed.
    let (mut h, p) = standard_day(day(21), 300);
    h.retain(|r| r.account_number.as_str() == RYU);
    let same = load(&*store, day(21), h, p, vec![], vec![])
        .await
        .expect("load");
    assert_eq!(
        same.replaced
            .map(|d| (d.accounts_added, d.accounts_removed, d.accounts_changed)),
        Some((0, 0, 0))
    );
    assert_eq!(same.accounts_deactivated, 0);
}

pub async fn stale_accounts_list_what_is_stale<S: Store>(store: Arc<S>) {
    load_standard(&*store, day(20), 0).await;
    let (mut h, mut p) = standard_day(day(21), 0);
    h.retain(|r| !(r.account_number.as_str() == RYU && r.isin.as_str() == SP500));
    p.retain(|r| r.account_number.as_str() != RYU);
    load(
        &*store,
        day(21),
        h,
        p,
        vec![
            holding_reject(RYU, SP500, 2),
            principal_reject(Some(RYU), 2),
        ],
        vec![],
    )
    .await
    .expect("load");
    let stale = store.stale_accounts(100).await.expect("stale");
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0].account.account_number, RYU);
    assert_eq!(stale[0].account.partial.map(|p| p.rows), Some(2));
    assert_eq!(stale[0].account.principal_since, Some(day(20)));
    assert_eq!(stale[0].holdings.len(), 1);
    assert_eq!(stale[0].holdings[0].isin, SP500);
    assert_eq!(stale[0].holdings[0].stale_since, Some(day(20)));
}

pub async fn leases_have_one_holder<S: Store>(store: Arc<S>) {
    let now = Utc::now();
    let later = now + Duration::minutes(5);
    assert!(
        store
            .try_lease("daily-batch", "a", now, later)
            .await
            .expect("lease")
    );
    assert!(
        !store
            .try_lease("daily-batch", "b", now, later)
            .await
            .expect("lease")
    );
    assert!(
        store
            .try_lease("daily-batch", "a", now, later)
            .await
            .expect("renew")
    );
    // Once expired, another replica may take it.
    let after = later + Duration::seconds(1);
    assert!(
        store
            .try_lease("daily-batch", "b", after, after + Duration::minutes(5))
            .await
            .expect("l")
    );
    store
        .release_lease("daily-batch", "b")
        .await
        .expect("release");
    assert!(
        store
            .try_lease("daily-batch", "c", now, later)
            .await
            .expect("lease")
    );
}

async fn plain_user<S: Store>(store: &S, email: &str) -> User {
    store
        .create_user(NewUser {
            email: email.into(),
            password_hash: "h".into(),
            role: Role::Customer,
            customer_id: None,
        })
        .await
        .expect("create user")
}

fn link_for(user: &User) -> NewBankLink {
    NewBankLink {
        user_id: user.id,
        user_seq_no: "1101043342".into(),
        access_token_enc: vec![1, 2, 3],
        refresh_token_enc: Some(vec![4, 5]),
        scope: "inquiry login".into(),
        access_expires_at: Utc::now() + Duration::days(90),
        now: Utc::now(),
    }
}

/// A link for `user` and the accounts `fins` under it.
async fn linked_accounts<S: Store>(store: &S, user: &User, fins: &[&str]) -> Vec<BankAccount> {
    let link = store.save_bank_link(link_for(user)).await.expect("link");
    store
        .upsert_bank_accounts(
            user.id,
            link.id,
            fins.iter().map(|f| account_info(f)).collect(),
        )
        .await
        .expect("accounts")
}

fn account_info(fin: &str) -> BankAccountInfo {
    BankAccountInfo {
        fintech_use_num: fin.into(),
        bank_name: "오픈은행".into(),
        bank_code: "097".into(),
        account_alias: "생활비통장".into(),
        account_num_masked: "1234***".into(),
    }
}

fn txn(d: u32, memo: &str, amount: i64, ordinal: u32) -> NewBankTxn {
    NewBankTxn {
        date: day(d),
        time: "120000".into(),
        direction: "out".into(),
        tran_type: "체크카드".into(),
        memo: memo.into(),
        memo_norm: memo.to_lowercase().replace(' ', ""),
        amount: Won::new(amount),
        balance_after: Won::new(100_000 - amount),
        branch_name: String::new(),
        ordinal,
        category: "etc".into(),
        category_source: "default".into(),
        rule_id: None,
        out_of_period: false,
    }
}

pub async fn oauth_states_are_single_use<S: Store>(store: Arc<S>) {
    let u = plain_user(&*store, "o@x.kr").await;
    let now = Utc::now();
    store
        .create_oauth_state("s1", u.id, now + Duration::minutes(10))
        .await
        .expect("create");
    assert_eq!(
        store.take_oauth_state("s1", now).await.expect("take"),
        Some(u.id)
    );
    assert_eq!(
        store.take_oauth_state("s1", now).await.expect("take"),
        None,
        "a replay is refused"
    );
    assert_eq!(
        store.take_oauth_state("nope", now).await.expect("take"),
        None
    );
    store
        .create_oauth_state("s2", u.id, now - Duration::seconds(1))
        .await
        .expect("create");
    assert_eq!(
        store.take_oauth_state("s2", now).await.expect("take"),
        None,
        "expired"
    );
}

pub async fn bank_links_accounts_and_scoping<S: Store>(store: Arc<S>) {
    let a = plain_user(&*store, "a@x.kr").await;
    let b = plain_user(&*store, "b@x.kr").await;
    let link = store.save_bank_link(link_for(&a)).await.expect("save");
    assert_eq!(link.status, "active");
    assert_eq!(
        store
            .bank_link(a.id)
            .await
            .expect("get")
            .map(|l| l.access_token_enc),
        Some(vec![1, 2, 3])
    );
    assert!(store.bank_link(b.id).await.expect("get").is_none());
    store
        .set_bank_link_status(a.id, "relink_needed", Utc::now())
        .await
        .expect("status");
    assert!(store.active_bank_links().await.expect("links").is_empty());
    assert_eq!(
        store
            .bank_links_with_identity("1101043342")
            .await
            .expect("links")
            .len(),
        1,
        "a link needing relinking still holds its bank identity"
    );
    assert!(
        store
            .bank_links_with_identity("9999999999")
            .await
            .expect("links")
            .is_empty()
    );
    let link = store.save_bank_link(link_for(&a)).await.expect("relink");
    assert_eq!(store.active_bank_links().await.expect("links").len(), 1);
    let accounts = store
        .upsert_bank_accounts(
            a.id,
            link.id,
            vec![
                account_info("100000000000000000000001"),
                account_info("100000000000000000000002"),
            ],
        )
        .await
        .expect("upsert");
    assert_eq!(accounts.len(), 2);
    let again = store
        .upsert_bank_accounts(
            a.id,
            link.id,
            vec![account_info("100000000000000000000001")],
        )
        .await
        .expect("upsert");
    assert_eq!(again.len(), 1, "the reported accounts");
    assert_eq!(again[0].id, accounts[0].id, "the same account keeps its id");
    // One the bank no longer reports stays visible with its history, marked disconnected.
    let shown = store.bank_accounts(a.id).await.expect("accounts");
    assert_eq!(shown.len(), 2);
    assert_eq!(
        shown
            .iter()
            .find(|x| x.id == accounts[1].id)
            .map(|x| x.sync_status.as_str()),
        Some("disconnected")
    );
    let back = store
        .upsert_bank_accounts(
            a.id,
            link.id,
            vec![account_info("100000000000000000000002")],
        )
        .await
        .expect("upsert");
    assert_ne!(back[0].sync_status, "disconnected", "reported again");
    // Refreshed tokens land on the link only while it exists.
    let mut tokens = link_for(&a);
    tokens.access_token_enc = vec![9, 9];
    assert!(
        store
            .update_bank_tokens(link.id, tokens.clone())
            .await
            .expect("update")
    );
    assert_eq!(
        store
            .bank_link(a.id)
            .await
            .expect("get")
            .map(|l| l.access_token_enc),
        Some(vec![9, 9])
    );
    let mut theirs = tokens.clone();
    theirs.user_id = b.id;
    assert!(
        !store
            .update_bank_tokens(link.id, theirs)
            .await
            .expect("update")
    );
    store
        .record_balance(
            again[0].id,
            Won::new(5000),
            Won::new(4000),
            "자유입출금",
            BalanceDates::default(),
        )
        .await
        .expect("balance");
    let acc = store
        .bank_account(a.id, again[0].id)
        .await
        .expect("account");
    assert_eq!(acc.balance, Some(Won::new(5000)));
    assert!(matches!(
        store.bank_account(b.id, again[0].id).await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store
            .bank_transactions(
                b.id,
                again[0].id,
                TxnFilter {
                    page: 1,
                    per_page: 10,
                    ..Default::default()
                }
            )
            .await,
        Err(StoreError::NotFound)
    ));
    store.delete_bank_link(a.id).await.expect("unlink");
    assert!(store.bank_link(a.id).await.expect("get").is_none());
    assert!(
        store
            .bank_accounts(a.id)
            .await
            .expect("accounts")
            .is_empty()
    );
    // A sync that outlived the link can neither re-create it nor show its accounts again.
    assert!(
        !store
            .update_bank_tokens(link.id, tokens)
            .await
            .expect("update")
    );
    assert!(store.bank_link(a.id).await.expect("get").is_none());
    assert!(matches!(
        store
            .upsert_bank_accounts(
                a.id,
                link.id,
                vec![account_info("100000000000000000000001")]
            )
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(
        store
            .bank_accounts(a.id)
            .await
            .expect("accounts")
            .is_empty()
    );
}

pub async fn syncs_are_recorded_when_they_start_and_finish<S: Store>(store: Arc<S>) {
    let a = plain_user(&*store, "a@x.kr").await;
    let b = plain_user(&*store, "b@x.kr").await;
    // Timestamps are stored to the millisecond.
    let now = chrono::DateTime::from_timestamp_millis(Utc::now().timestamp_millis()).expect("now");
    let first = store.begin_sync(a.id, now).await.expect("begin");
    assert_eq!(first.status, "running");
    assert_eq!(first.finished_at, None);
    assert_eq!(store.sync_record(a.id, first.id).await.expect("get"), first);
    assert!(matches!(
        store.sync_record(b.id, first.id).await,
        Err(StoreError::NotFound)
    ));
    // The next sync of the login (under the lease) closes a running one left by a dead process.
    let second = store.begin_sync(a.id, now).await.expect("begin");
    let closed = store.sync_record(a.id, first.id).await.expect("get");
    assert_eq!(closed.status, "interrupted");
    assert!(closed.finished_at.is_some());
    let done = SyncRecord {
        finished_at: Some(now),
        status: "ok".into(),
        accounts: 1,
        added: 4,
        ..second.clone()
    };
    assert!(matches!(
        store.finish_sync(b.id, done.clone()).await,
        Err(StoreError::NotFound)
    ));
    store.finish_sync(a.id, done.clone()).await.expect("finish");
    assert_eq!(
        store.syncs(a.id, 10).await.expect("syncs"),
        vec![done, closed],
        "newest first"
    );
    let theirs = store.begin_sync(b.id, now).await.expect("begin");
    assert_eq!(
        store.sync_record(a.id, second.id).await.expect("a").status,
        "ok"
    );
    assert_eq!(store.syncs(b.id, 10).await.expect("syncs"), vec![theirs]);
}

pub async fn bank_transactions_are_stored_once<S: Store>(store: Arc<S>) {
    let a = plain_user(&*store, "a@x.kr").await;
    let acc = linked_accounts(&*store, &a, &["100000000000000000000001"]).await[0].clone();
    let rows = vec![
        txn(1, "스타벅스 강남점", 4500, 0),
        txn(1, "스타벅스 강남점", 4500, 1),
        txn(2, "GS25 역삼점", 1200, 0),
    ];
    assert_eq!(
        store
            .insert_bank_transactions(acc.id, rows.clone())
            .await
            .expect("insert"),
        3
    );
    assert_eq!(
        store
            .insert_bank_transactions(acc.id, rows)
            .await
            .expect("insert"),
        0,
        "seen twice, stored once"
    );
    let more = vec![
        txn(2, "GS25 역삼점", 1200, 0),
        txn(3, "배달의민족", 23_000, 0),
    ];
    assert_eq!(
        store
            .insert_bank_transactions(acc.id, more)
            .await
            .expect("insert"),
        1,
        "only the new row"
    );
    let page = store
        .bank_transactions(
            a.id,
            acc.id,
            TxnFilter {
                page: 1,
                per_page: 2,
                ..Default::default()
            },
        )
        .await
        .expect("page");
    assert_eq!(page.total, 4);
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].date, day(3), "newest first");
    let ranged = store
        .bank_transactions(
            a.id,
            acc.id,
            TxnFilter {
                from: Some(day(2)),
                to: Some(day(2)),
                page: 1,
                per_page: 50,
                ..Default::default()
            },
        )
        .await
        .expect("page");
    assert_eq!(ranged.total, 1);
    let all = store
        .all_bank_transactions(a.id, None, None)
        .await
        .expect("all");
    assert_eq!(all.len(), 4);
    assert_eq!(all[0].date, day(1), "oldest first");
    // The balance before a day: the last stored row of an earlier day (none before the first).
    assert_eq!(
        store
            .bank_balance_before(acc.id, day(1))
            .await
            .expect("before"),
        None
    );
    let last_before_3 = store
        .all_bank_transactions(a.id, None, Some(day(2)))
        .await
        .expect("all")
        .last()
        .map(|t| t.balance_after);
    assert!(last_before_3.is_some());
    assert_eq!(
        store
            .bank_balance_before(acc.id, day(3))
            .await
            .expect("before"),
        last_before_3
    );
    store
        .finish_account_sync(acc.id, Some(day(3)), "ok", None, Utc::now())
        .await
        .expect("finish");
    assert_eq!(
        store
            .bank_account(a.id, acc.id)
            .await
            .expect("acc")
            .synced_through,
        Some(day(3))
    );
}

/// What an account's status shows: the last success and the last attempt apart, the warning,
/// the balance's dates (none when the bank gave none), flagged rows, sync warnings, and an
/// account unlinked alone staying hidden until a new link.
pub async fn account_sync_status_flags_and_unlinking<S: Store>(store: Arc<S>) {
    let a = plain_user(&*store, "a@x.kr").await;
    let b = plain_user(&*store, "b@x.kr").await;
    let fins = ["100000000000000000000001", "100000000000000000000002"];
    let accs = linked_accounts(&*store, &a, &fins).await;
    let acc = accs[0].clone();
    let issued = day(2);
    store
        .record_balance(
            acc.id,
            Won::new(50_000_000),
            Won::new(10_000_000),
            "알뜰자유적립",
            BalanceDates {
                account_issue_date: Some(issued),
                maturity_date: None,
                last_tran_date: None,
            },
        )
        .await
        .expect("balance");
    let ok_at = Utc::now() - Duration::hours(1);
    store
        .finish_account_sync(acc.id, Some(day(3)), "ok", Some("paging_empty_key"), ok_at)
        .await
        .expect("finish");
    let failed_at = Utc::now();
    store
        .finish_account_sync(acc.id, None, "A0002", None, failed_at)
        .await
        .expect("finish");
    let got = store.bank_account(a.id, acc.id).await.expect("account");
    assert_eq!(got.available, Some(Won::new(10_000_000)));
    assert_eq!(got.dates.account_issue_date, Some(issued));
    assert_eq!(got.dates.maturity_date, None);
    assert_eq!(got.sync_status, "A0002");
    assert_eq!(
        got.synced_through,
        Some(day(3)),
        "a failure keeps the last success"
    );
    assert_eq!(
        got.last_synced_at.map(|t| t.timestamp_millis()),
        Some(ok_at.timestamp_millis())
    );
    assert_eq!(
        got.sync_attempted_at.map(|t| t.timestamp_millis()),
        Some(failed_at.timestamp_millis())
    );
    assert_eq!(got.sync_warning, None, "the warning is the last attempt's");

    let mut flagged = txn(1, "오픈은행", 10, 0);
    flagged.out_of_period = true;
    store
        .insert_bank_transactions(acc.id, vec![flagged, txn(2, "GS25", 5, 0)])
        .await
        .expect("insert");
    let page = store
        .bank_transactions(
            a.id,
            acc.id,
            TxnFilter {
                per_page: 10,
                ..Default::default()
            },
        )
        .await
        .expect("page");
    let flags: Vec<(String, bool)> = page
        .items
        .iter()
        .map(|t| (t.memo.clone(), t.out_of_period))
        .collect();
    assert!(flags.contains(&("오픈은행".to_string(), true)), "{flags:?}");
    assert!(flags.contains(&("GS25".to_string(), false)), "{flags:?}");

    let started = store.begin_sync(a.id, Utc::now()).await.expect("begin");
    let done = SyncRecord {
        finished_at: Some(Utc::now()),
        status: "warning".into(),
        warnings: vec!["paging_empty_key".into(), "out_of_period".into()],
        ..started.clone()
    };
    store.finish_sync(a.id, done).await.expect("finish");
    assert_eq!(
        store
            .sync_record(a.id, started.id)
            .await
            .expect("record")
            .warnings,
        vec!["paging_empty_key".to_string(), "out_of_period".to_string()]
    );

    // Unlinking one account: another login cannot, the owner can; it stays hidden through a
    // sync's upsert, and comes back with a new link.
    assert!(matches!(
        store.unlink_bank_account(b.id, acc.id).await,
        Err(StoreError::NotFound)
    ));
    store
        .unlink_bank_account(a.id, acc.id)
        .await
        .expect("unlink");
    assert!(matches!(
        store.unlink_bank_account(a.id, acc.id).await,
        Err(StoreError::NotFound)
    ));
    let link = store.bank_link(a.id).await.expect("link").expect("some");
    let reported = store
        .upsert_bank_accounts(
            a.id,
            link.id,
            fins.iter().map(|f| account_info(f)).collect(),
        )
        .await
        .expect("upsert");
    assert_eq!(
        reported.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![accs[1].id],
        "an unlinked account is not synced"
    );
    let shown = store.bank_accounts(a.id).await.expect("accounts");
    assert_eq!(
        shown.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![accs[1].id]
    );
    assert_eq!(
        shown[0].sync_status, "never",
        "the other one is not disconnected"
    );
    let again = linked_accounts(&*store, &a, &fins).await;
    assert_eq!(
        again.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![acc.id, accs[1].id],
        "a new link brings it back with the same id (its history kept)"
    );
    let page = store
        .bank_transactions(
            a.id,
            acc.id,
            TxnFilter {
                per_page: 10,
                ..Default::default()
            },
        )
        .await
        .expect("history kept");
    assert_eq!(page.total, 2);
}

pub async fn category_changes_keep_manual_filings<S: Store>(store: Arc<S>) {
    let a = plain_user(&*store, "a@x.kr").await;
    let b = plain_user(&*store, "b@x.kr").await;
    let acc = linked_accounts(&*store, &a, &["100000000000000000000001"]).await[0].clone();
    store
        .insert_bank_transactions(
            acc.id,
            vec![
                txn(1, "스타벅스 강남점", 4500, 0),
                txn(2, "스타벅스 역삼점", 5000, 0),
                txn(3, "GS25", 1000, 0),
            ],
        )
        .await
        .expect("insert");
    let all = store
        .all_bank_transactions(a.id, None, None)
        .await
        .expect("all");
    let manual = store
        .set_manual_category(a.id, all[0].id, "food")
        .await
        .expect("manual");
    assert!(manual.manual);
    assert!(matches!(
        store.set_manual_category(b.id, all[1].id, "food").await,
        Err(StoreError::NotFound)
    ));
    let touched = store
        .bank_transactions_touched(a.id, vec!["스타벅스".into()], vec![])
        .await
        .expect("touched");
    assert_eq!(touched.len(), 2);
    assert!(
        store
            .bank_transactions_touched(b.id, vec!["스타벅스".into()], vec![])
            .await
            .expect("t")
            .is_empty()
    );
    let changes: Vec<CategoryChange> = touched
        .iter()
        .map(|t| CategoryChange {
            txn_id: t.id,
            category: "cafe".into(),
            source: "rule".into(),
            rule_id: Some(9),
        })
        .collect();
    assert_eq!(
        store
            .apply_category_changes(a.id, changes.clone())
            .await
            .expect("apply"),
        1,
        "the hand-filed one is kept"
    );
    assert_eq!(
        store
            .apply_category_changes(b.id, changes)
            .await
            .expect("apply"),
        0,
        "never another login's rows"
    );
    let by_rule = store
        .bank_transactions_touched(a.id, vec![], vec![9])
        .await
        .expect("t");
    assert_eq!(by_rule.len(), 1);
    assert_eq!(by_rule[0].category, "cafe");
    assert_eq!(
        store
            .bank_transaction(a.id, all[0].id)
            .await
            .expect("t")
            .category,
        "food"
    );
}

pub async fn rules_keep_an_order<S: Store>(store: Arc<S>) {
    let a = plain_user(&*store, "a@x.kr").await;
    let b = plain_user(&*store, "b@x.kr").await;
    let r1 = store
        .upsert_rule(a.id, "contains", "스타벅스", "cafe")
        .await
        .expect("r1");
    let r2 = store
        .upsert_rule(a.id, "equals", "gs25", "convenience")
        .await
        .expect("r2");
    let rules = store.rules(a.id).await.expect("rules");
    assert_eq!(
        rules.iter().map(|r| r.id).collect::<Vec<_>>(),
        vec![r2.id, r1.id],
        "newest first"
    );
    let same = store
        .upsert_rule(a.id, "contains", "스타벅스", "food")
        .await
        .expect("update");
    assert_eq!(same.id, r1.id);
    assert_eq!(same.category, "food");
    assert_eq!(
        store
            .rules(a.id)
            .await
            .expect("rules")
            .iter()
            .map(|r| (r.id, r.position))
            .collect::<Vec<_>>(),
        vec![(r1.id, 0), (r2.id, 1)],
        "a re-filed rule moves to the front"
    );
    let reordered = store
        .reorder_rules(a.id, vec![r1.id, r2.id])
        .await
        .expect("reorder");
    assert_eq!(reordered[0].id, r1.id);
    assert!(matches!(
        store.reorder_rules(a.id, vec![r1.id]).await,
        Err(StoreError::Rejected(_))
    ));
    assert!(matches!(
        store
            .update_rule(b.id, r1.id, "contains", "x", "cafe")
            .await,
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        store.delete_rule(b.id, r1.id).await,
        Err(StoreError::NotFound)
    ));
    store
        .update_rule(a.id, r1.id, "equals", "스타벅스강남점", "cafe")
        .await
        .expect("update");
    store.delete_rule(a.id, r1.id).await.expect("delete");
    let left = store.rules(a.id).await.expect("rules");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].position, 0);
    assert!(store.rules(b.id).await.expect("rules").is_empty());
}

pub async fn tran_id_sequences_never_repeat<S: Store>(store: Arc<S>) {
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.next_tran_id_sequence(day(22)).await
        }));
    }
    let mut seen = std::collections::HashSet::new();
    for t in tasks {
        let n = t.await.expect("task").expect("sequence");
        assert!(seen.insert(n), "sequence {n} handed out twice");
    }
    assert_eq!(seen.len(), 50);
    assert_eq!(
        store
            .next_tran_id_sequence(day(23))
            .await
            .expect("next day"),
        1,
        "a new day starts over"
    );
}

pub async fn insight_overrides_are_kept_and_scoped<S: Store>(store: Arc<S>) {
    let a = plain_user(&*store, "io-a@x.kr").await;
    let b = plain_user(&*store, "io-b@x.kr").await;
    assert!(
        store
            .insight_overrides(a.id)
            .await
            .expect("list")
            .is_empty()
    );
    store
        .put_insight_override(a.id, "unpair", "41", "")
        .await
        .expect("put");
    store
        .put_insight_override(a.id, "series_add", "out:수도요금", "bimonthly")
        .await
        .expect("put");
    // Putting it again replaces the data, never duplicates.
    store
        .put_insight_override(a.id, "series_add", "out:수도요금", "every_3_months")
        .await
        .expect("put");
    store
        .put_insight_override(b.id, "series_dismiss", "out:멜론", "")
        .await
        .expect("put");
    let mine = store.insight_overrides(a.id).await.expect("list");
    assert_eq!(
        mine,
        vec![
            InsightOverride {
                kind: "series_add".into(),
                subject: "out:수도요금".into(),
                data: "every_3_months".into()
            },
            InsightOverride {
                kind: "unpair".into(),
                subject: "41".into(),
                data: String::new()
            },
        ]
    );
    // Another login's override can be neither seen nor removed.
    assert!(
        !store
            .delete_insight_override(a.id, "series_dismiss", "out:멜론")
            .await
            .expect("delete")
    );
    assert_eq!(store.insight_overrides(b.id).await.expect("list").len(), 1);
    assert!(
        store
            .delete_insight_override(a.id, "unpair", "41")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_insight_override(a.id, "unpair", "41")
            .await
            .expect("delete")
    );
    assert_eq!(store.insight_overrides(a.id).await.expect("list").len(), 1);
    // A kind the schema does not know is refused, not stored.
    assert!(
        store
            .put_insight_override(a.id, "bogus", "1", "")
            .await
            .is_err()
    );
}

pub async fn memo_norms_are_rewritten_for_the_login_only<S: Store>(store: Arc<S>) {
    let a = plain_user(&*store, "mn-a@x.kr").await;
    let b = plain_user(&*store, "mn-b@x.kr").await;
    let acc = linked_accounts(&*store, &a, &["100000000000000000000007"]).await[0].clone();
    store
        .insert_bank_transactions(
            acc.id,
            vec![txn(1, "㈜한빛", 4500, 0), txn(2, "GS25", 1000, 0)],
        )
        .await
        .expect("insert");
    let all = store
        .all_bank_transactions(a.id, None, None)
        .await
        .expect("all");
    let first = all.iter().find(|t| t.memo == "㈜한빛").expect("row");
    let changes = vec![(first.id, "(주)한빛".to_string())];
    assert_eq!(
        store
            .set_memo_norms(b.id, changes.clone())
            .await
            .expect("set"),
        0,
        "never another login's rows"
    );
    assert_eq!(
        store
            .set_memo_norms(a.id, changes.clone())
            .await
            .expect("set"),
        1
    );
    // Unchanged values are not counted.
    assert_eq!(store.set_memo_norms(a.id, changes).await.expect("set"), 0);
    let touched = store
        .bank_transactions_touched(a.id, vec!["(주)".into()], vec![])
        .await
        .expect("touched");
    assert_eq!(touched.len(), 1);
    assert_eq!(touched[0].memo_norm, "(주)한빛");
    // The migration asks for the NFKC re-file once; done is done.
    assert!(store.pending_task("nfkc_refile").await.expect("task"));
    store
        .finish_pending_task("nfkc_refile")
        .await
        .expect("finish");
    assert!(!store.pending_task("nfkc_refile").await.expect("task"));
    store
        .finish_pending_task("nfkc_refile")
        .await
        .expect("finish again");
}
