//! Sales scenarios: pipeline configuration, stage-history queries, and the lifecycle of
//! activities and follow-ups, through [`crm_core::Crm`] on every store.

use chrono::{DateTime, Duration, TimeZone, Utc};
use crm_core::*;

use crate::support::{assert_validation, Store};

fn t(days: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 6, 2, 9, 0, 0)
        .single()
        .expect("valid time")
        + Duration::days(days)
}

fn setup(store: Store) -> (Crm<dyn CrmStore>, Actor) {
    (
        Crm::from_arc(store),
        Actor::new(TenantId::new(), UserId::new()),
    )
}

fn eur(minor: i64) -> Money {
    Money::new(minor, "EUR").expect("eur")
}

/// The "Service" pipeline several scenarios use: New (20), Quoted (60), Done (won),
/// Dropped (lost).
async fn service_pipeline(crm: &Crm<dyn CrmStore>, a: &Actor) -> Pipeline {
    crm.pipelines()
        .create(
            a,
            "Service",
            vec![
                Stage::open("New", 20).expect("s"),
                Stage::open("Quoted", 60).expect("s"),
                Stage::won("Done"),
                Stage::lost("Dropped"),
            ],
            t(0),
        )
        .await
        .expect("service pipeline")
}

async fn deal(
    crm: &Crm<dyn CrmStore>,
    a: &Actor,
    p: &Pipeline,
    stage: &str,
    name: &str,
    at: DateTime<Utc>,
) -> Deal {
    let s = p.stage_named(stage).expect("stage").id;
    let d = Deal::new(a.tenant, name, p, s, eur(1_000), at).expect("deal");
    crm.create(a, d, at).await.expect("create deal")
}

fn invalid(e: &CrmError) -> bool {
    matches!(e, CrmError::InvalidTransition { .. })
}

/// Pipelines can be renamed and re-staged; stages with deals need a target to go, and a
/// pipeline with deals needs a pipeline to move them to.
pub async fn pipeline_configuration(store: Store) {
    let (crm, a) = setup(store);
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("default");
    let service = service_pipeline(&crm, &a).await;
    let service = crm
        .pipelines()
        .rename(&a, service.id, "Service contracts", t(1))
        .await
        .expect("rename");
    assert_eq!(service.name, "Service contracts");
    let dup = crm
        .pipelines()
        .create(
            &a,
            "service CONTRACTS",
            vec![Stage::open("x", 1).expect("s")],
            t(1),
        )
        .await;
    assert!(
        matches!(dup, Err(CrmError::AlreadyExists { .. })),
        "{dup:?}"
    );
    let mut visit = Stage::open("Site visit", 40).expect("s");
    visit.rotting_days = Some(5);
    let service = crm
        .pipelines()
        .add_stage(&a, service.id, visit.clone(), 1, t(2))
        .await
        .expect("add");
    assert_eq!(
        service
            .stages
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>(),
        vec!["New", "Site visit", "Quoted", "Done", "Dropped"]
    );
    let order: Vec<StageId> = [2, 1, 0, 3, 4]
        .iter()
        .map(|&i| service.stages[i].id)
        .collect();
    let service = crm
        .pipelines()
        .reorder_stages(&a, service.id, &order, t(3))
        .await
        .expect("reorder");
    assert_eq!(service.stages[0].name, "Quoted");
    let bad = crm
        .pipelines()
        .reorder_stages(&a, service.id, &order[..4], t(3))
        .await
        .expect_err("missing stage");
    assert!(matches!(bad, CrmError::Validation { .. }), "{bad}");

    // Stage probability changes flow to open deals that follow their stage.
    let d1 = deal(&crm, &a, &service, "Site visit", "Visit A", t(4)).await;
    let mut tuned = service.stage(visit.id).expect("stage").clone();
    tuned.probability = Percent::new(45, "p").expect("p");
    crm.pipelines()
        .update_stage(&a, service.id, tuned, t(5))
        .await
        .expect("tune");
    assert_eq!(
        crm.get::<Deal>(&a, d1.id)
            .await
            .expect("get")
            .probability
            .get(),
        45
    );

    // A stage with deals goes only with a target of the same kind.
    let e = crm
        .pipelines()
        .remove_stage(&a, service.id, visit.id, None, t(6))
        .await
        .expect_err("has deals");
    assert!(invalid(&e), "{e}");
    let done = service.won_stage().expect("won").id;
    let e = crm
        .pipelines()
        .remove_stage(&a, service.id, visit.id, Some(done), t(6))
        .await
        .expect_err("kind differs");
    assert!(invalid(&e), "{e}");
    let mut without = crm.get::<Pipeline>(&a, service.id).await.expect("get");
    without.stages.retain(|s| s.id != visit.id);
    let e = crm
        .update(&a, without, t(6))
        .await
        .expect_err("plain update cannot drop a stage with deals");
    assert!(invalid(&e), "{e}");
    let new_stage = service.stage_named("New").expect("s").id;
    let service = crm
        .pipelines()
        .remove_stage(&a, service.id, visit.id, Some(new_stage), t(7))
        .await
        .expect("remove");
    assert!(service.stage(visit.id).is_none());
    let d1 = crm.get::<Deal>(&a, d1.id).await.expect("get");
    assert_eq!(
        (d1.stage_id, d1.probability.get(), d1.stage_entered_at),
        (new_stage, 20, t(7))
    );

    // Deleting a pipeline moves its deals (open and closed) in the same change set.
    let d2 = deal(&crm, &a, &service, "Quoted", "Quote B", t(8)).await;
    crm.deals().win(&a, d2.id, None, t(9)).await.expect("win");
    let e = crm
        .pipelines()
        .delete(&a, service.id, None, t(10))
        .await
        .expect_err("has deals");
    assert!(invalid(&e), "{e}");
    let e = crm
        .pipelines()
        .delete(&a, p.id, Some(service.id), t(10))
        .await
        .expect_err("default pipeline");
    assert!(invalid(&e), "{e}");
    crm.pipelines()
        .delete(&a, service.id, Some(p.id), t(10))
        .await
        .expect("delete");
    assert!(crm
        .find::<Pipeline>(&a, service.id)
        .await
        .expect("find")
        .is_none());
    let d1 = crm.get::<Deal>(&a, d1.id).await.expect("get");
    let d2 = crm.get::<Deal>(&a, d2.id).await.expect("get");
    assert_eq!(
        (d1.pipeline_id, d1.stage_id),
        (p.id, p.first_open_stage().expect("open").id)
    );
    assert_eq!(
        (d2.pipeline_id, d2.stage_id, d2.status),
        (p.id, p.won_stage().expect("won").id, DealStatus::Won)
    );
}

/// Rotting deals, stage conversion and pipeline velocity come from the stage history.
pub async fn stage_history_queries(store: Store) {
    let (crm, a) = setup(store);
    let base = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("default");
    let mut stages = base.stages.clone();
    for s in &mut stages {
        s.id = StageId::new();
        if s.name == "Qualification" {
            s.rotting_days = Some(7);
        }
    }
    let p = crm
        .pipelines()
        .create(&a, "Rot", stages, t(0))
        .await
        .expect("pipeline");
    let id = |n: &str| p.stage_named(n).expect("stage").id;
    // Three deals enter Qualification on day 0.
    let fresh = deal(&crm, &a, &p, "Qualification", "fresh", t(0)).await;
    let idle = deal(&crm, &a, &p, "Qualification", "idle", t(0)).await;
    let touched = deal(&crm, &a, &p, "Qualification", "touched", t(0)).await;
    // `fresh` moves on at day 2, then is won at day 6; `touched` sees an interaction at day 8.
    crm.deals()
        .move_to_stage(&a, fresh.id, id("Proposal"), t(2))
        .await
        .expect("move");
    crm.deals()
        .win(&a, fresh.id, None, t(6))
        .await
        .expect("win");
    let i = Interaction::new(
        a.tenant,
        Logged {
            channel: Channel::Phone,
            direction: InteractionDirection::Outbound,
            links: Links::deal(touched.id),
            occurred_at: t(8),
        },
        t(8),
    )
    .expect("i");
    crm.create(&a, i, t(8)).await.expect("log");
    let rotting = crm
        .deals()
        .rotting(&a, Some(p.id), t(10))
        .await
        .expect("rotting");
    assert_eq!(
        rotting
            .iter()
            .map(|r| (r.deal.id, r.idle_days, r.rotting_days))
            .collect::<Vec<_>>(),
        vec![(idle.id, 10, 7)]
    );
    assert_eq!(
        crm.get::<Deal>(&a, idle.id)
            .await
            .expect("get")
            .days_in_stage(t(10)),
        10
    );
    crm.deals()
        .lose(
            &a,
            idle.id,
            Loss {
                reason: "No budget",
                ..Loss::default()
            },
            t(12),
        )
        .await
        .expect("lose");

    let conv = crm
        .pipelines()
        .stage_conversion(&a, p.id)
        .await
        .expect("conversion");
    let row = |n: &str| {
        conv.iter()
            .find(|c| c.stage_name == n)
            .expect("row")
            .clone()
    };
    let q = row("Qualification");
    assert_eq!((q.entered, q.advanced, q.won, q.lost), (3, 1, 1, 1));
    let pr = row("Proposal");
    assert_eq!((pr.entered, pr.advanced, pr.won, pr.lost), (1, 1, 1, 0));

    let vel = crm.pipelines().velocity(&a, p.id).await.expect("velocity");
    let v = |n: &str| vel.iter().find(|v| v.stage_name == n).expect("row").clone();
    // Qualification stays: fresh 2 days, idle 12 days (touched still there).
    assert_eq!(v("Qualification").stays, 2);
    assert_eq!(v("Qualification").average_days, Some(7.0));
    assert_eq!(v("Proposal").average_days, Some(4.0));
    assert_eq!(v("Negotiation").average_days, None);
}

