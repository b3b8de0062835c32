//! `s3inv diff SOURCE --dest DEST…`: are the replicas really there? The source inventory
//! against each destination's, one category per source version and destination.

use std::collections::BTreeSet;
use std::sync::Arc;

use clap::Args;
use datafusion::arrow::array::{ArrayRef, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use serde_json::{Value, json};

use super::emit::Emit;
use super::{
    GroupArgs, OutputArgs, SourceArgs, print_delivery_notes, print_notes, progress::ProgressLine,
    stdout_is_terminal,
};
use crate::analytics::summary::Dimension;
use crate::diff::{Category, Destination, DestinationDiff, Matching, PassOptions, Plan};
use crate::doctor::config::{Bundle, Doc, ReplicationConfig};
use crate::doctor::redrive::{self, Spools};
use crate::error::{Error, Result};
use crate::manifest::{AtSpec, open_delivery};
use crate::output::{
    OutputFormat, count, human_bytes, thousands, write_batch, write_stream, write_text,
};
use crate::storage::{Location, Store};
use crate::table::age::parse_duration;
use crate::table::{Session, SessionOptions};

#[derive(Debug, Args)]
#[command(after_help = after_help())]
pub struct DiffArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// A destination bucket's inventory (manifest, delivery folder or configuration
    /// folder; local or s3://). Repeat for each destination.
    #[arg(long = "dest", value_name = "DEST", required = true)]
    pub dest: Vec<String>,

    /// In a destination's configuration folder, the delivery of this day or this exact
    /// delivery (once for every --dest, or once per --dest in the same order).
    #[arg(long, value_name = "DATE")]
    pub dest_at: Vec<String>,

    /// Replication lag allowed: versions modified less than this before the other side's
    /// delivery was taken are in-flight, not judged.
    #[arg(long, default_value = "1h", value_name = "DURATION")]
    pub lag: String,

    /// The replication configuration: the folder `doctor --print-collect-script` writes, or
    /// a replication.json (`aws s3api get-bucket-replication`). Versions no rule sends to a
    /// destination are out-of-scope there; delete markers are judged by their rule.
    #[arg(long, value_name = "PATH")]
    pub config: Option<std::path::PathBuf>,

    #[command(flatten)]
    pub groups: GroupArgs,

    /// Example keys per category (the smallest keys, so that reruns agree).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub examples: usize,

    /// Write the objects of this category (every destination) instead of the totals, to
    /// --output in --format; the totals go to stderr.
    #[arg(long, value_name = "CATEGORY")]
    pub list: Option<String>,

    /// Exit 1 when a destination has more than N objects in a category: CATEGORY>N, or
    /// CATEGORY for >0 (comma-separated or repeated), e.g. missing-at-destination>0.
    #[arg(long, value_name = "CATEGORY[>N]")]
    pub fail_on: Vec<String>,

    /// Partition both sides into N buckets on disk (under TMPDIR) and join them a group at
    /// a time, whatever the estimate; by default that happens only when one join would not
    /// fit --memory-limit (without it, a quarter of the machine's or container's memory).
    #[arg(long, value_name = "N", hide = true, value_parser = clap::value_parser!(u16).range(1..=512))]
    pub buckets: Option<u16>,

    #[command(flatten)]
    pub output: OutputArgs,

    #[command(flatten)]
    pub redrive: DiffRedriveArgs,
}

/// `--emit-manifests` and the job flags.
#[derive(Debug, Args)]
#[command(next_help_heading = "Re-drive manifests")]
pub struct DiffRedriveArgs {
    /// Write Batch Replication manifests of missing-at-destination and mismatch into
    /// DIR/<destination>/<category>/ (local folder or s3:// prefix), and DIR/diff.json.
    #[arg(long, value_name = "DIR")]
    pub emit_manifests: Option<String>,

    /// Replace the manifests an earlier --emit-manifests run wrote in DIR.
    #[arg(long, requires = "emit_manifests")]
    pub force: bool,

    #[command(flatten)]
    pub job: super::manifest::JobArgs,
}

