//! SQLite-specific behaviour: schema versions, the schema matching crm-sql, WAL and
//! foreign keys, reopening, and many tasks reading and writing at once.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use crm_core::store::{ChangeSet, CrmStore, EntityRead};
use crm_core::*;
use crm_store_sqlite::{SqliteStore, SCHEMA_VERSION};

fn t(secs: i64) -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time")
        + Duration::seconds(secs)
}

async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(dir.path().join("crm.db"))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    (dir, store)
}

#[tokio::test]
async fn migrated_schema_matches_crm_sql() {
    let (dir, _store) = fresh().await;
    let conn = rusqlite::Connection::open(dir.path().join("crm.db")).expect("raw open");
    for def in crm_sql::ddl_tables() {
        let mut stmt = conn
            .prepare(&format!("PRAGMA table_info({})", def.kind.name()))
            .expect("pragma");
        let cols: Vec<String> = stmt
            .query_map([], |r| r.get::<_, String>(1))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        let mut want: Vec<String> = crm_sql::COMMON.iter().map(|c| c.to_string()).collect();
        want.extend(def.columns.iter().map(|c| c.name.to_string()));
        assert_eq!(cols, want, "columns of {}", def.kind.name());
    }
    let fts: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'customer_fts'",
            [],
            |r| r.get(0),
        )
        .expect("fts");
    assert_eq!(fts, 1);
}

#[tokio::test]
async fn wal_foreign_keys_and_version() {
    let (dir, store) = fresh().await;
    assert_eq!(
        store.schema_version().await.expect("version"),
        SCHEMA_VERSION
    );
    let conn = rusqlite::Connection::open(dir.path().join("crm.db")).expect("raw open");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    // The foreign keys exist in the schema (checked by SQLite when enabled).
    let fks: i64 = conn
        .query_row(
            "SELECT count(DISTINCT id) FROM pragma_foreign_key_list('contact')",
            [],
            |r| r.get(0),
        )
        .expect("fks");
    assert_eq!(fks, 1);
    store.migrate().await.expect("migrate is idempotent");
}

#[tokio::test]
async fn newer_schema_is_refused_naming_both_versions() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("future.db");
    {
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.pragma_update(None, "user_version", (SCHEMA_VERSION + 3) as i64)
            .expect("set version");
    }
    let err = SqliteStore::open(&path).await.expect_err("newer schema");
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
    assert!(
        msg.contains(&format!("version {}", SCHEMA_VERSION + 3)),
        "{msg}"
    );
    assert!(msg.contains(&format!("version {SCHEMA_VERSION}")), "{msg}");
}

#[tokio::test]
async fn older_file_migrates_forward_and_data_survives_reopen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("old.db");
    {
        // An empty file at schema version 0, as an older (pre-release) host would leave it.
        let conn = rusqlite::Connection::open(&path).expect("raw open");
        conn.execute_batch("CREATE TABLE host_table (x INTEGER);")
            .expect("host table");
    }
    let store = SqliteStore::open(&path).await.expect("open");
    assert_eq!(store.schema_version().await.expect("version"), 0);
    store.migrate().await.expect("migrate");
    assert_eq!(
        store.schema_version().await.expect("version"),
        SCHEMA_VERSION
    );
    let tenant = TenantId::new();
    let c = Customer::company(tenant, "Persisted GmbH", t(0)).expect("customer");
    store
        .apply(tenant, ChangeSet::new().insert(c.clone()))
        .await
        .expect("insert");
    drop(store);
    let again = SqliteStore::open(&path).await.expect("reopen");
    again.migrate().await.expect("migrate again");
    let read = EntityRead::<Customer>::get(&again, tenant, c.id)
        .await
        .expect("get");
    assert_eq!(read, Some(c));
}

