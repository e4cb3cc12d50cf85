//! bitmarkd's DNS TXT node records (`announce/domain/txt.go`, `announce/doc.go`,
//! `docs/protocol.md#dns-bootstrap`), for example
//! `bitmark=v3 a=118.163.120.178;[2001:b030::120] c=2136 r=2130 f=<64 hex> p=<64 hex>`.
//!
//! Space-separated words; the first must be `bitmark=v3` or `bitmark=v2`; empty words are
//! skipped; every other word is `<letter>=<value>` with at least one character of value:
//! `a=` IPv4 and/or IPv6 addresses separated by `;` (IPv6 optionally in brackets; the last of
//! each family wins), `c=` peer port, `r=` RPC port, `s=` a port that is checked but unused,
//! `p=` the 64-hex-digit public key, `f=` the 64-hex-digit certificate fingerprint. Exactly one
//! each of `a`, `c`, `f`, `p` and `r`. The first bad word decides the fault.

use crate::wire::packed_address::pack_all;
use bitmark_record::Fault;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The version tags accepted as the first word.
pub const VERSIONS: [&str; 2] = ["bitmark=v2", "bitmark=v3"];

/// One parsed record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxtRecord {
    /// The IPv4 address (also from an IPv4-mapped IPv6 text, as Go's `To4` sees it).
    pub ipv4: Option<Ipv4Addr>,
    /// The IPv6 address.
    pub ipv6: Option<Ipv6Addr>,
    /// The RPC port (`r=`).
    pub rpc_port: u16,
    /// The peer port (`c=`).
    pub connect_port: u16,
    /// The RPC certificate fingerprint (`f=`). Not used by bitmarkd beyond parsing.
    pub fingerprint: [u8; 32],
    /// The peer public key (`p=`).
    pub public_key: [u8; 32],
}

impl TxtRecord {
    /// The packed peer listeners bitmarkd adds for the record: IPv4 then IPv6, each with the
    /// peer port.
    pub fn listeners(&self) -> Vec<u8> {
        let addrs: Vec<SocketAddr> = [self.ipv4.map(IpAddr::V4), self.ipv6.map(IpAddr::V6)]
            .into_iter()
            .flatten()
            .map(|ip| SocketAddr::new(ip, self.connect_port))
            .collect();
        pack_all(&addrs)
    }
}

/// Parse one TXT record with bitmarkd's rules. Where bitmarkd panics (an empty address between
/// `;`s, or a trailing `;`) we give `InvalidIpAddress`.
pub fn parse(text: &str) -> Result<TxtRecord, Fault> {
    let mut words = text.trim().split(' ');
    if !words.next().is_some_and(|tag| VERSIONS.contains(&tag)) {
        return Err(Fault::InvalidDnsTxtRecord);
    }
    let (mut ipv4, mut ipv6) = (None, None);
    let (mut rpc_port, mut connect_port) = (0, 0);
    let (mut fingerprint, mut public_key) = ([0; 32], [0; 32]);
    let mut counts = [0usize; 5]; // a, c, f, p, r
    for word in words.filter(|w| !w.is_empty()) {
        let (tag, value) = match word.as_bytes() {
            [tag, b'=', _, ..] => (*tag, word.get(2..).unwrap_or_default()),
            _ => return Err(Fault::InvalidDnsTxtRecord),
        };
        match tag {
            b'a' => {
                for address in value.split(';') {
                    match parse_ip(address).ok_or(Fault::InvalidIpAddress)? {
                        IpAddr::V4(v4) => ipv4 = Some(v4),
                        IpAddr::V6(v6) => ipv6 = Some(v6),
                    }
                }
                counts[0] += 1;
            }
            b'c' => {
                connect_port = port(value)?;
                counts[1] += 1;
            }
            b's' => {
                port(value)?;
            }
            b'r' => {
                rpc_port = port(value)?;
                counts[4] += 1;
            }
            b'p' => {
                public_key = hex32(value).ok_or(Fault::InvalidPublicKey)?;
                counts[3] += 1;
            }
            b'f' => {
                fingerprint = hex32(value).ok_or(Fault::InvalidFingerprint)?;
                counts[2] += 1;
            }
            _ => return Err(Fault::InvalidDnsTxtRecord),
        }
    }
    if counts != [1; 5] {
        return Err(Fault::InvalidDnsTxtRecord);
    }
    Ok(TxtRecord { ipv4, ipv6, rpc_port, connect_port, fingerprint, public_key })
}

