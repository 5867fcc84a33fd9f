//! The Fellegi-Sunter model: per comparison level, `m` = P(level | match) and
//! `u` = P(level | non-match); under conditional independence a pair's match weight is
//! `log2(prior odds) + sum of log2(m/u)` over its levels (null levels count 0), and its
//! probability is `2^w / (1 + 2^w)`.
//!
//! Training follows Splink's recipe, with one extension for households:
//! 1. `u` from random pairs (a seeded splitmix64 stream, so training is deterministic);
//!    for text fields the exact-agreement `u` is computed exactly from value counts
//!    (`sum c(c-1) / n(n-1)`), the other levels from the sample.
//! 2. `m` and the match share `lambda` by unsupervised expectation-maximisation over the
//!    candidate pairs, run on the histogram of distinct comparison vectors (thousands, not
//!    millions), so each iteration is cheap. The random-pair `u` starts the non-match side.
//!    With labelled pairs, `m` is counted from them and held fixed.
//! 3. Term-frequency adjustment at scoring time of the exact first and last name and of
//!    the address levels that agree on postcode or city: agreeing on value `v` adds
//!    `log2(S / p(v))` (`p(v)` the value's share, `S` the field's exact-agreement rate),
//!    so a rare surname counts more than "smith"; capped at [`Model::tf_cap_bits`].
//!
//! **Why three classes.** Members of one household (or twins, or a father and son at one
//! address) agree on surname, address, phone and often e-mail *together*. A two-class
//! model treats these agreements as independent evidence and adds them up, so it calls
//! households duplicates, and EM, free to choose, even makes "same household" its match
//! class. The candidate pairs are therefore modelled as a mixture of three latent
//! classes, each with its own level shares: matches (`m`), related non-matches (people
//! sharing a household, address or phone) and unrelated non-matches. EM starts from
//! anchors (identity evidence for matches; shared address or phone for related pairs) and
//! keeps the classes to their meaning with two constraints: a match seldom has an entirely
//! different first name or birth date (`m` of those levels at most
//! [`IDENTITY_DIFFERENT_M_CAP`]), and related people seldom agree on first name, birth date
//! or national id ([`RELATED_IDENTITY_CAP`], [`RELATED_NATIONAL_ID_CAP`]). A pair's match
//! weight is `log2 P(match, g) - log2(P(related, g) + P(unrelated, g))` plus the
//! term-frequency adjustment. Explanations report per field `log2(m/u)` with `u` the
//! combined non-match share, and the remainder as
//! [`ScoredPair::dependence_adjustment`].
//!
//! [`USource::RandomPairs`] instead scores Splink's way: two classes, random-pair `u` and
//! the prior of two random records matching.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::compare::{self, level_of, Comparison, Gamma};
use super::records::{Column, NormalizedRecords, View, NONE};

/// Version of the serialised model format.
pub const MODEL_FORMAT_VERSION: u32 = 1;

/// Which non-match distribution scores pairs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum USource {
    /// The three-class model fitted by EM on the candidate pairs (related and unrelated
    /// non-matches), with the candidate-pair prior. The default.
    #[default]
    Candidates,
    /// Two classes: `u` from random record pairs, with the prior of two random records
    /// matching (Splink's classic scoring; overrates households).
    RandomPairs,
}

/// Parameters of one comparison level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LevelParams {
    /// Level name (`exact`, `jw_0.92`, ...).
    pub name: String,
    /// P(level | match).
    pub m: f64,
    /// P(level | non-match) used for scoring.
    pub u: f64,
    /// P(level | non-match) among random pairs.
    pub u_random: f64,
    /// P(level | non-match) among candidate pairs (from EM, both non-match classes).
    pub u_candidates: f64,
    /// P(level | related non-match): people sharing a household, address or phone.
    pub related: f64,
    /// P(level | unrelated non-match) among candidate pairs.
    pub unrelated: f64,
}

/// Parameters of one comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ComparisonParams {
    /// The comparison.
    pub comparison: Comparison,
    /// Non-null levels, strongest first.
    pub levels: Vec<LevelParams>,
    /// Whether the exact level is term-frequency adjusted.
    pub term_frequency: bool,
}

/// How training went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSummary {
    /// EM iterations run.
    pub em_iterations: u32,
    /// Whether EM converged within the tolerance.
    pub converged: bool,
    /// Candidate pairs EM saw.
    pub candidate_pairs: u64,
    /// Distinct comparison vectors among them.
    pub distinct_patterns: u64,
    /// Random pairs sampled for `u`.
    pub u_sample_pairs: u64,
    /// Labelled matching pairs used for `m` (0: unsupervised).
    pub labelled_pairs: u64,
    /// Records in the training data.
    pub records: u64,
    /// Expected number of matching pairs among the candidates (`lambda * candidates`).
    pub expected_matches: f64,
    /// Why the documented prior model was used instead of EM's estimates (`None` for a
    /// trained model; see [`PriorReason`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prior_reason: Option<PriorReason>,
}

/// Where a model's parameters come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelOrigin {
    /// Estimated from the data: `u` from random pairs, `m` and the class shares by EM (or
    /// `m` counted from labelled pairs). Models saved before this field existed were all
    /// trained, hence the default.
    #[default]
    Trained,
    /// The documented prior model of [`super::prior`]: literature-based `m`/`u` per
    /// comparison level, used when the data are too few to train on or EM degenerated.
    Prior,
}

/// Why [`dedupe`](super::dedupe) scored with the prior model instead of training one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum PriorReason {
    /// Fewer live records than [`TrainingOptions::min_em_records`].
    TooFewRecords {
        /// Live records.
        records: u64,
        /// The minimum EM is run on.
        min: u64,
    },
    /// Fewer candidate pairs than [`TrainingOptions::min_em_candidate_pairs`].
    TooFewCandidatePairs {
        /// Candidate pairs.
        pairs: u64,
        /// The minimum EM is run on.
        min: u64,
    },
    /// EM ran but its estimates are unusable (see [`Model::degeneracy`]).
    EmDegenerate {
        /// What was wrong, in words.
        what: String,
    },
}

impl PriorReason {
    /// A lower-case sentence for reports.
    pub fn describe(&self) -> String {
        match self {
            PriorReason::TooFewRecords { records, min } => {
                format!("{records} records, fewer than the {min} needed to train a model")
            }
            PriorReason::TooFewCandidatePairs { pairs, min } => {
                format!("{pairs} candidate pairs, fewer than the {min} needed to train a model")
            }
            PriorReason::EmDegenerate { what } => format!("training degenerated: {what}"),
        }
    }
}

