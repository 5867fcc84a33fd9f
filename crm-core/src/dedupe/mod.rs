//! Duplicate detection for persons and companies: probabilistic record linkage in the
//! Fellegi-Sunter tradition (the model behind Splink), pure and in-memory.
//!
//! The person pipeline, run by [`dedupe`] in one call:
//! 1. **normalise** every field ([`normalize`]) and store the results interned and
//!    columnar ([`records::NormalizedRecords`]);
//! 2. **block** ([`blocking`]): several cheap keys propose candidate pairs, unioned;
//! 3. **compare** each candidate pair field by field into agreement levels ([`compare`]);
//! 4. **train** the model ([`model`]): `u` from random pairs, `m` and the class shares by
//!    EM; or, with too little data (fewer than 1,000 records or 500 candidate pairs by
//!    default) or when EM degenerates, take the documented **prior model** ([`prior`]:
//!    literature-based `m`/`u` per level), so that detection works from two records on.
//!    [`DedupeOutcome::model_source`] and [`TrainingSummary::prior_reason`] say which;
//! 5. **score** each pair (with term-frequency adjustment for trained models) into a match
//!    probability;
//! 6. **cluster** the pairs at or above the threshold ([`cluster`]), splitting chains.
//!
//! Pairs below the threshold that share an e-mail address are not matches, but are listed
//! in [`DedupeOutcome::review`] with a [`ReviewReason`] ("same e-mail address, different
//! name"): a family mailbox or one person under two names is for a person to decide.
//!
//! Companies go through their own pipeline ([`company`]: [`dedupe_companies`],
//! [`CompanyIndex`]) with the same scoring and clustering, their own comparisons
//! ([`Comparison::COMPANY`]: canonical name without legal forms and word order, web and
//! e-mail domains without free-mail providers, phone, address, country) and a documented
//! prior model, never EM: company data per tenant are small and EM on them is unreliable.
//! Keeping the two apart means a person can never pair with a company.
//!
//! [`DedupeIndex`] keeps a model and the person records for one-at-a-time lookups;
//! [`CompanyIndex`] does the same for companies.
//!
//! Measured with the `dedupe_csv` example and `crm-synth` (default settings, threshold
//! 0.9, no per-dataset tuning; 2-core machine shared with other work): pairwise F1 0.985
//! on 10k generated people (15k records), 0.981 on 100k, 0.964 on 1M (1.5M records; the
//! full pipeline in about 26 s wall / 44 s CPU when the machine is otherwise idle, peak
//! RSS 2.0 GiB including the CSV records), and 0.999 / 0.994 / 0.990 on FEBRL 1 / 2 / 3.
//! `DedupeIndex::matches_for` takes about 80 us against 1M records. The prior model, run on
//! the same generator's tenants of 30 to 5,000 people, scores as well as EM (pairwise F1
//! 0.98-0.99); EM is better on FEBRL and above about 10,000 people (BENCHMARKS.md).
//!
//! Nothing here reads the clock or does IO. A caller that wants phase timings passes a
//! progress hook to [`dedupe_with_progress`], which is called as each [`Phase`] starts,
//! and times the phases itself (the `dedupe_csv` example does). Work is spread over
//! `threads` scoped threads that all end before the call returns.
//!
//! ```
//! use crm_core::dedupe::{dedupe, DedupeConfig, PersonRecord};
//!
//! let person = |id: &str, first: &str, last: &str, email: &str| PersonRecord {
//!     id: id.into(),
//!     first_name: Some(first.into()),
//!     last_name: Some(last.into()),
//!     email: Some(email.into()),
//!     birth_date: Some("1984-03-02".into()),
//!     ..Default::default()
//! };
//! let records = vec![
//!     person("1", "Robert", "Smith", "rob.smith@gmail.com"),
//!     person("2", "Bob", "Smith", "robsmith+crm@gmail.com"),
//!     person("3", "Alice", "Jones", "alice@example.org"),
//! ];
//! let outcome = dedupe(&records, &DedupeConfig::default()).unwrap();
//! assert_eq!(outcome.clusters.assignment[0], outcome.clusters.assignment[1]);
//! assert_ne!(outcome.clusters.assignment[0], outcome.clusters.assignment[2]);
//! ```

