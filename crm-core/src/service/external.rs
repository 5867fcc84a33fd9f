//! External events fed back by the host (quotes, orders, invoices) that advance deals.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::{Actor, DealId};
use crate::model::{Deal, DealStatus, ExternalTarget, Pipeline};
use crate::pipeline::{check_state, transition, DealTransition};
use crate::store::{ChangeSet, CrmStore, DomainEvent, Entity, ExternalEventKind, NewEvent};

use super::Crm;

/// The default mapping: quote sent -> Proposal, order created -> Negotiation, order
/// fulfilled or invoice paid -> won.
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
    /// The event was recorded but the deal did not move (already further, closed, or no
    /// such stage in its pipeline).
    Unchanged(Deal),
    /// The event id was handled before: nothing happened.
    Duplicate,
}

impl<S: CrmStore + ?Sized> Crm<S> {
    /// Handles an external event: advances the deal per the tenant's mapping
    /// ([`crate::TenantSettings::external_mapping`], else
    /// [`crate::CrmConfig::external_mapping`], else [`default_external_mapping`]) and
    /// records the event id in the outbox in the same change set, so a replay of the same
    /// id (even a concurrent one) is a [`ExternalOutcome::Duplicate`] with no effect.
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
        let mapping = match settings.external_mapping {
            Some(m) => m.into_iter().collect(),
            None => self
                .config()
                .external_mapping
                .clone()
                .unwrap_or_else(default_external_mapping),
        };
        let next = match mapping.get(&ev.kind) {
            Some(target) => advance(&deal, &pipeline, target, now)?,
            None => None,
        };
        let mut cs = match &next {
            Some(new) => {
                let mut new = new.clone();
                new.touch(now);
                check_state(&new, &pipeline)?;
                self.transition_changes(actor, &deal, &new, now)
            }
            None => ChangeSet::new(),
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
            Ok(_) => Ok(match next {
                Some(mut new) => {
                    new.touch(now);
                    new.version = deal.version + 1;
                    ExternalOutcome::Advanced(new)
                }
                None => ExternalOutcome::Unchanged(deal),
            }),
        }
    }
}

/// The deal after moving to `target`, or `None` when it stays (closed, already at or past
/// the stage, or no such stage).
fn advance(
    deal: &Deal,
    pipeline: &Pipeline,
    target: &ExternalTarget,
    now: DateTime<Utc>,
) -> Result<Option<Deal>> {
    if deal.status != DealStatus::Open {
        return Ok(None);
    }
    match target {
        ExternalTarget::Won => {
            if pipeline.won_stage().is_none() {
                return Ok(None);
            }
            transition(deal, pipeline, &DealTransition::Win { reason: None }, now).map(Some)
        }
        ExternalTarget::Stage(name) => {
            let rank = |id| pipeline.stages.iter().position(|s| s.id == id);
            let Some(stage) = pipeline.stage_named(name).filter(|s| !s.is_closed()) else {
                return Ok(None);
            };
            if rank(stage.id) <= rank(deal.stage_id) {
                return Ok(None);
            }
            transition(deal, pipeline, &DealTransition::MoveTo(stage.id), now).map(Some)
        }
    }
}
