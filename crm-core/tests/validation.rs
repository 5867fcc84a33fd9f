//! Validation of the domain types: constructors and `validate()` reject bad input with
//! `CrmError::Validation` naming the offending field. No store is involved, so these run
//! once here (the conformance suite checks that valid boundary values store on every
//! backend).

use chrono::{Duration, NaiveDate, NaiveTime};
use crm_core::store::{EntityKind, EntityRef, EntityRules};
use crm_core::*;
use crm_store_conformance::support::{
    activity, assert_validation, at, deal, eur, interaction, lead, owned_item, pipeline, t0,
};

#[test]
fn contact_validation() {
    let t = TenantId::new();
    let c = CustomerId::new();
    assert_validation(Contact::new(t, c, "  ", "Smith", t0()), "first_name");
    let ok = Contact::new(t, c, "Bob", "", t0()).expect("contact");
    assert_eq!(ok.last_name, None, "an empty last name is absent");
    let bad = |f: &dyn Fn(&mut Contact)| {
        let mut k = ok.clone();
        f(&mut k);
        k.validate()
    };
    assert_validation(bad(&|k| k.last_name = Some(" ".into())), "last_name");
    assert_validation(bad(&|k| k.job_title = Some("".into())), "job_title");
    assert_validation(bad(&|k| k.department = Some("".into())), "department");
    assert_validation(
        bad(&|k| k.birthday = NaiveDate::from_ymd_opt(1800, 1, 1)),
        "birthday",
    );
    assert_validation(
        bad(&|k| k.birthday = NaiveDate::from_ymd_opt(2300, 1, 1)),
        "birthday",
    );
    assert!(bad(&|k| k.birthday = NaiveDate::from_ymd_opt(1850, 1, 1)).is_ok());
}

/// Contact points: e-mail syntax, phone digits, empty values, E.164 form, label.
#[test]
fn contact_point_validation() {
    let t = TenantId::new();
    let c = CustomerId::new();
    let new = |kind, raw: &str| ContactPoint::new(t, c, None, kind, raw, Some("DE"), t0());
    assert_validation(new(ContactPointKind::Email, "bob"), "value.email");
    assert_validation(new(ContactPointKind::Email, "a@"), "value.email");
    assert_validation(new(ContactPointKind::Email, "  "), "value");
    assert_validation(new(ContactPointKind::Phone, "12"), "value.phone");
    assert_validation(new(ContactPointKind::Mobile, "ab"), "value.phone");
    assert_validation(new(ContactPointKind::Telegram, " "), "value");
    let ok = new(ContactPointKind::Email, " Bob@Example.COM ").expect("email");
    assert_eq!(ok.value, "bob@example.com");
    assert_eq!(ok.raw_value, "Bob@Example.COM");
    let mut upper = ok.clone();
    upper.value = "Bob@Example.com".into();
    assert_validation(upper.validate(), "value");
    let mut labelled = ok.clone();
    labelled.label = Some("".into());
    assert_validation(labelled.validate(), "label");
    let mut set = ok.clone();
    assert_validation(set.set_value("nope", None), "value.email");
    let phone = new(ContactPointKind::Phone, "030 1234567").expect("phone");
    assert_eq!(phone.value, "+49301234567");
    let kept_raw = new(ContactPointKind::Phone, "ext 12345").expect("raw phone");
    assert_eq!(
        kept_raw.value, "ext 12345",
        "unparseable numbers are kept raw"
    );
}

/// Locations: street or city required, country code, coordinates.
#[test]
fn location_validation() {
    let t = TenantId::new();
    let c = CustomerId::new();
    assert_validation(
        Location::new(
            t,
            c,
            AddressParts {
                postal_code: Some("10115"),
                country: Some("DE"),
                ..Default::default()
            },
            t0(),
        ),
        "line1",
    );
    assert_validation(
        Location::new(
            t,
            c,
            AddressParts {
                line1: Some(" "),
                city: Some(""),
                ..Default::default()
            },
            t0(),
        ),
        "line1",
    );
    assert_validation(
        Location::new(
            t,
            c,
            AddressParts {
                line1: Some("Main 1"),
                country: Some("XX"),
                ..Default::default()
            },
            t0(),
        ),
        "country",
    );
    let ok = Location::new(
        t,
        c,
        AddressParts {
            line1: Some("Main 1"),
            country: Some("de"),
            ..Default::default()
        },
        t0(),
    )
    .expect("location");
    assert_eq!(ok.country.map(|c| c.to_string()), Some("DE".into()));
    let bad = |f: &dyn Fn(&mut Location)| {
        let mut l = ok.clone();
        f(&mut l);
        l.validate()
    };
    assert_validation(
        bad(&|l| {
            l.latitude = Some(91.0);
            l.longitude = Some(0.0);
        }),
        "latitude",
    );
    assert_validation(
        bad(&|l| {
            l.latitude = Some(0.0);
            l.longitude = Some(-180.5);
        }),
        "longitude",
    );
    assert_validation(bad(&|l| l.latitude = Some(10.0)), "longitude");
    assert_validation(bad(&|l| l.label = Some("".into())), "label");
    assert!(bad(&|l| {
        l.latitude = Some(-90.0);
        l.longitude = Some(180.0);
    })
    .is_ok());
}

