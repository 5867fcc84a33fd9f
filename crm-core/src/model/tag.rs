//! Tags and their assignments to customers, contacts, leads and deals.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::eq;
use crate::error::{CrmError, Result};
use crate::id::{TagAssignmentId, TagId, TenantId};
use crate::store::{
    impl_entity, EntityFilter, EntityKind, EntityRef, EntityRules, SortKey, SortValue,
};
use crate::values::require_text;

/// A label with a colour; names are unique per tenant (case-insensitive).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tag {
    /// Id.
    pub id: TagId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Name.
    pub name: String,
    /// Colour (`#rrggbb`).
    pub colour: Option<String>,
}

impl Tag {
    /// A tag.
    pub fn new(
        tenant: TenantId,
        name: &str,
        colour: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let t = Self {
            id: TagId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            name: name.trim().to_string(),
            colour: colour.map(|c| c.trim().to_lowercase()),
        };
        t.validate()?;
        Ok(t)
    }
}

impl EntityRules for Tag {
    fn validate(&self) -> Result<()> {
        require_text("name", &self.name)?;
        crate::values::check_len("name", &self.name, 64)?;
        if let Some(c) = &self.colour {
            let ok = c.len() == 7
                && c.starts_with('#')
                && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
            if !ok {
                return Err(CrmError::validation(
                    "colour",
                    format!("{c:?} is not #rrggbb"),
                ));
            }
        }
        Ok(())
    }
    fn unique_keys(&self) -> Vec<crate::store::UniqueKey> {
        vec![crate::store::UniqueKey::new(
            crate::store::keys::TAG_NAME,
            self.name.to_lowercase(),
        )]
    }
}

/// Filter for tags.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagFilter {
    /// Name, case-insensitive exact.
    pub name: Option<String>,
}

impl EntityFilter<Tag> for TagFilter {
    fn validate(&self) -> crate::error::Result<()> {
        crate::values::check_filter_text("name", self.name.as_deref())
    }

    fn matches(&self, t: &Tag) -> bool {
        self.name
            .as_deref()
            .is_none_or(|n| n.to_lowercase() == t.name.to_lowercase())
    }
}

/// Orders for tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagSort {
    /// Name, case-insensitive.
    #[default]
    Name,
    /// Creation time.
    CreatedAt,
}

impl SortKey<Tag> for TagSort {
    fn name(&self) -> &'static str {
        match self {
            TagSort::Name => "name",
            TagSort::CreatedAt => "created_at",
        }
    }
    fn value(&self, t: &Tag) -> SortValue {
        match self {
            TagSort::Name => SortValue::text_ci(Some(&t.name)),
            TagSort::CreatedAt => SortValue::Time(t.created_at),
        }
    }
}

impl_entity!(Tag, TagId, TagFilter, TagSort);

/// Kinds that can carry tags.
pub const TAGGABLE: &[EntityKind] = &[
    EntityKind::Customer,
    EntityKind::Contact,
    EntityKind::Lead,
    EntityKind::Deal,
];

/// A tag on a customer, contact, lead or deal (unique per tag and target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TagAssignment {
    /// Id.
    pub id: TagAssignmentId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// The tag.
    pub tag_id: TagId,
    /// What carries it.
    pub target: EntityRef,
}

impl TagAssignment {
    /// Puts `tag` on `target`.
    pub fn new(
        tenant: TenantId,
        tag: TagId,
        target: EntityRef,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let a = Self {
            id: TagAssignmentId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            tag_id: tag,
            target,
        };
        a.validate()?;
        Ok(a)
    }
}

impl EntityRules for TagAssignment {
    fn validate(&self) -> Result<()> {
        if !TAGGABLE.contains(&self.target.kind) {
            return Err(CrmError::validation(
                "target.kind",
                format!("a {} cannot carry tags", self.target.kind),
            ));
        }
        Ok(())
    }
    fn references(&self) -> Vec<EntityRef> {
        vec![
            EntityRef::new(EntityKind::Tag, self.tag_id.into()),
            self.target,
        ]
    }
    fn unique_keys(&self) -> Vec<crate::store::UniqueKey> {
        vec![crate::store::UniqueKey::new(
            crate::store::keys::TAG_ASSIGNMENT_TARGET,
            format!("{}:{}:{}", self.tag_id, self.target.kind, self.target.id),
        )]
    }
}

/// Filter for tag assignments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagAssignmentFilter {
    /// Of this tag.
    pub tag_id: Option<TagId>,
    /// On this target.
    pub target: Option<EntityRef>,
    /// On targets of this kind.
    pub target_kind: Option<EntityKind>,
}

impl EntityFilter<TagAssignment> for TagAssignmentFilter {
    fn matches(&self, a: &TagAssignment) -> bool {
        eq(self.tag_id, a.tag_id)
            && eq(self.target, a.target)
            && eq(self.target_kind, a.target.kind)
    }
    fn parent(&self) -> Option<EntityRef> {
        self.target.or_else(|| {
            self.tag_id
                .map(|t| EntityRef::new(EntityKind::Tag, t.into()))
        })
    }
}

/// Orders for tag assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TagAssignmentSort {
    /// Creation time.
    #[default]
    CreatedAt,
}

impl SortKey<TagAssignment> for TagAssignmentSort {
    fn name(&self) -> &'static str {
        "created_at"
    }
    fn value(&self, a: &TagAssignment) -> SortValue {
        SortValue::Time(a.created_at)
    }
}

impl_entity!(
    TagAssignment,
    TagAssignmentId,
    TagAssignmentFilter,
    TagAssignmentSort
);
