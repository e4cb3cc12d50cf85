//! `bitmark-node replay`: re-run a capture's inbound requests against a node state opened from
//! a data directory ([`LocalNode`]), or a live node over CURVE, and compare every reply
//! ([`bitmark_capture::replay`]).

use crate::error::{NodeError, Result};
use crate::keyfile::{self, KeyKind};
use crate::lock::DataDirLock;
use crate::node::daemon::VERSION;
use crate::node::datadir;
use crate::node::metrics::Metrics;
use crate::node::pool::NodePool;
use crate::node::reservoir;
use crate::node::views::StoreChainView;
use bitmark_capture::format::Header;
use bitmark_capture::replay::{self, header_chain, LiveNode, ReplayOptions, ReplayReport, Target};
use bitmark_capture::CaptureError;
use bitmark_peer::announce::{Announcer, TableLimits};
use bitmark_peer::clock::SystemClock;
use bitmark_peer::connector::{Mode, ModeHandle};
use bitmark_peer::listener::{Handler, NoRelay};
use bitmark_peer::transport::{self, PeerInfo};
use bitmark_record::Chain;
use bitmark_reservoir::ChainHooks;
use bitmark_storage::{database_path, BlockStore, StoreOptions};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where to replay.
#[derive(Clone, Debug)]
pub enum Against {
    /// A node state opened from this data directory (pushes change it).
    DataDir(PathBuf),
    /// A live node at `tcp://HOST:PORT` whose `peer.public` is the file given.
    Live {
        /// `tcp://HOST:PORT`.
        target: String,
        /// Its public key file.
        server_key: PathBuf,
    },
}

/// Replay `files` (one session's files, oldest first) against `against`.
pub fn run(files: &[PathBuf], against: &Against, options: &ReplayOptions) -> Result<ReplayReport> {
    let first = files.first().ok_or_else(|| NodeError::Input("no capture file given".into()))?;
    let header = replay::first_header(first)?;
    let mut target: Box<dyn Target> = match against {
        Against::DataDir(dir) => Box::new(LocalNode::open(dir, &header)?),
        Against::Live { target, server_key } => {
            let key = keyfile::read(KeyKind::Public, Path::new(server_key))?;
            Box::new(LiveNode::connect(target, key, &header)?)
        }
    };
    Ok(replay::replay(files, target.as_mut(), options)?)
}

/// A node state opened from a data directory: its block store and reservoir, and the handler
/// the daemon would answer with, over the daemon's views. Pushes change the directory.
pub struct LocalNode {
    chain: Chain,
    data_dir: PathBuf,
    store: Arc<BlockStore>,
    hooks: ChainHooks,
    handler: Handler,
    /// No node may run on the directory while a replay changes it.
    _lock: DataDirLock,
}

impl LocalNode {
    /// Open `data_dir`'s chain (the one `header` names; its database must exist) and
    /// reservoir, in the mode the header recorded, with a peer table whose own key is the
    /// recording node's (so that `R` picks from the same kind of table).
    pub fn open(data_dir: &Path, header: &Header) -> Result<LocalNode> {
        let chain = header_chain(header)?;
        if !database_path(data_dir, chain).exists() {
            return Err(NodeError::Input(format!("{}: no {chain} chain database here", data_dir.display())));
        }
        let lock = DataDirLock::exclusive(data_dir)?;
        let store = Arc::new(datadir::open_store(data_dir, chain, StoreOptions::default())?);
        let (hooks, _) = reservoir::open(data_dir, &store)?;
        let mode =
            ModeHandle::starting_in(if header.mode == "resynchronise" { Mode::Resynchronise } else { Mode::Normal });
        let node_key: [u8; 32] =
            header.node_key.as_slice().try_into().map_err(|_| {
                NodeError::Input(format!("capture header: node key of {} bytes", header.node_key.len()))
            })?;
        let peers = Arc::new(Announcer::new(node_key, &[], TableLimits::default(), Arc::new(SystemClock)));
        let handler = Handler::new(
            VERSION,
            Arc::new(StoreChainView::new(Arc::clone(&store), mode)),
            Arc::new(NodePool::new(hooks.clone(), Arc::new(Metrics::new()))),
            peers,
            Arc::new(NoRelay),
        );
        Ok(LocalNode { chain, data_dir: data_dir.to_path_buf(), store, hooks, handler, _lock: lock })
    }
}

impl Target for LocalNode {
    fn describe(&self) -> String {
        let tip = self.store.tip();
        format!("data directory {} ({}, height {})", self.data_dir.display(), self.chain, tip.height)
    }

    /// As the listener answers: parse, handle, encode (`transport::serve`), a panic being no
    /// reply.
    fn answer(&mut self, peer: &PeerInfo, request: &[Vec<u8>]) -> std::result::Result<Vec<Vec<u8>>, String> {
        let serve = || transport::serve(&self.handler, self.chain, peer, request);
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(serve))
            .map_err(|_| "no reply: the service panicked".to_string())
    }

    fn finish(&mut self) -> std::result::Result<(), CaptureError> {
        let flushed = self.hooks.reservoir().flush();
        flushed.map_err(|e| CaptureError::Io(reservoir::node_error(e).to_string()))?;
        self.store.db().flush().map_err(|e| CaptureError::Io(format!("{}: {e}", self.data_dir.display())))?;
        Ok(())
    }
}
