//! What the listener owes its connections: replies libzmq has not taken yet, bounded per
//! connection and in total, and the one `B` or `H` each connection may have in progress.
//!
//! # Why
//!
//! A REQ client (every bitmarkd node and client) has one request in flight: it reads each
//! reply before it sends its next request. A client that pipelines requests and never reads
//! makes the server hold the replies: libzmq queues up to `ZMQ_SNDHWM` messages for each
//! connection (1 000 by default, a gigabyte of 1 MB blocks), and every `B` still costs a block
//! read however slowly its reply leaves. So, with bounds that a REQ client cannot reach:
//!
//! * libzmq queues at most [`SEND_HWM`] replies for a connection (plus the one it is writing
//!   to the socket). The ROUTER is `ROUTER_MANDATORY`, so a reply to a full queue is refused
//!   rather than silently dropped;
//! * a refused reply waits here, in the connection's outbox, and is retried as the connection
//!   drains (every millisecond while they move, backing off to [`RETRY_LAST`] while they do
//!   not). Outboxes hold at most [`CONNECTION_WAITING`] bytes per connection and
//!   [`TOTAL_WAITING`] in all; a reply beyond either is dropped;
//! * a connection has at most one `B` or `H` in progress (queued for a worker, being answered,
//!   or waiting in its outbox): the requests that cost a block read or an Argon2d digest, and
//!   whose replies can be megabytes. Another one from the same connection meanwhile is
//!   dropped unanswered, which costs nothing. A request in progress for longer than
//!   [`REQUEST_TIMEOUT`] no longer counts: bitmarkd's REQ socket is relaxed, so a client that
//!   gave up on its request may send the next one on the same connection.
//!
//! A REQ client never has two replies owed, so it never meets an outbox or a drop; a DEALER
//! that pipelines small requests and reads its replies in the end gets them all, through the
//! outbox. What a connection that never reads can make the listener hold is its libzmq queue
//! ([`SEND_HWM`] replies), the reply libzmq is writing, and at most [`CONNECTION_WAITING`]
//! here: under 20 MB with bitmarkd's largest blocks (5 MB), instead of 5 GB.

use super::options::REQUEST_TIMEOUT;
use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};
use tracing::{debug, warn};

const TARGET: &str = "peer::listener";

/// libzmq's send high-water mark on the listener's ROUTERs: replies queued per connection.
/// Two, not one: libzmq learns that the peer took a message through a command that can lag
/// one message behind, and a REQ client must never meet a full queue.
pub(crate) const SEND_HWM: i32 = 2;
/// Bytes of replies that may wait in one connection's outbox.
pub(crate) const CONNECTION_WAITING: usize = 1 << 20;
/// Bytes of replies that may wait in all outboxes together.
pub(crate) const TOTAL_WAITING: usize = 32 << 20;
/// What a waiting frame costs besides its bytes (the `Vec`, the queue slot), so that a flood
/// of empty replies is bounded too.
const FRAME_OVERHEAD: usize = 64;
/// First retry of a waiting reply.
const RETRY_FIRST: Duration = Duration::from_millis(1);
/// Longest wait between retries while no outbox drains.
pub(crate) const RETRY_LAST: Duration = Duration::from_millis(100);
/// Entries of the in-progress table beyond which stale ones are swept.
const SWEEP_AT: usize = 1024;

/// A connection: the index of its ROUTER and its routing id there.
pub(crate) type Connection = (u8, Vec<u8>);

/// Why libzmq did not take a reply.
pub(crate) enum Refused {
    /// The connection's queue is full: nothing was sent, here is the message back.
    Full(Vec<Vec<u8>>),
    /// It cannot be sent (the peer has gone, or the socket failed).
    Failed(zmq::Error),
}

/// Where replies go: the listener's ROUTERs, or a fake in tests.
pub(crate) trait ReplySink {
    /// Hand `message` (routing id first) to the ROUTER `socket` without blocking.
    fn try_send(&self, socket: u8, message: Vec<Vec<u8>>) -> Result<(), Refused>;
}

impl ReplySink for Vec<zmq::Socket> {
    fn try_send(&self, socket: u8, message: Vec<Vec<u8>>) -> Result<(), Refused> {
        let Some(router) = self.get(usize::from(socket)) else {
            return Err(Refused::Failed(zmq::Error::ENOTSOCK));
        };
        let Some(routing_id) = message.first() else {
            return Ok(());
        };
        // The routing id alone first: a full queue refuses it, and the message is still ours.
        let more = if message.len() > 1 { zmq::SNDMORE } else { 0 };
        match router.send(routing_id.as_slice(), more | zmq::DONTWAIT) {
            Ok(()) => {}
            Err(zmq::Error::EAGAIN) => return Err(Refused::Full(message)),
            Err(e) => return Err(Refused::Failed(e)),
        }
        if more == 0 {
            return Ok(());
        }
        // Once the routing id is taken the rest goes to the same queue, never refused.
        router.send_multipart(message.into_iter().skip(1), zmq::DONTWAIT).map_err(Refused::Failed)
    }
}

