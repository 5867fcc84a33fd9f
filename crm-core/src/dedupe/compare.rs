//! Field comparisons: each [`Comparison`] maps a pair of values to one of a few ordered
//! agreement levels (level 0 is "null": one side missing, weight 0; level 1 is the
//! strongest agreement; the last level is "different"). A pair's levels for all
//! comparisons, four bits each, form its comparison vector [`Gamma`].
//!
//! Persons are compared on [`Comparison::ALL`]; companies on [`Comparison::COMPANY`]
//! (their own name and domain comparisons plus the phone, address and country ones).
//! Every comparison keeps its own four bits ([`Comparison::index`]), so a company's
//! comparison vector is a [`Gamma`] too, with the person-only nibbles left at zero.

use serde::{Deserialize, Serialize};

use super::records::{Column, Val, View};

/// A pair's comparison vector: four bits per [`Comparison`] (by [`Comparison::index`]).
pub type Gamma = u64;

/// The fields compared between two records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    /// First name: exact (term-frequency adjusted), swapped with the last name,
    /// Jaro-Winkler >= 0.92, then "similar" (Jaro-Winkler >= 0.80, same Double Metaphone
    /// code, an initial, or names sharing a nickname such as Henry and Harold).
    FirstName,
    /// Last name: exact (term-frequency adjusted), swapped with the first name,
    /// Jaro-Winkler >= 0.92, then "similar" (>= 0.80 or same Double Metaphone code).
    LastName,
    /// Birth date: exact, day and month swapped, one edit (a digit or the year off by one),
    /// two edits.
    BirthDate,
    /// E-mail: exact, same local part, Damerau-Levenshtein <= 2.
    Email,
    /// Phone: exact, same last eight digits, one edit on the last ten digits.
    Phone,
    /// Address (street, flat, postcode, city and region together, since they move
    /// together: counting them separately would count one fact five times): same street
    /// and postcode; same street and city; same postcode; same street in another place or
    /// another flat of the same building; same city; same area (postcode district or
    /// region). Postcode and city levels are term-frequency adjusted.
    Address,
    /// Country: exact.
    Country,
    /// Company: exact, Jaro-Winkler >= 0.90.
    Company,
    /// National id: exact, one edit, two edits.
    NationalId,
    /// Company name (companies only), on the canonical form of
    /// [`normalize_company`](super::normalize::normalize_company) (legal forms, case,
    /// accents, punctuation and word order folded away): exact; one name's words all
    /// contained in the other's (`Northwind` / `Northwind Traders`); Jaro-Winkler >= 0.92
    /// (a typo, `Muller` / `Mueller`); Jaro-Winkler >= 0.85; different.
    CompanyName,
    /// Web and e-mail domains (companies only; free-mail providers excluded): a shared
    /// registrable domain; the same name under another suffix (`northwind.com` /
    /// `northwind.de`); different.
    WebDomain,
}

impl Comparison {
    /// The person comparisons, in [`Gamma`] order (the comparisons of a person
    /// [`Model`](super::Model)).
    pub const ALL: [Comparison; 9] = [
        Comparison::FirstName,
        Comparison::LastName,
        Comparison::BirthDate,
        Comparison::Email,
        Comparison::Phone,
        Comparison::Address,
        Comparison::Country,
        Comparison::Company,
        Comparison::NationalId,
    ];
    /// Number of person comparisons ([`Comparison::ALL`]).
    pub const COUNT: usize = 9;

    /// The company comparisons, in [`Gamma`] order.
    pub const COMPANY: [Comparison; 5] = [
        Comparison::Phone,
        Comparison::Address,
        Comparison::Country,
        Comparison::CompanyName,
        Comparison::WebDomain,
    ];

