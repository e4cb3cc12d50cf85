//! The simulation: nodes with real block stores and real connectors, talking over the
//! in-memory network through the real listener handler, in virtual time.

use super::chains::{self, Block};
use super::control::Control;
use super::link::{LinkFactory, SimLink};
use super::node::{Adversary, Behaviour, StoreView};
use crate::connector::{
    Clients, Connector, ConnectorConfig, Digester, Events, LocalChain, Misbehaviour, Mode, ModeHandle, Parts, Pause,
    PeerKey, Progress, RolledBack, Scoring,
};
use crate::transport::MemoryNetwork;
use bitmark_common::lock;
use bitmark_record::{BlockDigest, Chain};
use bitmark_storage::{BlockStore, StorageError};
use rand::rngs::StdRng;
use rand::SeedableRng;
use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often simulated upstreams poll their peers (bitmarkd's upstream cycle).
pub const POLL_INTERVAL: Duration = Duration::from_secs(30);

/// What a node's connector reported: penalties (against node indexes) and rolled-back blocks.
#[derive(Default)]
pub struct Reports {
    keys: HashMap<PeerKey, usize>,
    penalties: Mutex<Vec<(usize, Misbehaviour)>>,
    undone: Mutex<Vec<u64>>,
}

impl Scoring for Reports {
    fn report(&self, key: &PeerKey, what: Misbehaviour) {
        let who = self.keys.get(key).copied().unwrap_or(usize::MAX);
        lock(&self.penalties).push((who, what));
    }
}

impl Events for Reports {
    fn rolled_back(&self, block: RolledBack) {
        lock(&self.undone).push(block.number);
    }
}

/// One simulated node.
pub struct Node {
    /// Its name, for messages.
    pub name: String,
    /// Its listening address on the in-memory network.
    pub address: SocketAddr,
    /// Its public key.
    pub key: PeerKey,
    /// Its chain.
    pub store: Arc<BlockStore>,
    /// Its mode.
    pub mode: ModeHandle,
    /// Its server side.
    pub server: Arc<Adversary>,
    connector: Option<Connector>,
    links: Arc<Mutex<Vec<Arc<SimLink>>>>,
    reports: Option<Arc<Reports>>,
}

/// A simulated network.
pub struct Sim {
    network: MemoryNetwork,
    control: Arc<Control>,
    digester: Arc<dyn Digester>,
    nodes: Vec<Node>,
    seed: u64,
    tick: Duration,
    next_poll: Duration,
}

impl Sim {
    /// An empty network whose nodes compute digests on `digester`; `seed` seeds every
    /// connector's random choices.
    pub fn new(digester: Arc<dyn Digester>, seed: u64) -> Sim {
        Sim {
            network: MemoryNetwork::new(),
            control: Arc::new(Control::default()),
            digester,
            nodes: Vec::new(),
            seed,
            tick: Duration::from_secs(crate::connector::config::CYCLE_INTERVAL_SECS),
            next_poll: Duration::ZERO,
        }
    }

    /// The network's clock and faults.
    pub fn control(&self) -> &Arc<Control> {
        &self.control
    }

    /// Add a node holding `blocks` (from block 2). It serves peers at once; it syncs only
    /// once [`Sim::start_connector`] is called.
    pub fn add_node(&mut self, blocks: &[Block]) -> Result<usize, StorageError> {
        let index = self.nodes.len();
        let store = Arc::new(chains::empty_store()?);
        chains::load(&store, blocks)?;
        let mode = ModeHandle::new();
        let view = Arc::new(StoreView { store: Arc::clone(&store), mode: mode.clone() });
        let server = Arc::new(Adversary::new(index, view, Arc::clone(&self.control)));
        let address = SocketAddr::from((Ipv4Addr::new(10, 0, 0, index as u8 + 1), 2136));
        self.network.listen(address, Chain::Local, server.clone());
        let mut key = [0u8; 32];
        key[0] = 0xee;
        key[1..9].copy_from_slice(&(index as u64).to_be_bytes());
        self.nodes.push(Node {
            name: format!("node{index}"),
            address,
            key,
            store,
            mode,
            server,
            connector: None,
            links: Arc::new(Mutex::new(Vec::new())),
            reports: None,
        });
        Ok(index)
    }

    /// Start node `index`'s connector with `config` and static clients to `peers`.
    pub fn start_connector(&mut self, index: usize, config: ConnectorConfig, peers: &[usize]) -> Result<(), String> {
        let store = self.nodes.get(index).ok_or("no such node")?.store.clone();
        self.start_connector_on(index, config, peers, store)
    }

    /// [`Sim::start_connector`], the connector changing the node's store through `chain` (a
    /// wrapper that does something to the store around the connector's calls).
    pub fn start_connector_on(
        &mut self,
        index: usize,
        config: ConnectorConfig,
        peers: &[usize],
        chain: Arc<dyn LocalChain>,
    ) -> Result<(), String> {
        let nodes: HashMap<SocketAddr, usize> = self.nodes.iter().enumerate().map(|(i, n)| (n.address, i)).collect();
        let keys: HashMap<PeerKey, usize> = self.nodes.iter().enumerate().map(|(i, n)| (n.key, i)).collect();
        let statics: Vec<(SocketAddr, PeerKey)> =
            peers.iter().filter_map(|p| self.nodes.get(*p)).map(|n| (n.address, n.key)).collect();
        let node = self.nodes.get_mut(index).ok_or("no such node")?;
        let factory = LinkFactory {
            from: index,
            network: self.network.clone(),
            control: Arc::clone(&self.control),
            nodes,
            made: Arc::clone(&node.links),
        };
        let clients = Clients::new(node.key, &statics, false, false, config.maximum_dynamic_clients, Box::new(factory))
            .map_err(|e| e.to_string())?;
        let reports = Arc::new(Reports { keys, ..Reports::default() });
        let parts = Parts {
            chain,
            digester: Arc::clone(&self.digester),
            clients,
            scoring: reports.clone(),
            events: reports.clone(),
            mode: node.mode.clone(),
            rng: Box::new(StdRng::seed_from_u64(self.seed ^ (index as u64).wrapping_mul(0x9e37_79b9))),
        };
        node.connector = Some(Connector::new(config, parts));
        node.reports = Some(reports);
        // New links poll at once, as the real upstream does after registering.
        for link in lock(&node.links).iter() {
            link.poll(node.store.height());
        }
        Ok(())
    }

    /// Change how node `index` answers its peers.
    pub fn set_behaviour(&self, index: usize, behaviour: Behaviour) {
        if let Some(n) = self.nodes.get(index) {
            n.server.set(behaviour);
        }
    }

    /// Cut every link between nodes of different groups.
    pub fn partition(&self, groups: &[&[usize]]) {
        for (i, a) in groups.iter().enumerate() {
            for b in groups.iter().skip(i + 1) {
                for x in a.iter() {
                    for y in b.iter() {
                        self.control.set_cut(*x, *y, true);
                    }
                }
            }
        }
    }

    /// Restore every link.
    pub fn heal(&self) {
        self.control.heal();
    }

    /// Node `index` "mines": the blocks of `blocks` above its height are applied directly.
    pub fn mine(&self, index: usize, blocks: &[Block]) -> Result<(), StorageError> {
        match self.nodes.get(index) {
            Some(n) => chains::load(&n.store, blocks),
            None => Ok(()),
        }
    }

    /// One 15-s tick: polls that are due (every 30 s), then every connector in node order,
    /// each until it waits.
    pub fn tick(&mut self) {
        self.control.advance(self.tick);
        if self.control.elapsed() >= self.next_poll {
            self.next_poll = self.control.elapsed() + POLL_INTERVAL;
            for node in &self.nodes {
                let height = node.store.height();
                for link in lock(&node.links).iter() {
                    link.poll(height);
                }
            }
        }
        let now = self.control.now();
        for node in &mut self.nodes {
            if let Some(c) = node.connector.as_mut() {
                while c.process(now) == Pause::Again {}
            }
        }
    }

    /// Run for `duration` of virtual time.
    pub fn run(&mut self, duration: Duration) {
        let end = self.control.elapsed() + duration;
        while self.control.elapsed() < end {
            self.tick();
        }
    }

    /// Run until `done` holds or `limit` of virtual time has passed; true if it held.
    pub fn run_until(&mut self, limit: Duration, done: impl Fn(&Sim) -> bool) -> bool {
        let end = self.control.elapsed() + limit;
        while !done(self) {
            if self.control.elapsed() >= end {
                return false;
            }
            self.tick();
        }
        true
    }

    /// Node `index`.
    pub fn node(&self, index: usize) -> &Node {
        &self.nodes[index]
    }

    /// Node `index`'s height.
    pub fn height(&self, index: usize) -> u64 {
        self.nodes.get(index).map_or(0, |n| n.store.height())
    }

    /// Node `index`'s tip digest.
    pub fn tip(&self, index: usize) -> BlockDigest {
        self.nodes.get(index).map_or(BlockDigest::default(), |n| n.store.tip().digest)
    }

    /// Node `index`'s mode.
    pub fn mode(&self, index: usize) -> Mode {
        self.nodes.get(index).map_or(Mode::Stopped, |n| n.mode.get())
    }

    /// Node `index`'s connector progress.
    pub fn progress(&self, index: usize) -> Option<Progress> {
        self.nodes.get(index)?.connector.as_ref().map(|c| c.progress().get())
    }

    /// Penalties node `index` reported, as (offending node, what).
    pub fn penalties(&self, index: usize) -> Vec<(usize, Misbehaviour)> {
        self.nodes.get(index).and_then(|n| n.reports.as_ref()).map_or(Vec::new(), |r| lock(&r.penalties).clone())
    }

    /// Blocks node `index` rolled back to follow a better chain.
    pub fn rolled_back(&self, index: usize) -> Vec<u64> {
        self.nodes.get(index).and_then(|n| n.reports.as_ref()).map_or(Vec::new(), |r| lock(&r.undone).clone())
    }
}