pub mod blocking;
pub mod cluster;
pub mod company;
pub mod compare;
pub mod index;
pub mod model;
pub mod normalize;
pub mod prior;
pub mod records;

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

pub use blocking::{pair_completeness, BlockingLimits, BlockingRule, BlockingStats, RuleStats};
pub use cluster::{ClusterOptions, Clusters, Edge};
pub use company::{dedupe_companies, CompanyIndex, CompanyModel, CompanyOutcome, CompanyRecord};
pub use compare::{Comparison, Gamma};
pub use index::DedupeIndex;
pub use model::{
    FieldComparison, Model, ModelOrigin, PriorReason, ScoredPair, TrainingOptions, TrainingSummary,
    USource, DEFAULT_THRESHOLD,
};
pub use normalize::BirthDate;
pub use records::{Column, NormalizedPerson, NormalizedRecords};

use crate::error::{CrmError, Result};
use model::Scorer;

/// A person as the duplicate detector sees it. Every field but `id` is optional; empty
/// or blank values count as missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    /// The caller's id of the record; unique within one call.
    pub id: String,
    /// Given name.
    pub first_name: Option<String>,
    /// Family name.
    pub last_name: Option<String>,
    /// Whole name, used for first/last when those are missing.
    pub full_name: Option<String>,
    /// E-mail address.
    pub email: Option<String>,
    /// Phone number in any layout.
    pub phone: Option<String>,
    /// Street line (house number and street).
    pub street: Option<String>,
    /// Second address line (flat, suite, floor).
    pub address_line2: Option<String>,
    /// Town or city.
    pub city: Option<String>,
    /// Postcode or ZIP code.
    pub postcode: Option<String>,
    /// County, state or region.
    pub region: Option<String>,
    /// Country (code or name).
    pub country: Option<String>,
    /// Date of birth (`YYYY-MM-DD`, `YYYYMMDD`, `DD/MM/YYYY`, `DD.MM.YYYY`, ...).
    pub birth_date: Option<String>,
    /// Employer.
    pub company: Option<String>,
    /// National id (SSN, NI number, ...).
    pub national_id: Option<String>,
}

/// Settings of [`dedupe`] and [`DedupeIndex`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DedupeConfig {
    /// ISO-3166 alpha-2 region for phone numbers written without a country prefix.
    pub default_region: Option<String>,
    /// Blocking rules whose candidate pairs are unioned (default: all).
    pub blocking_rules: Vec<BlockingRule>,
    /// Block size cap and sorted-neighbourhood window.
    pub limits: BlockingLimits,
    /// Match probability at or above which pairs are reported; `None`: the model's
    /// recommended threshold.
    pub threshold: Option<f64>,
    /// Chaining guard: every member of a cluster must match the cluster's centre with at
    /// least this probability.
    pub cluster_lower_bound: f64,
    /// Worker threads; 0 = the available parallelism.
    pub threads: usize,
    /// How to train the model.
    pub training: TrainingOptions,
    /// A model trained before; when set, [`dedupe`] scores with it and does not train.
    pub model: Option<Model>,
    /// Pairs of record ids known to be the same person; when given, `m` is counted from
    /// them instead of estimated by EM.
    pub labelled_pairs: Vec<(String, String)>,
}

impl Default for DedupeConfig {
    fn default() -> Self {
        Self {
            default_region: None,
            blocking_rules: BlockingRule::ALL.to_vec(),
            limits: BlockingLimits::default(),
            threshold: None,
            cluster_lower_bound: 0.3,
            threads: 0,
            training: TrainingOptions::default(),
            model: None,
            labelled_pairs: Vec::new(),
        }
    }
}

