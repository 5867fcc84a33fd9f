//! Merging duplicate customers and undoing merges through the service, in every store.

use std::collections::BTreeMap;

use crm_core::store::{CrmStore, Direction, DomainEvent, EntityRef, Record};
use crm_core::*;

use crate::support::*;

fn setup(store: Store) -> (Crm<dyn CrmStore>, Actor) {
    (
        Crm::from_arc(store),
        Actor::new(TenantId::new(), UserId::new()),
    )
}

/// Every row of the tenant, by reference (the merge records themselves excluded).
pub async fn snapshot(store: &Store, tenant: TenantId) -> BTreeMap<EntityRef, Record> {
    let mut out = BTreeMap::new();
    macro_rules! all {
        ([] $($t:ident => $name:ident),*) => {$(
            // A merge writes its record and an unmerge changes it, and both leave audit
            // entries: not part of the rows a round trip restores.
            if ![EntityKind::MergeRecord, EntityKind::AuditEntry].contains(&EntityKind::$t) {
                for e in list_all::<$t>(
                    store,
                    tenant,
                    Default::default(),
                    Default::default(),
                    Direction::Asc,
                    500,
                )
                .await
                {
                    let r = e.into_record();
                    out.insert(r.entity_ref(), r);
                }
            }
        )*};
    }
    crm_core::for_each_entity!(all);
    out
}

/// The rows with their versions zeroed (an unmerge restores every row's content and gives
/// it a new version, so optimistic concurrency keeps working).
fn without_versions(rows: &BTreeMap<EntityRef, Record>) -> BTreeMap<EntityRef, Record> {
    rows.iter()
        .map(|(k, r)| {
            let mut r = r.clone();
            r.set_version(0);
            (*k, r)
        })
        .collect()
}

/// A small deterministic generator (xorshift) for the randomised scenario.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Related rows of one customer, built at random from a small vocabulary so that equal
/// e-mail addresses and tags occur across customers.
fn related(
    rng: &mut Rng,
    tenant: TenantId,
    customer: &Customer,
    pipeline: &Pipeline,
    tags: &[Tag],
    author: UserId,
) -> ChangeSet {
    let mut cs = ChangeSet::new();
    let cid = customer.id;
    let mut primary_contact = None;
    for i in 0..rng.below(3) {
        let mut c = contact(
            tenant,
            cid,
            &format!("First{i}"),
            &format!("Last{}", rng.below(5)),
        );
        c.is_primary = i == 0 && rng.chance(70);
        if c.is_primary {
            primary_contact = Some(c.id);
        }
        if rng.chance(50) {
            let mut p = email_point(
                tenant,
                cid,
                Some(c.id),
                &format!("c{}@contact.example", rng.below(4)),
            );
            p.primary = rng.chance(50);
            cs = cs.insert(c).insert(p);
        } else {
            cs = cs.insert(c);
        }
    }
    let mut primary_email = false;
    for _ in 0..rng.below(4) {
        let mut p = email_point(
            tenant,
            cid,
            None,
            &format!("shared{}@dup.example", rng.below(3)),
        );
        if !primary_email && rng.chance(60) {
            p.primary = true;
            primary_email = true;
        }
        // Equal values within one customer are allowed too (collapsing only merges across).
        cs = cs.insert(p);
    }
    if rng.chance(60) {
        let mut l = location(tenant, cid, &format!("City{}", rng.below(3)));
        l.primary = rng.chance(60);
        cs = cs.insert(l);
    }
    if rng.chance(60) {
        let mut c = Consent::new(tenant, cid, None, t0());
        c.do_not_email = rng.chance(40);
        c.do_not_call = rng.chance(40);
        cs = cs.insert(c);
    }
    if let Some(pc) = primary_contact {
        if rng.chance(40) {
            let mut c = Consent::new(tenant, cid, Some(pc), t0());
            c.do_not_sms = true;
            cs = cs.insert(c);
        }
    }
    if rng.chance(50) {
        let mut d = deal(tenant, pipeline, &format!("Deal {}", rng.below(100)), 1_000);
        d.customer_id = Some(cid);
        let sc = stage_change(&d, at(5));
        cs = cs.insert(d).insert(sc);
    }
    let links = Links::customer(cid);
    if rng.chance(50) {
        cs = cs.insert(activity(tenant, links, "Call"));
    }
    if rng.chance(50) {
        cs = cs.insert(interaction(tenant, links, at(rng.below(1000) as i64)));
    }
    if rng.chance(60) {
        let mut n = note(tenant, author, links, "Note");
        n.private = rng.chance(30);
        cs = cs.insert(n);
    }
    if rng.chance(40) {
        cs = cs.insert(follow_up(tenant, links, "Chase", at(3600)));
    }
    if rng.chance(40) {
        cs = cs.insert(attachment(tenant, links, "file.pdf", 10));
    }
    if rng.chance(40) {
        cs = cs.insert(owned_item(tenant, cid, "Device"));
    }
    for t in tags {
        if rng.chance(50) {
            cs = cs.insert(tag_assignment(tenant, t.id, eref(customer)));
        }
    }
    if rng.chance(30) {
        let mut l = lead(tenant, "Lead", "Converted");
        l.status = LeadStatus::Converted;
        l.converted_customer_id = Some(cid);
        l.converted_at = Some(t0());
        cs = cs.insert(l);
    }
    cs
}