fn after_help() -> String {
    let ids: Vec<&str> = Category::ALL.iter().map(|c| c.id()).collect();
    format!(
        "Categories (stable ids; README, \"diff\"): {}.\n\n\
Versions are matched on (key, version id) when both inventories list every version (replicas \
keep the source's version ids), otherwise on the key, current versions only. Per destination, \
the categories add up to the source versions compared plus only-at-destination.\n\n\
Formats: table (for people); csv, ndjson, parquet (one row per destination, group and \
category: destination, <dimensions>, category, objects, bytes); json (one document).\n\n\
Examples:\n  s3inv diff s3://inv/acme-data/daily/ --dest s3://inv-dr/acme-data-dr/daily/\n  \
s3inv diff SOURCE --dest DR_EU --dest DR_US --config cfg --by prefix\n  \
s3inv diff SOURCE --dest DEST --list missing-at-destination --output missing.csv\n  \
s3inv diff SOURCE --dest DEST --emit-manifests redrive --fail-on missing-at-destination>0",
        ids.join(", ")
    )
}

/// `--lag`: a duration, or 0 (judge everything, however recent).
pub(super) fn parse_lag(s: &str) -> Result<i64> {
    let digits = s.trim().trim_end_matches(|c: char| c.is_ascii_alphabetic());
    if !digits.is_empty() && digits.chars().all(|c| c == '0') {
        return Ok(0);
    }
    parse_duration(s).map_err(|e| Error::Usage(format!("--lag: {e}")))
}

/// One `--fail-on` condition.
#[derive(Debug, Clone, Copy)]
struct FailOn {
    category: Category,
    above: u64,
}

fn parse_fail_on(items: &[String]) -> Result<Vec<FailOn>> {
    let mut out = Vec::new();
    for item in items.iter().flat_map(|s| s.split(',')) {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let (id, above) = match item.split_once('>') {
            Some((id, n)) => (
                id.trim(),
                n.trim().parse::<u64>().map_err(|_| {
                    Error::Usage(format!(
                        "--fail-on {item}: the count after '>' must be a whole number, like missing-at-destination>0"
                    ))
                })?,
            ),
            None => (item, 0),
        };
        let category = parse_category("--fail-on", id)?;
        out.push(FailOn { category, above });
    }
    Ok(out)
}

fn parse_category(flag: &str, id: &str) -> Result<Category> {
    Category::parse(id).ok_or_else(|| {
        let ids: Vec<&str> = Category::ALL.iter().map(|c| c.id()).collect();
        Error::Usage(format!(
            "{flag}: unknown category {id:?}; use one of {}",
            ids.join(", ")
        ))
    })
}

/// The `--by` dimensions diff supports (prefix, age and the columns; not tags).
fn dimensions(args: &DiffArgs) -> Result<Vec<Dimension>> {
    let options = crate::settings::RawSummary {
        by: args.groups.by.clone(),
        depth: args.groups.depth,
        age_buckets: args.groups.age_buckets.clone(),
        top: None,
        rank: "objects".into(),
        min_share: None,
        pending_older_than: "24h".into(),
        all_versions: true,
        tags: None,
    }
    .validate()
    .map_err(|e| match e {
        // Tags come from a tag source `summary --tags` reads; diff has none.
        Error::Usage(m) if m.starts_with("--by tag:KEY") => Error::Usage(
            "--by tag:KEY is not available in diff (an inventory has no tags); use prefix, age or a column".into(),
        ),
        other => other,
    })?;
    Ok(options.dimensions)
}

