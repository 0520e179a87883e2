use ginkgo_insight::dictionary::{Dictionary, Keyword, KeywordDirection};
use ginkgo_insight::{
    BuildError, Categorizer, Category, Direction, MemoGroups, Rule, RuleKind, Source, normalize,
    preview, recompute_for_rule_change,
};
use proptest::prelude::*;

use super::support::{date, inc, out};

fn rule(id: i64, kind: RuleKind, pattern: &str, category: Category, position: i32) -> Rule {
    Rule {
        id,
        kind,
        pattern: pattern.into(),
        category,
        position,
    }
}

#[test]
fn a_matching_rule_beats_the_dictionary() {
    let rules = [rule(7, RuleKind::Contains, "스타벅스", Category::Food, 0)];
    let c = Categorizer::new(&Dictionary::builtin(), &rules).expect("builds");
    let r = c.categorize(&normalize("스타벅스 강남R점"), Direction::Out);
    assert_eq!(r.category, Category::Food);
    assert_eq!(r.source, Source::Rule { id: 7 });
    // Unrelated memos still use the dictionary.
    assert_eq!(
        c.categorize(&normalize("GS25"), Direction::Out).category,
        Category::Convenience
    );
}

#[test]
fn rules_apply_in_position_order_then_id() {
    let rules = [
        rule(1, RuleKind::Contains, "커피", Category::Food, 5),
        rule(2, RuleKind::Contains, "이디야", Category::Leisure, 3),
        rule(3, RuleKind::Contains, "이디야커피", Category::Education, 3),
    ];
    let c = Categorizer::new(&Dictionary::builtin(), &rules).expect("builds");
    let memo = normalize("이디야커피 역삼점");
    // Positions 3 tie: the lower id wins, whatever the pattern length.
    assert_eq!(
        c.categorize(&memo, Direction::Out).source,
        Source::Rule { id: 2 }
    );
    // Moving rule 1 to the front makes it win.
    let rules2 = [
        rule(1, RuleKind::Contains, "커피", Category::Food, 0),
        rules[1].clone(),
        rules[2].clone(),
    ];
    let c2 = Categorizer::new(&Dictionary::builtin(), &rules2).expect("builds");
    assert_eq!(
        c2.categorize(&memo, Direction::Out).source,
        Source::Rule { id: 1 }
    );
}

#[test]
fn equals_rules_compare_the_whole_normalised_memo() {
    let rules = [rule(
        1,
        RuleKind::Equals,
        "ＧＳ25 역삼점",
        Category::Food,
        0,
    )];
    let c = Categorizer::new(&Dictionary::builtin(), &rules).expect("builds");
    assert_eq!(
        c.categorize(&normalize("gs25역삼점"), Direction::Out)
            .category,
        Category::Food
    );
    assert_eq!(
        c.categorize(&normalize("GS25 역삼점2"), Direction::Out)
            .category,
        Category::Convenience
    );
    assert_eq!(
        c.categorize(&normalize("새 GS25 역삼점"), Direction::Out)
            .category,
        Category::Convenience
    );
}

#[test]
fn empty_and_duplicate_rules_are_refused() {
    let empty = [rule(9, RuleKind::Contains, "  ", Category::Food, 0)];
    assert_eq!(
        Categorizer::new(&Dictionary::builtin(), &empty).err(),
        Some(BuildError::EmptyPattern { rule_id: 9 })
    );
    let dup = [
        rule(1, RuleKind::Contains, "a", Category::Food, 0),
        rule(1, RuleKind::Contains, "b", Category::Food, 1),
    ];
    assert_eq!(
        Categorizer::new(&Dictionary::builtin(), &dup).err(),
        Some(BuildError::DuplicateRule { rule_id: 1 })
    );
}

#[test]
fn equal_length_keywords_break_ties_by_category_priority_then_text() {
    let k = |t: &str, c: Category| Keyword {
        text: t.into(),
        category: c,
        direction: KeywordDirection::Both,
    };
    let d = Dictionary::new([k("ab", Category::Shopping), k("bc", Category::Cafe)]);
    let c = Categorizer::new(&d, &[]).expect("builds");
    // Cafe has a higher priority than Shopping.
    assert_eq!(c.categorize("abc", Direction::Out).category, Category::Cafe);
    let d2 = Dictionary::new([k("ab", Category::Food), k("bc", Category::Food)]);
    let c2 = Categorizer::new(&d2, &[]).expect("builds");
    assert_eq!(
        c2.categorize("abc", Direction::Out).source,
        Source::Dictionary {
            keyword: "ab".into()
        }
    );
}

