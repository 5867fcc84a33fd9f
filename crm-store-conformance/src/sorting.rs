//! Every sort variant of every entity, ascending and descending, with ties broken by id
//! (in the same direction), NULL values last when ascending and first when descending,
//! and name sorts case-insensitive.
//!
//! Rows are inserted in the reverse of their id order so that a store returning insertion
//! order instead of id order for ties is caught.

use crm_core::store::{ChangeSet, Entity};
use crm_core::*;

use crate::support::*;

/// Inserts `rows` one change set each, in reverse order.
async fn insert_reversed<E: Entity>(store: &Store, tenant: TenantId, rows: &[E]) {
    for r in rows.iter().rev() {
        insert(store, tenant, r.clone()).await;
    }
}

/// Customers by created_at, updated_at, name and last_contact_at.
pub async fn customer_sorts(store: Store) {
    let t = TenantId::new();
    let names = ["bob", "Alice", "alice", "Émile", "Zed", "BOB"];
    let created = [10, 5, 5, 20, 0, 10];
    let updated = [3, 1, 4, 1, 5, 9];
    let last = [None, Some(5), None, Some(1), Some(5), Some(7)];
    let mut rows = Vec::new();
    for i in 0..names.len() {
        let mut c = company(t, names[i]);
        c.created_at = at(created[i]);
        c.updated_at = at(updated[i]);
        c.last_contact_at = last[i].map(at);
        rows.push(c);
    }
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Customer>(
        &store,
        t,
        CustomerFilter::default(),
        &rows,
        &[
            CustomerSort::CreatedAt,
            CustomerSort::UpdatedAt,
            CustomerSort::Name,
            CustomerSort::LastContactAt,
        ],
    )
    .await;
}

/// Contacts by created_at and full name.
pub async fn contact_sorts(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let names = [
        ("anna", "Smith"),
        ("Anna", "smith"),
        ("Bert", ""),
        ("carl", "Zed"),
        ("ANNA", ""),
    ];
    let created = [3, 1, 3, 2, 0];
    let rows: Vec<Contact> = names
        .iter()
        .zip(created)
        .map(|((f, l), s)| {
            let mut k = contact(t, c.id, f, l);
            k.created_at = at(s);
            k
        })
        .collect();
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Contact>(
        &store,
        t,
        ContactFilter::default(),
        &rows,
        &[ContactSort::CreatedAt, ContactSort::Name],
    )
    .await;
}

/// Contact points by created_at and normalised value.
pub async fn contact_point_sorts(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let mut rows = vec![
        email_point(t, c.id, None, "b@x.example"),
        email_point(t, c.id, None, "A@x.example"),
        phone_point(
            t,
            c.id,
            None,
            ContactPointKind::Phone,
            "030 1234567",
            Some("DE"),
        ),
        email_point(t, c.id, None, "c@x.example"),
        // Same value as the first: tie on value.
        email_point(t, c.id, None, "b@x.example"),
    ];
    for (i, r) in rows.iter_mut().enumerate() {
        r.created_at = at([2, 2, 1, 0, 5][i]);
    }
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<ContactPoint>(
        &store,
        t,
        ContactPointFilter::default(),
        &rows,
        &[ContactPointSort::CreatedAt, ContactPointSort::Value],
    )
    .await;
}

/// Locations by created_at and city (missing cities sort as NULL).
pub async fn location_sorts(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let cities = [
        Some("berlin"),
        None,
        Some("Aachen"),
        Some("BERLIN"),
        None,
        Some("cologne"),
    ];
    let rows: Vec<Location> = cities
        .iter()
        .enumerate()
        .map(|(i, city)| {
            let mut l = Location::new(
                t,
                c.id,
                AddressParts {
                    line1: Some("Street 1"),
                    city: *city,
                    ..Default::default()
                },
                t0(),
            )
            .expect("loc");
            l.created_at = at([4, 4, 1, 0, 2, 9][i]);
            l
        })
        .collect();
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Location>(
        &store,
        t,
        LocationFilter::default(),
        &rows,
        &[LocationSort::CreatedAt, LocationSort::City],
    )
    .await;
}

