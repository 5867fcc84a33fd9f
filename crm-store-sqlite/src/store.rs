//! The store: connections, migrations, the write path and the reads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior};
use rusqlite_migration::{Migrations, SchemaVersion, M};
use sea_query::SqliteQueryBuilder;
use sea_query_rusqlite::RusqliteBinder;
use uuid::Uuid;

use crm_core::model::{Contact, ContactPoint, Customer};
use crm_core::store::{
    Applied, Change, ChangeSet, CrmStore, EntityKind, EntityRead, EntityRef, ListQuery, Page,
    Record,
};
use crm_core::{CrmError, Result, StorageErrorKind, TenantId};
use crm_sql::{Dialect, SqlEntity};

/// The embedded migrations, in order; the schema version is their count.
const MIGRATION_FILES: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_outbox.sql"),
    include_str!("../migrations/0003_tenant_settings.sql"),
    include_str!("../migrations/0004_search_view.sql"),
    include_str!("../migrations/0005_merge_record.sql"),
    include_str!("../migrations/0006_search_grams.sql"),
    include_str!("../migrations/0007_cancelled.sql"),
    include_str!("../migrations/0008_audit.sql"),
];

/// The schema version this build of the store writes.
pub const SCHEMA_VERSION: usize = MIGRATION_FILES.len();

/// How many idle reader connections are kept.
const MAX_IDLE_READERS: usize = 8;

/// How long a connection waits for a lock held by another process before failing.
const BUSY_TIMEOUT_MS: u32 = 5_000;

type Job = Box<dyn FnOnce(&mut Connection) + Send>;

/// A SQLite-backed [`CrmStore`]. Cloning is cheap and shares the connections.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<mpsc::Sender<Job>>,
    readers: Mutex<Vec<Connection>>,
    writer_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for Inner {
    /// Closes the writer connection before the readers, one at a time: the bundled SQLite
    /// 3.51.1 can deadlock when one thread closes a connection while another opens or
    /// closes one on the same file (rusqlite issue #1860).
    fn drop(&mut self) {
        if let Ok(w) = self.writer.get_mut() {
            // Replacing the sender drops ours: the writer thread's loop ends.
            *w = mpsc::channel().0;
        }
        let handle = self.writer_thread.get_mut().ok().and_then(Option::take);
        if let Some(h) = handle {
            if h.thread().id() != std::thread::current().id() {
                let _ = h.join();
            }
        }
        if let Ok(readers) = self.readers.get_mut() {
            readers.clear();
        }
    }
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish()
    }
}

fn storage(e: rusqlite::Error) -> CrmError {
    let kind = match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StorageErrorKind::Busy,
        Some(ErrorCode::CannotOpen | ErrorCode::NotADatabase | ErrorCode::PermissionDenied) => {
            StorageErrorKind::Connection
        }
        _ => StorageErrorKind::Other,
    };
    CrmError::storage(kind, e)
}

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATION_FILES.iter().map(|sql| M::up(sql)).collect())
}

fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_millis(u64::from(BUSY_TIMEOUT_MS)))
        .map_err(storage)?;
    conn.pragma_update(None, "foreign_keys", true)
        .map_err(storage)?;
    conn.pragma_update(None, "synchronous", "NORMAL")
        .map_err(storage)?;
    Ok(())
}

/// The schema version stored in the file (`PRAGMA user_version`).
fn stored_version(conn: &Connection) -> Result<usize> {
    let v: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(storage)?;
    Ok(usize::try_from(v).unwrap_or(0))
}

fn check_not_newer(conn: &Connection, path: &Path) -> Result<()> {
    let found = stored_version(conn)?;
    if found > SCHEMA_VERSION {
        return Err(CrmError::storage(
            StorageErrorKind::Schema,
            format!(
                "{} has schema version {found}, newer than version {SCHEMA_VERSION} of this crm-store-sqlite; upgrade the library",
                path.display()
            ),
        ));
    }
    Ok(())
}

