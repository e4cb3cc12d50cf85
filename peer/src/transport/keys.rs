//! CURVE key pairs as raw 32-byte keys (what bitmarkd's key files hold, hex-encoded).

use super::TransportError;
use std::fmt;

/// A Curve25519 key pair for CURVE. The secret never appears in `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct CurveKeys {
    /// The public key: what peers put in `CURVE_SERVERKEY` to reach us, and what we announce.
    pub public: [u8; 32],
    /// The secret key.
    pub secret: [u8; 32],
}

impl CurveKeys {
    /// A fresh key pair from libzmq (`zmq_curve_keypair`, libsodium's randomness).
    pub fn generate() -> Result<CurveKeys, TransportError> {
        let pair = zmq::CurveKeyPair::new().map_err(TransportError::Zmq)?;
        Ok(CurveKeys { public: pair.public_key, secret: pair.secret_key })
    }
}

impl fmt::Debug for CurveKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let public: String = self.public.iter().map(|b| format!("{b:02x}")).collect();
        f.debug_struct("CurveKeys").field("public", &public).field("secret", &"<redacted>").finish()
    }
}