/// The replication configuration of `--config` (a collect folder or a replication.json).
pub(super) fn read_config(path: &std::path::Path) -> Result<ReplicationConfig> {
    if !path.exists() && path.extension().is_some_and(|e| e == "json") {
        return Err(Error::Usage(format!(
            "--config {}: no such file; give a replication.json (aws s3api get-bucket-replication) or the folder the collect script wrote",
            path.display()
        )));
    }
    if path.is_file() {
        let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|e| {
            Error::Usage(format!(
                "--config {}: not JSON ({e}); give the output of aws s3api get-bucket-replication",
                path.display()
            ))
        })?;
        return ReplicationConfig::parse(&value, &path.display().to_string()).map_err(
            |e| match e {
                Error::Usage(m) => Error::Usage(format!("--config {}: {m}", path.display())),
                other => other,
            },
        );
    }
    let bundle = Bundle::read_dir(path)?;
    match bundle.document("replication")? {
        Doc::Read { value, origin } => ReplicationConfig::parse(&value, &bundle.shown(&origin)),
        doc @ Doc::Absent { .. } | doc @ Doc::Unreadable { .. } => Err(Error::Usage(format!(
            "--config {}: {}",
            path.display(),
            doc.why_unknown("the replication configuration")
                .unwrap_or_else(|| "the source bucket has no replication configuration".into())
        ))),
        Doc::NotCollected => Err(Error::Usage(format!(
            "--config {}: no replication.json there; give the folder the collect script wrote (s3inv doctor --print-collect-script BUCKET) or the replication.json itself",
            path.display()
        ))),
    }
}

