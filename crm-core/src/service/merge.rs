//! Merging duplicate customers into a survivor, and undoing a merge.
//!
//! A merge is one atomic change set: the survivor gets its fields by per-field survivorship
//! rules; every related row of the merged customers (contacts, contact points, locations,
//! consents, leads, deals, stage changes, activities, interactions, notes, follow-ups,
//! owned items, attachments, tag assignments) is re-pointed to the survivor, with equal
//! tags and equal customer-level contact points collapsed and consents combined (the most
//! restrictive flags win); the merged customers are deleted; and a [`MergeRecord`] keeps the
//! before-image of every row touched, from which [`crate::Merges::unmerge`] restores them.
//!
//! Segments are rule-based (their members are computed from the rules), so a merge changes
//! segment membership through the survivor's data; there are no stored memberships to move.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::{Crm, MAX_RETRIES};
use crate::error::{CrmError, Result};
use crate::id::{Actor, CustomerId, LocationId, MergeId, TagId};
use crate::model::*;
use crate::store::{Change, ChangeSet, CrmStore, DomainEvent, Entity, EntityKind, EntityRef};

/// Most customers one merge takes (the survivor included): a merge reads and rewrites every
/// related row of each and records all their before-images in one change set, so its size
/// is bounded like any other input.
pub const MAX_MERGE_RECORDS: usize = 50;

/// How the surviving record of a merge is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SurvivorRule {
    /// This customer (must be one of the merged ones).
    Given(CustomerId),
    /// The customer with the most non-empty fields (ties: the oldest).
    #[default]
    MostComplete,
    /// The customer with the most recent contact (`last_contact_at`, then `updated_at`).
    MostRecentActivity,
    /// The customer created first.
    Oldest,
}

/// A caller-supplied survivorship rule: given the field's values (survivor first, then the
/// merged records in the order given), returns the merged value. `Value::Null` clears it.
pub type CustomFieldRule = Arc<dyn Fn(&FieldCandidates<'_>) -> Value + Send + Sync>;

/// The values one field has across the records of a merge, for a [`CustomFieldRule`].
#[derive(Debug)]
pub struct FieldCandidates<'a> {
    /// The field's name (its JSON name in [`Customer`]).
    pub field: &'a str,
    /// `(customer, value)`, survivor first.
    pub values: Vec<(&'a Customer, &'a Value)>,
}

/// How one field of the survivor is chosen from the merged records.
#[derive(Clone, Default)]
pub enum FieldRule {
    /// The survivor's value, even when empty.
    SurvivorWins,
    /// The survivor's value; if it is empty, the most recently updated non-empty value.
    #[default]
    SurvivorThenMostRecent,
    /// The non-empty value of the most recently updated record.
    MostRecentNonEmpty,
    /// The non-empty value of the record with the most non-empty fields.
    MostComplete,
    /// The longest non-empty value (by its text).
    Longest,
    /// A custom closure.
    Custom(CustomFieldRule),
}

impl fmt::Debug for FieldRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldRule::SurvivorWins => f.write_str("SurvivorWins"),
            FieldRule::SurvivorThenMostRecent => f.write_str("SurvivorThenMostRecent"),
            FieldRule::MostRecentNonEmpty => f.write_str("MostRecentNonEmpty"),
            FieldRule::MostComplete => f.write_str("MostComplete"),
            FieldRule::Longest => f.write_str("Longest"),
            FieldRule::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// Options of a customer merge.
#[derive(Debug, Clone, Default)]
pub struct MergeOptions {
    /// How the survivor is chosen.
    pub survivor: SurvivorRule,
    /// Rules for named fields (JSON names of [`Customer`], e.g. `"industry"`); unnamed
    /// fields use `default_rule`, except `first_contact_at` (earliest), `last_contact_at`
    /// (latest), `custom_fields` (union by key, survivor first; lists under one key are
    /// united) and list-valued fields (united, survivor's items first) unless named here.
    /// The survivor's primary address is the most complete address of all the merged
    /// customers, taken as a whole.
    pub fields: BTreeMap<String, FieldRule>,
    /// The rule for fields not named in `fields`.
    pub default_rule: FieldRule,
    /// Called before each merged customer's rows are planned; answering
    /// [`super::Control::Cancel`] stops the merge with `Cancelled` (nothing is written).
    pub progress: Option<super::ProgressCallback>,
}

