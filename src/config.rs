//! The node's configuration: a TOML file with bitmarkd's concepts and names (`chain`,
//! `data_directory`, `nodes`, `fast_sync`, `standalone`, `[peering]` with `listen`, `announce`,
//! `connect`, `dynamic_connections`, `prefer_ipv6` and the key files), plus the settings that
//! are ours (`min_clients`, `status`, `capture` and its rotation, `produce_blocks`,
//! `sync_interval`, `[logging]`, listener and table bounds). Command-line flags override the
//! file, the file overrides the defaults. `bitmark-node config default` prints every setting
//! with its default ([`DEFAULT_CONFIG`]).
//!
//! [`ConfigFile`] is what the file says (serde, `deny_unknown_fields`: a misspelt key is an
//! error, never silently a default). [`Settings::resolve`] turns it into what the node runs
//! with — paths made absolute, addresses parsed, keys checked — and every refusal names the
//! field and says why ([`ConfigError`]).
//!
//! Differences from bitmarkd's configuration: it is Lua and passes the key files' *contents*
//! (`public_key = read_file("peer.public")`); here `peering.public_key`/`private_key` name the
//! files or, as bitmarkd's, hold the keys themselves (`PUBLIC:<hex>`, `PRIVATE:<hex>`), and a
//! missing pair of files is created on first run. `data_directory` defaults to the
//! directory of the configuration file (bitmarkd's `"."`), or the current directory without
//! one, instead of refusing to start. `nodes` defaults to `none`.

use crate::keyfile::{self, KeyKind, KeySource};
use crate::logging::{self, LogSettings};
use bitmark_capture::writer as capture;
use bitmark_peer::announce::{Nodes, TableLimits};
use bitmark_peer::transport::ListenerLimits;
use bitmark_record::Chain;
use serde::{Deserialize, Deserializer};
use std::fmt;
use std::net::{IpAddr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The peer listen port on the live chain (bitmarkd's 2136); `testing` adds 10000 and `local`
/// 20000 (`bitmarkd.conf.sub:65-90`).
pub const BASE_PEER_PORT: u16 = 2136;

/// bitmarkd's minimum number of connected clients before the connector trusts an election
/// (`peer/connector.go`, `minimumClients`).
pub const DEFAULT_MIN_CLIENTS: usize = 5;

/// bitmarkd's `cycleInterval`: between two runs of the connector's state machine.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(15);
/// The shortest `sync_interval`: below it elections would only burn CPU.
pub const MIN_SYNC_INTERVAL: Duration = Duration::from_millis(100);
/// The longest `sync_interval`.
pub const MAX_SYNC_INTERVAL: Duration = Duration::from_secs(3600);

/// The smallest `reservoir_cache_bytes`: below it sled would reread its pages on every write.
pub const MIN_RESERVOIR_CACHE_BYTES: u64 = 1 << 20;

/// The client RPC port on the live chain (bitmarkd's 2130); the HTTPS API's is 2131.
pub const BASE_RPC_PORT: u16 = 2130;
/// bitmarkd's default `maximum_connections` of both RPC listeners.
pub const DEFAULT_RPC_CONNECTIONS: usize = 100;
/// The default RPC certificate file, relative to the data directory.
pub const DEFAULT_RPC_CERTIFICATE: &str = "rpc.crt";
/// The default RPC private key file.
pub const DEFAULT_RPC_KEY: &str = "rpc.key";
/// The HTTPS paths with an allow list.
pub const HTTPS_APIS: [&str; 3] = ["details", "connections", "peers"];

/// The default key file names, relative to the data directory.
pub const DEFAULT_PUBLIC_KEY_FILE: &str = "peer.public";
/// See [`DEFAULT_PUBLIC_KEY_FILE`].
pub const DEFAULT_PRIVATE_KEY_FILE: &str = "peer.private";

/// `port` moved to `chain`'s range (bitmarkd's `add_port`: testing adds 10000, local 20000).
pub fn chain_port(chain: Chain, port: u16) -> u16 {
    match chain {
        Chain::Bitmark => port,
        Chain::Testing => port + 10_000,
        Chain::Local => port + 20_000,
    }
}

/// The default peer listen port of `chain`.
pub fn default_peer_port(chain: Chain) -> u16 {
    match chain {
        Chain::Bitmark => BASE_PEER_PORT,
        Chain::Testing => BASE_PEER_PORT + 10_000,
        Chain::Local => BASE_PEER_PORT + 20_000,
    }
}

/// The configuration file as written. Every field may be left out; the defaults are those
/// documented on each field.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConfigFile {
    /// `bitmark`, `testing` or `local` (default `bitmark`, as bitmarkd).
    #[serde(deserialize_with = "chain_name")]
    pub chain: Option<Chain>,
    /// Where the chain database, the key files and `peers.json` live. Relative paths are
    /// relative to the configuration file's directory. Default: that directory.
    pub data_directory: Option<PathBuf>,
    /// DNS TXT bootstrap: `none`, `chain` (the chain's own domain) or a domain (default
    /// `none`). No resolver ships yet, so anything but `none` only logs failed lookups.
    pub nodes: Option<String>,
    /// bitmarkd's fast sync: trust block digests from the next block's header while catching
    /// up, checking random samples against the elected peer (default false).
    pub fast_sync: bool,
    /// bitmarkd's standalone mode: normal mode at once, no outbound peering (default false).
    pub standalone: bool,
    /// Connected clients the connector wants before it votes; the vote quorum is
    /// `(1 + min_clients) / 2` (default 5, bitmarkd's, giving 3).
    pub min_clients: Option<usize>,
    /// Address of the HTTP status and metrics server, e.g. `127.0.0.1:22139` (default: none,
    /// no server). It has no authentication: bind it to loopback.
    pub status: Option<String>,
    /// File to record every peer message in and out, JSON Lines (default: none). Relative to
    /// the data directory.
    pub capture: Option<PathBuf>,
    /// Rotate the capture file before it grows past this many bytes (default 64 MiB, at least
    /// 4096).
    pub capture_max_bytes: Option<u64>,
    /// Rotated capture files kept, `FILE.1` (newest) to `FILE.<N>` (default 4; 0 keeps none).
    pub capture_keep: Option<usize>,
    /// The most memory the reservoir database's page cache may take, in bytes (default 16 MiB,
    /// at least 1 MiB). sled's own default is 1 GiB; the reservoir keeps what it holds in
    /// memory anyway and reads its database back only when the node starts.
    pub reservoir_cache_bytes: Option<u64>,
    /// Local chain only: build a block of the reservoir's verified items this often, e.g.
    /// `"10s"` (default: never).
    #[serde(with = "humantime_serde")]
    pub produce_blocks: Option<Duration>,
    /// How often the connector's state machine runs, e.g. `"500ms"` (default `"15s"`,
    /// bitmarkd's `cycleInterval`; at least 100 ms). The upstreams poll their peers' heights
    /// every two intervals, at most every 30 s (bitmarkd's). A node reaches normal mode a few
    /// intervals after its first peer registers, so a local test network may shorten it.
    #[serde(with = "humantime_serde")]
    pub sync_interval: Option<Duration>,
    /// Where and how the node logs.
    pub logging: LoggingFile,
    /// bitmarkd's `read_only`: the RPC refuses every write (`not available in read-only
    /// mode`); reads and the peer side are unchanged (default false).
    pub read_only: bool,
    /// Peer-to-peer settings.
    pub peering: PeeringFile,
    /// bitmarkd's client RPC (JSON-RPC over TLS); off when the table is absent.
    pub client_rpc: Option<ClientRpcFile>,
    /// bitmarkd's HTTPS API (`/bitmarkd/rpc`, `/bitmarkd/details`...); off when absent.
    pub https_rpc: Option<HttpsRpcFile>,
}

/// The `[client_rpc]` table (bitmarkd's names).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ClientRpcFile {
    /// Addresses to serve on, `HOST:PORT`, `*` for every address (default `["*:<port>"]`,
    /// the port being 2130, 12130 or 22130 by chain). Port 0 picks a free port.
    pub listen: Option<Vec<String>>,
    /// Connections served at once (default 100, bitmarkd's); more are closed.
    pub maximum_connections: usize,
    /// The TLS certificate, PEM, relative to the data directory (default `rpc.crt`).
    pub certificate: PathBuf,
    /// Its private key, PEM (default `rpc.key`). When neither file exists a self-signed
    /// ECDSA P-521 pair is made.
    pub private_key: PathBuf,
    /// Our public RPC addresses, announced to the network for `Node.List` (default none).
    pub announce: Vec<String>,
}

