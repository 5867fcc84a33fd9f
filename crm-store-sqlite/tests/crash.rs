//! Crash safety (issue 3): a child process bulk-imports in batches and is killed (SIGKILL)
//! mid-way; reopening the file shows every committed batch complete and nothing of the
//! uncommitted one, and `PRAGMA integrity_check` is ok.
//!
//! The child is the `crm-sqlite-crash-child` binary of this crate. It prints
//! `applying {k}` just before applying batch `k` and `committed {k}` once `apply` returned.
//! Each kill cycle waits for [`BATCHES_PER_CYCLE`] commits, then for the next
//! `applying` line, sleeps a random fraction of the measured time an `apply` takes (so the
//! kill usually lands inside a transaction), kills the child and drains its stdout. Then the
//! file is checked raw (integrity, FTS index, foreign keys) and through the store's read
//! API. [`CYCLES`] cycles run on the same file, each continuing with new batch numbers, and
//! every check covers all batches written so far.

use std::collections::{BTreeSet, HashMap};
use std::hash::BuildHasher;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crm_core::model::{
    ContactPoint, ContactPointFilter, ContactPointKind, Customer, CustomerFilter,
};
use crm_core::store::{EntityRead, ListQuery, MAX_PAGE_SIZE};
use crm_core::TenantId;
use crm_store_sqlite::{SqliteStore, SCHEMA_VERSION};

/// Customers per batch (each with two contact points, so three rows per customer plus its
/// search document).
const BATCH_SIZE: usize = 50;
/// Commits to see in each cycle before killing the child.
const BATCHES_PER_CYCLE: usize = 5;
/// Kill cycles on the same file.
const CYCLES: usize = 3;
/// How long to wait for one line of the child before giving up.
const LINE_TIMEOUT: Duration = Duration::from_secs(30);

/// What one kill cycle saw on the child's stdout, including the lines drained after the
/// kill.
struct Cycle {
    /// Batches the child reported committed.
    committed: BTreeSet<u64>,
    /// The batch the child was applying when it was killed (an `applying` line without its
    /// `committed` line); it may or may not have committed.
    in_flight: Option<u64>,
    /// The highest batch number the child mentioned.
    highest: u64,
}

enum Line {
    Applying(u64),
    Committed(u64),
}

fn parse_line(line: &str) -> Line {
    let parse = |n: &str| n.parse::<u64>().unwrap_or_else(|e| panic!("{line:?}: {e}"));
    if let Some(n) = line.strip_prefix("applying ") {
        Line::Applying(parse(n))
    } else if let Some(n) = line.strip_prefix("committed ") {
        Line::Committed(parse(n))
    } else {
        panic!("unexpected line from the child: {line:?}")
    }
}

/// Kills `child` and panics with `why` and whatever it wrote on stderr.
fn fail(mut child: Child, why: &str) -> ! {
    let _ = child.kill();
    let _ = child.wait();
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    panic!("{why}; child stderr:\n{stderr}");
}

/// A pseudo-random number in `0..1`, different on every call.
fn random_fraction(salt: u64) -> f64 {
    let h = std::collections::hash_map::RandomState::new().hash_one(salt);
    (h % 1_000_000) as f64 / 1_000_000.0
}

