//! An incremental duplicate index: a trained [`Model`] plus the normalised records, with
//! one inverted index per blocking rule (key -> records, each posting list sorted by the
//! sorted-neighbourhood name key). A lookup normalises the query, collects the candidates
//! the blocking rules give (all records of a block up to `max_block_size`; in a larger
//! block the `window - 1` nearest neighbours on each side by name key, as batch blocking
//! pairs them) and scores them. A record present in the index gets the same candidates and
//! scores from [`DedupeIndex::matches_for`] as from the batch [`dedupe`](super::dedupe)
//! over the same records.
//!
//! Removed records are unlinked from the posting lists and no longer count in value
//! frequencies; their normalised values stay in the store until the index is rebuilt.

use rustc_hash::{FxHashMap, FxHashSet};

use super::blocking::{neighbourhood_key, BlockingLimits, BlockingRule};
use super::compare;
use super::model::{probability_from_weight, scored_pair, Model, ScoredPair, Scorer};
use super::records::{NormalizedPerson, NormalizedRecords, View};
use super::{DedupeConfig, DedupeOutcome, PersonRecord, ReviewReason};
use crate::error::{CrmError, Result};

/// Incremental duplicate lookups against a growing set of records.
#[derive(Debug, Clone)]
pub struct DedupeIndex {
    model: Model,
    rules: Vec<BlockingRule>,
    limits: BlockingLimits,
    region: Option<phonenumber::country::Id>,
    threshold: f64,
    store: NormalizedRecords,
    ids: Vec<String>,
    by_id: FxHashMap<String, u32>,
    /// Per rule: key -> `(neighbourhood key, record)` sorted.
    postings: Vec<FxHashMap<u64, Vec<(u64, u32)>>>,
}

impl DedupeIndex {
    /// An empty index scoring with `model`; blocking, region and threshold come from
    /// `config` (threshold: `config.threshold` or the model's recommendation).
    pub fn new(model: Model, config: &DedupeConfig) -> Result<Self> {
        config.validate()?;
        model.validate()?;
        Ok(Self {
            threshold: config
                .threshold
                .unwrap_or_else(|| model.recommended_threshold()),
            model,
            rules: config.blocking_rules.clone(),
            limits: config.limits,
            region: config.region(),
            store: NormalizedRecords::new(),
            ids: Vec::new(),
            by_id: FxHashMap::default(),
            postings: vec![FxHashMap::default(); config.blocking_rules.len()],
        })
    }

    /// An index over `records` (normalised on `config.threads` threads).
    pub fn build(records: &[PersonRecord], model: Model, config: &DedupeConfig) -> Result<Self> {
        let mut idx = Self::new(model, config)?;
        idx.check_ids(records)?;
        idx.store = super::normalise_all(records, idx.region, config.worker_threads());
        idx.ids = records.iter().map(|r| r.id.clone()).collect();
        idx.link_all();
        Ok(idx)
    }

    /// An index from a batch result, reusing its normalised records and model; `records`
    /// is the slice that was passed to [`dedupe`](super::dedupe).
    pub fn from_outcome(
        records: &[PersonRecord],
        outcome: DedupeOutcome,
        config: &DedupeConfig,
    ) -> Result<Self> {
        if records.len() != outcome.records.len() {
            return Err(CrmError::validation(
                "records",
                "must be the slice the outcome was computed from",
            ));
        }
        let mut idx = Self::new(outcome.model, config)?;
        idx.check_ids(records)?;
        idx.store = outcome.records;
        idx.ids = records.iter().map(|r| r.id.clone()).collect();
        idx.link_all();
        Ok(idx)
    }

