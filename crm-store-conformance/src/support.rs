//! Helpers shared by the scenarios: fixed clocks, fixtures, typed read/write shortcuts,
//! "list everything" with cursors, sort oracles and error assertions.
//!
//! Everything here panics on unexpected outcomes; it is test code.

use std::collections::HashSet;
use std::fmt::Debug;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use crm_core::store::{
    Applied, ChangeSet, CrmStore, Entity, EntityKind, EntityRead, EntityRef, SortKey, SortValue,
};
use crm_core::*;
use uuid::Uuid;

/// The store handle every scenario receives.
pub type Store = Arc<dyn CrmStore>;

/// A fixed base time (2024-01-01T00:00:00Z), so scenarios control every timestamp.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0)
        .single()
        .expect("valid base time")
}

/// [`t0`] plus `secs` seconds.
pub fn at(secs: i64) -> DateTime<Utc> {
    t0() + Duration::seconds(secs)
}

/// A calendar date `days` days after 2024-01-01.
pub fn day(days: i64) -> NaiveDate {
    t0().date_naive() + Duration::days(days)
}

/// EUR money of `minor` cents.
pub fn eur(minor: i64) -> Money {
    Money::new(minor, "EUR").expect("EUR is a currency")
}

// ---------------------------------------------------------------------------------------
// Reads and writes
// ---------------------------------------------------------------------------------------

/// Reads one entity, panicking on a store error.
pub async fn get<E: Entity>(store: &Store, tenant: TenantId, id: E::Id) -> Option<E>
where
    dyn CrmStore: EntityRead<E>,
{
    <dyn CrmStore as EntityRead<E>>::get(&**store, tenant, id)
        .await
        .unwrap_or_else(|e| panic!("get {} {id} failed: {e}", E::KIND))
}

/// Counts the tenant's entities matching `filter`, panicking on a store error.
pub async fn count<E: Entity>(store: &Store, tenant: TenantId, filter: &E::Filter) -> u64
where
    dyn CrmStore: EntityRead<E>,
{
    <dyn CrmStore as EntityRead<E>>::count(&**store, tenant, filter)
        .await
        .unwrap_or_else(|e| panic!("count {} failed: {e}", E::KIND))
}

/// Lists one page, returning the raw result.
pub async fn list_page<E: Entity>(
    store: &Store,
    tenant: TenantId,
    query: &ListQuery<E>,
) -> Result<Page<E>>
where
    dyn CrmStore: EntityRead<E>,
{
    <dyn CrmStore as EntityRead<E>>::list(&**store, tenant, query).await
}

/// Lists every matching row by following cursors with pages of `page_size`, checking that
/// no page is larger than asked and that only the last page lacks a cursor.
pub async fn list_all<E: Entity>(
    store: &Store,
    tenant: TenantId,
    filter: E::Filter,
    sort: E::Sort,
    direction: Direction,
    page_size: u32,
) -> Vec<E>
where
    dyn CrmStore: EntityRead<E>,
{
    let mut out = Vec::new();
    let mut after = None;
    for _ in 0..100_000 {
        let q = ListQuery::<E>::filter(filter.clone())
            .sorted(sort, direction)
            .limit(page_size)
            .after(after.clone());
        let page = list_page(store, tenant, &q)
            .await
            .unwrap_or_else(|e| panic!("list {} failed: {e}", E::KIND));
        assert!(
            page.items.len() <= page_size as usize,
            "list {} returned {} rows for limit {page_size}",
            E::KIND,
            page.items.len()
        );
        let done = page.next.is_none();
        if !done {
            assert!(
                !page.items.is_empty(),
                "list {} returned an empty page with a next cursor",
                E::KIND
            );
        }
        out.extend(page.items);
        if done {
            return out;
        }
        after = page.next;
    }
    panic!("list {} did not terminate", E::KIND);
}

/// Lists every matching row in the default order with the maximum page size.
pub async fn list_default<E: Entity>(store: &Store, tenant: TenantId, filter: E::Filter) -> Vec<E>
where
    dyn CrmStore: EntityRead<E>,
{
    list_all(
        store,
        tenant,
        filter,
        E::Sort::default(),
        Direction::Asc,
        crm_core::store::MAX_PAGE_SIZE,
    )
    .await
}

