//! Every filter field of every entity's filter, including the relational ones answered
//! by the store (`tag` via tag assignments, customer `text` search per
//! [`crm_core::search`]). Every check also verifies that `count` agrees with `list`.

use crm_core::store::{ChangeSet, EntityKind};
use crm_core::*;

use crate::support::*;

/// Customer filters on plain fields: kind, status, lifecycle stage, owner, source,
/// industry, external ref, creation range (half-open) and "not contacted since".
pub async fn customer_plain_filters(store: Store) {
    let t = TenantId::new();
    let (u1, u2) = (UserId::new(), UserId::new());

    let mut c1 = company(t, "Alpha");
    c1.status = CustomerStatus::Active;
    c1.lifecycle_stage = LifecycleStage::Customer;
    c1.owner = Some(u1);
    c1.source = Some("web".into());
    c1.industry = Some("Tools".into());
    c1.external_ref = Some("E1".into());
    c1.created_at = at(0);

    let mut c2 = person(t, "Bea", "Brown");
    c2.status = CustomerStatus::Prospect;
    c2.lifecycle_stage = LifecycleStage::Lead;
    c2.owner = Some(u2);
    c2.source = Some("Web".into());
    c2.industry = Some("Food".into());
    c2.external_ref = Some("E2".into());
    c2.created_at = at(100);
    c2.last_contact_at = Some(at(50));

    let mut c3 = company(t, "Gamma");
    c3.status = CustomerStatus::Inactive;
    c3.lifecycle_stage = LifecycleStage::Opportunity;
    c3.created_at = at(200);
    c3.last_contact_at = Some(at(500));

    let mut c4 = person(t, "Dan", "Dorn");
    c4.status = CustomerStatus::Blacklisted;
    c4.lifecycle_stage = LifecycleStage::FormerCustomer;
    c4.owner = Some(u1);
    c4.source = Some("web".into());
    c4.industry = Some("Tools".into());
    c4.external_ref = Some("E4".into());
    c4.created_at = at(300);
    c4.last_contact_at = Some(at(1000));

    let rows = insert_all(
        &store,
        t,
        vec![c1.clone(), c2.clone(), c3.clone(), c4.clone()],
    )
    .await;
    let [c1, c2, c3, c4] = [rows[0].id, rows[1].id, rows[2].id, rows[3].id];
    let f = CustomerFilter::default;

    assert_selects::<Customer>(&store, t, f(), &[c1, c2, c3, c4], "all").await;
    let cases: Vec<(CustomerFilter, Vec<CustomerId>, &str)> = vec![
        (
            CustomerFilter {
                kind: Some(CustomerKind::Company),
                ..f()
            },
            vec![c1, c3],
            "kind company",
        ),
        (
            CustomerFilter {
                kind: Some(CustomerKind::Person),
                ..f()
            },
            vec![c2, c4],
            "kind person",
        ),
        (
            CustomerFilter {
                status: Some(CustomerStatus::Active),
                ..f()
            },
            vec![c1],
            "active",
        ),
        (
            CustomerFilter {
                status: Some(CustomerStatus::Prospect),
                ..f()
            },
            vec![c2],
            "prospect",
        ),
        (
            CustomerFilter {
                status: Some(CustomerStatus::Inactive),
                ..f()
            },
            vec![c3],
            "inactive",
        ),
        (
            CustomerFilter {
                status: Some(CustomerStatus::Blacklisted),
                ..f()
            },
            vec![c4],
            "blacklisted",
        ),
        (
            CustomerFilter {
                lifecycle_stage: Some(LifecycleStage::Customer),
                ..f()
            },
            vec![c1],
            "stage customer",
        ),
        (
            CustomerFilter {
                lifecycle_stage: Some(LifecycleStage::Lead),
                ..f()
            },
            vec![c2],
            "stage lead",
        ),
        (
            CustomerFilter {
                lifecycle_stage: Some(LifecycleStage::Opportunity),
                ..f()
            },
            vec![c3],
            "stage opportunity",
        ),
        (
            CustomerFilter {
                lifecycle_stage: Some(LifecycleStage::FormerCustomer),
                ..f()
            },
            vec![c4],
            "stage former",
        ),
        (
            CustomerFilter {
                owner: Some(u1),
                ..f()
            },
            vec![c1, c4],
            "owner u1",
        ),
        (
            CustomerFilter {
                owner: Some(u2),
                ..f()
            },
            vec![c2],
            "owner u2",
        ),
        (
            CustomerFilter {
                owner: Some(UserId::new()),
                ..f()
            },
            vec![],
            "unknown owner",
        ),
        (
            CustomerFilter {
                source: Some("web".into()),
                ..f()
            },
            vec![c1, c4],
            "source web (exact, case-sensitive)",
        ),
        (
            CustomerFilter {
                source: Some("Web".into()),
                ..f()
            },
            vec![c2],
            "source Web",
        ),
        (
            CustomerFilter {
                industry: Some("Tools".into()),
                ..f()
            },
            vec![c1, c4],
            "industry",
        ),
        (
            CustomerFilter {
                external_ref: Some("E2".into()),
                ..f()
            },
            vec![c2],
            "external ref",
        ),
        (
            CustomerFilter {
                external_ref: Some("E3".into()),
                ..f()
            },
            vec![],
            "missing external ref",
        ),
        (
            CustomerFilter {
                created_from: Some(at(100)),
                ..f()
            },
            vec![c2, c3, c4],
            "created_from inclusive",
        ),
        (
            CustomerFilter {
                created_to: Some(at(200)),
                ..f()
            },
            vec![c1, c2],
            "created_to exclusive",
        ),
        (
            CustomerFilter {
                created_from: Some(at(100)),
                created_to: Some(at(300)),
                ..f()
            },
            vec![c2, c3],
            "created range",
        ),
        (
            CustomerFilter {
                not_contacted_since: Some(at(500)),
                ..f()
            },
            vec![c1, c2],
            "not contacted since (strict, never counts)",
        ),
        (
            CustomerFilter {
                not_contacted_since: Some(at(501)),
                ..f()
            },
            vec![c1, c2, c3],
            "not contacted since later",
        ),
        (
            CustomerFilter {
                kind: Some(CustomerKind::Person),
                owner: Some(u1),
                ..f()
            },
            vec![c4],
            "kind + owner",
        ),
        (
            CustomerFilter {
                source: Some("web".into()),
                created_from: Some(at(1)),
                ..f()
            },
            vec![c4],
            "source + created_from",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<Customer>(&store, t, filter, &want, what).await;
    }
}

/// The customer `tag` filter follows tag assignments, only those targeting customers, and
/// combines with the other conditions.
pub async fn customer_tag_filter(store: Store) {
    let t = TenantId::new();
    let mut c1 = company(t, "One");
    c1.status = CustomerStatus::Active;
    let c2 = person(t, "Bea", "Two");
    let c3 = company(t, "Three");
    let c4 = company(t, "Four");
    insert_all(
        &store,
        t,
        vec![c1.clone(), c2.clone(), c3.clone(), c4.clone()],
    )
    .await;
    let ct = insert(&store, t, contact(t, c3.id, "Carl", "Contact")).await;
    let l = insert(&store, t, lead(t, "Lee", "Lead")).await;
    let vip = insert(&store, t, tag(t, "vip")).await;
    let gold = insert(&store, t, tag(t, "gold")).await;
    let silver = insert(&store, t, tag(t, "silver")).await;
    let a_vip_c1 = tag_assignment(t, vip.id, eref(&c1));
    let cs = ChangeSet::new()
        .insert(a_vip_c1.clone())
        .insert(tag_assignment(t, vip.id, eref(&c2)))
        .insert(tag_assignment(t, gold.id, eref(&c2)))
        // The same tag on a contact and a lead must not tag their customers.
        .insert(tag_assignment(t, vip.id, eref(&ct)))
        .insert(tag_assignment(t, gold.id, eref(&l)));
    apply_ok(&store, t, cs, "assign tags").await;

    let f = CustomerFilter::default;
    assert_selects::<Customer>(
        &store,
        t,
        CustomerFilter {
            tag: Some(vip.id),
            ..f()
        },
        &[c1.id, c2.id],
        "vip",
    )
    .await;
    assert_selects::<Customer>(
        &store,
        t,
        CustomerFilter {
            tag: Some(gold.id),
            ..f()
        },
        &[c2.id],
        "gold",
    )
    .await;
    assert_selects::<Customer>(
        &store,
        t,
        CustomerFilter {
            tag: Some(silver.id),
            ..f()
        },
        &[],
        "unused tag",
    )
    .await;
    assert_selects::<Customer>(
        &store,
        t,
        CustomerFilter {
            tag: Some(TagId::new()),
            ..f()
        },
        &[],
        "unknown tag",
    )
    .await;
    assert_selects::<Customer>(
        &store,
        t,
        CustomerFilter {
            tag: Some(vip.id),
            status: Some(CustomerStatus::Active),
            ..f()
        },
        &[c1.id],
        "vip + active",
    )
    .await;
    assert_selects::<Customer>(
        &store,
        t,
        CustomerFilter {
            tag: Some(vip.id),
            text: Some("bea".into()),
            ..f()
        },
        &[c2.id],
        "vip + text",
    )
    .await;

    // Removing an assignment removes the customer from the tag filter.
    apply_ok(
        &store,
        t,
        ChangeSet::new().delete::<TagAssignment>(a_vip_c1.id, Some(1)),
        "untag c1",
    )
    .await;
    assert_selects::<Customer>(
        &store,
        t,
        CustomerFilter {
            tag: Some(vip.id),
            ..f()
        },
        &[c2.id],
        "vip after untag",
    )
    .await;
    // Tagging later adds it.
    insert(&store, t, tag_assignment(t, vip.id, eref(&c4))).await;
    assert_selects::<Customer>(
        &store,
        t,
        CustomerFilter {
            tag: Some(vip.id),
            ..f()
        },
        &[c2.id, c4.id],
        "vip after retag",
    )
    .await;
}

async fn seed_search(store: &Store, t: TenantId) -> [CustomerId; 4] {
    let c1 = company(t, "Müller Bäckerei GmbH");
    let j = contact(t, c1.id, "Jürgen", "Schmidt");
    let j_mail = email_point(t, c1.id, Some(j.id), "J.Schmidt@Mueller.example");
    let c1_phone = phone_point(
        t,
        c1.id,
        None,
        ContactPointKind::Phone,
        "030 1234567",
        Some("DE"),
    );
    assert_eq!(c1_phone.value, "+49301234567");

    let c2 = person(t, "Ada", "Lovelace");
    let c2_mail = email_point(t, c2.id, None, "ada@analytical.example");
    let c2_mobile = phone_point(
        t,
        c2.id,
        None,
        ContactPointKind::Mobile,
        "+1 (415) 555-2671",
        None,
    );

    let c3 = company(t, "Acme Corp");
    let ab = contact(t, c3.id, "Ada", "Byron");

    let mut c4 = person(t, "Zoe", "Zimmer");
    c4.company_name = Some("Quantum Holdings".into());

    let cs = ChangeSet::new()
        .insert(c1.clone())
        .insert(j)
        .insert(j_mail)
        .insert(c1_phone)
        .insert(c2.clone())
        .insert(c2_mail)
        .insert(c2_mobile)
        .insert(c3.clone())
        .insert(ab)
        .insert(c4.clone());
    apply_ok(store, t, cs, "seed search").await;
    [c1.id, c2.id, c3.id, c4.id]
}

/// Customer text search: every term must occur in the folded document of names, company
/// name, contact names, e-mail addresses and phone digits (E.164 and as entered).
pub async fn customer_text_search(store: Store) {
    let t = TenantId::new();
    let [c1, c2, c3, c4] = seed_search(&store, t).await;
    let q = |s: &str| CustomerFilter {
        text: Some(s.to_string()),
        ..CustomerFilter::default()
    };
    let cases: Vec<(&str, Vec<CustomerId>)> = vec![
        ("muller", vec![c1]),
        ("MÜLLER", vec![c1]),
        ("bäckerei", vec![c1]),
        ("BACKEREI gmbh", vec![c1]),
        ("schmidt", vec![c1]),
        ("jürgen schmidt", vec![c1]),
        ("JURGEN", vec![c1]),
        ("ada", vec![c2, c3]),
        ("ada lovelace", vec![c2]),
        ("lovelace ada", vec![c2]),
        ("ada acme", vec![c3]),
        ("byron", vec![c3]),
        ("lovelace acme", vec![]),
        ("analytical.example", vec![c2]),
        ("ADA@ANALYTICAL", vec![c2]),
        ("j.schmidt@mueller", vec![c1]),
        ("030 1234", vec![c1]),
        ("030-1234567", vec![c1]),
        ("+49 30 1234567", vec![c1]),
        ("(030) 123 45 67", vec![c1]),
        ("4930123", vec![c1]),
        ("415 555", vec![c2]),
        ("+1-415-555-2671", vec![c2]),
        ("quantum", vec![c4]),
        ("zimmer zoe", vec![c4]),
        ("nomatch", vec![]),
        ("ada nomatch", vec![]),
        ("   ", vec![c1, c2, c3, c4]),
    ];
    for (text, want) in cases {
        assert_selects::<Customer>(&store, t, q(text), &want, &format!("text {text:?}")).await;
    }
    // Text combines with plain fields.
    let f = CustomerFilter {
        kind: Some(CustomerKind::Person),
        ..q("ada")
    };
    assert_selects::<Customer>(&store, t, f, &[c2], "text + kind").await;
}

/// The text-search document follows changes to contacts, contact points and the customer.
pub async fn customer_text_search_follows_changes(store: Store) {
    let t = TenantId::new();
    let c1 = insert(&store, t, company(t, "Orion")).await;
    let c2 = insert(&store, t, company(t, "Vega")).await;
    let p = insert(&store, t, contact(t, c1.id, "Paula", "Pink")).await;
    let q = |s: &str| CustomerFilter {
        text: Some(s.to_string()),
        ..CustomerFilter::default()
    };

    assert_selects::<Customer>(&store, t, q("paula"), &[c1.id], "contact name").await;
    let mut p2 = p.clone();
    p2.first_name = "Petra".into();
    let p2 = update(&store, t, p2).await;
    assert_selects::<Customer>(&store, t, q("paula"), &[], "old contact name").await;
    assert_selects::<Customer>(&store, t, q("petra pink"), &[c1.id], "new contact name").await;

    let phone = insert(
        &store,
        t,
        phone_point(
            t,
            c1.id,
            Some(p.id),
            ContactPointKind::Phone,
            "0711 998877",
            Some("DE"),
        ),
    )
    .await;
    assert_selects::<Customer>(&store, t, q("0711 9988"), &[c1.id], "new phone").await;
    apply_ok(
        &store,
        t,
        ChangeSet::new().delete::<ContactPoint>(phone.id, None),
        "drop phone",
    )
    .await;
    assert_selects::<Customer>(&store, t, q("0711 9988"), &[], "deleted phone").await;

    let mut p3 = p2.clone();
    p3.customer_id = c2.id;
    let p3 = update(&store, t, p3).await;
    assert_selects::<Customer>(&store, t, q("petra"), &[c2.id], "contact moved").await;

    let mut renamed = c1.clone();
    renamed.name = "Sirius".into();
    renamed.company_name = Some("Sirius".into());
    update(&store, t, renamed).await;
    assert_selects::<Customer>(&store, t, q("orion"), &[], "old customer name").await;
    assert_selects::<Customer>(&store, t, q("sirius"), &[c1.id], "new customer name").await;

    apply_ok(
        &store,
        t,
        ChangeSet::new().delete::<Contact>(p3.id, None),
        "drop contact",
    )
    .await;
    assert_selects::<Customer>(&store, t, q("petra"), &[], "deleted contact").await;
}

/// Contact filters: customer, role, primary flag and tag.
pub async fn contact_filters(store: Store) {
    let t = TenantId::new();
    let a = insert(&store, t, company(t, "A")).await;
    let b = insert(&store, t, company(t, "B")).await;
    let mut k1 = contact(t, a.id, "K1", "");
    k1.role = Some(ContactRole::DecisionMaker);
    k1.is_primary = true;
    let mut k2 = contact(t, a.id, "K2", "");
    k2.role = Some(ContactRole::User);
    let k3 = contact(t, b.id, "K3", "");
    let mut k4 = contact(t, b.id, "K4", "");
    k4.role = Some(ContactRole::DecisionMaker);
    k4.is_primary = true;
    insert_all(
        &store,
        t,
        vec![k1.clone(), k2.clone(), k3.clone(), k4.clone()],
    )
    .await;
    let g = insert(&store, t, tag(t, "champion")).await;
    let cs = ChangeSet::new()
        .insert(tag_assignment(t, g.id, eref(&k2)))
        .insert(tag_assignment(t, g.id, eref(&k3)))
        // Tagging the customer does not tag its contacts.
        .insert(tag_assignment(t, g.id, eref(&a)));
    apply_ok(&store, t, cs, "tag contacts").await;

    let f = ContactFilter::default;
    let cases: Vec<(ContactFilter, Vec<ContactId>, &str)> = vec![
        (f(), vec![k1.id, k2.id, k3.id, k4.id], "all"),
        (
            ContactFilter {
                customer_id: Some(a.id),
                ..f()
            },
            vec![k1.id, k2.id],
            "customer a",
        ),
        (
            ContactFilter {
                customer_id: Some(CustomerId::new()),
                ..f()
            },
            vec![],
            "unknown customer",
        ),
        (
            ContactFilter {
                role: Some(ContactRole::DecisionMaker),
                ..f()
            },
            vec![k1.id, k4.id],
            "role",
        ),
        (
            ContactFilter {
                role: Some(ContactRole::Gatekeeper),
                ..f()
            },
            vec![],
            "unused role",
        ),
        (
            ContactFilter {
                is_primary: Some(true),
                ..f()
            },
            vec![k1.id, k4.id],
            "primary",
        ),
        (
            ContactFilter {
                is_primary: Some(false),
                ..f()
            },
            vec![k2.id, k3.id],
            "not primary",
        ),
        (
            ContactFilter {
                tag: Some(g.id),
                ..f()
            },
            vec![k2.id, k3.id],
            "tag",
        ),
        (
            ContactFilter {
                tag: Some(g.id),
                customer_id: Some(b.id),
                ..f()
            },
            vec![k3.id],
            "tag + customer",
        ),
        (
            ContactFilter {
                customer_id: Some(b.id),
                role: Some(ContactRole::DecisionMaker),
                is_primary: Some(true),
                tag: None,
            },
            vec![k4.id],
            "customer + role + primary",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<Contact>(&store, t, filter, &want, what).await;
    }
}

/// Contact-point filters: customer (including its contacts' points), contact, customer
/// level only, kind, normalised value, primary flag.
pub async fn contact_point_filters(store: Store) {
    let t = TenantId::new();
    let a = insert(&store, t, company(t, "A")).await;
    let b = insert(&store, t, company(t, "B")).await;
    let ca = insert(&store, t, contact(t, a.id, "Ca", "")).await;
    let cb = insert(&store, t, contact(t, a.id, "Cb", "")).await;
    let mut a1 = email_point(t, a.id, None, "info@a.example");
    a1.primary = true;
    let a2 = phone_point(
        t,
        a.id,
        None,
        ContactPointKind::Phone,
        "030 1234567",
        Some("DE"),
    );
    let a3 = email_point(t, a.id, Some(ca.id), "X@Ca.example");
    let mut a4 = phone_point(
        t,
        a.id,
        Some(cb.id),
        ContactPointKind::Mobile,
        "0171 1234567",
        Some("DE"),
    );
    a4.primary = true;
    let b1 = email_point(t, b.id, None, "info@b.example");
    insert_all(
        &store,
        t,
        vec![a1.clone(), a2.clone(), a3.clone(), a4.clone(), b1.clone()],
    )
    .await;

    let f = ContactPointFilter::default;
    let cases: Vec<(ContactPointFilter, Vec<ContactPointId>, &str)> = vec![
        (f(), vec![a1.id, a2.id, a3.id, a4.id, b1.id], "all"),
        (
            ContactPointFilter {
                customer_id: Some(a.id),
                ..f()
            },
            vec![a1.id, a2.id, a3.id, a4.id],
            "customer incl. contacts",
        ),
        (
            ContactPointFilter {
                contact_id: Some(ca.id),
                ..f()
            },
            vec![a3.id],
            "contact",
        ),
        (
            ContactPointFilter {
                customer_level_only: true,
                ..f()
            },
            vec![a1.id, a2.id, b1.id],
            "customer level only",
        ),
        (
            ContactPointFilter {
                customer_id: Some(a.id),
                customer_level_only: true,
                ..f()
            },
            vec![a1.id, a2.id],
            "customer a, own points",
        ),
        (
            ContactPointFilter {
                kind: Some(ContactPointKind::Email),
                ..f()
            },
            vec![a1.id, a3.id, b1.id],
            "kind email",
        ),
        (
            ContactPointFilter {
                kind: Some(ContactPointKind::Mobile),
                ..f()
            },
            vec![a4.id],
            "kind mobile",
        ),
        (
            ContactPointFilter {
                value: Some("x@ca.example".into()),
                ..f()
            },
            vec![a3.id],
            "normalised e-mail",
        ),
        (
            ContactPointFilter {
                value: Some("+49301234567".into()),
                ..f()
            },
            vec![a2.id],
            "normalised phone",
        ),
        (
            ContactPointFilter {
                value: Some("030 1234567".into()),
                ..f()
            },
            vec![],
            "raw value is not the value",
        ),
        (
            ContactPointFilter {
                primary: Some(true),
                ..f()
            },
            vec![a1.id, a4.id],
            "primary",
        ),
        (
            ContactPointFilter {
                primary: Some(false),
                ..f()
            },
            vec![a2.id, a3.id, b1.id],
            "not primary",
        ),
        (
            ContactPointFilter {
                customer_id: Some(a.id),
                kind: Some(ContactPointKind::Email),
                primary: Some(false),
                ..f()
            },
            vec![a3.id],
            "combined",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<ContactPoint>(&store, t, filter, &want, what).await;
    }
}

/// Location filters: customer, usage, country, postal code, primary flag.
pub async fn location_filters(store: Store) {
    let t = TenantId::new();
    let a = insert(&store, t, company(t, "A")).await;
    let b = insert(&store, t, company(t, "B")).await;
    let mut l1 = location(t, a.id, "Berlin");
    l1.primary = true;
    l1.usage = LocationUsage::Billing;
    let mut l2 = Location::new(
        t,
        a.id,
        AddressParts {
            line1: Some("Rue 1"),
            postal_code: Some("75001"),
            city: Some("Paris"),
            country: Some("fr"),
        },
        t0(),
    )
    .expect("loc");
    l2.usage = LocationUsage::Service;
    let l3 = Location::new(
        t,
        b.id,
        AddressParts {
            city: Some("Nowhere"),
            ..Default::default()
        },
        t0(),
    )
    .expect("loc");
    insert_all(&store, t, vec![l1.clone(), l2.clone(), l3.clone()]).await;

    let f = LocationFilter::default;
    let de = Country::parse("DE").expect("country");
    let fr = Country::parse("FR").expect("country");
    let cases: Vec<(LocationFilter, Vec<LocationId>, &str)> = vec![
        (f(), vec![l1.id, l2.id, l3.id], "all"),
        (
            LocationFilter {
                customer_id: Some(a.id),
                ..f()
            },
            vec![l1.id, l2.id],
            "customer",
        ),
        (
            LocationFilter {
                usage: Some(LocationUsage::Billing),
                ..f()
            },
            vec![l1.id],
            "billing",
        ),
        (
            LocationFilter {
                usage: Some(LocationUsage::Service),
                ..f()
            },
            vec![l2.id],
            "service",
        ),
        (
            LocationFilter {
                usage: Some(LocationUsage::Both),
                ..f()
            },
            vec![l3.id],
            "both",
        ),
        (
            LocationFilter {
                country: Some(de),
                ..f()
            },
            vec![l1.id],
            "country de",
        ),
        (
            LocationFilter {
                country: Some(fr),
                ..f()
            },
            vec![l2.id],
            "country fr",
        ),
        (
            LocationFilter {
                postal_code: Some("75001".into()),
                ..f()
            },
            vec![l2.id],
            "postal code",
        ),
        (
            LocationFilter {
                postal_code: Some("99999".into()),
                ..f()
            },
            vec![],
            "unknown postal code",
        ),
        (
            LocationFilter {
                primary: Some(true),
                ..f()
            },
            vec![l1.id],
            "primary",
        ),
        (
            LocationFilter {
                primary: Some(false),
                ..f()
            },
            vec![l2.id, l3.id],
            "not primary",
        ),
        (
            LocationFilter {
                customer_id: Some(a.id),
                primary: Some(false),
                ..f()
            },
            vec![l2.id],
            "customer + not primary",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<Location>(&store, t, filter, &want, what).await;
    }
}

/// Consent filters: customer (including its contacts' records), contact, do-not-contact.
pub async fn consent_filters(store: Store) {
    let t = TenantId::new();
    let a = insert(&store, t, company(t, "A")).await;
    let b = insert(&store, t, company(t, "B")).await;
    let ka = insert(&store, t, contact(t, a.id, "Ka", "")).await;
    let mut k1 = Consent::new(t, a.id, None, t0());
    k1.do_not_contact = true;
    let k2 = Consent::new(t, a.id, Some(ka.id), t0());
    let mut k3 = Consent::new(t, b.id, None, t0());
    k3.do_not_contact = true;
    insert_all(&store, t, vec![k1.clone(), k2.clone(), k3.clone()]).await;

    let f = ConsentFilter::default;
    let cases: Vec<(ConsentFilter, Vec<ConsentId>, &str)> = vec![
        (f(), vec![k1.id, k2.id, k3.id], "all"),
        (
            ConsentFilter {
                customer_id: Some(a.id),
                ..f()
            },
            vec![k1.id, k2.id],
            "customer incl. contacts",
        ),
        (
            ConsentFilter {
                contact_id: Some(ka.id),
                ..f()
            },
            vec![k2.id],
            "contact",
        ),
        (
            ConsentFilter {
                do_not_contact: Some(true),
                ..f()
            },
            vec![k1.id, k3.id],
            "do not contact",
        ),
        (
            ConsentFilter {
                do_not_contact: Some(false),
                ..f()
            },
            vec![k2.id],
            "may contact",
        ),
        (
            ConsentFilter {
                customer_id: Some(a.id),
                do_not_contact: Some(true),
                ..f()
            },
            vec![k1.id],
            "combined",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<Consent>(&store, t, filter, &want, what).await;
    }
}

/// Lead filters: status, owner, source, campaign, rating, minimum score, e-mail, tag and
/// creation range.
pub async fn lead_filters(store: Store) {
    let t = TenantId::new();
    let u = UserId::new();
    let mut l1 = Lead::person(t, "L1", "", Some("one@x.example"), t0()).expect("lead");
    l1.owner = Some(u);
    l1.source = Some("fair".into());
    l1.campaign = Some("spring".into());
    l1.rating = Some(Rating::Hot);
    l1.score = Percent::new(90, "score").expect("score");
    l1.created_at = at(0);
    let mut l2 = lead(t, "L2", "");
    l2.status = LeadStatus::Contacted;
    l2.source = Some("web".into());
    l2.rating = Some(Rating::Cold);
    l2.score = Percent::new(50, "score").expect("score");
    l2.created_at = at(10);
    let mut l3 = lead(t, "L3", "");
    l3.status = LeadStatus::Disqualified;
    l3.disqualification = Some(Disqualification {
        reason: "spam".into(),
        by: None,
        at: at(20),
    });
    l3.owner = Some(u);
    l3.campaign = Some("spring".into());
    l3.score = Percent::new(49, "score").expect("score");
    l3.created_at = at(20);
    insert_all(&store, t, vec![l1.clone(), l2.clone(), l3.clone()]).await;
    let g = insert(&store, t, tag(t, "hot-list")).await;
    insert(&store, t, tag_assignment(t, g.id, eref(&l3))).await;

    let f = LeadFilter::default;
    let cases: Vec<(LeadFilter, Vec<LeadId>, &str)> = vec![
        (f(), vec![l1.id, l2.id, l3.id], "all"),
        (
            LeadFilter {
                status: Some(LeadStatus::New),
                ..f()
            },
            vec![l1.id],
            "new",
        ),
        (
            LeadFilter {
                status: Some(LeadStatus::Contacted),
                ..f()
            },
            vec![l2.id],
            "contacted",
        ),
        (
            LeadFilter {
                status: Some(LeadStatus::Disqualified),
                ..f()
            },
            vec![l3.id],
            "disqualified",
        ),
        (
            LeadFilter {
                owner: Some(u),
                ..f()
            },
            vec![l1.id, l3.id],
            "owner",
        ),
        (
            LeadFilter {
                source: Some("web".into()),
                ..f()
            },
            vec![l2.id],
            "source",
        ),
        (
            LeadFilter {
                campaign: Some("spring".into()),
                ..f()
            },
            vec![l1.id, l3.id],
            "campaign",
        ),
        (
            LeadFilter {
                rating: Some(Rating::Hot),
                ..f()
            },
            vec![l1.id],
            "rating",
        ),
        (
            LeadFilter {
                rating: Some(Rating::Warm),
                ..f()
            },
            vec![],
            "unused rating",
        ),
        (
            LeadFilter {
                min_score: Some(50),
                ..f()
            },
            vec![l1.id, l2.id],
            "min score inclusive",
        ),
        (
            LeadFilter {
                min_score: Some(0),
                ..f()
            },
            vec![l1.id, l2.id, l3.id],
            "min score 0",
        ),
        (
            LeadFilter {
                min_score: Some(91),
                ..f()
            },
            vec![],
            "min score above all",
        ),
        (
            LeadFilter {
                email: Some(Email::parse("ONE@x.example").expect("email")),
                ..f()
            },
            vec![l1.id],
            "email",
        ),
        (
            LeadFilter {
                tag: Some(g.id),
                ..f()
            },
            vec![l3.id],
            "tag",
        ),
        (
            LeadFilter {
                created_from: Some(at(10)),
                ..f()
            },
            vec![l2.id, l3.id],
            "created_from",
        ),
        (
            LeadFilter {
                created_to: Some(at(10)),
                ..f()
            },
            vec![l1.id],
            "created_to exclusive",
        ),
        (
            LeadFilter {
                owner: Some(u),
                campaign: Some("spring".into()),
                min_score: Some(60),
                ..f()
            },
            vec![l1.id],
            "combined",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<Lead>(&store, t, filter, &want, what).await;
    }
}

/// Pipeline filter: default flag.
pub async fn pipeline_filters(store: Store) {
    let t = TenantId::new();
    let mut p1 = pipeline(t, "Main");
    p1.is_default = true;
    let p2 = pipeline(t, "Other");
    let p3 = pipeline(t, "Third");
    insert_all(&store, t, vec![p1.clone(), p2.clone(), p3.clone()]).await;
    let f = PipelineFilter::default;
    assert_selects::<Pipeline>(&store, t, f(), &[p1.id, p2.id, p3.id], "all").await;
    assert_selects::<Pipeline>(
        &store,
        t,
        PipelineFilter {
            is_default: Some(true),
        },
        &[p1.id],
        "default",
    )
    .await;
    assert_selects::<Pipeline>(
        &store,
        t,
        PipelineFilter {
            is_default: Some(false),
        },
        &[p2.id, p3.id],
        "not default",
    )
    .await;
}

/// Deal filters: customer, pipeline, stage, status, owner, minimum amount, expected close
/// (inclusive, deals without a date excluded), tag, creation range.
pub async fn deal_filters(store: Store) {
    let t = TenantId::new();
    let u = UserId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let p = insert(&store, t, pipeline(t, "P")).await;
    let q = insert(&store, t, pipeline(t, "Q")).await;
    let mut d1 = deal(t, &p, "D1", 1_000);
    d1.customer_id = Some(c.id);
    d1.owner = Some(u);
    d1.expected_close = Some(day(10));
    d1.created_at = at(0);
    let mut d2 = deal(t, &p, "D2", 5_000);
    d2.stage_id = p.stages[1].id;
    d2.expected_close = Some(day(20));
    d2.created_at = at(10);
    let mut d3 = deal(t, &q, "D3", 5_001);
    d3.customer_id = Some(c.id);
    d3.status = DealStatus::Lost;
    d3.stage_id = q.lost_stage().expect("lost").id;
    d3.probability = Percent::ZERO;
    d3.closed_at = Some(at(30));
    d3.created_at = at(20);
    insert_all(&store, t, vec![d1.clone(), d2.clone(), d3.clone()]).await;
    let g = insert(&store, t, tag(t, "strategic")).await;
    let cs = ChangeSet::new()
        .insert(tag_assignment(t, g.id, eref(&d1)))
        .insert(tag_assignment(t, g.id, eref(&d3)))
        .insert(tag_assignment(t, g.id, eref(&c)));
    apply_ok(&store, t, cs, "tag deals").await;

    let f = DealFilter::default;
    let cases: Vec<(DealFilter, Vec<DealId>, &str)> = vec![
        (f(), vec![d1.id, d2.id, d3.id], "all"),
        (
            DealFilter {
                customer_id: Some(c.id),
                ..f()
            },
            vec![d1.id, d3.id],
            "customer",
        ),
        (
            DealFilter {
                pipeline_id: Some(p.id),
                ..f()
            },
            vec![d1.id, d2.id],
            "pipeline",
        ),
        (
            DealFilter {
                stage_id: Some(p.stages[1].id),
                ..f()
            },
            vec![d2.id],
            "stage",
        ),
        (
            DealFilter {
                stage_id: Some(StageId::new()),
                ..f()
            },
            vec![],
            "unknown stage",
        ),
        (
            DealFilter {
                status: Some(DealStatus::Open),
                ..f()
            },
            vec![d1.id, d2.id],
            "open",
        ),
        (
            DealFilter {
                status: Some(DealStatus::Lost),
                ..f()
            },
            vec![d3.id],
            "lost",
        ),
        (
            DealFilter {
                status: Some(DealStatus::Won),
                ..f()
            },
            vec![],
            "won",
        ),
        (
            DealFilter {
                owner: Some(u),
                ..f()
            },
            vec![d1.id],
            "owner",
        ),
        (
            DealFilter {
                min_amount: Some(5_000),
                ..f()
            },
            vec![d2.id, d3.id],
            "min amount inclusive",
        ),
        (
            DealFilter {
                min_amount: Some(5_001),
                ..f()
            },
            vec![d3.id],
            "min amount",
        ),
        (
            DealFilter {
                expected_close_before: Some(day(10)),
                ..f()
            },
            vec![d1.id],
            "close on or before",
        ),
        (
            DealFilter {
                expected_close_before: Some(day(9)),
                ..f()
            },
            vec![],
            "close before all",
        ),
        (
            DealFilter {
                expected_close_before: Some(day(365)),
                ..f()
            },
            vec![d1.id, d2.id],
            "undated excluded",
        ),
        (
            DealFilter {
                tag: Some(g.id),
                ..f()
            },
            vec![d1.id, d3.id],
            "tag",
        ),
        (
            DealFilter {
                tag: Some(g.id),
                status: Some(DealStatus::Open),
                ..f()
            },
            vec![d1.id],
            "tag + status",
        ),
        (
            DealFilter {
                created_from: Some(at(10)),
                ..f()
            },
            vec![d2.id, d3.id],
            "created_from",
        ),
        (
            DealFilter {
                created_to: Some(at(20)),
                ..f()
            },
            vec![d1.id, d2.id],
            "created_to exclusive",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<Deal>(&store, t, filter, &want, what).await;
    }
}

/// Stage-change filters: deal, customer, pipeline and the half-open time range.
pub async fn stage_change_filters(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let p = insert(&store, t, pipeline(t, "P")).await;
    let q = insert(&store, t, pipeline(t, "Q")).await;
    let mut d1 = deal(t, &p, "D1", 1);
    d1.customer_id = Some(c.id);
    let d2 = deal(t, &q, "D2", 1);
    insert_all(&store, t, vec![d1.clone(), d2.clone()]).await;
    let s1 = stage_change(&d1, at(0));
    let s2 = stage_change(&d1, at(100));
    let s3 = stage_change(&d2, at(200));
    insert_all(&store, t, vec![s1.clone(), s2.clone(), s3.clone()]).await;

    let f = StageChangeFilter::default;
    let cases: Vec<(StageChangeFilter, Vec<StageChangeId>, &str)> = vec![
        (f(), vec![s1.id, s2.id, s3.id], "all"),
        (
            StageChangeFilter {
                deal_id: Some(d1.id),
                ..f()
            },
            vec![s1.id, s2.id],
            "deal",
        ),
        (
            StageChangeFilter {
                customer_id: Some(c.id),
                ..f()
            },
            vec![s1.id, s2.id],
            "customer",
        ),
        (
            StageChangeFilter {
                pipeline_id: Some(q.id),
                ..f()
            },
            vec![s3.id],
            "pipeline",
        ),
        (
            StageChangeFilter {
                from: Some(at(100)),
                ..f()
            },
            vec![s2.id, s3.id],
            "from inclusive",
        ),
        (
            StageChangeFilter {
                to: Some(at(100)),
                ..f()
            },
            vec![s1.id],
            "to exclusive",
        ),
        (
            StageChangeFilter {
                deal_id: Some(d1.id),
                from: Some(at(1)),
                to: Some(at(1000)),
                ..f()
            },
            vec![s2.id],
            "combined",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<StageChange>(&store, t, filter, &want, what).await;
    }
}

/// Activity filters: each link, kind, status, open only, assignee, due before (strict,
/// undated excluded), reminder before (inclusive).
pub async fn activity_filters(store: Store) {
    let t = TenantId::new();
    let u = UserId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let k = insert(&store, t, contact(t, c.id, "K", "")).await;
    let l = insert(&store, t, lead(t, "L", "")).await;
    let p = insert(&store, t, pipeline(t, "P")).await;
    let d = insert(&store, t, deal(t, &p, "D", 1)).await;

    let mut a1 = activity(
        t,
        Links {
            customer_id: Some(c.id),
            contact_id: Some(k.id),
            ..Links::default()
        },
        "a1",
    );
    a1.kind = ActivityKind::Call;
    a1.assignee = Some(u);
    a1.due_at = Some(at(100));
    a1.reminder_at = Some(at(50));
    let mut a2 = activity(t, Links::lead(l.id), "a2");
    a2.status = ActivityStatus::InProgress;
    a2.due_at = Some(at(200));
    let mut a3 = activity(t, Links::deal(d.id), "a3");
    a3.kind = ActivityKind::Meeting;
    a3.status = ActivityStatus::Completed;
    a3.completed_at = Some(at(10));
    let mut a4 = activity(t, Links::customer(c.id), "a4");
    a4.status = ActivityStatus::Cancelled;
    a4.assignee = Some(u);
    insert_all(
        &store,
        t,
        vec![a1.clone(), a2.clone(), a3.clone(), a4.clone()],
    )
    .await;

    let f = ActivityFilter::default;
    let lf = LinkFilter::default;
    let cases: Vec<(ActivityFilter, Vec<ActivityId>, &str)> = vec![
        (f(), vec![a1.id, a2.id, a3.id, a4.id], "all"),
        (
            ActivityFilter {
                links: LinkFilter {
                    customer_id: Some(c.id),
                    ..lf()
                },
                ..f()
            },
            vec![a1.id, a4.id],
            "customer",
        ),
        (
            ActivityFilter {
                links: LinkFilter {
                    contact_id: Some(k.id),
                    ..lf()
                },
                ..f()
            },
            vec![a1.id],
            "contact",
        ),
        (
            ActivityFilter {
                links: LinkFilter {
                    lead_id: Some(l.id),
                    ..lf()
                },
                ..f()
            },
            vec![a2.id],
            "lead",
        ),
        (
            ActivityFilter {
                links: LinkFilter {
                    deal_id: Some(d.id),
                    ..lf()
                },
                ..f()
            },
            vec![a3.id],
            "deal",
        ),
        (
            ActivityFilter {
                links: LinkFilter {
                    customer_id: Some(c.id),
                    contact_id: Some(k.id),
                    ..lf()
                },
                ..f()
            },
            vec![a1.id],
            "customer + contact",
        ),
        (
            ActivityFilter {
                links: LinkFilter {
                    customer_id: Some(c.id),
                    deal_id: Some(d.id),
                    ..lf()
                },
                ..f()
            },
            vec![],
            "customer + deal (no such activity)",
        ),
        (
            ActivityFilter {
                kind: Some(ActivityKind::Call),
                ..f()
            },
            vec![a1.id],
            "kind",
        ),
        (
            ActivityFilter {
                kind: Some(ActivityKind::Task),
                ..f()
            },
            vec![a2.id, a4.id],
            "kind task",
        ),
        (
            ActivityFilter {
                status: Some(ActivityStatus::Completed),
                ..f()
            },
            vec![a3.id],
            "status",
        ),
        (
            ActivityFilter {
                open_only: true,
                ..f()
            },
            vec![a1.id, a2.id],
            "open only",
        ),
        (
            ActivityFilter {
                assignee: Some(u),
                ..f()
            },
            vec![a1.id, a4.id],
            "assignee",
        ),
        (
            ActivityFilter {
                due_before: Some(at(200)),
                ..f()
            },
            vec![a1.id],
            "due before strict",
        ),
        (
            ActivityFilter {
                due_before: Some(at(201)),
                ..f()
            },
            vec![a1.id, a2.id],
            "due before, undated excluded",
        ),
        (
            ActivityFilter {
                reminder_before: Some(at(50)),
                ..f()
            },
            vec![a1.id],
            "reminder inclusive",
        ),
        (
            ActivityFilter {
                reminder_before: Some(at(49)),
                ..f()
            },
            vec![],
            "reminder before",
        ),
        (
            ActivityFilter {
                open_only: true,
                assignee: Some(u),
                ..f()
            },
            vec![a1.id],
            "open + assignee",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<Activity>(&store, t, filter, &want, what).await;
    }
}

/// Interaction filters: links, channel, direction, author, occurrence range.
pub async fn interaction_filters(store: Store) {
    let t = TenantId::new();
    let u = UserId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let l = insert(&store, t, lead(t, "L", "")).await;
    let mut i1 = interaction(t, Links::customer(c.id), at(0));
    i1.author = Some(u);
    let mut i2 = interaction(t, Links::lead(l.id), at(100));
    i2.channel = Channel::Email;
    i2.direction = InteractionDirection::Outbound;
    let mut i3 = interaction(
        t,
        Links {
            customer_id: Some(c.id),
            lead_id: Some(l.id),
            ..Links::default()
        },
        at(200),
    );
    i3.channel = Channel::Email;
    i3.direction = InteractionDirection::System;
    i3.author = Some(u);
    insert_all(&store, t, vec![i1.clone(), i2.clone(), i3.clone()]).await;

    let f = InteractionFilter::default;
    let lf = LinkFilter::default;
    let cases: Vec<(InteractionFilter, Vec<InteractionId>, &str)> = vec![
        (f(), vec![i1.id, i2.id, i3.id], "all"),
        (
            InteractionFilter {
                links: LinkFilter {
                    customer_id: Some(c.id),
                    ..lf()
                },
                ..f()
            },
            vec![i1.id, i3.id],
            "customer",
        ),
        (
            InteractionFilter {
                links: LinkFilter {
                    lead_id: Some(l.id),
                    ..lf()
                },
                ..f()
            },
            vec![i2.id, i3.id],
            "lead",
        ),
        (
            InteractionFilter {
                channel: Some(Channel::Email),
                ..f()
            },
            vec![i2.id, i3.id],
            "channel",
        ),
        (
            InteractionFilter {
                channel: Some(Channel::Chat),
                ..f()
            },
            vec![],
            "unused channel",
        ),
        (
            InteractionFilter {
                direction: Some(InteractionDirection::Inbound),
                ..f()
            },
            vec![i1.id],
            "inbound",
        ),
        (
            InteractionFilter {
                direction: Some(InteractionDirection::System),
                ..f()
            },
            vec![i3.id],
            "system",
        ),
        (
            InteractionFilter {
                author: Some(u),
                ..f()
            },
            vec![i1.id, i3.id],
            "author",
        ),
        (
            InteractionFilter {
                occurred_from: Some(at(100)),
                ..f()
            },
            vec![i2.id, i3.id],
            "from inclusive",
        ),
        (
            InteractionFilter {
                occurred_to: Some(at(100)),
                ..f()
            },
            vec![i1.id],
            "to exclusive",
        ),
        (
            InteractionFilter {
                links: LinkFilter {
                    customer_id: Some(c.id),
                    ..lf()
                },
                channel: Some(Channel::Email),
                ..f()
            },
            vec![i3.id],
            "customer + channel",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<Interaction>(&store, t, filter, &want, what).await;
    }
}

/// Note filters: links, pinned, author, visibility to a user.
pub async fn note_filters(store: Store) {
    let t = TenantId::new();
    let (u1, u2) = (UserId::new(), UserId::new());
    let c = insert(&store, t, company(t, "C")).await;
    let l = insert(&store, t, lead(t, "L", "")).await;
    let mut n1 = note(t, u1, Links::customer(c.id), "public pinned");
    n1.pinned = true;
    let mut n2 = note(t, u1, Links::customer(c.id), "private of u1");
    n2.private = true;
    let n3 = note(t, u2, Links::lead(l.id), "public of u2");
    let mut n4 = note(t, u2, Links::lead(l.id), "private of u2");
    n4.private = true;
    insert_all(
        &store,
        t,
        vec![n1.clone(), n2.clone(), n3.clone(), n4.clone()],
    )
    .await;

    let f = NoteFilter::default;
    let lf = LinkFilter::default;
    let cases: Vec<(NoteFilter, Vec<NoteId>, &str)> = vec![
        (f(), vec![n1.id, n2.id, n3.id, n4.id], "all"),
        (
            NoteFilter {
                links: LinkFilter {
                    customer_id: Some(c.id),
                    ..lf()
                },
                ..f()
            },
            vec![n1.id, n2.id],
            "customer",
        ),
        (
            NoteFilter {
                links: LinkFilter {
                    lead_id: Some(l.id),
                    ..lf()
                },
                ..f()
            },
            vec![n3.id, n4.id],
            "lead",
        ),
        (
            NoteFilter {
                pinned: Some(true),
                ..f()
            },
            vec![n1.id],
            "pinned",
        ),
        (
            NoteFilter {
                pinned: Some(false),
                ..f()
            },
            vec![n2.id, n3.id, n4.id],
            "not pinned",
        ),
        (
            NoteFilter {
                author: Some(u2),
                ..f()
            },
            vec![n3.id, n4.id],
            "author",
        ),
        (
            NoteFilter {
                visible_to: Some(u1),
                ..f()
            },
            vec![n1.id, n2.id, n3.id],
            "visible to u1",
        ),
        (
            NoteFilter {
                visible_to: Some(u2),
                ..f()
            },
            vec![n1.id, n3.id, n4.id],
            "visible to u2",
        ),
        (
            NoteFilter {
                visible_to: Some(UserId::new()),
                ..f()
            },
            vec![n1.id, n3.id],
            "visible to stranger",
        ),
        (
            NoteFilter {
                links: LinkFilter {
                    lead_id: Some(l.id),
                    ..lf()
                },
                visible_to: Some(u1),
                ..f()
            },
            vec![n3.id],
            "lead + visible",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<Note>(&store, t, filter, &want, what).await;
    }
}

/// Tag filter: name, case-insensitive exact.
pub async fn tag_filters(store: Store) {
    let t = TenantId::new();
    let g1 = tag(t, "VIP");
    let g2 = tag(t, "vip-plus");
    let g3 = tag(t, "Öko");
    insert_all(&store, t, vec![g1.clone(), g2.clone(), g3.clone()]).await;
    let by = |n: &str| TagFilter {
        name: Some(n.to_string()),
    };
    assert_selects::<Tag>(
        &store,
        t,
        TagFilter::default(),
        &[g1.id, g2.id, g3.id],
        "all",
    )
    .await;
    assert_selects::<Tag>(&store, t, by("vip"), &[g1.id], "vip").await;
    assert_selects::<Tag>(&store, t, by("ViP"), &[g1.id], "ViP").await;
    assert_selects::<Tag>(&store, t, by("VIP-PLUS"), &[g2.id], "VIP-PLUS").await;
    assert_selects::<Tag>(&store, t, by("öko"), &[g3.id], "öko").await;
    assert_selects::<Tag>(&store, t, by("vi"), &[], "prefix is not a match").await;
}

/// Tag-assignment filters: tag, target, target kind.
pub async fn tag_assignment_filters(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let k = insert(&store, t, contact(t, c.id, "K", "")).await;
    let l = insert(&store, t, lead(t, "L", "")).await;
    let g1 = insert(&store, t, tag(t, "one")).await;
    let g2 = insert(&store, t, tag(t, "two")).await;
    let a1 = tag_assignment(t, g1.id, eref(&c));
    let a2 = tag_assignment(t, g1.id, eref(&k));
    let a3 = tag_assignment(t, g2.id, eref(&c));
    let a4 = tag_assignment(t, g2.id, eref(&l));
    insert_all(
        &store,
        t,
        vec![a1.clone(), a2.clone(), a3.clone(), a4.clone()],
    )
    .await;

    let f = TagAssignmentFilter::default;
    let cases: Vec<(TagAssignmentFilter, Vec<TagAssignmentId>, &str)> = vec![
        (f(), vec![a1.id, a2.id, a3.id, a4.id], "all"),
        (
            TagAssignmentFilter {
                tag_id: Some(g1.id),
                ..f()
            },
            vec![a1.id, a2.id],
            "tag",
        ),
        (
            TagAssignmentFilter {
                target: Some(eref(&c)),
                ..f()
            },
            vec![a1.id, a3.id],
            "target",
        ),
        (
            TagAssignmentFilter {
                target_kind: Some(EntityKind::Customer),
                ..f()
            },
            vec![a1.id, a3.id],
            "kind customer",
        ),
        (
            TagAssignmentFilter {
                target_kind: Some(EntityKind::Lead),
                ..f()
            },
            vec![a4.id],
            "kind lead",
        ),
        (
            TagAssignmentFilter {
                target_kind: Some(EntityKind::Deal),
                ..f()
            },
            vec![],
            "kind deal",
        ),
        (
            TagAssignmentFilter {
                tag_id: Some(g2.id),
                target: Some(eref(&c)),
                ..f()
            },
            vec![a3.id],
            "tag + target",
        ),
        (
            TagAssignmentFilter {
                tag_id: Some(g1.id),
                target_kind: Some(EntityKind::Contact),
                ..f()
            },
            vec![a2.id],
            "tag + kind",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<TagAssignment>(&store, t, filter, &want, what).await;
    }
}

/// Follow-up filters: links, status, assignee, origin, due before (strict).
pub async fn follow_up_filters(store: Store) {
    let t = TenantId::new();
    let u = UserId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let l = insert(&store, t, lead(t, "L", "")).await;
    let mut f1 = follow_up(t, Links::customer(c.id), "f1", at(100));
    f1.assignee = Some(u);
    let mut f2 = follow_up(t, Links::lead(l.id), "f2", at(200));
    f2.origin = FollowUpOrigin::Rule;
    f2.status = FollowUpStatus::Completed;
    f2.completed_at = Some(at(150));
    let mut f3 = follow_up(t, Links::customer(c.id), "f3", at(300));
    f3.origin = FollowUpOrigin::Suggestion;
    f3.status = FollowUpStatus::Expired;
    insert_all(&store, t, vec![f1.clone(), f2.clone(), f3.clone()]).await;

    let f = FollowUpFilter::default;
    let lf = LinkFilter::default;
    let cases: Vec<(FollowUpFilter, Vec<FollowUpId>, &str)> = vec![
        (f(), vec![f1.id, f2.id, f3.id], "all"),
        (
            FollowUpFilter {
                links: LinkFilter {
                    customer_id: Some(c.id),
                    ..lf()
                },
                ..f()
            },
            vec![f1.id, f3.id],
            "customer",
        ),
        (
            FollowUpFilter {
                links: LinkFilter {
                    lead_id: Some(l.id),
                    ..lf()
                },
                ..f()
            },
            vec![f2.id],
            "lead",
        ),
        (
            FollowUpFilter {
                status: Some(FollowUpStatus::Pending),
                ..f()
            },
            vec![f1.id],
            "pending",
        ),
        (
            FollowUpFilter {
                status: Some(FollowUpStatus::Expired),
                ..f()
            },
            vec![f3.id],
            "expired",
        ),
        (
            FollowUpFilter {
                status: Some(FollowUpStatus::Cancelled),
                ..f()
            },
            vec![],
            "cancelled",
        ),
        (
            FollowUpFilter {
                assignee: Some(u),
                ..f()
            },
            vec![f1.id],
            "assignee",
        ),
        (
            FollowUpFilter {
                origin: Some(FollowUpOrigin::Manual),
                ..f()
            },
            vec![f1.id],
            "manual",
        ),
        (
            FollowUpFilter {
                origin: Some(FollowUpOrigin::Rule),
                ..f()
            },
            vec![f2.id],
            "rule",
        ),
        (
            FollowUpFilter {
                due_before: Some(at(200)),
                ..f()
            },
            vec![f1.id],
            "due before strict",
        ),
        (
            FollowUpFilter {
                due_before: Some(at(301)),
                ..f()
            },
            vec![f1.id, f2.id, f3.id],
            "due before all",
        ),
        (
            FollowUpFilter {
                links: LinkFilter {
                    customer_id: Some(c.id),
                    ..lf()
                },
                due_before: Some(at(301)),
                origin: Some(FollowUpOrigin::Suggestion),
                ..f()
            },
            vec![f3.id],
            "combined",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<FollowUp>(&store, t, filter, &want, what).await;
    }
}

/// Owned-item filters: customer, kind, serial number (any of the item's serials).
pub async fn owned_item_filters(store: Store) {
    let t = TenantId::new();
    let a = insert(&store, t, company(t, "A")).await;
    let b = insert(&store, t, company(t, "B")).await;
    let mut o1 = owned_item(t, a.id, "Boiler");
    o1.quantity = 3;
    o1.serial_numbers = vec!["SN-1".into(), "SN-2".into()];
    let mut o2 = OwnedItem::new(t, a.id, OwnedItemKind::Product, "Licence", t0()).expect("item");
    o2.serial_numbers = vec!["SN-3".into()];
    let o3 = OwnedItem::new(t, b.id, OwnedItemKind::Other, "Thing", t0()).expect("item");
    insert_all(&store, t, vec![o1.clone(), o2.clone(), o3.clone()]).await;

    let f = OwnedItemFilter::default;
    let cases: Vec<(OwnedItemFilter, Vec<OwnedItemId>, &str)> = vec![
        (f(), vec![o1.id, o2.id, o3.id], "all"),
        (
            OwnedItemFilter {
                customer_id: Some(a.id),
                ..f()
            },
            vec![o1.id, o2.id],
            "customer",
        ),
        (
            OwnedItemFilter {
                kind: Some(OwnedItemKind::Device),
                ..f()
            },
            vec![o1.id],
            "device",
        ),
        (
            OwnedItemFilter {
                kind: Some(OwnedItemKind::Other),
                ..f()
            },
            vec![o3.id],
            "other",
        ),
        (
            OwnedItemFilter {
                serial_number: Some("SN-2".into()),
                ..f()
            },
            vec![o1.id],
            "second serial",
        ),
        (
            OwnedItemFilter {
                serial_number: Some("SN-3".into()),
                ..f()
            },
            vec![o2.id],
            "serial",
        ),
        (
            OwnedItemFilter {
                serial_number: Some("SN".into()),
                ..f()
            },
            vec![],
            "partial serial",
        ),
        (
            OwnedItemFilter {
                customer_id: Some(b.id),
                serial_number: Some("SN-1".into()),
                ..f()
            },
            vec![],
            "combined",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<OwnedItem>(&store, t, filter, &want, what).await;
    }
}

/// Attachment filters: links and MIME type.
pub async fn attachment_filters(store: Store) {
    let t = TenantId::new();
    let c = insert(&store, t, company(t, "C")).await;
    let p = insert(&store, t, pipeline(t, "P")).await;
    let d = insert(&store, t, deal(t, &p, "D", 1)).await;
    let a1 = attachment(t, Links::customer(c.id), "a.pdf", 1);
    let mut a2 = attachment(t, Links::deal(d.id), "b.png", 2);
    a2.mime_type = "image/png".into();
    let a3 = attachment(
        t,
        Links {
            customer_id: Some(c.id),
            deal_id: Some(d.id),
            ..Links::default()
        },
        "c.pdf",
        3,
    );
    insert_all(&store, t, vec![a1.clone(), a2.clone(), a3.clone()]).await;

    let f = AttachmentFilter::default;
    let lf = LinkFilter::default;
    let cases: Vec<(AttachmentFilter, Vec<AttachmentId>, &str)> = vec![
        (f(), vec![a1.id, a2.id, a3.id], "all"),
        (
            AttachmentFilter {
                links: LinkFilter {
                    customer_id: Some(c.id),
                    ..lf()
                },
                ..f()
            },
            vec![a1.id, a3.id],
            "customer",
        ),
        (
            AttachmentFilter {
                links: LinkFilter {
                    deal_id: Some(d.id),
                    ..lf()
                },
                ..f()
            },
            vec![a2.id, a3.id],
            "deal",
        ),
        (
            AttachmentFilter {
                mime_type: Some("image/png".into()),
                ..f()
            },
            vec![a2.id],
            "mime",
        ),
        (
            AttachmentFilter {
                links: LinkFilter {
                    deal_id: Some(d.id),
                    ..lf()
                },
                mime_type: Some("application/pdf".into()),
            },
            vec![a3.id],
            "deal + mime",
        ),
    ];
    for (filter, want, what) in cases {
        assert_selects::<Attachment>(&store, t, filter, &want, what).await;
    }
}
