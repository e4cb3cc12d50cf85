//! Write methods: `Bitmarks.Create`, `Bitmarks.Proof`, `Bitmark.Transfer`,
//! `BlockOwner.Transfer`, `Share.Create`, `Share.Grant`, `Share.Swap`, and `Share.Balance`
//! (rpc/bitmarks, rpc/bitmark, rpc/blockowner, rpc/share).
//!
//! Records go to the reservoir through the same calls pushed records reach (`cache_asset`,
//! `store_issues`, `store_transfer`, `store_grant`, `store_swap`, `try_proof`), which check
//! them with bitmarkd's rules and flush before answering; what is new is broadcast to the
//! upstreams as bitmarkd's RPC does (`issues` with its legacy `[0x00]` frame, the proof before
//! it is tried).

use crate::args::Args;
use crate::backend::Backend;
use crate::server::{blocking, fault, reservoir_text, Outcome, Rpc};
use crate::service::query::MAXIMUM_BITMARKS_COUNT;
use bitmark_record::transaction::{AssetData, BitmarkIssue, BitmarkTransferUnratified};
use bitmark_record::{Account, Fault, Link, PayId, Transaction};
use bitmark_reservoir::{GrantInfo, PaymentAlternative, Reservoir, ReservoirError, SwapInfo, TrackingStatus};
use bitmark_reservoir::{TransferInfo, MAXIMUM_ISSUES};
use bitmark_reservoir::{MAXIMUM_NONCE_LENGTH, MINIMUM_NONCE_LENGTH};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// `payments`: one alternative per currency, keyed by the currency's symbol (a Go map: sorted).
fn payments(alternatives: &[PaymentAlternative]) -> Value {
    let map: BTreeMap<String, &PaymentAlternative> = alternatives
        .iter()
        .filter_map(|alt| {
            let currency = serde_json::to_value(alt.first()?.currency).ok()?;
            Some((currency.as_str()?.to_string(), alt))
        })
        .collect();
    json!(map)
}

/// A record argument from its JSON (Go's struct decoding, bitmarkd's field faults).
fn record(name: &str, value: &Value) -> Result<Transaction, String> {
    Transaction::from_json(name, value).map_err(fault)
}

/// An account field is present (Go's non-nil pointer).
fn has(value: Option<&Value>, field: &str) -> bool {
    value.and_then(|v| v.as_object()).and_then(|m| crate::codec::field(m, field)).is_some_and(|v| !v.is_null())
}

/// `wrong network for public key` unless `account` belongs to the node's chain.
fn network(backend: &dyn Backend, account: &Account) -> Result<(), String> {
    if account.is_testnet() != backend.chain().is_testing() {
        return Err(fault(Fault::WrongNetworkForPublicKey));
    }
    Ok(())
}

/// `Bitmarks.Create {assets, issues}`.
pub async fn bitmarks_create(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "bitmarks.CreateArguments")?;
    let asset_values = a.objects("assets", "[]*transactionrecord.AssetData")?;
    let issue_values = a.objects("issues", "[]*transactionrecord.BitmarkIssue")?;
    let mut assets = Vec::with_capacity(asset_values.len().min(MAXIMUM_ISSUES + 1));
    for v in asset_values.iter().take(MAXIMUM_ISSUES + 1) {
        match record("AssetData", v)? {
            Transaction::AssetData(asset) => assets.push(asset),
            _ => return Err(fault(Fault::InvalidItem)),
        }
    }
    let mut issues = Vec::with_capacity(issue_values.len().min(MAXIMUM_ISSUES + 1));
    for v in issue_values.iter().take(MAXIMUM_ISSUES + 1) {
        match record("BitmarkIssue", v)? {
            Transaction::BitmarkIssue(issue) => issues.push(issue),
            _ => return Err(fault(Fault::InvalidItem)),
        }
    }
    rpc.writable()?;
    if asset_values.len() > MAXIMUM_ISSUES || issue_values.len() > MAXIMUM_ISSUES {
        return Err(fault(Fault::TooManyItemsToProcess));
    }
    if assets.is_empty() && issues.is_empty() {
        return Err(fault(Fault::MissingParameters));
    }
    let count = (assets.len() + issues.len()).min(MAXIMUM_ISSUES);
    rpc.limits.bitmarks.limit_n(count as i64, MAXIMUM_ISSUES).await.map_err(fault)?;
    rpc.normal()?;
    let backend = Arc::clone(&rpc.backend);
    blocking(move || create(&*backend, &assets, &issues)).await
}

