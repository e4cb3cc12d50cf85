//! The reservoir crate's integration tests, one binary (each former file a module:
//! `issues::name`, `persistence::name`...), sharing `common`'s fixture over both chain backends.

mod chain;
mod common;
mod issues;
mod persistence;
mod store;
mod transfers;
