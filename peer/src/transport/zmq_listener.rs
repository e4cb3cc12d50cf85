//! The peer listener on libzmq: CURVE server sockets bound as bitmarkd binds them, answering
//! through bounded worker lanes so that a slow push never holds up `N`, `H` or `I`.
//!
//! # Design
//!
//! bitmarkd answers on REP sockets, one request at a time in one goroutine, so one slow push (a
//! block to validate, 100 issues to check) stalls every peer (`docs/protocol.md#framing`,
//! `docs/protocol.md#no-rate-limiting`). We use a ROUTER socket instead; REQ clients cannot tell
//! the difference as long as the envelope is echoed. A ROUTER message is
//! `[routing id][REQ correlation id][""][body...]`: everything up to and including the first empty
//! frame is the envelope, put back in front of the reply.
//!
//! One socket thread owns every socket (libzmq sockets are not thread-safe). It parses each
//! request; parse errors are answered at once, and so is `N`, a read of the height the service
//! holds in memory, for which the trip through a lane (to a worker and back over inproc) would
//! cost more than the answer. The other requests go to one of two bounded lanes: *query*
//! (`I B H R`) and *push* (everything else), each with its own worker threads, so pushes can
//! occupy all push workers while queries still flow. Workers hand replies back over an inproc
//! PUSH socket to a PULL socket the socket thread polls next to the ROUTERs.
//!
//! When a lane is full (by count or by queued payload bytes):
//! * a query is answered inline on the socket thread. Queries are small and never dropped; the
//!   socket thread slowing down is the back-pressure (libzmq then queues up to its receive
//!   high-water mark and TCP pushes back on the senders).
//! * a push is acknowledged with `[cmd]["A"]` at once and dropped, with a warning log. bitmarkd
//!   acknowledges every push whatever happens to it, and its senders never retry, so the sender
//!   sees exactly what it would see from bitmarkd; the item comes back through rebroadcast
//!   (transactions) or sync (blocks).
//!
//! Replies are bounded too (`owed.rs`): libzmq queues at most two per connection, a reply it
//! refuses waits in a small per-connection outbox, and a connection has at most one `B` or `H`
//! in progress. A REQ client (one request in flight) never meets those bounds; a client that
//! pipelines `B` and never reads its replies holds a few of them, not libzmq's 1 000.
//!
//! With a [`Tap`] ([`ZmqListener::start_tapped`]) every answered request is shown to it with
//! its reply frames: on the worker that answered, or on the socket thread for parse errors,
//! inline answers and dropped pushes.
//!
//! The socket thread also runs a ZAP handler (`zap.rs`): it accepts every client key, as
//! bitmarkd does, and makes libzmq attach that key to each request ([`PeerInfo::public_key`]),
//! so that the handler can refuse an `R` claiming another key.
//!
//! Messages without an empty delimiter in their first 8 frames are dropped silently, as libzmq's
//! REP drops them. At most 24 frames of a message are kept; the rest are discarded. No request
//! reads past frame 6, and the parameter-count checks (`!= 1`, `< 3`, `< 4`) give the same
//! answer on the kept frames, so replies are bitmarkd's.

use super::lanes::{answer, tap_inbound, tap_unanswered, Job, Lane, LaneLimits, ReplyHeader};
use super::monitor::Monitor;
use super::options::{apply_common, endpoint, require_curve, LISTENER_ZAP_DOMAIN};
use super::owed::{Connection, Owed, OwedLimits, SEND_HWM};
use super::zap::{ZapHandler, USER_ID};
use super::TransportError;
use super::{PeerInfo, Service};
use crate::capture::Tap;
use crate::wire::{quote_for_log, Reply, Request};
use bitmark_common::lock;
use bitmark_record::Chain;
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;
use tracing::{debug, error, info, warn};

const TARGET: &str = "peer::listener";

/// Frames of one message kept; see the module documentation.
const MAX_FRAMES: usize = 24;
/// Frames searched for the envelope delimiter (REQ sends 3: routing id, correlation id, "").
const MAX_ENVELOPE: usize = 8;
/// Messages taken from one socket before the others get a turn.
const BATCH: usize = 64;

/// Numbers the listeners of this process, so their inproc endpoints never collide.
static NEXT_LISTENER: AtomicUsize = AtomicUsize::new(0);

