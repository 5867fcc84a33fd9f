//! The SQL mapping of every entity: projection columns, indexes, filter conditions and
//! sort columns. Sort columns hold exactly `SortKey::value`, so ordering matches the
//! memory store.

use sea_query::{Cond, Condition, ExprTrait, SimpleExpr, Value};
use uuid::Uuid;

use crm_core::model::*;
use crm_core::store::{keys, EntityKind};
use crm_core::Result;

use crate::cond::{self, add, eq, eq_enum, range};
use crate::schema::{Col, ColKind::*, Index};
use crate::{
    col, date_nanos, enum_text, nanos, opt_enum, opt_nanos, opt_uuid, sort_key_value, uuid_value,
    Dialect, SqlEntity,
};

const LINK_COLS: [Col; 4] = [
    Col::refs("customer_id", EntityKind::Customer),
    Col::refs("contact_id", EntityKind::Contact),
    Col::refs("lead_id", EntityKind::Lead),
    Col::refs("deal_id", EntityKind::Deal),
];

fn link_values(l: &Links) -> [Value; 4] {
    [
        opt_uuid(l.customer_id),
        opt_uuid(l.contact_id),
        opt_uuid(l.lead_id),
        opt_uuid(l.deal_id),
    ]
}

fn text(v: Option<&str>) -> Value {
    v.map(str::to_string).into()
}

fn new_cond() -> Vec<SimpleExpr> {
    Vec::new()
}

fn all(parts: Vec<SimpleExpr>) -> Condition {
    parts.into_iter().fold(Cond::all(), Condition::add)
}

impl SqlEntity for Customer {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            Col::new("kind", Text),
            Col::new("status", Text),
            Col::new("lifecycle_stage", Text),
            Col::new("owner", Uuid),
            Col::new("source", Text),
            Col::new("industry", Text),
            Col::new("external_ref", Text),
            Col::new("name_ci", Text),
            Col::new("last_contact_at", Int),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["kind"]),
            Index::on(&["status"]),
            Index::on(&["lifecycle_stage"]),
            Index::on(&["owner"]),
            Index::on(&["source"]),
            Index::on(&["industry"]),
            Index::on(&["name_ci"]),
            Index::on(&["last_contact_at"]),
            Index::unique(
                keys::CUSTOMER_EXTERNAL_REF,
                &["external_ref"],
                Some("external_ref IS NOT NULL"),
            ),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            enum_text(&self.kind).into(),
            enum_text(&self.status).into(),
            enum_text(&self.lifecycle_stage).into(),
            opt_uuid(self.owner),
            text(self.source.as_deref()),
            text(self.industry.as_deref()),
            text(self.external_ref.as_deref()),
            sort_key_value(&CustomerSort::Name, self)?,
            opt_nanos("last_contact_at", self.last_contact_at)?,
        ])
    }
    fn condition(f: &CustomerFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq_enum(&mut c, "kind", f.kind.as_ref());
        eq_enum(&mut c, "status", f.status.as_ref());
        eq_enum(&mut c, "lifecycle_stage", f.lifecycle_stage.as_ref());
        eq(&mut c, "owner", f.owner.map(Uuid::from));
        eq(&mut c, "source", f.source.clone());
        eq(&mut c, "industry", f.industry.clone());
        eq(&mut c, "external_ref", f.external_ref.clone());
        range(&mut c, "created_at", f.created_from, f.created_to);
        if let Some(t) = f.not_contacted_since {
            add(
                &mut c,
                col("last_contact_at").is_null().or(cond::time_cmp(
                    "last_contact_at",
                    t,
                    sea_query::BinOper::SmallerThan,
                )),
            );
        }
        all(c)
    }
    fn sort_column(s: &CustomerSort) -> &'static str {
        match s {
            CustomerSort::CreatedAt => "created_at",
            CustomerSort::UpdatedAt => "updated_at",
            CustomerSort::Name => "name_ci",
            CustomerSort::LastContactAt => "last_contact_at",
        }
    }
}

