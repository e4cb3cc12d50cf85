//! Any bytes given to the block decoder and its stateless checks must yield a result or a fault,
//! never a panic.
#![no_main]

use bitmark_record::{block::PackedBlock, Chain};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for chain in [Chain::Bitmark, Chain::Local] {
        let _ = PackedBlock::parse(data, chain, u64::MAX / 2);
    }
});
