//! Service-level scenarios: the business rules of [`crm_core::Crm`] (primaries, cascading
//! delete, Customer 360, timeline, private notes, tags, deal stage history, interaction
//! side effects) must hold on every store.

use std::collections::HashSet;

use chrono::{DateTime, Duration, TimeZone, Utc};
use crm_core::store::Entity;
use crm_core::*;

use crate::support::Store;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 1, 8, 0, 0)
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

async fn company(crm: &Crm<dyn CrmStore>, a: &Actor, name: &str) -> Customer {
    crm.customers()
        .create(
            a,
            Customer::company(a.tenant, name, t(0)).expect("valid"),
            t(0),
        )
        .await
        .expect("create customer")
}

async fn contact(
    crm: &Crm<dyn CrmStore>,
    a: &Actor,
    c: CustomerId,
    first: &str,
    primary: bool,
) -> Contact {
    let mut ct = Contact::new(a.tenant, c, first, "Doe", t(0)).expect("valid");
    ct.is_primary = primary;
    crm.create(a, ct, t(0)).await.expect("create contact")
}

fn is_validation(e: &CrmError, f: &str) -> bool {
    matches!(e, CrmError::Validation { field, .. } if field == f)
}

/// The service validates entities and refuses entities of another tenant.
pub async fn service_validates_input(store: Store) {
    let (crm, a) = setup(store);
    let mut c = Customer::company(a.tenant, "Acme", t(0)).expect("valid");
    c.name = "   ".into();
    let e = crm
        .customers()
        .create(&a, c, t(0))
        .await
        .expect_err("empty name");
    assert!(is_validation(&e, "name"), "{e}");
    let mut c = Customer::company(a.tenant, "Acme", t(0)).expect("valid");
    c.website = Some("not a site".into());
    let e = crm
        .customers()
        .create(&a, c, t(0))
        .await
        .expect_err("bad website");
    assert!(is_validation(&e, "website"), "{e}");
    let other = Customer::company(TenantId::new(), "Elsewhere", t(0)).expect("valid");
    let e = crm
        .customers()
        .create(&a, other, t(0))
        .await
        .expect_err("foreign tenant");
    assert!(is_validation(&e, "tenant_id"), "{e}");
    assert_eq!(
        crm.count::<Customer>(&a, CustomerFilter::default())
            .await
            .expect("count"),
        0
    );
}

