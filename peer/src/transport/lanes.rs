//! Bounded worker lanes of the listener: a queue of parsed requests, a few threads answering
//! them, and each reply handed back to the socket thread over an inproc PUSH socket (libzmq
//! sockets are not thread-safe, so only the socket thread touches the ROUTER).
//!
//! A lane's byte budget counts the requests waiting for a worker and the replies its workers
//! have made until the socket thread takes them, so a burst of `B` replies (megabytes each,
//! from requests of a few bytes) holds up further queries of the lane instead of piling up.

use super::{PeerInfo, Service};
use crate::capture::{Direction, Exchange, Tap};
use crate::error::PeerError;
use crate::wire::{quote_for_log, Reply, Request};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;
use tracing::{error, warn};

const TARGET: &str = "peer::listener";

/// How long a worker waits to hand a reply back before dropping it. Reached only when the
/// socket thread stops reading replies: at shutdown, or when it is stalled for this long with
/// 1000 replies (the inproc high-water mark) waiting. Bounds how long shutdown waits on a worker.
const REPLY_SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// One request waiting for a worker, with what is needed to route its reply.
pub(crate) struct Job {
    /// Index of the ROUTER socket it came in on.
    pub socket: u8,
    /// Routing id, REQ correlation id and the empty delimiter, echoed in front of the reply.
    pub envelope: Vec<Vec<u8>>,
    /// Who sent it.
    pub peer: PeerInfo,
    /// The request.
    pub request: Request,
    /// The request's frames as received, kept only when a tap records the exchange.
    pub raw: Option<Vec<Vec<u8>>>,
    /// A `B` or `H`: the connection's one request of that kind in progress (`owed.rs`).
    pub heavy: bool,
}

/// The first frame of a message a worker hands back: which ROUTER, which lane, what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ReplyHeader {
    /// Index of the ROUTER socket the request came in on.
    pub socket: u8,
    /// Index of the lane that answered (`Lane::start`'s `index`).
    pub lane: u8,
    /// The reply to a heavy request ([`Job::heavy`]).
    pub heavy: bool,
    /// Whether reply frames follow the envelope (none when the service panicked).
    pub answered: bool,
    /// Bytes of the reply frames, counted in the lane's budget until the socket thread takes
    /// the reply.
    pub bytes: usize,
}

impl ReplyHeader {
    const HEAVY: u8 = 1;
    const ANSWERED: u8 = 2;

    /// `[socket][lane][flags][bytes: u64 LE]`.
    pub fn encode(&self) -> Vec<u8> {
        let flags = if self.heavy { Self::HEAVY } else { 0 } | if self.answered { Self::ANSWERED } else { 0 };
        let mut frame = vec![self.socket, self.lane, flags];
        frame.extend_from_slice(&(self.bytes as u64).to_le_bytes());
        frame
    }

    /// The header a worker of this listener wrote, or `None`.
    pub fn decode(frame: &[u8]) -> Option<ReplyHeader> {
        let [socket, lane, flags, bytes @ ..] = frame else {
            return None;
        };
        let bytes = usize::try_from(u64::from_le_bytes(<[u8; 8]>::try_from(bytes).ok()?)).ok()?;
        Some(ReplyHeader {
            socket: *socket,
            lane: *lane,
            heavy: flags & Self::HEAVY != 0,
            answered: flags & Self::ANSWERED != 0,
            bytes,
        })
    }
}

/// Let `service` answer, containing a panic (which would otherwise kill a worker or the socket
/// thread): `None` then, and the requester gets no reply, as from a dead peer.
pub(crate) fn answer(service: &dyn Service, peer: &PeerInfo, request: Request) -> Option<Reply> {
    let function = quote_for_log(request.function());
    let answered = catch_unwind(AssertUnwindSafe(|| service.handle(peer, request)));
    if answered.is_err() {
        error!(target: TARGET, function, "service panicked; no reply sent");
    }
    answered.ok()
}

/// The whole message a worker hands back: header, envelope, reply frames.
pub(crate) fn reply_message(header: ReplyHeader, envelope: Vec<Vec<u8>>, reply: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut message = Vec::with_capacity(1 + envelope.len() + reply.len());
    message.push(header.encode());
    message.extend(envelope);
    message.extend(reply);
    message
}

/// Show `tap` an exchange of the listener: the request frames as received (`raw`, kept only
/// when there is a tap), the reply frames sent (`None`: no reply, the service panicked), and
/// whether the request was a push acknowledged without processing.
pub(crate) fn tap_inbound(
    tap: Option<&dyn Tap>,
    peer: &PeerInfo,
    raw: Option<&[Vec<u8>]>,
    reply: Option<&[Vec<u8>]>,
    dropped: bool,
) {
    tap_unanswered(tap, peer, raw, reply, "no reply: the service panicked", dropped);
}

/// [`tap_inbound`] with the reason there is no reply when `reply` is `None`.
pub(crate) fn tap_unanswered(
    tap: Option<&dyn Tap>,
    peer: &PeerInfo,
    raw: Option<&[Vec<u8>]>,
    reply: Option<&[Vec<u8>]>,
    why: &str,
    dropped: bool,
) {
    if let (Some(tap), Some(request)) = (tap, raw) {
        let error = reply.is_none().then_some(why);
        tap.exchange(&Exchange { direction: Direction::In, peer, request, reply, error, dropped });
    }
}