/// What a merge does (or did) to one related row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MoveAction {
    /// Re-pointed from a merged customer to the survivor.
    Repointed,
    /// Deleted because the survivor already has an equal row (`into`).
    Collapsed {
        /// The survivor's equal row.
        into: EntityRef,
    },
    /// A merged customer itself, deleted.
    Removed,
}

/// One row moved by a merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MergeMove {
    /// The row.
    pub row: EntityRef,
    /// The merged customer it belonged to.
    pub from: CustomerId,
    /// What happens to it.
    pub action: MoveAction,
}

/// The result of planning (or performing) a merge.
#[derive(Debug, Clone)]
pub struct MergeOutcome {
    /// The survivor as it is (or would be) after the merge.
    pub survivor: Customer,
    /// The customers merged into it.
    pub merged: Vec<CustomerId>,
    /// Every related row moved, collapsed or removed.
    pub moves: Vec<MergeMove>,
    /// The merge record (written unless this was a dry run).
    pub record: MergeRecord,
    /// Whether anything was written.
    pub dry_run: bool,
}

impl MergeOutcome {
    /// The outcome as `actor` may see it: the merge record's before-images and the moves of
    /// rows hidden from the actor (private notes of other authors) are left out.
    fn redacted_for(mut self, actor: &Actor) -> Self {
        let hidden: HashSet<EntityRef> = self
            .record
            .touched
            .iter()
            .filter(|t| !t.visible_to(actor.user))
            .map(|t| t.before.entity_ref())
            .collect();
        self.moves.retain(|m| !hidden.contains(&m.row));
        self.record.redact_for(actor.user);
        self
    }
}

/// A planned merge: the outcome and the change set that performs it.
struct Plan {
    outcome: MergeOutcome,
    changes: ChangeSet,
}

/// Fields a merge never takes from another record.
const PROTECTED: &[&str] = &["id", "tenant_id", "version", "created_at", "updated_at"];

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn to_object(c: &Customer) -> Result<Map<String, Value>> {
    match serde_json::to_value(c) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(CrmError::internal("a customer is not a JSON object")),
        Err(e) => Err(CrmError::internal(format!("cannot encode a customer: {e}"))),
    }
}

/// Number of non-empty fields of a customer (its completeness).
fn completeness(obj: &Map<String, Value>) -> usize {
    obj.iter()
        .filter(|(k, v)| !PROTECTED.contains(&k.as_str()) && !is_empty(v))
        .count()
}

fn choose_survivor(customers: &[Customer], rule: SurvivorRule) -> Result<usize> {
    use std::cmp::Reverse;
    let indexes = 0..customers.len();
    Ok(match rule {
        SurvivorRule::Given(id) => {
            Some(customers.iter().position(|c| c.id == id).ok_or_else(|| {
                CrmError::validation("survivor", "must be one of the customers being merged")
            })?)
        }
        SurvivorRule::Oldest => indexes.max_by_key(|&i| Reverse(customers[i].created_at)),
        SurvivorRule::MostRecentActivity => indexes.max_by_key(|&i| {
            let c = &customers[i];
            (c.last_contact_at.unwrap_or(c.updated_at), c.updated_at)
        }),
        SurvivorRule::MostComplete => {
            let complete: Vec<usize> = customers
                .iter()
                .map(|c| to_object(c).map(|o| completeness(&o)))
                .collect::<Result<_>>()?;
            // Reversed, so the first of equally complete (and equally old) ones wins.
            indexes
                .rev()
                .max_by_key(|&i| (complete[i], Reverse(customers[i].created_at)))
        }
    }
    .unwrap_or(0))
}