impl SqlEntity for Contact {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            Col::refs("customer_id", EntityKind::Customer),
            Col::new("role", Text),
            Col::new("is_primary", Bool),
            Col::new("name_ci", Text),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["customer_id", "created_at"]),
            Index::on(&["role"]),
            Index::on(&["name_ci"]),
            Index::unique(keys::CONTACT_PRIMARY, &["customer_id"], Some("is_primary")),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            uuid_value(self.customer_id),
            opt_enum(self.role.as_ref()),
            self.is_primary.into(),
            sort_key_value(&ContactSort::Name, self)?,
        ])
    }
    fn condition(f: &ContactFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "customer_id", f.customer_id.map(Uuid::from));
        eq_enum(&mut c, "role", f.role.as_ref());
        eq(&mut c, "is_primary", f.is_primary);
        all(c)
    }
    fn sort_column(s: &ContactSort) -> &'static str {
        match s {
            ContactSort::CreatedAt => "created_at",
            ContactSort::Name => "name_ci",
        }
    }
}

impl SqlEntity for ContactPoint {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            Col::refs("customer_id", EntityKind::Customer),
            Col::refs("contact_id", EntityKind::Contact),
            Col::new("kind", Text),
            Col::new("value", Text),
            Col::new("is_primary", Bool),
            Col::new("owner_id", Uuid),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["customer_id", "created_at"]),
            Index::on(&["contact_id"]),
            Index::on(&["value", "kind"]),
            Index::on(&["kind"]),
            Index::unique(
                keys::CONTACT_POINT_PRIMARY,
                &["owner_id", "kind"],
                Some("is_primary"),
            ),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            uuid_value(self.customer_id),
            opt_uuid(self.contact_id),
            enum_text(&self.kind).into(),
            self.value.clone().into(),
            self.primary.into(),
            Value::from(self.owner().id),
        ])
    }
    fn condition(f: &ContactPointFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "customer_id", f.customer_id.map(Uuid::from));
        eq(&mut c, "contact_id", f.contact_id.map(Uuid::from));
        if f.customer_level_only {
            add(&mut c, col("contact_id").is_null());
        }
        eq_enum(&mut c, "kind", f.kind.as_ref());
        eq(&mut c, "value", f.value.clone());
        eq(&mut c, "is_primary", f.primary);
        all(c)
    }
    fn sort_column(s: &ContactPointSort) -> &'static str {
        match s {
            ContactPointSort::CreatedAt => "created_at",
            ContactPointSort::Value => "value",
        }
    }
}

impl SqlEntity for Location {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            Col::refs("customer_id", EntityKind::Customer),
            Col::new("usage", Text),
            Col::new("country", Text),
            Col::new("postal_code", Text),
            Col::new("is_primary", Bool),
            Col::new("city_ci", Text),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["customer_id", "created_at"]),
            Index::on(&["country"]),
            Index::on(&["postal_code"]),
            Index::on(&["usage"]),
            Index::on(&["city_ci"]),
            Index::unique(keys::LOCATION_PRIMARY, &["customer_id"], Some("is_primary")),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            uuid_value(self.customer_id),
            enum_text(&self.usage).into(),
            text(self.country.as_ref().map(|c| c.code())),
            text(self.postal_code.as_deref()),
            self.primary.into(),
            sort_key_value(&LocationSort::City, self)?,
        ])
    }
    fn condition(f: &LocationFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "customer_id", f.customer_id.map(Uuid::from));
        eq_enum(&mut c, "usage", f.usage.as_ref());
        eq(&mut c, "country", f.country.map(|c| c.code().to_string()));
        eq(&mut c, "postal_code", f.postal_code.clone());
        eq(&mut c, "is_primary", f.primary);
        all(c)
    }
    fn sort_column(s: &LocationSort) -> &'static str {
        match s {
            LocationSort::CreatedAt => "created_at",
            LocationSort::City => "city_ci",
        }
    }
}

