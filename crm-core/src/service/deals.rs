//! The deal calls: stage moves and transitions, win, lose, reopen, pipeline moves, rotting deals, external events.
//!
//! Reached through [`Crm::deals`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::*;
use crate::model::*;
use crate::pipeline::{check_state, transition, DealTransition};
use crate::store::*;

use super::sales::*;
use super::*;

super::handle!(
    /// The deal calls: stage moves and transitions, win, lose, reopen, pipeline moves, rotting deals, external events.
    Deals, deals
);

impl<S: CrmStore + ?Sized> Deals<'_, S> {
    /// Applies a state-machine transition to a deal and records it as a [`StageChange`]
    /// (from, to, at, by, amount and probability), atomically. A transition the machine
    /// forbids fails with `InvalidTransition` and changes nothing; moving a deal to the
    /// stage it is in is a no-op.
    #[tracing::instrument(name = "deals.transition", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn transition(
        self,
        actor: &Actor,
        deal: DealId,
        t: DealTransition,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        let old = self.crm.get::<Deal>(actor, deal).await?;
        let pipeline = self.crm.get::<Pipeline>(actor, old.pipeline_id).await?;
        let mut new = transition(&old, &pipeline, &t, now)?;
        if new == old {
            return Ok(old);
        }
        new.touch(now);
        check_state(&new, &pipeline)?;
        self.crm.write_transition(actor, &old, new, now).await
    }

    /// Moves an open deal to another open stage of its pipeline.
    #[tracing::instrument(name = "deals.move_to_stage", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn move_to_stage(
        self,
        actor: &Actor,
        deal: DealId,
        stage: StageId,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        self.crm
            .deals()
            .transition(actor, deal, DealTransition::MoveTo(stage), now)
            .await
    }

    /// Wins an open deal: won stage, probability 100, closed now.
    #[tracing::instrument(name = "deals.win", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn win(
        self,
        actor: &Actor,
        deal: DealId,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        let reason = reason.map(|r| r.trim().to_string());
        self.crm
            .deals()
            .transition(actor, deal, DealTransition::Win { reason }, now)
            .await
    }

    /// Loses an open deal: lost stage, probability 0, closed now, with a reason, the
    /// competitor it went to and notes.
    #[tracing::instrument(name = "deals.lose", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn lose(
        self,
        actor: &Actor,
        deal: DealId,
        loss: Loss<'_>,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        let Loss {
            reason,
            competitor,
            notes,
        } = loss;
        let settings = self.crm.tenant_settings(actor, now).await?;
        if !reason.trim().is_empty() && !settings.allows_lost_reason(reason) {
            return Err(CrmError::validation(
                "lost_reason",
                format!(
                    "{reason:?} is not one of the tenant's lost reasons: {}",
                    settings.lost_reasons.join(", ")
                ),
            ));
        }
        let t = DealTransition::Lose {
            reason: reason.to_string(),
            competitor: competitor.map(str::to_string),
            notes: notes.map(str::to_string),
        };
        self.crm.deals().transition(actor, deal, t, now).await
    }

    /// Reopens a won or lost deal into `stage` (its pipeline's first open stage if `None`).
    #[tracing::instrument(name = "deals.reopen", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reopen(
        self,
        actor: &Actor,
        deal: DealId,
        stage: Option<StageId>,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        self.crm
            .deals()
            .transition(actor, deal, DealTransition::Reopen(stage), now)
            .await
    }

    /// Moves an open deal into an open stage of another pipeline (recorded like a stage
    /// move).
    #[tracing::instrument(name = "deals.move_to_pipeline", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn move_to_pipeline(
        self,
        actor: &Actor,
        deal: DealId,
        pipeline: PipelineId,
        stage: StageId,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        let old = self.crm.get::<Deal>(actor, deal).await?;
        let target = self.crm.get::<Pipeline>(actor, pipeline).await?;
        let new = moved_to_pipeline(&old, &target, Some(stage), now)?;
        check_state(&new, &target)?;
        self.crm.write_transition(actor, &old, new, now).await
    }

    /// Open deals idle in their stage past the stage's rotting days: no stage change,
    /// activity or interaction for that long. Oldest first.
    #[tracing::instrument(name = "deals.rotting", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn rotting(
        self,
        actor: &Actor,
        pipeline: Option<PipelineId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RottingDeal>> {
        let pipelines: HashMap<PipelineId, Pipeline> = self
            .crm
            .list_all::<Pipeline>(actor, PipelineFilter::default())
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let deals = self
            .crm
            .list_all::<Deal>(
                actor,
                DealFilter {
                    pipeline_id: pipeline,
                    status: Some(DealStatus::Open),
                    ..Default::default()
                },
            )
            .await?;
        let mut out: Vec<RottingDeal> = deals
            .into_iter()
            .filter_map(|d| {
                let rotting_days = pipelines
                    .get(&d.pipeline_id)?
                    .stage(d.stage_id)?
                    .rotting_days?;
                let since = d
                    .last_activity_at
                    .map_or(d.stage_entered_at, |a| a.max(d.stage_entered_at));
                let idle_days = days_between(since, now);
                (idle_days > i64::from(rotting_days)).then_some(RottingDeal {
                    deal: d,
                    idle_days,
                    rotting_days,
                })
            })
            .collect();
        out.sort_by_key(|r| std::cmp::Reverse(r.idle_days));
        Ok(out)
    }
}
