//! Replaying a capture: its inbound requests, in file order, against a [`Target`] — a live node
//! over CURVE ([`LiveNode`]), or a node state the node opens from a data directory (its
//! `replay` command) — each reply compared with the recorded one ([`compare`]).
//!
//! Pushes are applied as they come, so later replies can depend on them. What is not sent:
//! outbound records (our upstreams' requests; they are counted), requests outside `--from`/
//! `--to` or not in `--filter`, pushes the recording node acknowledged without processing (its
//! queue was full), and requests it never answered.

use crate::error::{CaptureError, Result};
use crate::format::{Header, Line, Record};
use crate::reader::{CaptureReader, Damaged};
use crate::show::{command_label, show_frames};
use bitmark_peer::capture::Direction;
use bitmark_peer::transport::{ClientConfig, CurveKeys, PeerInfo, ZmqClient};
use bitmark_peer::wire::ServerInfo;
use bitmark_record::Chain;
use serde::Serialize;
use serde_json::{json, Value};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Differences listed in a report; beyond this they are only counted.
pub const MAX_LISTED: usize = 1000;

/// How a live node's replies are waited for.
const LIVE_TIMEOUT: Duration = Duration::from_secs(20);

/// How fast requests are sent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Speed {
    /// One after the other, as fast as they are answered.
    #[default]
    Max,
    /// With the recorded gaps between them.
    Realtime,
}

/// Which records are replayed, and how fast.
#[derive(Clone, Debug, Default)]
pub struct ReplayOptions {
    /// The first sequence number replayed.
    pub from: Option<u64>,
    /// The last sequence number replayed.
    pub to: Option<u64>,
    /// Only requests with these function frames (`N`, `B`, `issues`...); all when empty.
    pub filter: Vec<String>,
    /// The pace.
    pub speed: Speed,
}

/// Where replayed requests are answered.
pub trait Target {
    /// What it is, for the report.
    fn describe(&self) -> String;
    /// The reply frames to `request` from `peer`, or why there are none.
    fn answer(&mut self, peer: &PeerInfo, request: &[Vec<u8>]) -> std::result::Result<Vec<Vec<u8>>, String>;
    /// Called once after the last request.
    fn finish(&mut self) -> Result<()> {
        Ok(())
    }
}

/// A live node reached over CURVE; requests go out as recorded, chain frame included.
pub struct LiveNode {
    target: String,
    client: ZmqClient,
}

impl LiveNode {
    /// Connect to `target` (`tcp://HOST:PORT` or `HOST:PORT`) whose public key is
    /// `server_key`, speaking `header`'s chain with a fresh key pair.
    pub fn connect(target: &str, server_key: [u8; 32], header: &Header) -> Result<LiveNode> {
        let chain = header_chain(header)?;
        let addr = parse_target(target)?;
        let mut config = ClientConfig::new(chain, CurveKeys::generate()?);
        config.send_timeout = LIVE_TIMEOUT;
        config.receive_timeout = LIVE_TIMEOUT;
        let mut client = ZmqClient::new(&zmq::Context::new(), config);
        client.connect(addr, server_key)?;
        Ok(LiveNode { target: format!("tcp://{addr}"), client })
    }
}

impl Target for LiveNode {
    fn describe(&self) -> String {
        format!("live node {}", self.target)
    }

    fn answer(&mut self, _peer: &PeerInfo, request: &[Vec<u8>]) -> std::result::Result<Vec<Vec<u8>>, String> {
        self.client.send_unprefixed(request).and_then(|()| self.client.receive()).map_err(|e| e.to_string())
    }
}

fn parse_target(target: &str) -> Result<SocketAddr> {
    let text = target.strip_prefix("tcp://").unwrap_or(target);
    text.to_socket_addrs()
        .ok()
        .and_then(|mut addrs| addrs.next())
        .ok_or_else(|| CaptureError::Input(format!("--target {target:?}: expected tcp://HOST:PORT")))
}

/// The chain `header` was recorded on.
pub fn header_chain(header: &Header) -> Result<Chain> {
    header.chain.parse().map_err(|_| CaptureError::Input(format!("capture header: unknown chain {:?}", header.chain)))
}