pub(super) async fn run(args: DiffArgs, quiet: bool) -> Result<i32> {
    let source = args.source.raw().validate()?;
    let output = args.output.raw().validate(stdout_is_terminal())?;
    let lag_ms = parse_lag(&args.lag)?;
    let dims = dimensions(&args)?;
    let list = args
        .list
        .as_deref()
        .map(|id| parse_category("--list", id))
        .transpose()?;
    let fail_on = parse_fail_on(&args.fail_on)?;
    let dest_at = dest_at(&args.dest, &args.dest_at)?;
    let dest_locations: Vec<Location> = args
        .dest
        .iter()
        .map(|d| Location::parse(d))
        .collect::<Result<_>>()?;
    let config = args.config.as_deref().map(read_config).transpose()?;
    let emit_options = super::doctor::emit_options(
        args.redrive.emit_manifests.as_deref(),
        args.redrive.force,
        &args.redrive.job,
        &source.s3,
        &redrive::DIFF,
    )?;
    let emit_target = match &emit_options {
        Some(o) => Some(o.check().await?),
        None => None,
    };
    let session_options = SessionOptions {
        at: source.at.clone(),
        verify: source.verify,
        memory_limit: source.memory_limit,
        target_partitions: source.threads,
        required: vec![("replication_status", "s3inv diff".to_string())],
        ..SessionOptions::default()
    };
    let emit = Emit::open(&output.target, &source.s3).await?;
    let progress = ProgressLine::start(Arc::clone(&session_options.progress), quiet);
    let result = async {
        let session = Session::open(&source.location, &source.s3, &session_options).await?;
        print_delivery_notes(&session.delivery.notes);
        let destinations = open_destinations(
            &session,
            &DestSpec {
                dest: &args.dest,
                dest_at: &dest_at,
                locations: &dest_locations,
                lag_ms,
                config: config.as_ref(),
                dimensions: &dims,
            },
            &source,
            quiet,
        )
        .await?;
        Ok::<_, Error>((session, destinations))
    }
    .await;
    let (session, destinations) = match result {
        Ok(v) => v,
        Err(e) => {
            progress.finish();
            return Err(e);
        }
    };
    let pass = PassOptions {
        examples: args.examples,
        list,
        budget: source.memory_limit.map(|m| m as u64),
        buckets: args.buckets.map(usize::from),
        scratch: Default::default(),
    };
    let mut spools = emit_target
        .is_some()
        .then(|| Spools::new(session.columns.has_version_ids()));
    // The listed rows are spooled while the passes run, then written sorted.
    let (diffs, listed) = if list.is_some() {
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        let spooled = pass.scratch.dir().map(|d| d.join("list.arrow"));
        let passes = async {
            let mut diffs = Vec::new();
            for d in &destinations {
                diffs.push(
                    crate::diff::compare(&session, d, &pass, Some(&tx), spools.as_mut()).await?,
                );
            }
            drop(tx);
            Ok::<_, Error>(diffs)
        };
        let spool = async {
            match &spooled {
                Ok(path) => crate::diff::listing::spool(path.clone(), rx).await,
                Err(e) => Err(Error::Query(e.to_string())),
            }
        };
        let (diffs, spooled_rows) = tokio::join!(passes, spool);
        let written = match (&diffs, spooled_rows, &spooled) {
            (Ok(_), Ok(_), Ok(path)) => match crate::diff::listing::sorted(&session, path).await {
                Ok(stream) => write_stream(stream, output.format, emit.target()).await,
                Err(e) => Err(e),
            },
            (_, Err(e), _) => Err(e),
            // The passes' error is reported below.
            _ => Ok(0),
        };
        (diffs, Some(written))
    } else {
        let passes = async {
            let mut diffs = Vec::new();
            for d in &destinations {
                diffs.push(crate::diff::compare(&session, d, &pass, None, spools.as_mut()).await?);
            }
            Ok::<_, Error>(diffs)
        };
        (passes.await, None)
    };
    let diffs = match diffs {
        Ok(d) => d,
        Err(e) => {
            progress.finish();
            return Err(e);
        }
    };
    let written = match (spools, emit_target, &emit_options) {
        (Some(spools), Some(target), Some(o)) => {
            match redrive::write(&session, spools, o, target).await {
                Ok(w) => Some(w),
                Err(e) => {
                    progress.finish();
                    return Err(e);
                }
            }
        }
        _ => None,
    };
    progress.finish();
    let lag = args.lag.trim();
    let mut listed_rows = None;
    if let Some(listed) = listed {
        let rows = listed?;
        listed_rows = Some(rows);
        let mut text = totals_text(&session, &destinations, &diffs, lag, 0);
        text.push_str(&format!(
            "listed {} of {}\n",
            count(rows, "object"),
            list.map_or("", Category::id)
        ));
        if !quiet {
            eprint!("{text}");
        }
    } else {
        match output.format {
            OutputFormat::Table => {
                let mut text = totals_text(&session, &destinations, &diffs, lag, args.examples);
                if !dims.is_empty() {
                    text.push('\n');
                    text.push_str(&crate::output::terminal::pretty(&[long_form(
                        &diffs, &dims, false,
                    )?])?);
                    text.push('\n');
                }
                if let Some(w) = &written {
                    text.push_str(&super::doctor::redrive_text(w));
                }
                write_text(&text, emit.target())?;
            }
            OutputFormat::Json => {
                let mut doc = json_document(&session, &destinations, &diffs, &dims, lag);
                if let Some(w) = &written {
                    doc["manifests"] = w.index.clone().into();
                }
                let text = serde_json::to_string_pretty(&doc).expect("json") + "\n";
                write_text(&text, emit.target())?;
            }
            format => {
                write_batch(long_form(&diffs, &dims, true)?, format, emit.target()).await?;
                // The rows hold the numbers only: how each side was matched and what could
                // not be checked go to stderr, as the table and JSON carry them.
                for d in &diffs {
                    let mut notes = vec![format!("{}: matched on {}", d.name, d.matching.name())];
                    notes.extend(diff_notes(d));
                    print_notes(&notes, quiet);
                }
            }
        }
    }
    emit.finish().await?;
    if let Some(w) = &written
        && (output.format != OutputFormat::Table || listed_rows.is_some())
        && !quiet
    {
        eprint!("{}", super::doctor::redrive_text(w));
    }
    for f in &fail_on {
        for d in &diffs {
            let n = d.get(f.category).objects;
            if n > f.above {
                if !quiet {
                    eprintln!(
                        "s3inv: {} {} at {} (--fail-on {}>{})",
                        thousands(n),
                        f.category.id(),
                        d.name,
                        f.category.id(),
                        f.above
                    );
                }
                return Ok(1);
            }
        }
    }
    Ok(0)
}

