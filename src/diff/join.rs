//! The comparison's join, done by hand: the destination's versions held in a hash table,
//! the source's streamed through it, every pair classified in Rust. A general SQL join
//! would materialise every joined row (two copies of each key, version id and ETag) and
//! then evaluate a dozen CASE arms over whole batches; here a source row costs one hash,
//! one probe and a few comparisons, and only the rows `--list` or `--emit-manifests` ask
//! for are ever copied.
//!
//! Each version lands in exactly one category: every source row is classified once as it
//! is probed, and every destination row either by the source row that found it (marked in
//! a bitmap) or, after the source is done, as destination-only. A version listed twice is
//! refused where it shows (a second source row finding a marked destination row, or a
//! source row finding a destination version listed twice), as it would otherwise be
//! counted twice.

use std::collections::HashSet;
use std::hash::{BuildHasher, Hasher};
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, BooleanBuilder, Int32Builder, Int64Array, Int64Builder,
    RecordBatch, StringArray, StringBuilder, StringViewArray, TimestampMillisecondBuilder,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::common::hash_utils::RandomState;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryPool, MemoryReservation};
use rayon::prelude::*;

use super::slots::{self, NO_KEY, Slots};
use super::tally::{Entry, Tally};
use super::{Category, Checks, Matching, Plan};
use crate::error::{Error, Result};

/// The seed of the hash that picks a version's bucket when the sides are partitioned.
pub const PARTITION_SEED: u64 = 0x5333_494e_5644_4946;

/// The seed of the hash table's hash: another seed than the buckets', so that the versions
/// of one bucket still spread over the whole table.
const TABLE_SEED: u64 = 0x7461_626c_655f_6469;

/// A destination row's id in the table: its batch's index, then its row ([`ROW_BITS`]).
const ROW_BITS: u32 = 13;

/// The most rows of a held batch (longer ones are sliced).
const BATCH_ROWS: usize = 1 << ROW_BITS;

/// The table's bytes per destination row at most: its slots and the found-bitmap.
pub const TABLE_BYTES_PER_ROW: u64 = slots::BYTES_PER_ROW + 1;

/// Source rows looked up ahead of the one being classified: their slots are fetched
/// [`AHEAD`] × 4 rows ahead, the offsets or views of the destination rows the slots name
/// × 2, those rows' bytes [`AHEAD`] rows ahead.
const AHEAD: usize = 4;

/// Rows gathered before the selected rows are handed on.
const SELECTED_BATCH: usize = 8192;

/// The columns of a side as the comparison reads them (the order of [`Plan::sides`]).
pub fn side_schema(source: bool, rules: bool, dims: usize) -> SchemaRef {
    let utf8 = |name: &str| Field::new(name, DataType::Utf8, true);
    let mut fields = vec![
        utf8("bucket"),
        utf8("key"),
        utf8("version_id"),
        Field::new("size", DataType::Int64, true),
        utf8("e_tag"),
        utf8("enc"),
        Field::new("lm", DataType::Int64, true),
        Field::new("dm", DataType::Boolean, true),
    ];
    if source {
        fields.extend([utf8("status"), utf8("storage_class"), utf8("tier")]);
        if rules {
            fields.extend([
                Field::new("in_scope", DataType::Boolean, true),
                Field::new("dm_rule", DataType::Boolean, true),
            ]);
        }
    }
    fields.extend((0..dims).map(|i| utf8(&format!("d{i}"))));
    Arc::new(Schema::new(fields))
}

/// The side schema of a plan's source or destination.
pub fn plan_side_schema(plan: &Plan, source: bool) -> SchemaRef {
    side_schema(source, plan.rules.is_some(), plan.dimensions.len())
}

/// A string column of a side: Parquet's string views as read (casting them to plain
/// strings would copy every byte), plain strings from CSV, ORC and the partition files.
/// A column the plan left out (all NULL) takes no memory.
#[derive(Debug, Clone)]
pub enum Strings {
    Plain(StringArray),
    View(StringViewArray),
    Null,
}

impl Strings {
    fn from_array(name: &str, array: &ArrayRef) -> Result<Strings> {
        let not_string = || Error::Query(format!("diff: {name} is not a string"));
        if array.logical_null_count() == array.len() {
            return Ok(Strings::Null);
        }
        Ok(match array.data_type() {
            DataType::Utf8 => Strings::Plain(array.as_string_opt().ok_or_else(not_string)?.clone()),
            DataType::Utf8View => {
                Strings::View(array.as_string_view_opt().ok_or_else(not_string)?.clone())
            }
            _ => {
                let plain = cast(array, &DataType::Utf8).map_err(|_| not_string())?;
                Strings::Plain(plain.as_string_opt().ok_or_else(not_string)?.clone())
            }
        })
    }

    #[inline]
    pub fn get(&self, i: usize) -> Option<&str> {
        match self {
            Strings::Plain(a) => a.is_valid(i).then(|| a.value(i)),
            Strings::View(a) => a.is_valid(i).then(|| a.value(i)),
            Strings::Null => None,
        }
    }

