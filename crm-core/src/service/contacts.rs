//! The contact calls: primary contact, contact points and their primaries.
//!
//! Reached through [`Crm::contacts`].

use chrono::{DateTime, Utc};

use crate::error::Result;
use crate::id::*;
use crate::model::*;
use crate::store::*;

use super::*;

super::handle!(
    /// The contact calls: primary contact, contact points and their primaries.
    Contacts, contacts
);

impl<S: CrmStore + ?Sized> Contacts<'_, S> {
    /// Makes `contact` its customer's primary contact, demoting the previous one in the
    /// same change set.
    #[tracing::instrument(name = "contacts.set_primary", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn set_primary(
        self,
        actor: &Actor,
        contact: ContactId,
        now: DateTime<Utc>,
    ) -> Result<Contact> {
        let mut c = self.crm.get::<Contact>(actor, contact).await?;
        c.is_primary = true;
        self.crm.update(actor, c, now).await
    }

    /// Makes a contact point the primary one of its kind for its owner, demoting the
    /// previous one in the same change set.
    #[tracing::instrument(name = "contacts.set_primary_point", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn set_primary_point(
        self,
        actor: &Actor,
        point: ContactPointId,
        now: DateTime<Utc>,
    ) -> Result<ContactPoint> {
        let mut p = self.crm.get::<ContactPoint>(actor, point).await?;
        p.primary = true;
        self.crm.update(actor, p, now).await
    }

    /// Adds a contact point to a customer (or to one of its contacts), normalising the value:
    /// a phone number without `+` is read in the customer's own country (its primary
    /// location's, else any located address's), else in the configured default phone
    /// region; an e-mail typed with a display name keeps the address as the value and the
    /// name as [`ContactPoint::display_name`]. The first point of a kind for its owner
    /// becomes that owner's primary one; use [`crate::Contacts::set_primary_point`] to switch.
    #[tracing::instrument(name = "contacts.add_point", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn add_point(
        self,
        actor: &Actor,
        customer: CustomerId,
        contact: Option<ContactId>,
        kind: ContactPointKind,
        raw: &str,
        now: DateTime<Utc>,
    ) -> Result<ContactPoint> {
        let region = if kind.is_phone() {
            self.crm.customer_phone_region(actor, customer).await?
        } else {
            None
        };
        let mut p = ContactPoint::new(
            actor.tenant,
            customer,
            contact,
            kind,
            raw,
            region.as_deref(),
            now,
        )?;
        let existing = self
            .crm
            .list_all::<ContactPoint>(
                actor,
                ContactPointFilter {
                    customer_id: Some(customer),
                    contact_id: contact,
                    customer_level_only: contact.is_none(),
                    kind: Some(kind),
                    primary: Some(true),
                    ..Default::default()
                },
            )
            .await?;
        p.primary = existing.is_empty();
        self.crm.create(actor, p, now).await
    }
}
