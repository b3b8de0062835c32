//! Writing Batch Operations manifests: stream the selection into a spool (an external
//! sort: bounded memory, one canonical order), split the sorted lines into
//! `manifest-00001.csv`, … by `--max-objects` / `--max-bytes`, re-read what was written to
//! prove it (line counts, every key decoding back to the inventory key), then write
//! `summary.json` and the `CreateJob` requests.
//!
//! Lines are `bucket,key,version_id` (no header, `\n`), keys percent-encoded (every byte
//! but `A-Z a-z 0-9 - _ . ~ /`), `null` for null-version objects; a current-only inventory
//! has no version ids, so its lines are `bucket,key`.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Int64Type};
use futures::StreamExt;
use serde_json::{Value, json};

use super::dest::{
    Destination, FileWriter, Pending, Written, finish_cleanup, is_temporary_of, spawn_cleanup,
};
use super::job::{JobSettings, MAX_OBJECTS_PER_JOB, ManifestSpec, Operation, create_job};
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
    /// What the jobs do (Batch Replication unless told).
    pub operation: Operation,
    /// Why these objects, when the selection is not a query (`doctor --emit-manifests`:
    /// the cause): named in the job descriptions and in `summary.json`.
    pub purpose: Option<String>,
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
    /// Files of an earlier run this one removed (`--force`).
    pub removed: Vec<String>,
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

/// A numbered name s3inv writes: `manifest-00001.csv`, `job-00001.json`,
/// `manifest-job-00001.json`, `manifest-job-00001.checksum` (five or more digits).
fn is_numbered(name: &str) -> bool {
    let numbered = |rest: &str, ext: &str| {
        rest.strip_suffix(ext)
            .is_some_and(|d| d.len() >= 5 && d.bytes().all(|b| b.is_ascii_digit()))
    };
    if let Some(rest) = name.strip_prefix("manifest-job-") {
        return numbered(rest, ".json") || numbered(rest, ".checksum");
    }
    if let Some(rest) = name.strip_prefix("manifest-") {
        return numbered(rest, ".csv");
    }
    name.strip_prefix("job-")
        .is_some_and(|rest| numbered(rest, ".json"))
}

/// Unnumbered names s3inv writes; they are s3inv's only when its `summary.json` says so.
fn is_fixed(name: &str) -> bool {
    matches!(
        name,
        "summary.json" | "manifest.json" | "manifest.checksum" | "job.json"
    )
}

/// What an earlier run left in a destination.
#[derive(Debug, Default)]
struct Earlier {
    /// Every name in the destination.
    names: BTreeSet<String>,
    /// The files an earlier run wrote: the numbered names, and the unnumbered ones its
    /// `summary.json` lists (a user's own `manifest.json` or `job.json` is not ours).
    ours: BTreeSet<String>,
    /// Temporary files of an interrupted run (`.manifest-00001.csv.….tmp`).
    temporary: BTreeSet<String>,
}

impl Earlier {
    async fn read(dest: &Destination) -> Result<Earlier> {
        let names: BTreeSet<String> = dest.list().await?.into_iter().collect();
        let mut ours: BTreeSet<String> = names.iter().filter(|n| is_numbered(n)).cloned().collect();
        if names.contains("summary.json")
            && let Some(text) = dest.read("summary.json").await?
            && let Ok(summary) = serde_json::from_slice::<Value>(&text)
            && summary.get("s3inv_manifest_version").is_some()
        {
            ours.insert("summary.json".into());
            let listed: Vec<&str> = match summary["outputs"].as_array() {
                Some(outputs) => outputs.iter().filter_map(Value::as_str).collect(),
                // Summaries before `outputs`: the parts and jobs they list, and the
                // inventory-format manifest of --one-job.
                None => {
                    let mut l: Vec<&str> = ["files", "jobs"]
                        .iter()
                        .flat_map(|k| summary[*k].as_array().into_iter().flatten())
                        .filter_map(|f| f["name"].as_str())
                        .collect();
                    if summary["selection"]["one_job"] == Value::Bool(true) {
                        l.extend(["manifest.json", "manifest.checksum"]);
                    }
                    l
                }
            };
            ours.extend(
                listed
                    .into_iter()
                    .filter(|n| (is_numbered(n) || is_fixed(n)) && names.contains(*n))
                    .map(str::to_string),
            );
        }
        let temporary = names
            .iter()
            .filter(|n| is_temporary_of(n, |base| is_numbered(base) || is_fixed(base)))
            .cloned()
            .collect();
        Ok(Earlier {
            names,
            ours,
            temporary,
        })
    }

