//! `bitmark-node`: the node daemon and its command-line tools, assembled from the `bitmark-*`
//! crates. The binary (`main.rs`) only parses arguments and prints; everything it does lives here
//! so tests can call it directly.

pub mod commands;
pub mod config;
pub mod error;
pub mod keyfile;
pub mod lock;
pub mod logging;
pub mod migrate;
pub mod node;
pub mod progress;
pub mod workload;
