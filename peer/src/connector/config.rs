//! The connector's settings: bitmarkd's constants (`peer/connector.go:32-61`) as documented
//! defaults, and the few knobs of our own (the fetch pipeline, the stall watchdog).

use serde::Deserialize;
use std::time::Duration;

/// bitmarkd's `cycleInterval`: seconds between state-machine ticks.
pub const CYCLE_INTERVAL_SECS: u64 = 15;
/// bitmarkd's `connectorTimeout`: the upstreams' request timeout (used by the upstreams, not
/// here; listed so the whole table is in one place).
pub const CONNECTOR_TIMEOUT_SECS: u64 = 60;
/// bitmarkd's `samplingLimit`: failed elections in Sampling before a resync attempt.
pub const SAMPLING_LIMIT: u32 = 6;
/// bitmarkd's `fetchBlocksPerCycle`.
pub const FETCH_BLOCKS_PER_CYCLE: u64 = 200;
/// bitmarkd's `forkProtection`: never roll back this many blocks or more.
pub const FORK_PROTECTION: u64 = 60;
/// bitmarkd's `minimumClients` (connector and voting).
pub const MINIMUM_CLIENTS: usize = 5;
/// bitmarkd's `maximumDynamicClients`.
pub const MAXIMUM_DYNAMIC_CLIENTS: usize = 25;
/// bitmarkd's `activeTime`: a voter must have answered within this many seconds.
pub const ACTIVE_TIME_SECS: u64 = 60;
/// bitmarkd's `fastSyncFetchBlocksPerCycle`.
pub const FAST_SYNC_FETCH_BLOCKS_PER_CYCLE: u64 = 2000;
/// bitmarkd's `fastSyncSkipPerBlocks`: one forgery sample per this many fast-synced blocks.
pub const FAST_SYNC_SKIP_PER_BLOCKS: u64 = 100;
/// bitmarkd's `fastSyncPivotBlocks`.
pub const FAST_SYNC_PIVOT_BLOCKS: u64 = 1000;

/// Settings of the connector. Every field has a default; unknown fields are refused so a typo
/// in a configuration file is an error, not a silently ignored setting.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConnectorConfig {
    /// Milliseconds between ticks of the state machine (bitmarkd: 15 s). Shorter notices a
    /// better chain sooner at the cost of more elections; the upstreams poll every 30 s anyway,
    /// so below a second it only matters right after start-up (a local test network, the
    /// crash-loop test), where a node reaches normal mode three ticks after registering.
    pub cycle_interval_ms: u64,
    /// Registered clients needed to leave Connecting, and in Sampling to stay there (bitmarkd:
    /// 5). The vote quorum follows it: `(1 + minimum_clients) / 2` (3 with 5). A test network
    /// of three nodes needs 2 (quorum 1).
    pub minimum_clients: usize,
    /// Failed elections in a row in Sampling before a resync attempt (bitmarkd: 6).
    pub sampling_limit: u32,
    /// Blocks fetched per pass of FetchBlocks (bitmarkd: 200). Between passes bus commands
    /// are handled; bitmarkd also waits for the next tick, we do not.
    pub fetch_blocks_per_cycle: u64,
    /// Deepest rollback refused (bitmarkd: 60): a fork point this many blocks or more below our
    /// tip is never followed.
    pub fork_protection: u64,
    /// Dynamic (announce-chosen) clients at most (bitmarkd: 25).
    pub maximum_dynamic_clients: usize,
    /// A client votes only if its peer answered within this many seconds (bitmarkd: 60).
    pub active_time_secs: u64,
    /// bitmarkd's `fast_sync`: take each block's digest from the next block's `previousBlock`
    /// instead of Argon2d, checking a random block per `fast_sync_sample_every` against the
    /// elected peer. Off by default: full verification costs an Argon2d per block, spread over
    /// the digest pool.
    pub fast_sync: bool,
    /// Blocks per pass while fast syncing far from the pivot (bitmarkd: 2000).
    pub fast_sync_fetch_blocks_per_cycle: u64,
    /// One forgery sample per this many fast-synced blocks (bitmarkd: 100).
    pub fast_sync_sample_every: u64,
    /// The last this-many blocks below the elected height are fully verified even when fast
    /// syncing (bitmarkd: 1000; bitmarkd computes this pivot but only sizes batches by it).
    pub fast_sync_pivot_blocks: u64,
    /// Blocks fetched ahead of the block being stored (ours; default 64). Bounds memory to
    /// about this many blocks; must exceed the fetching peers plus the digest threads for
    /// them all to stay busy.
    pub fetch_window: u64,
    /// Agreeing peers fetched from at once, one request in flight each (ours; default 8).
    /// 1 is bitmarkd's shape.
    pub fetch_peers: usize,
    /// Cycles without a new block while behind before the watchdog logs an error and
    /// re-elects (ours; default 8, two minutes). A pass of 200 blocks takes well under a cycle
    /// on any machine that can run a node, so eight is far from normal operation.
    pub stall_cycles: u32,
    /// Seconds a peer that failed to back its claims (an invalid block, a height it cannot
    /// serve, a stall) is left out of elections and fetches (ours; default 300). The score
    /// table decides about bans; this only stops the connector from re-electing it at once.
    pub exclusion_secs: u64,
}