    /// Refuses to replace an earlier run's files without `--force`, and anything s3inv did
    /// not write whatever the flags.
    fn check(&self, dest: &Destination, opts: &ManifestOptions) -> Result<()> {
        let mut fixed = vec!["summary.json"];
        if opts.one_job {
            fixed.extend(["manifest.json", "manifest.checksum", "job.json"]);
        }
        if let Some(foreign) = fixed
            .iter()
            .find(|n| self.names.contains(**n) && !self.ours.contains(**n))
        {
            return Err(Error::Usage(format!(
                "{} holds a {foreign} that s3inv did not write (no s3inv summary.json lists it); choose another --out or move the file",
                dest.shown()
            )));
        }
        if !self.ours.is_empty() && !opts.force {
            let shown: Vec<&str> = self.ours.iter().take(3).map(String::as_str).collect();
            return Err(Error::Usage(format!(
                "{} already holds manifests ({}{}); pass --force to replace them",
                dest.shown(),
                shown.join(", "),
                if self.ours.len() > 3 { ", …" } else { "" }
            )));
        }
        Ok(())
    }
}

/// The files a run has put in place that the earlier run did not have: removed if the run
/// fails or is cancelled before its `summary.json` is written.
struct Publishing {
    dest: Destination,
    earlier: BTreeSet<String>,
    written: Vec<String>,
    done: bool,
}

impl Drop for Publishing {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let added: Vec<String> = self
            .written
            .iter()
            .filter(|n| !self.earlier.contains(*n))
            .cloned()
            .collect();
        let dest = self.dest.clone();
        spawn_cleanup(async move {
            let _ = dest.remove(&added).await;
        });
    }
}

/// The largest part file: S3 copies at most 5 GiB in one request (a staged part is copied
/// into place).
const MAX_PART_FILE_BYTES: u64 = 5 << 30;

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
    file_bytes: u64,
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
                    || p.file_bytes + line.len() as u64 > MAX_PART_FILE_BYTES
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
            // Writing local parts never waits: give a cancellation (Ctrl-C) its chance.
            tokio::task::coop::consume_budget().await;
            *current = Some(PartInProgress {
                writer: dest.create(&part_name(pending.len() + 1)).await?,
                lines: 0,
                object_bytes: 0,
                file_bytes: 0,
                bucket: bucket.to_vec(),
            });
        }
        let part = current.as_mut().expect("set above");
        part.lines += 1;
        part.object_bytes += size;
        part.file_bytes += line.len() as u64;
        line_start = end;
    }
    if let Some(p) = current.as_mut() {
        p.writer.write(&chunk.bytes[span_start..line_start]).await?;
    }
    Ok(())
}

/// The objects a run selected, sorted on their way to the manifest parts: the lines in a
/// spool (bounded memory), their digest for the re-read, and the counts.
pub struct Selected {
    spool: Spool,
    sum: EntrySum,
    selected: BTreeMap<String, Counts>,
    skipped: BTreeMap<String, Counts>,
    versioned: bool,
    line: Vec<u8>,
    scratch: Vec<u8>,
}

impl Selected {
    /// An empty selection; `versioned` when the inventory has version ids (lines
    /// `bucket,key,version`), and sorted in runs of `run_bytes`.
    pub fn new(versioned: bool, run_bytes: usize) -> Selected {
        Selected {
            spool: Spool::new(run_bytes),
            sum: EntrySum::default(),
            selected: BTreeMap::new(),
            skipped: BTreeMap::new(),
            versioned,
            line: Vec::with_capacity(1024),
            scratch: Vec::with_capacity(1024),
        }
    }

