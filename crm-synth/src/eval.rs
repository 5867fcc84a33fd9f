//! Accuracy of a duplicate detector against known truth: pairwise precision, recall and F1 of
//! a scored pair list, of a clustering, and the pair completeness of a blocking step.
//!
//! Everything is pairwise: a "pair" is an unordered pair of distinct records, and a true pair
//! is two records of the same entity. For clusters the counts come from cluster sizes
//! (`n * (n - 1) / 2` pairs in a group of `n`), so a clustering with one cluster of a million
//! records costs no more than any other.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use crate::record::SynthRecord;

/// Failure to read or make sense of an input file.
#[derive(Debug)]
pub enum EvalError {
    /// The file could not be read or parsed as CSV.
    Csv {
        /// The file.
        path: String,
        /// The parser's error.
        source: csv::Error,
    },
    /// The file parsed but its content is not usable.
    Content {
        /// The file.
        path: String,
        /// What is wrong, naming the row or id.
        reason: String,
    },
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EvalError::Csv { path, source } => write!(f, "cannot read {path}: {source}"),
            EvalError::Content { path, reason } => write!(f, "{path}: {reason}"),
        }
    }
}

impl std::error::Error for EvalError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            EvalError::Csv { source, .. } => Some(source),
            EvalError::Content { .. } => None,
        }
    }
}

/// The known truth: which entity each record id belongs to. Records are numbered densely
/// (in insertion order) so that pairs can be held as two `u32`s.
#[derive(Debug, Clone, Default)]
pub struct Truth {
    index: HashMap<String, u32>,
    entities: Vec<u64>,
}

impl Truth {
    /// An empty truth.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds record `id` of entity `entity`; returns its dense index, or `None` if the id was
    /// already present (the first entity is kept).
    pub fn insert(&mut self, id: &str, entity: u64) -> Option<u32> {
        if self.index.contains_key(id) {
            return None;
        }
        let i = self.entities.len() as u32;
        self.index.insert(id.to_string(), i);
        self.entities.push(entity);
        Some(i)
    }

    /// The truth of generated records.
    #[must_use]
    pub fn from_records(records: &[SynthRecord]) -> Self {
        let mut t = Self::new();
        for r in records {
            t.insert(&r.id, r.entity_id);
        }
        t
    }

    /// Reads `truth.csv` (`id,entity_id`, header required; entity ids may be any text, they
    /// are only compared).
    ///
    /// # Errors
    /// When the file cannot be read, a column is missing or an id appears twice.
    pub fn read_csv(path: &Path) -> Result<Self, EvalError> {
        let mut reader = open(path)?;
        let (id_col, entity_col) = {
            let h = headers(&mut reader, path)?;
            (column(&h, "id", 0), column(&h, "entity_id", 1))
        };
        let mut truth = Self::new();
        let mut labels: HashMap<Vec<u8>, u64> = HashMap::new();
        let mut row = csv::ByteRecord::new();
        let mut line = 1u64;
        while read_row(&mut reader, &mut row, path)? {
            line += 1;
            let id = cell(&row, id_col, path, line)?;
            let label = row.get(entity_col).unwrap_or(b"");
            let next = labels.len() as u64;
            let entity = *labels.entry(label.to_vec()).or_insert(next);
            if truth.insert(id, entity).is_none() {
                return Err(content(path, format!("line {line}: id {id} appears twice")));
            }
        }
        Ok(truth)
    }

    /// Number of records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// Whether there are no records.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// The dense index of record `id`.
    #[must_use]
    pub fn index_of(&self, id: &str) -> Option<u32> {
        self.index.get(id).copied()
    }

    /// The entity of the record with dense index `i`.
    #[must_use]
    pub fn entity(&self, i: u32) -> u64 {
        self.entities[i as usize]
    }

    /// Number of true pairs: the sum over entities of `n * (n - 1) / 2`.
    #[must_use]
    pub fn true_pairs(&self) -> u64 {
        let mut sizes: HashMap<u64, u64> = HashMap::new();
        for &e in &self.entities {
            *sizes.entry(e).or_default() += 1;
        }
        sizes.values().map(|&n| pairs_in(n)).sum()
    }

