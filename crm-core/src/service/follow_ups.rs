//! The follow-up calls: complete, cancel, reschedule, reassign; overdue follow-ups, due notifications, expiry.
//!
//! Reached through [`Crm::follow_ups`].

use chrono::{DateTime, Duration, Utc};

use crate::error::Result;
use crate::id::*;
use crate::model::*;
use crate::store::*;

use super::*;

super::handle!(
    /// The follow-up calls: complete, cancel, reschedule, reassign; overdue follow-ups, due notifications, expiry.
    FollowUps, follow_ups
);

impl<S: CrmStore + ?Sized> FollowUps<'_, S> {
    /// Completes a pending follow-up.
    #[tracing::instrument(name = "follow_ups.complete", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn complete(
        self,
        actor: &Actor,
        id: FollowUpId,
        now: DateTime<Utc>,
    ) -> Result<FollowUp> {
        let mut f = self.crm.pending_follow_up(actor, id, "completed").await?;
        f.status = FollowUpStatus::Completed;
        f.completed_at = Some(now);
        let event = DomainEvent::FollowUpCompleted { follow_up: f.id };
        self.crm.update_with_event(actor, f, event, now).await
    }

    /// Cancels a pending follow-up.
    #[tracing::instrument(name = "follow_ups.cancel", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn cancel(
        self,
        actor: &Actor,
        id: FollowUpId,
        now: DateTime<Utc>,
    ) -> Result<FollowUp> {
        let mut f = self.crm.pending_follow_up(actor, id, "cancelled").await?;
        f.status = FollowUpStatus::Cancelled;
        let event = DomainEvent::FollowUpCancelled { follow_up: f.id };
        self.crm.update_with_event(actor, f, event, now).await
    }

    /// Moves a pending follow-up's due time.
    #[tracing::instrument(name = "follow_ups.reschedule", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reschedule(
        self,
        actor: &Actor,
        id: FollowUpId,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<FollowUp> {
        let mut f = self.crm.pending_follow_up(actor, id, "rescheduled").await?;
        f.due_at = due_at;
        self.crm.update(actor, f, now).await
    }

    /// Gives a pending follow-up to another user.
    #[tracing::instrument(name = "follow_ups.reassign", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reassign(
        self,
        actor: &Actor,
        id: FollowUpId,
        assignee: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<FollowUp> {
        let mut f = self.crm.pending_follow_up(actor, id, "reassigned").await?;
        f.assignee = assignee;
        self.crm.update(actor, f, now).await
    }

    /// Pending follow-ups due before `now` (of `assignee`, if given), most overdue first.
    #[tracing::instrument(name = "follow_ups.overdue", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn overdue(
        self,
        actor: &Actor,
        assignee: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<FollowUp>> {
        let filter = FollowUpFilter {
            status: Some(FollowUpStatus::Pending),
            assignee,
            due_before: Some(now),
            ..Default::default()
        };
        let mut v = self.crm.list_all::<FollowUp>(actor, filter).await?;
        v.sort_by_key(|f| (f.due_at, f.created_at));
        Ok(v)
    }

    /// Pending follow-ups that came due (`due_at <= now`) and were not announced yet: each
    /// is stamped `due_notified_at = now` and gets a `FollowUpDue` event, in one change set,
    /// so a follow-up is announced exactly once however often this runs. Returns them.
    #[tracing::instrument(name = "follow_ups.notify_due", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn notify_due(self, actor: &Actor, now: DateTime<Utc>) -> Result<Vec<FollowUp>> {
        let filter = FollowUpFilter {
            status: Some(FollowUpStatus::Pending),
            // `now` comes from the caller: at the end of time there is no later instant.
            due_before: Some(
                now.checked_add_signed(Duration::nanoseconds(1))
                    .unwrap_or(now),
            ),
            ..Default::default()
        };
        let due: Vec<FollowUp> = self
            .crm
            .list_all::<FollowUp>(actor, filter)
            .await?
            .into_iter()
            .filter(|f| f.due_notified_at.is_none())
            .collect();
        if due.is_empty() {
            return Ok(due);
        }
        let mut cs = ChangeSet::new();
        let mut out = Vec::with_capacity(due.len());
        for mut f in due {
            f.due_notified_at = Some(now);
            f.touch(now);
            let event = DomainEvent::FollowUpDue { follow_up: f.id };
            cs.push_emit(crate::store::NewEvent::new(f.entity_ref(), now, event));
            cs.push_update(f.clone());
            f.version += 1;
            out.push(f);
        }
        self.crm.apply(actor, cs).await?;
        Ok(out)
    }

    /// Expires pending follow-ups past due by more than the tenant's grace period
    /// ([`TenantSettings::follow_up_grace_hours`]), in one change set with a
    /// `FollowUpExpired` event each; returns how many expired. Idempotent: a second call
    /// at the same `now` expires nothing more.
    #[tracing::instrument(name = "follow_ups.expire_overdue", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn expire_overdue(self, actor: &Actor, now: DateTime<Utc>) -> Result<usize> {
        let hours = self
            .crm
            .tenant_settings(actor, now)
            .await?
            .follow_up_grace_hours;
        let grace = Duration::hours(i64::from(hours));
        let cutoff = now
            .checked_sub_signed(grace)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let due = self.crm.follow_ups().overdue(actor, None, cutoff).await?;
        if due.is_empty() {
            return Ok(0);
        }
        let n = due.len();
        let mut cs = ChangeSet::new();
        for mut f in due {
            f.status = FollowUpStatus::Expired;
            f.touch(now);
            let event = DomainEvent::FollowUpExpired { follow_up: f.id };
            cs.push_emit(crate::store::NewEvent::new(f.entity_ref(), now, event));
            cs.push_update(f);
        }
        self.crm.apply(actor, cs).await?;
        Ok(n)
    }
}
