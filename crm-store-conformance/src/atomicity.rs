//! All-or-nothing change sets: when the last change fails, none of the earlier inserts,
//! updates or deletes is visible, and the store's unique-key and reference bookkeeping is
//! as before.

use crm_core::store::{ChangeSet, Entity};
use crm_core::*;

use crate::support::*;

/// Rows that exist before the failing change set.
struct World {
    t: TenantId,
    customer: Customer,
    contact: Contact,
    tag: Tag,
    note: Note,
    lead: Lead,
}

impl World {
    async fn seed(store: &Store) -> Self {
        let t = TenantId::new();
        let customer = company(t, "Existing");
        let contact = contact(t, customer.id, "Existing", "Contact");
        let tag = tag(t, "Existing");
        let note = note(
            t,
            UserId::new(),
            Links::customer(customer.id),
            "existing note",
        );
        let lead = lead(t, "Existing", "Lead");
        let cs = ChangeSet::new()
            .insert(customer.clone())
            .insert(contact.clone())
            .insert(tag.clone())
            .insert(note.clone())
            .insert(lead.clone());
        apply_ok(store, t, cs, "seed world").await;
        Self {
            t,
            customer,
            contact,
            tag,
            note,
            lead,
        }
    }

    /// A prefix of successful-looking changes: inserts, an update, a delete.
    fn prefix(&self) -> (ChangeSet, Customer, Contact) {
        let t = self.t;
        let fresh = company(t, "Fresh");
        let fresh_contact = contact(t, fresh.id, "Fresh", "Contact");
        let mut renamed = self.customer.clone();
        renamed.name = "Renamed".into();
        let cs = ChangeSet::new()
            .insert(fresh.clone())
            .insert(fresh_contact.clone())
            .insert(tag(t, "fresh"))
            .update(renamed)
            .delete::<Note>(self.note.id, Some(1))
            .insert(tag_assignment(t, self.tag.id, eref(&fresh)));
        (cs, fresh, fresh_contact)
    }

    /// Checks that the store is exactly as seeded.
    async fn unchanged(
        &self,
        store: &Store,
        fresh: &Customer,
        fresh_contact: &Contact,
        what: &str,
    ) {
        let t = self.t;
        assert_eq!(
            get::<Customer>(store, t, fresh.id).await,
            None,
            "{what}: earlier insert rolled back"
        );
        assert_eq!(
            get::<Contact>(store, t, fresh_contact.id).await,
            None,
            "{what}: earlier child insert rolled back"
        );
        assert_eq!(
            get::<Customer>(store, t, self.customer.id).await.as_ref(),
            Some(&self.customer),
            "{what}: earlier update rolled back"
        );
        assert_eq!(
            get::<Note>(store, t, self.note.id).await.as_ref(),
            Some(&self.note),
            "{what}: earlier delete rolled back"
        );
        assert_eq!(
            get::<Contact>(store, t, self.contact.id).await.as_ref(),
            Some(&self.contact)
        );
        assert_eq!(
            get::<Lead>(store, t, self.lead.id).await.as_ref(),
            Some(&self.lead)
        );
        assert_eq!(
            count::<Customer>(store, t, &CustomerFilter::default()).await,
            1,
            "{what}: customers"
        );
        assert_eq!(
            count::<Contact>(store, t, &ContactFilter::default()).await,
            1,
            "{what}: contacts"
        );
        assert_eq!(
            count::<Tag>(store, t, &TagFilter::default()).await,
            1,
            "{what}: tags"
        );
        assert_eq!(
            count::<TagAssignment>(store, t, &TagAssignmentFilter::default()).await,
            0,
            "{what}: assignments"
        );
        assert_eq!(
            count::<Note>(store, t, &NoteFilter::default()).await,
            1,
            "{what}: notes"
        );
        let by_tag = CustomerFilter {
            tag: Some(self.tag.id),
            ..CustomerFilter::default()
        };
        assert_eq!(
            count::<Customer>(store, t, &by_tag).await,
            0,
            "{what}: tag index"
        );
        let by_text = CustomerFilter {
            text: Some("fresh".into()),
            ..CustomerFilter::default()
        };
        assert_eq!(
            count::<Customer>(store, t, &by_text).await,
            0,
            "{what}: search index"
        );
        let by_text = CustomerFilter {
            text: Some("renamed".into()),
            ..CustomerFilter::default()
        };
        assert_eq!(
            count::<Customer>(store, t, &by_text).await,
            0,
            "{what}: search index after update"
        );
    }
}

/// A set ending in an update with a stale version fails with `Conflict`, writing nothing.
pub async fn stale_version_last_rolls_back(store: Store) {
    let w = World::seed(&store).await;
    let lead_v2 = update(&store, w.t, w.lead.clone()).await;
    let w = World { lead: lead_v2, ..w };
    let (cs, fresh, fk) = w.prefix();
    let mut stale = w.lead.clone();
    stale.set_version(1);
    assert_conflict(store.apply(w.t, cs.update(stale)).await);
    w.unchanged(&store, &fresh, &fk, "stale update").await;

    let (cs, fresh, fk) = w.prefix();
    assert_conflict(
        store
            .apply(w.t, cs.delete::<Lead>(w.lead.id, Some(1)))
            .await,
    );
    w.unchanged(&store, &fresh, &fk, "stale delete").await;
}

