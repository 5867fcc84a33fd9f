//! What every write through the service appends to its change set besides its own rows:
//! per row it inserts, updates or deletes, one record event for the outbox
//! ([`DomainEvent::RecordCreated`], [`DomainEvent::RecordUpdated`] with the changed fields,
//! [`DomainEvent::RecordDeleted`]) and one [`AuditEntry`] for the audit trail (with the
//! replaced values), so both are stored exactly when the change is.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde_json::value::RawValue;

use crate::error::{CrmError, Result};
use crate::id::{Actor, UserId};
use crate::model::*;
use crate::store::{
    Change, ChangeSet, CrmStore, DomainEvent, Entity, EntityKind, EntityRef, NewEvent, Record,
};

use super::Crm;

/// Fields left out of [`DomainEvent::RecordUpdated::fields`] and of an update's audited
/// changes: every update changes them.
const BOOKKEEPING: [&str; 2] = ["version", "updated_at"];

/// The one user who may see `r` (the author of a private note), if any.
fn private_to(r: &Record) -> Option<UserId> {
    match r {
        Record::Note(n) if n.private => Some(n.author),
        _ => None,
    }
}

/// A record serialised as `{ "<Kind>": { ...fields } }`, its fields kept as raw JSON text
/// (compared as text, without building value trees: this runs on every update).
type RawFields<'a> = HashMap<String, HashMap<String, &'a RawValue>>;

/// The record as JSON text.
fn json_of(r: &Record) -> Result<String> {
    serde_json::to_string(r).map_err(|e| CrmError::internal(format!("cannot encode a record: {e}")))
}

/// The fields of a record's JSON text.
fn fields_of(json: &str) -> Result<HashMap<String, &RawValue>> {
    let outer: RawFields<'_> = serde_json::from_str(json)
        .map_err(|e| CrmError::internal(format!("cannot read back a record: {e}")))?;
    outer
        .into_values()
        .next()
        .ok_or_else(|| CrmError::internal("a record is not a JSON object"))
}

/// The top-level fields that differ between `old` and `new` with their values on each side,
/// sorted by name (bookkeeping left out).
pub(crate) fn field_changes(old: &Record, new: &Record) -> Result<Vec<FieldChange>> {
    let (ja, jb) = (json_of(old)?, json_of(new)?);
    let (a, b) = (fields_of(&ja)?, fields_of(&jb)?);
    let text = |v: Option<&&RawValue>| v.map(|v| v.get().to_string());
    let mut names: Vec<&String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| !BOOKKEEPING.contains(&k.as_str()))
        .filter(|k| a.get(*k).map(|v| v.get()) != b.get(*k).map(|v| v.get()))
        .collect();
    names.sort();
    names.dedup();
    Ok(names
        .into_iter()
        .map(|k| FieldChange {
            field: k.clone(),
            before: text(a.get(k)),
            after: text(b.get(k)),
        })
        .collect())
}

/// Every field of `old` with its value, sorted by name: the before-image of a delete.
fn all_fields(old: &Record) -> Result<Vec<FieldChange>> {
    let json = json_of(old)?;
    let mut out: Vec<FieldChange> = fields_of(&json)?
        .into_iter()
        .map(|(k, v)| FieldChange {
            field: k,
            before: Some(v.get().to_string()),
            after: None,
        })
        .collect();
    out.sort_by(|a, b| a.field.cmp(&b.field));
    Ok(out)
}

/// Whether a change is one of the trail's own (never evented or audited itself).
fn is_trail(c: &Change) -> bool {
    match c {
        Change::Insert(r) | Change::Update { record: r, .. } => r.kind() == EntityKind::AuditEntry,
        Change::Delete { target, .. } => target.kind == EntityKind::AuditEntry,
        Change::Emit(_) => true,
    }
}