/// bitmarkd's `Lookup` over the TXT strings of a domain: each is trimmed and parsed, and the bad
/// ones are skipped (logged at debug level).
pub fn parse_all<S: AsRef<str>>(texts: &[S]) -> Vec<TxtRecord> {
    texts
        .iter()
        .enumerate()
        .filter_map(|(i, text)| {
            let text = text.as_ref().trim();
            parse(text)
                .map_err(
                    |fault| tracing::debug!(target: "peer::announce", index = i, text, %fault, "ignoring TXT record"),
                )
                .ok()
                .filter(|r| r.ipv4.is_some() || r.ipv6.is_some())
        })
        .collect()
}

/// An address of `a=`: IPv4 or IPv6 text, IPv6 optionally in brackets. IPv4-mapped IPv6 counts
/// as IPv4 (Go's `To4`).
fn parse_ip(address: &str) -> Option<IpAddr> {
    let bare = address.strip_prefix('[').and_then(|a| a.strip_suffix(']')).unwrap_or(address);
    match bare.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        v4 => Some(v4),
    }
}

/// A port as Go's `strconv.Atoi` then the 1..=65535 check.
fn port(text: &str) -> Result<u16, Fault> {
    text.parse::<i64>().ok().and_then(|p| u16::try_from(p).ok()).filter(|&p| p != 0).ok_or(Fault::InvalidPortNumber)
}

