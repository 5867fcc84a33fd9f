//! The deal state machine.
//!
//! A deal is `open` in one of its pipeline's open stages, or closed: `won` in the won stage
//! (probability 100) or `lost` in the lost stage (probability 0). [`transition`] is the only
//! way its stage or status changes; it is pure (no store, explicit `now`) so every store
//! enforces exactly the same rules, and property tests drive it directly.

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::StageId;
use crate::model::{Deal, DealStatus, Pipeline, Stage};
use crate::values::{optional_text, require_text, Percent};

/// A requested change of a deal's stage or status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DealTransition {
    /// Move an open deal to another open stage of its pipeline. The probability follows the
    /// stage unless it was set by hand (`probability_manual`), which is kept.
    MoveTo(StageId),
    /// Close the deal as won: it moves to the pipeline's won stage with probability 100.
    Win {
        /// Why it was won.
        reason: Option<String>,
    },
    /// Close the deal as lost: it moves to the pipeline's lost stage with probability 0.
    Lose {
        /// Why it was lost (required).
        reason: String,
        /// The competitor that won it.
        competitor: Option<String>,
        /// Free notes.
        notes: Option<String>,
    },
    /// Reopen a won or lost deal into an open stage (the first open stage if `None`).
    Reopen(Option<StageId>),
}

fn status_name(s: DealStatus) -> &'static str {
    match s {
        DealStatus::Open => "open",
        DealStatus::Won => "won",
        DealStatus::Lost => "lost",
    }
}

fn refuse(from: impl Into<String>, to: impl Into<String>, reason: impl Into<String>) -> CrmError {
    CrmError::InvalidTransition {
        from: from.into(),
        to: to.into(),
        reason: reason.into(),
    }
}

/// The open stage `id` of `pipeline`, or why it cannot be entered.
fn open_stage<'p>(deal: &Deal, pipeline: &'p Pipeline, id: StageId) -> Result<&'p Stage> {
    let stage = pipeline.stage(id).ok_or_else(|| {
        refuse(
            status_name(deal.status),
            id.to_string(),
            "the stage belongs to another pipeline",
        )
    })?;
    if stage.is_closed() {
        return Err(refuse(
            status_name(deal.status),
            stage.name.clone(),
            "a closed stage is entered by winning or losing the deal",
        ));
    }
    Ok(stage)
}

/// Applies `t` to `deal` (in `pipeline`, which must be the deal's pipeline), returning the
/// new state, or `InvalidTransition` (nothing changes) when the state machine forbids it.
/// Entering a stage stamps `stage_entered_at = now`; closing sets `closed_at = now`.
pub fn transition(
    deal: &Deal,
    pipeline: &Pipeline,
    t: &DealTransition,
    now: DateTime<Utc>,
) -> Result<Deal> {
    if pipeline.id != deal.pipeline_id {
        return Err(refuse(
            status_name(deal.status),
            pipeline.name.clone(),
            "the pipeline is not the deal's pipeline",
        ));
    }
    let mut d = deal.clone();
    match t {
        DealTransition::MoveTo(id) => {
            if deal.status != DealStatus::Open {
                let to = pipeline
                    .stage(*id)
                    .map_or(id.to_string(), |s| s.name.clone());
                return Err(refuse(
                    status_name(deal.status),
                    to,
                    "a closed deal must be reopened first",
                ));
            }
            let stage = open_stage(deal, pipeline, *id)?;
            if stage.id != deal.stage_id {
                d.stage_id = stage.id;
                d.stage_entered_at = now;
                if !d.probability_manual {
                    d.probability = stage.probability;
                }
            }
        }
        DealTransition::Win { reason } => {
            if deal.status != DealStatus::Open {
                return Err(refuse(
                    status_name(deal.status),
                    "won",
                    "only an open deal can be won",
                ));
            }
            optional_text("won_reason", reason.as_deref())?;
            let won = pipeline.won_stage().ok_or_else(|| {
                refuse(
                    "open",
                    "won",
                    format!("pipeline {:?} has no won stage", pipeline.name),
                )
            })?;
            d.status = DealStatus::Won;
            d.stage_id = won.id;
            d.stage_entered_at = now;
            d.probability = Percent::HUNDRED;
            d.closed_at = Some(now);
            d.won_reason = reason.clone();
        }
        DealTransition::Lose {
            reason,
            competitor,
            notes,
        } => {
            if deal.status != DealStatus::Open {
                return Err(refuse(
                    status_name(deal.status),
                    "lost",
                    "only an open deal can be lost",
                ));
            }
            require_text("lost_reason", reason)?;
            optional_text("lost_to_competitor", competitor.as_deref())?;
            let lost = pipeline.lost_stage().ok_or_else(|| {
                refuse(
                    "open",
                    "lost",
                    format!("pipeline {:?} has no lost stage", pipeline.name),
                )
            })?;
            d.status = DealStatus::Lost;
            d.stage_id = lost.id;
            d.stage_entered_at = now;
            d.probability = Percent::ZERO;
            d.closed_at = Some(now);
            d.lost_reason = Some(reason.trim().to_string());
            d.lost_to_competitor = competitor.clone();
            d.lost_notes = notes.clone();
        }
        DealTransition::Reopen(target) => {
            if deal.status == DealStatus::Open {
                return Err(refuse("open", "open", "the deal is not closed"));
            }
            let stage = match target {
                Some(id) => open_stage(deal, pipeline, *id)?,
                None => pipeline.first_open_stage().ok_or_else(|| {
                    refuse(
                        status_name(deal.status),
                        "open",
                        "the pipeline has no open stage",
                    )
                })?,
            };
            d.status = DealStatus::Open;
            d.stage_id = stage.id;
            d.stage_entered_at = now;
            d.closed_at = None;
            d.won_reason = None;
            d.lost_reason = None;
            d.lost_to_competitor = None;
            d.lost_notes = None;
            // Closing forced the probability to 0 or 100, so a hand-set value is gone: the
            // reopened deal follows its stage again.
            d.probability = stage.probability;
            d.probability_manual = false;
        }
    }
    Ok(d)
}

