//! Keyset pagination: typed queries, sort values, opaque cursors and pages.
//!
//! Rows are ordered by `(sort value, id)`; a cursor holds the last row's pair and the next
//! page starts strictly after it. Because the position is a value, not an offset, rows
//! inserted or deleted concurrently never make a page skip or repeat a row that exists
//! throughout.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use uuid::Uuid;

use super::entity::{Entity, EntityFilter, SortKey};
use crate::error::{CrmError, Result};

/// Largest page a store returns.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Page size used when a query does not say.
pub const DEFAULT_PAGE_SIZE: u32 = 50;

/// A value rows are sorted by. `Null` sorts after every other value, so ascending orders put
/// missing values last and descending orders put them first (PostgreSQL's default).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SortValue {
    /// An integer (also used for booleans and enums by rank).
    Int(i64),
    /// Text, compared by code point; sort keys over names are lower-cased first.
    Text(String),
    /// A point in time.
    Time(DateTime<Utc>),
    /// A missing value.
    Null,
}

impl SortValue {
    /// `Time(t)` or `Null`.
    pub fn time(t: Option<DateTime<Utc>>) -> Self {
        t.map_or(SortValue::Null, SortValue::Time)
    }
    /// Lower-cased `Text`, or `Null`.
    pub fn text_ci(t: Option<&str>) -> Self {
        t.map_or(SortValue::Null, |s| SortValue::Text(s.to_lowercase()))
    }
}

/// Sort direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

/// Where a page ends: the last row's sort value and id, plus the order it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cursor {
    /// Name of the sort the cursor was made for.
    pub sort: String,
    /// Direction the cursor was made for.
    pub direction: Direction,
    /// Sort value of the last row returned.
    pub value: SortValue,
    /// Id of the last row returned.
    pub id: Uuid,
}

impl Cursor {
    /// Encodes as an opaque URL-safe string for hosts to hand to their clients.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json)
    }

    /// Decodes a string made by [`Cursor::encode`].
    pub fn decode(s: &str) -> Result<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s.trim())
            .map_err(|_| CrmError::validation("cursor", "not a cursor"))?;
        serde_json::from_slice(&bytes).map_err(|_| CrmError::validation("cursor", "not a cursor"))
    }

    /// Whether a row with `(value, id)` comes strictly after this cursor.
    pub fn is_before(&self, value: &SortValue, id: Uuid) -> bool {
        let ord = value.cmp(&self.value).then(id.cmp(&self.id));
        match self.direction {
            Direction::Asc => ord == Ordering::Greater,
            Direction::Desc => ord == Ordering::Less,
        }
    }
}

/// A list request: filter, order, page size and the cursor to continue from.
#[derive(Debug, Clone)]
#[must_use]
pub struct ListQuery<E: Entity> {
    /// Which rows.
    pub filter: E::Filter,
    /// In what order (ties broken by id in the same direction).
    pub sort: E::Sort,
    /// Ascending or descending.
    pub direction: Direction,
    /// Page size, 1..=[`MAX_PAGE_SIZE`].
    pub limit: u32,
    /// Continue after this cursor (from the previous page's `next`).
    pub after: Option<Cursor>,
}

impl<E: Entity> Default for ListQuery<E> {
    fn default() -> Self {
        Self {
            filter: E::Filter::default(),
            sort: E::Sort::default(),
            direction: Direction::Asc,
            limit: DEFAULT_PAGE_SIZE,
            after: None,
        }
    }
}

impl<E: Entity> ListQuery<E> {
    /// All rows, default order, default page size.
    pub fn new() -> Self {
        Self::default()
    }
    /// Rows matching `filter`.
    pub fn filter(filter: E::Filter) -> Self {
        Self {
            filter,
            ..Self::default()
        }
    }
    /// Sets the order.
    pub fn sorted(mut self, sort: E::Sort, direction: Direction) -> Self {
        self.sort = sort;
        self.direction = direction;
        self
    }
    /// Sets the page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }
    /// Continues after `cursor`.
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.after = cursor;
        self
    }

    /// Checks the page size and that the cursor belongs to this order.
    pub fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_PAGE_SIZE {
            return Err(CrmError::validation(
                "limit",
                format!("{} is outside 1..={MAX_PAGE_SIZE}", self.limit),
            ));
        }
        if let Some(c) = &self.after {
            if c.sort != self.sort.name() || c.direction != self.direction {
                return Err(CrmError::validation(
                    "cursor",
                    format!(
                        "made for order {} {:?}, used with {} {:?}",
                        c.sort,
                        c.direction,
                        self.sort.name(),
                        self.direction
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The cursor pointing just after `entity` in this query's order.
    pub fn cursor_for(&self, entity: &E) -> Cursor {
        Cursor {
            sort: self.sort.name().to_string(),
            direction: self.direction,
            value: self.sort.value(entity),
            id: entity.id().into(),
        }
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The rows of this page.
    pub items: Vec<T>,
    /// Where the next page starts; `None` when this is the last page.
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// An empty last page.
    pub fn empty() -> Self {
        Self {
            items: Vec::new(),
            next: None,
        }
    }
}

/// Pages candidate rows in memory with the exact semantics every store must have: keeps the
/// rows that match the filter's plain fields and come after the cursor, sorts them by
/// `(sort value, id)` in the query's direction and cuts one page. Used by the memory store
/// and as the oracle in tests.
pub fn paginate<'a, E: Entity>(
    candidates: impl IntoIterator<Item = &'a E>,
    query: &ListQuery<E>,
) -> Page<E> {
    let mut rows: Vec<(SortValue, &E)> = candidates
        .into_iter()
        .filter(|e| query.filter.matches(e))
        .map(|e| (query.sort.value(e), e))
        .filter(|(v, e)| {
            query
                .after
                .as_ref()
                .is_none_or(|c| c.is_before(v, e.id().into()))
        })
        .collect();
    let cmp = |a: &(SortValue, &E), b: &(SortValue, &E)| {
        a.0.cmp(&b.0)
            .then_with(|| Into::<Uuid>::into(a.1.id()).cmp(&b.1.id().into()))
    };
    let limit = query.limit as usize;
    let take = limit.min(rows.len());
    // Only the first `limit` rows need to be ordered.
    match query.direction {
        Direction::Asc => {
            if take < rows.len() {
                rows.select_nth_unstable_by(take, cmp);
                rows.truncate(take + 1);
            }
            rows.sort_by(cmp);
        }
        Direction::Desc => {
            let rcmp = |a: &(SortValue, &E), b: &(SortValue, &E)| cmp(b, a);
            if take < rows.len() {
                rows.select_nth_unstable_by(take, rcmp);
                rows.truncate(take + 1);
            }
            rows.sort_by(rcmp);
        }
    }
    let more = rows.len() > limit;
    rows.truncate(limit);
    let items: Vec<E> = rows.into_iter().map(|(_, e)| e.clone()).collect();
    let next = if more {
        items.last().map(|e| query.cursor_for(e))
    } else {
        None
    };
    Page { items, next }
}
