//! What a store enforces, exactly as a SQL schema would: unique ids, unique keys
//! ([`crm_core::store::EntityRules::unique_keys`]) and references
//! ([`crm_core::store::EntityRules::references`]).

use crm_core::store::{keys, Change, ChangeSet, Entity, EntityKind, EntityRef, NewEvent};
use crm_core::*;

use crate::support::*;

/// Inserting a row whose id exists (even with other content) reports `AlreadyExists` and
/// changes nothing, for every kind.
pub async fn duplicate_id_already_exists(store: Store) {
    let t = TenantId::new();
    let g = Graph::seed(&store, t).await;
    for_every_kind!(|E, field| {
        let row: &E = &field!(g);
        let mut again = row.clone();
        again.touch(at(999));
        let r = store.apply(t, ChangeSet::new().insert(again)).await;
        assert_already_exists_key(r, E::KIND.name(), &keys::id_key(E::KIND));
        assert_eq!(
            get::<E>(&store, t, row.id()).await.as_ref(),
            Some(row),
            "{}: unchanged",
            E::KIND
        );
        assert_eq!(
            count::<E>(&store, t, &Default::default()).await,
            1,
            "{}: count",
            E::KIND
        );
    });
}

/// Tag names are unique per tenant, case-insensitively, on insert and on update.
pub async fn tag_name_unique_case_insensitive(store: Store) {
    let t = TenantId::new();
    insert(&store, t, tag(t, "VIP")).await;
    assert_already_exists(store.apply(t, ChangeSet::new().insert(tag(t, "vip"))).await);
    assert_already_exists(
        store
            .apply(t, ChangeSet::new().insert(tag(t, " Vip ")))
            .await,
    );
    let other = insert(&store, t, tag(t, "VIP2")).await;
    let mut clash = other.clone();
    clash.name = "vIp".into();
    assert_already_exists(store.apply(t, ChangeSet::new().update(clash)).await);
    assert_eq!(get::<Tag>(&store, t, other.id).await.as_ref(), Some(&other));
    assert_eq!(count::<Tag>(&store, t, &TagFilter::default()).await, 2);
    // Renaming a tag to another case of its own name is fine.
    let mut recased = other.clone();
    recased.name = "vip2".into();
    update(&store, t, recased).await;
}

/// Customer external refs are unique per tenant (exact), absent refs never collide.
pub async fn customer_external_ref_unique(store: Store) {
    let t = TenantId::new();
    let mut a = company(t, "A");
    a.external_ref = Some("ERP-1".into());
    insert(&store, t, a.clone()).await;
    let mut b = company(t, "B");
    b.external_ref = Some("ERP-1".into());
    assert_already_exists(store.apply(t, ChangeSet::new().insert(b.clone())).await);
    // Many customers without a ref.
    insert_all(
        &store,
        t,
        (0..3).map(|i| company(t, &format!("NoRef{i}"))).collect(),
    )
    .await;
    b.external_ref = Some("ERP-2".into());
    let b = insert(&store, t, b).await;
    let mut clash = b.clone();
    clash.external_ref = Some("ERP-1".into());
    assert_already_exists(store.apply(t, ChangeSet::new().update(clash)).await);
    assert_eq!(get::<Customer>(&store, t, b.id).await.as_ref(), Some(&b));
    assert_eq!(
        count::<Customer>(&store, t, &CustomerFilter::default()).await,
        5
    );
}

/// At most one primary contact per customer.
pub async fn one_primary_contact_per_customer(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let d = insert(&store, t, company(t, "D")).await;
    let mut k1 = contact(t, c.id, "K1", "");
    k1.is_primary = true;
    insert(&store, t, k1).await;
    let mut k2 = contact(t, c.id, "K2", "");
    k2.is_primary = true;
    assert_already_exists(store.apply(t, ChangeSet::new().insert(k2.clone())).await);
    k2.is_primary = false;
    let k2 = insert(&store, t, k2).await;
    let mut promote = k2.clone();
    promote.is_primary = true;
    assert_already_exists(store.apply(t, ChangeSet::new().update(promote)).await);
    assert_eq!(get::<Contact>(&store, t, k2.id).await.as_ref(), Some(&k2));
    // Another customer has its own primary.
    let mut k3 = contact(t, d.id, "K3", "");
    k3.is_primary = true;
    insert(&store, t, k3).await;
    let f = ContactFilter {
        is_primary: Some(true),
        ..ContactFilter::default()
    };
    assert_eq!(count::<Contact>(&store, t, &f).await, 2);
}

