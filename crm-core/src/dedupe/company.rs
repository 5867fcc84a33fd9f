//! Duplicate detection for companies: the same Fellegi-Sunter scoring as for persons, with
//! company comparisons and a documented prior model, no EM.
//!
//! # Why a separate scorer
//!
//! Companies and persons never share a comparison vector: a company has no given name or
//! birth date, a person no web domain, and a model that scored both would let a company
//! pair with the person who runs it. Companies therefore go through their own pipeline
//! ([`dedupe_companies`], [`CompanyIndex`]) over their own records ([`CompanyRecord`]), so
//! a person can never pair with a company. The mathematics is the person engine's:
//! comparison levels ([`Comparison::COMPANY`]), `m` and `u` per level, a match weight
//! `log2(prior odds) + sum log2(m/u)`, the same clustering with its chaining guard.
//!
//! The model is the prior of [`CompanyModel::prior_model`], never EM: a tenant's companies
//! are few (tens to a few thousands), most candidate pairs are either plain duplicates or
//! plainly different, and EM on such data is unreliable (the person engine measured it:
//! see [`super::prior`]). Two classes suffice here: the household effect that needs the
//! person model's related class (people sharing an address, a phone and a surname) has no
//! strong company counterpart; subsidiaries sharing a domain under another name are
//! reported for review ([`ReviewReason::SameDomainDifferentName`]) rather than as matches.
//!
//! # What is compared
//!
//! - the name, canonical ([`normalize_company`]): legal forms of many countries removed
//!   (`GmbH & Co. KG`, `Inc.`, `S.A.`, `B.V.`, `A/S`, `Pty Ltd`, ...), case, accents and
//!   punctuation folded, `&`/`and`/`und`/`et` dropped, words sorted (so `Traders,
//!   Northwind` is `Northwind Traders`); levels exact, words contained, two Jaro-Winkler
//!   bands, different;
//! - the registrable domains of the web site and of every e-mail address, free-mail
//!   providers excluded ([`is_free_mail_domain`]); levels a shared domain, the same name
//!   under another suffix, different;
//! - phone, address and country with the person engine's levels.
//!
//! # Blocking
//!
//! Each record has several keys: the first four letters of each word of its canonical
//! name, each domain and each domain's name part, the last nine phone digits, street and
//! postcode. Records sharing a key are compared; a block over `max_block_size` records is
//! windowed by name, as for persons.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

use super::blocking::{pair_key, pair_of, BlockingLimits, BlockingStats};
use super::cluster::{self, ClusterOptions, Clusters, Edge};
use super::compare::{self, domain_name_part, level_of, Comparison, Gamma};
use super::model::{
    probability_from_weight, scored_pair, weight_from_probability, FieldComparison, ScoredPair,
    DEFAULT_THRESHOLD,
};
use super::normalize::{
    company_email_domain, normalize_address, normalize_code, normalize_company, normalize_country,
    normalize_phone, normalize_place, normalize_web_domain,
};
use super::prior::{per_other_record, PriorU};
use super::records::{Column, NormalizedPerson, NormalizedRecords, View};
use super::{DedupeConfig, MatchPair, PersonRecord, ReviewPair, ReviewReason};
use crate::error::{CrmError, Result};

#[cfg(doc)]
use super::normalize::is_free_mail_domain;

/// A company as the duplicate detector sees it. Every field but `id` is optional; empty or
/// blank values count as missing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyRecord {
    /// The caller's id of the record; unique within one call.
    pub id: String,
    /// Company name, with or without its legal form.
    pub name: Option<String>,
    /// Web site (`https://www.northwind.example`, `northwind.example`, ...).
    pub website: Option<String>,
    /// E-mail addresses (their domains count unless free-mail).
    pub emails: Vec<String>,
    /// Phone numbers, the main one first (the first that can be read is compared).
    pub phones: Vec<String>,
    /// Street line.
    pub street: Option<String>,
    /// Second address line (suite, floor).
    pub address_line2: Option<String>,
    /// Town or city.
    pub city: Option<String>,
    /// Postcode.
    pub postcode: Option<String>,
    /// County, state or region.
    pub region: Option<String>,
    /// Country (code or name).
    pub country: Option<String>,
}

impl CompanyRecord {
    /// The company a [`PersonRecord`] describes, when it describes one: no given, family
    /// or full name, but a company name (the shape in which a company customer is written
    /// as a person record). Its e-mail and phone become the company's.
    pub fn from_person_record(r: &PersonRecord) -> Option<CompanyRecord> {
        let blank = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
        if !(blank(&r.first_name) && blank(&r.last_name) && blank(&r.full_name))
            || blank(&r.company)
        {
            return None;
        }
        Some(CompanyRecord {
            id: r.id.clone(),
            name: r.company.clone(),
            website: None,
            emails: r.email.iter().cloned().collect(),
            phones: r.phone.iter().cloned().collect(),
            street: r.street.clone(),
            address_line2: r.address_line2.clone(),
            city: r.city.clone(),
            postcode: r.postcode.clone(),
            region: r.region.clone(),
            country: r.country.clone(),
        })
    }
}

