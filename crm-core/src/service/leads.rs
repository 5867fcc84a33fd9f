//! The lead lifecycle: new -> contacted -> qualified -> converted | disqualified | lost, and
//! conversion into a customer, its person, contact points and optionally a deal, in one
//! atomic change set.
//!
//! The conversion rules are documented on [`LeadConversion`].

use chrono::{DateTime, Utc};

use crate::dedupe::normalize::fold;
use crate::error::{CrmError, Result};
use crate::id::{Actor, ContactId, CustomerId, DealId, LeadId, PipelineId, StageId};
use crate::model::*;
use crate::money::Money;
use crate::store::{ChangeSet, CrmStore, DomainEvent, Entity, ListQuery};
use crate::values::Phone;

use super::{Crm, MAX_RETRIES};

/// What [`crate::Leads::convert`] should create or link.
///
/// [`crate::Leads::convert`] follows Odoo's lead conversion (`crm.lead2opportunity.partner`):
///
/// - **The customer.** The one the caller names ([`LeadConversion::into_customer`], e.g.
///   picked by the user; it wins over the lookups and an unknown id is `NotFound`), else the
///   one owning the lead's exact e-mail or phone ([`LeadConversion::link_existing`]), else
///   the most likely duplicate ([`LeadConversion::link_duplicates`]), else a new one: a
///   company for a lead with a company name (the lead's person becomes its primary contact),
///   else a person customer for the lead's person (or a company named after the lead's
///   e-mail or phone when it has no name).
/// - **The person at an existing customer.** The lead's person must not be lost. The
///   caller may name it ([`LeadConversion::contact`]: an existing contact of that customer
///   the user picked, or "someone new"); by default it is recognised as, in this order of
///   evidence, the contact of that customer (or the person customer itself) owning the
///   lead's e-mail; the contact with the same folded name
///   ([`crate::dedupe::normalize::fold`], so case, accents and punctuation do not matter),
///   unless it has e-mail addresses and the lead's is not among them (two people of one
///   name at a company are told apart by their addresses), or the person customer with
///   that name (whatever its addresses: it is the customer chosen for the lead); the contact (or person customer) owning the lead's phone. Failing all of
///   these a contact is created under the customer (its primary contact only if it has
///   none yet). A lead without a person name, and a person customer recognised as the
///   lead's person, get no contact: the customer is the person and the points stay at
///   customer level. An existing contact is linked as it is (its fields are not
///   overwritten).
/// - **The customer's record of contact.** An existing customer's `last_contact_at`
///   becomes the conversion time (and `first_contact_at` too if it had none), and a
///   customer still at [`LifecycleStage::Lead`] becomes an
///   [`LifecycleStage::Opportunity`] when the conversion opens a deal. The customer is
///   updated at the version read, so two conversions into one customer at the same time
///   are serialised: the later one is planned again and recognises the contact the earlier
///   one created instead of creating a second.
/// - **Contact points.** The lead's e-mail and phone go to the person (the contact, or the
///   customer itself), unless the customer already has that e-mail or phone number anywhere
///   (at customer level or on any of its contacts): nothing is duplicated. A new point is its
///   owner's primary one of its kind only if the owner has none of that kind yet.
/// - **Phone region.** The lead's phone is stored in the E.164 form it was read in when the
///   lead was captured ([`crate::Phone::e164`], parsed in the region the capturing code
///   passed). A lead has no country field of its own, so a number that did not parse then
///   is read in the linked customer's region (the country of its primary location, else of
///   any located address), else in [`crate::CrmConfig::default_phone_region`].
///
/// Everything (customer, contact, points, deal, its first stage change, the converted lead
/// and the `LeadConverted` / `DealCreated` events) is one change set: a failure anywhere
/// writes nothing.
#[derive(Debug, Clone, Default)]
pub struct LeadConversion {
    /// Convert into this existing customer (one the user picked). It wins over
    /// `link_existing` and `link_duplicates`; an id that is not a customer of the actor's
    /// tenant fails with `NotFound` and nothing is written.
    pub into_customer: Option<CustomerId>,
    /// Link to an existing customer found by the lead's exact normalised e-mail or phone
    /// instead of creating one (when one is found).
    pub link_existing: bool,
    /// When no exact match links it, link to the customer the tenant's duplicate index
    /// finds most likely to be the same person (at or above the model's threshold).
    pub link_duplicates: bool,
    /// Who the lead's person is at an existing customer (recognised by default).
    pub contact: ContactChoice,
    /// Also open a deal.
    pub deal: Option<ConversionDeal>,
}

