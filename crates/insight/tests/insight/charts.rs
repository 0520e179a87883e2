use chrono::Duration;
use ginkgo_domain::Won;
use ginkgo_insight::charts::{
    ChartError, DateRange, monthly_totals, self_transfer_ids, spending_by_category, upcoming,
    week_start, weekly_series,
};
use ginkgo_insight::{Categorizer, Category, RecurringConfig, Txn, detect_recurring};
use proptest::prelude::*;

use super::support::{date, inc, out};

fn categorized(mut txns: Vec<Txn>) -> Vec<Txn> {
    Categorizer::builtin().expect("builds").apply(&mut txns);
    txns
}

#[test]
fn ranges_must_be_ordered() {
    assert_eq!(
        DateRange::new(date(2026, 2, 1), date(2026, 1, 1)),
        Err(ChartError::InvalidRange {
            from: date(2026, 2, 1),
            to: date(2026, 1, 1)
        })
    );
    assert!(DateRange::new(date(2026, 1, 1), date(2026, 1, 1)).is_ok());
}

#[test]
fn spending_by_category_sums_outgoing_money_largest_first() {
    let txns = categorized(vec![
        out(1, date(2026, 3, 1), 5_000, "스타벅스"),
        out(2, date(2026, 3, 2), 4_000, "이디야커피"),
        out(3, date(2026, 3, 3), 30_000, "이마트"),
        out(4, date(2026, 3, 31), 2_000, "GS25"),
        inc(5, date(2026, 3, 5), 3_000_000, "급여"),
        out(6, date(2026, 4, 1), 99_000, "이마트"), // outside the range
        out(7, date(2026, 2, 28), 99_000, "스타벅스"), // outside the range
    ]);
    let range = DateRange::new(date(2026, 3, 1), date(2026, 3, 31)).expect("range");
    let got = spending_by_category(&txns, range).expect("sums");
    let flat: Vec<(Category, i64, usize)> = got
        .iter()
        .map(|c| (c.category, c.total.get(), c.count))
        .collect();
    assert_eq!(
        flat,
        vec![
            (Category::Food, 30_000, 1),
            (Category::Cafe, 9_000, 2),
            (Category::Convenience, 2_000, 1)
        ]
    );
}

#[test]
fn transfers_between_own_accounts_are_not_spending_or_income() {
    let d = date(2026, 3, 10);
    let mut a = out(1, d, 500_000, "토스 이체");
    a.account_id = 1;
    let mut b = inc(2, d, 500_000, "토스 이체");
    b.account_id = 2;
    // Same amount and date but the same account: not a self-transfer.
    let mut c = out(3, d, 70_000, "이체 홍길동");
    c.account_id = 1;
    let mut e = inc(4, d, 70_000, "이체 홍길동");
    e.account_id = 1;
    // A salary with the same amount as an outgoing transfer is never paired.
    let mut f = out(5, d, 3_000_000, "이체 김철수");
    f.account_id = 1;
    let mut g = inc(6, d, 3_000_000, "(주)한빛소프트 급여");
    g.account_id = 2;
    let txns = categorized(vec![a, b, c, e, f, g]);
    let own = self_transfer_ids(&txns);
    let mut ids: Vec<i64> = own.into_iter().collect();
    ids.sort();
    assert_eq!(ids, vec![1, 2]);
    let range = DateRange::new(d, d).expect("range");
    let by_cat = spending_by_category(&txns, range).expect("sums");
    let transfer = by_cat
        .iter()
        .find(|c| c.category == Category::Transfer)
        .map(|c| c.total);
    assert_eq!(transfer, Some(Won::new(3_070_000)));
    let months = monthly_totals(&txns, range).expect("sums");
    assert_eq!(months[0].income, Won::new(3_070_000));
    assert_eq!(months[0].spending, Won::new(3_070_000));
    assert_eq!(months[0].net, Won::ZERO);
}

