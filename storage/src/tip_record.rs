//! The durable tip, recorded outside sled: a small file beside the database saying how high the
//! chain was when the database last had it on disk, so that a database that comes back lower —
//! damaged and "recovered" by sled (which drops everything after damaged data without a word),
//! or restored from an older copy — is noticed at start-up instead of silently re-synced.
//!
//! The record must never claim more than the database holds durably, or every restart after a
//! crash would cry wolf: it is written only from the tip in memory, which moves after a block's
//! commit is flushed ([`crate::pools::Durability::FlushEachCommit`]), and a rollback lowers it
//! *before* the first block is removed. It may lag behind (the node records every second or so
//! and at shutdown), which only means that the last blocks before a crash are not guarded.
//!
//! The format is lines of `key=value` (`height`, `digest` in raw hex, `recorded` in Unix
//! seconds) under a first line naming it; it is replaced atomically (a temporary file, fsync,
//! rename, fsync of the directory).

use crate::tip::Tip;
use bitmark_common::lock;
use bitmark_record::Chain;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The record's first line.
const MAGIC: &str = "bitmark-node durable tip v1";

/// Where the tip record of `chain` lives under `data_dir`: `<chain>-tip.txt`.
pub fn tip_record_path(data_dir: &Path, chain: Chain) -> PathBuf {
    data_dir.join(format!("{}-tip.txt", chain.name()))
}

/// What a record says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedTip {
    /// The height the database held.
    pub height: u64,
    /// Its tip digest, raw hex.
    pub digest: String,
    /// When it was recorded, Unix seconds.
    pub recorded: u64,
}

/// The database came back lower than recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lowered {
    /// What was recorded.
    pub recorded: RecordedTip,
    /// The height the database holds now.
    pub height: u64,
    /// The record file.
    pub path: PathBuf,
}

impl Lowered {
    /// Blocks lost: those above the height now, up to the recorded one.
    pub fn lost(&self) -> u64 {
        self.recorded.height.saturating_sub(self.height)
    }

    /// One sentence for a log or a report.
    pub fn describe(&self) -> String {
        format!(
            "the chain database holds height {} but height {} was recorded in {} at Unix time {}: blocks {} to {} \
             were lost (the database was damaged, or restored from an older copy)",
            self.height,
            self.recorded.height,
            self.path.display(),
            self.recorded.recorded,
            self.height + 1,
            self.recorded.height
        )
    }
}

/// Read the record at `path`; `None` when there is none. A record that cannot be understood is
/// an error naming the file (it is never silently replaced before being reported).
pub fn read(path: &Path) -> std::io::Result<Option<RecordedTip>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    parse(&text).map(Some).ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: not a tip record", path.display()))
    })
}

fn parse(text: &str) -> Option<RecordedTip> {
    let mut lines = text.lines();
    if lines.next()? != MAGIC {
        return None;
    }
    let (mut height, mut digest, mut recorded) = (None, None, None);
    for line in lines {
        match line.split_once('=')? {
            ("height", v) => height = v.parse().ok(),
            ("digest", v) => digest = Some(v.to_string()),
            ("recorded", v) => recorded = v.parse().ok(),
            _ => {}
        }
    }
    Some(RecordedTip { height: height?, digest: digest?, recorded: recorded? })
}

/// Writes the record of one database; remembers what it last wrote so that an unchanged tip
/// costs nothing.
#[derive(Debug)]
pub struct TipRecorder {
    path: PathBuf,
    last: Mutex<Option<u64>>,
}

impl TipRecorder {
    /// A recorder writing to `path`.
    pub fn new(path: PathBuf) -> TipRecorder {
        TipRecorder { path, last: Mutex::new(None) }
    }

    /// Take `height` as already written: over a database that came back lower, the record
    /// keeps saying what was lost until the chain moves (a sync, a new block) rather than
    /// being overwritten at the first chance.
    pub fn keep_until_moved(&self, height: u64) {
        *lock(&self.last) = Some(height);
    }

    /// The record file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record `height` with `digest` unless it is what was last written.
    pub fn record(&self, height: u64, digest: &str, now: u64) -> std::io::Result<()> {
        let mut last = lock(&self.last);
        if *last == Some(height) {
            return Ok(());
        }
        write_atomically(&self.path, &format!("{MAGIC}\nheight={height}\ndigest={digest}\nrecorded={now}\n"))?;
        *last = Some(height);
        Ok(())
    }

