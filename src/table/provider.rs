//! The `inventory` TableProvider: the manifest decides which files are read; CSV and ORC
//! go through `InventoryScanExec`, Parquet through DataFusion's Parquet scan (projection and
//! physical filter pushdown). Either way the output is the canonical schema.

use std::sync::Arc;

use async_trait::async_trait;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::Session as CatalogSession;
use datafusion::catalog::TableProvider;
use datafusion::common::ScalarValue;
use datafusion::datasource::TableType;
use datafusion::datasource::listing::PartitionedFile;
use datafusion::datasource::physical_plan::{FileGroup, FileScanConfigBuilder, ParquetSource};
use datafusion::datasource::source::DataSourceExec;
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::{CaseExpr, Column, Literal};
use datafusion::physical_plan::ExecutionPlan;
use datafusion::physical_plan::projection::ProjectionExec;
use object_store::ObjectMeta;

use super::pushdown;
use super::scan::{InventoryScanExec, Reader, balance};
use crate::error::Result;
use crate::format::assemble::PresentColumns;
use crate::format::csv::CsvLayout;
use crate::format::schema::{COLUMNS, IS_DELETE_MARKER, IS_LATEST, VERSION_ID, canonical_schema};
use crate::format::{orc, parquet};
use crate::manifest::{DataFile, Delivery, FileFormat};
use crate::progress::SharedProgress;

/// The `inventory` table over one delivery.
#[derive(Debug)]
pub struct InventoryTable {
    delivery: Arc<Delivery>,
    files: Arc<Vec<DataFile>>,
    reader: Option<Reader>,
    /// The canonical columns the delivery carries (CSV: `fileSchema`; ORC and Parquet: the
    /// first file's footer — one configuration writes every file alike).
    present: PresentColumns,
    progress: SharedProgress,
}

impl InventoryTable {
    /// Prepares the table; for Parquet reads the first file's footer.
    pub async fn try_new(delivery: Arc<Delivery>, progress: SharedProgress) -> Result<Self> {
        // A 0-byte data file holds no rows in any format (AWS lists empty files with the
        // empty MD5, d41d8cd9…); its size, and its MD5 unless --no-verify, were checked
        // against the manifest before this. Readers would call it a corrupt gzip, ORC or
        // Parquet file, so it is left out of the scan (and out of the footer reads below).
        let files = Arc::new(
            delivery
                .files
                .iter()
                .filter(|f| f.size > 0)
                .cloned()
                .collect::<Vec<_>>(),
        );
        let first = files.first();
        let (reader, present) = match delivery.format() {
            FileFormat::Csv => {
                let layout = CsvLayout::from_file_schema(
                    &delivery.manifest.csv_columns(),
                    &delivery.manifest_display,
                )?;
                let present = layout.present();
                (Some(Reader::Csv(layout)), present)
            }
            FileFormat::Orc => {
                let present = match first {
                    Some(f) => orc::present_columns(
                        Arc::clone(&delivery.store.object_store),
                        f.path.clone(),
                        f.size,
                        &f.display,
                    )
                    .await
                    .map_err(|e| delivery.store.explain(e))?,
                    None => PresentColumns::default(),
                };
                (Some(Reader::Orc), present)
            }
            FileFormat::Parquet => {
                parquet::check_tails(&delivery.store, &files, 16)
                    .await
                    .map_err(|e| delivery.store.explain(e))?;
                let present = match first {
                    Some(f) => parquet::present_columns(
                        Arc::clone(&delivery.store.object_store),
                        &f.path,
                        f.size,
                        &f.display,
                    )
                    .await
                    .map_err(|e| delivery.store.explain(e))?,
                    None => PresentColumns::default(),
                };
                (None, present)
            }
        };
        Ok(InventoryTable {
            delivery,
            files,
            reader,
            present,
            progress,
        })
    }

    /// The canonical columns the delivery's files carry.
    pub fn present(&self) -> PresentColumns {
        self.present
    }

