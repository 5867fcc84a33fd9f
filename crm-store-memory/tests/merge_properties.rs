//! Property test: over arbitrary seeds (customers with random related rows, equal e-mails
//! and tags across them, random survivor rules), a merge loses no related row and the
//! unmerge restores every row. The conformance suite runs fixed seeds in every store.

use std::sync::Arc;

use crm_core::store::CrmStore;
use crm_store_memory::MemoryStore;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn merge_then_unmerge_is_identity(seed in 1u64..u64::MAX) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let store: Arc<dyn CrmStore> = Arc::new(MemoryStore::new());
        rt.block_on(crm_store_conformance::merge::merge_unmerge_case(store, seed));
    }
}
