//! Duplicate detection over a tenant's stored records: scans, one-record lookups against a
//! per-tenant index, duplicate checks on customer create and lead conversion.
//!
//! The engine is [`crate::dedupe`]. This module turns the tenant's records into engine
//! records of two kinds that are never compared with each other:
//! - **persons** ([`PersonRecord`]): person customers (with their primary e-mail, phone and
//!   location), contacts, and open leads that name a person;
//! - **companies** ([`CompanyRecord`]): company customers (name, web site, every e-mail
//!   address and phone of the customer itself, primary location) and open leads that name
//!   a company.
//!
//! A lead naming both a person and a company is both: its person is compared with persons,
//! its company with companies. Only open leads (new, contacted, qualified) take part;
//! converted, lost and disqualified ones do not.
//!
//! Persons are scored with the model saved in the tenant's settings, or one trained on the
//! tenant's records and saved when there are at least
//! [`CrmConfig::dedupe_min_training_records`](crate::CrmConfig::dedupe_min_training_records)
//! of them (and half as many candidate pairs); below that, and whenever training
//! degenerates, with the documented prior model ([`crate::dedupe::prior`]), which is never
//! saved. A saved model that no longer validates is ignored, never reported as the
//! caller's error. Companies are always scored with the prior company model
//! ([`crate::dedupe::company`]). The report says which model was used
//! ([`ScanReport::model_source`]).
//!
//! Pairs below the threshold that share an e-mail address (persons) or a domain under
//! another name (companies) are not matches but are listed for review
//! ([`ScanReport::review`], [`CheckedCustomer::review`]), with the reason.
//!
//! The service keeps one person index and one company index per tenant for
//! [`crate::Duplicates::matches_for`]. They live in this process and are updated by this service's own
//! customer creates, merges, deletes and lead conversions; writes made elsewhere (another
//! server, direct store writes, contact point edits, lead status changes) reach them at the
//! next [`crate::Duplicates::scan`] or [`crate::Duplicates::refresh_index`] (a lead that is no
//! longer open is dropped from lookups as soon as one finds it).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Crm, Customers};
use crate::dedupe::{
    self, BlockingStats, CompanyIndex, CompanyRecord, DedupeConfig, DedupeIndex, FieldComparison,
    Model, ModelSource, PersonRecord, PriorReason, RecordKind, ReviewReason, ScoredPair,
};
use crate::error::{CrmError, Result};
use crate::id::{Actor, CustomerId, LeadId, TenantId};
use crate::model::*;
use crate::store::{ChangeSet, CrmStore, Entity, EntityKind, EntityRead, EntityRef, ListQuery};

/// The duplicate indexes of one tenant.
#[derive(Debug)]
pub(crate) struct TenantIndex {
    persons: DedupeIndex,
    companies: CompanyIndex,
}

/// Per-tenant duplicate indexes of a service (shared by its clones).
#[derive(Default)]
pub(crate) struct DuplicateIndexes {
    by_tenant: Mutex<HashMap<TenantId, Arc<RwLock<TenantIndex>>>>,
}

impl DuplicateIndexes {
    /// The tenant's indexes, if built.
    fn get(&self, tenant: TenantId) -> Result<Option<Arc<RwLock<TenantIndex>>>> {
        Ok(self
            .by_tenant
            .lock()
            .map_err(poisoned)?
            .get(&tenant)
            .cloned())
    }

    /// Replaces the tenant's indexes.
    fn put(&self, tenant: TenantId, index: TenantIndex) -> Result<()> {
        self.by_tenant
            .lock()
            .map_err(poisoned)?
            .insert(tenant, Arc::new(RwLock::new(index)));
        Ok(())
    }

    /// Drops the tenant's indexes.
    fn forget(&self, tenant: TenantId) -> Result<()> {
        self.by_tenant.lock().map_err(poisoned)?.remove(&tenant);
        Ok(())
    }

    /// The tenant's indexes: `index` unless another caller stored one first.
    fn get_or_put(&self, tenant: TenantId, index: TenantIndex) -> Result<Arc<RwLock<TenantIndex>>> {
        Ok(Arc::clone(
            self.by_tenant
                .lock()
                .map_err(poisoned)?
                .entry(tenant)
                .or_insert_with(|| Arc::new(RwLock::new(index))),
        ))
    }
}

impl std::fmt::Debug for DuplicateIndexes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DuplicateIndexes")
    }
}

fn poisoned<T>(_: T) -> CrmError {
    CrmError::storage(
        crate::error::StorageErrorKind::Other,
        "duplicate index lock poisoned by a panic",
    )
}

/// A stored record that probably is the same person or company as the one asked about
/// (or, in a review list, shares something with it).
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateMatch {
    /// The stored record (a customer, contact or lead).
    pub entity: EntityRef,
    /// Posterior match probability.
    pub probability: f64,
    /// `log2` posterior odds.
    pub match_weight: f64,
    /// Per-field comparison level and weight.
    pub explanation: Vec<FieldComparison>,
    /// Whether the records were compared as persons or as companies.
    pub compared_as: RecordKind,
    /// For a review candidate, what the records share (`None` for a match).
    pub reason: Option<ReviewReason>,
}