/// The header on the first line of `path`.
pub fn first_header(path: &Path) -> Result<Header> {
    match CaptureReader::open(path)?.next() {
        Some((_, Ok(Line::Header(header)))) => Ok(header),
        Some((line, Err(reason))) => Err(CaptureError::Input(format!("{}:{line}: {reason}", path.display()))),
        _ => Err(CaptureError::Input(format!("{}: does not start with a capture header", path.display()))),
    }
}

/// How a reply was compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Rule {
    /// Every frame, byte for byte.
    Exact,
    /// `I`: the chain, mode and height of the JSON; not the version string (which names the
    /// build).
    InfoWithoutVersion,
    /// `R`: the frame count, `"R"` and the chain; not the peer picked (at random, with its
    /// announcement time).
    RegisterHead,
}

impl Rule {
    /// Its name, as in the JSON report.
    pub fn name(self) -> &'static str {
        match self {
            Rule::Exact => "exact",
            Rule::InfoWithoutVersion => "infoWithoutVersion",
            Rule::RegisterHead => "registerHead",
        }
    }
}

/// Compare `got` with `expected`, the recorded reply to a request with `function`: error
/// replies and everything but `I` and `R` byte for byte; see [`Rule`] for those two.
pub fn compare(function: &[u8], expected: &[Vec<u8>], got: &[Vec<u8>]) -> (Rule, bool) {
    match (function, expected.first().map(Vec::as_slice)) {
        (b"I", Some(b"I")) => {
            let info = |frames: &[Vec<u8>]| match frames {
                [head, json] if head.as_slice() == b"I" => ServerInfo::from_json(json),
                _ => None,
            };
            match (info(expected), info(got)) {
                (Some(e), Some(g)) => {
                    (Rule::InfoWithoutVersion, (e.chain, e.normal, e.height) == (g.chain, g.normal, g.height))
                }
                _ => (Rule::Exact, expected == got),
            }
        }
        (b"R", Some(b"R")) => (Rule::RegisterHead, expected.len() == got.len() && expected.get(..2) == got.get(..2)),
        _ => (Rule::Exact, expected == got),
    }
}

/// One reply that differed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The record's sequence number.
    pub seq: u64,
    /// The request's function.
    pub command: String,
    /// How the replies were compared.
    pub rule: Rule,
    /// The recorded reply, abbreviated.
    pub expected: Vec<String>,
    /// The reply now, abbreviated.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub got: Option<Vec<String>>,
    /// Why there is no reply now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why inbound records were not compared.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// Outside `--from`/`--to`.
    pub range: u64,
    /// Not in `--filter`.
    pub filter: u64,
    /// Pushes the recording node acknowledged without processing.
    pub dropped_push: u64,
    /// Requests the recording node never answered.
    pub no_reply: u64,
}

impl Skipped {
    fn total(&self) -> u64 {
        self.range + self.filter + self.dropped_push + self.no_reply
    }
}

/// What a replay found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayReport {
    /// The target, described.
    pub target: String,
    /// The capture files, in the order replayed.
    pub files: Vec<String>,
    /// Exchange records read.
    pub records: u64,
    /// Of which outbound (not replayed).
    pub outbound: u64,
    /// Inbound requests sent and their replies compared.
    pub compared: u64,
    /// Replies equal under their rule.
    pub equal: u64,
    /// Replies that differed.
    pub different: u64,
    /// Inbound records not sent, by reason.
    pub skipped: Skipped,
    /// Exchanges the recording lost (its `dropped` lines).
    pub lost: u64,
    /// Lines that are not capture lines.
    pub damaged: Vec<Damaged>,
    /// The first [`MAX_LISTED`] differences.
    pub differences: Vec<Difference>,
}

impl ReplayReport {
    /// No reply differed.
    pub fn ok(&self) -> bool {
        self.different == 0
    }

