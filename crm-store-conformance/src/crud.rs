//! Create, read, update, delete and list for every entity kind.
//!
//! Each scenario runs the same cycle: a row is absent, is inserted (version 1) and read back
//! exactly, is listed and counted, is updated (version 2) and read back exactly, a stale
//! update is refused, the row is deleted and is gone from get, list and count, and a second
//! delete or update reports `NotFound`.

use chrono::Utc;
use crm_core::store::{ChangeSet, CrmStore, Entity, EntityRead};
use crm_core::*;

use crate::support::*;

/// The shared cycle. `parents` must already be stored; `mutate` changes some fields.
async fn cycle<E: Entity>(store: &Store, tenant: TenantId, entity: E, mutate: impl FnOnce(&mut E))
where
    dyn CrmStore: EntityRead<E>,
{
    let kind = E::KIND;
    let all = E::Filter::default();
    let before = count::<E>(store, tenant, &all).await;
    assert_eq!(entity.version(), 1, "{kind}: fixtures start at version 1");
    assert!(
        get::<E>(store, tenant, entity.id()).await.is_none(),
        "{kind}: absent before insert"
    );

    // Create.
    let applied = store
        .apply(tenant, ChangeSet::new().insert(entity.clone()))
        .await
        .unwrap_or_else(|e| panic!("{kind}: insert failed: {e}"));
    assert_eq!(applied.changes, 1, "{kind}: Applied.changes after insert");

    // Read back exactly.
    let stored = get::<E>(store, tenant, entity.id()).await;
    assert_eq!(
        stored.as_ref(),
        Some(&entity),
        "{kind}: get returns the inserted row"
    );
    assert_eq!(
        count::<E>(store, tenant, &all).await,
        before + 1,
        "{kind}: count after insert"
    );
    let listed = list_default::<E>(store, tenant, all.clone()).await;
    assert_eq!(
        listed
            .iter()
            .filter(|e| e.id() == entity.id())
            .collect::<Vec<_>>(),
        vec![&entity],
        "{kind}: list shows the inserted row once"
    );

    // Update.
    let mut changed = entity.clone();
    mutate(&mut changed);
    changed.touch(Utc::now());
    assert_ne!(
        changed, entity,
        "{kind}: the mutation must change something"
    );
    let applied = store
        .apply(tenant, ChangeSet::new().update(changed.clone()))
        .await
        .unwrap_or_else(|e| panic!("{kind}: update failed: {e}"));
    assert_eq!(applied.changes, 1, "{kind}: Applied.changes after update");
    let mut expected = changed.clone();
    expected.set_version(2);
    let stored = get::<E>(store, tenant, entity.id())
        .await
        .unwrap_or_else(|| panic!("{kind}: row vanished after update"));
    assert_eq!(stored.version(), 2, "{kind}: version goes 1 -> 2 on update");
    assert_eq!(stored, expected, "{kind}: get returns the updated row");
    let listed = list_default::<E>(store, tenant, all.clone()).await;
    assert!(
        listed.contains(&expected),
        "{kind}: list shows the updated row"
    );
    assert_eq!(
        count::<E>(store, tenant, &all).await,
        before + 1,
        "{kind}: count after update"
    );

    // A second update from the stale version 1 is refused and changes nothing.
    let mut stale = entity.clone();
    stale.touch(Utc::now());
    assert_conflict(store.apply(tenant, ChangeSet::new().update(stale)).await);
    assert_eq!(
        get::<E>(store, tenant, entity.id()).await.as_ref(),
        Some(&expected),
        "{kind}: stale update changed nothing"
    );

    // Delete with the current version.
    let applied = store
        .apply(tenant, ChangeSet::new().delete::<E>(entity.id(), Some(2)))
        .await
        .unwrap_or_else(|e| panic!("{kind}: delete failed: {e}"));
    assert_eq!(applied.changes, 1, "{kind}: Applied.changes after delete");
    assert!(
        get::<E>(store, tenant, entity.id()).await.is_none(),
        "{kind}: get after delete is None"
    );
    assert_eq!(
        count::<E>(store, tenant, &all).await,
        before,
        "{kind}: count after delete"
    );
    let listed = list_default::<E>(store, tenant, all.clone()).await;
    assert!(
        listed.iter().all(|e| e.id() != entity.id()),
        "{kind}: list after delete omits the row"
    );

    // Deleting or updating a deleted row: NotFound.
    assert_not_found(
        store
            .apply(tenant, ChangeSet::new().delete::<E>(entity.id(), None))
            .await,
    );
    assert_not_found(store.apply(tenant, ChangeSet::new().update(expected)).await);
    assert!(
        get::<E>(store, tenant, entity.id()).await.is_none(),
        "{kind}: still gone"
    );
}

