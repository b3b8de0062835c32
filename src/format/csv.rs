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
    ArrayRef, BooleanBuilder, Int64Builder, StringViewBuilder, TimestampMillisecondBuilder,
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
    Utf8(StringViewBuilder),
    Key(StringViewBuilder),
    Int64(Int64Builder),
    Boolean(BooleanBuilder),
    Timestamp(TimestampMillisecondBuilder),
}

impl ColumnBuilder {
    fn new(canonical: usize, capacity: usize) -> Self {
        if canonical == KEY {
            return ColumnBuilder::Key(StringViewBuilder::with_capacity(capacity));
        }
        match COLUMNS[canonical].kind {
            Kind::Utf8 => ColumnBuilder::Utf8(StringViewBuilder::with_capacity(capacity)),
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

/// Keeps a record only when one field is one of `values` (an empty field is NULL, kept
/// when `keep_null`): a filter the reader applies before it decodes the other fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueFilter {
    pub values: Vec<Vec<u8>>,
    pub keep_null: bool,
    /// Keep the values *not* listed (`NOT IN`, `<>`).
    pub negated: bool,
}

impl ValueFilter {
    pub fn keeps(&self, raw: &[u8]) -> bool {
        if raw.is_empty() {
            self.keep_null
        } else {
            self.values.iter().any(|v| v == raw) != self.negated
        }
    }
}

/// Streams canonical batches out of one CSV data file.
///
/// AWS writes every value in double quotes, with keys URL-encoded, so a line is a record and
/// a quoted field never holds a quote, comma or newline: a fast path splits such lines with
/// `memchr` in place. Anything else (escaped quotes, quoted newlines, unquoted fields with
/// quotes) goes through csv-core, so any RFC 4180 file still reads correctly.
pub struct CsvBatchReader<R: Read> {
    input: R,
    path: String,
    buf: Vec<u8>,
    /// Start of the unconsumed bytes in `buf`.
    start: usize,
    len: usize,
    eof: bool,
    done: bool,
    /// Field ranges of the current record, in `buf` (fast path) or `slow` (csv-core).
    ranges: Vec<(usize, usize)>,
    parser: csv_core::Reader,
    slow: Vec<u8>,
    slow_ends: Vec<usize>,
    expected_fields: usize,
    /// For each CSV field: the output builder it feeds and its canonical index.
    targets: Vec<Option<(usize, usize)>>,
    builders: Vec<ColumnBuilder>,
    /// Canonical index of each builder, in builder order.
    builder_columns: Vec<usize>,
    assembler: Assembler,
    batch_size: usize,
    rows_in_batch: usize,
    /// Lines consumed so far; `record_line` is where the current record starts.
    line: u64,
    record_line: u64,
    scratch: Vec<u8>,
    /// CSV field index of ReplicationStatus, if the file has it.
    status_field: Option<usize>,
    /// Records whose status this rejects are skipped (see `with_status_filter`).
    status_filter: Option<ValueFilter>,
    /// Records read, kept or skipped.
    records: u64,
}

/// Where the current record's bytes are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Buffer,
    Slow,
}

/// Splits one line of all-quoted fields; `false` when it needs the general parser.
fn split_quoted(line: &[u8], offset: usize, ranges: &mut Vec<(usize, usize)>) -> bool {
    ranges.clear();
    let mut i = 0;
    loop {
        if i < line.len() && line[i] == b'"' {
            let Some(close) = memchr::memchr(b'"', &line[i + 1..]) else {
                return false; // a quoted newline: the record continues on the next line
            };
            let close = i + 1 + close;
            ranges.push((offset + i + 1, offset + close));
            match line.get(close + 1) {
                None => return true,
                Some(b',') => i = close + 2,
                Some(_) => return false, // an escaped quote, or text after the quote
            }
        } else {
            let end = memchr::memchr(b',', &line[i..]).map_or(line.len(), |c| i + c);
            if memchr::memchr(b'"', &line[i..end]).is_some() {
                return false;
            }
            ranges.push((offset + i, offset + end));
            if end == line.len() {
                return true;
            }
            i = end + 1;
        }
    }
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
            buf: vec![0; 1 << 20],
            start: 0,
            len: 0,
            eof: false,
            done: false,
            ranges: Vec::with_capacity(layout.fields.len() + 1),
            parser: csv_core::ReaderBuilder::new().build(),
            slow: vec![0; 4096],
            slow_ends: vec![0; layout.fields.len().max(1) + 1],
            expected_fields: layout.fields.len(),
            targets,
            builders,
            builder_columns,
            assembler,
            batch_size,
            rows_in_batch: 0,
            line: 0,
            record_line: 0,
            scratch: Vec::with_capacity(1024),
            status_field: layout
                .fields
                .iter()
                .position(|c| *c == Some(super::schema::REPLICATION_STATUS)),
            status_filter: None,
            records: 0,
        }
    }

    /// Skips the records whose ReplicationStatus `filter` rejects, without decoding their
    /// other fields. Only for a filter the query applies anyway (the output then holds a
    /// subset of the rows, never a row the query would not have kept).
    pub fn with_status_filter(mut self, filter: ValueFilter) -> Self {
        if self.status_field.is_some() {
            self.status_filter = Some(filter);
        }
        self
    }

    /// Records read so far, those skipped by the status filter included.
    pub fn records_read(&self) -> u64 {
        self.records
    }

    fn error(&self, message: String) -> Error {
        Error::bad_data(&self.path, message)
    }

    /// Moves the unconsumed bytes to the front (growing the buffer when a record fills
    /// it) and reads more.
    fn refill(&mut self) -> Result<()> {
        if self.start > 0 {
            self.buf.copy_within(self.start..self.len, 0);
            self.len -= self.start;
            self.start = 0;
        }
        if self.len == self.buf.len() {
            let n = self.buf.len() * 2;
            self.buf.resize(n, 0);
        }
        let n = loop {
            match self.input.read(&mut self.buf[self.len..]) {
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
        if n == 0 {
            self.eof = true;
        }
        self.len += n;
        Ok(())
    }

    /// Finds the next record; `None` at the end of the file.
    fn next_record(&mut self) -> Result<Option<Source>> {
        loop {
            let rest = &self.buf[self.start..self.len];
            let line_end = match memchr::memchr(b'\n', rest) {
                Some(nl) => self.start + nl,
                None if self.eof && rest.is_empty() => return Ok(None),
                None if self.eof => self.len,
                None => {
                    self.refill()?;
                    continue;
                }
            };
            let mut end = line_end;
            if end > self.start && self.buf[end - 1] == b'\r' {
                end -= 1;
            }
            if split_quoted(&self.buf[self.start..end], self.start, &mut self.ranges) {
                self.line += 1;
                self.record_line = self.line;
                self.start = (line_end + 1).min(self.len);
                return Ok(Some(Source::Buffer));
            }
            return self.slow_record();
        }
    }

    /// Reads the record at `self.start` with csv-core (it may span lines).
    fn slow_record(&mut self) -> Result<Option<Source>> {
        let (mut rel, mut out, mut nends) = (0usize, 0usize, 0usize);
        loop {
            let input = &self.buf[self.start + rel..self.len];
            let (res, nin, nout, nend) =
                self.parser
                    .read_record(input, &mut self.slow[out..], &mut self.slow_ends[nends..]);
            rel += nin;
            out += nout;
            nends += nend;
            match res {
                ReadRecordResult::InputEmpty => {
                    if !self.eof {
                        self.refill()?;
                    }
                }
                ReadRecordResult::OutputFull => {
                    let n = self.slow.len() * 2;
                    self.slow.resize(n, 0);
                }
                ReadRecordResult::OutputEndsFull => {
                    let n = self.slow_ends.len() * 2;
                    self.slow_ends.resize(n, 0);
                }
                ReadRecordResult::Record => {
                    let consumed = &self.buf[self.start..self.start + rel];
                    self.record_line = self.line + 1;
                    // Count the newlines consumed, not "at least one": csv-core ends a
                    // CRLF record after its `\r`, and the `\n` left over is counted
                    // when it is skipped as a blank line.
                    self.line += memchr::memchr_iter(b'\n', consumed).count() as u64;
                    self.start += rel;
                    self.ranges.clear();
                    let mut from = 0;
                    for &end in &self.slow_ends[..nends] {
                        self.ranges.push((from, end));
                        from = end;
                    }
                    return Ok(Some(Source::Slow));
                }
                ReadRecordResult::End => return Ok(None),
            }
        }
    }

    fn push_record(&mut self, source: Source) -> Result<()> {
        let nfields = self.ranges.len();
        if nfields != self.expected_fields {
            return Err(self.error(format!(
                "line {}: expected {} fields (the manifest's fileSchema), found {nfields}",
                self.record_line, self.expected_fields
            )));
        }
        let data = match source {
            Source::Buffer => &self.buf,
            Source::Slow => &self.slow,
        };
        self.records += 1;
        if let (Some(filter), Some(field)) = (&self.status_filter, self.status_field) {
            let (a, b) = self.ranges[field];
            if !filter.keeps(&data[a..b]) {
                return Ok(());
            }
        }
        for (field, &(a, b)) in self.ranges.iter().enumerate() {
            let Some((builder, canonical)) = self.targets[field] else {
                continue;
            };
            if let Err(msg) =
                push_value(&mut self.builders[builder], &data[a..b], &mut self.scratch)
            {
                return Err(Error::bad_data(
                    &self.path,
                    format!(
                        "line {}: {}: {msg}",
                        self.record_line, COLUMNS[canonical].csv_name
                    ),
                ));
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
                Ok(Some(source)) => {
                    // A blank line parses as one empty field: AWS never writes one, but
                    // some copies end with one. Skip it.
                    if self.ranges.len() == 1
                        && self.ranges[0].0 == self.ranges[0].1
                        && self.expected_fields != 1
                    {
                        continue;
                    }
                    if let Err(e) = self.push_record(source) {
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
        assert_eq!(b.column(0).as_string_view().value(0), "a b+c");
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
    fn general_csv_falls_back_to_the_full_parser() {
        // Escaped quotes, a quoted newline and comma, an unquoted field, CRLF, no final newline.
        let data =
            "\"b\",\"say \"\"hi\"\"\"\r\n\"b\",\"two\nlines, here\"\nb,plain\n\n\"b\",\"last\"";
        let batches = read(data, "Bucket, Key", &[0, 1]).unwrap();
        let keys: Vec<&str> = batches
            .iter()
            .flat_map(|b| {
                b.column(1)
                    .as_string_view()
                    .iter()
                    .map(|k| k.unwrap())
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(keys, ["say \"hi\"", "two\nlines, here", "plain", "last"]);
        // Line numbers count physical lines, also after a record spanning two.
        let e = read("\"b\",\"a\nb\"\n\"b\"\n", "Bucket, Key", &[1]).unwrap_err();
        assert!(e.to_string().contains("line 3: expected 2 fields"), "{e}");
        // A CRLF record read by the full parser moves the count by one line, not two.
        let e = read(
            "\"b\",\"say \"\"hi\"\"\"\r\n\"b\",\"ok\"\r\n\"b\"\r\n",
            "Bucket, Key",
            &[1],
        )
        .unwrap_err();
        assert!(e.to_string().contains("line 3: expected 2 fields"), "{e}");
    }

    #[test]
    fn fast_split_is_exact() {
        let mut r = Vec::new();
        assert!(split_quoted(b"\"a\",\"\",\"c\"", 10, &mut r));
        assert_eq!(r, [(11, 12), (15, 15), (18, 19)]);
        assert!(split_quoted(b"\"a\",", 0, &mut r));
        assert_eq!(r, [(1, 2), (4, 4)]);
        assert!(!split_quoted(b"\"a\"\"b\"", 0, &mut r));
        assert!(!split_quoted(b"\"a", 0, &mut r));
        assert!(!split_quoted(b"a\"b", 0, &mut r));
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
