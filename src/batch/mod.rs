//! S3 Batch Operations: manifests for PENDING, FAILED and never-replicated objects, ready
//! `CreateJob` requests, and reading completion reports back.
//!
//! Selecting rows is SQL over the `inventory` table (`select`); writing and proving the
//! manifests is `manifest`; where they go is `dest`.

pub mod dest;
pub mod job;
pub mod manifest;
mod md5_thread;
pub mod report;
pub mod select;
pub mod spool;
