//! bitmarkd's RPC services, one module per group of methods.

pub mod blocks;
pub mod node;
pub mod provenance;
pub mod query;
pub mod submit;
