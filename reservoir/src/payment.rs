//! What must be paid for a record, how a detected payment is matched against it, and the
//! pluggable verifier that decides (bitmarkd's `reservoir/payment.go` and `acceptablePayment`).

use crate::error::{ReservoirError, Result};
use crate::state::ConfirmedState;
use bitmark_record::transaction::Payment;
use bitmark_record::{Currency, CurrencyMap, Text};
use std::collections::BTreeMap;

/// One way to pay: every payment in it must be made, in one currency
/// (`transactionrecord.PaymentAlternative`). A record offers one alternative per currency.
pub type PaymentAlternative = Vec<Payment>;

/// A payment seen on a currency chain (`reservoir.PaymentDetail`): the outputs of one
/// transaction that carried a pay id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentDetail {
    /// The currency paid in.
    pub currency: Currency,
    /// The transaction id on the currency's chain.
    pub tx_id: String,
    /// Amount paid to each address, in the currency's smallest unit.
    pub amounts: BTreeMap<String, u64>,
}

/// bitmarkd's matching rule: the first alternative all of whose payments are in the detail's
/// currency and each paid at least its amount (per payment, not summed per address, as in Go).
pub fn meets(detail: &PaymentDetail, alternatives: &[PaymentAlternative]) -> bool {
    alternatives.iter().any(|alternative| {
        alternative.iter().all(|p| p.currency == detail.currency)
            && alternative.iter().all(|p| paid(detail, p) >= p.amount)
    })
}

/// The amount a detail pays to a payment's address.
fn paid(detail: &PaymentDetail, p: &Payment) -> u64 {
    std::str::from_utf8(p.address.as_bytes()).ok().and_then(|a| detail.amounts.get(a)).copied().unwrap_or(0)
}

/// Decides whether records that need payment are verified.
///
/// Currency watchers (out of scope here) find a payment carrying a pay id and report it with
/// [`crate::Reservoir::payment_detected`]; the verifier then judges it against what the record
/// requires. [`AutoVerify`] is bitmarkd's `Payment.AutoVerify` (the default on `local` and
/// `testing`): every paid record is verified on arrival.
pub trait PaymentVerifier: Send + Sync {
    /// Whether records needing payment are verified on arrival, without any payment.
    fn auto_verify(&self) -> bool;

    /// Whether a payment (if one was seen) satisfies one of the alternatives. Default: with
    /// auto-verify anything does; otherwise bitmarkd's [`meets`].
    fn acceptable(&self, detail: Option<&PaymentDetail>, alternatives: &[PaymentAlternative]) -> bool {
        if self.auto_verify() {
            return true;
        }
        detail.is_some_and(|d| meets(d, alternatives))
    }
}

/// bitmarkd's `autoVerify = true`: payments are optional.
#[derive(Clone, Copy, Debug, Default)]
pub struct AutoVerify;

impl PaymentVerifier for AutoVerify {
    fn auto_verify(&self) -> bool {
        true
    }
}

/// Payments are required and matched with bitmarkd's rule; a watcher reports them.
#[derive(Clone, Copy, Debug, Default)]
pub struct RequirePayment;

impl PaymentVerifier for RequirePayment {
    fn auto_verify(&self) -> bool {
        false
    }
}

/// The fee for one record to the owner of block `number`, per currency (`getPayment`): `None`
/// for block 0 (no transfer yet). A missing `H` entry is an inconsistent store (bitmarkd
/// panics).
fn block_owner_fees(state: &dyn ConfirmedState, number: u64) -> Result<Option<Vec<Payment>>> {
    if number == 0 {
        return Ok(None);
    }
    let map = state
        .block_payments(number)?
        .ok_or_else(|| ReservoirError::State(format!("no block payment data for block number: {number}").into()))?;
    Ok(Some(fees(&map, 1)))
}

/// One payment per currency of `map`, of `count` fees each, in currency order.
pub(crate) fn fees(map: &CurrencyMap, count: u64) -> Vec<Payment> {
    map.iter()
        .map(|(currency, address)| Payment {
            currency,
            address: Text::from(address.as_bytes().to_vec()),
            amount: currency.fee().saturating_mul(count),
        })
        .collect()
}

/// What a transfer, share, grant or swap must pay (`getPayments`): per currency, the fee to the
/// owner of the issue's block and the fee to the owner of the block of the last transfer
/// (merged into one payment when the address is the same; doubled to the issue block owner when
/// there was no transfer). When the spent record carried an escrow payment, only that
/// currency's alternative is offered, with the escrow appended as a separate payment.
pub(crate) fn required_payments(
    state: &dyn ConfirmedState,
    transfer_block: u64,
    issue_block: u64,
    escrow: Option<&Payment>,
) -> Result<Vec<PaymentAlternative>> {
    let issue = block_owner_fees(state, issue_block)?.unwrap_or_default();
    let mut alternatives: Vec<PaymentAlternative> = issue.into_iter().map(|p| vec![p]).collect();
    match block_owner_fees(state, transfer_block)? {
        None => {
            for a in &mut alternatives {
                if let Some(first) = a.first_mut() {
                    first.amount = first.amount.saturating_mul(2);
                }
            }
        }
        Some(transfer) => {
            for tp in transfer {
                let Some(a) = alternatives.iter_mut().find(|a| a.first().is_some_and(|p| p.currency == tp.currency))
                else {
                    continue;
                };
                match a.first_mut() {
                    Some(first) if first.address == tp.address => first.amount = first.amount.saturating_add(tp.amount),
                    _ => a.push(tp),
                }
            }
        }
    }
    if let Some(escrow) = escrow {
        let mut chosen = alternatives
            .into_iter()
            .find(|a| a.first().is_some_and(|p| p.currency == escrow.currency))
            .unwrap_or_default();
        chosen.push(escrow.clone());
        return Ok(vec![chosen]);
    }
    Ok(alternatives)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pay(currency: Currency, address: &str, amount: u64) -> Payment {
        Payment { currency, address: Text::from(address.as_bytes().to_vec()), amount }
    }

    fn detail(currency: Currency, amounts: &[(&str, u64)]) -> PaymentDetail {
        PaymentDetail {
            currency,
            tx_id: "t".into(),
            amounts: amounts.iter().map(|(a, v)| (a.to_string(), *v)).collect(),
        }
    }

    #[test]
    fn matching_rule() {
        let alts = vec![
            vec![pay(Currency::Bitcoin, "b1", 20_000)],
            vec![pay(Currency::Litecoin, "l1", 100_000), pay(Currency::Litecoin, "l2", 100_000)],
        ];
        assert!(meets(&detail(Currency::Bitcoin, &[("b1", 20_000)]), &alts));
        assert!(!meets(&detail(Currency::Bitcoin, &[("b1", 19_999)]), &alts));
        assert!(!meets(&detail(Currency::Litecoin, &[("l1", 100_000)]), &alts));
        assert!(meets(&detail(Currency::Litecoin, &[("l1", 100_000), ("l2", 200_000)]), &alts));
        assert!(!RequirePayment.acceptable(None, &alts));
        assert!(AutoVerify.acceptable(None, &alts));
    }
}
