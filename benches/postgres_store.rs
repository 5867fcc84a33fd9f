//! Benchmarks of the PostgreSQL store (issue 4, item 8).
//!
//! 1. **Bulk insert**: 100,000 customers with two contact points each (an e-mail and a
//!    phone), 1,000 customers per change set, through `PgStore::apply` (whose runs of
//!    consecutive inserts take the set-based path), and the same rows written by raw sqlx
//!    in transactions of the same size, fenced the same way (`PgStore::begin_tenant`):
//!    multi-row `INSERT`s built with `crm_sql::insert_many` for the customers and contact
//!    points and one `crm_sql::upsert_search_many` for the batch's search documents
//!    (`crm_core::search::customer_document`). Each run writes into a freshly migrated
//!    schema (`crm_bench_insert` for the store, `crm_bench_insert_raw` for raw sqlx); both
//!    schemas are compared row by row after the first round. A third path replays the
//!    store's statements by hand with a timer per step (existence checks, inserts, the
//!    search refresh that reads the rows back), so the output says where the difference
//!    goes.
//! 2. **Reads at 1,000,000 customers** (2,000,000 contact points) in one tenant, with two
//!    more tenants of 100,000 customers each in the same tables: get by id, first page of
//!    50 by name and by creation time, text search by an e-mail and by a name fragment.
//!    Each prints p50/p90/p99 over up to 1,000 queries through the store; the plans are
//!    printed with `EXPLAIN (ANALYZE, BUFFERS)` inside a fenced transaction. The dataset is
//!    built once with raw multi-row inserts of exactly the rows `apply` writes (crm-sql
//!    builders, search documents from `customer_document`), vacuumed and analysed, into
//!    schema `crm_bench_1m`, and reused by later runs when its row counts are right.
//!
//! Run with `cargo bench --bench postgres_store --features postgres`. The database is
//! `CRM_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`); the user must be
//! able to create schemas and run `CHECKPOINT`. `CRM_BENCH_PART=insert` or
//! `CRM_BENCH_PART=read` runs one part only. `CRM_BENCH_PREWARM=1` loads the relations the
//! reads use into shared buffers first (`pg_prewarm`, from PostgreSQL's contrib), for a
//! server whose `shared_buffers` can hold them: the steady state of a busy tenant, where
//! without it every query reads its pages through the operating system's cache.

use std::collections::HashMap;
use std::hint::black_box;
use std::str::FromStr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use criterion::{criterion_group, criterion_main, Criterion, SamplingMode};
use crm::postgres::PgStore;
use crm::search::customer_document;
use crm::store::{ChangeSet, CrmStore, Entity, EntityKind, EntityRead, Record};
use crm::{
    Contact, ContactPoint, ContactPointKind, Customer, CustomerFilter, CustomerId, CustomerSort,
    Direction, ListQuery, TenantId,
};
use sea_query::{LockType, PostgresQueryBuilder};
use sea_query_sqlx::{SqlxBinder, SqlxValues};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Row as _};
use tokio::runtime::Runtime;
use uuid::Uuid;

/// Customers of the bulk-insert runs.
const INSERT_CUSTOMERS: usize = 100_000;
/// Customers per change set / transaction.
const BATCH: usize = 1_000;
/// Rounds of the bulk inserts (the median is reported).
const INSERT_ROUNDS: usize = 3;
/// Change sets between two `ANALYZE`s in the runs that keep statistics current (10,000
/// customers: autovacuum's default analyze threshold is 10 % of the table plus 50 rows).
const ANALYZE_EVERY: usize = 10;
/// Customers of the measured tenant of the read dataset.
const BIG: usize = 1_000_000;
/// Customers of each of the two other tenants of the read dataset.
const OTHER: usize = 100_000;
/// Customers per transaction while building the read dataset.
const LOAD_TX: usize = 10_000;
/// Queries per latency series (at most).
const QUERIES: usize = 1_000;
/// Time budget of one latency series; a slower query gets fewer samples (at least 50).
const SERIES_BUDGET: Duration = Duration::from_secs(20);

const INSERT_SCHEMA: &str = "crm_bench_insert";
const RAW_SCHEMA: &str = "crm_bench_insert_raw";
const BIG_SCHEMA: &str = "crm_bench_1m";
const DEFAULT_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

// ----- data (as in benches/sqlite_store.rs) ---------------------------------------------

const FIRST: [&str; 32] = [
    "Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hugo", "Ida", "Jonas", "Karla",
    "Leon", "Mia", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Simon", "Tara", "Uwe", "Vera",
    "Walter", "Xenia", "Yusuf", "Zoe", "Marta", "Nils", "Lena", "Tom", "Eva", "Omar",
];
const SYLLABLES: [&str; 20] = [
    "ka", "lo", "mi", "ne", "ru", "sa", "te", "vo", "ber", "dan", "fel", "gor", "han", "kir",
    "lin", "mar", "nov", "pet", "ros", "win",
];

fn splitmix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// First and last name of customer `i` (deterministic). Three syllables give 8,000 last
/// names: about 125 customers share one at 1M.
fn name_of(i: usize) -> (&'static str, String) {
    let h = splitmix(i as u64);
    let first = FIRST[(h % FIRST.len() as u64) as usize];
    let mut last = String::new();
    for k in 0..3 {
        let s = (h >> (16 + 8 * k)) % SYLLABLES.len() as u64;
        last.push_str(SYLLABLES[s as usize]);
    }
    let mut chars = last.chars();
    let last = match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => last,
    };
    (first, last)
}

/// The e-mail fragment that finds customer `i` (the part of its address from the last name
/// to the `@`; unique in the whole database, the other tenants use indexes >= 1M).
fn email_fragment(i: usize) -> String {
    let (_, last) = name_of(i);
    format!("{}{i}@", last.to_lowercase())
}

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("time")
}

