//! Putting records and blocks together: a record signed by its keys ([`sign_record`]) and a
//! block packed around records ([`pack_block`]). The node's block producer builds its blocks with
//! these, and so does the deterministic test-chain generator.

use crate::header::{self, BlockHeader};
use crate::{merkle, BlockDigest, Difficulty, Fault, Link, PrivateKey, Transaction};

/// Sign `tx` with `key` (and countersign with `counter`), returning the packed record.
pub fn sign_record(mut tx: Transaction, key: &PrivateKey, counter: Option<&PrivateKey>) -> Result<Vec<u8>, Fault> {
    let message = tx.signing_message()?;
    tx.set_signature(key.sign(&message)?.to_vec());
    if let Some(counter) = counter {
        let message = tx.countersigning_message()?;
        tx.set_countersignature(counter.sign(&message)?.to_vec())?;
    }
    tx.pack_unverified()
}

/// A packed block of `records` on top of `previous`: a current-version header with the merkle
/// root of the records' tx ids and `number` as its nonce (no proof of work: the caller either
/// needs none, as on chain `local`, or searches the nonce itself).
pub fn pack_block(
    number: u64,
    previous: BlockDigest,
    timestamp: u64,
    difficulty: Difficulty,
    records: &[Vec<u8>],
) -> Result<Vec<u8>, Fault> {
    let ids: Vec<Link> = records.iter().map(|r| Link::of(r)).collect();
    let header = BlockHeader {
        version: header::VERSION,
        transaction_count: u16::try_from(records.len()).map_err(|_| Fault::TransactionCountOutOfRange)?,
        number,
        previous_block: previous,
        merkle_root: merkle::root(&ids),
        timestamp,
        difficulty,
        nonce: number,
    };
    let mut block = header.pack().to_vec();
    for r in records {
        block.extend_from_slice(r);
    }
    Ok(block)
}