/// At most one primary contact point per kind per owner (customer, or contact).
pub async fn one_primary_contact_point_per_kind_and_owner(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let k = insert(&store, t, contact(t, c.id, "K", "")).await;
    let k2 = insert(&store, t, contact(t, c.id, "K2", "")).await;
    let primary = |mut p: ContactPoint| {
        p.primary = true;
        p
    };
    insert(
        &store,
        t,
        primary(email_point(t, c.id, None, "a@c.example")),
    )
    .await;
    assert_already_exists(
        store
            .apply(
                t,
                ChangeSet::new().insert(primary(email_point(t, c.id, None, "b@c.example"))),
            )
            .await,
    );
    // Another kind for the same owner.
    insert(
        &store,
        t,
        primary(phone_point(
            t,
            c.id,
            None,
            ContactPointKind::Phone,
            "030 1234567",
            Some("DE"),
        )),
    )
    .await;
    insert(
        &store,
        t,
        primary(phone_point(
            t,
            c.id,
            None,
            ContactPointKind::Mobile,
            "0171 1234567",
            Some("DE"),
        )),
    )
    .await;
    // The contact is another owner.
    insert(
        &store,
        t,
        primary(email_point(t, c.id, Some(k.id), "k@c.example")),
    )
    .await;
    assert_already_exists(
        store
            .apply(
                t,
                ChangeSet::new().insert(primary(email_point(t, c.id, Some(k.id), "k2@c.example"))),
            )
            .await,
    );
    insert(
        &store,
        t,
        primary(email_point(t, c.id, Some(k2.id), "k2@c.example")),
    )
    .await;
    // Non-primary points are unlimited.
    insert(&store, t, email_point(t, c.id, None, "c@c.example")).await;
    insert(&store, t, email_point(t, c.id, Some(k.id), "k3@c.example")).await;
    let f = ContactPointFilter {
        primary: Some(true),
        ..ContactPointFilter::default()
    };
    assert_eq!(count::<ContactPoint>(&store, t, &f).await, 5);
    assert_eq!(
        count::<ContactPoint>(&store, t, &ContactPointFilter::default()).await,
        7
    );
}

/// At most one primary location per customer.
pub async fn one_primary_location_per_customer(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let d = insert(&store, t, company(t, "D")).await;
    let mut l1 = location(t, c.id, "One");
    l1.primary = true;
    insert(&store, t, l1).await;
    let mut l2 = location(t, c.id, "Two");
    l2.primary = true;
    assert_already_exists(store.apply(t, ChangeSet::new().insert(l2.clone())).await);
    l2.primary = false;
    insert(&store, t, l2).await;
    let mut l3 = location(t, d.id, "Three");
    l3.primary = true;
    insert(&store, t, l3).await;
    assert_eq!(
        count::<Location>(&store, t, &LocationFilter::default()).await,
        3
    );
}

/// One consent record per subject: the customer itself, and each of its contacts.
pub async fn one_consent_per_subject(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let d = insert(&store, t, company(t, "D")).await;
    let k = insert(&store, t, contact(t, c.id, "K", "")).await;
    insert(&store, t, Consent::new(t, c.id, None, t0())).await;
    assert_already_exists(
        store
            .apply(
                t,
                ChangeSet::new().insert(Consent::new(t, c.id, None, t0())),
            )
            .await,
    );
    insert(&store, t, Consent::new(t, c.id, Some(k.id), t0())).await;
    assert_already_exists(
        store
            .apply(
                t,
                ChangeSet::new().insert(Consent::new(t, c.id, Some(k.id), t0())),
            )
            .await,
    );
    insert(&store, t, Consent::new(t, d.id, None, t0())).await;
    assert_eq!(
        count::<Consent>(&store, t, &ConsentFilter::default()).await,
        3
    );
}

