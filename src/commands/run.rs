//! `bitmark-node run`: start the node, print one JSON line when it is up, and run until
//! SIGINT or SIGTERM, then shut down cleanly within [`SHUTDOWN_LIMIT`].

use crate::config::{RunArgs, Settings};
use crate::error::{NodeError, Result};
use crate::logging;
use crate::node::daemon::Node;
use serde_json::Value;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use std::time::{Duration, Instant};
use tracing::{error, info, warn};

const TARGET: &str = "node";

/// The most a shutdown may take: past it the process exits with status 1 whatever is left.
pub const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);

/// The upstreams' share of [`SHUTDOWN_LIMIT`]: what must reach the disk (peers.json, the
/// chain) is written before they are closed, and the rest must leave time to exit.
const UPSTREAM_GRACE: Duration = Duration::from_secs(3);

/// Run the node until a signal; `ready` is called with the start-up report once it is up.
pub fn run(args: &RunArgs, ready: impl FnOnce(&Value)) -> Result<()> {
    let cwd = std::env::current_dir().map_err(|e| NodeError::io("current directory", e))?;
    let settings = Settings::load(args, &cwd)?;
    if let Some(e) = settings.unsupported() {
        return Err(e.into());
    }
    logging::init(&settings.logging)?;
    // Before anything starts, so an early signal still means a clean stop.
    let mut signals = Signals::new([SIGINT, SIGTERM]).map_err(|e| NodeError::io("signal handlers", e))?;
    let node = Node::start(&settings)?;
    ready(&node.ready_report());
    info!(target: TARGET, "running; SIGINT or SIGTERM stops");
    let signal = signals.forever().next();
    info!(target: TARGET, signal, "stopping");
    let started = Instant::now();
    std::thread::Builder::new()
        .name("shutdown-watchdog".into())
        .spawn(move || {
            // A second signal, or the time limit, ends the process at once.
            let handle = signals.handle();
            std::thread::spawn(move || {
                std::thread::sleep(SHUTDOWN_LIMIT);
                error!(target: TARGET, "shutdown took too long; exiting");
                handle.close();
                std::process::exit(1);
            });
            if signals.forever().next().is_some() {
                warn!(target: TARGET, "second signal: exiting at once");
                std::process::exit(1);
            }
        })
        .map_err(|e| NodeError::io("watchdog thread", e))?;
    let report = node.shutdown(started + UPSTREAM_GRACE);
    info!(target: TARGET, seconds = started.elapsed().as_secs_f64(), stragglers = report.stragglers, "shut down");
    if !report.flushed {
        return Err(NodeError::Io("the block store or the reservoir could not be flushed".into()));
    }
    Ok(())
}
