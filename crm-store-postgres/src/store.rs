//! The store: pool, migrations, tenant-fenced transactions, the write path and the reads.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use sea_query::{LockType, PostgresQueryBuilder};
use sea_query_sqlx::SqlxBinder;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
// SQL strings come from sea-query with every value bound as a parameter, so they are
// asserted safe for sqlx.
use sqlx::{AssertSqlSafe, Postgres, Row, Transaction};
use uuid::Uuid;

use crm_core::model::{Contact, ContactPoint, Customer};
use crm_core::store::{
    Applied, Change, ChangeSet, CrmStore, EntityKind, EntityRead, EntityRef, ListQuery, Page,
    Record,
};
use crm_core::{CrmError, Result, StorageErrorKind, TenantId};
use crm_sql::{Dialect, SqlEntity};

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

async fn exists(tx: &mut Tx, stmt: &sea_query::SelectStatement) -> Result<bool> {
    let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
    Ok(sqlx::query_with(AssertSqlSafe(sql), values)
        .fetch_optional(&mut **tx)
        .await
        .map_err(storage)?
        .is_some())
}

/// The stored version of `target`, taking `lock` on its row. Locks are taken in the order a
/// change set touches rows (parents `FOR KEY SHARE` before a child is written, a row
/// `FOR UPDATE` before it is updated or deleted), so a delete of a parent and an insert
/// of its child serialise instead of deadlocking, and the loser sees the winner's commit.
async fn version_of(
    tx: &mut Tx,
    tenant: TenantId,
    target: EntityRef,
    lock: Option<LockType>,
) -> Result<Option<u64>> {
    let mut stmt = crm_sql::select_version(target, tenant);
    if let Some(l) = lock {
        stmt.lock(l);
    }
    let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
    let row = sqlx::query_with(AssertSqlSafe(sql), values)
        .fetch_optional(&mut **tx)
        .await
        .map_err(storage)?;
    row.map(|r| r.try_get::<i64, _>(0).map(|v| v as u64).map_err(storage))
        .transpose()
}

/// Runs a write statement; returns rows affected. Constraint failures become the domain's
/// errors: unique -> `AlreadyExists`; foreign key -> `on_fk`.
async fn execute(
    tx: &mut Tx,
    sql: String,
    values: sea_query_sqlx::SqlxValues,
    kind: EntityKind,
    on_fk: impl FnOnce() -> CrmError,
) -> Result<u64> {
    match sqlx::query_with(AssertSqlSafe(sql), values)
        .execute(&mut **tx)
        .await
    {
        Ok(done) => Ok(done.rows_affected()),
        Err(sqlx::Error::Database(db)) => match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => Err(CrmError::AlreadyExists {
                entity: kind,
                // The stable name of the violated key, from the constraint's name through
                // the schema's index declarations; a constraint the schema does not
                // declare (cannot happen with the shipped migrations) is named by its table.
                key: db
                    .constraint()
                    .and_then(crm_sql::unique_key_of_constraint)
                    .unwrap_or_else(|| format!("{}.unique", kind.name())),
            }),
            sqlx::error::ErrorKind::ForeignKeyViolation => Err(on_fk()),
            _ => Err(storage(sqlx::Error::Database(db))),
        },
        Err(e) => Err(storage(e)),
    }
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

async fn check_references(tx: &mut Tx, tenant: TenantId, rec: &Record) -> Result<()> {
    for parent in rec.references() {
        if version_of(tx, tenant, parent, Some(LockType::KeyShare))
            .await?
            .is_none()
        {
            return Err(CrmError::not_found(parent.kind, parent.id));
        }
    }
    Ok(())
}

/// The first missing reference of `rec` (for a foreign-key failure raced by a delete).
fn missing_reference(rec: &Record) -> CrmError {
    rec.references()
        .first()
        .map(|p| CrmError::not_found(p.kind, p.id))
        .unwrap_or_else(|| CrmError::not_found(rec.kind(), rec.id()))
}