/// Merge then unmerge is the identity on every row, over randomly built customers; a merge
/// never loses a related row (each is re-pointed to the survivor or collapsed into an equal
/// row of the survivor) and leaves one primary per slot.
pub async fn merge_then_unmerge_is_identity(store: Store) {
    for seed in 1..=12u64 {
        merge_unmerge_case(store.clone(), seed).await;
    }
}

/// One case of [`merge_then_unmerge_is_identity`]: customers and related rows built from
/// `seed`, merged, checked, unmerged and compared (for property tests over seeds).
pub async fn merge_unmerge_case(store: Store, seed: u64) {
    {
        let (crm, a) = setup(store.clone());
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let p = insert(&store, a.tenant, pipeline(a.tenant, "Sales")).await;
        let tags = vec![
            insert(&store, a.tenant, tag(a.tenant, "vip")).await,
            insert(&store, a.tenant, tag(a.tenant, "newsletter")).await,
        ];
        let n = 2 + rng.below(3) as usize;
        let mut customers = Vec::new();
        for i in 0..n {
            let mut c = person(a.tenant, "Ada", &format!("Lovelace{i}"));
            if rng.chance(50) {
                c.industry = Some(format!("Industry{}", rng.below(3)));
            }
            if rng.chance(50) {
                c.last_contact_at = Some(at(rng.below(10_000) as i64));
            }
            let cs = ChangeSet::new().insert(c.clone());
            let cs = cs.extend(related(&mut rng, a.tenant, &c, &p, &tags, a.user));
            apply_ok(&store, a.tenant, cs, "seed customer").await;
            customers.push(c);
        }
        // A bystander that must not be touched.
        let other = insert(&store, a.tenant, company(a.tenant, "Bystander")).await;
        apply_ok(
            &store,
            a.tenant,
            related(&mut rng, a.tenant, &other, &p, &tags, a.user),
            "seed bystander",
        )
        .await;

        let before = snapshot(&store, a.tenant).await;
        let ids: Vec<CustomerId> = customers.iter().map(|c| c.id).collect();
        let rule = match seed % 4 {
            0 => SurvivorRule::Oldest,
            1 => SurvivorRule::MostComplete,
            2 => SurvivorRule::MostRecentActivity,
            _ => SurvivorRule::Given(ids[ids.len() - 1]),
        };
        let options = MergeOptions {
            survivor: rule,
            ..Default::default()
        };
        let out = crm
            .merges()
            .merge(&a, &ids, &options, at(20_000))
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: merge failed: {e}"));
        let sid = out.survivor.id;
        let after = snapshot(&store, a.tenant).await;

        // The merged customers are gone; nothing else is.
        for c in &customers {
            assert_eq!(after.contains_key(&eref(c)), c.id == sid, "seed {seed}");
        }
        for (r, row) in &before {
            if r.kind == EntityKind::Customer {
                continue;
            }
            match after.get(r) {
                Some(now) => {
                    // Rows of merged customers now belong to the survivor.
                    if owner(row).is_some_and(|o| ids.contains(&o)) {
                        assert_eq!(owner(now), Some(sid), "seed {seed}: {r:?} not re-pointed");
                    } else {
                        assert_eq!(owner(now), owner(row), "seed {seed}: {r:?} moved");
                    }
                }
                None => {
                    // Collapsed into an equal row of the survivor.
                    let equal = after.values().any(|x| {
                        x.entity_ref() != *r && owner(x) == Some(sid) && same_content(x, row)
                    });
                    assert!(equal, "seed {seed}: {r:?} lost by the merge");
                }
            }
        }
        assert_primaries_unique(&after, seed);

        crm.merges()
            .unmerge(&a, out.record.id, at(30_000))
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: unmerge failed: {e}"));
        let restored = snapshot(&store, a.tenant).await;
        assert_eq!(
            without_versions(&restored),
            without_versions(&before),
            "seed {seed}: unmerge did not restore the rows"
        );
        // Versions only go forward.
        for (r, row) in &restored {
            assert!(row.version() >= before[r].version(), "seed {seed}: {r:?}");
        }
        let m: MergeRecord = crm.get(&a, out.record.id).await.expect("merge record");
        assert_eq!(m.undone_at, Some(at(30_000)));
    }
}

