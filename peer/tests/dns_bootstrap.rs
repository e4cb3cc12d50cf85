//! The DNS bootstrap against a real (tiny) DNS server: `SystemLookup` asks a UDP responder on
//! 127.0.0.1 that hand-encodes its answers, so the TXT joining, the peers added, the SOA-driven
//! refresh interval and the timeouts are tested over the wire without the internet.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use bitmark_peer::announce::resolver::{DNS_ATTEMPTS, DNS_TIMEOUT};
use bitmark_peer::announce::{Announcer, Bootstrap, NodeLookup, Nodes, SystemLookup, TableLimits};
use bitmark_peer::clock::{Clock, ManualClock};
use bitmark_peer::wire::packed_address::pack_all;
use bitmark_peer::PeerError;
use bitmark_record::Chain;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------------
// The responder: one zone, answered over UDP with hand-built DNS messages (RFC 1035, section 4).
// ---------------------------------------------------------------------------------------------

const TYPE_TXT: u16 = 16;
const TYPE_SOA: u16 = 6;
const NXDOMAIN: u16 = 3;

/// What the responder serves: a zone apex with its SOA TTL, and TXT records at names in it
/// (per name, one entry per TXT record, each a list of character-strings).
struct Zone {
    apex: &'static str,
    soa_ttl: u32,
    txt: Vec<(&'static str, Vec<Vec<String>>)>,
}

/// A domain name in wire form: length-prefixed labels, then the root's zero.
fn wire_name(name: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for label in name.split('.').filter(|l| !l.is_empty()) {
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    out.push(0);
    out
}

/// One resource record: owner, type, class IN, TTL, then the length-prefixed data.
fn rr(owner: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut out = owner.to_vec();
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ttl.to_be_bytes());
    out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    out.extend_from_slice(rdata);
    out
}

impl Zone {
    /// The zone's SOA record: primary server, mailbox, then serial, refresh, retry, expire and
    /// minimum (the values do not matter here, only the record's TTL).
    fn soa(&self) -> Vec<u8> {
        let mut rdata = wire_name(&format!("ns.{}", self.apex));
        rdata.extend(wire_name(&format!("hostmaster.{}", self.apex)));
        for value in [1u32, 3600, 600, 86_400, 60] {
            rdata.extend_from_slice(&value.to_be_bytes());
        }
        rr(&wire_name(self.apex), TYPE_SOA, self.soa_ttl, &rdata)
    }