async fn select_searched(
    tx: &mut Tx,
    tenant: TenantId,
    target: EntityRef,
) -> Result<Option<Record>> {
    if !crm_core::search::CUSTOMER_SEARCH.is_source(target.kind) {
        return Ok(None);
    }
    let rows = fetch_strings(tx, &crm_sql::select_one(target.kind, tenant, target.id)).await?;
    let Some(json) = rows.first() else {
        return Ok(None);
    };
    Ok(Some(match target.kind {
        EntityKind::Customer => Record::Customer(crm_sql::decode::<Customer>(json)?),
        EntityKind::Contact => Record::Contact(crm_sql::decode::<Contact>(json)?),
        _ => Record::ContactPoint(crm_sql::decode::<ContactPoint>(json)?),
    }))
}

async fn apply_one(
    tx: &mut Tx,
    tenant: TenantId,
    change: Change,
    touched: &mut BTreeSet<Uuid>,
) -> Result<()> {
    match change {
        Change::Insert(rec) => {
            check_tenant(tenant, &rec)?;
            let me = rec.entity_ref();
            if version_of(tx, tenant, me, None).await?.is_some() {
                return Err(CrmError::AlreadyExists {
                    entity: me.kind,
                    key: crm_core::store::keys::id_key(me.kind),
                });
            }
            check_references(tx, tenant, &rec).await?;
            let (sql, values) = crm_sql::insert(&rec)?.build_sqlx(PostgresQueryBuilder);
            execute(tx, sql, values, me.kind, || missing_reference(&rec)).await?;
            touched.extend(crm_core::search::search_owner(&rec));
        }
        Change::Update {
            expected_version,
            record,
        } => {
            check_tenant(tenant, &record)?;
            let me = record.entity_ref();
            let current = version_of(tx, tenant, me, Some(LockType::NoKeyUpdate))
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
            check_references(tx, tenant, &record).await?;
            if let Some(old) = select_searched(tx, tenant, me).await? {
                touched.extend(crm_core::search::search_owner(&old));
            }
            let (sql, values) =
                crm_sql::update(&record, expected_version)?.build_sqlx(PostgresQueryBuilder);
            let n = execute(tx, sql, values, me.kind, || missing_reference(&record)).await?;
            if n == 0 {
                return Err(CrmError::conflict(me.kind, me.id));
            }
            touched.extend(crm_core::search::search_owner(&record));
        }
        Change::Delete {
            target,
            expected_version,
        } => {
            let current = version_of(tx, tenant, target, Some(LockType::Update))
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
            for (by, probe) in crm_sql::referrer_probes(target, tenant) {
                if exists(tx, &probe).await? {
                    return Err(in_use(by.name()));
                }
            }
            if let Some(old) = select_searched(tx, tenant, target).await? {
                touched.extend(crm_core::search::search_owner(&old));
            }
            if target.kind == EntityKind::Customer {
                let (sql, values) =
                    crm_sql::delete_search(tenant, target.id).build_sqlx(PostgresQueryBuilder);
                execute(tx, sql, values, target.kind, || in_use("customer_search")).await?;
            }
            let (sql, values) =
                crm_sql::delete(target, tenant, expected_version).build_sqlx(PostgresQueryBuilder);
            let n = execute(tx, sql, values, target.kind, || {
                in_use("a concurrent insert")
            })
            .await?;
            if n == 0 {
                return Err(CrmError::conflict(target.kind, target.id));
            }
        }
        Change::Emit(event) => {
            let (sql, values) = crm_sql::next_event_seq(tenant).build_sqlx(PostgresQueryBuilder);
            let seq: i64 = sqlx::query_scalar_with(AssertSqlSafe(sql), values)
                .fetch_one(&mut **tx)
                .await
                .map_err(storage)?;
            let (sql, values) =
                crm_sql::insert_event(tenant, seq as u64, &event)?.build_sqlx(PostgresQueryBuilder);
            execute(tx, sql, values, EntityKind::Customer, || {
                CrmError::internal("an outbox insert reported a foreign-key violation")
            })
            .await
            .map_err(|e| match e {
                CrmError::AlreadyExists { .. } => CrmError::DuplicateExternalEvent {
                    external_id: event.external_id.clone().unwrap_or_default(),
                },
                other => other,
            })?;
        }
    }
    Ok(())
}

