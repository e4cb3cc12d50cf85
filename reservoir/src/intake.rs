//! Payloads of the peer subscription commands `assets`, `issues`, `transfer` and `proof`, with
//! bitmarkd's faults (peer/process.go). `Ok` means the peer layer should rebroadcast the
//! payload; the `Normal`-mode gate (`not available during synchronise`) is the peer layer's.

use crate::error::Result;
use crate::issues::TrackingStatus;
use crate::reservoir::Reservoir;
use crate::{MAXIMUM_NONCE_LENGTH, MINIMUM_NONCE_LENGTH};
use bitmark_record::{Fault, PayId, Transaction};

impl Reservoir {
    /// Every record in `payload`, in order (`Unpack` until the bytes run out).
    fn unpack_all(&self, payload: &[u8]) -> Result<Vec<Transaction>> {
        let mut rest = payload;
        let mut out = Vec::new();
        while !rest.is_empty() {
            let (tx, n) = Transaction::unpack(rest, self.chain.is_testing())?;
            out.push(tx);
            rest = rest.get(n..).unwrap_or_default();
        }
        Ok(out)
    }

    /// `assets`: concatenated AssetData records, cached in order (`processAssets`). Faults:
    /// `missing parameters` (empty), unpack faults, `transaction is not an asset`, caching
    /// faults (earlier assets stay cached), `no new transactions` when every asset was already
    /// cached or confirmed.
    pub fn process_assets(&self, payload: &[u8]) -> Result<()> {
        if payload.is_empty() {
            return Err(Fault::MissingParameters.into());
        }
        let mut rest = payload;
        let mut new = false;
        while !rest.is_empty() {
            let (tx, n) = Transaction::unpack(rest, self.chain.is_testing())?;
            let Transaction::AssetData(asset) = tx else { return Err(Fault::TransactionIsNotAnAsset.into()) };
            new |= self.cache_asset(&asset)?.packed.is_some();
            rest = rest.get(n..).unwrap_or_default();
        }
        if !new {
            return Err(Fault::NoNewTransactions.into());
        }
        Ok(())
    }

    /// `issues`: concatenated BitmarkIssue records stored as one group (`processIssues`).
    /// Faults: `missing parameters`, unpack faults, `transaction is not an issue`,
    /// [`Self::store_issues`]'s faults, `transaction already exists` for a duplicate.
    pub fn process_issues(&self, payload: &[u8]) -> Result<()> {
        if payload.is_empty() {
            return Err(Fault::MissingParameters.into());
        }
        let mut issues = Vec::new();
        for tx in self.unpack_all(payload)? {
            let Transaction::BitmarkIssue(issue) = tx else { return Err(Fault::TransactionIsNotAnIssue.into()) };
            issues.push(issue);
        }
        if issues.is_empty() {
            return Err(Fault::MissingParameters.into());
        }
        if self.store_issues(&issues)?.duplicate {
            return Err(Fault::TransactionAlreadyExists.into());
        }
        Ok(())
    }

    /// `transfer`: the first record of the payload (`processTransfer`). Faults: `missing
    /// parameters`, unpack faults, `transaction is not a transfer`, the store's faults,
    /// `transaction already exists` for a duplicate.
    pub fn process_transfer(&self, payload: &[u8]) -> Result<()> {
        if payload.is_empty() {
            return Err(Fault::MissingParameters.into());
        }
        let (tx, _) = Transaction::unpack(payload, self.chain.is_testing())?;
        if self.submit_transfer(tx)?.duplicate() {
            return Err(Fault::TransactionAlreadyExists.into());
        }
        Ok(())
    }

    /// `proof`: pay id (48 bytes) ‖ client nonce of 8 to 64 bytes (`processProof`). Faults:
    /// `missing parameters`, `invalid nonce` (length), `pay id already used` for anything but
    /// an accepted proof.
    pub fn process_proof(&self, payload: &[u8]) -> Result<()> {
        if payload.is_empty() {
            return Err(Fault::MissingParameters.into());
        }
        let nonce_length = payload.len().checked_sub(48);
        let Some((pay_id, nonce)) = payload
            .split_first_chunk::<48>()
            .filter(|_| nonce_length.is_some_and(|n| (MINIMUM_NONCE_LENGTH..=MAXIMUM_NONCE_LENGTH).contains(&n)))
        else {
            return Err(Fault::InvalidNonce.into());
        };
        if self.try_proof(&PayId(*pay_id), nonce)? != TrackingStatus::Accepted {
            return Err(Fault::PayIdAlreadyUsed.into());
        }
        Ok(())
    }
}