/// A pair of stored records found by a scan.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicatePair {
    /// One record.
    pub a: EntityRef,
    /// The other.
    pub b: EntityRef,
    /// Posterior match probability.
    pub probability: f64,
    /// Per-field comparison level and weight.
    pub explanation: Vec<FieldComparison>,
    /// Whether the records were compared as persons or as companies.
    pub compared_as: RecordKind,
    /// For a pair in [`ScanReport::review`], what the records share and why it is worth a
    /// look (`ReviewReason::message`: "same e-mail address, different name"); `None` for a
    /// match.
    pub reason: Option<ReviewReason>,
}

/// Records a scan believes are one person or one company.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateCluster {
    /// The members (two or more).
    pub members: Vec<EntityRef>,
    /// Whether the chaining guard split this cluster out of a larger component.
    pub split_by_guard: bool,
    /// Whether the members were compared as persons or as companies.
    pub compared_as: RecordKind,
}

/// What [`crate::Duplicates::scan`] scans and how.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Kinds of record to read: any of customer, contact and lead.
    pub kinds: Vec<EntityKind>,
    /// Train a new model even if the tenant has one saved.
    pub retrain: bool,
    /// Match probability to report pairs at; `None`: the model's recommended threshold.
    pub threshold: Option<f64>,
    /// Worker threads of the engine (0 = available parallelism; scoped, ended on return).
    pub threads: usize,
    /// Called after every page read and before each comparison batch; answering
    /// [`super::Control::Cancel`] stops the scan with `Cancelled` (nothing is saved).
    pub progress: Option<super::ProgressCallback>,
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            kinds: vec![EntityKind::Customer, EntityKind::Contact, EntityKind::Lead],
            retrain: false,
            threshold: None,
            threads: 1,
            progress: None,
        }
    }
}

/// The result of a scan.
#[derive(Debug, Clone)]
pub struct ScanReport {
    /// Records compared: person records plus company records (a lead naming both a person
    /// and a company counts once in each).
    pub records: usize,
    /// Of them, company records.
    pub company_records: usize,
    /// Pairs at or above the threshold, with explanations (persons, then companies).
    pub pairs: Vec<DuplicatePair>,
    /// Pairs below the threshold worth a person's look, each with its
    /// [`DuplicatePair::reason`]: the same e-mail address under different names (persons),
    /// the same domain under different names (companies). Never in `pairs` or `clusters`.
    pub review: Vec<DuplicatePair>,
    /// Clusters of two or more records.
    pub clusters: Vec<DuplicateCluster>,
    /// Person blocking statistics (candidate pairs, reduction ratio, per rule).
    pub stats: BlockingStats,
    /// Company blocking statistics (candidate and total pairs; no per-rule figures).
    pub company_stats: BlockingStats,
    /// The threshold applied.
    pub threshold: f64,
    /// Which person model scored the pairs: the tenant's saved one, one trained by this
    /// scan, or the documented prior (companies always use the prior company model).
    pub model_source: ModelSource,
    /// With [`ModelSource::Prior`], why (too few records or candidate pairs, or training
    /// degenerated).
    pub prior_reason: Option<PriorReason>,
    /// Whether a model was trained by this scan (`model_source` is `Trained`).
    pub trained: bool,
    /// Whether that model was saved in the tenant's settings (enough records, see
    /// [`crate::CrmConfig::dedupe_min_training_records`]).
    pub model_saved: bool,
}

/// What creating a customer does when it probably duplicates a stored record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicatePolicy {
    /// Do not look.
    Ignore,
    /// Create it and return the likely duplicates.
    #[default]
    Warn,
    /// Refuse with [`CrmError::LikelyDuplicate`] naming the best match; nothing is written.
    Block,
}

/// A customer created with a duplicate check.
#[derive(Debug, Clone)]
pub struct CheckedCustomer {
    /// The stored customer.
    pub customer: Customer,
    /// Its likely duplicates (empty under [`DuplicatePolicy::Ignore`]).
    pub duplicates: Vec<DuplicateMatch>,
    /// Stored records below the threshold that share an e-mail address (persons) or a
    /// domain (companies) with it, for review, each with its
    /// [`DuplicateMatch::reason`] (empty under [`DuplicatePolicy::Ignore`]; never a reason
    /// to block).
    pub review: Vec<DuplicateMatch>,
}

/// The id a record carries inside the engine: `kind:uuid`.
fn record_id(r: EntityRef) -> String {
    format!("{}:{}", r.kind.name(), r.id)
}

/// The reference behind an engine id made by [`record_id`].
fn parse_record_id(id: &str) -> Option<EntityRef> {
    let (kind, uuid) = id.split_once(':')?;
    let kind = EntityKind::ALL.iter().copied().find(|k| k.name() == kind)?;
    Some(EntityRef::new(kind, Uuid::parse_str(uuid).ok()?))
}