    /// Number of distinct entities.
    #[must_use]
    pub fn entity_count(&self) -> usize {
        let mut e = self.entities.clone();
        e.sort_unstable();
        e.dedup();
        e.len()
    }

    pub(crate) fn resolve(&self, id: &str, path: &Path, line: u64) -> Result<u32, EvalError> {
        self.index_of(id).ok_or_else(|| {
            content(
                path,
                format!("line {line}: id {id} is not in the truth file (are the files from the same data set?)"),
            )
        })
    }
}

/// `n * (n - 1) / 2`.
#[must_use]
pub fn pairs_in(n: u64) -> u64 {
    n * n.saturating_sub(1) / 2
}

/// Pairwise confusion counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PairCounts {
    /// Pairs of records of the same entity.
    pub true_pairs: u64,
    /// Pairs the detector declared duplicates.
    pub predicted: u64,
    /// Predicted pairs that are true pairs.
    pub true_positives: u64,
}

impl PairCounts {
    /// Predicted pairs that are not true pairs.
    #[must_use]
    pub fn false_positives(&self) -> u64 {
        self.predicted - self.true_positives
    }

    /// True pairs the detector missed.
    #[must_use]
    pub fn false_negatives(&self) -> u64 {
        self.true_pairs - self.true_positives
    }

    /// `TP / predicted`; 1.0 when nothing was predicted (nothing predicted is nothing wrong).
    #[must_use]
    pub fn precision(&self) -> f64 {
        ratio(self.true_positives, self.predicted)
    }

    /// `TP / true pairs`; 1.0 when there is no true pair to find.
    #[must_use]
    pub fn recall(&self) -> f64 {
        ratio(self.true_positives, self.true_pairs)
    }

    /// Harmonic mean of precision and recall (0.0 when both are 0).
    #[must_use]
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        1.0
    } else {
        a as f64 / b as f64
    }
}

/// A predicted pair with its match probability, records given by dense index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoredPair {
    /// Smaller dense index.
    pub a: u32,
    /// Larger dense index.
    pub b: u32,
    /// The detector's match probability (1.0 when the file had none).
    pub probability: f64,
}

/// Sorts pairs as unordered, drops self-pairs and repeated pairs (keeping the highest
/// probability). Returns the number of self-pairs dropped.
pub fn normalize_pairs(pairs: &mut Vec<ScoredPair>) -> usize {
    let before = pairs.len();
    pairs.retain(|p| p.a != p.b);
    let self_pairs = before - pairs.len();
    for p in pairs.iter_mut() {
        if p.a > p.b {
            std::mem::swap(&mut p.a, &mut p.b);
        }
    }
    pairs.sort_unstable_by(|x, y| {
        (x.a, x.b)
            .cmp(&(y.a, y.b))
            .then(y.probability.total_cmp(&x.probability))
    });
    pairs.dedup_by(|later, earlier| later.a == earlier.a && later.b == earlier.b);
    self_pairs
}

/// Counts for the pairs with probability at least `threshold` (all pairs for `None`).
/// `pairs` must be normalised ([`normalize_pairs`]).
#[must_use]
pub fn evaluate_pairs(truth: &Truth, pairs: &[ScoredPair], threshold: Option<f64>) -> PairCounts {
    let mut counts = PairCounts {
        true_pairs: truth.true_pairs(),
        ..PairCounts::default()
    };
    for p in pairs {
        if threshold.is_some_and(|t| p.probability < t) {
            continue;
        }
        counts.predicted += 1;
        if truth.entity(p.a) == truth.entity(p.b) {
            counts.true_positives += 1;
        }
    }
    counts
}

