//! # crm-sql
//!
//! The one place both SQL stores get their SQL from: the table layout of every entity,
//! DDL for both dialects, and sea-query builders for get / list / count / insert / update /
//! delete / reference checks. No IO: stores bind and run what is built here.
//!
//! ## Layout
//! Every entity has one table named after its [`EntityKind`]. The common columns are
//! `tenant_id`, `id` (primary key `(tenant_id, id)`), `version`, `created_at`, `updated_at`
//! and `data`, the entity as JSON (the source of truth when reading). Next to them each
//! table carries *projection* columns: the fields its filters and sorts read, each computed
//! by crm-core's own code (`SortKey::value` for sort columns) so SQL compares exactly what
//! the memory store compares. Times are `BIGINT` nanoseconds since the Unix epoch (exact,
//! 1677..2262), text sort keys are lower-cased by Rust, enums are their snake_case names.
//! Reference columns carry composite foreign keys `(tenant_id, col)` to the referenced
//! table, so every foreign key includes the tenant.
#![warn(missing_docs)]

mod entities;
mod schema;
mod write;

pub use write::{SqlExec, SqlTx};

pub use schema::{
    ddl, index_ddl, index_name, tables as ddl_tables, unique_key_of_columns,
    unique_key_of_constraint, Col, ColKind, Index, TableDef,
};

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::{DateTime, NaiveDate, Utc};
use sea_query::{
    Alias, BinOper, Cond, Condition, DeleteStatement, Expr, ExprTrait, Func, InsertStatement,
    NullOrdering, Order, PostgresQueryBuilder, Query, SelectStatement, SimpleExpr,
    SqliteQueryBuilder, UpdateStatement, Value,
};
use serde::Serialize;
use uuid::Uuid;

use crm_core::store::{
    Direction, Entity, EntityKind, EntityRef, ListQuery, Record, SortKey, SortValue,
};
use crm_core::{CrmError, Result, TagId, TenantId};

/// The SQL dialect to build for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dialect {
    /// SQLite 3.35+ (bundled by rusqlite).
    Sqlite,
    /// PostgreSQL 13+.
    Postgres,
}

/// Common columns every table starts with.
pub const COMMON: &[&str] = &[
    "tenant_id",
    "id",
    "version",
    "created_at",
    "updated_at",
    "data",
];

/// An entity stored in a SQL table.
pub trait SqlEntity: Entity {
    /// The projection columns after the common ones.
    fn columns() -> &'static [Col];
    /// Indexes beyond the primary key (all lead with `tenant_id`).
    fn indexes() -> &'static [Index] {
        &[]
    }
    /// The projection values, in the order of [`SqlEntity::columns`].
    fn values(&self) -> Result<Vec<Value>>;
    /// The SQL form of the filter's plain-field conditions (the `tag` and `text` parts are
    /// added by [`select_page`] and [`select_count`]).
    fn condition(filter: &Self::Filter, dialect: Dialect) -> Condition;
    /// The column holding the sort key.
    fn sort_column(sort: &Self::Sort) -> &'static str;
    /// The common time columns that get an index of their own (lists sorted or filtered
    /// by them); both by default.
    fn time_indexes() -> &'static [&'static str] {
        &["created_at", "updated_at"]
    }
}

/// `Alias` for a column or table name.
pub fn ident(name: &str) -> Alias {
    Alias::new(name)
}

/// The table of a kind.
pub fn table(kind: EntityKind) -> Alias {
    Alias::new(kind.name())
}

/// Column expression.
pub fn col(name: &str) -> Expr {
    Expr::col(ident(name))
}

/// Nanoseconds since the Unix epoch of a time; fails outside 1677..2262.
pub fn nanos(field: &str, t: DateTime<Utc>) -> Result<i64> {
    t.timestamp_nanos_opt()
        .ok_or_else(|| CrmError::validation(field, "time outside the years 1677..2262"))
}

/// Optional form of [`nanos`].
pub fn opt_nanos(field: &str, t: Option<DateTime<Utc>>) -> Result<Value> {
    Ok(t.map(|t| nanos(field, t)).transpose()?.into())
}

/// Nanoseconds of midnight UTC of a date.
pub fn date_nanos(field: &str, d: Option<NaiveDate>) -> Result<Value> {
    opt_nanos(
        field,
        d.and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()),
    )
}

/// The snake_case name serde gives an enum value.
pub fn enum_text<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// Optional enum text as a value.
pub fn opt_enum<T: Serialize>(v: Option<&T>) -> Value {
    v.map(enum_text).into()
}

/// An id as a value.
pub fn uuid_value<I: Into<Uuid>>(id: I) -> Value {
    Value::from(id.into())
}

/// An optional id as a value.
pub fn opt_uuid<I: Into<Uuid>>(id: Option<I>) -> Value {
    id.map(Into::into).into()
}

/// The value of a sort key as stored in its column.
pub fn sort_value(v: &SortValue) -> Result<Option<Value>> {
    Ok(match v {
        SortValue::Int(i) => Some(Value::from(*i)),
        SortValue::Text(s) => Some(Value::from(s.clone())),
        SortValue::Time(t) => Some(Value::from(nanos("cursor", *t)?)),
        SortValue::Null => None,
    })
}