/// A failure inside the engine's own bookkeeping (an index it returned that names no
/// record): never the caller's input, so never a `Validation` error.
fn engine_fault(what: &str) -> CrmError {
    CrmError::storage(
        crate::error::StorageErrorKind::Other,
        format!("duplicate detection: {what}"),
    )
}

fn text(s: &Option<String>) -> Option<String> {
    s.as_ref().filter(|s| !s.trim().is_empty()).cloned()
}

fn custom_text(c: &Customer, key: &str) -> Option<String> {
    c.custom_fields
        .get(key)
        .and_then(|v| v.as_str())
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
}

/// Whether a lead takes part in duplicate detection: new, contacted or qualified, and not
/// converted (a converted lead lives on as its customer; lost and disqualified ones are
/// closed).
fn lead_is_open(l: &Lead) -> bool {
    matches!(
        l.status,
        LeadStatus::New | LeadStatus::Contacted | LeadStatus::Qualified
    ) && l.converted_customer_id.is_none()
}

/// The person record of a customer with its contact points and locations (primary ones
/// preferred). Birth date and national id come from the custom fields `birth_date` and
/// `national_id` when present. Scans and lookups compare company customers as companies
/// instead; for one of those this gives the company-shaped person record (no person
/// name, the company name in `company`), which [`crate::Duplicates::matches_for`] also reads as a
/// company.
pub fn customer_person_record(
    customer: &Customer,
    points: &[ContactPoint],
    locations: &[Location],
) -> PersonRecord {
    let pick = |kind: ContactPointKind| {
        points
            .iter()
            .filter(|p| p.kind == kind && p.contact_id.is_none())
            .max_by_key(|p| p.primary)
            .or_else(|| points.iter().find(|p| p.kind == kind))
            .map(|p| p.value.clone())
    };
    let loc = locations
        .iter()
        .max_by_key(|l| l.primary)
        .filter(|l| l.customer_id == customer.id);
    let is_person = customer.kind == CustomerKind::Person;
    PersonRecord {
        id: record_id(customer.entity_ref()),
        first_name: text(&customer.first_name),
        last_name: text(&customer.last_name),
        full_name: is_person.then(|| customer.name.clone()),
        email: pick(ContactPointKind::Email),
        phone: pick(ContactPointKind::Phone).or_else(|| pick(ContactPointKind::Mobile)),
        street: loc.and_then(|l| text(&l.line1)),
        address_line2: loc.and_then(|l| text(&l.line2)),
        city: loc.and_then(|l| text(&l.city)),
        postcode: loc.and_then(|l| text(&l.postal_code)),
        region: loc.and_then(|l| text(&l.region)),
        country: loc.and_then(|l| l.country.as_ref().map(|c| c.to_string())),
        birth_date: custom_text(customer, "birth_date"),
        company: text(&customer.company_name)
            .or_else(|| (!is_person).then(|| customer.name.clone())),
        national_id: custom_text(customer, "national_id"),
    }
}

/// The company record of a company customer: its name, web site, the e-mail addresses and
/// phones of the customer itself (primary first; its contacts' are theirs) and its primary
/// location.
fn customer_company_record(
    customer: &Customer,
    points: &[ContactPoint],
    locations: &[Location],
) -> CompanyRecord {
    let own = |kinds: &[ContactPointKind]| {
        let mut v: Vec<&ContactPoint> = points
            .iter()
            .filter(|p| kinds.contains(&p.kind) && p.contact_id.is_none())
            .collect();
        v.sort_by_key(|p| std::cmp::Reverse(p.primary));
        v.into_iter().map(|p| p.value.clone()).collect::<Vec<_>>()
    };
    let loc = locations
        .iter()
        .filter(|l| l.customer_id == customer.id)
        .max_by_key(|l| l.primary);
    CompanyRecord {
        id: record_id(customer.entity_ref()),
        name: Some(customer.name.clone()),
        website: text(&customer.website),
        emails: own(&[ContactPointKind::Email]),
        phones: own(&[ContactPointKind::Phone, ContactPointKind::Mobile]),
        street: loc.and_then(|l| text(&l.line1)),
        address_line2: loc.and_then(|l| text(&l.line2)),
        city: loc.and_then(|l| text(&l.city)),
        postcode: loc.and_then(|l| text(&l.postal_code)),
        region: loc.and_then(|l| text(&l.region)),
        country: loc.and_then(|l| l.country.as_ref().map(|c| c.to_string())),
    }
}

/// The person record of a contact (its own e-mail and phone; the customer's company).
fn contact_person_record(
    c: &Contact,
    points: &[ContactPoint],
    company: Option<String>,
) -> PersonRecord {
    let pick = |kind: ContactPointKind| {
        points
            .iter()
            .filter(|p| p.kind == kind)
            .max_by_key(|p| p.primary)
            .map(|p| p.value.clone())
    };
    PersonRecord {
        id: record_id(c.entity_ref()),
        first_name: Some(c.first_name.clone()),
        last_name: text(&c.last_name),
        email: pick(ContactPointKind::Email),
        phone: pick(ContactPointKind::Phone).or_else(|| pick(ContactPointKind::Mobile)),
        company,
        ..Default::default()
    }
}

