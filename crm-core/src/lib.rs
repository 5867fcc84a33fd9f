//! # crm-core
//!
//! The pure domain of the `crm` library: entities, validation, the storage contract and
//! the [`Crm`] service that hosts call. No IO, no runtime, no database: stores live in
//! their own crates and implement [`store::CrmStore`].
//!
//! ```
//! use crm_core::{Actor, Crm, TenantId, UserId, Customer};
//! use crm_store_memory::MemoryStore;
//! # tokio_test_block(async {
//! let crm = Crm::new(MemoryStore::new());
//! let actor = Actor::new(TenantId::new(), UserId::new());
//! let now = chrono::Utc::now();
//! let ada = Customer::person(actor.tenant, "Ada", "Lovelace", now).unwrap();
//! let ada = crm.customers().create(&actor, ada, now).await.unwrap();
//! assert_eq!(crm.customers().get(&actor, ada.id).await.unwrap().name, "Ada Lovelace");
//! # });
//! # fn tokio_test_block<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
#![warn(missing_docs)]

pub mod dedupe;
pub mod error;
pub mod id;
pub mod model;
pub mod money;
pub mod pipeline;
pub mod search;
pub mod service;
pub mod store;
pub mod values;

pub use error::{CrmError, Result, StorageErrorKind};
pub use id::*;
pub use model::*;
pub use money::{Currency, Money};
pub use service::*;
pub use store::{
    ChangeSet, CrmStore, Cursor, Direction, DomainEvent, Entity, EntityKind, EntityRef,
    ExternalEventKind, ListQuery, Page, StoredEvent,
};
pub use values::{Country, Email, Percent, Phone};

/// Timestamps are UTC everywhere.
pub type Timestamp = chrono::DateTime<chrono::Utc>;