    /// Position in [`Comparison::ALL`] and in [`Gamma`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The field name (`first_name`, `birth_date`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Comparison::BirthDate => "birth_date",
            Comparison::Address => "address",
            Comparison::CompanyName => "company_name",
            Comparison::WebDomain => "web_domain",
            other => other.column().map_or("?", Column::name),
        }
    }

    /// The names of the non-null levels, strongest first (level `k` is `levels()[k-1]`).
    pub fn levels(self) -> &'static [&'static str] {
        match self {
            Comparison::FirstName => &["exact", "swapped", "jw_0.92", "similar", "different"],
            Comparison::LastName => &["exact", "swapped", "jw_0.92", "similar", "different"],
            Comparison::BirthDate => &[
                "exact",
                "day_month_swapped",
                "one_edit",
                "two_edits",
                "different",
            ],
            Comparison::Email => &["exact", "same_local_part", "edits_le_2", "different"],
            Comparison::Phone => &["exact", "same_last_8", "one_edit", "different"],
            Comparison::Address => &[
                "street_and_postcode",
                "street_and_city",
                "postcode",
                "same_street_elsewhere_or_other_flat",
                "city",
                "area",
                "different",
            ],
            Comparison::Country => &["exact", "different"],
            Comparison::Company => &["exact", "jw_0.90", "different"],
            Comparison::NationalId => &["exact", "one_edit", "two_edits", "different"],
            Comparison::CompanyName => &[
                "exact",
                "words_contained",
                "jw_0.92",
                "jw_0.85",
                "different",
            ],
            Comparison::WebDomain => &["exact", "same_name_other_suffix", "different"],
        }
    }

    /// The name of level `level` (0 is `"null"`).
    pub fn level_name(self, level: u8) -> &'static str {
        if level == 0 {
            return "null";
        }
        self.levels()
            .get(usize::from(level) - 1)
            .copied()
            .unwrap_or("?")
    }

    /// The column compared (none for the birth date, which is not text, and the address,
    /// which spans several columns).
    pub fn column(self) -> Option<Column> {
        Some(match self {
            Comparison::FirstName => Column::FirstName,
            Comparison::LastName => Column::LastName,
            Comparison::BirthDate | Comparison::Address => return None,
            Comparison::CompanyName => Column::Company,
            Comparison::WebDomain => Column::Email,
            Comparison::Email => Column::Email,
            Comparison::Phone => Column::Phone,
            Comparison::Country => Column::Country,
            Comparison::Company => Column::Company,
            Comparison::NationalId => Column::NationalId,
        })
    }

    /// The column whose value frequency adjusts level `level`, if any: the exact level of
    /// first and last name, the postcode levels and the city level of the address. The
    /// adjustment applies only when both records hold the identical value.
    pub fn term_frequency_column(self, level: u8) -> Option<Column> {
        match (self, level) {
            (Comparison::FirstName, 1) => Some(Column::FirstName),
            (Comparison::LastName, 1) => Some(Column::LastName),
            (Comparison::Address, 1 | 3) => Some(Column::Postcode),
            (Comparison::Address, 2 | 5) => Some(Column::City),
            _ => None,
        }
    }

    /// Whether some level is term-frequency adjusted.
    pub fn term_frequency_adjusted(self) -> bool {
        (1..=self.levels().len() as u8).any(|l| self.term_frequency_column(l).is_some())
    }
}

/// The level of comparison `c` within `g`.
#[inline]
pub fn level_of(g: Gamma, c: Comparison) -> u8 {
    ((g >> (4 * c.index())) & 0xF) as u8
}

