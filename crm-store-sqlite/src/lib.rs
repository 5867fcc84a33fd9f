//! # crm-store-sqlite
//!
//! The embedded default store of the `crm` library: one SQLite file, one call to open.
//!
//! ```no_run
//! # async fn demo() -> Result<(), crm_core::CrmError> {
//! let store = crm_store_sqlite::SqliteStore::open("crm.db").await?;
//! store.migrate().await?;
//! let crm = crm_core::Crm::new(store);
//! # Ok(()) }
//! ```
//!
//! - **SQL** comes from `crm-sql` (sea-query), bound with sea-query-rusqlite; rusqlite
//!   bundles SQLite, so no system library is needed.
//! - **Migrations** are numbered SQL files embedded in the binary and run by the explicit
//!   [`SqliteStore::migrate`]; opening a file written by a newer schema fails with an error
//!   naming both versions.
//! - **Concurrency**: WAL journal, `busy_timeout`, foreign keys on. All writes go through one
//!   writer connection on its own thread, each change set in one `BEGIN IMMEDIATE`
//!   transaction; reads run on a small pool of reader connections in tokio's blocking pool,
//!   so no async task ever blocks on SQLite.
//! - **Rules** are checked in the transaction exactly as the memory store checks them:
//!   tenant of every record, versions (`Conflict`), references (`NotFound`), rows still
//!   referred to (`InUse`); unique indexes give `AlreadyExists`.
//! - **Durability**: WAL with `synchronous=NORMAL`: a committed change set survives a crash
//!   of the process (the crash test kills a writer mid-import and finds every committed
//!   batch and nothing else), and the file is never corrupted; after a power loss or OS
//!   crash the transactions committed since the last WAL checkpoint may be lost.
//! - **Search**: each customer's search document ([`crm_core::search`]) is rebuilt in the
//!   same transaction as any write to the customer, its contacts or contact points, and
//!   indexed by an FTS5 trigram index.
#![warn(missing_docs)]

mod store;

pub use store::{SqliteStore, SCHEMA_VERSION};
