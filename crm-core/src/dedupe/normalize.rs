//! Normalisers: turn the free text of a [`PersonRecord`](super::PersonRecord) into the
//! canonical forms that blocking and comparison work on.
//!
//! Every function here is total: any Unicode input yields either `None` (nothing usable)
//! or a canonical string, and none of them panics (a proptest checks that). The canonical
//! forms are:
//!
//! - **names**: Unicode NFKD, combining marks dropped, lower-case, letters and digits only,
//!   tokens joined by one space; first names go through a nickname table
//!   (`bob` -> `robert`).
//! - **e-mail**: lower-case without blanks; for Gmail the dots and `+tag` of the local part
//!   go, for other providers that support sub-addressing the `+tag` goes.
//! - **phone**: E.164 (`+447700900123`) when the `phonenumber` crate accepts the number in the
//!   configured default region, else its digits.
//! - **addresses**: tokens with every street-type and direction word in one abbreviated form
//!   (`Street` and `St` both become `st`).
//! - **employer** (of a person): name without legal-form suffixes (`Acme Ltd` -> `acme`);
//!   **company names** (of company records): legal forms of many countries, connecting
//!   words and German `ue`-spellings folded away, words sorted;
//! - **domains**: the registrable domain of a web address or e-mail address, free-mail
//!   providers excluded.
//! - **dates**: [`BirthDate`] from ISO, compact, dotted or slashed forms.

use serde::{Deserialize, Serialize};
use unicode_normalization::UnicodeNormalization;

/// Longest value (in bytes) a normaliser looks at; longer input is cut (on a character
/// boundary) so that one pathological cell cannot make comparisons quadratic and slow.
pub const MAX_FIELD_BYTES: usize = 256;

/// Cuts `s` to at most [`MAX_FIELD_BYTES`] bytes on a character boundary.
fn clip(s: &str) -> &str {
    if s.len() <= MAX_FIELD_BYTES {
        return s;
    }
    let mut end = MAX_FIELD_BYTES;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Folds `s` to lower-case alphanumeric tokens separated by single spaces: NFKD, combining
/// marks dropped, everything that is not a letter or digit acts as a separator, except
/// apostrophes, which are dropped (`O'Brien` -> `obrien`).
pub fn fold(s: &str) -> String {
    let s = clip(s);
    if s.is_ascii() {
        return fold_ascii(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for c in s.nfkd() {
        if unicode_normalization::char::is_combining_mark(c) {
            continue;
        }
        if matches!(c, '\'' | '\u{2019}' | '\u{2018}' | '`' | '\u{b4}') {
            continue;
        }
        if c.is_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            // `to_lowercase` may expand to several chars (e.g. 'İ'); keep only alphanumerics.
            for l in c.to_lowercase() {
                if l.is_alphanumeric() {
                    out.push(l);
                }
            }
            // Special folds that NFKD leaves alone.
            match out.pop() {
                Some('ß') => out.push_str("ss"),
                Some('æ') => out.push_str("ae"),
                Some('œ') => out.push_str("oe"),
                Some('ø') => out.push('o'),
                Some('ð') => out.push('d'),
                Some('þ') => out.push_str("th"),
                Some('ł') => out.push('l'),
                Some('đ') => out.push('d'),
                Some('ı') => out.push('i'),
                Some(other) => out.push(other),
                None => {}
            }
        } else {
            pending_space = true;
        }
    }
    out
}

/// [`fold`] for ASCII input, which NFKD leaves unchanged: the same result without the
/// Unicode tables.
fn fold_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut pending_space = false;
    for b in s.bytes() {
        if matches!(b, b'\'' | b'`') {
            continue;
        }
        if b.is_ascii_alphanumeric() {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push(char::from(b.to_ascii_lowercase()));
        } else {
            pending_space = true;
        }
    }
    out
}

/// `Some(s)` unless `s` is empty.
fn non_empty(s: String) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(s)
    }
}

/// Honorifics and generational suffixes removed from names.
const NAME_NOISE: &[&str] = &[
    "mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sir", "dame", "rev", "jr", "jnr", "sr", "snr",
    "ii", "iii", "iv", "phd", "md", "esq",
];

/// Canonical form of a surname (or any name part without nickname mapping): folded, with
/// honorifics and generational suffixes removed. `None` when nothing is left.
pub fn normalize_name(s: &str) -> Option<String> {
    let folded = fold(s);
    if !folded.contains(' ') {
        return non_empty(folded);
    }
    let kept: Vec<&str> = folded
        .split(' ')
        .filter(|t| !NAME_NOISE.contains(t))
        .collect();
    if kept.is_empty() {
        // Only noise words: keep them rather than lose the value.
        return non_empty(folded);
    }
    Some(kept.join(" "))
}

/// Canonical form of a first name: [`normalize_name`] and then the nickname table on each
/// token (`Bob` -> `robert`, `Liz` -> `elizabeth`).
pub fn normalize_first_name(s: &str) -> Option<String> {
    let n = normalize_name(s)?;
    if !n.contains(' ') {
        return Some(canonical_first_name(&n).unwrap_or(&n).to_string());
    }
    let mapped: Vec<&str> = n
        .split(' ')
        .map(|t| canonical_first_name(t).unwrap_or(t))
        .collect();
    Some(mapped.join(" "))
}

/// Splits a full name into `(first, last)` canonical forms. Accepts `First Middle Last`
/// and `Last, First`; honorifics and suffixes are dropped; a single token is taken as
/// the last name. The first name goes through the nickname table.
pub fn split_full_name(s: &str) -> (Option<String>, Option<String>) {
    let s = clip(s);
    if let Some((last, first)) = s.split_once(',') {
        let last = normalize_name(last);
        let first = first
            .split_whitespace()
            .find_map(normalize_first_name)
            .and_then(|f| f.split(' ').next().map(str::to_string));
        if last.is_some() || first.is_some() {
            return (first, last);
        }
    }
    let Some(n) = normalize_name(s) else {
        return (None, None);
    };
    let tokens: Vec<&str> = n.split(' ').collect();
    match tokens.as_slice() {
        [] => (None, None),
        [only] => (None, Some((*only).to_string())),
        [first, .., last] => (
            Some(canonical_first_name(first).unwrap_or(first).to_string()),
            Some((*last).to_string()),
        ),
    }
}