impl DedupeConfig {
    /// Checks every setting; errors name the offending field.
    pub fn validate(&self) -> Result<()> {
        if let Some(r) = &self.default_region {
            if normalize::phone_region(r).is_none() {
                return Err(CrmError::validation(
                    "default_region",
                    format!("{r:?} is not a known ISO-3166 alpha-2 region"),
                ));
            }
        }
        if self.blocking_rules.is_empty() {
            return Err(CrmError::validation(
                "blocking_rules",
                "at least one rule is needed",
            ));
        }
        if self.limits.max_block_size < 2 {
            return Err(CrmError::validation(
                "limits.max_block_size",
                "must be at least 2",
            ));
        }
        if self.limits.window < 2 {
            return Err(CrmError::validation("limits.window", "must be at least 2"));
        }
        if let Some(t) = self.threshold {
            if !(t > 0.0 && t < 1.0) {
                return Err(CrmError::validation(
                    "threshold",
                    "must lie strictly between 0 and 1",
                ));
            }
        }
        if !(self.cluster_lower_bound >= 0.0 && self.cluster_lower_bound < 1.0) {
            return Err(CrmError::validation(
                "cluster_lower_bound",
                "must lie in [0, 1)",
            ));
        }
        let t = &self.training;
        if t.max_iterations == 0 {
            return Err(CrmError::validation(
                "training.max_iterations",
                "must be at least 1",
            ));
        }
        if !(t.tolerance > 0.0 && t.tolerance.is_finite()) {
            return Err(CrmError::validation(
                "training.tolerance",
                "must be positive",
            ));
        }
        if !(t.threshold > 0.0 && t.threshold < 1.0) {
            return Err(CrmError::validation(
                "training.threshold",
                "must lie strictly between 0 and 1",
            ));
        }
        if !(t.tf_cap_bits >= 0.0 && t.tf_cap_bits.is_finite()) {
            return Err(CrmError::validation(
                "training.tf_cap_bits",
                "must be a non-negative number",
            ));
        }
        if let Some(m) = &self.model {
            m.validate()?;
        }
        Ok(())
    }

    /// The parsed default phone region.
    pub(crate) fn region(&self) -> Option<phonenumber::country::Id> {
        self.default_region
            .as_deref()
            .and_then(normalize::phone_region)
    }

    /// Worker threads to use.
    pub(crate) fn worker_threads(&self) -> usize {
        if self.threads == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            self.threads
        }
    }
}

/// The phases of [`dedupe_with_progress`], reported as each starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Checking input and normalising fields.
    Normalise,
    /// Computing candidate pairs.
    Block,
    /// Comparing candidate pairs into comparison vectors.
    Compare,
    /// Estimating `u`, then `m` by EM (skipped with a given model).
    Train,
    /// Scoring pairs.
    Score,
    /// Clustering.
    Cluster,
    /// Finished.
    Done,
}

impl Phase {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Normalise => "normalise",
            Phase::Block => "block",
            Phase::Compare => "compare",
            Phase::Train => "train",
            Phase::Score => "score",
            Phase::Cluster => "cluster",
            Phase::Done => "done",
        }
    }
}

/// A pair at or above the threshold, by record index (into the input slice).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MatchPair {
    /// Index of the first record (lower).
    pub a: u32,
    /// Index of the second record.
    pub b: u32,
    /// `log2` posterior odds.
    pub match_weight: f64,
    /// Posterior match probability.
    pub probability: f64,
    /// The comparison vector, for explanations.
    pub gamma: Gamma,
}

/// Where the model that scored a run came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelSource {
    /// A model passed in ([`DedupeConfig::model`]; the service passes the one saved in
    /// the tenant's settings).
    Saved,
    /// Trained on this run's records (EM, or `m` from labelled pairs).
    Trained,
    /// The documented prior model ([`prior`]): too little data to train on, or EM
    /// degenerated; [`TrainingSummary::prior_reason`] says which.
    Prior,
}

impl ModelSource {
    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            ModelSource::Saved => "saved",
            ModelSource::Trained => "trained",
            ModelSource::Prior => "prior",
        }
    }
}

/// Which engine compared a pair: persons ([`dedupe`], [`DedupeIndex`]) or companies
/// ([`dedupe_companies`], [`CompanyIndex`]). A person is never compared with a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// Person records: customers who are people, contacts, leads with a person's name.
    Person,
    /// Company records: company customers and leads that name a company.
    Company,
}

/// Why a pair that is not a match is still worth a person's look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewReason {
    /// The same e-mail address under different names: a shared mailbox (a household, an
    /// office) or one person entered under two names.
    SameEmailDifferentName,
    /// The same e-mail address, names partly agreeing or missing, yet below the threshold.
    SameEmail,
    /// Two companies with the same web or e-mail domain but different names: a renamed
    /// company, a brand and its legal name, or a subsidiary.
    SameDomainDifferentName,
}

