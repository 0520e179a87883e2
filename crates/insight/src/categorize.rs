//! Categorising memos: the customer's rules first, then the dictionary.
//!
//! A [`Categorizer`] is built once per (dictionary, customer's rules) and holds two Aho-Corasick
//! automata: one over the dictionary keywords and one over the rule patterns. Categorising a memo
//! is one overlapping scan of each automaton over the (short) normalised memo — never a loop
//! over keywords.
//!
//! Priority, deterministic:
//! 1. a transaction filed by hand (`Txn::category_manual`) keeps its category;
//! 2. customer rules in `position` order (then `id`): the first rule that matches wins.
//!    `Contains` matches a substring of the normalised memo, `Equals` the whole normalised memo;
//!    rules apply to both directions;
//! 3. the dictionary: among keywords that occur in the memo *and* apply to the transaction's
//!    direction, the longest (in bytes of normalised text) wins; ties are broken by
//!    [`Category::priority`], then by keyword text;
//! 4. otherwise the direction's default ([`Category::default_for`]: 기타 out, 기타수입 in).
//!
//! ## How the store should use preview and recompute
//!
//! Memos repeat a lot (one customer has a few hundred distinct memos for thousands of
//! transactions). The store should keep the normalised memo ([`crate::normalize`]) beside each
//! row, or build a [`MemoGroups`] over the customer's transactions, and categorise each distinct
//! (normalised memo, direction) once. When a rule is added, edited or deleted,
//! [`MemoGroups::recompute_for_rule_change`] (or the free [`recompute_for_rule_change`]) tests
//! only the old and new pattern against each distinct memo and re-categorises only the memos
//! that contain it; every other transaction provably keeps its category. The result is the
//! change set to write (and, before saving, the preview to show: "this rule would change 14
//! transactions").

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use serde::{Deserialize, Serialize};

use crate::category::Category;
use crate::dictionary::{Dictionary, KeywordDirection};
use crate::normalize::normalize_into;
use crate::txn::{Direction, Txn};

/// How a rule's pattern is compared with the normalised memo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleKind {
    /// The normalised memo contains the pattern.
    Contains,
    /// The normalised memo is exactly the pattern.
    Equals,
}

/// A customer's re-filing rule. `pattern` is written as the customer typed it (or as the memo
/// read); it is normalised when a [`Categorizer`] is built.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub id: i64,
    pub kind: RuleKind,
    pub pattern: String,
    pub category: Category,
    /// Lower positions are tried first.
    pub position: i32,
}

impl Rule {
    /// Whether this rule matches an already-normalised memo (the pattern is normalised here;
    /// prefer a [`Categorizer`] for many memos).
    pub fn matches(&self, memo_normalized: &str) -> bool {
        let mut pattern = String::new();
        normalize_into(&self.pattern, &mut pattern);
        matches_normalized(self.kind, &pattern, memo_normalized)
    }
}

fn matches_normalized(kind: RuleKind, pattern: &str, memo: &str) -> bool {
    if pattern.is_empty() {
        return false;
    }
    match kind {
        RuleKind::Contains => memo.contains(pattern),
        RuleKind::Equals => memo == pattern,
    }
}

/// Where a category came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// Filed by hand on this one transaction.
    Manual,
    /// A customer rule, by id.
    Rule { id: i64 },
    /// A dictionary keyword (normalised).
    Dictionary { keyword: Arc<str> },
    /// Nothing matched.
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Categorized {
    pub category: Category,
    pub source: Source,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    #[error("rule {rule_id} has an empty pattern")]
    EmptyPattern { rule_id: i64 },
    #[error("rule {rule_id} appears twice")]
    DuplicateRule { rule_id: i64 },
    #[error("could not build the matcher: {0}")]
    Automaton(String),
}

#[derive(Debug, Clone)]
struct PreparedRule {
    id: i64,
    kind: RuleKind,
    pattern: String,
    category: Category,
    position: i32,
}

#[derive(Debug, Clone)]
struct DictPattern {
    text: Arc<str>,
    /// Sorted by category priority: the first one applying to the direction wins.
    meanings: Vec<(Category, KeywordDirection)>,
}

/// The dictionary's automaton and keyword meanings: the expensive, rule-independent half of a
/// [`Categorizer`]. Build it once per dictionary and share it ([`Categorizer::with_dictionary`])
/// between the categorisers of every customer.
#[derive(Debug, Clone)]
pub struct DictionaryMatcher {
    dict: Option<AhoCorasick>,
    dict_patterns: Vec<DictPattern>,
}

