//! The store: pool, migrations, tenant-fenced transactions, the write path and the reads.

use async_trait::async_trait;
use sea_query::PostgresQueryBuilder;
use sea_query_sqlx::SqlxBinder;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
// SQL strings come from sea-query with every value bound as a parameter, so they are
// asserted safe for sqlx.
use crm_core::store::protocol::{self, Fault, WriteResult};
use crm_core::store::{Applied, ChangeSet, CrmStore, EntityRead, ListQuery, Page};
use crm_core::{CrmError, Result, StorageErrorKind, TenantId};
use crm_sql::{Dialect, SqlEntity, SqlExec, SqlTx};
use sqlx::{AssertSqlSafe, Postgres, Row, Transaction};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// The role every store transaction switches to, so row-level security applies even when
/// the pool's user is a superuser or the tables' owner.
pub const TENANT_ROLE: &str = "crm_tenant";

/// A PostgreSQL-backed [`CrmStore`]. Cloning is cheap and shares the pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
    role: Option<String>,
}

/// SQLSTATEs of failures that may succeed when retried: serialization failure, deadlock,
/// lock not available. sqlx's [`sqlx::error::ErrorKind`] has no kind for them.
const RETRYABLE_SQLSTATES: &[&str] = &["40001", "40P01", "55P03"];

fn storage(e: sqlx::Error) -> CrmError {
    let kind = match &e {
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some(code) if RETRYABLE_SQLSTATES.contains(&code) => StorageErrorKind::Busy,
            _ => StorageErrorKind::Other,
        },
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_) => StorageErrorKind::Connection,
        _ => StorageErrorKind::Other,
    };
    CrmError::storage(kind, e)
}

impl PgStore {
    /// Connects a pool to `url` (a `postgres://` URL; add `?options=-csearch_path%3Dmy_schema`
    /// to use another schema).
    pub async fn connect(url: &str) -> Result<Self> {
        let opts: PgConnectOptions = url
            .parse()
            .map_err(|e| CrmError::storage(StorageErrorKind::Connection, e))?;
        Self::connect_with(opts).await
    }

    /// Connects a pool with explicit options.
    pub async fn connect_with(opts: PgConnectOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .connect_with(opts)
            .await
            .map_err(storage)?;
        Self::from_pool(pool).await
    }

    /// Uses a pool configured by the host. Fails if the database was migrated by a newer
    /// version of this store.
    pub async fn from_pool(pool: PgPool) -> Result<Self> {
        let store = Self {
            pool,
            role: Some(TENANT_ROLE.to_string()),
        };
        store.check_not_newer().await?;
        Ok(store)
    }

    /// Changes the role store transactions switch to (`None`: stay the pool's user, for
    /// hosts whose user owns the tables and is no superuser, where forced row-level security
    /// applies without a role switch).
    #[must_use]
    pub fn with_role(mut self, role: Option<String>) -> Self {
        self.role = role;
        self
    }

    /// The pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The newest schema version this build knows.
    pub fn latest_version() -> i64 {
        MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0)
    }

    /// The schema version of the database (0 before the first migration).
    pub async fn schema_version(&self) -> Result<i64> {
        let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
            .fetch_one(&self.pool)
            .await
            .map_err(storage)?;
        if !exists {
            return Ok(0);
        }
        let v: Option<i64> =
            sqlx::query_scalar("SELECT max(version) FROM _sqlx_migrations WHERE success")
                .fetch_one(&self.pool)
                .await
                .map_err(storage)?;
        Ok(v.unwrap_or(0))
    }

    async fn check_not_newer(&self) -> Result<()> {
        let found = self.schema_version().await?;
        let latest = Self::latest_version();
        if found > latest {
            return Err(CrmError::storage(
                StorageErrorKind::Schema,
                format!(
                    "the database has schema version {found}, newer than version {latest} of this crm-store-postgres; upgrade the library"
                ),
            ));
        }
        Ok(())
    }

    /// Brings the schema to the latest version (each migration in its own transaction,
    /// serialised across processes by an advisory lock). Idempotent.
    pub async fn migrate(&self) -> Result<()> {
        self.check_not_newer().await?;
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| CrmError::storage(StorageErrorKind::Schema, e))
    }

    /// A transaction fenced to `tenant`: the store's role is set and `app.tenant_id` is
    /// `tenant`, so row-level security hides every other tenant's rows, whatever the query.
    pub async fn begin_tenant(&self, tenant: TenantId) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await.map_err(storage)?;
        // One round trip sets the whole fence. `plan_cache_mode`: the statements of a write
        // are prepared once per connection, and a generic plan made while the tables were
        // small (a fresh schema, before autovacuum's first ANALYZE) would keep sequential
        // scans for the life of the connection; custom plans see the current table sizes.
        let fence = sqlx::query(
            "SELECT set_config('app.tenant_id', $1, true), \
             set_config('plan_cache_mode', 'force_custom_plan', true), \
             CASE WHEN $2::text IS NULL THEN NULL ELSE set_config('role', $2::text, true) END",
        )
        .bind(tenant.to_string())
        .bind(self.role.as_deref());
        fence.execute(&mut *tx).await.map_err(storage)?;
        Ok(tx)
    }
}