/// One default pipeline per tenant; pipeline names unique case-insensitively.
pub async fn one_default_pipeline_and_unique_names(store: Store) {
    let t = TenantId::new();
    let mut p1 = pipeline(t, "Sales");
    p1.is_default = true;
    insert(&store, t, p1).await;
    let mut p2 = pipeline(t, "Service");
    p2.is_default = true;
    assert_already_exists(store.apply(t, ChangeSet::new().insert(p2.clone())).await);
    p2.is_default = false;
    let p2 = insert(&store, t, p2).await;
    let mut promote = p2.clone();
    promote.is_default = true;
    assert_already_exists(store.apply(t, ChangeSet::new().update(promote)).await);
    assert_already_exists(
        store
            .apply(t, ChangeSet::new().insert(pipeline(t, "SALES")))
            .await,
    );
    assert_eq!(
        count::<Pipeline>(&store, t, &PipelineFilter::default()).await,
        2
    );
}

/// One assignment per (tag, target).
pub async fn unique_tag_assignment(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let d = insert(&store, t, company(t, "D")).await;
    let g = insert(&store, t, tag(t, "g")).await;
    let h = insert(&store, t, tag(t, "h")).await;
    insert(&store, t, tag_assignment(t, g.id, eref(&c))).await;
    assert_already_exists(
        store
            .apply(
                t,
                ChangeSet::new().insert(tag_assignment(t, g.id, eref(&c))),
            )
            .await,
    );
    insert(&store, t, tag_assignment(t, g.id, eref(&d))).await;
    let hc = insert(&store, t, tag_assignment(t, h.id, eref(&c))).await;
    let mut retag = hc.clone();
    retag.tag_id = g.id;
    assert_already_exists(store.apply(t, ChangeSet::new().update(retag)).await);
    assert_eq!(
        count::<TagAssignment>(&store, t, &TagAssignmentFilter::default()).await,
        3
    );
}

/// Moving a "primary" or "default" flag inside one change set (unset old, then set new)
/// succeeds for contacts, contact points, locations and pipelines.
pub async fn switch_primary_in_one_change_set(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;

    let mut k1 = contact(t, c.id, "K1", "");
    k1.is_primary = true;
    let k2 = contact(t, c.id, "K2", "");
    let mut p1 = email_point(t, c.id, None, "a@c.example");
    p1.primary = true;
    let p2 = email_point(t, c.id, None, "b@c.example");
    let mut l1 = location(t, c.id, "One");
    l1.primary = true;
    let l2 = location(t, c.id, "Two");
    let mut pl1 = pipeline(t, "One");
    pl1.is_default = true;
    let pl2 = pipeline(t, "Two");
    let cs = ChangeSet::new()
        .insert(k1.clone())
        .insert(k2.clone())
        .insert(p1.clone())
        .insert(p2.clone())
        .insert(l1.clone())
        .insert(l2.clone())
        .insert(pl1.clone())
        .insert(pl2.clone());
    apply_ok(&store, t, cs, "seed").await;

    let flip = ChangeSet::new()
        .update(Contact {
            is_primary: false,
            ..k1.clone()
        })
        .update(Contact {
            is_primary: true,
            ..k2.clone()
        })
        .update(ContactPoint {
            primary: false,
            ..p1.clone()
        })
        .update(ContactPoint {
            primary: true,
            ..p2.clone()
        })
        .update(Location {
            primary: false,
            ..l1.clone()
        })
        .update(Location {
            primary: true,
            ..l2.clone()
        })
        .update(Pipeline {
            is_default: false,
            ..pl1.clone()
        })
        .update(Pipeline {
            is_default: true,
            ..pl2.clone()
        });
    apply_ok(&store, t, flip, "switch primaries").await;
    assert!(
        get::<Contact>(&store, t, k2.id)
            .await
            .expect("k2")
            .is_primary
    );
    assert!(
        !get::<Contact>(&store, t, k1.id)
            .await
            .expect("k1")
            .is_primary
    );
    assert!(
        get::<ContactPoint>(&store, t, p2.id)
            .await
            .expect("p2")
            .primary
    );
    assert!(get::<Location>(&store, t, l2.id).await.expect("l2").primary);
    assert!(
        get::<Pipeline>(&store, t, pl2.id)
            .await
            .expect("pl2")
            .is_default
    );

    // Deleting the primary and inserting a new primary in one set works too.
    let mut k3 = contact(t, c.id, "K3", "");
    k3.is_primary = true;
    let cs = ChangeSet::new()
        .delete::<Contact>(k2.id, Some(2))
        .insert(k3.clone());
    apply_ok(&store, t, cs, "replace primary").await;
    let f = ContactFilter {
        is_primary: Some(true),
        ..ContactFilter::default()
    };
    assert_eq!(
        uuids(&list_default::<Contact>(&store, t, f).await),
        id_uuids(&[k3.id])
    );
}