impl SqlEntity for Consent {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            Col::refs("customer_id", EntityKind::Customer),
            Col::refs("contact_id", EntityKind::Contact),
            Col::new("do_not_contact", Bool),
            Col::new("subject_id", Uuid),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::unique(keys::CONSENT_SUBJECT, &["subject_id"], None),
            Index::on(&["do_not_contact"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        let subject: Uuid = self.contact_id.map_or(self.customer_id.into(), Uuid::from);
        Ok(vec![
            uuid_value(self.customer_id),
            opt_uuid(self.contact_id),
            self.do_not_contact.into(),
            Value::from(subject),
        ])
    }
    fn condition(f: &ConsentFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "customer_id", f.customer_id.map(Uuid::from));
        eq(&mut c, "contact_id", f.contact_id.map(Uuid::from));
        eq(&mut c, "do_not_contact", f.do_not_contact);
        all(c)
    }
    fn sort_column(s: &ConsentSort) -> &'static str {
        match s {
            ConsentSort::CreatedAt => "created_at",
            ConsentSort::UpdatedAt => "updated_at",
        }
    }
}

impl SqlEntity for Lead {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            Col::new("status", Text),
            Col::new("owner", Uuid),
            Col::new("source", Text),
            Col::new("campaign", Text),
            Col::new("rating", Text),
            Col::new("score", Int),
            Col::new("email", Text),
            Col::refs("converted_customer_id", EntityKind::Customer),
            Col::refs("converted_contact_id", EntityKind::Contact),
            Col::refs("converted_deal_id", EntityKind::Deal),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["status"]),
            Index::on(&["owner"]),
            Index::on(&["source"]),
            Index::on(&["campaign"]),
            Index::on(&["rating"]),
            Index::on(&["score"]),
            Index::on(&["email"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            enum_text(&self.status).into(),
            opt_uuid(self.owner),
            text(self.source.as_deref()),
            text(self.campaign.as_deref()),
            opt_enum(self.rating.as_ref()),
            i64::from(self.score.get()).into(),
            text(self.email.as_ref().map(|e| e.as_str())),
            opt_uuid(self.converted_customer_id),
            opt_uuid(self.converted_contact_id),
            opt_uuid(self.converted_deal_id),
        ])
    }
    fn condition(f: &LeadFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq_enum(&mut c, "status", f.status.as_ref());
        eq(&mut c, "owner", f.owner.map(Uuid::from));
        eq(&mut c, "source", f.source.clone());
        eq(&mut c, "campaign", f.campaign.clone());
        eq_enum(&mut c, "rating", f.rating.as_ref());
        eq(
            &mut c,
            "converted_customer_id",
            f.converted_customer_id.map(Uuid::from),
        );
        if let Some(m) = f.min_score {
            add(&mut c, col("score").gte(i64::from(m)));
        }
        eq(
            &mut c,
            "email",
            f.email.as_ref().map(|e| e.as_str().to_string()),
        );
        range(&mut c, "created_at", f.created_from, f.created_to);
        all(c)
    }
    fn sort_column(s: &LeadSort) -> &'static str {
        match s {
            LeadSort::CreatedAt => "created_at",
            LeadSort::UpdatedAt => "updated_at",
            LeadSort::Score => "score",
        }
    }
}

impl SqlEntity for Pipeline {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[Col::new("is_default", Bool), Col::new("name_ci", Text)];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::unique(keys::PIPELINE_NAME, &["name_ci"], None),
            Index::unique(keys::PIPELINE_DEFAULT, &[], Some("is_default")),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            self.is_default.into(),
            sort_key_value(&PipelineSort::Name, self)?,
        ])
    }
    fn condition(f: &PipelineFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "is_default", f.is_default);
        all(c)
    }
    fn sort_column(s: &PipelineSort) -> &'static str {
        match s {
            PipelineSort::CreatedAt => "created_at",
            PipelineSort::Name => "name_ci",
        }
    }
}

