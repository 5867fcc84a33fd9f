//! Table definitions and DDL for both dialects.

use crm_core::store::EntityKind;

use crate::{Dialect, SqlEntity};

/// The SQL type of a projection column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColKind {
    /// A UUID (`BLOB` in SQLite, `UUID` in PostgreSQL).
    Uuid,
    /// Text.
    Text,
    /// A 64-bit integer (also times, as nanoseconds).
    Int,
    /// A boolean (`INTEGER` 0/1 in SQLite).
    Bool,
}

/// A projection column.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    /// Name.
    pub name: &'static str,
    /// Type.
    pub kind: ColKind,
    /// The kind of row this column refers to (a foreign key `(tenant_id, name)`).
    pub refs: Option<EntityKind>,
}

impl Col {
    /// A plain column.
    pub const fn new(name: &'static str, kind: ColKind) -> Self {
        Self {
            name,
            kind,
            refs: None,
        }
    }
    /// A reference column (UUID with a foreign key).
    pub const fn refs(name: &'static str, to: EntityKind) -> Self {
        Self {
            name,
            kind: ColKind::Uuid,
            refs: Some(to),
        }
    }
}

/// A secondary index; `tenant_id` is always its first column.
#[derive(Debug, Clone, Copy)]
pub struct Index {
    /// Columns after `tenant_id`.
    pub cols: &'static [&'static str],
    /// Unique index.
    pub unique: bool,
    /// Partial-index predicate (`is_primary`, `external_ref IS NOT NULL`).
    pub predicate: Option<&'static str>,
    /// For a unique index: the stable name of the unique key it enforces (one of
    /// [`crm_core::store::keys`]), reported as `AlreadyExists.key` when it is violated.
    pub key: Option<&'static str>,
}

impl Index {
    /// A plain index on `(tenant_id, cols...)`.
    pub const fn on(cols: &'static [&'static str]) -> Self {
        Self {
            cols,
            unique: false,
            predicate: None,
            key: None,
        }
    }
    /// A unique index on `(tenant_id, cols...)`, optionally partial, enforcing the unique
    /// key named `key`.
    pub const fn unique(
        key: &'static str,
        cols: &'static [&'static str],
        predicate: Option<&'static str>,
    ) -> Self {
        Self {
            cols,
            unique: true,
            predicate,
            key: Some(key),
        }
    }
}

/// The name both dialects give an index of `table` on `(tenant_id, cols...)`:
/// `<table>_<cols joined by _>` (`<table>_tenant` without columns), `_partial` appended
/// for a partial index.
pub fn index_name(table: &str, cols: &[&str], partial: bool) -> String {
    let label = if cols.is_empty() {
        "tenant".to_string()
    } else {
        cols.join("_")
    };
    format!("{table}_{label}{}", if partial { "_partial" } else { "" })
}

/// Unique indexes outside the entity tables: the outbox's external event ids.
const OTHER_UNIQUE: &[(&str, &[&str], &str)] = &[(
    "outbox",
    &["external_id"],
    crm_core::store::keys::EVENT_EXTERNAL_ID,
)];

/// The stable unique-key name (see [`crm_core::store::keys`]) of the unique index or
/// primary key called `constraint` (PostgreSQL names the violated constraint): a declared
/// unique index's key, or `<kind>.id` for a table's primary key `<table>_pkey`.
pub fn unique_key_of_constraint(constraint: &str) -> Option<String> {
    for t in tables() {
        let table = t.kind.name();
        if constraint == format!("{table}_pkey") {
            return Some(crm_core::store::keys::id_key(t.kind));
        }
        for i in t.indexes.iter().filter(|i| i.unique) {
            if index_name(table, i.cols, i.predicate.is_some()) == constraint {
                return i.key.map(str::to_string);
            }
        }
    }
    OTHER_UNIQUE
        .iter()
        .find(|(table, cols, _)| index_name(table, cols, false) == constraint)
        .map(|(_, _, key)| (*key).to_string())
}

/// The stable unique-key name of the unique index of `table` over exactly `columns`
/// (`tenant_id` first; SQLite names the violated index by its columns), or `<kind>.id`
/// for `(tenant_id, id)`.
pub fn unique_key_of_columns(table: &str, columns: &[&str]) -> Option<String> {
    let rest = match columns.split_first() {
        Some((&"tenant_id", rest)) => rest,
        _ => return None,
    };
    for t in tables().iter().filter(|t| t.kind.name() == table) {
        if rest == ["id"] {
            return Some(crm_core::store::keys::id_key(t.kind));
        }
        if let Some(i) = t.indexes.iter().find(|i| i.unique && i.cols == rest) {
            return i.key.map(str::to_string);
        }
    }
    OTHER_UNIQUE
        .iter()
        .find(|(t, cols, _)| *t == table && *cols == rest)
        .map(|(_, _, key)| (*key).to_string())
}

