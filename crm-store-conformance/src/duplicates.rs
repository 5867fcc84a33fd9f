//! Duplicate detection through the service, in every store: scans with explanations, the
//! saved model, one-record lookups, checked creates, lead conversion and merges.

use crm_core::store::EntityRef;
use crm_core::*;

use crate::support::*;

const FIRST: &[&str] = &[
    "Alice", "Brian", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Henry", "Isla", "Jacob",
    "Karen", "Liam", "Maria", "Noah", "Olivia", "Peter", "Quinn", "Rosa", "Samuel", "Tara",
];
const LAST: &[&str] = &[
    "Abbott", "Baxter", "Carver", "Dalton", "Ellison", "Fletcher", "Garner", "Hollis", "Ingram",
    "Jarvis", "Keller", "Lambert", "Mercer", "Norris", "Osborne", "Prescott", "Quimby", "Rowland",
    "Sutton", "Thorne", "Upton", "Vaughn", "Whitaker", "Yates",
];

/// Creates a person with an e-mail, a phone and a primary location in one change set.
async fn person_with(
    store: &Store,
    tenant: TenantId,
    first: &str,
    last: &str,
    email: &str,
    phone: &str,
    city: &str,
) -> Customer {
    let c = person(tenant, first, last);
    let mut e = email_point(tenant, c.id, None, email);
    e.primary = true;
    let mut p = phone_point(
        tenant,
        c.id,
        None,
        ContactPointKind::Phone,
        phone,
        Some("GB"),
    );
    p.primary = true;
    let mut l = location(tenant, c.id, city);
    l.primary = true;
    let cs = ChangeSet::new()
        .insert(c.clone())
        .insert(e)
        .insert(p)
        .insert(l);
    apply_ok(store, tenant, cs, "person").await;
    c
}

/// A tenant with 60 distinct people and three pairs of duplicates (nickname + gmail
/// variant, phone format variant + typo, and the same person re-entered with a new e-mail).
async fn seed(store: &Store, tenant: TenantId) -> Vec<(Customer, Customer)> {
    for i in 0..60usize {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i * 7 + i / FIRST.len()) % LAST.len()];
        person_with(
            store,
            tenant,
            first,
            last,
            &format!(
                "{}.{}{i}@mail{}.example",
                first.to_lowercase(),
                last.to_lowercase(),
                i % 5
            ),
            &format!("+44 20 7946 {:04}", 1000 + i * 37),
            ["London", "Leeds", "York", "Bath"][i % 4],
        )
        .await;
    }
    let mut pairs = Vec::new();
    let a = person_with(
        store,
        tenant,
        "Robert",
        "Featherstone",
        "robert.featherstone@gmail.com",
        "+44 20 7000 1234",
        "Bristol",
    )
    .await;
    let b = person_with(
        store,
        tenant,
        "Bob",
        "Featherstone",
        "robertfeatherstone+crm@gmail.com",
        "020 7000 1234",
        "Bristol",
    )
    .await;
    pairs.push((a, b));
    let a = person_with(
        store,
        tenant,
        "Margaret",
        "Okonkwo",
        "m.okonkwo@example.org",
        "+44 161 496 0000",
        "Manchester",
    )
    .await;
    let b = person_with(
        store,
        tenant,
        "Margaret",
        "Okonkow",
        "margaret@okonkwo.example",
        "0161 496 0000",
        "Manchester",
    )
    .await;
    pairs.push((a, b));
    let a = person_with(
        store,
        tenant,
        "Theodore",
        "Vanderbilt",
        "ted@vanderbilt.example",
        "+44 113 496 0555",
        "Leeds",
    )
    .await;
    let b = person_with(
        store,
        tenant,
        "Theodore",
        "Vanderbilt",
        "theodore.v@work.example",
        "+44 113 496 0555",
        "Leeds",
    )
    .await;
    pairs.push((a, b));
    pairs
}

fn cref(c: &Customer) -> EntityRef {
    eref(c)
}

