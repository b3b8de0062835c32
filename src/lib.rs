//! s3inv reads S3 Inventory deliveries (CSV.gz, ORC, Parquet; local or `s3://`) as one
//! canonical SQL table `inventory` and answers replication questions over it.
//!
//! ```no_run
//! # async fn example() -> s3inv::Result<()> {
//! use s3inv::{Location, S3Options, Session, SessionOptions};
//!
//! let location = Location::parse("testdata/buckets/acme-inventory/acme-data/daily-csv")?;
//! let session = Session::open(&location, &S3Options::default(), &SessionOptions::default()).await?;
//! let batches = session
//!     .sql("SELECT replication_status, count(*), sum(size) FROM inventory GROUP BY 1")
//!     .await?;
//! # let _ = batches;
//! # Ok(())
//! # }
//! ```

pub mod cli;
pub mod error;
pub mod format;
pub mod generate;
pub mod output;
pub mod manifest;
pub mod progress;
pub mod settings;
pub mod storage;
pub mod table;

pub use error::{Error, Result};
pub use storage::{Location, S3Options};
pub use table::{Session, SessionOptions};
