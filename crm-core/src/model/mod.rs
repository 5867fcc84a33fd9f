//! The entities of the CRM domain, one module per aggregate.
//!
//! Every entity carries `id`, `tenant_id`, `version` (optimistic concurrency),
//! `created_at` and `updated_at`. Value types validate on construction; cross-field rules
//! are checked by [`crate::store::EntityRules::validate`], which the service runs before
//! every write.

mod activity;
mod attachment;
mod audit;
mod consent;
mod contact;
mod contact_point;
mod customer;
mod deal;
mod followup;
mod interaction;
mod lead;
mod location;
mod merge;
mod note;
mod owned_item;
mod pipeline;
mod settings;
mod tag;

pub use activity::*;
pub use attachment::*;
pub use audit::*;
pub use consent::*;
pub use contact::*;
pub use contact_point::*;
pub use customer::*;
pub use deal::*;
pub use followup::*;
pub use interaction::*;
pub use lead::*;
pub use location::*;
pub use merge::*;
pub use note::*;
pub use owned_item::*;
pub use pipeline::*;
pub use settings::*;
pub use tag::*;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{CrmError, Result};
use crate::id::{ContactId, CustomerId, DealId, LeadId};
use crate::store::{EntityKind, EntityRef};

/// How urgent something is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// Can wait.
    Low,
    /// Normal.
    #[default]
    Medium,
    /// Soon.
    High,
    /// Now.
    Urgent,
}

/// What a record (activity, interaction, note, follow-up, attachment) is about. Every link
/// that is set must point to an existing row of the same tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Links {
    /// The customer.
    pub customer_id: Option<CustomerId>,
    /// The contact person.
    pub contact_id: Option<ContactId>,
    /// The lead.
    pub lead_id: Option<LeadId>,
    /// The deal.
    pub deal_id: Option<DealId>,
}

impl Links {
    /// Links to a customer only.
    pub fn customer(id: CustomerId) -> Self {
        Self {
            customer_id: Some(id),
            ..Self::default()
        }
    }
    /// Links to a lead only.
    pub fn lead(id: LeadId) -> Self {
        Self {
            lead_id: Some(id),
            ..Self::default()
        }
    }
    /// Links to a deal only.
    pub fn deal(id: DealId) -> Self {
        Self {
            deal_id: Some(id),
            ..Self::default()
        }
    }
    /// Whether no link is set.
    pub fn is_empty(&self) -> bool {
        self.customer_id.is_none()
            && self.contact_id.is_none()
            && self.lead_id.is_none()
            && self.deal_id.is_none()
    }
    /// The references these links make.
    pub fn references(&self) -> Vec<EntityRef> {
        let mut v = Vec::new();
        if let Some(id) = self.customer_id {
            v.push(EntityRef::new(EntityKind::Customer, id.into()));
        }
        if let Some(id) = self.contact_id {
            v.push(EntityRef::new(EntityKind::Contact, id.into()));
        }
        if let Some(id) = self.lead_id {
            v.push(EntityRef::new(EntityKind::Lead, id.into()));
        }
        if let Some(id) = self.deal_id {
            v.push(EntityRef::new(EntityKind::Deal, id.into()));
        }
        v
    }
    /// Fails if no link is set.
    pub fn require_any(&self) -> Result<()> {
        if self.is_empty() {
            Err(CrmError::validation(
                "links",
                "must link to a customer, contact, lead or deal",
            ))
        } else {
            Ok(())
        }
    }
}

/// A filter on [`Links`]: every condition that is set must hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LinkFilter {
    /// Linked to this customer.
    pub customer_id: Option<CustomerId>,
    /// Linked to this contact.
    pub contact_id: Option<ContactId>,
    /// Linked to this lead.
    pub lead_id: Option<LeadId>,
    /// Linked to this deal.
    pub deal_id: Option<DealId>,
}

