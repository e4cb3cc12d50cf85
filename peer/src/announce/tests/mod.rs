//! The announce rules in virtual time: every timing boundary, the plausibility checks, the
//! bounds, `peers.json`, the DNS bootstrap, the driver and its thread.

mod backup;
mod bootstrap;
mod driver;
mod network;
mod rpc;
mod table;

use super::{Announcer, TableLimits};
use crate::clock::{Clock, ManualClock};
use crate::wire::packed_address::pack_all;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Start of virtual time: 2023-11-14 22:13:20 UTC.
const T0: u64 = 1_700_000_000;

/// Our own key: in the middle of the key space, so the ring has entries on both sides.
const OWN: [u8; 32] = [0x80; 32];

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn minutes(m: u64) -> Duration {
    Duration::from_secs(60 * m)
}

fn key(n: u8) -> [u8; 32] {
    [n; 32]
}

fn addr(n: u8) -> SocketAddr {
    SocketAddr::from(([192, 0, 2, n], 2136))
}

/// One 19-byte listener record for 192.0.2.n:2136.
fn listeners(n: u8) -> Vec<u8> {
    pack_all(&[addr(n)])
}

/// An announcer for `OWN` at 198.51.100.1:2136 on a manual clock at `T0`.
fn announcer(limits: TableLimits) -> (Arc<ManualClock>, Announcer) {
    let clock = Arc::new(ManualClock::at_unix(T0));
    let own = [SocketAddr::from(([198, 51, 100, 1], 2136))];
    let announcer = Announcer::new(OWN, &own, limits, clock.clone());
    (clock, announcer)
}

/// A scratch path under the system temporary directory, unique to this process and `name`.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("bitmark-peer-announce-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}
