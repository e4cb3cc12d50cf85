//! `bitmark-node replay`: re-run a capture's inbound requests against a node state opened from
//! a data directory, or a live node over CURVE, and compare every reply
//! ([`crate::capture::replay`]).

use crate::capture::replay::{self, LiveNode, LocalNode, ReplayOptions, ReplayReport, Target};
use crate::error::{NodeError, Result};
use std::path::{Path, PathBuf};

/// Where to replay.
#[derive(Clone, Debug)]
pub enum Against {
    /// A node state opened from this data directory (pushes change it).
    DataDir(PathBuf),
    /// A live node at `tcp://HOST:PORT` whose `peer.public` is the file given.
    Live {
        /// `tcp://HOST:PORT`.
        target: String,
        /// Its public key file.
        server_key: PathBuf,
    },
}

/// Replay `files` (one session's files, oldest first) against `against`.
pub fn run(files: &[PathBuf], against: &Against, options: &ReplayOptions) -> Result<ReplayReport> {
    let first = files.first().ok_or_else(|| NodeError::Input("no capture file given".into()))?;
    let header = replay::first_header(first)?;
    let mut target: Box<dyn Target> = match against {
        Against::DataDir(dir) => Box::new(LocalNode::open(dir, &header)?),
        Against::Live { target, server_key } => Box::new(LiveNode::connect(target, Path::new(server_key), &header)?),
    };
    replay::replay(files, target.as_mut(), options)
}
