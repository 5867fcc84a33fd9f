//! Per-entity write rules: what a create or update of each kind also checks and writes.

use chrono::{DateTime, Utc};

use super::Crm;
use crate::error::{CrmError, Result};
use crate::id::Actor;
use crate::model::*;
use crate::store::{Change, ChangeSet, CrmStore, Entity, EntityRead, ListQuery, Record};
use crate::values::Percent;

impl<S: CrmStore + ?Sized> Crm<S> {
    /// Plans the write of one entity: checks the tenant and the entity's rules, fills
    /// derived fields, and returns the stored state together with the complete change set
    /// (side changes such as demoting a previous primary, recording a deal's stage change,
    /// or moving a customer's last-contact date are part of it).
    pub async fn plan_write(
        &self,
        actor: &Actor,
        record: Record,
        insert: bool,
        now: DateTime<Utc>,
    ) -> Result<(Record, ChangeSet)> {
        if record.tenant_id() != actor.tenant {
            return Err(CrmError::validation(
                "tenant_id",
                "the entity belongs to another tenant than the actor",
            ));
        }
        let mut pre = ChangeSet::new();
        let mut post = ChangeSet::new();
        let record = match record {
            Record::Contact(c) => {
                if c.is_primary {
                    let old = self
                        .list_all::<Contact>(
                            actor,
                            ContactFilter {
                                customer_id: Some(c.customer_id),
                                is_primary: Some(true),
                                ..Default::default()
                            },
                        )
                        .await?;
                    for mut o in old.into_iter().filter(|o| o.id != c.id) {
                        o.is_primary = false;
                        o.touch(now);
                        pre.push_update(o);
                    }
                }
                Record::Contact(c)
            }
            Record::ContactPoint(p) => {
                if let Some(contact) = p.contact_id {
                    self.check_contact_of(actor, contact, p.customer_id, "contact_id")
                        .await?;
                }
                if p.primary {
                    let old = self
                        .list_all::<ContactPoint>(
                            actor,
                            ContactPointFilter {
                                customer_id: Some(p.customer_id),
                                kind: Some(p.kind),
                                primary: Some(true),
                                ..Default::default()
                            },
                        )
                        .await?;
                    for mut o in old
                        .into_iter()
                        .filter(|o| o.id != p.id && o.owner() == p.owner())
                    {
                        o.primary = false;
                        o.touch(now);
                        pre.push_update(o);
                    }
                }
                Record::ContactPoint(p)
            }
            Record::Location(l) => {
                if l.primary {
                    let old = self
                        .list_all::<Location>(
                            actor,
                            LocationFilter {
                                customer_id: Some(l.customer_id),
                                primary: Some(true),
                                ..Default::default()
                            },
                        )
                        .await?;
                    for mut o in old.into_iter().filter(|o| o.id != l.id) {
                        o.primary = false;
                        o.touch(now);
                        pre.push_update(o);
                    }
                }
                Record::Location(l)
            }
            Record::Consent(c) => {
                if let Some(contact) = c.contact_id {
                    self.check_contact_of(actor, contact, c.customer_id, "contact_id")
                        .await?;
                }
                Record::Consent(c)
            }
            Record::Deal(d) => {
                let d = self.plan_deal(actor, d, insert, now, &mut post).await?;
                Record::Deal(d)
            }
            Record::Activity(mut a) => {
                a.links = self.complete_links(actor, a.links).await?;
                Record::Activity(a)
            }
            Record::Interaction(mut i) => {
                i.links = self.complete_links(actor, i.links).await?;
                if insert {
                    self.touch_contacted(actor, &i, now, &mut post).await?;
                }
                Record::Interaction(i)
            }
            Record::Note(mut n) => {
                n.links = self.complete_links(actor, n.links).await?;
                if n.private && n.author != actor.user {
                    return Err(CrmError::validation(
                        "author",
                        "a private note can only be written by its author",
                    ));
                }
                Record::Note(n)
            }
            Record::FollowUp(mut f) => {
                f.links = self.complete_links(actor, f.links).await?;
                Record::FollowUp(f)
            }
            Record::Attachment(mut a) => {
                a.links = self.complete_links(actor, a.links).await?;
                Record::Attachment(a)
            }
            other => other,
        };
        record.validate()?;
        let stored = record.clone();
        let (stored, main) = if insert {
            (stored, Change::Insert(record))
        } else {
            let expected_version = record.version();
            let bumped = bump(record);
            (
                bumped.clone(),
                Change::Update {
                    expected_version,
                    record: bumped,
                },
            )
        };
        let mut cs = pre;
        cs.changes.push(main);
        Ok((stored, cs.extend(post)))
    }

    /// Fails unless `contact` exists and belongs to `customer`.
    async fn check_contact_of(
        &self,
        actor: &Actor,
        contact: crate::id::ContactId,
        customer: crate::id::CustomerId,
        field: &str,
    ) -> Result<()> {
        let c = self.get::<Contact>(actor, contact).await?;
        if c.customer_id != customer {
            return Err(CrmError::validation(
                field,
                "the contact belongs to another customer",
            ));
        }
        Ok(())
    }

    /// Fills `customer_id` from the linked contact or deal, and checks that all links agree
    /// on the customer.
    pub(crate) async fn complete_links(&self, actor: &Actor, mut links: Links) -> Result<Links> {
        if let Some(contact) = links.contact_id {
            let c = self.get::<Contact>(actor, contact).await?;
            match links.customer_id {
                None => links.customer_id = Some(c.customer_id),
                Some(cu) if cu != c.customer_id => {
                    return Err(CrmError::validation(
                        "links.contact_id",
                        "the contact belongs to another customer",
                    ))
                }
                _ => {}
            }
        }
        if let Some(deal) = links.deal_id {
            let d = self.get::<Deal>(actor, deal).await?;
            if let Some(dc) = d.customer_id {
                match links.customer_id {
                    None => links.customer_id = Some(dc),
                    Some(cu) if cu != dc => {
                        return Err(CrmError::validation(
                            "links.deal_id",
                            "the deal belongs to another customer",
                        ))
                    }
                    _ => {}
                }
            }
        }
        Ok(links)
    }