/// A table: kind, projection columns and indexes.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// Which entity.
    pub kind: EntityKind,
    /// Projection columns.
    pub columns: &'static [Col],
    /// Secondary indexes.
    pub indexes: &'static [Index],
    /// The common time columns indexed on their own ([`SqlEntity::time_indexes`]).
    pub time_indexes: &'static [&'static str],
}

fn def<E: SqlEntity>() -> TableDef {
    TableDef {
        kind: E::KIND,
        columns: E::columns(),
        indexes: E::indexes(),
        time_indexes: E::time_indexes(),
    }
}

/// Every table, parents before children.
pub fn tables() -> Vec<TableDef> {
    use crm_core::model::*;
    vec![
        def::<Customer>(),
        def::<Contact>(),
        def::<ContactPoint>(),
        def::<Location>(),
        def::<Consent>(),
        def::<Pipeline>(),
        def::<Deal>(),
        def::<Lead>(),
        def::<StageChange>(),
        def::<Activity>(),
        def::<Interaction>(),
        def::<Note>(),
        def::<Tag>(),
        def::<TagAssignment>(),
        def::<FollowUp>(),
        def::<OwnedItem>(),
        def::<Attachment>(),
        def::<TenantSettings>(),
        def::<MergeRecord>(),
        def::<AuditEntry>(),
    ]
}

fn sql_type(kind: ColKind, dialect: Dialect) -> &'static str {
    match (kind, dialect) {
        (ColKind::Uuid, Dialect::Sqlite) => "BLOB",
        (ColKind::Uuid, Dialect::Postgres) => "UUID",
        (ColKind::Text, _) => "TEXT",
        (ColKind::Int, Dialect::Sqlite) => "INTEGER",
        (ColKind::Int, Dialect::Postgres) => "BIGINT",
        (ColKind::Bool, Dialect::Sqlite) => "INTEGER",
        (ColKind::Bool, Dialect::Postgres) => "BOOLEAN",
    }
}

/// `CREATE TABLE` statements for every entity (parents first), primary key
/// `(tenant_id, id)`, composite foreign keys including the tenant.
pub fn ddl(dialect: Dialect) -> Vec<String> {
    let (uuid, int) = (
        sql_type(ColKind::Uuid, dialect),
        sql_type(ColKind::Int, dialect),
    );
    tables()
        .iter()
        .map(|t| {
            let mut lines = vec![
                format!("    tenant_id {uuid} NOT NULL"),
                format!("    id {uuid} NOT NULL"),
                format!("    version {int} NOT NULL"),
                format!("    created_at {int} NOT NULL"),
                format!("    updated_at {int} NOT NULL"),
                "    data TEXT NOT NULL".to_string(),
            ];
            for c in t.columns {
                lines.push(format!("    {} {}", c.name, sql_type(c.kind, dialect)));
            }
            lines.push("    PRIMARY KEY (tenant_id, id)".to_string());
            for c in t.columns.iter().filter(|c| c.refs.is_some()) {
                let to = c.refs.map(EntityKind::name).unwrap_or_default();
                lines.push(format!(
                    "    FOREIGN KEY (tenant_id, {}) REFERENCES {to} (tenant_id, id)",
                    c.name
                ));
            }
            format!(
                "CREATE TABLE {} (\n{}\n);",
                t.kind.name(),
                lines.join(",\n")
            )
        })
        .collect()
}

/// `CREATE INDEX` statements: the declared indexes, plus one on every reference column
/// (so reference checks and deletes never scan) and on the time columns the entity lists
/// by ([`SqlEntity::time_indexes`]).
pub fn index_ddl() -> Vec<String> {
    let mut out = Vec::new();
    for t in tables() {
        let table = t.kind.name();
        let mut declared: Vec<(Vec<&str>, bool, Option<&str>)> = t
            .indexes
            .iter()
            .map(|i| (i.cols.to_vec(), i.unique, i.predicate))
            .collect();
        for extra in t.time_indexes {
            declared.push((vec![*extra], false, None));
        }
        for c in t.columns.iter().filter(|c| c.refs.is_some()) {
            if !declared
                .iter()
                .any(|(cols, _, _)| cols.first() == Some(&c.name))
            {
                declared.push((vec![c.name], false, None));
            }
        }
        for (cols, unique, predicate) in declared {
            let name = index_name(table, &cols, predicate.is_some());
            let u = if unique { "UNIQUE " } else { "" };
            let w = predicate.map(|p| format!(" WHERE {p}")).unwrap_or_default();
            // Non-unique indexes end with `id`, the tie-breaker of every keyset order.
            let tail = if unique { "" } else { ", id" };
            let all: Vec<&str> = std::iter::once("tenant_id").chain(cols).collect();
            out.push(format!(
                "CREATE {u}INDEX {name} ON {table} ({}{tail}){w};",
                all.join(", ")
            ));
        }
    }
    out
}
