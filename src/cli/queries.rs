//! `s3inv queries`: the canned questions `s3inv sql LOCATION --query NAME` runs.

use clap::Args;

use super::emit::Emit;
use super::{OutputArgs, stdout_is_terminal};
use crate::analytics::queries;
use crate::error::Result;
use crate::output::{text_batch, write_batch, write_text};

#[derive(Debug, Args)]
pub struct QueriesArgs {
    /// Print this query's SQL instead of the list.
    pub name: Option<String>,

    #[command(flatten)]
    pub output: OutputArgs,
}

pub(super) async fn run(args: QueriesArgs) -> Result<i32> {
    let output = args.output.raw().validate(stdout_is_terminal())?;
    let emit = Emit::open(&output.target, &Default::default()).await?;
    if let Some(name) = &args.name {
        write_text(&queries::find(name)?.shown()?, emit.target())?;
        emit.finish().await?;
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
    let rows: Vec<Vec<String>> = all
        .iter()
        .zip(params)
        .map(|(q, p)| vec![q.name.to_string(), q.question.clone(), p, q.columns.clone()])
        .collect();
    let batch = text_batch(&["name", "question", "parameters", "columns"], &rows)?;
    write_batch(batch, output.format, emit.target()).await?;
    emit.finish().await?;
    Ok(0)
}