/// The survivor's fields after applying the rules; `order` is survivor first.
fn merge_fields(order: &[&Customer], opts: &MergeOptions) -> Result<Customer> {
    let objects: Vec<Map<String, Value>> =
        order.iter().map(|c| to_object(c)).collect::<Result<_>>()?;
    let survivor = &objects[0];
    for name in opts.fields.keys() {
        if PROTECTED.contains(&name.as_str()) {
            return Err(CrmError::validation(
                format!("fields.{name}"),
                "cannot be merged (identity and bookkeeping fields are the survivor's)",
            ));
        }
        if !survivor.contains_key(name) {
            return Err(CrmError::validation(
                format!("fields.{name}"),
                "no such customer field",
            ));
        }
    }
    let complete: Vec<usize> = objects.iter().map(completeness).collect();
    // Most recently updated first (stable: survivor first among equals).
    let mut recent: Vec<usize> = (0..order.len()).collect();
    recent.sort_by_key(|&i| std::cmp::Reverse(order[i].updated_at));
    let mut out = survivor.clone();
    for (field, own) in survivor {
        if PROTECTED.contains(&field.as_str()) {
            continue;
        }
        let values: Vec<&Value> = objects
            .iter()
            .map(|o| o.get(field).unwrap_or(&Value::Null))
            .collect();
        let first_non_empty = |idx: &mut dyn Iterator<Item = usize>| {
            idx.map(|i| values[i])
                .find(|v| !is_empty(v))
                .cloned()
                .unwrap_or_else(|| own.clone())
        };
        let rule = match (opts.fields.get(field), field.as_str()) {
            (Some(r), _) => r.clone(),
            (None, "first_contact_at" | "last_contact_at" | "custom_fields") => {
                out.insert(field.clone(), builtin(field, &values));
                continue;
            }
            // A list is united, survivor's items first, rather than taken from one side.
            (None, _)
                if values.iter().any(|v| v.is_array())
                    && values.iter().all(|v| v.is_array() || v.is_null()) =>
            {
                out.insert(field.clone(), united(&values));
                continue;
            }
            (None, _) => opts.default_rule.clone(),
        };
        let v = match rule {
            FieldRule::SurvivorWins => own.clone(),
            FieldRule::SurvivorThenMostRecent => {
                if is_empty(own) {
                    first_non_empty(&mut recent.iter().copied())
                } else {
                    own.clone()
                }
            }
            FieldRule::MostRecentNonEmpty => first_non_empty(&mut recent.iter().copied()),
            FieldRule::MostComplete => {
                let mut by: Vec<usize> = (0..order.len()).collect();
                by.sort_by_key(|&i| std::cmp::Reverse(complete[i]));
                first_non_empty(&mut by.into_iter())
            }
            FieldRule::Longest => values
                .iter()
                .filter(|v| !is_empty(v))
                .max_by_key(|v| match v {
                    Value::String(s) => s.chars().count(),
                    other => other.to_string().chars().count(),
                })
                .map(|v| (*v).clone())
                .unwrap_or_else(|| own.clone()),
            FieldRule::Custom(f) => f(&FieldCandidates {
                field,
                values: order.iter().copied().zip(values.iter().copied()).collect(),
            }),
        };
        out.insert(field.clone(), v);
    }
    let merged: Customer = serde_json::from_value(Value::Object(out))
        .map_err(|e| CrmError::validation("fields", format!("merged customer: {e}")))?;
    crate::store::EntityRules::validate(&merged)?;
    Ok(merged)
}