/// Updates and deletes release unique keys for reuse.
pub async fn unique_keys_freed_by_update_and_delete(store: Store) {
    let t = TenantId::new();
    let g = insert(&store, t, tag(t, "old")).await;
    let mut renamed = g.clone();
    renamed.name = "new".into();
    let renamed = update(&store, t, renamed).await;
    insert(&store, t, tag(t, "OLD")).await;
    apply_ok(
        &store,
        t,
        ChangeSet::new().delete::<Tag>(renamed.id, Some(2)),
        "delete tag",
    )
    .await;
    insert(&store, t, tag(t, "New")).await;

    let mut c = company(t, "C");
    c.external_ref = Some("R".into());
    let c = insert(&store, t, c).await;
    update(
        &store,
        t,
        Customer {
            external_ref: None,
            ..c.clone()
        },
    )
    .await;
    let mut d = company(t, "D");
    d.external_ref = Some("R".into());
    insert(&store, t, d).await;

    let k = {
        let mut k = contact(t, c.id, "K", "");
        k.is_primary = true;
        insert(&store, t, k).await
    };
    apply_ok(
        &store,
        t,
        ChangeSet::new().delete::<Contact>(k.id, None),
        "delete primary",
    )
    .await;
    let mut k2 = contact(t, c.id, "K2", "");
    k2.is_primary = true;
    insert(&store, t, k2).await;

    let mut p = pipeline(t, "Default");
    p.is_default = true;
    let p = insert(&store, t, p).await;
    apply_ok(
        &store,
        t,
        ChangeSet::new().delete::<Pipeline>(p.id, None),
        "delete default",
    )
    .await;
    let mut p2 = pipeline(t, "default");
    p2.is_default = true;
    insert(&store, t, p2).await;
}

/// Builds a change set inserting rows that refer to a customer.
type Referrer = Box<dyn Fn(CustomerId) -> ChangeSet + Send + Sync>;

