use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Timelike, Weekday};
use ginkgo_domain::Won;
use ginkgo_sandbox::generator::{
    AccountKind, AccountSpec, TestAccount, WorldSpec, generate_rows, generate_world, rent_day,
    salary_day,
};

fn spec(seed: u64, days: u32) -> WorldSpec {
    WorldSpec {
        seed,
        institution_code: "M202600001".into(),
        users: 4,
        end_date: NaiveDate::from_ymd_opt(2026, 11, 20).expect("date"),
        history_days: days,
        large_account_rows: 0,
    }
}

fn assert_consistent(account: &TestAccount) {
    let mut balance = account.opening_balance;
    for row in &account.rows {
        assert!(row.amount > Won::ZERO);
        assert!(row.memo.chars().count() <= 20, "{}", row.memo);
        balance = if row.direction.is_incoming() {
            balance.checked_add(row.amount).expect("no overflow")
        } else {
            balance.checked_sub(row.amount).expect("no overflow")
        };
        assert_eq!(row.after_balance, balance);
    }
    assert_eq!(account.balance(), balance);
    assert!(
        account
            .rows
            .windows(2)
            .all(|w| (w[0].date, w[0].time) <= (w[1].date, w[1].time))
    );
}

#[test]
fn the_same_seed_gives_the_same_world_and_another_seed_another() {
    let a = generate_world(&spec(42, 60));
    assert_eq!(a, generate_world(&spec(42, 60)));
    assert_ne!(a, generate_world(&spec(43, 60)));
    let fins: BTreeSet<&str> = a
        .iter()
        .flat_map(|u| u.accounts.iter().map(|x| x.fintech_use_num.as_str()))
        .collect();
    assert_eq!(
        fins.len(),
        a.iter().map(|u| u.accounts.len()).sum::<usize>(),
        "fintech numbers are unique"
    );
    for user in &a {
        assert_eq!(user.user_seq_no.len(), 10);
        for account in &user.accounts {
            assert_eq!(account.fintech_use_num.len(), 24);
            assert!(account.fintech_use_num.starts_with("1202600001"));
        }
    }
}

#[test]
fn balances_follow_the_rows_in_every_account() {
    for user in generate_world(&spec(7, 400)) {
        for account in &user.accounts {
            assert!(!account.rows.is_empty());
            assert_consistent(account);
        }
    }
}

#[test]
fn a_main_account_shows_a_year_of_recurring_life() {
    let world = generate_world(&spec(11, 400));
    let main = &world[0].accounts[0];
    let days_of = |pred: &dyn Fn(&str) -> bool| -> Vec<NaiveDate> {
        main.rows
            .iter()
            .filter(|r| pred(&r.memo))
            .map(|r| r.date)
            .collect()
    };
    let salary = days_of(&|m| m.ends_with(" 급여"));
    assert_eq!(salary.len(), 13, "one salary per month over 400 days");
    for d in &salary {
        assert_eq!(Some(*d), salary_day(d.year(), d.month()));
        assert!(!matches!(d.weekday(), Weekday::Sat | Weekday::Sun));
    }
    let rent = days_of(&|m| m.starts_with("월세 "));
    assert!(rent.len() >= 13);
    for d in &rent {
        assert_eq!(Some(*d), rent_day(d.year(), d.month()));
    }
    for memo in ["아파트관리비", "한국전력공사", "서울도시가스"] {
        let n = days_of(&|m| m == memo).len();
        assert!((12..=14).contains(&n), "{memo}: {n}");
    }
    let phone =
        days_of(&|m| m.contains("통신요금") || m.contains("휴대폰요금") || m.contains("인터넷"));
    assert!(phone.iter().all(|d| d.day() == 20) && phone.len() >= 13);
    let weekly = days_of(&|m| m == "영어학원" || m == "교회 헌금");
    assert!(weekly.len() >= 56);
    assert!(weekly.windows(2).all(|w| (w[1] - w[0]).num_days() == 7));
    let yearly = days_of(&|m| m == "SPOTIFY");
    assert!(!yearly.is_empty() && yearly.len() <= 2, "{yearly:?}");
    let netflix = days_of(&|m| m == "NETFLIX.COM");
    assert!(netflix.len() >= 13);
    assert!(
        netflix.windows(2).all(|w| w[0].day() == w[1].day()),
        "a fixed day each month"
    );
    let cafes = days_of(&|m| {
        ["스타벅스", "투썸", "이디야", "메가", "빽다방"]
            .iter()
            .any(|k| m.contains(k))
    });
    assert!(cafes.len() > 100);
    let salary_amounts: BTreeSet<Won> = main
        .rows
        .iter()
        .filter(|r| r.memo.ends_with(" 급여"))
        .map(|r| r.amount)
        .collect();
    assert_eq!(salary_amounts.len(), 1, "a fixed salary");
    let electricity: BTreeSet<Won> = main
        .rows
        .iter()
        .filter(|r| r.memo == "한국전력공사")
        .map(|r| r.amount)
        .collect();
    assert!(electricity.len() > 3, "electricity varies");
}

