//! Where a detector goes wrong on generated data: its false positives sorted by how the two
//! people are related (household, twin, junior, namesake, or not at all), and its recall for
//! each corruption kind. Needs the `meta.csv` that `crm-synth generate --meta` writes.

use std::fmt;
use std::path::Path;

use crate::eval::{self, EvalError, ScoredPair, Truth};
use crate::record::{Corruption, Corruptions, Relation, SynthRecord};

/// How each record was made, by dense record index of a [`Truth`].
#[derive(Debug, Clone, Default)]
pub struct Meta {
    entity: Vec<u64>,
    related: Vec<Option<u64>>,
    relation: Vec<Relation>,
    corruptions: Vec<Corruptions>,
}

impl Meta {
    fn with_len(n: usize) -> Self {
        Self {
            entity: vec![u64::MAX; n],
            related: vec![None; n],
            relation: vec![Relation::None; n],
            corruptions: vec![Corruptions::default(); n],
        }
    }

    /// The provenance of generated records, indexed like `truth` (built from the same
    /// records).
    #[must_use]
    pub fn from_records(truth: &Truth, records: &[SynthRecord]) -> Self {
        let mut m = Self::with_len(truth.len());
        for r in records {
            if let Some(i) = truth.index_of(&r.id) {
                let i = i as usize;
                m.entity[i] = r.entity_id;
                m.related[i] = r.provenance.related_entity;
                m.relation[i] = r.provenance.relation;
                m.corruptions[i] = r.provenance.corruptions;
            }
        }
        m
    }

    /// Reads `meta.csv` (see [`crate::io::write_meta`]); ids must be in `truth`.
    ///
    /// # Errors
    /// When the file cannot be read, an id is unknown or a value does not parse.
    pub fn read_csv(truth: &Truth, path: &Path) -> Result<Self, EvalError> {
        let mut reader = eval::open(path)?;
        let h = eval::headers(&mut reader, path)?;
        let col = |name: &str, i: usize| eval::column(&h, name, i);
        let (id_c, entity_c, corr_c, rel_c, related_c) = (
            col("id", 0),
            col("entity_id", 1),
            col("corruptions", 3),
            col("relation", 4),
            col("related_entity", 5),
        );
        let mut m = Self::with_len(truth.len());
        let mut row = csv::ByteRecord::new();
        let mut line = 1u64;
        let bad = |line: u64, what: &str, text: &str| {
            eval::content(path, format!("line {line}: {what} {text:?} does not parse"))
        };
        while eval::read_row(&mut reader, &mut row, path)? {
            line += 1;
            let i = truth.resolve(eval::cell(&row, id_c, path, line)?, path, line)? as usize;
            let entity = eval::cell(&row, entity_c, path, line)?;
            m.entity[i] = entity.parse().map_err(|_| bad(line, "entity", entity))?;
            let text = eval::cell(&row, corr_c, path, line)?;
            m.corruptions[i] =
                Corruptions::parse(text).ok_or_else(|| bad(line, "corruptions", text))?;
            let text = eval::cell(&row, rel_c, path, line)?;
            m.relation[i] = Relation::from_name(text).ok_or_else(|| bad(line, "relation", text))?;
            let text = eval::cell(&row, related_c, path, line)?;
            m.related[i] = if text.is_empty() {
                None
            } else {
                Some(
                    text.parse()
                        .map_err(|_| bad(line, "related entity", text))?,
                )
            };
        }
        Ok(m)
    }

    /// Why records `a` and `b` (of different entities) are not the same person.
    fn classify(&self, a: usize, b: usize) -> FalsePositiveKind {
        let (ea, eb) = (self.entity[a], self.entity[b]);
        let kind = |r: Relation| match r {
            Relation::Household => FalsePositiveKind::Household,
            Relation::Twin => FalsePositiveKind::Twin,
            Relation::Junior => FalsePositiveKind::Junior,
            Relation::Namesake => FalsePositiveKind::Namesake,
            Relation::None => FalsePositiveKind::Unrelated,
        };
        if self.related[a] == Some(eb) {
            kind(self.relation[a])
        } else if self.related[b] == Some(ea) {
            kind(self.relation[b])
        } else if self.related[a].is_some() && self.related[a] == self.related[b] {
            FalsePositiveKind::SameBase
        } else {
            FalsePositiveKind::Unrelated
        }
    }
}

/// How the two people of a false-positive pair are related.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FalsePositiveKind {
    /// One lives in the other's household.
    Household,
    /// Twins.
    Twin,
    /// Same name at the same address, a generation apart.
    Junior,
    /// Same name, otherwise unrelated by construction.
    Namesake,
    /// Both were derived from the same third person (e.g. two members of one household).
    SameBase,
    /// No relation by construction (they may still share a common name or a city).
    Unrelated,
}