/// Customers: create, get, update, delete, list.
pub async fn customer_crud(store: Store) {
    let t = TenantId::new();
    let mut c = person(t, "Ada", "Lovelace");
    c.external_ref = Some("ERP-1".into());
    c.website = Some("https://ada.example".into());
    c.custom_fields
        .insert("vip".into(), serde_json::json!(true));
    c.annual_revenue = Some(eur(1_000_000));
    cycle(&store, t, c, |c| {
        c.name = "Ada King".into();
        c.status = CustomerStatus::Active;
        c.last_contact_at = Some(at(5));
        c.custom_fields
            .insert("tier".into(), serde_json::json!({"level": 2}));
    })
    .await;
}

/// `get_many`: the tenant's rows among the ids, in id order, each once; missing ids and
/// other tenants' ids are left out; no ids, no rows.
pub async fn customer_get_many(store: Store) {
    let (t, other) = (TenantId::new(), TenantId::new());
    let mine: Vec<Customer> = (0..3).map(|i| person(t, "Ada", &format!("L{i}"))).collect();
    let theirs = person(other, "Bob", "Other");
    let mut cs = ChangeSet::new();
    for c in &mine {
        cs = cs.insert(c.clone());
    }
    store.apply(t, cs).await.expect("mine");
    store
        .apply(other, ChangeSet::new().insert(theirs.clone()))
        .await
        .expect("theirs");
    let missing = CustomerId::new();
    let ids = vec![mine[2].id, theirs.id, mine[0].id, missing, mine[2].id];
    let got = EntityRead::<Customer>::get_many(&*store, t, &ids)
        .await
        .expect("get_many");
    let mut want = vec![mine[0].clone(), mine[2].clone()];
    want.sort_by_key(|c| uuid::Uuid::from(c.id));
    assert_eq!(got, want);
    assert!(EntityRead::<Customer>::get_many(&*store, t, &[])
        .await
        .expect("empty")
        .is_empty());
    let got = EntityRead::<Customer>::get_many(&*store, other, &ids)
        .await
        .expect("other tenant");
    assert_eq!(got, vec![theirs]);
}

/// Contacts: create, get, update, delete, list.
pub async fn contact_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let mut p = contact(t, c.id, "Bob", "Builder");
    p.birthday = Some(day(-10_000));
    cycle(&store, t, p, |p| {
        p.job_title = Some("CTO".into());
        p.role = Some(ContactRole::DecisionMaker);
        p.is_primary = true;
    })
    .await;
}

/// Contact points: create, get, update, delete, list.
pub async fn contact_point_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let p = phone_point(
        t,
        c.id,
        None,
        ContactPointKind::Phone,
        "030 1234567",
        Some("DE"),
    );
    assert_eq!(p.value, "+49301234567");
    cycle(&store, t, p, |p| {
        p.set_value("030 7654321", Some("DE"))
            .expect("valid number");
        p.primary = true;
        p.verified = true;
    })
    .await;
}

