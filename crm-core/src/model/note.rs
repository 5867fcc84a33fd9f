//! Notes: free text pinned to a customer, contact, lead or deal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{eq, LinkFilter, Links};
use crate::error::{CrmError, Result};
use crate::id::{NoteId, TenantId, UserId};
use crate::store::{impl_entity, EntityFilter, EntityRef, EntityRules, SortKey, SortValue};
use crate::values::{check_len, optional_text, MAX_LONG};

/// A note.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Note {
    /// Id.
    pub id: NoteId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Title.
    pub title: Option<String>,
    /// Body.
    pub body: String,
    /// Shown on top.
    pub pinned: bool,
    /// Visible only to its author.
    pub private: bool,
    /// Who wrote it.
    pub author: UserId,
    /// What it is about (at least one link).
    pub links: Links,
}

impl Note {
    /// A public, unpinned note.
    pub fn new(
        tenant: TenantId,
        author: UserId,
        body: &str,
        links: Links,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let n = Self {
            id: NoteId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            title: None,
            body: body.to_string(),
            pinned: false,
            private: false,
            author,
            links,
        };
        n.validate()?;
        Ok(n)
    }

    /// Whether `viewer` may see this note.
    pub fn visible_to(&self, viewer: UserId) -> bool {
        !self.private || self.author == viewer
    }
}

impl EntityRules for Note {
    fn validate(&self) -> Result<()> {
        self.links.require_any()?;
        optional_text("title", self.title.as_deref())?;
        if self.body.trim().is_empty() {
            return Err(CrmError::validation("body", "must not be empty"));
        }
        check_len("body", &self.body, MAX_LONG)
    }
    fn references(&self) -> Vec<EntityRef> {
        self.links.references()
    }
}

/// Filter for notes. Private notes of other authors are removed by the service, not here.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NoteFilter {
    /// Links to match.
    pub links: LinkFilter,
    /// Pinned or not.
    pub pinned: Option<bool>,
    /// Written by.
    pub author: Option<UserId>,
    /// Only notes visible to this user (public ones and the user's own private ones).
    pub visible_to: Option<UserId>,
}

impl EntityFilter<Note> for NoteFilter {
    fn matches(&self, n: &Note) -> bool {
        self.links.matches(&n.links)
            && eq(self.pinned, n.pinned)
            && eq(self.author, n.author)
            && self.visible_to.is_none_or(|v| n.visible_to(v))
    }
    fn parent(&self) -> Option<EntityRef> {
        self.links.parent()
    }
}

/// Orders for notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoteSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Last update time.
    UpdatedAt,
}

impl SortKey<Note> for NoteSort {
    fn name(&self) -> &'static str {
        match self {
            NoteSort::CreatedAt => "created_at",
            NoteSort::UpdatedAt => "updated_at",
        }
    }
    fn value(&self, n: &Note) -> SortValue {
        match self {
            NoteSort::CreatedAt => SortValue::Time(n.created_at),
            NoteSort::UpdatedAt => SortValue::Time(n.updated_at),
        }
    }
}

impl_entity!(Note, NoteId, NoteFilter, NoteSort);
