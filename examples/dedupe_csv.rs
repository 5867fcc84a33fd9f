//! Duplicate detection over a CSV file of people.
//!
//! ```text
//! cargo run --release --example dedupe_csv -- --input people.csv --output pairs.csv \
//!     [--clusters clusters.csv] [--threshold P] [--region GB] [--threads N] \
//!     [--model-out model.json] [--model-in model.json] [--max-block-size N] [--window N] \
//!     [--truth truth.csv]
//! ```
//!
//! The input has a header with `id` and any of `first_name, last_name, full_name, email,
//! phone, street, address_line2, city, postcode, region, country, birth_date, company,
//! national_id` (other columns are ignored, empty cells are missing). The output lists
//! `id_a,id_b,probability` for every pair at or above the threshold; `--clusters` writes
//! `id,cluster_id` for every record. Phase times, blocking statistics and the peak
//! resident memory go to standard error. With `--truth` (`id,entity_id`, as `crm-synth
//! generate` writes it) the pair completeness of blocking (the share of true pairs among the
//! candidates) is printed too.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::time::{Duration, Instant};

use crm::dedupe::{dedupe_with_progress, DedupeConfig, Model, PersonRecord, Phase};

const USAGE: &str =
    "usage: dedupe_csv --input people.csv --output pairs.csv [--clusters clusters.csv] \
[--threshold P] [--region GB] [--threads N] [--model-out model.json] [--model-in model.json] \
[--max-block-size N] [--window N] [--truth truth.csv]";

struct Args {
    input: String,
    output: String,
    clusters: Option<String>,
    threshold: Option<f64>,
    region: Option<String>,
    threads: usize,
    model_out: Option<String>,
    model_in: Option<String>,
    max_block_size: Option<usize>,
    window: Option<usize>,
    truth: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    let mut a = Args {
        input: String::new(),
        output: String::new(),
        clusters: None,
        threshold: None,
        region: None,
        threads: 0,
        model_out: None,
        model_in: None,
        max_block_size: None,
        window: None,
        truth: None,
    };
    let mut i = 0;
    while i < raw.len() {
        let (key, inline) = match raw[i].split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (raw[i].clone(), None),
        };
        if key == "--help" || key == "-h" {
            return Err(USAGE.into());
        }
        let value = match inline {
            Some(v) => v,
            None => {
                i += 1;
                raw.get(i)
                    .cloned()
                    .ok_or(format!("{key} needs a value\n{USAGE}"))?
            }
        };
        match key.as_str() {
            "--input" => a.input = value,
            "--output" => a.output = value,
            "--clusters" => a.clusters = Some(value),
            "--threshold" => {
                a.threshold = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--threshold: {value:?} is not a number"))?,
                )
            }
            "--region" => a.region = Some(value),
            "--truth" => a.truth = Some(value),
            "--threads" => {
                a.threads = value
                    .parse()
                    .map_err(|_| format!("--threads: {value:?} is not a number"))?
            }
            "--model-out" => a.model_out = Some(value),
            "--model-in" => a.model_in = Some(value),
            "--max-block-size" => {
                a.max_block_size = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--max-block-size: {value:?} is not a number"))?,
                )
            }
            "--window" => {
                a.window = Some(
                    value
                        .parse()
                        .map_err(|_| format!("--window: {value:?} is not a number"))?,
                )
            }
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
        i += 1;
    }
    if a.input.is_empty() || a.output.is_empty() {
        return Err(format!("--input and --output are required\n{USAGE}"));
    }
    Ok(a)
}

