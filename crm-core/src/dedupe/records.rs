//! Compact storage of normalised records.
//!
//! Every text value gets a `u32` id from an interning dictionary (one per kind of value;
//! first and last names share one so that swapped names compare by id): two records agree
//! exactly when their ids are equal, and per-column value counts feed the term-frequency
//! adjustment. The values themselves are kept per record, back to back in one text arena,
//! next to a fixed-size row (ids, lengths, packed birth date, Double Metaphone codes of the
//! names). Comparing a pair then touches a few adjacent cache lines per record instead of
//! a dozen scattered strings, which is what bounds comparison speed on millions of
//! records.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::normalize::{self, BirthDate};
use super::PersonRecord;

/// The id of a missing value in a column.
pub(crate) const NONE: u32 = u32::MAX;

/// Text columns of a normalised record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Column {
    /// Canonical first name (nicknames mapped).
    FirstName,
    /// Canonical last name.
    LastName,
    /// Canonical e-mail (for a company record: its registrable domains, sorted and
    /// separated by one space).
    Email,
    /// E.164 or digits.
    Phone,
    /// Canonical street line.
    Street,
    /// Canonical second address line.
    AddressLine2,
    /// Canonical city.
    City,
    /// Canonical postcode.
    Postcode,
    /// Canonical region.
    Region,
    /// Country (alpha-2 when known).
    Country,
    /// Canonical employer of a person, or the canonical name of a company record.
    Company,
    /// Canonical national id.
    NationalId,
}

impl Column {
    /// All columns in storage order.
    pub const ALL: [Column; 12] = [
        Column::FirstName,
        Column::LastName,
        Column::Email,
        Column::Phone,
        Column::Street,
        Column::AddressLine2,
        Column::City,
        Column::Postcode,
        Column::Region,
        Column::Country,
        Column::Company,
        Column::NationalId,
    ];
    /// Number of text columns.
    pub const COUNT: usize = 12;

    /// Position of the column in [`Column::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The dictionary the column's values live in (names share dictionary 0).
    fn dict(self) -> usize {
        match self {
            Column::FirstName | Column::LastName => 0,
            other => other as usize - 1,
        }
    }

    /// The field name used in messages and CSV headers.
    pub fn name(self) -> &'static str {
        match self {
            Column::FirstName => "first_name",
            Column::LastName => "last_name",
            Column::Email => "email",
            Column::Phone => "phone",
            Column::Street => "street",
            Column::AddressLine2 => "address_line2",
            Column::City => "city",
            Column::Postcode => "postcode",
            Column::Region => "region",
            Column::Country => "country",
            Column::Company => "company",
            Column::NationalId => "national_id",
        }
    }
}

const DICTS: usize = Column::COUNT - 1;

/// A record after normalisation, before interning: what the normalisers made of each
/// field (`None` when missing or unusable).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NormalizedPerson {
    /// Canonical values per [`Column`] (indexed by [`Column::index`]).
    pub values: [Option<String>; Column::COUNT],
    /// Parsed birth date.
    pub birth_date: Option<BirthDate>,
}