/// Applies `changes`, panicking with `what` on failure.
pub async fn apply_ok(store: &Store, tenant: TenantId, changes: ChangeSet, what: &str) -> Applied {
    let n = changes.len();
    let applied = store
        .apply(tenant, changes)
        .await
        .unwrap_or_else(|e| panic!("{what}: apply failed: {e}"));
    assert_eq!(applied.changes, n, "{what}: Applied.changes");
    applied
}

/// Inserts one entity and returns it unchanged.
pub async fn insert<E: Entity>(store: &Store, tenant: TenantId, entity: E) -> E {
    let what = format!("insert {} {}", E::KIND, entity.id());
    apply_ok(
        store,
        tenant,
        ChangeSet::new().insert(entity.clone()),
        &what,
    )
    .await;
    entity
}

/// Inserts several entities of one kind in one change set and returns them.
pub async fn insert_all<E: Entity>(store: &Store, tenant: TenantId, entities: Vec<E>) -> Vec<E> {
    let mut cs = ChangeSet::new();
    for e in &entities {
        cs.push_insert(e.clone());
    }
    apply_ok(store, tenant, cs, &format!("insert {} rows", E::KIND)).await;
    entities
}

/// Updates `entity` (carrying the version read) and returns the stored state (version + 1).
pub async fn update<E: Entity>(store: &Store, tenant: TenantId, entity: E) -> E {
    let what = format!("update {} {}", E::KIND, entity.id());
    let mut next = entity.clone();
    next.set_version(entity.version() + 1);
    apply_ok(store, tenant, ChangeSet::new().update(entity), &what).await;
    next
}

/// The ids of `rows` as UUIDs, in order.
pub fn uuids<E: Entity>(rows: &[E]) -> Vec<Uuid> {
    rows.iter().map(|e| e.id().into()).collect()
}

/// `ids` as UUIDs, in order.
pub fn id_uuids<I: Into<Uuid> + Copy>(ids: &[I]) -> Vec<Uuid> {
    ids.iter().map(|i| (*i).into()).collect()
}

/// A reference to `entity`.
pub fn eref<E: Entity>(entity: &E) -> EntityRef {
    EntityRef::new(E::KIND, entity.id().into())
}

// ---------------------------------------------------------------------------------------
// Filter and sort oracles
// ---------------------------------------------------------------------------------------

/// Checks that `filter` selects exactly `expected` (in any order) through `list` (with a
/// large and a small page size) and through `count`.
pub async fn assert_selects<E: Entity>(
    store: &Store,
    tenant: TenantId,
    filter: E::Filter,
    expected: &[E::Id],
    what: &str,
) where
    dyn CrmStore: EntityRead<E>,
{
    let mut want = id_uuids(expected);
    want.sort();
    for page in [crm_core::store::MAX_PAGE_SIZE, 2] {
        let rows = list_all::<E>(
            store,
            tenant,
            filter.clone(),
            E::Sort::default(),
            Direction::Asc,
            page,
        )
        .await;
        let mut got = uuids(&rows);
        got.sort();
        assert_eq!(
            got,
            want,
            "{} filter {what} ({filter:?}) with page size {page}",
            E::KIND
        );
    }
    let n = count::<E>(store, tenant, &filter).await;
    assert_eq!(
        n,
        expected.len() as u64,
        "{} count for filter {what} ({filter:?})",
        E::KIND
    );
}

/// The ids of `rows` in the order a store must list them for `sort` and `direction`:
/// by sort value, ties by id, both in the direction; `Null` is greatest.
pub fn expected_order<E: Entity>(rows: &[E], sort: E::Sort, direction: Direction) -> Vec<Uuid> {
    let mut keyed: Vec<(SortValue, Uuid)> = rows
        .iter()
        .map(|e| (sort.value(e), e.id().into()))
        .collect();
    keyed.sort();
    if direction == Direction::Desc {
        keyed.reverse();
    }
    keyed.into_iter().map(|(_, id)| id).collect()
}