/// A trained Fellegi-Sunter model. Serialisable, so a host can train once per tenant and
/// score many times ([`DedupeConfig::model`](super::DedupeConfig::model),
/// [`DedupeIndex`](super::DedupeIndex)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Model {
    /// [`MODEL_FORMAT_VERSION`] at training time.
    pub format_version: u32,
    /// One entry per [`Comparison`], in [`Comparison::ALL`] order.
    pub comparisons: Vec<ComparisonParams>,
    /// Share of matches among candidate pairs (EM's `lambda`).
    pub lambda: f64,
    /// Share of related non-matches (same household, address or phone) among candidate
    /// pairs.
    pub lambda_related: f64,
    /// Probability that two random records match (`lambda * candidates / all pairs`).
    pub random_match_probability: f64,
    /// Which `u` scores pairs.
    pub u_source: USource,
    /// Largest term-frequency adjustment, in bits, either way.
    pub tf_cap_bits: f64,
    /// Match probability at or above which a pair is reported as a duplicate.
    pub threshold: f64,
    /// How the model was trained.
    pub training: TrainingSummary,
    /// Whether the parameters were estimated from data or are the documented prior.
    #[serde(default)]
    pub origin: ModelOrigin,
}

/// The default match-probability threshold.
pub const DEFAULT_THRESHOLD: f64 = 0.9;

/// Training settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingOptions {
    /// Seed of the random-pair sampler.
    pub seed: u64,
    /// Random pairs sampled for `u`.
    pub u_sample_pairs: usize,
    /// EM iteration cap.
    pub max_iterations: u32,
    /// EM stops when no parameter moves more than this.
    pub tolerance: f64,
    /// Which `u` scores pairs.
    pub u_source: USource,
    /// Threshold stored in the model.
    pub threshold: f64,
    /// Cap of the term-frequency adjustment in bits.
    pub tf_cap_bits: f64,
    /// With fewer live records than this (and no labelled pairs) EM is not run and the
    /// documented prior model scores the pairs instead ([`super::prior`]).
    #[serde(default = "default_min_em_records")]
    pub min_em_records: usize,
    /// With fewer candidate pairs than this (and no labelled pairs) EM is not run and the
    /// prior model scores the pairs instead.
    #[serde(default = "default_min_em_candidate_pairs")]
    pub min_em_candidate_pairs: usize,
}

/// Default of [`TrainingOptions::min_em_records`].
pub const DEFAULT_MIN_EM_RECORDS: usize = 1_000;
/// Default of [`TrainingOptions::min_em_candidate_pairs`].
pub const DEFAULT_MIN_EM_CANDIDATE_PAIRS: usize = 500;

fn default_min_em_records() -> usize {
    DEFAULT_MIN_EM_RECORDS
}

fn default_min_em_candidate_pairs() -> usize {
    DEFAULT_MIN_EM_CANDIDATE_PAIRS
}

impl Default for TrainingOptions {
    fn default() -> Self {
        Self {
            seed: 0x5EED_CAFE_F00D_D00D,
            u_sample_pairs: 200_000,
            max_iterations: 200,
            tolerance: 1e-6,
            u_source: USource::default(),
            threshold: DEFAULT_THRESHOLD,
            tf_cap_bits: 8.0,
            min_em_records: DEFAULT_MIN_EM_RECORDS,
            min_em_candidate_pairs: DEFAULT_MIN_EM_CANDIDATE_PAIRS,
        }
    }
}

/// One field's part in a pair's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldComparison {
    /// The compared field.
    pub field: Comparison,
    /// The level reached (`null` when a side is missing).
    pub level: &'static str,
    /// `m/u` of the level, term-frequency adjustment included (1.0 for null).
    pub bayes_factor: f64,
    /// `log2(bayes_factor)`.
    pub weight: f64,
    /// The term-frequency part of `weight` in bits (0 when not adjusted).
    pub tf_adjustment: f64,
}

/// A compared pair with its score and explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoredPair {
    /// Id of the first record.
    pub a: String,
    /// Id of the second record.
    pub b: String,
    /// `log2` of the posterior odds of a match.
    pub match_weight: f64,
    /// Posterior match probability.
    pub probability: f64,
    /// Per-field contributions: `log2(m/u)` of each field's level, `u` being the
    /// non-match share among candidate pairs.
    pub explanation: Vec<FieldComparison>,
    /// `log2` prior odds of a match among candidate pairs.
    pub prior_weight: f64,
    /// The rest of `match_weight`: how far the three-class model (which knows that people
    /// of one household agree on surname, address and phone together) departs from the
    /// sum of independent field weights. Negative when the agreement looks like a
    /// household rather than one person. `match_weight = prior_weight + sum(weights) +
    /// dependence_adjustment`.
    pub dependence_adjustment: f64,
}

/// Builds a [`ScoredPair`] from its parts, deriving the dependence adjustment.
pub(crate) fn scored_pair(
    a: String,
    b: String,
    match_weight: f64,
    prior_weight: f64,
    explanation: Vec<FieldComparison>,
) -> ScoredPair {
    let sum: f64 = explanation.iter().map(|f| f.weight).sum();
    ScoredPair {
        a,
        b,
        match_weight,
        probability: probability_from_weight(match_weight),
        dependence_adjustment: match_weight - prior_weight - sum,
        prior_weight,
        explanation,
    }
}

/// Probability from a match weight.
pub fn probability_from_weight(w: f64) -> f64 {
    let odds = w.exp2();
    if odds.is_infinite() {
        1.0
    } else {
        odds / (1.0 + odds)
    }
}

/// Match weight from a probability.
pub fn weight_from_probability(p: f64) -> f64 {
    let p = p.clamp(1e-300, 1.0 - 1e-16);
    (p / (1.0 - p)).log2()
}

/// A splitmix64 generator: tiny, fast and deterministic.
#[derive(Debug, Clone)]
pub(crate) struct SplitMix64(u64);

impl SplitMix64 {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0), by multiply-shift.
    pub(crate) fn below(&mut self, n: u32) -> u32 {
        (((self.next_u64() >> 32) * u64::from(n)) >> 32) as u32
    }
}

type Table = [[f64; 16]; Comparison::COUNT];

fn level_count(c: Comparison) -> usize {
    c.levels().len()
}

