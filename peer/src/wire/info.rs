//! The `I` reply: server information as the JSON bitmarkd's `json.Marshal` writes.

use serde::Deserialize;
use std::fmt::Write as _;

/// What `I` reports (bitmarkd `serverInfo`, `docs/protocol.md#server-info`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct ServerInfo {
    /// The build version; bitmarkd's default is `"zero"`.
    pub version: String,
    /// The chain name (`bitmark`, `testing`, `local`). Kept as text so that a reply naming a
    /// chain we do not know still decodes.
    pub chain: String,
    /// Whether the node is in normal mode (not resynchronising).
    pub normal: bool,
    /// The local block height.
    pub height: u64,
}

impl ServerInfo {
    /// The exact bytes Go's `json.Marshal` gives: keys in the order version, chain, normal,
    /// height; no white space; no trailing newline.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out = String::from("{\"version\":");
        push_go_json_string(&mut out, &self.version);
        out.push_str(",\"chain\":");
        push_go_json_string(&mut out, &self.chain);
        let _ = write!(out, ",\"normal\":{},\"height\":{}}}", self.normal, self.height);
        out.into_bytes()
    }

    /// Decode an `I` payload; any valid JSON object with the four fields (in any order) will
    /// do, as with Go's `json.Unmarshal`. `None` when it is not one.
    pub fn from_json(bytes: &[u8]) -> Option<ServerInfo> {
        serde_json::from_slice(bytes).ok()
    }
}

/// A JSON string as Go 1.22+ `encoding/json` writes it: `"` `\` and control characters escaped
/// (`\b \f \n \r \t` by name, others as `\u00XX`), and the HTML-sensitive `< > &` and the line
/// and paragraph separators U+2028/U+2029 as `\uXXXX`.
fn push_go_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c < ' ' || matches!(c, '<' | '>' | '&' | '\u{2028}' | '\u{2029}') => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(version: &str) -> ServerInfo {
        ServerInfo { version: version.into(), chain: "bitmark".into(), normal: true, height: 12345 }
    }

    #[test]
    fn exact_go_json() {
        assert_eq!(
            String::from_utf8(info("zero").to_json()).unwrap(),
            r#"{"version":"zero","chain":"bitmark","normal":true,"height":12345}"#
        );
        let odd = ServerInfo { normal: false, height: u64::MAX, ..info("a\"b\\c<d>&\n\u{1}\u{8}\u{2028}é") };
        assert_eq!(
            String::from_utf8(odd.to_json()).unwrap(),
            "{\"version\":\"a\\\"b\\\\c\\u003cd\\u003e\\u0026\\n\\u0001\\b\\u2028é\",\"chain\":\"bitmark\",\
             \"normal\":false,\"height\":18446744073709551615}"
        );
    }

    #[test]
    fn decodes_what_it_encodes_and_reordered_keys() {
        let i = info("0.16.0 <dev> \u{7f}");
        assert_eq!(ServerInfo::from_json(&i.to_json()), Some(i));
        let reordered = br#"{"height":7,"normal":false,"chain":"local","version":"x"}"#;
        assert_eq!(
            ServerInfo::from_json(reordered),
            Some(ServerInfo { version: "x".into(), chain: "local".into(), normal: false, height: 7 })
        );
        assert_eq!(ServerInfo::from_json(b"{}"), None);
        assert_eq!(ServerInfo::from_json(b"\xff"), None);
    }
}