type Tx = Transaction<'static, Postgres>;

async fn fetch_strings(tx: &mut Tx, stmt: &sea_query::SelectStatement) -> Result<Vec<String>> {
    let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
    let rows = sqlx::query_with(AssertSqlSafe(sql), values)
        .fetch_all(&mut **tx)
        .await
        .map_err(storage)?;
    rows.iter()
        .map(|r| r.try_get::<String, _>(0).map_err(storage))
        .collect()
}

/// What a constraint refused: unique -> [`Fault::Unique`] with the stable name of the
/// violated key, from the constraint's name through the schema's index declarations;
/// foreign key -> [`Fault::Reference`]; anything else is a storage error.
fn fault(e: sqlx::Error) -> Fault {
    match e {
        sqlx::Error::Database(db) => match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => {
                Fault::Unique(db.constraint().and_then(crm_sql::unique_key_of_constraint))
            }
            sqlx::error::ErrorKind::ForeignKeyViolation => Fault::Reference,
            _ => Fault::Error(storage(sqlx::Error::Database(db))),
        },
        e => Fault::Error(storage(e)),
    }
}

fn sqlx_values(values: Vec<sea_query::Value>) -> sea_query_sqlx::SqlxValues {
    sea_query_sqlx::SqlxValues(sea_query::Values(values))
}

/// A tenant-fenced transaction as the statements' executor of the write protocol
/// ([`crm_sql::SqlTx`]).
struct PgExec<'t> {
    tx: &'t mut Tx,
}

#[async_trait]
impl SqlExec for PgExec<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn execute(&mut self, sql: &str, values: Vec<sea_query::Value>) -> WriteResult<u64> {
        let done = sqlx::query_with(AssertSqlSafe(sql.to_owned()), sqlx_values(values))
            .execute(&mut **self.tx)
            .await
            .map_err(fault)?;
        Ok(done.rows_affected())
    }

    async fn query_strings(
        &mut self,
        sql: &str,
        values: Vec<sea_query::Value>,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query_with(AssertSqlSafe(sql.to_owned()), sqlx_values(values))
            .fetch_all(&mut **self.tx)
            .await
            .map_err(storage)?;
        rows.iter()
            .map(|r| r.try_get::<String, _>(0).map_err(storage))
            .collect()
    }

    async fn query_i64(&mut self, sql: &str, values: Vec<sea_query::Value>) -> Result<Option<i64>> {
        let row = sqlx::query_with(AssertSqlSafe(sql.to_owned()), sqlx_values(values))
            .fetch_optional(&mut **self.tx)
            .await
            .map_err(storage)?;
        row.map(|r| r.try_get::<i64, _>(0).map_err(storage))
            .transpose()
    }

    async fn query_count(&mut self, sql: &str, values: Vec<sea_query::Value>) -> Result<usize> {
        let rows = sqlx::query_with(AssertSqlSafe(sql.to_owned()), sqlx_values(values))
            .fetch_all(&mut **self.tx)
            .await
            .map_err(storage)?;
        Ok(rows.len())
    }
}

#[async_trait]
impl CrmStore for PgStore {
    #[tracing::instrument(name = "store.apply", level = "debug", skip_all, fields(tenant = %tenant, changes = changes.changes.len()), err(level = "debug"))]
    async fn apply(&self, tenant: TenantId, changes: ChangeSet) -> Result<Applied> {
        let mut tx = self.begin_tenant(tenant).await?;
        let applied = {
            let mut write = SqlTx::new(PgExec { tx: &mut tx }, tenant);
            protocol::apply(&mut write, tenant, changes).await?
        };
        tx.commit().await.map_err(storage)?;
        Ok(applied)
    }