/// Locations: create, get, update, delete, list.
pub async fn location_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let mut l = location(t, c.id, "Berlin");
    l.latitude = Some(52.52);
    l.longitude = Some(13.405);
    cycle(&store, t, l, |l| {
        l.city = Some("Hamburg".into());
        l.usage = LocationUsage::Billing;
        l.primary = true;
    })
    .await;
}

/// Consent records: create, get, update, delete, list.
pub async fn consent_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let consent = Consent::new(t, c.id, None, t0());
    cycle(&store, t, consent, |k| {
        k.do_not_email = true;
        k.contact_window = Some(ContactWindow {
            from: chrono::NaiveTime::from_hms_opt(9, 0, 0).expect("time"),
            to: chrono::NaiveTime::from_hms_opt(17, 0, 0).expect("time"),
            timezone: "Europe/Berlin".into(),
            weekdays: vec![chrono::Weekday::Mon, chrono::Weekday::Fri],
        });
    })
    .await;
}

/// Leads: create, get, update, delete, list.
pub async fn lead_crud(store: Store) {
    let t = TenantId::new();
    let mut l = Lead::person(t, "Lena", "Lead", Some("Lena@Example.com"), t0()).expect("lead");
    l.phone = Some(Phone::parse("+1 415 555 2671", None).expect("phone"));
    l.budget = Some(eur(50_000));
    cycle(&store, t, l, |l| {
        l.status = LeadStatus::Qualified;
        l.score = Percent::new(80, "score").expect("score");
        l.rating = Some(Rating::Hot);
        l.timeline = Some(Timeline::Months1To3);
    })
    .await;
}

/// Pipelines: create, get, update, delete, list.
pub async fn pipeline_crud(store: Store) {
    let t = TenantId::new();
    let p = pipeline(t, "Sales");
    cycle(&store, t, p, |p| {
        p.name = "Sales EMEA".into();
        p.stages.insert(1, Stage::open("Demo", 30).expect("stage"));
        p.is_default = true;
    })
    .await;
}

/// Deals: create, get, update, delete, list.
pub async fn deal_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let p = insert(&store, t, pipeline(t, "Sales")).await;
    let mut d = deal(t, &p, "Big deal", 100_000);
    d.customer_id = Some(c.id);
    d.line_items
        .push(LineItem::new("Widget", 3, eur(1_000)).expect("line item"));
    d.expected_close = Some(day(30));
    let won = p.won_stage().expect("won stage").id;
    cycle(&store, t, d, |d| {
        d.stage_id = won;
        d.status = DealStatus::Won;
        d.probability = Percent::HUNDRED;
        d.closed_at = Some(at(100));
        d.won_reason = Some("price".into());
    })
    .await;
}

/// Stage changes: create, get, update, delete, list.
pub async fn stage_change_crud(store: Store) {
    let t = TenantId::new();
    let p = insert(&store, t, pipeline(t, "Sales")).await;
    let d = insert(&store, t, deal(t, &p, "Deal", 100)).await;
    let s = stage_change(&d, at(1));
    cycle(&store, t, s, |s| {
        s.by = Some(UserId::new());
        s.probability = Percent::new(55, "probability").expect("percent");
    })
    .await;
}

/// Activities: create, get, update, delete, list.
pub async fn activity_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let mut a = activity(t, Links::customer(c.id), "Call Acme");
    a.due_at = Some(at(3600));
    a.reminder_at = Some(at(1800));
    cycle(&store, t, a, |a| {
        a.status = ActivityStatus::Completed;
        a.completed_at = Some(at(2000));
        a.outcome = Some("reached".into());
    })
    .await;
}

/// Interactions: create, get, update, delete, list.
pub async fn interaction_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let mut i = interaction(t, Links::customer(c.id), at(50));
    i.metadata
        .insert("call_id".into(), serde_json::json!("abc-123"));
    cycle(&store, t, i, |i| {
        i.summary = Some("Talked about pricing".into());
        i.sentiment = Some(Sentiment::Positive);
        i.duration_seconds = Some(300);
    })
    .await;
}

