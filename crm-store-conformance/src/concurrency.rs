//! Optimistic concurrency and races: of N writers holding the same version exactly one
//! wins and the others get `Conflict`; stale deletes fail and the row survives; unique
//! keys and references hold under concurrent writers.

use std::sync::Arc;

use crm_core::store::{ChangeSet, CrmStore, Entity, EntityRead};
use crm_core::*;
use tokio::sync::Barrier;

use crate::support::*;

/// How many writers race.
const WRITERS: usize = 8;

/// Starts one task per change set behind a barrier and returns their results in order.
async fn race(
    store: &Store,
    tenant: TenantId,
    sets: Vec<ChangeSet>,
) -> Vec<Result<store::Applied>> {
    let barrier = Arc::new(Barrier::new(sets.len()));
    let tasks: Vec<_> = sets
        .into_iter()
        .map(|cs| {
            let store = Arc::clone(store);
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                store.apply(tenant, cs).await
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.expect("writer task panicked"));
    }
    out
}

/// Races [`WRITERS`] updates of `row` (all from its current version), each built by
/// `change(i)`; asserts one winner and `Conflict` for the rest, and returns the winner's
/// stored state.
async fn race_updates<E: Entity>(
    store: &Store,
    tenant: TenantId,
    row: &E,
    change: impl Fn(usize, &mut E),
) -> E
where
    dyn CrmStore: EntityRead<E>,
{
    let candidates: Vec<E> = (0..WRITERS)
        .map(|i| {
            let mut r = row.clone();
            change(i, &mut r);
            r
        })
        .collect();
    let sets = candidates
        .iter()
        .map(|r| ChangeSet::new().update(r.clone()))
        .collect();
    let results = race(store, tenant, sets).await;
    let winners: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_ok())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "{}: exactly one of {WRITERS} racing updates wins: {results:?}",
        E::KIND
    );
    for (i, r) in results.into_iter().enumerate() {
        if i != winners[0] {
            assert!(
                matches!(r, Err(CrmError::Conflict { .. })),
                "{}: a losing update gets Conflict, got {r:?}",
                E::KIND
            );
        }
    }
    let mut expected = candidates[winners[0]].clone();
    expected.set_version(row.version() + 1);
    let stored = get::<E>(store, tenant, row.id()).await.expect("row exists");
    assert_eq!(
        stored,
        expected,
        "{}: the winner's state is stored",
        E::KIND
    );
    stored
}

/// Eight tasks update one customer from the same version: exactly one succeeds, the others
/// get `Conflict`, and the stored row is the winner's at version 2. A second round from
/// version 2 behaves the same.
pub async fn concurrent_updates_one_winner(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Contended")).await;
    let v2 = race_updates(&store, t, &c, |i, c| c.name = format!("Writer {i}")).await;
    assert_eq!(v2.version, 2);
    let v3 = race_updates(&store, t, &v2, |i, c| {
        c.industry = Some(format!("Industry {i}"))
    })
    .await;
    assert_eq!(v3.version, 3);
}

/// The one-winner rule holds for every entity kind.
pub async fn concurrent_updates_every_kind(store: Store) {
    let t = TenantId::new();
    let g = Graph::seed(&store, t).await;
    let bump = |i: usize| at(1_000 + i as i64);
    race_updates(&store, t, &g.customer, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.contact, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.contact_point, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.location, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.consent, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.lead, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.pipeline, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.deal, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.stage_change, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.activity, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.interaction, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.note, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.tag, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.tag_assignment, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.follow_up, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.owned_item, |i, e| e.touch(bump(i))).await;
    race_updates(&store, t, &g.attachment, |i, e| e.touch(bump(i))).await;
}

