//! Object tags for `--by tag:KEY`. S3 Inventory has no tags, so they are joined on from
//! either an export of the S3 Metadata live inventory table (Parquet with `bucket, key,
//! version_id, object_tags map<string,string>`) or a tag table (CSV with a header, or
//! Parquet: `bucket, key, version_id, tag_key, tag_value`, one row per tag).
//!
//! Keys are raw in both. A NULL, empty or `null` version id is a null-version object and
//! joins to the inventory's NULL version id.
//!
//! An inventory without version ids (a current-versions-only report) lists each object's
//! current version: it is joined on (bucket, key) to the tag source's current version —
//! the row marked `is_latest`, else the newest by `sequence_number` (S3 Metadata's own
//! order) or `last_modified_date`, delete markers left out. A source with several versions
//! of a key and none of those columns cannot tell which is current: that is an error.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::{CsvReadOptions, ParquetReadOptions};
use object_store::ObjectStoreExt;

use crate::error::{Error, Result};
use crate::storage::{Location, S3Options, Store};
use crate::table::Session;
use crate::table::sql_literal;

/// Where tags come from.
#[derive(Debug, Clone)]
pub struct TagSource {
    pub location: Location,
    pub s3: S3Options,
}

/// The shape of a registered tag source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    /// S3 Metadata live inventory: one row per object version, tags in a map.
    Metadata,
    /// One row per (object version, tag).
    Table,
}

const TABLE: &str = "s3inv_tags";

/// A registered tag source and how the inventory joins it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagJoin {
    pub kind: TagKind,
    /// For an inventory without version ids: the rows of the source's current versions
    /// (a query over the source); `None` joins version to version.
    current: Option<String>,
}

impl TagJoin {
    /// The join condition between the inventory `i` and [`Self::per_object_sql`] as `t`.
    pub fn join_on(&self) -> &'static str {
        match self.current {
            None => {
                "i.bucket = t.bucket AND i.key = t.key AND i.version_id IS NOT DISTINCT FROM t.version_id"
            }
            Some(_) => "i.bucket = t.bucket AND i.key = t.key",
        }
    }

    /// One row per object version (per object, when joining current versions) with its
    /// value for each requested tag key, as columns `bucket, key, [version_id,] has_data,
    /// v{i}` (`i` = the dimension index).
    pub fn per_object_sql(&self, keys: &[(usize, &str)]) -> String {
        let values = self.kind.values_sql(keys);
        match &self.current {
            None => format!(
                "SELECT bucket, key, version_id_n AS version_id, true AS has_data, {values} \
                 FROM (SELECT *, {NORMALISED_VERSION} AS version_id_n FROM {TABLE}) \
                 GROUP BY bucket, key, version_id_n"
            ),
            Some(current) => format!(
                "SELECT bucket, key, true AS has_data, {values} FROM ({current}) GROUP BY bucket, key"
            ),
        }
    }
}

/// The source's version id with `""` and `null` as NULL (the null version).
const NORMALISED_VERSION: &str = "CASE WHEN CAST(version_id AS VARCHAR) IN ('', 'null') THEN NULL \
     ELSE CAST(version_id AS VARCHAR) END";

impl TagKind {
    fn values_sql(self, keys: &[(usize, &str)]) -> String {
        let values: Vec<String> = keys
            .iter()
            .map(|(i, k)| match self {
                TagKind::Metadata => format!(
                    "max(map_extract(object_tags, {})[1]) AS v{i}",
                    sql_literal(k)
                ),
                TagKind::Table => format!(
                    "max(CASE WHEN tag_key = {} THEN tag_value END) AS v{i}",
                    sql_literal(k)
                ),
            })
            .collect();
        values.join(", ")
    }
}

/// The rows of each object's current version in the source (see the module docs).
async fn current_versions_sql(session: &Session, columns: &[&str], shown: &str) -> Result<String> {
    let has = |name: &str| columns.contains(&name);
    if has("is_latest") {
        return Ok(format!(
            "SELECT * FROM {TABLE} WHERE lower(CAST(is_latest AS VARCHAR)) = 'true'"
        ));
    }
    let live = if has("is_delete_marker") {
        "WHERE lower(coalesce(CAST(is_delete_marker AS VARCHAR), 'false')) <> 'true'"
    } else {
        ""
    };
    if let Some(order) = ["sequence_number", "last_modified_date"]
        .into_iter()
        .find(|c| has(c))
    {
        return Ok(format!(
            "SELECT * FROM (SELECT *, rank() OVER (PARTITION BY bucket, key ORDER BY {order} DESC) \
             AS s3inv_newest FROM {TABLE} {live}) WHERE s3inv_newest = 1"
        ));
    }
    let ambiguous = format!(
        "SELECT count(*) FROM (SELECT bucket, key FROM {TABLE} {live} GROUP BY bucket, key \
         HAVING count(DISTINCT coalesce({NORMALISED_VERSION}, 'null')) > 1)"
    );
    let batches = session.sql(&ambiguous).await?;
    let keys = batches
        .first()
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<datafusion::arrow::array::Int64Array>()
                .map(|a| a.value(0))
        })
        .unwrap_or(0);
    if keys > 0 {
        return Err(Error::Usage(format!(
            "tag source {shown} holds several versions of {keys} keys, but the inventory has no version ids (a current-versions-only report), and the source has no is_latest, sequence_number or last_modified_date column to tell which version is current; add one of them, or export only current versions"
        )));
    }
    Ok(format!("SELECT * FROM {TABLE} {live}"))
}

