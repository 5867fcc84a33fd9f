//! The whole conformance suite against PostgreSQL (see `support` for the skip rules).

mod support;

use std::sync::Arc;

use crm_core::store::CrmStore;

async fn store() -> Option<Arc<dyn CrmStore>> {
    support::store()
        .await
        .map(|s| Arc::new(s) as Arc<dyn CrmStore>)
}

crm_store_conformance::conformance_tests!(store);
