//! The write protocol, decided once for every store.
//!
//! A store opens its transaction and offers its primitive operations through [`WriteTx`]
//! (read a version, insert a row, append an event, ...); [`apply`] runs a [`ChangeSet`]
//! through them with every check in the same order on every store: the tenant of each
//! record, the expected version, the version step of an update, the references of a
//! written row, the referrers of a deleted row, the classification of a storage fault
//! (unique key, foreign key) into the domain's errors, and the maintenance of the derived
//! rows declared as [`Projection`]s. A store holds no business rule: it only runs
//! statements (or edits maps) and reports what the storage refused.

use std::collections::{BTreeSet, HashMap};
use std::future::Future;

use async_trait::async_trait;
use uuid::Uuid;

use super::changeset::{Applied, Change, ChangeSet};
use super::entity::{EntityKind, EntityRef, Record};
use super::event::NewEvent;
use crate::error::{CrmError, Result};
use crate::id::TenantId;

/// The row lock a read takes inside a write transaction. Stores that serialise writers
/// (memory, SQLite) ignore it; PostgreSQL takes it, so concurrent transactions meet in the
/// order their change sets touch rows instead of deadlocking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RowLock {
    /// No lock.
    None,
    /// `FOR KEY SHARE`: a parent a written row refers to.
    KeyShare,
    /// `FOR NO KEY UPDATE`: a row about to be updated, or an owner of derived rows.
    NoKeyUpdate,
    /// `FOR UPDATE`: a row about to be deleted.
    Update,
}

/// What the storage refused in a primitive write, for [`apply`] to name in the domain's
/// terms.
#[derive(Debug)]
pub enum Fault {
    /// A primary key was taken.
    PrimaryKey,
    /// A unique key was taken: its stable name ([`super::keys`]), when the store can tell.
    Unique(Option<String>),
    /// A foreign key failed (a referenced row is missing, or a referring row appeared).
    Reference,
    /// Anything else.
    Error(CrmError),
}

impl From<CrmError> for Fault {
    fn from(e: CrmError) -> Self {
        Fault::Error(e)
    }
}

/// A primitive write's outcome.
pub type WriteResult<T> = std::result::Result<T, Fault>;

/// Derived rows kept in the same transaction as the rows they are built from: one derived
/// row per owner (for example the customer search document), built from the owner and
/// its children. Declared here, run by every store through [`apply`].
#[derive(Clone, Copy)]
pub struct Projection {
    /// The projection's name (the SQL stores keep its rows in the table of that name).
    pub name: &'static str,
    /// The kind of the rows that own a derived row.
    pub owner: EntityKind,
    /// The child kinds the derived row is built from, each with its field referring to the
    /// owner.
    pub children: &'static [(EntityKind, &'static str)],
    /// The owner (its id) whose derived row a write of this record changes, if any.
    pub owner_of: fn(&Record) -> Option<Uuid>,
    /// Builds the derived row of `owner` from its children (all the children of the kinds
    /// in [`Projection::children`], in id order per kind).
    pub build: fn(owner: &Record, children: &[&Record]) -> Result<String>,
}

impl std::fmt::Debug for Projection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projection")
            .field("name", &self.name)
            .field("owner", &self.owner)
            .finish()
    }
}

impl Projection {
    /// Whether rows of `kind` feed this projection (only their writes can change it).
    pub fn is_source(&self, kind: EntityKind) -> bool {
        self.owner == kind || self.children.iter().any(|(k, _)| *k == kind)
    }
}

/// Every projection the stores maintain.
pub fn projections() -> &'static [Projection] {
    &[crate::search::CUSTOMER_SEARCH]
}

/// The primitive operations of one open write transaction of a store, scoped to the
/// tenant of the change set. [`apply`] decides which to call and what their answers mean.
#[async_trait]
pub trait WriteTx: Send {
    /// The stored version of `target`, taking `lock` on its row.
    async fn version_of(&mut self, target: EntityRef, lock: RowLock) -> Result<Option<u64>>;

    /// The stored row `target`.
    async fn read(&mut self, target: EntityRef) -> Result<Option<Record>>;

    /// The rows of `kind` whose `field` (`"id"` or a reference to a row of `parent`) is
    /// one of `ids`, in id order, taking `lock` on them.
    async fn read_where(
        &mut self,
        kind: EntityKind,
        field: &'static str,
        parent: EntityKind,
        ids: &[Uuid],
        lock: RowLock,
    ) -> Result<Vec<Record>>;

    /// How many of `ids` exist as rows of `kind`, taking `lock` on them in id order.
    async fn count_existing(
        &mut self,
        kind: EntityKind,
        ids: &[Uuid],
        lock: RowLock,
    ) -> Result<usize>;

