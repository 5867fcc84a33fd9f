//! Customer 360: everything about one customer in one read.

use crate::error::Result;
use crate::id::{Actor, CustomerId};
use crate::model::*;
use crate::money::{Currency, Money};
use crate::store::{CrmStore, Direction, Entity, ListQuery, MAX_PAGE_SIZE};

use super::{Crm, Customers};

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
    /// Won and lost deals, most recently closed first.
    pub closed_deals: Vec<Deal>,
    /// Deal totals per currency (amounts are never mixed across currencies), by currency
    /// code.
    pub totals: Vec<DealTotals>,
    /// The leads converted into this customer, most recently converted first.
    pub leads: Vec<Lead>,
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
    /// Files attached to the customer, newest first.
    pub attachments: Vec<Attachment>,
    /// Which of the lists above hold only their first entries: the rest is there to be
    /// read with `list` (or [`crate::Customers::timeline`]), never silently dropped.
    pub cut_off: CutOff,
}

/// The deals of one currency in a [`Customer360`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DealTotals {
    /// The currency.
    pub currency: Currency,
    /// How many deals are open.
    pub open_count: u32,
    /// Their expected value.
    pub open_amount: Money,
    /// Their expected value weighted by win probability (see [`Deal::weighted_amount`]).
    pub open_weighted: Money,
    /// How many deals were won.
    pub won_count: u32,
    /// Their value.
    pub won_amount: Money,
    /// How many deals were lost.
    pub lost_count: u32,
}

/// Which lists of a [`Customer360`] were cut off at their limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CutOff {
    /// More open activities than [`MAX_PAGE_SIZE`].
    pub open_activities: bool,
    /// More pending follow-ups than [`MAX_PAGE_SIZE`].
    pub open_follow_ups: bool,
    /// More interactions than [`RECENT_INTERACTIONS`] (the timeline has them all).
    pub recent_interactions: bool,
    /// More pinned notes than [`MAX_PAGE_SIZE`].
    pub pinned_notes: bool,
    /// More attachments than [`MAX_PAGE_SIZE`].
    pub attachments: bool,
}

impl CutOff {
    /// Whether any list was cut off.
    pub fn any(&self) -> bool {
        self.open_activities
            || self.open_follow_ups
            || self.recent_interactions
            || self.pinned_notes
            || self.attachments
    }
}

/// The per-currency totals of `deals`, by currency code. Sums saturate at the ends of
/// `i64` (no deal set of a real customer gets there; a panic would be worse).
fn deal_totals(deals: &[Deal]) -> Vec<DealTotals> {
    let mut out: Vec<DealTotals> = Vec::new();
    let add = |a: Money, b: Money| Money::of(a.minor.saturating_add(b.minor), a.currency);
    for d in deals {
        let currency = d.currency();
        let i = match out.iter().position(|t| t.currency == currency) {
            Some(i) => i,
            None => {
                let zero = Money::zero(currency);
                out.push(DealTotals {
                    currency,
                    open_count: 0,
                    open_amount: zero,
                    open_weighted: zero,
                    won_count: 0,
                    won_amount: zero,
                    lost_count: 0,
                });
                out.len() - 1
            }
        };
        let t = &mut out[i];
        match d.status {
            DealStatus::Open => {
                t.open_count = t.open_count.saturating_add(1);
                t.open_amount = add(t.open_amount, d.amount);
                // The weighted value of one deal is at most its amount, so computing it
                // cannot overflow; zero stands in should it ever fail.
                let w = d.weighted_amount().unwrap_or(Money::zero(currency));
                t.open_weighted = add(t.open_weighted, w);
            }
            DealStatus::Won => {
                t.won_count = t.won_count.saturating_add(1);
                t.won_amount = add(t.won_amount, d.amount);
            }
            DealStatus::Lost => t.lost_count = t.lost_count.saturating_add(1),
        }
    }
    out.sort_by(|a, b| a.currency.code().cmp(b.currency.code()));
    out
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
    /// The first page of `query` and whether more rows follow it.
    async fn first_page<E: Entity>(
        &self,
        actor: &Actor,
        query: ListQuery<E>,
    ) -> Result<(Vec<E>, bool)>
    where
        S: crate::store::EntityRead<E>,
    {
        let page = self.list(actor, query).await?;
        Ok((page.items, page.next.is_some()))
    }
}

