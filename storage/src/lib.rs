//! Chain storage in sled with bitmarkd's exact pools (`docs/reservoir.md#pools`).
//!
//! * [`pool`]: the one-byte prefixes and key layouts; keys are built nowhere else.
//! * [`Pools`] (committed state) and [`WriteSet`] (one block's writes, committed as one atomic
//!   sled batch), both read through the typed [`PoolRead`] trait.
//! * [`OwnerData`], [`NbValue`], [`ShareTotal`]: the stored value formats.
//! * Ownership primitives on [`WriteSet`] (create, transfer, share, remove).
//! * [`ChainDb`]: opening the database and its version key; [`Tip`] and [`DigestCache`].
//! * [`tip_record`]: the durable tip recorded outside sled, to notice a database that came
//!   back lower.

mod apply;
#[cfg(any(test, feature = "testchain"))]
pub mod chain_cache;
mod check;
pub mod db;
pub mod digest_pool;
pub mod error;
pub mod nb;
pub mod owner_data;
mod ownership;
pub mod pool;
pub mod pools;
pub mod read;
mod rollback;
mod startup;
pub mod store;
#[cfg(any(test, feature = "testchain"))]
pub mod testchain;
pub mod tip;
pub mod tip_record;

pub use apply::{Applied, ApplyMany};
pub use check::{CheckOptions, CheckReport};
pub use db::{database_path, ChainDb, OpenOptions, DATABASE_VERSION};
pub use digest_pool::DigestPool;
pub use error::{Result, StorageError};
pub use nb::NbValue;
pub use owner_data::{Owned, OwnerData};
pub use pool::Pool;
pub use pools::{Durability, Pools, WriteSet};
pub use read::{PoolRead, ShareTotal};
pub use rollback::{UndoneBlock, UndoneRecord};
pub use store::{BlockStore, StoreOptions};
pub use tip::{DigestCache, Tip};
pub use tip_record::{tip_record_path, Lowered, RecordedTip};
