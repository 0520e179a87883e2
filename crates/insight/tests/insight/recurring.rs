use chrono::{Datelike, Duration, NaiveDate};
use ginkgo_domain::rng::SplitMix64;
use ginkgo_insight::bench::{customer_of, generate_transactions, recurring_of_customer};
use ginkgo_insight::recurring::Schedule;
use ginkgo_insight::{
    Direction, Period, RecurringConfig, RecurringSeries, SeriesStatus, ShiftRule, Txn,
    detect_recurring,
};
use proptest::prelude::*;

use super::support::{date, inc, out};

fn detect(txns: &[Txn], as_of: NaiveDate) -> Vec<RecurringSeries> {
    detect_recurring(txns, &RecurringConfig::default(), as_of)
}

fn series_of(dates: &[NaiveDate], memo: &str) -> Vec<Txn> {
    dates
        .iter()
        .enumerate()
        .map(|(i, d)| out(i as i64 + 1, *d, 10_000 + i as i64, memo))
        .collect()
}

/// The `day` of each month from `first` (year, month) for `count` months, clamped to the
/// month's length, shifted off weekends by `shift`.
fn monthly_dates(
    y: i32,
    m: u32,
    count: u32,
    day: u32,
    every: u32,
    shift: ShiftRule,
) -> Vec<NaiveDate> {
    (0..count)
        .map(|k| {
            let idx = (y * 12 + m as i32 - 1) + (k * every) as i32;
            let (yy, mm) = (idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1);
            let mut d = day;
            while NaiveDate::from_ymd_opt(yy, mm, d).is_none() {
                d -= 1;
            }
            shift.apply(date(yy, mm, d))
        })
        .collect()
}

#[test]
fn salary_on_the_25th_moved_to_friday_is_monthly() {
    // 2026: the 25th is a Saturday in April and a Sunday in October.
    let dates = monthly_dates(2026, 1, 10, 25, 1, ShiftRule::PreviousBusinessDay);
    assert!(dates.contains(&date(2026, 4, 24)));
    assert!(dates.contains(&date(2026, 10, 23)));
    let txns: Vec<Txn> = dates
        .iter()
        .enumerate()
        .map(|(i, d)| inc(i as i64, *d, 3_200_000, "(주)한빛소프트 급여"))
        .collect();
    let found = detect(&txns, date(2026, 11, 1));
    assert_eq!(found.len(), 1, "{found:?}");
    let s = &found[0];
    assert_eq!(s.period, Period::MONTHLY);
    assert_eq!(s.direction, Direction::In);
    assert_eq!(s.key, "(주)한빛소프트급여");
    assert_eq!(s.occurrences, 10);
    assert_eq!(s.last_date, date(2026, 10, 23));
    assert_eq!(s.next_expected, date(2026, 11, 25));
    assert_eq!(s.status, SeriesStatus::Active);
    assert_eq!(s.typical_amount.get(), 3_200_000);
    assert!(matches!(
        s.schedule,
        Schedule::EveryMonths {
            day: 25,
            shift: ShiftRule::PreviousBusinessDay,
            months: 1,
            ..
        }
    ));
    assert!(s.std_days < 0.01);
}

#[test]
fn rent_on_the_first_moved_to_monday_predicts_the_next_business_day() {
    // 2026-03-01 is a Sunday, 2026-08-01 a Saturday; 2026-11-01 is a Sunday again.
    let dates = monthly_dates(2026, 1, 10, 1, 1, ShiftRule::NextBusinessDay);
    assert!(dates.contains(&date(2026, 3, 2)));
    assert!(dates.contains(&date(2026, 8, 3)));
    let txns = series_of(&dates, "월세 김영숙");
    let found = detect(&txns, date(2026, 10, 15));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].period, Period::MONTHLY);
    assert_eq!(found[0].next_expected, date(2026, 11, 2));
}

