//! Any message a peer sends, through the listener's codec and the real request handler (over a
//! small fake chain, a pool that takes everything, and the real announce table): the server side
//! never panics, and its reply is what a client reads as a well-formed answer to the request
//! it sent (`Reply::parse`), or bitmarkd's error reply when the request did not parse.
//!
//! Input: the first byte's low bit prefixes the chain frame (`local`), so the fuzzer spends its
//! time on functions and parameters; the rest is split into frames at every 0xff byte (which no
//! chain name, function or command contains).
#![no_main]

use bitmark_peer::announce::{Announcer, TableLimits};
use bitmark_peer::clock::ManualClock;
use bitmark_peer::listener::{Handler, NoRelay, PoolView};
use bitmark_peer::testing::FakeChain;
use bitmark_peer::transport::{serve, PeerInfo};
use bitmark_peer::wire::{Reply, Request};
use bitmark_record::{Chain, Fault};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

const CHAIN: Chain = Chain::Local;
const SEPARATOR: u8 = 0xff;

/// Accepts every push and keeps nothing, so a long run does not grow.
struct TakesAll;

impl PoolView for TakesAll {
    fn submit_block(&self, _: &[u8]) -> Result<(), Fault> {
        Ok(())
    }
    fn submit_assets(&self, _: &[u8]) -> Result<(), Fault> {
        Ok(())
    }
    fn submit_issues(&self, _: &[u8]) -> Result<(), Fault> {
        Ok(())
    }
    fn submit_transfer(&self, _: &[u8]) -> Result<(), Fault> {
        Ok(())
    }
    fn submit_proof(&self, _: &[u8]) -> Result<(), Fault> {
        Ok(())
    }
}

/// One handler per process: blocks 2..=5 and a peer table bounded to 16 entries, so `R` and
/// `peer` pushes exercise a full table.
fn handler() -> &'static Handler {
    static HANDLER: OnceLock<Handler> = OnceLock::new();
    HANDLER.get_or_init(|| {
        let clock = Arc::new(ManualClock::at_unix(1_700_000_000));
        let limits = TableLimits { max_peers: 16, max_rpcs: 16 };
        let table = Arc::new(Announcer::new([0x5a; 32], &[], limits, clock));
        Handler::new("fuzz", Arc::new(FakeChain::new(CHAIN, 4)), Arc::new(TakesAll), table, Arc::new(NoRelay))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let mut frames: Vec<&[u8]> = Vec::new();
    if flags & 1 == 1 {
        frames.push(CHAIN.name().as_bytes());
    }
    if !rest.is_empty() {
        frames.extend(rest.split(|&b| b == SEPARATOR));
    }
    let reply = serve(handler(), CHAIN, &PeerInfo::default(), &frames);
    match Request::parse(&frames, CHAIN) {
        Ok(request) => {
            let parsed = Reply::parse(&reply, &request, CHAIN);
            assert!(parsed.is_ok(), "{request:?} -> {reply:?}: {parsed:?}");
        }
        Err(refusal) => {
            assert!(matches!(refusal, Reply::Error(_)), "a refusal is an error reply: {refusal:?}");
            assert_eq!(reply, refusal.to_frames());
        }
    }
});
