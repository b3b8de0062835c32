//! SQL helpers registered in every session:
//!
//! | function | returns |
//! |---|---|
//! | `key_prefix(key, depth)` | the key up to and including its `depth`-th `/`; a key with fewer separators is grouped under its parent folder, a key without any `/` under `(root)` (`manifest --prefix '(root)'` selects exactly those) |
//! | `age_bucket(last_modified_date)` | the default age bucket (`<1d`, `1-7d`, `7-30d`, `30-90d`, `90-365d`, `≥365d`) of an object, its age measured at the delivery's creation time |
//! | `age_bucket(last_modified_date, '1h,1d,7d,30d')` | the same with custom boundaries |
//! | `delivery_time()` | the delivery's creation time (the inventory scan start), `Timestamp(ms, UTC)` |
//! | `batch_key(key)` | the key encoded for a Batch Operations CSV manifest (`%20` for space, `%2B` for `+`) |

use std::sync::Arc;

use datafusion::arrow::array::builder::make_view;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, ByteView, Int64Array, StringViewArray, StringViewBuilder,
};
use datafusion::arrow::buffer::{NullBuffer, ScalarBuffer};

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::age::AgeBuckets;
use crate::format::key::batch_encode;
use crate::format::schema::timestamp_type;

/// The helpers for a delivery created at `delivery_ms`.
pub fn helpers(delivery_ms: i64) -> Vec<ScalarUDF> {
    vec![
        ScalarUDF::new_from_impl(KeyPrefix::new()),
        ScalarUDF::new_from_impl(AgeBucket::new(delivery_ms)),
        ScalarUDF::new_from_impl(DeliveryTime::new(delivery_ms)),
        ScalarUDF::new_from_impl(BatchKey::new()),
    ]
}

/// The `key_prefix` of keys without any `/` (objects at the top of the bucket). Not `/`,
/// which is the prefix of keys that start with `/`: `manifest --prefix` takes this label
/// back as "keys without `/`", so every prefix label selects its whole group.
pub const ROOT_PREFIX: &str = "(root)";

/// `key_prefix` on one key (see the module table).
pub fn key_prefix(key: &str, depth: usize) -> &str {
    let mut seen = 0;
    for (i, b) in key.bytes().enumerate() {
        if b == b'/' {
            seen += 1;
            if seen == depth {
                return &key[..=i];
            }
        }
    }
    match key.rfind('/') {
        Some(i) => &key[..=i],
        None => ROOT_PREFIX,
    }
}

/// An argument as `Utf8View`, the canonical string type (a `Utf8` literal is cast).
fn strings(arg: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    let array = arg.to_array(rows)?;
    Ok(datafusion::arrow::compute::cast(
        &array,
        &DataType::Utf8View,
    )?)
}

