//! The data directory: finding and opening the chain database in it, and naming its databases
//! in errors. The daemon opens its store here, and so do the commands that work on a stored
//! chain (`check`, `reservoir`, `testchain`, `replay`). Every database failure the operator
//! reads, at start-up or while running ([`Databases`]), names the database and says how to
//! recover.

use crate::error::{NodeError, Result};
use bitmark_record::Chain;
use bitmark_reservoir::{ChainHooks, Reservoir, ReservoirError};
use bitmark_storage::{database_path, BlockStore, ChainDb, OpenOptions, StorageError, StoreOptions};
use std::path::{Path, PathBuf};

/// What to do about a chain database that cannot be opened or fails.
pub const CHAIN_RECOVERY: &str =
    "restore it from a backup, or move it aside and start the node to sync the chain again from its peers";

/// What to do about a reservoir database that cannot be opened or fails: it holds only
/// unconfirmed transactions, which their senders' nodes rebroadcast.
pub const RESERVOIR_RECOVERY: &str = "delete it and start again: it holds only unconfirmed transactions, which the \
     network rebroadcasts (the chain is not touched)";

/// Where a node's two databases are, to name the one that failed. A bitmarkd fault (a refused
/// block or record) keeps its text: it is the input's, not the database's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Databases {
    chain: Option<PathBuf>,
    reservoir: Option<PathBuf>,
}

impl Databases {
    /// The databases behind `store` alone (no reservoir).
    pub fn of_store(store: &BlockStore) -> Databases {
        Databases { chain: store.db().path().map(Path::to_path_buf), reservoir: None }
    }

    /// These and `reservoir`'s.
    pub fn with_reservoir(self, reservoir: &Reservoir) -> Databases {
        Databases { reservoir: reservoir.path().map(Path::to_path_buf), ..self }
    }

    /// The databases behind `hooks`: the chain's and the reservoir's.
    pub fn of(hooks: &ChainHooks) -> Databases {
        Databases::of_store(hooks.store()).with_reservoir(hooks.reservoir())
    }

    /// A chain database failure as the operator reads it.
    pub fn chain(&self, e: StorageError) -> NodeError {
        chain_error(self.chain.as_deref(), e)
    }

    /// A failed read of the chain database, whatever its error type, as the operator reads it.
    pub fn chain_failure(&self, error: &dyn std::fmt::Display) -> NodeError {
        database("chain database", self.chain.as_deref(), error, CHAIN_RECOVERY)
    }

    /// A reservoir failure as the operator reads it: its own database's, the chain's (a block
    /// stored through the hooks, a chain read), or its `reservoir.cache` file's.
    pub fn reservoir(&self, e: ReservoirError) -> NodeError {
        match e {
            ReservoirError::Fault(f) => NodeError::Fault(f),
            ReservoirError::Storage(e) => self.chain(e),
            e @ ReservoirError::State(_) => self.chain_failure(&e),
            e @ ReservoirError::Sled(_) => {
                database("reservoir database", self.reservoir.as_deref(), &e, RESERVOIR_RECOVERY)
            }
            e @ (ReservoirError::Io(_) | ReservoirError::CacheFile(_)) => NodeError::Io(format!("reservoir: {e}")),
        }
    }
}

/// A failure of the chain database at `path` (`None`: a temporary one): which database, what
/// went wrong, and the recovery step; a fault keeps bitmarkd's text.
pub fn chain_error(path: Option<&Path>, e: StorageError) -> NodeError {
    match e {
        StorageError::Fault(f) => NodeError::Fault(f),
        other => database("chain database", path, &other, CHAIN_RECOVERY),
    }
}

fn database(
    what: &'static str,
    path: Option<&Path>,
    error: &dyn std::fmt::Display,
    recovery: &'static str,
) -> NodeError {
    NodeError::Database {
        what,
        path: path.map_or_else(|| "(temporary)".to_string(), |p| p.display().to_string()),
        error: error.to_string(),
        recovery,
    }
}