/// A delete with a stale (or future) version gets `Conflict` and the row survives; of
/// racing deletes exactly one succeeds; an update racing a delete never both succeed.
pub async fn stale_delete_conflicts(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Survivor")).await;
    let c2 = update(&store, t, c.clone()).await;
    assert_conflict(
        store
            .apply(t, ChangeSet::new().delete::<Customer>(c.id, Some(1)))
            .await,
    );
    assert_conflict(
        store
            .apply(t, ChangeSet::new().delete::<Customer>(c.id, Some(3)))
            .await,
    );
    assert_eq!(
        get::<Customer>(&store, t, c.id).await.as_ref(),
        Some(&c2),
        "row survives stale deletes"
    );

    // Racing deletes with the right version: one wins, the rest fail.
    let sets = (0..WRITERS)
        .map(|_| ChangeSet::new().delete::<Customer>(c.id, Some(2)))
        .collect();
    let results = race(&store, t, sets).await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "one delete wins: {results:?}"
    );
    for r in results.into_iter().filter(|r| r.is_err()) {
        assert!(
            matches!(
                r,
                Err(CrmError::NotFound { .. }) | Err(CrmError::Conflict { .. })
            ),
            "a losing delete gets NotFound or Conflict, got {r:?}"
        );
    }
    assert!(get::<Customer>(&store, t, c.id).await.is_none());

    // Update racing delete, both from version 1.
    for round in 0..10 {
        let d = insert(&store, t, company(t, &format!("Race {round}"))).await;
        let mut renamed = d.clone();
        renamed.name = "Renamed".into();
        let sets = vec![
            ChangeSet::new().update(renamed.clone()),
            ChangeSet::new().delete::<Customer>(d.id, Some(1)),
        ];
        let results = race(&store, t, sets).await;
        match (&results[0], &results[1]) {
            (Ok(_), Err(CrmError::Conflict { .. })) => {
                let stored = get::<Customer>(&store, t, d.id).await.expect("update won");
                assert_eq!(stored.name, "Renamed");
                assert_eq!(stored.version, 2);
            }
            (Err(CrmError::NotFound { .. }) | Err(CrmError::Conflict { .. }), Ok(_)) => {
                assert!(
                    get::<Customer>(&store, t, d.id).await.is_none(),
                    "delete won"
                );
            }
            other => panic!("update vs delete: exactly one must win, got {other:?}"),
        }
    }
}

/// Racing inserts of the same unique key (tag name in different cases, customer external
/// ref, default pipeline): exactly one lands, the others get `AlreadyExists`.
pub async fn concurrent_unique_inserts_one_winner(store: Store) {
    let t = TenantId::new();
    let names = ["hot", "HOT", "Hot", "hOt", "hoT", "HOt", "hOT", "HoT"];
    let sets = names
        .iter()
        .map(|n| ChangeSet::new().insert(tag(t, n)))
        .collect();
    check_one_winner(race(&store, t, sets).await, "tag name");
    assert_eq!(count::<Tag>(&store, t, &TagFilter::default()).await, 1);

    let sets = (0..WRITERS)
        .map(|i| {
            let mut c = company(t, &format!("C{i}"));
            c.external_ref = Some("ERP-42".into());
            ChangeSet::new().insert(c)
        })
        .collect();
    check_one_winner(race(&store, t, sets).await, "external ref");
    assert_eq!(
        count::<Customer>(&store, t, &CustomerFilter::default()).await,
        1
    );

    let sets = (0..WRITERS)
        .map(|i| {
            let mut p = pipeline(t, &format!("P{i}"));
            p.is_default = true;
            ChangeSet::new().insert(p)
        })
        .collect();
    check_one_winner(race(&store, t, sets).await, "default pipeline");
    assert_eq!(
        count::<Pipeline>(&store, t, &PipelineFilter::default()).await,
        1
    );
}

#[track_caller]
fn check_one_winner(results: Vec<Result<store::Applied>>, what: &str) {
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{what}: one winner: {results:?}"
    );
    for r in results.into_iter().filter(|r| r.is_err()) {
        assert_already_exists(r);
    }
}