/// A new primary contact demotes the old one; `set_primary_contact` switches atomically.
pub async fn primary_contact_switching(store: Store) {
    let (crm, a) = setup(store);
    let c = company(&crm, &a, "Acme").await;
    let first = contact(&crm, &a, c.id, "Ann", true).await;
    let second = contact(&crm, &a, c.id, "Bob", true).await;
    let primaries = crm
        .list_all::<Contact>(
            &a,
            ContactFilter {
                customer_id: Some(c.id),
                is_primary: Some(true),
                ..Default::default()
            },
        )
        .await
        .expect("list");
    assert_eq!(
        primaries.iter().map(|p| p.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    let back = crm
        .contacts()
        .set_primary(&a, first.id, t(5))
        .await
        .expect("switch");
    assert!(back.is_primary);
    assert!(
        !crm.get::<Contact>(&a, second.id)
            .await
            .expect("get")
            .is_primary
    );
    // Created (1), demoted by the second primary (2), promoted again (3).
    assert_eq!(
        crm.get::<Contact>(&a, first.id).await.expect("get").version,
        3
    );
}

/// Primary contact points are per kind and per owner (customer or contact).
pub async fn primary_contact_point_per_kind_and_owner(store: Store) {
    let (crm, a) = setup(store);
    let c = company(&crm, &a, "Acme").await;
    let ann = contact(&crm, &a, c.id, "Ann", false).await;
    let e1 = crm
        .contacts()
        .add_point(
            &a,
            c.id,
            None,
            ContactPointKind::Email,
            "info@acme.example",
            t(1),
        )
        .await
        .expect("e1");
    let e2 = crm
        .contacts()
        .add_point(
            &a,
            c.id,
            Some(ann.id),
            ContactPointKind::Email,
            "ann@acme.example",
            t(2),
        )
        .await
        .expect("e2");
    let p1 = crm
        .contacts()
        .add_point(
            &a,
            c.id,
            None,
            ContactPointKind::Phone,
            "+14155552671",
            t(3),
        )
        .await
        .expect("p1");
    // All three are primary: different owners or kinds.
    for id in [e1.id, e2.id, p1.id] {
        assert!(crm.get::<ContactPoint>(&a, id).await.expect("get").primary);
    }
    let e3 = crm
        .contacts()
        .add_point(
            &a,
            c.id,
            None,
            ContactPointKind::Email,
            "sales@acme.example",
            t(4),
        )
        .await
        .expect("e3");
    assert!(
        !e3.primary,
        "only the first point of a kind becomes primary by itself"
    );
    let e3 = crm
        .contacts()
        .set_primary_point(&a, e3.id, t(4))
        .await
        .expect("switch");
    assert!(e3.primary);
    assert!(
        !crm.get::<ContactPoint>(&a, e1.id)
            .await
            .expect("get")
            .primary,
        "old customer e-mail demoted"
    );
    assert!(
        crm.get::<ContactPoint>(&a, e2.id)
            .await
            .expect("get")
            .primary,
        "contact's e-mail untouched"
    );
    crm.contacts()
        .set_primary_point(&a, e1.id, t(5))
        .await
        .expect("switch back");
    assert!(
        !crm.get::<ContactPoint>(&a, e3.id)
            .await
            .expect("get")
            .primary
    );
}

/// A contact point or consent naming a contact of another customer is refused.
pub async fn contact_must_belong_to_customer(store: Store) {
    let (crm, a) = setup(store);
    let c1 = company(&crm, &a, "One").await;
    let c2 = company(&crm, &a, "Two").await;
    let ann = contact(&crm, &a, c1.id, "Ann", false).await;
    let e = crm
        .contacts()
        .add_point(
            &a,
            c2.id,
            Some(ann.id),
            ContactPointKind::Email,
            "ann@x.example",
            t(1),
        )
        .await
        .expect_err("wrong customer");
    assert!(is_validation(&e, "contact_id"), "{e}");
    let e = crm
        .create(&a, Consent::new(a.tenant, c2.id, Some(ann.id), t(1)), t(1))
        .await
        .expect_err("wrong customer");
    assert!(is_validation(&e, "contact_id"), "{e}");
    let mut act = Activity::new(
        a.tenant,
        ActivityKind::Call,
        "Call",
        Links {
            customer_id: Some(c2.id),
            contact_id: Some(ann.id),
            ..Links::default()
        },
        t(1),
    )
    .expect("valid");
    act.priority = Priority::High;
    let e = crm.create(&a, act, t(1)).await.expect_err("links disagree");
    assert!(is_validation(&e, "links.contact_id"), "{e}");
}

/// Linking only a contact (or a deal) fills in the customer, so it shows in the customer's
/// views.
pub async fn links_fill_in_customer(store: Store) {
    let (crm, a) = setup(store);
    let c = company(&crm, &a, "Acme").await;
    let ann = contact(&crm, &a, c.id, "Ann", false).await;
    let act = Activity::new(
        a.tenant,
        ActivityKind::Todo,
        "Send brochure",
        Links {
            contact_id: Some(ann.id),
            ..Links::default()
        },
        t(1),
    )
    .expect("valid");
    let act = crm.create(&a, act, t(1)).await.expect("create");
    assert_eq!(act.links.customer_id, Some(c.id));
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("pipeline");
    let mut d = Deal::new(
        a.tenant,
        "Deal",
        &p,
        p.stages[0].id,
        Money::new(100, "EUR").expect("eur"),
        t(2),
    )
    .expect("valid");
    d.customer_id = Some(c.id);
    let d = crm.create(&a, d, t(2)).await.expect("deal");
    let f = FollowUp::new(
        a.tenant,
        Due {
            title: "Chase",
            due_at: t(100),
            links: Links::deal(d.id),
        },
        t(3),
    )
    .expect("valid");
    let f = crm.create(&a, f, t(3)).await.expect("follow-up");
    assert_eq!(f.links.customer_id, Some(c.id));
}

/// Logging interactions moves first/last contact dates and the deal's last activity, never
/// backwards.
pub async fn interaction_moves_contact_dates(store: Store) {
    let (crm, a) = setup(store);
    let c = company(&crm, &a, "Acme").await;
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("pipeline");
    let mut d = Deal::new(
        a.tenant,
        "Deal",
        &p,
        p.stages[0].id,
        Money::new(100, "EUR").expect("eur"),
        t(0),
    )
    .expect("valid");
    d.customer_id = Some(c.id);
    let d = crm.create(&a, d, t(0)).await.expect("deal");
    for (occurred, logged) in [(t(500), t(501)), (t(100), t(600)), (t(900), t(901))] {
        let i = Interaction::new(
            a.tenant,
            Logged {
                channel: Channel::Email,
                direction: InteractionDirection::Inbound,
                links: Links::deal(d.id),
                occurred_at: occurred,
            },
            logged,
        )
        .expect("valid");
        crm.create(&a, i, logged).await.expect("log");
    }
    let c = crm.customers().get(&a, c.id).await.expect("get");
    assert_eq!(c.first_contact_at, Some(t(100)));
    assert_eq!(c.last_contact_at, Some(t(900)));
    let d = crm.get::<Deal>(&a, d.id).await.expect("get");
    assert_eq!(d.last_activity_at, Some(t(900)));
}

/// Deals move only through the state machine: probability follows the stage unless set by
/// hand, win/lose close the deal, reopen reopens it, forbidden moves fail with
/// `InvalidTransition` and change nothing, and every transition is recorded.
pub async fn deal_stage_rules_and_history(store: Store) {
    let (crm, a) = setup(store);
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("pipeline");
    let again = crm
        .pipelines()
        .ensure_default(&a, t(1))
        .await
        .expect("pipeline");
    assert_eq!(p.id, again.id, "the default pipeline is seeded once");
    let names: Vec<(&str, u8)> = p
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.probability.get()))
        .collect();
    assert_eq!(
        names,
        vec![
            ("Prospecting", 10),
            ("Qualification", 25),
            ("Proposal", 50),
            ("Negotiation", 75),
            ("Closed Won", 100),
            ("Closed Lost", 0)
        ]
    );
    let stage = |n: &str| p.stage_named(n).expect("stage").id;
    let d = Deal::new(
        a.tenant,
        "Big",
        &p,
        stage("Prospecting"),
        Money::new(10_000, "EUR").expect("eur"),
        t(10),
    )
    .expect("valid");
    let d = crm.create(&a, d, t(10)).await.expect("create");
    let m = crm
        .deals()
        .move_to_stage(&a, d.id, stage("Proposal"), t(20))
        .await
        .expect("move");
    assert_eq!(
        (m.probability.get(), m.stage_entered_at, m.version),
        (50, t(20), 2)
    );
    // A hand-set probability is kept across moves.
    let mut manual = m.clone();
    manual.probability = Percent::new(60, "probability").expect("valid");
    manual.probability_manual = true;
    crm.update(&a, manual, t(30)).await.expect("override");
    let moved = crm
        .deals()
        .move_to_stage(&a, d.id, stage("Negotiation"), t(40))
        .await
        .expect("move");
    assert_eq!(moved.probability.get(), 60, "manual probability kept");
    // Plain updates cannot move a deal.
    let mut sneaky = moved.clone();
    sneaky.stage_id = stage("Qualification");
    let e = crm
        .update(&a, sneaky, t(45))
        .await
        .expect_err("plain update moves nothing");
    assert!(matches!(e, CrmError::InvalidTransition { .. }), "{e}");
    // Closed stages are entered by winning or losing only.
    let e = crm
        .deals()
        .move_to_stage(&a, d.id, stage("Closed Won"), t(46))
        .await
        .expect_err("closed stage");
    assert!(matches!(e, CrmError::InvalidTransition { .. }), "{e}");
    let won = crm
        .deals()
        .win(&a, d.id, Some("Best fit"), t(50))
        .await
        .expect("win");
    assert_eq!(
        (won.status, won.probability.get(), won.closed_at),
        (DealStatus::Won, 100, Some(t(50)))
    );
    assert_eq!(
        (won.stage_id, won.won_reason.as_deref()),
        (stage("Closed Won"), Some("Best fit"))
    );
    // A closed deal must be reopened before it moves, and cannot be won twice.
    for e in [
        crm.deals()
            .move_to_stage(&a, d.id, stage("Proposal"), t(55))
            .await
            .expect_err("closed"),
        crm.deals()
            .win(&a, d.id, None, t(55))
            .await
            .expect_err("won twice"),
        crm.deals()
            .lose(
                &a,
                d.id,
                Loss {
                    reason: "late",
                    ..Loss::default()
                },
                t(55),
            )
            .await
            .expect_err("closed"),
    ] {
        assert!(matches!(e, CrmError::InvalidTransition { .. }), "{e}");
    }
    assert_eq!(
        crm.get::<Deal>(&a, d.id).await.expect("get").version,
        won.version,
        "refused moves change nothing"
    );
    let reopened = crm
        .deals()
        .reopen(&a, d.id, Some(stage("Negotiation")), t(60))
        .await
        .expect("reopen");
    assert_eq!(
        (
            reopened.status,
            reopened.closed_at,
            reopened.probability.get()
        ),
        (DealStatus::Open, None, 75)
    );
    let e = crm
        .deals()
        .lose(
            &a,
            d.id,
            Loss {
                reason: "  ",
                ..Loss::default()
            },
            t(65),
        )
        .await
        .expect_err("reason required");
    assert!(
        matches!(e, CrmError::Validation { ref field, .. } if field == "lost_reason"),
        "{e}"
    );
    let lost = crm
        .deals()
        .lose(
            &a,
            d.id,
            Loss {
                reason: "Budget cut",
                competitor: Some("Rival AG"),
                notes: Some("maybe next year"),
            },
            t(70),
        )
        .await
        .expect("lose");
    assert_eq!((lost.status, lost.probability.get()), (DealStatus::Lost, 0));
    assert_eq!(lost.lost_to_competitor.as_deref(), Some("Rival AG"));
    let history = crm
        .list::<StageChange>(
            &a,
            ListQuery::filter(StageChangeFilter {
                deal_id: Some(d.id),
                ..Default::default()
            }),
        )
        .await
        .expect("history")
        .items;
    let to: Vec<(StageId, DealStatus)> =
        history.iter().map(|h| (h.to_stage, h.to_status)).collect();
    assert_eq!(
        to,
        vec![
            (stage("Prospecting"), DealStatus::Open),
            (stage("Proposal"), DealStatus::Open),
            (stage("Negotiation"), DealStatus::Open),
            (stage("Closed Won"), DealStatus::Won),
            (stage("Negotiation"), DealStatus::Open),
            (stage("Closed Lost"), DealStatus::Lost),
        ]
    );
    assert_eq!(history[1].from_stage, Some(stage("Prospecting")));
    assert_eq!(
        (
            history[3].from_status,
            history[3].probability.get(),
            history[3].by
        ),
        (Some(DealStatus::Open), 100, Some(a.user))
    );
    assert_eq!(history[2].amount, Money::new(10_000, "EUR").expect("eur"));
    // A stage of another pipeline, or a pipeline without a won stage, is refused.
    let other = Pipeline::new(
        a.tenant,
        "Service",
        vec![Stage::open("Open", 30).expect("stage")],
        t(0),
    )
    .expect("valid");
    let other = crm.create(&a, other, t(0)).await.expect("create");
    let d2 = crm
        .create(
            &a,
            Deal::new(
                a.tenant,
                "Small",
                &p,
                stage("Prospecting"),
                Money::new(1, "EUR").expect("eur"),
                t(80),
            )
            .expect("valid"),
            t(80),
        )
        .await
        .expect("create");
    let e = crm
        .deals()
        .move_to_stage(&a, d2.id, other.stages[0].id, t(81))
        .await
        .expect_err("foreign stage");
    assert!(matches!(e, CrmError::InvalidTransition { .. }), "{e}");
    let d3 = crm
        .create(
            &a,
            Deal::new(
                a.tenant,
                "Service deal",
                &other,
                other.stages[0].id,
                Money::new(1, "EUR").expect("eur"),
                t(82),
            )
            .expect("valid"),
            t(82),
        )
        .await
        .expect("create");
    let e = crm
        .deals()
        .win(&a, d3.id, None, t(83))
        .await
        .expect_err("no won stage");
    assert!(matches!(e, CrmError::InvalidTransition { .. }), "{e}");
    // Moving to another pipeline.
    let moved = crm
        .deals()
        .move_to_pipeline(&a, d2.id, other.id, other.stages[0].id, t(84))
        .await
        .expect("move");
    assert_eq!(
        (moved.pipeline_id, moved.stage_id, moved.probability.get()),
        (other.id, other.stages[0].id, 30)
    );
}

