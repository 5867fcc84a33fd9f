//! External events fed back by the host (quotes, orders, invoices) that advance deals.
//!
//! Which target an event kind has for a deal is resolved per pipeline: the deal's
//! pipeline's entry in [`TenantSettings::pipeline_external_mappings`], else the tenant-wide
//! mapping ([`TenantSettings::external_mapping`]), else the service's
//! ([`crate::CrmConfig::external_mapping`]), else [`default_external_mapping`]. A tenant-wide
//! mapping replaces the service's as a whole (a kind it does not list is not mapped); a
//! per-pipeline mapping overrides kind by kind. An event that cannot move its deal is still
//! recorded, and [`ExternalOutcome::Unchanged`] says why ([`UnchangedReason`]); a mapping
//! that names stages no pipeline has is refused when the settings are saved.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::{Actor, DealId, PipelineId};
use crate::model::{Deal, DealStatus, ExternalTarget, Pipeline, PipelineFilter, TenantSettings};
use crate::pipeline::{check_state, transition, DealTransition};
use crate::store::{ChangeSet, CrmStore, DomainEvent, Entity, ExternalEventKind, NewEvent};

use super::{Crm, CrmConfig};

/// The default mapping: quote sent -> Proposal, order created -> Negotiation, order
/// fulfilled or invoice paid -> won. The stage names are those of
/// [`Pipeline::standard`]; map custom pipelines with
/// [`TenantSettings::pipeline_external_mappings`].
pub fn default_external_mapping() -> HashMap<ExternalEventKind, ExternalTarget> {
    HashMap::from([
        (
            ExternalEventKind::QuoteSent,
            ExternalTarget::Stage("Proposal".into()),
        ),
        (
            ExternalEventKind::OrderCreated,
            ExternalTarget::Stage("Negotiation".into()),
        ),
        (ExternalEventKind::OrderFulfilled, ExternalTarget::Won),
        (ExternalEventKind::InvoicePaid, ExternalTarget::Won),
    ])
}

/// An event from the host's ERP about a deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalEvent {
    /// The host's unique id of the event; replaying the same id has no second effect.
    pub id: String,
    /// What happened.
    pub kind: ExternalEventKind,
    /// The deal it concerns.
    pub deal: DealId,
}

/// What handling an external event did.
#[derive(Debug, Clone, PartialEq)]
pub enum ExternalOutcome {
    /// The deal moved (or was won); the new state.
    Advanced(Deal),
    /// The event was recorded (a replay of its id is a [`ExternalOutcome::Duplicate`]) but
    /// the deal did not move.
    Unchanged {
        /// The deal as it is.
        deal: Deal,
        /// Why it did not move.
        reason: UnchangedReason,
    },
    /// The event id was handled before: nothing happened.
    Duplicate,
}

/// Why an external event left its deal where it was. Problems of the mapping (the first
/// four) are reported before the deal's state (the last two), so a mapping that can never
/// apply to a pipeline shows up on the first event, whatever the deal's state.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnchangedReason {
    /// The mapping in effect for the deal's pipeline has no entry for the event's kind.
    NotMapped {
        /// The event's kind.
        kind: ExternalEventKind,
    },
    /// The mapping names a stage the deal's pipeline does not have (e.g. the default
    /// mapping's "Proposal" in a custom pipeline).
    StageNotFound {
        /// The stage name the mapping gives.
        stage: String,
        /// The deal's pipeline.
        pipeline: PipelineId,
        /// Its name.
        pipeline_name: String,
    },
    /// The mapping names a closed (won or lost) stage; a deal is closed by winning or
    /// losing it, so map the event to [`ExternalTarget::Won`] instead.
    ClosedStage {
        /// The stage's name.
        stage: String,
        /// The deal's pipeline.
        pipeline: PipelineId,
    },
    /// The mapping says "won", but the deal's pipeline has no won stage.
    NoWonStage {
        /// The deal's pipeline.
        pipeline: PipelineId,
        /// Its name.
        pipeline_name: String,
    },
    /// The deal is closed (won or lost); only a person reopens a closed deal.
    DealClosed {
        /// Its status.
        status: DealStatus,
    },
    /// The deal is already in the target stage or a later one; events only move deals
    /// forward.
    AtOrPastStage {
        /// The target stage.
        stage: String,
        /// The stage the deal is in.
        current: String,
    },
}

