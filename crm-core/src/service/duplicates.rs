//! Duplicate detection over a tenant's stored records: scans, one-record lookups against a
//! per-tenant index, duplicate checks on customer create and lead conversion.
//!
//! The engine is [`crate::dedupe`]; this module turns customers (with their primary e-mail,
//! phone and location), contacts and open leads into [`PersonRecord`]s, keeps the trained
//! model in the tenant's settings so later scans and lookups reuse it, and keeps one
//! [`DedupeIndex`] per tenant in the service for [`Crm::matches_for`].
//!
//! The index lives in this process. It is updated by this service's own customer creates,
//! merges and deletes; writes made elsewhere (another server, direct store writes, contact
//! point edits) reach it at the next [`Crm::scan_duplicates`] or
//! [`Crm::refresh_duplicate_index`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Crm;
use crate::dedupe::{
    self, BlockingStats, DedupeConfig, DedupeIndex, FieldComparison, Model, PersonRecord,
};
use crate::error::{CrmError, Result};
use crate::id::{Actor, CustomerId, TenantId};
use crate::model::*;
use crate::store::{ChangeSet, CrmStore, Entity, EntityKind, EntityRead, EntityRef, ListQuery};

/// Per-tenant duplicate indexes of a service (shared by its clones).
#[derive(Default)]
pub(crate) struct DuplicateIndexes {
    by_tenant: Mutex<HashMap<TenantId, Arc<RwLock<DedupeIndex>>>>,
}

impl DuplicateIndexes {
    /// The tenant's index, if built.
    fn get(&self, tenant: TenantId) -> Result<Option<Arc<RwLock<DedupeIndex>>>> {
        Ok(self
            .by_tenant
            .lock()
            .map_err(poisoned)?
            .get(&tenant)
            .cloned())
    }

    /// Replaces the tenant's index.
    fn put(&self, tenant: TenantId, index: DedupeIndex) -> Result<()> {
        self.by_tenant
            .lock()
            .map_err(poisoned)?
            .insert(tenant, Arc::new(RwLock::new(index)));
        Ok(())
    }

    /// Drops the tenant's index.
    fn forget(&self, tenant: TenantId) -> Result<()> {
        self.by_tenant.lock().map_err(poisoned)?.remove(&tenant);
        Ok(())
    }

    /// The tenant's index: `index` unless another caller stored one first.
    fn get_or_put(&self, tenant: TenantId, index: DedupeIndex) -> Result<Arc<RwLock<DedupeIndex>>> {
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

/// A stored record that probably is the same person as the one asked about.
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
}

/// Records a scan believes are one person.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateCluster {
    /// The members (two or more).
    pub members: Vec<EntityRef>,
    /// Whether the chaining guard split this cluster out of a larger component.
    pub split_by_guard: bool,
}

/// What [`Crm::scan_duplicates`] scans and how.
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
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            kinds: vec![EntityKind::Customer, EntityKind::Contact, EntityKind::Lead],
            retrain: false,
            threshold: None,
            threads: 1,
        }
    }
}

/// The result of a scan.
#[derive(Debug, Clone)]
pub struct ScanReport {
    /// Records read.
    pub records: usize,
    /// Pairs at or above the threshold, with explanations.
    pub pairs: Vec<DuplicatePair>,
    /// Clusters of two or more records.
    pub clusters: Vec<DuplicateCluster>,
    /// Blocking statistics (candidate pairs, reduction ratio, per rule).
    pub stats: BlockingStats,
    /// The threshold applied.
    pub threshold: f64,
    /// Whether a model was trained by this scan.
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
    /// Refuse with `AlreadyExists` naming the best match; nothing is written.
    Block,
}

/// A customer created with a duplicate check.
#[derive(Debug, Clone)]
pub struct CheckedCustomer {
    /// The stored customer.
    pub customer: Customer,
    /// Its likely duplicates (empty under [`DuplicatePolicy::Ignore`]).
    pub duplicates: Vec<DuplicateMatch>,
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

/// The person record of a customer with its contact points and locations (primary ones
/// preferred). Birth date and national id come from the custom fields `birth_date` and
/// `national_id` when present.
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

impl<S: CrmStore + ?Sized> Crm<S> {
    /// Every row of `E` in the tenant, page by page, handed to `each`.
    async fn each_page<E: Entity>(&self, actor: &Actor, mut each: impl FnMut(Vec<E>)) -> Result<()>
    where
        S: EntityRead<E>,
    {
        let mut query = ListQuery::<E>::new().limit(crate::store::MAX_PAGE_SIZE);
        loop {
            let page = EntityRead::<E>::list(self.store(), actor.tenant, &query).await?;
            each(page.items);
            match page.next {
                Some(c) => query.after = Some(c),
                None => return Ok(()),
            }
        }
    }

