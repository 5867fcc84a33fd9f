//! The [`Crm`] service: the API a host calls.
//!
//! `Crm<S>` is generic over the store and holds every business rule, so the rules are
//! written once and behave the same on every backend. Each call takes the [`Actor`] it acts
//! for (its tenant scopes everything) and, where time matters, an explicit `now`.
//!
//! `Crm` itself holds construction, configuration and the generic typed CRUD:
//! [`Crm::create`], [`Crm::get`], [`Crm::find`], [`Crm::update`], [`Crm::delete`],
//! [`Crm::list`], [`Crm::list_all`] and [`Crm::count`] work for every entity type and apply
//! the per-entity rules in [`Crm::plan_write`]. The use cases are grouped by domain area
//! into borrowed handles, one module each: [`Crm::customers`] (nested create, Customer 360,
//! timeline, cascading delete), [`Crm::contacts`], [`Crm::tags`], [`Crm::leads`],
//! [`Crm::deals`], [`Crm::pipelines`], [`Crm::activities`], [`Crm::follow_ups`],
//! [`Crm::duplicates`], [`Crm::merges`], [`Crm::events`] (the outbox) and [`Crm::audit`].
//! A handle is `Copy` and its calls take it by value, so `crm.deals().win(..)` can be
//! awaited, joined or spawned like any future borrowing `crm`. Every call writes one atomic
//! change set.

/// Defines a borrowed handle grouping the calls of one domain area, and the accessor on
/// [`Crm`] that returns it (`crm.deals().win(..)`).
macro_rules! handle {
    ($(#[$doc:meta])* $name:ident, $accessor:ident) => {
        $(#[$doc])*
        pub struct $name<'a, S: ?Sized> {
            pub(crate) crm: &'a Crm<S>,
        }

        impl<S: ?Sized> Clone for $name<'_, S> {
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<S: ?Sized> Copy for $name<'_, S> {}

        impl<S: ?Sized> std::fmt::Debug for $name<'_, S> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(stringify!($name))
            }
        }

        impl<S: CrmStore + ?Sized> Crm<S> {
            $(#[$doc])*
            pub fn $accessor(&self) -> $name<'_, S> {
                $name { crm: self }
            }
        }
    };
}
pub(crate) use handle;

mod activities;
mod audit;
mod contacts;
mod customer360;
mod customers;
mod deals;
mod duplicates;
mod events;
mod external;
mod follow_ups;
mod leads;
mod merge;
mod onboarding;
mod pipelines;
mod progress;
mod record_events;
mod retry;
mod rules;
mod sales;
mod tags;
mod timeline;

pub use activities::Activities;
pub use audit::Audit;
pub use contacts::Contacts;
pub use customer360::{Customer360, CutOff, DealTotals, RECENT_INTERACTIONS};
pub use customers::Customers;
pub use deals::Deals;
pub use duplicates::Duplicates;
pub use duplicates::{
    customer_person_record, lead_person_record, CheckedCustomer, DuplicateCluster, DuplicateMatch,
    DuplicatePair, DuplicatePolicy, ScanOptions, ScanReport,
};
pub use events::Events;
pub use external::{default_external_mapping, ExternalEvent, ExternalOutcome, MappingProblem};
pub use follow_ups::FollowUps;
pub use leads::Leads;
pub use leads::{
    lead_transition_allowed, ContactChoice, ConversionDeal, ConversionResult, LeadConversion,
};
pub use merge::Merges;
pub use merge::{
    CustomFieldRule, FieldCandidates, FieldRule, MergeMove, MergeOptions, MergeOutcome, MoveAction,
    SurvivorRule, MAX_MERGE_RECORDS,
};
pub use onboarding::{CreatedCustomer, NewContact, NewCustomer, NewPoint};
pub use pipelines::Pipelines;
pub use progress::{Control, Progress, ProgressCallback};
pub use retry::{backoff, Pause, RetryPause, RETRY_BASE, RETRY_CAP};
pub use sales::{days_between, Loss, RottingDeal, StageConversion, StageVelocity};
pub use tags::Tags;
pub use timeline::TimelineEntry;

