//! `capture inspect`: what a capture holds — its headers, counts by command, direction and
//! peer, the time span, requests without a reply, error replies, pushes dropped by a full
//! queue, exchanges lost in recording, damaged lines — and a listing of every exchange.

use crate::error::Result;
use crate::format::{Header, Line, Record};
use crate::reader::{CaptureReader, Damaged};
use crate::show::{command_label, show_frames};
use bitmark_peer::capture::Direction;
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, UNIX_EPOCH};

/// Counts of exchanges in each direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct InOut {
    /// Requests our listener answered.
    #[serde(rename = "in")]
    pub inbound: u64,
    /// Requests our upstreams sent.
    #[serde(rename = "out")]
    pub outbound: u64,
}

impl InOut {
    fn add(&mut self, direction: Direction) {
        match direction {
            Direction::In => self.inbound += 1,
            Direction::Out => self.outbound += 1,
        }
    }
}

/// One file of the capture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FileSummary {
    /// Its path.
    pub path: String,
    /// Its header, when its first line is one.
    pub header: Option<Value>,
    /// Lines read.
    pub lines: u64,
}

/// One exchange, abbreviated, for the listing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listed {
    /// Sequence number.
    pub seq: u64,
    /// When, RFC 3339 UTC.
    pub time: String,
    /// `in` or `out`.
    pub dir: Direction,
    /// The peer's label.
    pub peer: String,
    /// The request's function.
    pub command: String,
    /// The request frames, abbreviated.
    pub request: Vec<String>,
    /// The reply frames, abbreviated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply: Option<Vec<String>>,
    /// Why there was no reply.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A push acknowledged without processing.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dropped: bool,
}

/// What `capture inspect` reports.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Inspection {
    /// The files, in the order read.
    pub files: Vec<FileSummary>,
    /// Exchange records.
    pub records: u64,
    /// By direction.
    pub directions: InOut,
    /// By the request's function.
    pub commands: BTreeMap<String, InOut>,
    /// By peer (address, and key or routing id).
    pub peers: BTreeMap<String, InOut>,
    /// The first and last exchange times, unix nanoseconds.
    pub span: Option<(u64, u64)>,
    /// Requests without a reply, by reason.
    pub no_reply: BTreeMap<String, u64>,
    /// `["E"][text]` replies, by text.
    pub error_replies: BTreeMap<String, u64>,
    /// Pushes acknowledged without processing.
    pub dropped_pushes: u64,
    /// Exchanges lost in recording.
    pub lost: u64,
    /// Sessions that ended cleanly (an `end` line).
    pub ended: u64,
    /// Lines that are not capture lines.
    pub damaged: Vec<Damaged>,
    /// Every exchange, abbreviated (empty with `list` off).
    pub listing: Vec<Listed>,
}

/// Read `paths` in order and summarise them; `list` keeps the listing.
pub fn inspect(paths: &[PathBuf], list: bool) -> Result<Inspection> {
    let mut found = Inspection::default();
    for path in paths {
        let mut reader = CaptureReader::open(path)?;
        let mut file = FileSummary { path: path.display().to_string(), header: None, lines: 0 };
        while let Some((line, content)) = reader.next() {
            file.lines = line;
            match content {
                Ok(Line::Header(header)) if line == 1 => file.header = Some(header_json(&header)),
                Ok(Line::Header(_)) => found.damaged.push(reader.damaged(line, "a header after line 1")),
                Ok(Line::Exchange(record)) => found.exchange(record, list),
                Ok(Line::Dropped(dropped)) => found.lost += dropped.count,
                Ok(Line::End(_)) => found.ended += 1,
                Err(reason) => found.damaged.push(reader.damaged(line, reason)),
            }
        }
        if file.header.is_none() && file.lines > 0 {
            found.damaged.push(reader.damaged(1, "not a capture header"));
        }
        found.files.push(file);
    }
    Ok(found)
}

fn header_json(header: &Header) -> Value {
    serde_json::to_value(header).unwrap_or(Value::Null)
}

/// Unix nanoseconds as RFC 3339 UTC.
fn rfc3339(nanos: u64) -> String {
    humantime::format_rfc3339_nanos(UNIX_EPOCH + Duration::from_nanos(nanos)).to_string()
}

/// A peer for people: its address, then its key (first 8 bytes) or else its routing id.
fn peer_label(record: &Record) -> String {
    let peer = &record.peer;
    let address = peer.address.as_deref().unwrap_or("?");
    match &peer.key {
        Some(key) => format!("{address} key {}", hex::encode(key.get(..8).unwrap_or(key))),
        None if !peer.routing_id.is_empty() => format!("{address} id {}", hex::encode(&peer.routing_id)),
        None => address.to_string(),
    }
}

