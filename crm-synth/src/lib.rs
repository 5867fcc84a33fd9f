//! Test data and accuracy measurement for duplicate detection.
//!
//! - [`generate`] makes a seeded, reproducible data set of person records in which some
//!   people appear more than once, each copy corrupted the way real CRM data is (typos,
//!   nicknames, swapped names, missing fields, phone, e-mail, address, date and company
//!   variants), next to hard negatives: households, twins, juniors and people who share a
//!   common name. The truth (which records are the same person) is known exactly.
//! - [`eval`] scores a detector's output against that truth: pairwise precision, recall and
//!   F1 of a scored pair list (at any threshold), of a clustering, and the pair completeness
//!   of a blocking step.
//! - The `crm-synth` binary wraps both (`generate`, `evaluate`), exports the FEBRL benchmark
//!   data sets (`febrl`), and `accuracy.sh` runs a detector over all of them.
//!
//! ```
//! use crm_synth::{generate, SynthConfig, Truth, eval};
//!
//! let records = generate(&SynthConfig::new(1_000, 7));
//! assert!(records.len() > 1_300 && records.len() < 1_700);
//!
//! // A perfect detector: every pair of records of the same entity.
//! let truth = Truth::from_records(&records);
//! let mut pairs = Vec::new();
//! for a in 0..records.len() {
//!     for b in a + 1..records.len() {
//!         if records[a].entity_id == records[b].entity_id {
//!             pairs.push(eval::ScoredPair { a: a as u32, b: b as u32, probability: 0.99 });
//!         }
//!     }
//! }
//! eval::normalize_pairs(&mut pairs);
//! let counts = eval::evaluate_pairs(&truth, &pairs, None);
//! assert_eq!((counts.precision(), counts.recall()), (1.0, 1.0));
//! ```
//!
//! Records carry the same field names as `crm_core::dedupe::PersonRecord`; converting is a
//! field-by-field move, and [`SynthRecord::fields`] gives every column in CSV order. This
//! crate does not depend on crm-core, so it can measure any detector that reads CSV.

#![deny(missing_docs)]

pub mod data;
pub mod diagnose;
pub mod eval;
pub mod generate;
pub mod io;
pub mod record;
pub mod rng;
pub mod stats;

pub use eval::{PairCounts, Truth};
pub use generate::{generate, SynthConfig};
pub use record::{Corruption, Corruptions, Provenance, Relation, SynthRecord, FIELD_NAMES};
pub use stats::SynthStats;