impl NormalizedPerson {
    /// Normalises every field of `r`. Missing first/last names are taken from `full_name`;
    /// phone numbers without a country prefix are read in `r`'s own country, else in the
    /// default `region`.
    pub fn from_record(r: &PersonRecord, region: Option<phonenumber::country::Id>) -> Self {
        fn present(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let mut first = present(&r.first_name).and_then(normalize::normalize_first_name);
        let mut last = present(&r.last_name).and_then(normalize::normalize_name);
        if first.is_none() || last.is_none() {
            if let Some(full) = present(&r.full_name) {
                let (f, l) = normalize::split_full_name(full);
                if first.is_none() {
                    first = f;
                }
                if last.is_none() {
                    last = l;
                }
            }
        }
        let mut values: [Option<String>; Column::COUNT] = Default::default();
        values[Column::FirstName.index()] = first;
        values[Column::LastName.index()] = last;
        values[Column::Email.index()] = present(&r.email).and_then(normalize::normalize_email);
        // A number without a country prefix is read in the record's own country when it
        // has one, else in the default region.
        let country = present(&r.country).and_then(normalize::normalize_country);
        let own_region = country.as_deref().and_then(normalize::phone_region);
        values[Column::Phone.index()] =
            present(&r.phone).and_then(|p| normalize::normalize_phone(p, own_region.or(region)));
        values[Column::Street.index()] = present(&r.street).and_then(normalize::normalize_address);
        values[Column::AddressLine2.index()] =
            present(&r.address_line2).and_then(normalize::normalize_address);
        values[Column::City.index()] = present(&r.city).and_then(normalize::normalize_place);
        values[Column::Postcode.index()] = present(&r.postcode).and_then(normalize::normalize_code);
        values[Column::Region.index()] = present(&r.region).and_then(normalize::normalize_place);
        values[Column::Country.index()] = country;
        values[Column::Company.index()] =
            present(&r.company).and_then(normalize::normalize_employer);
        values[Column::NationalId.index()] =
            present(&r.national_id).and_then(normalize::normalize_code);
        Self {
            values,
            birth_date: present(&r.birth_date).and_then(normalize::parse_birth_date),
        }
    }

    /// The value of one column.
    pub fn get(&self, c: Column) -> Option<&str> {
        self.values[c.index()].as_deref()
    }
}

/// An interning dictionary: each distinct string gets a dense `u32` id.
#[derive(Debug, Clone, Default)]
struct Dict {
    map: FxHashMap<Box<str>, u32>,
}

impl Dict {
    fn intern(&mut self, s: &str) -> (u32, bool) {
        if let Some(&id) = self.map.get(s) {
            return (id, false);
        }
        let id = self.map.len() as u32;
        self.map.insert(s.into(), id);
        (id, true)
    }
    fn get(&self, s: &str) -> Option<u32> {
        self.map.get(s).copied()
    }
}

/// Packs the primary Double Metaphone code (at most 4 ASCII characters) of a folded name
/// into a `u32`; 0 when the name has no ASCII letters to encode.
pub(crate) fn metaphone_code(name: &str) -> u32 {
    // The encoder slices by byte offsets, so feed it ASCII letters only.
    let ascii: String = name
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(32)
        .collect();
    if ascii.is_empty() {
        return 0;
    }
    let dm = rphonetic::DoubleMetaphone::default();
    let code = dm.double_metaphone(&ascii).primary();
    let mut packed = 0u32;
    for b in code.bytes().take(4) {
        packed = (packed << 8) | u32::from(b);
    }
    packed
}

/// One value of a record as seen by comparisons: the canonical string and its dictionary
/// id ([`NONE`] for a value that is not in the store, as in a query record).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Val<'a> {
    pub s: &'a str,
    pub id: u32,
}

/// A borrowed view of one record: what blocking and comparison read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View<'a> {
    pub vals: [Option<Val<'a>>; Column::COUNT],
    /// `YYYYMMDD`, 0 when missing.
    pub dob: u32,
    /// Double Metaphone codes of the first and last name (0 when missing).
    pub dm: [u32; 2],
}

impl<'a> View<'a> {
    /// The value of column `c`.
    #[inline]
    pub fn get(&self, c: Column) -> Option<Val<'a>> {
        self.vals[c.index()]
    }
    /// The string of column `c`.
    #[inline]
    pub fn str(&self, c: Column) -> Option<&'a str> {
        self.vals[c.index()].map(|v| v.s)
    }
}

/// Fixed-size part of one stored record.
#[derive(Debug, Clone, Copy)]
struct Row {
    /// Dictionary id per column ([`NONE`] when missing).
    ids: [u32; Column::COUNT],
    /// Byte length of each value in the text arena (0 when missing).
    lens: [u16; Column::COUNT],
    /// Where the record's values start in the text arena.
    start: u64,
    /// `YYYYMMDD`, 0 when missing.
    dob: u32,
    /// Double Metaphone codes of first and last name.
    dm: [u32; 2],
}

/// Normalised records in compact, interned form (record `i` is the `i`-th record pushed).
///
/// Built by [`dedupe`](super::dedupe) and [`DedupeIndex`](super::DedupeIndex); it can be
/// kept to explain pairs or to seed an index without normalising again.
#[derive(Debug, Clone, Default)]
pub struct NormalizedRecords {
    dicts: [Dict; DICTS],
    rows: Vec<Row>,
    /// Every record's values back to back.
    text: String,
    /// Per column: how many live records hold each dictionary id.
    counts: [Vec<u32>; Column::COUNT],
    /// Per column: how many live records have a value.
    present: [u64; Column::COUNT],
    /// Per column: `sum c(c-1)` over value counts `c` (ordered agreeing pairs).
    agreeing: [u64; Column::COUNT],
    /// Double Metaphone code per name id.
    name_dm: Vec<u32>,
    live: Vec<bool>,
    live_count: usize,
}

impl NormalizedRecords {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty store with room for `n` records.
    pub fn with_capacity(n: usize) -> Self {
        let mut s = Self::default();
        s.rows.reserve(n);
        s.live.reserve(n);
        s.text.reserve(n.saturating_mul(96));
        s
    }

    /// Number of records pushed (live or removed).
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no record was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Number of records not removed.
    pub fn live_count(&self) -> usize {
        self.live_count
    }

    /// Whether record `i` exists and was not removed.
    pub fn is_live(&self, i: u32) -> bool {
        self.live.get(i as usize).copied().unwrap_or(false)
    }