impl Inspection {
    fn exchange(&mut self, record: Record, list: bool) {
        self.records += 1;
        self.directions.add(record.dir);
        let command = command_label(record.function());
        self.commands.entry(command.clone()).or_default().add(record.dir);
        let peer = peer_label(&record);
        self.peers.entry(peer.clone()).or_default().add(record.dir);
        self.span = Some(match self.span {
            None => (record.time, record.time),
            Some((first, last)) => (first.min(record.time), last.max(record.time)),
        });
        if let Some(error) = &record.error {
            *self.no_reply.entry(error.clone()).or_default() += 1;
        }
        if record.is_error_reply() {
            let text = record.reply.as_ref().and_then(|r| r.get(1)).map(|t| String::from_utf8_lossy(t).into_owned());
            *self.error_replies.entry(text.unwrap_or_default()).or_default() += 1;
        }
        if record.dropped {
            self.dropped_pushes += 1;
        }
        if list {
            self.listing.push(Listed {
                seq: record.seq,
                time: rfc3339(record.time),
                dir: record.dir,
                peer,
                command,
                request: show_frames(&record.request),
                reply: record.reply.as_deref().map(show_frames),
                error: record.error,
                dropped: record.dropped,
            });
        }
    }

    fn span_json(&self) -> Value {
        match self.span {
            Some((first, last)) => json!({
                "first": rfc3339(first),
                "last": rfc3339(last),
                "seconds": Duration::from_nanos(last - first).as_secs_f64(),
            }),
            None => Value::Null,
        }
    }

    /// The summary and listing as JSON (`--json`).
    pub fn to_json(&self) -> Value {
        json!({
            "files": self.files,
            "records": self.records,
            "directions": self.directions,
            "commands": self.commands,
            "peers": self.peers,
            "span": self.span_json(),
            "noReply": self.no_reply,
            "errorReplies": self.error_replies,
            "droppedPushes": self.dropped_pushes,
            "lost": self.lost,
            "ended": self.ended,
            "damaged": self.damaged,
            "listing": self.listing,
        })
    }

    /// The summary and listing for people.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for file in &self.files {
            let about = file.header.as_ref().map_or_else(
                || "no header".to_string(),
                |h| {
                    format!(
                        "{} chain {} node {} height {} mode {} session {} part {}",
                        h["tool"].as_str().unwrap_or("?"),
                        h["chain"].as_str().unwrap_or("?"),
                        h["nodeKey"].as_str().unwrap_or("?"),
                        h["height"],
                        h["mode"].as_str().unwrap_or("?"),
                        h["session"].as_str().unwrap_or("?"),
                        h["part"],
                    )
                },
            );
            out.push_str(&format!("file {} ({} lines): {about}\n", file.path, file.lines));
        }
        let d = self.directions;
        out.push_str(&format!("{} exchanges: {} in, {} out\n", self.records, d.inbound, d.outbound));
        if let Some((first, last)) = self.span {
            let seconds = Duration::from_nanos(last - first).as_secs_f64();
            out.push_str(&format!("from {} to {} ({seconds:.3} s)\n", rfc3339(first), rfc3339(last)));
        }
        let counts = |title: &str, map: &BTreeMap<String, InOut>| {
            let rows: Vec<String> =
                map.iter().map(|(k, v)| format!("  {k:<40} in {:>8}  out {:>8}", v.inbound, v.outbound)).collect();
            format!("{title}:\n{}\n", rows.join("\n"))
        };
        out.push_str(&counts("by command", &self.commands));
        out.push_str(&counts("by peer", &self.peers));
        for (error, n) in &self.no_reply {
            out.push_str(&format!("no reply ({error}): {n}\n"));
        }
        for (text, n) in &self.error_replies {
            out.push_str(&format!("error reply {text:?}: {n}\n"));
        }
        out.push_str(&format!(
            "pushes dropped by a full queue: {}; exchanges lost in recording: {}; clean ends: {}\n",
            self.dropped_pushes, self.lost, self.ended
        ));
        for damaged in &self.damaged {
            out.push_str(&format!("damaged line {}:{}: {}\n", damaged.file, damaged.line, damaged.reason));
        }
        for e in &self.listing {
            let reply = match (&e.reply, &e.error) {
                (Some(reply), _) => format!("[{}]", reply.join(", ")),
                (None, error) => format!("no reply ({})", error.as_deref().unwrap_or("")),
            };
            let dropped = if e.dropped { " (dropped)" } else { "" };
            out.push_str(&format!(
                "{:>8} {} {:<3} {} {}: [{}] -> {reply}{dropped}\n",
                e.seq,
                e.time,
                e.dir.name(),
                e.peer,
                e.command,
                e.request.join(", ")
            ));
        }
        out.trim_end().to_string()
    }
}
