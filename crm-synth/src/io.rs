//! Writing generated data sets: `people.csv` (the records) and `truth.csv` (`id,entity_id`).

use std::io::Write;

use crate::record::{SynthRecord, FIELD_NAMES};

/// Writes the records as CSV with the [`FIELD_NAMES`] header; missing values are empty cells.
///
/// # Errors
/// When writing fails.
pub fn write_people<W: Write>(records: &[SynthRecord], out: W) -> csv::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 20)
        .from_writer(out);
    w.write_record(FIELD_NAMES)?;
    for r in records {
        w.write_record(r.fields())?;
    }
    w.flush()?;
    Ok(())
}

/// Writes the truth as CSV `id,entity_id`.
///
/// # Errors
/// When writing fails.
pub fn write_truth<W: Write>(records: &[SynthRecord], out: W) -> csv::Result<()> {
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 20)
        .from_writer(out);
    w.write_record(["id", "entity_id"])?;
    for r in records {
        w.write_record([r.id.as_str(), r.entity_id.to_string().as_str()])?;
    }
    w.flush()?;
    Ok(())
}
