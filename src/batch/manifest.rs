//! Writing Batch Operations manifests: stream the selection into a spool (an external
//! sort: bounded memory, one canonical order), split the sorted lines into
//! `manifest-00001.csv`, … by `--max-objects` / `--max-bytes`, re-read what was written to
//! prove it (line counts, every key decoding back to the inventory key), then write
//! `summary.json` and the `CreateJob` requests.
//!
//! Lines are `bucket,key,version_id` (no header, `\n`), keys percent-encoded (every byte
//! but `A-Z a-z 0-9 - _ . ~ /`), `null` for null-version objects; a current-only inventory
//! has no version ids, so its lines are `bucket,key`.

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use futures::StreamExt;
use serde_json::{Value, json};

use super::dest::{Destination, FileWriter, Pending, Written};
use super::job::{JobSettings, MAX_OBJECTS_PER_JOB, ManifestSpec, create_job};
use super::select::Selection;
use super::spool::{DEFAULT_RUN_BYTES, Spool};
use crate::error::{Error, Result};
use crate::format::key::{batch_encode_into, percent_decode_into};
use crate::table::Session;

/// Options besides the selection.
#[derive(Debug, Clone, Default)]
pub struct ManifestOptions {
    pub selection: Selection,
    pub max_objects: Option<u64>,
    pub max_bytes: Option<u64>,
    /// One inventory-format manifest.json over all parts, and one job.
    pub one_job: bool,
    pub force: bool,
    /// Job settings; without them no job requests are written.
    pub job: Option<JobSettings>,
    /// Where the manifests are (or will be uploaded) in S3: bucket and key prefix. Needed
    /// for the job requests' object ARNs.
    pub site: Option<(String, String)>,
}

/// Objects and bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    pub objects: u64,
    pub bytes: u64,
}

impl Counts {
    fn add(&mut self, bytes: u64) {
        self.objects += 1;
        self.bytes += bytes;
    }
}

/// One written manifest part.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Part {
    #[serde(flatten)]
    pub file: Written,
    pub lines: u64,
    pub object_bytes: u64,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct ManifestReport {
    pub selected: BTreeMap<String, Counts>,
    pub skipped: BTreeMap<String, Counts>,
    pub parts: Vec<Part>,
    pub jobs: Vec<Written>,
    pub versioned: bool,
    pub verified_lines: u64,
    /// Notes for the user (no job files written, and why).
    pub notes: Vec<String>,
    pub summary: Value,
}

impl ManifestReport {
    pub fn total(&self) -> Counts {
        let mut t = Counts::default();
        for c in self.selected.values() {
            t.objects += c.objects;
            t.bytes += c.bytes;
        }
        t
    }
}

/// Names s3inv writes into a destination (the `--force` check looks for them).
fn is_ours(name: &str) -> bool {
    (name.starts_with("manifest-")
        && (name.ends_with(".csv") || name.ends_with(".json") || name.ends_with(".checksum")))
        || (name.starts_with("job") && name.ends_with(".json"))
        || matches!(name, "summary.json" | "manifest.json" | "manifest.checksum")
}

fn part_name(n: usize) -> String {
    format!("manifest-{n:05}.csv")
}

/// An order-independent digest of (key, version) entries: the wrapping sum of their 128-bit
/// XXH3 hashes. The selection adds what it encodes, the re-read adds what it decodes; equal
/// sums mean every key came back intact. (It guards against our own mistakes, not against
/// an adversary, so a fast non-cryptographic hash serves; the key is length-prefixed so
/// that no (key, version) pair can read as another.)
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct EntrySum(u128);

impl EntrySum {
    fn add(&mut self, key: &[u8], version: Option<&[u8]>, scratch: &mut Vec<u8>) {
        scratch.clear();
        scratch.extend_from_slice(&(key.len() as u64).to_le_bytes());
        scratch.extend_from_slice(key);
        match version {
            Some(v) => {
                scratch.push(1);
                scratch.extend_from_slice(v);
            }
            None => scratch.push(0),
        }
        self.0 = self
            .0
            .wrapping_add(twox_hash::XxHash3_128::oneshot(scratch));
    }
}