/// A scan finds the planted duplicates (and no pair of distinct people), explains every
/// pair, saves the model it trained and reuses it; another tenant sees nothing.
pub async fn scan_finds_duplicates_and_saves_model(store: Store) {
    // By default a model trained on this few records is not kept.
    let young = Crm::from_arc(store.clone());
    let a = Actor::new(TenantId::new(), UserId::new());
    let planted = seed(&store, a.tenant).await;
    let first = young
        .scan_duplicates(&a, &ScanOptions::default(), at(50))
        .await
        .expect("scan");
    assert!(first.trained && !first.model_saved);
    let settings = young.tenant_settings(&a, at(50)).await.expect("settings");
    assert!(
        settings.dedupe_model.is_none(),
        "a young tenant's model is not saved"
    );

    let crm = Crm::from_arc(store.clone()).with_config(CrmConfig {
        dedupe_min_training_records: 50,
        ..Default::default()
    });
    let report = crm
        .scan_duplicates(&a, &ScanOptions::default(), at(100))
        .await
        .expect("scan");
    assert_eq!(report.records, 66);
    assert!(report.trained && report.model_saved);
    assert!(report.stats.reduction_ratio > 0.5, "{:?}", report.stats);
    for (x, y) in &planted {
        let found = report
            .clusters
            .iter()
            .any(|c| c.members.contains(&cref(x)) && c.members.contains(&cref(y)));
        assert!(
            found,
            "{} / {} not clustered: {:?}",
            x.name, y.name, report.pairs
        );
    }
    // Every reported pair is a planted one, and carries its explanation.
    let planted_refs: Vec<(EntityRef, EntityRef)> =
        planted.iter().map(|(x, y)| (cref(x), cref(y))).collect();
    for p in &report.pairs {
        assert!(
            planted_refs
                .iter()
                .any(|(x, y)| (p.a == *x && p.b == *y) || (p.a == *y && p.b == *x)),
            "unexpected pair {p:?}"
        );
        assert!(p.probability >= report.threshold);
        assert!(!p.explanation.is_empty());
    }
    let settings = crm.tenant_settings(&a, at(100)).await.expect("settings");
    let model = settings.dedupe_model.clone().expect("model saved");
    let again = crm
        .scan_duplicates(&a, &ScanOptions::default(), at(200))
        .await
        .expect("scan again");
    assert!(
        !again.trained && !again.model_saved,
        "the saved model is reused"
    );
    assert_eq!(again.pairs.len(), report.pairs.len());
    let settings = crm.tenant_settings(&a, at(200)).await.expect("settings");
    assert_eq!(settings.dedupe_model, Some(model));

    // Another tenant: no records, no matches, and its scan reads none of ours.
    let b = Actor::new(TenantId::new(), a.user);
    let other = crm
        .scan_duplicates(&b, &ScanOptions::default(), at(300))
        .await
        .expect("scan of an empty tenant");
    assert_eq!(other.records, 0);
    assert!(other.pairs.is_empty());
    let probe = dedupe::PersonRecord {
        id: "probe".into(),
        first_name: Some("Robert".into()),
        last_name: Some("Featherstone".into()),
        email: Some("robert.featherstone@gmail.com".into()),
        ..Default::default()
    };
    assert!(crm
        .matches_for(&b, &probe, at(300))
        .await
        .expect("lookup")
        .is_empty());

    // Only customer, contact and lead records can be scanned.
    let bad = ScanOptions {
        kinds: vec![EntityKind::Deal],
        ..Default::default()
    };
    assert_validation(crm.scan_duplicates(&a, &bad, at(1)).await, "kinds");
}