/// Level frequencies (conditional on non-null) from a histogram of comparison vectors.
fn level_shares(hist: &[(Gamma, f64)], weight: impl Fn(usize, f64) -> f64, alpha: f64) -> Table {
    let mut t: Table = [[0.0; 16]; Comparison::COUNT];
    for (i, &(g, n)) in hist.iter().enumerate() {
        let w = weight(i, n);
        if w == 0.0 {
            continue;
        }
        for c in Comparison::ALL {
            let l = level_of(g, c) as usize;
            if l > 0 {
                t[c.index()][l] += w;
            }
        }
    }
    for c in Comparison::ALL {
        let k = level_count(c);
        let row = &mut t[c.index()];
        let total: f64 = row[1..=k].iter().sum::<f64>() + alpha * k as f64;
        for v in &mut row[1..=k] {
            *v = (*v + alpha) / total;
        }
    }
    t
}

/// Estimates `u` from `samples` random pairs of live records, with exact levels of text
/// fields computed from value counts.
pub(crate) fn estimate_u_random(
    store: &NormalizedRecords,
    samples: usize,
    seed: u64,
    threads: usize,
) -> Table {
    let live: Vec<u32> = (0..store.len() as u32)
        .filter(|&i| store.is_live(i))
        .collect();
    let n = live.len() as u32;
    let mut hist: FxHashMap<Gamma, f64> = FxHashMap::default();
    if n >= 2 {
        // A fixed number of streams, each with its own seed, shared out over the threads:
        // the sample (and so the model) does not depend on the thread count.
        const STREAMS: usize = 16;
        let per = samples.div_ceil(STREAMS);
        let live = &live;
        let parts: Vec<FxHashMap<Gamma, f64>> = super::par_ranges(STREAMS, threads, |streams| {
            streams
                .map(|t| {
                    let mut rng =
                        SplitMix64::new(seed ^ (t as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407));
                    let mut h: FxHashMap<Gamma, f64> = FxHashMap::default();
                    for _ in 0..per {
                        let i = rng.below(n);
                        let mut j = rng.below(n - 1);
                        if j >= i {
                            j += 1;
                        }
                        let g = compare::gamma(
                            &store.view(live[i as usize]),
                            &store.view(live[j as usize]),
                        );
                        *h.entry(g).or_insert(0.0) += 1.0;
                    }
                    h
                })
                .collect()
        });
        for p in parts {
            for (g, c) in p {
                *hist.entry(g).or_insert(0.0) += c;
            }
        }
    }
    let hist: Vec<(Gamma, f64)> = hist.into_iter().collect();
    // A small pseudo-count keeps unseen levels (e.g. swapped names) above zero.
    let mut t = level_shares(&hist, |_, c| c, 0.5);
    for c in Comparison::ALL {
        let Some(col) = c.column() else { continue };
        let exact = store
            .exact_agreement(col)
            .max(1.0 / (2.0 * f64::from(n.max(1)).powi(2)));
        let k = level_count(c);
        let row = &mut t[c.index()];
        let rest: f64 = row[2..=k].iter().sum();
        if rest > 0.0 {
            for v in &mut row[2..=k] {
                *v *= (1.0 - exact) / rest;
            }
        }
        row[1] = exact;
    }
    t
}

/// A neutral starting point for `m`: the strongest level likely, the last unlikely.
fn initial_m() -> Table {
    let mut t: Table = [[0.0; 16]; Comparison::COUNT];
    for c in Comparison::ALL {
        let k = level_count(c);
        let row = &mut t[c.index()];
        if k == 2 {
            row[1] = 0.95;
            row[2] = 0.05;
            continue;
        }
        row[1] = 0.8;
        row[k] = 0.04;
        let mid = (1.0 - 0.84) / (k - 2) as f64;
        for v in &mut row[2..k] {
            *v = mid;
        }
    }
    t
}

/// Smallest `m` or `u` EM may give a level: keeps one field from deciding a pair alone
/// (a level's weight stays within about +-13 bits).
pub(crate) const PROBABILITY_FLOOR: f64 = 1e-4;

/// Raises every level probability to [`PROBABILITY_FLOOR`] and renormalises.
fn floored(mut t: Table) -> Table {
    for c in Comparison::ALL {
        let k = level_count(c);
        let row = &mut t[c.index()];
        for v in &mut row[1..=k] {
            *v = v.max(PROBABILITY_FLOOR);
        }
        let sum: f64 = row[1..=k].iter().sum();
        for v in &mut row[1..=k] {
            *v /= sum;
        }
    }
    t
}

/// Largest `m` of the "different" level of the first name and the birth date: a duplicate
/// record seldom has an entirely different given name or birth date (typos, nicknames,
/// swaps and day/month mix-ups have levels of their own), while members of one household
/// share everything else. Without this cap EM is free to make "same household" its match
/// class, since such pairs agree on surname, address and phone.
pub(crate) const IDENTITY_DIFFERENT_M_CAP: f64 = 0.02;

/// Applies [`IDENTITY_DIFFERENT_M_CAP`], giving the excess to the other non-null levels in
/// proportion.
fn identity_capped(mut t: Table) -> Table {
    for c in [Comparison::FirstName, Comparison::BirthDate] {
        let k = level_count(c);
        let row = &mut t[c.index()];
        if row[k] > IDENTITY_DIFFERENT_M_CAP {
            let rest: f64 = row[1..k].iter().sum();
            let excess = row[k] - IDENTITY_DIFFERENT_M_CAP;
            row[k] = IDENTITY_DIFFERENT_M_CAP;
            if rest > 0.0 {
                for v in &mut row[1..k] {
                    *v += excess * *v / rest;
                }
            }
        }
    }
    t
}

/// A first guess of each comparison vector's match probability from the identity fields
/// alone, to start EM in the right place: names that agree (exactly, swapped or fuzzily)
/// together with a close birth date, the same e-mail or the same national id suggest the
/// same person; agreeing names without that evidence are undecided; the rest (people who
/// only share an address or a phone, like members of one household) suggest different
/// people. Without the anchor EM can settle on "same household" as its match class.
pub(crate) fn identity_anchor(g: Gamma) -> f64 {
    let first = level_of(g, Comparison::FirstName);
    let last = level_of(g, Comparison::LastName);
    let names_agree = (first <= 4 && last <= 4) && (first > 0 || last > 0);
    let dob = level_of(g, Comparison::BirthDate);
    let strong = matches!(dob, 1..=3)
        || level_of(g, Comparison::Email) == 1
        || level_of(g, Comparison::NationalId) == 1;
    match (names_agree, strong, dob) {
        (true, true, _) => 0.95,
        (true, false, 0) => 0.5,
        (true, false, _) => 0.1,
        (false, true, _) => 0.2,
        (false, false, _) => 0.01,
    }
}