impl Default for ClientRpcFile {
    fn default() -> ClientRpcFile {
        ClientRpcFile {
            listen: None,
            maximum_connections: DEFAULT_RPC_CONNECTIONS,
            certificate: PathBuf::from(DEFAULT_RPC_CERTIFICATE),
            private_key: PathBuf::from(DEFAULT_RPC_KEY),
            announce: Vec::new(),
        }
    }
}

/// The `[https_rpc]` table (bitmarkd's names).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HttpsRpcFile {
    /// Addresses to serve on (default `["*:<port>"]`: 2131, 12131 or 22131 by chain).
    pub listen: Option<Vec<String>>,
    /// Requests served at once (default 100); more get 429.
    pub maximum_connections: usize,
    /// The TLS certificate (default `rpc.crt`, shared with the client RPC).
    pub certificate: PathBuf,
    /// Its private key (default `rpc.key`).
    pub private_key: PathBuf,
    /// Who may `GET` `details`, `connections` and `peers`: CIDRs per path (default loopback,
    /// `127.0.0.0/8` and `::1/128`, for each, as bitmarkd's sample configuration).
    pub allow: std::collections::BTreeMap<String, Vec<String>>,
}

impl Default for HttpsRpcFile {
    fn default() -> HttpsRpcFile {
        let loopback = vec!["127.0.0.0/8".to_string(), "::1/128".to_string()];
        HttpsRpcFile {
            listen: None,
            maximum_connections: DEFAULT_RPC_CONNECTIONS,
            certificate: PathBuf::from(DEFAULT_RPC_CERTIFICATE),
            private_key: PathBuf::from(DEFAULT_RPC_KEY),
            allow: HTTPS_APIS.iter().map(|api| (api.to_string(), loopback.clone())).collect(),
        }
    }
}

/// The `[logging]` table (bitmarkd's `logging`: level, file and its rotation).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingFile {
    /// `error`, `warn`, `info`, `debug` or `trace`, or per module as `RUST_LOG` takes it, e.g.
    /// `"info,peer::upstream=debug"` (default `info`). `RUST_LOG`, when set, wins.
    pub level: String,
    /// Log to this file, relative to the data directory, instead of stderr (default: none).
    pub file: Option<PathBuf>,
    /// Rotate the file before it grows past this many bytes (default 16 MiB, at least 4096).
    pub max_bytes: u64,
    /// Older files kept, `FILE.1` (newest) to `FILE.<keep>` (default 10, bitmarkd's).
    pub keep: usize,
    /// One JSON object per line instead of the human format (default false).
    pub json: bool,
}

impl Default for LoggingFile {
    fn default() -> LoggingFile {
        let d = LogSettings::default();
        LoggingFile { level: d.level, file: None, max_bytes: d.max_bytes, keep: d.keep, json: d.json }
    }
}

/// The `[peering]` table.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PeeringFile {
    /// Addresses to accept peers on, `HOST:PORT`; `*` is every address, IPv4 and IPv6 (default
    /// `["*:<port>"]`, the port being 2136, 12136 or 22136 by chain). Port 0 picks a free port.
    pub listen: Option<Vec<String>>,
    /// Addresses to announce to the network as ours, `IP:PORT` (default none: other nodes
    /// cannot find us, though we can still connect to them).
    pub announce: Vec<String>,
    /// Static peers, always connected (default none).
    pub connect: Vec<StaticPeerFile>,
    /// Whether the connector may connect to peers learnt from the network besides the static
    /// ones (default true, as bitmarkd).
    pub dynamic_connections: bool,
    /// Prefer a peer's IPv6 address when it has both (default true, as bitmarkd).
    pub prefer_ipv6: bool,
    /// Our public key: a key file relative to the data directory (default `peer.public`), or
    /// the key itself as bitmarkd's configurations carry it, `PUBLIC:` and 64 hex digits.
    pub public_key: String,
    /// Our private key: a file relative to the data directory (default `peer.private`), or the
    /// key itself, `PRIVATE:` and 64 hex digits. When both are files and neither exists, a new
    /// pair is made.
    pub private_key: String,
    /// Listener worker and queue bounds (see `bitmark_peer::transport::ListenerLimits`).
    pub limits: ListenerLimits,
    /// Peer and RPC table bounds (see `bitmark_peer::announce::TableLimits`).
    pub table: TableLimits,
}

impl Default for PeeringFile {
    fn default() -> PeeringFile {
        PeeringFile {
            listen: None,
            announce: Vec::new(),
            connect: Vec::new(),
            dynamic_connections: true,
            prefer_ipv6: true,
            public_key: DEFAULT_PUBLIC_KEY_FILE.to_string(),
            private_key: DEFAULT_PRIVATE_KEY_FILE.to_string(),
            limits: ListenerLimits::default(),
            table: TableLimits::default(),
        }
    }
}

/// One `[[peering.connect]]` entry, as bitmarkd writes it.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StaticPeerFile {
    /// The peer's key as its key file has it: `PUBLIC:` followed by 64 hex digits.
    pub public_key: String,
    /// Its listener, `HOST:PORT`.
    pub address: String,
}

fn chain_name<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Chain>, D::Error> {
    let name = String::deserialize(d)?;
    name.parse().map(Some).map_err(|_| {
        serde::de::Error::custom(format!("chain {name:?} is not supported: use bitmark, testing or local"))
    })
}

/// A configuration the node cannot run with: which field, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The field, as in the file (`peering.connect[1].address`) or the flag (`--connect`).
    pub field: String,
    /// What is wrong with it.
    pub reason: String,
}