/// The customer a related row belongs to.
fn owner(r: &Record) -> Option<CustomerId> {
    match r {
        Record::Contact(c) => Some(c.customer_id),
        Record::ContactPoint(c) => Some(c.customer_id),
        Record::Location(c) => Some(c.customer_id),
        Record::Consent(c) => Some(c.customer_id),
        Record::Lead(c) => c.converted_customer_id,
        Record::Deal(c) => c.customer_id,
        Record::StageChange(c) => c.customer_id,
        Record::Activity(c) => c.links.customer_id,
        Record::Interaction(c) => c.links.customer_id,
        Record::Note(c) => c.links.customer_id,
        Record::FollowUp(c) => c.links.customer_id,
        Record::OwnedItem(c) => Some(c.customer_id),
        Record::Attachment(c) => c.links.customer_id,
        Record::TagAssignment(a) if a.target.kind == EntityKind::Customer => {
            Some(a.target.id.into())
        }
        _ => None,
    }
}

/// Whether two rows carry the same value (the key a merge collapses equal rows on).
fn same_content(a: &Record, b: &Record) -> bool {
    match (a, b) {
        (Record::ContactPoint(x), Record::ContactPoint(y)) => {
            x.kind == y.kind
                && x.contact_id == y.contact_id
                && x.value.to_lowercase() == y.value.to_lowercase()
        }
        (Record::TagAssignment(x), Record::TagAssignment(y)) => x.tag_id == y.tag_id,
        (Record::Consent(x), Record::Consent(y)) => {
            x.contact_id.is_none()
                && y.contact_id.is_none()
                && (x.do_not_email || !y.do_not_email)
                && (x.do_not_call || !y.do_not_call)
                && (x.do_not_sms || !y.do_not_sms)
                && (x.do_not_contact || !y.do_not_contact)
        }
        _ => false,
    }
}

fn assert_primaries_unique(rows: &BTreeMap<EntityRef, Record>, seed: u64) {
    let mut seen = std::collections::HashSet::new();
    for r in rows.values() {
        for k in r.unique_keys() {
            assert!(
                seen.insert((r.kind(), k.clone())),
                "seed {seed}: unique key {k} of {:?} taken twice",
                r.kind()
            );
        }
    }
}