fn create(backend: &dyn Backend, assets: &[AssetData], issues: &[BitmarkIssue]) -> Outcome {
    let reservoir = backend.reservoir();
    let mut statuses = Vec::with_capacity(assets.len());
    let mut new_assets = Vec::new();
    for asset in assets {
        let outcome = reservoir.cache_asset(asset).map_err(reservoir_text(reservoir))?;
        statuses.push(json!({"id": outcome.asset_id, "duplicate": outcome.packed.is_none()}));
        new_assets.extend(outcome.packed.unwrap_or_default());
    }
    let stored =
        if issues.is_empty() { None } else { Some(reservoir.store_issues(issues).map_err(reservoir_text(reservoir))?) };
    if !new_assets.is_empty() {
        backend.broadcast("assets", vec![new_assets]);
    }
    let mut reply = serde_json::Map::new();
    reply.insert("assets".into(), Value::Array(statuses));
    match &stored {
        None => {
            reply.insert("issues".into(), Value::Null);
            reply.insert("payId".into(), json!(PayId([0; 48])));
            reply.insert("payNonce".into(), json!(hex::encode([0u8; 8])));
        }
        Some(info) => {
            let issues: Vec<Value> = info.tx_ids.iter().map(|id| json!({"txId": id.raw_hex()})).collect();
            reply.insert("issues".into(), Value::Array(issues));
            reply.insert("payId".into(), json!(info.pay_id));
            reply.insert("payNonce".into(), info.nonce.map_or_else(|| json!(hex::encode([0u8; 8])), |n| json!(n)));
            if let Some(difficulty) = &info.difficulty {
                reply.insert("difficulty".into(), json!(hex::encode(difficulty.target())));
            }
            if !info.payments.is_empty() {
                reply.insert("payments".into(), payments(&info.payments));
            }
            if !info.duplicate {
                backend.broadcast("issues", vec![info.packed.clone(), vec![0]]);
            }
        }
    }
    Ok(Value::Object(reply))
}

/// `Bitmarks.Proof {payId, nonce}`: the client's proof of work for free issues, broadcast and
/// then tried.
pub async fn bitmarks_proof(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "bitmarks.ProofArguments")?;
    let pay_id = a.text("payId", "pay.PayId", PayId::from_hex)?.unwrap_or(PayId([0; 48]));
    let nonce = a.string("nonce")?;
    rpc.limits.bitmarks.limit().await.map_err(fault)?;
    rpc.writable()?;
    rpc.normal()?;
    let size = nonce.len() / 2;
    if !(MINIMUM_NONCE_LENGTH..=MAXIMUM_NONCE_LENGTH).contains(&size) {
        return Err(fault(Fault::InvalidNonce));
    }
    let nonce = hex::decode(&nonce).map_err(|e| match e {
        hex::FromHexError::InvalidHexCharacter { c, .. } => {
            format!("encoding/hex: invalid byte: U+{:04X} {c:?}", c as u32)
        }
        _ => "encoding/hex: odd length hex string".to_string(),
    })?;
    let backend = Arc::clone(&rpc.backend);
    let status = blocking(move || {
        backend.broadcast("proof", vec![[pay_id.0.as_slice(), &nonce].concat()]);
        backend.reservoir().try_proof(&pay_id, &nonce).map_err(reservoir_text(backend.reservoir()))
    })
    .await?;
    let status = match status {
        TrackingStatus::NotFound => "NotFound",
        TrackingStatus::Accepted => "Accepted",
        TrackingStatus::Invalid => "Invalid",
    };
    Ok(json!({"status": status}))
}

