//! # crm-store-memory
//!
//! A complete in-memory implementation of [`crm_core::store::CrmStore`], for tests, caches
//! and small hosts.
//!
//! - **Isolation**: data is partitioned per tenant; no method can reach another partition.
//! - **Indexes**: rows are kept per tenant and kind in ordered maps; a reverse-reference
//!   index answers "children of X" (contacts of a customer, activities of a deal, targets
//!   of a tag) and guards deletes; a unique-key index enforces the entities'
//!   [`crm_core::store::EntityRules::unique_keys`].
//! - **Atomicity**: a change set is applied under one write lock with an undo log; the
//!   first failing change rolls back the earlier ones before the lock is released, so no
//!   reader ever sees a partial change set.
//! - **Concurrency**: a `parking_lot::RwLock` is taken only inside synchronous sections and
//!   never held across an `.await`, so the store is safe to share between many tasks.
//! - **Search**: each customer's search document is kept current on every write to the
//!   customer, its contacts or its contact points, so a text filter is a substring scan.

//!
//! ```
//! use crm_core::store::{ChangeSet, CrmStore, EntityRead};
//! use crm_core::{Customer, TenantId};
//! use crm_store_memory::MemoryStore;
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let store = MemoryStore::new();
//! let tenant = TenantId::new();
//! let acme = Customer::company(tenant, "Acme", chrono::Utc::now()).unwrap();
//! store.apply(tenant, ChangeSet::new().insert(acme.clone())).await.unwrap();
//! let read = EntityRead::<Customer>::get(&store, tenant, acme.id).await.unwrap();
//! assert_eq!(read, Some(acme.clone()));
//! // Another tenant sees nothing.
//! assert_eq!(EntityRead::<Customer>::get(&store, TenantId::new(), acme.id).await.unwrap(), None);
//! # });
//! ```
#![warn(missing_docs)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::RwLock;
use uuid::Uuid;

use crm_core::search;
use crm_core::store::protocol::{self, Fault, Projection, RowLock, WriteResult, WriteTx};
use crm_core::store::{
    paginate, Applied, ChangeSet, CrmStore, Entity, EntityFilter, EntityKind, EntityRead,
    EntityRef, ListQuery, NewEvent, Page, Record, StoredEvent, UniqueKey,
};
use crm_core::{Result, TenantId};

/// The in-memory store. Cloning is cheap and shares the same data.
#[derive(Clone, Default)]
pub struct MemoryStore {
    inner: Arc<RwLock<HashMap<TenantId, Partition>>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of rows of all kinds in one tenant (for diagnostics and tests).
    pub fn row_count(&self, tenant: TenantId) -> usize {
        self.inner
            .read()
            .get(&tenant)
            .map(|p| p.tables.values().map(BTreeMap::len).sum())
            .unwrap_or(0)
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("tenants", &self.inner.read().len())
            .finish()
    }
}