/// The union of the lists among `values`, in order of first appearance (survivor first),
/// each item once.
fn united(values: &[&Value]) -> Value {
    let mut out: Vec<Value> = Vec::new();
    for v in values {
        if let Value::Array(items) = v {
            for item in items {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
        }
    }
    Value::Array(out)
}

/// Built-in survivorship of the contact dates and custom fields.
fn builtin(field: &str, values: &[&Value]) -> Value {
    match field {
        "custom_fields" => {
            let mut union = Map::new();
            for v in values {
                if let Value::Object(m) = v {
                    for (k, x) in m {
                        match union.get_mut(k) {
                            None => {
                                union.insert(k.clone(), x.clone());
                            }
                            // Multi-valued custom fields are united; a single value stays
                            // the survivor's (the first record's that has one).
                            Some(existing) if existing.is_array() && x.is_array() => {
                                *existing = united(&[&*existing, x]);
                            }
                            Some(existing) if is_empty(existing) => *existing = x.clone(),
                            Some(_) => {}
                        }
                    }
                }
            }
            Value::Object(union)
        }
        _ => {
            // Timestamps serialise as RFC 3339 text, which sorts by time in UTC.
            let mut times: Vec<&str> = values.iter().filter_map(|v| v.as_str()).collect();
            times.sort_unstable();
            let pick = if field == "first_contact_at" {
                times.first()
            } else {
                times.last()
            };
            pick.map_or(Value::Null, |s| Value::String((*s).to_string()))
        }
    }
}

/// Collects the plan's writes and the merge record's before-images.
struct Builder {
    changes: ChangeSet,
    touched: Vec<MergeTouch>,
    moves: Vec<MergeMove>,
    deletes: Vec<Change>,
    delete_touches: Vec<MergeTouch>,
    now: DateTime<Utc>,
}

impl Builder {
    /// Updates `before` to `after` (which still carries the read version).
    fn update<E: Entity>(&mut self, before: &E, mut after: E, from: Option<CustomerId>) {
        after.set_version(before.version());
        after.touch(self.now);
        self.touched.push(MergeTouch {
            action: MergeAction::Updated,
            before: before.clone().into_record(),
            version_after: Some(before.version() + 1),
        });
        if let Some(from) = from {
            self.moves.push(MergeMove {
                row: before.entity_ref(),
                from,
                action: MoveAction::Repointed,
            });
        }
        self.changes.push_update(after);
    }

    fn delete<E: Entity>(&mut self, row: &E, from: CustomerId, action: MoveAction) {
        self.delete_touches.push(MergeTouch {
            action: MergeAction::Deleted,
            before: row.clone().into_record(),
            version_after: None,
        });
        self.moves.push(MergeMove {
            row: row.entity_ref(),
            from,
            action,
        });
        self.deletes.push(Change::Delete {
            target: row.entity_ref(),
            expected_version: Some(row.version()),
        });
    }
}

/// How complete an address is: its filled parts (street lines, postcode, city, region,
/// country), the street line and the city counting double, as they locate it most.
fn address_completeness(l: &Location) -> usize {
    let filled = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
    2 * usize::from(filled(&l.line1))
        + 2 * usize::from(filled(&l.city))
        + usize::from(filled(&l.postal_code))
        + usize::from(filled(&l.line2))
        + usize::from(filled(&l.line3))
        + usize::from(filled(&l.region))
        + usize::from(l.country.is_some())
}

/// The address that becomes the survivor's primary one: the most complete of `locations`
/// (survivor's first); among equally complete ones a primary address, then the first.
fn best_address<'a>(locations: impl Iterator<Item = &'a Location>) -> Option<LocationId> {
    let mut best: Option<(&Location, (usize, bool))> = None;
    for l in locations {
        let score = (address_completeness(l), l.primary);
        if best.is_none_or(|(_, s)| score > s) {
            best = Some((l, score));
        }
    }
    best.map(|(l, _)| l.id)
}

fn same_point(a: &ContactPoint, b: &ContactPoint) -> bool {
    a.kind == b.kind
        && a.contact_id == b.contact_id
        && a.value.to_lowercase() == b.value.to_lowercase()
}

impl<S: CrmStore + ?Sized> Crm<S> {
    async fn plan_merge(
        &self,
        actor: &Actor,
        ids: &[CustomerId],
        options: &MergeOptions,
        now: DateTime<Utc>,
    ) -> Result<Plan> {
        let unique: HashSet<CustomerId> = ids.iter().copied().collect();
        if ids.len() < 2 {
            return Err(CrmError::validation(
                "ids",
                "a merge needs at least two customers",
            ));
        }
        if unique.len() != ids.len() {
            return Err(CrmError::validation("ids", "a customer is listed twice"));
        }
        if ids.len() > MAX_MERGE_RECORDS {
            return Err(CrmError::validation(
                "ids",
                format!("a merge takes at most {MAX_MERGE_RECORDS} customers"),
            ));
        }
        let mut customers = Vec::with_capacity(ids.len());
        for id in ids {
            customers.push(self.customers().get(actor, *id).await?);
        }
        let s = choose_survivor(&customers, options.survivor)?;
        let survivor_before = customers[s].clone();
        let sid = survivor_before.id;
        let mut order: Vec<&Customer> = vec![&customers[s]];
        order.extend(
            customers
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != s)
                .map(|(_, c)| c),
        );
        let merged_ids: Vec<CustomerId> = order[1..].iter().map(|c| c.id).collect();
        let mut survivor = merge_fields(&order, options)?;