/// Inserts a run of consecutive inserts with a few set-based statements instead of several
/// round trips per row: one existence query per kind, one locking query per referenced
/// kind, and multi-row `INSERT`s in foreign-key order. The fast path is taken only when
/// every check passes up front (a reference inside the run must point to an earlier row
/// of the run, as applying the changes one by one requires); otherwise the run is applied
/// change by change, which reports exactly the error the one-by-one semantics give.
async fn insert_run(
    tx: &mut Tx,
    tenant: TenantId,
    run: Vec<Record>,
    touched: &mut BTreeSet<Uuid>,
) -> Result<()> {
    if run.len() < 2 || !run_is_clean(tx, tenant, &run).await? {
        for rec in run {
            apply_one(tx, tenant, Change::Insert(rec), touched).await?;
        }
        return Ok(());
    }
    let mut by_kind: BTreeMap<(usize, EntityKind), Vec<Record>> = BTreeMap::new();
    for rec in run {
        touched.extend(crm_core::search::search_owner(&rec));
        by_kind
            .entry((crm_sql::kind_rank(rec.kind()), rec.kind()))
            .or_default()
            .push(rec);
    }
    for ((_, kind), records) in by_kind {
        for chunk in records.chunks(crm_sql::max_rows_per_insert(kind)) {
            let (sql, values) = crm_sql::insert_many(chunk)?.build_sqlx(PostgresQueryBuilder);
            execute(tx, sql, values, kind, || missing_reference(&chunk[0])).await?;
        }
    }
    Ok(())
}

/// Whether a run of inserts can take the set-based path: right tenant, no id taken (in the
/// database or twice in the run), every reference either to an earlier row of the run or
/// to an existing row (locked `FOR KEY SHARE`).
async fn run_is_clean(tx: &mut Tx, tenant: TenantId, run: &[Record]) -> Result<bool> {
    let mut seen: HashSet<EntityRef> = HashSet::with_capacity(run.len());
    let mut outside: BTreeMap<EntityKind, BTreeSet<Uuid>> = BTreeMap::new();
    for rec in run {
        if rec.tenant_id() != tenant {
            return Ok(false);
        }
        for r in rec.references() {
            if !seen.contains(&r) {
                if run.iter().any(|x| x.entity_ref() == r) {
                    return Ok(false); // refers to a later row of the run
                }
                outside.entry(r.kind).or_default().insert(r.id);
            }
        }
        if !seen.insert(rec.entity_ref()) {
            return Ok(false);
        }
    }
    let mut ids: BTreeMap<EntityKind, Vec<Uuid>> = BTreeMap::new();
    for r in &seen {
        ids.entry(r.kind).or_default().push(r.id);
    }
    for (kind, ids) in ids {
        for chunk in ids.chunks(10_000) {
            if exists(tx, &crm_sql::select_existing(kind, tenant, chunk)).await? {
                return Ok(false);
            }
        }
    }
    for (kind, ids) in outside {
        let ids: Vec<Uuid> = ids.into_iter().collect();
        for chunk in ids.chunks(10_000) {
            let mut stmt = crm_sql::select_existing(kind, tenant, chunk);
            stmt.order_by(sea_query::Alias::new("id"), sea_query::Order::Asc)
                .lock(LockType::KeyShare);
            let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
            let found = sqlx::query_with(AssertSqlSafe(sql), values)
                .fetch_all(&mut **tx)
                .await
                .map_err(storage)?;
            if found.len() != chunk.len() {
                return Ok(false);
            }
        }
    }
    Ok(true)
}