impl SqlEntity for Deal {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            Col::refs("customer_id", EntityKind::Customer),
            Col::refs("contact_id", EntityKind::Contact),
            Col::refs("pipeline_id", EntityKind::Pipeline),
            Col::new("stage_id", Uuid),
            Col::new("status", Text),
            Col::new("owner", Uuid),
            Col::new("amount", Int),
            Col::new("expected_close", Int),
            Col::new("name_ci", Text),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["customer_id", "created_at"]),
            Index::on(&["pipeline_id", "stage_id"]),
            Index::on(&["stage_id"]),
            Index::on(&["status"]),
            Index::on(&["owner"]),
            Index::on(&["amount"]),
            Index::on(&["expected_close"]),
            Index::on(&["name_ci"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            opt_uuid(self.customer_id),
            opt_uuid(self.contact_id),
            uuid_value(self.pipeline_id),
            uuid_value(self.stage_id),
            enum_text(&self.status).into(),
            opt_uuid(self.owner),
            self.amount.minor.into(),
            date_nanos("expected_close", self.expected_close)?,
            sort_key_value(&DealSort::Name, self)?,
        ])
    }
    fn condition(f: &DealFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "customer_id", f.customer_id.map(Uuid::from));
        eq(&mut c, "pipeline_id", f.pipeline_id.map(Uuid::from));
        eq(&mut c, "stage_id", f.stage_id.map(Uuid::from));
        eq_enum(&mut c, "status", f.status.as_ref());
        eq(&mut c, "owner", f.owner.map(Uuid::from));
        if let Some(m) = f.min_amount {
            add(&mut c, col("amount").gte(m));
        }
        if let Some(d) = f.expected_close_before {
            let limit = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
            if let Some(t) = limit {
                add(
                    &mut c,
                    cond::time_cmp("expected_close", t, sea_query::BinOper::SmallerThanOrEqual),
                );
            }
        }
        range(&mut c, "created_at", f.created_from, f.created_to);
        all(c)
    }
    fn sort_column(s: &DealSort) -> &'static str {
        match s {
            DealSort::CreatedAt => "created_at",
            DealSort::UpdatedAt => "updated_at",
            DealSort::Amount => "amount",
            DealSort::ExpectedClose => "expected_close",
            DealSort::Name => "name_ci",
        }
    }
}

impl SqlEntity for StageChange {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            Col::refs("deal_id", EntityKind::Deal),
            Col::new("customer_id", Uuid),
            Col::new("pipeline_id", Uuid),
            Col::new("at", Int),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["deal_id", "at"]),
            Index::on(&["customer_id", "at"]),
            Index::on(&["pipeline_id", "at"]),
            Index::on(&["at"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            uuid_value(self.deal_id),
            opt_uuid(self.customer_id),
            uuid_value(self.pipeline_id),
            nanos("at", self.at)?.into(),
        ])
    }
    fn condition(f: &StageChangeFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "deal_id", f.deal_id.map(Uuid::from));
        eq(&mut c, "customer_id", f.customer_id.map(Uuid::from));
        eq(&mut c, "pipeline_id", f.pipeline_id.map(Uuid::from));
        range(&mut c, "at", f.from, f.to);
        all(c)
    }
    fn sort_column(_: &StageChangeSort) -> &'static str {
        "at"
    }
}

impl SqlEntity for Activity {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            LINK_COLS[0],
            LINK_COLS[1],
            LINK_COLS[2],
            LINK_COLS[3],
            Col::new("kind", Text),
            Col::new("status", Text),
            Col::new("assignee", Uuid),
            Col::new("due_at", Int),
            Col::new("reminder_at", Int),
            Col::new("priority", Int),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["customer_id", "due_at"]),
            Index::on(&["assignee", "status", "due_at"]),
            Index::on(&["status", "due_at"]),
            Index::on(&["due_at"]),
            Index::on(&["reminder_at"]),
            Index::on(&["priority"]),
            Index::on(&["kind"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        let mut v = link_values(&self.links).to_vec();
        v.extend([
            enum_text(&self.kind).into(),
            enum_text(&self.status).into(),
            opt_uuid(self.assignee),
            opt_nanos("due_at", self.due_at)?,
            opt_nanos("reminder_at", self.reminder_at)?,
            (self.priority as i64).into(),
        ]);
        Ok(v)
    }
    fn condition(f: &ActivityFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        cond::links(&mut c, &f.links);
        eq_enum(&mut c, "kind", f.kind.as_ref());
        eq_enum(&mut c, "status", f.status.as_ref());
        if f.open_only {
            add(
                &mut c,
                col("status").is_in([
                    enum_text(&ActivityStatus::Pending),
                    enum_text(&ActivityStatus::InProgress),
                ]),
            );
        }
        eq(&mut c, "assignee", f.assignee.map(Uuid::from));
        if let Some(t) = f.due_before {
            add(
                &mut c,
                cond::time_cmp("due_at", t, sea_query::BinOper::SmallerThan),
            );
        }
        if let Some(t) = f.reminder_before {
            add(
                &mut c,
                cond::time_cmp("reminder_at", t, sea_query::BinOper::SmallerThanOrEqual),
            );
        }
        all(c)
    }
    fn sort_column(s: &ActivitySort) -> &'static str {
        match s {
            ActivitySort::CreatedAt => "created_at",
            ActivitySort::DueAt => "due_at",
            ActivitySort::Priority => "priority",
        }
    }
}