impl<S: CrmStore + ?Sized> Customers<'_, S> {
    /// Reads a customer with its tags, contacts, contact points, locations, consent, open
    /// and closed deals with their totals per currency, the leads converted into it, open
    /// activities and follow-ups, recent interactions, pinned notes, owned items and
    /// attachments. Lists with a limit say in [`Customer360::cut_off`] when they hold only
    /// their first entries.
    #[tracing::instrument(name = "customers.view_360", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn view_360(self, actor: &Actor, id: CustomerId) -> Result<Customer360> {
        let customer = self.crm.customers().get(actor, id).await?;
        let links = LinkFilter {
            customer_id: Some(id),
            ..Default::default()
        };
        let tags = self.crm.tags().of(actor, customer.entity_ref()).await?;
        let mut contacts = self
            .crm
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
            .crm
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
            .crm
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
            .crm
            .list_all::<Consent>(
                actor,
                ConsentFilter {
                    customer_id: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        let deals = self
            .crm
            .list_all::<Deal>(
                actor,
                DealFilter {
                    customer_id: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        let totals = deal_totals(&deals);
        let (mut open_deals, mut closed_deals): (Vec<Deal>, Vec<Deal>) = deals
            .into_iter()
            .partition(|d| d.status == DealStatus::Open);
        open_deals.sort_by_key(|d| (d.expected_close.is_none(), d.expected_close, d.created_at));
        closed_deals.sort_by_key(|d| std::cmp::Reverse((d.closed_at, d.created_at)));
        let mut leads = self
            .crm
            .list_all::<Lead>(
                actor,
                LeadFilter {
                    converted_customer_id: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        leads.sort_by_key(|l| std::cmp::Reverse((l.converted_at, l.created_at)));
        let mut cut_off = CutOff::default();
        let (open_activities, more) = self
            .crm
            .first_page(
                actor,
                ListQuery::filter(ActivityFilter {
                    links,
                    open_only: true,
                    ..Default::default()
                })
                .sorted(ActivitySort::DueAt, Direction::Asc)
                .limit(MAX_PAGE_SIZE),
            )
            .await?;
        cut_off.open_activities = more;
        let (open_follow_ups, more) = self
            .crm
            .first_page(
                actor,
                ListQuery::filter(FollowUpFilter {
                    links,
                    status: Some(FollowUpStatus::Pending),
                    ..Default::default()
                })
                .sorted(FollowUpSort::DueAt, Direction::Asc)
                .limit(MAX_PAGE_SIZE),
            )
            .await?;
        cut_off.open_follow_ups = more;
        let (recent_interactions, more) = self
            .crm
            .first_page(
                actor,
                ListQuery::filter(InteractionFilter {
                    links,
                    ..Default::default()
                })
                .sorted(InteractionSort::OccurredAt, Direction::Desc)
                .limit(RECENT_INTERACTIONS),
            )
            .await?;
        cut_off.recent_interactions = more;
        let (pinned_notes, more) = self
            .crm
            .first_page(
                actor,
                ListQuery::filter(NoteFilter {
                    links,
                    pinned: Some(true),
                    ..Default::default()
                })
                .sorted(NoteSort::CreatedAt, Direction::Desc)
                .limit(MAX_PAGE_SIZE),
            )
            .await?;
        cut_off.pinned_notes = more;
        let owned_items = self
            .crm
            .list_all::<OwnedItem>(
                actor,
                OwnedItemFilter {
                    customer_id: Some(id),
                    ..Default::default()
                },
            )
            .await?;
        let (attachments, more) = self
            .crm
            .first_page(
                actor,
                ListQuery::filter(AttachmentFilter {
                    links,
                    ..Default::default()
                })
                .sorted(AttachmentSort::CreatedAt, Direction::Desc)
                .limit(MAX_PAGE_SIZE),
            )
            .await?;
        cut_off.attachments = more;
        Ok(Customer360 {
            customer,
            tags,
            contacts,
            contact_points,
            locations,
            consent,
            open_deals,
            closed_deals,
            totals,
            leads,
            open_activities,
            open_follow_ups,
            recent_interactions,
            pinned_notes,
            owned_items,
            attachments,
            cut_off,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::id::TenantId;
    use crate::pipeline::{transition, DealTransition};
    use chrono::{DateTime, Utc};

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).expect("time")
    }

    /// Totals are kept per currency, weighted by probability, and saturate instead of
    /// overflowing.
    #[test]
    fn totals_per_currency() {
        let t = TenantId::new();
        let p = Pipeline::standard(t, now()).expect("pipeline");
        let deal = |minor: i64, cur: &str, stage: usize| {
            Deal::new(
                t,
                "D",
                &p,
                p.stages[stage].id,
                Money::new(minor, cur).expect("money"),
                now(),
            )
            .expect("deal")
        };
        let won = transition(
            &deal(300, "USD", 0),
            &p,
            &DealTransition::Win { reason: None },
            now(),
        )
        .expect("win");
        let deals = vec![
            deal(1_000, "EUR", 2),
            deal(i64::MAX, "EUR", 2),
            won,
            deal(500, "USD", 0),
        ];
        let totals = deal_totals(&deals);
        assert_eq!(totals.len(), 2);
        let (eur, usd) = (totals[0], totals[1]);
        assert_eq!(eur.currency.code(), "EUR");
        assert_eq!(eur.open_count, 2);
        assert_eq!(eur.open_amount.minor, i64::MAX, "saturates");
        assert_eq!(
            usd.open_weighted,
            deals[3].weighted_amount().expect("weighted")
        );
        assert_eq!((usd.won_count, usd.won_amount.minor), (1, 300));
    }
}
