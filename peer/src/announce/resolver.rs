//! The real DNS behind the bootstrap: [`SystemLookup`], a [`NodeLookup`] over
//! `hickory-resolver`'s synchronous resolver (TXT records) and a plain UDP exchange (the SOA
//! TTL that sets the refresh interval), with bounded timeouts.
//!
//! Why two paths: TXT records go through a full resolver (search list, retries, TCP when a
//! reply is truncated), as Go's `net.LookupTXT` does for bitmarkd. The refresh TTL is bitmarkd's
//! own probe (`announce/domain/domain.go`, `interval`): one SOA query for `domain.` to each of
//! the first three nameservers in turn, reading the *first record of each section* of the raw
//! reply (answer, then authority, then additional). A resolver hides the sections (a negative
//! answer's SOA becomes an error value, the additional section is dropped), so that probe is
//! a single UDP exchange per nameserver, built and parsed with the resolver's own DNS codec.
//!
//! The resolver runs its own single-threaded tokio runtime; do not call a [`SystemLookup`] from
//! inside another tokio runtime (tokio refuses to block there). Nothing else in this crate
//! uses tokio.

use super::bootstrap::{NodeLookup, MAX_REFRESH};
use crate::announce::AnnounceError;
use hickory_resolver::config::{NameServerConfig, Protocol, ResolverConfig, ResolverOpts, ServerOrderingStrategy};
use hickory_resolver::error::{ResolveError, ResolveErrorKind};
use hickory_resolver::proto::op::{Message, MessageType, OpCode, Query};
use hickory_resolver::proto::rr::{Name, RecordType};
use hickory_resolver::system_conf::parse_resolv_conf;
use hickory_resolver::Resolver;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{Duration, Instant};
use tracing::debug;

const TARGET: &str = "peer::announce";

/// Where the system's nameservers are read from.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";

/// Longest wait for one DNS reply (miekg/dns's default read timeout, which bitmarkd's SOA probe
/// uses). A `timeout:` option in resolv.conf can only shorten it.
pub const DNS_TIMEOUT: Duration = Duration::from_secs(2);

/// How many times a failed TXT query is retried (after the first try). An `attempts:` option in
/// resolv.conf can only lower it. A TXT lookup against one silent nameserver thus fails after
/// about `DNS_TIMEOUT * (1 + DNS_ATTEMPTS)`.
pub const DNS_ATTEMPTS: usize = 1;

/// How many nameservers the SOA probe asks, in order (bitmarkd: the first three, as resolv.conf
/// allows at most three).
pub const SOA_SERVERS: usize = 3;

/// The standard DNS port.
const DNS_PORT: u16 = 53;

/// Largest UDP reply we read (a reply is at most 512 bytes without EDNS, which we do not send).
const MAX_UDP_REPLY: usize = 4096;

/// DNS through the system's nameservers (or given ones): TXT lookups and bitmarkd's SOA TTL.
pub struct SystemLookup {
    resolver: Resolver,
    /// Every configured nameserver, in order (UDP addresses; the resolver also has TCP).
    nameservers: Vec<SocketAddr>,
    timeout: Duration,
}

