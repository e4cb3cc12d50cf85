//! `bitmark-node keygen --dir D`: a CURVE key pair for the peer listener, in bitmarkd's files.

use crate::error::{NodeError, Result};
use crate::keyfile;
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
    let keys = keyfile::create_pair(&private, &public)?;
    Ok(json!({
        "private": private.display().to_string(),
        "public": public.display().to_string(),
        "publicKey": hex::encode(keys.public),
    }))
}
