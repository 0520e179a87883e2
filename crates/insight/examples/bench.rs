//! Speed benchmark for the insight engine (not a test: figures depend on the machine).
//!
//! `cargo run --release -p ginkgo-insight --example bench`
//!
//! Generates 1,000,000 transactions (1,000 customers × 1,000) deterministically, builds a
//! 1,000-keyword dictionary and 200 customer rules, then times, on one core: categorising all
//! transactions, pairing own transfers and netting cancellations, recurring detection over all
//! of them (per customer, pairing and netting included), and the recompute after one new rule.
//! `BENCH_CUSTOMERS=100` runs a tenth of the size.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use ginkgo_insight::bench::{
    analyse_all, categorize_all, detect_all, generate_transactions, recompute_new_rule,
    recompute_new_rule_grouped, synthetic_dictionary, synthetic_rules,
};
use ginkgo_insight::{Categorizer, Category, MemoGroups, RecurringConfig, Rule, RuleKind};

const SEED: u64 = 20_260_101;
/// `BENCH_CUSTOMERS` overrides (a reduced run first); 1,000 customers × 1,000 by default.
fn customers() -> usize {
    std::env::var("BENCH_CUSTOMERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000)
}
const PER_CUSTOMER: usize = 1_000;

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1_000.0)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!("machine: {cores} cores (nproc), CPU: {}", cpu_model());

    let t = Instant::now();
    let customers = customers();
    let mut txns = generate_transactions(SEED, customers, PER_CUSTOMER);
    println!(
        "generated {} transactions in {}",
        txns.len(),
        ms(t.elapsed())
    );

    let dictionary = synthetic_dictionary(SEED, 1_000);
    let rules = synthetic_rules(SEED, 200);
    let t = Instant::now();
    let categorizer = Categorizer::new(&dictionary, &rules)?;
    println!(
        "built categorizer: {} keywords + {} rules in {}",
        dictionary.len(),
        rules.len(),
        ms(t.elapsed())
    );

    let t = Instant::now();
    let changed = categorize_all(&categorizer, &mut txns);
    let took = t.elapsed();
    println!(
        "categorise {} transactions (one core): {} ({:.2} M/s), {} categorised  [target <= 1 s]",
        txns.len(),
        ms(took),
        txns.len() as f64 / took.as_secs_f64() / 1e6,
        changed
    );

    let t = Instant::now();
    let (sides, cancels) = analyse_all(&txns);
    println!(
        "pairing and netting over {} transactions: {}, {} own-transfer sides, {} cancellations matched",
        txns.len(),
        ms(t.elapsed()),
        sides,
        cancels
    );

    let as_of = NaiveDate::from_ymd_opt(2026, 1, 1).ok_or("date")?;
    let config = RecurringConfig::default();
    let t = Instant::now();
    let series = detect_all(&txns, &config, as_of);
    println!(
        "recurring detection (pairing and netting included) over {} transactions ({} customers): {}, {} series  [target <= 2 s]",
        txns.len(),
        customers,
        ms(t.elapsed()),
        series
    );

    let new_rule = Rule {
        id: 10_000,
        kind: RuleKind::Contains,
        pattern: "스타벅스".into(),
        category: Category::Food,
        position: -1,
    };
    let mut with_new = rules.clone();
    with_new.push(new_rule.clone());
    let t = Instant::now();
    let after = Categorizer::new(&dictionary, &with_new)?;
    let rebuild = t.elapsed();
    let t = Instant::now();
    let preview = recompute_new_rule(&txns, &new_rule, &after);
    println!(
        "one new rule: rebuild categorizer {}, recompute by scanning all memos {} -> {} changes",
        ms(rebuild),
        ms(t.elapsed()),
        preview.count
    );
    let t = Instant::now();
    let groups = MemoGroups::build(&txns);
    let grouping = t.elapsed();
    let t = Instant::now();
    let grouped = recompute_new_rule_grouped(&groups, &txns, &new_rule, &after);
    println!(
        "  with MemoGroups ({} distinct memos, built once in {}): recompute {} -> {} changes",
        groups.groups().len(),
        ms(grouping),
        ms(t.elapsed()),
        grouped.count
    );
    Ok(())
}
