//! The one filter the CSV reader applies while it parses: a query's condition on
//! `replication_status` (`IN (…)`, `=`, `IS NULL`, and `OR`s of them). Rows it rejects are
//! dropped before their other fields — keys above all — are decoded, which is most of the
//! cost of a manifest over a CSV.gz delivery where FAILED and PENDING are a few percent.
//!
//! The pushdown is *inexact*: DataFusion still evaluates the whole filter on what the scan
//! returns, so this only needs to be right about the rows it drops.

use datafusion::logical_expr::{Expr, Operator};

use crate::format::csv::ValueFilter;
use crate::format::schema::COLUMNS;

const STATUS: usize = crate::format::schema::REPLICATION_STATUS;

/// The values `expr` lets through, when it is a condition on `replication_status` alone.
pub fn status_filter(expr: &Expr) -> Option<ValueFilter> {
    match expr {
        Expr::InList(list) if is_status(&list.expr) => {
            // `NOT IN` is NULL, so false, for a NULL status: nulls are dropped either way.
            let mut filter = ValueFilter {
                negated: list.negated,
                ..ValueFilter::default()
            };
            for item in &list.list {
                filter.values.push(literal(item)?.into_bytes());
            }
            Some(filter)
        }
        Expr::BinaryExpr(b) if matches!(b.op, Operator::Eq | Operator::NotEq) => {
            let value = match (is_status(&b.left), is_status(&b.right)) {
                (true, false) => literal(&b.right)?,
                (false, true) => literal(&b.left)?,
                _ => return None,
            };
            Some(ValueFilter {
                values: vec![value.into_bytes()],
                keep_null: false,
                negated: b.op == Operator::NotEq,
            })
        }
        Expr::BinaryExpr(b) if b.op == Operator::Or => {
            let left = status_filter(&b.left)?;
            let right = status_filter(&b.right)?;
            // A bare `IS NULL` joins any side; two lists only when both keep what they name.
            let (mut kept, other) = match (left.values.is_empty(), right.values.is_empty()) {
                (true, _) => (right, left),
                (_, true) => (left, right),
                _ if !left.negated && !right.negated => (left, right),
                _ => return None,
            };
            kept.values.extend(other.values);
            kept.keep_null |= other.keep_null;
            Some(kept)
        }
        // `<> a AND <> b`, as DataFusion may write a short `NOT IN`.
        Expr::BinaryExpr(b) if b.op == Operator::And => {
            let mut left = status_filter(&b.left)?;
            let right = status_filter(&b.right)?;
            if !(left.negated && right.negated) {
                return None;
            }
            left.values.extend(right.values);
            left.keep_null &= right.keep_null;
            Some(left)
        }
        Expr::IsNull(e) if is_status(e) => Some(ValueFilter {
            values: Vec::new(),
            keep_null: true,
            negated: false,
        }),
        _ => None,
    }
}

/// The first of `filters` (which DataFusion ANDs) that `status_filter` understands.
pub fn first_status_filter(filters: &[Expr]) -> Option<ValueFilter> {
    filters.iter().find_map(status_filter)
}

fn is_status(expr: &Expr) -> bool {
    match expr {
        Expr::Column(c) => c.name == COLUMNS[STATUS].name,
        Expr::Cast(c) => is_status(&c.expr),
        _ => false,
    }
}

/// A non-null string literal (possibly cast to another string type).
fn literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Literal(v, _) => v.try_as_str().flatten().map(str::to_string),
        Expr::Cast(c) => literal(&c.expr),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::prelude::{col, lit};

    fn values(f: &ValueFilter) -> Vec<&str> {
        let mut v: Vec<&str> = f
            .values
            .iter()
            .map(|b| std::str::from_utf8(b).unwrap())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn understands_the_status_conditions_s3inv_writes() {
        let s = col("replication_status");
        let f = status_filter(
            &s.clone()
                .in_list(vec![lit("FAILED"), lit("PENDING")], false),
        )
        .unwrap();
        assert_eq!(values(&f), ["FAILED", "PENDING"]);
        assert!(!f.keep_null);

        let f = status_filter(&s.clone().is_null().or(s.clone().eq(lit("")))).unwrap();
        assert_eq!(values(&f), [""]);
        assert!(f.keep_null);

        let f = status_filter(&lit("REPLICA").eq(s.clone())).unwrap();
        assert_eq!(values(&f), ["REPLICA"]);
    }

    #[test]
    fn keeps_what_a_negated_list_and_a_null_test_let_through() {
        let s = col("replication_status");
        // The doctor's condition: every status but COMPLETED, never-replicated included.
        let f = status_filter(
            &s.clone().is_null().or(s
                .clone()
                .in_list(vec![lit("COMPLETED"), lit("COMPLETE")], true)),
        )
        .unwrap();
        assert!(f.negated && f.keep_null);
        assert_eq!(values(&f), ["COMPLETE", "COMPLETED"]);
        assert!(!f.keeps(b"COMPLETED") && f.keeps(b"FAILED") && f.keeps(b"WEIRD") && f.keeps(b""));
        // The same written as `<>`s.
        let f = status_filter(
            &s.clone()
                .not_eq(lit("COMPLETED"))
                .and(s.clone().not_eq(lit("COMPLETE"))),
        )
        .unwrap();
        assert!(f.negated && !f.keep_null && !f.keeps(b"") && f.keeps(b"PENDING"));
        // A kept list and a dropped one do not mix.
        assert!(
            status_filter(
                &s.clone()
                    .eq(lit("FAILED"))
                    .or(s.clone().not_eq(lit("PENDING")))
            )
            .is_none()
        );
        assert!(
            status_filter(
                &s.clone()
                    .eq(lit("FAILED"))
                    .and(s.clone().not_eq(lit("PENDING")))
            )
            .is_none()
        );
    }

    #[test]
    fn leaves_everything_else_to_datafusion() {
        let s = col("replication_status");

        assert!(status_filter(&s.clone().eq(lit("FAILED")).and(col("size").gt(lit(1)))).is_none());
        assert!(status_filter(&s.clone().eq(lit("FAILED")).or(col("size").gt(lit(1)))).is_none());
        assert!(status_filter(&col("storage_class").eq(lit("GLACIER"))).is_none());
        assert!(status_filter(&s.clone().eq(col("storage_class"))).is_none());
        assert!(status_filter(&s.is_not_null()).is_none());
    }
}