#[test]
fn month_end_payments_follow_the_last_day() {
    let dates = monthly_dates(2025, 10, 8, 31, 1, ShiftRule::None);
    assert!(dates.contains(&date(2026, 2, 28)));
    assert!(dates.contains(&date(2025, 11, 30)));
    let found = detect(&series_of(&dates, "적금 자동이체"), date(2026, 5, 31));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].period, Period::MONTHLY);
    assert_eq!(found[0].last_date, date(2026, 5, 31));
    assert_eq!(found[0].next_expected, date(2026, 6, 30));
}

#[test]
fn a_bill_around_the_10th_is_monthly() {
    let mut rng = SplitMix64::new(42);
    let dates: Vec<NaiveDate> = (0..12)
        .map(|m| date(2025, m + 1, 10) + Duration::days(rng.range_i64(-1, 1)))
        .collect();
    let found = detect(&series_of(&dates, "아파트관리비"), date(2026, 1, 1));
    assert_eq!(found.len(), 1, "{dates:?}");
    assert_eq!(found[0].period, Period::MONTHLY);
    assert_eq!(found[0].next_expected, date(2026, 1, 10));

    // Never paid on the 10th itself, always a day before or after.
    let days = [11, 9, 11, 11, 11, 9, 9, 9, 9, 9, 11, 9];
    let dates: Vec<NaiveDate> = days
        .iter()
        .zip(1..)
        .map(|(d, m)| date(2025, m, *d))
        .collect();
    let found = detect(&series_of(&dates, "아파트관리비"), date(2026, 1, 1));
    assert_eq!(found.len(), 1, "{dates:?}");
    assert_eq!(found[0].next_expected, date(2026, 1, 10));
    assert!(found[0].std_days <= 1.0);
}

/// Residuals of exactly ±1 day against the 10th: a standard deviation of exactly 1.0.
fn bill_with_std_of_one() -> Vec<Txn> {
    let days = [11, 9, 11, 9, 11, 9, 11, 9, 11, 9, 11, 9];
    let dates: Vec<NaiveDate> = days
        .iter()
        .zip(1..)
        .map(|(d, m)| date(2025, m, *d))
        .collect();
    series_of(&dates, "아파트관리비")
}

#[test]
fn the_deviation_must_be_strictly_under_a_configurable_threshold() {
    let txns = bill_with_std_of_one();
    let with = |max_std_days: f64| {
        let config = RecurringConfig {
            max_std_days,
            ..RecurringConfig::default()
        };
        detect_recurring(&txns, &config, date(2026, 1, 1))
    };
    let default = with(RecurringConfig::default().max_std_days);
    assert_eq!(default.len(), 1, "1.0 < 1.1");
    assert_eq!(default[0].std_days, 1.0);
    assert!(
        with(1.0).is_empty(),
        "a deviation equal to the threshold is not under it"
    );
    assert!(
        with(0.5).is_empty(),
        "a stricter threshold rejects the bill"
    );
    assert_eq!(with(1.0001).len(), 1);
    // A looser threshold lets a sloppier series through: every other fortnightly payment a
    // day late, the rest a day early (interval errors of ±2 days, a deviation of about 2).
    let offsets = [0, 15, 27, 43, 55, 71, 83, 99, 111, 127];
    let sloppy: Vec<NaiveDate> = offsets
        .iter()
        .map(|o| date(2026, 1, 2) + Duration::days(*o))
        .collect();
    let sloppy = series_of(&sloppy, "용돈");
    assert!(detect(&sloppy, date(2026, 5, 10)).is_empty());
    let loose = RecurringConfig {
        max_std_days: 2.5,
        ..RecurringConfig::default()
    };
    let found = detect_recurring(&sloppy, &loose, date(2026, 5, 10));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].period, Period::BIWEEKLY);
    assert!(found[0].std_days > 1.1 && found[0].std_days < 2.5);
}

