use std::collections::HashSet;

use chrono::{Duration, NaiveTime};
use ginkgo_domain::Won;
use ginkgo_insight::charts::{
    DateRange, monthly_totals_with, spending_by_category_with, weekly_series_with,
};
use ginkgo_insight::{
    Adjustments, Categorizer, Category, DepositRef, Direction, MatchContext, TransferKind,
    Treatment, Txn,
};
use proptest::prelude::*;

use super::support::{date, inc, out};

fn categorized(mut txns: Vec<Txn>) -> Vec<Txn> {
    Categorizer::builtin().expect("builds").apply(&mut txns);
    txns
}

fn at(mut t: Txn, account: i64, h: u32, m: u32) -> Txn {
    t.account_id = account;
    t.time = NaiveTime::from_hms_opt(h, m, 0);
    t
}

fn counterpart(adj: &Adjustments, id: i64) -> Option<i64> {
    adj.transfers.get(&id).and_then(|o| o.counterpart)
}

#[test]
fn a_transfer_across_midnight_and_over_a_weekend_is_paired() {
    // 2026-11-27 is a Friday.
    let txns = categorized(vec![
        at(out(1, date(2026, 11, 10), 250_000, "토스 이체"), 1, 23, 50),
        at(inc(2, date(2026, 11, 11), 250_000, "토스 이체"), 2, 0, 10),
        at(out(3, date(2026, 11, 27), 400_000, "계좌이체"), 1, 22, 0),
        at(inc(4, date(2026, 11, 30), 400_000, "계좌이체"), 2, 9, 0),
        // Sent on a Tuesday, received on Thursday: too late, two transactions.
        at(out(5, date(2026, 11, 3), 90_000, "계좌이체"), 1, 10, 0),
        at(inc(6, date(2026, 11, 5), 90_000, "계좌이체"), 2, 10, 0),
        // The same account on both sides is never an own transfer.
        at(out(7, date(2026, 11, 12), 70_000, "이체"), 1, 10, 0),
        at(inc(8, date(2026, 11, 12), 70_000, "이체"), 1, 10, 5),
        // Received well before it was sent: not its counterpart.
        at(out(9, date(2026, 11, 16), 30_000, "이체"), 1, 18, 0),
        at(inc(10, date(2026, 11, 16), 30_000, "이체"), 2, 9, 0),
    ]);
    let adj = Adjustments::analyse(&txns, &MatchContext::default());
    assert_eq!(counterpart(&adj, 1), Some(2));
    assert_eq!(counterpart(&adj, 2), Some(1));
    assert_eq!(counterpart(&adj, 3), Some(4));
    assert_eq!(counterpart(&adj, 4), Some(3));
    for id in [5, 6, 7, 8, 9, 10] {
        assert!(!adj.transfers.contains_key(&id), "{id}");
    }
    let range = DateRange::new(date(2026, 11, 1), date(2026, 11, 30)).expect("range");
    let months = monthly_totals_with(&txns, range, &adj).expect("sums");
    assert_eq!(months[0].spending, Won::new(90_000 + 70_000 + 30_000));
    assert_eq!(months[0].income, Won::new(90_000 + 70_000 + 30_000));
}

#[test]
fn the_closest_inflow_wins_and_pairing_is_one_to_one() {
    let txns = categorized(vec![
        at(out(1, date(2026, 3, 2), 100_000, "이체"), 1, 9, 0),
        at(out(2, date(2026, 3, 2), 100_000, "이체"), 1, 15, 0),
        at(inc(3, date(2026, 3, 2), 100_000, "이체"), 2, 15, 1),
        at(inc(4, date(2026, 3, 2), 100_000, "이체"), 3, 9, 2),
        at(inc(5, date(2026, 3, 2), 100_000, "이체"), 2, 9, 30),
    ]);
    let adj = Adjustments::analyse(&txns, &MatchContext::default());
    assert_eq!(counterpart(&adj, 2), Some(3));
    assert_eq!(counterpart(&adj, 1), Some(4));
    assert!(!adj.transfers.contains_key(&5));
    // The same input in another order gives the same pairs.
    let mut rev = txns.clone();
    rev.reverse();
    assert_eq!(Adjustments::analyse(&rev, &MatchContext::default()), adj);
}

