//! # crm
//!
//! An embeddable, tenant-scoped CRM domain for ERP applications: customers (people and
//! companies), contacts and contact points, locations, consent, leads, deals in
//! configurable pipelines, activities, interactions, notes, tags, follow-ups, owned items
//! and attachments, with a typed service API ([`Crm`]) over pluggable storage.
//!
//! Everything of [`crm_core`] is re-exported here. Stores:
//! - `sqlite`: the SQLite store, one file and no server (feature `sqlite`, on by default);
//! - `postgres`: the PostgreSQL store with row-level security (feature `postgres`);
//! - [`memory`]: the complete in-memory store (always available).
//!
//! ```
//! use crm::{memory::MemoryStore, Actor, Crm, Customer, TenantId, UserId};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let crm = Crm::new(MemoryStore::new());
//! let me = Actor::new(TenantId::new(), UserId::new());
//! let now = chrono::Utc::now();
//! let acme = crm.customers().create(&me, Customer::company(me.tenant, "Acme GmbH", now)?, now).await?;
//! let view = crm.customers().view_360(&me, acme.id).await?;
//! assert_eq!(view.customer.name, "Acme GmbH");
//! # Ok::<(), crm::CrmError>(())
//! # }).unwrap();
//! ```
#![warn(missing_docs)]

pub use crm_core::*;

/// The in-memory store.
pub mod memory {
    pub use crm_store_memory::MemoryStore;
}

/// The SQLite store, the embedded default (feature `sqlite`, on by default).
#[cfg(feature = "sqlite")]
pub mod sqlite {
    pub use crm_store_sqlite::{SqliteStore, SCHEMA_VERSION};
}

/// The PostgreSQL store, for scale (feature `postgres`).
#[cfg(feature = "postgres")]
pub mod postgres {
    pub use crm_store_postgres::{PgStore, TENANT_ROLE};
}

/// A [`RetryPause`] on tokio's timer, for [`CrmConfig::retry_pause`]: retries of retryable
/// storage errors (a busy SQLite file, a serialization failure in PostgreSQL) then back off
/// with jitter instead of following at once (feature `tokio`, on with either SQL store).
///
/// ```
/// let crm = crm::Crm::new(crm::memory::MemoryStore::new()).with_config(crm::CrmConfig {
///     retry_pause: Some(crm::tokio_retry_pause()),
///     ..Default::default()
/// });
/// # let _ = crm;
/// ```
#[cfg(feature = "tokio")]
pub fn tokio_retry_pause() -> RetryPause {
    RetryPause::new(|d| Box::pin(tokio::time::sleep(d)))
}

/// The README's code blocks, compiled as doctests so the README stays correct.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
