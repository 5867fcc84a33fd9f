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
        .duplicates()
        .scan(&a, &ScanOptions::default(), at(50))
        .await
        .expect("scan");
    // 66 records are too few to train on: the documented prior model scores them.
    assert_eq!(first.model_source, dedupe::ModelSource::Prior);
    assert_eq!(
        first.prior_reason,
        Some(dedupe::PriorReason::TooFewRecords {
            records: 66,
            min: 1_000
        })
    );
    assert!(!first.trained && !first.model_saved);
    for (x, y) in &planted {
        assert!(
            first
                .pairs
                .iter()
                .any(|p| (p.a, p.b) == (cref(x), cref(y)) || (p.a, p.b) == (cref(y), cref(x))),
            "{} / {} not found by the prior model: {:?}",
            x.name,
            y.name,
            first.pairs
        );
    }
    assert_eq!(first.pairs.len(), planted.len(), "{:?}", first.pairs);
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
        .duplicates()
        .scan(&a, &ScanOptions::default(), at(100))
        .await
        .expect("scan");
    assert_eq!(report.records, 66);
    assert_eq!(
        report.model_source,
        dedupe::ModelSource::Trained,
        "{:?}",
        report.prior_reason
    );
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
        .duplicates()
        .scan(&a, &ScanOptions::default(), at(200))
        .await
        .expect("scan again");
    assert!(
        !again.trained && !again.model_saved,
        "the saved model is reused"
    );
    assert_eq!(again.model_source, dedupe::ModelSource::Saved);
    assert_eq!(again.pairs.len(), report.pairs.len());
    let settings = crm.tenant_settings(&a, at(200)).await.expect("settings");
    assert_eq!(settings.dedupe_model, Some(model));

    // Another tenant: no records, no matches, and its scan reads none of ours.
    let b = Actor::new(TenantId::new(), a.user);
    let other = crm
        .duplicates()
        .scan(&b, &ScanOptions::default(), at(300))
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
        .duplicates()
        .matches_for(&b, &probe, at(300))
        .await
        .expect("lookup")
        .is_empty());

    // Only customer, contact and lead records can be scanned.
    let bad = ScanOptions {
        kinds: vec![EntityKind::Deal],
        ..Default::default()
    };
    assert_validation(crm.duplicates().scan(&a, &bad, at(1)).await, "kinds");
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
    let found = crm
        .duplicates()
        .matches_for(&a, &probe, at(10))
        .await
        .expect("lookup");
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
        .customers()
        .create_checked(
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
            Err(CrmError::LikelyDuplicate {
                entity: EntityKind::Customer,
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
        .customers()
        .create_checked(
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
    let found = crm
        .duplicates()
        .matches_for(&a, &probe, at(13))
        .await
        .expect("lookup");
    assert!(found.iter().any(|m| m.entity == cref(&created.customer)));

    // Ignore: a distinct person, no lookup.
    let fresh = person(a.tenant, "Zebedee", "Quartermain");
    let done = crm
        .customers()
        .create_checked(
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
        .leads()
        .convert(
            &a,
            l.id,
            LeadConversion {
                contact: Default::default(),
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
        .merges()
        .merge(
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
    let found = crm
        .duplicates()
        .matches_for(&a, &probe, at(21))
        .await
        .expect("lookup");
    assert!(found.iter().any(|m| m.entity == cref(ted)));
    assert!(
        !found.iter().any(|m| m.entity == cref(theo)),
        "merged record still indexed"
    );
    crm.merges()
        .unmerge(&a, out.record.id, at(22))
        .await
        .expect("unmerge");
    let found = crm
        .duplicates()
        .matches_for(&a, &probe, at(23))
        .await
        .expect("lookup");
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
    let found = crm
        .duplicates()
        .matches_for(&a, &probe, at(24))
        .await
        .expect("lookup");
    assert!(!found.iter().any(|m| m.entity == cref(&outside)));
    crm.duplicates()
        .refresh_index(&a, at(25))
        .await
        .expect("refresh");
    let found = crm
        .duplicates()
        .matches_for(&a, &probe, at(26))
        .await
        .expect("lookup");
    assert!(
        found.iter().any(|m| m.entity == cref(&outside)),
        "{found:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Issue 12: small tenants, companies, shared e-mail addresses, open leads only.
// ---------------------------------------------------------------------------------------

/// Tenant sizes the issue-12 scenarios run at: tiny, small and large (for the prior model;
/// a trained model needs 1,000 records and is covered by the engine's own tests).
const SMALL_AND_LARGE: [usize; 2] = [4, 300];

/// Writes `n` distinct person customers (each with an e-mail, a phone and a location of
/// its own), 100 per change set.
async fn distinct_people(store: &Store, tenant: TenantId, n: usize) {
    let mut cs = ChangeSet::new();
    for i in 0..n {
        // Distinct names for up to 480 people.
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i / FIRST.len()) % LAST.len()];
        let c = person(tenant, first, last);
        let e = email_point(
            tenant,
            c.id,
            None,
            &format!("{}.{}{i}@mail{}.example", first, last, i % 7).to_lowercase(),
        );
        let p = phone_point(
            tenant,
            c.id,
            None,
            ContactPointKind::Phone,
            &format!("+44 20 7946 {:04}", 3 * i + 1),
            Some("GB"),
        );
        let l = Location::new(
            tenant,
            c.id,
            AddressParts {
                line1: Some(&format!("{} Station Road", i + 1)),
                postal_code: Some(&format!("LS{} {}AB", 1 + i % 20, i % 10)),
                city: Some(["Leeds", "York", "Hull", "Bath"][i % 4]),
                country: Some("GB"),
            },
            t0(),
        )
        .expect("location");
        cs = cs.insert(c).insert(e).insert(p).insert(l);
        if (i + 1) % 100 == 0 {
            apply_ok(store, tenant, std::mem::take(&mut cs), "people").await;
        }
    }
    if !cs.is_empty() {
        apply_ok(store, tenant, cs, "people").await;
    }
}

/// Writes `n` distinct company customers (name, web site, e-mail, phone and location of
/// their own), 100 per change set.
async fn distinct_companies(store: &Store, tenant: TenantId, n: usize) {
    const A: &[&str] = &[
        "Alder", "Birch", "Cedar", "Dogwood", "Elm", "Fir", "Ginkgo", "Hazel", "Ironwood",
        "Juniper", "Kapok", "Larch", "Maple", "Nutmeg", "Olive", "Poplar", "Quince", "Rowan",
        "Spruce", "Tamarind",
    ];
    const B: &[&str] = &[
        "Logistics",
        "Bakery",
        "Consulting",
        "Dental",
        "Electric",
        "Foods",
        "Garage",
        "Hotels",
        "Insurance",
        "Joinery",
        "Kitchens",
        "Lighting",
        "Media",
        "Nursery",
        "Optics",
        "Printing",
    ];
    let mut cs = ChangeSet::new();
    for i in 0..n {
        // Distinct names for up to 320 companies.
        let name = format!("{} {} GmbH", A[i % A.len()], B[(i / A.len()) % B.len()]);
        let mut c = company(tenant, &name);
        c.website = Some(format!("https://www.firm{i}.example"));
        let e = email_point(tenant, c.id, None, &format!("info@firm{i}.example"));
        let p = phone_point(
            tenant,
            c.id,
            None,
            ContactPointKind::Phone,
            &format!("+49 30 {:07}", 1_000_000 + 7919 * i),
            None,
        );
        let l = Location::new(
            tenant,
            c.id,
            AddressParts {
                line1: Some(&format!("Industriestrasse {}", i + 1)),
                postal_code: Some(&format!("{:05}", 10_000 + i)),
                city: Some("Berlin"),
                country: Some("DE"),
            },
            t0(),
        )
        .expect("location");
        cs = cs.insert(c).insert(e).insert(p).insert(l);
        if (i + 1) % 100 == 0 {
            apply_ok(store, tenant, std::mem::take(&mut cs), "companies").await;
        }
    }
    if !cs.is_empty() {
        apply_ok(store, tenant, cs, "companies").await;
    }
}

/// A person customer with one e-mail address and nothing else.
async fn person_with_email(
    store: &Store,
    tenant: TenantId,
    first: &str,
    last: &str,
    email: &str,
) -> Customer {
    let c = person(tenant, first, last);
    let mut e = email_point(tenant, c.id, None, email);
    e.primary = true;
    apply_ok(
        store,
        tenant,
        ChangeSet::new().insert(c.clone()).insert(e),
        "person",
    )
    .await;
    c
}

/// A company customer with an optional web site and e-mail address.
async fn company_with(
    store: &Store,
    tenant: TenantId,
    name: &str,
    website: Option<&str>,
    email: Option<&str>,
) -> Customer {
    let mut c = company(tenant, name);
    c.website = website.map(str::to_string);
    let mut cs = ChangeSet::new().insert(c.clone());
    if let Some(e) = email {
        cs = cs.insert(email_point(tenant, c.id, None, e));
    }
    apply_ok(store, tenant, cs, "company").await;
    c
}

/// Whether `pairs` holds the pair `(x, y)` in either order.
fn has_pair(pairs: &[DuplicatePair], x: &Customer, y: &Customer) -> bool {
    pairs
        .iter()
        .any(|p| (p.a, p.b) == (cref(x), cref(y)) || (p.a, p.b) == (cref(y), cref(x)))
}

/// Issue 12 (3): tenants of 2 to 100 customers with one obvious duplicate (the same
/// e-mail address, a short and a full or accented form of the given name). The scan finds
/// it with the prior model and says so, `matches_for` finds it, a checked create of the
/// same person warns (Warn) or is refused with `LikelyDuplicate` (Block).
pub async fn small_tenants_find_an_obvious_duplicate(store: Store) {
    for n in [2usize, 3, 4, 10, 50, 100] {
        for (full, short) in [("Robert", "Bob"), ("Ines", "Inés")] {
            let crm = Crm::from_arc(store.clone());
            let a = Actor::new(TenantId::new(), UserId::new());
            distinct_people(&store, a.tenant, n - 2).await;
            let x = person_with_email(
                &store,
                a.tenant,
                full,
                "Featherstonehaugh",
                "r.featherstonehaugh@example.com",
            )
            .await;
            let y = person_with_email(
                &store,
                a.tenant,
                short,
                "Featherstonehaugh",
                "R.Featherstonehaugh@Example.com",
            )
            .await;

            let report = crm
                .duplicates()
                .scan(&a, &ScanOptions::default(), at(10))
                .await
                .unwrap_or_else(|e| panic!("scan of a {n}-customer tenant failed: {e:?}"));
            assert_eq!(report.records, n);
            assert_eq!(report.model_source, dedupe::ModelSource::Prior, "n={n}");
            assert!(matches!(
                report.prior_reason,
                Some(dedupe::PriorReason::TooFewRecords { .. })
            ));
            assert!(!report.trained && !report.model_saved);
            assert_eq!(
                report.pairs.len(),
                1,
                "n={n} {full}/{short}: {:?}",
                report.pairs
            );
            assert!(has_pair(&report.pairs, &x, &y), "n={n}: {:?}", report.pairs);
            assert_eq!(report.pairs[0].compared_as, dedupe::RecordKind::Person);
            assert!(report
                .clusters
                .iter()
                .any(|c| c.members.contains(&cref(&x)) && c.members.contains(&cref(&y))));

            let probe = dedupe::PersonRecord {
                id: "probe".into(),
                first_name: Some(short.into()),
                last_name: Some("Featherstonehaugh".into()),
                email: Some("r.featherstonehaugh@example.com".into()),
                ..Default::default()
            };
            let found = crm
                .duplicates()
                .matches_for(&a, &probe, at(11))
                .await
                .expect("lookup");
            let refs: Vec<EntityRef> = found.iter().map(|m| m.entity).collect();
            assert!(
                refs.contains(&cref(&x)) && refs.contains(&cref(&y)),
                "n={n}: {found:?}"
            );

            let again = person(a.tenant, short, "Featherstonehaugh");
            let point = email_point(a.tenant, again.id, None, "r.featherstonehaugh@example.com");
            let blocked = crm
                .customers()
                .create_checked(
                    &a,
                    again.clone(),
                    vec![point.clone()],
                    Vec::new(),
                    DuplicatePolicy::Block,
                    at(12),
                )
                .await;
            assert!(
                matches!(
                    blocked,
                    Err(CrmError::LikelyDuplicate {
                        entity: EntityKind::Customer,
                        ..
                    })
                ),
                "n={n}: {blocked:?}"
            );
            assert!(get::<Customer>(&store, a.tenant, again.id).await.is_none());
            let warned = crm
                .customers()
                .create_checked(
                    &a,
                    again.clone(),
                    vec![point],
                    Vec::new(),
                    DuplicatePolicy::Warn,
                    at(13),
                )
                .await
                .unwrap_or_else(|e| panic!("warned create in a {n}-customer tenant failed: {e:?}"));
            let dups: Vec<EntityRef> = warned.duplicates.iter().map(|m| m.entity).collect();
            assert!(
                dups.contains(&cref(&x)) && dups.contains(&cref(&y)),
                "n={n}: {dups:?}"
            );
            assert!(warned
                .duplicates
                .iter()
                .all(|m| m.reason.is_none() && m.probability >= report.threshold));
        }
    }
}

/// Issue 12 (10): company customers pair on their canonical names (legal forms, case,
/// punctuation and word order folded), their domains (free-mail excluded) and phones, in
/// small and large tenants; `matches_for` and checked creates find companies; persons
/// never pair with companies; a shared domain under another name is for review; a lead
/// naming a company links to the company customer on conversion.
pub async fn companies_pair_by_name_domain_and_phone(store: Store) {
    for n in SMALL_AND_LARGE {
        let crm = Crm::from_arc(store.clone());
        let a = Actor::new(TenantId::new(), UserId::new());
        distinct_companies(&store, a.tenant, n).await;
        let muller = company_with(&store, a.tenant, "Müller Haustechnik GmbH", None, None).await;
        let muller2 = company_with(
            &store,
            a.tenant,
            "MÜLLER HAUSTECHNIK GMBH & Co. KG",
            None,
            None,
        )
        .await;
        let north = company_with(
            &store,
            a.tenant,
            "Northwind Traders",
            Some("https://northwind.example"),
            None,
        )
        .await;
        let north2 = company_with(
            &store,
            a.tenant,
            "Northwind Traders Inc.",
            None,
            Some("orders@northwind.example"),
        )
        .await;
        // Other names, same domain: for review, not a match.
        let contoso = company_with(
            &store,
            a.tenant,
            "Contoso Pharma",
            Some("contoso.example"),
            None,
        )
        .await;
        let fabrikam = company_with(
            &store,
            a.tenant,
            "Fabrikam Research",
            None,
            Some("lab@contoso.example"),
        )
        .await;
        // A free-mail domain says nothing.
        let bakery = company_with(
            &store,
            a.tenant,
            "Alpha Bakery",
            None,
            Some("alpha.bakery@gmail.com"),
        )
        .await;
        let florist = company_with(
            &store,
            a.tenant,
            "Omega Florist",
            None,
            Some("omega.florist@gmail.com"),
        )
        .await;
        // A person working for Northwind, with its e-mail domain and its name as employer.
        let mut jane = person(a.tenant, "Jane", "Northwind");
        jane.company_name = Some("Northwind Traders".into());
        let jane_mail = email_point(a.tenant, jane.id, None, "jane@northwind.example");
        apply_ok(
            &store,
            a.tenant,
            ChangeSet::new().insert(jane.clone()).insert(jane_mail),
            "person",
        )
        .await;

        for threshold in [None, Some(0.7)] {
            let report = crm
                .duplicates()
                .scan(
                    &a,
                    &ScanOptions {
                        threshold,
                        ..Default::default()
                    },
                    at(10),
                )
                .await
                .expect("scan");
            assert_eq!(report.company_records, n + 8);
            let company_pairs: Vec<&DuplicatePair> = report
                .pairs
                .iter()
                .filter(|p| p.compared_as == dedupe::RecordKind::Company)
                .collect();
            assert!(
                has_pair(&report.pairs, &muller, &muller2),
                "n={n}: {company_pairs:?}"
            );
            assert!(
                has_pair(&report.pairs, &north, &north2),
                "n={n}: {company_pairs:?}"
            );
            assert_eq!(
                company_pairs.len(),
                2,
                "n={n} {threshold:?}: {company_pairs:?}"
            );
            let p = report
                .pairs
                .iter()
                .find(|p| p.a == cref(&muller) || p.b == cref(&muller))
                .expect("pair");
            assert!(p.probability >= 0.9, "{p:?}");
            assert!(p
                .explanation
                .iter()
                .any(|f| f.field == dedupe::Comparison::CompanyName && f.level == "exact"));
            // Persons never pair with companies.
            assert!(!report
                .pairs
                .iter()
                .chain(&report.review)
                .any(|p| p.a == cref(&jane) || p.b == cref(&jane)));
            assert!(!has_pair(&report.pairs, &bakery, &florist));
            assert!(!has_pair(&report.review, &bakery, &florist));
            let review: Vec<&DuplicatePair> = report
                .review
                .iter()
                .filter(|p| p.compared_as == dedupe::RecordKind::Company)
                .collect();
            assert_eq!(review.len(), 1, "n={n}: {review:?}");
            assert!(has_pair(&report.review, &contoso, &fabrikam));
            assert_eq!(
                review[0].reason,
                Some(dedupe::ReviewReason::SameDomainDifferentName)
            );
            assert_eq!(
                review[0].reason.map(dedupe::ReviewReason::message),
                Some("same web domain, different name")
            );
            assert!(report
                .clusters
                .iter()
                .any(|c| c.compared_as == dedupe::RecordKind::Company
                    && c.members.contains(&cref(&north))
                    && c.members.contains(&cref(&north2))));
        }

        // Lookups: a company-shaped person record, and a company record with a web site.
        let probe = dedupe::PersonRecord {
            id: "probe".into(),
            company: Some("northwind traders, LLC".into()),
            ..Default::default()
        };
        let found = crm
            .duplicates()
            .matches_for(&a, &probe, at(20))
            .await
            .expect("lookup");
        let refs: Vec<EntityRef> = found.iter().map(|m| m.entity).collect();
        assert!(
            refs.contains(&cref(&north)) && refs.contains(&cref(&north2)),
            "n={n}: {found:?}"
        );
        assert!(!refs.contains(&cref(&jane)));
        assert!(found
            .iter()
            .all(|m| m.compared_as == dedupe::RecordKind::Company));
        let by_site = dedupe::CompanyRecord {
            id: "probe-2".into(),
            name: Some("Northwind Trading Company".into()),
            website: Some("www.northwind.example".into()),
            ..Default::default()
        };
        let found = crm
            .duplicates()
            .company_matches_for(&a, &by_site, at(21))
            .await
            .expect("lookup");
        assert!(
            found.iter().any(|m| m.entity == cref(&north2)),
            "n={n}: {found:?}"
        );

        // Checked creates of a company.
        let dup = company(a.tenant, "MUELLER Haustechnik GmbH & Co. KG");
        let blocked = crm
            .customers()
            .create_checked(
                &a,
                dup.clone(),
                Vec::new(),
                Vec::new(),
                DuplicatePolicy::Block,
                at(22),
            )
            .await;
        assert!(
            matches!(
                blocked,
                Err(CrmError::LikelyDuplicate {
                    entity: EntityKind::Customer,
                    ..
                })
            ),
            "n={n}: {blocked:?}"
        );
        let warned = crm
            .customers()
            .create_checked(
                &a,
                dup,
                Vec::new(),
                Vec::new(),
                DuplicatePolicy::Warn,
                at(23),
            )
            .await
            .expect("warned create");
        let dups: Vec<EntityRef> = warned.duplicates.iter().map(|m| m.entity).collect();
        assert!(
            dups.contains(&cref(&muller)) && dups.contains(&cref(&muller2)),
            "n={n}: {dups:?}"
        );
        // The new company is indexed.
        let found = crm
            .duplicates()
            .company_matches_for(
                &a,
                &dedupe::CompanyRecord {
                    id: "p3".into(),
                    name: Some("Müller Haustechnik".into()),
                    ..Default::default()
                },
                at(24),
            )
            .await
            .expect("lookup");
        assert!(found.iter().any(|m| m.entity == cref(&warned.customer)));
        let shared = company(a.tenant, "Woodgrove Analytics");
        let point = email_point(a.tenant, shared.id, None, "hello@contoso.example");
        let warned = crm
            .customers()
            .create_checked(
                &a,
                shared,
                vec![point],
                Vec::new(),
                DuplicatePolicy::Block,
                at(25),
            )
            .await
            .expect("a shared domain under another name does not block");
        assert!(warned.duplicates.is_empty());
        assert!(
            warned.review.iter().any(|m| m.entity == cref(&contoso)
                && m.reason == Some(dedupe::ReviewReason::SameDomainDifferentName)),
            "{:?}",
            warned.review
        );

        // A lead naming the company: scanned as a company, linked on conversion.
        let mut l = Lead::new(a.tenant, t0());
        l.company = Some("Northwind Traders Ltd.".into());
        let l = insert(&store, a.tenant, l).await;
        let report = crm
            .duplicates()
            .scan(&a, &ScanOptions::default(), at(30))
            .await
            .expect("scan");
        assert!(
            report
                .pairs
                .iter()
                .any(|p| p.compared_as == dedupe::RecordKind::Company
                    && (p.a == eref(&l) || p.b == eref(&l))),
            "n={n}: {:?}",
            report.pairs
        );
        let converted = crm
            .leads()
            .convert(
                &a,
                l.id,
                LeadConversion {
                    contact: Default::default(),
                    link_existing: false,
                    link_duplicates: true,
                    deal: None,
                    ..Default::default()
                },
                at(31),
            )
            .await
            .expect("convert");
        assert!(converted.linked_existing);
        assert!([north.id, north2.id].contains(&converted.customer), "n={n}");
    }
}

/// Issue 12 (10): two people with different names behind one e-mail address are no match,
/// but the scan lists them for review saying why, and a checked create reports them
/// without blocking; the real duplicates are unaffected. Small and large tenants.
pub async fn shared_email_with_another_name_is_for_review(store: Store) {
    for n in SMALL_AND_LARGE {
        let crm = Crm::from_arc(store.clone());
        let a = Actor::new(TenantId::new(), UserId::new());
        distinct_people(&store, a.tenant, n).await;
        let hannah = person_with_email(
            &store,
            a.tenant,
            "Hannah",
            "Quisling",
            "family@quisling.example",
        )
        .await;
        let oskar = person_with_email(
            &store,
            a.tenant,
            "Oskar",
            "Brandvold",
            "family@quisling.example",
        )
        .await;
        let rob = person_with_email(
            &store,
            a.tenant,
            "Robert",
            "Featherstonehaugh",
            "rf@example.com",
        )
        .await;
        let bob = person_with_email(
            &store,
            a.tenant,
            "Bob",
            "Featherstonehaugh",
            "rf@example.com",
        )
        .await;
        let report = crm
            .duplicates()
            .scan(&a, &ScanOptions::default(), at(10))
            .await
            .expect("scan");
        assert!(!has_pair(&report.pairs, &hannah, &oskar), "n={n}");
        assert!(has_pair(&report.pairs, &rob, &bob), "n={n}");
        assert_eq!(report.pairs.len(), 1, "n={n}: {:?}", report.pairs);
        assert_eq!(report.review.len(), 1, "n={n}: {:?}", report.review);
        let r = &report.review[0];
        assert!(has_pair(&report.review, &hannah, &oskar));
        assert_eq!(r.reason, Some(dedupe::ReviewReason::SameEmailDifferentName));
        assert_eq!(
            r.reason.map(dedupe::ReviewReason::message),
            Some("same e-mail address, different name")
        );
        assert!(r.probability < report.threshold);
        let email = r
            .explanation
            .iter()
            .find(|f| f.field == dedupe::Comparison::Email)
            .expect("email");
        assert_eq!(email.level, "exact");
        assert!(!report
            .clusters
            .iter()
            .any(|c| c.members.contains(&cref(&hannah))));

        let third = person(a.tenant, "Magnus", "Lindqvist");
        let point = email_point(a.tenant, third.id, None, "Family@Quisling.example");
        let created = crm
            .customers()
            .create_checked(
                &a,
                third,
                vec![point],
                Vec::new(),
                DuplicatePolicy::Block,
                at(11),
            )
            .await
            .expect("a shared mailbox does not block");
        assert!(created.duplicates.is_empty(), "{:?}", created.duplicates);
        let review: Vec<EntityRef> = created.review.iter().map(|m| m.entity).collect();
        assert!(
            review.contains(&cref(&hannah)) && review.contains(&cref(&oskar)),
            "n={n}: {review:?}"
        );
        assert!(created
            .review
            .iter()
            .all(|m| m.reason == Some(dedupe::ReviewReason::SameEmailDifferentName)));
    }
}

/// Issue 12 (10): only open leads (new, contacted, qualified) are scanned and looked up;
/// lost, disqualified and converted ones are not, and a lead lost after the index was built
/// drops out of lookups. Small and large tenants.
pub async fn only_open_leads_are_scanned(store: Store) {
    for n in SMALL_AND_LARGE {
        let crm = Crm::from_arc(store.clone());
        let a = Actor::new(TenantId::new(), UserId::new());
        distinct_people(&store, a.tenant, n).await;
        let customer = person_with_email(
            &store,
            a.tenant,
            "Theodora",
            "Vanderwaal",
            "theodora@vanderwaal.example",
        )
        .await;
        let mut leads = Vec::new();
        for k in 0..6 {
            let l = Lead::person(
                a.tenant,
                "Theodora",
                "Vanderwaal",
                Some("theodora@vanderwaal.example"),
                t0(),
            )
            .expect("lead");
            let l = insert(&store, a.tenant, l).await;
            let at_k = at(2 + k);
            match k {
                1 => drop(crm.leads().contact(&a, l.id, at_k).await.expect("contact")),
                2 => drop(crm.leads().qualify(&a, l.id, at_k).await.expect("qualify")),
                3 => drop(crm.leads().lose(&a, l.id, at_k).await.expect("lose")),
                4 => drop(
                    crm.leads()
                        .disqualify(&a, l.id, "no budget", at_k)
                        .await
                        .expect("disqualify"),
                ),
                5 => drop(
                    crm.leads()
                        .convert(
                            &a,
                            l.id,
                            LeadConversion {
                                contact: Default::default(),
                                link_existing: false,
                                link_duplicates: false,
                                deal: None,
                                ..Default::default()
                            },
                            at_k,
                        )
                        .await
                        .expect("convert"),
                ),
                _ => {}
            }
            leads.push(l);
        }
        let open: Vec<EntityRef> = leads[..3].iter().map(eref).collect();
        let closed: Vec<EntityRef> = leads[3..].iter().map(eref).collect();
        let report = crm
            .duplicates()
            .scan(&a, &ScanOptions::default(), at(20))
            .await
            .expect("scan");
        let in_pairs: Vec<EntityRef> = report.pairs.iter().flat_map(|p| [p.a, p.b]).collect();
        for r in &open {
            assert!(
                in_pairs.contains(r),
                "n={n}: open lead {r:?} not paired: {:?}",
                report.pairs
            );
        }
        for r in &closed {
            assert!(!in_pairs.contains(r), "n={n}: closed lead {r:?} scanned");
        }
        assert!(in_pairs.contains(&cref(&customer)));
        let probe = dedupe::PersonRecord {
            id: "probe".into(),
            first_name: Some("Theodora".into()),
            last_name: Some("Vanderwaal".into()),
            email: Some("theodora@vanderwaal.example".into()),
            ..Default::default()
        };
        let found: Vec<EntityRef> = crm
            .duplicates()
            .matches_for(&a, &probe, at(21))
            .await
            .expect("lookup")
            .iter()
            .map(|m| m.entity)
            .collect();
        for r in &open {
            assert!(found.contains(r), "n={n}: {found:?}");
        }
        for r in &closed {
            assert!(!found.contains(r), "n={n}: {found:?}");
        }
        // Lost after the index was built: dropped from lookups at once.
        crm.leads()
            .lose(&a, leads[0].id, at(22))
            .await
            .expect("lose");
        let found: Vec<EntityRef> = crm
            .duplicates()
            .matches_for(&a, &probe, at(23))
            .await
            .expect("lookup")
            .iter()
            .map(|m| m.entity)
            .collect();
        assert!(!found.contains(&open[0]), "n={n}: {found:?}");
        assert!(found.contains(&open[1]));
    }
}

/// Settings stored before the external-mapping checks existed (a kind mapped twice, a
/// stage no pipeline has) do not keep a scan from saving its model, nor the tenant from
/// saving other settings; the stale entries stay as they were until changed.
pub async fn model_saves_beside_stale_settings(store: Store) {
    let a = Actor::new(TenantId::new(), UserId::new());
    let mut old = TenantSettings::defaults(a.tenant, at(0));
    let quote = ExternalEventKind::QuoteSent;
    let stale = vec![
        (quote, ExternalTarget::Stage("Proposal".into())),
        (quote, ExternalTarget::Stage("Angebot".into())),
    ];
    old.external_mapping = Some(stale.clone());
    // Written raw, as an older version of the library could have.
    store
        .apply(a.tenant, ChangeSet::new().insert(old))
        .await
        .expect("raw settings");
    seed(&store, a.tenant).await;
    let crm = Crm::from_arc(store.clone()).with_config(CrmConfig {
        dedupe_min_training_records: 50,
        ..Default::default()
    });
    let report = crm
        .duplicates()
        .scan(&a, &ScanOptions::default(), at(100))
        .await
        .expect("scan");
    assert!(report.trained && report.model_saved, "{report:?}");
    let saved = crm.tenant_settings(&a, at(100)).await.expect("settings");
    assert!(saved.dedupe_model.is_some());
    assert_eq!(saved.external_mapping.as_ref(), Some(&stale));
    let mut other = saved.clone();
    other.follow_up_grace_hours = 24;
    let other = crm
        .save_tenant_settings(&a, other, at(101))
        .await
        .expect("other settings save");
    // Changing the mapping checks the changed entry.
    let mut changed = other.clone();
    changed.external_mapping = Some(vec![
        stale[0].clone(),
        stale[1].clone(),
        (
            ExternalEventKind::InvoicePaid,
            ExternalTarget::Stage("Paid".into()),
        ),
    ]);
    crate::support::assert_validation(
        crm.save_tenant_settings(&a, changed, at(102)).await,
        "external_mapping[2].stage",
    );
}

/// Long operations report where they stand and stop when the host says so: a scan reports
/// every page read and each comparison batch, a merge each merged customer; cancelling
/// returns `Cancelled` and writes nothing (no model saved, no customer merged).
pub async fn scans_and_merges_report_progress_and_cancel(store: Store) {
    use std::sync::{Arc, Mutex};
    let a = Actor::new(TenantId::new(), UserId::new());
    let planted = seed(&store, a.tenant).await;
    let crm = Crm::from_arc(store.clone()).with_config(CrmConfig {
        dedupe_min_training_records: 50,
        ..Default::default()
    });
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let recorder = {
        let seen = Arc::clone(&seen);
        ProgressCallback::new(move |p| {
            seen.lock().expect("lock").push(p);
            Control::Continue
        })
    };
    let report = crm
        .duplicates()
        .scan(
            &a,
            &ScanOptions {
                progress: Some(recorder.clone()),
                ..ScanOptions::default()
            },
            at(100),
        )
        .await
        .expect("scan");
    assert!(report.model_saved);
    let got = seen.lock().expect("lock").clone();
    assert!(
        got.iter().any(
            |p| matches!(p, Progress::Reading { kind: EntityKind::Customer, rows } if *rows == 66)
        ),
        "{got:?}"
    );
    assert!(
        got.iter().any(|p| matches!(p, Progress::Comparing { .. })),
        "{got:?}"
    );

    // Cancelled at the first comparison: nothing is saved.
    let b = Actor::new(TenantId::new(), a.user);
    seed(&store, b.tenant).await;
    let cancel_comparing = ProgressCallback::new(|p| match p {
        Progress::Comparing { .. } => Control::Cancel,
        _ => Control::Continue,
    });
    match crm
        .duplicates()
        .scan(
            &b,
            &ScanOptions {
                progress: Some(cancel_comparing.clone()),
                ..ScanOptions::default()
            },
            at(100),
        )
        .await
    {
        Err(CrmError::Cancelled { operation }) => assert_eq!(operation, "scan_duplicates"),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    let settings = crm.tenant_settings(&b, at(100)).await.expect("settings");
    assert!(
        settings.dedupe_model.is_none(),
        "a cancelled scan saves no model"
    );

    // A merge reports each merged customer and can be stopped before writing.
    let (x, y) = &planted[0];
    seen.lock().expect("lock").clear();
    let stop = ProgressCallback::new(|_| Control::Cancel);
    match crm
        .merges()
        .merge(
            &a,
            &[x.id, y.id],
            &MergeOptions {
                survivor: SurvivorRule::Given(x.id),
                progress: Some(stop),
                ..MergeOptions::default()
            },
            at(200),
        )
        .await
    {
        Err(CrmError::Cancelled { operation }) => assert_eq!(operation, "merge_customers"),
        other => panic!("expected Cancelled, got {other:?}"),
    }
    assert!(
        crm.customers().get(&a, y.id).await.is_ok(),
        "nothing merged"
    );
    let done = crm
        .merges()
        .merge(
            &a,
            &[x.id, y.id],
            &MergeOptions {
                survivor: SurvivorRule::Given(x.id),
                progress: Some(recorder),
                ..MergeOptions::default()
            },
            at(201),
        )
        .await
        .expect("merge");
    assert_eq!(done.merged, vec![y.id]);
    assert_eq!(
        seen.lock().expect("lock").clone(),
        vec![Progress::Merging { done: 0, of: 1 }]
    );
}
