//! bitmarkd's `reservoir.cache` v1.0 file (reservoir/loadsave.go, restorer.go): export so a
//! bitmarkd node can take over our reservoir, import to migrate from bitmarkd.
//!
//! Each record is tag (1 byte) ‖ length (u16 BE) ‖ payload. Tags: 0 BOF (payload
//! `bitmark-cache v1.0`), 1 EOF (payload `EOF`), 2 a packed record or a concatenation of the
//! packed issues of one group, 3 a proof (pay id ‖ nonce). Payments, states, expiry times and
//! orphan payments are not in the file: on import everything is re-submitted as new and comes
//! back pending (or verified when auto-verified, or proven by a stored proof).

use crate::error::{ReservoirError, Result};
use crate::issues::TrackingStatus;
use crate::pool::{Group, GroupKind, Pool};
use crate::reservoir::Reservoir;
use bitmark_record::transaction::BitmarkIssue;
use bitmark_record::{AssetId, PayId, Transaction};
use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

/// The file name bitmarkd uses in its cache directory.
pub const CACHE_FILE_NAME: &str = "reservoir.cache";

const TAG_BOF: u8 = 0;
const TAG_EOF: u8 = 1;
const TAG_TRANSACTION: u8 = 2;
const TAG_PROOF: u8 = 3;
/// The exact BOF payload.
const BOF: &[u8] = b"bitmark-cache v1.0";
/// The EOF payload.
const EOF: &[u8] = b"EOF";
/// Length of a pay id at the front of a proof record.
const PAY_ID_LENGTH: usize = 48;

/// What an import restored, and what it could not (bitmarkd only logs these).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Records (assets, issue groups, transfers) accepted again.
    pub restored: usize,
    /// Proofs that verified their free issues.
    pub proofs_accepted: usize,
    /// One message per record that was skipped, in bitmarkd's wording.
    pub errors: Vec<String>,
}

/// Append one tagged record; payloads over 65 535 bytes cannot be written (bitmarkd panics).
fn put_record(out: &mut Vec<u8>, tag: u8, payload: &[u8]) -> Result<()> {
    let len = u16::try_from(payload.len())
        .map_err(|_| ReservoirError::CacheFile(format!("write record packed length: {} > 65535", payload.len())))?;
    out.push(tag);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(payload);
    Ok(())
}

/// The pay id ‖ nonce payload of a proof record.
fn proof_payload(pay_id: &PayId, nonce: &[u8]) -> Vec<u8> {
    [&pay_id.0[..], nonce].concat()
}

impl Reservoir {
    /// The reservoir as a bitmarkd `reservoir.cache` v1.0 file, in bitmarkd's order: BOF; the
    /// cached asset of every issue group; verified transfers, verified free groups (each with a
    /// proof record holding the client's whole nonce), verified paid groups; then the same for
    /// pending records (a pending free group's proof record holds the pay nonce it was given);
    /// EOF. Within a category, arrival order.
    pub fn export_cache(&self) -> Result<Vec<u8>> {
        let pool = self.lock();
        let mut out = Vec::new();
        put_record(&mut out, TAG_BOF, BOF)?;
        let order = |verified: bool, kind: GroupKind| pool.ordered(move |g| g.verified == verified && g.kind == kind);
        let issue_groups: Vec<PayId> = [true, false]
            .into_iter()
            .flat_map(|v| [order(v, GroupKind::FreeIssues), order(v, GroupKind::PaidIssues)])
            .flatten()
            .collect();
        let mut seen: HashSet<AssetId> = HashSet::new();
        for id in issue_groups.iter().filter_map(|p| pool.groups.get(p)).flat_map(|g| g.asset_ids()) {
            if seen.insert(id) {
                if let Some(asset) = pool.assets.get(&id) {
                    put_record(&mut out, TAG_TRANSACTION, &asset.packed)?;
                }
            }
        }
        for verified in [true, false] {
            for kind in [GroupKind::Transaction, GroupKind::FreeIssues, GroupKind::PaidIssues] {
                for p in order(verified, kind) {
                    write_group(&mut out, &pool, &p)?;
                }
            }
        }
        put_record(&mut out, TAG_EOF, EOF)?;
        Ok(out)
    }

    /// Write [`Self::export_cache`] to `path` (created or truncated, mode 0600 on Unix).
    pub fn export_cache_file(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = self.export_cache()?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut f = options.open(path)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        Ok(())
    }

    /// Read [`Self::import_cache`] from `path`.
    pub fn import_cache_file(&self, path: impl AsRef<Path>) -> Result<ImportReport> {
        let bytes = std::fs::read(path)?;
        self.import_cache(&bytes)
    }