impl SqliteStore {
    /// Opens (or creates) the database file at `path`, in WAL mode. Fails if the file was
    /// written by a newer schema version. Call [`SqliteStore::migrate`] before use.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        let p = path.clone();
        let conn = tokio::task::spawn_blocking(move || -> Result<Connection> {
            let conn = Connection::open(&p).map_err(storage)?;
            configure(&conn)?;
            let mode: String = conn
                .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
                .map_err(storage)?;
            if !mode.eq_ignore_ascii_case("wal") {
                return Err(CrmError::storage(
                    StorageErrorKind::Connection,
                    format!("{} cannot use WAL journal mode (got {mode})", p.display()),
                ));
            }
            check_not_newer(&conn, &p)?;
            Ok(conn)
        })
        .await
        .map_err(|e| CrmError::storage(StorageErrorKind::Other, e))??;
        let (tx, rx) = mpsc::channel::<Job>();
        let writer_thread = std::thread::Builder::new()
            .name("crm-sqlite-writer".into())
            .spawn(move || {
                let mut conn = conn;
                while let Ok(job) = rx.recv() {
                    job(&mut conn);
                }
            })
            .map_err(|e| CrmError::storage(StorageErrorKind::Other, e))?;
        Ok(Self {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(tx),
                readers: Mutex::new(Vec::new()),
                writer_thread: Mutex::new(Some(writer_thread)),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Brings the schema to [`SCHEMA_VERSION`], applying the missing migrations in one
    /// transaction each. Idempotent.
    pub async fn migrate(&self) -> Result<()> {
        let path = self.inner.path.clone();
        self.write(move |conn| {
            check_not_newer(conn, &path)?;
            migrations()
                .to_latest(conn)
                .map_err(|e| CrmError::storage(StorageErrorKind::Schema, e))
        })
        .await
    }

    /// The schema version of the file.
    pub async fn schema_version(&self) -> Result<usize> {
        self.read(|conn| {
            match migrations()
                .current_version(conn)
                .map_err(|e| CrmError::storage(StorageErrorKind::Schema, e))?
            {
                SchemaVersion::NoneSet => Ok(0),
                SchemaVersion::Inside(v) | SchemaVersion::Outside(v) => Ok(v.get()),
            }
        })
        .await
    }

    /// Runs `f` on the writer connection's thread and waits for it without blocking.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |conn| {
            let _ = tx.send(f(conn));
        });
        self.inner
            .writer
            .lock()
            .map_err(|_| CrmError::storage(StorageErrorKind::Other, "writer lock poisoned"))?
            .send(job)
            .map_err(|_| {
                CrmError::storage(
                    StorageErrorKind::Connection,
                    "the writer thread has stopped",
                )
            })?;
        rx.await.map_err(|_| {
            CrmError::storage(
                StorageErrorKind::Connection,
                "the writer thread has stopped",
            )
        })?
    }

    /// Runs `f` on a reader connection in the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || {
            let pooled = inner.readers.lock().ok().and_then(|mut v| v.pop());
            let conn = match pooled {
                Some(c) => c,
                None => {
                    let c = Connection::open_with_flags(
                        &inner.path,
                        OpenFlags::SQLITE_OPEN_READ_ONLY
                            | OpenFlags::SQLITE_OPEN_NO_MUTEX
                            | OpenFlags::SQLITE_OPEN_URI,
                    )
                    .map_err(storage)?;
                    configure(&c)?;
                    c
                }
            };
            let out = f(&conn);
            if let Ok(mut v) = inner.readers.lock() {
                if v.len() < MAX_IDLE_READERS {
                    v.push(conn);
                }
            }
            out
        })
        .await
        .map_err(|e| CrmError::storage(StorageErrorKind::Other, e))?
    }
}

// ----- statements ---------------------------------------------------------------------

/// Runs a statement built by sea-query; returns the number of rows changed.
fn exec(
    conn: &Connection,
    sql: &str,
    values: &sea_query_rusqlite::RusqliteValues,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(sql)?.execute(&*values.as_params())
}