/// The person record of a lead.
pub fn lead_person_record(l: &Lead) -> PersonRecord {
    PersonRecord {
        id: record_id(l.entity_ref()),
        first_name: text(&l.first_name),
        last_name: text(&l.last_name),
        email: l.email.as_ref().map(|e| e.as_str().to_string()),
        phone: l
            .phone
            .as_ref()
            .map(|p| p.e164.clone().unwrap_or_else(|| p.raw.clone())),
        company: text(&l.company),
        ..Default::default()
    }
}

/// Whether a lead names a person (a given or family name), so that it is compared with
/// persons. A lead naming only a company is compared as a company only; one naming neither
/// (an e-mail address or a phone alone) is compared as a person.
fn lead_names_person(l: &Lead) -> bool {
    text(&l.first_name).is_some() || text(&l.last_name).is_some() || text(&l.company).is_none()
}

/// The company record of a lead that names a company (which it would convert into).
fn lead_company_record(l: &Lead) -> Option<CompanyRecord> {
    Some(CompanyRecord {
        id: record_id(l.entity_ref()),
        name: Some(text(&l.company)?),
        emails: l.email.iter().map(|e| e.as_str().to_string()).collect(),
        phones: l
            .phone
            .iter()
            .map(|p| p.e164.clone().unwrap_or_else(|| p.raw.clone()))
            .collect(),
        ..Default::default()
    })
}

/// A tenant's records as the two engines see them.
#[derive(Debug, Default)]
struct Records {
    persons: Vec<PersonRecord>,
    companies: Vec<CompanyRecord>,
}

impl<S: CrmStore + ?Sized> Crm<S> {
    /// Every row of `E` in the tenant, page by page, handed to `each`.
    async fn each_page<E: Entity>(
        &self,
        actor: &Actor,
        progress: Option<&super::ProgressCallback>,
        mut each: impl FnMut(Vec<E>),
    ) -> Result<()>
    where
        S: EntityRead<E>,
    {
        let mut query = ListQuery::<E>::new().limit(crate::store::MAX_PAGE_SIZE);
        let mut rows = 0u64;
        loop {
            let page = EntityRead::<E>::list(self.store(), actor.tenant, &query).await?;
            rows = rows.saturating_add(page.items.len() as u64);
            each(page.items);
            super::progress::report(
                progress,
                "scan_duplicates",
                super::Progress::Reading {
                    kind: E::KIND,
                    rows,
                },
            )?;
            match page.next {
                Some(c) => query.after = Some(c),
                None => return Ok(()),
            }
        }
    }

    /// Reads the tenant's records of `kinds` as person and company records.
    async fn read_records(
        &self,
        actor: &Actor,
        kinds: &[EntityKind],
        progress: Option<&super::ProgressCallback>,
    ) -> Result<Records> {
        for k in kinds {
            if !matches!(
                k,
                EntityKind::Customer | EntityKind::Contact | EntityKind::Lead
            ) {
                return Err(CrmError::validation(
                    "kinds",
                    format!("{} records cannot be scanned for duplicates", k.name()),
                ));
            }
        }
        let mut out = Records::default();
        let want = |k: EntityKind| kinds.contains(&k);
        if want(EntityKind::Customer) || want(EntityKind::Contact) {
            let mut points: HashMap<Uuid, Vec<ContactPoint>> = HashMap::new();
            self.each_page::<ContactPoint>(actor, progress, |page| {
                for p in page {
                    let owner: Uuid = p.contact_id.map_or(p.customer_id.into(), Into::into);
                    points.entry(owner).or_default().push(p);
                }
            })
            .await?;
            let mut companies: HashMap<CustomerId, Option<String>> = HashMap::new();
            let mut locations: HashMap<CustomerId, Vec<Location>> = HashMap::new();
            if want(EntityKind::Customer) {
                self.each_page::<Location>(actor, progress, |page| {
                    for l in page {
                        locations.entry(l.customer_id).or_default().push(l);
                    }
                })
                .await?;
            }
            // One pass over the customers: their own records and, for contacts, the
            // company each contact works for.
            self.each_page::<Customer>(actor, progress, |page| {
                for c in page {
                    if want(EntityKind::Contact) {
                        let company = match c.kind {
                            CustomerKind::Company => Some(c.name.clone()),
                            CustomerKind::Person => c.company_name.clone(),
                        };
                        companies.insert(c.id, company);
                    }
                    if want(EntityKind::Customer) {
                        let pts = points.get(&c.id.into()).map_or(&[][..], Vec::as_slice);
                        let locs = locations.get(&c.id).map_or(&[][..], Vec::as_slice);
                        match c.kind {
                            CustomerKind::Person => {
                                out.persons.push(customer_person_record(&c, pts, locs))
                            }
                            CustomerKind::Company => {
                                out.companies.push(customer_company_record(&c, pts, locs))
                            }
                        }
                    }
                }
            })
            .await?;
            if want(EntityKind::Contact) {
                self.each_page::<Contact>(actor, progress, |page| {
                    for c in page {
                        let pts = points.get(&c.id.into()).map_or(&[][..], Vec::as_slice);
                        let company = companies.get(&c.customer_id).cloned().flatten();
                        out.persons.push(contact_person_record(&c, pts, company));
                    }
                })
                .await?;
            }
        }
        if want(EntityKind::Lead) {
            self.each_page::<Lead>(actor, progress, |page| {
                for l in page.iter().filter(|l| lead_is_open(l)) {
                    if lead_names_person(l) {
                        out.persons.push(lead_person_record(l));
                    }
                    if let Some(c) = lead_company_record(l) {
                        out.companies.push(c);
                    }
                }
            })
            .await?;
        }
        Ok(out)
    }