/// Nickname (or spelling variant) -> the given names it stands for, the canonical one
/// first (keys sorted for binary search). Common English diminutives: `bob` -> `robert`;
/// a nickname of several names lists them all (`harry` -> `henry`, `harold`), which
/// [`related_first_names`] uses.
const NICKNAMES: &[(&str, &[&str])] = &[
    ("abbie", &["abigail"]),
    ("abby", &["abigail"]),
    ("abe", &["abraham"]),
    ("al", &["albert"]),
    ("alex", &["alexander", "alexandra"]),
    ("alf", &["alfred"]),
    ("alfie", &["alfred"]),
    ("ana", &["anastasia"]),
    ("andy", &["andrew"]),
    ("anne", &["ann"]),
    ("annie", &["ann"]),
    ("ant", &["anthony"]),
    ("art", &["arthur"]),
    ("babs", &["barbara"]),
    ("barb", &["barbara"]),
    ("bea", &["beatrice"]),
    ("becca", &["rebecca"]),
    ("becky", &["rebecca"]),
    ("bella", &["isabella"]),
    ("ben", &["benjamin"]),
    ("benny", &["benjamin"]),
    ("bernie", &["bernard"]),
    ("bert", &["robert", "albert"]),
    ("bess", &["elizabeth"]),
    ("bessie", &["elizabeth"]),
    ("beth", &["elizabeth"]),
    ("betsy", &["elizabeth"]),
    ("betty", &["elizabeth"]),
    ("bill", &["william"]),
    ("billy", &["william"]),
    ("bob", &["robert"]),
    ("bobbie", &["robert"]),
    ("bobby", &["robert"]),
    ("carrie", &["caroline"]),
    ("cat", &["katherine"]),
    ("catherine", &["katherine"]),
    ("cathy", &["katherine"]),
    ("charlie", &["charles"]),
    ("chas", &["charles"]),
    ("chris", &["christopher", "christine", "christina"]),
    ("chrissy", &["christine"]),
    ("chuck", &["charles"]),
    ("cindy", &["cynthia"]),
    ("dan", &["daniel"]),
    ("danny", &["daniel"]),
    ("dave", &["david"]),
    ("davey", &["david"]),
    ("davy", &["david"]),
    ("deb", &["deborah"]),
    ("debbie", &["deborah"]),
    ("debra", &["deborah"]),
    ("dick", &["richard"]),
    ("dolly", &["dorothy"]),
    ("dom", &["dominic"]),
    ("don", &["donald"]),
    ("donnie", &["donald"]),
    ("donny", &["donald"]),
    ("dot", &["dorothy"]),
    ("dottie", &["dorothy"]),
    ("dotty", &["dorothy"]),
    ("doug", &["douglas"]),
    ("drew", &["andrew"]),
    ("ed", &["edward"]),
    ("eddie", &["edward"]),
    ("eddy", &["edward"]),
    ("eliza", &["elizabeth"]),
    ("ellie", &["eleanor"]),
    ("flo", &["florence"]),
    ("florrie", &["florence"]),
    ("fran", &["francis", "frances"]),
    ("frank", &["francis"]),
    ("frankie", &["francis", "frances"]),
    ("fred", &["frederick"]),
    ("freddie", &["frederick"]),
    ("freddy", &["frederick"]),
    ("gabe", &["gabriel"]),
    ("gen", &["genevieve"]),
    ("geoffrey", &["jeffrey"]),
    ("gerry", &["gerald"]),
    ("gill", &["gillian"]),
    ("ginny", &["virginia"]),
    ("greg", &["gregory"]),
    ("gwen", &["gwendolyn"]),
    ("hal", &["henry", "harold"]),
    ("hank", &["henry"]),
    ("harry", &["henry", "harold"]),
    ("hattie", &["harriet"]),
    ("isabel", &["isabella"]),
    ("isabelle", &["isabella"]),
    ("izzy", &["isabella"]),
    ("jack", &["john"]),
    ("jackie", &["jacqueline"]),
    ("jacqui", &["jacqueline"]),
    ("jamie", &["james"]),
    ("jan", &["janet"]),
    ("jeff", &["jeffrey"]),
    ("jeffery", &["jeffrey"]),
    ("jen", &["jennifer"]),
    ("jenny", &["jennifer"]),
    ("jerry", &["gerald"]),
    ("jess", &["jessica"]),
    ("jessie", &["jessica"]),
    ("jill", &["gillian"]),
    ("jim", &["james"]),
    ("jimmy", &["james"]),
    ("jo", &["josephine", "joanne"]),
    ("joe", &["joseph"]),
    ("joey", &["joseph"]),
    ("johnny", &["john"]),
    ("jon", &["jonathan"]),
    ("jonny", &["jonathan"]),
    ("josh", &["joshua"]),
    ("josie", &["josephine"]),
    ("jude", &["judith"]),
    ("judy", &["judith"]),
    ("kat", &["katherine"]),
    ("kate", &["katherine"]),
    ("kath", &["katherine"]),
    ("kathleen", &["katherine"]),
    ("kathryn", &["katherine"]),
    ("kathy", &["katherine"]),
    ("katie", &["katherine"]),
    ("katy", &["katherine"]),
    ("ken", &["kenneth"]),
    ("kenny", &["kenneth"]),
    ("kim", &["kimberly"]),
    ("kit", &["christopher"]),
    ("larry", &["lawrence"]),
    ("laurie", &["lawrence"]),
    ("len", &["leonard"]),
    ("lenny", &["leonard"]),
    ("leo", &["leonard"]),
    ("lex", &["alexander"]),
    ("lexi", &["alexandra"]),
    ("liam", &["william"]),
    ("libby", &["elizabeth"]),
    ("lisa", &["elizabeth"]),
    ("liz", &["elizabeth"]),
    ("liza", &["elizabeth"]),
    ("lizzie", &["elizabeth"]),
    ("lizzy", &["elizabeth"]),
    ("madge", &["margaret"]),
    ("mae", &["mary"]),
    ("maggie", &["margaret"]),
    ("mandy", &["amanda"]),
    ("marge", &["margaret"]),
    ("matt", &["matthew"]),
    ("meg", &["margaret"]),
    ("mel", &["melissa"]),
    ("mick", &["michael"]),
    ("mickey", &["michael"]),
    ("mike", &["michael"]),
    ("mikey", &["michael"]),
    ("missy", &["melissa"]),
    ("mitch", &["mitchell"]),
    ("molly", &["mary"]),
    ("nan", &["ann"]),
    ("nancy", &["ann"]),
    ("nat", &["natalie", "nathaniel"]),
    ("nate", &["nathan"]),
    ("ned", &["edward"]),
    ("nell", &["eleanor"]),
    ("nick", &["nicholas"]),
    ("nicky", &["nicholas", "nicola"]),
    ("nikki", &["nicola"]),
    ("nora", &["eleanor"]),
    ("ollie", &["oliver"]),
    ("paddy", &["patrick"]),
    ("pam", &["pamela"]),
    ("pat", &["patricia", "patrick"]),
    ("patty", &["patricia"]),
    ("peggy", &["margaret"]),
    ("pete", &["peter"]),
    ("phil", &["philip"]),
    ("phillip", &["philip"]),
    ("polly", &["mary"]),
    ("ray", &["raymond"]),
    ("rich", &["richard"]),
    ("richie", &["richard"]),
    ("rick", &["richard"]),
    ("ricky", &["richard"]),
    ("rob", &["robert"]),
    ("robbie", &["robert"]),
    ("ron", &["ronald"]),
    ("ronnie", &["ronald"]),
    ("rose", &["rosemary"]),
    ("rosie", &["rosemary"]),
    ("sal", &["sally"]),
    ("sam", &["samuel", "samantha"]),
    ("sammy", &["samuel", "samantha"]),
    ("sandra", &["sandra", "alexandra"]),
    ("sandy", &["alexander", "alexandra", "sandra"]),
    ("seb", &["sebastian"]),
    ("stacy", &["anastasia"]),
    ("stan", &["stanley"]),
    ("steph", &["stephanie"]),
    ("stephen", &["steven"]),
    ("steve", &["steven"]),
    ("stevie", &["steven"]),
    ("sue", &["susan"]),
    ("susie", &["susan"]),
    ("suzy", &["susan"]),
    ("tasha", &["natasha"]),
    ("ted", &["edward"]),
    ("teddy", &["edward", "theodore"]),
    ("teresa", &["theresa"]),
    ("terri", &["theresa"]),
    ("terry", &["terence"]),
    ("tess", &["theresa"]),
    ("tessa", &["theresa"]),
    ("theo", &["theodore"]),
    ("tilly", &["matilda"]),
    ("tim", &["timothy"]),
    ("timmy", &["timothy"]),
    ("tina", &["christina"]),
    ("tom", &["thomas"]),
    ("tommy", &["thomas"]),
    ("tony", &["anthony"]),
    ("topher", &["christopher"]),
    ("tori", &["victoria"]),
    ("tricia", &["patricia"]),
    ("trish", &["patricia"]),
    ("val", &["valerie"]),
    ("vic", &["victor"]),
    ("vicky", &["victoria"]),
    ("vince", &["vincent"]),
    ("walt", &["walter"]),
    ("wendy", &["gwendolyn"]),
    ("will", &["william"]),
    ("willie", &["william"]),
    ("willy", &["william"]),
    ("xander", &["alexander"]),
    ("zach", &["zachary"]),
    ("zachariah", &["zachary"]),
    ("zack", &["zachary"]),
];

