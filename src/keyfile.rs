//! CURVE key files in bitmarkd's format (zmqutil/keypair.go): one line, `PUBLIC:` or `PRIVATE:`
//! followed by 64 hex characters. bitmarkd configurations carry these exact strings, so a key
//! made here can be used by a Go node and the other way round.

use crate::error::{NodeError, Result};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// Prefix of a public key file.
const PUBLIC_PREFIX: &str = "PUBLIC:";
/// Prefix of a private key file.
const PRIVATE_PREFIX: &str = "PRIVATE:";

/// Which half of a key pair a key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// The CURVE public key, shared with peers.
    Public,
    /// The CURVE secret key, never shared.
    Private,
}

/// Encode a key as a key-file line (without the newline).
pub fn encode(kind: KeyKind, key: &[u8; 32]) -> String {
    let prefix = match kind {
        KeyKind::Public => PUBLIC_PREFIX,
        KeyKind::Private => PRIVATE_PREFIX,
    };
    format!("{prefix}{}", hex::encode(key))
}

/// bitmarkd's `ParseKey` followed by the kind check of `ReadPublicKey`/`ReadPrivateKey`: trims
/// white space, requires the prefix of `kind`, then 32 bytes of hex (either case).
pub fn parse(kind: KeyKind, text: &str) -> Result<[u8; 32]> {
    let text = text.trim();
    let (body, found) = if let Some(b) = text.strip_prefix(PRIVATE_PREFIX) {
        (b, KeyKind::Private)
    } else if let Some(b) = text.strip_prefix(PUBLIC_PREFIX) {
        (b, KeyKind::Public)
    } else {
        return Err(NodeError::Input("invalid public key".into()));
    };
    let wrong = match kind {
        KeyKind::Public => "invalid public key",
        KeyKind::Private => "invalid private key",
    };
    if found != kind {
        return Err(NodeError::Input(wrong.into()));
    }
    let bytes = hex::decode(body).map_err(|e| NodeError::Input(e.to_string()))?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| NodeError::Input(wrong.into()))
}

/// Read and parse a key file.
pub fn read(kind: KeyKind, path: &Path) -> Result<[u8; 32]> {
    let text = std::fs::read_to_string(path).map_err(|e| NodeError::io(path.display(), e))?;
    parse(kind, &text)
}

/// Write a key file with `mode`, refusing to overwrite an existing file as bitmarkd does.
pub fn write_new(path: &Path, kind: KeyKind, key: &[u8; 32], mode: u32) -> Result<()> {
    let mut f = OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => NodeError::Input(format!("{}: key file already exists", path.display())),
        _ => NodeError::io(path.display(), e),
    })?;
    writeln!(f, "{}", encode(kind, key)).map_err(|e| NodeError::io(path.display(), e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_kind_checks() {
        let key = [0xabu8; 32];
        let public = encode(KeyKind::Public, &key);
        assert_eq!(public, format!("PUBLIC:{}", "ab".repeat(32)));
        assert_eq!(parse(KeyKind::Public, &format!("  {public}\n")).unwrap(), key);
        assert_eq!(parse(KeyKind::Public, &public.to_uppercase().replace("PUBLIC:", "PUBLIC:")).unwrap(), key);
        assert_eq!(parse(KeyKind::Private, &public).unwrap_err().to_string(), "invalid private key");
        assert_eq!(parse(KeyKind::Public, "abcd").unwrap_err().to_string(), "invalid public key");
        assert_eq!(parse(KeyKind::Public, "PUBLIC:abcd").unwrap_err().to_string(), "invalid public key");
    }
}
