//! The storage crate's integration tests, one binary (each former file a module:
//! `crash::name`, `faults::name`, `roundtrip::name`), sharing `common`.

mod common;
mod crash;
mod faults;
mod roundtrip;
