//! The three shapes of a summary: the long form for scripts (one row per dimension values
//! and status), the JSON document (versioned), and the pivoted text table for people.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, StringArray, UInt64Array};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use serde_json::{Value, json};

use super::numbers::{human_bytes, thousands};
use crate::analytics::summary::{
    Counts, DELETE_MARKERS, STATUSES, StatusCounts, Summary, stuck_sentence,
};
use crate::error::{Error, Result};
use crate::manifest::Delivery;

/// Version of the JSON document; bumped only on incompatible changes.
pub const JSON_VERSION: u32 = 1;

/// Long form: `<dimensions…>, status, objects, bytes`. Without dimensions, one row per
/// status (all five, zeros included). Delete markers (all-versions scope) have their own
/// row, status `DELETE_MARKER`.
pub fn long_form(summary: &Summary) -> Result<RecordBatch> {
    let names = summary.dimension_names();
    let mut fields: Vec<Field> = names
        .iter()
        .map(|n| Field::new(n, DataType::Utf8, false))
        .collect();
    fields.push(Field::new("status", DataType::Utf8, false));
    fields.push(Field::new("objects", DataType::UInt64, false));
    fields.push(Field::new("bytes", DataType::UInt64, false));
    let schema = Arc::new(Schema::new(fields));
    let mut dims: Vec<Vec<String>> = vec![Vec::new(); names.len()];
    let (mut status, mut objects, mut bytes) = (Vec::new(), Vec::new(), Vec::new());
    if names.is_empty() {
        for (s, c) in summary.totals.all() {
            status.push(s);
            objects.push(c.objects);
            bytes.push(c.bytes);
        }
        if summary.all_versions {
            let c = summary.totals.delete_markers();
            status.push(DELETE_MARKERS.to_string());
            objects.push(c.objects);
            bytes.push(c.bytes);
        }
    } else {
        for g in &summary.groups {
            let markers = g.statuses.delete_markers();
            let markers = (markers.objects > 0).then_some((DELETE_MARKERS, markers));
            for (s, c) in g.statuses.iter().chain(markers) {
                for (d, v) in dims.iter_mut().zip(&g.values) {
                    d.push(v.clone());
                }
                status.push(s.to_string());
                objects.push(c.objects);
                bytes.push(c.bytes);
            }
        }
    }
    let mut columns: Vec<ArrayRef> = dims
        .into_iter()
        .map(|d| Arc::new(StringArray::from(d)) as ArrayRef)
        .collect();
    columns.push(Arc::new(StringArray::from(status)));
    columns.push(Arc::new(UInt64Array::from(objects)));
    columns.push(Arc::new(UInt64Array::from(bytes)));
    RecordBatch::try_new(schema, columns).map_err(|e| Error::Query(e.to_string()))
}

fn iso(ms: i64) -> Value {
    crate::format::timestamp::format_millis(ms)
        .map(Value::String)
        .unwrap_or(Value::Null)
}

fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 1e6).round() / 1e4
    }
}

fn counts(c: Counts) -> Value {
    json!({ "objects": c.objects, "bytes": c.bytes })
}

/// The delivery a report was made from, as JSON.
pub fn delivery_json(d: &Delivery) -> Value {
    json!({
        "manifest": d.manifest_display,
        "name": d.name,
        "created": iso(d.manifest.creation_timestamp_ms),
        "format": d.manifest.file_format.as_str(),
        "source_bucket": d.manifest.source_bucket,
        "destination_bucket": d.manifest.destination_bucket,
        "files": d.files.len(),
        "bytes": d.manifest.total_bytes(),
        "checksum": d.checksum,
    })
}

/// The JSON document (see README, "summary JSON").
pub fn json_document(
    summary: &Summary,
    delivery: &Delivery,
    rank: &str,
    top: Option<usize>,
    min_share: Option<f64>,
) -> Value {
    let total = summary.totals.total();
    let statuses: serde_json::Map<String, Value> = summary
        .totals
        .all()
        .into_iter()
        .map(|(s, c)| {
            (
                s,
                json!({
                    "objects": c.objects,
                    "bytes": c.bytes,
                    "object_share": share(c.objects, total.objects),
                    "byte_share": share(c.bytes, total.bytes),
                }),
            )
        })
        .collect();
    let names = summary.dimension_names();
    let groups: Vec<Value> = summary
        .groups
        .iter()
        .map(|g| {
            let values: serde_json::Map<String, Value> = names
                .iter()
                .zip(&g.values)
                .map(|(n, v)| (n.clone(), Value::String(v.clone())))
                .collect();
            let t = g.statuses.total();
            let per: serde_json::Map<String, Value> = g
                .statuses
                .iter()
                .map(|(s, c)| (s.to_string(), counts(c)))
                .collect();
            json!({
                "values": values,
                "objects": t.objects,
                "bytes": t.bytes,
                "unreplicated": counts(g.statuses.unreplicated()),
                "delete_markers": counts(g.statuses.delete_markers()),
                "folded_groups": g.folded,
                "statuses": per,
            })
        })
        .collect();
    let p = &summary.pending;
    json!({
        "s3inv_summary_version": JSON_VERSION,
        "delivery": delivery_json(delivery),
        "scope": if summary.all_versions { "all_versions" } else { "current" },
        "dimensions": names,
        "rank": rank,
        "top": top,
        "min_share": min_share,
        "totals": {
            "objects": total.objects,
            "bytes": total.bytes,
            "unreplicated": counts(summary.totals.unreplicated()),
            "delete_markers": counts(summary.totals.delete_markers()),
            "statuses": statuses,
        },
        "pending": {
            "older_than": p.threshold_label,
            "recent": counts(p.recent),
            "stuck": {
                "objects": p.stuck.objects,
                "bytes": p.stuck.bytes,
                "oldest_last_modified": p.oldest_stuck_ms.map(iso).unwrap_or(Value::Null),
            },
        },
        "groups": groups,
        // What changes the meaning of the numbers (a newer incomplete delivery skipped).
        "notes": delivery.notes,
    })
}

