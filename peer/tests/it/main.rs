//! The peer crate's integration tests, one binary (each former file a module, so a test is
//! `hostile::name`, `upstream::name`...): the listener and upstreams over real CURVE sockets.
//! `reply_bound.rs` stays a binary of its own: it measures this process's resident memory, which
//! tests running beside it in one process would disturb.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod capture_tap;
mod common;
mod dns_bootstrap;
mod hostile;
mod protocol;
mod three_nodes;
mod upstream;
mod zmq_robustness;