        let mut b = Builder {
            changes: ChangeSet::new(),
            touched: Vec::new(),
            moves: Vec::new(),
            deletes: Vec::new(),
            delete_touches: Vec::new(),
            now,
        };
        // The survivor's current related rows decide primaries and collapses.
        let customer_id = Some(sid);
        let mut has_primary_contact = self
            .read_all::<Contact>(
                actor,
                ContactFilter {
                    customer_id,
                    ..Default::default()
                },
                false,
            )
            .await?
            .iter()
            .any(|c| c.is_primary);
        let mut points = self
            .read_all::<ContactPoint>(
                actor,
                ContactPointFilter {
                    customer_id,
                    ..Default::default()
                },
                false,
            )
            .await?;
        // Addresses: the most complete one of all the merged customers becomes the
        // survivor's primary address as a whole (never a mix of streets and cities); the
        // others are kept as further addresses.
        let survivor_locations = self
            .read_all::<Location>(
                actor,
                LocationFilter {
                    customer_id,
                    ..Default::default()
                },
                false,
            )
            .await?;
        let mut merged_locations: HashMap<CustomerId, Vec<Location>> = HashMap::new();
        for from in merged_ids.iter().copied() {
            let rows = self
                .read_all::<Location>(
                    actor,
                    LocationFilter {
                        customer_id: Some(from),
                        ..Default::default()
                    },
                    false,
                )
                .await?;
            merged_locations.insert(from, rows);
        }
        let primary_location = best_address(
            survivor_locations.iter().chain(
                merged_ids
                    .iter()
                    .filter_map(|m| merged_locations.get(m))
                    .flatten(),
            ),
        );
        let (demote, promote): (Vec<&Location>, Vec<&Location>) = survivor_locations
            .iter()
            .filter(|l| l.primary != (Some(l.id) == primary_location))
            .partition(|l| l.primary);
        for l in demote.into_iter().chain(promote) {
            let mut after = l.clone();
            after.primary = !l.primary;
            b.update(l, after, None);
        }
        let survivor_consent = self
            .read_all::<Consent>(
                actor,
                ConsentFilter {
                    customer_id,
                    ..Default::default()
                },
                false,
            )
            .await?
            .into_iter()
            .find(|c| c.contact_id.is_none());
        let mut customer_consents: Vec<(CustomerId, Consent)> = Vec::new();
        let survivor_ref = EntityRef::new(EntityKind::Customer, sid.into());
        let mut tags: HashMap<TagId, EntityRef> = self
            .read_all::<TagAssignment>(
                actor,
                TagAssignmentFilter {
                    target: Some(survivor_ref),
                    ..Default::default()
                },
                false,
            )
            .await?
            .into_iter()
            .map(|a| (a.tag_id, a.entity_ref()))
            .collect();