impl SqlEntity for Interaction {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            LINK_COLS[0],
            LINK_COLS[1],
            LINK_COLS[2],
            LINK_COLS[3],
            Col::new("channel", Text),
            Col::new("direction", Text),
            Col::new("author", Uuid),
            Col::new("occurred_at", Int),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["customer_id", "occurred_at"]),
            Index::on(&["contact_id", "occurred_at"]),
            Index::on(&["deal_id", "occurred_at"]),
            Index::on(&["lead_id", "occurred_at"]),
            Index::on(&["occurred_at"]),
            Index::on(&["channel"]),
            Index::on(&["author"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        let mut v = link_values(&self.links).to_vec();
        v.extend([
            enum_text(&self.channel).into(),
            enum_text(&self.direction).into(),
            opt_uuid(self.author),
            nanos("occurred_at", self.occurred_at)?.into(),
        ]);
        Ok(v)
    }
    fn condition(f: &InteractionFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        cond::links(&mut c, &f.links);
        eq_enum(&mut c, "channel", f.channel.as_ref());
        eq_enum(&mut c, "direction", f.direction.as_ref());
        eq(&mut c, "author", f.author.map(Uuid::from));
        range(&mut c, "occurred_at", f.occurred_from, f.occurred_to);
        all(c)
    }
    fn sort_column(s: &InteractionSort) -> &'static str {
        match s {
            InteractionSort::OccurredAt => "occurred_at",
            InteractionSort::CreatedAt => "created_at",
        }
    }
}

impl SqlEntity for Note {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            LINK_COLS[0],
            LINK_COLS[1],
            LINK_COLS[2],
            LINK_COLS[3],
            Col::new("pinned", Bool),
            Col::new("author", Uuid),
            Col::new("private", Bool),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["customer_id", "created_at"]),
            Index::on(&["contact_id"]),
            Index::on(&["deal_id"]),
            Index::on(&["lead_id"]),
            Index::on(&["author"]),
            Index::on(&["pinned"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        let mut v = link_values(&self.links).to_vec();
        v.extend([
            self.pinned.into(),
            uuid_value(self.author),
            self.private.into(),
        ]);
        Ok(v)
    }
    fn condition(f: &NoteFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        cond::links(&mut c, &f.links);
        eq(&mut c, "pinned", f.pinned);
        eq(&mut c, "author", f.author.map(Uuid::from));
        if let Some(v) = f.visible_to {
            add(
                &mut c,
                col("private").eq(false).or(col("author").eq(Uuid::from(v))),
            );
        }
        all(c)
    }
    fn sort_column(s: &NoteSort) -> &'static str {
        match s {
            NoteSort::CreatedAt => "created_at",
            NoteSort::UpdatedAt => "updated_at",
        }
    }
}

impl SqlEntity for Tag {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[Col::new("name_ci", Text)];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[Index::unique(keys::TAG_NAME, &["name_ci"], None)];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![sort_key_value(&TagSort::Name, self)?])
    }
    fn condition(f: &TagFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "name_ci", f.name.as_ref().map(|n| n.to_lowercase()));
        all(c)
    }
    fn sort_column(s: &TagSort) -> &'static str {
        match s {
            TagSort::Name => "name_ci",
            TagSort::CreatedAt => "created_at",
        }
    }
}

