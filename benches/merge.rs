//! Merge + unmerge round trip per store: two duplicate customers, each with a contact, an
//! e-mail and a phone (the e-mail equal across both, so it collapses), a location, a deal
//! with its stage change, an activity, a note and a tag, merged into one and restored.
//!
//! Run with `cargo bench --bench merge` (memory and SQLite), plus PostgreSQL with
//! `CRM_POSTGRES_URL=postgres://... cargo bench --bench merge --features postgres`.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion};
use crm::store::{ChangeSet, CrmStore, EntityKind, EntityRef};
use crm::*;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time")
}

/// A customer with its related rows, as one change set.
fn duplicate(
    tenant: TenantId,
    pipeline: &Pipeline,
    tag: &Tag,
    i: usize,
) -> (CustomerId, ChangeSet) {
    let now = t0();
    let c = Customer::person(tenant, "Ada", "Lovelace", now).expect("customer");
    let ct = Contact::new(tenant, c.id, "Ada", &format!("Lovelace{i}"), now).expect("contact");
    let e = ContactPoint::new(
        tenant,
        c.id,
        None,
        ContactPointKind::Email,
        "ada@example.com",
        None,
        now,
    )
    .expect("email");
    let p = ContactPoint::new(
        tenant,
        c.id,
        None,
        ContactPointKind::Phone,
        &format!("+4420794600{i:02}"),
        None,
        now,
    )
    .expect("phone");
    let l = Location::new(
        tenant,
        c.id,
        AddressParts {
            line1: Some("1 Main St"),
            postal_code: Some("10115"),
            city: Some("Berlin"),
            country: Some("DE"),
        },
        now,
    )
    .expect("location");
    let stage = pipeline.stages[0].id;
    let amount = Money::new(10_000, "EUR").expect("money");
    let mut d =
        Deal::new(tenant, &format!("Deal {i}"), pipeline, stage, amount, now).expect("deal");
    d.customer_id = Some(c.id);
    let sc = StageChange::record(&d, None, None, None, now);
    let a = Activity::new(
        tenant,
        ActivityKind::Call,
        "Call Ada",
        Links::customer(c.id),
        now,
    )
    .expect("activity");
    let n = Note::new(
        tenant,
        UserId::new(),
        "Met at the fair",
        Links::customer(c.id),
        now,
    )
    .expect("note");
    let target = EntityRef::new(EntityKind::Customer, c.id.into());
    let ta = TagAssignment::new(tenant, tag.id, target, now).expect("tag assignment");
    let id = c.id;
    (
        id,
        ChangeSet::new()
            .insert(c)
            .insert(ct)
            .insert(e)
            .insert(p)
            .insert(l)
            .insert(d)
            .insert(sc)
            .insert(a)
            .insert(n)
            .insert(ta),
    )
}

fn round_trip(
    c: &mut Criterion,
    rt: &tokio::runtime::Runtime,
    name: &str,
    store: Arc<dyn CrmStore>,
) {
    let crm = Crm::from_arc(store.clone());
    let actor = Actor::new(TenantId::new(), UserId::new());
    let tenant = actor.tenant;
    let (a, b) = rt.block_on(async {
        let stages = vec![
            Stage::open("New", 10).expect("stage"),
            Stage::won("Won"),
            Stage::lost("Lost"),
        ];
        let pipeline = Pipeline::new(tenant, "Sales", stages, t0()).expect("pipeline");
        let tag = Tag::new(tenant, "vip", None, t0()).expect("tag");
        store
            .apply(
                tenant,
                ChangeSet::new()
                    .insert(pipeline.clone())
                    .insert(tag.clone()),
            )
            .await
            .expect("seed");
        let (a, one) = duplicate(tenant, &pipeline, &tag, 1);
        let (b, two) = duplicate(tenant, &pipeline, &tag, 2);
        store.apply(tenant, one.extend(two)).await.expect("seed");
        (a, b)
    });
    let options = MergeOptions {
        survivor: SurvivorRule::Given(a),
        ..Default::default()
    };
    let mut k = 0i64;
    c.bench_function(&format!("merge + unmerge round trip ({name})"), |bench| {
        bench.iter(|| {
            k += 1;
            let now = t0() + chrono::Duration::seconds(k);
            rt.block_on(async {
                let out = crm
                    .merges()
                    .merge(&actor, &[a, b], &options, now)
                    .await
                    .expect("merge");
                crm.merges()
                    .unmerge(&actor, out.record.id, now)
                    .await
                    .expect("unmerge");
            })
        })
    });
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    round_trip(c, &rt, "memory", Arc::new(crm::memory::MemoryStore::new()));
    let dir = tempfile::tempdir().expect("dir");
    let sqlite = rt.block_on(async {
        let s = crm::sqlite::SqliteStore::open(dir.path().join("merge.db"))
            .await
            .expect("open");
        s.migrate().await.expect("migrate");
        s
    });
    round_trip(c, &rt, "sqlite", Arc::new(sqlite));
    #[cfg(feature = "postgres")]
    if let Ok(url) = std::env::var("CRM_POSTGRES_URL") {
        let schema = format!("crm_bench_merge_{}", std::process::id());
        let pg = rt.block_on(async {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&mut admin)
                .await
                .expect("schema");
            let sep = if url.contains('?') { '&' } else { '?' };
            let s = crm::postgres::PgStore::connect(&format!(
                "{url}{sep}options=-csearch_path%3D{schema}%2Cpublic"
            ))
            .await
            .expect("connect");
            s.migrate().await.expect("migrate");
            s
        });
        round_trip(c, &rt, "postgres", Arc::new(pg));
        rt.block_on(async {
            use sqlx::Connection;
            let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&mut admin)
                .await
                .expect("drop");
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
