//! Service calls and store operations open `tracing` spans (tenant, operation, sizes) and
//! report failures as events in them; without a subscriber nothing is recorded.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{TimeZone, Utc};
use crm_core::{Actor, Crm, CrmError, Customer, CustomerId, TenantId, UserId};
use crm_store_memory::MemoryStore;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// What the test subscriber saw: span names with their fields, and event fields.
#[derive(Default)]
struct Seen {
    spans: Vec<(String, Vec<(String, String)>)>,
    events: Vec<Vec<(String, String)>>,
}

struct Fields(Vec<(String, String)>);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .push((field.name().to_string(), format!("{value:?}")));
    }
}

/// A minimal subscriber that records everything at every level.
struct Recorder {
    seen: Arc<Mutex<Seen>>,
    next: AtomicU64,
}

impl Subscriber for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        let mut f = Fields(Vec::new());
        span.record(&mut f);
        self.seen
            .lock()
            .expect("lock")
            .spans
            .push((span.metadata().name().to_string(), f.0));
        Id::from_u64(self.next.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut f = Fields(Vec::new());
        event.record(&mut f);
        self.seen.lock().expect("lock").events.push(f.0);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn service_calls_and_store_operations_are_spans() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let recorder = Recorder {
        seen: Arc::clone(&seen),
        next: AtomicU64::new(0),
    };
    let crm = Crm::new(MemoryStore::new());
    let actor = Actor::new(TenantId::new(), UserId::new());
    let now = Utc
        .with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time");
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    tracing::subscriber::with_default(recorder, || {
        rt.block_on(async {
            let c = Customer::company(actor.tenant, "Acme", now).expect("customer");
            crm.customers()
                .create(&actor, c, now)
                .await
                .expect("create");
            let missing = CustomerId::new();
            assert!(matches!(
                crm.customers().get(&actor, missing).await,
                Err(CrmError::NotFound { .. })
            ));
        })
    });
    let seen = seen.lock().expect("lock");
    let names: Vec<&str> = seen.spans.iter().map(|(n, _)| n.as_str()).collect();
    for want in [
        "customers.create",
        "crm.apply",
        "store.apply",
        "customers.get",
        "store.get",
    ] {
        assert!(names.contains(&want), "no span {want}: {names:?}");
    }
    let tenant = actor.tenant.to_string();
    let (_, apply) = seen
        .spans
        .iter()
        .find(|(n, _)| n == "store.apply")
        .expect("store.apply");
    assert!(
        apply.contains(&("tenant".into(), tenant.clone())),
        "{apply:?}"
    );
    assert!(
        apply
            .iter()
            .any(|(k, v)| k == "changes" && v.parse::<usize>().is_ok_and(|n| n >= 1)),
        "{apply:?}"
    );
    assert!(
        seen.events.iter().any(|e| e
            .iter()
            .any(|(k, v)| k == "error" && v.contains("not found"))),
        "the NotFound is reported in its span: {:?}",
        seen.events
    );

    // Without a subscriber, the same calls simply work.
    rt.block_on(async {
        let c = Customer::company(actor.tenant, "Quiet", now).expect("customer");
        crm.customers()
            .create(&actor, c, now)
            .await
            .expect("create");
    });
}
