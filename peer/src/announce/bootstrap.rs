//! Bootstrap from DNS TXT records (bitmarkd `announce/domain`, `docs/protocol.md#dns-bootstrap`):
//! the `nodes` setting, the injectable lookup, and the refresh schedule.
//!
//! Differences from bitmarkd: `nodes = none` works (bitmarkd refuses to start,
//! `docs/protocol.md#an-empty-node-domain-is-fatal`); a failed lookup is logged and retried after
//! [`RETRY_AFTER`] instead of stopping the node at start-up; the refresh interval has a floor of
//! [`MIN_REFRESH`] so a tiny TTL cannot make us hammer the resolver.
//!
//! The lookup is a [`NodeLookup`]: [`SystemLookup`](super::resolver::SystemLookup) is the real
//! one (the nameservers of /etc/resolv.conf, or given ones; TXT through `hickory-resolver`,
//! the refresh TTL by bitmarkd's own SOA probe; see [`super::resolver`]).
//! [`FixedRecords`] serves TXT strings from configuration (local test networks without DNS)
//! and [`NotConfigured`] fails every lookup.
//!
//! Each lookup turns the TXT strings into records ([`super::txt`]) and adds every valid one's
//! key and listeners to the peer table; the next lookup follows [`refresh_interval`] of the
//! SOA TTL after a success, [`RETRY_AFTER`] after a failure.

use super::announcer::Announcer;
use super::txt::{parse_all, TxtRecord};
use crate::announce::AnnounceError;
use bitmark_record::Chain;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};
use tracing::{info, warn};

const TARGET: &str = "peer::announce";

/// Longest time between two lookups (bitmarkd's `timeInterval`), used when no shorter TTL is
/// known.
pub const MAX_REFRESH: Duration = Duration::from_secs(60 * 60);

/// Shortest time between two lookups, whatever the TTL says (ours; bitmarkd has none).
pub const MIN_REFRESH: Duration = Duration::from_secs(60);

/// Wait after a failed lookup before trying again (ours; bitmarkd waits a full interval, and
/// at start-up gives up).
pub const RETRY_AFTER: Duration = Duration::from_secs(5 * 60);

/// The `nodes` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Nodes {
    /// `none`: no DNS bootstrap.
    None,
    /// `chain`: the chain's own domain (see [`Nodes::domain`]).
    Chain,
    /// Any other value: that domain.
    Domain(String),
}

impl std::str::FromStr for Nodes {
    type Err = AnnounceError;

    /// `none`, `chain` or a domain; empty is [`AnnounceError::BlankNodes`], as in bitmarkd.
    fn from_str(text: &str) -> Result<Nodes, AnnounceError> {
        match text {
            "" => Err(AnnounceError::BlankNodes),
            "none" => Ok(Nodes::None),
            "chain" => Ok(Nodes::Chain),
            domain => Ok(Nodes::Domain(domain.to_string())),
        }
    }
}

impl Nodes {
    /// The domain to look up on `chain`, or `None` for `none`.
    pub fn domain(&self, chain: Chain) -> Option<String> {
        match self {
            Nodes::None => None,
            Nodes::Chain => Some(
                match chain {
                    Chain::Bitmark => "nodes.live.bitmark.com",
                    Chain::Testing => "nodes.test.bitmark.com",
                    Chain::Local => "nodes.localdomain",
                }
                .to_string(),
            ),
            Nodes::Domain(domain) => Some(domain.clone()),
        }
    }
}

/// DNS as the bootstrap needs it. Implementations may block (the runner thread calls them).
pub trait NodeLookup: Send {
    /// The TXT strings of `domain` (each record's strings joined, as Go's `LookupTXT` gives).
    /// A failure is [`AnnounceError::DnsLookup`] (or [`AnnounceError::NoResolver`]).
    fn txt(&mut self, domain: &str) -> Result<Vec<String>, AnnounceError>;