/// How to run a listener.
#[derive(Clone, Debug)]
pub struct ListenerConfig {
    /// Our chain: requests naming another are refused with bitmarkd's `invalid chain` text.
    pub chain: Chain,
    /// Addresses to bind. All IPv4 ones share one socket and all IPv6 ones another, as in
    /// bitmarkd. Port 0 binds a free port (see [`ZmqListener::local_addrs`]).
    pub listen: Vec<SocketAddr>,
    /// Our CURVE secret key. Any client key is accepted.
    pub secret_key: [u8; 32],
    /// Worker and queue bounds.
    pub limits: ListenerLimits,
}

/// Worker and queue bounds of the listener.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ListenerLimits {
    /// Threads answering `I N B H R` (default 2). `H` can mean an Argon2d digest when the
    /// digest cache misses, so more than one keeps `N` quick.
    pub query_workers: usize,
    /// Queries waiting for a worker (default 256); beyond it they are answered inline.
    pub query_queue: usize,
    /// Payload bytes of waiting queries and of the replies workers made until the socket
    /// thread takes them (default 16 MiB; a `B` reply can be 5 MB).
    pub query_queue_bytes: usize,
    /// Threads processing pushes (default 2). More lets more blocks and transactions be
    /// validated at once, at the cost of CPU shared with sync.
    pub push_workers: usize,
    /// Pushes waiting for a worker (default 64); beyond it they are acknowledged and dropped.
    pub push_queue: usize,
    /// Payload bytes of waiting pushes (default 64 MiB), so 64 queued 5 MB blocks cannot
    /// pin 320 MB.
    pub push_queue_bytes: usize,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            query_workers: 2,
            query_queue: 256,
            query_queue_bytes: 16 << 20,
            push_workers: 2,
            push_queue: 64,
            push_queue_bytes: 64 << 20,
        }
    }
}

impl ListenerLimits {
    fn check(&self) -> Result<(), TransportError> {
        let counts = [self.query_workers, self.query_queue, self.push_workers, self.push_queue];
        if counts.contains(&0) {
            return Err(TransportError::Config("listener workers and queues must be at least 1".into()));
        }
        Ok(())
    }

    fn query(&self) -> LaneLimits {
        LaneLimits { workers: self.query_workers, queue: self.query_queue, queue_bytes: self.query_queue_bytes }
    }

    fn push(&self) -> LaneLimits {
        LaneLimits { workers: self.push_workers, queue: self.push_queue, queue_bytes: self.push_queue_bytes }
    }
}

/// A running listener. Dropping it (or [`ZmqListener::shutdown`]) stops the socket thread,
/// lets the workers finish what they hold, and closes the sockets.
pub struct ZmqListener {
    control: Mutex<zmq::Socket>,
    thread: Option<JoinHandle<()>>,
    connections: Arc<AtomicU64>,
    local_addrs: Vec<SocketAddr>,
}

impl ZmqListener {
    /// Bind `config.listen` and start answering with `service`. Binding happens before this
    /// returns, so an address in use is reported here.
    pub fn start(
        context: &zmq::Context,
        config: ListenerConfig,
        service: Arc<dyn Service>,
    ) -> Result<ZmqListener, TransportError> {
        ZmqListener::start_tapped(context, config, service, None)
    }