/// The canonical given name for a (folded, lower-case) nickname, if it is one.
pub fn canonical_first_name(token: &str) -> Option<&'static str> {
    NICKNAMES
        .binary_search_by(|(k, _)| (*k).cmp(token))
        .ok()
        .and_then(|i| NICKNAMES[i].1.first().copied())
}

/// Number of entries in the nickname table.
pub fn nickname_count() -> usize {
    NICKNAMES.len()
}

/// Canonical given names that share a nickname (`henry` and `harold` through `harry`).
fn related_names() -> &'static rustc_hash::FxHashMap<&'static str, Vec<&'static str>> {
    static RELATED: std::sync::OnceLock<rustc_hash::FxHashMap<&'static str, Vec<&'static str>>> =
        std::sync::OnceLock::new();
    RELATED.get_or_init(|| {
        let mut m: rustc_hash::FxHashMap<&'static str, Vec<&'static str>> = Default::default();
        for (_, names) in NICKNAMES {
            for &a in *names {
                for &b in *names {
                    if a != b {
                        let e = m.entry(a).or_default();
                        if !e.contains(&b) {
                            e.push(b);
                        }
                    }
                }
            }
        }
        m
    })
}

/// Whether two canonical first names may be the same person's through a shared nickname
/// (`henry` / `harold` via Harry, `samuel` / `samantha` via Sam).
pub fn related_first_names(a: &str, b: &str) -> bool {
    related_names().get(a).is_some_and(|v| v.contains(&b))
}

/// Domains whose mailboxes ignore dots in the local part (and support `+tag`).
const GMAIL_DOMAINS: &[&str] = &["gmail.com", "googlemail.com"];

/// Domains known to deliver `local+tag@domain` to `local@domain`.
const PLUS_TAG_DOMAINS: &[&str] = &[
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "protonmail.com",
    "protonmail.ch",
    "proton.me",
    "pm.me",
    "fastmail.com",
    "fastmail.fm",
    "zoho.com",
    "yandex.com",
    "yandex.ru",
    "hey.com",
    "tutanota.com",
];

/// Canonical e-mail address: lower-case, blanks removed; for Gmail/Googlemail dots and
/// `+tag` removed from the local part and the domain unified to `gmail.com`; `+tag`
/// removed for other providers that support it. A value without `@` is kept (lower-case,
/// without blanks) so that typo'd addresses still compare; `None` when nothing is left.
pub fn normalize_email(s: &str) -> Option<String> {
    let cleaned: String = clip(s)
        .trim()
        .trim_start_matches("mailto:")
        .chars()
        .filter(|c| !c.is_whitespace() && !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    let cleaned = cleaned.trim_matches(|c: char| matches!(c, '<' | '>' | '"' | '\'' | ',' | ';'));
    let Some((local, domain)) = cleaned.rsplit_once('@') else {
        return non_empty(cleaned.to_string());
    };
    let domain = domain.trim_end_matches('.');
    if local.is_empty() || domain.is_empty() {
        return non_empty(cleaned.replace('@', ""));
    }
    if GMAIL_DOMAINS.contains(&domain) {
        let base = local.split('+').next().unwrap_or(local);
        let base: String = base.chars().filter(|&c| c != '.').collect();
        if base.is_empty() {
            return Some(format!("{local}@gmail.com"));
        }
        return Some(format!("{base}@gmail.com"));
    }
    if PLUS_TAG_DOMAINS.contains(&domain) {
        if let Some((base, _tag)) = local.split_once('+') {
            if !base.is_empty() {
                return Some(format!("{base}@{domain}"));
            }
        }
    }
    Some(format!("{local}@{domain}"))
}

/// Parses a two-letter region for phone parsing (`"GB"`, `"us"`).
pub fn phone_region(code: &str) -> Option<phonenumber::country::Id> {
    use std::str::FromStr;
    phonenumber::country::Id::from_str(&code.trim().to_ascii_uppercase()).ok()
}

/// What phone normalisation needs of one region's numbering plan.
struct PhonePlan {
    country_code: u16,
    national_prefix: Option<&'static str>,
    lengths: Vec<u16>,
}

/// Numbering plans by region id, and the possible national lengths by country code, read
/// once from the `phonenumber` crate's metadata.
type PhonePlans = (
    rustc_hash::FxHashMap<&'static str, PhonePlan>,
    rustc_hash::FxHashMap<u16, Vec<u16>>,
);

fn phone_plans() -> &'static PhonePlans {
    static PLANS: std::sync::OnceLock<PhonePlans> = std::sync::OnceLock::new();
    PLANS.get_or_init(|| {
        let db: &'static phonenumber::metadata::Database = &phonenumber::metadata::DATABASE;
        let mut by_region = rustc_hash::FxHashMap::default();
        let mut by_code: rustc_hash::FxHashMap<u16, Vec<u16>> = Default::default();
        for m in db.iter() {
            let d = m.descriptors();
            let mut lengths: Vec<u16> = d.general().possible_length().to_vec();
            for extra in [d.fixed_line(), d.mobile()].into_iter().flatten() {
                lengths.extend_from_slice(extra.possible_length());
            }
            lengths.sort_unstable();
            lengths.dedup();
            by_region.insert(
                m.id(),
                PhonePlan {
                    country_code: m.country_code(),
                    national_prefix: m.national_prefix(),
                    lengths: lengths.clone(),
                },
            );
            let e = by_code.entry(m.country_code()).or_default();
            for &l in &lengths {
                if !e.contains(&l) {
                    e.push(l);
                }
            }
        }
        (by_region, by_code)
    })
}

/// Whether a national significant number of `len` digits fits `lengths` (any length from
/// 4 to 14 when the plan lists none).
fn length_fits(lengths: &[u16], len: usize) -> bool {
    if lengths.is_empty() {
        (4..=14).contains(&len)
    } else {
        lengths.iter().any(|&l| usize::from(l) == len)
    }
}

/// Canonical phone number: E.164 (`+447911123456`) when the number fits a numbering plan
/// of the `phonenumber` crate's metadata, else its digits. Numbers with `+` or `00` are
/// read with their country code; others in `region` (its national prefix, such as the
/// UK's `0` or the US `1`, removed). A fit means a known country code and a national
/// number of one of the plan's possible lengths; the full validity patterns are not
/// checked, since the crate's parser and validator cost about 70 us a number (regular
/// expressions behind a global lock) and would dominate normalisation of large files.
/// `None` with fewer than five digits; extensions (`x12`, `ext. 5`) are dropped.
pub fn normalize_phone(s: &str, region: Option<phonenumber::country::Id>) -> Option<String> {
    let s = clip(s);
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if c == '+' && digits.is_empty() {
            plus = true;
        } else if c == '(' && plus && !digits.is_empty() {
            // "+44 (0)20 ...": the bracketed trunk zero is not dialled internationally.
            let mut look = chars.clone();
            if look.next() == Some('0') && look.next() == Some(')') {
                chars.next();
                chars.next();
            }
        } else if c.is_alphabetic() && !digits.is_empty() {
            // Extensions ("x123", "ext. 5") end the number proper.
            break;
        }
    }
    if digits.len() < 5 {
        return None;
    }
    if digits.len() > 17 {
        return Some(digits);
    }
    if !plus && digits.starts_with("00") && digits.len() > 8 {
        digits.drain(..2);
        plus = true;
    }
    let (by_region, by_code) = phone_plans();
    if plus {
        for cc_len in 1..=3 {
            if digits.len() <= cc_len {
                break;
            }
            let Ok(cc) = digits[..cc_len].parse::<u16>() else {
                break;
            };
            if let Some(lengths) = by_code.get(&cc) {
                if length_fits(lengths, digits.len() - cc_len) {
                    return Some(format!("+{digits}"));
                }
            }
        }
        return Some(format!("+{digits}"));
    }
    if let Some(plan) = region.and_then(|r| by_region.get(r.as_ref())) {
        let mut national = digits.as_str();
        if let Some(np) = plan.national_prefix.filter(|p| !p.is_empty()) {
            if national.starts_with(np) && length_fits(&plan.lengths, national.len() - np.len()) {
                national = &national[np.len()..];
            }
        }
        if length_fits(&plan.lengths, national.len()) {
            return Some(format!("+{}{national}", plan.country_code));
        }
        let cc = plan.country_code.to_string();
        if digits.starts_with(&cc) && length_fits(&plan.lengths, digits.len() - cc.len()) {
            return Some(format!("+{digits}"));
        }
    }
    Some(digits)
}

