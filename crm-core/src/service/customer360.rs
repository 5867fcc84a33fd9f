//! Customer 360: everything about one customer in one read.

use crate::error::Result;
use crate::id::{Actor, CustomerId};
use crate::model::*;
use crate::store::{CrmStore, Direction, Entity, ListQuery};

use super::Crm;

/// How many recent interactions a [`Customer360`] carries.
pub const RECENT_INTERACTIONS: u32 = 20;

/// One customer with everything that belongs to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Customer360 {
    /// The customer.
    pub customer: Customer,
    /// Its tags, by name.
    pub tags: Vec<Tag>,
    /// Its contacts, primary first, then by name.
    pub contacts: Vec<Contact>,
    /// Its contact points and those of its contacts, primaries first.
    pub contact_points: Vec<ContactPoint>,
    /// Its addresses, primary first.
    pub locations: Vec<Location>,
    /// Consent records of the customer and its contacts.
    pub consent: Vec<Consent>,
    /// Open deals, by expected close date.
    pub open_deals: Vec<Deal>,
    /// Pending and in-progress activities, by due time.
    pub open_activities: Vec<Activity>,
    /// Pending follow-ups, by due time.
    pub open_follow_ups: Vec<FollowUp>,
    /// The most recent interactions, newest first (at most [`RECENT_INTERACTIONS`]).
    pub recent_interactions: Vec<Interaction>,
    /// Pinned notes visible to the actor, newest first.
    pub pinned_notes: Vec<Note>,
    /// Equipment and products the customer owns.
    pub owned_items: Vec<OwnedItem>,
}

impl Customer360 {
    /// The customer's own consent record (not a contact's), if any.
    pub fn customer_consent(&self) -> Option<&Consent> {
        self.consent.iter().find(|c| c.contact_id.is_none())
    }

    /// The primary contact, if any.
    pub fn primary_contact(&self) -> Option<&Contact> {
        self.contacts.iter().find(|c| c.is_primary)
    }
}

impl<S: CrmStore + ?Sized> Crm<S> {
    /// Reads a customer with its contacts, contact points, locations, consent, open deals,
    /// open activities and follow-ups, recent interactions and pinned notes.
    pub async fn customer_360(&self, actor: &Actor, id: CustomerId) -> Result<Customer360> {
        let customer = self.get_customer(actor, id).await?;
        let links = LinkFilter {
            customer_id: Some(id),
            ..Default::default()
        };
        let tags = self.tags_of(actor, customer.entity_ref()).await?;
        let mut contacts = self
            .list_all::<Contact>(
                actor,
                ContactFilter {
                    customer_id: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        contacts.sort_by_key(|c| (!c.is_primary, c.full_name().to_lowercase()));
        let mut contact_points = self
            .list_all::<ContactPoint>(
                actor,
                ContactPointFilter {
                    customer_id: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        contact_points.sort_by_key(|p| (p.contact_id.is_some(), !p.primary, p.created_at));
        let mut locations = self
            .list_all::<Location>(
                actor,
                LocationFilter {
                    customer_id: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        locations.sort_by_key(|l| (!l.primary, l.created_at));
        let consent = self
            .list_all::<Consent>(
                actor,
                ConsentFilter {
                    customer_id: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        let mut open_deals = self
            .list_all::<Deal>(
                actor,
                DealFilter {
                    customer_id: Some(id),
                    status: Some(DealStatus::Open),
                    ..Default::default()
                },
            )
            .await?;
        open_deals.sort_by_key(|d| (d.expected_close.is_none(), d.expected_close, d.created_at));
        let open_activities = self
            .list(
                actor,
                ListQuery::filter(ActivityFilter {
                    links,
                    open_only: true,
                    ..Default::default()
                })
                .sorted(ActivitySort::DueAt, Direction::Asc)
                .limit(crate::store::MAX_PAGE_SIZE),
            )
            .await?
            .items;
        let open_follow_ups = self
            .list(
                actor,
                ListQuery::filter(FollowUpFilter {
                    links,
                    status: Some(FollowUpStatus::Pending),
                    ..Default::default()
                })
                .sorted(FollowUpSort::DueAt, Direction::Asc)
                .limit(crate::store::MAX_PAGE_SIZE),
            )
            .await?
            .items;
        let recent_interactions = self
            .list(
                actor,
                ListQuery::filter(InteractionFilter {
                    links,
                    ..Default::default()
                })
                .sorted(InteractionSort::OccurredAt, Direction::Desc)
                .limit(RECENT_INTERACTIONS),
            )
            .await?
            .items;
        let pinned_notes = self
            .list(
                actor,
                ListQuery::filter(NoteFilter {
                    links,
                    pinned: Some(true),
                    ..Default::default()
                })
                .sorted(NoteSort::CreatedAt, Direction::Desc)
                .limit(crate::store::MAX_PAGE_SIZE),
            )
            .await?
            .items;
        let owned_items = self
            .list_all::<OwnedItem>(
                actor,
                OwnedItemFilter {
                    customer_id: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        Ok(Customer360 {
            customer,
            tags,
            contacts,
            contact_points,
            locations,
            consent,
            open_deals,
            open_activities,
            open_follow_ups,
            recent_interactions,
            pinned_notes,
            owned_items,
        })
    }
}