#[test]
fn a_self_named_deposit_and_a_ginkgo_deposit_are_own_transfers() {
    let txns = categorized(vec![
        at(inc(1, date(2026, 11, 5), 300_000, "이체 김하늘"), 1, 9, 0),
        at(inc(2, date(2026, 11, 20), 300_000, "이체 김하늘"), 1, 9, 0),
        at(inc(3, date(2026, 11, 21), 50_000, "이체 김철수"), 1, 9, 0),
        at(
            out(4, date(2026, 11, 13), 1_000_000, "계좌이체 긴코증권"),
            1,
            17,
            0,
        ),
        at(out(5, date(2026, 11, 14), 1_000_000, "계좌이체"), 1, 17, 0),
        at(
            inc(6, date(2026, 11, 25), 3_200_000, "(주)한빛소프트 급여"),
            1,
            9,
            0,
        ),
    ]);
    let ctx = MatchContext {
        own_names: vec!["김하늘".into()],
        // Confirmed on Monday the 16th (the 13th is a Friday).
        deposits: vec![DepositRef {
            id: 77,
            date: date(2026, 11, 16),
            amount: Won::new(1_000_000),
        }],
        ..MatchContext::default()
    };
    let adj = Adjustments::analyse(&txns, &ctx);
    assert_eq!(adj.transfers[&1].kind, TransferKind::OwnName);
    assert_eq!(adj.transfers[&2].kind, TransferKind::OwnName);
    assert!(!adj.transfers.contains_key(&3));
    // One deposit funds one outflow: the closest (Saturday the 14th, then Monday).
    assert_eq!(adj.transfers[&5].kind, TransferKind::GinkgoDeposit);
    assert_eq!(adj.transfers[&5].deposit_id, Some(77));
    assert!(!adj.transfers.contains_key(&4));
    let range = DateRange::new(date(2026, 11, 1), date(2026, 11, 30)).expect("range");
    let months = monthly_totals_with(&txns, range, &adj).expect("sums");
    assert_eq!(months[0].income, Won::new(50_000 + 3_200_000));
    assert_eq!(months[0].spending, Won::new(1_000_000));
    // Without the context the self-named deposits are income (the old figure).
    let plain = Adjustments::analyse(&txns, &MatchContext::default());
    let months = monthly_totals_with(&txns, range, &plain).expect("sums");
    assert_eq!(months[0].income, Won::new(600_000 + 50_000 + 3_200_000));
}

#[test]
fn an_undone_pair_stays_undone() {
    let txns = categorized(vec![
        at(out(1, date(2026, 3, 2), 100_000, "이체"), 1, 9, 0),
        at(inc(2, date(2026, 3, 2), 100_000, "이체"), 2, 9, 1),
        at(inc(3, date(2026, 3, 2), 100_000, "이체"), 3, 9, 2),
    ]);
    let ctx = MatchContext {
        unpaired: HashSet::from([2]),
        ..MatchContext::default()
    };
    let adj = Adjustments::analyse(&txns, &ctx);
    // Undoing one side leaves the outflow free to pair with the next candidate only.
    assert_eq!(counterpart(&adj, 1), Some(3));
    assert!(!adj.transfers.contains_key(&2));
    let ctx = MatchContext {
        unpaired: HashSet::from([1]),
        ..MatchContext::default()
    };
    assert!(Adjustments::analyse(&txns, &ctx).transfers.is_empty());
}

