//! Hostile and edge input, answered the same way by every store: search text of any size
//! (up to 1 MB) gives a result or a `Validation` error on `text`, never a crash or a storage
//! error; NUL characters and times outside the kept years are `Validation` errors naming
//! the field, on every write path and in filters, cursors and events; phone searches find
//! numbers however their prefix is typed.

use chrono::{TimeZone, Utc};
use crm_core::store::{ChangeSet, Cursor, EntityRef, NewEvent, SortValue};
use crm_core::*;
use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

use crate::support::*;

/// Panics unless `r` is `Ok` or a `Validation` error on `field`.
#[track_caller]
fn ok_or_validation<T: std::fmt::Debug>(r: Result<T>, field: &str, what: &str) {
    match r {
        Ok(_) => {}
        Err(CrmError::Validation { field: f, .. }) if f == field => {}
        other => {
            panic!("{what}: expected a result or a validation error on {field}, got {other:?}")
        }
    }
}

/// Arbitrary search text from a few bytes to 1 MB: a random unit (any Unicode, operators of
/// FTS5 and LIKE, quotes, NULs, digits) repeated with a random separator.
fn hostile_texts(cases: u32) -> Vec<String> {
    let unit = proptest::prop_oneof![
        "\\PC{1,12}",
        "[a-zA-Z0-9]{1,8}",
        proptest::sample::select(vec![
            "\"", "*", "NEAR", "AND", "OR", "NOT", "-", "^", "%", "_", "\\", "'", "(", ")", "\0",
            "ﷺ", "e\u{301}", "🙂", "+44", "00", "0", "NEAR(", "{", "}", ":", ";--",
        ])
        .prop_map(str::to_string),
    ];
    let sep = proptest::sample::select(vec![" ", "", "\t", "  ", " \0 ", "\n"]);
    let strategy = (unit, sep, 1usize..=1_048_576).prop_map(|(unit, sep, bytes)| {
        let step = (unit.len() + sep.len()).max(1);
        let n = (bytes / step).max(1);
        let mut s = String::with_capacity(n * step);
        for _ in 0..n {
            s.push_str(&unit);
            s.push_str(sep);
        }
        s
    });
    let mut runner = TestRunner::new_with_rng(
        Config::default(),
        TestRng::deterministic_rng(RngAlgorithm::ChaCha),
    );
    (0..cases)
        .map(|_| {
            strategy
                .new_tree(&mut runner)
                .map(|t| t.current())
                .unwrap_or_default()
        })
        .collect()
}

/// Any search text up to 1 MB, on list and count, gives rows or a `Validation` error on
/// `text`; the largest bounded query works; long queries of many words (which once
/// overflowed the stack) are refused cleanly.
pub async fn search_text_of_any_size_is_answered_or_refused(store: Store) {
    let t = TenantId::new();
    insert(&store, t, company(t, "Müller Bäckerei GmbH")).await;
    let filter = |text: String| CustomerFilter {
        text: Some(text),
        ..CustomerFilter::default()
    };
    let mut texts = hostile_texts(48);
    for words in [600usize, 1_000, 5_000, 100_000] {
        texts.push(vec!["word"; words].join(" "));
    }
    texts.push("\0".into());
    texts.push("a\0b".into());
    texts.push("\"".repeat(300));
    for text in texts {
        let what = format!("search of {} bytes", text.len());
        let q = ListQuery::<Customer>::filter(filter(text.clone()));
        ok_or_validation(list_page(&store, t, &q).await, "text", &what);
        ok_or_validation(
            <dyn crm_core::store::CrmStore as crm_core::store::EntityRead<Customer>>::count(
                &*store,
                t,
                &filter(text),
            )
            .await,
            "text",
            &what,
        );
    }
    // The largest query within the bounds is answered, not refused.
    let widest: Vec<String> = (0..crm_core::search::MAX_TERMS)
        .map(|i| {
            format!(
                "{i:02}{}",
                "x".repeat(crm_core::search::MAX_QUERY_CHARS / crm_core::search::MAX_TERMS - 3)
            )
        })
        .collect();
    let widest = widest.join(" ");
    assert!(widest.chars().count() <= crm_core::search::MAX_QUERY_CHARS);
    let page = list_page(&store, t, &ListQuery::<Customer>::filter(filter(widest)))
        .await
        .expect("a query at the bounds is answered");
    assert!(page.items.is_empty());
    let long_term = "b".repeat(crm_core::search::MAX_TERM_CHARS);
    list_page(&store, t, &ListQuery::<Customer>::filter(filter(long_term)))
        .await
        .expect("a term at the bound is answered");
    // Exactly past the bounds: a validation error on `text`.
    for text in [
        "ab ".repeat(crm_core::search::MAX_TERMS + 1),
        "c".repeat(crm_core::search::MAX_TERM_CHARS + 1),
        "d".repeat(crm_core::search::MAX_QUERY_CHARS + 1),
    ] {
        assert_validation(
            list_page(&store, t, &ListQuery::<Customer>::filter(filter(text))).await,
            "text",
        );
    }
}