/// Condition helpers used by the entity mappings.
pub(crate) mod cond {
    use super::*;

    /// `col = v` when `v` is set.
    pub fn eq<V: Into<Value>>(c: &mut Vec<SimpleExpr>, name: &str, v: Option<V>) {
        if let Some(v) = v {
            c.push(col(name).eq(v.into()));
        }
    }

    /// `col = text(v)` for an enum when set.
    pub fn eq_enum<T: Serialize>(c: &mut Vec<SimpleExpr>, name: &str, v: Option<&T>) {
        if let Some(v) = v {
            c.push(col(name).eq(enum_text(v)));
        }
    }

    /// `col >= from AND col < to` on a nanosecond column.
    pub fn range(
        c: &mut Vec<SimpleExpr>,
        name: &str,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
    ) {
        if let Some(f) = from {
            c.push(time_cmp(name, f, BinOper::GreaterThanOrEqual));
        }
        if let Some(t) = to {
            c.push(time_cmp(name, t, BinOper::SmallerThan));
        }
    }

    /// `col <op> nanos(t)`; a time outside the representable range compares as the
    /// nearest bound would.
    pub fn time_cmp(name: &str, t: DateTime<Utc>, op: BinOper) -> SimpleExpr {
        let n = t.timestamp_nanos_opt().unwrap_or(if t.timestamp() < 0 {
            i64::MIN
        } else {
            i64::MAX
        });
        col(name).binary(op, Expr::val(n))
    }

    /// Adds a raw expression.
    pub fn add(c: &mut Vec<SimpleExpr>, e: SimpleExpr) {
        c.push(e);
    }

    /// The link filter conditions on `customer_id`, `contact_id`, `lead_id`, `deal_id`.
    pub fn links(c: &mut Vec<SimpleExpr>, l: &crm_core::LinkFilter) {
        eq(c, "customer_id", l.customer_id.map(Uuid::from));
        eq(c, "contact_id", l.contact_id.map(Uuid::from));
        eq(c, "lead_id", l.lead_id.map(Uuid::from));
        eq(c, "deal_id", l.deal_id.map(Uuid::from));
    }

    /// `strpos`/`instr(col, needle) > 0`: exact, case-sensitive substring test.
    pub fn contains(dialect: Dialect, name: &str, needle: &str) -> SimpleExpr {
        let f = match dialect {
            Dialect::Sqlite => "instr",
            Dialect::Postgres => "strpos",
        };
        Expr::expr(Func::cust(ident(f)).arg(col(name)).arg(needle.to_string())).gt(0)
    }
}

/// `SELECT data FROM <table> WHERE tenant_id = ? AND id = ?`.
pub fn select_one(kind: EntityKind, tenant: TenantId, id: Uuid) -> SelectStatement {
    Query::select()
        .column(ident("data"))
        .from(table(kind))
        .and_where(col("tenant_id").eq(uuid_value(tenant)))
        .and_where(col("id").eq(id))
        .to_owned()
}

/// `SELECT version FROM <table> WHERE tenant_id = ? AND id = ?`.
pub fn select_version(target: EntityRef, tenant: TenantId) -> SelectStatement {
    Query::select()
        .column(ident("version"))
        .from(table(target.kind))
        .and_where(col("tenant_id").eq(uuid_value(tenant)))
        .and_where(col("id").eq(target.id))
        .to_owned()
}

/// The full WHERE condition of a filter, including the tenant, the tag and the text parts.
///
/// Checks the filter first ([`crm_core::store::EntityFilter::validate`]): a search text
/// beyond [`crm_core::search`]'s bounds or a NUL in a text value is a `Validation` error,
/// so the condition built never grows with the input beyond those bounds.
pub fn filter_condition<E: SqlEntity>(
    tenant: TenantId,
    filter: &E::Filter,
    dialect: Dialect,
) -> Result<Condition> {
    use crm_core::store::EntityFilter;
    filter.validate()?;
    let mut c = Cond::all().add(col("tenant_id").eq(uuid_value(tenant)));
    c = c.add(E::condition(filter, dialect));
    if let Some(tag) = filter.tag() {
        c = c.add(tagged(tenant, E::KIND, tag));
    }
    if let Some(text) = filter.text() {
        c = c.add(text_search(tenant, text, dialect)?);
    }
    Ok(c)
}

/// `id IN (SELECT target_id FROM tag_assignment WHERE tenant_id = ? AND tag_id = ? AND
/// target_kind = ?)`.
fn tagged(tenant: TenantId, kind: EntityKind, tag: TagId) -> SimpleExpr {
    col("id").in_subquery(
        Query::select()
            .column(ident("target_id"))
            .from(table(EntityKind::TagAssignment))
            .and_where(col("tenant_id").eq(uuid_value(tenant)))
            .and_where(col("tag_id").eq(uuid_value(tag)))
            .and_where(col("target_kind").eq(kind.name()))
            .to_owned(),
    )
}

