//! Any bytes in `peers.json` must restore into the peer table or be refused whole, never a panic;
//! every entry is counted once (added, refused or skipped), the table stays within its bound,
//! and every entry the decoder accepted re-encodes to text that decodes to the same entry.
#![no_main]

use bitmark_peer::announce::backup::{decode_bytes, decode_entry, encode_entry};
use bitmark_peer::announce::{Announcer, TableLimits};
use bitmark_peer::clock::ManualClock;
use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

/// The restore's clock: an announcement time the fuzzer can reach with small varints is then
/// within the 55-minute window as often as not.
const NOW: u64 = 1_700_000_000;
/// A small bound, so the full-table path (eviction, refusal) is reached with few entries.
const MAX_PEERS: usize = 8;

fuzz_target!(|data: &[u8]| {
    let Ok(decoded) = decode_bytes(data) else {
        return;
    };
    for entry in &decoded.entries {
        assert_eq!(decode_entry(&encode_entry(entry)).as_ref(), Ok(entry), "re-encoded entry");
    }
    let entries = decoded.entries.len() + decoded.skipped.len();
    let clock = Arc::new(ManualClock::at_unix(NOW));
    let limits = TableLimits { max_peers: MAX_PEERS, ..TableLimits::default() };
    let announcer = Announcer::new([0x5a; 32], &[], limits, clock);
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let report = announcer.restore_bytes(data, now).expect("bytes that decoded restore");
    assert_eq!(report.added + report.refused + report.skipped.len(), entries, "every entry counted once");
    assert!(announcer.peer_count() <= MAX_PEERS, "table over its bound: {}", announcer.peer_count());
    assert!(announcer.peer_count() <= 1 + report.added, "only added entries are in the table");
});
