//! The peer wire codec: typed requests and replies to and from ZeroMQ frames, and the packed
//! listener address format. Pure and total: every input maps to a value or to bitmarkd's error
//! reply, nothing here panics, allocates without bound beyond its input, or does I/O.

pub mod info;
pub mod packed_address;
pub mod quote;
pub mod reply;
pub mod request;

#[cfg(test)]
mod tests;

pub use info::ServerInfo;
pub use quote::{go_quote, quote_for_log};
pub use reply::Reply;
pub use request::{Push, Request, PACKET_TOO_SHORT};

/// Function frames of the request/reply protocol (frame 1 of a request, frame 0 of a reply).
pub mod function {
    /// Server information.
    pub const INFO: &[u8] = b"I";
    /// Block height.
    pub const HEIGHT: &[u8] = b"N";
    /// Packed block.
    pub const BLOCK: &[u8] = b"B";
    /// Block digest.
    pub const DIGEST: &[u8] = b"H";
    /// Registration.
    pub const REGISTER: &[u8] = b"R";
    /// Error reply.
    pub const ERROR: &[u8] = b"E";
    /// Second frame of a push acknowledgement.
    pub const ACK: &[u8] = b"A";
}

/// Push commands bitmarkd acts on (`peer/process.go`).
pub mod command {
    /// A new block.
    pub const BLOCK: &[u8] = b"block";
    /// New asset records.
    pub const ASSETS: &[u8] = b"assets";
    /// New issue records.
    pub const ISSUES: &[u8] = b"issues";
    /// A transfer record.
    pub const TRANSFER: &[u8] = b"transfer";
    /// A payment proof.
    pub const PROOF: &[u8] = b"proof";
    /// An RPC server announcement.
    pub const RPC: &[u8] = b"rpc";
    /// A peer announcement.
    pub const PEER: &[u8] = b"peer";
    /// All of them.
    pub const ALL: [&[u8]; 7] = [BLOCK, ASSETS, ISSUES, TRANSFER, PROOF, RPC, PEER];
}

/// A big-endian u64 from exactly 8 bytes (the `len == 8` checks of B, H, rpc, peer).
pub(crate) fn be_u64_exact(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

/// A big-endian u64 from the first 8 bytes, as Go's `binary.BigEndian.Uint64` reads a longer
/// slice; `None` where Go would panic.
pub(crate) fn be_u64_prefix(bytes: &[u8]) -> Option<u64> {
    bytes.get(..8).and_then(be_u64_exact)
}
