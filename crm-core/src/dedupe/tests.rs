//! Pipeline tests over a small seeded generator of people with corrupted duplicates.

use super::model::SplitMix64;
use super::*;

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "William",
    "Elizabeth",
    "David",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Oliver",
    "Amelia",
    "Harry",
    "Isla",
    "George",
    "Ava",
    "Noah",
    "Emily",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Wilson",
    "Anderson",
    "Taylor",
    "Thomas",
    "Moore",
    "Martin",
    "Jackson",
    "Thompson",
    "White",
    "Lopez",
    "Harris",
    "Clark",
    "Lewis",
    "Walker",
    "Hall",
    "Young",
    "Okafor",
    "Nakamura",
    "Kowalski",
    "Fitzgerald",
    "Ramanathan",
    "Lindqvist",
    "Abernathy",
    "Quist",
];
const CITY: &[&str] = &[
    "London", "Leeds", "York", "Bristol", "Bath", "Derby", "Hull", "Ely",
];
const STREET: &[&str] = &[
    "High Street",
    "Station Road",
    "Church Lane",
    "Mill Road",
    "Park Avenue",
];

fn pick<'a>(rng: &mut SplitMix64, xs: &[&'a str]) -> &'a str {
    xs[rng.below(xs.len() as u32) as usize]
}

fn typo(rng: &mut SplitMix64, s: &str) -> String {
    let mut c: Vec<char> = s.chars().collect();
    if c.len() < 3 {
        return s.to_string();
    }
    let i = 1 + rng.below(c.len() as u32 - 2) as usize;
    match rng.below(3) {
        0 => {
            c.remove(i);
        }
        1 => c.swap(i, i - 1),
        _ => c[i] = 'x',
    }
    c.into_iter().collect()
}

/// `entities` people, about a third of them with one or two corrupted copies; returns
/// records with ids `r{n}` (the entity is `e{k}` in `company` for tests only, never used
/// by matching since it is not read) plus the true duplicate pairs.
pub(crate) fn sample_people_with_truth(
    entities: usize,
    seed: u64,
) -> (Vec<PersonRecord>, Vec<(u32, u32)>) {
    let mut rng = SplitMix64::new(seed);
    let mut out = Vec::new();
    let mut truth = Vec::new();
    for e in 0..entities {
        let first = pick(&mut rng, FIRST);
        let last = pick(&mut rng, LAST);
        let year = 1940 + rng.below(60);
        let month = 1 + rng.below(12);
        let day = 1 + rng.below(28);
        let base = PersonRecord {
            id: String::new(),
            first_name: Some(first.to_string()),
            last_name: Some(last.to_string()),
            email: Some(format!(
                "{}.{}{}@example.com",
                first.to_lowercase(),
                last.to_lowercase(),
                e
            )),
            phone: Some(format!("07700 9{:05}", rng.below(100_000))),
            street: Some(format!("{} {}", 1 + rng.below(200), pick(&mut rng, STREET))),
            city: Some(pick(&mut rng, CITY).to_string()),
            postcode: Some(format!("LS{} {}AB", 1 + rng.below(20), rng.below(10))),
            birth_date: Some(format!("{year:04}-{month:02}-{day:02}")),
            ..Default::default()
        };
        let first_idx = out.len() as u32;
        let copies = match rng.below(6) {
            0 => 2,
            1 | 2 => 1,
            _ => 0,
        };
        let mut r0 = base.clone();
        r0.id = format!("r{}", out.len());
        out.push(r0);
        for _ in 0..copies {
            let mut r = base.clone();
            r.id = format!("r{}", out.len());
            // Two random corruptions.
            for _ in 0..2 {
                match rng.below(7) {
                    0 => r.first_name = r.first_name.map(|f| typo(&mut rng, &f)),
                    1 => r.last_name = r.last_name.map(|l| typo(&mut rng, &l)),
                    2 => r.email = None,
                    3 => r.phone = None,
                    4 => r.birth_date = Some(format!("{year:04}-{day:02}-{month:02}")),
                    5 => {
                        r.street = r
                            .street
                            .map(|s| s.replace("Street", "St").replace("Road", "Rd"))
                    }
                    _ => {
                        std::mem::swap(&mut r.first_name, &mut r.last_name);
                    }
                }
            }
            let idx = out.len() as u32;
            for k in first_idx..idx {
                truth.push((k, idx));
            }
            out.push(r);
        }
    }
    (out, truth)
}

/// Records of [`sample_people_with_truth`].
pub(crate) fn sample_people(entities: usize, seed: u64) -> Vec<PersonRecord> {
    sample_people_with_truth(entities, seed).0
}

