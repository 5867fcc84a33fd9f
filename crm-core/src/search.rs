//! Text search semantics shared by every store.
//!
//! A customer's *search document* is built from its names, company name, the names of its
//! contacts, its (and its contacts') e-mail addresses, and the digits of their phone-like
//! contact points (both the E.164 form and the number as entered). Text is folded:
//! Unicode NFKD, combining marks removed, lower-cased.
//!
//! A query is split on white space into terms. A run of consecutive terms made only of
//! digits and phone punctuation (`+ - ( ) . /`) is one phone number, reduced to digits:
//! written internationally (`+44 20 7946 0958`, `0044 20 7946 0958`) it becomes the digits of
//! its E.164 form (`442079460958`); written nationally with a trunk `0` and at least seven
//! digits (`020 7946 0958`) it loses that `0`, so it is found inside the stored E.164 digits
//! as well as inside the digits as entered. Any other term is folded. A customer matches
//! when **every** term occurs as a substring of its document. SQL stores keep the document
//! in a column (built by [`customer_document`]) and index it for substring search, so every
//! store returns the same rows.
//!
//! ## Bounds
//! A query is user input and is bounded before any store sees it: at most
//! [`MAX_QUERY_CHARS`] characters, at most [`MAX_TERMS`] terms of at most
//! [`MAX_TERM_CHARS`] characters each (after folding, which can lengthen text), and no NUL
//! character. [`query_terms`] refuses anything else with a
//! [`CrmError::Validation`] on the field `text`, so no store builds SQL (or recursion)
//! proportional to the input.

use unicode_normalization::UnicodeNormalization;

use crate::error::{CrmError, Result};
use crate::model::{Contact, ContactPoint, Customer};
use crate::store::protocol::Projection;
use crate::store::{EntityKind, Record};

/// Folds text for search: NFKD, combining marks stripped, lower-cased.
pub fn fold(s: &str) -> String {
    s.nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Longest search query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 512;
/// Most terms a search query may have.
pub const MAX_TERMS: usize = 32;
/// Longest term accepted, in characters after folding.
pub const MAX_TERM_CHARS: usize = 128;

/// Whether a white-space separated token is part of a phone number.
fn phone_like(t: &str) -> bool {
    t.chars().any(|c| c.is_ascii_digit())
        && t.chars()
            .all(|c| c.is_ascii_digit() || "+-()./".contains(c))
}

/// The digits a phone number typed as `number` (its tokens joined) is searched by (see the
/// module docs).
fn phone_term(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let international = if let Some(rest) = number.strip_prefix('+') {
        Some(format!("+{rest}"))
    } else {
        digits.strip_prefix("00").map(|rest| format!("+{rest}"))
    };
    if let Some(intl) = international {
        // `+44 (0) 20 ...`: the E.164 form drops the national trunk prefix.
        if let Some(e164) = crate::values::normalize_e164(&intl, None) {
            return e164.chars().filter(char::is_ascii_digit).collect();
        }
        return intl.chars().filter(char::is_ascii_digit).collect();
    }
    match digits.strip_prefix('0') {
        Some(national) if digits.len() >= 7 && !national.starts_with('0') => national.to_string(),
        _ => digits,
    }
}

fn too_long(what: &str, max: usize) -> CrmError {
    CrmError::validation("text", format!("{what} is longer than {max} characters"))
}

/// Splits a query into normalised terms (see the module docs). Empty terms are dropped.
///
/// Fails with [`CrmError::Validation`] on `text` when the query breaks the bounds of the
/// module docs: longer than [`MAX_QUERY_CHARS`], more than [`MAX_TERMS`] terms, a term
/// longer than [`MAX_TERM_CHARS`] after folding, or a NUL character.
pub fn query_terms(q: &str) -> Result<Vec<String>> {
    if q.chars().nth(MAX_QUERY_CHARS).is_some() {
        return Err(too_long("the query", MAX_QUERY_CHARS));
    }
    if q.contains('\0') {
        return Err(CrmError::validation("text", "contains a NUL character"));
    }
    let tokens: Vec<&str> = q.split_whitespace().collect();
    let mut terms = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let term = if phone_like(tokens[i]) {
            let start = i;
            while i < tokens.len() && phone_like(tokens[i]) {
                i += 1;
            }
            phone_term(&tokens[start..i].concat())
        } else {
            i += 1;
            fold(tokens[i - 1])
        };
        if term.is_empty() {
            continue;
        }
        if term.chars().nth(MAX_TERM_CHARS).is_some() {
            return Err(too_long(
                &format!("term {}", terms.len() + 1),
                MAX_TERM_CHARS,
            ));
        }
        terms.push(term);
        if terms.len() > MAX_TERMS {
            return Err(CrmError::validation(
                "text",
                format!("has more than {MAX_TERMS} terms"),
            ));
        }
    }
    Ok(terms)
}

/// The customer search document as a [`Projection`]: one derived row per customer, built
/// by [`customer_document`] from the customer, its contacts and its contact points, and
/// kept in the same transaction as every write of them. Declared once here, run by every
/// store through [`crate::store::protocol::apply`]; the SQL stores keep it in the table
/// `customer_search`.
pub const CUSTOMER_SEARCH: Projection = Projection {
    name: "customer_search",
    owner: EntityKind::Customer,
    children: &[
        (EntityKind::Contact, "customer_id"),
        (EntityKind::ContactPoint, "customer_id"),
    ],
    owner_of: search_owner,
    build: build_search_document,
};