/// Field survivorship: the rules pick the expected values, unknown fields are refused, and
/// a dry run writes nothing.
pub async fn merge_survivorship_rules_and_dry_run(store: Store) {
    let (crm, a) = setup(store.clone());
    let mut old = person(a.tenant, "Ada", "Lovelace");
    old.created_at = at(1);
    old.updated_at = at(1);
    old.industry = Some("Maths".into());
    old.website = Some("https://ada.example".into());
    old.first_contact_at = Some(at(100));
    old.last_contact_at = Some(at(200));
    old.custom_fields
        .insert("vip".into(), serde_json::Value::Bool(true));
    let mut new = person(a.tenant, "Ada", "Lovelace");
    new.created_at = at(50);
    new.updated_at = at(60);
    new.industry = Some("Computing".into());
    new.source = Some("web".into());
    new.website = Some("https://ada-lovelace.example".into());
    new.first_contact_at = Some(at(10));
    new.last_contact_at = Some(at(150));
    new.custom_fields
        .insert("tier".into(), serde_json::Value::from(2));
    new.external_ref = Some("ERP-4711".into());
    let old = insert(&store, a.tenant, old).await;
    let new = insert(&store, a.tenant, new).await;
    let ids = [new.id, old.id];
    let before = snapshot(&store, a.tenant).await;

    let mut options = MergeOptions {
        survivor: SurvivorRule::Oldest,
        ..Default::default()
    };
    options
        .fields
        .insert("industry".into(), FieldRule::MostRecentNonEmpty);
    options.fields.insert("website".into(), FieldRule::Longest);
    options.fields.insert(
        "preferred_language".into(),
        FieldRule::Custom(std::sync::Arc::new(|c: &FieldCandidates<'_>| {
            let tag = if c.values.len() == 2 { "en-GB" } else { "fr" };
            serde_json::Value::String(tag.into())
        })),
    );
    let plan = crm
        .merges()
        .plan(&a, &ids, &options, at(1000))
        .await
        .expect("plan");
    assert!(plan.dry_run);
    assert_eq!(plan.survivor.id, old.id, "oldest survives");
    assert_eq!(plan.merged, vec![new.id]);
    assert_eq!(plan.survivor.industry.as_deref(), Some("Computing"));
    assert_eq!(
        plan.survivor.website.as_deref(),
        Some("https://ada-lovelace.example")
    );
    assert_eq!(plan.survivor.source.as_deref(), Some("web"), "gap filled");
    assert_eq!(plan.survivor.preferred_language.as_deref(), Some("en-GB"));
    assert_eq!(plan.survivor.first_contact_at, Some(at(10)));
    assert_eq!(plan.survivor.last_contact_at, Some(at(200)));
    assert_eq!(plan.survivor.custom_fields.len(), 2, "custom fields united");
    assert!(plan
        .moves
        .iter()
        .any(|m| m.row == eref(&new) && m.action == MoveAction::Removed));
    assert_eq!(
        snapshot(&store, a.tenant).await,
        before,
        "a dry run writes nothing"
    );
    let none = count::<MergeRecord>(&store, a.tenant, &Default::default()).await;
    assert_eq!(none, 0);

    // Identity fields and unknown fields are refused, naming the field.
    let mut bad = MergeOptions::default();
    bad.fields.insert("nickname".into(), FieldRule::Longest);
    assert_validation(
        crm.merges().merge(&a, &ids, &bad, at(1000)).await,
        "fields.nickname",
    );
    let mut bad = MergeOptions::default();
    bad.fields.insert("id".into(), FieldRule::Longest);
    assert_validation(
        crm.merges().merge(&a, &ids, &bad, at(1000)).await,
        "fields.id",
    );
    assert_validation(
        crm.merges().merge(&a, &ids[..1], &options, at(1000)).await,
        "ids",
    );
    assert_validation(
        crm.merges()
            .merge(&a, &[old.id, old.id], &options, at(1000))
            .await,
        "ids",
    );
    let outsider = person(a.tenant, "Not", "Merged");
    assert_validation(
        crm.merges()
            .merge(
                &a,
                &ids,
                &MergeOptions {
                    survivor: SurvivorRule::Given(outsider.id),
                    ..Default::default()
                },
                at(1000),
            )
            .await,
        "survivor",
    );
    assert_eq!(snapshot(&store, a.tenant).await, before);

    let done = crm
        .merges()
        .merge(&a, &ids, &options, at(1000))
        .await
        .expect("merge");
    assert!(!done.dry_run);
    let stored: Customer = crm.get(&a, old.id).await.expect("survivor");
    assert_eq!(stored, done.survivor);
    assert_not_found(crm.get::<Customer>(&a, new.id).await);
    assert_eq!(
        crm.merges()
            .of_survivor(&a, old.id)
            .await
            .expect("merges")
            .len(),
        1
    );
    // The survivor took over the merged customer's unique external reference, and gives
    // it back on unmerge.
    assert_eq!(stored.external_ref.as_deref(), Some("ERP-4711"));
    crm.merges()
        .unmerge(&a, done.record.id, at(1001))
        .await
        .expect("unmerge");
    let back: Customer = crm.get(&a, new.id).await.expect("restored");
    assert_eq!(back.external_ref.as_deref(), Some("ERP-4711"));
    let survivor: Customer = crm.get(&a, old.id).await.expect("survivor");
    assert_eq!(survivor.external_ref, None);
    // Hosts learn of the merge from the outbox, to re-point their own references.
    let events = crm.events().drain(&a, 0, 100).await.expect("events");
    assert!(events.iter().any(|e| matches!(
        &e.event.event,
        DomainEvent::CustomersMerged { merge, survivor, merged }
            if *merge == done.record.id && *survivor == old.id && merged == &vec![new.id]
    )));
}

