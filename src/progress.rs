//! Progress counters for long scans: lower layers count, the CLI renders.
//!
//! Counters are plain atomics so readers on many threads can add to them without locks;
//! nothing here prints. A run may verify more than one delivery (the report attaches
//! earlier ones) and read a delivery more than once (the report runs several queries), so
//! the totals to verify and to scan grow with every verification and every planned scan:
//! done and total always count the same work, and "8/4 files" cannot happen.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Scans planned so far: each reads its table's files once.
    pub passes: AtomicU64,
    pub scanned_files: AtomicU64,
    pub scanned_bytes: AtomicU64,
    /// Rows read, over every pass.
    pub rows: AtomicU64,
    /// The delivery's rows: the rows read by the first full pass (see `note_delivery_rows`).
    pub delivery_rows: AtomicU64,
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

    /// Adds one pass over `files` files, `bytes` bytes to the work to do.
    pub fn plan_scan(&self, files: u64, bytes: u64) {
        Self::add(&self.scan_files, files);
        Self::add(&self.scan_bytes, bytes);
        Self::add(&self.passes, 1);
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