/// Private notes are visible to, and writable by, their author only.
pub async fn private_notes_are_private(store: Store) {
    let (crm, a) = setup(store);
    let b = Actor::new(a.tenant, UserId::new());
    let c = company(&crm, &a, "Acme").await;
    let mut n =
        Note::new(a.tenant, a.user, "only for me", Links::customer(c.id), t(1)).expect("valid");
    n.private = true;
    let n = crm.create(&a, n, t(1)).await.expect("create");
    let public = crm
        .create(
            &b,
            Note::new(a.tenant, b.user, "for all", Links::customer(c.id), t(2)).expect("valid"),
            t(2),
        )
        .await
        .expect("create");
    assert!(crm.get::<Note>(&a, n.id).await.is_ok());
    crate::support::assert_not_found_of(crm.get::<Note>(&b, n.id).await, "note", n.id);
    let seen: Vec<NoteId> = crm
        .list::<Note>(&b, ListQuery::new())
        .await
        .expect("list")
        .items
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(seen, vec![public.id]);
    assert_eq!(
        crm.count::<Note>(&a, NoteFilter::default())
            .await
            .expect("count"),
        2
    );
    let mut edit = n.clone();
    edit.body = "hijacked".into();
    crate::support::assert_not_found_of(crm.update(&b, edit, t(3)).await, "note", n.id);
    crate::support::assert_not_found_of(
        crm.delete::<Note>(&b, n.id, None, t(100_000)).await,
        "note",
        n.id,
    );
    let mut forged =
        Note::new(a.tenant, a.user, "forged", Links::customer(c.id), t(4)).expect("valid");
    forged.private = true;
    let e = crm
        .create(&b, forged, t(4))
        .await
        .expect_err("private note for someone else");
    assert!(is_validation(&e, "author"), "{e}");
    assert_eq!(
        crm.get::<Note>(&a, n.id).await.expect("get").body,
        "only for me"
    );
}