#[test]
fn no_interval_may_be_shorter_than_seven_days_even_for_weekly_series() {
    // Twelve Mondays, one payment made on the Sunday before: a 6-day interval.
    let mut dates: Vec<NaiveDate> = (0..12)
        .map(|k| date(2026, 1, 5) + Duration::days(7 * k))
        .collect();
    assert!(!detect(&series_of(&dates, "영어학원"), date(2026, 3, 24)).is_empty());
    dates[5] -= Duration::days(1);
    assert!(
        detect(&series_of(&dates, "영어학원"), date(2026, 3, 24)).is_empty(),
        "{dates:?}"
    );
    // A stricter minimum interval is honoured too.
    let fortnight: Vec<NaiveDate> = (0..8)
        .map(|k| date(2026, 1, 2) + Duration::days(14 * k))
        .collect();
    let strict = RecurringConfig {
        min_interval_days: 15,
        ..RecurringConfig::default()
    };
    assert!(
        detect_recurring(&series_of(&fortnight, "용돈"), &strict, date(2026, 4, 20)).is_empty()
    );
    assert_eq!(
        detect(&series_of(&fortnight, "용돈"), date(2026, 4, 20)).len(),
        1
    );
}

#[test]
fn the_typical_amount_and_its_spread_come_from_the_kept_occurrences() {
    // Electricity: the same day every month, a different amount each time.
    let dates = monthly_dates(2025, 1, 9, 18, 1, ShiftRule::None);
    let amounts = [
        61_230, 48_900, 45_010, 39_870, 52_340, 88_120, 91_450, 47_600, 44_300,
    ];
    let mut txns: Vec<Txn> = dates
        .iter()
        .zip(amounts)
        .enumerate()
        .map(|(i, (d, a))| out(i as i64, *d, a, "한국전력공사"))
        .collect();
    // An off-schedule one-off with the same memo is an outlier: not part of the spread.
    txns.push(out(99, date(2025, 3, 3), 1_000_000, "한국전력공사"));
    let found = detect(&txns, date(2025, 10, 1));
    assert_eq!(found.len(), 1, "{found:?}");
    let s = &found[0];
    assert_eq!(s.outliers, 1);
    assert_eq!(s.min_amount.get(), 39_870);
    assert_eq!(s.max_amount.get(), 91_450);
    // Lower median of the nine kept amounts (sorted: 39,870 44,300 45,010 47,600 48,900 …).
    assert_eq!(s.typical_amount.get(), 48_900);
    assert_eq!(s.occurrences, 9);
}

#[test]
fn weekly_biweekly_quarterly_and_yearly_are_classified() {
    let mondays: Vec<NaiveDate> = (0..20)
        .map(|k| date(2026, 1, 5) + Duration::days(7 * k))
        .collect();
    let w = detect(&series_of(&mondays, "영어학원"), date(2026, 5, 20));
    assert_eq!(w.len(), 1);
    assert_eq!(w[0].period, Period::WEEKLY);
    assert_eq!(w[0].next_expected, date(2026, 5, 25));

    let fortnight: Vec<NaiveDate> = (0..8)
        .map(|k| date(2026, 1, 2) + Duration::days(14 * k))
        .collect();
    let b = detect(&series_of(&fortnight, "용돈"), date(2026, 4, 20));
    assert_eq!(b.len(), 1);
    assert_eq!(b[0].period, Period::BIWEEKLY);
    assert_eq!(b[0].next_expected, date(2026, 4, 24));

    let quarters = monthly_dates(2025, 1, 6, 15, 3, ShiftRule::None);
    let q = detect(&series_of(&quarters, "자동차보험"), date(2026, 5, 1));
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].period, Period::QUARTERLY);
    assert_eq!(q[0].next_expected, date(2026, 7, 15));

    let years = [
        date(2023, 3, 14),
        date(2024, 3, 14),
        date(2025, 3, 14),
        date(2026, 3, 14),
    ];
    let y = detect(&series_of(&years, "쿠팡와우 연회비"), date(2026, 6, 1));
    assert_eq!(y.len(), 1);
    assert_eq!(y[0].period, Period::YEARLY);
    assert_eq!(y[0].next_expected, date(2027, 3, 14));
}

