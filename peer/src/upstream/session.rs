//! The upstream protocol and state machine, synchronous: whoever owns a [`Session`] drives it
//! with [`Session::run_due`] when [`Session::next_due`] has come, and makes calls in between.

use super::backoff::Jitter;
use super::dial::{Dialer, Target};
use super::error::UpstreamError;
use super::status::{LinkState, UpstreamStatus};
use super::{UpstreamConfig, UpstreamEnv};
use crate::clock::Clock;
use crate::score::{Offence, PeerKey, ScoreBoard};
use crate::transport::Transport;
use crate::transport::TransportError;
use crate::wire::{quote_for_log, Push, Reply, Request};
use bitmark_record::{BlockDigest, Fault};
use std::sync::Arc;
use std::time::Instant;
use tracing::{debug, info, warn};

const TARGET: &str = "peer::upstream";

/// What is known of the remote; reset on every retarget.
#[derive(Clone, Copy, Debug, Default)]
struct Cache {
    remote_height: Option<u64>,
    local_height: Option<u64>,
    remote_digest: Option<BlockDigest>,
    last_response: Option<Instant>,
}

/// One upstream's protocol state over links from `D`.
pub struct Session<D: Dialer> {
    name: String,
    config: UpstreamConfig,
    dialer: D,
    env: UpstreamEnv,
    target: Option<Target>,
    link: Option<D::Link>,
    state: LinkState,
    cache: Cache,
    jitter: Jitter,
    last_error: Option<(String, Instant)>,
}

impl<D: Dialer> Session<D> {
    /// An idle session named `name` (no target yet).
    pub fn new(name: impl Into<String>, config: UpstreamConfig, dialer: D, env: UpstreamEnv) -> Session<D> {
        Session {
            name: name.into(),
            config,
            dialer,
            env,
            target: None,
            link: None,
            state: LinkState::Idle,
            cache: Cache::default(),
            jitter: Jitter::random(),
            last_error: None,
        }
    }

    /// Use `jitter` for back-off delays (a seeded one makes a simulation repeatable).
    pub fn with_jitter(mut self, jitter: Jitter) -> Session<D> {
        self.jitter = jitter;
        self
    }

    /// Point at `target`: drop the link and everything known, and register with it at the next
    /// [`Session::run_due`] (bitmarkd's `Connect`, which forgets to do most of this).
    /// Our own key is refused (the session is released instead).
    pub fn retarget(&mut self, target: Target) {
        if self.state == LinkState::Closed {
            return;
        }
        if target.public_key.as_slice() == self.env.identity.public_key.as_slice() {
            warn!(target: TARGET, upstream = %self.name, ?target, "not connecting to ourselves");
            return self.release();
        }
        info!(target: TARGET, upstream = %self.name, ?target, "retarget");
        self.reset();
        self.target = Some(target);
        self.state = LinkState::Connecting { failures: 0, next_attempt: self.env.clock.instant() };
    }

    /// Read what the link's socket monitor has queued, while nothing else uses the link. libzmq
    /// sends monitor events from its I/O thread and blocks there when a monitor is not read:
    /// a peer that keeps failing to connect (reconnect attempts every interval) would otherwise
    /// fill the queue and stall every socket of the context, the listener's included.
    pub fn drain_link_events(&mut self) {
        if let Some(link) = self.link.as_mut() {
            // The events are kept (what `link_problem` explains); only the queue empties.
            let _ = link.link_problem();
        }
    }

    /// Forget the target (bitmarkd's `ResetServer`, the connector's answer to an expired peer).
    pub fn release(&mut self) {
        if self.state == LinkState::Closed {
            return;
        }
        if let Some(target) = self.target {
            info!(target: TARGET, upstream = %self.name, ?target, "released");
        }
        self.reset();
        self.state = LinkState::Idle;
    }

    /// Close for good: every later call is [`UpstreamError::Closed`].
    pub fn close(&mut self) {
        self.reset();
        self.state = LinkState::Closed;
    }

    /// When [`Session::run_due`] next has something to do.
    pub fn next_due(&self) -> Option<Instant> {
        self.state.due()
    }

    /// Do what is due now, if anything: a registration attempt, a poll, or the end of a ban.
    /// One step per call; call again while [`Session::next_due`] is not in the future.
    pub fn run_due(&mut self) {
        let now = self.env.clock.instant();
        match self.state {
            LinkState::Connecting { next_attempt, failures } if next_attempt <= now => self.register(failures),
            LinkState::Registered { next_poll } if next_poll <= now => self.poll(now),
            LinkState::Banned { until } if until <= now => {
                info!(target: TARGET, upstream = %self.name, "ban over; connecting");
                self.state = LinkState::Connecting { failures: 0, next_attempt: now };
            }
            _ => {}
        }
    }