impl fmt::Debug for SystemLookup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SystemLookup")
            .field("nameservers", &self.nameservers)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl SystemLookup {
    /// The nameservers, search list and `ndots` of [`RESOLV_CONF`] (see
    /// [`SystemLookup::from_resolv_conf`]). An unreadable file is [`AnnounceError::DnsLookup`].
    pub fn from_system() -> Result<SystemLookup, AnnounceError> {
        SystemLookup::from_resolv_conf_file(Path::new(RESOLV_CONF))
    }

    /// [`SystemLookup::from_resolv_conf`] on the contents of `path`.
    pub fn from_resolv_conf_file(path: &Path) -> Result<SystemLookup, AnnounceError> {
        let text =
            std::fs::read(path).map_err(|e| AnnounceError::DnsLookup(format!("reading {}: {e}", path.display())))?;
        SystemLookup::from_resolv_conf(&text)
    }

    /// From resolv.conf text: its nameservers (port 53, UDP with TCP for truncated replies), its
    /// search list and `ndots`; its `timeout` and `attempts` capped at [`DNS_TIMEOUT`] and
    /// [`DNS_ATTEMPTS`]. With no `nameserver` line, 127.0.0.1 and ::1 are used, as Go's and
    /// glibc's resolvers do. Text that does not parse is [`AnnounceError::DnsLookup`].
    pub fn from_resolv_conf(text: &[u8]) -> Result<SystemLookup, AnnounceError> {
        let (config, options) =
            parse_resolv_conf(text).map_err(|e| AnnounceError::DnsLookup(format!("reading resolv.conf: {e}")))?;
        let mut nameservers = udp_servers(config.name_servers());
        if nameservers.is_empty() {
            nameservers = [IpAddr::V4(Ipv4Addr::LOCALHOST), IpAddr::V6(Ipv6Addr::LOCALHOST)]
                .into_iter()
                .map(|ip| SocketAddr::new(ip, DNS_PORT))
                .collect();
        }
        let mut search = config.search().to_vec();
        if search.is_empty() {
            search.extend(config.domain().cloned());
        }
        SystemLookup::build(nameservers, search, options)
    }

    /// These nameservers only, in order, no search list: for tests and for operators who want
    /// the bootstrap to ask a given server. Each is asked over UDP (and TCP for a truncated
    /// reply). None at all is [`AnnounceError::NoResolver`].
    pub fn with_nameservers(nameservers: &[SocketAddr]) -> Result<SystemLookup, AnnounceError> {
        if nameservers.is_empty() {
            return Err(AnnounceError::NoResolver);
        }
        SystemLookup::build(nameservers.to_vec(), Vec::new(), ResolverOpts::default())
    }

    fn build(
        nameservers: Vec<SocketAddr>,
        search: Vec<Name>,
        base: ResolverOpts,
    ) -> Result<SystemLookup, AnnounceError> {
        let servers: Vec<NameServerConfig> = nameservers
            .iter()
            .flat_map(|&addr| [NameServerConfig::new(addr, Protocol::Udp), NameServerConfig::new(addr, Protocol::Tcp)])
            .collect();
        let config = ResolverConfig::from_parts(None, search, servers);
        let options = bounded(base);
        let timeout = options.timeout;
        let resolver = Resolver::new(config, options)
            .map_err(|e| AnnounceError::DnsLookup(format!("starting the resolver: {e}")))?;
        Ok(SystemLookup { resolver, nameservers, timeout })
    }

    /// The nameservers asked, in order.
    pub fn nameservers(&self) -> &[SocketAddr] {
        &self.nameservers
    }

    /// The longest wait for one reply.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }
}

/// `options` with our bounds: short timeouts, few retries, no hosts file (it has no TXT
/// records), and one query at a time to the nameservers in their configured order, as Go's
/// resolver asks them (hickory would otherwise ask two at once, in an order it learns).
fn bounded(mut options: ResolverOpts) -> ResolverOpts {
    options.timeout = options.timeout.min(DNS_TIMEOUT);
    options.attempts = options.attempts.min(DNS_ATTEMPTS);
    options.use_hosts_file = false;
    options.num_concurrent_reqs = 1;
    options.server_ordering_strategy = ServerOrderingStrategy::UserProvidedOrder;
    options
}

/// The distinct UDP nameserver addresses of a resolver configuration, in order.
fn udp_servers(configs: &[NameServerConfig]) -> Vec<SocketAddr> {
    let mut servers: Vec<SocketAddr> = Vec::new();
    for config in configs.iter().filter(|c| c.protocol == Protocol::Udp) {
        if !servers.contains(&config.socket_addr) {
            servers.push(config.socket_addr);
        }
    }
    servers
}

impl NodeLookup for SystemLookup {
    /// Each TXT record's character-strings concatenated with nothing between them (Go's
    /// `LookupTXT`), bytes that are not UTF-8 replaced. No records (NXDOMAIN or an empty
    /// answer) is an error, as in Go. The cache is cleared first: every lookup asks the
    /// nameservers, as bitmarkd's does.
    fn txt(&mut self, domain: &str) -> Result<Vec<String>, AnnounceError> {
        self.resolver.clear_cache();
        let lookup = self.resolver.txt_lookup(domain).map_err(|e| txt_error(domain, &e))?;
        Ok(lookup.iter().map(|txt| String::from_utf8_lossy(&txt.txt_data().concat()).into_owned()).collect())
    }