        for (done, from) in merged_ids.iter().copied().enumerate() {
            super::progress::report(
                options.progress.as_ref(),
                "merge_customers",
                super::Progress::Merging {
                    done: done as u64,
                    of: merged_ids.len() as u64,
                },
            )?;
            let customer_id = Some(from);
            let links = LinkFilter {
                customer_id,
                ..Default::default()
            };
            for c in self
                .read_all::<Contact>(
                    actor,
                    ContactFilter {
                        customer_id,
                        ..Default::default()
                    },
                    false,
                )
                .await?
            {
                let mut after = c.clone();
                after.customer_id = sid;
                if after.is_primary {
                    after.is_primary = !has_primary_contact;
                    has_primary_contact = true;
                }
                b.update(&c, after, Some(from));
            }
            for p in self
                .read_all::<ContactPoint>(
                    actor,
                    ContactPointFilter {
                        customer_id,
                        ..Default::default()
                    },
                    false,
                )
                .await?
            {
                if let Some(equal) = points.iter().find(|q| same_point(q, &p)) {
                    let into = equal.entity_ref();
                    b.delete(&p, from, MoveAction::Collapsed { into });
                    continue;
                }
                let mut after = p.clone();
                after.customer_id = sid;
                if after.primary {
                    let owner = after.contact_id;
                    after.primary = !points
                        .iter()
                        .any(|q| q.primary && q.kind == after.kind && q.contact_id == owner);
                }
                b.update(&p, after.clone(), Some(from));
                points.push(after);
            }
            for l in merged_locations.remove(&from).unwrap_or_default() {
                let mut after = l.clone();
                after.customer_id = sid;
                after.primary = Some(l.id) == primary_location;
                b.update(&l, after, Some(from));
            }
            for c in self
                .read_all::<Consent>(
                    actor,
                    ConsentFilter {
                        customer_id,
                        ..Default::default()
                    },
                    false,
                )
                .await?
            {
                if c.contact_id.is_some() {
                    let mut after = c.clone();
                    after.customer_id = sid;
                    b.update(&c, after, Some(from));
                } else {
                    customer_consents.push((from, c));
                }
            }
            let filter = LeadFilter {
                converted_customer_id: customer_id,
                ..Default::default()
            };
            self.repoint(
                actor,
                filter,
                |r: &mut Lead| r.converted_customer_id = Some(sid),
                from,
                &mut b,
            )
            .await?;
            let filter = DealFilter {
                customer_id,
                ..Default::default()
            };
            self.repoint(
                actor,
                filter,
                |r: &mut Deal| r.customer_id = Some(sid),
                from,
                &mut b,
            )
            .await?;
            let filter = StageChangeFilter {
                customer_id,
                ..Default::default()
            };
            self.repoint(
                actor,
                filter,
                |r: &mut StageChange| r.customer_id = Some(sid),
                from,
                &mut b,
            )
            .await?;
            // Rows linked to the customer through `Links`.
            macro_rules! repoint_links {
                ($($kind:ident => $filter:ident),*) => {$(
                    let filter = $filter { links, ..Default::default() };
                    let set = |r: &mut $kind| r.links.customer_id = Some(sid);
                    self.repoint(actor, filter, set, from, &mut b).await?;
                )*};
            }
            repoint_links!(
                Activity => ActivityFilter,
                Interaction => InteractionFilter,
                Note => NoteFilter,
                FollowUp => FollowUpFilter,
                Attachment => AttachmentFilter
            );
            let filter = OwnedItemFilter {
                customer_id,
                ..Default::default()
            };
            self.repoint(
                actor,
                filter,
                |r: &mut OwnedItem| r.customer_id = sid,
                from,
                &mut b,
            )
            .await?;
            let from_ref = EntityRef::new(EntityKind::Customer, from.into());
            for a in self
                .read_all::<TagAssignment>(
                    actor,
                    TagAssignmentFilter {
                        target: Some(from_ref),
                        ..Default::default()
                    },
                    false,
                )
                .await?
            {
                if let Some(into) = tags.get(&a.tag_id) {
                    b.delete(&a, from, MoveAction::Collapsed { into: *into });
                    continue;
                }
                let mut after = a.clone();
                after.target = survivor_ref;
                tags.insert(a.tag_id, a.entity_ref());
                b.update(&a, after, Some(from));
            }
        }
        // One customer-level consent survives (the survivor's, else the first merged
        // one's), carrying the most restrictive choices of all; the others collapse into it.
        let mut kept: Option<(Option<CustomerId>, Consent, Consent)> =
            survivor_consent.map(|c| (None, c.clone(), c));
        for (from, c) in customer_consents {
            match &mut kept {
                Some((_, _, k)) => {
                    k.do_not_contact |= c.do_not_contact;
                    k.do_not_email |= c.do_not_email;
                    k.do_not_sms |= c.do_not_sms;
                    k.do_not_call |= c.do_not_call;
                    if k.contact_window.is_none() {
                        k.contact_window = c.contact_window.clone();
                    }
                    let into = k.entity_ref();
                    b.delete(&c, from, MoveAction::Collapsed { into });
                }
                None => {
                    let mut after = c.clone();
                    after.customer_id = sid;
                    kept = Some((Some(from), c, after));
                }
            }
        }
        if let Some((from, before, after)) = kept {
            if after != before {
                b.update(&before, after, from);
            }
        }
        survivor.set_version(survivor_before.version);
        survivor.touch(now);
        let survivor_touch = MergeTouch {
            action: MergeAction::Updated,
            before: survivor_before.clone().into_record(),
            version_after: Some(survivor_before.version + 1),
        };
        // Order: re-point the related rows, drop the collapsed ones and the merged
        // customers, and only then update the survivor, which may take over a unique value
        // (an external reference) from a merged customer.
        let mut changes = ChangeSet::new();
        changes.changes.append(&mut b.changes.changes);
        changes.changes.append(&mut b.deletes);
        let mut touched = vec![survivor_touch];
        touched.append(&mut b.touched);
        touched.append(&mut b.delete_touches);
        for c in &order[1..] {
            b.moves.push(MergeMove {
                row: c.entity_ref(),
                from: c.id,
                action: MoveAction::Removed,
            });
            touched.push(MergeTouch {
                action: MergeAction::Deleted,
                before: (*c).clone().into_record(),
                version_after: None,
            });
            changes.changes.push(Change::Delete {
                target: c.entity_ref(),
                expected_version: Some(c.version),
            });
        }
        changes.push_update(survivor.clone());
        survivor.set_version(survivor_before.version + 1);
        let record = MergeRecord {
            id: MergeId::new(),
            tenant_id: actor.tenant,
            version: 1,
            created_at: now,
            updated_at: now,
            kind: EntityKind::Customer,
            survivor: sid.into(),
            merged: merged_ids.iter().map(|&c| c.into()).collect(),
            merged_by: Some(actor.user),
            touched,
            undone_at: None,
            undone_by: None,
        };
        crate::store::EntityRules::validate(&record)?;
        changes.push_insert(record.clone());
        changes = changes.emit(
            survivor_ref,
            now,
            DomainEvent::CustomersMerged {
                merge: record.id,
                survivor: sid,
                merged: merged_ids.clone(),
            },
        );
        Ok(Plan {
            outcome: MergeOutcome {
                survivor,
                merged: merged_ids,
                moves: b.moves,
                record,
                dry_run: true,
            },
            changes,
        })
    }

    /// Re-points every row of `E` matching `filter` (rows of the merged customer `from`)
    /// with `set`.
    async fn repoint<E: Entity>(
        &self,
        actor: &Actor,
        filter: E::Filter,
        set: impl Fn(&mut E),
        from: CustomerId,
        b: &mut Builder,
    ) -> Result<()>
    where
        S: crate::store::EntityRead<E>,
    {
        for row in self.read_all::<E>(actor, filter, false).await? {
            let mut after = row.clone();
            set(&mut after);
            b.update(&row, after, Some(from));
        }
        Ok(())
    }
}