/// One customer with its e-mail and phone.
#[derive(Clone)]
struct Row {
    customer: Customer,
    email: ContactPoint,
    phone: ContactPoint,
}

fn make_row(tenant: TenantId, i: usize) -> Row {
    let now = base_time() + chrono::Duration::seconds(i as i64);
    let (first, last) = name_of(i);
    let customer = Customer::person(tenant, first, &last, now).expect("customer");
    let email = ContactPoint::new(
        tenant,
        customer.id,
        None,
        ContactPointKind::Email,
        &format!(
            "{}.{}{i}@example.com",
            first.to_lowercase(),
            last.to_lowercase()
        ),
        None,
        now,
    )
    .expect("email");
    let phone = ContactPoint::new(
        tenant,
        customer.id,
        None,
        ContactPointKind::Phone,
        &format!("+1415555{:04}", i % 10_000),
        None,
        now,
    )
    .expect("phone");
    Row {
        customer,
        email,
        phone,
    }
}

fn make_rows(tenant: TenantId, range: std::ops::Range<usize>) -> Vec<Row> {
    range.map(|i| make_row(tenant, i)).collect()
}

fn change_set(rows: &[Row]) -> ChangeSet {
    let mut cs = ChangeSet::new();
    for r in rows {
        cs.push_insert(r.customer.clone());
        cs.push_insert(r.email.clone());
        cs.push_insert(r.phone.clone());
    }
    cs
}

/// The search document the store writes for a row: the store reads the contact points
/// back ordered by id.
fn document(r: &Row) -> String {
    let mut points = [&r.email, &r.phone];
    points.sort_by_key(|p| Uuid::from(p.id));
    customer_document(&r.customer, [], points)
}

/// The records of a batch, grouped as the store's set-based path writes them.
struct Records {
    customers: Vec<Record>,
    points: Vec<Record>,
}

fn records(rows: &[Row]) -> Records {
    Records {
        customers: rows
            .iter()
            .map(|r| r.customer.clone().into_record())
            .collect(),
        points: rows
            .iter()
            .flat_map(|r| [r.email.clone().into_record(), r.phone.clone().into_record()])
            .collect(),
    }
}

type Stmt = (String, SqlxValues);

/// Multi-row inserts of `records` (all of one kind), at most `max_rows_per_insert` rows each.
fn inserts(kind: EntityKind, records: &[Record], out: &mut Vec<Stmt>) {
    for chunk in records.chunks(crm_sql::max_rows_per_insert(kind)) {
        out.push(
            crm_sql::insert_many(chunk)
                .expect("insert_many")
                .build_sqlx(PostgresQueryBuilder),
        );
    }
}

fn search_upsert(tenant: TenantId, rows: &[Row]) -> Stmt {
    let docs: Vec<(Uuid, String)> = rows
        .iter()
        .map(|r| (r.customer.id.into(), document(r)))
        .collect();
    crm_sql::upsert_search_many(tenant, &docs, crm_sql::Dialect::Postgres)
        .expect("upsert_search_many")
        .build_sqlx(PostgresQueryBuilder)
}

// ----- connections ----------------------------------------------------------------------

fn rt() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

fn url() -> String {
    match std::env::var("CRM_POSTGRES_URL") {
        Ok(u) if !u.trim().is_empty() => u,
        _ => DEFAULT_URL.to_string(),
    }
}

/// Options for `schema` (first on the search path, `public` for pg_trgm), as the tests do.
fn options(url: &str, schema: &str) -> PgConnectOptions {
    PgConnectOptions::from_str(url)
        .unwrap_or_else(|e| panic!("not a postgres URL: {e}"))
        .options([("search_path", format!("{schema},public"))])
}

