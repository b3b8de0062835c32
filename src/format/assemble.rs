//! Assembling canonical batches: the projected canonical columns in order, each cast to its
//! canonical type, and the columns a report does not carry filled in.
//!
//! A missing field is a NULL column, except in a current-versions-only report (no
//! `IsLatest`/`VersionId` fields) where every row is a current, live object: there
//! `is_latest` is true and `is_delete_marker` false.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, new_null_array};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::schema::{IS_DELETE_MARKER, IS_LATEST, index_of};

/// The set of canonical columns a delivery's files carry.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PresentColumns(u32);

impl PresentColumns {
    pub fn from_indices(indices: impl IntoIterator<Item = usize>) -> Self {
        PresentColumns(indices.into_iter().fold(0, |acc, i| acc | 1 << i))
    }

    /// The canonical columns among an ORC/Parquet file's column names.
    pub fn from_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Self {
        Self::from_indices(names.into_iter().filter_map(index_of))
    }

    pub fn contains(self, i: usize) -> bool {
        self.0 & (1 << i) != 0
    }

    /// Whether the report carries version ids (`IncludedObjectVersions = All`).
    pub fn has_version_ids(self) -> bool {
        self.contains(super::schema::index_of("version_id").expect("canonical column"))
    }

    /// A report without version fields lists only current, live objects.
    pub fn is_current_only(self) -> bool {
        !self.contains(IS_LATEST) && !self.contains(IS_DELETE_MARKER)
    }
}

/// Builds output batches for one projection of the canonical schema.
#[derive(Debug, Clone)]
pub struct Assembler {
    projection: Vec<usize>,
    schema: SchemaRef,
    current_only: bool,
}

impl Assembler {
    /// `projection` holds canonical column indices in output order.
    pub fn new(canonical: &Schema, projection: &[usize], present: PresentColumns) -> Self {
        let schema = Arc::new(
            canonical
                .project(projection)
                .expect("projection within schema"),
        );
        Assembler {
            projection: projection.to_vec(),
            schema,
            current_only: present.is_current_only(),
        }
    }

    /// Whether canonical column `c` is part of the output.
    pub fn wants(&self, c: usize) -> bool {
        self.projection.contains(&c)
    }

    /// The output schema.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Assembles a batch of `rows` rows from the arrays the file gave, keyed by canonical
    /// index.
    pub fn assemble(
        &self,
        mut arrays: Vec<(usize, ArrayRef)>,
        rows: usize,
    ) -> Result<RecordBatch, ArrowError> {
        let mut columns = Vec::with_capacity(self.projection.len());
        for (out, &c) in self.projection.iter().enumerate() {
            let target = self.schema.field(out).data_type();
            let column = match arrays.iter().position(|(i, _)| *i == c) {
                Some(pos) => {
                    let (_, array) = arrays.swap_remove(pos);
                    if array.data_type() == target {
                        array
                    } else {
                        cast(&array, target)?
                    }
                }
                None if self.current_only && c == IS_LATEST => {
                    Arc::new(BooleanArray::from(vec![true; rows])) as ArrayRef
                }
                None if self.current_only && c == IS_DELETE_MARKER => {
                    Arc::new(BooleanArray::from(vec![false; rows])) as ArrayRef
                }
                None => new_null_array(target, rows),
            };
            columns.push(column);
        }
        RecordBatch::try_new_with_options(
            Arc::clone(&self.schema),
            columns,
            &RecordBatchOptions::new().with_row_count(Some(rows)),
        )
    }
}
