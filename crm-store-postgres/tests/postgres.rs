//! PostgreSQL-specific behaviour: the row-level-security fence, schema parity with SQLite,
//! schema versions.

mod support;

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{TimeZone, Utc};
use crm_core::store::{ChangeSet, CrmStore, EntityRead};
use crm_core::*;
use crm_store_postgres::PgStore;
use sqlx::postgres::PgConnectOptions;
use sqlx::{AssertSqlSafe, Connection, Row};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .expect("time")
}

async fn customers(store: &PgStore, tenant: TenantId, n: usize) {
    let mut cs = ChangeSet::new();
    for i in 0..n {
        let c = Customer::company(tenant, &format!("Company {i}"), now()).expect("customer");
        let p = ContactPoint::new(
            tenant,
            c.id,
            None,
            ContactPointKind::Email,
            &format!("c{i}@t.example"),
            None,
            now(),
        )
        .expect("point");
        cs = cs.insert(c).insert(p);
    }
    store.apply(tenant, cs).await.expect("apply");
}

/// A raw statement without any tenant predicate, run in the store's tenant transaction,
/// sees only that tenant's rows and cannot write another tenant's.
#[tokio::test]
async fn row_level_security_fences_raw_queries() {
    let Some(store) = support::store().await else {
        return;
    };
    let (a, b) = (TenantId::new(), TenantId::new());
    customers(&store, a, 3).await;
    customers(&store, b, 2).await;

    let mut tx = store.begin_tenant(a).await.expect("tenant tx");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customer")
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(n, 3, "only tenant A's customers are visible");
    let tenants: Vec<uuid::Uuid> =
        sqlx::query_scalar("SELECT DISTINCT tenant_id FROM contact_point")
            .fetch_all(&mut *tx)
            .await
            .expect("tenants");
    assert_eq!(tenants, vec![a.as_uuid()]);
    let docs: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_search")
        .fetch_one(&mut *tx)
        .await
        .expect("search rows");
    assert_eq!(docs, 3);
    // The fenced view the searches read applies the same fence.
    let docs: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_search_fenced")
        .fetch_one(&mut *tx)
        .await
        .expect("view rows");
    assert_eq!(docs, 3, "the search view shows only tenant A's documents");
    // Writing a row of tenant B from tenant A's transaction is refused by the policy.
    let err = sqlx::query("UPDATE customer SET version = version WHERE tenant_id = $1")
        .bind(b.as_uuid())
        .execute(&mut *tx)
        .await
        .expect("update runs");
    assert_eq!(
        err.rows_affected(),
        0,
        "B's rows are invisible to an UPDATE as well"
    );
    let insert = sqlx::query(
        "INSERT INTO tag (tenant_id, id, version, created_at, updated_at, data, name_ci) VALUES ($1, $2, 1, 0, 0, '{}', 'x')",
    )
    .bind(b.as_uuid())
    .bind(uuid::Uuid::now_v7())
    .execute(&mut *tx)
    .await;
    let code = insert
        .expect_err("row of another tenant")
        .as_database_error()
        .and_then(|e| e.code().map(|c| c.to_string()));
    assert_eq!(
        code.as_deref(),
        Some("42501"),
        "row-level security violation"
    );
    drop(tx);

    // Without a tenant setting, the fenced role sees nothing at all.
    let mut tx = store.pool().begin().await.expect("tx");
    sqlx::query(AssertSqlSafe(format!(
        "SET LOCAL ROLE {}",
        crm_store_postgres::TENANT_ROLE
    )))
    .execute(&mut *tx)
    .await
    .expect("role");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM customer")
        .fetch_one(&mut *tx)
        .await
        .expect("count");
    assert_eq!(n, 0);
    let docs: i64 = sqlx::query_scalar("SELECT count(*) FROM customer_search_fenced")
        .fetch_one(&mut *tx)
        .await
        .expect("view rows");
    assert_eq!(docs, 0, "no tenant set: the search view is empty");
}

/// The plan of a customer page filtered by `text`, in a fenced transaction of `tenant` with
/// sequential scans off (at test sizes a scan is cheapest; the plan should show which index
/// answers the search).
async fn search_plan(store: &PgStore, tenant: TenantId, text: &str) -> String {
    let query = ListQuery::filter(CustomerFilter {
        text: Some(text.into()),
        ..Default::default()
    });
    let sql = crm_sql::select_page::<Customer>(tenant, &query, crm_sql::Dialect::Postgres)
        .expect("statement")
        .to_string(sea_query::PostgresQueryBuilder);
    let mut tx = store.begin_tenant(tenant).await.expect("tenant tx");
    sqlx::query("SET LOCAL enable_seqscan = off")
        .execute(&mut *tx)
        .await
        .expect("setting");
    let plan: Vec<String> = sqlx::query_scalar(AssertSqlSafe(format!("EXPLAIN {sql}")))
        .fetch_all(&mut *tx)
        .await
        .expect("explain");
    plan.join("\n")
}