/// Jaro-Winkler similarity, exactly strsim's definition. ASCII strings of up to 64 bytes
/// (nearly every name) take an allocation-free byte path with bit-mask match flags; the
/// rest go to `strsim::jaro_winkler`. A proptest checks both agree.
#[inline]
pub fn jaro_winkler(a: &str, b: &str) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if !(a.is_ascii() && b.is_ascii() && x.len() <= 64 && y.len() <= 64) {
        return strsim::jaro_winkler(a, b);
    }
    if x.is_empty() && y.is_empty() {
        return 1.0;
    }
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    let range = (x.len().max(y.len()) / 2).saturating_sub(1);
    let (mut fx, mut fy) = (0u64, 0u64);
    let mut matches = 0usize;
    for (i, &cx) in x.iter().enumerate() {
        let lo = i.saturating_sub(range);
        let hi = (i + range + 1).min(y.len());
        for (j, &cy) in y.iter().enumerate().take(hi).skip(lo) {
            if fy & (1 << j) == 0 && cy == cx {
                fx |= 1 << i;
                fy |= 1 << j;
                matches += 1;
                break;
            }
        }
    }
    if matches == 0 {
        return 0.0;
    }
    let mut transpositions = 0usize;
    let mut j = 0usize;
    for (i, &cx) in x.iter().enumerate() {
        if fx & (1 << i) != 0 {
            while fy & (1 << j) == 0 {
                j += 1;
            }
            if y[j] != cx {
                transpositions += 1;
            }
            j += 1;
        }
    }
    let m = matches as f64;
    let jaro =
        (m / x.len() as f64 + m / y.len() as f64 + (m - (transpositions / 2) as f64) / m) / 3.0;
    if jaro > 0.7 {
        let prefix = x.iter().zip(y).take(4).take_while(|(p, q)| p == q).count();
        jaro + 0.1 * prefix as f64 * (1.0 - jaro)
    } else {
        jaro
    }
}

/// Optimal-string-alignment distance (Damerau-Levenshtein with adjacent transpositions),
/// capped: returns `cap + 1` as soon as the distance is known to exceed `cap`.
pub fn edit_distance_capped(a: &str, b: &str, cap: usize) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len().abs_diff(b.len()) > cap {
        return cap + 1;
    }
    if a == b {
        return 0;
    }
    if a.is_ascii() && b.is_ascii() && a.len() <= 64 && b.len() <= 64 {
        return osa_banded(a, b, cap);
    }
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(x), Ok(y)) => strsim::osa_distance(x, y).min(cap + 1),
        _ => cap + 1,
    }
}

