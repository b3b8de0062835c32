//! Data-file writers that mimic AWS's: all-quoted headerless CSV with form-encoded keys
//! (gzip), ORC with zone-less timestamps (ZLIB), Parquet without embedded Arrow schema
//! (Snappy), plus the matching `fileSchema` strings.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
    TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::{ArrowWriter, arrow_writer::ArrowWriterOptions};
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::WriterProperties;
use flate2::write::GzEncoder;

use super::Versions;
use super::rows::Row;
use crate::error::{Error, Result};
use crate::format::key::form_encode;
use crate::format::schema::{COLUMNS, Kind};
use crate::manifest::FileFormat;

const BATCH: usize = 8192;

/// Canonical column indices a delivery with `versions` carries.
fn columns(versions: Versions) -> Vec<usize> {
    (0..COLUMNS.len())
        .filter(|&i| versions == Versions::All || !(2..=4).contains(&i))
        .collect()
}

/// The manifest `fileSchema` AWS writes for this format and column set.
pub fn file_schema(format: FileFormat, versions: Versions) -> String {
    let cols = columns(versions);
    match format {
        FileFormat::Csv => cols
            .iter()
            .map(|&i| COLUMNS[i].csv_name)
            .collect::<Vec<_>>()
            .join(", "),
        FileFormat::Orc => format!(
            "struct<{}>",
            cols.iter()
                .map(|&i| {
                    let t = match COLUMNS[i].kind {
                        Kind::Utf8 => "string",
                        Kind::Int64 => "bigint",
                        Kind::Boolean => "boolean",
                        Kind::Timestamp => "timestamp",
                    };
                    format!("{}:{t}", COLUMNS[i].name)
                })
                .collect::<Vec<_>>()
                .join(",")
        ),
        FileFormat::Parquet => format!(
            "message s3.inventory {{ {};}}",
            cols.iter()
                .map(|&i| {
                    let req = if i <= 1 { "required" } else { "optional" };
                    let t = match COLUMNS[i].kind {
                        Kind::Utf8 => "binary {} (STRING)",
                        Kind::Int64 => "int64 {}",
                        Kind::Boolean => "boolean {}",
                        Kind::Timestamp => "int64 {} (TIMESTAMP(MILLIS,true))",
                    };
                    format!(" {req} {}", t.replace("{}", COLUMNS[i].name))
                })
                .collect::<Vec<_>>()
                .join("; ")
        ),
    }
}

fn arrow_schema(format: FileFormat, versions: Versions) -> SchemaRef {
    let ts = match format {
        // AWS ORC timestamps carry no zone.
        FileFormat::Orc => DataType::Timestamp(TimeUnit::Nanosecond, None),
        _ => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
    };
    Arc::new(Schema::new(
        columns(versions)
            .into_iter()
            .map(|i| {
                let c = COLUMNS[i];
                let t = match c.kind {
                    Kind::Utf8 => DataType::Utf8,
                    Kind::Int64 => DataType::Int64,
                    Kind::Boolean => DataType::Boolean,
                    Kind::Timestamp => ts.clone(),
                };
                Field::new(c.name, t, i > 1)
            })
            .collect::<Vec<_>>(),
    ))
}

/// Writes rows to one data file.
pub(super) enum FileWriter {
    Csv(GzEncoder<BufWriter<File>>, Versions),
    Parquet(ArrowWriter<File>, Vec<Row>, SchemaRef),
    Orc(orc_rust::ArrowWriter<File>, Vec<Row>, SchemaRef),
}

fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::bad_data(path.display().to_string(), format!("cannot write: {e}"))
}