    /// Engine settings: the service's phone region; EM only from
    /// `dedupe_min_training_records` records and half as many candidate pairs.
    fn dedupe_config(&self, model: Option<Model>, threads: usize) -> DedupeConfig {
        let mut config = DedupeConfig {
            default_region: self.config().default_phone_region.clone(),
            model,
            threads,
            ..Default::default()
        };
        let min = self.config().dedupe_min_training_records;
        config.training.min_em_records = min;
        config.training.min_em_candidate_pairs = min / 2;
        config
    }

    /// The tenant's saved model, when there is one that fits this version of the library
    /// (an unusable saved model is the service's own state, not the caller's input: it is
    /// passed over and a model is trained or the prior used, as if none were saved).
    fn usable_saved_model(settings: &TenantSettings) -> Option<Model> {
        settings
            .dedupe_model
            .clone()
            .filter(|m| m.validate().is_ok())
    }

    /// Saves a trained model in the tenant's settings. Losing a race with another process
    /// saving its own model is fine: the next scan or index build reads theirs.
    async fn save_model(
        &self,
        actor: &Actor,
        settings: TenantSettings,
        now: DateTime<Utc>,
    ) -> Result<()> {
        match self.save_tenant_settings(actor, settings, now).await {
            Ok(_) | Err(CrmError::Conflict { .. }) | Err(CrmError::AlreadyExists { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The tenant's indexes, built on first use.
    async fn tenant_index(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Arc<RwLock<TenantIndex>>> {
        if let Some(index) = self.duplicate_indexes().get(actor.tenant)? {
            return Ok(index);
        }
        let kinds = ScanOptions::default().kinds;
        let records = self.read_records(actor, &kinds, None).await?;
        let settings = self.tenant_settings(actor, now).await?;
        let config = self.dedupe_config(None, 1);
        let persons = match Self::usable_saved_model(&settings) {
            Some(model) => DedupeIndex::build(&records.persons, model, &config)?,
            None => {
                let outcome = dedupe::dedupe(&records.persons, &config)?;
                if outcome.model_source == ModelSource::Trained
                    && records.persons.len() >= self.config().dedupe_min_training_records
                {
                    let mut settings = settings;
                    settings.dedupe_model = Some(outcome.model.clone());
                    self.save_model(actor, settings, now).await?;
                }
                DedupeIndex::from_outcome(&records.persons, outcome, &config)?
            }
        };
        let companies = CompanyIndex::build(&records.companies, &config)?;
        self.duplicate_indexes()
            .get_or_put(actor.tenant, TenantIndex { persons, companies })
    }

    /// Turns engine results into matches: references parsed, leads that are no longer
    /// open (lost, disqualified, converted or deleted since they were indexed) dropped from
    /// the result and from the index.
    async fn to_matches(
        &self,
        actor: &Actor,
        found: Vec<(ScoredPair, Option<ReviewReason>)>,
        compared_as: RecordKind,
    ) -> Result<Vec<DuplicateMatch>> {
        let mut out = Vec::with_capacity(found.len());
        for (p, reason) in found {
            let Some(entity) = parse_record_id(&p.b) else {
                continue;
            };
            if entity.kind == EntityKind::Lead {
                let open = self
                    .find::<Lead>(actor, LeadId::from(entity.id))
                    .await?
                    .is_some_and(|l| lead_is_open(&l));
                if !open {
                    self.unindex(actor.tenant, &[entity])?;
                    continue;
                }
            }
            out.push(DuplicateMatch {
                entity,
                probability: p.probability,
                match_weight: p.match_weight,
                explanation: p.explanation,
                compared_as,
                reason,
            });
        }
        Ok(out)
    }

    /// Matches and review candidates of a record about to be created.
    async fn check_new(
        &self,
        actor: &Actor,
        record: &NewRecord,
        now: DateTime<Utc>,
    ) -> Result<(Vec<DuplicateMatch>, Vec<DuplicateMatch>)> {
        let index = self.tenant_index(actor, now).await?;
        let (kind, matches, review) = {
            let index = index.read().map_err(poisoned)?;
            match record {
                NewRecord::Person(r) => (
                    RecordKind::Person,
                    index.persons.matches_for(r),
                    index.persons.review_for(r),
                ),
                NewRecord::Company(r) => (
                    RecordKind::Company,
                    index.companies.matches_for(r),
                    index.companies.review_for(r),
                ),
            }
        };
        let matches = self
            .to_matches(
                actor,
                matches.into_iter().map(|p| (p, None)).collect(),
                kind,
            )
            .await?;
        let review = self
            .to_matches(
                actor,
                review.into_iter().map(|(p, r)| (p, Some(r))).collect(),
                kind,
            )
            .await?;
        Ok((matches, review))
    }

    /// The best customer among the likely duplicates of `lead` (for lead conversion): for
    /// a lead naming a company (which would convert into a company customer) the best
    /// company customer, else, or when there is none, the best customer among its person's
    /// duplicates.
    pub(crate) async fn duplicate_customer_for_lead(
        &self,
        actor: &Actor,
        lead: &Lead,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerId>> {
        let first_customer = |found: Vec<DuplicateMatch>| {
            found
                .into_iter()
                .find(|m| m.entity.kind == EntityKind::Customer)
                .map(|m| CustomerId::from(m.entity.id))
        };
        if let Some(company) = lead_company_record(lead) {
            let found = self
                .duplicates()
                .company_matches_for(actor, &company, now)
                .await?;
            if let Some(id) = first_customer(found) {
                return Ok(Some(id));
            }
        }
        if !lead_names_person(lead) {
            return Ok(None);
        }
        let found = self
            .duplicates()
            .matches_for(actor, &lead_person_record(lead), now)
            .await?;
        Ok(first_customer(found))
    }

    /// Adds or replaces a record in the tenant's indexes, if they are built.
    fn index_new(&self, tenant: TenantId, record: &NewRecord) -> Result<()> {
        if let Some(index) = self.duplicate_indexes().get(tenant)? {
            let mut index = index.write().map_err(poisoned)?;
            match record {
                NewRecord::Person(r) => {
                    index.companies.remove(&r.id);
                    index.persons.insert(r)?;
                }
                NewRecord::Company(r) => {
                    index.persons.remove(&r.id);
                    index.companies.insert(r)?;
                }
            }
        }
        Ok(())
    }

    /// Removes records from the tenant's indexes, if they are built.
    pub(crate) fn unindex(&self, tenant: TenantId, refs: &[EntityRef]) -> Result<()> {
        if let Some(index) = self.duplicate_indexes().get(tenant)? {
            let mut index = index.write().map_err(poisoned)?;
            for r in refs {
                let id = record_id(*r);
                index.persons.remove(&id);
                index.companies.remove(&id);
            }
        }
        Ok(())
    }

    /// Brings the tenant's indexes (if built) up to date for `customers` after a write:
    /// each is re-read with its contact points and locations, or removed if it is gone.
    pub(crate) async fn reindex_customers(
        &self,
        actor: &Actor,
        customers: &[CustomerId],
    ) -> Result<()> {
        if self.duplicate_indexes().get(actor.tenant)?.is_none() {
            return Ok(());
        }
        for &id in customers {
            match self.find::<Customer>(actor, id).await? {
                None => self.unindex(
                    actor.tenant,
                    &[EntityRef::new(EntityKind::Customer, id.into())],
                )?,
                Some(c) => {
                    let customer_id = Some(id);
                    let points = self
                        .read_all::<ContactPoint>(
                            actor,
                            ContactPointFilter {
                                customer_id,
                                ..Default::default()
                            },
                            false,
                        )
                        .await?;
                    let locations = self
                        .read_all::<Location>(
                            actor,
                            LocationFilter {
                                customer_id,
                                ..Default::default()
                            },
                            false,
                        )
                        .await?;
                    self.index_new(
                        actor.tenant,
                        &NewRecord::of_customer(&c, &points, &locations),
                    )?;
                }
            }
        }
        Ok(())
    }
}

/// A customer as one of the two engines sees it.
enum NewRecord {
    Person(PersonRecord),
    Company(CompanyRecord),
}

impl NewRecord {
    /// The record of a customer: a company record for a company, else a person record.
    fn of_customer(c: &Customer, points: &[ContactPoint], locations: &[Location]) -> Self {
        match c.kind {
            CustomerKind::Person => NewRecord::Person(customer_person_record(c, points, locations)),
            CustomerKind::Company => {
                NewRecord::Company(customer_company_record(c, points, locations))
            }
        }
    }
}

impl<S: CrmStore + ?Sized> Customers<'_, S> {
    /// Creates a customer with its contact points and locations in one change set, after
    /// looking for likely duplicates per `policy`: persons among persons, companies among
    /// companies. Under [`DuplicatePolicy::Warn`] the result also lists review candidates
    /// (a shared e-mail address or domain under another name), which never block.
    #[tracing::instrument(name = "customers.create_checked", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn create_checked(
        self,
        actor: &Actor,
        customer: Customer,
        points: Vec<ContactPoint>,
        locations: Vec<Location>,
        policy: DuplicatePolicy,
        now: DateTime<Utc>,
    ) -> Result<CheckedCustomer> {
        let mut customer = customer;
        customer.tenant_id = actor.tenant;
        customer.version = 1;
        customer.created_at = now;
        customer.updated_at = now;
        crate::store::EntityRules::validate(&customer)?;
        let mut points = points;
        for (i, p) in points.iter_mut().enumerate() {
            if p.customer_id != customer.id {
                return Err(CrmError::validation(
                    format!("points[{i}].customer_id"),
                    "must be the new customer",
                ));
            }
            p.tenant_id = actor.tenant;
            crate::store::EntityRules::validate(&*p)?;
        }
        let mut locations = locations;
        for (i, l) in locations.iter_mut().enumerate() {
            if l.customer_id != customer.id {
                return Err(CrmError::validation(
                    format!("locations[{i}].customer_id"),
                    "must be the new customer",
                ));
            }
            l.tenant_id = actor.tenant;
            crate::store::EntityRules::validate(&*l)?;
        }
        let record = NewRecord::of_customer(&customer, &points, &locations);
        let mut cs = ChangeSet::new().insert(customer.clone());
        points.into_iter().for_each(|p| cs.push_insert(p));
        locations.into_iter().for_each(|l| cs.push_insert(l));
        let (duplicates, review) = match policy {
            DuplicatePolicy::Ignore => (Vec::new(), Vec::new()),
            _ => self.crm.check_new(actor, &record, now).await?,
        };
        if policy == DuplicatePolicy::Block {
            if let Some(best) = duplicates.first() {
                return Err(CrmError::LikelyDuplicate {
                    entity: crate::store::EntityKind::Customer,
                    of: best.entity,
                    probability: best.probability,
                });
            }
        }
        self.crm.apply(actor, cs).await?;
        self.crm.index_new(actor.tenant, &record)?;
        Ok(CheckedCustomer {
            customer,
            duplicates,
            review,
        })
    }
}

super::handle!(
    /// The duplicate-detection calls: candidates, scans, matches, the index.
    Duplicates, duplicates
);

impl<S: CrmStore + ?Sized> Duplicates<'_, S> {
    /// The tenant's records of `kinds` that are compared as persons (person customers,
    /// contacts, open leads naming a person), read from the store in pages. Company
    /// customers and leads naming only a company are in
    /// [`crate::Duplicates::company_candidates`].
    #[tracing::instrument(name = "duplicates.candidates", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn candidates(
        self,
        actor: &Actor,
        kinds: &[EntityKind],
    ) -> Result<Vec<PersonRecord>> {
        Ok(self.crm.read_records(actor, kinds, None).await?.persons)
    }

    /// The tenant's records of `kinds` that are compared as companies (company customers,
    /// open leads naming a company), read from the store in pages.
    #[tracing::instrument(name = "duplicates.company_candidates", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn company_candidates(
        self,
        actor: &Actor,
        kinds: &[EntityKind],
    ) -> Result<Vec<CompanyRecord>> {
        Ok(self.crm.read_records(actor, kinds, None).await?.companies)
    }

    /// Scans the tenant's customers, contacts and open leads for duplicates: persons with
    /// persons, companies with companies; pairs with their explanations, pairs for review,
    /// clusters. Persons are scored with the model saved in the tenant's settings, or one
    /// trained now (and saved, from enough records), or the documented prior model when
    /// there is too little data (see the module docs); the report says which. Refreshes the
    /// tenant's duplicate indexes.
    #[tracing::instrument(name = "duplicates.scan", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn scan(
        self,
        actor: &Actor,
        options: &ScanOptions,
        now: DateTime<Utc>,
    ) -> Result<ScanReport> {
        let progress = options.progress.as_ref();
        let records = self
            .crm
            .read_records(actor, &options.kinds, progress)
            .await?;
        let settings = self.crm.tenant_settings(actor, now).await?;
        let saved = if options.retrain {
            None
        } else {
            Crm::<S>::usable_saved_model(&settings)
        };
        let mut config = self.crm.dedupe_config(saved, options.threads);
        config.threshold = options.threshold;
        let persons = &records.persons;
        let companies = &records.companies;
        let comparing = |records: usize| {
            super::progress::report(
                progress,
                "scan_duplicates",
                super::Progress::Comparing {
                    records: records as u64,
                },
            )
        };
        comparing(persons.len())?;
        let outcome = dedupe::dedupe(persons, &config)?;
        comparing(companies.len())?;
        let company_outcome = dedupe::dedupe_companies(companies, &config)?;
        let person_ref = |i: u32| {
            persons
                .get(i as usize)
                .and_then(|r| parse_record_id(&r.id))
                .ok_or_else(|| engine_fault("the engine returned an unknown person record"))
        };
        let company_ref = |i: u32| {
            companies
                .get(i as usize)
                .and_then(|r| parse_record_id(&r.id))
                .ok_or_else(|| engine_fault("the engine returned an unknown company record"))
        };
        let mut pairs = Vec::with_capacity(outcome.pairs.len() + company_outcome.pairs.len());
        let mut review = Vec::new();
        let person_pair = |p: &dedupe::MatchPair, reason: Option<ReviewReason>| {
            Ok::<_, CrmError>(DuplicatePair {
                a: person_ref(p.a)?,
                b: person_ref(p.b)?,
                probability: p.probability,
                explanation: outcome.scored_pair(persons, p).explanation,
                compared_as: RecordKind::Person,
                reason,
            })
        };
        let company_pair = |p: &dedupe::MatchPair, reason: Option<ReviewReason>| {
            Ok::<_, CrmError>(DuplicatePair {
                a: company_ref(p.a)?,
                b: company_ref(p.b)?,
                probability: p.probability,
                explanation: company_outcome.scored_pair(companies, p).explanation,
                compared_as: RecordKind::Company,
                reason,
            })
        };
        for p in &outcome.pairs {
            pairs.push(person_pair(p, None)?);
        }
        for p in &company_outcome.pairs {
            pairs.push(company_pair(p, None)?);
        }
        for r in &outcome.review {
            review.push(person_pair(&r.pair, Some(r.reason))?);
        }
        for r in &company_outcome.review {
            review.push(company_pair(&r.pair, Some(r.reason))?);
        }
        let mut clusters = Vec::new();
        for (found, kind, reference) in [
            (
                &outcome.clusters,
                RecordKind::Person,
                &person_ref as &dyn Fn(u32) -> Result<EntityRef>,
            ),
            (&company_outcome.clusters, RecordKind::Company, &company_ref),
        ] {
            for g in found.groups() {
                let Some(first) = g.first() else { continue };
                let id = found.assignment[*first as usize];
                clusters.push(DuplicateCluster {
                    members: g.iter().map(|&i| reference(i)).collect::<Result<_>>()?,
                    split_by_guard: found.split.contains(&id),
                    compared_as: kind,
                });
            }
        }
        let trained = outcome.model_source == ModelSource::Trained;
        let model_saved = trained && persons.len() >= self.crm.config().dedupe_min_training_records;
        let report = ScanReport {
            records: persons.len() + companies.len(),
            company_records: companies.len(),
            pairs,
            review,
            clusters,
            stats: outcome.stats.clone(),
            company_stats: company_outcome.stats.clone(),
            threshold: outcome.threshold,
            model_source: outcome.model_source,
            prior_reason: outcome.model.training.prior_reason.clone(),
            trained,
            model_saved,
        };
        if model_saved {
            let mut settings = settings;
            settings.dedupe_model = Some(outcome.model.clone());
            self.crm.save_model(actor, settings, now).await?;
        }
        let index = TenantIndex {
            persons: DedupeIndex::from_outcome(persons, outcome, &config)?,
            companies: CompanyIndex::from_outcome(companies, company_outcome, &config)?,
        };
        self.crm.duplicate_indexes().put(actor.tenant, index)?;
        Ok(report)
    }