    fn check_ids(&mut self, records: &[PersonRecord]) -> Result<()> {
        self.by_id.reserve(records.len());
        for (i, r) in records.iter().enumerate() {
            if r.id.trim().is_empty() {
                return Err(CrmError::validation(
                    format!("records[{i}].id"),
                    "must not be empty",
                ));
            }
            if self.by_id.insert(r.id.clone(), i as u32).is_some() {
                return Err(CrmError::validation(
                    format!("records[{i}].id"),
                    format!("{:?} appears more than once", r.id),
                ));
            }
        }
        Ok(())
    }

    fn link_all(&mut self) {
        for i in 0..self.store.len() as u32 {
            self.link(i);
        }
    }

    /// Adds record `i` to every posting list.
    fn link(&mut self, i: u32) {
        let v = self.store.view(i);
        let nk = neighbourhood_key(&v);
        for (r, rule) in self.rules.iter().enumerate() {
            if let Some(k) = rule.key(&v) {
                let list = self.postings[r].entry(k).or_default();
                let pos = list.partition_point(|e| *e < (nk, i));
                list.insert(pos, (nk, i));
            }
        }
    }

    /// Removes record `i` from every posting list.
    fn unlink(&mut self, i: u32) {
        let v = self.store.view(i);
        let nk = neighbourhood_key(&v);
        for (r, rule) in self.rules.iter().enumerate() {
            if let Some(k) = rule.key(&v) {
                if let Some(list) = self.postings[r].get_mut(&k) {
                    if let Ok(pos) = list.binary_search(&(nk, i)) {
                        list.remove(pos);
                    }
                    if list.is_empty() {
                        self.postings[r].remove(&k);
                    }
                }
            }
        }
    }

    /// Number of records in the index.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether the index holds no record.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// The model scoring lookups.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The threshold of [`DedupeIndex::matches_for`].
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Adds `record`, replacing a record with the same id.
    pub fn insert(&mut self, record: &PersonRecord) -> Result<()> {
        if record.id.trim().is_empty() {
            return Err(CrmError::validation("id", "must not be empty"));
        }
        if self.store.len() >= (u32::MAX - 1) as usize {
            return Err(CrmError::validation(
                "records",
                "index is full (u32::MAX records)",
            ));
        }
        self.remove(&record.id);
        let i = self
            .store
            .push(&NormalizedPerson::from_record(record, self.region));
        self.ids.push(record.id.clone());
        self.by_id.insert(record.id.clone(), i);
        self.link(i);
        Ok(())
    }

    /// Removes the record with `id`; returns whether it was present.
    pub fn remove(&mut self, id: &str) -> bool {
        let Some(i) = self.by_id.remove(id) else {
            return false;
        };
        self.unlink(i);
        self.store.remove(i);
        true
    }

    /// Indexes of the candidate records for a query view (`self_idx`: the query's own
    /// index when it is stored).
    fn candidates(&self, v: &View<'_>, self_idx: Option<u32>) -> Vec<u32> {
        let nk = neighbourhood_key(v);
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        let mut out = Vec::new();
        let reach = self.limits.window.max(2) - 1;
        for (r, rule) in self.rules.iter().enumerate() {
            let Some(k) = rule.key(v) else { continue };
            let Some(list) = self.postings[r].get(&k) else {
                continue;
            };
            // The block the query would be in has the query itself when it is stored.
            let block_size = list.len() + usize::from(self_idx.is_none());
            let mut take = |i: u32| {
                if Some(i) != self_idx && seen.insert(i) {
                    out.push(i);
                }
            };
            if block_size <= self.limits.max_block_size {
                list.iter().for_each(|e| take(e.1));
            } else {
                let me = (nk, self_idx.unwrap_or(u32::MAX));
                let pos = list.partition_point(|e| *e < me);
                let after = if list.get(pos).is_some_and(|e| Some(e.1) == self_idx) {
                    pos + 1
                } else {
                    pos
                };
                list[pos.saturating_sub(reach)..pos]
                    .iter()
                    .for_each(|e| take(e.1));
                list[after..(after + reach).min(list.len())]
                    .iter()
                    .for_each(|e| take(e.1));
            }
        }
        out
    }