#[test]
fn a_series_that_stopped_is_reported_as_stopped() {
    let dates = monthly_dates(2025, 1, 6, 17, 1, ShiftRule::None);
    let found = detect(&series_of(&dates, "넷플릭스"), date(2025, 12, 1));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].status, SeriesStatus::Stopped);
    let active = detect(&series_of(&dates, "넷플릭스"), date(2025, 7, 20));
    assert_eq!(active[0].status, SeriesStatus::Active);
    // A short series (three payments) is reported while active, not once it stopped.
    let short = &dates[..3];
    assert_eq!(
        detect(&series_of(short, "넷플릭스"), date(2025, 4, 1)).len(),
        1
    );
    assert!(detect(&series_of(short, "넷플릭스"), date(2025, 12, 1)).is_empty());
}

#[test]
fn a_short_series_must_be_exactly_on_schedule() {
    // 2026-02-08 and 2026-03-08 are Sundays: paid on the Mondays.
    let exact = [date(2026, 1, 8), date(2026, 2, 9), date(2026, 3, 9)];
    assert_eq!(
        detect(&series_of(&exact, "보험료"), date(2026, 3, 20)).len(),
        1
    );
    let jittered = [date(2026, 1, 8), date(2026, 2, 9), date(2026, 3, 10)];
    assert!(detect(&series_of(&jittered, "보험료"), date(2026, 3, 20)).is_empty());
}

#[test]
fn short_intervals_or_too_few_occurrences_are_not_recurring() {
    let two = [date(2026, 1, 5), date(2026, 2, 5)];
    assert!(detect(&series_of(&two, "a"), date(2026, 3, 1)).is_empty());
    // Three on a short series: one of them 3 days after the previous one.
    let close = [
        date(2026, 1, 5),
        date(2026, 1, 8),
        date(2026, 2, 5),
        date(2026, 3, 5),
    ];
    assert!(detect(&series_of(&close, "a"), date(2026, 3, 6)).is_empty());
}

#[test]
fn memos_with_sequence_numbers_group_together_but_directions_do_not() {
    let dates = monthly_dates(2026, 1, 6, 20, 1, ShiftRule::None);
    let txns: Vec<Txn> = dates
        .iter()
        .enumerate()
        .map(|(i, d)| {
            out(
                i as i64,
                *d,
                55_000,
                &format!("KT 휴대폰요금 {:04}", 1000 + i),
            )
        })
        .collect();
    let found = detect(&txns, date(2026, 7, 1));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].key, "kt휴대폰요금");
    // The same memo in alternating directions is two series, one per direction (each every
    // second month), never one monthly series.
    let mixed: Vec<Txn> = dates
        .iter()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 0 {
                out(i as i64, *d, 1, "용돈")
            } else {
                inc(i as i64, *d, 1, "용돈")
            }
        })
        .collect();
    let found = detect(&mixed, date(2026, 7, 1));
    assert!(
        found
            .iter()
            .all(|s| s.period == Period::BIMONTHLY && s.occurrences == 3),
        "{found:?}"
    );
    assert!(found.iter().any(|s| s.direction == Direction::Out));
}