    /// The TTL bitmarkd would use as the refresh interval, from a SOA query for `domain.`: the
    /// first positive TTL below [`MAX_REFRESH`] among the first records of the answer, authority
    /// and additional sections (in that order; nameservers in turn), else any TTL seen (an hour
    /// or more, or zero: [`refresh_interval`] makes it the hour). `None` if unknown.
    fn refresh_ttl(&mut self, _domain: &str) -> Option<Duration> {
        None
    }
}

/// A lookup that always fails with [`AnnounceError::NoResolver`].
#[derive(Clone, Copy, Debug, Default)]
pub struct NotConfigured;

impl NodeLookup for NotConfigured {
    fn txt(&mut self, _domain: &str) -> Result<Vec<String>, AnnounceError> {
        Err(AnnounceError::NoResolver)
    }
}

/// TXT strings given in advance, by domain (configuration for a local test network, or tests),
/// with an optional TTL. An unknown domain fails.
#[derive(Clone, Debug, Default)]
pub struct FixedRecords {
    /// TXT strings by domain.
    pub records: BTreeMap<String, Vec<String>>,
    /// What [`NodeLookup::refresh_ttl`] answers.
    pub ttl: Option<Duration>,
}

impl NodeLookup for FixedRecords {
    fn txt(&mut self, domain: &str) -> Result<Vec<String>, AnnounceError> {
        self.records.get(domain).cloned().ok_or_else(|| AnnounceError::DnsLookup(format!("no records for {domain}")))
    }

    fn refresh_ttl(&mut self, _domain: &str) -> Option<Duration> {
        self.ttl
    }
}

/// The refresh interval for a TTL: bitmarkd uses a positive TTL below an hour, else an hour;
/// we also keep it at least [`MIN_REFRESH`].
pub fn refresh_interval(ttl: Option<Duration>) -> Duration {
    match ttl {
        Some(ttl) if !ttl.is_zero() && ttl < MAX_REFRESH => ttl.max(MIN_REFRESH),
        _ => MAX_REFRESH,
    }
}

/// The periodic lookup of one domain, feeding the peer table.
pub struct Bootstrap {
    domain: String,
    lookup: Box<dyn NodeLookup>,
    next: Option<SystemTime>,
}

impl fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bootstrap").field("domain", &self.domain).field("next", &self.next).finish()
    }
}

impl Bootstrap {
    /// The bootstrap for `nodes` on `chain`; `None` for `nodes = none`. The first lookup is due
    /// at once.
    pub fn new(nodes: &Nodes, chain: Chain, lookup: Box<dyn NodeLookup>) -> Option<Bootstrap> {
        nodes.domain(chain).map(|domain| Bootstrap { domain, lookup, next: None })
    }

    /// The domain looked up.
    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// When the next lookup is due (`None`: now).
    pub fn next_due(&self) -> Option<SystemTime> {
        self.next
    }

    /// Whether a lookup is due at `now`.
    pub fn is_due(&self, now: SystemTime) -> bool {
        self.next.is_none_or(|next| now >= next)
    }

    /// Look the domain up and add each valid record's key and listeners to the peer table,
    /// stamped `now` (bitmarkd's `addTXTs`; the RPC fields are not used). Schedules the next
    /// lookup and returns the number of valid records.
    pub fn run(&mut self, announcer: &Announcer, now: SystemTime) -> Result<usize, AnnounceError> {
        let result = self.lookup.txt(&self.domain);
        let records: Vec<TxtRecord> = match result {
            Ok(texts) => parse_all(&texts),
            Err(e) => {
                warn!(target: TARGET, domain = self.domain, error = %e, "node lookup failed");
                self.next = Some(now + RETRY_AFTER);
                return Err(e);
            }
        };
        let added = announcer.add_records(&records, now);
        let interval = refresh_interval(self.lookup.refresh_ttl(&self.domain));
        self.next = Some(now + interval);
        info!(target: TARGET, domain = self.domain, records = records.len(), added, ?interval, "node lookup");
        Ok(records.len())
    }
}
