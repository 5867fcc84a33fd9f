//! Sales use cases: deal transitions, pipeline configuration, stage-history queries, and
//! the lifecycle of activities and follow-ups.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::{ActivityId, Actor, DealId, FollowUpId, PipelineId, StageId};
use crate::model::*;
use crate::store::{ChangeSet, CrmStore, Direction, DomainEvent, Entity, ListQuery};

use super::Crm;

/// A deal that has sat in its stage past the stage's rotting days.
#[derive(Debug, Clone, PartialEq)]
pub struct RottingDeal {
    /// The deal.
    pub deal: Deal,
    /// Whole days since it entered its stage or last saw activity, whichever is later.
    pub idle_days: i64,
    /// The stage's rotting threshold in days.
    pub rotting_days: u32,
}

/// How deals flowed through one stage, from the stage history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageConversion {
    /// The stage.
    pub stage_id: StageId,
    /// Its name.
    pub stage_name: String,
    /// Deals that entered the stage.
    pub entered: u64,
    /// Of those, deals that later entered an open stage further along, or were won.
    pub advanced: u64,
    /// Of those, deals that were later won.
    pub won: u64,
    /// Of those, deals that were later lost.
    pub lost: u64,
}

/// Average time deals spent in one stage before leaving it, from the stage history.
#[derive(Debug, Clone, PartialEq)]
pub struct StageVelocity {
    /// The stage.
    pub stage_id: StageId,
    /// Its name.
    pub stage_name: String,
    /// Completed stays (entered and left again).
    pub stays: u64,
    /// Average stay in days (fractional), `None` without completed stays.
    pub average_days: Option<f64>,
}

/// Whole days between `from` and `to` (0 if `to` is earlier).
pub fn days_between(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_days().max(0)
}

impl Deal {
    /// Whole days the deal has been in its current stage at `now`.
    pub fn days_in_stage(&self, now: DateTime<Utc>) -> i64 {
        days_between(self.stage_entered_at, now)
    }
}

/// Why a deal was lost, for [`crate::Deals::lose`], by name (a reason and two adjacent
/// optional strings are too easy to swap): `Loss { reason: "Price", competitor:
/// Some("Rival AG"), ..Loss::default() }`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Loss<'a> {
    /// The reason (one of the tenant's lost reasons when it has a list).
    pub reason: &'a str,
    /// The competitor the deal went to.
    pub competitor: Option<&'a str>,
    /// Free notes.
    pub notes: Option<&'a str>,
}

impl<S: CrmStore + ?Sized> Crm<S> {
    // ----- deal state machine -------------------------------------------------------

    pub(crate) async fn write_transition(
        &self,
        actor: &Actor,
        old: &Deal,
        new: Deal,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        let cs = self.transition_changes(actor, old, &new, now);
        let mut stored = new;
        self.apply(actor, cs).await?.stored(&mut stored)?;
        Ok(stored)
    }

    /// The change set of a deal transition: the deal, its [`StageChange`] and its event.
    pub(crate) fn transition_changes(
        &self,
        actor: &Actor,
        old: &Deal,
        new: &Deal,
        now: DateTime<Utc>,
    ) -> ChangeSet {
        let change = StageChange::record(
            new,
            Some(old.stage_id),
            Some(old.status),
            Some(actor.user),
            now,
        );
        let event = match (old.status, new.status) {
            (DealStatus::Open, DealStatus::Won) => DomainEvent::DealWon {
                deal: new.id,
                amount: new.amount,
            },
            (DealStatus::Open, DealStatus::Lost) => DomainEvent::DealLost {
                deal: new.id,
                reason: new.lost_reason.clone().unwrap_or_default(),
                competitor: new.lost_to_competitor.clone(),
            },
            (DealStatus::Won | DealStatus::Lost, DealStatus::Open) => DomainEvent::DealReopened {
                deal: new.id,
                stage: new.stage_id,
            },
            _ => DomainEvent::DealStageChanged {
                deal: new.id,
                from: old.stage_id,
                to: new.stage_id,
            },
        };
        ChangeSet::new()
            .update(new.clone())
            .insert(change)
            .emit(new.entity_ref(), now, event)
    }