/// One tenant's data and indexes.
#[derive(Default)]
struct Partition {
    /// Rows per kind, ordered by id.
    tables: HashMap<EntityKind, BTreeMap<Uuid, Record>>,
    /// Unique keys per kind -> owning row id.
    unique: HashMap<(EntityKind, UniqueKey), Uuid>,
    /// Referenced row -> rows referring to it.
    referrers: HashMap<EntityRef, HashSet<EntityRef>>,
    /// Derived rows per projection name and owner id ([`protocol::projections`]): the
    /// customer search documents, kept current by the write protocol.
    derived: HashMap<(&'static str, Uuid), String>,
    /// The outbox: event `seq` is at index `seq - 1`.
    events: Vec<StoredEvent>,
    /// External event ids already in the outbox.
    external_ids: HashSet<String>,
}

/// How to take back one applied change.
enum Undo {
    /// Remove a row that was inserted.
    Remove(EntityRef),
    /// Put back the previous state of an updated row.
    Restore(Record),
    /// Re-insert a deleted row.
    Reinsert(Record),
    /// Remove the last event of the outbox.
    PopEvent,
    /// Put back a derived row's previous state (`None`: it did not exist).
    Derived((&'static str, Uuid), Option<String>),
}

impl Partition {
    fn get(&self, r: EntityRef) -> Option<&Record> {
        self.tables.get(&r.kind).and_then(|t| t.get(&r.id))
    }

    fn exists(&self, r: EntityRef) -> bool {
        self.get(r).is_some()
    }

    fn index_add(&mut self, rec: &Record) {
        let me = rec.entity_ref();
        for key in rec.unique_keys() {
            self.unique.insert((me.kind, key), me.id);
        }
        for parent in rec.references() {
            self.referrers.entry(parent).or_default().insert(me);
        }
    }

    fn index_remove(&mut self, rec: &Record) {
        let me = rec.entity_ref();
        for key in rec.unique_keys() {
            let entry = (me.kind, key);
            if self.unique.get(&entry) == Some(&me.id) {
                self.unique.remove(&entry);
            }
        }
        for parent in rec.references() {
            if let Some(set) = self.referrers.get_mut(&parent) {
                set.remove(&me);
                if set.is_empty() {
                    self.referrers.remove(&parent);
                }
            }
        }
    }

    fn put(&mut self, rec: Record) {
        self.index_add(&rec);
        self.tables
            .entry(rec.kind())
            .or_default()
            .insert(rec.id(), rec);
    }

    fn take(&mut self, r: EntityRef) -> Option<Record> {
        let rec = self.tables.get_mut(&r.kind)?.remove(&r.id)?;
        self.index_remove(&rec);
        Some(rec)
    }

    /// What a unique index would refuse: a key of `rec` owned by another row.
    fn check_unique(&self, rec: &Record) -> WriteResult<()> {
        let me = rec.entity_ref();
        for key in rec.unique_keys() {
            let name = key.name;
            if let Some(owner) = self.unique.get(&(me.kind, key)) {
                if *owner != me.id {
                    return Err(Fault::Unique(Some(name.to_string())));
                }
            }
        }
        Ok(())
    }

    fn rollback(&mut self, undo: Vec<Undo>) {
        for u in undo.into_iter().rev() {
            match u {
                Undo::Remove(r) => {
                    self.take(r);
                }
                Undo::Restore(old) => {
                    self.take(old.entity_ref());
                    self.put(old);
                }
                Undo::Reinsert(old) => self.put(old),
                Undo::PopEvent => {
                    if let Some(e) = self.events.pop() {
                        if let Some(x) = &e.event.external_id {
                            self.external_ids.remove(x);
                        }
                    }
                }
                Undo::Derived(key, previous) => match previous {
                    Some(row) => {
                        self.derived.insert(key, row);
                    }
                    None => {
                        self.derived.remove(&key);
                    }
                },
            }
        }
    }

    /// Rows of kind `E` that may match `filter`, narrowed by the indexes.
    fn candidates<'a, E: Entity>(&'a self, filter: &E::Filter) -> Result<Vec<&'a E>> {
        let Some(table) = self.tables.get(&E::KIND) else {
            return Ok(Vec::new());
        };
        let mut rows: Vec<&E> = match filter.parent() {
            Some(parent) => self
                .referrers
                .get(&parent)
                .into_iter()
                .flatten()
                .filter(|r| r.kind == E::KIND)
                .filter_map(|r| table.get(&r.id))
                .filter_map(E::from_record_ref)
                .collect(),
            None => table.values().filter_map(E::from_record_ref).collect(),
        };
        if let Some(tag) = filter.tag() {
            let tagged: HashSet<Uuid> = self
                .referrers
                .get(&EntityRef::new(EntityKind::Tag, tag.into()))
                .into_iter()
                .flatten()
                .filter_map(|a| self.get(*a))
                .filter_map(|rec| match rec {
                    Record::TagAssignment(a) if a.target.kind == E::KIND => Some(a.target.id),
                    _ => None,
                })
                .collect();
            rows.retain(|e| tagged.contains(&e.id().into()));
        }
        if let Some(text) = filter.text() {
            let terms = search::query_terms(text)?;
            rows.retain(|e| {
                self.derived
                    .get(&(search::CUSTOMER_SEARCH.name, e.id().into()))
                    .is_some_and(|doc| search::matches(doc, &terms))
            });
        }
        Ok(rows)
    }
}

#[async_trait]
impl<E: Entity> EntityRead<E> for MemoryStore {
    #[tracing::instrument(name = "store.get", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND), err(level = "debug"))]
    async fn get(&self, tenant: TenantId, id: E::Id) -> Result<Option<E>> {
        let guard = self.inner.read();
        Ok(guard
            .get(&tenant)
            .and_then(|p| p.get(EntityRef::new(E::KIND, id.into())))
            .and_then(E::from_record_ref)
            .cloned())
    }