/// What a single-record submission stored: its bytes, and whether it was already held.
trait Stored: Send + 'static {
    fn packed(&self) -> &[u8];
    fn duplicate(&self) -> bool;
}

macro_rules! stored {
    ($($t:ty),*) => {
        $(impl Stored for $t {
            fn packed(&self) -> &[u8] {
                &self.packed
            }
            fn duplicate(&self) -> bool {
                self.duplicate
            }
        })*
    };
}
stored!(TransferInfo, GrantInfo, SwapInfo);

/// Submit one transfer-type record on the blocking pool with `submit`, and broadcast it as a
/// `transfer` unless it was already held.
async fn store<I: Stored>(
    rpc: &Arc<Rpc>,
    submit: impl FnOnce(&Reservoir) -> Result<I, ReservoirError> + Send + 'static,
) -> Result<I, String> {
    let backend = Arc::clone(&rpc.backend);
    blocking(move || {
        let info = submit(backend.reservoir()).map_err(reservoir_text(backend.reservoir()))?;
        if !info.duplicate() {
            backend.broadcast("transfer", vec![info.packed().to_vec()]);
        }
        Ok(info)
    })
    .await
}

/// A record argument naming the `accounts` fields, read as bitmarkd's method sees it: decoded
/// first (`None` when an account is missing: Go's nil pointer), then the service's rate
/// `limiter`, then the read-only check.
async fn record_with(
    rpc: &Arc<Rpc>,
    limiter: &crate::limit::Limiter,
    args: Option<&Value>,
    name: &str,
    accounts: &[&str],
) -> Result<Option<Transaction>, String> {
    let present = accounts.iter().all(|field| has(args, field));
    let tx = match args {
        Some(v) if present => Some(record(name, v)?),
        _ => None,
    };
    limiter.limit().await.map_err(fault)?;
    rpc.writable()?;
    Ok(tx)
}

/// `Bitmark.Transfer`: a countersigned transfer, or an unratified one when the
/// countersignature is empty.
pub async fn bitmark_transfer(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let transfer = record_with(rpc, &rpc.limits.bitmark, args, "BitmarkTransferCountersigned", &["owner"]).await?;
    let Some(Transaction::BitmarkTransferCountersigned(t)) = transfer else {
        return Err(fault(Fault::InvalidItem));
    };
    rpc.normal()?;
    network(&*rpc.backend, &t.owner)?;
    let tx = if t.countersignature.is_empty() {
        Transaction::BitmarkTransferUnratified(BitmarkTransferUnratified {
            link: t.link,
            escrow: t.escrow,
            owner: t.owner,
            signature: t.signature,
        })
    } else {
        Transaction::BitmarkTransferCountersigned(t)
    };
    let info = store(rpc, move |r| r.store_transfer(tx)).await?;
    Ok(json!({
        "txId": info.tx_id.raw_hex(),
        "bitmarkId": info.issue_tx_id.raw_hex(),
        "payId": info.pay_id,
        "payments": payments(&info.payments),
    }))
}

/// `BlockOwner.Transfer`: a new owner (and payment addresses) for a block.
pub async fn block_owner_transfer(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let transfer = record_with(rpc, &rpc.limits.block_owner, args, "BlockOwnerTransfer", &["owner"]).await?;
    rpc.normal()?;
    let Some(tx @ Transaction::BlockOwnerTransfer(_)) = transfer else {
        return Err(fault(Fault::InvalidItem));
    };
    if let Transaction::BlockOwnerTransfer(t) = &tx {
        network(&*rpc.backend, &t.owner)?;
    }
    let info = store(rpc, move |r| r.store_transfer(tx)).await?;
    Ok(json!({"txId": info.tx_id.raw_hex(), "payId": info.pay_id, "payments": payments(&info.payments)}))
}

