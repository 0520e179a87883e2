//! Deterministic generator of Korean personal finances for the sandbox.
//!
//! Everything is a pure function of its inputs: the same [`WorldSpec`] (seed, end date, span …)
//! gives the same users, accounts and rows on every machine ([`SplitMix64`], never `rand`).
//! [`generate_rows`] is the row generator itself, callable directly by benchmarks.
//!
//! A main account looks like a real person's year: salary on the 25th (the previous Friday when
//! the 25th is a weekend), rent on the 1st (next business day), 관리비 around the 10th,
//! electricity/gas monthly with varying amounts, the phone bill on the 20th, subscriptions on
//! fixed days, one yearly subscription, one weekly item, random café / convenience store /
//! delivery / transport / meals / shopping, transfers, occasional large purchases and 쿠팡
//! refunds. About once a month a card payment is cancelled and paid again in the same second,
//! which yields two rows identical in every field (the reason a transaction identity needs an
//! ordinal, see `ginkgo_openbanking`'s crate docs). `after_balance` is consistent row to row and
//! the account's balance is the last row's `after_balance`.

// `*rng.pick(TABLE)` reads better than relying on inference through `pick`'s generic.
#![allow(clippy::explicit_auto_deref)]

use std::borrow::Cow;

use chrono::{Datelike, Days, NaiveDate, NaiveTime, Weekday};
use ginkgo_domain::Won;
use ginkgo_domain::rng::SplitMix64;
use ginkgo_openbanking::Direction;
use ginkgo_openbanking::model::{Transaction, wire_date, wire_time};
use ginkgo_openbanking::wire::TransactionRow;
use sha2::{Digest, Sha256};

/// One generated passbook row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedRow {
    pub date: NaiveDate,
    pub time: NaiveTime,
    pub direction: Direction,
    pub tran_type: &'static str,
    /// `print_content`, at most 20 characters.
    pub memo: Cow<'static, str>,
    pub amount: Won,
    pub after_balance: Won,
    pub branch_name: &'static str,
}

impl GeneratedRow {
    pub fn to_wire(&self) -> TransactionRow {
        TransactionRow {
            tran_date: wire_date(self.date),
            tran_time: wire_time(self.time),
            inout_type: self.direction.as_wire().to_string(),
            tran_type: self.tran_type.to_string(),
            print_content: self.memo.to_string(),
            tran_amt: self.amount.get().to_string(),
            after_balance_amt: self.after_balance.get().to_string(),
            branch_name: self.branch_name.to_string(),
        }
    }

    pub fn to_transaction(&self) -> Transaction {
        Transaction {
            date: self.date,
            time: self.time,
            direction: self.direction,
            tran_type: self.tran_type.to_string(),
            memo: self.memo.to_string(),
            amount: self.amount,
            after_balance: self.after_balance,
            branch_name: self.branch_name.to_string(),
        }
    }
}

/// What kind of life an account shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountKind {
    /// Salary, rent, bills, subscriptions and daily spending.
    Main,
    /// A side account: a monthly transfer in from the owner and light spending.
    Side,
}

/// Inputs of [`generate_rows`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSpec {
    pub seed: u64,
    pub kind: AccountKind,
    /// The owner's name (used in self-transfer memos).
    pub owner_name: String,
    /// First and last day of the history (inclusive).
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub opening_balance: Won,
    /// Extra random card rows per day on top of the normal life (benchmarks; 0 normally).
    pub extra_rows_per_day: u32,
    /// Transfers between this owner's own accounts: a main account sends them (250,000 on the
    /// 8th at 23:50; 400,000 on the last Friday of the month at 22:00), the first side
    /// account receives them (00:10 the next day; 09:00 the Monday after).
    pub own_transfers: bool,
}

impl AccountSpec {
    /// A main account with about `rows` rows (exactly `rows` when the span can hold them),
    /// ending at `to` — the benchmark account.
    pub fn with_rows(seed: u64, rows: u64, to: NaiveDate, days: u32) -> AccountSpec {
        let days = days.max(1);
        let per_day = (rows / u64::from(days)).saturating_sub(8);
        AccountSpec {
            seed,
            kind: AccountKind::Main,
            owner_name: "김벤치".to_string(),
            from: to
                .checked_sub_days(Days::new(u64::from(days) - 1))
                .unwrap_or(to),
            to,
            opening_balance: Won::new(5_000_000),
            extra_rows_per_day: u32::try_from(per_day + per_day / 20 + 4).unwrap_or(u32::MAX),
            own_transfers: false,
        }
    }
}

