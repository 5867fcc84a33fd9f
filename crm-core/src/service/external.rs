//! External events fed back by the host (quotes, orders, invoices) that advance deals.
//!
//! Which target an event kind has for a deal is resolved per pipeline: the deal's
//! pipeline's entry in [`TenantSettings::pipeline_external_mappings`], else the tenant-wide
//! mapping ([`TenantSettings::external_mapping`]), else the service's
//! ([`crate::CrmConfig::external_mapping`]), else [`default_external_mapping`]. A tenant-wide
//! mapping replaces the service's as a whole (a kind it does not list is not mapped); a
//! per-pipeline mapping overrides kind by kind. An event that cannot move its deal is
//! answered with [`ExternalOutcome::Unchanged`] and says why ([`UnchangedReason`]); it is
//! recorded (its id claimed) unless the reason is a problem of the mapping, so a resend
//! after the mapping is fixed applies. A changed mapping entry that names a stage no
//! pipeline has is refused when the settings are saved, and
//! [`crate::Deals::external_mapping_problems`] lists every pipeline x kind whose mapping in effect
//! cannot apply (after a stage was renamed or removed, or for the default mapping in a
//! custom pipeline).

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::{Actor, DealId, PipelineId};
use crate::model::{
    Deal, DealStatus, ExternalTarget, Pipeline, PipelineFilter, Stage, TenantSettings,
    UnchangedReason,
};
use crate::pipeline::{check_state, transition, DealTransition};
use crate::store::{ChangeSet, CrmStore, DomainEvent, Entity, ExternalEventKind, NewEvent};

use super::{Crm, CrmConfig, Deals};

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

/// A pipeline x event kind whose mapping in effect cannot apply, from
/// [`crate::Deals::external_mapping_problems`]: an event of that kind for a deal of that pipeline
/// would be answered with `reason` (and would not claim its id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingProblem {
    /// The pipeline.
    pub pipeline: PipelineId,
    /// Its name.
    pub pipeline_name: String,
    /// The event kind.
    pub kind: ExternalEventKind,
    /// Why its target cannot apply (a reason for which
    /// [`UnchangedReason::is_mapping_problem`] holds).
    pub reason: UnchangedReason,
}

/// What an event does to a deal.
enum Step {
    /// It moves to this state (boxed: a deal is large next to a reason).
    Move(Box<Deal>),
    /// It stays, for this reason.
    Stay(UnchangedReason),
}

/// What a mapping target means in one pipeline.
enum Resolved<'a> {
    /// Leave the deal.
    Ignore,
    /// Win it.
    Win,
    /// Move it to this open stage.
    Stage(&'a Stage),
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

/// What `target` (the mapping of `kind`, if any) means in `pipeline`, or the mapping
/// problem that keeps it from applying there.
fn resolve<'a>(
    pipeline: &'a Pipeline,
    kind: ExternalEventKind,
    target: Option<&ExternalTarget>,
) -> std::result::Result<Resolved<'a>, UnchangedReason> {
    match target {
        None => Err(UnchangedReason::NotMapped { kind }),
        Some(ExternalTarget::Ignore) => Ok(Resolved::Ignore),
        Some(ExternalTarget::Won) => match pipeline.won_stage() {
            Some(_) => Ok(Resolved::Win),
            None => Err(UnchangedReason::NoWonStage {
                pipeline: pipeline.id,
                pipeline_name: pipeline.name.clone(),
            }),
        },
        Some(ExternalTarget::Stage(name)) => match pipeline.stage_named(name.trim()) {
            None => Err(UnchangedReason::StageNotFound {
                stage: name.trim().to_string(),
                pipeline: pipeline.id,
                pipeline_name: pipeline.name.clone(),
            }),
            Some(stage) if stage.is_closed() => Err(UnchangedReason::ClosedStage {
                stage: stage.name.clone(),
                pipeline: pipeline.id,
            }),
            Some(stage) => Ok(Resolved::Stage(stage)),
        },
    }
}

