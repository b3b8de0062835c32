//! `InventoryScanExec`: the DataFusion leaf that reads CSV and ORC deliveries.
//!
//! Files are spread over partitions by size (largest first onto the lightest partition);
//! each partition reads its files one after another and hands canonical batches over a
//! small bounded channel, so memory stays flat whatever the delivery's size. CSV is
//! decompressed and parsed on a blocking thread; ORC is read asynchronously. Parquet goes
//! through DataFusion's own Parquet scan instead (see `provider`).

use std::fmt;
use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_expr::{EquivalenceProperties, PhysicalExpr};
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
};
use flate2::read::MultiGzDecoder;
use futures::{FutureExt, StreamExt};
use tokio::sync::mpsc;

use super::blocking_read;
use crate::error::Result;
use crate::format::assemble::Assembler;
use crate::format::csv::{CsvBatchReader, CsvLayout, ValueFilter};
use crate::format::orc;
use crate::format::schema::canonical_schema;
use crate::manifest::{DataFile, FileFormat};
use crate::progress::{Progress, SharedProgress};
use crate::storage::Store;

/// What a partition needs to read its files.
#[derive(Debug, Clone)]
pub(crate) enum Reader {
    Csv(CsvLayout),
    Orc,
}

impl Reader {
    /// Whether the reader can drop rows by a pushed-down status filter.
    pub(crate) fn filters_status(&self) -> bool {
        matches!(self, Reader::Csv(_))
    }
}

/// Reads the files of a CSV or ORC delivery as canonical batches.
#[derive(Debug)]
pub struct InventoryScanExec {
    store: Store,
    files: Arc<Vec<DataFile>>,
    groups: Vec<Vec<usize>>,
    reader: Reader,
    projection: Vec<usize>,
    /// Rows the query's filter rejects by their status, dropped while parsing (CSV only).
    status_filter: Option<ValueFilter>,
    schema: SchemaRef,
    progress: SharedProgress,
    properties: Arc<PlanProperties>,
}

impl InventoryScanExec {
    pub(crate) fn new(
        store: Store,
        files: Arc<Vec<DataFile>>,
        reader: Reader,
        projection: Vec<usize>,
        status_filter: Option<ValueFilter>,
        partitions: usize,
        progress: SharedProgress,
    ) -> Self {
        let groups = balance(&files, partitions);
        let schema = Arc::new(
            canonical_schema()
                .project(&projection)
                .expect("valid projection"),
        );
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(Arc::clone(&schema)),
            Partitioning::UnknownPartitioning(groups.len().max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        InventoryScanExec {
            store,
            files,
            groups,
            reader,
            projection,
            status_filter,
            schema,
            progress,
            properties,
        }
    }

    fn format(&self) -> FileFormat {
        match self.reader {
            Reader::Csv(_) => FileFormat::Csv,
            Reader::Orc => FileFormat::Orc,
        }
    }
}

/// Spreads files over at most `partitions` groups, balancing bytes.
pub(crate) fn balance(files: &[DataFile], partitions: usize) -> Vec<Vec<usize>> {
    let n = partitions.max(1).min(files.len().max(1));
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(files[i].size));
    let mut groups: Vec<(u64, Vec<usize>)> = vec![(0, Vec::new()); n];
    for i in order {
        let lightest = groups
            .iter_mut()
            .min_by_key(|(bytes, _)| *bytes)
            .expect("at least one group");
        lightest.0 += files[i].size;
        lightest.1.push(i);
    }
    groups.into_iter().map(|(_, g)| g).collect()
}

impl DisplayAs for InventoryScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(
            f,
            "InventoryScanExec: format={}, files={}, partitions={}, projection=[{}]",
            self.format(),
            self.files.len(),
            self.groups.len(),
            self.schema
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        if let Some(filter) = &self.status_filter {
            let mut values: Vec<String> = filter
                .values
                .iter()
                .map(|v| format!("{:?}", String::from_utf8_lossy(v)))
                .collect();
            if filter.keep_null {
                values.push("NULL".into());
            }
            write!(f, ", status_filter=[{}]", values.join(", "))?;
        }
        Ok(())
    }
}

impl ExecutionPlan for InventoryScanExec {
    fn name(&self) -> &str {
        "InventoryScanExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> DfResult<TreeNodeRecursion>,
    ) -> DfResult<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if children.is_empty() {
            Ok(self)
        } else {
            Err(DataFusionError::Internal(
                "InventoryScanExec has no children".into(),
            ))
        }
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> DfResult<SendableRecordBatchStream> {
        let files: Vec<DataFile> = self
            .groups
            .get(partition)
            .map(|g| g.iter().map(|&i| self.files[i].clone()).collect())
            .unwrap_or_default();
        let batch_size = context.session_config().batch_size();
        let (tx, rx) = mpsc::channel::<Result<RecordBatch>>(2);
        let store = self.store.clone();
        let progress = Arc::clone(&self.progress);
        let projection = self.projection.clone();
        let worker = match &self.reader {
            Reader::Csv(layout) => {
                let layout = layout.clone();
                let filter = self.status_filter.clone();
                let tx = tx.clone();
                tokio::task::spawn_blocking(move || {
                    let csv = CsvRead {
                        layout: &layout,
                        projection: &projection,
                        status_filter: filter.as_ref(),
                        batch_size,
                    };
                    read_csv_files(&store, &files, &csv, &progress, &tx)
                })
            }
            Reader::Orc => {
                let tx = tx.clone();
                tokio::spawn(async move {
                    read_orc_files(&store, &files, &projection, batch_size, &progress, &tx).await
                })
            }
        };
        // A worker that panics must fail the query, never end it early with rows missing.
        tokio::spawn(async move {
            if let Err(e) = worker.await
                && e.is_panic()
            {
                let payload = e.into_panic();
                let error = crate::panic_net::error("an inventory data file", payload.as_ref());
                let _ = tx.send(Err(error)).await;
            }
        });
        let stream = futures::stream::unfold(rx, |mut rx| async move {
            rx.recv()
                .await
                .map(|item| (item.map_err(DataFusionError::from), rx))
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream.boxed(),
        )))
    }
}

