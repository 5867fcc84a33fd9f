//! The generator: people (entities) with realistic attributes, one clean record each, and
//! corrupted duplicates of some of them, shuffled and given opaque ids.
//!
//! Each entity is a `Person`. Its original record is rendered through a `View` (the record's
//! layout choices: phone layout, date layout, abbreviations, which fields the source left
//! empty). A duplicate starts from a copy of the original's view, has one to five corruptions
//! applied to the view (or, for typos in non-name fields, to the rendered text) and is
//! rendered again; so a duplicate with no corruption is an exact copy, as happens when a
//! record is imported twice.
//!
//! Hard negatives are entities derived from a recent entity (kept in a small ring): household
//! members, twins, juniors and namesakes. The whole output is a function of the config.

use crate::data::{
    keyboard_neighbours, COMPANY_TRADES, COMPANY_WORDS, EMAIL_DOMAINS_GB, EMAIL_DOMAINS_US,
    EMAIL_TAGS, FEMALE_FIRST, GB_CITIES, GB_SUFFIXES, LINE2_KINDS, MALE_FIRST, NICKNAMES,
    NINO_FIRST, NINO_SECOND, POSTCODE_LETTERS, STREET_NAMES, STREET_TYPES, SURNAMES, SURNAME_CODAS,
    SURNAME_MIDDLES, SURNAME_ONSETS, US_CITIES, US_SUFFIXES,
};
use crate::record::{Corruption, Corruptions, Provenance, Relation, SynthRecord};
use crate::rng::{splitmix64, Rng, Weighted};
use std::sync::atomic::{AtomicUsize, Ordering};

/// What to generate. Build with [`SynthConfig::new`] and adjust the public fields.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    /// Number of distinct people.
    pub entities: usize,
    /// Seed: equal configs give byte-identical output.
    pub seed: u64,
    /// Relative weights of an entity having 0, 1, 2, 3 or 4 duplicates. The default
    /// (63/27/7/2/1) gives about 1.5 records per entity.
    pub duplicate_weights: [f64; 5],
    /// Share of entities created as a household member of an earlier entity.
    pub household_rate: f64,
    /// Share of entities created as the twin of an earlier entity.
    pub twin_rate: f64,
    /// Share of entities created as the junior (or senior) of an earlier entity.
    pub junior_rate: f64,
    /// Share of entities created with the same name as an earlier entity.
    pub namesake_rate: f64,
    /// Share of entities living in the United States (the rest live in Great Britain).
    pub us_share: f64,
    /// Shuffle the records so that file order says nothing about entities.
    pub shuffle: bool,
    /// Worker threads (0: one per available core). The output does not depend on it.
    pub threads: usize,
}

impl SynthConfig {
    /// The default mix for `entities` people and `seed`.
    #[must_use]
    pub fn new(entities: usize, seed: u64) -> Self {
        Self {
            entities,
            seed,
            duplicate_weights: [63.0, 27.0, 7.0, 2.0, 1.0],
            household_rate: 0.10,
            twin_rate: 0.005,
            junior_rate: 0.005,
            namesake_rate: 0.02,
            us_share: 0.35,
            shuffle: true,
            threads: 0,
        }
    }
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self::new(10_000, 42)
    }
}

/// Entities generated from one random stream. Chunks are generated in parallel; the output
/// depends on the seed and this constant only, never on the number of threads.
const CHUNK: usize = 1 << 16;

