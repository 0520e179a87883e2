//! Deterministic workloads for the speed benchmark (`examples/bench.rs`, and a `ginkgo bench`
//! command). Nothing here measures time: callers time these functions.
//!
//! The generator imitates the sandbox's passbook vocabulary: a year of transactions per
//! customer with salary, rent, 관리비, bills and subscriptions on their schedules (a bimonthly
//! water bill with the weekend shift among them), random café, convenience-store, food,
//! transport and shopping spending with varying branch names, full and partial card
//! cancellations of some purchases, and monthly transfers between the customer's two accounts
//! across midnight.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use ginkgo_domain::Won;
use ginkgo_domain::rng::SplitMix64;

use crate::categorize::{
    Categorizer, MemoGroups, Preview, Rule, RuleKind, recompute_for_rule_change,
};
use crate::category::Category;
use crate::dictionary::{Dictionary, Keyword, KeywordDirection};
use crate::matching::{Adjustments, MatchContext};
use crate::recurring::{RecurringConfig, RecurringSeries, ShiftRule, detect_recurring_except};
use crate::txn::{Direction, Txn};

/// A generated customer's number from a transaction's `account_id` (`customer × 10 + k`, `k` 0
/// for the main account and 1 for the savings account).
pub fn customer_of(t: &Txn) -> i64 {
    t.account_id / 10
}

type Item = (
    NaiveDate,
    Direction,
    i64,
    String,
    bool,
    Option<chrono::NaiveTime>,
);

fn main(d: NaiveDate, dir: Direction, amount: i64, memo: String) -> Item {
    (d, dir, amount, memo, false, None)
}

const SYLLABLES: &[&str] = &[
    "가", "나", "다", "라", "마", "바", "사", "아", "자", "차", "카", "타", "파", "하", "강", "남",
    "동", "서", "북", "한", "빛", "솔", "숲", "별", "달", "해", "들", "샘", "온", "누", "리", "미",
    "소", "정", "원", "진", "현", "수", "영", "민", "준", "지", "윤", "효", "성", "훈", "재", "우",
];

const BRANCHES: &[&str] = &[
    "강남점",
    "역삼점",
    "성수점",
    "홍대점",
    "잠실점",
    "판교점",
    "신촌점",
    "종로점",
    "여의도점",
    "용산점",
    "강남역점",
    "서초점",
    "마포점",
    "노원점",
    "분당점",
    "",
];

const RANDOM_SPEND: &[(&str, i64, i64, bool)] = &[
    // (memo stem, min, max, takes a branch suffix)
    ("스타벅스", 4_500, 15_000, true),
    ("투썸플레이스", 5_000, 20_000, true),
    ("이디야커피", 3_000, 9_000, true),
    ("메가MGC커피", 2_000, 8_000, true),
    ("빽다방", 2_000, 7_000, true),
    ("GS25", 1_200, 25_000, true),
    ("CU", 1_200, 25_000, true),
    ("세븐일레븐", 1_200, 20_000, true),
    ("이마트24", 1_200, 20_000, true),
    ("배달의민족", 12_000, 45_000, false),
    ("쿠팡이츠", 12_000, 40_000, false),
    ("요기요", 12_000, 40_000, false),
    ("카카오T택시", 4_800, 38_000, false),
    ("티머니 교통", 1_400, 2_900, false),
    ("이마트", 20_000, 180_000, true),
    ("홈플러스", 15_000, 150_000, true),
    ("김밥천국", 4_000, 15_000, true),
    ("맥도날드", 6_000, 18_000, true),
    ("쿠팡", 9_900, 250_000, false),
    ("무신사", 29_000, 190_000, false),
    ("올리브영", 8_000, 70_000, true),
    ("다이소", 2_000, 30_000, true),
    ("서울내과의원", 5_000, 30_000, false),
    ("온누리약국", 3_000, 25_000, false),
    ("CGV", 14_000, 40_000, true),
    ("교보문고", 12_000, 60_000, true),
    ("카카오페이 송금", 10_000, 200_000, false),
];

fn word(rng: &mut SplitMix64, syllables: u64) -> String {
    (0..syllables).map(|_| *rng.pick(SYLLABLES)).collect()
}

/// A dictionary of `keywords` entries: the built-in one topped up with generated merchant
/// names (3–5 Hangul syllables + a shop word), deterministic for `seed`.
pub fn synthetic_dictionary(seed: u64, keywords: usize) -> Dictionary {
    let builtin = Dictionary::builtin();
    let mut entries: Vec<Keyword> = builtin.keywords().to_vec();
    let mut rng = SplitMix64::derive(seed, 1);
    let shops = [
        "상회",
        "마트",
        "식당",
        "상사",
        "약국",
        "학원",
        "치킨",
        "베이커리",
    ];
    let mut seen: std::collections::HashSet<String> =
        entries.iter().map(|k| k.text.clone()).collect();
    let mut guard = 0;
    while entries.len() < keywords && guard < keywords * 20 {
        guard += 1;
        let len = 3 + rng.below(3);
        let text = format!("{}{}", word(&mut rng, len), rng.pick(&shops));
        if !seen.insert(text.clone()) {
            continue;
        }
        entries.push(Keyword {
            text,
            category: *rng.pick(&Category::ALL[..13]),
            direction: KeywordDirection::Out,
        });
    }
    Dictionary::new(entries)
}

