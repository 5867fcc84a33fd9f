//! The traits every stored entity implements, and the type-erased [`Record`].

use chrono::{DateTime, Utc};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::fmt::{self, Debug, Display};
use std::hash::Hash;
use uuid::Uuid;

use super::page::SortValue;
use crate::error::Result;
use crate::id::{TagId, TenantId};
use crate::model::*;

/// Rules a store must enforce for an entity, and the entity's own validation.
pub trait EntityRules {
    /// Checks the entity's own fields and cross-field rules (no store access).
    fn validate(&self) -> Result<()>;

    /// Rows this entity refers to; each must exist in the same tenant when the entity is
    /// written, and a referenced row cannot be deleted while this one exists.
    fn references(&self) -> Vec<EntityRef> {
        Vec::new()
    }

    /// Keys that must be unique among the tenant's entities of this kind (a unique index in
    /// SQL), each under a stable name of [`super::keys`] (what `AlreadyExists.key` reports).
    fn unique_keys(&self) -> Vec<super::UniqueKey> {
        Vec::new()
    }
}

/// A typed filter over one entity type.
///
/// `matches` evaluates the plain-field conditions; the relational conditions (`tag`,
/// `text`) are answered by the store from its indexes, with the semantics documented on
/// each filter struct.
pub trait EntityFilter<E>: Default + Clone + Debug + Send + Sync + 'static {
    /// Whether `entity` satisfies the plain-field part of the filter.
    fn matches(&self, entity: &E) -> bool;
    /// Checks the filter's own values (a bounded search text, no NUL in text values), with
    /// a [`crate::CrmError::Validation`] naming the filter field. Every store calls it
    /// before reading, through [`super::ListQuery::validate`] for lists and directly for
    /// counts, so all stores refuse the same filters.
    fn validate(&self) -> Result<()> {
        Ok(())
    }
    /// Only entities carrying this tag.
    fn tag(&self) -> Option<TagId> {
        None
    }
    /// Only entities whose search document contains every term of this text
    /// (see [`crate::search`]).
    fn text(&self) -> Option<&str> {
        None
    }
    /// A row every match refers to (e.g. the customer of contacts), so a store can use its
    /// reference index instead of a scan.
    fn parent(&self) -> Option<EntityRef> {
        None
    }
}

/// A sort order over one entity type.
pub trait SortKey<E>: Copy + Debug + Default + Send + Sync + 'static {
    /// A stable name (written into cursors, used as a column hint by SQL stores).
    fn name(&self) -> &'static str;
    /// The value to sort by (ties are broken by id).
    fn value(&self, entity: &E) -> SortValue;
}

/// Implemented by every stored entity type.
pub trait Entity:
    EntityRules + Clone + Debug + PartialEq + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// Which kind this is.
    const KIND: EntityKind;
    /// The typed id.
    type Id: Copy + Eq + Hash + Debug + Display + Send + Sync + From<Uuid> + Into<Uuid> + 'static;
    /// The list filter.
    type Filter: EntityFilter<Self>;
    /// The list orders.
    type Sort: SortKey<Self>;

    /// The id.
    fn id(&self) -> Self::Id;
    /// The owning tenant.
    fn tenant_id(&self) -> TenantId;
    /// The optimistic-concurrency version (1 on insert, +1 on each update).
    fn version(&self) -> u64;
    /// Sets the version (used by [`super::ChangeSet::update`]).
    fn set_version(&mut self, version: u64);
    /// When the entity was created.
    fn created_at(&self) -> DateTime<Utc>;
    /// When the entity was last updated.
    fn updated_at(&self) -> DateTime<Utc>;
    /// Sets the last-update time.
    fn touch(&mut self, now: DateTime<Utc>);
    /// Wraps into a [`Record`].
    fn into_record(self) -> Record;
    /// Unwraps from a [`Record`] of the right kind.
    fn from_record(record: Record) -> Option<Self>;
    /// Borrows from a [`Record`] of the right kind.
    fn from_record_ref(record: &Record) -> Option<&Self>;
    /// This entity as a reference.
    fn entity_ref(&self) -> EntityRef {
        EntityRef::new(Self::KIND, self.id().into())
    }
}

/// A reference to any entity: its kind and id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntityRef {
    /// The kind of entity.
    pub kind: EntityKind,
    /// Its id.
    pub id: Uuid,
}

impl EntityRef {
    /// A reference to `kind` with `id`.
    pub const fn new(kind: EntityKind, id: Uuid) -> Self {
        Self { kind, id }
    }
}

impl Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.id)
    }
}