    /// Push a broadcast item (`[chain][command][params...]`, reply `[command]["A"]`). Items are
    /// only pushed while registered, as in bitmarkd.
    pub fn push(&mut self, item: &Push) -> Result<(), UpstreamError> {
        self.ready()?;
        match self.exchange(&Request::Push(item.clone()))? {
            Reply::Ack(_) => Ok(()),
            reply => Err(self.never_an_error(reply, "push")),
        }
    }

    /// The packed block at `n` (bitmarkd's `GetBlockData`): any `["E"]` reply is
    /// [`UpstreamError::BlockNotFound`]; the block is not checked here.
    pub fn get_block_data(&mut self, n: u64) -> Result<Vec<u8>, UpstreamError> {
        self.ready()?;
        match self.exchange(&Request::Block(n))? {
            Reply::Block(block) => Ok(block),
            Reply::Error(_) => Err(UpstreamError::BlockNotFound),
            reply => Err(self.malformed(&format!("{} to B", kind(&reply)))),
        }
    }

    /// The peer's digest of block `n` (bitmarkd's `RemoteDigestOfHeight`): any `["E"]` reply
    /// is [`UpstreamError::BlockNotFound`].
    pub fn remote_digest_of_height(&mut self, n: u64) -> Result<BlockDigest, UpstreamError> {
        self.ready()?;
        match self.exchange(&Request::Digest(n))? {
            Reply::Digest(digest) => Ok(digest),
            Reply::Error(_) => Err(UpstreamError::BlockNotFound),
            reply => Err(self.malformed(&format!("{} to H", kind(&reply)))),
        }
    }

    /// The peer's height now (bitmarkd's `RemoteHeight`); also refreshes the cached height.
    pub fn remote_height(&mut self) -> Result<u64, UpstreamError> {
        self.ready()?;
        self.height()
    }

    /// Whether registered with the target.
    pub fn is_registered(&self) -> bool {
        matches!(self.state, LinkState::Registered { .. })
    }

    /// The target.
    pub fn target(&self) -> Option<Target> {
        self.target
    }

    /// The score table and clock offences are reported with, so a handle can read a peer's
    /// points as they are now rather than as of the session's last step.
    pub(super) fn scoring(&self) -> (Arc<ScoreBoard>, Arc<dyn Clock>) {
        (Arc::clone(&self.env.scores), Arc::clone(&self.env.clock))
    }

    /// Our public key, as registered.
    pub fn own_key(&self) -> &[u8] {
        &self.env.identity.public_key
    }

    /// Now, on the session's clock.
    pub fn now(&self) -> Instant {
        self.env.clock.instant()
    }

    /// The state.
    pub fn state(&self) -> LinkState {
        self.state
    }

    /// A snapshot.
    pub fn status(&self) -> UpstreamStatus {
        let now = self.env.clock.instant();
        UpstreamStatus {
            name: self.name.clone(),
            target: self.target,
            state: self.state,
            remote_height: self.cache.remote_height,
            local_height: self.cache.local_height,
            remote_digest_of_local_height: self.cache.remote_digest,
            last_response: self.cache.last_response,
            score: self.target.map_or(0.0, |t| self.env.scores.standing(&t.public_key, now).points),
            last_error: self.last_error.as_ref().map(|(e, _)| e.clone()),
            last_error_at: self.last_error.as_ref().map(|(_, at)| *at),
        }
    }

    /// `Ok` when requests may be sent.
    fn ready(&self) -> Result<(), UpstreamError> {
        match self.state {
            LinkState::Registered { .. } => Ok(()),
            LinkState::Banned { until } => Err(UpstreamError::Banned { until }),
            LinkState::Closed => Err(UpstreamError::Closed),
            LinkState::Idle | LinkState::Connecting { .. } => Err(UpstreamError::NotConnected),
        }
    }

    fn reset(&mut self) {
        self.link = None;
        self.target = None;
        self.cache = Cache::default();
        self.last_error = None;
    }