/// Table holding each customer's search document (see [`crm_core::search`]); in SQLite
/// its integer key `search_id` is the rowid of the FTS index.
pub const SEARCH_TABLE: &str = "customer_search";
/// PostgreSQL view over [`SEARCH_TABLE`] that applies the tenant fence itself (migration
/// 0004): text searches read it so that the pg_trgm index can answer `LIKE`, which the
/// table's row-level security policy would prevent (`LIKE` is not leakproof).
pub const SEARCH_VIEW: &str = "customer_search_fenced";
/// SQLite FTS5 (trigram) index over [`SEARCH_TABLE`].
pub const FTS_TABLE: &str = "customer_fts";

/// Width, in characters, of the windows PostgreSQL's `customer_search.grams` column holds
/// (migration 0006).
pub const SEARCH_GRAM_WIDTH: usize = 4;

/// The distinct [`SEARCH_GRAM_WIDTH`]-character windows of `text` that contain no space,
/// sorted bytewise (as PostgreSQL's `COLLATE "C"` sorts them).
fn windows(text: &str) -> Vec<&str> {
    let bounds: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(text.len()))
        .collect();
    let mut grams: Vec<&str> = bounds
        .windows(SEARCH_GRAM_WIDTH + 1)
        .map(|w| &text[w[0]..w[SEARCH_GRAM_WIDTH]])
        .filter(|g| !g.contains(' '))
        .collect();
    grams.sort_unstable();
    grams.dedup();
    grams
}

/// The value of PostgreSQL's `customer_search.grams` for a search document: its distinct
/// [`SEARCH_GRAM_WIDTH`]-character windows without a space, sorted, joined by single
/// spaces (migration 0006 computes the same for documents written before it).
pub fn document_grams(doc: &str) -> String {
    windows(doc).join(" ")
}

/// The windows of `term` that [`document_grams`] would hold for any document containing
/// it, or `None` when there are none (a term shorter than [`SEARCH_GRAM_WIDTH`], say), in
/// which case the grams index cannot narrow the search.
pub fn search_grams(term: &str) -> Option<Vec<&str>> {
    let grams = windows(term);
    (!grams.is_empty()).then_some(grams)
}

/// Customers whose search document contains every term of `text`. SQLite narrows with the
/// FTS5 trigram index (terms of three or more characters) and confirms with `instr`.
/// PostgreSQL narrows a term with [`search_grams`] by the GIN index on
/// `string_to_array(grams, ' ')` (see [`document_grams`]) and confirms with `strpos`; a
/// term too short for that uses `LIKE '%term%'` (escaped), answered by the pg_trgm GIN
/// index. It reads the fenced [`SEARCH_VIEW`] in a subquery kept apart by `OFFSET 0`:
/// pulled up into the outer query, its tenant condition would join the `customer` policy's
/// equivalence class and the planner would again have to run the policy before `LIKE` and
/// `@>`, neither of which is leakproof.
fn text_search(tenant: TenantId, text: &str, dialect: Dialect) -> Result<SimpleExpr> {
    let terms = crm_core::search::query_terms(text)?;
    let phrases: Vec<String> = terms
        .iter()
        .filter(|t| t.chars().count() >= 3)
        .map(|t| format!("\"{}\"", t.replace('"', "\"\"")))
        .collect();
    let fts = dialect == Dialect::Sqlite && !phrases.is_empty();
    // With FTS hits to start from, a unary `+` keeps SQLite from walking the tenant's whole
    // (tenant_id, customer_id) index instead of looking the hits up by rowid.
    let tenant_col = if fts {
        Expr::cust("+\"tenant_id\"")
    } else {
        Expr::col(ident("tenant_id"))
    };
    let source = match dialect {
        Dialect::Sqlite => SEARCH_TABLE,
        Dialect::Postgres => SEARCH_VIEW,
    };
    let mut sub = Query::select()
        .column(ident("customer_id"))
        .from(ident(source))
        .and_where(tenant_col.eq(uuid_value(tenant)))
        .to_owned();
    if fts {
        sub.and_where(
            Expr::col(ident("search_id")).in_subquery(
                Query::select()
                    .column(ident("rowid"))
                    .from(ident(FTS_TABLE))
                    .and_where(
                        Expr::col(ident(FTS_TABLE))
                            .binary(BinOper::Custom("MATCH"), Expr::val(phrases.join(" AND "))),
                    )
                    .to_owned(),
            ),
        );
    }
    for t in &terms {
        match dialect {
            Dialect::Sqlite => sub.and_where(cond::contains(dialect, "doc", t)),
            Dialect::Postgres => {
                match search_grams(t) {
                    // All the term's windows among the document's (the grams GIN index), then
                    // the substring itself; `strpos` is no operator an index answers, so the
                    // planner does not also intersect the trigram index's long lists.
                    Some(grams) => {
                        let windows = |e: SimpleExpr| -> SimpleExpr {
                            Func::cust(ident("string_to_array")).arg(e).arg(" ").into()
                        };
                        sub.and_where(
                            windows(col("grams"))
                                .binary(BinOper::Custom("@>"), windows(Expr::val(grams.join(" ")))),
                        );
                        sub.and_where(
                            Func::cust(ident("strpos"))
                                .arg(col("doc"))
                                .arg(Expr::val(t.as_str()))
                                .gt(0),
                        )
                    }
                    // `LIKE '%term%'` (case-sensitive in PostgreSQL, so exact substring
                    // semantics) is what a pg_trgm GIN index can answer.
                    None => sub.and_where(col("doc").like(
                        sea_query::LikeExpr::new(format!("%{}%", escape_like(t))).escape('\\'),
                    )),
                }
            }
        };
    }
    if dialect == Dialect::Postgres {
        sub.offset(0);
    }
    Ok(col("id").in_subquery(sub))
}