/// Smallest share of unrelated pairs among the candidates of a usable trained model.
pub(crate) const MIN_UNRELATED_SHARE: f64 = 1e-3;

/// Smallest class share EM keeps (before renormalising the three shares to one).
pub(crate) const LAMBDA_FLOOR: f64 = 1e-9;

/// Result of [`em_three`].
pub(crate) struct Em3Result {
    /// Level shares per class: match, related non-match, unrelated non-match.
    pub tables: [Table; 3],
    /// Class shares.
    pub lambdas: [f64; 3],
    pub iterations: u32,
    pub converged: bool,
}

/// A first guess of the related (non-match) class: pairs that share a surname, an address
/// or a phone without the identity evidence of [`identity_anchor`].
pub(crate) fn related_anchor(g: Gamma) -> f64 {
    let address = level_of(g, Comparison::Address);
    let shares = matches!(address, 1..=4)
        || matches!(level_of(g, Comparison::Phone), 1 | 2)
        || level_of(g, Comparison::Email) == 1;
    if shares {
        0.9
    } else {
        0.05
    }
}

/// Largest share of agreeing first names (any level but "different") and of close birth
/// dates (exact, swapped or one edit) in the related class. The class stands for
/// *different* people who share a household; without the cap it can turn into a second
/// match class where households are rare (as in FEBRL) and split the true matches.
pub(crate) const RELATED_IDENTITY_CAP: f64 = 0.4;

/// Largest share of equal or nearly equal national ids in the related class: different
/// people do not share one.
pub(crate) const RELATED_NATIONAL_ID_CAP: f64 = 0.01;

/// Applies [`RELATED_IDENTITY_CAP`] and [`RELATED_NATIONAL_ID_CAP`], moving the excess to
/// the "different" level.
fn related_capped(mut t: Table) -> Table {
    for (c, agreeing, cap) in [
        (Comparison::FirstName, 4usize, RELATED_IDENTITY_CAP),
        (Comparison::BirthDate, 3, RELATED_IDENTITY_CAP),
        (Comparison::NationalId, 2, RELATED_NATIONAL_ID_CAP),
    ] {
        let k = level_count(c);
        let row = &mut t[c.index()];
        let agree: f64 = row[1..=agreeing].iter().sum();
        if agree > cap {
            let scale = cap / agree;
            for v in &mut row[1..=agreeing] {
                *v *= scale;
            }
            row[k] += agree - cap;
        }
    }
    t
}

/// Expectation-maximisation of a three-class latent model: matches, related non-matches
/// (people who share a household, an address or a phone: the pairs that break the
/// independence assumption of a two-class model, since for them address, phone and surname
/// agree together) and unrelated non-matches. Each class has its own level shares; the
/// first E-step comes from the anchors. With `m_fixed`, the match class keeps `m0`.
pub(crate) fn em_three(
    hist: &[(Gamma, f64)],
    m0: Table,
    u0: Table,
    m_fixed: bool,
    max_iterations: u32,
    tolerance: f64,
) -> Em3Result {
    let mut tables = [m0, u0, u0];
    let mut lambdas = [0.1, 0.2, 0.7];
    let total: f64 = hist.iter().map(|h| h.1).sum();
    let mut post = vec![[0.0f64; 3]; hist.len()];
    let mut iterations = 0;
    let mut converged = false;
    if total <= 0.0 {
        return Em3Result {
            tables,
            lambdas,
            iterations,
            converged: true,
        };
    }
    while iterations < max_iterations {
        iterations += 1;
        if iterations == 1 {
            for (p, &(g, _)) in post.iter_mut().zip(hist) {
                let pm = if m_fixed { 0.5 } else { identity_anchor(g) };
                let pr = (1.0 - pm) * related_anchor(g);
                *p = [pm, pr, 1.0 - pm - pr];
            }
            if m_fixed {
                // Start from the given m: one real E-step.
                estep(hist, &tables, &lambdas, &mut post);
            }
        } else {
            estep(hist, &tables, &lambdas, &mut post);
        }
        let mut new_lambdas = [0.0; 3];
        for (p, h) in post.iter().zip(hist) {
            for k in 0..3 {
                new_lambdas[k] += p[k] * h.1;
            }
        }
        // Each share is kept above zero (a class with no mass would give `-inf` logs) and
        // the three are renormalised to sum to one. Clamping alone, as before, let a tiny
        // data set whose pairs all went to one class end with `lambda = 1` plus the floor of
        // the others, so `lambda + lambda_related >= 1` and the model failed its own check.
        for l in &mut new_lambdas {
            *l = (*l / total).clamp(LAMBDA_FLOOR, 1.0);
        }
        let sum: f64 = new_lambdas.iter().sum();
        for l in &mut new_lambdas {
            *l /= sum;
        }
        let mut new_tables = tables;
        for k in 0..3 {
            if k == 0 && m_fixed {
                continue;
            }
            let t = floored(level_shares(hist, |i, n| post[i][k] * n, 1e-3));
            new_tables[k] = match k {
                0 => identity_capped(t),
                1 => related_capped(t),
                _ => t,
            };
        }
        let mut delta: f64 = 0.0;
        for k in 0..3 {
            delta = delta.max((new_lambdas[k] - lambdas[k]).abs());
            for c in 0..Comparison::COUNT {
                for l in 0..16 {
                    delta = delta.max((new_tables[k][c][l] - tables[k][c][l]).abs());
                }
            }
        }
        tables = new_tables;
        lambdas = new_lambdas;
        if delta < tolerance {
            converged = true;
            break;
        }
    }
    Em3Result {
        tables,
        lambdas,
        iterations,
        converged,
    }
}

/// Posterior class probabilities of every comparison vector.
fn estep(hist: &[(Gamma, f64)], tables: &[Table; 3], lambdas: &[f64; 3], post: &mut [[f64; 3]]) {
    for (p, &(g, _)) in post.iter_mut().zip(hist) {
        let mut ll = [0.0f64; 3];
        for k in 0..3 {
            let mut s = lambdas[k].ln();
            for c in Comparison::ALL {
                let l = level_of(g, c) as usize;
                if l > 0 {
                    s += tables[k][c.index()][l].ln();
                }
            }
            ll[k] = s;
        }
        let mx = ll.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let e = [(ll[0] - mx).exp(), (ll[1] - mx).exp(), (ll[2] - mx).exp()];
        let z = e[0] + e[1] + e[2];
        *p = [e[0] / z, e[1] / z, e[2] / z];
    }
}

