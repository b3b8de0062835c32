//! Replication events (`s3:Replication:*` S3 event notifications) read from files in
//! whatever envelope users collect them in (doctor.md §c.3): bare S3 event JSON, SQS
//! `receive-message` dumps, SNS envelopes, Firehose objects with records concatenated
//! without a separator, EventBridge Pipes targets, Lambda logs, CloudWatch Logs exports and
//! `filter-log-events` output — and any nesting of them.
//!
//! The reader knows no envelope by name. A file is a stream of JSON values (one document,
//! NDJSON, or values back to back), or log lines `TIMESTAMP MESSAGE`; gzip is undone first.
//! Every value is walked: an object with a `Records` array holding `aws:s3` records yields
//! the replication events among them, and a string that holds JSON (an SNS `Message`, an
//! SQS `Body`, a Pipes `body`, a log `message`) is parsed and walked in turn, up to
//! [`MAX_UNWRAP`] levels. SQS and SNS deliver at least once, so repeats are dropped.
//!
//! Event keys are form-URL-encoded like inventory CSV keys and are decoded exactly once,
//! here, with `format::key`. Matching events to inventory rows and to causes is left to
//! the rules; files are read through `storage::Store`.

use std::collections::HashSet;
use std::io::Read;

use serde_json::{Map, Value};

use crate::error::{Error, Result};
use crate::storage::{Action, Location, S3Options, Store, key_path, path_key};

/// How many times a value may be wrapped in a JSON string (SQS `Body` → SNS `Message` → …)
/// and still be unwrapped. Real routes nest three or four deep; the bound stops a
/// pathological file from recursing without end.
pub const MAX_UNWRAP: usize = 16;

/// One replication event, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplicationEvent {
    /// The source bucket (`s3.bucket.name`).
    pub bucket: String,
    /// The real key: `s3.object.key` form-URL-decoded once (`+` is a space, then `%XX`
    /// bytes). A key that does not decode (a bad escape, or bytes that are not UTF-8) is
    /// kept as written, and the batch's notes say so.
    pub key: String,
    /// `s3.object.versionId`; `None` when absent, empty or `null` (a null version, as the
    /// inventory has it).
    pub version_id: Option<String>,
    /// `eventName` without a leading `s3:`, e.g. `Replication:OperationFailedReplication`.
    pub event_name: String,
    /// `replicationEventData.failureReason`, e.g. `AssumeRoleNotPermitted`.
    pub failure_reason: Option<String>,
    /// The destination bucket's name, from the `replicationEventData.destinationBucket` ARN.
    pub destination_bucket: Option<String>,
    /// `replicationEventData.replicationRuleId`.
    pub rule_id: Option<String>,
    /// `eventTime` in epoch milliseconds.
    pub event_time_ms: Option<i64>,
    /// `responseElements.x-amz-request-id`.
    pub request_id: Option<String>,
    /// Where the event was read, for evidence: the file, then `:LINE` when the file is
    /// read line by line (NDJSON, log exports), then `#K` when the file (or that line)
    /// holds more than one event: the K-th event of it, counting from 1.
    pub origin: String,
}

/// What reading some files found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventBatch {
    /// The replication events, in reading order, without repeats.
    pub events: Vec<ReplicationEvent>,
    /// S3 records that are not replication events (`ObjectCreated:Put`, …) and
    /// `s3:TestEvent` messages.
    pub skipped: u64,
    /// Replication events dropped because an earlier one was the same delivery again
    /// (same request id, bucket, key, version, event name and destination).
    pub duplicates: u64,
    /// What the reader worked around, one sentence each, naming the file: keys kept as
    /// written, log lines without JSON, values nested too deep.
    pub notes: Vec<String>,
}

impl EventBatch {
    /// Drops repeated deliveries, keeping the first. Without a request id, the event time
    /// tells two failures of one object apart; the destination always does (one write can
    /// fail at two destinations, for different reasons).
    fn dedup(&mut self) {
        let mut seen = HashSet::new();
        let before = self.events.len();
        self.events.retain(|e| {
            seen.insert((
                e.request_id.clone(),
                e.bucket.clone(),
                e.key.clone(),
                e.version_id.clone(),
                e.event_name.clone(),
                e.destination_bucket.clone(),
                e.request_id.is_none().then_some(e.event_time_ms).flatten(),
            ))
        });
        self.duplicates += (before - self.events.len()) as u64;
    }

    fn absorb(&mut self, other: EventBatch) {
        self.events.extend(other.events);
        self.skipped += other.skipped;
        self.duplicates += other.duplicates;
        self.notes.extend(other.notes);
    }
}

/// Reads the replication events in one file's bytes; `origin` names the file in events,
/// notes and errors. Input that is neither JSON nor log lines is an error naming `origin`
/// and the line (and byte) where reading stopped.
pub fn parse_events(bytes: &[u8], origin: &str) -> Result<EventBatch> {
    let gunzipped;
    let (data, gzip) = if bytes.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .map_err(|e| Error::bad_data(origin, format!("not a valid gzip file: {e}")))?;
        gunzipped = out;
        (gunzipped.as_slice(), true)
    } else {
        (bytes, false)
    };
    let data = data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data);
    let mut reader = Reader::new(origin);
    match data.iter().find(|b| !b.is_ascii_whitespace()) {
        None => {}
        Some(b'{' | b'[' | b'"') => reader.json_stream(data, gzip)?,
        Some(_) => reader.log_lines(data)?,
    }
    let mut batch = reader.finish();
    batch.dedup();
    Ok(batch)
}

/// Reads the replication events of every path: a file, a local folder (every file under
/// it), or an `s3://bucket/prefix` (every object under it, or the one object it names).
/// In folders and prefixes, hidden files (`.name`) and CloudWatch Logs' export probe
/// `aws-logs-write-test` are passed over. Repeats across files are dropped too.
pub async fn read_events(paths: &[String], s3: &S3Options) -> Result<EventBatch> {
    let mut all = EventBatch::default();
    for raw in paths {
        let location = Location::parse(raw)?;
        let store = Store::open(&location, s3).await?;
        all.absorb(read_location(&store, &location).await?);
    }
    all.dedup();
    Ok(all)
}