#[test]
fn cancellations_net_out_in_the_purchase_category() {
    let txns = categorized(vec![
        out(1, date(2026, 11, 3), 5_600, "스타벅스 강남R점"),
        inc(2, date(2026, 11, 4), 5_600, "스타벅스 강남R점 취소"),
        out(3, date(2026, 11, 5), 120_000, "쿠팡"),
        inc(4, date(2026, 11, 9), 30_000, "쿠팡 부분취소"),
        inc(5, date(2026, 11, 12), 20_000, "쿠팡 부분취소"),
        out(6, date(2026, 11, 6), 4_000, "스타벅스 역삼점"),
        // No purchase for it: shown as unmatched, never income.
        inc(7, date(2026, 11, 15), 9_900, "넷플릭스 취소"),
        // A cancellation larger than any purchase left does not match.
        inc(8, date(2026, 11, 16), 200_000, "쿠팡 취소"),
    ]);
    let adj = Adjustments::analyse(&txns, &MatchContext::default());
    assert_eq!(adj.cancellations[&2], Some(1));
    assert_eq!(adj.cancellations[&4], Some(3));
    assert_eq!(adj.cancellations[&5], Some(3));
    assert_eq!(adj.cancellations[&7], None);
    assert_eq!(adj.cancellations[&8], None);
    assert_eq!(adj.treatment(&txns[6]), Treatment::UnmatchedCancellation);
    assert_eq!(
        adj.treatment(&txns[2]),
        Treatment::Cancelled {
            refunded: Won::new(50_000),
            net: Won::new(70_000)
        }
    );
    let range = DateRange::new(date(2026, 11, 1), date(2026, 11, 30)).expect("range");
    let by_cat = spending_by_category_with(&txns, range, &adj).expect("sums");
    let flat: Vec<(Category, i64, usize)> = by_cat
        .iter()
        .map(|c| (c.category, c.total.get(), c.count))
        .collect();
    // The fully cancelled coffee is gone; the other coffee stays.
    assert_eq!(
        flat,
        vec![(Category::Shopping, 70_000, 1), (Category::Cafe, 4_000, 1)]
    );
    let months = monthly_totals_with(&txns, range, &adj).expect("sums");
    assert_eq!(months[0].income, Won::ZERO);
    assert_eq!(months[0].spending, Won::new(74_000));
}

#[test]
fn a_cancellation_matches_the_latest_purchase_within_the_window() {
    let txns = categorized(vec![
        out(1, date(2026, 1, 3), 10_000, "올리브영 강남점"),
        out(2, date(2026, 5, 3), 10_000, "올리브영 역삼점"),
        inc(3, date(2026, 5, 4), 10_000, "올리브영 취소"),
        inc(4, date(2026, 5, 5), 10_000, "올리브영 취소"),
    ]);
    let adj = Adjustments::analyse(&txns, &MatchContext::default());
    assert_eq!(adj.cancellations[&3], Some(2));
    // January's purchase is more than 90 days before: out of the window.
    assert_eq!(adj.cancellations[&4], None);
}

fn arb_txns() -> impl Strategy<Value = Vec<Txn>> {
    let memos = [
        "이체",
        "토스 이체",
        "스타벅스 강남R점",
        "스타벅스 강남R점 취소",
        "쿠팡",
        "쿠팡 부분취소",
        "급여",
        "이체 김하늘",
    ];
    proptest::collection::vec(
        (
            0i64..40,
            0u32..1440,
            any::<bool>(),
            1i64..6,
            0usize..8,
            1i64..4,
        ),
        0..60,
    )
    .prop_map(move |rows| {
        let txns = rows
            .into_iter()
            .enumerate()
            .map(|(i, (day, minute, is_in, amount, memo, account))| {
                let d = date(2026, 3, 1) + Duration::days(day);
                let mut t = if is_in {
                    inc(i as i64 + 1, d, amount * 10_000, memos[memo])
                } else {
                    out(i as i64 + 1, d, amount * 10_000, memos[memo])
                };
                t.account_id = account;
                t.time = NaiveTime::from_hms_opt(minute / 60, minute % 60, 0);
                t
            })
            .collect();
        categorized(txns)
    })
}