/// Address words and their one canonical (abbreviated) form. Both spellings map to the
/// abbreviation so that `12 Main Street` and `12 main st.` compare equal.
const ADDRESS_WORDS: &[(&str, &str)] = &[
    ("alley", "aly"),
    ("apartment", "apt"),
    ("apt", "apt"),
    ("av", "ave"),
    ("avenue", "ave"),
    ("blvd", "blvd"),
    ("boulevard", "blvd"),
    ("building", "bldg"),
    ("circle", "cir"),
    ("close", "cl"),
    ("court", "ct"),
    ("crescent", "cres"),
    ("crt", "ct"),
    ("drive", "dr"),
    ("drv", "dr"),
    ("e", "e"),
    ("east", "e"),
    ("esplanade", "esp"),
    ("expressway", "expy"),
    ("flat", "apt"),
    ("floor", "fl"),
    ("flr", "fl"),
    ("flt", "apt"),
    ("freeway", "fwy"),
    ("gardens", "gdns"),
    ("grove", "gr"),
    ("heights", "hts"),
    ("highway", "hwy"),
    ("hway", "hwy"),
    ("lane", "ln"),
    ("mount", "mt"),
    ("n", "n"),
    ("ne", "ne"),
    ("north", "n"),
    ("northeast", "ne"),
    ("northwest", "nw"),
    ("nw", "nw"),
    ("parade", "pde"),
    ("park", "pk"),
    ("parkway", "pkwy"),
    ("place", "pl"),
    ("plaza", "plz"),
    ("road", "rd"),
    ("route", "rte"),
    ("s", "s"),
    ("saint", "st"),
    ("se", "se"),
    ("south", "s"),
    ("southeast", "se"),
    ("southwest", "sw"),
    ("square", "sq"),
    ("st", "st"),
    ("ste", "ste"),
    ("str", "st"),
    ("street", "st"),
    ("suite", "ste"),
    ("sw", "sw"),
    ("ter", "tce"),
    ("terr", "tce"),
    ("terrace", "tce"),
    ("trail", "trl"),
    ("unit", "unit"),
    ("w", "w"),
    ("way", "wy"),
    ("west", "w"),
];

/// The canonical form of one folded address token.
fn address_token(t: &str) -> &str {
    ADDRESS_WORDS
        .binary_search_by(|(k, _)| (*k).cmp(t))
        .map(|i| ADDRESS_WORDS[i].1)
        .unwrap_or(t)
}

/// Canonical street or address line: folded tokens with street types, unit words and
/// directions in one abbreviated form (`Street`/`St` -> `st`, `North` -> `n`,
/// `Apartment`/`Flat` -> `apt`, `Suite` -> `ste`). `#` counts as a separator.
pub fn normalize_address(s: &str) -> Option<String> {
    let folded = fold(s);
    if folded.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(folded.len());
    for t in folded.split(' ') {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(address_token(t));
    }
    Some(out)
}

/// Canonical city or region: folded, with `Saint`/`Mount`/`Fort` abbreviated the same way
/// as in addresses.
pub fn normalize_place(s: &str) -> Option<String> {
    let folded = fold(s);
    if folded.is_empty() {
        return None;
    }
    let mapped: Vec<&str> = folded
        .split(' ')
        .map(|t| match t {
            "saint" => "st",
            "sainte" => "ste",
            "mount" => "mt",
            "fort" => "ft",
            "port" => "pt",
            other => other,
        })
        .collect();
    Some(mapped.join(" "))
}

/// Canonical postcode or national id: upper-case ASCII letters and digits only.
pub fn normalize_code(s: &str) -> Option<String> {
    let out: String = clip(s)
        .nfkd()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    non_empty(out)
}

/// Canonical country: ISO-3166 alpha-2 (upper-case) when the value is an alpha-2 or
/// alpha-3 code or a common English name, else the folded text.
pub fn normalize_country(s: &str) -> Option<String> {
    let folded = fold(s);
    if folded.is_empty() {
        return None;
    }
    let up = folded.to_ascii_uppercase();
    if up.len() == 2 && isocountry::CountryCode::for_alpha2(&up).is_ok() {
        return Some(up);
    }
    if up.len() == 3 {
        if let Ok(c) = isocountry::CountryCode::for_alpha3(&up) {
            return Some(c.alpha2().to_string());
        }
    }
    let alias = match folded.as_str() {
        "united states" | "united states of america" | "america" | "us of a" => Some("US"),
        "united kingdom" | "great britain" | "britain" | "england" | "scotland" | "wales"
        | "northern ireland" | "uk" => Some("GB"),
        "germany" | "deutschland" => Some("DE"),
        "france" => Some("FR"),
        "spain" | "espana" => Some("ES"),
        "italy" | "italia" => Some("IT"),
        "netherlands" | "the netherlands" | "holland" | "nederland" => Some("NL"),
        "australia" => Some("AU"),
        "canada" => Some("CA"),
        "ireland" | "eire" => Some("IE"),
        "new zealand" => Some("NZ"),
        "switzerland" | "schweiz" | "suisse" => Some("CH"),
        "austria" | "osterreich" => Some("AT"),
        "belgium" | "belgique" | "belgie" => Some("BE"),
        "sweden" | "sverige" => Some("SE"),
        "norway" | "norge" => Some("NO"),
        "denmark" | "danmark" => Some("DK"),
        "poland" | "polska" => Some("PL"),
        "portugal" => Some("PT"),
        "india" => Some("IN"),
        "china" => Some("CN"),
        "japan" => Some("JP"),
        "brazil" | "brasil" => Some("BR"),
        "mexico" => Some("MX"),
        _ => None,
    };
    Some(alias.map_or(folded, str::to_string))
}

/// Legal-form words removed from the end (and `the` from the start) of an employer's name.
const EMPLOYER_LEGAL_SUFFIXES: &[&str] = &[
    "ab",
    "ag",
    "as",
    "bv",
    "co",
    "company",
    "corp",
    "corporation",
    "gmbh",
    "inc",
    "incorporated",
    "kg",
    "limited",
    "llc",
    "llp",
    "lp",
    "ltd",
    "nv",
    "oy",
    "plc",
    "pty",
    "sa",
    "sarl",
    "sas",
    "spa",
    "srl",
];

/// Canonical employer of a person (the person model's `company` comparison): folded, `&`
/// read as `and`, leading `the` and trailing legal forms (`Inc`, `LLC`, `Ltd`, `GmbH`,
/// `S.A.`, `AG`, `B.V.`, `PLC`, `Corp`, `Co`, ...) removed. Dotted abbreviations (`S.A.`,
/// `B.V.`) are joined before matching. Kept as it was when the person models were trained
/// and measured (a saved tenant model's `m`/`u` were estimated on this form); companies
/// themselves are compared on the fuller [`normalize_company`].
pub fn normalize_employer(s: &str) -> Option<String> {
    let s = clip(s).replace('&', " and ");
    // Join dotted single letters ("s.a." -> "sa") before folding splits them apart.
    let mut joined = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let between_letters = c == '.'
            && i > 0
            && chars[i - 1].is_alphabetic()
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic())
            && (i < 2 || !chars[i - 2].is_alphabetic());
        if !between_letters {
            joined.push(c);
        }
    }
    let folded = fold(&joined);
    let mut tokens: Vec<&str> = folded.split(' ').filter(|t| !t.is_empty()).collect();
    if tokens.len() > 1 && tokens[0] == "the" {
        tokens.remove(0);
    }
    while tokens.len() > 1
        && tokens
            .last()
            .is_some_and(|t| EMPLOYER_LEGAL_SUFFIXES.contains(t))
    {
        tokens.pop();
    }
    if tokens.is_empty() {
        return None;
    }
    Some(tokens.join(" "))
}