impl DictionaryMatcher {
    pub fn new(dictionary: &Dictionary) -> Result<DictionaryMatcher, BuildError> {
        // One automaton pattern per distinct keyword text.
        let mut dict_patterns: Vec<DictPattern> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for k in dictionary.keywords() {
            let i = *index.entry(k.text.as_str()).or_insert_with(|| {
                dict_patterns.push(DictPattern {
                    text: Arc::from(k.text.as_str()),
                    meanings: Vec::new(),
                });
                dict_patterns.len() - 1
            });
            dict_patterns[i].meanings.push((k.category, k.direction));
        }
        for p in &mut dict_patterns {
            p.meanings.sort_by_key(|(c, d)| (c.priority(), *d as u8));
        }
        let dict = if dict_patterns.is_empty() {
            None
        } else {
            let texts: Vec<&[u8]> = dict_patterns.iter().map(|p| p.text.as_bytes()).collect();
            Some(build_automaton(&texts)?)
        };
        Ok(DictionaryMatcher {
            dict,
            dict_patterns,
        })
    }
}

/// Categorises normalised memos; build once per (dictionary, customer's rules).
#[derive(Debug, Clone)]
pub struct Categorizer {
    dictionary: Arc<DictionaryMatcher>,
    rules_ac: Option<AhoCorasick>,
    /// Rule indices (into `rules`) per distinct rule pattern.
    rules_by_pattern: Vec<Vec<usize>>,
    /// Sorted by (position, id).
    rules: Vec<PreparedRule>,
}

fn build_automaton(patterns: &[&[u8]]) -> Result<AhoCorasick, BuildError> {
    // A DFA is the fastest matcher for short memos; for very large pattern sets it may exceed
    // its size limit, and the builder's automatic choice (NFA) is used instead.
    let build = |kind| {
        AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(kind)
            .build(patterns)
    };
    build(Some(AhoCorasickKind::DFA))
        .or_else(|_| build(None))
        .map_err(|e| BuildError::Automaton(e.to_string()))
}

impl Categorizer {
    /// Builds both automata. Rules whose pattern normalises to nothing are refused (they would
    /// match every memo or none, silently).
    pub fn new(dictionary: &Dictionary, rules: &[Rule]) -> Result<Categorizer, BuildError> {
        Categorizer::with_dictionary(Arc::new(DictionaryMatcher::new(dictionary)?), rules)
    }

    /// Builds only the rules' automaton, over an already built dictionary matcher.
    pub fn with_dictionary(
        dictionary: Arc<DictionaryMatcher>,
        rules: &[Rule],
    ) -> Result<Categorizer, BuildError> {
        // Rules.
        let mut prepared = Vec::with_capacity(rules.len());
        let mut seen = std::collections::HashSet::new();
        for r in rules {
            if !seen.insert(r.id) {
                return Err(BuildError::DuplicateRule { rule_id: r.id });
            }
            let mut pattern = String::new();
            normalize_into(&r.pattern, &mut pattern);
            if pattern.is_empty() {
                return Err(BuildError::EmptyPattern { rule_id: r.id });
            }
            prepared.push(PreparedRule {
                id: r.id,
                kind: r.kind,
                pattern,
                category: r.category,
                position: r.position,
            });
        }
        prepared.sort_by_key(|r| (r.position, r.id));
        let mut distinct: Vec<&str> = Vec::new();
        let mut by_pattern: Vec<Vec<usize>> = Vec::new();
        let mut pindex: HashMap<&str, usize> = HashMap::new();
        for (ri, r) in prepared.iter().enumerate() {
            let pi = *pindex.entry(r.pattern.as_str()).or_insert_with(|| {
                distinct.push(r.pattern.as_str());
                by_pattern.push(Vec::new());
                distinct.len() - 1
            });
            by_pattern[pi].push(ri);
        }
        let rules_ac = if distinct.is_empty() {
            None
        } else {
            let texts: Vec<&[u8]> = distinct.iter().map(|p| p.as_bytes()).collect();
            Some(build_automaton(&texts)?)
        };
        Ok(Categorizer {
            dictionary,
            rules_ac,
            rules_by_pattern: by_pattern,
            rules: prepared,
        })
    }

    /// The built-in dictionary without rules.
    pub fn builtin() -> Result<Categorizer, BuildError> {
        Categorizer::new(&Dictionary::builtin(), &[])
    }

    pub fn rule_count(&self) -> usize {
        self.rules.len()
    }

    /// The first matching rule (by position, then id), as an index into `self.rules`.
    fn match_rule(&self, memo: &str) -> Option<usize> {
        let ac = self.rules_ac.as_ref()?;
        let mut best: Option<usize> = None;
        for m in ac.find_overlapping_iter(memo) {
            let whole = m.start() == 0 && m.end() == memo.len();
            for &ri in &self.rules_by_pattern[m.pattern().as_usize()] {
                if best.is_some_and(|b| b <= ri) {
                    // Rules are sorted; the rest of this list cannot beat `best`.
                    break;
                }
                let r = &self.rules[ri];
                if r.kind == RuleKind::Contains || whole {
                    best = Some(ri);
                    break;
                }
            }
        }
        best
    }