/// Reads people from a CSV file with a header.
fn read_people(path: &str) -> Result<Vec<PersonRecord>, String> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("cannot read {path}: {e}"))?;
    let headers = rdr.headers().map_err(|e| format!("{path}: {e}"))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let id_col = col("id").ok_or(format!("{path}: no `id` column"))?;
    let names = [
        "first_name",
        "last_name",
        "full_name",
        "email",
        "phone",
        "street",
        "address_line2",
        "city",
        "postcode",
        "region",
        "country",
        "birth_date",
        "company",
        "national_id",
    ];
    let cols: Vec<Option<usize>> = names.iter().map(|n| col(n)).collect();
    let mut out = Vec::new();
    let mut row = csv::StringRecord::new();
    while rdr
        .read_record(&mut row)
        .map_err(|e| format!("{path}: {e}"))?
    {
        let get = |k: usize| -> Option<String> {
            let v = row.get(cols[k]?)?.trim();
            (!v.is_empty()).then(|| v.to_string())
        };
        out.push(PersonRecord {
            id: row.get(id_col).unwrap_or("").trim().to_string(),
            first_name: get(0),
            last_name: get(1),
            full_name: get(2),
            email: get(3),
            phone: get(4),
            street: get(5),
            address_line2: get(6),
            city: get(7),
            postcode: get(8),
            region: get(9),
            country: get(10),
            birth_date: get(11),
            company: get(12),
            national_id: get(13),
        });
    }
    Ok(out)
}

/// Peak resident set size from `/proc/self/status` (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Every pair of records (by index, lower first) that `truth` (`id,entity_id`) says are one
/// entity.
fn read_true_pairs(path: &str, records: &[PersonRecord]) -> Result<Vec<(u32, u32)>, String> {
    let index: std::collections::HashMap<&str, u32> = records
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i as u32))
        .collect();
    let mut rd = csv::Reader::from_path(path).map_err(|e| format!("{path}: {e}"))?;
    let mut by_entity: std::collections::HashMap<String, Vec<u32>> = Default::default();
    for row in rd.records() {
        let row = row.map_err(|e| format!("{path}: {e}"))?;
        let (Some(id), Some(entity)) = (row.get(0), row.get(1)) else {
            return Err(format!("{path}: a row lacks id or entity_id"));
        };
        if let Some(&i) = index.get(id) {
            by_entity.entry(entity.to_string()).or_default().push(i);
        }
    }
    let mut pairs = Vec::new();
    for members in by_entity.values_mut() {
        members.sort_unstable();
        for (k, &a) in members.iter().enumerate() {
            for &b in &members[k + 1..] {
                pairs.push((a, b));
            }
        }
    }
    Ok(pairs)
}