fn pct(part: u64, whole: u64) -> String {
    format!("{:.1}%", share(part, whole))
}

fn text_table(headers: &[String], rows: &[Vec<String>]) -> Result<String> {
    let names: Vec<&str> = headers.iter().map(String::as_str).collect();
    let batch = super::text_batch(&names, rows)?;
    super::terminal::pretty(&[batch])
}

/// The text for people: statuses pivoted into columns, totals, stuck PENDING in words.
pub fn text(summary: &Summary, delivery: &Delivery) -> Result<String> {
    let total = summary.totals.total();
    let mut out = format!(
        "delivery {} ({}, {}, {}), {}\n",
        delivery
            .name
            .as_deref()
            .unwrap_or(&super::terminal::escape(&delivery.manifest_display)),
        delivery.manifest.file_format,
        super::count(delivery.files.len() as u64, "file"),
        human_bytes(delivery.manifest.total_bytes()),
        if summary.all_versions {
            "all versions and delete markers"
        } else {
            "current versions, delete markers excluded"
        }
    );
    if summary.dimensions.is_empty() {
        let headers: Vec<String> = ["status", "objects", "objects %", "bytes", "bytes %"]
            .map(String::from)
            .to_vec();
        let row = |label: String, c: &Counts| {
            vec![
                label,
                thousands(c.objects),
                pct(c.objects, total.objects),
                human_bytes(c.bytes),
                pct(c.bytes, total.bytes),
            ]
        };
        let mut rows: Vec<Vec<String>> = summary
            .totals
            .all()
            .into_iter()
            .map(|(s, c)| row(s, &c))
            .collect();
        if summary.all_versions {
            rows.push(row(
                "delete markers".into(),
                &summary.totals.delete_markers(),
            ));
        }
        rows.push(row("TOTAL".into(), &total));
        out.push_str(&text_table(&headers, &rows)?);
    } else {
        let mut headers = summary.dimension_names();
        headers.extend(["objects", "bytes"].map(String::from));
        headers.extend(STATUSES.iter().map(|s| s.to_string()));
        // Statuses AWS may add one day are never hidden: the columns always add up.
        headers.push("other".into());
        if summary.all_versions {
            headers.push("delete markers".into());
        }
        headers.push("unreplicated bytes".into());
        let row = |values: Vec<String>, s: &StatusCounts| {
            let t = s.total();
            let mut r = values;
            r.push(thousands(t.objects));
            r.push(human_bytes(t.bytes));
            r.extend(STATUSES.iter().map(|st| thousands(s.get(st).objects)));
            r.push(thousands(s.other().objects));
            if summary.all_versions {
                r.push(thousands(s.delete_markers().objects));
            }
            r.push(human_bytes(s.unreplicated().bytes));
            r
        };
        let mut rows: Vec<Vec<String>> = summary
            .groups
            .iter()
            .map(|g| row(g.values.clone(), &g.statuses))
            .collect();
        let mut total_values = vec![String::new(); summary.dimensions.len()];
        total_values[0] = "TOTAL".into();
        rows.push(row(total_values, &summary.totals));
        out.push_str(&text_table(&headers, &rows)?);
    }
    out.push('\n');
    let unrep = summary.totals.unreplicated();
    out.push_str(&format!(
        "not replicated (PENDING + FAILED + NONE): {}, {} ({} of bytes)\n",
        super::count(unrep.objects, "object"),
        human_bytes(unrep.bytes),
        pct(unrep.bytes, total.bytes)
    ));
    if let Some(s) = stuck_sentence(&summary.pending, human_bytes) {
        out.push_str(&s);
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_formats() {
        assert_eq!(share(1, 3), 33.3333);
    }
}