impl<S: CrmStore + ?Sized> Crm<S> {
    /// `changes` with a record event and an audit entry appended per inserted, updated or
    /// deleted row, in the order of the changes. An event's time is the record's
    /// `updated_at`; a delete's is the latest time of the change set (its records and
    /// events, and `at`, the time of a call that writes deletes only), or, without one, the
    /// deleted rows' last update. An audit entry's time is the latest time of the change set
    /// (the time the call was given).
    ///
    /// `known` holds stored rows the caller read already (their before-images); only the
    /// other updated or deleted rows are read, one batch per kind.
    pub(crate) async fn with_record_events(
        &self,
        actor: &Actor,
        mut changes: ChangeSet,
        known: Vec<Record>,
        at: Option<DateTime<Utc>>,
    ) -> Result<ChangeSet> {
        let mut current: HashMap<EntityRef, Record> =
            known.into_iter().map(|r| (r.entity_ref(), r)).collect();
        let missing: Vec<EntityRef> = changes
            .changes
            .iter()
            .filter(|c| !is_trail(c))
            .filter_map(|c| match c {
                Change::Update { record, .. } => Some(record.entity_ref()),
                Change::Delete { target, .. } => Some(*target),
                _ => None,
            })
            .filter(|r| !current.contains_key(r))
            .collect();
        current.extend(self.current_records(actor, &missing).await?);
        // A delete is guarded by the version its before-image was read at, so the store
        // refuses it (Conflict) if the row changed since and the trail never keeps an image
        // other than the row deleted.
        for c in changes.changes.iter_mut() {
            if let Change::Delete {
                target,
                expected_version: expected @ None,
            } = c
            {
                if target.kind != EntityKind::AuditEntry {
                    *expected = current.get(target).map(Record::version);
                }
            }
        }
        let latest = changes
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Insert(r) | Change::Update { record: r, .. } => Some(r.updated_at()),
                Change::Emit(e) => Some(e.at),
                Change::Delete { .. } => None,
            })
            .max()
            .max(at)
            // A set of deletes given no time: the latest update of the rows it deletes, one
            // time for the whole set.
            .or_else(|| {
                changes
                    .changes
                    .iter()
                    .filter_map(|c| match c {
                        Change::Delete { target, .. } => {
                            current.get(target).map(Record::updated_at)
                        }
                        _ => None,
                    })
                    .max()
            });
        let mut events = Vec::new();
        let mut trail = Vec::new();
        for c in changes.changes.iter().filter(|c| !is_trail(c)) {
            let (target, at, event, audit) = match c {
                Change::Insert(r) => {
                    let (me, private_to) = (r.entity_ref(), private_to(r));
                    (
                        me,
                        r.updated_at(),
                        DomainEvent::RecordCreated {
                            record: me,
                            private_to,
                        },
                        (AuditOperation::Created, Vec::new(), private_to),
                    )
                }
                Change::Update { record, .. } => {
                    let me = record.entity_ref();
                    let old = current.get(&me);
                    let diff = match old {
                        Some(old) => field_changes(old, record)?,
                        // Missing: the store refuses the update (NotFound) and nothing of
                        // the set, this event included, is written.
                        None => Vec::new(),
                    };
                    let private_to = private_to(record).or_else(|| old.and_then(private_to));
                    (
                        me,
                        record.updated_at(),
                        DomainEvent::RecordUpdated {
                            record: me,
                            fields: diff.iter().map(|c| c.field.clone()).collect(),
                            private_to,
                        },
                        (AuditOperation::Updated, diff, private_to),
                    )
                }
                Change::Delete { target, .. } => {
                    // Without a time or a row the row is missing: the store refuses the
                    // delete.
                    let (Some(at), Some(old)) = (latest, current.get(target)) else {
                        continue;
                    };
                    let private_to = private_to(old);
                    (
                        *target,
                        at,
                        DomainEvent::RecordDeleted {
                            record: *target,
                            private_to,
                        },
                        (AuditOperation::Deleted, all_fields(old)?, private_to),
                    )
                }
                Change::Emit(_) => continue,
            };
            events.push(NewEvent::new(target, at, event));
            let (operation, values, private_to) = audit;
            // The trail's time is the call's: the latest of the set (a row an unmerge
            // restores keeps its old `updated_at`); `latest` is set whenever a row is.
            let when = latest.unwrap_or(at);
            trail.push(AuditEntry::new(
                actor, when, target, operation, values, private_to,
            ));
        }
        for r in trail {
            changes.push_insert(r);
        }
        for e in events {
            changes.push_emit(e);
        }
        Ok(changes)
    }

    /// The stored rows of `targets` that exist (absent ones are not in the map), with one
    /// batched read per kind.
    pub(crate) async fn current_records(
        &self,
        actor: &Actor,
        targets: &[EntityRef],
    ) -> Result<HashMap<EntityRef, Record>> {
        let mut by_kind: BTreeMap<EntityKind, Vec<uuid::Uuid>> = BTreeMap::new();
        for t in targets {
            by_kind.entry(t.kind).or_default().push(t.id);
        }
        let mut out = HashMap::new();
        for (kind, ids) in by_kind {
            macro_rules! read_kind {
                ([] $($k:ident => $name:ident),*) => {
                    match kind {
                        $(EntityKind::$k => {
                            let ids: Vec<<$k as Entity>::Id> =
                                ids.into_iter().map(Into::into).collect();
                            for e in crate::store::EntityRead::<$k>::get_many(
                                self.store(),
                                actor.tenant,
                                &ids,
                            )
                            .await?
                            {
                                let r = e.into_record();
                                out.insert(r.entity_ref(), r);
                            }
                        })*
                    }
                };
            }
            crate::for_each_entity!(read_kind);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::TenantId;
    use chrono::DateTime;

    #[test]
    fn changed_fields_are_the_differing_top_level_fields() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let c = Customer::company(TenantId::new(), "Acme", now).expect("c");
        let mut d = c.clone();
        d.name = "Acme GmbH".into();
        d.website = Some("https://acme.example".into());
        d.version += 1;
        d.updated_at = now + chrono::Duration::seconds(1);
        let (a, b) = (c.into_record(), d.into_record());
        let diff = field_changes(&a, &b).expect("diff");
        assert_eq!(
            diff.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
            vec!["name", "website"]
        );
        assert!(field_changes(&a, &a).expect("same").is_empty());
        assert_eq!(diff[0].before.as_deref(), Some("\"Acme\""));
        assert_eq!(diff[0].after.as_deref(), Some("\"Acme GmbH\""));
        assert_eq!(diff[1].before.as_deref(), Some("null"));
    }

    #[test]
    fn a_deletes_entry_rebuilds_the_row_however_deep_its_custom_fields() {
        let now = DateTime::from_timestamp(1_700_000_000, 0).expect("time");
        let mut c = Customer::company(TenantId::new(), "Acme", now).expect("c");
        let mut deep = serde_json::json!("leaf");
        for _ in 0..(crate::store::MAX_DEPTH - 2) {
            deep = serde_json::json!({ "k": deep });
        }
        c.custom_fields.insert("deep".into(), deep);
        crate::store::check_storable(&c, "").expect("storable customer");
        let record = c.into_record();
        let actor = Actor::new(record.tenant_id(), crate::id::UserId::new());
        let entry = AuditEntry::new(
            &actor,
            now,
            record.entity_ref(),
            AuditOperation::Deleted,
            all_fields(&record).expect("fields"),
            None,
        );
        crate::store::check_storable(&entry, "").expect("storable entry");
        assert_eq!(entry.before_image().expect("image"), Some(record));
        assert!(entry.fields().contains(&"version"), "whole row");
    }
}
