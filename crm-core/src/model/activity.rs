//! Activities: tasks, calls, e-mails, meetings and to-dos, planned or done.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{check_order, eq, opt_eq, LinkFilter, Links, Priority};
use crate::error::{CrmError, Result};
use crate::id::{ActivityId, TenantId, UserId};
use crate::store::{impl_entity, EntityFilter, EntityRef, EntityRules, SortKey, SortValue};
use crate::values::{check_len, optional_text, require_text, MAX_LONG};

/// What kind of activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    /// A task.
    Task,
    /// A phone call.
    Call,
    /// An e-mail to write.
    Email,
    /// A meeting.
    Meeting,
    /// A to-do.
    Todo,
}

/// Progress of an activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityStatus {
    /// Not started.
    #[default]
    Pending,
    /// Started.
    InProgress,
    /// Done.
    Completed,
    /// Called off.
    Cancelled,
}

impl ActivityStatus {
    /// Whether the activity is still to be done.
    pub fn is_open(self) -> bool {
        matches!(self, ActivityStatus::Pending | ActivityStatus::InProgress)
    }
}

/// A planned or done piece of work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    /// Id.
    pub id: ActivityId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Kind.
    pub kind: ActivityKind,
    /// Subject.
    pub subject: String,
    /// Description.
    pub description: Option<String>,
    /// Progress.
    pub status: ActivityStatus,
    /// Priority.
    pub priority: Priority,
    /// Due time.
    pub due_at: Option<DateTime<Utc>>,
    /// When to remind the assignee (not after `due_at`).
    pub reminder_at: Option<DateTime<Utc>>,
    /// Start (meetings, calls).
    pub starts_at: Option<DateTime<Utc>>,
    /// End (not before `starts_at`).
    pub ends_at: Option<DateTime<Utc>>,
    /// Who does it.
    pub assignee: Option<UserId>,
    /// What it is about.
    pub links: Links,
    /// Outcome once done.
    pub outcome: Option<String>,
    /// When it was completed.
    pub completed_at: Option<DateTime<Utc>>,
    /// Who completed it.
    pub completed_by: Option<UserId>,
}

impl Activity {
    /// A pending activity.
    pub fn new(
        tenant: TenantId,
        kind: ActivityKind,
        subject: &str,
        links: Links,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let a = Self {
            id: ActivityId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            kind,
            subject: subject.trim().to_string(),
            description: None,
            status: ActivityStatus::Pending,
            priority: Priority::Medium,
            due_at: None,
            reminder_at: None,
            starts_at: None,
            ends_at: None,
            assignee: None,
            links,
            outcome: None,
            completed_at: None,
            completed_by: None,
        };
        a.validate()?;
        Ok(a)
    }
}

impl EntityRules for Activity {
    fn validate(&self) -> Result<()> {
        require_text("subject", &self.subject)?;
        optional_text("outcome", self.outcome.as_deref())?;
        if let Some(d) = &self.description {
            check_len("description", d, MAX_LONG)?;
        }
        check_order("ends_at", self.starts_at, self.ends_at)?;
        check_order("reminder_at", self.reminder_at, self.due_at)
            .map_err(|_| CrmError::validation("reminder_at", "reminder is after the due time"))?;
        if self.status == ActivityStatus::Completed && self.completed_at.is_none() {
            return Err(CrmError::validation(
                "completed_at",
                "a completed activity has a completion time",
            ));
        }
        Ok(())
    }
    fn references(&self) -> Vec<EntityRef> {
        self.links.references()
    }
}

/// Filter for activities.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ActivityFilter {
    /// Links to match.
    pub links: LinkFilter,
    /// Of this kind.
    pub kind: Option<ActivityKind>,
    /// With this status.
    pub status: Option<ActivityStatus>,
    /// Only pending or in-progress ones.
    pub open_only: bool,
    /// Assigned to.
    pub assignee: Option<UserId>,
    /// Due before this time.
    pub due_before: Option<DateTime<Utc>>,
    /// Reminder at or before this time.
    pub reminder_before: Option<DateTime<Utc>>,
}

impl EntityFilter<Activity> for ActivityFilter {
    fn matches(&self, a: &Activity) -> bool {
        self.links.matches(&a.links)
            && eq(self.kind, a.kind)
            && eq(self.status, a.status)
            && (!self.open_only || a.status.is_open())
            && opt_eq(self.assignee, a.assignee)
            && self
                .due_before
                .is_none_or(|t| a.due_at.is_some_and(|d| d < t))
            && self
                .reminder_before
                .is_none_or(|t| a.reminder_at.is_some_and(|r| r <= t))
    }
    fn parent(&self) -> Option<EntityRef> {
        self.links.parent()
    }
}

/// Orders for activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ActivitySort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Due time (activities without one last in ascending order).
    DueAt,
    /// Priority rank.
    Priority,
}

impl SortKey<Activity> for ActivitySort {
    fn name(&self) -> &'static str {
        match self {
            ActivitySort::CreatedAt => "created_at",
            ActivitySort::DueAt => "due_at",
            ActivitySort::Priority => "priority",
        }
    }
    fn value(&self, a: &Activity) -> SortValue {
        match self {
            ActivitySort::CreatedAt => SortValue::Time(a.created_at),
            ActivitySort::DueAt => SortValue::time(a.due_at),
            ActivitySort::Priority => SortValue::Int(a.priority as i64),
        }
    }
}

impl_entity!(Activity, ActivityId, ActivityFilter, ActivitySort);
