//! The unified timeline of a customer: interactions, activities, follow-ups, notes and the
//! stage changes of its deals, newest first, paged with one cursor across all five sources.

use chrono::{DateTime, Utc};
use std::cmp::Reverse;
use uuid::Uuid;

use crate::error::{CrmError, Result};
use crate::id::{Actor, CustomerId};
use crate::model::*;
use crate::store::{
    CrmStore, Cursor, Direction, Entity, EntityRead, ListQuery, Page, SortKey, SortValue,
    MAX_PAGE_SIZE,
};

use super::{Crm, Customers};

/// Name of the order timeline cursors belong to.
const TIMELINE: &str = "timeline";

/// One entry of a customer's timeline.
#[derive(Debug, Clone, PartialEq)]
pub enum TimelineEntry {
    /// A logged communication (at its `occurred_at`).
    Interaction(Interaction),
    /// An activity (at its creation).
    Activity(Activity),
    /// A follow-up (at its creation).
    FollowUp(FollowUp),
    /// A note (at its creation).
    Note(Note),
    /// A deal's stage change (at its `at`).
    StageChange(StageChange),
}

impl TimelineEntry {
    /// When the entry happened.
    pub fn at(&self) -> DateTime<Utc> {
        match self {
            TimelineEntry::Interaction(i) => i.occurred_at,
            TimelineEntry::Activity(a) => a.created_at,
            TimelineEntry::FollowUp(f) => f.created_at,
            TimelineEntry::Note(n) => n.created_at,
            TimelineEntry::StageChange(s) => s.at,
        }
    }

    /// The entry's id.
    pub fn id(&self) -> Uuid {
        match self {
            TimelineEntry::Interaction(i) => i.id.into(),
            TimelineEntry::Activity(a) => a.id.into(),
            TimelineEntry::FollowUp(f) => f.id.into(),
            TimelineEntry::Note(n) => n.id.into(),
            TimelineEntry::StageChange(s) => s.id.into(),
        }
    }

    fn key(&self) -> Reverse<(DateTime<Utc>, Uuid)> {
        Reverse((self.at(), self.id()))
    }
}

impl<S: CrmStore + ?Sized> Crm<S> {
    /// Up to `limit` rows of one source, newest first, strictly after the timeline cursor.
    async fn source<E: Entity>(
        &self,
        actor: &Actor,
        filter: E::Filter,
        sort: E::Sort,
        limit: u32,
        after: &Option<Cursor>,
    ) -> Result<(Vec<E>, bool)>
    where
        S: EntityRead<E>,
    {
        let cursor = after.as_ref().map(|c| Cursor {
            entity: E::KIND.name().to_string(),
            sort: sort.name().to_string(),
            direction: Direction::Desc,
            value: c.value.clone(),
            id: c.id,
        });
        let page = self
            .list(
                actor,
                ListQuery::filter(filter)
                    .sorted(sort, Direction::Desc)
                    .limit(limit)
                    .after(cursor),
            )
            .await?;
        Ok((page.items, page.next.is_some()))
    }
}

impl<S: CrmStore + ?Sized> Customers<'_, S> {
    /// One page (`limit` entries, newest first) of the customer's timeline, continuing after
    /// `after` (the `next` of the previous page).
    #[tracing::instrument(name = "customers.timeline", level = "debug", skip_all, fields(tenant = %actor.tenant), err(level = "debug"))]
    pub async fn timeline(
        self,
        actor: &Actor,
        customer: CustomerId,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<Page<TimelineEntry>> {
        if limit == 0 || limit > MAX_PAGE_SIZE {
            return Err(CrmError::validation(
                "limit",
                format!("{limit} is outside 1..={MAX_PAGE_SIZE}"),
            ));
        }
        if let Some(c) = &after {
            if c.entity != TIMELINE || c.sort != TIMELINE || c.direction != Direction::Desc {
                return Err(CrmError::validation("cursor", "not a timeline cursor"));
            }
        }
        self.crm.customers().get(actor, customer).await?;
        let links = LinkFilter {
            customer_id: Some(customer),
            ..Default::default()
        };
        let mut entries = Vec::new();
        let mut more = false;
        let (a, m) = self
            .crm
            .source(
                actor,
                InteractionFilter {
                    links,
                    ..Default::default()
                },
                InteractionSort::OccurredAt,
                limit,
                &after,
            )
            .await?;
        entries.extend(a.into_iter().map(TimelineEntry::Interaction));
        more |= m;
        let (a, m) = self
            .crm
            .source(
                actor,
                ActivityFilter {
                    links,
                    ..Default::default()
                },
                ActivitySort::CreatedAt,
                limit,
                &after,
            )
            .await?;
        entries.extend(a.into_iter().map(TimelineEntry::Activity));
        more |= m;
        let (a, m) = self
            .crm
            .source(
                actor,
                FollowUpFilter {
                    links,
                    ..Default::default()
                },
                FollowUpSort::CreatedAt,
                limit,
                &after,
            )
            .await?;
        entries.extend(a.into_iter().map(TimelineEntry::FollowUp));
        more |= m;
        let (a, m) = self
            .crm
            .source(
                actor,
                NoteFilter {
                    links,
                    ..Default::default()
                },
                NoteSort::CreatedAt,
                limit,
                &after,
            )
            .await?;
        entries.extend(a.into_iter().map(TimelineEntry::Note));
        more |= m;
        let (a, m) = self
            .crm
            .source(
                actor,
                StageChangeFilter {
                    customer_id: Some(customer),
                    ..Default::default()
                },
                StageChangeSort::At,
                limit,
                &after,
            )
            .await?;
        entries.extend(a.into_iter().map(TimelineEntry::StageChange));
        more |= m;
        entries.sort_by_key(TimelineEntry::key);
        more |= entries.len() > limit as usize;
        entries.truncate(limit as usize);
        let next = if more {
            entries.last().map(|e| Cursor {
                entity: TIMELINE.to_string(),
                sort: TIMELINE.to_string(),
                direction: Direction::Desc,
                value: SortValue::Time(e.at()),
                id: e.id(),
            })
        } else {
            None
        };
        Ok(Page {
            items: entries,
            next,
        })
    }
}
