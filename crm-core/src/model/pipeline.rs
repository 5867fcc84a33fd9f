//! Pipelines: the ordered stages deals move through.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

use super::eq;
use crate::error::{CrmError, Result};
use crate::id::{PipelineId, StageId, TenantId};
use crate::store::{impl_entity, EntityFilter, EntityRules, SortKey, SortValue};
use crate::values::{require_text, Percent};

/// One stage of a pipeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stage {
    /// Id (unique within the pipeline; new ids are random UUID v7).
    pub id: StageId,
    /// Name (unique within the pipeline).
    pub name: String,
    /// Win probability of deals in this stage.
    pub probability: Percent,
    /// Deals here are won.
    pub closed_won: bool,
    /// Deals here are lost.
    pub closed_lost: bool,
    /// Deals idle here longer than this many days are rotting.
    pub rotting_days: Option<u32>,
    /// Display colour (`#rrggbb`).
    pub colour: Option<String>,
}

impl Stage {
    /// An open stage with a win probability.
    pub fn open(name: &str, probability: u8) -> Result<Self> {
        Ok(Self {
            id: StageId::new(),
            name: name.trim().to_string(),
            probability: Percent::new(i64::from(probability), "probability")?,
            closed_won: false,
            closed_lost: false,
            rotting_days: None,
            colour: None,
        })
    }
    /// The closed-won stage (probability 100).
    pub fn won(name: &str) -> Self {
        Self {
            id: StageId::new(),
            name: name.trim().to_string(),
            probability: Percent::HUNDRED,
            closed_won: true,
            closed_lost: false,
            rotting_days: None,
            colour: None,
        }
    }
    /// The closed-lost stage (probability 0).
    pub fn lost(name: &str) -> Self {
        Self {
            id: StageId::new(),
            name: name.trim().to_string(),
            probability: Percent::ZERO,
            closed_won: false,
            closed_lost: true,
            rotting_days: None,
            colour: None,
        }
    }
    /// Whether deals in this stage are closed.
    pub fn is_closed(&self) -> bool {
        self.closed_won || self.closed_lost
    }
}

/// A sales pipeline: an ordered list of stages.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// Id.
    pub id: PipelineId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Name (unique per tenant, case-insensitive).
    pub name: String,
    /// The stages in order.
    pub stages: Vec<Stage>,
    /// The tenant's default pipeline (at most one).
    pub is_default: bool,
}

impl Pipeline {
    /// A pipeline with the given stages.
    pub fn new(
        tenant: TenantId,
        name: &str,
        stages: Vec<Stage>,
        now: DateTime<Utc>,
    ) -> Result<Self> {
        let p = Self {
            id: PipelineId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            name: name.trim().to_string(),
            stages,
            is_default: false,
        };
        p.validate()?;
        Ok(p)
    }

    /// The standard pipeline: Prospecting 10, Qualification 25, Proposal 50,
    /// Negotiation 75, Closed Won 100, Closed Lost 0.
    pub fn standard(tenant: TenantId, now: DateTime<Utc>) -> Result<Self> {
        let stages = vec![
            Stage::open("Prospecting", 10)?,
            Stage::open("Qualification", 25)?,
            Stage::open("Proposal", 50)?,
            Stage::open("Negotiation", 75)?,
            Stage::won("Closed Won"),
            Stage::lost("Closed Lost"),
        ];
        let mut p = Self::new(tenant, "Sales", stages, now)?;
        p.is_default = true;
        Ok(p)
    }

    /// The stage with this id.
    pub fn stage(&self, id: StageId) -> Option<&Stage> {
        self.stages.iter().find(|s| s.id == id)
    }
    /// The stage with this name (case-insensitive).
    pub fn stage_named(&self, name: &str) -> Option<&Stage> {
        self.stages
            .iter()
            .find(|s| s.name.eq_ignore_ascii_case(name))
    }
    /// The first open stage.
    pub fn first_open_stage(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| !s.is_closed())
    }
    /// The closed-won stage, if the pipeline has one.
    pub fn won_stage(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.closed_won)
    }
    /// The closed-lost stage, if the pipeline has one.
    pub fn lost_stage(&self) -> Option<&Stage> {
        self.stages.iter().find(|s| s.closed_lost)
    }
}