/// Checks that `deal` is a state the machine can produce in `pipeline`: its stage belongs
/// to the pipeline, its status matches the stage (won stage: won, lost stage: lost, other:
/// open), and a closed deal has probability 100 (won) or 0 (lost).
pub fn check_state(deal: &Deal, pipeline: &Pipeline) -> Result<()> {
    let stage = pipeline
        .stage(deal.stage_id)
        .ok_or_else(|| CrmError::validation("stage_id", "not a stage of the deal's pipeline"))?;
    let expected = if stage.closed_won {
        DealStatus::Won
    } else if stage.closed_lost {
        DealStatus::Lost
    } else {
        DealStatus::Open
    };
    if deal.status != expected {
        return Err(CrmError::validation(
            "status",
            format!(
                "stage {:?} means status {}",
                stage.name,
                status_name(expected)
            ),
        ));
    }
    crate::store::EntityRules::validate(deal)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Money;
    use crate::TenantId;
    use proptest::prelude::*;

    fn pipeline() -> Pipeline {
        Pipeline::standard(TenantId::new(), DateTime::from_timestamp(0, 0).unwrap()).unwrap()
    }

    fn other_pipeline(tenant: TenantId) -> Pipeline {
        Pipeline::new(
            tenant,
            "Other",
            vec![Stage::open("X", 33).unwrap()],
            DateTime::from_timestamp(0, 0).unwrap(),
        )
        .unwrap()
    }

    /// Builds transition number `kind` (0..4) with stage index `stage` into the pipeline's
    /// stages, where index `stages.len()` is a stage of a foreign pipeline.
    fn build(
        kind: u8,
        stage: usize,
        p: &Pipeline,
        foreign: StageId,
        text: &str,
        opt: bool,
    ) -> DealTransition {
        let id = p.stages.get(stage).map_or(foreign, |s| s.id);
        match kind {
            0 => DealTransition::MoveTo(id),
            1 => DealTransition::Win {
                reason: opt.then(|| text.to_string()),
            },
            2 => DealTransition::Lose {
                reason: text.to_string(),
                competitor: opt.then(|| "rival".to_string()),
                notes: None,
            },
            _ => DealTransition::Reopen(opt.then_some(id)),
        }
    }

    proptest! {
        /// Any sequence of transitions, accepted or refused, leaves the deal in a valid
        /// state: stage of its pipeline, status matching the stage, closed deals at 0/100,
        /// open deals without close time, a hand-set probability kept while open; a refused
        /// transition changes nothing.
        #[test]
        fn random_transitions_keep_the_deal_valid(
            steps in proptest::collection::vec((0u8..4, 0usize..7, "[a-z ]{0,6}", any::<bool>(), any::<bool>(), 1i64..1000), 1..40),
        ) {
            let p = pipeline();
            let foreign = other_pipeline(p.tenant_id).stages[0].id;
            let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
            let first = p.first_open_stage().unwrap().id;
            let mut deal = Deal::new(p.tenant_id, "D", &p, first, Money::new(500, "EUR").unwrap(), start).unwrap();
            let mut now = start;
            for (kind, stage, text, opt, manual, secs) in steps {
                now += chrono::Duration::seconds(secs);
                if manual && deal.status == DealStatus::Open {
                    deal.probability = Percent::new(42, "p").unwrap();
                    deal.probability_manual = true;
                }
                let t = build(kind, stage, &p, foreign, &text, opt);
                match transition(&deal, &p, &t, now) {
                    Ok(next) => {
                        check_state(&next, &p).unwrap();
                        match next.status {
                            DealStatus::Won => prop_assert_eq!(next.probability, Percent::HUNDRED),
                            DealStatus::Lost => prop_assert_eq!(next.probability, Percent::ZERO),
                            DealStatus::Open => {
                                prop_assert!(next.closed_at.is_none());
                                if next.probability_manual {
                                    prop_assert_eq!(next.probability.get(), 42);
                                }
                            }
                        }
                        if let DealTransition::MoveTo(id) = t {
                            prop_assert_ne!(id, foreign);
                        }
                        deal = next;
                    }
                    Err(e) => {
                        prop_assert!(
                            matches!(e, CrmError::InvalidTransition { .. } | CrmError::Validation { .. }),
                            "{}", e
                        );
                    }
                }
                check_state(&deal, &p).unwrap();
            }
        }
    }

    #[test]
    fn closed_deals_must_be_reopened() {
        let p = pipeline();
        let now = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let d = Deal::new(
            p.tenant_id,
            "D",
            &p,
            p.stages[0].id,
            Money::new(1, "EUR").unwrap(),
            now,
        )
        .unwrap();
        let won = transition(&d, &p, &DealTransition::Win { reason: None }, now).unwrap();
        let e = transition(&won, &p, &DealTransition::MoveTo(p.stages[1].id), now).unwrap_err();
        assert!(matches!(e, CrmError::InvalidTransition { ref from, .. } if from == "won"));
        let back = transition(&won, &p, &DealTransition::Reopen(None), now).unwrap();
        assert_eq!(
            (back.status, back.stage_id, back.probability.get()),
            (DealStatus::Open, p.stages[0].id, 10)
        );
    }
}
