//! `s3inv deliveries LOCATION`: the deliveries of a configuration folder, oldest first.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, BooleanArray, StringArray, TimestampMillisecondArray, UInt64Array,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::record_batch::RecordBatch;

use super::emit::Emit;
use super::{DeliveriesArgs, stdout_is_terminal};
use crate::error::{Error, Result};
use crate::format::schema::timestamp_type;
use crate::manifest::{list_deliveries, where_to_look};
use crate::output::write_batch;
use crate::storage::Store;

pub(super) async fn run(args: DeliveriesArgs, quiet: bool) -> Result<i32> {
    let source = args.store.raw(&args.location).validate()?;
    let output = args.output.raw().validate(stdout_is_terminal())?;
    let emit = Emit::open(&output.target, &source.s3).await?;
    let store = Store::open(&source.location, &source.s3).await?;
    let list = list_deliveries(&source.location, &store).await?;
    if list.is_empty() {
        // An empty listing is an answer (exit 0), but say where it looked, and where the
        // deliveries are when that can be told.
        let hint = match where_to_look(&source.location, &store).await {
            Some(hint) => hint,
            None => "LOCATION is a configuration folder …/<source-bucket>/<config-id>/".into(),
        };
        super::print_notes(
            &[format!(
                "no dated delivery folders (YYYY-MM-DDTHH-MMZ) in {}; {hint}",
                source.location
            )],
            quiet,
        );
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("delivery", DataType::Utf8, false),
        Field::new("complete", DataType::Boolean, false),
        Field::new("format", DataType::Utf8, true),
        Field::new("files", DataType::UInt64, true),
        Field::new("bytes", DataType::UInt64, true),
        Field::new("created", timestamp_type(), true),
        Field::new("problem", DataType::Utf8, true),
        Field::new("manifest", DataType::Utf8, false),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(
            list.iter().map(|d| d.name.as_str()),
        )),
        Arc::new(BooleanArray::from_iter(
            list.iter().map(|d| Some(d.complete)),
        )),
        Arc::new(StringArray::from_iter(
            list.iter().map(|d| d.format.as_deref()),
        )),
        Arc::new(UInt64Array::from_iter(
            list.iter().map(|d| d.files.map(|n| n as u64)),
        )),
        Arc::new(UInt64Array::from_iter(list.iter().map(|d| d.bytes))),
        Arc::new(
            TimestampMillisecondArray::from_iter(list.iter().map(|d| d.creation_timestamp_ms))
                .with_timezone("UTC"),
        ),
        Arc::new(StringArray::from_iter(
            list.iter().map(|d| d.problem.as_deref()),
        )),
        Arc::new(StringArray::from_iter_values(
            list.iter().map(|d| d.manifest.as_str()),
        )),
    ];
    let batch = RecordBatch::try_new(schema, columns).map_err(|e| Error::Query(e.to_string()))?;
    write_batch(batch, output.format, emit.target()).await?;
    emit.finish().await?;
    Ok(0)
}