impl ConfigError {
    /// `field` is wrong because of `reason`.
    pub fn new(field: impl Into<String>, reason: impl fmt::Display) -> ConfigError {
        ConfigError { field: field.into(), reason: reason.to_string() }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "configuration: {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ConfigError {}

/// Flags of `bitmark-node run`; each one given overrides the configuration file.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct RunArgs {
    /// The TOML configuration file.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// bitmark, testing or local.
    #[arg(long)]
    pub chain: Option<Chain>,
    /// The data directory (relative to the current directory).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Address to accept peers on (repeatable; replaces `peering.listen`). Port 0 picks a free
    /// port, reported when the node is ready.
    #[arg(long, value_name = "ADDR")]
    pub listen: Vec<String>,
    /// Static peer `<public key hex>@HOST:PORT` (repeatable; replaces `peering.connect`).
    #[arg(long, value_name = "KEY@HOST:PORT")]
    pub connect: Vec<String>,
    /// Clients wanted before the connector votes (quorum `(1 + K) / 2`).
    #[arg(long, value_name = "K")]
    pub min_clients: Option<usize>,
    /// Serve `/status` and `/metrics` over HTTP on this address (port 0 picks one).
    #[arg(long, value_name = "ADDR")]
    pub status: Option<String>,
    /// Record every peer message in and out to this file (JSON Lines; relative to the current
    /// directory).
    #[arg(long, value_name = "FILE")]
    pub capture: Option<PathBuf>,
    /// Rotate the capture file before it grows past this many bytes (default 64 MiB).
    #[arg(long, value_name = "BYTES")]
    pub capture_max_bytes: Option<u64>,
    /// Rotated capture files kept (default 4).
    #[arg(long, value_name = "N")]
    pub capture_keep: Option<usize>,
    /// bitmarkd's fast sync: while far behind, take each block's digest from the next block's
    /// header instead of computing Argon2d, checking one random block in 100 against the
    /// elected peer; the last 1000 blocks are always fully verified.
    #[arg(long)]
    pub fast_sync: bool,
    /// Normal mode at once, no outbound peering.
    #[arg(long)]
    pub standalone: bool,
    /// Local chain only: this often, e.g. `10s` or `500ms`, make a block of the reservoir's
    /// verified items (a bare number is seconds).
    #[arg(long, value_name = "DURATION", value_parser = parse_interval)]
    pub produce_blocks: Option<Duration>,
    /// How often the connector runs, e.g. `500ms` or `2s` (default 15s, bitmarkd's).
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub sync_interval: Option<Duration>,
    /// Log JSON lines instead of the human format (`logging.json`).
    #[arg(long)]
    pub log_json: bool,
    /// Serve bitmarkd's client RPC (JSON-RPC over TLS) on this address (repeatable; replaces
    /// `client_rpc.listen`, and turns the RPC on). Port 0 picks one.
    #[arg(long, value_name = "ADDR")]
    pub rpc: Vec<String>,
    /// Serve bitmarkd's HTTPS API on this address (repeatable; replaces `https_rpc.listen`).
    #[arg(long, value_name = "ADDR")]
    pub https_rpc: Vec<String>,
    /// Refuse every RPC write (bitmarkd's `read_only`).
    #[arg(long)]
    pub read_only: bool,
    /// Benchmarks only (`bench rpc`): no RPC rate limits, so the RPC path itself is measured.
    #[arg(long, hide = true)]
    pub rpc_unlimited: bool,
    /// Benchmarks only (`bench scale`): fetch and verify as bitmarkd does, one peer, one block
    /// in flight, one digest thread, so that its shape is measured by the same process.
    #[arg(long, hide = true)]
    pub bitmarkd_shape: bool,
}

/// The client RPC, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientRpc {
    /// Listen addresses.
    pub listen: Vec<SocketAddr>,
    /// Connections at once.
    pub maximum_connections: usize,
    /// Certificate file, absolute.
    pub certificate: PathBuf,
    /// Key file, absolute.
    pub private_key: PathBuf,
    /// Announced addresses.
    pub announce: Vec<SocketAddr>,
}

/// The HTTPS API, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpsRpc {
    /// Listen addresses.
    pub listen: Vec<SocketAddr>,
    /// Requests at once.
    pub maximum_connections: usize,
    /// Certificate file, absolute.
    pub certificate: PathBuf,
    /// Key file, absolute.
    pub private_key: PathBuf,
    /// CIDRs allowed per path.
    pub allow: std::collections::HashMap<String, Vec<ipnet::IpNet>>,
}

/// A duration as the configuration file writes it (`10s`, `1m 30s`, `500ms`), or a bare number
/// of seconds.
pub fn parse_interval(text: &str) -> Result<Duration, String> {
    match text.trim().parse::<u64>() {
        Ok(seconds) => Ok(Duration::from_secs(seconds)),
        Err(_) => humantime::parse_duration(text).map_err(|e| format!("{e}: expected a duration like 10s or 500ms")),
    }
}

/// The shortest `produce_blocks`.
pub const MIN_PRODUCE_INTERVAL: Duration = Duration::from_millis(100);

/// A static peer, resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaticPeer {
    /// Its public key (CURVE server key).
    pub public_key: [u8; 32],
    /// Its listener.
    pub address: SocketAddr,
}

/// Where the node's keys come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    /// The public key: a file (absolute) or the key.
    pub public: KeySource,
    /// The private key: a file (absolute) or the key.
    pub private: KeySource,
}

/// What the node runs with: the file and the flags merged, checked and resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The chain.
    pub chain: Chain,
    /// The data directory, absolute.
    pub data_dir: PathBuf,
    /// DNS TXT bootstrap.
    pub nodes: Nodes,
    /// Fast sync requested.
    pub fast_sync: bool,
    /// Standalone mode.
    pub standalone: bool,
    /// Clients wanted before voting.
    pub min_clients: usize,
    /// Status server address.
    pub status: Option<SocketAddr>,
    /// Capture file, absolute.
    pub capture: Option<PathBuf>,
    /// Capture file rotation size.
    pub capture_max_bytes: u64,
    /// Rotated capture files kept.
    pub capture_keep: usize,
    /// The reservoir database's page cache cap, in bytes.
    pub reservoir_cache_bytes: u64,
    /// Block production interval.
    pub produce_blocks: Option<Duration>,
    /// Between two runs of the connector's state machine.
    pub sync_interval: Duration,
    /// Logging.
    pub logging: LogSettings,
    /// Listener addresses.
    pub listen: Vec<SocketAddr>,
    /// Announced addresses.
    pub announce: Vec<SocketAddr>,
    /// Static peers.
    pub connect: Vec<StaticPeer>,
    /// Dynamic connections allowed.
    pub dynamic_connections: bool,
    /// IPv6 preferred.
    pub prefer_ipv6: bool,
    /// The key pair's files or values.
    pub keys: Keys,
    /// Listener bounds.
    pub limits: ListenerLimits,
    /// Table bounds.
    pub table: TableLimits,
    /// RPC writes refused.
    pub read_only: bool,
    /// No RPC rate limits (`bench rpc` only).
    pub rpc_unlimited: bool,
    /// Sync in bitmarkd's shape (`bench scale` only).
    pub bitmarkd_shape: bool,
    /// The client RPC, when on.
    pub client_rpc: Option<ClientRpc>,
    /// The HTTPS API, when on.
    pub https_rpc: Option<HttpsRpc>,
}

