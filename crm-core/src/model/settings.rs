//! Per-tenant settings of the sales process.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{CrmError, Result};
use crate::id::{PipelineId, TenantId, TenantSettingsId};
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
        if let Some(m) = &self.external_mapping {
            check_mapping("external_mapping", m)?;
        }
        for (i, pm) in self.pipeline_external_mappings.iter().enumerate() {
            let field = format!("pipeline_external_mappings[{i}]");
            if self.pipeline_external_mappings[..i]
                .iter()
                .any(|o| o.pipeline == pm.pipeline)
            {
                return Err(CrmError::validation(
                    format!("{field}.pipeline"),
                    format!("pipeline {} is mapped twice", pm.pipeline),
                ));
            }
            check_mapping(&format!("{field}.mapping"), &pm.mapping)?;
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

/// Checks one mapping on its own (no store): stage names are not empty and each event kind
/// is mapped at most once (a second entry would silently shadow the first). `field` names
/// the mapping, e.g. `external_mapping`.
fn check_mapping(field: &str, mapping: &[(ExternalEventKind, ExternalTarget)]) -> Result<()> {
    for (i, (kind, target)) in mapping.iter().enumerate() {
        if mapping[..i].iter().any(|(k, _)| k == kind) {
            return Err(CrmError::validation(
                format!("{field}[{i}].kind"),
                format!("{kind:?} is mapped twice"),
            ));
        }
        if let ExternalTarget::Stage(name) = target {
            require_text(&format!("{field}[{i}].stage"), name)?;
        }
    }
    Ok(())
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

    fn field(s: &TenantSettings) -> Option<String> {
        match s.validate() {
            Err(CrmError::Validation { field, .. }) => Some(field),
            Err(other) => panic!("unexpected {other}"),
            Ok(()) => None,
        }
    }

    #[test]
    fn mappings_name_each_kind_and_pipeline_once() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let mut s = TenantSettings::defaults(TenantId::new(), now);
        let quote = ExternalEventKind::QuoteSent;
        let stage = |n: &str| ExternalTarget::Stage(n.into());
        s.external_mapping = Some(vec![(quote, stage("A")), (quote, ExternalTarget::Won)]);
        assert_eq!(field(&s).as_deref(), Some("external_mapping[1].kind"));
        s.external_mapping = Some(vec![(quote, stage(" "))]);
        assert_eq!(field(&s).as_deref(), Some("external_mapping[0].stage"));
        s.external_mapping = Some(vec![(quote, stage("A"))]);
        assert_eq!(field(&s), None);
        let p = PipelineId::new();
        s.pipeline_external_mappings = vec![
            PipelineExternalMapping {
                pipeline: p,
                mapping: vec![(quote, stage("A"))],
            },
            PipelineExternalMapping {
                pipeline: PipelineId::new(),
                mapping: vec![(quote, stage("B")), (quote, stage("C"))],
            },
        ];
        assert_eq!(
            field(&s).as_deref(),
            Some("pipeline_external_mappings[1].mapping[1].kind")
        );
        s.pipeline_external_mappings[1].pipeline = p;
        assert_eq!(
            field(&s).as_deref(),
            Some("pipeline_external_mappings[1].pipeline")
        );
        s.pipeline_external_mappings.pop();
        assert_eq!(field(&s), None);
        // Settings saved before per-pipeline mappings existed still read.
        let mut json = serde_json::to_value(&s).expect("json");
        json.as_object_mut()
            .expect("object")
            .remove("pipeline_external_mappings");
        let old: TenantSettings = serde_json::from_value(json).expect("old settings");
        assert!(old.pipeline_external_mappings.is_empty());
    }
}
