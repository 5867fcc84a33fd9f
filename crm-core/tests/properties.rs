//! Property tests of the service's invariants under random operation sequences (on the
//! memory store; the conformance suite shows the stores agree): never two primary contacts
//! of one customer, and a lead is converted exactly when it links to what it became.

use chrono::{DateTime, Duration, TimeZone, Utc};
use crm_core::*;
use crm_store_memory::MemoryStore;
use proptest::prelude::*;

fn t(i: usize) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time")
        + Duration::minutes(i as i64)
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
}

#[derive(Debug, Clone)]
enum ContactOp {
    Create { customer: usize, primary: bool },
    MakePrimary { contact: usize },
    Delete { contact: usize },
}

fn contact_op() -> impl Strategy<Value = ContactOp> {
    prop_oneof![
        (0usize..3, any::<bool>())
            .prop_map(|(customer, primary)| ContactOp::Create { customer, primary }),
        (0usize..12).prop_map(|contact| ContactOp::MakePrimary { contact }),
        (0usize..12).prop_map(|contact| ContactOp::Delete { contact }),
    ]
}

#[derive(Debug, Clone, Copy)]
enum LeadOp {
    Contact,
    Qualify,
    Disqualify,
    Lose,
    Reopen,
    Convert { deal: bool },
}

fn lead_op() -> impl Strategy<Value = (usize, LeadOp)> {
    (
        0usize..3,
        prop_oneof![
            Just(LeadOp::Contact),
            Just(LeadOp::Qualify),
            Just(LeadOp::Disqualify),
            Just(LeadOp::Lose),
            Just(LeadOp::Reopen),
            any::<bool>().prop_map(|deal| LeadOp::Convert { deal }),
        ],
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn never_two_primary_contacts(ops in proptest::collection::vec(contact_op(), 1..30)) {
        rt().block_on(async {
            let crm = Crm::new(MemoryStore::new());
            let a = Actor::new(TenantId::new(), UserId::new());
            let mut customers = Vec::new();
            for i in 0..3 {
                let c = Customer::company(a.tenant, &format!("C{i}"), t(0)).unwrap();
                customers.push(crm.customers().create(&a, c, t(0)).await.unwrap().id);
            }
            let mut contacts: Vec<ContactId> = Vec::new();
            for (i, op) in ops.into_iter().enumerate() {
                let now = t(i + 1);
                match op {
                    ContactOp::Create { customer, primary } => {
                        let mut c = Contact::new(a.tenant, customers[customer], "P", &format!("{i}"), now).unwrap();
                        c.is_primary = primary;
                        contacts.push(crm.create(&a, c, now).await.unwrap().id);
                    }
                    ContactOp::MakePrimary { contact } => {
                        if let Some(id) = contacts.get(contact) {
                            match crm.contacts().set_primary(&a, *id, now).await {
                                Ok(c) => prop_assert!(c.is_primary),
                                Err(e) => prop_assert!(matches!(e, CrmError::NotFound { .. }), "{}", e),
                            }
                        }
                    }
                    ContactOp::Delete { contact } => {
                        if let Some(id) = contacts.get(contact) {
                            let r = crm.delete::<Contact>(&a, *id, None, t(100_000)).await;
                            let fine = r.is_ok() || matches!(r, Err(CrmError::NotFound { .. }));
                            prop_assert!(fine, "delete failed: {:?}", r);
                        }
                    }
                }
                for c in &customers {
                    let primaries = crm
                        .count::<Contact>(&a, ContactFilter { customer_id: Some(*c), is_primary: Some(true), ..Default::default() })
                        .await
                        .unwrap();
                    prop_assert!(primaries <= 1, "customer {} has {} primary contacts", c, primaries);
                }
            }
            Ok(())
        })?;
    }

    #[test]
    fn leads_are_converted_exactly_when_linked(ops in proptest::collection::vec(lead_op(), 1..30)) {
        rt().block_on(async {
            let crm = Crm::new(MemoryStore::new());
            let a = Actor::new(TenantId::new(), UserId::new());
            let mut leads = Vec::new();
            for i in 0..3 {
                let mut l = Lead::person(a.tenant, "L", &format!("{i}"), Some(&format!("l{i}@x.example")), t(0)).unwrap();
                l.company = (i % 2 == 0).then(|| format!("Co {i}"));
                leads.push(crm.create(&a, l, t(0)).await.unwrap().id);
            }
            for (i, (which, op)) in ops.into_iter().enumerate() {
                let now = t(i + 1);
                let id = leads[which];
                let before = crm.get::<Lead>(&a, id).await.unwrap();
                let result = match op {
                    LeadOp::Contact => crm.leads().contact(&a, id, now).await.map(|_| ()),
                    LeadOp::Qualify => crm.leads().qualify(&a, id, now).await.map(|_| ()),
                    LeadOp::Disqualify => crm.leads().disqualify(&a, id, "no fit", now).await.map(|_| ()),
                    LeadOp::Lose => crm.leads().lose(&a, id, now).await.map(|_| ()),
                    LeadOp::Reopen => crm.leads().reopen(&a, id, now).await.map(|_| ()),
                    LeadOp::Convert { deal } => {
                        let options = LeadConversion {
                            contact: Default::default(),
                            into_customer: None,
                            link_existing: true,
                            link_duplicates: false,
                            deal: deal.then(|| ConversionDeal {
                                name: "D".into(),
                                amount: Money::new(100, "EUR").unwrap(),
                                pipeline: None,
                                stage: None,
                            }),
                        };
                        crm.leads().convert(&a, id, options, now).await.map(|_| ())
                    }
                };
                let after = crm.get::<Lead>(&a, id).await.unwrap();
                match result {
                    Ok(()) => prop_assert!(lead_transition_allowed(before.status, after.status) || before.status == after.status),
                    Err(e) => {
                        prop_assert!(matches!(e, CrmError::InvalidTransition { .. }), "{}", e);
                        prop_assert_eq!(&after, &before, "a refused operation changes nothing");
                    }
                }
                for l in &leads {
                    let lead = crm.get::<Lead>(&a, *l).await.unwrap();
                    let converted = lead.status == LeadStatus::Converted;
                    prop_assert_eq!(converted, lead.converted_customer_id.is_some());
                    prop_assert_eq!(converted, lead.converted_at.is_some());
                    if let Some(c) = lead.converted_customer_id {
                        prop_assert!(crm.find::<Customer>(&a, c).await.unwrap().is_some(), "the customer exists");
                    }
                    if let Some(d) = lead.converted_deal_id {
                        let deal = crm.get::<Deal>(&a, d).await.unwrap();
                        prop_assert_eq!(deal.customer_id, lead.converted_customer_id);
                    }
                }
            }
            Ok(())
        })?;
    }
}