    /// Adds one object, counted under `label` (its status).
    pub fn push(
        &mut self,
        bucket: &str,
        key: &str,
        version: Option<&str>,
        size: u64,
        label: &str,
    ) -> Result<()> {
        let version = if self.versioned { version } else { None };
        self.line.clear();
        self.line.extend_from_slice(bucket.as_bytes());
        self.line.push(b',');
        batch_encode_into(key.as_bytes(), &mut self.line);
        if self.versioned {
            self.line.push(b',');
            self.line
                .extend_from_slice(version.unwrap_or("null").as_bytes());
        }
        self.spool.push(&self.line, size)?;
        self.sum.add(
            key.as_bytes(),
            version.map(str::as_bytes),
            &mut self.scratch,
        );
        count(&mut self.selected, label, size);
        Ok(())
    }

    /// Counts an object that must not be written, under the reason.
    pub fn skip(&mut self, reason: &str, size: u64) {
        count(&mut self.skipped, reason, size);
    }

    /// The objects counted as skipped, by reason.
    pub fn skipped(&self) -> &BTreeMap<String, Counts> {
        &self.skipped
    }

    /// The labels (statuses) of the objects selected so far.
    pub fn statuses(&self) -> Vec<String> {
        self.selected.keys().cloned().collect()
    }

    /// Objects selected so far.
    pub fn objects(&self) -> u64 {
        self.selected.values().map(|c| c.objects).sum()
    }
}

/// What an earlier run left in a destination, read and checked before a scan: a run that
/// may not write there fails before it reads anything.
pub struct Prepared {
    earlier: Earlier,
}

/// Checks that `dest` can be written and that what an earlier run left there may be
/// replaced (`opts.force`).
pub async fn prepare(dest: &Destination, opts: &ManifestOptions) -> Result<Prepared> {
    dest.check_writable().await?;
    let earlier = Earlier::read(dest).await?;
    earlier.check(dest, opts)?;
    Ok(Prepared { earlier })
}

/// Removes the files an earlier run wrote in `dest` (and its temporary files); a user's
/// own files stay. Returns the names removed.
pub async fn remove_earlier(dest: &Destination) -> Result<Vec<String>> {
    let earlier = Earlier::read(dest).await?;
    // summary.json last: until it goes, the folder still says what it holds.
    let mut names: Vec<String> = earlier
        .ours
        .iter()
        .chain(&earlier.temporary)
        .filter(|n| *n != "summary.json")
        .cloned()
        .collect();
    if earlier.ours.contains("summary.json") {
        names.push("summary.json".into());
    }
    dest.remove(&names).await?;
    Ok(names)
}

/// Writes the manifests for `opts` into `dest`.
pub async fn write_manifests(
    session: &Session,
    dest: &Destination,
    opts: &ManifestOptions,
) -> Result<ManifestReport> {
    opts.selection.validate()?;
    check_limits(opts)?;
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
    let prepared = prepare(dest, opts).await?;
    let store = session.delivery.store.clone();
    let stream = df.execute_stream().await?;
    let mut stream = stream.map(move |b| b.map_err(|e| store.explain_datafusion(e)));

    let mut selection = Selected::new(session.columns.has_version_ids(), DEFAULT_RUN_BYTES);
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(Error::from)?;
        let rows = Rows::new(&batch)?;
        for i in 0..batch.num_rows() {
            let size = rows.size(i);
            match rows.skip(i) {
                Some(reason) => selection.skip(reason, size),
                None => selection.push(
                    rows.bucket(i),
                    rows.key(i),
                    rows.version(i),
                    size,
                    rows.status(i),
                )?,
            }
        }
    }
    write_selected(session, dest, opts, prepared, selection).await
}

fn check_limits(opts: &ManifestOptions) -> Result<()> {
    if opts.max_objects == Some(0) || opts.max_bytes == Some(0) {
        return Err(Error::Usage(
            "--max-objects and --max-bytes must be at least 1".into(),
        ));
    }
    Ok(())
}