/// Exactly 64 hex digits (either case).
fn hex32(text: &str) -> Option<[u8; 32]> {
    let mut out = [0; 32];
    (text.len() == 64).then(|| hex::decode_to_slice(text, &mut out).ok()).flatten().map(|()| out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "48137A7A76934CAFE7635C9AC05339C20F4C00A724D7FA1DC0DC3875476ED004";
    const PK: &str = "202c14ec485c21d0d18e9dfd096bd760a558d5ee1139f8e4b2e15863433e7d51";
    const V6: &str = "2001:b030:2314:0200:4649:583d:0001:0120";

    /// bitmarkd's `announce/domain/txt_test.go` TestValidTag, all 27 cases, with the faults
    /// (None = valid). Each is also run through `parse_all`, which keeps exactly the valid ones.
    #[test]
    fn bitmarkd_txt_cases() {
        let good = format!("a=118.163.120.178;{V6} r=33566 f={FP} c=32136 p={PK}");
        let cases: Vec<(u32, String, Option<Fault>)> = vec![
            (1, format!("bitmark=v3 {good}"), None),
            (2, format!("bitmark=v3 {good}"), None),
            (3, format!("bitmark=v3 a=118.163.120.178;[{V6}] r=33566 f={FP} c=32136 p={PK}"), None),
            (4, "bitmark=v3 a=".into(), Some(Fault::InvalidDnsTxtRecord)),
            (5, "bitmark=v3 a= p=".into(), Some(Fault::InvalidDnsTxtRecord)),
            (6, "bitmark=v3 a".into(), Some(Fault::InvalidDnsTxtRecord)),
            (7, "bitmark=v3 a p".into(), Some(Fault::InvalidDnsTxtRecord)),
            (8, format!("bitmark=v3 r=33566 f={FP} c=32136 p={PK}"), Some(Fault::InvalidDnsTxtRecord)),
            (9, format!("bitmark=v3 a=118.163.120.178;[{V6}] f={FP} c=32136 p={PK}"), Some(Fault::InvalidDnsTxtRecord)),
            (10, format!("bitmark=v3 a=118.163.120.178;[{V6}] r=33566 c=32136 p={PK}"), Some(Fault::InvalidDnsTxtRecord)),
            (11, format!("bitmark=v3 a=118.163.120.178;[{V6}] r=33566 f={FP} p={PK}"), Some(Fault::InvalidDnsTxtRecord)),
            (12, format!("bitmark=v3 a=118.163.120.178;[{V6}] r=33566 f={FP} c=32136"), Some(Fault::InvalidDnsTxtRecord)),
            (13, format!("bitmark=v3 a=300.163.120.178;{V6} r=33566 f={FP} c=32136 p={PK}"), Some(Fault::InvalidIpAddress)),
            (
                14,
                format!("bitmark=v3 a=118.163.120.178;2001:x030:2314:0200:4649:583d:0001:0120 r=33566 f={FP} c=32136 p={PK}"),
                Some(Fault::InvalidIpAddress),
            ),
            (
                15,
                format!("bitmark=v3 a=118.163.120.178;{V6} r=335669 f={FP} s=32135 c=32136 p={PK}"),
                Some(Fault::InvalidPortNumber),
            ),
            (16, format!("bitmark=v3 a=118.163.120.178;{V6} r=0 f={FP} c=32136 p={PK}"), Some(Fault::InvalidPortNumber)),
            (17, format!("bitmark=v3 a=118.163.120.178;{V6} r=-12 f={FP} c=32136 p={PK}"), Some(Fault::InvalidPortNumber)),
            (18, format!("bitmark=v3 a=118.163.120.178;{V6} r=335x669 f={FP} c=32136 p={PK}"), Some(Fault::InvalidPortNumber)),
            (
                19,
                format!("bitmark=v3 a=118.163.120.178;{V6} r=33566 f=48137A7A761934CAFE7635C9AC05339C20F4C00A724D7FA1DC0DC3875476ED004 c=32136 p={PK}"),
                Some(Fault::InvalidFingerprint),
            ),
            (
                20,
                format!("bitmark=v3 a=118.163.120.178;{V6} r=33566 f=461934CAFE7635C9AC05339C20F4C00A724D7FA1DC0DC3875476ED04 c=32136 p={PK}"),
                Some(Fault::InvalidFingerprint),
            ),
            (
                21,
                format!("bitmark=v3 a=118.163.120.178;{V6} r=33566 f=48137A7A76934CZFE7635C9AC05339C20F4C00A724D7FA1DC0DC3875476ED04 c=32136 p={PK}"),
                Some(Fault::InvalidFingerprint),
            ),
            (22, format!("bitmark=v3 a=118.163.120.178;{V6} r=33566 f={FP} c=321369 p={PK}"), Some(Fault::InvalidPortNumber)),
            (23, format!("bitmark=v3 a=118.163.120.178;{V6} r=33566 f={FP} c=32136 p=1{PK}"), Some(Fault::InvalidPublicKey)),
            (
                24,
                format!("bitmark=v3 a=118.163.120.178;{V6} r=33566 f={FP} c=32136 p=202c1pec485c21d0d18e9dfd096bd760a558d5ee1139f8e4b2e15863433e7d51"),
                Some(Fault::InvalidPublicKey),
            ),
            (25, format!("bitmark=v2 a=118.163.120.178;{V6} r=33566 f={FP} s=32135 c=32136 p={PK}"), None),
            (
                26,
                format!("bitmark=v0 a=118.163.120.178;{V6} r=33566 f={FP} s=32135 c=32136 p=202c1pec485c21d0d18e9dfd096bd760a558d5ee1139f8e4b2e15863433e7d51"),
                Some(Fault::InvalidDnsTxtRecord),
            ),
            (27, "hello world".into(), Some(Fault::InvalidDnsTxtRecord)),
        ];
        assert_eq!(cases.len(), 27);
        for (id, text, fault) in &cases {
            assert_eq!(parse(text).err(), *fault, "case {id}: {text}");
            assert_eq!(parse_all(&[text]).len(), usize::from(fault.is_none()), "case {id}");
        }
    }

    #[test]
    fn parsed_values_and_listeners() {
        let text = format!("  bitmark=v3  a=118.163.120.178;[{V6}] r=33566 f={FP} c=32136 p={PK} ");
        let record = parse(&text).unwrap();
        assert_eq!(record.ipv4, Some(Ipv4Addr::new(118, 163, 120, 178)));
        assert_eq!(record.ipv6, Some(V6.parse().unwrap()));
        assert_eq!((record.rpc_port, record.connect_port), (33566, 32136));
        assert_eq!(hex::encode_upper(record.fingerprint), FP);
        assert_eq!(hex::encode(record.public_key), PK);
        let addrs = crate::wire::packed_address::unpack_all(&record.listeners());
        assert_eq!(
            addrs,
            [SocketAddr::from(([118, 163, 120, 178], 32136)), SocketAddr::new(IpAddr::V6(V6.parse().unwrap()), 32136)]
        );
        assert_eq!(record.listeners().len(), 38);
    }

    #[test]
    fn edge_cases() {
        let rest = format!("r=1 f={FP} c=2 p={PK}");
        let with = |a: &str| parse(&format!("bitmark=v3 a={a} {rest}"));
        // The last address of each family wins; a mapped IPv6 text is IPv4.
        let r = with("1.2.3.4;5.6.7.8;::1").unwrap();
        assert_eq!((r.ipv4, r.ipv6), (Some(Ipv4Addr::new(5, 6, 7, 8)), Some(Ipv6Addr::LOCALHOST)));
        assert_eq!(with("::ffff:9.9.9.9").unwrap().ipv4, Some(Ipv4Addr::new(9, 9, 9, 9)));
        assert_eq!(with("[::1]").unwrap().ipv6, Some(Ipv6Addr::LOCALHOST));
        // bitmarkd panics on an empty item; we refuse the record.
        assert_eq!(with("1.2.3.4;").err(), Some(Fault::InvalidIpAddress));
        assert_eq!(with(";1.2.3.4").err(), Some(Fault::InvalidIpAddress));
        assert_eq!(with("[]").err(), Some(Fault::InvalidIpAddress));
        assert_eq!(with("[::1").err(), Some(Fault::InvalidIpAddress));
        assert_eq!(with("01.2.3.4").err(), Some(Fault::InvalidIpAddress));
        // Go's Atoi takes a sign.
        assert_eq!(parse(&format!("bitmark=v3 a=1.2.3.4 r=+80 f={FP} c=2 p={PK}")).unwrap().rpc_port, 80);
        assert_eq!(
            parse(&format!("bitmark=v3 a=1.2.3.4 r=65536 f={FP} c=2 p={PK}")).err(),
            Some(Fault::InvalidPortNumber)
        );
        assert_eq!(parse(&format!("bitmark=v3 a=1.2.3.4 r=65535 f={FP} c=2 p={PK}")).unwrap().rpc_port, 65535);
        // Duplicates, unknown tags, upper-case tags, `s=` is checked.
        assert_eq!(parse(&format!("bitmark=v3 a=1.2.3.4 a=1.2.3.4 {rest}")).err(), Some(Fault::InvalidDnsTxtRecord));
        assert_eq!(parse(&format!("bitmark=v3 a=1.2.3.4 x=1 {rest}")).err(), Some(Fault::InvalidDnsTxtRecord));
        assert_eq!(parse(&format!("bitmark=v3 A=1.2.3.4 {rest}")).err(), Some(Fault::InvalidDnsTxtRecord));
        assert_eq!(parse(&format!("bitmark=v3 a=1.2.3.4 s=0 {rest}")).err(), Some(Fault::InvalidPortNumber));
        // Not ASCII, tabs are not separators.
        assert_eq!(parse(&format!("bitmark=v3 é=1 {rest}")).err(), Some(Fault::InvalidDnsTxtRecord));
        assert_eq!(parse(&format!("bitmark=v3\ta=1.2.3.4 {rest}")).err(), Some(Fault::InvalidDnsTxtRecord));
        assert_eq!(parse("").err(), Some(Fault::InvalidDnsTxtRecord));
    }

    proptest::proptest! {
        #[test]
        fn parse_is_total(text in "\\PC{0,120}") {
            let _ = parse(&text);
        }

        #[test]
        fn parse_is_total_near_valid(a in "[0-9a-f:.;\\[\\]]{0,40}", c in "[-+0-9x]{0,7}") {
            let _ = parse(&format!("bitmark=v3 a={a} r=1 f={FP} c={c} p={PK}"));
        }
    }
}