/// A phone number is found however its prefix is typed: `+44`, `0044`, `+44 (0)` or the
/// national `0`, against a number stored in E.164.
pub async fn phone_search_reads_international_and_national_prefixes(store: Store) {
    let t = TenantId::new();
    let c = company(t, "Baker Street Ltd");
    let p = phone_point(
        t,
        c.id,
        None,
        ContactPointKind::Phone,
        "+442079460958",
        None,
    );
    assert_eq!(p.value, "+442079460958");
    let other = company(t, "Elsewhere GmbH");
    let q = phone_point(
        t,
        other.id,
        None,
        ContactPointKind::Phone,
        "+49 30 1234567",
        None,
    );
    let cs = ChangeSet::new()
        .insert(c.clone())
        .insert(p)
        .insert(other)
        .insert(q);
    apply_ok(&store, t, cs, "customers with phones").await;
    for text in [
        "0044 20 7946 0958",
        "+44 20 7946 0958",
        "+44 (0) 20 7946 0958",
        "0044-20-7946-0958",
        "020 7946 0958",
        "02079460958",
        "+442079460958",
        "baker 020 7946 0958",
    ] {
        let f = CustomerFilter {
            text: Some(text.into()),
            ..CustomerFilter::default()
        };
        assert_selects::<Customer>(&store, t, f, &[c.id], &format!("text {text:?}")).await;
    }
}

