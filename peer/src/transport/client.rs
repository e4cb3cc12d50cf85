//! A CURVE REQ client with bitmarkd's options (`zmqutil/client.go`): the base of the upstream
//! client and the client of the listener tests.

use super::keys::CurveKeys;
use super::monitor::LinkMonitor;
use super::options::{apply_common, millis, require_curve, RECONNECT_INTERVAL, REQUEST_TIMEOUT};
use super::TransportError;
use super::{PeerInfo, Transport};
use crate::capture::{Direction, Exchange, Tap};
use crate::wire::{Reply, Request};
use bitmark_record::Chain;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tracing::debug;

const TARGET: &str = "peer::client";

/// The longest a watched send waits before looking at the link's events again.
const SEND_POLL_SLICE: Duration = Duration::from_millis(200);

/// How a client talks.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Our chain: sent as the first frame of every request.
    pub chain: Chain,
    /// Our key pair; any key works with bitmarkd, which accepts every client key.
    pub keys: CurveKeys,
    /// How long a send may wait for a connected peer (bitmarkd: 60 s). IMMEDIATE is set, so
    /// with no completed handshake a send waits this long and fails with `Timeout`.
    pub send_timeout: Duration,
    /// How long to wait for a reply (bitmarkd: 60 s).
    pub receive_timeout: Duration,
    /// Delay before libzmq reconnects a dropped connection (bitmarkd: 2 min, no back-off).
    pub reconnect_interval: Duration,
    /// Watch the link with a socket monitor, so that [`Transport::link_problem`] can say why
    /// a request went unanswered (an inproc socket more per client; upstreams use it).
    pub monitor_link: bool,
}

impl ClientConfig {
    /// bitmarkd's timings for `chain` with `keys`.
    pub fn new(chain: Chain, keys: CurveKeys) -> ClientConfig {
        ClientConfig {
            chain,
            keys,
            send_timeout: REQUEST_TIMEOUT,
            receive_timeout: REQUEST_TIMEOUT,
            reconnect_interval: RECONNECT_INTERVAL,
            monitor_link: false,
        }
    }
}

/// One REQ socket to one peer. Owned by one thread at a time (it is `Send`, not `Sync`).
///
/// REQ_CORRELATE and REQ_RELAXED are set, so after a timeout the next request can be sent at
/// once and a late reply to the abandoned one is discarded by libzmq, as in bitmarkd. Unlike
/// bitmarkd no routing identity is set: libzmq's ROUTER assigns a unique one, where 32 random
/// bytes could (rarely) collide and make a ROUTER refuse the second connection.
///
/// A watched client ([`ClientConfig::monitor_link`]) also does not wait for a reply on a
/// connection that has gone: libzmq reconnects a REQ socket by itself but never sends a lost
/// request again, so bitmarkd's upstream waits out its 60-s timeout after every reset
/// connection. The monitor reports the disconnection and [`ZmqClient::receive`] gives the
/// request up at once ([`TransportError::Disconnected`]).
pub struct ZmqClient {
    context: zmq::Context,
    config: ClientConfig,
    socket: Option<zmq::Socket>,
    target: Option<(SocketAddr, [u8; 32])>,
    tap: Option<Arc<dyn Tap>>,
    monitor: Option<LinkMonitor>,
    /// The monitor's disconnection count when the request waiting for a reply went out.
    disconnects_at_send: u64,
}

impl ZmqClient {
    /// A client with no socket yet (bitmarkd's `NewClient`).
    pub fn new(context: &zmq::Context, config: ClientConfig) -> ZmqClient {
        ZmqClient {
            context: context.clone(),
            config,
            socket: None,
            target: None,
            tap: None,
            monitor: None,
            disconnects_at_send: 0,
        }
    }

    /// Show every exchange of [`Transport::request`] to `tap` (the raw [`ZmqClient::send`] and
    /// [`ZmqClient::receive`] are not shown: they are for tools that pair frames themselves).
    pub fn set_tap(&mut self, tap: Option<Arc<dyn Tap>>) {
        self.tap = tap;
    }

    /// Point the client at `addr`, whose listener has public key `server_key`: any old socket
    /// is closed and a new one connects (libzmq connects in the background).
    pub fn connect(&mut self, addr: SocketAddr, server_key: [u8; 32]) -> Result<(), TransportError> {
        self.close();
        self.target = Some((addr, server_key));
        self.open()
    }

    /// A fresh socket to the same target (bitmarkd's `Reconnect`).
    pub fn reconnect(&mut self) -> Result<(), TransportError> {
        self.socket = None;
        self.monitor = None;
        self.open()
    }