impl EntityRules for Pipeline {
    fn validate(&self) -> Result<()> {
        require_text("name", &self.name)?;
        if self.stages.is_empty() {
            return Err(CrmError::validation(
                "stages",
                "a pipeline needs at least one stage",
            ));
        }
        let mut ids = HashSet::new();
        let mut names = HashSet::new();
        let (mut won, mut lost) = (0, 0);
        for (i, s) in self.stages.iter().enumerate() {
            let f = |x: &str| format!("stages[{i}].{x}");
            require_text(&f("name"), &s.name)?;
            if !ids.insert(s.id) {
                return Err(CrmError::validation(f("id"), "duplicate stage id"));
            }
            if !names.insert(s.name.to_lowercase()) {
                return Err(CrmError::validation(
                    f("name"),
                    format!("duplicate stage name {:?}", s.name),
                ));
            }
            if s.closed_won && s.closed_lost {
                return Err(CrmError::validation(
                    f("closed_lost"),
                    "a stage cannot be both won and lost",
                ));
            }
            if s.closed_won {
                won += 1;
                if s.probability != Percent::HUNDRED {
                    return Err(CrmError::validation(
                        f("probability"),
                        "a won stage has probability 100",
                    ));
                }
            }
            if s.closed_lost {
                lost += 1;
                if s.probability != Percent::ZERO {
                    return Err(CrmError::validation(
                        f("probability"),
                        "a lost stage has probability 0",
                    ));
                }
            }
            if let Some(c) = &s.colour {
                let ok = c.len() == 7
                    && c.starts_with('#')
                    && c[1..].chars().all(|ch| ch.is_ascii_hexdigit());
                if !ok {
                    return Err(CrmError::validation(f("colour"), "must be #rrggbb"));
                }
            }
        }
        if won > 1 || lost > 1 {
            return Err(CrmError::validation(
                "stages",
                "at most one won and one lost stage",
            ));
        }
        if self.first_open_stage().is_none() {
            return Err(CrmError::validation(
                "stages",
                "a pipeline needs an open stage",
            ));
        }
        Ok(())
    }
    fn unique_keys(&self) -> Vec<crate::store::UniqueKey> {
        use crate::store::{keys, UniqueKey};
        let mut k = vec![UniqueKey::new(
            keys::PIPELINE_NAME,
            self.name.to_lowercase(),
        )];
        if self.is_default {
            k.push(UniqueKey::new(keys::PIPELINE_DEFAULT, ""));
        }
        k
    }
}

/// Filter for pipelines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PipelineFilter {
    /// Default or not.
    pub is_default: Option<bool>,
}

impl EntityFilter<Pipeline> for PipelineFilter {
    fn matches(&self, p: &Pipeline) -> bool {
        eq(self.is_default, p.is_default)
    }
}

/// Orders for pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PipelineSort {
    /// Creation time.
    #[default]
    CreatedAt,
    /// Name, case-insensitive.
    Name,
}

impl SortKey<Pipeline> for PipelineSort {
    fn name(&self) -> &'static str {
        match self {
            PipelineSort::CreatedAt => "created_at",
            PipelineSort::Name => "name",
        }
    }
    fn value(&self, p: &Pipeline) -> SortValue {
        match self {
            PipelineSort::CreatedAt => SortValue::Time(p.created_at),
            PipelineSort::Name => SortValue::text_ci(Some(&p.name)),
        }
    }
}

impl_entity!(Pipeline, PipelineId, PipelineFilter, PipelineSort);