    /// The reply to `query`, or `None` for a packet that is not a one-question query.
    ///
    /// TXT at a name with records: those records. SOA at the apex: the SOA as the answer. Any
    /// other question about a known name: no answer, the SOA in the authority section (what an
    /// authoritative server says for "no such type here"). Unknown names: NXDOMAIN, likewise.
    fn reply(&self, query: &[u8]) -> Option<Vec<u8>> {
        let header = query.get(..12)?;
        if header[2] & 0x80 != 0 || header[4..6] != [0, 1] {
            return None; // a response, or not exactly one question
        }
        // The question: labels up to the root, then type and class.
        let mut at = 12;
        let mut labels = Vec::new();
        loop {
            let len = usize::from(*query.get(at)?);
            at += 1;
            if len == 0 {
                break;
            }
            labels.push(String::from_utf8_lossy(query.get(at..at + len)?).to_ascii_lowercase());
            at += len;
        }
        let qtype = u16::from_be_bytes([*query.get(at)?, *query.get(at + 1)?]);
        let question = query.get(12..at + 4)?;
        let name = labels.join(".");

        let records = self.txt.iter().find(|(n, _)| *n == name).map(|(_, records)| records);
        let (rcode, answers, authority) = match (qtype, records) {
            (TYPE_TXT, Some(records)) => (0, records.iter().map(|strings| txt_rr(strings)).collect(), vec![]),
            (TYPE_SOA, _) if name == self.apex => (0, vec![self.soa()], vec![]),
            (_, Some(_)) => (0, vec![], vec![self.soa()]),
            _ if name == self.apex => (0, vec![], vec![self.soa()]),
            _ => (NXDOMAIN, vec![], vec![self.soa()]),
        };

        // Header: the query's id; QR, AA and RA set, RD copied; counts.
        let mut out = header[..2].to_vec();
        let flags = 0x8480 | (u16::from(header[2] & 0x01) << 8) | rcode;
        out.extend_from_slice(&flags.to_be_bytes());
        for count in [1, answers.len(), authority.len(), 0] {
            out.extend_from_slice(&(count as u16).to_be_bytes());
        }
        out.extend_from_slice(question);
        answers.iter().chain(&authority).for_each(|record| out.extend_from_slice(record));
        Some(out)
    }
}

/// A TXT record owned by the question's name (the pointer 0xC00C: offset 12, where the
/// question starts), its data one length-prefixed character-string after another.
fn txt_rr(strings: &[String]) -> Vec<u8> {
    let mut rdata = Vec::new();
    for s in strings {
        rdata.push(s.len() as u8);
        rdata.extend_from_slice(s.as_bytes());
    }
    rr(&[0xC0, 0x0C], TYPE_TXT, 60, &rdata)
}

/// A responder thread on 127.0.0.1, answering until dropped (or for 30 s at most, so a test
/// that goes wrong cannot leave it behind).
struct Responder {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Responder {
    fn start(zone: Zone) -> Responder {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(30);
            let mut buffer = [0u8; 512];
            while !stopped.load(Ordering::Relaxed) && Instant::now() < deadline {
                let Ok((size, from)) = socket.recv_from(&mut buffer) else { continue };
                if let Some(reply) = zone.reply(&buffer[..size]) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        Responder { addr, stop, thread: Some(thread) }
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// ---------------------------------------------------------------------------------------------
// bitmarkd records and the tests.
// ---------------------------------------------------------------------------------------------

const FINGERPRINT: &str = "48137a7a76934cafe7635c9ac05339c20f4c00a724d7fa1dc0dc3875476ed004";

fn key(n: u8) -> [u8; 32] {
    [n; 32]
}

/// A bitmarkd v3 node record for key `n` at `a`, cut into character-strings at `cuts` (byte
/// offsets), as a zone file may hold a long record.
fn node_record(n: u8, a: &str, cuts: &[usize]) -> Vec<String> {
    let text = format!("bitmark=v3 a={a} c=22136 r=22130 f={FINGERPRINT} p={}", hex::encode(key(n)));
    let mut strings = Vec::new();
    let mut from = 0;
    for &cut in cuts.iter().chain([&text.len()]) {
        strings.push(text[from..cut].to_string());
        from = cut;
    }
    strings
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The `local` chain's `nodes = chain` domain, in a zone whose SOA has `soa_ttl`.
fn localdomain(soa_ttl: u32) -> Zone {
    Zone {
        apex: "localdomain",
        soa_ttl,
        txt: vec![(
            "nodes.localdomain",
            vec![
                node_record(1, "127.0.0.1;[::1]", &[]),
                node_record(2, "127.0.0.2", &[11, 40, 100]),
                strings(&["v=spf1 -all"]),
            ],
        )],
    }
}

fn announcer() -> (Arc<ManualClock>, Announcer) {
    let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
    let announcer = Announcer::new(key(0xEE), &[], TableLimits::default(), clock.clone());
    (clock, announcer)
}

#[test]
fn txt_strings_are_joined_per_record() {
    let zone = Zone {
        apex: "example.test",
        soa_ttl: 300,
        txt: vec![(
            "nodes.example.test",
            vec![strings(&["one"]), strings(&["two ", "strings"]), strings(&["cut", "-in-", "the middle"])],
        )],
    };
    let responder = Responder::start(zone);
    let mut lookup = SystemLookup::with_nameservers(&[responder.addr]).unwrap();
    assert_eq!(lookup.nameservers(), [responder.addr]);
    assert_eq!(lookup.txt("nodes.example.test").unwrap(), ["one", "two strings", "cut-in-the middle"]);
    // A trailing dot names the same domain.
    assert_eq!(lookup.txt("nodes.example.test.").unwrap().len(), 3);

    let started = Instant::now();
    let missing = lookup.txt("missing.example.test").unwrap_err();
    assert!(started.elapsed() < DNS_TIMEOUT, "NXDOMAIN is an answer, not a timeout");
    assert!(matches!(missing, PeerError::DnsLookup(_)));
    assert_eq!(missing.to_string(), "DNS lookup: TXT missing.example.test: no TXT records (Non-Existent Domain)");
    // A name that exists but has no TXT records fails too (Go's LookupTXT does).
    assert!(matches!(lookup.txt("example.test"), Err(PeerError::DnsLookup(_))));
}

#[test]
fn bootstrap_adds_the_peers_of_bitmarkd_records() {
    let responder = Responder::start(localdomain(300));
    let lookup = SystemLookup::with_nameservers(&[responder.addr]).unwrap();
    let (clock, announcer) = announcer();
    let now = clock.wall();
    let mut bootstrap = Bootstrap::new(&Nodes::Chain, Chain::Local, Box::new(lookup)).unwrap();
    assert_eq!(bootstrap.domain(), "nodes.localdomain");

    // Two node records (the second cut into four strings); the SPF record is not one.
    assert_eq!(bootstrap.run(&announcer, now).unwrap(), 2);
    let one = announcer.peer(&key(1)).unwrap();
    let both: [SocketAddr; 2] = ["127.0.0.1:22136".parse().unwrap(), "[::1]:22136".parse().unwrap()];
    assert_eq!(one.listeners, pack_all(&both));
    assert_eq!(one.timestamp, now);
    let two = announcer.peer(&key(2)).unwrap();
    assert_eq!(two.listeners, pack_all(&["127.0.0.2:22136".parse().unwrap()]));
    assert_eq!(announcer.peer_count(), 3, "the two peers and ourselves");

    // The SOA TTL (300 s, from the authority section) sets the next lookup.
    assert_eq!(bootstrap.next_due(), Some(now + Duration::from_secs(300)));
}

#[test]
fn refresh_follows_the_soa_ttl_and_caps_at_an_hour() {
    let short = Responder::start(localdomain(300));
    let mut lookup = SystemLookup::with_nameservers(&[short.addr]).unwrap();
    // At the apex the SOA is the answer; below it, and for unknown names, the authority.
    for domain in ["localdomain", "nodes.localdomain", "nowhere.localdomain"] {
        assert_eq!(lookup.refresh_ttl(domain), Some(Duration::from_secs(300)), "{domain}");
    }

    let long = Responder::start(localdomain(86_400));
    let mut lookup = SystemLookup::with_nameservers(&[long.addr]).unwrap();
    assert_eq!(lookup.refresh_ttl("nodes.localdomain"), Some(Duration::from_secs(86_400)));
    let (clock, announcer) = announcer();
    let mut bootstrap = Bootstrap::new(&Nodes::Chain, Chain::Local, Box::new(lookup)).unwrap();
    assert_eq!(bootstrap.run(&announcer, clock.wall()).unwrap(), 2);
    assert_eq!(bootstrap.next_due(), Some(clock.wall() + Duration::from_secs(3600)));
}

#[test]
fn a_silent_nameserver_fails_within_the_timeout() {
    // Bound but never read: every query to it goes unanswered.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let lookup = SystemLookup::with_nameservers(&[silent_addr]).unwrap();
    assert_eq!(lookup.timeout(), DNS_TIMEOUT);
    let bound = DNS_TIMEOUT * (1 + DNS_ATTEMPTS as u32) + Duration::from_secs(2);

    let (clock, announcer) = announcer();
    let mut bootstrap = Bootstrap::new(&Nodes::Chain, Chain::Local, Box::new(lookup)).unwrap();
    let started = Instant::now();
    let error = bootstrap.run(&announcer, clock.wall()).unwrap_err();
    let took = started.elapsed();
    assert!(matches!(error, PeerError::DnsLookup(_)), "{error}");
    assert!(took >= DNS_TIMEOUT && took < bound, "failed after {took:?}");
    // Retried five minutes later.
    assert_eq!(bootstrap.next_due(), Some(clock.wall() + Duration::from_secs(300)));

    // The SOA probe gives up on it after one timeout: no TTL, so the hour.
    let mut lookup = SystemLookup::with_nameservers(&[silent_addr]).unwrap();
    let started = Instant::now();
    assert_eq!(lookup.refresh_ttl("nodes.localdomain"), None);
    assert!(started.elapsed() < DNS_TIMEOUT + Duration::from_secs(1));

    // With a working nameserver after it, both lookups get through, the silent one asked first
    // (nameservers are asked in order, one at a time).
    let responder = Responder::start(localdomain(300));
    let mut lookup = SystemLookup::with_nameservers(&[silent_addr, responder.addr]).unwrap();
    let started = Instant::now();
    assert_eq!(lookup.txt("nodes.localdomain").unwrap().len(), 3);
    assert_eq!(lookup.refresh_ttl("nodes.localdomain"), Some(Duration::from_secs(300)));
    let took = started.elapsed();
    assert!(took >= DNS_TIMEOUT * 2 && took < DNS_TIMEOUT * 2 + Duration::from_secs(2), "took {took:?}");
    drop(silent);
}

#[test]
fn nameservers_from_resolv_conf() {
    let conf = b"# comment\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch example.org\noptions timeout:9 attempts:5\n";
    let lookup = SystemLookup::from_resolv_conf(conf).unwrap();
    let expected: [SocketAddr; 2] = ["192.0.2.53:53".parse().unwrap(), "[2001:db8::53]:53".parse().unwrap()];
    assert_eq!(lookup.nameservers(), expected);
    assert_eq!(lookup.timeout(), DNS_TIMEOUT, "resolv.conf cannot lengthen the timeout");

    // No nameserver line: the local host, as Go and glibc assume.
    let lookup = SystemLookup::from_resolv_conf(b"search example.org\n").unwrap();
    let local: [SocketAddr; 2] = ["127.0.0.1:53".parse().unwrap(), "[::1]:53".parse().unwrap()];
    assert_eq!(lookup.nameservers(), local);

    assert!(matches!(SystemLookup::with_nameservers(&[]), Err(PeerError::NoResolver)));
    let missing = SystemLookup::from_resolv_conf_file(std::path::Path::new("/nonexistent/resolv.conf"));
    assert!(matches!(missing, Err(PeerError::DnsLookup(_))));
}
