//! Progress counters for long scans: lower layers count, the CLI renders.
//!
//! Counters are plain atomics so readers on many threads can add to them without locks;
//! nothing here prints. A run may verify more than one delivery (the report attaches
//! earlier ones) and read a delivery more than once (the report runs several queries), so
//! the totals to verify and to scan grow with every verification and every planned scan:
//! done and total always count the same work, and "8/4 files" cannot happen.
//!
//! Each query is a *pass* ([`Progress::begin_pass`]): every scan a query needs is planned
//! before any of them runs, so a pass's total is fixed before its first byte is read. The
//! progress line shows the current pass against its own total, so its ETA never jumps back
//! when a later query plans more work.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters of one run: files and bytes verified and scanned, rows produced.
#[derive(Debug, Default)]
pub struct Progress {
    /// The opened delivery's files and bytes.
    pub total_files: AtomicU64,
    pub total_bytes: AtomicU64,
    /// Files and bytes to verify, over every delivery verified so far.
    pub verify_files: AtomicU64,
    pub verify_bytes: AtomicU64,
    pub verified_files: AtomicU64,
    pub verified_bytes: AtomicU64,
    /// Files and bytes to read, over every scan planned so far (one per pass).
    pub scan_files: AtomicU64,
    pub scan_bytes: AtomicU64,
    /// Queries begun so far (see `begin_pass`).
    pub passes: AtomicU64,
    /// The scan counters when the current pass began.
    pass_start: Mutex<PassStart>,
    pub scanned_files: AtomicU64,
    pub scanned_bytes: AtomicU64,
    /// Rows read, over every pass.
    pub rows: AtomicU64,
    /// The delivery's rows: the rows read by the first full pass (see `note_delivery_rows`).
    pub delivery_rows: AtomicU64,
    /// A partitioned comparison (`diff`): buckets, and their bytes on disk, to join and
    /// joined, over every destination so far.
    pub join_buckets: AtomicU64,
    pub join_bytes: AtomicU64,
    pub joined_buckets: AtomicU64,
    pub joined_bytes: AtomicU64,
}

/// The scan counters at the start of a pass.
#[derive(Debug, Default, Clone, Copy)]
struct PassStart {
    scan_files: u64,
    scan_bytes: u64,
    scanned_files: u64,
    scanned_bytes: u64,
    rows: u64,
}

/// One pass's work: planned, and done so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PassProgress {
    /// 1 for the first query of the run.
    pub number: u64,
    pub files: u64,
    pub bytes: u64,
    pub done_files: u64,
    pub done_bytes: u64,
    pub rows: u64,
}

/// A shared handle to the counters.
pub type SharedProgress = Arc<Progress>;

impl Progress {
    /// Starts counting for a delivery of `files` files and `bytes` bytes.
    pub fn start(&self, files: u64, bytes: u64) {
        self.total_files.store(files, Ordering::Relaxed);
        self.total_bytes.store(bytes, Ordering::Relaxed);
    }

    /// Adds a verification of `files` files, `bytes` bytes to the work to do.
    pub fn plan_verify(&self, files: u64, bytes: u64) {
        Self::add(&self.verify_files, files);
        Self::add(&self.verify_bytes, bytes);
    }

    /// Starts a pass: the scans planned from now on, until the next pass, are its work.
    pub fn begin_pass(&self) {
        let mut start = self.pass_start.lock().unwrap_or_else(|e| e.into_inner());
        *start = PassStart {
            scan_files: Self::get(&self.scan_files),
            scan_bytes: Self::get(&self.scan_bytes),
            scanned_files: Self::get(&self.scanned_files),
            scanned_bytes: Self::get(&self.scanned_bytes),
            rows: Self::get(&self.rows),
        };
        Self::add(&self.passes, 1);
    }

    /// Adds one scan over `files` files, `bytes` bytes to the work to do.
    pub fn plan_scan(&self, files: u64, bytes: u64) {
        Self::add(&self.scan_files, files);
        Self::add(&self.scan_bytes, bytes);
    }

    /// Adds a join of `buckets` buckets, `bytes` bytes on disk, to the work to do.
    pub fn plan_join(&self, buckets: u64, bytes: u64) {
        Self::add(&self.join_buckets, buckets);
        Self::add(&self.join_bytes, bytes);
    }

    /// Whether a planned join is under way.
    pub fn joining(&self) -> bool {
        Self::get(&self.joined_buckets) < Self::get(&self.join_buckets)
    }

    /// The current pass: what it planned and what it has done. Done never exceeds planned
    /// (a stream of the previous pass that is still winding down may add a little).
    pub fn pass(&self) -> PassProgress {
        let start = *self.pass_start.lock().unwrap_or_else(|e| e.into_inner());
        let files = Self::get(&self.scan_files).saturating_sub(start.scan_files);
        let bytes = Self::get(&self.scan_bytes).saturating_sub(start.scan_bytes);
        PassProgress {
            number: Self::get(&self.passes).max(1),
            files,
            bytes,
            done_files: Self::get(&self.scanned_files)
                .saturating_sub(start.scanned_files)
                .min(files),
            done_bytes: Self::get(&self.scanned_bytes)
                .saturating_sub(start.scanned_bytes)
                .min(bytes),
            rows: Self::get(&self.rows).saturating_sub(start.rows),
        }
    }

    /// Notes the rows read so far as the delivery's rows, once: call it after the first
    /// pass that read every row of the delivery and nothing else. Later passes (a report
    /// reads the delivery more than once) do not change it.
    pub fn note_delivery_rows(&self) {
        let rows = Self::get(&self.rows);
        let _ = self
            .delivery_rows
            .compare_exchange(0, rows, Ordering::Relaxed, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