/// One page: `SELECT data, <sort column> ... ORDER BY <sort> <dir>, id <dir> LIMIT n + 1`
/// after the query's cursor. `NULL` sorts last ascending and first descending.
pub fn select_page<E: SqlEntity>(
    tenant: TenantId,
    query: &ListQuery<E>,
    dialect: Dialect,
) -> Result<SelectStatement> {
    query.validate()?;
    let sort = E::sort_column(&query.sort);
    let mut c = filter_condition::<E>(tenant, &query.filter, dialect)?;
    if let Some(cursor) = &query.after {
        let id = Expr::val(cursor.id);
        let after = match (sort_value(&cursor.value)?, query.direction) {
            (Some(v), Direction::Asc) => Cond::any()
                .add(col(sort).gt(v.clone()))
                .add(col(sort).eq(v).and(col("id").gt(id)))
                .add(col(sort).is_null()),
            (None, Direction::Asc) => Cond::all().add(col(sort).is_null()).add(col("id").gt(id)),
            (Some(v), Direction::Desc) => Cond::any()
                .add(col(sort).lt(v.clone()))
                .add(col(sort).eq(v).and(col("id").lt(id))),
            (None, Direction::Desc) => Cond::any()
                .add(col(sort).is_not_null())
                .add(col(sort).is_null().and(col("id").lt(id))),
        };
        c = c.add(after);
    }
    let (order, nulls) = match query.direction {
        Direction::Asc => (Order::Asc, NullOrdering::Last),
        Direction::Desc => (Order::Desc, NullOrdering::First),
    };
    let mut stmt = Query::select()
        .column(ident("data"))
        .from(table(E::KIND))
        .cond_where(c)
        .to_owned();
    // A text search matches few rows, found through the FTS index: SQLite must drive the
    // query from those hits and sort them, not walk the sort column's index over the whole
    // tenant checking each row against the hits (150 ms instead of 1-2 ms at 1M customers).
    // A unary `+` keeps the sort index out of the plan for these queries only.
    use crm_core::store::EntityFilter;
    if dialect == Dialect::Sqlite && query.filter.text().is_some() {
        stmt.order_by_expr_with_nulls(Expr::cust(format!("+\"{sort}\"")), order.clone(), nulls);
    } else {
        stmt.order_by_with_nulls(ident(sort), order.clone(), nulls);
    }
    Ok(stmt
        .order_by(ident("id"), order)
        .limit(u64::from(query.limit) + 1)
        .to_owned())
}

/// `SELECT COUNT(*) ... WHERE <filter>` (a `Validation` error for a filter its
/// [`crm_core::store::EntityFilter::validate`] refuses).
pub fn select_count<E: SqlEntity>(
    tenant: TenantId,
    filter: &E::Filter,
    dialect: Dialect,
) -> Result<SelectStatement> {
    Ok(Query::select()
        .expr(Func::count(Expr::col(sea_query::Asterisk)))
        .from(table(E::KIND))
        .cond_where(filter_condition::<E>(tenant, filter, dialect)?)
        .to_owned())
}

/// Cuts the `limit + 1` rows of [`select_page`] into a page with its next cursor.
pub fn finish_page<E: Entity>(mut rows: Vec<E>, query: &ListQuery<E>) -> crm_core::Page<E> {
    let limit = query.limit as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next = if more {
        rows.last().map(|e| query.cursor_for(e))
    } else {
        None
    };
    crm_core::Page { items: rows, next }
}

fn common_values<E: Entity>(e: &E) -> Result<Vec<Value>> {
    let json = serde_json::to_string(e)
        .map_err(|err| CrmError::internal(format!("cannot encode a record: {err}")))?;
    Ok(vec![
        uuid_value(e.tenant_id()),
        Value::from(e.id().into()),
        Value::from(e.version() as i64),
        Value::from(nanos("created_at", e.created_at())?),
        Value::from(nanos("updated_at", e.updated_at())?),
        Value::from(json),
    ])
}

fn insert_typed<E: SqlEntity>(e: &E) -> Result<InsertStatement> {
    let mut cols: Vec<Alias> = COMMON.iter().map(|c| ident(c)).collect();
    cols.extend(E::columns().iter().map(|c| ident(c.name)));
    let mut vals = common_values(e)?;
    vals.extend(E::values(e)?);
    let exprs: Vec<SimpleExpr> = vals.into_iter().map(Expr::val).collect();
    let mut stmt = Query::insert();
    stmt.into_table(table(E::KIND)).columns(cols);
    stmt.values(exprs)
        .map_err(|err| CrmError::internal(format!("column mismatch: {err}")))?;
    Ok(stmt)
}

