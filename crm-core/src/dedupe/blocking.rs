//! Blocking: which pairs of records are worth comparing.
//!
//! Each [`BlockingRule`] derives at most one key per record; records sharing a key form a
//! block. Blocks of at most `max_block_size` records yield all their pairs; a larger block
//! (a common surname code, a shared office e-mail) is not expanded: its records are sorted
//! by a name key and each is paired with the next `window - 1` records (sorted
//! neighbourhood), so the number of pairs stays linear in the block size. The pairs of all
//! rules are unioned: each pair is one `u64` (`lo << 32 | hi`), and the union is a sort and
//! dedup of those integers, which is much faster and smaller than a hash set of tuples.

use std::hash::{Hash, Hasher};

use rustc_hash::FxHasher;
use serde::{Deserialize, Serialize};

use super::records::{Column, NormalizedRecords, View};

/// A rule deriving a blocking key from a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockingRule {
    /// The canonical e-mail address.
    Email,
    /// The last nine digits of the phone number.
    Phone,
    /// The canonical national id.
    NationalId,
    /// The Double Metaphone code of the surname and the first initial.
    SurnamePhoneticFirstInitial,
    /// The postcode and the birth year.
    PostcodeBirthYear,
    /// The first three letters of the first name and of the surname, unordered (so a pair
    /// with first and last name swapped shares the key).
    NamePrefixes,
    /// The birth date and the first initial.
    BirthDateFirstInitial,
    /// The birth date and the surname initial.
    BirthDateSurnameInitial,
    /// The street line and the postcode (people at one address).
    StreetPostcode,
}

impl BlockingRule {
    /// Every rule, the default set.
    pub const ALL: [BlockingRule; 9] = [
        BlockingRule::Email,
        BlockingRule::Phone,
        BlockingRule::NationalId,
        BlockingRule::SurnamePhoneticFirstInitial,
        BlockingRule::PostcodeBirthYear,
        BlockingRule::NamePrefixes,
        BlockingRule::BirthDateFirstInitial,
        BlockingRule::BirthDateSurnameInitial,
        BlockingRule::StreetPostcode,
    ];

    /// A short name for reports.
    pub fn name(self) -> &'static str {
        match self {
            BlockingRule::Email => "email",
            BlockingRule::Phone => "phone",
            BlockingRule::NationalId => "national_id",
            BlockingRule::SurnamePhoneticFirstInitial => "surname_phonetic+first_initial",
            BlockingRule::PostcodeBirthYear => "postcode+birth_year",
            BlockingRule::NamePrefixes => "first_prefix+surname_prefix",
            BlockingRule::BirthDateFirstInitial => "birth_date+first_initial",
            BlockingRule::BirthDateSurnameInitial => "birth_date+surname_initial",
            BlockingRule::StreetPostcode => "street+postcode",
        }
    }

    /// The rule's key for a record, or `None` when the record lacks the fields.
    pub(crate) fn key(self, v: &View<'_>) -> Option<u64> {
        let mut h = FxHasher::default();
        (self as u8).hash(&mut h);
        match self {
            BlockingRule::Email => v.str(Column::Email)?.hash(&mut h),
            BlockingRule::Phone => {
                let p = v.str(Column::Phone)?;
                if p.len() < 7 {
                    return None;
                }
                let n = p.len().min(9);
                p.get(p.len() - n..).unwrap_or(p).hash(&mut h);
            }
            BlockingRule::NationalId => v.str(Column::NationalId)?.hash(&mut h),
            BlockingRule::SurnamePhoneticFirstInitial => {
                let code = v.dm[1];
                if code == 0 {
                    return None;
                }
                code.hash(&mut h);
                initial(v.str(Column::FirstName)?).hash(&mut h);
            }
            BlockingRule::PostcodeBirthYear => {
                if v.dob == 0 {
                    return None;
                }
                v.str(Column::Postcode)?.hash(&mut h);
                (v.dob / 10_000).hash(&mut h);
            }
            BlockingRule::NamePrefixes => {
                let f = prefix(v.str(Column::FirstName)?, 3);
                let l = prefix(v.str(Column::LastName)?, 3);
                if f <= l {
                    (f, l).hash(&mut h);
                } else {
                    (l, f).hash(&mut h);
                }
            }
            BlockingRule::BirthDateFirstInitial => {
                if v.dob == 0 {
                    return None;
                }
                v.dob.hash(&mut h);
                initial(v.str(Column::FirstName)?).hash(&mut h);
            }
            BlockingRule::BirthDateSurnameInitial => {
                if v.dob == 0 {
                    return None;
                }
                v.dob.hash(&mut h);
                initial(v.str(Column::LastName)?).hash(&mut h);
            }
            BlockingRule::StreetPostcode => {
                v.str(Column::Street)?.hash(&mut h);
                v.str(Column::Postcode)?.hash(&mut h);
            }
        }
        Some(h.finish())
    }
}

