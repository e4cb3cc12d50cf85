//! The reservoir in sled: one entry per group, cached asset and orphan payment, written under
//! the reservoir's lock as one atomic batch per operation and flushed to disk before a submit
//! returns.
//!
//! Keys: `G ‖ pay id` → group, `A ‖ asset id` → cached asset, `O ‖ pay id` → orphan payment,
//! `Vversion` → format version (1). Values start with a format byte (1) and use bitmarkd's
//! varint for lengths. Tx ids, indexes, counters, links, asset reference counts, the spend map
//! and free-issue difficulties are derived, not stored.

use crate::assets::{AssetState, CachedAsset};
use crate::error::{ReservoirError, Result};
use crate::payment::{PaymentAlternative, PaymentDetail};
use crate::pool::{Group, GroupKind, Item, Orphan, Pool};
use bitmark_record::transaction::Payment;
use bitmark_record::{varint, AssetId, Currency, Link, PayId, Text, Transaction};

/// Key prefix of groups.
const GROUP: u8 = b'G';
/// Key prefix of cached assets.
const ASSET: u8 = b'A';
/// Key prefix of orphan payments.
const ORPHAN: u8 = b'O';
/// The version key.
const VERSION_KEY: &[u8] = b"Vversion";
/// Format of every value.
const FORMAT: u8 = 1;

/// A key: prefix ‖ id.
fn key(prefix: u8, id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(prefix);
    k.extend_from_slice(id);
    k
}