/// Racing inserts of a primary contact for one customer: exactly one lands.
pub async fn concurrent_primary_contacts_one_winner(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let sets = (0..WRITERS)
        .map(|i| {
            let mut k = contact(t, c.id, &format!("K{i}"), "");
            k.is_primary = true;
            ChangeSet::new().insert(k)
        })
        .collect();
    check_one_winner(race(&store, t, sets).await, "primary contact");
    let f = ContactFilter {
        customer_id: Some(c.id),
        is_primary: Some(true),
        ..ContactFilter::default()
    };
    assert_eq!(count::<Contact>(&store, t, &f).await, 1);

    // Promoting different existing contacts concurrently: one wins too.
    let d = insert(&store, t, company(t, "D")).await;
    let ks = insert_all(
        &store,
        t,
        (0..WRITERS)
            .map(|i| contact(t, d.id, &format!("D{i}"), ""))
            .collect(),
    )
    .await;
    let sets = ks
        .iter()
        .map(|k| {
            let mut k = k.clone();
            k.is_primary = true;
            ChangeSet::new().update(k)
        })
        .collect();
    check_one_winner(race(&store, t, sets).await, "promote primary");
    let f = ContactFilter {
        customer_id: Some(d.id),
        is_primary: Some(true),
        ..ContactFilter::default()
    };
    assert_eq!(count::<Contact>(&store, t, &f).await, 1);
}

/// Many concurrent writers inserting distinct rows (some under one shared parent) all
/// succeed and every row is stored.
pub async fn concurrent_distinct_inserts_all_land(store: Store) {
    let t = TenantId::new();
    let parent = insert(&store, t, company(t, "Parent")).await;
    let sets: Vec<ChangeSet> = (0..32)
        .map(|i| {
            let c = company(t, &format!("C{i}"));
            let k = contact(t, parent.id, &format!("K{i}"), "");
            let k2 = contact(t, c.id, &format!("Own{i}"), "");
            ChangeSet::new().insert(c).insert(k).insert(k2)
        })
        .collect();
    let results = race(&store, t, sets).await;
    for r in &results {
        assert!(r.is_ok(), "distinct inserts all succeed: {r:?}");
    }
    assert_eq!(
        count::<Customer>(&store, t, &CustomerFilter::default()).await,
        33
    );
    assert_eq!(
        count::<Contact>(&store, t, &ContactFilter::default()).await,
        64
    );
    let f = ContactFilter {
        customer_id: Some(parent.id),
        ..ContactFilter::default()
    };
    assert_eq!(count::<Contact>(&store, t, &f).await, 32);
    assert_eq!(list_default::<Contact>(&store, t, f).await.len(), 32);
}

/// Deleting a customer while another task inserts a contact of it: exactly one of them
/// succeeds and no contact is left without its customer.
pub async fn concurrent_parent_delete_and_child_insert(store: Store) {
    let t = TenantId::new();
    for round in 0..20 {
        let c = insert(&store, t, company(t, &format!("Parent {round}"))).await;
        let k = contact(t, c.id, "Child", "");
        let sets = vec![
            ChangeSet::new().delete::<Customer>(c.id, None),
            ChangeSet::new().insert(k.clone()),
        ];
        let results = race(&store, t, sets).await;
        let parent = get::<Customer>(&store, t, c.id).await;
        let child = get::<Contact>(&store, t, k.id).await;
        match (&results[0], &results[1]) {
            (Ok(_), Err(CrmError::NotFound { .. })) => {
                assert!(parent.is_none() && child.is_none(), "delete won: both gone");
            }
            (Err(CrmError::InUse { .. }), Ok(_)) => {
                assert!(
                    parent.is_some() && child.is_some(),
                    "insert won: both there"
                );
            }
            other => panic!("delete vs child insert: exactly one must win, got {other:?}"),
        }
    }
}
