//! Hot paths of the in-memory store and the service over it: bulk insert through change
//! sets, get by id, first-page list, filtered list via the reference index, text search,
//! a Customer 360 read, and the storage rules checked before every write.
//!
//! Run with `cargo bench --bench memory_store`.

use std::hint::black_box;

use chrono::{Duration, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use crm::memory::MemoryStore;
use crm::store::{ChangeSet, CrmStore, EntityRead};
use crm::{
    Actor, Contact, ContactFilter, ContactPoint, ContactPointKind, Crm, Customer, CustomerFilter,
    CustomerId, ListQuery, TenantId, UserId,
};

const CUSTOMERS: usize = 20_000;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

/// One customer with a contact and two contact points, as one change set.
fn customer_set(tenant: TenantId, i: usize) -> (CustomerId, ChangeSet) {
    let now = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time")
        + Duration::seconds(i as i64);
    let c =
        Customer::person(tenant, &format!("First{i}"), &format!("Last{i}"), now).expect("customer");
    let ct = Contact::new(tenant, c.id, &format!("Contact{i}"), "Person", now).expect("contact");
    let e = ContactPoint::new(
        tenant,
        c.id,
        None,
        ContactPointKind::Email,
        &format!("p{i}@example.com"),
        None,
        now,
    )
    .expect("email");
    let p = ContactPoint::new(
        tenant,
        c.id,
        None,
        ContactPointKind::Phone,
        &format!("+1415555{:04}", i % 10_000),
        None,
        now,
    )
    .expect("phone");
    let id = c.id;
    (
        id,
        ChangeSet::new().insert(c).insert(ct).insert(e).insert(p),
    )
}

fn seeded(tenant: TenantId, n: usize) -> (MemoryStore, Vec<CustomerId>) {
    let store = MemoryStore::new();
    let rt = rt();
    let mut ids = Vec::with_capacity(n);
    rt.block_on(async {
        for i in 0..n {
            let (id, cs) = customer_set(tenant, i);
            ids.push(id);
            store.apply(tenant, cs).await.expect("apply");
        }
    });
    (store, ids)
}

fn bench(c: &mut Criterion) {
    let rt = rt();
    let tenant = TenantId::new();

    let mut g = c.benchmark_group("memory_insert");
    g.throughput(Throughput::Elements(1_000));
    g.bench_function(
        "1000 customers x (contact + 2 points), one change set each",
        |b| {
            b.iter_batched(
                MemoryStore::new,
                |store| {
                    rt.block_on(async {
                        for i in 0..1_000 {
                            let (_, cs) = customer_set(tenant, i);
                            store.apply(tenant, cs).await.expect("apply");
                        }
                    })
                },
                BatchSize::LargeInput,
            )
        },
    );
    g.finish();

    // The storage rules every store checks before writing (crm_core::store::storable):
    // one customer's change set of four records, and a text search's query parsing.
    let mut g = c.benchmark_group("storage_rules");
    let (_, cs) = customer_set(tenant, 7);
    g.bench_function("check_storable, customer + contact + 2 points", |b| {
        b.iter(|| {
            for change in &black_box(&cs).changes {
                change.check_storable().expect("storable");
            }
        })
    });
    g.bench_function("query_terms, name + phone", |b| {
        b.iter(|| crm::search::query_terms(black_box("müller bäckerei +49 30 1234567")))
    });
    g.finish();

    let (store, ids) = seeded(tenant, CUSTOMERS);
    let crm = Crm::new(store.clone());
    let actor = Actor::new(tenant, UserId::new());
    let mut g = c.benchmark_group(format!("memory_read_{CUSTOMERS}_customers"));
    let mut k = 0usize;
    g.bench_function("get customer by id", |b| {
        b.iter(|| {
            k = (k + 7919) % ids.len();
            rt.block_on(EntityRead::<Customer>::get(&store, tenant, ids[k]))
                .expect("get")
        })
    });
    g.bench_function("first page of 50, by name", |b| {
        let q = ListQuery::<Customer>::new()
            .sorted(crm::CustomerSort::Name, crm::Direction::Asc)
            .limit(50);
        b.iter(|| {
            rt.block_on(EntityRead::<Customer>::list(&store, tenant, black_box(&q)))
                .expect("list")
        })
    });
    g.bench_function("contacts of one customer (reference index)", |b| {
        b.iter(|| {
            k = (k + 7919) % ids.len();
            let q = ListQuery::<Contact>::filter(ContactFilter {
                customer_id: Some(ids[k]),
                ..Default::default()
            });
            rt.block_on(EntityRead::<Contact>::list(&store, tenant, &q))
                .expect("list")
        })
    });
    g.sample_size(20);
    g.bench_function("text search by e-mail fragment", |b| {
        b.iter(|| {
            k = (k + 7919) % ids.len();
            let q = ListQuery::<Customer>::filter(CustomerFilter {
                text: Some(format!("p{k}@")),
                ..Default::default()
            });
            rt.block_on(EntityRead::<Customer>::list(&store, tenant, &q))
                .expect("search")
        })
    });
    g.bench_function("customer 360", |b| {
        b.iter(|| {
            k = (k + 7919) % ids.len();
            rt.block_on(crm.customers().view_360(&actor, ids[k]))
                .expect("360")
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