/// Activities complete, cancel, reschedule and reassign while open; closed ones refuse;
/// completing one resets its deal's rotting clock; overdue and reminder queries.
pub async fn activity_lifecycle(store: Store) {
    let (crm, a) = setup(store);
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("default");
    let d = deal(&crm, &a, &p, "Proposal", "Deal", t(0)).await;
    let mut call = Activity::new(
        a.tenant,
        ActivityKind::Call,
        "Call",
        Links::deal(d.id),
        t(0),
    )
    .expect("a");
    call.due_at = Some(t(3));
    call.reminder_at = Some(t(2));
    let call = crm.create(&a, call, t(0)).await.expect("create");
    let mut later = Activity::new(
        a.tenant,
        ActivityKind::Task,
        "Later",
        Links::deal(d.id),
        t(0),
    )
    .expect("a");
    later.due_at = Some(t(30));
    let later = crm.create(&a, later, t(0)).await.expect("create");

    assert_eq!(
        crm.activities()
            .due_reminders(&a, t(1))
            .await
            .expect("reminders")
            .len(),
        0
    );
    assert_eq!(
        crm.activities()
            .due_reminders(&a, t(2))
            .await
            .expect("reminders")
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        vec![call.id]
    );
    assert_eq!(
        crm.activities()
            .overdue(&a, None, t(4))
            .await
            .expect("overdue")
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        vec![call.id]
    );
    let other = UserId::new();
    let moved = crm
        .activities()
        .reschedule(&a, call.id, Some(t(5)), None, t(4))
        .await
        .expect("reschedule");
    assert_eq!(moved.due_at, Some(t(5)));
    crm.activities()
        .reassign(&a, call.id, Some(other), t(4))
        .await
        .expect("reassign");
    assert_eq!(
        crm.activities()
            .overdue(&a, Some(other), t(6))
            .await
            .expect("overdue")
            .len(),
        1
    );
    assert!(crm
        .activities()
        .overdue(&a, Some(a.user), t(6))
        .await
        .expect("overdue")
        .is_empty());

    let done = crm
        .activities()
        .complete(&a, call.id, Some("Agreed on a demo"), t(7))
        .await
        .expect("complete");
    assert_eq!(
        (done.status, done.completed_at, done.completed_by),
        (ActivityStatus::Completed, Some(t(7)), Some(a.user))
    );
    assert_eq!(
        crm.get::<Deal>(&a, d.id)
            .await
            .expect("get")
            .last_activity_at,
        Some(t(7))
    );
    for e in [
        crm.activities()
            .complete(&a, call.id, None, t(8))
            .await
            .expect_err("done"),
        crm.activities()
            .cancel(&a, call.id, t(8))
            .await
            .expect_err("done"),
        crm.activities()
            .reschedule(&a, call.id, None, None, t(8))
            .await
            .expect_err("done"),
    ] {
        assert!(invalid(&e), "{e}");
    }
    let cancelled = crm
        .activities()
        .cancel(&a, later.id, t(9))
        .await
        .expect("cancel");
    assert_eq!(cancelled.status, ActivityStatus::Cancelled);
    assert!(crm
        .activities()
        .overdue(&a, None, t(40))
        .await
        .expect("overdue")
        .is_empty());
}

/// Follow-ups: complete, cancel, reschedule, reassign while pending; `expire_overdue`
/// expires those past due by more than the grace period, once.
pub async fn follow_up_lifecycle(store: Store) {
    let (crm, a) = setup(store);
    let c = crm
        .customers()
        .create(
            &a,
            Customer::company(a.tenant, "Acme", t(0)).expect("c"),
            t(0),
        )
        .await
        .expect("customer");
    let mk = |title: &str, due: i64| {
        FollowUp::new(
            a.tenant,
            Due {
                title,
                due_at: t(due),
                links: Links::customer(c.id),
            },
            t(0),
        )
        .expect("f")
    };
    let f1 = crm.create(&a, mk("one", 1), t(0)).await.expect("f1");
    let f2 = crm.create(&a, mk("two", 2), t(0)).await.expect("f2");
    let f3 = crm.create(&a, mk("three", 10), t(0)).await.expect("f3");
    let f4 = crm.create(&a, mk("four", 1), t(0)).await.expect("f4");
    crm.follow_ups()
        .complete(&a, f4.id, t(1))
        .await
        .expect("complete");
    let e = crm
        .follow_ups()
        .cancel(&a, f4.id, t(1))
        .await
        .expect_err("completed");
    assert!(invalid(&e), "{e}");
    let f2 = crm
        .follow_ups()
        .reschedule(&a, f2.id, t(3), t(1))
        .await
        .expect("reschedule");
    let someone = UserId::new();
    crm.follow_ups()
        .reassign(&a, f2.id, Some(someone), t(1))
        .await
        .expect("reassign");
    assert_eq!(
        crm.follow_ups()
            .overdue(&a, Some(someone), t(4))
            .await
            .expect("overdue")
            .len(),
        1
    );
    // Due follow-ups are announced once each.
    let due = crm.follow_ups().notify_due(&a, t(1)).await.expect("due");
    assert_eq!(due.iter().map(|f| f.id).collect::<Vec<_>>(), vec![f1.id]);
    assert!(
        crm.follow_ups()
            .notify_due(&a, t(1))
            .await
            .expect("again")
            .is_empty(),
        "announced once"
    );
    let announced = crm
        .events().drain(&a, 0, 1000)
        .await
        .expect("events")
        .iter()
        .filter(|e| matches!(e.event.event, DomainEvent::FollowUpDue { follow_up } if follow_up == f1.id))
        .count();
    assert_eq!(announced, 1);
    // The tenant's grace period: two days.
    let mut settings = crm.tenant_settings(&a, t(1)).await.expect("settings");
    assert_eq!(
        settings.follow_up_grace_hours,
        DEFAULT_FOLLOW_UP_GRACE_HOURS
    );
    settings.follow_up_grace_hours = 48;
    crm.save_tenant_settings(&a, settings, t(1))
        .await
        .expect("save");
    // At day 5: f1 (due day 1) expires, f2 (due day 3) not yet.
    assert_eq!(
        crm.follow_ups()
            .expire_overdue(&a, t(5))
            .await
            .expect("expire"),
        1
    );
    assert_eq!(
        crm.follow_ups()
            .expire_overdue(&a, t(5))
            .await
            .expect("again"),
        0,
        "idempotent"
    );
    assert_eq!(
        crm.get::<FollowUp>(&a, f1.id).await.expect("get").status,
        FollowUpStatus::Expired
    );
    assert_eq!(
        crm.get::<FollowUp>(&a, f2.id).await.expect("get").status,
        FollowUpStatus::Pending
    );
    assert_eq!(
        crm.follow_ups()
            .expire_overdue(&a, t(6))
            .await
            .expect("expire"),
        1
    );
    let e = crm
        .follow_ups()
        .complete(&a, f1.id, t(7))
        .await
        .expect_err("expired");
    assert!(invalid(&e), "{e}");
    assert_eq!(
        crm.get::<FollowUp>(&a, f3.id).await.expect("get").status,
        FollowUpStatus::Pending
    );
}

fn new_lead(a: &Actor, first: &str, last: &str, email: &str, company: Option<&str>) -> Lead {
    let mut l = Lead::person(a.tenant, first, last, Some(email), t(0)).expect("lead");
    l.company = company.map(str::to_string);
    l.phone = Some(Phone::parse("+1 415 555 2671", None).expect("phone"));
    l.job_title = Some("CTO".into());
    l
}

/// The lead lifecycle allows new -> contacted -> qualified -> converted | disqualified |
/// lost (and reopening), refuses everything else, and plain updates cannot change status.
pub async fn lead_lifecycle(store: Store) {
    let (crm, a) = setup(store);
    let l = crm
        .create(
            &a,
            new_lead(&a, "Ada", "Byron", "ada@x.example", None),
            t(0),
        )
        .await
        .expect("lead");
    let e = crm.leads().lose(&a, l.id, t(1)).await.map(|_| ());
    assert!(e.is_ok(), "new -> lost is allowed");
    let e = crm
        .leads()
        .qualify(&a, l.id, t(2))
        .await
        .expect_err("lost -> qualified");
    assert!(invalid(&e), "{e}");
    crm.leads().reopen(&a, l.id, t(3)).await.expect("reopen");
    crm.leads()
        .contact(&a, l.id, t(4))
        .await
        .expect("contacted");
    let e = crm
        .leads()
        .contact(&a, l.id, t(4))
        .await
        .expect_err("contacted twice");
    assert!(invalid(&e), "{e}");
    let q = crm
        .leads()
        .qualify(&a, l.id, t(5))
        .await
        .expect("qualified");
    let mut sneaky = q.clone();
    sneaky.status = LeadStatus::New;
    let e = crm
        .update(&a, sneaky, t(6))
        .await
        .expect_err("plain update");
    assert!(invalid(&e), "{e}");
    let d = crm
        .leads()
        .disqualify(&a, l.id, "Student project", t(7))
        .await
        .expect("disqualify");
    let dq = d.disqualification.expect("reason recorded");
    assert_eq!(
        (dq.reason.as_str(), dq.by, dq.at),
        ("Student project", Some(a.user), t(7))
    );
    let e = crm
        .leads()
        .disqualify(&a, l.id, "again", t(8))
        .await
        .expect_err("twice");
    assert!(invalid(&e), "{e}");
    let mut converted = new_lead(&a, "X", "Y", "xy@x.example", None);
    converted.status = LeadStatus::Converted;
    let e = crm
        .create(&a, converted, t(9))
        .await
        .expect_err("a lead starts open");
    assert!(invalid(&e), "{e}");
}

/// Conversion creates customer, contact, contact points and deal, and links the lead;
/// converting twice fails; `link_existing` reuses the customer with the same e-mail.
pub async fn lead_conversion(store: Store) {
    let (crm, a) = setup(store);
    let l = crm
        .create(
            &a,
            new_lead(
                &a,
                "Grace",
                "Hopper",
                "grace@navy.example",
                Some("Navy Labs"),
            ),
            t(0),
        )
        .await
        .expect("lead");
    crm.leads().qualify(&a, l.id, t(1)).await.expect("qualify");
    let options = LeadConversion {
        contact: Default::default(),
        into_customer: None,
        link_existing: true,
        link_duplicates: false,
        deal: Some(ConversionDeal {
            name: "Compilers".into(),
            amount: eur(50_000),
            pipeline: None,
            stage: None,
        }),
    };
    let r = crm
        .leads()
        .convert(&a, l.id, options.clone(), t(2))
        .await
        .expect("convert");
    assert!(!r.linked_existing);
    let customer = crm.customers().get(&a, r.customer).await.expect("customer");
    assert_eq!(
        (customer.kind, customer.name.as_str()),
        (CustomerKind::Company, "Navy Labs")
    );
    let contact = crm
        .get::<Contact>(&a, r.contact.expect("contact"))
        .await
        .expect("contact");
    assert_eq!(
        (
            contact.full_name().as_str(),
            contact.is_primary,
            contact.job_title.as_deref()
        ),
        ("Grace Hopper", true, Some("CTO"))
    );
    let points = crm
        .list_all::<ContactPoint>(
            &a,
            ContactPointFilter {
                customer_id: Some(r.customer),
                ..Default::default()
            },
        )
        .await
        .expect("points");
    let mut values: Vec<&str> = points.iter().map(|p| p.value.as_str()).collect();
    values.sort();
    assert_eq!(values, vec!["+14155552671", "grace@navy.example"]);
    assert!(points
        .iter()
        .all(|p| p.contact_id == Some(contact.id) && p.primary));
    let deal = crm
        .get::<Deal>(&a, r.deal.expect("deal"))
        .await
        .expect("deal");
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("pipeline");
    assert_eq!(
        (deal.customer_id, deal.contact_id, deal.stage_id),
        (Some(customer.id), Some(contact.id), p.stages[0].id)
    );
    let history = crm
        .count::<StageChange>(
            &a,
            StageChangeFilter {
                deal_id: Some(deal.id),
                ..Default::default()
            },
        )
        .await
        .expect("history");
    assert_eq!(history, 1);
    let lead = crm.get::<Lead>(&a, l.id).await.expect("lead");
    assert_eq!(lead, r.lead);
    assert_eq!(
        (
            lead.status,
            lead.converted_customer_id,
            lead.converted_contact_id,
            lead.converted_deal_id,
            lead.converted_at
        ),
        (
            LeadStatus::Converted,
            Some(customer.id),
            Some(contact.id),
            Some(deal.id),
            Some(t(2))
        )
    );
    let e = crm
        .leads()
        .convert(&a, l.id, options, t(3))
        .await
        .expect_err("twice");
    assert!(invalid(&e), "{e}");

    // A second lead with the same e-mail links to the existing customer.
    let mut twin = new_lead(&a, "G.", "Hopper", "Grace@Navy.example", None);
    twin.phone = Some(Phone::parse("+1 202 555 0143", None).expect("phone"));
    let twin = crm.create(&a, twin, t(4)).await.expect("lead");
    let r2 = crm
        .leads()
        .convert(
            &a,
            twin.id,
            LeadConversion {
                contact: Default::default(),
                into_customer: None,
                link_existing: true,
                link_duplicates: false,
                deal: None,
            },
            t(5),
        )
        .await
        .expect("convert");
    assert!(r2.linked_existing);
    assert_eq!(r2.customer, customer.id);
    // The twin is Grace (she owns the e-mail): her contact is linked, not duplicated, and
    // gets the new phone, not as primary (she has one).
    assert_eq!(
        (r2.contact, r2.linked_existing_contact),
        (Some(contact.id), true)
    );
    let added = crm
        .list_all::<ContactPoint>(
            &a,
            ContactPointFilter {
                customer_id: Some(customer.id),
                value: Some("+12025550143".into()),
                ..Default::default()
            },
        )
        .await
        .expect("points");
    assert_eq!(
        added
            .iter()
            .map(|p| (p.contact_id, p.kind, p.primary))
            .collect::<Vec<_>>(),
        vec![(Some(contact.id), ContactPointKind::Phone, false)]
    );
    assert_eq!(
        crm.count::<Contact>(
            &a,
            ContactFilter {
                customer_id: Some(customer.id),
                ..Default::default()
            }
        )
        .await
        .expect("count"),
        1
    );
    let n = crm
        .count::<ContactPoint>(
            &a,
            ContactPointFilter {
                customer_id: Some(customer.id),
                ..Default::default()
            },
        )
        .await
        .expect("count");
    assert_eq!(
        n, 3,
        "the known e-mail is not duplicated, the new phone is added"
    );
    assert_eq!(
        crm.count::<Customer>(&a, CustomerFilter::default())
            .await
            .expect("count"),
        1
    );

    // A person lead without company becomes a person customer without contact.
    let solo = crm
        .create(
            &a,
            new_lead(&a, "Alan", "Kay", "alan@x.example", None),
            t(6),
        )
        .await
        .expect("lead");
    let r3 = crm
        .leads()
        .convert(&a, solo.id, LeadConversion::default(), t(7))
        .await
        .expect("convert");
    let c3 = crm
        .customers()
        .get(&a, r3.customer)
        .await
        .expect("customer");
    assert_eq!(
        (c3.kind, c3.name.as_str(), r3.contact, r3.deal),
        (CustomerKind::Person, "Alan Kay", None, None)
    );
}