proptest! {
    #[test]
    fn pairs_are_symmetric_and_sums_agree(txns in arb_txns()) {
        let ctx = MatchContext { own_names: vec!["김하늘".into()], ..MatchContext::default() };
        let adj = Adjustments::analyse(&txns, &ctx);
        let by_id: std::collections::HashMap<i64, &Txn> = txns.iter().map(|t| (t.id, t)).collect();
        for (id, o) in &adj.transfers {
            if let Some(c) = o.counterpart {
                let (a, b) = (by_id[id], by_id[&c]);
                prop_assert_eq!(adj.transfers[&c].counterpart, Some(*id));
                prop_assert_eq!(a.amount, b.amount);
                prop_assert_ne!(a.account_id, b.account_id);
                prop_assert_ne!(a.direction, b.direction);
            }
        }
        // A purchase is never reduced below zero, and only by matched cancellations.
        for (pid, refunded) in &adj.refunded {
            prop_assert!(*refunded <= by_id[pid].amount);
            let sum: i64 = adj.cancellations.iter()
                .filter(|(_, p)| **p == Some(*pid))
                .map(|(c, _)| by_id[c].amount.get())
                .sum();
            prop_assert_eq!(sum, refunded.get());
        }
        // Every chart equals the listed transactions under the same treatment.
        let range = DateRange::new(date(2026, 3, 1), date(2026, 4, 9)).expect("range");
        let spending: i64 = txns.iter().filter_map(|t| adj.spending(t)).map(Won::get).sum();
        let income: i64 = txns.iter().filter_map(|t| adj.income(t)).map(Won::get).sum();
        let by_cat: i64 = spending_by_category_with(&txns, range, &adj).expect("sums")
            .iter().map(|c| c.total.get()).sum();
        prop_assert_eq!(by_cat, spending);
        let weeks = weekly_series_with(&txns, range, &adj).expect("sums");
        prop_assert_eq!(weeks.iter().map(|w| w.spending.get()).sum::<i64>(), spending);
        prop_assert_eq!(weeks.iter().map(|w| w.income.get()).sum::<i64>(), income);
        let months = monthly_totals_with(&txns, range, &adj).expect("sums");
        prop_assert_eq!(months.iter().map(|m| m.spending.get()).sum::<i64>(), spending);
        prop_assert_eq!(months.iter().map(|m| m.income.get()).sum::<i64>(), income);
        // Cancellations and own transfers are never income.
        for t in &txns {
            if t.direction == Direction::In && (adj.cancellations.contains_key(&t.id) || adj.transfers.contains_key(&t.id)) {
                prop_assert_eq!(adj.income(t), None);
            }
        }
    }
}

#[test]
fn the_current_month_and_week_say_so_far_and_compare_the_same_days() {
    use ginkgo_insight::charts::{PeriodKind, so_far};
    let txns = categorized(vec![
        out(1, date(2026, 11, 2), 10_000, "이마트"),
        out(2, date(2026, 11, 5), 20_000, "이마트"),
        // After the same day of the previous month: not compared.
        out(3, date(2026, 11, 20), 99_000, "이마트"),
        out(4, date(2026, 12, 1), 7_000, "이마트"),
        out(5, date(2026, 12, 4), 8_000, "이마트"),
        inc(6, date(2026, 12, 3), 50_000, "이자"),
        // A transfer to and from the customer's own accounts counts for neither.
        at(out(7, date(2026, 12, 2), 500_000, "이체"), 1, 9, 0),
        at(inc(8, date(2026, 12, 2), 500_000, "이체"), 2, 9, 0),
    ]);
    let adj = Adjustments::analyse(&txns, &MatchContext::default());
    // 2026-12-04 is a Friday.
    let m = so_far(&txns, &adj, date(2026, 12, 4), PeriodKind::Month).expect("sums");
    assert!(!m.complete);
    assert_eq!(
        (m.from, m.to, m.period_end),
        (date(2026, 12, 1), date(2026, 12, 4), date(2026, 12, 31))
    );
    assert_eq!(m.spending, Won::new(15_000));
    assert_eq!(m.income, Won::new(50_000));
    assert_eq!(
        (m.previous_from, m.previous_to),
        (date(2026, 11, 1), date(2026, 11, 4))
    );
    assert_eq!(m.previous_spending, Won::new(10_000));
    let w = so_far(&txns, &adj, date(2026, 12, 4), PeriodKind::Week).expect("sums");
    assert_eq!(
        (w.from, w.period_end),
        (date(2026, 11, 30), date(2026, 12, 6))
    );
    assert_eq!(w.spending, Won::new(15_000));
    assert_eq!(
        (w.previous_from, w.previous_to),
        (date(2026, 11, 23), date(2026, 11, 27))
    );
    assert_eq!(w.previous_spending, Won::ZERO);
    // The last day of a month is complete; March 31st compares with February 28th.
    let full = so_far(&txns, &adj, date(2026, 3, 31), PeriodKind::Month).expect("sums");
    assert!(full.complete);
    assert_eq!(full.previous_to, date(2026, 2, 28));
}

