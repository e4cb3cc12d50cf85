//! A simulated node's server side: the real listener [`Handler`] over its [`BlockStore`]
//! (through [`StoreView`]), wrapped by an [`Adversary`] that can make it misbehave.

use super::control::Control;
use crate::connector::ModeHandle;
use crate::listener::{ChainView, Handler, NoRelay};
use crate::testing::{FakePeers, FakePool};
use crate::transport::{PeerInfo, Service};
use crate::wire::{Reply, Request};
use bitmark_common::lock;
use bitmark_record::{genesis, BlockDigest, Chain, Fault};
use bitmark_storage::BlockStore;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// The listener's view of a block store and the node's mode: what a node serves peers.
pub struct StoreView {
    /// The chain.
    pub store: Arc<BlockStore>,
    /// The mode the connector sets.
    pub mode: ModeHandle,
}

impl ChainView for StoreView {
    fn height(&self) -> u64 {
        self.store.height()
    }
    fn digest(&self, n: u64) -> Result<BlockDigest, Fault> {
        self.store.digest_for(n).map_err(|e| e.fault().unwrap_or(Fault::BlockNotFound))
    }
    fn genesis_digest(&self) -> BlockDigest {
        genesis::digest(self.store.chain())
    }
    fn block(&self, n: u64) -> Option<Vec<u8>> {
        self.store.block(n).ok().flatten()
    }
    fn is_normal(&self) -> bool {
        self.mode.is_normal()
    }
    fn chain(&self) -> Chain {
        self.store.chain()
    }
}

/// How a node misbehaves towards every peer that asks it.
#[derive(Clone, Default)]
pub struct Behaviour {
    /// Answer `N` with this height.
    pub claim_height: Option<u64>,
    /// Serve every block with its last byte flipped (a record whose signature fails).
    pub corrupt_blocks: bool,
    /// Serve the blocks of this other chain where it has them (well-formed blocks of another
    /// branch; `H` answers stay honest, so the node contradicts itself).
    pub foreign_blocks: Option<Arc<BlockStore>>,
    /// Fall silent (every request times out) after serving this many blocks.
    pub dies_after_blocks: Option<usize>,
}

/// The real handler, and the misbehaviour wrapped around it.
pub struct Adversary {
    inner: Arc<Handler>,
    behaviour: Mutex<Behaviour>,
    served: AtomicUsize,
    control: Arc<Control>,
    index: usize,
}

impl Adversary {
    /// An honest node `index` serving `view`.
    pub fn new(index: usize, view: Arc<StoreView>, control: Arc<Control>) -> Adversary {
        let handler = Handler::new(
            "zero",
            view,
            Arc::new(FakePool::default()),
            Arc::new(FakePeers::default()),
            Arc::new(NoRelay),
        );
        Adversary {
            inner: Arc::new(handler),
            behaviour: Mutex::new(Behaviour::default()),
            served: AtomicUsize::new(0),
            control,
            index,
        }
    }

    /// Change the behaviour.
    pub fn set(&self, behaviour: Behaviour) {
        *self.lock() = behaviour;
    }

    /// Blocks served so far.
    pub fn served(&self) -> usize {
        self.served.load(Ordering::SeqCst)
    }

    fn lock(&self) -> MutexGuard<'_, Behaviour> {
        lock(&self.behaviour)
    }
}

impl Service for Adversary {
    fn handle(&self, peer: &PeerInfo, request: Request) -> Reply {
        let behaviour = self.lock().clone();
        match request {
            Request::Height if behaviour.claim_height.is_some() => Reply::Height(behaviour.claim_height.unwrap_or(0)),
            Request::Block(n) => {
                let served = self.served.fetch_add(1, Ordering::SeqCst) + 1;
                if behaviour.dies_after_blocks.is_some_and(|k| served >= k) {
                    self.control.set_down(self.index, true);
                }
                if let Some(foreign) = behaviour.foreign_blocks.as_ref().and_then(|s| s.block(n).ok().flatten()) {
                    return Reply::Block(foreign);
                }
                match self.inner.handle(peer, Request::Block(n)) {
                    Reply::Block(mut block) if behaviour.corrupt_blocks => {
                        if let Some(last) = block.last_mut() {
                            *last ^= 0xff;
                        }
                        Reply::Block(block)
                    }
                    reply => reply,
                }
            }
            request => self.inner.handle(peer, request),
        }
    }
}
