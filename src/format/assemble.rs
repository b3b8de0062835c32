//! Assembling canonical batches: the projected canonical columns in order, each cast to its
//! canonical type, and the columns a report does not carry filled in.
//!
//! A missing field is a NULL column, except in a current-versions-only report (no
//! `IsLatest`/`VersionId` fields) where every row is a current, live object: there
//! `is_latest` is true and `is_delete_marker` false.
//!
//! A null-version object's `version_id` is NULL in every format: AWS writes `""` in CSV
//! and ORC/Parquet writers may keep it, and users follow AWS's advice to turn it into the
//! literal `null` that Batch Operations wants. [`null_versions`] maps both to NULL.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, BooleanArray, StringViewArray, new_null_array};
use datafusion::arrow::buffer::{BooleanBuffer, NullBuffer};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::schema::{IS_DELETE_MARKER, IS_LATEST, VERSION_ID, index_of};

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

    /// Whether the report carries the canonical column `name` (`storage_class`, …).
    pub fn has(self, name: &str) -> bool {
        super::schema::index_of(name).is_some_and(|i| self.contains(i))
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
                    let array = if array.data_type() == target {
                        array
                    } else {
                        cast(&array, target)?
                    };
                    if c == VERSION_ID {
                        null_versions(array)
                    } else {
                        array
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

/// Whether a version id stands for the null version: `""` or the literal `null`.
pub fn is_null_version(v: &str) -> bool {
    v.is_empty() || v == "null"
}

/// A `version_id` column with `""` and `null` turned into NULL; other arrays, and columns
/// without such values, are returned as they are (no copy).
pub fn null_versions(array: ArrayRef) -> ArrayRef {
    let Some(strings) = array.as_any().downcast_ref::<StringViewArray>() else {
        return array;
    };
    if !strings.iter().flatten().any(is_null_version) {
        return array;
    }
    let valid = BooleanBuffer::collect_bool(strings.len(), |i| {
        strings.is_valid(i) && !is_null_version(strings.value(i))
    });
    let (views, buffers, _) = strings.clone().into_parts();
    Arc::new(StringViewArray::new(
        views,
        buffers,
        Some(NullBuffer::new(valid)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_literal_null_versions_are_null() {
        let input: ArrayRef = Arc::new(StringViewArray::from(vec![
            Some("v1"),
            Some(""),
            None,
            Some("null"),
            Some("a-version-id-longer-than-twelve"),
            Some("NULL"),
        ]));
        let out = null_versions(input);
        let out = out.as_any().downcast_ref::<StringViewArray>().unwrap();
        let values: Vec<Option<&str>> = out.iter().collect();
        assert_eq!(
            values,
            [
                Some("v1"),
                None,
                None,
                None,
                Some("a-version-id-longer-than-twelve"),
                Some("NULL")
            ]
        );
    }
}