/// Sorted lines on their way from the merge to the writer, about `CHUNK_BYTES` at a time:
/// each line with its `\n`, and its object's size.
#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    sizes: Vec<u64>,
}

const CHUNK_BYTES: usize = 1 << 20;

impl Chunk {
    fn push(&mut self, line: &[u8], size: u64) {
        self.bytes.extend_from_slice(line);
        self.bytes.push(b'\n');
        self.ends.push(self.bytes.len());
        self.sizes.push(size);
    }

    fn is_full(&self) -> bool {
        self.bytes.len() >= CHUNK_BYTES
    }
}

struct PartInProgress {
    writer: FileWriter,
    lines: u64,
    object_bytes: u64,
    bucket: Vec<u8>,
}

/// Writes sorted lines, starting a new part at the limits or when the bucket changes; the
/// lines that go to one part are written in one call.
async fn write_lines(
    dest: &Destination,
    opts: &ManifestOptions,
    chunk: &Chunk,
    current: &mut Option<PartInProgress>,
    pending: &mut Vec<(Pending, u64, u64)>,
) -> Result<()> {
    let mut span_start = 0;
    let mut line_start = 0;
    for (&end, &size) in chunk.ends.iter().zip(&chunk.sizes) {
        let line = &chunk.bytes[line_start..end];
        let bucket = &line[..memchr::memchr(b',', line).unwrap_or(line.len() - 1)];
        let split = match current.as_ref() {
            None => false,
            Some(p) => {
                p.bucket != bucket
                    || opts.max_objects.is_some_and(|m| p.lines >= m)
                    || opts
                        .max_bytes
                        .is_some_and(|m| p.lines > 0 && p.object_bytes + size > m)
            }
        };
        if split {
            let mut p = current.take().expect("checked");
            p.writer.write(&chunk.bytes[span_start..line_start]).await?;
            span_start = line_start;
            pending.push((p.writer.finish().await?, p.lines, p.object_bytes));
        }
        if current.is_none() {
            *current = Some(PartInProgress {
                writer: dest.create(&part_name(pending.len() + 1)).await?,
                lines: 0,
                object_bytes: 0,
                bucket: bucket.to_vec(),
            });
        }
        let part = current.as_mut().expect("set above");
        part.lines += 1;
        part.object_bytes += size;
        line_start = end;
    }
    if let Some(p) = current.as_mut() {
        p.writer.write(&chunk.bytes[span_start..line_start]).await?;
    }
    Ok(())
}

