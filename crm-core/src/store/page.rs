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
    /// Kind of entity the cursor was made for (`customer`, `deal`, ...; `timeline` for
    /// timelines).
    pub entity: String,
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

    /// Checks the filter ([`EntityFilter::validate`]), the page size and that the cursor
    /// belongs to this order and holds a value every store can compare.
    pub fn validate(&self) -> Result<()> {
        self.filter.validate()?;
        if self.limit == 0 || self.limit > MAX_PAGE_SIZE {
            return Err(CrmError::validation(
                "limit",
                format!("{} is outside 1..={MAX_PAGE_SIZE}", self.limit),
            ));
        }
        if let Some(c) = &self.after {
            if c.entity != E::KIND.name() {
                return Err(CrmError::validation(
                    "cursor",
                    format!(
                        "made for a {} list, used with a {} list",
                        c.entity,
                        E::KIND.name()
                    ),
                ));
            }
            match &c.value {
                SortValue::Text(t) if t.contains('\0') => {
                    return Err(CrmError::validation("cursor", "not a cursor"))
                }
                SortValue::Time(t) => crate::store::check_time("cursor", *t)?,
                _ => {}
            }
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
            entity: E::KIND.name().to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Customer, CustomerSort};
    use crate::TenantId;
    use proptest::prelude::*;

    fn customers(spec: &[(u8, Option<u8>)]) -> Vec<Customer> {
        let t = TenantId::new();
        let base = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        spec.iter()
            .map(|(name, contact)| {
                let mut c = Customer::company(t, &format!("N{}", name % 7), base).unwrap();
                c.created_at = base + chrono::Duration::seconds(i64::from(name % 5));
                c.last_contact_at =
                    contact.map(|s| base + chrono::Duration::seconds(i64::from(s % 4)));
                c
            })
            .collect()
    }

    fn oracle(rows: &[Customer], sort: CustomerSort, dir: Direction) -> Vec<Uuid> {
        let mut v: Vec<(SortValue, Uuid)> =
            rows.iter().map(|c| (sort.value(c), c.id.into())).collect();
        v.sort();
        if dir == Direction::Desc {
            v.reverse();
        }
        v.into_iter().map(|(_, id)| id).collect()
    }

    proptest! {
        /// Pages of any size, concatenated, are exactly the fully sorted list.
        #[test]
        fn pages_concatenate_to_the_sorted_list(
            spec in proptest::collection::vec((any::<u8>(), proptest::option::of(any::<u8>())), 0..40),
            limit in 1u32..7,
            s in 0usize..4,
            desc in any::<bool>(),
        ) {
            let rows = customers(&spec);
            let sort = [CustomerSort::CreatedAt, CustomerSort::UpdatedAt, CustomerSort::Name, CustomerSort::LastContactAt][s];
            let dir = if desc { Direction::Desc } else { Direction::Asc };
            let mut q = ListQuery::<Customer>::new().sorted(sort, dir).limit(limit);
            let mut got = Vec::new();
            loop {
                let page = paginate(rows.iter(), &q);
                prop_assert!(page.items.len() <= limit as usize);
                got.extend(page.items.iter().map(|c| Uuid::from(c.id)));
                match page.next {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
            prop_assert_eq!(got, oracle(&rows, sort, dir));
        }

        /// Rows inserted between pages never make a page skip or repeat a pre-existing row.
        #[test]
        fn inserts_between_pages_never_skip_or_repeat(
            spec in proptest::collection::vec((any::<u8>(), proptest::option::of(any::<u8>())), 1..30),
            extra in proptest::collection::vec((any::<u8>(), proptest::option::of(any::<u8>())), 0..30),
            limit in 1u32..5,
        ) {
            let mut rows = customers(&spec);
            let before: Vec<Uuid> = rows.iter().map(|c| c.id.into()).collect();
            let mut pending = customers(&extra);
            let mut q = ListQuery::<Customer>::new().sorted(CustomerSort::Name, Direction::Asc).limit(limit);
            let mut got = Vec::new();
            loop {
                let page = paginate(rows.iter(), &q);
                got.extend(page.items.iter().map(|c| Uuid::from(c.id)));
                if let Some(c) = pending.pop() { rows.push(c); }
                match page.next {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
            let unique: std::collections::HashSet<&Uuid> = got.iter().collect();
            prop_assert_eq!(unique.len(), got.len(), "a row was repeated");
            for id in &before {
                prop_assert!(unique.contains(id), "a pre-existing row was skipped");
            }
        }

        /// Decoding arbitrary strings as cursors never panics.
        #[test]
        fn cursor_decode_never_panics(s in "\\PC{0,64}") {
            let _ = Cursor::decode(&s);
        }
    }

    #[test]
    fn cursor_roundtrips_and_checks_its_order() {
        let c = Cursor {
            entity: "customer".into(),
            sort: "name".into(),
            direction: Direction::Asc,
            value: SortValue::Text("x".into()),
            id: Uuid::now_v7(),
        };
        assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        let q = ListQuery::<Customer>::new()
            .sorted(CustomerSort::CreatedAt, Direction::Asc)
            .after(Some(c));
        assert!(
            matches!(q.validate(), Err(CrmError::Validation { ref field, .. }) if field == "cursor")
        );
        let from_customers = ListQuery::<Customer>::new().cursor_for(
            &Customer::company(
                TenantId::new(),
                "Acme",
                DateTime::from_timestamp(0, 0).unwrap(),
            )
            .unwrap(),
        );
        let on_deals = ListQuery::<crate::model::Deal>::new().after(Some(from_customers));
        assert!(
            matches!(on_deals.validate(), Err(CrmError::Validation { ref field, .. }) if field == "cursor")
        );
        assert!(ListQuery::<Customer>::new().limit(0).validate().is_err());
        assert!(ListQuery::<Customer>::new()
            .limit(MAX_PAGE_SIZE + 1)
            .validate()
            .is_err());
    }
}
