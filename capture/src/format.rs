//! The capture file format: JSON Lines, one object per line, told apart by `kind`.
//!
//! * `header`: the first line of every file. Format version, the tool that wrote it, the
//!   recording node's chain, key, height, tip digest and mode when the file was started, the
//!   session (one run of the node) and the file's part number within it, and the first
//!   sequence number it may hold.
//! * `exchange`: one request and its reply. `seq` (strictly increasing over a session's
//!   files), `time` (unix nanoseconds when the exchange completed), `dir` (`in`: our listener
//!   answered; `out`: our upstream asked), `peer` (`address`, `routingId` and `key` as far as
//!   known), `request` and `reply` as arrays of frames in lower-case hex, `error` when there is
//!   no reply, `dropped` for a push acknowledged but not processed.
//! * `dropped`: `count` exchanges were lost here because the writer could not keep up.
//! * `end`: the session stopped cleanly after `records` exchanges, `dropped` lost.
//!
//! Parsing is total ([`parse_line`]): anything that is not one of these lines is an error
//! saying why, never a panic. Unknown fields are ignored, so later versions may add fields
//! without a new format number; a header with another `format` is refused.

use crate::error::CaptureError;
use bitmark_peer::capture::Direction;
use serde::{Deserialize, Serialize};

/// The format version this code writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// One line of a capture file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Line {
    /// The first line of a file.
    Header(Header),
    /// One exchange.
    Exchange(Record),
    /// Exchanges lost because the writer fell behind.
    Dropped(Dropped),
    /// The clean end of a session.
    End(End),
}

/// What a file was recorded on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    /// [`FORMAT_VERSION`].
    pub format: u32,
    /// The recording program and its version, e.g. `bitmark-node 0.1.0`.
    pub tool: String,
    /// The chain's name (`bitmark`, `testing`, `local`).
    pub chain: String,
    /// The recording node's public (CURVE) key.
    #[serde(with = "hex_bytes")]
    pub node_key: Vec<u8>,
    /// The node's block height when the file was started.
    pub height: u64,
    /// Its tip digest then, raw hex as `/status` shows it.
    pub digest: String,
    /// Its mode then: `normal` or `resynchronise`.
    pub mode: String,
    /// The session: one run of the node, named by its start time (unix nanoseconds).
    pub session: String,
    /// This file's place in the session, from 0.
    pub part: u32,
    /// The first sequence number this file may hold.
    pub first_seq: u64,
    /// When the file was started, unix nanoseconds.
    pub time: u64,
}

/// One exchange.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Its place in the session.
    pub seq: u64,
    /// When it completed (the reply was produced or received), unix nanoseconds.
    pub time: u64,
    /// In (our listener answered) or out (our upstream asked).
    pub dir: Direction,
    /// The other side.
    #[serde(default)]
    pub peer: RecordPeer,
    /// The request frames, chain frame first.
    #[serde(with = "hex_frames")]
    pub request: Vec<Vec<u8>>,
    /// The reply frames; absent when there was no reply.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex_frames")]
    pub reply: Option<Vec<Vec<u8>>>,
    /// Why there was no reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A push acknowledged but not processed (the listener's push queue was full).
    #[serde(default, skip_serializing_if = "is_false")]
    pub dropped: bool,
}

/// The other side of an exchange, as far as the transport knew it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordPeer {
    /// Listener: the remote IP (libzmq gives no port). Upstream: the target's `IP:PORT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    /// Listener: the connection's routing id on our ROUTER.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "hex_bytes")]
    pub routing_id: Vec<u8>,
    /// The CURVE key: the client's (listener, when its ZAP handler ran) or the server's
    /// (upstream).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_hex_bytes")]
    pub key: Option<Vec<u8>>,
}

/// Exchanges lost at this point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dropped {
    /// Its place in the session.
    pub seq: u64,
    /// When it was written, unix nanoseconds.
    pub time: u64,
    /// How many exchanges were lost since the previous line.
    pub count: u64,
}

/// A clean stop.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    /// Its place in the session.
    pub seq: u64,
    /// When it was written, unix nanoseconds.
    pub time: u64,
    /// Exchanges written in the session.
    pub records: u64,
    /// Exchanges lost in the session.
    pub dropped: u64,
}

impl Line {
    /// The line as written: compact JSON, no newline.
    pub fn to_json(&self) -> String {
        // Only strings, integers and booleans: serialisation cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The sequence number, for every line but a header.
    pub fn seq(&self) -> Option<u64> {
        match self {
            Line::Header(_) => None,
            Line::Exchange(r) => Some(r.seq),
            Line::Dropped(d) => Some(d.seq),
            Line::End(e) => Some(e.seq),
        }
    }
}

impl Record {
    /// The request's function frame (`I`, `N`, `B`, `block`, ...), empty when there is none.
    pub fn function(&self) -> &[u8] {
        self.request.get(1).map_or(&[][..], Vec::as_slice)
    }

