//! Replies: what the listener sends back, and how a client reads them.

use super::info::ServerInfo;
use super::quote::quote_for_log;
use super::request::Request;
use super::{be_u64_exact, function};
use crate::transport::TransportError;
use bitmark_record::{BlockDigest, Chain, Fault};

/// One reply of the peer protocol (`docs/protocol.md#requests-and-replies`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// `["I"][JSON]`.
    Info(ServerInfo),
    /// `["N"][u64 BE]`.
    Height(u64),
    /// `["B"][packed block]`.
    Block(Vec<u8>),
    /// `["H"][32 digest bytes, little-endian as stored]`.
    Digest(BlockDigest),
    /// The 5-frame `R` reply `["R"][chain][key][listeners][u64 BE]`: a random known peer.
    Registered {
        /// Our chain.
        chain: Chain,
        /// That peer's public key.
        public_key: Vec<u8>,
        /// Its packed listener addresses.
        listeners: Vec<u8>,
        /// Its stored announcement time, unix seconds.
        timestamp: u64,
    },
    /// `[cmd]["A"]`: the acknowledgement of any push, echoing its command.
    Ack(Vec<u8>),
    /// `["E"][text]`: the Go error text, without a terminator.
    Error(String),
}

impl From<Fault> for Reply {
    /// The error reply carrying a fault's bitmarkd text.
    fn from(fault: Fault) -> Reply {
        Reply::Error(fault.to_string())
    }
}

impl Reply {
    /// The frames sent to the requester (after the REQ envelope).
    pub fn to_frames(&self) -> Vec<Vec<u8>> {
        match self {
            Reply::Info(info) => vec![function::INFO.to_vec(), info.to_json()],
            Reply::Height(h) => vec![function::HEIGHT.to_vec(), h.to_be_bytes().to_vec()],
            Reply::Block(b) => vec![function::BLOCK.to_vec(), b.clone()],
            Reply::Digest(d) => vec![function::DIGEST.to_vec(), d.as_bytes().to_vec()],
            Reply::Registered { chain, public_key, listeners, timestamp } => vec![
                function::REGISTER.to_vec(),
                chain.name().as_bytes().to_vec(),
                public_key.clone(),
                listeners.clone(),
                timestamp.to_be_bytes().to_vec(),
            ],
            Reply::Ack(cmd) => vec![cmd.clone(), function::ACK.to_vec()],
            Reply::Error(text) => vec![function::ERROR.to_vec(), text.as_bytes().to_vec()],
        }
    }

    /// Read the reply frames to `request`, checking them as bitmarkd's upstream does
    /// (`peer/upstream`): exactly 2 frames with the echoed function for `I N B H` and pushes,
    /// an 8-byte height, a 32-byte digest; at least 5 frames, our chain and (stricter than Go,
    /// which crashes on a short one) an 8-byte timestamp for `R`. An `["E"][text]` reply to any
    /// request is `Ok(Reply::Error)` (non-UTF-8 text is replaced lossily); anything else is
    /// [`TransportError::BadReply`], or [`TransportError::ChainMismatch`] for an `R` from another chain.
    pub fn parse<F: AsRef<[u8]>>(frames: &[F], request: &Request, chain: Chain) -> Result<Reply, TransportError> {
        let [first, second, ..] = frames else {
            return Err(bad(format!("received {} frames, expected at least 2", frames.len())));
        };
        let (first, second) = (first.as_ref(), second.as_ref());
        if first == function::ERROR {
            return Ok(Reply::Error(String::from_utf8_lossy(second).into_owned()));
        }
        let expected = request.function();
        if first != expected {
            return Err(bad(format!("unexpected response: {} to {}", quote_for_log(first), quote_for_log(expected))));
        }
        if let Request::Register { .. } = request {
            return parse_registered(frames, chain);
        }
        if frames.len() != 2 {
            return Err(bad(format!("{}: received {} frames, expected 2", quote_for_log(first), frames.len())));
        }
        let invalid = || bad(format!("{}: invalid response: {}", quote_for_log(first), quote_for_log(second)));
        match request {
            Request::Info => ServerInfo::from_json(second).map(Reply::Info).ok_or_else(invalid),
            Request::Height => be_u64_exact(second).map(Reply::Height).ok_or_else(invalid),
            Request::Block(_) => Ok(Reply::Block(second.to_vec())),
            Request::Digest(_) => BlockDigest::from_bytes(second).map(Reply::Digest).map_err(|_| invalid()),
            Request::Push(push) => Ok(Reply::Ack(push.command().to_vec())),
            Request::Register { .. } => Err(invalid()),
        }
    }
}

fn parse_registered<F: AsRef<[u8]>>(frames: &[F], chain: Chain) -> Result<Reply, TransportError> {
    let [_, their_chain, public_key, listeners, timestamp, ..] = frames else {
        return Err(bad(format!("R: received {} frames, expected at least 5", frames.len())));
    };
    if their_chain.as_ref() != chain.name().as_bytes() {
        return Err(TransportError::ChainMismatch { expected: chain, received: quote_for_log(their_chain.as_ref()) });
    }
    let timestamp = be_u64_exact(timestamp.as_ref())
        .ok_or_else(|| bad(format!("R: invalid timestamp: {}", quote_for_log(timestamp.as_ref()))))?;
    Ok(Reply::Registered {
        chain,
        public_key: public_key.as_ref().to_vec(),
        listeners: listeners.as_ref().to_vec(),
        timestamp,
    })
}

fn bad(what: String) -> TransportError {
    TransportError::BadReply(what)
}
