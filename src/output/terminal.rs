//! Text meant for a terminal: a key may hold bytes a terminal obeys (ESC sequences that
//! recolour or retitle it, CR that overwrites the line, bidi overrides that reorder what is
//! shown). The `table` format shows each such character as `\u{…}` (its code point in hex,
//! like Rust's escapes: ESC is `\u{1b}`, LF `\u{a}`); machine formats never come here.

use std::borrow::Cow;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::arrow::util::display::FormatOptions;
use datafusion::arrow::util::pretty::pretty_format_batches_with_options;

use crate::format::timestamp::TIMESTAMP_FORMAT;

use crate::error::{Error, Result};

/// Control characters (C0, DEL, C1) and the bidi embedding, override, isolate and mark
/// characters.
fn unsafe_char(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every character a terminal would act on written as `\u{hex}`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(unsafe_char) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if unsafe_char(c) {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The batches as an aligned text table, string values and column names escaped.
pub fn pretty(batches: &[RecordBatch]) -> Result<String> {
    let escaped = batches
        .iter()
        .map(escape_batch)
        .collect::<Result<Vec<_>>>()?;
    // Timestamps in the one shape of every output (`…:48.000Z`), not arrow's default.
    let options = FormatOptions::default()
        .with_timestamp_tz_format(Some(TIMESTAMP_FORMAT))
        .with_timestamp_format(Some(TIMESTAMP_FORMAT));
    Ok(pretty_format_batches_with_options(&escaped, &options)
        .map_err(|e| Error::Query(e.to_string()))?
        .to_string())
}

fn escape_batch(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = batch.schema();
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_name(escape(f.name())))
        .collect();
    let columns: Vec<ArrayRef> = batch
        .columns()
        .iter()
        .map(|c| match c.data_type() {
            DataType::Utf8 => {
                let s = c.as_string::<i32>();
                Arc::new(s.iter().map(|v| v.map(escape)).collect::<StringArray>()) as ArrayRef
            }
            DataType::Utf8View => {
                let s = c.as_string_view();
                Arc::new(s.iter().map(|v| v.map(escape)).collect::<StringArray>())
            }
            DataType::LargeUtf8 => {
                let s = c.as_string::<i64>();
                Arc::new(s.iter().map(|v| v.map(escape)).collect::<StringArray>())
            }
            _ => Arc::clone(c),
        })
        .collect();
    let fields: Vec<Field> = fields
        .into_iter()
        .zip(&columns)
        .map(|(f, c)| f.with_data_type(c.data_type().clone()))
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| Error::Query(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_bidi_are_escaped_the_rest_is_kept() {
        assert_eq!(
            escape("a\u{1b}[31mred\r\n\t\u{7f}\u{9b}"),
            "a\\u{1b}[31mred\\u{d}\\u{a}\\u{9}\\u{7f}\\u{9b}"
        );
        assert_eq!(
            escape("invoice\u{202e}fdp.exe\u{2066}\u{2069}\u{200e}\u{200f}\u{202a}"),
            "invoice\\u{202e}fdp.exe\\u{2066}\\u{2069}\\u{200e}\\u{200f}\\u{202a}"
        );
        assert!(matches!(escape("日本語/caf\u{e9} 😀\\x"), Cow::Borrowed(_)));
    }

    #[test]
    fn tables_escape_values_and_names() {
        let batch =
            crate::output::text_batch(&["k\u{1b}"], &[vec!["x\u{202e}y".to_string()]]).unwrap();
        let text = pretty(&[batch]).unwrap();
        assert!(text.contains("| k\\u{1b}    |"), "{text}");
        assert!(text.contains("| x\\u{202e}y |"), "{text}");
    }
}