/// Consent: contact window order and time zone, notes length.
#[test]
fn consent_validation() {
    let t = TenantId::new();
    let ok = Consent::new(t, CustomerId::new(), None, t0());
    assert!(ok.validate().is_ok());
    assert!(ok.may_email() && ok.may_call() && ok.may_sms());
    let window = |from: u32, to: u32, tz: &str| ContactWindow {
        from: NaiveTime::from_hms_opt(from, 0, 0).expect("time"),
        to: NaiveTime::from_hms_opt(to, 0, 0).expect("time"),
        timezone: tz.into(),
        weekdays: vec![],
    };
    let with = |w: ContactWindow| {
        Consent {
            contact_window: Some(w),
            ..ok.clone()
        }
        .validate()
    };
    assert_validation(with(window(17, 9, "Europe/Berlin")), "contact_window.to");
    assert_validation(with(window(9, 9, "Europe/Berlin")), "contact_window.to");
    assert_validation(with(window(9, 17, "nowhere")), "contact_window.timezone");
    assert!(with(window(9, 17, "UTC")).is_ok());
    let dnc = Consent {
        do_not_contact: true,
        ..ok.clone()
    };
    assert!(!dnc.may_email() && !dnc.may_call() && !dnc.may_sms());
}

/// Leads: something to identify, e-mail syntax, budget, conversion and disqualification
/// consistency.
#[test]
fn lead_validation() {
    let t = TenantId::new();
    assert_validation(Lead::person(t, " ", "", None, t0()), "first_name");
    assert_validation(
        Lead::person(t, "A", "", Some("not-an-email"), t0()),
        "email",
    );
    assert_validation(Lead::new(t, t0()).validate(), "first_name");
    let ok = lead(t, "Lena", "");
    let bad = |f: &dyn Fn(&mut Lead)| {
        let mut l = ok.clone();
        f(&mut l);
        l.validate()
    };
    assert_validation(bad(&|l| l.company = Some("".into())), "company");
    assert_validation(bad(&|l| l.budget = Some(eur(-5))), "budget");
    assert_validation(
        bad(&|l| l.status = LeadStatus::Converted),
        "converted_customer_id",
    );
    assert_validation(
        bad(&|l| {
            l.status = LeadStatus::Converted;
            l.converted_customer_id = Some(CustomerId::new());
        }),
        "converted_customer_id",
    );
    assert_validation(
        bad(&|l| l.converted_customer_id = Some(CustomerId::new())),
        "status",
    );
    assert_validation(
        bad(&|l| l.status = LeadStatus::Disqualified),
        "disqualification",
    );
    assert_validation(
        bad(&|l| {
            l.status = LeadStatus::Disqualified;
            l.disqualification = Some(Disqualification {
                reason: " ".into(),
                by: None,
                at: t0(),
            });
        }),
        "disqualification.reason",
    );
    assert_validation(Percent::new(101, "score"), "score");
    assert_validation(Percent::new(-1, "score"), "score");
    let mut only_company = Lead::new(t, t0());
    only_company.company = Some("Acme".into());
    assert!(only_company.validate().is_ok());
    assert_eq!(only_company.display_name(), "Acme");
}

