//! Quickstart: a small realistic tenant on the embedded SQLite store, then a Customer 360
//! and a timeline.
//!
//! Run with `cargo run --example quickstart`. The database file is `crm-quickstart.db` in
//! the current directory (or the path in `CRM_QUICKSTART_DB`); a second run reopens it and
//! shows the data the first run wrote.

use chrono::{DateTime, Duration, TimeZone, Utc};
use crm::sqlite::SqliteStore;
use crm::{
    Activity, ActivityKind, Actor, AddressParts, Channel, Consent, Contact, ContactPointKind,
    ContactRole, Crm, CrmConfig, CrmError, Customer, CustomerFilter, CustomerStatus, Due, Entity,
    FollowUp, Interaction, InteractionDirection, LifecycleStage, Links, ListQuery, Location,
    Logged, Money, Note, Priority, TenantId, TimelineEntry, UserId,
};
use uuid::Uuid;

/// The demo tenant and user have fixed ids so a second run finds the first run's data.
const TENANT: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001);
const USER: Uuid = Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0002);

#[tokio::main]
async fn main() -> Result<(), CrmError> {
    let path = std::env::var("CRM_QUICKSTART_DB").unwrap_or_else(|_| "crm-quickstart.db".into());
    let existed = std::path::Path::new(&path).exists();
    let store = SqliteStore::open(&path).await?;
    store.migrate().await?;
    println!(
        "{} SQLite database {} (schema version {})",
        if existed { "Reopened" } else { "Created" },
        std::fs::canonicalize(&path).map_or(path.clone(), |p| p.display().to_string()),
        store.schema_version().await?
    );
    let crm = Crm::new(store).with_config(CrmConfig {
        default_phone_region: Some("DE".into()),
        // Retries of a busy database back off with jitter on tokio's timer.
        retry_pause: Some(crm::tokio_retry_pause()),
        ..CrmConfig::default()
    });
    let alice = Actor::new(TenantId::from_uuid(TENANT), UserId::from_uuid(USER));
    let t0 = Utc
        .with_ymd_and_hms(2026, 11, 2, 9, 0, 0)
        .single()
        .expect("valid date");

    let known = ListQuery::filter(CustomerFilter {
        external_ref: Some("ERP-10042".into()),
        ..Default::default()
    });
    let acme = match crm
        .list::<Customer>(&alice, known)
        .await?
        .items
        .into_iter()
        .next()
    {
        Some(acme) => {
            println!("Found the demo tenant from an earlier run: nothing seeded.\n");
            acme
        }
        None => {
            println!("Seeding the demo tenant.\n");
            seed(&crm, &alice, t0).await?
        }
    };
    let pipeline = crm.pipelines().ensure_default(&alice, t0).await?;

    // Customer 360.
    let v = crm.customers().view_360(&alice, acme.id).await?;
    let c = &v.customer;
    println!(
        "== Customer 360: {} ({:?}, {:?})",
        c.name, c.status, c.lifecycle_stage
    );
    println!(
        "   ERP ref {}  industry {}  employees {}  revenue {}",
        c.external_ref.as_deref().unwrap_or("-"),
        c.industry.as_deref().unwrap_or("-"),
        c.company_size.map_or("-".into(), |n| n.to_string()),
        c.annual_revenue.map_or("-".into(), |m| m.to_string())
    );
    println!(
        "   first contact {}  last contact {}",
        c.first_contact_at.map_or("-".into(), |t| t.to_rfc3339()),
        c.last_contact_at.map_or("-".into(), |t| t.to_rfc3339())
    );
    println!(
        "   tags: {}",
        v.tags
            .iter()
            .map(|t| t.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("-- contacts");
    for ct in &v.contacts {
        let points: Vec<String> = v
            .contact_points
            .iter()
            .filter(|p| p.contact_id == Some(ct.id))
            .map(|p| {
                format!(
                    "{:?} {}{}",
                    p.kind,
                    p.value,
                    if p.primary { " *" } else { "" }
                )
            })
            .collect();
        println!(
            "   {}{} - {} [{}]",
            ct.full_name(),
            if ct.is_primary { " (primary)" } else { "" },
            ct.job_title.as_deref().unwrap_or("-"),
            points.join("; ")
        );
    }
    println!("-- company contact points");
    for p in v.contact_points.iter().filter(|p| p.contact_id.is_none()) {
        println!("   {:?} {} (entered as {:?})", p.kind, p.value, p.raw_value);
    }
    println!("-- locations");
    for l in &v.locations {
        println!(
            "   {}: {}",
            l.label.as_deref().unwrap_or("address"),
            l.one_line()
        );
    }
    println!("-- consent");
    for k in &v.consent {
        let who = v
            .contacts
            .iter()
            .find(|c| Some(c.id) == k.contact_id)
            .map_or(c.name.clone(), |c| c.full_name());
        println!(
            "   {who}: may call {}, may e-mail {} - {}",
            k.may_call(),
            k.may_email(),
            k.notes.as_deref().unwrap_or("")
        );
    }
    println!("-- open deals");
    for d in &v.open_deals {
        let stage = pipeline.stage(d.stage_id).map_or("?", |s| s.name.as_str());
        println!(
            "   {}: {} in {} ({}), weighted {}",
            d.name,
            d.amount,
            stage,
            d.probability,
            d.weighted_amount()?
        );
    }
    println!("-- open activities");
    for a in &v.open_activities {
        println!(
            "   {:?} {:?}: {} due {}",
            a.kind,
            a.priority,
            a.subject,
            a.due_at.map_or("-".into(), |t| t.to_rfc3339())
        );
    }
    println!("-- open follow-ups");
    for f in &v.open_follow_ups {
        println!("   {} due {}", f.title, f.due_at.to_rfc3339());
    }
    println!("-- pinned notes");
    for n in &v.pinned_notes {
        println!("   {}: {}", n.title.as_deref().unwrap_or("note"), n.body);
    }

    // Timeline, newest first, two entries per page to show paging.
    println!("== Timeline");
    let mut cursor = None;
    loop {
        let page = crm.customers().timeline(&alice, acme.id, 2, cursor).await?;
        for e in &page.items {
            let what = match e {
                TimelineEntry::Interaction(i) => format!(
                    "{:?} {:?}: {}",
                    i.channel,
                    i.direction,
                    i.subject.as_deref().unwrap_or("")
                ),
                TimelineEntry::Activity(a) => format!("activity {}: {}", a.kind, a.subject),
                TimelineEntry::FollowUp(f) => format!("follow-up due {}", f.due_at),
                TimelineEntry::Note(n) => format!("note: {}", n.title.as_deref().unwrap_or("")),
                TimelineEntry::StageChange(s) => format!(
                    "deal moved to {} ({})",
                    pipeline
                        .stage(s.to_stage)
                        .map_or("?", |st| st.name.as_str()),
                    s.probability
                ),
            };
            println!("   {}  {}", e.at().format("%Y-%m-%d %H:%M"), what);
        }
        match page.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }

    // Search: names of contacts, e-mails and phone digits all find the customer.
    for text in ["schulz", "0171 555"] {
        let filter = crm::CustomerFilter {
            text: Some(text.into()),
            ..Default::default()
        };
        let hits = crm
            .list::<Customer>(&alice, crm::ListQuery::filter(filter))
            .await?;
        let names: Vec<&str> = hits.items.iter().map(|c| c.name.as_str()).collect();
        println!("== Search {text:?}: {}", names.join(", "));
    }
    Ok(())
}

/// Writes a realistic tenant: a company with two contacts, contact points, an address,
/// consent, a private customer, tags, a deal moved through two stages, interactions, a
/// meeting, a pinned note and a follow-up.
async fn seed(
    crm: &Crm<SqliteStore>,
    alice: &Actor,
    t0: DateTime<Utc>,
) -> Result<Customer, CrmError> {
    let alice = alice.clone();
    let at = |days: i64, hours: i64| t0 + Duration::days(days) + Duration::hours(hours);
    // A company customer with two people, addresses and ways to reach them.
    let mut acme = Customer::company(alice.tenant, "Acme Maschinenbau GmbH", t0)?;
    acme.status = CustomerStatus::Active;
    acme.lifecycle_stage = LifecycleStage::Customer;
    acme.industry = Some("Machinery".into());
    acme.website = Some("https://acme-maschinenbau.example".into());
    acme.company_size = Some(240);
    acme.annual_revenue = Some(Money::new(4_800_000_000, "EUR")?);
    acme.preferred_language = Some("de-DE".into());
    acme.timezone = Some("Europe/Berlin".into());
    acme.external_ref = Some("ERP-10042".into());
    acme.owner = Some(alice.user);
    let acme = crm.customers().create(&alice, acme, t0).await?;

    let mut greta = Contact::new(alice.tenant, acme.id, "Greta", "Schulz", t0)?;
    greta.job_title = Some("Head of Purchasing".into());
    greta.role = Some(ContactRole::DecisionMaker);
    greta.is_primary = true;
    let greta = crm.create(&alice, greta, t0).await?;
    let mut jonas = Contact::new(alice.tenant, acme.id, "Jonas", "Weber", t0)?;
    jonas.job_title = Some("Maintenance Lead".into());
    jonas.role = Some(ContactRole::User);
    let jonas = crm.create(&alice, jonas, t0).await?;

    crm.contacts()
        .add_point(
            &alice,
            acme.id,
            None,
            ContactPointKind::Email,
            "info@acme-maschinenbau.example",
            t0,
        )
        .await?;
    crm.contacts()
        .add_point(
            &alice,
            acme.id,
            None,
            ContactPointKind::Phone,
            "030 901820",
            t0,
        )
        .await?;
    crm.contacts()
        .add_point(
            &alice,
            acme.id,
            Some(greta.id),
            ContactPointKind::Email,
            "G.Schulz@Acme-Maschinenbau.example",
            t0,
        )
        .await?;
    crm.contacts()
        .add_point(
            &alice,
            acme.id,
            Some(greta.id),
            ContactPointKind::Mobile,
            "0171 5550123",
            t0,
        )
        .await?;
    crm.contacts()
        .add_point(
            &alice,
            acme.id,
            Some(jonas.id),
            ContactPointKind::Mobile,
            "+49 160 5550987",
            t0,
        )
        .await?;

    let mut hq = Location::new(
        alice.tenant,
        acme.id,
        AddressParts {
            line1: Some("Industriestraße 7"),
            postal_code: Some("10115"),
            city: Some("Berlin"),
            country: Some("DE"),
        },
        t0,
    )?;
    hq.label = Some("Headquarters".into());
    hq.primary = true;
    crm.create(&alice, hq, t0).await?;

    let mut consent = Consent::new(alice.tenant, acme.id, Some(jonas.id), t0);
    consent.do_not_call = true;
    consent.notes = Some("Prefers e-mail; asked not to be called (2026-10 fair)".into());
    crm.create(&alice, consent, t0).await?;

    // A second customer, a private person.
    let mut ben = Customer::person(alice.tenant, "Ben", "Okafor", t0)?;
    ben.source = Some("website".into());
    let ben = crm.customers().create(&alice, ben, t0).await?;
    crm.contacts()
        .add_point(
            &alice,
            ben.id,
            None,
            ContactPointKind::Email,
            "ben.okafor@example.org",
            t0,
        )
        .await?;

    // Tags.
    let key = crm
        .tags()
        .ensure(&alice, "Key account", Some("#d4a017"), t0)
        .await?;
    let service = crm
        .tags()
        .ensure(&alice, "Service contract", Some("#2e86c1"), t0)
        .await?;
    crm.tags()
        .assign(&alice, key.id, acme.entity_ref(), t0)
        .await?;
    crm.tags()
        .assign(&alice, service.id, acme.entity_ref(), t0)
        .await?;

    // A sales opportunity in the default pipeline.
    let pipeline = crm.pipelines().ensure_default(&alice, t0).await?;
    let stage = pipeline
        .stage_named("Qualification")
        .expect("standard stage")
        .id;
    let mut deal = crm::Deal::new(
        alice.tenant,
        "Line 3 retrofit",
        &pipeline,
        stage,
        Money::new(18_500_000, "EUR")?,
        at(1, 0),
    )?;
    deal.customer_id = Some(acme.id);
    deal.contact_id = Some(greta.id);
    let deal = crm.create(&alice, deal, at(1, 0)).await?;
    let proposal = pipeline.stage_named("Proposal").expect("standard stage").id;
    crm.deals()
        .move_to_stage(&alice, deal.id, proposal, at(6, 3))
        .await?;

    // What happened.
    let mut call = Interaction::new(
        alice.tenant,
        Logged {
            channel: Channel::Phone,
            direction: InteractionDirection::Outbound,
            links: Links {
                contact_id: Some(greta.id),
                ..Links::default()
            },
            occurred_at: at(1, 1),
        },
        at(1, 1),
    )?;
    call.subject = Some("Intro call about line 3".into());
    call.summary =
        Some("Greta wants a retrofit offer before the budget freeze in December.".into());
    call.duration_seconds = Some(22 * 60);
    call.author = Some(alice.user);
    crm.create(&alice, call, at(1, 1)).await?;

    let mut mail = Interaction::new(
        alice.tenant,
        Logged {
            channel: Channel::Email,
            direction: InteractionDirection::Inbound,
            links: Links {
                contact_id: Some(jonas.id),
                ..Links::default()
            },
            occurred_at: at(4, 5),
        },
        at(4, 5),
    )?;
    mail.subject = Some("Spindle vibration on line 3".into());
    mail.summary = Some("Jonas sent measurements; supports the retrofit case.".into());
    crm.create(&alice, mail, at(4, 5)).await?;

    let mut visit = Activity::new(
        alice.tenant,
        ActivityKind::Meeting,
        "On-site visit at line 3",
        Links {
            deal_id: Some(deal.id),
            ..Links::default()
        },
        at(2, 0),
    )?;
    visit.starts_at = Some(at(9, 1));
    visit.ends_at = Some(at(9, 3));
    visit.due_at = Some(at(9, 1));
    visit.assignee = Some(alice.user);
    visit.priority = Priority::High;
    crm.create(&alice, visit, at(2, 0)).await?;

    let mut note = Note::new(
        alice.tenant,
        alice.user,
        "Budget owner is the CFO; Greta prepares the decision.",
        Links::customer(acme.id),
        at(3, 0),
    )?;
    note.title = Some("Decision process".into());
    note.pinned = true;
    crm.create(&alice, note, at(3, 0)).await?;

    let follow = FollowUp::new(
        alice.tenant,
        Due {
            title: "Send retrofit proposal",
            due_at: at(8, 0),
            links: Links::deal(deal.id),
        },
        at(6, 4),
    )?;
    crm.create(&alice, follow, at(6, 4)).await?;

    Ok(acme)
}
