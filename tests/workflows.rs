//! One workflow suite through the facade crate `crm`, exactly as a host uses it (onboard,
//! sell, serve, dedupe and merge), run on memory, SQLite and PostgreSQL.
//!
//! PostgreSQL runs when `CRM_POSTGRES_URL` is set (in a fresh schema of its own), and is
//! required when `CRM_REQUIRE_POSTGRES=1` (as `.ci/run` sets it).

use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use crm::{
    Activity, ActivityKind, Actor, AddressParts, Channel, ContactPointKind, ConversionDeal, Crm,
    CrmError, CrmStore, Customer, DealStatus, DomainEvent, Due, Entity, ExternalEvent,
    ExternalEventKind, ExternalOutcome, FollowUp, Interaction, InteractionDirection, Lead,
    LeadConversion, LifecycleStage, Links, Location, Logged, MergeOptions, Money, Note,
    ScanOptions, SurvivorRule, TenantId, TimelineEntry, UserId,
};

type Store = Arc<dyn CrmStore>;

fn t(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .expect("valid date")
        + Duration::hours(hours)
}

/// The whole workflow on one store, in a fresh tenant.
async fn workflow(store: Store) -> Result<(), CrmError> {
    let crm = Crm::from_arc(store);
    let me = Actor::new(TenantId::new(), UserId::new());

    // Onboard: a company with its contact, points, address and tag.
    let acme = crm
        .customers()
        .create(&me, Customer::company(me.tenant, "Acme GmbH", t(0))?, t(0))
        .await?;
    crm.contacts()
        .add_point(
            &me,
            acme.id,
            None,
            ContactPointKind::Email,
            "Info@Acme.example",
            t(0),
        )
        .await?;
    let mut berlin = Location::new(
        me.tenant,
        acme.id,
        AddressParts {
            line1: Some("Hauptstr. 1"),
            postal_code: Some("10115"),
            city: Some("Berlin"),
            country: Some("DE"),
        },
        t(0),
    )?;
    berlin.primary = true;
    crm.create(&me, berlin, t(0)).await?;
    crm.contacts()
        .add_point(
            &me,
            acme.id,
            None,
            ContactPointKind::Phone,
            "030 1234567",
            t(0),
        )
        .await?;
    let vip = crm.tags().ensure(&me, "VIP", None, t(0)).await?;
    crm.tags()
        .assign(&me, vip.id, acme.entity_ref(), t(0))
        .await?;
    let view = crm.customers().view_360(&me, acme.id).await?;
    assert_eq!(view.tags.len(), 1);
    assert!(
        view.contact_points
            .iter()
            .any(|p| p.value == "+49301234567"),
        "a national number is read in the customer's country: {:?}",
        view.contact_points
    );

    // Sell: a web lead from Acme's domain is qualified and converted into Acme with a
    // deal; ERP events move it to Proposal and win it.
    let lead = Lead::person(
        me.tenant,
        "Ada",
        "Lovelace",
        Some("\"Ada Lovelace\" <info@acme.example>"),
        t(1),
    )?;
    let lead = crm.create(&me, lead, t(1)).await?;
    crm.leads().qualify(&me, lead.id, t(2)).await?;
    let converted = crm
        .leads()
        .convert(
            &me,
            lead.id,
            LeadConversion {
                link_existing: true,
                deal: Some(ConversionDeal {
                    name: "Engines".into(),
                    amount: Money::new(1_200_000, "EUR")?,
                    pipeline: None,
                    stage: None,
                }),
                ..Default::default()
            },
            t(3),
        )
        .await?;
    assert_eq!(converted.customer, acme.id, "found by the e-mail");
    let ada = converted.contact.expect("the lead's person is a contact");
    let deal = converted.deal.expect("a deal");
    let quote = ExternalEvent {
        id: "Q-1".into(),
        kind: ExternalEventKind::QuoteSent,
        deal,
    };
    let moved = crm.deals().handle_external_event(&me, &quote, t(4)).await?;
    assert!(matches!(moved, ExternalOutcome::Advanced(_)), "{moved:?}");
    assert_eq!(
        crm.deals().handle_external_event(&me, &quote, t(4)).await?,
        ExternalOutcome::Duplicate
    );
    let paid = ExternalEvent {
        id: "I-1".into(),
        kind: ExternalEventKind::InvoicePaid,
        deal,
    };
    match crm.deals().handle_external_event(&me, &paid, t(5)).await? {
        ExternalOutcome::Advanced(d) => assert_eq!(d.status, DealStatus::Won),
        other => panic!("expected a win, got {other:?}"),
    }

    // Serve: a call, a task, a follow-up and a note, all on the timeline.
    let call = Interaction::new(
        me.tenant,
        Logged {
            channel: Channel::Phone,
            direction: InteractionDirection::Inbound,
            links: Links::customer(acme.id),
            occurred_at: t(6),
        },
        t(6),
    )?;
    crm.create(&me, call, t(6)).await?;
    let task = crm
        .create(
            &me,
            Activity::new(
                me.tenant,
                ActivityKind::Task,
                "Send manual",
                Links::customer(acme.id),
                t(6),
            )?,
            t(6),
        )
        .await?;
    crm.activities()
        .complete(&me, task.id, Some("sent"), t(7))
        .await?;
    crm.create(
        &me,
        FollowUp::new(
            me.tenant,
            Due {
                title: "Ask how it runs",
                due_at: t(30),
                links: Links::customer(acme.id),
            },
            t(7),
        )?,
        t(7),
    )
    .await?;
    crm.create(
        &me,
        Note::new(
            me.tenant,
            me.user,
            "Happy customer",
            Links::customer(acme.id),
            t(8),
        )?,
        t(8),
    )
    .await?;
    let due = crm.follow_ups().notify_due(&me, t(31)).await?;
    assert_eq!(due.len(), 1);
    let timeline = crm.customers().timeline(&me, acme.id, 50, None).await?;
    let kinds = |f: fn(&TimelineEntry) -> bool| timeline.items.iter().filter(|e| f(e)).count();
    assert_eq!(kinds(|e| matches!(e, TimelineEntry::Interaction(_))), 1);
    assert_eq!(kinds(|e| matches!(e, TimelineEntry::Activity(_))), 1);
    assert_eq!(kinds(|e| matches!(e, TimelineEntry::FollowUp(_))), 1);
    assert_eq!(kinds(|e| matches!(e, TimelineEntry::Note(_))), 1);
    assert!(kinds(|e| matches!(e, TimelineEntry::StageChange(_))) >= 2);
    let view = crm.customers().view_360(&me, acme.id).await?;
    assert_eq!(view.customer.lifecycle_stage, LifecycleStage::Opportunity);
    assert!(view.contacts.iter().any(|c| c.id == ada));
    assert_eq!(view.leads.len(), 1);
    assert_eq!(view.closed_deals.len(), 1);
    assert_eq!(view.totals.len(), 1);
    assert_eq!(view.totals[0].won_amount, Money::new(1_200_000, "EUR")?);

    // Dedupe and merge: the same person entered twice is found, merged and unmerged.
    let ines = crm
        .customers()
        .create(
            &me,
            Customer::person(me.tenant, "Ines", "Ortega", t(9))?,
            t(9),
        )
        .await?;
    let twin = crm
        .customers()
        .create(
            &me,
            Customer::person(me.tenant, "Inés", "Ortega", t(9))?,
            t(9),
        )
        .await?;
    for c in [ines.id, twin.id] {
        crm.contacts()
            .add_point(
                &me,
                c,
                None,
                ContactPointKind::Email,
                "ines.ortega@example.com",
                t(9),
            )
            .await?;
    }
    let report = crm
        .duplicates()
        .scan(&me, &ScanOptions::default(), t(10))
        .await?;
    assert!(
        report
            .pairs
            .iter()
            .any(|p| [p.a.id, p.b.id].contains(&ines.id.into())
                && [p.a.id, p.b.id].contains(&twin.id.into())),
        "{:?}",
        report.pairs
    );
    let merged = crm
        .merges()
        .merge(
            &me,
            &[ines.id, twin.id],
            &MergeOptions {
                survivor: SurvivorRule::Given(ines.id),
                ..MergeOptions::default()
            },
            t(11),
        )
        .await?;
    assert_eq!(merged.merged, vec![twin.id]);
    assert!(matches!(
        crm.customers().get(&me, twin.id).await,
        Err(CrmError::NotFound {
            entity: crm::EntityKind::Customer,
            ..
        })
    ));
    crm.merges().unmerge(&me, merged.record.id, t(12)).await?;
    assert_eq!(crm.customers().get(&me, twin.id).await?.name, "Inés Ortega");

    // The outbox tells an ERP what happened, in order.
    let events = crm.events().drain(&me, 0, 1000).await?;
    let has = |f: fn(&DomainEvent) -> bool| events.iter().any(|e| f(&e.event.event));
    assert!(has(|e| matches!(e, DomainEvent::LeadConverted { .. })));
    assert!(has(|e| matches!(e, DomainEvent::DealWon { .. })));
    assert!(has(|e| matches!(e, DomainEvent::CustomersMerged { .. })));
    assert!(has(|e| matches!(e, DomainEvent::CustomersUnmerged { .. })));
    assert!(events.windows(2).all(|w| w[0].seq < w[1].seq));

    // Another tenant sees none of it.
    let other = Actor::new(TenantId::new(), me.user);
    assert!(matches!(
        crm.customers().view_360(&other, acme.id).await,
        Err(CrmError::NotFound {
            entity: crm::EntityKind::Customer,
            ..
        })
    ));
    assert!(crm.events().drain(&other, 0, 1000).await?.is_empty());
    Ok(())
}