/// Tagging is idempotent, `untag` reports what it did, deleting a tag removes its
/// assignments, and `ensure_tag` is case-insensitive.
pub async fn tagging(store: Store) {
    let (crm, a) = setup(store);
    let c = company(&crm, &a, "Acme").await;
    let vip = crm
        .tags()
        .ensure(&a, "VIP", Some("#FF0000"), t(0))
        .await
        .expect("tag");
    assert_eq!(
        crm.tags()
            .ensure(&a, "vip", None, t(1))
            .await
            .expect("tag")
            .id,
        vip.id
    );
    let x = crm
        .tags()
        .assign(&a, vip.id, c.entity_ref(), t(2))
        .await
        .expect("tag");
    let y = crm
        .tags()
        .assign(&a, vip.id, c.entity_ref(), t(3))
        .await
        .expect("tag again");
    assert_eq!(x.id, y.id);
    assert_eq!(
        crm.tags().of(&a, c.entity_ref()).await.expect("tags").len(),
        1
    );
    let hits = crm
        .list::<Customer>(
            &a,
            ListQuery::filter(CustomerFilter {
                tag: Some(vip.id),
                ..Default::default()
            }),
        )
        .await
        .expect("list");
    assert_eq!(hits.items.len(), 1);
    assert!(crm
        .tags()
        .unassign(&a, vip.id, c.entity_ref(), t(100_000))
        .await
        .expect("untag"));
    assert!(!crm
        .tags()
        .unassign(&a, vip.id, c.entity_ref(), t(100_000))
        .await
        .expect("untag again"));
    crm.tags()
        .assign(&a, vip.id, c.entity_ref(), t(4))
        .await
        .expect("tag");
    crm.tags()
        .delete(&a, vip.id, t(100_000))
        .await
        .expect("delete tag");
    assert!(crm
        .tags()
        .of(&a, c.entity_ref())
        .await
        .expect("tags")
        .is_empty());
    assert!(crm.find::<Tag>(&a, vip.id).await.expect("find").is_none());
    let note_target = EntityRef::new(EntityKind::Note, uuid::Uuid::now_v7());
    let t2 = crm
        .tags()
        .ensure(&a, "Other", None, t(5))
        .await
        .expect("tag");
    let e = crm
        .tags()
        .assign(&a, t2.id, note_target, t(5))
        .await
        .expect_err("notes are not taggable");
    assert!(is_validation(&e, "target.kind"), "{e}");
}

async fn populated_customer(crm: &Crm<dyn CrmStore>, a: &Actor) -> (Customer, Contact, Deal) {
    let c = company(crm, a, "Acme").await;
    let ann = contact(crm, a, c.id, "Ann", true).await;
    contact(crm, a, c.id, "Zed", false).await;
    crm.contacts()
        .add_point(
            a,
            c.id,
            None,
            ContactPointKind::Email,
            "info@acme.example",
            t(1),
        )
        .await
        .expect("cp");
    crm.contacts()
        .add_point(
            a,
            c.id,
            Some(ann.id),
            ContactPointKind::Mobile,
            "+14155552671",
            t(1),
        )
        .await
        .expect("cp");
    let mut loc = Location::new(
        a.tenant,
        c.id,
        AddressParts {
            line1: Some("Main St 1"),
            postal_code: Some("10115"),
            city: Some("Berlin"),
            country: Some("DE"),
        },
        t(1),
    )
    .expect("loc");
    loc.primary = true;
    crm.create(a, loc, t(1)).await.expect("loc");
    crm.create(a, Consent::new(a.tenant, c.id, None, t(1)), t(1))
        .await
        .expect("consent");
    crm.create(
        a,
        OwnedItem::new(a.tenant, c.id, OwnedItemKind::Device, "Press", t(1)).expect("item"),
        t(1),
    )
    .await
    .expect("item");
    let vip = crm.tags().ensure(a, "VIP", None, t(1)).await.expect("tag");
    crm.tags()
        .assign(a, vip.id, c.entity_ref(), t(1))
        .await
        .expect("tag");
    crm.tags()
        .assign(a, vip.id, ann.entity_ref(), t(1))
        .await
        .expect("tag");
    let p = crm
        .pipelines()
        .ensure_default(a, t(0))
        .await
        .expect("pipeline");
    let mut d = Deal::new(
        a.tenant,
        "Open deal",
        &p,
        p.stages[1].id,
        Money::new(5_000, "EUR").expect("eur"),
        t(10),
    )
    .expect("deal");
    d.customer_id = Some(c.id);
    let d = crm.create(a, d, t(10)).await.expect("deal");
    let mut lost = Deal::new(
        a.tenant,
        "Lost deal",
        &p,
        p.stages[0].id,
        Money::new(1_000, "EUR").expect("eur"),
        t(11),
    )
    .expect("deal");
    lost.customer_id = Some(c.id);
    let lost = crm.create(a, lost, t(11)).await.expect("deal");
    crm.deals()
        .lose(
            a,
            lost.id,
            Loss {
                reason: "Too expensive",
                competitor: Some("Rival AG"),
                ..Loss::default()
            },
            t(12),
        )
        .await
        .expect("lose");
    for k in 0..3 {
        let i = Interaction::new(
            a.tenant,
            Logged {
                channel: Channel::Phone,
                direction: InteractionDirection::Outbound,
                links: Links {
                    contact_id: Some(ann.id),
                    ..Links::default()
                },
                occurred_at: t(100 + k),
            },
            t(100 + k),
        )
        .expect("i");
        crm.create(a, i, t(100 + k)).await.expect("i");
    }
    let open = Activity::new(
        a.tenant,
        ActivityKind::Call,
        "Call back",
        Links::customer(c.id),
        t(200),
    )
    .expect("a");
    crm.create(a, open, t(200)).await.expect("a");
    let mut done = Activity::new(
        a.tenant,
        ActivityKind::Task,
        "Done task",
        Links::customer(c.id),
        t(201),
    )
    .expect("a");
    done.status = ActivityStatus::Completed;
    done.completed_at = Some(t(202));
    crm.create(a, done, t(201)).await.expect("a");
    let mut pinned =
        Note::new(a.tenant, a.user, "pinned", Links::customer(c.id), t(300)).expect("n");
    pinned.pinned = true;
    crm.create(a, pinned, t(300)).await.expect("n");
    crm.create(
        a,
        Note::new(a.tenant, a.user, "unpinned", Links::customer(c.id), t(301)).expect("n"),
        t(301),
    )
    .await
    .expect("n");
    let other = Actor::new(a.tenant, UserId::new());
    let mut secret = Note::new(
        a.tenant,
        other.user,
        "secret",
        Links::customer(c.id),
        t(302),
    )
    .expect("n");
    secret.private = true;
    secret.pinned = true;
    crm.create(&other, secret, t(302)).await.expect("n");
    crm.create(
        a,
        FollowUp::new(
            a.tenant,
            Due {
                title: "Chase",
                due_at: t(1000),
                links: Links::customer(c.id),
            },
            t(400),
        )
        .expect("f"),
        t(400),
    )
    .await
    .expect("f");
    crm.create(
        a,
        Attachment::new(
            a.tenant,
            "offer.pdf",
            1234,
            "application/pdf",
            "s3://bucket/offer.pdf",
            Links::customer(c.id),
            t(401),
        )
        .expect("att"),
        t(401),
    )
    .await
    .expect("att");
    (c, ann, d)
}