/// OSA distance of two short byte strings, capped at `cap + 1`: only the cells within
/// `cap` of the diagonal are computed (others cannot lead to a distance within the cap),
/// and the scan stops once a whole row exceeds the cap.
fn osa_banded(a: &[u8], b: &[u8], cap: usize) -> usize {
    const BIG: usize = usize::MAX / 4;
    let (n, m) = (a.len(), b.len());
    let mut prev2 = [BIG; 65];
    let mut prev = [BIG; 65];
    let mut cur = [BIG; 65];
    for (j, p) in prev.iter_mut().enumerate().take(m.min(cap) + 1) {
        *p = j;
    }
    for i in 1..=n {
        let lo = i.saturating_sub(cap).max(1);
        let hi = (i + cap).min(m);
        cur[0] = if i <= cap { i } else { BIG };
        if lo > 1 {
            cur[lo - 1] = BIG;
        }
        let mut row_min = cur[0];
        for j in lo..=hi {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if hi < m {
            cur[hi + 1] = BIG;
        }
        if row_min > cap {
            return cap + 1;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[m].min(cap + 1)
}

/// Whether two values of one column are identical: by id when both are stored (one
/// dictionary per column, so distinct ids mean distinct strings), else by text.
#[inline]
fn same(a: Val<'_>, b: Val<'_>) -> bool {
    use super::records::NONE;
    if a.id != NONE && b.id != NONE {
        a.id == b.id
    } else {
        a.s == b.s
    }
}

/// Jaro-Winkler similarity when it may reach `min`, else 0.0. An upper bound from the
/// letters the strings share (a match needs the same character on both sides) rejects most
/// unrelated pairs before the quadratic matching step.
#[inline]
pub fn jaro_winkler_at_least(a: &str, b: &str, min: f64) -> f64 {
    let (x, y) = (a.as_bytes(), b.as_bytes());
    if x.is_empty() || y.is_empty() || !a.is_ascii() || !b.is_ascii() {
        return jaro_winkler(a, b);
    }
    let mask = |s: &[u8]| s.iter().fold(0u64, |m, &c| m | (1u64 << (c & 63)));
    let (mx, my) = (mask(x), mask(y));
    let in_y = x.iter().filter(|&&c| my & (1u64 << (c & 63)) != 0).count();
    let in_x = y.iter().filter(|&&c| mx & (1u64 << (c & 63)) != 0).count();
    let m = in_y.min(in_x) as f64;
    let jaro_max = (m / x.len() as f64 + m / y.len() as f64 + 1.0) / 3.0;
    let jw_max = jaro_max.max(0.6 * jaro_max + 0.4);
    if jw_max < min {
        return 0.0;
    }
    jaro_winkler(a, b)
}

/// Level of a name comparison (first or last): exact, swapped, JW bands, phonetic.
#[inline]
fn name_level(a: &View<'_>, b: &View<'_>, col: Column, other: Column, dm: usize) -> u8 {
    let (Some(x), Some(y)) = (a.get(col), b.get(col)) else {
        // A missing name can still be present on the other side swapped; stay null.
        return 0;
    };
    if same(x, y) {
        return 1;
    }
    if let (Some(xo), Some(yo)) = (a.get(other), b.get(other)) {
        // Fuzzy halves of a swap must at least share their first letter (cheap filter).
        let close = |p: Val<'_>, q: Val<'_>| {
            same(p, q)
                || (p.s.as_bytes().first() == q.s.as_bytes().first()
                    && jaro_winkler_at_least(p.s, q.s, 0.92) >= 0.92)
        };
        if close(x, yo) && close(xo, y) {
            return 2;
        }
    }
    let jw = jaro_winkler_at_least(x.s, y.s, 0.80);
    if jw >= 0.92 {
        return 3;
    }
    if jw >= 0.80 || (a.dm[dm] != 0 && a.dm[dm] == b.dm[dm]) {
        return 4;
    }
    if col == Column::FirstName && super::normalize::related_first_names(x.s, y.s) {
        return 4;
    }
    if col == Column::FirstName
        && (x.s.len() == 1 || y.s.len() == 1)
        && x.s.as_bytes().first() == y.s.as_bytes().first()
    {
        return 4;
    }
    5
}

/// Level of a plain string comparison with Jaro-Winkler bands `bands` (descending).
#[inline]
fn jw_level(a: &View<'_>, b: &View<'_>, col: Column, bands: &[f64]) -> u8 {
    let (Some(x), Some(y)) = (a.get(col), b.get(col)) else {
        return 0;
    };
    if same(x, y) {
        return 1;
    }
    if !bands.is_empty() {
        let jw = jaro_winkler_at_least(x.s, y.s, bands[bands.len() - 1]);
        for (k, &t) in bands.iter().enumerate() {
            if jw >= t {
                return 2 + k as u8;
            }
        }
    }
    2 + bands.len() as u8
}

/// Last `n` bytes of `s` (all of it when shorter).
fn tail(s: &str, n: usize) -> &str {
    let b = s.as_bytes();
    let start = b.len().saturating_sub(n);
    // Phones are ASCII; fall back to the whole string otherwise.
    s.get(start..).unwrap_or(s)
}

/// Level of the birth-date comparison.
#[inline]
fn date_level(a: u32, b: u32) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    if a == b {
        return 1;
    }
    let (ya, ma, da) = (a / 10_000, (a / 100) % 100, a % 100);
    let (yb, mb, db) = (b / 10_000, (b / 100) % 100, b % 100);
    if ya == yb && ma == db && da == mb {
        return 2;
    }
    if ma == mb && da == db && ya.abs_diff(yb) == 1 {
        return 3;
    }
    // Digit edits on the packed YYYYMMDD form.
    let (mut x, mut y) = (a, b);
    let mut diffs = 0;
    let mut dx = [0u32; 8];
    let mut dy = [0u32; 8];
    for k in 0..8 {
        dx[k] = x % 10;
        dy[k] = y % 10;
        if dx[k] != dy[k] {
            diffs += 1;
        }
        x /= 10;
        y /= 10;
    }
    if diffs == 1 {
        return 3;
    }
    // One adjacent transposition counts as one edit.
    if diffs == 2 {
        for k in 0..7 {
            if dx[k] != dy[k] {
                if dx[k] == dy[k + 1] && dx[k + 1] == dy[k] {
                    return 3;
                }
                break;
            }
        }
        return 4;
    }
    5
}

/// Agreement of one address part: 3 identical, 2 Jaro-Winkler >= `close`, 0 different,
/// `None` when a side is missing.
fn part(a: &View<'_>, b: &View<'_>, col: Column, close: f64) -> Option<u8> {
    let (x, y) = (a.get(col)?, b.get(col)?);
    if same(x, y) {
        return Some(3);
    }
    Some(if jaro_winkler_at_least(x.s, y.s, close) >= close {
        2
    } else {
        0
    })
}

/// Whether both records name a flat or suite and the numbers differ (`apt 11` vs `apt
/// 12`): the same building, another household.
fn line2_conflict(a: &View<'_>, b: &View<'_>) -> bool {
    let (Some(x), Some(y)) = (a.get(Column::AddressLine2), b.get(Column::AddressLine2)) else {
        return false;
    };
    if same(x, y) {
        return false;
    }
    let digits = |s: &str| {
        s.bytes().filter(u8::is_ascii_digit).fold(0u64, |h, d| {
            h.wrapping_mul(11).wrapping_add(u64::from(d - b'0') + 1)
        })
    };
    let (dx, dy) = (digits(x.s), digits(y.s));
    if dx != 0 && dy != 0 {
        dx != dy
    } else {
        jaro_winkler_at_least(x.s, y.s, 0.88) < 0.88
    }
}

/// Level of the combined address comparison (see [`Comparison::Address`]).
fn address_level(a: &View<'_>, b: &View<'_>) -> u8 {
    let city = part(a, b, Column::City, 0.88);
    let postcode = match (a.get(Column::Postcode), b.get(Column::Postcode)) {
        (Some(x), Some(y)) => Some(if same(x, y) {
            3
        } else if edit_distance_capped(x.s, y.s, 1) <= 1 {
            2
        } else if x.s.len() >= 4 && y.s.len() >= 4 && x.s.get(..3) == y.s.get(..3) {
            1
        } else {
            0
        }),
        _ => None,
    };
    let city_same = city.is_some_and(|c| c >= 2);
    let postcode_same = postcode.is_some_and(|p| p >= 2);
    // Street spellings are compared fuzzily only where the place agrees (the levels that
    // need it); elsewhere only an identical street counts, which saves the costliest
    // string comparison on most candidate pairs.
    let street = match (a.get(Column::Street), b.get(Column::Street)) {
        (Some(x), Some(y)) => Some(
            same(x, y)
                || ((postcode_same || city_same) && jaro_winkler_at_least(x.s, y.s, 0.92) >= 0.92),
        ),
        _ => None,
    };
    if street.is_none() && city.is_none() && postcode.is_none() {
        return 0;
    }
    let street_same = street == Some(true);
    let line2_conflict = street_same && line2_conflict(a, b);
    if street_same && (postcode_same || (postcode.is_none() && city_same)) {
        return if line2_conflict { 4 } else { 1 };
    }
    if street_same && city_same {
        return if line2_conflict { 4 } else { 2 };
    }
    if postcode == Some(3) {
        return 3;
    }
    if street_same {
        return 4;
    }
    if city_same || postcode == Some(2) {
        return 5;
    }
    if postcode == Some(1) || part(a, b, Column::Region, 0.88).is_some_and(|r| r >= 2) {
        return 6;
    }
    7
}

/// The comparison level of `c` for the pair `(a, b)`.
pub(crate) fn level(c: Comparison, a: &View<'_>, b: &View<'_>) -> u8 {
    match c {
        Comparison::FirstName => name_level(a, b, Column::FirstName, Column::LastName, 0),
        Comparison::LastName => name_level(a, b, Column::LastName, Column::FirstName, 1),
        Comparison::BirthDate => date_level(a.dob, b.dob),
        Comparison::Email => {
            let (Some(x), Some(y)) = (a.get(Column::Email), b.get(Column::Email)) else {
                return 0;
            };
            if same(x, y) {
                return 1;
            }
            match (x.s.split_once('@'), y.s.split_once('@')) {
                (Some((lx, _)), Some((ly, _))) if lx == ly && lx.len() >= 3 => return 2,
                _ => {}
            }
            if edit_distance_capped(x.s, y.s, 2) <= 2 {
                3
            } else {
                4
            }
        }
        Comparison::Phone => {
            let (Some(x), Some(y)) = (a.get(Column::Phone), b.get(Column::Phone)) else {
                return 0;
            };
            if same(x, y) {
                return 1;
            }
            if x.s.len() >= 8 && y.s.len() >= 8 && tail(x.s, 8) == tail(y.s, 8) {
                return 2;
            }
            if edit_distance_capped(tail(x.s, 10), tail(y.s, 10), 1) <= 1 {
                3
            } else {
                4
            }
        }
        Comparison::Address => address_level(a, b),
        Comparison::Country => jw_level(a, b, Column::Country, &[]),
        Comparison::Company => jw_level(a, b, Column::Company, &[0.90]),
        Comparison::CompanyName => company_name_level(a, b),
        Comparison::WebDomain => domain_level(a, b),
        Comparison::NationalId => {
            let (Some(x), Some(y)) = (a.get(Column::NationalId), b.get(Column::NationalId)) else {
                return 0;
            };
            if same(x, y) {
                return 1;
            }
            match edit_distance_capped(x.s, y.s, 2) {
                1 => 2,
                2 => 3,
                _ => 4,
            }
        }
    }
}

/// Whether every word of `short` is a word of `long` (both canonical company names,
/// words sorted and separated by one space) and the shared words have at least four
/// letters: `northwind` within `northwind traders`, not `ab` within `ab tools`.
fn words_contained(short: &str, long: &str) -> bool {
    let long_words: Vec<&str> = long.split(' ').collect();
    let mut letters = 0;
    for w in short.split(' ') {
        if !long_words.contains(&w) {
            return false;
        }
        letters += w.len();
    }
    letters >= 4
}

/// Level of the company-name comparison (see [`Comparison::CompanyName`]).
fn company_name_level(a: &View<'_>, b: &View<'_>) -> u8 {
    let (Some(x), Some(y)) = (a.get(Column::Company), b.get(Column::Company)) else {
        return 0;
    };
    if same(x, y) {
        return 1;
    }
    let (short, long) = if x.s.len() <= y.s.len() {
        (x.s, y.s)
    } else {
        (y.s, x.s)
    };
    if words_contained(short, long) {
        return 2;
    }
    let jw = jaro_winkler_at_least(x.s, y.s, 0.85);
    if jw >= 0.92 {
        3
    } else if jw >= 0.85 {
        4
    } else {
        5
    }
}

/// The name part of a registrable domain (`northwind` of `northwind.co.uk`).
pub(crate) fn domain_name_part(domain: &str) -> &str {
    domain.split('.').next().unwrap_or(domain)
}

/// Level of the domain comparison: the column holds a record's registrable domains,
/// sorted and separated by one space (see [`Comparison::WebDomain`]).
fn domain_level(a: &View<'_>, b: &View<'_>) -> u8 {
    let (Some(x), Some(y)) = (a.get(Column::Email), b.get(Column::Email)) else {
        return 0;
    };
    if same(x, y) || x.s.split(' ').any(|d| y.s.split(' ').any(|e| d == e)) {
        return 1;
    }
    let shared_name = x.s.split(' ').any(|d| {
        y.s.split(' ')
            .any(|e| domain_name_part(d) == domain_name_part(e))
    });
    if shared_name {
        2
    } else {
        3
    }
}

/// The comparison vector of the pair `(a, b)` over `comparisons`.
pub(crate) fn gamma_of(comparisons: &[Comparison], a: &View<'_>, b: &View<'_>) -> Gamma {
    let mut g: Gamma = 0;
    for &c in comparisons {
        g |= Gamma::from(level(c, a, b)) << (4 * c.index());
    }
    g
}

/// The comparison vector of the pair `(a, b)`.
pub(crate) fn gamma(a: &View<'_>, b: &View<'_>) -> Gamma {
    let mut g: Gamma = 0;
    for c in Comparison::ALL {
        g |= Gamma::from(level(c, a, b)) << (4 * c.index());
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dedupe::records::{NormalizedPerson, NormalizedRecords};
    use crate::dedupe::PersonRecord;

    fn view_pair(a: PersonRecord, b: PersonRecord) -> Gamma {
        let mut s = NormalizedRecords::new();
        let i = s.push(&NormalizedPerson::from_record(&a, None));
        let j = s.push(&NormalizedPerson::from_record(&b, None));
        gamma(&s.view(i), &s.view(j))
    }

    fn person(first: &str, last: &str, dob: &str) -> PersonRecord {
        PersonRecord {
            id: "x".into(),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            birth_date: Some(dob.into()),
            ..Default::default()
        }
    }

    #[test]
    fn name_levels() {
        let g = view_pair(person("Bob", "Smith", ""), person("Robert", "Smith", ""));
        assert_eq!(level_of(g, Comparison::FirstName), 1);
        assert_eq!(level_of(g, Comparison::LastName), 1);
        assert_eq!(level_of(g, Comparison::BirthDate), 0);
        let g = view_pair(person("John", "Smith", ""), person("Smith", "John", ""));
        assert_eq!(level_of(g, Comparison::FirstName), 2);
        assert_eq!(level_of(g, Comparison::LastName), 2);
        let g = view_pair(
            person("Jonathon", "Smyth", ""),
            person("Jonathan", "Smith", ""),
        );
        assert_eq!(level_of(g, Comparison::FirstName), 3);
        assert!(level_of(g, Comparison::LastName) <= 4);
        let g = view_pair(person("J", "Brown", ""), person("John", "Green", ""));
        assert_eq!(level_of(g, Comparison::FirstName), 4);
        assert_eq!(level_of(g, Comparison::LastName), 5);
    }

    #[test]
    fn date_levels() {
        let d = |s: &str| crate::dedupe::normalize::parse_birth_date(s).map_or(0, |d| d.packed());
        assert_eq!(date_level(d("1980-07-03"), d("1980-07-03")), 1);
        assert_eq!(date_level(d("1980-07-03"), d("1980-03-07")), 2);
        assert_eq!(date_level(d("1980-07-03"), d("1981-07-03")), 3);
        assert_eq!(date_level(d("1979-07-03"), d("1980-07-03")), 3);
        assert_eq!(date_level(d("1980-07-03"), d("1980-07-08")), 3);
        assert_eq!(date_level(d("1980-07-13"), d("1980-07-31")), 3);
        assert_eq!(date_level(d("1980-07-13"), d("1980-08-14")), 4);
        assert_eq!(date_level(d("1980-07-03"), d("1955-12-25")), 5);
        assert_eq!(date_level(0, d("1955-12-25")), 0);
    }

    #[test]
    fn contact_levels() {
        let r = |email: &str, phone: &str, pc: &str, nid: &str| PersonRecord {
            id: "x".into(),
            email: Some(email.into()),
            phone: Some(phone.into()),
            postcode: Some(pc.into()),
            national_id: Some(nid.into()),
            ..Default::default()
        };
        let g = view_pair(
            r(
                "a.b+x@gmail.com",
                "+44 7700 900123",
                "SW1A 1AA",
                "123456789",
            ),
            r("ab@gmail.com", "+447700900123", "sw1a1aa", "123456789"),
        );
        for c in [Comparison::Email, Comparison::Phone, Comparison::NationalId] {
            assert_eq!(level_of(g, c), 1, "{c:?}");
        }
        let g = view_pair(
            r("jsmith@yahoo.com", "+447700900123", "SW1A1AA", "123456789"),
            r("jsmith@aol.com", "+447700900132", "SW1A1AB", "123456798"),
        );
        assert_eq!(level_of(g, Comparison::Email), 2);
        assert_eq!(level_of(g, Comparison::Phone), 3);
        assert_eq!(level_of(g, Comparison::Address), 5);
        assert_eq!(level_of(g, Comparison::NationalId), 2);
        let g = view_pair(
            r("x@y.com", "02079460000", "SW1A9ZZ", "999999999"),
            r("qq@zz.org", "01632960001", "SW1B1AA", "123456789"),
        );
        assert_eq!(level_of(g, Comparison::Email), 4);
        assert_eq!(level_of(g, Comparison::Phone), 4);
        assert_eq!(level_of(g, Comparison::Address), 6);
        assert_eq!(level_of(g, Comparison::NationalId), 4);
    }

    #[test]
    fn address_levels() {
        let r = |street: &str, line2: &str, city: &str, pc: &str| PersonRecord {
            id: "x".into(),
            street: Some(street.into()),
            address_line2: Some(line2.into()),
            city: Some(city.into()),
            postcode: Some(pc.into()),
            region: Some("Kent".into()),
            ..Default::default()
        };
        let lvl = |x, y| level_of(view_pair(x, y), Comparison::Address);
        assert_eq!(
            lvl(
                r("1 High Street", "", "Leeds", "LS1 1AA"),
                r("1 High St", "", "leeds", "LS11AA")
            ),
            1
        );
        assert_eq!(
            lvl(
                r("1 High Street", "", "Leeds", "LS1 1AA"),
                r("1 High St", "", "Leeds", "LS9 9ZZ")
            ),
            2
        );
        assert_eq!(
            lvl(
                r("1 High Street", "", "Leeds", "LS1 1AA"),
                r("7 Low Road", "", "Leeds", "LS1 1AA")
            ),
            3
        );
        assert_eq!(
            lvl(
                r("1 High St", "Flat 1", "Leeds", "LS1 1AA"),
                r("1 High St", "Flat 2", "Leeds", "LS1 1AA")
            ),
            4
        );
        assert_eq!(
            lvl(
                r("1 High St", "", "Leeds", "LS1 1AA"),
                r("9 Mill Rd", "", "Leeds", "LS7 4BB")
            ),
            5
        );
        assert_eq!(
            lvl(
                r("1 High St", "", "Leeds", "LS1 1AA"),
                r("9 Mill Rd", "", "York", "YO7 4BB")
            ),
            6
        );
        let none = PersonRecord {
            id: "y".into(),
            ..Default::default()
        };
        assert_eq!(lvl(r("1 High St", "", "Leeds", "LS1 1AA"), none), 0);
    }

    #[test]
    fn level_names_cover_every_level() {
        for c in Comparison::ALL.into_iter().chain(Comparison::COMPANY) {
            assert!(c.levels().len() < 16);
            assert_eq!(c.level_name(0), "null");
            assert_eq!(*c.levels().last().unwrap(), "different");
        }
    }

    proptest::proptest! {
        #[test]
        fn byte_jaro_winkler_matches_strsim(a in "[a-z ]{0,20}", b in "[a-z ]{0,20}") {
            proptest::prop_assert!((jaro_winkler(&a, &b) - strsim::jaro_winkler(&a, &b)).abs() < 1e-12);
        }

        #[test]
        fn bounded_jaro_winkler_never_rejects_a_pass(a in "[a-h ]{0,12}", b in "[a-h ]{0,12}", min in 0.5f64..1.0) {
            let full = jaro_winkler(&a, &b);
            let bounded = jaro_winkler_at_least(&a, &b, min);
            proptest::prop_assert!(bounded == full || (bounded == 0.0 && full < min));
        }

        #[test]
        fn capped_edit_distance_matches_strsim(a in "[a-e]{0,12}", b in "[a-e]{0,12}", cap in 0usize..4) {
            let d = strsim::osa_distance(&a, &b);
            proptest::prop_assert_eq!(edit_distance_capped(&a, &b, cap), d.min(cap + 1));
        }
    }
}
