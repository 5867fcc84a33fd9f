//! The lead lifecycle: new -> contacted -> qualified -> converted | disqualified | lost, and
//! conversion into a customer, contact, contact points and optionally a deal, in one
//! atomic change set.

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::{Actor, ContactId, CustomerId, DealId, LeadId, PipelineId, StageId};
use crate::model::*;
use crate::money::Money;
use crate::store::{ChangeSet, CrmStore, DomainEvent, Entity, ListQuery};

use super::Crm;

/// What [`Crm::convert_lead`] should create.
#[derive(Debug, Clone, Default)]
pub struct LeadConversion {
    /// Link to an existing customer found by the lead's exact normalised e-mail or phone
    /// instead of creating one (when one is found).
    pub link_existing: bool,
    /// When no exact match links it, link to the customer the tenant's duplicate index
    /// finds most likely to be the same person (at or above the model's threshold).
    pub link_duplicates: bool,
    /// Also open a deal.
    pub deal: Option<ConversionDeal>,
}

/// The deal a conversion opens.
#[derive(Debug, Clone)]
pub struct ConversionDeal {
    /// Deal name.
    pub name: String,
    /// Expected value.
    pub amount: Money,
    /// Pipeline (the tenant's default if `None`).
    pub pipeline: Option<PipelineId>,
    /// Stage (the pipeline's first open stage if `None`).
    pub stage: Option<StageId>,
}

/// What a conversion created or linked.
#[derive(Debug, Clone, PartialEq)]
pub struct ConversionResult {
    /// The lead, now converted.
    pub lead: Lead,
    /// The customer it became (new or existing).
    pub customer: CustomerId,
    /// Whether the customer already existed.
    pub linked_existing: bool,
    /// The contact person created (company leads).
    pub contact: Option<ContactId>,
    /// The deal opened.
    pub deal: Option<DealId>,
}

fn status_name(s: LeadStatus) -> String {
    format!("{s:?}").to_lowercase()
}

/// Whether the lead state machine allows `from -> to`.
pub fn lead_transition_allowed(from: LeadStatus, to: LeadStatus) -> bool {
    use LeadStatus::*;
    matches!(
        (from, to),
        (New, Contacted)
            | (New | Contacted, Qualified)
            | (New | Contacted | Qualified, Disqualified | Lost | Converted)
            | (Disqualified | Lost, New)
    )
}

impl<S: CrmStore + ?Sized> Crm<S> {
    async fn lead_to(&self, actor: &Actor, id: LeadId, to: LeadStatus) -> Result<Lead> {
        let lead = self.get::<Lead>(actor, id).await?;
        if !lead_transition_allowed(lead.status, to) {
            return Err(CrmError::InvalidTransition {
                from: status_name(lead.status),
                to: status_name(to),
                reason: "not allowed by the lead lifecycle".into(),
            });
        }
        Ok(lead)
    }

    async fn write_lead(
        &self,
        actor: &Actor,
        mut lead: Lead,
        from: LeadStatus,
        now: DateTime<Utc>,
    ) -> Result<Lead> {
        lead.touch(now);
        crate::store::EntityRules::validate(&lead)?;
        let event = DomainEvent::LeadStatusChanged {
            lead: lead.id,
            from,
            to: lead.status,
        };
        let cs = ChangeSet::new()
            .update(lead.clone())
            .emit(lead.entity_ref(), now, event);
        self.apply(actor, cs).await?;
        lead.version += 1;
        Ok(lead)
    }

    /// Marks a new lead as contacted.
    pub async fn contact_lead(
        &self,
        actor: &Actor,
        id: LeadId,
        now: DateTime<Utc>,
    ) -> Result<Lead> {
        let mut lead = self.lead_to(actor, id, LeadStatus::Contacted).await?;
        let from = lead.status;
        lead.status = LeadStatus::Contacted;
        self.write_lead(actor, lead, from, now).await
    }

    /// Marks a new or contacted lead as qualified.
    pub async fn qualify_lead(
        &self,
        actor: &Actor,
        id: LeadId,
        now: DateTime<Utc>,
    ) -> Result<Lead> {
        let mut lead = self.lead_to(actor, id, LeadStatus::Qualified).await?;
        let from = lead.status;
        lead.status = LeadStatus::Qualified;
        self.write_lead(actor, lead, from, now).await
    }

