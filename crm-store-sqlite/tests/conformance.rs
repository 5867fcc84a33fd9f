//! The whole conformance suite against SQLite. All scenarios share one database file (each
//! uses fresh random tenants), so they also exercise concurrent use of one store.

use std::sync::Arc;

use crm_core::store::CrmStore;
use crm_store_sqlite::SqliteStore;
use tokio::sync::OnceCell;

static STORE: OnceCell<(tempfile::TempDir, SqliteStore)> = OnceCell::const_new();

async fn store() -> Arc<dyn CrmStore> {
    let (_, store) = STORE
        .get_or_init(|| async {
            let dir = tempfile::tempdir().expect("temp dir");
            let store = SqliteStore::open(dir.path().join("conformance.db"))
                .await
                .expect("open");
            store.migrate().await.expect("migrate");
            (dir, store)
        })
        .await;
    Arc::new(store.clone())
}

crm_store_conformance::conformance_tests!(store);
