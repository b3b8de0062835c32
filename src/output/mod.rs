//! Writing query results: `table` for people, `csv`/`json`/`ndjson`/`parquet` for scripts,
//! to stdout or to a file written under a temporary name and renamed when complete.

mod atomic;
mod new_folders;
mod numbers;
pub mod summary;
pub mod terminal;

use std::io::Write;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::execution::SendableRecordBatchStream;
use futures::StreamExt;
use std::sync::Arc;

pub(crate) use atomic::write_error;
pub use atomic::{AtomicFile, check_writable};
pub use new_folders::NewFolders;
pub use numbers::{count, human_bytes, interval, thousands};

use crate::error::{Error, Result};
use crate::storage::Location;

/// Output formats of every command that prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// Aligned text table (for people).
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON array of objects.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// A Parquet file (needs --output or a pipe).
    Parquet,
}

impl OutputFormat {
    /// All formats, by name, as users type them.
    pub const NAMES: [&'static str; 5] = ["table", "csv", "json", "ndjson", "parquet"];

    /// Parses a format name.
    pub fn parse(name: &str) -> Result<OutputFormat> {
        Ok(match name.to_ascii_lowercase().as_str() {
            "table" => OutputFormat::Table,
            "csv" => OutputFormat::Csv,
            "json" => OutputFormat::Json,
            "ndjson" | "jsonl" => OutputFormat::Ndjson,
            "parquet" => OutputFormat::Parquet,
            other => {
                return Err(Error::Usage(format!(
                    "unknown --format {other:?}; use one of {}",
                    Self::NAMES.join(", ")
                )));
            }
        })
    }
}

/// Where output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File(PathBuf),
    /// An S3 object. The writers here handle only local targets: the command writes to a
    /// local spool file and uploads it whole (`cli/emit.rs`, through `Destination`).
    S3(Location),
}

impl Target {
    /// `s3://bucket/key` is an object, `-` stdout; anything else a local path. `what`
    /// names the flag for messages.
    pub fn from_path(path: &Path, what: &str) -> Result<Target> {
        if path.as_os_str() == "-" {
            return Ok(Target::Stdout);
        }
        let Some(text) = path.to_str().filter(|t| t.starts_with("s3://")) else {
            return Ok(Target::File(path.to_path_buf()));
        };
        let location = Location::parse(text)?;
        match &location {
            Location::S3 { key, .. } if !key.is_empty() && !key.ends_with('/') => {
                Ok(Target::S3(location))
            }
            _ => Err(Error::Usage(format!(
                "{what} {text}: name an object, e.g. {}/out.csv",
                text.trim_end_matches('/')
            ))),
        }
    }

    fn not_local(location: &Location) -> Error {
        Error::Usage(format!(
            "{location}: s3:// output must be spooled and uploaded by the command"
        ))
    }
}

/// Timestamps print like AWS writes them, in every format.
pub(crate) use crate::format::timestamp::TIMESTAMP_FORMAT;

/// Writes every batch of `stream` in `format` to `target`; returns the number of rows.
/// A file target is complete or absent: it is renamed into place only after the last
/// batch was written.
pub async fn write_stream(
    mut stream: SendableRecordBatchStream,
    format: OutputFormat,
    target: &Target,
) -> Result<u64> {
    let schema = plain_schema(&stream.schema());
    let (mut sink, file): (Box<dyn Sink>, Option<AtomicFile>) = match target {
        Target::Stdout => (Box::new(std::io::BufWriter::new(std::io::stdout())), None),
        Target::File(path) => {
            let f = AtomicFile::create(path)?;
            (file_sink(path, f.handle()?), Some(f))
        }
        Target::S3(location) => return Err(Target::not_local(location)),
    };
    let io_err = |e: std::io::Error| Error::Io {
        path: match target {
            Target::Stdout => "stdout".into(),
            Target::File(p) => p.display().to_string(),
            Target::S3(l) => l.to_string(),
        },
        source: e,
    };
    let mut rows = 0u64;
    let mut batches = 0u64;
    let mut writer = BatchWriter::new(format, &mut sink, Arc::clone(&schema))?;
    while let Some(batch) = stream.next().await {
        let batch = cast_to_schema(&batch?, &schema)?;
        rows += batch.num_rows() as u64;
        batches += 1;
        writer.write(&batch)?;
    }
    if batches == 0 {
        // An empty result still has a header (CSV), a schema (Parquet), `[]` (JSON).
        writer.write(&RecordBatch::new_empty(Arc::clone(&schema)))?;
    }
    writer.finish()?;
    drop(writer);
    if format == OutputFormat::Json {
        sink.write_all(b"\n").map_err(io_err)?;
    }
    sink.finish().map_err(io_err)?;
    if let Some(f) = file {
        f.commit()?;
    }
    Ok(rows)
}

