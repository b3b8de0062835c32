//! Fuzzing on the stable toolchain: a mutation fuzzer over each parser that reads what
//! users and AWS hand us (manifest.json, inventory CSV with its fileSchema, the key codecs,
//! completion reports, and the option parsers: `--where`, durations, sizes, shares,
//! `--at`, `--fail-on`). cargo-fuzz needs a nightly toolchain, which this project's
//! machines cannot install; this harness needs nothing but the test binary.
//!
//! Each target starts from its corpus in `tests/fuzz/<target>/` (real AWS files among
//! them), mutates inputs (bit flips, byte changes, cuts, splices, tokens that parsers
//! trip on) for `S3INV_FUZZ_SECONDS` seconds (default 5; CI runs 30), and fails on the
//! first panic, saving the input to `target/fuzz-crashes/` — add it to the corpus with
//! the fix. Run one target longer:
//!
//! ```sh
//! S3INV_FUZZ_SECONDS=600 cargo test --test it fuzz::manifest_json -- --nocapture
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use s3inv::format::assemble::Assembler;
use s3inv::format::csv::{CsvBatchReader, CsvLayout};
use s3inv::format::key;
use s3inv::format::schema::{COLUMNS, canonical_schema};
use s3inv::manifest::InventoryManifest;

/// Bytes that parsers of our inputs give meaning to.
const TOKENS: &[&[u8]] = &[
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"%",
    b"%FF",
    b"%2",
    b"+",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"null",
    b"\"\"",
    b"\\N",
    b"-",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"1e400",
    b"\xc3\xa9",
    b"\xf0\x9f\x98\x80",
    b"\xff",
    b"\0",
    b"/",
    b"//",
    b"..",
    b"(",
    b")",
    b"--",
    b"'",
    b"T",
    b"Z",
    b".000Z",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let len = out.len();
        match rng.below(8) {
            0 if len > 0 => {
                let at = rng.below(len);
                out[at] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let at = rng.below(len);
                out[at] = rng.next() as u8;
            }
            2 => {
                let token = TOKENS[rng.below(TOKENS.len())];
                let at = rng.below(len + 1);
                out.splice(at..at, token.iter().copied());
            }
            3 if len > 0 => {
                let from = rng.below(len);
                let to = from + rng.below(len - from + 1).min(64);
                out.drain(from..to);
            }
            4 if len > 0 => {
                out.truncate(rng.below(len));
            }
            5 if len > 0 => {
                let from = rng.below(len);
                let to = from + rng.below(len - from + 1).min(256);
                let piece = out[from..to].to_vec();
                let at = rng.below(out.len() + 1);
                out.splice(at..at, piece);
            }
            6 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(out.len() + 1);
                let from = rng.below(other.len() + 1);
                out.truncate(cut);
                out.extend_from_slice(&other[from..]);
            }
            _ => {
                let digits = (rng.next() % 100_000).to_string();
                let at = rng.below(len + 1);
                out.splice(at..at, digits.bytes());
            }
        }
    }
    out
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let seeds: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    assert!(!seeds.is_empty(), "{}: empty corpus", dir.display());
    seeds
}