impl TagSource {
    /// Registers the source in the session as table `s3inv_tags`, checks its columns and
    /// decides how the inventory joins it.
    pub async fn register(&self, session: &Session) -> Result<TagJoin> {
        let kind = self.register_table(session).await?;
        let current = if session.columns.has_version_ids() {
            None
        } else {
            let schema = session.ctx.table(TABLE).await?.schema().as_arrow().clone();
            let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            Some(current_versions_sql(session, &columns, &self.location.to_string()).await?)
        };
        Ok(TagJoin { kind, current })
    }

    async fn register_table(&self, session: &Session) -> Result<TagKind> {
        let shown = self.location.to_string();
        let store = Store::open(&self.location, &self.s3).await?;
        let path = self.location.object_path()?;
        let url: &url::Url = store.url.as_ref();
        session
            .ctx
            .register_object_store(url, Arc::clone(&store.object_store));
        let (extension, first_file) = source_extension(&store, &path).await?;
        let table_url = match &store.bucket {
            Some(bucket) => format!("s3://{bucket}/{path}"),
            None => format!("/{path}"),
        };
        let folder = !path.as_ref().ends_with(&extension);
        // A bucket (or file-system) root is already a folder URL: no second `/`.
        let table_url = if folder && !table_url.ends_with('/') {
            format!("{table_url}/")
        } else {
            table_url
        };
        let registered = if extension.starts_with(".csv") {
            // Names come from the header line; every column is text. (Type inference would
            // trip over keys with quoted newlines.)
            let header = csv_header(&store, &first_file, extension.ends_with(".gz")).await?;
            let schema = Schema::new(
                header
                    .iter()
                    .map(|n| Field::new(n, DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            );
            session
                .ctx
                .register_csv(
                    TABLE,
                    &table_url,
                    CsvReadOptions::new()
                        .has_header(true)
                        .schema(&schema)
                        .newlines_in_values(true)
                        .file_extension(&extension)
                        .file_compression_type(if extension.ends_with(".gz") {
                            datafusion::datasource::file_format::file_compression_type::FileCompressionType::GZIP
                        } else {
                            datafusion::datasource::file_format::file_compression_type::FileCompressionType::UNCOMPRESSED
                        }),
                )
                .await
        } else {
            session
                .ctx
                .register_parquet(
                    TABLE,
                    &table_url,
                    ParquetReadOptions::default().file_extension(&extension),
                )
                .await
        };
        registered.map_err(|e| {
            Error::Usage(format!(
                "tag source {shown}: cannot read it: {}",
                Error::from(e)
            ))
        })?;
        let schema = session.ctx.table(TABLE).await?.schema().as_arrow().clone();
        let has = |name: &str| schema.field_with_name(name).is_ok();
        let columns: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let wrong = || {
            Error::Usage(format!(
                "tag source {shown} has columns [{}]; expected bucket, key, version_id and either object_tags (an S3 Metadata live inventory export) or tag_key, tag_value",
                columns.join(", ")
            ))
        };
        if !(has("bucket") && has("key") && has("version_id")) {
            return Err(wrong());
        }
        if let Ok(f) = schema.field_with_name("object_tags") {
            if !matches!(f.data_type(), DataType::Map(_, _)) {
                return Err(Error::Usage(format!(
                    "tag source {shown}: object_tags must be a map<string,string>, found {}",
                    f.data_type()
                )));
            }
            return Ok(TagKind::Metadata);
        }
        if has("tag_key") && has("tag_value") {
            return Ok(TagKind::Table);
        }
        Err(wrong())
    }
}

/// The column names in the first line of a CSV file (plain or gzip).
async fn csv_header(
    store: &Store,
    path: &object_store::path::Path,
    gzip: bool,
) -> Result<Vec<String>> {
    use std::io::Read;
    let head = store
        .object_store
        .get_opts(
            path,
            object_store::GetOptions {
                range: Some(object_store::GetRange::Bounded(0..64 * 1024)),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| store.error(e, path, crate::storage::Action::Get))?
        .bytes()
        .await
        .map_err(|e| store.error(e, path, crate::storage::Action::Get))?;
    let mut text = Vec::new();
    if gzip {
        // A prefix of the stream is enough for the first line; the decoder's complaint
        // about the missing rest is expected.
        let _ = flate2::read::MultiGzDecoder::new(&head[..]).read_to_end(&mut text);
    } else {
        text = head.to_vec();
    }
    let first = text.split(|b| *b == b'\n').next().unwrap_or_default();
    Ok(String::from_utf8_lossy(first)
        .trim_end_matches('\r')
        .split(',')
        .map(|c| c.trim().trim_matches('"').to_string())
        .collect())
}

/// `.parquet`, `.csv` or `.csv.gz` and the first data file: the source itself, or the
/// first such file in it.
async fn source_extension(
    store: &Store,
    path: &object_store::path::Path,
) -> Result<(String, object_store::path::Path)> {
    let name = path.as_ref();
    for ext in [".parquet", ".csv.gz", ".csv"] {
        if name.ends_with(ext) {
            return Ok((ext.to_string(), path.clone()));
        }
    }
    use futures::TryStreamExt;
    let files: Vec<_> = store
        .object_store
        .list(Some(path))
        .try_collect()
        .await
        .map_err(|e| store.error(e, path, crate::storage::Action::List))?;
    let mut names: Vec<&object_store::path::Path> = files.iter().map(|f| &f.location).collect();
    names.sort();
    for f in names {
        for ext in [".parquet", ".csv.gz", ".csv"] {
            if f.as_ref().ends_with(ext) {
                return Ok((ext.to_string(), f.clone()));
            }
        }
    }
    if files.is_empty() && store.object_store.head(path).await.is_err() {
        return Err(Error::NotFound {
            path: store.display(path),
            hint: ": the tag source does not exist",
        });
    }
    Err(Error::Usage(format!(
        "tag source {}: no .parquet, .csv or .csv.gz files",
        store.display(path)
    )))
}
