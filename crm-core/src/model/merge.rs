//! The record a merge of duplicates leaves behind, from which `unmerge` restores the state
//! before the merge.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{CrmError, Result};
use crate::id::{MergeId, TenantId, UserId};
use crate::store::{
    impl_entity, EntityFilter, EntityKind, EntityRules, Record, SortKey, SortValue,
};

/// What a merge did to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeAction {
    /// The row was updated in place (re-pointed to the survivor, or the survivor itself).
    Updated,
    /// The row was deleted (a merged record, or a related row collapsed into an equal one
    /// of the survivor).
    Deleted,
}

/// One row a merge touched: its image before the merge and, for updated rows, the version
/// the merge left it at (an unmerge is refused if the row has changed since).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeTouch {
    /// What the merge did.
    pub action: MergeAction,
    /// The row as it was before the merge.
    pub before: Record,
    /// Version after the merge (updated rows); `None` for deleted rows.
    pub version_after: Option<u64>,
}

/// A completed merge of 2..N records of one kind into a survivor, with the before-image of
/// every row it touched. Kept after an unmerge (with `undone_at` set) as an audit trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MergeRecord {
    /// Id.
    pub id: MergeId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// When the merge happened.
    pub created_at: DateTime<Utc>,
    /// Last update time (the unmerge).
    pub updated_at: DateTime<Utc>,
    /// Kind of the merged records.
    pub kind: EntityKind,
    /// The record that survived.
    pub survivor: Uuid,
    /// The records merged into the survivor (and deleted).
    pub merged: Vec<Uuid>,
    /// Who merged.
    pub merged_by: Option<UserId>,
    /// Every row the merge updated or deleted, in the order the merge wrote them.
    pub touched: Vec<MergeTouch>,
    /// When the merge was undone.
    pub undone_at: Option<DateTime<Utc>>,
    /// Who undid it.
    pub undone_by: Option<UserId>,
}

impl MergeRecord {
    /// Drops the before-images `viewer` may not read (private notes of other authors), so
    /// the record shows nothing that `get::<Note>` would hide. Only the stored record keeps
    /// them, for [`crate::Merges::unmerge`].
    pub fn redact_for(&mut self, viewer: UserId) {
        self.touched.retain(|t| t.visible_to(viewer));
    }
}

impl MergeTouch {
    /// Whether `viewer` may read this before-image (a private note is its author's only).
    pub fn visible_to(&self, viewer: UserId) -> bool {
        match &self.before {
            Record::Note(n) => n.visible_to(viewer),
            _ => true,
        }
    }
}

impl EntityRules for MergeRecord {
    fn validate(&self) -> Result<()> {
        if self.merged.is_empty() {
            return Err(CrmError::validation(
                "merged",
                "a merge needs at least one record besides the survivor",
            ));
        }
        if self.merged.contains(&self.survivor) {
            return Err(CrmError::validation(
                "merged",
                "the survivor cannot be merged into itself",
            ));
        }
        for (i, t) in self.touched.iter().enumerate() {
            if t.before.tenant_id() != self.tenant_id {
                return Err(CrmError::validation(
                    format!("touched[{i}].before"),
                    "belongs to another tenant",
                ));
            }
            if (t.action == MergeAction::Updated) != t.version_after.is_some() {
                return Err(CrmError::validation(
                    format!("touched[{i}].version_after"),
                    "set exactly for updated rows",
                ));
            }
        }
        Ok(())
    }
}

/// Filter for merge records.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MergeRecordFilter {
    /// Merges of records of this kind.
    pub kind: Option<EntityKind>,
    /// Merges into this survivor.
    pub survivor: Option<Uuid>,
    /// Undone (`true`) or in force (`false`).
    pub undone: Option<bool>,
}

impl EntityFilter<MergeRecord> for MergeRecordFilter {
    fn matches(&self, m: &MergeRecord) -> bool {
        self.kind.is_none_or(|k| m.kind == k)
            && self.survivor.is_none_or(|s| m.survivor == s)
            && self.undone.is_none_or(|u| m.undone_at.is_some() == u)
    }
}

/// Order of merge records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MergeRecordSort {
    /// When the merge happened.
    #[default]
    CreatedAt,
}

impl SortKey<MergeRecord> for MergeRecordSort {
    fn name(&self) -> &'static str {
        "created_at"
    }
    fn value(&self, m: &MergeRecord) -> SortValue {
        SortValue::Time(m.created_at)
    }
}

impl_entity!(MergeRecord, MergeId, MergeRecordFilter, MergeRecordSort);