/// Deleting a row that other rows still refer to reports `InUse` and deletes nothing; this
/// holds for every kind of reference.
pub async fn delete_referenced_rows_in_use(store: Store) {
    let t = TenantId::new();
    let g = Graph::seed(&store, t).await;
    let in_use: Vec<EntityRef> = vec![
        eref(&g.customer),
        eref(&g.contact),
        eref(&g.lead),
        eref(&g.pipeline),
        eref(&g.deal),
        eref(&g.tag),
    ];
    for r in in_use {
        for expected_version in [None, Some(1)] {
            let cs = ChangeSet {
                changes: vec![Change::Delete {
                    target: r,
                    expected_version,
                }],
            };
            let res = store.apply(t, cs).await;
            assert!(
                matches!(res, Err(CrmError::InUse { .. })),
                "delete of referenced {r}: expected InUse, got {res:?}"
            );
        }
    }
    for_every_kind!(|E, field| {
        let row: &E = &field!(g);
        assert_eq!(
            get::<E>(&store, t, row.id()).await.as_ref(),
            Some(row),
            "{} survives",
            E::KIND
        );
    });

    // Each single kind of reference blocks a customer delete on its own.
    let p = insert(&store, t, pipeline(t, "P")).await;
    let cases: Vec<(&str, Referrer)> = vec![
        (
            "contact",
            Box::new(move |c| ChangeSet::new().insert(contact(t, c, "K", ""))),
        ),
        (
            "contact point",
            Box::new(move |c| ChangeSet::new().insert(email_point(t, c, None, "x@y.example"))),
        ),
        (
            "location",
            Box::new(move |c| ChangeSet::new().insert(location(t, c, "X"))),
        ),
        (
            "consent",
            Box::new(move |c| ChangeSet::new().insert(Consent::new(t, c, None, t0()))),
        ),
        (
            "deal",
            Box::new({
                let p = p.clone();
                move |c| {
                    let mut d = deal(t, &p, "D", 1);
                    d.customer_id = Some(c);
                    ChangeSet::new().insert(d)
                }
            }),
        ),
        (
            "activity",
            Box::new(move |c| ChangeSet::new().insert(activity(t, Links::customer(c), "A"))),
        ),
        (
            "interaction",
            Box::new(move |c| ChangeSet::new().insert(interaction(t, Links::customer(c), t0()))),
        ),
        (
            "note",
            Box::new(move |c| {
                ChangeSet::new().insert(note(t, UserId::new(), Links::customer(c), "N"))
            }),
        ),
        (
            "follow-up",
            Box::new(move |c| ChangeSet::new().insert(follow_up(t, Links::customer(c), "F", t0()))),
        ),
        (
            "owned item",
            Box::new(move |c| ChangeSet::new().insert(owned_item(t, c, "O"))),
        ),
        (
            "attachment",
            Box::new(move |c| {
                ChangeSet::new().insert(attachment(t, Links::customer(c), "a.pdf", 1))
            }),
        ),
        (
            "tag assignment",
            Box::new(move |c| {
                let g = tag(t, &format!("tag-{c}"));
                let a = tag_assignment(t, g.id, EntityRef::new(EntityKind::Customer, c.into()));
                ChangeSet::new().insert(g).insert(a)
            }),
        ),
        (
            "converted lead",
            Box::new(move |c| {
                let mut l = lead(t, "Conv", "");
                l.status = LeadStatus::Converted;
                l.converted_customer_id = Some(c);
                l.converted_at = Some(t0());
                ChangeSet::new().insert(l)
            }),
        ),
    ];
    for (what, make) in cases {
        let c = insert(&store, t, company(t, &format!("Referenced by {what}"))).await;
        apply_ok(&store, t, make(c.id), what).await;
        assert_in_use(
            store
                .apply(t, ChangeSet::new().delete::<Customer>(c.id, Some(1)))
                .await,
        );
        assert_eq!(
            get::<Customer>(&store, t, c.id).await.as_ref(),
            Some(&c),
            "{what}: customer survives"
        );
    }
}

/// Deleting children before their parent in one change set succeeds.
pub async fn delete_children_then_parent_in_one_change_set(store: Store) {
    let t = TenantId::new();
    let g = Graph::seed(&store, t).await;
    let mut cs = ChangeSet::new();
    for r in g.refs().into_iter().rev() {
        cs.changes.push(Change::Delete {
            target: r,
            expected_version: Some(1),
        });
    }
    apply_ok(&store, t, cs, "delete graph leaves first").await;
    for_every_kind!(|E, field| {
        let row: &E = &field!(g);
        assert_eq!(
            get::<E>(&store, t, row.id()).await,
            None,
            "{} deleted",
            E::KIND
        );
        assert_eq!(
            count::<E>(&store, t, &Default::default()).await,
            0,
            "{} count",
            E::KIND
        );
    });
}

