//! Node assembly: the views the peer layer asks for, implemented over the node's storage and
//! reservoir (ARCHITECTURE.md: `peer` never reaches into sled; the node injects these), and
//! the daemon that wires them to the listener, the upstreams, the announcer and the status
//! server.
//!
//! * [`daemon`]: [`daemon::Node`], start-up and shutdown.
//! * [`datadir`]: the chain database in a data directory, for the daemon and the commands.
//! * [`views`]: the listener's chain view over the block store.
//! * [`pool`]: the listener's pool view (pushed blocks to the store, transactions to the
//!   reservoir).
//! * [`reservoir`]: the reservoir's database, the chain hooks, its rebroadcasts and thread.
//! * [`producer`]: the local chain's block producer (`--produce-blocks`).
//! * [`upstreams`]: the outbound peers, fed from the broadcast bus.
//! * [`sync`]: the seam where the connector plugs in; [`sync_progress`], its progress in the log.
//! * [`registrations`]: inbound registrations in the log.
//! * [`tip_recorder`]: the durable-tip record that shows a database which came back lower.
//! * [`status`], [`metrics`] (with [`process_metrics`]), [`http`]: what the node tells about
//!   itself, over HTTP.
//! * [`rpc`]: the node behind bitmarkd's client RPC and HTTPS API.

pub mod daemon;
pub mod datadir;
pub mod http;
pub mod metrics;
pub mod pool;
pub mod process_metrics;
pub mod producer;
pub mod registrations;
pub mod reservoir;
pub mod rpc;
pub mod status;
pub mod sync;
pub mod sync_progress;
pub mod tip_recorder;
pub mod upstreams;
pub mod views;
