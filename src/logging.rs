//! Log output: `tracing` events to stderr, filtered by `RUST_LOG` (default `info`), in a human
//! format (coloured on a terminal) or as one JSON object per line. stdout is left to the
//! commands' JSON results.

use std::io::IsTerminal;
use tracing_subscriber::EnvFilter;

/// The filter when `RUST_LOG` is unset or invalid.
pub const DEFAULT_FILTER: &str = "info";

/// Install the global subscriber; `json` picks JSON lines. A second call does nothing.
pub fn init(json: bool) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = if json {
        builder.json().with_current_span(false).try_init()
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).try_init()
    };
    // Already installed (tests starting several nodes in one process): keep the first.
    drop(result);
}