#[tokio::test]
async fn workflow_on_memory() {
    workflow(Arc::new(crm::memory::MemoryStore::new()))
        .await
        .expect("workflow");
}

#[cfg(feature = "sqlite")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_on_sqlite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = crm::sqlite::SqliteStore::open(dir.path().join("crm.db"))
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    workflow(Arc::new(store)).await.expect("workflow");
}

#[cfg(feature = "postgres")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workflow_on_postgres() {
    use sqlx::Connection;
    use std::str::FromStr;
    let url = match std::env::var("CRM_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => u,
        _ => {
            assert!(
                std::env::var("CRM_REQUIRE_POSTGRES").map_or(true, |v| v != "1"),
                "CRM_REQUIRE_POSTGRES=1 but CRM_POSTGRES_URL is not set"
            );
            eprintln!("skipped: CRM_POSTGRES_URL is not set");
            return;
        }
    };
    let schema = format!("crm_test_{}", uuid::Uuid::now_v7().simple());
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("connect");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
        .execute(&mut admin)
        .await
        .expect("create schema");
    let options = sqlx::postgres::PgConnectOptions::from_str(&url)
        .expect("a postgres URL")
        .options([("search_path", format!("{schema},public"))]);
    let store = crm::postgres::PgStore::connect_with(options)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    workflow(Arc::new(store)).await.expect("workflow");
}