/// The column values of a record in table order (common columns, then projections).
fn row_values<E: SqlEntity>(e: &E) -> Result<Vec<SimpleExpr>> {
    let mut vals = common_values(e)?;
    vals.extend(E::values(e)?);
    Ok(vals.into_iter().map(Expr::val).collect())
}

fn update_typed<E: SqlEntity>(e: &E, expected_version: u64) -> Result<UpdateStatement> {
    let mut names: Vec<&str> = COMMON.to_vec();
    names.extend(E::columns().iter().map(|c| c.name));
    let mut vals = common_values(e)?;
    vals.extend(E::values(e)?);
    let pairs: Vec<(Alias, SimpleExpr)> = names
        .into_iter()
        .zip(vals)
        .skip(2) // tenant_id and id never change
        .map(|(n, v)| (ident(n), Expr::val(v)))
        .collect();
    Ok(Query::update()
        .table(table(E::KIND))
        .values(pairs)
        .and_where(col("tenant_id").eq(uuid_value(e.tenant_id())))
        .and_where(col("id").eq(Value::from(e.id().into())))
        .and_where(col("version").eq(expected_version as i64))
        .to_owned())
}

/// A `match` over every [`Record`] variant (from [`crm_core::for_each_entity`]).
macro_rules! dispatch_kinds {
    ([$record:expr, $e:ident => $body:expr] $($variant:ident => $name:ident),* $(,)?) => {
        match $record {
            $(Record::$variant($e) => $body,)*
        }
    };
}

macro_rules! dispatch {
    ($record:expr, $e:ident => $body:expr) => {
        crm_core::for_each_entity!(dispatch_kinds, $record, $e => $body)
    };
}

/// `INSERT` of a record with all its columns.
pub fn insert(record: &Record) -> Result<InsertStatement> {
    dispatch!(record, e => insert_typed(e))
}

/// One multi-row `INSERT` of records that are all of the same kind (for bulk loads);
/// fails with `Validation` on an empty slice or mixed kinds.
pub fn insert_many(records: &[Record]) -> Result<InsertStatement> {
    let first = records
        .first()
        .ok_or_else(|| CrmError::validation("records", "nothing to insert"))?;
    let mut stmt = dispatch!(first, e => insert_typed(e))?;
    for r in &records[1..] {
        if r.kind() != first.kind() {
            return Err(CrmError::validation("records", "records of one kind only"));
        }
        let row = dispatch!(r, e => row_values(e))?;
        stmt.values(row)
            .map_err(|err| CrmError::internal(format!("column mismatch: {err}")))?;
    }
    Ok(stmt)
}

/// The values of [`insert`] for `record`, in the order of [`insert_sql`]'s placeholders.
pub fn insert_values(record: &Record) -> Result<Vec<Value>> {
    dispatch!(record, e => {
        let mut vals = common_values(e)?;
        vals.extend(SqlEntity::values(e)?);
        Ok(vals)
    })
}

/// SQL text built once per kind and dialect: the statements of the write path, whose text
/// depends only on the table, so a store prepares each once and binds the values of every
/// row (instead of building and rendering a statement per row).
struct Prepared {
    insert: HashMap<(EntityKind, Dialect), String>,
    version: HashMap<(EntityKind, Dialect), String>,
    one: HashMap<(EntityKind, Dialect), String>,
}

/// A statement rendered in `dialect` (its text only).
fn text_of<S: sea_query::QueryStatementWriter>(stmt: &S, dialect: Dialect) -> String {
    match dialect {
        Dialect::Sqlite => stmt.build(SqliteQueryBuilder).0,
        Dialect::Postgres => stmt.build(PostgresQueryBuilder).0,
    }
}

fn prepared() -> &'static Prepared {
    static P: OnceLock<Prepared> = OnceLock::new();
    P.get_or_init(|| {
        let mut insert = HashMap::new();
        let mut version = HashMap::new();
        let mut one = HashMap::new();
        let (nil, tenant) = (Uuid::nil(), TenantId::from_uuid(Uuid::nil()));
        for t in schema::tables() {
            let mut cols: Vec<Alias> = COMMON.iter().map(|c| ident(c)).collect();
            cols.extend(t.columns.iter().map(|c| ident(c.name)));
            let placeholders: Vec<SimpleExpr> =
                cols.iter().map(|_| Expr::val(Value::Int(None))).collect();
            let mut stmt = Query::insert();
            stmt.into_table(table(t.kind)).columns(cols);
            // The column and value counts are equal by construction.
            let _ = stmt.values(placeholders);
            let select = select_version(EntityRef::new(t.kind, nil), tenant);
            let single = select_one(t.kind, tenant, nil);
            for d in [Dialect::Sqlite, Dialect::Postgres] {
                insert.insert((t.kind, d), text_of(&stmt, d));
                version.insert((t.kind, d), text_of(&select, d));
                one.insert((t.kind, d), text_of(&single, d));
            }
        }
        Prepared {
            insert,
            version,
            one,
        }
    })
}