#[test]
fn generated_customers_have_exactly_their_scheduled_series() {
    // 12 customers × 1,000 transactions of the benchmark generator: salary (25th, previous
    // business day), rent (1st, next business day), 관리비 (10th ± 1), phone bill, electricity,
    // Netflix, Melon and a weekly 영어학원 are recurring; random café, convenience-store, food,
    // transport and shopping spending never is.
    let txns = generate_transactions(7, 12, 1_000);
    for customer in 1..=12 {
        let mine: Vec<Txn> = txns
            .iter()
            .filter(|t| customer_of(t) == customer)
            .cloned()
            .collect();
        let (adj, found) =
            recurring_of_customer(&mine, &RecurringConfig::default(), date(2025, 12, 31));
        // The monthly transfers to the customer's savings account are paired (23:50 → 00:10),
        // and are not a recurring payment.
        assert_eq!(adj.transfers.len(), 24, "customer {customer}");
        let mut got: Vec<(String, Period)> =
            found.iter().map(|s| (s.key.clone(), s.period)).collect();
        got.sort();
        let has = |pred: &dyn Fn(&str) -> bool, period: Period| {
            got.iter().any(|(k, p)| pred(k) && *p == period)
        };
        for key in [
            "아파트관리비",
            "skt통신요금",
            "한국전력공사",
            "netflix.com",
            "멜론",
        ] {
            assert!(
                has(&|k| k == key, Period::MONTHLY),
                "customer {customer}: {key} missing from {got:?}"
            );
        }
        assert!(
            has(&|k| k == "영어학원", Period::WEEKLY),
            "customer {customer}: {got:?}"
        );
        assert!(
            has(&|k| k.starts_with("월세"), Period::MONTHLY),
            "customer {customer}: {got:?}"
        );
        assert!(
            has(&|k| k.ends_with("급여"), Period::MONTHLY),
            "customer {customer}: {got:?}"
        );
        assert!(
            has(&|k| k == "수도요금", Period::BIMONTHLY),
            "customer {customer}: {got:?}"
        );
        assert_eq!(
            got.len(),
            9,
            "customer {customer}: unexpected series in {got:?}"
        );
        let salary = found
            .iter()
            .find(|s| s.key.ends_with("급여"))
            .map(|s| s.next_expected);
        // 2026-01-25 is a Sunday: salary is expected on Friday the 23rd.
        assert_eq!(salary, Some(date(2026, 1, 23)));
        let rent = found
            .iter()
            .find(|s| s.key.starts_with("월세"))
            .map(|s| s.next_expected);
        // 2026-01-01 is a Thursday.
        assert_eq!(rent, Some(date(2026, 1, 1)));
        assert!(found.iter().all(|s| s.status == SeriesStatus::Active));
    }
}

#[derive(Debug, Clone)]
enum Kind {
    Weekly,
    Biweekly,
    Monthly { day: u32, shift: ShiftRule },
    Quarterly { day: u32 },
    Yearly,
}

fn kind_strategy() -> impl Strategy<Value = Kind> {
    let shift = prop_oneof![
        Just(ShiftRule::None),
        Just(ShiftRule::PreviousBusinessDay),
        Just(ShiftRule::NextBusinessDay)
    ];
    prop_oneof![
        Just(Kind::Weekly),
        Just(Kind::Biweekly),
        (1u32..=31, shift).prop_map(|(day, shift)| Kind::Monthly { day, shift }),
        (1u32..=28).prop_map(|day| Kind::Quarterly { day }),
        Just(Kind::Yearly),
    ]
}

/// A generated series: (actual, nominal) date pairs, the next actual and nominal dates.
struct Generated {
    pairs: Vec<(NaiveDate, NaiveDate)>,
    next: NaiveDate,
    next_nominal: NaiveDate,
    period: Period,
}

impl Generated {
    fn dates(&self) -> Vec<NaiveDate> {
        self.pairs.iter().map(|p| p.0).collect()
    }

    /// Whether the weekend rule can be seen in `pairs` (some due date fell on a weekend); when
    /// it cannot, any of the three rules applied to the next nominal date is a right answer.
    fn next_ok(&self, pairs: &[(NaiveDate, NaiveDate)], found: NaiveDate) -> bool {
        use chrono::Weekday::{Sat, Sun};
        let observable = pairs.iter().any(|(_, n)| matches!(n.weekday(), Sat | Sun));
        found == self.next
            || (!observable
                && [
                    ShiftRule::None,
                    ShiftRule::PreviousBusinessDay,
                    ShiftRule::NextBusinessDay,
                ]
                .iter()
                .any(|r| r.apply(self.next_nominal) == found))
    }
}

