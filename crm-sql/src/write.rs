//! The write protocol's primitives in SQL, written once for both SQL stores.
//!
//! A store wraps its open transaction in a [`SqlExec`] (run a statement's text with bound
//! values, and say what a constraint refused); [`SqlTx`] turns every primitive of
//! [`WriteTx`] into the statements of this crate, and [`crm_core::store::protocol::apply`]
//! decides which primitives run. A store holds neither SQL nor rules of its own.

use async_trait::async_trait;
use sea_query::{LockType, PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder, Value};
use uuid::Uuid;

use crm_core::store::protocol::{Fault, Projection, RowLock, WriteResult, WriteTx};
use crm_core::store::{EntityKind, EntityRef, NewEvent, Record};
use crm_core::{CrmError, Result, TenantId};

use crate::Dialect;

/// An open transaction of a SQL store: runs statement texts with bound values.
#[async_trait]
pub trait SqlExec: Send {
    /// The dialect the statements are built for.
    fn dialect(&self) -> Dialect;

    /// Runs a write statement; the rows it changed, or what a constraint refused
    /// ([`Fault::PrimaryKey`], [`Fault::Unique`] with the key's stable name through
    /// [`crate::unique_key_of_columns`] / [`crate::unique_key_of_constraint`],
    /// [`Fault::Reference`]).
    async fn execute(&mut self, sql: &str, values: Vec<Value>) -> WriteResult<u64>;

    /// The first column of every row, as text.
    async fn query_strings(&mut self, sql: &str, values: Vec<Value>) -> Result<Vec<String>>;

    /// The first column of the first row, as an integer.
    async fn query_i64(&mut self, sql: &str, values: Vec<Value>) -> Result<Option<i64>>;

    /// The number of rows.
    async fn query_count(&mut self, sql: &str, values: Vec<Value>) -> Result<usize>;
}

/// The primitives of the write protocol over a [`SqlExec`], scoped to one tenant.
pub struct SqlTx<X> {
    /// The store's transaction.
    pub exec: X,
    tenant: TenantId,
}

impl<X: SqlExec> SqlTx<X> {
    /// The protocol's primitives over `exec` for `tenant`'s change set.
    pub fn new(exec: X, tenant: TenantId) -> Self {
        Self { exec, tenant }
    }

    fn build<S: QueryStatementWriter>(&self, stmt: &S) -> (String, Vec<Value>) {
        let (sql, values) = match self.exec.dialect() {
            Dialect::Sqlite => stmt.build(SqliteQueryBuilder),
            Dialect::Postgres => stmt.build(PostgresQueryBuilder),
        };
        (sql, values.0)
    }

    fn lock(&self, stmt: &mut sea_query::SelectStatement, lock: RowLock) {
        if self.exec.dialect() != Dialect::Postgres {
            return;
        }
        let l = match lock {
            RowLock::None => return,
            RowLock::KeyShare => LockType::KeyShare,
            RowLock::NoKeyUpdate => LockType::NoKeyUpdate,
            RowLock::Update => LockType::Update,
        };
        stmt.lock(l);
    }

    async fn rows(
        &mut self,
        kind: EntityKind,
        sql: &str,
        values: Vec<Value>,
    ) -> Result<Vec<Record>> {
        self.exec
            .query_strings(sql, values)
            .await?
            .iter()
            .map(|j| crate::decode_record(kind, j))
            .collect()
    }
}

/// A fault of a statement that cannot refuse on a constraint, as an error.
fn plain(f: Fault) -> CrmError {
    match f {
        Fault::Error(e) => e,
        other => CrmError::internal(format!("a derived row's write was refused: {other:?}")),
    }
}

#[async_trait]
impl<X: SqlExec> WriteTx for SqlTx<X> {
    async fn version_of(&mut self, target: EntityRef, lock: RowLock) -> Result<Option<u64>> {
        let d = self.exec.dialect();
        let values = crate::key_values(target, self.tenant);
        let v = if lock == RowLock::None || d != Dialect::Postgres {
            // The text is built once per kind (crm-sql); only the values are bound.
            let sql = crate::select_version_sql(target.kind, d);
            self.exec.query_i64(sql, values).await?
        } else {
            let mut stmt = crate::select_version(target, self.tenant);
            self.lock(&mut stmt, lock);
            let (sql, values) = self.build(&stmt);
            self.exec.query_i64(&sql, values).await?
        };
        Ok(v.map(|v| v as u64))
    }

    async fn read(&mut self, target: EntityRef) -> Result<Option<Record>> {
        let sql = crate::select_one_sql(target.kind, self.exec.dialect());
        let values = crate::key_values(target, self.tenant);
        Ok(self
            .rows(target.kind, sql, values)
            .await?
            .into_iter()
            .next())
    }