#[test]
fn weekly_series_uses_iso_weeks_and_end_of_week_balances() {
    // 2026-03-02 is a Monday.
    let mk = |id, day, income: bool, amount, balance, account| {
        let mut t = if income {
            inc(id, date(2026, 3, day), amount, "급여")
        } else {
            out(id, date(2026, 3, day), amount, "이마트")
        };
        t.balance_after = Won::new(balance);
        t.account_id = account;
        t
    };
    let txns = vec![
        mk(1, 1, true, 100_000, 1_000_000, 1), // Sunday of the week before
        mk(2, 3, false, 20_000, 980_000, 1),
        mk(3, 5, false, 30_000, 950_000, 1),
        mk(4, 4, true, 500_000, 500_000, 2),
        mk(5, 12, false, 50_000, 900_000, 1),
    ];
    let range = DateRange::new(date(2026, 3, 2), date(2026, 3, 18)).expect("range");
    let weeks = weekly_series(&txns, range).expect("series");
    let flat: Vec<_> = weeks
        .iter()
        .map(|w| {
            (
                w.week_start,
                w.balance.map(Won::get),
                w.spending.get(),
                w.income.get(),
            )
        })
        .collect();
    assert_eq!(
        flat,
        vec![
            (date(2026, 3, 2), Some(1_450_000), 50_000, 500_000),
            (date(2026, 3, 9), Some(1_400_000), 50_000, 0),
            (date(2026, 3, 16), Some(1_400_000), 0, 0),
        ]
    );
    assert_eq!(weeks[0].week_end, date(2026, 3, 8));
    // Before any transaction there is no balance.
    let early = DateRange::new(date(2026, 2, 16), date(2026, 2, 20)).expect("range");
    assert_eq!(
        weekly_series(&txns, early).expect("series")[0].balance,
        None
    );
}

#[test]
fn monthly_totals_cover_every_month_of_the_range() {
    let txns = vec![
        inc(1, date(2025, 12, 24), 3_000_000, "급여"),
        out(2, date(2025, 12, 31), 1_000_000, "월세"),
        out(3, date(2026, 2, 1), 500_000, "월세"),
    ];
    let range = DateRange::new(date(2025, 12, 1), date(2026, 2, 28)).expect("range");
    let months = monthly_totals(&txns, range).expect("sums");
    let flat: Vec<_> = months
        .iter()
        .map(|m| {
            (
                m.year,
                m.month,
                m.income.get(),
                m.spending.get(),
                m.net.get(),
            )
        })
        .collect();
    assert_eq!(
        flat,
        vec![
            (2025, 12, 3_000_000, 1_000_000, 2_000_000),
            (2026, 1, 0, 0, 0),
            (2026, 2, 0, 500_000, -500_000)
        ]
    );
}

#[test]
fn sums_that_overflow_are_errors_not_panics() {
    let txns = vec![
        out(1, date(2026, 1, 1), i64::MAX, "이마트"),
        out(2, date(2026, 1, 2), 1, "이마트"),
    ];
    let range = DateRange::new(date(2026, 1, 1), date(2026, 1, 31)).expect("range");
    assert_eq!(
        spending_by_category(&txns, range),
        Err(ChartError::Overflow)
    );
    assert_eq!(monthly_totals(&txns, range), Err(ChartError::Overflow));
    assert_eq!(weekly_series(&txns, range), Err(ChartError::Overflow));
}

#[test]
fn upcoming_lists_active_series_in_the_window() {
    let mut txns = Vec::new();
    for k in 0..8 {
        txns.push(out(
            k,
            date(2026, 1, 5) + Duration::days(7 * k),
            60_000,
            "영어학원",
        ));
    }
    for (k, m) in (1..=6).enumerate() {
        txns.push(out(
            100 + k as i64,
            date(2026, m, 20),
            69_000,
            "SKT 통신요금",
        ));
    }
    // A stopped monthly series (long enough to be reported once stopped).
    for (k, m) in (1..=6).enumerate() {
        txns.push(out(200 + k as i64, date(2025, m, 3), 10_900, "멜론"));
    }
    let as_of = date(2026, 6, 21);
    let series = detect_recurring(&txns, &RecurringConfig::default(), as_of);
    assert_eq!(series.len(), 3);
    // The weekly series stopped in February too (last 2026-02-23).
    let next = upcoming(&series, as_of, 30);
    let flat: Vec<_> = next
        .iter()
        .map(|u| (u.date, u.key.as_str(), u.amount.get()))
        .collect();
    assert_eq!(flat, vec![(date(2026, 7, 20), "skt통신요금", 69_000)]);

    let as_of2 = date(2026, 2, 24);
    let series2 = detect_recurring(&txns[..8], &RecurringConfig::default(), as_of2);
    let next2 = upcoming(&series2, as_of2, 14);
    let dates: Vec<_> = next2.iter().map(|u| u.date).collect();
    assert_eq!(dates, vec![date(2026, 3, 2), date(2026, 3, 9)]);
}