/// Legal-form words (folded, dotted abbreviations joined: `S.A.` is `sa`, `e.K.` is `ek`)
/// removed from company names wherever they stand (`GmbH & Co. KG` goes as `gmbh`, `co`,
/// `kg` and the connector). Sorted for binary search. By country:
/// - Germany, Austria, Switzerland: GmbH (and `mbH`, `GesmbH`), AG, KG, KGaA, OHG, UG
///   (`haftungsbeschränkt`), GbR, e.K. (`eK`, `eKfm`, `eKfr`), e.V., eG, SE;
/// - English-speaking: Inc(orporated), Corp(oration), Co(mpany), LLC, LLP, LP, PLLC, PC,
///   Ltd, Limited, PLC, Pty, Pte;
/// - France, Belgium: SA, SAS, SASU, SARL, EURL, SNC, SCA, SCI, Cie, SPRL, BVBA, CVBA;
/// - Italy, Spain, Portugal, Latin America: S.r.l., S.p.A., S.a.p.a., S.L., S.L.U., S.A.U.,
///   Lda, Ltda, Cia;
/// - Netherlands: B.V., N.V., V.O.F., C.V.;
/// - Nordic countries: AB, AS, ASA, A/S (`as`), ApS, Oy, Oyj, hf, ehf, `publ`;
/// - elsewhere: K.K. (Japan), Sdn Bhd (Malaysia), Kft, Zrt, Nyrt (Hungary), s.r.o. (Czechia,
///   Slovakia), d.o.o., d.d. (Balkans), AD, OOD, EOOD (Bulgaria).
const LEGAL_FORMS: &[&str] = &[
    "ab",
    "ad",
    "ag",
    "aps",
    "as",
    "asa",
    "bhd",
    "bv",
    "bvba",
    "cia",
    "cie",
    "co",
    "company",
    "corp",
    "corporation",
    "cv",
    "cvba",
    "dd",
    "doo",
    "eg",
    "ehf",
    "ek",
    "ekfm",
    "ekfr",
    "eood",
    "eurl",
    "ev",
    "gbr",
    "gesmbh",
    "gmbh",
    "haftungsbeschrankt",
    "hf",
    "inc",
    "incorporated",
    "kft",
    "kg",
    "kgaa",
    "kk",
    "lda",
    "limited",
    "llc",
    "llp",
    "lp",
    "ltd",
    "ltda",
    "mbh",
    "nv",
    "nyrt",
    "ohg",
    "ood",
    "oy",
    "oyj",
    "pc",
    "plc",
    "pllc",
    "pte",
    "pty",
    "publ",
    "sa",
    "sapa",
    "sarl",
    "sas",
    "sasu",
    "sau",
    "sca",
    "sci",
    "sdn",
    "se",
    "sl",
    "slu",
    "snc",
    "spa",
    "sprl",
    "srl",
    "sro",
    "ug",
    "vof",
    "zrt",
];

/// Legal forms of several words, removed from the end before the single words:
/// `S.A. de C.V.` (Mexico), `S. de R.L.` (Latin America), `sp. z o.o.` (Poland).
const LEGAL_FORM_PHRASES: &[&[&str]] =
    &[&["sa", "de", "cv"], &["s", "de", "rl"], &["sp", "z", "oo"]];

/// Legal forms that usually stand before the name (`AB Volvo`, `PT Astra`, `OOO Gazprom`),
/// and the article `the`; removed wherever they stand, like [`LEGAL_FORMS`].
const LEADING_FORMS: &[&str] = &["ab", "oao", "ooo", "pao", "pt", "the", "zao"];

/// Words joining names (`Müller & Söhne`, `Smith and Sons`, `Dupont et Fils`), dropped
/// everywhere so that `&`, `and`, `und` and `et` compare equal.
const CONNECTORS: &[&str] = &["and", "et", "und"];

/// Canonical company name: folded (case, accents, punctuation), `&` and `+` read as
/// `and`, dotted abbreviations joined (`S.A.` -> `sa`, `A/S` -> `as`), German
/// `ae`/`oe`/`ue` read as `a`/`o`/`u` (so `Mueller` is `Müller`), multi-word legal forms
/// removed from the end (`S.A. de C.V.`), single-word legal forms (`LEGAL_FORMS`, also in
/// chains such as `GmbH & Co. KG`), leading forms (`AB`, `PT`, `the`) and connecting words
/// removed wherever they stand, and the remaining words sorted,
/// so that word order does not matter: `MÜLLER HAUSTECHNIK GMBH & Co. KG` and `Müller
/// Haustechnik GmbH` both give `haustechnik muller`. A name that is nothing but a legal
/// form keeps its words. `None` when nothing is left.
pub fn normalize_company(s: &str) -> Option<String> {
    let s = clip(s).replace(['&', '+'], " and ");
    // Join dotted (or slashed) single letters ("s.a." -> "sa", "a/s" -> "as") before
    // folding splits them apart.
    let mut joined = String::with_capacity(s.len());
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let between_letters = matches!(c, '.' | '/')
            && i > 0
            && chars[i - 1].is_alphabetic()
            && chars.get(i + 1).is_some_and(|n| n.is_alphabetic())
            && (i < 2 || !chars[i - 2].is_alphabetic());
        if !between_letters {
            joined.push(c);
        }
    }
    // German transliteration (`ü` written `ue`, DIN 5007-2) folded both ways: `fold` has
    // already made `ü` a `u`; an `e` right after `a`, `o` or `u` is dropped, so `Mueller`,
    // `Müller` and `Muller` meet. Applied to every name alike, it only merges spellings.
    let folded: String = {
        let mut out = String::with_capacity(joined.len());
        for c in fold(&joined).chars() {
            if c == 'e' && matches!(out.chars().last(), Some('a' | 'o' | 'u')) {
                continue;
            }
            out.push(c);
        }
        out
    };
    let all: Vec<&str> = folded.split(' ').filter(|t| !t.is_empty()).collect();
    if all.is_empty() {
        return None;
    }
    let mut tokens: Vec<&str> = all.clone();
    for phrase in LEGAL_FORM_PHRASES {
        if tokens.len() > phrase.len() && tokens.ends_with(phrase) {
            tokens.truncate(tokens.len() - phrase.len());
        }
    }
    // Legal forms, leading forms and connectors go wherever they stand (`Müller GmbH
    // Haustechnik` too): the words are sorted afterwards, so a position-dependent rule
    // would not give the same result on its own output.
    tokens.retain(|t| {
        LEGAL_FORMS.binary_search(t).is_err()
            && !LEADING_FORMS.contains(t)
            && !CONNECTORS.contains(t)
    });
    if tokens.is_empty() {
        // Nothing but legal forms and connectors: keep what was written.
        tokens = all;
    }
    tokens.sort_unstable();
    Some(tokens.join(" "))
}