    /// The winning dictionary keyword for this memo and direction.
    fn match_dictionary(&self, memo: &str, direction: Direction) -> Option<(Category, &Arc<str>)> {
        let ac = self.dictionary.dict.as_ref()?;
        let mut best: Option<(usize, Category, &Arc<str>)> = None;
        for m in ac.find_overlapping_iter(memo) {
            let p = &self.dictionary.dict_patterns[m.pattern().as_usize()];
            let Some(&(category, _)) = p.meanings.iter().find(|(_, d)| d.applies_to(direction))
            else {
                continue;
            };
            let len = p.text.len();
            let better = match best {
                None => true,
                Some((blen, bcat, btext)) => {
                    (std::cmp::Reverse(len), category.priority(), &*p.text)
                        < (std::cmp::Reverse(blen), bcat.priority(), &**btext)
                }
            };
            if better {
                best = Some((len, category, &p.text));
            }
        }
        best.map(|(_, c, t)| (c, t))
    }

    /// Categorises a normalised memo (see [`crate::normalize`]) for a direction.
    pub fn categorize(&self, memo_normalized: &str, direction: Direction) -> Categorized {
        if let Some(ri) = self.match_rule(memo_normalized) {
            let r = &self.rules[ri];
            return Categorized {
                category: r.category,
                source: Source::Rule { id: r.id },
            };
        }
        if let Some((category, keyword)) = self.match_dictionary(memo_normalized, direction) {
            return Categorized {
                category,
                source: Source::Dictionary {
                    keyword: Arc::clone(keyword),
                },
            };
        }
        Categorized {
            category: Category::default_for(direction),
            source: Source::Default,
        }
    }

    /// Only the category (no allocation, no reference counting): the hot path for bulk work.
    pub fn category_of(&self, memo_normalized: &str, direction: Direction) -> Category {
        if let Some(ri) = self.match_rule(memo_normalized) {
            return self.rules[ri].category;
        }
        self.match_dictionary(memo_normalized, direction)
            .map_or(Category::default_for(direction), |(c, _)| c)
    }

    /// Categorises a raw memo (normalising it first).
    pub fn categorize_memo(&self, memo: &str, direction: Direction) -> Categorized {
        let mut buf = String::with_capacity(memo.len());
        normalize_into(memo, &mut buf);
        self.categorize(&buf, direction)
    }

    /// Categorises a transaction: a manual category is kept.
    pub fn categorize_txn(&self, txn: &Txn) -> Categorized {
        match txn.category {
            Some(category) if txn.category_manual => Categorized {
                category,
                source: Source::Manual,
            },
            _ => self.categorize_memo(&txn.memo, txn.direction),
        }
    }

    /// Sets `category` on every transaction not filed by hand; returns how many changed.
    pub fn apply(&self, txns: &mut [Txn]) -> usize {
        let mut buf = String::new();
        let mut changed = 0;
        for t in txns.iter_mut() {
            if t.category_manual && t.category.is_some() {
                continue;
            }
            normalize_into(&t.memo, &mut buf);
            let c = self.category_of(&buf, t.direction);
            if t.category != Some(c) {
                t.category = Some(c);
                changed += 1;
            }
        }
        changed
    }
}

/// One transaction whose category would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub id: i64,
    pub from: Option<Category>,
    pub to: Category,
}

/// The transactions a candidate rule set would re-file. `count == changes.len()`; changes are
/// in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preview {
    pub count: usize,
    pub changes: Vec<Change>,
}

impl Preview {
    fn push(&mut self, txn: &Txn, to: Category) {
        if txn.category != Some(to) {
            self.changes.push(Change {
                id: txn.id,
                from: txn.category,
                to,
            });
            self.count += 1;
        }
    }
}

/// Which transactions would change category if `candidate` (the dictionary plus the candidate
/// rule set) replaced the current categorisation. Each transaction's current category is
/// `Txn::category`; transactions filed by hand never change. Each distinct (memo, direction)
/// is categorised once.
pub fn preview(txns: &[Txn], candidate: &Categorizer) -> Preview {
    // One cache per direction, keyed by the normalised memo: lookups do not allocate.
    let mut cache: [HashMap<String, Category>; 2] = [HashMap::new(), HashMap::new()];
    let mut buf = String::new();
    let mut out = Preview::default();
    for t in txns {
        if t.category_manual && t.category.is_some() {
            continue;
        }
        normalize_into(&t.memo, &mut buf);
        let map = &mut cache[usize::from(t.direction == Direction::Out)];
        let to = match map.get(buf.as_str()) {
            Some(c) => *c,
            None => {
                let c = candidate.category_of(&buf, t.direction);
                map.insert(buf.clone(), c);
                c
            }
        };
        out.push(t, to);
    }
    out
}

