//! The statements built once per kind render exactly what the per-row builders render.

use crm_core::store::Change;
use crm_core::TenantId;
use crm_sql::{
    insert, insert_sql, insert_values, select_version, select_version_sql, version_values, Dialect,
};
use crm_store_conformance::support::Graph;
use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

#[test]
fn prepared_statements_match_the_builders_for_every_kind() {
    let tenant = TenantId::new();
    let g = Graph::build(tenant);
    let mut seen = 0;
    for c in g.change_set().changes {
        let Change::Insert(r) = c else { continue };
        let kind = r.kind();
        let stmt = insert(&r).expect("insert");
        let select = select_version(r.entity_ref(), tenant);
        for (d, (sql, values), (vsql, vvalues)) in [
            (
                Dialect::Sqlite,
                stmt.build(SqliteQueryBuilder),
                select.build(SqliteQueryBuilder),
            ),
            (
                Dialect::Postgres,
                stmt.build(PostgresQueryBuilder),
                select.build(PostgresQueryBuilder),
            ),
        ] {
            assert_eq!(insert_sql(kind, d), sql, "{kind:?} {d:?}");
            assert_eq!(insert_values(&r).expect("values"), values.0, "{kind:?}");
            assert_eq!(select_version_sql(kind, d), vsql, "{kind:?} {d:?}");
            assert_eq!(
                version_values(r.entity_ref(), tenant),
                vvalues.0,
                "{kind:?}"
            );
        }
        seen += 1;
    }
    assert_eq!(seen, crm_core::store::EntityKind::ALL.len());
}
