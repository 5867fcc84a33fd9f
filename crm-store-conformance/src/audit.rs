//! The audit trail: every write through the service leaves one entry per row it inserts,
//! updates or deletes, in the same change set, with the replaced values; entries are
//! append-only, paged, queryable per record and per actor, and shown under the records'
//! own visibility rules.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use crm_core::store::{Entity, EntityKind, EntityRef, ListQuery};
use crm_core::*;
use serde_json::json;

use crate::support::{assert_not_found_of, assert_validation, Store};

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 5, 1, 9, 0, 0)
        .single()
        .expect("valid time")
        + Duration::seconds(secs)
}

fn setup(store: Store) -> (Crm<dyn CrmStore>, Actor) {
    (
        Crm::from_arc(store),
        Actor::new(TenantId::new(), UserId::new()),
    )
}

/// Every entry of the tenant the actor may read, oldest first.
async fn trail(crm: &Crm<dyn CrmStore>, a: &Actor) -> Vec<AuditEntry> {
    crm.list_all::<AuditEntry>(a, AuditEntryFilter::default())
        .await
        .expect("trail")
}

/// Creates, updates and deletes (nested create, cascading delete, merge and unmerge
/// included) each leave one entry per row with actor, time, operation and the replaced
/// values; a delete's entry rebuilds the row; the trail matches the outbox's record
/// events one for one; per-record, per-actor and filtered pages concatenate to the whole.
pub async fn every_write_is_audited_with_before_and_after(store: Store) {
    let (crm, a) = setup(store);
    let b = Actor::new(a.tenant, UserId::new());

    // Create, then an update by another user.
    let acme = crm
        .create(
            &a,
            Customer::company(a.tenant, "Acme", t(0)).expect("c"),
            t(1),
        )
        .await
        .expect("create");
    let created = crm.audit().of(&a, acme.entity_ref()).await.expect("of");
    assert_eq!(created.len(), 1);
    let e = &created[0];
    assert_eq!(
        (e.operation, e.actor, e.created_at, e.record),
        (AuditOperation::Created, a.user, t(1), acme.entity_ref())
    );
    assert!(e.changes.is_empty(), "a create is its own after-image");

    let mut renamed = acme.clone();
    renamed.name = "Acme GmbH".into();
    renamed.website = Some("https://acme.example".into());
    let renamed = crm.update(&b, renamed, t(2)).await.expect("update");
    let history = crm.audit().of(&a, acme.entity_ref()).await.expect("of");
    assert_eq!(history.len(), 2);
    let u = &history[1];
    assert_eq!(
        (u.operation, u.actor, u.created_at),
        (AuditOperation::Updated, b.user, t(2))
    );
    assert_eq!(u.fields(), vec!["name", "website"], "bookkeeping left out");
    let name = u.change_of("name").expect("name");
    assert_eq!(name.before_value().expect("json"), Some(json!("Acme")));
    assert_eq!(name.after_value().expect("json"), Some(json!("Acme GmbH")));
    let site = u.change_of("website").expect("website");
    assert_eq!(site.before_value().expect("json"), Some(json!(null)));
    assert_eq!(
        site.after_value().expect("json"),
        Some(json!("https://acme.example"))
    );

    // A nested create: one entry per row, all of one time, by the actor.
    let mut new = NewCustomer::new(Customer::company(a.tenant, "Müller GmbH", t(0)).expect("c"));
    new.points = vec![NewPoint::new(
        ContactPointKind::Email,
        "info@mueller.example",
    )];
    new.contacts = vec![NewContact::new(
        Contact::new(a.tenant, CustomerId::new(), "Eva", "Müller", t(0)).expect("contact"),
    )];
    new.tags = vec!["vip".into()];
    let made = crm
        .customers()
        .create_with(&a, new, t(3))
        .await
        .expect("nested");
    let at3: Vec<AuditEntry> = trail(&crm, &a)
        .await
        .into_iter()
        .filter(|e| e.created_at == t(3))
        .collect();
    let mut written: Vec<EntityRef> = vec![made.customer.entity_ref()];
    written.extend(made.contacts.iter().map(Entity::entity_ref));
    written.extend(made.contact_points.iter().map(Entity::entity_ref));
    written.extend(made.tags.iter().map(Entity::entity_ref));
    for r in &written {
        assert!(
            at3.iter()
                .any(|e| e.record == *r && e.operation == AuditOperation::Created),
            "{r:?} has no created entry"
        );
    }
    assert!(at3.iter().all(|e| e.actor == a.user));
    assert!(
        at3.iter()
            .any(|e| e.record.kind == EntityKind::TagAssignment),
        "the tag assignment"
    );

    // A cascading delete: every removed row's entry holds the row as it was.
    let point = made.contact_points[0].clone();
    // The contact changes later than the rest, so the cascade's rows were last updated at
    // different times.
    let mut contact = made.contacts[0].clone();
    contact.last_name = Some("Müller-Lang".into());
    let contact = crm.update(&a, contact, t(4)).await.expect("rename");
    let customer = crm
        .get::<Customer>(&a, made.customer.id)
        .await
        .expect("customer");
    crm.customers()
        .delete(&b, made.customer.id, None, t(4))
        .await
        .expect("delete");
    for row in [
        customer.clone().into_record(),
        contact.clone().into_record(),
        point.clone().into_record(),
    ] {
        let entries = crm.audit().of(&a, row.entity_ref()).await.expect("of");
        let last = entries.last().expect("entries");
        assert_eq!(
            (last.operation, last.actor),
            (AuditOperation::Deleted, b.user)
        );
        assert_eq!(
            last.before_image().expect("image"),
            Some(row.clone()),
            "the before-image of {:?}",
            row.entity_ref()
        );
        assert!(last.changes.iter().all(|c| c.after.is_none()));
    }
    let cascade: Vec<AuditEntry> = trail(&crm, &a)
        .await
        .into_iter()
        .filter(|e| e.operation == AuditOperation::Deleted && e.actor == b.user)
        .collect();
    assert!(cascade.len() >= 4, "{cascade:?}");
    assert!(
        cascade.iter().all(|e| e.created_at == t(4)),
        "the whole cascade at the time of the call"
    );
    assert_eq!(
        crm.audit()
            .of(&a, customer.entity_ref())
            .await
            .expect("of")
            .iter()
            .map(|e| e.operation)
            .collect::<Vec<_>>(),
        vec![AuditOperation::Created, AuditOperation::Deleted],
        "the trail outlives its record"
    );

    // Merge and unmerge are audited like any write.
    let twin = crm
        .create(
            &a,
            Customer::company(a.tenant, "Acme Twin", t(0)).expect("c"),
            t(4),
        )
        .await
        .expect("twin");
    let out = crm
        .merges()
        .merge(
            &a,
            &[renamed.id, twin.id],
            &MergeOptions {
                survivor: SurvivorRule::Given(renamed.id),
                ..Default::default()
            },
            t(5),
        )
        .await
        .expect("merge");
    let twin_trail = crm.audit().of(&a, twin.entity_ref()).await.expect("of");
    assert_eq!(
        twin_trail.last().map(|e| (e.operation, e.created_at)),
        Some((AuditOperation::Deleted, t(5)))
    );
    assert_validation(
        crm.delete::<MergeRecord>(&a, out.record.id, None, t(100_000))
            .await,
        "kind",
    );
    crm.merges()
        .unmerge(&a, out.record.id, t(6))
        .await
        .expect("unmerge");
    let twin_trail = crm.audit().of(&a, twin.entity_ref()).await.expect("of");
    assert_eq!(
        twin_trail.last().map(|e| (e.operation, e.created_at)),
        Some((AuditOperation::Created, t(6)))
    );

    // The trail and the outbox's record events name the same changes, one for one.
    let all = trail(&crm, &a).await;
    let events = crm.events().drain(&a, 0, 1000).await.expect("events");
    let from_events: Vec<(EntityRef, AuditOperation, Vec<String>)> = events
        .iter()
        .filter_map(|e| match &e.event.event {
            DomainEvent::RecordCreated { record, .. } => {
                Some((*record, AuditOperation::Created, Vec::new()))
            }
            DomainEvent::RecordUpdated { record, fields, .. } => {
                Some((*record, AuditOperation::Updated, fields.clone()))
            }
            DomainEvent::RecordDeleted { record, .. } => {
                Some((*record, AuditOperation::Deleted, Vec::new()))
            }
            _ => None,
        })
        .collect();
    let from_trail: Vec<(EntityRef, AuditOperation, Vec<String>)> = all
        .iter()
        .map(|e| {
            let fields = match e.operation {
                AuditOperation::Updated => e.fields().into_iter().map(String::from).collect(),
                _ => Vec::new(),
            };
            (e.record, e.operation, fields)
        })
        .collect();
    let sorted = |mut v: Vec<(EntityRef, AuditOperation, Vec<String>)>| {
        v.sort();
        v
    };
    assert_eq!(sorted(from_trail), sorted(from_events));

    // Per actor, and filtered by kind, operation and time, in pages of two.
    let by_b: Vec<AuditEntry> = all.iter().filter(|e| e.actor == b.user).cloned().collect();
    assert!(by_b.len() >= 4, "the update and the cascading delete");
    let mut pages = Vec::new();
    let mut q = ListQuery::<AuditEntry>::new().limit(2);
    loop {
        let page = crm.audit().by(&a, b.user, q.clone()).await.expect("page");
        assert!(page.items.len() <= 2);
        pages.extend(page.items);
        match page.next {
            Some(c) => q.after = Some(c),
            None => break,
        }
    }
    assert_eq!(pages, by_b);
    let filter = AuditEntryFilter {
        kind: Some(EntityKind::Customer),
        operation: Some(AuditOperation::Deleted),
        from: Some(t(3)),
        to: Some(t(6)),
        ..Default::default()
    };
    let deleted = crm
        .list_all::<AuditEntry>(&a, filter.clone())
        .await
        .expect("filtered");
    assert_eq!(
        deleted.iter().map(|e| e.record).collect::<BTreeSet<_>>(),
        BTreeSet::from([customer.entity_ref(), twin.entity_ref()])
    );
    assert_eq!(crm.count::<AuditEntry>(&a, filter).await.expect("count"), 2);
    assert_validation(
        crm.list::<AuditEntry>(
            &a,
            ListQuery::filter(AuditEntryFilter {
                from: Some(t(2)),
                to: Some(t(1)),
                ..Default::default()
            }),
        )
        .await,
        "to",
    );

    // Another tenant sees none of it.
    let other = Actor::new(TenantId::new(), a.user);
    assert!(trail(&crm, &other).await.is_empty());
    assert!(crm
        .audit()
        .of(&other, acme.entity_ref())
        .await
        .expect("of")
        .is_empty());
}