impl ReviewReason {
    /// The explanation in words (`"same e-mail address, different name"`).
    pub fn message(self) -> &'static str {
        match self {
            ReviewReason::SameEmailDifferentName => "same e-mail address, different name",
            ReviewReason::SameEmail => "same e-mail address",
            ReviewReason::SameDomainDifferentName => "same web domain, different name",
        }
    }

    /// The review reason of a person pair below the threshold, from its comparison vector:
    /// an exact e-mail agreement makes it one (different name when a given or family name
    /// is entirely different, or both are missing on a side).
    pub fn for_person_pair(g: Gamma) -> Option<ReviewReason> {
        if compare::level_of(g, Comparison::Email) != 1 {
            return None;
        }
        let first = compare::level_of(g, Comparison::FirstName);
        let last = compare::level_of(g, Comparison::LastName);
        let differs = |l: u8, c: Comparison| usize::from(l) == c.levels().len();
        if differs(first, Comparison::FirstName)
            || differs(last, Comparison::LastName)
            || (first == 0 && last == 0)
        {
            Some(ReviewReason::SameEmailDifferentName)
        } else {
            Some(ReviewReason::SameEmail)
        }
    }
}

/// A candidate pair below the threshold that shares something a person should look at
/// (an e-mail address, a web domain). Not a match: it never enters `pairs` or clusters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ReviewPair {
    /// The pair, its score and comparison vector.
    pub pair: MatchPair,
    /// What the two records share.
    pub reason: ReviewReason,
}

/// What [`dedupe`] found.
#[derive(Debug, Clone)]
pub struct DedupeOutcome {
    /// Pairs at or above `threshold`, sorted by `(a, b)`.
    pub pairs: Vec<MatchPair>,
    /// Candidate pairs below the threshold that share an e-mail address, for review,
    /// sorted by `(a, b)` ([`ReviewReason::for_person_pair`]).
    pub review: Vec<ReviewPair>,
    /// Where [`DedupeOutcome::model`] came from.
    pub model_source: ModelSource,
    /// A partition of all records.
    pub clusters: Clusters,
    /// Blocking statistics.
    pub stats: BlockingStats,
    /// The model that scored the pairs (trained now or given).
    pub model: Model,
    /// The threshold applied.
    pub threshold: f64,
    /// The candidate pairs as sorted pair keys ([`blocking::pair_key`]).
    pub candidates: Vec<u64>,
    /// The normalised records (index `i` is input record `i`).
    pub records: NormalizedRecords,
}

impl DedupeOutcome {
    /// Share of the labelled true pairs (record indexes) that blocking proposed.
    pub fn pair_completeness(&self, true_pairs: &[(u32, u32)]) -> f64 {
        pair_completeness(&self.candidates, true_pairs)
    }

    /// The pair with ids and a per-field explanation; `records` is the input slice.
    pub fn scored_pair(&self, records: &[PersonRecord], p: &MatchPair) -> ScoredPair {
        let scorer = Scorer::new(&self.model, &self.records);
        let (va, vb) = (self.records.view(p.a), self.records.view(p.b));
        let id = |i: u32| {
            records
                .get(i as usize)
                .map_or_else(String::new, |r| r.id.clone())
        };
        model::scored_pair(
            id(p.a),
            id(p.b),
            p.match_weight,
            scorer.prior_bits(),
            scorer.explain(&self.records, p.gamma, &va, &vb),
        )
    }
}

/// Normalised values of a run of records, packed into one string so that worker
/// threads hand over one allocation per chunk instead of a dozen per record.
struct NormalizedChunk {
    text: String,
    /// Byte length per column per record; `u16::MAX` marks a missing value.
    lens: Vec<[u16; Column::COUNT]>,
    dobs: Vec<u32>,
}