    /// Disqualifies an open lead with a reason (recorded with who and when).
    pub async fn disqualify_lead(
        &self,
        actor: &Actor,
        id: LeadId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Lead> {
        let mut lead = self.lead_to(actor, id, LeadStatus::Disqualified).await?;
        let from = lead.status;
        lead.status = LeadStatus::Disqualified;
        lead.disqualification = Some(Disqualification {
            reason: reason.trim().to_string(),
            by: Some(actor.user),
            at: now,
        });
        self.write_lead(actor, lead, from, now).await
    }

    /// Marks an open lead as lost.
    pub async fn lose_lead(&self, actor: &Actor, id: LeadId, now: DateTime<Utc>) -> Result<Lead> {
        let mut lead = self.lead_to(actor, id, LeadStatus::Lost).await?;
        let from = lead.status;
        lead.status = LeadStatus::Lost;
        self.write_lead(actor, lead, from, now).await
    }

    /// Reopens a disqualified or lost lead as new.
    pub async fn reopen_lead(&self, actor: &Actor, id: LeadId, now: DateTime<Utc>) -> Result<Lead> {
        let mut lead = self.lead_to(actor, id, LeadStatus::New).await?;
        let from = lead.status;
        lead.status = LeadStatus::New;
        lead.disqualification = None;
        self.write_lead(actor, lead, from, now).await
    }

    /// An existing customer owning a contact point with the lead's normalised e-mail (or,
    /// failing that, phone), if any.
    pub async fn find_customer_for_lead(
        &self,
        actor: &Actor,
        lead: &Lead,
    ) -> Result<Option<Customer>> {
        let mut keys: Vec<(ContactPointKind, String)> = Vec::new();
        if let Some(e) = &lead.email {
            keys.push((ContactPointKind::Email, e.as_str().to_string()));
        }
        if let Some(p) = &lead.phone {
            let value = p.e164.clone().unwrap_or_else(|| p.raw.clone());
            for kind in [
                ContactPointKind::Phone,
                ContactPointKind::Mobile,
                ContactPointKind::Whatsapp,
            ] {
                keys.push((kind, value.clone()));
            }
        }
        for (kind, value) in keys {
            let filter = ContactPointFilter {
                kind: Some(kind),
                value: Some(value),
                ..Default::default()
            };
            let found = self
                .list::<ContactPoint>(actor, ListQuery::filter(filter).limit(1))
                .await?;
            if let Some(p) = found.items.into_iter().next() {
                return self.find::<Customer>(actor, p.customer_id).await;
            }
        }
        Ok(None)
    }

    /// Plans a conversion without writing: the change set and what it creates. Used by
    /// [`Crm::convert_lead`]; exposed so hosts (and the conformance suite) can inspect it.
    pub async fn plan_conversion(
        &self,
        actor: &Actor,
        id: LeadId,
        options: &LeadConversion,
        now: DateTime<Utc>,
    ) -> Result<(ChangeSet, ConversionResult)> {
        let mut lead = self.get::<Lead>(actor, id).await?;
        if !lead_transition_allowed(lead.status, LeadStatus::Converted) {
            return Err(CrmError::InvalidTransition {
                from: status_name(lead.status),
                to: "converted".into(),
                reason: if lead.status == LeadStatus::Converted {
                    "the lead is already converted".into()
                } else {
                    "reopen the lead first".into()
                },
            });
        }
        let mut cs = ChangeSet::new();
        let mut existing = if options.link_existing {
            self.find_customer_for_lead(actor, &lead).await?
        } else {
            None
        };
        if existing.is_none() && options.link_duplicates {
            if let Some(id) = self.duplicate_customer_for_lead(actor, &lead, now).await? {
                existing = self.find::<Customer>(actor, id).await?;
            }
        }
        let linked_existing = existing.is_some();
        let first = lead.first_name.clone().unwrap_or_default();
        let last = lead.last_name.clone().unwrap_or_default();
        let has_name = !first.trim().is_empty() || !last.trim().is_empty();
        let (customer_id, contact_id) = match existing {
            Some(c) => (c.id, None),
            None => {
                let mut customer = match &lead.company {
                    Some(company) => Customer::company(actor.tenant, company, now)?,
                    None if has_name => Customer::person(actor.tenant, &first, &last, now)?,
                    None => Customer::company(actor.tenant, &lead.display_name(), now)?,
                };
                customer.source = lead.source.clone();
                customer.owner = lead.owner.or(Some(actor.user));
                customer.lifecycle_stage = if options.deal.is_some() {
                    LifecycleStage::Opportunity
                } else {
                    LifecycleStage::Lead
                };
                customer.first_contact_at = Some(now);
                customer.last_contact_at = Some(now);
                let contact = if lead.company.is_some() && has_name {
                    let first = if first.trim().is_empty() {
                        last.clone()
                    } else {
                        first.clone()
                    };
                    let last = if first == last {
                        String::new()
                    } else {
                        last.clone()
                    };
                    let mut ct = Contact::new(actor.tenant, customer.id, &first, &last, now)?;
                    ct.job_title = lead.job_title.clone();
                    ct.is_primary = true;
                    Some(ct)
                } else {
                    None
                };
                let (cid, ctid) = (customer.id, contact.as_ref().map(|c| c.id));
                cs.push_insert(customer);
                if let Some(ct) = contact {
                    cs.push_insert(ct);
                }
                (cid, ctid)
            }
        };
        // Contact points: the lead's e-mail and phone, unless the customer already has them.
        let known: Vec<String> = if linked_existing {
            self.list_all::<ContactPoint>(
                actor,
                ContactPointFilter {
                    customer_id: Some(customer_id),
                    ..Default::default()
                },
            )
            .await?
            .into_iter()
            .map(|p| p.value)
            .collect()
        } else {
            Vec::new()
        };
        let region = self.config().default_phone_region.clone();
        let mut points = Vec::new();
        if let Some(e) = &lead.email {
            points.push(ContactPoint::new(
                actor.tenant,
                customer_id,
                contact_id,
                ContactPointKind::Email,
                e.as_str(),
                region.as_deref(),
                now,
            )?);
        }
        if let Some(p) = &lead.phone {
            points.push(ContactPoint::new(
                actor.tenant,
                customer_id,
                contact_id,
                ContactPointKind::Phone,
                &p.raw,
                region.as_deref(),
                now,
            )?);
        }
        for mut p in points.into_iter().filter(|p| !known.contains(&p.value)) {
            p.primary = !linked_existing;
            cs.push_insert(p);
        }
        let deal_id = match &options.deal {
            Some(spec) => {
                let pipeline = match spec.pipeline {
                    Some(pid) => self.get::<Pipeline>(actor, pid).await?,
                    None => self.default_pipeline(actor, now).await?,
                };
                let stage = match spec.stage {
                    Some(s) => s,
                    None => {
                        pipeline
                            .first_open_stage()
                            .ok_or_else(|| {
                                CrmError::validation("deal.stage", "the pipeline has no open stage")
                            })?
                            .id
                    }
                };
                let mut deal =
                    Deal::new(actor.tenant, &spec.name, &pipeline, stage, spec.amount, now)
                        .map_err(|e| e.in_field("deal"))?;
                deal.customer_id = Some(customer_id);
                deal.contact_id = contact_id;
                deal.owner = lead.owner.or(Some(actor.user));
                crate::pipeline::check_state(&deal, &pipeline)?;
                let change = StageChange::record(&deal, None, None, Some(actor.user), now);
                let id = deal.id;
                let created = DomainEvent::DealCreated {
                    deal: id,
                    stage: deal.stage_id,
                };
                let created = crate::store::NewEvent::new(deal.entity_ref(), now, created);
                cs.push_insert(deal);
                cs.push_insert(change);
                cs.push_emit(created);
                Some(id)
            }
            None => None,
        };
        lead.status = LeadStatus::Converted;
        lead.converted_customer_id = Some(customer_id);
        lead.converted_contact_id = contact_id;
        lead.converted_deal_id = deal_id;
        lead.converted_at = Some(now);
        lead.touch(now);
        crate::store::EntityRules::validate(&lead)?;
        cs.push_update(lead.clone());
        let event = DomainEvent::LeadConverted {
            lead: lead.id,
            customer: customer_id,
            contact: contact_id,
            deal: deal_id,
        };
        cs.push_emit(crate::store::NewEvent::new(lead.entity_ref(), now, event));
        lead.version += 1;
        Ok((
            cs,
            ConversionResult {
                lead,
                customer: customer_id,
                linked_existing,
                contact: contact_id,
                deal: deal_id,
            },
        ))
    }

    /// Converts an open lead, in one atomic change set, into a customer (or links the
    /// existing one with the same e-mail or phone when `link_existing`), a primary contact
    /// (company leads), contact points for its e-mail and phone, and optionally a deal; the
    /// lead records what it became. Converting twice fails with `InvalidTransition`.
    pub async fn convert_lead(
        &self,
        actor: &Actor,
        id: LeadId,
        options: LeadConversion,
        now: DateTime<Utc>,
    ) -> Result<ConversionResult> {
        let (cs, result) = self.plan_conversion(actor, id, &options, now).await?;
        self.apply(actor, cs).await?;
        // The lead lives on as its customer in the duplicate index.
        self.unindex(actor.tenant, &[result.lead.entity_ref()])?;
        self.reindex_customers(actor, &[result.customer]).await?;
        Ok(result)
    }
}