/// Checks that listing the tenant's rows matching `filter` (expected to be exactly
/// `rows`) in every given sort, both directions, and with page sizes 1000, 3 and 1, yields
/// [`expected_order`].
pub async fn assert_sorts<E: Entity>(
    store: &Store,
    tenant: TenantId,
    filter: E::Filter,
    rows: &[E],
    sorts: &[E::Sort],
) where
    dyn CrmStore: EntityRead<E>,
{
    for &sort in sorts {
        for direction in [Direction::Asc, Direction::Desc] {
            let want = expected_order(rows, sort, direction);
            for page in [crm_core::store::MAX_PAGE_SIZE, 3, 1] {
                let got = uuids(
                    &list_all::<E>(store, tenant, filter.clone(), sort, direction, page).await,
                );
                assert_eq!(
                    got,
                    want,
                    "{} sorted by {} {direction:?}, page size {page}",
                    E::KIND,
                    sort.name()
                );
            }
        }
    }
}

/// Lists all rows in `sort`/`direction` and returns the ids (one big page).
pub async fn sorted_ids<E: Entity>(
    store: &Store,
    tenant: TenantId,
    filter: E::Filter,
    sort: E::Sort,
    direction: Direction,
) -> Vec<Uuid>
where
    dyn CrmStore: EntityRead<E>,
{
    uuids(
        &list_all::<E>(
            store,
            tenant,
            filter,
            sort,
            direction,
            crm_core::store::MAX_PAGE_SIZE,
        )
        .await,
    )
}

/// Panics if `ids` contains a duplicate.
#[track_caller]
pub fn assert_unique(ids: &[Uuid], what: &str) {
    let mut seen = HashSet::new();
    for id in ids {
        assert!(seen.insert(*id), "{what}: {id} listed twice");
    }
}

// ---------------------------------------------------------------------------------------
// Error assertions
// ---------------------------------------------------------------------------------------

/// Panics unless `r` failed with [`CrmError::Validation`] naming exactly `field`.
#[track_caller]
pub fn assert_validation<T: Debug>(r: Result<T>, field: &str) {
    match r {
        Err(CrmError::Validation { field: f, .. }) if f == field => {}
        other => panic!("expected Validation on field {field:?}, got {other:?}"),
    }
}

/// Panics unless `r` failed with [`CrmError::NotFound`] for `entity` (its kind name) with
/// `id`.
#[track_caller]
pub fn assert_not_found_of<T: Debug>(r: Result<T>, entity: &str, id: impl std::fmt::Display) {
    let id = id.to_string();
    match r {
        Err(CrmError::NotFound { entity: e, id: i }) if e.name() == entity && i == id => {}
        other => panic!("expected NotFound of {entity} {id}, got {other:?}"),
    }
}

/// Panics unless `r` failed with [`CrmError::Validation`] (any field).
#[track_caller]
pub fn assert_any_validation<T: Debug>(r: Result<T>) {
    match r {
        Err(CrmError::Validation { .. }) => {}
        other => panic!("expected Validation, got {other:?}"),
    }
}

/// Panics unless `r` failed with [`CrmError::NotFound`].
#[track_caller]
pub fn assert_not_found<T: Debug>(r: Result<T>) {
    match r {
        Err(CrmError::NotFound { .. }) => {}
        other => panic!("expected NotFound, got {other:?}"),
    }
}

/// Panics unless `r` failed with [`CrmError::Conflict`].
#[track_caller]
pub fn assert_conflict<T: Debug>(r: Result<T>) {
    match r {
        Err(CrmError::Conflict { .. }) => {}
        other => panic!("expected Conflict, got {other:?}"),
    }
}

/// Panics unless `r` failed with [`CrmError::AlreadyExists`].
#[track_caller]
pub fn assert_already_exists<T: Debug>(r: Result<T>) {
    match r {
        Err(CrmError::AlreadyExists { .. }) => {}
        other => panic!("expected AlreadyExists, got {other:?}"),
    }
}

/// Panics unless `r` failed with [`CrmError::AlreadyExists`] on `entity` naming exactly the
/// unique key `key` (one of [`crm_core::store::keys`]).
#[track_caller]
pub fn assert_already_exists_key<T: Debug>(r: Result<T>, entity: &str, key: &str) {
    match r {
        Err(CrmError::AlreadyExists { entity: e, key: k }) if e.name() == entity && k == key => {}
        other => panic!("expected AlreadyExists {{ entity: {entity}, key: {key} }}, got {other:?}"),
    }
}

