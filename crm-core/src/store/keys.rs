//! Stable names of the unique keys every store enforces.
//!
//! A unique violation is reported as [`crate::CrmError::AlreadyExists`] whose `key` is one
//! of these names, the same in every store (the memory store's index, SQLite's and
//! PostgreSQL's unique indexes all map to them), so a host can match on it:
//!
//! | name | unique among the tenant's ... |
//! | --- | --- |
//! | `<kind>.id` (e.g. `customer.id`) | rows of that kind: the id ([`id_key`]) |
//! | `customer.external_ref` | customers: the host ERP's reference |
//! | `contact.primary` | contacts of one customer: the primary one |
//! | `contact_point.primary` | contact points of one owner and kind: the primary one |
//! | `location.primary` | locations of one customer: the primary one |
//! | `consent.subject` | consent records: one per customer or contact |
//! | `pipeline.name` | pipelines: the name, case-insensitive |
//! | `pipeline.default` | pipelines: the default one |
//! | `tag.name` | tags: the name, case-insensitive |
//! | `tag_assignment.target` | tag assignments: one per tag and target |
//! | `tenant_settings.singleton` | settings: one row per tenant |
//! | `event.external_id` | outbox events: the external event id |

use super::EntityKind;

/// `customer.external_ref`: a customer's external reference.
pub const CUSTOMER_EXTERNAL_REF: &str = "customer.external_ref";
/// `contact.primary`: the one primary contact of a customer.
pub const CONTACT_PRIMARY: &str = "contact.primary";
/// `contact_point.primary`: the one primary contact point per owner and kind.
pub const CONTACT_POINT_PRIMARY: &str = "contact_point.primary";
/// `location.primary`: the one primary location of a customer.
pub const LOCATION_PRIMARY: &str = "location.primary";
/// `consent.subject`: one consent record per customer or contact.
pub const CONSENT_SUBJECT: &str = "consent.subject";
/// `pipeline.name`: pipeline names, case-insensitive.
pub const PIPELINE_NAME: &str = "pipeline.name";
/// `pipeline.default`: the one default pipeline.
pub const PIPELINE_DEFAULT: &str = "pipeline.default";
/// `tag.name`: tag names, case-insensitive.
pub const TAG_NAME: &str = "tag.name";
/// `tag_assignment.target`: one assignment per tag and target.
pub const TAG_ASSIGNMENT_TARGET: &str = "tag_assignment.target";
/// `tenant_settings.singleton`: one settings row per tenant.
pub const TENANT_SETTINGS_SINGLETON: &str = "tenant_settings.singleton";
/// `event.external_id`: the external id of an outbox event (its violation is reported as
/// [`crate::CrmError::DuplicateExternalEvent`], not as `AlreadyExists`).
pub const EVENT_EXTERNAL_ID: &str = "event.external_id";

/// The key name of a duplicate id of `kind`: `<kind>.id`.
pub fn id_key(kind: EntityKind) -> String {
    format!("{}.id", kind.name())
}

/// A value that must be unique among the tenant's entities of one kind, under one of the
/// stable names of this module.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UniqueKey {
    /// The key's stable name (e.g. [`CUSTOMER_EXTERNAL_REF`]).
    pub name: &'static str,
    /// The value that must be unique under that name.
    pub value: String,
}

impl UniqueKey {
    /// The key `name` with `value`.
    pub fn new(name: &'static str, value: impl Into<String>) -> Self {
        Self {
            name,
            value: value.into(),
        }
    }
}

impl std::fmt::Display for UniqueKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} = {:?}", self.name, self.value)
    }
}
