//! Any frames a peer sends must parse to a request or to bitmarkd's error reply, never a panic;
//! a request that parses must re-encode to frames that parse to the same request.
#![no_main]

use bitmark_peer::wire::Request;
use bitmark_record::Chain;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|frames: Vec<Vec<u8>>| {
    let chain = Chain::Local;
    if let Ok(request) = Request::parse(&frames, chain) {
        let again = Request::parse(&request.to_frames(chain), chain).expect("re-encoded request parses");
        assert_eq!(again, request);
    }
});
