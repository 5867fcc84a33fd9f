//! The statements built once per kind render exactly what the per-row builders render.

use crm_core::store::{Change, EntityKind};
use crm_core::TenantId;
use crm_sql::{
    insert, insert_sql, insert_values, key_values, select_one, select_one_sql, select_version,
    select_version_sql, Dialect,
};
use crm_store_conformance::support::Graph;
use sea_query::{PostgresQueryBuilder, QueryStatementWriter, SqliteQueryBuilder, Values};

fn render<S: QueryStatementWriter>(stmt: &S, d: Dialect) -> (String, Values) {
    match d {
        Dialect::Sqlite => stmt.build(SqliteQueryBuilder),
        Dialect::Postgres => stmt.build(PostgresQueryBuilder),
    }
}

#[test]
fn prepared_statements_match_the_builders_for_every_kind() {
    let tenant = TenantId::new();
    let g = Graph::build(tenant);
    let mut seen = 0;
    for c in g.change_set().changes {
        let Change::Insert(r) = c else { continue };
        let kind = r.kind();
        let me = r.entity_ref();
        for d in [Dialect::Sqlite, Dialect::Postgres] {
            let (sql, values) = render(&insert(&r).expect("insert"), d);
            assert_eq!(insert_sql(kind, d), sql, "{kind:?} {d:?}");
            assert_eq!(insert_values(&r).expect("values"), values.0, "{kind:?}");
            let (sql, values) = render(&select_version(me, tenant), d);
            assert_eq!(select_version_sql(kind, d), sql, "{kind:?} {d:?}");
            assert_eq!(key_values(me, tenant), values.0, "{kind:?}");
            let (sql, values) = render(&select_one(kind, tenant, me.id), d);
            assert_eq!(select_one_sql(kind, d), sql, "{kind:?} {d:?}");
            assert_eq!(key_values(me, tenant), values.0, "{kind:?}");
        }
        seen += 1;
    }
    assert_eq!(seen, EntityKind::ALL.len());
}