/// A failure injected after any step of a conversion leaves nothing of it written.
pub async fn lead_conversion_is_atomic_at_every_step(store: Store) {
    let (crm, a) = setup(store);
    let l = crm
        .create(
            &a,
            new_lead(&a, "Linus", "T", "linus@kernel.example", Some("Kernel Co")),
            t(0),
        )
        .await
        .expect("lead");
    let options = LeadConversion {
        contact: Default::default(),
        into_customer: None,
        link_existing: false,
        link_duplicates: false,
        deal: Some(ConversionDeal {
            name: "Support".into(),
            amount: eur(1_000),
            pipeline: None,
            stage: None,
        }),
    };
    crm.pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("pipeline");
    let (plan, _) = crm
        .leads()
        .plan_conversion(&a, l.id, &options, t(1))
        .await
        .expect("plan");
    assert!(
        plan.len() >= 6,
        "customer, contact, 2 points, deal, stage change, lead: {}",
        plan.len()
    );
    // The poison: an update of the lead with a version that is not the stored one.
    let mut stale = crm.get::<Lead>(&a, l.id).await.expect("lead");
    stale.version += 7;
    for k in 0..=plan.len() {
        let mut cs = ChangeSet::new();
        cs.changes.extend(plan.changes.iter().take(k).cloned());
        cs.push_update(stale.clone());
        let e = crm.apply_unchecked(&a, cs).await.expect_err("poisoned");
        assert!(matches!(e, CrmError::Conflict { .. }), "step {k}: {e}");
        assert_eq!(
            crm.count::<Customer>(&a, CustomerFilter::default())
                .await
                .expect("count"),
            0,
            "step {k}"
        );
        assert_eq!(
            crm.count::<Contact>(&a, ContactFilter::default())
                .await
                .expect("count"),
            0,
            "step {k}"
        );
        assert_eq!(
            crm.count::<ContactPoint>(&a, ContactPointFilter::default())
                .await
                .expect("count"),
            0,
            "step {k}"
        );
        assert_eq!(
            crm.count::<Deal>(&a, DealFilter::default())
                .await
                .expect("count"),
            0,
            "step {k}"
        );
        assert_eq!(
            crm.count::<StageChange>(&a, StageChangeFilter::default())
                .await
                .expect("count"),
            0,
            "step {k}"
        );
        assert_eq!(
            crm.get::<Lead>(&a, l.id).await.expect("lead").status,
            LeadStatus::New,
            "step {k}"
        );
    }
    crm.apply_unchecked(&a, plan)
        .await
        .expect("the unpoisoned plan applies");
    assert_eq!(
        crm.get::<Lead>(&a, l.id).await.expect("lead").status,
        LeadStatus::Converted
    );
}

/// Every state change appends an event to the tenant's outbox in the same change set;
/// events are numbered 1, 2, 3, ... per tenant and drained in pages.
pub async fn outbox_records_state_changes(store: Store) {
    let (crm, a) = setup(store);
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("default");
    let lead = crm
        .create(
            &a,
            new_lead(&a, "Eve", "Ops", "eve@ops.example", Some("Ops Inc")),
            t(0),
        )
        .await
        .expect("lead");
    crm.leads()
        .qualify(&a, lead.id, t(1))
        .await
        .expect("qualify");
    let conv = crm
        .leads()
        .convert(
            &a,
            lead.id,
            LeadConversion {
                contact: Default::default(),
                into_customer: None,
                link_existing: false,
                link_duplicates: false,
                deal: Some(ConversionDeal {
                    name: "Ops".into(),
                    amount: eur(5_000),
                    pipeline: None,
                    stage: None,
                }),
            },
            t(2),
        )
        .await
        .expect("convert");
    let deal = conv.deal.expect("deal");
    crm.deals()
        .move_to_stage(&a, deal, p.stage_named("Proposal").expect("s").id, t(3))
        .await
        .expect("move");
    let i = Interaction::new(
        a.tenant,
        Logged {
            channel: Channel::Email,
            direction: InteractionDirection::Inbound,
            links: Links::deal(deal),
            occurred_at: t(4),
        },
        t(4),
    )
    .expect("i");
    crm.create(&a, i, t(4)).await.expect("log");
    crm.deals().win(&a, deal, None, t(5)).await.expect("win");
    // A refused transition writes no event.
    assert!(matches!(
        crm.deals().win(&a, deal, None, t(6)).await,
        Err(CrmError::InvalidTransition { from, .. }) if from == "won"
    ));

    let all = crm.events().drain(&a, 0, 1000).await.expect("drain");
    let is_record = |e: &DomainEvent| {
        matches!(
            e,
            DomainEvent::RecordCreated { .. }
                | DomainEvent::RecordUpdated { .. }
                | DomainEvent::RecordDeleted { .. }
        )
    };
    let types: Vec<String> = all
        .iter()
        .filter(|e| !is_record(&e.event.event))
        .map(|e| e.event.event.type_name())
        .collect();
    assert_eq!(
        types,
        vec![
            "lead_status_changed",
            "deal_created",
            "lead_converted",
            "deal_stage_changed",
            "interaction_logged",
            "deal_won"
        ]
    );
    let n = all.len() as u64;
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=n).collect::<Vec<u64>>()
    );
    assert!(all.iter().all(|e| e.tenant == a.tenant));
    let converted = all
        .iter()
        .find(|e| matches!(e.event.event, DomainEvent::LeadConverted { .. }))
        .expect("converted");
    assert!(
        matches!(converted.event.event, DomainEvent::LeadConverted { lead: l, deal: Some(d), .. } if l == lead.id && d == deal)
    );
    // Every row written has its record event, updates with the fields that changed.
    let created = |kind: EntityKind| {
        all.iter()
            .filter(|e| matches!(&e.event.event, DomainEvent::RecordCreated { record, .. } if record.kind == kind))
            .count()
    };
    assert_eq!(created(EntityKind::Pipeline), 1, "the default pipeline");
    assert_eq!(created(EntityKind::Lead), 1);
    assert_eq!(created(EntityKind::Customer), 1);
    assert_eq!(created(EntityKind::Contact), 1);
    assert_eq!(
        created(EntityKind::ContactPoint),
        2,
        "the lead's e-mail and phone"
    );
    assert_eq!(created(EntityKind::Deal), 1);
    assert_eq!(created(EntityKind::StageChange), 3, "created, moved, won");
    assert_eq!(created(EntityKind::Interaction), 1);
    let updates = |id: uuid::Uuid| -> Vec<Vec<String>> {
        all.iter()
            .filter_map(|e| match &e.event.event {
                DomainEvent::RecordUpdated { record, fields, .. } if record.id == id => {
                    Some(fields.clone())
                }
                _ => None,
            })
            .collect()
    };
    let lead_updates = updates(lead.id.into());
    assert_eq!(lead_updates[0], vec!["status".to_string()], "qualified");
    assert!(lead_updates[1].contains(&"converted_deal_id".to_string()));
    let deal_updates = updates(deal.into());
    assert!(
        deal_updates[0].contains(&"stage_id".to_string()),
        "{deal_updates:?}"
    );
    assert!(
        deal_updates
            .iter()
            .any(|f| f.contains(&"status".to_string())),
        "won"
    );
    assert!(
        all.iter().all(|e| !matches!(&e.event.event, DomainEvent::RecordUpdated { fields, .. } if fields.iter().any(|f| f == "version" || f == "updated_at"))),
        "bookkeeping fields are left out"
    );
    // Paging: after 2, two at a time.
    let page = crm.events().drain(&a, 2, 2).await.expect("page");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert!(crm.events().drain(&a, n, 10).await.expect("end").is_empty());
    assert!(matches!(
        crm.events().drain(&a, 0, 0).await,
        Err(CrmError::Validation { .. })
    ));
    // Another tenant's outbox is its own.
    let b = Actor::new(TenantId::new(), a.user);
    assert!(crm
        .events()
        .drain(&b, 0, 1000)
        .await
        .expect("drain")
        .is_empty());
}