/// NUL characters and times outside the kept years are `Validation` errors naming the
/// field, the same in every store, and nothing is written: in records (top-level fields,
/// custom fields, nested values), in events, in filters, in search text and in cursors.
pub async fn nul_and_out_of_range_times_are_validation(store: Store) {
    let t = TenantId::new();
    let at_year = |y: i32| {
        Utc.with_ymd_and_hms(y, 6, 1, 0, 0, 0)
            .single()
            .expect("valid time")
    };
    let mut c = company(t, "Acme");
    c.name = "Ac\0me".into();
    assert_validation(
        store.apply(t, ChangeSet::new().insert(c.clone())).await,
        "name",
    );
    let mut c = company(t, "Acme");
    c.custom_fields
        .insert("colour".into(), serde_json::json!({"shade": "re\0d"}));
    assert_validation(
        store.apply(t, ChangeSet::new().insert(c)).await,
        "custom_fields.colour.shade",
    );
    let mut deep = serde_json::json!("leaf");
    for _ in 0..1_000 {
        deep = serde_json::json!({ "x": deep });
    }
    let mut c = company(t, "Deep");
    c.custom_fields.insert("deep".into(), deep);
    match store.apply(t, ChangeSet::new().insert(c)).await {
        Err(CrmError::Validation { field, .. }) if field.starts_with("custom_fields.deep.x") => {}
        other => panic!("expected a validation error in custom_fields.deep, got {other:?}"),
    }
    for (year, ok) in [
        (1677, false),
        (1678, true),
        (2261, true),
        (2262, false),
        (9999, false),
    ] {
        let mut c = company(t, &format!("Year {year}"));
        c.last_contact_at = Some(at_year(year));
        let r = store.apply(t, ChangeSet::new().insert(c.clone())).await;
        if ok {
            r.unwrap_or_else(|e| panic!("year {year} is kept: {e}"));
        } else {
            assert_validation(r, "last_contact_at");
        }
        let mut c = company(t, &format!("Created {year}"));
        c.created_at = at_year(year);
        c.updated_at = at_year(year);
        let r = store.apply(t, ChangeSet::new().insert(c)).await;
        if ok {
            r.unwrap_or_else(|e| panic!("year {year} is kept: {e}"));
        } else {
            assert_validation(r, "created_at");
        }
    }
    let kept = count::<Customer>(&store, t, &CustomerFilter::default()).await;
    assert_eq!(kept, 4, "only the in-range customers were written");

    // A bad change anywhere in a set writes nothing, whatever comes before it.
    let good = company(t, "Good");
    let mut bad = contact(t, good.id, "Bob", "B");
    bad.job_title = Some("Chief\0Officer".into());
    let r = store
        .apply(t, ChangeSet::new().insert(good.clone()).insert(bad))
        .await;
    assert_validation(r, "job_title");
    assert_eq!(get::<Customer>(&store, t, good.id).await, None);

    // Updates too.
    let stored = insert(&store, t, company(t, "Stored")).await;
    let mut edit = stored.clone();
    edit.industry = Some("Ba\0king".into());
    assert_validation(
        store.apply(t, ChangeSet::new().update(edit)).await,
        "industry",
    );
    assert_eq!(
        get::<Customer>(&store, t, stored.id).await.as_ref(),
        Some(&stored)
    );

    // Nested values: a stage name of a pipeline.
    let mut p = pipeline(t, "Sales");
    p.stages[1].name = "Op\0en".into();
    assert_validation(
        store.apply(t, ChangeSet::new().insert(p)).await,
        "stages[1].name",
    );

    // Events.
    let mut cs = ChangeSet::new();
    cs.push_emit(NewEvent::new(
        EntityRef::new(crm_core::store::EntityKind::Customer, stored.id.into()),
        t0(),
        DomainEvent::DealLost {
            deal: DealId::new(),
            reason: "pri\0ce".into(),
            competitor: None,
        },
    ));
    assert_validation(store.apply(t, cs).await, "event.event.reason");
    let mut cs = ChangeSet::new();
    cs.push_emit(NewEvent::new(
        EntityRef::new(crm_core::store::EntityKind::Customer, stored.id.into()),
        at_year(3000),
        DomainEvent::ActivityCompleted {
            activity: ActivityId::new(),
        },
    ));
    assert_validation(store.apply(t, cs).await, "event.at");
    assert!(store
        .events_after(t, 0, 10)
        .await
        .expect("events")
        .is_empty());

    // Filters, search text and cursors.
    let nul_filter = ContactPointFilter {
        value: Some("a\0@b.example".into()),
        ..ContactPointFilter::default()
    };
    assert_validation(
        list_page(
            &store,
            t,
            &ListQuery::<ContactPoint>::filter(nul_filter.clone()),
        )
        .await,
        "value",
    );
    assert_validation(
        <dyn crm_core::store::CrmStore as crm_core::store::EntityRead<ContactPoint>>::count(
            &*store,
            t,
            &nul_filter,
        )
        .await,
        "value",
    );
    let tag_filter = TagFilter {
        name: Some("v\0ip".into()),
    };
    assert_validation(
        list_page(&store, t, &ListQuery::<Tag>::filter(tag_filter)).await,
        "name",
    );
    let text = CustomerFilter {
        text: Some("\0".into()),
        ..CustomerFilter::default()
    };
    assert_validation(
        list_page(&store, t, &ListQuery::<Customer>::filter(text)).await,
        "text",
    );
    let first = ListQuery::<Customer>::new()
        .sorted(CustomerSort::Name, Direction::Asc)
        .limit(1);
    let page = list_page(&store, t, &first).await.expect("first page");
    let mut cursor: Cursor = page.next.expect("more than one customer");
    cursor.value = SortValue::Text("ac\0me".into());
    assert_validation(
        list_page(&store, t, &first.clone().after(Some(cursor.clone()))).await,
        "cursor",
    );
    let by_created = ListQuery::<Customer>::new().limit(1);
    let page = list_page(&store, t, &by_created).await.expect("first page");
    let mut cursor = page.next.expect("more than one customer");
    cursor.value = SortValue::Time(at_year(2500));
    assert_validation(
        list_page(&store, t, &by_created.clone().after(Some(cursor))).await,
        "cursor",
    );
}