/// The store's text search is answered by an index in the fenced transaction (row-level
/// security on the search table used to force a scan of the tenant's documents, because
/// neither `LIKE` nor `@>` is leakproof): a term of four or more characters by the index on
/// the document's four-character windows (schema version 6) and not the trigram index,
/// whose posting lists are long in large tenants; a three-character term by the trigram
/// index.
#[tokio::test]
async fn search_plans_use_the_grams_and_trigram_indexes() {
    let Some(store) = support::store().await else {
        return;
    };
    let t = TenantId::new();
    customers(&store, t, 3000).await;
    // VACUUM flushes the GIN indexes' pending lists, which otherwise make them look costly.
    sqlx::query("VACUUM ANALYZE customer_search")
        .execute(store.pool())
        .await
        .expect("analyze");
    let plan = search_plan(&store, t, "c1313@t.ex").await;
    assert!(
        plan.contains("customer_search_grams") && !plan.contains("customer_search_doc_trgm"),
        "a long term is not answered by the grams index alone:\n{plan}"
    );
    let plan = search_plan(&store, t, "313").await;
    assert!(
        plan.contains("customer_search_doc_trgm"),
        "a three-character term does not use the trigram index:\n{plan}"
    );
}

/// Documents with tricky characters (multi-byte letters, runs of spaces, tabs, quotes,
/// separators, too short for a window).
const GRAM_DOCS: &[&str] = &[
    "",
    "abc",
    "abcd",
    "  a  b  ",
    "ada lovelace | ada@example.com | 4930123456",
    "山田太郎 | やまだ | 0312345678",
    "straße øre ǆemal",
    "o'brien \\ back\tslash \"quoted\" 50% _x_",
    "emoji 🙂🙂🙂🙂 text",
    "aaaa aaaa aaaaa",
];

/// The grams migration 0006 computes for documents written before it are exactly the ones
/// the store writes since (`crm_sql::document_grams`): the migration is run from its file
/// over documents stored by schema version 5.
#[tokio::test]
async fn migrated_grams_match_the_stores() {
    let Some((url, _)) = support::schema().await else {
        return;
    };
    let schema = format!("crm_test_{}", uuid::Uuid::now_v7().simple());
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE SCHEMA {schema}; SET search_path = {schema}, public"
    )))
    .execute(&mut conn)
    .await
    .expect("schema");
    for file in [
        include_str!("../migrations/0001_init.sql"),
        include_str!("../migrations/0002_outbox.sql"),
        include_str!("../migrations/0003_tenant_settings.sql"),
        include_str!("../migrations/0004_search_view.sql"),
        include_str!("../migrations/0005_merge_record.sql"),
    ] {
        sqlx::raw_sql(AssertSqlSafe(file))
            .execute(&mut conn)
            .await
            .expect("migration up to 5");
    }
    let tenant = uuid::Uuid::now_v7();
    for (i, doc) in GRAM_DOCS.iter().enumerate() {
        sqlx::query(
            "INSERT INTO customer_search (tenant_id, customer_id, doc) VALUES ($1, $2, $3)",
        )
        .bind(tenant)
        .bind(uuid::Uuid::from_u128(i as u128))
        .bind(*doc)
        .execute(&mut conn)
        .await
        .expect("v5 document");
    }
    sqlx::raw_sql(AssertSqlSafe(include_str!(
        "../migrations/0006_search_grams.sql"
    )))
    .execute(&mut conn)
    .await
    .expect("migration 6");
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT doc, grams FROM customer_search ORDER BY customer_id")
            .fetch_all(&mut conn)
            .await
            .expect("grams");
    assert_eq!(rows.len(), GRAM_DOCS.len());
    for (doc, grams) in rows {
        assert_eq!(grams, crm_sql::document_grams(&doc), "document {doc:?}");
    }
    // The index expression finds documents by their windows, and only by whole windows.
    for (windows, expected) in [
        (vec!["山田太郎"], 1),
        (vec!["traß", "raße"], 1),
        (vec!["🙂🙂🙂🙂", "oji "], 0),
        (vec!["aaaa"], 1),
        (vec!["田太郎"], 0),
    ] {
        let found: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM customer_search WHERE string_to_array(grams, ' ') @> $1",
        )
        .bind(&windows)
        .fetch_one(&mut conn)
        .await
        .expect("containment");
        assert_eq!(found, expected, "{windows:?}");
    }
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut conn)
        .await
        .expect("cleanup");
}

