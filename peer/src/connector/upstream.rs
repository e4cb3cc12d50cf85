//! The connector's seams over the real node parts: [`RemotePeer`] for the upstream client,
//! [`Scoring`] for the score table, [`Command`] from announce's connector commands, and a
//! [`PeerFactory`] that starts upstreams.

use super::clients::Command;
use super::hooks::{Misbehaviour, Scoring};
use super::remote::{PeerFactory, PeerKey, Remote, RemoteError, RemotePeer, RemoteState};
use crate::announce::ConnectorCommand;
use crate::clock::Clock;
use crate::error::PeerError;
use crate::score::{Offence, ScoreBoard};
use crate::upstream::{Target, Upstream};
use bitmark_record::BlockDigest;
use std::net::SocketAddr;
use std::sync::Arc;

/// How the connector reads an upstream's errors.
fn remote_error(e: PeerError) -> RemoteError {
    match e {
        PeerError::BlockNotFound => RemoteError::NotFound,
        PeerError::Timeout => RemoteError::Timeout,
        PeerError::BadReply(what) | PeerError::Remote(what) => RemoteError::Malformed(what),
        _ => RemoteError::Unavailable,
    }
}

impl RemotePeer for Upstream {
    fn snapshot(&self) -> RemoteState {
        let s = self.status();
        RemoteState {
            registered: s.is_registered(),
            key: s.target.map(|t| t.public_key),
            height: s.remote_height,
            local_height: s.local_height,
            digest_of_local_height: s.remote_digest_of_local_height,
            last_response: s.last_response,
            name: s.name,
        }
    }

    fn remote_digest_of_height(&self, n: u64) -> Result<BlockDigest, RemoteError> {
        Upstream::remote_digest_of_height(self, n).map_err(remote_error)
    }

    fn get_block_data(&self, n: u64) -> Result<Vec<u8>, RemoteError> {
        Upstream::get_block_data(self, n).map_err(remote_error)
    }
}

/// Starts an upstream per peer with a closure (the node's `UpstreamSet::add`, which also
/// attaches it to the broadcast bus).
pub struct UpstreamFactory<F>(pub F);

impl<F> PeerFactory for UpstreamFactory<F>
where
    F: FnMut(Target) -> Result<Arc<Upstream>, PeerError> + Send,
{
    fn connect(&mut self, address: SocketAddr, public_key: PeerKey) -> Result<Remote, RemoteError> {
        let upstream = (self.0)(Target { address, public_key }).map_err(remote_error)?;
        Ok(upstream)
    }
}

/// The score table as the connector's penalty sink.
pub struct ScoreHook {
    /// The table shared with the upstreams.
    pub board: Arc<ScoreBoard>,
    /// Its clock.
    pub clock: Arc<dyn Clock>,
}

impl Scoring for ScoreHook {
    fn report(&self, key: &PeerKey, what: Misbehaviour) {
        let offence = match what {
            Misbehaviour::InvalidBlock => Offence::InvalidBlock,
            Misbehaviour::LyingAboutChain => Offence::LyingAboutChain,
        };
        self.board.report(key, offence, self.clock.instant());
    }
}

impl From<ConnectorCommand> for Command {
    fn from(c: ConnectorCommand) -> Command {
        match c {
            ConnectorCommand::Connect(t) => {
                Command::Connect { slot: t.slot.name().to_string(), public_key: t.public_key, listeners: t.listeners }
            }
            ConnectorCommand::Release { public_key, .. } => Command::Release { public_key },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use crate::connector::{spawn, Clients, Connector, ConnectorConfig, NoEvents, Parts};
    use crate::sim::chains;
    use crate::sim::{Adversary, Control, StoreView};
    use crate::testing::FakePeers;
    use crate::transport::MemoryNetwork;
    use crate::upstream::{Identity, MemoryDialer, NoLiveness, UpstreamConfig, UpstreamEnv};
    use bitmark_record::Chain;
    use bitmark_storage::DigestPool;
    use std::time::{Duration, Instant};

    /// Real upstreams (registration, polls, fetches over the in-memory network and the wire
    /// codec) feeding a real connector: a fresh node syncs a test chain from three peers.
    #[test]
    fn connector_syncs_through_real_upstreams() {
        let blocks = chains::build(5, 4, 8).unwrap();
        let network = MemoryNetwork::new();
        let control = Arc::new(Control::default());
        let mut statics = Vec::new();
        for i in 0..3u8 {
            let store = Arc::new(chains::empty_store().unwrap());
            chains::load(&store, &blocks).unwrap();
            let view = Arc::new(StoreView { store, mode: Default::default() });
            let address: SocketAddr = format!("10.1.0.{}:2136", i + 1).parse().unwrap();
            network.listen(address, Chain::Local, Arc::new(Adversary::new(i.into(), view, control.clone())));
            statics.push((address, [i + 1; 32]));
        }
        let store = Arc::new(chains::empty_store().unwrap());
        let mode = crate::connector::ModeHandle::new();
        let scores = Arc::new(ScoreBoard::default());
        let env = UpstreamEnv {
            identity: Identity { public_key: vec![9; 32], listeners: Vec::new() },
            chain: Arc::new(StoreView { store: store.clone(), mode: mode.clone() }),
            peers: Arc::new(FakePeers::default()),
            liveness: Arc::new(NoLiveness),
            scores: scores.clone(),
            clock: Arc::new(SystemClock),
        };
        let config = UpstreamConfig { poll_interval: Duration::from_millis(200), ..UpstreamConfig::default() };
        let net = network.clone();
        let factory = UpstreamFactory(move |target: Target| {
            let upstream = Upstream::start(config, MemoryDialer::new(&net, Chain::Local, "us"), env.clone())?;
            upstream.retarget(target)?;
            Ok(Arc::new(upstream))
        });
        let clients = Clients::new([9; 32], &statics, true, false, 25, Box::new(factory)).unwrap();
        let parts = Parts {
            chain: store.clone(),
            digester: Arc::new(DigestPool::new(2)),
            clients,
            scoring: Arc::new(ScoreHook { board: scores, clock: Arc::new(SystemClock) }),
            events: Arc::new(NoEvents),
            mode,
            rng: Box::new(<rand::rngs::StdRng as rand::SeedableRng>::seed_from_u64(1)),
        };
        let connector = Connector::new(
            ConnectorConfig { cycle_interval_ms: 1000, minimum_clients: 3, ..ConnectorConfig::default() },
            parts,
        );
        let handle = spawn(connector).unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !handle.mode().is_normal() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(handle.mode().is_normal(), "state {}", handle.state());
        assert_eq!((store.height(), store.tip().digest), (8, blocks.last().unwrap().1));
        handle.stop();
    }
}