/// Bounds of the outboxes (the constants above, smaller in tests).
#[derive(Clone, Copy, Debug)]
pub(crate) struct OwedLimits {
    /// Bytes waiting for one connection.
    pub connection: usize,
    /// Bytes waiting in all.
    pub total: usize,
}

impl Default for OwedLimits {
    fn default() -> Self {
        OwedLimits { connection: CONNECTION_WAITING, total: TOTAL_WAITING }
    }
}

/// One reply waiting for its connection's queue.
struct Waiting {
    message: Vec<Vec<u8>>,
    bytes: usize,
    /// The reply to the connection's `B` or `H` in progress.
    heavy: bool,
}

/// Replies waiting for one connection, oldest first.
#[derive(Default)]
struct Outbox {
    replies: VecDeque<Waiting>,
    bytes: usize,
}

/// What the socket thread owes its connections. Owned by the socket thread alone.
pub(crate) struct Owed {
    limits: OwedLimits,
    in_progress: HashMap<Connection, Instant>,
    outboxes: HashMap<Connection, Outbox>,
    waiting: usize,
    retry: Duration,
    next_retry: Option<Instant>,
    dropped_requests: u64,
    dropped_replies: u64,
}

/// What a message costs while it waits.
fn cost(message: &[Vec<u8>]) -> usize {
    message.iter().map(|frame| frame.len().saturating_add(FRAME_OVERHEAD)).fold(0, usize::saturating_add)
}

impl Owed {
    /// Nothing owed yet.
    pub fn new(limits: OwedLimits) -> Owed {
        Owed {
            limits,
            in_progress: HashMap::new(),
            outboxes: HashMap::new(),
            waiting: 0,
            retry: RETRY_FIRST,
            next_retry: None,
            dropped_requests: 0,
            dropped_replies: 0,
        }
    }

    /// Start a `B` or `H` of `connection` at `now`: false (and the request is to be dropped)
    /// while another one of it is in progress.
    pub fn begin_heavy(&mut self, connection: &Connection, now: Instant) -> bool {
        if let Some(&since) = self.in_progress.get(connection) {
            if now.saturating_duration_since(since) < REQUEST_TIMEOUT {
                self.dropped_requests = self.dropped_requests.saturating_add(1);
                return false;
            }
        }
        if self.in_progress.len() >= SWEEP_AT {
            self.in_progress.retain(|_, since| now.saturating_duration_since(*since) < REQUEST_TIMEOUT);
        }
        self.in_progress.insert(connection.clone(), now);
        true
    }

    /// The `B` or `H` of `connection` is over (answered, dropped, or without a reply).
    pub fn end_heavy(&mut self, connection: &Connection) {
        self.in_progress.remove(connection);
    }

    /// Hand `message` (`[routing id][envelope...][reply...]`) for `connection` to libzmq, or
    /// to its outbox behind replies already waiting there. `heavy`: the reply to its `B` or
    /// `H` in progress, which ends when the reply leaves.
    pub fn deliver(
        &mut self,
        sink: &dyn ReplySink,
        connection: &Connection,
        message: Vec<Vec<u8>>,
        heavy: bool,
        now: Instant,
    ) {
        if self.outboxes.contains_key(connection) {
            return self.wait(connection, message, heavy, now);
        }
        match sink.try_send(connection.0, message) {
            Ok(()) => self.left(connection, heavy),
            Err(Refused::Full(message)) => self.wait(connection, message, heavy, now),
            Err(Refused::Failed(e)) => self.failed(connection, heavy, e),
        }
    }

    fn left(&mut self, connection: &Connection, heavy: bool) {
        if heavy {
            self.end_heavy(connection);
        }
    }

    fn failed(&mut self, connection: &Connection, heavy: bool, error: zmq::Error) {
        // EHOSTUNREACH: the client went away before its reply, which is no news.
        if error == zmq::Error::EHOSTUNREACH {
            debug!(target: TARGET, "reply dropped: its connection has gone");
        } else {
            warn!(target: TARGET, %error, "reply not sent");
        }
        self.left(connection, heavy);
    }

