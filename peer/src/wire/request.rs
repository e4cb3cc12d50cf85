//! Requests as a REP application sees them: `[chain][function][params...]`
//! (`docs/protocol.md#framing`).

use super::quote::go_quote;
use super::reply::Reply;
use super::{be_u64_exact, be_u64_prefix, command, function};
use bitmark_record::{Chain, Fault};

/// bitmarkd's text for a request of fewer than two frames (a `fmt.Errorf`, not a fault).
pub const PACKET_TOO_SHORT: &str = "packet too short";

/// One request to a peer listener, after the chain frame has been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `I`: server information as JSON.
    Info,
    /// `N`: the block height.
    Height,
    /// `B n`: the packed block at height `n`.
    Block(u64),
    /// `H n`: the digest of the block at height `n` (the genesis digest for `n <= 1`).
    Digest(u64),
    /// `R`: registration. The requester announces itself; the reply names another peer.
    Register {
        /// The chain named in the first parameter; `parse` only accepts our own.
        chain: Chain,
        /// The requester's public key, as sent (bitmarkd checks neither length nor content).
        public_key: Vec<u8>,
        /// The requester's packed listener addresses, as sent (may be empty or malformed).
        listeners: Vec<u8>,
        /// The requester's clock, unix seconds.
        timestamp: u64,
    },
    /// Any other function: a pushed item, always acknowledged with `[cmd]["A"]`.
    Push(Push),
}

/// A pushed ("subscription") item (`docs/protocol.md#pushes`). Each typed variant holds exactly
/// what bitmarkd reads and relays; extra frames are dropped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Push {
    /// `block`: a packed block.
    Block(Vec<u8>),
    /// `assets`: concatenated packed asset records.
    Assets(Vec<u8>),
    /// `issues`: concatenated packed issue records (the legacy second frame is dropped).
    Issues(Vec<u8>),
    /// `transfer`: one packed transfer-type record.
    Transfer(Vec<u8>),
    /// `proof`: a 48-byte pay id followed by the nonce.
    Proof(Vec<u8>),
    /// `rpc`: an RPC server announcement.
    Rpc {
        /// SHA3-256 of the RPC TLS certificate (32 bytes from honest peers; not checked here).
        fingerprint: Vec<u8>,
        /// Packed RPC listener addresses.
        listeners: Vec<u8>,
        /// Announcement time, unix seconds.
        timestamp: u64,
    },
    /// `peer`: a peer announcement.
    Peer {
        /// The announced peer's public key.
        public_key: Vec<u8>,
        /// Its packed listener addresses.
        listeners: Vec<u8>,
        /// Announcement time, unix seconds.
        timestamp: u64,
    },
    /// A command bitmarkd acknowledges without acting on it: an unknown or legacy command
    /// (`heart`, `P`), or a known one with too few parameters or a timestamp that is not
    /// 8 bytes. Kept whole so a relay or capture can see what arrived. Also how a sender puts
    /// frames on the broadcast bus verbatim (`issues` with its legacy `[0x00]` frame, as
    /// bitmarkd's RPC sends it): the frames, the dedup hash and the block rule are the same
    /// as for a typed variant of the same command.
    Other {
        /// The function frame.
        command: Vec<u8>,
        /// The parameter frames.
        params: Vec<Vec<u8>>,
    },
}

impl Request {
    /// Parse the frames a REP application receives, checking them as bitmarkd's listener does
    /// (`listener.go:180-281`). `Err` carries the exact error reply bitmarkd would send.
    ///
    /// Never panics. Where bitmarkd crashes we answer instead: an `R` timestamp shorter than
    /// 8 bytes gets `["E"]["invalid timestamp"]` (bitmarkd panics in `binary.BigEndian.Uint64`);
    /// a longer one is read from its first 8 bytes, as Go reads it.
    pub fn parse<F: AsRef<[u8]>>(frames: &[F], chain: Chain) -> Result<Request, Reply> {
        let [chain_frame, function, params @ ..] = frames else {
            return Err(Reply::Error(PACKET_TOO_SHORT.into()));
        };
        let chain_frame = chain_frame.as_ref();
        if chain_frame != chain.name().as_bytes() {
            return Err(Reply::Error(format!(
                "invalid chain: actual: {}  expect: {}",
                go_quote(chain_frame),
                chain.name()
            )));
        }
        match function.as_ref() {
            function::INFO => Ok(Request::Info),
            function::HEIGHT => Ok(Request::Height),
            function::BLOCK => block_number(params).map(Request::Block),
            function::DIGEST => block_number(params).map(Request::Digest),
            function::REGISTER => parse_register(params, chain),
            other => Ok(Request::Push(Push::parse(other, params))),
        }
    }

    /// The function frame (frame 1) this request is sent with.
    pub fn function(&self) -> &[u8] {
        match self {
            Request::Info => function::INFO,
            Request::Height => function::HEIGHT,
            Request::Block(_) => function::BLOCK,
            Request::Digest(_) => function::DIGEST,
            Request::Register { .. } => function::REGISTER,
            Request::Push(push) => push.command(),
        }
    }