/// The SQL text of [`insert`] for rows of `kind`, with placeholders for
/// [`insert_values`]: built once per kind and dialect.
pub fn insert_sql(kind: EntityKind, dialect: Dialect) -> &'static str {
    prepared()
        .insert
        .get(&(kind, dialect))
        .map_or("", String::as_str)
}

/// The SQL text of [`select_version`] for `kind`, with placeholders for
/// [`key_values`]: built once per kind and dialect.
pub fn select_version_sql(kind: EntityKind, dialect: Dialect) -> &'static str {
    prepared()
        .version
        .get(&(kind, dialect))
        .map_or("", String::as_str)
}

/// The SQL text of [`select_one`] for `kind`, with placeholders for [`key_values`]:
/// built once per kind and dialect.
pub fn select_one_sql(kind: EntityKind, dialect: Dialect) -> &'static str {
    prepared()
        .one
        .get(&(kind, dialect))
        .map_or("", String::as_str)
}

/// The tenant and id of `target`, the values of [`select_version_sql`] and
/// [`select_one_sql`].
pub fn key_values(target: EntityRef, tenant: TenantId) -> Vec<Value> {
    vec![uuid_value(tenant), Value::from(target.id)]
}

/// `UPDATE ... WHERE tenant_id = ? AND id = ? AND version = ?` (0 rows: stale or missing).
pub fn update(record: &Record, expected_version: u64) -> Result<UpdateStatement> {
    dispatch!(record, e => update_typed(e, expected_version))
}

/// `DELETE FROM <table> WHERE tenant_id = ? AND id = ? [AND version = ?]` (0 rows: stale
/// or missing).
pub fn delete(
    target: EntityRef,
    tenant: TenantId,
    expected_version: Option<u64>,
) -> DeleteStatement {
    let mut stmt = Query::delete()
        .from_table(table(target.kind))
        .and_where(col("tenant_id").eq(uuid_value(tenant)))
        .and_where(col("id").eq(target.id))
        .to_owned();
    if let Some(v) = expected_version {
        stmt.and_where(col("version").eq(v as i64));
    }
    stmt
}

/// Statements that each return a row when some row of the tenant still refers to
/// `target` (through a reference column or a tag assignment), in table order.
pub fn referrer_probes(target: EntityRef, tenant: TenantId) -> Vec<(EntityKind, SelectStatement)> {
    let mut out = Vec::new();
    for def in schema::tables() {
        for c in def.columns.iter().filter(|c| c.refs == Some(target.kind)) {
            out.push((
                def.kind,
                Query::select()
                    .expr(Expr::val(1))
                    .from(table(def.kind))
                    .and_where(col("tenant_id").eq(uuid_value(tenant)))
                    .and_where(col(c.name).eq(target.id))
                    .limit(1)
                    .to_owned(),
            ));
        }
    }
    if crm_core::TAGGABLE.contains(&target.kind) {
        out.push((
            EntityKind::TagAssignment,
            Query::select()
                .expr(Expr::val(1))
                .from(table(EntityKind::TagAssignment))
                .and_where(col("tenant_id").eq(uuid_value(tenant)))
                .and_where(col("target_kind").eq(target.kind.name()))
                .and_where(col("target_id").eq(target.id))
                .limit(1)
                .to_owned(),
        ));
    }
    out
}

/// A `match` decoding the `data` column into the [`Record`] of its kind (from
/// [`crm_core::for_each_entity`]).
macro_rules! decode_kinds {
    ([$kind:expr, $json:expr] $($variant:ident => $name:ident),* $(,)?) => {
        match $kind {
            $(EntityKind::$variant => Record::$variant(decode::<crm_core::model::$variant>($json)?),)*
        }
    };
}

/// Decodes the `data` column of a row of `kind` into its [`Record`].
pub fn decode_record(kind: EntityKind, json: &str) -> Result<Record> {
    Ok(crm_core::for_each_entity!(decode_kinds, kind, json))
}

/// Decodes the `data` column.
pub fn decode<E: Entity>(json: &str) -> Result<E> {
    serde_json::from_str(json).map_err(|e| {
        CrmError::storage(
            crm_core::StorageErrorKind::Schema,
            format!("cannot decode a stored {}: {e}", E::KIND),
        )
    })
}

/// A sort key's value as its column stores it (for tests and projections).
pub fn sort_key_value<E: Entity>(sort: &E::Sort, e: &E) -> Result<Value> {
    Ok(sort_value(&sort.value(e))?.unwrap_or(Value::String(None)))
}

/// Escapes `%`, `_` and `\` for a `LIKE` pattern with escape character `\`.
pub fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