/// Every kind of reference to a missing row reports `NotFound` on insert.
pub async fn missing_references_not_found(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let p = insert(&store, t, pipeline(t, "P")).await;
    let g = insert(&store, t, tag(t, "g")).await;
    let ghost_customer = CustomerId::new();
    let ghost_contact = ContactId::new();
    let ghost_pipeline = pipeline(t, "Ghost");
    let ghost_deal = deal(t, &p, "Ghost", 1);
    let ghost_lead = LeadId::new();

    let mut d_missing_customer = deal(t, &p, "D", 1);
    d_missing_customer.customer_id = Some(ghost_customer);
    let mut d_missing_contact = deal(t, &p, "D", 1);
    d_missing_contact.contact_id = Some(ghost_contact);
    let mut converted = lead(t, "L", "");
    converted.status = LeadStatus::Converted;
    converted.converted_customer_id = Some(c.id);
    converted.converted_deal_id = Some(ghost_deal.id);
    converted.converted_at = Some(t0());

    let attempts: Vec<(&str, ChangeSet)> = vec![
        (
            "contact",
            ChangeSet::new().insert(contact(t, ghost_customer, "K", "")),
        ),
        (
            "point of missing customer",
            ChangeSet::new().insert(email_point(t, ghost_customer, None, "a@b.example")),
        ),
        (
            "point of missing contact",
            ChangeSet::new().insert(email_point(t, c.id, Some(ghost_contact), "a@b.example")),
        ),
        (
            "location",
            ChangeSet::new().insert(location(t, ghost_customer, "X")),
        ),
        (
            "consent",
            ChangeSet::new().insert(Consent::new(t, ghost_customer, None, t0())),
        ),
        (
            "consent of missing contact",
            ChangeSet::new().insert(Consent::new(t, c.id, Some(ghost_contact), t0())),
        ),
        (
            "deal in missing pipeline",
            ChangeSet::new().insert(deal(t, &ghost_pipeline, "D", 1)),
        ),
        (
            "deal of missing customer",
            ChangeSet::new().insert(d_missing_customer),
        ),
        (
            "deal with missing contact",
            ChangeSet::new().insert(d_missing_contact),
        ),
        (
            "stage change of missing deal",
            ChangeSet::new().insert(stage_change(&ghost_deal, t0())),
        ),
        (
            "activity",
            ChangeSet::new().insert(activity(t, Links::lead(ghost_lead), "A")),
        ),
        (
            "activity with one missing link",
            ChangeSet::new().insert(activity(
                t,
                Links {
                    customer_id: Some(c.id),
                    contact_id: Some(ghost_contact),
                    ..Links::default()
                },
                "A",
            )),
        ),
        (
            "interaction",
            ChangeSet::new().insert(interaction(t, Links::deal(ghost_deal.id), t0())),
        ),
        (
            "note",
            ChangeSet::new().insert(note(t, UserId::new(), Links::customer(ghost_customer), "N")),
        ),
        (
            "assignment of missing tag",
            ChangeSet::new().insert(tag_assignment(t, TagId::new(), eref(&c))),
        ),
        (
            "assignment to missing target",
            ChangeSet::new().insert(tag_assignment(
                t,
                g.id,
                EntityRef::new(EntityKind::Lead, ghost_lead.into()),
            )),
        ),
        (
            "follow-up",
            ChangeSet::new().insert(follow_up(t, Links::lead(ghost_lead), "F", t0())),
        ),
        (
            "owned item",
            ChangeSet::new().insert(owned_item(t, ghost_customer, "O")),
        ),
        (
            "attachment",
            ChangeSet::new().insert(attachment(t, Links::customer(ghost_customer), "a.pdf", 1)),
        ),
        ("converted lead", ChangeSet::new().insert(converted)),
    ];
    for (what, cs) in attempts {
        let kind = cs.changes[0].target().kind;
        let r = store.apply(t, cs).await;
        assert!(
            matches!(r, Err(CrmError::NotFound { .. })),
            "{what}: expected NotFound, got {r:?}"
        );
        let n = match kind {
            EntityKind::Customer | EntityKind::Pipeline | EntityKind::Tag => 1,
            _ => 0,
        };
        let total: u64 = match kind {
            EntityKind::Contact => count::<Contact>(&store, t, &Default::default()).await,
            EntityKind::ContactPoint => count::<ContactPoint>(&store, t, &Default::default()).await,
            EntityKind::Location => count::<Location>(&store, t, &Default::default()).await,
            EntityKind::Consent => count::<Consent>(&store, t, &Default::default()).await,
            EntityKind::Deal => count::<Deal>(&store, t, &Default::default()).await,
            EntityKind::StageChange => count::<StageChange>(&store, t, &Default::default()).await,
            EntityKind::Activity => count::<Activity>(&store, t, &Default::default()).await,
            EntityKind::Interaction => count::<Interaction>(&store, t, &Default::default()).await,
            EntityKind::Note => count::<Note>(&store, t, &Default::default()).await,
            EntityKind::TagAssignment => {
                count::<TagAssignment>(&store, t, &Default::default()).await
            }
            EntityKind::FollowUp => count::<FollowUp>(&store, t, &Default::default()).await,
            EntityKind::OwnedItem => count::<OwnedItem>(&store, t, &Default::default()).await,
            EntityKind::Attachment => count::<Attachment>(&store, t, &Default::default()).await,
            EntityKind::Lead => count::<Lead>(&store, t, &Default::default()).await,
            _ => n,
        };
        assert_eq!(total, n, "{what}: nothing written");
    }
}

