//! The storage contract.
//!
//! Reads go through [`EntityRead<E>`], one read trait per aggregate (instantiated for every
//! entity type), and all writes go through one method, [`CrmStore::apply`], which applies a
//! [`ChangeSet`] atomically. Stores only store: every business rule lives in
//! [`crate::Crm`]. What a store must enforce is exactly what a SQL schema would:
//! tenant scoping, optimistic versions, unique keys ([`EntityRules::unique_keys`]) and
//! references ([`EntityRules::references`]). How a change set is checked and applied is
//! decided once, in [`protocol::apply`]: a store only offers the primitives of
//! [`protocol::WriteTx`] over its transaction.

mod changeset;
mod entity;
mod event;
pub mod keys;
mod page;
pub mod protocol;
pub mod storable;

pub use changeset::{Applied, Change, ChangeSet};
pub(crate) use entity::impl_entity;
pub use entity::{Entity, EntityFilter, EntityKind, EntityRef, EntityRules, Record, SortKey};
pub use event::{DomainEvent, ExternalEventKind, NewEvent, StoredEvent};
pub use keys::UniqueKey;
pub use page::{paginate, Cursor, Direction, ListQuery, Page, SortValue, MAX_PAGE_SIZE};
pub use storable::{check_storable, check_time, MAX_DEPTH, MAX_VERSION, MAX_YEAR, MIN_YEAR};

use async_trait::async_trait;

use crate::error::Result;
use crate::id::TenantId;
use crate::model::*;

/// Typed reads of one aggregate. Every method is scoped to `tenant`: an id that exists only
/// in another tenant reads as absent.
#[async_trait]
pub trait EntityRead<E: Entity>: Send + Sync {
    /// The entity with this id in this tenant, if any.
    async fn get(&self, tenant: TenantId, id: E::Id) -> Result<Option<E>>;

    /// The entities of this tenant among `ids`, in id order, each once; ids that do not
    /// exist (or exist only in another tenant) are left out. The default reads them one by
    /// one; the SQL stores read them in one transaction with a statement per 1,000 ids.
    async fn get_many(&self, tenant: TenantId, ids: &[E::Id]) -> Result<Vec<E>> {
        let ids = distinct_ids(ids);
        let mut found = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(e) = self.get(tenant, id.into()).await? {
                found.push(e);
            }
        }
        Ok(found)
    }

    /// One page of the tenant's entities that match the query's filter, in the query's
    /// order (ties broken by id), after the query's cursor.
    async fn list(&self, tenant: TenantId, query: &ListQuery<E>) -> Result<Page<E>>;

    /// How many of the tenant's entities match `filter`.
    async fn count(&self, tenant: TenantId, filter: &E::Filter) -> Result<u64>;
}

/// Declares [`CrmStore`] with an [`EntityRead`] bound per entity kind (from
/// [`crate::for_each_entity`]).
macro_rules! crm_store_trait {
    ([] $($variant:ident => $name:ident),* $(,)?) => {
        /// A complete store: reads for every aggregate (one [`EntityRead`] per entity
        /// kind) plus the one atomic write path.
        ///
        /// Use it as `Arc<dyn CrmStore>` or as a generic parameter of [`crate::Crm`].
        #[async_trait]
        pub trait CrmStore: $(EntityRead<$variant> +)* Send + Sync + 'static
        {
            /// Applies every change of `changes` in order, atomically: either all of them are
            /// written or, on the first failure, none is and that failure is returned.
            ///
            /// Failures: [`crate::CrmError::Conflict`] for an update or delete whose expected
            /// version is stale, [`crate::CrmError::NotFound`] for an update or delete of a missing
            /// row or an insert referring to a missing row, [`crate::CrmError::AlreadyExists`] for a
            /// duplicate id or unique key, [`crate::CrmError::InUse`] for a delete of a row still
            /// referred to, [`crate::CrmError::Validation`] for a record of another tenant,
            /// [`crate::CrmError::DuplicateExternalEvent`] for an event whose external id the
            /// tenant's outbox already holds.
            async fn apply(&self, tenant: TenantId, changes: ChangeSet) -> Result<Applied>;

            /// Up to `limit` events of the tenant's outbox with a sequence number above `after`,
            /// in sequence order.
            async fn events_after(
                &self,
                tenant: TenantId,
                after: u64,
                limit: u32,
            ) -> Result<Vec<StoredEvent>>;

            /// Whether the tenant's outbox holds an event that claimed `external_id` (an event
            /// emitted with [`NewEvent::external_id`] set).
            async fn external_id_claimed(&self, tenant: TenantId, external_id: &str) -> Result<bool>;
        }
    };
}

crate::for_each_entity!(crm_store_trait);

/// `ids` as UUIDs, sorted and without repeats: the order [`EntityRead::get_many`] returns
/// rows in (and chunks of it are read in).
pub fn distinct_ids<I: Copy + Into<uuid::Uuid>>(ids: &[I]) -> Vec<uuid::Uuid> {
    let mut ids: Vec<uuid::Uuid> = ids.iter().map(|&id| id.into()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

/// Reads any entity type from any store without naming the trait instance:
/// `get::<Customer, _>(&store, tenant, id)`.
pub async fn get<E: Entity, S: EntityRead<E> + ?Sized>(
    store: &S,
    tenant: TenantId,
    id: E::Id,
) -> Result<Option<E>> {
    store.get(tenant, id).await
}