/// Generates `count` dates of a known schedule. Series of 6 or more (bi-weekly, monthly,
/// quarterly, yearly) get ±1-day jitter on every fourth occurrence (never the last); weekly ones
/// stay exact.
fn generate(kind: &Kind, start: NaiveDate, count: u32, seed: u64) -> Generated {
    let mut rng = SplitMix64::new(seed);
    let mut calendar = |every: u32, day: u32, shift: ShiftRule, period: Period| {
        let nominal = monthly_dates(
            start.year(),
            start.month(),
            count + 1,
            day,
            every,
            ShiftRule::None,
        );
        let pairs: Vec<(NaiveDate, NaiveDate)> = nominal
            .iter()
            .enumerate()
            .map(|(k, n)| {
                let actual = shift.apply(*n);
                // The same ±1-day jitter as day-based series, on due dates that are business
                // days (where every weekend rule agrees, so jitter cannot fake one).
                let business_day =
                    !matches!(n.weekday(), chrono::Weekday::Sat | chrono::Weekday::Sun);
                if business_day && count >= 6 && k % 4 == 2 && k + 1 < count as usize {
                    let j = if rng.below(2) == 0 { -1 } else { 1 };
                    (actual + Duration::days(j), *n)
                } else {
                    (actual, *n)
                }
            })
            .collect();
        let (next, next_nominal) = pairs[count as usize];
        Generated {
            pairs: pairs[..count as usize].to_vec(),
            next,
            next_nominal,
            period,
        }
    };
    match kind {
        Kind::Weekly | Kind::Biweekly => {
            let step = if matches!(kind, Kind::Weekly) { 7 } else { 14 };
            let pairs = (0..count)
                .map(|k| {
                    let base = start + Duration::days(i64::from(k) * step);
                    // Short series must be exact (see RecurringConfig); jitter only longer ones.
                    // A weekly payment a day off makes a 6-day interval, which the product rule
                    // forbids (see the module notes of `recurring`): bi-weekly ones only.
                    if step == 14 && count >= 6 && k % 4 == 2 && k + 1 < count {
                        (
                            base + Duration::days(if rng.below(2) == 0 { -1 } else { 1 }),
                            base,
                        )
                    } else {
                        (base, base)
                    }
                })
                .collect();
            let next = start + Duration::days(i64::from(count) * step);
            let period = if step == 7 {
                Period::WEEKLY
            } else {
                Period::BIWEEKLY
            };
            Generated {
                pairs,
                next,
                next_nominal: next,
                period,
            }
        }
        Kind::Monthly { day, shift } => calendar(1, *day, *shift, Period::MONTHLY),
        Kind::Quarterly { day } => calendar(3, *day, ShiftRule::None, Period::QUARTERLY),
        Kind::Yearly => calendar(12, start.day().min(28), ShiftRule::None, Period::YEARLY),
    }
}

fn min_count(kind: &Kind) -> u32 {
    match kind {
        Kind::Yearly => 3,
        Kind::Quarterly { .. } => 4,
        _ => 5,
    }
}

fn start_strategy() -> impl Strategy<Value = NaiveDate> {
    (0i64..3_000).prop_map(|d| date(2018, 1, 1) + Duration::days(d))
}