/// A set ending in an insert that refers to a missing row fails with `NotFound`.
pub async fn missing_reference_last_rolls_back(store: Store) {
    let w = World::seed(&store).await;
    let (cs, fresh, fk) = w.prefix();
    let orphan = contact(w.t, CustomerId::new(), "Orphan", "");
    assert_not_found(store.apply(w.t, cs.insert(orphan)).await);
    w.unchanged(&store, &fresh, &fk, "missing reference").await;

    let (cs, fresh, fk) = w.prefix();
    let mut ghost = w.lead.clone();
    ghost.id = LeadId::new();
    assert_not_found(store.apply(w.t, cs.update(ghost)).await);
    w.unchanged(&store, &fresh, &fk, "update of a missing row")
        .await;
}

/// A set ending in a duplicate unique key fails with `AlreadyExists`.
pub async fn duplicate_unique_key_last_rolls_back(store: Store) {
    let w = World::seed(&store).await;
    let (cs, fresh, fk) = w.prefix();
    assert_already_exists(store.apply(w.t, cs.insert(tag(w.t, "EXISTING"))).await);
    w.unchanged(&store, &fresh, &fk, "duplicate tag name").await;

    // Duplicate of a key written earlier in the same set.
    let (cs, fresh, fk) = w.prefix();
    assert_already_exists(store.apply(w.t, cs.insert(tag(w.t, "FRESH"))).await);
    w.unchanged(&store, &fresh, &fk, "duplicate of an earlier insert")
        .await;
}

/// A set ending in a delete of a row that is still referenced fails with `InUse`.
pub async fn delete_of_referenced_row_last_rolls_back(store: Store) {
    let w = World::seed(&store).await;
    let (cs, fresh, fk) = w.prefix();
    // The customer is renamed earlier in the set (now at version 2) and has a contact.
    assert_in_use(
        store
            .apply(w.t, cs.delete::<Customer>(w.customer.id, Some(2)))
            .await,
    );
    w.unchanged(&store, &fresh, &fk, "delete of referenced customer")
        .await;

    // The fresh customer gets a contact earlier in the same set.
    let (cs, fresh, fk) = w.prefix();
    assert_in_use(
        store
            .apply(w.t, cs.delete::<Customer>(fresh.id, None))
            .await,
    );
    w.unchanged(&store, &fresh, &fk, "delete of freshly referenced customer")
        .await;
}

/// Inserting the same id twice in one set fails with `AlreadyExists`, writing nothing.
pub async fn duplicate_id_in_one_change_set_rolls_back(store: Store) {
    let w = World::seed(&store).await;
    let (cs, fresh, fk) = w.prefix();
    let mut again = fresh.clone();
    again.name = "Again".into();
    assert_already_exists(store.apply(w.t, cs.insert(again)).await);
    w.unchanged(&store, &fresh, &fk, "duplicate id").await;
}

/// A set ending in a record of another tenant fails with `Validation`, writing nothing.
pub async fn other_tenant_record_last_rolls_back(store: Store) {
    let w = World::seed(&store).await;
    let (cs, fresh, fk) = w.prefix();
    let other = TenantId::new();
    let foreign = company(other, "Foreign");
    assert_any_validation(store.apply(w.t, cs.insert(foreign.clone())).await);
    w.unchanged(&store, &fresh, &fk, "other tenant's record")
        .await;
    assert_eq!(get::<Customer>(&store, other, foreign.id).await, None);
}

/// After a failed set, unique keys it would have taken are free and keys it would have
/// released are still taken; references it would have removed still block deletes.
pub async fn failed_set_keeps_unique_keys_and_references(store: Store) {
    let w = World::seed(&store).await;
    let t = w.t;
    // Would insert tag "fresh", delete the contact and tag "Existing", then fails.
    let (cs, fresh, fk) = w.prefix();
    let cs = cs
        .delete::<Contact>(w.contact.id, Some(1))
        .delete::<Tag>(w.tag.id, None)
        .insert(contact(t, CustomerId::new(), "Orphan", ""));
    // The first failing change is the delete of the tag, still assigned.
    match store.apply(t, cs).await {
        Err(CrmError::InUse { entity, id, .. }) => {
            assert_eq!((entity, id), (EntityKind::Tag, w.tag.id.to_string()));
        }
        other => panic!("expected InUse for the assigned tag, got {other:?}"),
    }
    w.unchanged(&store, &fresh, &fk, "failed set").await;

    // "fresh" was never taken.
    insert(&store, t, tag(t, "fresh")).await;
    // "Existing" is still taken.
    assert_already_exists(
        store
            .apply(t, ChangeSet::new().insert(tag(t, "existing")))
            .await,
    );
    // The contact still blocks deleting its customer.
    assert_in_use(
        store
            .apply(t, ChangeSet::new().delete::<Customer>(w.customer.id, None))
            .await,
    );
    // A fresh insert with the rolled-back id works now.
    insert(&store, t, fresh.clone()).await;
    insert(&store, t, fk.clone()).await;
}