    /// [`ZmqListener::start`], showing every exchange to `tap` when there is one.
    ///
    /// The listener binds `context`'s ZAP handler. There is one per context: a second listener
    /// in the same context is served by the first one's handler while it runs, and after that
    /// its requests carry no client key (logged at start), which leaves `R` unchecked as in
    /// bitmarkd. A node runs one listener per context.
    pub fn start_tapped(
        context: &zmq::Context,
        config: ListenerConfig,
        service: Arc<dyn Service>,
        tap: Option<Arc<dyn Tap>>,
    ) -> Result<ZmqListener, TransportError> {
        require_curve()?;
        config.limits.check()?;
        if config.listen.is_empty() {
            return Err(TransportError::Config("no listen address".into()));
        }
        let id = NEXT_LISTENER.fetch_add(1, Ordering::SeqCst);
        let inproc = |what: &str| format!("inproc://peer-listener-{id}-{what}");
        let zmq_err = TransportError::Zmq;
        // Before the ROUTERs: a handshake only consults a handler bound when it starts.
        let zap = ZapHandler::bind(context);

        let mut routers = Vec::new();
        let mut monitors = Vec::new();
        let mut local_addrs = Vec::new();
        for ipv6 in [false, true] {
            let family: Vec<&SocketAddr> = config.listen.iter().filter(|a| a.is_ipv6() == ipv6).collect();
            if family.is_empty() {
                continue;
            }
            let router = server_socket(context, &config.secret_key, ipv6)?;
            for addr in family {
                local_addrs.push(bind(&router, addr)?);
            }
            monitors.push(Monitor::start(context, &router, &inproc(&format!("monitor-{}", routers.len())))?);
            routers.push(router);
        }

        let replies = context.socket(zmq::PULL).map_err(zmq_err)?;
        replies.set_linger(0).map_err(zmq_err)?;
        replies.bind(&inproc("replies")).map_err(zmq_err)?;
        let control_rx = context.socket(zmq::PAIR).map_err(zmq_err)?;
        control_rx.bind(&inproc("control")).map_err(zmq_err)?;
        let control = context.socket(zmq::PAIR).map_err(zmq_err)?;
        control.set_linger(0).map_err(zmq_err)?;
        control.connect(&inproc("control")).map_err(zmq_err)?;

        let lane = |name, index, limits| {
            Lane::start(name, index, limits, context, &inproc("replies"), Arc::clone(&service), tap.clone())
        };
        let query = lane("query", QUERY_LANE, config.limits.query())?;
        let push = lane("push", PUSH_LANE, config.limits.push())?;
        let connections = Arc::new(AtomicU64::new(0));
        let socket_loop = SocketLoop {
            chain: config.chain,
            routers,
            monitors,
            replies,
            control: control_rx,
            query,
            push,
            service,
            tap,
            zap,
            connections: Arc::clone(&connections),
            owed: Owed::new(OwedLimits::default()),
        };
        let thread = std::thread::Builder::new()
            .name("peer-listener".into())
            .spawn(move || socket_loop.run())
            .map_err(|e| TransportError::Config(format!("cannot start listener thread: {e}")))?;
        info!(target: TARGET, chain = %config.chain, addresses = ?local_addrs, "listening");
        Ok(ZmqListener { control: Mutex::new(control), thread: Some(thread), connections, local_addrs })
    }

    /// The addresses actually bound, in the order of `config.listen` grouped IPv4 first (with
    /// the real port where port 0 was asked for).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Incoming connections now open, from the socket monitors (bitmarkd's `GetCounts`).
    pub fn incoming_connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// Stop and wait for the socket thread and workers to finish.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        let control = lock(&self.control);
        if let Err(e) = control.send("stop", 0) {
            error!(target: TARGET, error = %e, "cannot signal the listener thread to stop");
            return;
        }
        drop(control);
        if thread.join().is_err() {
            error!(target: TARGET, "listener thread panicked");
        }
        info!(target: TARGET, "stopped");
    }
}

impl Drop for ZmqListener {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A ROUTER with bitmarkd's listener options: the common ones, CURVE server with our secret
/// key, ZAP domain `listen`; and ours: a send high-water mark of [`SEND_HWM`] replies per
/// connection, refusing (`ROUTER_MANDATORY`) rather than dropping a reply beyond it.
fn server_socket(context: &zmq::Context, secret_key: &[u8; 32], ipv6: bool) -> Result<zmq::Socket, TransportError> {
    let socket = context.socket(zmq::ROUTER).map_err(TransportError::Zmq)?;
    apply_common(&socket, ipv6).map_err(TransportError::Zmq)?;
    socket.set_sndhwm(SEND_HWM).map_err(TransportError::Zmq)?;
    socket.set_router_mandatory(true).map_err(TransportError::Zmq)?;
    socket.set_curve_server(true).map_err(TransportError::Zmq)?;
    socket.set_curve_secretkey(secret_key).map_err(TransportError::Zmq)?;
    socket.set_zap_domain(LISTENER_ZAP_DOMAIN).map_err(TransportError::Zmq)?;
    Ok(socket)
}

/// Bind `addr` and return the address libzmq bound (the real port for port 0).
fn bind(socket: &zmq::Socket, addr: &SocketAddr) -> Result<SocketAddr, TransportError> {
    let endpoint = endpoint(addr);
    socket.bind(&endpoint).map_err(|source| TransportError::Bind { endpoint: endpoint.clone(), source })?;
    let bound = socket.get_last_endpoint().ok().and_then(Result::ok);
    Ok(bound
        .as_deref()
        .and_then(|text| text.strip_prefix("tcp://"))
        .and_then(|text| text.parse().ok())
        .unwrap_or(*addr))
}

/// One received message, as far as it was kept.
#[derive(Default)]
struct Incoming {
    frames: Vec<Vec<u8>>,
    discarded: usize,
    address: Option<String>,
    /// The CURVE key in hex, from our ZAP handler's User-Id.
    user_id: Option<String>,
}

/// Everything the socket thread owns.
struct SocketLoop {
    chain: Chain,
    routers: Vec<zmq::Socket>,
    monitors: Vec<Monitor>,
    replies: zmq::Socket,
    control: zmq::Socket,
    query: Lane,
    push: Lane,
    service: Arc<dyn Service>,
    tap: Option<Arc<dyn Tap>>,
    zap: Option<ZapHandler>,
    connections: Arc<AtomicU64>,
    owed: Owed,
}

/// Lane indices in [`ReplyHeader`]s.
const QUERY_LANE: u8 = 0;
const PUSH_LANE: u8 = 1;

/// Why a pipelined `B` or `H` gets no reply, for the capture.
const PIPELINED: &str = "no reply: a B or H of this connection was still being answered";

/// Whether `request` is one of the requests a connection may have only one of in progress:
/// the ones that can cost a block read or an Argon2d digest and a reply of megabytes.
fn is_heavy(request: &Request) -> bool {
    matches!(request, Request::Block(_) | Request::Digest(_))
}

impl SocketLoop {
    fn run(mut self) {
        loop {
            let readable = match self.poll() {
                Ok(readable) => readable,
                Err(zmq::Error::EINTR) => continue,
                Err(e) => {
                    error!(target: TARGET, error = %e, "poll failed; listener stops");
                    break;
                }
            };
            let is = |k: usize| readable.get(k).copied().unwrap_or(false);
            if is(0) {
                break;
            }
            if is(1) {
                self.forward_replies();
            }
            let first_router = 2 + self.monitors.len();
            for (k, monitor) in self.monitors.iter().enumerate() {
                if is(2 + k) {
                    monitor.drain(&self.connections);
                }
            }
            for socket in 0..self.routers.len() {
                if is(first_router + socket) {
                    self.receive_requests(socket);
                }
            }
            if let Some(zap) = &self.zap {
                if is(first_router + self.routers.len()) {
                    zap.answer();
                }
            }
            self.owed.retry(&self.routers, Instant::now());
        }
        self.query.shutdown();
        self.push.shutdown();
        // Replies of the last jobs are dropped with the sockets; their requesters time out.
    }

