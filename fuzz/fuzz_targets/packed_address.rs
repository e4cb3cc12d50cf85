//! Packed listener addresses come straight from the network (`R`, `peer`, peers.json): any bytes
//! must unpack to addresses or to nothing, never a panic, and never read past the buffer.
#![no_main]

use bitmark_peer::wire::packed_address;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some((_, used)) = packed_address::unpack(data) {
        assert!(used <= data.len());
    }
    for addr in packed_address::unpack_all(data) {
        let packed = packed_address::pack(&addr);
        assert_eq!(packed_address::unpack(&packed).map(|(a, _)| a), Some(addr));
    }
    let _ = packed_address::unpack46(data);
});