/// `count` customer rules: half `Equals` on realistic memos, half `Contains` on generated
/// fragments, in random positions.
pub fn synthetic_rules(seed: u64, count: usize) -> Vec<Rule> {
    let mut rng = SplitMix64::derive(seed, 2);
    (0..count)
        .map(|i| {
            let (kind, pattern) = if i % 2 == 0 {
                let (stem, _, _, branch) = *rng.pick(RANDOM_SPEND);
                let suffix = if branch { *rng.pick(BRANCHES) } else { "" };
                (RuleKind::Equals, format!("{stem} {suffix}"))
            } else {
                let len = 2 + rng.below(2);
                (RuleKind::Contains, word(&mut rng, len))
            };
            Rule {
                id: i as i64 + 1,
                kind,
                pattern,
                category: *rng.pick(&Category::ALL),
                position: rng.range_i64(0, 1_000) as i32,
            }
        })
        .collect()
}

fn business_shift(date: NaiveDate, rule: ShiftRule) -> NaiveDate {
    rule.apply(date)
}

fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    date.checked_add_signed(Duration::days(days))
        .unwrap_or(date)
}

/// Transactions for `customers` customers (ids `1..`, `account_id` = customer number × 10, or
/// × 10 + 1 for the savings side of own transfers; see [`customer_of`]), in customer order then
/// date order, `per_customer` each (at least the recurring items of a year
/// are generated; random spending fills up to `per_customer`). Deterministic for `seed`.
pub fn generate_transactions(seed: u64, customers: usize, per_customer: usize) -> Vec<Txn> {
    let mut out = Vec::with_capacity(customers * per_customer);
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
    let mut next_id: i64 = 1;
    // Per-customer streams are seeded from a master stream: `SplitMix64::derive` with
    // consecutive labels gives streams that are shifted copies of each other.
    let mut master = SplitMix64::derive(seed, 3);
    for c in 0..customers {
        let mut rng = SplitMix64::new(master.next_u64());
        // (date, direction, amount, memo, on the savings account, time)
        let mut items: Vec<Item> = Vec::new();
        let employer = format!("(주){} 급여", word(&mut rng, 3));
        let salary = rng.range_i64(2_500_000, 6_000_000);
        let rent = rng.range_i64(40, 120) * 10_000;
        let landlord = format!("월세 {}", word(&mut rng, 3));
        let netflix_day = rng.range_i64(1, 28) as u32;
        let melon_day = rng.range_i64(1, 28) as u32;
        for m in 0..12u32 {
            let month_first = NaiveDate::from_ymd_opt(2025, m + 1, 1).unwrap_or(start);
            let on = |day: u32| NaiveDate::from_ymd_opt(2025, m + 1, day).unwrap_or(month_first);
            items.push(main(
                business_shift(on(25), ShiftRule::PreviousBusinessDay),
                Direction::In,
                salary,
                employer.clone(),
            ));
            items.push(main(
                business_shift(on(1), ShiftRule::NextBusinessDay),
                Direction::Out,
                rent,
                landlord.clone(),
            ));
            items.push(main(
                add_days(on(10), rng.range_i64(-1, 1)),
                Direction::Out,
                rng.range_i64(150_000, 260_000),
                "아파트관리비".into(),
            ));
            items.push(main(on(20), Direction::Out, 69_000, "SKT 통신요금".into()));
            items.push(main(
                on(15),
                Direction::Out,
                rng.range_i64(20_000, 90_000),
                "한국전력공사".into(),
            ));
            items.push(main(
                on(netflix_day),
                Direction::Out,
                17_000,
                "NETFLIX.COM".into(),
            ));
            items.push(main(on(melon_day), Direction::Out, 10_900, "멜론".into()));
            // 수도요금 every second month on the 15th, next business day.
            if (m + 1) % 2 == 0 {
                items.push(main(
                    business_shift(on(15), ShiftRule::NextBusinessDay),
                    Direction::Out,
                    rng.range_i64(20_000, 45_000) / 10 * 10,
                    "수도요금".into(),
                ));
            }
            // An own transfer to the savings account: sent at 23:50 on the 8th, received at
            // 00:10 on the 9th.
            let sent = on(8);
            items.push((
                sent,
                Direction::Out,
                300_000,
                "토스 이체".into(),
                false,
                chrono::NaiveTime::from_hms_opt(23, 50, 0),
            ));
            items.push((
                add_days(sent, 1),
                Direction::In,
                300_000,
                "토스 이체".into(),
                true,
                chrono::NaiveTime::from_hms_opt(0, 10, 0),
            ));
        }
        items.push(main(
            NaiveDate::from_ymd_opt(2025, 3, 14).unwrap_or(start),
            Direction::Out,
            99_000,
            "쿠팡와우 연회비".into(),
        ));
        let mut monday = start;
        while monday.weekday() != Weekday::Mon {
            monday = add_days(monday, 1);
        }
        while monday.year() == 2025 {
            items.push(main(monday, Direction::Out, 60_000, "영어학원".into()));
            monday = add_days(monday, 7);
        }
        while items.len() < per_customer {
            let (stem, lo, hi, branch) = *rng.pick(RANDOM_SPEND);
            let suffix = if branch { *rng.pick(BRANCHES) } else { "" };
            let memo = if suffix.is_empty() {
                stem.to_string()
            } else {
                format!("{stem} {suffix}")
            };
            let date = add_days(start, rng.range_i64(0, 364));
            let incoming = stem == "쿠팡" && rng.chance(0.05);
            let (direction, memo) = if incoming {
                (Direction::In, "쿠팡 환불".to_string())
            } else {
                (Direction::Out, memo)
            };
            let amount = rng.range_i64(lo, hi) / 100 * 100;
            // 3 % of purchases are cancelled a few days later: in full, or a third of them.
            let cancel = direction == Direction::Out && rng.chance(0.03);
            items.push(main(date, direction, amount, memo.clone()));
            if cancel && items.len() < per_customer {
                let when = add_days(date, rng.range_i64(0, 5));
                if rng.chance(0.5) {
                    items.push(main(when, Direction::In, amount, format!("{memo} 취소")));
                } else {
                    let part = (amount / 3 / 100 * 100).max(100);
                    items.push(main(when, Direction::In, part, format!("{memo} 부분취소")));
                }
            }
        }
        items.truncate(per_customer.max(1));
        items.sort_by_key(|a| (a.0, a.5));
        let mut balance: i64 = rng.range_i64(1_000_000, 10_000_000);
        for (date, direction, amount, memo, savings, time) in items {
            balance = match direction {
                Direction::In => balance.saturating_add(amount),
                Direction::Out => balance.saturating_sub(amount),
            };
            out.push(Txn {
                id: next_id,
                account_id: (c as i64 + 1) * 10 + i64::from(savings),
                date,
                time,
                direction,
                amount: Won::new(amount),
                balance_after: Won::new(balance),
                memo,
                tran_type: String::new(),
                category: None,
                category_manual: false,
            });
            next_id += 1;
        }
    }
    out
}

