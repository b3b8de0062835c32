//! `s3inv sql LOCATION "SELECT …"`: run read-only SQL over the `inventory` table.

use std::sync::Arc;

use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::StreamExt;

use super::emit::Emit;
use super::{SqlArgs, print_delivery_notes, progress::ProgressLine, stdout_is_terminal};
use crate::error::{Error, Result};
use crate::output::{Target, write_stream};
use crate::settings::{RawSql, SqlSource};
use crate::table::{Session, SessionOptions};

pub(super) async fn run(args: SqlArgs, quiet: bool) -> Result<i32> {
    let source = args.source.raw().validate()?;
    let output = args.output.raw().validate(stdout_is_terminal())?;
    let sql = match (RawSql {
        sql: args.sql.clone(),
        file: args.file.clone(),
        query: args.query.clone(),
        params: args.param.clone(),
    })
    .validate()?
    {
        SqlSource::Text(s) => s,
        SqlSource::File(f) => std::fs::read_to_string(&f).map_err(|e| Error::Io {
            path: f.display().to_string(),
            source: e,
        })?,
    };
    // Canned questions are about replication: they cannot be answered without the
    // status. Free SQL may ask about anything, and absent fields read as NULL.
    let required = match &args.query {
        Some(name) => vec![("replication_status", format!("--query {name}"))],
        None => Vec::new(),
    };
    let options = SessionOptions {
        at: source.at.clone(),
        verify: source.verify,
        memory_limit: source.memory_limit,
        target_partitions: source.threads,
        required,
        ..SessionOptions::default()
    };
    let emit = Emit::open(&output.target, &source.s3).await?;
    let started = std::time::Instant::now();
    let progress = ProgressLine::start(Arc::clone(&options.progress), quiet);
    let result = async {
        let session = Session::open(&source.location, &source.s3, &options).await?;
        print_delivery_notes(&session.delivery.notes);
        let stream = session.stream(&sql).await?;
        // A terminal stdout shares the screen with the progress line: the line goes for
        // good before the first row is printed, so no row lands on it.
        let stream = if matches!(emit.target(), Target::Stdout) && stdout_is_terminal() {
            let retire = progress.retirer();
            let schema = stream.schema();
            let mut first = true;
            let stream = stream.inspect(move |_| {
                if std::mem::take(&mut first) {
                    retire();
                }
            });
            Box::pin(RecordBatchStreamAdapter::new(schema, stream)) as SendableRecordBatchStream
        } else {
            stream
        };
        write_stream(stream, output.format, emit.target()).await
    }
    .await;
    progress.finish();
    let rows = result?;
    emit.finish().await?;
    let p = &options.progress;
    tracing::info!(
        rows_out = rows,
        rows_scanned = crate::progress::Progress::get(&p.rows),
        bytes_scanned = crate::progress::Progress::get(&p.scanned_bytes),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "query finished"
    );
    Ok(0)
}