/// An unmerge is refused once a touched row changed, or when already undone; a merge
/// across tenants is impossible.
pub async fn unmerge_refuses_changed_rows_and_tenants_are_fenced(store: Store) {
    let (crm, a) = setup(store.clone());
    let one = insert(&store, a.tenant, person(a.tenant, "Grace", "Hopper")).await;
    let two = insert(&store, a.tenant, person(a.tenant, "Grace", "Hopper")).await;
    let c = insert(
        &store,
        a.tenant,
        contact(a.tenant, two.id, "Grace", "Hopper"),
    )
    .await;

    // Another tenant's customer cannot be merged in (and nothing is written).
    let b = Actor::new(TenantId::new(), a.user);
    let foreign = insert(&store, b.tenant, person(b.tenant, "Grace", "Hopper")).await;
    let before = snapshot(&store, a.tenant).await;
    assert_not_found(
        crm.merges()
            .merge(&a, &[one.id, foreign.id], &MergeOptions::default(), at(10))
            .await,
    );
    assert_eq!(snapshot(&store, a.tenant).await, before);
    assert!(get::<Customer>(&store, b.tenant, foreign.id)
        .await
        .is_some());

    let options = MergeOptions {
        survivor: SurvivorRule::Given(one.id),
        ..Default::default()
    };
    let out = crm
        .merges()
        .merge(&a, &[one.id, two.id], &options, at(10))
        .await
        .expect("merge");
    // The other tenant cannot see or undo the merge.
    assert_not_found(crm.merges().unmerge(&b, out.record.id, at(11)).await);

    // The moved contact changes after the merge: the unmerge must not overwrite it.
    let mut moved: Contact = crm.get(&a, c.id).await.expect("contact");
    assert_eq!(moved.customer_id, one.id);
    moved.job_title = Some("Admiral".into());
    let moved = update(&store, a.tenant, moved).await;
    let merged_state = snapshot(&store, a.tenant).await;
    assert_conflict(crm.merges().unmerge(&a, out.record.id, at(12)).await);
    assert_eq!(
        snapshot(&store, a.tenant).await,
        merged_state,
        "nothing written"
    );

    // Once the change is reverted by hand... the version still differs: still refused.
    let mut back = moved.clone();
    back.job_title = None;
    update(&store, a.tenant, back).await;
    assert_conflict(crm.merges().unmerge(&a, out.record.id, at(13)).await);

    // A fresh merge can be undone exactly once.
    let three = insert(&store, a.tenant, person(a.tenant, "Grace", "Hopper")).await;
    let out = crm
        .merges()
        .merge(
            &a,
            &[one.id, three.id],
            &MergeOptions {
                survivor: SurvivorRule::Given(one.id),
                ..Default::default()
            },
            at(20),
        )
        .await
        .expect("merge");
    crm.merges()
        .unmerge(&a, out.record.id, at(21))
        .await
        .expect("unmerge");
    assert!(get::<Customer>(&store, a.tenant, three.id).await.is_some());
    // Undoing an undone merge is its own error (not a stale version).
    match crm.merges().unmerge(&a, out.record.id, at(22)).await {
        Err(CrmError::InvalidTransition { from, to, reason }) => {
            assert_eq!(
                (from.as_str(), to.as_str()),
                ("undone", "undone"),
                "{reason}"
            );
        }
        other => panic!("expected InvalidTransition for an undone merge, got {other:?}"),
    }
}