/// Limits of one lane.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LaneLimits {
    /// Worker threads.
    pub workers: usize,
    /// Requests waiting for a worker.
    pub queue: usize,
    /// Payload bytes waiting for a worker, and bytes of replies waiting for the socket thread
    /// (a single request is admitted to an empty queue whatever its size, so every request
    /// that libzmq accepts can be served).
    pub queue_bytes: usize,
}

/// A bounded queue and its workers.
pub(crate) struct Lane {
    name: &'static str,
    sender: Option<SyncSender<(Job, usize)>>,
    queued_bytes: Arc<AtomicUsize>,
    limit_bytes: usize,
    workers: Vec<JoinHandle<()>>,
}

impl Lane {
    /// Start `limits.workers` threads, each with its own PUSH socket to `reply_endpoint`;
    /// `index` names the lane in the [`ReplyHeader`]s of its replies.
    pub fn start(
        name: &'static str,
        index: u8,
        limits: LaneLimits,
        context: &zmq::Context,
        reply_endpoint: &str,
        service: Arc<dyn Service>,
        tap: Option<Arc<dyn Tap>>,
    ) -> Result<Lane, PeerError> {
        let (sender, receiver) = mpsc::sync_channel(limits.queue);
        let receiver = Arc::new(Mutex::new(receiver));
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let mut lane =
            Lane { name, sender: Some(sender), queued_bytes, limit_bytes: limits.queue_bytes, workers: vec![] };
        for i in 0..limits.workers {
            let push = context.socket(zmq::PUSH).map_err(PeerError::Zmq)?;
            push.set_linger(0).map_err(PeerError::Zmq)?;
            push.set_sndtimeo(super::options::millis(REPLY_SEND_TIMEOUT)).map_err(PeerError::Zmq)?;
            push.connect(reply_endpoint).map_err(PeerError::Zmq)?;
            let worker = Worker {
                lane: index,
                receiver: Arc::clone(&receiver),
                queued_bytes: Arc::clone(&lane.queued_bytes),
                service: Arc::clone(&service),
                tap: tap.clone(),
                push,
            };
            let handle = std::thread::Builder::new()
                .name(format!("peer-{name}-{i}"))
                .spawn(move || worker.run())
                .map_err(|e| PeerError::Config(format!("cannot start worker thread: {e}")))?;
            lane.workers.push(handle);
        }
        Ok(lane)
    }

    /// Queue `job`; it is handed back when the lane is full (by count or by bytes) or stopped.
    pub fn offer(&self, job: Job) -> Option<Job> {
        let Some(sender) = &self.sender else {
            return Some(job);
        };
        let bytes = job.request.payload_len();
        let before = self.queued_bytes.fetch_add(bytes, Ordering::SeqCst);
        if before > 0 && before.saturating_add(bytes) > self.limit_bytes {
            self.queued_bytes.fetch_sub(bytes, Ordering::SeqCst);
            return Some(job);
        }
        match sender.try_send((job, bytes)) {
            Ok(()) => None,
            Err(TrySendError::Full((job, bytes)) | TrySendError::Disconnected((job, bytes))) => {
                self.queued_bytes.fetch_sub(bytes, Ordering::SeqCst);
                Some(job)
            }
        }
    }

    /// The socket thread has taken a reply of `bytes` from a worker of this lane.
    pub fn delivered(&self, bytes: usize) {
        let _ = self.queued_bytes.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| Some(n.saturating_sub(bytes)));
    }

    /// The lane's name, for logs.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Close the queue and wait for the workers to finish what they hold.
    pub fn shutdown(&mut self) {
        self.sender = None;
        for worker in self.workers.drain(..) {
            if worker.join().is_err() {
                error!(target: TARGET, lane = self.name, "worker thread panicked");
            }
        }
    }
}

impl Drop for Lane {
    fn drop(&mut self) {
        self.shutdown();
    }
}

struct Worker {
    lane: u8,
    receiver: Arc<Mutex<Receiver<(Job, usize)>>>,
    queued_bytes: Arc<AtomicUsize>,
    service: Arc<dyn Service>,
    tap: Option<Arc<dyn Tap>>,
    push: zmq::Socket,
}

impl Worker {
    fn run(self) {
        while let Some((job, bytes)) = self.next() {
            self.queued_bytes.fetch_sub(bytes, Ordering::SeqCst);
            let Job { socket, envelope, peer, request, raw, heavy } = job;
            let reply = answer(self.service.as_ref(), &peer, request).map(|reply| reply.to_frames());
            tap_inbound(self.tap.as_deref(), &peer, raw.as_deref(), reply.as_deref(), false);
            // Without a reply the socket thread still hears of it, to end a heavy request.
            let answered = reply.is_some();
            let reply = reply.unwrap_or_default();
            let bytes = reply.iter().map(Vec::len).fold(0, usize::saturating_add);
            let header = ReplyHeader { socket, lane: self.lane, heavy, answered, bytes };
            self.queued_bytes.fetch_add(bytes, Ordering::SeqCst);
            if let Err(e) = self.push.send_multipart(reply_message(header, envelope, reply), 0) {
                self.queued_bytes.fetch_sub(bytes, Ordering::SeqCst);
                warn!(target: TARGET, error = %e, "reply dropped: socket thread not reading");
            }
        }
    }

    /// The next job, or `None` once the queue is closed.
    fn next(&self) -> Option<(Job, usize)> {
        // A poisoned lock only means another worker panicked while waiting; the receiver is fine.
        let receiver = self.receiver.lock().unwrap_or_else(|p| p.into_inner());
        receiver.recv().ok()
    }
}