/// Histogram of distinct comparison vectors.
pub(crate) fn histogram(gammas: &[Gamma]) -> Vec<(Gamma, f64)> {
    let mut h: FxHashMap<Gamma, f64> = FxHashMap::default();
    for &g in gammas {
        *h.entry(g).or_insert(0.0) += 1.0;
    }
    let mut v: Vec<(Gamma, f64)> = h.into_iter().collect();
    v.sort_unstable_by_key(|e| e.0);
    v
}

impl Model {
    /// Trains a model on the comparison vectors `gammas` of the candidate pairs of
    /// `store`, with `labelled` comparison vectors of known matches (may be empty).
    pub(crate) fn train(
        store: &NormalizedRecords,
        gammas: &[Gamma],
        labelled: &[Gamma],
        opts: &TrainingOptions,
        threads: usize,
    ) -> Model {
        let u_random = estimate_u_random(store, opts.u_sample_pairs, opts.seed, threads);
        let hist = histogram(gammas);
        let (m0, m_fixed) = if labelled.is_empty() {
            (initial_m(), false)
        } else {
            (level_shares(&histogram(labelled), |_, n| n, 0.5), true)
        };
        let r = em_three(
            &hist,
            m0,
            u_random,
            m_fixed,
            opts.max_iterations,
            opts.tolerance,
        );
        let [lm, lr, lu] = r.lambdas;
        let n = store.live_count() as f64;
        let all_pairs = (n * (n - 1.0) / 2.0).max(1.0);
        let expected = lm * gammas.len() as f64;
        let random_match_probability = (expected / all_pairs).clamp(1e-12, 0.5);
        let comparisons = Comparison::ALL
            .iter()
            .map(|&c| ComparisonParams {
                comparison: c,
                term_frequency: c.term_frequency_adjusted(),
                levels: c
                    .levels()
                    .iter()
                    .enumerate()
                    .map(|(k, name)| {
                        let l = k + 1;
                        let ur = u_random[c.index()][l];
                        let related = r.tables[1][c.index()][l];
                        let unrelated = r.tables[2][c.index()][l];
                        let uc = (lr * related + lu * unrelated) / (lr + lu).max(1e-300);
                        LevelParams {
                            name: (*name).to_string(),
                            m: r.tables[0][c.index()][l],
                            u: match opts.u_source {
                                USource::Candidates => uc,
                                USource::RandomPairs => ur,
                            },
                            u_random: ur,
                            u_candidates: uc,
                            related,
                            unrelated,
                        }
                    })
                    .collect(),
            })
            .collect();
        Model {
            format_version: MODEL_FORMAT_VERSION,
            comparisons,
            lambda: lm,
            lambda_related: lr,
            random_match_probability,
            u_source: opts.u_source,
            tf_cap_bits: opts.tf_cap_bits,
            threshold: opts.threshold,
            training: TrainingSummary {
                em_iterations: r.iterations,
                converged: r.converged,
                candidate_pairs: gammas.len() as u64,
                distinct_patterns: hist.len() as u64,
                u_sample_pairs: opts.u_sample_pairs as u64,
                labelled_pairs: labelled.len() as u64,
                records: store.live_count() as u64,
                expected_matches: expected,
                prior_reason: None,
            },
            origin: ModelOrigin::Trained,
        }
    }

    /// Trains a model (EM, or `m` from `labelled` pairs), or returns the documented prior
    /// ([`Model::prior_model`]) when there is too little data to train on (fewer live records
    /// than [`TrainingOptions::min_em_records`] or candidate pairs than
    /// [`TrainingOptions::min_em_candidate_pairs`], and no labelled pairs) or when EM's
    /// estimates are unusable ([`Model::degeneracy`]). Never fails: whatever EM does, the
    /// result is a valid model.
    pub(crate) fn fit(
        store: &NormalizedRecords,
        gammas: &[Gamma],
        labelled: &[Gamma],
        opts: &TrainingOptions,
        threads: usize,
    ) -> Model {
        let records = store.live_count() as u64;
        let pairs = gammas.len() as u64;
        if labelled.is_empty() {
            let reason = if records < opts.min_em_records as u64 {
                Some(PriorReason::TooFewRecords {
                    records,
                    min: opts.min_em_records as u64,
                })
            } else if pairs < opts.min_em_candidate_pairs as u64 {
                Some(PriorReason::TooFewCandidatePairs {
                    pairs,
                    min: opts.min_em_candidate_pairs as u64,
                })
            } else {
                None
            };
            if let Some(reason) = reason {
                return Model::prior_model(records, pairs, opts, reason);
            }
        }
        let trained = Model::train(store, gammas, labelled, opts, threads);
        match trained.degeneracy() {
            None => trained,
            Some(what) => {
                Model::prior_model(records, pairs, opts, PriorReason::EmDegenerate { what })
            }
        }
    }

    /// Why a trained model is unusable, or `None` when it is fine: it fails
    /// [`Model::validate`] (a share that is not a probability), EM put less than one
    /// candidate pair in the match class, left no unrelated pairs (every candidate a match
    /// or related: the mixture was not identified), or made a match class that agrees on
    /// none of first name, last name, birth date, e-mail and national id more often than
    /// non-matches do (the class does not stand for "same person").
    pub fn degeneracy(&self) -> Option<String> {
        if let Err(e) = self.validate() {
            return Some(match e {
                crate::CrmError::Validation { reason, .. } => reason,
                other => other.to_string(),
            });
        }
        if self.origin == ModelOrigin::Prior {
            return None;
        }
        let expected = self.training.expected_matches;
        if expected.is_nan() || expected < 1.0 {
            return Some(format!(
                "{:.3} expected matching pairs among {} candidates",
                self.training.expected_matches, self.training.candidate_pairs
            ));
        }
        if self.u_source == USource::Candidates
            && 1.0 - self.lambda - self.lambda_related < MIN_UNRELATED_SHARE
        {
            return Some("no unrelated pairs left among the candidates".into());
        }
        let identity = [
            Comparison::FirstName,
            Comparison::LastName,
            Comparison::BirthDate,
            Comparison::Email,
            Comparison::NationalId,
        ];
        if !identity.iter().any(|&c| self.bayes_factor(c, 1) > 1.0) {
            return Some(
                "the match class agrees on no identity field more than non-matches".into(),
            );
        }
        None
    }