/// Mail providers whose addresses anyone can have: their domain says nothing about a
/// company. Sorted for binary search. The large international providers (Google, Yahoo,
/// Microsoft, Apple, AOL, Proton, Zoho, Yandex, GMX/Mail.com, Fastmail, Tutanota), the
/// German and European ones (web.de, T-Online, freenet, Arcor, Posteo, mailbox.org,
/// Orange, Free, La Poste, Libero, Virgilio, Seznam, WP, Onet, Interia, Telenet, Bluewin,
/// Ziggo, KPN), Russian, Chinese and Korean ones (Mail.ru, Rambler, QQ, NetEase, Sina,
/// Naver, Daum) and the big British and American ISPs; drawn from the free-mail lists CRMs
/// use for the same purpose (Odoo's mail-domain blacklist in `iap_tools`, HubSpot's list of
/// free e-mail domains). Providers present under many country suffixes are matched by
/// name instead ([`FREE_MAIL_NAMES`]).
const FREE_MAIL_DOMAINS: &[&str] = &[
    "126.com",
    "163.com",
    "aim.com",
    "alice.it",
    "arcor.de",
    "att.net",
    "bellsouth.net",
    "bk.ru",
    "bluewin.ch",
    "blueyonder.co.uk",
    "bol.com.br",
    "btinternet.com",
    "charter.net",
    "comcast.net",
    "cox.net",
    "daum.net",
    "earthlink.net",
    "email.com",
    "email.de",
    "fastmail.com",
    "fastmail.fm",
    "free.fr",
    "freenet.de",
    "gmail.com",
    "googlemail.com",
    "hanmail.net",
    "hey.com",
    "home.nl",
    "icloud.com",
    "inbox.ru",
    "interia.pl",
    "juno.com",
    "kpnmail.nl",
    "laposte.net",
    "libero.it",
    "list.ru",
    "mac.com",
    "mail.com",
    "mail.ru",
    "mailbox.org",
    "me.com",
    "msn.com",
    "naver.com",
    "ntlworld.com",
    "o2.pl",
    "onet.pl",
    "online.de",
    "orange.fr",
    "passport.com",
    "planet.nl",
    "pm.me",
    "posteo.de",
    "proton.me",
    "protonmail.ch",
    "protonmail.com",
    "qq.com",
    "rambler.ru",
    "rediffmail.com",
    "rocketmail.com",
    "sbcglobal.net",
    "seznam.cz",
    "sfr.fr",
    "sina.com",
    "sky.com",
    "skynet.be",
    "t-online.de",
    "talktalk.net",
    "telenet.be",
    "terra.com.br",
    "tiscali.it",
    "tuta.io",
    "tutanota.com",
    "tutanota.de",
    "uol.com.br",
    "verizon.net",
    "virgilio.it",
    "virginmedia.com",
    "wanadoo.fr",
    "web.de",
    "wp.pl",
    "xs4all.nl",
    "ya.ru",
    "ymail.com",
    "ziggo.nl",
    "zoho.com",
    "zohomail.com",
];

/// Free-mail providers recognised under any suffix (`yahoo.co.uk`, `hotmail.fr`,
/// `outlook.de`, `gmx.at`, `yandex.kz`, `live.com.au`, `aol.de`).
const FREE_MAIL_NAMES: &[&str] = &[
    "aol", "gmx", "hotmail", "live", "outlook", "yahoo", "yandex",
];

/// Second-level labels under which country suffixes register names (`co.uk`, `com.au`,
/// `co.jp`, `org.br`, ...): with a two-letter country suffix after one of these, the
/// registrable domain has three labels. A compact stand-in for the Public Suffix List
/// that covers the common commercial cases; a miss only weakens a comparison level.
const SECOND_LEVEL_LABELS: &[&str] = &[
    "ac", "co", "com", "edu", "gov", "ltd", "ne", "net", "or", "org", "plc",
];

/// The registrable domain of a host (lower-case, no `www.`): its last two labels, or three
/// under a country's second level (`shop.northwind.co.uk` -> `northwind.co.uk`).
fn registrable(host: &str) -> Option<String> {
    let labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
    if labels.len() < 2 {
        return None;
    }
    let n = labels.len();
    let keep = if n >= 3 && labels[n - 1].len() == 2 && SECOND_LEVEL_LABELS.contains(&labels[n - 2])
    {
        3
    } else {
        2
    };
    Some(labels[n - keep..].join("."))
}

/// A host name: lower-case letters, digits, `-` and `.` (Unicode letters allowed, for
/// internationalised names), at least one dot.
fn host_of(s: &str) -> Option<String> {
    let t = clip(s).trim().to_lowercase();
    let t = t
        .strip_prefix("https://")
        .or_else(|| t.strip_prefix("http://"))
        .or_else(|| t.strip_prefix("//"))
        .unwrap_or(&t);
    let t = t.split(['/', '?', '#']).next().unwrap_or("");
    // Credentials and port: `user@host:8080`.
    let t = t.rsplit('@').next().unwrap_or(t);
    let t = t.split(':').next().unwrap_or(t);
    let t = t.trim_end_matches('.');
    let t = t.strip_prefix("www.").unwrap_or(t);
    if t.is_empty()
        || !t.contains('.')
        || !t
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '.')
    {
        return None;
    }
    Some(t.to_string())
}

/// Whether a (lower-case) domain belongs to a free-mail provider (`FREE_MAIL_DOMAINS`,
/// or a provider of `FREE_MAIL_NAMES` under any suffix).
pub fn is_free_mail_domain(domain: &str) -> bool {
    let d = domain.trim().trim_end_matches('.').to_lowercase();
    if FREE_MAIL_DOMAINS.binary_search(&d.as_str()).is_ok() {
        return true;
    }
    registrable(&d).is_some_and(|r| {
        FREE_MAIL_DOMAINS.binary_search(&r.as_str()).is_ok()
            || FREE_MAIL_NAMES.contains(&r.split('.').next().unwrap_or(""))
    })
}

/// The registrable domain of a web address (`https://www.Northwind.example/about` ->
/// `northwind.example`), or `None` when it is not one or names a free-mail provider.
pub fn normalize_web_domain(s: &str) -> Option<String> {
    let host = host_of(s)?;
    let domain = registrable(&host)?;
    (!is_free_mail_domain(&domain)).then_some(domain)
}

/// The registrable domain of an e-mail address (`Sales@EU.Northwind.example` ->
/// `northwind.example`), or `None` without a domain or for a free-mail provider
/// (`gmail.com`, `web.de`, ...): such an address says nothing about a company.
pub fn company_email_domain(s: &str) -> Option<String> {
    let (_, domain) = clip(s).trim().rsplit_once('@')?;
    let host = host_of(domain)?;
    let d = registrable(&host)?;
    (!is_free_mail_domain(&host) && !is_free_mail_domain(&d)).then_some(d)
}

/// A calendar date of birth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BirthDate {
    /// Year (1800..=2200).
    pub year: u16,
    /// Month 1..=12.
    pub month: u8,
    /// Day 1..=31 (valid for the month).
    pub day: u8,
}

