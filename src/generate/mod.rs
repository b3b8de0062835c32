//! Writes realistic inventory deliveries — CSV.gz, ORC and Parquet of the same logical
//! rows, versioned or current-only — in the real destination-bucket layout, with
//! manifest.json (Jackson formatting, like AWS) and manifest.checksum written last.
//!
//! Used for the bundled `testdata/`, the tests (which compare query answers with the rows
//! themselves) and the benchmarks. Rows stream from a seeded generator, so memory stays
//! flat for any row count.

mod evolve;
pub mod replicas;
mod rows;
mod tags;
mod writers;

use std::fs;
use std::path::{Path, PathBuf};

pub use rows::{HOSTILE_KEYS, Row, RowGen, long_key};
pub use tags::{tags_for, write_tag_sources};
pub use writers::csv_line;

use crate::error::{Error, Result};
use crate::manifest::{FileFormat, md5_hex};
use writers::FileWriter;

/// Which object versions a delivery lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Versions {
    /// `IncludedObjectVersions = All`: every version and delete marker.
    All,
    /// `IncludedObjectVersions = Current`: current, live objects only, no version fields.
    Current,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Rows drawn from the generator (the versioned delivery has exactly this many; a
    /// current-only one has the current rows among them).
    pub rows: u64,
    pub seed: u64,
    pub source_bucket: String,
    pub destination_bucket: String,
    /// Optional destination prefix (`Destination.Prefix`).
    pub destination_prefix: String,
    /// Delivery creation time, epoch milliseconds.
    pub created_ms: i64,
    /// Data files per delivery.
    pub files: usize,
    /// Start with the hostile keys.
    pub hostile: bool,
    /// Days after the first delivery (0 = the first). Later deliveries list the same
    /// objects with statuses moved on (PENDING mostly completes, some FAILED are re-driven)
    /// plus the objects written since, so trends between deliveries are realistic.
    pub day: u32,
}

impl GenerateOptions {
    /// The delivery's creation time (epoch ms): `created_ms` plus `day` days.
    pub fn delivery_ms(&self) -> i64 {
        self.created_ms + self.day as i64 * evolve::DAY_MS
    }

    /// Every row of the delivery (all versions), in file order.
    pub fn all_rows(&self) -> impl Iterator<Item = Row> + use<> {
        let day = self.day;
        let base = RowGen::new(
            self.seed,
            &self.source_bucket,
            self.created_ms,
            self.hostile,
        )
        .take(self.rows as usize)
        .map(move |r| evolve::evolve(r, day));
        base.chain(evolve::new_objects(self.clone()))
    }

    /// Number of rows of [`Self::all_rows`].
    pub fn row_count(&self) -> u64 {
        self.rows + evolve::new_per_day(self.rows) * self.day as u64
    }

    /// The rows a delivery with `versions` lists, in file order.
    pub fn rows(&self, versions: Versions) -> impl Iterator<Item = Row> + use<> {
        self.all_rows()
            .filter(move |r| versions == Versions::All || r.is_current())
    }
}

/// One delivery to write.
#[derive(Debug, Clone)]
pub struct DeliverySpec {
    pub format: FileFormat,
    pub versions: Versions,
    pub config_id: String,
}

/// What was written.
#[derive(Debug, Clone)]
pub struct WrittenDelivery {
    pub manifest: PathBuf,
    pub rows: u64,
    pub files: usize,
    pub bytes: u64,
}

