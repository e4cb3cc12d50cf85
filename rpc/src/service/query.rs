//! Read methods: `Transaction.Status`, `Assets.Get`, `Owner.Bitmarks`,
//! `BlockOwner.TxIDForBlock` (rpc/transaction, rpc/assets, rpc/owner, rpc/blockowner).

use crate::args::Args;
use crate::backend::OwnedEntry;
use crate::server::{blocking, fault, reservoir_text, Outcome, Rpc};
use bitmark_record::header::{self, DigestSource};
use bitmark_record::{Account, AssetId, Fault, Link, Transaction};
use bitmark_reservoir::Owned;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Most fingerprints of one `Assets.Get`.
const MAXIMUM_ASSETS: usize = 100;
/// Most items of one `Owner.Bitmarks` (also `Share.Balance`'s cap).
pub const MAXIMUM_BITMARKS_COUNT: usize = 100;

/// `Transaction.Status {txId}`: `Pending`, `Verified`, `Confirmed` or `Unknown`.
pub async fn transaction_status(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "transaction.Arguments")?;
    let tx_id = a.text("txId", "merkle.Digest", Link::from_raw_hex)?.unwrap_or_default();
    rpc.limits.transaction.limit().await.map_err(fault)?;
    let backend = Arc::clone(&rpc.backend);
    let state =
        blocking(move || backend.reservoir().transaction_status(&tx_id).map_err(reservoir_text(backend.reservoir())))
            .await?;
    Ok(json!({"status": state.as_str()}))
}

/// `Assets.Get {fingerprints}`: each asset, confirmed or cached; an unknown one leaves an empty
/// entry in its place (bitmarkd's zero record).
pub async fn assets_get(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "assets.GetArguments")?;
    let fingerprints = a.strings("fingerprints")?;
    rpc.limits.assets.limit_n(fingerprints.len() as i64, MAXIMUM_ASSETS).await.map_err(fault)?;
    rpc.normal()?;
    let backend = Arc::clone(&rpc.backend);
    let assets = blocking(move || {
        let testnet = backend.chain().is_testing();
        let mut out = Vec::with_capacity(fingerprints.len());
        for fingerprint in &fingerprints {
            let asset_id = AssetId::from_fingerprint(fingerprint);
            let (confirmed, packed) = match backend.asset(&asset_id).map_err(fault)? {
                Some((_, packed)) => (true, Some(packed)),
                None => (false, backend.reservoir().cached_asset(&asset_id)),
            };
            let record = packed
                .and_then(|p| Transaction::unpack(&p, testnet).ok())
                .map(|(tx, _)| json!({"record": tx.record_name(), "confirmed": confirmed, "id": asset_id, "data": tx}));
            out.push(record.unwrap_or_else(|| json!({"record": "", "confirmed": false, "data": null})));
        }
        Ok(out)
    })
    .await?;
    Ok(json!({"assets": assets}))
}

/// One ownership record (`ownership.Record`): `n` as a string, the item's kind, and its asset
/// id or block number.
fn ownership_record(e: &OwnedEntry) -> Value {
    let mut m = Map::new();
    m.insert("n".into(), json!(e.n.to_string()));
    m.insert("txId".into(), json!(e.tx_id.raw_hex()));
    m.insert("issue".into(), json!(e.data.issue_tx_id.raw_hex()));
    match e.data.owned {
        Owned::Asset(id) => {
            m.insert("item".into(), json!("Asset"));
            m.insert("assetId".into(), json!(id));
        }
        Owned::Block => {
            m.insert("item".into(), json!("Block"));
            m.insert("blockNumber".into(), json!(e.data.issue_block));
        }
        Owned::Share(id) => {
            m.insert("item".into(), json!("Share"));
            m.insert("assetId".into(), json!(id));
        }
    }
    Value::Object(m)
}

/// `Owner.Bitmarks {owner, Start, count}`: a page of what `owner` holds, the records it holds
/// them under and their issues and assets (`tx`, keyed by tx id or asset id), and where the
/// next page starts (`next`; 0 when the page was empty).
pub async fn owner_bitmarks(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "owner.BitmarksArguments")?;
    let owner = a.text("owner", "account.Account", Account::from_base58)?;
    let (start, count) = (a.uint_string("Start")?, a.int("count")?);
    rpc.limits.owner.limit_n(count, MAXIMUM_BITMARKS_COUNT).await.map_err(fault)?;
    let owner = owner.ok_or_else(|| fault(Fault::InvalidItem))?;
    let count = usize::try_from(count).unwrap_or(0);
    let backend = Arc::clone(&rpc.backend);
    blocking(move || {
        let testnet = backend.chain().is_testing();
        let owned = backend.owned(&owner, start, count).map_err(fault)?;
        let mut tx_ids = BTreeSet::new();
        let mut asset_ids = BTreeSet::new();
        for e in &owned {
            tx_ids.insert(e.tx_id);
            tx_ids.insert(e.data.issue_tx_id);
            if let Owned::Asset(id) | Owned::Share(id) = e.data.owned {
                asset_ids.insert(id.to_hex());
            }
        }
        let mut records = BTreeMap::new();
        for tx_id in tx_ids {
            let (in_block, packed) = backend
                .transaction(&tx_id)
                .map_err(fault)?
                .ok_or_else(|| fault(Fault::LinkToInvalidOrUnconfirmedTransaction))?;
            let (tx, _) = Transaction::unpack(&packed, testnet).map_err(fault)?;
            records.insert(
                tx_id.raw_hex(),
                json!({"record": tx.record_name(), "txId": tx_id.raw_hex(), "inBlock": in_block, "data": tx}),
            );
        }
        for text in asset_ids {
            let asset_id = AssetId::from_text(&text).map_err(fault)?;
            if asset_id.as_bytes().iter().all(|b| *b == 0) {
                records.insert(text, json!({"record": "Block", "inBlock": 0, "data": {"number": 0}}));
                continue;
            }
            let (in_block, packed) =
                backend.asset(&asset_id).map_err(fault)?.ok_or_else(|| fault(Fault::AssetNotFound))?;
            let (tx, _) = Transaction::unpack(&packed, testnet).map_err(fault)?;
            records.insert(
                text,
                json!({"record": tx.record_name(), "inBlock": in_block, "assetId": asset_id, "data": tx}),
            );
        }
        let next = owned.last().map_or(0, |e| e.n);
        let next = if next == 0 { 0 } else { next + 1 };
        Ok(json!({
            "next": next.to_string(),
            "data": owned.iter().map(ownership_record).collect::<Vec<_>>(),
            "tx": records,
        }))
    })
    .await
}

/// `BlockOwner.TxIDForBlock {blockNumber}`: the tx id of block `blockNumber`'s foundation,
/// which a `BlockOwner.Transfer` links to.
pub async fn tx_id_for_block(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "blockowner.TxIDForBlockArguments")?;
    let number = a.uint("blockNumber")?;
    rpc.limits.block_owner.limit().await.map_err(fault)?;
    let backend = Arc::clone(&rpc.backend);
    let _permit = rpc.digests.acquire().await.map_err(|e| e.to_string())?;
    blocking(move || {
        let packed = crate::service::blocks::stored_block(&*backend, number)?;
        let stored = |n: u64| backend.block_digest(n).ok().flatten();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let (header, digest, _) = header::extract(&packed, 0, DigestSource::Stored(&stored), now).map_err(fault)?;
        Ok(json!({"txId": header::foundation_tx_id(header.number, &digest).raw_hex()}))
    })
    .await
}
