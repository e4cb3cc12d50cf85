//! Opening the chain database: one sled tree with every pool prefix and the version key.

use crate::error::{hex_of, Result, StorageError};
use crate::pool::VERSION_KEY;
use crate::pools::{Durability, Pools};
use bitmark_record::Chain;
use std::path::{Path, PathBuf};

/// Version of the chain database layout this code writes (storage/setup.go:49).
pub const DATABASE_VERSION: u32 = 1;

/// Name of the sled tree holding the pools. A named tree (not sled's default one) leaves the
/// same sled directory free for other trees.
const TREE_NAME: &[u8] = b"bitmarks";

/// How to open the database.
#[derive(Clone, Copy, Debug)]
pub struct OpenOptions {
    /// When commits reach the disk.
    pub durability: Durability,
    /// sled's page cache in bytes. Too small: every block lookup reads the disk; too large:
    /// resident memory grows with it (sled's own overhead comes on top).
    pub cache_capacity: u64,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions { durability: Durability::FlushEachCommit, cache_capacity: 256 * 1024 * 1024 }
    }
}

/// The chain database: a sled directory whose `bitmarks` tree holds bitmarkd's pools.
#[derive(Clone)]
pub struct ChainDb {
    db: sled::Db,
    pools: Pools,
    /// Where it is on disk (`None` for a temporary one), to name it in errors.
    path: Option<PathBuf>,
}

impl std::fmt::Debug for ChainDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChainDb").field("pools", &self.pools).finish_non_exhaustive()
    }
}

/// Where the chain database of `chain` lives under `data_dir`: `<chain>-bitmarks.sled`, after
/// bitmarkd's `<chain>-bitmarks.leveldb` (storage/setup.go:50,190).
pub fn database_path(data_dir: &Path, chain: Chain) -> PathBuf {
    data_dir.join(format!("{}-bitmarks.sled", chain.name()))
}

impl ChainDb {
    /// Open (creating if missing) the database at `path` and check its version key.
    pub fn open(path: &Path, options: &OpenOptions) -> Result<ChainDb> {
        let db = sled::Config::new().path(path).cache_capacity(options.cache_capacity).open()?;
        ChainDb::from_db(db, options.durability, Some(path.to_path_buf()))
    }

    /// A throw-away database in a temporary directory (tests, dry runs).
    pub fn temporary() -> Result<ChainDb> {
        let db = sled::Config::new().temporary(true).open()?;
        ChainDb::from_db(db, Durability::Background, None)
    }

    fn from_db(db: sled::Db, durability: Durability, path: Option<PathBuf>) -> Result<ChainDb> {
        let tree = db.open_tree(TREE_NAME)?;
        check_version(&tree)?;
        Ok(ChainDb { db, pools: Pools::new(tree, durability), path })
    }

    /// The directory it was opened at (`None` for a temporary database): what an error the
    /// operator reads names.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The committed pools.
    pub fn pools(&self) -> &Pools {
        &self.pools
    }

    /// The stored layout version.
    pub fn version(&self) -> Result<Option<u32>> {
        read_version(self.pools.tree())
    }

    /// Write everything to disk now.
    pub fn flush(&self) -> Result<()> {
        self.db.flush()?;
        Ok(())
    }

    /// Verify sled's own checksums over the whole database.
    pub fn checksum(&self) -> Result<u32> {
        Ok(self.db.checksum()?)
    }
}

/// The stored version: 4 bytes big-endian; any other length is an open error.
fn read_version(tree: &sled::Tree) -> Result<Option<u32>> {
    match tree.get(VERSION_KEY)? {
        None => Ok(None),
        Some(v) => <[u8; 4]>::try_from(v.as_ref())
            .map(|b| Some(u32::from_be_bytes(b)))
            .map_err(|_| StorageError::VersionLength(v.len())),
    }
}

/// bitmarkd's open-time rules (storage/setup.go:201-229): missing or zero → write the current
/// version; newer than ours → log and carry on, as bitmarkd does. (An older non-zero version
/// cannot exist while the current one is 1, so there is no migration.)
fn check_version(tree: &sled::Tree) -> Result<()> {
    match read_version(tree)? {
        None | Some(0) => {
            tree.insert(VERSION_KEY, &DATABASE_VERSION.to_be_bytes())?;
        }
        Some(v) if v > DATABASE_VERSION => {
            tracing::error!(
                target: "storage",
                stored = v,
                supported = DATABASE_VERSION,
                key = %hex_of(VERSION_KEY),
                "chain database is newer than this program; continuing as bitmarkd does"
            );
        }
        Some(_) => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_written_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        {
            let db = ChainDb::open(&path, &OpenOptions::default()).unwrap();
            assert_eq!(db.version().unwrap(), Some(1));
            assert_eq!(db.pools().tree().get(b"\x00VERSION").unwrap().unwrap().as_ref(), &[0, 0, 0, 1]);
            db.pools().tree().insert(VERSION_KEY, &[0, 1][..]).unwrap();
            db.flush().unwrap();
        }
        let err = ChainDb::open(&path, &OpenOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), "incompatible database version length: expected: 4  actual: 2");
    }

    #[test]
    fn newer_version_still_opens() {
        let db = ChainDb::temporary().unwrap();
        db.pools().tree().insert(VERSION_KEY, &7u32.to_be_bytes()).unwrap();
        assert!(check_version(db.pools().tree()).is_ok());
        assert_eq!(db.version().unwrap(), Some(7));
    }

    #[test]
    fn path_follows_bitmarkd_naming() {
        assert_eq!(database_path(Path::new("/d"), Chain::Local), PathBuf::from("/d/local-bitmarks.sled"));
    }

    #[test]
    fn a_database_knows_where_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        assert_eq!(ChainDb::open(&path, &OpenOptions::default()).unwrap().path(), Some(path.as_path()));
        assert_eq!(ChainDb::temporary().unwrap().path(), None);
    }
}
