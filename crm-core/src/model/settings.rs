//! Per-tenant settings of the sales process.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{CrmError, Result};
use crate::id::{PipelineId, TenantId, TenantSettingsId};
use crate::model::DealStatus;
use crate::store::{impl_entity, EntityFilter, EntityRules, ExternalEventKind, SortKey, SortValue};
use crate::values::require_text;

/// Where an external event takes a deal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExternalTarget {
    /// The open stage with this name (case-insensitive) in the deal's pipeline; a deal is
    /// only moved forward, never back.
    Stage(String),
    /// Win the deal.
    Won,
    /// Record the event (a replay of its id is a duplicate) and leave the deal as it is:
    /// how a tenant says it knows about a kind and does not want it to move deals (the
    /// outcome is [`UnchangedReason::Ignored`], not a mapping problem).
    Ignore,
}

/// Why an external event left its deal where it was. Problems of the mapping
/// ([`UnchangedReason::is_mapping_problem`]: not mapped, stage not found, closed stage, no
/// won stage) are reported before the deal's state, so a mapping that can never apply to a
/// pipeline shows up on the first event, whatever the deal's state. It is also carried by
/// the outbox's `ExternalEventReceived` (serialised tagged by `reason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
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
    /// The mapping says to ignore the kind ([`ExternalTarget::Ignore`]).
    Ignored {
        /// The event's kind.
        kind: ExternalEventKind,
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

impl UnchangedReason {
    /// Whether the reason is a problem of the mapping (the event kind is not mapped, or its
    /// target cannot apply to the deal's pipeline) rather than of the deal's state or an
    /// explicit ignore. Such an event does not claim its id: once the mapping is fixed, the
    /// host resends it and it applies.
    pub fn is_mapping_problem(&self) -> bool {
        matches!(
            self,
            Self::NotMapped { .. }
                | Self::StageNotFound { .. }
                | Self::ClosedStage { .. }
                | Self::NoWonStage { .. }
        )
    }
}

impl std::fmt::Display for UnchangedReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotMapped { kind } => write!(f, "event kind {kind} is not mapped"),
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
            Self::Ignored { kind } => write!(f, "event kind {kind} is mapped to be ignored"),
            Self::DealClosed { status } => write!(f, "the deal is closed ({status})"),
            Self::AtOrPastStage { stage, current } if stage == current => {
                write!(f, "the deal is already in {stage:?}")
            }
            Self::AtOrPastStage { stage, current } => {
                write!(f, "the deal is in {current:?}, past {stage:?}")
            }
        }
    }
}

/// How external events advance the deals of one pipeline: entries override the
/// tenant-wide mapping ([`TenantSettings::external_mapping`], else the service's) kind by
/// kind for that pipeline's deals; kinds not listed here fall back to it. This is how a
/// custom pipeline whose stages are not named like the default mapping's ("Proposal",
/// "Negotiation") is mapped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineExternalMapping {
    /// The pipeline whose deals this maps.
    pub pipeline: PipelineId,
    /// Event kind -> target for that pipeline's deals (each kind at most once).
    pub mapping: Vec<(ExternalEventKind, ExternalTarget)>,
}

/// Default grace period, in hours, after which a pending follow-up past due expires.
pub const DEFAULT_FOLLOW_UP_GRACE_HOURS: u32 = 72;

/// A tenant's settings (at most one per tenant; [`crate::Crm::tenant_settings`] returns
/// the defaults until one is saved).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TenantSettings {
    /// Id.
    pub id: TenantSettingsId,
    /// Owning tenant.
    pub tenant_id: TenantId,
    /// Optimistic-concurrency version.
    pub version: u64,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last update time.
    pub updated_at: DateTime<Utc>,
    /// Reasons a deal may be lost for; empty allows any reason.
    pub lost_reasons: Vec<String>,
    /// Hours past due after which a pending follow-up expires.
    pub follow_up_grace_hours: u32,
    /// How external events advance deals, tenant-wide (each kind at most once); `None`
    /// uses the service's mapping ([`crate::CrmConfig::external_mapping`], else
    /// [`crate::default_external_mapping`]). When saved changed, every stage it names must be
    /// an open stage of at least one of the tenant's pipelines (see
    /// [`crate::Crm::save_tenant_settings`]).
    pub external_mapping: Option<Vec<(ExternalEventKind, ExternalTarget)>>,
    /// Per-pipeline overrides of the mapping (each pipeline at most once); see
    /// [`PipelineExternalMapping`]. When saved changed, each pipeline must be the tenant's
    /// and each stage an open stage of that pipeline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pipeline_external_mappings: Vec<PipelineExternalMapping>,
    /// The duplicate-detection model trained on this tenant's records (by the first scan
    /// or lookup), reused by later ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedupe_model: Option<crate::dedupe::Model>,
}

