//! `Bitmark.Provenance` and `Bitmark.FullProvenance` (rpc/bitmark/bitmark.go): the history of
//! a bitmark, walked back through the confirmed records' links to its issue and asset.

use crate::args::Args;
use crate::backend::Backend;
use crate::server::{blocking, fault, Outcome, Rpc};
use bitmark_record::{Fault, Link, Transaction};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Most records of one `Bitmark.Provenance`.
const MAXIMUM_PROVENANCE_COUNT: usize = 100;

/// Most records of one `Bitmark.FullProvenance` (bitmarkd's walk has no bound; its buffer is
/// sized for 10 000).
const MAXIMUM_FULL_PROVENANCE: usize = 10_000;

/// The two reply shapes: `isOwner` and `metadata` are `omitempty` in the full one only.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    Provenance,
    Full,
}

/// One entry, with bitmarkd's field order (`record, isOwner, txId, inBlock, assetId, data`
/// and `metadata` for the full shape).
fn entry(
    shape: Shape,
    tx: &Transaction,
    is_owner: bool,
    tx_id: Option<Link>,
    in_block: u64,
    asset: Option<Value>,
) -> Value {
    let mut m = Map::new();
    m.insert("record".into(), json!(tx.record_name()));
    if shape == Shape::Provenance || is_owner {
        m.insert("isOwner".into(), json!(is_owner));
    }
    if let Some(id) = tx_id {
        m.insert("txId".into(), json!(id.raw_hex()));
    }
    m.insert("inBlock".into(), json!(in_block.to_string()));
    if let Some(asset_id) = asset {
        m.insert("assetId".into(), asset_id);
    }
    m.insert("data".into(), json!(tx));
    if let (Shape::Full, Transaction::AssetData(a)) = (shape, tx) {
        let text = a.metadata.to_string_lossy();
        let parts: Vec<&str> = text.split('\u{0}').collect();
        let map: BTreeMap<&str, &str> = parts.chunks_exact(2).filter_map(|p| Some((*p.first()?, *p.get(1)?))).collect();
        if !map.is_empty() {
            m.insert("metadata".into(), json!(map));
        }
    }
    Value::Object(m)
}

/// Walk from `id` back to the issue, at most `count` records (bitmarkd's loop).
fn walk(backend: &dyn Backend, mut id: Link, count: usize, shape: Shape) -> Result<Vec<Value>, Fault> {
    let testnet = backend.chain().is_testing();
    let mut out = Vec::new();
    for i in 0..count {
        let Some((in_block, packed)) = backend.transaction(&id)? else { break };
        let Ok((tx, _)) = Transaction::unpack(&packed, testnet) else { break };
        let owns = |owner: &bitmark_record::Account| -> Result<bool, Fault> {
            if i == 0 {
                backend.currently_owns(owner, &id)
            } else {
                Ok(false)
            }
        };
        match &tx {
            Transaction::BaseData(r) => {
                out.push(entry(shape, &tx, owns(&r.owner)?, Some(id), in_block, None));
                break;
            }
            Transaction::BlockFoundation(r) => {
                out.push(entry(shape, &tx, owns(&r.owner)?, Some(id), in_block, None));
                break;
            }
            Transaction::BitmarkIssue(r) => {
                out.push(entry(shape, &tx, owns(&r.owner)?, Some(id), in_block, None));
                let Some((asset_block, packed_asset)) = backend.asset(&r.asset_id)? else { break };
                let Ok((asset, _)) = Transaction::unpack(&packed_asset, testnet) else { break };
                out.push(entry(shape, &asset, false, None, asset_block, Some(json!(r.asset_id))));
                break;
            }
            Transaction::BitmarkTransferUnratified(r) => {
                out.push(entry(shape, &tx, owns(&r.owner)?, Some(id), in_block, None));
                id = r.link;
            }
            Transaction::BitmarkTransferCountersigned(r) => {
                out.push(entry(shape, &tx, owns(&r.owner)?, Some(id), in_block, None));
                id = r.link;
            }
            Transaction::BlockOwnerTransfer(r) => {
                out.push(entry(shape, &tx, owns(&r.owner)?, Some(id), in_block, None));
                id = r.link;
            }
            Transaction::BitmarkShare(r) => {
                // A share ends a provenance chain, so its holder always "owns" it.
                out.push(entry(shape, &tx, true, Some(id), in_block, None));
                id = r.link;
            }
            _ => break,
        }
    }
    Ok(out)
}

/// `Bitmark.Provenance {txId, count}`.
pub async fn provenance(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "bitmark.ProvenanceArguments")?;
    let tx_id = a.text("txId", "merkle.Digest", Link::from_raw_hex)?.unwrap_or_default();
    let count = a.int("count")?;
    rpc.limits.bitmark.limit_n(count, MAXIMUM_PROVENANCE_COUNT).await.map_err(fault)?;
    let count = usize::try_from(count).unwrap_or(0);
    let backend = Arc::clone(&rpc.backend);
    let data = blocking(move || walk(&*backend, tx_id, count, Shape::Provenance).map_err(fault)).await?;
    Ok(json!({"data": data}))
}

/// `Bitmark.FullProvenance {bitmarkId}`: the whole history of the bitmark issued as
/// `bitmarkId`, from whoever holds it now.
pub async fn full_provenance(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "bitmark.FullProvenanceArguments")?;
    let bitmark_id = a.text("bitmarkId", "merkle.Digest", Link::from_raw_hex)?.unwrap_or_default();
    rpc.limits.bitmark.limit_n(1, 1).await.map_err(fault)?;
    let backend = Arc::clone(&rpc.backend);
    let data = blocking(move || {
        let start = backend.holder_of_issue(&bitmark_id).map_err(fault)?;
        let start = start.ok_or_else(|| fault(Fault::TransactionIsNotAnIssue))?;
        walk(&*backend, start, MAXIMUM_FULL_PROVENANCE, Shape::Full).map_err(fault)
    })
    .await?;
    Ok(json!({"data": data}))
}
