//! Inventory data formats: the canonical schema, the key codecs, and one reader per
//! format that turns a data file into canonical record batches.
//!
//! Which files to read, and in what order, is decided by `table`; this module reads one
//! file at a time and knows nothing about manifests or deliveries.

pub mod assemble;
pub mod csv;
pub mod key;
pub mod orc;
pub mod parquet;
pub mod schema;
pub mod timestamp;