/// A private note of another author is invisible on every read path: the note itself, its
/// lists and counts, the Customer 360 view, the timeline, text search, the outbox, and the
/// merge paths (the dry run, the merge's outcome, `merges_into`, `get` / `list` of the merge
/// record, the unmerge's result). Neither its body nor its id shows anywhere. Its author
/// still sees it, and an unmerge by the other user restores it all the same.
pub async fn private_notes_stay_private_on_every_read_path(store: Store) {
    let (crm, author) = setup(store);
    let viewer = Actor::new(author.tenant, UserId::new());
    let tenant = author.tenant;
    let keep = crm
        .customers()
        .create(&author, person(tenant, "Ines", "Ortega"), at(1))
        .await
        .expect("survivor");
    let dup = crm
        .customers()
        .create(&author, person(tenant, "Inés", "Ortega"), at(2))
        .await
        .expect("duplicate");
    const SECRET: &str = "SECRET-7f3a salary talk";
    let mut n =
        Note::new(tenant, author.user, SECRET, Links::customer(dup.id), at(3)).expect("valid note");
    n.private = true;
    let n = crm.create(&author, n, at(3)).await.expect("private note");
    let public = crm
        .create(
            &author,
            Note::new(
                tenant,
                author.user,
                "visible to all",
                Links::customer(dup.id),
                at(4),
            )
            .expect("valid note"),
            at(4),
        )
        .await
        .expect("public note");
    let id = n.id.to_string();
    let leaks = |what: &str, shown: String| {
        assert!(
            !shown.contains("SECRET-7f3a") && !shown.contains(&id),
            "{what} shows the private note: {shown}"
        );
    };

    // Reads of the note itself and of what contains it.
    assert!(matches!(
        crm.get::<Note>(&viewer, n.id).await,
        Err(CrmError::NotFound { .. })
    ));
    leaks(
        "find",
        format!("{:?}", crm.find::<Note>(&viewer, n.id).await),
    );
    leaks(
        "list",
        format!("{:?}", crm.list::<Note>(&viewer, ListQuery::new()).await),
    );
    leaks(
        "list_all",
        format!(
            "{:?}",
            crm.list_all::<Note>(&viewer, NoteFilter::default()).await
        ),
    );
    assert_eq!(
        crm.count::<Note>(&viewer, NoteFilter::default())
            .await
            .expect("count"),
        1
    );
    leaks(
        "360",
        format!("{:?}", crm.customers().view_360(&viewer, dup.id).await),
    );
    leaks(
        "timeline",
        format!(
            "{:?}",
            crm.customers().timeline(&viewer, dup.id, 50, None).await
        ),
    );
    let found = crm
        .list::<Customer>(
            &viewer,
            ListQuery::filter(CustomerFilter {
                text: Some("SECRET-7f3a".into()),
                ..CustomerFilter::default()
            }),
        )
        .await
        .expect("search");
    assert!(found.items.is_empty(), "note bodies are not searchable");

    // The merge paths.
    let ids = [keep.id, dup.id];
    let options = MergeOptions {
        survivor: SurvivorRule::Given(keep.id),
        ..MergeOptions::default()
    };
    let plan = crm
        .merges()
        .plan(&viewer, &ids, &options, at(10))
        .await
        .expect("dry run");
    leaks("plan_customer_merge", format!("{plan:?}"));
    assert!(
        plan.moves
            .iter()
            .any(|m| m.row.id == uuid::Uuid::from(public.id)),
        "the public note's move is shown"
    );
    let done = crm
        .merges()
        .merge(&viewer, &ids, &options, at(11))
        .await
        .expect("merge");
    leaks("merge_customers", format!("{done:?}"));
    let merge = done.record.id;
    // Merge records are written by merges only: updating the reader's redacted copy through
    // the generic path (which would drop the private note's before-image) is refused.
    crate::support::assert_validation(
        crm.update(&viewer, done.record.clone(), at(11)).await,
        "kind",
    );
    crate::support::assert_validation(
        crm.create(&author, done.record.clone(), at(11)).await,
        "kind",
    );
    leaks(
        "merges_into",
        format!("{:?}", crm.merges().of_survivor(&viewer, keep.id).await),
    );
    leaks(
        "get merge record",
        format!("{:?}", crm.get::<MergeRecord>(&viewer, merge).await),
    );
    leaks(
        "list merge records",
        format!(
            "{:?}",
            crm.list::<MergeRecord>(&viewer, ListQuery::new()).await
        ),
    );
    leaks(
        "list_all merge records",
        format!(
            "{:?}",
            crm.list_all::<MergeRecord>(&viewer, MergeRecordFilter::default())
                .await
        ),
    );
    leaks(
        "events",
        format!("{:?}", crm.events().drain(&viewer, 0, 1000).await),
    );
    // The author sees the before-image of their own note.
    let theirs = crm
        .get::<MergeRecord>(&author, merge)
        .await
        .expect("author's view");
    assert!(format!("{theirs:?}").contains("SECRET-7f3a"));

    // Undone by the viewer, the note comes back whole; the result shows nothing of it.
    let undone = crm
        .merges()
        .unmerge(&viewer, merge, at(12))
        .await
        .expect("unmerge");
    leaks("unmerge", format!("{undone:?}"));
    let back = crm.get::<Note>(&author, n.id).await.expect("restored note");
    assert_eq!(back.body, SECRET);
    assert_eq!(back.links.customer_id, Some(dup.id));

    // A second unmerge of the same merge is its own error, not a stale version.
    match crm.merges().unmerge(&viewer, merge, at(13)).await {
        Err(CrmError::InvalidTransition { from, to, .. }) => {
            assert_eq!((from.as_str(), to.as_str()), ("undone", "undone"));
        }
        other => panic!("second unmerge: expected InvalidTransition, got {other:?}"),
    }
}