/// Customer 360 gathers exactly the customer's open work, contacts and data, its closed
/// deals, totals per currency, converted leads and attachments, and says which lists are
/// cut off.
pub async fn customer_360_view(store: Store) {
    let (crm, a) = setup(store);
    let (c, ann, d) = populated_customer(&crm, &a).await;
    let noise = company(&crm, &a, "Noise").await;
    crm.create(
        &a,
        Activity::new(
            a.tenant,
            ActivityKind::Call,
            "Other",
            Links::customer(noise.id),
            t(5),
        )
        .expect("a"),
        t(5),
    )
    .await
    .expect("a");
    let v = crm.customers().view_360(&a, c.id).await.expect("360");
    assert_eq!(v.customer.id, c.id);
    assert_eq!(v.customer.last_contact_at, Some(t(102)));
    assert_eq!(
        v.tags.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        vec!["VIP"]
    );
    assert_eq!(v.contacts.len(), 2);
    assert_eq!(v.primary_contact().map(|x| x.id), Some(ann.id));
    assert_eq!(v.contacts[0].id, ann.id, "primary first");
    assert_eq!(v.contact_points.len(), 2);
    assert_eq!(v.locations.len(), 1);
    assert!(v.customer_consent().is_some());
    assert_eq!(
        v.open_deals.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![d.id]
    );
    assert_eq!(
        v.open_activities
            .iter()
            .map(|x| x.subject.as_str())
            .collect::<Vec<_>>(),
        vec!["Call back"]
    );
    assert_eq!(v.open_follow_ups.len(), 1);
    assert_eq!(v.recent_interactions.len(), 3);
    assert_eq!(v.recent_interactions[0].occurred_at, t(102), "newest first");
    assert_eq!(
        v.pinned_notes
            .iter()
            .map(|n| n.body.as_str())
            .collect::<Vec<_>>(),
        vec!["pinned"]
    );
    assert_eq!(v.owned_items.len(), 1);
    // Closed deals too, and totals per currency.
    let lost = v.closed_deals.first().expect("the lost deal").clone();
    assert_eq!((v.closed_deals.len(), lost.status), (1, DealStatus::Lost));
    let eur = |minor| Money::new(minor, "EUR").expect("eur");
    assert_eq!(
        v.totals,
        vec![DealTotals {
            currency: d.currency(),
            open_count: 1,
            open_amount: eur(5_000),
            open_weighted: d.weighted_amount().expect("weighted"),
            won_count: 0,
            won_amount: eur(0),
            lost_count: 1,
        }]
    );
    assert!(v.leads.is_empty(), "{:?}", v.leads);
    let offer = v.attachments.first().expect("the offer").clone();
    assert_eq!(
        (v.attachments.len(), offer.file_name.as_str()),
        (1, "offer.pdf")
    );
    assert!(!v.cut_off.any(), "{:?}", v.cut_off);

    // A won deal in another currency, an attachment, a converted lead, and more
    // interactions than the view carries.
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("pipeline");
    let mut won = Deal::new(
        a.tenant,
        "Dollars",
        &p,
        p.stages[0].id,
        Money::new(700, "USD").expect("usd"),
        t(400),
    )
    .expect("deal");
    won.customer_id = Some(c.id);
    let won = crm.create(&a, won, t(400)).await.expect("deal");
    let won = crm
        .deals()
        .win(&a, won.id, None, t(401))
        .await
        .expect("win");
    let mut file = crate::support::attachment(a.tenant, Links::customer(c.id), "contract.pdf", 10);
    file.created_at = t(402);
    let file = crm.create(&a, file, t(402)).await.expect("attachment");
    let mut lead = Lead::new(a.tenant, t(403));
    lead.email = Some(Email::parse("orders@acme.example").expect("e"));
    let lead = crm.create(&a, lead, t(403)).await.expect("lead");
    crm.leads()
        .convert(
            &a,
            lead.id,
            LeadConversion {
                into_customer: Some(c.id),
                ..Default::default()
            },
            t(404),
        )
        .await
        .expect("convert");
    for k in 0..(RECENT_INTERACTIONS as i64 - 2) {
        let i = Interaction::new(
            a.tenant,
            Logged {
                channel: Channel::Email,
                direction: InteractionDirection::Inbound,
                links: Links::customer(c.id),
                occurred_at: t(500 + k),
            },
            t(500 + k),
        )
        .expect("i");
        crm.create(&a, i, t(500 + k)).await.expect("i");
    }
    let v = crm.customers().view_360(&a, c.id).await.expect("360");
    assert_eq!(
        v.closed_deals.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![won.id, lost.id],
        "most recently closed first"
    );
    assert_eq!(v.totals.len(), 2, "{:?}", v.totals);
    assert_eq!(v.totals[0].currency.code(), "EUR");
    let usd = v.totals[1];
    assert_eq!(
        (
            usd.currency.code(),
            usd.open_count,
            usd.won_count,
            usd.won_amount.minor,
            usd.lost_count
        ),
        ("USD", 0, 1, 700, 0)
    );
    assert_eq!(
        v.leads.iter().map(|l| l.id).collect::<Vec<_>>(),
        vec![lead.id]
    );
    assert_eq!(
        v.attachments.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![file.id, offer.id],
        "newest first"
    );
    assert_eq!(v.recent_interactions.len(), RECENT_INTERACTIONS as usize);
    assert_eq!(
        v.cut_off,
        CutOff {
            recent_interactions: true,
            ..CutOff::default()
        },
        "21 interactions: the view says it holds only the newest 20"
    );
    let e = crm
        .customers()
        .view_360(&Actor::new(TenantId::new(), a.user), c.id)
        .await
        .expect_err("other tenant");
    assert!(matches!(e, CrmError::NotFound { .. }));
}