impl fmt::Display for UnchangedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotMapped { kind } => write!(f, "event kind {kind:?} is not mapped"),
            Self::StageNotFound {
                stage,
                pipeline_name,
                ..
            } => write!(f, "pipeline {pipeline_name:?} has no stage named {stage:?}"),
            Self::ClosedStage { stage, .. } => write!(
                f,
                "stage {stage:?} is closed; a deal is closed by winning or losing it"
            ),
            Self::NoWonStage { pipeline_name, .. } => {
                write!(f, "pipeline {pipeline_name:?} has no won stage")
            }
            Self::DealClosed { status } => write!(f, "the deal is closed ({status:?})"),
            Self::AtOrPastStage { stage, current } if stage == current => {
                write!(f, "the deal is already in {stage:?}")
            }
            Self::AtOrPastStage { stage, current } => {
                write!(f, "the deal is in {current:?}, past {stage:?}")
            }
        }
    }
}

/// What an event does to a deal.
enum Step {
    /// It moves to this state (boxed: a deal is large next to a reason).
    Move(Box<Deal>),
    /// It stays, for this reason.
    Stay(UnchangedReason),
}

/// The target of `kind` for deals of `pipeline` (see the module docs for the order).
fn target_for(
    settings: &TenantSettings,
    config: &CrmConfig,
    pipeline: PipelineId,
    kind: ExternalEventKind,
) -> Option<ExternalTarget> {
    // The last entry of a kind wins, as it did when mappings were collected into a map
    // (saved settings cannot hold a kind twice; older rows might).
    let find = |m: &[(ExternalEventKind, ExternalTarget)]| {
        m.iter()
            .rev()
            .find(|(k, _)| *k == kind)
            .map(|(_, t)| t.clone())
    };
    if let Some(t) = settings
        .pipeline_external_mappings
        .iter()
        .find(|m| m.pipeline == pipeline)
        .and_then(|m| find(&m.mapping))
    {
        return Some(t);
    }
    match &settings.external_mapping {
        Some(m) => find(m),
        None => match &config.external_mapping {
            Some(m) => m.get(&kind).cloned(),
            None => default_external_mapping().remove(&kind),
        },
    }
}

impl<S: CrmStore + ?Sized> Crm<S> {
    /// Handles an external event: advances the deal per the mapping in effect for its
    /// pipeline and records the event id in the outbox in the same change set, so a replay
    /// of the same id (even a concurrent one) is a [`ExternalOutcome::Duplicate`] with no
    /// effect. An event that does not move the deal is recorded too and answered with
    /// [`ExternalOutcome::Unchanged`] and its [`UnchangedReason`].
    ///
    /// The target of an event kind is the deal's pipeline's entry in
    /// [`TenantSettings::pipeline_external_mappings`] for that kind, else the tenant-wide
    /// [`TenantSettings::external_mapping`], else [`crate::CrmConfig::external_mapping`],
    /// else [`default_external_mapping`]. A tenant-wide mapping replaces the service's as a
    /// whole (a kind it does not list is not mapped); a per-pipeline mapping overrides it
    /// kind by kind.
    pub async fn handle_external_event(
        &self,
        actor: &Actor,
        ev: &ExternalEvent,
        now: DateTime<Utc>,
    ) -> Result<ExternalOutcome> {
        let id = ev.id.trim();
        if id.is_empty() {
            return Err(CrmError::validation("id", "must not be empty"));
        }
        let deal = self.get::<Deal>(actor, ev.deal).await?;
        let pipeline = self.get::<Pipeline>(actor, deal.pipeline_id).await?;
        let settings = self.tenant_settings(actor, now).await?;
        let step = match target_for(&settings, self.config(), pipeline.id, ev.kind) {
            Some(target) => advance(&deal, &pipeline, &target, now)?,
            None => Step::Stay(UnchangedReason::NotMapped { kind: ev.kind }),
        };
        let mut cs = match &step {
            Step::Move(new) => {
                let mut new = (**new).clone();
                new.touch(now);
                check_state(&new, &pipeline)?;
                self.transition_changes(actor, &deal, &new, now)
            }
            Step::Stay(_) => ChangeSet::new(),
        };
        let mut received = NewEvent::new(
            deal.entity_ref(),
            now,
            DomainEvent::ExternalEventReceived {
                external_id: id.to_string(),
                kind: ev.kind,
                deal: deal.id,
            },
        );
        received.external_id = Some(id.to_string());
        cs.push_emit(received);
        match self.apply(actor, cs).await {
            Err(CrmError::AlreadyExists {
                entity: "event", ..
            }) => Ok(ExternalOutcome::Duplicate),
            Err(e) => Err(e),
            Ok(_) => Ok(match step {
                Step::Move(mut new) => {
                    new.touch(now);
                    new.version = deal.version + 1;
                    ExternalOutcome::Advanced(*new)
                }
                Step::Stay(reason) => ExternalOutcome::Unchanged { deal, reason },
            }),
        }
    }

