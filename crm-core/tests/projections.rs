//! The derived rows declared in crm-core agree with themselves for every entity kind.

use crm_core::search::{search_owner, CUSTOMER_SEARCH};
use crm_core::store::{Change, EntityKind};
use crm_core::TenantId;
use crm_store_conformance::support::Graph;

/// Exactly the rows of the declared source kinds feed a customer's search document, and
/// each feeds the document of the customer it belongs to.
#[test]
fn search_sources_are_the_rows_with_an_owner() {
    let g = Graph::build(TenantId::new());
    let mut kinds = Vec::new();
    for c in g.change_set().changes {
        let Change::Insert(r) = c else { continue };
        kinds.push(r.kind());
        let owner = search_owner(&r);
        assert_eq!(
            owner.is_some(),
            CUSTOMER_SEARCH.is_source(r.kind()),
            "{:?}",
            r.kind()
        );
        if let Some(o) = owner {
            assert_eq!(o, g.customer.id.as_uuid(), "{:?}", r.kind());
        }
    }
    assert_eq!(
        kinds.len(),
        EntityKind::ALL.len(),
        "the graph has every kind"
    );
}