    /// The match probability at or above which a pair counts as a duplicate.
    pub fn recommended_threshold(&self) -> f64 {
        self.threshold
    }

    /// The prior match probability of a scored pair.
    pub fn prior(&self) -> f64 {
        match self.u_source {
            USource::Candidates => self.lambda,
            USource::RandomPairs => self.random_match_probability,
        }
    }

    /// `m/u` of level `level` (1-based; 0 = null gives 1.0) of comparison `c`, without
    /// term-frequency adjustment.
    pub fn bayes_factor(&self, c: Comparison, level: u8) -> f64 {
        if level == 0 {
            return 1.0;
        }
        self.comparisons
            .iter()
            .find(|p| p.comparison == c)
            .and_then(|p| p.levels.get(usize::from(level) - 1))
            .map_or(1.0, |l| l.m / l.u.max(1e-300))
    }

    /// Scores one pair of records on their own: normalises both (phone numbers without a
    /// prefix read in the ISO-3166 alpha-2 `region`), compares and explains them. With no population to count
    /// value frequencies in, no term-frequency adjustment applies; use a
    /// [`DedupeIndex`](super::DedupeIndex) for that.
    pub fn score_pair(
        &self,
        a: &super::PersonRecord,
        b: &super::PersonRecord,
        region: Option<&str>,
    ) -> ScoredPair {
        let region = region.and_then(super::normalize::phone_region);
        let mut store = NormalizedRecords::new();
        let i = store.push(&super::NormalizedPerson::from_record(a, region));
        let j = store.push(&super::NormalizedPerson::from_record(b, region));
        let scorer = Scorer::without_term_frequencies(self);
        let (va, vb) = (store.view(i), store.view(j));
        let g = compare::gamma(&va, &vb);
        let w = scorer.weight(&store, g, &va, &vb);
        scored_pair(
            a.id.clone(),
            b.id.clone(),
            w,
            scorer.prior_bits(),
            scorer.explain(&store, g, &va, &vb),
        )
    }

    /// Checks that the model fits this version of the library (format version, one
    /// entry per comparison with the known levels, probabilities in range).
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |reason: String| Err(crate::CrmError::validation("model", reason));
        if self.format_version != MODEL_FORMAT_VERSION {
            return bad(format!(
                "format version {} is not the supported {MODEL_FORMAT_VERSION}",
                self.format_version
            ));
        }
        if self.comparisons.len() != Comparison::COUNT {
            return bad(format!(
                "has {} comparisons, expected {}",
                self.comparisons.len(),
                Comparison::COUNT
            ));
        }
        for (p, c) in self.comparisons.iter().zip(Comparison::ALL) {
            if p.comparison != c || p.levels.len() != c.levels().len() {
                return bad(format!(
                    "comparison {} does not match this version",
                    c.name()
                ));
            }
            for l in &p.levels {
                if !(l.m > 0.0 && l.m <= 1.0 && l.u > 0.0 && l.u <= 1.0) {
                    return bad(format!(
                        "level {}.{} has m or u outside (0, 1]",
                        c.name(),
                        l.name
                    ));
                }
            }
        }
        for l in self.comparisons.iter().flat_map(|p| &p.levels) {
            if !(l.related > 0.0 && l.related <= 1.0 && l.unrelated > 0.0 && l.unrelated <= 1.0) {
                return bad(format!("level {} has a class share outside (0, 1]", l.name));
            }
        }
        if !(self.lambda_related >= 0.0 && self.lambda + self.lambda_related < 1.0) {
            return bad("lambda + lambda_related must lie below 1".into());
        }
        let in_unit = |x: f64| x > 0.0 && x < 1.0;
        if !(in_unit(self.lambda) && in_unit(self.threshold)) {
            return bad("lambda and threshold must lie in (0, 1)".into());
        }
        Ok(())
    }
}

/// `log2` level shares per class (match, related, unrelated), comparison and level.
type ClassTables = [[[f64; 16]; Comparison::COUNT]; 3];

/// Pre-computed scoring tables of a model over a store's value frequencies.
#[derive(Debug, Clone)]
pub(crate) struct Scorer {
    /// `log2(m/u)` per comparison and level (0 for null).
    weights: [[f64; 16]; Comparison::COUNT],
    /// `log2(prior odds)`.
    base: f64,
    /// Per comparison and level: the term-frequency column and its exact-agreement rate.
    tf: [[Option<(Column, f64)>; 16]; Comparison::COUNT],
    tf_cap: f64,
    /// Three-class scoring ([`USource::Candidates`]): `log2` level shares per class
    /// (match, related, unrelated) and `log2` class shares.
    classes: Option<(ClassTables, [f64; 3])>,
}

impl Scorer {
    pub(crate) fn new(model: &Model, store: &NormalizedRecords) -> Self {
        let mut weights = [[0.0; 16]; Comparison::COUNT];
        let mut tf = [[None; 16]; Comparison::COUNT];
        let mut logs = [[[0.0; 16]; Comparison::COUNT]; 3];
        for p in &model.comparisons {
            let c = p.comparison;
            for (k, l) in p.levels.iter().enumerate() {
                weights[c.index()][k + 1] = (l.m.max(1e-300) / l.u.max(1e-300)).log2();
                logs[0][c.index()][k + 1] = l.m.max(1e-300).log2();
                logs[1][c.index()][k + 1] = l.related.max(1e-300).log2();
                logs[2][c.index()][k + 1] = l.unrelated.max(1e-300).log2();
                if p.term_frequency {
                    if let Some(col) = c.term_frequency_column(k as u8 + 1) {
                        let s = store.exact_agreement(col);
                        if s > 0.0 {
                            tf[c.index()][k + 1] = Some((col, s));
                        }
                    }
                }
            }
        }
        let prior = model.prior().clamp(1e-15, 1.0 - 1e-9);
        let classes = (model.u_source == USource::Candidates).then(|| {
            let lm = model.lambda.clamp(1e-15, 1.0);
            let lr = model.lambda_related.clamp(1e-15, 1.0);
            let lu = (1.0 - lm - lr).clamp(1e-15, 1.0);
            (logs, [lm.log2(), lr.log2(), lu.log2()])
        });
        Self {
            weights,
            base: (prior / (1.0 - prior)).log2(),
            tf,
            tf_cap: model.tf_cap_bits,
            classes,
        }
    }

