//! Snapshot tests of the generated SQL for both dialects. A change to the schema or to a
//! query builder shows up as a diff here; regenerate with `CRM_SQL_BLESS=1 cargo test -p
//! crm-sql --test snapshots` and review it (a schema change also needs a new migration in
//! each SQL store).

use chrono::{TimeZone, Utc};
use crm_core::model::*;
use crm_core::store::{Direction, ListQuery};
use crm_core::TenantId;
use crm_sql::{ddl, index_ddl, select_count, select_page, Dialect};
use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};
use uuid::Uuid;

fn check(name: &str, actual: &str) {
    let path = format!("{}/snapshots/{name}", env!("CARGO_MANIFEST_DIR"));
    if std::env::var("CRM_SQL_BLESS").is_ok() {
        std::fs::write(&path, actual).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert_eq!(
        expected, actual,
        "snapshot {name} differs; rerun with CRM_SQL_BLESS=1 and review"
    );
}

#[test]
fn schema_snapshots() {
    for (d, name) in [
        (Dialect::Sqlite, "schema.sqlite.sql"),
        (Dialect::Postgres, "schema.postgres.sql"),
    ] {
        let mut all = ddl(d);
        all.extend(index_ddl());
        check(name, &(all.join("\n\n") + "\n"));
    }
}

#[test]
fn query_snapshots() {
    let tenant = TenantId::from_uuid(Uuid::from_u128(1));
    let t = Utc
        .with_ymd_and_hms(2025, 1, 2, 3, 4, 5)
        .single()
        .expect("time");
    let filter = CustomerFilter {
        status: Some(CustomerStatus::Active),
        tag: Some(crm_core::TagId::from_uuid(Uuid::from_u128(2))),
        text: Some("ada 030-1234".into()),
        not_contacted_since: Some(t),
        ..Default::default()
    };
    let first = ListQuery::<Customer>::filter(filter.clone())
        .sorted(CustomerSort::LastContactAt, Direction::Desc)
        .limit(20);
    let mut c = Customer::company(tenant, "Acme", t).expect("customer");
    c.id = crm_core::CustomerId::from_uuid(Uuid::from_u128(3));
    let next = first.clone().after(Some(first.cursor_for(&c)));
    let mut out = String::new();
    for q in [&first, &next] {
        let s = select_page(tenant, q, Dialect::Sqlite).expect("page");
        out += &format!("-- sqlite\n{}\n", s.to_string(SqliteQueryBuilder));
        let p = select_page(tenant, q, Dialect::Postgres).expect("page");
        out += &format!("-- postgres\n{}\n", p.to_string(PostgresQueryBuilder));
    }
    let n = select_count::<Customer>(tenant, &filter, Dialect::Postgres).expect("count");
    out += &format!("-- postgres count\n{}\n", n.to_string(PostgresQueryBuilder));
    check("customer_queries.sql", &out);
}