    /// bitmarkd's probe: a SOA query for `domain.` to each of the first [`SOA_SERVERS`]
    /// nameservers in turn; the first positive TTL below [`MAX_REFRESH`] among the first records
    /// of the answer, authority and additional sections wins. If no reply has one, the TTL of
    /// the first record seen (which gives the hour), or `None` if no nameserver answered with
    /// any record.
    fn refresh_ttl(&mut self, domain: &str) -> Option<Duration> {
        let name = match soa_name(domain) {
            Ok(name) => name,
            Err(e) => {
                debug!(target: TARGET, domain, error = %e, "SOA query not sent");
                return None;
            }
        };
        let mut fallback = None;
        for &server in self.nameservers.iter().take(SOA_SERVERS) {
            match exchange_soa(&name, server, self.timeout) {
                Ok(reply) => {
                    let ttls = first_ttls(&reply);
                    if let Some(ttl) = ttls.iter().copied().find(|ttl| is_short(*ttl)) {
                        return Some(ttl);
                    }
                    fallback = fallback.or(ttls.first().copied());
                }
                Err(e) => debug!(target: TARGET, domain, %server, error = %e, "SOA query failed"),
            }
        }
        fallback
    }
}

/// A TTL bitmarkd takes as the refresh interval: positive and below the hour.
fn is_short(ttl: Duration) -> bool {
    !ttl.is_zero() && ttl < MAX_REFRESH
}

/// The TTLs of the first record of the answer, authority and additional sections, in that
/// order, skipping empty sections.
fn first_ttls(reply: &Message) -> Vec<Duration> {
    [reply.answers(), reply.name_servers(), reply.additionals()]
        .into_iter()
        .filter_map(|section| section.first())
        .map(|record| Duration::from_secs(record.ttl().into()))
        .collect()
}

/// `domain` as the absolute name bitmarkd asks the SOA of (`domain + "."`).
fn soa_name(domain: &str) -> Result<Name, AnnounceError> {
    let absolute = if domain.ends_with('.') { domain.to_string() } else { format!("{domain}.") };
    Name::from_ascii(&absolute).map_err(|e| AnnounceError::DnsLookup(format!("{domain}: {e}")))
}

/// One SOA query for `name` to `server` over UDP (recursion desired, no EDNS, as miekg/dns's
/// `SetQuestion` builds it) and its reply, waiting at most `timeout`. Replies with another id,
/// or that do not parse, are ignored until the time is up.
fn exchange_soa(name: &Name, server: SocketAddr, timeout: Duration) -> Result<Message, AnnounceError> {
    let id: u16 = rand::random();
    let mut query = Message::new();
    query
        .set_id(id)
        .set_message_type(MessageType::Query)
        .set_op_code(OpCode::Query)
        .set_recursion_desired(true)
        .add_query(Query::query(name.clone(), RecordType::SOA));
    let packet = query.to_vec().map_err(|e| AnnounceError::DnsLookup(format!("encoding SOA query: {e}")))?;

    let io = |e: std::io::Error| AnnounceError::DnsLookup(format!("SOA query to {server}: {e}"));
    let local: SocketAddr = match server {
        SocketAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).map_err(io)?;
    // Connected, so only the server's datagrams arrive and a refusal is reported at once.
    socket.connect(server).map_err(io)?;
    socket.send(&packet).map_err(io)?;

    let deadline = Instant::now() + timeout;
    let mut buffer = vec![0u8; MAX_UDP_REPLY];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(AnnounceError::DnsLookup(format!("SOA query to {server}: timed out")));
        }
        socket.set_read_timeout(Some(left)).map_err(io)?;
        let size = match socket.recv(&mut buffer) {
            Ok(size) => size,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
            Err(e) => return Err(io(e)),
        };
        let reply = buffer.get(..size).and_then(|bytes| Message::from_vec(bytes).ok());
        if let Some(reply) = reply.filter(|r| r.id() == id && r.message_type() == MessageType::Response) {
            return Ok(reply);
        }
    }
}

/// A failed TXT lookup as [`AnnounceError::DnsLookup`], saying which domain and why in few words.
fn txt_error(domain: &str, error: &ResolveError) -> AnnounceError {
    let why = match error.kind() {
        ResolveErrorKind::NoRecordsFound { response_code, .. } => format!("no TXT records ({response_code})"),
        ResolveErrorKind::Timeout => "timed out".to_string(),
        _ => error.to_string(),
    };
    AnnounceError::DnsLookup(format!("TXT {domain}: {why}"))
}
