//! Tenant isolation for every read and write: nothing of tenant A is visible, changeable
//! or referable from tenant B.

use crm_core::store::{Change, ChangeSet, Entity, EntityKind, EntityRef};
use crm_core::*;

use crate::support::*;

/// Checks that `tenant` sees exactly the rows of `mine` and none of `theirs`.
async fn sees_only(store: &Store, tenant: TenantId, mine: &Graph, theirs: &Graph) {
    for_every_kind!(|E, field| {
        let own: &E = &field!(mine);
        let other: &E = &field!(theirs);
        assert_eq!(
            get::<E>(store, tenant, other.id()).await,
            None,
            "{}: another tenant's row is visible through get",
            E::KIND
        );
        assert_eq!(
            get::<E>(store, tenant, own.id()).await.as_ref(),
            Some(own),
            "{}: own row",
            E::KIND
        );
        let all = list_default::<E>(store, tenant, Default::default()).await;
        assert_eq!(
            all,
            vec![own.clone()],
            "{}: list shows exactly the tenant's row",
            E::KIND
        );
        assert_eq!(
            count::<E>(store, tenant, &Default::default()).await,
            1,
            "{}: count",
            E::KIND
        );
    });
}

/// get, list and count of every kind only ever show the caller's tenant's rows.
pub async fn reads_are_tenant_scoped(store: Store) {
    let (ta, tb) = (TenantId::new(), TenantId::new());
    let a = Graph::seed(&store, ta).await;
    let b = Graph::seed(&store, tb).await;
    assert!(covers_all_kinds(&a.refs()));
    sees_only(&store, ta, &a, &b).await;
    sees_only(&store, tb, &b, &a).await;

    // A third tenant sees nothing at all.
    let tc = TenantId::new();
    for_every_kind!(|E, field| {
        let row: &E = &field!(a);
        assert_eq!(get::<E>(&store, tc, row.id()).await, None);
        assert!(list_default::<E>(&store, tc, Default::default())
            .await
            .is_empty());
        assert_eq!(count::<E>(&store, tc, &Default::default()).await, 0);
    });
}

/// Updating tenant A's rows from tenant B (with B's tenant id on the record) reports
/// `NotFound` and changes nothing.
pub async fn updates_from_other_tenant_not_found(store: Store) {
    let (ta, tb) = (TenantId::new(), TenantId::new());
    let a = Graph::seed(&store, ta).await;
    let _b = Graph::seed(&store, tb).await;
    for_every_kind!(|E, field| {
        let mut row: E = field!(a).clone();
        retenant(&mut row, tb);
        let r = store.apply(tb, ChangeSet::new().update(row)).await;
        assert!(
            matches!(r, Err(CrmError::NotFound { .. })),
            "{}: update of another tenant's row: expected NotFound, got {r:?}",
            E::KIND
        );
    });
    // Nothing changed in A, nothing appeared in B.
    for_every_kind!(|E, field| {
        let row: &E = &field!(a);
        assert_eq!(
            get::<E>(&store, ta, row.id()).await.as_ref(),
            Some(row),
            "{} unchanged",
            E::KIND
        );
        assert_eq!(
            get::<E>(&store, tb, row.id()).await,
            None,
            "{} not copied",
            E::KIND
        );
    });
}

/// Sets the tenant of any entity by round-tripping through JSON (entities have no
/// tenant setter, by design).
fn retenant<E: Entity>(row: &mut E, tenant: TenantId) {
    let mut v = serde_json::to_value(&*row).expect("serialise");
    v["tenant_id"] = serde_json::to_value(tenant).expect("tenant");
    *row = serde_json::from_value(v).expect("deserialise");
    assert_eq!(row.tenant_id(), tenant);
}

/// Deleting tenant A's rows from tenant B reports `NotFound` and deletes nothing.
pub async fn deletes_from_other_tenant_not_found(store: Store) {
    let (ta, tb) = (TenantId::new(), TenantId::new());
    let a = Graph::seed(&store, ta).await;
    // Leaves first, so that reference checks cannot mask the tenant check.
    for r in a.refs().into_iter().rev() {
        for expected_version in [None, Some(1)] {
            let cs = ChangeSet {
                changes: vec![Change::Delete {
                    target: r,
                    expected_version,
                }],
            };
            let res = store.apply(tb, cs).await;
            assert!(
                matches!(res, Err(CrmError::NotFound { .. })),
                "delete of another tenant's {r}: expected NotFound, got {res:?}"
            );
        }
    }
    for_every_kind!(|E, field| {
        let row: &E = &field!(a);
        assert_eq!(
            get::<E>(&store, ta, row.id()).await.as_ref(),
            Some(row),
            "{} survived",
            E::KIND
        );
    });
}