    /// Restore a bitmarkd `reservoir.cache` (`LoadFromFile`): each record is re-submitted
    /// through the normal checks (assets cached, issue groups stored, transfers, shares,
    /// block-owner transfers, grants and swaps stored), each proof tried. A record that fails
    /// is skipped and reported. Errors: a first record that is not the exact BOF ("expected
    /// BOF: …"), an unknown tag ("abort, read invalid tag: 0x..") — as bitmarkd. A file that
    /// ends without EOF stops the import with a report entry (bitmarkd loops forever).
    /// Durable on return.
    pub fn import_cache(&self, bytes: &[u8]) -> Result<ImportReport> {
        let mut rest = bytes;
        let (tag, payload) = read_record(&mut rest)
            .ok_or_else(|| ReservoirError::CacheFile("read record: unexpected end of file".into()))?;
        if tag != TAG_BOF {
            return Err(ReservoirError::CacheFile(format!("expected BOF: {TAG_BOF} but read: {tag}")));
        }
        if payload != BOF {
            return Err(ReservoirError::CacheFile(format!(
                "expected BOF: {:?} but read: {:?}",
                String::from_utf8_lossy(BOF),
                String::from_utf8_lossy(payload)
            )));
        }
        let mut report = ImportReport::default();
        loop {
            let Some((tag, payload)) = read_record(&mut rest) else {
                report.errors.push("read record: file ends without EOF".into());
                break;
            };
            match tag {
                TAG_EOF => break,
                TAG_TRANSACTION => match self.restore(payload) {
                    Ok(()) => report.restored += 1,
                    Err(e) => report.errors.push(e),
                },
                TAG_PROOF => {
                    let Some((pay_id, nonce)) =
                        payload.split_first_chunk::<PAY_ID_LENGTH>().filter(|(_, n)| !n.is_empty())
                    else {
                        report.errors.push(format!(
                            "unable to unpack proof: record too short: {}  expected > {PAY_ID_LENGTH}",
                            payload.len()
                        ));
                        continue;
                    };
                    let st = self.try_proof_unsynced(&PayId(*pay_id), nonce)?;
                    if st == TrackingStatus::Accepted {
                        report.proofs_accepted += 1;
                    }
                }
                other => return Err(ReservoirError::CacheFile(format!("abort, read invalid tag: 0x{other:02x}"))),
            }
        }
        self.sync()?;
        Ok(report)
    }

    /// Re-submit one transaction record of the file (bitmarkd's restorers).
    fn restore(&self, payload: &[u8]) -> std::result::Result<(), String> {
        let testnet = self.chain.is_testing();
        let (tx, _) = Transaction::unpack(payload, testnet).map_err(|e| format!("unable to unpack asset: {e}"))?;
        match tx {
            Transaction::AssetData(a) => {
                self.cache_asset_unsynced(&a).map(drop).map_err(|e| format!("fail to cache asset: {e}"))
            }
            Transaction::BitmarkIssue(_) => {
                let mut issues: Vec<BitmarkIssue> = Vec::new();
                let mut rest = payload;
                while !rest.is_empty() {
                    let (tx, n) =
                        Transaction::unpack(rest, testnet).map_err(|e| format!("unable to unpack issue: {e}"))?;
                    match tx {
                        Transaction::BitmarkIssue(i) => issues.push(i),
                        other => return Err(format!("issue block contains non-issue: {}", other.record_name())),
                    }
                    rest = rest.get(n..).unwrap_or_default();
                }
                self.store_issues_unsynced(&issues).map(drop).map_err(|e| format!("store issue with error: {e}"))
            }
            Transaction::BitmarkTransferUnratified(_)
            | Transaction::BitmarkTransferCountersigned(_)
            | Transaction::BitmarkShare(_)
            | Transaction::BlockOwnerTransfer(_) => {
                self.store_transfer_unsynced(tx).map(drop).map_err(|e| format!("fail to restore transfer: {e}"))
            }
            Transaction::ShareGrant(g) => {
                self.store_grant_unsynced(&g).map(drop).map_err(|e| format!("fail to restore grant: {e}"))
            }
            Transaction::ShareSwap(s) => {
                self.store_swap_unsynced(&s).map(drop).map_err(|e| format!("create swap restorer with error: {e}"))
            }
            other => Err(format!("unhandled restore tx type: {}", other.tag().code())),
        }
    }
}

/// One group's records: the record(s) as one transaction record, plus a proof for free issues.
fn write_group(out: &mut Vec<u8>, pool: &Pool, pay_id: &PayId) -> Result<()> {
    let Some(g): Option<&Group> = pool.groups.get(pay_id) else { return Ok(()) };
    put_record(out, TAG_TRANSACTION, &g.packed())?;
    if g.kind == GroupKind::FreeIssues {
        put_record(out, TAG_PROOF, &proof_payload(pay_id, &g.nonce))?;
    }
    Ok(())
}

/// Take one record from the front of `rest`; `None` if the data ends inside it (or is empty).
fn read_record<'a>(rest: &mut &'a [u8]) -> Option<(u8, &'a [u8])> {
    let (&tag, tail) = rest.split_first()?;
    let (len, tail) = tail.split_first_chunk::<2>()?;
    let (payload, tail) = tail.split_at_checked(usize::from(u16::from_be_bytes(*len)))?;
    *rest = tail;
    Some((tag, payload))
}