fn query_strings(conn: &Connection, stmt: &sea_query::SelectStatement) -> Result<Vec<String>> {
    let (sql, values) = stmt.build_rusqlite(SqliteQueryBuilder);
    let mut prepared = conn.prepare_cached(&sql).map_err(storage)?;
    let rows = prepared
        .query_map(&*values.as_params(), |r| r.get::<_, String>(0))
        .map_err(storage)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(storage)
}

fn query_exists(conn: &Connection, stmt: &sea_query::SelectStatement) -> Result<bool> {
    let (sql, values) = stmt.build_rusqlite(SqliteQueryBuilder);
    let mut prepared = conn.prepare_cached(&sql).map_err(storage)?;
    prepared.exists(&*values.as_params()).map_err(storage)
}

/// Binds sea-query values as rusqlite parameters.
fn bound(values: Vec<sea_query::Value>) -> sea_query_rusqlite::RusqliteValues {
    sea_query_rusqlite::RusqliteValues(
        values
            .into_iter()
            .map(sea_query_rusqlite::RusqliteValue)
            .collect(),
    )
}

fn version_of(conn: &Connection, tenant: TenantId, target: EntityRef) -> Result<Option<u64>> {
    // The statement's text is built once per kind (crm-sql); only the values are bound.
    let sql = crm_sql::select_version_sql(target.kind, crm_sql::Dialect::Sqlite);
    let values = bound(crm_sql::key_values(target, tenant));
    let mut prepared = conn.prepare_cached(sql).map_err(storage)?;
    let v: Option<i64> = prepared
        .query_row(&*values.as_params(), |r| r.get(0))
        .optional()
        .map_err(storage)?;
    Ok(v.map(|v| v as u64))
}

/// A write failed on a constraint: unique -> `AlreadyExists` with the stable name of the
/// violated key (see [`crm_core::store::keys`]), anything else -> storage.
///
/// The error's kind is read from SQLite's extended result code. SQLite names a violated
/// unique index only by its columns (`UNIQUE constraint failed: customer.tenant_id,
/// customer.external_ref`); those are mapped back to the key through the schema's index
/// declarations ([`crm_sql::unique_key_of_columns`]), the same declarations the
/// PostgreSQL store maps constraint names through.
fn write_error(kind: EntityKind, e: rusqlite::Error) -> CrmError {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY {
            return CrmError::AlreadyExists {
                entity: kind,
                key: crm_core::store::keys::id_key(kind),
            };
        }
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE {
            let key = msg.as_deref().and_then(violated_key).unwrap_or_else(|| {
                // Not one of the schema's declared keys (cannot happen with the shipped
                // migrations): name the table's unknown key rather than leak SQL text.
                format!("{}.unique", kind.name())
            });
            return CrmError::AlreadyExists { entity: kind, key };
        }
    }
    storage(e)
}

