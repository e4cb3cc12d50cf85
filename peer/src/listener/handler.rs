//! The request handler (bitmarkd `peer/listener.go:197-281` and `peer/process.go`).

use super::views::{ChainView, PeerTable, PoolView, Relay};
use crate::clock::Clock;
use crate::score::{Offence, PeerKey, ScoreBoard};
use crate::transport::{PeerInfo, Service};
use crate::wire::{quote_for_log, Push, Reply, Request, ServerInfo};
use bitmark_record::Fault;
use std::sync::Arc;
use tracing::debug;

const TARGET: &str = "peer::listener";

/// Answers peer requests from the node's views. Cheap to share: clone the `Arc`s it holds.
pub struct Handler {
    version: String,
    chain: Arc<dyn ChainView>,
    pool: Arc<dyn PoolView>,
    peers: Arc<dyn PeerTable>,
    relay: Arc<dyn Relay>,
    scores: Option<Scoring>,
}

/// Where the handler reports what a requester did wrong: the node's score board, shared with
/// the upstreams (which will not dial a banned key).
struct Scoring {
    board: Arc<ScoreBoard>,
    clock: Arc<dyn Clock>,
}

/// What became of a push.
enum Outcome {
    /// Accepted: relay it.
    Accepted,
    /// Known already (an announcement not newer by 7 minutes...): nothing to relay.
    Unchanged,
    /// Refused or not processed, with bitmarkd's reason.
    Refused(Fault),
    /// Not a command bitmarkd acts on.
    Unhandled,
}

impl Handler {
    /// A handler reporting `version` in `I` replies (bitmarkd's default is `"zero"`).
    pub fn new(
        version: impl Into<String>,
        chain: Arc<dyn ChainView>,
        pool: Arc<dyn PoolView>,
        peers: Arc<dyn PeerTable>,
        relay: Arc<dyn Relay>,
    ) -> Handler {
        Handler { version: version.into(), chain, pool, peers, relay, scores: None }
    }

    /// Report requesters' offences to `board`, timed by `clock`.
    pub fn with_scores(mut self, board: Arc<ScoreBoard>, clock: Arc<dyn Clock>) -> Handler {
        self.scores = Some(Scoring { board, clock });
        self
    }

    /// The `I` answer.
    pub fn info(&self) -> ServerInfo {
        ServerInfo {
            version: self.version.clone(),
            chain: self.chain.chain().name().to_string(),
            normal: self.chain.is_normal(),
            height: self.chain.height(),
        }
    }

    /// `H n`: the genesis digest for `n <= 1` (bitmarkd `DigestForBlock`), else the chain's.
    fn digest(&self, n: u64) -> Reply {
        if n <= 1 {
            return Reply::Digest(self.chain.genesis_digest());
        }
        self.chain.digest(n).map_or_else(Reply::from, Reply::Digest)
    }

    /// `R`: store the requester (the result is ignored, as in bitmarkd), then name a random
    /// other peer. Refused with bitmarkd's `invalid public key`, and reported as
    /// [`Offence::Impersonation`], when the key claimed is not the CURVE key the connection
    /// authenticated with (known when the transport says: the libzmq listener always does).
    /// bitmarkd binds nothing; but every bitmarkd node registers with its own key, so only a
    /// node trying to take another's place in our table is refused.
    fn register(&self, peer: &PeerInfo, public_key: &[u8], listeners: &[u8], timestamp: u64) -> Reply {
        if let Some(authenticated) = peer.public_key.as_deref().filter(|key| *key != public_key) {
            self.impersonation(peer, authenticated, public_key);
            return Reply::from(Fault::InvalidPublicKey);
        }
        self.peers.add_peer(public_key, listeners, timestamp);
        match self.peers.random_peer(public_key) {
            Some(entry) => Reply::Registered {
                chain: self.chain.chain(),
                public_key: entry.public_key,
                listeners: entry.listeners,
                timestamp: entry.timestamp,
            },
            None => Reply::from(Fault::InvalidPublicKey),
        }
    }

