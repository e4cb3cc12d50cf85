//! Go's `net/rpc/jsonrpc` server codec, as a client sees it on the wire.
//!
//! A client writes a stream of JSON objects, `{"method":"Node.Info","params":[{}],"id":0}`
//! (Go's client adds a newline after each); the server answers each with
//! `{"id":0,"result":{...},"error":null}` or `{"id":0,"result":null,"error":"<text>"}`, each
//! followed by a newline (Go's `json.Encoder`). The id is echoed as sent (`null` when absent).
//!
//! What ends a connection without a reply, as in Go (`ServeCodec` stops when it cannot read a
//! request header): bytes that are not a JSON object, an object whose `method` is not a string,
//! and, ours, a request larger than the limit ([`Framer`]).
//!
//! The framer finds where one object ends by scanning each byte once (strings, escapes,
//! nesting), so a client trickling a large request costs linear time, and only a complete
//! object is handed to the parser.

use serde_json::{Map, Value};

/// Why a connection is closed while reading a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Not a JSON object (Go: `rpc: server cannot decode request`).
    #[error("cannot decode request: {0}")]
    Malformed(String),
    /// The request is larger than allowed.
    #[error("request larger than {0} bytes")]
    TooLarge(usize),
}

/// Splits a byte stream into top-level JSON objects.
#[derive(Debug)]
pub struct Framer {
    buffer: Vec<u8>,
    /// Bytes of `buffer` already scanned.
    scanned: usize,
    /// Where the current object starts, once its `{` has been seen.
    start: Option<usize>,
    depth: usize,
    in_string: bool,
    escaped: bool,
    limit: usize,
}

impl Framer {
    /// A framer refusing requests over `limit` bytes.
    pub fn new(limit: usize) -> Framer {
        Framer { buffer: Vec::new(), scanned: 0, start: None, depth: 0, in_string: false, escaped: false, limit }
    }

    /// Append bytes read from the connection.
    pub fn extend(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// Whether part of a request has arrived (a request deadline runs from then).
    pub fn has_partial(&self) -> bool {
        self.start.is_some() || self.buffer.iter().any(|b| !b.is_ascii_whitespace())
    }

    /// The next complete object, if one has arrived; `Ok(None)` when more bytes are needed.
    pub fn next_object(&mut self) -> Result<Option<Vec<u8>>, FrameError> {
        while let Some(&byte) = self.buffer.get(self.scanned) {
            self.scanned += 1;
            let Some(start) = self.start else {
                match byte {
                    b' ' | b'\t' | b'\r' | b'\n' => continue,
                    b'{' => {
                        self.start = Some(self.scanned - 1);
                        self.depth = 1;
                        continue;
                    }
                    other => {
                        return Err(FrameError::Malformed(format!(
                            "invalid character {:?} looking for beginning of object",
                            other as char
                        )))
                    }
                }
            };
            if self.scanned - start > self.limit {
                return Err(FrameError::TooLarge(self.limit));
            }
            if self.in_string {
                match (self.escaped, byte) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        let object = self.buffer.get(start..self.scanned).unwrap_or_default().to_vec();
                        self.buffer.drain(..self.scanned);
                        self.scanned = 0;
                        self.start = None;
                        return Ok(Some(object));
                    }
                }
                _ => {}
            }
        }
        if let Some(start) = self.start {
            if self.buffer.len() - start > self.limit {
                return Err(FrameError::TooLarge(self.limit));
            }
        } else {
            // Only whitespace so far: nothing to keep.
            self.buffer.clear();
            self.scanned = 0;
        }
        Ok(None)
    }
}

/// One request as the server codec reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    /// `Service.Method`.
    pub method: String,
    /// The raw `params` (absent or `null` is `None`: Go's "missing params").
    pub params: Option<Value>,
    /// The id, echoed in the reply (`null` when absent).
    pub id: Value,
}

/// A Go struct field by JSON name: the exact key, else a case-insensitive match.
pub fn field<'a>(map: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    map.get(name).or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

/// Parse one framed object into a request. An error closes the connection (Go's header
/// decode error).
pub fn parse_request(bytes: &[u8]) -> Result<Request, FrameError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| FrameError::Malformed(e.to_string()))?;
    let Value::Object(map) = value else {
        return Err(FrameError::Malformed("not an object".into()));
    };
    let method = match field(&map, "method") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => {
            return Err(FrameError::Malformed(format!(
                "json: cannot unmarshal {} into Go struct field serverRequest.method of type string",
                json_kind(other)
            )))
        }
    };
    let params = field(&map, "params").filter(|v| !v.is_null()).cloned();
    let id = field(&map, "id").cloned().unwrap_or(Value::Null);
    Ok(Request { method, params, id })
}

/// The reply line for `id`: a result, or an error text (Go's `serverResponse`: `id`,
/// `result`, `error`, then a newline).
pub fn reply(id: &Value, outcome: &Result<Value, String>) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    out.push_str("{\"id\":");
    out.push_str(&crate::gojson::to_string(id));
    match outcome {
        Ok(result) => {
            out.push_str(",\"result\":");
            out.push_str(&crate::gojson::to_string(result));
            out.push_str(",\"error\":null}\n");
        }
        Err(text) => {
            out.push_str(",\"result\":null,\"error\":");
            out.push_str(&crate::gojson::to_string(&Value::String(text.clone())));
            out.push_str("}\n");
        }
    }
    out.into_bytes()
}

/// Go's name for the kind of a JSON value in unmarshal errors.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn objects_are_framed_across_reads_and_strings() {
        let mut framer = Framer::new(1000);
        framer.extend(b"  {\"method\":\"A.B\",\"params\":[{\"x\":\"}{\\\"\"}]");
        assert_eq!(framer.next_object(), Ok(None));
        assert!(framer.has_partial());
        framer.extend(b",\"id\":1}\n{\"id\":2}");
        let first = framer.next_object().unwrap().unwrap();
        assert_eq!(parse_request(&first).unwrap().params, Some(json!([{"x": "}{\""}])));
        let second = framer.next_object().unwrap().unwrap();
        assert_eq!(second, b"{\"id\":2}");
        assert_eq!(framer.next_object(), Ok(None));
        assert!(!framer.has_partial());
    }

    #[test]
    fn garbage_and_oversize_requests_are_refused() {
        let mut framer = Framer::new(1000);
        framer.extend(b"GET / HTTP/1.1\r\n");
        assert!(matches!(framer.next_object(), Err(FrameError::Malformed(_))));
        let mut framer = Framer::new(10);
        framer.extend(b"{\"method\":\"Node.Info\"");
        assert_eq!(framer.next_object(), Err(FrameError::TooLarge(10)));
        assert!(
            matches!(parse_request(b"{\"method\":5}"), Err(FrameError::Malformed(m)) if m.contains("serverRequest.method"))
        );
        assert!(matches!(parse_request(b"{\"method\":}"), Err(FrameError::Malformed(_))));
    }

    #[test]
    fn requests_and_replies_have_gos_shape() {
        let r = parse_request(br#"{"Method":"Node.Info","params":null}"#).unwrap();
        assert_eq!((r.method.as_str(), r.params, r.id), ("Node.Info", None, Value::Null));
        assert_eq!(reply(&json!(7), &Ok(json!({"a": 1}))), b"{\"id\":7,\"result\":{\"a\":1},\"error\":null}\n");
        assert_eq!(
            reply(&Value::Null, &Err("rate limiting".into())),
            b"{\"id\":null,\"result\":null,\"error\":\"rate limiting\"}\n"
        );
    }
}