/// Writes the manifests for `opts` into `dest`.
pub async fn write_manifests(
    session: &Session,
    dest: &Destination,
    opts: &ManifestOptions,
) -> Result<ManifestReport> {
    opts.selection.validate()?;
    if opts.max_objects == Some(0) || opts.max_bytes == Some(0) {
        return Err(Error::Usage(
            "--max-objects and --max-bytes must be at least 1".into(),
        ));
    }
    let delivery_ms = session.delivery.manifest.creation_timestamp_ms;
    let sql = opts.selection.sql(delivery_ms)?;
    tracing::debug!(%sql, "manifest selection");
    // Plan first: a bad --where fails before anything is written.
    let df = session
        .query(&sql)
        .await
        .map_err(|e| match (&opts.selection.where_sql, e) {
            (Some(w), Error::Query(msg)) => Error::Usage(format!("invalid --where {w:?}: {msg}")),
            (_, e) => e,
        })?;
    dest.check_writable().await?;
    let existing: Vec<String> = dest
        .list()
        .await?
        .into_iter()
        .filter(|n| is_ours(n))
        .collect();
    if !existing.is_empty() && !opts.force {
        let mut shown = existing.clone();
        shown.sort();
        shown.truncate(3);
        return Err(Error::Usage(format!(
            "{} already holds manifests ({}{}); pass --force to replace them",
            dest.shown(),
            shown.join(", "),
            if existing.len() > 3 { ", …" } else { "" }
        )));
    }
    let versioned = session.columns.has_version_ids();
    let store = session.delivery.store.clone();
    let stream = df.execute_stream().await?;
    let mut stream = stream.map(move |b| b.map_err(|e| store.explain_datafusion(e)));

    let mut selected: BTreeMap<String, Counts> = BTreeMap::new();
    let mut skipped: BTreeMap<String, Counts> = BTreeMap::new();
    let mut spool = Spool::new(DEFAULT_RUN_BYTES);
    let mut sum = EntrySum::default();
    let mut line = Vec::with_capacity(1024);
    let mut scratch = Vec::with_capacity(1024);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(Error::from)?;
        let rows = Rows::new(&batch)?;
        for i in 0..batch.num_rows() {
            let size = rows.size(i);
            if let Some(reason) = rows.skip(i) {
                count(&mut skipped, reason, size);
                continue;
            }
            let key = rows.key(i).as_bytes();
            let version = if versioned { rows.version(i) } else { None };
            line.clear();
            line.extend_from_slice(rows.bucket(i).as_bytes());
            line.push(b',');
            batch_encode_into(key, &mut line);
            if versioned {
                line.push(b',');
                line.extend_from_slice(version.unwrap_or("null").as_bytes());
            }
            spool.push(&line, size)?;
            sum.add(key, version.map(str::as_bytes), &mut scratch);
            count(&mut selected, rows.status(i), size);
        }
    }
    tracing::info!(runs = spool.spilled_runs(), "selection sorted");

    let mut pending: Vec<(Pending, u64, u64)> = Vec::new();
    let result: Result<()> = async {
        let mut current: Option<PartInProgress> = None;
        // Writing is async (S3 uploads) but the merge is a plain callback: it hands over
        // chunks of sorted lines through a small bounded channel.
        let mut sorted = Some(spool.finish()?);
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Chunk>>(4);
        let merge = tokio::task::spawn_blocking(move || {
            let sorted = sorted.take().expect("once");
            let mut chunk = Chunk::default();
            let res = sorted.for_each(|l, s| {
                chunk.push(l, s);
                if chunk.is_full() {
                    tx.blocking_send(Ok(std::mem::take(&mut chunk)))
                        .map_err(|_| Error::Query("manifest writer stopped".into()))?;
                }
                Ok(())
            });
            let last = res.map(|()| chunk);
            let _ = tx.blocking_send(last);
        });
        while let Some(chunk) = rx.recv().await {
            write_lines(dest, opts, &chunk?, &mut current, &mut pending).await?;
        }
        merge
            .await
            .map_err(|e| Error::Query(format!("manifest merge failed: {e}")))?;
        if let Some(p) = current.take() {
            pending.push((p.writer.finish().await?, p.lines, p.object_bytes));
        }
        Ok(())
    }
    .await;
    if let Err(e) = result {
        // Nothing that looks like a manifest may stay behind.
        let names: Vec<String> = pending
            .iter()
            .map(|(p, _, _)| p.written().name.clone())
            .collect();
        drop(pending);
        let _ = dest.remove(&names).await;
        return Err(e);
    }

    // Replace what an earlier run left (only with --force, checked above), then publish.
    dest.remove(&existing).await?;
    let mut parts = Vec::new();
    for (p, lines, object_bytes) in pending {
        parts.push(Part {
            file: p.commit()?,
            lines,
            object_bytes,
        });
    }
    tracing::info!(parts = parts.len(), "manifests written");
    let verified = match verify_parts(dest, &parts, versioned, sum).await {
        Ok(n) => {
            tracing::info!(lines = n, "manifests verified");
            n
        }
        Err(e) => {
            let names: Vec<String> = parts.iter().map(|p| p.file.name.clone()).collect();
            let _ = dest.remove(&names).await;
            return Err(e);
        }
    };
    let mut report = ManifestReport {
        selected,
        skipped,
        parts,
        jobs: Vec::new(),
        versioned,
        verified_lines: verified,
        notes: Vec::new(),
        summary: Value::Null,
    };
    if !versioned && report.total().objects > 0 {
        report.notes.push(
            "this inventory lists current versions only (no version ids): lines are bucket,key and a job acts on whatever version is latest when it runs".into(),
        );
    }
    write_jobs(session, dest, opts, &mut report).await?;
    report.summary = summary_json(session, opts, &report);
    let text = serde_json::to_string_pretty(&report.summary).expect("json") + "\n";
    dest.write_whole("summary.json", text.as_bytes()).await?;
    Ok(report)
}

