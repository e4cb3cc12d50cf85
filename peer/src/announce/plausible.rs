//! Plausibility checks on what other nodes announce. bitmarkd stores any key of any length and any
//! listener bytes (`docs/protocol.md#unauthenticated-announcements`), which lets one client fill
//! the tables with junk and hand us listener bytes that crash the connector. We refuse what cannot
//! be a real peer.

use crate::wire::packed_address;
use std::net::SocketAddr;

/// Length of a CURVE public key and of an RPC certificate fingerprint.
pub const KEY_LEN: usize = 32;

/// Most listener records we accept in one announcement. bitmarkd nodes announce one IPv4 and one
/// IPv6 address; a few more are tolerated. More would only bloat the table and the `R` replies.
pub const MAX_LISTENER_RECORDS: usize = 4;

/// bitmarkd's limit on the packed RPC addresses of an `rpc` announcement (`rpc.go` `addressLimit`).
pub const MAX_RPC_LISTENER_BYTES: usize = 100;

/// Why an announcement was not taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Implausible {
    /// The key or fingerprint is not 32 bytes.
    KeyLength,
    /// It is our own key or fingerprint (only we announce that).
    OwnKey,
    /// The listener bytes are not 1 to [`MAX_LISTENER_RECORDS`] complete, valid records with
    /// a non-zero port and a specified address, end to end.
    Listeners,
}

/// The addresses of `packed` if it is a plausible listener list: every byte belongs to a valid
/// record (7- or 19-byte form), there are 1..=[`MAX_LISTENER_RECORDS`] of them, and none has
/// port 0 or the unspecified address. Loopback and private addresses pass: test networks use them.
pub fn listener_addresses(packed: &[u8]) -> Option<Vec<SocketAddr>> {
    let mut addrs = Vec::new();
    let mut rest = packed;
    while !rest.is_empty() {
        if addrs.len() == MAX_LISTENER_RECORDS {
            return None;
        }
        let (addr, used) = packed_address::unpack(rest)?;
        if addr.port() == 0 || addr.ip().is_unspecified() {
            return None;
        }
        addrs.push(addr);
        rest = rest.get(used..)?;
    }
    (!addrs.is_empty()).then_some(addrs)
}

/// A plausible listener list re-packed in the 19-byte form, which is what we store, hand out in
/// `R` replies and write to `peers.json` (bitmarkd's restore only takes 19-byte records).
pub fn normalise_listeners(packed: &[u8]) -> Result<Vec<u8>, Implausible> {
    listener_addresses(packed).map(|addrs| packed_address::pack_all(&addrs)).ok_or(Implausible::Listeners)
}

/// Check a key or fingerprint announced by someone else against our own.
pub fn check_key(key: &[u8], own: &[u8]) -> Result<[u8; KEY_LEN], Implausible> {
    let key = <[u8; KEY_LEN]>::try_from(key).map_err(|_| Implausible::KeyLength)?;
    if key == own {
        return Err(Implausible::OwnKey);
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::packed_address::{pack, pack_all};

    fn addr(text: &str) -> SocketAddr {
        text.parse().unwrap()
    }

    #[test]
    fn listener_lists() {
        let v4 = addr("192.0.2.1:2136");
        let v6 = addr("[2001:db8::1]:2136");
        let both = pack_all(&[v4, v6]);
        assert_eq!(listener_addresses(&both), Some(vec![v4, v6]));
        assert_eq!(normalise_listeners(&both), Ok(both.clone()));
        // The 7-byte IPv4 form is accepted and stored as 19 bytes.
        let short = [7, 0x08, 0x58, 192, 0, 2, 1];
        assert_eq!(normalise_listeners(&short), Ok(pack(&v4).to_vec()));
        // Empty, trailing junk, truncated, too many, port 0, unspecified: refused.
        assert_eq!(normalise_listeners(&[]), Err(Implausible::Listeners));
        assert_eq!(listener_addresses(&[both.clone(), vec![0]].concat()), None);
        assert_eq!(listener_addresses(both.get(..30).unwrap()), None);
        assert_eq!(listener_addresses(&pack_all(&[v4; MAX_LISTENER_RECORDS])).map(|a| a.len()), Some(4));
        assert_eq!(listener_addresses(&pack_all(&[v4; MAX_LISTENER_RECORDS + 1])), None);
        assert_eq!(listener_addresses(&pack_all(&[addr("192.0.2.1:0")])), None);
        assert_eq!(listener_addresses(&pack_all(&[addr("0.0.0.0:1")])), None);
        assert_eq!(listener_addresses(&pack_all(&[addr("[::]:1")])), None);
        assert!(listener_addresses(&pack_all(&[addr("127.0.0.1:22136")])).is_some());
    }

    #[test]
    fn keys() {
        let own = [1u8; 32];
        assert_eq!(check_key(&[2; 32], &own), Ok([2; 32]));
        assert_eq!(check_key(&own, &own), Err(Implausible::OwnKey));
        assert_eq!(check_key(&[2; 31], &own), Err(Implausible::KeyLength));
        assert_eq!(check_key(&[2; 33], &own), Err(Implausible::KeyLength));
        assert_eq!(check_key(&[], &own), Err(Implausible::KeyLength));
    }
}