    #[tracing::instrument(name = "store.get_many", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND, ids = ids.len()), err(level = "debug"))]
    async fn get_many(&self, tenant: TenantId, ids: &[E::Id]) -> Result<Vec<E>> {
        let ids = crm_core::store::distinct_ids(ids);
        let guard = self.inner.read();
        let Some(p) = guard.get(&tenant) else {
            return Ok(Vec::new());
        };
        Ok(ids
            .into_iter()
            .filter_map(|id| p.get(EntityRef::new(E::KIND, id)))
            .filter_map(E::from_record_ref)
            .cloned()
            .collect())
    }

    #[tracing::instrument(name = "store.list", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND, limit = query.limit), err(level = "debug"))]
    async fn list(&self, tenant: TenantId, query: &ListQuery<E>) -> Result<Page<E>> {
        query.validate()?;
        let guard = self.inner.read();
        let Some(p) = guard.get(&tenant) else {
            return Ok(Page::empty());
        };
        Ok(paginate(p.candidates::<E>(&query.filter)?, query))
    }

    #[tracing::instrument(name = "store.count", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND), err(level = "debug"))]
    async fn count(&self, tenant: TenantId, filter: &E::Filter) -> Result<u64> {
        filter.validate()?;
        let guard = self.inner.read();
        let Some(p) = guard.get(&tenant) else {
            return Ok(0);
        };
        Ok(p.candidates::<E>(filter)?
            .into_iter()
            .filter(|e| filter.matches(e))
            .count() as u64)
    }
}

#[async_trait]
impl CrmStore for MemoryStore {
    #[tracing::instrument(name = "store.apply", level = "debug", skip_all, fields(tenant = %tenant, changes = changes.changes.len()), err(level = "debug"))]
    async fn apply(&self, tenant: TenantId, changes: ChangeSet) -> Result<Applied> {
        let n = changes.changes.len();
        let mut guard = self.inner.write();
        let partition = guard.entry(tenant).or_default();
        let mut tx = MemTx {
            tenant,
            p: partition,
            undo: Vec::with_capacity(n),
        };
        // The partition's primitives never wait, so the protocol runs to its end here,
        // under the lock.
        let out = protocol::run_ready(protocol::apply(&mut tx, tenant, changes)).and_then(|r| r);
        if out.is_err() {
            let undo = std::mem::take(&mut tx.undo);
            tx.p.rollback(undo);
        }
        out
    }

    #[tracing::instrument(name = "store.events_after", level = "debug", skip_all, fields(tenant = %tenant, after, limit), err(level = "debug"))]
    async fn events_after(
        &self,
        tenant: TenantId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let guard = self.inner.read();
        let Some(p) = guard.get(&tenant) else {
            return Ok(Vec::new());
        };
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(p.events.len());
        let end = start.saturating_add(limit as usize).min(p.events.len());
        Ok(p.events[start..end].to_vec())
    }

    async fn external_id_claimed(&self, tenant: TenantId, external_id: &str) -> Result<bool> {
        let guard = self.inner.read();
        Ok(guard
            .get(&tenant)
            .is_some_and(|p| p.external_ids.contains(external_id)))
    }
}

/// One change set's transaction over a partition: the primitives of the write protocol,
/// each recording how to take it back.
struct MemTx<'a> {
    tenant: TenantId,
    p: &'a mut Partition,
    undo: Vec<Undo>,
}