    /// `log2` prior odds of a match.
    pub(crate) fn prior_bits(&self) -> f64 {
        self.base
    }

    /// The match weight of comparison vector `g` before term-frequency adjustment: with
    /// three classes `log2 P(match, g) - log2 (P(related, g) + P(unrelated, g))`, else the
    /// Fellegi-Sunter sum.
    #[inline]
    fn weight_core(&self, g: Gamma) -> f64 {
        match &self.classes {
            Some((logs, base)) => {
                let mut ll = *base;
                for c in Comparison::ALL {
                    let l = usize::from(level_of(g, c));
                    for k in 0..3 {
                        ll[k] += logs[k][c.index()][l];
                    }
                }
                let mx = ll[1].max(ll[2]);
                let non = mx + ((ll[1] - mx).exp2() + (ll[2] - mx).exp2()).log2();
                ll[0] - non
            }
            None => {
                let mut w = self.base;
                for c in Comparison::ALL {
                    w += self.weights[c.index()][usize::from(level_of(g, c))];
                }
                w
            }
        }
    }

    /// Scoring tables without term-frequency adjustment.
    pub(crate) fn without_term_frequencies(model: &Model) -> Self {
        let mut s = Self::new(model, &NormalizedRecords::new());
        s.tf = [[None; 16]; Comparison::COUNT];
        s
    }

    /// The term-frequency adjustment (bits) of comparison `c` at level `l`: `log2(S/p(v))`
    /// when both records hold the identical value `v` in the level's column.
    #[inline]
    fn tf_bits(
        &self,
        store: &NormalizedRecords,
        c: Comparison,
        l: u8,
        a: &View<'_>,
        b: &View<'_>,
    ) -> f64 {
        let Some((col, s)) = self.tf[c.index()][usize::from(l)] else {
            return 0.0;
        };
        let id = match (a.get(col), b.get(col)) {
            (Some(x), Some(y)) if x.s == y.s => {
                if x.id != NONE {
                    x.id
                } else {
                    y.id
                }
            }
            _ => return 0.0,
        };
        self.tf_for(store, col, s, id)
    }

    /// `log2(S / p(v))` for value id `id` of column `col`, capped.
    #[inline]
    fn tf_for(&self, store: &NormalizedRecords, col: Column, s: f64, id: u32) -> f64 {
        let present = store.present(col) as f64;
        if present <= 0.0 || id == NONE {
            return 0.0;
        }
        let count = f64::from(store.count(col, id).max(1));
        (s * present / count)
            .log2()
            .clamp(-self.tf_cap, self.tf_cap)
    }

    /// The match weight of stored records `a` and `b` with comparison vector `g`: reads
    /// only the records' value ids, and only when a level is term-frequency adjusted.
    #[inline]
    pub(crate) fn weight_stored(&self, store: &NormalizedRecords, g: Gamma, a: u32, b: u32) -> f64 {
        let mut w = self.weight_core(g);
        for c in Comparison::ALL {
            let l = usize::from(level_of(g, c));
            if let Some((col, s)) = self.tf[c.index()][l] {
                let (x, y) = (store.ids(a)[col.index()], store.ids(b)[col.index()]);
                if x != NONE && x == y {
                    w += self.tf_for(store, col, s, x);
                }
            }
        }
        w
    }

    /// The match weight of a pair with comparison vector `g`.
    #[inline]
    pub(crate) fn weight(
        &self,
        store: &NormalizedRecords,
        g: Gamma,
        a: &View<'_>,
        b: &View<'_>,
    ) -> f64 {
        let mut w = self.weight_core(g);
        for c in Comparison::ALL {
            let l = level_of(g, c);
            if self.tf[c.index()][usize::from(l)].is_some() {
                w += self.tf_bits(store, c, l, a, b);
            }
        }
        w
    }