impl NormalizedChunk {
    fn build(records: &[PersonRecord], region: Option<phonenumber::country::Id>) -> Self {
        let mut chunk = Self {
            text: String::with_capacity(records.len() * 96),
            lens: Vec::with_capacity(records.len()),
            dobs: Vec::with_capacity(records.len()),
        };
        for r in records {
            let p = NormalizedPerson::from_record(r, region);
            let mut lens = [u16::MAX; Column::COUNT];
            for c in Column::ALL {
                if let Some(v) = p.get(c) {
                    let mut end = v.len().min(usize::from(u16::MAX - 1));
                    while !v.is_char_boundary(end) {
                        end -= 1;
                    }
                    chunk.text.push_str(&v[..end]);
                    lens[c.index()] = end as u16;
                }
            }
            chunk.lens.push(lens);
            chunk.dobs.push(p.birth_date.map_or(0, BirthDate::packed));
        }
        chunk
    }

    fn push_into(&self, store: &mut NormalizedRecords) {
        let mut pos = 0;
        for (lens, &dob) in self.lens.iter().zip(&self.dobs) {
            let mut values: [Option<&str>; Column::COUNT] = [None; Column::COUNT];
            for c in Column::ALL {
                let l = lens[c.index()];
                if l != u16::MAX {
                    let end = pos + usize::from(l);
                    values[c.index()] = self.text.get(pos..end);
                    pos = end;
                }
            }
            store.push_values(&values, dob);
        }
    }
}

/// Normalises `records` on `threads` scoped threads and interns them in input order.
pub(crate) fn normalise_all(
    records: &[PersonRecord],
    region: Option<phonenumber::country::Id>,
    threads: usize,
) -> NormalizedRecords {
    const CHUNK: usize = 8192;
    let mut store = NormalizedRecords::with_capacity(records.len());
    let chunks: Vec<&[PersonRecord]> = records.chunks(CHUNK).collect();
    if threads <= 1 || chunks.len() <= 1 {
        for c in &chunks {
            NormalizedChunk::build(c, region).push_into(&mut store);
        }
        return store;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<(usize, NormalizedChunk)>(threads * 2);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, chunks) = (&next, &chunks);
            scope.spawn(move || loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(chunk) = chunks.get(k) else { break };
                if tx.send((k, NormalizedChunk::build(chunk, region))).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        // Intern in input order, holding early chunks until their turn.
        let mut pending: FxHashMap<usize, NormalizedChunk> = FxHashMap::default();
        let mut want = 0;
        for (k, out) in rx {
            pending.insert(k, out);
            while let Some(ready) = pending.remove(&want) {
                ready.push_into(&mut store);
                want += 1;
            }
        }
    });
    store
}

/// Runs `f` over `n` items split into `threads` contiguous ranges on scoped threads and
/// concatenates the results in order.
pub(crate) fn par_ranges<T: Send, F>(n: usize, threads: usize, f: F) -> Vec<T>
where
    F: Fn(std::ops::Range<usize>) -> Vec<T> + Sync,
{
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return f(0..n);
    }
    let per = n.div_ceil(threads);
    let parts: Vec<Vec<T>> = std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || f(t * per..((t + 1) * per).min(n))))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for p in parts {
        out.extend(p);
    }
    out
}

/// Finds duplicates among `records`. See [`dedupe_with_progress`].
pub fn dedupe(records: &[PersonRecord], config: &DedupeConfig) -> Result<DedupeOutcome> {
    dedupe_with_progress(records, config, &mut |_| {})
}