    /// Poll order: control, replies, monitors, routers, the ZAP handler.
    fn poll(&self) -> zmq::Result<Vec<bool>> {
        let sockets = [&self.control, &self.replies]
            .into_iter()
            .chain(self.monitors.iter().map(Monitor::socket))
            .chain(self.routers.iter())
            .chain(self.zap.as_ref().map(ZapHandler::socket));
        let mut items: Vec<zmq::PollItem> = sockets.map(|s| s.as_poll_item(zmq::POLLIN)).collect();
        // Wake up for the outboxes' next retry while replies wait there.
        // Rounded up: a timeout rounded down to 0 would spin until the retry is due.
        let timeout = self
            .owed
            .timeout(Instant::now())
            .map_or(-1, |t| i64::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX));
        zmq::poll(&mut items, timeout)?;
        Ok(items.iter().map(zmq::PollItem::is_readable).collect())
    }

    /// Pass worker replies (`[header][envelope][reply]`) to their connections.
    fn forward_replies(&mut self) {
        for _ in 0..BATCH {
            let Ok(mut message) = self.replies.recv_multipart(zmq::DONTWAIT) else {
                return;
            };
            if message.is_empty() {
                continue;
            }
            let Some(header) = ReplyHeader::decode(&message.remove(0)) else {
                error!(target: TARGET, "malformed reply from a worker dropped");
                continue;
            };
            match header.lane {
                QUERY_LANE => self.query.delivered(header.bytes),
                _ => self.push.delivered(header.bytes),
            }
            let connection = (header.socket, message.first().cloned().unwrap_or_default());
            if header.answered {
                self.owed.deliver(&self.routers, &connection, message, header.heavy, Instant::now());
            } else if header.heavy {
                self.owed.end_heavy(&connection);
            }
        }
    }

    fn receive_requests(&mut self, socket: usize) {
        for _ in 0..BATCH {
            let Some(router) = self.routers.get(socket) else {
                return;
            };
            match receive(router) {
                Ok(Some(incoming)) => self.handle(socket, incoming),
                Ok(None) => return,
                Err(e) => {
                    warn!(target: TARGET, error = %e, "receive failed");
                    return;
                }
            }
        }
    }