/// Consent records by created_at and updated_at.
pub async fn consent_sorts(store: Store) {
    let t = TenantId::new();
    let mut rows = Vec::new();
    for i in 0..5i64 {
        let c = insert(&store, t, company(t, &format!("C{i}"))).await;
        let mut k = Consent::new(t, c.id, None, t0());
        k.created_at = at([3, 1, 3, 0, 2][i as usize]);
        k.updated_at = at([0, 7, 7, 1, 5][i as usize]);
        rows.push(k);
    }
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Consent>(
        &store,
        t,
        ConsentFilter::default(),
        &rows,
        &[ConsentSort::CreatedAt, ConsentSort::UpdatedAt],
    )
    .await;
}

/// Leads by created_at, updated_at and score.
pub async fn lead_sorts(store: Store) {
    let t = TenantId::new();
    let mut rows = Vec::new();
    for i in 0..6usize {
        let mut l = lead(t, &format!("L{i}"), "");
        l.created_at = at([5, 3, 5, 1, 0, 2][i]);
        l.updated_at = at([1, 1, 2, 9, 4, 4][i]);
        l.score = Percent::new([10, 90, 10, 0, 100, 90][i], "score").expect("score");
        rows.push(l);
    }
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Lead>(
        &store,
        t,
        LeadFilter::default(),
        &rows,
        &[LeadSort::CreatedAt, LeadSort::UpdatedAt, LeadSort::Score],
    )
    .await;
}

/// Pipelines by created_at and name.
pub async fn pipeline_sorts(store: Store) {
    let t = TenantId::new();
    let names = ["beta", "Alpha", "gamma", "Delta", "EPSILON"];
    let rows: Vec<Pipeline> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut p = pipeline(t, n);
            p.created_at = at([2, 2, 0, 1, 2][i]);
            p
        })
        .collect();
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Pipeline>(
        &store,
        t,
        PipelineFilter::default(),
        &rows,
        &[PipelineSort::CreatedAt, PipelineSort::Name],
    )
    .await;
}

/// Deals by created_at, updated_at, amount, expected close (NULLs) and name.
pub async fn deal_sorts(store: Store) {
    let t = TenantId::new();
    let p = insert(&store, t, pipeline(t, "P")).await;
    let names = ["zeta", "Alpha", "alpha", "Beta", "gamma", "ALPHA"];
    let mut rows = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let mut d = deal(t, &p, name, [500, 100, 500, 0, 100, 7][i]);
        d.created_at = at([1, 1, 0, 3, 2, 1][i]);
        d.updated_at = at([9, 8, 7, 7, 1, 0][i]);
        d.expected_close = [
            Some(day(3)),
            None,
            Some(day(1)),
            Some(day(3)),
            None,
            Some(day(0)),
        ][i];
        rows.push(d);
    }
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Deal>(
        &store,
        t,
        DealFilter::default(),
        &rows,
        &[
            DealSort::CreatedAt,
            DealSort::UpdatedAt,
            DealSort::Amount,
            DealSort::ExpectedClose,
            DealSort::Name,
        ],
    )
    .await;
}

/// Stage changes by time.
pub async fn stage_change_sorts(store: Store) {
    let t = TenantId::new();
    let p = insert(&store, t, pipeline(t, "P")).await;
    let d = insert(&store, t, deal(t, &p, "D", 1)).await;
    let rows: Vec<StageChange> = [4, 2, 4, 0, 9]
        .iter()
        .map(|s| stage_change(&d, at(*s)))
        .collect();
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<StageChange>(
        &store,
        t,
        StageChangeFilter::default(),
        &rows,
        &[StageChangeSort::At],
    )
    .await;
}