    /// The report as JSON (`--json`).
    pub fn to_json(&self) -> Value {
        json!({
            "target": self.target,
            "files": self.files,
            "records": self.records,
            "outbound": self.outbound,
            "compared": self.compared,
            "equal": self.equal,
            "different": self.different,
            "skipped": self.skipped.total(),
            "skippedBy": self.skipped,
            "lost": self.lost,
            "damaged": self.damaged,
            "differences": self.differences,
            "differencesNotListed": self.different.saturating_sub(self.differences.len() as u64),
            "ok": self.ok(),
        })
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let s = &self.skipped;
        let mut out = format!(
            "replayed {} against {}\ncompared {}: {} equal, {} different; skipped {} (range {}, filter {}, \
             dropped push {}, no reply {}); {} outbound not replayed; {} lost in recording\n",
            self.files.join(", "),
            self.target,
            self.compared,
            self.equal,
            self.different,
            s.total(),
            s.range,
            s.filter,
            s.dropped_push,
            s.no_reply,
            self.outbound,
            self.lost,
        );
        for d in &self.damaged {
            out.push_str(&format!("damaged line {}:{}: {}\n", d.file, d.line, d.reason));
        }
        for d in &self.differences {
            let got = match (&d.got, &d.error) {
                (Some(frames), _) => format!("[{}]", frames.join(", ")),
                (None, error) => format!("no reply ({})", error.as_deref().unwrap_or("")),
            };
            out.push_str(&format!(
                "seq {} {} ({}): expected [{}] got {got}\n",
                d.seq,
                d.command,
                d.rule.name(),
                d.expected.join(", ")
            ));
        }
        let unlisted = self.different.saturating_sub(self.differences.len() as u64);
        if unlisted > 0 {
            out.push_str(&format!("... and {unlisted} more differences\n"));
        }
        out.push_str(if self.ok() { "no differences" } else { "DIFFERENT" });
        out
    }
}

/// Replay the inbound requests of `paths` (one session's files, oldest first) against
/// `target`. Fails only when a file cannot be opened or names another chain than the first;
/// damaged lines are reported and skipped.
pub fn replay(paths: &[PathBuf], target: &mut dyn Target, options: &ReplayOptions) -> Result<ReplayReport> {
    let mut run = Run {
        report: ReplayReport {
            target: target.describe(),
            files: paths.iter().map(|p| p.display().to_string()).collect(),
            ..ReplayReport::default()
        },
        options,
        filter: options.filter.iter().map(|f| f.as_bytes().to_vec()).collect(),
        chain: None,
        pace: None,
    };
    for path in paths {
        let mut reader = CaptureReader::open(path)?;
        while let Some((line, content)) = reader.next() {
            match content {
                Ok(Line::Header(header)) => run.check_chain(path, &header)?,
                Ok(Line::Exchange(record)) => run.exchange(target, record),
                Ok(Line::Dropped(dropped)) => run.report.lost += dropped.count,
                Ok(Line::End(_)) => {}
                Err(reason) => run.report.damaged.push(reader.damaged(line, reason)),
            }
        }
    }
    target.finish()?;
    Ok(run.report)
}

/// A replay under way.
struct Run<'a> {
    report: ReplayReport,
    options: &'a ReplayOptions,
    filter: Vec<Vec<u8>>,
    chain: Option<String>,
    /// For `--speed realtime`: when the first request was sent, and its recorded time.
    pace: Option<(Instant, u64)>,
}