    /// The bytes the rows take; a view array's data buffers (which batches read from one
    /// Parquet page or dictionary share) only when not `seen` before.
    fn held_bytes(&self, seen: &mut HashSet<usize>) -> u64 {
        match self {
            Strings::Plain(a) => slice_bytes(a),
            Strings::View(a) => {
                let data: usize = a
                    .data_buffers()
                    .iter()
                    .filter(|b| seen.insert(b.as_ptr() as usize))
                    .map(|b| b.len())
                    .sum();
                slice_bytes(a) + data as u64
            }
            Strings::Null => 0,
        }
    }

    fn slice(&self, offset: usize, len: usize) -> Strings {
        match self {
            Strings::Plain(a) => Strings::Plain(a.slice(offset, len)),
            Strings::View(a) => Strings::View(a.slice(offset, len)),
            Strings::Null => Strings::Null,
        }
    }

    /// Asks for row `i`'s offsets (plain) or view to be brought into the cache.
    #[inline]
    fn prefetch(&self, i: usize) {
        match self {
            Strings::Plain(a) => {
                if let Some(o) = a.value_offsets().get(i) {
                    slots::prefetch_read(o);
                }
            }
            Strings::View(a) => {
                if let Some(v) = a.views().get(i) {
                    slots::prefetch_read(v);
                }
            }
            Strings::Null => {}
        }
    }

    /// Asks for row `i`'s bytes to be brought into the cache (its offsets or view, asked
    /// for by [`Strings::prefetch`] a little earlier, are read).
    #[inline]
    fn prefetch_data(&self, i: usize) {
        match self {
            Strings::Plain(a) => {
                if let Some(&o) = a.value_offsets().get(i)
                    && let Some(b) = a.value_data().get(o as usize)
                {
                    slots::prefetch_read(b);
                }
            }
            Strings::View(a) => {
                // Longer values than 12 bytes live in a data buffer (see ByteView).
                if let Some(&v) = a.views().get(i)
                    && v as u32 > 12
                {
                    let (buffer, offset) = ((v >> 64) as u32 as usize, (v >> 96) as u32 as usize);
                    if let Some(b) = a.data_buffers().get(buffer).and_then(|b| b.get(offset)) {
                        slots::prefetch_read(b);
                    }
                }
            }
            Strings::Null => {}
        }
    }
}

/// The bytes of an array's rows (arrays read from a file share one buffer, which each
/// array's own memory size would count again); a view array's views only.
fn slice_bytes(a: &dyn Array) -> u64 {
    a.to_data()
        .get_slice_memory_size()
        .unwrap_or_else(|_| a.get_array_memory_size()) as u64
}

/// One batch of one side, column by column.
#[derive(Debug, Clone)]
pub struct SideBatch {
    rows: usize,
    bucket: Strings,
    key: Strings,
    version_id: Strings,
    size: Int64Array,
    e_tag: Strings,
    enc: Strings,
    lm: Int64Array,
    dm: BooleanArray,
    /// The raw replication status (source only).
    status: Option<Strings>,
    storage_class: Option<Strings>,
    tier: Option<Strings>,
    /// Whether an enabled rule for the destination matches the key (with `--config`).
    in_scope: Option<BooleanArray>,
    /// Whether the deciding rule replicates delete markers (with `--config`).
    dm_rule: Option<BooleanArray>,
    dims: Vec<Strings>,
}

pub(super) fn str_at(a: &StringArray, i: usize) -> Option<&str> {
    a.is_valid(i).then(|| a.value(i))
}

fn int_at(a: &Int64Array, i: usize) -> Option<i64> {
    a.is_valid(i).then(|| a.value(i))
}

fn flag_at(a: &BooleanArray, i: usize) -> Option<bool> {
    a.is_valid(i).then(|| a.value(i))
}

/// A raw `replication_status` as reports name it (as `Status::label_sql` does).
pub fn status_label(raw: Option<&str>) -> &str {
    match raw {
        None | Some("") => "NONE",
        Some("COMPLETE") => "COMPLETED",
        Some(other) => other,
    }
}