super::handle!(
    /// The merge calls: plan, merge, unmerge, merge history.
    Merges, merges
);

impl<S: CrmStore + ?Sized> Merges<'_, S> {
    /// Plans the merge of `ids` (two or more customers of the actor's tenant) without
    /// writing anything: the survivor as it would be and every move (a dry run).
    #[tracing::instrument(name = "merges.plan", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn plan(
        self,
        actor: &Actor,
        ids: &[CustomerId],
        options: &MergeOptions,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome> {
        Ok(self
            .crm
            .plan_merge(actor, ids, options, now)
            .await?
            .outcome
            .redacted_for(actor))
    }

    /// Merges `ids` (two or more customers of the actor's tenant) into one survivor in one
    /// atomic change set, re-pointing every related row, and records the merge for
    /// [`crate::Merges::unmerge`]. Customers of another tenant are not found (`NotFound`); a row
    /// changed concurrently makes the merge re-plan, up to [`MAX_RETRIES`] times.
    #[tracing::instrument(name = "merges.merge", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn merge(
        self,
        actor: &Actor,
        ids: &[CustomerId],
        options: &MergeOptions,
        now: DateTime<Utc>,
    ) -> Result<MergeOutcome> {
        let mut attempt = 0;
        loop {
            let plan = self.crm.plan_merge(actor, ids, options, now).await?;
            match self.crm.apply(actor, plan.changes).await {
                Ok(_) => {
                    let mut outcome = plan.outcome;
                    outcome.dry_run = false;
                    let mut touched = outcome.merged.clone();
                    touched.push(outcome.survivor.id);
                    self.crm.reindex_customers(actor, &touched).await?;
                    return Ok(outcome.redacted_for(actor));
                }
                Err(CrmError::Conflict { .. }) if attempt < MAX_RETRIES => attempt += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// Undoes a merge: every row the merge touched gets back its before-image (with a new
    /// version), the merged customers and collapsed rows come back, and the merge record is
    /// marked undone. Refused with `InvalidTransition { from: "undone", to: "undone" }` when
    /// the merge was already undone, and with `Conflict` when any row it touched has changed
    /// since (nothing is written then). The result shows only the before-images the actor
    /// may read (see [`MergeRecord::redact_for`]); the restore itself is complete.
    #[tracing::instrument(name = "merges.unmerge", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn unmerge(
        self,
        actor: &Actor,
        merge: MergeId,
        now: DateTime<Utc>,
    ) -> Result<MergeRecord> {
        // The stored record with every before-image (the actor's view may lack private
        // notes of others, which the unmerge restores all the same).
        let record =
            crate::store::EntityRead::<MergeRecord>::get(self.crm.store(), actor.tenant, merge)
                .await?
                .ok_or_else(|| CrmError::not_found(EntityKind::MergeRecord, merge))?;
        if let Some(undone_at) = record.undone_at {
            return Err(CrmError::InvalidTransition {
                from: "undone".into(),
                to: "undone".into(),
                reason: format!("merge {merge} was already undone at {undone_at}"),
            });
        }
        let mut restore_survivor = Vec::new();
        let mut restore_parents = Vec::new();
        let mut restore_updates = Vec::new();
        let mut restore_children = Vec::new();
        let targets: Vec<EntityRef> = record
            .touched
            .iter()
            .map(|t| t.before.entity_ref())
            .collect();
        let current = self.crm.current_records(actor, &targets).await?;
        let versions: HashMap<EntityRef, u64> =
            current.iter().map(|(k, r)| (*k, r.version())).collect();
        for t in &record.touched {
            let target = t.before.entity_ref();
            match (t.action, versions.get(&target).copied()) {
                (MergeAction::Updated, Some(v)) if Some(v) == t.version_after => {
                    let mut before = t.before.clone();
                    before.set_version(v + 1);
                    let update = Change::Update {
                        expected_version: v,
                        record: before,
                    };
                    // The survivor first: it gives back unique values (an external
                    // reference) the merged customers take again.
                    if target.kind == EntityKind::Customer {
                        restore_survivor.push(update);
                    } else {
                        restore_updates.push(update);
                    }
                }
                (MergeAction::Deleted, None) => {
                    let insert = Change::Insert(t.before.clone());
                    if target.kind == EntityKind::Customer {
                        restore_parents.push(insert);
                    } else {
                        restore_children.push(insert);
                    }
                }
                _ => {
                    return Err(CrmError::Conflict {
                        entity: target.kind,
                        id: target.id.to_string(),
                    })
                }
            }
        }
        let mut changes = ChangeSet::new();
        changes.changes.extend(restore_survivor);
        changes.changes.extend(restore_parents);
        // Undone in the reverse order of the merge's writes, so a unique slot (a primary
        // address or contact) is freed by the row that took it before its old holder
        // takes it back.
        changes.changes.extend(restore_updates.into_iter().rev());
        changes.changes.extend(restore_children);
        let mut done = record.clone();
        done.version += 1;
        done.updated_at = now;
        done.undone_at = Some(now);
        done.undone_by = Some(actor.user);
        changes.changes.push(Change::Update {
            expected_version: record.version,
            record: done.clone().into_record(),
        });
        let survivor: CustomerId = record.survivor.into();
        changes = changes.emit(
            EntityRef::new(EntityKind::Customer, record.survivor),
            now,
            DomainEvent::CustomersUnmerged {
                merge: record.id,
                survivor,
                restored: record.merged.iter().map(|&u| u.into()).collect(),
            },
        );
        // The rows read above (and the stored merge record) are the before-images of the
        // record events: no second read.
        let mut known: Vec<crate::store::Record> = current.into_values().collect();
        known.push(record.clone().into_record());
        self.crm.apply_known(actor, changes, known).await?;
        let mut customers: Vec<CustomerId> = record.merged.iter().map(|&u| u.into()).collect();
        customers.push(record.survivor.into());
        self.crm.reindex_customers(actor, &customers).await?;
        done.redact_for(actor.user);
        Ok(done)
    }

    /// The merge records of the actor's tenant that merged into `survivor`, newest first.
    #[tracing::instrument(name = "merges.of_survivor", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn of_survivor(
        self,
        actor: &Actor,
        survivor: CustomerId,
    ) -> Result<Vec<MergeRecord>> {
        let mut all = self
            .crm
            .read_all::<MergeRecord>(
                actor,
                MergeRecordFilter {
                    survivor: Some(survivor.into()),
                    ..Default::default()
                },
                true,
            )
            .await?;
        all.sort_by_key(|m| std::cmp::Reverse(m.created_at));
        Ok(all)
    }
}
