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

use crm_core::model::Customer;
use crm_core::search;
use crm_core::store::{
    keys, paginate, Applied, Change, ChangeSet, CrmStore, Entity, EntityFilter, EntityKind,
    EntityRead, EntityRef, ListQuery, Page, Record, StoredEvent, UniqueKey,
};
use crm_core::{CrmError, Result, TenantId};

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
    /// Customer id -> its search document ([`search::customer_document`]), kept current
    /// on every write to the customer, its contacts or its contact points.
    search_docs: HashMap<Uuid, String>,
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
        let searched = search::CustomerSearch::owner(&rec);
        self.tables
            .entry(rec.kind())
            .or_default()
            .insert(rec.id(), rec);
        self.refresh_search_doc(searched);
    }

    fn take(&mut self, r: EntityRef) -> Option<Record> {
        let rec = self.tables.get_mut(&r.kind)?.remove(&r.id)?;
        self.index_remove(&rec);
        self.refresh_search_doc(search::CustomerSearch::owner(&rec));
        Some(rec)
    }

    /// Rebuilds (or drops) the search document of `customer`.
    fn refresh_search_doc(&mut self, customer: Option<Uuid>) {
        let Some(id) = customer else { return };
        let doc = match self.get(EntityRef::new(EntityKind::Customer, id)) {
            Some(Record::Customer(c)) => Some(self.customer_document(c)),
            _ => None,
        };
        match doc {
            Some(d) => self.search_docs.insert(id, d),
            None => self.search_docs.remove(&id),
        };
    }

    fn check_references(&self, rec: &Record) -> Result<()> {
        for parent in rec.references() {
            if !self.exists(parent) {
                return Err(CrmError::not_found(parent.kind, parent.id));
            }
        }
        Ok(())
    }

    fn check_unique(&self, rec: &Record) -> Result<()> {
        let me = rec.entity_ref();
        for key in rec.unique_keys() {
            let name = key.name;
            if let Some(owner) = self.unique.get(&(me.kind, key)) {
                if *owner != me.id {
                    return Err(CrmError::AlreadyExists {
                        entity: me.kind,
                        key: name.to_string(),
                    });
                }
            }
        }
        Ok(())
    }

    fn apply_one(&mut self, tenant: TenantId, change: Change, undo: &mut Vec<Undo>) -> Result<()> {
        match change {
            Change::Insert(rec) => {
                check_tenant(tenant, &rec)?;
                let me = rec.entity_ref();
                if self.exists(me) {
                    return Err(CrmError::AlreadyExists {
                        entity: me.kind,
                        key: keys::id_key(me.kind),
                    });
                }
                self.check_references(&rec)?;
                self.check_unique(&rec)?;
                self.put(rec);
                undo.push(Undo::Remove(me));
            }
            Change::Update {
                expected_version,
                record,
            } => {
                check_tenant(tenant, &record)?;
                let me = record.entity_ref();
                let current = self
                    .get(me)
                    .ok_or_else(|| CrmError::not_found(me.kind, me.id))?;
                if current.version() != expected_version {
                    return Err(CrmError::conflict(me.kind, me.id));
                }
                if Some(record.version()) != expected_version.checked_add(1) {
                    return Err(CrmError::validation(
                        "version",
                        "an update must carry the read version plus one",
                    ));
                }
                self.check_references(&record)?;
                self.check_unique(&record)?;
                let old = self
                    .take(me)
                    .ok_or_else(|| CrmError::not_found(me.kind, me.id))?;
                self.put(record);
                undo.push(Undo::Restore(old));
            }
            Change::Delete {
                target,
                expected_version,
            } => {
                let current = self
                    .get(target)
                    .ok_or_else(|| CrmError::not_found(target.kind, target.id))?;
                if expected_version.is_some_and(|v| v != current.version()) {
                    return Err(CrmError::conflict(target.kind, target.id));
                }
                if let Some(by) = self.referrers.get(&target).and_then(|s| s.iter().min()) {
                    return Err(CrmError::InUse {
                        entity: target.kind,
                        id: target.id.to_string(),
                        by: by.to_string(),
                    });
                }
                let old = self
                    .take(target)
                    .ok_or_else(|| CrmError::not_found(target.kind, target.id))?;
                undo.push(Undo::Reinsert(old));
            }
            Change::Emit(event) => {
                if let Some(x) = &event.external_id {
                    if !self.external_ids.insert(x.clone()) {
                        return Err(CrmError::DuplicateExternalEvent {
                            external_id: x.clone(),
                        });
                    }
                }
                let seq = self.events.len() as u64 + 1;
                self.events.push(StoredEvent { tenant, seq, event });
                undo.push(Undo::PopEvent);
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
                self.search_docs
                    .get(&e.id().into())
                    .is_some_and(|doc| search::matches(doc, &terms))
            });
        }
        Ok(rows)
    }

    fn customer_document(&self, c: &Customer) -> String {
        let children: Vec<&Record> = self
            .referrers
            .get(&c.entity_ref())
            .into_iter()
            .flatten()
            .filter_map(|r| self.get(*r))
            .collect();
        let contacts = children.iter().filter_map(|r| match r {
            Record::Contact(x) => Some(x),
            _ => None,
        });
        let points = children.iter().filter_map(|r| match r {
            Record::ContactPoint(x) => Some(x),
            _ => None,
        });
        search::customer_document(c, contacts, points)
    }
}

/// The customer whose search document depends on `rec`, if any.
fn check_tenant(tenant: TenantId, rec: &Record) -> Result<()> {
    if rec.tenant_id() == tenant {
        Ok(())
    } else {
        Err(CrmError::validation(
            "tenant_id",
            format!(
                "{} belongs to another tenant than the change set",
                rec.entity_ref()
            ),
        ))
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
        for change in &changes.changes {
            change.check_storable()?;
        }
        let applied = Applied::of(&changes);
        let mut guard = self.inner.write();
        let partition = guard.entry(tenant).or_default();
        let mut undo = Vec::with_capacity(n);
        for change in changes.changes {
            if let Err(e) = partition.apply_one(tenant, change, &mut undo) {
                partition.rollback(undo);
                return Err(e);
            }
        }
        Ok(applied)
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