/// Writes one batch in `format` to `target`; returns the number of rows.
pub async fn write_batch(batch: RecordBatch, format: OutputFormat, target: &Target) -> Result<u64> {
    let schema = batch.schema();
    let stream = datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
        schema,
        futures::stream::iter([Ok(batch)]),
    );
    write_stream(Box::pin(stream), format, target).await
}

/// A batch of text columns named `headers`, one row per entry of `rows`.
pub fn text_batch<R: AsRef<[String]>>(headers: &[&str], rows: &[R]) -> Result<RecordBatch> {
    let schema = Arc::new(Schema::new(
        headers
            .iter()
            .map(|h| Field::new(*h, DataType::Utf8, false))
            .collect::<Vec<_>>(),
    ));
    let columns: Vec<datafusion::arrow::array::ArrayRef> = (0..headers.len())
        .map(|c| {
            Arc::new(datafusion::arrow::array::StringArray::from_iter_values(
                rows.iter().map(|r| r.as_ref()[c].as_str()),
            )) as datafusion::arrow::array::ArrayRef
        })
        .collect();
    RecordBatch::try_new(schema, columns).map_err(|e| Error::Query(e.to_string()))
}

/// Writes `text` to `target` (a file appears complete or not at all).
pub fn write_text(text: &str, target: &Target) -> Result<()> {
    match target {
        Target::Stdout => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| Error::Io {
                    path: "stdout".into(),
                    source: e,
                })
        }
        Target::File(path) => {
            let f = AtomicFile::create(path)?;
            let mut h = file_sink(path, f.handle()?);
            h.write_all(text.as_bytes())
                .and_then(|_| h.finish())
                .map_err(|e| Error::Io {
                    path: path.display().to_string(),
                    source: e,
                })?;
            f.commit()
        }
        Target::S3(location) => Err(Target::not_local(location)),
    }
}

/// True when `path` ends in `.gz`: the file is written gzip-compressed (`-o out.csv.gz`).
pub fn is_gzip(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("gz"))
}

/// Where the writers write: a `Write` that must be finished, so a gzip trailer or a
/// buffered tail that fails to reach the disk is an error rather than lost in a `drop`.
trait Sink: Write + Send {
    fn finish(self: Box<Self>) -> std::io::Result<()>;
}

impl<W: Write + Send> Sink for std::io::BufWriter<W> {
    fn finish(mut self: Box<Self>) -> std::io::Result<()> {
        self.flush()
    }
}

impl<W: Write + Send> Sink for flate2::write::GzEncoder<W> {
    fn finish(self: Box<Self>) -> std::io::Result<()> {
        (*self).finish()?.flush()
    }
}

/// The sink of a local file: gzip-compressed when its name ends in `.gz`.
fn file_sink(path: &Path, file: std::fs::File) -> Box<dyn Sink> {
    let buffered = std::io::BufWriter::new(file);
    if is_gzip(path) {
        Box::new(flate2::write::GzEncoder::new(
            buffered,
            flate2::Compression::default(),
        ))
    } else {
        Box::new(buffered)
    }
}

/// Writers that lack view-type support get plain Utf8/Binary. A timestamp with any zone is
/// shown in UTC (the same instant), because [`TIMESTAMP_FORMAT`] ends in a literal `Z`.
fn plain_type(t: &DataType) -> DataType {
    match t {
        DataType::Utf8View | DataType::LargeUtf8 => DataType::Utf8,
        DataType::BinaryView | DataType::LargeBinary => DataType::Binary,
        DataType::Timestamp(unit, Some(tz)) if tz.as_ref() != "UTC" => {
            DataType::Timestamp(*unit, Some("UTC".into()))
        }
        other => other.clone(),
    }
}