use std::any::Any;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::{Actor, TagId};
use crate::model::*;
use crate::store::{
    Applied, ChangeSet, CrmStore, DomainEvent, Entity, EntityRead, EntityRef, ListQuery, NewEvent,
    Page,
};

/// How often a change set failing with a retryable storage error is tried again.
pub const MAX_RETRIES: usize = 3;

/// Tenant-independent settings of the service.
#[derive(Debug, Clone)]
pub struct CrmConfig {
    /// Region (ISO-3166 alpha-2) phone numbers without `+` are read in.
    pub default_phone_region: Option<String>,
    /// How external events advance deals; `None` uses [`default_external_mapping`].
    pub external_mapping:
        Option<std::collections::HashMap<crate::store::ExternalEventKind, ExternalTarget>>,
    /// A duplicate-detection model trained on fewer records than this is used but not
    /// saved in the tenant's settings (a young tenant's model would otherwise be kept after
    /// the tenant has grown); the next scan or index build trains again. Default 1,000.
    pub dedupe_min_training_records: usize,
    /// How to wait before retrying a retryable storage error ([`backoff`]: exponential
    /// with jitter, at most [`MAX_RETRIES`] retries). `None` retries at once (the library
    /// has no timer of its own); on tokio use `crm::tokio_retry_pause()`.
    pub retry_pause: Option<RetryPause>,
}

impl Default for CrmConfig {
    fn default() -> Self {
        Self {
            default_phone_region: None,
            external_mapping: None,
            dedupe_min_training_records: 1_000,
            retry_pause: None,
        }
    }
}

/// The CRM service over a store `S` (a concrete store or `dyn CrmStore`).
pub struct Crm<S: ?Sized> {
    store: Arc<S>,
    config: CrmConfig,
    duplicates: Arc<duplicates::DuplicateIndexes>,
}

impl<S: ?Sized> Clone for Crm<S> {
    fn clone(&self) -> Self {
        Self {
            store: Arc::clone(&self.store),
            config: self.config.clone(),
            duplicates: Arc::clone(&self.duplicates),
        }
    }
}

impl<S: CrmStore> Crm<S> {
    /// A service over `store` with default settings.
    pub fn new(store: S) -> Self {
        Self::from_arc(Arc::new(store))
    }
}

impl<S: CrmStore + ?Sized> Crm<S> {
    /// A service over a shared store.
    pub fn from_arc(store: Arc<S>) -> Self {
        Self {
            store,
            config: CrmConfig::default(),
            duplicates: Arc::default(),
        }
    }

    /// Replaces the settings.
    #[must_use]
    pub fn with_config(mut self, config: CrmConfig) -> Self {
        self.config = config;
        self
    }

    /// The per-tenant duplicate indexes.
    pub(crate) fn duplicate_indexes(&self) -> &duplicates::DuplicateIndexes {
        &self.duplicates
    }

    /// The settings.
    pub fn config(&self) -> &CrmConfig {
        &self.config
    }

