//! Keyset pagination: pages concatenate to the full list, cursors survive concurrent
//! writes, and page sizes and cursors are validated.

use std::collections::HashSet;
use std::sync::Arc;

use crm_core::store::{ChangeSet, MAX_PAGE_SIZE};
use crm_core::*;
use uuid::Uuid;

use crate::support::*;

/// `n` companies named `prefix-i` with created_at/updated_at spread over a few distinct
/// values (with ties) and every third one contacted.
fn customers(t: TenantId, prefix: &str, n: usize) -> Vec<Customer> {
    (0..n)
        .map(|i| {
            let mut c = company(t, &format!("{prefix}-{:03}", (i * 37) % n));
            c.created_at = at((i % 7) as i64);
            c.updated_at = at((i % 5) as i64);
            c.last_contact_at = (i % 3 == 0).then(|| at(i as i64));
            c.status = if i % 2 == 0 {
                CustomerStatus::Active
            } else {
                CustomerStatus::Prospect
            };
            c
        })
        .collect()
}

/// Pages of size k, concatenated, equal the full sorted list for every sort, direction
/// and k.
pub async fn pages_concatenate_to_full_list(store: Store) {
    let t = TenantId::new();
    let rows = insert_all(&store, t, customers(t, "c", 40)).await;
    for sort in [
        CustomerSort::CreatedAt,
        CustomerSort::UpdatedAt,
        CustomerSort::Name,
        CustomerSort::LastContactAt,
    ] {
        for dir in [Direction::Asc, Direction::Desc] {
            let want = expected_order(&rows, sort, dir);
            let full =
                sorted_ids::<Customer>(&store, t, CustomerFilter::default(), sort, dir).await;
            assert_eq!(full, want, "one page {sort:?} {dir:?}");
            for k in [1, 2, 3, 7, 39, 40, 41] {
                let got = uuids(
                    &list_all::<Customer>(&store, t, CustomerFilter::default(), sort, dir, k).await,
                );
                assert_eq!(got, want, "pages of {k} by {sort:?} {dir:?}");
            }
        }
    }
}

/// Paging with a filter visits exactly the matching rows, and count agrees.
pub async fn pages_respect_filters_and_count(store: Store) {
    let t = TenantId::new();
    let rows = insert_all(&store, t, customers(t, "c", 25)).await;
    let active: Vec<Customer> = rows
        .iter()
        .filter(|c| c.status == CustomerStatus::Active)
        .cloned()
        .collect();
    let f = CustomerFilter {
        status: Some(CustomerStatus::Active),
        ..CustomerFilter::default()
    };
    for dir in [Direction::Asc, Direction::Desc] {
        for k in [1, 4, 13] {
            let got = uuids(
                &list_all::<Customer>(&store, t, f.clone(), CustomerSort::Name, dir, k).await,
            );
            assert_eq!(
                got,
                expected_order(&active, CustomerSort::Name, dir),
                "filtered pages of {k} {dir:?}"
            );
        }
    }
    assert_eq!(count::<Customer>(&store, t, &f).await, active.len() as u64);
    assert_eq!(
        count::<Customer>(&store, t, &CustomerFilter::default()).await,
        25
    );
}

/// A page that ends the list has no cursor; an empty list has no cursor; a full page with
/// more rows behind it has one.
pub async fn last_page_has_no_cursor(store: Store) {
    let t = TenantId::new();
    let empty = list_page::<Customer>(&store, t, &ListQuery::new())
        .await
        .expect("list");
    assert_eq!(empty, Page::empty(), "empty tenant lists nothing");

    insert_all(&store, t, customers(t, "c", 6)).await;
    let q = ListQuery::<Customer>::new().limit(6);
    let page = list_page(&store, t, &q).await.expect("list");
    assert_eq!(page.items.len(), 6);
    assert!(page.next.is_none(), "exactly `limit` rows left: no cursor");

    let q = ListQuery::<Customer>::new().limit(4);
    let page = list_page(&store, t, &q).await.expect("list");
    assert_eq!(page.items.len(), 4);
    let next = page.next.clone().expect("more rows: cursor");
    assert_eq!(
        next,
        q.cursor_for(page.items.last().expect("row")),
        "cursor points after the last row"
    );
    let page2 = list_page(&store, t, &q.clone().after(Some(next)))
        .await
        .expect("list");
    assert_eq!(page2.items.len(), 2);
    assert!(page2.next.is_none());

    let q = ListQuery::<Customer>::new().limit(MAX_PAGE_SIZE);
    let page = list_page(&store, t, &q)
        .await
        .expect("max page size is allowed");
    assert_eq!(page.items.len(), 6);
}