    /// The kind of some row that refers to `target`, if any.
    async fn first_referrer(&mut self, target: EntityRef) -> Result<Option<EntityKind>>;

    /// Stores a new row. A store without a unique index of its own reports a taken key of
    /// [`super::EntityRules::unique_keys`] as [`Fault::Unique`].
    async fn insert(&mut self, record: &Record) -> WriteResult<()>;

    /// Stores new rows of one kind, whose checks [`apply`] has made up front (the default
    /// stores them one by one).
    async fn insert_many(&mut self, records: &[Record]) -> WriteResult<()> {
        for r in records {
            self.insert(r).await?;
        }
        Ok(())
    }

    /// Whether runs of inserts are checked and stored set-wise ([`WriteTx::insert_many`]),
    /// which pays where every statement is a round trip.
    fn set_based_inserts(&self) -> bool {
        false
    }

    /// Replaces the row of `record` if its stored version is `expected_version`; the
    /// number of rows replaced.
    async fn update(&mut self, record: &Record, expected_version: u64) -> WriteResult<u64>;

    /// Deletes `target` (if its version is `expected_version`, when given); the number of
    /// rows deleted.
    async fn delete(
        &mut self,
        target: EntityRef,
        expected_version: Option<u64>,
    ) -> WriteResult<u64>;

    /// Appends an event to the outbox under the tenant's next sequence number; an external
    /// id the outbox holds already is [`Fault::Unique`].
    async fn append_event(&mut self, event: &NewEvent) -> WriteResult<()>;

    /// Inserts or replaces derived rows of `projection`, per owner.
    async fn put_derived(&mut self, projection: &Projection, rows: &[(Uuid, String)])
        -> Result<()>;

    /// Removes the derived rows of `projection` of `owners`.
    async fn drop_derived(&mut self, projection: &Projection, owners: &[Uuid]) -> Result<()>;
}

/// Owners read per statement when derived rows are rebuilt.
const OWNERS_PER_READ: usize = 1_000;

/// Applies `changes` through `tx`, in order, with every check of the storage contract
/// ([`super::CrmStore::apply`]), then rebuilds the derived rows of the owners the changes
/// touched. The caller commits on `Ok` and rolls back on `Err`.
pub async fn apply<T: WriteTx + ?Sized>(
    tx: &mut T,
    tenant: TenantId,
    changes: ChangeSet,
) -> Result<Applied> {
    for change in &changes.changes {
        change.check_storable()?;
    }
    let applied = Applied::of(&changes);
    let mut touched: Vec<BTreeSet<Uuid>> = vec![BTreeSet::new(); projections().len()];
    let mut run: Vec<Record> = Vec::new();
    let set_based = tx.set_based_inserts();
    for change in changes.changes {
        match change {
            Change::Insert(rec) if set_based => run.push(rec),
            other => {
                insert_run(tx, tenant, std::mem::take(&mut run), &mut touched).await?;
                apply_one(tx, tenant, other, &mut touched).await?;
            }
        }
    }
    insert_run(tx, tenant, run, &mut touched).await?;
    for (p, owners) in projections().iter().zip(&touched) {
        refresh(tx, p, owners).await?;
    }
    Ok(applied)
}

/// Polls a future that cannot wait (a transaction of a store whose primitives are
/// synchronous, driven from a plain thread or under a lock) to its end.
///
/// Fails with `Internal` if the future does wait: such a store has no reactor to wake it.
pub fn run_ready<F: Future>(fut: F) -> Result<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match fut.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(out) => Ok(out),
        std::task::Poll::Pending => Err(CrmError::internal(
            "a synchronous store transaction waited for I/O",
        )),
    }
}

fn note_owners(touched: &mut [BTreeSet<Uuid>], rec: &Record) {
    for (p, set) in projections().iter().zip(touched.iter_mut()) {
        set.extend((p.owner_of)(rec));
    }
}

fn is_source(kind: EntityKind) -> bool {
    projections().iter().any(|p| p.is_source(kind))
}

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

async fn check_references<T: WriteTx + ?Sized>(tx: &mut T, rec: &Record) -> Result<()> {
    for parent in rec.references() {
        if tx.version_of(parent, RowLock::KeyShare).await?.is_none() {
            return Err(CrmError::not_found(parent.kind, parent.id));
        }
    }
    Ok(())
}

/// A write of `rec` refused by the storage, in the domain's terms.
fn write_fault(rec: &Record, fault: Fault) -> CrmError {
    let kind = rec.kind();
    match fault {
        Fault::PrimaryKey => CrmError::AlreadyExists {
            entity: kind,
            key: super::keys::id_key(kind),
        },
        // A key the store cannot name (not one the schema declares) is named by its kind.
        Fault::Unique(key) => CrmError::AlreadyExists {
            entity: kind,
            key: key.unwrap_or_else(|| format!("{}.unique", kind.name())),
        },
        // A reference checked just before vanished (a concurrent delete): the first one.
        Fault::Reference => rec
            .references()
            .first()
            .map(|p| CrmError::not_found(p.kind, p.id))
            .unwrap_or_else(|| CrmError::not_found(kind, rec.id())),
        Fault::Error(e) => e,
    }
}