/// Adds one object to the counts of `label`.
fn count(counts: &mut BTreeMap<String, Counts>, label: &str, size: u64) {
    match counts.get_mut(label) {
        Some(c) => c.add(size),
        None => counts.entry(label.to_string()).or_default().add(size),
    }
}

/// Column access for one batch of the selection query.
struct Rows {
    bucket: ArrayRef,
    key: ArrayRef,
    version: ArrayRef,
    size: ArrayRef,
    status: ArrayRef,
    skip: ArrayRef,
}

impl Rows {
    fn new(batch: &RecordBatch) -> Result<Rows> {
        // The canonical string type; a no-op for the inventory columns.
        let text = |i: usize| {
            cast(batch.column(i), &DataType::Utf8View).map_err(|e| Error::Query(e.to_string()))
        };
        Ok(Rows {
            bucket: text(0)?,
            key: text(1)?,
            version: text(2)?,
            size: cast(batch.column(3), &DataType::Int64)
                .map_err(|e| Error::Query(e.to_string()))?,
            status: text(4)?,
            skip: text(5)?,
        })
    }

    fn bucket(&self, i: usize) -> &str {
        self.bucket.as_string_view().value(i)
    }

    fn key(&self, i: usize) -> &str {
        self.key.as_string_view().value(i)
    }

    fn version(&self, i: usize) -> Option<&str> {
        let a = self.version.as_string_view();
        (!a.is_null(i)).then(|| a.value(i))
    }

    fn size(&self, i: usize) -> u64 {
        self.size.as_primitive::<Int64Type>().value(i).max(0) as u64
    }

    fn status(&self, i: usize) -> &str {
        self.status.as_string_view().value(i)
    }

    fn skip(&self, i: usize) -> Option<&str> {
        let a = self.skip.as_string_view();
        (!a.is_null(i)).then(|| a.value(i))
    }
}

/// Re-reads every part: line counts, the key encoding, and the (key, version) sequence.
async fn verify_parts(
    dest: &Destination,
    parts: &[Part],
    versioned: bool,
    expected: EntrySum,
) -> Result<u64> {
    let mut h = EntrySum::default();
    let mut total = 0;
    let mut line = Vec::new();
    let mut key = Vec::new();
    let mut scratch = Vec::new();
    let fields = if versioned { 3 } else { 2 };
    for part in parts {
        let mut lines = dest.read_lines(&part.file.name).await?;
        let mut n = 0u64;
        let bad = |n: u64, why: &str| {
            Error::bad_data(
                &part.file.location,
                format!("line {n}: {why} (the manifest was not written correctly)"),
            )
        };
        while lines.next_line(&mut line).await? {
            n += 1;
            if std::str::from_utf8(&line).is_err() {
                return Err(bad(n, "not UTF-8"));
            }
            // bucket,key[,version]: the key ends at the second comma or the line's end.
            let mut commas = memchr::memchr_iter(b',', &line);
            let (first, second) = (commas.next(), commas.next());
            let key_end = if versioned { second } else { Some(line.len()) };
            let (Some(first), Some(key_end), None) = (first, key_end, commas.next()) else {
                let found = memchr::memchr_iter(b',', &line).count() + 1;
                return Err(bad(n, &format!("{found} fields instead of {fields}")));
            };
            if !versioned && second.is_some() {
                return Err(bad(n, &format!("3 fields instead of {fields}")));
            }
            let encoded = &line[first + 1..key_end];
            if encoded
                .iter()
                .any(|b| matches!(b, b'"' | b' ' | b'+' | b'\t' | b'\r' | b'\n'))
            {
                return Err(bad(n, "key not fully encoded"));
            }
            key.clear();
            percent_decode_into(encoded, &mut key);
            let version = match second {
                Some(c) if versioned && &line[c + 1..] != b"null" => Some(&line[c + 1..]),
                _ => None,
            };
            h.add(&key, version, &mut scratch);
        }
        if n != part.lines {
            return Err(Error::bad_data(
                &part.file.location,
                format!("holds {n} lines, {} were written", part.lines),
            ));
        }
        total += n;
    }
    if h != expected {
        return Err(Error::Query(
            "the manifests do not decode back to the selected inventory keys".into(),
        ));
    }
    Ok(total)
}