/// The chain whose database is in `data_dir`: `chain` when given, else the one chain that has
/// a database there.
pub fn detect_chain(data_dir: &Path, chain: Option<Chain>) -> Result<Chain> {
    match chain {
        Some(c) => Ok(c),
        None => existing_chain(data_dir, None),
    }
}

/// Like [`detect_chain`], but a chain given must have its database in `data_dir` too: for
/// commands that only read, and so must not create one.
pub fn existing_chain(data_dir: &Path, chain: Option<Chain>) -> Result<Chain> {
    let found: Vec<Chain> = Chain::ALL.into_iter().filter(|c| database_path(data_dir, *c).exists()).collect();
    if let Some(c) = chain {
        if found.contains(&c) {
            return Ok(c);
        }
        let here = match found.as_slice() {
            [] => "none is here".to_string(),
            others => {
                let names: Vec<&str> = others.iter().map(|c| c.name()).collect();
                format!("there is one of {} (pass --chain {})", names.join(", "), names.join(" or --chain "))
            }
        };
        return Err(NodeError::Input(format!("{}: no {c} chain database: {here}", data_dir.display())));
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(NodeError::Input(format!("{}: no chain database here", data_dir.display()))),
        _ => Err(NodeError::Input(format!("{}: several chain databases here; pass --chain", data_dir.display()))),
    }
}

/// Open (creating if missing) the block store of `chain` in `data_dir`.
pub fn open_store(data_dir: &Path, chain: Chain, options: StoreOptions) -> Result<BlockStore> {
    std::fs::create_dir_all(data_dir).map_err(|e| NodeError::io(data_dir.display(), e))?;
    open_at(&database_path(data_dir, chain), chain, options)
}

/// Open the block store of `chain` whose database is at `path` (creating it if missing).
pub fn open_at(path: &Path, chain: Chain, options: StoreOptions) -> Result<BlockStore> {
    ChainDb::open(path, &OpenOptions::default())
        .and_then(|db| BlockStore::open(db, chain, options))
        .map_err(|e| chain_open_error(path, e))
}

/// A chain database that would not open: which one, what is wrong, and the recovery step (a
/// fault too: at open it means a damaged stored block).
pub fn chain_open_error(path: &Path, e: StorageError) -> NodeError {
    database("chain database", Some(path), &e, CHAIN_RECOVERY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_record::Fault;
    use bitmark_storage::Pool;
    use std::sync::Arc;

    fn corrupt() -> StorageError {
        StorageError::Corrupt { pool: Pool::Blocks, key: "05".into(), reason: "short".into() }
    }

    /// What the operator reads of a failure while running: the database by path and the
    /// recovery step, as at start-up; a fault (a refused block) keeps bitmarkd's text.
    #[test]
    fn every_database_failure_names_the_database_and_the_recovery_step() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(open_store(dir.path(), Chain::Local, StoreOptions::default()).unwrap());
        let (hooks, _) = super::super::reservoir::open(dir.path(), &store).unwrap();
        let databases = Databases::of(&hooks);
        let chain = database_path(dir.path(), Chain::Local);
        let expected = format!(
            "chain database {}: corrupt Blocks(B) entry 05: short; to recover: {CHAIN_RECOVERY}",
            chain.display()
        );
        assert_eq!(databases.chain(corrupt()).to_string(), expected);
        assert_eq!(databases.reservoir(ReservoirError::Storage(corrupt())).to_string(), expected);
        let read = databases.reservoir(ReservoirError::State(Box::new(corrupt()))).to_string();
        assert!(read.starts_with(&format!("chain database {}: confirmed state: corrupt", chain.display())), "{read}");
        assert!(read.ends_with(CHAIN_RECOVERY), "{read}");
        assert_eq!(databases.chain(StorageError::Fault(Fault::BlockNotFound)).to_string(), "block not found");
        assert_eq!(databases.reservoir(ReservoirError::Fault(Fault::AssetNotFound)).to_string(), "asset not found");
        assert_eq!(
            Databases::default().chain(corrupt()).to_string(),
            format!("chain database (temporary): corrupt Blocks(B) entry 05: short; to recover: {CHAIN_RECOVERY}")
        );
    }
}