async fn apply_one<T: WriteTx + ?Sized>(
    tx: &mut T,
    tenant: TenantId,
    change: Change,
    touched: &mut [BTreeSet<Uuid>],
) -> Result<()> {
    match change {
        Change::Insert(rec) => {
            check_tenant(tenant, &rec)?;
            let me = rec.entity_ref();
            if tx.version_of(me, RowLock::None).await?.is_some() {
                return Err(write_fault(&rec, Fault::PrimaryKey));
            }
            check_references(tx, &rec).await?;
            tx.insert(&rec).await.map_err(|f| write_fault(&rec, f))?;
            note_owners(touched, &rec);
        }
        Change::Update {
            expected_version,
            record,
        } => {
            check_tenant(tenant, &record)?;
            let me = record.entity_ref();
            let current = tx
                .version_of(me, RowLock::NoKeyUpdate)
                .await?
                .ok_or_else(|| CrmError::not_found(me.kind, me.id))?;
            if current != expected_version {
                return Err(CrmError::conflict(me.kind, me.id));
            }
            if Some(record.version()) != expected_version.checked_add(1) {
                return Err(CrmError::validation(
                    "version",
                    "an update must carry the read version plus one",
                ));
            }
            check_references(tx, &record).await?;
            // The previous state may have fed another owner's derived row.
            if is_source(me.kind) {
                if let Some(old) = tx.read(me).await? {
                    note_owners(touched, &old);
                }
            }
            let n = tx
                .update(&record, expected_version)
                .await
                .map_err(|f| write_fault(&record, f))?;
            if n == 0 {
                return Err(CrmError::conflict(me.kind, me.id));
            }
            note_owners(touched, &record);
        }
        Change::Delete {
            target,
            expected_version,
        } => {
            let current = tx
                .version_of(target, RowLock::Update)
                .await?
                .ok_or_else(|| CrmError::not_found(target.kind, target.id))?;
            if expected_version.is_some_and(|v| v != current) {
                return Err(CrmError::conflict(target.kind, target.id));
            }
            let in_use = |by: &str| CrmError::InUse {
                entity: target.kind,
                id: target.id.to_string(),
                by: by.to_string(),
            };
            if let Some(by) = tx.first_referrer(target).await? {
                return Err(in_use(by.name()));
            }
            if is_source(target.kind) {
                if let Some(old) = tx.read(target).await? {
                    note_owners(touched, &old);
                }
            }
            for p in projections().iter().filter(|p| p.owner == target.kind) {
                tx.drop_derived(p, &[target.id]).await?;
            }
            let n = tx
                .delete(target, expected_version)
                .await
                .map_err(|f| match f {
                    Fault::Reference => in_use("a concurrent insert"),
                    Fault::Error(e) => e,
                    Fault::PrimaryKey | Fault::Unique(_) => {
                        CrmError::internal("a delete reported a unique-key violation")
                    }
                })?;
            if n == 0 {
                return Err(CrmError::conflict(target.kind, target.id));
            }
        }
        Change::Emit(event) => {
            tx.append_event(&event).await.map_err(|f| match f {
                Fault::PrimaryKey | Fault::Unique(_) => CrmError::DuplicateExternalEvent {
                    external_id: event.external_id.clone().unwrap_or_default(),
                },
                Fault::Reference => {
                    CrmError::internal("an outbox insert reported a foreign-key violation")
                }
                Fault::Error(e) => e,
            })?;
        }
    }
    Ok(())
}

/// Inserts a run of consecutive inserts set-wise: one existence count per kind, one
/// locking count per referenced kind, then [`WriteTx::insert_many`] per kind in
/// foreign-key order. Taken only when every check passes up front (a reference inside the
/// run must point to an earlier row of the run, as applying one by one requires);
/// otherwise the run is applied change by change, which reports exactly the error the
/// one-by-one semantics give.
async fn insert_run<T: WriteTx + ?Sized>(
    tx: &mut T,
    tenant: TenantId,
    run: Vec<Record>,
    touched: &mut [BTreeSet<Uuid>],
) -> Result<()> {
    if run.len() < 2 || !run_is_clean(tx, tenant, &run).await? {
        for rec in run {
            apply_one(tx, tenant, Change::Insert(rec), touched).await?;
        }
        return Ok(());
    }
    // Kinds in order of first appearance: a clean run refers only to earlier rows, so a
    // kind's parents appear (and are inserted) before it.
    let mut order: Vec<EntityKind> = Vec::new();
    let mut by_kind: HashMap<EntityKind, Vec<Record>> = HashMap::new();
    for rec in run {
        note_owners(touched, &rec);
        if !by_kind.contains_key(&rec.kind()) {
            order.push(rec.kind());
        }
        by_kind.entry(rec.kind()).or_default().push(rec);
    }
    for kind in order {
        let records = by_kind.remove(&kind).unwrap_or_default();
        if let Err(f) = tx.insert_many(&records).await {
            return Err(match records.first() {
                Some(first) => write_fault(first, f),
                None => CrmError::internal("an empty insert failed"),
            });
        }
    }
    Ok(())
}

