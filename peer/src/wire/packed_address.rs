//! bitmarkd's packed listener addresses (`util.PackedConnection`,
//! `docs/protocol.md#packed-addresses`).
//!
//! A list is records placed end to end with no count: `[len][port BE u16][ip]`, where `len` is
//! the whole record's length, 7 (4-byte IPv4) or 19 (16-byte IPv6). Go parses IPv4 text into
//! the 16-byte IPv4-mapped form, so Go nodes send 19-byte records for IPv4 too; we emit only that
//! form, because bitmarkd's `peers.json` restore accepts only multiples of 19 bytes, and accept
//! both on input.
//!
//! Unlike bitmarkd we never trust the length byte: a record claiming more bytes than remain is
//! invalid (bitmarkd slices past the end and crashes:
//! `docs/protocol.md#panics-on-malformed-input`). Decoding stops at the first invalid record, as
//! bitmarkd's does, so anything after it is ignored.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

/// Length of a record holding a 4-byte IPv4 address (accepted, never emitted).
pub const IPV4_RECORD_LEN: usize = 7;
/// Length of a record holding a 16-byte address (IPv6, or IPv4 in its mapped form).
pub const IPV6_RECORD_LEN: usize = 19;

/// Pack one address into the 19-byte record; IPv4 goes in as `::ffff:a.b.c.d`.
pub fn pack(addr: &SocketAddr) -> [u8; IPV6_RECORD_LEN] {
    let ip = match addr.ip() {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    };
    let mut record = [0u8; IPV6_RECORD_LEN];
    let (head, address) = record.split_at_mut(3);
    head.copy_from_slice(&[IPV6_RECORD_LEN as u8, (addr.port() >> 8) as u8, addr.port() as u8]);
    address.copy_from_slice(&ip.octets());
    record
}

/// Pack a list of addresses, one 19-byte record each, in order.
pub fn pack_all(addrs: &[SocketAddr]) -> Vec<u8> {
    addrs.iter().flat_map(pack).collect()
}

/// Decode the first record of `buf`: the address and the number of bytes it used, or `None`
/// when `buf` does not start with a valid, complete record.
///
/// A 19-byte record holding an IPv4-mapped address decodes to an IPv4 address, as Go's
/// `To4()` treats it.
pub fn unpack(buf: &[u8]) -> Option<(SocketAddr, usize)> {
    let (&len, rest) = buf.split_first()?;
    let len = usize::from(len);
    if len != IPV4_RECORD_LEN && len != IPV6_RECORD_LEN {
        return None;
    }
    let [hi, lo, ip @ ..] = rest.get(..len - 1)? else {
        return None;
    };
    let port = u16::from_be_bytes([*hi, *lo]);
    let ip = match <[u8; 4]>::try_from(ip) {
        Ok(v4) => IpAddr::V4(Ipv4Addr::from(v4)),
        Err(_) => {
            let v6 = Ipv6Addr::from(<[u8; 16]>::try_from(ip).ok()?);
            v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)
        }
    };
    Some((SocketAddr::new(ip, port), len))
}

/// Decode records until the buffer ends or a record is invalid; what follows an invalid record
/// is ignored, as bitmarkd does.
pub fn unpack_all(buf: &[u8]) -> Vec<SocketAddr> {
    let mut out = Vec::new();
    let mut rest = buf;
    while let Some((addr, used)) = unpack(rest) {
        out.push(addr);
        rest = rest.get(used..).unwrap_or_default();
    }
    out
}