/// Entries cannot be created, changed or deleted through the service, and a write that
/// fails leaves none.
pub async fn audit_is_append_only_and_atomic(store: Store) {
    let (crm, a) = setup(store);
    let c = crm
        .create(
            &a,
            Customer::company(a.tenant, "Acme", t(0)).expect("c"),
            t(1),
        )
        .await
        .expect("create");
    let entry = trail(&crm, &a).await.pop().expect("entry");

    let mut forged = entry.clone();
    forged.id = AuditId::new();
    assert_validation(crm.create(&a, forged, t(2)).await, "kind");
    let mut changed = entry.clone();
    changed.actor = UserId::new();
    assert_validation(crm.update(&a, changed, t(2)).await, "kind");
    assert_validation(
        crm.delete::<AuditEntry>(&a, entry.id, None, t(100_000))
            .await,
        "kind",
    );
    assert_validation(
        crm.audit()
            .of(
                &a,
                EntityRef::new(EntityKind::AuditEntry, entry.id.as_uuid()),
            )
            .await,
        "record",
    );
    assert_eq!(trail(&crm, &a).await, vec![entry.clone()], "unchanged");

    // Failed writes leave no entry: a stale update, a contact of a missing customer.
    let mut stale = c.clone();
    stale.version += 1;
    stale.name = "Stale".into();
    assert!(matches!(
        crm.update(&a, stale, t(3)).await,
        Err(CrmError::Conflict {
            entity: EntityKind::Customer,
            ..
        })
    ));
    let missing = CustomerId::new();
    let orphan = Contact::new(a.tenant, missing, "No", "Body", t(3)).expect("contact");
    assert_not_found_of(crm.create(&a, orphan, t(3)).await, "customer", missing);
    assert_eq!(trail(&crm, &a).await, vec![entry], "nothing was written");
}