/// Normalises a company into the columns the comparisons read: the canonical name in
/// [`Column::Company`], its registrable domains (sorted, space-separated) in
/// [`Column::Email`], the first readable phone, the address parts and the country.
pub fn normalize_company_record(
    r: &CompanyRecord,
    region: Option<phonenumber::country::Id>,
) -> NormalizedPerson {
    fn present(v: &Option<String>) -> Option<&str> {
        v.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    let mut domains: Vec<String> = present(&r.website)
        .and_then(normalize_web_domain)
        .into_iter()
        .chain(r.emails.iter().filter_map(|e| company_email_domain(e)))
        .collect();
    domains.sort_unstable();
    domains.dedup();
    let mut values: [Option<String>; Column::COUNT] = Default::default();
    values[Column::Company.index()] = present(&r.name).and_then(normalize_company);
    values[Column::Email.index()] = (!domains.is_empty()).then(|| domains.join(" "));
    values[Column::Phone.index()] = r
        .phones
        .iter()
        .find_map(|p| normalize_phone(p.trim(), region));
    values[Column::Street.index()] = present(&r.street).and_then(normalize_address);
    values[Column::AddressLine2.index()] = present(&r.address_line2).and_then(normalize_address);
    values[Column::City.index()] = present(&r.city).and_then(normalize_place);
    values[Column::Postcode.index()] = present(&r.postcode).and_then(normalize_code);
    values[Column::Region.index()] = present(&r.region).and_then(normalize_place);
    values[Column::Country.index()] = present(&r.country).and_then(normalize_country);
    NormalizedPerson {
        values,
        birth_date: None,
    }
}

/// The kinds of blocking key of a company.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum KeyKind {
    NameWord,
    Domain,
    DomainName,
    Phone,
    StreetPostcode,
}

fn hashed(kind: KeyKind, parts: &[&str]) -> u64 {
    let mut h = rustc_hash::FxHasher::default();
    kind.hash(&mut h);
    parts.hash(&mut h);
    h.finish()
}

