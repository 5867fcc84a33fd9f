//! Summary figures of a generated data set: sizes, duplicate distribution, how often each
//! corruption and hard-negative relation occurs.

use std::collections::HashMap;
use std::fmt;

use crate::eval::pairs_in;
use crate::record::{Corruption, Relation, SynthRecord};

/// Counts describing a generated data set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SynthStats {
    /// Distinct entities.
    pub entities: usize,
    /// Records.
    pub records: usize,
    /// Records that are duplicates (not the entity's original).
    pub duplicates: usize,
    /// Duplicates identical to their original in every column but the id.
    pub exact_duplicates: usize,
    /// `entities_by_size[n]`: entities with `n` records.
    pub entities_by_size: Vec<usize>,
    /// Pairs of records of the same entity.
    pub true_pairs: u64,
    /// Duplicates carrying each corruption, indexed by [`Corruption::index`].
    pub corruptions: [usize; Corruption::ALL.len()],
    /// Entities created with each relation, indexed by [`Relation::index`].
    pub relations: [usize; Relation::ALL.len()],
}

impl SynthStats {
    /// Computes the figures for `records`.
    #[must_use]
    pub fn of(records: &[SynthRecord]) -> Self {
        let mut s = Self {
            records: records.len(),
            ..Self::default()
        };
        let mut sizes: HashMap<u64, usize> = HashMap::new();
        for r in records {
            *sizes.entry(r.entity_id).or_default() += 1;
            if r.is_original() {
                s.relations[r.provenance.relation.index()] += 1;
            } else {
                s.duplicates += 1;
                if r.provenance.corruptions.is_empty() {
                    s.exact_duplicates += 1;
                }
                for c in r.provenance.corruptions.iter() {
                    s.corruptions[c.index()] += 1;
                }
            }
        }
        s.entities = sizes.len();
        for &n in sizes.values() {
            if s.entities_by_size.len() <= n {
                s.entities_by_size.resize(n + 1, 0);
            }
            s.entities_by_size[n] += 1;
            s.true_pairs += pairs_in(n as u64);
        }
        s
    }

    /// Duplicates carrying corruption `c`.
    #[must_use]
    pub fn corruption(&self, c: Corruption) -> usize {
        self.corruptions[c.index()]
    }

    /// Entities created with relation `r`.
    #[must_use]
    pub fn relation(&self, r: Relation) -> usize {
        self.relations[r.index()]
    }
}

impl fmt::Display for SynthStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "entities {}  records {} ({:.3} per entity)  duplicates {} (exact copies {})  true pairs {}",
            self.entities,
            self.records,
            self.records as f64 / self.entities.max(1) as f64,
            self.duplicates,
            self.exact_duplicates,
            self.true_pairs
        )?;
        write!(f, "entities by records:")?;
        for (n, count) in self.entities_by_size.iter().enumerate().skip(1) {
            write!(f, " {n}:{count}")?;
        }
        writeln!(f)?;
        write!(f, "hard negatives (entities):")?;
        for r in Relation::ALL.iter().skip(1) {
            write!(f, " {}:{}", r.name(), self.relation(*r))?;
        }
        writeln!(f)?;
        write!(f, "corruptions (duplicates carrying each):")?;
        for c in Corruption::ALL {
            write!(f, " {}:{}", c.name(), self.corruption(c))?;
        }
        Ok(())
    }
}