/// Notes: create, get, update, delete, list.
pub async fn note_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let n = note(
        t,
        UserId::new(),
        Links::customer(c.id),
        "First note ✓ — ünïcödé",
    );
    cycle(&store, t, n, |n| {
        n.body = "Edited".into();
        n.pinned = true;
        n.title = Some("Title".into());
    })
    .await;
}

/// Tags: create, get, update, delete, list.
pub async fn tag_crud(store: Store) {
    let t = TenantId::new();
    cycle(&store, t, tag(t, "VIP"), |g| {
        g.name = "Very Important".into();
        g.colour = None;
    })
    .await;
}

/// Tag assignments: create, get, update, delete, list.
pub async fn tag_assignment_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let g1 = insert(&store, t, tag(t, "one")).await;
    let g2 = insert(&store, t, tag(t, "two")).await;
    cycle(&store, t, tag_assignment(t, g1.id, eref(&c)), |a| {
        a.tag_id = g2.id;
    })
    .await;
}

/// Follow-ups: create, get, update, delete, list.
pub async fn follow_up_crud(store: Store) {
    let t = TenantId::new();
    let l = insert(&store, t, lead(t, "Lena", "Lead")).await;
    let f = follow_up(t, Links::lead(l.id), "Call back", at(86_400));
    cycle(&store, t, f, |f| {
        f.status = FollowUpStatus::Completed;
        f.completed_at = Some(at(90_000));
        f.priority = Priority::Urgent;
    })
    .await;
}

/// Owned items: create, get, update, delete, list.
pub async fn owned_item_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let mut o = owned_item(t, c.id, "Boiler");
    o.quantity = 2;
    o.serial_numbers = vec!["SN-1".into()];
    cycle(&store, t, o, |o| {
        o.serial_numbers.push("SN-2".into());
        o.acquired_on = Some(day(3));
    })
    .await;
}

/// Attachments: create, get, update, delete, list.
pub async fn attachment_crud(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "Acme")).await;
    let a = attachment(t, Links::customer(c.id), "offer.pdf", 2048);
    cycle(&store, t, a, |a| {
        a.file_name = "offer-v2.pdf".into();
        a.size_bytes = 4096;
    })
    .await;
}

/// An insert and updates of the same row in one change set: later changes see earlier
/// ones, and the row ends at version 3.
pub async fn insert_then_update_in_one_change_set(store: Store) {
    let t = TenantId::new();
    let c = company(t, "Acme");
    let mut v1 = c.clone();
    v1.industry = Some("Tools".into());
    let mut v2 = v1.clone();
    v2.set_version(2);
    v2.source = Some("web".into());
    let cs = ChangeSet::new()
        .insert(c.clone())
        .update(v1)
        .update(v2.clone());
    apply_ok(&store, t, cs, "insert + 2 updates").await;
    let stored = get::<Customer>(&store, t, c.id).await.expect("stored");
    assert_eq!(stored.version, 3);
    assert_eq!(stored.industry.as_deref(), Some("Tools"));
    assert_eq!(stored.source.as_deref(), Some("web"));

    // Insert then delete in one set leaves nothing.
    let d = company(t, "Ephemeral");
    let cs = ChangeSet::new()
        .insert(d.clone())
        .delete::<Customer>(d.id, Some(1));
    apply_ok(&store, t, cs, "insert + delete").await;
    assert!(get::<Customer>(&store, t, d.id).await.is_none());
    assert_eq!(
        count::<Customer>(&store, t, &CustomerFilter::default()).await,
        1
    );
}

/// An empty change set applies and changes nothing; a delete without an expected version
/// deletes whatever version is stored.
pub async fn empty_change_set_and_unguarded_delete(store: Store) {
    let t = TenantId::new();
    let applied = store
        .apply(t, ChangeSet::new())
        .await
        .expect("empty change set");
    assert_eq!(applied.changes, 0);
    let c = insert(&store, t, company(t, "Acme")).await;
    let c2 = update(&store, t, c.clone()).await;
    let _c3 = update(&store, t, c2).await;
    apply_ok(
        &store,
        t,
        ChangeSet::new().delete::<Customer>(c.id, None),
        "unguarded delete",
    )
    .await;
    assert!(get::<Customer>(&store, t, c.id).await.is_none());
}