    /// Appends a normalised record and returns its index.
    pub fn push(&mut self, p: &NormalizedPerson) -> u32 {
        let mut values: [Option<&str>; Column::COUNT] = [None; Column::COUNT];
        for c in Column::ALL {
            values[c.index()] = p.get(c);
        }
        self.push_values(&values, p.birth_date.map_or(0, BirthDate::packed))
    }

    /// Appends a record given as canonical values per column and a packed birth date.
    pub(crate) fn push_values(&mut self, values: &[Option<&str>; Column::COUNT], dob: u32) -> u32 {
        let idx = self.rows.len() as u32;
        let mut row = Row {
            ids: [NONE; Column::COUNT],
            lens: [0; Column::COUNT],
            start: self.text.len() as u64,
            dob,
            dm: [0; 2],
        };
        for c in Column::ALL {
            let Some(s) = values[c.index()] else { continue };
            // Values are clipped by the normalisers; guard the u16 length anyway.
            let mut end = s.len().min(usize::from(u16::MAX));
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let s = &s[..end];
            if s.is_empty() {
                continue;
            }
            let d = c.dict();
            let (id, new) = self.dicts[d].intern(s);
            if new && d == 0 {
                self.name_dm.push(metaphone_code(s));
            }
            let counts = &mut self.counts[c.index()];
            if counts.len() <= id as usize {
                counts.resize(id as usize + 1, 0);
            }
            self.agreeing[c.index()] += 2 * u64::from(counts[id as usize]);
            counts[id as usize] += 1;
            self.present[c.index()] += 1;
            row.ids[c.index()] = id;
            row.lens[c.index()] = s.len() as u16;
            self.text.push_str(s);
            match c {
                Column::FirstName => row.dm[0] = self.name_dm[id as usize],
                Column::LastName => row.dm[1] = self.name_dm[id as usize],
                _ => {}
            }
        }
        self.rows.push(row);
        self.live.push(true);
        self.live_count += 1;
        idx
    }

    /// Marks record `i` removed: it no longer counts in value frequencies. Returns whether
    /// it was live.
    pub fn remove(&mut self, i: u32) -> bool {
        if !self.is_live(i) {
            return false;
        }
        self.live[i as usize] = false;
        self.live_count -= 1;
        let ids = self.rows[i as usize].ids;
        for c in Column::ALL {
            let id = ids[c.index()];
            if id != NONE {
                let k = &mut self.counts[c.index()][id as usize];
                *k -= 1;
                self.agreeing[c.index()] -= 2 * u64::from(*k);
                self.present[c.index()] -= 1;
            }
        }
        true
    }

    /// The canonical value of column `c` of record `i`.
    pub fn value(&self, i: u32, c: Column) -> Option<&str> {
        self.rows.get(i as usize)?;
        self.view(i).str(c)
    }

    /// The birth date of record `i`.
    pub fn birth_date(&self, i: u32) -> Option<BirthDate> {
        BirthDate::from_packed(self.rows.get(i as usize)?.dob)
    }

    /// The dictionary ids of record `i`.
    #[inline]
    pub(crate) fn ids(&self, i: u32) -> &[u32; Column::COUNT] {
        &self.rows[i as usize].ids
    }

    /// How many live records hold dictionary id `id` in column `c`.
    #[inline]
    pub(crate) fn count(&self, c: Column, id: u32) -> u32 {
        if id == NONE {
            return 0;
        }
        self.counts[c.index()]
            .get(id as usize)
            .copied()
            .unwrap_or(0)
    }

    /// How many live records have a value in column `c`.
    #[inline]
    pub(crate) fn present(&self, c: Column) -> u64 {
        self.present[c.index()]
    }

    /// Probability that two live records drawn at random (without replacement) hold the
    /// same value in column `c`, given both have one: `sum c(c-1) / (n(n-1))`.
    pub(crate) fn exact_agreement(&self, c: Column) -> f64 {
        let n = self.present(c) as f64;
        if n < 2.0 {
            return 0.0;
        }
        self.agreeing[c.index()] as f64 / (n * (n - 1.0))
    }

    /// The view of stored record `i`.
    #[inline]
    pub(crate) fn view(&self, i: u32) -> View<'_> {
        let row = &self.rows[i as usize];
        let mut vals: [Option<Val<'_>>; Column::COUNT] = [None; Column::COUNT];
        let mut pos = row.start as usize;
        for c in Column::ALL {
            let id = row.ids[c.index()];
            if id != NONE {
                let end = pos + usize::from(row.lens[c.index()]);
                vals[c.index()] = Some(Val {
                    s: self.text.get(pos..end).unwrap_or(""),
                    id,
                });
                pos = end;
            }
        }
        View {
            vals,
            dob: row.dob,
            dm: row.dm,
        }
    }