/// External events advance deals per the mapping, only forward, and a replayed event id
/// has no second effect.
pub async fn external_events_advance_deals_once(store: Store) {
    let (crm, a) = setup(store);
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("default");
    let d = deal(&crm, &a, &p, "Qualification", "ERP deal", t(0)).await;
    let ev = |id: &str, kind| ExternalEvent {
        id: id.into(),
        kind,
        deal: d.id,
    };
    let out = crm
        .deals()
        .handle_external_event(&a, &ev("Q-1", ExternalEventKind::QuoteSent), t(1))
        .await
        .expect("quote");
    assert!(
        matches!(&out, ExternalOutcome::Advanced(x) if x.stage_id == p.stage_named("Proposal").expect("s").id),
        "{out:?}"
    );
    let again = crm
        .deals()
        .handle_external_event(&a, &ev("Q-1", ExternalEventKind::QuoteSent), t(2))
        .await
        .expect("replay");
    assert_eq!(again, ExternalOutcome::Duplicate);
    let n = crm
        .count::<StageChange>(
            &a,
            StageChangeFilter {
                deal_id: Some(d.id),
                ..Default::default()
            },
        )
        .await
        .expect("history");
    assert_eq!(n, 2, "created + quote; the replay moved nothing");
    crm.deals()
        .handle_external_event(&a, &ev("O-1", ExternalEventKind::OrderCreated), t(3))
        .await
        .expect("order");
    // A late quote does not move the deal back, but is recorded once.
    let late = crm
        .deals()
        .handle_external_event(&a, &ev("Q-2", ExternalEventKind::QuoteSent), t(4))
        .await
        .expect("late quote");
    match &late {
        ExternalOutcome::Unchanged { deal, reason } => {
            assert_eq!(deal.stage_id, p.stage_named("Negotiation").expect("s").id);
            assert_eq!(
                reason,
                &UnchangedReason::AtOrPastStage {
                    stage: "Proposal".into(),
                    current: "Negotiation".into()
                }
            );
        }
        other => panic!("expected Unchanged, got {other:?}"),
    }
    let paid = crm
        .deals()
        .handle_external_event(&a, &ev("I-1", ExternalEventKind::InvoicePaid), t(5))
        .await
        .expect("paid");
    assert!(
        matches!(&paid, ExternalOutcome::Advanced(x) if x.status == DealStatus::Won),
        "{paid:?}"
    );
    let stored = crm.get::<Deal>(&a, d.id).await.expect("deal");
    assert_eq!(
        (stored.status, stored.closed_at),
        (DealStatus::Won, Some(t(5)))
    );
    assert_eq!(
        crm.deals()
            .handle_external_event(&a, &ev("I-1", ExternalEventKind::InvoicePaid), t(6))
            .await
            .expect("replay"),
        ExternalOutcome::Duplicate
    );
    let received = crm
        .events()
        .drain(&a, 0, 1000)
        .await
        .expect("drain")
        .into_iter()
        .filter(|e| matches!(e.event.event, DomainEvent::ExternalEventReceived { .. }))
        .count();
    assert_eq!(received, 4, "Q-1, O-1, Q-2, I-1 once each");
    let e = crm
        .deals()
        .handle_external_event(&a, &ev(" ", ExternalEventKind::QuoteSent), t(7))
        .await
        .expect_err("empty id");
    assert!(matches!(e, CrmError::Validation { .. }), "{e}");
}

/// Tenant settings: one row per tenant; its lost reasons restrict `lose_deal`; its mapping
/// overrides the default for external events.
pub async fn tenant_settings_drive_the_rules(store: Store) {
    let (crm, a) = setup(store);
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("default");
    let mut s = crm.tenant_settings(&a, t(0)).await.expect("defaults");
    s.lost_reasons = vec!["Price".into(), "Timing".into()];
    s.external_mapping = Some(vec![(
        ExternalEventKind::QuoteSent,
        ExternalTarget::Stage("Negotiation".into()),
    )]);
    let s = crm.save_tenant_settings(&a, s, t(0)).await.expect("save");
    assert_eq!(crm.tenant_settings(&a, t(1)).await.expect("read"), s);
    let dup = crm
        .create(&a, TenantSettings::defaults(a.tenant, t(1)), t(1))
        .await;
    assert!(
        matches!(dup, Err(CrmError::AlreadyExists { .. })),
        "one settings row per tenant: {dup:?}"
    );
    let d = deal(&crm, &a, &p, "Prospecting", "D", t(1)).await;
    let e = crm
        .deals()
        .lose(
            &a,
            d.id,
            Loss {
                reason: "Weather",
                ..Loss::default()
            },
            t(2),
        )
        .await
        .expect_err("not a listed reason");
    assert!(
        matches!(e, CrmError::Validation { ref field, .. } if field == "lost_reason"),
        "{e}"
    );
    let out = crm
        .deals()
        .handle_external_event(
            &a,
            &ExternalEvent {
                id: "q".into(),
                kind: ExternalEventKind::QuoteSent,
                deal: d.id,
            },
            t(3),
        )
        .await
        .expect("quote");
    assert!(
        matches!(&out, ExternalOutcome::Advanced(x) if x.stage_id == p.stage_named("Negotiation").expect("s").id),
        "{out:?}"
    );
    // Unmapped kinds are recorded but move nothing.
    let out = crm
        .deals()
        .handle_external_event(
            &a,
            &ExternalEvent {
                id: "o".into(),
                kind: ExternalEventKind::InvoicePaid,
                deal: d.id,
            },
            t(4),
        )
        .await
        .expect("paid");
    assert!(
        matches!(
            &out,
            ExternalOutcome::Unchanged {
                reason: UnchangedReason::NotMapped {
                    kind: ExternalEventKind::InvoicePaid
                },
                ..
            }
        ),
        "{out:?}"
    );
    let lost = crm
        .deals()
        .lose(
            &a,
            d.id,
            Loss {
                reason: "price",
                ..Loss::default()
            },
            t(5),
        )
        .await
        .expect("listed reason, any case");
    assert_eq!(lost.status, DealStatus::Lost);
    // Other tenants keep the defaults.
    let b = Actor::new(TenantId::new(), a.user);
    assert!(crm
        .tenant_settings(&b, t(0))
        .await
        .expect("defaults")
        .lost_reasons
        .is_empty());
}

/// The contact points of `customer` (its own and its contacts').
async fn points_of(crm: &Crm<dyn CrmStore>, a: &Actor, customer: CustomerId) -> Vec<ContactPoint> {
    crm.list_all::<ContactPoint>(
        a,
        ContactPointFilter {
            customer_id: Some(customer),
            ..Default::default()
        },
    )
    .await
    .expect("points")
}

/// The contacts of `customer`.
async fn contacts_of(crm: &Crm<dyn CrmStore>, a: &Actor, customer: CustomerId) -> Vec<Contact> {
    crm.list_all::<Contact>(
        a,
        ContactFilter {
            customer_id: Some(customer),
            ..Default::default()
        },
    )
    .await
    .expect("contacts")
}

/// `(owner contact, kind, value, primary)` of the points of `customer` with `value`.
async fn point_rows(
    crm: &Crm<dyn CrmStore>,
    a: &Actor,
    customer: CustomerId,
    value: &str,
) -> Vec<(Option<ContactId>, ContactPointKind, bool)> {
    points_of(crm, a, customer)
        .await
        .into_iter()
        .filter(|p| p.value == value)
        .map(|p| (p.contact_id, p.kind, p.primary))
        .collect()
}

/// A lead of `first last` with an optional e-mail, company and phone (already parsed).
fn lead_of(
    a: &Actor,
    first: &str,
    last: &str,
    email: Option<&str>,
    company: Option<&str>,
    phone: Option<Phone>,
) -> Lead {
    let mut l = Lead::person(a.tenant, first, last, email, t(0)).expect("lead");
    l.company = company.map(str::to_string);
    l.phone = phone;
    l
}