/// Counts at each of `thresholds` in one pass over the pairs sorted by probability.
/// `pairs` must be normalised.
#[must_use]
pub fn threshold_sweep(
    truth: &Truth,
    pairs: &[ScoredPair],
    thresholds: &[f64],
) -> Vec<(f64, PairCounts)> {
    let true_pairs = truth.true_pairs();
    let mut scored: Vec<(f64, bool)> = pairs
        .iter()
        .map(|p| (p.probability, truth.entity(p.a) == truth.entity(p.b)))
        .collect();
    scored.sort_unstable_by(|x, y| y.0.total_cmp(&x.0));
    // cumulative[k] = true positives among the k most probable pairs.
    let mut cumulative = Vec::with_capacity(scored.len() + 1);
    cumulative.push(0u64);
    for &(_, tp) in &scored {
        let last = *cumulative.last().unwrap_or(&0);
        cumulative.push(last + u64::from(tp));
    }
    thresholds
        .iter()
        .map(|&t| {
            let k = scored.partition_point(|&(p, _)| p >= t);
            (
                t,
                PairCounts {
                    true_pairs,
                    predicted: k as u64,
                    true_positives: cumulative[k],
                },
            )
        })
        .collect()
}

/// Pairwise counts of a clustering: every two records in one predicted cluster form a
/// predicted pair. `assignment` gives a cluster label per dense record index; records with no
/// label are singletons. Computed from group sizes, never by listing pairs.
#[must_use]
pub fn evaluate_clusters(truth: &Truth, assignment: &[(u32, u64)]) -> PairCounts {
    // (cluster, entity) per labelled record, deduplicated per record (the first label wins).
    let mut seen = vec![false; truth.len()];
    let mut rows: Vec<(u64, u64)> = Vec::with_capacity(assignment.len());
    for &(record, cluster) in assignment {
        let r = record as usize;
        if r < seen.len() && !seen[r] {
            seen[r] = true;
            rows.push((cluster, truth.entity(record)));
        }
    }
    rows.sort_unstable();
    let mut predicted = 0;
    let mut tp = 0;
    let mut i = 0;
    while i < rows.len() {
        let cluster = rows[i].0;
        let mut j = i;
        while j < rows.len() && rows[j].0 == cluster {
            let entity = rows[j].1;
            let mut k = j;
            while k < rows.len() && rows[k] == (cluster, entity) {
                k += 1;
            }
            tp += pairs_in((k - j) as u64);
            j = k;
        }
        predicted += pairs_in((j - i) as u64);
        i = j;
    }
    PairCounts {
        true_pairs: truth.true_pairs(),
        predicted,
        true_positives: tp,
    }
}

/// How well a blocking (candidate generation) step keeps the true pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockingCounts {
    /// Records in the data set.
    pub records: u64,
    /// Distinct candidate pairs.
    pub candidates: u64,
    /// Candidate pairs that are true pairs.
    pub true_candidates: u64,
    /// All true pairs.
    pub true_pairs: u64,
}

impl BlockingCounts {
    /// Share of true pairs among the candidates (the recall ceiling of everything after).
    #[must_use]
    pub fn pair_completeness(&self) -> f64 {
        ratio(self.true_candidates, self.true_pairs)
    }

    /// `1 - candidates / all pairs`: how much comparison work blocking saved.
    #[must_use]
    pub fn reduction_ratio(&self) -> f64 {
        let all = pairs_in(self.records);
        if all == 0 {
            0.0
        } else {
            1.0 - self.candidates as f64 / all as f64
        }
    }

    /// Share of candidates that are true pairs.
    #[must_use]
    pub fn pair_quality(&self) -> f64 {
        ratio(self.true_candidates, self.candidates)
    }
}

/// Blocking counts for normalised candidate pairs.
#[must_use]
pub fn evaluate_blocking(truth: &Truth, candidates: &[ScoredPair]) -> BlockingCounts {
    let c = evaluate_pairs(truth, candidates, None);
    BlockingCounts {
        records: truth.len() as u64,
        candidates: c.predicted,
        true_candidates: c.true_positives,
        true_pairs: c.true_pairs,
    }
}