/// Updating a row to refer to a missing row reports `NotFound` and changes nothing.
pub async fn update_to_missing_reference_not_found(store: Store) {
    let t = TenantId::new();
    let g = Graph::seed(&store, t).await;
    let cases: Vec<(&str, ChangeSet)> = vec![
        (
            "contact",
            ChangeSet::new().update(Contact {
                customer_id: CustomerId::new(),
                ..g.contact.clone()
            }),
        ),
        (
            "deal",
            ChangeSet::new().update(Deal {
                pipeline_id: PipelineId::new(),
                ..g.deal.clone()
            }),
        ),
        (
            "activity",
            ChangeSet::new().update(Activity {
                links: Links::lead(LeadId::new()),
                ..g.activity.clone()
            }),
        ),
        (
            "assignment",
            ChangeSet::new().update(TagAssignment {
                tag_id: TagId::new(),
                ..g.tag_assignment.clone()
            }),
        ),
        (
            "owned item",
            ChangeSet::new().update(OwnedItem {
                customer_id: CustomerId::new(),
                ..g.owned_item.clone()
            }),
        ),
    ];
    for (what, cs) in cases {
        let r = store.apply(t, cs).await;
        assert!(
            matches!(r, Err(CrmError::NotFound { .. })),
            "{what}: expected NotFound, got {r:?}"
        );
    }
    for_every_kind!(|E, field| {
        let row: &E = &field!(g);
        assert_eq!(
            get::<E>(&store, t, row.id()).await.as_ref(),
            Some(row),
            "{} unchanged",
            E::KIND
        );
    });
    // Re-pointing to an existing row works.
    let other = insert(&store, t, company(t, "Other")).await;
    update(
        &store,
        t,
        Contact {
            customer_id: other.id,
            ..g.contact.clone()
        },
    )
    .await;
}

