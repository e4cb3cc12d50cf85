//! bitmarkd's `interface_public_ips`: the addresses of this machine's interfaces that are
//! globally routable unicast, without RFC 1918 and RFC 3927 IPv4 ranges and RFC 4193 IPv6
//! unique-local addresses (`configuration/luareader.go`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The machine's public interface addresses as text, in interface order.
pub fn public_ips() -> Vec<String> {
    interface_addresses().into_iter().filter(is_public).map(|ip| ip.to_string()).collect()
}

/// Whether bitmarkd would list `ip`: Go's `IsGlobalUnicast` less the private ranges.
pub fn is_public(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            let special = v4.is_unspecified() || v4.is_loopback() || v4.is_multicast() || v4.is_broadcast();
            let link_local = a == 169 && b == 254;
            let private = a == 10 || (a == 172 && (16..32).contains(&b)) || (a == 192 && b == 168);
            !(special || link_local || private)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments().first().copied().unwrap_or(0);
            let link_local = first & 0xffc0 == 0xfe80;
            let unique_local = first & 0xfe00 == 0xfc00;
            !(v6.is_unspecified() || v6.is_loopback() || v6.is_multicast() || link_local || unique_local)
        }
    }
}

/// Every IPv4 and IPv6 address of every interface (`getifaddrs(3)`); none if it fails.
fn interface_addresses() -> Vec<IpAddr> {
    let mut found = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we only read and then free once.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return found;
    }
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned, not yet freed; its
        // address, when not null, points at a sockaddr of the family it names.
        unsafe {
            let entry = &*cursor;
            if !entry.ifa_addr.is_null() {
                match i32::from((*entry.ifa_addr).sa_family) {
                    libc::AF_INET => {
                        let v4 = &*(entry.ifa_addr as *const libc::sockaddr_in);
                        found.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))));
                    }
                    libc::AF_INET6 => {
                        let v6 = &*(entry.ifa_addr as *const libc::sockaddr_in6);
                        found.push(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)));
                    }
                    _ => {}
                }
            }
            cursor = entry.ifa_next;
        }
    }
    // SAFETY: the list getifaddrs allocated, freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_local_addresses_are_left_out() {
        for private in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.1",
            "192.168.1.1",
            "169.254.3.4",
            "127.0.0.1",
            "fd00::1",
            "fe80::1",
            "::1",
        ] {
            assert!(!is_public(&private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "172.32.0.1", "192.0.2.1", "2001:db8::1"] {
            assert!(is_public(&public.parse().unwrap()), "{public}");
        }
        // Loopback interfaces exist everywhere and are never listed.
        assert!(!public_ips().iter().any(|ip| ip == "127.0.0.1"));
    }
}
