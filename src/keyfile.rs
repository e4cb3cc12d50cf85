//! CURVE key files in bitmarkd's format (zmqutil/keypair.go): one line, `PUBLIC:` or `PRIVATE:`
//! followed by 64 hex characters. bitmarkd configurations carry these exact strings, so a key
//! made here can be used by a Go node and the other way round.

use crate::error::{NodeError, Result};
use bitmark_peer::transport::CurveKeys;
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

/// Generate a key pair with libzmq and write it to `private` (0600) and `public` (0644) in
/// bitmarkd's format, refusing to overwrite either file. The node calls this on first run, and
/// `keygen` on demand.
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
    write_new(private, KeyKind::Private, &keys.secret, 0o600)?;
    write_new(public, KeyKind::Public, &keys.public, 0o644)?;
    Ok(keys)
}

/// The CURVE public key of `secret` (X25519 of the base point, as libzmq derives it), to check
/// that a key pair's two files belong together.
pub fn public_of(secret: &[u8; 32]) -> [u8; 32] {
    curve25519_dalek::montgomery::MontgomeryPoint::mul_base_clamped(*secret).to_bytes()
}

/// The node's key pair from `public` and `private`; when neither file exists, a new pair is
/// made and written (`create` is [`create_pair`]). One file without
/// the other, or two files that do not belong together, is an error naming them.
pub fn load_or_create(
    public: &Path,
    private: &Path,
    create: impl FnOnce(&Path, &Path) -> Result<CurveKeys>,
) -> Result<(CurveKeys, bool)> {
    match (public.exists(), private.exists()) {
        (false, false) => {
            for path in [public, private] {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| NodeError::io(dir.display(), e))?;
                }
            }
            Ok((create(private, public)?, true))
        }
        (true, true) => {
            let named = |path: &Path, e: NodeError| NodeError::Input(format!("{}: {e}", path.display()));
            let public_key = read(KeyKind::Public, public).map_err(|e| named(public, e))?;
            let secret = read(KeyKind::Private, private).map_err(|e| named(private, e))?;
            if public_of(&secret) != public_key {
                return Err(NodeError::Input(format!(
                    "{} does not hold the public key of {}",
                    public.display(),
                    private.display()
                )));
            }
            Ok((CurveKeys { public: public_key, secret }, false))
        }
        (has_public, _) => {
            let (found, missing) = if has_public { (public, private) } else { (private, public) };
            Err(NodeError::Input(format!(
                "{} exists but {} does not: restore it, or remove both to make a new pair",
                found.display(),
                missing.display()
            )))
        }
    }
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
        assert_eq!(parse(KeyKind::Public, &format!("PUBLIC:{}", "AB".repeat(32))).unwrap(), key);
        assert_eq!(parse(KeyKind::Private, &public).unwrap_err().to_string(), "invalid private key");
        assert_eq!(parse(KeyKind::Public, "abcd").unwrap_err().to_string(), "invalid public key");
        assert_eq!(parse(KeyKind::Public, "PUBLIC:abcd").unwrap_err().to_string(), "invalid public key");
    }

    #[test]
    fn public_of_matches_libzmq() {
        for _ in 0..4 {
            let keys = CurveKeys::generate().unwrap();
            assert_eq!(public_of(&keys.secret), keys.public);
        }
    }

    #[test]
    fn load_or_create_makes_a_pair_once_and_checks_it() {
        let dir = tempfile::tempdir().unwrap();
        let (public, private) = (dir.path().join("k/peer.public"), dir.path().join("k/peer.private"));
        let create = create_pair;
        let (made, created) = load_or_create(&public, &private, create).unwrap();
        assert!(created);
        let (read, created) = load_or_create(&public, &private, create).unwrap();
        assert!(!created);
        assert_eq!(read, made);
        // A public key from another pair is refused.
        std::fs::remove_file(&public).unwrap();
        let other = CurveKeys::generate().unwrap();
        write_new(&public, KeyKind::Public, &other.public, 0o644).unwrap();
        let e = load_or_create(&public, &private, create).unwrap_err().to_string();
        assert!(e.contains("does not hold the public key"), "{e}");
        // One file alone is refused, naming both.
        std::fs::remove_file(&public).unwrap();
        let e = load_or_create(&public, &private, create).unwrap_err().to_string();
        assert!(e.contains("peer.private exists but") && e.contains("peer.public does not"), "{e}");
    }
}
