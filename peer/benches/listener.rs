//! `cargo bench -p bitmark-peer --bench listener [-- CLIENTS SECONDS]`: listener requests/s
//! with concurrent CURVE clients beside a bare libzmq CURVE echo server, in the same run
//! (defaults: 16 clients, 5 s each). A thin wrapper over `bitmark_peer::bench::listener`,
//! which the node's `bench listener` command calls too. Not criterion: the figure wanted is a
//! throughput and a ratio between two servers measured together, not a per-iteration time.

// Benchmark code, not product: a failed unwrap, expect, index or panic aborts the run
// (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use std::time::Duration;

fn main() {
    // cargo passes `--bench`; numbers are ours.
    let numbers: Vec<u64> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let clients = numbers.first().copied().unwrap_or(16) as usize;
    let seconds = numbers.get(1).copied().unwrap_or(5);
    match bitmark_peer::bench::listener(clients, Duration::from_secs(seconds)) {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("listener bench failed: {e}");
            std::process::exit(1);
        }
    }
}
