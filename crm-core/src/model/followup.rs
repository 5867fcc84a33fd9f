//! Follow-ups: reminders that something must happen with a customer, lead or deal.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{eq, opt_eq, LinkFilter, Links, Priority};
use crate::error::{CrmError, Result};
use crate::id::{FollowUpId, TenantId, UserId};
use crate::store::{impl_entity, EntityFilter, EntityRef, EntityRules, SortKey, SortValue};
use crate::values::{check_len, require_text, MAX_LONG};

/// State of a follow-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpStatus {
    /// Still to do.
    #[default]
    Pending,
    /// Done.
    Completed,
    /// Called off.
    /// Spelled like [`crate::ActivityStatus::Cancelled`]; rows and events written as
    /// `canceled` before schema version 7 still read.
    #[serde(alias = "canceled")]
    Cancelled,
    /// Past due beyond the grace period.
    Expired,
}

/// Where a follow-up came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FollowUpOrigin {
    /// Created by a user.
    #[default]
    Manual,
    /// Created by an automation rule.
    Rule,
    /// Suggested by the system.
    Suggestion,
}

/// A follow-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FollowUp {
    /// Id.
    pub id: FollowUpId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Title.
    pub title: String,
    /// Notes.
    pub notes: Option<String>,
    /// Due time.
    pub due_at: DateTime<Utc>,
    /// State.
    pub status: FollowUpStatus,
    /// Priority.
    pub priority: Priority,
    /// Origin.
    pub origin: FollowUpOrigin,
    /// Who does it.
    pub assignee: Option<UserId>,
    /// What it is about.
    pub links: Links,
    /// When it was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// When a `FollowUpDue` event was emitted for it (once).
    #[serde(default)]
    pub due_notified_at: Option<DateTime<Utc>>,
}

/// What a follow-up is, for [`FollowUp::new`]: when it is due is named here, apart from
/// the `now` it is created at (two timestamps are too easy to swap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due<'a> {
    /// What to do.
    pub title: &'a str,
    /// When it is due.
    pub due_at: DateTime<Utc>,
    /// What it concerns.
    pub links: Links,
}

impl FollowUp {
    /// A pending, manual follow-up.
    pub fn new(tenant: TenantId, what: Due<'_>, now: DateTime<Utc>) -> Result<Self> {
        let Due {
            title,
            due_at,
            links,
        } = what;
        let f = Self {
            id: FollowUpId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            title: title.trim().to_string(),
            notes: None,
            due_at,
            status: FollowUpStatus::Pending,
            priority: Priority::Medium,
            origin: FollowUpOrigin::Manual,
            assignee: None,
            links,
            completed_at: None,
            due_notified_at: None,
        };
        f.validate()?;
        Ok(f)
    }
}

impl EntityRules for FollowUp {
    fn validate(&self) -> Result<()> {
        require_text("title", &self.title)?;
        self.links.require_any()?;
        if let Some(n) = &self.notes {
            check_len("notes", n, MAX_LONG)?;
        }
        if (self.status == FollowUpStatus::Completed) != self.completed_at.is_some() {
            return Err(CrmError::validation(
                "completed_at",
                "set exactly when the follow-up is completed",
            ));
        }
        Ok(())
    }
    fn references(&self) -> Vec<EntityRef> {
        self.links.references()
    }
}

/// Filter for follow-ups.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FollowUpFilter {
    /// Links to match.
    pub links: LinkFilter,
    /// State.
    pub status: Option<FollowUpStatus>,
    /// Assigned to.
    pub assignee: Option<UserId>,
    /// Origin.
    pub origin: Option<FollowUpOrigin>,
    /// Due before.
    pub due_before: Option<DateTime<Utc>>,
}

impl EntityFilter<FollowUp> for FollowUpFilter {
    fn matches(&self, f: &FollowUp) -> bool {
        self.links.matches(&f.links)
            && eq(self.status, f.status)
            && opt_eq(self.assignee, f.assignee)
            && eq(self.origin, f.origin)
            && self.due_before.is_none_or(|t| f.due_at < t)
    }
    fn parent(&self) -> Option<EntityRef> {
        self.links.parent()
    }
}

/// Orders for follow-ups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FollowUpSort {
    /// Due time.
    #[default]
    DueAt,
    /// Creation time.
    CreatedAt,
}

impl SortKey<FollowUp> for FollowUpSort {
    fn name(&self) -> &'static str {
        match self {
            FollowUpSort::DueAt => "due_at",
            FollowUpSort::CreatedAt => "created_at",
        }
    }
    fn value(&self, f: &FollowUp) -> SortValue {
        match self {
            FollowUpSort::DueAt => SortValue::Time(f.due_at),
            FollowUpSort::CreatedAt => SortValue::Time(f.created_at),
        }
    }
}

impl_entity!(FollowUp, FollowUpId, FollowUpFilter, FollowUpSort);