impl<S: CrmStore + ?Sized> Crm<S> {
    /// Checks the external mappings of `settings` against the tenant's pipelines, for
    /// [`Crm::save_tenant_settings`]. Only entries that differ from the stored settings
    /// are checked (see [`mapping_entry_problems`] for the rules), so saving other settings
    /// (or a duplicate-detection model) keeps working after a stage was renamed, and an
    /// entry stored before these checks existed (a kind mapped twice, say) does not block
    /// saves that leave it alone; [`crate::Deals::external_mapping_problems`] lists such entries.
    /// A tenant without pipelines yet is checked against [`Pipeline::standard`], which
    /// [`crate::Pipelines::ensure_default`] creates on first use.
    pub(crate) async fn check_external_mappings(
        &self,
        actor: &Actor,
        settings: &TenantSettings,
        now: DateTime<Utc>,
    ) -> Result<()> {
        crate::store::EntityRules::validate(settings)?;
        let stored = self.tenant_settings(actor, now).await?;
        if settings.external_mapping == stored.external_mapping
            && settings.pipeline_external_mappings == stored.pipeline_external_mappings
        {
            return Ok(());
        }
        let mut pipelines = self
            .list_all::<Pipeline>(actor, PipelineFilter::default())
            .await?;
        if pipelines.is_empty() {
            pipelines.push(Pipeline::standard(actor.tenant, now)?);
        }
        match mapping_entry_problems(settings, &stored, &pipelines)
            .into_iter()
            .next()
        {
            Some((field, reason)) => Err(CrmError::validation(field, reason)),
            None => Ok(()),
        }
    }
}

/// The problems of the mapping entries of `settings` that are new or changed against
/// `stored` (field path and reason, in order), checked against the tenant's `pipelines`:
///
/// - `external_mapping[i]`: its kind appears once (`.kind`); its stage is not empty and an
///   open stage of at least one pipeline (`.stage`; a tenant-wide mapping serves pipelines
///   with different stages, so "every pipeline" would make custom pipelines unmappable:
///   those are mapped per pipeline); a won target needs a won stage in some pipeline
///   (`.target`).
/// - `pipeline_external_mappings[i]`: its pipeline appears once and is one of the tenant's
///   (`.pipeline`); its `mapping[j]` follows the same rules against that pipeline alone.
///
/// An entry equal to a stored one (same kind and target, of the same pipeline) is not
/// checked again, and neither is a pipeline's mapping equal to the stored one.
fn mapping_entry_problems(
    settings: &TenantSettings,
    stored: &TenantSettings,
    pipelines: &[Pipeline],
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(m) = &settings.external_mapping {
        let old = stored.external_mapping.as_deref().unwrap_or_default();
        entries_problems(m, old, pipelines, "external_mapping", &mut out);
    }
    let pms = &settings.pipeline_external_mappings;
    let is_new = |i: usize| is_new_entry(pms, i, &stored.pipeline_external_mappings);
    for (i, pm) in pms.iter().enumerate() {
        let field = format!("pipeline_external_mappings[{i}]");
        let twice = pms[..i]
            .iter()
            .enumerate()
            .any(|(k, o)| o.pipeline == pm.pipeline && (is_new(i) || is_new(k)));
        if !twice && !is_new(i) {
            continue;
        }
        let old = stored
            .pipeline_external_mappings
            .iter()
            .find(|o| o.pipeline == pm.pipeline);
        if twice {
            out.push((
                format!("{field}.pipeline"),
                format!("pipeline {} is mapped twice", pm.pipeline),
            ));
            continue;
        }
        let Some(pipeline) = pipelines.iter().find(|p| p.id == pm.pipeline) else {
            out.push((
                format!("{field}.pipeline"),
                format!("{} is not a pipeline of the tenant", pm.pipeline),
            ));
            continue;
        };
        let old = old.map_or(&[][..], |o| &o.mapping[..]);
        entries_problems(
            &pm.mapping,
            old,
            std::slice::from_ref(pipeline),
            &format!("{field}.mapping"),
            &mut out,
        );
    }
    out
}

/// The problems of the entries of `mapping` not in `old` (see [`mapping_entry_problems`]);
/// `field` names the mapping.
fn entries_problems(
    mapping: &[(ExternalEventKind, ExternalTarget)],
    old: &[(ExternalEventKind, ExternalTarget)],
    pipelines: &[Pipeline],
    field: &str,
    out: &mut Vec<(String, String)>,
) {
    let is_new = |i: usize| is_new_entry(mapping, i, old);
    for (i, (kind, target)) in mapping.iter().enumerate() {
        let twice = mapping[..i]
            .iter()
            .enumerate()
            .any(|(k, (other, _))| other == kind && (is_new(i) || is_new(k)));
        if twice {
            out.push((
                format!("{field}[{i}].kind"),
                format!("{kind} is mapped twice"),
            ));
        } else if is_new(i) {
            if let Some(problem) = target_problem(target, pipelines, &format!("{field}[{i}]")) {
                out.push(problem);
            }
        }
    }
}