/// The unique key named by SQLite's `UNIQUE constraint failed: t.c1, t.c2` message.
fn violated_key(message: &str) -> Option<String> {
    let list = message.strip_prefix("UNIQUE constraint failed: ")?;
    let mut table = None;
    let mut columns = Vec::new();
    for qualified in list.split(',') {
        let (t, c) = qualified.trim().split_once('.')?;
        if *table.get_or_insert(t) != t {
            return None;
        }
        columns.push(c);
    }
    crm_sql::unique_key_of_columns(table?, &columns)
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

fn check_references(conn: &Connection, tenant: TenantId, rec: &Record) -> Result<()> {
    for parent in rec.references() {
        if version_of(conn, tenant, parent)?.is_none() {
            return Err(CrmError::not_found(parent.kind, parent.id));
        }
    }
    Ok(())
}

fn apply_one(
    conn: &Connection,
    tenant: TenantId,
    change: Change,
    touched: &mut BTreeSet<Uuid>,
) -> Result<()> {
    match change {
        Change::Insert(rec) => {
            check_tenant(tenant, &rec)?;
            let me = rec.entity_ref();
            if version_of(conn, tenant, me)?.is_some() {
                return Err(CrmError::AlreadyExists {
                    entity: me.kind,
                    key: crm_core::store::keys::id_key(me.kind),
                });
            }
            check_references(conn, tenant, &rec)?;
            let sql = crm_sql::insert_sql(me.kind, crm_sql::Dialect::Sqlite);
            let values = bound(crm_sql::insert_values(&rec)?);
            exec(conn, sql, &values).map_err(|e| write_error(me.kind, e))?;
            touched.extend(crm_core::search::search_owner(&rec));
        }
        Change::Update {
            expected_version,
            record,
        } => {
            check_tenant(tenant, &record)?;
            let me = record.entity_ref();
            let current =
                version_of(conn, tenant, me)?.ok_or_else(|| CrmError::not_found(me.kind, me.id))?;
            if current != expected_version {
                return Err(CrmError::conflict(me.kind, me.id));
            }
            if Some(record.version()) != expected_version.checked_add(1) {
                return Err(CrmError::validation(
                    "version",
                    "an update must carry the read version plus one",
                ));
            }
            check_references(conn, tenant, &record)?;
            // The previous state may have belonged to another customer's search document.
            if let Some(old) = select_record(conn, tenant, me)? {
                touched.extend(crm_core::search::search_owner(&old));
            }
            let (sql, values) =
                crm_sql::update(&record, expected_version)?.build_rusqlite(SqliteQueryBuilder);
            let n = exec(conn, &sql, &values).map_err(|e| write_error(me.kind, e))?;
            if n == 0 {
                return Err(CrmError::conflict(me.kind, me.id));
            }
            touched.extend(crm_core::search::search_owner(&record));
        }
        Change::Delete {
            target,
            expected_version,
        } => {
            let current = version_of(conn, tenant, target)?
                .ok_or_else(|| CrmError::not_found(target.kind, target.id))?;
            if expected_version.is_some_and(|v| v != current) {
                return Err(CrmError::conflict(target.kind, target.id));
            }
            for (by, probe) in crm_sql::referrer_probes(target, tenant) {
                if query_exists(conn, &probe)? {
                    return Err(CrmError::InUse {
                        entity: target.kind,
                        id: target.id.to_string(),
                        by: by.name().to_string(),
                    });
                }
            }
            if let Some(old) = select_record(conn, tenant, target)? {
                touched.extend(crm_core::search::search_owner(&old));
            }
            if target.kind == EntityKind::Customer {
                let (sql, values) =
                    crm_sql::delete_search(tenant, target.id).build_rusqlite(SqliteQueryBuilder);
                exec(conn, &sql, &values).map_err(storage)?;
            }
            let (sql, values) = crm_sql::delete(target, tenant, expected_version)
                .build_rusqlite(SqliteQueryBuilder);
            exec(conn, &sql, &values).map_err(storage)?;
        }
        Change::Emit(event) => {
            let (sql, values) = crm_sql::next_event_seq(tenant).build_rusqlite(SqliteQueryBuilder);
            let seq: i64 = conn
                .prepare_cached(&sql)
                .and_then(|mut st| st.query_row(&*values.as_params(), |r| r.get(0)))
                .map_err(storage)?;
            let (sql, values) = crm_sql::insert_event(tenant, seq as u64, &event)?
                .build_rusqlite(SqliteQueryBuilder);
            exec(conn, &sql, &values).map_err(|e| match write_error(EntityKind::Customer, e) {
                CrmError::AlreadyExists { .. } => CrmError::DuplicateExternalEvent {
                    external_id: event.external_id.clone().unwrap_or_default(),
                },
                other => other,
            })?;
        }
    }
    Ok(())
}

/// The stored record of kind `target.kind` (only the kinds that feed search documents are
/// needed, so others are not decoded).
fn select_record(conn: &Connection, tenant: TenantId, target: EntityRef) -> Result<Option<Record>> {
    let decode = |json: &str| -> Result<Record> {
        Ok(match target.kind {
            EntityKind::Customer => Record::Customer(crm_sql::decode::<Customer>(json)?),
            EntityKind::Contact => Record::Contact(crm_sql::decode::<Contact>(json)?),
            EntityKind::ContactPoint => {
                Record::ContactPoint(crm_sql::decode::<ContactPoint>(json)?)
            }
            _ => {
                return Err(CrmError::internal(
                    "a row that feeds no search document was decoded as one",
                ))
            }
        })
    };
    if !crm_core::search::CUSTOMER_SEARCH.is_source(target.kind) {
        return Ok(None);
    }
    let rows = prepared_strings(
        conn,
        crm_sql::select_one_sql(target.kind, crm_sql::Dialect::Sqlite),
        crm_sql::key_values(target, tenant),
    )?;
    rows.first().map(|j| decode(j)).transpose()
}

/// The strings of the first column of a statement prepared once (crm-sql) with `values`.
fn prepared_strings(
    conn: &Connection,
    sql: &str,
    values: Vec<sea_query::Value>,
) -> Result<Vec<String>> {
    let values = bound(values);
    let mut prepared = conn.prepare_cached(sql).map_err(storage)?;
    let rows = prepared
        .query_map(&*values.as_params(), |r| r.get::<_, String>(0))
        .map_err(storage)?;
    rows.collect::<rusqlite::Result<Vec<String>>>()
        .map_err(storage)
}

/// The data of the rows of `kind` whose `customer_id` is `customer`.
fn customer_children(
    conn: &Connection,
    kind: EntityKind,
    tenant: TenantId,
    customer: Uuid,
) -> Result<Vec<String>> {
    match crm_sql::select_children_sql(kind, "customer_id", crm_sql::Dialect::Sqlite) {
        Some(sql) => prepared_strings(
            conn,
            sql,
            crm_sql::key_values(EntityRef::new(kind, customer), tenant),
        ),
        None => query_strings(
            conn,
            &crm_sql::select_children(kind, tenant, "customer_id", customer),
        ),
    }
}

/// Rebuilds the search document of `customer` from its current rows (or drops it).
fn refresh_search(conn: &Connection, tenant: TenantId, customer: Uuid) -> Result<()> {
    let rows = prepared_strings(
        conn,
        crm_sql::select_one_sql(EntityKind::Customer, crm_sql::Dialect::Sqlite),
        crm_sql::key_values(EntityRef::new(EntityKind::Customer, customer), tenant),
    )?;
    let Some(json) = rows.first() else {
        let (sql, values) =
            crm_sql::delete_search(tenant, customer).build_rusqlite(SqliteQueryBuilder);
        exec(conn, &sql, &values).map_err(storage)?;
        return Ok(());
    };
    let c: Customer = crm_sql::decode(json)?;
    let contacts: Vec<Contact> = customer_children(conn, EntityKind::Contact, tenant, customer)?
        .iter()
        .map(|j| crm_sql::decode(j))
        .collect::<Result<_>>()?;
    let points: Vec<ContactPoint> =
        customer_children(conn, EntityKind::ContactPoint, tenant, customer)?
            .iter()
            .map(|j| crm_sql::decode(j))
            .collect::<Result<_>>()?;
    let doc = crm_core::search::customer_document(&c, &contacts, &points);
    let (sql, values) = crm_sql::upsert_search(tenant, customer, &doc, crm_sql::Dialect::Sqlite)
        .build_rusqlite(SqliteQueryBuilder);
    exec(conn, &sql, &values).map_err(storage)?;
    Ok(())
}

#[async_trait]
impl CrmStore for SqliteStore {
    #[tracing::instrument(name = "store.apply", level = "debug", skip_all, fields(tenant = %tenant, changes = changes.changes.len()), err(level = "debug"))]
    async fn apply(&self, tenant: TenantId, changes: ChangeSet) -> Result<Applied> {
        for change in &changes.changes {
            change.check_storable()?;
        }
        let applied = Applied::of(&changes);
        self.write(move |conn| {
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(storage)?;
            let mut touched = BTreeSet::new();
            for change in changes.changes {
                apply_one(&tx, tenant, change, &mut touched)?;
            }
            for customer in touched {
                refresh_search(&tx, tenant, customer)?;
            }
            tx.commit().map_err(storage)?;
            Ok(applied)
        })
        .await
    }

    #[tracing::instrument(name = "store.events_after", level = "debug", skip_all, fields(tenant = %tenant, after, limit), err(level = "debug"))]
    async fn events_after(
        &self,
        tenant: TenantId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<crm_core::store::StoredEvent>> {
        let stmt = crm_sql::select_events(tenant, after, limit);
        self.read(move |conn| {
            let (sql, values) = stmt.build_rusqlite(SqliteQueryBuilder);
            let mut prepared = conn.prepare_cached(&sql).map_err(storage)?;
            let rows = prepared
                .query_map(&*values.as_params(), |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?))
                })
                .map_err(storage)?;
            rows.map(|r| {
                let (seq, data) = r.map_err(storage)?;
                crm_sql::decode_event(tenant, seq, &data)
            })
            .collect()
        })
        .await
    }

    async fn external_id_claimed(&self, tenant: TenantId, external_id: &str) -> Result<bool> {
        let stmt = crm_sql::select_external_id(tenant, external_id);
        self.read(move |conn| {
            let (sql, values) = stmt.build_rusqlite(SqliteQueryBuilder);
            let mut prepared = conn.prepare_cached(&sql).map_err(storage)?;
            prepared.exists(&*values.as_params()).map_err(storage)
        })
        .await
    }
}