impl LinkFilter {
    /// Whether `links` satisfies the filter.
    pub fn matches(&self, links: &Links) -> bool {
        opt_eq(self.customer_id, links.customer_id)
            && opt_eq(self.contact_id, links.contact_id)
            && opt_eq(self.lead_id, links.lead_id)
            && opt_eq(self.deal_id, links.deal_id)
    }
    /// The most selective pinned link, for index use.
    pub fn parent(&self) -> Option<EntityRef> {
        self.deal_id
            .map(|id| EntityRef::new(EntityKind::Deal, id.into()))
            .or_else(|| {
                self.contact_id
                    .map(|id| EntityRef::new(EntityKind::Contact, id.into()))
            })
            .or_else(|| {
                self.lead_id
                    .map(|id| EntityRef::new(EntityKind::Lead, id.into()))
            })
            .or_else(|| {
                self.customer_id
                    .map(|id| EntityRef::new(EntityKind::Customer, id.into()))
            })
    }
}

/// `wanted` is unset, or equals `actual`.
pub(crate) fn opt_eq<T: PartialEq>(wanted: Option<T>, actual: Option<T>) -> bool {
    wanted.is_none_or(|w| actual == Some(w))
}

/// `wanted` is unset, or equals `actual`.
pub(crate) fn eq<T: PartialEq>(wanted: Option<T>, actual: T) -> bool {
    wanted.is_none_or(|w| actual == w)
}

/// `t` lies in the half-open range `[from, to)` (unset bounds are open).
pub(crate) fn in_range(
    t: DateTime<Utc>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> bool {
    from.is_none_or(|f| t >= f) && to.is_none_or(|e| t < e)
}

/// Fails if `end` is before `start`.
pub(crate) fn check_order<T: PartialOrd>(
    field: &str,
    start: Option<T>,
    end: Option<T>,
) -> Result<()> {
    match (start, end) {
        (Some(s), Some(e)) if e < s => Err(CrmError::validation(field, "end is before start")),
        _ => Ok(()),
    }
}

/// Fails if a JSON custom-fields value is not an object.
pub(crate) fn check_custom(v: &serde_json::Map<String, serde_json::Value>) -> Result<()> {
    for k in v.keys() {
        if k.trim().is_empty() {
            return Err(CrmError::validation(
                "custom_fields",
                "keys must not be empty",
            ));
        }
    }
    Ok(())
}

/// Free-form custom fields of an entity (a JSON object).
pub type CustomFields = serde_json::Map<String, serde_json::Value>;

/// A reference for an optional id as an [`EntityRef`].
pub(crate) fn opt_ref<I: Into<uuid::Uuid>>(kind: EntityKind, id: Option<I>) -> Option<EntityRef> {
    id.map(|i| EntityRef::new(kind, i.into()))
}

/// `Display` as the serde name (`ActivityStatus::InProgress` shows as `in_progress`), so a
/// state is spelled once: in messages and errors exactly as it is stored and serialised.
macro_rules! display_as_serde_name {
    ($($t:ty),* $(,)?) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match serde_json::to_value(self) {
                    Ok(serde_json::Value::String(name)) => f.write_str(&name),
                    _ => write!(f, "{self:?}"),
                }
            }
        }
    )*};
}

display_as_serde_name!(
    ActivityKind,
    ActivityStatus,
    AuditOperation,
    Channel,
    ContactPointKind,
    CustomerKind,
    CustomerStatus,
    DealStatus,
    FollowUpOrigin,
    FollowUpStatus,
    InteractionDirection,
    LeadStatus,
    LifecycleStage,
    MergeAction,
    OwnedItemKind,
    Sentiment,
    crate::store::ExternalEventKind,
);

#[cfg(test)]
mod display_tests {
    use super::*;

    #[test]
    fn states_display_as_their_serde_names() {
        assert_eq!(ActivityStatus::InProgress.to_string(), "in_progress");
        assert_eq!(DealStatus::Won.to_string(), "won");
        assert_eq!(
            crate::store::ExternalEventKind::QuoteSent.to_string(),
            "quote_sent"
        );
        for s in [
            LeadStatus::New,
            LeadStatus::Contacted,
            LeadStatus::Qualified,
            LeadStatus::Converted,
            LeadStatus::Disqualified,
            LeadStatus::Lost,
        ] {
            assert_eq!(
                serde_json::to_value(s).expect("json"),
                serde_json::Value::String(s.to_string())
            );
        }
    }
}
