//! Method arguments read as Go's `encoding/json` fills bitmarkd's argument structs, with Go's
//! error texts for values of the wrong type (what a client sees in the reply's `error`):
//!
//! * `json: cannot unmarshal string into Go struct field BitmarksArguments.count of type int`
//! * `json: invalid use of ,string struct tag, trying to unmarshal unquoted value into uint64`
//! * a text field (`merkle.Digest`, `*account.Account`, `pay.PayId`) that does not parse
//!   reports the type's own fault (`not link`, `checksum mismatch`...), as Go passes
//!   `UnmarshalText` errors through.
//!
//! Field names match exactly or case-insensitively; absent and `null` fields keep their zero
//! value. `params` must be an array whose first element is the argument object (Go decodes it
//! into `[1]interface{}`); an empty array or a `null` element is the zero argument.

use crate::codec::{field, json_kind};
use base64::Engine as _;
use bitmark_record::Fault;
use serde_json::{Map, Value};

/// The argument object of a request, for a Go struct named `name` (`node.Arguments`).
pub struct Args<'a> {
    fields: Option<&'a Map<String, Value>>,
    /// The Go struct's name without its package, used in error texts.
    strukt: &'static str,
}

/// Go's message for `params` that is not an array.
fn not_an_array(value: &Value) -> String {
    format!("json: cannot unmarshal {} into Go value of type [1]interface {{}}", json_kind(value))
}

/// The argument value of `params` (`None` for `[]`, `[null]`).
pub fn first_param(params: &Value) -> Result<Option<&Value>, String> {
    match params {
        Value::Array(items) => Ok(items.first().filter(|v| !v.is_null())),
        other => Err(not_an_array(other)),
    }
}