    #[tracing::instrument(name = "store.events_after", level = "debug", skip_all, fields(tenant = %tenant, after, limit), err(level = "debug"))]
    async fn events_after(
        &self,
        tenant: TenantId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<crm_core::store::StoredEvent>> {
        let (sql, values) =
            crm_sql::select_events(tenant, after, limit).build_sqlx(PostgresQueryBuilder);
        let mut tx = self.begin_tenant(tenant).await?;
        let rows = sqlx::query_with(AssertSqlSafe(sql), values)
            .fetch_all(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        rows.iter()
            .map(|r| {
                let seq: i64 = r.try_get(0).map_err(storage)?;
                let data: String = r.try_get(1).map_err(storage)?;
                crm_sql::decode_event(tenant, seq, &data)
            })
            .collect()
    }

    async fn external_id_claimed(&self, tenant: TenantId, external_id: &str) -> Result<bool> {
        let (sql, values) =
            crm_sql::select_external_id(tenant, external_id).build_sqlx(PostgresQueryBuilder);
        let mut tx = self.begin_tenant(tenant).await?;
        let row = sqlx::query_with(AssertSqlSafe(sql), values)
            .fetch_optional(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(row.is_some())
    }
}

#[async_trait]
impl<E: SqlEntity> EntityRead<E> for PgStore {
    #[tracing::instrument(name = "store.get", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND), err(level = "debug"))]
    async fn get(&self, tenant: TenantId, id: E::Id) -> Result<Option<E>> {
        let mut tx = self.begin_tenant(tenant).await?;
        let rows = fetch_strings(&mut tx, &crm_sql::select_one(E::KIND, tenant, id.into())).await?;
        tx.commit().await.map_err(storage)?;
        rows.first().map(|j| crm_sql::decode::<E>(j)).transpose()
    }

    #[tracing::instrument(name = "store.get_many", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND, ids = ids.len()), err(level = "debug"))]
    async fn get_many(&self, tenant: TenantId, ids: &[E::Id]) -> Result<Vec<E>> {
        let ids = crm_core::store::distinct_ids(ids);
        let mut tx = self.begin_tenant(tenant).await?;
        let mut rows = Vec::new();
        for chunk in ids.chunks(crm_sql::IDS_PER_STATEMENT) {
            let stmt = crm_sql::select_where_in(E::KIND, tenant, "id", chunk);
            rows.extend(fetch_strings(&mut tx, &stmt).await?);
        }
        tx.commit().await.map_err(storage)?;
        rows.iter().map(|j| crm_sql::decode::<E>(j)).collect()
    }

    #[tracing::instrument(name = "store.list", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND, limit = query.limit), err(level = "debug"))]
    async fn list(&self, tenant: TenantId, query: &ListQuery<E>) -> Result<Page<E>> {
        let stmt = crm_sql::select_page(tenant, query, Dialect::Postgres)?;
        let mut tx = self.begin_tenant(tenant).await?;
        let rows = fetch_strings(&mut tx, &stmt).await?;
        tx.commit().await.map_err(storage)?;
        let rows = rows
            .iter()
            .map(|j| crm_sql::decode::<E>(j))
            .collect::<Result<Vec<E>>>()?;
        Ok(crm_sql::finish_page(rows, query))
    }

    #[tracing::instrument(name = "store.count", level = "debug", skip_all, fields(tenant = %tenant, kind = %E::KIND), err(level = "debug"))]
    async fn count(&self, tenant: TenantId, filter: &E::Filter) -> Result<u64> {
        let (sql, values) = crm_sql::select_count::<E>(tenant, filter, Dialect::Postgres)?
            .build_sqlx(PostgresQueryBuilder);
        let mut tx = self.begin_tenant(tenant).await?;
        let n: i64 = sqlx::query_scalar_with(AssertSqlSafe(sql), values)
            .fetch_one(&mut *tx)
            .await
            .map_err(storage)?;
        tx.commit().await.map_err(storage)?;
        Ok(n as u64)
    }
}