/// Finds duplicates among `records`: normalise, block, compare, train (unless
/// `config.model` is given), score, cluster. `progress` is called as each [`Phase`]
/// starts and once with [`Phase::Done`] at the end, so a caller can time the phases.
///
/// Fails with [`CrmError::Validation`] for a bad config, an empty or repeated record id,
/// more than `u32::MAX - 1` records, or a labelled pair naming an unknown id.
pub fn dedupe_with_progress(
    records: &[PersonRecord],
    config: &DedupeConfig,
    progress: &mut dyn FnMut(Phase),
) -> Result<DedupeOutcome> {
    config.validate()?;
    progress(Phase::Normalise);
    if records.len() >= (u32::MAX - 1) as usize {
        return Err(CrmError::validation(
            "records",
            "more than u32::MAX - 1 records",
        ));
    }
    let threads = config.worker_threads();
    let mut by_id: FxHashMap<&str, u32> = FxHashMap::default();
    by_id.reserve(records.len());
    for (i, r) in records.iter().enumerate() {
        if r.id.trim().is_empty() {
            return Err(CrmError::validation(
                format!("records[{i}].id"),
                "must not be empty",
            ));
        }
        if by_id.insert(r.id.as_str(), i as u32).is_some() {
            return Err(CrmError::validation(
                format!("records[{i}].id"),
                format!("{:?} appears more than once", r.id),
            ));
        }
    }
    let mut labelled_idx = Vec::with_capacity(config.labelled_pairs.len());
    for (k, (a, b)) in config.labelled_pairs.iter().enumerate() {
        match (by_id.get(a.as_str()), by_id.get(b.as_str())) {
            (Some(&x), Some(&y)) if x != y => labelled_idx.push((x, y)),
            _ => {
                return Err(CrmError::validation(
                    format!("labelled_pairs[{k}]"),
                    format!("({a:?}, {b:?}) must name two different known records"),
                ))
            }
        }
    }
    drop(by_id);
    let store = normalise_all(records, config.region(), threads);

    progress(Phase::Block);
    let (candidates, stats) =
        blocking::candidate_pairs(&store, &config.blocking_rules, config.limits, threads);

    progress(Phase::Compare);
    let gammas: Vec<Gamma> = par_ranges(candidates.len(), threads, |r| {
        candidates[r]
            .iter()
            .map(|&k| {
                let (a, b) = blocking::pair_of(k);
                compare::gamma(&store.view(a), &store.view(b))
            })
            .collect()
    });

    progress(Phase::Train);
    let (model, model_source) = match &config.model {
        Some(m) => (m.clone(), ModelSource::Saved),
        None => {
            let labelled: Vec<Gamma> = labelled_idx
                .iter()
                .map(|&(a, b)| compare::gamma(&store.view(a), &store.view(b)))
                .collect();
            let m = Model::fit(&store, &gammas, &labelled, &config.training, threads);
            let source = match m.origin {
                ModelOrigin::Trained => ModelSource::Trained,
                ModelOrigin::Prior => ModelSource::Prior,
            };
            (m, source)
        }
    };
    let threshold = config
        .threshold
        .unwrap_or_else(|| model.recommended_threshold());
    let lower = config.cluster_lower_bound.min(threshold);

    progress(Phase::Score);
    let scorer = Scorer::new(&model, &store);
    let kept: Vec<(u64, Gamma, f64)> = par_ranges(candidates.len(), threads, |r| {
        let lower_w = model::weight_from_probability(lower);
        let mut out = Vec::new();
        for i in r {
            let (a, b) = blocking::pair_of(candidates[i]);
            let g = gammas[i];
            let w = scorer.weight_stored(&store, g, a, b);
            // Pairs under the clustering bound are dropped, except those sharing an
            // e-mail address, which go to the review list.
            if w >= lower_w || compare::level_of(g, Comparison::Email) == 1 {
                out.push((candidates[i], g, w));
            }
        }
        out
    });
    drop(gammas);
    let lower_w = model::weight_from_probability(lower);
    let mut pairs = Vec::new();
    let mut review = Vec::new();
    let mut edges = Vec::with_capacity(kept.len());
    for &(k, g, w) in &kept {
        let (a, b) = blocking::pair_of(k);
        let p = model::probability_from_weight(w);
        let pair = MatchPair {
            a,
            b,
            match_weight: w,
            probability: p,
            gamma: g,
        };
        if w >= lower_w {
            edges.push(Edge {
                a,
                b,
                probability: p,
            });
        }
        if p >= threshold {
            pairs.push(pair);
        } else if let Some(reason) = ReviewReason::for_person_pair(g) {
            review.push(ReviewPair { pair, reason });
        }
    }
    drop(kept);

    progress(Phase::Cluster);
    let clusters = cluster::cluster(
        records.len(),
        &edges,
        ClusterOptions {
            threshold,
            lower_bound: lower,
        },
        &mut |a, b| {
            let (va, vb) = (store.view(a), store.view(b));
            let g = compare::gamma(&va, &vb);
            model::probability_from_weight(scorer.weight(&store, g, &va, &vb))
        },
    );
    drop(edges);
    progress(Phase::Done);
    Ok(DedupeOutcome {
        pairs,
        review,
        model_source,
        clusters,
        stats,
        model,
        threshold,
        candidates,
        records: store,
    })
}

#[cfg(test)]
mod tests;