    fn impersonation(&self, peer: &PeerInfo, authenticated: &[u8], claimed: &[u8]) {
        debug!(
            target: TARGET,
            address = ?peer.address,
            authenticated = %hex::encode(authenticated),
            claimed = %quote_for_log(claimed),
            "R claims another key than the connection's: refused"
        );
        let (Some(scoring), Ok(key)) = (&self.scores, PeerKey::try_from(authenticated)) else {
            return;
        };
        scoring.board.report(&key, Offence::Impersonation, scoring.clock.instant());
    }

    /// Process a push as `processSubscription` does, relaying what is accepted.
    fn push(&self, peer: &PeerInfo, push: &Push) {
        let outcome = self.process(push);
        let command = quote_for_log(push.command());
        match outcome {
            Outcome::Accepted => {
                debug!(target: TARGET, address = ?peer.address, command, "push accepted; relaying");
                self.relay.relay(push);
            }
            Outcome::Unchanged => {
                debug!(target: TARGET, address = ?peer.address, command, "push not new")
            }
            Outcome::Refused(fault) => {
                debug!(target: TARGET, address = ?peer.address, command, %fault, "push refused")
            }
            Outcome::Unhandled => {
                debug!(target: TARGET, address = ?peer.address, command, "unhandled command")
            }
        }
    }

    fn process(&self, push: &Push) -> Outcome {
        let outcome = |accepted: bool| {
            if accepted {
                Outcome::Accepted
            } else {
                Outcome::Unchanged
            }
        };
        match push {
            // A block is not checked for emptiness: the block store refuses it.
            Push::Block(block) => self.when_normal(|| self.pool.submit_block(block)),
            Push::Assets(p) => self.transactions(p, |p| self.pool.submit_assets(p)),
            Push::Issues(p) => self.transactions(p, |p| self.pool.submit_issues(p)),
            Push::Transfer(p) => self.transactions(p, |p| self.pool.submit_transfer(p)),
            Push::Proof(p) => self.transactions(p, |p| self.pool.submit_proof(p)),
            // Announcements are taken in any mode.
            Push::Rpc { fingerprint, listeners, timestamp } => {
                outcome(self.peers.add_rpc(fingerprint, listeners, *timestamp))
            }
            Push::Peer { public_key, listeners, timestamp } => {
                outcome(self.peers.add_peer(public_key, listeners, *timestamp))
            }
            Push::Other { .. } => Outcome::Unhandled,
        }
    }

    /// Transactions: an empty payload is `MissingParameters`, then normal mode is required.
    fn transactions(&self, packed: &[u8], submit: impl FnOnce(&[u8]) -> Result<(), Fault>) -> Outcome {
        if packed.is_empty() {
            return Outcome::Refused(Fault::MissingParameters);
        }
        self.when_normal(|| submit(packed))
    }

    fn when_normal(&self, submit: impl FnOnce() -> Result<(), Fault>) -> Outcome {
        if !self.chain.is_normal() {
            return Outcome::Refused(Fault::NotAvailableDuringSynchronise);
        }
        submit().map_or_else(Outcome::Refused, |()| Outcome::Accepted)
    }
}

impl Service for Handler {
    fn handle(&self, peer: &PeerInfo, request: Request) -> Reply {
        match request {
            Request::Info => Reply::Info(self.info()),
            Request::Height => Reply::Height(self.chain.height()),
            Request::Block(n) => self.chain.block(n).map_or(Reply::from(Fault::BlockNotFound), Reply::Block),
            Request::Digest(n) => self.digest(n),
            Request::Register { public_key, listeners, timestamp, .. } => {
                self.register(peer, &public_key, &listeners, timestamp)
            }
            Request::Push(push) => {
                self.push(peer, &push);
                Reply::Ack(push.command().to_vec())
            }
        }
    }

    /// `N` and `I`: the height, the mode and the version, held in memory by every view.
    fn answers_at_once(&self, request: &Request) -> bool {
        matches!(request, Request::Height | Request::Info)
    }
}