/// `SELECT data FROM <kind> WHERE tenant_id = ? AND <parent_col> = ?` (children of a row).
pub fn select_children(
    kind: EntityKind,
    tenant: TenantId,
    parent_col: &str,
    parent: Uuid,
) -> SelectStatement {
    Query::select()
        .column(ident("data"))
        .from(table(kind))
        .and_where(col("tenant_id").eq(uuid_value(tenant)))
        .and_where(col(parent_col).eq(parent))
        .to_owned()
}

/// Inserts or replaces a customer's search document (see [`upsert_search_many`]).
pub fn upsert_search(
    tenant: TenantId,
    customer: Uuid,
    doc: &str,
    dialect: Dialect,
) -> InsertStatement {
    let mut stmt = search_upsert(dialect);
    stmt.values_panic(search_row(tenant, customer, doc, dialect));
    stmt
}

/// The search table's columns for `dialect`: PostgreSQL also stores the document's
/// [`document_grams`].
fn search_columns(dialect: Dialect) -> Vec<Alias> {
    let mut cols = vec![ident("tenant_id"), ident("customer_id"), ident("doc")];
    if dialect == Dialect::Postgres {
        cols.push(ident("grams"));
    }
    cols
}

/// `INSERT INTO customer_search (...) ... ON CONFLICT DO UPDATE` without values.
fn search_upsert(dialect: Dialect) -> InsertStatement {
    let cols = search_columns(dialect);
    Query::insert()
        .into_table(ident(SEARCH_TABLE))
        .columns(cols.clone())
        .on_conflict(
            sea_query::OnConflict::columns([ident("tenant_id"), ident("customer_id")])
                .update_columns(cols.into_iter().skip(2))
                .to_owned(),
        )
        .to_owned()
}

/// One row of [`search_columns`].
fn search_row(tenant: TenantId, customer: Uuid, doc: &str, dialect: Dialect) -> Vec<SimpleExpr> {
    let mut row: Vec<SimpleExpr> = vec![
        uuid_value(tenant).into(),
        Value::from(customer).into(),
        doc.into(),
    ];
    if dialect == Dialect::Postgres {
        row.push(document_grams(doc).into());
    }
    row
}

/// Removes a customer's search document.
pub fn delete_search(tenant: TenantId, customer: Uuid) -> DeleteStatement {
    Query::delete()
        .from_table(ident(SEARCH_TABLE))
        .and_where(col("tenant_id").eq(uuid_value(tenant)))
        .and_where(col("customer_id").eq(customer))
        .to_owned()
}

/// `SELECT id FROM <kind> WHERE tenant_id = ? AND id IN (...)`: which of `ids` exist.
pub fn select_existing(kind: EntityKind, tenant: TenantId, ids: &[Uuid]) -> SelectStatement {
    Query::select()
        .column(ident("id"))
        .from(table(kind))
        .and_where(col("tenant_id").eq(uuid_value(tenant)))
        .and_where(col("id").is_in(ids.iter().copied()))
        .to_owned()
}

/// Ids per `IN (...)` list of a batched read (well inside both drivers' parameter limits).
pub const IDS_PER_STATEMENT: usize = 1_000;

/// `SELECT data FROM <kind> WHERE tenant_id = ? AND <column> IN (...) ORDER BY id`.
pub fn select_where_in(
    kind: EntityKind,
    tenant: TenantId,
    column: &str,
    ids: &[Uuid],
) -> SelectStatement {
    Query::select()
        .column(ident("data"))
        .from(table(kind))
        .and_where(col("tenant_id").eq(uuid_value(tenant)))
        .and_where(col(column).is_in(ids.iter().copied()))
        .order_by(ident("id"), Order::Asc)
        .to_owned()
}

/// Inserts or replaces the search documents of several customers in one statement.
pub fn upsert_search_many(
    tenant: TenantId,
    docs: &[(Uuid, String)],
    dialect: Dialect,
) -> Result<InsertStatement> {
    let mut stmt = search_upsert(dialect);
    for (customer, doc) in docs {
        stmt.values(search_row(tenant, *customer, doc, dialect))
            .map_err(|err| CrmError::validation("doc", format!("column mismatch: {err}")))?;
    }
    Ok(stmt)
}

/// The most rows one multi-row statement of `kind` may carry under PostgreSQL's limit of
/// 65,535 bind parameters.
pub fn max_rows_per_insert(kind: EntityKind) -> usize {
    let cols = schema::tables()
        .iter()
        .find(|t| t.kind == kind)
        .map_or(COMMON.len(), |t| COMMON.len() + t.columns.len());
    (65_535 / cols).min(1_000)
}

/// The outbox table (see [`crm_core::store::DomainEvent`]).
pub const OUTBOX_TABLE: &str = "outbox";
/// The per-tenant outbox sequence counter.
pub const OUTBOX_COUNTER_TABLE: &str = "outbox_counter";