/// Generates the data set described by `config`: about 1.5 records per entity, shuffled,
/// with ids `r0000000`, `r0000001`, ... in output order.
///
/// Work is split into chunks of 65,536 entities, each with its own random stream (derived
/// from the seed and the chunk number) and generated on the available cores; hard negatives
/// are derived from recent entities of the same chunk.
#[must_use]
pub fn generate(config: &SynthConfig) -> Vec<SynthRecord> {
    let chunks = config.entities.div_ceil(CHUNK);
    let threads = if config.threads > 0 {
        config.threads
    } else {
        std::thread::available_parallelism().map_or(1, usize::from)
    };
    let threads = threads.min(chunks).max(1);
    let next = AtomicUsize::new(0);
    let mut parts: Vec<(usize, Vec<SynthRecord>, Vec<Option<usize>>)> =
        std::thread::scope(|scope| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| {
                        let mut done = Vec::new();
                        loop {
                            let chunk = next.fetch_add(1, Ordering::Relaxed);
                            if chunk >= chunks {
                                return done;
                            }
                            let start = chunk * CHUNK;
                            let end = (start + CHUNK).min(config.entities);
                            let mut g = Generator::new(config, chunk as u64);
                            let capacity = (end - start) * 8 / 5 + 16;
                            let mut records = Vec::with_capacity(capacity);
                            let mut original_of = Vec::with_capacity(capacity);
                            for entity in start..end {
                                g.entity(entity as u64, &mut records, &mut original_of);
                            }
                            done.push((chunk, records, original_of));
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        });
    parts.sort_unstable_by_key(|p| p.0);

    let total: usize = parts.iter().map(|p| p.1.len()).sum();
    let mut records: Vec<SynthRecord> = Vec::with_capacity(total);
    // Index (in `records`) of each record's original, for duplicates.
    let mut original_of: Vec<Option<usize>> = Vec::with_capacity(total);
    for (_, part, originals) in parts {
        let offset = records.len();
        original_of.extend(originals.into_iter().map(|o| o.map(|i| i + offset)));
        records.extend(part);
    }

    let mut rng = Rng::new(config.seed ^ 0x5348_5546_464C_4521);
    let n = records.len();
    let mut order: Vec<usize> = (0..n).collect();
    if config.shuffle {
        rng.shuffle(&mut order);
    }
    // order[new] = old; position[old] = new.
    let mut position = vec![0usize; n];
    for (new, &old) in order.iter().enumerate() {
        position[old] = new;
    }
    let width = n.saturating_sub(1).to_string().len().max(7);
    // `format!("r{pos:0width$}")`, without the formatting machinery (3M calls at 1M entities).
    let id_of = |pos: usize| {
        let mut digits = [b'0'; 20];
        let mut at = digits.len();
        let mut rest = pos;
        loop {
            at -= 1;
            digits[at] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        let start = (digits.len() - width).min(at);
        let mut id = String::with_capacity(1 + digits.len() - start);
        id.push('r');
        id.extend(digits[start..].iter().map(|&b| b as char));
        id
    };
    for (old, record) in records.iter_mut().enumerate() {
        record.id = id_of(position[old]);
        if let Some(orig) = original_of[old] {
            record.provenance.duplicate_of = Some(id_of(position[orig]));
        }
    }
    // Apply the permutation in place (cycle by cycle), without a second copy of the records.
    for i in 0..n {
        while position[i] != i {
            let j = position[i];
            records.swap(i, j);
            position.swap(i, j);
        }
    }
    records
}

// ---------------------------------------------------------------------------------------------
// People

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Date {
    y: u16,
    m: u8,
    d: u8,
}

fn is_leap(y: u16) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl Date {
    fn clamped(y: u16, m: u8, d: u8) -> Self {
        Self {
            y,
            m,
            d: d.min(days_in_month(y, m)),
        }
    }
}

#[derive(Debug, Clone)]
struct Phone {
    us: bool,
    /// National significant number: no trunk 0, no country code.
    digits: String,
    /// Lengths of the spaced groups of `digits` (0 = unused).
    groups: [u8; 3],
}

#[derive(Debug, Clone)]
struct Address {
    number: u32,
    street: &'static str,
    kind: usize,
    line2: Option<(usize, u32)>,
    city: usize,
    /// GB: `SW11 4AB`; US: five-digit ZIP.
    postcode: String,
    /// US: the ZIP+4 extension.
    zip4: u16,
}

#[derive(Debug, Clone)]
struct Company {
    name: String,
    family: usize,
    domain: String,
}

#[derive(Debug, Clone)]
struct Person {
    female: bool,
    us: bool,
    first: &'static str,
    middle: Option<char>,
    last: String,
    birth: Date,
    email: String,
    phone: Phone,
    address: Address,
    company: Option<Company>,
    /// Canonical compact form: `AB123456C` or `123456789`.
    national_id: String,
}

/// Layout choices and field values of one record of a person.
#[derive(Debug, Clone)]
struct View {
    first: String,
    last: String,
    middle: Option<char>,
    /// 0 `First Last`, 1 `Last, First`, 2 `First M. Last`.
    full_fmt: u8,
    /// 0 as written, 1 upper, 2 lower.
    case: u8,
    email: String,
    phone: Phone,
    phone_fmt: u8,
    address: Address,
    street_abbr: bool,
    line2_abbr: bool,
    /// GB: 0 `SW11 4AB`, 1 `SW114AB`, 2 `sw11 4ab`; US: 0 ZIP, 1 ZIP+4.
    postcode_fmt: u8,
    /// US: 0 state code, 1 state name (GB always the county).
    region_fmt: u8,
    /// 0 code (GB/US), 1 long name, 2 short name (UK/USA).
    country_fmt: u8,
    birth: Date,
    /// 0 `YYYY-MM-DD`, 1 `YYYYMMDD`.
    date_fmt: u8,
    company: Option<Company>,
    suffix: usize,
    show_national_id: bool,
    /// GB: 0 `AB123456C`, 1 `AB 12 34 56 C`, 2 lower case; US: 0 `123-45-6789`,
    /// 1 `123456789`, 2 `123 45 6789`.
    national_id_fmt: u8,
    /// Bit i set: column i of `FIELD_NAMES` left empty.
    missing: u16,
}

const F_FIRST: usize = 1;
const F_LAST: usize = 2;
const F_FULL: usize = 3;
const F_EMAIL: usize = 4;
const F_PHONE: usize = 5;
const F_STREET: usize = 6;
const F_LINE2: usize = 7;
const F_CITY: usize = 8;
const F_POSTCODE: usize = 9;
const F_REGION: usize = 10;
const F_COUNTRY: usize = 11;
const F_BIRTH: usize = 12;
const F_COMPANY: usize = 13;

/// Sampling tables built once per run.
struct Tables {
    male: Weighted,
    female: Weighted,
    surname: Weighted,
    duplicates: Weighted,
    corruption: Weighted,
    corruption_count: Weighted,
    gb_city: Weighted,
    us_city: Weighted,
    email_gb: Weighted,
    email_us: Weighted,
    gb_phone_fmt: Weighted,
    us_phone_fmt: Weighted,
}

/// Share of surnames drawn from the real list; the rest come from the syllable tail.
const REAL_SURNAME_SHARE: f64 = 0.30;
/// Ranks in the generated surname tail.
const TAIL_RANKS: f64 = 300_000.0;
/// Offset of the tail's 1/(rank + offset) law, chosen so the most common generated surname
/// is about as common as the rarest listed one.
const TAIL_OFFSET: f64 = 400.0;

/// Relative weights of the corruption kinds, in `Corruption::ALL` order.
const CORRUPTION_WEIGHTS: [f64; 19] = [
    20.0, // typo
    3.0,  // swap names
    8.0,  // nickname
    16.0, // missing field
    12.0, // phone format
    9.0,  // email variant
    9.0,  // address abbreviation
    8.0,  // date format
    3.0,  // day/month swap
    3.0,  // year off by one
    5.0,  // company suffix
    5.0,  // name case
    5.0,  // full-name layout
    5.0,  // postcode layout
    4.0,  // region/country layout
    3.0,  // national id layout
    4.0,  // moved
    9.0,  // new e-mail
    2.0,  // surname change
];

struct Generator<'a> {
    config: &'a SynthConfig,
    rng: Rng,
    t: Tables,
    /// Recent people, for hard negatives: (entity id, person).
    ring: Vec<(u64, Person)>,
    ring_next: usize,
    company_pool: usize,
}

const RING: usize = 256;

impl<'a> Generator<'a> {
    fn new(config: &'a SynthConfig, chunk: u64) -> Self {
        let t = Tables {
            male: Weighted::zipf(MALE_FIRST.len(), 1.0, 4.0),
            female: Weighted::zipf(FEMALE_FIRST.len(), 1.0, 4.0),
            // 1/(rank + 10): the top ten hold a fifth of the listed names, as in census counts;
            // Smith stands out as it does in both countries.
            surname: Weighted::new(
                (0..SURNAMES.len()).map(|r| if r == 0 { 1.4 } else { 1.0 } / (r as f64 + 10.0)),
            ),
            duplicates: Weighted::new(config.duplicate_weights),
            corruption: Weighted::new(CORRUPTION_WEIGHTS),
            corruption_count: Weighted::new([4.0, 28.0, 30.0, 21.0, 11.0, 6.0]),
            gb_city: Weighted::zipf(GB_CITIES.len(), 0.9, 1.5),
            us_city: Weighted::zipf(US_CITIES.len(), 0.8, 2.0),
            email_gb: Weighted::new(EMAIL_DOMAINS_GB.iter().map(|d| d.1)),
            email_us: Weighted::new(EMAIL_DOMAINS_US.iter().map(|d| d.1)),
            gb_phone_fmt: Weighted::new([20.0, 45.0, 20.0, 8.0, 5.0, 2.0]),
            us_phone_fmt: Weighted::new([15.0, 40.0, 20.0, 5.0, 15.0, 5.0]),
        };
        Self {
            config,
            rng: Rng::new(
                config.seed ^ chunk.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xC0FF_EE00_D15E_A5E5,
            ),
            t,
            ring: Vec::with_capacity(RING),
            ring_next: 0,
            company_pool: (config.entities / 8).max(50),
        }
    }

    fn entity(
        &mut self,
        entity_id: u64,
        records: &mut Vec<SynthRecord>,
        original_of: &mut Vec<Option<usize>>,
    ) {
        let (relation, related, person) = self.person();
        let provenance = Provenance {
            duplicate_of: None,
            corruptions: Corruptions::default(),
            relation,
            related_entity: related,
        };
        let original_view = self.original_view(&person);
        let original_index = records.len();
        let mut original = render(&person, &original_view);
        original.entity_id = entity_id;
        original.provenance = provenance.clone();
        records.push(original);
        original_of.push(None);

        let duplicates = self.t.duplicates.sample(&mut self.rng);
        for _ in 0..duplicates {
            let mut view = original_view.clone();
            // Each source decides on its own whether it holds the national id.
            view.show_national_id = self.rng.chance(0.35);
            let (corruptions, typos) = self.corrupt(&person, &mut view);
            let mut record = render(&person, &view);
            for field in typos {
                if let Some(text) = record.text_field_mut(field) {
                    if let Some(t) = typo_in_field(&mut self.rng, field, text) {
                        *text = t;
                    }
                }
            }
            record.entity_id = entity_id;
            record.provenance = Provenance {
                corruptions,
                ..provenance.clone()
            };
            records.push(record);
            original_of.push(Some(original_index));
        }

        if self.ring.len() < RING {
            self.ring.push((entity_id, person));
        } else {
            self.ring[self.ring_next] = (entity_id, person);
            self.ring_next = (self.ring_next + 1) % RING;
        }
    }

    /// A new person, independent or derived from a recent one.
    fn person(&mut self) -> (Relation, Option<u64>, Person) {
        let c = self.config;
        let u = self.rng.unit();
        let relation = if self.ring.is_empty() {
            Relation::None
        } else if u < c.household_rate {
            Relation::Household
        } else if u < c.household_rate + c.twin_rate {
            Relation::Twin
        } else if u < c.household_rate + c.twin_rate + c.junior_rate {
            Relation::Junior
        } else if u < c.household_rate + c.twin_rate + c.junior_rate + c.namesake_rate {
            Relation::Namesake
        } else {
            Relation::None
        };
        if relation == Relation::None {
            let us = self.rng.chance(c.us_share);
            return (Relation::None, None, self.fresh_person(us));
        }
        let (related_id, base) = self.ring[self.rng.below(self.ring.len())].clone();
        let person = match relation {
            Relation::Household => self.household_member(&base),
            Relation::Twin => self.twin(&base),
            Relation::Junior => self.junior(&base),
            _ => self.namesake(&base),
        };
        (relation, Some(related_id), person)
    }

    fn first_name(&mut self, female: bool) -> &'static str {
        if female {
            FEMALE_FIRST[self.t.female.sample(&mut self.rng)]
        } else {
            MALE_FIRST[self.t.male.sample(&mut self.rng)]
        }
    }

    fn other_first_name(&mut self, female: bool, not: &str) -> &'static str {
        loop {
            let f = self.first_name(female);
            if f != not {
                return f;
            }
        }
    }

    fn surname(&mut self) -> String {
        if self.rng.chance(REAL_SURNAME_SHARE) {
            SURNAMES[self.t.surname.sample(&mut self.rng)].to_string()
        } else {
            let u = self.rng.unit();
            let rank =
                TAIL_OFFSET * ((TAIL_RANKS + TAIL_OFFSET) / TAIL_OFFSET).powf(u) - TAIL_OFFSET;
            tail_surname(rank as u64)
        }
    }

    fn middle(&mut self) -> Option<char> {
        if self.rng.chance(0.4) {
            Some((b'A' + self.rng.below(26) as u8) as char)
        } else {
            None
        }
    }

    fn birth_date(&mut self) -> Date {
        // Ages 18..95 with most people between 30 and 70.
        let a = (self.rng.unit() + self.rng.unit() + self.rng.unit()) / 3.0;
        let age = 18 + (a * 77.0) as u16;
        self.date_in_year(2024 - age)
    }

    fn date_in_year(&mut self, y: u16) -> Date {
        let m = self.rng.range(1, 12) as u8;
        let d = self.rng.range(1, u32::from(days_in_month(y, m))) as u8;
        Date { y, m, d }
    }

    fn fresh_person(&mut self, us: bool) -> Person {
        let female = self.rng.chance(0.5);
        let first = self.first_name(female);
        let last = self.surname();
        let birth = self.birth_date();
        let address = self.address(us, None);
        let company = if self.rng.chance(0.55) {
            Some(self.company(us))
        } else {
            None
        };
        let email = self.email(first, &last, birth, company.as_ref(), us);
        let phone = if self.rng.chance(0.6) {
            self.mobile(us)
        } else {
            self.landline(us, address.city)
        };
        Person {
            female,
            us,
            first,
            middle: self.middle(),
            last,
            birth,
            email,
            phone,
            address,
            company,
            national_id: self.national_id(us),
        }
    }

    fn household_member(&mut self, base: &Person) -> Person {
        let mut p = self.fresh_person(base.us);
        p.address = base.address.clone();
        // A shared landline (rarely a shared mobile), or a mobile of one's own.
        p.phone = match self.shared_phone(base) {
            Some(phone) => phone,
            None => self.mobile(base.us),
        };
        if self.rng.chance(0.6) {
            // Partner: usually the other sex, born within a few years.
            p.female = if self.rng.chance(0.9) {
                !base.female
            } else {
                base.female
            };
            let dy = self.rng.range(0, 16) as i32 - 8;
            let y = (i32::from(base.birth.y) + dy).clamp(1911, 2006) as u16;
            p.birth = self.date_in_year(y);
            if self.rng.chance(0.8) {
                p.last = base.last.clone();
            }
        } else {
            // Child or parent, a generation apart.
            let gap = self.rng.range(20, 38) as u16;
            let y = if base.birth.y + gap <= 2006 {
                base.birth.y + gap
            } else {
                base.birth.y - gap
            };
            p.birth = self.date_in_year(y);
            if self.rng.chance(0.9) {
                p.last = base.last.clone();
            }
        }
        p.first = self.other_first_name(p.female, base.first);
        if self.rng.chance(0.05) {
            p.email = base.email.clone();
        } else {
            p.email = self.email(p.first, &p.last, p.birth, p.company.as_ref(), p.us);
        }
        p
    }

    fn twin(&mut self, base: &Person) -> Person {
        let mut p = self.fresh_person(base.us);
        p.last = base.last.clone();
        p.birth = base.birth;
        p.address = base.address.clone();
        if let Some(phone) = self.shared_phone(base) {
            p.phone = phone;
        }
        p.first = self.other_first_name(p.female, base.first);
        p.email = self.email(p.first, &p.last, p.birth, p.company.as_ref(), p.us);
        p
    }

    fn junior(&mut self, base: &Person) -> Person {
        let mut p = self.fresh_person(base.us);
        p.female = base.female;
        p.first = base.first;
        p.last = base.last.clone();
        p.address = base.address.clone();
        if let Some(phone) = self.shared_phone(base) {
            p.phone = phone;
        }
        let gap = self.rng.range(22, 40) as u16;
        let y = if base.birth.y + gap <= 2006 {
            base.birth.y + gap
        } else {
            base.birth.y - gap
        };
        p.birth = self.date_in_year(y);
        p.email = self.email(p.first, &p.last, p.birth, p.company.as_ref(), p.us);
        p
    }

    fn namesake(&mut self, base: &Person) -> Person {
        let mut p = self.fresh_person(base.us);
        p.female = base.female;
        p.first = base.first;
        p.last = base.last.clone();
        if self.rng.chance(0.4) {
            p.address = self.address(base.us, Some(base.address.city));
        }
        p.email = self.email(p.first, &p.last, p.birth, p.company.as_ref(), p.us);
        p
    }

    fn address(&mut self, us: bool, city: Option<usize>) -> Address {
        let city = city.unwrap_or_else(|| {
            if us {
                self.t.us_city.sample(&mut self.rng)
            } else {
                self.t.gb_city.sample(&mut self.rng)
            }
        });
        let u = self.rng.unit();
        let number = 1 + (u * u * 299.0) as u32;
        let street = *self.rng.pick(STREET_NAMES);
        let kind = self.rng.below(STREET_TYPES.len());
        let line2 = if self.rng.chance(0.22) {
            let k = self.rng.below(LINE2_KINDS.len());
            Some((k, self.rng.range(1, 40)))
        } else {
            None
        };
        let postcode = if us {
            format!("{}{:02}", US_CITIES[city].zip3, self.rng.below(100))
        } else {
            let c = &GB_CITIES[city];
            let area = *self.rng.pick(c.areas);
            let district = self.rng.range(1, 20);
            let l1 = *self.rng.pick(POSTCODE_LETTERS) as char;
            let l2 = *self.rng.pick(POSTCODE_LETTERS) as char;
            format!("{area}{district} {}{l1}{l2}", self.rng.range(1, 9))
        };
        Address {
            number,
            street,
            kind,
            line2,
            city,
            postcode,
            zip4: self.rng.range(1, 9999) as u16,
        }
    }

    fn digits(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| (b'0' + self.rng.below(10) as u8) as char)
            .collect()
    }

    /// The phone of `base` when someone at the same address gives it too: usually for a
    /// landline, seldom for a mobile.
    fn shared_phone(&mut self, base: &Person) -> Option<Phone> {
        let landline = if base.us {
            base.phone
                .digits
                .starts_with(US_CITIES[base.address.city].area)
        } else {
            !base.phone.digits.starts_with('7')
        };
        let p = if landline { 0.7 } else { 0.1 };
        self.rng.chance(p).then(|| base.phone.clone())
    }

    fn mobile(&mut self, us: bool) -> Phone {
        if us {
            let area = US_CITIES[self.rng.below(US_CITIES.len())].area;
            self.us_phone(area)
        } else {
            let rest = self.digits(8);
            Phone {
                us: false,
                digits: format!("7{}{rest}", self.rng.range(4, 9)),
                groups: [4, 6, 0],
            }
        }
    }

    fn us_phone(&mut self, area: &str) -> Phone {
        let exchange = self.rng.range(201, 989);
        let line = self.digits(4);
        Phone {
            us: true,
            digits: format!("{area}{exchange}{line}"),
            groups: [3, 3, 4],
        }
    }

    fn landline(&mut self, us: bool, city: usize) -> Phone {
        if us {
            return self.us_phone(US_CITIES[city].area);
        }
        let dial = GB_CITIES[city].dial;
        let rest_len = 10 - dial.len();
        let first = self.rng.range(2, 9);
        let rest = format!("{first}{}", self.digits(rest_len - 1));
        let groups = match dial.len() {
            2 => [2, 4, 4],
            3 => [3, 3, 4],
            _ => [4, 6, 0],
        };
        Phone {
            us: false,
            digits: format!("{dial}{rest}"),
            groups,
        }
    }

    fn company(&mut self, us: bool) -> Company {
        // Company sizes follow a power law: a few big employers, many small ones.
        let u = self.rng.unit();
        let index = ((self.company_pool as f64 + 1.0).powf(u) - 1.0) as u64;
        let mut h = index ^ 0x5EED_C0DE;
        let a = splitmix64(&mut h);
        let word = if a % 10 < 3 {
            SURNAMES[(a >> 8) as usize % 60]
        } else {
            COMPANY_WORDS[(a >> 8) as usize % COMPANY_WORDS.len()]
        };
        let trade = COMPANY_TRADES[(a >> 24) as usize % COMPANY_TRADES.len()];
        let families = if us {
            US_SUFFIXES.len()
        } else {
            GB_SUFFIXES.len()
        };
        // Most British companies are "Ltd", most American ones "Inc" or "LLC".
        let family = if (a >> 40) % 4 == 0 {
            (a >> 44) as usize % families
        } else {
            usize::from(us && (a >> 48) % 2 == 0)
        };
        let name = format!("{word} {trade}");
        let slug: String = name
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        let domain = format!("{slug}{}", if us { ".com" } else { ".co.uk" });
        Company {
            name,
            family,
            domain,
        }
    }

    fn email(
        &mut self,
        first: &str,
        last: &str,
        birth: Date,
        company: Option<&Company>,
        us: bool,
    ) -> String {
        let f = slug(first);
        let l = slug(last);
        let initial = f.chars().next().unwrap_or('x');
        if let Some(c) = company {
            if self.rng.chance(0.25) {
                return match self.rng.below(3) {
                    0 => format!("{f}.{l}@{}", c.domain),
                    1 => format!("{initial}{l}@{}", c.domain),
                    _ => format!("{f}@{}", c.domain),
                };
            }
        }
        let domain = if us {
            EMAIL_DOMAINS_US[self.t.email_us.sample(&mut self.rng)].0
        } else {
            EMAIL_DOMAINS_GB[self.t.email_gb.sample(&mut self.rng)].0
        };
        let n2 = self.rng.below(100);
        let n3 = self.rng.below(1000);
        let local = match self.rng.below(10) {
            0 | 1 => format!("{f}.{l}"),
            2 => format!("{f}{l}"),
            3 => format!("{initial}.{l}"),
            4 => format!("{f}_{l}"),
            5 => format!("{f}.{l}{n2:02}"),
            6 => format!("{f}{:02}", birth.y % 100),
            7 => format!("{l}.{f}"),
            8 => format!("{f}{}{n3}", l.chars().next().unwrap_or('x')),
            _ => format!("{initial}{l}{}", birth.y),
        };
        format!("{local}@{domain}")
    }

    fn national_id(&mut self, us: bool) -> String {
        if us {
            format!(
                "{:03}{:02}{:04}",
                self.rng.range(1, 899),
                self.rng.range(1, 99),
                self.rng.range(1, 9999)
            )
        } else {
            let a = *self.rng.pick(NINO_FIRST) as char;
            let b = *self.rng.pick(NINO_SECOND) as char;
            let s = (b'A' + self.rng.below(4) as u8) as char;
            format!("{a}{b}{}{s}", self.digits(6))
        }
    }

    /// The layout and gaps of the person's first (clean) record.
    fn original_view(&mut self, p: &Person) -> View {
        let r = &mut self.rng;
        let mut missing = 0u16;
        for (field, p_missing) in [
            (F_EMAIL, 0.10),
            (F_PHONE, 0.15),
            (F_FULL, 0.08),
            (F_LINE2, 0.05),
            (F_POSTCODE, 0.03),
            (F_REGION, 0.10),
            (F_COUNTRY, 0.05),
            (F_BIRTH, 0.10),
            (F_COMPANY, 0.15),
        ] {
            if r.chance(p_missing) {
                missing |= 1 << field;
            }
        }
        let first = if r.chance(0.04) {
            nicknames(p.first).map_or(p.first, |n| n[0])
        } else {
            p.first
        };
        let phone_fmt = if p.us {
            self.t.us_phone_fmt.sample(r)
        } else {
            self.t.gb_phone_fmt.sample(r)
        } as u8;
        let families = suffix_family(p.us, p.company.as_ref().map_or(0, |c| c.family));
        View {
            first: first.to_string(),
            last: p.last.clone(),
            middle: p.middle,
            full_fmt: if r.chance(0.9) {
                0
            } else {
                1 + r.below(2) as u8
            },
            case: if r.chance(0.97) { 0 } else { 1 },
            email: p.email.clone(),
            phone: p.phone.clone(),
            phone_fmt,
            address: p.address.clone(),
            street_abbr: r.chance(0.2),
            line2_abbr: r.chance(0.3),
            postcode_fmt: if r.chance(0.92) { 0 } else { 1 },
            region_fmt: if r.chance(0.8) { 0 } else { 1 },
            country_fmt: if r.chance(0.7) {
                0
            } else {
                1 + r.below(2) as u8
            },
            birth: p.birth,
            date_fmt: if r.chance(0.85) { 0 } else { 1 },
            company: p.company.clone(),
            suffix: if r.chance(0.8) {
                0
            } else {
                r.below(families.len())
            },
            show_national_id: r.chance(0.4),
            national_id_fmt: if r.chance(0.8) { 0 } else { 1 },
            missing,
        }
    }

    /// Applies a random set of corruptions to `v`; returns the set and the non-name fields
    /// that still need a typo after rendering.
    fn corrupt(&mut self, p: &Person, v: &mut View) -> (Corruptions, Vec<usize>) {
        let mut done = Corruptions::default();
        let mut typos = Vec::new();
        let wanted = self.t.corruption_count.sample(&mut self.rng);
        let mut attempts = 0;
        while done.len() < wanted && attempts < 40 {
            attempts += 1;
            let kind = Corruption::ALL[self.t.corruption.sample(&mut self.rng)];
            if done.contains(kind) {
                continue;
            }
            if self.apply(kind, p, v, &mut typos) {
                done.insert(kind);
            }
        }
        (done, typos)
    }

    /// Applies one corruption; `false` when it does not apply to this record.
    fn apply(
        &mut self,
        kind: Corruption,
        p: &Person,
        v: &mut View,
        typos: &mut Vec<usize>,
    ) -> bool {
        let present = |v: &View, f: usize| v.missing & (1 << f) == 0;
        let r = &mut self.rng;
        match kind {
            Corruption::Typo => {
                let field = *r.pick(&[
                    F_FIRST, F_LAST, F_LAST, F_FIRST, F_STREET, F_CITY, F_EMAIL, F_PHONE,
                    F_POSTCODE, F_COMPANY,
                ]);
                match field {
                    F_FIRST => match typo(r, &v.first) {
                        Some(t) => v.first = t,
                        None => return false,
                    },
                    F_LAST => match typo(r, &v.last) {
                        Some(t) => v.last = t,
                        None => return false,
                    },
                    f if present(v, f) && (f != F_COMPANY || v.company.is_some()) => typos.push(f),
                    _ => return false,
                }
                true
            }
            Corruption::SwapNames => {
                std::mem::swap(&mut v.first, &mut v.last);
                true
            }
            Corruption::Nickname => {
                if v.first == p.first {
                    match nicknames(p.first) {
                        Some(n) => {
                            v.first = (*r.pick(n)).to_string();
                            true
                        }
                        None => false,
                    }
                } else if nicknames(p.first).is_some_and(|n| n.contains(&v.first.as_str())) {
                    v.first = p.first.to_string();
                    true
                } else {
                    false
                }
            }
            Corruption::MissingField => {
                let candidates = [
                    F_EMAIL, F_PHONE, F_STREET, F_LINE2, F_CITY, F_POSTCODE, F_REGION, F_COUNTRY,
                    F_BIRTH, F_COMPANY, F_FULL, F_FIRST, F_EMAIL, F_PHONE, F_BIRTH,
                ];
                let mut blanked = 0;
                let wanted = 1 + usize::from(r.chance(0.3));
                for _ in 0..8 {
                    let f = *r.pick(&candidates);
                    let has_value = match f {
                        F_LINE2 => v.address.line2.is_some(),
                        F_COMPANY => v.company.is_some(),
                        _ => true,
                    };
                    if present(v, f) && has_value {
                        v.missing |= 1 << f;
                        blanked += 1;
                        if blanked == wanted {
                            break;
                        }
                    }
                }
                blanked > 0
            }
            Corruption::PhoneFormat => {
                if !present(v, F_PHONE) {
                    return false;
                }
                v.phone_fmt = (v.phone_fmt + 1 + r.below(5) as u8) % 6;
                true
            }
            Corruption::EmailVariant => {
                if !present(v, F_EMAIL) {
                    return false;
                }
                match email_variant(r, &v.email) {
                    Some(e) => {
                        v.email = e;
                        true
                    }
                    None => false,
                }
            }
            Corruption::AddressAbbreviation => {
                if !present(v, F_STREET) {
                    return false;
                }
                v.street_abbr = !v.street_abbr;
                if v.address.line2.is_some() && r.chance(0.5) {
                    v.line2_abbr = !v.line2_abbr;
                }
                true
            }
            Corruption::DateFormat => {
                if !present(v, F_BIRTH) {
                    return false;
                }
                v.date_fmt = 1 - v.date_fmt;
                true
            }
            Corruption::DateSwap => {
                let b = v.birth;
                if !present(v, F_BIRTH) || b.d > 12 || b.d == b.m {
                    return false;
                }
                v.birth = Date::clamped(b.y, b.d, b.m);
                true
            }
            Corruption::YearOffByOne => {
                if !present(v, F_BIRTH) {
                    return false;
                }
                let b = v.birth;
                let y = if r.chance(0.5) { b.y + 1 } else { b.y - 1 };
                v.birth = Date::clamped(y, b.m, b.d);
                true
            }
            Corruption::CompanySuffix => match &v.company {
                Some(c) if present(v, F_COMPANY) => {
                    let n = suffix_family(p.us, c.family).len();
                    v.suffix = (v.suffix + 1 + r.below(n - 1)) % n;
                    true
                }
                _ => false,
            },
            Corruption::NameCase => {
                v.case = if v.case == 0 { 1 + r.below(2) as u8 } else { 0 };
                true
            }
            Corruption::FullNameFormat => {
                if !present(v, F_FULL) {
                    return false;
                }
                let choices: &[u8] = if v.middle.is_some() {
                    &[0, 1, 2]
                } else {
                    &[0, 1]
                };
                let next = choices[(choices.iter().position(|c| *c == v.full_fmt).unwrap_or(0)
                    + 1
                    + r.below(choices.len() - 1))
                    % choices.len()];
                v.full_fmt = next;
                true
            }
            Corruption::PostcodeFormat => {
                if !present(v, F_POSTCODE) {
                    return false;
                }
                v.postcode_fmt = if p.us {
                    1 - v.postcode_fmt.min(1)
                } else {
                    (v.postcode_fmt + 1 + r.below(2) as u8) % 3
                };
                true
            }
            Corruption::RegionFormat => {
                if p.us && present(v, F_REGION) && r.chance(0.6) {
                    v.region_fmt = 1 - v.region_fmt;
                    true
                } else if present(v, F_COUNTRY) {
                    v.country_fmt = (v.country_fmt + 1 + r.below(2) as u8) % 3;
                    true
                } else {
                    false
                }
            }
            Corruption::NationalIdFormat => {
                if !v.show_national_id {
                    return false;
                }
                v.national_id_fmt = (v.national_id_fmt + 1 + r.below(2) as u8) % 3;
                true
            }
            Corruption::Moved => {
                let same_city = self.rng.chance(0.5).then_some(v.address.city);
                v.address = self.address(p.us, same_city);
                let landline = !p.us && !v.phone.digits.starts_with('7');
                if landline || (p.us && self.rng.chance(0.3)) {
                    v.phone = self.landline(p.us, v.address.city);
                }
                true
            }
            Corruption::NewEmail => {
                let mut e = self.email(p.first, &p.last, p.birth, p.company.as_ref(), p.us);
                if e == v.email {
                    e = self.email(p.first, &p.last, p.birth, None, p.us);
                }
                if e == v.email {
                    return false;
                }
                v.email = e;
                v.missing &= !(1 << F_EMAIL);
                true
            }
            Corruption::SurnameChange => {
                if !p.female || p.birth.y > 1996 {
                    return false;
                }
                let new = self.surname();
                if new == v.last {
                    return false;
                }
                v.last = if self.rng.chance(0.3) {
                    format!("{}-{new}", v.last)
                } else {
                    new
                };
                true
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Rendering

fn render(p: &Person, v: &View) -> SynthRecord {
    let gone = |f: usize| v.missing & (1 << f) != 0;
    let cased = |s: &str| match v.case {
        1 => s.to_uppercase(),
        2 => s.to_lowercase(),
        _ => s.to_string(),
    };
    let first = cased(&v.first);
    let last = cased(&v.last);
    let full_name = match (v.full_fmt, v.middle) {
        (1, _) if !first.is_empty() => format!("{last}, {first}"),
        (2, Some(m)) => format!("{first} {}. {last}", cased(&m.to_string())),
        _ if first.is_empty() => last.clone(),
        _ => format!("{first} {last}"),
    };
    let a = &v.address;
    let (kind_full, kind_abbr) = STREET_TYPES[a.kind];
    let street = format!(
        "{} {} {}",
        a.number,
        a.street,
        if v.street_abbr { kind_abbr } else { kind_full }
    );
    let line2 = a.line2.map_or(String::new(), |(k, n)| {
        let (full, abbr) = LINE2_KINDS[k];
        format!("{} {n}", if v.line2_abbr { abbr } else { full })
    });
    let (city, region, country) = if p.us {
        let c = &US_CITIES[a.city];
        let region = if v.region_fmt == 0 {
            c.state
        } else {
            c.state_name
        };
        let country = ["US", "United States", "USA"][usize::from(v.country_fmt.min(2))];
        (c.name, region, country)
    } else {
        let c = &GB_CITIES[a.city];
        let country = ["GB", "United Kingdom", "UK"][usize::from(v.country_fmt.min(2))];
        (c.name, c.region, country)
    };
    let postcode = match (p.us, v.postcode_fmt) {
        (true, 1) => format!("{}-{:04}", a.postcode, a.zip4),
        (true, _) | (false, 0) => a.postcode.clone(),
        (false, 1) => a.postcode.replace(' ', ""),
        (false, _) => a.postcode.to_lowercase(),
    };
    let b = v.birth;
    let birth_date = if v.date_fmt == 0 {
        format!("{:04}-{:02}-{:02}", b.y, b.m, b.d)
    } else {
        format!("{:04}{:02}{:02}", b.y, b.m, b.d)
    };
    let company = v.company.as_ref().map_or(String::new(), |c| {
        let family = suffix_family(p.us, c.family);
        format!("{} {}", c.name, family[v.suffix.min(family.len() - 1)])
    });
    let national_id = v
        .show_national_id
        .then(|| format_national_id(&p.national_id, p.us, v.national_id_fmt));
    let keep = |f: usize, s: String| if gone(f) { String::new() } else { s };
    SynthRecord {
        id: String::new(),
        entity_id: 0,
        first_name: keep(F_FIRST, first),
        last_name: keep(F_LAST, last),
        full_name: keep(F_FULL, full_name),
        email: keep(F_EMAIL, v.email.clone()),
        phone: keep(F_PHONE, format_phone(&v.phone, v.phone_fmt)),
        street: keep(F_STREET, street),
        address_line2: keep(F_LINE2, line2),
        city: keep(F_CITY, city.to_string()),
        postcode: keep(F_POSTCODE, postcode),
        region: keep(F_REGION, region.to_string()),
        country: keep(F_COUNTRY, country.to_string()),
        birth_date: keep(F_BIRTH, birth_date),
        company: keep(F_COMPANY, company),
        national_id,
        provenance: Provenance::default(),
    }
}

fn suffix_family(us: bool, family: usize) -> &'static [&'static str] {
    if us {
        US_SUFFIXES[family % US_SUFFIXES.len()]
    } else {
        GB_SUFFIXES[family % GB_SUFFIXES.len()]
    }
}

fn grouped(p: &Phone, sep: &str) -> String {
    let mut out = String::with_capacity(p.digits.len() + 4);
    let mut at = 0;
    for &g in p.groups.iter().filter(|g| **g > 0) {
        let end = (at + usize::from(g)).min(p.digits.len());
        if at > 0 {
            out.push_str(sep);
        }
        out.push_str(&p.digits[at..end]);
        at = end;
    }
    if at < p.digits.len() {
        out.push_str(&p.digits[at..]);
    }
    out
}

/// Renders a phone number in one of six layouts per country.
fn format_phone(p: &Phone, fmt: u8) -> String {
    let d = &p.digits;
    if p.us {
        let (a, b, c) = (&d[0..3], &d[3..6], &d[6..]);
        match fmt {
            0 => format!("+1 {a} {b} {c}"),
            1 => format!("({a}) {b}-{c}"),
            2 => d.clone(),
            3 => format!("+1{d}"),
            4 => format!("{a}-{b}-{c}"),
            _ => format!("{a}.{b}.{c}"),
        }
    } else {
        let spaced = grouped(p, " ");
        match fmt {
            0 => format!("+44 {spaced}"),
            1 => format!("0{spaced}"),
            2 => format!("0{d}"),
            3 => format!("+44{d}"),
            4 => {
                let area = usize::from(p.groups[0]);
                let rest = grouped(
                    &Phone {
                        us: false,
                        digits: d[area..].to_string(),
                        groups: [p.groups[1], p.groups[2], 0],
                    },
                    " ",
                );
                format!("(0{}) {rest}", &d[..area])
            }
            _ => format!("0044 {spaced}"),
        }
    }
}

fn format_national_id(id: &str, us: bool, fmt: u8) -> String {
    if us {
        match fmt {
            1 => id.to_string(),
            2 => format!("{} {} {}", &id[0..3], &id[3..5], &id[5..]),
            _ => format!("{}-{}-{}", &id[0..3], &id[3..5], &id[5..]),
        }
    } else {
        match fmt {
            1 => format!(
                "{} {} {} {} {}",
                &id[0..2],
                &id[2..4],
                &id[4..6],
                &id[6..8],
                &id[8..]
            ),
            2 => id.to_lowercase(),
            _ => id.to_string(),
        }
    }
}

/// Lower-case ASCII letters of a name, for e-mail local parts.
fn slug(name: &str) -> String {
    name.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn nicknames(first: &str) -> Option<&'static [&'static str]> {
    NICKNAMES.iter().find(|(f, _)| *f == first).map(|(_, n)| *n)
}

/// A surname spelled from syllables, a pure function of its rank in the tail.
fn tail_surname(rank: u64) -> String {
    let mut h = rank.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xA5A5_5A5A;
    let a = splitmix64(&mut h);
    let onset = SURNAME_ONSETS[(a % SURNAME_ONSETS.len() as u64) as usize];
    let mut middle = SURNAME_MIDDLES[((a >> 16) % SURNAME_MIDDLES.len() as u64) as usize];
    let coda = SURNAME_CODAS[((a >> 32) % SURNAME_CODAS.len() as u64) as usize];
    let vowel = |c: Option<u8>| c.is_some_and(|c| b"aeiouy".contains(&c));
    if vowel(middle.bytes().last()) && vowel(coda.bytes().next()) {
        middle = "";
    }
    let mut s = String::with_capacity(onset.len() + middle.len() + coda.len());
    s.push_str(onset);
    s.push_str(middle);
    // Avoid a tripled letter where syllables meet ("Hallley").
    let bytes = s.as_bytes();
    let n = bytes.len();
    let skip = usize::from(
        n >= 2 && coda.as_bytes().first() == Some(&bytes[n - 1]) && bytes[n - 2] == bytes[n - 1],
    );
    s.push_str(&coda[skip..]);
    s
}

/// One keyboard typo: insert, delete, substitute (a neighbouring key) or transpose.
/// Only letters and digits are touched; `None` when the text is too short.
pub(crate) fn typo(r: &mut Rng, s: &str) -> Option<String> {
    let mut chars: Vec<char> = s.chars().collect();
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| chars[i].is_ascii_alphanumeric())
        .collect();
    if positions.len() < 3 {
        return None;
    }
    let neighbour = |r: &mut Rng, c: char| -> char {
        let n = keyboard_neighbours(c);
        if n.is_empty() {
            return c;
        }
        let x = n.as_bytes()[r.below(n.len())] as char;
        if c.is_ascii_uppercase() {
            x.to_ascii_uppercase()
        } else {
            x
        }
    };
    for _ in 0..4 {
        let i = *r.pick(&positions);
        match r.below(4) {
            0 => {
                let c = neighbour(r, chars[i]);
                let c = if i == 0 { c.to_ascii_lowercase() } else { c };
                chars.insert(i + 1, c);
            }
            1 => {
                chars.remove(i);
            }
            2 => chars[i] = neighbour(r, chars[i]),
            _ => {
                let j = i + 1;
                if j >= chars.len() || !chars[j].is_ascii_alphanumeric() || chars[i] == chars[j] {
                    continue;
                }
                // Keep an initial capital where it was.
                let (a, b) = (chars[i], chars[j]);
                if i == 0 && a.is_ascii_uppercase() {
                    chars[i] = b.to_ascii_uppercase();
                    chars[j] = a.to_ascii_lowercase();
                } else {
                    chars.swap(i, j);
                }
            }
        }
        let out: String = chars.iter().collect();
        if out != s {
            return Some(out);
        }
        chars = s.chars().collect();
    }
    None
}

/// A typo in a rendered non-name field, kept inside the local part of an e-mail address.
fn typo_in_field(r: &mut Rng, field: usize, text: &str) -> Option<String> {
    if field == F_EMAIL {
        let (local, domain) = text.split_once('@')?;
        return typo(r, local).map(|l| format!("{l}@{domain}"));
    }
    typo(r, text)
}

/// Another way of writing the same mailbox.
fn email_variant(r: &mut Rng, email: &str) -> Option<String> {
    let (local, domain) = email.split_once('@')?;
    let gmail = domain == "gmail.com" || domain == "googlemail.com";
    let choice = r.below(if gmail { 5 } else { 3 });
    let out = match choice {
        0 => {
            // Capitalised like a name: John.Smith@Gmail.com, or shouted.
            if r.chance(0.5) {
                email.to_uppercase()
            } else {
                let cap = |s: &str| {
                    s.split('.')
                        .map(|p| {
                            let mut c = p.chars();
                            c.next().map_or(String::new(), |f| {
                                f.to_uppercase().collect::<String>() + c.as_str()
                            })
                        })
                        .collect::<Vec<_>>()
                        .join(".")
                };
                format!("{}@{}", cap(local), cap(domain))
            }
        }
        1 | 2 => format!("{local}+{}@{domain}", r.pick(EMAIL_TAGS)),
        3 => {
            // Gmail ignores dots in the local part.
            if local.contains('.') {
                format!("{}@{domain}", local.replace('.', ""))
            } else if local.len() >= 3 {
                let at = 1 + r.below(local.len() - 1);
                format!("{}.{}@{domain}", &local[..at], &local[at..])
            } else {
                return None;
            }
        }
        _ => {
            let other = if domain == "gmail.com" {
                "googlemail.com"
            } else {
                "gmail.com"
            };
            format!("{local}@{other}")
        }
    };
    (out != email).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phone(us: bool, digits: &str, groups: [u8; 3]) -> Phone {
        Phone {
            us,
            digits: digits.to_string(),
            groups,
        }
    }

    #[test]
    fn phone_layouts_match_the_issue_examples() {
        let london = phone(false, "2079460958", [2, 4, 4]);
        assert_eq!(format_phone(&london, 0), "+44 20 7946 0958");
        assert_eq!(format_phone(&london, 1), "020 7946 0958");
        assert_eq!(format_phone(&london, 2), "02079460958");
        assert_eq!(format_phone(&london, 3), "+442079460958");
        assert_eq!(format_phone(&london, 4), "(020) 7946 0958");
        let mobile = phone(false, "7700900123", [4, 6, 0]);
        assert_eq!(format_phone(&mobile, 1), "07700 900123");
        let us = phone(true, "4155550132", [3, 3, 4]);
        assert_eq!(format_phone(&us, 0), "+1 415 555 0132");
        assert_eq!(format_phone(&us, 1), "(415) 555-0132");
    }

    #[test]
    fn national_id_layouts() {
        assert_eq!(format_national_id("AB123456C", false, 1), "AB 12 34 56 C");
        assert_eq!(format_national_id("123456789", true, 0), "123-45-6789");
    }

    #[test]
    fn typos_change_exactly_a_little() {
        let mut r = Rng::new(3);
        for _ in 0..500 {
            let t = typo(&mut r, "Elizabeth").expect("long enough");
            assert_ne!(t, "Elizabeth");
            assert!((8..=10).contains(&t.chars().count()), "{t}");
        }
        assert_eq!(typo(&mut r, "Li"), None);
    }

    #[test]
    fn email_variants_keep_the_mailbox_recognisable() {
        let mut r = Rng::new(5);
        for _ in 0..200 {
            let v = email_variant(&mut r, "john.smith@gmail.com").expect("applies");
            let lower = v.to_lowercase();
            let (local, domain) = lower.split_once('@').expect("has @");
            let base = local.split('+').next().unwrap_or("").replace('.', "");
            assert_eq!(base, "johnsmith", "{v}");
            assert!(domain == "gmail.com" || domain == "googlemail.com", "{v}");
        }
    }

    #[test]
    fn tail_surnames_are_pure_and_varied() {
        assert_eq!(tail_surname(17), tail_surname(17));
        let distinct: std::collections::HashSet<String> = (0..5000).map(tail_surname).collect();
        assert!(distinct.len() > 3000, "{}", distinct.len());
    }
}
