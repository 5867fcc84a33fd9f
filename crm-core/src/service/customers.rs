//! The customer calls: create (plain, nested, duplicate-checked), read, the 360-degree view and timeline, cascading delete, primary location.
//!
//! Reached through [`Crm::customers`].

use chrono::{DateTime, Utc};

use crate::error::{CrmError, Result};
use crate::id::*;
use crate::model::*;
use crate::store::*;

use super::*;

super::handle!(
    /// The customer calls: create (plain, nested, duplicate-checked), read, the 360-degree view and timeline, cascading delete, primary location.
    Customers, customers
);

impl<S: CrmStore + ?Sized> Customers<'_, S> {
    /// Creates a customer.
    #[tracing::instrument(name = "customers.create", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn create(
        self,
        actor: &Actor,
        customer: Customer,
        now: DateTime<Utc>,
    ) -> Result<Customer> {
        self.crm.create(actor, customer, now).await
    }

    /// Reads a customer.
    #[tracing::instrument(name = "customers.get", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn get(self, actor: &Actor, id: CustomerId) -> Result<Customer> {
        self.crm.get(actor, id).await
    }

    /// Deletes a customer together with everything that belongs to it (contacts, contact
    /// points, locations, consent, owned items, tag assignments, and the activities,
    /// interactions, notes, follow-ups and attachments linked to it or its contacts), in one
    /// atomic change set. Deals and converted leads are kept: while any refers to the
    /// customer the delete fails with `InUse` and nothing is removed.
    #[tracing::instrument(name = "customers.delete", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn delete(
        self,
        actor: &Actor,
        id: CustomerId,
        expected_version: Option<u64>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let customer = self.crm.customers().get(actor, id).await?;
        let deals = DealFilter {
            customer_id: Some(id),
            ..Default::default()
        };
        let deals = self.crm.count::<Deal>(actor, deals).await?;
        if deals > 0 {
            return Err(CrmError::InUse {
                entity: crate::store::EntityKind::Customer,
                id: id.to_string(),
                by: format!("{deals} deal(s)"),
            });
        }
        let customer_id = Some(id);
        let links = LinkFilter {
            customer_id,
            ..Default::default()
        };
        let contacts = ContactFilter {
            customer_id,
            ..Default::default()
        };
        let contacts = self.crm.list_all::<Contact>(actor, contacts).await?;
        let mut cs = ChangeSet::new();
        // Linked records first (they refer to contacts and the customer). Private notes of
        // other authors go too, so these reads bypass the actor's visibility.
        self.crm
            .delete_all::<Activity>(
                actor,
                ActivityFilter {
                    links,
                    ..Default::default()
                },
                &mut cs,
            )
            .await?;
        self.crm
            .delete_all::<Interaction>(
                actor,
                InteractionFilter {
                    links,
                    ..Default::default()
                },
                &mut cs,
            )
            .await?;
        self.crm
            .delete_all::<Note>(
                actor,
                NoteFilter {
                    links,
                    ..Default::default()
                },
                &mut cs,
            )
            .await?;
        self.crm
            .delete_all::<FollowUp>(
                actor,
                FollowUpFilter {
                    links,
                    ..Default::default()
                },
                &mut cs,
            )
            .await?;
        self.crm
            .delete_all::<Attachment>(
                actor,
                AttachmentFilter {
                    links,
                    ..Default::default()
                },
                &mut cs,
            )
            .await?;
        self.crm
            .delete_all::<Consent>(
                actor,
                ConsentFilter {
                    customer_id,
                    ..Default::default()
                },
                &mut cs,
            )
            .await?;
        self.crm
            .delete_all::<ContactPoint>(
                actor,
                ContactPointFilter {
                    customer_id,
                    ..Default::default()
                },
                &mut cs,
            )
            .await?;
        self.crm
            .delete_all::<Location>(
                actor,
                LocationFilter {
                    customer_id,
                    ..Default::default()
                },
                &mut cs,
            )
            .await?;
        self.crm
            .delete_all::<OwnedItem>(
                actor,
                OwnedItemFilter {
                    customer_id,
                    ..Default::default()
                },
                &mut cs,
            )
            .await?;
        let targets =
            std::iter::once(customer.entity_ref()).chain(contacts.iter().map(Entity::entity_ref));
        for target in targets {
            let tagged = TagAssignmentFilter {
                target: Some(target),
                ..Default::default()
            };
            self.crm
                .delete_all::<TagAssignment>(actor, tagged, &mut cs)
                .await?;
        }
        for c in &contacts {
            cs.push_delete::<Contact>(c.id, Some(c.version));
        }
        cs.push_delete::<Customer>(id, expected_version.or(Some(customer.version)));
        self.crm.apply_at(actor, cs, now).await?;
        self.crm.reindex_customers(actor, &[id]).await
    }

    /// Makes a location its customer's primary address, demoting the previous one.
    #[tracing::instrument(name = "customers.set_primary_location", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn set_primary_location(
        self,
        actor: &Actor,
        location: LocationId,
        now: DateTime<Utc>,
    ) -> Result<Location> {
        let mut l = self.crm.get::<Location>(actor, location).await?;
        l.primary = true;
        self.crm.update(actor, l, now).await
    }
}