/// Converting into an existing customer keeps the lead's person: an equal existing contact
/// (same e-mail, same folded name, same phone) is linked, else a contact is created under
/// the customer (primary only if it has none), and the lead's e-mail and phone go to that
/// person without duplicating the customer's points. A caller can name the customer
/// (`into_customer`), which wins over the lookups; an unknown or foreign id is `NotFound`
/// and writes nothing. A person customer with the lead's name, or a lead without a person
/// name, is the person itself: points at customer level. Phones keep the E.164 form the
/// lead was read in, or are read in the customer's region.
pub async fn lead_conversion_into_existing_customer(store: Store) {
    let (crm, a) = setup(store);
    let mut acme = Customer::company(a.tenant, "Acme Tools", t(0)).expect("c");
    acme.first_contact_at = Some(t(0));
    let acme = crm.customers().create(&a, acme, t(0)).await.expect("acme");
    let switchboard = "+493012345678";
    crm.contacts()
        .add_point(
            &a,
            acme.id,
            None,
            ContactPointKind::Email,
            "info@acme.example",
            t(0),
        )
        .await
        .expect("info");
    crm.contacts()
        .add_point(
            &a,
            acme.id,
            None,
            ContactPointKind::Phone,
            switchboard,
            t(0),
        )
        .await
        .expect("switchboard");
    let mut bob = Contact::new(a.tenant, acme.id, "Bob", "Builder", t(0)).expect("bob");
    bob.is_primary = true;
    let bob = crm.create(&a, bob, t(0)).await.expect("bob");
    crm.contacts()
        .add_point(
            &a,
            acme.id,
            Some(bob.id),
            ContactPointKind::Email,
            "bob@acme.example",
            t(0),
        )
        .await
        .expect("bob's e-mail");
    let mut berlin = Location::new(
        a.tenant,
        acme.id,
        AddressParts {
            line1: Some("Main St 1"),
            postal_code: Some("10115"),
            city: Some("Berlin"),
            country: Some("DE"),
        },
        t(0),
    )
    .expect("location");
    berlin.primary = true;
    crm.create(&a, berlin, t(0)).await.expect("location");
    let p = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("pipeline");

    // (a) Found by the switchboard phone (customer level): nobody at Acme is Ada, so she
    // becomes a contact (not primary: Bob is), with her e-mail (primary, her first); the
    // phone is Acme's already and is not duplicated. The deal and the event name her.
    let ada = crm
        .create(
            &a,
            lead_of(
                &a,
                "Ada",
                "Lovelace",
                Some("ada@acme.example"),
                Some("Acme"),
                Some(Phone::parse(switchboard, None).expect("phone")),
            ),
            t(1),
        )
        .await
        .expect("lead");
    let r = crm
        .leads()
        .convert(
            &a,
            ada.id,
            LeadConversion {
                contact: Default::default(),
                into_customer: None,
                link_existing: true,
                link_duplicates: false,
                deal: Some(ConversionDeal {
                    name: "Engines".into(),
                    amount: eur(9_000),
                    pipeline: None,
                    stage: None,
                }),
            },
            t(2),
        )
        .await
        .expect("convert");
    assert_eq!(
        (r.customer, r.linked_existing, r.linked_existing_contact),
        (acme.id, true, false)
    );
    let ada_contact = crm
        .get::<Contact>(&a, r.contact.expect("a contact for the lead's person"))
        .await
        .expect("contact");
    assert_eq!(
        (
            ada_contact.customer_id,
            ada_contact.full_name().as_str(),
            ada_contact.is_primary
        ),
        (acme.id, "Ada Lovelace", false)
    );
    assert_eq!(
        point_rows(&crm, &a, acme.id, "ada@acme.example").await,
        vec![(Some(ada_contact.id), ContactPointKind::Email, true)]
    );
    assert_eq!(
        point_rows(&crm, &a, acme.id, switchboard).await,
        vec![(None, ContactPointKind::Phone, true)],
        "the known phone is not duplicated"
    );
    let deal = crm
        .get::<Deal>(&a, r.deal.expect("deal"))
        .await
        .expect("deal");
    assert_eq!(
        (deal.customer_id, deal.contact_id, deal.pipeline_id),
        (Some(acme.id), Some(ada_contact.id), p.id)
    );
    let lead = crm.get::<Lead>(&a, ada.id).await.expect("lead");
    assert_eq!(
        (lead.converted_customer_id, lead.converted_contact_id),
        (Some(acme.id), Some(ada_contact.id))
    );
    let events = crm.events().drain(&a, 0, 1000).await.expect("events");
    let converted: Vec<_> = events
        .iter()
        .filter_map(|e| match &e.event.event {
            DomainEvent::LeadConverted {
                lead,
                customer,
                contact,
                deal,
            } => Some((*lead, *customer, *contact, *deal)),
            _ => None,
        })
        .collect();
    assert_eq!(
        converted,
        vec![(ada.id, acme.id, Some(ada_contact.id), Some(deal.id))]
    );

    // (b) Named explicitly, recognised by folded name: "BOB builder" (no e-mail to tell
    // him apart) is Bob. His phone, entered without "+" and not parseable without a
    // region, is read in Acme's region (Germany), and is his primary. (A namesake with an
    // e-mail Bob does not have would be someone else: see
    // `lead_conversion_contact_choice_and_concurrency`.)
    let bob_lead = crm
        .create(
            &a,
            lead_of(
                &a,
                "BOB",
                "builder",
                None,
                None,
                Some(Phone::parse("0171 2345678", None).expect("phone")),
            ),
            t(3),
        )
        .await
        .expect("lead");
    assert_eq!(bob_lead.phone.as_ref().and_then(|p| p.e164.clone()), None);
    let r = crm
        .leads()
        .convert(
            &a,
            bob_lead.id,
            LeadConversion {
                contact: Default::default(),
                into_customer: Some(acme.id),
                ..Default::default()
            },
            t(4),
        )
        .await
        .expect("convert");
    assert_eq!(
        (
            r.customer,
            r.linked_existing,
            r.contact,
            r.linked_existing_contact
        ),
        (acme.id, true, Some(bob.id), true)
    );
    let mobile: Vec<_> = points_of(&crm, &a, acme.id)
        .await
        .into_iter()
        .filter(|p| p.value == "+491712345678")
        .map(|p| (p.contact_id, p.primary, p.raw_value))
        .collect();
    assert_eq!(
        mobile,
        vec![(Some(bob.id), true, "0171 2345678".to_string())]
    );

    // (c) The lead's e-mail is Bob's: recognised by e-mail despite another name; nothing
    // new is written but the conversion itself.
    let before = points_of(&crm, &a, acme.id).await.len();
    let robert = crm
        .create(
            &a,
            lead_of(&a, "Robert", "B.", Some("BOB@acme.example"), None, None),
            t(5),
        )
        .await
        .expect("lead");
    let r = crm
        .leads()
        .convert(
            &a,
            robert.id,
            LeadConversion {
                contact: Default::default(),
                link_existing: true,
                ..Default::default()
            },
            t(6),
        )
        .await
        .expect("convert");
    assert_eq!(
        (r.customer, r.contact, r.linked_existing_contact),
        (acme.id, Some(bob.id), true)
    );
    assert_eq!(points_of(&crm, &a, acme.id).await.len(), before);
    assert_eq!(contacts_of(&crm, &a, acme.id).await.len(), 2, "Bob and Ada");

    // (d) The named customer wins over the lookups: the e-mail is Acme's, but the user
    // picked Zed, which has no contact yet, so Carol becomes its primary contact.
    let zed = crm
        .customers()
        .create(
            &a,
            Customer::company(a.tenant, "Zed Ltd", t(0)).expect("c"),
            t(0),
        )
        .await
        .expect("zed");
    let carol = crm
        .create(
            &a,
            lead_of(
                &a,
                "Carol",
                "Danvers",
                Some("info@acme.example"),
                None,
                None,
            ),
            t(7),
        )
        .await
        .expect("lead");
    let r = crm
        .leads()
        .convert(
            &a,
            carol.id,
            LeadConversion {
                contact: Default::default(),
                into_customer: Some(zed.id),
                link_existing: true,
                link_duplicates: true,
                deal: None,
            },
            t(8),
        )
        .await
        .expect("convert");
    let carol_contact = r.contact.expect("contact");
    assert_eq!((r.customer, r.linked_existing_contact), (zed.id, false));
    let zed_contacts = contacts_of(&crm, &a, zed.id).await;
    assert_eq!(
        zed_contacts
            .iter()
            .map(|c| (c.id, c.full_name(), c.is_primary))
            .collect::<Vec<_>>(),
        vec![(carol_contact, "Carol Danvers".to_string(), true)]
    );
    assert_eq!(
        point_rows(&crm, &a, zed.id, "info@acme.example").await,
        vec![(Some(carol_contact), ContactPointKind::Email, true)]
    );

    // (e) An unknown id, or another tenant's customer, is NotFound and writes nothing.
    let other = Actor::new(TenantId::new(), a.user);
    let foreign = crm
        .customers()
        .create(
            &other,
            Customer::company(other.tenant, "Elsewhere", t(0)).expect("c"),
            t(0),
        )
        .await
        .expect("foreign");
    let eve = crm
        .create(
            &a,
            lead_of(&a, "Eve", "Stone", Some("eve@x.example"), Some("X"), None),
            t(9),
        )
        .await
        .expect("lead");
    let counts = |crm: Crm<dyn CrmStore>, a: Actor| async move {
        (
            crm.count::<Customer>(&a, CustomerFilter::default())
                .await
                .expect("count"),
            crm.count::<Contact>(&a, ContactFilter::default())
                .await
                .expect("count"),
            crm.count::<ContactPoint>(&a, ContactPointFilter::default())
                .await
                .expect("count"),
            crm.count::<Deal>(&a, DealFilter::default())
                .await
                .expect("count"),
        )
    };
    let before = counts(crm.clone(), a.clone()).await;
    for missing in [CustomerId::new(), foreign.id] {
        let e = crm
            .leads()
            .convert(
                &a,
                eve.id,
                LeadConversion {
                    contact: Default::default(),
                    into_customer: Some(missing),
                    link_existing: true,
                    link_duplicates: false,
                    deal: Some(ConversionDeal {
                        name: "Never".into(),
                        amount: eur(1),
                        pipeline: None,
                        stage: None,
                    }),
                },
                t(10),
            )
            .await
            .expect_err("not a customer of the tenant");
        assert!(
            matches!(&e, CrmError::NotFound { entity: EntityKind::Customer, id } if *id == missing.to_string()),
            "{e:?}"
        );
        assert_eq!(counts(crm.clone(), a.clone()).await, before);
        assert_eq!(
            crm.get::<Lead>(&a, eve.id).await.expect("lead").status,
            LeadStatus::New
        );
    }
    assert_eq!(
        crm.count::<Contact>(&other, ContactFilter::default())
            .await
            .expect("count"),
        0,
        "the other tenant is untouched"
    );

    // (f) A person customer with the lead's name is the person: no contact, the points at
    // customer level (the e-mail not primary: it has one; the phone primary: its first).
    let alan = crm
        .customers()
        .create(
            &a,
            Customer::person(a.tenant, "Alan", "Kay", t(0)).expect("c"),
            t(0),
        )
        .await
        .expect("alan");
    crm.contacts()
        .add_point(
            &a,
            alan.id,
            None,
            ContactPointKind::Email,
            "alan@kay.example",
            t(0),
        )
        .await
        .expect("e-mail");
    let alan_lead = crm
        .create(
            &a,
            lead_of(
                &a,
                "alan",
                "KAY",
                Some("alan@work.example"),
                None,
                Some(Phone::parse("+1 415 555 2671", None).expect("phone")),
            ),
            t(11),
        )
        .await
        .expect("lead");
    let r = crm
        .leads()
        .convert(
            &a,
            alan_lead.id,
            LeadConversion {
                contact: Default::default(),
                into_customer: Some(alan.id),
                ..Default::default()
            },
            t(12),
        )
        .await
        .expect("convert");
    assert_eq!(
        (r.customer, r.contact, r.linked_existing_contact),
        (alan.id, None, false)
    );
    assert!(contacts_of(&crm, &a, alan.id).await.is_empty());
    assert_eq!(
        point_rows(&crm, &a, alan.id, "alan@work.example").await,
        vec![(None, ContactPointKind::Email, false)]
    );
    assert_eq!(
        point_rows(&crm, &a, alan.id, "+14155552671").await,
        vec![(None, ContactPointKind::Phone, true)]
    );
    // ... while someone else converted into that person customer is a contact of it.
    let mary = crm
        .create(
            &a,
            lead_of(&a, "Mary", "Kay", Some("mary@kay.example"), None, None),
            t(13),
        )
        .await
        .expect("lead");
    let r = crm
        .leads()
        .convert(
            &a,
            mary.id,
            LeadConversion {
                contact: Default::default(),
                into_customer: Some(alan.id),
                ..Default::default()
            },
            t(14),
        )
        .await
        .expect("convert");
    let mary_contact = crm
        .get::<Contact>(&a, r.contact.expect("contact"))
        .await
        .expect("contact");
    assert_eq!(
        (
            mary_contact.customer_id,
            mary_contact.full_name().as_str(),
            mary_contact.is_primary
        ),
        (alan.id, "Mary Kay", true)
    );

    // (g) A lead without a person name is the customer's: points at customer level.
    let mut nameless = Lead::new(a.tenant, t(15));
    nameless.company = Some("Acme".into());
    nameless.email = Some(Email::parse("sales@acme.example").expect("email"));
    let nameless = crm.create(&a, nameless, t(15)).await.expect("lead");
    let r = crm
        .leads()
        .convert(
            &a,
            nameless.id,
            LeadConversion {
                contact: Default::default(),
                into_customer: Some(acme.id),
                ..Default::default()
            },
            t(16),
        )
        .await
        .expect("convert");
    assert_eq!((r.customer, r.contact), (acme.id, None));
    assert_eq!(
        point_rows(&crm, &a, acme.id, "sales@acme.example").await,
        vec![(None, ContactPointKind::Email, false)]
    );

    // (h) A new customer keeps the E.164 form the lead's phone was read in.
    let globex = crm
        .create(
            &a,
            lead_of(
                &a,
                "Hank",
                "Scorpio",
                None,
                Some("Globex"),
                Some(Phone::parse("0161 496 0000", Some("GB")).expect("phone")),
            ),
            t(17),
        )
        .await
        .expect("lead");
    let r = crm
        .leads()
        .convert(&a, globex.id, LeadConversion::default(), t(18))
        .await
        .expect("convert");
    assert!(!r.linked_existing);
    let hank = r.contact.expect("company lead: a contact");
    assert_eq!(
        point_rows(&crm, &a, r.customer, "+441614960000").await,
        vec![(Some(hank), ContactPointKind::Phone, true)]
    );
}