/// The destinations to compare, as given on the command line (checked).
pub(super) struct DestSpec<'a> {
    pub dest: &'a [String],
    pub dest_at: &'a [Option<AtSpec>],
    pub locations: &'a [Location],
    pub lag_ms: i64,
    pub config: Option<&'a ReplicationConfig>,
    pub dimensions: &'a [Dimension],
}

/// An error about `--at` raised while opening a destination is about `--dest-at`.
fn dest_at_named(e: Error) -> Error {
    match e {
        Error::Usage(m) => Error::Usage(m.replace("--at ", "--dest-at ")),
        other => other,
    }
}

/// `--dest-at` once for all, or once per `--dest`.
pub(super) fn dest_at(dest: &[String], dest_at: &[String]) -> Result<Vec<Option<AtSpec>>> {
    if !dest_at.is_empty() && dest_at.len() != 1 && dest_at.len() != dest.len() {
        return Err(Error::Usage(format!(
            "--dest-at is given {} times for {} --dest: give it once (for every destination) or once per --dest",
            dest_at.len(),
            dest.len()
        )));
    }
    (0..dest.len())
        .map(|i| {
            dest_at
                .get(i)
                .or(dest_at.first())
                .map(|s| AtSpec::parse(s).map_err(dest_at_named))
                .transpose()
        })
        .collect()
}

/// Opens, verifies and attaches each destination's delivery to `session`, refusing an
/// inventory of the source bucket itself and a bucket given twice.
pub(super) async fn open_destinations(
    session: &Session,
    spec: &DestSpec<'_>,
    source: &crate::settings::SourceSettings,
    quiet: bool,
) -> Result<Vec<Destination>> {
    let source_bucket = session.delivery.manifest.source_bucket.clone();
    let source_ms = session.delivery.manifest.creation_timestamp_ms;
    let mut destinations = Vec::new();
    let mut names = BTreeSet::new();
    for (i, location) in spec.locations.iter().enumerate() {
        let shown = &spec.dest[i];
        let store = Store::open(location, &source.s3)
            .await
            .map_err(|e| match e {
                Error::Usage(m) => Error::Usage(format!("--dest {shown}: {m}")),
                other => other,
            })?;
        let delivery = open_delivery(location, &store, spec.dest_at[i].as_ref(), source.verify)
            .await
            .map_err(|e| match dest_at_named(e) {
                Error::Usage(m) => Error::Usage(format!("--dest {shown}: {m}")),
                other => other,
            })?;
        print_delivery_notes(&delivery.notes);
        let Some(name) = delivery.manifest.source_bucket.clone() else {
            return Err(Error::Usage(format!(
                "--dest {shown}: its manifest ({}) has no sourceBucket, so the destination bucket it lists is unknown",
                delivery.manifest_display
            )));
        };
        if source_bucket.as_deref() == Some(name.as_str()) {
            return Err(Error::Usage(format!(
                "--dest {shown} is an inventory of {name}, the source bucket itself (sourceBucket in {}): give the inventory of a destination bucket",
                delivery.manifest_display
            )));
        }
        if !names.insert(name.clone()) {
            return Err(Error::Usage(format!(
                "--dest {shown} is a second inventory of {name}: give each destination bucket once"
            )));
        }
        let dest_ms = delivery.manifest.creation_timestamp_ms;
        let table = format!("dst_{i}");
        let (delivery, columns) = session.attach(&table, delivery, source.verify).await?;
        let mut notes = Vec::new();
        let rules = match spec.config {
            Some(config) => {
                let (scope, rule_notes) = crate::diff::rules::scope(config, &name);
                notes.extend(rule_notes);
                Some(scope)
            }
            None => None,
        };
        let plan = Plan {
            table,
            matching: Matching::of(session.columns, columns),
            source: session.columns,
            destination: columns,
            source_in_flight_ms: dest_ms.saturating_sub(spec.lag_ms),
            destination_in_flight_ms: source_ms.saturating_sub(spec.lag_ms),
            rules,
            dimensions: spec.dimensions.to_vec(),
        };
        destinations.push(Destination {
            name,
            delivery,
            plan,
            notes,
        });
    }
    if let Some(config) = spec.config {
        for d in config.destinations() {
            if !names.contains(&d) {
                print_notes(
                    &[format!(
                        "the replication configuration also replicates to {d}; no --dest inventory of it was given"
                    )],
                    quiet,
                );
            }
        }
    }
    Ok(destinations)
}