#[test]
fn fixed_costs_are_monthly_equivalents_of_active_series() {
    use ginkgo_insight::{Period, RecurringConfig, detect_recurring, fixed_monthly, manual_series};
    let mut txns = Vec::new();
    let mut id = 0;
    let mut push = |t: fn(i64, chrono::NaiveDate, i64, &str) -> Txn, d, amount, memo| {
        id += 1;
        txns.push(t(id, d, amount, memo));
    };
    for k in 0..6 {
        push(out, date(2026, 1 + 2 * k, 20), 60_000, "수도요금");
        push(
            out,
            date(2026, 6, 1) + Duration::days(7 * i64::from(k)),
            70_000,
            "영어학원",
        );
    }
    for m in 1..=11 {
        push(inc, date(2026, m, 10), 3_000_000, "급여");
        push(out, date(2026, m, 15), 55_000, "SKT 통신요금");
    }
    push(out, date(2026, 3, 9), 12_000, "동네꽃집");
    push(out, date(2026, 7, 9), 15_000, "동네꽃집");
    let as_of = date(2026, 11, 16);
    let series = detect_recurring(&txns, &RecurringConfig::default(), as_of);
    let fixed = fixed_monthly(&series).expect("sums");
    // 수도요금 60,000 / 2 + 통신 55,000; the weekly course stopped in July.
    assert_eq!(fixed.outgoings, Won::new(30_000 + 55_000));
    assert_eq!(fixed.outgoing_series, 2);
    assert_eq!(fixed.income, Won::new(3_000_000));
    // A weekly 70,000 is 70,000 × 30.436875 / 7 = 304,368.75 a month.
    let weekly = series.iter().find(|s| s.key == "영어학원").expect("found");
    assert_eq!(weekly.monthly_equivalent(), Some(Won::new(304_369)));
    // Two flower purchases are no series, but the customer can say they are one.
    assert!(series.iter().all(|s| s.key != "동네꽃집"));
    let added = manual_series(
        &txns,
        "동네꽃집",
        Direction::Out,
        Period::Months(4),
        &RecurringConfig::default(),
        as_of,
    )
    .expect("two transactions");
    assert_eq!(added.occurrences, 2);
    assert_eq!(added.next_expected, date(2026, 11, 9));
    assert!(
        manual_series(
            &txns,
            "없는가게",
            Direction::Out,
            Period::MONTHLY,
            &RecurringConfig::default(),
            as_of
        )
        .is_none()
    );
}

#[test]
fn the_generator_pairs_within_a_customer_and_nets_its_cancellations() {
    use ginkgo_insight::bench::{customer_of, generate_transactions, per_customer};
    let txns = categorized(generate_transactions(11, 20, 800));
    let mut cancels = 0;
    per_customer(&txns, |mine| {
        let adj = Adjustments::analyse(mine, &MatchContext::default());
        let by_id: std::collections::HashMap<i64, &Txn> = mine.iter().map(|t| (t.id, t)).collect();
        assert_eq!(adj.transfers.len(), 24);
        for (id, o) in &adj.transfers {
            let c = by_id[&o.counterpart.expect("linked")];
            assert_eq!(customer_of(c), customer_of(by_id[id]));
            assert_ne!(c.account_id, by_id[id].account_id);
        }
        // Every generated cancellation follows its purchase within five days: all match.
        for t in mine.iter().filter(|t| t.memo.ends_with("취소")) {
            let p = adj.cancellations[&t.id].expect("matched");
            assert!(
                by_id[&p]
                    .memo
                    .starts_with(t.memo.split(' ').next().unwrap_or_default())
            );
            cancels += 1;
        }
    });
    assert!(cancels > 100, "{cancels}");
}
