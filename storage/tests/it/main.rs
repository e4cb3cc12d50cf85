//! The storage crate's integration tests, one binary (each former file a module:
//! `crash::name`, `faults::name`, `roundtrip::name`), sharing `common`.

// Test code: a failed unwrap, expect, index or panic is a failed test (docs/testing.md#lints).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

mod common;
mod crash;
mod faults;
mod roundtrip;