/// [`preview`] for a candidate rule set: builds the categorizer (dictionary + `rules`) first.
pub fn preview_rules(
    txns: &[Txn],
    dictionary: &Dictionary,
    rules: &[Rule],
) -> Result<Preview, BuildError> {
    Ok(preview(txns, &Categorizer::new(dictionary, rules)?))
}

fn normalized_pattern(rule: Option<&Rule>) -> Option<(RuleKind, String)> {
    rule.map(|r| {
        let mut p = String::new();
        normalize_into(&r.pattern, &mut p);
        (r.kind, p)
    })
}

/// The change set after one rule was added (`old = None`), edited (both) or deleted
/// (`new = None`). Only transactions whose normalised memo matches the old or the new pattern
/// are re-categorised (with `after`, the categorizer built with the new rule set); all others
/// cannot change.
pub fn recompute_for_rule_change(
    txns: &[Txn],
    old: Option<&Rule>,
    new: Option<&Rule>,
    after: &Categorizer,
) -> Preview {
    let old = normalized_pattern(old);
    let new = normalized_pattern(new);
    let mut buf = String::new();
    let mut out = Preview::default();
    for t in txns {
        if t.category_manual && t.category.is_some() {
            continue;
        }
        normalize_into(&t.memo, &mut buf);
        let hit = |p: &Option<(RuleKind, String)>| {
            p.as_ref()
                .is_some_and(|(k, pat)| matches_normalized(*k, pat, &buf))
        };
        if hit(&old) || hit(&new) {
            out.push(t, after.category_of(&buf, t.direction));
        }
    }
    out
}

/// A customer's transactions grouped by distinct (normalised memo, direction), so that each
/// distinct memo is categorised (and tested against a changed rule) once.
#[derive(Debug, Clone, Default)]
pub struct MemoGroups {
    groups: Vec<MemoGroup>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoGroup {
    pub memo_normalized: String,
    pub direction: Direction,
    /// Indices into the slice the groups were built from.
    pub members: Vec<usize>,
}

impl MemoGroups {
    pub fn build(txns: &[Txn]) -> MemoGroups {
        // One index per direction keyed by the normalised memo: lookups do not allocate.
        let mut index: [HashMap<String, usize>; 2] = [HashMap::new(), HashMap::new()];
        let mut groups: Vec<MemoGroup> = Vec::new();
        let mut buf = String::new();
        for (i, t) in txns.iter().enumerate() {
            normalize_into(&t.memo, &mut buf);
            let map = &mut index[usize::from(t.direction == Direction::Out)];
            let gi = match map.get(buf.as_str()) {
                Some(gi) => *gi,
                None => {
                    groups.push(MemoGroup {
                        memo_normalized: buf.clone(),
                        direction: t.direction,
                        members: Vec::new(),
                    });
                    map.insert(buf.clone(), groups.len() - 1);
                    groups.len() - 1
                }
            };
            groups[gi].members.push(i);
        }
        MemoGroups { groups }
    }

    pub fn groups(&self) -> &[MemoGroup] {
        &self.groups
    }

    /// As [`recompute_for_rule_change`], testing each distinct memo once. `txns` must be the
    /// slice the groups were built from.
    pub fn recompute_for_rule_change(
        &self,
        txns: &[Txn],
        old: Option<&Rule>,
        new: Option<&Rule>,
        after: &Categorizer,
    ) -> Preview {
        let old = normalized_pattern(old);
        let new = normalized_pattern(new);
        let hit = |p: &Option<(RuleKind, String)>, memo: &str| {
            p.as_ref()
                .is_some_and(|(k, pat)| matches_normalized(*k, pat, memo))
        };
        let mut out = Preview::default();
        let mut touched: Vec<(usize, Category)> = Vec::new();
        for g in &self.groups {
            if hit(&old, &g.memo_normalized) || hit(&new, &g.memo_normalized) {
                let to = after.category_of(&g.memo_normalized, g.direction);
                touched.extend(g.members.iter().map(|&i| (i, to)));
            }
        }
        touched.sort_unstable_by_key(|(i, _)| *i);
        for (i, to) in touched {
            if let Some(t) = txns.get(i)
                && !(t.category_manual && t.category.is_some())
            {
                out.push(t, to);
            }
        }
        out
    }
}