impl SideBatch {
    /// Reads `batch` (a side's rows, in the order of `schema`, any string encoding).
    pub fn new(batch: &RecordBatch, schema: &SchemaRef) -> Result<SideBatch> {
        let col = |name: &str| -> Result<&ArrayRef> {
            batch
                .column_by_name(name)
                .ok_or_else(|| Error::Query(format!("diff: no column {name}")))
        };
        let string = |name: &str| -> Result<Strings> { Strings::from_array(name, col(name)?) };
        // Another type (a NULL the plan left out, a narrower integer) becomes the schema's.
        let typed = |name: &str, to: &DataType| -> Result<ArrayRef> {
            let array = col(name)?;
            if array.data_type() == to {
                Ok(Arc::clone(array))
            } else {
                cast(array, to).map_err(|e| Error::Query(format!("diff: {name}: {e}")))
            }
        };
        let boolean = |name: &str| -> Result<BooleanArray> {
            Ok(typed(name, &DataType::Boolean)?
                .as_boolean_opt()
                .ok_or_else(|| Error::Query(format!("diff: {name} is not boolean")))?
                .clone())
        };
        let int = |name: &str| -> Result<Int64Array> {
            Ok(typed(name, &DataType::Int64)?
                .as_primitive_opt::<Int64Type>()
                .ok_or_else(|| Error::Query(format!("diff: {name} is not Int64")))?
                .clone())
        };
        let has = |name: &str| schema.index_of(name).is_ok();
        let dims = (0..)
            .map(|i| format!("d{i}"))
            .take_while(|d| has(d))
            .map(|d| string(&d))
            .collect::<Result<_>>()?;
        Ok(SideBatch {
            rows: batch.num_rows(),
            bucket: string("bucket")?,
            key: string("key")?,
            version_id: string("version_id")?,
            size: int("size")?,
            e_tag: string("e_tag")?,
            enc: string("enc")?,
            lm: int("lm")?,
            dm: boolean("dm")?,
            status: has("status").then(|| string("status")).transpose()?,
            storage_class: has("storage_class")
                .then(|| string("storage_class"))
                .transpose()?,
            tier: has("tier").then(|| string("tier")).transpose()?,
            in_scope: has("in_scope").then(|| boolean("in_scope")).transpose()?,
            dm_rule: has("dm_rule").then(|| boolean("dm_rule")).transpose()?,
            dims,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The bytes the batch holds, with its share of a destination table; string data
    /// `seen` in an earlier batch is not counted again.
    pub fn held_bytes(&self, seen: &mut HashSet<usize>) -> u64 {
        let mut strings = vec![
            &self.bucket,
            &self.key,
            &self.version_id,
            &self.e_tag,
            &self.enc,
        ];
        strings.extend(
            [&self.status, &self.storage_class, &self.tier]
                .into_iter()
                .flatten(),
        );
        strings.extend(&self.dims);
        let mut others: Vec<&dyn Array> = vec![&self.size, &self.lm, &self.dm];
        for a in [&self.in_scope, &self.dm_rule].into_iter().flatten() {
            others.push(a);
        }
        let strings: u64 = strings.iter().map(|s| s.held_bytes(seen)).sum();
        let others: u64 = others.iter().map(|a| slice_bytes(*a)).sum();
        strings + others + self.rows as u64 * TABLE_BYTES_PER_ROW
    }

    /// Rows `offset..offset + len`.
    fn slice(&self, offset: usize, len: usize) -> SideBatch {
        let strings = |s: &Option<Strings>| s.as_ref().map(|s| s.slice(offset, len));
        SideBatch {
            rows: len,
            bucket: self.bucket.slice(offset, len),
            key: self.key.slice(offset, len),
            version_id: self.version_id.slice(offset, len),
            size: self.size.slice(offset, len),
            e_tag: self.e_tag.slice(offset, len),
            enc: self.enc.slice(offset, len),
            lm: self.lm.slice(offset, len),
            dm: self.dm.slice(offset, len),
            status: strings(&self.status),
            storage_class: strings(&self.storage_class),
            tier: strings(&self.tier),
            in_scope: self.in_scope.as_ref().map(|a| a.slice(offset, len)),
            dm_rule: self.dm_rule.as_ref().map(|a| a.slice(offset, len)),
            dims: self.dims.iter().map(|d| d.slice(offset, len)).collect(),
        }
    }

    #[inline]
    fn key(&self, i: usize) -> Option<&str> {
        self.key.get(i)
    }

    /// The version id as versions are matched: empty or absent is the `null` version.
    #[inline]
    fn version(&self, i: usize) -> &str {
        match self.version_id.get(i) {
            Some(v) if !v.is_empty() => v,
            _ => "null",
        }
    }

    fn size(&self, i: usize) -> Option<i64> {
        int_at(&self.size, i)
    }

    fn bytes(&self, i: usize) -> u64 {
        self.size(i).map_or(0, |s| s.max(0) as u64)
    }

    fn dm(&self, i: usize) -> bool {
        flag_at(&self.dm, i).unwrap_or(false)
    }

    fn status(&self, i: usize) -> &str {
        status_label(self.status.as_ref().and_then(|s| s.get(i)))
    }

    /// The hash of row `i`'s join key (`None` for a row without a key: it matches nothing).
    pub fn hash(&self, i: usize, matching: Matching, state: &RandomState) -> Option<u64> {
        let key = self.key(i)?;
        let version = (matching == Matching::KeyAndVersion).then(|| self.version(i));
        Some(version_hash(state, key, version))
    }

    /// Row `i`'s hash as the destination table files it ([`NO_KEY`] without a key).
    #[inline]
    fn table_hash(&self, i: usize, matching: Matching, state: &RandomState) -> u64 {
        self.hash(i, matching, state)
            .map_or(NO_KEY, slots::file_hash)
    }
}

/// The hash of a key, and of the version id when versions are matched.
fn version_hash(state: &RandomState, key: &str, version: Option<&str>) -> u64 {
    let mut h = state.build_hasher();
    h.write(key.as_bytes());
    if let Some(v) = version {
        // 0xff is no UTF-8 byte: ("ab", "c") and ("a", "bc") hash apart.
        h.write_u8(0xff);
        h.write(v.as_bytes());
    }
    h.finish()
}

/// The hash that partitions the sides.
pub fn partition_hasher() -> RandomState {
    RandomState::with_seed(PARTITION_SEED)
}

/// The destination's versions, findable by (key, version id) or key.
pub struct DestTable {
    /// At most [`BATCH_ROWS`] rows each.
    batches: Vec<SideBatch>,
    /// Their bytes, in the session's memory pool while the table lives.
    _reservation: MemoryReservation,
    /// Row ids: batch index << [`ROW_BITS`] | row.
    slots: Slots,
    /// Per batch, the rows a source version found.
    found: Vec<Box<[AtomicU64]>>,
    matching: Matching,
    state: RandomState,
}

fn unpack(id: u32) -> (usize, usize) {
    (
        (id >> ROW_BITS) as usize,
        (id & (BATCH_ROWS as u32 - 1)) as usize,
    )
}

impl DestTable {
    /// Indexes `batches` (held under `reservation`: see [`Holding`]), on every core.
    pub fn build(
        batches: Vec<SideBatch>,
        matching: Matching,
        reservation: MemoryReservation,
    ) -> Result<DestTable> {
        // Row ids have room for BATCH_ROWS rows per batch.
        let batches: Vec<SideBatch> = batches
            .into_iter()
            .flat_map(|b| {
                (0..b.rows)
                    .step_by(BATCH_ROWS)
                    .map(|at| b.slice(at, BATCH_ROWS.min(b.rows - at)))
                    .collect::<Vec<_>>()
            })
            .collect();
        if (batches.len() as u64) << ROW_BITS > slots::MAX_ROWS {
            return Err(Error::Query(format!(
                "diff: {} destination batches are more than one table holds; give a lower --memory-limit so that the comparison is partitioned",
                batches.len()
            )));
        }
        let state = RandomState::with_seed(TABLE_SEED);
        let versioned = matching == Matching::KeyAndVersion;
        let hashes: Vec<Vec<u64>> = batches
            .par_iter()
            .map(|b| {
                (0..b.rows)
                    .map(|r| b.table_hash(r, matching, &state))
                    .collect()
            })
            .collect();
        let same = |a: u32, b: u32| {
            let ((ab, ar), (bb, br)) = (unpack(a), unpack(b));
            let (x, y) = (&batches[ab], &batches[bb]);
            x.key(ar) == y.key(br) && (!versioned || x.version(ar) == y.version(br))
        };
        let slots = Slots::build(&hashes, |c| (c as u32) << ROW_BITS, same);
        let found = batches
            .iter()
            .map(|b| {
                (0..b.rows.div_ceil(64))
                    .map(|_| AtomicU64::new(0))
                    .collect()
            })
            .collect();
        Ok(DestTable {
            batches,
            _reservation: reservation,
            slots,
            found,
            matching,
            state,
        })
    }

    pub fn rows(&self) -> u64 {
        self.batches.iter().map(|b| b.rows as u64).sum()
    }

    pub fn batch_count(&self) -> usize {
        self.batches.len()
    }

    /// The destination row equal to source row `i` of `s`, whose table hash is `hash`.
    #[inline]
    fn find(&self, hash: u64, s: &SideBatch, i: usize) -> Option<slots::Hit> {
        if hash == NO_KEY {
            return None;
        }
        let key = s.key(i);
        let versioned = self.matching == Matching::KeyAndVersion;
        self.slots.find(hash, |id| {
            let (b, r) = unpack(id);
            let d = &self.batches[b];
            d.key(r) == key && (!versioned || d.version(r) == s.version(i))
        })
    }

    /// Brings into the cache what looking up `hash` will read, in three stages a few
    /// rows apart (each reads what the one before brought): the slot, the offsets or
    /// views of the row the slot names, and that row's bytes.
    #[inline]
    fn prefetch(&self, hash: u64, stage: u8) {
        if hash == NO_KEY {
            return;
        }
        if stage == 0 {
            self.slots.prefetch(hash);
        } else if let Some(id) = self.slots.peek(hash) {
            let (b, r) = unpack(id);
            let d = &self.batches[b];
            let versioned = self.matching == Matching::KeyAndVersion;
            if stage == 1 {
                d.key.prefetch(r);
                if versioned {
                    d.version_id.prefetch(r);
                }
            } else {
                d.key.prefetch_data(r);
                if versioned {
                    d.version_id.prefetch_data(r);
                }
            }
        }
    }

    /// Marks a destination row found; true when it was found before.
    fn mark(&self, b: usize, r: usize) -> bool {
        let bit = 1u64 << (r % 64);
        self.found[b][r / 64].fetch_or(bit, Ordering::Relaxed) & bit != 0
    }

    fn was_found(&self, b: usize, r: usize) -> bool {
        self.found[b][r / 64].load(Ordering::Relaxed) & (1u64 << (r % 64)) != 0
    }
}

/// Destination batches being gathered for a table, their bytes reserved in the session's
/// memory pool (so that `--memory-limit` bounds them as it bounds DataFusion's operators).
pub struct Holding {
    batches: Vec<SideBatch>,
    reservation: MemoryReservation,
    bytes: u64,
    /// The string data buffers counted so far.
    seen: HashSet<usize>,
}

impl Holding {
    pub fn new(pool: &Arc<dyn MemoryPool>) -> Holding {
        Holding {
            batches: Vec::new(),
            reservation: MemoryConsumer::new("diff destination table").register(pool),
            bytes: 0,
            seen: HashSet::new(),
        }
    }

    /// Holds one more batch; an error when the holding would pass `budget` or the memory
    /// pool cannot give its bytes.
    pub fn push(&mut self, batch: SideBatch, budget: u64) -> Result<()> {
        let bytes = batch.held_bytes(&mut self.seen);
        if self.bytes + bytes > budget {
            return Err(Error::Query(format!(
                "diff: the destination's rows outgrow {budget} bytes"
            )));
        }
        self.reservation.try_grow(bytes as usize)?;
        self.bytes += bytes;
        self.batches.push(batch);
        Ok(())
    }

    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    pub fn into_table(self, matching: Matching) -> Result<DestTable> {
        DestTable::build(self.batches, matching, self.reservation)
    }
}

/// The category rules of one destination ([`Category`]'s meanings, in the order they
/// decide).
#[derive(Debug, Clone)]
pub struct Classifier {
    matching: Matching,
    checks: Checks,
    source_in_flight_ms: i64,
    destination_in_flight_ms: i64,
    destination_dated: bool,
}

impl Classifier {
    pub fn new(plan: &Plan) -> Classifier {
        Classifier {
            matching: plan.matching,
            checks: plan.checks(),
            source_in_flight_ms: plan.source_in_flight_ms,
            destination_in_flight_ms: plan.destination_in_flight_ms,
            destination_dated: plan.destination.has("last_modified_date"),
        }
    }

    /// A source version, and the destination version it found. Also says whether the
    /// ETags differ but could not be judged (encrypted differently or with a KMS / customer
    /// key), for a version that is otherwise judged present.
    fn source(&self, s: &SideBatch, i: usize, d: Option<(&SideBatch, usize)>) -> (Category, bool) {
        // In key matching, a current delete marker at the destination is no object.
        let (present, dm_present) = match self.matching {
            Matching::KeyAndVersion => (d.is_some(), d.is_some()),
            Matching::Key => (
                d.is_some_and(|(d, j)| !d.dm(j)),
                d.is_none_or(|(d, j)| d.dm(j)),
            ),
        };
        if s.in_scope.as_ref().and_then(|a| flag_at(a, i)) == Some(false) {
            return (Category::OutOfScope, false);
        }
        if self.checks.in_flight && s.lm.is_valid(i) && s.lm.value(i) >= self.source_in_flight_ms {
            return (Category::InFlight, false);
        }
        if s.dm(i) {
            let category = if dm_present {
                Category::DeleteMarkerReplicated
            } else if s.dm_rule.as_ref().and_then(|a| flag_at(a, i)) == Some(true) {
                Category::DeleteMarkerMissing
            } else {
                Category::DeleteMarkerNotReplicated
            };
            return (category, false);
        }
        let status = s.status(i);
        if status == "REPLICA" {
            return (Category::ReplicaAtSource, false);
        }
        let Some((d, j)) = d.filter(|_| present) else {
            let category = if status == "COMPLETED" {
                Category::MissingAtDestination
            } else {
                Category::NotYetReplicated
            };
            return (category, false);
        };
        if self.checks.size && s.size(i) != d.size(j) {
            return (Category::Mismatch, false);
        }
        let mut etag_skipped = false;
        if self.checks.e_tag && s.e_tag.get(i) != d.e_tag.get(j) {
            let source_enc = s.enc.get(i);
            let comparable = !self.checks.encryption
                || (source_enc == d.enc.get(j)
                    && matches!(source_enc.unwrap_or("NOT-SSE"), "NOT-SSE" | "SSE-S3"));
            if comparable {
                return (Category::Mismatch, false);
            }
            etag_skipped = true;
        }
        let category = if status == "COMPLETED" {
            Category::Replicated
        } else {
            Category::PresentDespiteStatus
        };
        (category, etag_skipped)
    }

    /// A destination version no source version found.
    fn destination_only(&self, d: &SideBatch, j: usize) -> Category {
        let late = self.destination_dated
            && d.lm.is_valid(j)
            && d.lm.value(j) >= self.destination_in_flight_ms;
        if late {
            Category::InFlight
        } else {
            Category::OnlyAtDestination
        }
    }
}

/// The columns of the rows handed on for `--list` and `--emit-manifests`: the category
/// code, the columns the list writes ([`super::list_schema`] after its destination and
/// category), and what a re-drive manifest needs besides.
pub fn selected_schema() -> SchemaRef {
    let list = super::list_schema();
    let mut fields = vec![Field::new("cat", DataType::Int32, false)];
    fields.extend(list.fields().iter().skip(2).map(|f| f.as_ref().clone()));
    fields.extend([
        Field::new("storage_class", DataType::Utf8, true),
        Field::new("tier", DataType::Utf8, true),
    ]);
    Arc::new(Schema::new(fields))
}

/// The selected rows being gathered.
struct Selected {
    cat: Int32Builder,
    bucket: StringBuilder,
    key: StringBuilder,
    version_id: StringBuilder,
    dm: BooleanBuilder,
    size: Int64Builder,
    last_modified: TimestampMillisecondBuilder,
    e_tag: StringBuilder,
    status: StringBuilder,
    destination_size: Int64Builder,
    destination_e_tag: StringBuilder,
    storage_class: StringBuilder,
    tier: StringBuilder,
    rows: usize,
}

impl Selected {
    fn new() -> Selected {
        Selected {
            cat: Int32Builder::new(),
            bucket: StringBuilder::new(),
            key: StringBuilder::new(),
            version_id: StringBuilder::new(),
            dm: BooleanBuilder::new(),
            size: Int64Builder::new(),
            last_modified: TimestampMillisecondBuilder::new().with_timezone("UTC"),
            e_tag: StringBuilder::new(),
            status: StringBuilder::new(),
            destination_size: Int64Builder::new(),
            destination_e_tag: StringBuilder::new(),
            storage_class: StringBuilder::new(),
            tier: StringBuilder::new(),
            rows: 0,
        }
    }

    /// Row `i` of `side` (a source row, with the destination version it found, or a
    /// destination-only row).
    fn push(
        &mut self,
        category: Category,
        side: &SideBatch,
        i: usize,
        found: Option<(&SideBatch, usize)>,
    ) {
        self.cat.append_value(category.code());
        self.bucket.append_option(side.bucket.get(i));
        self.key.append_option(side.key(i));
        self.version_id.append_option(side.version_id.get(i));
        self.dm.append_value(side.dm(i));
        self.size.append_option(side.size(i));
        self.last_modified.append_option(int_at(&side.lm, i));
        self.e_tag.append_option(side.e_tag.get(i));
        self.status
            .append_option(side.status.as_ref().map(|_| side.status(i)));
        self.destination_size
            .append_option(found.and_then(|(d, j)| d.size(j)));
        self.destination_e_tag
            .append_option(found.and_then(|(d, j)| d.e_tag.get(j)));
        self.storage_class
            .append_option(side.storage_class.as_ref().and_then(|a| a.get(i)));
        self.tier
            .append_option(side.tier.as_ref().and_then(|a| a.get(i)));
        self.rows += 1;
    }

    fn finish(&mut self) -> Result<RecordBatch> {
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.cat.finish()),
            Arc::new(self.bucket.finish()),
            Arc::new(self.key.finish()),
            Arc::new(self.version_id.finish()),
            Arc::new(self.dm.finish()),
            Arc::new(self.size.finish()),
            Arc::new(self.last_modified.finish()),
            Arc::new(self.e_tag.finish()),
            Arc::new(self.status.finish()),
            Arc::new(self.destination_size.finish()),
            Arc::new(self.destination_e_tag.finish()),
            Arc::new(self.storage_class.finish()),
            Arc::new(self.tier.finish()),
        ];
        self.rows = 0;
        RecordBatch::try_new(selected_schema(), columns)
            .map_err(|e| Error::Query(format!("diff: {e}")))
    }
}

/// One share of a comparison: classifies the source rows it is given against a
/// destination table, then (when told) the destination rows no source row found. Keeps its
/// own tally; the rows `select`ed are gathered for the caller to hand on.
pub struct Worker {
    classifier: Arc<Classifier>,
    pub tally: Tally,
    select: [bool; Category::ALL.len()],
    selected: Option<Selected>,
    ready: Vec<RecordBatch>,
    /// The destination's name, for errors.
    destination: Arc<str>,
    /// The table hashes of the batch being probed (kept for the next batch).
    hashes: Vec<u64>,
}

impl Worker {
    pub fn new(
        classifier: Arc<Classifier>,
        examples: usize,
        select: [bool; Category::ALL.len()],
        destination: Arc<str>,
    ) -> Worker {
        Worker {
            classifier,
            tally: Tally::new(examples),
            selected: select.iter().any(|s| *s).then(Selected::new),
            select,
            ready: Vec::new(),
            destination,
            hashes: Vec::new(),
        }
    }