/// A conversion into an existing customer (a new contact, its points, a deal and its
/// stage change, the lead) is one change set: a failure injected after any step of it
/// leaves nothing written.
pub async fn lead_conversion_into_existing_customer_is_atomic(store: Store) {
    let (crm, a) = setup(store);
    let acme = crm
        .customers()
        .create(
            &a,
            Customer::company(a.tenant, "Acme", t(0)).expect("c"),
            t(0),
        )
        .await
        .expect("acme");
    let mut bob = Contact::new(a.tenant, acme.id, "Bob", "Builder", t(0)).expect("bob");
    bob.is_primary = true;
    crm.create(&a, bob, t(0)).await.expect("bob");
    crm.pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("pipeline");
    let l = crm
        .create(
            &a,
            new_lead(&a, "Linus", "T", "linus@kernel.example", Some("Kernel Co")),
            t(0),
        )
        .await
        .expect("lead");
    let options = LeadConversion {
        contact: Default::default(),
        into_customer: Some(acme.id),
        link_existing: false,
        link_duplicates: false,
        deal: Some(ConversionDeal {
            name: "Support".into(),
            amount: eur(1_000),
            pipeline: None,
            stage: None,
        }),
    };
    let (plan, planned) = crm
        .leads()
        .plan_conversion(&a, l.id, &options, t(1))
        .await
        .expect("plan");
    assert_eq!(planned.customer, acme.id);
    assert!(planned.contact.is_some() && !planned.linked_existing_contact);
    assert!(
        plan.len() >= 6,
        "contact, 2 points, deal, stage change, lead: {}",
        plan.len()
    );
    let mut stale = crm.get::<Lead>(&a, l.id).await.expect("lead");
    stale.version += 7;
    for k in 0..=plan.len() {
        let mut cs = ChangeSet::new();
        cs.changes.extend(plan.changes.iter().take(k).cloned());
        cs.push_update(stale.clone());
        let e = crm.apply_unchecked(&a, cs).await.expect_err("poisoned");
        assert!(matches!(e, CrmError::Conflict { .. }), "step {k}: {e}");
        assert_eq!(contacts_of(&crm, &a, acme.id).await.len(), 1, "step {k}");
        assert!(points_of(&crm, &a, acme.id).await.is_empty(), "step {k}");
        assert_eq!(
            crm.count::<Deal>(&a, DealFilter::default())
                .await
                .expect("count"),
            0,
            "step {k}"
        );
        assert_eq!(
            crm.count::<StageChange>(&a, StageChangeFilter::default())
                .await
                .expect("count"),
            0,
            "step {k}"
        );
        assert_eq!(
            crm.get::<Lead>(&a, l.id).await.expect("lead").status,
            LeadStatus::New,
            "step {k}"
        );
        assert!(
            !crm.events()
                .drain(&a, 0, 1000)
                .await
                .expect("events")
                .iter()
                .any(|e| matches!(e.event.event, DomainEvent::LeadConverted { .. })),
            "step {k}"
        );
    }
    crm.apply_unchecked(&a, plan)
        .await
        .expect("the unpoisoned plan applies");
    let contacts = contacts_of(&crm, &a, acme.id).await;
    assert_eq!(contacts.len(), 2);
    let linus = contacts
        .iter()
        .find(|c| Some(c.id) == planned.contact)
        .expect("the planned contact");
    assert_eq!(
        (
            linus.full_name().as_str(),
            linus.is_primary,
            linus.job_title.as_deref()
        ),
        ("Linus T", false, Some("CTO"))
    );
    assert_eq!(points_of(&crm, &a, acme.id).await.len(), 2);
    let lead = crm.get::<Lead>(&a, l.id).await.expect("lead");
    assert_eq!(
        (lead.status, lead.converted_contact_id),
        (LeadStatus::Converted, planned.contact)
    );
}

/// An external event that cannot move its deal says why (a typed reason) and is still
/// recorded once; custom pipelines are mapped per pipeline, overriding the tenant-wide (or
/// default) mapping kind by kind.
pub async fn external_events_report_why_unchanged(store: Store) {
    let (crm, a) = setup(store.clone());
    let sales = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("default");
    let service = service_pipeline(&crm, &a).await;
    let support = crm
        .pipelines()
        .create(
            &a,
            "Support",
            vec![Stage::open("Triage", 10).expect("s"), Stage::lost("Closed")],
            t(0),
        )
        .await
        .expect("support");
    let job = deal(&crm, &a, &service, "New", "Service job", t(0)).await;
    let ticket = deal(&crm, &a, &support, "Triage", "Ticket", t(0)).await;
    let classic = deal(&crm, &a, &sales, "Qualification", "Classic", t(0)).await;
    let send = |id: &str, kind, deal: DealId, at| {
        let crm = crm.clone();
        let a = a.clone();
        let ev = ExternalEvent {
            id: id.into(),
            kind,
            deal,
        };
        async move {
            crm.deals()
                .handle_external_event(&a, &ev, at)
                .await
                .expect("handle")
        }
    };
    let reason = |out: &ExternalOutcome| match out {
        ExternalOutcome::Unchanged { reason, .. } => reason.clone(),
        other => panic!("expected Unchanged, got {other:?}"),
    };

    // The default mapping names "Proposal": the Service pipeline has none.
    let out = send("Q-1", ExternalEventKind::QuoteSent, job.id, t(1)).await;
    let not_found = UnchangedReason::StageNotFound {
        stage: "Proposal".into(),
        pipeline: service.id,
        pipeline_name: "Service".into(),
    };
    assert_eq!(reason(&out), not_found);
    assert_eq!(
        not_found.to_string(),
        "pipeline \"Service\" has no stage named \"Proposal\""
    );
    match &out {
        ExternalOutcome::Unchanged { deal, .. } => assert_eq!(deal, &job),
        other => panic!("{other:?}"),
    }
    assert!(not_found.is_mapping_problem());
    assert_eq!(
        reason(&send("Q-1", ExternalEventKind::QuoteSent, job.id, t(2)).await),
        not_found,
        "a mapping problem does not claim the id: a resend is handled again"
    );
    // A pipeline without a won stage cannot be won by an invoice.
    assert_eq!(
        reason(&send("I-0", ExternalEventKind::InvoicePaid, ticket.id, t(2)).await),
        UnchangedReason::NoWonStage {
            pipeline: support.id,
            pipeline_name: "Support".into()
        }
    );

    // Map the Service pipeline: its quotes go to "quoted" (any case).
    let mut s = crm.tenant_settings(&a, t(3)).await.expect("settings");
    s.pipeline_external_mappings = vec![PipelineExternalMapping {
        pipeline: service.id,
        mapping: vec![(
            ExternalEventKind::QuoteSent,
            ExternalTarget::Stage("quoted".into()),
        )],
    }];
    crm.save_tenant_settings(&a, s, t(3)).await.expect("save");
    // The host resends the event that could not apply: now it does, and claims its id.
    let out = send("Q-1", ExternalEventKind::QuoteSent, job.id, t(4)).await;
    let quoted = service.stage_named("Quoted").expect("s").id;
    assert!(
        matches!(&out, ExternalOutcome::Advanced(d) if d.stage_id == quoted),
        "{out:?}"
    );
    assert_eq!(
        send("Q-1", ExternalEventKind::QuoteSent, job.id, t(4)).await,
        ExternalOutcome::Duplicate
    );
    // A claimed id stays a duplicate even when the mapping would not apply now.
    assert_eq!(
        send("Q-1", ExternalEventKind::QuoteSent, ticket.id, t(4)).await,
        ExternalOutcome::Duplicate
    );
    assert_eq!(
        reason(&send("Q-2", ExternalEventKind::QuoteSent, job.id, t(4)).await),
        UnchangedReason::AtOrPastStage {
            stage: "Quoted".into(),
            current: "Quoted".into()
        }
    );
    assert_eq!(
        reason(&send("Q-3", ExternalEventKind::QuoteSent, job.id, t(5)).await),
        UnchangedReason::AtOrPastStage {
            stage: "Quoted".into(),
            current: "Quoted".into()
        }
    );
    // Other pipelines keep the default mapping.
    let out = send("Q-4", ExternalEventKind::QuoteSent, classic.id, t(5)).await;
    assert!(
        matches!(&out, ExternalOutcome::Advanced(d) if d.stage_id == sales.stage_named("Proposal").expect("s").id),
        "{out:?}"
    );
    // Kinds the pipeline does not map fall back to the default: an invoice wins the job.
    let out = send("I-1", ExternalEventKind::InvoicePaid, job.id, t(6)).await;
    assert!(
        matches!(&out, ExternalOutcome::Advanced(d) if d.status == DealStatus::Won),
        "{out:?}"
    );
    assert_eq!(
        reason(&send("F-1", ExternalEventKind::OrderFulfilled, job.id, t(7)).await),
        UnchangedReason::DealClosed {
            status: DealStatus::Won
        }
    );
    // A mapping problem is reported before the deal's state: the closed job still says its
    // pipeline has no "Negotiation".
    assert_eq!(
        reason(&send("O-1", ExternalEventKind::OrderCreated, job.id, t(7)).await),
        UnchangedReason::StageNotFound {
            stage: "Negotiation".into(),
            pipeline: service.id,
            pipeline_name: "Service".into()
        }
    );
    let job_now = crm.get::<Deal>(&a, job.id).await.expect("deal");
    assert_eq!(
        (job_now.status, job_now.closed_at),
        (DealStatus::Won, Some(t(6)))
    );

    // A service-wide mapping to a closed stage (not checked per tenant) says so.
    let strict = Crm::from_arc(store).with_config(CrmConfig {
        external_mapping: Some(std::collections::HashMap::from([(
            ExternalEventKind::QuoteSent,
            ExternalTarget::Stage("Closed Won".into()),
        )])),
        ..Default::default()
    });
    let b = Actor::new(TenantId::new(), a.user);
    let bp = strict
        .pipelines()
        .ensure_default(&b, t(0))
        .await
        .expect("default");
    let bd = deal(&strict, &b, &bp, "Prospecting", "B", t(0)).await;
    let out = strict
        .deals()
        .handle_external_event(
            &b,
            &ExternalEvent {
                id: "Q-1".into(),
                kind: ExternalEventKind::QuoteSent,
                deal: bd.id,
            },
            t(1),
        )
        .await
        .expect("handle");
    assert_eq!(
        reason(&out),
        UnchangedReason::ClosedStage {
            stage: "Closed Won".into(),
            pipeline: bp.id
        }
    );
    assert_eq!(
        reason(
            &strict
                .deals()
                .handle_external_event(
                    &b,
                    &ExternalEvent {
                        id: "O-1".into(),
                        kind: ExternalEventKind::OrderCreated,
                        deal: bd.id,
                    },
                    t(2),
                )
                .await
                .expect("handle")
        ),
        UnchangedReason::NotMapped {
            kind: ExternalEventKind::OrderCreated
        }
    );

    let received: Vec<(String, Option<UnchangedReason>)> = crm
        .events()
        .drain(&a, 0, 1000)
        .await
        .expect("drain")
        .into_iter()
        .filter_map(|e| match e.event.event {
            DomainEvent::ExternalEventReceived {
                external_id,
                unchanged,
                ..
            } => Some((external_id, unchanged)),
            _ => None,
        })
        .collect();
    let ids: Vec<&str> = received.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["Q-1", "Q-1", "I-0", "Q-1", "Q-2", "Q-3", "Q-4", "I-1", "F-1", "O-1"],
        "every handled event once, each resend of an unapplied one again, duplicates never"
    );
    assert_eq!(
        received[0].1,
        Some(not_found.clone()),
        "the outbox says why"
    );
    assert_eq!(received[3].1, None, "a moved deal has no reason");
    assert_eq!(
        received[4].1,
        Some(UnchangedReason::AtOrPastStage {
            stage: "Quoted".into(),
            current: "Quoted".into()
        })
    );
}