impl FileWriter {
    pub(super) fn create(path: &Path, format: FileFormat, versions: Versions) -> Result<Self> {
        let file = File::create(path).map_err(|e| err(path, e))?;
        Ok(match format {
            FileFormat::Csv => FileWriter::Csv(
                GzEncoder::new(BufWriter::new(file), flate2::Compression::new(6)),
                versions,
            ),
            FileFormat::Parquet => {
                let schema = arrow_schema(format, versions);
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .set_created_by("parquet-mr version 1.12.2 (s3inv generator)".into())
                    .build();
                let options = ArrowWriterOptions::new()
                    .with_properties(props)
                    .with_skip_arrow_metadata(true);
                let w = ArrowWriter::try_new_with_options(file, Arc::clone(&schema), options)
                    .map_err(|e| err(path, e))?;
                FileWriter::Parquet(w, Vec::with_capacity(BATCH), schema)
            }
            FileFormat::Orc => {
                let schema = arrow_schema(format, versions);
                // AWS writes ORC with ZLIB.
                let w = orc_rust::ArrowWriterBuilder::new(file, Arc::clone(&schema))
                    .with_compression(orc_rust::compression::CompressionType::Zlib)
                    .try_build()
                    .map_err(|e| err(path, e))?;
                FileWriter::Orc(w, Vec::with_capacity(BATCH), schema)
            }
        })
    }

    pub(super) fn push(&mut self, row: &Row) -> Result<()> {
        match self {
            FileWriter::Csv(w, versions) => {
                let line = csv_line(row, *versions);
                w.write_all(line.as_bytes())
                    .map_err(|e| err(Path::new("csv"), e))
            }
            FileWriter::Parquet(w, buf, schema) => {
                buf.push(row.clone());
                if buf.len() == BATCH {
                    let batch = to_batch(buf, schema)?;
                    buf.clear();
                    w.write(&batch).map_err(|e| err(Path::new("parquet"), e))?;
                }
                Ok(())
            }
            FileWriter::Orc(w, buf, schema) => {
                buf.push(row.clone());
                if buf.len() == BATCH {
                    let batch = to_batch(buf, schema)?;
                    buf.clear();
                    w.write(&batch).map_err(|e| err(Path::new("orc"), e))?;
                }
                Ok(())
            }
        }
    }

    pub(super) fn finish(self) -> Result<()> {
        match self {
            FileWriter::Csv(w, _) => {
                let mut inner = w.finish().map_err(|e| err(Path::new("csv"), e))?;
                inner.flush().map_err(|e| err(Path::new("csv"), e))
            }
            FileWriter::Parquet(mut w, buf, schema) => {
                if !buf.is_empty() {
                    w.write(&to_batch(&buf, &schema)?)
                        .map_err(|e| err(Path::new("parquet"), e))?;
                }
                w.close()
                    .map(|_| ())
                    .map_err(|e| err(Path::new("parquet"), e))
            }
            FileWriter::Orc(mut w, buf, schema) => {
                if !buf.is_empty() {
                    w.write(&to_batch(&buf, &schema)?)
                        .map_err(|e| err(Path::new("orc"), e))?;
                }
                w.close().map_err(|e| err(Path::new("orc"), e))
            }
        }
    }
}

fn ts_csv(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// One CSV line: every value quoted, empty for NULL, key form-encoded.
pub fn csv_line(row: &Row, versions: Versions) -> String {
    let mut fields: Vec<String> = Vec::with_capacity(21);
    let opt = |s: &Option<String>| s.clone().unwrap_or_default();
    let b = |v: Option<bool>| v.map(|v| v.to_string()).unwrap_or_default();
    let t = |v: Option<i64>| v.map(ts_csv).unwrap_or_default();
    fields.push(row.bucket.clone());
    fields.push(form_encode(&row.key));
    if versions == Versions::All {
        fields.push(opt(&row.version_id));
        fields.push(row.is_latest.to_string());
        fields.push(row.is_delete_marker.to_string());
    }
    fields.push(row.size.map(|s| s.to_string()).unwrap_or_default());
    fields.push(ts_csv(row.last_modified_ms));
    fields.push(opt(&row.e_tag));
    fields.push(opt(&row.storage_class));
    fields.push(b(row.is_multipart_uploaded));
    fields.push(opt(&row.replication_status));
    fields.push(opt(&row.encryption_status));
    fields.push(t(row.object_lock_retain_until_ms));
    fields.push(opt(&row.object_lock_mode));
    fields.push(opt(&row.object_lock_legal_hold_status));
    fields.push(opt(&row.intelligent_tiering_access_tier));
    fields.push(opt(&row.bucket_key_status));
    fields.push(opt(&row.checksum_algorithm));
    fields.push(opt(&row.object_access_control_list));
    fields.push(opt(&row.object_owner));
    fields.push(t(row.lifecycle_expiration_ms));
    let mut line = String::with_capacity(256);
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        line.push('"');
        line.push_str(&f.replace('"', "\"\""));
        line.push('"');
    }
    line.push('\n');
    line
}