#[test]
fn some_rows_are_identical_in_every_field_so_identity_needs_an_ordinal() {
    let world = generate_world(&spec(5, 400));
    let mut found = 0;
    for user in &world {
        for account in &user.accounts {
            let txs: Vec<_> = account.rows.iter().map(|r| r.to_transaction()).collect();
            for (i, a) in txs.iter().enumerate() {
                found += txs[i + 1..]
                    .iter()
                    .filter(|b| b.identity_key() == a.identity_key())
                    .count();
            }
        }
    }
    assert!(found >= 3, "found {found}");
}

#[test]
fn row_generation_is_a_pure_function_that_scales() {
    let to = NaiveDate::from_ymd_opt(2026, 11, 20).expect("date");
    let spec = AccountSpec::with_rows(9, 200_000, to, 400);
    assert_eq!(spec.kind, AccountKind::Main);
    let a = generate_rows(&spec);
    assert!(a.len() >= 200_000, "{}", a.len());
    assert_eq!(a[..1000], generate_rows(&spec)[..1000]);
    let world = generate_world(&WorldSpec {
        large_account_rows: 120_000,
        users: 1,
        ..spec_for(to)
    });
    let big = &world[1].accounts[0];
    assert_eq!(big.rows.len(), 120_000);
    // The oldest rows were dropped to fit the count: the opening balance moved with them.
    assert_consistent(big);
}

#[test]
fn daily_life_has_convenience_stores_refunds_large_purchases_and_transfers() {
    let world = generate_world(&spec(11, 400));
    let main = &world[0].accounts[0];
    let count = |pred: &dyn Fn(&str) -> bool| main.rows.iter().filter(|r| pred(&r.memo)).count();
    let stores = count(&|m| {
        ["GS25", "CU ", "세븐일레븐", "이마트24"]
            .iter()
            .any(|k| m.contains(k))
    });
    assert!(stores > 100, "convenience stores: {stores}");
    // Every 쿠팡 refund gives back an earlier 쿠팡 purchase of the same amount, days later.
    let mut refunds = 0;
    for account in world.iter().map(|u| &u.accounts[0]) {
        for (i, r) in account.rows.iter().enumerate() {
            if r.memo != "쿠팡 환불" {
                continue;
            }
            refunds += 1;
            assert!(r.direction.is_incoming());
            assert!(
                account.rows[..i].iter().any(|p| p.memo == "쿠팡"
                    && p.amount == r.amount
                    && (2..=7).contains(&(r.date - p.date).num_days())),
                "refund {r:?} without its purchase"
            );
        }
    }
    assert!(refunds >= 2, "refunds: {refunds}");
    let large: Vec<Won> = world
        .iter()
        .flat_map(|u| u.accounts[0].rows.iter())
        .filter(|r| r.memo == "하이마트" || r.memo == "삼성전자 디지털프라자")
        .map(|r| r.amount)
        .collect();
    assert!(large.len() >= 3, "large purchases: {large:?}");
    assert!(
        large
            .iter()
            .all(|a| a.get() >= 300_000 && a.get() <= 2_000_000)
    );
    let out_transfers = main
        .rows
        .iter()
        .filter(|r| {
            r.direction.is_outgoing()
                && r.tran_type == "대체"
                && (r.memo.contains("이체") || r.memo.contains("송금"))
        })
        .count();
    let in_transfers = main
        .rows
        .iter()
        .filter(|r| {
            r.direction.is_incoming()
                && r.tran_type == "대체"
                && (r.memo.contains("이체") || r.memo.contains("송금"))
        })
        .count();
    assert!(out_transfers >= 5, "transfers out: {out_transfers}");
    assert!(in_transfers >= 3, "transfers in: {in_transfers}");
    // Card spending carries real merchant memos, never a placeholder.
    assert!(
        main.rows
            .iter()
            .filter(|r| r.tran_type == "체크카드")
            .all(|r| !r.memo.trim().is_empty())
    );
}