/// The events of one location, read from its store.
async fn read_location(store: &Store, location: &Location) -> Result<EventBatch> {
    let mut batch = EventBatch::default();
    let root = location.object_path()?;
    let files = event_files(store, location, &mut batch.notes).await?;
    // The file the user named (not one found in a folder or under a prefix).
    let named = files.len() == 1 && files[0] == root;
    let mut without_records: Vec<String> = Vec::new();
    for file in files {
        let bytes = store.get_bytes(&file).await.map_err(|e| match e {
            // The location listed nothing, so it was taken for an object: there is neither.
            Error::NotFound { path, .. } if store.bucket.is_some() && file == root => {
                Error::NotFound {
                    path,
                    hint: " (no such object, and no objects under it as a prefix)",
                }
            }
            other => other,
        })?;
        let shown = store.display(&file);
        let found = parse_events(&bytes, &shown)?;
        let records = found.events.len() as u64 + found.skipped;
        if records == 0 {
            if named {
                return Err(Error::bad_data(
                    &shown,
                    "holds no S3 event notification records; give the replication events (OperationFailedReplication, …) as S3, SNS, SQS, EventBridge, Firehose or CloudWatch Logs wrote them",
                ));
            }
            without_records.push(shown);
        } else if found.events.is_empty() && named {
            batch.notes.push(format!(
                "{shown}: no replication events ({} left out)",
                count(found.skipped, "other S3 event record")
            ));
        }
        batch.absorb(found);
    }
    if let Some(first) = without_records.first() {
        batch.notes.push(format!(
            "{location}: {} with no S3 event records passed over (first: {first})",
            count(without_records.len() as u64, "file"),
        ));
    }
    Ok(batch)
}

/// The files `location` stands for, in name order.
async fn event_files(
    store: &Store,
    location: &Location,
    notes: &mut Vec<String>,
) -> Result<Vec<object_store::path::Path>> {
    let root = location.object_path()?;
    let mut passed_over = 0u64;
    let mut files = Vec::new();
    match location {
        Location::Local(dir) => {
            let meta = std::fs::metadata(dir).map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Error::NotFound {
                    path: dir.display().to_string(),
                    hint: " (give a file, a folder or an s3:// prefix of events)",
                },
                _ => Error::Io {
                    path: dir.display().to_string(),
                    source: e,
                },
            })?;
            if !meta.is_dir() {
                return Ok(vec![root]);
            }
            let mut found = Vec::new();
            walk_local(dir, &mut found, &mut passed_over, &mut HashSet::new())?;
            for file in found {
                let text = file.to_str().ok_or_else(|| {
                    Error::Usage(format!(
                        "{}: the file name is not UTF-8; rename it",
                        file.display()
                    ))
                })?;
                files.push(key_path(text.trim_start_matches('/')));
            }
        }
        Location::S3 { .. } => {
            use futures::TryStreamExt;
            let prefix = (!root.as_ref().is_empty()).then_some(&root);
            let listed: Vec<object_store::ObjectMeta> = store
                .object_store
                .list(prefix)
                .try_collect()
                .await
                .map_err(|e| store.error(e, &root, Action::List))?;
            if listed.is_empty() && prefix.is_some() {
                // Not a prefix: the object itself (or a missing one, said when read).
                return Ok(vec![root]);
            }
            for object in listed {
                // An empty object (a folder marker) holds no events.
                if object.size == 0 {
                    continue;
                }
                if passed_over_name(&path_key(&object.location)) {
                    passed_over += 1;
                    continue;
                }
                files.push(object.location);
            }
        }
    }
    files.sort_by_key(path_key);
    let shown = location.to_string();
    if passed_over > 0 {
        notes.push(format!(
            "{shown}: {} passed over",
            count(
                passed_over,
                "hidden, documentation or aws-logs-write-test file"
            )
        ));
    }
    if files.is_empty() {
        notes.push(format!("{shown}: no event files here"));
    }
    Ok(files)
}

/// Files a folder of events may hold that are not events: hidden files (`.DS_Store`) and
/// the probe CloudWatch Logs writes before an export ("Permission Check Successful").
fn passed_over_name(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let upper = name.to_ascii_uppercase();
    // Folders of collected events often carry a licence or a readme beside them.
    let documentation = ["LICENSE", "LICENCE", "README", "NOTICE", "COPYING"]
        .iter()
        .any(|d| upper.starts_with(d))
        || upper.ends_with(".MD");
    name.starts_with('.') || name == "aws-logs-write-test" || documentation
}

/// Every regular file under `dir`, following symbolic links once each; hidden files and
/// folders and `aws-logs-write-test` are counted in `passed_over` instead.
fn walk_local(
    dir: &std::path::Path,
    out: &mut Vec<std::path::PathBuf>,
    passed_over: &mut u64,
    visited: &mut HashSet<std::path::PathBuf>,
) -> Result<()> {
    let io = |e: std::io::Error| Error::Io {
        path: dir.display().to_string(),
        source: e,
    };
    if !visited.insert(std::fs::canonicalize(dir).map_err(io)?) {
        return Ok(());
    }
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if passed_over_name(&path.to_string_lossy()) {
            *passed_over += 1;
            continue;
        }
        // `metadata` follows links: a link to a file is that file.
        match std::fs::metadata(&path) {
            Ok(m) if m.is_dir() => walk_local(&path, out, passed_over, visited)?,
            Ok(m) if m.is_file() => out.push(path),
            // Sockets, fifos and dangling links hold no events.
            Ok(_) | Err(_) => {}
        }
    }
    Ok(())
}

/// What a string (a log message, an SNS `Message`, …) holds.
enum Embedded {
    Json(Value),
    /// Starts like a JSON object but does not parse.
    Broken,
    Text,
}

