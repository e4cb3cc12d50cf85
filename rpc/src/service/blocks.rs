//! `Node.BlockDump`, `Node.BlockDumpRange` and `Node.BlockDecode` (rpc/node/node.go,
//! blockdump/dump.go): a block's digest, header, optionally its records, and its bytes.
//!
//! As bitmarkd: the digest is the stored one for the header's block number when the chain has
//! one, else computed (Argon2d: at most one at a time here, see [`crate::server`]); `binary`
//! in the arguments asks for the decoded records (bitmarkd's name), the packed block is always
//! in the reply's `binary` (base64). A block with more records than its header counts is
//! refused (`transaction count out of range`; bitmarkd would index out of range); fewer leaves
//! zero-valued entries, as bitmarkd's preallocated slice does.

use crate::args::Args;
use crate::backend::Backend;
use crate::server::{blocking, fault, Outcome, Rpc};
use base64::Engine as _;
use bitmark_record::header::{self, DigestSource};
use bitmark_record::{Fault, Link, Transaction};
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Most blocks of one `Node.BlockDumpRange`.
const MAXIMUM_RANGE: i64 = 100;

fn now_unix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// bitmarkd's `blockResult` for a packed block.
pub fn decode_block(backend: &dyn Backend, packed: &[u8], decode_txs: bool) -> Result<Value, Fault> {
    let stored = |number: u64| backend.block_digest(number).ok().flatten();
    let (header, digest, mut data) = header::extract(packed, 0, DigestSource::Stored(&stored), now_unix())?;
    let mut result = Map::new();
    result.insert("digest".into(), json!(digest.raw_hex()));
    result.insert("header".into(), serde_json::to_value(header).map_err(|_| Fault::InvalidBlockHeaderSize)?);
    if decode_txs {
        let testnet = backend.chain().is_testing();
        let count = usize::from(header.transaction_count);
        let mut items = vec![json!({"index": 0, "txId": Link::default(), "type": "", "data": null}); count];
        let mut index = 0;
        loop {
            let (tx, n) = Transaction::unpack(data, testnet)?;
            let slot = items.get_mut(index).ok_or(Fault::TransactionCountOutOfRange)?;
            let packed_tx = data.get(..n).unwrap_or_default();
            *slot = json!({
                "index": index + 1,
                "txId": Link::of(packed_tx).raw_hex(),
                "type": tx.record_name(),
                "data": tx,
            });
            index += 1;
            data = data.get(n..).unwrap_or_default();
            if data.is_empty() {
                break;
            }
        }
        if !items.is_empty() {
            result.insert("transactions".into(), Value::Array(items));
        }
    }
    if !packed.is_empty() {
        result.insert("binary".into(), json!(base64::engine::general_purpose::STANDARD.encode(packed)));
    }
    Ok(Value::Object(result))
}

/// Stored block `number`, or `block not found`.
pub(crate) fn stored_block(backend: &dyn Backend, number: u64) -> Result<Vec<u8>, String> {
    backend.block(number).map_err(fault)?.ok_or_else(|| fault(Fault::BlockNotFound))
}

/// Dump stored block `number`, on the blocking pool.
async fn dump_one(rpc: &Arc<Rpc>, number: u64, decode_txs: bool) -> Result<Value, String> {
    let backend = Arc::clone(&rpc.backend);
    let _permit = rpc.digests.acquire().await.map_err(|e| e.to_string())?;
    blocking(move || decode_block(&*backend, &stored_block(&*backend, number)?, decode_txs).map_err(fault)).await
}

/// `Node.BlockDump {height, binary}`.
pub async fn dump(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "node.BlockDumpArguments")?;
    let (height, decode_txs) = (a.uint_string("height")?, a.bool("binary")?);
    rpc.limits.node.limit().await.map_err(fault)?;
    Ok(json!({"block": dump_one(rpc, height, decode_txs).await?}))
}

/// `Node.BlockDumpRange {height, count, txs}`: 1 to 100 blocks from `height`.
pub async fn dump_range(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "node.BlockDumpRangeArguments")?;
    let (height, count, txs) = (a.uint_string("height")?, a.int("count")?, a.bool("txs")?);
    rpc.limits.node.limit().await.map_err(fault)?;
    let count = count.clamp(1, MAXIMUM_RANGE) as u64;
    let mut blocks = Vec::new();
    for number in height..height.saturating_add(count) {
        blocks.push(dump_one(rpc, number, txs).await?);
    }
    Ok(json!({"blocks": blocks}))
}

/// `Node.BlockDecode {packed}`: decode a block given as base64, records included.
pub async fn decode(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "node.BlockDecodeArguments")?;
    let packed = a.bytes("packed")?;
    rpc.limits.node.limit().await.map_err(fault)?;
    let backend = Arc::clone(&rpc.backend);
    let _permit = rpc.digests.acquire().await.map_err(|e| e.to_string())?;
    let block = blocking(move || decode_block(&*backend, &packed, true).map_err(fault)).await?;
    Ok(json!({"block": block}))
}
