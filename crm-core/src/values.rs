//! Validated value types and validation helpers shared by the entities.
//!
//! Each type here can only hold a valid value: construction goes through a parser that
//! returns [`CrmError::Validation`] naming the field, and deserialisation goes through the
//! same parser.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::{CrmError, Result};

/// A syntactically valid e-mail address, stored trimmed and lower-cased.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Validates and lower-cases an e-mail address. An address typed with a display name
    /// (`"Ines Ortega" <Ines.Ortega@example.com>`) is accepted and reduced to the address
    /// (`ines.ortega@example.com`); [`Email::parse_with_name`] also returns the name.
    pub fn parse(s: &str) -> Result<Self> {
        Self::parse_with_name(s).map(|(e, _)| e)
    }

    /// Like [`Email::parse`], also returning the display name the address was typed with
    /// (unquoted and trimmed; `None` when there was none).
    pub fn parse_with_name(s: &str) -> Result<(Self, Option<String>)> {
        let mut t = s.trim();
        if let Some(inner) = t.strip_prefix('<').and_then(|x| x.strip_suffix('>')) {
            t = inner.trim();
        }
        if t.is_empty() {
            return Err(CrmError::validation("email", "must not be empty"));
        }
        let invalid =
            || CrmError::validation("email", format!("{s:?} is not a valid e-mail address"));
        if t.len() > 512 {
            return Err(invalid());
        }
        let parsed = email_address::EmailAddress::parse_with_options(
            t,
            email_address::Options::default().with_display_text(),
        )
        .map_err(|_| invalid())?;
        // The crate's accessors split the parsed text again; never let a surprise there
        // take the host down.
        let parts =
            std::panic::catch_unwind(|| (parsed.email(), parsed.display_part().to_string()))
                .map_err(|_| invalid())?;
        let (address, display) = parts;
        let address = address.trim().to_lowercase();
        if !address.contains('@') || !email_address::EmailAddress::is_valid(&address) {
            return Err(invalid());
        }
        let name = display.trim().trim_matches('"').trim().to_string();
        let name = (!name.is_empty() && name.to_lowercase() != address).then_some(name);
        Ok((Self(address), name))
    }
    /// The normalised address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Email({})", self.0)
    }
}
impl TryFrom<String> for Email {
    type Error = CrmError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}
impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

/// A phone number: the raw value as entered plus its E.164 form when it could be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Phone {
    /// The value as the user entered it (trimmed).
    pub raw: String,
    /// E.164 form (`+4930123456`) when the number parsed and is valid.
    pub e164: Option<String>,
}

impl Phone {
    /// Parses a phone number. Numbers without a `+` prefix are read in `default_region`
    /// (ISO-3166 alpha-2) when given. A value that is not a valid number is kept raw with
    /// `e164 = None`, as long as it contains at least three digits.
    pub fn parse(s: &str, default_region: Option<&str>) -> Result<Self> {
        let raw = s.trim();
        if raw.is_empty() {
            return Err(CrmError::validation("phone", "must not be empty"));
        }
        let digits = raw.chars().filter(|c| c.is_ascii_digit()).count();
        if digits < 3 {
            return Err(CrmError::validation(
                "phone",
                format!("{s:?} has fewer than three digits"),
            ));
        }
        if raw.len() > 64 {
            return Err(CrmError::validation("phone", "longer than 64 characters"));
        }
        Ok(Self {
            raw: raw.to_string(),
            e164: normalize_e164(raw, default_region),
        })
    }

    /// The digits only of the best form (E.164 if known, else raw), for matching and search.
    pub fn digits(&self) -> String {
        self.e164
            .as_deref()
            .unwrap_or(&self.raw)
            .chars()
            .filter(|c| c.is_ascii_digit())
            .collect()
    }
}

/// E.164 form of `raw` if it parses as a valid number (in `default_region` when it has no
/// `+` prefix), else `None`.
pub fn normalize_e164(raw: &str, default_region: Option<&str>) -> Option<String> {
    let region = default_region
        .and_then(|r| phonenumber::country::Id::from_str(&r.to_ascii_uppercase()).ok());
    // The parser may panic on pathological input in some versions; never let that escape.
    let parsed = std::panic::catch_unwind(|| phonenumber::parse(region, raw)).ok()?;
    let number = parsed.ok()?;
    if !phonenumber::is_valid(&number) {
        return None;
    }
    Some(number.format().mode(phonenumber::Mode::E164).to_string())
}

/// An ISO-3166 alpha-2 country code, stored upper-case.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country([u8; 2]);