    /// Classifies the rows of a source batch.
    pub fn probe(&mut self, table: &DestTable, s: &SideBatch) -> Result<()> {
        let versioned = table.matching == Matching::KeyAndVersion;
        let mut hashes = std::mem::take(&mut self.hashes);
        hashes.clear();
        hashes.extend((0..s.rows).map(|i| s.table_hash(i, table.matching, &table.state)));
        let mut dims: Vec<&str> = Vec::with_capacity(s.dims.len());
        for i in 0..s.rows {
            // Lookups wait on memory: ask for the slots, then the rows they name, ahead.
            for (stage, ahead) in [(0, 4 * AHEAD), (1, 2 * AHEAD), (2, AHEAD)] {
                if let Some(&h) = hashes.get(i + ahead) {
                    table.prefetch(h, stage);
                }
            }
            let key = s.key(i);
            let mut found = None;
            if let Some(hit) = table.find(hashes[i], s, i) {
                let version = versioned.then(|| s.version(i));
                let key = key.unwrap_or_default();
                if hit.duplicate {
                    return Err(self.listed_twice("destination", key, version));
                }
                let (b, r) = unpack(hit.id);
                if table.mark(b, r) {
                    return Err(self.listed_twice("source", key, version));
                }
                found = Some((&table.batches[b], r));
            }
            let (category, etag_skipped) = self.classifier.source(s, i, found);
            dims.clear();
            dims.extend(s.dims.iter().map(|d| d.get(i).unwrap_or("")));
            self.tally.add(
                &Entry {
                    category,
                    size: s.bytes(i),
                    from_source: true,
                    at_destination: found.is_some(),
                    etag_skipped,
                    key: key.unwrap_or(""),
                    version: s.version_id.get(i),
                },
                &dims,
            );
            self.maybe_select(category, s, i, found)?;
        }
        self.hashes = hashes;
        Ok(())
    }