    fn handle(&mut self, socket: usize, incoming: Incoming) {
        let Incoming { frames: mut envelope, discarded, address, user_id } = incoming;
        let Some(delimiter) = envelope.iter().take(MAX_ENVELOPE).position(Vec::is_empty) else {
            debug!(target: TARGET, ?address, "message without an envelope delimiter dropped");
            return;
        };
        let body = envelope.split_off(delimiter + 1);
        if discarded > 0 {
            debug!(target: TARGET, ?address, discarded, "frames past the first {MAX_FRAMES} discarded");
        }
        let peer = PeerInfo {
            address,
            routing_id: envelope.first().cloned().unwrap_or_default(),
            public_key: user_id.and_then(|id| hex::decode(id).ok()),
        };
        let request = match Request::parse(&body, self.chain) {
            Ok(request) => request,
            Err(reply) => {
                // The error text can quote a 5 MB chain frame: log its start only.
                let error: String = match &reply {
                    Reply::Error(text) => text.chars().take(120).collect(),
                    _ => String::new(),
                };
                debug!(target: TARGET, address = ?peer.address, error, "request refused");
                let reply = reply.to_frames();
                tap_inbound(self.tap.as_deref(), &peer, Some(&body), Some(&reply), false);
                return self.reply(socket, envelope, reply, false);
            }
        };
        debug!(target: TARGET, address = ?peer.address, function = quote_for_log(request.function()), "request");
        // `socket` < 2: there is one ROUTER per address family.
        let connection: Connection = (socket as u8, peer.routing_id.clone());
        let raw = self.tap.is_some().then_some(body);
        if matches!(request, Request::Height) {
            let reply = answer(self.service.as_ref(), &peer, request).map(|reply| reply.to_frames());
            tap_inbound(self.tap.as_deref(), &peer, raw.as_deref(), reply.as_deref(), false);
            if let Some(reply) = reply {
                self.reply(socket, envelope, reply, false);
            }
            return;
        }
        let heavy = is_heavy(&request);
        if heavy && !self.owed.begin_heavy(&connection, Instant::now()) {
            let (requests, _) = self.owed.dropped();
            debug!(target: TARGET, address = ?peer.address, dropped = requests, "pipelined B or H dropped");
            return tap_unanswered(self.tap.as_deref(), &peer, raw.as_deref(), None, PIPELINED, false);
        }
        let lane = if request.is_push() { &self.push } else { &self.query };
        let job = Job { socket: socket as u8, envelope, peer, request, raw, heavy };
        let Some(Job { envelope, peer, request, raw, .. }) = lane.offer(job) else {
            return;
        };
        let command = quote_for_log(request.function());
        let dropped = request.is_push();
        let reply = if dropped {
            warn!(target: TARGET, address = ?peer.address, command, "push queue full: acknowledged and dropped");
            Some(Reply::Ack(request.function().to_vec()))
        } else {
            debug!(target: TARGET, lane = lane.name(), function = command, "queue full: answering inline");
            answer(self.service.as_ref(), &peer, request)
        }
        .map(|reply| reply.to_frames());
        tap_inbound(self.tap.as_deref(), &peer, raw.as_deref(), reply.as_deref(), dropped);
        match reply {
            Some(reply) => self.reply(socket, envelope, reply, heavy),
            None if heavy => self.owed.end_heavy(&connection),
            None => {}
        }
    }

    fn reply(&mut self, socket: usize, mut envelope: Vec<Vec<u8>>, reply: Vec<Vec<u8>>, heavy: bool) {
        let connection = (socket as u8, envelope.first().cloned().unwrap_or_default());
        envelope.extend(reply);
        self.owed.deliver(&self.routers, &connection, envelope, heavy, Instant::now());
    }
}

/// Receive one whole message without blocking (`None` when there is none), keeping its first
/// `MAX_FRAMES` frames and the sender's address.
fn receive(router: &zmq::Socket) -> zmq::Result<Option<Incoming>> {
    let mut incoming = Incoming::default();
    loop {
        let mut part = zmq::Message::new();
        match router.recv(&mut part, zmq::DONTWAIT) {
            Ok(()) => {}
            Err(zmq::Error::EAGAIN) if incoming.frames.is_empty() => return Ok(None),
            Err(e) => return Err(e),
        }
        // The routing id frame the ROUTER adds carries no metadata; the frames received do.
        if incoming.address.is_none() {
            incoming.address = part.gets("Peer-Address").map(str::to_owned);
        }
        if incoming.user_id.is_none() {
            incoming.user_id = part.gets(USER_ID).filter(|id| !id.is_empty()).map(str::to_owned);
        }
        let more = part.get_more();
        if incoming.frames.len() < MAX_FRAMES {
            incoming.frames.push(part.to_vec());
        } else {
            incoming.discarded += 1;
        }
        if !more {
            return Ok(Some(incoming));
        }
    }
}