/// Rebuilds the search documents of `customers` with set-based reads: the customers
/// (locked `FOR NO KEY UPDATE` in id order, so concurrent refreshes serialise without
/// deadlocks and read each other's committed rows), their contacts and contact points,
/// then one multi-row upsert; documents of customers that no longer exist are removed.
async fn refresh_search_many(
    tx: &mut Tx,
    tenant: TenantId,
    customers: &BTreeSet<Uuid>,
) -> Result<()> {
    let ids: Vec<Uuid> = customers.iter().copied().collect();
    for chunk in ids.chunks(crm_sql::IDS_PER_STATEMENT) {
        let mut stmt = crm_sql::select_where_in(EntityKind::Customer, tenant, "id", chunk);
        stmt.lock(LockType::NoKeyUpdate);
        let found: Vec<Customer> = fetch_strings(tx, &stmt)
            .await?
            .iter()
            .map(|j| crm_sql::decode(j))
            .collect::<Result<_>>()?;
        let mut contacts: HashMap<Uuid, Vec<Contact>> = HashMap::new();
        for j in fetch_strings(
            tx,
            &crm_sql::select_where_in(EntityKind::Contact, tenant, "customer_id", chunk),
        )
        .await?
        {
            let c: Contact = crm_sql::decode(&j)?;
            contacts.entry(c.customer_id.into()).or_default().push(c);
        }
        let mut points: HashMap<Uuid, Vec<ContactPoint>> = HashMap::new();
        for j in fetch_strings(
            tx,
            &crm_sql::select_where_in(EntityKind::ContactPoint, tenant, "customer_id", chunk),
        )
        .await?
        {
            let p: ContactPoint = crm_sql::decode(&j)?;
            points.entry(p.customer_id.into()).or_default().push(p);
        }
        let docs: Vec<(Uuid, String)> = found
            .iter()
            .map(|c| {
                let id: Uuid = c.id.into();
                let cs = contacts.get(&id).map(Vec::as_slice).unwrap_or(&[]);
                let ps = points.get(&id).map(Vec::as_slice).unwrap_or(&[]);
                (id, crm_core::search::customer_document(c, cs, ps))
            })
            .collect();
        if !docs.is_empty() {
            let (sql, values) =
                crm_sql::upsert_search_many(tenant, &docs, crm_sql::Dialect::Postgres)?
                    .build_sqlx(PostgresQueryBuilder);
            sqlx::query_with(AssertSqlSafe(sql), values)
                .execute(&mut **tx)
                .await
                .map_err(storage)?;
        }
        let alive: HashSet<Uuid> = docs.iter().map(|(id, _)| *id).collect();
        for gone in chunk.iter().filter(|id| !alive.contains(id)) {
            let (sql, values) =
                crm_sql::delete_search(tenant, *gone).build_sqlx(PostgresQueryBuilder);
            sqlx::query_with(AssertSqlSafe(sql), values)
                .execute(&mut **tx)
                .await
                .map_err(storage)?;
        }
    }
    Ok(())
}

#[async_trait]
impl CrmStore for PgStore {
    #[tracing::instrument(name = "store.apply", level = "debug", skip_all, fields(tenant = %tenant, changes = changes.changes.len()), err(level = "debug"))]
    async fn apply(&self, tenant: TenantId, changes: ChangeSet) -> Result<Applied> {
        for change in &changes.changes {
            change.check_storable()?;
        }
        let applied = Applied::of(&changes);
        let mut tx = self.begin_tenant(tenant).await?;
        let mut touched = BTreeSet::new();
        let mut run: Vec<Record> = Vec::new();
        for change in changes.changes {
            match change {
                Change::Insert(rec) => run.push(rec),
                other => {
                    insert_run(&mut tx, tenant, std::mem::take(&mut run), &mut touched).await?;
                    apply_one(&mut tx, tenant, other, &mut touched).await?;
                }
            }
        }
        insert_run(&mut tx, tenant, run, &mut touched).await?;
        refresh_search_many(&mut tx, tenant, &touched).await?;
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