/// Whether `list[i]` is new against `old`: counting equal entries, it is one more than `old`
/// holds (so a copy of an unchanged entry is new, and the original is not).
fn is_new_entry<T: PartialEq>(list: &[T], i: usize, old: &[T]) -> bool {
    let copies = list[..=i].iter().filter(|e| **e == list[i]).count();
    copies > old.iter().filter(|e| **e == list[i]).count()
}

/// Why `target` cannot apply to a deal of any of `pipelines`, if so; `field` is the mapping
/// entry's path (`.stage` or `.target` is appended).
fn target_problem(
    target: &ExternalTarget,
    pipelines: &[Pipeline],
    field: &str,
) -> Option<(String, String)> {
    let names = || {
        pipelines
            .iter()
            .map(|p| format!("{:?}", p.name))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match target {
        ExternalTarget::Ignore => None,
        ExternalTarget::Stage(name) => {
            let name = name.trim();
            if name.is_empty() {
                return Some((format!("{field}.stage"), "must not be empty".into()));
            }
            let stages = || pipelines.iter().filter_map(|p| p.stage_named(name));
            if stages().any(|s| !s.is_closed()) {
                return None;
            }
            let reason = if stages().next().is_some() {
                format!(
                    "{name:?} is a closed stage; a deal is closed by winning or losing it \
                     (map the event to won)"
                )
            } else {
                format!("no open stage named {name:?} in pipeline(s) {}", names())
            };
            Some((format!("{field}.stage"), reason))
        }
        ExternalTarget::Won => (!pipelines.iter().any(|p| p.won_stage().is_some())).then(|| {
            (
                format!("{field}.target"),
                format!("no won stage in pipeline(s) {}", names()),
            )
        }),
    }
}

/// What the mapping `target` of `kind` does to `deal` in `pipeline` (see
/// [`UnchangedReason`] for the order of the checks).
fn advance(
    deal: &Deal,
    pipeline: &Pipeline,
    kind: ExternalEventKind,
    target: Option<&ExternalTarget>,
    now: DateTime<Utc>,
) -> Result<Step> {
    let stay = |reason| Ok(Step::Stay(reason));
    let resolved = match resolve(pipeline, kind, target) {
        Err(reason) => return stay(reason),
        Ok(Resolved::Ignore) => return stay(UnchangedReason::Ignored { kind }),
        Ok(r) => r,
    };
    if deal.status != DealStatus::Open {
        return stay(UnchangedReason::DealClosed {
            status: deal.status,
        });
    }
    match resolved {
        Resolved::Stage(stage) => {
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
        }
        _ => transition(deal, pipeline, &DealTransition::Win { reason: None }, now),
    }
    .map(|d| Step::Move(Box::new(d)))
}

impl<S: CrmStore + ?Sized> Deals<'_, S> {
    /// Handles an external event: advances the deal per the mapping in effect for its
    /// pipeline and records the event id in the outbox in the same change set, so a replay
    /// of the same id (even a concurrent one) is a [`ExternalOutcome::Duplicate`] with no
    /// effect. An event that does not move the deal is answered with
    /// [`ExternalOutcome::Unchanged`] and its [`UnchangedReason`], and recorded with that
    /// reason; when the reason is a problem of the mapping
    /// ([`UnchangedReason::is_mapping_problem`]) the event does not claim its id, so the
    /// host can resend it once the mapping is fixed.
    ///
    /// The target of an event kind is the deal's pipeline's entry in
    /// [`TenantSettings::pipeline_external_mappings`] for that kind, else the tenant-wide
    /// [`TenantSettings::external_mapping`], else [`crate::CrmConfig::external_mapping`],
    /// else [`default_external_mapping`]. A tenant-wide mapping replaces the service's as a
    /// whole (a kind it does not list is not mapped); a per-pipeline mapping overrides it
    /// kind by kind.
    #[tracing::instrument(name = "deals.handle_external_event", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn handle_external_event(
        self,
        actor: &Actor,
        ev: &ExternalEvent,
        now: DateTime<Utc>,
    ) -> Result<ExternalOutcome> {
        let id = ev.id.trim();
        if id.is_empty() {
            return Err(CrmError::validation("id", "must not be empty"));
        }
        let deal = self.crm.get::<Deal>(actor, ev.deal).await?;
        let pipeline = self.crm.get::<Pipeline>(actor, deal.pipeline_id).await?;
        let settings = self.crm.tenant_settings(actor, now).await?;
        let target = target_for(&settings, self.crm.config(), pipeline.id, ev.kind);
        let step = advance(&deal, &pipeline, ev.kind, target.as_ref(), now)?;
        let (mut cs, unchanged) = match &step {
            Step::Move(new) => {
                let mut new = (**new).clone();
                new.touch(now);
                check_state(&new, &pipeline)?;
                (self.crm.transition_changes(actor, &deal, &new, now), None)
            }
            Step::Stay(reason) => (ChangeSet::new(), Some(reason.clone())),
        };
        let claims = !unchanged.as_ref().is_some_and(|r| r.is_mapping_problem());
        let mut received = NewEvent::new(
            deal.entity_ref(),
            now,
            DomainEvent::ExternalEventReceived {
                external_id: id.to_string(),
                kind: ev.kind,
                deal: deal.id,
                unchanged,
            },
        );
        if claims {
            received.external_id = Some(id.to_string());
        } else if self
            .crm
            .store()
            .external_id_claimed(actor.tenant, id)
            .await?
        {
            // A resend of an id that was handled before (and claimed) stays a duplicate,
            // whatever the mapping says now.
            return Ok(ExternalOutcome::Duplicate);
        }
        cs.push_emit(received);
        match self.crm.apply(actor, cs).await {
            Err(CrmError::DuplicateExternalEvent { .. }) => Ok(ExternalOutcome::Duplicate),
            Err(e) => Err(e),
            Ok(applied) => Ok(match step {
                Step::Move(mut new) => {
                    new.touch(now);
                    applied.stored(&mut *new)?;
                    ExternalOutcome::Advanced(*new)
                }
                Step::Stay(reason) => ExternalOutcome::Unchanged { deal, reason },
            }),
        }
    }

    /// Every pipeline x event kind of the tenant whose mapping in effect (see
    /// [`crate::Deals::handle_external_event`] for the order) cannot apply: the kind is not mapped,
    /// or its target names a stage the pipeline lacks (renamed or removed since, or the
    /// default mapping's "Proposal" in a custom pipeline), a closed stage, or "won" in a
    /// pipeline without a won stage. Kinds mapped to [`ExternalTarget::Ignore`] are not
    /// problems. Ordered by pipeline name, then kind.
    #[tracing::instrument(name = "deals.external_mapping_problems", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn external_mapping_problems(
        self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<MappingProblem>> {
        let settings = self.crm.tenant_settings(actor, now).await?;
        let mut pipelines = self
            .crm
            .list_all::<Pipeline>(actor, PipelineFilter::default())
            .await?;
        pipelines.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let mut out = Vec::new();
        for p in &pipelines {
            for kind in ExternalEventKind::ALL {
                let target = target_for(&settings, self.crm.config(), p.id, kind);
                if let Err(reason) = resolve(p, kind, target.as_ref()) {
                    out.push(MappingProblem {
                        pipeline: p.id,
                        pipeline_name: p.name.clone(),
                        kind,
                        reason,
                    });
                }
            }
        }
        Ok(out)
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
            target in 0usize..9,
        ) {
            let p = pipeline(won);
            let d = Deal::new(p.tenant_id, "D", &p, p.stages[at].id, Money::new(1, "EUR").expect("m"), now()).expect("deal");
            let d = match close {
                1 if won => transition(&d, &p, &DealTransition::Win { reason: None }, now()).expect("win"),
                2 => transition(&d, &p, &DealTransition::Lose { reason: "x".into(), competitor: None, notes: None }, now()).expect("lose"),
                _ => d,
            };
            let names = ["A", "B", "C", "W", "L", "Nope"];
            let kind = ExternalEventKind::QuoteSent;
            let target = match target {
                6 => Some(ExternalTarget::Won),
                7 => Some(ExternalTarget::Ignore),
                8 => None,
                i => Some(ExternalTarget::Stage(names[i].to_lowercase())),
            };
            let step = advance(&d, &p, kind, target.as_ref(), now()).expect("advance");
            let rank = |id| p.stages.iter().position(|s| s.id == id);
            let Some(target) = target else {
                prop_assert!(
                    matches!(&step, Step::Stay(UnchangedReason::NotMapped { kind: k }) if *k == kind),
                    "an unmapped kind is reported, whatever the deal's state"
                );
                return Ok(());
            };
            match (&target, step) {
                (ExternalTarget::Ignore, Step::Stay(r)) => {
                    prop_assert_eq!(r, UnchangedReason::Ignored { kind });
                }
                (ExternalTarget::Ignore, Step::Move(_)) => {
                    prop_assert!(false, "an ignored kind never moves a deal");
                }
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

    /// Only new or changed entries are checked: entries stored before the checks existed
    /// (a kind twice, a stage since renamed) do not block a save that leaves them alone,
    /// and a new entry clashing with an old one is caught.
    #[test]
    fn only_changed_mapping_entries_are_checked() {
        let t = TenantId::new();
        let p = pipeline(true);
        let q = pipeline(false);
        let stage = |n: &str| ExternalTarget::Stage(n.into());
        let (quote, order, paid) = (
            ExternalEventKind::QuoteSent,
            ExternalEventKind::OrderCreated,
            ExternalEventKind::InvoicePaid,
        );
        let mut stored = TenantSettings::defaults(t, now());
        stored.external_mapping = Some(vec![(quote, stage("A")), (quote, stage("Gone"))]);
        stored.pipeline_external_mappings = vec![
            PipelineExternalMapping {
                pipeline: p.id,
                mapping: vec![(quote, stage("Renamed"))],
            },
            PipelineExternalMapping {
                pipeline: q.id,
                mapping: vec![(quote, stage("B"))],
            },
        ];
        let pipelines = [p.clone(), q.clone()];
        let fields = |s: &TenantSettings| -> Vec<String> {
            mapping_entry_problems(s, &stored, &pipelines)
                .into_iter()
                .map(|(f, _)| f)
                .collect()
        };
        assert!(
            fields(&stored).is_empty(),
            "nothing changed, nothing checked"
        );
        let mut s = stored.clone();
        s.external_mapping
            .as_mut()
            .expect("m")
            .push((paid, ExternalTarget::Won));
        s.pipeline_external_mappings[1]
            .mapping
            .push((order, stage("C")));
        assert!(fields(&s).is_empty(), "new good entries next to stale ones");
        s.external_mapping
            .as_mut()
            .expect("m")
            .push((quote, stage("B")));
        s.pipeline_external_mappings[1]
            .mapping
            .push((paid, ExternalTarget::Won));
        assert_eq!(
            fields(&s),
            [
                "external_mapping[3].kind",
                "pipeline_external_mappings[1].mapping[2].target"
            ]
        );
        let mut s = stored.clone();
        s.pipeline_external_mappings[0].mapping = vec![(quote, stage("w"))];
        s.pipeline_external_mappings
            .push(s.pipeline_external_mappings[1].clone());
        s.pipeline_external_mappings.push(PipelineExternalMapping {
            pipeline: crate::id::PipelineId::new(),
            mapping: vec![(quote, ExternalTarget::Ignore)],
        });
        assert_eq!(
            fields(&s),
            [
                "pipeline_external_mappings[0].mapping[0].stage",
                "pipeline_external_mappings[2].pipeline",
                "pipeline_external_mappings[3].pipeline"
            ],
            "a closed stage, a pipeline mapped twice, a pipeline not the tenant's"
        );
        // Against nothing stored, every entry is checked.
        let fresh = TenantSettings::defaults(t, now());
        let all: Vec<String> = mapping_entry_problems(&stored, &fresh, &pipelines)
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            all,
            [
                "external_mapping[1].kind",
                "pipeline_external_mappings[0].mapping[0].stage"
            ]
        );
        let mut empty = stored.clone();
        empty.external_mapping = Some(vec![(quote, stage(" "))]);
        assert_eq!(fields(&empty), ["external_mapping[0].stage"]);
    }
}