impl SqlEntity for TagAssignment {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            Col::refs("tag_id", EntityKind::Tag),
            Col::new("target_kind", Text),
            Col::new("target_id", Uuid),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::unique(
                keys::TAG_ASSIGNMENT_TARGET,
                &["tag_id", "target_kind", "target_id"],
                None,
            ),
            Index::on(&["target_kind", "target_id"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            uuid_value(self.tag_id),
            self.target.kind.name().into(),
            Value::from(self.target.id),
        ])
    }
    fn condition(f: &TagAssignmentFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "tag_id", f.tag_id.map(Uuid::from));
        if let Some(t) = f.target {
            add(&mut c, col("target_kind").eq(t.kind.name()));
            add(&mut c, col("target_id").eq(t.id));
        }
        eq(&mut c, "target_kind", f.target_kind.map(|k| k.name()));
        all(c)
    }
    fn sort_column(_: &TagAssignmentSort) -> &'static str {
        "created_at"
    }
}

impl SqlEntity for FollowUp {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            LINK_COLS[0],
            LINK_COLS[1],
            LINK_COLS[2],
            LINK_COLS[3],
            Col::new("status", Text),
            Col::new("assignee", Uuid),
            Col::new("origin", Text),
            Col::new("due_at", Int),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["customer_id", "due_at"]),
            Index::on(&["status", "due_at"]),
            Index::on(&["assignee", "status", "due_at"]),
            Index::on(&["due_at"]),
            Index::on(&["origin"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        let mut v = link_values(&self.links).to_vec();
        v.extend([
            enum_text(&self.status).into(),
            opt_uuid(self.assignee),
            enum_text(&self.origin).into(),
            nanos("due_at", self.due_at)?.into(),
        ]);
        Ok(v)
    }
    fn condition(f: &FollowUpFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        cond::links(&mut c, &f.links);
        eq_enum(&mut c, "status", f.status.as_ref());
        eq(&mut c, "assignee", f.assignee.map(Uuid::from));
        eq_enum(&mut c, "origin", f.origin.as_ref());
        if let Some(t) = f.due_before {
            add(
                &mut c,
                cond::time_cmp("due_at", t, sea_query::BinOper::SmallerThan),
            );
        }
        all(c)
    }
    fn sort_column(s: &FollowUpSort) -> &'static str {
        match s {
            FollowUpSort::DueAt => "due_at",
            FollowUpSort::CreatedAt => "created_at",
        }
    }
}

/// Separator around each serial number in the `serials` column.
const SEP: char = '\u{1f}';

impl SqlEntity for OwnedItem {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            Col::refs("customer_id", EntityKind::Customer),
            Col::new("kind", Text),
            Col::new("name_ci", Text),
            Col::new("serials", Text),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["customer_id", "created_at"]),
            Index::on(&["kind"]),
            Index::on(&["name_ci"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        let serials: String = self
            .serial_numbers
            .iter()
            .map(|s| format!("{SEP}{s}{SEP}"))
            .collect();
        Ok(vec![
            uuid_value(self.customer_id),
            enum_text(&self.kind).into(),
            sort_key_value(&OwnedItemSort::Name, self)?,
            serials.into(),
        ])
    }
    fn condition(f: &OwnedItemFilter, dialect: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "customer_id", f.customer_id.map(Uuid::from));
        eq_enum(&mut c, "kind", f.kind.as_ref());
        if let Some(s) = &f.serial_number {
            add(
                &mut c,
                cond::contains(dialect, "serials", &format!("{SEP}{s}{SEP}")),
            );
        }
        all(c)
    }
    fn sort_column(s: &OwnedItemSort) -> &'static str {
        match s {
            OwnedItemSort::CreatedAt => "created_at",
            OwnedItemSort::Name => "name_ci",
        }
    }
}