    /// Record `tip`.
    pub fn record_tip(&self, tip: &Tip, now: u64) -> std::io::Result<()> {
        self.record(tip.height, &tip.digest.raw_hex(), now)
    }
}

/// Replace `path` with `text`: a temporary file beside it, synced, renamed over it, and the
/// directory synced, so a crash leaves the old record or the new one, never half of one.
fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let temporary = dir.join(format!(".{name}.new"));
    {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
    }
    std::fs::rename(&temporary, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_records_read_back_and_junk_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = tip_record_path(dir.path(), Chain::Local);
        assert_eq!(path.file_name().unwrap(), "local-tip.txt");
        assert_eq!(read(&path).unwrap(), None);
        let recorder = TipRecorder::new(path.clone());
        recorder.record(20, "ab", 7).unwrap();
        assert_eq!(read(&path).unwrap(), Some(RecordedTip { height: 20, digest: "ab".into(), recorded: 7 }));
        recorder.record(20, "ab", 9).unwrap(); // unchanged: not rewritten
        assert_eq!(read(&path).unwrap().unwrap().recorded, 7);
        recorder.record(12, "cd", 9).unwrap();
        assert_eq!(read(&path).unwrap().unwrap().height, 12);
        std::fs::write(&path, "height=3\n").unwrap();
        assert!(read(&path).unwrap_err().to_string().contains("not a tip record"));
    }

    #[test]
    fn lowered_says_what_was_lost() {
        let lowered = Lowered {
            recorded: RecordedTip { height: 20, digest: "ab".into(), recorded: 5 },
            height: 9,
            path: "/d/local-tip.txt".into(),
        };
        assert_eq!(lowered.lost(), 11);
        let text = lowered.describe();
        assert!(
            text.contains("holds height 9 but height 20 was recorded") && text.contains("blocks 10 to 20"),
            "{text}"
        );
    }

    /// A store keeping a record: the record follows the tip, is lowered before a rollback, and
    /// a database that comes back lower than it is reported at open.
    #[test]
    fn a_store_records_its_tip_and_reports_a_lowered_database() {
        use crate::testchain::{TestChain, TestChainConfig};
        use crate::{BlockStore, ChainDb, OpenOptions, StoreOptions};
        let dir = tempfile::tempdir().unwrap();
        let record = tip_record_path(dir.path(), Chain::Local);
        let options = || StoreOptions { tip_record: Some(record.clone()), ..StoreOptions::default() };
        let open = |name: &str| {
            // sled lets go of its file lock when its flusher thread ends, a moment after the
            // last handle is dropped: reopening at once can find it still held.
            let path = dir.path().join(name);
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
            let db = loop {
                match ChainDb::open(&path, &OpenOptions::default()) {
                    Ok(db) => break db,
                    Err(e)
                        if std::time::Instant::now() < deadline && e.to_string().contains("could not acquire lock") =>
                    {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                    }
                    Err(e) => panic!("{e}"),
                }
            };
            BlockStore::open(db, Chain::Local, options()).unwrap()
        };
        let config = TestChainConfig { seed: 3, txs_per_block: 1, ..Default::default() };
        {
            let store = open("a");
            TestChain::new(config).extend(&store, 4, |_| {}).unwrap();
            store.record_tip().unwrap();
            assert_eq!(read(&record).unwrap().unwrap().height, 4);
            store.rollback_to(3, |_| {}).unwrap();
            assert_eq!(read(&record).unwrap().unwrap().height, 3, "lowered with the rollback");
            assert_eq!(store.lowered(), None);
        }
        // Another database, two blocks high, opened over that record: reported, not hidden.
        {
            let store = open("b");
            TestChain::new(config).extend(&store, 2, |_| {}).unwrap();
        }
        let store = open("b");
        let lowered = store.lowered().unwrap();
        assert_eq!((lowered.height, lowered.recorded.height, lowered.lost()), (2, 3, 1));
        // A record that cannot be written: the error names its file.
        TestChain::new(config).extend(&store, 4, |_| {}).unwrap();
        std::fs::remove_file(&record).unwrap();
        std::fs::create_dir(&record).unwrap();
        let error = store.record_tip().unwrap_err().to_string();
        assert!(error.contains(&record.display().to_string()), "{error}");
    }
}