#[async_trait]
impl WriteTx for MemTx<'_> {
    async fn version_of(&mut self, target: EntityRef, _lock: RowLock) -> Result<Option<u64>> {
        Ok(self.p.get(target).map(Record::version))
    }

    async fn read(&mut self, target: EntityRef) -> Result<Option<Record>> {
        Ok(self.p.get(target).cloned())
    }

    async fn read_where(
        &mut self,
        kind: EntityKind,
        field: &'static str,
        parent: EntityKind,
        ids: &[Uuid],
        _lock: RowLock,
    ) -> Result<Vec<Record>> {
        let mut out: Vec<Record> = Vec::new();
        for id in ids {
            if field == "id" {
                out.extend(self.p.get(EntityRef::new(kind, *id)).cloned());
            } else {
                out.extend(
                    self.p
                        .referrers
                        .get(&EntityRef::new(parent, *id))
                        .into_iter()
                        .flatten()
                        .filter(|r| r.kind == kind)
                        .filter_map(|r| self.p.get(*r))
                        .cloned(),
                );
            }
        }
        out.sort_by_key(Record::id);
        Ok(out)
    }

    async fn count_existing(
        &mut self,
        kind: EntityKind,
        ids: &[Uuid],
        _lock: RowLock,
    ) -> Result<usize> {
        Ok(ids
            .iter()
            .filter(|id| self.p.exists(EntityRef::new(kind, **id)))
            .count())
    }

    async fn first_referrer(&mut self, target: EntityRef) -> Result<Option<EntityKind>> {
        Ok(self
            .p
            .referrers
            .get(&target)
            .and_then(|s| s.iter().min())
            .map(|r| r.kind))
    }

    async fn insert(&mut self, record: &Record) -> WriteResult<()> {
        self.p.check_unique(record)?;
        self.p.put(record.clone());
        self.undo.push(Undo::Remove(record.entity_ref()));
        Ok(())
    }

    async fn update(&mut self, record: &Record, expected_version: u64) -> WriteResult<u64> {
        let me = record.entity_ref();
        if self.p.get(me).map(Record::version) != Some(expected_version) {
            return Ok(0);
        }
        self.p.check_unique(record)?;
        let Some(old) = self.p.take(me) else {
            return Ok(0);
        };
        self.p.put(record.clone());
        self.undo.push(Undo::Restore(old));
        Ok(1)
    }

    async fn delete(
        &mut self,
        target: EntityRef,
        expected_version: Option<u64>,
    ) -> WriteResult<u64> {
        match self.p.get(target).map(Record::version) {
            Some(v) if expected_version.is_none_or(|e| e == v) => {}
            _ => return Ok(0),
        }
        let Some(old) = self.p.take(target) else {
            return Ok(0);
        };
        self.undo.push(Undo::Reinsert(old));
        Ok(1)
    }

    async fn append_event(&mut self, event: &NewEvent) -> WriteResult<()> {
        if let Some(x) = &event.external_id {
            if !self.p.external_ids.insert(x.clone()) {
                return Err(Fault::Unique(None));
            }
        }
        let seq = self.p.events.len() as u64 + 1;
        self.p.events.push(StoredEvent {
            tenant: self.tenant,
            seq,
            event: event.clone(),
        });
        self.undo.push(Undo::PopEvent);
        Ok(())
    }

    async fn put_derived(
        &mut self,
        projection: &Projection,
        rows: &[(Uuid, String)],
    ) -> Result<()> {
        for (owner, row) in rows {
            let key = (projection.name, *owner);
            let previous = self.p.derived.insert(key, row.clone());
            self.undo.push(Undo::Derived(key, previous));
        }
        Ok(())
    }

    async fn drop_derived(&mut self, projection: &Projection, owners: &[Uuid]) -> Result<()> {
        for owner in owners {
            let key = (projection.name, *owner);
            if let Some(previous) = self.p.derived.remove(&key) {
                self.undo.push(Undo::Derived(key, Some(previous)));
            }
        }
        Ok(())
    }
}
