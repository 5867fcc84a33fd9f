//! The evaluator: the arithmetic on a hand-made example, cluster counting against brute
//! force, file reading, and the binary end to end.

use std::path::PathBuf;
use std::process::Command;

use crm_synth::eval::{self, ScoredPair, Truth};
use crm_synth::rng::Rng;

/// Entities: {a1, a2, a3}, {b1, b2}, {c1}: 3 + 1 = 4 true pairs.
fn tiny_truth() -> Truth {
    let mut t = Truth::new();
    for (id, e) in [
        ("a1", 1),
        ("a2", 1),
        ("a3", 1),
        ("b1", 2),
        ("b2", 2),
        ("c1", 3),
    ] {
        t.insert(id, e).unwrap();
    }
    t
}

fn pair(t: &Truth, a: &str, b: &str, p: f64) -> ScoredPair {
    ScoredPair {
        a: t.index_of(a).unwrap(),
        b: t.index_of(b).unwrap(),
        probability: p,
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-12
}

#[test]
fn pair_precision_recall_f1_by_hand() {
    let mut t = tiny_truth();
    assert_eq!(t.true_pairs(), 4);
    assert_eq!(t.insert("a1", 9), None, "ids are unique");
    let mut pairs = vec![
        pair(&t, "a1", "a2", 0.9),
        pair(&t, "a2", "a1", 0.8), // the same pair again, reversed
        pair(&t, "a1", "b1", 0.7), // wrong
        pair(&t, "b2", "b1", 0.95),
        pair(&t, "c1", "c1", 1.0), // self-pair
    ];
    assert_eq!(eval::normalize_pairs(&mut pairs), 1);
    assert_eq!(pairs.len(), 3);
    assert!(
        pairs.iter().any(|p| close(p.probability, 0.9)),
        "highest kept"
    );

    let c = eval::evaluate_pairs(&t, &pairs, None);
    assert_eq!(
        (
            c.predicted,
            c.true_positives,
            c.false_positives(),
            c.false_negatives()
        ),
        (3, 2, 1, 2)
    );
    assert!(close(c.precision(), 2.0 / 3.0));
    assert!(close(c.recall(), 0.5));
    assert!(close(c.f1(), 4.0 / 7.0));

    let c = eval::evaluate_pairs(&t, &pairs, Some(0.8));
    assert_eq!((c.predicted, c.true_positives), (2, 2));
    assert!(close(c.precision(), 1.0) && close(c.recall(), 0.5));
    assert!(close(c.f1(), 2.0 / 3.0));

    // The sweep agrees with evaluating at each threshold.
    let thresholds = [0.0, 0.7, 0.75, 0.9, 0.95, 0.99];
    for (th, swept) in eval::threshold_sweep(&t, &pairs, &thresholds) {
        assert_eq!(swept, eval::evaluate_pairs(&t, &pairs, Some(th)), "at {th}");
    }

    let none = eval::evaluate_pairs(&t, &[], None);
    assert!(close(none.precision(), 1.0) && close(none.recall(), 0.0) && close(none.f1(), 0.0));
}

#[test]
fn cluster_pairs_by_hand() {
    let t = tiny_truth();
    let i = |id: &str| t.index_of(id).unwrap();
    // {a1, a2, b1} {a3} {b2}; c1 unlisted (a singleton).
    let assignment = vec![
        (i("a1"), 7),
        (i("a2"), 7),
        (i("b1"), 7),
        (i("a3"), 8),
        (i("b2"), 9),
    ];
    let c = eval::evaluate_clusters(&t, &assignment);
    assert_eq!((c.true_pairs, c.predicted, c.true_positives), (4, 3, 1));
    assert!(close(c.precision(), 1.0 / 3.0) && close(c.recall(), 0.25));

    // The true clustering is perfect.
    let perfect: Vec<(u32, u64)> = (0..t.len() as u32).map(|r| (r, t.entity(r))).collect();
    let c = eval::evaluate_clusters(&t, &perfect);
    assert_eq!((c.predicted, c.true_positives), (4, 4));
}

#[test]
fn cluster_counting_equals_brute_force() {
    let mut rng = Rng::new(99);
    for case in 0..300 {
        let n = 1 + rng.below(60);
        let entities = 1 + rng.below(n);
        let clusters = 1 + rng.below(n);
        let mut t = Truth::new();
        for r in 0..n {
            t.insert(&format!("r{r}"), rng.below(entities) as u64);
        }
        // Some records unlisted (singletons), some listed twice (the first label counts).
        let mut assignment = Vec::new();
        let mut label = vec![None; n];
        for (r, slot) in label.iter_mut().enumerate() {
            if rng.chance(0.85) {
                let c = rng.below(clusters) as u64;
                assignment.push((r as u32, c));
                *slot = Some(c);
            }
        }
        for r in 0..n {
            if rng.chance(0.05) {
                assignment.push((r as u32, 1_000 + r as u64));
            }
        }
        rng.shuffle(&mut assignment);
        // The first label in the shuffled list is the one that counts.
        let mut first = vec![None; n];
        for &(r, c) in &assignment {
            first[r as usize].get_or_insert(c);
        }

        let (mut true_pairs, mut predicted, mut tp) = (0u64, 0u64, 0u64);
        for a in 0..n {
            for b in a + 1..n {
                let same_entity = t.entity(a as u32) == t.entity(b as u32);
                let same_cluster = first[a].is_some() && first[a] == first[b];
                true_pairs += u64::from(same_entity);
                predicted += u64::from(same_cluster);
                tp += u64::from(same_entity && same_cluster);
            }
        }
        let c = eval::evaluate_clusters(&t, &assignment);
        assert_eq!(
            (c.true_pairs, c.predicted, c.true_positives),
            (true_pairs, predicted, tp),
            "case {case}"
        );
        assert_eq!(t.true_pairs(), true_pairs);
    }
}

#[test]
fn blocking_completeness_and_reduction() {
    let t = tiny_truth();
    let mut candidates = vec![
        pair(&t, "a1", "a2", 1.0),
        pair(&t, "a1", "a3", 1.0),
        pair(&t, "a1", "c1", 1.0),
    ];
    eval::normalize_pairs(&mut candidates);
    let b = eval::evaluate_blocking(&t, &candidates);
    assert_eq!((b.candidates, b.true_candidates, b.true_pairs), (3, 2, 4));
    assert!(close(b.pair_completeness(), 0.5));
    assert!(close(b.reduction_ratio(), 1.0 - 3.0 / 15.0));
    assert!(close(b.pair_quality(), 2.0 / 3.0));
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("crm-synth-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    fn file(&self, name: &str, content: &str) -> PathBuf {
        let p = self.0.join(name);
        std::fs::write(&p, content).unwrap();
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn files_are_read_by_header_name() {
    let dir = TempDir::new("files");
    let truth = dir.file("truth.csv", "id,entity_id\na1,x\na2,x\nb1,y\nb2,y\nc1,z\n");
    let t = Truth::read_csv(&truth).unwrap();
    assert_eq!((t.len(), t.entity_count(), t.true_pairs()), (5, 3, 2));

    let pairs = dir.file(
        "pairs.csv",
        "probability,id_b,id_a\n0.9,a2,a1\n0.4,b1,a1\n0.6,b2,b1\n",
    );
    let (p, self_pairs) = eval::read_pairs_csv(&t, &pairs).unwrap();
    assert_eq!((p.len(), self_pairs), (3, 0));
    let c = eval::evaluate_pairs(&t, &p, Some(0.5));
    assert_eq!((c.predicted, c.true_positives), (2, 2));

    let clusters = dir.file("clusters.csv", "id,cluster_id\na1,k\na2,k\nb1,k\n");
    let rows = eval::read_clusters_csv(&t, &clusters).unwrap();
    let c = eval::evaluate_clusters(&t, &rows);
    assert_eq!((c.predicted, c.true_positives), (3, 1));

    let bad = dir.file("bad.csv", "id_a,id_b,probability\na1,zz,0.5\n");
    let err = eval::read_pairs_csv(&t, &bad).unwrap_err().to_string();
    assert!(err.contains("zz") && err.contains("line 2"), "{err}");
    let dup = dir.file("dup.csv", "id,entity_id\na,1\na,2\n");
    assert!(Truth::read_csv(&dup)
        .unwrap_err()
        .to_string()
        .contains("twice"));
}

#[test]
fn binary_generates_and_evaluates() {
    let dir = TempDir::new("cli");
    let people = dir.0.join("people.csv");
    let truth = dir.0.join("truth.csv");
    let bin = env!("CARGO_BIN_EXE_crm-synth");
    let out = Command::new(bin)
        .args([
            "generate",
            "--entities",
            "300",
            "--seed",
            "4",
            "--quiet",
            "--output",
        ])
        .arg(&people)
        .arg("--truth")
        .arg(&truth)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = std::fs::read_to_string(&people).unwrap();
    assert!(header.starts_with(
        "id,first_name,last_name,full_name,email,phone,street,address_line2,city,postcode,region,country,birth_date,company,national_id\n"
    ));

    // A perfect detector from the truth file: all true pairs, clusters = entities.
    let t = Truth::read_csv(&truth).unwrap();
    let text = std::fs::read_to_string(&truth).unwrap();
    let rows: Vec<(&str, &str)> = text
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').unwrap())
        .collect();
    let mut pairs = String::from("id_a,id_b,probability\n");
    for (i, a) in rows.iter().enumerate() {
        for b in &rows[i + 1..] {
            if a.1 == b.1 {
                pairs += &format!("{},{},0.97\n", a.0, b.0);
            }
        }
    }
    let pairs = dir.file("pairs.csv", &pairs);
    let clusters = dir.file(
        "clusters.csv",
        &rows
            .iter()
            .fold(String::from("id,cluster_id\n"), |s, (id, e)| {
                s + &format!("{id},{e}\n")
            }),
    );
    let out = Command::new(bin)
        .arg("evaluate")
        .arg("--pairs")
        .arg(&pairs)
        .arg("--truth")
        .arg(&truth)
        .arg("--clusters")
        .arg(&clusters)
        .arg("--summary")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = String::from_utf8(out.stdout).unwrap();
    let cols: Vec<&str> = line.trim().split('\t').collect();
    assert_eq!(cols[0], t.len().to_string());
    assert_eq!(cols[1], t.true_pairs().to_string());
    assert_eq!(&cols[3..], ["1.0000"; 6]);

    let out = Command::new(bin)
        .arg("evaluate")
        .arg("--pairs")
        .arg(&pairs)
        .arg("--truth")
        .arg(&truth)
        .args(["--threshold", "0.99", "--sweep"])
        .output()
        .unwrap();
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("predicted pairs  0"), "{report}");
    assert!(report.contains("threshold sweep"), "{report}");
}

#[test]
fn breakdown_sorts_errors_by_cause() {
    use crm_synth::diagnose::{breakdown, FalsePositiveKind, Meta};
    use crm_synth::{generate, Corruption, Relation, SynthConfig};

    let records = generate(&SynthConfig::new(3_000, 21));
    let truth = Truth::from_records(&records);
    let meta = Meta::from_records(&truth, &records);
    let index = |id: &str| truth.index_of(id).unwrap();

    // Predict every true pair except those involving a `moved` duplicate, plus one pair per
    // household/twin relation (original of the entity with the original of its base).
    let originals: std::collections::HashMap<u64, &str> = records
        .iter()
        .filter(|r| r.is_original())
        .map(|r| (r.entity_id, r.id.as_str()))
        .collect();
    let mut pairs = Vec::new();
    let mut expected_missed_moved = 0u64;
    let mut moved_pairs = 0u64;
    for (i, a) in records.iter().enumerate() {
        for b in &records[i + 1..] {
            if a.entity_id != b.entity_id {
                continue;
            }
            let moved = a.provenance.corruptions.contains(Corruption::Moved)
                || b.provenance.corruptions.contains(Corruption::Moved);
            moved_pairs += u64::from(moved);
            if moved {
                expected_missed_moved += 1;
            } else {
                pairs.push(ScoredPair {
                    a: index(&a.id),
                    b: index(&b.id),
                    probability: 0.9,
                });
            }
        }
    }
    let mut households = 0;
    let mut twins = 0;
    for r in records.iter().filter(|r| r.is_original()) {
        if let Some(base) = r.provenance.related_entity {
            match r.provenance.relation {
                Relation::Household => households += 1,
                Relation::Twin => twins += 1,
                _ => continue,
            }
            pairs.push(ScoredPair {
                a: index(&r.id),
                b: index(originals[&base]),
                probability: 0.8,
            });
        }
    }
    eval::normalize_pairs(&mut pairs);
    let b = breakdown(&truth, &meta, &pairs, None);
    assert_eq!(
        b.false_positives[FalsePositiveKind::Household as usize],
        households
    );
    assert_eq!(b.false_positives[FalsePositiveKind::Twin as usize], twins);
    assert_eq!(b.false_positives[FalsePositiveKind::Unrelated as usize], 0);
    let m = Corruption::Moved.index();
    assert_eq!((b.pairs_with[m], b.found_with[m]), (moved_pairs, 0));
    assert!(expected_missed_moved > 0);
    let t = Corruption::Typo.index();
    assert!(b.pairs_with[t] > 0 && b.found_with[t] < b.pairs_with[t]);
    assert_eq!(b.exact_found, b.exact_pairs);

    // Above the households' probability, only the true pairs remain.
    let b = breakdown(&truth, &meta, &pairs, Some(0.85));
    assert_eq!(b.false_positives.iter().sum::<u64>(), 0);

    // meta.csv round-trips through the file format.
    let dir = TempDir::new("meta");
    let path = dir.0.join("meta.csv");
    crm_synth::io::write_meta(&records, std::fs::File::create(&path).unwrap()).unwrap();
    let read = Meta::read_csv(&truth, &path).unwrap();
    assert_eq!(
        breakdown(&truth, &read, &pairs, None),
        breakdown(&truth, &meta, &pairs, None)
    );
}

#[test]
fn corruption_sets_parse_back() {
    use crm_synth::{Corruption, Corruptions, Relation};
    let mut set = Corruptions::default();
    assert_eq!(Corruptions::parse(""), Some(set));
    set.insert(Corruption::Typo);
    set.insert(Corruption::SurnameChange);
    assert_eq!(set.to_string(), "typo+surname_change");
    assert_eq!(Corruptions::parse(&set.to_string()), Some(set));
    assert_eq!(Corruptions::parse("typo+nonsense"), None);
    for r in Relation::ALL {
        assert_eq!(Relation::from_name(r.name()), Some(r));
    }
}