impl SqlEntity for Attachment {
    fn columns() -> &'static [Col] {
        const C: &[Col] = &[
            LINK_COLS[0],
            LINK_COLS[1],
            LINK_COLS[2],
            LINK_COLS[3],
            Col::new("mime_type", Text),
            Col::new("file_name_ci", Text),
            Col::new("size", Int),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["customer_id", "created_at"]),
            Index::on(&["contact_id"]),
            Index::on(&["deal_id"]),
            Index::on(&["lead_id"]),
            Index::on(&["mime_type"]),
            Index::on(&["file_name_ci"]),
            Index::on(&["size"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok({
            let mut v = link_values(&self.links).to_vec();
            v.extend([
                self.mime_type.clone().into(),
                sort_key_value(&AttachmentSort::FileName, self)?,
                sort_key_value(&AttachmentSort::Size, self)?,
            ]);
            v
        })
    }
    fn condition(f: &AttachmentFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        cond::links(&mut c, &f.links);
        eq(&mut c, "mime_type", f.mime_type.clone());
        all(c)
    }
    fn sort_column(s: &AttachmentSort) -> &'static str {
        match s {
            AttachmentSort::CreatedAt => "created_at",
            AttachmentSort::FileName => "file_name_ci",
            AttachmentSort::Size => "size",
        }
    }
}

impl SqlEntity for TenantSettings {
    fn columns() -> &'static [Col] {
        &[]
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[Index::unique(keys::TENANT_SETTINGS_SINGLETON, &[], None)];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(Vec::new())
    }
    fn condition(_: &TenantSettingsFilter, _: Dialect) -> Condition {
        all(new_cond())
    }
    fn sort_column(_: &TenantSettingsSort) -> &'static str {
        "created_at"
    }
}

impl SqlEntity for MergeRecord {
    fn columns() -> &'static [Col] {
        // Plain ids, not references: the survivor may be deleted later and its merge
        // history must not stand in the way.
        const C: &[Col] = &[
            Col::new("kind", Text),
            Col::new("survivor", Uuid),
            Col::new("undone", Bool),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["survivor", "created_at"]),
            Index::on(&["undone"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            self.kind.name().into(),
            uuid_value(self.survivor),
            self.undone_at.is_some().into(),
        ])
    }
    fn condition(f: &MergeRecordFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        eq(&mut c, "kind", f.kind.map(|k| k.name()));
        eq(&mut c, "survivor", f.survivor);
        eq(&mut c, "undone", f.undone);
        all(c)
    }
    fn sort_column(_: &MergeRecordSort) -> &'static str {
        "created_at"
    }
}

impl SqlEntity for AuditEntry {
    fn columns() -> &'static [Col] {
        // Plain ids, not references: the trail outlives the records it is about.
        const C: &[Col] = &[
            Col::new("record_kind", Text),
            Col::new("record_id", Uuid),
            Col::new("actor", Uuid),
            Col::new("operation", Text),
            Col::new("private_to", Uuid),
        ];
        C
    }
    fn indexes() -> &'static [Index] {
        const C: &[Index] = &[
            Index::on(&["record_id", "created_at"]),
            Index::on(&["actor", "created_at"]),
        ];
        C
    }
    fn values(&self) -> Result<Vec<Value>> {
        Ok(vec![
            self.record.kind.name().into(),
            Value::from(self.record.id),
            uuid_value(self.actor),
            enum_text(&self.operation).into(),
            opt_uuid(self.private_to),
        ])
    }
    fn condition(f: &AuditEntryFilter, _: Dialect) -> Condition {
        let mut c = new_cond();
        if let Some(r) = f.record {
            add(&mut c, col("record_kind").eq(r.kind.name()));
            add(&mut c, col("record_id").eq(r.id));
        }
        eq(&mut c, "record_kind", f.kind.map(|k| k.name()));
        eq(&mut c, "actor", f.actor.map(Uuid::from));
        eq_enum(&mut c, "operation", f.operation.as_ref());
        range(&mut c, "created_at", f.from, f.to);
        if let Some(v) = f.visible_to {
            add(
                &mut c,
                col("private_to")
                    .is_null()
                    .or(col("private_to").eq(Uuid::from(v))),
            );
        }
        all(c)
    }
    fn sort_column(_: &AuditEntrySort) -> &'static str {
        "created_at"
    }
    fn time_indexes() -> &'static [&'static str] {
        // An entry never changes: `updated_at` is `created_at`.
        &["created_at"]
    }
}
