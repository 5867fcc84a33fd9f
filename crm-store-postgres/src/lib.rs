//! # crm-store-postgres
//!
//! The PostgreSQL store of the `crm` library, for hosts that outgrow a file: many
//! application servers sharing one database, millions of records per tenant.
//!
//! ```no_run
//! # async fn demo() -> Result<(), crm_core::CrmError> {
//! let store = crm_store_postgres::PgStore::connect("postgres://app@db/crm").await?;
//! store.migrate().await?;
//! let crm = crm_core::Crm::new(store);
//! # Ok(()) }
//! ```
//!
//! - **SQL** comes from `crm-sql` (sea-query, the same builders as the SQLite store), bound
//!   with sea-query-sqlx; no `query!` macros, no `Any` driver. The pool is the host's:
//!   [`PgStore::connect`] or [`PgStore::from_pool`].
//! - **Migrations** are embedded with `sqlx::migrate!` (same numbering as SQLite) and run by
//!   the explicit [`PgStore::migrate`]; a database migrated by a newer version is refused.
//!   Each migration runs in one transaction. Migration 6 rewrites every search row (it
//!   fills `customer_search.grams`) and builds a GIN index, holding the search table's lock
//!   meanwhile: about four minutes for 1.2 million customers on a 2-core machine, during
//!   which writes that touch search documents wait. Run it in a maintenance window on large
//!   databases, then `VACUUM` (or `VACUUM FULL`, which also gives back the space of the
//!   rewritten rows) the `customer_search` table.
//! - **Two tenant fences**: every statement carries `tenant_id`, and every table has a
//!   row-level-security policy on the transaction-local setting `app.tenant_id`. Each
//!   transaction of the store switches to the role `crm_tenant` (`SET LOCAL ROLE`; a role without RLS bypass,
//!   created by the migration and granted to the migrating user) and sets `app.tenant_id`,
//!   so even a statement that forgot its predicate sees only its tenant.
//!   [`PgStore::begin_tenant`] hands hosts such a transaction for their own queries.
//! - **Atomic change sets** in one transaction; optimistic concurrency through `version` in
//!   the `WHERE` clause; unique violations are `AlreadyExists`; serialization failures and
//!   deadlocks are retryable `Storage` errors (the service retries them).
//! - **Search**: each customer's search document lives in `customer_search` with two GIN
//!   indexes, and a customer matches when every term occurs in its document: the same
//!   substring semantics as SQLite's FTS5 trigram index and the memory store. A term of
//!   four or more characters is narrowed by the document's four-character windows
//!   (`grams`, written with the document, migration 6; see `crm_sql::document_grams`)
//!   with `string_to_array(grams, ' ') @> <the term's windows>` and confirmed with
//!   `strpos(doc, term) > 0`; a shorter term is matched with `LIKE '%term%'` through the
//!   pg_trgm index. Windows of four characters are much rarer than trigrams, so a name
//!   search in a tenant of a million customers reads short posting lists (see
//!   BENCHMARKS.md); the price is a second index to maintain on every document written.
//!   Neither `LIKE` nor `@>` is leakproof, so under a row-level
//!   security policy PostgreSQL must evaluate the policy first and cannot use the index;
//!   searches therefore read `customer_search_fenced` (migration 4), a view owned by the
//!   tables' owner that applies the same `app.tenant_id` fence itself, in a subquery kept
//!   apart by `OFFSET 0`. The search table's policy still applies to the store's role for
//!   every write, and the statement's own `tenant_id` predicate stays. (A host that runs
//!   the store as the tables' owner with [`PgStore::with_role`]`(None)` has no policy on
//!   `customer_search` itself, since migration 4 drops `FORCE` there; the view and the
//!   predicates remain.)
//! - **Plans**: every transaction sets `plan_cache_mode = force_custom_plan`, so prepared
//!   statements are planned for their parameters and the current table sizes (a generic
//!   plan made while a fresh schema was tiny would otherwise keep sequential scans).
//!
//! ## Scaling out with Citus
//! `tenant_id` leads every primary key and index, and every foreign key includes it, so each
//! table can be distributed by tenant. After `migrate()`, on the coordinator:
//! ```sql
//! SELECT create_distributed_table('customer', 'tenant_id');
//! SELECT create_distributed_table('contact', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('contact_point', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('location', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('consent', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('pipeline', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('deal', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('lead', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('stage_change', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('activity', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('interaction', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('note', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('tag', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('tag_assignment', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('follow_up', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('owned_item', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('attachment', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('customer_search', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('outbox', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('outbox_counter', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('tenant_settings', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('merge_record', 'tenant_id', colocate_with => 'customer');
//! SELECT create_distributed_table('audit_entry', 'tenant_id', colocate_with => 'customer');
//! ```
//! Distribute parents before children (the order above) so the co-located foreign keys
//! can be created; every query of the store filters on `tenant_id` and is routed to one
//! shard.
#![warn(missing_docs)]

mod store;

pub use store::{PgStore, TENANT_ROLE};
