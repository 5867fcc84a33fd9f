//! Change sets: the one write path of every store.

use serde::{Deserialize, Serialize};

use super::entity::{Entity, EntityRef, Record};
use super::event::{DomainEvent, NewEvent};

/// One change inside a [`ChangeSet`]. Exhaustive on purpose: a store that does not handle
/// a new kind of change does not compile.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Change {
    /// Insert a new row; fails with `AlreadyExists` if the id or a unique key is taken.
    Insert(Record),
    /// Replace a row whose stored version equals `expected_version`; `record` already
    /// carries the next version.
    Update {
        /// The version the caller read.
        expected_version: u64,
        /// The new state (its version is `expected_version + 1`).
        record: Record,
    },
    /// Delete a row (only if its version equals `expected_version`, when given).
    Delete {
        /// What to delete.
        target: EntityRef,
        /// The version the caller read, or `None` to delete whatever version is stored.
        expected_version: Option<u64>,
    },
    /// Append an event to the tenant's outbox (numbered by the store).
    Emit(NewEvent),
}

impl Change {
    /// The entity this change touches.
    pub fn target(&self) -> EntityRef {
        match self {
            Change::Insert(r) | Change::Update { record: r, .. } => r.entity_ref(),
            Change::Delete { target, .. } => *target,
            Change::Emit(e) => e.entity,
        }
    }
}

/// An ordered list of changes applied all-or-nothing by [`super::CrmStore::apply`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[must_use]
pub struct ChangeSet {
    /// The changes, applied in order.
    pub changes: Vec<Change>,
}

impl ChangeSet {
    /// An empty change set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an insert of `entity` (its version should be 1).
    pub fn insert<E: Entity>(mut self, entity: E) -> Self {
        self.push_insert(entity);
        self
    }

    /// Adds an update: `entity` carries the version the caller read; the stored row gets
    /// that version plus one.
    pub fn update<E: Entity>(mut self, entity: E) -> Self {
        self.push_update(entity);
        self
    }

    /// Adds a delete of the entity with `id`, guarded by `expected_version` when given.
    pub fn delete<E: Entity>(mut self, id: E::Id, expected_version: Option<u64>) -> Self {
        self.push_delete::<E>(id, expected_version);
        self
    }

    /// In-place form of [`ChangeSet::insert`].
    pub fn push_insert<E: Entity>(&mut self, entity: E) {
        self.changes.push(Change::Insert(entity.into_record()));
    }

    /// In-place form of [`ChangeSet::update`].
    pub fn push_update<E: Entity>(&mut self, mut entity: E) {
        let expected_version = entity.version();
        // Saturating: a version beyond any stored one (the caller's `u64::MAX`, say) fails
        // the store's version check as a conflict instead of overflowing here.
        entity.set_version(expected_version.saturating_add(1));
        self.changes.push(Change::Update {
            expected_version,
            record: entity.into_record(),
        });
    }

    /// In-place form of [`ChangeSet::delete`].
    pub fn push_delete<E: Entity>(&mut self, id: E::Id, expected_version: Option<u64>) {
        self.changes.push(Change::Delete {
            target: EntityRef::new(E::KIND, id.into()),
            expected_version,
        });
    }

    /// Adds an event about `entity` to the outbox.
    pub fn emit(
        mut self,
        entity: EntityRef,
        at: chrono::DateTime<chrono::Utc>,
        event: DomainEvent,
    ) -> Self {
        self.push_emit(NewEvent::new(entity, at, event));
        self
    }

    /// In-place form of [`ChangeSet::emit`] for a prepared event.
    pub fn push_emit(&mut self, event: NewEvent) {
        self.changes.push(Change::Emit(event));
    }

    /// Appends all changes of `other`.
    pub fn extend(mut self, other: ChangeSet) -> Self {
        self.changes.extend(other.changes);
        self
    }

    /// Whether there is nothing to apply.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Number of changes.
    pub fn len(&self) -> usize {
        self.changes.len()
    }
}

/// What a successful [`super::CrmStore::apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Number of changes applied.
    pub changes: usize,
    /// The version each inserted or updated row was stored with, in change order.
    pub versions: Vec<(EntityRef, u64)>,
}

impl Applied {
    /// What applying `changes` whole stores: every store returns this on success (the
    /// versions are the ones the change set carries, checked by the store).
    pub fn of(changes: &ChangeSet) -> Self {
        Self {
            changes: changes.changes.len(),
            versions: changes
                .changes
                .iter()
                .filter_map(|c| match c {
                    Change::Insert(r) | Change::Update { record: r, .. } => {
                        Some((r.entity_ref(), r.version()))
                    }
                    Change::Delete { .. } | Change::Emit(_) => None,
                })
                .collect(),
        }
    }

    /// The version `row` was stored with, if the change set inserted or updated it (the
    /// last one, when it did so twice).
    pub fn version_of(&self, row: EntityRef) -> Option<u64> {
        self.versions
            .iter()
            .rev()
            .find(|(r, _)| *r == row)
            .map(|(_, v)| *v)
    }

    /// Sets `entity`'s version to the one it was stored with; `Internal` if the change set
    /// did not write it (a bug of the caller's planning).
    pub fn stored<E: Entity>(&self, entity: &mut E) -> crate::error::Result<()> {
        let v = self.version_of(entity.entity_ref()).ok_or_else(|| {
            crate::error::CrmError::internal(format!(
                "{} was not written by its change set",
                entity.entity_ref()
            ))
        })?;
        entity.set_version(v);
        Ok(())
    }
}