    /// Checks the external mappings of `settings` against the tenant's pipelines, for
    /// [`Crm::save_tenant_settings`]. A mapping is checked only when it differs from the
    /// stored one, so saving other settings (or a duplicate-detection model) keeps working
    /// after a stage was renamed; such a stale entry shows up as
    /// [`UnchangedReason::StageNotFound`] when an event hits it. The rules:
    ///
    /// - `external_mapping[i].stage`: an open stage of at least one of the tenant's
    ///   pipelines (a tenant-wide mapping serves pipelines with different stages, so
    ///   "every pipeline" would make custom pipelines unmappable; those are mapped per
    ///   pipeline instead). `external_mapping[i].target` (won): at least one pipeline has a
    ///   won stage.
    /// - `pipeline_external_mappings[i].pipeline`: a pipeline of the tenant;
    ///   `...mapping[j].stage`: an open stage of that pipeline; `...mapping[j].target`
    ///   (won): that pipeline has a won stage.
    ///
    /// A tenant without pipelines yet is checked against [`Pipeline::standard`], which
    /// [`Crm::default_pipeline`] creates on first use.
    pub(crate) async fn check_external_mappings(
        &self,
        actor: &Actor,
        settings: &TenantSettings,
        now: DateTime<Utc>,
    ) -> Result<()> {
        crate::store::EntityRules::validate(settings)?;
        let stored = self.tenant_settings(actor, now).await?;
        let wide = settings.external_mapping != stored.external_mapping;
        let per_pipeline = settings.pipeline_external_mappings != stored.pipeline_external_mappings;
        if !wide && !per_pipeline {
            return Ok(());
        }
        let mut pipelines = self
            .list_all::<Pipeline>(actor, PipelineFilter::default())
            .await?;
        if pipelines.is_empty() {
            pipelines.push(Pipeline::standard(actor.tenant, now)?);
        }
        if let (true, Some(mapping)) = (wide, &settings.external_mapping) {
            for (i, (_, target)) in mapping.iter().enumerate() {
                check_target(target, &pipelines, &format!("external_mapping[{i}]"))?;
            }
        }
        if per_pipeline {
            for (i, pm) in settings.pipeline_external_mappings.iter().enumerate() {
                let field = format!("pipeline_external_mappings[{i}]");
                let pipeline = pipelines
                    .iter()
                    .find(|p| p.id == pm.pipeline)
                    .ok_or_else(|| {
                        CrmError::validation(
                            format!("{field}.pipeline"),
                            format!("{} is not a pipeline of the tenant", pm.pipeline),
                        )
                    })?;
                for (j, (_, target)) in pm.mapping.iter().enumerate() {
                    check_target(
                        target,
                        std::slice::from_ref(pipeline),
                        &format!("{field}.mapping[{j}]"),
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// Checks that `target` can apply to a deal of at least one of `pipelines`; `field` is the
/// mapping entry's path (`.stage` or `.target` is appended).
fn check_target(target: &ExternalTarget, pipelines: &[Pipeline], field: &str) -> Result<()> {
    let names = || {
        pipelines
            .iter()
            .map(|p| format!("{:?}", p.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match target {
        ExternalTarget::Stage(name) => {
            let name = name.trim();
            let stages = || pipelines.iter().filter_map(|p| p.stage_named(name));
            if stages().any(|s| !s.is_closed()) {
                return Ok(());
            }
            let reason = if stages().next().is_some() {
                format!(
                    "{name:?} is a closed stage; a deal is closed by winning or losing it \
                     (map the event to won)"
                )
            } else {
                format!("no open stage named {name:?} in pipeline(s) {}", names())
            };
            Err(CrmError::validation(format!("{field}.stage"), reason))
        }
        ExternalTarget::Won => {
            if pipelines.iter().any(|p| p.won_stage().is_some()) {
                return Ok(());
            }
            Err(CrmError::validation(
                format!("{field}.target"),
                format!("no won stage in pipeline(s) {}", names()),
            ))
        }
    }
}

/// What `target` does to `deal` in `pipeline` (see [`UnchangedReason`] for the order of
/// the checks).
fn advance(
    deal: &Deal,
    pipeline: &Pipeline,
    target: &ExternalTarget,
    now: DateTime<Utc>,
) -> Result<Step> {
    let stay = |reason| Ok(Step::Stay(reason));
    match target {
        ExternalTarget::Won => {
            if pipeline.won_stage().is_none() {
                return stay(UnchangedReason::NoWonStage {
                    pipeline: pipeline.id,
                    pipeline_name: pipeline.name.clone(),
                });
            }
            if deal.status != DealStatus::Open {
                return stay(UnchangedReason::DealClosed {
                    status: deal.status,
                });
            }
            transition(deal, pipeline, &DealTransition::Win { reason: None }, now)
                .map(|d| Step::Move(Box::new(d)))
        }
        ExternalTarget::Stage(name) => {
            let Some(stage) = pipeline.stage_named(name.trim()) else {
                return stay(UnchangedReason::StageNotFound {
                    stage: name.trim().to_string(),
                    pipeline: pipeline.id,
                    pipeline_name: pipeline.name.clone(),
                });
            };
            if stage.is_closed() {
                return stay(UnchangedReason::ClosedStage {
                    stage: stage.name.clone(),
                    pipeline: pipeline.id,
                });
            }
            if deal.status != DealStatus::Open {
                return stay(UnchangedReason::DealClosed {
                    status: deal.status,
                });
            }
            let rank = |id| pipeline.stages.iter().position(|s| s.id == id);
            if rank(stage.id) <= rank(deal.stage_id) {
                let current = pipeline
                    .stage(deal.stage_id)
                    .map_or_else(|| deal.stage_id.to_string(), |s| s.name.clone());
                return stay(UnchangedReason::AtOrPastStage {
                    stage: stage.name.clone(),
                    current,
                });
            }
            transition(deal, pipeline, &DealTransition::MoveTo(stage.id), now)
                .map(|d| Step::Move(Box::new(d)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::TenantId;
    use crate::model::{PipelineExternalMapping, Stage};
    use crate::money::Money;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("time")
    }

    /// A pipeline with open stages A, B, C, optionally a won stage W, and a lost stage L.
    fn pipeline(won: bool) -> Pipeline {
        let mut stages = vec![
            Stage::open("A", 10).expect("s"),
            Stage::open("B", 40).expect("s"),
            Stage::open("C", 70).expect("s"),
        ];
        if won {
            stages.push(Stage::won("W"));
        }
        stages.push(Stage::lost("L"));
        Pipeline::new(TenantId::new(), "P", stages, now()).expect("pipeline")
    }

    proptest! {
        /// An event moves an open deal only forward to an open stage of its pipeline (or
        /// wins it), and every refusal carries the reason that actually applies, mapping
        /// problems before the deal's state.
        #[test]
        fn events_move_forward_or_say_why(
            won in any::<bool>(),
            at in 0usize..3,
            close in 0u8..3,
            target in 0usize..7,
        ) {
            let p = pipeline(won);
            let d = Deal::new(p.tenant_id, "D", &p, p.stages[at].id, Money::new(1, "EUR").expect("m"), now()).expect("deal");
            let d = match close {
                1 if won => transition(&d, &p, &DealTransition::Win { reason: None }, now()).expect("win"),
                2 => transition(&d, &p, &DealTransition::Lose { reason: "x".into(), competitor: None, notes: None }, now()).expect("lose"),
                _ => d,
            };
            let names = ["A", "B", "C", "W", "L", "Nope"];
            let target = names
                .get(target)
                .map_or(ExternalTarget::Won, |n| ExternalTarget::Stage(n.to_lowercase()));
            let step = advance(&d, &p, &target, now()).expect("advance");
            let rank = |id| p.stages.iter().position(|s| s.id == id);
            match (&target, step) {
                (ExternalTarget::Won, Step::Move(n)) => {
                    prop_assert!(won && d.status == DealStatus::Open);
                    prop_assert_eq!(n.status, DealStatus::Won);
                }
                (ExternalTarget::Won, Step::Stay(r)) => {
                    let expected = if !won {
                        UnchangedReason::NoWonStage { pipeline: p.id, pipeline_name: "P".into() }
                    } else {
                        UnchangedReason::DealClosed { status: d.status }
                    };
                    prop_assert_eq!(r, expected);
                    prop_assert!(!won || d.status != DealStatus::Open);
                }
                (ExternalTarget::Stage(name), step) => {
                    let stage = p.stage_named(name);
                    match step {
                        Step::Move(n) => {
                            let s = stage.expect("moved to an existing stage");
                            prop_assert!(!s.is_closed() && d.status == DealStatus::Open);
                            prop_assert!(rank(s.id) > rank(d.stage_id), "forward only");
                            prop_assert_eq!(n.stage_id, s.id);
                            prop_assert_eq!(n.status, DealStatus::Open);
                        }
                        Step::Stay(r) => {
                            let expected = match stage {
                                None => UnchangedReason::StageNotFound {
                                    stage: name.clone(),
                                    pipeline: p.id,
                                    pipeline_name: "P".into(),
                                },
                                Some(s) if s.is_closed() => UnchangedReason::ClosedStage {
                                    stage: s.name.clone(),
                                    pipeline: p.id,
                                },
                                Some(_) if d.status != DealStatus::Open => {
                                    UnchangedReason::DealClosed { status: d.status }
                                }
                                Some(s) => {
                                    prop_assert!(rank(s.id) <= rank(d.stage_id));
                                    UnchangedReason::AtOrPastStage {
                                        stage: s.name.clone(),
                                        current: p.stage(d.stage_id).expect("stage").name.clone(),
                                    }
                                }
                            };
                            prop_assert_eq!(r, expected);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn pipeline_mappings_override_kind_by_kind() {
        let t = TenantId::new();
        let (p, q) = (crate::id::PipelineId::new(), crate::id::PipelineId::new());
        let mut s = TenantSettings::defaults(t, now());
        s.pipeline_external_mappings = vec![PipelineExternalMapping {
            pipeline: p,
            mapping: vec![(
                ExternalEventKind::QuoteSent,
                ExternalTarget::Stage("Quoted".into()),
            )],
        }];
        let config = CrmConfig::default();
        let quote = ExternalEventKind::QuoteSent;
        let paid = ExternalEventKind::InvoicePaid;
        assert_eq!(
            target_for(&s, &config, p, quote),
            Some(ExternalTarget::Stage("Quoted".into()))
        );
        assert_eq!(
            target_for(&s, &config, q, quote),
            Some(ExternalTarget::Stage("Proposal".into())),
            "other pipelines keep the default"
        );
        assert_eq!(
            target_for(&s, &config, p, paid),
            Some(ExternalTarget::Won),
            "kinds the pipeline does not map fall back"
        );
        s.external_mapping = Some(vec![(quote, ExternalTarget::Stage("Offer".into()))]);
        assert_eq!(
            target_for(&s, &config, q, paid),
            None,
            "a tenant-wide mapping replaces the default as a whole"
        );
        assert_eq!(
            target_for(&s, &config, q, quote),
            Some(ExternalTarget::Stage("Offer".into()))
        );
    }
}