/// Every unique violation names its key by the same stable name in every store (the names
/// of [`crm_core::store::keys`]), on insert and on update, never a database message.
pub async fn unique_key_names_are_stable(store: Store) {
    let t = TenantId::new();
    let mut a = company(t, "A");
    a.external_ref = Some("ERP-1".into());
    let a = insert(&store, t, a).await;
    let mut b = company(t, "B");
    b.external_ref = Some("ERP-1".into());
    let r = store.apply(t, ChangeSet::new().insert(b.clone())).await;
    assert_already_exists_key(r, "customer", keys::CUSTOMER_EXTERNAL_REF);
    b.external_ref = None;
    let b = insert(&store, t, b).await;
    let mut clash = b.clone();
    clash.external_ref = Some("ERP-1".into());
    let r = store.apply(t, ChangeSet::new().update(clash)).await;
    assert_already_exists_key(r, "customer", keys::CUSTOMER_EXTERNAL_REF);

    let mut c1 = contact(t, a.id, "Ada", "One");
    c1.is_primary = true;
    insert(&store, t, c1).await;
    let mut c2 = contact(t, a.id, "Bob", "Two");
    c2.is_primary = true;
    let r = store.apply(t, ChangeSet::new().insert(c2)).await;
    assert_already_exists_key(r, "contact", keys::CONTACT_PRIMARY);

    let mut p1 = email_point(t, a.id, None, "one@a.example");
    p1.primary = true;
    insert(&store, t, p1).await;
    let mut p2 = email_point(t, a.id, None, "two@a.example");
    p2.primary = true;
    let r = store.apply(t, ChangeSet::new().insert(p2)).await;
    assert_already_exists_key(r, "contact_point", keys::CONTACT_POINT_PRIMARY);

    let mut l1 = location(t, a.id, "Berlin");
    l1.primary = true;
    insert(&store, t, l1).await;
    let mut l2 = location(t, a.id, "Bonn");
    l2.primary = true;
    let r = store.apply(t, ChangeSet::new().insert(l2)).await;
    assert_already_exists_key(r, "location", keys::LOCATION_PRIMARY);

    insert(&store, t, Consent::new(t, a.id, None, t0())).await;
    let r = store
        .apply(
            t,
            ChangeSet::new().insert(Consent::new(t, a.id, None, t0())),
        )
        .await;
    assert_already_exists_key(r, "consent", keys::CONSENT_SUBJECT);

    let mut d1 = pipeline(t, "Sales");
    d1.is_default = true;
    insert(&store, t, d1).await;
    let r = store
        .apply(t, ChangeSet::new().insert(pipeline(t, "SALES")))
        .await;
    assert_already_exists_key(r, "pipeline", keys::PIPELINE_NAME);
    let mut d2 = pipeline(t, "Service");
    d2.is_default = true;
    let r = store.apply(t, ChangeSet::new().insert(d2)).await;
    assert_already_exists_key(r, "pipeline", keys::PIPELINE_DEFAULT);

    let vip = insert(&store, t, tag(t, "VIP")).await;
    let r = store.apply(t, ChangeSet::new().insert(tag(t, "vip"))).await;
    assert_already_exists_key(r, "tag", keys::TAG_NAME);
    insert(&store, t, tag_assignment(t, vip.id, eref(&a))).await;
    let r = store
        .apply(
            t,
            ChangeSet::new().insert(tag_assignment(t, vip.id, eref(&a))),
        )
        .await;
    assert_already_exists_key(r, "tag_assignment", keys::TAG_ASSIGNMENT_TARGET);

    insert(&store, t, TenantSettings::defaults(t, t0())).await;
    let r = store
        .apply(
            t,
            ChangeSet::new().insert(TenantSettings::defaults(t, t0())),
        )
        .await;
    assert_already_exists_key(r, "tenant_settings", keys::TENANT_SETTINGS_SINGLETON);

    let event = |x: &str| {
        let mut e = NewEvent::new(
            eref(&a),
            t0(),
            DomainEvent::InteractionLogged {
                interaction: InteractionId::new(),
                customer: Some(a.id),
            },
        );
        e.external_id = Some(x.into());
        e
    };
    let mut cs = ChangeSet::new();
    cs.push_emit(event("ERP-EVENT-1"));
    apply_ok(&store, t, cs, "first event").await;
    let mut cs = ChangeSet::new();
    cs.push_emit(event("ERP-EVENT-1"));
    match store.apply(t, cs).await {
        Err(CrmError::DuplicateExternalEvent { external_id }) => {
            assert_eq!(external_id, "ERP-EVENT-1");
        }
        other => panic!("expected DuplicateExternalEvent, got {other:?}"),
    }
}