proptest! {
    // 400 cases unless PROPTEST_CASES says otherwise (long hunts for rare failures).
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(400)
    ))]

    #[test]
    fn generated_series_are_found_with_their_period_and_next_date(
        kind in kind_strategy(), start in start_strategy(), extra in 0u32..25, seed in any::<u64>(),
    ) {
        let count = min_count(&kind) + extra % 8;
        let g = generate(&kind, start, count, seed);
        let dates = g.dates();
        let last = *dates.last().expect("non-empty");
        let found = detect(&series_of(&dates, "정기결제"), last + Duration::days(1));
        prop_assert_eq!(found.len(), 1, "{:?} {:?}", kind, dates);
        prop_assert_eq!(found[0].period, g.period);
        prop_assert!(g.next_ok(&g.pairs, found[0].next_expected), "{:?} {:?} -> {}", kind, dates, found[0].next_expected);
        prop_assert_eq!(found[0].occurrences, dates.len());
        prop_assert_eq!(found[0].status, SeriesStatus::Active);
    }

    #[test]
    fn one_outlier_does_not_flip_a_long_series(
        kind in kind_strategy(), start in start_strategy(), extra in 0u32..10,
        seed in any::<u64>(), pick in any::<u64>(),
    ) {
        let count = 10 + extra;
        let g = generate(&kind, start, count, seed);
        let dates = g.dates();
        let first = dates[0];
        let last = *dates.last().expect("non-empty");
        let span = (last - first).num_days();
        let mut rng = SplitMix64::new(pick);
        let outlier = first + Duration::days(rng.range_i64(1, span - 1));
        let mut with_extra = dates.clone();
        with_extra.push(outlier);
        with_extra.sort();
        let found = detect(&series_of(&with_extra, "정기결제"), last + Duration::days(1));
        prop_assert_eq!(found.len(), 1, "{:?} + {}", dates, outlier);
        prop_assert_eq!(found[0].period, g.period);
        prop_assert!(g.next_ok(&g.pairs, found[0].next_expected), "{:?} + {} -> {:?}", dates, outlier, found[0]);
        prop_assert_eq!(found[0].outliers, 1);

        // One missing occurrence (not the first or last) does not flip it either.
        let mut pairs = g.pairs.clone();
        pairs.remove(1 + rng.below(u64::from(count) - 2) as usize);
        let missing: Vec<NaiveDate> = pairs.iter().map(|p| p.0).collect();
        let found = detect(&series_of(&missing, "정기결제"), last + Duration::days(1));
        prop_assert_eq!(found.len(), 1, "{:?}", missing);
        prop_assert_eq!(found[0].period, g.period);
        prop_assert!(g.next_ok(&pairs, found[0].next_expected), "{:?} -> {:?}", missing, found[0]);
        prop_assert_eq!(found[0].missing, 1);
    }

    /// Café and convenience-store spending: visits every 0–6 days.
    #[test]
    fn random_frequent_spending_is_not_recurring(
        start in start_strategy(), gaps in proptest::collection::vec(0i64..=6, 8..120),
    ) {
        let mut d = start;
        let mut dates = vec![d];
        for g in gaps { d += Duration::days(g); dates.push(d); }
        let found = detect(&series_of(&dates, "스타벅스"), d);
        prop_assert!(found.is_empty(), "{:?}", found);
    }

    /// Irregular purchases every two weeks to two months are not recurring. (Gaps drawn from
    /// a narrower 25–35 days can look monthly by chance; see the module notes of `recurring`.)
    #[test]
    fn random_occasional_spending_is_not_recurring(
        start in start_strategy(), gaps in proptest::collection::vec(15i64..=60, 5..30),
    ) {
        let mut d = start;
        let mut dates = vec![d];
        for g in gaps { d += Duration::days(g); dates.push(d); }
        let found = detect(&series_of(&dates, "하이마트"), d);
        prop_assert!(found.is_empty(), "{:?} {:?}", dates, found);
    }
}

#[test]
fn a_water_bill_every_second_month_is_bimonthly_with_the_weekend_shift() {
    // 수도요금 due on the 20th of every odd month, debited on the next business day
    // (2026-09-20 is a Sunday: paid Monday the 21st).
    let dates = monthly_dates(2026, 1, 6, 20, 2, ShiftRule::NextBusinessDay);
    assert!(dates.contains(&date(2026, 9, 21)));
    let intervals: Vec<i64> = dates.windows(2).map(|w| (w[1] - w[0]).num_days()).collect();
    assert!(
        intervals.iter().all(|d| (59..=63).contains(d)),
        "{intervals:?}"
    );
    let found = detect(&series_of(&dates, "수도요금"), date(2026, 12, 1));
    assert_eq!(found.len(), 1, "{found:?}");
    let s = &found[0];
    assert_eq!(s.period, Period::BIMONTHLY);
    assert_eq!(s.period.code(), "bimonthly");
    assert_eq!(s.occurrences, 6);
    assert_eq!(s.status, SeriesStatus::Active);
    // 2027-01-20 is a Wednesday.
    assert_eq!(s.next_expected, date(2027, 1, 20));
    assert!(matches!(
        s.schedule,
        Schedule::EveryMonths {
            months: 2,
            day: 20,
            shift: ShiftRule::NextBusinessDay,
            ..
        }
    ));
}

