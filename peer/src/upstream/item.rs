//! Broadcast items as an upstream pushes them, and the non-blocking way they are handed to it.

use crate::wire::command;
use crate::wire::{Push, Request};
use std::sync::Arc;

/// One item of the broadcast bus: a push command and its parameter frames, sent as
/// `[chain][command][params...]` exactly as given (bitmarkd's `messagebus.Message`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BroadcastItem {
    /// The command frame (`block`, `assets`, `issues`, `transfer`, `proof`, `rpc`, `peer`).
    pub command: Vec<u8>,
    /// The parameter frames.
    pub params: Vec<Vec<u8>>,
}

impl BroadcastItem {
    /// An item of `command` with `params`.
    pub fn new(command: impl Into<Vec<u8>>, params: Vec<Vec<u8>>) -> BroadcastItem {
        BroadcastItem { command: command.into(), params }
    }

    /// Whether this is a block, which may take the last slot of a full queue (bitmarkd's rule:
    /// a block is worth more than any transaction, and is rarer).
    pub fn is_block(&self) -> bool {
        self.command == command::BLOCK
    }

    /// The request that pushes it. The frames go out verbatim (as [`Push::Other`], which
    /// carries any command with any parameters), so a relay sends exactly what it was given,
    /// legacy frames included.
    pub fn to_request(&self) -> Request {
        Request::Push(Push::Other { command: self.command.clone(), params: self.params.clone() })
    }

    /// Bytes of payload, for logs and bounds.
    pub fn payload_len(&self) -> usize {
        self.params.iter().map(Vec::len).sum()
    }
}

impl From<&Push> for BroadcastItem {
    /// The item that relays an accepted push.
    fn from(push: &Push) -> BroadcastItem {
        BroadcastItem { command: push.command().to_vec(), params: push.params() }
    }
}

/// Takes broadcast items without blocking: the seam between the broadcast bus and a consumer
/// (each upstream's queue implements it). Items are shared (`Arc`) so a 5 MB block fanned out to
/// 25 upstreams is held once.
pub trait BroadcastSink: Send + Sync {
    /// Offer `item`; false when it was dropped (queue full, consumer not registered or closed).
    /// Never blocks.
    fn offer(&self, item: Arc<BroadcastItem>) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitmark_record::Chain;

    #[test]
    fn items_are_sent_verbatim() {
        let item = BroadcastItem::new("issues", vec![b"packed".to_vec(), vec![0]]);
        assert_eq!(
            item.to_request().to_frames(Chain::Testing),
            [b"testing".to_vec(), b"issues".to_vec(), b"packed".to_vec(), vec![0]]
        );
        assert_eq!(item.payload_len(), 7);
        assert!(!item.is_block());
        let peer = Push::Peer { public_key: vec![1; 32], listeners: vec![2], timestamp: 3 };
        let item = BroadcastItem::from(&peer);
        assert_eq!(item.command, b"peer");
        assert_eq!(item.params, peer.params());
        assert!(BroadcastItem::from(&Push::Block(vec![9])).is_block());
    }
}
