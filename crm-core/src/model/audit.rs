//! The audit trail: one entry per row every write through the service inserts, updates or
//! deletes, written in the same change set as the row itself (so an entry exists exactly
//! when its change was stored).
//!
//! An entry names the actor, the time, the record and the operation, and keeps the field
//! values the operation replaced:
//!
//! - an **update** lists every top-level field it changed with its value before and after
//!   (the bookkeeping fields `version` and `updated_at` left out);
//! - a **delete** lists every field of the deleted row with its value before, so
//!   [`AuditEntry::before_image`] rebuilds the row as it was;
//! - a **create** lists no values: the created row is its own after-image, and each value
//!   it was created with is the `before` of the first update that changed the field (or
//!   still the row's current value, or in the entry of its delete).
//!
//! Values are kept as JSON text, each exactly as the record serialises the field, so an
//! entry nests no deeper than the text of one string however deep a custom field is.
//! Entries are append-only through the service; the before-images they keep are what undo
//! is built on.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{check_order, eq, in_range};
use crate::error::{CrmError, Result};
use crate::id::{Actor, AuditId, TenantId, UserId};
use crate::store::{
    impl_entity, EntityFilter, EntityKind, EntityRef, EntityRules, Record, SortKey, SortValue,
};

/// What an audited change did to its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOperation {
    /// The row was inserted.
    Created,
    /// The row was updated.
    Updated,
    /// The row was deleted.
    Deleted,
}

/// One field an audited change replaced: its value before and after as JSON text (`None`
/// where the field did not exist on that side).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Top-level field name, as the record serialises it (`name`, `custom_fields`).
    pub field: String,
    /// JSON text of the value before the change.
    pub before: Option<String>,
    /// JSON text of the value after the change.
    pub after: Option<String>,
}

impl FieldChange {
    /// The value before, parsed.
    pub fn before_value(&self) -> Result<Option<serde_json::Value>> {
        parse(self.before.as_deref())
    }
    /// The value after, parsed.
    pub fn after_value(&self) -> Result<Option<serde_json::Value>> {
        parse(self.after.as_deref())
    }
}

fn parse(text: Option<&str>) -> Result<Option<serde_json::Value>> {
    text.map(|t| {
        serde_json::from_str(t)
            .map_err(|e| CrmError::internal(format!("an audited value is not JSON: {e}")))
    })
    .transpose()
}

/// An entry of the audit trail (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Id (time-ordered: entries of one change set sort in the order of its changes).
    pub id: AuditId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version (always 1: entries never change).
    pub version: u64,
    /// When the change was made (the time the service call was given).
    pub created_at: DateTime<Utc>,
    /// Same as `created_at`.
    pub updated_at: DateTime<Utc>,
    /// Who made the change.
    pub actor: UserId,
    /// The changed record.
    pub record: EntityRef,
    /// What was done to it.
    pub operation: AuditOperation,
    /// The replaced field values (see the module docs), sorted by field name.
    pub changes: Vec<FieldChange>,
    /// The one user who may read the entry (the author, for a private note), if any.
    pub private_to: Option<UserId>,
}

impl AuditEntry {
    /// The entry of a change `actor` made at `at` (version 1, a fresh time-ordered id).
    pub fn new(
        actor: &Actor,
        at: DateTime<Utc>,
        record: EntityRef,
        operation: AuditOperation,
        changes: Vec<FieldChange>,
        private_to: Option<UserId>,
    ) -> Self {
        Self {
            id: AuditId::new(),
            tenant_id: actor.tenant,
            version: 1,
            created_at: at,
            updated_at: at,
            actor: actor.user,
            record,
            operation,
            changes,
            private_to,
        }
    }

    /// The change of `field`, if the entry lists it.
    pub fn change_of(&self, field: &str) -> Option<&FieldChange> {
        self.changes.iter().find(|c| c.field == field)
    }

    /// The names of the listed fields.
    pub fn fields(&self) -> Vec<&str> {
        self.changes.iter().map(|c| c.field.as_str()).collect()
    }

    /// The row as it was before a delete (`None` for creates and updates).
    pub fn before_image(&self) -> Result<Option<Record>> {
        if self.operation != AuditOperation::Deleted {
            return Ok(None);
        }
        let mut fields = serde_json::Map::new();
        for c in &self.changes {
            if let Some(v) = c.before_value()? {
                fields.insert(c.field.clone(), v);
            }
        }
        let mut outer = serde_json::Map::new();
        outer.insert(
            self.record.kind.type_name().to_string(),
            serde_json::Value::Object(fields),
        );
        serde_json::from_value(serde_json::Value::Object(outer))
            .map(Some)
            .map_err(|e| CrmError::internal(format!("an audited before-image is unreadable: {e}")))
    }

    /// Whether `viewer` may read the entry.
    pub fn visible_to(&self, viewer: UserId) -> bool {
        self.private_to.is_none_or(|u| u == viewer)
    }
}

impl EntityRules for AuditEntry {
    fn validate(&self) -> Result<()> {
        if self.record.kind == EntityKind::AuditEntry {
            return Err(CrmError::validation(
                "record",
                "audit entries are not themselves audited",
            ));
        }
        if self.operation == AuditOperation::Created && !self.changes.is_empty() {
            return Err(CrmError::validation(
                "changes",
                "a create lists no values (the row is its own after-image)",
            ));
        }
        Ok(())
    }
}

/// Filter for audit entries.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditEntryFilter {
    /// Entries about this record.
    pub record: Option<EntityRef>,
    /// Entries about records of this kind.
    pub kind: Option<EntityKind>,
    /// Entries of changes made by this user.
    pub actor: Option<UserId>,
    /// Entries of this operation.
    pub operation: Option<AuditOperation>,
    /// Made at or after.
    pub from: Option<DateTime<Utc>>,
    /// Made before.
    pub to: Option<DateTime<Utc>>,
    /// Only entries this user may read (the service sets it to the actor).
    pub visible_to: Option<UserId>,
}

impl AuditEntryFilter {
    /// The entries about one record.
    pub fn of(record: EntityRef) -> Self {
        Self {
            record: Some(record),
            ..Self::default()
        }
    }
    /// The entries of changes one user made.
    pub fn by(actor: UserId) -> Self {
        Self {
            actor: Some(actor),
            ..Self::default()
        }
    }
}

impl EntityFilter<AuditEntry> for AuditEntryFilter {
    fn validate(&self) -> Result<()> {
        check_order("to", self.from, self.to)
    }

    fn matches(&self, a: &AuditEntry) -> bool {
        eq(self.record, a.record)
            && eq(self.kind, a.record.kind)
            && eq(self.actor, a.actor)
            && eq(self.operation, a.operation)
            && in_range(a.created_at, self.from, self.to)
            && self.visible_to.is_none_or(|v| a.visible_to(v))
    }
}

/// Order of audit entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditEntrySort {
    /// When the change was made (then by id: the order of the change set).
    #[default]
    CreatedAt,
}

impl SortKey<AuditEntry> for AuditEntrySort {
    fn name(&self) -> &'static str {
        "created_at"
    }
    fn value(&self, a: &AuditEntry) -> SortValue {
        SortValue::Time(a.created_at)
    }
}

impl_entity!(AuditEntry, AuditId, AuditEntryFilter, AuditEntrySort);
