//! Typed identifiers. Every id is a UUID v7 (time-ordered) wrapped in its own type so that a
//! contact id can never be passed where a customer id is expected.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

use crate::error::CrmError;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A fresh, time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
            /// Wraps an existing UUID.
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }
            /// The UUID inside.
            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }
            /// Parses the textual (hyphenated) form.
            pub fn parse(s: &str) -> Result<Self, CrmError> {
                Uuid::parse_str(s.trim())
                    .map(Self)
                    .map_err(|e| CrmError::validation($label, format!("not a uuid: {e}")))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl FromStr for $name {
            type Err = CrmError;
            fn from_str(s: &str) -> Result<Self, CrmError> {
                Self::parse(s)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

typed_id!(
    /// Identifies a tenant: the unit of isolation. Nothing crosses tenants.
    TenantId, "tenant_id"
);
typed_id!(
    /// Identifies a user of the host application (owner, assignee, author).
    UserId, "user_id"
);
typed_id!(
    /// Identifies a [`crate::model::Customer`].
    CustomerId, "customer_id"
);
typed_id!(
    /// Identifies a [`crate::model::Contact`].
    ContactId, "contact_id"
);
typed_id!(
    /// Identifies a [`crate::model::ContactPoint`].
    ContactPointId, "contact_point_id"
);
typed_id!(
    /// Identifies a [`crate::model::Location`].
    LocationId, "location_id"
);
typed_id!(
    /// Identifies a [`crate::model::Consent`] record.
    ConsentId, "consent_id"
);
typed_id!(
    /// Identifies a [`crate::model::Lead`].
    LeadId, "lead_id"
);
typed_id!(
    /// Identifies a [`crate::model::Pipeline`].
    PipelineId, "pipeline_id"
);
typed_id!(
    /// Identifies a [`crate::model::Stage`] inside a pipeline.
    StageId, "stage_id"
);
typed_id!(
    /// Identifies a [`crate::model::Deal`].
    DealId, "deal_id"
);
typed_id!(
    /// Identifies a [`crate::model::LineItem`] of a deal.
    LineItemId, "line_item_id"
);
typed_id!(
    /// Identifies a [`crate::model::StageChange`] (deal history row).
    StageChangeId, "stage_change_id"
);
typed_id!(
    /// Identifies an [`crate::model::Activity`].
    ActivityId, "activity_id"
);
typed_id!(
    /// Identifies an [`crate::model::Interaction`].
    InteractionId, "interaction_id"
);
typed_id!(
    /// Identifies a [`crate::model::Note`].
    NoteId, "note_id"
);
typed_id!(
    /// Identifies a [`crate::model::Tag`].
    TagId, "tag_id"
);
typed_id!(
    /// Identifies a [`crate::model::TagAssignment`].
    TagAssignmentId, "tag_assignment_id"
);
typed_id!(
    /// Identifies a [`crate::model::FollowUp`].
    FollowUpId, "follow_up_id"
);
typed_id!(
    /// Identifies an [`crate::model::OwnedItem`].
    OwnedItemId, "owned_item_id"
);
typed_id!(
    /// Identifies an [`crate::model::Attachment`].
    AttachmentId, "attachment_id"
);
typed_id!(
    /// Identifies a tenant's [`crate::model::TenantSettings`].
    TenantSettingsId, "tenant_settings_id"
);
typed_id!(
    /// Identifies a [`crate::model::MergeRecord`].
    MergeId, "merge_id"
);
typed_id!(
    /// Identifies an [`crate::model::AuditEntry`].
    AuditId, "audit_id"
);

/// A user acting on a tenant: who is calling the service, for scoping, authorship and
/// (later) permissions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// The tenant the actor works in; every call is scoped to it.
    pub tenant: TenantId,
    /// The acting user.
    pub user: UserId,
    /// Role names granted by the host (free-form; interpreted by later governance rules).
    pub roles: Vec<String>,
}

impl Actor {
    /// An actor with no roles.
    pub fn new(tenant: TenantId, user: UserId) -> Self {
        Self {
            tenant,
            user,
            roles: Vec::new(),
        }
    }
}