/// `key_prefix` over a column without copying: a prefix longer than a view's 12 inline bytes
/// points into the key's own buffer at the same offset, a shorter one is inlined.
fn prefix_views(keys: &StringViewArray, depths: &Int64Array) -> Result<StringViewArray> {
    let mut views = Vec::with_capacity(keys.len());
    let mut valid = Vec::with_capacity(keys.len());
    for i in 0..keys.len() {
        if keys.is_null(i) || depths.is_null(i) {
            views.push(0u128);
            valid.push(false);
            continue;
        }
        let depth = depths.value(i);
        if depth < 1 {
            return exec_err!("key_prefix: depth must be at least 1, got {depth}");
        }
        let prefix = key_prefix(keys.value(i), depth as usize).as_bytes();
        let view = if prefix.len() <= 12 {
            make_view(prefix, 0, 0)
        } else {
            // Longer than 12 bytes, so `prefix` is the start of the key itself (the only
            // prefix not taken from the key is the 6-byte ROOT_PREFIX), stored out of line.
            let key = ByteView::from(keys.views()[i]);
            make_view(prefix, key.buffer_index, key.offset)
        };
        views.push(view);
        valid.push(true);
    }
    let nulls = NullBuffer::from(valid);
    let nulls = (nulls.null_count() > 0).then_some(nulls);
    Ok(StringViewArray::try_new(
        ScalarBuffer::from(views),
        keys.data_buffers().to_vec(),
        nulls,
    )?)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct KeyPrefix {
    signature: Signature,
}

impl KeyPrefix {
    fn new() -> Self {
        KeyPrefix {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for KeyPrefix {
    fn name(&self) -> &str {
        "key_prefix"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 2 {
            return plan_err!(
                "key_prefix(key, depth) takes 2 arguments, got {}",
                arg_types.len()
            );
        }
        Ok(vec![DataType::Utf8View, DataType::Int64])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8View)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let keys = strings(&args.args[0], rows)?;
        let depths = args.args[1].to_array(rows)?;
        let depths = depths
            .as_any()
            .downcast_ref::<Int64Array>()
            .expect("coerced to Int64");
        let prefixes = prefix_views(keys.as_string_view(), depths)?;
        Ok(ColumnarValue::Array(Arc::new(prefixes)))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct AgeBucket {
    signature: Signature,
    delivery_ms: i64,
}

impl AgeBucket {
    fn new(delivery_ms: i64) -> Self {
        AgeBucket {
            signature: Signature::user_defined(Volatility::Immutable),
            delivery_ms,
        }
    }
}

impl ScalarUDFImpl for AgeBucket {
    fn name(&self) -> &str {
        "age_bucket"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types.len() {
            1 => Ok(vec![timestamp_type()]),
            2 => Ok(vec![timestamp_type(), DataType::Utf8]),
            n => plan_err!(
                "age_bucket(last_modified_date [, 'boundaries']) takes 1 or 2 arguments, got {n}"
            ),
        }
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8View)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let buckets = match args.args.get(1) {
            None => AgeBuckets::default(),
            Some(ColumnarValue::Scalar(ScalarValue::Utf8(Some(spec)))) => {
                AgeBuckets::parse(spec)
                    .map_err(|e| datafusion::error::DataFusionError::Execution(e.to_string()))?
            }
            Some(_) => {
                return exec_err!(
                    "age_bucket: the boundaries must be a constant string like '1h,1d,7d,30d'"
                );
            }
        };
        let times = args.args[0].to_array(rows)?;
        let times = times.as_primitive::<datafusion::arrow::datatypes::TimestampMillisecondType>();
        let mut out = StringViewBuilder::with_capacity(rows);
        for i in 0..rows {
            if times.is_null(i) {
                out.append_null();
            } else {
                out.append_value(buckets.label(self.delivery_ms - times.value(i)));
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DeliveryTime {
    signature: Signature,
    delivery_ms: i64,
}

impl DeliveryTime {
    fn new(delivery_ms: i64) -> Self {
        DeliveryTime {
            signature: Signature::exact(vec![], Volatility::Immutable),
            delivery_ms,
        }
    }
}

impl ScalarUDFImpl for DeliveryTime {
    fn name(&self) -> &str {
        "delivery_time"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Timestamp(
            TimeUnit::Millisecond,
            Some("UTC".into()),
        ))
    }

    fn invoke_with_args(&self, _args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        Ok(ColumnarValue::Scalar(ScalarValue::TimestampMillisecond(
            Some(self.delivery_ms),
            Some("UTC".into()),
        )))
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct BatchKey {
    signature: Signature,
}

impl BatchKey {
    fn new() -> Self {
        BatchKey {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl ScalarUDFImpl for BatchKey {
    fn name(&self) -> &str {
        "batch_key"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 1 {
            return plan_err!("batch_key(key) takes 1 argument, got {}", arg_types.len());
        }
        Ok(vec![DataType::Utf8View])
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8View)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let keys = strings(&args.args[0], rows)?;
        let mut out = StringViewBuilder::with_capacity(rows);
        for k in keys.as_string_view().iter() {
            match k {
                Some(k) => out.append_value(batch_encode(k)),
                None => out.append_null(),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_follow_the_documented_rules() {
        assert_eq!(key_prefix("a/b/c.txt", 2), "a/b/");
        assert_eq!(key_prefix("a/b/c.txt", 1), "a/");
        assert_eq!(key_prefix("a/b.txt", 2), "a/");
        assert_eq!(key_prefix("a/b/", 2), "a/b/");
        assert_eq!(key_prefix("a/b/", 5), "a/b/");
        assert_eq!(key_prefix("x.txt", 1), "(root)");
        assert_eq!(key_prefix("x.txt", 3), "(root)");
        assert_eq!(key_prefix("/lead.txt", 1), "/");
        assert_eq!(key_prefix("/lead/x", 2), "/lead/");
        assert_eq!(key_prefix("日本/ファイル", 1), "日本/");
    }

    #[test]
    fn prefix_views_share_the_key_buffers_and_match_key_prefix() {
        let keys = [
            Some("logs/2026/11/20/part-0001.gz"),
            Some("a/b/c.txt"),
            None,
            Some("no-separator-and-rather-long"),
            Some("a-folder-name-over-twelve-bytes/x/y"),
            Some("日本語のフォルダ/サブ/ファイル"),
        ];
        let array = StringViewArray::from(keys.to_vec());
        for depth in 1..=3 {
            let depths = Int64Array::from(vec![depth; keys.len()]);
            let out = prefix_views(&array, &depths).unwrap();
            assert_eq!(out.data_buffers().len(), array.data_buffers().len());
            for (i, k) in keys.iter().enumerate() {
                match k {
                    None => assert!(out.is_null(i)),
                    Some(k) => assert_eq!(out.value(i), key_prefix(k, depth as usize), "{k}"),
                }
            }
        }
        let zero = Int64Array::from(vec![0; keys.len()]);
        assert!(prefix_views(&array, &zero).is_err());
    }
}
