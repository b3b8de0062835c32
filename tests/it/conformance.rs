//! CSV, ORC and Parquet of the same logical rows give identical answers, and those answers
//! equal a plain-Rust computation over the rows the generator produced.

use std::collections::BTreeMap;

use s3inv::generate::{GenerateOptions, Row, Versions};
use s3inv::{Location, S3Options, Session, SessionOptions};

use crate::harness::{FORMATS, bundled_options, generated, lines, runtime, write_generated};

const QUERIES: &[&str] = &[
    "SELECT count(*), sum(size), count(version_id), \
       sum(CASE WHEN is_delete_marker THEN 1 ELSE 0 END), sum(CASE WHEN is_latest THEN 1 ELSE 0 END) \
     FROM inventory",
    "SELECT coalesce(replication_status, 'NONE') s, count(*), coalesce(sum(size), 0) \
     FROM inventory GROUP BY 1 ORDER BY 1",
    "SELECT * FROM inventory ORDER BY key, version_id NULLS FIRST, last_modified_date",
    "SELECT storage_class, encryption_status, count(*), sum(size) FROM inventory \
     WHERE replication_status = 'FAILED' GROUP BY 1, 2 ORDER BY 1, 2",
    "SELECT count(*) FROM inventory WHERE is_latest AND NOT is_delete_marker",
    "SELECT count(*) FROM inventory WHERE is_latest = false OR is_delete_marker",
    "SELECT key FROM inventory WHERE key LIKE 'hostile/%' ORDER BY key",
    "SELECT min(last_modified_date), max(last_modified_date), max(lifecycle_expiration_date) FROM inventory",
    "SELECT size FROM inventory WHERE size > 100000 ORDER BY size DESC LIMIT 5",
    // Status conditions: the CSV reader drops rejected rows while parsing (pushdown).
    "SELECT count(*), coalesce(sum(size), 0) FROM inventory \
     WHERE replication_status IN ('FAILED', 'PENDING')",
    "SELECT count(*), coalesce(sum(size), 0) FROM inventory \
     WHERE replication_status IS NULL OR replication_status = ''",
    "SELECT key, version_id FROM inventory WHERE replication_status = 'REPLICA' \
     AND coalesce(is_latest, true) ORDER BY key, version_id NULLS FIRST",
];

fn run_all(config: &std::path::Path) -> Vec<Vec<String>> {
    runtime().block_on(async {
        let location = Location::parse(config.to_str().unwrap()).unwrap();
        let session = Session::open(&location, &S3Options::default(), &SessionOptions::default())
            .await
            .unwrap();
        let mut answers = Vec::new();
        for q in QUERIES {
            answers.push(lines(&session.sql(q).await.unwrap()));
        }
        answers
    })
}

fn assert_formats_agree(configs: &[std::path::PathBuf]) -> Vec<Vec<String>> {
    let answers: Vec<Vec<Vec<String>>> = configs.iter().map(|c| run_all(c)).collect();
    for (i, q) in QUERIES.iter().enumerate() {
        for (c, a) in configs.iter().zip(&answers).skip(1) {
            assert_eq!(
                a[i],
                answers[0][i],
                "{q}\n{} differs from {}",
                c.display(),
                configs[0].display()
            );
        }
    }
    answers.into_iter().next().unwrap()
}

/// The expected answers of the first two queries, computed directly from the rows.
fn check_against_rows(answers: &[Vec<String>], rows: &[Row], listed: Versions) {
    let count = rows.len();
    let bytes: i64 = rows.iter().filter_map(|r| r.size).sum();
    // A current-only report has no VersionId field: every version_id is NULL.
    let versions = match listed {
        Versions::All => rows.iter().filter(|r| r.version_id.is_some()).count(),
        Versions::Current => 0,
    };
    let markers = rows.iter().filter(|r| r.is_delete_marker).count();
    let latest = rows.iter().filter(|r| r.is_latest).count();
    assert_eq!(
        answers[0],
        vec![format!("{count}|{bytes}|{versions}|{markers}|{latest}")]
    );

    let mut by_status: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for r in rows {
        let e = by_status
            .entry(
                r.replication_status
                    .clone()
                    .unwrap_or_else(|| "NONE".into()),
            )
            .or_default();
        e.0 += 1;
        e.1 += r.size.unwrap_or(0);
    }
    let expected: Vec<String> = by_status
        .iter()
        .map(|(s, (n, b))| format!("{s}|{n}|{b}"))
        .collect();
    assert_eq!(answers[1], expected);
    for status in ["COMPLETED", "FAILED", "PENDING", "REPLICA", "NONE"] {
        assert!(by_status.contains_key(status), "fixture lacks {status}");
    }

    // Every key comes back exactly as written, hostile ones included.
    let mut keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    keys.sort();
    let mut got: Vec<String> = answers[2]
        .iter()
        .map(|l| l.split('|').nth(1).unwrap().to_string())
        .collect();
    got.sort();
    // Keys with `|` would break the split; the generator writes none.
    assert_eq!(got, keys);
    let hostile: Vec<&str> = {
        let mut h: Vec<&str> = rows
            .iter()
            .map(|r| r.key.as_str())
            .filter(|k| k.starts_with("hostile/"))
            .collect();
        h.sort();
        h
    };
    assert_eq!(answers[6], hostile);

    let status_totals = |keep: &dyn Fn(Option<&str>) -> bool| {
        let chosen: Vec<&Row> = rows
            .iter()
            .filter(|r| keep(r.replication_status.as_deref()))
            .collect();
        let bytes: i64 = chosen.iter().filter_map(|r| r.size).sum();
        vec![format!("{}|{bytes}", chosen.len())]
    };
    assert_eq!(
        answers[9],
        status_totals(&|s| matches!(s, Some("FAILED" | "PENDING")))
    );
    assert_eq!(
        answers[10],
        status_totals(&|s| matches!(s, None | Some("")))
    );
    let replica = rows
        .iter()
        .filter(|r| r.replication_status.as_deref() == Some("REPLICA") && r.is_latest)
        .count();
    assert_eq!(answers[11].len(), replica);
}

fn rows(opts: &GenerateOptions, versions: Versions) -> Vec<Row> {
    opts.rows(versions).collect()
}

#[test]
fn bundled_versioned_deliveries_agree_and_match_the_rows() {
    let configs = ["csv-all", "orc-all", "parquet-all"].map(generated);
    let answers = assert_formats_agree(&configs);
    check_against_rows(
        &answers,
        &rows(&bundled_options(), Versions::All),
        Versions::All,
    );
}

#[test]
fn bundled_current_only_deliveries_agree_and_match_the_rows() {
    let configs = ["csv-current", "orc-current", "parquet-current"].map(generated);
    let answers = assert_formats_agree(&configs);
    let rows = rows(&bundled_options(), Versions::Current);
    check_against_rows(&answers, &rows, Versions::Current);
    // Current-only: every row is latest and live.
    assert_eq!(answers[4], vec![rows.len().to_string()]);
    assert_eq!(answers[5], vec!["0".to_string()]);
}

#[test]
fn many_files_and_batches_agree() {
    // Enough rows for several batches per file and more files than partitions.
    let dir = tempfile::tempdir().unwrap();
    let opts = GenerateOptions {
        rows: 30_000,
        seed: 99,
        files: 5,
        ..bundled_options()
    };
    let configs: Vec<_> = FORMATS
        .iter()
        .map(|&f| write_generated(dir.path(), &opts, f, Versions::All))
        .collect();
    let answers = assert_formats_agree(&configs);
    check_against_rows(&answers, &rows(&opts, Versions::All), Versions::All);
}
