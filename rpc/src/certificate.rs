//! The TLS certificate of the RPC listeners (rpc/certificate): bitmarkd's PEM `rpc.crt` and
//! `rpc.key` load unchanged — `gen-rpc-cert` makes ECDSA P-521 keys, which the aws-lc-rs
//! crypto provider signs with — and a self-signed pair (ECDSA P-521, ten years, for
//! `localhost`, `127.0.0.1` and `::1`) is made on first run when none is configured. The
//! fingerprint is bitmarkd's: SHA3-256 of the certificate's DER bytes, announced in the RPC
//! table and shown to clients so they can pin it.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use sha3::{Digest, Sha3_256};
use std::path::Path;
use std::sync::Arc;

/// Why a certificate pair could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// A file could not be read or written.
    #[error("{path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// Why.
        reason: String,
    },
    /// The pair does not make a TLS configuration (bad PEM, unsupported key, key and
    /// certificate do not match).
    #[error("{0}")]
    Tls(String),
}

fn file_error(path: &Path, reason: impl std::fmt::Display) -> CertificateError {
    CertificateError::File { path: path.display().to_string(), reason: reason.to_string() }
}

/// A loaded certificate pair.
pub struct Certificate {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Certificate({})", hex::encode(self.fingerprint()))
    }
}

impl Certificate {
    /// Parse PEM text: the certificate chain and its private key (PKCS#8, SEC1 `EC PRIVATE
    /// KEY` or PKCS#1).
    pub fn from_pem(certificate: &[u8], key: &[u8]) -> Result<Certificate, CertificateError> {
        let chain = CertificateDer::pem_slice_iter(certificate)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CertificateError::Tls(format!("certificate: {e}")))?;
        if chain.is_empty() {
            return Err(CertificateError::Tls("certificate: no certificate in the PEM text".into()));
        }
        let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| CertificateError::Tls(format!("private key: {e}")))?;
        let certificate = Certificate { chain, key };
        certificate.server_config(&[])?;
        Ok(certificate)
    }

    /// Read the pair from `certificate` and `key`.
    pub fn load(certificate: &Path, key: &Path) -> Result<Certificate, CertificateError> {
        let cert = std::fs::read(certificate).map_err(|e| file_error(certificate, e))?;
        let private = std::fs::read(key).map_err(|e| file_error(key, e))?;
        Certificate::from_pem(&cert, &private)
    }

    /// Load the pair, or make a self-signed one there when neither file exists. The flag says
    /// whether it was made.
    pub fn load_or_create(certificate: &Path, key: &Path) -> Result<(Certificate, bool), CertificateError> {
        if certificate.exists() || key.exists() {
            return Ok((Certificate::load(certificate, key)?, false));
        }
        let (cert_pem, key_pem) = self_signed("rpc")?;
        if let Some(dir) = certificate.parent() {
            std::fs::create_dir_all(dir).map_err(|e| file_error(dir, e))?;
        }
        write_file(key, key_pem.as_bytes(), 0o600)?;
        write_file(certificate, cert_pem.as_bytes(), 0o644)?;
        Ok((Certificate::from_pem(cert_pem.as_bytes(), key_pem.as_bytes())?, true))
    }

    /// bitmarkd's fingerprint: SHA3-256 of the first certificate's DER bytes.
    pub fn fingerprint(&self) -> [u8; 32] {
        let der = self.chain.first().map(|c| c.as_ref()).unwrap_or_default();
        Sha3_256::digest(der).into()
    }

    /// The first certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        self.chain.first().map(|c| c.as_ref()).unwrap_or_default()
    }

    /// A rustls server configuration over the aws-lc-rs provider (the one that signs with
    /// P-521), offering `alpn` (`http/1.1` for HTTPS, none for the JSON-RPC stream).
    pub fn server_config(&self, alpn: &[&[u8]]) -> Result<Arc<rustls::ServerConfig>, CertificateError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| CertificateError::Tls(e.to_string()))?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(|e| CertificateError::Tls(e.to_string()))?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}

fn write_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), CertificateError> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| file_error(path, e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| file_error(path, e))
}

/// A self-signed ECDSA P-521 certificate and key as PEM, like bitmarkd's `gen-rpc-cert`.
pub fn self_signed(name: &str) -> Result<(String, String), CertificateError> {
    let tls = |e: rcgen::Error| CertificateError::Tls(e.to_string());
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P521_SHA512).map_err(tls)?;
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".into(), "::1".into()]).map_err(tls)?;
    params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, format!("bitmark-node self signed cert for: {name}"));
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2124, 1, 1);
    let certificate = params.self_signed(&key).map_err(tls)?;
    Ok((certificate.pem(), key.serialize_pem()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_p521_pair_is_made_once_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (crt, key) = (dir.path().join("rpc.crt"), dir.path().join("rpc.key"));
        let (made, created) = Certificate::load_or_create(&crt, &key).unwrap();
        assert!(created);
        let (loaded, created) = Certificate::load_or_create(&crt, &key).unwrap();
        assert!(!created);
        assert_eq!(made.fingerprint(), loaded.fingerprint());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
        assert!(Certificate::from_pem(b"junk", b"junk").is_err());
    }
}