impl Default for ConnectorConfig {
    fn default() -> ConnectorConfig {
        ConnectorConfig {
            cycle_interval_ms: CYCLE_INTERVAL_SECS * 1000,
            minimum_clients: MINIMUM_CLIENTS,
            sampling_limit: SAMPLING_LIMIT,
            fetch_blocks_per_cycle: FETCH_BLOCKS_PER_CYCLE,
            fork_protection: FORK_PROTECTION,
            maximum_dynamic_clients: MAXIMUM_DYNAMIC_CLIENTS,
            active_time_secs: ACTIVE_TIME_SECS,
            fast_sync: false,
            fast_sync_fetch_blocks_per_cycle: FAST_SYNC_FETCH_BLOCKS_PER_CYCLE,
            fast_sync_sample_every: FAST_SYNC_SKIP_PER_BLOCKS,
            fast_sync_pivot_blocks: FAST_SYNC_PIVOT_BLOCKS,
            fetch_window: 64,
            fetch_peers: 8,
            stall_cycles: 8,
            exclusion_secs: 300,
        }
    }
}

impl ConnectorConfig {
    /// Votes the winning group needs (bitmarkd's `(1 + minimumClients) / 2`).
    pub fn quorum(&self) -> usize {
        // bitmarkd writes (1 + minimumClients) / 2.
        self.minimum_clients.div_ceil(2)
    }

    /// [`ConnectorConfig::cycle_interval_ms`] as a duration.
    pub fn cycle_interval(&self) -> Duration {
        Duration::from_millis(self.cycle_interval_ms)
    }

    /// [`ConnectorConfig::active_time_secs`] as a duration.
    pub fn active_time(&self) -> Duration {
        Duration::from_secs(self.active_time_secs)
    }

    /// [`ConnectorConfig::stall_cycles`] as a duration.
    pub fn stall_time(&self) -> Duration {
        self.cycle_interval() * self.stall_cycles
    }

    /// [`ConnectorConfig::exclusion_secs`] as a duration.
    pub fn exclusion_time(&self) -> Duration {
        Duration::from_secs(self.exclusion_secs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_bitmarkd_constants_and_quorum_follows_minimum() {
        let c = ConnectorConfig::default();
        assert_eq!(c.cycle_interval(), Duration::from_secs(15));
        assert_eq!((c.minimum_clients, c.quorum()), (5, 3));
        assert_eq!((c.fork_protection, c.fetch_blocks_per_cycle, c.sampling_limit), (60, 200, 6));
        assert_eq!((c.maximum_dynamic_clients, c.active_time_secs), (25, 60));
        assert_eq!(
            (c.fast_sync_fetch_blocks_per_cycle, c.fast_sync_sample_every, c.fast_sync_pivot_blocks),
            (2000, 100, 1000)
        );
        assert!(!c.fast_sync);
        let small = ConnectorConfig { minimum_clients: 2, ..c };
        assert_eq!(small.quorum(), 1);
    }

    #[test]
    fn config_reads_partial_json_and_refuses_unknown_fields() {
        let c: ConnectorConfig = serde_json::from_str(r#"{"minimum_clients": 3, "fast_sync": true}"#).unwrap();
        assert_eq!((c.minimum_clients, c.quorum(), c.fast_sync, c.fork_protection), (3, 2, true, 60));
        assert!(serde_json::from_str::<ConnectorConfig>(r#"{"minimum_client": 3}"#).is_err());
    }
}