/// A merge keeps the most complete address as the survivor's primary one, whole (street,
/// postcode and city together, never a mix), the others as further addresses; lists are
/// united rather than taken from one side; an unmerge restores both.
pub async fn merge_keeps_the_most_complete_address_and_unites_lists(store: Store) {
    let (crm, a) = setup(store.clone());
    let t = a.tenant;
    let mut keep = person(t, "Jonas", "Keller");
    keep.custom_fields
        .insert("interests".into(), serde_json::json!(["golf", "wine"]));
    keep.custom_fields
        .insert("tier".into(), serde_json::json!("gold"));
    let keep = crm
        .customers()
        .create(&a, keep, at(1))
        .await
        .expect("survivor");
    let mut dup = person(t, "Jonas", "Keller");
    dup.custom_fields
        .insert("interests".into(), serde_json::json!(["wine", "sailing"]));
    dup.custom_fields
        .insert("tier".into(), serde_json::json!("silver"));
    dup.custom_fields
        .insert("vat".into(), serde_json::json!("DE123"));
    let dup = crm
        .customers()
        .create(&a, dup, at(2))
        .await
        .expect("duplicate");
    let mut sparse = Location::new(
        t,
        keep.id,
        AddressParts {
            city: Some("Berlin"),
            country: Some("DE"),
            ..Default::default()
        },
        at(3),
    )
    .expect("city only");
    sparse.primary = true;
    let sparse = crm.create(&a, sparse, at(3)).await.expect("sparse");
    let mut full = Location::new(
        t,
        dup.id,
        AddressParts {
            line1: Some("Hauptstrasse 5"),
            postal_code: Some("10115"),
            city: Some("Berlin-Mitte"),
            country: Some("DE"),
        },
        at(3),
    )
    .expect("full address");
    full.primary = true;
    let full = crm.create(&a, full, at(3)).await.expect("full");
    let second = crm
        .create(
            &a,
            Location::new(
                t,
                dup.id,
                AddressParts {
                    line1: Some("Lager 2"),
                    city: Some("Potsdam"),
                    ..Default::default()
                },
                at(3),
            )
            .expect("second"),
            at(3),
        )
        .await
        .expect("second");
    let before = snapshot(&store, t).await;

    let out = crm
        .merges()
        .merge(
            &a,
            &[keep.id, dup.id],
            &MergeOptions {
                survivor: SurvivorRule::Given(keep.id),
                ..MergeOptions::default()
            },
            at(10),
        )
        .await
        .expect("merge");
    let locations = crm
        .list_all::<Location>(
            &a,
            LocationFilter {
                customer_id: Some(keep.id),
                ..LocationFilter::default()
            },
        )
        .await
        .expect("locations");
    assert_eq!(locations.len(), 3, "every address is kept");
    let primary: Vec<&Location> = locations.iter().filter(|l| l.primary).collect();
    assert_eq!(primary.len(), 1);
    let p = primary[0];
    assert_eq!(p.id, full.id, "the most complete address wins");
    assert_eq!(
        (
            p.line1.as_deref(),
            p.postal_code.as_deref(),
            p.city.as_deref()
        ),
        (Some("Hauptstrasse 5"), Some("10115"), Some("Berlin-Mitte")),
        "as a whole"
    );
    for other in [sparse.id, second.id] {
        assert!(locations.iter().any(|l| l.id == other && !l.primary));
    }
    let merged = &out.survivor.custom_fields;
    assert_eq!(
        merged.get("interests"),
        Some(&serde_json::json!(["golf", "wine", "sailing"])),
        "lists are united, the survivor's items first"
    );
    assert_eq!(merged.get("tier"), Some(&serde_json::json!("gold")));
    assert_eq!(merged.get("vat"), Some(&serde_json::json!("DE123")));

    crm.merges()
        .unmerge(&a, out.record.id, at(11))
        .await
        .expect("unmerge");
    let after = snapshot(&store, t).await;
    assert_eq!(before.len(), after.len());
    for (r, row) in &before {
        let mut back = after.get(r).cloned().expect("restored row");
        back.set_version(row.version());
        let mut row = row.clone();
        if let (Record::Customer(x), Record::Customer(y)) = (&mut row, &mut back) {
            y.updated_at = x.updated_at;
        }
        if let (Record::Location(x), Record::Location(y)) = (&mut row, &mut back) {
            y.updated_at = x.updated_at;
        }
        assert_eq!(row, back, "{r}: restored");
    }
}