/// Append `varint(len) ‖ bytes`.
fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    varint::put(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A total reader over a stored value; `None` on any shortfall.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn u64(&mut self) -> Option<u64> {
        let (head, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_be_bytes(*head))
    }
    fn uint(&mut self) -> Option<u64> {
        let (v, n) = varint::decode(self.0)?;
        self.0 = self.0.get(n..)?;
        Some(v)
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = usize::try_from(self.uint()?).ok()?;
        let (b, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(b)
    }
    fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// Encode a group.
pub(crate) fn encode_group(g: &Group) -> Vec<u8> {
    let mut v = vec![FORMAT, kind_code(g.kind), u8::from(g.verified)];
    v.extend_from_slice(&g.seq.to_be_bytes());
    v.extend_from_slice(&g.expires_at.to_be_bytes());
    put_bytes(&mut v, &g.nonce);
    varint::put(&mut v, g.payments.len() as u64);
    for alternative in &g.payments {
        varint::put(&mut v, alternative.len() as u64);
        for p in alternative {
            varint::put(&mut v, p.currency.code());
            put_bytes(&mut v, p.address.as_bytes());
            varint::put(&mut v, p.amount);
        }
    }
    varint::put(&mut v, g.items.len() as u64);
    for item in &g.items {
        put_bytes(&mut v, &item.packed);
    }
    v
}

fn kind_code(k: GroupKind) -> u8 {
    match k {
        GroupKind::Transaction => 0,
        GroupKind::FreeIssues => 1,
        GroupKind::PaidIssues => 2,
    }
}

/// Decode a group; records are unpacked for the chain's network (their signatures were checked
/// when they were accepted).
pub(crate) fn decode_group(value: &[u8], testnet: bool) -> Option<Group> {
    let mut r = Reader(value);
    if r.u8()? != FORMAT {
        return None;
    }
    let kind = match r.u8()? {
        0 => GroupKind::Transaction,
        1 => GroupKind::FreeIssues,
        2 => GroupKind::PaidIssues,
        _ => return None,
    };
    let verified = match r.u8()? {
        0 => false,
        1 => true,
        _ => return None,
    };
    let seq = r.u64()?;
    let expires_at = r.u64()?;
    let nonce = r.bytes()?.to_vec();
    let mut payments = Vec::new();
    for _ in 0..r.uint()? {
        let mut alternative: PaymentAlternative = Vec::new();
        for _ in 0..r.uint()? {
            let currency = Currency::from_code(r.uint()?).ok()?;
            let address = Text::from(r.bytes()?.to_vec());
            let amount = r.uint()?;
            alternative.push(Payment { currency, address, amount });
        }
        payments.push(alternative);
    }
    let mut items = Vec::new();
    for _ in 0..r.uint()? {
        let packed = r.bytes()?.to_vec();
        let (tx, used) = Transaction::unpack(&packed, testnet).ok()?;
        if used != packed.len() {
            return None;
        }
        items.push(Item { tx_id: Link::of(&packed), tx, packed });
    }
    if items.is_empty() || !r.rest().is_empty() {
        return None;
    }
    Some(Group { kind, verified, seq, items, payments, nonce, expires_at })
}

/// Encode a cached asset.
pub(crate) fn encode_asset(a: &CachedAsset) -> Vec<u8> {
    let mut v = vec![FORMAT, u8::from(a.state == AssetState::Expiring)];
    v.extend_from_slice(&a.deadline.unwrap_or(0).to_be_bytes());
    v.extend_from_slice(&a.packed);
    v
}

/// Decode a cached asset (references are recounted by the caller).
pub(crate) fn decode_asset(value: &[u8], testnet: bool) -> Option<(AssetId, CachedAsset)> {
    let mut r = Reader(value);
    if r.u8()? != FORMAT {
        return None;
    }
    let state = if r.u8()? == 1 { AssetState::Expiring } else { AssetState::Pending };
    let deadline = Some(r.u64()?).filter(|&d| d != 0);
    let packed = r.rest().to_vec();
    let (Transaction::AssetData(record), used) = Transaction::unpack(&packed, testnet).ok()? else { return None };
    if used != packed.len() {
        return None;
    }
    Some((record.asset_id(), CachedAsset { packed, record, state, refs: 0, deadline }))
}

/// Encode an orphan payment.
pub(crate) fn encode_orphan(o: &Orphan) -> Vec<u8> {
    let mut v = vec![FORMAT];
    v.extend_from_slice(&o.received_at.to_be_bytes());
    varint::put(&mut v, o.detail.currency.code());
    put_bytes(&mut v, o.detail.tx_id.as_bytes());
    varint::put(&mut v, o.detail.amounts.len() as u64);
    for (address, amount) in &o.detail.amounts {
        put_bytes(&mut v, address.as_bytes());
        varint::put(&mut v, *amount);
    }
    v
}

/// Decode an orphan payment.
pub(crate) fn decode_orphan(value: &[u8]) -> Option<Orphan> {
    let mut r = Reader(value);
    if r.u8()? != FORMAT {
        return None;
    }
    let received_at = r.u64()?;
    let currency = Currency::from_code(r.uint()?).ok()?;
    let tx_id = String::from_utf8(r.bytes()?.to_vec()).ok()?;
    let mut amounts = std::collections::BTreeMap::new();
    for _ in 0..r.uint()? {
        let address = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        amounts.insert(address, r.uint()?);
    }
    if !r.rest().is_empty() {
        return None;
    }
    Some(Orphan { detail: PaymentDetail { currency, tx_id, amounts }, received_at })
}

/// What was read back from sled.
#[derive(Default)]
pub(crate) struct Loaded {
    pub groups: Vec<(PayId, Group)>,
    pub assets: Vec<(AssetId, CachedAsset)>,
    pub orphans: Vec<(PayId, Orphan)>,
    /// Keys of entries that could not be decoded (removed).
    pub corrupt: Vec<Vec<u8>>,
}

/// The reservoir's sled tree.
pub(crate) struct Store {
    tree: sled::Tree,
}

impl Store {
    /// Use `tree`, checking or writing the format version.
    pub fn new(tree: sled::Tree) -> Result<Store> {
        match tree.get(VERSION_KEY)? {
            None => {
                tree.insert(VERSION_KEY, &[FORMAT])?;
            }
            Some(v) if v.as_ref() == [FORMAT] => {}
            Some(v) => {
                return Err(ReservoirError::CacheFile(format!(
                    "unsupported reservoir store version: {:?}",
                    v.as_ref()
                )));
            }
        }
        Ok(Store { tree })
    }

    /// Read every entry.
    pub fn load(&self, testnet: bool) -> Result<Loaded> {
        let mut loaded = Loaded::default();
        for entry in self.tree.iter() {
            let (k, v) = entry?;
            let Some((&prefix, id)) = k.split_first() else { continue };
            let ok = match prefix {
                GROUP => pay_id(id).zip(decode_group(&v, testnet)).map(|x| loaded.groups.push(x)),
                ASSET => decode_asset(&v, testnet)
                    .filter(|(aid, _)| aid.as_bytes()[..] == *id)
                    .map(|x| loaded.assets.push(x)),
                ORPHAN => pay_id(id).zip(decode_orphan(&v)).map(|x| loaded.orphans.push(x)),
                _ => Some(()),
            };
            if ok.is_none() {
                loaded.corrupt.push(k.to_vec());
            }
        }
        for k in &loaded.corrupt {
            self.tree.remove(k)?;
        }
        Ok(loaded)
    }

    /// Write every dirty entry of the pool as one atomic batch and clear the dirty set.
    pub fn write(&self, pool: &mut Pool) -> Result<()> {
        if pool.dirty.is_empty() {
            return Ok(());
        }
        let dirty = std::mem::take(&mut pool.dirty);
        let mut batch = sled::Batch::default();
        for p in &dirty.groups {
            let k = key(GROUP, &p.0);
            match pool.groups.get(p) {
                Some(g) => batch.insert(k, encode_group(g)),
                None => batch.remove(k),
            }
        }
        for a in &dirty.assets {
            let k = key(ASSET, a.as_bytes());
            match pool.assets.get(a) {
                Some(c) => batch.insert(k, encode_asset(c)),
                None => batch.remove(k),
            }
        }
        for p in &dirty.orphans {
            let k = key(ORPHAN, &p.0);
            match pool.orphans.get(p) {
                Some(o) => batch.insert(k, encode_orphan(o)),
                None => batch.remove(k),
            }
        }
        self.tree.apply_batch(batch)?;
        Ok(())
    }

    /// Make every write so far durable (fsync).
    pub fn flush(&self) -> Result<()> {
        self.tree.flush()?;
        Ok(())
    }
}

/// A pay id from key bytes.
fn pay_id(b: &[u8]) -> Option<PayId> {
    <[u8; 48]>::try_from(b).ok().map(PayId)
}