/// The JSON value `text` holds: all of it, or (as Lambda runtimes log,
/// `TIMESTAMP\tREQUEST_ID\tINFO\t{…}` or `[INFO]\tTIMESTAMP\tREQUEST_ID\t{…}`) everything
/// after one of its tabs.
fn embedded_json(text: &[u8]) -> Embedded {
    let text = text.trim_ascii();
    let starts_json = |t: &[u8]| matches!(t.first(), Some(b'{' | b'['));
    if starts_json(text)
        && let Ok(v) = serde_json::from_slice(text)
    {
        return Embedded::Json(v);
    }
    for tab in memchr::memchr_iter(b'\t', text) {
        let rest = text[tab + 1..].trim_ascii_start();
        if starts_json(rest)
            && let Ok(v) = serde_json::from_slice(rest)
        {
            return Embedded::Json(v);
        }
    }
    if text.first() == Some(&b'{') {
        Embedded::Broken
    } else {
        Embedded::Text
    }
}

/// The token a CloudWatch Logs export puts before each message: an ISO-8601 time
/// (`2024-09-05T21:04:32.527Z`) or epoch milliseconds.
fn is_timestamp(token: &[u8]) -> bool {
    token.first().is_some_and(u8::is_ascii_digit)
        && token
            .iter()
            .all(|b| b.is_ascii_digit() || matches!(b, b'-' | b':' | b'.' | b'T' | b'Z' | b'+'))
}

/// The bucket name of an S3 bucket ARN (`arn:aws:s3:::name`, any partition); a value that
/// is not an ARN is taken as the name itself.
fn bucket_name(arn: &str) -> String {
    match arn.split_once(":s3:::") {
        Some((head, name)) if head.starts_with("arn:") => name.to_string(),
        _ => arn.to_string(),
    }
}

/// `key` form-URL-decoded, or why it cannot be.
fn decode_key(key: &str) -> std::result::Result<String, String> {
    let bytes = key.as_bytes();
    for at in memchr::memchr_iter(b'%', bytes) {
        let hex = bytes.get(at + 1..at + 3);
        if !hex.is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
            return Err(format!(
                "`%` at byte {at} is not followed by two hex digits"
            ));
        }
    }
    crate::format::key::form_decode(key).map_err(|e| e.to_string())
}

fn text_at<'v>(v: &'v Value, pointer: &str) -> Option<&'v str> {
    v.pointer(pointer)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// One file's reading state.
struct Reader<'a> {
    origin: &'a str,
    events: Vec<ReplicationEvent>,
    skipped: u64,
    bad_keys: u64,
    first_bad_key: Option<String>,
    lines_without_json: u64,
    first_line_without_json: Option<usize>,
    broken_strings: u64,
    first_broken_string: Option<String>,
    too_deep: bool,
}

impl<'a> Reader<'a> {
    fn new(origin: &'a str) -> Self {
        Reader {
            origin,
            events: Vec::new(),
            skipped: 0,
            bad_keys: 0,
            first_bad_key: None,
            lines_without_json: 0,
            first_line_without_json: None,
            broken_strings: 0,
            first_broken_string: None,
            too_deep: false,
        }
    }

    /// A stream of JSON values: one document, NDJSON, or values back to back.
    fn json_stream(&mut self, data: &[u8], gzip: bool) -> Result<()> {
        let mut values = Vec::new();
        let mut stream = serde_json::Deserializer::from_slice(data).into_iter::<Value>();
        let (mut line, mut counted_to) = (1usize, 0usize);
        loop {
            let before = stream.byte_offset();
            match stream.next() {
                None => break,
                Some(Ok(value)) => {
                    let start = before
                        + data[before..]
                            .iter()
                            .take_while(|b| b.is_ascii_whitespace())
                            .count();
                    line += memchr::memchr_iter(b'\n', &data[counted_to..start]).count();
                    counted_to = start;
                    values.push((value, line));
                }
                Some(Err(e)) => return Err(self.json_error(data, &e, gzip)),
            }
        }
        // Lines name values when each starts a line of its own (NDJSON); values back to
        // back on one line are told apart by the event count instead.
        let by_line = values.len() > 1 && values.windows(2).all(|pair| pair[0].1 != pair[1].1);
        if by_line {
            for (value, line) in &values {
                self.value(value, Some(*line))?;
            }
        } else {
            let found_before = self.events.len();
            for (value, _) in &values {
                self.walk(value, 0)?;
            }
            self.number(found_before, self.origin.to_string());
        }
        Ok(())
    }

    /// Log lines: `TIMESTAMP MESSAGE` (CloudWatch Logs exports), or JSON alone. Lines
    /// without JSON (a Lambda's `START`/`REPORT` lines, the rest of a multi-line message)
    /// are counted in a note.
    fn log_lines(&mut self, data: &[u8]) -> Result<()> {
        let mut first = true;
        for (index, raw) in data.split(|&b| b == b'\n').enumerate() {
            let line = raw.trim_ascii();
            if line.is_empty() {
                continue;
            }
            let is_first = std::mem::replace(&mut first, false);
            let message = if matches!(line.first(), Some(b'{' | b'[')) {
                line
            } else {
                let token_end = line
                    .iter()
                    .position(u8::is_ascii_whitespace)
                    .unwrap_or(line.len());
                if is_timestamp(&line[..token_end]) {
                    line[token_end..].trim_ascii_start()
                } else if is_first {
                    // The first line already fits no format: not a file of events.
                    let shown: String = String::from_utf8_lossy(&line[..line.len().min(40)]).into();
                    return Err(Error::bad_data(
                        self.origin,
                        format!(
                            "line {}: neither JSON nor a log line `TIMESTAMP MESSAGE` (it starts {shown:?}); give files of S3 event JSON (any envelope), NDJSON, or CloudWatch Logs exports",
                            index + 1
                        ),
                    ));
                } else {
                    line
                }
            };
            match embedded_json(message) {
                Embedded::Json(value) => self.value(&value, Some(index + 1))?,
                Embedded::Broken | Embedded::Text => {
                    self.lines_without_json += 1;
                    self.first_line_without_json.get_or_insert(index + 1);
                }
            }
        }
        Ok(())
    }

