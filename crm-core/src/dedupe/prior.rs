//! The prior person model: documented `m` and `u` per comparison level, used when a tenant
//! has too little data to train on (or EM degenerates), so that duplicate detection works
//! from two records on.
//!
//! # Why a prior
//!
//! EM estimates the Fellegi-Sunter parameters from the mixture of comparison vectors
//! among the candidate pairs (Winkler 1988; Jaro 1989). With a handful of records there
//! are a handful of candidate pairs, and the mixture is not identified: EM can put every
//! pair into one class (that is how a two-record tenant used to end with
//! `lambda + lambda_related >= 1` and a model that failed its own validation). fastLink
//! (Enamorado, Fifield & Imai 2019) fits the same mixture and its authors stress that the
//! estimates need enough pairs on both sides; Splink lets `m` and `u` be fixed by hand for
//! the cases where they cannot be trained. This module is that hand-set model, written
//! down once with a reason for every number.
//!
//! # When it is used
//!
//! [`dedupe`](super::dedupe) scores with the prior when (a) no model is given and no
//! labelled pairs are, and the tenant has fewer than
//! [`TrainingOptions::min_em_records`] live records or fewer than
//! [`TrainingOptions::min_em_candidate_pairs`] candidate pairs; or (b) EM ran but
//! [`Model::degeneracy`] rejects its estimates (a class share that is not a probability,
//! under one expected match, no unrelated pairs left, or a match class that agrees on no
//! identity field more often than non-matches do). The model says so:
//! [`Model::origin`] is [`ModelOrigin::Prior`] and
//! [`TrainingSummary::prior_reason`] tells why.
//!
//! The defaults (1,000 records, 500 candidate pairs) follow measurements (BENCHMARKS.md):
//! on `crm-synth` tenants of 30 to 5,000 people (5 seeds each) the prior's pairwise F1 is
//! as good as EM's or better (0.980-0.991 against 0.969-0.983; with a CRM-like low
//! duplicate rate 0.98-1.00 against 0.80-0.99, EM being erratic below a hundred people),
//! while EM is ahead from about 10,000 people (0.984 against 0.982; 0.984 against 0.979 at
//! 30,000) and on FEBRL 1-3, whose heavier corruption the prior's `m` underrates (EM 0.999 /
//! 0.994 / 0.990, prior 0.988 / 0.985 / 0.978). 1,000 records is also where the service
//! starts keeping a trained model ([`crate::CrmConfig::dedupe_min_training_records`]), so
//! FEBRL 1 (1,000 records, 644 candidate pairs) is still trained.
//!
//! # Structure
//!
//! The prior has the same three latent classes as the trained model
//! ([`super::model`]): matches (`m`), related non-matches (people sharing a household,
//! a mailbox, a phone or an address) and unrelated non-matches (`u`). The related class is
//! what keeps a shared e-mail address with a different given name from counting as one
//! person: the agreement is explained by the household, not by identity.
//!
//! The parameters are those of a random pair of the tenant's `n` records, not of a
//! candidate pair, so blocking does not change a score (as in Splink's
//! `probability_two_random_records_match`):
//!
//! - class shares: a record has on average [`DUPLICATES_PER_RECORD`] duplicates and
//!   [`RELATED_PER_RECORD`] related records among the other `n - 1`, so a random pair is a
//!   match with probability `0.1 / (n - 1)` and related with the same probability;
//! - `u` of a level that identifies (the same e-mail address, phone, street address or
//!   national id) is "per other record": if a record shares the value with `k` other,
//!   unrelated records on average, a random unrelated pair agrees with probability
//!   `k / (n - 1)`. Both the prior odds and these `u` fall as `1 / (n - 1)`, so the
//!   evidence of one identifying agreement does not depend on the tenant's size, while
//!   agreement on a name (whose `u` is a population frequency, Fellegi & Sunter's
//!   `sum p_v^2`) weighs less as the tenant grows and namesakes become likely;
//! - no term-frequency adjustment: in a small tenant a value's count is dominated by the
//!   very duplicates being looked for (two "Miller" records among four make "miller" look
//!   common), which would penalise exactly the pairs to be found.
//!
//! # Sources of the values
//!
//! - Fellegi & Sunter (1969), "A theory for record linkage", JASA 64: the model, and `u`
//!   of exact agreement as the sum of squared value frequencies.
//! - Winkler (1988, 1990) and Herzog, Scheuren & Winkler (2007), *Data Quality and Record
//!   Linkage Techniques*, ch. 8-9: EM-estimated `m` of name and date agreement among true
//!   matches in census and administrative files lie around 0.8-0.95, with the
//!   typographical-error levels sharing most of the rest.
//! - Splink's defaults (Ministry of Justice): an exact level starts at `m = 0.95` with the
//!   remaining 0.05 shared by the weaker levels, and `u` such that an exact match weighs
//!   about +10 bits and the "else" level about -5 bits.
//! - This engine's own EM estimates on 15k and 150k generated people and on FEBRL 2
//!   (printed with `dedupe_csv --model-out`, BENCHMARKS.md): every value below lies within
//!   or next to the range they span, rounded, and moved towards CRM data where generated
//!   data are cleaner (people in a CRM change e-mail addresses and phones more often).
//!
//! Each level's reason is in the table below ([`person_levels`]).