macro_rules! records {
    ([] $($variant:ident => $name:ident),* $(,)?) => {
        /// Every kind of stored entity.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum EntityKind {
            $(
                #[doc = concat!("A [`", stringify!($variant), "`].")]
                $variant,
            )*
        }

        impl EntityKind {
            /// All kinds, in declaration order.
            pub const ALL: &'static [EntityKind] = &[$(EntityKind::$variant),*];

            /// The snake_case name (also the table name in SQL stores).
            pub const fn name(self) -> &'static str {
                match self {
                    $(EntityKind::$variant => stringify!($name),)*
                }
            }

            /// The Rust type name, which is also the variant tag a [`Record`] serialises
            /// with (`{ "Customer": { ... } }`).
            pub const fn type_name(self) -> &'static str {
                match self {
                    $(EntityKind::$variant => stringify!($variant),)*
                }
            }
        }

        /// Any stored entity, type-erased (what a [`super::ChangeSet`] carries).
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[allow(clippy::large_enum_variant)]
        pub enum Record {
            $(
                #[doc = concat!("A [`", stringify!($variant), "`].")]
                $variant($variant),
            )*
        }

        impl Record {
            /// The kind of the wrapped entity.
            pub fn kind(&self) -> EntityKind {
                match self {
                    $(Record::$variant(_) => EntityKind::$variant,)*
                }
            }
            /// The wrapped entity's id.
            pub fn id(&self) -> Uuid {
                match self {
                    $(Record::$variant(e) => e.id().into(),)*
                }
            }
            /// The wrapped entity's reference.
            pub fn entity_ref(&self) -> EntityRef {
                EntityRef::new(self.kind(), self.id())
            }
            /// The wrapped entity's tenant.
            pub fn tenant_id(&self) -> TenantId {
                match self {
                    $(Record::$variant(e) => e.tenant_id(),)*
                }
            }
            /// The wrapped entity's last update time.
            pub fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
                match self {
                    $(Record::$variant(e) => e.updated_at(),)*
                }
            }
            /// The wrapped entity's version.
            pub fn version(&self) -> u64 {
                match self {
                    $(Record::$variant(e) => e.version(),)*
                }
            }
            /// Sets the wrapped entity's version.
            pub fn set_version(&mut self, version: u64) {
                match self {
                    $(Record::$variant(e) => e.set_version(version),)*
                }
            }
            /// The wrapped entity's validation.
            pub fn validate(&self) -> Result<()> {
                match self {
                    $(Record::$variant(e) => e.validate(),)*
                }
            }
            /// The wrapped entity's references.
            pub fn references(&self) -> Vec<EntityRef> {
                match self {
                    $(Record::$variant(e) => e.references(),)*
                }
            }
            /// The wrapped entity's unique keys.
            pub fn unique_keys(&self) -> Vec<super::UniqueKey> {
                match self {
                    $(Record::$variant(e) => e.unique_keys(),)*
                }
            }
        }
    };
}

/// The one list of entity kinds: expands to `$callback! { [$args] Customer => customer,
/// Contact => contact, ... }` (the type, then its snake_case name, which is also
/// [`EntityKind::name`] and the SQL table), with whatever tokens follow the callback's name
/// passed through in brackets. [`EntityKind`], [`Record`], the [`super::CrmStore`] bounds,
/// the merge's version table, crm-sql's record dispatch and the conformance suite's
/// per-kind lists all expand from it, so adding an entity is its module plus one line here.
/// The callback is a `macro_rules!` macro in scope where this is invoked, and the entity
/// types must be in scope there too.
#[macro_export]
macro_rules! for_each_entity {
    ($callback:ident $(, $($args:tt)*)?) => {
        $callback! {
            [$($($args)*)?]
                Customer => customer,
                Contact => contact,
                ContactPoint => contact_point,
                Location => location,
                Consent => consent,
                Lead => lead,
                Pipeline => pipeline,
                Deal => deal,
                StageChange => stage_change,
                Activity => activity,
                Interaction => interaction,
                Note => note,
                Tag => tag,
                TagAssignment => tag_assignment,
                FollowUp => follow_up,
                OwnedItem => owned_item,
                Attachment => attachment,
                TenantSettings => tenant_settings,
                MergeRecord => merge_record,
                AuditEntry => audit_entry
        }
    };
}

crate::for_each_entity!(records);

impl Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Implements [`Entity`] for a model struct with the standard metadata fields
/// (`id`, `tenant_id`, `version`, `created_at`, `updated_at`).
macro_rules! impl_entity {
    ($ty:ident, $id:ty, $filter:ty, $sort:ty) => {
        impl $crate::store::Entity for $ty {
            const KIND: $crate::store::EntityKind = $crate::store::EntityKind::$ty;
            type Id = $id;
            type Filter = $filter;
            type Sort = $sort;
            fn id(&self) -> $id {
                self.id
            }
            fn tenant_id(&self) -> $crate::id::TenantId {
                self.tenant_id
            }
            fn version(&self) -> u64 {
                self.version
            }
            fn set_version(&mut self, version: u64) {
                self.version = version;
            }
            fn created_at(&self) -> chrono::DateTime<chrono::Utc> {
                self.created_at
            }
            fn updated_at(&self) -> chrono::DateTime<chrono::Utc> {
                self.updated_at
            }
            fn touch(&mut self, now: chrono::DateTime<chrono::Utc>) {
                self.updated_at = now;
            }
            fn into_record(self) -> $crate::store::Record {
                $crate::store::Record::$ty(self)
            }
            fn from_record(record: $crate::store::Record) -> Option<Self> {
                match record {
                    $crate::store::Record::$ty(e) => Some(e),
                    _ => None,
                }
            }
            fn from_record_ref(record: &$crate::store::Record) -> Option<&Self> {
                match record {
                    $crate::store::Record::$ty(e) => Some(e),
                    _ => None,
                }
            }
        }
    };
}
pub(crate) use impl_entity;