    /// Classifies the destination rows of `batches` that no source row found: to be
    /// called once every source row has been probed.
    pub fn unmatched(&mut self, table: &DestTable, batches: Range<usize>) -> Result<()> {
        for b in batches {
            let d = &table.batches[b];
            let mut dims: Vec<&str> = Vec::with_capacity(d.dims.len());
            for j in 0..d.rows {
                if table.was_found(b, j) {
                    continue;
                }
                let category = self.classifier.destination_only(d, j);
                dims.clear();
                dims.extend(d.dims.iter().map(|c| c.get(j).unwrap_or("")));
                self.tally.add(
                    &Entry {
                        category,
                        size: d.bytes(j),
                        from_source: false,
                        at_destination: true,
                        etag_skipped: false,
                        key: d.key(j).unwrap_or(""),
                        version: d.version_id.get(j),
                    },
                    &dims,
                );
                self.maybe_select(category, d, j, None)?;
            }
        }
        Ok(())
    }

    fn maybe_select(
        &mut self,
        category: Category,
        side: &SideBatch,
        i: usize,
        found: Option<(&SideBatch, usize)>,
    ) -> Result<()> {
        if !self.select[category.code() as usize] {
            return Ok(());
        }
        if let Some(selected) = self.selected.as_mut() {
            selected.push(category, side, i, found);
            if selected.rows >= SELECTED_BATCH {
                let batch = selected.finish()?;
                self.ready.push(batch);
            }
        }
        Ok(())
    }

