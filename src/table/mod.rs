//! The `inventory` table and the session that holds it.
//!
//! `Session::open` finds the delivery, verifies it (manifest checksum, sizes, MD5s), and
//! registers one DataFusion `TableProvider` named `inventory` whose files are exactly the
//! manifest's `files[]`. SQL run through a session is read-only.

pub mod age;
mod blocking_read;
mod counting_store;
pub mod functions;
mod parquet_progress;
mod provider;
mod pushdown;
mod scan;

use std::sync::Arc;

use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::tree_node::TreeNode;
use datafusion::dataframe::DataFrame;
use datafusion::execution::SendableRecordBatchStream;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::logical_expr::LogicalPlan;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::prelude::{SessionConfig, SessionContext};
use datafusion::sql::parser::{DFParserBuilder, Statement as DfStatement};
use futures::StreamExt;

pub use provider::InventoryTable;
pub use scan::InventoryScanExec;

use crate::error::{Error, Result};
use crate::format::assemble::PresentColumns;
use crate::manifest::{AtSpec, Delivery, open_delivery, verify_data_files};
use crate::progress::SharedProgress;
use crate::storage::{Location, S3Options, Store};

/// How to open a session.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// Which delivery of a configuration folder (`--at`).
    pub at: Option<AtSpec>,
    /// Verify manifest.checksum and every data file's MD5 (sizes are always checked).
    pub verify: bool,
    /// Bound of DataFusion's memory pool, in bytes.
    pub memory_limit: Option<usize>,
    /// Parallelism; defaults to the number of cores.
    pub target_partitions: Option<usize>,
    /// Counters the caller may render while the session opens and queries run.
    pub progress: SharedProgress,
    /// Canonical columns the command cannot answer without, and who needs them (e.g.
    /// `replication_status` for `s3inv summary`): a delivery that does not carry one is an
    /// error, never a column of NULLs read as "never replicated".
    pub required: Vec<(&'static str, String)>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            at: None,
            verify: true,
            memory_limit: None,
            target_partitions: None,
            progress: SharedProgress::default(),
            required: Vec::new(),
        }
    }
}

/// A DataFusion context with the `inventory` table of one verified delivery.
pub struct Session {
    pub ctx: SessionContext,
    pub delivery: Arc<Delivery>,
    pub progress: SharedProgress,
    /// The canonical columns the delivery's files carry (the rest are filled in).
    pub columns: PresentColumns,
}

impl Session {
    /// Finds, verifies and registers the delivery at `location`.
    pub async fn open(
        location: &Location,
        s3: &S3Options,
        options: &SessionOptions,
    ) -> Result<Session> {
        let store = Store::open(location, s3).await?;
        let delivery = open_delivery(location, &store, options.at.as_ref(), options.verify).await?;
        Session::from_delivery(delivery, options).await
    }

    /// Verifies an already opened delivery and registers it.
    pub async fn from_delivery(delivery: Delivery, options: &SessionOptions) -> Result<Session> {
        crate::panic_net::reading(&delivery.manifest_display);
        let progress = Arc::clone(&options.progress);
        progress.start(delivery.files.len() as u64, delivery.manifest.total_bytes());
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let partitions = options.target_partitions.unwrap_or(cores).max(1);
        let started = std::time::Instant::now();
        verify_data_files(
            &delivery.store,
            &delivery.files,
            options.verify,
            (partitions * 2).max(4),
            &progress,
        )
        .await?;
        tracing::info!(
            manifest = %delivery.manifest_display,
            format = %delivery.format(),
            files = delivery.files.len(),
            bytes = delivery.manifest.total_bytes(),
            md5 = options.verify,
            verify_ms = started.elapsed().as_millis() as u64,
            "delivery verified"
        );
        let delivery = Arc::new(delivery);
        let table = InventoryTable::try_new(Arc::clone(&delivery), Arc::clone(&progress)).await?;
        let columns = table.present();
        for (name, needed_by) in &options.required {
            require_column(&delivery, columns, name, needed_by)?;
        }
        let config = SessionConfig::new()
            .with_target_partitions(partitions)
            .with_information_schema(true);
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(limit) = options.memory_limit {
            runtime = runtime.with_memory_limit(limit, 1.0);
        }
        let ctx = SessionContext::new_with_config_rt(config, runtime.build_arc()?);
        let url: &url::Url = delivery.store.url.as_ref();
        // DataFusion's Parquet scan reads through this store: count what it fetches.
        let counting = counting_store::CountingStore::new(
            Arc::clone(&delivery.store.object_store),
            Arc::clone(&progress),
        );
        ctx.register_object_store(url, Arc::new(counting));
        ctx.register_table("inventory", Arc::new(table))?;
        for f in functions::helpers(delivery.manifest.creation_timestamp_ms) {
            ctx.register_udf(f);
        }
        Ok(Session {
            ctx,
            delivery,
            progress,
            columns,
        })
    }

