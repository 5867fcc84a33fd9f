//! Text search semantics shared by every store.
//!
//! A customer's *search document* is built from its names, company name, the names of its
//! contacts, its (and its contacts') e-mail addresses, and the digits of their phone-like
//! contact points (both the E.164 form and the number as entered). Text is folded:
//! Unicode NFKD, combining marks removed, lower-cased.
//!
//! A query is split on white space into terms. A term made only of digits and phone
//! punctuation (`+ - ( ) . /`) is reduced to its digits; any other term is folded. A
//! customer matches when **every** term occurs as a substring of its document. SQL stores
//! keep the document in a column (built by [`customer_document`]) and index it for
//! substring search, so every store returns the same rows.

use unicode_normalization::UnicodeNormalization;

use crate::model::{Contact, ContactPoint, Customer};

/// Folds text for search: NFKD, combining marks stripped, lower-cased.
pub fn fold(s: &str) -> String {
    s.nfkd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Splits a query into normalised terms (see the module docs). Empty terms are dropped.
pub fn query_terms(q: &str) -> Vec<String> {
    q.split_whitespace()
        .filter_map(|t| {
            let phone_like = t.chars().any(|c| c.is_ascii_digit())
                && t.chars()
                    .all(|c| c.is_ascii_digit() || "+-()./".contains(c));
            let term = if phone_like {
                t.chars().filter(char::is_ascii_digit).collect()
            } else {
                fold(t)
            };
            (!term.is_empty()).then_some(term)
        })
        .collect()
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
    fn phone_terms_become_digits() {
        assert_eq!(query_terms("+49 (30) 1234"), vec!["49", "30", "1234"]);
        assert_eq!(query_terms("030-1234 Müller"), vec!["0301234", "muller"]);
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
            prop_assert!(matches(&doc, &query_terms(&term)));
        }
    }
}