fn plain_schema(schema: &SchemaRef) -> SchemaRef {
    Arc::new(Schema::new(
        schema
            .fields()
            .iter()
            .map(|f| Field::new(f.name(), plain_type(f.data_type()), f.is_nullable()))
            .collect::<Vec<_>>(),
    ))
}

/// `batch` cast column by column to `schema` (same columns, other types).
pub(crate) fn cast_to_schema(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch> {
    let columns = batch
        .columns()
        .iter()
        .zip(schema.fields())
        .map(|(c, f)| {
            if c.data_type() == f.data_type() {
                Ok(Arc::clone(c))
            } else {
                cast(c, f.data_type())
            }
        })
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Query(e.to_string()))?;
    RecordBatch::try_new(Arc::clone(schema), columns).map_err(|e| Error::Query(e.to_string()))
}

enum BatchWriter<'a> {
    Table(&'a mut Box<dyn Sink>, Vec<RecordBatch>, SchemaRef),
    Csv(datafusion::arrow::csv::Writer<&'a mut Box<dyn Sink>>),
    Json(datafusion::arrow::json::ArrayWriter<&'a mut Box<dyn Sink>>),
    Ndjson(datafusion::arrow::json::LineDelimitedWriter<&'a mut Box<dyn Sink>>),
    Parquet(datafusion::parquet::arrow::ArrowWriter<&'a mut Box<dyn Sink>>),
}

fn arrow_err(e: impl std::fmt::Display) -> Error {
    Error::Query(e.to_string())
}

impl<'a> BatchWriter<'a> {
    fn new(format: OutputFormat, sink: &'a mut Box<dyn Sink>, schema: SchemaRef) -> Result<Self> {
        Ok(match format {
            OutputFormat::Table => BatchWriter::Table(sink, Vec::new(), schema),
            OutputFormat::Csv => BatchWriter::Csv(
                datafusion::arrow::csv::WriterBuilder::new()
                    .with_header(true)
                    .with_timestamp_tz_format(TIMESTAMP_FORMAT.to_string())
                    .with_timestamp_format(TIMESTAMP_FORMAT.to_string())
                    .build(sink),
            ),
            OutputFormat::Json => BatchWriter::Json(
                datafusion::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .with_timestamp_tz_format(TIMESTAMP_FORMAT.to_string())
                    .with_timestamp_format(TIMESTAMP_FORMAT.to_string())
                    .build(sink),
            ),
            OutputFormat::Ndjson => BatchWriter::Ndjson(
                datafusion::arrow::json::WriterBuilder::new()
                    .with_explicit_nulls(true)
                    .with_timestamp_tz_format(TIMESTAMP_FORMAT.to_string())
                    .with_timestamp_format(TIMESTAMP_FORMAT.to_string())
                    .build(sink),
            ),
            OutputFormat::Parquet => BatchWriter::Parquet(
                datafusion::parquet::arrow::ArrowWriter::try_new(sink, schema, None)
                    .map_err(arrow_err)?,
            ),
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> Result<()> {
        match self {
            BatchWriter::Table(_, batches, _) => {
                batches.push(batch.clone());
                Ok(())
            }
            BatchWriter::Csv(w) => w.write(batch).map_err(arrow_err),
            BatchWriter::Json(w) => w.write(batch).map_err(arrow_err),
            BatchWriter::Ndjson(w) => w.write(batch).map_err(arrow_err),
            BatchWriter::Parquet(w) => w.write(batch).map_err(arrow_err),
        }
    }

    fn finish(&mut self) -> Result<()> {
        match self {
            BatchWriter::Table(sink, batches, schema) => {
                if batches.is_empty() {
                    batches.push(RecordBatch::new_empty(Arc::clone(schema)));
                }
                let text = terminal::pretty(batches)?;
                writeln!(sink, "{text}").map_err(|e| Error::Io {
                    path: "output".into(),
                    source: e,
                })
            }
            BatchWriter::Csv(_) => Ok(()),
            BatchWriter::Json(w) => w.finish().map_err(arrow_err),
            BatchWriter::Ndjson(w) => w.finish().map_err(arrow_err),
            BatchWriter::Parquet(w) => w
                .flush()
                .and_then(|_| w.finish().map(|_| ()))
                .map_err(arrow_err),
        }
    }
}