fn initial(s: &str) -> char {
    s.chars().next().unwrap_or(' ')
}

fn prefix(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Sort key inside an oversized block: the surname then the first name, as base-27
/// letters packed into a `u64` (13 letters), so that records with similar names are
/// neighbours.
pub(crate) fn neighbourhood_key(v: &View<'_>) -> u64 {
    let mut k: u64 = 0;
    let mut n = 0;
    let letters = v
        .str(Column::LastName)
        .unwrap_or("")
        .bytes()
        .chain(std::iter::once(b' '))
        .chain(v.str(Column::FirstName).unwrap_or("").bytes());
    for b in letters {
        if n == 13 {
            break;
        }
        let d = match b {
            b'a'..=b'z' => u64::from(b - b'a') + 1,
            b'0'..=b'9' => 1 + u64::from(b - b'0') * 26 / 10,
            _ => 0,
        };
        k = k * 27 + d;
        n += 1;
    }
    while n < 13 {
        k *= 27;
        n += 1;
    }
    k
}

/// How blocks are turned into pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockingLimits {
    /// Blocks with more records than this are not expanded to all pairs but windowed.
    pub max_block_size: usize,
    /// Sorted-neighbourhood window inside an oversized block (each record is paired with
    /// the next `window - 1`).
    pub window: usize,
}

impl Default for BlockingLimits {
    fn default() -> Self {
        Self {
            max_block_size: 16,
            window: 5,
        }
    }
}

/// Pair count of one blocking rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStats {
    /// The rule.
    pub rule: BlockingRule,
    /// Records that had a key.
    pub keyed_records: u64,
    /// Blocks with at least two records.
    pub blocks: u64,
    /// Blocks larger than the size cap (windowed).
    pub oversized_blocks: u64,
    /// Largest block.
    pub largest_block: u64,
    /// Pairs the rule produced (before the union with other rules).
    pub pairs: u64,
}

/// What blocking did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockingStats {
    /// Distinct candidate pairs after the union of all rules.
    pub candidate_pairs: u64,
    /// All pairs `n(n-1)/2`.
    pub total_pairs: u64,
    /// `1 - candidate_pairs / total_pairs` (1.0 = nothing compared).
    pub reduction_ratio: f64,
    /// One entry per rule, in rule order.
    pub per_rule: Vec<RuleStats>,
}

impl BlockingStats {
    /// Share of the true pairs (index pairs, either order) found among `candidates`
    /// (sorted pair keys as returned by [`candidate_pairs`]); 1.0 when `true_pairs` is
    /// empty.
    pub fn pair_completeness(candidates: &[u64], true_pairs: &[(u32, u32)]) -> f64 {
        pair_completeness(candidates, true_pairs)
    }
}

/// Share of `true_pairs` present in the sorted, deduplicated `candidates`.
pub fn pair_completeness(candidates: &[u64], true_pairs: &[(u32, u32)]) -> f64 {
    if true_pairs.is_empty() {
        return 1.0;
    }
    let found = true_pairs
        .iter()
        .filter(|&&(a, b)| a != b && candidates.binary_search(&pair_key(a, b)).is_ok())
        .count();
    found as f64 / true_pairs.len() as f64
}

/// The `u64` key of an unordered pair: lower index in the high half.
#[inline]
pub fn pair_key(a: u32, b: u32) -> u64 {
    let (lo, hi) = if a < b { (a, b) } else { (b, a) };
    (u64::from(lo) << 32) | u64::from(hi)
}

/// The two indexes of a pair key, lower first.
#[inline]
pub fn pair_of(k: u64) -> (u32, u32) {
    ((k >> 32) as u32, k as u32)
}