fn f1(pairs: &[MatchPair], truth: &[(u32, u32)]) -> (f64, f64, f64) {
    let t: rustc_hash::FxHashSet<(u32, u32)> = truth.iter().copied().collect();
    let tp = pairs.iter().filter(|p| t.contains(&(p.a, p.b))).count() as f64;
    let precision = if pairs.is_empty() {
        1.0
    } else {
        tp / pairs.len() as f64
    };
    let recall = if truth.is_empty() {
        1.0
    } else {
        tp / truth.len() as f64
    };
    (
        precision,
        recall,
        2.0 * precision * recall / (precision + recall).max(1e-12),
    )
}

#[test]
fn pipeline_finds_generated_duplicates() {
    let (records, truth) = sample_people_with_truth(2000, 3);
    let mut phases = Vec::new();
    let outcome = dedupe_with_progress(
        &records,
        &DedupeConfig {
            threads: 2,
            ..Default::default()
        },
        &mut |p| phases.push(p),
    )
    .unwrap();
    assert_eq!(
        phases,
        [
            Phase::Normalise,
            Phase::Block,
            Phase::Compare,
            Phase::Train,
            Phase::Score,
            Phase::Cluster,
            Phase::Done
        ]
    );
    let completeness = outcome.pair_completeness(&truth);
    assert!(completeness > 0.97, "pair completeness {completeness}");
    let (p, r, f) = f1(&outcome.pairs, &truth);
    assert!(f > 0.95, "precision {p} recall {r} f1 {f}");
    assert!(outcome.model.training.em_iterations > 1);
    assert!(outcome.stats.reduction_ratio > 0.9);
    assert_eq!(outcome.clusters.assignment.len(), records.len());
    // Explanations add up to the match weight.
    let sp = outcome.scored_pair(&records, &outcome.pairs[0]);
    let prior = outcome.model.prior();
    assert!((sp.prior_weight - (prior / (1.0 - prior)).log2()).abs() < 1e-9);
    let sum: f64 = sp.explanation.iter().map(|f| f.weight).sum::<f64>()
        + sp.prior_weight
        + sp.dependence_adjustment;
    assert!((sum - sp.match_weight).abs() < 1e-9);
    assert_eq!(sp.a, records[outcome.pairs[0].a as usize].id);
}