    /// The tenant's records of `kinds` as person records, read from the store in pages.
    pub async fn duplicate_candidates(
        &self,
        actor: &Actor,
        kinds: &[EntityKind],
    ) -> Result<Vec<PersonRecord>> {
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
        let mut out = Vec::new();
        let want = |k: EntityKind| kinds.contains(&k);
        if want(EntityKind::Customer) || want(EntityKind::Contact) {
            let mut points: HashMap<Uuid, Vec<ContactPoint>> = HashMap::new();
            self.each_page::<ContactPoint>(actor, |page| {
                for p in page {
                    let owner: Uuid = p.contact_id.map_or(p.customer_id.into(), Into::into);
                    points.entry(owner).or_default().push(p);
                }
            })
            .await?;
            let mut companies: HashMap<CustomerId, Option<String>> = HashMap::new();
            let mut locations: HashMap<CustomerId, Vec<Location>> = HashMap::new();
            if want(EntityKind::Customer) {
                self.each_page::<Location>(actor, |page| {
                    for l in page {
                        locations.entry(l.customer_id).or_default().push(l);
                    }
                })
                .await?;
            }
            // One pass over the customers: their own records and, for contacts, the
            // company each contact works for.
            self.each_page::<Customer>(actor, |page| {
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
                        out.push(customer_person_record(&c, pts, locs));
                    }
                }
            })
            .await?;
            if want(EntityKind::Contact) {
                self.each_page::<Contact>(actor, |page| {
                    for c in page {
                        let pts = points.get(&c.id.into()).map_or(&[][..], Vec::as_slice);
                        let company = companies.get(&c.customer_id).cloned().flatten();
                        out.push(contact_person_record(&c, pts, company));
                    }
                })
                .await?;
            }
        }
        if want(EntityKind::Lead) {
            self.each_page::<Lead>(actor, |page| {
                for l in page {
                    // Converted leads live on as their customer.
                    if l.converted_customer_id.is_none() {
                        out.push(lead_person_record(&l));
                    }
                }
            })
            .await?;
        }
        Ok(out)
    }

    fn dedupe_config(&self, model: Option<Model>, threads: usize) -> DedupeConfig {
        DedupeConfig {
            default_region: self.config().default_phone_region.clone(),
            model,
            threads,
            ..Default::default()
        }
    }

    /// Scans the tenant's customers, contacts and open leads for duplicates: pairs with
    /// their explanations and clusters. Uses the model saved in the tenant's settings, or
    /// trains one (unsupervised) and saves it. Refreshes the tenant's duplicate index.
    pub async fn scan_duplicates(
        &self,
        actor: &Actor,
        options: &ScanOptions,
        now: DateTime<Utc>,
    ) -> Result<ScanReport> {
        let records = self.duplicate_candidates(actor, &options.kinds).await?;
        let settings = self.tenant_settings(actor, now).await?;
        let saved = if options.retrain {
            None
        } else {
            settings.dedupe_model.clone()
        };
        let trained = saved.is_none();
        let mut config = self.dedupe_config(saved, options.threads);
        config.threshold = options.threshold;
        let outcome = dedupe::dedupe(&records, &config)?;
        let reference = |i: u32| {
            records
                .get(i as usize)
                .and_then(|r| parse_record_id(&r.id))
                .ok_or_else(|| CrmError::validation("records", "engine returned an unknown record"))
        };
        let mut pairs = Vec::with_capacity(outcome.pairs.len());
        for p in &outcome.pairs {
            let scored = outcome.scored_pair(&records, p);
            pairs.push(DuplicatePair {
                a: reference(p.a)?,
                b: reference(p.b)?,
                probability: p.probability,
                explanation: scored.explanation,
            });
        }
        let mut clusters = Vec::new();
        let groups = outcome.clusters.groups();
        for g in groups {
            let Some(first) = g.first() else { continue };
            let id = outcome.clusters.assignment[*first as usize];
            clusters.push(DuplicateCluster {
                members: g.iter().map(|&i| reference(i)).collect::<Result<_>>()?,
                split_by_guard: outcome.clusters.split.contains(&id),
            });
        }
        let model_saved = trained && records.len() >= self.config().dedupe_min_training_records;
        let report = ScanReport {
            records: records.len(),
            pairs,
            clusters,
            stats: outcome.stats.clone(),
            threshold: outcome.threshold,
            trained,
            model_saved,
        };
        if model_saved {
            let mut settings = settings;
            settings.dedupe_model = Some(outcome.model.clone());
            self.save_model(actor, settings, now).await?;
        }
        let index = DedupeIndex::from_outcome(&records, outcome, &config)?;
        self.duplicate_indexes().put(actor.tenant, index)?;
        Ok(report)
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

    /// Rebuilds the tenant's duplicate index from the store (with the saved model, or a
    /// newly trained and saved one).
    pub async fn refresh_duplicate_index(&self, actor: &Actor, now: DateTime<Utc>) -> Result<()> {
        self.duplicate_indexes().forget(actor.tenant)?;
        self.tenant_index(actor, now).await.map(|_| ())
    }

    /// The tenant's index, built on first use.
    async fn tenant_index(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Arc<RwLock<DedupeIndex>>> {
        if let Some(index) = self.duplicate_indexes().get(actor.tenant)? {
            return Ok(index);
        }
        let kinds = ScanOptions::default().kinds;
        let records = self.duplicate_candidates(actor, &kinds).await?;
        let settings = self.tenant_settings(actor, now).await?;
        let index = match settings.dedupe_model.clone() {
            Some(model) => DedupeIndex::build(&records, model, &self.dedupe_config(None, 1))?,
            None => {
                let config = self.dedupe_config(None, 1);
                let outcome = dedupe::dedupe(&records, &config)?;
                if records.len() >= self.config().dedupe_min_training_records {
                    let mut settings = settings;
                    settings.dedupe_model = Some(outcome.model.clone());
                    self.save_model(actor, settings, now).await?;
                }
                DedupeIndex::from_outcome(&records, outcome, &config)?
            }
        };
        self.duplicate_indexes().get_or_put(actor.tenant, index)
    }

    /// Stored records (customers, contacts, open leads) that probably are the same person
    /// as `candidate`, best first, at or above the model's threshold. The first call of a
    /// tenant builds its index from the store.
    pub async fn matches_for(
        &self,
        actor: &Actor,
        candidate: &PersonRecord,
        now: DateTime<Utc>,
    ) -> Result<Vec<DuplicateMatch>> {
        let index = self.tenant_index(actor, now).await?;
        let index = index.read().map_err(poisoned)?;
        Ok(index
            .matches_for(candidate)
            .into_iter()
            .filter_map(|p| {
                Some(DuplicateMatch {
                    entity: parse_record_id(&p.b)?,
                    probability: p.probability,
                    match_weight: p.match_weight,
                    explanation: p.explanation,
                })
            })
            .collect())
    }

    /// Creates a customer with its contact points and locations in one change set, after
    /// looking for likely duplicates per `policy`.
    pub async fn create_customer_checked(
        &self,
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
        let record = customer_person_record(&customer, &points, &locations);
        let mut cs = ChangeSet::new().insert(customer.clone());
        points.into_iter().for_each(|p| cs.push_insert(p));
        locations.into_iter().for_each(|l| cs.push_insert(l));
        let duplicates = match policy {
            DuplicatePolicy::Ignore => Vec::new(),
            _ => self.matches_for(actor, &record, now).await?,
        };
        if policy == DuplicatePolicy::Block {
            if let Some(best) = duplicates.first() {
                return Err(CrmError::AlreadyExists {
                    entity: "customer",
                    key: format!(
                        "likely duplicate of {} {} (match probability {:.3})",
                        best.entity.kind.name(),
                        best.entity.id,
                        best.probability
                    ),
                });
            }
        }
        self.apply(actor, cs).await?;
        self.index_record(actor.tenant, &record)?;
        Ok(CheckedCustomer {
            customer,
            duplicates,
        })
    }

    /// The best customer among the likely duplicates of `lead` (for lead conversion).
    pub(crate) async fn duplicate_customer_for_lead(
        &self,
        actor: &Actor,
        lead: &Lead,
        now: DateTime<Utc>,
    ) -> Result<Option<CustomerId>> {
        let found = self
            .matches_for(actor, &lead_person_record(lead), now)
            .await?;
        Ok(found
            .into_iter()
            .find(|m| m.entity.kind == EntityKind::Customer)
            .map(|m| m.entity.id.into()))
    }

    /// Adds or replaces a record in the tenant's index, if the index is built.
    pub(crate) fn index_record(&self, tenant: TenantId, record: &PersonRecord) -> Result<()> {
        if let Some(index) = self.duplicate_indexes().get(tenant)? {
            index.write().map_err(poisoned)?.insert(record)?;
        }
        Ok(())
    }

    /// Removes records from the tenant's index, if the index is built.
    pub(crate) fn unindex(&self, tenant: TenantId, refs: &[EntityRef]) -> Result<()> {
        if let Some(index) = self.duplicate_indexes().get(tenant)? {
            let mut index = index.write().map_err(poisoned)?;
            for r in refs {
                index.remove(&record_id(*r));
            }
        }
        Ok(())
    }

    /// Brings the tenant's index (if built) up to date for `customers` after a write: each
    /// is re-read with its contact points and locations, or removed if it is gone.
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
                    self.index_record(
                        actor.tenant,
                        &customer_person_record(&c, &points, &locations),
                    )?;
                }
            }
        }
        Ok(())
    }
}