async fn admin(url: &str) -> PgConnection {
    PgConnection::connect(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to {url}: {e}"))
}

async fn exec(conn: &mut PgConnection, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_string()))
        .execute(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn scalar_i64(conn: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(AssertSqlSafe(sql.to_string()))
        .fetch_one(&mut *conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

async fn run(conn: &mut PgConnection, (sql, values): Stmt) -> u64 {
    sqlx::query_with(AssertSqlSafe(sql), values)
        .execute(&mut *conn)
        .await
        .expect("statement")
        .rows_affected()
}

async fn strings(conn: &mut PgConnection, (sql, values): Stmt) -> Vec<String> {
    sqlx::query_with(AssertSqlSafe(sql), values)
        .fetch_all(&mut *conn)
        .await
        .expect("select")
        .iter()
        .map(|r| r.get::<String, _>(0))
        .collect()
}

/// Drops and recreates `schema`, and returns a store on it, migrated.
async fn fresh_schema(admin: &mut PgConnection, url: &str, schema: &str) -> PgStore {
    exec(
        admin,
        &format!("DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"),
    )
    .await;
    let store = PgStore::connect_with(options(url, schema))
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    store
}

fn rate(n: usize, d: Duration, what: &str) -> String {
    let per_s = n as f64 / d.as_secs_f64();
    if per_s >= 1e6 {
        format!("{:.2} M {what}/s", per_s / 1e6)
    } else {
        format!("{:.1} k {what}/s", per_s / 1e3)
    }
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

// ----- part 1: bulk insert --------------------------------------------------------------

/// `ANALYZE` of the tables the bulk insert writes, in `schema`.
async fn analyze(admin: &mut PgConnection, schema: &str) {
    exec(
        admin,
        &format!(
            "ANALYZE {schema}.customer, {schema}.contact, {schema}.contact_point, \
             {schema}.customer_search"
        ),
    )
    .await;
}

/// Everything through `PgStore::apply`, one change set per batch; returns the time of
/// each change set. With `analyze_in`, the tables of that schema are analysed after every
/// [`ANALYZE_EVERY`] change sets, outside the timed region (what autovacuum would do in
/// the background; it is off on this server).
async fn insert_store(
    store: &PgStore,
    tenant: TenantId,
    rows: &[Row],
    analyze_in: Option<(&mut PgConnection, &str)>,
) -> Vec<Duration> {
    let sets: Vec<ChangeSet> = rows.chunks(BATCH).map(change_set).collect();
    let mut analyze_in = analyze_in;
    let mut took = Vec::with_capacity(sets.len());
    for (i, cs) in sets.into_iter().enumerate() {
        let start = Instant::now();
        store.apply(tenant, cs).await.expect("apply");
        took.push(start.elapsed());
        if let Some((admin, schema)) = analyze_in.as_mut() {
            if (i + 1) % ANALYZE_EVERY == 0 {
                analyze(admin, schema).await;
            }
        }
    }
    took
}

/// Time per step of the raw paths, summed over the batches.
#[derive(Clone, Copy, Default)]
struct Steps {
    /// `begin_tenant`: BEGIN, SET LOCAL ROLE, set_config.
    begin: Duration,
    /// The store's existence check of every new id (one query per kind).
    exists: Duration,
    /// Multi-row inserts of customers and contact points (building + binding included).
    insert: Duration,
    /// The store's refresh reads: customers `FOR NO KEY UPDATE`, contacts, contact points,
    /// JSON decoded, documents built from the decoded rows.
    refresh: Duration,
    /// Search documents from the entities in hand (raw path only).
    docs: Duration,
    /// The multi-row search upsert.
    upsert: Duration,
    commit: Duration,
}

impl Steps {
    fn total(&self) -> Duration {
        self.begin
            + self.exists
            + self.insert
            + self.refresh
            + self.docs
            + self.upsert
            + self.commit
    }

    fn items(&self) -> [(&'static str, Duration); 7] {
        [
            ("begin_tenant", self.begin),
            ("existence checks", self.exists),
            ("inserts", self.insert),
            ("refresh reads + decode + documents", self.refresh),
            ("documents", self.docs),
            ("search upsert", self.upsert),
            ("commit", self.commit),
        ]
    }
}

/// Raw sqlx: per batch, a fenced transaction with the multi-row inserts and the search
/// upsert. With `replay`, the store's extra statements are replayed too: the existence
/// check per kind before the inserts, and the refresh that reads the batch back (locking
/// the customers) and builds the documents from the decoded rows.
async fn insert_raw(
    store: &PgStore,
    tenant: TenantId,
    rows: &[Row],
    replay: bool,
    analyze_in: Option<(&mut PgConnection, &str)>,
) -> (Duration, Steps) {
    let batches: Vec<(&[Row], Records)> = rows.chunks(BATCH).map(|c| (c, records(c))).collect();
    let mut analyze_in = analyze_in;
    let mut s = Steps::default();
    for (i, (rows, recs)) in batches.iter().enumerate() {
        if let Some((admin, schema)) = analyze_in.as_mut() {
            if i > 0 && i % ANALYZE_EVERY == 0 {
                analyze(admin, schema).await;
            }
        }
        let t = Instant::now();
        let mut tx = store.begin_tenant(tenant).await.expect("begin");
        s.begin += t.elapsed();
        if replay {
            let t = Instant::now();
            for (kind, recs) in [
                (EntityKind::Customer, &recs.customers),
                (EntityKind::ContactPoint, &recs.points),
            ] {
                let ids: Vec<Uuid> = recs.iter().map(|r| r.entity_ref().id).collect();
                let (sql, values) =
                    crm_sql::select_existing(kind, tenant, &ids).build_sqlx(PostgresQueryBuilder);
                let found = sqlx::query_with(AssertSqlSafe(sql), values)
                    .fetch_optional(&mut *tx)
                    .await
                    .expect("exists");
                assert!(found.is_none());
            }
            s.exists += t.elapsed();
        }
        let t = Instant::now();
        let mut stmts = Vec::new();
        inserts(EntityKind::Customer, &recs.customers, &mut stmts);
        inserts(EntityKind::ContactPoint, &recs.points, &mut stmts);
        for st in stmts {
            run(&mut tx, st).await;
        }
        s.insert += t.elapsed();
        let upsert = if replay {
            let t = Instant::now();
            let ids: Vec<Uuid> = rows.iter().map(|r| r.customer.id.into()).collect();
            let mut sel = crm_sql::select_where_in(EntityKind::Customer, tenant, "id", &ids);
            sel.lock(LockType::NoKeyUpdate);
            let customers: Vec<Customer> = strings(&mut tx, sel.build_sqlx(PostgresQueryBuilder))
                .await
                .iter()
                .map(|j| crm_sql::decode(j).expect("decode"))
                .collect();
            let mut contacts: HashMap<Uuid, Vec<Contact>> = HashMap::new();
            let sel = crm_sql::select_where_in(EntityKind::Contact, tenant, "customer_id", &ids);
            for j in strings(&mut tx, sel.build_sqlx(PostgresQueryBuilder)).await {
                let c: Contact = crm_sql::decode(&j).expect("decode");
                contacts.entry(c.customer_id.into()).or_default().push(c);
            }
            let mut points: HashMap<Uuid, Vec<ContactPoint>> = HashMap::new();
            let sel =
                crm_sql::select_where_in(EntityKind::ContactPoint, tenant, "customer_id", &ids);
            for j in strings(&mut tx, sel.build_sqlx(PostgresQueryBuilder)).await {
                let p: ContactPoint = crm_sql::decode(&j).expect("decode");
                points.entry(p.customer_id.into()).or_default().push(p);
            }
            let docs: Vec<(Uuid, String)> = customers
                .iter()
                .map(|c| {
                    let id: Uuid = c.id.into();
                    let cs = contacts.get(&id).map(Vec::as_slice).unwrap_or(&[]);
                    let ps = points.get(&id).map(Vec::as_slice).unwrap_or(&[]);
                    (id, customer_document(c, cs, ps))
                })
                .collect();
            let st = crm_sql::upsert_search_many(tenant, &docs, crm_sql::Dialect::Postgres)
                .expect("upsert")
                .build_sqlx(PostgresQueryBuilder);
            s.refresh += t.elapsed();
            st
        } else {
            let t = Instant::now();
            let st = search_upsert(tenant, rows);
            s.docs += t.elapsed();
            st
        };
        let t = Instant::now();
        run(&mut tx, upsert).await;
        s.upsert += t.elapsed();
        let t = Instant::now();
        tx.commit().await.expect("commit");
        s.commit += t.elapsed();
    }
    (s.total(), s)
}

/// The store's schema and the raw schema hold exactly the same rows.
async fn assert_same_rows(admin: &mut PgConnection) {
    let mut compared = 0;
    for table in ["customer", "contact", "contact_point", "customer_search"] {
        let a = format!("{INSERT_SCHEMA}.{table}");
        let b = format!("{RAW_SCHEMA}.{table}");
        let diff = scalar_i64(
            admin,
            &format!(
                "SELECT (SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b}) x) \
                 + (SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a}) y)"
            ),
        )
        .await;
        assert_eq!(diff, 0, "{table}: the store's rows and the raw rows differ");
        compared += scalar_i64(admin, &format!("SELECT count(*) FROM {a}")).await;
    }
    println!(
        "  check: the store's schema and the raw schema hold the same rows \
         ({compared} rows, every column compared with EXCEPT ALL both ways)"
    );
}

/// Prints `EXPLAIN (ANALYZE, BUFFERS)` of a statement inside a fenced transaction (lines
/// cut at 160 characters: the 1,000-id lists are long).
async fn explain_stmt(store: &PgStore, tenant: TenantId, label: &str, (sql, values): Stmt) {
    let mut tx = store.begin_tenant(tenant).await.expect("begin");
    let lines = strings(
        &mut tx,
        (format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"), values),
    )
    .await;
    tx.rollback().await.expect("rollback");
    println!("    {label}:");
    for l in lines {
        let cut: String = l.chars().take(160).collect();
        println!(
            "      {cut}{}",
            if cut.len() < l.len() { " ..." } else { "" }
        );
    }
}

/// The plans of the store's set-based reads of one change set, at the end of a bulk insert:
/// the existence checks of the next change set's ids and the search refresh's reads of
/// the last change set's customers.
async fn explain_store_reads(store: &PgStore, tenant: TenantId, last: &[Row], next: &[Row]) {
    let cust: Vec<Uuid> = next.iter().map(|r| r.customer.id.into()).collect();
    let points: Vec<Uuid> = next
        .iter()
        .flat_map(|r| [r.email.id.into(), r.phone.id.into()])
        .collect();
    let done: Vec<Uuid> = last.iter().map(|r| r.customer.id.into()).collect();
    let build = |s: sea_query::SelectStatement| s.build_sqlx(PostgresQueryBuilder);
    explain_stmt(
        store,
        tenant,
        "existence check of 1,000 new customer ids",
        build(crm_sql::select_existing(
            EntityKind::Customer,
            tenant,
            &cust,
        )),
    )
    .await;
    explain_stmt(
        store,
        tenant,
        "existence check of 2,000 new contact point ids",
        build(crm_sql::select_existing(
            EntityKind::ContactPoint,
            tenant,
            &points,
        )),
    )
    .await;
    let mut sel = crm_sql::select_where_in(EntityKind::Customer, tenant, "id", &done);
    sel.lock(LockType::NoKeyUpdate);
    explain_stmt(
        store,
        tenant,
        "refresh: the 1,000 customers FOR NO KEY UPDATE",
        build(sel),
    )
    .await;
    explain_stmt(
        store,
        tenant,
        "refresh: their contact points",
        build(crm_sql::select_where_in(
            EntityKind::ContactPoint,
            tenant,
            "customer_id",
            &done,
        )),
    )
    .await;
}

fn part_insert(rt: &Runtime, url: &str) {
    rt.block_on(async {
        let mut admin = admin(url).await;
        let autovacuum: String = sqlx::query_scalar("SELECT current_setting('autovacuum')")
            .fetch_one(&mut admin)
            .await
            .expect("autovacuum");
        let tenant = TenantId::new();
        let start = Instant::now();
        let rows = make_rows(tenant, 0..INSERT_CUSTOMERS);
        let next = make_rows(tenant, INSERT_CUSTOMERS..INSERT_CUSTOMERS + BATCH);
        let entity_rows = rows.len() * 3;
        println!(
            "\npostgres bulk insert: {INSERT_CUSTOMERS} customers x (customer + e-mail + phone) = \
             {entity_rows} entity rows + {INSERT_CUSTOMERS} customer_search rows (pg_trgm and grams GIN indexes), \
             {BATCH} customers per change set / transaction, freshly migrated schema each run, \
             CHECKPOINT before each run (entities generated in {}); rows/s counts entity rows; \
             server autovacuum = {autovacuum}, so nothing analyses the new tables unless the \
             bench does: the store runs with ANALYZE every {ANALYZE_EVERY} change sets (outside \
             the timing), and once without",
            secs(start.elapsed())
        );
        let (mut raw_t, mut store_t) = (Vec::new(), Vec::new());
        let mut replay = None;
        for round in 0..INSERT_ROUNDS {
            let raw = fresh_schema(&mut admin, url, RAW_SCHEMA).await;
            exec(&mut admin, "CHECKPOINT").await;
            let (r, raw_steps) = insert_raw(&raw, tenant, &rows, false, None).await;
            raw.pool().close().await;

            let store = fresh_schema(&mut admin, url, INSERT_SCHEMA).await;
            exec(&mut admin, "CHECKPOINT").await;
            let s: Duration =
                insert_store(&store, tenant, &rows, Some((&mut admin, INSERT_SCHEMA)))
                    .await
                    .iter()
                    .sum();
            store.pool().close().await;
            if round == 0 {
                assert_same_rows(&mut admin).await;
            }
            let mut line = format!(
                "  round {}: raw sqlx {} ({}), store apply (ANALYZE every {ANALYZE_EVERY} change \
                 sets) {} ({}), store/raw {:.2}x",
                round + 1,
                secs(r),
                rate(entity_rows, r, "rows"),
                secs(s),
                rate(entity_rows, s, "rows"),
                s.as_secs_f64() / r.as_secs_f64()
            );
            if round == 0 {
                let p = fresh_schema(&mut admin, url, RAW_SCHEMA).await;
                exec(&mut admin, "CHECKPOINT").await;
                let (t, steps) =
                    insert_raw(&p, tenant, &rows, true, Some((&mut admin, RAW_SCHEMA))).await;
                p.pool().close().await;
                line.push_str(&format!(
                    "; raw replaying the store's statements (same ANALYZEs) {} ({:.2}x raw)",
                    secs(t),
                    t.as_secs_f64() / r.as_secs_f64()
                ));
                replay = Some((raw_steps, steps));
            }
            println!("{line}");
            raw_t.push(r);
            store_t.push(s);
        }
        let (s, r) = (median(store_t), median(raw_t));
        println!(
            "  median of {INSERT_ROUNDS}: store apply (ANALYZE every {ANALYZE_EVERY} change sets) \
             {} = {} ({}); raw sqlx {} = {} ({}); store/raw = {:.2}x",
            secs(s),
            rate(entity_rows, s, "rows"),
            rate(INSERT_CUSTOMERS, s, "customers"),
            secs(r),
            rate(entity_rows, r, "rows"),
            rate(INSERT_CUSTOMERS, r, "customers"),
            s.as_secs_f64() / r.as_secs_f64()
        );
        if let Some((raw_steps, replay_steps)) = replay {
            println!(
                "  where the time goes (round 1, summed over the {} transactions; replay = raw \
                 sqlx running the store's statements):",
                INSERT_CUSTOMERS / BATCH
            );
            for ((label, a), (_, b)) in raw_steps.items().iter().zip(replay_steps.items()) {
                if a.is_zero() && b.is_zero() {
                    continue;
                }
                println!("    {label:<36} raw {:>8}  replay {:>8}", secs(*a), secs(b));
            }
            println!(
                "    {:<36} raw {:>8}  replay {:>8}",
                "total",
                secs(raw_steps.total()),
                secs(replay_steps.total())
            );
        }

        // Once: the store on tables nobody analyses (this server's autovacuum is off).
        let store = fresh_schema(&mut admin, url, INSERT_SCHEMA).await;
        exec(&mut admin, "CHECKPOINT").await;
        let sets = insert_store(&store, tenant, &rows, None).await;
        let total: Duration = sets.iter().sum();
        println!(
            "  once, store apply on never-analysed tables: {} ({}), {:.2}x the raw median; \
             seconds per {ANALYZE_EVERY} change sets as the tables grow: {}",
            secs(total),
            rate(entity_rows, total, "rows"),
            total.as_secs_f64() / r.as_secs_f64(),
            sets.chunks(ANALYZE_EVERY)
                .map(|c| format!("{:.2}", c.iter().sum::<Duration>().as_secs_f64()))
                .collect::<Vec<_>>()
                .join(" ")
        );
        println!(
            "  plans of the store's set-based reads of one change set at {INSERT_CUSTOMERS} \
             customers, never analysed (existence checks of the next change set's ids, the \
             refresh reads of the last change set):"
        );
        explain_store_reads(&store, tenant, &rows[rows.len() - BATCH..], &next).await;
        analyze(&mut admin, INSERT_SCHEMA).await;
        println!("  the same after ANALYZE:");
        explain_store_reads(&store, tenant, &rows[rows.len() - BATCH..], &next).await;
        store.pool().close().await;
    });
}

// ----- part 2: reads at 1M ----------------------------------------------------------------

/// The tenants of a complete read dataset, if `crm_bench_1m` holds one.
async fn check_big(admin: &mut PgConnection) -> Option<[TenantId; 3]> {
    let exists: bool = sqlx::query_scalar(
        "SELECT to_regclass('crm_bench_1m.bench_meta') IS NOT NULL \
         AND to_regclass('crm_bench_1m._sqlx_migrations') IS NOT NULL",
    )
    .fetch_one(&mut *admin)
    .await
    .ok()?;
    if !exists {
        return None;
    }
    let version = scalar_i64(
        admin,
        "SELECT coalesce(max(version), 0) FROM crm_bench_1m._sqlx_migrations WHERE success",
    )
    .await;
    if version != PgStore::latest_version() {
        return None;
    }
    let meta: Vec<(Uuid, i64)> =
        sqlx::query_as("SELECT tenant_id, customers FROM crm_bench_1m.bench_meta ORDER BY ord")
            .fetch_all(&mut *admin)
            .await
            .ok()?;
    if meta.len() != 3 {
        return None;
    }
    let expect: HashMap<Uuid, i64> = meta.iter().copied().collect();
    for (table, per_customer) in [
        ("customer", 1),
        ("contact_point", 2),
        ("customer_search", 1),
    ] {
        let counts: Vec<(Uuid, i64)> = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT tenant_id, count(*) FROM {BIG_SCHEMA}.{table} GROUP BY tenant_id"
        )))
        .fetch_all(&mut *admin)
        .await
        .ok()?;
        if counts.len() != 3
            || counts
                .iter()
                .any(|(t, n)| expect.get(t).map(|c| c * per_customer) != Some(*n))
        {
            return None;
        }
    }
    Some([
        TenantId::from(meta[0].0),
        TenantId::from(meta[1].0),
        TenantId::from(meta[2].0),
    ])
}

/// The batches of the read dataset, the other tenants' batches interleaved with the big
/// tenant's (so all three share heap and index pages as they would in production).
/// Customer indexes: big tenant 0..1M, the others 1M..1.1M and 1.1M..1.2M.
fn big_plan(t: [TenantId; 3]) -> Vec<(TenantId, std::ops::Range<usize>)> {
    let mut plan = Vec::new();
    let every = BIG / OTHER;
    for b in 0..BIG / BATCH {
        plan.push((t[0], b * BATCH..(b + 1) * BATCH));
        let k = b / every;
        if b % every == every / 2 - 1 {
            plan.push((t[1], BIG + k * BATCH..BIG + (k + 1) * BATCH));
        }
        if b % every == every - 1 {
            plan.push((t[2], BIG + OTHER + k * BATCH..BIG + OTHER + (k + 1) * BATCH));
        }
    }
    plan
}

/// Builds the read dataset with raw multi-row inserts of the rows `apply` would write.
async fn build_big(admin: &mut PgConnection, url: &str) -> [TenantId; 3] {
    let start = Instant::now();
    let tenants = [TenantId::new(), TenantId::new(), TenantId::new()];
    println!(
        "\npostgres reads: building schema {BIG_SCHEMA} with raw multi-row INSERTs \
         (crm_sql::insert_many + upsert_search_many, the rows apply writes): tenant A {BIG}, \
         tenants B and C {OTHER} customers each, x (customer + e-mail + phone), batches \
         interleaved, {LOAD_TX} customers per transaction"
    );
    let store = fresh_schema(admin, url, BIG_SCHEMA).await;
    store.pool().close().await;
    let mut conn = PgConnection::connect_with(&options(url, BIG_SCHEMA))
        .await
        .expect("connect");
    // Entities and statements are made on a second thread while this one writes.
    let plan = big_plan(tenants);
    let (tx, rx) = mpsc::sync_channel::<(usize, Vec<Stmt>)>(4);
    let producer = std::thread::spawn(move || {
        for (tenant, range) in plan {
            let n = range.len();
            let rows = make_rows(tenant, range);
            let recs = records(&rows);
            let mut stmts = Vec::new();
            inserts(EntityKind::Customer, &recs.customers, &mut stmts);
            inserts(EntityKind::ContactPoint, &recs.points, &mut stmts);
            stmts.push(search_upsert(tenant, &rows));
            if tx.send((n, stmts)).is_err() {
                break;
            }
        }
    });
    let (mut done, mut in_tx) = (0usize, 0usize);
    let mut lap = Instant::now();
    let mut db = conn.begin().await.expect("begin");
    while let Ok((n, stmts)) = rx.recv() {
        for st in stmts {
            run(&mut db, st).await;
        }
        in_tx += n;
        if in_tx >= LOAD_TX {
            db.commit().await.expect("commit");
            db = conn.begin().await.expect("begin");
            in_tx = 0;
        }
        done += n;
        if done % 300_000 == 0 {
            println!(
                "  {done} customers after {} ({} over the last 300k)",
                secs(start.elapsed()),
                rate(300_000, lap.elapsed(), "customers")
            );
            lap = Instant::now();
        }
    }
    db.commit().await.expect("commit");
    producer.join().expect("producer");
    let loaded = start.elapsed();
    let t = Instant::now();
    exec(
        &mut conn,
        "VACUUM (ANALYZE) customer, contact, contact_point, customer_search",
    )
    .await;
    let vacuum = t.elapsed();
    exec(
        &mut conn,
        "CREATE TABLE bench_meta (ord INT PRIMARY KEY, tenant_id UUID NOT NULL, customers BIGINT NOT NULL)",
    )
    .await;
    for (ord, (t, n)) in tenants.iter().zip([BIG, OTHER, OTHER]).enumerate() {
        sqlx::query("INSERT INTO bench_meta VALUES ($1, $2, $3)")
            .bind(ord as i32)
            .bind(Uuid::from(*t))
            .bind(n as i64)
            .execute(&mut conn)
            .await
            .expect("meta");
    }
    println!(
        "  loaded in {} ({} entity rows incl. entity generation), VACUUM (ANALYZE) {}",
        secs(loaded),
        rate(3 * (BIG + 2 * OTHER), loaded, "entity rows"),
        secs(vacuum)
    );
    conn.close().await.expect("close");
    assert_eq!(
        check_big(admin).await,
        Some(tenants),
        "the built dataset is incomplete"
    );
    tenants
}

/// Latency of `op` over up to [`QUERIES`] calls (after 20 warm-up calls); prints p50, p90,
/// p99 (nearest rank), max and mean.
fn latency(label: &str, mut op: impl FnMut(usize) -> usize) -> Duration {
    for i in 0..20 {
        black_box(op(QUERIES + i));
    }
    let mut v = Vec::with_capacity(QUERIES);
    let mut hits = 0usize;
    let series = Instant::now();
    for i in 0..QUERIES {
        let start = Instant::now();
        hits += op(i);
        v.push(start.elapsed());
        if v.len() >= 50 && series.elapsed() > SERIES_BUDGET {
            break;
        }
    }
    let n = v.len();
    let mean = v.iter().sum::<Duration>() / n as u32;
    v.sort();
    let pct = |p: f64| v[((n as f64 * p).ceil() as usize).clamp(1, n) - 1];
    println!(
        "  {label}: n={n} p50={:?} p90={:?} p99={:?} max={:?} mean={:?} (rows per query {:.1})",
        pct(0.50),
        pct(0.90),
        pct(0.99),
        v[n - 1],
        mean,
        hits as f64 / n as f64
    );
    pct(0.99)
}

fn by_name() -> ListQuery<Customer> {
    ListQuery::<Customer>::new()
        .sorted(CustomerSort::Name, Direction::Asc)
        .limit(50)
}

fn by_created_desc() -> ListQuery<Customer> {
    ListQuery::<Customer>::new()
        .sorted(CustomerSort::CreatedAt, Direction::Desc)
        .limit(50)
}

fn text_query(text: String) -> ListQuery<Customer> {
    ListQuery::<Customer>::filter(CustomerFilter {
        text: Some(text),
        ..Default::default()
    })
    .limit(50)
}

/// Prints `EXPLAIN (ANALYZE, BUFFERS)` of the page query the store runs for `q`, inside a
/// transaction fenced like the store's (so the row-level-security predicate is in it).
async fn explain(store: &PgStore, tenant: TenantId, label: &str, q: &ListQuery<Customer>) {
    let stmt = crm_sql::select_page(tenant, q, crm_sql::Dialect::Postgres).expect("page");
    let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
    let mut tx = store.begin_tenant(tenant).await.expect("begin");
    let lines = strings(
        &mut tx,
        (format!("EXPLAIN (ANALYZE, BUFFERS) {sql}"), values),
    )
    .await;
    tx.rollback().await.expect("rollback");
    println!("  plan of {label} (EXPLAIN ANALYZE, in a fenced transaction):");
    println!("    SQL: {sql}");
    for l in lines {
        println!("    {l}");
    }
}

fn part_read(c: &mut Criterion, rt: &Runtime, url: &str) {
    let (tenants, store, ids, sizes) = rt.block_on(async {
        let mut admin = admin(url).await;
        let start = Instant::now();
        // A dataset built by an older schema version is brought to the latest one by the
        // store's own migrations (they add tables, the rows stay valid).
        let migrated: bool =
            sqlx::query_scalar("SELECT to_regclass('crm_bench_1m._sqlx_migrations') IS NOT NULL")
                .fetch_one(&mut admin)
                .await
                .expect("to_regclass");
        if migrated {
            let s = PgStore::connect_with(options(url, BIG_SCHEMA))
                .await
                .expect("connect");
            let before = s.schema_version().await.expect("version");
            if before < PgStore::latest_version() {
                s.migrate().await.expect("migrate");
                // This server runs without autovacuum; a migration that rewrote rows
                // (schema version 6 fills `customer_search.grams`) leaves them dead.
                sqlx::query("VACUUM (ANALYZE) crm_bench_1m.customer_search")
                    .execute(&mut admin)
                    .await
                    .expect("vacuum");
                println!(
                    "\npostgres reads: migrated {BIG_SCHEMA} from schema version {before} to {} \
                     and vacuumed the search table, in {}",
                    PgStore::latest_version(),
                    secs(start.elapsed())
                );
            }
            s.pool().close().await;
        }
        let tenants = match check_big(&mut admin).await {
            Some(t) => {
                println!(
                    "\npostgres reads: reusing schema {BIG_SCHEMA} (tenant A {BIG}, tenants B and \
                     C {OTHER} customers each, 2 contact points and 1 search row per customer; \
                     checked in {})",
                    secs(start.elapsed())
                );
                t
            }
            None => build_big(&mut admin, url).await,
        };
        let shared_buffers: String = sqlx::query_scalar("SELECT current_setting('shared_buffers')")
            .fetch_one(&mut admin)
            .await
            .expect("shared_buffers");
        println!("  server shared_buffers = {shared_buffers}");
        if std::env::var("CRM_BENCH_PREWARM").is_ok_and(|v| v == "1") {
            let t = Instant::now();
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
                .execute(&mut admin)
                .await
                .expect("pg_prewarm (contrib) is needed for CRM_BENCH_PREWARM=1");
            let blocks: i64 = sqlx::query_scalar(
                "SELECT sum(pg_prewarm(('crm_bench_1m.' || r)::regclass))::bigint FROM unnest(ARRAY[\
                 'customer', 'customer_pkey', 'customer_created_at', 'customer_name_ci', \
                 'customer_search', 'customer_search_pkey', 'customer_search_grams', \
                 'customer_search_doc_trgm']) AS r",
            )
            .fetch_one(&mut admin)
            .await
            .expect("prewarm");
            println!(
                "  CRM_BENCH_PREWARM=1: pg_prewarm read {blocks} blocks ({} MiB) of the tables \
                 and indexes the reads use into shared buffers, in {}",
                blocks * 8 / 1024,
                secs(t.elapsed())
            );
        }
        let sizes: Vec<(String, i64)> = sqlx::query_as(
            "SELECT c.relname::text, pg_relation_size(c.oid) FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'crm_bench_1m' AND c.relname IN ('customer', 'contact_point', \
             'customer_search', 'customer_search_doc_trgm', 'customer_search_grams', \
             'customer_search_pkey', 'customer_name_ci', 'customer_created_at') ORDER BY 1",
        )
        .fetch_all(&mut admin)
        .await
        .expect("sizes");
        let store = PgStore::connect_with(options(url, BIG_SCHEMA))
            .await
            .expect("connect");
        let ids: Vec<CustomerId> = sqlx::query_scalar::<_, Uuid>(
            "SELECT id FROM crm_bench_1m.customer WHERE tenant_id = $1",
        )
        .bind(Uuid::from(tenants[0]))
        .fetch_all(&mut admin)
        .await
        .expect("ids")
        .into_iter()
        .map(CustomerId::from)
        .collect();
        assert_eq!(ids.len(), BIG);
        (tenants, store, ids, sizes)
    });
    let tenant = tenants[0];
    let sizes: Vec<String> = sizes
        .iter()
        .map(|(n, b)| format!("{n} {:.0} MiB", *b as f64 / (1024.0 * 1024.0)))
        .collect();
    println!("  relation sizes: {}", sizes.join(", "));

    let pick = |i: usize| (splitmix(i as u64 ^ 0xABCD) % BIG as u64) as usize;
    let get = |i: usize| -> usize {
        let c = rt
            .block_on(EntityRead::<Customer>::get(&store, tenant, ids[pick(i)]))
            .expect("get");
        usize::from(c.is_some())
    };
    let list = |q: &ListQuery<Customer>| -> usize {
        rt.block_on(EntityRead::<Customer>::list(&store, tenant, q))
            .expect("list")
            .items
            .len()
    };
    let email = |i: usize| -> usize {
        let k = pick(i);
        let page = rt
            .block_on(EntityRead::<Customer>::list(
                &store,
                tenant,
                &text_query(email_fragment(k)),
            ))
            .expect("search");
        // Customer k was created k seconds after the base time: it must be the one hit.
        assert_eq!(page.items.len(), 1, "e-mail fragment {}", email_fragment(k));
        assert_eq!(
            page.items[0].created_at,
            base_time() + chrono::Duration::seconds(k as i64)
        );
        1
    };
    let name = |i: usize| -> usize {
        let (_, last) = name_of(pick(i));
        let n = rt
            .block_on(EntityRead::<Customer>::list(
                &store,
                tenant,
                &text_query(last),
            ))
            .expect("search")
            .items
            .len();
        assert!(n >= 1);
        n
    };

    let (email_example, name_example) = (email_fragment(pick(0)), name_of(pick(0)).1);
    println!(
        "postgres reads at {BIG} customers / {} contact points in tenant A ({} customers in \
         the tables), through PgStore (each call: a fenced transaction = BEGIN, SET LOCAL ROLE, \
         set_config, the query, COMMIT); text: e-mail fragment like {email_example:?} (1 hit), \
         name fragment = a last name like {name_example:?} (about 125 hits in A, page of 50, \
         default order created_at)",
        2 * BIG,
        BIG + 2 * OTHER
    );
    rt.block_on(async {
        explain(&store, tenant, "first page by name", &by_name()).await;
        explain(
            &store,
            tenant,
            "first page by created_at desc",
            &by_created_desc(),
        )
        .await;
        explain(
            &store,
            tenant,
            "e-mail fragment search",
            &text_query(email_example.clone()),
        )
        .await;
        explain(
            &store,
            tenant,
            "name fragment search",
            &text_query(name_example.clone()),
        )
        .await;
    });
    latency("get customer by id", get);
    latency("first page of 50 by name", |_| list(&by_name()));
    latency("first page of 50 by created_at desc", |_| {
        list(&by_created_desc())
    });
    latency("text search, e-mail fragment (limit 50)", email);
    latency("text search, name fragment (limit 50)", name);

    // Diagnostics: the cost of the fence (round trips), and which plans the prepared
    // search statement got.
    let raw_pool = rt
        .block_on(
            PgPoolOptions::new()
                .max_connections(1)
                .connect_with(options(url, BIG_SCHEMA)),
        )
        .expect("pool");
    println!(
        "  diagnostics: the same SELECT without the fenced transaction (1 round trip on a \
         pooled connection, superuser, no row-level security), and the fence alone"
    );
    latency("get by id, bare SELECT", |i| {
        let stmt = crm_sql::select_one(EntityKind::Customer, tenant, ids[pick(i)].into());
        let (sql, values) = stmt.build_sqlx(PostgresQueryBuilder);
        let rows = rt
            .block_on(sqlx::query_with(AssertSqlSafe(sql), values).fetch_all(&raw_pool))
            .expect("select");
        let c: Customer = crm_sql::decode(&rows[0].get::<String, _>(0)).expect("decode");
        black_box(c);
        rows.len()
    });
    latency("fence alone (begin_tenant + COMMIT)", |_| {
        rt.block_on(async {
            let tx = store.begin_tenant(tenant).await.expect("begin");
            tx.commit().await.expect("commit");
        });
        0
    });
    rt.block_on(async {
        let mut conn = store.pool().acquire().await.expect("acquire");
        let plans: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT left(regexp_replace(statement, '\\s+', ' ', 'g'), 80), generic_plans, \
             custom_plans FROM pg_prepared_statements \
             WHERE statement LIKE 'SELECT \"data\"%customer_search%'",
        )
        .fetch_all(&mut *conn)
        .await
        .expect("pg_prepared_statements");
        for (s, g, c) in plans {
            println!(
                "  prepared search statement on a store connection: generic_plans={g} \
                 custom_plans={c} ({s}...)"
            );
        }
    });

    let mut g = c.benchmark_group("postgres_read_1m");
    g.sampling_mode(SamplingMode::Flat);
    g.sample_size(20);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(3));
    let mut k = 0usize;
    g.bench_function("get customer by id", |b| {
        b.iter(|| {
            k += 1;
            get(k)
        })
    });
    g.bench_function("first page of 50 by name", |b| b.iter(|| list(&by_name())));
    g.bench_function("first page of 50 by created_at desc", |b| {
        b.iter(|| list(&by_created_desc()))
    });
    g.bench_function("text search by e-mail fragment", |b| {
        b.iter(|| {
            k += 1;
            email(k)
        })
    });
    g.bench_function("text search by name fragment", |b| {
        b.iter(|| {
            k += 1;
            name(k)
        })
    });
    g.finish();
    rt.block_on(async {
        raw_pool.close().await;
        store.pool().close().await;
    });
}

fn bench(c: &mut Criterion) {
    let url = url();
    println!(
        "PostgreSQL: {url} ({})",
        if std::env::var("CRM_POSTGRES_URL").is_ok_and(|u| !u.trim().is_empty()) {
            "CRM_POSTGRES_URL"
        } else {
            "default; set CRM_POSTGRES_URL to change"
        }
    );
    let rt = rt();
    let part = std::env::var("CRM_BENCH_PART").unwrap_or_default();
    match part.as_str() {
        "insert" => part_insert(&rt, &url),
        "read" => part_read(c, &rt, &url),
        _ => {
            part_insert(&rt, &url);
            part_read(c, &rt, &url);
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
