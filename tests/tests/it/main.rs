//! The end-to-end tests over the real binary, one test binary (each former file a module:
//! `daemon::name`, `hostile::name`, `crash_loop::name`...); what they share is `tests/lib.rs`.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod bench;
mod capture;
mod cli;
mod conventions;
mod crash_loop;
mod daemon;
mod data_safety;
mod docs;
mod docs_links;
mod hostile;
mod links;
mod migration;
mod network;
mod peering_status;
mod produce;
mod reservoir_cache;
mod rpc;
mod serve_chain;
mod sync;
mod testnet;
