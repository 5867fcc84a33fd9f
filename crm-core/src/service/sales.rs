//! Sales use cases: deal transitions, pipeline configuration, stage-history queries, and
//! the lifecycle of activities and follow-ups.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};

use crate::error::{CrmError, Result};
use crate::id::{ActivityId, Actor, DealId, FollowUpId, PipelineId, StageId, UserId};
use crate::model::*;
use crate::pipeline::{check_state, transition, DealTransition};
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

/// Why a deal was lost, for [`Crm::lose_deal`], by name (a reason and two adjacent
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

    /// Applies a state-machine transition to a deal and records it as a [`StageChange`]
    /// (from, to, at, by, amount and probability), atomically. A transition the machine
    /// forbids fails with `InvalidTransition` and changes nothing; moving a deal to the
    /// stage it is in is a no-op.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn transition_deal(
        &self,
        actor: &Actor,
        deal: DealId,
        t: DealTransition,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        let old = self.get::<Deal>(actor, deal).await?;
        let pipeline = self.get::<Pipeline>(actor, old.pipeline_id).await?;
        let mut new = transition(&old, &pipeline, &t, now)?;
        if new == old {
            return Ok(old);
        }
        new.touch(now);
        check_state(&new, &pipeline)?;
        self.write_transition(actor, &old, new, now).await
    }

    async fn write_transition(
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

    /// Moves an open deal to another open stage of its pipeline.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn move_deal_to_stage(
        &self,
        actor: &Actor,
        deal: DealId,
        stage: StageId,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        self.transition_deal(actor, deal, DealTransition::MoveTo(stage), now)
            .await
    }

    /// Wins an open deal: won stage, probability 100, closed now.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn win_deal(
        &self,
        actor: &Actor,
        deal: DealId,
        reason: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        let reason = reason.map(|r| r.trim().to_string());
        self.transition_deal(actor, deal, DealTransition::Win { reason }, now)
            .await
    }

    /// Loses an open deal: lost stage, probability 0, closed now, with a reason, the
    /// competitor it went to and notes.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn lose_deal(
        &self,
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
        let settings = self.tenant_settings(actor, now).await?;
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
        self.transition_deal(actor, deal, t, now).await
    }

    /// Reopens a won or lost deal into `stage` (its pipeline's first open stage if `None`).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reopen_deal(
        &self,
        actor: &Actor,
        deal: DealId,
        stage: Option<StageId>,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        self.transition_deal(actor, deal, DealTransition::Reopen(stage), now)
            .await
    }

    /// Moves an open deal into an open stage of another pipeline (recorded like a stage
    /// move).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn move_deal_to_pipeline(
        &self,
        actor: &Actor,
        deal: DealId,
        pipeline: PipelineId,
        stage: StageId,
        now: DateTime<Utc>,
    ) -> Result<Deal> {
        let old = self.get::<Deal>(actor, deal).await?;
        let target = self.get::<Pipeline>(actor, pipeline).await?;
        let new = moved_to_pipeline(&old, &target, Some(stage), now)?;
        check_state(&new, &target)?;
        self.write_transition(actor, &old, new, now).await
    }

    // ----- pipeline configuration ---------------------------------------------------

    /// Creates a pipeline with the given stages.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn create_pipeline(
        &self,
        actor: &Actor,
        name: &str,
        stages: Vec<Stage>,
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let p = Pipeline::new(actor.tenant, name, stages, now)?;
        self.create(actor, p, now).await
    }

    /// Renames a pipeline (names are unique per tenant, case-insensitive).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn rename_pipeline(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
        name: &str,
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let mut p = self.get::<Pipeline>(actor, pipeline).await?;
        p.name = name.trim().to_string();
        self.update(actor, p, now).await
    }

    /// Inserts a stage at `position` (clamped to the end).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn add_stage(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
        stage: Stage,
        position: usize,
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let mut p = self.get::<Pipeline>(actor, pipeline).await?;
        let at = position.min(p.stages.len());
        p.stages.insert(at, stage);
        self.update(actor, p, now).await
    }

    /// Replaces a stage's settings (name, probability, rotting days, colour). Its closed
    /// flags cannot change while deals are in it. Open deals in it that follow the stage
    /// probability take the new one, in the same change set.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn update_stage(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
        stage: Stage,
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let mut p = self.get::<Pipeline>(actor, pipeline).await?;
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
        self.plan_checked(actor, &p)?;
        self.apply(actor, cs).await?.stored(&mut p)?;
        Ok(p)
    }

    /// Reorders the stages: `order` must list every stage id exactly once.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reorder_stages(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
        order: &[StageId],
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let mut p = self.get::<Pipeline>(actor, pipeline).await?;
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
        self.update(actor, p, now).await
    }

    /// Removes a stage. Deals in it move to `target` (a stage of the same pipeline with the
    /// same open/won/lost kind) in the same change set, each move recorded; without a
    /// target a stage with deals cannot be removed.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn remove_stage(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
        stage: StageId,
        target: Option<StageId>,
        now: DateTime<Utc>,
    ) -> Result<Pipeline> {
        let mut p = self.get::<Pipeline>(actor, pipeline).await?;
        let removed = p.stage(stage).cloned().ok_or_else(|| {
            CrmError::validation(
                "stage",
                format!("{stage} is not a stage of pipeline {:?}", p.name),
            )
        })?;
        let deals = self
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
                let change = StageChange::record(
                    &d,
                    Some(old.stage_id),
                    Some(old.status),
                    Some(actor.user),
                    now,
                );
                let event = DomainEvent::DealStageChanged {
                    deal: d.id,
                    from: old.stage_id,
                    to: d.stage_id,
                };
                cs.push_emit(crate::store::NewEvent::new(d.entity_ref(), now, event));
                cs.push_update(d);
                cs.push_insert(change);
            }
        }
        p.stages.retain(|s| s.id != stage);
        p.touch(now);
        self.plan_checked(actor, &p)?;
        cs.push_update(p.clone());
        self.apply(actor, cs).await?.stored(&mut p)?;
        Ok(p)
    }

    /// Deletes a pipeline. Its deals (open or closed) move to `move_to` in the same change
    /// set: open deals into its first open stage, won deals into its won stage, lost deals
    /// into its lost stage; each move recorded. Its per-pipeline external mapping
    /// ([`crate::TenantSettings::pipeline_external_mappings`]) is removed in the same change
    /// set. Without `move_to` a pipeline with deals cannot be deleted, and the default
    /// pipeline never can.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn delete_pipeline(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
        move_to: Option<PipelineId>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let p = self.get::<Pipeline>(actor, pipeline).await?;
        if p.is_default {
            return Err(CrmError::InvalidTransition {
                from: p.name.clone(),
                to: "deleted".into(),
                reason: "the default pipeline cannot be deleted".into(),
            });
        }
        let deals = self
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
            let target = self.get::<Pipeline>(actor, target_id).await?;
            for old in deals {
                let d = moved_to_pipeline(&old, &target, None, now)?;
                let change = StageChange::record(
                    &d,
                    Some(old.stage_id),
                    Some(old.status),
                    Some(actor.user),
                    now,
                );
                let event = DomainEvent::DealStageChanged {
                    deal: d.id,
                    from: old.stage_id,
                    to: d.stage_id,
                };
                cs.push_emit(crate::store::NewEvent::new(d.entity_ref(), now, event));
                cs.push_update(d);
                cs.push_insert(change);
            }
        }
        // Its entry in the tenant's external mappings goes with it (in the same change
        // set, so a concurrent settings save conflicts instead of keeping it).
        let mut settings = self.tenant_settings(actor, now).await?;
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
        self.apply(actor, cs).await.map(|_| ())
    }

    fn plan_checked(&self, _actor: &Actor, p: &Pipeline) -> Result<()> {
        crate::store::EntityRules::validate(p)
    }

    // ----- stage history ------------------------------------------------------------

    /// Open deals idle in their stage past the stage's rotting days: no stage change,
    /// activity or interaction for that long. Oldest first.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn rotting_deals(
        &self,
        actor: &Actor,
        pipeline: Option<PipelineId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RottingDeal>> {
        let pipelines: HashMap<PipelineId, Pipeline> = self
            .list_all::<Pipeline>(actor, PipelineFilter::default())
            .await?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
        let deals = self
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

    async fn history(
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

    /// Stage-to-stage conversion of a pipeline from its history: for every stage, how
    /// many deals entered it and how many of those later moved further along, were won or
    /// were lost.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn stage_conversion(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
    ) -> Result<Vec<StageConversion>> {
        let p = self.get::<Pipeline>(actor, pipeline).await?;
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
        for changes in self.history(actor, pipeline).await?.values() {
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
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn pipeline_velocity(
        &self,
        actor: &Actor,
        pipeline: PipelineId,
    ) -> Result<Vec<StageVelocity>> {
        let p = self.get::<Pipeline>(actor, pipeline).await?;
        let mut sums: HashMap<StageId, (u64, i64)> = HashMap::new();
        for changes in self.history(actor, pipeline).await?.values() {
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

    // ----- activities ---------------------------------------------------------------

    async fn open_activity(&self, actor: &Actor, id: ActivityId, to: &str) -> Result<Activity> {
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

    /// Completes a pending or in-progress activity with an outcome; a linked deal's last
    /// activity moves to `now` (resetting its rotting clock).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn complete_activity(
        &self,
        actor: &Actor,
        id: ActivityId,
        outcome: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Activity> {
        let mut a = self.open_activity(actor, id, "completed").await?;
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
            let mut d = self.get::<Deal>(actor, deal).await?;
            if d.last_activity_at.is_none_or(|l| l < now) {
                d.last_activity_at = Some(now);
                d.touch(now);
                cs.push_update(d);
            }
        }
        self.apply(actor, cs).await?.stored(&mut a)?;
        Ok(a)
    }

    /// Cancels a pending or in-progress activity.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn cancel_activity(
        &self,
        actor: &Actor,
        id: ActivityId,
        now: DateTime<Utc>,
    ) -> Result<Activity> {
        let mut a = self.open_activity(actor, id, "cancelled").await?;
        a.status = ActivityStatus::Cancelled;
        let event = DomainEvent::ActivityCancelled { activity: a.id };
        self.update_with_event(actor, a, event, now).await
    }

    /// Moves an open activity's due time (and reminder).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reschedule_activity(
        &self,
        actor: &Actor,
        id: ActivityId,
        due_at: Option<DateTime<Utc>>,
        reminder_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Activity> {
        let mut a = self.open_activity(actor, id, "rescheduled").await?;
        a.due_at = due_at;
        a.reminder_at = reminder_at;
        self.update(actor, a, now).await
    }

    /// Gives an open activity to another user.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reassign_activity(
        &self,
        actor: &Actor,
        id: ActivityId,
        assignee: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<Activity> {
        let mut a = self.open_activity(actor, id, "reassigned").await?;
        a.assignee = assignee;
        self.update(actor, a, now).await
    }

    /// Open activities due before `now` (of `assignee`, if given), most overdue first.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn overdue_activities(
        &self,
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
        let mut v = self.list_all::<Activity>(actor, filter).await?;
        v.sort_by_key(|a| (a.due_at, a.created_at));
        Ok(v)
    }

    /// Open activities whose reminder time has come (`reminder_at <= now`), for the host to
    /// deliver; oldest reminder first.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn due_reminders(&self, actor: &Actor, now: DateTime<Utc>) -> Result<Vec<Activity>> {
        let filter = ActivityFilter {
            open_only: true,
            reminder_before: Some(now),
            ..Default::default()
        };
        let mut v = self.list_all::<Activity>(actor, filter).await?;
        v.sort_by_key(|a| (a.reminder_at, a.created_at));
        Ok(v)
    }

    // ----- follow-ups ---------------------------------------------------------------

    async fn pending_follow_up(&self, actor: &Actor, id: FollowUpId, to: &str) -> Result<FollowUp> {
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

    /// Completes a pending follow-up.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn complete_follow_up(
        &self,
        actor: &Actor,
        id: FollowUpId,
        now: DateTime<Utc>,
    ) -> Result<FollowUp> {
        let mut f = self.pending_follow_up(actor, id, "completed").await?;
        f.status = FollowUpStatus::Completed;
        f.completed_at = Some(now);
        let event = DomainEvent::FollowUpCompleted { follow_up: f.id };
        self.update_with_event(actor, f, event, now).await
    }

    /// Cancels a pending follow-up.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn cancel_follow_up(
        &self,
        actor: &Actor,
        id: FollowUpId,
        now: DateTime<Utc>,
    ) -> Result<FollowUp> {
        let mut f = self.pending_follow_up(actor, id, "cancelled").await?;
        f.status = FollowUpStatus::Cancelled;
        let event = DomainEvent::FollowUpCancelled { follow_up: f.id };
        self.update_with_event(actor, f, event, now).await
    }

    /// Moves a pending follow-up's due time.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reschedule_follow_up(
        &self,
        actor: &Actor,
        id: FollowUpId,
        due_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<FollowUp> {
        let mut f = self.pending_follow_up(actor, id, "rescheduled").await?;
        f.due_at = due_at;
        self.update(actor, f, now).await
    }

    /// Gives a pending follow-up to another user.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reassign_follow_up(
        &self,
        actor: &Actor,
        id: FollowUpId,
        assignee: Option<UserId>,
        now: DateTime<Utc>,
    ) -> Result<FollowUp> {
        let mut f = self.pending_follow_up(actor, id, "reassigned").await?;
        f.assignee = assignee;
        self.update(actor, f, now).await
    }

    /// Pending follow-ups due before `now` (of `assignee`, if given), most overdue first.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn overdue_follow_ups(
        &self,
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
        let mut v = self.list_all::<FollowUp>(actor, filter).await?;
        v.sort_by_key(|f| (f.due_at, f.created_at));
        Ok(v)
    }

    /// Pending follow-ups that came due (`due_at <= now`) and were not announced yet: each
    /// is stamped `due_notified_at = now` and gets a `FollowUpDue` event, in one change set,
    /// so a follow-up is announced exactly once however often this runs. Returns them.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn notify_due_follow_ups(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<FollowUp>> {
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
        self.apply(actor, cs).await?;
        Ok(out)
    }

    /// Expires pending follow-ups past due by more than the tenant's grace period
    /// ([`TenantSettings::follow_up_grace_hours`]), in one change set with a
    /// `FollowUpExpired` event each; returns how many expired. Idempotent: a second call
    /// at the same `now` expires nothing more.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn expire_overdue(&self, actor: &Actor, now: DateTime<Utc>) -> Result<usize> {
        let hours = self
            .tenant_settings(actor, now)
            .await?
            .follow_up_grace_hours;
        let grace = Duration::hours(i64::from(hours));
        let cutoff = now
            .checked_sub_signed(grace)
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        let due = self.overdue_follow_ups(actor, None, cutoff).await?;
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
        self.apply(actor, cs).await?;
        Ok(n)
    }
}

/// `deal` moved into `target` (another pipeline): open deals into `stage` (or the first
/// open stage), won deals into the won stage, lost deals into the lost stage.
fn moved_to_pipeline(
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