#[test]
fn a_category_set_by_hand_is_kept() {
    let rules = [rule(1, RuleKind::Contains, "스타벅스", Category::Food, 0)];
    let c = Categorizer::new(&Dictionary::builtin(), &rules).expect("builds");
    let mut t = out(1, date(2026, 1, 2), 5_000, "스타벅스");
    t.category = Some(Category::Leisure);
    t.category_manual = true;
    let r = c.categorize_txn(&t);
    assert_eq!((r.category, r.source), (Category::Leisure, Source::Manual));
    let mut txns = vec![t];
    assert_eq!(c.apply(&mut txns), 0);
    assert_eq!(txns[0].category, Some(Category::Leisure));
}

fn sample() -> Vec<ginkgo_insight::Txn> {
    let d = date(2026, 3, 2);
    let mut txns = vec![
        out(1, d, 5_000, "스타벅스 강남점"),
        out(2, d, 6_000, "스타벅스 역삼점"),
        out(3, d, 7_000, "투썸플레이스"),
        out(4, d, 2_000, "GS25"),
        inc(5, d, 5_000, "스타벅스 결제취소"),
        out(6, d, 5_500, "스타벅스 강남점"),
    ];
    txns[5].category = Some(Category::Leisure);
    txns[5].category_manual = true;
    let c = Categorizer::builtin().expect("builds");
    c.apply(&mut txns);
    txns
}

#[test]
fn preview_counts_the_transactions_a_candidate_rule_would_change() {
    let txns = sample();
    let candidate = Categorizer::new(
        &Dictionary::builtin(),
        &[rule(1, RuleKind::Contains, "스타벅스", Category::Food, 0)],
    )
    .expect("builds");
    let p = preview(&txns, &candidate);
    // 1 and 2 change from cafe; 5 (incoming refund) changes too since rules apply both ways;
    // 6 was filed by hand and keeps its category.
    assert_eq!(p.count, 3);
    let ids: Vec<i64> = p.changes.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![1, 2, 5]);
    assert_eq!(p.changes[0].from, Some(Category::Cafe));
    assert_eq!(p.changes[0].to, Category::Food);
    assert_eq!(p.changes[2].from, Some(Category::Refund));

    // The same through the convenience that builds the categorizer.
    let rules = [rule(1, RuleKind::Contains, "스타벅스", Category::Food, 0)];
    assert_eq!(
        ginkgo_insight::preview_rules(&txns, &Dictionary::builtin(), &rules).expect("builds"),
        p
    );

    // The current categorisation previews to no change at all.
    let same = Categorizer::builtin().expect("builds");
    assert_eq!(preview(&txns, &same).count, 0);
}

#[test]
fn incremental_recompute_handles_add_edit_and_delete() {
    let txns = sample();
    let r = rule(1, RuleKind::Equals, "스타벅스 강남점", Category::Food, 0);
    let after_add = Categorizer::new(&Dictionary::builtin(), std::slice::from_ref(&r)).expect("ok");
    let add = recompute_for_rule_change(&txns, None, Some(&r), &after_add);
    assert_eq!(
        add.changes.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![1]
    );

    // Apply, then edit the rule to another pattern: txn 1 goes back to cafe, 3 becomes food.
    let mut applied = txns.clone();
    after_add.apply(&mut applied);
    let edited = rule(1, RuleKind::Contains, "투썸", Category::Food, 0);
    let after_edit =
        Categorizer::new(&Dictionary::builtin(), std::slice::from_ref(&edited)).expect("ok");
    let edit = recompute_for_rule_change(&applied, Some(&r), Some(&edited), &after_edit);
    let got: Vec<(i64, Category)> = edit.changes.iter().map(|c| (c.id, c.to)).collect();
    assert_eq!(got, vec![(1, Category::Cafe), (3, Category::Food)]);

    // Delete: back to the dictionary.
    let mut applied2 = applied.clone();
    after_edit.apply(&mut applied2);
    let none = Categorizer::builtin().expect("ok");
    let del = recompute_for_rule_change(&applied2, Some(&edited), None, &none);
    assert_eq!(
        del.changes.iter().map(|c| (c.id, c.to)).collect::<Vec<_>>(),
        vec![(3, Category::Cafe)]
    );

    // The grouped variant gives the same answers.
    let groups = MemoGroups::build(&txns);
    assert_eq!(
        groups.recompute_for_rule_change(&txns, None, Some(&r), &after_add),
        add
    );
    let groups2 = MemoGroups::build(&applied);
    assert_eq!(
        groups2.recompute_for_rule_change(&applied, Some(&r), Some(&edited), &after_edit),
        edit
    );
}