/// Inserting rows in tenant B that refer to tenant A's rows reports `NotFound` and
/// writes nothing.
pub async fn references_across_tenants_not_found(store: Store) {
    let (ta, tb) = (TenantId::new(), TenantId::new());
    let a = Graph::seed(&store, ta).await;
    let bc = insert(&store, tb, company(tb, "B customer")).await;
    let btag = insert(&store, tb, tag(tb, "b")).await;

    let mut b_deal_on_a_customer = {
        let p = pipeline(tb, "B pipeline");
        insert(&store, tb, p.clone()).await;
        deal(tb, &p, "x", 1)
    };
    b_deal_on_a_customer.customer_id = Some(a.customer.id);
    let b_deal_in_a_pipeline = deal(tb, &a.pipeline, "y", 1);
    let mut b_sc = stage_change(&a.deal, t0());
    b_sc.tenant_id = tb;

    let attempts: Vec<(&str, ChangeSet)> = vec![
        (
            "contact of A's customer",
            ChangeSet::new().insert(contact(tb, a.customer.id, "X", "")),
        ),
        (
            "point of A's contact",
            ChangeSet::new().insert(email_point(tb, bc.id, Some(a.contact.id), "x@y.example")),
        ),
        (
            "location of A's customer",
            ChangeSet::new().insert(location(tb, a.customer.id, "X")),
        ),
        (
            "consent of A's customer",
            ChangeSet::new().insert(Consent::new(tb, a.customer.id, None, t0())),
        ),
        (
            "deal of A's customer",
            ChangeSet::new().insert(b_deal_on_a_customer),
        ),
        (
            "deal in A's pipeline",
            ChangeSet::new().insert(b_deal_in_a_pipeline),
        ),
        ("stage change of A's deal", ChangeSet::new().insert(b_sc)),
        (
            "activity on A's lead",
            ChangeSet::new().insert(activity(tb, Links::lead(a.lead.id), "x")),
        ),
        (
            "interaction with A's contact",
            ChangeSet::new().insert(interaction(
                tb,
                Links {
                    customer_id: Some(bc.id),
                    contact_id: Some(a.contact.id),
                    ..Links::default()
                },
                t0(),
            )),
        ),
        (
            "note on A's deal",
            ChangeSet::new().insert(note(tb, UserId::new(), Links::deal(a.deal.id), "x")),
        ),
        (
            "B's tag on A's customer",
            ChangeSet::new().insert(tag_assignment(tb, btag.id, eref(&a.customer))),
        ),
        (
            "A's tag on B's customer",
            ChangeSet::new().insert(tag_assignment(tb, a.tag.id, eref(&bc))),
        ),
        (
            "follow-up on A's customer",
            ChangeSet::new().insert(follow_up(tb, Links::customer(a.customer.id), "x", t0())),
        ),
        (
            "item of A's customer",
            ChangeSet::new().insert(owned_item(tb, a.customer.id, "x")),
        ),
        (
            "file on A's customer",
            ChangeSet::new().insert(attachment(tb, Links::customer(a.customer.id), "x.pdf", 1)),
        ),
    ];
    for (what, cs) in attempts {
        let r = store.apply(tb, cs).await;
        assert!(
            matches!(r, Err(CrmError::NotFound { .. })),
            "{what}: expected NotFound, got {r:?}"
        );
    }
    // B still holds only what it inserted itself.
    assert_eq!(
        count::<Customer>(&store, tb, &CustomerFilter::default()).await,
        1
    );
    assert_eq!(
        count::<Pipeline>(&store, tb, &PipelineFilter::default()).await,
        1
    );
    for_every_kind!(|E, field| {
        let expected = match E::KIND {
            EntityKind::Customer | EntityKind::Tag | EntityKind::Pipeline => 1,
            _ => 0,
        };
        assert_eq!(
            count::<E>(&store, tb, &Default::default()).await,
            expected,
            "{} in B",
            E::KIND
        );
        let row: &E = &field!(a);
        assert_eq!(
            get::<E>(&store, ta, row.id()).await.as_ref(),
            Some(row),
            "{} in A untouched",
            E::KIND
        );
    });
}