fn run() -> Result<(), String> {
    let args = parse_args()?;
    let start = Instant::now();
    let mut timings: Vec<(String, Duration)> = Vec::new();

    let t = Instant::now();
    let records = read_people(&args.input)?;
    timings.push(("read".into(), t.elapsed()));

    let model = match &args.model_in {
        Some(p) => {
            let f = File::open(p).map_err(|e| format!("cannot open {p}: {e}"))?;
            Some(
                serde_json::from_reader::<_, Model>(std::io::BufReader::new(f))
                    .map_err(|e| format!("{p}: {e}"))?,
            )
        }
        None => None,
    };
    let mut limits = crm::dedupe::BlockingLimits::default();
    limits.max_block_size = args.max_block_size.unwrap_or(limits.max_block_size);
    limits.window = args.window.unwrap_or(limits.window);
    let config = DedupeConfig {
        limits,
        default_region: args.region.clone(),
        threshold: args.threshold,
        threads: args.threads,
        model,
        ..Default::default()
    };
    let mut current: Option<(Phase, Instant)> = None;
    let mut hook = |p: Phase| {
        let now = Instant::now();
        if let Some((prev, since)) = current.take() {
            timings.push((prev.name().to_string(), now - since));
        }
        if p != Phase::Done {
            current = Some((p, now));
        }
    };
    let outcome = dedupe_with_progress(&records, &config, &mut hook).map_err(|e| e.to_string())?;

    let t = Instant::now();
    let out =
        File::create(&args.output).map_err(|e| format!("cannot create {}: {e}", args.output))?;
    let mut w = BufWriter::with_capacity(1 << 20, out);
    let io = |e: std::io::Error| e.to_string();
    writeln!(w, "id_a,id_b,probability").map_err(io)?;
    let mut wr = csv::WriterBuilder::new().has_headers(false).from_writer(w);
    for p in &outcome.pairs {
        wr.write_record([
            records[p.a as usize].id.as_str(),
            records[p.b as usize].id.as_str(),
            &format!("{:.6}", p.probability),
        ])
        .map_err(|e| e.to_string())?;
    }
    wr.flush().map_err(io)?;
    if let Some(path) = &args.clusters {
        let f = File::create(path).map_err(|e| format!("cannot create {path}: {e}"))?;
        let mut wr = csv::Writer::from_writer(BufWriter::with_capacity(1 << 20, f));
        wr.write_record(["id", "cluster_id"])
            .map_err(|e| e.to_string())?;
        for (r, c) in records.iter().zip(&outcome.clusters.assignment) {
            wr.write_record([r.id.as_str(), &c.to_string()])
                .map_err(|e| e.to_string())?;
        }
        wr.flush().map_err(io)?;
    }
    if let Some(path) = &args.model_out {
        let f = File::create(path).map_err(|e| format!("cannot create {path}: {e}"))?;
        serde_json::to_writer_pretty(BufWriter::new(f), &outcome.model)
            .map_err(|e| e.to_string())?;
    }
    timings.push(("write".into(), t.elapsed()));
    let total = start.elapsed();

    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "records: {}", records.len());
    for (name, d) in &timings {
        let _ = writeln!(err, "  {name:<10} {:>9.3} s", d.as_secs_f64());
    }
    let _ = writeln!(err, "  {:<10} {:>9.3} s", "total", total.as_secs_f64());
    let s = &outcome.stats;
    let _ = writeln!(
        err,
        "blocking: {} candidate pairs of {} ({:.6}% kept, reduction ratio {:.8})",
        s.candidate_pairs,
        s.total_pairs,
        100.0 * (1.0 - s.reduction_ratio),
        s.reduction_ratio
    );
    for r in &s.per_rule {
        let _ = writeln!(
            err,
            "  {:<32} pairs {:>10}  blocks {:>8}  largest {:>6}  windowed {:>5}",
            r.rule.name(),
            r.pairs,
            r.blocks,
            r.largest_block,
            r.oversized_blocks
        );
    }
    if let Some(path) = &args.truth {
        let true_pairs = read_true_pairs(path, &records)?;
        let _ = writeln!(
            err,
            "pair completeness: {:.4} of {} true pairs are candidates",
            outcome.pair_completeness(&true_pairs),
            true_pairs.len()
        );
    }
    let m = &outcome.model;
    let _ = writeln!(
        err,
        "model: {}, lambda {:.5}, EM {} iterations (converged: {}), {} patterns, threshold {}",
        outcome.model_source.name(),
        m.lambda,
        m.training.em_iterations,
        m.training.converged,
        m.training.distinct_patterns,
        outcome.threshold
    );
    if let Some(reason) = &m.training.prior_reason {
        let _ = writeln!(err, "  prior model because of {}", reason.describe());
    }
    let _ = writeln!(
        err,
        "review: {} pairs below the threshold share an e-mail address",
        outcome.review.len()
    );
    let groups = outcome.clusters.groups();
    let _ = writeln!(
        err,
        "output: {} pairs >= threshold, {} clusters ({} with 2+ records, {} from chain splits)",
        outcome.pairs.len(),
        outcome.clusters.count,
        groups.len(),
        outcome.clusters.split.len()
    );
    if let Some(kib) = peak_rss_kib() {
        let _ = writeln!(err, "peak RSS: {:.1} MiB", kib as f64 / 1024.0);
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dedupe_csv: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
