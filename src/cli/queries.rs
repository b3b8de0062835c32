//! `s3inv queries`: the canned questions `s3inv sql LOCATION --query NAME` runs.

use std::sync::Arc;

use clap::Args;
use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;

use super::{OutputArgs, stdout_is_terminal};
use crate::analytics::queries;
use crate::error::{Error, Result};
use crate::output::{write_stream, write_text};

#[derive(Debug, Args)]
pub struct QueriesArgs {
    /// Print this query's SQL instead of the list.
    pub name: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub(super) async fn run(args: QueriesArgs) -> Result<i32> {
    let output = args.output.raw().validate(stdout_is_terminal())?;
    if let Some(name) = &args.name {
        write_text(queries::find(name)?.text, &output.target)?;
        return Ok(0);
    }
    let all = queries::all();
    let params: Vec<String> = all
        .iter()
        .map(|q| {
            q.params
                .iter()
                .map(|p| format!("{}={}", p.name, p.default))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let schema = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("question", DataType::Utf8, false),
        Field::new("parameters", DataType::Utf8, false),
        Field::new("columns", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(all.iter().map(|q| q.name))),
        Arc::new(StringArray::from_iter_values(
            all.iter().map(|q| q.question.as_str()),
        )),
        Arc::new(StringArray::from(params)),
        Arc::new(StringArray::from_iter_values(
            all.iter().map(|q| q.columns.as_str()),
        )),
    ];
    let batch = RecordBatch::try_new(Arc::clone(&schema), columns)
        .map_err(|e| Error::Query(e.to_string()))?;
    let stream = RecordBatchStreamAdapter::new(schema, futures::stream::iter([Ok(batch)]));
    write_stream(Box::pin(stream), output.format, &output.target).await?;
    Ok(0)
}