/// Searches through the store find exactly the customers whose document contains every
/// term, for the tricky documents above and terms cut from them (windows path, trigram
/// path and too-short terms alike).
#[tokio::test]
async fn search_by_grams_keeps_substring_semantics() {
    let Some(store) = support::store().await else {
        return;
    };
    let t = TenantId::new();
    let mut cs = ChangeSet::new();
    let mut names = Vec::new();
    for (i, doc) in GRAM_DOCS.iter().enumerate() {
        let c = Customer::company(t, &format!("g{i} {doc}"), now()).expect("customer");
        names.push((c.id, crm_core::search::customer_document(&c, [], [])));
        cs = cs.insert(c);
    }
    store.apply(t, cs).await.expect("apply");
    let mut queries: Vec<String> = vec![
        "山田太".into(),
        "田太郎".into(),
        "山田太郎 やまだ".into(),
        "straße".into(),
        "raße øre".into(),
        "o'brien".into(),
        "\"quoted\"".into(),
        "50%".into(),
        "_x_".into(),
        "🙂🙂🙂🙂".into(),
        "aaaaa".into(),
        "aaaaaa".into(),
        "lovelace ada@exam".into(),
        "4930123456".into(),
        "nothing-like-this".into(),
    ];
    queries.extend(
        GRAM_DOCS
            .iter()
            .filter(|d| !d.trim().is_empty())
            .map(|d| d.to_string()),
    );
    for q in queries {
        let terms = crm_core::search::query_terms(&q).expect("a bounded query");
        let mut expected: Vec<_> = names
            .iter()
            .filter(|(_, doc)| crm_core::search::matches(doc, &terms))
            .map(|(id, _)| *id)
            .collect();
        expected.sort();
        let mut got: Vec<_> = EntityRead::<Customer>::list(
            &store,
            t,
            &ListQuery::filter(CustomerFilter {
                text: Some(q.clone()),
                ..Default::default()
            }),
        )
        .await
        .expect("search")
        .items
        .into_iter()
        .map(|c| c.id)
        .collect();
        got.sort();
        assert_eq!(got, expected, "query {q:?}");
    }
}