/// Updating or deleting a row that never existed reports `NotFound` for every kind.
pub async fn missing_rows_not_found(store: Store) {
    let t = TenantId::new();
    let g = Graph::build(t);
    assert!(covers_all_kinds(&g.refs()));
    // Updates of never-inserted rows.
    let updates: Vec<ChangeSet> = vec![
        ChangeSet::new().update(g.customer.clone()),
        ChangeSet::new().update(g.contact.clone()),
        ChangeSet::new().update(g.contact_point.clone()),
        ChangeSet::new().update(g.location.clone()),
        ChangeSet::new().update(g.consent.clone()),
        ChangeSet::new().update(g.lead.clone()),
        ChangeSet::new().update(g.pipeline.clone()),
        ChangeSet::new().update(g.deal.clone()),
        ChangeSet::new().update(g.stage_change.clone()),
        ChangeSet::new().update(g.activity.clone()),
        ChangeSet::new().update(g.interaction.clone()),
        ChangeSet::new().update(g.note.clone()),
        ChangeSet::new().update(g.tag.clone()),
        ChangeSet::new().update(g.tag_assignment.clone()),
        ChangeSet::new().update(g.follow_up.clone()),
        ChangeSet::new().update(g.owned_item.clone()),
        ChangeSet::new().update(g.attachment.clone()),
    ];
    for cs in updates {
        let target = cs.changes[0].target();
        let r = store.apply(t, cs).await;
        assert!(
            matches!(r, Err(CrmError::NotFound { .. })),
            "update of missing {target}: expected NotFound, got {r:?}"
        );
    }
    for r in g.refs() {
        let cs = ChangeSet {
            changes: vec![store::Change::Delete {
                target: r,
                expected_version: None,
            }],
        };
        let res = store.apply(t, cs).await;
        assert!(
            matches!(res, Err(CrmError::NotFound { .. })),
            "delete of missing {r}: expected NotFound, got {res:?}"
        );
        let cs = ChangeSet {
            changes: vec![store::Change::Delete {
                target: r,
                expected_version: Some(1),
            }],
        };
        let res = store.apply(t, cs).await;
        assert!(
            matches!(res, Err(CrmError::NotFound { .. })),
            "guarded delete of missing {r}: expected NotFound, got {res:?}"
        );
    }
}

/// `apply` reports the version each inserted or updated row was stored with, in change
/// order; deletes and events report none.
pub async fn apply_reports_stored_versions(store: Store) {
    let t = TenantId::new();
    let c = Customer::company(t, "Versions", t0()).expect("c");
    let ct = contact(t, c.id, "Vera", "Sion");
    let applied = apply_ok(
        &store,
        t,
        ChangeSet::new().insert(c.clone()).insert(ct.clone()),
        "insert",
    )
    .await;
    assert_eq!(applied.changes, 2);
    assert_eq!(
        applied.versions,
        vec![(c.entity_ref(), 1), (ct.entity_ref(), 1)]
    );
    let mut renamed = c.clone();
    renamed.name = "Versions GmbH".into();
    let applied = apply_ok(
        &store,
        t,
        ChangeSet::new()
            .update(renamed)
            .delete::<Contact>(ct.id, Some(1)),
        "update",
    )
    .await;
    assert_eq!(applied.versions, vec![(c.entity_ref(), 2)]);
    assert_eq!(applied.version_of(c.entity_ref()), Some(2));
    assert_eq!(applied.version_of(ct.entity_ref()), None);
    let stored = get::<Customer>(&store, t, c.id).await.expect("stored");
    assert_eq!(stored.version, 2);
}
