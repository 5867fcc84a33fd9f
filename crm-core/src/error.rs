//! The one error type of the library.

use std::fmt;

use crate::store::EntityKind;

/// What kind of storage failure happened; lets callers decide whether to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StorageErrorKind {
    /// The backend was busy or a transaction could not be serialised; retrying may succeed.
    Busy,
    /// The connection to the backend failed.
    Connection,
    /// The stored data or schema is not what this version of the library expects.
    Schema,
    /// Any other backend failure.
    Other,
}

impl StorageErrorKind {
    /// Whether an operation that failed with this kind may succeed when retried unchanged.
    pub fn is_retryable(self) -> bool {
        matches!(self, StorageErrorKind::Busy)
    }
}

impl fmt::Display for StorageErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            StorageErrorKind::Busy => "busy",
            StorageErrorKind::Connection => "connection",
            StorageErrorKind::Schema => "schema",
            StorageErrorKind::Other => "other",
        })
    }
}

/// A boxed error source from a backend.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Every failure the library reports. Messages are lower-case and name the thing involved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrmError {
    /// User input broke a rule; `field` names the offending field (dotted path for nesting).
    #[error("invalid {field}: {reason}")]
    Validation {
        /// The field (or dotted path) that is invalid.
        field: String,
        /// Why the value is invalid.
        reason: String,
    },
    /// The entity does not exist in this tenant.
    #[error("{entity} {id} not found")]
    NotFound {
        /// The kind of entity looked for.
        entity: EntityKind,
        /// Its id.
        id: String,
    },
    /// The entity was changed by someone else (stale `version`); nothing was written.
    #[error("{entity} {id} was changed concurrently (stale version)")]
    Conflict {
        /// The kind of entity.
        entity: EntityKind,
        /// Its id.
        id: String,
    },
    /// A unique rule was violated (same id, or a value that must be unique in the tenant).
    #[error("{entity} already exists: {key}")]
    AlreadyExists {
        /// The kind of entity.
        entity: EntityKind,
        /// The stable name of the key that collided, the same in every store: one of
        /// [`crate::store::keys`] (`customer.external_ref`, `customer.id`, ...).
        key: String,
    },
    /// A create was refused because the new record probably duplicates a stored one
    /// ([`crate::DuplicatePolicy::Block`]); nothing was written.
    #[error("{entity} is a likely duplicate of {of} (match probability {probability:.3})")]
    LikelyDuplicate {
        /// The kind of the refused record.
        entity: EntityKind,
        /// The stored record it probably duplicates (the best match).
        of: crate::store::EntityRef,
        /// The match probability of that pair.
        probability: f64,
    },
    /// The entity is still referenced by others and cannot be deleted.
    #[error("{entity} {id} is still referenced by {by}")]
    InUse {
        /// The kind of entity that was to be deleted.
        entity: EntityKind,
        /// Its id.
        id: String,
        /// What still refers to it.
        by: String,
    },
    /// An event with this external id is in the tenant's outbox already (the host's
    /// replay of an event it sent before); nothing was written.
    #[error("an event with external id {external_id:?} was received before")]
    DuplicateExternalEvent {
        /// The host's id of the event.
        external_id: String,
    },
    /// A state machine refused a transition.
    #[error("cannot go from {from} to {to}: {reason}")]
    InvalidTransition {
        /// The current state.
        from: String,
        /// The requested state.
        to: String,
        /// Why not.
        reason: String,
    },
    /// The actor lacks a permission.
    #[error("forbidden: missing permission {permission}")]
    Forbidden {
        /// The permission that was needed.
        permission: String,
    },
    /// A rule (segment, automation, scoring) is malformed; `path` points into the rule.
    #[error("invalid rule at {path}: {reason}")]
    Rule {
        /// Path into the rule, e.g. `and[2].field`.
        path: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A long operation was cancelled by its progress callback ([`crate::Control::Cancel`])
    /// between two batches; nothing was written.
    #[error("{operation} was cancelled")]
    Cancelled {
        /// The operation, e.g. `scan_duplicates`.
        operation: String,
    },
    /// An invariant of the library itself broke (a bug, never a fault of the caller's
    /// input, which is reported as [`CrmError::Validation`]); nothing was written.
    #[error("internal error: {reason}")]
    Internal {
        /// What broke.
        reason: String,
    },
    /// The storage backend failed.
    #[error("storage error ({kind}): {source}")]
    Storage {
        /// What kind of failure.
        kind: StorageErrorKind,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
}

impl CrmError {
    /// Builds a [`CrmError::Validation`].
    pub fn validation(field: impl Into<String>, reason: impl Into<String>) -> Self {
        CrmError::Validation {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Builds a [`CrmError::NotFound`].
    pub fn not_found(entity: EntityKind, id: impl fmt::Display) -> Self {
        CrmError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// Builds a [`CrmError::Conflict`].
    pub fn conflict(entity: EntityKind, id: impl fmt::Display) -> Self {
        CrmError::Conflict {
            entity,
            id: id.to_string(),
        }
    }

    /// Builds a [`CrmError::Internal`].
    pub fn internal(reason: impl Into<String>) -> Self {
        CrmError::Internal {
            reason: reason.into(),
        }
    }

    /// Builds a [`CrmError::Storage`] from any backend error.
    pub fn storage(kind: StorageErrorKind, source: impl Into<BoxError>) -> Self {
        CrmError::Storage {
            kind,
            source: source.into(),
        }
    }

    /// Whether retrying the same operation unchanged may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, CrmError::Storage { kind, .. } if kind.is_retryable())
    }

    /// Prefixes the field of a validation error with `prefix.` (for nested values).
    pub fn in_field(self, prefix: &str) -> Self {
        match self {
            CrmError::Validation { field, reason } => CrmError::Validation {
                field: format!("{prefix}.{field}"),
                reason,
            },
            other => other,
        }
    }
}

/// The library's result type.
pub type Result<T, E = CrmError> = std::result::Result<T, E>;