/// Reads a pairs file: columns `id_a`, `id_b` and optionally `probability` (found by header
/// name; otherwise the first three columns). Pairs are normalised; the second value is the
/// number of self-pairs dropped.
///
/// # Errors
/// When the file cannot be read, an id is not in `truth` or a probability is not a number.
pub fn read_pairs_csv(truth: &Truth, path: &Path) -> Result<(Vec<ScoredPair>, usize), EvalError> {
    let mut reader = open(path)?;
    let (a_col, b_col, p_col) = {
        let h = headers(&mut reader, path)?;
        let p = h
            .iter()
            .position(|c| c == b"probability")
            .or((h.len() >= 3).then_some(2));
        (column(&h, "id_a", 0), column(&h, "id_b", 1), p)
    };
    let mut pairs = Vec::new();
    let mut row = csv::ByteRecord::new();
    let mut line = 1u64;
    while read_row(&mut reader, &mut row, path)? {
        line += 1;
        let a = truth.resolve(cell(&row, a_col, path, line)?, path, line)?;
        let b = truth.resolve(cell(&row, b_col, path, line)?, path, line)?;
        let probability = match p_col {
            Some(c) => {
                let text = cell(&row, c, path, line)?;
                text.trim().parse::<f64>().map_err(|_| {
                    content(
                        path,
                        format!("line {line}: probability {text:?} is not a number"),
                    )
                })?
            }
            None => 1.0,
        };
        pairs.push(ScoredPair { a, b, probability });
    }
    let self_pairs = normalize_pairs(&mut pairs);
    Ok((pairs, self_pairs))
}

/// Reads a clusters file `id,cluster_id` into `(dense record index, cluster label)` rows.
///
/// # Errors
/// When the file cannot be read or an id is not in `truth`.
pub fn read_clusters_csv(truth: &Truth, path: &Path) -> Result<Vec<(u32, u64)>, EvalError> {
    let mut reader = open(path)?;
    let (id_col, cluster_col) = {
        let h = headers(&mut reader, path)?;
        (column(&h, "id", 0), column(&h, "cluster_id", 1))
    };
    let mut labels: HashMap<Vec<u8>, u64> = HashMap::new();
    let mut rows = Vec::new();
    let mut row = csv::ByteRecord::new();
    let mut line = 1u64;
    while read_row(&mut reader, &mut row, path)? {
        line += 1;
        let record = truth.resolve(cell(&row, id_col, path, line)?, path, line)?;
        let label = row.get(cluster_col).unwrap_or(b"");
        let next = labels.len() as u64;
        let cluster = *labels.entry(label.to_vec()).or_insert(next);
        rows.push((record, cluster));
    }
    Ok(rows)
}

pub(crate) fn content(path: &Path, reason: String) -> EvalError {
    EvalError::Content {
        path: path.display().to_string(),
        reason,
    }
}

pub(crate) fn open(path: &Path) -> Result<csv::Reader<std::fs::File>, EvalError> {
    csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(|source| EvalError::Csv {
            path: path.display().to_string(),
            source,
        })
}

pub(crate) fn headers(
    reader: &mut csv::Reader<std::fs::File>,
    path: &Path,
) -> Result<csv::ByteRecord, EvalError> {
    reader
        .byte_headers()
        .cloned()
        .map_err(|source| EvalError::Csv {
            path: path.display().to_string(),
            source,
        })
}

pub(crate) fn column(headers: &csv::ByteRecord, name: &str, fallback: usize) -> usize {
    headers
        .iter()
        .position(|h| h == name.as_bytes())
        .unwrap_or(fallback)
}

pub(crate) fn read_row(
    reader: &mut csv::Reader<std::fs::File>,
    row: &mut csv::ByteRecord,
    path: &Path,
) -> Result<bool, EvalError> {
    reader
        .read_byte_record(row)
        .map_err(|source| EvalError::Csv {
            path: path.display().to_string(),
            source,
        })
}

pub(crate) fn cell<'r>(
    row: &'r csv::ByteRecord,
    col: usize,
    path: &Path,
    line: u64,
) -> Result<&'r str, EvalError> {
    let bytes = row
        .get(col)
        .ok_or_else(|| content(path, format!("line {line}: has no column {}", col + 1)))?;
    std::str::from_utf8(bytes).map_err(|_| {
        content(
            path,
            format!("line {line}: column {} is not UTF-8", col + 1),
        )
    })
}