    // ----- pipeline configuration ---------------------------------------------------

    pub(crate) fn plan_checked(&self, _actor: &Actor, p: &Pipeline) -> Result<()> {
        crate::store::EntityRules::validate(p)
    }

    // ----- stage history ------------------------------------------------------------

    pub(crate) async fn history(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
    ) -> Result<BTreeMap<DealId, Vec<StageChange>>> {
        let mut by_deal: BTreeMap<DealId, Vec<StageChange>> = BTreeMap::new();
        let mut q = ListQuery::<StageChange>::filter(StageChangeFilter {
            pipeline_id: Some(pipeline),
            ..Default::default()
        })
        .sorted(StageChangeSort::At, Direction::Asc)
        .limit(crate::store::MAX_PAGE_SIZE);
        loop {
            let page = self.list(actor, q.clone()).await?;
            for c in page.items {
                by_deal.entry(c.deal_id).or_default().push(c);
            }
            match page.next {
                Some(n) => q.after = Some(n),
                None => break,
            }
        }
        Ok(by_deal)
    }

    // ----- activities ---------------------------------------------------------------

    pub(crate) async fn open_activity(
        &self,
        actor: &Actor,
        id: ActivityId,
        to: &str,
    ) -> Result<Activity> {
        let a = self.get::<Activity>(actor, id).await?;
        if !a.status.is_open() {
            return Err(CrmError::InvalidTransition {
                from: a.status.to_string(),
                to: to.into(),
                reason: "the activity is already closed".into(),
            });
        }
        Ok(a)
    }

    // ----- follow-ups ---------------------------------------------------------------

    pub(crate) async fn pending_follow_up(
        &self,
        actor: &Actor,
        id: FollowUpId,
        to: &str,
    ) -> Result<FollowUp> {
        let f = self.get::<FollowUp>(actor, id).await?;
        if f.status != FollowUpStatus::Pending {
            return Err(CrmError::InvalidTransition {
                from: f.status.to_string(),
                to: to.into(),
                reason: "only a pending follow-up can change".into(),
            });
        }
        Ok(f)
    }
}

/// `deal` moved into `target` (another pipeline): open deals into `stage` (or the first
/// open stage), won deals into the won stage, lost deals into the lost stage.
pub(crate) fn moved_to_pipeline(
    deal: &Deal,
    target: &Pipeline,
    stage: Option<StageId>,
    now: DateTime<Utc>,
) -> Result<Deal> {
    let refuse = |reason: String| CrmError::InvalidTransition {
        from: deal.status.to_string(),
        to: target.name.clone(),
        reason,
    };
    let to = match deal.status {
        DealStatus::Open => match stage {
            Some(id) => target
                .stage(id)
                .filter(|s| !s.is_closed())
                .ok_or_else(|| refuse("not an open stage of the target pipeline".into()))?,
            None => target
                .first_open_stage()
                .ok_or_else(|| refuse("the target pipeline has no open stage".into()))?,
        },
        DealStatus::Won if stage.is_none() => target
            .won_stage()
            .ok_or_else(|| refuse("the target pipeline has no won stage".into()))?,
        DealStatus::Lost if stage.is_none() => target
            .lost_stage()
            .ok_or_else(|| refuse("the target pipeline has no lost stage".into()))?,
        _ => return Err(refuse("a closed deal must be reopened first".into())),
    };
    let mut d = deal.clone();
    d.pipeline_id = target.id;
    d.stage_id = to.id;
    d.stage_entered_at = now;
    if d.status == DealStatus::Open && !d.probability_manual {
        d.probability = to.probability;
    }
    d.touch(now);
    Ok(d)
}
