//! The activity calls: complete, cancel, reschedule, reassign; overdue activities and due reminders.
//!
//! Reached through [`Crm::activities`].

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::*;
use crate::model::*;
use crate::store::*;

use super::*;

super::handle!(
    /// The activity calls: complete, cancel, reschedule, reassign; overdue activities and due reminders.
    Activities, activities
);

impl<S: CrmStore + ?Sized> Activities<'_, S> {
    /// Completes a pending or in-progress activity with an outcome; a linked deal's last
    /// activity moves to `now` (resetting its rotting clock).
    #[tracing::instrument(name = "activities.complete", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn complete(
        self,
        actor: &Actor,
        id: ActivityId,
        outcome: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Activity> {
        let mut a = self.crm.open_activity(actor, id, "completed").await?;
        a.status = ActivityStatus::Completed;
        a.outcome = outcome.map(str::to_string);
        a.completed_at = Some(now);
        a.completed_by = Some(actor.user);
        a.touch(now);
        crate::store::EntityRules::validate(&a)?;
        let mut cs = ChangeSet::new().update(a.clone()).emit(
            a.entity_ref(),
            now,
            DomainEvent::ActivityCompleted { activity: a.id },
        );
        if let Some(deal) = a.links.deal_id {
            let mut d = self.crm.get::<Deal>(actor, deal).await?;
            if d.last_activity_at.is_none_or(|l| l < now) {
                d.last_activity_at = Some(now);
                d.touch(now);
                cs.push_update(d);
            }
        }
        self.crm.apply(actor, cs).await?.stored(&mut a)?;
        Ok(a)
    }

    /// Cancels a pending or in-progress activity.
    #[tracing::instrument(name = "activities.cancel", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn cancel(
        self,
        actor: &Actor,
        id: ActivityId,
        now: DateTime<Utc>,
    ) -> Result<Activity> {
        let mut a = self.crm.open_activity(actor, id, "cancelled").await?;
        a.status = ActivityStatus::Cancelled;
        let event = DomainEvent::ActivityCancelled { activity: a.id };
        self.crm.update_with_event(actor, a, event, now).await
    }

    /// Moves an open activity's due time (and reminder).
    #[tracing::instrument(name = "activities.reschedule", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reschedule(
        self,
        actor: &Actor,
        id: ActivityId,
        due_at: Option<DateTime<Utc>>,
        reminder_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Activity> {
        let mut a = self.crm.open_activity(actor, id, "rescheduled").await?;
        a.due_at = due_at;
        a.reminder_at = reminder_at;
        self.crm.update(actor, a, now).await
    }

    /// Gives an open activity to another user.
    #[tracing::instrument(name = "activities.reassign", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reassign(
        self,
        actor: &Actor,
        id: ActivityId,
        assignee: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Activity> {
        let mut a = self.crm.open_activity(actor, id, "reassigned").await?;
        a.assignee = assignee;
        self.crm.update(actor, a, now).await
    }

    /// Open activities due before `now` (of `assignee`, if given), most overdue first.
    #[tracing::instrument(name = "activities.overdue", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn overdue(
        self,
        actor: &Actor,
        assignee: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Activity>> {
        let filter = ActivityFilter {
            open_only: true,
            assignee,
            due_before: Some(now),
            ..Default::default()
        };
        let mut v = self.crm.list_all::<Activity>(actor, filter).await?;
        v.sort_by_key(|a| (a.due_at, a.created_at));
        Ok(v)
    }

    /// Open activities whose reminder time has come (`reminder_at <= now`), for the host to
    /// deliver; oldest reminder first.
    #[tracing::instrument(name = "activities.due_reminders", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn due_reminders(self, actor: &Actor, now: DateTime<Utc>) -> Result<Vec<Activity>> {
        let filter = ActivityFilter {
            open_only: true,
            reminder_before: Some(now),
            ..Default::default()
        };
        let mut v = self.crm.list_all::<Activity>(actor, filter).await?;
        v.sort_by_key(|a| (a.reminder_at, a.created_at));
        Ok(v)
    }
}