proptest! {
    /// Weekly spending and income add up to the monthly totals and to the category totals over
    /// the same range, whatever the transactions.
    #[test]
    fn weekly_monthly_and_category_totals_agree(
        rows in proptest::collection::vec((0i64..119, any::<bool>(), 1i64..1_000_000, 0usize..4), 0..60),
    ) {
        let memos = ["스타벅스", "이마트", "급여", "모르는곳"];
        let start = date(2026, 1, 5); // a Monday
        let txns: Vec<Txn> = rows.iter().enumerate().map(|(i, (day, incoming, amount, m))| {
            let d = start + Duration::days(*day);
            if *incoming { inc(i as i64, d, *amount, memos[*m]) } else { out(i as i64, d, *amount, memos[*m]) }
        }).collect();
        let txns = categorized(txns);
        let range = DateRange::new(start, start + Duration::days(7 * 17 - 1)).expect("range");
        let weeks = weekly_series(&txns, range).expect("no overflow");
        prop_assert_eq!(weeks.len(), 17);
        prop_assert!(weeks.iter().all(|w| w.week_start == week_start(w.week_start)));
        let w_out: i64 = weeks.iter().map(|w| w.spending.get()).sum();
        let w_in: i64 = weeks.iter().map(|w| w.income.get()).sum();
        let months = monthly_totals(&txns, range).expect("no overflow");
        let m_out: i64 = months.iter().map(|m| m.spending.get()).sum();
        let m_in: i64 = months.iter().map(|m| m.income.get()).sum();
        let c_out: i64 = spending_by_category(&txns, range).expect("no overflow").iter().map(|c| c.total.get()).sum();
        prop_assert_eq!(w_out, m_out);
        prop_assert_eq!(w_out, c_out);
        prop_assert_eq!(w_in, m_in);
        let expected_out: i64 = txns.iter().filter(|t| t.direction == ginkgo_insight::Direction::Out).map(|t| t.amount.get()).sum();
        prop_assert_eq!(w_out, expected_out);
    }
}

#[test]
fn daily_balances_carry_each_accounts_last_balance_forward() {
    use ginkgo_insight::charts::daily_balances;
    use ginkgo_insight::txn::Direction;
    let d = |day: u32| date(2026, 11, day);
    let row = |id: i64, account: i64, day: u32, balance: i64| {
        let mut t = Txn::new(id, d(day), Direction::In, Won::new(1), "memo");
        t.account_id = account;
        t.balance_after = Won::new(balance);
        t
    };
    // A later row of the same day wins; rows after the range are ignored.
    let mut late = row(4, 1, 4, 500);
    late.time = chrono::NaiveTime::from_hms_opt(23, 0, 0);
    let txns = vec![
        late,
        row(3, 2, 4, 5_050),
        row(2, 1, 4, 700),
        row(1, 1, 2, 1_000),
        row(5, 1, 9, 1),
    ];
    let range = DateRange::new(d(1), d(5)).expect("range");
    let days = daily_balances(&txns, range).expect("sums");
    let got: Vec<(u32, Option<i64>)> = days
        .iter()
        .map(|p| (chrono::Datelike::day(&p.date), p.balance.map(Won::get)))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, None),
            (2, Some(1_000)),
            (3, Some(1_000)),
            (4, Some(500 + 5_050)),
            (5, Some(500 + 5_050)),
        ]
    );
}
