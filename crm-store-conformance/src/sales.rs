//! Sales scenarios: pipeline configuration, stage-history queries, and the lifecycle of
//! activities and follow-ups, through [`crm_core::Crm`] on every store.

use chrono::{DateTime, Duration, TimeZone, Utc};
use crm_core::*;

use crate::support::Store;

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
    let p = crm.default_pipeline(&a, t(0)).await.expect("default");
    let service = crm
        .create_pipeline(
            &a,
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
        .expect("create");
    let service = crm
        .rename_pipeline(&a, service.id, "Service contracts", t(1))
        .await
        .expect("rename");
    assert_eq!(service.name, "Service contracts");
    let dup = crm
        .create_pipeline(
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
        .reorder_stages(&a, service.id, &order, t(3))
        .await
        .expect("reorder");
    assert_eq!(service.stages[0].name, "Quoted");
    let bad = crm
        .reorder_stages(&a, service.id, &order[..4], t(3))
        .await
        .expect_err("missing stage");
    assert!(matches!(bad, CrmError::Validation { .. }), "{bad}");

    // Stage probability changes flow to open deals that follow their stage.
    let d1 = deal(&crm, &a, &service, "Site visit", "Visit A", t(4)).await;
    let mut tuned = service.stage(visit.id).expect("stage").clone();
    tuned.probability = Percent::new(45, "p").expect("p");
    crm.update_stage(&a, service.id, tuned, t(5))
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
        .remove_stage(&a, service.id, visit.id, None, t(6))
        .await
        .expect_err("has deals");
    assert!(invalid(&e), "{e}");
    let done = service.won_stage().expect("won").id;
    let e = crm
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
    crm.win_deal(&a, d2.id, None, t(9)).await.expect("win");
    let e = crm
        .delete_pipeline(&a, service.id, None, t(10))
        .await
        .expect_err("has deals");
    assert!(invalid(&e), "{e}");
    let e = crm
        .delete_pipeline(&a, p.id, Some(service.id), t(10))
        .await
        .expect_err("default pipeline");
    assert!(invalid(&e), "{e}");
    crm.delete_pipeline(&a, service.id, Some(p.id), t(10))
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
    let base = crm.default_pipeline(&a, t(0)).await.expect("default");
    let mut stages = base.stages.clone();
    for s in &mut stages {
        s.id = StageId::new();
        if s.name == "Qualification" {
            s.rotting_days = Some(7);
        }
    }
    let p = crm
        .create_pipeline(&a, "Rot", stages, t(0))
        .await
        .expect("pipeline");
    let id = |n: &str| p.stage_named(n).expect("stage").id;
    // Three deals enter Qualification on day 0.
    let fresh = deal(&crm, &a, &p, "Qualification", "fresh", t(0)).await;
    let idle = deal(&crm, &a, &p, "Qualification", "idle", t(0)).await;
    let touched = deal(&crm, &a, &p, "Qualification", "touched", t(0)).await;
    // `fresh` moves on at day 2, then is won at day 6; `touched` sees an interaction at day 8.
    crm.move_deal_to_stage(&a, fresh.id, id("Proposal"), t(2))
        .await
        .expect("move");
    crm.win_deal(&a, fresh.id, None, t(6)).await.expect("win");
    let i = Interaction::new(
        a.tenant,
        Channel::Phone,
        InteractionDirection::Outbound,
        Links::deal(touched.id),
        t(8),
        t(8),
    )
    .expect("i");
    crm.create(&a, i, t(8)).await.expect("log");
    let rotting = crm
        .rotting_deals(&a, Some(p.id), t(10))
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
    crm.lose_deal(&a, idle.id, "No budget", None, None, t(12))
        .await
        .expect("lose");

    let conv = crm.stage_conversion(&a, p.id).await.expect("conversion");
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

    let vel = crm.pipeline_velocity(&a, p.id).await.expect("velocity");
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
    let p = crm.default_pipeline(&a, t(0)).await.expect("default");
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
        crm.due_reminders(&a, t(1)).await.expect("reminders").len(),
        0
    );
    assert_eq!(
        crm.due_reminders(&a, t(2))
            .await
            .expect("reminders")
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        vec![call.id]
    );
    assert_eq!(
        crm.overdue_activities(&a, None, t(4))
            .await
            .expect("overdue")
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        vec![call.id]
    );
    let other = UserId::new();
    let moved = crm
        .reschedule_activity(&a, call.id, Some(t(5)), None, t(4))
        .await
        .expect("reschedule");
    assert_eq!(moved.due_at, Some(t(5)));
    crm.reassign_activity(&a, call.id, Some(other), t(4))
        .await
        .expect("reassign");
    assert_eq!(
        crm.overdue_activities(&a, Some(other), t(6))
            .await
            .expect("overdue")
            .len(),
        1
    );
    assert!(crm
        .overdue_activities(&a, Some(a.user), t(6))
        .await
        .expect("overdue")
        .is_empty());

    let done = crm
        .complete_activity(&a, call.id, Some("Agreed on a demo"), t(7))
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
        crm.complete_activity(&a, call.id, None, t(8))
            .await
            .expect_err("done"),
        crm.cancel_activity(&a, call.id, t(8))
            .await
            .expect_err("done"),
        crm.reschedule_activity(&a, call.id, None, None, t(8))
            .await
            .expect_err("done"),
    ] {
        assert!(invalid(&e), "{e}");
    }
    let cancelled = crm
        .cancel_activity(&a, later.id, t(9))
        .await
        .expect("cancel");
    assert_eq!(cancelled.status, ActivityStatus::Cancelled);
    assert!(crm
        .overdue_activities(&a, None, t(40))
        .await
        .expect("overdue")
        .is_empty());
}

