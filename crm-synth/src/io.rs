//! Writing generated data sets: `people.csv` (the records) and `truth.csv` (`id,entity_id`).
//!
//! Rows are formatted into memory in blocks on all available cores and written in order, so
//! the file is the same as a sequential write would make.

use std::io::Write;

use crate::record::{SynthRecord, FIELD_NAMES};

/// Records per formatting block.
const BLOCK: usize = 1 << 16;

/// Writes the records as CSV with the [`FIELD_NAMES`] header; missing values are empty cells.
///
/// # Errors
/// When writing fails.
pub fn write_people<W: Write>(records: &[SynthRecord], out: W) -> csv::Result<()> {
    write_blocks(records, out, FIELD_NAMES.as_slice(), |w, r| {
        w.write_record(r.fields())
    })
}

/// Writes the truth as CSV `id,entity_id`.
///
/// # Errors
/// When writing fails.
pub fn write_truth<W: Write>(records: &[SynthRecord], out: W) -> csv::Result<()> {
    write_blocks(records, out, &["id", "entity_id"], |w, r| {
        w.write_record([r.id.as_str(), r.entity_id.to_string().as_str()])
    })
}

/// Writes how each record was made, for diagnostics (`crm-synth evaluate --meta`):
/// `id,entity_id,duplicate_of,corruptions,relation,related_entity`, corruptions joined by `+`.
///
/// # Errors
/// When writing fails.
pub fn write_meta<W: Write>(records: &[SynthRecord], out: W) -> csv::Result<()> {
    write_blocks(records, out, &META_COLUMNS, |w, r| {
        let p = &r.provenance;
        w.write_record([
            r.id.as_str(),
            r.entity_id.to_string().as_str(),
            p.duplicate_of.as_deref().unwrap_or(""),
            p.corruptions.to_string().as_str(),
            p.relation.name(),
            p.related_entity
                .map(|e| e.to_string())
                .unwrap_or_default()
                .as_str(),
        ])
    })
}

/// Columns of the file [`write_meta`] writes.
pub const META_COLUMNS: [&str; 6] = [
    "id",
    "entity_id",
    "duplicate_of",
    "corruptions",
    "relation",
    "related_entity",
];

type RowFn = fn(&mut csv::Writer<Vec<u8>>, &SynthRecord) -> csv::Result<()>;

fn format_block(records: &[SynthRecord], row: RowFn) -> csv::Result<Vec<u8>> {
    let mut w = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(records.len() * 160));
    for r in records {
        row(&mut w, r)?;
    }
    w.into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))
}

fn write_blocks<W: Write>(
    records: &[SynthRecord],
    mut out: W,
    header: &[&str],
    row: RowFn,
) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(header)?;
    let head = w
        .into_inner()
        .map_err(|e| csv::Error::from(std::io::Error::other(e.to_string())))?;
    out.write_all(&head)?;

    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let blocks: Vec<&[SynthRecord]> = records.chunks(BLOCK).collect();
    for wave in blocks.chunks(threads.max(1)) {
        let formatted: Vec<csv::Result<Vec<u8>>> = if wave.len() == 1 {
            vec![format_block(wave[0], row)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = wave
                    .iter()
                    .map(|block| scope.spawn(move || format_block(block, row)))
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                    .collect()
            })
        };
        for bytes in formatted {
            out.write_all(&bytes?)?;
        }
    }
    out.flush()?;
    Ok(())
}
