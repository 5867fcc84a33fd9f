//! Duplicate-detection benchmarks on `crm-synth` data: scoring one pair, the batch
//! pipeline (block, compare, score, cluster) on about 100k records with a trained model,
//! and `DedupeIndex::matches_for` against a large index.
//!
//! `cargo bench --bench dedupe`; `DEDUPE_BENCH_INDEX_ENTITIES` sets the number of people
//! in the index (default 700 000, about 1M records).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use std::hint::black_box;

use crm::dedupe::{dedupe, DedupeConfig, DedupeIndex, PersonRecord};

fn opt(s: &str) -> Option<String> {
    let t = s.trim();
    (!t.is_empty()).then(|| t.to_string())
}

/// Generated people (about 1.5 records per entity) as `PersonRecord`s.
fn people(entities: usize, seed: u64) -> Vec<PersonRecord> {
    crm_synth::generate(&crm_synth::SynthConfig::new(entities, seed))
        .into_iter()
        .map(|r| PersonRecord {
            first_name: opt(&r.first_name),
            last_name: opt(&r.last_name),
            full_name: opt(&r.full_name),
            email: opt(&r.email),
            phone: opt(&r.phone),
            street: opt(&r.street),
            address_line2: opt(&r.address_line2),
            city: opt(&r.city),
            postcode: opt(&r.postcode),
            region: opt(&r.region),
            country: opt(&r.country),
            birth_date: opt(&r.birth_date),
            company: opt(&r.company),
            national_id: r.national_id.as_deref().and_then(opt),
            id: r.id,
        })
        .collect()
}

fn benches(c: &mut Criterion) {
    let config = DedupeConfig {
        threads: 2,
        ..Default::default()
    };
    // Train once on 10k people; every bench scores with this model.
    let train = people(10_000, 1);
    let trained = dedupe(&train, &config).expect("training run");
    let model = trained.model.clone();
    let pair = trained.pairs.first().copied().expect("a duplicate pair");
    let (a, b) = (
        train[pair.a as usize].clone(),
        train[pair.b as usize].clone(),
    );
    c.bench_function("dedupe/score_pair (normalise + compare + explain)", |bch| {
        bch.iter(|| black_box(model.score_pair(black_box(&a), black_box(&b), Some("GB"))))
    });

    let batch = people(70_000, 2);
    let scoring = DedupeConfig {
        model: Some(model.clone()),
        ..config.clone()
    };
    let mut g = c.benchmark_group("dedupe/batch");
    g.sample_size(10);
    g.bench_function(
        format!("block+compare+score+cluster {} records", batch.len()),
        |bch| bch.iter(|| black_box(dedupe(&batch, &scoring).expect("dedupe"))),
    );
    g.finish();
    drop(batch);

    let entities = std::env::var("DEDUPE_BENCH_INDEX_ENTITIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(700_000);
    let indexed = people(entities, 3);
    let index = DedupeIndex::build(&indexed, model, &config).expect("index");
    let queries: Vec<PersonRecord> = people(2_000, 3).into_iter().take(2_000).collect();
    let mut k = 0usize;
    let mut g = c.benchmark_group("dedupe/index");
    g.bench_function(
        format!("matches_for against {} records", index.len()),
        |bch| {
            bch.iter_batched(
                || {
                    k = (k + 1) % queries.len();
                    &queries[k]
                },
                |q| black_box(index.matches_for(q)),
                BatchSize::SmallInput,
            )
        },
    );
    g.finish();
}

criterion_group!(dedupe_benches, benches);
criterion_main!(dedupe_benches);