    /// The underlying store. Reads and writes through it bypass the service: the store
    /// still fences tenants and runs the storage rules, but not the service's validation,
    /// events or visibility (another author's private note is returned in full). Use it for
    /// host-level maintenance, never to serve a user.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Applies a change set as it is, for the actor's tenant, retrying retryable storage
    /// failures up to [`MAX_RETRIES`] times. This is a way around the service's rules: the
    /// store fences the tenant and runs the storage rules, but nothing validates the
    /// records, completes links, checks state machines or emits events. Hosts use it to
    /// apply a change set a `plan_*` call returned (e.g. [`crate::Leads::plan_conversion`]) or for
    /// maintenance; everything else goes through the service's calls.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn apply_unchecked(&self, actor: &Actor, changes: ChangeSet) -> Result<Applied> {
        self.apply_raw(actor, changes).await
    }

    /// Applies a change set for the actor's tenant with its record events (see
    /// [`DomainEvent::RecordCreated`]) appended, retrying retryable storage failures up to
    /// [`MAX_RETRIES`] times: the service's own write path.
    pub(crate) async fn apply(&self, actor: &Actor, changes: ChangeSet) -> Result<Applied> {
        self.apply_known(actor, changes, Vec::new()).await
    }

    /// [`Crm::apply`] for a caller that has read the stored state of some rows it changes
    /// already: `known` spares the record events a second read of them.
    pub(crate) async fn apply_known(
        &self,
        actor: &Actor,
        changes: ChangeSet,
        known: Vec<crate::store::Record>,
    ) -> Result<Applied> {
        let changes = self.with_record_events(actor, changes, known, None).await?;
        self.apply_raw(actor, changes).await
    }

    /// [`Crm::apply`] for a change set that carries no time of its own (deletes only): its
    /// record events and audit entries are dated `now`.
    pub(crate) async fn apply_at(
        &self,
        actor: &Actor,
        changes: ChangeSet,
        now: DateTime<Utc>,
    ) -> Result<Applied> {
        let changes = self
            .with_record_events(actor, changes, Vec::new(), Some(now))
            .await?;
        self.apply_raw(actor, changes).await
    }

    /// Applies a change set as it is, retrying retryable storage failures.
    #[tracing::instrument(name = "crm.apply", level = "debug", skip_all, fields(tenant = %actor.tenant, changes = changes.changes.len(), attempts), err(level = "debug"))]
    async fn apply_raw(&self, actor: &Actor, changes: ChangeSet) -> Result<Applied> {
        let mut attempt = 0;
        loop {
            match self.store.apply(actor.tenant, changes.clone()).await {
                Err(e) if e.is_retryable() && attempt < MAX_RETRIES => {
                    let wait = backoff(
                        u32::try_from(attempt).unwrap_or(u32::MAX),
                        changes.changes.len() as u64,
                    );
                    tracing::debug!(attempt, error = %e, ?wait, "retrying a retryable storage error");
                    if let Some(p) = &self.config.retry_pause {
                        p.pause(wait).await;
                    }
                    attempt += 1
                }
                other => {
                    tracing::Span::current().record("attempts", attempt + 1);
                    return other;
                }
            }
        }
    }

    // ----- generic CRUD -------------------------------------------------------------

    /// Reads one entity; `NotFound` if it does not exist in the actor's tenant (or is a
    /// private note of another author).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn get<E: Entity>(&self, actor: &Actor, id: E::Id) -> Result<E>
    where
        S: EntityRead<E>,
    {
        self.find(actor, id)
            .await?
            .ok_or_else(|| CrmError::not_found(E::KIND, id))
    }

    /// Reads one entity if it exists (and is visible to the actor).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn find<E: Entity>(&self, actor: &Actor, id: E::Id) -> Result<Option<E>>
    where
        S: EntityRead<E>,
    {
        let found = EntityRead::<E>::get(&*self.store, actor.tenant, id).await?;
        let mut shown: Vec<E> = found.and_then(|e| redact(actor, e)).into_iter().collect();
        self.hide_audit_of_hidden_notes(actor, &mut shown).await?;
        Ok(shown.pop())
    }

    /// Lists entities of the actor's tenant (private notes of other authors are never
    /// returned).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn list<E: Entity>(&self, actor: &Actor, mut query: ListQuery<E>) -> Result<Page<E>>
    where
        S: EntityRead<E>,
    {
        restrict_filter(actor, &mut query.filter);
        let mut page = EntityRead::<E>::list(&*self.store, actor.tenant, &query).await?;
        page.items = page
            .items
            .into_iter()
            .filter_map(|e| redact(actor, e))
            .collect();
        self.hide_audit_of_hidden_notes(actor, &mut page.items)
            .await?;
        Ok(page)
    }

    /// Counts entities of the actor's tenant matching `filter`.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn count<E: Entity>(&self, actor: &Actor, mut filter: E::Filter) -> Result<u64>
    where
        S: EntityRead<E>,
    {
        if E::KIND == crate::store::EntityKind::AuditEntry {
            // Entries about a note made private later are hidden after the read: count
            // what `list` shows.
            return Ok(self.read_all::<E>(actor, filter, true).await?.len() as u64);
        }
        restrict_filter(actor, &mut filter);
        EntityRead::<E>::count(&*self.store, actor.tenant, &filter).await
    }

    /// Every entity matching `filter`, following pages (for bounded sets such as the
    /// contacts of one customer).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn list_all<E: Entity>(&self, actor: &Actor, filter: E::Filter) -> Result<Vec<E>>
    where
        S: EntityRead<E>,
    {
        self.read_all(actor, filter, true).await
    }

    /// Creates an entity after validating it and applying its rules (e.g. a new primary
    /// contact demotes the old one in the same change set). Returns what was stored.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn create<E: Entity>(
        &self,
        actor: &Actor,
        mut entity: E,
        now: DateTime<Utc>,
    ) -> Result<E>
    where
        S: EntityRead<E>,
    {
        entity.set_version(1);
        entity.touch(now);
        let record = entity.into_record();
        let mut attempt = 0;
        loop {
            let (stored, changes) = self.plan_write(actor, record.clone(), true, now).await?;
            match self.apply(actor, changes).await {
                // An insert never conflicts itself: a conflict comes from a side update
                // (e.g. a customer's last-contact date moved by a concurrent interaction).
                // Plan again from fresh reads.
                Err(CrmError::Conflict { .. }) if attempt < MAX_RETRIES => attempt += 1,
                Err(e) => return Err(e),
                Ok(_) => {
                    return E::from_record(stored).ok_or_else(|| {
                        CrmError::internal("a write returned another kind of record")
                    })
                }
            }
        }
    }

    /// Updates an entity; `entity.version` must be the version that was read, else
    /// `Conflict`, and `created_at` must be unchanged, else a `Validation` error on
    /// `created_at`. Returns the stored state (version + 1).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn update<E: Entity>(
        &self,
        actor: &Actor,
        mut entity: E,
        now: DateTime<Utc>,
    ) -> Result<E>
    where
        S: EntityRead<E>,
    {
        let before = self.check_update(actor, &entity).await?;
        entity.touch(now);
        let (stored, changes) = self
            .plan_write(actor, entity.into_record(), false, now)
            .await?;
        self.apply_known(actor, changes, vec![before.into_record()])
            .await?;
        E::from_record(stored)
            .ok_or_else(|| CrmError::internal("a write returned another kind of record"))
    }

    /// What every update checks before planning: the entity exists and is visible to the
    /// actor (else `NotFound`), and its `created_at` is the stored one (else a `Validation`
    /// error on `created_at`: the creation time is set when the record is created, and an
    /// update that moved it would reorder every list sorted by it).
    /// Returns the stored row as it is (not redacted: the before-image of the update).
    async fn check_update<E: Entity>(&self, actor: &Actor, entity: &E) -> Result<E>
    where
        S: EntityRead<E>,
    {
        // Visible to the actor as `find` would show it, but kept whole.
        let current = EntityRead::<E>::get(&*self.store, actor.tenant, entity.id())
            .await?
            .filter(|c| redact(actor, c.clone()).is_some())
            .ok_or_else(|| CrmError::not_found(E::KIND, entity.id()))?;
        // A version other than the stored one is stale, whatever its value (the store
        // checks again atomically; this answers early and never computes on it).
        if entity.version() != current.version() {
            return Err(CrmError::conflict(E::KIND, entity.id()));
        }
        if entity.created_at() != current.created_at() {
            return Err(CrmError::validation(
                "created_at",
                format!(
                    "is {} and cannot change (the update gave {})",
                    current.created_at(),
                    entity.created_at()
                ),
            ));
        }
        Ok(current)
    }

    /// Deletes an entity at `now`, guarded by the version the caller read (`None`: the version the
    /// service reads for the audit entry's before-image, so a concurrent update makes it a
    /// `Conflict` rather than deleting a row other than the one audited). Fails with `InUse`
    /// while other rows refer to it; see [`crate::Customers::delete`] for a cascading delete.
    /// Audit entries and merge records cannot be deleted (`Validation` on `kind`).
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn delete<E: Entity>(
        &self,
        actor: &Actor,
        id: E::Id,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<()>
    where
        S: EntityRead<E>,
    {
        if E::KIND == crate::store::EntityKind::AuditEntry {
            return Err(CrmError::validation(
                "kind",
                "audit entries are append-only: they cannot be deleted through the service",
            ));
        }
        // The undo log of merges: its stored before-images include other authors' private
        // notes, which a delete's audit entry would keep for everyone.
        if E::KIND == crate::store::EntityKind::MergeRecord {
            return Err(CrmError::validation(
                "kind",
                "merge records are written by merges().merge and merges().unmerge only",
            ));
        }
        if self.find::<E>(actor, id).await?.is_none() {
            return Err(CrmError::not_found(E::KIND, id));
        }
        self.apply_at(
            actor,
            ChangeSet::new().delete::<E>(id, expected_version),
            now,
        )
        .await
        .map(|_| ())
    }

    /// Updates an entity like [`Crm::update`] and appends `event` to the outbox in the
    /// same change set.
    pub(crate) async fn update_with_event<E: Entity>(
        &self,
        actor: &Actor,
        mut entity: E,
        event: DomainEvent,
        now: DateTime<Utc>,
    ) -> Result<E>
    where
        S: EntityRead<E>,
    {
        self.check_update(actor, &entity).await?;
        entity.touch(now);
        let (stored, mut changes) = self
            .plan_write(actor, entity.into_record(), false, now)
            .await?;
        changes.push_emit(NewEvent::new(stored.entity_ref(), now, event));
        self.apply(actor, changes).await?;
        E::from_record(stored)
            .ok_or_else(|| CrmError::internal("a write returned another kind of record"))
    }

    /// The tenant's settings: the saved ones, or the defaults (not saved) until
    /// [`Crm::save_tenant_settings`] is called.
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn tenant_settings(
        &self,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<TenantSettings> {
        let page = self
            .list::<TenantSettings>(actor, ListQuery::new().limit(1))
            .await?;
        Ok(page
            .items
            .into_iter()
            .next()
            .unwrap_or_else(|| TenantSettings::defaults(actor.tenant, now)))
    }

    /// Saves the tenant's settings (creates them the first time; afterwards `settings`
    /// must carry the version read, as every update).
    ///
    /// External mapping entries that are new or differ from the stored ones are checked
    /// against the tenant's pipelines (against [`Pipeline::standard`] while it has none),
    /// else a `Validation` error names the entry: each kind at most once per mapping
    /// (`external_mapping[i].kind`), each stage of `external_mapping[i].stage` an open stage
    /// of at least one pipeline, each `pipeline_external_mappings[i].pipeline` a pipeline of
    /// the tenant mapped once and its `mapping[j].stage` an open stage of that pipeline; a
    /// won target (`...target`) needs a won stage there. Entries left as they were are not
    /// checked again, so a later stage rename (or an entry saved before these checks) does
    /// not block saving other settings; [`crate::Deals::external_mapping_problems`] lists what
    /// cannot apply, and the event reports [`crate::UnchangedReason::StageNotFound`].
    #[tracing::instrument(level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn save_tenant_settings(
        &self,
        actor: &Actor,
        settings: TenantSettings,
        now: DateTime<Utc>,
    ) -> Result<TenantSettings> {
        self.check_external_mappings(actor, &settings, now).await?;
        if self
            .find::<TenantSettings>(actor, settings.id)
            .await?
            .is_some()
        {
            self.update(actor, settings, now).await
        } else {
            self.create(actor, settings, now).await
        }
    }

    // ----- customers ----------------------------------------------------------------

    /// Adds a version-guarded delete of every row matching `filter` (regardless of the
    /// actor's visibility) to `cs`.
    async fn delete_all<E: Entity>(
        &self,
        actor: &Actor,
        filter: E::Filter,
        cs: &mut ChangeSet,
    ) -> Result<()>
    where
        S: EntityRead<E>,
    {
        for e in self.read_all::<E>(actor, filter, false).await? {
            cs.push_delete::<E>(e.id(), Some(e.version()));
        }
        Ok(())
    }

    /// Every row matching `filter`, following pages; `restrict` applies the actor's
    /// visibility (private notes).
    async fn read_all<E: Entity>(
        &self,
        actor: &Actor,
        mut filter: E::Filter,
        restrict: bool,
    ) -> Result<Vec<E>>
    where
        S: EntityRead<E>,
    {
        if restrict {
            restrict_filter(actor, &mut filter);
        }
        let mut out = Vec::new();
        let mut query = ListQuery::<E>::filter(filter).limit(crate::store::MAX_PAGE_SIZE);
        loop {
            let page = EntityRead::<E>::list(&*self.store, actor.tenant, &query).await?;
            if restrict {
                let mut shown: Vec<E> = page
                    .items
                    .into_iter()
                    .filter_map(|e| redact(actor, e))
                    .collect();
                self.hide_audit_of_hidden_notes(actor, &mut shown).await?;
                out.extend(shown);
            } else {
                out.extend(page.items);
            }
            match page.next {
                Some(c) => query.after = Some(c),
                None => return Ok(out),
            }
        }
    }

    // ----- primaries ----------------------------------------------------------------

    // ----- tags ---------------------------------------------------------------------

    async fn assignment(
        &self,
        actor: &Actor,
        tag: TagId,
        target: EntityRef,
    ) -> Result<Option<TagAssignment>> {
        let page = self
            .list::<TagAssignment>(
                actor,
                ListQuery::filter(TagAssignmentFilter {
                    tag_id: Some(tag),
                    target: Some(target),
                    ..Default::default()
                })
                .limit(1),
            )
            .await?;
        Ok(page.items.into_iter().next())
    }
}

