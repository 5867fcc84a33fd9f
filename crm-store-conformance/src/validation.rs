//! Validation boundaries that are stored: the valid boundary values of customers,
//! pipelines and the value types can be written to every store. The model-only
//! validation (constructors and `validate()` rejecting bad input with
//! `CrmError::Validation` naming the field) lives in crm-core's `tests/validation.rs` and
//! runs once.

use crm_core::store::{ChangeSet, EntityRules, MAX_PAGE_SIZE};
use crm_core::*;

use crate::support::*;

/// Customers: names, person names, website, language, time zone, revenue, contact dates,
/// custom fields, optional texts.
pub async fn customer_validation(store: Store) {
    let t = TenantId::new();
    assert_validation(Customer::person(t, " ", "", t0()), "name");
    assert_validation(Customer::company(t, "   ", t0()), "name");
    assert!(
        Customer::person(t, "", "Lovelace", t0()).is_ok(),
        "a last name alone is enough"
    );
    let ok = person(t, "Ada", "Lovelace");
    assert!(ok.validate().is_ok());

    let bad = |f: &dyn Fn(&mut Customer)| {
        let mut c = ok.clone();
        f(&mut c);
        c.validate()
    };
    assert_validation(bad(&|c| c.name = " ".into()), "name");
    assert_validation(bad(&|c| c.name = "x".repeat(513)), "name");
    assert_validation(
        bad(&|c| {
            c.first_name = None;
            c.last_name = None;
        }),
        "first_name",
    );
    assert_validation(bad(&|c| c.last_name = Some("".into())), "last_name");
    assert_validation(bad(&|c| c.company_name = Some(" ".into())), "company_name");
    assert_validation(bad(&|c| c.source = Some("".into())), "source");
    assert_validation(bad(&|c| c.industry = Some("".into())), "industry");
    assert_validation(bad(&|c| c.external_ref = Some("  ".into())), "external_ref");
    assert_validation(bad(&|c| c.website = Some("not a site".into())), "website");
    assert_validation(bad(&|c| c.website = Some("example".into())), "website");
    assert_validation(
        bad(&|c| c.preferred_language = Some("german!".into())),
        "preferred_language",
    );
    assert_validation(
        bad(&|c| c.timezone = Some("berlin time".into())),
        "timezone",
    );
    assert_validation(bad(&|c| c.annual_revenue = Some(eur(-1))), "annual_revenue");
    assert_validation(
        bad(&|c| {
            c.first_contact_at = Some(at(10));
            c.last_contact_at = Some(at(5));
        }),
        "last_contact_at",
    );
    assert_validation(
        bad(&|c| {
            c.custom_fields.insert(" ".into(), serde_json::json!(1));
        }),
        "custom_fields",
    );

    let mut good = ok.clone();
    good.website = Some("https://example.com/about".into());
    good.preferred_language = Some("de-CH".into());
    good.timezone = Some("America/Argentina/Buenos_Aires".into());
    good.first_contact_at = Some(at(5));
    good.last_contact_at = Some(at(5));
    good.annual_revenue = Some(eur(0));
    assert!(good.validate().is_ok());
    insert(&store, t, good).await;
}

/// Pipelines and stages: names, probabilities, won/lost rules, colours, open stage.
pub async fn pipeline_validation(store: Store) {
    let t = TenantId::new();
    assert_validation(Stage::open("Open", 101), "probability");
    let s = |n: &str| Stage::open(n, 10).expect("stage");
    assert_validation(Pipeline::new(t, " ", vec![s("A")], t0()), "name");
    assert_validation(Pipeline::new(t, "P", vec![], t0()), "stages");
    assert_validation(Pipeline::new(t, "P", vec![s(" ")], t0()), "stages[0].name");
    assert_validation(
        Pipeline::new(t, "P", vec![s("A"), s("a")], t0()),
        "stages[1].name",
    );
    let dup = s("A");
    let mut dup2 = s("B");
    dup2.id = dup.id;
    assert_validation(Pipeline::new(t, "P", vec![dup, dup2], t0()), "stages[1].id");
    let mut won = Stage::won("Won");
    won.probability = Percent::new(50, "p").expect("p");
    assert_validation(
        Pipeline::new(t, "P", vec![s("A"), won], t0()),
        "stages[1].probability",
    );
    let mut lost = Stage::lost("Lost");
    lost.probability = Percent::new(5, "p").expect("p");
    assert_validation(
        Pipeline::new(t, "P", vec![s("A"), lost], t0()),
        "stages[1].probability",
    );
    let mut both = Stage::won("Both");
    both.closed_lost = true;
    assert_validation(
        Pipeline::new(t, "P", vec![s("A"), both], t0()),
        "stages[1].closed_lost",
    );
    assert_validation(
        Pipeline::new(
            t,
            "P",
            vec![s("A"), Stage::won("W1"), Stage::won("W2")],
            t0(),
        ),
        "stages",
    );
    assert_validation(
        Pipeline::new(t, "P", vec![Stage::won("W"), Stage::lost("L")], t0()),
        "stages",
    );
    let mut coloured = s("A");
    coloured.colour = Some("red".into());
    assert_validation(
        Pipeline::new(t, "P", vec![coloured], t0()),
        "stages[0].colour",
    );
    let std = Pipeline::standard(t, t0()).expect("standard pipeline");
    assert!(std.is_default);
    assert_eq!(std.stages.len(), 6);
    assert!(std.won_stage().is_some() && std.lost_stage().is_some());
    insert(&store, t, std).await;
}

/// Value types and query parameters: e-mail, phone, country, currency, percent, ids,
/// cursors, page sizes.
pub async fn value_types_validation(store: Store) {
    assert_validation(Email::parse(""), "email");
    assert_validation(Email::parse("no-at-sign"), "email");
    assert_eq!(
        Email::parse(" A@B.example ").expect("email").as_str(),
        "a@b.example"
    );
    assert_validation(Phone::parse(" ", None), "phone");
    assert_validation(Phone::parse("12", None), "phone");
    assert_validation(Phone::parse(&"1".repeat(65), None), "phone");
    assert_eq!(
        Phone::parse("+1 (415) 555-2671", None)
            .expect("phone")
            .e164
            .as_deref(),
        Some("+14155552671")
    );
    assert_validation(Country::parse("XX"), "country");
    assert_validation(Currency::parse(""), "currency");
    assert_eq!(Currency::parse("jpy").expect("jpy").minor_digits(), 0);
    assert_validation(Percent::new(101, "probability"), "probability");
    assert_validation(CustomerId::parse("nope"), "customer_id");
    assert_validation(TenantId::parse(""), "tenant_id");
    assert_validation(Cursor::decode("!!not a cursor!!"), "cursor");
    assert_validation(Cursor::decode("e30"), "cursor");
    assert_validation(ListQuery::<Customer>::new().limit(0).validate(), "limit");
    assert_validation(
        ListQuery::<Customer>::new()
            .limit(MAX_PAGE_SIZE + 1)
            .validate(),
        "limit",
    );
    assert!(ListQuery::<Customer>::new()
        .limit(MAX_PAGE_SIZE)
        .validate()
        .is_ok());
    let c = CustomerId::new();
    assert_eq!(CustomerId::parse(&c.to_string()).expect("round trip"), c);
    // Valid values still store fine.
    let t = TenantId::new();
    apply_ok(
        &store,
        t,
        ChangeSet::new().insert(company(t, "Valid")),
        "valid row",
    )
    .await;
}