use super::compare::Comparison;
use super::model::{
    ComparisonParams, LevelParams, Model, ModelOrigin, PriorReason, TrainingOptions,
    TrainingSummary, USource, MODEL_FORMAT_VERSION,
};

/// Average number of duplicates of one record among the tenant's others: one record in
/// ten has a duplicate. Duplicate shares quoted for CRM data are commonly 10-30 %; the
/// lower end keeps the prior from seeing duplicates everywhere (a pair's prior odds are
/// `0.1 / (n - 1)`).
pub const DUPLICATES_PER_RECORD: f64 = 0.1;

/// Average number of related records (same household, mailbox, phone or address, but
/// another person) of one record among the tenant's others.
pub const RELATED_PER_RECORD: f64 = 0.1;

/// Largest class share of a random pair (reached only in the smallest tenants): keeps the
/// unrelated class above zero.
const MAX_CLASS_SHARE: f64 = 0.45;

/// `u` of a level among unrelated records.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PriorU {
    /// A population share, the same in any tenant (name frequencies, places).
    Share(f64),
    /// An identifying value shared with this many other, unrelated records on average:
    /// `u = k / (n - 1)` in a tenant of `n` records.
    PerOtherRecord(f64),
    /// The "different" level: whatever the other levels leave.
    Rest,
}

/// The prior parameters of one comparison level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorLevel {
    /// P(level | match).
    pub m: f64,
    /// P(level | related non-match).
    pub related: f64,
    /// P(level | unrelated non-match).
    pub unrelated: PriorU,
}

const fn lv(m: f64, related: f64, unrelated: PriorU) -> PriorLevel {
    PriorLevel {
        m,
        related,
        unrelated,
    }
}

use PriorU::{PerOtherRecord as Per, Rest, Share};

/// First name: `exact, swapped, jw_0.92, similar, different`.
/// - `m`: 0.80 exact (Winkler's first-name agreement among matches is 0.8-0.9; nicknames
///   are mapped before comparing, so Bob/Robert is exact; EM on generated data 0.83,
///   FEBRL 0.72), 0.03 swapped with the surname, 0.08 a typo, 0.07 similar (an initial,
///   a shared nickname), 0.02 different ([`super::model::IDENTITY_DIFFERENT_M_CAP`]: a
///   duplicate seldom has an entirely different given name).
/// - related: members of one household rarely share a given name (0.03, juniors), 0.93
///   different (EM: 0.95).
/// - `u`: population frequencies: two random people share a first name with
///   probability about 0.01 (EM's random-pair `u`: 0.009), a swap by chance 1e-4, a
///   close spelling 0.002, a similar name 0.01.
const FIRST_NAME: [PriorLevel; 5] = [
    lv(0.80, 0.03, Share(0.01)),
    lv(0.03, 0.003, Share(1e-4)),
    lv(0.08, 0.01, Share(0.002)),
    lv(0.07, 0.03, Share(0.01)),
    lv(0.02, 0.927, Rest),
];

