//! Canned queries (`queries/*.sql`) and the SQL helpers: every query runs on the bundled
//! deliveries, gives the same answer in CSV, ORC and Parquet, and matches its snapshot.

use crate::harness::{generated, run, s3inv, sql_csv};

fn canned(config: &str, name: &str, params: &[&str]) -> String {
    let mut cmd = s3inv();
    cmd.arg("sql")
        .arg(generated(config))
        .args(["--query", name, "-f", "csv"]);
    for p in params {
        cmd.args(["--param", p]);
    }
    let (code, out, err) = run(&mut cmd);
    assert_eq!(code, 0, "{name}: {err}");
    out
}

#[test]
fn every_canned_query_agrees_across_formats_and_matches_its_snapshot() {
    for q in s3inv::analytics::queries::all() {
        let csv = canned("csv-all", q.name, &[]);
        assert_eq!(
            canned("orc-all", q.name, &[]),
            csv,
            "{}: ORC differs",
            q.name
        );
        assert_eq!(
            canned("parquet-all", q.name, &[]),
            csv,
            "{}: Parquet differs",
            q.name
        );
        assert!(
            csv.lines().count() > 1,
            "{} returned no rows on the fixture",
            q.name
        );
        insta::assert_snapshot!(format!("query_{}", q.name), csv);
    }
}

#[test]
fn parameters_change_the_answer() {
    let d1 = canned("csv-all", "unreplicated_by_prefix", &["depth=1", "limit=3"]);
    assert_eq!(d1.lines().count(), 4);
    assert!(
        d1.lines()
            .skip(1)
            .all(|l| l.split(',').next().unwrap().matches('/').count() == 1),
        "{d1}"
    );
    let (code, _, err) = run(s3inv().arg("sql").arg(generated("csv-all")).args([
        "--query",
        "largest_failed",
        "--param",
        "limit=1;DROP",
    ]));
    assert_eq!(code, 2);
    assert!(
        err.contains("invalid value \"1;DROP\" for parameter limit"),
        "{err}"
    );
    let (code, _, err) = run(s3inv()
        .arg("sql")
        .arg(generated("csv-all"))
        .args(["--query", "no_such_query"]));
    assert_eq!(code, 2);
    assert!(err.contains("no canned query \"no_such_query\""), "{err}");
}

#[test]
fn queries_lists_every_file() {
    let (code, out, err) = run(s3inv().args(["queries", "-f", "csv"]));
    assert_eq!(code, 0, "{err}");
    let mut files: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/queries"))
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".sql")
                .to_string()
        })
        .collect();
    files.sort();
    let mut listed: Vec<String> = out
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(listed, files);
    assert!(files.len() >= 10);
    let (_, sql, _) = run(s3inv().args(["queries", "stuck_pending"]));
    assert!(
        sql.starts_with("-- question: Which PENDING objects are stuck"),
        "{sql}"
    );
}

#[test]
fn sql_helpers() {
    let out = sql_csv(
        &generated("parquet-all"),
        "SELECT key_prefix('a/b/c.txt', 2) AS p2, key_prefix('a/b.txt', 2) AS p_short, key_prefix('x', 3) AS p_root, \
         batch_key('a b+c/ü,\"') AS bk, delivery_time() AS dt, \
         age_bucket(delivery_time() - INTERVAL '2 days') AS a_default, \
         age_bucket(delivery_time() - INTERVAL '2 hours', '1h,1d') AS a_custom",
    );
    assert_eq!(
        out,
        "p2,p_short,p_root,bk,dt,a_default,a_custom\n\
         a/b/,a/,/,a%20b%2Bc/%C3%BC%2C%22,2026-11-20T01:00:00.000Z,1-7d,1h-1d\n"
    );
    // batch_key over every key decodes back to the key (the manifest encoding round-trips).
    let out = sql_csv(
        &generated("orc-all"),
        "SELECT count(*) AS n FROM inventory WHERE batch_key(key) LIKE '%,%' OR batch_key(key) LIKE '% %'",
    );
    assert_eq!(out, "n\n0\n");
}