impl Settings {
    /// The vote quorum the connector uses: `(1 + min_clients) / 2`, as bitmarkd derives 3 from 5
    /// (the same as `min_clients / 2` rounded up).
    pub fn quorum(&self) -> usize {
        self.min_clients.div_ceil(2)
    }

    /// Read `args.config` (if any), apply the flags, and resolve. `cwd` anchors relative
    /// paths given on the command line.
    pub fn load(args: &RunArgs, cwd: &Path) -> Result<Settings, ConfigError> {
        let (file, file_dir) = match &args.config {
            Some(path) => {
                let path = cwd.join(path);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| ConfigError::new("--config", format!("{}: {e}", path.display())))?;
                let dir = path.parent().map_or_else(|| cwd.to_path_buf(), Path::to_path_buf);
                let file =
                    parse(&text).map_err(|e| ConfigError::new(format!("{}: {}", path.display(), e.field), e.reason))?;
                (file, dir)
            }
            None => (ConfigFile::default(), cwd.to_path_buf()),
        };
        Settings::resolve(file, args, &file_dir, cwd)
    }

    /// Merge `file` (whose relative paths are anchored at `file_dir`) with the flags in `args`
    /// (anchored at `cwd`) and check everything.
    pub fn resolve(file: ConfigFile, args: &RunArgs, file_dir: &Path, cwd: &Path) -> Result<Settings, ConfigError> {
        let chain = args.chain.or(file.chain).unwrap_or(Chain::Bitmark);
        let data_dir = match (&args.data_dir, &file.data_directory) {
            (Some(d), _) => cwd.join(d),
            (None, Some(d)) => file_dir.join(d),
            (None, None) => file_dir.to_path_buf(),
        };
        if data_dir.as_os_str().is_empty() || data_dir.is_file() {
            return Err(ConfigError::new("data_directory", format!("{} is not a directory", data_dir.display())));
        }
        let nodes = match &file.nodes {
            None => Nodes::None,
            Some(text) => text.parse().map_err(|e| ConfigError::new("nodes", e))?,
        };
        let min_clients = args.min_clients.or(file.min_clients).unwrap_or(DEFAULT_MIN_CLIENTS);
        if min_clients == 0 {
            return Err(ConfigError::new(
                field_or_flag(args.min_clients.is_some(), "min_clients"),
                "must be at least 1",
            ));
        }
        let status = match args.status.as_ref().or(file.status.as_ref()) {
            None => None,
            Some(text) => Some(
                parse_listen(text, 0)
                    .map_err(|e| ConfigError::new(field_or_flag(args.status.is_some(), "status"), e))?,
            ),
        };
        let capture_max_bytes = args.capture_max_bytes.or(file.capture_max_bytes).unwrap_or(capture::DEFAULT_MAX_BYTES);
        if capture_max_bytes < capture::MIN_MAX_BYTES {
            return Err(ConfigError::new(
                field_or_flag(args.capture_max_bytes.is_some(), "capture_max_bytes"),
                format!("must be at least {}", capture::MIN_MAX_BYTES),
            ));
        }
        let reservoir_cache_bytes = file.reservoir_cache_bytes.unwrap_or(bitmark_reservoir::DEFAULT_CACHE_BYTES);
        if reservoir_cache_bytes < MIN_RESERVOIR_CACHE_BYTES {
            return Err(ConfigError::new(
                "reservoir_cache_bytes",
                format!("must be at least {MIN_RESERVOIR_CACHE_BYTES}"),
            ));
        }
        let produce_blocks = args.produce_blocks.or(file.produce_blocks);
        if produce_blocks.is_some_and(|d| d < MIN_PRODUCE_INTERVAL) {
            return Err(ConfigError::new(
                field_or_flag(args.produce_blocks.is_some(), "produce_blocks"),
                format!("must be at least {}", humantime::format_duration(MIN_PRODUCE_INTERVAL)),
            ));
        }
        if produce_blocks.is_some() && chain != Chain::Local {
            return Err(ConfigError::new(
                field_or_flag(args.produce_blocks.is_some(), "produce_blocks"),
                "blocks can only be produced on the local chain",
            ));
        }

        let sync_interval = args.sync_interval.or(file.sync_interval).unwrap_or(DEFAULT_SYNC_INTERVAL);
        if !(MIN_SYNC_INTERVAL..=MAX_SYNC_INTERVAL).contains(&sync_interval) {
            return Err(ConfigError::new(
                field_or_flag(args.sync_interval.is_some(), "sync_interval"),
                format!(
                    "must be between {} and {}",
                    humantime::format_duration(MIN_SYNC_INTERVAL),
                    humantime::format_duration(MAX_SYNC_INTERVAL)
                ),
            ));
        }

        let logging = resolve_logging(file.logging, args.log_json, &data_dir)?;
        let peering = file.peering;
        let listen = if args.listen.is_empty() {
            let texts = peering.listen.unwrap_or_else(|| vec![format!("*:{}", default_peer_port(chain))]);
            listen_addresses(&texts, "peering.listen")?
        } else {
            listen_addresses(&args.listen, "--listen")?
        };
        let announce = peering
            .announce
            .iter()
            .enumerate()
            .map(|(i, text)| {
                parse_peer_address(text, peering.prefer_ipv6)
                    .map_err(|e| ConfigError::new(format!("peering.announce[{i}]"), e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let connect = if args.connect.is_empty() {
            peering
                .connect
                .iter()
                .enumerate()
                .map(|(i, entry)| {
                    let field = |name: &str| format!("peering.connect[{i}].{name}");
                    Ok(StaticPeer {
                        public_key: keyfile::parse(KeyKind::Public, &entry.public_key)
                            .map_err(|e| ConfigError::new(field("public_key"), expected_key(e)))?,
                        address: parse_peer_address(&entry.address, peering.prefer_ipv6)
                            .map_err(|e| ConfigError::new(field("address"), e))?,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?
        } else {
            args.connect
                .iter()
                .map(|text| parse_connect_flag(text, peering.prefer_ipv6).map_err(|e| ConfigError::new("--connect", e)))
                .collect::<Result<Vec<_>, _>>()?
        };
        let keys = Keys {
            public: KeySource::from_setting(KeyKind::Public, &peering.public_key, &data_dir)
                .map_err(|e| ConfigError::new("peering.public_key", e))?,
            private: KeySource::from_setting(KeyKind::Private, &peering.private_key, &data_dir)
                .map_err(|e| ConfigError::new("peering.private_key", e))?,
        };
        if keys.public.file().is_some() && keys.public.file() == keys.private.file() {
            return Err(ConfigError::new("peering.private_key", "must not be the public key file"));
        }
        for (field, value) in
            [("query_workers", peering.limits.query_workers), ("query_queue", peering.limits.query_queue)]
                .into_iter()
                .chain([("push_workers", peering.limits.push_workers), ("push_queue", peering.limits.push_queue)])
        {
            if value == 0 {
                return Err(ConfigError::new(format!("peering.limits.{field}"), "must be at least 1"));
            }
        }
        let client_rpc = resolve_client_rpc(file.client_rpc, args, chain, &data_dir, peering.prefer_ipv6)?;
        let https_rpc = resolve_https_rpc(file.https_rpc, args, chain, &data_dir)?;
        let settings = Settings {
            read_only: args.read_only || file.read_only,
            rpc_unlimited: args.rpc_unlimited,
            bitmarkd_shape: args.bitmarkd_shape,
            client_rpc,
            https_rpc,
            chain,
            capture: args.capture.as_ref().map(|p| cwd.join(p)).or_else(|| file.capture.map(|p| data_dir.join(p))),
            capture_max_bytes,
            capture_keep: args.capture_keep.or(file.capture_keep).unwrap_or(capture::DEFAULT_KEEP),
            reservoir_cache_bytes,
            data_dir,
            nodes,
            fast_sync: args.fast_sync || file.fast_sync,
            standalone: args.standalone || file.standalone,
            min_clients,
            status,
            produce_blocks,
            sync_interval,
            logging,
            listen,
            announce,
            connect,
            dynamic_connections: peering.dynamic_connections,
            prefer_ipv6: peering.prefer_ipv6,
            keys,
            limits: peering.limits,
            table: peering.table,
        };
        Ok(settings)
    }

    /// Settings that are accepted but not implemented yet: the node refuses to start with any
    /// of them rather than run without what was asked for. None at present.
    pub fn unsupported(&self) -> Option<ConfigError> {
        None
    }
}

/// `[client_rpc]` and `--rpc`: on when either is given.
fn resolve_client_rpc(
    file: Option<ClientRpcFile>,
    args: &RunArgs,
    chain: Chain,
    data_dir: &Path,
    prefer_ipv6: bool,
) -> Result<Option<ClientRpc>, ConfigError> {
    if file.is_none() && args.rpc.is_empty() {
        return Ok(None);
    }
    let file = file.unwrap_or_default();
    let listen = if args.rpc.is_empty() {
        let texts = file.listen.unwrap_or_else(|| vec![format!("*:{}", chain_port(chain, BASE_RPC_PORT))]);
        listen_addresses(&texts, "client_rpc.listen")?
    } else {
        listen_addresses(&args.rpc, "--rpc")?
    };
    if file.maximum_connections == 0 {
        return Err(ConfigError::new("client_rpc.maximum_connections", "must be at least 1"));
    }
    let announce = file
        .announce
        .iter()
        .enumerate()
        .map(|(i, text)| {
            parse_peer_address(text, prefer_ipv6).map_err(|e| ConfigError::new(format!("client_rpc.announce[{i}]"), e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(ClientRpc {
        listen,
        maximum_connections: file.maximum_connections,
        certificate: data_dir.join(file.certificate),
        private_key: data_dir.join(file.private_key),
        announce,
    }))
}

/// `[https_rpc]` and `--https-rpc`: on when either is given.
fn resolve_https_rpc(
    file: Option<HttpsRpcFile>,
    args: &RunArgs,
    chain: Chain,
    data_dir: &Path,
) -> Result<Option<HttpsRpc>, ConfigError> {
    if file.is_none() && args.https_rpc.is_empty() {
        return Ok(None);
    }
    let file = file.unwrap_or_default();
    let listen = if args.https_rpc.is_empty() {
        let texts = file.listen.unwrap_or_else(|| vec![format!("*:{}", chain_port(chain, BASE_RPC_PORT + 1))]);
        listen_addresses(&texts, "https_rpc.listen")?
    } else {
        listen_addresses(&args.https_rpc, "--https-rpc")?
    };
    if file.maximum_connections == 0 {
        return Err(ConfigError::new("https_rpc.maximum_connections", "must be at least 1"));
    }
    let mut allow = std::collections::HashMap::new();
    for (api, cidrs) in &file.allow {
        if !HTTPS_APIS.contains(&api.as_str()) {
            return Err(ConfigError::new(
                format!("https_rpc.allow.{api}"),
                format!("unknown path: expected one of {}", HTTPS_APIS.join(", ")),
            ));
        }
        let nets = cidrs
            .iter()
            .enumerate()
            .map(|(i, text)| {
                text.trim().parse::<ipnet::IpNet>().map_err(|e| {
                    ConfigError::new(format!("https_rpc.allow.{api}[{i}]"), format!("{text:?}: {e}: expected a CIDR"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        allow.insert(api.clone(), nets);
    }
    Ok(Some(HttpsRpc {
        listen,
        maximum_connections: file.maximum_connections,
        certificate: data_dir.join(file.certificate),
        private_key: data_dir.join(file.private_key),
        allow,
    }))
}

fn resolve_logging(file: LoggingFile, json_flag: bool, data_dir: &Path) -> Result<LogSettings, ConfigError> {
    logging::parse_filter(&file.level).map_err(|e| ConfigError::new("logging.level", e))?;
    if file.max_bytes < logging::MIN_MAX_BYTES {
        return Err(ConfigError::new("logging.max_bytes", format!("must be at least {}", logging::MIN_MAX_BYTES)));
    }
    Ok(LogSettings {
        level: file.level,
        file: file.file.map(|f| data_dir.join(f)),
        max_bytes: file.max_bytes,
        keep: file.keep,
        json: json_flag || file.json,
    })
}

/// The annotated default configuration: every setting with its default value, examples
/// commented out (`bitmark-node config default` prints it; `config/bitmark-node.toml` is it).
pub const DEFAULT_CONFIG: &str = include_str!("../config/bitmark-node.toml");

/// Parse a configuration file's text. An error names the field where it was found (the key
/// on that line, under its `[table]`), the line, and toml's reason.
pub fn parse(text: &str) -> Result<ConfigFile, ConfigError> {
    toml::from_str(text).map_err(|e| {
        let at = e.span().map_or(0, |span| span.start);
        let (field, line) = field_at(text, at);
        ConfigError::new(field, format!("{} (line {line})", e.message().trim()))
    })
}

/// The dotted name of the key on the line holding byte `at` (or of its table, when the line
/// is a table header), and that line's number.
fn field_at(text: &str, at: usize) -> (String, usize) {
    let before = text.get(..at).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let line_number = before.matches('\n').count() + 1;
    let line = text.get(line_start..).unwrap_or_default().lines().next().unwrap_or_default().trim();
    let header = |l: &str| {
        let l = l.trim();
        l.starts_with('[').then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
    };
    if let Some(table) = header(line) {
        return (table, line_number);
    }
    let table = text.get(..line_start).unwrap_or_default().lines().rev().find_map(header);
    let key = line.split('=').next().unwrap_or_default().trim().trim_matches('"');
    let field = match (table, key.is_empty()) {
        (_, true) => "configuration file".to_string(),
        (Some(table), false) => format!("{table}.{key}"),
        (None, false) => key.to_string(),
    };
    (field, line_number)
}

fn field_or_flag(flag: bool, field: &str) -> String {
    if flag {
        format!("--{}", field.replace('_', "-"))
    } else {
        field.to_string()
    }
}

fn expected_key(e: crate::error::NodeError) -> String {
    format!("{e}: expected \"PUBLIC:\" followed by 64 hex digits")
}

/// Split `HOST:PORT` (`[v6]:PORT` for IPv6) into host and port.
fn split_host_port(text: &str) -> Result<(&str, u16), String> {
    let text = text.trim();
    let (host, port) = text.rsplit_once(':').ok_or_else(|| format!("{text:?}: expected HOST:PORT"))?;
    let port = port.parse::<u16>().map_err(|_| format!("{text:?}: invalid port number"))?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    if host.is_empty() {
        return Err(format!("{text:?}: missing host"));
    }
    Ok((host, port))
}

/// Resolve `host` (an IP or a name) to one address, IPv6 first when `prefer_ipv6`.
fn resolve(host: &str, port: u16, prefer_ipv6: bool) -> Result<SocketAddr, String> {
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    let found: Vec<SocketAddr> =
        (host, port).to_socket_addrs().map_err(|e| format!("{host:?}: cannot resolve: {e}"))?.collect();
    found
        .iter()
        .find(|a| a.is_ipv6() == prefer_ipv6)
        .or_else(|| found.first())
        .copied()
        .ok_or_else(|| format!("{host:?}: no address"))
}

/// A listen address: `HOST:PORT`, `*` being every IPv4 and IPv6 address (`[::]`, dual stack,
/// as bitmarkd on Linux). Port 0 asks for a free port; `min_port` refuses it where that makes
/// no sense.
fn parse_listen(text: &str, min_port: u16) -> Result<SocketAddr, String> {
    let (host, port) = split_host_port(text)?;
    if port < min_port {
        return Err(format!("{text:?}: invalid port number"));
    }
    if host == "*" {
        return Ok(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port));
    }
    resolve(host, port, false)
}

fn listen_addresses(texts: &[String], field: &str) -> Result<Vec<SocketAddr>, ConfigError> {
    if texts.is_empty() {
        return Err(ConfigError::new(field, "at least one address is needed"));
    }
    texts
        .iter()
        .enumerate()
        .map(|(i, text)| parse_listen(text, 0).map_err(|e| ConfigError::new(format!("{field}[{i}]"), e)))
        .collect()
}

/// A peer's address: a specified host and a port from 1.
fn parse_peer_address(text: &str, prefer_ipv6: bool) -> Result<SocketAddr, String> {
    let (host, port) = split_host_port(text)?;
    if port == 0 {
        return Err(format!("{text:?}: invalid port number"));
    }
    let addr = resolve(host, port, prefer_ipv6)?;
    if addr.ip().is_unspecified() {
        return Err(format!("{text:?}: not a specific address"));
    }
    Ok(addr)
}

/// `--connect <public key>@HOST:PORT`; the key as 64 hex digits, with or without `PUBLIC:`.
fn parse_connect_flag(text: &str, prefer_ipv6: bool) -> Result<StaticPeer, String> {
    let (key, address) =
        text.split_once('@').ok_or_else(|| format!("{text:?}: expected <public key hex>@HOST:PORT"))?;
    let key = key.trim();
    let key = if key.starts_with("PUBLIC:") { key.to_string() } else { format!("PUBLIC:{key}") };
    let public_key = keyfile::parse(KeyKind::Public, &key).map_err(|e| format!("{text:?}: {}", expected_key(e)))?;
    Ok(StaticPeer { public_key, address: parse_peer_address(address, prefer_ipv6)? })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key_hex() -> String {
        "ab".repeat(32)
    }

    fn resolve_text(text: &str, args: &RunArgs) -> Result<Settings, ConfigError> {
        let file = parse(text)?;
        Settings::resolve(file, args, Path::new("/etc/bitmark"), Path::new("/home/me"))
    }

    #[test]
    fn defaults_are_bitmarkds() {
        let s = resolve_text("", &RunArgs::default()).unwrap();
        assert_eq!(s.chain, Chain::Bitmark);
        assert_eq!(s.data_dir, Path::new("/etc/bitmark"));
        assert_eq!(s.listen, vec!["[::]:2136".parse().unwrap()]);
        assert_eq!(s.nodes, Nodes::None);
        assert_eq!((s.min_clients, s.quorum()), (5, 3));
        assert!(s.dynamic_connections && s.prefer_ipv6 && !s.standalone && !s.fast_sync && !s.logging.json);
        assert_eq!(s.logging, LogSettings::default());
        assert_eq!(s.keys.public, KeySource::File("/etc/bitmark/peer.public".into()));
        assert_eq!(s.keys.private, KeySource::File("/etc/bitmark/peer.private".into()));
        assert!(s.status.is_none() && s.capture.is_none() && s.produce_blocks.is_none());
        assert_eq!(s.sync_interval, Duration::from_secs(15));
        assert!(s.unsupported().is_none());
        let local = resolve_text("chain = \"local\"", &RunArgs::default()).unwrap();
        assert_eq!(local.listen, vec!["[::]:22136".parse().unwrap()]);
    }

    #[test]
    fn a_full_file_resolves() {
        let text = format!(
            r#"
            chain = "local"
            data_directory = "data"
            nodes = "chain"
            min_clients = 1
            status = "127.0.0.1:9000"
            standalone = true
            [logging]
            json = true
            file = "log/node.log"
            [peering]
            listen = ["127.0.0.1:22136", "[::1]:0"]
            announce = ["192.0.2.1:22136"]
            dynamic_connections = false
            prefer_ipv6 = false
            public_key = "keys/p.pub"
            private_key = "/secret/p.key"
            [[peering.connect]]
            public_key = "PUBLIC:{}"
            address = "127.0.0.1:22137"
            [peering.limits]
            push_workers = 4
            [peering.table]
            max_peers = 50
            "#,
            key_hex()
        );
        let s = resolve_text(&text, &RunArgs::default()).unwrap();
        assert_eq!(s.chain, Chain::Local);
        assert_eq!(s.data_dir, Path::new("/etc/bitmark/data"));
        assert_eq!(s.nodes, Nodes::Chain);
        assert_eq!((s.min_clients, s.quorum()), (1, 1));
        assert_eq!(s.status, Some("127.0.0.1:9000".parse().unwrap()));
        assert!(s.standalone && s.logging.json && !s.dynamic_connections && !s.prefer_ipv6);
        assert_eq!(s.logging.file, Some(PathBuf::from("/etc/bitmark/data/log/node.log")));
        assert_eq!(s.listen, vec!["127.0.0.1:22136".parse().unwrap(), "[::1]:0".parse().unwrap()]);
        assert_eq!(s.announce, vec!["192.0.2.1:22136".parse().unwrap()]);
        assert_eq!(s.connect, vec![StaticPeer { public_key: [0xab; 32], address: "127.0.0.1:22137".parse().unwrap() }]);
        assert_eq!(s.keys.public, KeySource::File("/etc/bitmark/data/keys/p.pub".into()));
        assert_eq!(s.keys.private, KeySource::File("/secret/p.key".into()));
        assert_eq!(s.limits.push_workers, 4);
        assert_eq!(s.limits.query_workers, ListenerLimits::default().query_workers);
        assert_eq!(s.table.max_peers, 50);
    }

    #[test]
    fn flags_override_the_file() {
        let text = r#"
            chain = "testing"
            data_directory = "/var/lib/node"
            min_clients = 7
            status = "127.0.0.1:1"
            [peering]
            listen = ["127.0.0.1:1"]
        "#;
        let args = RunArgs {
            chain: Some(Chain::Local),
            data_dir: Some("here".into()),
            listen: vec!["127.0.0.1:0".into()],
            connect: vec![format!("{}@127.0.0.1:5", key_hex())],
            min_clients: Some(1),
            status: Some("127.0.0.1:0".into()),
            standalone: true,
            log_json: true,
            ..RunArgs::default()
        };
        let s = resolve_text(text, &args).unwrap();
        assert_eq!(s.chain, Chain::Local);
        assert_eq!(s.data_dir, Path::new("/home/me/here"));
        assert_eq!(s.min_clients, 1);
        assert_eq!(s.status, Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(s.listen, vec!["127.0.0.1:0".parse().unwrap()]);
        assert_eq!(s.connect[0].public_key, [0xab; 32]);
        assert!(s.standalone && s.logging.json);
        // The key may carry bitmarkd's prefix on the command line too.
        let args = RunArgs { connect: vec![format!("PUBLIC:{}@127.0.0.1:5", key_hex())], ..RunArgs::default() };
        assert_eq!(resolve_text("", &args).unwrap().connect[0].address, "127.0.0.1:5".parse().unwrap());
    }

    /// `config default` says what the defaults are: resolving it gives exactly what an empty
    /// file gives, and every example in it (a commented `key = value` line or table header)
    /// is valid once uncommented.
    #[test]
    fn the_default_configuration_is_the_defaults_and_its_examples_are_valid() {
        let resolve = |text: &str| {
            Settings::resolve(parse(text).unwrap(), &RunArgs::default(), Path::new("/srv"), Path::new("/")).unwrap()
        };
        assert_eq!(resolve(DEFAULT_CONFIG), resolve(""));
        assert!(resolve(DEFAULT_CONFIG).connect.is_empty(), "no live static peers");
        let uncommented: String = DEFAULT_CONFIG
            .lines()
            .map(|line| match line.strip_prefix("# ") {
                Some(example) if example.contains(" = ") || example.starts_with('[') => example,
                _ => line,
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let examples = resolve(&uncommented.replace("chain = \"bitmark\"", "chain = \"local\""));
        assert_eq!(examples.connect.len(), 1);
        assert!(examples.status.is_some() && examples.capture.is_some() && examples.produce_blocks.is_some());
        assert!(examples.logging.file.is_some() && !examples.announce.is_empty());
        let rpc = examples.client_rpc.expect("the example turns the RPC on");
        assert_eq!(rpc.listen, vec!["127.0.0.1:2130".parse().unwrap()]);
        assert_eq!(rpc.certificate, Path::new("/srv/rpc.crt"));
        let https = examples.https_rpc.expect("and the HTTPS API");
        assert_eq!(https.allow.len(), 3);
    }

    #[test]
    fn the_rpc_is_off_unless_configured_and_takes_bitmarkds_ports() {
        let s = resolve_text("", &RunArgs::default()).unwrap();
        assert!(s.client_rpc.is_none() && s.https_rpc.is_none() && !s.read_only);
        let s = resolve_text("chain = \"local\"\n[client_rpc]\n[https_rpc]", &RunArgs::default()).unwrap();
        assert_eq!(s.client_rpc.as_ref().unwrap().listen, vec!["[::]:22130".parse().unwrap()]);
        assert_eq!(s.client_rpc.as_ref().unwrap().maximum_connections, 100);
        assert_eq!(s.client_rpc.unwrap().private_key, Path::new("/etc/bitmark/rpc.key"));
        let https = s.https_rpc.unwrap();
        assert_eq!(https.listen, vec!["[::]:22131".parse().unwrap()]);
        assert!(https.allow["details"].iter().any(|n| n.contains(&"127.0.0.1".parse::<IpAddr>().unwrap())));
        let s = resolve_text("chain = \"testing\"\n[client_rpc]", &RunArgs::default()).unwrap();
        assert_eq!(s.client_rpc.unwrap().listen, vec!["[::]:12130".parse().unwrap()]);
        let args = RunArgs { rpc: vec!["127.0.0.1:0".into()], read_only: true, ..RunArgs::default() };
        let s = resolve_text("", &args).unwrap();
        assert_eq!(s.client_rpc.unwrap().listen, vec!["127.0.0.1:0".parse().unwrap()]);
        assert!(s.read_only);
        for (text, field) in [
            ("[client_rpc]\nmaximum_connections = 0", "client_rpc.maximum_connections"),
            ("[client_rpc]\nlisten = []", "client_rpc.listen"),
            ("[client_rpc]\nbandwith = 1", "client_rpc.bandwith"),
            ("[https_rpc.allow]\ndetails = [\"10.0.0.0\"]", "https_rpc.allow.details[0]"),
            ("[https_rpc.allow]\nstatus = []", "https_rpc.allow.status"),
        ] {
            assert_eq!(resolve_text(text, &RunArgs::default()).unwrap_err().field, field, "{text}");
        }
    }

    #[test]
    fn durations_are_human_readable() {
        let file = parse("chain = \"local\"\nproduce_blocks = \"1m 30s\"").unwrap();
        assert_eq!(file.produce_blocks, Some(Duration::from_secs(90)));
        let s = Settings::resolve(file, &RunArgs::default(), Path::new("/"), Path::new("/")).unwrap();
        assert_eq!(s.produce_blocks, Some(Duration::from_secs(90)));
        assert!(s.unsupported().is_none());
        let args =
            RunArgs { chain: Some(Chain::Local), produce_blocks: Some(Duration::from_secs(5)), ..RunArgs::default() };
        assert_eq!(resolve_text("", &args).unwrap().produce_blocks, Some(Duration::from_secs(5)));
        assert_eq!(parse_interval("5"), Ok(Duration::from_secs(5)), "a bare number is seconds");
        assert_eq!(parse_interval("1m 30s"), Ok(Duration::from_secs(90)));
        assert!(parse_interval("soon").unwrap_err().contains("expected a duration"));
    }

    #[test]
    fn the_sync_interval_defaults_to_bitmarkds_and_the_flag_wins() {
        assert_eq!(resolve_text("", &RunArgs::default()).unwrap().sync_interval, Duration::from_secs(15));
        assert_eq!(
            resolve_text("sync_interval = \"2s\"", &RunArgs::default()).unwrap().sync_interval,
            Duration::from_secs(2)
        );
        let args = RunArgs { sync_interval: Some(Duration::from_millis(500)), ..RunArgs::default() };
        assert_eq!(resolve_text("sync_interval = \"2s\"", &args).unwrap().sync_interval, Duration::from_millis(500));
    }

    #[test]
    fn every_setting_is_supported() {
        let args = RunArgs { fast_sync: true, ..RunArgs::default() };
        assert!(resolve_text("", &args).unwrap().unsupported().is_none(), "the connector fast-syncs");
        let s = resolve_text("capture = \"cap.jsonl\"", &RunArgs::default()).unwrap();
        assert!(s.unsupported().is_none());
    }

    #[test]
    fn the_reservoir_cache_is_capped_at_16_mib_unless_the_file_says() {
        let s = resolve_text("", &RunArgs::default()).unwrap();
        assert_eq!(s.reservoir_cache_bytes, 16 << 20);
        let s = resolve_text("reservoir_cache_bytes = 2097152", &RunArgs::default()).unwrap();
        assert_eq!(s.reservoir_cache_bytes, 2 << 20);
    }

    #[test]
    fn capture_settings_resolve_from_the_file_and_the_flags() {
        let s = resolve_text("", &RunArgs::default()).unwrap();
        assert_eq!((s.capture.as_ref(), s.capture_max_bytes, s.capture_keep), (None, 64 << 20, 4));
        let text = "capture = \"cap.jsonl\"\ncapture_max_bytes = 10000\ncapture_keep = 0";
        let s = resolve_text(text, &RunArgs::default()).unwrap();
        assert_eq!(s.capture, Some(PathBuf::from("/etc/bitmark/cap.jsonl")), "relative to the data directory");
        assert_eq!((s.capture_max_bytes, s.capture_keep), (10000, 0));
        let args = RunArgs {
            capture: Some("here.jsonl".into()),
            capture_max_bytes: Some(5000),
            capture_keep: Some(9),
            ..RunArgs::default()
        };
        let s = resolve_text(text, &args).unwrap();
        assert_eq!(s.capture, Some(PathBuf::from("/home/me/here.jsonl")), "relative to the current directory");
        assert_eq!((s.capture_max_bytes, s.capture_keep), (5000, 9));
    }

    /// bitmarkd's `public_key = read_file("peer.public")` gives the key itself: it is taken as
    /// the key, never as a file name.
    #[test]
    fn key_settings_take_bitmarkds_inline_keys() {
        let text = format!(
            "[peering]\npublic_key = \"PUBLIC:{}\\n\"\nprivate_key = \"PRIVATE:{}\"",
            "ab".repeat(32),
            "cd".repeat(32)
        );
        let s = resolve_text(&text, &RunArgs::default()).unwrap();
        assert_eq!(s.keys.public, KeySource::Inline([0xab; 32]));
        assert_eq!(s.keys.private, KeySource::Inline([0xcd; 32]));
        let e = resolve_text("[peering]\nprivate_key = \"PRIVATE:12\"", &RunArgs::default()).unwrap_err();
        assert_eq!(e.field, "peering.private_key");
        assert!(e.reason.contains("PRIVATE: followed by 64 hex digits"), "{e}");
    }

    /// Each bad input, and the field and reason its error must name.
    #[test]
    fn errors_name_the_field_and_the_reason() {
        let cases: Vec<(String, RunArgs, &str, &str)> = vec![
            ("colour = 1".into(), RunArgs::default(), "colour", "unknown field `colour`"),
            ("chain = \"local\"\n[peering]\nlisen = []".into(), RunArgs::default(), "peering.lisen", "(line 3)"),
            ("chain = \"main\"".into(), RunArgs::default(), "chain", "chain \"main\" is not supported"),
            ("min_clients = \"five\"".into(), RunArgs::default(), "min_clients", "invalid type"),
            ("produce_blocks = \"soon\"".into(), RunArgs::default(), "produce_blocks", "expected a duration"),
            ("[peering.limits]\npush_queue = -1".into(), RunArgs::default(), "peering.limits.push_queue", "invalid"),
            ("status = ".into(), RunArgs::default(), "status", "(line 1)"),
            ("nodes = \"\"".into(), RunArgs::default(), "nodes", "nodes cannot be blank"),
            ("min_clients = 0".into(), RunArgs::default(), "min_clients", "at least 1"),
            ("status = \"localhost\"".into(), RunArgs::default(), "status", "expected HOST:PORT"),
            ("[peering]\nlisten = []".into(), RunArgs::default(), "peering.listen", "at least one"),
            ("[peering]\nlisten = [\"*:99999\"]".into(), RunArgs::default(), "peering.listen[0]", "invalid port"),
            ("[peering]\nannounce = [\"0.0.0.0:1\"]".into(), RunArgs::default(), "peering.announce[0]", "specific"),
            (
                format!("[[peering.connect]]\npublic_key = \"{}\"\naddress = \"127.0.0.1:1\"", key_hex()),
                RunArgs::default(),
                "peering.connect[0].public_key",
                "invalid public key: expected \"PUBLIC:\"",
            ),
            (
                format!("[[peering.connect]]\npublic_key = \"PUBLIC:{}\"\naddress = \"127.0.0.1:0\"", key_hex()),
                RunArgs::default(),
                "peering.connect[0].address",
                "invalid port number",
            ),
            (
                "[[peering.connect]]\naddress = \"127.0.0.1:1\"".into(),
                RunArgs::default(),
                "peering.connect",
                "missing field `public_key`",
            ),
            (
                "[peering.limits]\npush_workers = 0".into(),
                RunArgs::default(),
                "peering.limits.push_workers",
                "at least",
            ),
            ("produce_blocks = \"5s\"".into(), RunArgs::default(), "produce_blocks", "only be produced on the local"),
            ("capture_max_bytes = 100".into(), RunArgs::default(), "capture_max_bytes", "at least 4096"),
            ("capture_keep = -1".into(), RunArgs::default(), "capture_keep", "invalid"),
            ("reservoir_cache_bytes = 4096".into(), RunArgs::default(), "reservoir_cache_bytes", "at least 1048576"),
            (
                String::new(),
                RunArgs { capture_max_bytes: Some(1), ..RunArgs::default() },
                "--capture-max-bytes",
                "at least 4096",
            ),
            (String::new(), RunArgs { connect: vec!["nokey".into()], ..RunArgs::default() }, "--connect", "expected"),
            (
                String::new(),
                RunArgs { connect: vec!["abcd@127.0.0.1:1".into()], ..RunArgs::default() },
                "--connect",
                "invalid public key",
            ),
            (String::new(), RunArgs { min_clients: Some(0), ..RunArgs::default() }, "--min-clients", "at least 1"),
            (
                String::new(),
                RunArgs { produce_blocks: Some(Duration::ZERO), ..RunArgs::default() },
                "--produce-blocks",
                "at least 100ms",
            ),
            ("[logging]\nlevel = \"loud\"".into(), RunArgs::default(), "logging.level", "expected a level"),
            ("[logging]\nmax_bytes = 10".into(), RunArgs::default(), "logging.max_bytes", "at least 4096"),
            ("sync_interval = \"2h\"".into(), RunArgs::default(), "sync_interval", "between 100ms and 1h"),
            (
                String::new(),
                RunArgs { sync_interval: Some(Duration::from_millis(10)), ..RunArgs::default() },
                "--sync-interval",
                "between 100ms and 1h",
            ),
            (
                String::new(),
                RunArgs { listen: vec!["1.2.3.4".into()], ..RunArgs::default() },
                "--listen[0]",
                "HOST:PORT",
            ),
        ];
        for (text, args, field, reason) in cases {
            let e = resolve_text(&text, &args).expect_err(&text);
            assert_eq!(e.field, field, "{text}: {e}");
            assert!(e.reason.contains(reason), "{text}: {e}");
        }
    }
}