/// Last name: `exact, swapped, jw_0.92, similar, different`.
/// - `m`: 0.82 exact (EM 0.82 on generated data; surnames change on marriage, hence 0.04
///   different), 0.03 swapped, 0.07 a typo, 0.04 similar.
/// - related: households mostly share a surname (0.70; EM 0.55-0.73).
/// - `u`: the sum of squared surname frequencies is about 0.001-0.004 in Western
///   populations (EM's random-pair `u`: 0.0008-0.004), 0.002 taken; a close spelling by
///   chance 5e-4, similar 0.005.
const LAST_NAME: [PriorLevel; 5] = [
    lv(0.82, 0.70, Share(0.002)),
    lv(0.03, 0.002, Share(1e-4)),
    lv(0.07, 0.03, Share(5e-4)),
    lv(0.04, 0.02, Share(0.005)),
    lv(0.04, 0.248, Rest),
];

/// Birth date: `exact, day_month_swapped, one_edit, two_edits, different`.
/// - `m`: 0.88 exact (Winkler: 0.9-0.95 for complete dates; EM 0.90), 0.02 day and month
///   swapped, 0.07 one digit or the year off by one, 0.01 two edits, 0.02 different (the
///   identity cap).
/// - related: twins and people who share a birthday (0.03), otherwise different.
/// - `u`: a birth date spread over some 60 years is shared by chance with probability
///   about 1/(365 x 60) = 5e-5 (EM's random-pair `u`: 6e-5-1.8e-4), 1e-4 taken; a swap
///   2e-5, one edit 0.002, two edits 0.02 (EM: 0.0018 and 0.019).
const BIRTH_DATE: [PriorLevel; 5] = [
    lv(0.88, 0.03, Share(1e-4)),
    lv(0.02, 0.001, Share(2e-5)),
    lv(0.07, 0.01, Share(0.002)),
    lv(0.01, 0.03, Share(0.02)),
    lv(0.02, 0.929, Rest),
];

/// E-mail: `exact, same_local_part, edits_le_2, different`.
/// - `m`: 0.60 exact (EM 0.71 on generated data; people re-entered in a CRM often come
///   with another address, hence 0.32 different), 0.03 the same local part at another
///   provider, 0.05 a typo.
/// - related: a family mailbox or a shared office address (0.10; EM 0.03-0.04 on
///   generated households, which share less than real ones).
/// - `u`: identifying: an unrelated record shares a person's address about once in a
///   thousand records (0.001 per other record); the same local part elsewhere (common
///   locals) 1e-4, two edits 1e-4.
const EMAIL: [PriorLevel; 4] = [
    lv(0.60, 0.10, Per(0.001)),
    lv(0.03, 0.005, Share(1e-4)),
    lv(0.05, 0.005, Share(1e-4)),
    lv(0.32, 0.89, Rest),
];

/// Phone: `exact, same_last_8, one_edit, different`.
/// - `m`: 0.60 exact (EM 0.78 on generated data; in a CRM mobile and landline numbers
///   alternate, hence 0.27 different), 0.10 the same last eight digits (prefix written
///   differently), 0.03 a typo.
/// - related: a shared landline (0.35; EM 0.13-0.20).
/// - `u`: identifying, 0.001 per other record; the same last eight digits 1e-5, one edit
///   1e-5 (EM's random-pair `u`: 4e-6-2.5e-5).
const PHONE: [PriorLevel; 4] = [
    lv(0.60, 0.35, Per(0.001)),
    lv(0.10, 0.05, Share(1e-5)),
    lv(0.03, 0.005, Share(1e-5)),
    lv(0.27, 0.595, Rest),
];

/// Address: `street_and_postcode, street_and_city, postcode,
/// same_street_elsewhere_or_other_flat, city, area, different`.
/// - `m`: 0.65 the same street and postcode (EM 0.82; people move, hence 0.18
///   different), 0.04 the same street and city, 0.03 the same postcode, 0.02 another flat,
///   0.06 the same city, 0.02 the same area.
/// - related: the class is defined by a shared address: 0.80 the same street and postcode
///   (EM 0.57-0.89), 0.05 another flat of the building.
/// - `u`: identifying, an address shared with 0.002 other unrelated records (a block of
///   flats); the same postcode 0.001, the same street elsewhere 0.001, the same city 0.05
///   and area 0.05 (many tenants are local businesses; EM's random-pair `u` for a city on
///   nationwide data: 0.027).
const ADDRESS: [PriorLevel; 7] = [
    lv(0.65, 0.80, Per(0.002)),
    lv(0.04, 0.03, Per(0.001)),
    lv(0.03, 0.04, Share(0.001)),
    lv(0.02, 0.05, Share(0.001)),
    lv(0.06, 0.04, Share(0.05)),
    lv(0.02, 0.01, Share(0.05)),
    lv(0.18, 0.03, Rest),
];

