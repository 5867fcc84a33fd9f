//! Test helper for `crm-store-sqlite/tests/crash.rs`: bulk-imports customers into a SQLite
//! store in batches, forever, so that the test can kill it (SIGKILL) in the middle of a batch.
//!
//! ```text
//! crm-sqlite-crash-child <db path> <tenant uuid> <batch size> [first batch]
//! ```
//!
//! Opens and migrates the store, then for `k = first batch, first batch + 1, ...` applies one
//! change set holding `batch size` company customers, each marked with
//! `source = "batch-{k}"` and `external_ref = "batch-{k}-{i}"` and owning two contact points:
//! the e-mail `k{k}.i{i}@crash.example` and a phone number. Before applying batch `k` it
//! prints `applying {k}`, after its commit `committed {k}`, one flushed line each, on stdout.
//!
//! It never exits on its own: only on an error (exit code 1, message on stderr) or a bad
//! command line (exit code 2).

use std::convert::Infallible;
use std::io::Write;
use std::process::ExitCode;
use std::time::SystemTime;

use crm_core::model::{ContactPoint, ContactPointKind, Customer};
use crm_core::{ChangeSet, CrmStore, TenantId, Timestamp};
use crm_store_sqlite::SqliteStore;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const USAGE: &str =
    "usage: crm-sqlite-crash-child <db path> <tenant uuid> <batch size> [first batch]";

struct Args {
    path: String,
    tenant: TenantId,
    batch_size: usize,
    first_batch: u64,
}

fn parse_args() -> Result<Args, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !(3..=4).contains(&args.len()) {
        return Err(format!("expected 3 or 4 arguments, got {}", args.len()));
    }
    let tenant = TenantId::parse(&args[1]).map_err(|e| e.to_string())?;
    let batch_size: usize = args[2]
        .parse()
        .map_err(|e| format!("batch size {:?}: {e}", args[2]))?;
    if batch_size == 0 {
        return Err("batch size must be at least 1".into());
    }
    let first_batch: u64 = match args.get(3) {
        Some(s) => s.parse().map_err(|e| format!("first batch {s:?}: {e}"))?,
        None => 0,
    };
    Ok(Args {
        path: args[0].clone(),
        tenant,
        batch_size,
        first_batch,
    })
}

/// The change set of batch `k`: `size` customers with an e-mail and a phone each.
fn batch(tenant: TenantId, k: u64, size: usize) -> Result<ChangeSet, BoxError> {
    let now = Timestamp::from(SystemTime::now());
    let mut set = ChangeSet::new();
    for i in 0..size {
        let mut customer = Customer::company(tenant, &format!("Crash Import {k}/{i}"), now)?;
        customer.source = Some(format!("batch-{k}"));
        customer.external_ref = Some(format!("batch-{k}-{i}"));
        let id = customer.id;
        set.push_insert(customer);
        let mut email = ContactPoint::new(
            tenant,
            id,
            None,
            ContactPointKind::Email,
            &format!("k{k}.i{i}@crash.example"),
            None,
            now,
        )?;
        email.primary = true;
        set.push_insert(email);
        let mut phone = ContactPoint::new(
            tenant,
            id,
            None,
            ContactPointKind::Phone,
            &format!("+49 30 {:04} {:04}", k % 10_000, i % 10_000),
            None,
            now,
        )?;
        phone.primary = true;
        set.push_insert(phone);
    }
    Ok(set)
}

fn say(line: &str) -> Result<(), BoxError> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}")?;
    out.flush()?;
    Ok(())
}

async fn run(args: Args) -> Result<Infallible, BoxError> {
    let store = SqliteStore::open(&args.path).await?;
    store.migrate().await?;
    for k in args.first_batch.. {
        let set = batch(args.tenant, k, args.batch_size)?;
        say(&format!("applying {k}"))?;
        store.apply(args.tenant, set).await?;
        say(&format!("committed {k}"))?;
    }
    Err("ran out of batch numbers".into())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("crm-sqlite-crash-child: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(never) => match never {},
        Err(e) => {
            eprintln!("crm-sqlite-crash-child: {e}");
            ExitCode::FAILURE
        }
    }
}