/// Runs the child from batch `first` until it committed [`BATCHES_PER_CYCLE`] batches,
/// kills it while (most likely) a further batch is in flight, and returns what it reported.
fn kill_cycle(path: &Path, tenant: TenantId, first: u64, cycle: usize) -> Cycle {
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm-sqlite-crash-child"))
        .arg(path)
        .arg(tenant.to_string())
        .arg(BATCH_SIZE.to_string())
        .arg(first.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn the crash child");
    let stdout = child.stdout.take().expect("child stdout");
    let (tx, rx) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    let mut seen = Cycle {
        committed: BTreeSet::new(),
        in_flight: None,
        highest: first,
    };
    let record = |seen: &mut Cycle, line: &str| match parse_line(line) {
        Line::Applying(k) => {
            seen.in_flight = Some(k);
            seen.highest = seen.highest.max(k);
        }
        Line::Committed(k) => {
            assert_eq!(seen.in_flight, Some(k), "committed {k} without applying it");
            seen.in_flight = None;
            seen.committed.insert(k);
            seen.highest = seen.highest.max(k);
        }
    };

    // Read until enough commits, then up to the next `applying` line, timing each apply.
    let mut applying_since: Option<Instant> = None;
    let mut apply_time = Duration::ZERO;
    loop {
        let line = match rx.recv_timeout(LINE_TIMEOUT) {
            Ok(l) => l,
            Err(e) => fail(child, &format!("no line from the child ({e})")),
        };
        record(&mut seen, &line);
        if seen.in_flight.is_some() {
            if seen.committed.len() >= BATCHES_PER_CYCLE {
                break;
            }
            applying_since = Some(Instant::now());
        } else if let Some(t) = applying_since.take() {
            apply_time += t.elapsed();
        }
    }
    // The child is applying a batch now: kill it somewhere inside that apply.
    let mean_apply = apply_time / BATCHES_PER_CYCLE as u32;
    std::thread::sleep(mean_apply.mul_f64(random_fraction(cycle as u64)));
    child.kill().expect("kill the child");
    let status = child.wait().expect("wait for the child");
    assert!(!status.success(), "the child must not exit on its own");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        if status.signal() != Some(9) {
            fail(
                child,
                &format!("the child ended with {status}, not by SIGKILL"),
            );
        }
    }
    reader.join().expect("stdout reader");
    // Lines written before the kill but not read yet.
    for line in rx.try_iter() {
        record(&mut seen, &line);
    }
    seen
}

/// The e-mail the child gives customer `i` of batch `k`.
fn email(k: u64, i: usize) -> String {
    format!("k{k}.i{i}@crash.example")
}

/// Checks the raw file: SQLite's integrity check, the FTS index against its content table
/// and the foreign keys.
fn check_raw(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("raw open");
    let mut stmt = conn.prepare("PRAGMA integrity_check").expect("prepare");
    let rows: Vec<String> = stmt
        .query_map([], |r| r.get(0))
        .expect("integrity_check")
        .collect::<Result<_, _>>()
        .expect("integrity_check rows");
    assert_eq!(rows, ["ok"], "PRAGMA integrity_check");
    conn.execute(
        "INSERT INTO customer_fts (customer_fts, rank) VALUES ('integrity-check', 1)",
        [],
    )
    .expect("the FTS index matches customer_search");
    let mut stmt = conn.prepare("PRAGMA foreign_key_check").expect("prepare");
    let violations = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .expect("foreign_key_check")
        .count();
    assert_eq!(violations, 0, "PRAGMA foreign_key_check");
}

/// All pages of a list.
async fn list_all<E>(store: &SqliteStore, tenant: TenantId, filter: E::Filter) -> Vec<E>
where
    E: crm_core::Entity,
    SqliteStore: EntityRead<E>,
{
    let mut query = ListQuery::<E>::filter(filter).limit(MAX_PAGE_SIZE);
    let mut out = Vec::new();
    loop {
        let page = store.list(tenant, &query).await.expect("list");
        out.extend(page.items);
        match page.next {
            Some(c) => query.after = Some(c),
            None => return out,
        }
    }
}