    /// Whether the reply is bitmarkd's error reply `["E"][text]`.
    pub fn is_error_reply(&self) -> bool {
        self.reply.as_ref().and_then(|r| r.first()).is_some_and(|f| f.as_slice() == b"E")
    }
}

/// Parse one line (without its newline; a trailing `\r` or white space is allowed).
pub fn parse_line(bytes: &[u8]) -> Result<Line, CaptureError> {
    let line: Line = serde_json::from_slice(bytes).map_err(|e| CaptureError::Line(e.to_string()))?;
    match &line {
        Line::Header(h) if h.format != FORMAT_VERSION => {
            Err(CaptureError::Line(format!("format version {} (this reads {FORMAT_VERSION})", h.format)))
        }
        Line::Exchange(r) if r.request.is_empty() => Err(CaptureError::Line("request with no frames".into())),
        _ => Ok(line),
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn decode_hex<E: serde::de::Error>(text: &str) -> Result<Vec<u8>, E> {
    hex::decode(text).map_err(|e| E::custom(format!("bad hex: {e}")))
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        super::decode_hex(&String::deserialize(d)?)
    }
}

mod opt_hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => s.serialize_str(&hex::encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?.map(|t| super::decode_hex(&t)).transpose()
    }
}

mod hex_frames {
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(frames: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(frames.len()))?;
        for frame in frames {
            seq.serialize_element(&hex::encode(frame))?;
        }
        seq.end()
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?.iter().map(|t| super::decode_hex(t)).collect()
    }
}

mod opt_hex_frames {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(frames: &Option<Vec<Vec<u8>>>, s: S) -> Result<S::Ok, S::Error> {
        match frames {
            Some(frames) => super::hex_frames::serialize(frames, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Vec<u8>>>, D::Error> {
        Option::<Vec<String>>::deserialize(d)?
            .map(|texts| texts.iter().map(|t| super::decode_hex(t)).collect())
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Header {
        Header {
            format: FORMAT_VERSION,
            tool: "bitmark-node 0.1.0".into(),
            chain: "local".into(),
            node_key: vec![0xab; 32],
            height: 7,
            digest: "00".repeat(32),
            mode: "normal".into(),
            session: "1700000000000000000".into(),
            part: 0,
            first_seq: 1,
            time: 1_700_000_000_000_000_000,
        }
    }

    fn record() -> Record {
        Record {
            seq: 3,
            time: 1_700_000_000_123_456_789,
            dir: Direction::In,
            peer: RecordPeer { address: Some("127.0.0.1".into()), routing_id: vec![0, 0x80, 0, 0, 1], key: None },
            request: vec![b"local".to_vec(), b"N".to_vec()],
            reply: Some(vec![b"N".to_vec(), 7u64.to_be_bytes().to_vec()]),
            error: None,
            dropped: false,
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_text() {
        let lines = [
            Line::Header(header()),
            Line::Exchange(record()),
            Line::Exchange(Record {
                dir: Direction::Out,
                peer: RecordPeer {
                    address: Some("127.0.0.1:22136".into()),
                    routing_id: vec![],
                    key: Some(vec![1; 32]),
                },
                reply: None,
                error: Some("timed out".into()),
                ..record()
            }),
            Line::Exchange(Record { dropped: true, request: vec![vec![]], ..record() }),
            Line::Dropped(Dropped { seq: 4, time: 5, count: 6 }),
            Line::End(End { seq: 7, time: 8, records: 5, dropped: 6 }),
        ];
        for line in lines {
            let text = line.to_json();
            assert!(!text.contains('\n'), "{text}");
            assert_eq!(parse_line(text.as_bytes()).unwrap(), line, "{text}");
        }
    }

    #[test]
    fn the_text_is_what_the_readme_shows() {
        assert_eq!(
            Line::Exchange(record()).to_json(),
            r#"{"kind":"exchange","seq":3,"time":1700000000123456789,"dir":"in","peer":{"address":"127.0.0.1","routingId":"0080000001"},"request":["6c6f63616c","4e"],"reply":["4e","0000000000000007"]}"#
        );
        assert!(Line::Header(header()).to_json().starts_with(r#"{"kind":"header","format":1,"tool":"bitmark-node"#));
    }

    #[test]
    fn damaged_lines_are_errors_saying_why() {
        let good = Line::Exchange(record()).to_json();
        let cases: Vec<(String, &str)> = vec![
            (good[..good.len() - 5].to_string(), "EOF"),
            (good.replace("6c6f63616c", "6c6f63616"), "bad hex"),
            (good.replace("6c6f63616c", "zz"), "bad hex"),
            (good.replace(r#""dir":"in""#, r#""dir":"sideways""#), "unknown variant"),
            (good.replace(r#""seq":3,"#, ""), "missing field `seq`"),
            (good.replace(r#""kind":"exchange""#, r#""kind":"gossip""#), "unknown variant"),
            (good.replace(r#"["6c6f63616c","4e"]"#, "[]"), "no frames"),
            (Line::Header(Header { format: 2, ..header() }).to_json(), "format version 2"),
            ("".into(), "EOF"),
            ("\u{0}\u{ff}".into(), ""),
            ("[]".into(), ""),
        ];
        for (text, why) in cases {
            let e = parse_line(text.as_bytes()).expect_err(&text).to_string();
            assert!(e.starts_with("capture line: ") && e.contains(why), "{text}: {e}");
        }
        assert!(parse_line(b"\xff\xfe").is_err());
    }

    #[test]
    fn later_fields_are_ignored_and_optional_ones_may_be_left_out() {
        let text = r#"{"kind":"exchange","seq":1,"time":2,"dir":"out","request":["00"],"future":true}"#;
        let Line::Exchange(r) = parse_line(text.as_bytes()).unwrap() else { panic!() };
        assert_eq!((r.peer, r.reply, r.error, r.dropped), (RecordPeer::default(), None, None, false));
    }
}