/// `matches_for`, checked creates (ignore, warn, block), lead conversion linking to the
/// likely duplicate, and merges keeping the index current.
pub async fn lookups_checked_create_conversion_and_merge(store: Store) {
    let crm = Crm::from_arc(store.clone()).with_config(CrmConfig {
        default_phone_region: Some("GB".into()),
        ..Default::default()
    });
    let a = Actor::new(TenantId::new(), UserId::new());
    let planted = seed(&store, a.tenant).await;
    let (robert, bob) = &planted[0];

    let probe = dedupe::PersonRecord {
        id: "probe".into(),
        first_name: Some("Rob".into()),
        last_name: Some("Featherstone".into()),
        phone: Some("020 7000 1234".into()),
        city: Some("Bristol".into()),
        ..Default::default()
    };
    let found = crm.matches_for(&a, &probe, at(10)).await.expect("lookup");
    let refs: Vec<EntityRef> = found.iter().map(|m| m.entity).collect();
    assert!(
        refs.contains(&cref(robert)) && refs.contains(&cref(bob)),
        "{found:?}"
    );
    assert!(found
        .windows(2)
        .all(|w| w[0].match_weight >= w[1].match_weight));
    assert!(found[0].explanation.iter().any(|f| f.weight > 0.0));

    // Block: refused, nothing written.
    let dup = person(a.tenant, "Robert", "Featherstone");
    let point = email_point(a.tenant, dup.id, None, "robert.featherstone@gmail.com");
    let before = count::<Customer>(&store, a.tenant, &Default::default()).await;
    let blocked = crm
        .create_customer_checked(
            &a,
            dup.clone(),
            vec![point.clone()],
            Vec::new(),
            DuplicatePolicy::Block,
            at(11),
        )
        .await;
    assert!(
        matches!(
            blocked,
            Err(CrmError::AlreadyExists {
                entity: "customer",
                ..
            })
        ),
        "{blocked:?}"
    );
    assert_eq!(
        count::<Customer>(&store, a.tenant, &Default::default()).await,
        before
    );
    assert!(get::<ContactPoint>(&store, a.tenant, point.id)
        .await
        .is_none());

    // Warn: created (with its point) and the duplicates are reported.
    let created = crm
        .create_customer_checked(
            &a,
            dup.clone(),
            vec![point.clone()],
            Vec::new(),
            DuplicatePolicy::Warn,
            at(12),
        )
        .await
        .expect("warned create");
    assert!(created.duplicates.iter().any(|m| m.entity == cref(robert)));
    assert!(get::<ContactPoint>(&store, a.tenant, point.id)
        .await
        .is_some());
    // The index now knows the new customer too.
    let found = crm.matches_for(&a, &probe, at(13)).await.expect("lookup");
    assert!(found.iter().any(|m| m.entity == cref(&created.customer)));

    // Ignore: a distinct person, no lookup.
    let fresh = person(a.tenant, "Zebedee", "Quartermain");
    let done = crm
        .create_customer_checked(
            &a,
            fresh,
            Vec::new(),
            Vec::new(),
            DuplicatePolicy::Ignore,
            at(14),
        )
        .await
        .expect("create");
    assert!(done.duplicates.is_empty());

    // A lead of Margaret with a typo-free name and a local phone links to her customer.
    let mut l = lead(a.tenant, "Margaret", "Okonkwo");
    l.phone = Some(Phone::parse("0161 496 0000", Some("GB")).expect("phone"));
    l.email = Some(Email::parse("maggie.o@elsewhere.example").expect("email"));
    let l = insert(&store, a.tenant, l).await;
    let converted = crm
        .convert_lead(
            &a,
            l.id,
            LeadConversion {
                into_customer: None,
                link_existing: false,
                link_duplicates: true,
                deal: None,
            },
            at(15),
        )
        .await
        .expect("convert");
    assert!(converted.linked_existing);
    let twins = [planted[1].0.id, planted[1].1.id];
    assert!(
        twins.contains(&converted.customer),
        "linked to {:?}",
        converted.customer
    );

    // Merging the planted pair: the merged record leaves the index, and an unmerge brings
    // it back.
    let (ted, theo) = &planted[2];
    let out = crm
        .merge_customers(
            &a,
            &[ted.id, theo.id],
            &MergeOptions {
                survivor: SurvivorRule::Given(ted.id),
                ..Default::default()
            },
            at(20),
        )
        .await
        .expect("merge");
    let probe = dedupe::PersonRecord {
        id: "probe-ted".into(),
        first_name: Some("Theodore".into()),
        last_name: Some("Vanderbilt".into()),
        phone: Some("+44 113 496 0555".into()),
        city: Some("Leeds".into()),
        ..Default::default()
    };
    let found = crm.matches_for(&a, &probe, at(21)).await.expect("lookup");
    assert!(found.iter().any(|m| m.entity == cref(ted)));
    assert!(
        !found.iter().any(|m| m.entity == cref(theo)),
        "merged record still indexed"
    );
    crm.unmerge(&a, out.record.id, at(22))
        .await
        .expect("unmerge");
    let found = crm.matches_for(&a, &probe, at(23)).await.expect("lookup");
    assert!(
        found.iter().any(|m| m.entity == cref(theo)),
        "restored record not indexed"
    );

    // A customer written past the service (another process, say) reaches the index at
    // the next refresh.
    let outside = person_with(
        &store,
        a.tenant,
        "Theodore",
        "Vanderbilt",
        "teddy.vanderbilt@else.example",
        "+44 113 496 0555",
        "Leeds",
    )
    .await;
    let found = crm.matches_for(&a, &probe, at(24)).await.expect("lookup");
    assert!(!found.iter().any(|m| m.entity == cref(&outside)));
    crm.refresh_duplicate_index(&a, at(25))
        .await
        .expect("refresh");
    let found = crm.matches_for(&a, &probe, at(26)).await.expect("lookup");
    assert!(
        found.iter().any(|m| m.entity == cref(&outside)),
        "{found:?}"
    );
}
