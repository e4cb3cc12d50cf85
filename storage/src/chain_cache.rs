//! Generated test chains kept on disk, so that a chain of thousands of blocks costs its Argon2d
//! digests once per machine instead of once per run.
//!
//! Why a cache at all: each block's header names the previous block's Argon2d digest (one
//! lane, 128 MiB, about 0.35 s of a core), so the digests of a generated chain form one
//! sequence that no number of cores can shorten; 5 000 blocks take half an hour. Everything
//! else about a block (choosing, signing and validating its records, storing it) costs a few
//! milliseconds.
//!
//! One file per generator version, seed and records per block holds the longest chain made so
//! far: a shorter chain of the same settings is its prefix, and a longer one re-makes the
//! cached blocks with the generator (signatures only: each digest is taken from the file when
//! the generator produces the same bytes again) before hashing the new ones. Files are
//! written whole to a temporary name and renamed, at checkpoints while generating, so an
//! interrupted run keeps its work and a reader never sees half a file. A damaged or foreign
//! file is ignored and rewritten.
//!
//! File layout: one text line `bitmark-testchain <format> generator=<G> seed=<S> txs=<T>
//! blocks=<N>`, then `N` records of a little-endian `u32` length, the 32-byte digest and the
//! packed block (block 2 first), then SHA3-256 of everything before it.

use crate::error::{Result, StorageError};
use crate::store::{BlockStore, StoreOptions};
use crate::testchain::{TestChain, TestChainConfig};
use crate::ChainDb;
use bitmark_record::header::{self, DigestSource};
use bitmark_record::{genesis, BlockDigest, Chain, Link};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

/// The version of [`TestChain`]'s output: bump it whenever the generator makes other bytes for
/// the same settings, so that files of the old generator are no longer read.
pub const GENERATOR_VERSION: u32 = 1;

/// The version of the file layout described in the module documentation.
const FORMAT: u32 = 1;

/// Write a checkpoint at least this often while generating.
const CHECKPOINT_EVERY: Duration = Duration::from_secs(60);

/// A packed block and its Argon2d digest.
pub type Block = (Vec<u8>, BlockDigest);

/// Where a generated chain of `config` is kept in `dir`.
pub fn path_for(dir: &Path, config: &TestChainConfig) -> PathBuf {
    dir.join(format!(
        "local-g{GENERATOR_VERSION}-s{}-t{}-{}.chain",
        config.seed, config.txs_per_block, config.start_time
    ))
}

/// What [`generate`] reports after each block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// The block just made.
    pub number: u64,
    /// Whether its digest came from the file (no Argon2d computed).
    pub cached: bool,
}

/// The blocks of the chain of `config` up to `height` (`blocks[i]` is block `i + 2`), from the
/// file in `dir` as far as it goes, generated beyond it; the file then holds at least them.
pub fn generate(
    dir: &Path,
    config: TestChainConfig,
    height: u64,
    mut progress: impl FnMut(Progress),
) -> Result<Vec<Block>> {
    let path = path_for(dir, &config);
    let known = read(&path, &config).unwrap_or_default();
    let wanted = usize::try_from(height.saturating_sub(1)).unwrap_or(usize::MAX);
    if known.len() >= wanted {
        let mut known = known;
        known.truncate(wanted);
        return Ok(known);
    }
    std::fs::create_dir_all(dir).map_err(|e| io_error(dir, e))?;
    let store = BlockStore::open(ChainDb::temporary()?, Chain::Local, StoreOptions::default())?;
    let mut made: Vec<Block> = Vec::with_capacity(wanted);
    let mut saved = Instant::now();
    let mut outcome = Ok(());
    TestChain::new(config).extend_reusing(&store, height, &known, |applied, block| {
        let cached = made.len() < known.len();
        made.push((block.to_vec(), applied.digest));
        if !cached && outcome.is_ok() && saved.elapsed() >= CHECKPOINT_EVERY {
            saved = Instant::now();
            outcome = write(&path, &config, &made);
        }
        progress(Progress { number: applied.number, cached });
    })?;
    outcome?;
    write(&path, &config, &made)?;
    Ok(made)
}