impl Country {
    /// Parses an alpha-2 code such as `de` or `US`.
    pub fn parse(s: &str) -> Result<Self> {
        let up = s.trim().to_ascii_uppercase();
        let c = isocountry::CountryCode::for_alpha2(&up).map_err(|_| {
            CrmError::validation("country", format!("{s:?} is not an ISO-3166 alpha-2 code"))
        })?;
        let b = c.alpha2().as_bytes();
        Ok(Self([b[0], b[1]]))
    }
    /// The two-letter code.
    pub fn code(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("ZZ")
    }
}
impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}
impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Country({})", self.code())
    }
}
impl TryFrom<String> for Country {
    type Error = CrmError;
    fn try_from(s: String) -> Result<Self> {
        Self::parse(&s)
    }
}
impl From<Country> for String {
    fn from(c: Country) -> String {
        c.code().to_string()
    }
}

/// A whole percentage 0..=100 (win probability, lead score).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(try_from = "u8", into = "u8")]
pub struct Percent(u8);

impl Percent {
    /// 0 %.
    pub const ZERO: Percent = Percent(0);
    /// 100 %.
    pub const HUNDRED: Percent = Percent(100);

    /// Validates a value in 0..=100; `field` names it in the error.
    pub fn new(value: i64, field: &str) -> Result<Self> {
        if (0..=100).contains(&value) {
            Ok(Self(value as u8))
        } else {
            Err(CrmError::validation(
                field,
                format!("{value} is outside 0..=100"),
            ))
        }
    }
    /// The value.
    pub const fn get(self) -> u8 {
        self.0
    }
}
impl fmt::Debug for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}
impl fmt::Display for Percent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}%", self.0)
    }
}
impl TryFrom<u8> for Percent {
    type Error = CrmError;
    fn try_from(v: u8) -> Result<Self> {
        Self::new(i64::from(v), "percent")
    }
}
impl From<Percent> for u8 {
    fn from(p: Percent) -> u8 {
        p.0
    }
}

/// Longest text accepted in a short text field (names, titles, labels).
pub const MAX_SHORT: usize = 512;
/// Longest text accepted in a long text field (bodies, descriptions).
pub const MAX_LONG: usize = 1 << 20;

/// Fails unless `value` has non-whitespace content and at most [`MAX_SHORT`] characters.
pub fn require_text(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(CrmError::validation(field, "must not be empty"));
    }
    check_len(field, value, MAX_SHORT)
}

/// Like [`require_text`] for an optional value: `None` is fine, `Some("")` is not.
pub fn optional_text(field: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => require_text(field, v),
        None => Ok(()),
    }
}

/// Fails if `value` is longer than `max` characters.
pub fn check_len(field: &str, value: &str, max: usize) -> Result<()> {
    if value.chars().count() > max {
        Err(CrmError::validation(
            field,
            format!("longer than {max} characters"),
        ))
    } else {
        Ok(())
    }
}

/// Fails if a filter's text value holds a NUL character, which no SQL store can bind
/// (a stored text never holds one either, see [`crate::store::check_storable`]).
pub fn check_filter_text(field: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) if v.contains('\0') => Err(CrmError::validation(field, "contains a NUL character")),
        _ => Ok(()),
    }
}

/// Fails unless `tz` looks like an IANA time-zone name (`UTC`, `Europe/Berlin`,
/// `America/Argentina/Buenos_Aires`, `Etc/GMT+2`).
pub fn check_timezone(field: &str, tz: &str) -> Result<()> {
    let ok = !tz.is_empty()
        && tz.len() <= 64
        && tz.split('/').all(|part| {
            !part.is_empty()
                && part
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        })
        && tz.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    if ok {
        Ok(())
    } else {
        Err(CrmError::validation(
            field,
            format!("{tz:?} is not an IANA time-zone name"),
        ))
    }
}

/// Fails unless `lang` looks like a BCP-47 language tag (`en`, `de-CH`, `pt-BR`).
pub fn check_language(field: &str, lang: &str) -> Result<()> {
    let mut parts = lang.split(['-', '_']);
    let primary_ok = parts
        .next()
        .is_some_and(|p| (2..=3).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphabetic()));
    let rest_ok =
        parts.all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    if primary_ok && rest_ok {
        Ok(())
    } else {
        Err(CrmError::validation(
            field,
            format!("{lang:?} is not a BCP-47 language tag"),
        ))
    }
}