    /// Close the socket and forget the target.
    pub fn close(&mut self) {
        self.socket = None;
        self.monitor = None;
        self.target = None;
    }

    /// Whether there is a socket with a target. Says nothing about the TCP link, as in bitmarkd.
    pub fn is_connected(&self) -> bool {
        self.socket.is_some()
    }

    /// The address and server key connected to.
    pub fn target(&self) -> Option<(SocketAddr, [u8; 32])> {
        self.target
    }

    /// Our chain.
    pub fn chain(&self) -> Chain {
        self.config.chain
    }

    /// Send `body` behind the chain frame, as bitmarkd's `Client.Send` does.
    pub fn send<F: AsRef<[u8]>>(&mut self, body: &[F]) -> Result<(), TransportError> {
        let chain = self.config.chain.name().as_bytes();
        let frames: Vec<&[u8]> = std::iter::once(chain).chain(body.iter().map(AsRef::as_ref)).collect();
        self.send_unprefixed(&frames)
    }

    /// Send exactly `frames` (no chain frame added): for tools and tests that must send what a
    /// well-behaved client would not.
    pub fn send_unprefixed<F: AsRef<[u8]>>(&mut self, frames: &[F]) -> Result<(), TransportError> {
        if frames.is_empty() {
            return Err(TransportError::EmptyMessage);
        }
        let socket = self.socket.as_ref().ok_or(TransportError::NotConnected)?;
        let Some(monitor) = self.monitor.as_mut() else {
            return socket.send_multipart(frames.iter().map(AsRef::as_ref), 0).map_err(TransportError::io);
        };
        // Watched: wait for the link in slices, and give up as soon as the handshake has
        // failed rather than for the whole send timeout (a wrong key never completes one).
        let deadline = std::time::Instant::now() + self.config.send_timeout;
        loop {
            // Disconnections before this request do not concern it.
            let before = monitor.disconnects();
            match socket.send_multipart(frames.iter().map(AsRef::as_ref), zmq::DONTWAIT) {
                Err(zmq::Error::EAGAIN) => {}
                Ok(()) => {
                    self.disconnects_at_send = before;
                    return Ok(());
                }
                Err(e) => return Err(TransportError::io(e)),
            }
            let events = monitor.events();
            if events.handshake_failed && !events.handshake_succeeded {
                return Err(TransportError::LinkFailed(events.explain().unwrap_or_default().to_string()));
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Err(TransportError::Timeout);
            }
            let mut items = [socket.as_poll_item(zmq::POLLOUT), monitor.socket().as_poll_item(zmq::POLLIN)];
            zmq::poll(&mut items, millis(left.min(SEND_POLL_SLICE)).into()).map_err(TransportError::Zmq)?;
        }
    }

    /// Receive all frames of the next reply: `Timeout` after the receive timeout; on a watched
    /// client, `Disconnected` as soon as the connection goes down meanwhile.
    pub fn receive(&mut self) -> Result<Vec<Vec<u8>>, TransportError> {
        let socket = self.socket.as_ref().ok_or(TransportError::NotConnected)?;
        let Some(monitor) = self.monitor.as_mut() else {
            return socket.recv_multipart(0).map_err(TransportError::io);
        };
        let deadline = Instant::now() + self.config.receive_timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut items = [socket.as_poll_item(zmq::POLLIN), monitor.socket().as_poll_item(zmq::POLLIN)];
            zmq::poll(&mut items, millis(left).into()).map_err(TransportError::Zmq)?;
            let [reply, event] = &items;
            if reply.is_readable() {
                match socket.recv_multipart(zmq::DONTWAIT) {
                    // A late reply to an abandoned request, which REQ_CORRELATE discarded.
                    Err(zmq::Error::EAGAIN) => {}
                    received => return received.map_err(TransportError::io),
                }
            }
            if event.is_readable() && monitor.disconnects() > self.disconnects_at_send {
                debug!(target: TARGET, target = ?self.target, "connection lost while waiting for a reply");
                return Err(TransportError::Disconnected);
            }
            if left.is_zero() {
                return Err(TransportError::Timeout);
            }
        }
    }

    fn open(&mut self) -> Result<(), TransportError> {
        require_curve()?;
        let (addr, server_key) = self.target.ok_or(TransportError::NotConnected)?;
        let c = &self.config;
        let socket = self.context.socket(zmq::REQ).map_err(TransportError::Zmq)?;
        let set = || -> zmq::Result<()> {
            apply_common(&socket, addr.is_ipv6())?;
            socket.set_curve_server(false)?;
            socket.set_curve_publickey(&c.keys.public)?;
            socket.set_curve_secretkey(&c.keys.secret)?;
            socket.set_curve_serverkey(&server_key)?;
            socket.set_sndtimeo(millis(c.send_timeout))?;
            socket.set_rcvtimeo(millis(c.receive_timeout))?;
            socket.set_req_correlate(true)?;
            socket.set_req_relaxed(true)?;
            socket.set_reconnect_ivl(millis(c.reconnect_interval))?;
            socket.set_reconnect_ivl_max(0)
        };
        set().map_err(TransportError::Zmq)?;
        // Before the connect, so that its first events are seen.
        self.monitor = if c.monitor_link { Some(LinkMonitor::start(&self.context, &socket)?) } else { None };
        socket.connect(&format!("tcp://{addr}")).map_err(TransportError::Zmq)?;
        debug!(target: TARGET, %addr, "connecting");
        self.socket = Some(socket);
        Ok(())
    }
}

