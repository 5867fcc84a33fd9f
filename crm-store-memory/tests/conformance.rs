//! Runs the shared store conformance suite against [`crm_store_memory::MemoryStore`].

crm_store_conformance::conformance_tests!(|| async {
    std::sync::Arc::new(crm_store_memory::MemoryStore::new())
        as std::sync::Arc<dyn crm_core::store::CrmStore>
});
