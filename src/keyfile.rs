//! CURVE key files in bitmarkd's format (zmqutil/keypair.go): one line, `PUBLIC:` or `PRIVATE:`
//! followed by 64 hex characters. bitmarkd configurations carry these exact strings, so a key
//! made here can be used by a Go node and the other way round.

use crate::error::{NodeError, Result};
use bitmark_peer::transport::CurveKeys;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

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

/// Where one half of the node's key pair comes from: a key file, or the key itself written in
/// the configuration as bitmarkd's configurations carry it (`read_file("peer.public")` puts the
/// file's contents, `PUBLIC:<hex>`, into the setting).
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A key file in bitmarkd's format.
    File(PathBuf),
    /// The key, given inline.
    Inline([u8; 32]),
}

impl std::fmt::Debug for KeySource {
    /// Never prints an inline key: a private one must not reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(path) => write!(f, "File({})", path.display()),
            KeySource::Inline(_) => f.write_str("Inline(..)"),
        }
    }
}

impl KeySource {
    /// Read a key setting: a value beginning `PUBLIC:` or `PRIVATE:` is a key (which must be a
    /// valid key of `kind`; it is never taken for a file name), 64 bare hex digits are refused
    /// as a key without its prefix, and anything else is a file name relative to `dir`.
    pub fn from_setting(kind: KeyKind, text: &str, dir: &Path) -> std::result::Result<KeySource, String> {
        let trimmed = text.trim();
        if trimmed.starts_with(PUBLIC_PREFIX) || trimmed.starts_with(PRIVATE_PREFIX) {
            return parse(kind, trimmed)
                .map(KeySource::Inline)
                .map_err(|e| format!("{e}: a key given inline must be {} followed by 64 hex digits", prefix(kind)));
        }
        if trimmed.len() == 64 && trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "looks like a key without its prefix: write {}<hex>, or name a key file",
                prefix(kind)
            ));
        }
        if trimmed.is_empty() {
            return Err("expected a key file name or a key".into());
        }
        Ok(KeySource::File(dir.join(text)))
    }

    /// The file, when the key is in one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            KeySource::File(path) => Some(path),
            KeySource::Inline(_) => None,
        }
    }

    /// Where the key is, for messages: the file, or "inline".
    pub fn describe(&self) -> String {
        match self {
            KeySource::File(path) => path.display().to_string(),
            KeySource::Inline(_) => "the key given inline".into(),
        }
    }

    fn load(&self, kind: KeyKind) -> Result<[u8; 32]> {
        match self {
            KeySource::Inline(key) => Ok(*key),
            KeySource::File(path) => read(kind, path).map_err(|e| NodeError::Input(format!("{}: {e}", path.display()))),
        }
    }
}

fn prefix(kind: KeyKind) -> &'static str {
    match kind {
        KeyKind::Public => PUBLIC_PREFIX,
        KeyKind::Private => PRIVATE_PREFIX,
    }
}

/// A warning when the private key file at `path` can be read or written by anyone but its
/// owner (bitmarkd writes it 0600); `None` when it cannot.
pub fn exposure_warning(path: &Path) -> Option<String> {
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "{} is readable by others (mode {mode:04o}): anyone on this machine can take the node's identity; run chmod 600 on it",
            path.display()
        )
    })
}

/// Read and parse a key file.
pub fn read(kind: KeyKind, path: &Path) -> Result<[u8; 32]> {
    let text = std::fs::read_to_string(path).map_err(|e| NodeError::io(path.display(), e))?;
    parse(kind, &text)
}

/// Write a key file with `mode`, refusing to overwrite an existing file as bitmarkd does, and
/// refusing a file name that is itself a key (a key value mistaken for a file name).
pub fn write_new(path: &Path, kind: KeyKind, key: &[u8; 32], mode: u32) -> Result<()> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if name.starts_with(PUBLIC_PREFIX) || name.starts_with(PRIVATE_PREFIX) {
        return Err(NodeError::Input("refusing to write a key file whose name is a key".into()));
    }
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