/// Activities by created_at, due time (NULLs) and priority rank.
pub async fn activity_sorts(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let prios = [
        Priority::Low,
        Priority::Urgent,
        Priority::Medium,
        Priority::Urgent,
        Priority::High,
        Priority::Low,
    ];
    let mut rows = Vec::new();
    for (i, prio) in prios.iter().enumerate() {
        let mut a = activity(t, Links::customer(c.id), &format!("a{i}"));
        a.priority = *prio;
        a.created_at = at([3, 3, 1, 0, 2, 3][i]);
        a.due_at = [
            None,
            Some(at(50)),
            Some(at(10)),
            None,
            Some(at(50)),
            Some(at(5)),
        ][i];
        rows.push(a);
    }
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Activity>(
        &store,
        t,
        ActivityFilter::default(),
        &rows,
        &[
            ActivitySort::CreatedAt,
            ActivitySort::DueAt,
            ActivitySort::Priority,
        ],
    )
    .await;
    // Priority rank: Low < Medium < High < Urgent.
    let got: Vec<Priority> = list_all::<Activity>(
        &store,
        t,
        ActivityFilter::default(),
        ActivitySort::Priority,
        Direction::Desc,
        100,
    )
    .await
    .into_iter()
    .map(|a| a.priority)
    .collect();
    assert_eq!(
        got,
        vec![
            Priority::Urgent,
            Priority::Urgent,
            Priority::High,
            Priority::Medium,
            Priority::Low,
            Priority::Low
        ]
    );
}

/// Interactions by occurrence and creation time.
pub async fn interaction_sorts(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let mut rows = Vec::new();
    for i in 0..5usize {
        let mut x = interaction(t, Links::customer(c.id), at([7, 3, 7, 1, 0][i]));
        x.created_at = at([0, 9, 9, 2, 1][i]);
        rows.push(x);
    }
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Interaction>(
        &store,
        t,
        InteractionFilter::default(),
        &rows,
        &[InteractionSort::OccurredAt, InteractionSort::CreatedAt],
    )
    .await;
}

/// Notes by created_at and updated_at.
pub async fn note_sorts(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let u = UserId::new();
    let mut rows = Vec::new();
    for i in 0..5usize {
        let mut n = note(t, u, Links::customer(c.id), &format!("n{i}"));
        n.created_at = at([1, 1, 0, 5, 3][i]);
        n.updated_at = at([9, 2, 2, 8, 0][i]);
        rows.push(n);
    }
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Note>(
        &store,
        t,
        NoteFilter::default(),
        &rows,
        &[NoteSort::CreatedAt, NoteSort::UpdatedAt],
    )
    .await;
}

/// Tags by name and created_at.
pub async fn tag_sorts(store: Store) {
    let t = TenantId::new();
    let names = ["vip", "Alpha", "beta", "GAMMA", "delta"];
    let rows: Vec<Tag> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut g = tag(t, n);
            g.created_at = at([1, 1, 0, 4, 1][i]);
            g
        })
        .collect();
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Tag>(
        &store,
        t,
        TagFilter::default(),
        &rows,
        &[TagSort::Name, TagSort::CreatedAt],
    )
    .await;
}

/// Tag assignments by created_at.
pub async fn tag_assignment_sorts(store: Store) {
    let t = TenantId::new();
    let g = insert(&store, t, tag(t, "t")).await;
    let mut rows = Vec::new();
    for i in 0..5usize {
        let c = insert(&store, t, company(t, &format!("C{i}"))).await;
        let mut a = tag_assignment(t, g.id, eref(&c));
        a.created_at = at([2, 0, 2, 1, 2][i]);
        rows.push(a);
    }
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<TagAssignment>(
        &store,
        t,
        TagAssignmentFilter::default(),
        &rows,
        &[TagAssignmentSort::CreatedAt],
    )
    .await;
}

/// Follow-ups by due time and created_at.
pub async fn follow_up_sorts(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let mut rows = Vec::new();
    for i in 0..5usize {
        let mut f = follow_up(
            t,
            Links::customer(c.id),
            &format!("f{i}"),
            at([50, 10, 50, 0, 20][i]),
        );
        f.created_at = at([0, 3, 3, 1, 2][i]);
        rows.push(f);
    }
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<FollowUp>(
        &store,
        t,
        FollowUpFilter::default(),
        &rows,
        &[FollowUpSort::DueAt, FollowUpSort::CreatedAt],
    )
    .await;
}

/// Owned items by created_at and name.
pub async fn owned_item_sorts(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let names = ["pump", "Boiler", "boiler", "Axe", "PUMP"];
    let rows: Vec<OwnedItem> = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let mut o = owned_item(t, c.id, n);
            o.created_at = at([0, 4, 4, 2, 1][i]);
            o
        })
        .collect();
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<OwnedItem>(
        &store,
        t,
        OwnedItemFilter::default(),
        &rows,
        &[OwnedItemSort::CreatedAt, OwnedItemSort::Name],
    )
    .await;
}