    /// Remember why the link failed. Logged when the reason changes, not at every attempt: a
    /// dead peer or a wrong key says so once, not every back-off interval.
    fn failed(&mut self, error: String) {
        let now = self.env.clock.instant();
        if self.last_error.as_ref().map(|(e, _)| e) == Some(&error) {
            debug!(target: TARGET, upstream = %self.name, error, "still failing");
        } else {
            warn!(target: TARGET, upstream = %self.name, target = ?self.target, error, "upstream link failed");
        }
        self.last_error = Some((error, now));
    }

    /// One registration attempt on a fresh link.
    fn register(&mut self, failures: u32) {
        let Some(target) = self.target else {
            self.state = LinkState::Idle;
            return;
        };
        let now = self.env.clock.instant();
        if let Some(until) = self.env.scores.banned_until(&target.public_key, now) {
            self.banned(until);
            return;
        }
        // The old socket goes first (bitmarkd's Reconnect), whatever happens next.
        self.link = None;
        let mut link = match self.dialer.dial(&target) {
            Ok(link) => link,
            Err(e) => {
                self.failed(format!("cannot open a link: {e}"));
                return self.retry_later(failures);
            }
        };
        let identity = &self.env.identity;
        let request = Request::Register {
            chain: self.env.chain.chain(),
            public_key: identity.public_key.clone(),
            listeners: identity.listeners.clone(),
            timestamp: self.env.clock.unix_seconds(),
        };
        let outcome = link.request(&request);
        let problem = if outcome.is_err() { link.link_problem() } else { None };
        self.link = Some(link);
        match outcome {
            Ok(Reply::Registered { public_key, listeners, timestamp, .. }) => {
                debug!(target: TARGET, upstream = %self.name, peer = %quote_for_log(&public_key), "named in R reply");
                self.env.peers.add_peer(&public_key, &listeners, timestamp);
                self.registered();
            }
            // bitmarkd stores the requester before looking for another peer to name.
            Ok(Reply::Error(text)) if text == Fault::InvalidPublicKey.to_string() => self.registered(),
            Ok(Reply::Error(text)) => {
                self.responded();
                if refuses_our_chain(&text) {
                    self.failed(format!("the peer runs another chain: {text}"));
                    self.offend(Offence::WrongChain, &text);
                } else {
                    self.failed(format!("registration refused: {text}"));
                }
                self.retry_later(failures);
            }
            Ok(reply) => {
                self.failed(format!("malformed reply: {} to R", kind(&reply)));
                self.offend(Offence::MalformedReply, &format!("{} to R", kind(&reply)));
                self.retry_later(failures);
            }
            Err(e) => {
                self.failed(match &problem {
                    Some(problem) => format!("registration: {problem}"),
                    None => format!("registration: {e}"),
                });
                match &e {
                    TransportError::ChainMismatch { .. } => self.offend(Offence::WrongChain, &e.to_string()),
                    TransportError::BadReply(what) => self.offend(Offence::MalformedReply, what),
                    _ => {}
                }
                self.retry_later(failures);
            }
        }
    }

    fn registered(&mut self) {
        self.responded();
        info!(target: TARGET, upstream = %self.name, target = ?self.target, "registered");
        self.state = LinkState::Registered { next_poll: self.env.clock.instant() };
    }

    /// Schedule the next attempt after one more failure, with no link in between.
    fn retry_later(&mut self, failures: u32) {
        if !matches!(self.state, LinkState::Connecting { .. } | LinkState::Registered { .. }) {
            return; // banned meanwhile
        }
        self.link = None;
        let failures = failures.saturating_add(1);
        let delay = self.config.backoff.delay(failures, &mut self.jitter);
        debug!(target: TARGET, upstream = %self.name, failures, delay_ms = delay.as_millis() as u64, "will retry");
        self.state = LinkState::Connecting { failures, next_attempt: self.env.clock.instant() + delay };
    }

    /// `N` then `H(our height)`, caching what they say.
    fn poll(&mut self, started: Instant) {
        self.state = LinkState::Registered { next_poll: started + self.config.poll_interval };
        let remote_height = match self.height() {
            Ok(height) => {
                if let Some(target) = self.target {
                    self.env.liveness.responded(&target.public_key);
                }
                Some(height)
            }
            Err(e) => {
                debug!(target: TARGET, upstream = %self.name, error = %e, "height poll failed");
                None
            }
        };
        if !self.is_registered() {
            return;
        }
        let local = self.env.chain.height();
        match self.remote_digest_of_height(local) {
            Ok(digest) => {
                self.cache.local_height = Some(local);
                self.cache.remote_digest = Some(digest);
            }
            Err(UpstreamError::BlockNotFound) => {
                self.cache.local_height = Some(local);
                self.cache.remote_digest = None;
                // It just claimed a height at or above ours, yet has no block at ours. Asked
                // again, as it may have rolled back in between (switching branches): a lie
                // only if it still claims the height and still lacks the block.
                if local >= 2 && remote_height.is_some_and(|h| h >= local) && self.still_lacks(local) {
                    self.offend(
                        Offence::LyingAboutChain,
                        &format!("height {remote_height:?} but no digest of {local}"),
                    );
                }
            }
            Err(e) => debug!(target: TARGET, upstream = %self.name, error = %e, "digest poll failed"),
        }
    }

