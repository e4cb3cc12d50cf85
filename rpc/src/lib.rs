//! bitmarkd's client RPC and HTTPS API, so that `bitmark-cli` and every Bitmark client work
//! against the node (bitmarkd's `rpc/`).
//!
//! * [`codec`]: Go's `net/rpc/jsonrpc` framing and reply shape; [`gojson`]: JSON written as
//!   Go's encoder writes it; [`args`]: arguments decoded with Go's rules and error texts.
//! * [`server`]: the services and their dispatch, over a [`backend::Backend`] the node
//!   implements; [`service`]: each method; [`limit`]: bitmarkd's rate limits.
//! * [`certificate`]: bitmarkd's PEM certificate pair (ECDSA P-521 included) or a self-signed
//!   one, and its SHA3-256 fingerprint.
//! * [`client`]: a blocking client; [`bench`]: the load and the echo reference of `bench rpc`.
//! * [`listener`]: the TLS JSON-RPC listener; [`http`]: a bounded hyper server;
//!   [`https`]: bitmarkd's `/bitmarkd/*` routes; [`runtime`]: the tokio runtime they share.

pub mod args;
pub mod backend;
pub mod bench;
pub mod certificate;
pub mod client;
pub mod codec;
pub mod gojson;
pub mod http;
pub mod https;
pub mod limit;
pub mod listener;
pub mod runtime;
pub mod server;
pub mod service;

pub use backend::Backend;
pub use certificate::Certificate;
pub use server::{Rpc, RpcOptions};

#[cfg(test)]
mod tests;
