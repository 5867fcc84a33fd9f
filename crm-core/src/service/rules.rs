//! Per-entity write rules: what a create or update of each kind also checks and writes.

use chrono::{DateTime, Utc};

use super::Crm;
use crate::error::{CrmError, Result};
use crate::id::Actor;
use crate::model::*;
use crate::store::{Change, ChangeSet, CrmStore, Entity, EntityRead, Record};

impl<S: CrmStore + ?Sized> Crm<S> {
    /// Plans the write of one entity: checks the tenant and the entity's rules, fills
    /// derived fields, and returns the stored state together with the complete change set
    /// (side changes such as demoting a previous primary, recording a deal's stage change,
    /// or moving a customer's last-contact date are part of it).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
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
            Record::Lead(l) => {
                if !insert {
                    let old = EntityRead::<Lead>::get(self.store(), actor.tenant, l.id)
                        .await?
                        .ok_or_else(|| CrmError::not_found(crate::store::EntityKind::Lead, l.id))?;
                    if old.status != l.status
                        || old.converted_customer_id != l.converted_customer_id
                    {
                        return Err(CrmError::InvalidTransition {
                            from: old.status.to_string(),
                            to: l.status.to_string(),
                            reason: "a lead's status changes through contact_lead, qualify_lead, disqualify_lead, lose_lead, reopen_lead or convert_lead".into(),
                        });
                    }
                } else if !matches!(
                    l.status,
                    LeadStatus::New | LeadStatus::Contacted | LeadStatus::Qualified
                ) {
                    return Err(CrmError::InvalidTransition {
                        from: "new".into(),
                        to: l.status.to_string(),
                        reason: "a lead starts open".into(),
                    });
                }
                Record::Lead(l)
            }
            Record::Pipeline(p) => {
                if !insert {
                    self.check_pipeline_change(actor, &p).await?;
                }
                Record::Pipeline(p)
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
                    post.push_emit(crate::store::NewEvent::new(
                        i.entity_ref(),
                        now,
                        crate::store::DomainEvent::InteractionLogged {
                            interaction: i.id,
                            customer: i.links.customer_id,
                        },
                    ));
                }
                Record::Interaction(i)
            }
            // Merge records are the undo log of merges: written by `merge_customers` and
            // `unmerge` only (an update through here could store a copy redacted for its
            // reader and lose the before-images of others' private notes).
            Record::MergeRecord(_) => {
                return Err(CrmError::validation(
                    "kind",
                    "merge records are written by merge_customers and unmerge only",
                ))
            }
            // The audit trail is written by the service alongside every change and never
            // changed: append-only through the API.
            Record::AuditEntry(_) => {
                return Err(CrmError::validation(
                    "kind",
                    "audit entries are written by the service with every change, never directly",
                ))
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

    /// A plain pipeline update may rename, reorder and re-tune stages, but a stage that
    /// still holds deals can neither disappear nor change its won/lost flags (use
    /// [`crate::Pipelines::remove_stage`] with a target stage).
    async fn check_pipeline_change(&self, actor: &Actor, p: &Pipeline) -> Result<()> {
        let Some(old) = EntityRead::<Pipeline>::get(self.store(), actor.tenant, p.id).await? else {
            return Ok(());
        };
        for s in &old.stages {
            let kept = p.stage(s.id);
            let changed =
                kept.is_none_or(|k| (k.closed_won, k.closed_lost) != (s.closed_won, s.closed_lost));
            if changed {
                let deals = DealFilter {
                    stage_id: Some(s.id),
                    ..Default::default()
                };
                let n = self.count::<Deal>(actor, deals).await?;
                if n > 0 {
                    return Err(CrmError::InvalidTransition {
                        from: s.name.clone(),
                        to: kept.map_or("removed".to_string(), |k| k.name.clone()),
                        reason: format!(
                            "{n} deal(s) are in the stage; move them with remove_stage first"
                        ),
                    });
                }
            }
        }
        Ok(())
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
            if c.record_contact(i.occurred_at) {
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

    /// Deal rules for plain creates and updates. A new deal starts open in an open stage
    /// (probability from the stage unless set by hand) and records its first
    /// [`StageChange`]. An update may change anything but the stage, status and pipeline,
    /// which move only through the state machine ([`crate::Deals::transition`] and friends);
    /// an open deal's probability keeps following its stage unless set by hand.
    async fn plan_deal(
        &self,
        actor: &Actor,
        mut d: Deal,
        insert: bool,
        now: DateTime<Utc>,
        post: &mut ChangeSet,
    ) -> Result<Deal> {
        let pipeline = self.get::<Pipeline>(actor, d.pipeline_id).await?;
        if let (Some(contact), Some(customer)) = (d.contact_id, d.customer_id) {
            self.check_contact_of(actor, contact, customer, "contact_id")
                .await?;
        }
        if insert {
            if d.status != DealStatus::Open {
                return Err(CrmError::InvalidTransition {
                    from: "new".into(),
                    to: d.status.to_string(),
                    reason: "a deal starts open; close it with win_deal or lose_deal".into(),
                });
            }
            let stage = pipeline.stage(d.stage_id).ok_or_else(|| {
                CrmError::validation("stage_id", "not a stage of the deal's pipeline")
            })?;
            if !d.probability_manual {
                d.probability = stage.probability;
            }
            d.stage_entered_at = now;
            crate::pipeline::check_state(&d, &pipeline)?;
            post.push_insert(StageChange::record(&d, None, None, Some(actor.user), now));
            post.push_emit(crate::store::NewEvent::new(
                d.entity_ref(),
                now,
                crate::store::DomainEvent::DealCreated {
                    deal: d.id,
                    stage: d.stage_id,
                },
            ));
            return Ok(d);
        }
        let old = EntityRead::<Deal>::get(self.store(), actor.tenant, d.id)
            .await?
            .ok_or_else(|| CrmError::not_found(crate::store::EntityKind::Deal, d.id))?;
        let moved = old.stage_id != d.stage_id
            || old.status != d.status
            || old.pipeline_id != d.pipeline_id
            || old.stage_entered_at != d.stage_entered_at
            || old.closed_at != d.closed_at;
        if moved {
            return Err(CrmError::InvalidTransition {
                from: old.status.to_string(),
                to: d.status.to_string(),
                reason: "stage, status and pipeline change through move_deal_to_stage, win_deal, lose_deal, reopen_deal or move_deal_to_pipeline".into(),
            });
        }
        if d.status == DealStatus::Open && !d.probability_manual {
            if let Some(stage) = pipeline.stage(d.stage_id) {
                d.probability = stage.probability;
            }
        }
        crate::pipeline::check_state(&d, &pipeline)?;
        Ok(d)
    }
}

/// The record with its version plus one (saturating: a caller's version beyond any stored
/// one is refused by the store's version check as a conflict, never an overflow).
fn bump(mut record: Record) -> Record {
    record.set_version(record.version().saturating_add(1));
    record
}