    /// The selected rows gathered so far (all of them with `flush`).
    pub fn take_ready(&mut self, flush: bool) -> Result<Vec<RecordBatch>> {
        if flush
            && let Some(selected) = self.selected.as_mut()
            && selected.rows > 0
        {
            let batch = selected.finish()?;
            self.ready.push(batch);
        }
        Ok(std::mem::take(&mut self.ready))
    }

    fn listed_twice(&self, side: &str, key: &str, version: Option<&str>) -> Error {
        let version = version.map_or(String::new(), |v| format!(", version {v}"));
        Error::Query(format!(
            "the comparison with {}: the {side} inventory lists the same object version more than once ({key:?}{version} on two rows), so the categories would not add up; no answer is given",
            self.destination
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (key, version id, size, e_tag, delete marker, status) rows as a side batch.
    type Row<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        i64,
        &'a str,
        bool,
        Option<&'a str>,
    );

    fn side(rows: &[Row], source: bool) -> SideBatch {
        let schema = side_schema(source, false, 0);
        let strings = |f: &dyn Fn(&Row) -> Option<String>| -> ArrayRef {
            Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
        };
        let mut columns: Vec<ArrayRef> = vec![
            strings(&|_| Some("b".into())),
            strings(&|r| r.0.map(String::from)),
            strings(&|r| r.1.map(String::from)),
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.2).collect::<Vec<_>>(),
            )),
            strings(&|r| Some(r.3.into())),
            strings(&|_| Some("SSE-S3".into())),
            Arc::new(Int64Array::from(vec![0; rows.len()])),
            Arc::new(BooleanArray::from(
                rows.iter().map(|r| r.4).collect::<Vec<_>>(),
            )),
        ];
        if source {
            columns.push(strings(&|r| r.5.map(String::from)));
            columns.push(strings(&|_| None));
            columns.push(strings(&|_| None));
        }
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns).unwrap();
        SideBatch::new(&batch, &schema).unwrap()
    }

    /// The same side with its strings as Parquet reads them (views).
    fn as_views(side_batch: &SideBatch) -> SideBatch {
        let view = |s: &Strings| match s {
            Strings::Plain(a) => Strings::View(
                cast(a, &DataType::Utf8View)
                    .unwrap()
                    .as_string_view()
                    .clone(),
            ),
            other => other.clone(),
        };
        let mut out = side_batch.clone();
        out.key = view(&out.key);
        out.version_id = view(&out.version_id);
        out.e_tag = view(&out.e_tag);
        out.enc = view(&out.enc);
        out.status = out.status.as_ref().map(view);
        out
    }

    #[test]
    fn views_and_batches_longer_than_a_table_batch_are_matched_alike() {
        let c = Some("COMPLETED");
        // Keys short enough to sit inside a view and long enough not to; more rows than
        // one table batch holds, so row ids cross batches.
        let keys: Vec<String> = (0..20_000)
            .map(|i| {
                if i % 2 == 0 {
                    format!("k{i}")
                } else {
                    format!("a/long/prefix/{i}")
                }
            })
            .collect();
        let rows = |n: usize| -> Vec<Row> {
            keys[..n]
                .iter()
                .map(|k| (Some(k.as_str()), Some("v1"), 5, "e", false, c))
                .collect()
        };
        let pool: Arc<dyn MemoryPool> =
            Arc::new(datafusion::execution::memory_pool::UnboundedMemoryPool::default());
        for views in [false, true] {
            let destination = side(&rows(19_000), false);
            let source = side(&rows(20_000), true);
            let (destination, source) = if views {
                (as_views(&destination), as_views(&source))
            } else {
                (destination, source)
            };
            let mut holding = Holding::new(&pool);
            holding.push(destination, u64::MAX).unwrap();
            let table = holding.into_table(Matching::KeyAndVersion).unwrap();
            assert_eq!(table.batch_count(), 3, "19,000 rows in batches of 8192");
            let mut w = Worker::new(
                classifier(Matching::KeyAndVersion),
                0,
                [false; Category::ALL.len()],
                Arc::from("dr"),
            );
            w.probe(&table, &source).unwrap();
            w.unmatched(&table, 0..table.batch_count()).unwrap();
            assert_eq!(
                objects(&w.tally),
                vec![
                    (Category::Replicated, 19_000),
                    (Category::MissingAtDestination, 1_000)
                ],
                "views: {views}"
            );
        }
    }

    #[test]
    fn view_data_shared_by_batches_is_counted_once() {
        let long = "a/key/longer/than/twelve/bytes";
        let rows: Vec<Row> = (0..100)
            .map(|_| (Some(long), Some("v1"), 5, "e", false, None))
            .collect();
        let whole = as_views(&side(&rows, false));
        let (first, second) = (whole.slice(0, 50), whole.slice(50, 50));
        let mut seen = HashSet::new();
        let a = first.held_bytes(&mut seen);
        let b = second.held_bytes(&mut seen);
        let mut fresh = HashSet::new();
        assert!(
            b < second.held_bytes(&mut fresh),
            "the second slice shares the first's data buffer"
        );
        assert!(a >= 100 * long.len() as u64, "{a}: the data is counted");
    }

    fn classifier(matching: Matching) -> Arc<Classifier> {
        Arc::new(Classifier {
            matching,
            checks: Checks {
                size: true,
                e_tag: true,
                encryption: true,
                in_flight: true,
            },
            source_in_flight_ms: i64::MAX,
            destination_in_flight_ms: i64::MAX,
            destination_dated: true,
        })
    }

    fn run(matching: Matching, source: &[Row], destination: &[Row]) -> Result<Tally> {
        let pool: Arc<dyn MemoryPool> =
            Arc::new(datafusion::execution::memory_pool::UnboundedMemoryPool::default());
        let mut holding = Holding::new(&pool);
        holding.push(side(destination, false), u64::MAX)?;
        let table = holding.into_table(matching)?;
        let mut w = Worker::new(
            classifier(matching),
            0,
            [false; Category::ALL.len()],
            Arc::from("dr"),
        );
        w.probe(&table, &side(source, true))?;
        w.unmatched(&table, 0..table.batch_count())?;
        Ok(w.tally)
    }

    fn objects(t: &Tally) -> Vec<(Category, u64)> {
        t.categories()
            .into_iter()
            .map(|(c, n)| (c, n.objects))
            .collect()
    }

    #[test]
    fn every_version_lands_once_by_key_and_version() {
        let c = Some("COMPLETED");
        let source = [
            (Some("a"), Some("1"), 5, "e", false, c),
            (Some("a"), Some("2"), 5, "e", false, c),
            (Some("b"), None, 5, "e", false, Some("PENDING")),
            (Some("c"), Some("1"), 5, "e", false, c),
            (Some("d"), Some("1"), 0, "", true, None),
            (None, Some("1"), 5, "e", false, c),
        ];
        let destination = [
            (Some("a"), Some("1"), 5, "e", false, None),
            (Some("a"), Some("2"), 6, "e", false, None),
            // Absent and empty version ids are the same null version.
            (Some("b"), Some(""), 5, "e", false, None),
            (Some("c"), Some("2"), 5, "e", false, None),
            (None, Some("1"), 5, "e", false, None),
        ];
        let t = run(Matching::KeyAndVersion, &source, &destination).unwrap();
        assert_eq!(
            objects(&t),
            vec![
                (Category::Replicated, 1),
                (Category::MissingAtDestination, 2),
                (Category::Mismatch, 1),
                (Category::PresentDespiteStatus, 1),
                (Category::OnlyAtDestination, 2),
                (Category::DeleteMarkerNotReplicated, 1),
            ]
        );
        assert_eq!(t.source_rows.objects, 6);
        assert_eq!(t.destination_rows, 5);
    }

    #[test]
    fn a_current_delete_marker_at_the_destination_is_no_object_by_key() {
        let c = Some("COMPLETED");
        let source = [
            (Some("a"), None, 5, "e", false, c),
            (Some("gone"), None, 0, "", true, None),
        ];
        let destination = [(Some("a"), None, 0, "", true, None)];
        let t = run(Matching::Key, &source, &destination).unwrap();
        assert_eq!(
            objects(&t),
            vec![
                (Category::MissingAtDestination, 1),
                (Category::DeleteMarkerReplicated, 1),
            ]
        );
        assert_eq!(t.destination_rows, 1);
    }

    #[test]
    fn a_version_listed_twice_on_either_side_is_refused_when_matched() {
        let c = Some("COMPLETED");
        let one = [(Some("a"), Some("1"), 5, "e", false, c)];
        let twice = [
            (Some("a"), Some("1"), 5, "e", false, c),
            (Some("a"), Some("1"), 5, "e", false, c),
        ];
        let err = run(Matching::KeyAndVersion, &one, &twice).unwrap_err();
        assert!(err.to_string().contains("destination inventory lists the same object version more than once (\"a\", version 1"), "{err}");
        let err = run(Matching::KeyAndVersion, &twice, &one).unwrap_err();
        assert!(err.to_string().contains("source inventory lists"), "{err}");
        // Unmatched, each row is a version of its own side, as a join would count it.
        let other = [(Some("b"), Some("1"), 5, "e", false, c)];
        let t = run(Matching::KeyAndVersion, &other, &twice).unwrap();
        assert_eq!(
            objects(&t),
            vec![
                (Category::MissingAtDestination, 1),
                (Category::OnlyAtDestination, 2)
            ]
        );
    }
}