/// Attachments by created_at, file name and size.
pub async fn attachment_sorts(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let files = [
        ("b.pdf", 10u64),
        ("A.pdf", 5),
        ("a.PDF", 10),
        ("C.pdf", 0),
        ("b.PDF", 7),
    ];
    let rows: Vec<Attachment> = files
        .iter()
        .enumerate()
        .map(|(i, (n, s))| {
            let mut a = attachment(t, Links::customer(c.id), n, *s);
            a.created_at = at([1, 0, 1, 1, 3][i]);
            a
        })
        .collect();
    insert_reversed(&store, t, &rows).await;
    assert_sorts::<Attachment>(
        &store,
        t,
        AttachmentFilter::default(),
        &rows,
        &[
            AttachmentSort::CreatedAt,
            AttachmentSort::FileName,
            AttachmentSort::Size,
        ],
    )
    .await;
}

/// Rows with equal sort values come in id order (ascending) or reverse id order
/// (descending), across page boundaries.
pub async fn ties_broken_by_id(store: Store) {
    let t = TenantId::new();
    let mut rows: Vec<Customer> = (0..30)
        .map(|i| {
            // Case differences only: equal under the case-insensitive name sort.
            let mut c = company(t, if i % 2 == 0 { "Same" } else { "SAME" });
            c.created_at = at(42);
            c.updated_at = at(42);
            c
        })
        .collect();
    // Insert in a scrambled order (odd ids first, then even ids reversed).
    let mut order: Vec<usize> = (0..30).filter(|i| i % 2 == 1).collect();
    order.extend((0..30).filter(|i| i % 2 == 0).rev());
    let mut cs = ChangeSet::new();
    for i in &order {
        cs.push_insert(rows[*i].clone());
    }
    apply_ok(&store, t, cs, "insert ties").await;

    rows.sort_by_key(|c| c.id);
    let asc: Vec<uuid::Uuid> = uuids(&rows);
    let mut desc = asc.clone();
    desc.reverse();
    for sort in [
        CustomerSort::CreatedAt,
        CustomerSort::UpdatedAt,
        CustomerSort::Name,
        CustomerSort::LastContactAt,
    ] {
        for page in [1000, 4, 1] {
            let got = uuids(
                &list_all::<Customer>(
                    &store,
                    t,
                    CustomerFilter::default(),
                    sort,
                    Direction::Asc,
                    page,
                )
                .await,
            );
            assert_eq!(got, asc, "ties by {sort:?} asc, page {page}");
            let got = uuids(
                &list_all::<Customer>(
                    &store,
                    t,
                    CustomerFilter::default(),
                    sort,
                    Direction::Desc,
                    page,
                )
                .await,
            );
            assert_eq!(got, desc, "ties by {sort:?} desc, page {page}");
        }
    }
}