impl TenantSettings {
    /// The defaults: any lost reason, a 72-hour grace period, the default mapping.
    pub fn defaults(tenant: TenantId, now: DateTime<Utc>) -> Self {
        Self {
            id: TenantSettingsId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            lost_reasons: Vec::new(),
            follow_up_grace_hours: DEFAULT_FOLLOW_UP_GRACE_HOURS,
            external_mapping: None,
            pipeline_external_mappings: Vec::new(),
            dedupe_model: None,
        }
    }

    /// Whether `reason` is allowed as a lost reason (case-insensitive match against the
    /// list; any non-empty reason when the list is empty).
    pub fn allows_lost_reason(&self, reason: &str) -> bool {
        self.lost_reasons.is_empty()
            || self
                .lost_reasons
                .iter()
                .any(|r| r.eq_ignore_ascii_case(reason.trim()))
    }
}

impl EntityRules for TenantSettings {
    fn validate(&self) -> Result<()> {
        for (i, r) in self.lost_reasons.iter().enumerate() {
            require_text(&format!("lost_reasons[{i}]"), r)?;
        }
        if self.follow_up_grace_hours > 24 * 365 {
            return Err(CrmError::validation(
                "follow_up_grace_hours",
                "longer than a year",
            ));
        }
        Ok(())
    }
    fn unique_keys(&self) -> Vec<crate::store::UniqueKey> {
        vec![crate::store::UniqueKey::new(
            crate::store::keys::TENANT_SETTINGS_SINGLETON,
            "",
        )]
    }
}

/// Filter for tenant settings (there is at most one row per tenant).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TenantSettingsFilter {}

impl EntityFilter<TenantSettings> for TenantSettingsFilter {
    fn matches(&self, _: &TenantSettings) -> bool {
        true
    }
}

/// Order of tenant settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TenantSettingsSort {
    /// Creation time.
    #[default]
    CreatedAt,
}

impl SortKey<TenantSettings> for TenantSettingsSort {
    fn name(&self) -> &'static str {
        "created_at"
    }
    fn value(&self, s: &TenantSettings) -> SortValue {
        SortValue::Time(s.created_at)
    }
}

impl_entity!(
    TenantSettings,
    TenantSettingsId,
    TenantSettingsFilter,
    TenantSettingsSort
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn older_settings_and_reasons_read() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let s = TenantSettings::defaults(TenantId::new(), now);
        // Settings saved before per-pipeline mappings existed still read.
        let mut json = serde_json::to_value(&s).expect("json");
        json.as_object_mut()
            .expect("object")
            .remove("pipeline_external_mappings");
        let old: TenantSettings = serde_json::from_value(json).expect("old settings");
        assert!(old.pipeline_external_mappings.is_empty());
        let reason = UnchangedReason::StageNotFound {
            stage: "Proposal".into(),
            pipeline: PipelineId::new(),
            pipeline_name: "Service".into(),
        };
        let json = serde_json::to_value(&reason).expect("json");
        assert_eq!(json["reason"], "stage_not_found");
        assert_eq!(
            serde_json::from_value::<UnchangedReason>(json).expect("back"),
            reason
        );
        assert!(reason.is_mapping_problem());
        let ignored = UnchangedReason::Ignored {
            kind: ExternalEventKind::QuoteSent,
        };
        assert!(!ignored.is_mapping_problem());
        assert_eq!(
            serde_json::to_value(ExternalTarget::Ignore).expect("json"),
            "ignore"
        );
    }
}