/// The first IPv4 and the first IPv6 address of a list (bitmarkd's `Unpack46`), the pair the
/// connector chooses from when it dials a peer.
pub fn unpack46(buf: &[u8]) -> (Option<SocketAddrV4>, Option<SocketAddrV6>) {
    let mut v4 = None;
    let mut v6 = None;
    for addr in unpack_all(buf) {
        match addr {
            SocketAddr::V4(a) => {
                v4.get_or_insert(a);
            }
            SocketAddr::V6(a) => {
                v6.get_or_insert(a);
            }
        }
        if v4.is_some() && v6.is_some() {
            break;
        }
    }
    (v4, v6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn hex(text: &str) -> Vec<u8> {
        (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
    }

    fn shown(addrs: &[SocketAddr]) -> Vec<String> {
        addrs.iter().map(ToString::to_string).collect()
    }

    fn shown46(buf: &[u8]) -> (String, String) {
        let (v4, v6) = unpack46(buf);
        let nil = || "<nil>".to_string();
        (v4.map_or_else(nil, |a| a.to_string()), v6.map_or_else(nil, |a| a.to_string()))
    }

    /// bitmarkd `util/canonical_test.go` TestCanonicalUnpack: packed hex, the addresses Unpack
    /// yields in order, and Unpack46's IPv4 and IPv6 results.
    #[test]
    fn bitmarkd_unpack_vectors() {
        let cases: &[(&str, &[&str], &str, &str)] = &[
            (
                "1304d200000000000000000000ffff7f0000011304d200000000000000000000000000000001",
                &["127.0.0.1:1234", "[::1]:1234"],
                "127.0.0.1:1234",
                "[::1]:1234",
            ),
            (
                "1304d2000000000000000000000000000000011304d200000000000000000000ffff7f000001",
                &["[::1]:1234", "127.0.0.1:1234"],
                "127.0.0.1:1234",
                "[::1]:1234",
            ),
            (
                "1301bb2404680040080c0700000000000000661301bb2404680040080c070000000000000066",
                &["[2404:6800:4008:c07::66]:443", "[2404:6800:4008:c07::66]:443"],
                "<nil>",
                "[2404:6800:4008:c07::66]:443",
            ),
            (
                // extraneous data after two records
                "1301bb2404680040080c0700000000000000661301bb2404680040080c07000000000000006600000000\
                 00000000000000000000000000000000",
                &["[2404:6800:4008:c07::66]:443", "[2404:6800:4008:c07::66]:443"],
                "<nil>",
                "[2404:6800:4008:c07::66]:443",
            ),
            (
                // bad length bytes 0x14 and 0x10: nothing
                "1401bb2404680040080c0700000000000000661001bb2404680040080c07000000000000006600000000\
                 00000000000000000000000000000000",
                &[],
                "<nil>",
                "<nil>",
            ),
            (
                // bad data followed by good addresses: all bad
                "01221304d200000000000000000000ffff7f0000011304d200000000000000000000000000000001",
                &[],
                "<nil>",
                "<nil>",
            ),
        ];
        for (packed, addresses, v4, v6) in cases {
            let buf = hex(&packed.replace(' ', ""));
            assert_eq!(shown(&unpack_all(&buf)), *addresses, "{packed}");
            assert_eq!(shown46(&buf), (v4.to_string(), v6.to_string()), "{packed}");
        }
    }

    /// bitmarkd TestCanonical's pack/unpack round trip and the packed forms of
    /// `docs/protocol.md#packed-addresses`.
    #[test]
    fn bitmarkd_pack_vectors() {
        let cases = [
            ("127.0.0.1:1234", "1304d200000000000000000000ffff7f000001"),
            ("[::1]:1234", "1304d200000000000000000000000000000001"),
            ("127.0.0.1:1", "13000100000000000000000000ffff7f000001"),
            ("127.0.0.1:65535", "13ffff00000000000000000000ffff7f000001"),
            ("0.0.0.0:1234", "1304d200000000000000000000ffff00000000"),
            ("[::]:1234", "1304d200000000000000000000000000000000"),
            ("[2404:6800:4008:c07::66]:443", "1301bb2404680040080c070000000000000066"),
        ];
        for (text, packed) in cases {
            let addr: SocketAddr = text.parse().unwrap();
            let record = pack(&addr);
            assert_eq!(record.to_vec(), hex(packed), "{text}");
            assert_eq!(unpack(&record), Some((addr, IPV6_RECORD_LEN)), "{text}");
            assert_eq!(unpack(&record).unwrap().0.to_string(), text);
        }
    }

    #[test]
    fn accepts_seven_byte_ipv4() {
        let buf = hex("0704d27f000001");
        assert_eq!(unpack(&buf), Some(("127.0.0.1:1234".parse().unwrap(), 7)));
        let both = [buf.clone(), pack(&"[::1]:9".parse().unwrap()).to_vec()].concat();
        assert_eq!(shown(&unpack_all(&both)), ["127.0.0.1:1234", "[::1]:9"]);
    }

    #[test]
    fn never_trusts_the_length_byte() {
        let full = pack(&"[::1]:1234".parse().unwrap());
        for cut in 0..full.len() {
            assert_eq!(unpack(&full[..cut]), None, "cut at {cut}");
        }
        // A 7-byte buffer claiming 19 bytes (bitmarkd slices past the end here).
        assert_eq!(unpack(&hex("1304d27f000001")), None);
        // A good record followed by a truncated one yields just the good one.
        let two = [full.to_vec(), full[..10].to_vec()].concat();
        assert_eq!(unpack_all(&two).len(), 1);
        assert_eq!(unpack46(&two).1, Some("[::1]:1234".parse().unwrap()));
    }

    fn any_addr() -> impl Strategy<Value = SocketAddr> {
        prop_oneof![
            (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| SocketAddr::from((ip, port))),
            (any::<[u8; 16]>(), any::<u16>()).prop_map(|(ip, port)| {
                // A mapped address decodes as IPv4; normalise so the round trip compares equal.
                let v6 = Ipv6Addr::from(ip);
                let ip = v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4);
                SocketAddr::new(ip, port)
            }),
        ]
    }

    proptest! {
        #[test]
        fn pack_unpack_round_trip(addrs in proptest::collection::vec(any_addr(), 0..6)) {
            let packed = pack_all(&addrs);
            prop_assert_eq!(packed.len(), addrs.len() * IPV6_RECORD_LEN);
            prop_assert_eq!(unpack_all(&packed), addrs);
        }

        #[test]
        fn unpack_is_total(buf in proptest::collection::vec(any::<u8>(), 0..80)) {
            let addrs = unpack_all(&buf);
            prop_assert!(addrs.len() * IPV4_RECORD_LEN <= buf.len());
            let _ = unpack46(&buf);
        }
    }
}
