//! Replication analytics over the `inventory` table: the summary (status by prefix, age,
//! tag, storage class, …) and the canned queries. The SQL helpers they use live with the
//! table (`table::functions`), since every session registers them.
//!
//! Reading deliveries is left to `table`; printing to `cli` and `output`.

pub mod queries;
pub mod summary;
pub mod tags;
