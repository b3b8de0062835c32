//! Inventory CSV (gzip) reader: parses AWS's all-quoted, headerless rows straight into
//! canonical Arrow columns.
//!
//! Column names come from the manifest's `fileSchema`. Only projected columns are decoded
//! (a `count(*)` parses rows but converts nothing); keys are form-URL-decoded exactly once
//! here. Every error names the file and the line. Decompression and parsing are
//! synchronous and run on a blocking thread (see `table::scan`).

use std::io::Read;
use std::sync::Arc;

use csv_core::ReadRecordResult;
use datafusion::arrow::array::{
    ArrayRef, BooleanBuilder, Int64Builder, StringBuilder, TimestampMillisecondBuilder,
};
use datafusion::arrow::record_batch::RecordBatch;

use super::assemble::{Assembler, PresentColumns};
use super::key::form_decode_into;
use super::schema::{COLUMNS, KEY, Kind, index_of_csv_name};
use super::timestamp::parse_timestamp_millis;
use crate::error::{Error, Result};

/// How a delivery's CSV rows map onto the canonical columns.
#[derive(Debug, Clone)]
pub struct CsvLayout {
    /// For each CSV field (in file order), the canonical column it fills, if known.
    pub fields: Vec<Option<usize>>,
}

impl CsvLayout {
    /// Builds the layout from the manifest's `fileSchema` column names. Unknown names are
    /// skipped (a newer AWS field must not fail a run); `Bucket` and `Key` are required.
    pub fn from_file_schema(names: &[String], manifest: &str) -> Result<CsvLayout> {
        let fields: Vec<Option<usize>> = names.iter().map(|n| index_of_csv_name(n)).collect();
        for required in [0, KEY] {
            if !fields.contains(&Some(required)) {
                return Err(Error::InvalidManifest {
                    path: manifest.to_string(),
                    reason: format!(
                        "fileSchema has no {} column: {:?}",
                        COLUMNS[required].csv_name,
                        names.join(", ")
                    ),
                });
            }
        }
        Ok(CsvLayout { fields })
    }

    /// The canonical columns this layout carries.
    pub fn present(&self) -> PresentColumns {
        PresentColumns::from_indices(self.fields.iter().flatten().copied())
    }
}

enum ColumnBuilder {
    Utf8(StringBuilder),
    Key(StringBuilder),
    Int64(Int64Builder),
    Boolean(BooleanBuilder),
    Timestamp(TimestampMillisecondBuilder),
}

impl ColumnBuilder {
    fn new(canonical: usize, capacity: usize) -> Self {
        if canonical == KEY {
            return ColumnBuilder::Key(StringBuilder::with_capacity(capacity, capacity * 32));
        }
        match COLUMNS[canonical].kind {
            Kind::Utf8 => {
                ColumnBuilder::Utf8(StringBuilder::with_capacity(capacity, capacity * 16))
            }
            Kind::Int64 => ColumnBuilder::Int64(Int64Builder::with_capacity(capacity)),
            Kind::Boolean => ColumnBuilder::Boolean(BooleanBuilder::with_capacity(capacity)),
            Kind::Timestamp => {
                ColumnBuilder::Timestamp(TimestampMillisecondBuilder::with_capacity(capacity))
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            ColumnBuilder::Utf8(b) | ColumnBuilder::Key(b) => Arc::new(b.finish()),
            ColumnBuilder::Int64(b) => Arc::new(b.finish()),
            ColumnBuilder::Boolean(b) => Arc::new(b.finish()),
            ColumnBuilder::Timestamp(b) => Arc::new(b.finish().with_timezone("UTC")),
        }
    }
}

/// Streams canonical batches out of one CSV data file.
pub struct CsvBatchReader<R: Read> {
    input: R,
    path: String,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    done: bool,
    parser: csv_core::Reader,
    record: Vec<u8>,
    ends: Vec<usize>,
    expected_fields: usize,
    /// For each CSV field: the output builder it feeds and its canonical index.
    targets: Vec<Option<(usize, usize)>>,
    builders: Vec<ColumnBuilder>,
    /// Canonical index of each builder, in builder order.
    builder_columns: Vec<usize>,
    assembler: Assembler,
    batch_size: usize,
    rows_in_batch: usize,
    line: u64,
    scratch: Vec<u8>,
}

impl<R: Read> CsvBatchReader<R> {
    /// `input` yields the decompressed CSV; `assembler` says which canonical columns to
    /// produce. `path` names the file in errors.
    pub fn new(
        input: R,
        path: String,
        layout: &CsvLayout,
        assembler: Assembler,
        batch_size: usize,
    ) -> Self {
        let mut targets = vec![None; layout.fields.len()];
        let mut builders = Vec::new();
        let mut builder_columns = Vec::new();
        for (field, canonical) in layout.fields.iter().enumerate() {
            if let Some(c) = *canonical
                && assembler.wants(c)
                && !builder_columns.contains(&c)
            {
                targets[field] = Some((builders.len(), c));
                builders.push(ColumnBuilder::new(c, batch_size));
                builder_columns.push(c);
            }
        }
        CsvBatchReader {
            input,
            path,
            buf: vec![0; 256 * 1024],
            pos: 0,
            len: 0,
            eof: false,
            done: false,
            parser: csv_core::ReaderBuilder::new().build(),
            record: vec![0; 4096],
            ends: vec![0; layout.fields.len().max(1) + 1],
            expected_fields: layout.fields.len(),
            targets,
            builders,
            builder_columns,
            assembler,
            batch_size,
            rows_in_batch: 0,
            line: 0,
            scratch: Vec::with_capacity(1024),
        }
    }

