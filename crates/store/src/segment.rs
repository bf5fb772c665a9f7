//! Segment payloads: Arrow IPC file bytes, written once and never modified.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::ipc::reader::FileReader;
use datafusion::arrow::ipc::writer::FileWriter;
use datafusion::arrow::record_batch::RecordBatch;

use crate::error::{Error, Result};

/// Payloads under this size are stored inline in SQLite: one fsync per small commit instead of three.
pub const INLINE_MAX_BYTES: usize = 256 * 1024;

/// A segment written (and, for files, fsynced) but not yet committed.
#[derive(Debug, Clone)]
pub struct NewSegment {
    /// The id reserved for it.
    pub id: u64,
    /// Row count.
    pub rows: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// Where the payload is.
    pub payload: Payload,
}

/// Where a new segment's bytes are.
#[derive(Debug, Clone)]
pub enum Payload {
    /// To be stored in SQLite with the commit.
    Inline(Arc<Vec<u8>>),
    /// Already durable in `segments/<id>.arrow`.
    File,
}

pub(crate) fn encode(schema: &SchemaRef, batches: &[RecordBatch]) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    {
        let mut writer = FileWriter::try_new(&mut buf, schema)?;
        for batch in batches {
            writer.write(batch)?;
        }
        writer.finish()?;
    }
    Ok(buf)
}

pub(crate) fn decode(bytes: Vec<u8>) -> Result<Vec<RecordBatch>> {
    let reader = FileReader::try_new(std::io::Cursor::new(bytes), None)?;
    let mut out = Vec::new();
    for batch in reader {
        out.push(batch?);
    }
    Ok(out)
}

pub(crate) fn segment_file(dir: &Path, id: u64) -> std::path::PathBuf {
    dir.join(format!("{id}.arrow"))
}

/// Writes `bytes` to `segments/<id>.arrow` through a temp file, fsyncs it and renames it in place.
pub(crate) fn write_file(dir: &Path, id: u64, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!("{id}.arrow.tmp"));
    let mut file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    file.write_all(bytes).map_err(|e| Error::io(&tmp, e))?;
    file.sync_all().map_err(|e| Error::io(&tmp, e))?;
    let path = segment_file(dir, id);
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    Ok(())
}