/// `Share.Create`: turn a bitmark into shares.
pub async fn share_create(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let tx = record("ShareBalance", args.unwrap_or(&Value::Null))?;
    rpc.limits.share.limit().await.map_err(fault)?;
    rpc.writable()?;
    rpc.normal()?;
    let info = store(rpc, move |r| r.store_transfer(tx)).await?;
    Ok(json!({
        "txId": info.tx_id.raw_hex(),
        "shareId": info.issue_tx_id.raw_hex(),
        "payId": info.pay_id,
        "payments": payments(&info.payments),
    }))
}

/// `Share.Balance {owner, shareId, count}`: `owner`'s balances from share `shareId` on (at
/// most 100; bitmarkd passes the uncapped count on).
pub async fn share_balance(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let a = Args::of(args, "share.BalanceArguments")?;
    let owner = a.text("owner", "account.Account", Account::from_base58)?;
    let share_id = a.text("shareId", "merkle.Digest", Link::from_raw_hex)?.unwrap_or_default();
    let count = a.int("count")?;
    rpc.limits.share.limit().await.map_err(fault)?;
    let owner = owner.ok_or_else(|| fault(Fault::InvalidItem))?;
    if count <= 0 {
        return Err(fault(Fault::InvalidCount));
    }
    let count = usize::try_from(count).unwrap_or(MAXIMUM_BITMARKS_COUNT).min(MAXIMUM_BITMARKS_COUNT);
    rpc.normal()?;
    network(&*rpc.backend, &owner)?;
    let backend = Arc::clone(&rpc.backend);
    let balances = blocking(move || {
        let balances = backend.reservoir().share_balance(&owner, &share_id, count).map_err(reservoir_text(backend.reservoir()))?;
        Ok(balances
            .iter()
            .map(|b| {
                json!({"shareId": b.share_id.raw_hex(), "confirmed": b.confirmed, "spend": b.spend, "available": b.available})
            })
            .collect::<Vec<_>>())
    })
    .await?;
    Ok(json!({"balances": balances}))
}

/// `Share.Grant`: give shares to another account.
pub async fn share_grant(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let grant = record_with(rpc, &rpc.limits.share, args, "ShareGrant", &["owner", "recipient"]).await?;
    let Some(Transaction::ShareGrant(grant)) = grant else { return Err(fault(Fault::InvalidItem)) };
    if grant.quantity < 1 {
        return Err(fault(Fault::ShareQuantityTooSmall));
    }
    rpc.normal()?;
    network(&*rpc.backend, &grant.owner)?;
    network(&*rpc.backend, &grant.recipient)?;
    let info = store(rpc, move |r| r.store_grant(&grant)).await?;
    Ok(json!({
        "remaining": info.remaining,
        "txId": info.tx_id.raw_hex(),
        "payId": info.pay_id,
        "payments": payments(&info.payments),
    }))
}

/// `Share.Swap`: exchange shares between two accounts atomically.
pub async fn share_swap(rpc: &Arc<Rpc>, args: Option<&Value>) -> Outcome {
    let swap = record_with(rpc, &rpc.limits.share, args, "ShareSwap", &["ownerOne", "ownerTwo"]).await?;
    let Some(Transaction::ShareSwap(swap)) = swap else { return Err(fault(Fault::InvalidItem)) };
    if swap.quantity_one < 1 || swap.quantity_two < 1 {
        return Err(fault(Fault::ShareQuantityTooSmall));
    }
    rpc.normal()?;
    network(&*rpc.backend, &swap.owner_one)?;
    network(&*rpc.backend, &swap.owner_two)?;
    let info = store(rpc, move |r| r.store_swap(&swap)).await?;
    Ok(json!({
        "remainingOne": info.remaining_one,
        "remainingTwo": info.remaining_two,
        "txId": info.tx_id.raw_hex(),
        "payId": info.pay_id,
        "payments": payments(&info.payments),
    }))
}