/// Name sorts compare lower-cased names, not code points.
pub async fn names_sort_case_insensitively(store: Store) {
    let t = TenantId::new();
    let names = ["banana", "APRICOT", "cherry", "Apple"];
    let want_asc = vec!["Apple", "APRICOT", "banana", "cherry"];
    let want_desc: Vec<&str> = want_asc.iter().rev().copied().collect();

    // Customers.
    let cs = names
        .iter()
        .fold(ChangeSet::new(), |cs, n| cs.insert(company(t, n)));
    apply_ok(&store, t, cs, "customers").await;
    for (dir, want) in [(Direction::Asc, &want_asc), (Direction::Desc, &want_desc)] {
        let got: Vec<String> = list_all::<Customer>(
            &store,
            t,
            CustomerFilter::default(),
            CustomerSort::Name,
            dir,
            2,
        )
        .await
        .into_iter()
        .map(|c| c.name)
        .collect();
        assert_eq!(&got, want, "customer names {dir:?}");
    }
    // Tags.
    let cs = names
        .iter()
        .fold(ChangeSet::new(), |cs, n| cs.insert(tag(t, n)));
    apply_ok(&store, t, cs, "tags").await;
    for (dir, want) in [(Direction::Asc, &want_asc), (Direction::Desc, &want_desc)] {
        let got: Vec<String> =
            list_all::<Tag>(&store, t, TagFilter::default(), TagSort::Name, dir, 3)
                .await
                .into_iter()
                .map(|g| g.name)
                .collect();
        assert_eq!(&got, want, "tag names {dir:?}");
    }
    // Pipelines and deals.
    let cs = names
        .iter()
        .fold(ChangeSet::new(), |cs, n| cs.insert(pipeline(t, n)));
    apply_ok(&store, t, cs, "pipelines").await;
    let got: Vec<String> = list_all::<Pipeline>(
        &store,
        t,
        PipelineFilter::default(),
        PipelineSort::Name,
        Direction::Asc,
        1,
    )
    .await
    .into_iter()
    .map(|p| p.name)
    .collect();
    assert_eq!(got, want_asc, "pipeline names");
    let p = pipeline(t, "Deals");
    let cs = names
        .iter()
        .fold(ChangeSet::new().insert(p.clone()), |cs, n| {
            cs.insert(deal(t, &p, n, 1))
        });
    apply_ok(&store, t, cs, "deals").await;
    let got: Vec<String> = list_all::<Deal>(
        &store,
        t,
        DealFilter::default(),
        DealSort::Name,
        Direction::Desc,
        1000,
    )
    .await
    .into_iter()
    .map(|d| d.name)
    .collect();
    assert_eq!(got, want_desc, "deal names");
    // Contacts, owned items, attachments, locations.
    let c = &list_all::<Customer>(
        &store,
        t,
        CustomerFilter::default(),
        CustomerSort::Name,
        Direction::Asc,
        1,
    )
    .await[0];
    let mut cs = ChangeSet::new();
    for n in names {
        cs.push_insert(contact(t, c.id, n, ""));
        cs.push_insert(owned_item(t, c.id, n));
        cs.push_insert(attachment(t, Links::customer(c.id), n, 1));
        cs.push_insert(
            Location::new(
                t,
                c.id,
                AddressParts {
                    city: Some(n),
                    ..Default::default()
                },
                t0(),
            )
            .expect("loc"),
        );
    }
    apply_ok(&store, t, cs, "children").await;
    let got: Vec<String> = list_all::<Contact>(
        &store,
        t,
        ContactFilter::default(),
        ContactSort::Name,
        Direction::Asc,
        3,
    )
    .await
    .into_iter()
    .map(|k| k.full_name())
    .collect();
    assert_eq!(got, want_asc, "contact names");
    let got: Vec<String> = list_all::<OwnedItem>(
        &store,
        t,
        OwnedItemFilter::default(),
        OwnedItemSort::Name,
        Direction::Asc,
        3,
    )
    .await
    .into_iter()
    .map(|o| o.name)
    .collect();
    assert_eq!(got, want_asc, "owned item names");
    let got: Vec<String> = list_all::<Attachment>(
        &store,
        t,
        AttachmentFilter::default(),
        AttachmentSort::FileName,
        Direction::Desc,
        3,
    )
    .await
    .into_iter()
    .map(|a| a.file_name)
    .collect();
    assert_eq!(got, want_desc, "attachment names");
    let got: Vec<Option<String>> = list_all::<Location>(
        &store,
        t,
        LocationFilter::default(),
        LocationSort::City,
        Direction::Asc,
        3,
    )
    .await
    .into_iter()
    .map(|l| l.city)
    .collect();
    assert_eq!(
        got,
        want_asc
            .iter()
            .map(|s| Some(s.to_string()))
            .collect::<Vec<_>>(),
        "cities"
    );
}