/// Arrow batch of `rows` with `schema` (a subset of the canonical columns, by name).
fn to_batch(rows: &[Row], schema: &SchemaRef) -> Result<RecordBatch> {
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let strings = |f: &dyn Fn(&Row) -> Option<&str>| -> ArrayRef {
            let mut b = StringBuilder::new();
            for r in rows {
                b.append_option(f(r));
            }
            Arc::new(b.finish())
        };
        let bools = |f: &dyn Fn(&Row) -> Option<bool>| -> ArrayRef {
            let mut b = BooleanBuilder::new();
            for r in rows {
                b.append_option(f(r));
            }
            Arc::new(b.finish())
        };
        let times = |f: &dyn Fn(&Row) -> Option<i64>| -> ArrayRef {
            match field.data_type() {
                DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                    let mut b = TimestampNanosecondBuilder::new();
                    for r in rows {
                        b.append_option(f(r).map(|ms| ms * 1_000_000));
                    }
                    Arc::new(b.finish())
                }
                _ => {
                    let mut b = TimestampMillisecondBuilder::new();
                    for r in rows {
                        b.append_option(f(r));
                    }
                    Arc::new(b.finish().with_timezone("UTC"))
                }
            }
        };
        let array = match field.name().as_str() {
            "bucket" => strings(&|r| Some(&r.bucket)),
            "key" => strings(&|r| Some(&r.key)),
            "version_id" => strings(&|r| r.version_id.as_deref()),
            "is_latest" => bools(&|r| Some(r.is_latest)),
            "is_delete_marker" => bools(&|r| Some(r.is_delete_marker)),
            "size" => {
                let mut b = Int64Builder::new();
                for r in rows {
                    b.append_option(r.size);
                }
                Arc::new(b.finish())
            }
            "last_modified_date" => times(&|r| Some(r.last_modified_ms)),
            "e_tag" => strings(&|r| r.e_tag.as_deref()),
            "storage_class" => strings(&|r| r.storage_class.as_deref()),
            "is_multipart_uploaded" => bools(&|r| r.is_multipart_uploaded),
            "replication_status" => strings(&|r| r.replication_status.as_deref()),
            "encryption_status" => strings(&|r| r.encryption_status.as_deref()),
            "object_lock_retain_until_date" => times(&|r| r.object_lock_retain_until_ms),
            "object_lock_mode" => strings(&|r| r.object_lock_mode.as_deref()),
            "object_lock_legal_hold_status" => {
                strings(&|r| r.object_lock_legal_hold_status.as_deref())
            }
            "intelligent_tiering_access_tier" => {
                strings(&|r| r.intelligent_tiering_access_tier.as_deref())
            }
            "bucket_key_status" => strings(&|r| r.bucket_key_status.as_deref()),
            "checksum_algorithm" => strings(&|r| r.checksum_algorithm.as_deref()),
            "object_access_control_list" => strings(&|r| r.object_access_control_list.as_deref()),
            "object_owner" => strings(&|r| r.object_owner.as_deref()),
            "lifecycle_expiration_date" => times(&|r| r.lifecycle_expiration_ms),
            other => return Err(Error::Usage(format!("unknown generated column {other}"))),
        };
        arrays.push(array);
    }
    RecordBatch::try_new(Arc::clone(schema), arrays).map_err(|e| Error::Query(e.to_string()))
}