/// The blocks in the file at `path` if it is a whole, undamaged file of `config`'s chain
/// whose blocks link up; None otherwise.
pub fn read(path: &Path, config: &TestChainConfig) -> Option<Vec<Block>> {
    let bytes = std::fs::read(path).ok()?;
    let (body, sum) = bytes.split_at_checked(bytes.len().checked_sub(32)?)?;
    if Link::of(body).0.as_slice() != sum {
        return None;
    }
    let newline = body.iter().position(|b| *b == b'\n')?;
    let (line, mut rest) = body.split_at(newline);
    rest = rest.get(1..)?;
    let count: usize = parse_line(std::str::from_utf8(line).ok()?, config)?;
    let mut blocks = Vec::with_capacity(count.min(1 << 20));
    let mut previous = genesis::digest(Chain::Local);
    for number in 2..count as u64 + 2 {
        let length = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
        let digest = BlockDigest(rest.get(4..36)?.try_into().ok()?);
        let block = rest.get(36..36usize.checked_add(length)?)?;
        rest = rest.get(36 + length..)?;
        // No height or clock check: the numbering and linkage are checked here.
        let (head, _, _) = header::extract(block, 0, DigestSource::Skip, u64::MAX).ok()?;
        if head.number != number || head.previous_block != previous {
            return None;
        }
        previous = digest;
        blocks.push((block.to_vec(), digest));
    }
    rest.is_empty().then_some(blocks)
}

/// The block count of a header line of `config`'s chain.
fn parse_line(line: &str, config: &TestChainConfig) -> Option<usize> {
    let expected = format!(
        "bitmark-testchain {FORMAT} generator={GENERATOR_VERSION} seed={} txs={} start={} blocks=",
        config.seed, config.txs_per_block, config.start_time
    );
    line.strip_prefix(&expected)?.parse().ok()
}

/// Write `blocks` as the file at `path` (to a temporary name, then renamed over it).
pub fn write(path: &Path, config: &TestChainConfig, blocks: &[Block]) -> Result<()> {
    let mut body = format!(
        "bitmark-testchain {FORMAT} generator={GENERATOR_VERSION} seed={} txs={} start={} blocks={}\n",
        config.seed,
        config.txs_per_block,
        config.start_time,
        blocks.len()
    )
    .into_bytes();
    for (block, digest) in blocks {
        let length =
            u32::try_from(block.len()).map_err(|_| StorageError::Io(format!("block of {} bytes", block.len())))?;
        body.extend_from_slice(&length.to_le_bytes());
        body.extend_from_slice(&digest.0);
        body.extend_from_slice(block);
    }
    let sum = Link::of(&body);
    let stamp = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let temporary = path.with_extension(format!("tmp-{}-{stamp}", std::process::id()));
    let written = std::fs::File::create(&temporary).and_then(|mut file| {
        file.write_all(&body)?;
        file.write_all(&sum.0)?;
        file.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&temporary, path)) {
        let _ = std::fs::remove_file(&temporary);
        return Err(io_error(path, e));
    }
    Ok(())
}

fn io_error(path: &Path, e: std::io::Error) -> StorageError {
    StorageError::Io(format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> TestChainConfig {
        TestChainConfig { seed: 11, txs_per_block: 3, ..TestChainConfig::default() }
    }

    #[test]
    fn a_cached_chain_is_reused_extended_and_survives_damage() {
        let dir = tempfile::tempdir().unwrap();
        let mut events = Vec::new();
        let two = generate(dir.path(), config(), 3, |p| events.push(p)).unwrap();
        assert_eq!(two.len(), 2);
        assert!(events.iter().all(|p| !p.cached), "{events:?}");
        assert_eq!(read(&path_for(dir.path(), &config()), &config()).unwrap(), two);

        // A shorter chain is the file's prefix, made without the generator.
        events.clear();
        let one = generate(dir.path(), config(), 2, |p| events.push(p)).unwrap();
        assert_eq!((one.as_slice(), events.len()), (&two[..1], 0));

        // A longer one re-makes the cached blocks without Argon2d, then hashes the new one.
        let three = generate(dir.path(), config(), 4, |p| events.push(p)).unwrap();
        assert_eq!(&three[..2], two.as_slice());
        let cached: Vec<bool> = events.iter().map(|p| p.cached).collect();
        assert_eq!(cached, [true, true, false]);

        // A store takes them as they are.
        let store = BlockStore::open(ChainDb::temporary().unwrap(), Chain::Local, StoreOptions::default()).unwrap();
        for (block, digest) in &three {
            store.apply_with_digest(block, *digest).unwrap();
        }
        assert_eq!(store.tip().digest, three[2].1);

        // Another seed has its own file; a damaged file is ignored.
        let other = TestChainConfig { seed: 12, ..config() };
        assert_ne!(path_for(dir.path(), &other), path_for(dir.path(), &config()));
        assert!(read(&path_for(dir.path(), &config()), &other).is_none());
        let path = path_for(dir.path(), &config());
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(&path, &config()).is_none());
        bytes.truncate(middle);
        std::fs::write(&path, &bytes).unwrap();
        assert!(read(&path, &config()).is_none());
    }
}
