//! Any bytes given to the transaction unpacker must yield a record or a fault, never a panic;
//! whatever unpacks and re-packs must unpack again to the same record. (Not necessarily to the
//! same bytes: bitmarkd accepts non-canonical varints, and so do we. Re-packing itself may fail:
//! bitmarkd validates escrow addresses only when packing, never when unpacking.)
#![no_main]

use bitmark_record::transaction::Transaction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for testnet in [false, true] {
        if let Ok((tx, used)) = Transaction::unpack(data, testnet) {
            assert!(used <= data.len());
            let Ok(repacked) = tx.pack_unverified() else { continue };
            let (again, n) = Transaction::unpack(&repacked, testnet).expect("re-packed bytes unpack");
            assert_eq!(n, repacked.len());
            assert_eq!(again, tx, "unpack -> pack -> unpack changed the record");
        }
    }
});
