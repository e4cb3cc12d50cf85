//! bitmarkd's chain formats, byte for byte: varint64, base58, accounts and keys, the ten
//! transaction record types, block headers and their Argon2d digests, merkle trees, difficulty,
//! pay ids and pay nonces, the genesis blocks. Pure: no I/O, no clocks (callers pass `now`).
//!
//! Every error is a [`Fault`] carrying bitmarkd's exact text, because these texts travel on the
//! wire to Go peers and RPC clients.

pub mod account;
pub mod asset_id;
pub mod base58;
pub mod chain;
pub mod currency;
pub mod digest;
pub mod fault;
pub mod text;
pub mod transaction;
pub mod varint;

pub use account::{Account, Algorithm};
pub use asset_id::AssetId;
pub use chain::Chain;
pub use currency::{Currency, CurrencyMap};
pub use digest::{BlockDigest, Link};
pub use fault::Fault;
pub use text::Text;
pub use transaction::{Tag, Transaction};
