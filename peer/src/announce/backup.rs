//! `peers.json`, bitmarkd's peer table backup (`announce/receptor/data.go`,
//! `docs/protocol.md#peer-table-backup`), byte-compatible both ways so a node can take over a
//! bitmarkd cache directory and back.
//!
//! The file is a JSON array of strings; each string is the lower-case hex of
//! `varint(len key) ‖ key ‖ varint(len listeners) ‖ listeners ‖ varint(unix seconds)`.
//! An entry is valid when the key is 32 bytes and `len(listeners) / 19` is 1 or 2 (so 19..=56
//! bytes); bytes after the timestamp are ignored. Restored entries then go through the normal
//! add rules, so entries older than 55 minutes are dropped.
//!
//! Where we differ: bitmarkd fails the whole file on one bad entry (and panics on a truncated
//! one); we skip bad entries and report them. We write through a temporary file and a rename,
//! so a crash mid-write cannot leave a truncated file. We only write entries bitmarkd can read
//! back (1 or 2 listener records).

use super::peers::PeerRecord;
use crate::announce::AnnounceError;
use crate::clock::unix_secs;
use bitmark_record::{varint, Fault};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The file's name in the cache directory.
pub const FILE_NAME: &str = "peers.json";

/// bitmarkd does not write a backup of a table with this many entries or fewer (so a node
/// that lost its peers does not overwrite a useful file).
pub const MIN_ENTRIES_TO_WRITE: usize = 3;

/// Listener lengths bitmarkd's restore accepts: `len / 19` in {1, 2}.
const LISTENER_LENGTHS: std::ops::RangeInclusive<usize> = 19..=56;

/// One entry as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPeer {
    /// The public key (32 bytes once decoded).
    pub public_key: Vec<u8>,
    /// Packed listeners (19..=56 bytes once decoded).
    pub listeners: Vec<u8>,
    /// Unix seconds.
    pub timestamp: u64,
}

/// Why one entry of the file was skipped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryError {
    /// The array element is not a JSON string.
    NotText,
    /// The string is not hex (odd length or a non-hex character).
    Hex,
    /// bitmarkd's fault for the field that is wrong: `NotPublicKey`, `InvalidIpAddress` or
    /// `InvalidTimestamp`.
    Fault(Fault),
}

impl fmt::Display for EntryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EntryError::NotText => f.write_str("not a string"),
            EntryError::Hex => f.write_str("not hex"),
            EntryError::Fault(fault) => fault.fmt(f),
        }
    }
}

/// What a restore found: the valid entries, and the position and reason of each skipped one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Decoded {
    /// Valid entries, in file order.
    pub entries: Vec<StoredPeer>,
    /// Skipped entries: index in the array and why.
    pub skipped: Vec<(usize, EntryError)>,
}

/// Hex of one entry, as bitmarkd's `StoreEntity.MarshalText`.
pub fn encode_entry(peer: &StoredPeer) -> String {
    let mut bytes = Vec::with_capacity(peer.public_key.len() + peer.listeners.len() + 12);
    varint::put(&mut bytes, peer.public_key.len() as u64);
    bytes.extend_from_slice(&peer.public_key);
    varint::put(&mut bytes, peer.listeners.len() as u64);
    bytes.extend_from_slice(&peer.listeners);
    varint::put(&mut bytes, peer.timestamp);
    hex::encode(bytes)
}

/// One entry, with bitmarkd's `StoreEntity.UnmarshalText` checks (upper-case hex is accepted,
/// as Go's decoder accepts it). Where bitmarkd would slice past the end and panic, the entry is
/// refused with the fault of the field being read.
pub fn decode_entry(text: &str) -> Result<StoredPeer, EntryError> {
    let bytes = hex::decode(text).map_err(|_| EntryError::Hex)?;
    let field = |rest, fault, valid| length_prefixed(rest, valid).ok_or(EntryError::Fault(fault));
    let (public_key, rest) = field(&bytes, Fault::NotPublicKey, |len| len == 32)?;
    let (listeners, rest) = field(rest, Fault::InvalidIpAddress, |len| LISTENER_LENGTHS.contains(&len))?;
    let (timestamp, _) = varint::decode(rest).ok_or(EntryError::Fault(Fault::InvalidTimestamp))?;
    Ok(StoredPeer { public_key, listeners, timestamp })
}

