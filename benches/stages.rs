//! Criterion benches, one per stage, on a generated delivery (200k rows, 4 files, every
//! format): CSV.gz decode, key decoding, ORC and Parquet scans, the status summary,
//! `--by prefix`, and manifest writing.
//!
//! Run with `cargo bench --bench stages` (see benches/README.md).

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use s3inv::analytics::summary::{Dimension, SummaryOptions, summarize};
use s3inv::batch::dest::Destination;
use s3inv::batch::manifest::{ManifestOptions, write_manifests};
use s3inv::format::assemble::Assembler;
use s3inv::format::csv::{CsvBatchReader, CsvLayout};
use s3inv::format::key::{batch_encode, form_decode_into, form_encode};
use s3inv::format::schema::canonical_schema;
use s3inv::generate::{DeliverySpec, GenerateOptions, Versions, write_delivery};
use s3inv::manifest::FileFormat;
use s3inv::{Location, S3Options, Session, SessionOptions};

const ROWS: u64 = 200_000;

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    opts: GenerateOptions,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions {
        rows: ROWS,
        seed: 7,
        source_bucket: "acme-data".into(),
        destination_bucket: "acme-inventory".into(),
        destination_prefix: String::new(),
        created_ms: 1_795_136_400_000,
        files: 4,
        hostile: true,
        day: 0,
    };
    let root = dir.path().join("acme-inventory");
    for format in [FileFormat::Csv, FileFormat::Orc, FileFormat::Parquet] {
        let spec = DeliverySpec {
            format,
            versions: Versions::All,
            config_id: format!("{}-all", format.as_str().to_ascii_lowercase()),
        };
        write_delivery(&root, &opts, &spec).unwrap();
    }
    Fixture {
        root,
        opts,
        _dir: dir,
    }
}

fn config(f: &Fixture, format: &str) -> PathBuf {
    f.root.join("acme-data").join(format!("{format}-all"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn session(rt: &tokio::runtime::Runtime, path: &Path) -> Session {
    rt.block_on(async {
        let options = SessionOptions {
            verify: false,
            ..SessionOptions::default()
        };
        Session::open(
            &Location::parse(path.to_str().unwrap()).unwrap(),
            &S3Options::default(),
            &options,
        )
        .await
        .unwrap()
    })
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    let rt = runtime();

    // CSV.gz decode: one data file, gunzip + split + the two columns status totals need.
    let data_dir = config(&f, "csv").join("data");
    let file = std::fs::read_dir(&data_dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let gz = std::fs::read(&file).unwrap();
    let names: Vec<String> =
        s3inv::generate::csv_line(&f.opts.rows(Versions::All).next().unwrap(), Versions::All)
            .split(',')
            .enumerate()
            .map(|(i, _)| s3inv::format::schema::COLUMNS[i].csv_name.to_string())
            .collect();
    let layout = CsvLayout::from_file_schema(&names, "bench").unwrap();
    let mut g = c.benchmark_group("csv_gz_decode");
    g.throughput(Throughput::Elements(ROWS / 4));
    for (label, projection) in [
        ("status_and_size", vec![5usize, 10]),
        ("all_columns", (0..21).collect()),
    ] {
        g.bench_function(label, |b| {
            b.iter(|| {
                let assembler = Assembler::new(&canonical_schema(), &projection, layout.present());
                let reader = CsvBatchReader::new(
                    flate2::read::MultiGzDecoder::new(&gz[..]),
                    "bench".into(),
                    &layout,
                    assembler,
                    8192,
                );
                reader.map(|b| b.unwrap().num_rows()).sum::<usize>()
            })
        });
    }
    g.finish();

    // Key codecs over the generator's keys.
    let keys: Vec<String> = f
        .opts
        .rows(Versions::All)
        .take(100_000)
        .map(|r| r.key)
        .collect();
    let encoded: Vec<String> = keys.iter().map(|k| form_encode(k)).collect();
    let mut g = c.benchmark_group("key_decoding");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("form_decode", |b| {
        let mut out = Vec::with_capacity(2048);
        b.iter(|| {
            let mut n = 0;
            for k in &encoded {
                out.clear();
                form_decode_into(k.as_bytes(), &mut out);
                n += out.len();
            }
            n
        })
    });
    g.bench_function("batch_encode", |b| {
        b.iter(|| keys.iter().map(|k| batch_encode(k).len()).sum::<usize>())
    });
    g.finish();

    let totals = "SELECT replication_status, count(*), sum(size) FROM inventory GROUP BY 1";
    let mut g = c.benchmark_group("scan_status_totals");
    g.throughput(Throughput::Elements(ROWS));
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    for format in ["csv", "orc", "parquet"] {
        let s = session(&rt, &config(&f, format));
        g.bench_function(format, |b| {
            b.iter(|| rt.block_on(s.sql(totals)).unwrap().len())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("summary");
    g.throughput(Throughput::Elements(ROWS));
    g.sample_size(20).measurement_time(Duration::from_secs(8));
    for format in ["csv", "parquet"] {
        let s = session(&rt, &config(&f, format));
        g.bench_function(format!("status_{format}"), |b| {
            b.iter(|| {
                rt.block_on(summarize(&s, &SummaryOptions::default()))
                    .unwrap()
                    .totals
                    .total()
            })
        });
        let by_prefix = SummaryOptions {
            dimensions: vec![Dimension::Prefix { depth: 2 }],
            ..SummaryOptions::default()
        };
        g.bench_function(format!("by_prefix_{format}"), |b| {
            b.iter(|| rt.block_on(summarize(&s, &by_prefix)).unwrap().groups.len())
        });
    }
    g.finish();

    let mut g = c.benchmark_group("manifest");
    g.throughput(Throughput::Elements(ROWS));
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    let s = session(&rt, &config(&f, "csv"));
    let out = tempfile::tempdir().unwrap();
    let dest = rt
        .block_on(Destination::open(
            &Location::parse(out.path().to_str().unwrap()).unwrap(),
            &S3Options::default(),
        ))
        .unwrap();
    let options = ManifestOptions {
        force: true,
        ..ManifestOptions::default()
    };
    g.bench_function("failed_pending_csv", |b| {
        b.iter(|| {
            rt.block_on(write_manifests(&s, &dest, &options))
                .unwrap()
                .total()
        })
    });
    g.finish();
}

criterion_group!(stages, benches);
criterion_main!(stages);
