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
//! One socket thread owns the ROUTERs (libzmq sockets are not thread-safe). It parses each
//! request; parse errors are answered at once, and so is what the service answers from memory
//! ([`Service::answers_at_once`]: the handler's `N` and `I`), since a round trip through a
//! worker would cost more than the answer. Other parsed requests go to one of two bounded
//! lanes: *query* (`B H R`, and `I N` of a service that does not answer them at once) and *push*
//! (everything else), each with its own worker threads, so pushes can occupy all push workers
//! while queries still flow. Workers hand replies back over an inproc PUSH socket to a PULL
//! socket the socket thread watches next to the ROUTERs. It sleeps in one `poll` of their
//! descriptors, and only once each has said it has nothing (`readiness.rs`).
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
//! A second thread (`connection_events.rs`) runs a ZAP handler (`zap.rs`): it accepts every
//! client key, as bitmarkd does, and makes libzmq attach that key to each request
//! ([`PeerInfo::public_key`]), so that the handler can refuse an `R` claiming another key. It
//! also counts connections from the ROUTERs' monitors. Both happen once per connection, and
//! off the socket thread they cost the requests nothing.
//!
//! Messages without an empty delimiter in their first 8 frames are dropped silently, as libzmq's
//! REP drops them. At most 24 frames of a message are kept; the rest are discarded. No request
//! reads past frame 6, and the parameter-count checks (`!= 1`, `< 3`, `< 4`) give the same
//! answer on the kept frames, so replies are bitmarkd's.