/// Another author's private note never shows through the trail: not while it is private,
/// not from the time it was public once it has been made private, not after its delete;
/// its author sees every entry.
pub async fn audit_keeps_private_notes_private(store: Store) {
    let (crm, author) = setup(store);
    let viewer = Actor::new(author.tenant, UserId::new());
    let c = crm
        .create(
            &author,
            Customer::company(author.tenant, "Acme", t(0)).expect("c"),
            t(1),
        )
        .await
        .expect("customer");
    let secret = "the secret margin is 42 %";
    let mut private = Note::new(
        author.tenant,
        author.user,
        "draft",
        Links::customer(c.id),
        t(2),
    )
    .expect("note");
    private.private = true;
    let private = crm.create(&author, private, t(2)).await.expect("private");
    let mut edited = private.clone();
    edited.body = secret.into();
    let edited = crm.update(&author, edited, t(3)).await.expect("edit");

    // A public note whose body changes while it is public, then is made private.
    let public = crm
        .create(
            &author,
            Note::new(
                author.tenant,
                author.user,
                "public draft",
                Links::customer(c.id),
                t(4),
            )
            .expect("note"),
            t(4),
        )
        .await
        .expect("public");
    let mut told = public.clone();
    told.body = secret.into();
    let told = crm.update(&author, told, t(5)).await.expect("edit");
    assert_eq!(
        crm.audit()
            .of(&viewer, public.entity_ref())
            .await
            .expect("of")
            .len(),
        2,
        "public for now"
    );
    let mut hidden = told.clone();
    hidden.private = true;
    let hidden = crm.update(&author, hidden, t(6)).await.expect("hide");

    let shows_secret = |entries: &[AuditEntry]| format!("{entries:?}").contains("secret");
    for (note, n) in [(private.entity_ref(), 2), (hidden.entity_ref(), 3)] {
        let seen = crm.audit().of(&viewer, note).await.expect("of");
        assert!(seen.is_empty(), "{note:?}: {seen:?}");
        assert_eq!(crm.audit().of(&author, note).await.expect("of").len(), n);
    }
    let seen = trail(&crm, &viewer).await;
    assert!(!shows_secret(&seen), "{seen:?}");
    assert!(seen.iter().all(|e| e.record.kind != EntityKind::Note));
    let by_author = crm
        .audit()
        .by(&viewer, author.user, ListQuery::new().limit(1))
        .await
        .expect("by");
    assert!(!shows_secret(&by_author.items));
    assert!(
        shows_secret(&trail(&crm, &author).await),
        "the author sees all"
    );
    let entry = crm
        .audit()
        .of(&author, private.entity_ref())
        .await
        .expect("of")[1]
        .clone();
    assert_not_found_of(
        crm.get::<AuditEntry>(&viewer, entry.id).await,
        "audit_entry",
        entry.id,
    );
    assert_eq!(
        crm.count::<AuditEntry>(&viewer, AuditEntryFilter::of(private.entity_ref()))
            .await
            .expect("count"),
        0
    );

    // Made public again, the note's history is the viewer's to read, except the changes
    // made while it was private (either side of the change).
    let mut shown = hidden.clone();
    shown.private = false;
    crm.update(&author, shown, t(7)).await.expect("show");
    let seen = crm
        .audit()
        .of(&viewer, hidden.entity_ref())
        .await
        .expect("of");
    assert_eq!(
        seen.iter().map(|e| e.created_at).collect::<Vec<_>>(),
        vec![t(4), t(5)]
    );
    assert_eq!(
        crm.audit()
            .of(&author, hidden.entity_ref())
            .await
            .expect("of")
            .len(),
        4
    );

    // Deleted while private: its entries stay the author's.
    crm.delete::<Note>(&author, edited.id, Some(edited.version), t(100_000))
        .await
        .expect("delete");
    assert!(crm
        .audit()
        .of(&viewer, private.entity_ref())
        .await
        .expect("of")
        .is_empty());
    let gone = crm
        .audit()
        .of(&author, private.entity_ref())
        .await
        .expect("of");
    assert_eq!(
        gone.last().map(|e| e.operation),
        Some(AuditOperation::Deleted)
    );
    assert_eq!(
        gone.last().and_then(|e| e.before_image().expect("image")),
        Some(edited.into_record())
    );
    assert!(trail(&crm, &viewer)
        .await
        .iter()
        .all(|e| e.record != private.entity_ref()));

    // Public, edited, made private, then deleted: its earlier entries stay hidden too.
    let late = crm
        .create(
            &author,
            Note::new(
                author.tenant,
                author.user,
                "public at first",
                Links::customer(c.id),
                t(8),
            )
            .expect("note"),
            t(8),
        )
        .await
        .expect("late");
    let mut late_private = late.clone();
    late_private.private = true;
    let late_private = crm
        .update(&author, late_private, t(9))
        .await
        .expect("private");
    crm.delete::<Note>(&author, late.id, Some(late_private.version), t(100_000))
        .await
        .expect("delete");
    assert!(crm
        .audit()
        .of(&viewer, late.entity_ref())
        .await
        .expect("of")
        .is_empty());
    assert_eq!(
        crm.count::<AuditEntry>(&viewer, AuditEntryFilter::of(late.entity_ref()))
            .await
            .expect("count"),
        0,
        "the count agrees with the list"
    );
    assert_eq!(
        crm.audit()
            .of(&author, late.entity_ref())
            .await
            .expect("of")
            .len(),
        3
    );
}
