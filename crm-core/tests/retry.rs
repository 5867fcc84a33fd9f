//! The service retries change sets that fail with a retryable storage error (busy,
//! serialization failure, deadlock) a bounded number of times, and never retries others.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use crm_core::store::{Applied, ChangeSet, CrmStore, Entity, EntityRead, ListQuery, Page};
use crm_core::*;
use crm_store_memory::MemoryStore;

/// A memory store whose next `failures` applies fail with `kind`.
struct Flaky {
    inner: MemoryStore,
    failures: AtomicUsize,
    kind: StorageErrorKind,
    applies: AtomicUsize,
}

#[async_trait]
impl<E: Entity> EntityRead<E> for Flaky
where
    MemoryStore: EntityRead<E>,
{
    async fn get(&self, tenant: TenantId, id: E::Id) -> Result<Option<E>> {
        EntityRead::<E>::get(&self.inner, tenant, id).await
    }
    async fn list(&self, tenant: TenantId, query: &ListQuery<E>) -> Result<Page<E>> {
        EntityRead::<E>::list(&self.inner, tenant, query).await
    }
    async fn count(&self, tenant: TenantId, filter: &E::Filter) -> Result<u64> {
        EntityRead::<E>::count(&self.inner, tenant, filter).await
    }
}

#[async_trait]
impl CrmStore for Flaky {
    async fn apply(&self, tenant: TenantId, changes: ChangeSet) -> Result<Applied> {
        self.applies.fetch_add(1, Ordering::SeqCst);
        let left = self.failures.load(Ordering::SeqCst);
        if left > 0 {
            self.failures.store(left - 1, Ordering::SeqCst);
            return Err(CrmError::storage(self.kind, "injected failure"));
        }
        self.inner.apply(tenant, changes).await
    }

    async fn events_after(
        &self,
        tenant: TenantId,
        after: u64,
        limit: u32,
    ) -> Result<Vec<crm_core::store::StoredEvent>> {
        self.inner.events_after(tenant, after, limit).await
    }

    async fn external_id_claimed(&self, tenant: TenantId, external_id: &str) -> Result<bool> {
        self.inner.external_id_claimed(tenant, external_id).await
    }
}

fn flaky(failures: usize, kind: StorageErrorKind) -> Arc<Flaky> {
    Arc::new(Flaky {
        inner: MemoryStore::new(),
        failures: AtomicUsize::new(failures),
        kind,
        applies: AtomicUsize::new(0),
    })
}

#[tokio::test]
async fn busy_failures_are_retried_up_to_the_limit() {
    let store = flaky(MAX_RETRIES, StorageErrorKind::Busy);
    let crm = Crm::from_arc(Arc::clone(&store));
    let actor = Actor::new(TenantId::new(), UserId::new());
    let now = Utc::now();
    let c = Customer::company(actor.tenant, "Acme", now).unwrap();
    let c = crm
        .customers()
        .create(&actor, c, now)
        .await
        .expect("retried until it worked");
    assert_eq!(store.applies.load(Ordering::SeqCst), MAX_RETRIES + 1);
    assert_eq!(
        crm.customers().get(&actor, c.id).await.unwrap().name,
        "Acme"
    );
}

#[tokio::test]
async fn retries_are_bounded() {
    let store = flaky(MAX_RETRIES + 1, StorageErrorKind::Busy);
    let crm = Crm::from_arc(Arc::clone(&store));
    let actor = Actor::new(TenantId::new(), UserId::new());
    let now = Utc::now();
    let c = Customer::company(actor.tenant, "Acme", now).unwrap();
    let err = crm
        .customers()
        .create(&actor, c, now)
        .await
        .expect_err("gives up");
    assert!(err.is_retryable());
    assert_eq!(store.applies.load(Ordering::SeqCst), MAX_RETRIES + 1);
}

#[tokio::test]
async fn other_failures_are_not_retried() {
    let store = flaky(1, StorageErrorKind::Other);
    let crm = Crm::from_arc(Arc::clone(&store));
    let actor = Actor::new(TenantId::new(), UserId::new());
    let now = Utc::now();
    let c = Customer::company(actor.tenant, "Acme", now).unwrap();
    assert!(matches!(
        crm.customers().create(&actor, c, now).await,
        Err(CrmError::Storage {
            kind: StorageErrorKind::Other,
            ..
        })
    ));
    assert_eq!(store.applies.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retries_back_off_with_jitter_through_the_hosts_timer() {
    use std::sync::Mutex;
    use std::time::Duration;
    let store = flaky(MAX_RETRIES, StorageErrorKind::Busy);
    let waits: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let pause = {
        let waits = Arc::clone(&waits);
        crm_core::RetryPause::new(move |d| {
            waits.lock().expect("lock").push(d);
            Box::pin(tokio::time::sleep(d))
        })
    };
    let crm = Crm::from_arc(Arc::clone(&store)).with_config(crm_core::CrmConfig {
        retry_pause: Some(pause),
        ..Default::default()
    });
    let actor = Actor::new(TenantId::new(), UserId::new());
    let now = Utc::now();
    let c = Customer::company(actor.tenant, "Acme", now).unwrap();
    crm.customers()
        .create(&actor, c, now)
        .await
        .expect("retried until it worked");
    let waits = waits.lock().expect("lock").clone();
    assert_eq!(waits.len(), MAX_RETRIES, "one pause before each retry");
    for (i, w) in waits.iter().enumerate() {
        let ceiling = (crm_core::RETRY_BASE * 2u32.pow(i as u32)).min(crm_core::RETRY_CAP);
        assert!(
            *w >= ceiling / 2 && *w <= ceiling,
            "retry {i} waited {w:?}, outside {:?}..={ceiling:?}",
            ceiling / 2
        );
    }
}
