//! The reservoir crate's integration tests, one binary (each former file a module:
//! `issues::name`, `persistence::name`...), sharing `common`'s fixture over both chain backends.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod chain;
mod common;
mod issues;
mod persistence;
mod store;
mod transfers;