    /// Per-field explanation of a pair.
    pub(crate) fn explain(
        &self,
        store: &NormalizedRecords,
        g: Gamma,
        a: &View<'_>,
        b: &View<'_>,
    ) -> Vec<FieldComparison> {
        Comparison::ALL
            .iter()
            .map(|&c| {
                let l = level_of(g, c);
                let tf = self.tf_bits(store, c, l, a, b);
                let weight = self.weights[c.index()][usize::from(l)] + tf;
                FieldComparison {
                    field: c,
                    level: c.level_name(l),
                    bayes_factor: weight.exp2(),
                    weight,
                    tf_adjustment: tf,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedupe::records::NormalizedPerson;
    use crate::dedupe::PersonRecord;

    #[test]
    fn splitmix_is_deterministic_and_in_range() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        for _ in 0..1000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            assert!(x < 10);
        }
    }

    #[test]
    fn probability_weight_round_trip() {
        for p in [0.01, 0.5, 0.9, 0.999] {
            assert!((probability_from_weight(weight_from_probability(p)) - p).abs() < 1e-9);
        }
        assert_eq!(probability_from_weight(5000.0), 1.0);
        assert_eq!(probability_from_weight(-5000.0), 0.0);
    }

    /// A synthetic mixture: matches mostly agree, non-matches mostly disagree.
    #[test]
    fn em_recovers_m_above_u_for_agreeing_levels() {
        let mut rng = SplitMix64::new(42);
        let mut gammas = Vec::new();
        let mk = |rng: &mut SplitMix64, agree_p: u32| -> Gamma {
            let mut g = 0;
            for c in Comparison::ALL {
                let k = c.levels().len() as u64;
                let level = if rng.below(100) < agree_p { 1 } else { k };
                g |= level << (4 * c.index());
            }
            g
        };
        for _ in 0..2000 {
            gammas.push(mk(&mut rng, 90));
        }
        for _ in 0..8000 {
            gammas.push(mk(&mut rng, 5));
        }
        let hist = histogram(&gammas);
        // Flat u start: every level equally likely.
        let mut u0 = [[0.0; 16]; Comparison::COUNT];
        for c in Comparison::ALL {
            let k = c.levels().len();
            for v in &mut u0[c.index()][1..=k] {
                *v = 1.0 / k as f64;
            }
        }
        // Two non-match classes for data with one kind of non-match: they may trade mass
        // slowly without settling, so only the estimates are checked.
        let r = em_three(&hist, initial_m(), u0, false, 300, 1e-7);
        let [lm, lr, lu] = r.lambdas;
        assert!((lm - 0.2).abs() < 0.02, "lambda {lm}");
        assert!((lm + lr + lu - 1.0).abs() < 1e-6);
        let (m, u) = (&r.tables[0], &r.tables[2]);
        for c in Comparison::ALL {
            let k = c.levels().len();
            assert!(m[c.index()][1] > 0.85, "{c:?} m {}", m[c.index()][1]);
            assert!(m[c.index()][1] > u[c.index()][1]);
            assert!(u[c.index()][k] > m[c.index()][k]);
        }
    }

    /// Households: pairs that agree on surname, address and phone but not on first name
    /// or birth date go to the related class, not the match class.
    #[test]
    fn em_separates_households_from_matches() {
        let mut rng = SplitMix64::new(7);
        let set = |g: &mut Gamma, c: Comparison, l: u64| *g |= l << (4 * c.index());
        let mut gammas = Vec::new();
        for i in 0..12_000u32 {
            let mut g: Gamma = 0;
            let noisy = rng.below(100) < 10;
            match i % 4 {
                // Same person.
                0 => {
                    for c in Comparison::ALL {
                        set(
                            &mut g,
                            c,
                            if noisy {
                                3.min(c.levels().len() as u64)
                            } else {
                                1
                            },
                        );
                    }
                }
                // Same household: shared surname, address, phone; own name and birth date.
                1 => {
                    for c in Comparison::ALL {
                        set(&mut g, c, c.levels().len() as u64);
                    }
                    g &= !(0xF << (4 * Comparison::LastName.index()));
                    g &= !(0xF << (4 * Comparison::Address.index()));
                    g &= !(0xF << (4 * Comparison::Phone.index()));
                    set(&mut g, Comparison::LastName, 1);
                    set(&mut g, Comparison::Address, 1);
                    set(&mut g, Comparison::Phone, if noisy { 4 } else { 1 });
                }
                // Unrelated namesakes.
                _ => {
                    for c in Comparison::ALL {
                        set(&mut g, c, c.levels().len() as u64);
                    }
                    g &= !(0xF << (4 * Comparison::FirstName.index()));
                    g &= !(0xF << (4 * Comparison::LastName.index()));
                    set(&mut g, Comparison::FirstName, 1);
                    set(&mut g, Comparison::LastName, 1);
                }
            }
            gammas.push(g);
        }
        let hist = histogram(&gammas);
        let r = em_three(&hist, initial_m(), initial_m(), false, 500, 1e-9);
        let [lm, lr, _] = r.lambdas;
        assert!((lm - 0.25).abs() < 0.03, "match share {lm}");
        assert!((lr - 0.25).abs() < 0.05, "related share {lr}");
        let phone = Comparison::Phone.index();
        assert!(
            r.tables[1][phone][1] > 0.5,
            "related phone agreement {}",
            r.tables[1][phone][1]
        );
    }

    fn people(names: &[(&str, &str)]) -> NormalizedRecords {
        let mut s = NormalizedRecords::new();
        for (i, (f, l)) in names.iter().enumerate() {
            s.push(&NormalizedPerson::from_record(
                &PersonRecord {
                    id: i.to_string(),
                    first_name: Some((*f).into()),
                    last_name: Some((*l).into()),
                    ..Default::default()
                },
                None,
            ));
        }
        s
    }

    #[test]
    fn term_frequency_rewards_rare_values() {
        let mut names = vec![("ann", "smith"); 50];
        names.extend([("bo", "zyx"), ("cy", "zyx"), ("di", "qrs"), ("ed", "tuv")]);
        let store = people(&names);
        let opts = TrainingOptions::default();
        let model = Model::train(&store, &[], &[], &opts, 1);
        let scorer = Scorer::new(&model, &store);
        let smiths = (store.view(0), store.view(1));
        let rare = (store.view(50), store.view(51));
        let g_s = compare::gamma(&smiths.0, &smiths.1);
        let g_r = compare::gamma(&rare.0, &rare.1);
        assert_eq!(level_of(g_s, Comparison::LastName), 1);
        assert_eq!(level_of(g_r, Comparison::LastName), 1);
        let tf_common = scorer.tf_bits(&store, Comparison::LastName, 1, &smiths.0, &smiths.1);
        let tf_rare = scorer.tf_bits(&store, Comparison::LastName, 1, &rare.0, &rare.1);
        assert!(tf_rare > 0.0, "rare {tf_rare}");
        assert!(tf_common < 0.0, "common {tf_common}");
        let e = scorer.explain(&store, g_r, &rare.0, &rare.1);
        let last = &e[Comparison::LastName.index()];
        assert_eq!(last.level, "exact");
        assert!((last.tf_adjustment - tf_rare).abs() < 1e-12);
    }

    #[test]
    fn u_random_exact_levels_come_from_counts() {
        let store = people(&[("a", "x"), ("b", "x"), ("c", "y"), ("d", "z")]);
        let u = estimate_u_random(&store, 1000, 1, 2);
        let exact = store.exact_agreement(Column::LastName);
        assert!((u[Comparison::LastName.index()][1] - exact).abs() < 1e-12);
        let sum: f64 = u[Comparison::LastName.index()][1..=5].iter().sum();
        assert!((sum - 1.0).abs() < 1e-9);
    }

    #[test]
    fn model_round_trips_through_json() {
        let store = people(&[("a", "x"), ("b", "x"), ("c", "y")]);
        let model = Model::train(&store, &[], &[], &TrainingOptions::default(), 1);
        model.validate().unwrap();
        let json = serde_json::to_string(&model).unwrap();
        let back: Model = serde_json::from_str(&json).unwrap();
        // JSON keeps f64s to within an ulp or so.
        let close = |x: f64, y: f64| (x - y).abs() <= 1e-12 * x.abs().max(y.abs());
        assert_eq!(back.comparisons.len(), model.comparisons.len());
        for (p, q) in back.comparisons.iter().zip(&model.comparisons) {
            assert_eq!(p.comparison, q.comparison);
            for (l, k) in p.levels.iter().zip(&q.levels) {
                assert_eq!(l.name, k.name);
                assert!(close(l.m, k.m) && close(l.u, k.u));
            }
        }
        assert!(close(back.lambda, model.lambda));
        assert_eq!(back.training, model.training);
        let mut broken = model.clone();
        broken.comparisons.pop();
        assert!(broken.validate().is_err());
    }
}