/// A `ClippedVarint64(1, 8192)` length whose value passes `valid`, then that many bytes: the
/// value and what follows it.
fn length_prefixed(buf: &[u8], valid: fn(usize) -> bool) -> Option<(Vec<u8>, &[u8])> {
    let (len, used) = varint::clipped(buf, 1, 8192).filter(|&(len, _)| valid(len))?;
    let value = buf.get(used..used + len)?;
    Some((value.to_vec(), buf.get(used + len..).unwrap_or_default()))
}

/// The file's text for a table (sorted by key, as bitmarkd walks its tree), or `None` when
/// bitmarkd would not write one (2 entries or fewer). Entries without listeners are left out,
/// as bitmarkd does, and so are entries bitmarkd could not read back. Compact JSON and a final
/// newline, as Go's `json.Encoder`; `null` when no entry qualifies.
pub fn encode(records: &[PeerRecord]) -> Option<String> {
    if records.len() < MIN_ENTRIES_TO_WRITE {
        return None;
    }
    let entries: Vec<String> = records
        .iter()
        .filter(|r| LISTENER_LENGTHS.contains(&r.listeners.len()))
        .map(|r| {
            encode_entry(&StoredPeer {
                public_key: r.public_key.to_vec(),
                listeners: r.listeners.clone(),
                timestamp: unix_secs(r.timestamp),
            })
        })
        .collect();
    let json = if entries.is_empty() { "null".to_string() } else { serde_json::Value::from(entries).to_string() };
    Some(json + "\n")
}

/// Parse the file's text. Like Go's `json.Decoder`, only the first JSON value is read, so
/// anything after it is ignored; `null` is an empty list.
/// Fails with [`AnnounceError::BackupJson`] or [`AnnounceError::BackupNotAList`].
pub fn decode(text: &str) -> Result<Decoded, AnnounceError> {
    decode_bytes(text.as_bytes())
}

/// [`decode`] on the file's bytes as read, which need not be UTF-8: invalid UTF-8 inside the
/// first JSON value is [`AnnounceError::BackupJson`], like any other malformed JSON. What the
/// restore runs on, so a fuzzer can feed it any bytes without a file.
pub fn decode_bytes(bytes: &[u8]) -> Result<Decoded, AnnounceError> {
    let value = serde_json::Deserializer::from_slice(bytes).into_iter::<serde_json::Value>().next();
    let items = match value.transpose().map_err(AnnounceError::BackupJson)? {
        None => return Err(AnnounceError::BackupJson(serde::de::Error::custom("empty file"))),
        Some(serde_json::Value::Null) => Vec::new(),
        Some(serde_json::Value::Array(items)) => items,
        Some(_) => return Err(AnnounceError::BackupNotAList),
    };
    let mut decoded = Decoded::default();
    for (i, item) in items.iter().enumerate() {
        match item.as_str().ok_or(EntryError::NotText).and_then(decode_entry) {
            Ok(entry) => decoded.entries.push(entry),
            Err(e) => decoded.skipped.push((i, e)),
        }
    }
    Ok(decoded)
}

/// Write the backup of `records` to `path` (mode 0600 on Unix), atomically. `Ok(false)` when
/// there were too few entries to write, leaving any previous file alone.
pub fn write(path: &Path, records: &[PeerRecord]) -> Result<bool, AnnounceError> {
    let Some(text) = encode(records) else {
        return Ok(false);
    };
    let io = |source| AnnounceError::BackupIo { path: path.to_path_buf(), source };
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(io)?;
    file.write_all(text.as_bytes()).and_then(|()| file.sync_all()).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)?;
    Ok(true)
}

/// Read the backup at `path`; `Ok(None)` if there is no file (a first start).
pub fn read(path: &Path) -> Result<Option<Decoded>, AnnounceError> {
    match std::fs::read(path) {
        Ok(bytes) => decode_bytes(&bytes).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(AnnounceError::BackupIo { path: path.to_path_buf(), source }),
    }
}
