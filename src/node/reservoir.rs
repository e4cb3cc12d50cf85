//! The node's reservoir of unconfirmed items (the `bitmark-reservoir` crate): where it lives,
//! how it is opened over the block store, and where its rebroadcasts go.
//!
//! The reservoir has its own sled database next to the chain's, `<data-dir>/<chain>-reservoir.sled`
//! ([`reservoir_path`]), rather than a tree of the chain database: the chain database is the
//! storage crate's (its version key, its pools, its `check` command), the two have different
//! lives (a reservoir can be deleted to start afresh without touching the chain, as bitmarkd's
//! `reservoir.cache` can), and the reservoir flushes after every accepted submission, which
//! would otherwise flush the chain's pending writes with it. Nothing needs the two to commit
//! together: [`ChainHooks`] changes the chain first and tells the reservoir after, and a
//! reservoir that missed an update is brought back in step by the rescan when it is reopened.
//!
//! Every chain change in the node goes through the one [`ChainHooks`] made here: pushed blocks
//! ([`super::pool::NodePool`]), produced blocks ([`super::producer`]) and the
//! connector ([`super::sync::SyncEnv::hooks`]).

use super::datadir::{Databases, RESERVOIR_RECOVERY};
use crate::error::{NodeError, Result};
use bitmark_peer::bus::Bus;
use bitmark_peer::wire::Push;
use bitmark_record::Chain;
use bitmark_reservoir::{Background, ChainHooks, LoadReport, Options, Reservoir};
use bitmark_storage::BlockStore;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tracing::{debug, error, info, warn};

const TARGET: &str = "node::reservoir";

/// Where the reservoir database of `chain` lives in `data_dir` (beside the chain's
/// `<chain>-bitmarks.sled`).
pub fn reservoir_path(data_dir: &Path, chain: Chain) -> PathBuf {
    data_dir.join(format!("{}-reservoir.sled", chain.name()))
}

/// Open (or create) the reservoir of `store`'s chain in `data_dir`, with bitmarkd's defaults
/// for the chain (auto-verified payments on `local` and `testing`), reloading what it held:
/// items that expired while the node was down, or that the chain confirmed meanwhile, are
/// dropped. Returns the hooks every chain change must go through, and what the reload found.
pub fn open(data_dir: &Path, store: &Arc<BlockStore>) -> Result<(ChainHooks, LoadReport)> {
    open_capped(data_dir, store, bitmark_reservoir::DEFAULT_CACHE_BYTES)
}

/// [`open`] with the reservoir database's page cache capped at `cache_bytes` (the setting
/// `reservoir_cache_bytes`).
pub fn open_capped(data_dir: &Path, store: &Arc<BlockStore>, cache_bytes: u64) -> Result<(ChainHooks, LoadReport)> {
    let chain = store.chain();
    let path = reservoir_path(data_dir, chain);
    let state = Arc::clone(store) as Arc<dyn bitmark_reservoir::ConfirmedState>;
    let options = Options { cache_bytes, ..Options::for_chain(chain) };
    let (reservoir, report) = Reservoir::open(&path, chain, state, options).map_err(|e| NodeError::Database {
        what: "reservoir database",
        path: path.display().to_string(),
        error: e.to_string(),
        recovery: RESERVOIR_RECOVERY,
    })?;
    if report.corrupt > 0 {
        warn!(target: TARGET, corrupt = report.corrupt, "undecodable reservoir entries removed");
    }
    info!(target: TARGET, path = %path.display(), groups = report.groups, assets = report.assets,
          expired = report.expired, invalidated = report.invalidated, "opened the reservoir");
    let reservoir = Arc::new(reservoir);
    let databases = Databases::of_store(store).with_reservoir(&reservoir);
    let hooks = ChainHooks::new(Arc::clone(store), reservoir).map_err(|e| databases.reservoir(e))?;
    Ok((hooks, report))
}

/// The push a reservoir rebroadcast is sent as, by its command (`transfer`, `issues`, `assets`,
/// `proof`); `None` for a command the reservoir never sends.
pub fn rebroadcast_push(command: &str, payload: &[u8]) -> Option<Push> {
    let payload = payload.to_vec();
    match command {
        "transfer" => Some(Push::Transfer(payload)),
        "issues" => Some(Push::Issues(payload)),
        "assets" => Some(Push::Assets(payload)),
        "proof" => Some(Push::Proof(payload)),
        _ => None,
    }
}

/// Send the reservoir's rebroadcasts of verified items on `bus`, and start its periodic jobs
/// (expiry every 5 minutes, asset examination every minute, rebroadcast every 33 min 45 s) on
/// its own thread, which stops when the returned handle is dropped. Their failures are logged
/// naming the database and the recovery step.
pub fn start_background(hooks: &ChainHooks, bus: &Bus) -> Background {
    let bus = bus.clone();
    let reservoir = hooks.reservoir();
    reservoir.set_broadcaster(Arc::new(move |command: &str, payload: &[u8]| {
        match rebroadcast_push(command, payload) {
            Some(push) => {
                debug!(target: TARGET, command, bytes = payload.len(), "rebroadcast");
                bus.send(push);
            }
            None => warn!(target: TARGET, command, "rebroadcast of an unknown command dropped"),
        }
    }));
    let databases = Databases::of(hooks);
    reservoir.spawn_background(move |e| {
        error!(target: TARGET, error = %databases.reservoir(e), "reservoir periodic work failed");
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_storage::{ChainDb, StoreOptions};

    #[test]
    fn the_reservoir_lives_beside_the_chain_and_reopens() {
        assert_eq!(reservoir_path(Path::new("/d"), Chain::Local), PathBuf::from("/d/local-reservoir.sled"));
        let dir = tempfile::tempdir().unwrap();
        let store =
            Arc::new(BlockStore::open(ChainDb::temporary().unwrap(), Chain::Local, StoreOptions::default()).unwrap());
        let (hooks, report) = open(dir.path(), &store).unwrap();
        assert_eq!(report, LoadReport::default());
        assert_eq!(hooks.reservoir().counters(), (0, 0));
        assert!(reservoir_path(dir.path(), Chain::Local).is_dir());
        drop(hooks);
        // Reopened once the first is closed (sled holds a lock on the directory).
        let (hooks, _) = open(dir.path(), &store).unwrap();
        assert_eq!(hooks.reservoir().chain(), Chain::Local);
    }

    #[test]
    fn rebroadcasts_become_typed_pushes() {
        assert_eq!(rebroadcast_push("issues", b"x"), Some(Push::Issues(b"x".to_vec())));
        assert_eq!(rebroadcast_push("assets", b"x"), Some(Push::Assets(b"x".to_vec())));
        assert_eq!(rebroadcast_push("transfer", b"x"), Some(Push::Transfer(b"x".to_vec())));
        assert_eq!(rebroadcast_push("proof", b"x"), Some(Push::Proof(b"x".to_vec())));
        assert_eq!(rebroadcast_push("block", b"x"), None);
    }
}