impl BirthDate {
    /// A validated date, or `None` when the parts do not form a calendar date in
    /// 1800..=2200.
    pub fn new(year: u32, month: u32, day: u32) -> Option<Self> {
        if !(1800..=2200).contains(&year) || !(1..=12).contains(&month) || day == 0 {
            return None;
        }
        let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        let max = match month {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if day > max {
            return None;
        }
        Some(Self {
            year: year as u16,
            month: month as u8,
            day: day as u8,
        })
    }

    /// The date packed as `YYYYMMDD`.
    pub fn packed(self) -> u32 {
        u32::from(self.year) * 10_000 + u32::from(self.month) * 100 + u32::from(self.day)
    }

    /// The inverse of [`BirthDate::packed`] (`None` for 0 or an invalid value).
    pub fn from_packed(v: u32) -> Option<Self> {
        Self::new(v / 10_000, (v / 100) % 100, v % 100)
    }
}

/// Parses a birth date: `YYYY-MM-DD` (with optional time part), `YYYYMMDD`, `YYYY/MM/DD`,
/// `DD.MM.YYYY`, `DD-MM-YYYY`, and `DD/MM/YYYY`; a slashed date is read as `MM/DD/YYYY`
/// only when that is the sole valid reading (the second number is above 12). `None`
/// when the value is not a valid date.
pub fn parse_birth_date(s: &str) -> Option<BirthDate> {
    let t = clip(s).trim();
    // ISO date-time: keep the date part.
    let t = match t.find(['T', ' ']) {
        Some(i) if i >= 8 => &t[..i],
        _ => t,
    };
    if t.len() == 8 && t.bytes().all(|b| b.is_ascii_digit()) {
        let v: u32 = t.parse().ok()?;
        return BirthDate::new(v / 10_000, (v / 100) % 100, v % 100);
    }
    let sep = t.chars().find(|c| matches!(c, '-' | '/' | '.'))?;
    let parts: Vec<&str> = t.split(sep).collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty() || p.len() > 4) {
        return None;
    }
    let nums: Vec<u32> = parts
        .iter()
        .map(|p| {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                p.parse().ok()
            } else {
                None
            }
        })
        .collect::<Option<_>>()?;
    let (a, b, c) = (nums[0], nums[1], nums[2]);
    if parts[0].len() == 4 {
        return BirthDate::new(a, b, c);
    }
    if parts[2].len() != 4 {
        return None;
    }
    match sep {
        '/' => {
            if a > 12 || b <= 12 {
                BirthDate::new(c, b, a)
            } else {
                BirthDate::new(c, a, b)
            }
        }
        _ => BirthDate::new(c, b, a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_for_binary_search() {
        assert!(NICKNAMES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(NICKNAMES.iter().all(|(_, v)| !v.is_empty()));
        assert!(ADDRESS_WORDS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(LEGAL_FORMS.windows(2).all(|w| w[0] < w[1]));
        assert!(FREE_MAIL_DOMAINS.windows(2).all(|w| w[0] < w[1]));
        assert!(nickname_count() >= 80);
    }

    #[test]
    fn fold_strips_accents_case_and_punctuation() {
        assert_eq!(fold("  José-María  O'Brien "), "jose maria obrien");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("Łódź"), "lodz");
        assert_eq!(fold("ＡＢＣ"), "abc");
        assert_eq!(fold("!!!"), "");
    }

    #[test]
    fn names_and_nicknames() {
        assert_eq!(normalize_first_name("Bob").as_deref(), Some("robert"));
        assert_eq!(normalize_first_name("BOBBY").as_deref(), Some("robert"));
        assert_eq!(normalize_first_name("Liz").as_deref(), Some("elizabeth"));
        assert_eq!(normalize_first_name("Betty").as_deref(), Some("elizabeth"));
        assert_eq!(normalize_first_name("Will").as_deref(), Some("william"));
        assert_eq!(normalize_first_name("Jim").as_deref(), Some("james"));
        assert_eq!(normalize_first_name("Katie").as_deref(), Some("katherine"));
        assert_eq!(normalize_first_name("Zoë").as_deref(), Some("zoe"));
        assert_eq!(normalize_first_name("Stephen").as_deref(), Some("steven"));
        assert_eq!(normalize_first_name("Sandra").as_deref(), Some("sandra"));
        assert_eq!(normalize_first_name("Harry").as_deref(), Some("henry"));
        assert!(related_first_names("henry", "harold"));
        assert!(related_first_names("sandra", "alexandra"));
        assert!(!related_first_names("henry", "robert"));
        assert_eq!(normalize_first_name("   "), None);
        assert_eq!(normalize_name("Dr. Smith Jr.").as_deref(), Some("smith"));
        assert_eq!(
            normalize_name("van der Berg").as_deref(),
            Some("van der berg")
        );
    }

    #[test]
    fn full_name_splitting() {
        assert_eq!(
            split_full_name("Mr. Robert James Smith"),
            (Some("robert".into()), Some("smith".into()))
        );
        assert_eq!(
            split_full_name("Smith, Bob"),
            (Some("robert".into()), Some("smith".into()))
        );
        assert_eq!(split_full_name("Madonna"), (None, Some("madonna".into())));
        assert_eq!(split_full_name(" , "), (None, None));
    }

    #[test]
    fn emails() {
        assert_eq!(
            normalize_email(" John.Smith+news@GoogleMail.com ").as_deref(),
            Some("johnsmith@gmail.com")
        );
        assert_eq!(
            normalize_email("j.smith+x@outlook.com").as_deref(),
            Some("j.smith@outlook.com")
        );
        assert_eq!(
            normalize_email("j.smith+x@example.org").as_deref(),
            Some("j.smith+x@example.org")
        );
        assert_eq!(normalize_email("no-at-sign").as_deref(), Some("no-at-sign"));
        assert_eq!(normalize_email("   "), None);
        assert_eq!(normalize_email("@").as_deref(), None);
    }

    #[test]
    fn phones() {
        let gb = phone_region("gb");
        assert_eq!(
            normalize_phone("07911 123456", gb).as_deref(),
            Some("+447911123456")
        );
        assert_eq!(
            normalize_phone("+44 (0)7911-123456", None).as_deref(),
            Some("+447911123456")
        );
        assert_eq!(
            normalize_phone("0044 7911 123456", None).as_deref(),
            Some("+447911123456")
        );
        let us = phone_region("US");
        assert_eq!(
            normalize_phone("(202) 555-0143 ext. 12", us).as_deref(),
            Some("+12025550143")
        );
        assert_eq!(
            normalize_phone("1-202-555-0143", us).as_deref(),
            Some("+12025550143")
        );
        // Too short for a US number: digits only.
        assert_eq!(normalize_phone("555-0143", us).as_deref(), Some("5550143"));
        assert_eq!(
            normalize_phone("+1 (202) 555-0143", None).as_deref(),
            Some("+12025550143")
        );
        assert_eq!(
            normalize_phone("020 7946 0958", gb).as_deref(),
            normalize_phone("+44 20 7946 0958", us).as_deref()
        );
        assert_eq!(
            normalize_phone("(650) 253-0000", us).as_deref(),
            Some("+16502530000")
        );
        assert_eq!(normalize_phone("12-34", us), None);
        assert_eq!(normalize_phone("12345", None).as_deref(), Some("12345"));
    }

    #[test]
    fn addresses() {
        assert_eq!(
            normalize_address("12 North Main Street, Apartment 4").as_deref(),
            Some("12 n main st apt 4")
        );
        assert_eq!(
            normalize_address("12 N. Main St. Apt #4").as_deref(),
            Some("12 n main st apt 4")
        );
        assert_eq!(
            normalize_address("5 Sunset Boulevard Suite 9").as_deref(),
            normalize_address("5 sunset blvd ste 9").as_deref()
        );
        assert_eq!(
            normalize_address("1 Long Ln").as_deref(),
            normalize_address("1 Long Lane").as_deref()
        );
        assert_eq!(normalize_address(" ,. "), None);
        assert_eq!(normalize_place("Saint Kilda").as_deref(), Some("st kilda"));
    }

    #[test]
    fn codes_and_countries() {
        assert_eq!(normalize_code(" sw1a 1aa ").as_deref(), Some("SW1A1AA"));
        assert_eq!(normalize_code("123-45-6789").as_deref(), Some("123456789"));
        assert_eq!(normalize_country("gb").as_deref(), Some("GB"));
        assert_eq!(normalize_country("DEU").as_deref(), Some("DE"));
        assert_eq!(normalize_country("United Kingdom").as_deref(), Some("GB"));
        assert_eq!(normalize_country("Atlantis").as_deref(), Some("atlantis"));
    }

    #[test]
    fn companies() {
        assert_eq!(normalize_company("Acme, Inc.").as_deref(), Some("acme"));
        assert_eq!(
            normalize_company("The Acme Co Ltd").as_deref(),
            Some("acme")
        );
        assert_eq!(normalize_company("Siemens AG").as_deref(), Some("siemens"));
        assert_eq!(normalize_company("Foo S.A.").as_deref(), Some("foo"));
        assert_eq!(normalize_company("Bar B.V.").as_deref(), Some("bar"));
        assert_eq!(
            normalize_company("Smith & Sons GmbH").as_deref(),
            Some("smith sons")
        );
        assert_eq!(normalize_company("Ltd").as_deref(), Some("ltd"));
        assert_eq!(normalize_company(""), None);
        // A person's employer keeps the person model's form.
        assert_eq!(
            normalize_employer("Smith & Sons GmbH").as_deref(),
            Some("smith and sons")
        );
        assert_eq!(
            normalize_employer("The Acme Co Ltd").as_deref(),
            Some("acme")
        );
        for (a, b) in [
            (
                "Müller Haustechnik GmbH",
                "MÜLLER HAUSTECHNIK GMBH & Co. KG",
            ),
            ("Northwind Traders", "Northwind Traders Inc."),
            ("Traders, Northwind", "northwind traders, LLC"),
            ("Dupont et Fils S.A.R.L.", "DUPONT & FILS SARL"),
            ("Volvo AB (publ)", "AB Volvo"),
            ("Nordisk Foods A/S", "Nordisk Foods AS"),
            ("Rossi Costruzioni S.r.l.", "Rossi Costruzioni SRL"),
            ("Acme Pty. Ltd.", "ACME PTY LTD"),
            ("Kowalski sp. z o.o.", "Kowalski"),
            ("Grupo Bimbo, S.A. de C.V.", "Grupo Bimbo"),
            ("Bäckerei Huber e.K.", "Baeckerei Huber"),
            ("Müller Haustechnik", "MUELLER Haustechnik GmbH"),
            ("Muller Haustechnik", "Mueller Haustechnik"),
        ] {
            let (x, y) = (normalize_company(a), normalize_company(b));
            assert_eq!(x, y, "{a} / {b}");
        }
        assert_eq!(
            normalize_company("MÜLLER HAUSTECHNIK GMBH & Co. KG").as_deref(),
            Some("haustechnik muller")
        );
        // Two different companies stay different.
        assert_ne!(
            normalize_company("Northwind Traders"),
            normalize_company("Northwind Logistics")
        );
    }

    #[test]
    fn domains() {
        assert_eq!(
            normalize_web_domain("https://www.Northwind.example/about?x=1").as_deref(),
            Some("northwind.example")
        );
        assert_eq!(
            normalize_web_domain("shop.northwind.co.uk").as_deref(),
            Some("northwind.co.uk")
        );
        assert_eq!(
            normalize_web_domain("http://user@northwind.com:8080/").as_deref(),
            Some("northwind.com")
        );
        assert_eq!(normalize_web_domain("not a domain"), None);
        assert_eq!(normalize_web_domain("gmail.com"), None);
        assert_eq!(
            company_email_domain("Sales@EU.Northwind.example").as_deref(),
            Some("northwind.example")
        );
        for free in [
            "a@gmail.com",
            "a@googlemail.com",
            "a@yahoo.co.uk",
            "a@yahoo.de",
            "a@outlook.com",
            "a@hotmail.fr",
            "a@live.com",
            "a@gmx.de",
            "a@gmx.net",
            "a@web.de",
            "a@icloud.com",
            "a@aol.com",
            "a@proton.me",
            "a@protonmail.com",
            "a@t-online.de",
            "a@mail.ru",
        ] {
            assert_eq!(company_email_domain(free), None, "{free}");
        }
        assert!(!is_free_mail_domain("northwind.example"));
        assert!(!is_free_mail_domain("webde.example"));
    }

    #[test]
    fn birth_dates() {
        let d = |y, m, d| BirthDate::new(y, m, d);
        assert_eq!(parse_birth_date("1980-07-03"), d(1980, 7, 3));
        assert_eq!(parse_birth_date("1980-07-03T00:00:00Z"), d(1980, 7, 3));
        assert_eq!(parse_birth_date("19800703"), d(1980, 7, 3));
        assert_eq!(parse_birth_date("03/07/1980"), d(1980, 7, 3));
        assert_eq!(parse_birth_date("07/23/1980"), d(1980, 7, 23));
        assert_eq!(parse_birth_date("23/07/1980"), d(1980, 7, 23));
        assert_eq!(parse_birth_date("03.07.1980"), d(1980, 7, 3));
        assert_eq!(parse_birth_date("1980/7/3"), d(1980, 7, 3));
        assert_eq!(parse_birth_date("1980-02-30"), None);
        assert_eq!(parse_birth_date("2000-02-29"), d(2000, 2, 29));
        assert_eq!(parse_birth_date("1900-02-29"), None);
        assert_eq!(parse_birth_date("yesterday"), None);
        assert_eq!(parse_birth_date("13/13/1980"), None);
        let b = BirthDate::new(1980, 7, 3).unwrap();
        assert_eq!(BirthDate::from_packed(b.packed()), Some(b));
    }

    proptest::proptest! {
        #[test]
        fn ascii_fold_matches_unicode_fold(s in "[ -~]{0,40}") {
            let mut slow = String::new();
            let mut pending = false;
            for c in s.nfkd() {
                if c == '\'' || c == '`' {
                    continue;
                }
                if c.is_alphanumeric() {
                    if pending && !slow.is_empty() {
                        slow.push(' ');
                    }
                    pending = false;
                    slow.extend(c.to_lowercase());
                } else {
                    pending = true;
                }
            }
            proptest::prop_assert_eq!(fold(&s), slow);
        }

        #[test]
        fn normalisers_never_panic(s in "\\PC*", t in proptest::string::string_regex(".{0,300}").unwrap()) {
            for v in [&s, &t] {
                let _ = fold(v);
                let _ = normalize_name(v);
                let _ = normalize_first_name(v);
                let _ = split_full_name(v);
                let _ = normalize_email(v);
                let _ = normalize_phone(v, phone_region("GB"));
                let _ = normalize_phone(v, None);
                let _ = normalize_address(v);
                let _ = normalize_place(v);
                let _ = normalize_code(v);
                let _ = normalize_country(v);
                let _ = normalize_company(v);
                let _ = normalize_employer(v);
                let _ = normalize_web_domain(v);
                let _ = company_email_domain(v);
                let _ = is_free_mail_domain(v);
                let _ = parse_birth_date(v);
            }
        }

        #[test]
        fn normalisers_are_idempotent_on_their_output(s in "\\PC{0,40}") {
            if let Some(n) = normalize_name(&s) {
                proptest::prop_assert_eq!(normalize_name(&n), Some(n.clone()));
            }
            if let Some(a) = normalize_address(&s) {
                proptest::prop_assert_eq!(normalize_address(&a), Some(a.clone()));
            }
            if let Some(c) = normalize_code(&s) {
                proptest::prop_assert_eq!(normalize_code(&c), Some(c.clone()));
            }
            if let Some(c) = normalize_company(&s) {
                proptest::prop_assert_eq!(normalize_company(&c), Some(c.clone()));
            }
            if let Some(d) = normalize_web_domain(&s) {
                proptest::prop_assert_eq!(normalize_web_domain(&d), Some(d.clone()));
            }
        }

        /// Word order, case, accents, punctuation and a trailing legal form never change a
        /// company's canonical name.
        #[test]
        fn company_names_ignore_order_case_and_legal_form(
            words in proptest::collection::vec("[a-z]{4,9}", 1..4),
            form in proptest::sample::select(vec![
                "", " GmbH", " GmbH & Co. KG", " Inc.", " Ltd", " S.A.", " B.V.", " AB",
                " A/S", " S.r.l.", " Pty Ltd", " LLC", " e.K.", " Oy", " SARL", " & Co.",
            ]),
            upper in proptest::bool::ANY,
        ) {
            let plain = normalize_company(&words.join(" "));
            let mut reversed = words.clone();
            reversed.reverse();
            let mut other = format!("{}{form}", reversed.join(", "));
            if upper {
                other = other.to_uppercase();
            }
            // Words that are themselves legal forms or connectors may be dropped; only
            // names made of other words are checked.
            proptest::prop_assume!(words.iter().all(|w| LEGAL_FORMS.binary_search(&w.as_str()).is_err()
                && !CONNECTORS.contains(&w.as_str()) && !LEADING_FORMS.contains(&w.as_str())));
            proptest::prop_assert_eq!(normalize_company(&other), plain);
        }
    }
}