/// The entity as the actor may see it, or `None` when it is hidden from them: a private
/// note is its author's only, and a [`MergeRecord`] shows only the before-images the actor
/// could read themselves ([`MergeRecord::redact_for`]). Every read path of the service
/// goes through this (or [`restrict_filter`]), so nothing hidden by `get::<Note>` is seen
/// through another entity.
pub(crate) fn redact<E: Entity>(actor: &Actor, mut e: E) -> Option<E> {
    let any = &mut e as &mut dyn Any;
    if let Some(n) = any.downcast_mut::<Note>() {
        return n.visible_to(actor.user).then_some(e);
    }
    if let Some(m) = any.downcast_mut::<MergeRecord>() {
        m.redact_for(actor.user);
    }
    if let Some(a) = any.downcast_mut::<AuditEntry>() {
        return a.visible_to(actor.user).then_some(e);
    }
    Some(e)
}

/// Narrows a filter to what the actor may see.
fn restrict_filter<F: Any>(actor: &Actor, filter: &mut F) {
    let any = filter as &mut dyn Any;
    if let Some(f) = any.downcast_mut::<NoteFilter>() {
        f.visible_to = Some(actor.user);
    }
    if let Some(f) = any.downcast_mut::<AuditEntryFilter>() {
        f.visible_to = Some(actor.user);
    }
}