/// A tenant's external mapping is checked against its pipelines when saved changed: every
/// stage must be an open stage of some pipeline (of the named pipeline, per pipeline), a
/// won target needs a won stage, kinds and pipelines appear once; a refused save writes
/// nothing. An unchanged mapping is not checked again, so a later stage rename does not
/// block saving other settings.
pub async fn external_mapping_is_validated_on_save(store: Store) {
    let (crm, a) = setup(store);
    // A tenant without pipelines is checked against the standard one it will get.
    let mut fresh = crm.tenant_settings(&a, t(0)).await.expect("defaults");
    fresh.external_mapping = Some(vec![(
        ExternalEventKind::QuoteSent,
        ExternalTarget::Stage("Angebot".into()),
    )]);
    assert_validation(
        crm.save_tenant_settings(&a, fresh.clone(), t(0)).await,
        "external_mapping[0].stage",
    );
    fresh.external_mapping = Some(vec![(
        ExternalEventKind::QuoteSent,
        ExternalTarget::Stage("proposal".into()),
    )]);
    let saved = crm
        .save_tenant_settings(&a, fresh, t(0))
        .await
        .expect("save");

    crm.pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("default");
    let service = service_pipeline(&crm, &a).await;
    let support = crm
        .pipelines()
        .create(
            &a,
            "Support",
            vec![Stage::open("Triage", 10).expect("s")],
            t(0),
        )
        .await
        .expect("support");
    let other = Actor::new(TenantId::new(), a.user);
    let foreign = crm
        .pipelines()
        .ensure_default(&other, t(0))
        .await
        .expect("foreign");

    let wide = |m: Vec<(ExternalEventKind, ExternalTarget)>| {
        let mut s = saved.clone();
        s.external_mapping = Some(m);
        s
    };
    let per = |m: Vec<PipelineExternalMapping>| {
        let mut s = saved.clone();
        s.pipeline_external_mappings = m;
        s
    };
    let stage = |n: &str| ExternalTarget::Stage(n.into());
    let pm = |pipeline: PipelineId, mapping| PipelineExternalMapping { pipeline, mapping };
    let refused = [
        (
            wide(vec![
                (ExternalEventKind::QuoteSent, stage("Quoted")),
                (ExternalEventKind::OrderCreated, stage("Shipping")),
            ]),
            "external_mapping[1].stage",
        ),
        (
            wide(vec![(
                ExternalEventKind::OrderFulfilled,
                stage("Closed Won"),
            )]),
            "external_mapping[0].stage",
        ),
        (
            wide(vec![
                (ExternalEventKind::QuoteSent, stage("Quoted")),
                (ExternalEventKind::QuoteSent, stage("Proposal")),
            ]),
            "external_mapping[1].kind",
        ),
        (
            wide(vec![(ExternalEventKind::QuoteSent, stage(" "))]),
            "external_mapping[0].stage",
        ),
        (
            per(vec![pm(PipelineId::new(), vec![])]),
            "pipeline_external_mappings[0].pipeline",
        ),
        (
            per(vec![pm(
                foreign.id,
                vec![(ExternalEventKind::QuoteSent, stage("Proposal"))],
            )]),
            "pipeline_external_mappings[0].pipeline",
        ),
        (
            per(vec![pm(
                service.id,
                vec![(ExternalEventKind::QuoteSent, stage("Proposal"))],
            )]),
            "pipeline_external_mappings[0].mapping[0].stage",
        ),
        (
            per(vec![
                pm(
                    service.id,
                    vec![(ExternalEventKind::QuoteSent, stage("Quoted"))],
                ),
                pm(
                    support.id,
                    vec![(ExternalEventKind::InvoicePaid, ExternalTarget::Won)],
                ),
            ]),
            "pipeline_external_mappings[1].mapping[0].target",
        ),
        (
            per(vec![
                pm(
                    service.id,
                    vec![(ExternalEventKind::QuoteSent, stage("Quoted"))],
                ),
                pm(service.id, vec![]),
            ]),
            "pipeline_external_mappings[1].pipeline",
        ),
    ];
    for (settings, field) in refused {
        assert_validation(crm.save_tenant_settings(&a, settings, t(1)).await, field);
        assert_eq!(
            crm.tenant_settings(&a, t(1)).await.expect("read"),
            saved,
            "a refused save of {field} writes nothing"
        );
    }

    // A stage of one pipeline is enough tenant-wide; per pipeline it must be that one's.
    let mut good = wide(vec![
        (ExternalEventKind::QuoteSent, stage("Quoted")),
        (ExternalEventKind::InvoicePaid, ExternalTarget::Won),
    ]);
    good.pipeline_external_mappings = vec![
        pm(
            service.id,
            vec![(ExternalEventKind::OrderCreated, stage("quoted"))],
        ),
        pm(
            support.id,
            vec![(ExternalEventKind::QuoteSent, stage("Triage"))],
        ),
    ];
    let good = crm
        .save_tenant_settings(&a, good, t(2))
        .await
        .expect("save");
    assert_eq!(crm.tenant_settings(&a, t(2)).await.expect("read"), good);

    // Renaming the mapped stage does not block saving other settings; the event says why
    // it cannot move, and saving a changed mapping checks it again.
    let mut renamed = service.stage_named("Quoted").expect("s").clone();
    renamed.name = "Offer".into();
    crm.pipelines()
        .update_stage(&a, service.id, renamed, t(3))
        .await
        .expect("rename");
    let mut other_change = good.clone();
    other_change.lost_reasons = vec!["Price".into()];
    let good = crm
        .save_tenant_settings(&a, other_change, t(3))
        .await
        .expect("an unchanged mapping is not checked again");
    let d = deal(&crm, &a, &service, "New", "D", t(3)).await;
    let out = crm
        .deals()
        .handle_external_event(
            &a,
            &ExternalEvent {
                id: "O-1".into(),
                kind: ExternalEventKind::OrderCreated,
                deal: d.id,
            },
            t(4),
        )
        .await
        .expect("handle");
    assert!(
        matches!(
            &out,
            ExternalOutcome::Unchanged {
                reason: UnchangedReason::StageNotFound { stage, pipeline, .. },
                ..
            } if stage == "quoted" && *pipeline == service.id
        ),
        "{out:?}"
    );
    // A new entry elsewhere is checked alone: the stale one does not block it...
    let mut extended = good.clone();
    extended.pipeline_external_mappings[1]
        .mapping
        .push((ExternalEventKind::OrderCreated, stage("Triage")));
    let extended = crm
        .save_tenant_settings(&a, extended, t(5))
        .await
        .expect("a stale entry elsewhere does not block a new good one");
    // ...but changing the stale entry checks it.
    let mut touched = extended.clone();
    touched.pipeline_external_mappings[0].mapping[0].0 = ExternalEventKind::OrderFulfilled;
    assert_validation(
        crm.save_tenant_settings(&a, touched, t(5)).await,
        "pipeline_external_mappings[0].mapping[0].stage",
    );

    // Every pipeline x kind that cannot apply is listed, with the reason an event would get.
    let problems: Vec<(String, ExternalEventKind, UnchangedReason)> = crm
        .deals()
        .external_mapping_problems(&a, t(5))
        .await
        .expect("problems")
        .into_iter()
        .map(|p| (p.pipeline_name, p.kind, p.reason))
        .collect();
    let sales = crm
        .pipelines()
        .ensure_default(&a, t(5))
        .await
        .expect("default");
    let not_found = |stage: &str, p: &Pipeline| UnchangedReason::StageNotFound {
        stage: stage.into(),
        pipeline: p.id,
        pipeline_name: p.name.clone(),
    };
    let not_mapped = |kind| UnchangedReason::NotMapped { kind };
    use ExternalEventKind::{InvoicePaid, OrderCreated, OrderFulfilled, QuoteSent};
    assert_eq!(
        problems,
        vec![
            ("Sales".into(), QuoteSent, not_found("Quoted", &sales)),
            ("Sales".into(), OrderCreated, not_mapped(OrderCreated)),
            ("Sales".into(), OrderFulfilled, not_mapped(OrderFulfilled)),
            ("Service".into(), QuoteSent, not_found("Quoted", &service)),
            (
                "Service".into(),
                OrderCreated,
                not_found("quoted", &service)
            ),
            ("Service".into(), OrderFulfilled, not_mapped(OrderFulfilled)),
            ("Support".into(), OrderFulfilled, not_mapped(OrderFulfilled)),
            (
                "Support".into(),
                InvoicePaid,
                UnchangedReason::NoWonStage {
                    pipeline: support.id,
                    pipeline_name: "Support".into()
                }
            ),
        ]
    );
    // A kind mapped to be ignored is no problem; its events are recorded and say so.
    let mut ignoring = extended.clone();
    ignoring.pipeline_external_mappings[1]
        .mapping
        .push((OrderFulfilled, ExternalTarget::Ignore));
    let ignoring = crm
        .save_tenant_settings(&a, ignoring, t(6))
        .await
        .expect("ignore");
    let problems = crm
        .deals()
        .external_mapping_problems(&a, t(6))
        .await
        .expect("p");
    assert!(!problems
        .iter()
        .any(|p| p.pipeline == support.id && p.kind == OrderFulfilled));
    let ticket = deal(&crm, &a, &support, "Triage", "Ticket", t(6)).await;
    let fulfilled = ExternalEvent {
        id: "F-9".into(),
        kind: OrderFulfilled,
        deal: ticket.id,
    };
    let out = crm
        .deals()
        .handle_external_event(&a, &fulfilled, t(6))
        .await
        .expect("handle");
    assert!(
        matches!(&out, ExternalOutcome::Unchanged { reason: UnchangedReason::Ignored { kind }, .. } if *kind == OrderFulfilled),
        "{out:?}"
    );
    assert_eq!(
        crm.deals()
            .handle_external_event(&a, &fulfilled, t(6))
            .await
            .expect("replay"),
        ExternalOutcome::Duplicate,
        "an ignored event claims its id"
    );

    // Deleting a pipeline removes its mapping in the same change set.
    crm.pipelines()
        .delete(&a, service.id, Some(sales.id), t(7))
        .await
        .expect("delete");
    let after = crm.tenant_settings(&a, t(7)).await.expect("read");
    assert_eq!(
        after
            .pipeline_external_mappings
            .iter()
            .map(|m| m.pipeline)
            .collect::<Vec<_>>(),
        vec![support.id]
    );
    assert_eq!(after.version, ignoring.version + 1);
    assert_eq!(after.external_mapping, ignoring.external_mapping);
}