    async fn read_where(
        &mut self,
        kind: EntityKind,
        field: &'static str,
        _parent: EntityKind,
        ids: &[Uuid],
        lock: RowLock,
    ) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(crate::IDS_PER_STATEMENT) {
            let mut stmt = crate::select_where_in(kind, self.tenant, field, chunk);
            self.lock(&mut stmt, lock);
            let (sql, values) = self.build(&stmt);
            out.extend(self.rows(kind, &sql, values).await?);
        }
        Ok(out)
    }

    async fn count_existing(
        &mut self,
        kind: EntityKind,
        ids: &[Uuid],
        lock: RowLock,
    ) -> Result<usize> {
        let mut n = 0;
        for chunk in ids.chunks(crate::IDS_PER_STATEMENT) {
            let mut stmt = crate::select_existing(kind, self.tenant, chunk);
            stmt.order_by(crate::ident("id"), sea_query::Order::Asc);
            self.lock(&mut stmt, lock);
            let (sql, values) = self.build(&stmt);
            n += self.exec.query_count(&sql, values).await?;
        }
        Ok(n)
    }

    async fn first_referrer(&mut self, target: EntityRef) -> Result<Option<EntityKind>> {
        for (by, probe) in crate::referrer_probes(target, self.tenant) {
            let (sql, values) = self.build(&probe);
            if self.exec.query_count(&sql, values).await? > 0 {
                return Ok(Some(by));
            }
        }
        Ok(None)
    }

    async fn insert(&mut self, record: &Record) -> WriteResult<()> {
        let sql = crate::insert_sql(record.kind(), self.exec.dialect());
        let values = crate::insert_values(record)?;
        self.exec.execute(sql, values).await.map(|_| ())
    }

    async fn insert_many(&mut self, records: &[Record]) -> WriteResult<()> {
        let Some(first) = records.first() else {
            return Ok(());
        };
        if !self.set_based_inserts() {
            for r in records {
                self.insert(r).await?;
            }
            return Ok(());
        }
        for chunk in records.chunks(crate::max_rows_per_insert(first.kind())) {
            let (sql, values) = self.build(&crate::insert_many(chunk)?);
            self.exec.execute(&sql, values).await?;
        }
        Ok(())
    }

    /// Set-wise where every statement is a round trip to a server (PostgreSQL); SQLite
    /// runs its prepared single-row statements in process.
    fn set_based_inserts(&self) -> bool {
        self.exec.dialect() == Dialect::Postgres
    }

    async fn update(&mut self, record: &Record, expected_version: u64) -> WriteResult<u64> {
        let (sql, values) = self.build(&crate::update(record, expected_version)?);
        self.exec.execute(&sql, values).await
    }

    async fn delete(
        &mut self,
        target: EntityRef,
        expected_version: Option<u64>,
    ) -> WriteResult<u64> {
        let (sql, values) = self.build(&crate::delete(target, self.tenant, expected_version));
        self.exec.execute(&sql, values).await
    }

    async fn append_event(&mut self, event: &NewEvent) -> WriteResult<()> {
        let (sql, values) = self.build(&crate::next_event_seq(self.tenant));
        let seq = self
            .exec
            .query_i64(&sql, values)
            .await?
            .ok_or_else(|| CrmError::internal("the outbox counter returned no number"))?;
        let (sql, values) = self.build(&crate::insert_event(self.tenant, seq as u64, event)?);
        self.exec.execute(&sql, values).await.map(|_| ())
    }

    async fn put_derived(
        &mut self,
        projection: &Projection,
        rows: &[(Uuid, String)],
    ) -> Result<()> {
        check_table(projection)?;
        for chunk in rows.chunks(crate::IDS_PER_STATEMENT) {
            let stmt = crate::upsert_search_many(self.tenant, chunk, self.exec.dialect())?;
            let (sql, values) = self.build(&stmt);
            self.exec.execute(&sql, values).await.map_err(plain)?;
        }
        Ok(())
    }

    async fn drop_derived(&mut self, projection: &Projection, owners: &[Uuid]) -> Result<()> {
        check_table(projection)?;
        for owner in owners {
            let (sql, values) = self.build(&crate::delete_search(self.tenant, *owner));
            self.exec.execute(&sql, values).await.map_err(plain)?;
        }
        Ok(())
    }
}

/// The SQL stores keep derived rows in a table of the projection's name, whose layout
/// this crate declares: a projection without one is a bug of this crate.
fn check_table(projection: &Projection) -> Result<()> {
    if projection.name == crate::SEARCH_TABLE {
        Ok(())
    } else {
        Err(CrmError::internal(format!(
            "crm-sql declares no table for the projection {}",
            projection.name
        )))
    }
}