/// The customer (its id) whose search document a write of `record` changes, if any.
pub fn search_owner(record: &Record) -> Option<uuid::Uuid> {
    match record {
        Record::Customer(c) => Some(c.id.into()),
        Record::Contact(c) => Some(c.customer_id.into()),
        Record::ContactPoint(p) => Some(p.customer_id.into()),
        _ => None,
    }
}

/// [`customer_document`] of a customer record and its child records.
fn build_search_document(owner: &Record, children: &[&Record]) -> Result<String> {
    let Record::Customer(c) = owner else {
        return Err(CrmError::internal(format!(
            "the search document was built for {}",
            owner.entity_ref()
        )));
    };
    let contacts = children.iter().filter_map(|r| match r {
        Record::Contact(x) => Some(x),
        _ => None,
    });
    let points = children.iter().filter_map(|r| match r {
        Record::ContactPoint(x) => Some(x),
        _ => None,
    });
    Ok(customer_document(c, contacts, points))
}

/// The search document of a customer given its contacts and contact points.
pub fn customer_document<'a>(
    customer: &Customer,
    contacts: impl IntoIterator<Item = &'a Contact>,
    points: impl IntoIterator<Item = &'a ContactPoint>,
) -> String {
    let mut parts: Vec<String> = vec![customer.name.clone()];
    parts.extend(customer.first_name.iter().cloned());
    parts.extend(customer.last_name.iter().cloned());
    parts.extend(customer.company_name.iter().cloned());
    for c in contacts {
        parts.push(c.full_name());
    }
    for p in points {
        if p.kind.is_phone() {
            parts.push(p.digits());
            parts.push(p.raw_value.chars().filter(char::is_ascii_digit).collect());
        } else if p.kind == crate::model::ContactPointKind::Email {
            parts.push(p.value.clone());
        }
    }
    fold(&parts.join(" | "))
}

/// Whether every term occurs in the document.
pub fn matches(document: &str, terms: &[String]) -> bool {
    terms.iter().all(|t| document.contains(t.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn folds_accents_and_case() {
        assert_eq!(fold("Ångström Müller"), "angstrom muller");
    }

    #[test]
    fn phone_numbers_become_digits() {
        assert_eq!(query_terms("+49 (30) 1234").unwrap(), vec!["49301234"]);
        assert_eq!(
            query_terms("030-1234 Müller").unwrap(),
            vec!["301234".to_string(), "muller".to_string()]
        );
        let e164 = vec!["442079460958".to_string()];
        assert_eq!(query_terms("0044 20 7946 0958").unwrap(), e164);
        assert_eq!(query_terms("+44 20 7946 0958").unwrap(), e164);
        assert_eq!(query_terms("+44 (0) 20 7946 0958").unwrap(), e164);
        assert_eq!(query_terms("+442079460958").unwrap(), e164);
        // National: the trunk 0 goes, so the rest is inside the E.164 digits.
        assert_eq!(query_terms("020 7946 0958").unwrap(), vec!["2079460958"]);
        assert_eq!(query_terms("2024").unwrap(), vec!["2024"]);
        assert_eq!(
            query_terms("030 12").unwrap(),
            vec!["03012"],
            "too short to be national"
        );
    }

    #[test]
    fn queries_are_bounded() {
        let field_is_text = |r: Result<Vec<String>>| match r {
            Err(CrmError::Validation { field, .. }) => assert_eq!(field, "text"),
            other => panic!("expected a validation error on text, got {other:?}"),
        };
        field_is_text(query_terms(&"a".repeat(MAX_QUERY_CHARS + 1)));
        field_is_text(query_terms(&"ab ".repeat(MAX_TERMS + 1)));
        field_is_text(query_terms(&"x".repeat(MAX_TERM_CHARS + 1)));
        // Folding lengthens: one character that decomposes into 18.
        field_is_text(query_terms(&"\u{FDFA}".repeat(10)));
        field_is_text(query_terms("a\0b"));
        assert_eq!(
            query_terms(&"ab ".repeat(MAX_TERMS)).unwrap().len(),
            MAX_TERMS
        );
        assert_eq!(query_terms(&"x".repeat(MAX_TERM_CHARS)).unwrap().len(), 1);
        assert!(query_terms("   ").unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn any_folded_substring_of_a_name_matches(name in "[A-Za-zÀ-ÿ]{1,12}", start in 0usize..12, len in 1usize..6) {
            let doc = fold(&name);
            let chars: Vec<char> = doc.chars().collect();
            prop_assume!(start < chars.len());
            let end = (start + len).min(chars.len());
            let term: String = chars[start..end].iter().collect();
            prop_assume!(!term.trim().is_empty());
            prop_assert!(matches(&doc, &query_terms(&term).unwrap()));
        }

        /// Any text is either a bounded list of terms or a validation error on `text`.
        #[test]
        fn any_query_is_bounded_or_refused(q in "\\PC{0,700}") {
            match query_terms(&q) {
                Ok(terms) => {
                    prop_assert!(terms.len() <= MAX_TERMS);
                    for t in &terms {
                        prop_assert!(t.chars().count() <= MAX_TERM_CHARS);
                    }
                }
                Err(CrmError::Validation { field, .. }) => prop_assert_eq!(field, "text"),
                Err(e) => prop_assert!(false, "unexpected error {e:?}"),
            }
        }
    }
}