/// Categorises every transaction (normalise + rules + dictionary) and stores the category;
/// returns how many transactions changed. This is the "categorise them all" workload.
pub fn categorize_all(categorizer: &Categorizer, txns: &mut [Txn]) -> usize {
    categorizer.apply(txns)
}

/// One customer's recurring series the way the server finds them: own transfers paired and
/// cancellations matched first ([`Adjustments::analyse`]), own transfers left out of the
/// detection (moving money between one's own accounts is no fixed cost).
pub fn recurring_of_customer(
    txns: &[Txn],
    config: &RecurringConfig,
    as_of: NaiveDate,
) -> (Adjustments, Vec<RecurringSeries>) {
    let adj = Adjustments::analyse(txns, &MatchContext::default());
    let series =
        detect_recurring_except(txns, config, as_of, |t| adj.transfers.contains_key(&t.id));
    (adj, series)
}

/// Calls `f` with each customer's slice ([`customer_of`]; the slice must be grouped by
/// customer, as generated by [`generate_transactions`]).
pub fn per_customer(txns: &[Txn], mut f: impl FnMut(&[Txn])) {
    let mut start = 0;
    while start < txns.len() {
        let customer = customer_of(&txns[start]);
        let mut end = start;
        while end < txns.len() && customer_of(&txns[end]) == customer {
            end += 1;
        }
        f(&txns[start..end]);
        start = end;
    }
}

/// Pairing and netting alone, per customer: answers (own-transfer sides, matched
/// cancellations).
pub fn analyse_all(txns: &[Txn]) -> (usize, usize) {
    let (mut pairs, mut cancels) = (0, 0);
    per_customer(txns, |c| {
        let adj = Adjustments::analyse(c, &MatchContext::default());
        pairs += adj.transfers.len();
        cancels += adj.cancellations.values().filter(|p| p.is_some()).count();
    });
    (pairs, cancels)
}

/// Recurring detection per customer with pairing and netting first
/// ([`recurring_of_customer`]). Returns the number of series found.
pub fn detect_all(txns: &[Txn], config: &RecurringConfig, as_of: NaiveDate) -> usize {
    let mut found = 0;
    per_customer(txns, |c| {
        found += recurring_of_customer(c, config, as_of).1.len()
    });
    found
}

/// The change set after adding `rule` to a categorizer already built with it (`after`),
/// scanning the transactions directly.
pub fn recompute_new_rule(txns: &[Txn], rule: &Rule, after: &Categorizer) -> Preview {
    recompute_for_rule_change(txns, None, Some(rule), after)
}

/// The same through [`MemoGroups`] (distinct memos tested once).
pub fn recompute_new_rule_grouped(
    groups: &MemoGroups,
    txns: &[Txn],
    rule: &Rule,
    after: &Categorizer,
) -> Preview {
    groups.recompute_for_rule_change(txns, None, Some(rule), after)
}