const MEMOS: &[&str] = &[
    "스타벅스 강남점",
    "스타벅스 역삼점",
    "이마트 성수점",
    "이마트24",
    "쿠팡",
    "쿠팡이츠",
    "쿠팡 환불",
    "GS25",
    "급여",
    "월세 김영숙",
    "토스 이체",
    "모르는곳",
];

proptest! {
    /// The incremental recompute after adding a rule equals a full preview with the new rule
    /// set, for any data and any rule.
    #[test]
    fn incremental_recompute_equals_a_full_preview(
        rows in proptest::collection::vec((0..MEMOS.len(), any::<bool>(), any::<bool>()), 0..40),
        pattern_src in 0..MEMOS.len(),
        cut in 1usize..6,
        equals in any::<bool>(),
        existing in proptest::collection::vec((0..MEMOS.len(), 0i32..5), 0..4),
    ) {
        let d = date(2026, 1, 1);
        let mut txns: Vec<_> = rows.iter().enumerate().map(|(i, (m, incoming, manual))| {
            let mut t = if *incoming { inc(i as i64, d, 1_000, MEMOS[*m]) } else { out(i as i64, d, 1_000, MEMOS[*m]) };
            if *manual { t.category = Some(Category::Leisure); t.category_manual = true; }
            t
        }).collect();
        let mut rules: Vec<Rule> = existing.iter().enumerate().map(|(i, (m, p))| {
            rule(100 + i as i64, RuleKind::Contains, MEMOS[*m], Category::Medical, *p)
        }).collect();
        let before = Categorizer::new(&Dictionary::builtin(), &rules).expect("builds");
        before.apply(&mut txns);
        let src: String = normalize(MEMOS[pattern_src]).chars().take(cut).collect();
        let new_rule = rule(1, if equals { RuleKind::Equals } else { RuleKind::Contains }, &src, Category::Education, 2);
        rules.push(new_rule.clone());
        let after = Categorizer::new(&Dictionary::builtin(), &rules).expect("builds");
        let full = preview(&txns, &after);
        let inc = recompute_for_rule_change(&txns, None, Some(&new_rule), &after);
        prop_assert_eq!(&full, &inc);
        let grouped = MemoGroups::build(&txns).recompute_for_rule_change(&txns, None, Some(&new_rule), &after);
        prop_assert_eq!(&full, &grouped);
    }

    #[test]
    fn categorising_never_panics(memo in "\\PC{0,30}", incoming in any::<bool>()) {
        let c = Categorizer::builtin().expect("builds");
        let d = if incoming { Direction::In } else { Direction::Out };
        let _ = c.categorize_memo(&memo, d);
    }
}

proptest! {
    /// Whatever the memo, a matching rule wins over the dictionary, and the allocation-free
    /// `category_of` agrees with `categorize`.
    #[test]
    fn rules_always_win_and_fast_path_agrees(
        memo_idx in 0..MEMOS.len(), prefix in "[가-힣a-z ]{0,4}", incoming in any::<bool>(),
        cut in 1usize..4,
    ) {
        let memo = normalize(&format!("{prefix}{}", MEMOS[memo_idx]));
        let d = if incoming { Direction::In } else { Direction::Out };
        let plain = Categorizer::builtin().expect("builds");
        prop_assert_eq!(plain.category_of(&memo, d), plain.categorize(&memo, d).category);
        let pattern: String = normalize(MEMOS[memo_idx]).chars().take(cut).collect();
        let rules = [rule(5, RuleKind::Contains, &pattern, Category::Medical, 9)];
        let with_rule = Categorizer::new(&Dictionary::builtin(), &rules).expect("builds");
        let got = with_rule.categorize(&memo, d);
        prop_assert_eq!(got.category, Category::Medical);
        prop_assert_eq!(got.source, Source::Rule { id: 5 });
        prop_assert_eq!(with_rule.category_of(&memo, d), Category::Medical);
    }
}