fn description(session: &Session, opts: &ManifestOptions, part: Option<(usize, usize)>) -> String {
    let d = &session.delivery;
    let source = d.manifest.source_bucket.clone().unwrap_or_default();
    let mut s = format!(
        "s3inv: replicate {} objects of {source} (inventory {})",
        opts.selection.statuses.join("+"),
        d.name.as_deref().unwrap_or("")
    );
    if let Some((i, n)) = part
        && n > 1
    {
        s.push_str(&format!(", part {i} of {n}"));
    }
    s
}

async fn write_jobs(
    session: &Session,
    dest: &Destination,
    opts: &ManifestOptions,
    report: &mut ManifestReport,
) -> Result<()> {
    if report.parts.is_empty() {
        return Ok(());
    }
    let Some(settings) = &opts.job else {
        report
            .notes
            .push("no --role-arn given: job requests were not written".into());
        return Ok(());
    };
    let Some((bucket, prefix)) = &opts.site else {
        report.notes.push(
            "the manifests are local: give --manifest-url s3://BUCKET/PREFIX (where you will upload them) to get job requests".into(),
        );
        return Ok(());
    };
    let key = |name: &str| {
        if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{}/{name}", prefix.trim_end_matches('/'))
        }
    };
    let arn = |name: &str| format!("arn:aws:s3:::{bucket}/{}", key(name));
    if !opts.one_job {
        let n = report.parts.len();
        for (i, part) in report.parts.iter().enumerate() {
            let job = create_job(
                settings,
                ManifestSpec::Csv {
                    versioned: report.versioned,
                },
                &arn(&part.file.name),
                &part.file.etag,
                &description(session, opts, Some((i + 1, n))),
            );
            let name = format!("job-{:05}.json", i + 1);
            let text = serde_json::to_string_pretty(&job).expect("json") + "\n";
            report
                .jobs
                .push(dest.write_whole(&name, text.as_bytes()).await?);
        }
        return Ok(());
    }
    // One inventory-format manifest per 20 billion objects (one, in practice).
    let mut groups: Vec<Vec<&Part>> = vec![Vec::new()];
    let mut objects = 0;
    for part in &report.parts {
        if objects + part.lines > MAX_OBJECTS_PER_JOB && !groups.last().expect("one").is_empty() {
            groups.push(Vec::new());
            objects = 0;
        }
        objects += part.lines;
        groups.last_mut().expect("one").push(part);
    }
    let single = groups.len() == 1;
    let fields = if report.versioned {
        "Bucket, Key, VersionId"
    } else {
        "Bucket, Key"
    };
    let mut jobs = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let (manifest_name, checksum_name, job_name) = if single {
            (
                "manifest.json".to_string(),
                "manifest.checksum".to_string(),
                "job.json".to_string(),
            )
        } else {
            (
                format!("manifest-job-{:05}.json", i + 1),
                format!("manifest-job-{:05}.checksum", i + 1),
                format!("job-{:05}.json", i + 1),
            )
        };
        let files: Vec<Value> = group
            .iter()
            .map(|p| json!({ "key": key(&p.file.name), "size": p.file.bytes, "MD5checksum": p.file.md5 }))
            .collect();
        let manifest = json!({
            "sourceBucket": session.delivery.manifest.source_bucket,
            "destinationBucket": format!("arn:aws:s3:::{bucket}"),
            "version": "2016-11-30",
            "creationTimestamp": session.delivery.manifest.creation_timestamp_ms.to_string(),
            "fileFormat": "CSV",
            "fileSchema": fields,
            "files": files,
        });
        let text = serde_json::to_string_pretty(&manifest).expect("json") + "\n";
        let written = dest.write_whole(&manifest_name, text.as_bytes()).await?;
        dest.write_whole(&checksum_name, format!("{}\n", written.md5).as_bytes())
            .await?;
        let job = create_job(
            settings,
            ManifestSpec::InventoryReport,
            &arn(&manifest_name),
            &written.etag,
            &description(session, opts, Some((i + 1, groups.len()))),
        );
        let text = serde_json::to_string_pretty(&job).expect("json") + "\n";
        jobs.push(dest.write_whole(&job_name, text.as_bytes()).await?);
    }
    report.jobs = jobs;
    Ok(())
}