/// The delivery line of a side: bucket, when, format.
fn delivery_line(d: &crate::manifest::Delivery) -> String {
    format!(
        "{} — {}",
        d.manifest
            .source_bucket
            .as_deref()
            .unwrap_or("(bucket not named)"),
        delivery_when(d)
    )
}

/// When and what a delivery is: its name (or creation time), format and manifest.
fn delivery_when(d: &crate::manifest::Delivery) -> String {
    format!(
        "{} ({}, {})",
        d.name
            .clone()
            .or_else(|| crate::format::timestamp::format_millis(d.manifest.creation_timestamp_ms))
            .unwrap_or_default(),
        d.format(),
        d.manifest_display
    )
}

/// The table output: per destination, the categories with their meaning and examples.
fn totals_text(
    session: &Session,
    destinations: &[Destination],
    diffs: &[DestinationDiff],
    lag: &str,
    examples: usize,
) -> String {
    let mut out = format!("source: {}\n", delivery_line(&session.delivery));
    for (dest, diff) in destinations.iter().zip(diffs) {
        out.push_str(&format!(
            "\ndestination {} — {}\n  matched on {}; versions modified within {lag} of the other side's delivery are in-flight\n\n",
            diff.name,
            delivery_when(&dest.delivery),
            diff.matching.name()
        ));
        let width = Category::ALL
            .iter()
            .filter(|c| diff.categories.contains_key(c))
            .map(|c| c.id().len())
            .max()
            .unwrap_or(10)
            .max(8);
        out.push_str(&format!(
            "  {:<width$}  {:>13}  {:>10}\n",
            "category", "objects", "bytes"
        ));
        for c in Category::ALL {
            let Some(n) = diff.categories.get(&c) else {
                continue;
            };
            out.push_str(&format!(
                "  {:<width$}  {:>13}  {:>10}\n",
                c.id(),
                thousands(n.objects),
                human_bytes(n.bytes)
            ));
        }
        let total = diff.total();
        out.push_str(&format!(
            "  {:<width$}  {:>13}  {:>10}   = {} source + {} only at the destination\n",
            "total",
            thousands(total.objects),
            human_bytes(total.bytes),
            thousands(diff.source_rows.objects),
            thousands(diff.destination_only_rows.objects)
        ));
        if examples > 0 && diff.examples.values().any(|v| !v.is_empty()) {
            out.push('\n');
            for (c, keys) in &diff.examples {
                out.push_str(&format!("  {} — {}\n", c.id(), c.meaning()));
                for k in keys {
                    out.push_str(&format!("    {}\n", crate::output::terminal::escape(k)));
                }
            }
        }
        let notes = diff_notes(diff);
        if !notes.is_empty() {
            out.push('\n');
            for n in notes {
                out.push_str(&format!("  note: {n}\n"));
            }
        }
    }
    out
}

/// What a destination's comparison could not check or judge.
fn diff_notes(diff: &DestinationDiff) -> Vec<String> {
    let mut notes = diff.notes.clone();
    if diff.etag_not_compared.objects > 0 {
        notes.push(format!(
            "ETag not judged for {} at {}: another ETag, but encrypted differently or with SSE-KMS, DSSE-KMS or SSE-C, whose ETags are not comparable",
            count(diff.etag_not_compared.objects, "object"),
            diff.name
        ));
    }
    notes
}

