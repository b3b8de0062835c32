//! `s3inv doctor`: why objects did not replicate. Every FAILED, PENDING and never-replicated
//! object of a source inventory is attributed to one cause per destination, from the
//! replication configuration and the bucket, IAM and KMS documents around it, replication
//! failure events and Batch Operations completion reports (see `shared/spec/doctor.md`).
//!
//! Lower modules read and decide; nothing here prints (the CLI renders).

pub mod causes;
pub mod collect;
pub mod config;
pub mod contrast;
pub mod diagnose;
pub mod events;
pub mod facts;
pub mod permissions;
pub mod policy;
pub mod reasons;
pub mod redrive;
pub mod reported;
pub mod rules;