/// 16 tasks mixing inserts, updates, lists, gets and searches on one store: no
/// "database is locked", every write lands.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_tasks_mixing_reads_and_writes() {
    let (_dir, store) = fresh().await;
    let crm = Arc::new(Crm::new(store));
    let actor = Actor::new(TenantId::new(), UserId::new());
    const TASKS: usize = 16;
    const EACH: usize = 15;
    let mut handles = Vec::new();
    for task in 0..TASKS {
        let crm = Arc::clone(&crm);
        let actor = actor.clone();
        handles.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for i in 0..EACH {
                let now = t((task * 1000 + i) as i64);
                let c = Customer::person(
                    actor.tenant,
                    &format!("Task{task}"),
                    &format!("Person{i}"),
                    now,
                )?;
                let c = crm.customers().create(&actor, c, now).await?;
                crm.contacts()
                    .add_point(
                        &actor,
                        c.id,
                        None,
                        ContactPointKind::Email,
                        &format!("t{task}p{i}@example.com"),
                        now,
                    )
                    .await?;
                let mut upd = crm.customers().get(&actor, c.id).await?;
                upd.industry = Some(format!("industry {}", i % 3));
                crm.update(&actor, upd, now).await?;
                let page = crm
                    .list::<Customer>(
                        &actor,
                        ListQuery::new()
                            .sorted(CustomerSort::Name, Direction::Asc)
                            .limit(20),
                    )
                    .await?;
                assert!(!page.items.is_empty());
                let hits = crm
                    .list::<Customer>(
                        &actor,
                        ListQuery::filter(CustomerFilter {
                            text: Some(format!("t{task}p{i}@")),
                            ..Default::default()
                        }),
                    )
                    .await?;
                assert_eq!(hits.items.len(), 1, "search finds the new customer at once");
                mine.push(c.id);
            }
            Ok::<_, CrmError>(mine)
        }));
    }
    let mut all = BTreeSet::new();
    for h in handles {
        let ids = h
            .await
            .expect("task panicked")
            .expect("no storage error under concurrency");
        all.extend(ids);
    }
    assert_eq!(all.len(), TASKS * EACH);
    let n = crm
        .count::<Customer>(&actor, CustomerFilter::default())
        .await
        .expect("count");
    assert_eq!(n as usize, TASKS * EACH);
    let updated = crm
        .count::<Customer>(
            &actor,
            CustomerFilter {
                industry: Some("industry 0".into()),
                ..Default::default()
            },
        )
        .await
        .expect("count");
    assert_eq!(updated as usize, TASKS * EACH.div_ceil(3));
}

/// Two store handles (two writer connections) on one file serialise through SQLite's
/// lock and busy timeout without errors.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_stores_on_one_file() {
    let (dir, a) = fresh().await;
    let b = SqliteStore::open(dir.path().join("crm.db"))
        .await
        .expect("second handle");
    let tenant = TenantId::new();
    let mut handles = Vec::new();
    for (k, store) in [a.clone(), b.clone()].into_iter().enumerate() {
        handles.push(tokio::spawn(async move {
            for i in 0..40 {
                let c = Customer::company(tenant, &format!("S{k}-{i}"), t(i)).expect("customer");
                store.apply(tenant, ChangeSet::new().insert(c)).await?;
            }
            Ok::<_, CrmError>(())
        }));
    }
    for h in handles {
        h.await.expect("join").expect("no busy error");
    }
    assert_eq!(
        EntityRead::<Customer>::count(&a, tenant, &CustomerFilter::default())
            .await
            .expect("count"),
        80
    );
}

/// Schema version 7 renames follow-ups and outbox events written as "canceled" (before
/// the spelling was unified with activities' "cancelled"): a status filter finds them
/// again, and the outbox kind follows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn migration_7_spells_cancelled() {
    let (dir, store) = fresh().await;
    let crm = Crm::new(store);
    let a = Actor::new(TenantId::new(), UserId::new());
    let c = crm
        .customers()
        .create(
            &a,
            Customer::company(a.tenant, "Acme", t(0)).expect("c"),
            t(0),
        )
        .await
        .expect("customer");
    let f = FollowUp::new(
        a.tenant,
        Due {
            title: "Call",
            due_at: t(100),
            links: Links::customer(c.id),
        },
        t(0),
    )
    .expect("follow-up");
    let f = crm.create(&a, f, t(0)).await.expect("create");
    crm.follow_ups()
        .cancel(&a, f.id, t(1))
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

    // Write the old spellings back, as a database from before version 7 holds them.
    let conn = rusqlite::Connection::open(dir.path().join("crm.db")).expect("raw open");
    conn.execute_batch(
        "UPDATE follow_up SET status = 'canceled', data = json_set(data, '$.status', 'canceled');
         UPDATE outbox SET kind = 'follow_up_canceled',
             data = json_set(data, '$.event.type', 'follow_up_canceled')
         WHERE kind = 'follow_up_cancelled';",
    )
    .expect("old spellings");
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

    conn.execute_batch(include_str!("../migrations/0007_cancelled.sql"))
        .expect("migration 7");
    assert_eq!(cancelled().await, 1, "found again");
    let kinds: Vec<String> = conn
        .prepare("SELECT kind FROM outbox WHERE kind LIKE 'follow_up_%'")
        .expect("prepare")
        .query_map([], |r| r.get::<_, String>(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(kinds, vec!["follow_up_cancelled".to_string()]);
    let events = crm.events().drain(&a, 0, 1000).await.expect("events");
    assert!(events
        .iter()
        .any(|e| matches!(e.event.event, DomainEvent::FollowUpCancelled { follow_up } if follow_up == f.id)));
}