/// Who the lead's person becomes at an existing customer ([`LeadConversion::contact`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ContactChoice {
    /// Recognised from the evidence, as documented on [`LeadConversion`].
    #[default]
    Recognise,
    /// This existing contact of the customer (one the user picked). An id that is not a
    /// contact of the tenant is `NotFound`; a contact of another customer, or a conversion
    /// that creates a new customer, is a `Validation` error of `contact`.
    Existing(ContactId),
    /// A new contact, whatever the evidence (the user said it is someone else). A lead
    /// without a person name cannot have one: `Validation` error of `contact`.
    New,
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
    /// The contact that is the lead's person, created or linked; `None` when the customer
    /// itself is the person (a person customer, or a lead without a person name).
    pub contact: Option<ContactId>,
    /// Whether `contact` is an existing contact the lead's person was recognised as
    /// (`false` when it was created by this conversion, or there is none).
    pub linked_existing_contact: bool,
    /// The deal opened.
    pub deal: Option<DealId>,
}

/// Who the lead's person is at an existing customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PersonAt {
    /// The customer itself (a person customer, or a lead without a person name).
    Customer,
    /// This existing contact.
    Contact(ContactId),
    /// Nobody yet: a contact is created.
    NewContact,
}

/// The channel a point's value lives in: e-mail addresses and phone numbers are compared
/// within their channel only (a fax and a mobile with the same number are the same number).
fn channel(kind: ContactPointKind) -> Option<bool> {
    if kind == ContactPointKind::Email {
        Some(true)
    } else if kind.is_phone() {
        Some(false)
    } else {
        None
    }
}

/// Whether `known` holds the same e-mail address or phone number as `wanted`.
fn same_value(known: &ContactPoint, wanted: &ContactPoint) -> bool {
    channel(known.kind).is_some()
        && channel(known.kind) == channel(wanted.kind)
        && known.value == wanted.value
}

/// The lead's person name as a contact's `(first, last)`: a lone family name becomes the
/// first name (a contact needs one). `None` when the lead has no person name.
fn person_names(lead: &Lead) -> Option<(String, String)> {
    let part = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    match (part(&lead.first_name), part(&lead.last_name)) {
        (Some(first), last) => Some((first, last.unwrap_or_default())),
        (None, Some(last)) => Some((last, String::new())),
        (None, None) => None,
    }
}