    /// Whether a fresh `N` still claims `n` and a fresh `H n` still finds no block.
    fn still_lacks(&mut self, n: u64) -> bool {
        self.height().is_ok_and(|h| h >= n)
            && matches!(self.remote_digest_of_height(n), Err(UpstreamError::BlockNotFound))
    }

    fn height(&mut self) -> Result<u64, UpstreamError> {
        match self.exchange(&Request::Height)? {
            Reply::Height(height) => {
                self.cache.remote_height = Some(height);
                Ok(height)
            }
            reply => Err(self.never_an_error(reply, "N")),
        }
    }

    /// Send `request` on the link and read the reply. Failures are judged here: a timeout or a
    /// link error loses the registration (the next attempt uses a fresh socket), a timeout or a
    /// malformed reply is penalised.
    fn exchange(&mut self, request: &Request) -> Result<Reply, UpstreamError> {
        let link = self.link.as_mut().ok_or(UpstreamError::NotConnected)?;
        match link.request(request) {
            Ok(reply) => {
                self.responded();
                Ok(reply)
            }
            Err(TransportError::BadReply(what)) => Err(self.malformed(&what)),
            Err(e) => {
                let function = quote_for_log(request.function());
                let why = link.link_problem().unwrap_or_else(|| e.to_string());
                self.failed(format!("{function} request: {why}; reconnecting"));
                if matches!(e, TransportError::Timeout) {
                    self.offend(Offence::Timeout, &function);
                }
                self.retry_later(0);
                Err(e.into())
            }
        }
    }

    /// An `["E"]` reply where bitmarkd never sends one (to `N` or a push).
    fn never_an_error(&mut self, reply: Reply, function: &str) -> UpstreamError {
        match reply {
            Reply::Error(text) => {
                self.offend(Offence::MalformedReply, &format!("error reply to {function}: {text}"));
                UpstreamError::Remote(text)
            }
            reply => self.malformed(&format!("{} to {function}", kind(&reply))),
        }
    }

    fn malformed(&mut self, what: &str) -> UpstreamError {
        self.offend(Offence::MalformedReply, what);
        TransportError::BadReply(what.to_string()).into()
    }

    fn responded(&mut self) {
        self.cache.last_response = Some(self.env.clock.instant());
    }

    /// Report `offence` by the target; disconnect if that bans it.
    fn offend(&mut self, offence: Offence, what: &str) {
        let Some(target) = self.target else {
            return;
        };
        let now = self.env.clock.instant();
        debug!(target: TARGET, upstream = %self.name, ?target, %offence, what, "offence");
        if let Some(until) = self.env.scores.report(&target.public_key, offence, now).banned_until {
            self.banned(until);
        }
    }

    fn banned(&mut self, until: Instant) {
        self.failed("banned for misbehaviour (see its score)".into());
        self.link = None;
        self.cache = Cache { last_response: self.cache.last_response, ..Cache::default() };
        self.state = LinkState::Banned { until };
    }

    /// The key of the target, if any.
    pub fn target_key(&self) -> Option<PeerKey> {
        self.target.map(|t| t.public_key)
    }
}

/// Whether an error text says the remote runs another chain (`invalid chain: ...` for our
/// request's chain frame, `incorrect chain` for the chain parameter of `R`).
fn refuses_our_chain(text: &str) -> bool {
    text.starts_with("invalid chain") || text == Fault::IncorrectChain.to_string()
}

/// A reply's kind, for logs (never its payload, which may be a 5 MB block).
fn kind(reply: &Reply) -> &'static str {
    match reply {
        Reply::Info(_) => "an I reply",
        Reply::Height(_) => "an N reply",
        Reply::Block(_) => "a B reply",
        Reply::Digest(_) => "an H reply",
        Reply::Registered { .. } => "an R reply",
        Reply::Ack(_) => "an acknowledgement",
        Reply::Error(_) => "an error reply",
    }
}
