//! One module per CLI command.

pub mod bench;
pub mod capture;
pub mod check;
pub mod child_node;
pub mod decode;
pub mod encode;
pub mod keygen;
pub mod links;
pub mod replay;
pub mod reservoir_cache;
pub mod run;
pub mod testchain;
pub mod testnet;