/// Sends `item`; false when the consumer has gone (query finished early or cancelled).
fn send_blocking(tx: &mpsc::Sender<Result<RecordBatch>>, item: Result<RecordBatch>) -> bool {
    tx.blocking_send(item).is_ok()
}

/// How a partition reads its CSV files.
struct CsvRead<'a> {
    layout: &'a CsvLayout,
    projection: &'a [usize],
    status_filter: Option<&'a ValueFilter>,
    batch_size: usize,
}

fn read_csv_files(
    store: &Store,
    files: &[DataFile],
    csv: &CsvRead<'_>,
    progress: &SharedProgress,
    tx: &mpsc::Sender<Result<RecordBatch>>,
) {
    for file in files {
        // A panic while reading one file (ours or a dependency's) fails the query naming
        // the file, instead of ending this partition's rows early.
        let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            read_csv_file(store, file, csv, progress, tx)
        }));
        match read {
            Ok(true) => {}
            Ok(false) => return,
            Err(payload) => {
                send_blocking(
                    tx,
                    Err(crate::panic_net::error(&file.display, payload.as_ref())),
                );
                return;
            }
        }
    }
}

/// Reads one CSV file into `tx`; false when the partition must stop (an error was sent,
/// or the consumer has gone).
fn read_csv_file(
    store: &Store,
    file: &DataFile,
    csv: &CsvRead<'_>,
    progress: &SharedProgress,
    tx: &mpsc::Sender<Result<RecordBatch>>,
) -> bool {
    let layout = csv.layout;
    let input = match blocking_read::open(store, file, Arc::clone(progress)) {
        Ok(r) => r,
        Err(e) => {
            send_blocking(tx, Err(store.explain(e)));
            return false;
        }
    };
    let gz = MultiGzDecoder::new(std::io::BufReader::with_capacity(256 * 1024, input));
    let assembler = Assembler::new(&canonical_schema(), csv.projection, layout.present());
    let mut reader =
        CsvBatchReader::new(gz, file.display.clone(), layout, assembler, csv.batch_size);
    if let Some(filter) = csv.status_filter {
        reader = reader.with_status_filter(filter.clone());
    }
    let mut counted = 0;
    while let Some(batch) = reader.next() {
        let batch = batch.map_err(|e| store.explain(e));
        let failed = batch.is_err();
        Progress::add(&progress.rows, reader.records_read() - counted);
        counted = reader.records_read();
        if !send_blocking(tx, batch) || failed {
            return false;
        }
    }
    Progress::add(&progress.rows, reader.records_read() - counted);
    Progress::add(&progress.scanned_files, 1);
    true
}

async fn read_orc_files(
    store: &Store,
    files: &[DataFile],
    projection: &[usize],
    batch_size: usize,
    progress: &SharedProgress,
    tx: &mpsc::Sender<Result<RecordBatch>>,
) {
    for file in files {
        let read = std::panic::AssertUnwindSafe(read_orc_file(
            store, file, projection, batch_size, progress, tx,
        ))
        .catch_unwind()
        .await;
        match read {
            Ok(true) => {}
            Ok(false) => return,
            Err(payload) => {
                let error = crate::panic_net::error(&file.display, payload.as_ref());
                let _ = tx.send(Err(error)).await;
                return;
            }
        }
    }
}

/// Reads one ORC file into `tx`; false when the partition must stop.
async fn read_orc_file(
    store: &Store,
    file: &DataFile,
    projection: &[usize],
    batch_size: usize,
    progress: &SharedProgress,
    tx: &mpsc::Sender<Result<RecordBatch>>,
) -> bool {
    let stream = orc::open(
        Arc::clone(&store.object_store),
        file.path.clone(),
        file.size,
        file.display.clone(),
        projection.to_vec(),
        batch_size,
    )
    .await;
    let mut stream = match stream {
        Ok(s) => Box::pin(s),
        Err(e) => {
            let _ = tx.send(Err(store.explain(e))).await;
            return false;
        }
    };
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| store.explain(e));
        let failed = batch.is_err();
        if let Ok(b) = &batch {
            Progress::add(&progress.rows, b.num_rows() as u64);
        }
        if tx.send(batch).await.is_err() || failed {
            return false;
        }
    }
    Progress::add(&progress.scanned_files, 1);
    Progress::add(&progress.scanned_bytes, file.size);
    true
}