/// Whether a run of inserts can take the set-based path: right tenant, no id taken (in the
/// store or twice in the run), every reference either to an earlier row of the run or to
/// an existing row (locked [`RowLock::KeyShare`]), and no kind that refers to a kind
/// appearing later in the run.
async fn run_is_clean<T: WriteTx + ?Sized>(
    tx: &mut T,
    tenant: TenantId,
    run: &[Record],
) -> Result<bool> {
    let in_run: std::collections::HashSet<EntityRef> = run.iter().map(Record::entity_ref).collect();
    let mut seen: std::collections::HashSet<EntityRef> =
        std::collections::HashSet::with_capacity(run.len());
    let mut kinds_seen: Vec<EntityKind> = Vec::new();
    let mut outside: std::collections::BTreeMap<EntityKind, BTreeSet<Uuid>> = Default::default();
    for rec in run {
        if rec.tenant_id() != tenant {
            return Ok(false);
        }
        if !kinds_seen.contains(&rec.kind()) {
            kinds_seen.push(rec.kind());
        }
        for r in rec.references() {
            if !seen.contains(&r) {
                if in_run.contains(&r) {
                    return Ok(false); // refers to a later row of the run
                }
                outside.entry(r.kind).or_default().insert(r.id);
            } else if kinds_seen.iter().position(|k| *k == r.kind)
                > kinds_seen.iter().position(|k| *k == rec.kind())
            {
                return Ok(false); // its parent's kind would be inserted after its own
            }
        }
        if !seen.insert(rec.entity_ref()) {
            return Ok(false);
        }
    }
    let mut ids: std::collections::BTreeMap<EntityKind, Vec<Uuid>> = Default::default();
    for r in &seen {
        ids.entry(r.kind).or_default().push(r.id);
    }
    for (kind, mut ids) in ids {
        ids.sort_unstable();
        for chunk in ids.chunks(OWNERS_PER_READ) {
            if tx.count_existing(kind, chunk, RowLock::None).await? > 0 {
                return Ok(false);
            }
        }
    }
    for (kind, ids) in outside {
        let ids: Vec<Uuid> = ids.into_iter().collect();
        for chunk in ids.chunks(OWNERS_PER_READ) {
            if tx.count_existing(kind, chunk, RowLock::KeyShare).await? != chunk.len() {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Rebuilds the derived rows of `owners` from their current rows: the owners (locked
/// [`RowLock::NoKeyUpdate`] in id order, so concurrent rebuilds serialise and read each
/// other's commits), their children, then one put; the rows of owners that no longer
/// exist are removed.
async fn refresh<T: WriteTx + ?Sized>(
    tx: &mut T,
    p: &Projection,
    owners: &BTreeSet<Uuid>,
) -> Result<()> {
    let ids: Vec<Uuid> = owners.iter().copied().collect();
    for chunk in ids.chunks(OWNERS_PER_READ) {
        let found = tx
            .read_where(p.owner, "id", p.owner, chunk, RowLock::NoKeyUpdate)
            .await?;
        let mut children: HashMap<Uuid, Vec<Record>> = HashMap::new();
        for (kind, field) in p.children {
            for r in tx
                .read_where(*kind, field, p.owner, chunk, RowLock::None)
                .await?
            {
                if let Some(owner) = (p.owner_of)(&r) {
                    children.entry(owner).or_default().push(r);
                }
            }
        }
        let mut rows = Vec::with_capacity(found.len());
        for owner in &found {
            let kids: Vec<&Record> = children
                .get(&owner.id())
                .map(|v| v.iter().collect())
                .unwrap_or_default();
            rows.push((owner.id(), (p.build)(owner, &kids)?));
        }
        if !rows.is_empty() {
            tx.put_derived(p, &rows).await?;
        }
        let alive: std::collections::HashSet<Uuid> = rows.iter().map(|(id, _)| *id).collect();
        let gone: Vec<Uuid> = chunk
            .iter()
            .copied()
            .filter(|id| !alive.contains(id))
            .collect();
        if !gone.is_empty() {
            tx.drop_derived(p, &gone).await?;
        }
    }
    Ok(())
}