    /// The frames after the chain frame: what bitmarkd's client is asked to `Send` (it adds
    /// the chain prefix itself).
    pub fn body_frames(&self) -> Vec<Vec<u8>> {
        let mut frames = vec![self.function().to_vec()];
        match self {
            Request::Info | Request::Height => {}
            Request::Block(n) | Request::Digest(n) => frames.push(n.to_be_bytes().to_vec()),
            Request::Register { chain, public_key, listeners, timestamp } => frames.extend([
                chain.name().as_bytes().to_vec(),
                public_key.clone(),
                listeners.clone(),
                timestamp.to_be_bytes().to_vec(),
            ]),
            Request::Push(push) => frames.extend(push.params()),
        }
        frames
    }

    /// The whole request as sent on `chain`: the chain frame, then [`Request::body_frames`].
    pub fn to_frames(&self, chain: Chain) -> Vec<Vec<u8>> {
        let mut frames = vec![chain.name().as_bytes().to_vec()];
        frames.extend(self.body_frames());
        frames
    }

    /// Whether this is a push (possibly slow to process) rather than a query.
    pub fn is_push(&self) -> bool {
        matches!(self, Request::Push(_))
    }

    /// Bytes of payload this request holds, for bounding what waits in queues.
    pub fn payload_len(&self) -> usize {
        match self {
            Request::Info | Request::Height | Request::Block(_) | Request::Digest(_) => 0,
            Request::Register { public_key, listeners, .. } => public_key.len() + listeners.len(),
            Request::Push(push) => push.params().iter().map(Vec::len).sum(),
        }
    }
}

/// The single 8-byte block number parameter of `B` and `H`.
fn block_number<F: AsRef<[u8]>>(params: &[F]) -> Result<u64, Reply> {
    match params {
        [number] => be_u64_exact(number.as_ref()).ok_or(Reply::from(Fault::BlockNotFound)),
        _ => Err(Reply::from(Fault::MissingParameters)),
    }
}

fn parse_register<F: AsRef<[u8]>>(params: &[F], chain: Chain) -> Result<Request, Reply> {
    let [their_chain, public_key, listeners, timestamp, ..] = params else {
        return Err(Reply::from(Fault::MissingParameters));
    };
    if their_chain.as_ref() != chain.name().as_bytes() {
        return Err(Reply::from(Fault::IncorrectChain));
    }
    let timestamp = be_u64_prefix(timestamp.as_ref()).ok_or(Reply::from(Fault::InvalidTimestamp))?;
    Ok(Request::Register {
        chain,
        public_key: public_key.as_ref().to_vec(),
        listeners: listeners.as_ref().to_vec(),
        timestamp,
    })
}

impl Push {
    /// Type a pushed command as bitmarkd's `processSubscription` reads it.
    pub fn parse<F: AsRef<[u8]>>(cmd: &[u8], params: &[F]) -> Push {
        let first = params.first().map(|p| p.as_ref().to_vec());
        let typed = match cmd {
            command::BLOCK => first.map(Push::Block),
            command::ASSETS => first.map(Push::Assets),
            command::ISSUES => first.map(Push::Issues),
            command::TRANSFER => first.map(Push::Transfer),
            command::PROOF => first.map(Push::Proof),
            command::RPC => announcement(params).map(|(fingerprint, listeners, timestamp)| Push::Rpc {
                fingerprint,
                listeners,
                timestamp,
            }),
            command::PEER => announcement(params).map(|(public_key, listeners, timestamp)| Push::Peer {
                public_key,
                listeners,
                timestamp,
            }),
            _ => None,
        };
        typed.unwrap_or_else(|| Push::Other {
            command: cmd.to_vec(),
            params: params.iter().map(|p| p.as_ref().to_vec()).collect(),
        })
    }

    /// The command frame.
    pub fn command(&self) -> &[u8] {
        match self {
            Push::Block(_) => command::BLOCK,
            Push::Assets(_) => command::ASSETS,
            Push::Issues(_) => command::ISSUES,
            Push::Transfer(_) => command::TRANSFER,
            Push::Proof(_) => command::PROOF,
            Push::Rpc { .. } => command::RPC,
            Push::Peer { .. } => command::PEER,
            Push::Other { command, .. } => command,
        }
    }

    /// The parameter frames, as sent and as relayed.
    pub fn params(&self) -> Vec<Vec<u8>> {
        match self {
            Push::Block(p) | Push::Assets(p) | Push::Issues(p) | Push::Transfer(p) | Push::Proof(p) => {
                vec![p.clone()]
            }
            Push::Rpc { fingerprint: key, listeners, timestamp }
            | Push::Peer { public_key: key, listeners, timestamp } => {
                vec![key.clone(), listeners.clone(), timestamp.to_be_bytes().to_vec()]
            }
            Push::Other { params, .. } => params.clone(),
        }
    }
}

/// `[key][listeners][8-byte timestamp]...` of `rpc` and `peer`; bitmarkd ignores the message
/// when there are fewer than 3 parameters or the timestamp is not exactly 8 bytes.
fn announcement<F: AsRef<[u8]>>(params: &[F]) -> Option<(Vec<u8>, Vec<u8>, u64)> {
    let [key, listeners, timestamp, ..] = params else {
        return None;
    };
    let timestamp = be_u64_exact(timestamp.as_ref())?;
    Some((key.as_ref().to_vec(), listeners.as_ref().to_vec(), timestamp))
}
