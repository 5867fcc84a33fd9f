//! Progress reports and cancellation of long operations (duplicate scans, merges).

use std::fmt;
use std::sync::Arc;

use crate::error::{CrmError, Result};
use crate::store::EntityKind;

/// Where a long operation stands, as passed to its [`ProgressCallback`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress {
    /// Reading rows of `kind`: `rows` read so far (reported after every page).
    Reading {
        /// The kind being read.
        kind: EntityKind,
        /// Rows of it read so far.
        rows: u64,
    },
    /// Comparing `records` records (persons, then companies), one batch each.
    Comparing {
        /// The records of the batch.
        records: u64,
    },
    /// Planning a merge: `done` of `of` merged customers planned.
    Merging {
        /// Customers planned so far.
        done: u64,
        /// Customers to merge into the survivor.
        of: u64,
    },
}

/// What a [`ProgressCallback`] answers: go on, or stop before the next batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Control {
    /// Go on.
    #[default]
    Continue,
    /// Stop: the operation returns [`CrmError::Cancelled`] and writes nothing.
    Cancel,
}

/// A host's callback for a long operation: called between batches with where the
/// operation stands; answering [`Control::Cancel`] stops it before the next batch.
#[derive(Clone)]
pub struct ProgressCallback(Arc<dyn Fn(Progress) -> Control + Send + Sync>);

impl ProgressCallback {
    /// Wraps `f`.
    pub fn new(f: impl Fn(Progress) -> Control + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Reports `p`; `Cancelled` for `operation` if the host answers [`Control::Cancel`].
    pub(crate) fn report(&self, operation: &str, p: Progress) -> Result<()> {
        match (self.0)(p) {
            Control::Continue => Ok(()),
            Control::Cancel => Err(CrmError::Cancelled {
                operation: operation.to_string(),
            }),
        }
    }
}

impl fmt::Debug for ProgressCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgressCallback(..)")
    }
}

/// Reports `p` to `callback`, if any.
pub(crate) fn report(
    callback: Option<&ProgressCallback>,
    operation: &str,
    p: Progress,
) -> Result<()> {
    callback.map_or(Ok(()), |c| c.report(operation, p))
}