fn budget() -> Duration {
    let seconds = std::env::var("S3INV_FUZZ_SECONDS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(5.0);
    Duration::from_secs_f64(seconds)
}

/// Runs `check` on every corpus input, then on mutations until the time budget is spent.
/// `check` panics only on a defect (its own assertions, or a panic in the code under test).
fn fuzz(target: &str, check: impl Fn(&[u8])) {
    let seeds = corpus(target);
    let deadline = Instant::now() + budget();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ target.len() as u64);
    let mut runs = 0u64;
    let mut pool = seeds.clone();
    let next_input = |runs: u64, rng: &mut Rng, pool: &[Vec<u8>]| {
        if (runs as usize) < seeds.len() {
            seeds[runs as usize].clone()
        } else {
            let pick = rng.below(pool.len());
            mutate(rng, &pool[pick], pool)
        }
    };
    while (runs as usize) < seeds.len() || Instant::now() < deadline {
        let input = next_input(runs, &mut rng, &pool);
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(&input)));
        if let Err(payload) = outcome {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-crashes");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!("{target}-{runs}"));
            std::fs::write(&file, &input).unwrap();
            panic!(
                "fuzz target {target}: panic after {runs} runs: {message}; input saved to {}",
                file.display()
            );
        }
        // Keep a few mutants that still parse a little further: a crude coverage proxy,
        // enough to walk deeper than one mutation from the seeds.
        if runs as usize >= seeds.len() && rng.below(16) == 0 && pool.len() < 512 {
            pool.push(input);
        }
        runs += 1;
    }
    eprintln!("fuzz target {target}: {runs} runs, no panic");
}

#[test]
fn manifest_json() {
    fuzz("manifest_json", |input| {
        if let Ok(m) = InventoryManifest::parse(input, "manifest.json") {
            // What a parsed manifest promises, the rest of s3inv relies on.
            let _ = m.total_bytes();
            let _ = m.csv_columns();
        }
    });
}

#[test]
fn inventory_csv() {
    // Input: the fileSchema on the first line, the (uncompressed) CSV after it.
    fuzz("inventory_csv", |input| {
        let (schema, data) = match input.iter().position(|b| *b == b'\n') {
            Some(nl) => (&input[..nl], &input[nl + 1..]),
            None => (input, &[][..]),
        };
        let names: Vec<String> = String::from_utf8_lossy(schema)
            .split(',')
            .map(|s| s.trim().to_string())
            .collect();
        let Ok(layout) = CsvLayout::from_file_schema(&names, "manifest.json") else {
            return;
        };
        let projection: Vec<usize> = (0..COLUMNS.len()).collect();
        let assembler = Assembler::new(&canonical_schema(), &projection, layout.present());
        let reader = CsvBatchReader::new(data, "f.csv".into(), &layout, assembler, 7);
        for batch in reader {
            match batch {
                Ok(b) => assert_eq!(b.num_columns(), COLUMNS.len()),
                Err(e) => assert!(e.to_string().starts_with("f.csv: "), "{e}"),
            }
        }
    });
}

#[test]
fn key_codecs() {
    fuzz("key_codecs", |input| {
        // Decoding anything never panics; encoding then decoding gives the key back.
        let mut out = Vec::new();
        key::form_decode_into(input, &mut out);
        out.clear();
        key::percent_decode_into(input, &mut out);
        let text = String::from_utf8_lossy(input);
        let _ = key::form_decode(&text);
        let _ = key::percent_decode(&text);
        assert_eq!(
            key::form_decode(&key::form_encode(&text)).unwrap(),
            text,
            "form round trip"
        );
        let encoded = key::batch_encode(&text);
        assert!(
            encoded
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.~/%".contains(&b)),
            "{encoded}"
        );
        assert_eq!(
            key::percent_decode(&encoded).unwrap(),
            text,
            "batch round trip"
        );
    });
}

#[test]
fn completion_report() {
    fuzz("completion_report", |input| {
        for row in s3inv::batch::report::csv_rows(input) {
            let _ = s3inv::batch::report::parse_task(&row);
        }
    });
}

#[test]
fn option_parsers() {
    fuzz("option_parsers", |input| {
        let text = String::from_utf8_lossy(input);
        let _ = s3inv::table::sql_condition(&text);
        let _ = s3inv::table::age::parse_duration(&text);
        let _ = s3inv::table::age::AgeBuckets::parse(&text);
        let _ = s3inv::settings::parse_bytes(&text);
        let _ = s3inv::settings::parse_share(&text);
        let _ = s3inv::manifest::AtSpec::parse(&text);
        let _ = s3inv::report::alert::Condition::parse(&text);
    });
}