use super::connection_events::ConnectionEvents;
use super::lanes::{answer, tap_inbound, tap_unanswered, Job, Lane, LaneLimits, ReplyHeader};
use super::monitor::Monitor;
use super::options::{apply_common, endpoint, require_curve, LISTENER_ZAP_DOMAIN};
use super::owed::{Connection, Owed, OwedLimits, SEND_HWM};
use super::readiness::Readiness;
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
/// The message [`ZmqListener::shutdown`] sends the socket thread, among the workers' replies
/// (whose first frame, a [`ReplyHeader`], is longer).
const STOP: &[u8] = b"stop";

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
    /// Threads answering `B H R` (default 2), and `I N` when the service does not answer them
    /// at once. `H` can mean an Argon2d digest when the digest cache misses, so more than one
    /// keeps the other queries quick.
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

        let connections = Arc::new(AtomicU64::new(0));
        let events = ConnectionEvents::start(context, &inproc("events"), monitors, zap, Arc::clone(&connections))?;
        let replies = context.socket(zmq::PULL).map_err(zmq_err)?;
        replies.set_linger(0).map_err(zmq_err)?;
        replies.bind(&inproc("replies")).map_err(zmq_err)?;
        // The stop signal travels with the workers' replies: one socket fewer to poll.
        let control = context.socket(zmq::PUSH).map_err(zmq_err)?;
        control.set_linger(0).map_err(zmq_err)?;
        control.connect(&inproc("replies")).map_err(zmq_err)?;

        let lane = |name, index, limits| {
            Lane::start(name, index, limits, context, &inproc("replies"), Arc::clone(&service), tap.clone())
        };
        let query = lane("query", QUERY_LANE, config.limits.query())?;
        let push = lane("push", PUSH_LANE, config.limits.push())?;
        let socket_loop = SocketLoop {
            chain: config.chain,
            routers,
            replies,
            query,
            push,
            service,
            tap,
            events,
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
        if let Err(e) = control.send(STOP, 0) {
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
    /// The workers' replies, and [`STOP`] from [`ZmqListener::shutdown`].
    replies: zmq::Socket,
    query: Lane,
    push: Lane,
    service: Arc<dyn Service>,
    tap: Option<Arc<dyn Tap>>,
    /// The ZAP handler and the monitors, on a thread of their own; stopped when this is dropped.
    events: ConnectionEvents,
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
        // Index 0: the replies; 1 + k: ROUTER k.
        let mut readiness = match Readiness::new(std::iter::once(&self.replies).chain(self.routers.iter())) {
            Ok(readiness) => readiness,
            Err(e) => {
                error!(target: TARGET, error = %e, "cannot poll the listener's sockets; listener stops");
                return self.stop();
            }
        };
        loop {
            if readiness.is_unchecked(0) {
                let (handled, stop) = self.forward_replies();
                if stop {
                    break;
                }
                readiness.received(0, handled < BATCH);
                if handled > 0 {
                    (1..=self.routers.len()).for_each(|k| readiness.sent(k));
                }
            }
            if self.owed.retry(&self.routers, Instant::now()) {
                (1..=self.routers.len()).for_each(|k| readiness.sent(k));
            }
            for socket in 0..self.routers.len() {
                if readiness.is_unchecked(1 + socket) {
                    let taken = self.receive_requests(socket);
                    readiness.received(1 + socket, taken < BATCH);
                }
            }
            if readiness.any_unchecked() {
                continue;
            }
            // Rounded up: a timeout rounded down to 0 would spin until the retry is due.
            let timeout = self
                .owed
                .timeout(Instant::now())
                .map_or(-1, |t| i64::try_from(t.as_nanos().div_ceil(1_000_000)).unwrap_or(i64::MAX));
            match readiness.wait(timeout) {
                Ok(()) | Err(zmq::Error::EINTR) => {}
                Err(e) => {
                    error!(target: TARGET, error = %e, "poll failed; listener stops");
                    break;
                }
            }
        }
        self.stop();
    }

    /// Let the workers finish and stop the connection events thread.
    fn stop(mut self) {
        self.query.shutdown();
        self.push.shutdown();
        self.events.shutdown();
        // Replies of the last jobs are dropped with the sockets; their requesters time out.
    }

    /// Pass worker replies (`[header][envelope][reply]`) to their connections: how many, and
    /// whether [`STOP`] came.
    fn forward_replies(&mut self) -> (usize, bool) {
        for handled in 0..BATCH {
            let Ok(mut message) = self.replies.recv_multipart(zmq::DONTWAIT) else {
                return (handled, false);
            };
            if message.len() == 1 && message.first().is_some_and(|frame| frame == STOP) {
                return (handled, true);
            }
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
        (BATCH, false)
    }

    /// Answer or queue the requests waiting on ROUTER `socket`: how many were taken.
    fn receive_requests(&mut self, socket: usize) -> usize {
        for taken in 0..BATCH {
            let Some(router) = self.routers.get(socket) else {
                return taken;
            };
            match receive(router) {
                Ok(Some(incoming)) => self.handle(socket, incoming),
                Ok(None) => return taken,
                Err(e) => {
                    warn!(target: TARGET, error = %e, "receive failed");
                    return taken;
                }
            }
        }
        BATCH
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
        let heavy = is_heavy(&request);
        if heavy && !self.owed.begin_heavy(&connection, Instant::now()) {
            let (requests, _) = self.owed.dropped();
            debug!(target: TARGET, address = ?peer.address, dropped = requests, "pipelined B or H dropped");
            return tap_unanswered(self.tap.as_deref(), &peer, raw.as_deref(), None, PIPELINED, false);
        }
        // What the service answers at once is answered here, without the round trip through a
        // worker; the rest goes to its lane and comes back here only when the lane is full.
        let at_once = self.service.answers_at_once(&request);
        let job = Job { socket: socket as u8, envelope, peer, request, raw, heavy };
        let Job { envelope, peer, request, raw, .. } = if at_once {
            job
        } else {
            let lane = if job.request.is_push() { &self.push } else { &self.query };
            let Some(job) = lane.offer(job) else {
                return;
            };
            let function = quote_for_log(job.request.function());
            if job.request.is_push() {
                warn!(target: TARGET, address = ?job.peer.address, command = function, "push queue full: acknowledged and dropped");
            } else {
                debug!(target: TARGET, lane = lane.name(), function, "queue full: answering inline");
            }
            job
        };
        let dropped = request.is_push() && !at_once;
        let reply = if dropped {
            Some(Reply::Ack(request.function().to_vec()))
        } else {
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