    /// Records matching `record` at or above the threshold, best first. A record with the
    /// query's id is skipped, so a stored record can be checked for duplicates of itself.
    pub fn matches_for(&self, record: &PersonRecord) -> Vec<ScoredPair> {
        self.scored(record, self.threshold)
    }

    /// Stored records below the threshold that share an e-mail address with `record`, best
    /// first, with the reason: the lookup counterpart of
    /// [`DedupeOutcome::review`](super::DedupeOutcome::review).
    pub fn review_for(&self, record: &PersonRecord) -> Vec<(ScoredPair, ReviewReason)> {
        let q = NormalizedPerson::from_record(record, self.region);
        let qv = self.store.query_view(&q);
        let self_idx = self.by_id.get(record.id.as_str()).copied();
        let scorer = Scorer::new(&self.model, &self.store);
        let mut out: Vec<(ScoredPair, ReviewReason)> = self
            .candidates(&qv, self_idx)
            .into_iter()
            .filter_map(|i| {
                let v = self.store.view(i);
                let (x, y) = match self_idx {
                    Some(s) if s > i => (&v, &qv),
                    _ => (&qv, &v),
                };
                let g = compare::gamma(x, y);
                let reason = ReviewReason::for_person_pair(g)?;
                let w = scorer.weight(&self.store, g, x, y);
                (probability_from_weight(w) < self.threshold).then(|| {
                    let sp = scored_pair(
                        record.id.clone(),
                        self.ids[i as usize].clone(),
                        w,
                        scorer.prior_bits(),
                        scorer.explain(&self.store, g, x, y),
                    );
                    (sp, reason)
                })
            })
            .collect();
        out.sort_by(|x, y| {
            y.0.match_weight
                .total_cmp(&x.0.match_weight)
                .then_with(|| x.0.b.cmp(&y.0.b))
        });
        out
    }