    /// Registers another delivery (of any store) as table `name`, e.g. an earlier
    /// delivery to compare with. Its sizes are checked; MD5s too when `verify`.
    pub async fn attach(
        &self,
        name: &str,
        delivery: Delivery,
        verify: bool,
    ) -> Result<(Arc<Delivery>, PresentColumns)> {
        verify_data_files(&delivery.store, &delivery.files, verify, 4, &self.progress).await?;
        // Another bucket (a destination's inventory): its store must be known to the
        // context too, under its own URL.
        let url: &url::Url = delivery.store.url.as_ref();
        if self
            .ctx
            .runtime_env()
            .object_store(&delivery.store.url)
            .is_err()
        {
            let counting = counting_store::CountingStore::new(
                Arc::clone(&delivery.store.object_store),
                Arc::clone(&self.progress),
            );
            self.ctx.register_object_store(url, Arc::new(counting));
        }
        let delivery = Arc::new(delivery);
        let table =
            InventoryTable::try_new(Arc::clone(&delivery), Arc::clone(&self.progress)).await?;
        let columns = table.present();
        self.ctx.register_table(name, Arc::new(table))?;
        Ok((delivery, columns))
    }

    /// Plans `sql`, refusing anything that would change state (DDL, DML, COPY, SET):
    /// first by the statement's kind, before planning (so `INSERT INTO inventory VALUES
    /// (1)` is refused as a write, not reported as a type error), then by the plan.
    pub async fn query(&self, sql: &str) -> Result<DataFrame> {
        // Each query is one pass on the progress line (its scans are planned below).
        self.progress.begin_pass();
        let state = self.ctx.state();
        let dialect = state.config().options().sql_parser.dialect;
        let statement = state.sql_to_statement(sql, &dialect)?;
        if let Some(kind) = writing_sql(&statement) {
            return Err(Error::ReadOnly(kind.to_string()));
        }
        let plan = state.statement_to_plan(statement).await?;
        if let Some(kind) = writing_statement(&plan) {
            return Err(Error::ReadOnly(kind.to_string()));
        }
        Ok(self.ctx.execute_logical_plan(plan).await?)
    }

    /// Runs `sql` as a stream of batches; storage failures in the scan are named like
    /// everywhere else (access denied names the bucket, key and IAM action).
    pub async fn stream(&self, sql: &str) -> Result<SendableRecordBatchStream> {
        let stream = self.query(sql).await?.execute_stream().await?;
        let schema = stream.schema();
        let store = self.delivery.store.clone();
        let mapped = stream.map(move |b| b.map_err(|e| store.explain_datafusion(e)));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, mapped)))
    }

    /// Runs `sql` and collects the result.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let mut stream = self.stream(sql).await?;
        let mut batches = Vec::new();
        while let Some(b) = stream.next().await {
            batches.push(b?);
        }
        Ok(batches)
    }
}

