//! The canonical `inventory` schema: all 21 AWS fields, in AWS order, typed.
//!
//! Column names are the ORC/Parquet names Athena users know; each field also records its
//! CSV `fileSchema` name so the CSV reader can map a manifest's header onto it.

use std::sync::{Arc, LazyLock};

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// The logical type of one canonical column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Utf8,
    Int64,
    Boolean,
    Timestamp,
}

impl Kind {
    /// The Arrow type used for this kind in the canonical schema. Strings are `Utf8View`,
    /// the type DataFusion's Parquet reader decodes into without copying the bytes (a
    /// plain `Utf8` column would be copied string by string); every reader produces it.
    pub fn data_type(self) -> DataType {
        match self {
            Kind::Utf8 => DataType::Utf8View,
            Kind::Int64 => DataType::Int64,
            Kind::Boolean => DataType::Boolean,
            Kind::Timestamp => timestamp_type(),
        }
    }
}

/// `Timestamp(Millisecond, "UTC")`, the type of every canonical timestamp column.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

/// One canonical column: its table name, its CSV `fileSchema` name and its kind.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub csv_name: &'static str,
    pub kind: Kind,
}

/// The 21 canonical columns, in AWS order.
pub const COLUMNS: [Column; 21] = [
    col("bucket", "Bucket", Kind::Utf8),
    col("key", "Key", Kind::Utf8),
    col("version_id", "VersionId", Kind::Utf8),
    col("is_latest", "IsLatest", Kind::Boolean),
    col("is_delete_marker", "IsDeleteMarker", Kind::Boolean),
    col("size", "Size", Kind::Int64),
    col("last_modified_date", "LastModifiedDate", Kind::Timestamp),
    col("e_tag", "ETag", Kind::Utf8),
    col("storage_class", "StorageClass", Kind::Utf8),
    col(
        "is_multipart_uploaded",
        "IsMultipartUploaded",
        Kind::Boolean,
    ),
    col("replication_status", "ReplicationStatus", Kind::Utf8),
    col("encryption_status", "EncryptionStatus", Kind::Utf8),
    col(
        "object_lock_retain_until_date",
        "ObjectLockRetainUntilDate",
        Kind::Timestamp,
    ),
    col("object_lock_mode", "ObjectLockMode", Kind::Utf8),
    col(
        "object_lock_legal_hold_status",
        "ObjectLockLegalHoldStatus",
        Kind::Utf8,
    ),
    col(
        "intelligent_tiering_access_tier",
        "IntelligentTieringAccessTier",
        Kind::Utf8,
    ),
    col("bucket_key_status", "BucketKeyStatus", Kind::Utf8),
    col("checksum_algorithm", "ChecksumAlgorithm", Kind::Utf8),
    col(
        "object_access_control_list",
        "ObjectAccessControlList",
        Kind::Utf8,
    ),
    col("object_owner", "ObjectOwner", Kind::Utf8),
    col(
        "lifecycle_expiration_date",
        "LifecycleExpirationDate",
        Kind::Timestamp,
    ),
];

const fn col(name: &'static str, csv_name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        csv_name,
        kind,
    }
}

/// Index of `key` in [`COLUMNS`].
pub const KEY: usize = 1;
/// Index of `version_id` in [`COLUMNS`].
pub const VERSION_ID: usize = 2;
/// Index of `is_latest` in [`COLUMNS`].
pub const IS_LATEST: usize = 3;
/// Index of `is_delete_marker` in [`COLUMNS`].
pub const IS_DELETE_MARKER: usize = 4;
/// Index of `replication_status` in [`COLUMNS`].
pub const REPLICATION_STATUS: usize = 10;

static CANONICAL: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(
        COLUMNS
            .iter()
            .map(|c| {
                // bucket and key are required in every AWS format; the rest may be empty.
                let nullable = !matches!(c.name, "bucket" | "key");
                Field::new(c.name, c.kind.data_type(), nullable)
            })
            .collect::<Vec<_>>(),
    ))
});

/// The canonical schema of the `inventory` table.
pub fn canonical_schema() -> SchemaRef {
    Arc::clone(&CANONICAL)
}

/// Index of a canonical column by its table name.
pub fn index_of(name: &str) -> Option<usize> {
    COLUMNS.iter().position(|c| c.name == name)
}

/// Index of a canonical column by its CSV `fileSchema` name (case-insensitive, trimmed).
pub fn index_of_csv_name(name: &str) -> Option<usize> {
    let name = name.trim();
    COLUMNS
        .iter()
        .position(|c| c.csv_name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_order_and_types() {
        let s = canonical_schema();
        assert_eq!(s.fields().len(), 21);
        assert_eq!(s.field(0).name(), "bucket");
        assert_eq!(s.field(20).name(), "lifecycle_expiration_date");
        assert_eq!(s.field(1).data_type(), &DataType::Utf8View);
        assert_eq!(s.field(5).data_type(), &DataType::Int64);
        assert_eq!(s.field(6).data_type(), &timestamp_type());
        assert_eq!(index_of("key"), Some(KEY));
        assert_eq!(index_of("is_latest"), Some(IS_LATEST));
        assert_eq!(index_of("is_delete_marker"), Some(IS_DELETE_MARKER));
        assert_eq!(index_of("replication_status"), Some(REPLICATION_STATUS));
        assert_eq!(index_of_csv_name(" ReplicationStatus"), Some(10));
    }
}
