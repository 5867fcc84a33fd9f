//! Test database setup: `CRM_POSTGRES_URL` names the database; without it tests are skipped
//! with a printed reason, unless `CRM_REQUIRE_POSTGRES=1` makes that a failure. Each test
//! binary migrates a fresh schema of its own once; every test then connects its own small
//! pool to it (a pool belongs to the runtime of the test that made it), and uses fresh
//! random tenants, so tests and binaries run in parallel.

use std::str::FromStr;

use crm_store_postgres::PgStore;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::Connection;
use tokio::sync::OnceCell;

static SCHEMA: OnceCell<Option<(String, String)>> = OnceCell::const_new();

/// The URL, or `None` (after printing why) when Postgres tests are skipped.
pub fn url() -> Option<String> {
    match std::env::var("CRM_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => Some(u),
        _ => {
            if std::env::var("CRM_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
                panic!("CRM_REQUIRE_POSTGRES=1 but CRM_POSTGRES_URL is not set");
            }
            eprintln!("skipped: CRM_POSTGRES_URL is not set (e.g. postgres://postgres@127.0.0.1:5432/test)");
            None
        }
    }
}

fn options(url: &str, schema: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(url)
        .unwrap_or_else(|e| panic!("CRM_POSTGRES_URL is not a postgres URL: {e}"))
        .options([("search_path", format!("{schema},public"))])
}

/// `(url, schema)` of this binary's migrated schema, or `None` when skipped.
pub async fn schema() -> Option<(String, String)> {
    SCHEMA
        .get_or_init(|| async {
            let url = url()?;
            let schema = format!("crm_test_{}", uuid::Uuid::now_v7().simple());
            let mut admin = sqlx::PgConnection::connect(&url)
                .await
                .unwrap_or_else(|e| panic!("cannot connect to CRM_POSTGRES_URL: {e}"));
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                .execute(&mut admin)
                .await
                .expect("create schema");
            let store = PgStore::connect_with(options(&url, &schema))
                .await
                .expect("connect");
            store.migrate().await.expect("migrate");
            store.pool().close().await;
            Some((url, schema))
        })
        .await
        .clone()
}

/// A store on this binary's schema with a pool of its own, or `None` when skipped.
#[allow(dead_code)]
pub async fn store() -> Option<PgStore> {
    let (url, schema) = schema().await?;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options(&url, &schema))
        .await
        .expect("connect");
    Some(PgStore::from_pool(pool).await.expect("store"))
}