/// Writes a selection into `dest` (prepared by [`prepare`]): the sorted lines split into
/// parts, every part re-read and proven, then put in place with the job requests and
/// `summary.json`. Nothing of a failed run stays behind.
pub async fn write_selected(
    session: &Session,
    dest: &Destination,
    opts: &ManifestOptions,
    prepared: Prepared,
    selection: Selected,
) -> Result<ManifestReport> {
    check_limits(opts)?;
    let Selected {
        spool,
        sum,
        selected,
        skipped,
        versioned,
        ..
    } = selection;
    let earlier = prepared.earlier;
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
        // Nothing may stay behind: uncommitted files are removed (uploads aborted) as they
        // drop.
        drop(pending);
        finish_cleanup(CLEANUP_WAIT).await;
        return Err(e);
    }
    tracing::info!(parts = pending.len(), "manifests written");
    // Verify before anything is visible: the earlier run's files are still untouched.
    let verified = match verify_parts(&pending, versioned, sum).await {
        Ok(n) => n,
        Err(e) => {
            drop(pending);
            finish_cleanup(CLEANUP_WAIT).await;
            return Err(e);
        }
    };
    tracing::info!(lines = verified, "manifests verified");
    let report = ManifestReport {
        selected,
        skipped,
        parts: Vec::new(),
        jobs: Vec::new(),
        versioned,
        verified_lines: verified,
        notes: Vec::new(),
        removed: Vec::new(),
        summary: Value::Null,
    };
    let result = publish(session, dest, opts, earlier, pending, report).await;
    if result.is_err() {
        finish_cleanup(CLEANUP_WAIT).await;
    }
    result
}

/// How long a failed run waits for its clean-up (aborting uploads, deleting staged files).
const CLEANUP_WAIT: Duration = Duration::from_secs(30);