    /// Every candidate of `record` scored at or above `min_probability`, best first.
    pub fn scored(&self, record: &PersonRecord, min_probability: f64) -> Vec<ScoredPair> {
        let q = NormalizedPerson::from_record(record, self.region);
        let qv = self.store.query_view(&q);
        let self_idx = self.by_id.get(record.id.as_str()).copied();
        let scorer = Scorer::new(&self.model, &self.store);
        let mut out: Vec<ScoredPair> = self
            .candidates(&qv, self_idx)
            .into_iter()
            .filter_map(|i| {
                let v = self.store.view(i);
                // Compare in index order, as batch scoring does.
                let (x, y) = match self_idx {
                    Some(s) if s > i => (&v, &qv),
                    _ => (&qv, &v),
                };
                let g = compare::gamma(x, y);
                let w = scorer.weight(&self.store, g, x, y);
                let p = probability_from_weight(w);
                (p >= min_probability).then(|| {
                    scored_pair(
                        record.id.clone(),
                        self.ids[i as usize].clone(),
                        w,
                        scorer.prior_bits(),
                        scorer.explain(&self.store, g, x, y),
                    )
                })
            })
            .collect();
        out.sort_by(|x, y| {
            y.match_weight
                .total_cmp(&x.match_weight)
                .then_with(|| x.b.cmp(&y.b))
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedupe::tests::sample_people;
    use crate::dedupe::{blocking, dedupe};

    #[test]
    fn index_matches_equal_batch_pairs() {
        let records = sample_people(400, 11);
        for limits in [
            BlockingLimits::default(),
            BlockingLimits {
                max_block_size: 3,
                window: 3,
            },
        ] {
            let config = DedupeConfig {
                limits,
                threads: 2,
                ..Default::default()
            };
            let outcome = dedupe(&records, &config).unwrap();
            let batch: FxHashSet<(String, String)> = outcome
                .pairs
                .iter()
                .map(|p| {
                    (
                        records[p.a as usize].id.clone(),
                        records[p.b as usize].id.clone(),
                    )
                })
                .collect();
            let candidates = outcome.candidates.clone();
            let index = DedupeIndex::build(&records, outcome.model.clone(), &config).unwrap();
            let mut from_index: FxHashSet<(String, String)> = FxHashSet::default();
            let mut cand_index: FxHashSet<u64> = FxHashSet::default();
            for (i, r) in records.iter().enumerate() {
                let q = NormalizedPerson::from_record(r, None);
                for j in index.candidates(&index.store.query_view(&q), Some(i as u32)) {
                    cand_index.insert(blocking::pair_key(i as u32, j));
                }
                for m in index.matches_for(r) {
                    let (a, b) = if m.a < m.b { (m.a, m.b) } else { (m.b, m.a) };
                    from_index.insert((a, b));
                }
            }
            let cand_batch: FxHashSet<u64> = candidates.into_iter().collect();
            assert_eq!(cand_index, cand_batch, "{limits:?}");
            let batch_sorted: FxHashSet<(String, String)> = batch
                .into_iter()
                .map(|(a, b)| if a < b { (a, b) } else { (b, a) })
                .collect();
            assert_eq!(from_index, batch_sorted, "{limits:?}");
            assert!(!from_index.is_empty());
        }
    }

    #[test]
    fn insert_remove_and_lookup() {
        let records = sample_people(200, 5);
        let config = DedupeConfig::default();
        let outcome = dedupe(&records, &config).unwrap();
        let pair = outcome.pairs[0];
        let (a, b) = (&records[pair.a as usize], &records[pair.b as usize]);
        let mut index = DedupeIndex::new(outcome.model, &config).unwrap();
        assert!(index.is_empty());
        index.insert(a).unwrap();
        let found = index.matches_for(b);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].b, a.id);
        assert!(found[0].probability >= index.threshold());
        assert_eq!(found[0].explanation.len(), crate::dedupe::Comparison::COUNT);
        // Looking up a stored record skips itself.
        assert!(index.matches_for(a).is_empty());
        assert!(index.remove(&a.id));
        assert!(!index.remove(&a.id));
        assert!(index.matches_for(b).is_empty());
        // Re-inserting with the same id replaces.
        index.insert(a).unwrap();
        index.insert(a).unwrap();
        assert_eq!(index.len(), 1);
        assert_eq!(index.matches_for(b).len(), 1);
        assert!(matches!(
            index.insert(&PersonRecord {
                id: " ".into(),
                ..Default::default()
            }),
            Err(CrmError::Validation { field, .. }) if field == "id"
        ));
    }

    #[test]
    fn review_lookups_match_the_batch_review_list() {
        let mut records = crate::dedupe::tests::small_tenant(40, "Robert", "Bob");
        for (id, first, last) in [("m1", "Hannah", "Quisling"), ("m2", "Magnus", "Quisling")] {
            records.push(PersonRecord {
                id: id.into(),
                first_name: Some(first.into()),
                last_name: Some(last.into()),
                email: Some("family@quisling.example".into()),
                ..Default::default()
            });
        }
        let config = DedupeConfig::default();
        let outcome = dedupe(&records, &config).unwrap();
        assert_eq!(outcome.review.len(), 1);
        let index = DedupeIndex::from_outcome(&records, outcome, &config).unwrap();
        let m2 = records.iter().find(|r| r.id == "m2").unwrap();
        let review = index.review_for(m2);
        assert_eq!(review.len(), 1);
        assert_eq!(review[0].0.b, "m1");
        assert_eq!(review[0].1, ReviewReason::SameEmailDifferentName);
        assert!(index.matches_for(m2).is_empty());
        // The real pair is a match, not a review.
        let dup = records.iter().find(|r| r.id == "dup-b").unwrap();
        assert!(index.review_for(dup).is_empty());
        assert_eq!(index.matches_for(dup)[0].b, "dup-a");
    }
}
