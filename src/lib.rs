//! s3inv reads S3 Inventory deliveries (CSV.gz, ORC, Parquet; local or `s3://`) as one
//! canonical SQL table `inventory` and answers replication questions over it.
//!
//! The layers, from the bottom: [`storage`] (local or S3 object stores), [`manifest`]
//! (finding and verifying a delivery), [`format`] (the canonical schema and one reader per
//! file format), [`table`] (the `inventory` TableProvider and the [`Session`] holding it),
//! [`output`] (result files), [`settings`] and [`cli`]. [`generate`] writes realistic
//! deliveries for tests and benchmarks.
//!
//! ```
//! use datafusion::arrow::util::pretty::pretty_format_batches;
//! use s3inv::{Location, S3Options, Session, SessionOptions};
//!
//! # fn main() -> s3inv::Result<()> {
//! let runtime = tokio::runtime::Runtime::new().unwrap();
//! runtime.block_on(async {
//!     // A configuration folder: the newest complete delivery is used.
//!     let location = Location::parse("testdata/buckets/acme-inventory/acme-data/csv-all")?;
//!     let session =
//!         Session::open(&location, &S3Options::default(), &SessionOptions::default()).await?;
//!     let batches = session
//!         .sql("SELECT count(*) AS objects, sum(size) AS bytes FROM inventory WHERE replication_status = 'FAILED'")
//!         .await?;
//!     println!("{}", pretty_format_batches(&batches).unwrap());
//!     assert_eq!(batches[0].num_rows(), 1);
//!     Ok(())
//! })
//! # }
//! ```

pub mod analytics;
pub mod batch;
pub mod cli;
pub mod diff;
pub mod doctor;
pub mod error;
pub mod format;
pub mod generate;
pub mod manifest;
pub mod output;
pub mod panic_net;
pub mod progress;
pub mod replication;
pub mod report;
pub mod settings;
pub mod storage;
pub mod table;

pub use error::{Error, Result};
pub use storage::{Location, S3Options};
pub use table::{Session, SessionOptions};