/// Takes the tenant's next outbox sequence number: an upsert of its counter row returning
/// the new value. The row stays locked until commit, so event-writing transactions of one
/// tenant commit in sequence order and a drainer never skips an event.
pub fn next_event_seq(tenant: TenantId) -> InsertStatement {
    Query::insert()
        .into_table(ident(OUTBOX_COUNTER_TABLE))
        .columns([ident("tenant_id"), ident("last_seq")])
        .values_panic([uuid_value(tenant).into(), Expr::val(1i64)])
        .on_conflict(
            sea_query::OnConflict::column(ident("tenant_id"))
                .value(
                    ident("last_seq"),
                    Expr::col((ident(OUTBOX_COUNTER_TABLE), ident("last_seq"))).add(1),
                )
                .to_owned(),
        )
        .returning_col(ident("last_seq"))
        .to_owned()
}

/// Appends one event with its sequence number.
pub fn insert_event(
    tenant: TenantId,
    seq: u64,
    event: &crm_core::store::NewEvent,
) -> Result<InsertStatement> {
    let data = serde_json::to_string(event)
        .map_err(|e| CrmError::internal(format!("cannot encode an event: {e}")))?;
    let mut stmt = Query::insert();
    stmt.into_table(ident(OUTBOX_TABLE))
        .columns(
            [
                "tenant_id",
                "seq",
                "id",
                "kind",
                "external_id",
                "at",
                "data",
            ]
            .map(ident),
        )
        .values([
            uuid_value(tenant).into(),
            Expr::val(seq as i64),
            Expr::val(event.id),
            Expr::val(event.event.type_name()),
            Expr::val(event.external_id.clone()),
            Expr::val(nanos("at", event.at)?),
            Expr::val(data),
        ])
        .map_err(|e| CrmError::internal(format!("outbox insert: {e}")))?;
    Ok(stmt)
}

/// `SELECT seq, data FROM outbox WHERE tenant_id = ? AND seq > ? ORDER BY seq LIMIT ?`.
pub fn select_events(tenant: TenantId, after: u64, limit: u32) -> SelectStatement {
    Query::select()
        .columns([ident("seq"), ident("data")])
        .from(ident(OUTBOX_TABLE))
        .and_where(col("tenant_id").eq(uuid_value(tenant)))
        .and_where(col("seq").gt(i64::try_from(after).unwrap_or(i64::MAX)))
        .order_by(ident("seq"), Order::Asc)
        .limit(u64::from(limit))
        .to_owned()
}

/// `SELECT 1 FROM outbox WHERE tenant_id = ? AND external_id = ? LIMIT 1`.
pub fn select_external_id(tenant: TenantId, external_id: &str) -> SelectStatement {
    Query::select()
        .expr(Expr::val(1))
        .from(ident(OUTBOX_TABLE))
        .and_where(col("tenant_id").eq(uuid_value(tenant)))
        .and_where(col("external_id").eq(external_id))
        .limit(1)
        .to_owned()
}

/// Decodes a stored event row.
pub fn decode_event(
    tenant: TenantId,
    seq: i64,
    data: &str,
) -> Result<crm_core::store::StoredEvent> {
    Ok(crm_core::store::StoredEvent {
        tenant,
        seq: seq as u64,
        event: serde_json::from_str(data).map_err(|e| {
            CrmError::storage(
                crm_core::StorageErrorKind::Schema,
                format!("cannot decode a stored event: {e}"),
            )
        })?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The table list keeps its own order (parents before children, for foreign keys), so
    /// it is checked against the one list of kinds instead of expanded from it.
    #[test]
    fn every_entity_kind_has_one_table() {
        let kinds: Vec<EntityKind> = schema::tables().iter().map(|t| t.kind).collect();
        for k in EntityKind::ALL {
            assert_eq!(
                kinds.iter().filter(|x| *x == k).count(),
                1,
                "{k} has one table"
            );
        }
        assert_eq!(kinds.len(), EntityKind::ALL.len());
    }

    #[test]
    fn grams_are_the_distinct_space_free_windows() {
        assert_eq!(document_grams("abcde abcd"), "abcd bcde");
        assert_eq!(document_grams("abc"), "");
        assert_eq!(document_grams("山田太郎x"), "山田太郎 田太郎x");
        assert_eq!(search_grams("abc"), None);
        assert_eq!(search_grams("a bc d"), None);
        assert_eq!(search_grams("aaaaa"), Some(vec!["aaaa"]), "deduplicated");
    }

    proptest! {
        /// A document containing a term holds every window the search asks for, so the
        /// grams index never loses a match (over a small alphabet with spaces and
        /// multi-byte characters, so matches and shared windows are common).
        #[test]
        fn a_containing_document_holds_the_terms_windows(
            doc in "[ab ßé山]{0,40}",
            start in 0usize..40,
            len in 0usize..12,
        ) {
            let chars: Vec<char> = doc.chars().collect();
            let start = start.min(chars.len());
            let end = (start + len).min(chars.len());
            let term: String = chars[start..end].iter().collect();
            let all = document_grams(&doc);
            let held: std::collections::BTreeSet<&str> =
                all.split(' ').filter(|g| !g.is_empty()).collect();
            if let Some(grams) = search_grams(&term) {
                for g in &grams {
                    prop_assert!(held.contains(g), "{g:?} of {term:?} not in {doc:?}");
                    prop_assert_eq!(g.chars().count(), SEARCH_GRAM_WIDTH);
                }
            }
        }
    }
}
