//! A ZAP handler (ZeroMQ RFC 27) for the listener: it accepts every client, as libzmq does when
//! no handler runs (bitmarkd's `CURVE_ALLOW_ANY`), and gives libzmq the client's CURVE key, in
//! hex, as the connection's User-Id. libzmq then attaches the User-Id to every message from
//! that connection: the only way a CURVE server learns which key a client used, and what lets
//! the handler refuse an `R` that claims another key.
//!
//! One handler serves a whole libzmq context (the endpoint is fixed by the RFC); the listener
//! binds it before it binds its ROUTERs, and answers it on the thread that also counts
//! connections (`connection_events.rs`). A ROUTER rather than REP: it has no send/receive state
//! to get stuck in.
//!
//! Cost: one ZAP round trip through that thread per CURVE handshake (a few microseconds beside
//! the handshake's own key exchange), and a metadata lookup per request; `bench listener`
//! measures the listener with it.

use tracing::{debug, warn};

const TARGET: &str = "peer::listener";

/// The endpoint libzmq sends ZAP requests to (RFC 27).
const ZAP_ENDPOINT: &str = "inproc://zeromq.zap.01";

/// The metadata property libzmq fills with the ZAP reply's user id.
pub(crate) const USER_ID: &str = "User-Id";

/// The bound handler socket.
pub(crate) struct ZapHandler {
    socket: zmq::Socket,
}

impl ZapHandler {
    /// Bind the context's ZAP endpoint; `None` (logged) when that fails, e.g. because another
    /// listener in the same context has it: client keys are then not known, nothing else
    /// changes.
    pub fn bind(context: &zmq::Context) -> Option<ZapHandler> {
        let bound = context.socket(zmq::ROUTER).and_then(|socket| {
            socket.set_linger(0)?;
            socket.bind(ZAP_ENDPOINT)?;
            Ok(socket)
        });
        match bound {
            Ok(socket) => Some(ZapHandler { socket }),
            Err(e) => {
                warn!(target: TARGET, error = %e, "no ZAP handler: client keys will not be known");
                None
            }
        }
    }

    /// The socket to poll.
    pub fn socket(&self) -> &zmq::Socket {
        &self.socket
    }

    /// Answer every waiting request.
    pub fn answer(&self) {
        while let Ok(request) = self.socket.recv_multipart(zmq::DONTWAIT) {
            let Some(reply) = reply_to(&request) else {
                debug!(target: TARGET, frames = request.len(), "malformed ZAP request ignored");
                continue;
            };
            if let Err(e) = self.socket.send_multipart(reply, zmq::DONTWAIT) {
                warn!(target: TARGET, error = %e, "ZAP reply not sent");
            }
        }
    }
}

/// The reply to `[routing id]["" delimiter][version][request id][domain][address][identity]
/// [mechanism][credentials...]`: `200 OK` with the CURVE key in hex as User-Id (empty for
/// other mechanisms); `None` when the request is not a ZAP request.
fn reply_to(request: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    let [routing_id, delimiter, version, request_id, _domain, _address, _identity, mechanism, credentials @ ..] =
        request
    else {
        return None;
    };
    if !delimiter.is_empty() {
        return None;
    }
    let user_id = match (mechanism.as_slice(), credentials.first()) {
        (b"CURVE", Some(key)) => hex::encode(key),
        _ => String::new(),
    };
    let status: &[u8] = if version.as_slice() == b"1.0" { b"200" } else { b"400" };
    Some(vec![
        routing_id.clone(),
        Vec::new(),
        b"1.0".to_vec(),
        request_id.clone(),
        status.to_vec(),
        if status == b"200" { b"OK".to_vec() } else { b"unsupported version".to_vec() },
        user_id.into_bytes(),
        Vec::new(),
    ])
}

#[cfg(test)]
mod tests {
    use super::reply_to;

    fn request(version: &[u8], mechanism: &[u8]) -> Vec<Vec<u8>> {
        [b"rid".as_slice(), b"", version, b"7", b"listen", b"127.0.0.1", b"", mechanism, &[0xab; 32]]
            .map(<[u8]>::to_vec)
            .to_vec()
    }

    #[test]
    fn every_client_is_accepted_with_its_key_as_user_id() {
        let reply = reply_to(&request(b"1.0", b"CURVE")).unwrap();
        assert_eq!(
            reply[..6],
            [b"rid".to_vec(), vec![], b"1.0".to_vec(), b"7".to_vec(), b"200".to_vec(), b"OK".to_vec()]
        );
        assert_eq!(reply[6], "ab".repeat(32).into_bytes());
        assert_eq!(reply_to(&request(b"1.0", b"NULL")).unwrap()[6], b"");
        assert_eq!(reply_to(&request(b"2.0", b"CURVE")).unwrap()[4], b"400");
        assert_eq!(reply_to(&request(b"1.0", b"CURVE")[..5]), None);
    }
}