/// Country: `exact, different`: a person's country seldom changes between records (0.99);
/// most tenants serve one country, so two random records share it with 0.8 (EM on
/// generated data with a mix of countries: 0.55).
const COUNTRY: [PriorLevel; 2] = [lv(0.99, 0.99, Share(0.8)), lv(0.01, 0.01, Rest)];

/// Company (the employer of a person): `exact, jw_0.90, different`: recorded on one
/// record only, or changed (0.60 exact, 0.30 different); colleagues share it (related
/// 0.30: they also share switchboards and offices); in a business-to-business tenant two
/// random contacts work for the same company with probability about 0.02.
const COMPANY: [PriorLevel; 3] = [
    lv(0.60, 0.30, Share(0.02)),
    lv(0.10, 0.02, Share(0.002)),
    lv(0.30, 0.68, Rest),
];

/// National id: `exact, one_edit, two_edits, different`: 0.90 exact among matches (EM on
/// FEBRL: 0.88; typos 0.05 and 0.01); different people never share one (related below
/// [`super::model::RELATED_NATIONAL_ID_CAP`], unrelated 1e-5 per other record), one or
/// two edits by chance 1e-5 and 1e-4.
const NATIONAL_ID: [PriorLevel; 4] = [
    lv(0.90, 0.001, Per(1e-5)),
    lv(0.05, 0.002, Share(1e-5)),
    lv(0.01, 0.005, Share(1e-4)),
    lv(0.04, 0.992, Rest),
];

/// The prior levels of person comparison `c` (one per non-null level, strongest first),
/// or an empty slice for a company-only comparison.
pub fn person_levels(c: Comparison) -> &'static [PriorLevel] {
    match c {
        Comparison::FirstName => &FIRST_NAME,
        Comparison::LastName => &LAST_NAME,
        Comparison::BirthDate => &BIRTH_DATE,
        Comparison::Email => &EMAIL,
        Comparison::Phone => &PHONE,
        Comparison::Address => &ADDRESS,
        Comparison::Country => &COUNTRY,
        Comparison::Company => &COMPANY,
        Comparison::NationalId => &NATIONAL_ID,
        _ => &[],
    }
}

/// `k / (n - 1)`, the chance that a random other record of `n` shares a value that `k`
/// other records share on average.
pub(crate) fn per_other_record(k: f64, n: u64) -> f64 {
    k / (n.max(2) - 1) as f64
}

/// Unrelated-class shares of one comparison in a tenant of `n` records: identifying
/// levels scaled, the "different" level the rest.
fn unrelated_shares(levels: &[PriorLevel], n: u64) -> Vec<f64> {
    let mut out: Vec<f64> = levels
        .iter()
        .map(|l| match l.unrelated {
            Share(u) => u,
            Per(k) => per_other_record(k, n),
            Rest => 0.0,
        })
        .collect();
    let used: f64 = out.iter().sum();
    for (v, l) in out.iter_mut().zip(levels) {
        if l.unrelated == Rest {
            *v = (1.0 - used).max(1e-6);
        }
    }
    let sum: f64 = out.iter().sum();
    out.iter_mut().for_each(|v| *v /= sum);
    out
}