impl ZmqClient {
    /// Show the tap (if any) one exchange: `request` and its reply frames, or why there are none.
    fn tap(&self, request: &[Vec<u8>], reply: &Result<Vec<Vec<u8>>, TransportError>) {
        let Some(tap) = &self.tap else {
            return;
        };
        let peer = PeerInfo {
            address: self.target.map(|(addr, _)| addr.to_string()),
            routing_id: Vec::new(),
            public_key: self.target.map(|(_, key)| key.to_vec()),
        };
        let (reply, error) = match reply {
            Ok(frames) => (Some(frames.as_slice()), None),
            Err(e) => (None, Some(e.to_string())),
        };
        tap.exchange(&Exchange {
            direction: Direction::Out,
            peer: &peer,
            request,
            reply,
            error: error.as_deref(),
            dropped: false,
        });
    }
}

impl Transport for ZmqClient {
    fn request(&mut self, request: &Request) -> Result<Reply, TransportError> {
        let frames = request.to_frames(self.config.chain);
        let reply = self.send_unprefixed(&frames).and_then(|()| self.receive());
        self.tap(&frames, &reply);
        Reply::parse(&reply?, request, self.config.chain)
    }

    fn link_problem(&mut self) -> Option<String> {
        self.monitor.as_mut().and_then(|m| m.events().explain()).map(str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CURVE ROUTER on a free loopback port; its address and public key.
    fn router(context: &zmq::Context) -> (zmq::Socket, SocketAddr, [u8; 32]) {
        let keys = CurveKeys::generate().unwrap();
        let socket = context.socket(zmq::ROUTER).unwrap();
        socket.set_curve_server(true).unwrap();
        socket.set_curve_secretkey(&keys.secret).unwrap();
        socket.set_linger(0).unwrap();
        socket.bind("tcp://127.0.0.1:*").unwrap();
        let endpoint = socket.get_last_endpoint().unwrap().unwrap();
        let addr = endpoint.trim_start_matches("tcp://").parse().unwrap();
        (socket, addr, keys.public)
    }

    fn client(context: &zmq::Context, addr: SocketAddr, key: [u8; 32]) -> ZmqClient {
        let mut config = ClientConfig::new(Chain::Testing, CurveKeys::generate().unwrap());
        config.receive_timeout = Duration::from_secs(30);
        config.send_timeout = Duration::from_secs(10);
        config.monitor_link = true;
        let mut client = ZmqClient::new(context, config);
        client.connect(addr, key).unwrap();
        client
    }

    #[test]
    fn a_watched_request_whose_connection_goes_is_given_up_at_once() {
        let context = zmq::Context::new();
        let (server, addr, key) = router(&context);
        let mut client = client(&context, addr, key);
        // A slow reply on a live connection is still waited for.
        let answering = std::thread::spawn(move || {
            let request = server.recv_multipart(0).unwrap();
            std::thread::sleep(Duration::from_millis(300));
            // The envelope (routing id, REQ_CORRELATE's request id, delimiter), then the reply.
            let delimiter = request.iter().position(Vec::is_empty).unwrap();
            let mut reply = request[..=delimiter].to_vec();
            reply.extend(Reply::Height(7).to_frames());
            server.send_multipart(reply, 0).unwrap();
            // The next request is read, and then the server goes away without answering.
            server.recv_multipart(0).unwrap();
            drop(server);
        });
        assert_eq!(client.request(&Request::Height).unwrap(), Reply::Height(7));
        let started = Instant::now();
        let lost = client.request(&Request::Height);
        assert!(matches!(lost, Err(TransportError::Disconnected)), "{lost:?}");
        assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
        answering.join().unwrap();
    }
}