    /// Rebuilds the tenant's duplicate indexes from the store (with the saved model, or a
    /// newly trained and saved one, or the prior model).
    #[tracing::instrument(name = "duplicates.refresh_index", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn refresh_index(self, actor: &Actor, now: DateTime<Utc>) -> Result<()> {
        self.crm.duplicate_indexes().forget(actor.tenant)?;
        self.crm.tenant_index(actor, now).await.map(|_| ())
    }

    /// Stored records (customers, contacts, open leads) that probably are the same person
    /// as `candidate`, best first, at or above the model's threshold. A candidate without a
    /// person's name that names a company (as [`customer_person_record`] writes a company
    /// customer) is looked up as a company ([`crate::Duplicates::company_matches_for`]). The first call
    /// of a tenant builds its indexes from the store.
    #[tracing::instrument(name = "duplicates.matches_for", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn matches_for(
        self,
        actor: &Actor,
        candidate: &PersonRecord,
        now: DateTime<Utc>,
    ) -> Result<Vec<DuplicateMatch>> {
        if let Some(company) = CompanyRecord::from_person_record(candidate) {
            return self
                .crm
                .duplicates()
                .company_matches_for(actor, &company, now)
                .await;
        }
        let index = self.crm.tenant_index(actor, now).await?;
        let found: Vec<(ScoredPair, Option<ReviewReason>)> = {
            let index = index.read().map_err(poisoned)?;
            index
                .persons
                .matches_for(candidate)
                .into_iter()
                .map(|p| (p, None))
                .collect()
        };
        self.crm.to_matches(actor, found, RecordKind::Person).await
    }

    /// Stored company customers and open company leads that probably are the same company
    /// as `candidate`, best first, at or above the company model's threshold.
    #[tracing::instrument(name = "duplicates.company_matches_for", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn company_matches_for(
        self,
        actor: &Actor,
        candidate: &CompanyRecord,
        now: DateTime<Utc>,
    ) -> Result<Vec<DuplicateMatch>> {
        let index = self.crm.tenant_index(actor, now).await?;
        let found: Vec<(ScoredPair, Option<ReviewReason>)> = {
            let index = index.read().map_err(poisoned)?;
            index
                .companies
                .matches_for(candidate)
                .into_iter()
                .map(|p| (p, None))
                .collect()
        };
        self.crm.to_matches(actor, found, RecordKind::Company).await
    }
}