#[test]
fn pipeline_is_deterministic_across_thread_counts() {
    let records = sample_people(500, 9);
    let run = |threads| {
        dedupe(
            &records,
            &DedupeConfig {
                threads,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let a = run(1);
    let b = run(3);
    assert_eq!(a.candidates, b.candidates);
    assert_eq!(a.pairs.len(), b.pairs.len());
    assert_eq!(a.clusters, b.clusters);
    assert_eq!(a.model.training, b.model.training);
    for (x, y) in a.model.comparisons.iter().zip(&b.model.comparisons) {
        for (l, k) in x.levels.iter().zip(&y.levels) {
            assert!((l.u_random - k.u_random).abs() < 1e-12);
        }
    }
}

#[test]
fn trained_model_can_be_reused() {
    let records = sample_people(300, 21);
    let first = dedupe(&records, &DedupeConfig::default()).unwrap();
    let json = serde_json::to_string(&first.model).unwrap();
    let model: Model = serde_json::from_str(&json).unwrap();
    let again = dedupe(
        &records,
        &DedupeConfig {
            model: Some(model),
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(first.pairs.len(), again.pairs.len());
    for (x, y) in first.pairs.iter().zip(&again.pairs) {
        assert_eq!((x.a, x.b, x.gamma), (y.a, y.b, y.gamma));
        assert!((x.probability - y.probability).abs() < 1e-9);
    }
}

#[test]
fn labelled_pairs_give_m_directly() {
    let (records, truth) = sample_people_with_truth(300, 8);
    let labelled = truth
        .iter()
        .take(40)
        .map(|&(a, b)| {
            (
                records[a as usize].id.clone(),
                records[b as usize].id.clone(),
            )
        })
        .collect();
    let outcome = dedupe(
        &records,
        &DedupeConfig {
            labelled_pairs: labelled,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(outcome.model.training.labelled_pairs, 40);
    let (_, _, f) = f1(&outcome.pairs, &truth);
    assert!(f > 0.9, "f1 {f}");
}

#[test]
fn bad_input_and_config_are_validation_errors() {
    let r = |id: &str| PersonRecord {
        id: id.into(),
        ..Default::default()
    };
    let field = |e: CrmError| match e {
        CrmError::Validation { field, .. } => field,
        other => panic!("unexpected {other:?}"),
    };
    assert_eq!(
        field(dedupe(&[r("a"), r("a")], &DedupeConfig::default()).unwrap_err()),
        "records[1].id"
    );
    assert_eq!(
        field(dedupe(&[r("")], &DedupeConfig::default()).unwrap_err()),
        "records[0].id"
    );
    let bad = |c: DedupeConfig| field(dedupe(&[r("a")], &c).unwrap_err());
    assert_eq!(
        bad(DedupeConfig {
            default_region: Some("XX".into()),
            ..Default::default()
        }),
        "default_region"
    );
    assert_eq!(
        bad(DedupeConfig {
            threshold: Some(1.5),
            ..Default::default()
        }),
        "threshold"
    );
    assert_eq!(
        bad(DedupeConfig {
            blocking_rules: vec![],
            ..Default::default()
        }),
        "blocking_rules"
    );
    assert_eq!(
        bad(DedupeConfig {
            labelled_pairs: vec![("a".into(), "zz".into())],
            ..Default::default()
        }),
        "labelled_pairs[0]"
    );
}

#[test]
fn empty_and_tiny_inputs() {
    let out = dedupe(&[], &DedupeConfig::default()).unwrap();
    assert!(out.pairs.is_empty());
    assert_eq!(out.clusters.count, 0);
    let one = [PersonRecord {
        id: "x".into(),
        ..Default::default()
    }];
    let out = dedupe(&one, &DedupeConfig::default()).unwrap();
    assert_eq!(out.clusters.assignment, vec![0]);
}

#[test]
fn random_pair_scoring_finds_duplicates_too() {
    let (records, truth) = sample_people_with_truth(1500, 17);
    let config = DedupeConfig {
        training: TrainingOptions {
            u_source: USource::RandomPairs,
            ..Default::default()
        },
        ..Default::default()
    };
    let outcome = dedupe(&records, &config).unwrap();
    assert_eq!(outcome.model.u_source, USource::RandomPairs);
    assert!(outcome.model.random_match_probability < 0.01);
    let (_, r, _) = f1(&outcome.pairs, &truth);
    assert!(r > 0.9, "recall {r}");
    let sp = outcome.scored_pair(&records, &outcome.pairs[0]);
    // Two classes: the explanation is the whole weight.
    assert!(sp.dependence_adjustment.abs() < 1e-9);
}

#[test]
fn index_from_outcome_reuses_normalised_records() {
    let records = sample_people(300, 4);
    let config = DedupeConfig::default();
    let outcome = dedupe(&records, &config).unwrap();
    let expected: Vec<(u32, u32)> = outcome.pairs.iter().map(|p| (p.a, p.b)).collect();
    let index = DedupeIndex::from_outcome(&records, outcome, &config).unwrap();
    assert_eq!(index.len(), records.len());
    for &(a, b) in &expected {
        let found = index.matches_for(&records[a as usize]);
        assert!(found.iter().any(|m| m.b == records[b as usize].id));
    }
    assert!(
        DedupeIndex::from_outcome(&records[..10], dedupe(&records, &config).unwrap(), &config)
            .is_err()
    );
}

/// A tenant of `n` people (n >= 2): one obvious duplicate pair (the same e-mail address,
/// `first_a` / `first_b` as given names, one surname) and `n - 2` distinct people with
/// their own names and addresses.
pub(crate) fn small_tenant(n: usize, first_a: &str, first_b: &str) -> Vec<PersonRecord> {
    let mut out = vec![
        PersonRecord {
            id: "dup-a".into(),
            first_name: Some(first_a.into()),
            last_name: Some("Featherstonehaugh".into()),
            email: Some("r.featherstonehaugh@example.com".into()),
            ..Default::default()
        },
        PersonRecord {
            id: "dup-b".into(),
            first_name: Some(first_b.into()),
            last_name: Some("Featherstonehaugh".into()),
            email: Some("R.Featherstonehaugh@Example.com".into()),
            ..Default::default()
        },
    ];
    for i in 0..n.saturating_sub(2) {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i / FIRST.len() + i) % LAST.len()];
        out.push(PersonRecord {
            id: format!("p{i}"),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            email: Some(format!("{}.{}.{i}@example.org", first, last).to_lowercase()),
            phone: Some(format!("+44 7700 9{:05}", 10 * i + 3)),
            street: Some(format!("{} {}", i + 1, STREET[i % STREET.len()])),
            city: Some(CITY[i % CITY.len()].into()),
            ..Default::default()
        });
    }
    out
}

#[test]
fn small_tenants_find_the_obvious_pair_with_the_prior_model() {
    for n in [2usize, 3, 4, 10, 50, 100] {
        for (first_a, first_b) in [("Robert", "Bob"), ("Ines", "Inés")] {
            let records = small_tenant(n, first_a, first_b);
            let config = DedupeConfig::default();
            let outcome = dedupe(&records, &config).unwrap();
            assert_eq!(outcome.model_source, ModelSource::Prior, "n={n}");
            assert_eq!(outcome.model.origin, ModelOrigin::Prior);
            assert_eq!(
                outcome.model.training.prior_reason,
                Some(PriorReason::TooFewRecords {
                    records: n as u64,
                    min: model::DEFAULT_MIN_EM_RECORDS as u64
                })
            );
            let found: Vec<(&str, &str)> = outcome
                .pairs
                .iter()
                .map(|p| {
                    (
                        records[p.a as usize].id.as_str(),
                        records[p.b as usize].id.as_str(),
                    )
                })
                .collect();
            assert_eq!(found, [("dup-a", "dup-b")], "n={n} {first_a}/{first_b}");
            assert!(outcome.pairs[0].probability >= outcome.threshold);
            // The index built from the outcome (as the service does) finds it too.
            let index = DedupeIndex::from_outcome(&records, outcome, &config).unwrap();
            let m = index.matches_for(&records[1]);
            assert_eq!(m.len(), 1, "n={n}");
            assert_eq!(m[0].b, "dup-a");
        }
    }
}

#[test]
fn em_forced_onto_tiny_data_falls_back_to_the_prior() {
    // With the size minimum off, EM runs on a single candidate pair; its estimates are
    // degenerate (every pair in one class) and the prior scores instead, never an invalid
    // model.
    let records = small_tenant(2, "Robert", "Bob");
    let config = DedupeConfig {
        training: TrainingOptions {
            min_em_records: 0,
            min_em_candidate_pairs: 0,
            ..Default::default()
        },
        ..Default::default()
    };
    let outcome = dedupe(&records, &config).unwrap();
    assert_eq!(outcome.model_source, ModelSource::Prior);
    assert!(matches!(
        outcome.model.training.prior_reason,
        Some(PriorReason::EmDegenerate { .. })
    ));
    outcome.model.validate().unwrap();
    assert_eq!(outcome.pairs.len(), 1);
    DedupeIndex::from_outcome(&records, outcome, &config).unwrap();
}

#[test]
fn large_data_still_trains() {
    let records = sample_people(1500, 31);
    let outcome = dedupe(&records, &DedupeConfig::default()).unwrap();
    assert_eq!(outcome.model_source, ModelSource::Trained);
    assert_eq!(outcome.model.origin, ModelOrigin::Trained);
    assert_eq!(outcome.model.training.prior_reason, None);
    assert!(outcome.model.training.em_iterations > 1);
}

#[test]
fn shared_email_with_another_name_is_for_review_not_a_match() {
    for n in [2usize, 4, 50, 100] {
        let mut records = small_tenant(n, "Robert", "Bob");
        // Two different people behind one family mailbox, and a colleague-style pair
        // sharing an address with nothing else in common.
        records.push(PersonRecord {
            id: "mail-a".into(),
            first_name: Some("Hannah".into()),
            last_name: Some("Quisling".into()),
            email: Some("quisling.family@example.net".into()),
            ..Default::default()
        });
        records.push(PersonRecord {
            id: "mail-b".into(),
            first_name: Some("Magnus".into()),
            last_name: Some("Quisling".into()),
            email: Some("quisling.family@example.net".into()),
            ..Default::default()
        });
        records.push(PersonRecord {
            id: "mail-c".into(),
            first_name: Some("Oskar".into()),
            last_name: Some("Brandvold".into()),
            email: Some("quisling.family@example.net".into()),
            ..Default::default()
        });
        let outcome = dedupe(&records, &DedupeConfig::default()).unwrap();
        let id = |i: u32| records[i as usize].id.as_str();
        let matches: Vec<(&str, &str)> = outcome.pairs.iter().map(|p| (id(p.a), id(p.b))).collect();
        assert_eq!(matches, [("dup-a", "dup-b")], "n={n}: the real match only");
        let mut review: Vec<(&str, &str, ReviewReason)> = outcome
            .review
            .iter()
            .map(|r| (id(r.pair.a), id(r.pair.b), r.reason))
            .collect();
        review.sort();
        assert_eq!(
            review,
            [
                ("mail-a", "mail-b", ReviewReason::SameEmailDifferentName),
                ("mail-a", "mail-c", ReviewReason::SameEmailDifferentName),
                ("mail-b", "mail-c", ReviewReason::SameEmailDifferentName),
            ],
            "n={n}"
        );
        assert!(outcome
            .review
            .iter()
            .all(|r| r.pair.probability < outcome.threshold));
        assert_eq!(
            ReviewReason::SameEmailDifferentName.message(),
            "same e-mail address, different name"
        );
        // Review pairs never join clusters.
        let cluster = |s: &str| {
            let i = records.iter().position(|r| r.id == s).unwrap();
            outcome.clusters.assignment[i]
        };
        assert_ne!(cluster("mail-a"), cluster("mail-b"));
    }
}