/// The node's key pair from `public` and `private`; when both are files and neither exists, a
/// new pair is made and written (`create` is [`create_pair`]). One file without the other, a
/// missing file beside an inline key (a pair cannot be made around a given key), or two halves
/// that do not belong together, is an error naming them.
pub fn load_or_create(
    public: &KeySource,
    private: &KeySource,
    create: impl FnOnce(&Path, &Path) -> Result<CurveKeys>,
) -> Result<(CurveKeys, bool)> {
    fn missing(source: &KeySource) -> Option<&Path> {
        source.file().filter(|path| !path.exists())
    }
    match (missing(public), missing(private)) {
        (None, None) => {}
        (Some(public_path), Some(private_path)) => {
            for path in [public_path, private_path] {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| NodeError::io(dir.display(), e))?;
                }
            }
            return Ok((create(private_path, public_path)?, true));
        }
        (Some(absent), None) | (None, Some(absent)) => {
            let found = if missing(public).is_some() { private } else { public };
            let fix = match found {
                KeySource::File(_) => "restore it, or remove both to make a new pair",
                KeySource::Inline(_) => {
                    "restore it (a pair is only made when both halves are files and both are missing)"
                }
            };
            return Err(NodeError::Input(format!(
                "{} exists but {} does not: {fix}",
                found.describe(),
                absent.display()
            )));
        }
    }
    let public_key = public.load(KeyKind::Public)?;
    let secret = private.load(KeyKind::Private)?;
    if public_of(&secret) != public_key {
        return Err(NodeError::Input(format!(
            "{} does not hold the public key of {}",
            public.describe(),
            private.describe()
        )));
    }
    Ok((CurveKeys { public: public_key, secret }, false))
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
        let sources = (KeySource::File(public.clone()), KeySource::File(private.clone()));
        let create = create_pair;
        let (made, created) = load_or_create(&sources.0, &sources.1, create).unwrap();
        assert!(created);
        let (read, created) = load_or_create(&sources.0, &sources.1, create).unwrap();
        assert!(!created);
        assert_eq!(read, made);
        // A public key from another pair is refused.
        std::fs::remove_file(&public).unwrap();
        let other = CurveKeys::generate().unwrap();
        write_new(&public, KeyKind::Public, &other.public, 0o644).unwrap();
        let e = load_or_create(&sources.0, &sources.1, create).unwrap_err().to_string();
        assert!(e.contains("does not hold the public key"), "{e}");
        // One file alone is refused, naming both.
        std::fs::remove_file(&public).unwrap();
        let e = load_or_create(&sources.0, &sources.1, create).unwrap_err().to_string();
        assert!(e.contains("peer.private exists but") && e.contains("peer.public does not"), "{e}");
    }

    #[test]
    fn key_settings_are_keys_or_file_names() {
        let dir = Path::new("/data");
        let public = format!("PUBLIC:{}", "ab".repeat(32));
        let private = format!("PRIVATE:{}\n", "cd".repeat(32));
        assert_eq!(KeySource::from_setting(KeyKind::Public, &public, dir), Ok(KeySource::Inline([0xab; 32])));
        assert_eq!(KeySource::from_setting(KeyKind::Private, &private, dir), Ok(KeySource::Inline([0xcd; 32])));
        assert_eq!(
            KeySource::from_setting(KeyKind::Public, "peer.public", dir),
            Ok(KeySource::File(PathBuf::from("/data/peer.public")))
        );
        // A key of the wrong kind, a damaged key, or a bare hex key is never a file name.
        for (kind, text) in [
            (KeyKind::Private, public.clone()),
            (KeyKind::Public, "PUBLIC:abcd".to_string()),
            (KeyKind::Public, "ab".repeat(32)),
            (KeyKind::Public, " ".to_string()),
        ] {
            assert!(KeySource::from_setting(kind, &text, dir).is_err(), "{text}");
        }
        // Never printed.
        assert_eq!(format!("{:?}", KeySource::Inline([1; 32])), "Inline(..)");
    }

    #[test]
    fn inline_keys_are_checked_and_never_written() {
        let keys = CurveKeys::generate().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let never = |_: &Path, _: &Path| -> Result<CurveKeys> { panic!("no pair may be made") };
        let (public, private) = (KeySource::Inline(keys.public), KeySource::Inline(keys.secret));
        assert_eq!(load_or_create(&public, &private, never).unwrap(), (keys.clone(), false));
        // An inline half beside a missing file is refused, not completed with a new pair.
        let file = KeySource::File(dir.path().join("peer.private"));
        let e = load_or_create(&public, &file, never).unwrap_err().to_string();
        assert!(e.contains("the key given inline exists but") && e.contains("peer.private does not"), "{e}");
        // Halves of different pairs.
        let other = CurveKeys::generate().unwrap();
        let e = load_or_create(&KeySource::Inline(other.public), &private, never).unwrap_err().to_string();
        assert!(e.contains("does not hold the public key"), "{e}");
        // A key file named like a key is never created.
        let named = dir.path().join(format!("PRIVATE:{}", "00".repeat(32)));
        assert!(write_new(&named, KeyKind::Private, &keys.secret, 0o600).is_err());
        assert!(!named.exists());
    }

    #[test]
    fn exposed_private_keys_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("peer.private");
        write_new(&path, KeyKind::Private, &[1; 32], 0o600).unwrap();
        assert_eq!(exposure_warning(&path), None);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let warning = exposure_warning(&path).unwrap();
        assert!(warning.contains("readable by others (mode 0644)") && warning.contains("chmod 600"), "{warning}");
    }
}
