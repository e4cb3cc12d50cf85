//! What peer discovery can fail with: `peers.json` (read, written, decoded), the `nodes`
//! setting and the DNS TXT bootstrap. Texts that bitmarkd also shows are bitmarkd's.

use std::path::PathBuf;

/// Why reading or writing `peers.json`, parsing the `nodes` setting or a DNS lookup failed.
#[derive(Debug, thiserror::Error)]
pub enum AnnounceError {
    /// Reading or writing `peers.json` failed.
    #[error("peers.json {path}: {source}")]
    BackupIo {
        /// The file.
        path: PathBuf,
        /// The reason.
        source: std::io::Error,
    },
    /// `peers.json` does not start with a JSON value.
    #[error("peers.json: {0}")]
    BackupJson(#[source] serde_json::Error),
    /// The JSON value of `peers.json` is neither an array nor `null`.
    #[error("peers.json: not a list")]
    BackupNotAList,
    /// No DNS resolver is configured for the TXT bootstrap.
    #[error("no DNS resolver configured")]
    NoResolver,
    /// The DNS resolver failed (the text says how).
    #[error("DNS lookup: {0}")]
    DnsLookup(String),
    /// The `nodes` setting is empty (bitmarkd's text).
    #[error("nodes cannot be blank choose from: none, chain or sub.domain.tld")]
    BlankNodes,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The texts others see (logs, configuration errors): bitmarkd's where it has one.
    #[test]
    fn texts() {
        let cases: [(AnnounceError, &str); 4] = [
            (AnnounceError::NoResolver, "no DNS resolver configured"),
            (AnnounceError::DnsLookup("SERVFAIL".into()), "DNS lookup: SERVFAIL"),
            (AnnounceError::BlankNodes, "nodes cannot be blank choose from: none, chain or sub.domain.tld"),
            (AnnounceError::BackupNotAList, "peers.json: not a list"),
        ];
        for (error, text) in cases {
            assert_eq!(error.to_string(), text);
        }
        let io = AnnounceError::BackupIo { path: "/x/peers.json".into(), source: std::io::ErrorKind::NotFound.into() };
        assert!(io.to_string().starts_with("peers.json /x/peers.json: "));
    }
}