impl<'a> Args<'a> {
    /// Read `value` (the first parameter) as the Go struct `go_type` (`node.Arguments`).
    pub fn of(value: Option<&'a Value>, go_type: &'static str) -> Result<Args<'a>, String> {
        let strukt = go_type.rsplit('.').next().unwrap_or(go_type);
        match value {
            None => Ok(Args { fields: None, strukt }),
            Some(Value::Object(map)) => Ok(Args { fields: Some(map), strukt }),
            Some(other) => Err(format!("json: cannot unmarshal {} into Go value of type {go_type}", json_kind(other))),
        }
    }

    /// The raw value of a field (absent or `null`: `None`).
    pub fn raw(&self, name: &str) -> Option<&'a Value> {
        self.fields.and_then(|m| field(m, name)).filter(|v| !v.is_null())
    }

    fn type_error(&self, name: &str, kind: &str, go_type: &str) -> String {
        format!("json: cannot unmarshal {kind} into Go struct field {}.{name} of type {go_type}", self.strukt)
    }

    /// A Go `int`.
    pub fn int(&self, name: &str) -> Result<i64, String> {
        match self.raw(name) {
            None => Ok(0),
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| self.type_error(name, &format!("number {n}"), "int")),
            Some(other) => Err(self.type_error(name, json_kind(other), "int")),
        }
    }

    /// A Go `uint64`.
    pub fn uint(&self, name: &str) -> Result<u64, String> {
        match self.raw(name) {
            None => Ok(0),
            Some(Value::Number(n)) => n.as_u64().ok_or_else(|| self.type_error(name, &format!("number {n}"), "uint64")),
            Some(other) => Err(self.type_error(name, json_kind(other), "uint64")),
        }
    }

    /// A Go `uint64` with the `,string` tag: a JSON string holding the number.
    pub fn uint_string(&self, name: &str) -> Result<u64, String> {
        match self.raw(name) {
            None => Ok(0),
            Some(Value::String(s)) => s.parse::<u64>().ok().filter(|_| !s.starts_with('+')).ok_or_else(|| {
                format!("json: invalid use of ,string struct tag, trying to unmarshal {s:?} into uint64")
            }),
            Some(_) => {
                Err("json: invalid use of ,string struct tag, trying to unmarshal unquoted value into uint64".into())
            }
        }
    }

    /// A Go `bool`.
    pub fn bool(&self, name: &str) -> Result<bool, String> {
        match self.raw(name) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.type_error(name, json_kind(other), "bool")),
        }
    }

    /// A Go `string`.
    pub fn string(&self, name: &str) -> Result<String, String> {
        match self.raw(name) {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(self.type_error(name, json_kind(other), "string")),
        }
    }

    /// A Go `[]string`.
    pub fn strings(&self, name: &str) -> Result<Vec<String>, String> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Null => Ok(String::new()),
                    other => Err(self.type_error(name, json_kind(other), "string")),
                })
                .collect(),
            Some(other) => Err(self.type_error(name, json_kind(other), "[]string")),
        }
    }

    /// A Go `[]byte`: base64 text.
    pub fn bytes(&self, name: &str) -> Result<Vec<u8>, String> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::String(s)) => base64::engine::general_purpose::STANDARD.decode(s).map_err(|e| match e {
                base64::DecodeError::InvalidByte(at, _) | base64::DecodeError::InvalidLastSymbol(at, _) => {
                    format!("illegal base64 data at input byte {at}")
                }
                _ => format!("illegal base64 data at input byte {}", s.len()),
            }),
            Some(other) => Err(self.type_error(name, json_kind(other), "[]uint8")),
        }
    }

    /// A text field (`encoding.TextUnmarshaler`) of Go type `go_type`, parsed by `parse`;
    /// absent is `None` (Go's zero value or nil pointer).
    pub fn text<T>(
        &self,
        name: &str,
        go_type: &str,
        parse: impl FnOnce(&str) -> Result<T, Fault>,
    ) -> Result<Option<T>, String> {
        match self.raw(name) {
            None => Ok(None),
            Some(Value::String(s)) => parse(s).map(Some).map_err(|f| f.to_string()),
            Some(other) => Err(self.type_error(name, json_kind(other), go_type)),
        }
    }

    /// An array field of objects (`[]*transactionrecord.AssetData`).
    pub fn objects(&self, name: &str, go_type: &str) -> Result<Vec<&'a Value>, String> {
        match self.raw(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => Ok(items.iter().collect()),
            Some(other) => Err(self.type_error(name, json_kind(other), go_type)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wrong_types_get_gos_texts() {
        let v = json!({"count": "5", "Start": 3, "height": "x", "txs": 1, "big": -1});
        let a = Args::of(Some(&v), "owner.BitmarksArguments").unwrap();
        assert_eq!(
            a.int("count").unwrap_err(),
            "json: cannot unmarshal string into Go struct field BitmarksArguments.count of type int"
        );
        assert_eq!(
            a.uint_string("start").unwrap_err(),
            "json: invalid use of ,string struct tag, trying to unmarshal unquoted value into uint64"
        );
        assert_eq!(
            a.uint_string("height").unwrap_err(),
            "json: invalid use of ,string struct tag, trying to unmarshal \"x\" into uint64"
        );
        assert_eq!(
            a.bool("txs").unwrap_err(),
            "json: cannot unmarshal number into Go struct field BitmarksArguments.txs of type bool"
        );
        assert_eq!(
            a.uint("big").unwrap_err(),
            "json: cannot unmarshal number -1 into Go struct field BitmarksArguments.big of type uint64"
        );
        assert_eq!(a.int("absent"), Ok(0));
        assert_eq!(
            Args::of(Some(&json!("x")), "node.InfoArguments").err().unwrap(),
            "json: cannot unmarshal string into Go value of type node.InfoArguments"
        );
        assert_eq!(
            first_param(&json!({})).unwrap_err(),
            "json: cannot unmarshal object into Go value of type [1]interface {}"
        );
        assert_eq!(first_param(&json!([])), Ok(None));
    }
}
