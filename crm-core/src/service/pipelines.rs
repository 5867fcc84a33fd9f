//! The pipeline calls: create, rename and delete pipelines, edit their stages, the default pipeline, stage conversion and velocity.
//!
//! Reached through [`Crm::pipelines`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::*;
use crate::model::*;
use crate::store::*;

use super::sales::*;
use super::*;

super::handle!(
    /// The pipeline calls: create, rename and delete pipelines, edit their stages, the default pipeline, stage conversion and velocity.
    Pipelines, pipelines
);

impl<S: CrmStore + ?Sized> Pipelines<'_, S> {
    /// The tenant's default pipeline, created with the standard stages on first use.
    #[tracing::instrument(name = "pipelines.ensure_default", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn ensure_default(self, actor: &Actor, now: DateTime<Utc>) -> Result<Pipeline> {
        let q = ListQuery::<Pipeline>::filter(PipelineFilter {
            is_default: Some(true),
        })
        .limit(1);
        if let Some(p) = self
            .crm
            .list(actor, q.clone())
            .await?
            .items
            .into_iter()
            .next()
        {
            return Ok(p);
        }
        let p = Pipeline::standard(actor.tenant, now)?;
        match self.crm.create(actor, p, now).await {
            Err(CrmError::AlreadyExists { .. }) => self
                .crm
                .list(actor, q)
                .await?
                .items
                .into_iter()
                .next()
                .ok_or_else(|| CrmError::not_found(crate::store::EntityKind::Pipeline, "default")),
            other => other,
        }
    }

    /// Creates a pipeline with the given stages.
    #[tracing::instrument(name = "pipelines.create", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn create(
        self,
        actor: &Actor,
        name: &str,
        stages: Vec<Stage>,
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let p = Pipeline::new(actor.tenant, name, stages, now)?;
        self.crm.create(actor, p, now).await
    }

    /// Renames a pipeline (names are unique per tenant, case-insensitive).
    #[tracing::instrument(name = "pipelines.rename", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn rename(
        self,
        actor: &Actor,
        pipeline: PipelineId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let mut p = self.crm.get::<Pipeline>(actor, pipeline).await?;
        p.name = name.trim().to_string();
        self.crm.update(actor, p, now).await
    }

    /// Inserts a stage at `position` (clamped to the end).
    #[tracing::instrument(name = "pipelines.add_stage", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn add_stage(
        self,
        actor: &Actor,
        pipeline: PipelineId,
        stage: Stage,
        position: usize,
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let mut p = self.crm.get::<Pipeline>(actor, pipeline).await?;
        let at = position.min(p.stages.len());
        p.stages.insert(at, stage);
        self.crm.update(actor, p, now).await
    }

    /// Replaces a stage's settings (name, probability, rotting days, colour). Its closed
    /// flags cannot change while deals are in it. Open deals in it that follow the stage
    /// probability take the new one, in the same change set.
    #[tracing::instrument(name = "pipelines.update_stage", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn update_stage(
        self,
        actor: &Actor,
        pipeline: PipelineId,
        stage: Stage,
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let mut p = self.crm.get::<Pipeline>(actor, pipeline).await?;
        let slot = p
            .stages
            .iter_mut()
            .find(|s| s.id == stage.id)
            .ok_or_else(|| {
                CrmError::validation(
                    "stage.id",
                    format!("{} is not a stage of pipeline {pipeline}", stage.id),
                )
            })?;
        let flags_changed =
            slot.closed_won != stage.closed_won || slot.closed_lost != stage.closed_lost;
        *slot = stage.clone();
        let deals = self
            .crm
            .list_all::<Deal>(
                actor,
                DealFilter {
                    stage_id: Some(stage.id),
                    ..Default::default()
                },
            )
            .await?;
        if flags_changed && !deals.is_empty() {
            return Err(CrmError::InvalidTransition {
                from: "stage with deals".into(),
                to: stage.name.clone(),
                reason: "won/lost flags of a stage with deals cannot change".into(),
            });
        }
        p.touch(now);
        let mut cs = ChangeSet::new();
        for mut d in deals
            .into_iter()
            .filter(|d| d.status == DealStatus::Open && !d.probability_manual)
        {
            if d.probability != stage.probability {
                let event = DomainEvent::DealProbabilityChanged {
                    deal: d.id,
                    from: d.probability,
                    to: stage.probability,
                };
                d.probability = stage.probability;
                d.touch(now);
                cs.push_emit(crate::store::NewEvent::new(d.entity_ref(), now, event));
                cs.push_update(d);
            }
        }
        cs.push_update(p.clone());
        self.crm.plan_checked(actor, &p)?;
        self.crm.apply(actor, cs).await?.stored(&mut p)?;
        Ok(p)
    }

    /// Reorders the stages: `order` must list every stage id exactly once.
    #[tracing::instrument(name = "pipelines.reorder_stages", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reorder_stages(
        self,
        actor: &Actor,
        pipeline: PipelineId,
        order: &[StageId],
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let mut p = self.crm.get::<Pipeline>(actor, pipeline).await?;
        let mut by_id: HashMap<StageId, Stage> = p.stages.drain(..).map(|s| (s.id, s)).collect();
        let mut stages = Vec::with_capacity(by_id.len());
        for (i, id) in order.iter().enumerate() {
            let s = by_id.remove(id).ok_or_else(|| {
                CrmError::validation(
                    format!("order[{i}]"),
                    "not a stage of the pipeline, or listed twice",
                )
            })?;
            stages.push(s);
        }
        if !by_id.is_empty() {
            return Err(CrmError::validation(
                "order",
                format!("{} stage(s) missing", by_id.len()),
            ));
        }
        p.stages = stages;
        self.crm.update(actor, p, now).await
    }

    /// Removes a stage. Deals in it move to `target` (a stage of the same pipeline with the
    /// same open/won/lost kind) in the same change set, each move recorded; without a
    /// target a stage with deals cannot be removed.
    #[tracing::instrument(name = "pipelines.remove_stage", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn remove_stage(
        self,
        actor: &Actor,
        pipeline: PipelineId,
        stage: StageId,
        target: Option<StageId>,
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let mut p = self.crm.get::<Pipeline>(actor, pipeline).await?;
        let removed = p.stage(stage).cloned().ok_or_else(|| {
            CrmError::validation(
                "stage",
                format!("{stage} is not a stage of pipeline {:?}", p.name),
            )
        })?;
        let deals = self
            .crm
            .list_all::<Deal>(
                actor,
                DealFilter {
                    stage_id: Some(stage),
                    ..Default::default()
                },
            )
            .await?;
        let mut cs = ChangeSet::new();
        if !deals.is_empty() {
            let to = target
                .and_then(|t| p.stage(t).cloned())
                .filter(|t| t.id != stage)
                .ok_or_else(|| CrmError::InvalidTransition {
                    from: removed.name.clone(),
                    to: "removed".into(),
                    reason: format!(
                        "{} deal(s) are in the stage: name a target stage of the pipeline",
                        deals.len()
                    ),
                })?;
            if (to.closed_won, to.closed_lost) != (removed.closed_won, removed.closed_lost) {
                return Err(CrmError::InvalidTransition {
                    from: removed.name.clone(),
                    to: to.name.clone(),
                    reason: "deals move only to a stage of the same kind (open, won or lost)"
                        .into(),
                });
            }
            for old in deals {
                let mut d = old.clone();
                d.stage_id = to.id;
                d.stage_entered_at = now;
                if d.status == DealStatus::Open && !d.probability_manual {
                    d.probability = to.probability;
                }
                d.touch(now);
                // Same status, another stage: the move's stage change and event.
                cs.changes
                    .extend(self.crm.transition_changes(actor, &old, &d, now).changes);
            }
        }
        p.stages.retain(|s| s.id != stage);
        p.touch(now);
        self.crm.plan_checked(actor, &p)?;
        cs.push_update(p.clone());
        self.crm.apply(actor, cs).await?.stored(&mut p)?;
        Ok(p)
    }

    /// Deletes a pipeline. Its deals (open or closed) move to `move_to` in the same change
    /// set: open deals into its first open stage, won deals into its won stage, lost deals
    /// into its lost stage; each move recorded. Its per-pipeline external mapping
    /// ([`crate::TenantSettings::pipeline_external_mappings`]) is removed in the same change
    /// set. Without `move_to` a pipeline with deals cannot be deleted, and the default
    /// pipeline never can.
    #[tracing::instrument(name = "pipelines.delete", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn delete(
        self,
        actor: &Actor,
        pipeline: PipelineId,
        move_to: Option<PipelineId>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let p = self.crm.get::<Pipeline>(actor, pipeline).await?;
        if p.is_default {
            return Err(CrmError::InvalidTransition {
                from: p.name.clone(),
                to: "deleted".into(),
                reason: "the default pipeline cannot be deleted".into(),
            });
        }
        let deals = self
            .crm
            .list_all::<Deal>(
                actor,
                DealFilter {
                    pipeline_id: Some(pipeline),
                    ..Default::default()
                },
            )
            .await?;
        let mut cs = ChangeSet::new();
        if !deals.is_empty() {
            let target_id =
                move_to
                    .filter(|t| *t != pipeline)
                    .ok_or_else(|| CrmError::InvalidTransition {
                        from: p.name.clone(),
                        to: "deleted".into(),
                        reason: format!(
                            "{} deal(s) are in the pipeline: name a pipeline to move them to",
                            deals.len()
                        ),
                    })?;
            let target = self.crm.get::<Pipeline>(actor, target_id).await?;
            for old in deals {
                let d = moved_to_pipeline(&old, &target, None, now)?;
                // Same status, another stage: the move's stage change and event.
                cs.changes
                    .extend(self.crm.transition_changes(actor, &old, &d, now).changes);
            }
        }
        // Its entry in the tenant's external mappings goes with it (in the same change
        // set, so a concurrent settings save conflicts instead of keeping it).
        let mut settings = self.crm.tenant_settings(actor, now).await?;
        let mapped = settings.pipeline_external_mappings.len();
        settings
            .pipeline_external_mappings
            .retain(|m| m.pipeline != pipeline);
        if settings.pipeline_external_mappings.len() != mapped {
            settings.touch(now);
            cs.push_update(settings);
        }
        // Stage history of the old pipeline keeps its pipeline id as a plain value; it is
        // not a reference, so the history survives the pipeline.
        cs.push_delete::<Pipeline>(pipeline, Some(p.version));
        self.crm.apply(actor, cs).await.map(|_| ())
    }

    /// Stage-to-stage conversion of a pipeline from its history: for every stage, how
    /// many deals entered it and how many of those later moved further along, were won or
    /// were lost.
    #[tracing::instrument(name = "pipelines.stage_conversion", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn stage_conversion(
        self,
        actor: &Actor,
        pipeline: PipelineId,
    ) -> Result<Vec<StageConversion>> {
        let p = self.crm.get::<Pipeline>(actor, pipeline).await?;
        let rank: HashMap<StageId, usize> = p
            .stages
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id, i))
            .collect();
        let mut out: Vec<StageConversion> = p
            .stages
            .iter()
            .map(|s| StageConversion {
                stage_id: s.id,
                stage_name: s.name.clone(),
                entered: 0,
                advanced: 0,
                won: 0,
                lost: 0,
            })
            .collect();
        for changes in self.crm.history(actor, pipeline).await?.values() {
            let changes: Vec<&StageChange> = changes
                .iter()
                .filter(|c| c.pipeline_id == pipeline)
                .collect();
            for (i, c) in changes.iter().enumerate() {
                let Some(&r) = rank.get(&c.to_stage) else {
                    continue;
                };
                // Count each deal once per stage: at its first entry.
                if changes[..i].iter().any(|e| e.to_stage == c.to_stage) {
                    continue;
                }
                let later = &changes[i + 1..];
                let row = &mut out[r];
                row.entered += 1;
                let further = |e: &&&StageChange| {
                    e.to_status == DealStatus::Won
                        || (e.to_status == DealStatus::Open
                            && rank.get(&e.to_stage).is_some_and(|&x| x > r))
                };
                if later.iter().any(|e| further(&e)) {
                    row.advanced += 1;
                }
                if changes[i..].iter().any(|e| e.to_status == DealStatus::Won) {
                    row.won += 1;
                }
                if changes[i..].iter().any(|e| e.to_status == DealStatus::Lost) {
                    row.lost += 1;
                }
            }
        }
        Ok(out)
    }

    /// Pipeline velocity: the average days deals spent in each stage before leaving it.
    #[tracing::instrument(name = "pipelines.velocity", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn velocity(self, actor: &Actor, pipeline: PipelineId) -> Result<Vec<StageVelocity>> {
        let p = self.crm.get::<Pipeline>(actor, pipeline).await?;
        let mut sums: HashMap<StageId, (u64, i64)> = HashMap::new();
        for changes in self.crm.history(actor, pipeline).await?.values() {
            for w in changes.windows(2) {
                let stay = (w[1].at - w[0].at).num_seconds().max(0);
                let e = sums.entry(w[0].to_stage).or_default();
                e.0 += 1;
                e.1 = e.1.saturating_add(stay);
            }
        }
        Ok(p.stages
            .iter()
            .map(|s| {
                let (stays, secs) = sums.get(&s.id).copied().unwrap_or_default();
                StageVelocity {
                    stage_id: s.id,
                    stage_name: s.name.clone(),
                    stays,
                    average_days: (stays > 0).then(|| secs as f64 / stays as f64 / 86_400.0),
                }
            })
            .collect())
    }
}