fn spec_for(to: NaiveDate) -> WorldSpec {
    WorldSpec {
        end_date: to,
        ..spec(3, 400)
    }
}

#[test]
fn own_transfers_cancellations_and_long_cycles_are_generated() {
    let world = generate_world(&spec(7, 400));
    // User 0 has a main and a side account: what the main sends, the side receives.
    let user = &world[0];
    assert!(user.accounts.len() >= 2);
    let (main, side) = (&user.accounts[0], &user.accounts[1]);
    let sent: Vec<_> = main
        .rows
        .iter()
        .filter(|r| {
            r.memo == "토스 이체" && !r.direction.is_incoming() && r.amount == Won::new(250_000)
        })
        .collect();
    assert!(sent.len() >= 12, "{}", sent.len());
    for s in &sent {
        assert_eq!(s.date.day(), 8);
        assert_eq!((s.time.hour(), s.time.minute()), (23, 50));
        let next = s.date.succ_opt().expect("date");
        assert!(
            side.rows.iter().any(|r| r.date == next
                && r.direction.is_incoming()
                && r.amount == s.amount
                && (r.time.hour(), r.time.minute()) == (0, 10)),
            "{next}"
        );
    }
    // Last-Friday transfers arrive on Monday.
    let fridays: Vec<_> = main
        .rows
        .iter()
        .filter(|r| r.memo == "계좌이체" && r.amount == Won::new(400_000))
        .collect();
    assert!(!fridays.is_empty());
    for f in &fridays {
        assert_eq!(f.date.weekday(), Weekday::Fri);
        let monday = f.date + chrono::Duration::days(3);
        assert!(
            side.rows
                .iter()
                .any(|r| r.date == monday && r.amount == f.amount && r.direction.is_incoming())
        );
    }
    // A single-account user sends none.
    if let Some(single) = world.iter().find(|u| u.accounts.len() == 1) {
        assert!(single.accounts[0].rows.iter().all(|r| r.memo != "토스 이체"
            || r.amount != Won::new(250_000)
            || r.date.day() != 8
            || r.time.hour() != 23));
    }
    let all: Vec<_> = world
        .iter()
        .flat_map(|u| u.accounts[0].rows.iter())
        .collect();
    // Full and partial cancellations, bimonthly water and semi-annual insurance on business days.
    assert!(all.iter().any(|r| r.memo == "쿠팡 환불"));
    assert!(all.iter().any(|r| r.memo == "쿠팡 부분취소"));
    assert!(all.iter().any(|r| r.tran_type == "체크카드취소"));
    let water: Vec<_> = all.iter().filter(|r| r.memo == "수도요금").collect();
    let insurance: Vec<_> = all
        .iter()
        .filter(|r| r.memo == "KB손해보험 자동차보험")
        .collect();
    assert!(!water.is_empty() && !insurance.is_empty());
    for r in water.iter().chain(&insurance) {
        assert!(
            !matches!(r.date.weekday(), Weekday::Sat | Weekday::Sun),
            "{}",
            r.date
        );
        assert!(r.date.month() % 2 == 0 || matches!(r.date.month(), 3 | 9));
    }
    // 2026-08-15 is a Saturday: that water bill is paid on Monday the 17th.
    assert!(
        water
            .iter()
            .any(|r| r.date == NaiveDate::from_ymd_opt(2026, 8, 17).expect("date"))
    );
}