    /// Walks one value read from `line`, then numbers the events it held.
    fn value(&mut self, value: &Value, line: Option<usize>) -> Result<()> {
        let found_before = self.events.len();
        self.walk(value, 0)?;
        let base = match line {
            Some(line) => format!("{}:{line}", self.origin),
            None => self.origin.to_string(),
        };
        self.number(found_before, base);
        Ok(())
    }

    /// Gives the events found since `from` their origin: `base`, with `#K` when there
    /// are several.
    fn number(&mut self, from: usize, base: String) {
        let found = &mut self.events[from..];
        let several = found.len() > 1;
        for (k, event) in found.iter_mut().enumerate() {
            event.origin = if several {
                format!("{base}#{}", k + 1)
            } else {
                base.clone()
            };
        }
    }

    /// Every value inside `root`, depth first in document order (object members in key
    /// order); strings holding JSON are parsed and walked one `depth` further.
    fn walk(&mut self, root: &Value, depth: usize) -> Result<()> {
        let mut stack = vec![root];
        while let Some(value) = stack.pop() {
            match value {
                Value::Object(map) => {
                    if map.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
                        self.skipped += 1;
                        continue;
                    }
                    let mut children = Vec::new();
                    for (name, child) in map {
                        match (name.as_str(), child) {
                            ("Records", Value::Array(records)) => {
                                for record in records {
                                    match record.as_object() {
                                        Some(r) if is_s3_record(r) => self.s3_record(record)?,
                                        _ => children.push(record),
                                    }
                                }
                            }
                            _ => children.push(child),
                        }
                    }
                    stack.extend(children.into_iter().rev());
                }
                Value::Array(items) => stack.extend(items.iter().rev()),
                Value::String(text) => {
                    if !matches!(text.trim_start().as_bytes().first(), Some(b'{' | b'['))
                        && !text.contains('\t')
                    {
                        continue;
                    }
                    match embedded_json(text.as_bytes()) {
                        Embedded::Json(_) if depth + 1 > MAX_UNWRAP => self.too_deep = true,
                        Embedded::Json(inner) => self.walk(&inner, depth + 1)?,
                        Embedded::Broken => {
                            self.broken_strings += 1;
                            self.first_broken_string
                                .get_or_insert_with(|| text.chars().take(40).collect());
                        }
                        Embedded::Text => {}
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// An `aws:s3` record: a replication event, or counted as skipped.
    fn s3_record(&mut self, record: &Value) -> Result<()> {
        let name = text_at(record, "/eventName").unwrap_or_default();
        let name = name.strip_prefix("s3:").unwrap_or(name);
        let data = record.get("replicationEventData");
        // Threshold events may come without `replicationEventData` (doctor.md §c.2: U).
        if data.is_none() && !name.starts_with("Replication:") {
            self.skipped += 1;
            return Ok(());
        }
        let bucket = text_at(record, "/s3/bucket/name")
            .map(str::to_string)
            .or_else(|| text_at(record, "/s3/bucket/arn").map(bucket_name))
            .ok_or_else(|| {
                Error::bad_data(self.origin, "a replication event without s3.bucket.name")
            })?;
        let raw_key = text_at(record, "/s3/object/key").ok_or_else(|| {
            Error::bad_data(self.origin, "a replication event without s3.object.key")
        })?;
        let key = match decode_key(raw_key) {
            Ok(key) => key,
            Err(why) => {
                self.bad_keys += 1;
                self.first_bad_key
                    .get_or_insert_with(|| format!("{raw_key:?}: {why}"));
                raw_key.to_string()
            }
        };
        let data_text = |field: &str| {
            data.and_then(|d| d.get(field))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
        };
        self.events.push(ReplicationEvent {
            bucket,
            key,
            version_id: text_at(record, "/s3/object/versionId")
                .filter(|v| *v != "null")
                .map(str::to_string),
            event_name: name.to_string(),
            failure_reason: data_text("failureReason").map(str::to_string),
            destination_bucket: data_text("destinationBucket").map(bucket_name),
            rule_id: data_text("replicationRuleId").map(str::to_string),
            event_time_ms: text_at(record, "/eventTime")
                .and_then(|t| crate::format::timestamp::parse_timestamp_millis(t.as_bytes())),
            request_id: text_at(record, "/responseElements/x-amz-request-id").map(str::to_string),
            origin: self.origin.to_string(),
        });
        Ok(())
    }

    /// serde_json's error, with the line, column and byte where reading stopped.
    fn json_error(&self, data: &[u8], e: &serde_json::Error, gzip: bool) -> Error {
        let (line, column) = (e.line(), e.column());
        let text = e.to_string();
        let what = text
            .strip_suffix(&format!(" at line {line} column {column}"))
            .unwrap_or(&text);
        let line_start = memchr::memchr_iter(b'\n', data)
            .nth(line.saturating_sub(2))
            .map_or(0, |at| at + 1);
        let byte = if line <= 1 {
            column
        } else {
            line_start + column
        };
        Error::bad_data(
            self.origin,
            format!(
                "not valid JSON at line {line}, column {column} (byte {byte}{}): {what}",
                if gzip { " of the gunzipped data" } else { "" }
            ),
        )
    }

    fn finish(self) -> EventBatch {
        let origin = self.origin;
        let mut notes = Vec::new();
        if let Some(example) = &self.first_bad_key {
            let (are, were) = if self.bad_keys == 1 {
                ("is", "was")
            } else {
                ("are", "were")
            };
            notes.push(format!(
                "{origin}: {} {are} not valid form-URL-encoding and {were} kept as written (first: {example})",
                count(self.bad_keys, "event key")
            ));
        }
        if let Some(line) = self.first_line_without_json {
            let (hold, were) = if self.lines_without_json == 1 {
                ("holds", "was")
            } else {
                ("hold", "were")
            };
            notes.push(format!(
                "{origin}: {} {hold} no JSON and {were} passed over (first: line {line})",
                count(self.lines_without_json, "log line")
            ));
        }
        if let Some(example) = &self.first_broken_string {
            let (start, does, were) = if self.broken_strings == 1 {
                ("starts", "does", "was")
            } else {
                ("start", "do", "were")
            };
            notes.push(format!(
                "{origin}: {} {start} like JSON but {does} not parse, so {were} not unwrapped (first: {example:?})",
                count(self.broken_strings, "string value")
            ));
        }
        if self.too_deep {
            notes.push(format!(
                "{origin}: values wrapped in JSON strings more than {MAX_UNWRAP} levels deep were not unwrapped"
            ));
        }
        EventBatch {
            events: self.events,
            skipped: self.skipped,
            duplicates: 0,
            notes,
        }
    }
}

/// `n thing` or `n things`.
fn count(n: u64, thing: &str) -> String {
    if n == 1 {
        format!("1 {thing}")
    } else {
        format!("{n} {thing}s")
    }
}

/// An S3 event notification record (`eventSource` `aws:s3`).
fn is_s3_record(record: &Map<String, Value>) -> bool {
    record.get("eventSource").and_then(Value::as_str) == Some("aws:s3")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const REAL_REPLICATION: &[u8] =
        include_bytes!("../../testdata/doctor/events/aws-aws-lambda-go/s3-replication-event.json");
    const REAL_PUT: &[u8] =
        include_bytes!("../../testdata/doctor/events/aws-aws-lambda-go/s3-event.json");
    const REAL_PUT_DECODED: &[u8] =
        include_bytes!("../../testdata/doctor/events/aws-aws-lambda-go/s3-event-with-decoded.json");

    /// A replication failure record shaped like the AWS documentation's example.
    fn record(key: &str, version: &str, request_id: &str, reason: &str) -> Value {
        json!({
            "eventVersion": "2.2",
            "eventSource": "aws:s3",
            "awsRegion": "us-east-1",
            "eventTime": "2024-09-05T21:04:32.527Z",
            "eventName": "Replication:OperationFailedReplication",
            "userIdentity": {"principalId": "s3.amazonaws.com"},
            "requestParameters": {"sourceIPAddress": "s3.amazonaws.com"},
            "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": "id2"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "ReplicationEventName",
                "bucket": {"name": "src", "ownerIdentity": {"principalId": "111122223333"}, "arn": "arn:aws:s3:::src"},
                "object": {"key": key, "size": 1, "eTag": "e", "versionId": version, "sequencer": "00"}
            },
            "replicationEventData": {
                "replicationRuleId": "rule-1",
                "destinationBucket": "arn:aws:s3:::dst",
                "s3Operation": "OBJECT_PUT",
                "requestTime": "2024-09-05T21:03:59.168Z",
                "failureReason": reason
            }
        })
    }

    fn notification(records: Vec<Value>) -> Value {
        json!({ "Records": records })
    }

    fn sns(message: &Value) -> Value {
        json!({
            "Type": "Notification",
            "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
            "TopicArn": "arn:aws:sns:us-east-1:111122223333:replication-failures",
            "Subject": "Amazon S3 Notification",
            "Message": message.to_string(),
            "Timestamp": "2024-09-05T21:04:33.000Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        })
    }

    fn sqs_dump(bodies: &[Value]) -> Value {
        let messages: Vec<Value> = bodies
            .iter()
            .enumerate()
            .map(|(i, body)| {
                json!({
                    "MessageId": format!("m{i}"),
                    "ReceiptHandle": "AQEB",
                    "MD5OfBody": "0",
                    "Body": body.to_string()
                })
            })
            .collect();
        json!({ "Messages": messages })
    }

    fn parse(text: &str) -> EventBatch {
        parse_events(text.as_bytes(), "f").unwrap()
    }

    fn keys(batch: &EventBatch) -> Vec<&str> {
        batch.events.iter().map(|e| e.key.as_str()).collect()
    }

    fn origins(batch: &EventBatch) -> Vec<&str> {
        batch.events.iter().map(|e| e.origin.as_str()).collect()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    #[test]
    fn the_real_replication_event_reads_as_aws_documents_it() {
        let batch = parse_events(REAL_REPLICATION, "s3-replication-event.json").unwrap();
        assert_eq!(
            batch,
            EventBatch {
                events: vec![ReplicationEvent {
                    bucket: "amzn-s3-demo-bucket1".into(),
                    key: "replication-test.png".into(),
                    version_id: Some("abcdeH0Xp66ep__QDjR76LK7Gc9X4wKO".into()),
                    event_name: "Replication:OperationFailedReplication".into(),
                    failure_reason: Some("AssumeRoleNotPermitted".into()),
                    destination_bucket: Some("amzn-s3-demo-bucket2".into()),
                    rule_id: Some("notification-test-replication-rule".into()),
                    event_time_ms: Some(1_725_570_272_527),
                    request_id: Some("123bf045-2b4b-4ca8-a211-c34a63c59426".into()),
                    origin: "s3-replication-event.json".into(),
                }],
                ..Default::default()
            }
        );
        // The same record as S3 sends it, without the `s3:` prefix, reads the same.
        let text = String::from_utf8(REAL_REPLICATION.to_vec())
            .unwrap()
            .replace(
                "\"s3:Replication:OperationFailedReplication\"",
                "\"Replication:OperationFailedReplication\"",
            );
        let bare = parse_events(text.as_bytes(), "s3-replication-event.json").unwrap();
        assert_eq!(bare, batch);
    }

    #[test]
    fn real_non_replication_records_are_skipped() {
        for data in [REAL_PUT, REAL_PUT_DECODED] {
            let batch = parse_events(data, "s3-event.json").unwrap();
            assert!(batch.events.is_empty());
            assert_eq!(batch.skipped, 1);
            assert!(batch.notes.is_empty(), "{:?}", batch.notes);
        }
    }

    #[test]
    fn test_events_are_skipped() {
        let test_event = json!({
            "Service": "Amazon S3",
            "Event": "s3:TestEvent",
            "Time": "2024-09-05T21:00:00.000Z",
            "Bucket": "src",
            "RequestId": "R",
            "HostId": "H"
        });
        // Bare, and as an SQS consumer sees it through SNS.
        let batch = parse(&format!("{test_event}\n{}", sqs_dump(&[sns(&test_event)])));
        assert_eq!((batch.events.len(), batch.skipped), (0, 2));
    }

    #[test]
    fn every_envelope_yields_the_event() {
        let event = notification(vec![record("a.txt", "v1", "R1", "DstBucketUnversioned")]);
        let envelopes = [
            ("bare", event.clone()),
            (
                "sqs receive-message",
                sqs_dump(std::slice::from_ref(&event)),
            ),
            ("sns", sns(&event)),
            ("sns in sqs", sqs_dump(&[sns(&event)])),
            (
                "filter-log-events",
                json!({
                    "events": [{
                        "logStreamName": "2024/09/05/[$LATEST]abc",
                        "timestamp": 1725570273000_i64,
                        "message": event.to_string(),
                        "ingestionTime": 1725570274000_i64,
                        "eventId": "1"
                    }],
                    "searchedLogStreams": []
                }),
            ),
            (
                "pipes",
                json!([{
                    "messageId": "m1",
                    "receiptHandle": "AQEB",
                    "body": sns(&event).to_string(),
                    "attributes": {"ApproximateReceiveCount": "1"},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:q"
                }]),
            ),
            (
                "lambda sqs event",
                json!({"Records": [{"eventSource": "aws:sqs", "body": event.to_string()}]}),
            ),
            (
                "lambda sns event",
                json!({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": event.to_string()}}]}),
            ),
        ];
        for (name, value) in envelopes {
            let pretty = serde_json::to_string_pretty(&value).unwrap();
            let batch = parse(&pretty);
            assert_eq!(keys(&batch), ["a.txt"], "{name}");
            let e = &batch.events[0];
            assert_eq!(
                (e.failure_reason.as_deref(), e.destination_bucket.as_deref()),
                (Some("DstBucketUnversioned"), Some("dst")),
                "{name}"
            );
            assert_eq!(e.origin, "f", "{name}");
            assert!(batch.notes.is_empty(), "{name}: {:?}", batch.notes);
        }
    }

    #[test]
    fn ndjson_lines_and_back_to_back_values_are_told_apart() {
        let one = |k: &str, r: &str| notification(vec![record(k, "v", r, "X")]).to_string();
        let ndjson = format!(
            "{}\n\n{}\r\n{}\n",
            one("a", "1"),
            one("b", "2"),
            one("c", "3")
        );
        let batch = parse(&ndjson);
        assert_eq!(keys(&batch), ["a", "b", "c"]);
        assert_eq!(origins(&batch), ["f:1", "f:3", "f:4"]);

        // Firehose: no separator at all, SNS envelopes and bare records mixed.
        let event = |k: &str, r: &str| notification(vec![record(k, "v", r, "X")]);
        let firehose = format!(
            "{}{}{}",
            sns(&event("a", "1")),
            event("b", "2"),
            sns(&event("c", "3"))
        );
        let batch = parse(&firehose);
        assert_eq!(keys(&batch), ["a", "b", "c"]);
        assert_eq!(origins(&batch), ["f#1", "f#2", "f#3"]);

        // Several records in one document are numbered.
        let two = notification(vec![record("a", "v", "1", "X"), record("b", "v", "2", "X")]);
        assert_eq!(origins(&parse(&two.to_string())), ["f#1", "f#2"]);
        let lines = format!("{}\n{two}\n", one("z", "0"));
        assert_eq!(origins(&parse(&lines)), ["f:1", "f:2#1", "f:2#2"]);
    }

    #[test]
    fn log_export_lines_lose_their_timestamp() {
        let event = |k: &str, r: &str| notification(vec![record(k, "v", r, "X")]);
        let export = format!(
            "2024-09-05T21:04:33.000Z START RequestId: 7f3e Version: $LATEST\n\
             2024-09-05T21:04:33.001Z {}\n\
             2024-09-05T21:04:33.002Z 2024-09-05T21:04:33.002Z\t7f3e\tINFO\t{}\n\
             2024-09-05T21:04:33.003Z [INFO]\t2024-09-05T21:04:33.003Z\t7f3e\t{}\n\
             1725570273004 {}\n\
             2024-09-05T21:04:33.005Z END RequestId: 7f3e\n",
            event("a", "1"),
            event("b", "2"),
            sns(&event("c", "3")),
            event("d", "4"),
        );
        let batch = parse(&export);
        assert_eq!(keys(&batch), ["a", "b", "c", "d"]);
        assert_eq!(origins(&batch), ["f:2", "f:3", "f:4", "f:5"]);
        assert_eq!(
            batch.notes,
            ["f: 2 log lines hold no JSON and were passed over (first: line 1)"]
        );
    }

    #[test]
    fn gzip_is_undone_first() {
        let event = |k: &str, r: &str| notification(vec![record(k, "v", r, "X")]);
        let ndjson = format!("{}\n{}\n", event("a", "1"), sqs_dump(&[event("b", "2")]));
        let batch = parse_events(&gzip(ndjson.as_bytes()), "f.gz").unwrap();
        assert_eq!(keys(&batch), ["a", "b"]);
        assert_eq!(origins(&batch), ["f.gz:1", "f.gz:2"]);
        // A CloudWatch Logs export is gzipped log lines.
        let export = format!("2024-09-05T21:04:33.000Z {}\n", event("c", "3"));
        let batch = parse_events(&gzip(export.as_bytes()), "000000.gz").unwrap();
        assert_eq!(keys(&batch), ["c"]);
        // Members of a multi-member gzip file are all read.
        let mut two = gzip(format!("{}\n", event("d", "4")).as_bytes());
        two.extend(gzip(format!("{}\n", event("e", "5")).as_bytes()));
        assert_eq!(keys(&parse_events(&two, "f.gz").unwrap()), ["d", "e"]);
    }

    #[test]
    fn keys_are_form_decoded_exactly_once() {
        let cases = [
            ("red+flower.jpg", "red flower.jpg"),
            ("a%2Bb", "a+b"),
            ("caf%C3%A9/%E6%97%A5.txt", "café/日.txt"),
            ("%2541", "%41"),
            ("dt%3D2024-05-07/x", "dt=2024-05-07/x"),
            ("replication%2Dtest.png", "replication-test.png"),
            ("plain/key", "plain/key"),
        ];
        let records = cases
            .iter()
            .enumerate()
            .map(|(i, (k, _))| record(k, "v", &i.to_string(), "X"))
            .collect();
        // Twice wrapped in strings: unwrapping must not decode the key again.
        let batch = parse(&sqs_dump(&[sns(&notification(records))]).to_string());
        let expected: Vec<&str> = cases.iter().map(|(_, k)| *k).collect();
        assert_eq!(keys(&batch), expected);
        assert!(batch.notes.is_empty());
    }

    #[test]
    fn keys_that_do_not_decode_are_kept_and_noted() {
        let records = vec![
            record("100%zz", "v", "1", "X"),
            record("end%4", "v", "2", "X"),
            record("bad%FF", "v", "3", "X"),
        ];
        let batch = parse(&notification(records).to_string());
        assert_eq!(keys(&batch), ["100%zz", "end%4", "bad%FF"]);
        assert_eq!(
            batch.notes,
            [
                "f: 3 event keys are not valid form-URL-encoding and were kept as written (first: \"100%zz\": `%` at byte 3 is not followed by two hex digits)"
            ]
        );
    }

    #[test]
    fn fields_are_normalised() {
        let mut r = record("k", "null", "", "");
        r["eventName"] = json!("s3:Replication:OperationMissedThreshold");
        r["replicationEventData"]["destinationBucket"] = json!("arn:aws-cn:s3:::dst-cn");
        let mut threshold = record("t", "", "R", "X");
        threshold["eventName"] = json!("Replication:OperationNotTracked");
        threshold
            .as_object_mut()
            .unwrap()
            .remove("replicationEventData");
        let mut plain_dest = record("p", "v", "R2", "X");
        plain_dest["replicationEventData"]["destinationBucket"] = json!("dst-name");
        let batch = parse(&notification(vec![r, threshold, plain_dest]).to_string());
        let [a, b, c] = &batch.events[..] else {
            panic!("{batch:?}")
        };
        assert_eq!(a.event_name, "Replication:OperationMissedThreshold");
        assert_eq!(a.version_id, None);
        assert_eq!(a.request_id, None);
        assert_eq!(a.failure_reason, None);
        assert_eq!(a.destination_bucket.as_deref(), Some("dst-cn"));
        // Without replicationEventData, the event name alone makes it a replication event.
        assert_eq!(
            (
                b.event_name.as_str(),
                b.version_id.as_deref(),
                b.rule_id.as_deref()
            ),
            ("Replication:OperationNotTracked", None, None)
        );
        assert_eq!(c.destination_bucket.as_deref(), Some("dst-name"));
    }

    #[test]
    fn repeated_deliveries_count_once() {
        let event = notification(vec![record("a", "v1", "R1", "X")]);
        let other_request = notification(vec![record("a", "v1", "R2", "X")]);
        let other_version = notification(vec![record("a", "v2", "R1", "X")]);
        let text = format!(
            "{}\n{}\n{}\n{}\n{}\n",
            sqs_dump(&[event.clone(), event.clone()]),
            sns(&event),
            event,
            other_request,
            other_version
        );
        let batch = parse(&text);
        assert_eq!(batch.events.len(), 3);
        assert_eq!(batch.duplicates, 3);
        // The first delivery is the one kept.
        assert_eq!(batch.events[0].origin, "f:1#1");
        // Without a request id the time tells two failures apart.
        let mut early = record("b", "v", "", "X");
        early.as_object_mut().unwrap().remove("responseElements");
        let mut late = early.clone();
        late["eventTime"] = json!("2024-09-06T00:00:00.000Z");
        let batch = parse(&notification(vec![early.clone(), early, late]).to_string());
        assert_eq!((batch.events.len(), batch.duplicates), (2, 1));
    }

    #[test]
    fn unwrapping_is_bounded() {
        let wrapped = |levels: usize| {
            // Each level doubles the backslashes before every quote: keep the record small.
            let mut v = json!({"Records": [{
                "eventSource": "aws:s3",
                "eventName": "Replication:OperationFailedReplication",
                "s3": {"bucket": {"name": "b"}, "object": {"key": "deep"}}
            }]});
            for _ in 0..levels {
                v = json!({ "body": v.to_string() });
            }
            v.to_string()
        };
        assert_eq!(keys(&parse(&wrapped(MAX_UNWRAP))), ["deep"]);
        let batch = parse(&wrapped(MAX_UNWRAP + 1));
        assert!(batch.events.is_empty());
        assert_eq!(
            batch.notes,
            ["f: values wrapped in JSON strings more than 16 levels deep were not unwrapped"]
        );
    }

    #[test]
    fn strings_that_only_look_like_json_are_noted() {
        let text = json!({"Messages": [{"Body": "{not json"}, {"Body": "plain text"}]});
        let batch = parse(&text.to_string());
        assert!(batch.events.is_empty());
        assert_eq!(
            batch.notes,
            [
                "f: 1 string value starts like JSON but does not parse, so was not unwrapped (first: \"{not json\")"
            ]
        );
    }

    #[test]
    fn malformed_input_is_an_error_naming_the_file_and_place() {
        let err = |data: &[u8]| parse_events(data, "events/x.json").unwrap_err().to_string();
        assert_eq!(
            err(b"{\"Records\": [\n  {\"eventSource\": \"aws:s3\",\n"),
            "events/x.json: not valid JSON at line 3, column 0 (byte 42): EOF while parsing a value"
        );
        let good = notification(vec![record("a", "v", "R", "X")]);
        assert_eq!(
            err(format!("{good}\n{good}\n{{\"a\": tru}}\n").as_bytes()),
            format!(
                "events/x.json: not valid JSON at line 3, column 10 (byte {}): expected ident",
                2 * (good.to_string().len() + 1) + 10
            )
        );
        assert_eq!(
            err(b"hello world\n"),
            "events/x.json: line 1: neither JSON nor a log line `TIMESTAMP MESSAGE` (it starts \"hello world\"); give files of S3 event JSON (any envelope), NDJSON, or CloudWatch Logs exports"
        );
        assert!(err(b"\x1f\x8b\x08garbage").starts_with("events/x.json: not a valid gzip file: "));
        let gz = gzip(b"[1, 2");
        assert_eq!(
            parse_events(&gz, "x.gz").unwrap_err().to_string(),
            "x.gz: not valid JSON at line 1, column 5 (byte 5 of the gunzipped data): EOF while parsing a list"
        );
        // A replication record without its object is corrupt, not skipped.
        let mut r = record("a", "v", "R", "X");
        r["s3"].as_object_mut().unwrap().remove("object");
        assert_eq!(
            err(notification(vec![r]).to_string().as_bytes()),
            "events/x.json: a replication event without s3.object.key"
        );
    }

    #[test]
    fn empty_and_eventless_input_is_fine() {
        for text in ["", "  \n", "\u{feff}{}", "[]", "{\"Messages\": []}"] {
            assert_eq!(parse(text), EventBatch::default(), "{text:?}");
        }
    }

    fn write(path: &std::path::Path, data: &[u8]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }

    #[test]
    fn local_files_and_folders_are_read_recursively() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let event = |k: &str, r: &str| notification(vec![record(k, "v", r, "X")]);
        write(
            &root.join("ev/b.json"),
            event("b", "2").to_string().as_bytes(),
        );
        write(
            &root.join("ev/2024/09/05/a.gz"),
            &gzip(sqs_dump(&[event("a", "1")]).to_string().as_bytes()),
        );
        // The same delivery again, in another file: dropped.
        write(
            &root.join("ev/c/dup.json"),
            sns(&event("b", "2")).to_string().as_bytes(),
        );
        write(
            &root.join("ev/aws-logs-write-test"),
            b"Permission Check Successful",
        );
        write(&root.join("ev/.DS_Store"), b"\0\0\0\x01Bud1");
        write(&root.join("ev/.git/config"), b"[core]");
        write(&root.join("one.json"), REAL_REPLICATION);
        let path = |p: &str| root.join(p).to_string_lossy().into_owned();

        let batch = rt
            .block_on(read_events(
                &[path("ev"), path("one.json")],
                &S3Options::default(),
            ))
            .unwrap();
        assert_eq!(keys(&batch), ["a", "b", "replication-test.png"]);
        assert_eq!(
            origins(&batch),
            [
                path("ev/2024/09/05/a.gz"),
                path("ev/b.json"),
                path("one.json")
            ]
        );
        assert_eq!(batch.duplicates, 1);
        assert_eq!(
            batch.notes,
            [format!(
                "{}: 3 hidden, documentation or aws-logs-write-test files passed over",
                path("ev")
            )]
        );

        let err = rt
            .block_on(read_events(&[path("missing")], &S3Options::default()))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: not found (give a file, a folder or an s3:// prefix of events)",
                path("missing")
            )
        );
        write(&root.join("ev/bad.json"), b"{\"Records\": [}");
        let err = rt
            .block_on(read_events(&[path("ev")], &S3Options::default()))
            .unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "{}: not valid JSON at line 1",
                path("ev/bad.json")
            )),
            "{err}"
        );
    }

    #[test]
    fn s3_prefixes_and_objects_are_read_through_the_store() {
        use object_store::{ObjectStoreExt, PutPayload};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let memory = std::sync::Arc::new(object_store::memory::InMemory::new());
        let store = Store {
            object_store: memory.clone(),
            url: datafusion::execution::object_store::ObjectStoreUrl::parse("s3://logs").unwrap(),
            bucket: Some("logs".into()),
        };
        let event = |k: &str, r: &str| notification(vec![record(k, "v", r, "X")]);
        let put = |key: &str, data: Vec<u8>| {
            rt.block_on(memory.put(&key_path(key), PutPayload::from(data)))
                .unwrap();
        };
        put(
            "firehose/2024/09/05/part-2",
            event("b", "2").to_string().into_bytes(),
        );
        put(
            "firehose/2024/09/05/part-1",
            gzip(event("a", "1").to_string().as_bytes()),
        );
        put(
            "firehose/aws-logs-write-test",
            b"Permission Check Successful".to_vec(),
        );
        put("firehose/2024/", Vec::new());
        put("firehose-other/x", b"not read".to_vec());
        put(
            "single.json",
            sns(&event("c", "3")).to_string().into_bytes(),
        );
        let read = |url: &str| rt.block_on(read_location(&store, &Location::parse(url).unwrap()));

        let batch = read("s3://logs/firehose/").unwrap();
        assert_eq!(keys(&batch), ["a", "b"]);
        assert_eq!(
            origins(&batch),
            [
                "s3://logs/firehose/2024/09/05/part-1",
                "s3://logs/firehose/2024/09/05/part-2"
            ]
        );
        assert_eq!(
            batch.notes,
            [
                "s3://logs/firehose/: 1 hidden, documentation or aws-logs-write-test file passed over"
            ]
        );
        let batch = read("s3://logs/single.json").unwrap();
        assert_eq!(origins(&batch), ["s3://logs/single.json"]);
        assert_eq!(
            read("s3://logs/nothing-here").unwrap_err().to_string(),
            "s3://logs/nothing-here: not found (no such object, and no objects under it as a prefix)"
        );
    }
}