/// Every blocking key of a normalised company, deduplicated.
fn keys(v: &View<'_>) -> Vec<u64> {
    let mut out = Vec::new();
    if let Some(name) = v.str(Column::Company) {
        for w in name.split(' ').filter(|w| !w.is_empty()) {
            let end = w.char_indices().nth(4).map_or(w.len(), |(i, _)| i);
            out.push(hashed(KeyKind::NameWord, &[&w[..end]]));
        }
    }
    if let Some(domains) = v.str(Column::Email) {
        for d in domains.split(' ') {
            out.push(hashed(KeyKind::Domain, &[d]));
            let name = domain_name_part(d);
            if name.len() >= 3 {
                out.push(hashed(KeyKind::DomainName, &[name]));
            }
        }
    }
    if let Some(p) = v.str(Column::Phone) {
        if p.len() >= 7 {
            let n = p.len().min(9);
            out.push(hashed(KeyKind::Phone, &[p.get(p.len() - n..).unwrap_or(p)]));
        }
    }
    if let (Some(s), Some(pc)) = (v.str(Column::Street), v.str(Column::Postcode)) {
        out.push(hashed(KeyKind::StreetPostcode, &[s, pc]));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Sort key inside an oversized block: the canonical name as base-27 letters (13 of them)
/// in a `u64`, so that similar names are neighbours.
fn name_sort_key(v: &View<'_>) -> u64 {
    let mut k: u64 = 0;
    let mut bytes = v.str(Column::Company).unwrap_or("").bytes();
    for _ in 0..13 {
        let d = match bytes.next() {
            Some(b @ b'a'..=b'z') => u64::from(b - b'a') + 1,
            Some(b @ b'0'..=b'9') => 1 + u64::from(b - b'0') * 26 / 10,
            _ => 0,
        };
        k = k * 27 + d;
    }
    k
}

/// Candidate pairs of the live records of `store` (sorted pair keys) and their count.
fn candidate_pairs(store: &NormalizedRecords, limits: BlockingLimits) -> Vec<u64> {
    let mut entries: Vec<(u64, u64, u32)> = Vec::new();
    for i in 0..store.len() as u32 {
        if !store.is_live(i) {
            continue;
        }
        let v = store.view(i);
        let sk = name_sort_key(&v);
        for k in keys(&v) {
            entries.push((k, sk, i));
        }
    }
    entries.sort_unstable();
    let mut out = Vec::new();
    let w = limits.window.max(2);
    for block in entries.chunk_by(|x, y| x.0 == y.0) {
        let s = block.len();
        if s <= limits.max_block_size {
            for i in 0..s {
                for j in i + 1..s {
                    out.push(pair_key(block[i].2, block[j].2));
                }
            }
        } else {
            for i in 0..s {
                for j in i + 1..s.min(i + w) {
                    out.push(pair_key(block[i].2, block[j].2));
                }
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Parameters of one company comparison level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyLevelParams {
    /// Level name.
    pub name: String,
    /// P(level | same company).
    pub m: f64,
    /// P(level | two different companies of this tenant).
    pub u: f64,
}

/// Parameters of one company comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyComparisonParams {
    /// The comparison (one of [`Comparison::COMPANY`]).
    pub comparison: Comparison,
    /// Non-null levels, strongest first.
    pub levels: Vec<CompanyLevelParams>,
}

/// The company model: the documented prior of [`CompanyModel::prior_model`] for a tenant
/// of [`CompanyModel::records`] companies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CompanyModel {
    /// One entry per comparison of [`Comparison::COMPANY`], in that order.
    pub comparisons: Vec<CompanyComparisonParams>,
    /// Probability that two random company records of the tenant are one company.
    pub match_probability: f64,
    /// Match probability at or above which a pair is reported.
    pub threshold: f64,
    /// Company records the model was made for.
    pub records: u64,
}

/// Average number of duplicates of one company record among the tenant's others (one in
/// ten has one, as for persons: [`super::prior::DUPLICATES_PER_RECORD`]).
pub const COMPANY_DUPLICATES_PER_RECORD: f64 = 0.1;

/// One level of the company prior: `m`, and `u` as a population share or per other record
/// (see [`super::prior`] for why identifying values scale with the tenant).
type PriorLevel = (f64, PriorU);

use PriorU::{PerOtherRecord as Per, Rest, Share};

/// Company name: `exact, words_contained, jw_0.92, jw_0.85, different`.
/// - `m`: a company's records carry the same canonical name (legal form, case, accents,
///   punctuation and word order already folded away) 0.80 of the time, one name within the
///   other (`Northwind` / `Northwind Traders`) 0.08, a typo 0.06, a looser spelling 0.03, a
///   renamed company 0.03 (Splink's default gives an exact level 0.95; names of companies
///   are written more freely than those of persons, hence less).
/// - `u`: identifying: one company in 500 has a different company of the same canonical
///   name in the same tenant (0.002 per other record), one in a hundred a name that
///   contains the other's words (0.01); by chance two names of a tenant are within
///   Jaro-Winkler 0.92 with 0.002 and 0.85 with 0.01.
///
/// With these, an exact name alone gives a match probability of about 0.98 in a tenant of
/// any size (prior odds and `u` both fall as `1/(n-1)`), which is what CRM users expect of
/// "the same company name" (Twenty's duplicate criteria for companies are the name and the
/// domain); one contradicting field (another phone, another address) brings it to about
/// 0.85-0.9.
const NAME: [PriorLevel; 5] = [
    (0.80, Per(0.002)),
    (0.08, Per(0.01)),
    (0.06, Share(0.002)),
    (0.03, Share(0.01)),
    (0.03, Rest),
];

/// Web domain: `exact, same_name_other_suffix, different`: a company's records share a
/// domain 0.80 of the time when both have one (companies keep several: a brand site, a
/// country site), the same name under another suffix 0.05; different companies share a
/// registrable domain (subsidiaries, shared hosting of a group) about once in 500 (0.002
/// per other record), the name part under another suffix as rarely.
const DOMAIN: [PriorLevel; 3] = [(0.80, Per(0.002)), (0.05, Per(0.002)), (0.15, Rest)];

/// Phone: `exact, same_last_8, one_edit, different`: the main number 0.60 (a direct line
/// or a second office otherwise: 0.25 different), the same number written with another
/// prefix 0.10, a neighbouring extension of the same switchboard or a typo 0.05; different
/// companies share a number (a shared office, a group switchboard) 0.003 per other record,
/// the last eight digits 0.001, one digit off 0.002.
const PHONE: [PriorLevel; 4] = [
    (0.60, Per(0.003)),
    (0.10, Per(0.001)),
    (0.05, Per(0.002)),
    (0.25, Rest),
];

/// Address: `street_and_postcode, street_and_city, postcode,
/// same_street_elsewhere_or_other_flat, city, area, different`: the same street and
/// postcode 0.70 (companies move, open branches: 0.11 different), street and city 0.05,
/// postcode 0.04, another suite of the building 0.03, the city 0.05, the area 0.02.
/// Different companies share a building more often than different people (business parks,
/// office towers): 0.01 per other record for the street and postcode, 0.005 for street and
/// city; the same postcode 0.005; another number or suite on the same street 0.005 (an
/// industrial estate), the same city and the same area 0.1 each (many tenants are local).
/// "Same street" levels need the same house number ([`company_gamma`]).
const ADDRESS: [PriorLevel; 7] = [
    (0.70, Per(0.01)),
    (0.05, Per(0.005)),
    (0.04, Share(0.005)),
    (0.03, Share(0.005)),
    (0.05, Share(0.1)),
    (0.02, Share(0.1)),
    (0.11, Rest),
];

/// Country: `exact, different`: 0.98 of a company's records name one country (a foreign
/// subsidiary otherwise); most tenants serve one country (0.8 by chance).
const COUNTRY: [PriorLevel; 2] = [(0.98, Share(0.8)), (0.02, Rest)];

fn company_levels(c: Comparison) -> &'static [PriorLevel] {
    match c {
        Comparison::CompanyName => &NAME,
        Comparison::WebDomain => &DOMAIN,
        Comparison::Phone => &PHONE,
        Comparison::Address => &ADDRESS,
        Comparison::Country => &COUNTRY,
        _ => &[],
    }
}

impl CompanyModel {
    /// The prior company model for a tenant of `records` company records, reporting pairs
    /// at `threshold` (values and reasons in the level tables of this module).
    pub fn prior_model(records: u64, threshold: f64) -> CompanyModel {
        let comparisons = Comparison::COMPANY
            .iter()
            .map(|&c| {
                let prior = company_levels(c);
                let mut u: Vec<f64> = prior
                    .iter()
                    .map(|(_, u)| match *u {
                        Share(x) => x,
                        Per(k) => per_other_record(k, records),
                        Rest => 0.0,
                    })
                    .collect();
                let used: f64 = u.iter().sum();
                for (v, (_, p)) in u.iter_mut().zip(prior) {
                    if *p == Rest {
                        *v = (1.0 - used).max(1e-6);
                    }
                }
                let sum: f64 = u.iter().sum();
                CompanyComparisonParams {
                    comparison: c,
                    levels: c
                        .levels()
                        .iter()
                        .zip(prior)
                        .zip(&u)
                        .map(|((name, (m, _)), &u)| CompanyLevelParams {
                            name: (*name).to_string(),
                            m: *m,
                            u: u / sum,
                        })
                        .collect(),
                }
            })
            .collect();
        CompanyModel {
            comparisons,
            match_probability: per_other_record(COMPANY_DUPLICATES_PER_RECORD, records).min(0.45),
            threshold,
            records,
        }
    }

    /// Checks that the model fits this version of the library: one entry per company
    /// comparison with its levels, probabilities in range.
    pub fn validate(&self) -> Result<()> {
        let bad = |reason: String| Err(CrmError::validation("company_model", reason));
        if self.comparisons.len() != Comparison::COMPANY.len() {
            return bad(format!(
                "has {} comparisons, expected {}",
                self.comparisons.len(),
                Comparison::COMPANY.len()
            ));
        }
        for (p, c) in self.comparisons.iter().zip(Comparison::COMPANY) {
            if p.comparison != c || p.levels.len() != c.levels().len() {
                return bad(format!(
                    "comparison {} does not match this version",
                    c.name()
                ));
            }
            if p.levels
                .iter()
                .any(|l| !(l.m > 0.0 && l.m <= 1.0 && l.u > 0.0 && l.u <= 1.0))
            {
                return bad(format!("comparison {} has m or u outside (0, 1]", c.name()));
            }
        }
        let in_unit = |x: f64| x > 0.0 && x < 1.0;
        if !(in_unit(self.match_probability) && in_unit(self.threshold)) {
            return bad("match probability and threshold must lie in (0, 1)".into());
        }
        Ok(())
    }

    /// `m/u` of level `level` (1-based; 0 = null gives 1.0) of comparison `c`.
    pub fn bayes_factor(&self, c: Comparison, level: u8) -> f64 {
        if level == 0 {
            return 1.0;
        }
        self.comparisons
            .iter()
            .find(|p| p.comparison == c)
            .and_then(|p| p.levels.get(usize::from(level) - 1))
            .map_or(1.0, |l| l.m / l.u)
    }
}

/// Scoring tables of a [`CompanyModel`].
#[derive(Debug, Clone)]
struct CompanyScorer {
    /// `log2(m/u)` per comparison index and level.
    weights: [[f64; 16]; 16],
    /// `log2` prior odds.
    base: f64,
}

impl CompanyScorer {
    fn new(model: &CompanyModel) -> Self {
        let mut weights = [[0.0; 16]; 16];
        for p in &model.comparisons {
            for (k, l) in p.levels.iter().enumerate() {
                if let Some(row) = weights.get_mut(p.comparison.index()) {
                    row[k + 1] = (l.m.max(1e-300) / l.u.max(1e-300)).log2();
                }
            }
        }
        let p = model.match_probability.clamp(1e-15, 1.0 - 1e-9);
        Self {
            weights,
            base: (p / (1.0 - p)).log2(),
        }
    }

    fn weight(&self, g: Gamma) -> f64 {
        Comparison::COMPANY.iter().fold(self.base, |w, &c| {
            w + self.weights[c.index()][usize::from(level_of(g, c))]
        })
    }

    fn explain(&self, g: Gamma) -> Vec<FieldComparison> {
        Comparison::COMPANY
            .iter()
            .map(|&c| {
                let l = level_of(g, c);
                let weight = self.weights[c.index()][usize::from(l)];
                FieldComparison {
                    field: c,
                    level: c.level_name(l),
                    bayes_factor: weight.exp2(),
                    weight,
                    tf_adjustment: 0.0,
                }
            })
            .collect()
    }

    fn scored(&self, a: String, b: String, g: Gamma) -> ScoredPair {
        scored_pair(a, b, self.weight(g), self.base, self.explain(g))
    }
}

/// The house number of a canonical street line: its first run of digits.
fn house_number(street: &str) -> Option<&str> {
    let start = street.find(|c: char| c.is_ascii_digit())?;
    let rest = &street[start..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// The comparison vector of two normalised companies. The address levels that say "same
/// street" (street and postcode, street and city) require the same house number when both
/// have one: companies line the same commercial street (`Industriestraße 2` and
/// `Industriestraße 11` are two buildings), so another number is "the same street
/// elsewhere".
fn company_gamma(a: &View<'_>, b: &View<'_>) -> Gamma {
    let mut g = compare::gamma_of(&Comparison::COMPANY, a, b);
    let shift = 4 * Comparison::Address.index();
    if matches!(level_of(g, Comparison::Address), 1 | 2) {
        let numbers = (
            a.str(Column::Street).and_then(house_number),
            b.str(Column::Street).and_then(house_number),
        );
        if let (Some(x), Some(y)) = numbers {
            if x != y {
                g = (g & !(0xF << shift)) | (4 << shift);
            }
        }
    }
    g
}

impl ReviewReason {
    /// The review reason of a company pair below the threshold: a shared domain while the
    /// names are at best loosely alike (or one is missing).
    pub fn for_company_pair(g: Gamma) -> Option<ReviewReason> {
        let name = level_of(g, Comparison::CompanyName);
        (level_of(g, Comparison::WebDomain) == 1 && (name == 0 || name >= 4))
            .then_some(ReviewReason::SameDomainDifferentName)
    }
}

/// What [`dedupe_companies`] found.
#[derive(Debug, Clone)]
pub struct CompanyOutcome {
    /// Pairs at or above `threshold`, sorted by `(a, b)`.
    pub pairs: Vec<MatchPair>,
    /// Candidate pairs below the threshold sharing a domain under different names.
    pub review: Vec<ReviewPair>,
    /// A partition of all records.
    pub clusters: Clusters,
    /// Candidate and total pair counts (`per_rule` is empty: company keys are not the
    /// person [`BlockingRule`](super::BlockingRule)s).
    pub stats: BlockingStats,
    /// The model that scored the pairs.
    pub model: CompanyModel,
    /// The threshold applied.
    pub threshold: f64,
    /// The candidate pairs as sorted pair keys.
    pub candidates: Vec<u64>,
    /// The normalised records (index `i` is input record `i`).
    pub records: NormalizedRecords,
}

impl CompanyOutcome {
    /// The pair with ids and a per-field explanation; `records` is the input slice.
    pub fn scored_pair(&self, records: &[CompanyRecord], p: &MatchPair) -> ScoredPair {
        let id = |i: u32| {
            records
                .get(i as usize)
                .map_or_else(String::new, |r| r.id.clone())
        };
        CompanyScorer::new(&self.model).scored(id(p.a), id(p.b), p.gamma)
    }
}

/// Checks ids: non-empty and unique.
fn check_ids(records: &[CompanyRecord]) -> Result<FxHashMap<String, u32>> {
    let mut by_id: FxHashMap<String, u32> = FxHashMap::default();
    by_id.reserve(records.len());
    if records.len() >= (u32::MAX - 1) as usize {
        return Err(CrmError::validation(
            "records",
            "more than u32::MAX - 1 records",
        ));
    }
    for (i, r) in records.iter().enumerate() {
        if r.id.trim().is_empty() {
            return Err(CrmError::validation(
                format!("records[{i}].id"),
                "must not be empty",
            ));
        }
        if by_id.insert(r.id.clone(), i as u32).is_some() {
            return Err(CrmError::validation(
                format!("records[{i}].id"),
                format!("{:?} appears more than once", r.id),
            ));
        }
    }
    Ok(by_id)
}

fn normalise_all(
    records: &[CompanyRecord],
    region: Option<phonenumber::country::Id>,
) -> NormalizedRecords {
    let mut store = NormalizedRecords::with_capacity(records.len());
    for r in records {
        store.push(&normalize_company_record(r, region));
    }
    store
}

/// Finds duplicates among companies: normalise, block, compare, score with the prior
/// company model for this many records, cluster. From `config` it uses the phone region,
/// the blocking limits, the threshold (default [`DEFAULT_THRESHOLD`]) and the cluster lower
/// bound; the person settings (rules, training, model, labelled pairs) do not apply.
///
/// Fails with [`CrmError::Validation`] for a bad config or an empty or repeated id.
pub fn dedupe_companies(
    records: &[CompanyRecord],
    config: &DedupeConfig,
) -> Result<CompanyOutcome> {
    config.validate()?;
    check_ids(records)?;
    let store = normalise_all(records, config.region());
    let threshold = config.threshold.unwrap_or(DEFAULT_THRESHOLD);
    let model = CompanyModel::prior_model(store.live_count() as u64, threshold);
    let scorer = CompanyScorer::new(&model);
    let candidates = candidate_pairs(&store, config.limits);
    let lower = config.cluster_lower_bound.min(threshold);
    let lower_w = weight_from_probability(lower);
    let mut pairs = Vec::new();
    let mut review = Vec::new();
    let mut edges = Vec::new();
    for &k in &candidates {
        let (a, b) = pair_of(k);
        let g = company_gamma(&store.view(a), &store.view(b));
        let w = scorer.weight(g);
        let p = probability_from_weight(w);
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
        } else if let Some(reason) = ReviewReason::for_company_pair(g) {
            review.push(ReviewPair { pair, reason });
        }
    }
    let clusters = cluster::cluster(
        records.len(),
        &edges,
        ClusterOptions {
            threshold,
            lower_bound: lower,
        },
        &mut |a, b| {
            probability_from_weight(scorer.weight(company_gamma(&store.view(a), &store.view(b))))
        },
    );
    let n = store.live_count() as u64;
    let total_pairs = n * n.saturating_sub(1) / 2;
    let stats = BlockingStats {
        candidate_pairs: candidates.len() as u64,
        total_pairs,
        reduction_ratio: if total_pairs == 0 {
            1.0
        } else {
            1.0 - candidates.len() as f64 / total_pairs as f64
        },
        per_rule: Vec::new(),
    };
    Ok(CompanyOutcome {
        pairs,
        review,
        clusters,
        stats,
        model,
        threshold,
        candidates,
        records: store,
    })
}

/// Incremental company lookups: the company counterpart of
/// [`DedupeIndex`](super::DedupeIndex), with the same candidates and scores as
/// [`dedupe_companies`] over the same records.
#[derive(Debug, Clone)]
pub struct CompanyIndex {
    model: CompanyModel,
    limits: BlockingLimits,
    region: Option<phonenumber::country::Id>,
    threshold: f64,
    store: NormalizedRecords,
    ids: Vec<String>,
    by_id: FxHashMap<String, u32>,
    /// Key -> `(name sort key, record)`, sorted.
    postings: FxHashMap<u64, Vec<(u64, u32)>>,
}

impl CompanyIndex {
    /// An empty index scoring with `model`; region, blocking limits and threshold come from
    /// `config` (threshold: `config.threshold` or the model's).
    pub fn new(model: CompanyModel, config: &DedupeConfig) -> Result<Self> {
        config.validate()?;
        model.validate()?;
        Ok(Self {
            threshold: config.threshold.unwrap_or(model.threshold),
            model,
            limits: config.limits,
            region: config.region(),
            store: NormalizedRecords::new(),
            ids: Vec::new(),
            by_id: FxHashMap::default(),
            postings: FxHashMap::default(),
        })
    }

    /// An index over `records`, with the prior model for their number.
    pub fn build(records: &[CompanyRecord], config: &DedupeConfig) -> Result<Self> {
        let model = CompanyModel::prior_model(
            records.len() as u64,
            config.threshold.unwrap_or(DEFAULT_THRESHOLD),
        );
        let mut idx = Self::new(model, config)?;
        idx.by_id = check_ids(records)?;
        idx.store = normalise_all(records, idx.region);
        idx.ids = records.iter().map(|r| r.id.clone()).collect();
        idx.link_all();
        Ok(idx)
    }

    /// An index from a batch result, reusing its normalised records and model; `records`
    /// is the slice passed to [`dedupe_companies`].
    pub fn from_outcome(
        records: &[CompanyRecord],
        outcome: CompanyOutcome,
        config: &DedupeConfig,
    ) -> Result<Self> {
        if records.len() != outcome.records.len() {
            return Err(CrmError::validation(
                "records",
                "must be the slice the outcome was computed from",
            ));
        }
        let mut idx = Self::new(outcome.model, config)?;
        idx.by_id = check_ids(records)?;
        idx.store = outcome.records;
        idx.ids = records.iter().map(|r| r.id.clone()).collect();
        idx.link_all();
        Ok(idx)
    }

    fn link_all(&mut self) {
        for i in 0..self.store.len() as u32 {
            if self.store.is_live(i) {
                self.link(i);
            }
        }
    }

    fn link(&mut self, i: u32) {
        let v = self.store.view(i);
        let sk = name_sort_key(&v);
        for k in keys(&v) {
            let list = self.postings.entry(k).or_default();
            let pos = list.partition_point(|e| *e < (sk, i));
            list.insert(pos, (sk, i));
        }
    }

    fn unlink(&mut self, i: u32) {
        let v = self.store.view(i);
        let sk = name_sort_key(&v);
        for k in keys(&v) {
            if let Some(list) = self.postings.get_mut(&k) {
                if let Ok(pos) = list.binary_search(&(sk, i)) {
                    list.remove(pos);
                }
                if list.is_empty() {
                    self.postings.remove(&k);
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
    pub fn model(&self) -> &CompanyModel {
        &self.model
    }

    /// The threshold of [`CompanyIndex::matches_for`].
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// Adds `record`, replacing a record with the same id.
    pub fn insert(&mut self, record: &CompanyRecord) -> Result<()> {
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
            .push(&normalize_company_record(record, self.region));
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

    /// Candidate records of a query view, as batch blocking would pair them.
    fn candidates(&self, v: &View<'_>, self_idx: Option<u32>) -> Vec<u32> {
        let sk = name_sort_key(v);
        let reach = self.limits.window.max(2) - 1;
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        let mut out = Vec::new();
        for k in keys(v) {
            let Some(list) = self.postings.get(&k) else {
                continue;
            };
            let block = list.len() + usize::from(self_idx.is_none());
            let mut take = |i: u32| {
                if Some(i) != self_idx && seen.insert(i) {
                    out.push(i);
                }
            };
            if block <= self.limits.max_block_size {
                list.iter().for_each(|e| take(e.1));
            } else {
                let me = (sk, self_idx.unwrap_or(u32::MAX));
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

    /// Every candidate of `record` with its comparison vector and weight.
    fn compared(&self, record: &CompanyRecord) -> Vec<(u32, Gamma, f64)> {
        let q = normalize_company_record(record, self.region);
        let qv = self.store.query_view(&q);
        let self_idx = self.by_id.get(record.id.as_str()).copied();
        let scorer = CompanyScorer::new(&self.model);
        self.candidates(&qv, self_idx)
            .into_iter()
            .map(|i| {
                let g = company_gamma(&qv, &self.store.view(i));
                (i, g, scorer.weight(g))
            })
            .collect()
    }

    /// Stored companies matching `record` at or above the threshold, best first (a record
    /// with the query's id is skipped).
    pub fn matches_for(&self, record: &CompanyRecord) -> Vec<ScoredPair> {
        self.scored(record, self.threshold)
    }

    /// Every candidate of `record` scored at or above `min_probability`, best first.
    pub fn scored(&self, record: &CompanyRecord, min_probability: f64) -> Vec<ScoredPair> {
        let scorer = CompanyScorer::new(&self.model);
        let mut out: Vec<ScoredPair> = self
            .compared(record)
            .into_iter()
            .filter(|&(_, _, w)| probability_from_weight(w) >= min_probability)
            .map(|(i, g, _)| scorer.scored(record.id.clone(), self.ids[i as usize].clone(), g))
            .collect();
        sort_best_first(&mut out);
        out
    }

    /// Stored companies below the threshold that share a domain with `record` under another
    /// name, best first, with the reason.
    pub fn review_for(&self, record: &CompanyRecord) -> Vec<(ScoredPair, ReviewReason)> {
        let scorer = CompanyScorer::new(&self.model);
        let mut out: Vec<(ScoredPair, ReviewReason)> = self
            .compared(record)
            .into_iter()
            .filter(|&(_, _, w)| probability_from_weight(w) < self.threshold)
            .filter_map(|(i, g, _)| {
                let reason = ReviewReason::for_company_pair(g)?;
                Some((
                    scorer.scored(record.id.clone(), self.ids[i as usize].clone(), g),
                    reason,
                ))
            })
            .collect();
        out.sort_by(|x, y| {
            y.0.match_weight
                .total_cmp(&x.0.match_weight)
                .then_with(|| x.0.b.cmp(&y.0.b))
        });
        out
    }
}

/// Sorts scored pairs best first (ties by the other record's id).
pub(crate) fn sort_best_first(out: &mut [ScoredPair]) {
    out.sort_by(|x, y| {
        y.match_weight
            .total_cmp(&x.match_weight)
            .then_with(|| x.b.cmp(&y.b))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn company(id: &str, name: &str) -> CompanyRecord {
        CompanyRecord {
            id: id.into(),
            name: Some(name.into()),
            ..Default::default()
        }
    }

    /// `n` distinct companies (distinct names, domains, phones and streets) plus the
    /// given records.
    fn tenant(n: usize, extra: Vec<CompanyRecord>) -> Vec<CompanyRecord> {
        const A: &[&str] = &[
            "Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Ginkgo", "Hazel", "Ironwood",
            "Juniper", "Kapok", "Larch", "Maple", "Nutmeg", "Olive", "Poplar", "Quince", "Rowan",
            "Spruce", "Tamarind",
        ];
        const B: &[&str] = &[
            "Logistics",
            "Bakery",
            "Consulting",
            "Dental",
            "Electric",
            "Foods",
            "Garage",
            "Hotels",
            "Insurance",
            "Joinery",
            "Kitchens",
            "Lighting",
            "Media",
            "Nursery",
            "Optics",
            "Printing",
        ];
        let mut out: Vec<CompanyRecord> = (0..n)
            .map(|i| {
                let name = format!("{} {} {}", A[i % A.len()], B[(i / A.len()) % B.len()], i);
                CompanyRecord {
                    id: format!("c{i}"),
                    name: Some(format!("{name} GmbH")),
                    website: Some(format!("https://www.company{i}.example")),
                    emails: vec![format!("info@company{i}.example")],
                    phones: vec![format!("+49 30 {:07}", 1_000_000 + i * 7919)],
                    street: Some(format!("Industriestrasse {}", i + 1)),
                    postcode: Some(format!("{:05}", 10_000 + i)),
                    city: Some("Berlin".into()),
                    ..Default::default()
                }
            })
            .collect();
        out.extend(extra);
        out
    }

    fn pair_ids(records: &[CompanyRecord], o: &CompanyOutcome) -> Vec<(String, String)> {
        o.pairs
            .iter()
            .map(|p| {
                (
                    records[p.a as usize].id.clone(),
                    records[p.b as usize].id.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn near_identical_names_pair_in_small_and_large_tenants() {
        for n in [0usize, 2, 10, 100, 2_000] {
            for (x, y) in [
                (
                    "Müller Haustechnik GmbH",
                    "MÜLLER HAUSTECHNIK GMBH & Co. KG",
                ),
                ("Northwind Traders", "Northwind Traders Inc."),
            ] {
                let records = tenant(n, vec![company("x", x), company("y", y)]);
                let o = dedupe_companies(&records, &DedupeConfig::default()).unwrap();
                assert_eq!(
                    pair_ids(&records, &o),
                    [("x".to_string(), "y".to_string())],
                    "n={n} {x} / {y}"
                );
                let p = o.pairs[0].probability;
                assert!(p >= 0.9, "n={n}: {p}");
                let sp = o.scored_pair(&records, &o.pairs[0]);
                let name = &sp.explanation[3];
                assert_eq!((name.field, name.level), (Comparison::CompanyName, "exact"));
                // The index built from the outcome finds the same.
                let config = DedupeConfig::default();
                let index = CompanyIndex::from_outcome(&records, o, &config).unwrap();
                let found = index.matches_for(&company("probe", x));
                assert!(found.iter().any(|m| m.b == "y"), "n={n} {found:?}");
            }
        }
    }

    #[test]
    fn domains_and_phones_pair_companies_with_other_names() {
        let mut a = company("a", "NW Traders");
        a.website = Some("http://northwind.example/".into());
        a.phones = vec!["+1 206 555 0100".into()];
        let mut b = company("b", "Northwind Trading Company");
        b.emails = vec!["orders@northwind.example".into()];
        b.phones = vec!["+12065550100".into()];
        // Free-mail domains never count.
        let mut c = company("c", "Alpha Bakery");
        c.emails = vec!["alpha.bakery@gmail.com".into()];
        let mut d = company("d", "Omega Florist");
        d.emails = vec!["omega.florist@gmail.com".into()];
        let records = tenant(50, vec![a, b, c, d]);
        let o = dedupe_companies(&records, &DedupeConfig::default()).unwrap();
        assert_eq!(pair_ids(&records, &o), [("a".into(), "b".into())]);
        let d_idx = records.iter().position(|r| r.id == "d").unwrap() as u32;
        assert!(!o.candidates.iter().any(|&k| {
            let (x, y) = pair_of(k);
            x == d_idx || y == d_idx
        }));
    }

    #[test]
    fn shared_domain_under_another_name_is_for_review() {
        for n in [0usize, 20, 500] {
            let mut a = company("a", "Contoso Pharma");
            a.website = Some("contoso.example".into());
            let mut b = company("b", "Fabrikam Research");
            b.emails = vec!["lab@contoso.example".into()];
            let records = tenant(n, vec![a, b]);
            let o = dedupe_companies(&records, &DedupeConfig::default()).unwrap();
            assert!(o.pairs.is_empty(), "n={n}: {:?}", pair_ids(&records, &o));
            assert_eq!(o.review.len(), 1, "n={n}");
            assert_eq!(o.review[0].reason, ReviewReason::SameDomainDifferentName);
        }
    }

    #[test]
    fn another_house_number_is_another_building() {
        let at = |id: &str, name: &str, street: &str| CompanyRecord {
            street: Some(street.into()),
            postcode: Some("70565".into()),
            city: Some("Stuttgart".into()),
            ..company(id, name)
        };
        let mut store = NormalizedRecords::new();
        let a = store.push(&normalize_company_record(
            &at("a", "Alpha", "Industriestraße 2"),
            None,
        ));
        let b = store.push(&normalize_company_record(
            &at("b", "Beta", "Industriestraße 11"),
            None,
        ));
        let c = store.push(&normalize_company_record(
            &at("c", "Gamma", "Industriestrasse 2"),
            None,
        ));
        let level = |x: u32, y: u32| {
            level_of(
                company_gamma(&store.view(x), &store.view(y)),
                Comparison::Address,
            )
        };
        assert_eq!(level(a, b), 4);
        assert_eq!(level(a, c), 1);
        assert_eq!(house_number("industriestr 11 b"), Some("11"));
        assert_eq!(house_number("main st"), None);
    }

    #[test]
    fn different_companies_do_not_pair() {
        let records = tenant(
            300,
            vec![
                company("x", "Northwind Traders"),
                company("y", "Northwind Logistics"),
                company("z", "Southwind Traders"),
            ],
        );
        let o = dedupe_companies(&records, &DedupeConfig::default()).unwrap();
        assert!(o.pairs.is_empty(), "{:?}", pair_ids(&records, &o));
        assert_eq!(o.clusters.groups().len(), 0);
    }

    #[test]
    fn index_candidates_equal_batch_candidates() {
        let mut extra = vec![
            company("x", "Müller Haustechnik GmbH"),
            company("y", "Mueller Haustechnik"),
        ];
        // A large block of one word, windowed.
        for i in 0..40 {
            extra.push(company(
                &format!("w{i}"),
                &format!("Alder Logistics Branch {i}"),
            ));
        }
        let records = tenant(120, extra);
        let config = DedupeConfig {
            limits: BlockingLimits {
                max_block_size: 8,
                window: 3,
            },
            ..Default::default()
        };
        let o = dedupe_companies(&records, &config).unwrap();
        let batch: FxHashSet<u64> = o.candidates.iter().copied().collect();
        let expected: FxHashSet<(String, String)> = pair_ids(&records, &o).into_iter().collect();
        let index = CompanyIndex::build(&records, &config).unwrap();
        let mut from_index = FxHashSet::default();
        let mut matched = FxHashSet::default();
        for (i, r) in records.iter().enumerate() {
            let q = normalize_company_record(r, None);
            for j in index.candidates(&index.store.query_view(&q), Some(i as u32)) {
                from_index.insert(pair_key(i as u32, j));
            }
            for m in index.matches_for(r) {
                let (a, b) = if m.a < m.b { (m.a, m.b) } else { (m.b, m.a) };
                matched.insert((a, b));
            }
        }
        assert_eq!(from_index, batch);
        let expected: FxHashSet<(String, String)> = expected
            .into_iter()
            .map(|(a, b)| if a < b { (a, b) } else { (b, a) })
            .collect();
        assert_eq!(matched, expected);
    }

    #[test]
    fn index_insert_remove_and_person_shaped_queries() {
        let config = DedupeConfig::default();
        let mut index = CompanyIndex::build(&tenant(30, vec![]), &config).unwrap();
        index.insert(&company("acme", "ACME Corp.")).unwrap();
        let probe = PersonRecord {
            id: "probe".into(),
            company: Some("Acme Corporation".into()),
            ..Default::default()
        };
        let q = CompanyRecord::from_person_record(&probe).unwrap();
        assert_eq!(index.matches_for(&q)[0].b, "acme");
        // A person record with a name is a person, not a company.
        let person = PersonRecord {
            first_name: Some("Ann".into()),
            ..probe.clone()
        };
        assert_eq!(CompanyRecord::from_person_record(&person), None);
        assert!(index.remove("acme"));
        assert!(index.matches_for(&q).is_empty());
        assert!(matches!(
            index.insert(&company(" ", "x")),
            Err(CrmError::Validation { field, .. }) if field == "id"
        ));
        assert!(matches!(
            dedupe_companies(&[company("a", "x"), company("a", "y")], &config),
            Err(CrmError::Validation { field, .. }) if field == "records[1].id"
        ));
    }

    proptest::proptest! {
        /// The prior company model is valid for any size, and an exact name alone gives the
        /// same probability whatever the size.
        #[test]
        fn company_prior_is_valid_and_size_free(n in 0u64..10_000_000) {
            let m = CompanyModel::prior_model(n, 0.9);
            proptest::prop_assert!(m.validate().is_ok());
            let s = CompanyScorer::new(&m);
            let g = Gamma::from(1u8) << (4 * Comparison::CompanyName.index());
            let p = probability_from_weight(s.weight(g));
            proptest::prop_assert!(p > 0.95 && p < 0.99, "n={} p={}", n, p);
        }

        /// Normalising and comparing arbitrary company records never panics, and a record
        /// compared with itself agrees on every field it has.
        #[test]
        fn company_records_never_panic(name in "\\PC{0,30}", site in "\\PC{0,30}", mail in "\\PC{0,30}", phone in "[0-9 +]{0,16}") {
            let r = CompanyRecord {
                id: "r".into(),
                name: Some(name),
                website: Some(site),
                emails: vec![mail],
                phones: vec![phone],
                ..Default::default()
            };
            let n = normalize_company_record(&r, None);
            let mut store = NormalizedRecords::new();
            let i = store.push(&n);
            let j = store.push(&n);
            let g = company_gamma(&store.view(i), &store.view(j));
            for c in Comparison::COMPANY {
                let l = level_of(g, c);
                proptest::prop_assert!(l <= 1, "{:?} level {}", c, l);
            }
        }
    }
}
