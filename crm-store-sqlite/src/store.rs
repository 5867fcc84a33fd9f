//! The store: connections, migrations, the write path and the reads.

use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc, Mutex};

use async_trait::async_trait;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension};
use rusqlite_migration::{Migrations, SchemaVersion, M};
use sea_query::SqliteQueryBuilder;
use sea_query_rusqlite::RusqliteBinder;

use crm_core::store::protocol::{self, Fault, WriteResult};
use crm_core::store::{Applied, ChangeSet, CrmStore, EntityRead, ListQuery, Page};
use crm_core::{CrmError, Result, StorageErrorKind, TenantId};
use crm_sql::{Dialect, SqlEntity, SqlExec, SqlTx};

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

/// Binds sea-query values as rusqlite parameters.
fn bound(values: Vec<sea_query::Value>) -> sea_query_rusqlite::RusqliteValues {
    sea_query_rusqlite::RusqliteValues(
        values
            .into_iter()
            .map(sea_query_rusqlite::RusqliteValue)
            .collect(),
    )
}

/// What a constraint refused, from SQLite's extended result code: primary key, unique
/// key (with the stable name of the violated key, see [`crm_core::store::keys`]) or
/// foreign key; anything else is a storage error.
///
/// SQLite names a violated unique index only by its columns (`UNIQUE constraint failed:
/// customer.tenant_id, customer.external_ref`); those are mapped back to the key through
/// the schema's index declarations ([`crm_sql::unique_key_of_columns`]), the same
/// declarations the PostgreSQL store maps constraint names through.
fn fault(e: rusqlite::Error) -> Fault {
    if let rusqlite::Error::SqliteFailure(f, msg) = &e {
        match f.extended_code {
            rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY => return Fault::PrimaryKey,
            rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE => {
                return Fault::Unique(msg.as_deref().and_then(violated_key))
            }
            rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY => return Fault::Reference,
            _ => {}
        }
    }
    Fault::Error(storage(e))
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

/// The writer connection inside an open transaction, as the statements' executor of the
/// write protocol ([`crm_sql::SqlTx`]). Every call runs to its end without waiting.
struct SqliteExec<'c> {
    conn: &'c mut Connection,
}

#[async_trait]
impl SqlExec for SqliteExec<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    async fn execute(&mut self, sql: &str, values: Vec<sea_query::Value>) -> WriteResult<u64> {
        let values = bound(values);
        let n = exec(self.conn, sql, &values).map_err(fault)?;
        Ok(n as u64)
    }

    async fn query_strings(
        &mut self,
        sql: &str,
        values: Vec<sea_query::Value>,
    ) -> Result<Vec<String>> {
        prepared_strings(self.conn, sql, values)
    }

    async fn query_i64(&mut self, sql: &str, values: Vec<sea_query::Value>) -> Result<Option<i64>> {
        let values = bound(values);
        let mut prepared = self.conn.prepare_cached(sql).map_err(storage)?;
        prepared
            .query_row(&*values.as_params(), |r| r.get(0))
            .optional()
            .map_err(storage)
    }

    async fn query_count(&mut self, sql: &str, values: Vec<sea_query::Value>) -> Result<usize> {
        let values = bound(values);
        let mut prepared = self.conn.prepare_cached(sql).map_err(storage)?;
        let mut rows = prepared.query(&*values.as_params()).map_err(storage)?;
        let mut n = 0;
        while rows.next().map_err(storage)?.is_some() {
            n += 1;
        }
        Ok(n)
    }
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

#[async_trait]
impl CrmStore for SqliteStore {
    #[tracing::instrument(name = "store.apply", level = "debug", skip_all, fields(tenant = %tenant, changes = changes.changes.len()), err(level = "debug"))]
    async fn apply(&self, tenant: TenantId, changes: ChangeSet) -> Result<Applied> {
        self.write(move |conn| {
            conn.execute_batch("BEGIN IMMEDIATE").map_err(storage)?;
            let mut tx = SqlTx::new(SqliteExec { conn }, tenant);
            // The connection's calls never wait, so the protocol runs to its end on this
            // thread.
            let out =
                protocol::run_ready(protocol::apply(&mut tx, tenant, changes)).and_then(|r| r);
            let conn = tx.exec.conn;
            match out {
                Ok(applied) => {
                    if let Err(e) = conn.execute_batch("COMMIT") {
                        let _ = conn.execute_batch("ROLLBACK");
                        return Err(storage(e));
                    }
                    Ok(applied)
                }
                Err(e) => {
                    conn.execute_batch("ROLLBACK").map_err(storage)?;
                    Err(e)
                }
            }
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
