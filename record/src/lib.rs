//! bitmarkd's chain formats, byte for byte: varint64, base58, accounts and keys, the ten
//! transaction record types, block headers and their Argon2d digests, merkle trees, difficulty,
//! pay ids and pay nonces, the genesis blocks. Pure: no I/O, no clocks (callers pass `now`).
//!
//! Every error is a [`Fault`] carrying bitmarkd's exact text, because these texts travel on the
//! wire to Go peers and RPC clients.

pub mod account;
pub mod assemble;
pub mod asset_id;
pub mod base58;
pub mod block;
pub mod blockdigest;
pub mod chain;
pub mod currency;
pub mod difficulty;
pub mod digest;
pub mod fault;
pub mod genesis;
pub mod header;
mod key_encoding;
pub mod merkle;
pub mod pay;
pub mod phrase;
pub mod private_key;
pub mod seed;
pub mod text;
pub mod transaction;
pub mod varint;

pub use account::{Account, Algorithm, SignatureChecker};
pub use asset_id::AssetId;
pub use chain::Chain;
pub use currency::{Currency, CurrencyMap};
pub use difficulty::Difficulty;
pub use digest::{BlockDigest, Link};
pub use fault::Fault;
pub use header::BlockHeader;
pub use pay::{PayId, PayNonce};
pub use private_key::PrivateKey;
pub use seed::Seed;
pub use text::Text;
pub use transaction::{Tag, Transaction};
