//! Signed records to load a node with, for the benches (`bench reservoir`, `bench memory`,
//! `bench soak`) and the crash-loop test: assets, free issues with their proofs of work, paid
//! issues. Everything is deterministic in its inputs, so a run can be repeated.
//!
//! Free issues (nonce 0) must each have a different owner (the record is the asset, the owner
//! and the nonce: two free issues of one owner are the same transaction), so owners are made
//! from an index ([`owner`]). On the `local` and `testing` chains paid issues (nonce ≠ 0) of a
//! confirmed asset are verified at once (bitmarkd's `auto_verify`), so a block producer
//! confirms them without any proof.

use bitmark_record::assemble::sign_record;
use bitmark_record::pay::{pay_nonce_height, proof_digest, proof_meets, scaled_difficulty};
use bitmark_record::transaction::{AssetData, BitmarkIssue};
use bitmark_record::{genesis, AssetId, BlockDigest, Chain, Fault, PayId, PayNonce, PrivateKey};

/// A test-network Ed25519 key made from `index` (and `salt`, to keep the owners of different
/// runs apart): the same inputs, the same key.
pub fn owner(salt: u64, index: u64) -> PrivateKey {
    let mut seed = [0u8; 32];
    seed[..8].copy_from_slice(&salt.to_le_bytes());
    seed[8..16].copy_from_slice(&index.to_le_bytes());
    seed[16..24].copy_from_slice(b"workload");
    PrivateKey::from_ed25519_seed(seed, true)
}

/// An asset registered and signed by `registrant`: its id and packed record.
pub fn asset(registrant: &PrivateKey, fingerprint: &str) -> Result<(AssetId, Vec<u8>), Fault> {
    let account = registrant.account().ok_or(Fault::InvalidPublicKey)?;
    let asset = AssetData {
        name: "workload".into(),
        fingerprint: fingerprint.into(),
        metadata: "".into(),
        registrant: account,
        signature: Vec::new(),
    };
    let id = asset.asset_id();
    Ok((id, sign_record(asset.into(), registrant, None)?))
}

/// An issue of `asset_id` to `owner`, signed by it: free when `nonce` is 0, paid otherwise.
pub fn issue(asset_id: AssetId, owner: &PrivateKey, nonce: u64) -> Result<Vec<u8>, Fault> {
    let account = owner.account().ok_or(Fault::InvalidPublicKey)?;
    let issue = BitmarkIssue { asset_id, owner: account, nonce, signature: Vec::new() };
    sign_record(issue.into(), owner, None)
}

/// The pay nonce a node at `height` asks free issues to be proven against (bitmarkd's
/// `PayNonce`): the genesis digest's below height 256, else the digest of block
/// [`pay_nonce_height`], which `digest_of` reads (from the node, as a client would).
pub fn pay_nonce(chain: Chain, height: u64, digest_of: impl FnOnce(u64) -> Option<BlockDigest>) -> Option<PayNonce> {
    match pay_nonce_height(height) {
        1 => Some(PayNonce::from_digest(&genesis::digest(chain))),
        n => digest_of(n).map(|d| PayNonce::from_digest(&d)),
    }
}

/// The `proof` push payload for the free issues `packed` (their pay id, then a client nonce
/// whose proof digest meets the difficulty of that many issues). Cheap on `local`/`testing`.
pub fn proof<R: AsRef<[u8]>>(chain: Chain, packed: &[R], nonce: &PayNonce) -> Vec<u8> {
    let pay_id = PayId::new(packed);
    let difficulty = scaled_difficulty(packed.len(), chain);
    let client = (0u64..)
        .map(u64::to_le_bytes)
        .find(|n| proof_meets(&proof_digest(&pay_id, nonce, n), &difficulty))
        .unwrap_or_default();
    let mut payload = pay_id.0.to_vec();
    payload.extend_from_slice(&client);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_record::Transaction;

    #[test]
    fn records_are_valid_and_deterministic() {
        assert_eq!(owner(1, 2).to_bytes(), owner(1, 2).to_bytes());
        assert_ne!(owner(1, 2).to_bytes(), owner(2, 2).to_bytes());
        let (id, packed) = asset(&owner(0, 0), "fp").unwrap();
        let (Transaction::AssetData(a), _) = Transaction::unpack(&packed, true).unwrap() else { panic!() };
        assert_eq!(a.asset_id(), id);
        let free = issue(id, &owner(0, 1), 0).unwrap();
        let (Transaction::BitmarkIssue(i), _) = Transaction::unpack(&free, true).unwrap() else { panic!() };
        assert_eq!((i.asset_id, i.nonce), (id, 0));
        let nonce = pay_nonce(Chain::Local, 3, |_| None).unwrap();
        assert_eq!(pay_nonce(Chain::Local, 400, |_| None), None, "needs a digest read above 256");
        let payload = proof(Chain::Local, &[&free], &nonce);
        assert_eq!(payload[..48], PayId::new([&free]).0);
    }
}