    fn scan_parquet(
        &self,
        state: &dyn CatalogSession,
        projection: Vec<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // Filters reach the Parquet reader through DataFusion's physical filter pushdown,
        // which prunes row groups and pages by statistics; it rewrites them through the
        // projection below, so a filter on a filled-in `is_latest` never prunes the wrong
        // row groups. Row-level filtering in the decoder ("late materialization") stays
        // off: measured on 10M rows it made every query slower, the selective manifest
        // query included (1.7 s → 1.9 s), as building row selections costs more than
        // decoding the skipped values.
        let runtime = state.runtime_env();
        let reader_factory = super::parquet_progress::CountingReaderFactory::new(
            runtime.object_store(&self.delivery.store.url)?,
            runtime.cache_manager.get_file_metadata_cache(),
            Arc::clone(&self.progress),
        );
        let source = ParquetSource::new(canonical_schema())
            .with_pushdown_filters(false)
            .with_parquet_file_reader_factory(Arc::new(reader_factory));
        let groups = balance(&self.files, state.config().target_partitions())
            .into_iter()
            .map(|g| {
                FileGroup::new(
                    g.into_iter()
                        .map(|i| {
                            let f = &self.files[i];
                            PartitionedFile::new_from_meta(ObjectMeta {
                                location: f.path.clone(),
                                last_modified: chrono::DateTime::UNIX_EPOCH,
                                size: f.size,
                                e_tag: None,
                                version: None,
                            })
                        })
                        .collect(),
                )
            })
            .filter(|g| !g.is_empty())
            .collect();
        let config = FileScanConfigBuilder::new(self.delivery.store.url.clone(), Arc::new(source))
            .with_file_groups(groups)
            .with_projection_indices(Some(projection.clone()))?
            .build();
        let scan: Arc<dyn ExecutionPlan> = DataSourceExec::from_data_source(config);
        let current_only = self.present.is_current_only();
        let fills = |c: usize| current_only && (c == IS_LATEST || c == IS_DELETE_MARKER);
        let versions = self.present.has_version_ids();
        if !projection
            .iter()
            .any(|&c| fills(c) || (versions && c == VERSION_ID))
        {
            return Ok(scan);
        }
        // What the CSV and ORC readers do in `Assembler`: a current-only report's rows are
        // current, live objects, and `""` / `null` version ids are the null version (NULL).
        let out_schema = scan.schema();
        let exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = projection
            .iter()
            .enumerate()
            .map(|(i, &c)| {
                let name = COLUMNS[c].name.to_string();
                let column: Arc<dyn PhysicalExpr> =
                    Arc::new(Column::new(out_schema.field(i).name(), i));
                let expr: Arc<dyn PhysicalExpr> = match c {
                    IS_LATEST if current_only => {
                        Arc::new(Literal::new(ScalarValue::Boolean(Some(true))))
                    }
                    IS_DELETE_MARKER if current_only => {
                        Arc::new(Literal::new(ScalarValue::Boolean(Some(false))))
                    }
                    VERSION_ID => null_versions_expr(column)?,
                    _ => column,
                };
                Ok((expr, name))
            })
            .collect::<DfResult<_>>()?;
        Ok(Arc::new(ProjectionExec::try_new(exprs, scan)?))
    }
}

/// `CASE version_id WHEN '' THEN NULL WHEN 'null' THEN NULL ELSE version_id END`, the
/// physical twin of `format::assemble::null_versions`.
fn null_versions_expr(column: Arc<dyn PhysicalExpr>) -> DfResult<Arc<dyn PhysicalExpr>> {
    let text = |v: &str| -> Arc<dyn PhysicalExpr> {
        Arc::new(Literal::new(ScalarValue::Utf8View(Some(v.to_string()))))
    };
    let null: Arc<dyn PhysicalExpr> = Arc::new(Literal::new(ScalarValue::Utf8View(None)));
    Ok(Arc::new(CaseExpr::try_new(
        Some(Arc::clone(&column)),
        vec![(text(""), Arc::clone(&null)), (text("null"), null)],
        Some(column),
    )?))
}

#[async_trait]
impl TableProvider for InventoryTable {
    fn schema(&self) -> SchemaRef {
        canonical_schema()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    /// CSV: a condition on `replication_status` is applied while parsing (inexactly: the
    /// query still filters what comes out). Parquet gets its filters through DataFusion's
    /// physical pushdown instead.
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> DfResult<Vec<TableProviderFilterPushDown>> {
        let csv = self.reader.as_ref().is_some_and(Reader::filters_status);
        Ok(filters
            .iter()
            .map(|f| {
                if csv && pushdown::status_filter(f).is_some() {
                    TableProviderFilterPushDown::Inexact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn CatalogSession,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let projection = projection
            .cloned()
            .unwrap_or_else(|| (0..COLUMNS.len()).collect());
        // Every planned scan is one more pass over the files for the progress line.
        self.progress.plan_scan(
            self.files.len() as u64,
            self.files.iter().map(|f| f.size).sum(),
        );
        match &self.reader {
            None => self.scan_parquet(state, projection),
            Some(reader) => Ok(Arc::new(InventoryScanExec::new(
                self.delivery.store.clone(),
                Arc::clone(&self.files),
                reader.clone(),
                projection,
                // Only filters `supports_filters_pushdown` accepted arrive here: CSV ones.
                pushdown::first_status_filter(filters),
                state.config().target_partitions(),
                Arc::clone(&self.progress),
            ))),
        }
    }
}