impl FalsePositiveKind {
    /// Every kind, in declaration order.
    pub const ALL: [FalsePositiveKind; 6] = [
        FalsePositiveKind::Household,
        FalsePositiveKind::Twin,
        FalsePositiveKind::Junior,
        FalsePositiveKind::Namesake,
        FalsePositiveKind::SameBase,
        FalsePositiveKind::Unrelated,
    ];

    /// A short snake_case name for reports.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            FalsePositiveKind::Household => "household",
            FalsePositiveKind::Twin => "twin",
            FalsePositiveKind::Junior => "junior",
            FalsePositiveKind::Namesake => "namesake",
            FalsePositiveKind::SameBase => "same_base",
            FalsePositiveKind::Unrelated => "unrelated",
        }
    }
}

/// False positives by kind and recall by corruption.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdown {
    /// False-positive pairs, indexed like [`FalsePositiveKind::ALL`].
    pub false_positives: [u64; 6],
    /// True pairs in which at least one record carries each corruption, by
    /// [`Corruption::index`].
    pub pairs_with: [u64; Corruption::ALL.len()],
    /// Of those, the pairs the detector found.
    pub found_with: [u64; Corruption::ALL.len()],
    /// True pairs with no corruption at all (exact copies).
    pub exact_pairs: u64,
    /// Of those, the pairs found.
    pub exact_found: u64,
}

/// Breaks down the errors of `pairs` (normalised, see [`eval::normalize_pairs`]) at
/// `threshold` (all pairs for `None`).
#[must_use]
pub fn breakdown(
    truth: &Truth,
    meta: &Meta,
    pairs: &[ScoredPair],
    threshold: Option<f64>,
) -> Breakdown {
    let mut b = Breakdown::default();
    let kept = |p: &ScoredPair| threshold.is_none_or(|t| p.probability >= t);
    for p in pairs.iter().filter(|p| kept(p)) {
        if truth.entity(p.a) != truth.entity(p.b) {
            let k = meta.classify(p.a as usize, p.b as usize);
            b.false_positives[k as usize] += 1;
        }
    }
    // True pairs: group records by entity.
    let mut by_entity: Vec<(u64, u32)> = (0..truth.len() as u32)
        .map(|i| (truth.entity(i), i))
        .collect();
    by_entity.sort_unstable();
    let found = |a: u32, b: u32| {
        pairs
            .binary_search_by(|p| (p.a, p.b).cmp(&(a, b)))
            .is_ok_and(|i| kept(&pairs[i]))
    };
    for group in by_entity.chunk_by(|x, y| x.0 == y.0) {
        for (i, &(_, a)) in group.iter().enumerate() {
            for &(_, c) in &group[i + 1..] {
                let hit = u64::from(found(a.min(c), a.max(c)));
                let mut kinds = meta.corruptions[a as usize];
                for k in meta.corruptions[c as usize].iter() {
                    kinds.insert(k);
                }
                if kinds.is_empty() {
                    b.exact_pairs += 1;
                    b.exact_found += hit;
                }
                for k in kinds.iter() {
                    b.pairs_with[k.index()] += 1;
                    b.found_with[k.index()] += hit;
                }
            }
        }
    }
    b
}

impl fmt::Display for Breakdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: u64 = self.false_positives.iter().sum();
        writeln!(f, "-- false positives by relation ({total})")?;
        for k in FalsePositiveKind::ALL {
            let n = self.false_positives[k as usize];
            let share = if total == 0 {
                0.0
            } else {
                n as f64 / total as f64
            };
            writeln!(f, "{:<22} {n:>9} {:>7.1}%", k.name(), share * 100.0)?;
        }
        writeln!(
            f,
            "-- recall by corruption (true pairs with at least one record carrying it)"
        )?;
        writeln!(
            f,
            "{:<22} {:>9} {:>9} {:>7}",
            "corruption", "pairs", "found", "recall"
        )?;
        let row = |f: &mut fmt::Formatter<'_>, name: &str, pairs: u64, found: u64| {
            let recall = if pairs == 0 {
                1.0
            } else {
                found as f64 / pairs as f64
            };
            writeln!(f, "{name:<22} {pairs:>9} {found:>9} {recall:>7.4}")
        };
        row(f, "(exact copy)", self.exact_pairs, self.exact_found)?;
        for c in Corruption::ALL {
            row(
                f,
                c.name(),
                self.pairs_with[c.index()],
                self.found_with[c.index()],
            )?;
        }
        Ok(())
    }
}