impl Run<'_> {
    fn check_chain(&mut self, path: &Path, header: &Header) -> Result<()> {
        match &self.chain {
            Some(chain) if *chain != header.chain => Err(CaptureError::Input(format!(
                "{}: recorded on chain {}, not {chain} as the first file",
                path.display(),
                header.chain
            ))),
            _ => {
                self.chain = Some(header.chain.clone());
                Ok(())
            }
        }
    }

    fn exchange(&mut self, target: &mut dyn Target, record: Record) {
        self.report.records += 1;
        if record.dir == Direction::Out {
            self.report.outbound += 1;
            return;
        }
        let skipped = &mut self.report.skipped;
        let in_range = self.options.from.is_none_or(|from| record.seq >= from)
            && self.options.to.is_none_or(|to| record.seq <= to);
        if !in_range {
            skipped.range += 1;
            return;
        }
        if !self.filter.is_empty() && !self.filter.iter().any(|f| f.as_slice() == record.function()) {
            skipped.filter += 1;
            return;
        }
        if record.dropped {
            skipped.dropped_push += 1;
            return;
        }
        let Some(expected) = record.reply.as_ref() else {
            skipped.no_reply += 1;
            return;
        };
        self.wait_for(record.time);
        let peer = PeerInfo {
            address: record.peer.address.clone(),
            routing_id: record.peer.routing_id.clone(),
            public_key: record.peer.key.clone(),
        };
        let got = target.answer(&peer, &record.request);
        self.report.compared += 1;
        let (rule, same) = match &got {
            Ok(got) => compare(record.function(), expected, got),
            Err(_) => (Rule::Exact, false),
        };
        if same {
            self.report.equal += 1;
            return;
        }
        self.report.different += 1;
        if self.report.differences.len() < MAX_LISTED {
            let (got, error) = match got {
                Ok(frames) => (Some(show_frames(&frames)), None),
                Err(e) => (None, Some(e)),
            };
            self.report.differences.push(Difference {
                seq: record.seq,
                command: command_label(record.function()),
                rule,
                expected: show_frames(expected),
                got,
                error,
            });
        }
    }

    /// At `--speed realtime`, sleep until `time` is as far from the first request's recorded
    /// time as now is from when it was sent.
    fn wait_for(&mut self, time: u64) {
        if self.options.speed != Speed::Realtime {
            return;
        }
        let (started, first) = *self.pace.get_or_insert((Instant::now(), time));
        let due = started + Duration::from_nanos(time.saturating_sub(first));
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(parts: &[&[u8]]) -> Vec<Vec<u8>> {
        parts.iter().map(|p| p.to_vec()).collect()
    }

    #[test]
    fn i_replies_are_compared_without_the_version() {
        let info = |version: &str, height: u64| {
            let json = format!(r#"{{"version":"{version}","chain":"local","normal":true,"height":{height}}}"#);
            frames(&[b"I", json.as_bytes()])
        };
        assert_eq!(
            compare(b"I", &info("bitmark-node 0.1.0", 7), &info("bitmark-node 9.9.9", 7)),
            (Rule::InfoWithoutVersion, true)
        );
        assert_eq!(compare(b"I", &info("x", 7), &info("x", 8)), (Rule::InfoWithoutVersion, false));
        assert_eq!(compare(b"I", &info("x", 7), &frames(&[b"I", b"{}"])), (Rule::Exact, false));
        let error = frames(&[b"E", b"invalid chain"]);
        assert_eq!(compare(b"I", &error, &error), (Rule::Exact, true));
    }

    #[test]
    fn r_replies_are_compared_on_their_head() {
        let r = |key: &[u8], ts: u64| frames(&[b"R", b"local", key, b"listeners", &ts.to_be_bytes()]);
        assert_eq!(compare(b"R", &r(b"k1", 1), &r(b"k2", 2)), (Rule::RegisterHead, true));
        let error = frames(&[b"E", b"invalid public key"]);
        assert_eq!(compare(b"R", &r(b"k1", 1), &error), (Rule::RegisterHead, false));
        assert_eq!(compare(b"R", &error, &r(b"k1", 1)), (Rule::Exact, false));
    }

    #[test]
    fn everything_else_is_compared_byte_for_byte() {
        let n = |h: u64| frames(&[b"N", &h.to_be_bytes()]);
        assert_eq!(compare(b"N", &n(7), &n(7)), (Rule::Exact, true));
        assert_eq!(compare(b"N", &n(7), &n(8)), (Rule::Exact, false));
        assert_eq!(compare(b"issues", &frames(&[b"issues", b"A"]), &frames(&[b"issues", b"A"])), (Rule::Exact, true));
    }

    #[test]
    fn targets_are_host_and_port() {
        assert_eq!(parse_target("tcp://127.0.0.1:5").unwrap(), "127.0.0.1:5".parse().unwrap());
        assert_eq!(parse_target("127.0.0.1:5").unwrap(), "127.0.0.1:5".parse().unwrap());
        assert!(parse_target("tcp://nowhere").is_err());
    }
}