/// A change set carrying a record of another tenant than the `tenant` argument fails with
/// `Validation` and writes nothing, wherever the record sits in the set.
pub async fn record_of_other_tenant_is_validation(store: Store) {
    let (ta, tb) = (TenantId::new(), TenantId::new());
    let a_first = company(ta, "A first");
    let b_row = company(tb, "B row");
    let cs = ChangeSet::new()
        .insert(a_first.clone())
        .insert(b_row.clone());
    assert_any_validation(store.apply(ta, cs).await);
    let cs = ChangeSet::new()
        .insert(b_row.clone())
        .insert(a_first.clone());
    assert_any_validation(store.apply(ta, cs).await);
    assert_any_validation(
        store
            .apply(ta, ChangeSet::new().insert(b_row.clone()))
            .await,
    );
    for t in [ta, tb] {
        assert_eq!(
            count::<Customer>(&store, t, &CustomerFilter::default()).await,
            0,
            "nothing written"
        );
    }
    assert_eq!(get::<Customer>(&store, ta, a_first.id).await, None);
    assert_eq!(get::<Customer>(&store, tb, b_row.id).await, None);

    // An update whose record names another tenant: refused, row unchanged.
    let a = Graph::seed(&store, ta).await;
    let mut moved = a.customer.clone();
    moved.tenant_id = tb;
    moved.name = "Moved".into();
    let mut renamed = a.lead.clone();
    renamed.first_name = Some("Renamed".into());
    let cs = ChangeSet::new().update(renamed).update(moved);
    assert_any_validation(store.apply(ta, cs).await);
    assert_eq!(
        get::<Customer>(&store, ta, a.customer.id).await.as_ref(),
        Some(&a.customer)
    );
    assert_eq!(
        get::<Lead>(&store, ta, a.lead.id).await.as_ref(),
        Some(&a.lead),
        "earlier update rolled back"
    );
    assert_eq!(get::<Customer>(&store, tb, a.customer.id).await, None);

    // Child records of another tenant, too.
    let mut k = contact(ta, a.customer.id, "K", "");
    k.tenant_id = tb;
    assert_any_validation(store.apply(ta, ChangeSet::new().insert(k.clone())).await);
    assert_eq!(get::<Contact>(&store, ta, k.id).await, None);
    assert_eq!(get::<Contact>(&store, tb, k.id).await, None);
}

/// Unique keys are scoped to the tenant: the same tag name, external ref, pipeline name
/// and default pipeline may exist in two tenants.
pub async fn unique_keys_are_per_tenant(store: Store) {
    let (ta, tb) = (TenantId::new(), TenantId::new());
    for (t, tag_name) in [(ta, "VIP"), (tb, "vip")] {
        let mut c = company(t, "Same");
        c.external_ref = Some("ERP-1".into());
        let mut p = pipeline(t, "Sales");
        p.is_default = true;
        let cs = ChangeSet::new()
            .insert(c)
            .insert(p)
            .insert(tag(t, tag_name));
        apply_ok(&store, t, cs, "same unique keys in another tenant").await;
    }
    for t in [ta, tb] {
        assert_eq!(
            count::<Tag>(
                &store,
                t,
                &TagFilter {
                    name: Some("vip".into())
                }
            )
            .await,
            1
        );
        assert_eq!(
            count::<Pipeline>(
                &store,
                t,
                &PipelineFilter {
                    is_default: Some(true)
                }
            )
            .await,
            1
        );
        let f = CustomerFilter {
            external_ref: Some("ERP-1".into()),
            ..CustomerFilter::default()
        };
        assert_eq!(count::<Customer>(&store, t, &f).await, 1);
    }
}

/// Filters naming another tenant's rows (tag, text, parents) match nothing.
pub async fn filters_never_cross_tenants(store: Store) {
    let (ta, tb) = (TenantId::new(), TenantId::new());
    let a = Graph::seed(&store, ta).await;
    let b = Graph::seed(&store, tb).await;
    let f = CustomerFilter {
        tag: Some(a.tag.id),
        ..CustomerFilter::default()
    };
    assert_selects::<Customer>(&store, tb, f.clone(), &[], "A's tag from B").await;
    assert_selects::<Customer>(&store, ta, f, &[a.customer.id], "A's tag from A").await;
    let f = CustomerFilter {
        text: Some("graph".into()),
        ..CustomerFilter::default()
    };
    assert_selects::<Customer>(&store, tb, f.clone(), &[b.customer.id], "text from B").await;
    // Tenant A's unique text.
    let mut renamed = a.customer.clone();
    renamed.name = "Zanzibar Unique".into();
    update(&store, ta, renamed).await;
    let f = CustomerFilter {
        text: Some("zanzibar".into()),
        ..CustomerFilter::default()
    };
    assert_selects::<Customer>(&store, tb, f.clone(), &[], "A's name from B").await;
    assert_selects::<Customer>(&store, ta, f, &[a.customer.id], "A's name from A").await;
    let f = ContactFilter {
        customer_id: Some(a.customer.id),
        ..ContactFilter::default()
    };
    assert_selects::<Contact>(&store, tb, f, &[], "A's customer's contacts from B").await;
    let f = TagAssignmentFilter {
        target: Some(EntityRef::new(EntityKind::Customer, a.customer.id.into())),
        ..TagAssignmentFilter::default()
    };
    assert_selects::<TagAssignment>(&store, tb, f, &[], "A's assignments from B").await;
    let f = DealFilter {
        pipeline_id: Some(a.pipeline.id),
        ..DealFilter::default()
    };
    assert_selects::<Deal>(&store, tb, f, &[], "A's pipeline's deals from B").await;
    let f = ActivityFilter {
        links: LinkFilter {
            customer_id: Some(a.customer.id),
            ..LinkFilter::default()
        },
        ..ActivityFilter::default()
    };
    assert_selects::<Activity>(&store, tb, f, &[], "A's customer's activities from B").await;
}