/// The service gives the same answers as the stores for the same input.
pub async fn service_refuses_unstorable_values(store: Store) {
    let crm = Crm::from_arc(store);
    let a = Actor::new(TenantId::new(), UserId::new());
    let mut c = Customer::company(a.tenant, "Acme", t0()).expect("valid");
    c.website = None;
    c.source = Some("fa\0ir".into());
    assert_validation(crm.create(&a, c, t0()).await, "source");
    let c = crm
        .create(
            &a,
            Customer::company(a.tenant, "Acme", t0()).expect("valid"),
            t0(),
        )
        .await
        .expect("created");
    let mut later = c.clone();
    later.first_contact_at = Some(
        Utc.with_ymd_and_hms(1500, 1, 1, 0, 0, 0)
            .single()
            .expect("valid time"),
    );
    assert_validation(crm.update(&a, later, t0()).await, "first_contact_at");
    let found = crm
        .list::<Customer>(
            &a,
            ListQuery::filter(CustomerFilter {
                text: Some("acme \0".into()),
                ..CustomerFilter::default()
            }),
        )
        .await;
    assert_validation(found, "text");
    assert_eq!(crm.customers().get(&a, c.id).await.expect("read"), c);
}

/// Caller-supplied numbers at their extremes never panic: versions of `u64::MAX` (on update,
/// delete and direct change sets) are conflicts or validation errors, sequence numbers and
/// limits at their maxima are answered or refused, and clocks at the ends of time are
/// handled.
pub async fn extreme_numbers_never_panic(store: Store) {
    let crm = Crm::from_arc(store.clone());
    let a = Actor::new(TenantId::new(), UserId::new());
    let t = a.tenant;
    let c = crm
        .customers()
        .create(&a, Customer::company(t, "Acme", t0()).expect("valid"), t0())
        .await
        .expect("created");
    for version in [
        u64::MAX,
        u64::MAX - 1,
        i64::MAX as u64,
        i64::MAX as u64 + 1,
        0,
    ] {
        let mut stale = c.clone();
        stale.version = version;
        assert_conflict(crm.update(&a, stale.clone(), at(1)).await);
        // Directly, a record carrying a version beyond what any store keeps is refused
        // before the version check; any other stale version is a conflict.
        let r = store
            .apply(
                t,
                ChangeSet {
                    changes: vec![crm_core::store::Change::Update {
                        expected_version: version,
                        record: stale.clone().into_record(),
                    }],
                },
            )
            .await;
        if version > crm_core::store::MAX_VERSION {
            assert_validation(r, "version");
        } else {
            assert_conflict(r);
        }
        assert_conflict(
            crm.delete::<Customer>(&a, c.id, Some(version), at(100_000))
                .await,
        );
        assert_conflict(
            store
                .apply(t, ChangeSet::new().delete::<Customer>(c.id, Some(version)))
                .await,
        );
    }
    let mut huge = company(t, "Huge");
    huge.version = u64::MAX;
    assert_validation(
        store.apply(t, ChangeSet::new().insert(huge)).await,
        "version",
    );
    assert_eq!(crm.customers().get(&a, c.id).await.expect("unchanged"), c);

    assert!(crm
        .events()
        .drain(&a, u64::MAX, 1000)
        .await
        .expect("events")
        .is_empty());
    assert_validation(crm.events().drain(&a, 0, u32::MAX).await, "limit");
    assert_validation(
        crm.customers().timeline(&a, c.id, u32::MAX, None).await,
        "limit",
    );
    assert_validation(
        list_page(&store, t, &ListQuery::<Customer>::new().limit(u32::MAX)).await,
        "limit",
    );

    // Clocks at the ends of time: nothing to announce, nothing to expire.
    for now in [
        chrono::DateTime::<Utc>::MAX_UTC,
        chrono::DateTime::<Utc>::MIN_UTC,
    ] {
        assert!(crm
            .follow_ups()
            .notify_due(&a, now)
            .await
            .expect("no follow-ups")
            .is_empty());
        assert_eq!(
            crm.follow_ups()
                .expire_overdue(&a, now)
                .await
                .expect("none"),
            0
        );
        assert!(crm
            .deals()
            .rotting(&a, None, now)
            .await
            .map(|v| v.is_empty())
            .unwrap_or(true));
    }
    // A merge is bounded too.
    let many: Vec<CustomerId> = (0..=MAX_MERGE_RECORDS).map(|_| CustomerId::new()).collect();
    assert_validation(
        crm.merges()
            .merge(&a, &many, &MergeOptions::default(), at(5))
            .await,
        "ids",
    );
    // A clock out of the kept years cannot stamp a record.
    assert_validation(
        crm.customers()
            .create(
                &a,
                Customer::company(t, "Later", t0()).expect("valid"),
                chrono::DateTime::<Utc>::MAX_UTC,
            )
            .await,
        "updated_at",
    );
}

