//! A sales pipeline from lead to won deal: leads are qualified and converted, deals move
//! through the stages, one is won and one lost with a reason, a second person of a customer
//! is converted into it as a contact, ERP events move deals (or say why not), then the
//! pipeline is printed as a board with totals per stage and a weighted forecast.
//!
//! Run with `cargo run --example sales_pipeline`.

use chrono::{Duration, TimeZone, Utc};
use crm::memory::MemoryStore;
use crm::{
    Actor, Contact, ConversionDeal, Crm, CrmError, Deal, DealFilter, DealStatus, ExternalEvent,
    ExternalEventKind, ExternalOutcome, Lead, LeadConversion, Loss, Money, Phone, TenantId, UserId,
};

#[tokio::main]
async fn main() -> Result<(), CrmError> {
    let crm = Crm::new(MemoryStore::new());
    let rep = Actor::new(TenantId::new(), UserId::new());
    let t0 = Utc
        .with_ymd_and_hms(2026, 9, 1, 9, 0, 0)
        .single()
        .expect("valid date");
    let day = |d: i64| t0 + Duration::days(d);
    let pipeline = crm.pipelines().ensure_default(&rep, t0).await?;
    let stage = |name: &str| pipeline.stage_named(name).expect("standard stage").id;

    // Five leads arrive; four are qualified and converted into deals, one is disqualified.
    let prospects = [
        (
            "Ines",
            "Morales",
            "ines@verdant.example",
            "Verdant Foods",
            4_200_000,
            "Negotiation",
        ),
        (
            "Kofi",
            "Mensah",
            "kofi@atlas.example",
            "Atlas Logistics",
            12_000_000,
            "Proposal",
        ),
        (
            "Mei",
            "Chen",
            "mei@lumen.example",
            "Lumen Optics",
            1_850_000,
            "Qualification",
        ),
        (
            "Oskar",
            "Berg",
            "oskar@nordvik.example",
            "Nordvik Marine",
            6_400_000,
            "Prospecting",
        ),
        ("Tim", "Student", "tim@uni.example", "", 0, ""),
    ];
    let mut deals = Vec::new();
    let mut customers = Vec::new();
    for (i, (first, last, email, company, amount, target)) in prospects.iter().enumerate() {
        let mut lead = Lead::person(rep.tenant, first, last, Some(email), day(0))?;
        lead.company = (!company.is_empty()).then(|| company.to_string());
        lead.phone = Some(Phone::parse(&format!("+1 415 555 01{i:02}"), None)?);
        lead.source = Some("webinar".into());
        let lead = crm.create(&rep, lead, day(0)).await?;
        crm.leads().contact(&rep, lead.id, day(1)).await?;
        if company.is_empty() {
            let l = crm
                .leads()
                .disqualify(&rep, lead.id, "student, no budget", day(2))
                .await?;
            println!(
                "lead {} disqualified: {}",
                l.display_name(),
                l.disqualification.expect("reason").reason
            );
            continue;
        }
        crm.leads().qualify(&rep, lead.id, day(2)).await?;
        let converted = crm
            .leads()
            .convert(
                &rep,
                lead.id,
                LeadConversion {
                    link_existing: true,
                    deal: Some(ConversionDeal {
                        name: format!("{company} rollout"),
                        amount: Money::new(*amount, "EUR")?,
                        pipeline: None,
                        stage: None,
                    }),
                    ..Default::default()
                },
                day(3),
            )
            .await?;
        let deal = converted.deal.expect("conversion opened a deal");
        println!("lead {first} {last} converted: customer {company}, deal {company} rollout");
        // Walk the deal up to its target stage.
        let order = ["Qualification", "Proposal", "Negotiation"];
        let upto = order.iter().position(|s| s == target).map_or(0, |p| p + 1);
        for (k, s) in order.iter().take(upto).enumerate() {
            crm.deals()
                .move_to_stage(&rep, deal, stage(s), day(4 + 3 * k as i64))
                .await?;
        }
        deals.push(deal);
        customers.push(converted.customer);
    }

    // Verdant is won; Lumen is lost to a competitor.
    let won = crm
        .deals()
        .win(&rep, deals[0], Some("best price-performance"), day(15))
        .await?;
    println!("won: {} for {}", won.name, won.amount);
    let lost = crm
        .deals()
        .lose(
            &rep,
            deals[2],
            Loss {
                reason: "price",
                competitor: Some("Photon GmbH"),
                notes: Some("came in 20% cheaper"),
            },
            day(16),
        )
        .await?;
    println!(
        "lost: {} ({}, to {})",
        lost.name,
        lost.lost_reason.as_deref().unwrap_or("-"),
        lost.lost_to_competitor.as_deref().unwrap_or("-")
    );

    // A colleague at Nordvik, picked by the rep as belonging to that customer, becomes one
    // of its contacts (Oskar stays the primary contact).
    let lars = Lead::person(
        rep.tenant,
        "Lars",
        "Berg",
        Some("lars@nordvik.example"),
        day(16),
    )?;
    let lars = crm.create(&rep, lars, day(16)).await?;
    let joined = crm
        .leads()
        .convert(
            &rep,
            lars.id,
            LeadConversion {
                into_customer: Some(customers[3]),
                ..Default::default()
            },
            day(16),
        )
        .await?;
    let contact = crm
        .get::<Contact>(&rep, joined.contact.expect("the lead's person"))
        .await?;
    println!(
        "lead Lars Berg joined Nordvik Marine as a contact: {} (primary: {})",
        contact.full_name(),
        contact.is_primary
    );

    // The ERP reports quotes: Nordvik's deal moves to Proposal; Atlas is already there, so
    // its quote is recorded but moves nothing, and the outcome says why.
    for (id, deal) in [("Q-100", deals[3]), ("Q-101", deals[1])] {
        let ev = ExternalEvent {
            id: id.into(),
            kind: ExternalEventKind::QuoteSent,
            deal,
        };
        match crm
            .deals()
            .handle_external_event(&rep, &ev, day(17))
            .await?
        {
            ExternalOutcome::Advanced(d) => println!("ERP {id}: {} advanced", d.name),
            ExternalOutcome::Unchanged { deal, reason } => {
                println!("ERP {id}: {} unchanged: {reason}", deal.name)
            }
            ExternalOutcome::Duplicate => println!("ERP {id}: already handled"),
        }
    }

    // The board.
    let all = crm
        .list_all::<Deal>(
            &rep,
            DealFilter {
                pipeline_id: Some(pipeline.id),
                ..Default::default()
            },
        )
        .await?;
    let eur = |minor: i64| Money::new(minor, "EUR");
    println!(
        "\n{:<14} {:>5} {:>16} {:>16}",
        "stage", "deals", "amount", "weighted"
    );
    let mut forecast = eur(0)?;
    for s in &pipeline.stages {
        let in_stage: Vec<&Deal> = all.iter().filter(|d| d.stage_id == s.id).collect();
        let mut total = eur(0)?;
        let mut weighted = eur(0)?;
        for d in &in_stage {
            total = total.checked_add(d.amount)?;
            weighted = weighted.checked_add(d.weighted_amount()?)?;
        }
        if !s.is_closed() {
            forecast = forecast.checked_add(weighted)?;
        }
        println!(
            "{:<14} {:>5} {:>16} {:>16}",
            s.name,
            in_stage.len(),
            total.to_string(),
            weighted.to_string()
        );
        for d in in_stage {
            println!("  - {} ({}, {})", d.name, d.amount, d.probability);
        }
    }
    let won_total = all
        .iter()
        .filter(|d| d.status == DealStatus::Won)
        .try_fold(eur(0)?, |acc, d| acc.checked_add(d.amount))?;
    println!("\nweighted forecast of open deals: {forecast}");
    println!("won so far: {won_total}");
    println!("\nvelocity (average days per stage):");
    for v in crm.pipelines().velocity(&rep, pipeline.id).await? {
        if let Some(days) = v.average_days {
            println!(
                "  {:<14} {:>5.1} days over {} stay(s)",
                v.stage_name, days, v.stays
            );
        }
    }
    Ok(())
}