fn summary_json(session: &Session, opts: &ManifestOptions, report: &ManifestReport) -> Value {
    let s = &opts.selection;
    let counts = |m: &BTreeMap<String, Counts>| -> Value {
        m.iter()
            .map(|(k, c)| (k.clone(), json!({"objects": c.objects, "bytes": c.bytes})))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let total = report.total();
    json!({
        "s3inv_manifest_version": 1,
        "delivery": crate::output::summary::delivery_json(&session.delivery),
        "selection": {
            "statuses": s.statuses,
            "pending_older_than_ms": s.pending_older_than_ms,
            "prefixes": s.prefixes,
            "min_size": s.min_size,
            "max_size": s.max_size,
            "storage_classes": s.storage_classes,
            "exclude_storage_classes": s.exclude_storage_classes,
            "where": s.where_sql,
            "all_versions": s.all_versions,
            "max_objects": opts.max_objects,
            "max_bytes": opts.max_bytes,
            "one_job": opts.one_job,
        },
        "format": {
            "fields": if report.versioned { json!(["Bucket", "Key", "VersionId"]) } else { json!(["Bucket", "Key"]) },
            "key_encoding": "percent-encoded: every byte except A-Z a-z 0-9 - _ . ~ /",
            "null_version": "null",
        },
        "selected": { "objects": total.objects, "bytes": total.bytes, "statuses": counts(&report.selected) },
        "skipped": counts(&report.skipped),
        "files": report.parts,
        "jobs": report.jobs,
        "verification": {
            "lines_written": report.parts.iter().map(|p| p.lines).sum::<u64>(),
            "lines_reread": report.verified_lines,
            "selected_objects": total.objects,
            "keys_decode_to_inventory_keys": true,
        },
        "notes": report.notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Location, S3Options};

    /// Writes `text` as one part and verifies it against the entries it should hold.
    fn verify(text: &str, versioned: bool, entries: &[(&str, Option<&str>)]) -> Result<u64> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("manifest-00001.csv"), text).unwrap();
        let mut expected = EntrySum::default();
        let mut scratch = Vec::new();
        for (k, v) in entries {
            expected.add(k.as_bytes(), v.map(str::as_bytes), &mut scratch);
        }
        let part = Part {
            file: Written {
                name: "manifest-00001.csv".into(),
                location: "manifest-00001.csv".into(),
                bytes: text.len() as u64,
                md5: String::new(),
                etag: String::new(),
            },
            lines: text.lines().count() as u64,
            object_bytes: 0,
        };
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let location = Location::parse(dir.path().to_str().unwrap())?;
                let dest = Destination::open(&location, &S3Options::default()).await?;
                verify_parts(&dest, &[part], versioned, expected).await
            })
    }

    #[test]
    fn verification_decodes_every_line_back() {
        let entries = [("a b+c", Some("v1")), ("日本/x,y", None)];
        let text = "b,a%20b%2Bc,v1\nb,%E6%97%A5%E6%9C%AC/x%2Cy,null\n";
        assert_eq!(verify(text, true, &entries).unwrap(), 2);
        let current = "b,a%20b%2Bc\nb,%E6%97%A5%E6%9C%AC/x%2Cy\n";
        let unversioned = [("a b+c", None), ("日本/x,y", None)];
        assert_eq!(verify(current, false, &unversioned).unwrap(), 2);
    }

    #[test]
    fn verification_names_the_bad_line() {
        let entries = [("a b", Some("v1")), ("c", Some("v2"))];
        let cases = [
            ("b,a%20b,v1\nb,c\n", "line 2: 2 fields instead of 3"),
            ("b,a%20b,v1\nb,c,v2,x\n", "line 2: 4 fields instead of 3"),
            ("b,a b,v1\nb,c,v2\n", "line 1: key not fully encoded"),
            ("b,a%20b,v1\nb,c,v3\n", "do not decode back"),
            ("b,a%20b,v1\nb,d,v2\n", "do not decode back"),
        ];
        for (text, expected) in cases {
            let err = verify(text, true, &entries).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
        let err = verify("b,a%20b,v1\n", false, &[("a b", None)])
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 1: 3 fields instead of 2"), "{err}");
    }
}