/// Fails unless `url` is an http(s) URL or a bare domain with a dot and no spaces.
pub fn check_website(field: &str, url: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let ok = host.contains('.')
        && !host.starts_with('.')
        && !host.ends_with('.')
        && host
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | ':'))
        && !url.chars().any(char::is_whitespace);
    if ok {
        check_len(field, url, 2048)
    } else {
        Err(CrmError::validation(
            field,
            format!("{url:?} is not a web address"),
        ))
    }
}

/// Fails unless the custom-fields value is a JSON object (or null).
pub fn check_custom_fields(field: &str, v: &serde_json::Value) -> Result<()> {
    if v.is_object() || v.is_null() {
        Ok(())
    } else {
        Err(CrmError::validation(field, "must be a JSON object"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn email_with_a_display_name_keeps_address_and_name() {
        let (e, name) =
            Email::parse_with_name("\"Ines Ortega\" <Ines.Ortega@Example.com>").unwrap();
        assert_eq!(e.as_str(), "ines.ortega@example.com");
        assert_eq!(name.as_deref(), Some("Ines Ortega"));
        let (e, name) = Email::parse_with_name("Ines Ortega <ines.ortega@example.com>").unwrap();
        assert_eq!(e.as_str(), "ines.ortega@example.com");
        assert_eq!(name.as_deref(), Some("Ines Ortega"));
        let (e, name) = Email::parse_with_name("ines@example.com").unwrap();
        assert_eq!((e.as_str(), name), ("ines@example.com", None));
        assert_eq!(
            Email::parse("<ines@example.com>")
                .map(|e| e.as_str().to_string())
                .ok(),
            Some("ines@example.com".to_string())
        );
        assert!(matches!(
            Email::parse("Ines <not-an-address>"),
            Err(CrmError::Validation { ref field, .. }) if field == "email"
        ));
    }

    #[test]
    fn email_is_lowercased_and_validated() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        assert!(Email::parse("not-an-email").is_err());
        assert!(Email::parse("").is_err());
        assert!(Email::parse("a@").is_err());
    }

    #[test]
    fn phone_normalises_to_e164() {
        let p = Phone::parse("030 1234567", Some("DE")).unwrap();
        assert_eq!(p.e164.as_deref(), Some("+49301234567"));
        assert_eq!(p.raw, "030 1234567");
        let p = Phone::parse("+1 (415) 555-2671", None).unwrap();
        assert_eq!(p.e164.as_deref(), Some("+14155552671"));
        let p = Phone::parse("ext 12345", None).unwrap();
        assert_eq!(p.e164, None);
        assert!(Phone::parse("12", None).is_err());
    }

    #[test]
    fn country_and_percent() {
        assert_eq!(Country::parse("de").unwrap().code(), "DE");
        assert!(Country::parse("XX").is_err());
        assert!(Percent::new(101, "probability").is_err());
        assert!(Percent::new(-1, "probability").is_err());
        assert_eq!(Percent::new(100, "p").unwrap().get(), 100);
    }

    #[test]
    fn misc_checks() {
        assert!(check_timezone("tz", "Europe/Berlin").is_ok());
        assert!(check_timezone("tz", "UTC").is_ok());
        assert!(check_timezone("tz", "berlin time").is_err());
        assert!(check_language("lang", "de-CH").is_ok());
        assert!(check_language("lang", "german!").is_err());
        assert!(check_website("w", "https://example.com/x").is_ok());
        assert!(check_website("w", "example").is_err());
    }

    proptest! {
        #[test]
        fn parsers_never_panic(s in "\\PC{0,40}", r in "[A-Za-z]{0,3}") {
            let _ = Email::parse(&s);
            let _ = Phone::parse(&s, Some(&r));
            let _ = Country::parse(&s);
            let _ = check_timezone("tz", &s);
            let _ = check_language("l", &s);
            let _ = check_website("w", &s);
        }

        #[test]
        fn phone_digits_like_inputs_never_panic(s in "[+0-9 ()\\-]{0,30}", r in "(US|DE|GB|FR|IN|)") {
            let region = if r.is_empty() { None } else { Some(r.as_str()) };
            if let Ok(p) = Phone::parse(&s, region) {
                if let Some(e) = &p.e164 { prop_assert!(e.starts_with('+')); }
            }
        }

        #[test]
        fn valid_email_roundtrips(local in "[a-z0-9]{1,10}", domain in "[a-z]{1,10}\\.(com|de|org)") {
            let raw = format!("{local}@{domain}");
            let e = Email::parse(&raw.to_uppercase()).unwrap();
            prop_assert_eq!(e.as_str(), raw.as_str());
        }
    }
}
