//! Object tags for generated rows, and the two tag sources `summary --tags` reads: an S3
//! Metadata live inventory export (Parquet, `object_tags map<string,string>`) and a tag
//! table (CSV, one row per tag). Some objects have no tag data at all, some have tag data
//! without a `team` tag, so both `(no tag data)` and `(untagged)` occur.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, MapBuilder, StringBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;

use super::{GenerateOptions, Row, Versions};
use crate::error::{Error, Result};

const TEAMS: [&str; 4] = ["data", "ml", "web", "ops"];

/// The tags of one object version; `None` when the tag sources have no row for it. An
/// object is missing from the sources with all its versions (as from a metadata table
/// that does not cover it), so its current version is missing too.
pub fn tags_for(row: &Row) -> Option<Vec<(&'static str, &'static str)>> {
    if row.is_delete_marker || row.key_hash(0).is_multiple_of(10) {
        return None;
    }
    let h = row.stable_hash(0);
    let mut tags = Vec::new();
    if h % 5 != 1 {
        tags.push(("team", TEAMS[((h >> 8) % 4) as usize]));
    }
    tags.push((
        "env",
        if (h >> 16).is_multiple_of(3) {
            "dev"
        } else {
            "prod"
        },
    ));
    Some(tags)
}

fn err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::bad_data(path.display().to_string(), format!("cannot write: {e}"))
}

fn csv_field(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// Writes `metadata-inventory.parquet` and `tag-table.csv` into `dir`; returns both paths.
pub fn write_tag_sources(dir: &Path, opts: &GenerateOptions) -> Result<(PathBuf, PathBuf)> {
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let metadata = dir.join("metadata-inventory.parquet");
    let table = dir.join("tag-table.csv");

    let mut csv = BufWriter::new(File::create(&table).map_err(|e| err(&table, e))?);
    writeln!(csv, "bucket,key,version_id,is_latest,tag_key,tag_value")
        .map_err(|e| err(&table, e))?;

    let schema = Arc::new(Schema::new(vec![
        Field::new("bucket", DataType::Utf8, false),
        Field::new("key", DataType::Utf8, false),
        Field::new("sequence_number", DataType::Utf8, false),
        Field::new("version_id", DataType::Utf8, true),
        Field::new(
            "object_tags",
            DataType::Map(
                Arc::new(Field::new(
                    "key_value",
                    DataType::Struct(
                        vec![
                            Field::new("key", DataType::Utf8, false),
                            Field::new("value", DataType::Utf8, true),
                        ]
                        .into(),
                    ),
                    false,
                )),
                false,
            ),
            true,
        ),
    ]));
    let file = File::create(&metadata).map_err(|e| err(&metadata, e))?;
    let mut writer =
        ArrowWriter::try_new(file, Arc::clone(&schema), None).map_err(|e| err(&metadata, e))?;
    let rows: Vec<Row> = opts.rows(Versions::All).collect();
    for chunk in rows.chunks(8192) {
        let (mut b, mut k, mut s, mut v) = (
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
            StringBuilder::new(),
        );
        let names = datafusion::arrow::array::MapFieldNames {
            entry: "key_value".into(),
            key: "key".into(),
            value: "value".into(),
        };
        let mut m = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
        for (i, row) in chunk.iter().enumerate() {
            let Some(tags) = tags_for(row) else { continue };
            b.append_value(&row.bucket);
            k.append_value(&row.key);
            // S3 Metadata's order: larger is newer, per bucket and key.
            s.append_value(format!("{:020}{i:010}", row.last_modified_ms));
            v.append_option(row.version_id.as_deref());
            for (tk, tv) in &tags {
                m.keys().append_value(tk);
                m.values().append_value(tv);
                writeln!(
                    csv,
                    "{},{},{},{},{},{}",
                    csv_field(&row.bucket),
                    csv_field(&row.key),
                    // The tag table writes null versions the Batch Operations way.
                    csv_field(row.version_id.as_deref().unwrap_or("null")),
                    row.is_latest,
                    csv_field(tk),
                    csv_field(tv)
                )
                .map_err(|e| err(&table, e))?;
            }
            m.append(true).map_err(|e| err(&metadata, e))?;
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(b.finish()),
            Arc::new(k.finish()),
            Arc::new(s.finish()),
            Arc::new(v.finish()),
            Arc::new(m.finish()),
        ];
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), columns).map_err(|e| err(&metadata, e))?;
        writer.write(&batch).map_err(|e| err(&metadata, e))?;
    }
    writer.close().map_err(|e| err(&metadata, e))?;
    csv.flush().map_err(|e| err(&table, e))?;
    Ok((metadata, table))
}