    fn error(&self, message: String) -> Error {
        Error::bad_data(&self.path, message)
    }

    fn fill(&mut self) -> Result<()> {
        self.len = loop {
            match self.input.read(&mut self.buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(Error::Read {
                        path: self.path.clone(),
                        message: "cannot read (corrupt or truncated gzip?)",
                        source: Box::new(e),
                    });
                }
            }
        };
        self.pos = 0;
        if self.len == 0 {
            self.eof = true;
        }
        Ok(())
    }

    /// Reads the next record into `self.record`/`self.ends`; returns the field count, or
    /// `None` at the end of the file.
    fn next_record(&mut self) -> Result<Option<usize>> {
        let (mut out, mut nends) = (0usize, 0usize);
        loop {
            if self.pos == self.len && !self.eof {
                self.fill()?;
            }
            let (res, nin, nout, nend) = self.parser.read_record(
                &self.buf[self.pos..self.len],
                &mut self.record[out..],
                &mut self.ends[nends..],
            );
            self.pos += nin;
            out += nout;
            nends += nend;
            match res {
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => {
                    let n = self.record.len() * 2;
                    self.record.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.ends.len() * 2;
                    self.ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    self.line += 1;
                    return Ok(Some(nends));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    fn push_record(&mut self, nfields: usize) -> Result<()> {
        if nfields != self.expected_fields {
            return Err(self.error(format!(
                "line {}: expected {} fields (the manifest's fileSchema), found {nfields}",
                self.line, self.expected_fields
            )));
        }
        for field in 0..nfields {
            let Some((b, canonical)) = self.targets[field] else {
                continue;
            };
            let start = if field == 0 { 0 } else { self.ends[field - 1] };
            let value = &self.record[start..self.ends[field]];
            if let Err(msg) = push_value(&mut self.builders[b], value, &mut self.scratch) {
                return Err(self.error(format!(
                    "line {}: {}: {msg}",
                    self.line, COLUMNS[canonical].csv_name
                )));
            }
        }
        self.rows_in_batch += 1;
        Ok(())
    }

    fn finish_batch(&mut self) -> Result<RecordBatch> {
        let rows = self.rows_in_batch;
        self.rows_in_batch = 0;
        let arrays: Vec<(usize, ArrayRef)> = self
            .builder_columns
            .iter()
            .copied()
            .zip(self.builders.iter_mut().map(ColumnBuilder::finish))
            .collect();
        self.assembler
            .assemble(arrays, rows)
            .map_err(|e| self.error(e.to_string()))
    }
}

/// Appends one CSV value to its builder. Empty means NULL.
fn push_value(
    builder: &mut ColumnBuilder,
    value: &[u8],
    scratch: &mut Vec<u8>,
) -> std::result::Result<(), String> {
    if value.is_empty() {
        match builder {
            ColumnBuilder::Utf8(b) | ColumnBuilder::Key(b) => b.append_null(),
            ColumnBuilder::Int64(b) => b.append_null(),
            ColumnBuilder::Boolean(b) => b.append_null(),
            ColumnBuilder::Timestamp(b) => b.append_null(),
        }
        return Ok(());
    }
    match builder {
        ColumnBuilder::Utf8(b) => {
            let s =
                std::str::from_utf8(value).map_err(|_| "value is not valid UTF-8".to_string())?;
            b.append_value(s);
        }
        ColumnBuilder::Key(b) => {
            scratch.clear();
            form_decode_into(value, scratch);
            let s = std::str::from_utf8(scratch).map_err(|e| {
                format!(
                    "key {:?} is not valid UTF-8 after URL-decoding (first bad byte at {})",
                    String::from_utf8_lossy(value),
                    e.valid_up_to()
                )
            })?;
            b.append_value(s);
        }
        ColumnBuilder::Int64(b) => b.append_value(parse_i64(value).ok_or_else(|| {
            format!(
                "expected an integer, found {:?}",
                String::from_utf8_lossy(value)
            )
        })?),
        ColumnBuilder::Boolean(b) => {
            let v = if value.eq_ignore_ascii_case(b"true") {
                true
            } else if value.eq_ignore_ascii_case(b"false") {
                false
            } else {
                return Err(format!(
                    "expected true or false, found {:?}",
                    String::from_utf8_lossy(value)
                ));
            };
            b.append_value(v);
        }
        ColumnBuilder::Timestamp(b) => {
            b.append_value(parse_timestamp_millis(value).ok_or_else(|| {
                format!(
                    "expected a timestamp like 2024-05-06T22:37:48.000Z, found {:?}",
                    String::from_utf8_lossy(value)
                )
            })?)
        }
    }
    Ok(())
}

fn parse_i64(value: &[u8]) -> Option<i64> {
    let (neg, digits) = match value.first() {
        Some(b'-') => (true, &value[1..]),
        _ => (false, value),
    };
    if digits.is_empty() || digits.len() > 19 {
        return None;
    }
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add((d - b'0') as i64)?;
    }
    Some(if neg { -n } else { n })
}

impl<R: Read> Iterator for CsvBatchReader<R> {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        loop {
            match self.next_record() {
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
                Ok(None) => {
                    self.done = true;
                    if self.rows_in_batch == 0 {
                        return None;
                    }
                    return Some(self.finish_batch());
                }
                Ok(Some(nfields)) => {
                    // A blank line parses as one empty field: AWS never writes one, but
                    // some copies end with one. Skip it.
                    if nfields == 1 && self.ends[0] == 0 && self.expected_fields != 1 {
                        continue;
                    }
                    if let Err(e) = self.push_record(nfields) {
                        self.done = true;
                        return Some(Err(e));
                    }
                    if self.rows_in_batch == self.batch_size {
                        return Some(self.finish_batch());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::schema::canonical_schema;
    use datafusion::arrow::array::{Array, AsArray};
    use datafusion::arrow::datatypes::{Int64Type, TimestampMillisecondType};

    fn layout(names: &str) -> CsvLayout {
        let names: Vec<String> = names.split(',').map(|s| s.trim().to_string()).collect();
        CsvLayout::from_file_schema(&names, "m.json").unwrap()
    }

    fn read(data: &str, names: &str, projection: &[usize]) -> Result<Vec<RecordBatch>> {
        let layout = layout(names);
        let assembler = Assembler::new(&canonical_schema(), projection, layout.present());
        CsvBatchReader::new(data.as_bytes(), "f.csv".into(), &layout, assembler, 2).collect()
    }

    #[test]
    fn decodes_keys_types_and_nulls() {
        let data = "\"b\",\"a+b%2Bc\",\"5\",\"2024-05-06T22:37:48.000Z\",\"TRUE\"\n\"b\",\"k\",\"\",\"\",\"\"\n\n";
        let batches = read(
            data,
            "Bucket, Key, Size, LastModifiedDate, IsMultipartUploaded",
            &[1, 5, 6, 9, 3],
        )
        .unwrap();
        assert_eq!(batches.len(), 1);
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        assert_eq!(b.column(0).as_string::<i32>().value(0), "a b+c");
        assert_eq!(b.column(1).as_primitive::<Int64Type>().value(0), 5);
        assert!(b.column(1).is_null(1));
        assert_eq!(
            b.column(2)
                .as_primitive::<TimestampMillisecondType>()
                .value(0),
            1_715_035_068_000
        );
        assert!(b.column(3).as_boolean().value(0));
        // A report without version fields is current-only: is_latest is true.
        assert!(b.column(4).as_boolean().value(1));
    }

    #[test]
    fn wrong_field_count_names_file_and_line() {
        let data = "\"b\",\"k\"\n\"b\",\"k\",\"x\"\n";
        let e = read(data, "Bucket, Key", &[1]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "f.csv: line 2: expected 2 fields (the manifest's fileSchema), found 3"
        );
    }

    #[test]
    fn invalid_utf8_key_is_an_error() {
        let e = read("\"b\",\"a%FF\"\n", "Bucket, Key", &[1]).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("f.csv: line 1: Key: key \"a%FF\" is not valid UTF-8"),
            "{e}"
        );
    }

    #[test]
    fn batches_split_at_batch_size_and_count_only() {
        let data = "\"b\",\"1\"\n\"b\",\"2\"\n\"b\",\"3\"\n";
        let batches = read(data, "Bucket, Key", &[]).unwrap();
        assert_eq!(
            batches.iter().map(|b| b.num_rows()).collect::<Vec<_>>(),
            vec![2, 1]
        );
    }
}