/// Follow-ups: complete, cancel, reschedule, reassign while pending; `expire_overdue`
/// expires those past due by more than the grace period, once.
pub async fn follow_up_lifecycle(store: Store) {
    let (crm, a) = setup(store);
    let c = crm
        .create_customer(
            &a,
            Customer::company(a.tenant, "Acme", t(0)).expect("c"),
            t(0),
        )
        .await
        .expect("customer");
    let mk = |title: &str, due: i64| {
        FollowUp::new(a.tenant, title, t(due), Links::customer(c.id), t(0)).expect("f")
    };
    let f1 = crm.create(&a, mk("one", 1), t(0)).await.expect("f1");
    let f2 = crm.create(&a, mk("two", 2), t(0)).await.expect("f2");
    let f3 = crm.create(&a, mk("three", 10), t(0)).await.expect("f3");
    let f4 = crm.create(&a, mk("four", 1), t(0)).await.expect("f4");
    crm.complete_follow_up(&a, f4.id, t(1))
        .await
        .expect("complete");
    let e = crm
        .cancel_follow_up(&a, f4.id, t(1))
        .await
        .expect_err("completed");
    assert!(invalid(&e), "{e}");
    let f2 = crm
        .reschedule_follow_up(&a, f2.id, t(3), t(1))
        .await
        .expect("reschedule");
    let someone = UserId::new();
    crm.reassign_follow_up(&a, f2.id, Some(someone), t(1))
        .await
        .expect("reassign");
    assert_eq!(
        crm.overdue_follow_ups(&a, Some(someone), t(4))
            .await
            .expect("overdue")
            .len(),
        1
    );
    // Due follow-ups are announced once each.
    let due = crm.notify_due_follow_ups(&a, t(1)).await.expect("due");
    assert_eq!(due.iter().map(|f| f.id).collect::<Vec<_>>(), vec![f1.id]);
    assert!(
        crm.notify_due_follow_ups(&a, t(1))
            .await
            .expect("again")
            .is_empty(),
        "announced once"
    );
    let announced = crm
        .drain_events(&a, 0, 1000)
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
    assert_eq!(crm.expire_overdue(&a, t(5)).await.expect("expire"), 1);
    assert_eq!(
        crm.expire_overdue(&a, t(5)).await.expect("again"),
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
    assert_eq!(crm.expire_overdue(&a, t(6)).await.expect("expire"), 1);
    let e = crm
        .complete_follow_up(&a, f1.id, t(7))
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
    let e = crm.lose_lead(&a, l.id, t(1)).await.map(|_| ());
    assert!(e.is_ok(), "new -> lost is allowed");
    let e = crm
        .qualify_lead(&a, l.id, t(2))
        .await
        .expect_err("lost -> qualified");
    assert!(invalid(&e), "{e}");
    crm.reopen_lead(&a, l.id, t(3)).await.expect("reopen");
    crm.contact_lead(&a, l.id, t(4)).await.expect("contacted");
    let e = crm
        .contact_lead(&a, l.id, t(4))
        .await
        .expect_err("contacted twice");
    assert!(invalid(&e), "{e}");
    let q = crm.qualify_lead(&a, l.id, t(5)).await.expect("qualified");
    let mut sneaky = q.clone();
    sneaky.status = LeadStatus::New;
    let e = crm
        .update(&a, sneaky, t(6))
        .await
        .expect_err("plain update");
    assert!(invalid(&e), "{e}");
    let d = crm
        .disqualify_lead(&a, l.id, "Student project", t(7))
        .await
        .expect("disqualify");
    let dq = d.disqualification.expect("reason recorded");
    assert_eq!(
        (dq.reason.as_str(), dq.by, dq.at),
        ("Student project", Some(a.user), t(7))
    );
    let e = crm
        .disqualify_lead(&a, l.id, "again", t(8))
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
    crm.qualify_lead(&a, l.id, t(1)).await.expect("qualify");
    let options = LeadConversion {
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
        .convert_lead(&a, l.id, options.clone(), t(2))
        .await
        .expect("convert");
    assert!(!r.linked_existing);
    let customer = crm.get_customer(&a, r.customer).await.expect("customer");
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
    let p = crm.default_pipeline(&a, t(0)).await.expect("pipeline");
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
        .convert_lead(&a, l.id, options, t(3))
        .await
        .expect_err("twice");
    assert!(invalid(&e), "{e}");

    // A second lead with the same e-mail links to the existing customer.
    let mut twin = new_lead(&a, "G.", "Hopper", "Grace@Navy.example", None);
    twin.phone = Some(Phone::parse("+1 202 555 0143", None).expect("phone"));
    let twin = crm.create(&a, twin, t(4)).await.expect("lead");
    let r2 = crm
        .convert_lead(
            &a,
            twin.id,
            LeadConversion {
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
        .convert_lead(&a, solo.id, LeadConversion::default(), t(7))
        .await
        .expect("convert");
    let c3 = crm.get_customer(&a, r3.customer).await.expect("customer");
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
    crm.default_pipeline(&a, t(0)).await.expect("pipeline");
    let (plan, _) = crm
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
        let e = crm.apply(&a, cs).await.expect_err("poisoned");
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
    crm.apply(&a, plan)
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
    let p = crm.default_pipeline(&a, t(0)).await.expect("default");
    let lead = crm
        .create(
            &a,
            new_lead(&a, "Eve", "Ops", "eve@ops.example", Some("Ops Inc")),
            t(0),
        )
        .await
        .expect("lead");
    crm.qualify_lead(&a, lead.id, t(1)).await.expect("qualify");
    let conv = crm
        .convert_lead(
            &a,
            lead.id,
            LeadConversion {
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
    crm.move_deal_to_stage(&a, deal, p.stage_named("Proposal").expect("s").id, t(3))
        .await
        .expect("move");
    let i = Interaction::new(
        a.tenant,
        Channel::Email,
        InteractionDirection::Inbound,
        Links::deal(deal),
        t(4),
        t(4),
    )
    .expect("i");
    crm.create(&a, i, t(4)).await.expect("log");
    crm.win_deal(&a, deal, None, t(5)).await.expect("win");
    // A refused transition writes no event.
    assert!(crm.win_deal(&a, deal, None, t(6)).await.is_err());

    let all = crm.drain_events(&a, 0, 1000).await.expect("drain");
    let types: Vec<String> = all.iter().map(|e| e.event.event.type_name()).collect();
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
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=6).collect::<Vec<u64>>()
    );
    assert!(all.iter().all(|e| e.tenant == a.tenant));
    assert!(
        matches!(all[2].event.event, DomainEvent::LeadConverted { lead: l, deal: Some(d), .. } if l == lead.id && d == deal)
    );
    // Paging: after 2, two at a time.
    let page = crm.drain_events(&a, 2, 2).await.expect("page");
    assert_eq!(page.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 4]);
    assert!(crm.drain_events(&a, 6, 10).await.expect("end").is_empty());
    assert!(matches!(
        crm.drain_events(&a, 0, 0).await,
        Err(CrmError::Validation { .. })
    ));
    // Another tenant's outbox is its own.
    let b = Actor::new(TenantId::new(), a.user);
    assert!(crm
        .drain_events(&b, 0, 1000)
        .await
        .expect("drain")
        .is_empty());
}

/// External events advance deals per the mapping, only forward, and a replayed event id
/// has no second effect.
pub async fn external_events_advance_deals_once(store: Store) {
    let (crm, a) = setup(store);
    let p = crm.default_pipeline(&a, t(0)).await.expect("default");
    let d = deal(&crm, &a, &p, "Qualification", "ERP deal", t(0)).await;
    let ev = |id: &str, kind| ExternalEvent {
        id: id.into(),
        kind,
        deal: d.id,
    };
    let out = crm
        .handle_external_event(&a, &ev("Q-1", ExternalEventKind::QuoteSent), t(1))
        .await
        .expect("quote");
    assert!(
        matches!(&out, ExternalOutcome::Advanced(x) if x.stage_id == p.stage_named("Proposal").expect("s").id),
        "{out:?}"
    );
    let again = crm
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
    crm.handle_external_event(&a, &ev("O-1", ExternalEventKind::OrderCreated), t(3))
        .await
        .expect("order");
    // A late quote does not move the deal back, but is recorded once.
    let late = crm
        .handle_external_event(&a, &ev("Q-2", ExternalEventKind::QuoteSent), t(4))
        .await
        .expect("late quote");
    assert!(
        matches!(&late, ExternalOutcome::Unchanged(x) if x.stage_id == p.stage_named("Negotiation").expect("s").id),
        "{late:?}"
    );
    let paid = crm
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
        crm.handle_external_event(&a, &ev("I-1", ExternalEventKind::InvoicePaid), t(6))
            .await
            .expect("replay"),
        ExternalOutcome::Duplicate
    );
    let received = crm
        .drain_events(&a, 0, 1000)
        .await
        .expect("drain")
        .into_iter()
        .filter(|e| matches!(e.event.event, DomainEvent::ExternalEventReceived { .. }))
        .count();
    assert_eq!(received, 4, "Q-1, O-1, Q-2, I-1 once each");
    let e = crm
        .handle_external_event(&a, &ev(" ", ExternalEventKind::QuoteSent), t(7))
        .await
        .expect_err("empty id");
    assert!(matches!(e, CrmError::Validation { .. }), "{e}");
}

/// Tenant settings: one row per tenant; its lost reasons restrict `lose_deal`; its mapping
/// overrides the default for external events.
pub async fn tenant_settings_drive_the_rules(store: Store) {
    let (crm, a) = setup(store);
    let p = crm.default_pipeline(&a, t(0)).await.expect("default");
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
        .lose_deal(&a, d.id, "Weather", None, None, t(2))
        .await
        .expect_err("not a listed reason");
    assert!(
        matches!(e, CrmError::Validation { ref field, .. } if field == "lost_reason"),
        "{e}"
    );
    let out = crm
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
    assert!(matches!(out, ExternalOutcome::Unchanged(_)), "{out:?}");
    let lost = crm
        .lose_deal(&a, d.id, "price", None, None, t(5))
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