/// `YYYY-MM-DDTHH-MMZ` of an epoch-millisecond instant.
pub fn delivery_name(created_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(created_ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H-%MZ")
        .to_string()
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::Io {
        path: path.display().to_string(),
        source: e,
    }
}

/// Writes one delivery under `bucket_root` (a folder standing for the destination bucket).
pub fn write_delivery(
    bucket_root: &Path,
    opts: &GenerateOptions,
    spec: &DeliverySpec,
) -> Result<WrittenDelivery> {
    write_delivery_of(bucket_root, opts, spec, opts.all_rows(), opts.row_count())
}

/// Writes `rows` (`count` of them) as one delivery, laid out and named as `opts` says: for
/// tests and scenarios that need exactly these rows in every format.
pub fn write_rows(
    bucket_root: &Path,
    opts: &GenerateOptions,
    spec: &DeliverySpec,
    rows: &[Row],
) -> Result<WrittenDelivery> {
    write_delivery_of(
        bucket_root,
        opts,
        spec,
        rows.iter().cloned(),
        rows.len() as u64,
    )
}

/// Writes the inventory a destination bucket would deliver for the source delivery `opts`
/// describes: its replicas (with faults when `replica.faults`), as bucket `replica.bucket`
/// at `replica.destination_ms`, under `bucket_root`.
pub fn write_replica_delivery(
    bucket_root: &Path,
    opts: &GenerateOptions,
    spec: &DeliverySpec,
    replica: &replicas::ReplicaOptions,
) -> Result<WrittenDelivery> {
    let dest = GenerateOptions {
        source_bucket: replica.bucket.clone(),
        created_ms: replica.destination_ms - opts.day as i64 * evolve::DAY_MS,
        ..opts.clone()
    };
    let count = replicas::replica_rows(opts.all_rows(), replica.clone()).count() as u64;
    let rows = replicas::replica_rows(opts.all_rows(), replica.clone());
    write_delivery_of(bucket_root, &dest, spec, rows, count)
}

fn write_delivery_of(
    bucket_root: &Path,
    opts: &GenerateOptions,
    spec: &DeliverySpec,
    mut source: impl Iterator<Item = Row>,
    count: u64,
) -> Result<WrittenDelivery> {
    let mut config_key = String::new();
    if !opts.destination_prefix.is_empty() {
        config_key.push_str(opts.destination_prefix.trim_matches('/'));
        config_key.push('/');
    }
    config_key.push_str(&format!("{}/{}", opts.source_bucket, spec.config_id));
    let config_dir = bucket_root.join(&config_key);
    let data_dir = config_dir.join("data");
    let delivery_dir = config_dir.join(delivery_name(opts.delivery_ms()));
    fs::create_dir_all(&data_dir).map_err(io(&data_dir))?;
    fs::create_dir_all(&delivery_dir).map_err(io(&delivery_dir))?;

    let files = opts.files.max(1);
    let mut names =
        rows::Rng::new(opts.seed ^ spec.config_id.len() as u64 ^ opts.delivery_ms() as u64);
    let mut entries = Vec::with_capacity(files);
    let mut total_rows = 0u64;
    let mut total_bytes = 0u64;
    for f in 0..files as u64 {
        let share = count * (f + 1) / files as u64 - count * f / files as u64;
        let name = format!("{}.{}", names.uuid(), extension(spec.format));
        let path = data_dir.join(&name);
        let mut writer = FileWriter::create(&path, spec.format, spec.versions)?;
        for row in source.by_ref().take(share as usize) {
            if spec.versions == Versions::All || row.is_current() {
                writer.push(&row)?;
                total_rows += 1;
            }
        }
        writer.finish()?;
        let bytes = fs::read(&path).map_err(io(&path))?;
        total_bytes += bytes.len() as u64;
        entries.push((
            format!("{config_key}/data/{name}"),
            bytes.len() as u64,
            md5_hex(&bytes),
        ));
    }
    let manifest = manifest_json(opts, spec, &entries);
    let manifest_path = delivery_dir.join("manifest.json");
    fs::write(&manifest_path, &manifest).map_err(io(&manifest_path))?;
    let checksum_path = delivery_dir.join("manifest.checksum");
    fs::write(
        &checksum_path,
        format!("{}\n", md5_hex(manifest.as_bytes())),
    )
    .map_err(io(&checksum_path))?;
    Ok(WrittenDelivery {
        manifest: manifest_path,
        rows: total_rows,
        files,
        bytes: total_bytes,
    })
}

fn extension(format: FileFormat) -> &'static str {
    match format {
        FileFormat::Csv => "csv.gz",
        FileFormat::Orc => "orc",
        FileFormat::Parquet => "parquet",
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// A manifest formatted the way AWS's Jackson writer does.
fn manifest_json(
    opts: &GenerateOptions,
    spec: &DeliverySpec,
    files: &[(String, u64, String)],
) -> String {
    let file_entries: Vec<String> = files
        .iter()
        .map(|(key, size, md5)| {
            format!(
                "{{\n    \"key\" : {},\n    \"size\" : {size},\n    \"MD5checksum\" : \"{md5}\"\n  }}",
                json_string(key)
            )
        })
        .collect();
    format!(
        "{{\n  \"sourceBucket\" : {},\n  \"destinationBucket\" : {},\n  \"version\" : \"2016-11-30\",\n  \"creationTimestamp\" : \"{}\",\n  \"fileFormat\" : \"{}\",\n  \"fileSchema\" : {},\n  \"files\" : [ {} ]\n}}",
        json_string(&opts.source_bucket),
        json_string(&format!("arn:aws:s3:::{}", opts.destination_bucket)),
        opts.delivery_ms(),
        spec.format.as_str(),
        json_string(&writers::file_schema(spec.format, spec.versions)),
        file_entries.join(", ")
    )
}

/// The deliveries `testdata/` bundles: every format, versioned and current-only.
pub fn standard_specs(formats: &[FileFormat]) -> Vec<DeliverySpec> {
    let mut specs = Vec::new();
    for &format in formats {
        for versions in [Versions::All, Versions::Current] {
            let suffix = match versions {
                Versions::All => "all",
                Versions::Current => "current",
            };
            specs.push(DeliverySpec {
                format,
                versions,
                config_id: format!("{}-{suffix}", format.as_str().to_ascii_lowercase()),
            });
        }
    }
    specs
}