/// Emits the pairs of one sorted run of `(key, sort_key, index)` entries sharing a key.
fn emit_block(
    block: &[(u64, u64, u32)],
    limits: BlockingLimits,
    out: &mut Vec<u64>,
    st: &mut RuleStats,
) {
    let s = block.len();
    if s < 2 {
        return;
    }
    st.blocks += 1;
    st.largest_block = st.largest_block.max(s as u64);
    let before = out.len();
    if s <= limits.max_block_size {
        for i in 0..s {
            for j in i + 1..s {
                out.push(pair_key(block[i].2, block[j].2));
            }
        }
    } else {
        st.oversized_blocks += 1;
        // Entries are sorted by (key, sort key, index): a window over them is the sorted
        // neighbourhood.
        let w = limits.window.max(2);
        for i in 0..s {
            for j in i + 1..s.min(i + w) {
                out.push(pair_key(block[i].2, block[j].2));
            }
        }
    }
    st.pairs += (out.len() - before) as u64;
}

/// The pairs of one rule over live records `0..store.len()`, in no particular order.
fn rule_pairs(
    store: &NormalizedRecords,
    rule: BlockingRule,
    limits: BlockingLimits,
) -> (Vec<u64>, RuleStats) {
    let mut st = RuleStats {
        rule,
        keyed_records: 0,
        blocks: 0,
        oversized_blocks: 0,
        largest_block: 0,
        pairs: 0,
    };
    let mut entries: Vec<(u64, u64, u32)> = Vec::new();
    for i in 0..store.len() as u32 {
        if !store.is_live(i) {
            continue;
        }
        let v = store.view(i);
        if let Some(k) = rule.key(&v) {
            entries.push((k, 0, i));
        }
    }
    st.keyed_records = entries.len() as u64;
    entries.sort_unstable_by_key(|e| e.0);
    // Fill sort keys only for oversized blocks, then re-sort those.
    let mut start = 0;
    while start < entries.len() {
        let k = entries[start].0;
        let mut end = start + 1;
        while end < entries.len() && entries[end].0 == k {
            end += 1;
        }
        if end - start > limits.max_block_size {
            for e in &mut entries[start..end] {
                e.1 = neighbourhood_key(&store.view(e.2));
            }
            entries[start..end].sort_unstable();
        }
        start = end;
    }
    let mut out = Vec::new();
    let mut start = 0;
    while start < entries.len() {
        let k = entries[start].0;
        let mut end = start + 1;
        while end < entries.len() && entries[end].0 == k {
            end += 1;
        }
        emit_block(&entries[start..end], limits, &mut out, &mut st);
        start = end;
    }
    (out, st)
}

/// Sorts and deduplicates `v` in place.
fn sort_dedup(v: &mut Vec<u64>) {
    v.sort_unstable();
    v.dedup();
}