    fn wait(&mut self, connection: &Connection, message: Vec<Vec<u8>>, heavy: bool, now: Instant) {
        let bytes = cost(&message);
        let outbox = self.outboxes.get(connection);
        let held = outbox.map_or(0, |o| o.bytes);
        if held.saturating_add(bytes) > self.limits.connection || self.waiting.saturating_add(bytes) > self.limits.total
        {
            self.dropped_replies = self.dropped_replies.saturating_add(1);
            debug!(
                target: TARGET,
                bytes,
                held,
                waiting = self.waiting,
                dropped = self.dropped_replies,
                "reply dropped: its connection does not read its replies"
            );
            return self.left(connection, heavy);
        }
        let outbox = self.outboxes.entry(connection.clone()).or_default();
        outbox.replies.push_back(Waiting { message, bytes, heavy });
        outbox.bytes = outbox.bytes.saturating_add(bytes);
        self.waiting = self.waiting.saturating_add(bytes);
        if self.next_retry.is_none() {
            self.retry = RETRY_FIRST;
            self.next_retry = Some(now + RETRY_FIRST);
        }
    }

    /// How long the socket thread may sleep before [`Owed::retry`] is due; `None` while no
    /// reply waits.
    pub fn timeout(&self, now: Instant) -> Option<Duration> {
        self.next_retry.map(|at| at.saturating_duration_since(now))
    }

    /// Retry the waiting replies if it is time: each connection's, oldest first, until its
    /// queue is full again. Whether it was time (and replies were offered to `sink`).
    pub fn retry(&mut self, sink: &dyn ReplySink, now: Instant) -> bool {
        match self.next_retry {
            Some(at) if at <= now => {}
            _ => return false,
        }
        let mut moved = false;
        let mut ended = Vec::new();
        let mut freed = 0usize;
        self.outboxes.retain(|connection, outbox| {
            while let Some(Waiting { message, bytes, heavy }) = outbox.replies.pop_front() {
                let result = sink.try_send(connection.0, message);
                if let Err(Refused::Full(message)) = result {
                    outbox.replies.push_front(Waiting { message, bytes, heavy });
                    break;
                }
                if let Err(Refused::Failed(e)) = &result {
                    debug!(target: TARGET, error = %e, "waiting reply dropped: its connection has gone");
                }
                moved |= result.is_ok();
                outbox.bytes = outbox.bytes.saturating_sub(bytes);
                freed = freed.saturating_add(bytes);
                if heavy {
                    ended.push(connection.clone());
                }
            }
            !outbox.replies.is_empty()
        });
        self.waiting = self.waiting.saturating_sub(freed);
        for connection in &ended {
            self.end_heavy(connection);
        }
        self.retry = if moved { RETRY_FIRST } else { self.retry.saturating_mul(2).min(RETRY_LAST) };
        self.next_retry = (!self.outboxes.is_empty()).then(|| now + self.retry);
        true
    }

    /// Requests dropped because the connection had a `B` or `H` in progress, and replies
    /// dropped because their connection's outbox (or all of them) was full.
    pub fn dropped(&self) -> (u64, u64) {
        (self.dropped_requests, self.dropped_replies)
    }