/// Puts the verified parts in place, writes the job requests, removes what the earlier run
/// wrote and this one did not, and writes `summary.json` last: until it exists, the set is
/// incomplete (the earlier run's `summary.json` is removed first).
async fn publish(
    session: &Session,
    dest: &Destination,
    opts: &ManifestOptions,
    earlier: Earlier,
    pending: Vec<(Pending, u64, u64)>,
    mut report: ManifestReport,
) -> Result<ManifestReport> {
    let mut publishing = Publishing {
        dest: dest.clone(),
        earlier: earlier.ours.clone(),
        written: Vec::new(),
        done: false,
    };
    if earlier.ours.contains("summary.json") {
        dest.remove(&["summary.json".to_string()]).await?;
    }
    for (p, lines, object_bytes) in pending {
        publishing.written.push(p.written().name.clone());
        report.parts.push(Part {
            file: p.commit().await?,
            lines,
            object_bytes,
        });
    }
    if !report.versioned && report.total().objects > 0 {
        report.notes.push(
            "this inventory lists current versions only (no version ids): lines are bucket,key and a job acts on whatever version is latest when it runs".into(),
        );
    }
    write_jobs(session, dest, opts, &mut report, &mut publishing.written).await?;
    let mut stale: Vec<String> = earlier
        .ours
        .iter()
        .chain(&earlier.temporary)
        .filter(|n| *n != "summary.json" && !publishing.written.contains(n))
        .cloned()
        .collect();
    stale.sort();
    dest.remove(&stale).await?;
    if !stale.is_empty() {
        let shown: Vec<&str> = stale.iter().take(5).map(String::as_str).collect();
        report.notes.push(format!(
            "removed {} file{} an earlier run wrote: {}{}",
            stale.len(),
            if stale.len() == 1 { "" } else { "s" },
            shown.join(", "),
            if stale.len() > 5 { ", …" } else { "" }
        ));
    }
    report.removed = stale;
    publishing.written.push("summary.json".into());
    report.summary = summary_json(session, opts, &report, &publishing.written);
    let text = serde_json::to_string_pretty(&report.summary).expect("json") + "\n";
    dest.write_whole("summary.json", text.as_bytes()).await?;
    publishing.done = true;
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
    parts: &[(Pending, u64, u64)],
    versioned: bool,
    expected: EntrySum,
) -> Result<u64> {
    let mut h = EntrySum::default();
    let mut total = 0;
    let mut line = Vec::new();
    let mut key = Vec::new();
    let mut scratch = Vec::new();
    let fields = if versioned { 3 } else { 2 };
    for (pending, written_lines, _) in parts {
        let file = pending.written();
        let mut lines = pending.read_lines().await?;
        let mut n = 0u64;
        let bad = |n: u64, why: &str| {
            Error::bad_data(
                &file.location,
                format!("line {n}: {why} (the manifest was not written correctly)"),
            )
        };
        while lines.next_line(&mut line).await? {
            n += 1;
            if n.is_multiple_of(1024) {
                // Reading a local part never waits: let a cancellation in.
                tokio::task::coop::consume_budget().await;
            }
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
        if n != *written_lines {
            return Err(Error::bad_data(
                &file.location,
                format!("holds {n} lines, {written_lines} were written"),
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
    let what = match &opts.purpose {
        Some(purpose) => purpose.clone(),
        None => opts.selection.statuses.join("+"),
    };
    let mut s = format!(
        "s3inv: {} {what} objects of {source} (inventory {})",
        opts.operation.verb(),
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
    written: &mut Vec<String>,
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
    if dest.s3_bucket_and_prefix().is_none() {
        // The jobs name each file by the ETag S3 will give it: the one `aws s3 cp` produces
        // with its default settings (computed by `md5_thread::Digests::aws_cli_etag`).
        report.notes.push(format!(
            "upload with: aws s3 cp {} s3://{bucket}/{} --recursive — the job requests carry the ETag S3 gives each file when aws-cli uploads it with its default 8 MiB multipart_threshold and multipart_chunksize (the MD5 below 8 MiB, a multipart ETag `<md5 of part md5s>-N` from 8 MiB); other settings or tools give other ETags, which CreateJob refuses",
            dest.shown(),
            key("")
        ));
    }
    if !opts.one_job {
        let n = report.parts.len();
        for (i, part) in report.parts.iter().enumerate() {
            let job = create_job(
                settings,
                opts.operation,
                ManifestSpec::Csv {
                    versioned: report.versioned,
                },
                &arn(&part.file.name),
                &part.file.etag,
                &description(session, opts, Some((i + 1, n))),
            );
            let name = format!("job-{:05}.json", i + 1);
            let text = serde_json::to_string_pretty(&job).expect("json") + "\n";
            written.push(name.clone());
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
        written.extend([
            manifest_name.clone(),
            checksum_name.clone(),
            job_name.clone(),
        ]);
        let manifest_file = dest.write_whole(&manifest_name, text.as_bytes()).await?;
        dest.write_whole(
            &checksum_name,
            format!("{}\n", manifest_file.md5).as_bytes(),
        )
        .await?;
        let job = create_job(
            settings,
            opts.operation,
            ManifestSpec::InventoryReport,
            &arn(&manifest_name),
            &manifest_file.etag,
            &description(session, opts, Some((i + 1, groups.len()))),
        );
        let text = serde_json::to_string_pretty(&job).expect("json") + "\n";
        jobs.push(dest.write_whole(&job_name, text.as_bytes()).await?);
    }
    report.jobs = jobs;
    Ok(())
}

fn summary_json(
    session: &Session,
    opts: &ManifestOptions,
    report: &ManifestReport,
    outputs: &[String],
) -> Value {
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
            "purpose": opts.purpose,
        },
        "operation": match opts.operation {
            Operation::Replicate => json!("S3ReplicateObject"),
            Operation::Restore { expiration_days, tier } => json!({
                "S3InitiateRestoreObject": { "ExpirationInDays": expiration_days, "GlacierJobTier": tier.as_str() }
            }),
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
        "outputs": outputs,
        "removed": report.removed,
        "verification": {
            "lines_written": report.parts.iter().map(|p| p.lines).sum::<u64>(),
            "lines_reread": report.verified_lines,
            "selected_objects": total.objects,
            "keys_decode_to_inventory_keys": true,
        },
        // The delivery's own notes (a newer incomplete delivery skipped) first: they change
        // what the selection means.
        "notes": session.delivery.notes.iter().chain(&report.notes).collect::<Vec<_>>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Location, S3Options};

    /// Writes `text` as one part and verifies it against the entries it should hold.
    fn verify(text: &str, versioned: bool, entries: &[(&str, Option<&str>)]) -> Result<u64> {
        let dir = tempfile::tempdir().unwrap();
        let mut expected = EntrySum::default();
        let mut scratch = Vec::new();
        for (k, v) in entries {
            expected.add(k.as_bytes(), v.map(str::as_bytes), &mut scratch);
        }
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let location = Location::parse(dir.path().to_str().unwrap())?;
                let dest = Destination::open(&location, &S3Options::default()).await?;
                let mut w = dest.create("manifest-00001.csv").await?;
                w.write(text.as_bytes()).await?;
                let pending = w.finish().await?;
                let lines = text.lines().count() as u64;
                verify_parts(&[(pending, lines, 0)], versioned, expected).await
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