/// Missing sort values come after every value ascending and before every value descending.
pub async fn nulls_last_ascending_first_descending(store: Store) {
    let t = TenantId::new();
    // Customers by last contact.
    let mut with = Vec::new();
    let mut without = Vec::new();
    let mut cs = ChangeSet::new();
    for i in 0..6i64 {
        let mut c = company(t, &format!("C{i}"));
        if i % 2 == 0 {
            c.last_contact_at = Some(at(100 - i));
            with.push(c.clone());
        } else {
            without.push(c.clone());
        }
        cs.push_insert(c);
    }
    apply_ok(&store, t, cs, "customers").await;
    with.sort_by_key(|c| c.last_contact_at);
    without.sort_by_key(|c| c.id);
    let mut asc = uuids(&with);
    asc.extend(uuids(&without));
    let mut desc = asc.clone();
    desc.reverse();
    for page in [1000, 2] {
        let got = uuids(
            &list_all::<Customer>(
                &store,
                t,
                CustomerFilter::default(),
                CustomerSort::LastContactAt,
                Direction::Asc,
                page,
            )
            .await,
        );
        assert_eq!(
            got, asc,
            "NULL last contact sorts last ascending (page {page})"
        );
        let got = uuids(
            &list_all::<Customer>(
                &store,
                t,
                CustomerFilter::default(),
                CustomerSort::LastContactAt,
                Direction::Desc,
                page,
            )
            .await,
        );
        assert_eq!(
            got, desc,
            "NULL last contact sorts first descending (page {page})"
        );
    }

    // Activities by due time: first/last element checks.
    let c = &with[0];
    let mut a_none = activity(t, Links::customer(c.id), "undated");
    a_none.due_at = None;
    let mut a_early = activity(t, Links::customer(c.id), "early");
    a_early.due_at = Some(at(1));
    let mut a_late = activity(t, Links::customer(c.id), "late");
    a_late.due_at = Some(at(2));
    insert_all(
        &store,
        t,
        vec![a_none.clone(), a_late.clone(), a_early.clone()],
    )
    .await;
    let asc = sorted_ids::<Activity>(
        &store,
        t,
        ActivityFilter::default(),
        ActivitySort::DueAt,
        Direction::Asc,
    )
    .await;
    assert_eq!(
        asc,
        id_uuids(&[a_early.id, a_late.id, a_none.id]),
        "activities due asc"
    );
    let desc = sorted_ids::<Activity>(
        &store,
        t,
        ActivityFilter::default(),
        ActivitySort::DueAt,
        Direction::Desc,
    )
    .await;
    assert_eq!(
        desc,
        id_uuids(&[a_none.id, a_late.id, a_early.id]),
        "activities due desc"
    );

    // Deals by expected close.
    let p = insert(&store, t, pipeline(t, "P")).await;
    let mut d_none = deal(t, &p, "undated", 1);
    d_none.expected_close = None;
    let mut d1 = deal(t, &p, "d1", 1);
    d1.expected_close = Some(day(1));
    let mut d2 = deal(t, &p, "d2", 1);
    d2.expected_close = Some(day(2));
    insert_all(&store, t, vec![d2.clone(), d_none.clone(), d1.clone()]).await;
    let asc = sorted_ids::<Deal>(
        &store,
        t,
        DealFilter::default(),
        DealSort::ExpectedClose,
        Direction::Asc,
    )
    .await;
    assert_eq!(asc, id_uuids(&[d1.id, d2.id, d_none.id]), "deals close asc");
    let desc = sorted_ids::<Deal>(
        &store,
        t,
        DealFilter::default(),
        DealSort::ExpectedClose,
        Direction::Desc,
    )
    .await;
    assert_eq!(
        desc,
        id_uuids(&[d_none.id, d2.id, d1.id]),
        "deals close desc"
    );

    // Locations by city.
    let l_none = Location::new(
        t,
        c.id,
        AddressParts {
            line1: Some("Street"),
            ..Default::default()
        },
        t0(),
    )
    .expect("loc");
    let l_a = Location::new(
        t,
        c.id,
        AddressParts {
            city: Some("a"),
            ..Default::default()
        },
        t0(),
    )
    .expect("loc");
    let l_b = Location::new(
        t,
        c.id,
        AddressParts {
            city: Some("B"),
            ..Default::default()
        },
        t0(),
    )
    .expect("loc");
    insert_all(&store, t, vec![l_none.clone(), l_b.clone(), l_a.clone()]).await;
    let asc = sorted_ids::<Location>(
        &store,
        t,
        LocationFilter::default(),
        LocationSort::City,
        Direction::Asc,
    )
    .await;
    assert_eq!(asc, id_uuids(&[l_a.id, l_b.id, l_none.id]), "cities asc");
    let desc = sorted_ids::<Location>(
        &store,
        t,
        LocationFilter::default(),
        LocationSort::City,
        Direction::Desc,
    )
    .await;
    assert_eq!(desc, id_uuids(&[l_none.id, l_b.id, l_a.id]), "cities desc");
}