impl Model {
    /// The prior person model for a tenant of `records` live records (`candidate_pairs`
    /// is recorded in the summary), with the threshold and term-frequency cap of `opts`
    /// and `reason` saying why it is used. See the module docs for every value.
    pub fn prior_model(
        records: u64,
        candidate_pairs: u64,
        opts: &TrainingOptions,
        reason: PriorReason,
    ) -> Model {
        let others = (records.max(2) - 1) as f64;
        let lm = (DUPLICATES_PER_RECORD / others).min(MAX_CLASS_SHARE);
        let lr = (RELATED_PER_RECORD / others).min(MAX_CLASS_SHARE);
        let lu = 1.0 - lm - lr;
        let comparisons = Comparison::ALL
            .iter()
            .map(|&c| {
                let prior = person_levels(c);
                let unrelated = unrelated_shares(prior, records);
                ComparisonParams {
                    comparison: c,
                    term_frequency: false,
                    levels: c
                        .levels()
                        .iter()
                        .zip(prior)
                        .zip(&unrelated)
                        .map(|((name, p), &un)| {
                            let non_match = (lr * p.related + lu * un) / (lr + lu);
                            LevelParams {
                                name: (*name).to_string(),
                                m: p.m,
                                u: non_match,
                                u_random: un,
                                u_candidates: non_match,
                                related: p.related,
                                unrelated: un,
                            }
                        })
                        .collect(),
                }
            })
            .collect();
        Model {
            format_version: MODEL_FORMAT_VERSION,
            comparisons,
            lambda: lm,
            lambda_related: lr,
            random_match_probability: lm,
            u_source: USource::Candidates,
            tf_cap_bits: opts.tf_cap_bits,
            threshold: opts.threshold,
            training: TrainingSummary {
                em_iterations: 0,
                converged: false,
                candidate_pairs,
                distinct_patterns: 0,
                u_sample_pairs: 0,
                labelled_pairs: 0,
                records,
                expected_matches: lm * records as f64 * others / 2.0,
                prior_reason: Some(reason),
            },
            origin: ModelOrigin::Prior,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_comparison_has_a_prior_per_level_summing_to_one() {
        for c in Comparison::ALL {
            let levels = person_levels(c);
            assert_eq!(levels.len(), c.levels().len(), "{c:?}");
            let m: f64 = levels.iter().map(|l| l.m).sum();
            let r: f64 = levels.iter().map(|l| l.related).sum();
            assert!((m - 1.0).abs() < 1e-9, "{c:?} m sums to {m}");
            assert!((r - 1.0).abs() < 1e-9, "{c:?} related sums to {r}");
            assert_eq!(levels.last().map(|l| l.unrelated), Some(Rest), "{c:?}");
            for n in [2, 3, 10, 1_000, 10_000_000] {
                let u = unrelated_shares(levels, n);
                assert!((u.iter().sum::<f64>() - 1.0).abs() < 1e-9);
                assert!(u.iter().all(|&v| v > 0.0 && v < 1.0), "{c:?} n={n} {u:?}");
            }
        }
    }

    #[test]
    fn identifying_levels_scale_with_the_tenant() {
        let small = unrelated_shares(&EMAIL, 11);
        let large = unrelated_shares(&EMAIL, 10_001);
        assert!((small[0] - 0.001 / 10.0).abs() < 1e-12);
        assert!((large[0] - 0.001 / 10_000.0).abs() < 1e-15);
        // A population share does not move.
        let a = unrelated_shares(&FIRST_NAME, 11);
        let b = unrelated_shares(&FIRST_NAME, 10_001);
        assert_eq!(a[0], b[0]);
    }

    proptest::proptest! {
        /// The prior model is valid for every tenant size, says where it comes from, and
        /// weighs each level the way its name says (strongest level positive, "different"
        /// negative) for the identity comparisons.
        #[test]
        fn prior_is_valid_for_any_size(n in 0u64..50_000_000, pairs in 0u64..1_000_000) {
            let reason = PriorReason::TooFewRecords { records: n, min: 1000 };
            let m = Model::prior_model(n, pairs, &TrainingOptions::default(), reason.clone());
            proptest::prop_assert!(m.validate().is_ok(), "{:?}", m.validate());
            proptest::prop_assert_eq!(m.origin, ModelOrigin::Prior);
            proptest::prop_assert_eq!(&m.training.prior_reason, &Some(reason));
            for c in [Comparison::FirstName, Comparison::LastName, Comparison::BirthDate, Comparison::Email] {
                let k = c.levels().len() as u8;
                proptest::prop_assert!(m.bayes_factor(c, 1) > 1.0);
                proptest::prop_assert!(m.bayes_factor(c, k) < 1.0);
            }
        }
    }
}