#[async_trait]
impl<E: SqlEntity> EntityRead<E> for SqliteStore {
    #[tracing::instrument(name = "store.get", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND), err(level = "debug"))]
    async fn get(&self, tenant: TenantId, id: E::Id) -> Result<Option<E>> {
        let stmt = crm_sql::select_one(E::KIND, tenant, id.into());
        self.read(move |conn| {
            query_strings(conn, &stmt)?
                .first()
                .map(|j| crm_sql::decode::<E>(j))
                .transpose()
        })
        .await
    }

    #[tracing::instrument(name = "store.get_many", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND, ids = ids.len()), err(level = "debug"))]
    async fn get_many(&self, tenant: TenantId, ids: &[E::Id]) -> Result<Vec<E>> {
        let ids = crm_core::store::distinct_ids(ids);
        self.read(move |conn| {
            let mut found = Vec::with_capacity(ids.len());
            for chunk in ids.chunks(crm_sql::IDS_PER_STATEMENT) {
                let stmt = crm_sql::select_where_in(E::KIND, tenant, "id", chunk);
                for j in query_strings(conn, &stmt)? {
                    found.push(crm_sql::decode::<E>(&j)?);
                }
            }
            Ok(found)
        })
        .await
    }

    #[tracing::instrument(name = "store.list", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND, limit = query.limit), err(level = "debug"))]
    async fn list(&self, tenant: TenantId, query: &ListQuery<E>) -> Result<Page<E>> {
        let stmt = crm_sql::select_page(tenant, query, Dialect::Sqlite)?;
        let query = query.clone();
        self.read(move |conn| {
            let rows = query_strings(conn, &stmt)?
                .iter()
                .map(|j| crm_sql::decode::<E>(j))
                .collect::<Result<Vec<E>>>()?;
            Ok(crm_sql::finish_page(rows, &query))
        })
        .await
    }

    #[tracing::instrument(name = "store.count", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND), err(level = "debug"))]
    async fn count(&self, tenant: TenantId, filter: &E::Filter) -> Result<u64> {
        let stmt = crm_sql::select_count::<E>(tenant, filter, Dialect::Sqlite)?;
        self.read(move |conn| {
            let (sql, values) = stmt.build_rusqlite(SqliteQueryBuilder);
            let mut prepared = conn.prepare_cached(&sql).map_err(storage)?;
            let n: i64 = prepared
                .query_row(&*values.as_params(), |r| r.get(0))
                .map_err(storage)?;
            Ok(n as u64)
        })
        .await
    }
}