/// Panics unless `r` failed with [`CrmError::InUse`].
#[track_caller]
pub fn assert_in_use<T: Debug>(r: Result<T>) {
    match r {
        Err(CrmError::InUse { .. }) => {}
        other => panic!("expected InUse, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// Fixtures (built, not inserted)
// ---------------------------------------------------------------------------------------

/// A company customer created at [`t0`].
pub fn company(tenant: TenantId, name: &str) -> Customer {
    Customer::company(tenant, name, t0()).expect("valid company")
}

/// A person customer created at [`t0`].
pub fn person(tenant: TenantId, first: &str, last: &str) -> Customer {
    Customer::person(tenant, first, last, t0()).expect("valid person")
}

/// A contact of `customer` created at [`t0`].
pub fn contact(tenant: TenantId, customer: CustomerId, first: &str, last: &str) -> Contact {
    Contact::new(tenant, customer, first, last, t0()).expect("valid contact")
}

/// An e-mail contact point of `customer` (or of its `contact`).
pub fn email_point(
    tenant: TenantId,
    customer: CustomerId,
    contact: Option<ContactId>,
    address: &str,
) -> ContactPoint {
    ContactPoint::new(
        tenant,
        customer,
        contact,
        ContactPointKind::Email,
        address,
        None,
        t0(),
    )
    .expect("valid e-mail point")
}

/// A phone contact point of `kind` read in `region`.
pub fn phone_point(
    tenant: TenantId,
    customer: CustomerId,
    contact: Option<ContactId>,
    kind: ContactPointKind,
    number: &str,
    region: Option<&str>,
) -> ContactPoint {
    ContactPoint::new(tenant, customer, contact, kind, number, region, t0())
        .expect("valid phone point")
}

/// A location of `customer` in `city` (street "Main St 1").
pub fn location(tenant: TenantId, customer: CustomerId, city: &str) -> Location {
    Location::new(
        tenant,
        customer,
        AddressParts {
            line1: Some("Main St 1"),
            postal_code: Some("10115"),
            city: Some(city),
            country: Some("DE"),
        },
        t0(),
    )
    .expect("valid location")
}

/// A lead for a person named `first last`.
pub fn lead(tenant: TenantId, first: &str, last: &str) -> Lead {
    Lead::person(tenant, first, last, None, t0()).expect("valid lead")
}

/// A pipeline named `name` with stages Open A (10), Open B (50), Won, Lost.
pub fn pipeline(tenant: TenantId, name: &str) -> Pipeline {
    let stages = vec![
        Stage::open("Open A", 10).expect("stage"),
        Stage::open("Open B", 50).expect("stage"),
        Stage::won("Won"),
        Stage::lost("Lost"),
    ];
    Pipeline::new(tenant, name, stages, t0()).expect("valid pipeline")
}

/// An open deal in the first stage of `pipeline`.
pub fn deal(tenant: TenantId, pipeline: &Pipeline, name: &str, amount_minor: i64) -> Deal {
    let stage = pipeline.stages[0].id;
    Deal::new(tenant, name, pipeline, stage, eur(amount_minor), t0()).expect("valid deal")
}

/// The creation record of `deal`.
pub fn stage_change(deal: &Deal, at_time: DateTime<Utc>) -> StageChange {
    StageChange::record(deal, None, None, None, at_time)
}

/// A pending task about `links`.
pub fn activity(tenant: TenantId, links: Links, subject: &str) -> Activity {
    Activity::new(tenant, ActivityKind::Task, subject, links, t0()).expect("valid activity")
}

/// An inbound phone interaction about `links` at `occurred`.
pub fn interaction(tenant: TenantId, links: Links, occurred: DateTime<Utc>) -> Interaction {
    Interaction::new(
        tenant,
        Logged {
            channel: Channel::Phone,
            direction: InteractionDirection::Inbound,
            links,
            occurred_at: occurred,
        },
        t0(),
    )
    .expect("valid interaction")
}

/// A public note about `links`.
pub fn note(tenant: TenantId, author: UserId, links: Links, body: &str) -> Note {
    Note::new(tenant, author, body, links, t0()).expect("valid note")
}

/// A tag named `name`.
pub fn tag(tenant: TenantId, name: &str) -> Tag {
    Tag::new(tenant, name, Some("#aabbcc"), t0()).expect("valid tag")
}

/// An assignment of `tag` to `target`.
pub fn tag_assignment(tenant: TenantId, tag: TagId, target: EntityRef) -> TagAssignment {
    TagAssignment::new(tenant, tag, target, t0()).expect("valid assignment")
}

/// A pending follow-up about `links` due at `due`.
pub fn follow_up(tenant: TenantId, links: Links, title: &str, due: DateTime<Utc>) -> FollowUp {
    FollowUp::new(
        tenant,
        Due {
            title,
            due_at: due,
            links,
        },
        t0(),
    )
    .expect("valid follow-up")
}

/// A device owned by `customer`.
pub fn owned_item(tenant: TenantId, customer: CustomerId, name: &str) -> OwnedItem {
    OwnedItem::new(tenant, customer, OwnedItemKind::Device, name, t0()).expect("valid item")
}

/// A PDF attachment about `links`.
pub fn attachment(tenant: TenantId, links: Links, file_name: &str, size: u64) -> Attachment {
    Attachment::new(
        tenant,
        file_name,
        size,
        "application/pdf",
        &format!("files/{file_name}"),
        links,
        t0(),
    )
    .expect("valid attachment")
}

/// One row of every entity kind in one tenant, all linked to one customer.
#[derive(Debug, Clone)]
pub struct Graph {
    /// The tenant.
    pub tenant: TenantId,
    /// The customer everything hangs off.
    pub customer: Customer,
    /// A contact of the customer.
    pub contact: Contact,
    /// An e-mail of the contact.
    pub contact_point: ContactPoint,
    /// An address of the customer.
    pub location: Location,
    /// The customer's consent record.
    pub consent: Consent,
    /// A lead.
    pub lead: Lead,
    /// A pipeline.
    pub pipeline: Pipeline,
    /// A deal of the customer.
    pub deal: Deal,
    /// The deal's creation record.
    pub stage_change: StageChange,
    /// A task about the customer.
    pub activity: Activity,
    /// A call with the contact.
    pub interaction: Interaction,
    /// A note on the deal.
    pub note: Note,
    /// A tag.
    pub tag: Tag,
    /// The tag on the customer.
    pub tag_assignment: TagAssignment,
    /// A follow-up on the lead.
    pub follow_up: FollowUp,
    /// A device of the customer.
    pub owned_item: OwnedItem,
    /// A file on the customer.
    pub attachment: Attachment,
    /// The tenant's settings.
    pub tenant_settings: TenantSettings,
    /// A merge into the customer (of a customer that no longer exists).
    pub merge_record: MergeRecord,
    /// The audit entry of the customer's creation.
    pub audit_entry: AuditEntry,
}

impl Graph {
    /// Builds the rows (not inserted).
    pub fn build(tenant: TenantId) -> Self {
        let customer = company(tenant, "Graph Corp");
        let contact = contact(tenant, customer.id, "Gina", "Graph");
        let contact_point =
            email_point(tenant, customer.id, Some(contact.id), "gina@graph.example");
        let location = location(tenant, customer.id, "Berlin");
        let consent = Consent::new(tenant, customer.id, None, t0());
        let lead = lead(tenant, "Larry", "Lead");
        let pipeline = pipeline(tenant, "Graph Pipeline");
        let mut deal = deal(tenant, &pipeline, "Graph Deal", 10_000);
        deal.customer_id = Some(customer.id);
        deal.contact_id = Some(contact.id);
        let stage_change = stage_change(&deal, t0());
        let activity = activity(tenant, Links::customer(customer.id), "Call Gina");
        let mut links = Links::customer(customer.id);
        links.contact_id = Some(contact.id);
        let interaction = interaction(tenant, links, at(10));
        let note = note(tenant, UserId::new(), Links::deal(deal.id), "Graph note");
        let tag = tag(tenant, "graph");
        let tag_assignment = tag_assignment(tenant, tag.id, eref(&customer));
        let follow_up = follow_up(tenant, Links::lead(lead.id), "Chase Larry", at(3600));
        let owned_item = owned_item(tenant, customer.id, "Graph Device");
        let attachment = attachment(tenant, Links::customer(customer.id), "graph.pdf", 1024);
        let mut tenant_settings = TenantSettings::defaults(tenant, t0());
        tenant_settings.lost_reasons = vec!["Price".into()];
        let gone = company(tenant, "Graph Duplicate");
        let merge_record = MergeRecord {
            id: MergeId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: t0(),
            updated_at: t0(),
            kind: EntityKind::Customer,
            survivor: customer.id.into(),
            merged: vec![gone.id.into()],
            merged_by: None,
            touched: vec![MergeTouch {
                action: MergeAction::Deleted,
                before: gone.into_record(),
                version_after: None,
            }],
            undone_at: None,
            undone_by: None,
        };
        let audit_entry = AuditEntry {
            id: AuditId::new(),
            tenant_id: tenant,
            version: 1,
            created_at: t0(),
            updated_at: t0(),
            actor: UserId::new(),
            record: eref(&customer),
            operation: AuditOperation::Created,
            changes: Vec::new(),
            private_to: None,
        };
        Self {
            tenant,
            customer,
            contact,
            contact_point,
            location,
            consent,
            lead,
            pipeline,
            deal,
            stage_change,
            activity,
            interaction,
            note,
            tag,
            tag_assignment,
            follow_up,
            owned_item,
            attachment,
            tenant_settings,
            merge_record,
            audit_entry,
        }
    }

    /// The change set inserting every row, parents first.
    pub fn change_set(&self) -> ChangeSet {
        ChangeSet::new()
            .insert(self.customer.clone())
            .insert(self.contact.clone())
            .insert(self.contact_point.clone())
            .insert(self.location.clone())
            .insert(self.consent.clone())
            .insert(self.lead.clone())
            .insert(self.pipeline.clone())
            .insert(self.deal.clone())
            .insert(self.stage_change.clone())
            .insert(self.activity.clone())
            .insert(self.interaction.clone())
            .insert(self.note.clone())
            .insert(self.tag.clone())
            .insert(self.tag_assignment.clone())
            .insert(self.follow_up.clone())
            .insert(self.owned_item.clone())
            .insert(self.attachment.clone())
            .insert(self.tenant_settings.clone())
            .insert(self.merge_record.clone())
            .insert(self.audit_entry.clone())
    }

    /// Builds and inserts the rows in one change set.
    pub async fn seed(store: &Store, tenant: TenantId) -> Self {
        let g = Self::build(tenant);
        apply_ok(store, tenant, g.change_set(), "seed graph").await;
        g
    }

    /// References to every row, one per kind.
    pub fn refs(&self) -> Vec<EntityRef> {
        vec![
            eref(&self.customer),
            eref(&self.contact),
            eref(&self.contact_point),
            eref(&self.location),
            eref(&self.consent),
            eref(&self.lead),
            eref(&self.pipeline),
            eref(&self.deal),
            eref(&self.stage_change),
            eref(&self.activity),
            eref(&self.interaction),
            eref(&self.note),
            eref(&self.tag),
            eref(&self.tag_assignment),
            eref(&self.follow_up),
            eref(&self.owned_item),
            eref(&self.attachment),
            eref(&self.tenant_settings),
            eref(&self.merge_record),
            eref(&self.audit_entry),
        ]
    }
}

/// Every entity kind appears once in [`Graph::refs`]; this checks the suite covers them all.
pub fn covers_all_kinds(refs: &[EntityRef]) -> bool {
    let kinds: HashSet<EntityKind> = refs.iter().map(|r| r.kind).collect();
    EntityKind::ALL.iter().all(|k| kinds.contains(k))
}

/// Runs `$body` once per entity kind, with `$ty` naming the entity type and `$field!(g)`
/// selecting that kind's row of a [`Graph`] `g`.
macro_rules! for_every_kind {
    (|$ty:ident, $field:ident| $body:block) => {{
        ::crm_core::for_each_entity!(for_every_kind, @each $ty $field $body)
    }};
    ([@each $ty:ident $field:ident $body:block] $($t:ident => $f:ident),* $(,)?) => {{
        $(for_every_kind!(@one $ty $field $body; $t $f);)*
    }};
    (@one $ty:ident $field:ident $body:block; $t:ident $f:ident) => {{
        #[allow(non_camel_case_types, dead_code)]
        type $ty = ::crm_core::$t;
        macro_rules! $field {
            ($g:expr) => {
                $g.$f
            };
        }
        $body
    }};
}
pub(crate) use for_every_kind;