    /// Bytes waiting in all outboxes.
    #[cfg(test)]
    fn waiting(&self) -> usize {
        self.waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    /// Connections that take `room` messages each until told otherwise; `gone` ones fail.
    #[derive(Default)]
    struct Fake {
        room: RefCell<BTreeMap<Vec<u8>, usize>>,
        sent: RefCell<Vec<Vec<Vec<u8>>>>,
        gone: RefCell<Vec<Vec<u8>>>,
    }

    impl Fake {
        fn make_room(&self, id: &[u8], n: usize) {
            *self.room.borrow_mut().entry(id.to_vec()).or_default() += n;
        }
        fn sent_to(&self, id: &[u8]) -> usize {
            self.sent.borrow().iter().filter(|m| m[0] == id).count()
        }
    }

    impl ReplySink for Fake {
        fn try_send(&self, _socket: u8, message: Vec<Vec<u8>>) -> Result<(), Refused> {
            if self.gone.borrow().contains(&message[0]) {
                return Err(Refused::Failed(zmq::Error::EHOSTUNREACH));
            }
            let mut room = self.room.borrow_mut();
            let left = room.entry(message[0].clone()).or_default();
            if *left == 0 {
                return Err(Refused::Full(message));
            }
            *left -= 1;
            self.sent.borrow_mut().push(message);
            Ok(())
        }
    }

    fn reply(id: &[u8], size: usize) -> Vec<Vec<u8>> {
        vec![id.to_vec(), Vec::new(), vec![7; size]]
    }

    fn conn(id: &[u8]) -> Connection {
        (0, id.to_vec())
    }

    /// Connections with no room, nothing owed, and now.
    fn fresh() -> (Fake, Owed, Instant) {
        (Fake::default(), Owed::new(OwedLimits::default()), Instant::now())
    }

    #[test]
    fn a_reader_gets_everything_and_nothing_waits() {
        let (fake, mut owed, now) = fresh();
        for _ in 0..100 {
            fake.make_room(b"a", 1);
            owed.deliver(&fake, &conn(b"a"), reply(b"a", 1000), false, now);
        }
        assert_eq!(fake.sent_to(b"a"), 100);
        assert_eq!(owed.timeout(Instant::now()), None);
        assert_eq!(owed.dropped(), (0, 0));
    }

    #[test]
    fn replies_wait_in_order_until_the_connection_drains() {
        let (fake, mut owed, now) = fresh();
        fake.make_room(b"a", 2);
        for i in 0..10u8 {
            owed.deliver(&fake, &conn(b"a"), vec![b"a".to_vec(), vec![i]], false, now);
        }
        assert_eq!(fake.sent_to(b"a"), 2);
        assert_eq!(owed.timeout(now), Some(RETRY_FIRST));
        // Nothing drains: retries back off.
        let mut at = now;
        for _ in 0..20 {
            at += owed.timeout(at).unwrap();
            owed.retry(&fake, at);
        }
        assert_eq!(owed.timeout(at), Some(RETRY_LAST));
        fake.make_room(b"a", 100);
        at += RETRY_LAST;
        owed.retry(&fake, at);
        let order: Vec<u8> = fake.sent.borrow().iter().map(|m| m[1][0]).collect();
        assert_eq!(order, (0..10).collect::<Vec<u8>>());
        assert_eq!((owed.timeout(at), owed.waiting()), (None, 0));
    }

    #[test]
    fn outboxes_are_bounded_per_connection_and_in_total() {
        let fake = Fake::default();
        let limits = OwedLimits { connection: 10_000, total: 25_000 };
        let mut owed = Owed::new(limits);
        let now = Instant::now();
        // Nobody reads: every reply waits, until the bounds drop them.
        for id in [b"a", b"b", b"c", b"d"] {
            for _ in 0..20 {
                owed.deliver(&fake, &conn(id), reply(id, 1000), false, now);
            }
        }
        // 1 193 bytes each with the frames' overhead: 8 fit a connection's 10 000; the first
        // two connections fill theirs, the third gets 4 (the total's 25 000), the fourth none.
        let each = cost(&reply(b"a", 1000));
        assert_eq!(each, 1193);
        assert_eq!(owed.waiting(), 20 * each);
        assert_eq!(owed.dropped(), (0, 60));
    }

    #[test]
    fn one_heavy_request_in_progress_per_connection() {
        let (fake, mut owed, now) = fresh();
        assert!(owed.begin_heavy(&conn(b"a"), now));
        assert!(!owed.begin_heavy(&conn(b"a"), now), "a second B while the first is answered");
        assert!(owed.begin_heavy(&conn(b"b"), now), "another connection is not held up");
        // Its reply waits in the outbox: still in progress.
        owed.deliver(&fake, &conn(b"a"), reply(b"a", 10), true, now);
        assert!(!owed.begin_heavy(&conn(b"a"), now));
        fake.make_room(b"a", 1);
        owed.retry(&fake, now + RETRY_FIRST);
        assert!(owed.begin_heavy(&conn(b"a"), now), "the reply left: the next B is answered");
        // A client that gave up on its request (relaxed REQ) is answered again.
        assert!(owed.begin_heavy(&conn(b"b"), now + REQUEST_TIMEOUT));
        assert_eq!(owed.dropped().0, 2);
    }

    #[test]
    fn a_gone_connection_frees_its_outbox_and_its_request() {
        let (fake, mut owed, now) = fresh();
        assert!(owed.begin_heavy(&conn(b"a"), now));
        owed.deliver(&fake, &conn(b"a"), reply(b"a", 10), false, now);
        owed.deliver(&fake, &conn(b"a"), reply(b"a", 10), true, now);
        fake.gone.borrow_mut().push(b"a".to_vec());
        owed.retry(&fake, now + RETRY_FIRST);
        assert_eq!((owed.waiting(), owed.timeout(now)), (0, None));
        assert!(owed.begin_heavy(&conn(b"a"), now));
    }
}
