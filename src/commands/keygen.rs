//! `bitmark-node keygen --dir D`: a CURVE key pair for the peer listener, in bitmarkd's files.

use crate::error::{NodeError, Result};
use crate::keyfile::{self, KeyKind};
use bitmark_peer::transport::CurveKeys;
use serde_json::{json, Value};
use std::path::Path;

/// File names bitmarkd's configuration uses by default.
pub const PRIVATE_FILE: &str = "peer.private";
/// See [`PRIVATE_FILE`].
pub const PUBLIC_FILE: &str = "peer.public";

/// Generate a key pair with libzmq and write `peer.private` (0600) and `peer.public` (0644) in
/// `dir`, refusing to overwrite either file.
pub fn run(dir: &Path) -> Result<Value> {
    std::fs::create_dir_all(dir).map_err(|e| NodeError::io(dir.display(), e))?;
    let (private, public) = (dir.join(PRIVATE_FILE), dir.join(PUBLIC_FILE));
    let keys = create_pair(&private, &public)?;
    Ok(json!({
        "private": private.display().to_string(),
        "public": public.display().to_string(),
        "publicKey": hex::encode(keys.public),
    }))
}

/// Generate a key pair with libzmq and write it to `private` (0600) and `public` (0644) in
/// bitmarkd's format, refusing to overwrite either file. The node calls this on first run.
pub fn create_pair(private: &Path, public: &Path) -> Result<CurveKeys> {
    bitmark_peer::transport::options::require_curve().map_err(|e| {
        NodeError::Zmq(format!(
            "{e}, which bitmarkd peers require: install Debian's libzmq3-dev (built with libsodium) and rebuild"
        ))
    })?;
    for path in [private, public] {
        if path.exists() {
            return Err(NodeError::Input(format!("{}: key file already exists", path.display())));
        }
    }
    let keys = CurveKeys::generate()?;
    keyfile::write_new(private, KeyKind::Private, &keys.secret, 0o600)?;
    keyfile::write_new(public, KeyKind::Public, &keys.public, 0o644)?;
    Ok(keys)
}