async fn page_while_writing(store: Store, delete: bool) {
    let t = TenantId::new();
    let rows = insert_all(&store, t, customers(t, "pre", 120)).await;
    let pre: HashSet<Uuid> = uuids(&rows).into_iter().collect();
    for (round, (sort, dir)) in [
        (CustomerSort::CreatedAt, Direction::Asc),
        (CustomerSort::Name, Direction::Desc),
        (CustomerSort::LastContactAt, Direction::Asc),
    ]
    .into_iter()
    .enumerate()
    {
        // Rows the writer deletes in this round (never the ones that must be seen).
        let doomed = if delete {
            insert_all(&store, t, customers(t, &format!("doomed{round}"), 60)).await
        } else {
            Vec::new()
        };
        let writer_store = Arc::clone(&store);
        let writer = tokio::spawn(async move {
            if delete {
                for d in doomed {
                    writer_store
                        .apply(t, ChangeSet::new().delete::<Customer>(d.id, None))
                        .await
                        .expect("concurrent delete");
                    tokio::task::yield_now().await;
                }
            } else {
                for (i, mut c) in customers(t, &format!("new{round}"), 120)
                    .into_iter()
                    .enumerate()
                {
                    c.created_at = at((i % 9) as i64 - 1);
                    writer_store
                        .apply(t, ChangeSet::new().insert(c))
                        .await
                        .expect("concurrent insert");
                    tokio::task::yield_now().await;
                }
            }
        });
        let mut seen = Vec::new();
        let mut positions: Vec<Cursor> = Vec::new();
        let mut after = None;
        loop {
            let q = ListQuery::<Customer>::new()
                .sorted(sort, dir)
                .limit(5)
                .after(after);
            let page = list_page(&store, t, &q).await.expect("list while writing");
            for c in &page.items {
                seen.push(c.id.as_uuid());
                positions.push(q.cursor_for(c));
            }
            tokio::task::yield_now().await;
            match page.next {
                Some(n) => after = Some(n),
                None => break,
            }
        }
        writer.await.expect("writer task");
        // Every row comes strictly after the previous one in the order, across pages.
        for w in positions.windows(2) {
            assert!(
                w[0].is_before(&w[1].value, w[1].id),
                "rows out of order while paging {sort:?} {dir:?}: {:?} then {:?}",
                w[0],
                w[1]
            );
        }
        assert_unique(&seen, "paging while writing");
        let seen: HashSet<Uuid> = seen.into_iter().collect();
        let missing = pre.iter().filter(|id| !seen.contains(id)).count();
        assert_eq!(
            missing, 0,
            "paging {sort:?} {dir:?} skipped pre-existing rows"
        );
    }
}

/// Paging while another task inserts rows never skips or repeats a row that existed before
/// paging started.
pub async fn paging_while_inserting_concurrently(store: Store) {
    page_while_writing(store, false).await;
}

/// Paging while another task deletes other rows never skips or repeats a row that exists
/// throughout.
pub async fn paging_while_deleting_concurrently(store: Store) {
    page_while_writing(store, true).await;
}

/// A page size of 0 or above [`MAX_PAGE_SIZE`] is a `Validation` error naming `limit`,
/// for every entity kind.
pub async fn limit_out_of_range_is_validation(store: Store) {
    let t = TenantId::new();
    insert(&store, t, company(t, "C")).await;
    for limit in [0, MAX_PAGE_SIZE + 1, u32::MAX] {
        macro_rules! check {
            ([] $($ty:ident => $name:ident),*) => {$(
                let q = ListQuery::<$ty>::new().limit(limit);
                assert_validation(list_page::<$ty>(&store, t, &q).await, "limit");
            )*};
        }
        crm_core::for_each_entity!(check);
    }
}

/// A cursor made for another sort or direction is a `Validation` error naming `cursor`.
pub async fn cursor_of_other_order_is_validation(store: Store) {
    let t = TenantId::new();
    insert_all(&store, t, customers(t, "c", 5)).await;
    let q = ListQuery::<Customer>::new()
        .sorted(CustomerSort::Name, Direction::Asc)
        .limit(2);
    let cursor = list_page(&store, t, &q)
        .await
        .expect("list")
        .next
        .expect("cursor");

    let other_sort = ListQuery::<Customer>::new()
        .sorted(CustomerSort::CreatedAt, Direction::Asc)
        .limit(2)
        .after(Some(cursor.clone()));
    assert_validation(list_page(&store, t, &other_sort).await, "cursor");
    let other_dir = ListQuery::<Customer>::new()
        .sorted(CustomerSort::Name, Direction::Desc)
        .limit(2)
        .after(Some(cursor.clone()));
    assert_validation(list_page(&store, t, &other_dir).await, "cursor");
    // A customer name cursor used with the tag created_at order is refused too.
    let tag_q = ListQuery::<Tag>::new()
        .sorted(TagSort::CreatedAt, Direction::Asc)
        .after(Some(cursor.clone()));
    assert_validation(list_page(&store, t, &tag_q).await, "cursor");
    // The right order still works.
    let ok = q.clone().after(Some(cursor));
    assert_eq!(
        list_page(&store, t, &ok)
            .await
            .expect("same order")
            .items
            .len(),
        2
    );
}

/// A cursor encoded to a string and decoded again continues the listing.
pub async fn encoded_cursor_round_trips(store: Store) {
    let t = TenantId::new();
    let rows = insert_all(&store, t, customers(t, "c", 9)).await;
    let want = expected_order(&rows, CustomerSort::LastContactAt, Direction::Desc);
    let mut got = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let after = token.as_deref().map(|s| Cursor::decode(s).expect("decode"));
        let q = ListQuery::<Customer>::new()
            .sorted(CustomerSort::LastContactAt, Direction::Desc)
            .limit(2)
            .after(after);
        let page = list_page(&store, t, &q).await.expect("list");
        got.extend(uuids(&page.items));
        match page.next {
            Some(c) => token = Some(c.encode()),
            None => break,
        }
    }
    assert_eq!(got, want);
}