/// The caller can name the lead's person at an existing customer (an existing contact the
/// user picked, or someone new) and bad choices write nothing; a namesake whose e-mail
/// addresses exclude the lead's is someone else; the linked customer records the contact
/// (`last_contact_at`, lifecycle to opportunity with a deal); and two conversions of the
/// same person into one customer at the same time create one contact, not two.
pub async fn lead_conversion_contact_choice_and_concurrency(store: Store) {
    let (crm, a) = setup(store);
    let acme = crm
        .customers()
        .create(
            &a,
            Customer::company(a.tenant, "Acme", t(0)).expect("c"),
            t(0),
        )
        .await
        .expect("acme");
    assert_eq!(acme.lifecycle_stage, LifecycleStage::Lead);
    let globex = crm
        .customers()
        .create(
            &a,
            Customer::company(a.tenant, "Globex", t(0)).expect("c"),
            t(0),
        )
        .await
        .expect("globex");
    let john = crm
        .create(
            &a,
            Contact::new(a.tenant, acme.id, "John", "Smith", t(0)).expect("john"),
            t(0),
        )
        .await
        .expect("john");
    crm.contacts()
        .add_point(
            &a,
            acme.id,
            Some(john.id),
            ContactPointKind::Email,
            "john@acme.example",
            t(0),
        )
        .await
        .expect("john's e-mail");
    let hank = crm
        .create(
            &a,
            Contact::new(a.tenant, globex.id, "Hank", "Scorpio", t(0)).expect("hank"),
            t(0),
        )
        .await
        .expect("hank");
    let into = |customer: CustomerId, contact: ContactChoice| LeadConversion {
        into_customer: Some(customer),
        contact,
        ..Default::default()
    };
    let lead = |first: &str, last: &str, email: Option<&str>| {
        let crm = crm.clone();
        let a = a.clone();
        let l = lead_of(&a, first, last, email, Some("Acme"), None);
        async move { crm.create(&a, l, t(1)).await.expect("lead") }
    };

    // A namesake with another address is someone else: a second John Smith.
    let other_john = lead("John", "Smith", Some("john.smith@home.example")).await;
    let r = crm
        .leads()
        .convert(
            &a,
            other_john.id,
            into(acme.id, ContactChoice::Recognise),
            t(2),
        )
        .await
        .expect("convert");
    assert!(!r.linked_existing_contact);
    assert_ne!(r.contact, Some(john.id));
    assert_eq!(contacts_of(&crm, &a, acme.id).await.len(), 2);
    // The customer records the contact, at the version read.
    let acme_now = crm.customers().get(&a, acme.id).await.expect("acme");
    assert_eq!(acme_now.last_contact_at, Some(t(2)));
    assert_eq!(acme_now.first_contact_at, Some(t(2)));
    assert_eq!(acme_now.version, acme.version + 1);
    assert_eq!(
        acme_now.lifecycle_stage,
        LifecycleStage::Lead,
        "no deal, no opportunity"
    );

    // The user says this lead is John (whatever the evidence): linked, his new address added.
    let j = lead("J.", "Smith", Some("js@acme.example")).await;
    let r = crm
        .leads()
        .convert(
            &a,
            j.id,
            into(acme.id, ContactChoice::Existing(john.id)),
            t(3),
        )
        .await
        .expect("convert");
    assert_eq!(
        (r.contact, r.linked_existing_contact),
        (Some(john.id), true)
    );
    assert_eq!(
        point_rows(&crm, &a, acme.id, "js@acme.example").await,
        vec![(Some(john.id), ContactPointKind::Email, false)],
        "John keeps his primary e-mail; the lead's is added beside it"
    );
    // The user says this lead is someone new although the e-mail is John's: a new contact,
    // the e-mail not duplicated.
    let k = lead("Johnny", "Smith", Some("john@acme.example")).await;
    let mut with_deal = into(acme.id, ContactChoice::New);
    with_deal.deal = Some(ConversionDeal {
        name: "Anvils".into(),
        amount: eur(100),
        pipeline: None,
        stage: None,
    });
    let r = crm
        .leads()
        .convert(&a, k.id, with_deal, t(4))
        .await
        .expect("convert");
    assert!(!r.linked_existing_contact && r.contact.is_some() && r.contact != Some(john.id));
    assert_eq!(
        point_rows(&crm, &a, acme.id, "john@acme.example")
            .await
            .len(),
        1
    );
    let acme_now = crm.customers().get(&a, acme.id).await.expect("acme");
    assert_eq!(acme_now.lifecycle_stage, LifecycleStage::Opportunity);
    assert_eq!(
        (acme_now.first_contact_at, acme_now.last_contact_at),
        (Some(t(2)), Some(t(4)))
    );

    // Bad choices are refused and write nothing.
    let open = lead("Ann", "Other", Some("ann@acme.example")).await;
    let missing = ContactId::new();
    match crm
        .leads()
        .convert(
            &a,
            open.id,
            into(acme.id, ContactChoice::Existing(missing)),
            t(5),
        )
        .await
    {
        Err(CrmError::NotFound {
            entity: EntityKind::Contact,
            id,
        }) => assert_eq!(id, missing.to_string()),
        other => panic!("expected NotFound, got {other:?}"),
    }
    assert_validation(
        crm.leads()
            .convert(
                &a,
                open.id,
                into(acme.id, ContactChoice::Existing(hank.id)),
                t(5),
            )
            .await,
        "contact",
    );
    assert_validation(
        crm.leads()
            .convert(
                &a,
                open.id,
                LeadConversion {
                    contact: ContactChoice::Existing(john.id),
                    ..Default::default()
                },
                t(5),
            )
            .await,
        "contact",
    );
    let mut nameless = Lead::new(a.tenant, t(1));
    nameless.email = Some(Email::parse("sales@acme.example").expect("e"));
    let nameless = crm.create(&a, nameless, t(1)).await.expect("lead");
    assert_validation(
        crm.leads()
            .convert(&a, nameless.id, into(acme.id, ContactChoice::New), t(5))
            .await,
        "contact",
    );
    for id in [open.id, nameless.id] {
        let l = crm.get::<Lead>(&a, id).await.expect("lead");
        assert_ne!(
            l.status,
            LeadStatus::Converted,
            "a refused conversion writes nothing"
        );
    }
    assert_eq!(contacts_of(&crm, &a, acme.id).await.len(), 3);
    assert_eq!(contacts_of(&crm, &a, globex.id).await.len(), 1);

    // Two leads of one person converted into Acme at the same time: one contact.
    let g1 = lead("Grace", "Hopper", Some("grace@acme.example")).await;
    let g2 = lead("Grace", "Hopper", Some("grace@acme.example")).await;
    let (r1, r2) = tokio::join!(
        crm.leads()
            .convert(&a, g1.id, into(acme.id, ContactChoice::Recognise), t(6)),
        crm.leads()
            .convert(&a, g2.id, into(acme.id, ContactChoice::Recognise), t(6)),
    );
    let (r1, r2) = (r1.expect("first"), r2.expect("second"));
    assert_eq!(r1.contact, r2.contact, "both name the same contact");
    assert!(
        r1.linked_existing_contact != r2.linked_existing_contact,
        "one created it, the other linked it"
    );
    let graces: Vec<Contact> = contacts_of(&crm, &a, acme.id)
        .await
        .into_iter()
        .filter(|c| c.first_name == "Grace")
        .collect();
    assert_eq!(graces.len(), 1, "{graces:?}");
    assert_eq!(
        point_rows(&crm, &a, acme.id, "grace@acme.example")
            .await
            .len(),
        1
    );
}

/// Pipeline edits that move deals or change their probability say so in the outbox: a
/// stage's new probability (`DealProbabilityChanged`), a removed stage and a deleted
/// pipeline (`DealStageChanged` per deal, closed ones included), each with its record
/// event.
pub async fn pipeline_edits_emit_deal_events(store: Store) {
    let (crm, a) = setup(store);
    let sales = crm
        .pipelines()
        .ensure_default(&a, t(0))
        .await
        .expect("default");
    let service = crm
        .pipelines()
        .create(
            &a,
            "Service",
            vec![
                Stage::open("A", 10).expect("s"),
                Stage::open("B", 40).expect("s"),
                Stage::won("Done"),
                Stage::lost("Dropped"),
            ],
            t(0),
        )
        .await
        .expect("service");
    let d1 = deal(&crm, &a, &service, "A", "One", t(1)).await;
    let d2 = deal(&crm, &a, &service, "B", "Two", t(1)).await;
    let d3 = deal(&crm, &a, &service, "A", "Three", t(1)).await;
    crm.deals().win(&a, d3.id, None, t(2)).await.expect("win");
    let after = crm.events().drain(&a, 0, 1000).await.expect("drain").len() as u64;
    let events_since = |from: u64| {
        let crm = crm.clone();
        let a = a.clone();
        async move {
            crm.events()
                .drain(&a, from, 1000)
                .await
                .expect("drain")
                .into_iter()
                .map(|e| e.event.event)
                .collect::<Vec<_>>()
        }
    };

    let mut a_stage = service.stage_named("A").expect("s").clone();
    a_stage.probability = Percent::new(20, "probability").expect("p");
    crm.pipelines()
        .update_stage(&a, service.id, a_stage, t(3))
        .await
        .expect("update");
    let events = events_since(after).await;
    let changed: Vec<(DealId, u8, u8)> = events
        .iter()
        .filter_map(|e| match e {
            DomainEvent::DealProbabilityChanged { deal, from, to } => {
                Some((*deal, from.get(), to.get()))
            }
            _ => None,
        })
        .collect();
    assert_eq!(changed, vec![(d1.id, 10, 20)], "only the open deal in A");
    assert!(events.iter().any(|e| matches!(e,
        DomainEvent::RecordUpdated { record, fields, .. }
            if record.id == uuid::Uuid::from(d1.id) && fields.contains(&"probability".to_string()))));

    let after = after + events.len() as u64;
    let a_id = service.stage_named("A").expect("s").id;
    let b_id = service.stage_named("B").expect("s").id;
    crm.pipelines()
        .remove_stage(&a, service.id, b_id, Some(a_id), t(4))
        .await
        .expect("remove");
    let events = events_since(after).await;
    let moved = |events: &[DomainEvent]| -> Vec<(DealId, StageId, StageId)> {
        events
            .iter()
            .filter_map(|e| match e {
                DomainEvent::DealStageChanged { deal, from, to } => Some((*deal, *from, *to)),
                _ => None,
            })
            .collect()
    };
    assert_eq!(moved(&events), vec![(d2.id, b_id, a_id)]);

    let after = after + events.len() as u64;
    crm.pipelines()
        .delete(&a, service.id, Some(sales.id), t(5))
        .await
        .expect("delete");
    let events = events_since(after).await;
    let mut got = moved(&events);
    got.sort();
    let first = sales.first_open_stage().expect("open").id;
    let won = sales.won_stage().expect("won").id;
    let done = service.stage_named("Done").expect("s").id;
    let mut want = vec![
        (d1.id, a_id, first),
        (d2.id, a_id, first),
        (d3.id, done, won),
    ];
    want.sort();
    assert_eq!(
        got, want,
        "every deal of the deleted pipeline, the won one too"
    );
    assert!(events.iter().any(|e| matches!(e,
        DomainEvent::RecordDeleted { record, .. } if record.id == uuid::Uuid::from(service.id))));
}