struct Profile {
    employer: &'static str,
    salary: i64,
    landlord: &'static str,
    rent: i64,
    phone: &'static str,
    phone_bill: i64,
    subscriptions: Vec<(&'static str, i64, u32)>,
    yearly: (&'static str, i64, u32, u32),
    weekly: (&'static str, i64, Weekday),
    salary_second: u32,
}

const EMPLOYERS: &[&str] = &[
    "(주)한빛소프트 급여",
    "(주)가온테크 급여",
    "(주)누리시스템 급여",
    "미래물산(주) 급여",
    "(주)다온푸드 급여",
];
const LANDLORDS: &[&str] = &["월세 김영숙", "월세 박정자", "월세 이순자", "월세 최영희"];
const PHONES: &[&str] = &["SKT 통신요금", "KT 휴대폰요금", "LGU+ 인터넷"];
const SUBSCRIPTIONS: &[(&str, i64)] = &[
    ("NETFLIX.COM", 17_000),
    ("유튜브프리미엄", 14_900),
    ("멜론", 10_900),
    ("쿠팡와우", 7_890),
];
const YEARLY: &[(&str, i64)] = &[("SPOTIFY", 119_000)];
const WEEKLY: &[(&str, i64, Weekday)] = &[
    ("영어학원", 50_000, Weekday::Mon),
    ("교회 헌금", 30_000, Weekday::Sun),
];

const CAFES: &[&str] = &[
    "스타벅스 강남R점",
    "스타벅스 역삼점",
    "투썸플레이스",
    "이디야커피",
    "메가MGC커피",
    "빽다방",
];
const STORES: &[&str] = &[
    "GS25 역삼점",
    "CU 강남역점",
    "세븐일레븐",
    "이마트24",
    "GS25 성수점",
];
const DELIVERY: &[&str] = &["배달의민족", "쿠팡이츠", "요기요"];
const TRANSPORT: &[&str] = &["티머니 교통", "티머니 교통", "티머니 교통", "카카오T택시"];
const TRAINS: &[&str] = &["코레일", "SRT"];
const MEALS: &[&str] = &["김밥천국", "맥도날드", "버거킹", "본죽"];
const GROCERIES: &[&str] = &["이마트 성수점", "홈플러스", "롯데마트", "마켓컬리"];
const SHOPPING: &[&str] = &["쿠팡", "무신사", "올리브영", "다이소"];
const LARGE: &[&str] = &["하이마트", "삼성전자 디지털프라자"];
const MEDICAL: &[&str] = &["서울내과의원", "온누리약국", "연세치과"];
const EDUCATION: &[&str] = &["인프런", "교보문고"];
const LEISURE: &[&str] = &["CGV 용산", "롯데시네마", "인터파크티켓"];
const TRANSFERS_OUT: &[&str] = &["카카오페이 송금", "토스 이체", "이체 홍길동", "이체 김철수"];
const TRANSFERS_IN: &[&str] = &["카카오페이 송금", "토스 이체", "이체 이영희"];

fn profile(rng: &mut SplitMix64) -> Profile {
    let mut subscriptions = Vec::new();
    for (i, &(memo, amount)) in SUBSCRIPTIONS.iter().enumerate() {
        // Netflix always; the others for most people.
        if i == 0 || rng.chance(0.7) {
            subscriptions.push((memo, amount, 1 + rng.below(28) as u32));
        }
    }
    let yearly = *rng.pick(YEARLY);
    let weekly = *rng.pick(WEEKLY);
    Profile {
        employer: *rng.pick(EMPLOYERS),
        salary: rng.range_i64(280, 520) * 10_000,
        landlord: *rng.pick(LANDLORDS),
        rent: rng.range_i64(50, 90) * 10_000,
        phone: *rng.pick(PHONES),
        phone_bill: rng.range_i64(45, 89) * 1_000,
        subscriptions,
        yearly: (
            yearly.0,
            yearly.1,
            1 + rng.below(12) as u32,
            1 + rng.below(28) as u32,
        ),
        weekly,
        salary_second: 9 * 3600 + rng.below(1800) as u32,
    }
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// The 25th, or the Friday before when it falls on a weekend.
pub fn salary_day(year: i32, month: u32) -> Option<NaiveDate> {
    let mut d = NaiveDate::from_ymd_opt(year, month, 25)?;
    while is_weekend(d) {
        d = d.pred_opt()?;
    }
    Some(d)
}

/// The 1st, or the next business day when it falls on a weekend.
pub fn rent_day(year: i32, month: u32) -> Option<NaiveDate> {
    let mut d = NaiveDate::from_ymd_opt(year, month, 1)?;
    while is_weekend(d) {
        d = d.succ_opt()?;
    }
    Some(d)
}

/// The last Friday of `date`'s month is `date`.
fn is_last_friday(date: NaiveDate) -> bool {
    date.weekday() == Weekday::Fri
        && date
            .checked_add_days(Days::new(7))
            .is_some_and(|n| n.month() != date.month())
}

/// The day itself, or the next business day when it falls on a weekend.
fn next_business_day(date: NaiveDate) -> NaiveDate {
    let mut d = date;
    while is_weekend(d) {
        match d.succ_opt() {
            Some(n) => d = n,
            None => break,
        }
    }
    d
}

/// Own transfers a main account sends (see [`AccountSpec::own_transfers`]).
fn own_transfers_out(date: NaiveDate, ev: &mut Vec<Event>) {
    if date.day() == 8 {
        ev.push(fixed(
            23 * 3600 + 50 * 60,
            Direction::Withdrawal,
            "대체",
            Cow::Borrowed("토스 이체"),
            250_000,
        ));
    }
    if is_last_friday(date) {
        ev.push(fixed(
            22 * 3600,
            Direction::Withdrawal,
            "대체",
            Cow::Borrowed("계좌이체"),
            400_000,
        ));
    }
}

/// Own transfers the first side account receives (see [`AccountSpec::own_transfers`]).
fn own_transfers_in(date: NaiveDate, ev: &mut Vec<Event>) {
    if date.day() == 9 {
        ev.push(fixed(
            10 * 60,
            Direction::Deposit,
            "대체",
            Cow::Borrowed("토스 이체"),
            250_000,
        ));
    }
    if date.weekday() == Weekday::Mon
        && date
            .checked_sub_days(Days::new(3))
            .is_some_and(is_last_friday)
    {
        ev.push(fixed(
            9 * 3600,
            Direction::Deposit,
            "대체",
            Cow::Borrowed("계좌이체"),
            400_000,
        ));
    }
}

/// Day `day` of the month, clamped to the month's last day.
fn clamped_day(year: i32, month: u32, day: u32) -> Option<NaiveDate> {
    (1..=day.min(31))
        .rev()
        .find_map(|d| NaiveDate::from_ymd_opt(year, month, d))
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A fixed or scheduled row.
    Fixed,
    /// Discretionary spending: turned into a top-up transfer when the balance cannot pay it.
    Spend,
    /// Payment, cancellation and re-payment in the same second.
    Triple,
}

struct Event {
    second: u32,
    direction: Direction,
    tran_type: &'static str,
    memo: Cow<'static, str>,
    amount: i64,
    branch: &'static str,
    kind: Kind,
}

fn at(rng: &mut SplitMix64, from_h: u32, to_h: u32) -> u32 {
    from_h * 3600 + rng.below(u64::from((to_h - from_h) * 3600)) as u32
}

fn round_to(v: i64, unit: i64) -> i64 {
    (v / unit).max(1) * unit
}

fn spend(second: u32, memo: &'static str, amount: i64) -> Event {
    Event {
        second,
        direction: Direction::Withdrawal,
        tran_type: "체크카드",
        memo: Cow::Borrowed(memo),
        amount,
        branch: "",
        kind: Kind::Spend,
    }
}

fn fixed(
    second: u32,
    direction: Direction,
    tran_type: &'static str,
    memo: Cow<'static, str>,
    amount: i64,
) -> Event {
    Event {
        second,
        direction,
        tran_type,
        memo,
        amount,
        branch: "",
        kind: Kind::Fixed,
    }
}

/// Generates an account's rows, oldest first. Pure: the same spec gives the same rows.
pub fn generate_rows(spec: &AccountSpec) -> Vec<GeneratedRow> {
    let mut base = SplitMix64::derive(spec.seed, 0x5EED_0001);
    let profile = profile(&mut base);
    let days = (spec.to - spec.from).num_days().max(0) as usize + 1;
    let estimate = days * (6 + spec.extra_rows_per_day as usize);
    let mut rows = Vec::with_capacity(estimate);
    let mut balance = spec.opening_balance;
    let mut events: Vec<Event> = Vec::with_capacity(16 + spec.extra_rows_per_day as usize);
    let mut refunds: Vec<Refund> = Vec::new();
    let self_transfer: Cow<'static, str> =
        Cow::Owned(truncate_chars(&format!("이체 {}", spec.owner_name), 20));

    let mut date = spec.from;
    while date <= spec.to {
        let mut rng =
            SplitMix64::derive(spec.seed, u64::from(date.num_days_from_ce().unsigned_abs()));
        events.clear();
        match spec.kind {
            AccountKind::Main => main_day(
                &mut rng,
                &profile,
                date,
                &mut events,
                &mut refunds,
                spec.extra_rows_per_day,
            ),
            AccountKind::Side => side_day(&mut rng, date, &mut events, &self_transfer),
        }
        if spec.own_transfers {
            match spec.kind {
                AccountKind::Main => own_transfers_out(date, &mut events),
                AccountKind::Side => own_transfers_in(date, &mut events),
            }
        }
        events.sort_by_key(|e| e.second);
        for e in events.drain(..) {
            let time = NaiveTime::from_num_seconds_from_midnight_opt(e.second.min(86_399), 0)
                .unwrap_or(NaiveTime::MIN);
            let short = e.kind == Kind::Spend && balance.get() < e.amount.saturating_add(30_000);
            let mut push = |direction: Direction,
                            tran_type: &'static str,
                            memo: Cow<'static, str>,
                            amount: i64| {
                let amt = Won::new(amount);
                let next = if direction.is_incoming() {
                    balance.checked_add(amt)
                } else {
                    balance.checked_sub(amt)
                };
                if let Ok(next) = next {
                    balance = next;
                    rows.push(GeneratedRow {
                        date,
                        time,
                        direction,
                        tran_type,
                        memo,
                        amount: amt,
                        after_balance: balance,
                        branch_name: e.branch,
                    });
                }
            };
            match e.kind {
                Kind::Spend if short => {
                    // Not enough money: the owner moves some in from elsewhere instead.
                    let top_up = round_to(e.amount * 3 + 200_000, 10_000);
                    push(Direction::Deposit, "대체", self_transfer.clone(), top_up);
                }
                Kind::Triple => {
                    push(Direction::Withdrawal, e.tran_type, e.memo.clone(), e.amount);
                    push(Direction::Deposit, "체크카드취소", e.memo.clone(), e.amount);
                    push(Direction::Withdrawal, e.tran_type, e.memo, e.amount);
                }
                _ => push(e.direction, e.tran_type, e.memo, e.amount),
            }
        }
        date = match date.succ_opt() {
            Some(d) => d,
            None => break,
        };
    }
    rows
}

fn truncate_chars(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// A 쿠팡 cancellation scheduled by a purchase: all of it (`쿠팡 환불`) or part of it
/// (`쿠팡 부분취소`).
#[derive(Clone, Copy)]
struct Refund {
    when: NaiveDate,
    amount: i64,
    partial: bool,
}

fn main_day(
    rng: &mut SplitMix64,
    p: &Profile,
    date: NaiveDate,
    ev: &mut Vec<Event>,
    refunds: &mut Vec<Refund>,
    extra: u32,
) {
    let (y, m, d) = (date.year(), date.month(), date.day());
    if salary_day(y, m) == Some(date) {
        ev.push(fixed(
            p.salary_second,
            Direction::Deposit,
            "대체",
            Cow::Borrowed(p.employer),
            p.salary,
        ));
    }
    if rent_day(y, m) == Some(date) {
        ev.push(fixed(
            10 * 3600,
            Direction::Withdrawal,
            "자동이체",
            Cow::Borrowed(p.landlord),
            p.rent,
        ));
    }
    // 관리비 around the 10th: the 10th, 11th or 12th depending on the month.
    let management_day =
        10 + (SplitMix64::derive(u64::from(m) * 31 + y as u64, 77).below(3) as u32);
    if d == management_day {
        let amount = round_to(rng.range_i64(120_000, 260_000), 10);
        ev.push(fixed(
            at(rng, 6, 8),
            Direction::Withdrawal,
            "자동이체",
            Cow::Borrowed("아파트관리비"),
            amount,
        ));
    }
    if d == 20 {
        ev.push(fixed(
            7 * 3600,
            Direction::Withdrawal,
            "자동이체",
            Cow::Borrowed(p.phone),
            p.phone_bill,
        ));
    }
    if d == 18 {
        let seasonal = if matches!(m, 7 | 8 | 12 | 1) {
            45_000
        } else {
            15_000
        };
        let amount = round_to(rng.range_i64(20_000, 40_000) + seasonal, 10);
        ev.push(fixed(
            7 * 3600 + 600,
            Direction::Withdrawal,
            "자동이체",
            Cow::Borrowed("한국전력공사"),
            amount,
        ));
    }
    if d == 22 {
        let seasonal = if matches!(m, 11 | 12 | 1 | 2 | 3) {
            70_000
        } else {
            8_000
        };
        let amount = round_to(rng.range_i64(10_000, 30_000) + seasonal, 10);
        ev.push(fixed(
            7 * 3600 + 1200,
            Direction::Withdrawal,
            "자동이체",
            Cow::Borrowed("서울도시가스"),
            amount,
        ));
    }
    // 수도요금 every second month, due on the 15th, debited on the next business day.
    if m % 2 == 0 && NaiveDate::from_ymd_opt(y, m, 15).map(next_business_day) == Some(date) {
        let amount = round_to(rng.range_i64(18_000, 42_000), 10);
        ev.push(fixed(
            7 * 3600 + 1800,
            Direction::Withdrawal,
            "자동이체",
            Cow::Borrowed("수도요금"),
            amount,
        ));
    }
    // Car insurance every six months (March and September), due on the 5th, debited on the
    // next business day.
    if matches!(m, 3 | 9) && NaiveDate::from_ymd_opt(y, m, 5).map(next_business_day) == Some(date) {
        ev.push(fixed(
            8 * 3600,
            Direction::Withdrawal,
            "자동이체",
            Cow::Borrowed("KB손해보험 자동차보험"),
            342_000,
        ));
    }
    for &(memo, amount, day) in &p.subscriptions {
        if clamped_day(y, m, day) == Some(date) {
            ev.push(fixed(
                4 * 3600,
                Direction::Withdrawal,
                "체크카드",
                Cow::Borrowed(memo),
                amount,
            ));
        }
    }
    if m == p.yearly.2 && clamped_day(y, m, p.yearly.3) == Some(date) {
        ev.push(fixed(
            4 * 3600 + 300,
            Direction::Withdrawal,
            "체크카드",
            Cow::Borrowed(p.yearly.0),
            p.yearly.1,
        ));
    }
    if date.weekday() == p.weekly.2 {
        ev.push(fixed(
            19 * 3600,
            Direction::Withdrawal,
            "대체",
            Cow::Borrowed(p.weekly.0),
            p.weekly.1,
        ));
    }
    // 쿠팡 refunds scheduled by earlier purchases.
    refunds.retain(|r| {
        if r.when == date {
            ev.push(fixed(
                11 * 3600,
                Direction::Deposit,
                "체크카드취소",
                Cow::Borrowed(if r.partial {
                    "쿠팡 부분취소"
                } else {
                    "쿠팡 환불"
                }),
                r.amount,
            ));
            false
        } else {
            true
        }
    });

    let weekday = !is_weekend(date);
    for _ in 0..rng.below(3) {
        if rng.chance(0.45) {
            ev.push(spend(
                at(rng, 8, 21),
                *rng.pick(CAFES),
                round_to(rng.range_i64(2_000, 7_500), 100),
            ));
        }
    }
    if rng.chance(0.5) {
        ev.push(spend(
            at(rng, 7, 24),
            *rng.pick(STORES),
            round_to(rng.range_i64(1_200, 18_000), 100),
        ));
    }
    if rng.chance(0.25) {
        ev.push(spend(
            at(rng, 18, 23),
            *rng.pick(DELIVERY),
            round_to(rng.range_i64(14_000, 38_000), 100),
        ));
    }
    if weekday {
        let fare = *rng.pick(&[1_450i64, 1_550, 1_650]);
        ev.push(spend(at(rng, 7, 9), "티머니 교통", fare));
        if rng.chance(0.8) {
            ev.push(spend(at(rng, 18, 21), *rng.pick(TRANSPORT), fare));
        }
        if rng.chance(0.5) {
            ev.push(spend(
                at(rng, 11, 13),
                *rng.pick(MEALS),
                round_to(rng.range_i64(6_000, 12_000), 500),
            ));
        }
    } else if rng.chance(0.3) {
        ev.push(spend(
            at(rng, 10, 20),
            *rng.pick(LEISURE),
            round_to(rng.range_i64(12_000, 60_000), 1_000),
        ));
    }
    if rng.chance(0.02) {
        ev.push(spend(
            at(rng, 6, 22),
            *rng.pick(TRAINS),
            round_to(rng.range_i64(25_000, 60_000), 100),
        ));
    }
    if rng.chance(if weekday { 0.1 } else { 0.45 }) {
        ev.push(spend(
            at(rng, 10, 21),
            *rng.pick(GROCERIES),
            round_to(rng.range_i64(15_000, 120_000), 10),
        ));
    }
    if rng.chance(0.08) {
        let memo = *rng.pick(SHOPPING);
        let amount = round_to(rng.range_i64(9_000, 90_000), 10);
        ev.push(spend(at(rng, 9, 24), memo, amount));
        if memo == "쿠팡"
            && rng.chance(0.3)
            && let Some(when) = date.checked_add_days(Days::new(2 + rng.below(6)))
        {
            // One in three cancels part of the order (one item of several).
            let partial = rng.chance(0.33);
            let amount = if partial {
                round_to(amount / 3, 10)
            } else {
                amount
            };
            refunds.push(Refund {
                when,
                amount,
                partial,
            });
        }
    }
    if rng.chance(0.012) {
        ev.push(spend(
            at(rng, 11, 20),
            *rng.pick(LARGE),
            round_to(rng.range_i64(300_000, 2_000_000), 1_000),
        ));
    }
    if rng.chance(0.03) {
        ev.push(spend(
            at(rng, 9, 18),
            *rng.pick(MEDICAL),
            round_to(rng.range_i64(3_000, 80_000), 100),
        ));
    }
    if rng.chance(0.02) {
        ev.push(spend(
            at(rng, 9, 22),
            *rng.pick(EDUCATION),
            round_to(rng.range_i64(12_000, 99_000), 100),
        ));
    }
    if rng.chance(0.05) {
        let amount = round_to(rng.range_i64(10_000, 200_000), 1_000);
        ev.push(Event {
            tran_type: "대체",
            ..spend(at(rng, 9, 23), *rng.pick(TRANSFERS_OUT), amount)
        });
    }
    if rng.chance(0.03) {
        let amount = round_to(rng.range_i64(10_000, 150_000), 1_000);
        ev.push(fixed(
            at(rng, 9, 23),
            Direction::Deposit,
            "대체",
            Cow::Borrowed(*rng.pick(TRANSFERS_IN)),
            amount,
        ));
    }
    if rng.chance(0.02) {
        let amount = round_to(rng.range_i64(50_000, 300_000), 10_000);
        ev.push(Event {
            tran_type: "현금",
            branch: "역삼역점",
            ..spend(at(rng, 9, 22), "ATM 출금", amount)
        });
    }
    if rng.chance(0.008) {
        let amount = round_to(rng.range_i64(50_000, 500_000), 10_000);
        ev.push(Event {
            branch: "강남점",
            ..fixed(
                at(rng, 9, 16),
                Direction::Deposit,
                "현금",
                Cow::Borrowed("현금입금"),
                amount,
            )
        });
    }
    if rng.chance(0.04) {
        let memo = if rng.chance(0.5) {
            *rng.pick(CAFES)
        } else {
            *rng.pick(STORES)
        };
        let amount = round_to(rng.range_i64(2_000, 9_000), 100);
        ev.push(Event {
            kind: Kind::Triple,
            ..spend(at(rng, 8, 22), memo, amount)
        });
    }
    for _ in 0..extra {
        let second = rng.below(86_400) as u32;
        let e = match rng.below(6) {
            0 => spend(
                second,
                *rng.pick(CAFES),
                round_to(rng.range_i64(2_000, 7_500), 100),
            ),
            1 => spend(
                second,
                *rng.pick(STORES),
                round_to(rng.range_i64(1_200, 18_000), 100),
            ),
            2 => spend(
                second,
                *rng.pick(MEALS),
                round_to(rng.range_i64(6_000, 12_000), 500),
            ),
            3 => spend(
                second,
                *rng.pick(SHOPPING),
                round_to(rng.range_i64(9_000, 90_000), 10),
            ),
            4 => spend(
                second,
                *rng.pick(DELIVERY),
                round_to(rng.range_i64(14_000, 38_000), 100),
            ),
            _ => fixed(
                second,
                Direction::Deposit,
                "대체",
                Cow::Borrowed(*rng.pick(TRANSFERS_IN)),
                round_to(rng.range_i64(10_000, 150_000), 1_000),
            ),
        };
        ev.push(e);
    }
}

// Takes the `Cow` so a borrowed memo stays borrowed when cloned into an event.
#[allow(clippy::ptr_arg)]
fn side_day(
    rng: &mut SplitMix64,
    date: NaiveDate,
    ev: &mut Vec<Event>,
    self_transfer: &Cow<'static, str>,
) {
    if date.day() == 26 {
        ev.push(fixed(
            10 * 3600,
            Direction::Deposit,
            "대체",
            self_transfer.clone(),
            300_000,
        ));
    }
    if rng.chance(0.15) {
        ev.push(spend(
            at(rng, 8, 21),
            *rng.pick(CAFES),
            round_to(rng.range_i64(2_000, 7_500), 100),
        ));
    }
    if rng.chance(0.08) {
        ev.push(spend(
            at(rng, 18, 23),
            *rng.pick(DELIVERY),
            round_to(rng.range_i64(14_000, 38_000), 100),
        ));
    }
    if rng.chance(0.05) {
        ev.push(spend(
            at(rng, 9, 24),
            *rng.pick(SHOPPING),
            round_to(rng.range_i64(9_000, 90_000), 10),
        ));
    }
    if rng.chance(0.03) {
        ev.push(spend(
            at(rng, 10, 20),
            *rng.pick(LEISURE),
            round_to(rng.range_i64(12_000, 60_000), 1_000),
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// Users and accounts

/// Inputs of [`generate_world`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorldSpec {
    pub seed: u64,
    /// The institution code; `fintech_use_num`s start with `1` + its digits.
    pub institution_code: String,
    pub users: usize,
    /// Last day of every history (inclusive), normally today in KST.
    pub end_date: NaiveDate,
    pub history_days: u32,
    /// When > 0, one extra user ("대용량") with a single account of this many rows.
    pub large_account_rows: u64,
}

/// A generated test user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestUser {
    /// 10 digits.
    pub user_seq_no: String,
    /// 88-character base64 (Connecting Information).
    pub user_ci: String,
    pub name: String,
    pub accounts: Vec<TestAccount>,
}

/// A generated bank account with its full history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestAccount {
    /// 24 digits.
    pub fintech_use_num: String,
    pub alias: String,
    pub bank_code_std: &'static str,
    pub bank_code_sub: &'static str,
    pub bank_name: &'static str,
    /// The real account number (never sent: `account_num` is `null` as on the testbed).
    pub account_num: String,
    pub account_num_masked: String,
    /// `1` demand deposit.
    pub account_type: &'static str,
    pub product_name: &'static str,
    pub issue_date: NaiveDate,
    pub holder_name: String,
    /// False for accounts without seeded data (testbed mode answers A0002/818 for them).
    pub seeded: bool,
    pub opening_balance: Won,
    /// Oldest first.
    pub rows: Vec<GeneratedRow>,
}

impl TestAccount {
    /// The current balance: the last row's balance, or the opening balance without rows.
    pub fn balance(&self) -> Won {
        self.rows
            .last()
            .map(|r| r.after_balance)
            .unwrap_or(self.opening_balance)
    }
}

const NAMES: &[&str] = &[
    "김민준",
    "이서연",
    "박지훈",
    "최수아",
    "정예준",
    "강하은",
    "조도윤",
    "윤지우",
    "장서준",
    "임하윤",
];
const BANKS: &[(&str, &str)] = &[
    ("097", "오픈은행"),
    ("004", "KB국민은행"),
    ("088", "신한은행"),
    ("020", "우리은행"),
    ("081", "하나은행"),
    ("090", "카카오뱅크"),
    ("092", "토스뱅크"),
];
const MAIN_ALIASES: &[&str] = &["급여통장", "생활비통장", "월급통장"];
const SIDE_ALIASES: &[&str] = &["비상금통장", "모임통장", "용돈통장"];

fn user_ci(seed: u64, index: usize) -> String {
    use base64::Engine;
    let a = Sha256::digest(format!("ginkgo-sandbox-ci-a-{seed}-{index}").as_bytes());
    let b = Sha256::digest(format!("ginkgo-sandbox-ci-b-{seed}-{index}").as_bytes());
    let mut bytes = a.to_vec();
    bytes.extend_from_slice(&b);
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn institution_digits(code: &str) -> String {
    let digits: String = code.chars().filter(char::is_ascii_digit).collect();
    format!("{digits:0>9}")
        .chars()
        .rev()
        .take(9)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect()
}

fn masked(account_num: &str) -> String {
    let keep = account_num.chars().count().saturating_sub(3);
    format!("{}***", account_num.chars().take(keep).collect::<String>())
}

struct AccountPlan {
    kind: AccountKind,
    alias: &'static str,
    extra: u32,
    rows: Option<u64>,
    own_transfers: bool,
}

fn make_account(
    spec: &WorldSpec,
    rng: &mut SplitMix64,
    owner: &str,
    user_index: usize,
    account_index: usize,
    plan: AccountPlan,
) -> TestAccount {
    let (bank_code_std, bank_name) = *rng.pick(BANKS);
    let account_num = format!("{}{:010}", 100 + rng.below(900), rng.below(10_000_000_000));
    let fintech_use_num = format!(
        "1{}{:08}{:02}{:04}",
        institution_digits(&spec.institution_code),
        rng.below(100_000_000),
        account_index % 100,
        user_index % 10_000
    );
    let account_seed =
        SplitMix64::derive(spec.seed, (user_index as u64) << 8 | account_index as u64).next_u64();
    let days = spec.history_days.max(1);
    let from = spec
        .end_date
        .checked_sub_days(Days::new(u64::from(days) - 1))
        .unwrap_or(spec.end_date);
    let row_spec = match plan.rows {
        Some(n) => AccountSpec {
            owner_name: owner.to_string(),
            ..AccountSpec::with_rows(account_seed, n, spec.end_date, days)
        },
        None => AccountSpec {
            seed: account_seed,
            kind: plan.kind,
            owner_name: owner.to_string(),
            from,
            to: spec.end_date,
            opening_balance: Won::new(rng.range_i64(30, 400) * 10_000),
            extra_rows_per_day: plan.extra,
            own_transfers: plan.own_transfers,
        },
    };
    let mut rows = generate_rows(&row_spec);
    let mut opening_balance = row_spec.opening_balance;
    if let Some(n) = plan.rows {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        if rows.len() > n {
            rows.drain(..rows.len() - n);
            // The history now starts later: its opening balance is the balance before the first
            // row kept, so that opening balance + rows = every after_balance.
            if let Some(first) = rows.first() {
                let before = if first.direction.is_incoming() {
                    first.after_balance.checked_sub(first.amount)
                } else {
                    first.after_balance.checked_add(first.amount)
                };
                if let Ok(b) = before {
                    opening_balance = b;
                }
            }
        }
    }
    TestAccount {
        fintech_use_num,
        alias: plan.alias.to_string(),
        bank_code_std,
        bank_code_sub: "0000000",
        bank_name,
        account_num_masked: masked(&account_num),
        account_num,
        account_type: "1",
        product_name: if plan.kind == AccountKind::Main {
            "자유입출금통장"
        } else {
            "저축예금"
        },
        issue_date: from
            .checked_sub_days(Days::new(30 + rng.below(2000)))
            .unwrap_or(from),
        holder_name: owner.to_string(),
        seeded: true,
        opening_balance,
        rows,
    }
}

/// Generates every test user with their accounts and histories.
///
/// User `i` has 1–3 accounts (a main account, then side accounts); in a world of more than one
/// user, the last account of user 1 is marked unseeded (for testbed mode).
pub fn generate_world(spec: &WorldSpec) -> Vec<TestUser> {
    let mut users = Vec::with_capacity(spec.users + 1);
    for i in 0..spec.users {
        let mut rng = SplitMix64::derive(spec.seed, 0xA11C_E000 + i as u64);
        let name = NAMES[i % NAMES.len()].to_string();
        let count = match i {
            0 => 2,
            1 => 3,
            _ => 1 + rng.below(3) as usize,
        };
        let mut accounts = Vec::with_capacity(count);
        for a in 0..count {
            let plan = if a == 0 {
                AccountPlan {
                    kind: AccountKind::Main,
                    alias: *rng.pick(MAIN_ALIASES),
                    extra: 0,
                    rows: None,
                    own_transfers: count >= 2,
                }
            } else {
                AccountPlan {
                    kind: AccountKind::Side,
                    alias: SIDE_ALIASES[(a - 1) % SIDE_ALIASES.len()],
                    extra: 0,
                    rows: None,
                    own_transfers: a == 1,
                }
            };
            accounts.push(make_account(spec, &mut rng, &name, i, a, plan));
        }
        if i == 1
            && let Some(last) = accounts.last_mut()
        {
            last.seeded = false;
        }
        users.push(TestUser {
            user_seq_no: format!("{}", 1_100_000_001 + i as u64),
            user_ci: user_ci(spec.seed, i),
            name,
            accounts,
        });
    }
    if spec.large_account_rows > 0 {
        let i = spec.users;
        let mut rng = SplitMix64::derive(spec.seed, 0xB16_0000);
        let name = "대용량".to_string();
        let plan = AccountPlan {
            kind: AccountKind::Main,
            alias: "벤치마크통장",
            extra: 0,
            rows: Some(spec.large_account_rows),
            own_transfers: false,
        };
        let account = make_account(spec, &mut rng, &name, i, 0, plan);
        users.push(TestUser {
            user_seq_no: format!("{}", 1_100_000_001 + i as u64),
            user_ci: user_ci(spec.seed, i),
            name,
            accounts: vec![account],
        });
    }
    users
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn salary_and_rent_days_move_off_weekends() {
        // 2026-04-25 is a Saturday, 2026-10-25 a Sunday, 2026-11-25 a Wednesday.
        assert_eq!(salary_day(2026, 4), Some(date(2026, 4, 24)));
        assert_eq!(salary_day(2026, 10), Some(date(2026, 10, 23)));
        assert_eq!(salary_day(2026, 11), Some(date(2026, 11, 25)));
        // 2026-02-01 is a Sunday, 2026-08-01 a Saturday.
        assert_eq!(rent_day(2026, 2), Some(date(2026, 2, 2)));
        assert_eq!(rent_day(2026, 8), Some(date(2026, 8, 3)));
        assert_eq!(rent_day(2026, 9), Some(date(2026, 9, 1)));
    }

    #[test]
    fn masks_and_digits() {
        assert_eq!(masked("1234567890"), "1234567***");
        assert_eq!(institution_digits("M202600001"), "202600001");
        assert_eq!(institution_digits("M1"), "000000001");
        assert_eq!(user_ci(1, 0).len(), 88);
    }
}
