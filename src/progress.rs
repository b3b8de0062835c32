//! Progress counters for long scans: lower layers count, the CLI renders.
//!
//! Counters are plain atomics so readers on many threads can add to them without locks;
//! nothing here prints.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one run: files and bytes verified and scanned, rows produced.
#[derive(Debug, Default)]
pub struct Progress {
    pub total_files: AtomicU64,
    pub total_bytes: AtomicU64,
    pub verified_files: AtomicU64,
    pub verified_bytes: AtomicU64,
    pub scanned_files: AtomicU64,
    pub scanned_bytes: AtomicU64,
    pub rows: AtomicU64,
}

/// A shared handle to the counters.
pub type SharedProgress = Arc<Progress>;

impl Progress {
    /// Starts counting for a delivery of `files` files and `bytes` bytes.
    pub fn start(&self, files: u64, bytes: u64) {
        self.total_files.store(files, Ordering::Relaxed);
        self.total_bytes.store(bytes, Ordering::Relaxed);
    }

    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