/// Deals and line items: names, currencies, amounts, stages, close consistency.
#[test]
fn deal_validation() {
    let t = TenantId::new();
    assert_validation(Money::new(1, "EUX"), "currency");
    assert_validation(Currency::parse("euro"), "currency");
    let p = pipeline(t, "P");
    let open = p.stages[0].id;
    assert_validation(Deal::new(t, " ", &p, open, eur(1), t0()), "name");
    assert_validation(
        Deal::new(t, "D", &p, StageId::new(), eur(1), t0()),
        "stage_id",
    );
    let won = p.won_stage().expect("won").id;
    assert_validation(Deal::new(t, "D", &p, won, eur(1), t0()), "stage_id");
    assert_validation(Deal::new(t, "D", &p, open, eur(-1), t0()), "amount");
    assert_validation(LineItem::new("Widget", 0, eur(1)), "line_items[0].quantity");
    assert_validation(LineItem::new(" ", 1, eur(1)), "line_items[0].name");
    assert_validation(
        LineItem::new("Widget", 1, eur(-1)),
        "line_items[0].unit_price",
    );
    let ok = deal(t, &p, "D", 100);
    assert_eq!(
        ok.probability, p.stages[0].probability,
        "a new deal takes its stage's probability"
    );
    let bad = |f: &dyn Fn(&mut Deal)| {
        let mut d = ok.clone();
        f(&mut d);
        d.validate()
    };
    assert_validation(
        bad(&|d| {
            d.line_items
                .push(LineItem::new("W", 1, Money::new(1, "USD").expect("usd")).expect("li"));
        }),
        "line_items[0].unit_price",
    );
    assert_validation(bad(&|d| d.closed_at = Some(t0())), "closed_at");
    assert_validation(
        bad(&|d| {
            d.status = DealStatus::Won;
            d.closed_at = Some(t0());
        }),
        "probability",
    );
    assert_validation(
        bad(&|d| {
            d.status = DealStatus::Won;
            d.probability = Percent::HUNDRED;
        }),
        "closed_at",
    );
    assert_validation(bad(&|d| d.lost_reason = Some("".into())), "lost_reason");
    let li = LineItem::new("W", 3, eur(1_000)).expect("li");
    let li = LineItem {
        discount: Percent::new(10, "discount").expect("p"),
        ..li
    };
    assert_eq!(li.total().expect("total").minor, 2_700);
    let d = Deal {
        line_items: vec![li],
        ..ok.clone()
    };
    assert_eq!(d.line_items_total().expect("sum").minor, 2_700);
    assert_eq!(
        Deal {
            probability: Percent::new(25, "p").expect("p"),
            ..ok
        }
        .weighted_amount()
        .expect("w")
        .minor,
        25
    );
}

/// Activities: subject, start/end order, reminder before due, completion time.
#[test]
fn activity_validation() {
    let t = TenantId::new();
    let links = Links::customer(CustomerId::new());
    assert_validation(
        Activity::new(t, ActivityKind::Call, "  ", links, t0()),
        "subject",
    );
    let ok = activity(t, links, "Call");
    let bad = |f: &dyn Fn(&mut Activity)| {
        let mut a = ok.clone();
        f(&mut a);
        a.validate()
    };
    assert_validation(
        bad(&|a| {
            a.starts_at = Some(at(100));
            a.ends_at = Some(at(99));
        }),
        "ends_at",
    );
    assert_validation(
        bad(&|a| {
            a.due_at = Some(at(100));
            a.reminder_at = Some(at(101));
        }),
        "reminder_at",
    );
    assert_validation(
        bad(&|a| a.status = ActivityStatus::Completed),
        "completed_at",
    );
    assert_validation(bad(&|a| a.outcome = Some("".into())), "outcome");
    assert!(
        bad(&|a| {
            a.starts_at = Some(at(100));
            a.ends_at = Some(at(100));
            a.due_at = Some(at(100));
            a.reminder_at = Some(at(100));
        })
        .is_ok(),
        "equal start and end are fine"
    );
    assert!(ActivityStatus::InProgress.is_open() && !ActivityStatus::Cancelled.is_open());
}

/// Interactions and notes: at least one link, texts, duration.
#[test]
fn interaction_and_note_validation() {
    let t = TenantId::new();
    let none = Links::default();
    assert_validation(
        Interaction::new(
            t,
            Logged {
                channel: Channel::Email,
                direction: InteractionDirection::Inbound,
                links: none,
                occurred_at: t0(),
            },
            t0(),
        ),
        "links",
    );
    let ok = interaction(t, Links::customer(CustomerId::new()), t0());
    let bad = |f: &dyn Fn(&mut Interaction)| {
        let mut i = ok.clone();
        f(&mut i);
        i.validate()
    };
    assert_validation(bad(&|i| i.subject = Some(" ".into())), "subject");
    assert_validation(bad(&|i| i.summary = Some("x".repeat(4097))), "summary");
    assert_validation(
        bad(&|i| i.duration_seconds = Some(7 * 24 * 3600 + 1)),
        "duration_seconds",
    );
    assert!(bad(&|i| i.duration_seconds = Some(7 * 24 * 3600)).is_ok());

    let u = UserId::new();
    assert_validation(Note::new(t, u, "body", none, t0()), "links");
    let links = Links::customer(CustomerId::new());
    assert_validation(Note::new(t, u, "   ", links, t0()), "body");
    let n = Note::new(t, u, "body", links, t0()).expect("note");
    assert_validation(
        Note {
            title: Some("".into()),
            ..n.clone()
        }
        .validate(),
        "title",
    );
    let private = Note { private: true, ..n };
    assert!(private.visible_to(u) && !private.visible_to(UserId::new()));
}