/// The PostgreSQL and SQLite schemas have the same tables with the same columns.
#[tokio::test]
async fn schema_matches_sqlite() {
    let Some((url, schema)) = support::schema().await else {
        return;
    };
    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let rows = sqlx::query(
        "SELECT c.table_name::text, c.column_name::text FROM information_schema.columns c JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name WHERE c.table_schema = $1 AND t.table_type = 'BASE TABLE' AND c.table_name NOT LIKE '\\_sqlx%' ORDER BY c.table_name, c.ordinal_position",
    )
    .bind(&schema)
    .fetch_all(&mut conn)
    .await
    .expect("columns");
    let mut pg: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in rows {
        pg.entry(r.get(0)).or_default().push(r.get(1));
    }

    let dir = tempfile_dir();
    let lite = crm_store_sqlite::SqliteStore::open(dir.join("parity.db"))
        .await
        .expect("open");
    lite.migrate().await.expect("migrate");
    let raw = rusqlite::Connection::open(dir.join("parity.db")).expect("raw");
    let mut sqlite: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let tables: Vec<String> = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'customer_fts%'")
        .expect("tables")
        .query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    for t in tables {
        let cols: Vec<String> = raw
            .prepare(&format!("PRAGMA table_info({t})"))
            .expect("info")
            .query_map([], |r| r.get(1))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        sqlite.insert(t, cols);
    }
    // SQLite's search table has an integer key for its FTS5 index; PostgreSQL indexes the
    // document with pg_trgm and its four-character windows (`grams`, schema version 6)
    // instead. Everything else is identical.
    if let Some(cols) = sqlite.get_mut("customer_search") {
        cols.retain(|c| c != "search_id");
    }
    if let Some(cols) = pg.get_mut("customer_search") {
        cols.retain(|c| c != "grams");
    }
    assert_eq!(pg, sqlite);
    assert!(pg.len() >= 18, "{:?}", pg.keys().collect::<Vec<_>>());
    let _ = std::fs::remove_dir_all(dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("crm-pg-parity-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// A database migrated by a newer version is refused, naming both versions; migrating is
/// idempotent.
#[tokio::test]
async fn versions() {
    let Some((url, _)) = support::schema().await else {
        return;
    };
    let store = support::store().await.expect("store");
    assert_eq!(
        store.schema_version().await.expect("version"),
        PgStore::latest_version()
    );
    store.migrate().await.expect("idempotent");

    let schema = format!("crm_future_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::raw_sql(AssertSqlSafe(format!(
        "CREATE SCHEMA {schema}; CREATE TABLE {schema}._sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT, installed_on TIMESTAMPTZ, success BOOLEAN, checksum BYTEA, execution_time BIGINT); INSERT INTO {schema}._sqlx_migrations VALUES (99, 'future', now(), true, '', 0)"
    )))
    .execute(&mut admin)
    .await
    .expect("future schema");
    let opts = PgConnectOptions::from_str(&url)
        .expect("url")
        .options([("search_path", format!("{schema},public"))]);
    let err = PgStore::connect_with(opts).await.expect_err("newer schema");
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            CrmError::Storage {
                kind: StorageErrorKind::Schema,
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("version 99"), "{msg}");
    assert!(
        msg.contains(&format!("version {}", PgStore::latest_version())),
        "{msg}"
    );
    sqlx::query(AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
        .execute(&mut admin)
        .await
        .expect("cleanup");
}

/// Reads through the store see what was written, and search works through pg_trgm.
#[tokio::test]
async fn search_uses_the_trigram_index_semantics() {
    let Some(store) = support::store().await else {
        return;
    };
    let t = TenantId::new();
    customers(&store, t, 5).await;
    let hits = EntityRead::<Customer>::list(
        &store,
        t,
        &ListQuery::filter(CustomerFilter {
            text: Some("c3@t.ex".into()),
            ..Default::default()
        }),
    )
    .await
    .expect("search");
    assert_eq!(
        hits.items
            .iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>(),
        vec!["Company 3"]
    );
    // LIKE wildcards in the query are literal characters, not patterns.
    let none = EntityRead::<Customer>::list(
        &store,
        t,
        &ListQuery::filter(CustomerFilter {
            text: Some("c_@t".into()),
            ..Default::default()
        }),
    )
    .await
    .expect("search");
    assert!(none.items.is_empty());
}

/// Schema version 7 renames follow-ups and outbox events written as "canceled" (before
/// the spelling was unified with activities' "cancelled"), in every tenant: a status filter
/// finds them again, and the outbox kind follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_7_spells_cancelled() {
    let Some((url, schema)) = support::schema().await else {
        return;
    };
    let crm = Crm::new(support::store().await.expect("store"));
    let a = Actor::new(TenantId::new(), UserId::new());
    let c = crm
        .customers()
        .create(
            &a,
            Customer::company(a.tenant, "Acme", now()).expect("c"),
            now(),
        )
        .await
        .expect("customer");
    let f = FollowUp::new(
        a.tenant,
        Due {
            title: "Call",
            due_at: now(),
            links: Links::customer(c.id),
        },
        now(),
    )
    .expect("follow-up");
    let f = crm.create(&a, f, now()).await.expect("create");
    crm.follow_ups()
        .cancel(&a, f.id, now())
        .await
        .expect("cancel");
    let cancelled = || async {
        crm.count::<FollowUp>(
            &a,
            FollowUpFilter {
                status: Some(FollowUpStatus::Cancelled),
                ..Default::default()
            },
        )
        .await
        .expect("count")
    };
    assert_eq!(cancelled().await, 1);

    let options = PgConnectOptions::from_str(&url)
        .expect("url")
        .options([("search_path", format!("{schema},public"))]);
    let mut conn = sqlx::PgConnection::connect_with(&options)
        .await
        .expect("connect");
    let tenant = uuid::Uuid::from(a.tenant);
    sqlx::query(
        "UPDATE follow_up SET status = 'canceled', \
         data = jsonb_set(data::jsonb, '{status}', '\"canceled\"')::text WHERE tenant_id = $1",
    )
    .bind(tenant)
    .execute(&mut conn)
    .await
    .expect("old status");
    sqlx::query(
        "UPDATE outbox SET kind = 'follow_up_canceled', \
         data = jsonb_set(data::jsonb, '{event,type}', '\"follow_up_canceled\"')::text \
         WHERE tenant_id = $1 AND kind = 'follow_up_cancelled'",
    )
    .bind(tenant)
    .execute(&mut conn)
    .await
    .expect("old kind");
    assert_eq!(
        cancelled().await,
        0,
        "the old status is not found by the filter"
    );
    assert_eq!(
        crm.get::<FollowUp>(&a, f.id).await.expect("read").status,
        FollowUpStatus::Cancelled,
        "the old spelling still reads"
    );

    sqlx::raw_sql(AssertSqlSafe(include_str!(
        "../migrations/0007_cancelled.sql"
    )))
    .execute(&mut conn)
    .await
    .expect("migration 7");
    assert_eq!(cancelled().await, 1, "found again");
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM outbox WHERE tenant_id = $1 AND kind LIKE 'follow_up_%'",
    )
    .bind(tenant)
    .fetch_all(&mut conn)
    .await
    .expect("kinds");
    assert_eq!(kinds, vec!["follow_up_cancelled".to_string()]);
    let events = crm.events().drain(&a, 0, 1000).await.expect("events");
    assert!(events
        .iter()
        .any(|e| matches!(e.event.event, DomainEvent::FollowUpCancelled { follow_up } if follow_up == f.id)));
}
