//! The record events every write through the service appends to its change set: one
//! [`DomainEvent::RecordCreated`], [`DomainEvent::RecordUpdated`] (with the changed fields)
//! or [`DomainEvent::RecordDeleted`] per row it inserts, updates or deletes.

use std::collections::{BTreeMap, HashMap};

use serde_json::value::RawValue;

use crate::error::{CrmError, Result};
use crate::id::Actor;
use crate::model::*;
use crate::store::{
    Change, ChangeSet, CrmStore, DomainEvent, Entity, EntityKind, EntityRef, NewEvent, Record,
};

use super::Crm;

/// Fields left out of [`DomainEvent::RecordUpdated::fields`]: every update changes them.
const BOOKKEEPING: [&str; 2] = ["version", "updated_at"];

/// The one user who may see `r` (the author of a private note), if any.
fn private_to(r: &Record) -> Option<crate::id::UserId> {
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

/// The top-level fields that differ between `old` and `new`, sorted (bookkeeping left out).
pub(crate) fn changed_fields(old: &Record, new: &Record) -> Result<Vec<String>> {
    let (ja, jb) = (json_of(old)?, json_of(new)?);
    let (a, b) = (fields_of(&ja)?, fields_of(&jb)?);
    let mut out: Vec<String> = a
        .keys()
        .chain(b.keys())
        .filter(|k| !BOOKKEEPING.contains(&k.as_str()))
        .filter(|k| a.get(*k).map(|v| v.get()) != b.get(*k).map(|v| v.get()))
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

impl<S: CrmStore + ?Sized> Crm<S> {
    /// `changes` with a record event appended per inserted, updated or deleted row, in the
    /// order of the changes. An event's time is its record's `updated_at`; a delete's is the
    /// latest time of the change set (its records and events), or, for a delete alone, the
    /// deleted row's last update.
    ///
    /// `known` holds stored rows the caller read already (their before-images); only the
    /// other updated or deleted rows are read, one batch per kind.
    pub(crate) async fn with_record_events(
        &self,
        actor: &Actor,
        mut changes: ChangeSet,
        known: Vec<Record>,
    ) -> Result<ChangeSet> {
        let mut current: HashMap<EntityRef, Record> =
            known.into_iter().map(|r| (r.entity_ref(), r)).collect();
        let missing: Vec<EntityRef> = changes
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Update { record, .. } => Some(record.entity_ref()),
                Change::Delete { target, .. } => Some(*target),
                _ => None,
            })
            .filter(|r| !current.contains_key(r))
            .collect();
        current.extend(self.current_records(actor, &missing).await?);
        let latest = changes
            .changes
            .iter()
            .filter_map(|c| match c {
                Change::Insert(r) | Change::Update { record: r, .. } => Some(r.updated_at()),
                Change::Emit(e) => Some(e.at),
                Change::Delete { .. } => None,
            })
            .max();
        let mut events = Vec::new();
        for c in &changes.changes {
            let (target, at, event) = match c {
                Change::Insert(r) => (
                    r.entity_ref(),
                    r.updated_at(),
                    DomainEvent::RecordCreated {
                        record: r.entity_ref(),
                        private_to: private_to(r),
                    },
                ),
                Change::Update { record, .. } => {
                    let me = record.entity_ref();
                    let old = current.get(&me);
                    let fields = match old {
                        Some(old) => changed_fields(old, record)?,
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
                            fields,
                            private_to,
                        },
                    )
                }
                Change::Delete { target, .. } => {
                    let at = latest.or_else(|| current.get(target).map(Record::updated_at));
                    // Without a time the row is missing: the store refuses the delete.
                    let Some(at) = at else { continue };
                    let private_to = current.get(target).and_then(private_to);
                    (
                        *target,
                        at,
                        DomainEvent::RecordDeleted {
                            record: *target,
                            private_to,
                        },
                    )
                }
                Change::Emit(_) => continue,
            };
            events.push(NewEvent::new(target, at, event));
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
        assert_eq!(
            changed_fields(&a, &b).expect("diff"),
            vec!["name".to_string(), "website".to_string()]
        );
        assert!(changed_fields(&a, &a).expect("same").is_empty());
    }
}
