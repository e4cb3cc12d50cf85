//! `bitmark-node encode tx`: re-pack a decoded record.

use crate::error::{NodeError, Result};
use bitmark_record::Chain;

/// `encode tx`.
pub fn tx(_chain: Chain, _json: &str, _signer: Option<&str>) -> Result<String> {
    Err(NodeError::Input("not yet".into()))
}