    /// The view of a record that is not stored: ids are looked up (not interned), so exact
    /// agreement with stored records and value frequencies still work.
    pub(crate) fn query_view<'a>(&self, p: &'a NormalizedPerson) -> View<'a> {
        let mut vals: [Option<Val<'a>>; Column::COUNT] = [None; Column::COUNT];
        let mut dm = [0u32; 2];
        for c in Column::ALL {
            if let Some(s) = p.get(c) {
                let id = self.dicts[c.dict()].get(s).unwrap_or(NONE);
                vals[c.index()] = Some(Val { s, id });
                if matches!(c, Column::FirstName | Column::LastName) {
                    let code = if id == NONE {
                        metaphone_code(s)
                    } else {
                        self.name_dm[id as usize]
                    };
                    dm[usize::from(c == Column::LastName)] = code;
                }
            }
        }
        View {
            vals,
            dob: p.birth_date.map_or(0, BirthDate::packed),
            dm,
        }
    }

    /// Approximate heap bytes held (for diagnostics).
    pub fn heap_bytes(&self) -> usize {
        let dicts: usize = self
            .dicts
            .iter()
            .map(|d| d.map.keys().map(|k| k.len() + 16).sum::<usize>() + d.map.capacity() * 24)
            .sum();
        let counts: usize = self.counts.iter().map(|c| c.capacity() * 4).sum();
        dicts
            + counts
            + self.rows.capacity() * std::mem::size_of::<Row>()
            + self.text.capacity()
            + self.live.capacity()
            + self.name_dm.capacity() * 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(first: &str, last: &str, city: &str) -> PersonRecord {
        PersonRecord {
            id: format!("{first}-{last}"),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            city: Some(city.into()),
            ..Default::default()
        }
    }

    #[test]
    fn interning_counts_and_removal() {
        let mut s = NormalizedRecords::new();
        let a = s.push(&NormalizedPerson::from_record(
            &rec("Bob", "Smith", "Leeds"),
            None,
        ));
        let b = s.push(&NormalizedPerson::from_record(
            &rec("Robert", "Smith", "York"),
            None,
        ));
        let c = s.push(&NormalizedPerson::from_record(
            &rec("Smith", "Jones", "Leeds"),
            None,
        ));
        let va = s.view(a);
        let vb = s.view(b);
        let vc = s.view(c);
        assert_eq!(
            va.get(Column::FirstName).unwrap().id,
            vb.get(Column::FirstName).unwrap().id
        );
        // Names share one dictionary: "smith" as a first name has the surname's id.
        assert_eq!(
            va.get(Column::LastName).unwrap().id,
            vc.get(Column::FirstName).unwrap().id
        );
        let leeds = va.get(Column::City).unwrap().id;
        assert_eq!(s.count(Column::City, leeds), 2);
        let dm_last = va.dm[1];
        assert!(s.remove(a));
        assert!(!s.remove(a));
        assert_eq!(s.count(Column::City, leeds), 1);
        assert_eq!(s.live_count(), 2);
        assert_eq!(s.value(b, Column::FirstName), Some("robert"));
        assert_ne!(dm_last, 0);
    }

    #[test]
    fn query_view_finds_ids_without_interning() {
        let mut s = NormalizedRecords::new();
        s.push(&NormalizedPerson::from_record(
            &rec("Ann", "Lee", "Bath"),
            None,
        ));
        let q = NormalizedPerson::from_record(&rec("Ann", "Leigh", "Bath"), None);
        let v = s.query_view(&q);
        assert_ne!(v.get(Column::FirstName).unwrap().id, NONE);
        assert_eq!(v.get(Column::LastName).unwrap().id, NONE);
        assert_eq!(s.len(), 1);
        assert_eq!(v.dm[1], metaphone_code("leigh"));
    }

    #[test]
    fn exact_agreement_matches_definition() {
        let mut s = NormalizedRecords::new();
        for city in ["a", "a", "b", "c"] {
            s.push(&NormalizedPerson::from_record(&rec("x", "y", city), None));
        }
        // pairs: 6, agreeing: 1.
        assert!((s.exact_agreement(Column::City) - 1.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn phones_are_read_in_the_records_own_country() {
        let de = super::normalize::phone_region("DE");
        let mut r = rec("Ann", "Lee", "London");
        r.phone = Some("020 7946 0958".into());
        r.country = Some("United Kingdom".into());
        let p = NormalizedPerson::from_record(&r, de);
        assert_eq!(p.get(Column::Phone), Some("+442079460958"));
        r.country = None;
        let p = NormalizedPerson::from_record(&r, de);
        assert_ne!(
            p.get(Column::Phone),
            Some("+442079460958"),
            "read in the default DE"
        );
        r.phone = Some("0044 20 7946 0958".into());
        let p = NormalizedPerson::from_record(&r, de);
        assert_eq!(p.get(Column::Phone), Some("+442079460958"));
    }
}