/// Merges two sorted, deduplicated vectors into one.
fn merge_dedup(a: Vec<u64>, b: Vec<u64>) -> Vec<u64> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        if x < y {
            out.push(x);
            i += 1;
        } else if y < x {
            out.push(y);
            j += 1;
        } else {
            out.push(x);
            i += 1;
            j += 1;
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Candidate pairs of all `rules` over the live records of `store`: sorted, distinct pair
/// keys (see [`pair_key`]) and the statistics. Rules run on up to `threads` scoped threads.
pub fn candidate_pairs(
    store: &NormalizedRecords,
    rules: &[BlockingRule],
    limits: BlockingLimits,
    threads: usize,
) -> (Vec<u64>, BlockingStats) {
    let threads = threads.clamp(1, rules.len().max(1));
    // Each thread takes every `threads`-th rule and returns its union, sorted.
    let parts: Vec<(Vec<u64>, Vec<RuleStats>)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut acc: Vec<u64> = Vec::new();
                    let mut stats = Vec::new();
                    for rule in rules.iter().skip(t).step_by(threads) {
                        let (mut p, st) = rule_pairs(store, *rule, limits);
                        sort_dedup(&mut p);
                        acc = if acc.is_empty() {
                            p
                        } else {
                            merge_dedup(acc, p)
                        };
                        stats.push(st);
                    }
                    (acc, stats)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut per_rule: Vec<RuleStats> = Vec::with_capacity(rules.len());
    let mut pairs: Vec<u64> = Vec::new();
    for (p, st) in parts {
        pairs = if pairs.is_empty() {
            p
        } else {
            merge_dedup(pairs, p)
        };
        per_rule.extend(st);
    }
    per_rule.sort_by_key(|s| rules.iter().position(|r| *r == s.rule));
    let n = store.live_count() as u64;
    let total = n * n.saturating_sub(1) / 2;
    let stats = BlockingStats {
        candidate_pairs: pairs.len() as u64,
        total_pairs: total,
        reduction_ratio: if total == 0 {
            1.0
        } else {
            1.0 - pairs.len() as f64 / total as f64
        },
        per_rule,
    };
    (pairs, stats)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedupe::records::NormalizedPerson;
    use crate::dedupe::PersonRecord;

    fn store(rows: &[(&str, &str, &str, &str)]) -> NormalizedRecords {
        let mut s = NormalizedRecords::new();
        for (i, (f, l, dob, email)) in rows.iter().enumerate() {
            let r = PersonRecord {
                id: i.to_string(),
                first_name: Some((*f).into()),
                last_name: Some((*l).into()),
                birth_date: Some((*dob).into()),
                email: Some((*email).into()),
                ..Default::default()
            };
            s.push(&NormalizedPerson::from_record(&r, None));
        }
        s
    }

    #[test]
    fn rules_union_and_stats() {
        let s = store(&[
            ("John", "Smith", "1980-01-02", "js@x.com"),
            ("Jon", "Smyth", "1980-01-02", "other@x.com"),
            ("Mary", "Jones", "1970-05-06", "js@x.com"),
            ("Smith", "John", "1990-01-01", "z@z.com"),
            ("Zed", "Zulu", "2000-01-01", "q@q.com"),
        ]);
        let (pairs, stats) = candidate_pairs(&s, &BlockingRule::ALL, BlockingLimits::default(), 2);
        assert!(pairs.windows(2).all(|w| w[0] < w[1]));
        // Smith/Smyth share the phonetic code, first initial and birth date.
        assert!(pairs.contains(&pair_key(0, 1)));
        // Shared e-mail.
        assert!(pairs.contains(&pair_key(0, 2)));
        // Swapped names share the unordered prefixes key.
        assert!(pairs.contains(&pair_key(0, 3)));
        assert!(!pairs.iter().any(|&k| pair_of(k).1 == 4));
        assert_eq!(stats.total_pairs, 10);
        assert_eq!(stats.candidate_pairs, pairs.len() as u64);
        assert_eq!(stats.per_rule.len(), BlockingRule::ALL.len());
        assert_eq!(stats.per_rule[0].rule, BlockingRule::Email);
        assert_eq!(stats.per_rule[0].pairs, 1);
        assert!((pair_completeness(&pairs, &[(1, 0), (3, 0)]) - 1.0).abs() < 1e-12);
        assert!((pair_completeness(&pairs, &[(4, 0), (3, 0)]) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn oversized_blocks_are_windowed() {
        let rows: Vec<(String, String, String, String)> = (0..1000)
            .map(|i| {
                (
                    format!("n{i}"),
                    format!("s{i}"),
                    "1980-01-01".into(),
                    "same@x.com".into(),
                )
            })
            .collect();
        let refs: Vec<(&str, &str, &str, &str)> = rows
            .iter()
            .map(|(a, b, c, d)| (a.as_str(), b.as_str(), c.as_str(), d.as_str()))
            .collect();
        let s = store(&refs);
        let limits = BlockingLimits {
            max_block_size: 10,
            window: 4,
        };
        let (pairs, stats) = candidate_pairs(&s, &[BlockingRule::Email], limits, 1);
        // 1000 records, each paired with the next three: 997*3 + 2 + 1.
        assert_eq!(pairs.len(), 3 * 997 + 3);
        assert_eq!(stats.per_rule[0].oversized_blocks, 1);
        assert_eq!(stats.per_rule[0].largest_block, 1000);
    }

    #[test]
    fn merge_dedup_unions() {
        assert_eq!(
            merge_dedup(vec![1, 3, 5], vec![2, 3, 6]),
            vec![1, 2, 3, 5, 6]
        );
        assert_eq!(merge_dedup(vec![], vec![2]), vec![2]);
    }
}