/// Fails with [`Error::MissingField`] when the delivery does not carry canonical column
/// `name`. Columns a current-versions-only report implies (`is_latest`,
/// `is_delete_marker`) count as carried.
pub fn require_column(
    delivery: &Delivery,
    present: PresentColumns,
    name: &str,
    needed_by: &str,
) -> Result<()> {
    let Some(index) = crate::format::schema::index_of(name) else {
        return Err(Error::Internal(format!("unknown canonical column {name}")));
    };
    let implied = present.is_current_only()
        && (index == crate::format::schema::IS_LATEST
            || index == crate::format::schema::IS_DELETE_MARKER);
    if present.contains(index) || implied || delivery.files.is_empty() {
        return Ok(());
    }
    Err(Error::MissingField {
        manifest: delivery.manifest_display.clone(),
        field: crate::format::schema::COLUMNS[index].csv_name,
        needed_by: needed_by.to_string(),
    })
}

/// A SQL string literal: `'it''s'`.
pub fn sql_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The kind of the first state-changing node in `plan`, if any.
/// Whether a parsed statement writes rows, found before planning: such a statement may
/// not plan at all (`INSERT INTO inventory VALUES (1)` fails on its column count), and must
/// still be refused as a write. Everything else is planned and judged by its plan
/// ([`writing_statement`]), so SHOW, DESCRIBE and EXPLAIN keep working.
fn writing_sql(statement: &DfStatement) -> Option<&'static str> {
    use datafusion::sql::sqlparser::ast::{SetExpr, Statement as Sql};
    match statement {
        DfStatement::Statement(s) => match s.as_ref() {
            Sql::Insert(_) | Sql::Update { .. } | Sql::Delete(_) | Sql::Merge { .. } => Some("DML"),
            // `WITH … INSERT …` parses as a query around the write.
            Sql::Query(q)
                if matches!(
                    q.body.as_ref(),
                    SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_)
                ) =>
            {
                Some("DML")
            }
            Sql::Copy { .. } => Some("COPY"),
            Sql::Explain { statement, .. } => {
                writing_sql(&DfStatement::Statement(statement.clone()))
            }
            _ => None,
        },
        DfStatement::Explain(e) => writing_sql(&e.statement),
        DfStatement::CopyTo(_) => Some("COPY"),
        DfStatement::CreateExternalTable(_) | DfStatement::Reset(_) => None,
    }
}

/// A user's SQL condition (`manifest --where`) checked to be exactly one expression and
/// rendered back from its syntax tree, parenthesised, so that nothing it contains (a
/// closing parenthesis, `--`, a second clause) can change the query around it.
pub fn sql_condition(text: &str) -> Result<String> {
    let invalid = |why: String| Error::Usage(format!("invalid --where {text:?}: {why}"));
    if text.trim().is_empty() {
        return Err(invalid("it is empty".into()));
    }
    let parsed = DFParserBuilder::new(text)
        .build()
        .and_then(|mut p| p.parse_into_expr())
        .map_err(|e| invalid(format!("{e} (give one SQL condition on inventory columns)")))?;
    if let Some(alias) = parsed.alias {
        return Err(invalid(format!("a condition has no alias ({alias})")));
    }
    Ok(format!("({})", parsed.expr))
}

fn writing_statement(plan: &LogicalPlan) -> Option<&'static str> {
    let mut found = None;
    let _ = plan.apply(|node| {
        found = match node {
            LogicalPlan::Ddl(_) => Some("DDL"),
            LogicalPlan::Dml(_) => Some("DML"),
            LogicalPlan::Copy(_) => Some("COPY"),
            LogicalPlan::Statement(_) => Some("SET and transaction"),
            _ => None,
        };
        Ok(if found.is_some() {
            datafusion::common::tree_node::TreeNodeRecursion::Stop
        } else {
            datafusion::common::tree_node::TreeNodeRecursion::Continue
        })
    });
    found
}