#[test]
fn semi_annual_insurance_and_every_three_weeks_are_found() {
    // 2026-07-05 is a Sunday: paid Monday the 6th; the next due date, 2027-01-05, a Tuesday.
    let halves = monthly_dates(2024, 1, 6, 5, 6, ShiftRule::NextBusinessDay);
    let found = detect(&series_of(&halves, "삼성화재 보험료"), date(2026, 8, 1));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].period, Period::SEMIANNUAL);
    assert_eq!(found[0].period.code(), "semiannual");
    assert_eq!(found[0].last_date, date(2026, 7, 6));
    assert_eq!(found[0].next_expected, date(2027, 1, 5));

    let fridays: Vec<NaiveDate> = (0..8)
        .map(|k| date(2026, 1, 2) + Duration::days(21 * k))
        .collect();
    let found = detect(&series_of(&fridays, "정수기렌탈"), date(2026, 6, 1));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].period, Period::Weeks(3));
    assert_eq!(found[0].period.code(), "every_3_weeks");
    assert_eq!(
        found[0].next_expected,
        date(2026, 1, 2) + Duration::days(21 * 8)
    );
}

#[test]
fn every_four_weeks_is_not_mistaken_for_monthly_and_every_ten_days_is_found() {
    let every28: Vec<NaiveDate> = (0..10)
        .map(|k| date(2026, 1, 7) + Duration::days(28 * k))
        .collect();
    let found = detect(&series_of(&every28, "헬스장"), date(2026, 10, 1));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].period, Period::Weeks(4));
    assert_eq!(
        found[0].next_expected,
        date(2026, 1, 7) + Duration::days(280)
    );

    // Every ten days; a due date on a weekend is debited on the next business day.
    let nominal: Vec<NaiveDate> = (0..9)
        .map(|k| date(2026, 3, 2) + Duration::days(10 * k))
        .collect();
    let paid: Vec<NaiveDate> = nominal
        .iter()
        .map(|d| ShiftRule::NextBusinessDay.apply(*d))
        .collect();
    assert_ne!(nominal, paid, "the case needs a weekend due date");
    let found = detect(&series_of(&paid, "우유배달"), date(2026, 6, 1));
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].period, Period::Days(10));
    let next = ShiftRule::NextBusinessDay.apply(date(2026, 3, 2) + Duration::days(90));
    assert_eq!(found[0].next_expected, next);

    // Five such dates are not enough for an every-n-days schedule.
    let found = detect(&series_of(&paid[..5], "우유배달"), date(2026, 4, 15));
    assert!(found.is_empty(), "{found:?}");
}

#[test]
fn period_candidates_cover_every_cycle_in_order() {
    assert_eq!(
        Period::candidates(30),
        vec![Period::MONTHLY, Period::Weeks(4), Period::Days(30)]
    );
    assert_eq!(
        Period::candidates(28),
        vec![Period::MONTHLY, Period::Weeks(4)]
    );
    assert_eq!(
        Period::candidates(61),
        vec![Period::BIMONTHLY, Period::Weeks(9), Period::Days(61)]
    );
    assert_eq!(
        Period::candidates(182),
        vec![Period::SEMIANNUAL, Period::Weeks(26)]
    );
    assert_eq!(
        Period::candidates(365),
        vec![Period::YEARLY, Period::Days(365)]
    );
    assert_eq!(Period::candidates(7), vec![Period::WEEKLY]);
    assert_eq!(Period::candidates(10), vec![Period::Days(10)]);
    assert!(Period::candidates(3).is_empty());
    for k in 1..=12u32 {
        let days = Period::Months(k).nominal_days();
        assert_eq!(Period::candidates(days)[0], Period::Months(k), "{k}");
    }
}
