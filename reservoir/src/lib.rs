//! The reservoir: what the network has not yet confirmed (bitmarkd's `reservoir` and `asset`
//! packages), kept so that nothing accepted is lost.
//!
//! * Unconfirmed **assets** are cached with bitmarkd's two-phase expiry ([`assets`]).
//! * **Issues** arrive in groups of up to 100 under one pay id: *free* groups wait for a proof
//!   of work ([`Reservoir::try_proof`]), *paid* groups for a payment.
//! * **Transfers** (and shares, block-owner transfers, share grants and swaps) wait for a
//!   payment; a link being spent by one held record cannot be spent by another.
//! * A [`PaymentVerifier`] decides payments; [`AutoVerify`] is bitmarkd's `auto_verify`.
//! * Pending records expire after 45 minutes; verified ones are rebroadcast every 33 min 45 s
//!   through a callback ([`Reservoir::run_due`], driven by a [`Clock`]).
//! * The block store tells the reservoir what it stored or rolled back
//!   ([`Reservoir::block_stored`], [`Reservoir::blocks_rolled_back`]); the local block producer
//!   selects verified records with [`Reservoir::fetch_verified`].
//! * Everything accepted is written to sled and flushed before the submit call returns, and
//!   reloaded on open; bitmarkd's `reservoir.cache` can be imported and exported.
//!
//! The reservoir reads the confirmed chain only through [`ConfirmedState`], the seam with the
//! storage crate: the real [`bitmark_storage::BlockStore`] implements it (`store_state.rs`), and
//! [`ChainHooks`] changes the store and tells the reservoir together; `MemoryChain` (with the
//! `test-utils` feature) implements it in memory for tests.
//!
//! Every refusal is a [`bitmark_record::Fault`] with bitmarkd's exact text, inside
//! [`ReservoirError`].

pub mod assets;
mod cache_file;
pub mod clock;
mod confirm;
mod error;
mod fetch;
mod hooks;
mod intake;
mod issues;
#[cfg(any(test, feature = "test-utils"))]
mod memory;
pub mod payment;
mod persist;
mod pool;
mod reservoir;
mod schedule;
mod state;
mod store_state;
mod transfers;

use std::time::Duration;

pub use cache_file::{ImportReport, CACHE_FILE_NAME};
#[cfg(any(test, feature = "test-utils"))]
pub use clock::ManualClock;
pub use clock::{Clock, SystemClock};
pub use error::{ReservoirError, Result, StateError};
pub use fetch::{Selection, MAXIMUM_FETCH_FREE_ISSUES, MAXIMUM_FETCH_PAID_ISSUES, MINIMUM_FETCH_TRANSACTIONS};
pub use hooks::ChainHooks;
pub use issues::{IssueInfo, TrackingStatus};
#[cfg(any(test, feature = "test-utils"))]
pub use memory::{AppendedBlock, MemoryChain};
pub use payment::{AutoVerify, PaymentAlternative, PaymentDetail, PaymentVerifier, RequirePayment};
pub use pool::GroupKind;
pub use reservoir::{
    AssetOutcome, Broadcaster, LoadReport, Options, Reservoir, Stats, TransactionState, DEFAULT_CACHE_BYTES, TREE_NAME,
};
pub use schedule::{Background, DueReport, ASSET_CHECK_INTERVAL};
pub use state::{ConfirmedState, Owned, OwnerRecord, ShareTotal, StateResult};
pub use transfers::{BalanceInfo, GrantInfo, SwapInfo, TransferInfo, TransferOutcome};

/// Most issues in one submission (`MaximumIssues`).
pub const MAXIMUM_ISSUES: usize = 100;
/// Most pending free issue records (2 × `MaximumTransactions`).
pub const MAXIMUM_PENDING_FREE_ISSUES: usize = 20_000;
/// Pending paid issue records must stay below this.
pub const MAXIMUM_PENDING_PAID_ISSUES: usize = 20_000;
/// Most pending single-record groups (16 × `MaximumTransactions`).
pub const MAXIMUM_PENDING_TRANSACTIONS: usize = 160_000;
/// How long a pending record waits for payment or proof (`ReservoirTimeout`).
pub const RESERVOIR_TIMEOUT: Duration = Duration::from_secs(45 * 60);
/// How often verified records are rebroadcast (3 × 45 min / 4).
pub const REBROADCAST_INTERVAL: Duration = Duration::from_secs(3 * 45 * 60 / 4);
/// How often pending records are checked for expiry.
pub const EXPIRATION_CHECK_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Shortest client nonce of a proof (`payment.MinimumNonceLength`).
pub const MINIMUM_NONCE_LENGTH: usize = 8;
/// Longest client nonce of a proof.
pub const MAXIMUM_NONCE_LENGTH: usize = 64;

#[cfg(test)]
mod tests;