/// Reopens the file through the store and checks that exactly the committed batches (plus
/// possibly the one in flight at the last kill) are there, each complete with its contact
/// points and search documents. Returns the complete batches.
async fn check_store(
    path: &Path,
    tenant: TenantId,
    committed: &BTreeSet<u64>,
    in_flight: Option<u64>,
    highest: u64,
) -> BTreeSet<u64> {
    let store = SqliteStore::open(path).await.expect("reopen");
    store.migrate().await.expect("migrate after the crash");
    assert_eq!(
        store.schema_version().await.expect("version"),
        SCHEMA_VERSION
    );

    let mut complete = BTreeSet::new();
    for k in 0..=highest + 1 {
        let by_source = CustomerFilter {
            source: Some(format!("batch-{k}")),
            ..CustomerFilter::default()
        };
        let n = EntityRead::<Customer>::count(&store, tenant, &by_source)
            .await
            .expect("count");
        assert!(
            n == 0 || n == BATCH_SIZE as u64,
            "batch {k} is partially present: {n} of {BATCH_SIZE} customers"
        );
        if committed.contains(&k) {
            assert_eq!(n, BATCH_SIZE as u64, "committed batch {k} is incomplete");
        } else if n > 0 {
            assert_eq!(
                Some(k),
                in_flight,
                "batch {k} is present but was neither reported committed nor in flight"
            );
        }
        if n > 0 {
            complete.insert(k);
        }
    }

    // Nothing else in the tenant: no stray customers, no orphaned contact points.
    let customers = list_all::<Customer>(&store, tenant, CustomerFilter::default()).await;
    assert_eq!(customers.len(), complete.len() * BATCH_SIZE);
    assert_eq!(
        EntityRead::<Customer>::count(&store, tenant, &CustomerFilter::default())
            .await
            .expect("count"),
        customers.len() as u64
    );
    let points = list_all::<ContactPoint>(&store, tenant, ContactPointFilter::default()).await;
    assert_eq!(points.len(), 2 * customers.len(), "contact points");
    let mut points_of: HashMap<_, Vec<&ContactPoint>> = HashMap::new();
    for p in &points {
        points_of.entry(p.customer_id).or_default().push(p);
    }

    for c in &customers {
        let source = c.source.as_deref().expect("source");
        let k: u64 = source["batch-".len()..].parse().expect("batch number");
        assert!(complete.contains(&k), "{} from batch {k}", c.id);
        let ext = c.external_ref.as_deref().expect("external_ref");
        let i: usize = ext
            .strip_prefix(&format!("batch-{k}-"))
            .and_then(|i| i.parse().ok())
            .unwrap_or_else(|| panic!("external_ref {ext:?} of batch {k}"));
        let mine = points_of.get(&c.id).map(Vec::as_slice).unwrap_or_default();
        assert_eq!(mine.len(), 2, "contact points of {ext}");
        assert!(
            mine.iter()
                .any(|p| p.kind == ContactPointKind::Email && p.value == email(k, i)),
            "e-mail of {ext}"
        );
        assert!(
            mine.iter().any(|p| p.kind == ContactPointKind::Phone),
            "phone of {ext}"
        );
    }
    let refs: BTreeSet<&str> = customers
        .iter()
        .filter_map(|c| c.external_ref.as_deref())
        .collect();
    assert_eq!(refs.len(), customers.len(), "external refs are unique");

    // The search index agrees with the rows: one customer of every complete batch is found
    // by its e-mail, and nothing of an aborted batch is.
    for &k in &complete {
        let i = (k as usize * 7) % BATCH_SIZE;
        let by_text = CustomerFilter {
            text: Some(email(k, i)),
            ..CustomerFilter::default()
        };
        let found = list_all::<Customer>(&store, tenant, by_text).await;
        let refs: Vec<_> = found.iter().map(|c| c.external_ref.clone()).collect();
        assert_eq!(
            refs,
            [Some(format!("batch-{k}-{i}"))],
            "search for {}",
            email(k, i)
        );
    }
    if let Some(k) = in_flight.filter(|k| !complete.contains(k)) {
        let by_text = CustomerFilter {
            text: Some(email(k, 0)),
            ..CustomerFilter::default()
        };
        let n = EntityRead::<Customer>::count(&store, tenant, &by_text)
            .await
            .expect("count");
        assert_eq!(n, 0, "the aborted batch {k} is found by search");
    }
    complete
}

#[test]
fn killed_bulk_import_keeps_exactly_the_committed_batches() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("crash.db");
    let tenant = TenantId::new();
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    let mut committed = BTreeSet::new();
    let mut next = 0;
    let mut killed_in_flight = 0;
    let mut in_flight_committed = 0;
    for cycle in 0..CYCLES {
        let seen = kill_cycle(&path, tenant, next, cycle);
        assert!(seen.committed.len() >= BATCHES_PER_CYCLE);
        assert!(seen.committed.iter().all(|&k| k >= next));
        committed.extend(&seen.committed);
        check_raw(&path);
        let complete = rt.block_on(check_store(
            &path,
            tenant,
            &committed,
            seen.in_flight,
            seen.highest,
        ));
        if let Some(k) = seen.in_flight {
            killed_in_flight += 1;
            if complete.contains(&k) {
                in_flight_committed += 1;
                committed.insert(k);
            }
        }
        assert_eq!(complete, committed);
        next = seen.highest + 1;
    }
    eprintln!(
        "{CYCLES} kill cycles, {} batches of {BATCH_SIZE} committed, {killed_in_flight} kills \
         during an apply ({in_flight_committed} of those had committed), {:?}",
        committed.len(),
        started.elapsed()
    );
}