/// One row per destination, group and category (every category of a destination when not
/// grouped, so that scripts find each id).
fn long_form(diffs: &[DestinationDiff], dims: &[Dimension], all: bool) -> Result<RecordBatch> {
    let mut destination = Vec::new();
    let mut groups: Vec<Vec<String>> = vec![Vec::new(); dims.len()];
    let mut category = Vec::new();
    let mut objects = Vec::new();
    let mut bytes = Vec::new();
    for d in diffs {
        if dims.is_empty() {
            for c in Category::ALL {
                let n = d.get(c);
                if !all && n.objects == 0 {
                    continue;
                }
                destination.push(d.name.clone());
                category.push(c.id().to_string());
                objects.push(n.objects);
                bytes.push(n.bytes);
            }
        } else {
            // Age buckets young to old, like summary; then the categories in README order.
            let mut ordered: Vec<_> = d.groups.iter().collect();
            ordered.sort_by_cached_key(|((values, c), _)| {
                (crate::analytics::summary::natural_order(values, dims), *c)
            });
            for ((values, c), n) in ordered {
                destination.push(d.name.clone());
                for (g, v) in groups.iter_mut().zip(values) {
                    g.push(v.clone());
                }
                category.push(c.id().to_string());
                objects.push(n.objects);
                bytes.push(n.bytes);
            }
        }
    }
    let mut fields = vec![Field::new("destination", DataType::Utf8, false)];
    let mut columns: Vec<ArrayRef> = vec![Arc::new(StringArray::from(destination))];
    for (d, values) in dims.iter().zip(groups) {
        fields.push(Field::new(d.name(), DataType::Utf8, false));
        columns.push(Arc::new(StringArray::from(values)));
    }
    fields.push(Field::new("category", DataType::Utf8, false));
    columns.push(Arc::new(StringArray::from(category)));
    fields.push(Field::new("objects", DataType::UInt64, false));
    columns.push(Arc::new(UInt64Array::from(objects)));
    fields.push(Field::new("bytes", DataType::UInt64, false));
    columns.push(Arc::new(UInt64Array::from(bytes)));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Error::Query(e.to_string()))
}

fn json_document(
    session: &Session,
    destinations: &[Destination],
    diffs: &[DestinationDiff],
    dims: &[Dimension],
    lag: &str,
) -> Value {
    let counts = |c: crate::replication::Counts| json!({"objects": c.objects, "bytes": c.bytes});
    let per_destination: Vec<Value> = destinations
        .iter()
        .zip(diffs)
        .map(|(dest, d)| {
            let categories: serde_json::Map<String, Value> = Category::ALL
                .iter()
                .map(|c| (c.id().to_string(), counts(d.get(*c))))
                .collect();
            let examples: serde_json::Map<String, Value> = d
                .examples
                .iter()
                .map(|(c, keys)| (c.id().to_string(), json!(keys)))
                .collect();
            let groups: Vec<Value> = d
                .groups
                .iter()
                .map(|((values, c), n)| {
                    let mut g = serde_json::Map::new();
                    for (dim, v) in dims.iter().zip(values) {
                        g.insert(dim.name(), json!(v));
                    }
                    g.insert("category".into(), json!(c.id()));
                    g.insert("objects".into(), json!(n.objects));
                    g.insert("bytes".into(), json!(n.bytes));
                    Value::Object(g)
                })
                .collect();
            let notes = diff_notes(d);
            json!({
                "destination": d.name,
                "delivery": crate::output::summary::delivery_json(&dest.delivery),
                "matching": match d.matching {
                    Matching::KeyAndVersion => "key_and_version",
                    Matching::Key => "key",
                },
                "compared": {
                    "size": d.checks.size,
                    "e_tag": d.checks.e_tag,
                    "encryption": d.checks.encryption,
                    "in_flight": d.checks.in_flight,
                },
                "categories": categories,
                "total": counts(d.total()),
                "source_versions": counts(d.source_rows),
                "destination_only_versions": counts(d.destination_only_rows),
                "etag_not_compared": counts(d.etag_not_compared),
                "examples": examples,
                "groups": groups,
                "notes": notes,
            })
        })
        .collect();
    json!({
        "s3inv_diff_version": 1,
        "source": crate::output::summary::delivery_json(&session.delivery),
        "lag": lag,
        "destinations": per_destination,
    })
}