/// The folded "first last" of a person customer.
fn customer_person_name(c: &Customer) -> String {
    let parts: Vec<&str> = [c.first_name.as_deref(), c.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect();
    if parts.is_empty() {
        fold(&c.name)
    } else {
        fold(&parts.join(" "))
    }
}

/// Recognises the lead's person (folded name `name`, e-mail and phone points `wanted`) at
/// an existing customer with `contacts` and `known` points, per the order documented on
/// [`LeadConversion`].
fn recognise_person(
    customer: &Customer,
    contacts: &[Contact],
    known: &[ContactPoint],
    name: Option<&str>,
    wanted: &[ContactPoint],
) -> PersonAt {
    let Some(name) = name else {
        return PersonAt::Customer;
    };
    let is_person = customer.kind == CustomerKind::Person;
    let by_point = |w: &ContactPoint| {
        let owner = contacts.iter().find(|c| {
            known
                .iter()
                .any(|k| k.contact_id == Some(c.id) && same_value(k, w))
        });
        match owner {
            Some(c) => Some(PersonAt::Contact(c.id)),
            None => (is_person
                && known
                    .iter()
                    .any(|k| k.contact_id.is_none() && same_value(k, w)))
            .then_some(PersonAt::Customer),
        }
    };
    let email = wanted.iter().find(|p| p.kind == ContactPointKind::Email);
    // A contact whose e-mail addresses do not include the lead's is someone else of the
    // same name (a person customer with the lead's name is the person, whatever its
    // addresses: it was chosen as the lead's customer, and a contact of itself is none).
    let conflicts = |owner: Option<ContactId>| {
        email.is_some_and(|w| {
            let mut mails = known
                .iter()
                .filter(|k| k.contact_id == owner && k.kind == ContactPointKind::Email);
            let first = mails.next();
            first.is_some() && !first.into_iter().chain(mails).any(|k| same_value(k, w))
        })
    };
    let by_name = || match contacts
        .iter()
        .find(|c| fold(&c.full_name()) == name && !conflicts(Some(c.id)))
    {
        Some(c) => Some(PersonAt::Contact(c.id)),
        None => (is_person && customer_person_name(customer) == name).then_some(PersonAt::Customer),
    };
    let phone = wanted.iter().find(|p| p.kind.is_phone());
    email
        .and_then(by_point)
        .or_else(by_name)
        .or_else(|| phone.and_then(by_point))
        .unwrap_or(PersonAt::NewContact)
}

/// The lead's e-mail and phone as customer-level points of `customer` (the caller moves
/// them to the person's contact). A phone the lead knows in E.164 form keeps that form;
/// one it does not is read in `region`.
fn lead_points(
    lead: &Lead,
    tenant: crate::id::TenantId,
    customer: CustomerId,
    region: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Vec<ContactPoint>> {
    let mut points = Vec::new();
    if let Some(e) = &lead.email {
        let p = ContactPoint::new(
            tenant,
            customer,
            None,
            ContactPointKind::Email,
            e.as_str(),
            None,
            now,
        )
        .map_err(|e| e.in_field("email"))?;
        points.push(p);
    }
    if let Some(phone) = &lead.phone {
        let (value, region) = match &phone.e164 {
            Some(e164) => (e164.as_str(), None),
            None => (phone.raw.as_str(), region),
        };
        let mut p = ContactPoint::new(
            tenant,
            customer,
            None,
            ContactPointKind::Phone,
            value,
            region,
            now,
        )
        .map_err(|e| e.in_field("phone"))?;
        p.raw_value = phone.raw.clone();
        points.push(p);
    }
    Ok(points)
}

fn status_name(s: LeadStatus) -> String {
    s.to_string()
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
        self.apply(actor, cs).await?.stored(&mut lead)?;
        Ok(lead)
    }

    /// The normalised value the lead's phone is stored and looked up as: its E.164 form
    /// when known, else the raw number read in the service's default region.
    fn lead_phone_value(&self, phone: &Phone) -> String {
        phone.e164.clone().unwrap_or_else(|| {
            ContactPoint::normalize(
                ContactPointKind::Phone,
                &phone.raw,
                self.config().default_phone_region.as_deref(),
            )
            .unwrap_or_else(|_| phone.raw.clone())
        })
    }

    /// The existing customer a conversion links, per [`LeadConversion`]: the named one
    /// (`NotFound` if it is not the tenant's), else the lookups that are switched on.
    async fn customer_to_link(
        &self,
        actor: &Actor,
        lead: &Lead,
        options: &LeadConversion,
        now: DateTime<Utc>,
    ) -> Result<Option<Customer>> {
        if let Some(id) = options.into_customer {
            return self.get::<Customer>(actor, id).await.map(Some);
        }
        if options.link_existing {
            if let Some(c) = self.leads().find_customer(actor, lead).await? {
                return Ok(Some(c));
            }
        }
        if options.link_duplicates {
            if let Some(id) = self.duplicate_customer_for_lead(actor, lead, now).await? {
                return self.find::<Customer>(actor, id).await;
            }
        }
        Ok(None)
    }

    /// The region a phone number without `+` is read in for `customer`: the country of its
    /// primary location, else of its first located address, else the service default.
    pub(crate) async fn customer_phone_region(
        &self,
        actor: &Actor,
        customer: CustomerId,
    ) -> Result<Option<String>> {
        let locations = self
            .list_all::<Location>(
                actor,
                LocationFilter {
                    customer_id: Some(customer),
                    ..Default::default()
                },
            )
            .await?;
        Ok(phone_region_of(&locations).or_else(|| self.config().default_phone_region.clone()))
    }
}

super::handle!(
    /// The lead calls: status transitions, matching to customers, conversion.
    Leads, leads
);

impl<S: CrmStore + ?Sized> Leads<'_, S> {
    /// Marks a new lead as contacted.
    #[tracing::instrument(name = "leads.contact", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn contact(self, actor: &Actor, id: LeadId, now: DateTime<Utc>) -> Result<Lead> {
        let mut lead = self.crm.lead_to(actor, id, LeadStatus::Contacted).await?;
        let from = lead.status;
        lead.status = LeadStatus::Contacted;
        self.crm.write_lead(actor, lead, from, now).await
    }

    /// Marks a new or contacted lead as qualified.
    #[tracing::instrument(name = "leads.qualify", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn qualify(self, actor: &Actor, id: LeadId, now: DateTime<Utc>) -> Result<Lead> {
        let mut lead = self.crm.lead_to(actor, id, LeadStatus::Qualified).await?;
        let from = lead.status;
        lead.status = LeadStatus::Qualified;
        self.crm.write_lead(actor, lead, from, now).await
    }

    /// Disqualifies an open lead with a reason (recorded with who and when).
    #[tracing::instrument(name = "leads.disqualify", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn disqualify(
        self,
        actor: &Actor,
        id: LeadId,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Lead> {
        let mut lead = self
            .crm
            .lead_to(actor, id, LeadStatus::Disqualified)
            .await?;
        let from = lead.status;
        lead.status = LeadStatus::Disqualified;
        lead.disqualification = Some(Disqualification {
            reason: reason.trim().to_string(),
            by: Some(actor.user),
            at: now,
        });
        self.crm.write_lead(actor, lead, from, now).await
    }

    /// Marks an open lead as lost.
    #[tracing::instrument(name = "leads.lose", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn lose(self, actor: &Actor, id: LeadId, now: DateTime<Utc>) -> Result<Lead> {
        let mut lead = self.crm.lead_to(actor, id, LeadStatus::Lost).await?;
        let from = lead.status;
        lead.status = LeadStatus::Lost;
        self.crm.write_lead(actor, lead, from, now).await
    }

    /// Reopens a disqualified or lost lead as new.
    #[tracing::instrument(name = "leads.reopen", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn reopen(self, actor: &Actor, id: LeadId, now: DateTime<Utc>) -> Result<Lead> {
        let mut lead = self.crm.lead_to(actor, id, LeadStatus::New).await?;
        let from = lead.status;
        lead.status = LeadStatus::New;
        lead.disqualification = None;
        self.crm.write_lead(actor, lead, from, now).await
    }

    /// An existing customer owning a contact point with the lead's normalised e-mail (or,
    /// failing that, phone), if any.
    #[tracing::instrument(name = "leads.find_customer", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn find_customer(self, actor: &Actor, lead: &Lead) -> Result<Option<Customer>> {
        let mut keys: Vec<(ContactPointKind, String)> = Vec::new();
        if let Some(e) = &lead.email {
            keys.push((ContactPointKind::Email, e.as_str().to_string()));
        }
        if let Some(p) = &lead.phone {
            let value = self.crm.lead_phone_value(p);
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
                .crm
                .list::<ContactPoint>(actor, ListQuery::filter(filter).limit(1))
                .await?;
            if let Some(p) = found.items.into_iter().next() {
                return self.crm.find::<Customer>(actor, p.customer_id).await;
            }
        }
        Ok(None)
    }

    /// Plans a conversion without writing: the change set and what it creates or links (see
    /// [`LeadConversion`] for the rules). Used by [`crate::Leads::convert`]; exposed so hosts (and
    /// the conformance suite) can inspect it.
    #[tracing::instrument(name = "leads.plan_conversion", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn plan_conversion(
        self,
        actor: &Actor,
        id: LeadId,
        options: &LeadConversion,
        now: DateTime<Utc>,
    ) -> Result<(ChangeSet, ConversionResult)> {
        let mut lead = self.crm.get::<Lead>(actor, id).await?;
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
        let existing = self
            .crm
            .customer_to_link(actor, &lead, options, now)
            .await?;
        let linked_existing = existing.is_some();
        let names = person_names(&lead);
        match options.contact {
            ContactChoice::New if names.is_none() => {
                return Err(CrmError::validation(
                    "contact",
                    "the lead has no person name to create a contact from",
                ))
            }
            ContactChoice::Existing(_) if existing.is_none() => {
                return Err(CrmError::validation(
                    "contact",
                    "the conversion creates a new customer, which has no contacts yet: \
                     name the customer too (into_customer)",
                ))
            }
            _ => {}
        }
        let new_contact = |customer: CustomerId, primary: bool| -> Result<Option<Contact>> {
            let Some((first, last)) = &names else {
                return Ok(None);
            };
            let mut ct = Contact::new(actor.tenant, customer, first, last, now)?;
            ct.job_title = lead.job_title.clone();
            ct.is_primary = primary;
            Ok(Some(ct))
        };
        // The customer, the person's contact (if the person is not the customer itself),
        // whether that contact existed, the customer's known points and the lead's points.
        let (customer_id, contact_id, linked_contact, known, points) = match existing {
            Some(customer) => {
                let customer_id = Some(customer.id);
                let contacts = self
                    .crm
                    .list_all::<Contact>(
                        actor,
                        ContactFilter {
                            customer_id,
                            ..Default::default()
                        },
                    )
                    .await?;
                let known = self
                    .crm
                    .list_all::<ContactPoint>(
                        actor,
                        ContactPointFilter {
                            customer_id,
                            ..Default::default()
                        },
                    )
                    .await?;
                let needs_region = lead.phone.as_ref().is_some_and(|p| p.e164.is_none());
                let region = if needs_region {
                    self.crm.customer_phone_region(actor, customer.id).await?
                } else {
                    None
                };
                let points = lead_points(&lead, actor.tenant, customer.id, region.as_deref(), now)?;
                let name = names
                    .as_ref()
                    .map(|(first, last)| fold(&format!("{first} {last}")));
                let person = match options.contact {
                    ContactChoice::Recognise => {
                        recognise_person(&customer, &contacts, &known, name.as_deref(), &points)
                    }
                    ContactChoice::New => PersonAt::NewContact,
                    ContactChoice::Existing(id) => {
                        let picked = self.crm.get::<Contact>(actor, id).await?;
                        if picked.customer_id != customer.id {
                            return Err(CrmError::validation(
                                "contact",
                                format!("{id} is a contact of another customer"),
                            ));
                        }
                        PersonAt::Contact(id)
                    }
                };
                // The customer is updated at the version read: a concurrent conversion
                // into it conflicts and is planned again (seeing this one's contact).
                let mut updated = customer.clone();
                updated.record_contact(now);
                if options.deal.is_some() && updated.lifecycle_stage == LifecycleStage::Lead {
                    updated.lifecycle_stage = LifecycleStage::Opportunity;
                }
                updated.touch(now);
                crate::store::EntityRules::validate(&updated)?;
                cs.push_update(updated);
                match person {
                    PersonAt::Customer => (customer.id, None, false, known, points),
                    PersonAt::Contact(c) => (customer.id, Some(c), true, known, points),
                    PersonAt::NewContact => {
                        let primary = !contacts.iter().any(|c| c.is_primary);
                        let ct = new_contact(customer.id, primary)?;
                        let ctid = ct.as_ref().map(|c| c.id);
                        if let Some(ct) = ct {
                            cs.push_insert(ct);
                        }
                        (customer.id, ctid, false, known, points)
                    }
                }
            }
            None => {
                let mut customer = match (&lead.company, &names) {
                    (Some(company), _) => Customer::company(actor.tenant, company, now)?,
                    (None, Some((first, last))) => {
                        Customer::person(actor.tenant, first, last, now)?
                    }
                    (None, None) => Customer::company(actor.tenant, &lead.display_name(), now)?,
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
                // A company lead's person is the company's primary contact; a person lead's
                // person is the customer itself.
                let contact = if lead.company.is_some() {
                    new_contact(customer.id, true)?
                } else {
                    None
                };
                let region = self.crm.config().default_phone_region.clone();
                let points = lead_points(&lead, actor.tenant, customer.id, region.as_deref(), now)?;
                let (cid, ctid) = (customer.id, contact.as_ref().map(|c| c.id));
                cs.push_insert(customer);
                if let Some(ct) = contact {
                    cs.push_insert(ct);
                }
                (cid, ctid, false, Vec::new(), points)
            }
        };
        // The lead's e-mail and phone go to the person unless the customer has them already;
        // each is its owner's primary point of its kind only if the owner has none yet.
        for mut p in points {
            if known.iter().any(|k| same_value(k, &p)) {
                continue;
            }
            p.contact_id = contact_id;
            p.primary = !known
                .iter()
                .any(|k| k.contact_id == contact_id && k.kind == p.kind && k.primary);
            cs.push_insert(p);
        }
        let deal_id = match &options.deal {
            Some(spec) => {
                let pipeline = match spec.pipeline {
                    Some(pid) => self.crm.get::<Pipeline>(actor, pid).await?,
                    None => self.crm.pipelines().ensure_default(actor, now).await?,
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
                linked_existing_contact: linked_contact,
                deal: deal_id,
            },
        ))
    }

    /// Converts an open lead, in one atomic change set, into a customer (the one named by
    /// [`LeadConversion::into_customer`], or the existing one with the same e-mail or phone
    /// when `link_existing`, or a likely duplicate when `link_duplicates`, else a new one),
    /// the lead's person as a contact of that customer (created, or an equal existing
    /// contact linked; none when the customer itself is the person), contact points for
    /// the lead's e-mail and phone, and optionally a deal; the lead records what it became.
    /// The rules are documented on [`LeadConversion`]. Converting twice fails with
    /// `InvalidTransition`. A change set that conflicts with a concurrent write (e.g. a
    /// primary contact added meanwhile) is planned again from fresh reads, up to
    /// [`MAX_RETRIES`] times.
    #[tracing::instrument(name = "leads.convert", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn convert(
        self,
        actor: &Actor,
        id: LeadId,
        options: LeadConversion,
        now: DateTime<Utc>,
    ) -> Result<ConversionResult> {
        let mut attempt = 0;
        let result = loop {
            let (cs, result) = self
                .crm
                .leads()
                .plan_conversion(actor, id, &options, now)
                .await?;
            match self.crm.apply(actor, cs).await {
                Err(CrmError::Conflict { .. } | CrmError::AlreadyExists { .. })
                    if attempt < MAX_RETRIES =>
                {
                    attempt += 1
                }
                Err(e) => return Err(e),
                Ok(_) => break result,
            }
        };
        // The lead lives on as its customer in the duplicate index.
        self.crm
            .unindex(actor.tenant, &[result.lead.entity_ref()])?;
        self.crm
            .reindex_customers(actor, &[result.customer])
            .await?;
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::TenantId;
    use crate::values::Email;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("time")
    }

    const NAMES: [&str; 4] = ["Ada Lovelace", "Bob Builder", "Élodie Brûlé", "Ann"];
    const EMAILS: [&str; 3] = ["a@x.example", "b@x.example", "c@x.example"];
    const PHONES: [&str; 3] = ["+14155552671", "+493012345678", "+441614960000"];

    /// A lead's person name in a random case (folding must ignore it).
    fn cased(name: &str, upper: bool) -> String {
        if upper {
            name.to_uppercase()
        } else {
            name.to_lowercase()
        }
    }

    proptest! {
        /// The person recognised at an existing customer follows the documented order of
        /// evidence: e-mail (first contact owning it, else a person customer owning it at
        /// customer level), then folded name (unless the named one's e-mail addresses
        /// exclude the lead's), then phone; a contact is created only when
        /// no evidence points anywhere; a lead without a name is the customer's.
        #[test]
        fn person_recognition_follows_the_evidence(
            person in any::<bool>(),
            customer_name in 0usize..4,
            contact_names in proptest::collection::vec(0usize..4, 0..4),
            // (value index, is_email, owner: None = customer level, Some(i) = contact i)
            owned in proptest::collection::vec((0usize..3, any::<bool>(), proptest::option::of(0usize..4)), 0..6),
            lead_name in proptest::option::of((0usize..4, any::<bool>())),
            lead_email in proptest::option::of(0usize..3),
            lead_phone in proptest::option::of(0usize..3),
        ) {
            let t = TenantId::new();
            let name = NAMES[customer_name];
            let customer = if person {
                let (first, last) = name.split_once(' ').unwrap_or((name, ""));
                Customer::person(t, first, last, now()).expect("person")
            } else {
                Customer::company(t, name, now()).expect("company")
            };
            let contacts: Vec<Contact> = contact_names
                .iter()
                .map(|&i| {
                    let (first, last) = NAMES[i].split_once(' ').unwrap_or((NAMES[i], ""));
                    Contact::new(t, customer.id, first, last, now()).expect("contact")
                })
                .collect();
            let known: Vec<ContactPoint> = owned
                .iter()
                .map(|&(v, email, owner)| {
                    let owner = owner.and_then(|i| contacts.get(i)).map(|c| c.id);
                    let (kind, value) = if email {
                        (ContactPointKind::Email, EMAILS[v])
                    } else {
                        (ContactPointKind::Mobile, PHONES[v])
                    };
                    ContactPoint::new(t, customer.id, owner, kind, value, None, now()).expect("point")
                })
                .collect();
            let mut lead = Lead::new(t, now());
            if let Some((i, upper)) = lead_name {
                let n = cased(NAMES[i], upper);
                let (first, last) = n.split_once(' ').unwrap_or((n.as_str(), ""));
                lead.first_name = Some(first.to_string());
                lead.last_name = (!last.is_empty()).then(|| last.to_string());
            }
            lead.email = lead_email.map(|i| Email::parse(EMAILS[i]).expect("email"));
            lead.phone = lead_phone.map(|i| Phone::parse(PHONES[i], None).expect("phone"));
            if lead.first_name.is_none() && lead.email.is_none() && lead.phone.is_none() {
                lead.company = Some("Co".into());
            }
            let wanted = lead_points(&lead, t, customer.id, None, now()).expect("points");
            let folded = person_names(&lead).map(|(f, l)| fold(&format!("{f} {l}")));
            let got = recognise_person(&customer, &contacts, &known, folded.as_deref(), &wanted);

            // The oracle, written from the documented rules.
            let owns = |owner: Option<ContactId>, w: &ContactPoint| {
                known.iter().any(|k| k.contact_id == owner && same_value(k, w))
            };
            let by_point = |w: Option<&ContactPoint>| {
                let w = w?;
                contacts
                    .iter()
                    .find(|c| owns(Some(c.id), w))
                    .map(|c| PersonAt::Contact(c.id))
                    .or_else(|| (person && owns(None, w)).then_some(PersonAt::Customer))
            };
            // Someone of the same name whose e-mail addresses exclude the lead's is not
            // the lead's person.
            let lead_mail = wanted.iter().find(|p| p.kind == ContactPointKind::Email);
            let conflict = |owner: Option<ContactId>| match lead_mail {
                None => false,
                Some(w) => {
                    let mails: Vec<&ContactPoint> = known
                        .iter()
                        .filter(|k| k.contact_id == owner && k.kind == ContactPointKind::Email)
                        .collect();
                    !mails.is_empty() && !mails.iter().any(|k| k.value == w.value)
                }
            };
            let expected = match &folded {
                None => PersonAt::Customer,
                Some(n) => by_point(lead_mail)
                    .or_else(|| {
                        contacts
                            .iter()
                            .find(|c| fold(&c.full_name()) == *n && !conflict(Some(c.id)))
                            .map(|c| PersonAt::Contact(c.id))
                    })
                    .or_else(|| {
                        (person && fold(NAMES[customer_name]) == *n).then_some(PersonAt::Customer)
                    })
                    .or_else(|| by_point(wanted.iter().find(|p| p.kind.is_phone())))
                    .unwrap_or(PersonAt::NewContact),
            };
            prop_assert_eq!(got, expected);
            if let PersonAt::Contact(id) = got {
                prop_assert!(contacts.iter().any(|c| c.id == id), "a contact of this customer");
            }
            if got == PersonAt::Customer && folded.is_some() {
                prop_assert!(person, "only a person customer is the lead's person");
            }
        }
    }

    /// Hand-picked cases of the recognition order: the e-mail beats the name, a namesake
    /// with other addresses is someone else, a namesake without addresses is the person,
    /// and the phone is the last resort.
    #[test]
    fn recognition_by_hand() {
        let t = TenantId::new();
        let acme = Customer::company(t, "Acme", now()).expect("company");
        let john_a = Contact::new(t, acme.id, "John", "Smith", now()).expect("c");
        let john_b = Contact::new(t, acme.id, "Jöhn", "SMITH", now()).expect("c");
        let mary = Contact::new(t, acme.id, "Mary", "Jones", now()).expect("c");
        let point = |owner: &Contact, kind, value: &str| {
            ContactPoint::new(t, acme.id, Some(owner.id), kind, value, None, now()).expect("p")
        };
        let known = vec![
            point(&john_a, ContactPointKind::Email, "john@acme.example"),
            point(&mary, ContactPointKind::Email, "mary@acme.example"),
            point(&mary, ContactPointKind::Mobile, "+14155552671"),
        ];
        let contacts = vec![john_a.clone(), john_b.clone(), mary.clone()];
        let lead = |first: &str, last: &str, email: Option<&str>, phone: Option<&str>| {
            let mut l = Lead::new(t, now());
            l.first_name = Some(first.into());
            l.last_name = Some(last.into());
            l.email = email.map(|e| Email::parse(e).expect("email"));
            l.phone = phone.map(|p| Phone::parse(p, None).expect("phone"));
            l
        };
        let who = |l: &Lead| {
            let wanted = lead_points(l, t, acme.id, None, now()).expect("points");
            let name = person_names(l).map(|(f, s)| fold(&format!("{f} {s}")));
            recognise_person(&acme, &contacts, &known, name.as_deref(), &wanted)
        };
        assert_eq!(
            who(&lead("John", "Smith", Some("mary@acme.example"), None)),
            PersonAt::Contact(mary.id),
            "the e-mail is stronger evidence than the name"
        );
        assert_eq!(
            who(&lead(
                "john",
                "smith",
                Some("john.smith@home.example"),
                None
            )),
            PersonAt::Contact(john_b.id),
            "John A has another address; the namesake without one is the person"
        );
        assert_eq!(
            who(&lead("John", "Smith", None, None)),
            PersonAt::Contact(john_a.id),
            "without an e-mail there is nothing to conflict"
        );
        assert_eq!(
            who(&lead(
                "Mary",
                "Jones",
                Some("mary.j@home.example"),
                Some("+14155552671")
            )),
            PersonAt::Contact(mary.id),
            "a conflicting address rules out the name, but the phone still recognises her"
        );
        assert_eq!(
            who(&lead("Mary", "Jones", Some("mary.j@home.example"), None)),
            PersonAt::NewContact,
            "a namesake with another address is someone else"
        );
    }

    #[test]
    fn names_and_phones_of_the_lead() {
        let t = TenantId::new();
        let mut lead = Lead::new(t, now());
        lead.last_name = Some(" Hopper ".into());
        assert_eq!(person_names(&lead), Some(("Hopper".into(), String::new())));
        lead.first_name = Some("Lee".into());
        lead.last_name = Some("Lee".into());
        assert_eq!(
            person_names(&lead),
            Some(("Lee".into(), "Lee".into())),
            "equal first and last names are both kept"
        );
        lead.phone = Some(Phone::parse("0161 496 0000", Some("GB")).expect("phone"));
        let points = lead_points(&lead, t, CustomerId::new(), Some("US"), now()).expect("points");
        assert_eq!(
            (points[0].value.as_str(), points[0].raw_value.as_str()),
            ("+441614960000", "0161 496 0000"),
            "the E.164 form the lead was read in wins over the region given"
        );
        lead.phone = Some(Phone::parse("0171 2345678", None).expect("phone"));
        let points = lead_points(&lead, t, CustomerId::new(), Some("DE"), now()).expect("points");
        assert_eq!(points[0].value, "+491712345678");
        let points = lead_points(&lead, t, CustomerId::new(), None, now()).expect("points");
        assert_eq!(points[0].value, "0171 2345678", "kept raw without a region");
    }
}