/// The timeline merges interactions, activities, follow-ups, notes and stage changes newest
/// first, and
/// pages through them without gaps or repeats.
pub async fn timeline_merges_and_pages(store: Store) {
    let (crm, a) = setup(store);
    let (c, _, _) = populated_customer(&crm, &a).await;
    let mut all = Vec::new();
    let mut cursor = None;
    loop {
        let page = crm
            .customers()
            .timeline(&a, c.id, 3, cursor)
            .await
            .expect("page");
        assert!(page.items.len() <= 3);
        all.extend(page.items);
        match page.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    // 3 interactions + 2 activities + 1 follow-up + 2 visible notes + 3 stage changes (open
    // deal created, lost deal created, lost deal closed).
    assert_eq!(all.len(), 11, "{all:#?}");
    let ids: HashSet<uuid::Uuid> = all.iter().map(TimelineEntry::id).collect();
    assert_eq!(ids.len(), all.len(), "no repeats");
    assert!(
        all.windows(2)
            .all(|w| (w[0].at(), w[0].id()) > (w[1].at(), w[1].id())),
        "newest first"
    );
    let kinds: HashSet<&str> = all
        .iter()
        .map(|e| match e {
            TimelineEntry::Interaction(_) => "i",
            TimelineEntry::Activity(_) => "a",
            TimelineEntry::FollowUp(_) => "f",
            TimelineEntry::Note(_) => "n",
            TimelineEntry::StageChange(_) => "s",
        })
        .collect();
    assert_eq!(kinds.len(), 5);
    assert!(
        !all.iter()
            .any(|e| matches!(e, TimelineEntry::Note(n) if n.private)),
        "no private note of another user"
    );
    let whole = crm
        .customers()
        .timeline(&a, c.id, 100, None)
        .await
        .expect("one page");
    assert_eq!(whole.items, all);
    assert!(whole.next.is_none());
    assert!(is_validation(
        &crm.customers()
            .timeline(&a, c.id, 0, None)
            .await
            .expect_err("limit"),
        "limit"
    ));
}

/// Deleting a customer removes everything that belongs to it in one change set; other
/// customers and the tag itself stay.
pub async fn delete_customer_cascades(store: Store) {
    let (crm, a) = setup(store);
    let c = company(&crm, &a, "Doomed").await;
    let ann = contact(&crm, &a, c.id, "Ann", true).await;
    crm.contacts()
        .add_point(
            &a,
            c.id,
            Some(ann.id),
            ContactPointKind::Email,
            "ann@doomed.example",
            t(1),
        )
        .await
        .expect("cp");
    crm.create(&a, Consent::new(a.tenant, c.id, Some(ann.id), t(1)), t(1))
        .await
        .expect("consent");
    crm.create(
        &a,
        Location::new(
            a.tenant,
            c.id,
            AddressParts {
                city: Some("Paris"),
                country: Some("FR"),
                ..Default::default()
            },
            t(1),
        )
        .expect("loc"),
        t(1),
    )
    .await
    .expect("loc");
    crm.create(
        &a,
        OwnedItem::new(a.tenant, c.id, OwnedItemKind::Other, "Thing", t(1)).expect("oi"),
        t(1),
    )
    .await
    .expect("oi");
    let other = Actor::new(a.tenant, UserId::new());
    let mut secret = Note::new(
        a.tenant,
        other.user,
        "secret",
        Links {
            contact_id: Some(ann.id),
            ..Links::default()
        },
        t(2),
    )
    .expect("n");
    secret.private = true;
    crm.create(&other, secret, t(2)).await.expect("n");
    crm.create(
        &a,
        Interaction::new(
            a.tenant,
            Logged {
                channel: Channel::Chat,
                direction: InteractionDirection::Inbound,
                links: Links {
                    contact_id: Some(ann.id),
                    ..Links::default()
                },
                occurred_at: t(3),
            },
            t(3),
        )
        .expect("i"),
        t(3),
    )
    .await
    .expect("i");
    crm.create(
        &a,
        Activity::new(
            a.tenant,
            ActivityKind::Todo,
            "x",
            Links::customer(c.id),
            t(3),
        )
        .expect("a"),
        t(3),
    )
    .await
    .expect("a");
    crm.create(
        &a,
        FollowUp::new(
            a.tenant,
            Due {
                title: "y",
                due_at: t(9),
                links: Links::customer(c.id),
            },
            t(3),
        )
        .expect("f"),
        t(3),
    )
    .await
    .expect("f");
    crm.create(
        &a,
        Attachment::new(
            a.tenant,
            "a.txt",
            1,
            "text/plain",
            "k",
            Links::customer(c.id),
            t(3),
        )
        .expect("att"),
        t(3),
    )
    .await
    .expect("att");
    let tag = crm
        .tags()
        .ensure(&a, "Gone", None, t(4))
        .await
        .expect("tag");
    crm.tags()
        .assign(&a, tag.id, c.entity_ref(), t(4))
        .await
        .expect("tag");
    crm.tags()
        .assign(&a, tag.id, ann.entity_ref(), t(4))
        .await
        .expect("tag");
    let keep = company(&crm, &a, "Survivor").await;
    crm.tags()
        .assign(&a, tag.id, keep.entity_ref(), t(4))
        .await
        .expect("tag");

    // Stale version: nothing happens.
    let e = crm
        .customers()
        .delete(&a, c.id, Some(99), t(100_000))
        .await
        .expect_err("stale");
    assert!(matches!(e, CrmError::Conflict { .. }), "{e}");
    assert!(crm
        .find::<Contact>(&a, ann.id)
        .await
        .expect("find")
        .is_some());

    let before = crm.events().drain(&a, 0, 1000).await.expect("events").len() as u64;
    crm.customers()
        .delete(&a, c.id, None, t(100_000))
        .await
        .expect("delete");
    // The outbox says what went, row by row: the customer itself among them, and nothing
    // of the customer that stays.
    let deleted: Vec<EntityRef> = crm
        .events()
        .drain(&a, before, 1000)
        .await
        .expect("events")
        .into_iter()
        .filter_map(|e| match e.event.event {
            DomainEvent::RecordDeleted { record, .. } => Some(record),
            _ => None,
        })
        .collect();
    assert!(deleted.contains(&c.entity_ref()), "{deleted:?}");
    assert!(deleted.contains(&ann.entity_ref()), "its contact");
    assert!(deleted.iter().any(|r| r.kind == EntityKind::ContactPoint));
    assert!(deleted.iter().any(|r| r.kind == EntityKind::TagAssignment));
    assert!(!deleted.contains(&keep.entity_ref()));
    assert_eq!(
        deleted.len(),
        deleted.iter().collect::<HashSet<_>>().len(),
        "one event per row"
    );
    assert!(crm
        .find::<Customer>(&a, c.id)
        .await
        .expect("find")
        .is_none());
    assert!(crm
        .find::<Contact>(&a, ann.id)
        .await
        .expect("find")
        .is_none());
    assert_eq!(
        crm.count::<ContactPoint>(&a, ContactPointFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        crm.count::<Consent>(&a, ConsentFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        crm.count::<Location>(&a, LocationFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        crm.count::<OwnedItem>(&a, OwnedItemFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        crm.count::<Note>(&other, NoteFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        crm.count::<Interaction>(&a, InteractionFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        crm.count::<Activity>(&a, ActivityFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        crm.count::<FollowUp>(&a, FollowUpFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        crm.count::<Attachment>(&a, AttachmentFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        crm.count::<TagAssignment>(&a, TagAssignmentFilter::default())
            .await
            .expect("count"),
        1
    );
    assert!(crm
        .find::<Customer>(&a, keep.id)
        .await
        .expect("find")
        .is_some());
    assert!(crm.find::<Tag>(&a, tag.id).await.expect("find").is_some());
}

/// A customer with deals cannot be deleted; nothing is removed.
pub async fn delete_customer_with_deals_is_refused(store: Store) {
    let (crm, a) = setup(store);
    let (c, ann, _) = populated_customer(&crm, &a).await;
    let e = crm
        .customers()
        .delete(&a, c.id, None, t(100_000))
        .await
        .expect_err("has deals");
    assert!(matches!(e, CrmError::InUse { .. }), "{e}");
    assert!(crm
        .find::<Contact>(&a, ann.id)
        .await
        .expect("find")
        .is_some());
    assert_eq!(
        crm.count::<Interaction>(&a, InteractionFilter::default())
            .await
            .expect("count"),
        3
    );
}

/// Nothing of one tenant can be read or changed through the service by another tenant.
pub async fn service_tenant_isolation(store: Store) {
    let (crm, a) = setup(store);
    let b = Actor::new(TenantId::new(), a.user);
    let (c, ann, d) = populated_customer(&crm, &a).await;
    crate::support::assert_not_found_of(crm.customers().get(&b, c.id).await, "customer", c.id);
    crate::support::assert_not_found_of(crm.get::<Contact>(&b, ann.id).await, "contact", ann.id);
    crate::support::assert_not_found_of(
        crm.customers().timeline(&b, c.id, 10, None).await,
        "customer",
        c.id,
    );
    crate::support::assert_not_found_of(
        crm.customers().delete(&b, c.id, None, t(100_000)).await,
        "customer",
        c.id,
    );
    crate::support::assert_not_found_of(
        crm.contacts().set_primary(&b, ann.id, t(9)).await,
        "contact",
        ann.id,
    );
    let mut stolen = c.clone();
    stolen.name = "Stolen".into();
    assert!(matches!(
        crm.update(&b, stolen.clone(), t(9)).await,
        Err(CrmError::NotFound { entity: EntityKind::Customer, id }) if id == c.id.to_string()
    ));
    stolen.tenant_id = b.tenant;
    crate::support::assert_not_found_of(crm.update(&b, stolen, t(9)).await, "customer", c.id);
    let act = Activity::new(
        b.tenant,
        ActivityKind::Call,
        "sneaky",
        Links::deal(d.id),
        t(9),
    )
    .expect("a");
    crate::support::assert_not_found_of(crm.create(&b, act, t(9)).await, "deal", d.id);
    let act = Activity::new(
        b.tenant,
        ActivityKind::Call,
        "sneaky",
        Links::customer(c.id),
        t(9),
    )
    .expect("a");
    crate::support::assert_not_found_of(crm.create(&b, act, t(9)).await, "customer", c.id);
    assert_eq!(
        crm.count::<Customer>(&b, CustomerFilter::default())
            .await
            .expect("count"),
        0
    );
    assert_eq!(
        crm.customers().get(&a, c.id).await.expect("get").name,
        "Acme"
    );
}

/// Updates through the service are optimistic: a stale version is a conflict.
pub async fn service_optimistic_update(store: Store) {
    let (crm, a) = setup(store);
    let c = company(&crm, &a, "Acme").await;
    let mut first = c.clone();
    first.industry = Some("Steel".into());
    crm.update(&a, first, t(1)).await.expect("first update");
    let mut second = c.clone();
    second.industry = Some("Paper".into());
    let e = crm.update(&a, second, t(2)).await.expect_err("stale");
    assert!(matches!(e, CrmError::Conflict { .. }), "{e}");
    let now = crm.customers().get(&a, c.id).await.expect("get");
    assert_eq!(
        (now.industry.as_deref(), now.version, now.updated_at),
        (Some("Steel"), 2, t(1))
    );
}

/// An update cannot move `created_at`: refused with a `Validation` error naming the field,
/// nothing written; an update that keeps it goes through.
pub async fn service_update_keeps_created_at(store: Store) {
    let (crm, a) = setup(store);
    let c = company(&crm, &a, "Acme").await;
    let mut moved = c.clone();
    moved.industry = Some("Steel".into());
    moved.created_at = c.created_at - Duration::days(30);
    let e = crm
        .update(&a, moved, t(1))
        .await
        .expect_err("created_at moved");
    assert!(
        matches!(&e, CrmError::Validation { field, .. } if field == "created_at"),
        "{e}"
    );
    let now = crm.customers().get(&a, c.id).await.expect("get");
    assert_eq!(
        (now.industry.as_deref(), now.version, now.created_at),
        (None, 1, c.created_at),
        "nothing written"
    );
    let mut kept = now.clone();
    kept.industry = Some("Steel".into());
    let stored = crm.update(&a, kept, t(2)).await.expect("update");
    assert_eq!((stored.version, stored.created_at), (2, c.created_at));
}

/// A customer with its contacts, points, locations, tags and consent is created in one
/// call and one change set: primaries set, phones read in the primary location's country,
/// existing tags reused and missing ones created; a failure anywhere (a bad point deep in
/// a contact, two primaries, a taken external reference) names its path and writes
/// nothing.
pub async fn nested_create_is_atomic_and_whole(store: Store) {
    let (crm, a) = setup(store);
    let vip = crm.tags().ensure(&a, "VIP", None, t(0)).await.expect("tag");
    let person = |first: &str, last: &str| {
        Contact::new(a.tenant, CustomerId::new(), first, last, t(0)).expect("contact")
    };
    let mut new = NewCustomer::new(Customer::company(a.tenant, "Müller GmbH", t(1)).expect("c"));
    new.customer.external_ref = Some("ERP-77".into());
    new.points = vec![
        NewPoint::new(ContactPointKind::Email, "Info@Mueller.example"),
        NewPoint::new(ContactPointKind::Phone, "030 1234567"),
    ];
    new.locations = vec![
        Location::new(
            a.tenant,
            CustomerId::new(),
            AddressParts {
                line1: Some("Hauptstr. 1"),
                postal_code: Some("10115"),
                city: Some("Berlin"),
                country: Some("DE"),
            },
            t(0),
        )
        .expect("loc"),
        Location::new(
            a.tenant,
            CustomerId::new(),
            AddressParts {
                city: Some("Wien"),
                country: Some("AT"),
                ..Default::default()
            },
            t(0),
        )
        .expect("loc"),
    ];
    let mut eva = NewContact::new(person("Eva", "Müller"));
    eva.points = vec![
        NewPoint::new(ContactPointKind::Email, "eva@mueller.example"),
        NewPoint::new(ContactPointKind::Mobile, "0171 2345678"),
    ];
    eva.consent = Some(Consent::new(a.tenant, CustomerId::new(), None, t(0)));
    let mut max = NewContact::new(person("Max", "Müller"));
    max.contact.is_primary = true;
    new.contacts = vec![eva, max];
    new.tags = vec!["vip".into(), "Key account".into(), "VIP".into()];
    new.consent = Some(Consent::new(a.tenant, CustomerId::new(), None, t(0)));

    // Failures first: each names its path and writes nothing.
    let customers = || async {
        crm.count::<Customer>(&a, CustomerFilter::default())
            .await
            .expect("count")
    };
    let mut bad = new.clone();
    bad.contacts[1].points = vec![NewPoint::new(ContactPointKind::Email, "not an address")];
    crate::support::assert_validation(
        crm.customers().create_with(&a, bad, t(1)).await,
        "contacts[1].points[0].value.email",
    );
    let mut bad = new.clone();
    bad.locations[1].primary = true;
    bad.locations[0].primary = true;
    crate::support::assert_validation(
        crm.customers().create_with(&a, bad, t(1)).await,
        "locations[1].primary",
    );
    let mut bad = new.clone();
    bad.tags.push(" ".into());
    crate::support::assert_validation(
        crm.customers().create_with(&a, bad, t(1)).await,
        "tags[3].name",
    );
    let mut bad = new.clone();
    bad.customer.tenant_id = TenantId::new();
    crate::support::assert_validation(
        crm.customers().create_with(&a, bad, t(1)).await,
        "customer.tenant_id",
    );
    let mut taken = Customer::company(a.tenant, "Other", t(0)).expect("c");
    taken.external_ref = Some("ERP-77".into());
    let taken = crm
        .customers()
        .create(&a, taken, t(0))
        .await
        .expect("other");
    match crm.customers().create_with(&a, new.clone(), t(1)).await {
        Err(CrmError::AlreadyExists { entity, key }) => {
            assert_eq!(
                (entity, key.as_str()),
                (EntityKind::Customer, "customer.external_ref")
            );
        }
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
    assert_eq!(customers().await, 1, "only the other customer");
    assert!(
        crm.tags()
            .find(&a, "Key account")
            .await
            .expect("find")
            .is_none(),
        "no tag written"
    );
    crm.customers()
        .delete(&a, taken.id, None, t(100_000))
        .await
        .expect("delete");

    // The whole customer in one call.
    let made = crm
        .customers()
        .create_with(&a, new, t(1))
        .await
        .expect("create");
    let c = made.customer.id;
    assert_eq!(made.contacts.len(), 2);
    assert!(
        !made.contacts[0].is_primary && made.contacts[1].is_primary,
        "Max was marked"
    );
    assert!(
        made.locations[0].primary && !made.locations[1].primary,
        "the first location"
    );
    assert_eq!(made.tags.len(), 2, "repeats folded");
    assert_eq!(made.tags[0].id, vip.id, "the existing tag is reused");
    assert_eq!(made.consent.len(), 2);
    let v = crm.customers().view_360(&a, c).await.expect("360");
    assert_eq!(v.customer.external_ref.as_deref(), Some("ERP-77"));
    assert_eq!(
        v.primary_contact().map(|x| x.first_name.as_str()),
        Some("Max")
    );
    assert_eq!(v.locations.len(), 2);
    assert_eq!(v.consent.len(), 2);
    let mut tags: Vec<&str> = v.tags.iter().map(|t| t.name.as_str()).collect();
    tags.sort();
    assert_eq!(tags, vec!["Key account", "VIP"]);
    let values: Vec<(Option<bool>, &str, bool)> = v
        .contact_points
        .iter()
        .map(|p| (p.contact_id.map(|_| true), p.value.as_str(), p.primary))
        .collect();
    assert_eq!(
        values,
        vec![
            (None, "info@mueller.example", true),
            (None, "+49301234567", true),
            (Some(true), "eva@mueller.example", true),
            (Some(true), "+491712345678", true),
        ],
        "phones read in Germany (the primary location), each the first of its kind"
    );
    // It is found by what was created with it.
    let found = crm
        .list::<Customer>(
            &a,
            ListQuery::filter(CustomerFilter {
                text: Some("eva@mueller.example".into()),
                ..CustomerFilter::default()
            }),
        )
        .await
        .expect("search");
    assert_eq!(
        found.items.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![c]
    );
}