    /// A logged interaction moves the customer's first/last contact dates and the linked
    /// deal's last activity.
    async fn touch_contacted(
        &self,
        actor: &Actor,
        i: &Interaction,
        now: DateTime<Utc>,
        post: &mut ChangeSet,
    ) -> Result<()> {
        if let Some(cid) = i.links.customer_id {
            let mut c = self.get::<Customer>(actor, cid).await?;
            let later = c.last_contact_at.is_none_or(|l| i.occurred_at > l);
            let earlier = c.first_contact_at.is_none_or(|f| i.occurred_at < f);
            if later || earlier {
                if later {
                    c.last_contact_at = Some(i.occurred_at);
                }
                if earlier {
                    c.first_contact_at = Some(i.occurred_at);
                }
                c.touch(now);
                post.push_update(c);
            }
        }
        if let Some(did) = i.links.deal_id {
            let mut d = self.get::<Deal>(actor, did).await?;
            if d.last_activity_at.is_none_or(|l| i.occurred_at > l) {
                d.last_activity_at = Some(i.occurred_at);
                d.touch(now);
                post.push_update(d);
            }
        }
        Ok(())
    }

    /// Deal rules: the stage belongs to the pipeline; status follows the stage's
    /// closed flags; probability follows the stage unless set by hand (closed stages force
    /// 100 or 0); entering a stage stamps `stage_entered_at` and records a [`StageChange`].
    async fn plan_deal(
        &self,
        actor: &Actor,
        mut d: Deal,
        insert: bool,
        now: DateTime<Utc>,
        post: &mut ChangeSet,
    ) -> Result<Deal> {
        let pipeline = self.get::<Pipeline>(actor, d.pipeline_id).await?;
        let stage = pipeline
            .stage(d.stage_id)
            .ok_or_else(|| CrmError::validation("stage_id", "not a stage of the deal's pipeline"))?
            .clone();
        if let (Some(contact), Some(customer)) = (d.contact_id, d.customer_id) {
            self.check_contact_of(actor, contact, customer, "contact_id")
                .await?;
        }
        let old = if insert {
            None
        } else {
            EntityRead::<Deal>::get(self.store(), actor.tenant, d.id).await?
        };
        let moved = old
            .as_ref()
            .is_none_or(|o| o.stage_id != d.stage_id || o.pipeline_id != d.pipeline_id);
        let status = if stage.closed_won {
            DealStatus::Won
        } else if stage.closed_lost {
            DealStatus::Lost
        } else {
            DealStatus::Open
        };
        if !moved && d.status != status {
            return Err(CrmError::validation(
                "status",
                format!("the deal's stage {:?} means status {status:?}", stage.name),
            ));
        }
        d.status = status;
        match status {
            DealStatus::Won => d.probability = Percent::HUNDRED,
            DealStatus::Lost => d.probability = Percent::ZERO,
            DealStatus::Open => {
                d.closed_at = None;
                if moved && !d.probability_manual {
                    d.probability = stage.probability;
                }
            }
        }
        if moved {
            d.stage_entered_at = now;
            if status != DealStatus::Open && d.closed_at.is_none() {
                d.closed_at = Some(now);
            }
            let change = StageChange::record(
                &d,
                old.as_ref().map(|o| o.stage_id),
                old.as_ref().map(|o| o.status),
                Some(actor.user),
                now,
            );
            post.push_insert(change);
        }
        Ok(d)
    }

    /// The tenant's default pipeline, created with the standard stages on first use.
    pub async fn default_pipeline(&self, actor: &Actor, now: DateTime<Utc>) -> Result<Pipeline> {
        let q = ListQuery::<Pipeline>::filter(PipelineFilter {
            is_default: Some(true),
        })
        .limit(1);
        if let Some(p) = self.list(actor, q.clone()).await?.items.into_iter().next() {
            return Ok(p);
        }
        let p = Pipeline::standard(actor.tenant, now)?;
        match self.create(actor, p, now).await {
            Err(CrmError::AlreadyExists { .. }) => self
                .list(actor, q)
                .await?
                .items
                .into_iter()
                .next()
                .ok_or_else(|| CrmError::not_found("pipeline", "default")),
            other => other,
        }
    }
}

/// The record with its version plus one.
fn bump(record: Record) -> Record {
    fn b<E: Entity>(mut e: E) -> Record {
        e.set_version(e.version() + 1);
        e.into_record()
    }
    match record {
        Record::Customer(e) => b(e),
        Record::Contact(e) => b(e),
        Record::ContactPoint(e) => b(e),
        Record::Location(e) => b(e),
        Record::Consent(e) => b(e),
        Record::Lead(e) => b(e),
        Record::Pipeline(e) => b(e),
        Record::Deal(e) => b(e),
        Record::StageChange(e) => b(e),
        Record::Activity(e) => b(e),
        Record::Interaction(e) => b(e),
        Record::Note(e) => b(e),
        Record::Tag(e) => b(e),
        Record::TagAssignment(e) => b(e),
        Record::FollowUp(e) => b(e),
        Record::OwnedItem(e) => b(e),
        Record::Attachment(e) => b(e),
    }
}
