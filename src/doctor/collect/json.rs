//! A JSON value whose object members keep their order, printed the way the AWS CLI prints
//! (`json.dump(indent=4, ensure_ascii=False)` plus a newline).
//!
//! The CLI prints a response's members in the service model's order and a decoded IAM
//! policy in its author's order; `serde_json::Value` (without `preserve_order`, which would
//! change every other JSON s3inv writes) sorts them. Keeping the order makes a live bundle
//! read like the one the collect script writes, line for line.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

/// A JSON value; objects are member lists in order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum J {
    Null,
    Bool(bool),
    Num(serde_json::Number),
    Str(String),
    Arr(Vec<J>),
    Obj(Vec<(String, J)>),
}

impl J {
    /// The member `key` of an object.
    pub(crate) fn get(&self, key: &str) -> Option<&J> {
        match self {
            J::Obj(members) => members.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value at `path` (member names).
    pub(crate) fn at(&self, path: &[&str]) -> Option<&J> {
        path.iter().try_fold(self, |j, key| j.get(key))
    }

    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            J::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn items(&self) -> &[J] {
        match self {
            J::Arr(items) => items,
            _ => &[],
        }
    }

    /// The text of a bundle file: four-space indents, `": "` between a name and its value,
    /// non-ASCII characters as they are, and a final newline.
    pub(crate) fn to_cli_text(&self) -> String {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        self.serialize(&mut ser)
            .expect("serialising into memory cannot fail");
        out.push(b'\n');
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

impl From<&str> for J {
    fn from(s: &str) -> J {
        J::Str(s.to_string())
    }
}

impl From<String> for J {
    fn from(s: String) -> J {
        J::Str(s)
    }
}

impl From<bool> for J {
    fn from(b: bool) -> J {
        J::Bool(b)
    }
}

impl From<i32> for J {
    fn from(n: i32) -> J {
        J::Num(n.into())
    }
}

impl From<Vec<J>> for J {
    fn from(items: Vec<J>) -> J {
        J::Arr(items)
    }
}

impl From<Obj> for J {
    fn from(o: Obj) -> J {
        J::Obj(o.0)
    }
}

/// Builds an object member by member; a `None` value leaves the member out, as the CLI
/// leaves out what the response did not hold.
#[derive(Debug, Default)]
pub(crate) struct Obj(Vec<(String, J)>);

impl Obj {
    pub(crate) fn new() -> Obj {
        Obj::default()
    }

    pub(crate) fn put(mut self, key: &str, value: impl Into<Option<J>>) -> Obj {
        if let Some(v) = value.into() {
            self.0.push((key.to_string(), v));
        }
        self
    }
}

impl Serialize for J {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            J::Null => s.serialize_unit(),
            J::Bool(b) => s.serialize_bool(*b),
            J::Num(n) => n.serialize(s),
            J::Str(v) => s.serialize_str(v),
            J::Arr(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            J::Obj(members) => {
                let mut map = s.serialize_map(Some(members.len()))?;
                for (k, v) in members {
                    map.serialize_entry(k, v)?;
                }
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for J {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<J, D::Error> {
        d.deserialize_any(JVisitor)
    }
}

struct JVisitor;

impl<'de> Visitor<'de> for JVisitor {
    type Value = J;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_unit<E>(self) -> Result<J, E> {
        Ok(J::Null)
    }

    fn visit_bool<E>(self, b: bool) -> Result<J, E> {
        Ok(J::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<J, E> {
        Ok(J::Num(n.into()))
    }

    fn visit_u64<E>(self, n: u64) -> Result<J, E> {
        Ok(J::Num(n.into()))
    }

    fn visit_f64<E: serde::de::Error>(self, n: f64) -> Result<J, E> {
        serde_json::Number::from_f64(n)
            .map(J::Num)
            .ok_or_else(|| E::custom("a number JSON cannot hold"))
    }

    fn visit_str<E>(self, s: &str) -> Result<J, E> {
        Ok(J::Str(s.to_string()))
    }

    fn visit_string<E>(self, s: String) -> Result<J, E> {
        Ok(J::Str(s))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(J::Arr(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J, A::Error> {
        let mut members: Vec<(String, J)> = Vec::new();
        while let Some((k, v)) = map.next_entry::<String, J>()? {
            // A repeated name keeps its first place and takes the last value, as Python's
            // json.loads does (the CLI decodes IAM documents with it).
            match members.iter_mut().find(|(name, _)| *name == k) {
                Some(slot) => slot.1 = v,
                None => members.push((k, v)),
            }
        }
        Ok(J::Obj(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_like_the_aws_cli() {
        let j: J = Obj::new()
            .put("Zeta", J::from("é \"q\" \u{1f}"))
            .put("Alpha", J::from(vec![J::from(1), J::Null, J::from(true)]))
            .put("Empty", J::Obj(vec![]))
            .put("None", J::Arr(vec![]))
            .put("Skipped", None)
            .into();
        // Python: json.dumps(d, indent=4, ensure_ascii=False) + "\n"
        let expected = "{\n    \"Zeta\": \"é \\\"q\\\" \\u001f\",\n    \"Alpha\": [\n        1,\n        null,\n        true\n    ],\n    \"Empty\": {},\n    \"None\": []\n}\n";
        assert_eq!(j.to_cli_text(), expected);
    }

    #[test]
    fn parsing_keeps_member_order() {
        let j: J = serde_json::from_str(r#"{"b": 1, "a": {"y": 2.5, "x": [1]}, "b": 3}"#).unwrap();
        assert_eq!(
            j.to_cli_text(),
            "{\n    \"b\": 3,\n    \"a\": {\n        \"y\": 2.5,\n        \"x\": [\n            1\n        ]\n    }\n}\n"
        );
        assert_eq!(
            j.at(&["a", "y"]),
            Some(&J::Num(serde_json::Number::from_f64(2.5).unwrap()))
        );
    }
}