/// Tags and tag assignments: name, length, colour, taggable target kinds.
#[test]
fn tag_validation() {
    let t = TenantId::new();
    assert_validation(Tag::new(t, " ", None, t0()), "name");
    assert_validation(Tag::new(t, &"x".repeat(65), None, t0()), "name");
    assert_validation(Tag::new(t, "t", Some("blue"), t0()), "colour");
    assert_validation(Tag::new(t, "t", Some("#12345g"), t0()), "colour");
    let ok = Tag::new(t, "t", Some(" #A0B1C2 "), t0()).expect("tag");
    assert_eq!(ok.colour.as_deref(), Some("#a0b1c2"));
    assert!(Tag::new(t, &"x".repeat(64), None, t0()).is_ok());
    let g = TagId::new();
    for kind in [
        EntityKind::Pipeline,
        EntityKind::Note,
        EntityKind::Tag,
        EntityKind::Activity,
    ] {
        assert_validation(
            TagAssignment::new(t, g, EntityRef::new(kind, uuid::Uuid::now_v7()), t0()),
            "target.kind",
        );
    }
    for kind in TAGGABLE {
        assert!(
            TagAssignment::new(t, g, EntityRef::new(*kind, uuid::Uuid::now_v7()), t0()).is_ok()
        );
    }
}

/// Follow-ups: title, links, completion consistency.
#[test]
fn follow_up_validation() {
    let t = TenantId::new();
    let links = Links::lead(LeadId::new());
    assert_validation(
        FollowUp::new(
            t,
            Due {
                title: " ",
                due_at: t0(),
                links,
            },
            t0(),
        ),
        "title",
    );
    assert_validation(
        FollowUp::new(
            t,
            Due {
                title: "F",
                due_at: t0(),
                links: Links::default(),
            },
            t0(),
        ),
        "links",
    );
    let ok = FollowUp::new(
        t,
        Due {
            title: "F",
            due_at: t0() + Duration::days(1),
            links,
        },
        t0(),
    )
    .expect("follow-up");
    assert_validation(
        FollowUp {
            status: FollowUpStatus::Completed,
            ..ok.clone()
        }
        .validate(),
        "completed_at",
    );
    assert_validation(
        FollowUp {
            completed_at: Some(t0()),
            ..ok.clone()
        }
        .validate(),
        "completed_at",
    );
    assert!(FollowUp {
        status: FollowUpStatus::Completed,
        completed_at: Some(t0()),
        ..ok
    }
    .validate()
    .is_ok());
}

/// Owned items and attachments: names, quantities, serial numbers, file names, MIME types,
/// storage keys, links.
#[test]
fn owned_item_and_attachment_validation() {
    let t = TenantId::new();
    let c = CustomerId::new();
    assert_validation(
        OwnedItem::new(t, c, OwnedItemKind::Device, " ", t0()),
        "name",
    );
    let ok = owned_item(t, c, "Pump");
    assert_validation(
        OwnedItem {
            quantity: 0,
            ..ok.clone()
        }
        .validate(),
        "quantity",
    );
    assert_validation(
        OwnedItem {
            serial_numbers: vec!["a".into(), "b".into()],
            ..ok.clone()
        }
        .validate(),
        "serial_numbers",
    );
    assert_validation(
        OwnedItem {
            quantity: 2,
            serial_numbers: vec!["a".into(), "a".into()],
            ..ok.clone()
        }
        .validate(),
        "serial_numbers[1]",
    );
    assert_validation(
        OwnedItem {
            quantity: 2,
            serial_numbers: vec![" ".into()],
            ..ok.clone()
        }
        .validate(),
        "serial_numbers[0]",
    );
    assert_validation(
        OwnedItem {
            product_ref: Some("".into()),
            ..ok
        }
        .validate(),
        "product_ref",
    );

    let links = Links::customer(c);
    let new = |name: &str, mime: &str, key: &str, links: Links| {
        Attachment::new(t, name, 1, mime, key, links, t0())
    };
    assert_validation(
        new("a.pdf", "application/pdf", "k", Links::default()),
        "links",
    );
    assert_validation(new(" ", "application/pdf", "k", links), "file_name");
    assert_validation(new("../a.pdf", "application/pdf", "k", links), "file_name");
    assert_validation(new("a\\b.pdf", "application/pdf", "k", links), "file_name");
    assert_validation(new("a.pdf", "application/pdf", " ", links), "storage_key");
    assert_validation(new("a.pdf", "pdf", "k", links), "mime_type");
    assert_validation(new("a.pdf", "a/b/c", "k", links), "mime_type");
    assert_validation(new("a.pdf", "application/", "k", links), "mime_type");
    let a = new("a.pdf", " Application/PDF ", "k", links).expect("attachment");
    assert_eq!(a.mime_type, "application/pdf");
}
