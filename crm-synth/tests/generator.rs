//! The generator: reproducible, truthful, and realistic in the ways the issue asks for.

use std::collections::{HashMap, HashSet};

use crm_synth::{
    generate, Corruption, Relation, SynthConfig, SynthRecord, SynthStats, FIELD_NAMES,
};

fn sample() -> Vec<SynthRecord> {
    generate(&SynthConfig::new(20_000, 2024))
}

fn by_id(records: &[SynthRecord]) -> HashMap<&str, &SynthRecord> {
    records.iter().map(|r| (r.id.as_str(), r)).collect()
}

fn originals_by_entity(records: &[SynthRecord]) -> HashMap<u64, &SynthRecord> {
    records
        .iter()
        .filter(|r| r.is_original())
        .map(|r| (r.entity_id, r))
        .collect()
}

#[test]
fn same_seed_same_data_other_seed_other_data() {
    let a = generate(&SynthConfig::new(3_000, 11));
    let b = generate(&SynthConfig::new(3_000, 11));
    let c = generate(&SynthConfig::new(3_000, 12));
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn output_does_not_depend_on_the_number_of_threads() {
    // More than one chunk of 65,536 entities, so that threads really split the work.
    let mut one = SynthConfig::new(70_000, 5);
    one.threads = 1;
    let mut two = one.clone();
    two.threads = 2;
    let a = generate(&one);
    let b = generate(&two);
    assert_eq!(a.len(), b.len());
    assert!(a == b, "threads changed the output");
}

#[test]
fn truth_is_consistent() {
    let records = sample();
    let ids = by_id(&records);
    assert_eq!(ids.len(), records.len(), "ids are unique");

    let originals = originals_by_entity(&records);
    assert_eq!(originals.len(), 20_000, "one original per entity");
    let per_entity = records.len() as f64 / 20_000.0;
    assert!(
        (1.4..1.6).contains(&per_entity),
        "{per_entity} records per entity"
    );

    let mut duplicates = 0;
    for r in records.iter().filter(|r| !r.is_original()) {
        duplicates += 1;
        let of = r.provenance.duplicate_of.as_deref().unwrap_or_default();
        let original = ids.get(of).expect("duplicate_of names a record");
        assert!(
            original.is_original(),
            "{} is a duplicate of a duplicate",
            r.id
        );
        assert_eq!(original.entity_id, r.entity_id, "{} and its original", r.id);
        assert_eq!(originals[&r.entity_id].id, original.id);
        assert_eq!(r.provenance.relation, original.provenance.relation);
    }
    assert!(duplicates > 8_000);

    // Singletons dominate; some entities have four duplicates.
    let stats = SynthStats::of(&records);
    let singles = stats.entities_by_size[1] as f64 / 20_000.0;
    assert!((0.55..0.70).contains(&singles), "{singles}");
    assert!(stats.entities_by_size.len() == 6 && stats.entities_by_size[5] > 50);
    assert_eq!(
        stats.true_pairs,
        crm_synth::Truth::from_records(&records).true_pairs()
    );
}

#[test]
fn ids_do_not_reveal_entities() {
    let records = sample();
    // Neighbours in file order almost never belong to the same entity.
    let same = records
        .windows(2)
        .filter(|w| w[0].entity_id == w[1].entity_id)
        .count();
    assert!(same < 20, "{same} adjacent pairs of one entity");
    assert!(
        records.windows(2).all(|w| w[0].id < w[1].id),
        "ids ascend in file order"
    );
}

#[test]
fn every_corruption_kind_occurs() {
    let stats = SynthStats::of(&sample());
    for c in Corruption::ALL {
        assert!(stats.corruption(c) >= 30, "{c}: {}", stats.corruption(c));
    }
    assert!(stats.exact_duplicates > 100);
    for r in Relation::ALL {
        assert!(stats.relation(r) >= 40, "{r}: {}", stats.relation(r));
    }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

/// The national number: digits without the country code or trunk prefix.
fn phone_key(s: &str) -> String {
    let d = digits(s);
    let d = d
        .strip_prefix("0044")
        .or(d.strip_prefix("44"))
        .map_or(d.clone(), str::to_string);
    let d = d.trim_start_matches('0').to_string();
    if d.len() == 11 && d.starts_with('1') {
        d[1..].to_string()
    } else {
        d
    }
}

fn email_key(s: &str) -> String {
    let lower = s.to_lowercase();
    let (local, domain) = lower.split_once('@').unwrap_or((&lower, ""));
    let local = local.split('+').next().unwrap_or("");
    let domain = if domain == "googlemail.com" {
        "gmail.com"
    } else {
        domain
    };
    let local = if domain == "gmail.com" {
        local.replace('.', "")
    } else {
        local.to_string()
    };
    format!("{local}@{domain}")
}

fn changed_fields(a: &SynthRecord, b: &SynthRecord) -> Vec<&'static str> {
    let (fa, fb) = (a.fields(), b.fields());
    // Skip the id (always differs) and the national id (each source may or may not hold it).
    (1..14)
        .filter(|&i| fa[i] != fb[i])
        .map(|i| FIELD_NAMES[i])
        .collect()
}

/// A duplicate with exactly one corruption differs from its original only where that
/// corruption says, and in the way it says.
#[test]
fn single_corruptions_do_what_they_say() {
    let records = sample();
    let originals = originals_by_entity(&records);
    let mut seen: HashMap<Corruption, usize> = HashMap::new();
    let mut exact = 0;
    for dup in records.iter().filter(|r| !r.is_original()) {
        let orig = originals[&dup.entity_id];
        let kinds: Vec<Corruption> = dup.provenance.corruptions.iter().collect();
        let changed = changed_fields(orig, dup);
        let ctx = format!("{kinds:?} changed {changed:?}\n  {orig:?}\n  {dup:?}");
        if kinds.is_empty() {
            assert!(changed.is_empty(), "exact copy differs: {ctx}");
            exact += 1;
            continue;
        }
        if kinds.len() != 1 {
            continue;
        }
        let kind = kinds[0];
        *seen.entry(kind).or_default() += 1;
        let only =
            |allowed: &[&str]| changed.iter().all(|f| allowed.contains(f)) && !changed.is_empty();
        match kind {
            Corruption::Typo => {
                assert!(!changed.is_empty() && changed.len() <= 2, "{ctx}");
                if changed.len() == 2 {
                    assert!(changed.contains(&"full_name"), "{ctx}");
                }
            }
            Corruption::SwapNames => {
                assert!(only(&["first_name", "last_name", "full_name"]), "{ctx}");
                assert_eq!(dup.first_name, orig.last_name, "{ctx}");
                assert_eq!(dup.last_name, orig.first_name, "{ctx}");
            }
            Corruption::Nickname => assert!(only(&["first_name", "full_name"]), "{ctx}"),
            Corruption::MissingField => {
                assert!(changed.len() <= 2 && !changed.is_empty(), "{ctx}");
                let d = dup.fields();
                for f in &changed {
                    let i = FIELD_NAMES.iter().position(|n| n == f).unwrap();
                    assert!(d[i].is_empty(), "{ctx}");
                }
            }
            Corruption::PhoneFormat => {
                assert!(only(&["phone"]), "{ctx}");
                assert_eq!(phone_key(&dup.phone), phone_key(&orig.phone), "{ctx}");
            }
            Corruption::EmailVariant => {
                assert!(only(&["email"]), "{ctx}");
                assert_eq!(email_key(&dup.email), email_key(&orig.email), "{ctx}");
            }
            Corruption::AddressAbbreviation => {
                assert!(only(&["street", "address_line2"]), "{ctx}");
                let kind = |s: &str| s.rsplit(' ').next().unwrap_or("").to_string();
                assert_ne!(kind(&dup.street), kind(&orig.street), "{ctx}");
            }
            Corruption::DateFormat => {
                assert!(only(&["birth_date"]), "{ctx}");
                assert_eq!(digits(&dup.birth_date), digits(&orig.birth_date), "{ctx}");
                assert_ne!(dup.birth_date.contains('-'), orig.birth_date.contains('-'));
            }
            Corruption::DateSwap => {
                assert!(only(&["birth_date"]), "{ctx}");
                let (o, d) = (digits(&orig.birth_date), digits(&dup.birth_date));
                assert_eq!(&o[..4], &d[..4], "{ctx}");
                assert_eq!((&o[4..6], &o[6..8]), (&d[6..8], &d[4..6]), "{ctx}");
            }
            Corruption::YearOffByOne => {
                assert!(only(&["birth_date"]), "{ctx}");
                let (o, d) = (digits(&orig.birth_date), digits(&dup.birth_date));
                let (yo, yd): (i32, i32) = (o[..4].parse().unwrap(), d[..4].parse().unwrap());
                assert_eq!((yo - yd).abs(), 1, "{ctx}");
            }
            Corruption::CompanySuffix => {
                assert!(only(&["company"]), "{ctx}");
                let stem = |s: &str| s.split(' ').take(2).collect::<Vec<_>>().join(" ");
                assert_eq!(stem(&dup.company), stem(&orig.company), "{ctx}");
            }
            Corruption::NameCase => {
                assert!(only(&["first_name", "last_name", "full_name"]), "{ctx}");
                assert_eq!(
                    dup.full_name.to_lowercase(),
                    orig.full_name.to_lowercase(),
                    "{ctx}"
                );
            }
            Corruption::FullNameFormat => assert!(only(&["full_name"]), "{ctx}"),
            Corruption::PostcodeFormat => {
                assert!(only(&["postcode"]), "{ctx}");
                let key = |s: &str| {
                    let k: String = s.chars().filter(char::is_ascii_alphanumeric).collect();
                    k.to_uppercase()
                        .chars()
                        .take(
                            if s.contains('-')
                                || orig.country.starts_with('U') && digits(s).len() == s.len()
                            {
                                5
                            } else {
                                9
                            },
                        )
                        .collect::<String>()
                };
                assert_eq!(key(&dup.postcode), key(&orig.postcode), "{ctx}");
            }
            Corruption::RegionFormat => assert!(only(&["region", "country"]), "{ctx}"),
            Corruption::NationalIdFormat => assert!(changed.is_empty(), "{ctx}"),
            Corruption::Moved => assert!(
                only(&[
                    "street",
                    "address_line2",
                    "city",
                    "postcode",
                    "region",
                    "phone"
                ]),
                "{ctx}"
            ),
            Corruption::NewEmail => assert!(only(&["email"]), "{ctx}"),
            Corruption::SurnameChange => assert!(only(&["last_name", "full_name"]), "{ctx}"),
        }
    }
    assert!(exact > 100);
    for c in Corruption::ALL {
        assert!(
            seen.get(&c).copied().unwrap_or(0) >= 5,
            "{c} alone: {seen:?}"
        );
    }
}

#[test]
fn phone_layouts_vary_for_one_number() {
    let records = sample();
    let layouts: HashSet<String> = records
        .iter()
        .filter(|r| !r.phone.is_empty())
        .map(|r| {
            r.phone
                .chars()
                .map(|c| if c.is_ascii_digit() { '9' } else { c })
                .collect()
        })
        .collect();
    for layout in [
        "+99 99 9999 9999",
        "999 9999 9999",
        "99999999999",
        "(999) 999-9999",
    ] {
        assert!(
            layouts.contains(layout),
            "{layout} missing from {layouts:?}"
        );
    }
}

#[test]
fn names_follow_a_skewed_distribution_with_a_long_tail() {
    let records = sample();
    let originals: Vec<&SynthRecord> = records.iter().filter(|r| r.is_original()).collect();
    let mut surnames: HashMap<String, usize> = HashMap::new();
    let mut firsts: HashMap<String, usize> = HashMap::new();
    let mut full: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for r in &originals {
        *surnames.entry(r.last_name.to_lowercase()).or_default() += 1;
        *firsts.entry(r.first_name.to_lowercase()).or_default() += 1;
        full.entry((r.first_name.to_lowercase(), r.last_name.to_lowercase()))
            .or_default()
            .insert(r.birth_date.clone());
    }
    let n = originals.len() as f64;
    let smith = surnames["smith"] as f64 / n;
    assert!((0.006..0.03).contains(&smith), "Smith share {smith}");
    let mut counts: Vec<usize> = surnames.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(
        counts[0], surnames["smith"],
        "Smith is the most common surname"
    );
    assert!(surnames.len() > 3_000, "{} surnames", surnames.len());
    let once = counts.iter().filter(|&&c| c == 1).count();
    assert!(once > 1_000, "{once} surnames occur once");
    assert!(firsts.len() > 300, "{} first names", firsts.len());
    // Several distinct John Smiths (different birth dates).
    let john_smiths = full
        .get(&("john".to_string(), "smith".to_string()))
        .map_or(0, HashSet::len);
    assert!(john_smiths >= 3, "{john_smiths} John Smiths");
}

fn norm_postcode(s: &str) -> String {
    let k: String = s.chars().filter(char::is_ascii_alphanumeric).collect();
    k.to_uppercase()
        .chars()
        .take(if s.contains('-') { 5 } else { 9 })
        .collect()
}

#[test]
fn hard_negatives_look_alike_but_are_distinct() {
    let records = sample();
    let originals = originals_by_entity(&records);
    let mut checked: HashMap<Relation, usize> = HashMap::new();
    for r in originals.values() {
        let relation = r.provenance.relation;
        let Some(related) = r.provenance.related_entity else {
            assert_eq!(relation, Relation::None);
            continue;
        };
        let base = originals[&related];
        assert_ne!(base.entity_id, r.entity_id);
        let same_address = norm_postcode(&r.postcode) == norm_postcode(&base.postcode)
            && digits(&r.street) == digits(&base.street);
        let both_dates = !r.birth_date.is_empty() && !base.birth_date.is_empty();
        let same_birth = digits(&r.birth_date) == digits(&base.birth_date);
        let same_last = r.last_name.to_lowercase() == base.last_name.to_lowercase();
        let same_first = r.first_name.to_lowercase() == base.first_name.to_lowercase();
        let postcodes = !r.postcode.is_empty() && !base.postcode.is_empty();
        match relation {
            Relation::Household => {
                assert!(!postcodes || same_address, "{r:?}\n{base:?}");
                assert!(!same_first, "{r:?}\n{base:?}");
            }
            Relation::Twin => {
                assert!(!postcodes || same_address, "{r:?}\n{base:?}");
                assert!(same_last && !same_first, "{r:?}\n{base:?}");
                assert!(!both_dates || same_birth, "{r:?}\n{base:?}");
            }
            Relation::Junior => {
                assert!(!postcodes || same_address, "{r:?}\n{base:?}");
                assert!(same_last, "{r:?}\n{base:?}");
                assert!(!both_dates || !same_birth, "{r:?}\n{base:?}");
            }
            Relation::Namesake => assert!(same_last, "{r:?}\n{base:?}"),
            Relation::None => unreachable!(),
        }
        *checked.entry(relation).or_default() += 1;
    }
    assert!(checked.len() == 4, "{checked:?}");
}

#[test]
fn people_csv_round_trips() {
    let records = generate(&SynthConfig::new(500, 3));
    let mut buf = Vec::new();
    crm_synth::io::write_people(&records, &mut buf).unwrap();
    let mut reader = csv::Reader::from_reader(buf.as_slice());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        FIELD_NAMES.to_vec()
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), records.len());
    for (row, r) in rows.iter().zip(&records) {
        assert_eq!(row.iter().collect::<Vec<_>>(), r.fields().to_vec());
    }

    let mut truth = Vec::new();
    crm_synth::io::write_truth(&records, &mut truth).unwrap();
    let text = String::from_utf8(truth).unwrap();
    assert!(text.starts_with("id,entity_id\n"));
    assert_eq!(text.lines().count(), records.len() + 1);
}

#[test]
fn optional_fields_mark_missing_values() {
    let records = generate(&SynthConfig::new(200, 8));
    for r in &records {
        let plain = r.fields();
        for (i, v) in r.optional_fields().iter().enumerate() {
            assert_eq!(v.unwrap_or(""), plain[i]);
            assert_eq!(v.is_none(), plain[i].is_empty());
            assert_eq!(r.field(FIELD_NAMES[i]), Some(plain[i]));
        }
    }
    assert!(
        records.iter().any(|r| r.optional_fields()[4].is_none()),
        "some e-mail missing"
    );
}