/// An e-mail typed with a display name is stored as the bare address (the name kept
/// beside it), so it matches the same address typed plainly: in contact-point lookups,
/// lead linking and duplicate scans, in a small and in a larger tenant. A phone number
/// without `+` is read in the customer's own country (its location), not the service's
/// default region.
pub async fn typed_contact_values_are_normalised_and_matched(store: Store) {
    for others in [1usize, 120] {
        let crm = Crm::from_arc(store.clone()).with_config(CrmConfig {
            default_phone_region: Some("DE".into()),
            ..CrmConfig::default()
        });
        let a = Actor::new(TenantId::new(), UserId::new());
        let t = a.tenant;
        let plain = crm
            .customers()
            .create(&a, person(t, "Ines", "Ortega"), at(1))
            .await
            .expect("customer");
        crm.contacts()
            .add_point(
                &a,
                plain.id,
                None,
                ContactPointKind::Email,
                "ines.ortega@example.com",
                at(1),
            )
            .await
            .expect("plain e-mail");
        let typed = crm
            .customers()
            .create(&a, person(t, "Ines", "Ortega"), at(2))
            .await
            .expect("customer");
        let p = crm
            .contacts()
            .add_point(
                &a,
                typed.id,
                None,
                ContactPointKind::Email,
                "\"Ines Ortega\" <Ines.Ortega@Example.com>",
                at(2),
            )
            .await
            .expect("typed e-mail");
        assert_eq!(p.value, "ines.ortega@example.com");
        assert_eq!(p.display_name.as_deref(), Some("Ines Ortega"));
        assert_eq!(p.raw_value, "\"Ines Ortega\" <Ines.Ortega@Example.com>");
        for i in 0..others {
            let c = crm
                .customers()
                .create(&a, person(t, &format!("Other{i}"), "Person"), at(3))
                .await
                .expect("other");
            crm.contacts()
                .add_point(
                    &a,
                    c.id,
                    None,
                    ContactPointKind::Email,
                    &format!("other{i}@elsewhere{}.example", i % 7),
                    at(3),
                )
                .await
                .expect("other e-mail");
        }
        let same = crm
            .list_all::<ContactPoint>(
                &a,
                ContactPointFilter {
                    kind: Some(ContactPointKind::Email),
                    value: Some("ines.ortega@example.com".into()),
                    ..ContactPointFilter::default()
                },
            )
            .await
            .expect("lookup");
        assert_eq!(same.len(), 2, "both addresses are one value");
        let report = crm
            .duplicates()
            .scan(&a, &ScanOptions::default(), at(10))
            .await
            .expect("scan");
        let pair = |x: CustomerId, y: CustomerId| {
            let (x, y) = (uuid::Uuid::from(x), uuid::Uuid::from(y));
            report
                .pairs
                .iter()
                .any(|p| (p.a.id, p.b.id) == (x, y) || (p.a.id, p.b.id) == (y, x))
        };
        assert!(
            pair(plain.id, typed.id),
            "{others} others: the typed address pairs with the plain one: {:?}",
            report.pairs
        );
        // A lead typed the same way takes the name from the address.
        let lead = Lead::person(
            t,
            "",
            "",
            Some("\"Ines Ortega\" <INES.ORTEGA@example.com>"),
            at(4),
        )
        .expect("lead");
        assert_eq!(
            lead.email.as_ref().map(Email::as_str),
            Some("ines.ortega@example.com")
        );
        assert_eq!(
            (lead.first_name.as_deref(), lead.last_name.as_deref()),
            (Some("Ines"), Some("Ortega"))
        );
        let lead = crm.create(&a, lead, at(4)).await.expect("lead stored");
        let found = crm
            .leads()
            .find_customer(&a, &lead)
            .await
            .expect("lookup")
            .expect("an existing customer has the address");
        assert!(found.id == plain.id || found.id == typed.id);
    }

    // Phones: the customer's own country, then the service default.
    let crm = Crm::from_arc(store).with_config(CrmConfig {
        default_phone_region: Some("DE".into()),
        ..CrmConfig::default()
    });
    let a = Actor::new(TenantId::new(), UserId::new());
    let t = a.tenant;
    let london = crm
        .customers()
        .create(&a, company(t, "Baker Street Ltd"), at(1))
        .await
        .expect("customer");
    let mut office = Location::new(
        t,
        london.id,
        AddressParts {
            line1: Some("221B Baker Street"),
            postal_code: Some("NW1 6XE"),
            city: Some("London"),
            country: Some("GB"),
        },
        at(1),
    )
    .expect("location");
    office.primary = true;
    crm.create(&a, office, at(1)).await.expect("location");
    let holmes = crm
        .create(&a, contact(t, london.id, "Sherlock", "Holmes"), at(1))
        .await
        .expect("contact");
    let p = crm
        .contacts()
        .add_point(
            &a,
            london.id,
            None,
            ContactPointKind::Phone,
            "020 7946 0958",
            at(2),
        )
        .await
        .expect("phone");
    assert_eq!(p.value, "+442079460958", "read in the customer's country");
    let p = crm
        .contacts()
        .add_point(
            &a,
            london.id,
            Some(holmes.id),
            ContactPointKind::Mobile,
            "07911 123456",
            at(2),
        )
        .await
        .expect("mobile");
    assert_eq!(
        p.value, "+447911123456",
        "a contact's number in its customer's country"
    );
    let berlin = crm
        .customers()
        .create(&a, company(t, "Unlocated GmbH"), at(1))
        .await
        .expect("customer");
    let p = crm
        .contacts()
        .add_point(
            &a,
            berlin.id,
            None,
            ContactPointKind::Phone,
            "030 1234567",
            at(2),
        )
        .await
        .expect("phone");
    assert_eq!(p.value, "+49301234567", "no location: the service default");
    let found = crm
        .list::<Customer>(
            &a,
            ListQuery::filter(CustomerFilter {
                text: Some("0044 20 7946 0958".into()),
                ..CustomerFilter::default()
            }),
        )
        .await
        .expect("search");
    assert_eq!(
        found.items.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![london.id]
    );
}
